/*
 * The listings (agents, frameworks, tasks, offers) as tables or JSON
 * lines, and weight.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "elect.h"
#include "exits.h"
#include "net.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "res.h"
#include "scheduler.h"
#include "util.h"

/* Columns shown by default for each listing, and their headings. */
static const char *
default_columns(const char *what)
{
	if (strcmp(what, "agents") == 0)
		return "agent_id,hostname,active,tasks,resources,free,attributes";
	if (strcmp(what, "frameworks") == 0)
		return "framework_id,name,role,active,tasks,share";
	if (strcmp(what, "tasks") == 0)
		return "task_id,framework_id,state,hostname,resources,exit_code";
	return "offer_id,framework_id,agent_id,resources,age_ms";
}

/* Format one field of ITEM as text into BUF. */
static void
field_text(json_t *item, const char *name, char *buf, size_t len)
{
	json_t *v = json_object_get(item, name);

	if (v == NULL || json_is_null(v))
		strlcpy(buf, "-", len);
	else if (json_is_string(v))
		snprintf(buf, len, "%s", *json_string_value(v) ?
		    json_string_value(v) : "-");
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.3f", json_real_value(v));
	else if (json_is_boolean(v))
		strlcpy(buf, json_is_true(v) ? "yes" : "no", len);
	else {
		char *s = json_dumps(v, JSON_COMPACT);

		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
	}
}

/* Print ITEMS as a table with columns COLS (comma separated). */
static void
print_table(json_t *items, const char *cols)
{
	char *copy = strdup(cols), *p, *c, *names[32], buf[1024];
	size_t width[32], i, k, n = 0;
	json_t *item;

	for (p = copy; (c = strsep(&p, ",")) != NULL && n < 32;)
		if (*c)
			names[n++] = c;
	for (k = 0; k < n; k++)
		width[k] = opt_noheader ? 1 : strlen(names[k]);
	json_array_foreach(items, i, item)
		for (k = 0; k < n; k++) {
			field_text(item, names[k], buf, sizeof(buf));
			if (strlen(buf) > width[k])
				width[k] = strlen(buf);
		}
	if (!opt_noheader) {
		for (k = 0; k < n; k++) {
			char up[64];
			size_t j;

			for (j = 0; names[k][j] && j < sizeof(up) - 1; j++)
				up[j] = names[k][j] >= 'a' && names[k][j] <= 'z' ?
				    names[k][j] - 32 : names[k][j];
			up[j] = '\0';
			printf("%-*s%s", k + 1 < n ? (int)width[k] : 0, up,
			    k + 1 < n ? "  " : "\n");
		}
	}
	json_array_foreach(items, i, item)
		for (k = 0; k < n; k++) {
			field_text(item, names[k], buf, sizeof(buf));
			printf("%-*s%s", k + 1 < n ? (int)width[k] : 0, buf,
			    k + 1 < n ? "  " : "\n");
		}
	free(copy);
}

/* agents, frameworks, tasks, offers: what the master knows, as a table. */
int
cmd_list(int argc, char **argv)
{
	const char *what = argv[0];
	json_t *q, *st, *items, *item;
	struct net *n;
	size_t i;

	if (no_own_opts(argc, argv, 1) == -1)
		return bad_usage();
	n = connect_master();
	q = rec_new(R_QUERY);
	rec_set_str(q, "what", what);
	st = request(n, q, R_STATE);
	items = json_object_get(st, "items");
	if (strcmp(opt_format, "json") == 0) {
		json_array_foreach(items, i, item)
			rec_print(stdout, item);
	} else
		print_table(items, strcmp(opt_format, "table") == 0 ?
		    default_columns(what) : opt_format);
	json_decref(q);
	json_decref(st);
	net_close(n);
	return 0;
}

int
cmd_weight(int argc, char **argv)
{
	struct net *n;
	json_t *q, *ans;
	char *end;
	double w;

	if (no_own_opts(argc, argv, 3) == -1)
		return bad_usage();
	argv += optind - 1;
	if (!id_valid(argv[1]) && strcmp(argv[1], "*") != 0)
		errx(EXIT_USAGE, "'%s' is not a role name", argv[1]);
	w = strtod(argv[2], &end);
	if (*end != '\0' || end == argv[2] || !(w > 0) || w > PROTO_WEIGHT_MAX)
		errx(EXIT_USAGE, "weight '%s': want a number > 0", argv[2]);
	n = connect_master();
	q = json_pack("{s:s,s:s,s:f}", "type", R_SET_WEIGHT, "role", argv[1],
	    "weight", w);
	ans = request(n, q, R_WEIGHT_SET);
	printf("role %s weight %g\n", argv[1], w);
	json_decref(q);
	json_decref(ans);
	net_close(n);
	return 0;
}
