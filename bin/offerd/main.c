/*
 * offerd: the master of the cluster.  See offerd(8).  This file owns the
 * start-up: the configuration read from the command line, the setup of
 * the work dir, pid file, durable state, sockets and allocator, and the
 * event loop.  Start-up failures go through the log module (syslog
 * without -d); command-line errors are usage errors, on standard error.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/libutil.h>

#include "auth.h"
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
#define HISTORY_MAX		(16 << 20)	/* --history-size: the history rotates */
#define LOCK_TRIES		50	/* x LOCK_WAIT_MS for the work dir */
#define LOCK_WAIT_MS		100
#define HISTORY_MIN		4096
#define REMOVAL_MS		(600 * 1000)
#define RECOVERY_MS		(60 * 1000)
#define LIMIT_FRAMEWORKS	1000	/* -L frameworks= */
#define LIMIT_OFFERS		LIMIT_MAX	/* -L offers=: none */
#define LIMIT_RATE		5000	/* -L rate= */
#define LIMIT_BURST		10000	/* -L burst= */

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: offerd [-dv] [-A program] [-F timeout] [-K file] "
	    "[-L limits] [-l endpoint]\n"
	    "              [-O timeout] [-P file] [-p pidfile] [-t timeout] "
	    "[-T timeout] [-u user]\n"
	    "              [-w work-dir] [-W role=weight] "
	    "[--allocator=endpoint] [--check]\n"
	    "              [--history-size=size] [--insecure] "
	    "[--metrics=address:port]\n"
	    "              [--recovery-timeout=timeout] [--refuse=duration]\n");
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
	c->history_max = HISTORY_MAX;
	c->removal_ms = REMOVAL_MS;
	c->recovery_ms = RECOVERY_MS;
	c->limits.frameworks = LIMIT_FRAMEWORKS;
	c->limits.offers = LIMIT_OFFERS;
	c->limits.rate = LIMIT_RATE;
	c->limits.burst = LIMIT_BURST;
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
	snprintf(c->alloc_own, sizeof(c->alloc_own), "ipc://%s/" WORK_ALLOC,
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
		{ "limit", required_argument, NULL, 'L' },
		{ "acl", required_argument, NULL, 'P' },
		{ "listen", required_argument, NULL, 'l' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "check", no_argument, NULL, 'n' },
		{ "offer-timeout", required_argument, NULL, 'O' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "refuse", required_argument, NULL, 'r' },
		{ "recovery-timeout", required_argument, NULL, 'R' },
		{ "history-size", required_argument, NULL, 'S' },
		{ "removal-timeout", required_argument, NULL, 'T' },
		{ "agent-timeout", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "work-dir", required_argument, NULL, 'w' },
		{ "weight", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 }
	};
	const char *user = NULL;
	char err[256];
	int ch;

	while ((ch = getopt_long(argc, argv,
	    "A:dF:K:L:l:O:P:p:t:T:u:vw:W:",
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
		case 'V':
			version_exit("offerd");
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
		case 'L':
			if (limits_parse(&c->limits, optarg, err,
			    sizeof(err)) == -1)
				errx(EXIT_USAGE, "%s", err);
			break;
		case 'l':
			c->listen_ep = optarg;
			break;
		case 'M':
			c->metrics_addr = optarg;
			break;
		case 'n':
			c->check = 1;
			break;
		case 'O':
			c->offer_timeout_ms = duration_arg("offer timeout", optarg);
			break;
		case 'P':
			c->acl_path = optarg;
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
		case 'S':
			c->history_max = size_arg("history size", optarg,
			    HISTORY_MIN);
			break;
		case 'T':
			c->removal_ms = duration_arg("removal timeout", optarg);
			break;
		case 't':
			c->agent_timeout_ms = duration_arg_min("agent timeout",
			    optarg, AGENT_TIMEOUT_MIN_MS);
			break;
		case 'u':
			user = optarg;
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
	if (c->insecure && c->acl_path != NULL)
		errx(EXIT_USAGE, "-P and --insecure: without principals, rules "
		    "name no one");
	config_endpoints(c);
	priv_config(c, user);
	return 0;
}

/*
 * The registry in ZooKeeper, when cluster-elect(8) names it: the election
 * in $CLUSTER_REGISTRY, logged in with the credential of
 * $CLUSTER_REGISTRY_CREDENTIAL (a file, or "none" for open znodes; unset:
 * found as cluster-elect finds its own).  Read before the privileges are
 * dropped; a bad one exits 100.
 */
static void
registry_config(struct config *c)
{
	char e[AUTH_ERRLEN], where[PATH_MAX + 32];
	const char *v = getenv(ELECT_REGISTRY_ENV), *cred;
	struct elect_url u;

	if (v == NULL || *v == '\0')
		return;
	if (elect_url_parse(v, &u, e) == -1 || u.kind != ELECT_ZK)
		errx(EXIT_USAGE, "%s=%s: want zk://HOST:PORT[,...]/PATH",
		    ELECT_REGISTRY_ENV, v);
	c->registry = v;
	cred = getenv(ELECT_REGISTRY_CRED_ENV);
	if (cred != NULL && strcmp(cred, "none") == 0)
		return;
	if (auth_init() == -1)
		errx(EXIT_SYSTEM, "libsodium cannot start");
	switch (auth_cred_find(cred, &c->registry_cred, where, sizeof(where),
	    e)) {
	case -1:
		errx(EXIT_USAGE, "registry credential: %s", e);
	case 1:
		errx(EXIT_USAGE, "registry %s: no credential (%s): set %s", v,
		    where, ELECT_REGISTRY_CRED_ENV);
	}
	c->registry_has_cred = 1;
}

/*
 * Hold the work dir's lock while serving, as agentd does: a second offerd
 * on the same work dir stops (111) instead of fighting over the
 * allocator's socket and the durable state.
 */
static void
work_dir_lock(const struct config *c)
{
	char path[PATH_MAX + 16];
	int fd, tries;

	snprintf(path, sizeof(path), "%s/" WORK_LOCK, c->work_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		log_fatal("%s", path);
	/* an offerd that was just stopped may still be ending: wait a bit */
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; tries++) {
		if (errno != EWOULDBLOCK)
			log_fatal("lock %s", path);
		if (tries == LOCK_TRIES)
			log_fatalx("work dir %s is in use by another offerd: "
			    "give each its own -w", c->work_dir);
		usleep(LOCK_WAIT_MS * 1000);
	}
	/* held, open, until offerd ends */
}

/*
 * Make M ready to serve as C says: work dir, durable state, the hub, the
 * credentials, the allocator.  A failure is logged and exits 111.
 */
static void
setup(struct master *m, const struct config *c)
{
	char errbuf[256];

	memset(m, 0, sizeof(*m));
	m->conf = c;
	m->agents = map_create();
	m->frameworks = map_create();
	m->offers = map_create();
	m->tasks = map_create();
	m->executors = map_create();
	m->departing = map_create();
	m->pending = map_create();
	shared_init(m);
	m->history_fd = -1;
	/* its files are offerd's user's only (separated: priv.c made it) */
	umask(077);
	if (mkdir(c->work_dir, 0700) == -1 && errno != EEXIST)
		log_fatal("work dir %s", c->work_dir);
	work_dir_lock(c);
	if (state_load(m, c->work_dir) == -1)
		log_fatalx("cannot read the durable state in %s", c->work_dir);
	control_weights_init(m);
	if ((m->hub = net_open(NET_HUB, c->listen_ep, errbuf)) == NULL)
		log_fatalx("%s", errbuf);
	if (master_keys_load(m) == -1)
		log_fatalx("no credentials: stopping (--insecure runs without)");
	if (master_acl_load(m) == -1)
		log_fatalx("a bad ACL file: stopping");
	if (alloc_start(m) == -1)
		log_fatalx("no allocator: stopping");
	/* separated, this is the serving child: it binds the port */
	stats_init(m);
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
		log_info("SIGHUP: writing the durable state%s", priv_fd() != -1 ?
		    "; the files come from the parent" :
		    ", reading the files again");
		m->state_dirty = 1;
		state_save(m);
		if (priv_fd() == -1)
			master_files_load(m, -1);
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
	int stop, file;
	struct pollfd pfd[5] = {
		{ .fd = net_fd(m->hub), .events = POLLIN },
		{ .fd = net_fd(m->alloc), .events = POLLIN },
		{ .fd = sigfd, .events = POLLIN },
		{ .fd = priv_fd(), .events = POLLIN },	/* -1: not separated */
		{ .fd = stats_fd(), .events = POLLIN },	/* -1: no --metrics */
	};

	/* a stop ends the loop after this round, lease check included */
	for (stop = 0; !stop;) {
		wait = net_pending(m->hub) ? 0 : next_tick - now_ms();
		/* records the allocator could not take yet: again soon */
		if (net_unsent(m->alloc) && wait > NET_UNSENT_MS)
			wait = NET_UNSENT_MS;
		if (poll(pfd, 5, wait > 0 ? (int)wait : 0) == -1 &&
		    errno != EINTR)
			log_fatal("poll");
		stop = signals(m);
		if (pfd[3].revents != 0 && (file = priv_recv()) == -1) {
			log_warnx("the parent is gone: stopping");
			pfd[3].fd = -1;
			stop = 1;
		} else if (pfd[3].revents != 0)
			master_files_load(m, file);
		alloc_restart(m);
		/* under cluster-elect(8): act only while the lease holds */
		if (elect_lease_expired())
			log_fatalx("lease expired: no longer leader");
		/*
		 * bounded batches so that neither side starves the other;
		 * what the turn sends to one peer goes in one frame
		 */
		net_cork(m->hub);
		master_recv(m);
		alloc_recv(m);
		shared_flush(m);
		if (pfd[4].revents != 0)
			stats_serve(m);
		if (now_ms() >= next_tick) {
			master_tick(m);
			next_tick = now_ms() + TICK_MS;
		}
		net_flush(m->hub);
		net_flush(m->alloc);
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
		/* the ACL file is configuration too: checked, on stderr */
		log_init("offerd", 1, conf.verbose);
		memset(&m, 0, sizeof(m));
		m.conf = &conf;
		if (master_acl_path(&conf) == -1 || master_acl_load(&m) == -1)
			return EXIT_SYSTEM;
		printf("offerd: configuration ok (listen %s, %zu ACL rules)\n",
		    conf.listen_ep, acl_count(m.acl));
		acl_free(m.acl);
		return 0;
	}
	log_init("offerd", conf.foreground, conf.verbose);
	if (master_keys_path(&conf) == -1)
		log_fatalx("no credentials: stopping (--insecure runs without)");
	if (master_acl_path(&conf) == -1)
		log_fatalx("a bad ACL file: stopping");
	registry_config(&conf);
	/* as root: from here on, a root parent and this, dropped (priv.c) */
	pfh = priv_start(&conf, pidfile_take(conf.pidpath));
	setup(&m, &conf);
	if (pfh != NULL)
		pidfile_write(pfh);
	if ((sigfd = sig_init((int[]){ SIGTERM, SIGINT, SIGCHLD, SIGHUP },
	    4)) == -1)
		log_fatal("signals");
	/* an allocator that died before the handler was set sent no signal */
	alloc_reap(&m);
	log_info("listening on %s", conf.listen_ep);
	if (!conf.foreground)
		log_warnx("serving on %s", conf.listen_ep);
	serve(&m, sigfd);
	log_info("stopping");
	alloc_stop(&m);
	stats_stop();
	/* no longer elected: the registry is the successor's now */
	if (!elect_lease_expired())
		state_save(&m);
	net_close(m.hub);
	acl_free(m.acl);
	if (pfh != NULL)
		pidfile_remove(pfh);
	return 0;
}
