/*
 * agentd: the worker of one machine.  See agentd(8).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/libutil.h>

#include "agentd.h"
#include "elect.h"
#include "emulate.h"
#include "log.h"
#include "rec.h"
#include "res.h"
#include "sig.h"
#include "util.h"

#define TICK_MS		100
#define STOP_ACK_MS	3000	/* after the grace, to see the last updates through */
#define LOCK_TRIES	30	/* x 100 ms waiting for the work dir's lock */


static void
usage(FILE *fp)
{
	fprintf(fp, "usage: agentd [-dkv] [-a attributes] [-E count] [-g grace] "
	    "[-h hostname] [-H interval]\n"
	    "              [-L launcher] [-m master] [-p pidfile] "
	    "[-r resources] [-u retry]\n"
	    "              [-w work-dir]\n");
}

/*
 * What this machine offers when -r is not given: every cpu, the memory
 * less what the system needs (1 GB or half, whichever is less) and the
 * work dir's free disk less a like reserve.
 */
static void
detect_resources(const char *work_dir, char *buf, size_t len)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long long mem = (long long)sysconf(_SC_PHYS_PAGES) *
	    sysconf(_SC_PAGESIZE) / (1024 * 1024);
	long long disk = 0;
	struct statvfs sv;

	if (statvfs(work_dir, &sv) == 0)
		disk = (long long)sv.f_bavail * sv.f_frsize / (1024 * 1024);
	mem -= mem / 2 < 1024 ? mem / 2 : 1024;
	disk -= disk / 2 < 5120 ? disk / 2 : 5120;
	snprintf(buf, len, "cpus:%ld;mem:%lld;disk:%lld", cpus > 0 ? cpus : 1,
	    mem, disk);
}

/*
 * Ask the launcher which isolators this machine has ("LAUNCHER --probe",
 * lines "name<TAB>available|missing<TAB>detail"); NULL when it can't say.
 */
static json_t *
probe_isolators(const char *launcher)
{
	char cmd[PATH_MAX + 32], line[512];
	json_t *list;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' --probe 2>/dev/null", launcher);
	if (strchr(launcher, '\'') != NULL || (p = popen(cmd, "r")) == NULL)
		return NULL;
	list = json_array();
	while (fgets(line, sizeof(line), p) != NULL) {
		char *name = strtok(line, "\t\n"), *st = strtok(NULL, "\t\n");

		if (name != NULL && st != NULL && strcmp(st, "available") == 0)
			json_array_append_new(list, json_string(name));
	}
	if (pclose(p) != 0 || json_array_size(list) == 0) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/*
 * Take the work dir: lock it against a second agent and recall the agent
 * id an earlier run of this agent had.
 */
static void
work_dir_open(struct agent *ag)
{
	char path[PATH_MAX + 16];
	FILE *fp;
	int fd, tries;

	if (mkdir(ag->work_dir, 0750) == -1 && errno != EEXIST)
		err(111, "work dir %s", ag->work_dir);
	snprintf(path, sizeof(path), "%s/lock", ag->work_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1)
		err(111, "%s", path);
	/* a killed predecessor may take a moment to let go of it */
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; tries++) {
		if (tries == LOCK_TRIES)
			errx(111, "work dir %s is in use by another agentd",
			    ag->work_dir);
		usleep(100000);
	}
	snprintf(path, sizeof(path), "%s/agent_id", ag->work_dir);
	if ((fp = fopen(path, "r")) != NULL) {
		char id[ID_LEN];

		if (fgets(id, sizeof(id), fp) != NULL) {
			id[strcspn(id, "\n")] = '\0';
			if (id_valid(id))
				strlcpy(ag->id, id, sizeof(ag->id));
		}
		fclose(fp);
	}
}

/* Remember the agent id in the work dir (write, then rename). */
static void
work_dir_save_id(struct agent *ag)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 16];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/agent_id", ag->work_dir);
	snprintf(tmp, sizeof(tmp), "%s/agent_id.tmp", ag->work_dir);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("%s", tmp);
		return;
	}
	fprintf(fp, "%s\n", ag->id);
	if (fclose(fp) == EOF || rename(tmp, path) == -1)
		log_warn("%s", path);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "attributes", required_argument, NULL, 'a' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "emulate", required_argument, NULL, 'E' },
		{ "grace", required_argument, NULL, 'g' },
		{ "hostname", required_argument, NULL, 'h' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'X' },
		{ "kill-on-exit", no_argument, NULL, 'k' },
		{ "launcher", required_argument, NULL, 'L' },
		{ "master", required_argument, NULL, 'm' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "resources", required_argument, NULL, 'r' },
		{ "update-retry", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "work-dir", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct agent ag;
	const char *master = NULL, *pidpath = NULL, *resources = NULL;
	char err_[256], saved_id[ID_LEN] = "", ep[ELECT_ENDPOINT_MAX];
	struct elect_follow *follow;
	int ch, fg = 0, verbose = 0, kill_on_exit = 0, emulate = 0, sigfd, stop = 0;
	struct pidfh *pfh = NULL;
	struct res check;
	int64_t next_tick;

	memset(&ag, 0, sizeof(ag));
	ag.grace_ms = 3000;
	ag.heartbeat_ms = 1000;
	ag.retry_ms = 10000;
	gethostname(ag.hostname, sizeof(ag.hostname) - 1);
	/* the task-launch beside this program, else the installed one */
	sibling_program("task-launch", "/usr/local/bin/task-launch", ag.launcher,
	    sizeof(ag.launcher));
	snprintf(ag.work_dir, sizeof(ag.work_dir), "%s",
	    getuid() == 0 ? "/var/lib/agentd" : "/tmp/agentd");
	while ((ch = getopt_long(argc, argv, "a:dE:g:h:H:kL:m:p:r:u:vw:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (attr_check(optarg, err_) == -1)
				errx(100, "attributes '%s': %s", optarg, err_);
			strlcpy(ag.attributes, optarg, sizeof(ag.attributes));
			break;
		case 'd':
			fg = 1;
			break;
		case 'E': {
			const char *errstr;

			emulate = (int)strtonum(optarg, 1, EMULATE_MAX, &errstr);
			if (errstr != NULL)
				errx(100, "emulate '%s': %s", optarg, errstr);
			break;
		}
		case 'g':
			ag.grace_ms = duration_arg("grace", optarg);
			break;
		case 'h':
			strlcpy(ag.hostname, optarg, sizeof(ag.hostname));
			break;
		case 'H':
			ag.heartbeat_ms = duration_arg_min("heartbeat", optarg, 10);
			break;
		case 'k':
			kill_on_exit = 1;
			break;
		case 'L':
			if (access(optarg, X_OK) == -1)
				err(100, "launcher %s", optarg);
			strlcpy(ag.launcher, optarg, sizeof(ag.launcher));
			break;
		case 'm':
			master = optarg;
			break;
		case 'p':
			pidpath = optarg;
			break;
		case 'r':
			resources = optarg;
			break;
		case 'u':
			ag.retry_ms = duration_arg_min("update retry", optarg, 10);
			break;
		case 'v':
			verbose++;
			break;
		case 'w':
			strlcpy(ag.work_dir, optarg, sizeof(ag.work_dir));
			break;
		case 'X':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 100;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 100;
	}
	if (resources != NULL) {
		if (res_parse(resources, &check, err_) == -1)
			errx(100, "resources '%s': %s", resources, err_);
		res_format(&check, ag.resources, sizeof(ag.resources));
		res_free(&check);
	}
	log_init("agentd", fg, verbose);
	if (emulate > 0)
		return emulate_run(&ag, emulate, master_endpoint(master),
		    pidpath);
	work_dir_open(&ag);
	strlcpy(saved_id, ag.id, sizeof(saved_id));
	if (resources == NULL)
		detect_resources(ag.work_dir, ag.resources, sizeof(ag.resources));
	pfh = pidfile_take(pidpath);
	ag.isolators = probe_isolators(ag.launcher);
	/*
	 * What the machine has, every task gets and requires: never less
	 * isolation than advertised, and the launcher need not probe again.
	 * A network namespace is each task's own choice.
	 */
	if (ag.isolators != NULL) {
		size_t i;
		json_t *v;

		json_array_foreach(ag.isolators, i, v) {
			if (strcmp(json_string_value(v), "net") == 0)
				continue;
			if (ag.require[0] != '\0')
				strlcat(ag.require, ",", sizeof(ag.require));
			strlcat(ag.require, json_string_value(v), sizeof(ag.require));
		}
	}
	master = master_endpoint(master);
	if ((follow = elect_follow_create(master, err_)) == NULL)
		errx(100, "master %s: %s", master, err_);
	/* a master named by its election: wait for its first leader */
	while (elect_follow_poll(follow, ep, sizeof(ep)) != 1)
		usleep(100000);
	if ((ag.net = net_open(NET_PEER, ep, err_)) == NULL)
		errx(111, "%s", err_);
	if ((ag.tasks = map_create()) == NULL)
		err(111, "map");
	LIST_INIT(&ag.dirty);
	agent_recover(&ag);
	if (pfh != NULL)
		pidfile_write(pfh);
	if ((sigfd = sig_init((int[]){ SIGTERM, SIGINT, SIGCHLD }, 3)) == -1)
		err(111, "signals");
	signal(SIGHUP, SIG_IGN);
	log_info("agent on %s offering %s to %s", ag.hostname, ag.resources, master);

	next_tick = 0;
	while (!stop) {
		struct pollfd pfd[3] = {
			{ .fd = net_fd(ag.net), .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = launch_server_fd(), .events = POLLIN },
		};
		int64_t wait = next_tick - now_ms();
		json_t *rec;
		int n, r;

		if (poll(pfd, 3, wait > 0 ? (int)wait : 0) == -1 && errno != EINTR)
			log_fatal("poll");
		sig_drain();
		if (sig_take(SIGTERM))
			stop = SIGTERM;
		else if (sig_take(SIGINT))
			stop = SIGINT;
		if (sig_take(SIGCHLD)) {
			pid_t p;
			int status;

			while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
				launch_server_reaped(&ag, p);
				agent_reaped(&ag, p, status);
			}
		}
		launch_server_read(&ag);
		for (n = 0; n < 4096; n++) {
			r = net_recv(ag.net, &rec, NULL, err_);
			if (r == 0)
				break;
			if (r < 0) {
				log_warnx("from master: %s", err_);
				if (r == -2)
					break;
				continue;
			}
			agent_handle(&ag, rec);
			json_decref(rec);
		}
		if (ag.registered && strcmp(saved_id, ag.id) != 0) {
			work_dir_save_id(&ag);
			strlcpy(saved_id, ag.id, sizeof(saved_id));
		}
		if (elect_follow_poll(follow, ep, sizeof(ep)) == 1) {
			/* a new leader: register with it, tasks and all */
			struct net *nn = net_open(NET_PEER, ep, err_);

			if (nn == NULL)
				log_warnx("new leader %s: %s", ep, err_);
			else {
				log_info("the master moved to %s", ep);
				net_close(ag.net);
				ag.net = nn;
				ag.registered = 0;
				ag.next_register = 0;
			}
		}
		if (now_ms() >= next_tick) {
			agent_tick(&ag);
			next_tick = now_ms() + TICK_MS;
		}
		agent_flush(&ag);
	}
	log_info("stopping (signal %d)%s", stop,
	    kill_on_exit ? ": killing tasks" : "");
	if (kill_on_exit) {
		int64_t until;

		agent_kill_all(&ag);
		/*
		 * Give the launchers their grace, then stay until the master
		 * has acknowledged how each task ended (bounded).
		 */
		until = now_ms() + ag.grace_ms + STOP_ACK_MS;
		while (now_ms() < until && !agent_quiet(&ag)) {
			json_t *rec;
			pid_t p;
			int status;

			while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
				launch_server_reaped(&ag, p);
				agent_reaped(&ag, p, status);
			}
			launch_server_read(&ag);
			net_wait(ag.net, 50);
			while (net_recv(ag.net, &rec, NULL, err_) == 1) {
				agent_handle(&ag, rec);
				json_decref(rec);
			}
			agent_tick(&ag);
			agent_flush(&ag);
		}
	}
	launch_server_close(&ag);
	net_close(ag.net);
	elect_follow_destroy(follow);
	if (pfh != NULL)
		pidfile_remove(pfh);
	return 0;
}
