/*
 * cluster-ctl: the operator's and scripts' view of the cluster, and two
 * frameworks built on sched(3): run, which runs one command, and
 * subscribe, the JSON-lines scheduler bridge.  See cluster-ctl(1).
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
#include "exits.h"
#include "net.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "res.h"
#include "scheduler.h"
#include "util.h"

#define EX_TIMEOUT	124
#define EX_NOLAUNCH	125
#define RESEND_MS	500
#define QUERY_TIMEOUT_MS 5000	/* -t of every command but run */
#define POLL_MS		100	/* longest sleep of run and subscribe */
#define WAIT_WARN_MS	5000	/* run: say it still waits for an offer */
#define KILL_WAIT_MS	15000	/* run: how long a killed task may take */
#define DECLINE_S	1.0	/* run: an offer too small, until launched */
#define LAUNCHED_DECLINE_S 60.0	/* run: any offer once launched */
#define GLOBAL_OPTS	"C:hm:o:t:"

static const char *opt_master;
static const char *opt_cred;	/* -C: our credential file */
static const char *opt_format = "table";
static int opt_noheader;
static int64_t opt_timeout_ms = -1;	/* -1: not given */
static volatile sig_atomic_t got_signal;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: cluster-ctl [-h] [-C credential] [-m master] [-o format] "
	    "[-t timeout]\n"
	    "                   command [args]\n"
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

/* Print the usage on stderr; returns the exit status of a usage error. */
static int
bad_usage(void)
{
	usage(stderr);
	return EXIT_USAGE;
}

/*
 * Take the global option CH (with ARG) that may come before or after the
 * command.  Returns 1 when CH was one, 0 otherwise; --help exits 0.
 */
static int
global_opt(int ch, const char *arg)
{
	switch (ch) {
	case 'H':
		usage(stdout);
		exit(0);
	case 'C':
		opt_cred = arg;
		return 1;
	case 'h':
		opt_noheader = 1;
		return 1;
	case 'm':
		opt_master = arg;
		return 1;
	case 'o':
		opt_format = arg;
		return 1;
	case 't':
		opt_timeout_ms = duration_arg("timeout", arg);
		return 1;
	}
	return 0;
}

/*
 * getopt_long(3) over a command's own options OWN and LONGOPTS (NULL for
 * none) and the global ones, which it takes itself: returns the next own
 * option, '?' for an unknown one, -1 at the first operand.
 */
static int
next_opt(int argc, char **argv, const char *own, const struct option *longopts)
{
	static const struct option global[] = {
		{ "credential", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'H' },
		{ "noheader", no_argument, NULL, 'h' },
		{ "master", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
	};
	struct option all[32];
	char shortopts[64];
	size_t n = 0, i;
	int ch;

	snprintf(shortopts, sizeof(shortopts), "+%s%s", own, GLOBAL_OPTS);
	for (i = 0; longopts != NULL && longopts[i].name != NULL; i++)
		all[n++] = longopts[i];
	for (i = 0; i < sizeof(global) / sizeof(global[0]); i++)
		all[n++] = global[i];
	memset(&all[n], 0, sizeof(all[n]));
	while ((ch = getopt_long(argc, argv, shortopts, all, NULL)) != -1 &&
	    global_opt(ch, optarg))
		;
	return ch;
}

/*
 * Parse the options of a command that has none of its own.  Returns 0
 * when exactly NARGS operands (the command's name included) follow.
 */
static int
no_own_opts(int argc, char **argv, int nargs)
{
	optind = 1;
	if (next_opt(argc, argv, "", NULL) != -1 || argc - optind + 1 != nargs)
		return -1;
	return 0;
}

/*
 * Seal what we send with our credential (-C, $CLUSTER_CREDENTIAL, or the
 * credentials directory's), when there is one; exits 100 when the one
 * named cannot be used.
 */
static void
credential_use(void)
{
	char e[AUTH_ERRLEN];

	if (net_peer_cred_find(opt_cred, e) == -1)
		errx(EXIT_USAGE, "credential: %s", e);
}

/*
 * The endpoint of the master now: of its current leader when it is named
 * by its election (zk://, lock://; see cluster-elect(8)), into EP (LEN
 * bytes).  Exits 100 on a bad master string, 111 when no leader can be
 * found.
 */
static void
resolve_master(char *ep, size_t len)
{
	const char *m = master_endpoint(opt_master);
	char e[ELECT_ERRLEN];
	struct elect_url u;

	if (elect_url_parse(m, &u, e) == -1)
		errx(EXIT_USAGE, "master: %s", e);
	credential_use();
	if (elect_resolve(m, ep, len, e) < 0)
		errx(EXIT_SYSTEM, "master %s: %s", m, e);
}

/* Connect to the master, or exit as resolve_master() or 111. */
static struct net *
connect_master(void)
{
	char ep[ELECT_ENDPOINT_MAX], e[ELECT_ERRLEN];
	struct net *n;

	resolve_master(ep, sizeof(ep));
	if ((n = net_open(NET_PEER, ep, e)) == NULL)
		errx(EXIT_SYSTEM, "%s", e);
	return n;
}

/*
 * A framework on the master (following its leader when it is elected)
 * with OPTS and CB; exits as resolve_master(), or 111 when the library
 * refuses.
 */
static struct sched *
connect_framework(struct sched_opts *opts, const struct sched_callbacks *cb,
    void *ctx)
{
	char ep[ELECT_ENDPOINT_MAX], e[SCHED_ERRLEN];
	struct sched *s;

	resolve_master(ep, sizeof(ep));	/* no leader: fail now, not wait */
	opts->master = opt_master;
	opts->credential = opt_cred;
	if ((s = sched_create(opts, cb, ctx, e)) == NULL)
		errx(EXIT_SYSTEM, "%s", e);
	return s;
}

/*
 * leader: print the endpoint of the master's current leader (with -o
 * json, what else the election tells).  Exits 1 when there is none right
 * now, 111 when it cannot be asked.
 */
static int
cmd_leader(int argc, char **argv)
{
	struct elect_leader l;
	struct elect_url u;
	char e[ELECT_ERRLEN];
	const char *m;
	int r;

	if (no_own_opts(argc, argv, 1) == -1)
		return bad_usage();
	m = master_endpoint(opt_master);
	if (elect_url_parse(m, &u, e) == -1)
		errx(EXIT_USAGE, "master: %s", e);
	if ((r = elect_lookup(m, &l, e)) < 0)
		errx(r == -1 ? 1 : EXIT_SYSTEM, "%s", e);
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
	int64_t timeout = opt_timeout_ms < 0 ? QUERY_TIMEOUT_MS : opt_timeout_ms;
	int64_t deadline = now_ms() + timeout, next = 0;
	char e[REC_ERRLEN];
	json_t *ans;

	for (;;) {
		int64_t now = now_ms();

		if (now >= deadline)
			errx(EXIT_SYSTEM, "no answer from the master at %s within "
			    "%lld ms", master_endpoint(opt_master),
			    (long long)timeout);
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

/* agents, frameworks, tasks, offers: what the master knows, as a table. */
static int
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

static int
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
	while ((ch = next_opt(argc, argv, "rw:", longopts)) != -1) {
		switch (ch) {
		case 'r':
			raw = 1;
			break;
		case 'w':
			wait_ms = duration_arg("wait", optarg);
			break;
		default:
			return bad_usage();
		}
	}
	if (optind != argc)
		return bad_usage();
	n = connect_master();
	usleep(100000);		/* nanomsg connects in the background */
	if (raw) {
		char *buf = malloc(REC_MAX_SIZE + 1);
		size_t got = fread(buf, 1, REC_MAX_SIZE + 1, stdin);

		if (got > REC_MAX_SIZE)
			errx(EXIT_USAGE, "input larger than %d bytes", REC_MAX_SIZE);
		if (net_send_raw(n, NULL, buf, got) == -1)
			errx(EXIT_SYSTEM, "cannot send to the master");
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
				errx(EXIT_SYSTEM, "cannot send to the master");
			json_decref(rec);
		}
		free(line);
	}
	until = now_ms() + wait_ms;
	while (now_ms() < until) {
		net_wait(n, (int)(until - now_ms()));
		while (net_recv(n, &rec, NULL, e) == 1) {
			rec_print(stdout, rec);
			if (strcmp(rec_type(rec), R_ERROR) == 0)
				bad = 1;	/* answered with an error */
			json_decref(rec);
		}
	}
	net_close(n);
	return bad;
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* SIGINT and SIGTERM set got_signal and interrupt poll(2). */
static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The scheduler bridge: what its callbacks tell its loop. */
struct bridge {
	int		 code;		/* the exit status so far */
	int		 stop;		/* stdout is gone, or the socket */
	int		 refused;	/* the master refused the SUBSCRIBE */
	char		 why[SCHED_ERRLEN];
	char		*ib;		/* stdin: a partial line */
	size_t		 ilen;
};

/* Every record from the master goes out as a JSON line. */
static void
bridge_record(struct sched *s, void *ctx, const json_t *rec)
{
	struct bridge *b = ctx;

	(void)s;
	if (rec_print(stdout, rec) == -1)
		b->stop = 1;
}

/* Offers are the script's to answer: the library must not decline them. */
static void
bridge_offer(struct sched *s, void *ctx, const struct sched_offer *o)
{
	(void)s;
	(void)ctx;
	(void)o;
}

/* An ERROR was printed already; one refusing our SUBSCRIBE ends us. */
static void
bridge_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct bridge *b = ctx;

	if (e->code == NULL) {		/* the library's own: the socket */
		warnx("%s", e->message);
		return;
	}
	if ((!sched_subscribed(s) && e->about != NULL &&
	    strcmp(e->about, R_SUBSCRIBE) == 0) ||
	    strcmp(e->code, E_UNAUTHENTICATED) == 0) {
		b->refused = b->stop = 1;
		strlcpy(b->why, e->message, sizeof(b->why));
	}
}

/*
 * Read what stdin holds and send each complete line as a call (a bad one
 * makes the exit status 1).  Uses read(2), not stdio, so that every
 * complete line is sent now.  Returns 0 at the end of stdin, 1 otherwise.
 */
static int
bridge_read(struct sched *s, struct bridge *b)
{
	ssize_t got = read(0, b->ib + b->ilen, REC_MAX_SIZE + 1 - b->ilen);
	char *start = b->ib, *nl, e[REC_ERRLEN];
	int open = 1;
	json_t *rec;

	if (got == -1 && errno == EINTR)
		return 1;
	if (got <= 0) {
		open = 0;
		if (b->ilen > 0)	/* a last line without newline */
			b->ib[b->ilen++] = '\n';
	} else
		b->ilen += got;
	while ((nl = memchr(start, '\n', b->ilen - (start - b->ib))) != NULL) {
		*nl = '\0';
		if (*start != '\0' && (rec = rec_from_json(start, e)) == NULL) {
			warnx("stdin: %s", e);
			b->code = 1;
		} else if (*start != '\0') {
			sched_call(s, rec);
			json_decref(rec);
		}
		start = nl + 1;
	}
	b->ilen -= start - b->ib;
	memmove(b->ib, start, b->ilen);
	if (b->ilen > REC_MAX_SIZE) {
		warnx("stdin: a line longer than %d bytes", REC_MAX_SIZE);
		b->code = 1;
		b->ilen = 0;
	}
	return open;
}

/*
 * subscribe: the scheduler bridge, a framework of sched(3) whose
 * scheduler is a script.  Every record from the master goes out as a JSON
 * line on stdout; every JSON line read on stdin goes to the master as a
 * call, with framework_id filled in.  The library subscribes (again
 * after a master restart or a new leader), heartbeats and, unless -A,
 * acknowledges updates.  EOF on stdin tears the framework down.
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
	struct sched_opts o = { .name = "bridge", .role = "*" };
	const struct sched_callbacks cb = { .record = bridge_record,
	    .offer = bridge_offer, .error = bridge_error };
	struct bridge b = { 0 };
	char e[REC_ERRLEN];
	int ch, in_open = 1, failed = 0;
	struct sched *s;
	struct res tmp;

	optind = 1;
	while ((ch = next_opt(argc, argv, "Aa:F:i:M:n:r:", longopts)) != -1) {
		switch (ch) {
		case 'A':
			o.manual_ack = 1;
			break;
		case 'a':
			if (attr_check(optarg, e) == -1)
				errx(EXIT_USAGE, "attributes '%s': %s", optarg, e);
			o.filter_attributes = optarg;
			break;
		case 'F':
			o.failover_timeout = duration_arg("failover",
			    optarg) / 1000.0;
			break;
		case 'i':
			if (!id_valid(optarg))
				errx(EXIT_USAGE, "framework id '%s' is not valid",
				    optarg);
			o.framework_id = optarg;
			break;
		case 'M':
			if (res_parse(optarg, &tmp, e) == -1)
				errx(EXIT_USAGE, "min '%s': %s", optarg, e);
			res_free(&tmp);
			o.filter_min = optarg;
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'r':
			o.role = optarg;
			break;
		default:
			return bad_usage();
		}
	}
	if (optind != argc)
		return bad_usage();
	if ((b.ib = malloc(REC_MAX_SIZE + 2)) == NULL)
		err(EXIT_SYSTEM, "malloc");
	catch_signals();
	signal(SIGPIPE, SIG_IGN);
	s = connect_framework(&o, &cb, &b);
	while (!got_signal && !b.stop) {
		struct pollfd pfd[2] = {
			{ .fd = sched_fd(s), .events = POLLIN },
			{ .fd = in_open ? 0 : -1, .events = POLLIN },
		};
		int wait = sched_timeout(s);

		/* what stdin held is sent once we are subscribed */
		if (!in_open && sched_subscribed(s))
			break;
		if (poll(pfd, 2, wait < POLL_MS ? wait : POLL_MS) == -1 &&
		    errno != EINTR)
			err(EXIT_SYSTEM, "poll");
		if (sched_dispatch(s) == -1) {
			failed = !b.stop;
			break;
		}
		if (in_open && (pfd[1].revents & (POLLIN | POLLHUP)))
			in_open = bridge_read(s, &b);
	}
	if (b.refused)
		errx(1, "subscribe refused: %s", b.why);
	if (sched_subscribed(s) && o.failover_timeout == 0)
		sched_teardown(s);
	sched_destroy(s);
	free(b.ib);
	return failed ? EXIT_SYSTEM : b.code;
}

/* cluster-ctl run: its one task, and how far it got. */
struct run {
	const char	*name;
	char		 task_id[64];
	char		 want[1024];	/* the task's resources, formatted */
	struct res	 need;		/* the same, parsed */
	json_t		*argv, *env;
	int		 launched;
	int		 done;		/* a terminal update, or no launch */
	int		 code;		/* the exit status, unless the task's */
	int64_t		 start, deadline, kill_sent;
	int		 warned;
	json_t		*last;		/* the latest update of the task */
};

/* The exit status that tells a script how the task of STATUS ended. */
static int
exit_status_of(const json_t *st)
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

/* The first offer that holds the task launches it; the rest go back. */
static void
run_offer(struct sched *s, void *ctx, const struct sched_offer *o)
{
	struct run *r = ctx;
	json_t *tasks;

	if (r->launched || r->kill_sent || !res_contains(o->res, &r->need)) {
		sched_decline(s, o->offer_id, r->launched ? LAUNCHED_DECLINE_S :
		    DECLINE_S);
		return;
	}
	tasks = json_pack("[{s:s,s:s,s:s,s:O,s:O}]", "task_id", r->task_id,
	    "name", r->name, "resources", r->want, "argv", r->argv, "env",
	    r->env);
	sched_accept(s, o->offer_id, tasks, -1);
	json_decref(tasks);
	r->launched = 1;
}

/* Say where the task runs; its terminal update ends the run. */
static void
run_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	struct run *r = ctx;

	if (strcmp(st->state, TASK_RUNNING) == 0 && r->last == NULL)
		printf("task %s running on %s sandbox %s\n", r->task_id,
		    st->agent_id ? st->agent_id : "?",
		    st->sandbox ? st->sandbox : "?");
	if (strcmp(st->state, TASK_RUNNING) == 0 || st->terminal) {
		json_decref(r->last);
		r->last = json_incref((json_t *)st->rec);
	}
	fflush(stdout);
	if (st->terminal) {
		r->done = 1;
		sched_teardown(s);
	}
}

/* Errors are shown; a refused ACCEPT means the task will never run. */
static void
run_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct run *r = ctx;

	warnx("master: %s", e->message);
	if (e->code != NULL && strcmp(e->code, E_UNAUTHENTICATED) == 0) {
		/* nothing we send is taken: no use waiting for an offer */
		warnx("the master takes only records sealed with a credential "
		    "it knows: see -C in cluster-ctl(1)");
		r->code = EX_NOLAUNCH;
		r->done = 1;
		sched_stop(s);
		return;
	}
	if (r->launched && e->about != NULL &&
	    strcmp(e->about, R_ACCEPT) == 0) {
		r->code = EX_NOLAUNCH;
		r->done = 1;
		json_decref(r->last);
		r->last = NULL;
		sched_teardown(s);
	}
}

/* Kill the task and exit CODE once it ended; end at once if not launched. */
static void
run_abort(struct sched *s, struct run *r, int code)
{
	r->code = code;
	r->kill_sent = now_ms();
	if (!r->launched)
		sched_teardown(s);
	else
		sched_kill(s, r->task_id);
}

/* Every POLL_MS: signals, the -t deadline, a kill that takes too long. */
static void
run_tick(struct sched *s, void *ctx)
{
	struct run *r = ctx;
	int64_t now = now_ms();

	if (got_signal && !r->kill_sent) {
		warnx("signal %d: killing task %s", (int)got_signal, r->task_id);
		run_abort(s, r, 128 + got_signal);
	} else if (r->deadline && now >= r->deadline && !r->kill_sent) {
		warnx("timed out after %lld ms", (long long)opt_timeout_ms);
		run_abort(s, r, EX_TIMEOUT);
	} else if (r->kill_sent && now - r->kill_sent > KILL_WAIT_MS)
		sched_teardown(s);
	if (!r->launched && !r->warned && now - r->start > WAIT_WARN_MS) {
		warnx("still waiting for an offer of %s", r->want);
		r->warned = 1;
	}
}

/* Print how the task ended and return run's exit status. */
static int
run_result(const struct run *r)
{
	const char *reason;
	int64_t v;

	if (r->last == NULL || !r->done)
		return r->code;
	reason = rec_str(r->last, "reason");
	printf("task %s %s", r->task_id, rec_str(r->last, "state"));
	if (rec_int(r->last, "exit_code", &v) == 0)
		printf(" exit_code=%lld", (long long)v);
	if (rec_int(r->last, "signal", &v) == 0)
		printf(" signal=%lld", (long long)v);
	if (reason != NULL)
		printf(" reason=\"%s\"", reason);
	printf(" agent=%s sandbox=%s\n", rec_str(r->last, "agent_id") ?
	    rec_str(r->last, "agent_id") : "-", rec_str(r->last, "sandbox") ?
	    rec_str(r->last, "sandbox") : "-");
	return r->kill_sent && r->code != EX_NOLAUNCH ? r->code :
	    exit_status_of(r->last);
}

/* run: one command as one task of a framework of its own. */
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
	const char *cpus = "1", *mem = "128", *resources = NULL;
	struct sched_opts o = { .name = "run", .role = "*" };
	const struct sched_callbacks cb = { .offer = run_offer,
	    .status = run_status, .error = run_error };
	struct run r = { .code = EX_NOLAUNCH };
	char e[REC_ERRLEN];
	struct sched *s;
	int ch, i;

	r.env = json_object();
	optind = 1;
	while ((ch = next_opt(argc, argv, "c:e:M:n:r:R:", longopts)) != -1) {
		switch (ch) {
		case 'c':
			cpus = optarg;
			break;
		case 'e': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || eq == optarg) {
				warnx("env '%s': want NAME=VALUE", optarg);
				goto usage;
			}
			*eq = '\0';
			json_object_set_new(r.env, optarg, json_string(eq + 1));
			break;
		}
		case 'M':
			mem = optarg;
			break;
		case 'n':
			if (!id_valid(optarg)) {
				warnx("name '%s': use 1-40 of [A-Za-z0-9._-]",
				    optarg);
				goto usage;
			}
			o.name = optarg;
			break;
		case 'r':
			o.role = optarg;
			break;
		case 'R':
			resources = optarg;
			break;
		default:
			json_decref(r.env);
			return bad_usage();
		}
	}
	if (optind >= argc) {
		warnx("run: no command given");
		json_decref(r.env);
		return bad_usage();
	}
	if (resources != NULL)
		strlcpy(r.want, resources, sizeof(r.want));
	else
		snprintf(r.want, sizeof(r.want), "cpus:%s;mem:%s", cpus, mem);
	if (res_parse(r.want, &r.need, e) == -1) {
		warnx("resources '%s': %s", r.want, e);
		goto usage;
	}
	res_format(&r.need, r.want, sizeof(r.want));
	if (strlen(o.name) > 40) {
		warnx("name '%s' is too long", o.name);
		res_free(&r.need);
		goto usage;
	}
	r.name = o.name;
	id_new(o.name, r.task_id, sizeof(r.task_id));
	r.argv = json_array();
	for (i = optind; i < argc; i++)
		json_array_append_new(r.argv, json_string(argv[i]));
	if (opt_timeout_ms < 0)
		opt_timeout_ms = 0;	/* a task may run for long */
	r.start = now_ms();
	r.deadline = opt_timeout_ms > 0 ? r.start + opt_timeout_ms : 0;
	catch_signals();
	s = connect_framework(&o, &cb, &r);
	if (sched_run(s, POLL_MS, run_tick) == -1)
		warnx("lost the connection to the master");
	sched_destroy(s);
	r.code = run_result(&r);
	json_decref(r.last);
	json_decref(r.argv);
	json_decref(r.env);
	res_free(&r.need);
	return r.code;
usage:
	/* freed, not left to exit: t/san checks for leaks */
	json_decref(r.env);
	return EXIT_USAGE;
}

int
main(int argc, char *argv[])
{
	if (next_opt(argc, argv, "", NULL) != -1 || optind >= argc)
		return bad_usage();
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "agents") == 0 || strcmp(argv[0], "frameworks") == 0 ||
	    strcmp(argv[0], "tasks") == 0 || strcmp(argv[0], "offers") == 0)
		return cmd_list(argc, argv);
	if (strcmp(argv[0], "run") == 0)
		return cmd_run(argc, argv);
	if (strcmp(argv[0], "leader") == 0)
		return cmd_leader(argc, argv);
	if (strcmp(argv[0], "weight") == 0)
		return cmd_weight(argc, argv);
	if (strcmp(argv[0], "send") == 0)
		return cmd_send(argc, argv);
	if (strcmp(argv[0], "subscribe") == 0)
		return cmd_subscribe(argc, argv);
	warnx("unknown command '%s'", argv[0]);
	return bad_usage();
}
