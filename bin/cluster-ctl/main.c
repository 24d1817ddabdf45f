/*
 * cluster-ctl: the operator's and scripts' view of the cluster, and two
 * frameworks built on sched(3): run, which runs one command, and
 * subscribe, the JSON-lines scheduler bridge.  See cluster-ctl(1).
 * This file: the options every command shares, the way to the master,
 * leader and send; the listings are in query.c, run in run.c, subscribe
 * in bridge.c.
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

const char *opt_master;
const char *opt_cred;		/* -C: our credential file */
const char *opt_format = "table";
int opt_noheader;
int64_t opt_timeout_ms = -1;	/* -1: not given */
volatile sig_atomic_t got_signal;

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: cluster-ctl [-h] [-C credential] [-m master] [-o format] "
	    "[-t timeout]\n"
	    "                   command [args]\n"
	    "       cluster-ctl credential [-K credentials] [--add] principal file\n"
	    "       cluster-ctl drain [--deadline=deadline] [--reason=reason] "
	    "agent-id\n"
	    "       cluster-ctl undrain agent-id\n"
	    "       cluster-ctl agents | executors | frameworks | offers | tasks |\n"
	    "                   weights [-a attributes] [-r role] [-s state] "
	    "[--agent=agent-id]\n"
	    "                   [--framework=framework-id]\n"
	    "       cluster-ctl history [-E until] [-n count] [-S since] "
	    "[-s state]\n"
	    "                           [--framework=framework-id]\n"
	    "       cluster-ctl executor\n"
	    "       cluster-ctl leader\n"
	    "       cluster-ctl metrics\n"
	    "       cluster-ctl logs [-f] [--framework=framework-id] "
	    "[--stream=stream] task-id\n"
	    "       cluster-ctl quota\n"
	    "       cluster-ctl quota set [-L limit] [--guarantee=guarantee] "
	    "role\n"
	    "       cluster-ctl quota rm role\n"
	    "       cluster-ctl reserve | unreserve agent-id role resources\n"
	    "       cluster-ctl run [-qv] [-a attributes] [-c cpus] "
	    "[-e name=value] [-M mem]\n"
	    "                       [-N name] [-R resources] [-r role] "
	    "[-u user] -- command\n"
	    "                       [arg ...]\n"
	    "       cluster-ctl send [--raw] [--wait=wait]\n"
	    "       cluster-ctl subscribe [-a attributes] [-F failover] "
	    "[-i framework-id] [-N name]\n"
	    "                       [-O] [-r role] [--manual-ack] [--min=min]\n"
	    "       cluster-ctl top [-I interval] [-n iterations]\n"
	    "       cluster-ctl weight role weight\n");
}

/* Print the usage on stderr; returns the exit status of a usage error. */
int
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
	case 'V':
		version_exit("cluster-ctl");
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
int
next_opt(int argc, char **argv, const char *own, const struct option *longopts)
{
	static const struct option global[] = {
		{ "credential", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'H' },
		{ "noheader", no_argument, NULL, 'h' },
		{ "master", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
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
int
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
struct net *
open_master(void)
{
	char ep[ELECT_ENDPOINT_MAX], e[ELECT_ERRLEN];
	struct net *n;

	resolve_master(ep, sizeof(ep));
	if ((n = net_open(NET_PEER, ep, e)) == NULL)
		errx(EXIT_SYSTEM, "%s", e);
	return n;
}

struct net *
connect_master(void)
{
	struct net *n = open_master();

	/* so that the first request leaves at once, not a retry later */
	net_wait_connected(n, NET_CONNECT_MS);
	return n;
}

/*
 * A framework on the master (following its leader when it is elected)
 * with OPTS and CB; exits as resolve_master(), or 111 when the library
 * refuses.
 */
struct sched *
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

json_t *
request_any(struct net *n, json_t *req, const char *want)
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
			if (strcmp(rec_type(ans), want) == 0 ||
			    strcmp(rec_type(ans), R_ERROR) == 0)
				return ans;
			json_decref(ans);
		}
	}
}

void
master_refused(const json_t *err, int status)
{
	const char *code = rec_str(err, "code");

	warnx("master: %s", rec_str(err, "message") ? rec_str(err, "message") :
	    "(no message)");
	if (code != NULL && strcmp(code, E_UNAUTHENTICATED) == 0)
		warnx("the master takes only records sealed with a credential "
		    "it knows: see -C in cluster-ctl(1)");
	exit(status);
}

json_t *
request(struct net *n, json_t *req, const char *want)
{
	json_t *ans = request_any(n, req, want);

	if (strcmp(rec_type(ans), R_ERROR) == 0)
		master_refused(ans, 1);
	return ans;
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
	while ((ch = next_opt(argc, argv, "", longopts)) != -1) {
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
	n = connect_master();	/* connected, or the first send fails */
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
void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int
main(int argc, char *argv[])
{
	if (next_opt(argc, argv, "", NULL) != -1 || optind >= argc)
		return bad_usage();
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "agents") == 0 || strcmp(argv[0], "frameworks") == 0 ||
	    strcmp(argv[0], "tasks") == 0 || strcmp(argv[0], "offers") == 0 ||
	    strcmp(argv[0], "weights") == 0 ||
	    strcmp(argv[0], "executors") == 0)
		return cmd_list(argc, argv);
	if (strcmp(argv[0], "executor") == 0)
		return cmd_executor(argc, argv);
	if (strcmp(argv[0], "credential") == 0)
		return cmd_credential(argc, argv);
	if (strcmp(argv[0], "history") == 0)
		return cmd_history(argc, argv);
	if (strcmp(argv[0], "logs") == 0)
		return cmd_logs(argc, argv);
	if (strcmp(argv[0], "run") == 0)
		return cmd_run(argc, argv);
	if (strcmp(argv[0], "leader") == 0)
		return cmd_leader(argc, argv);
	if (strcmp(argv[0], "metrics") == 0)
		return cmd_metrics(argc, argv);
	if (strcmp(argv[0], "top") == 0)
		return cmd_top(argc, argv);
	if (strcmp(argv[0], "weight") == 0)
		return cmd_weight(argc, argv);
	if (strcmp(argv[0], "drain") == 0)
		return cmd_drain(argc, argv);
	if (strcmp(argv[0], "undrain") == 0)
		return cmd_undrain(argc, argv);
	if (strcmp(argv[0], "quota") == 0)
		return cmd_quota(argc, argv);
	if (strcmp(argv[0], "reserve") == 0 || strcmp(argv[0], "unreserve") == 0)
		return cmd_reserve(argc, argv);
	if (strcmp(argv[0], "send") == 0)
		return cmd_send(argc, argv);
	if (strcmp(argv[0], "subscribe") == 0)
		return cmd_subscribe(argc, argv);
	warnx("unknown command '%s'", argv[0]);
	return bad_usage();
}
