/*
 * agentd: the worker of one machine.  See agentd(8).  main() is a
 * config (the command line), a setup (work dir, launcher, master,
 * signals) and the event loop; a start-up failure goes through the log
 * module (syslog unless -d), with the exit statuses of agentd(8).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/libutil.h>

#include "agentd.h"
#include "elect.h"
#include "exits.h"
#include "log.h"
#include "rec.h"
#include "res.h"
#include "sig.h"
#include "util.h"

#define TICK_MS		100
#define STOP_ACK_MS	3000	/* after the grace, to see the last updates through */
#define STOP_POLL_MS	50
#define LEAVE_WAIT_MS	1000	/* for the master to take our goodbye */
#define LEAVE_RESEND_MS	200
#define LOCK_TRIES	30	/* x 100 ms waiting for the work dir's lock */
#define LEADER_POLL_US	100000
#define TIMER_BATCH	4096
#define REGISTER_RETRY_MS 1000
#define HEARTBEAT_MIN_MS 10
#define RETRY_MIN_MS	10

/* What the command line says. */
struct config {
	const char	*master, *pidpath, *resources;
	const char	*attributes, *grace, *heartbeat, *retry, *launcher;
	const char	*credential;	/* -C */
	const char	*metrics;	/* --metrics */
	const char	*exec_timeout;	/* --executor-timeout */
	const char	*task_user;	/* -U */
	int		 fg, verbose, kill_on_exit, allow_root;
};

/* What the loop needs besides the agent. */
struct daemon {
	struct agentd	 ag;
	struct config	 c;
	struct elect_follow *follow;
	struct pidfh	*pfh;
	char		 saved_id[AGENT_ID_LEN];
	int		 sigfd;
	int64_t		 next_tick;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: agentd [-dkv] [-a attributes] [-C credential] "
	    "[-g grace] [-H interval]\n"
	    "              [-m master] [-N hostname] [-p pidfile] "
	    "[-R resources] [-U user]\n"
	    "              [-w work-dir] [--allow-root-tasks] "
	    "[--executor-timeout=timeout]\n"
	    "              [--launcher=program] [--metrics=address:port] "
	    "[--update-retry=retry]\n");
}

/* Log a start-up failure and exit with STATUS (agentd(8), EXIT STATUS). */
static void __attribute__((format(printf, 2, 3), noreturn))
die(int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
	exit(status);
}

/* The duration option NAME given as ARG, at least MIN_MS; else exit 100. */
static int64_t
duration_opt(const char *name, const char *arg, int64_t min_ms)
{
	const char *errstr;
	int64_t ms;

	if (duration_parse(arg, &ms, &errstr) == -1)
		die(EXIT_USAGE, "%s '%s': %s", name, arg, errstr);
	if (ms < min_ms)
		die(EXIT_USAGE, "%s must be at least %lldms", name,
		    (long long)min_ms);
	return ms;
}

/*
 * What this machine offers when -R is not given: every cpu, the memory
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
 * What the machine has, every task gets and requires: never less
 * isolation than advertised, and the launcher need not probe again.  A
 * network namespace is each task's own choice.
 */
static void
isolators_setup(struct agentd *ag)
{
	size_t i;
	json_t *v;

	if ((ag->isolators = probe_isolators(ag->launcher)) == NULL)
		return;
	json_array_foreach(ag->isolators, i, v) {
		if (strcmp(json_string_value(v), "net") == 0)
			continue;
		if (ag->require[0] != '\0')
			strlcat(ag->require, ",", sizeof(ag->require));
		strlcat(ag->require, json_string_value(v), sizeof(ag->require));
	}
}

/*
 * Take the work dir: lock it against a second agent and recall into ID
 * the agent id an earlier run of this agent had.
 */
static void
work_dir_open(struct agentd *ag, char *id, size_t idlen)
{
	char path[PATH_MAX + 16], buf[AGENT_ID_LEN];
	FILE *fp;
	int fd, tries;

	if (mkdir(ag->work_dir, 0750) == -1 && errno != EEXIST)
		log_fatal("work dir %s", ag->work_dir);
	if (realpath(ag->work_dir, ag->work_real) == NULL)
		log_fatal("work dir %s", ag->work_dir);
	snprintf(path, sizeof(path), "%s/lock", ag->work_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1)
		log_fatal("%s", path);
	/* a killed predecessor may take a moment to let go of it */
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; tries++) {
		if (tries == LOCK_TRIES)
			log_fatalx("work dir %s is in use by another agentd",
			    ag->work_dir);
		usleep(100000);
	}
	snprintf(path, sizeof(path), "%s/agent_id", ag->work_dir);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), fp) != NULL) {
			buf[strcspn(buf, "\n")] = '\0';
			if (id_valid(buf))
				strlcpy(id, buf, idlen);
		}
		fclose(fp);
	}
}

/* Remember the agent id in the work dir (write, then rename). */
static void
work_dir_save_id(struct agentd *ag, const char *id)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 16];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/agent_id", ag->work_dir);
	snprintf(tmp, sizeof(tmp), "%s/agent_id.tmp", ag->work_dir);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("%s", tmp);
		return;
	}
	fprintf(fp, "%s\n", id);
	if (fclose(fp) == EOF || rename(tmp, path) == -1)
		log_warn("%s", path);
}

/*
 * Read the command line into D: the config and the agent's settings.
 * Values are checked later, by config_check, once logging is set up.
 */
static void
config_parse(struct daemon *d, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "allow-root-tasks", no_argument, NULL, 'A' },
		{ "attributes", required_argument, NULL, 'a' },
		{ "credential", required_argument, NULL, 'C' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "grace", required_argument, NULL, 'g' },
		{ "hostname", required_argument, NULL, 'N' },
		{ "heartbeat", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'X' },
		{ "kill-on-exit", no_argument, NULL, 'k' },
		{ "launcher", required_argument, NULL, 'L' },
		{ "master", required_argument, NULL, 'm' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "resources", required_argument, NULL, 'R' },
		{ "task-user", required_argument, NULL, 'U' },
		{ "update-retry", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "work-dir", required_argument, NULL, 'w' },
		{ "executor-timeout", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 }
	};
	struct agentd *ag = &d->ag;
	struct config *c = &d->c;
	int ch;

	gethostname(ag->hostname, sizeof(ag->hostname) - 1);
	/* the task-launch beside this program, else the installed one */
	sibling_program("task-launch", "/usr/local/bin/task-launch", ag->launcher,
	    sizeof(ag->launcher));
	snprintf(ag->work_dir, sizeof(ag->work_dir), "%s",
	    getuid() == 0 ? "/var/lib/agentd" : "/tmp/agentd");
	while ((ch = getopt_long(argc, argv, "a:C:dg:H:km:N:p:R:U:vw:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			c->allow_root = 1;
			break;
		case 'a':
			c->attributes = optarg;
			break;
		case 'C':
			c->credential = optarg;
			break;
		case 'd':
			c->fg = 1;
			break;
		case 'g':
			c->grace = optarg;
			break;
		case 'N':
			strlcpy(ag->hostname, optarg, sizeof(ag->hostname));
			break;
		case 'H':
			c->heartbeat = optarg;
			break;
		case 'k':
			c->kill_on_exit = 1;
			break;
		case 'L':
			c->launcher = optarg;
			strlcpy(ag->launcher, optarg, sizeof(ag->launcher));
			break;
		case 'M':
			c->metrics = optarg;
			break;
		case 'm':
			c->master = optarg;
			break;
		case 'p':
			c->pidpath = optarg;
			break;
		case 'R':
			c->resources = optarg;
			break;
		case 'U':
			c->task_user = optarg;
			break;
		case 'u':
			c->retry = optarg;
			break;
		case 'v':
			c->verbose++;
			break;
		case 'w':
			strlcpy(ag->work_dir, optarg, sizeof(ag->work_dir));
			break;
		case 'x':
			c->exec_timeout = optarg;
			break;
		case 'V':
			version_exit("agentd");
		case 'X':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(EXIT_USAGE);
	}
}

/*
 * Warn when R (-r) promises more cpus or memory than this machine has:
 * the tasks placed on the promise would starve or be killed.
 */
static void
resources_warn(const struct res *r)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long long mem = (long long)sysconf(_SC_PHYS_PAGES) *
	    sysconf(_SC_PAGESIZE) / (1024 * 1024);

	struct res flat;

	/* reserved or not, they are this machine's */
	if (res_collapse(r, &flat) == -1)
		return;
	r = &flat;
	if (cpus > 0 && res_get(r, "cpus") > (int64_t)cpus * 1000)
		log_warnx("-R offers cpus:%g but this machine has %ld: tasks "
		    "placed on them will compete for the processors",
		    res_get(r, "cpus") / 1000.0, cpus);
	if (mem > 0 && res_get(r, "mem") > mem * 1000)
		log_warnx("-R offers mem:%.0f but this machine has %lld MB: tasks "
		    "placed on it may be killed for memory",
		    res_get(r, "mem") / 1000.0, mem);
	res_free(&flat);
}

/* Check the option values of D's config; a bad one exits 100. */
static void
config_check(struct daemon *d, struct agent_conf *conf)
{
	struct agentd *ag = &d->ag;
	struct config *c = &d->c;
	char err[256];
	struct res check;

	if (c->attributes != NULL) {
		if (attr_check(c->attributes, err) == -1)
			die(EXIT_USAGE, "attributes '%s': %s", c->attributes, err);
		strlcpy(ag->attributes, c->attributes, sizeof(ag->attributes));
	}
	if (c->grace != NULL)
		ag->grace_ms = duration_opt("grace", c->grace, 0);
	if (c->heartbeat != NULL)
		conf->heartbeat_ms = duration_opt("heartbeat", c->heartbeat,
		    HEARTBEAT_MIN_MS);
	if (c->retry != NULL)
		conf->retry_ms = duration_opt("update retry", c->retry,
		    RETRY_MIN_MS);
	if (c->exec_timeout != NULL)
		conf->exec_register_ms = duration_opt("executor timeout",
		    c->exec_timeout, RETRY_MIN_MS);
	if (c->launcher != NULL && access(c->launcher, X_OK) == -1)
		die(EXIT_USAGE, "launcher %s: %s", c->launcher, strerror(errno));
	if (c->resources != NULL) {
		if (res_parse(c->resources, &check, err) == -1)
			die(EXIT_USAGE, "resources '%s': %s", c->resources, err);
		res_format(&check, ag->resources, sizeof(ag->resources));
		resources_warn(&check);
		res_free(&check);
	}
	if (user_setup(ag, c->task_user, c->allow_root, err, sizeof(err)) == -1)
		die(EXIT_USAGE, "%s", err);
}

/*
 * Everything before the loop: the work dir and what earlier runs left
 * there, the pid file, the launcher, the master (waiting for the first
 * leader of an election) and the signals.
 */
static void
setup(struct daemon *d, struct agent_conf *conf)
{
	struct agentd *ag = &d->ag;
	char err[256], ep[ELECT_ENDPOINT_MAX];

	work_dir_open(ag, d->saved_id, sizeof(d->saved_id));
	if (d->c.resources == NULL)
		detect_resources(ag->work_dir, ag->resources, sizeof(ag->resources));
	d->pfh = pidfile_take(d->c.pidpath);
	isolators_setup(ag);
	if (launch_init(ag) == -1)
		log_fatal("launcher notice pipe");
	d->c.master = master_endpoint(d->c.master);
	if ((d->follow = elect_follow_create(d->c.master, err)) == NULL)
		die(EXIT_USAGE, "master %s: %s", d->c.master, err);
	/* a master named by its election: wait for its first leader */
	while (elect_follow_poll(d->follow, ep, sizeof(ep)) != 1)
		usleep(LEADER_POLL_US);
	if (agent_cred_setup(d->c.credential, err, sizeof(err)) == -1)
		die(EXIT_USAGE, "credential: %s", err);
	if ((ag->net = net_open(NET_PEER, ep, err)) == NULL)
		log_fatalx("%s", err);
	conf->ops = &task_ops;
	conf->arg = ag;
	conf->timers = &ag->timers;
	conf->register_retry_ms = REGISTER_RETRY_MS;
	conf->verbose = 1;
	conf->exec_grace_ms = ag->grace_ms;
	if ((ag->set = agent_set_create(conf, 1)) == NULL)
		log_fatal("agent");
	strlcpy(ag->set->agents[0].id, d->saved_id, AGENT_ID_LEN);
	if (aexec_open(ag) == -1)
		log_warnx("tasks naming an executor will fail on this agent");
	aexec_recover(ag);
	task_recover(ag);
	stats_init(ag, d->c.metrics);
	aexec_recover_done(ag);
	if (d->pfh != NULL)
		pidfile_write(d->pfh);
	if ((d->sigfd = sig_init((int[]){ SIGTERM, SIGINT, SIGCHLD }, 3)) == -1)
		log_fatal("signals");
	signal(SIGHUP, SIG_IGN);
	agent_set_start(ag->set);
	log_info("agent on %s offering %s to %s", ag->hostname, ag->resources,
	    d->c.master);
}

/* Reap our children: launchers, and the launcher server. */
static void
reap(struct agentd *ag)
{
	pid_t p;
	int status;

	while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
		launch_server_reaped(ag, p);
		task_reaped(ag, p, status);
	}
}

/* A new leader of the master's election: register with it, tasks and all. */
static void
follow_master(struct daemon *d)
{
	struct agentd *ag = &d->ag;
	char err[256], ep[ELECT_ENDPOINT_MAX];
	struct net *nn;

	if (elect_follow_poll(d->follow, ep, sizeof(ep)) != 1)
		return;
	if ((nn = net_open(NET_PEER, ep, err)) == NULL) {
		log_warnx("new leader %s: %s", ep, err);
		return;
	}
	log_info("the master moved to %s", ep);
	net_close(ag->net);
	ag->net = nn;
	agent_reregister(&ag->set->agents[0], 0);
}

/*
 * One turn of the event loop: wait at most until the next timer, tick
 * or launcher deadline (never longer than MAX_MS), then act on whatever
 * is ready.  Returns the stop signal taken, or 0.
 */
static int
turn(struct daemon *d, int64_t max_ms)
{
	struct agentd *ag = &d->ag;
	const char *id = ag->set->agents[0].id;
	struct pollfd pfd[] = {
		{ .fd = net_fd(ag->net), .events = POLLIN },
		{ .fd = d->sigfd, .events = POLLIN },
		{ .fd = launch_server_fd(), .events = POLLIN },
		{ .fd = launch_notify_fd(), .events = POLLIN },
		{ .fd = stats_fd(), .events = POLLIN },	/* -1: no --metrics */
		{ .fd = agent_exec_fd(ag->set), .events = POLLIN },
	};
	int64_t now = now_ms(), wait = d->next_tick - now, w;
	int stop = 0;

	if ((w = timeq_wait(&ag->timers, now)) >= 0 && w < wait)
		wait = w;
	if ((w = launch_wait()) >= 0 && w < wait)
		wait = w;
	if (wait > max_ms)
		wait = max_ms;
	if (net_pending(ag->net) || agent_exec_pending(ag->set))
		wait = 0;
	else if (net_unsent(ag->net) && wait > NET_UNSENT_MS)
		wait = NET_UNSENT_MS;	/* the socket refused a frame */
	if (poll(pfd, sizeof(pfd) / sizeof(*pfd), wait > 0 ? (int)wait : 0) ==
	    -1 && errno != EINTR)
		log_fatal("poll");
	sig_drain();
	if (sig_take(SIGTERM))
		stop = SIGTERM;
	else if (sig_take(SIGINT))
		stop = SIGINT;
	if (sig_take(SIGCHLD))
		reap(ag);
	launch_read(ag);
	/* what this turn sends to the master, or to one executor, is one frame */
	net_cork(ag->net);
	agent_exec_cork(ag->set);
	agent_set_receive(ag->set, ag->net);
	agent_exec_receive(ag->set);
	if (ag->set->agents[0].registered && strcmp(d->saved_id, id) != 0) {
		work_dir_save_id(ag, id);
		strlcpy(d->saved_id, id, sizeof(d->saved_id));
	}
	follow_master(d);
	timeq_run(&ag->timers, now_ms(), TIMER_BATCH);
	if (now_ms() >= d->next_tick) {
		task_tick(ag);
		d->next_tick = now_ms() + TICK_MS;
	}
	agent_set_flush(ag->set);
	net_flush(ag->net);
	agent_exec_uncork(ag->set);
	if (pfd[4].revents != 0)
		stats_serve(ag);
	return stop;
}

/*
 * After a stop with -k: kill every task, give the launchers their grace,
 * then stay until the master has acknowledged how each task ended
 * (bounded).
 */
static void
stop_tasks(struct daemon *d)
{
	int64_t until;

	task_kill_all(&d->ag);
	until = now_ms() + d->ag.grace_ms + STOP_ACK_MS;
	while (now_ms() < until && !agent_set_quiet(d->ag.set)) {
		reap(&d->ag);
		(void)turn(d, STOP_POLL_MS);
	}
}

/*
 * A clean stop says goodbye: the master rescinds our offers and places
 * nothing more here; KILLED: our tasks were killed and reported, so we
 * leave for good, else they stay as they are until we are back.  Waits
 * for the master's word a little, not for ever.
 */
static void
say_goodbye(struct daemon *d, int killed)
{
	int64_t until = now_ms() + LEAVE_WAIT_MS, next = 0;

	while (now_ms() < until && !agent_set_left(d->ag.set)) {
		if (now_ms() >= next) {
			agent_set_leave(d->ag.set, killed);
			next = now_ms() + LEAVE_RESEND_MS;
		}
		(void)turn(d, STOP_POLL_MS);
	}
	if (!agent_set_left(d->ag.set))
		log_warnx("the master did not take our goodbye: it will find "
		    "us gone after its agent timeout");
}

int
main(int argc, char *argv[])
{
	static struct daemon d;
	struct agent_conf conf;
	int stop = 0;

	memset(&conf, 0, sizeof(conf));
	conf.heartbeat_ms = AGENT_HEARTBEAT_MS;
	conf.retry_ms = AGENT_UPDATE_RETRY_MS;
	d.ag.grace_ms = 3000;
	config_parse(&d, argc, argv);
	log_init("agentd", d.c.fg, d.c.verbose);
	config_check(&d, &conf);
	setup(&d, &conf);
	while (!stop)
		stop = turn(&d, INT32_MAX);
	log_info("stopping (signal %d)%s", stop,
	    d.c.kill_on_exit ? ": killing tasks" : "");
	if (d.c.kill_on_exit)
		stop_tasks(&d);
	say_goodbye(&d, d.c.kill_on_exit);
	launch_server_close(&d.ag);
	stats_stop();
	net_close(d.ag.net);
	elect_follow_destroy(d.follow);
	if (d.pfh != NULL)
		pidfile_remove(d.pfh);
	return 0;
}
