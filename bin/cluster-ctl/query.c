/*
 * What cluster-ctl asks the master: the listings (agents, frameworks,
 * tasks, offers), the history of ended tasks, as tables or JSON lines;
 * and weight, drain and undrain.
 */
#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
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

/*
 * What each listing shows by default, and every field its items may have
 * (cluster-ctl(1) lists them): -o names some of these, comma separated.
 */
static const struct listing {
	const char	*what;
	const char	*columns;
	const char	*fields;
} listings[] = {
	{ "agents", "agent_id,hostname,active,state,tasks,resources,free,"
	    "attributes",
	    "agent_id,hostname,active,state,reason,deadline_ms,tasks,"
	    "resources,used,offered,free,attributes,isolators" },
	{ "frameworks", "framework_id,name,role,active,tasks,share",
	    "framework_id,name,role,active,tasks,share" },
	{ "tasks", "task_id,framework_id,state,hostname,resources,exit_code",
	    "task_id,framework_id,name,agent_id,hostname,state,resources,"
	    "exit_code,signal,reason,sandbox,oom,cpu_ms,mem_peak_mb" },
	{ "offers", "offer_id,framework_id,agent_id,resources,age_ms",
	    "offer_id,framework_id,agent_id,resources,age_ms" },
	{ "weights", "role,weight", "role,weight" },
	{ "quota", "role,guarantee,limit", "role,guarantee,limit" },
	{ "executors", "executor_id,framework_id,hostname,resources,tasks,state",
	    "executor_id,framework_id,agent_id,hostname,resources,tasks,"
	    "state,started" },
	{ "history", "task_id,framework,state,hostname,started,ended,"
	    "exit_code,cpu_ms,mem_peak_mb",
	    "task_id,name,framework_id,framework,role,principal,agent_id,"
	    "hostname,user,state,reason,exit_code,signal,oom,submitted,"
	    "started,ended,resources,cpu_ms,mem_peak_mb" },
};

/* Whether NAME is one of the comma-separated FIELDS. */
static int
field_in(const char *fields, const char *name)
{
	size_t n = strlen(name);
	const char *f;

	for (f = fields; n > 0 && f != NULL; f = strchr(f, ',') ? strchr(f,
	    ',') + 1 : NULL)
		if (strncmp(f, name, n) == 0 && (f[n] == ',' || f[n] == '\0'))
			return 1;
	return 0;
}

/*
 * The columns to print for the listing WHAT as -o asks: its defaults for
 * "table", NULL for "json", else -o itself once every name in it is a
 * field of WHAT.  Exits 100 on anything else.
 */
static const char *
columns_of(const char *what)
{
	const struct listing *l = NULL;
	char *copy, *p, *c;
	size_t i;

	for (i = 0; i < sizeof(listings) / sizeof(*listings); i++)
		if (strcmp(listings[i].what, what) == 0)
			l = &listings[i];
	if (l == NULL)
		errx(EXIT_USAGE, "no listing '%s'", what);
	if (strcmp(opt_format, "table") == 0)
		return l->columns;
	if (strcmp(opt_format, "json") == 0)
		return NULL;
	copy = strdup(opt_format);
	for (p = copy, i = 0; (c = strsep(&p, ",")) != NULL; i++) {
		if (!field_in(l->fields, c))
			errx(EXIT_USAGE, "-o %s: '%s' is not table, json nor a "
			    "field of %s (%s)", opt_format, c, what, l->fields);
	}
	free(copy);
	if (i > 32)
		errx(EXIT_USAGE, "-o: at most 32 fields");
	return opt_format;
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

void
table_print(json_t *items, const char *cols)
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

/* Print ITEMS as JSON lines (COLS NULL) or a table of COLS. */
static void
print_items(json_t *items, const char *cols)
{
	json_t *item;
	size_t i;

	if (cols == NULL)
		json_array_foreach(items, i, item)
			rec_print(stdout, item);
	else
		table_print(items, cols);
}

json_t *
query_all(struct net *n, json_t *q)
{
	json_t *all = json_array(), *st;
	const char *after;
	char cursor[256] = "";

	/* page after page, each the answer to its own "after" */
	for (;;) {
		st = request(n, q, R_STATE);
		after = rec_str(st, "after") ? rec_str(st, "after") : "";
		if (strcmp(after, cursor) != 0) {
			json_decref(st);	/* a late answer to a resend */
			continue;
		}
		json_array_extend(all, json_object_get(st, "items"));
		if (json_is_true(json_object_get(st, "more")))
			warnx("more matched than shown: -n shows up to %d, -S "
			    "and -E narrow the time", HISTORY_QUERY_MAX);
		if (json_is_true(json_object_get(st, "partial")))
			warnx("only the newest %d MiB of the history were "
			    "searched: -S and -E narrow the time",
			    HISTORY_SCAN_MAX >> 20);
		if (rec_str(st, "next") == NULL ||
		    strlen(rec_str(st, "next")) >= sizeof(cursor)) {
			json_decref(st);
			break;
		}
		strlcpy(cursor, rec_str(st, "next"), sizeof(cursor));
		rec_set_str(q, "after", cursor);
		json_decref(st);
	}
	json_object_del(q, "after");
	return all;
}

/* Ask the master QUERY Q (freed) and print its items as COLS. */
static void
query_print(json_t *q, const char *cols)
{
	struct net *n = connect_master();
	json_t *all = query_all(n, q);

	print_items(all, cols);
	json_decref(all);
	json_decref(q);
	net_close(n);
}

char *
query_metrics(struct net *n)
{
	json_t *q = rec_new(R_QUERY), *st;
	char *text;

	rec_set_str(q, "what", Q_METRICS);
	st = request(n, q, R_STATE);
	json_decref(q);
	if (rec_str(st, "text") == NULL)
		errx(EXIT_SYSTEM, "the master's answer has no metrics text");
	text = strdup(rec_str(st, "text"));
	json_decref(st);
	if (text == NULL)
		err(EXIT_SYSTEM, "metrics");
	return text;
}

/*
 * metrics: the master's metrics in the Prometheus text format, for the
 * node exporter's textfile collector.
 */
int
cmd_metrics(int argc, char **argv)
{
	struct net *n;
	char *text;

	if (no_own_opts(argc, argv, 1) == -1)
		return bad_usage();
	n = connect_master();
	text = query_metrics(n);
	fputs(text, stdout);
	free(text);
	net_close(n);
	return fflush(stdout) == EOF ? EXIT_SYSTEM : 0;
}

/*
 * The end of a listing's command: a usage error when BAD (an unknown
 * option, an operand left), else ask Q (freed) and print the listing
 * WHAT as -o says.
 */
static int
query_run(json_t *q, int bad, const char *what)
{
	if (bad) {
		json_decref(q);
		return bad_usage();
	}
	query_print(q, columns_of(what));
	return 0;
}

/* Task state ARG of option OPT as the master names it into STATE. */
static void
state_arg(const char *opt, const char *arg, char *state, size_t len,
    int ended)
{
	size_t i;

	/* running, RUNNING and TASK_RUNNING are one */
	snprintf(state, len, "%s%s", strncasecmp(arg, "TASK_", 5) == 0 ? "" :
	    "TASK_", arg);
	for (i = 0; state[i] != '\0'; i++)
		state[i] = toupper((unsigned char)state[i]);
	if (ended ? !task_state_terminal(state) : !task_state_valid(state))
		errx(EXIT_USAGE, "%s '%s': want %s", opt, arg, ended ?
		    "an end state (finished, failed, killed, lost, error)" :
		    "a task state (staging, starting, running, finished, "
		    "failed, killed, lost, unreachable, error)");
}

/*
 * agents, frameworks, tasks, offers, weights: what the master knows, as
 * a table or JSON lines, cut by the filters given.
 */
int
cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "agent", required_argument, NULL, 'G' },
		{ "attributes", required_argument, NULL, 'a' },
		{ "framework", required_argument, NULL, 'F' },
		{ "role", required_argument, NULL, 'r' },
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *what = argv[0];
	char state[32], e[RES_ERRLEN];
	json_t *q = rec_new(R_QUERY);
	int ch, bad = 0;

	rec_set_str(q, "what", what);
	optind = 1;
	while ((ch = next_opt(argc, argv, "a:r:s:", longopts)) != -1) {
		switch (ch) {
		case 'a':
			if (attr_check(optarg, e) == -1)
				errx(EXIT_USAGE, "-a '%s': %s", optarg, e);
			rec_set_str(q, "attributes", optarg);
			break;
		case 'F':
		case 'G':
		case 'r':
			if (!id_valid(optarg) && !(ch == 'r' &&
			    strcmp(optarg, "*") == 0))
				errx(EXIT_USAGE, "'%s' is not an id", optarg);
			rec_set_str(q, ch == 'F' ? "framework_id" : ch == 'G' ?
			    "agent_id" : "role", optarg);
			break;
		case 's':
			state_arg("-s", optarg, state, sizeof(state), 0);
			rec_set_str(q, "state", state);
			break;
		default:
			bad = 1;
		}
	}
	return query_run(q, bad || optind != argc, what);
}

/*
 * A point in time of -S or -E into ISO (32 bytes): an ISO 8601 date and
 * time in UTC, or as long before now as a duration says (1h, 30m).
 * Exits 100 on anything else.
 */
static void
time_arg(const char *opt, const char *arg, char *iso)
{
	const char *errstr;
	int64_t ms;
	time_t t;
	struct tm tm;
	size_t i;

	/* a duration ends in its unit: 2999 is a year, 2h a duration */
	if (*arg != '\0' && isalpha((unsigned char)arg[strlen(arg) - 1]) &&
	    arg[strlen(arg) - 1] != 'Z' &&
	    duration_parse(arg, &ms, &errstr) == 0) {
		t = (time_t)((wall_ms() - ms) / 1000);
		gmtime_r(&t, &tm);
		strftime(iso, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		return;
	}
	/* 2026-12-01, 2026-12-01T19, ... 2026-12-01T19:21:20.123Z */
	for (i = 0; arg[i] != '\0' && i < 24; i++)
		if (!strchr("0123456789-:T.Z", arg[i]))
			break;
	if (i < 4 || arg[i] != '\0' || (i > 10 && arg[10] != 'T'))
		errx(EXIT_USAGE, "%s '%s': want a time in UTC such as "
		    "2026-12-01T19:00 or a duration ago such as 2h", opt, arg);
	strlcpy(iso, arg, 32);
}

/*
 * history: the tasks that ended, from the master's accounting log, the
 * last -n that match, oldest first.
 */
int
cmd_history(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "framework", required_argument, NULL, 'F' },
		{ "state", required_argument, NULL, 's' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'E' },
		{ "count", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	char since[32], until[32], state[32], *end;
	json_t *q = rec_new(R_QUERY);
	long n;
	int ch, bad = 0;

	rec_set_str(q, "what", "history");
	optind = 1;
	while ((ch = next_opt(argc, argv, "E:n:s:S:", longopts)) != -1) {
		switch (ch) {
		case 'E':
			time_arg("-E", optarg, until);
			rec_set_str(q, "until", until);
			break;
		case 'F':
			if (!id_valid(optarg))
				errx(EXIT_USAGE, "--framework '%s': not a framework id",
				    optarg);
			rec_set_str(q, "framework_id", optarg);
			break;
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > HISTORY_QUERY_MAX)
				errx(EXIT_USAGE, "-n '%s': want 1 to %d", optarg,
				    HISTORY_QUERY_MAX);
			rec_set_int(q, "limit", n);
			break;
		case 's':
			/* finished, FINISHED and TASK_FINISHED are one */
			state_arg("-s", optarg, state, sizeof(state), 1);
			rec_set_str(q, "state", state);
			break;
		case 'S':
			time_arg("-S", optarg, since);
			rec_set_str(q, "since", since);
			break;
		default:
			bad = 1;
		}
	}
	return query_run(q, bad || optind != argc, "history");
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

/* Print the DRAIN_SET answer ANS: the agent's state, its reason. */
static void
drain_print(const json_t *ans)
{
	if (strcmp(opt_format, "json") == 0) {
		rec_print(stdout, ans);
		return;
	}
	printf("agent %s %s%s%s\n", rec_str(ans, "agent_id"),
	    rec_str(ans, "state") ? rec_str(ans, "state") : "?",
	    rec_str(ans, "reason") && *rec_str(ans, "reason") ? ": " : "",
	    rec_str(ans, "reason") ? rec_str(ans, "reason") : "");
}

/* Send REQ (freed) to the master, print its DRAIN_SET answer. */
static int
drain_send(json_t *req)
{
	struct net *n = connect_master();
	json_t *ans;

	ans = request(n, req, R_DRAIN_SET);
	drain_print(ans);
	json_decref(ans);
	json_decref(req);
	net_close(n);
	return 0;
}

/*
 * drain: the agent gets no more offers; its frameworks are told; at the
 * deadline (-d, from now; none: its tasks run to their end) what still
 * runs there is killed.
 */
int
cmd_drain(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "deadline", required_argument, NULL, 'd' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	json_t *q = rec_new(R_DRAIN);
	int64_t ms;
	int ch;

	optind = 1;
	while ((ch = next_opt(argc, argv, "", longopts)) != -1) {
		switch (ch) {
		case 'd':
			ms = duration_arg("deadline", optarg);
			if (ms / 1000 > PROTO_SECONDS_MAX)
				errx(EXIT_USAGE, "deadline '%s': at most a "
				    "year", optarg);
			rec_set_num(q, "grace_seconds", ms / 1000.0);
			break;
		case 'r':
			rec_set_str(q, "reason", optarg);
			break;
		default:
			json_decref(q);
			return bad_usage();
		}
	}
	if (optind != argc - 1) {
		json_decref(q);
		return bad_usage();
	}
	if (!id_valid(argv[optind]))
		errx(EXIT_USAGE, "'%s' is not an agent id", argv[optind]);
	rec_set_str(q, "agent_id", argv[optind]);
	return drain_send(q);
}

/* undrain: the agent is offered again. */
int
cmd_undrain(int argc, char **argv)
{
	json_t *q;

	if (no_own_opts(argc, argv, 2) == -1)
		return bad_usage();
	if (!id_valid(argv[optind]))
		errx(EXIT_USAGE, "'%s' is not an agent id", argv[optind]);
	q = rec_new(R_UNDRAIN);
	rec_set_str(q, "agent_id", argv[optind]);
	return drain_send(q);
}

/* Exit 100 unless TEXT (of option OPT) is resources of scalars only. */
static void
quota_arg(const char *opt, const char *text)
{
	char e[RES_ERRLEN];
	struct res r;
	int i;

	if (res_parse(text, &r, e) == -1)
		errx(EXIT_USAGE, "%s '%s': %s", opt, text, e);
	for (i = 0; i < r.n; i++)
		if (r.it[i].kind != RES_SCALAR)
			errx(EXIT_USAGE, "%s '%s': %s is not a scalar", opt,
			    text, r.it[i].name);
	res_free(&r);
}

/*
 * quota: list every role's quota; quota set ROLE [-g RES] [-l RES]: set
 * its guarantee and limit (what is not given, it has none of); quota rm
 * ROLE: take them away.
 */
int
cmd_quota(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "guarantee", required_argument, NULL, 'g' },
		{ "limit", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 }
	};
	const char *g = NULL, *l = NULL, *role;
	struct net *n;
	json_t *q, *ans;
	int ch, set;

	if (argc < 2 || argv[1][0] == '-')
		return cmd_list(argc, argv);
	set = strcmp(argv[1], "set") == 0;
	if (!set && strcmp(argv[1], "rm") != 0)
		errx(EXIT_USAGE, "quota: want set or rm, not '%s'", argv[1]);
	argc--;
	argv++;
	optind = 1;
	while ((ch = next_opt(argc, argv, set ? "L:" : "", longopts)) != -1) {
		switch (ch) {
		case 'g':
			quota_arg("--guarantee", g = optarg);
			break;
		case 'L':
			quota_arg("-L", l = optarg);
			break;
		default:
			return bad_usage();
		}
	}
	if (optind != argc - 1)
		return bad_usage();
	role = argv[optind];
	if (!id_valid(role) && strcmp(role, "*") != 0)
		errx(EXIT_USAGE, "'%s' is not a role name", role);
	if (set && g == NULL && l == NULL)
		errx(EXIT_USAGE, "quota set: give -g, -l or both (quota rm "
		    "takes a quota away)");
	q = rec_new(R_SET_QUOTA);
	rec_set_str(q, "role", role);
	if (g != NULL)
		rec_set_str(q, "guarantee", g);
	if (l != NULL)
		rec_set_str(q, "limit", l);
	n = connect_master();
	ans = request(n, q, R_QUOTA_SET);
	if (set)
		printf("role %s guarantee %s limit %s\n", role,
		    rec_str(ans, "guarantee") ? rec_str(ans, "guarantee") : "-",
		    rec_str(ans, "limit") ? rec_str(ans, "limit") : "-");
	else
		printf("role %s quota removed\n", role);
	json_decref(q);
	json_decref(ans);
	net_close(n);
	return 0;
}

/*
 * reserve AGENT ROLE RESOURCES, unreserve AGENT ROLE RESOURCES: an
 * agent's free resources become ROLE's, or go back to every role.
 */
int
cmd_reserve(int argc, char **argv)
{
	int un = strcmp(argv[0], "unreserve") == 0;
	char e[RES_ERRLEN];
	struct res r;
	struct net *n;
	json_t *q, *ans;

	if (no_own_opts(argc, argv, 4) == -1)
		return bad_usage();
	argv += optind - 1;
	if (!id_valid(argv[1]))
		errx(EXIT_USAGE, "'%s' is not an agent id", argv[1]);
	if (!id_valid(argv[2]))
		errx(EXIT_USAGE, "'%s' is not a role a reservation can have",
		    argv[2]);
	if (res_parse(argv[3], &r, e) == -1)
		errx(EXIT_USAGE, "'%s': %s", argv[3], e);
	res_free(&r);
	q = json_pack("{s:s,s:s,s:s,s:s}", "type", un ? R_UNRESERVE :
	    R_RESERVE, "agent_id", argv[1], "role", argv[2], "resources",
	    argv[3]);
	n = connect_master();
	ans = request(n, q, R_RESERVED);
	printf("agent %s resources %s\n", argv[1], rec_str(ans, "resources") ?
	    rec_str(ans, "resources") : "-");
	json_decref(q);
	json_decref(ans);
	net_close(n);
	return 0;
}
