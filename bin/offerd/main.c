/*
 * offerd: the master of the cluster.  See offerd(8).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/libutil.h>

#include "elect.h"
#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "rec.h"
#include "sig.h"
#include "util.h"

#define TICK_MS		100

extern char **environ;


static void
usage(FILE *fp)
{
	fprintf(fp, "usage: offerd [-dnv] [-a endpoint] [-A program] "
	    "[-F timeout] [-l endpoint]\n"
	    "              [-o timeout] [-p pidfile] [-r duration] "
	    "[-R timeout] [-t timeout]\n"
	    "              [-T timeout] [-w work-dir] [-W role=weight]\n");
}

/* Parse a duration option or exit with status 100. */
/* Start the allocator PROG listening on ENDPOINT; returns its pid or -1. */
static pid_t
spawn_allocator(const char *prog, const char *endpoint, int fg, int verbose,
    char **weights, int nweights)
{
	char *argv[64], parent[32];
	int argc = 0, i, e;
	pid_t pid;

	argv[argc++] = (char *)prog;
	if (fg)
		argv[argc++] = "-d";
	for (i = 0; i < verbose && i < 3; i++)
		argv[argc++] = "-v";
	argv[argc++] = "-l";
	argv[argc++] = (char *)endpoint;
	for (i = 0; i < nweights && argc < 60; i++) {
		argv[argc++] = "-w";
		argv[argc++] = weights[i];
	}
	argv[argc] = NULL;
	/* the allocator ends with us (see drf-alloc(8)) */
	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	setenv("CLUSTER_ALLOC_PARENT", parent, 1);
	e = posix_spawnp(&pid, prog, NULL, NULL, argv, environ);
	unsetenv("CLUSTER_ALLOC_PARENT");
	if ((errno = e) != 0) {
		log_warn("cannot start allocator %s", prog);
		return -1;
	}
	log_info("allocator %s started (pid %d) on %s", prog, (int)pid, endpoint);
	return pid;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "allocator", required_argument, NULL, 'a' },
		{ "allocator-program", required_argument, NULL, 'A' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "framework-timeout", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'H' },
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
	struct master m;
	const char *listen_ep = NULL, *alloc_ep = NULL, *pidpath = NULL;
	char alloc_prog[PATH_MAX], alloc_own[PATH_MAX + 16], errbuf[256];
	char workdir[PATH_MAX], *weights[32];
	int ch, fg = 0, verbose = 0, check = 0, nweights = 0, sigfd, stop = 0;
	pid_t alloc_pid = -1;
	int64_t next_tick, alloc_restart_at = 0;
	struct pidfh *pfh = NULL;

	memset(&m, 0, sizeof(m));
	m.offer_timeout_ms = 60000;
	m.agent_timeout_ms = 15000;
	m.framework_timeout_ms = 15000;
	m.refuse_ms = 5000;
	m.keep_done_ms = 3600 * 1000;
	m.keep_done_max = 10000;
	m.removal_ms = 600 * 1000;
	m.recovery_ms = 60 * 1000;
	/* the drf-alloc beside this program, else the one on PATH */
	sibling_program("drf-alloc", "drf-alloc", alloc_prog, sizeof(alloc_prog));
	snprintf(workdir, sizeof(workdir), "%s",
	    getuid() == 0 ? "/var/lib/offerd" : "/tmp/offerd");
	while ((ch = getopt_long(argc, argv, "a:A:dF:l:no:p:r:R:t:T:vw:W:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			alloc_ep = optarg;
			break;
		case 'A':
			strlcpy(alloc_prog, optarg, sizeof(alloc_prog));
			break;
		case 'd':
			fg = 1;
			break;
		case 'F':
			m.framework_timeout_ms = duration_arg("framework timeout",
			    optarg);
			if (m.framework_timeout_ms < 2000)
				errx(100, "framework timeout must be at least 2s "
				    "(schedulers heartbeat every second)");
			break;
		case 'H':
			usage(stdout);
			return 0;
		case 'l':
			listen_ep = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'o':
			m.offer_timeout_ms = duration_arg("offer timeout", optarg);
			break;
		case 'p':
			pidpath = optarg;
			break;
		case 'r':
			m.refuse_ms = duration_arg("refuse time", optarg);
			break;
		case 'R':
			m.recovery_ms = duration_arg("recovery timeout", optarg);
			break;
		case 'T':
			m.removal_ms = duration_arg("removal timeout", optarg);
			break;
		case 't':
			m.agent_timeout_ms = duration_arg_min("agent timeout", optarg,
			    100);
			break;
		case 'v':
			verbose++;
			break;
		case 'w':
			strlcpy(workdir, optarg, sizeof(workdir));
			break;
		case 'W': {
			char *eq = strchr(optarg, '=');
			char *end;
			double w;

			if (eq == NULL || eq == optarg || eq - optarg > 63)
				errx(100, "weight '%s': want role=weight", optarg);
			*eq = '\0';
			if (!id_valid(optarg) && strcmp(optarg, "*") != 0)
				errx(100, "weight: '%s' is not a role name", optarg);
			*eq = '=';
			w = strtod(eq + 1, &end);
			if (*end != '\0' || end == eq + 1 || !(w > 0) || w > 1e6)
				errx(100, "weight '%s': want a number > 0", optarg);
			if (nweights == 32)
				errx(100, "too many -W options");
			weights[nweights++] = optarg;
			break;
		}
		default:
			usage(stderr);
			return 100;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 100;
	}
	listen_ep = master_endpoint(listen_ep);
	if (strncmp(listen_ep, "zk://", 5) == 0 ||
	    strncmp(listen_ep, "lock://", 7) == 0)
		errx(100, "%s is an election address, not one to listen on: "
		    "give -l", listen_ep);
	if (check) {
		printf("offerd: configuration ok (listen %s)\n", listen_ep);
		return 0;
	}
	log_init("offerd", fg, verbose);
	if (mkdir(workdir, 0750) == -1 && errno != EEXIST)
		err(111, "work dir %s", workdir);
	pfh = pidfile_take(pidpath);
	if (state_load(&m, workdir) == -1)
		errx(111, "cannot read the durable state in %s", workdir);
	if ((m.hub = net_open(NET_HUB, listen_ep, errbuf)) == NULL)
		errx(111, "%s", errbuf);
	if (alloc_ep == NULL) {
		snprintf(alloc_own, sizeof(alloc_own), "ipc://%s/alloc.ipc", workdir);
		alloc_pid = spawn_allocator(alloc_prog, alloc_own, fg, verbose,
		    weights, nweights);
		if (alloc_pid == -1)
			errx(111, "cannot start the allocator '%s'", alloc_prog);
	}
	if ((m.alloc = net_open(NET_PAIR_CONNECT, alloc_ep ? alloc_ep : alloc_own,
	    errbuf)) == NULL)
		errx(111, "allocator: %s", errbuf);
	if (pfh != NULL)
		pidfile_write(pfh);
	/* also for an allocator we did not start (-a) */
	for (ch = 0; ch < nweights; ch++) {
		char role[64];
		const char *eq = strchr(weights[ch], '=');
		json_t *w;

		snprintf(role, sizeof(role), "%.*s", (int)(eq - weights[ch]),
		    weights[ch]);
		w = json_pack("{s:s,s:s,s:f}", "type", A_WEIGHT, "role", role,
		    "weight", strtod(eq + 1, NULL));
		master_alloc_send(&m, w);
	}
	m.agents = map_create();
	m.frameworks = map_create();
	m.offers = map_create();
	m.tasks = map_create();
	m.pending = map_create();
	if ((sigfd = sig_init((int[]){ SIGTERM, SIGINT, SIGCHLD, SIGHUP },
	    4)) == -1)
		err(111, "signals");
	log_info("listening on %s", listen_ep);
	if (!fg)
		log_warnx("serving on %s", listen_ep);

	next_tick = now_ms() + TICK_MS;
	while (!stop) {
		struct pollfd pfd[3] = {
			{ .fd = net_fd(m.hub), .events = POLLIN },
			{ .fd = net_fd(m.alloc), .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
		};
		int64_t wait = next_tick - now_ms();
		struct net_route from;
		json_t *rec;
		int n, r;

		if (poll(pfd, 3, wait > 0 ? (int)wait : 0) == -1 && errno != EINTR)
			log_fatal("poll");
		sig_drain();
		if (sig_take(SIGTERM) || sig_take(SIGINT))
			stop = 1;
		if (sig_take(SIGHUP)) {
			/* everything else is set on the command line */
			log_info("SIGHUP: writing the durable state");
			m.state_dirty = 1;
			state_save(&m);
		}
		if (sig_take(SIGCHLD)) {
			pid_t p;
			int status;

			while ((p = waitpid(-1, &status, WNOHANG)) > 0)
				if (p == alloc_pid) {
					log_warnx("allocator exited (status %d); "
					    "restarting it", status);
					alloc_pid = -1;
					alloc_restart_at = now_ms() + 500;
				}
		}
		if (alloc_pid == -1 && alloc_ep == NULL && alloc_restart_at &&
		    now_ms() >= alloc_restart_at) {
			alloc_restart_at = 0;
			alloc_pid = spawn_allocator(alloc_prog, alloc_own, fg,
			    verbose, weights, nweights);
			if (alloc_pid == -1)
				alloc_restart_at = now_ms() + 5000;
			else
				master_alloc_replay(&m);
		}
		/* under cluster-elect(8): act only while the lease holds */
		if (elect_lease_expired())
			log_fatalx("lease expired: no longer leader");
		/* bounded batches so that neither side starves the other */
		for (n = 0; n < 4096; n++) {
			r = net_recv(m.hub, &rec, &from, errbuf);
			if (r == 0)
				break;
			if (r == -2) {
				log_warnx("%s", errbuf);
				break;
			}
			if (r == -1) {
				json_t *e = rec_error(NULL, E_MALFORMED, "bad record: %s", errbuf);

				log_info("bad record from a peer: %s", errbuf);
				net_send(m.hub, &from, e);
				json_decref(e);
				continue;
			}
			master_handle(&m, rec, &from);
			json_decref(rec);
		}
		for (n = 0; n < 4096; n++) {
			r = net_recv(m.alloc, &rec, NULL, errbuf);
			if (r == 0)
				break;
			if (r < 0) {
				log_warnx("allocator sent a bad record: %s", errbuf);
				continue;
			}
			master_alloc_handle(&m, rec);
			json_decref(rec);
		}
		if (now_ms() >= next_tick) {
			master_tick(&m);
			next_tick = now_ms() + TICK_MS;
		}
	}
	log_info("stopping");
	if (alloc_pid > 0) {
		kill(alloc_pid, SIGTERM);
		waitpid(alloc_pid, NULL, 0);
	}
	state_save(&m);
	net_close(m.hub);
	net_close(m.alloc);
	if (pfh != NULL)
		pidfile_remove(pfh);
	return 0;
}
