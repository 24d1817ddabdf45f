/*
 * cluster-ctl: the operator's and scripts' view of the cluster, and a
 * framework that runs one command.  See cluster-ctl(1).
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

#include "elect.h"
#include "net.h"
#include "proto.h"
#include "rec.h"
#include "res.h"
#include "util.h"

#define EX_USAGE_	100
#define EX_SYSTEM	111
#define EX_TIMEOUT	124
#define EX_NOLAUNCH	125
#define RESEND_MS	500
#define RECONNECT_MS	50	/* resend soon: a new socket was not connected yet */

static const char *opt_master;
static const char *opt_format = "table";
static int opt_noheader;
static int64_t opt_timeout_ms = 5000;
static volatile sig_atomic_t got_signal;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: cluster-ctl [-h] [-m master] [-o format] [-t timeout] command [args]\n"
	    "       cluster-ctl agents | frameworks | tasks | offers\n"
	    "       cluster-ctl leader\n"
	    "       cluster-ctl run [-c cpus] [-e name=value] [-M mem] [-n name] "
	    "[-R resources]\n"
	    "                       [-r role] -- command [arg ...]\n"
	    "       cluster-ctl send [-r] [-w wait]\n"
	    "       cluster-ctl subscribe [-A] [-a attributes] [-F failover] "
	    "[-i framework-id]\n"
	    "                       [-M min] [-n name] [-r role]\n"
	    "       cluster-ctl weight role weight\n");
}

static struct elect_follow *follow;	/* the master is an election */
static int follow_tried;
static char cur_ep[ELECT_ENDPOINT_MAX];	/* the endpoint we talk to */

/*
 * Connect to the master: to its current leader when it is named by its
 * election (zk://, lock://; see cluster-elect(8)).  Exits 100 on a bad
 * master string, 111 when no leader can be found or the socket fails.
 */
static struct net *
connect_master(void)
{
	const char *m = master_endpoint(opt_master);
	char e[ELECT_ERRLEN];
	struct elect_url u;
	struct net *n;

	if (elect_url_parse(m, &u, e) == -1)
		errx(EX_USAGE_, "master: %s", e);
	if (elect_resolve(m, cur_ep, sizeof(cur_ep), e) < 0)
		errx(EX_SYSTEM, "master %s: %s", m, e);
	if ((n = net_open(NET_PEER, cur_ep, e)) == NULL)
		errx(EX_SYSTEM, "%s", e);
	return n;
}

/*
 * When the master is an election whose leader changed, move *N to the
 * new leader.  Returns 1 when it moved (the caller subscribes again),
 * 0 otherwise.
 */
static int
follow_master(struct net **n)
{
	const char *m = master_endpoint(opt_master);
	char ep[ELECT_ENDPOINT_MAX], e[ELECT_ERRLEN];
	struct net *nn;

	if (!follow_tried) {
		follow_tried = 1;
		if (strcmp(m, cur_ep) != 0 &&
		    (follow = elect_follow_create(m, e)) == NULL)
			warnx("cannot follow the leader of %s: %s", m, e);
	}
	if (follow == NULL || elect_follow_poll(follow, ep, sizeof(ep)) != 1 ||
	    strcmp(ep, cur_ep) == 0)
		return 0;
	if ((nn = net_open(NET_PEER, ep, e)) == NULL) {
		warnx("new leader %s: %s", ep, e);
		return 0;
	}
	warnx("the master moved to %s", ep);
	net_close(*n);
	*n = nn;
	strlcpy(cur_ep, ep, sizeof(cur_ep));
	return 1;
}

/*
 * leader: print the endpoint of the master's current leader (with -o
 * json, what else the election tells).  Exits 1 when there is none right
 * now, 111 when it cannot be asked.
 */
static int
cmd_leader(int argc)
{
	const char *m = master_endpoint(opt_master);
	struct elect_leader l;
	struct elect_url u;
	char e[ELECT_ERRLEN];
	int r;

	if (argc != 1) {
		usage(stderr);
		return EX_USAGE_;
	}
	if (elect_url_parse(m, &u, e) == -1)
		errx(EX_USAGE_, "master: %s", e);
	if ((r = elect_lookup(m, &l, e)) < 0)
		errx(r == -1 ? 1 : EX_SYSTEM, "%s", e);
	if (strcmp(opt_format, "json") == 0) {
		json_t *j = json_pack("{s:s,s:s,s:s}", "master", m, "backend",
		    u.kind == ELECT_ZK ? "zk" : u.kind == ELECT_LOCK ? "lock" :
		    "endpoint", "endpoint", l.endpoint);

		if (l.id[0] != '\0')
			rec_set_str(j, "id", l.id);
		if (u.kind == ELECT_ZK)
			rec_set_int(j, "candidates", l.candidates);
		if (l.session_ms > 0)
			rec_set_int(j, "session_timeout_ms", l.session_ms);
		rec_print(stdout, j);
		json_decref(j);
	} else
		printf("%s\n", l.endpoint);
	return 0;
}

/*
 * Send REQ until a record of type WANT (or an ERROR) comes back; nanomsg
 * connects in the background, so early sends may go nowhere.  Returns the
 * answer (caller frees), or exits 111 after the timeout.
 */
static json_t *
request(struct net *n, json_t *req, const char *want)
{
	int64_t deadline = now_ms() + opt_timeout_ms, next = 0;
	char e[REC_ERRLEN];
	json_t *ans;

	for (;;) {
		int64_t now = now_ms();

		if (now >= deadline)
			errx(EX_SYSTEM, "no answer from the master at %s within "
			    "%lld ms", master_endpoint(opt_master),
			    (long long)opt_timeout_ms);
		if (now >= next) {
			/* not connected yet: try again at once, else wait */
			next = now + (net_send(n, NULL, req) == -1 ? 10 : RESEND_MS);
		}
		net_wait(n, (int)(next - now < deadline - now ? next - now :
		    deadline - now));
		while (net_recv(n, &ans, NULL, e) == 1) {
			if (strcmp(rec_type(ans), want) == 0)
				return ans;
			if (strcmp(rec_type(ans), R_ERROR) == 0)
				errx(1, "master: %s", rec_str(ans, "message"));
			json_decref(ans);
		}
	}
}

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

static int
cmd_list(const char *what)
{
	struct net *n = connect_master();
	json_t *q = rec_new(R_QUERY), *st, *items, *item;
	size_t i;

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

static int
cmd_weight(int argc, char **argv)
{
	struct net *n;
	json_t *q, *ans;
	char *end;
	double w;

	if (argc != 3) {
		usage(stderr);
		return EX_USAGE_;
	}
	if (!id_valid(argv[1]) && strcmp(argv[1], "*") != 0)
		errx(EX_USAGE_, "'%s' is not a role name", argv[1]);
	w = strtod(argv[2], &end);
	if (*end != '\0' || end == argv[2] || !(w > 0) || w > 1e6)
		errx(EX_USAGE_, "weight '%s': want a number > 0", argv[2]);
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

/*
 * send: records from stdin (JSON lines; with RAW, all of stdin as one
 * message of arbitrary bytes) go to the master; whatever comes back
 * within WAIT is printed as JSON lines.
 */
static int
cmd_send(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, raw = 0, bad = 0;
	int64_t wait_ms = 1000, until;
	char e[REC_ERRLEN], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct net *n;
	json_t *rec;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "rw:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			raw = 1;
			break;
		case 'w':
			wait_ms = duration_arg("wait", optarg);
			break;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE_;
	}
	n = connect_master();
	usleep(100000);		/* nanomsg connects in the background */
	if (raw) {
		char *buf = malloc(REC_MAX_SIZE + 1);
		size_t got = fread(buf, 1, REC_MAX_SIZE + 1, stdin);

		if (got > REC_MAX_SIZE)
			errx(EX_USAGE_, "input larger than %d bytes", REC_MAX_SIZE);
		if (net_send_raw(n, NULL, buf, got) == -1)
			errx(EX_SYSTEM, "cannot send to the master");
		free(buf);
	} else {
		while ((len = getline(&line, &cap, stdin)) != -1) {
			if (len <= 1)
				continue;
			if ((rec = rec_from_json(line, e)) == NULL) {
				warnx("stdin: %s", e);
				bad = 1;
				continue;
			}
			if (net_send(n, NULL, rec) == -1)
				errx(EX_SYSTEM, "cannot send to the master");
			json_decref(rec);
		}
		free(line);
	}
	until = now_ms() + wait_ms;
	while (now_ms() < until) {
		net_wait(n, (int)(until - now_ms()));
		while (net_recv(n, &rec, NULL, e) == 1) {
			rec_print(stdout, rec);
			json_decref(rec);
		}
	}
	net_close(n);
	return bad;
}

/*
 * Send one call LINE (JSON) of the bridge's input as framework FW_ID, or
 * keep it in PENDING until the framework has an id; a bad line sets *CODE.
 */
static void
send_call(struct net *n, const char *line, const char *fw_id, json_t *pending,
    int *code)
{
	char e[REC_ERRLEN];
	json_t *rec;

	if ((rec = rec_from_json(line, e)) == NULL) {
		warnx("stdin: %s", e);
		*code = 1;
		return;
	}
	if (fw_id[0] == '\0') {
		json_array_append_new(pending, rec);
		return;
	}
	rec_set_str(rec, "framework_id", fw_id);
	net_send(n, NULL, rec);
	json_decref(rec);
}

/*
 * subscribe: the scheduler bridge.  Registers a framework, prints every
 * event from the master as a JSON line on stdout, and sends every JSON
 * line read on stdin as a call, with framework_id filled in.  Heartbeats
 * and (unless -A) status acknowledgements are done for the script.  EOF
 * on stdin tears the framework down.
 */
static int
cmd_subscribe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "manual-ack", no_argument, NULL, 'A' },
		{ "attributes", required_argument, NULL, 'a' },
		{ "failover", required_argument, NULL, 'F' },
		{ "framework-id", required_argument, NULL, 'i' },
		{ "min", required_argument, NULL, 'M' },
		{ "name", required_argument, NULL, 'n' },
		{ "role", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name = "bridge", *role = "*", *want_id = NULL;
	char again_id[64];
	const char *fattrs = NULL, *fmin = NULL;
	char fw_id[64] = "", e[REC_ERRLEN], *ib, gen_id[64];
	int ch, manual_ack = 0, in_open = 1, code = 0;
	int64_t failover_ms = 0, next_sub = 0, next_hb = 0;
	size_t ilen = 0;
	struct net *n;
	json_t *rec, *pending = json_array();
	struct res tmp;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "Aa:F:i:M:n:r:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'A':
			manual_ack = 1;
			break;
		case 'a':
			if (attr_check(optarg, e) == -1)
				errx(EX_USAGE_, "attributes '%s': %s", optarg, e);
			fattrs = optarg;
			break;
		case 'F':
			failover_ms = duration_arg("failover", optarg);
			break;
		case 'i':
			if (!id_valid(optarg))
				errx(EX_USAGE_, "framework id '%s' is not valid",
				    optarg);
			want_id = optarg;
			break;
		case 'M':
			if (res_parse(optarg, &tmp, e) == -1)
				errx(EX_USAGE_, "min '%s': %s", optarg, e);
			res_free(&tmp);
			fmin = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'r':
			role = optarg;
			break;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE_;
	}
	/*
	 * Our own id, sent with every SUBSCRIBE: a resent one cannot make
	 * a second framework.
	 */
	if (want_id == NULL)
		want_id = id_new("fw", gen_id, sizeof(gen_id));
	if ((ib = malloc(REC_MAX_SIZE + 2)) == NULL)
		err(EX_SYSTEM, "malloc");
	n = connect_master();
	signal(SIGPIPE, SIG_IGN);
	while (!got_signal) {
		int64_t now = now_ms();
		struct pollfd pfd[2] = {
			{ .fd = net_fd(n), .events = POLLIN },
			{ .fd = in_open ? 0 : -1, .events = POLLIN },
		};

		if (follow_master(&n) && fw_id[0] != '\0') {
			/* a new leader: subscribe again with the same id */
			static char moved_id[64];

			strlcpy(moved_id, fw_id, sizeof(moved_id));
			want_id = moved_id;
			fw_id[0] = '\0';
			next_sub = 0;
			pfd[0].fd = net_fd(n);
		}

		if (fw_id[0] == '\0' && now >= next_sub) {
			rec = json_pack("{s:s,s:s,s:s,s:f}", "type", R_SUBSCRIBE,
			    "name", name, "role", role, "failover_timeout",
			    failover_ms / 1000.0);
			rec_set_str(rec, "framework_id", want_id);
			if (fattrs != NULL || fmin != NULL) {
				json_t *f = json_object();

				rec_set_str(f, "attributes", fattrs);
				rec_set_str(f, "min", fmin);
				json_object_set_new(rec, "filters", f);
			}
			next_sub = now + (net_send(n, NULL, rec) == -1 ?
			    RECONNECT_MS : RESEND_MS);
			json_decref(rec);
		}
		if (fw_id[0] != '\0' && now >= next_hb) {
			rec = json_pack("{s:s,s:s}", "type", R_HEARTBEAT,
			    "framework_id", fw_id);
			net_send(n, NULL, rec);
			json_decref(rec);
			next_hb = now + 1000;
		}
		if (!in_open && fw_id[0] != '\0')
			break;
		if (poll(pfd, 2, 100) == -1 && errno != EINTR)
			err(EX_SYSTEM, "poll");
		while (net_recv(n, &rec, NULL, e) == 1) {
			const char *type = rec_type(rec);

			if (strcmp(type, R_SUBSCRIBED) == 0 && fw_id[0] == '\0') {
				size_t i;
				json_t *c;

				strlcpy(fw_id, rec_str(rec, "framework_id") ?
				    rec_str(rec, "framework_id") : "", sizeof(fw_id));
				/* calls read before we had an id */
				json_array_foreach(pending, i, c) {
					rec_set_str(c, "framework_id", fw_id);
					net_send(n, NULL, c);
				}
				json_array_clear(pending);
			}
			if (strcmp(type, R_ERROR) == 0 && fw_id[0] == '\0' &&
			    rec_str(rec, "about") != NULL &&
			    strcmp(rec_str(rec, "about"), R_SUBSCRIBE) == 0) {
				/* refused: no point in asking again */
				rec_print(stdout, rec);
				errx(1, "subscribe refused: %s",
				    rec_str(rec, "message"));
			}
			if (strcmp(type, R_REREGISTER) == 0 && fw_id[0] != '\0') {
				/* a restarted master: subscribe again, same id */
				strlcpy(again_id, fw_id, sizeof(again_id));
				want_id = again_id;
				fw_id[0] = '\0';
				next_sub = 0;
			}
			if (strcmp(type, R_STATUS) == 0 && !manual_ack &&
			    rec_str(rec, "uuid") != NULL) {
				json_t *ack = json_pack("{s:s,s:s,s:s,s:s}",
				    "type", R_ACKNOWLEDGE, "framework_id", fw_id,
				    "task_id", rec_str(rec, "task_id"),
				    "uuid", rec_str(rec, "uuid"));

				net_send(n, NULL, ack);
				json_decref(ack);
			}
			if (rec_print(stdout, rec) == -1)
				got_signal = SIGPIPE;
			json_decref(rec);
		}
		if (in_open && (pfd[1].revents & (POLLIN | POLLHUP))) {
			/* read(2), not stdio: every complete line is handled now */
			ssize_t got = read(0, ib + ilen, REC_MAX_SIZE + 1 - ilen);
			char *start = ib, *nl;

			if (got == -1 && errno == EINTR)
				continue;
			if (got <= 0) {
				in_open = 0;
				if (ilen > 0)		/* a last line without newline */
					ib[ilen++] = '\n';
			} else
				ilen += got;
			while ((nl = memchr(start, '\n', ilen - (start - ib))) != NULL) {
				*nl = '\0';
				if (*start != '\0')
					send_call(n, start, fw_id, pending, &code);
				start = nl + 1;
			}
			ilen -= start - ib;
			memmove(ib, start, ilen);
			if (ilen > REC_MAX_SIZE) {
				warnx("stdin: a line longer than %d bytes", REC_MAX_SIZE);
				code = 1;
				ilen = 0;
			}
		}
	}
	if (fw_id[0] != '\0' && failover_ms == 0) {
		rec = json_pack("{s:s,s:s}", "type", R_TEARDOWN, "framework_id",
		    fw_id);
		net_send(n, NULL, rec);
		json_decref(rec);
		usleep(50000);
	}
	free(ib);
	json_decref(pending);
	net_close(n);
	return code;
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* The exit status that tells a script how the task of STATUS ended. */
static int
exit_status_of(json_t *st)
{
	const char *state = rec_str(st, "state");
	int64_t v;

	if (rec_int(st, "exit_code", &v) == 0 && v >= 0 && v < 256 &&
	    strcmp(state, TASK_KILLED) != 0)
		return (int)v;
	if (rec_int(st, "signal", &v) == 0 && v > 0 && v < 128)
		return 128 + (int)v;
	if (strcmp(state, TASK_KILLED) == 0)
		return 128 + SIGKILL;
	if (strcmp(state, TASK_FINISHED) == 0)
		return 0;
	return EX_NOLAUNCH;
}

static int
cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cpus", required_argument, NULL, 'c' },
		{ "env", required_argument, NULL, 'e' },
		{ "mem", required_argument, NULL, 'M' },
		{ "name", required_argument, NULL, 'n' },
		{ "role", required_argument, NULL, 'r' },
		{ "resources", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cpus = "1", *mem = "128", *name = "run", *role = "*";
	const char *resources = NULL;
	char want[1024], e[REC_ERRLEN], task_id[64], fw_id[64] = "", my_id[64];
	struct res need;
	json_t *env = json_object(), *argvj, *rec, *last = NULL;
	struct net *n;
	int ch, i, launched = 0, done = 0, code = EX_NOLAUNCH;
	int64_t start = now_ms(), next_sub = 0, next_hb = 0, warned = 0;
	int64_t kill_sent = 0, deadline;
	int resub = 0;		/* subscribing again with a new leader */
	struct sigaction sa;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+c:e:M:n:r:R:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			cpus = optarg;
			break;
		case 'e': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || eq == optarg)
				errx(EX_USAGE_, "env '%s': want NAME=VALUE", optarg);
			*eq = '\0';
			json_object_set_new(env, optarg, json_string(eq + 1));
			break;
		}
		case 'M':
			mem = optarg;
			break;
		case 'n':
			if (!id_valid(optarg))
				errx(EX_USAGE_, "name '%s': use 1-40 of "
				    "[A-Za-z0-9._-]", optarg);
			name = optarg;
			break;
		case 'r':
			role = optarg;
			break;
		case 'R':
			resources = optarg;
			break;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (optind >= argc) {
		warnx("run: no command given");
		usage(stderr);
		return EX_USAGE_;
	}
	if (resources != NULL)
		strlcpy(want, resources, sizeof(want));
	else
		snprintf(want, sizeof(want), "cpus:%s;mem:%s", cpus, mem);
	if (res_parse(want, &need, e) == -1)
		errx(EX_USAGE_, "resources '%s': %s", want, e);
	res_format(&need, want, sizeof(want));
	if (strlen(name) > 40)
		errx(EX_USAGE_, "name '%s' is too long", name);
	id_new(name, task_id, sizeof(task_id));
	id_new("fw", my_id, sizeof(my_id));
	argvj = json_array();
	for (i = optind; i < argc; i++)
		json_array_append_new(argvj, json_string(argv[i]));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	n = connect_master();
	deadline = opt_timeout_ms > 0 ? start + opt_timeout_ms : 0;
	while (!done) {
		int64_t now = now_ms();

		if (got_signal && !kill_sent) {
			warnx("signal %d: killing task %s", (int)got_signal, task_id);
			kill_sent = now;
			code = 128 + got_signal;
			if (!launched)
				break;
		}
		if (kill_sent && now - kill_sent > 15000)
			break;
		if (deadline && now >= deadline && !kill_sent) {
			warnx("timed out after %lld ms", (long long)opt_timeout_ms);
			code = EX_TIMEOUT;
			kill_sent = now;
			if (!launched)
				break;
		}
		if (follow_master(&n) && fw_id[0] != '\0') {
			resub = 1;
			next_sub = 0;
		}
		if (resub && now >= next_sub) {
			rec = json_pack("{s:s,s:s,s:s,s:s}", "type", R_SUBSCRIBE,
			    "name", name, "role", role, "framework_id", fw_id);
			next_sub = now + (net_send(n, NULL, rec) == -1 ?
			    RECONNECT_MS : RESEND_MS);
			json_decref(rec);
		}
		if (fw_id[0] == '\0' && now >= next_sub) {
			/* our own id: a resent SUBSCRIBE makes no second one */
			rec = json_pack("{s:s,s:s,s:s,s:s}", "type", R_SUBSCRIBE,
			    "name", name, "role", role, "framework_id", my_id);
			net_send(n, NULL, rec);
			json_decref(rec);
			next_sub = now + RESEND_MS;
		}
		if (fw_id[0] != '\0' && now >= next_hb) {
			rec = json_pack("{s:s,s:s}", "type", R_HEARTBEAT,
			    "framework_id", fw_id);
			net_send(n, NULL, rec);
			json_decref(rec);
			if (kill_sent && launched) {
				rec = json_pack("{s:s,s:s,s:s}", "type", R_KILL,
				    "framework_id", fw_id, "task_id", task_id);
				net_send(n, NULL, rec);
				json_decref(rec);
			}
			next_hb = now + 1000;
		}
		if (!launched && !warned && now - start > 5000) {
			warnx("still waiting for an offer of %s", want);
			warned = 1;
		}
		net_wait(n, 100);
		while (!done && net_recv(n, &rec, NULL, e) == 1) {
			const char *type = rec_type(rec);

			if (strcmp(type, R_SUBSCRIBED) == 0)
				resub = 0;
			if (strcmp(type, R_SUBSCRIBED) == 0 && fw_id[0] == '\0') {
				strlcpy(fw_id, rec_str(rec, "framework_id") ?
				    rec_str(rec, "framework_id") : "", sizeof(fw_id));
			} else if (strcmp(type, R_REREGISTER) == 0 && fw_id[0] != '\0') {
				/* a restarted master: subscribe again, same id */
				json_t *sub = json_pack("{s:s,s:s,s:s,s:s}", "type",
				    R_SUBSCRIBE, "name", name, "role", role,
				    "framework_id", fw_id);

				net_send(n, NULL, sub);
				json_decref(sub);
			} else if (strcmp(type, R_OFFER) == 0 && fw_id[0] != '\0') {
				struct res have;
				json_t *ans;
				int fits = res_parse(rec_str(rec, "resources"),
				    &have, e) == 0 && res_contains(&have, &need);

				res_free(&have);
				if (fits && !launched && !kill_sent) {
					ans = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:O,s:O}]}",
					    "type", R_ACCEPT, "framework_id", fw_id,
					    "offer_id", rec_str(rec, "offer_id"),
					    "tasks", "task_id", task_id, "name", name,
					    "resources", want, "argv", argvj, "env", env);
					launched = 1;
				} else
					ans = json_pack("{s:s,s:s,s:s,s:f}", "type",
					    R_DECLINE, "framework_id", fw_id,
					    "offer_id", rec_str(rec, "offer_id"),
					    "refuse_seconds", launched ? 60.0 : 1.0);
				net_send(n, NULL, ans);
				json_decref(ans);
			} else if (strcmp(type, R_STATUS) == 0) {
				const char *state = rec_str(rec, "state");
				const char *uuid = rec_str(rec, "uuid");

				if (uuid != NULL) {
					json_t *ack = json_pack("{s:s,s:s,s:s,s:s}",
					    "type", R_ACKNOWLEDGE, "framework_id",
					    fw_id, "task_id", task_id, "uuid", uuid);

					net_send(n, NULL, ack);
					json_decref(ack);
				}
				if (state != NULL && strcmp(state, TASK_RUNNING) == 0 &&
				    last == NULL)
					printf("task %s running on %s sandbox %s\n",
					    task_id, rec_str(rec, "agent_id") ?
					    rec_str(rec, "agent_id") : "?",
					    rec_str(rec, "sandbox") ?
					    rec_str(rec, "sandbox") : "?");
				if (state != NULL && strcmp(state, TASK_RUNNING) == 0) {
					json_decref(last);
					last = json_incref(rec);
				}
				if (task_state_terminal(state)) {
					json_decref(last);
					last = json_incref(rec);
					done = 1;
				}
				fflush(stdout);
			} else if (strcmp(type, R_ERROR) == 0) {
				warnx("master: %s", rec_str(rec, "message"));
				if (launched && rec_str(rec, "about") != NULL &&
				    strcmp(rec_str(rec, "about"), R_ACCEPT) == 0) {
					code = EX_NOLAUNCH;
					done = 1;
					json_decref(last);
					last = NULL;
				}
			}
			json_decref(rec);
		}
	}
	if (last != NULL && done) {
		const char *reason = rec_str(last, "reason");
		int64_t v;

		printf("task %s %s", task_id, rec_str(last, "state"));
		if (rec_int(last, "exit_code", &v) == 0)
			printf(" exit_code=%lld", (long long)v);
		if (rec_int(last, "signal", &v) == 0)
			printf(" signal=%lld", (long long)v);
		if (reason != NULL)
			printf(" reason=\"%s\"", reason);
		printf(" agent=%s sandbox=%s\n", rec_str(last, "agent_id") ?
		    rec_str(last, "agent_id") : "-", rec_str(last, "sandbox") ?
		    rec_str(last, "sandbox") : "-");
		code = kill_sent && code != EX_NOLAUNCH ? code : exit_status_of(last);
	}
	if (fw_id[0] != '\0') {
		rec = json_pack("{s:s,s:s}", "type", R_TEARDOWN, "framework_id", fw_id);
		net_send(n, NULL, rec);
		json_decref(rec);
		usleep(50000);	/* let the teardown leave before the socket goes */
	}
	json_decref(last);
	json_decref(argvj);
	json_decref(env);
	res_free(&need);
	net_close(n);
	return code;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'H' },
		{ "noheader", no_argument, NULL, 'h' },
		{ "master", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, timeout_given = 0;

	while ((ch = getopt_long(argc, argv, "+hm:o:t:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			usage(stdout);
			return 0;
		case 'h':
			opt_noheader = 1;
			break;
		case 'm':
			opt_master = optarg;
			break;
		case 'o':
			opt_format = optarg;
			break;
		case 't':
			opt_timeout_ms = duration_arg("timeout", optarg);
			timeout_given = 1;
			break;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EX_USAGE_;
	}
	if (strcmp(argv[0], "agents") == 0 || strcmp(argv[0], "frameworks") == 0 ||
	    strcmp(argv[0], "tasks") == 0 || strcmp(argv[0], "offers") == 0) {
		if (argc != 1) {
			usage(stderr);
			return EX_USAGE_;
		}
		return cmd_list(argv[0]);
	}
	if (strcmp(argv[0], "run") == 0) {
		if (!timeout_given)
			opt_timeout_ms = 0;	/* a task may run for long */
		return cmd_run(argc, argv);
	}
	if (strcmp(argv[0], "leader") == 0)
		return cmd_leader(argc);
	if (strcmp(argv[0], "weight") == 0)
		return cmd_weight(argc, argv);
	if (strcmp(argv[0], "send") == 0)
		return cmd_send(argc, argv);
	if (strcmp(argv[0], "subscribe") == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		return cmd_subscribe(argc, argv);
	}
	warnx("unknown command '%s'", argv[0]);
	usage(stderr);
	return EX_USAGE_;
}
