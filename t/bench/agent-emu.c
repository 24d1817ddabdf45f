/*
 * agent-emu: many emulated agents in one process, over one socket, for
 * scale tests of the master (t/bench/scale, t/0700-agentd-emulate.bats).
 * A test tool, not installed.  The protocol is agentd's own, lib/agent.c:
 * each agent registers (paced and retried), heartbeats (spread over the
 * interval), takes LAUNCH, KILL and ACKNOWLEDGE, and resends its status
 * updates until acknowledged, in order per task; every record carries
 * the agent_id it is for.  What is emulated is the task: it runs as a
 * timer, goes straight to TASK_RUNNING (there is no exec to wait for),
 * and one whose "duration" field says D seconds ends TASK_FINISHED D
 * seconds after its launch; one without a duration runs until killed.
 *
 *   usage: agent-emu [-dv] [-a pattern] [-H interval] [-m master]
 *                    [-N prefix] [-p pidfile] [-R resources]
 *                    [--update-retry=retry] count
 *
 * Agent i is named PREFIX-i (-N, default "emu") and gets agent id TAG-i,
 * with TAG random per process, so that several emulating processes can
 * serve one master.  Its attributes are the -a pattern with "%{i}"
 * replaced by i, "%{i%K}" by i mod K, "%{i/K}" by i div K and "%%" by
 * '%'.  -r is every agent's resources (default EMU_RESOURCES_DEFAULT),
 * -H the heartbeat interval (1s), -u the first resend of an update (10s).
 * The master (-m, else as every tool finds it) may be named by its
 * election (zk://, lock://, elect.h): the emulator then follows the
 * leader as agentd does, and at a new one logs "the master moved to EP
 * at T" (T: wall-clock ms) and has every agent register again, tasks and
 * all, paced at EMU_REGISTER_RATE.
 * It logs like a daemon (-d: to stderr), "all N agents registered in T
 * ms" once, "all N agents registered again in T ms, at W" after each
 * move, and counts every EMU_REPORT_MS.  Exit status: 0 after
 * SIGTERM or SIGINT, 100 for a usage error, 111 for a system failure or
 * a malformed pattern.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/libutil.h>

#include "agent.h"
#include "elect.h"
#include "log.h"
#include "map.h"
#include "net.h"
#include "proto.h"
#include "rec.h"
#include "res.h"
#include "sig.h"
#include "timeq.h"
#include "util.h"

#define EMU_MAX			100000	/* agents one process may emulate */
#define EMU_RESOURCES_DEFAULT	"cpus:2;mem:2048"
#define EMU_REGISTER_RATE	2000	/* REGISTER_AGENT records per second */
#define EMU_REGISTER_RETRY_MS	3000	/* plus as much again at random */
#define EMU_DURATION_MAX_S	1e7	/* longest task duration, seconds */
#define EMU_QUEUE_MAX		500000	/* records waiting for the socket */
#define EMU_QUEUE_RETRY_MS	2	/* retry of a full socket */
#define EMU_TIMER_BATCH		20000
#define EMU_POLL_MAX_MS		1000
#define EMU_REPORT_MS		10000
#define EMU_ERRORS_LOGGED	10	/* ERROR records logged in full */
#define EMU_LEADER_POLL_US	50000	/* waiting for an election's first leader */

#define CONTAINER(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

struct etask {
	struct agent_task base;		/* first: the protocol's part */
	struct timeq_ent  end;
	struct emu	 *emu;
};

struct emu {
	struct net	 *net;
	struct elect_follow *follow;	/* the master's leader, if elected */
	struct agent_set *set;
	struct timeq	  timers;
	char		  tag[24];	/* "emu-" and 12 hex digits */
	size_t		  taglen;
	const char	 *prefix, *pattern;
	char		  resources[1024];
	int		  all_reported;
	int64_t		  moved;	/* when the master last moved, or 0 */
	struct net_queue  q;		/* records the socket refused */
	int64_t		  started, next_report;
	unsigned long long sent, dropped, launched, finished, killed, errors;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: agent-emu [-dv] [-a pattern] [-H interval] "
	    "[-m master] [-N prefix]\n"
	    "                 [-p pidfile] [-R resources] "
	    "[--update-retry=retry] count\n");
}

/*
 * Expand the attribute pattern PAT for agent I into BUF of LEN bytes
 * (see the top of this file).  Returns 0, or -1 when PAT is malformed.
 */
static int
attr_expand(const char *pat, int i, char *buf, size_t len)
{
	size_t off = 0;
	const char *p;

	for (p = pat; *p != '\0'; p++) {
		char num[32], op = 0, *end;
		long k = 0, v;
		int w;

		if (p[0] == '%' && p[1] == '%') {
			num[0] = '%';
			num[1] = '\0';
			p++;
		} else if (p[0] == '%' && p[1] == '{') {
			if (p[2] != 'i')
				return -1;
			p += 3;
			if (*p == '%' || *p == '/') {
				op = *p++;
				errno = 0;
				k = strtol(p, &end, 10);
				if (errno != 0 || end == p || k <= 0)
					return -1;
				p = end;
			}
			if (*p != '}')
				return -1;
			v = op == '%' ? i % k : op == '/' ? i / k : i;
			snprintf(num, sizeof(num), "%ld", v);
		} else if (p[0] == '%')
			return -1;
		else {
			num[0] = *p;
			num[1] = '\0';
		}
		w = snprintf(buf + off, len - off, "%s", num);
		if (w < 0 || (size_t)w >= len - off)
			return -1;
		off += (size_t)w;
	}
	buf[off] = '\0';
	return 0;
}

/* Send REC now, or after the records already waiting for the socket. */
static int
emu_send(void *arg, const json_t *rec)
{
	struct emu *e = arg;

	/* best effort past the limit, as the transport: what matters is resent */
	switch (net_queue_send(e->net, &e->q, json_incref((json_t *)rec),
	    EMU_QUEUE_MAX)) {
	case 1:
		e->sent++;
		break;
	case -1:
		e->dropped++;
		break;
	}
	return 0;
}

/* The index of the agent named by ID, or -1 when it is none of ours. */
static int
emu_which(void *arg, const char *id)
{
	struct emu *e = arg;
	char *end;
	long i;

	if (id == NULL || strncmp(id, e->tag, e->taglen) != 0 ||
	    id[e->taglen] != '-' || id[e->taglen + 1] < '0' ||
	    id[e->taglen + 1] > '9')
		return -1;
	errno = 0;
	i = strtol(id + e->taglen + 1, &end, 10);
	if (errno != 0 || *end != '\0' || i < 0 || i >= e->set->n)
		return -1;
	return (int)i;
}

/* Agent A is PREFIX-i with the pattern's attributes. */
static void
emu_describe(void *arg, struct agent *a, json_t *r)
{
	struct emu *e = arg;
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s-%d", e->prefix, a->index);
	rec_set_str(r, "hostname", buf);
	rec_set_str(r, "resources", e->resources);
	if (attr_expand(e->pattern, a->index, buf, sizeof(buf)) == 0)
		rec_set_str(r, "attributes", buf);
	rec_set_bool(r, "emulated", 1);
}

/* A LAUNCH: a task, when its duration is a number if there is one. */
static struct agent_task *
emu_task_new(void *arg, struct agent *a, json_t *info)
{
	struct emu *e = arg;
	char err[REC_ERRLEN];
	struct etask *t;

	(void)a;
	if (rec_require(info, "?duration:n", err) == -1) {
		log_warnx("bad LAUNCH: %s", err);
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warnx("out of memory");
		return NULL;
	}
	t->emu = e;
	return &t->base;
}

/* Task T ends in STATE (terminal) for REASON (may be NULL). */
static void
task_end(struct etask *t, const char *state, const char *reason)
{
	struct emu *e = t->emu;
	json_t *extra = json_object();

	timeq_stop(&e->timers, &t->end);
	if (strcmp(state, TASK_FINISHED) == 0) {
		e->finished++;
		rec_set_int(extra, "exit_code", 0);
	} else if (strcmp(state, TASK_KILLED) == 0)
		e->killed++;
	if (reason != NULL)
		rec_set_str(extra, "reason", reason);
	agent_update(&t->base, state, extra);
}

static void
end_fire(struct timeq_ent *te, int64_t now)
{
	(void)now;
	task_end(CONTAINER(te, struct etask, end), TASK_FINISHED, NULL);
}

/* Start T: it runs at once, for its duration if it has one. */
static void
emu_task_start(void *arg, struct agent_task *bt)
{
	struct emu *e = arg;
	struct etask *t = (struct etask *)(void *)bt;
	json_t *dur = json_object_get(bt->info, "duration");
	double d = -1;

	e->launched++;
	t->end.fire = end_fire;
	if (dur != NULL) {
		d = json_number_value(dur);
		if (!(d >= 0) || d > EMU_DURATION_MAX_S) {
			task_end(t, TASK_FAILED, "duration must be a number "
			    "of seconds from 0 to 1e7");
			return;
		}
	}
	agent_update(bt, TASK_RUNNING, NULL);
	/*
	 * The updates carry wall-clock milliseconds, the timer runs on the
	 * monotonic clock: each is cut to whole milliseconds at its own
	 * phase, so one more millisecond keeps FINISHED's stamp at least D
	 * after RUNNING's.
	 */
	if (d >= 0)
		timeq_set(&e->timers, &t->end, now_ms() + 1 +
		    (int64_t)(d * 1000 + 0.5));
}

static void
emu_task_kill(void *arg, struct agent_task *bt)
{
	(void)arg;
	task_end((struct etask *)(void *)bt, TASK_KILLED, "killed on request");
}

static void
emu_task_free(void *arg, struct agent_task *bt)
{
	struct emu *e = arg;

	timeq_stop(&e->timers, &((struct etask *)(void *)bt)->end);
	free(bt);
}

/* ERROR records: the first few in full, then only counted. */
static void
emu_error(void *arg, const json_t *rec)
{
	struct emu *e = arg;

	if (e->errors++ < EMU_ERRORS_LOGGED)
		log_warnx("master says: %s", rec_str(rec, "message") ?
		    rec_str(rec, "message") : "(no message)");
}

static const struct agent_ops emu_ops = {
	.send = emu_send,
	.which = emu_which,
	.describe = emu_describe,
	.task_new = emu_task_new,
	.task_start = emu_task_start,
	.task_kill = emu_task_kill,
	.task_free = emu_task_free,
	.error = emu_error,
};

/* Log progress every EMU_REPORT_MS, and once when all have registered. */
static void
report(struct emu *e, int64_t now)
{
	struct agent_set *s = e->set;

	if (s->nregistered == s->n && !e->all_reported) {
		if (e->moved != 0)
			log_info("emulate: all %d agents registered again in "
			    "%lld ms, at %lld", s->n,
			    (long long)(now - e->moved), (long long)wall_ms());
		else
			log_info("emulate: all %d agents registered in %lld ms",
			    s->n, (long long)(now - e->started));
		e->all_reported = 1;
	} else if (s->nregistered < s->n)
		e->all_reported = 0;
	if (now < e->next_report)
		return;
	e->next_report = now + EMU_REPORT_MS;
	log_info("emulate: %d/%d registered, %zu tasks, %llu launched, "
	    "%llu finished, %llu killed, %llu records sent, %zu queued, "
	    "%llu dropped, %llu errors", s->nregistered, s->n,
	    map_count(s->tasks), e->launched, e->finished, e->killed, e->sent,
	    e->q.len, e->dropped, e->errors);
}

/*
 * A new leader of the master's election: every agent registers with it
 * again, with its tasks, at once; the set's rate limit paces them.  The
 * records the old leader's socket refused go nowhere: what matters is
 * resent to the new one.
 */
static void
follow_master(struct emu *e)
{
	char err[256], ep[ELECT_ENDPOINT_MAX];
	struct net *nn;
	int i;

	if (elect_follow_poll(e->follow, ep, sizeof(ep)) != 1)
		return;
	if ((nn = net_open(NET_PEER, ep, err)) == NULL) {
		log_warnx("new leader %s: %s", ep, err);
		return;
	}
	log_info("the master moved to %s at %lld", ep, (long long)wall_ms());
	net_queue_clear(&e->q);
	net_close(e->net);
	e->net = nn;
	e->moved = now_ms();
	e->all_reported = 0;
	for (i = 0; i < e->set->n; i++)
		agent_reregister(&e->set->agents[i], 0);
}

/* Serve the master until SIGTERM or SIGINT. */
static void
run(struct emu *e, int sigfd)
{
	int64_t now, wait;
	int stop = 0;

	while (!stop) {
		struct pollfd pfd[2] = {
			{ .fd = net_fd(e->net), .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
		};

		now = now_ms();
		wait = timeq_wait(&e->timers, now);
		if (wait < 0 || wait > EMU_POLL_MAX_MS)
			wait = EMU_POLL_MAX_MS;
		if ((e->q.len > 0 || net_unsent(e->net)) &&
		    wait > EMU_QUEUE_RETRY_MS)
			wait = EMU_QUEUE_RETRY_MS;
		if (net_pending(e->net))
			wait = 0;
		if (poll(pfd, 2, (int)wait) == -1 && errno != EINTR)
			log_fatal("poll");
		sig_drain();
		stop = sig_take(SIGTERM) || sig_take(SIGINT);
		/* what a turn sends goes in frames of many records */
		net_cork(e->net);
		agent_set_receive(e->set, e->net);
		follow_master(e);
		e->sent += net_queue_flush(e->net, &e->q);
		net_cork(e->net);	/* a new master's socket too */
		timeq_run(&e->timers, now_ms(), EMU_TIMER_BATCH);
		agent_set_flush(e->set);
		e->sent += net_queue_flush(e->net, &e->q);
		net_flush(e->net);
		report(e, now_ms());
	}
}

int
main(int argc, char *argv[])
{
	static struct emu e;
	struct agent_conf conf = {
		.ops = &emu_ops, .arg = &e, .timers = &e.timers,
		.heartbeat_ms = AGENT_HEARTBEAT_MS,
		.retry_ms = AGENT_UPDATE_RETRY_MS,
		.register_retry_ms = EMU_REGISTER_RETRY_MS,
		.register_jitter_ms = EMU_REGISTER_RETRY_MS,
		.register_rate = EMU_REGISTER_RATE,
	};
	static const struct option longopts[] = {
		{ "update-retry", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	const char *master = NULL, *pidpath = NULL, *errstr;
	char err[256], buf[1024];
	struct pidfh *pfh = NULL;
	struct res check;
	int ch, fg = 0, verbose = 0, n, sigfd;

	e.prefix = "emu";
	e.pattern = "";
	strlcpy(e.resources, EMU_RESOURCES_DEFAULT, sizeof(e.resources));
	while ((ch = getopt_long(argc, argv, "a:dH:m:N:p:R:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			e.pattern = optarg;
			break;
		case 'd':
			fg = 1;
			break;
		case 'N':
			e.prefix = optarg;
			break;
		case 'H':
			conf.heartbeat_ms = duration_arg_min("heartbeat",
			    optarg, 10);
			break;
		case 'm':
			master = optarg;
			break;
		case 'p':
			pidpath = optarg;
			break;
		case 'R':
			if (res_parse(optarg, &check, err) == -1)
				errx(100, "resources '%s': %s", optarg, err);
			res_format(&check, e.resources, sizeof(e.resources));
			res_free(&check);
			break;
		case 'u':
			conf.retry_ms = duration_arg_min("update retry",
			    optarg, 10);
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage(stderr);
			return 100;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 100;
	}
	n = (int)strtonum(argv[optind], 1, EMU_MAX, &errstr);
	if (errstr != NULL)
		errx(100, "count '%s': %s", argv[optind], errstr);
	log_init("agent-emu", fg, verbose);
	if (attr_expand(e.pattern, 0, buf, sizeof(buf)) == -1 ||
	    attr_check(buf, err) == -1)
		log_fatalx("attributes '%s': not a valid pattern (%%{i}, "
		    "%%{i%%K}, %%{i/K}, %%%%)", e.pattern);
	id_new("emu", e.tag, sizeof(e.tag));
	e.taglen = strlen(e.tag);
	pfh = pidfile_take(pidpath);
	master = master_endpoint(master);
	if ((e.set = agent_set_create(&conf, n)) == NULL)
		log_fatal("emulated agents");
	for (ch = 0; ch < n; ch++)
		snprintf(e.set->agents[ch].id, AGENT_ID_LEN, "%s-%d", e.tag, ch);
	/* the credential as agentd finds it, or makes it on a first start */
	if (agent_cred_setup(NULL, err, sizeof(err)) == -1)
		log_fatalx("credential: %s", err);
	if ((e.follow = elect_follow_create(master, err)) == NULL)
		errx(100, "master %s: %s", master, err);
	/* a master named by its election: wait for its first leader */
	while (elect_follow_poll(e.follow, buf, sizeof(buf)) != 1)
		usleep(EMU_LEADER_POLL_US);
	if ((e.net = net_open(NET_PEER, buf, err)) == NULL)
		log_fatalx("%s", err);
	if (pfh != NULL)
		pidfile_write(pfh);
	if ((sigfd = sig_init((int[]){ SIGTERM, SIGINT }, 2)) == -1)
		log_fatal("signals");
	signal(SIGHUP, SIG_IGN);
	e.started = now_ms();
	e.next_report = e.started + EMU_REPORT_MS;
	agent_set_start(e.set);
	log_info("emulating %d agents %s-0..%s-%d (ids %s-*) offering %s to %s",
	    n, e.prefix, e.prefix, n - 1, e.tag, e.resources, master);
	run(&e, sigfd);
	log_info("stopping: %zu emulated tasks dropped", map_count(e.set->tasks));
	agent_set_destroy(e.set);
	net_queue_clear(&e.q);
	net_close(e.net);
	elect_follow_destroy(e.follow);
	timeq_clear(&e.timers);
	if (pfh != NULL)
		pidfile_remove(pfh);
	return 0;
}
