/*
 * offerd: the master of the cluster.  See offerd(8).  This file owns the
 * start-up: the configuration read from the command line, the setup of
 * the work dir, pid file, durable state, sockets and allocator, and the
 * event loop.  Start-up failures go through the log module (syslog
 * without -d); command-line errors are usage errors, on standard error.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/libutil.h>

#include "elect.h"
#include "exits.h"
#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "sig.h"
#include "util.h"

#define TICK_MS			100
#define OFFER_TIMEOUT_MS	60000
#define AGENT_TIMEOUT_MS	15000
#define AGENT_TIMEOUT_MIN_MS	100
#define FRAMEWORK_TIMEOUT_MS	15000
#define FRAMEWORK_TIMEOUT_MIN_MS 2000	/* schedulers heartbeat every second */
#define REFUSE_MS		5000
#define KEEP_DONE_MS		(3600 * 1000)
#define KEEP_DONE_MAX		10000
#define REMOVAL_MS		(600 * 1000)
#define RECOVERY_MS		(60 * 1000)
#define ROLE_LEN_MAX		63

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: offerd [-dnv] [-a endpoint] [-A program] "
	    "[-F timeout] [-K file] [-l endpoint]\n"
	    "              [-o timeout] [-p pidfile] [-r duration] "
	    "[-R timeout] [-t timeout]\n"
	    "              [-T timeout] [-w work-dir] [-W role=weight]\n");
}

/* Check a -W role=weight argument and keep it in C; exits 100 if bad. */
static void
weight_arg(struct config *c, char *arg)
{
	char *eq = strchr(arg, '='), *end;
	double w;

	if (eq == NULL || eq == arg || eq - arg > ROLE_LEN_MAX)
		errx(EXIT_USAGE, "weight '%s': want role=weight", arg);
	*eq = '\0';
	if (!id_valid(arg) && strcmp(arg, "*") != 0)
		errx(EXIT_USAGE, "weight: '%s' is not a role name", arg);
	*eq = '=';
	w = strtod(eq + 1, &end);
	if (*end != '\0' || end == eq + 1 || !(w > 0) || w > PROTO_WEIGHT_MAX)
		errx(EXIT_USAGE, "weight '%s': want a number > 0", arg);
	if (c->nweights == WEIGHTS_MAX)
		errx(EXIT_USAGE, "too many -W options");
	c->weights[c->nweights++] = arg;
}

/* Fill C with the defaults. */
static void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->offer_timeout_ms = OFFER_TIMEOUT_MS;
	c->agent_timeout_ms = AGENT_TIMEOUT_MS;
	c->framework_timeout_ms = FRAMEWORK_TIMEOUT_MS;
	c->refuse_ms = REFUSE_MS;
	c->keep_done_ms = KEEP_DONE_MS;
	c->keep_done_max = KEEP_DONE_MAX;
	c->removal_ms = REMOVAL_MS;
	c->recovery_ms = RECOVERY_MS;
	/* the drf-alloc beside this program, else the one on PATH */
	sibling_program("drf-alloc", "drf-alloc", c->alloc_prog,
	    sizeof(c->alloc_prog));
	snprintf(c->work_dir, sizeof(c->work_dir), "%s",
	    getuid() == 0 ? "/var/lib/offerd" : "/tmp/offerd");
}

/* Settle the endpoints of C: to listen on, of its allocator; exits 100. */
static void
config_endpoints(struct config *c)
{
	c->listen_ep = master_endpoint(c->listen_ep);
	if (strncmp(c->listen_ep, "zk://", 5) == 0 ||
	    strncmp(c->listen_ep, "lock://", 7) == 0)
		errx(EXIT_USAGE, "%s is an election address, not one to listen on: "
		    "give -l", c->listen_ep);
	if (strstr(c->listen_ep, "://") == NULL)
		errx(EXIT_USAGE, "endpoint '%s' has no scheme: write tcp://%s or "
		    "ipc:///PATH", c->listen_ep, c->listen_ep);
	snprintf(c->alloc_own, sizeof(c->alloc_own), "ipc://%s/alloc.ipc",
	    c->work_dir);
}

/*
 * Fill C from the command line; returns -1 when offerd is to exit at once
 * with *STATUS (--help, a usage error), else 0.
 */
static int
config_parse(struct config *c, int argc, char *argv[], int *status)
{
	static const struct option longopts[] = {
		{ "allocator", required_argument, NULL, 'a' },
		{ "allocator-program", required_argument, NULL, 'A' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "framework-timeout", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'H' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "credentials", required_argument, NULL, 'K' },
		{ "listen", required_argument, NULL, 'l' },
		{ "check", no_argument, NULL, 'n' },
		{ "offer-timeout", required_argument, NULL, 'o' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "refuse", required_argument, NULL, 'r' },
		{ "recovery-timeout", required_argument, NULL, 'R' },
		{ "removal-timeout", required_argument, NULL, 'T' },
		{ "agent-timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "work-dir", required_argument, NULL, 'w' },
		{ "weight", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "a:A:dF:K:l:no:p:r:R:t:T:vw:W:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			c->alloc_ep = optarg;
			break;
		case 'A':
			strlcpy(c->alloc_prog, optarg, sizeof(c->alloc_prog));
			break;
		case 'd':
			c->foreground = 1;
			break;
		case 'F':
			c->framework_timeout_ms = duration_arg("framework timeout",
			    optarg);
			if (c->framework_timeout_ms < FRAMEWORK_TIMEOUT_MIN_MS)
				errx(EXIT_USAGE, "framework timeout must be at least 2s "
				    "(schedulers heartbeat every second)");
			break;
		case 'H':
			usage(stdout);
			*status = 0;
			return -1;
		case 'I':
			c->insecure = 1;
			break;
		case 'K':
			c->keys_path = optarg;
			break;
		case 'l':
			c->listen_ep = optarg;
			break;
		case 'n':
			c->check = 1;
			break;
		case 'o':
			c->offer_timeout_ms = duration_arg("offer timeout", optarg);
			break;
		case 'p':
			c->pidpath = optarg;
			break;
		case 'r':
			c->refuse_ms = duration_arg("refuse time", optarg);
			break;
		case 'R':
			c->recovery_ms = duration_arg("recovery timeout", optarg);
			break;
		case 'T':
			c->removal_ms = duration_arg("removal timeout", optarg);
			break;
		case 't':
			c->agent_timeout_ms = duration_arg_min("agent timeout",
			    optarg, AGENT_TIMEOUT_MIN_MS);
			break;
		case 'v':
			c->verbose++;
			break;
		case 'w':
			strlcpy(c->work_dir, optarg, sizeof(c->work_dir));
			break;
		case 'W':
			weight_arg(c, optarg);
			break;
		default:
			usage(stderr);
			*status = EXIT_USAGE;
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		*status = EXIT_USAGE;
		return -1;
	}
	config_endpoints(c);
	return 0;
}

/*
 * Make M ready to serve as C says: work dir, pid file (returned), durable
 * state, the hub, the allocator.  A failure is logged and exits 111.
 */
static struct pidfh *
setup(struct master *m, const struct config *c)
{
	char errbuf[256];
	struct pidfh *pfh;

	memset(m, 0, sizeof(*m));
	m->conf = c;
	m->agents = map_create();
	m->frameworks = map_create();
	m->offers = map_create();
	m->tasks = map_create();
	m->pending = map_create();
	if (mkdir(c->work_dir, 0750) == -1 && errno != EEXIST)
		log_fatal("work dir %s", c->work_dir);
	pfh = pidfile_take(c->pidpath);
	if (state_load(m, c->work_dir) == -1)
		log_fatalx("cannot read the durable state in %s", c->work_dir);
	if ((m->hub = net_open(NET_HUB, c->listen_ep, errbuf)) == NULL)
		log_fatalx("%s", errbuf);
	if (master_keys_load(m) == -1)
		log_fatalx("no credentials: stopping (--insecure runs without)");
	if (alloc_start(m) == -1)
		log_fatalx("no allocator: stopping");
	if (pfh != NULL)
		pidfile_write(pfh);
	return pfh;
}

/* Act on the signals that came: 1 when offerd is to stop. */
static int
signals(struct master *m)
{
	int stop = 0;

	sig_drain();
	if (sig_take(SIGTERM) || sig_take(SIGINT))
		stop = 1;
	if (sig_take(SIGHUP)) {
		/* everything else is set on the command line */
		log_info("SIGHUP: writing the durable state, reading the "
		    "credentials again");
		m->state_dirty = 1;
		state_save(m);
		master_keys_load(m);
	}
	if (sig_take(SIGCHLD))
		alloc_reap(m);
	return stop;
}

/* Serve until SIGTERM or SIGINT. */
static void
serve(struct master *m, int sigfd)
{
	int64_t next_tick = now_ms() + TICK_MS, wait;
	int stop;
	struct pollfd pfd[3] = {
		{ .fd = net_fd(m->hub), .events = POLLIN },
		{ .fd = net_fd(m->alloc), .events = POLLIN },
		{ .fd = sigfd, .events = POLLIN },
	};

	/* a stop ends the loop after this round, lease check included */
	for (stop = 0; !stop;) {
		wait = next_tick - now_ms();
		if (poll(pfd, 3, wait > 0 ? (int)wait : 0) == -1 &&
		    errno != EINTR)
			log_fatal("poll");
		stop = signals(m);
		alloc_restart(m);
		/* under cluster-elect(8): act only while the lease holds */
		if (elect_lease_expired())
			log_fatalx("lease expired: no longer leader");
		/* bounded batches so that neither side starves the other */
		master_recv(m);
		alloc_recv(m);
		if (now_ms() >= next_tick) {
			master_tick(m);
			next_tick = now_ms() + TICK_MS;
		}
	}
}

int
main(int argc, char *argv[])
{
	/* static: what it holds at exit is not a leak (t/san), as agentd's */
	static struct master m;
	struct config conf;
	struct pidfh *pfh;
	int sigfd, status;

	config_defaults(&conf);
	if (config_parse(&conf, argc, argv, &status) == -1)
		return status;
	if (conf.check) {
		printf("offerd: configuration ok (listen %s)\n", conf.listen_ep);
		return 0;
	}
	log_init("offerd", conf.foreground, conf.verbose);
	pfh = setup(&m, &conf);
	if ((sigfd = sig_init((int[]){ SIGTERM, SIGINT, SIGCHLD, SIGHUP },
	    4)) == -1)
		log_fatal("signals");
	log_info("listening on %s", conf.listen_ep);
	if (!conf.foreground)
		log_warnx("serving on %s", conf.listen_ep);
	serve(&m, sigfd);
	log_info("stopping");
	alloc_stop(&m);
	state_save(&m);
	net_close(m.hub);
	if (pfh != NULL)
		pidfile_remove(pfh);
	return 0;
}
