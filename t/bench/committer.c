/*
 * committer: the load of t/bench/commit, the cost of offerd's transaction
 * path (cluster-protocol(7), SHARED STATE).  F optimistic frameworks in
 * one process, each a sched(3) handle with a socket of its own, keep a
 * window of COMMITs in flight: one task each (small resources, a short
 * duration that agent-emu honours), on an agent drawn at random among
 * those the view has room on (among the view's first -H agents only, to
 * make the frameworks contend).  -R subscribes them with a role (a role
 * with a quota limit has it checked at every commit).  The view is one for the process, the
 * freshest FREE entry of each agent (by version) whichever framework it
 * came to, less what was placed since; a conflict happens when another
 * transaction took the room between a placement and its check.
 *
 * It waits until every framework has its snapshot and the view holds
 * -a agents, runs -W seconds to warm up, measures -d seconds and prints
 *   commit agents=N commits_per_s=X conflicts_pct=Y master_cpu_ms_per_commit=Z
 * where X is the transactions the master answered per second (committed
 * or aborted), Y the aborted share of them, and Z the master's CPU (-x
 * pid, utime + stime) over the window per transaction answered: checking,
 * launching, the FREE changes to every framework, and the tasks' status
 * updates.  Round-trip times from COMMIT to COMMITTED go to stderr.
 *
 * Exit status: 0, 1 when nothing was answered in the window, 100 on a
 * usage error, 111 on a system failure.
 */
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exits.h"
#include "map.h"
#include "res.h"
#include "scheduler.h"
#include "util.h"

#define MAX_FW		64
#define MAX_WINDOW	100000		/* transactions in flight, in all */
#define MAX_SAMPLES	2000000		/* round trips kept for percentiles */
#define PICK_TRIES	16		/* random draws before a scan */
#define READY_WAIT_MS	300000		/* for snapshots and agents */

struct vagent {
	char		*id;
	int64_t		 cpus, mem;	/* free, thousandths */
	long long	 version;
};

struct fw {
	struct sched	*s;
	int		 complete;	/* its snapshot came whole */
	int		 inflight;
	int		 due;
};

static struct {
	int		 agents, frameworks, window, pid, hot;
	int64_t		 warm_ms, measure_ms;
	double		 duration;
	const char	*res, *role;
	int64_t		 cpus, mem;
} o = { 0, 4, 256, 0, 0, 5000, 20000, 2, "cpus:0.01;mem:8", NULL, 0, 0 };

static struct fw	 fws[MAX_FW];
static struct map	*view;		/* agent id -> struct vagent */
static struct vagent	**agents;	/* the same, to draw from */
static size_t		 nagents, agents_cap;
static struct map	*sent;		/* transaction id -> int64_t * sent at */
static unsigned long	 ntx;
static int		 started, measuring;
static long long	 n_committed, n_aborted, n_errors;
static char		 why_first[256];	/* the first conflict's message */
static double		*samples;
static size_t		 nsamples;

static void
usage(void)
{
	fprintf(stderr, "usage: committer [-a agents] [-d window] [-D duration] "
	    "[-f frameworks] [-H hot]\n"
	    "                 [-r resources] [-R role] [-W warm-up] [-w in-flight] "
	    "[-x pid] master\n");
	exit(EXIT_USAGE);
}

static void	refill(struct fw *);

/* One FREE entry into the view, unless it is older than what we have. */
static void
on_free(struct sched *s, void *ctx, const struct sched_free *f)
{
	struct fw *fw = ctx;
	struct vagent *a;

	(void)s;
	if (f->agent_id == NULL) {
		fw->complete = 1;
		return;
	}
	if ((a = map_get(view, f->agent_id)) == NULL) {
		if (strcmp(f->state, "gone") == 0)
			return;
		if (nagents == agents_cap) {
			agents_cap = agents_cap ? 2 * agents_cap : 1024;
			agents = reallocarray(agents, agents_cap, sizeof(*agents));
			if (agents == NULL)
				err(EXIT_SYSTEM, "reallocarray");
		}
		if ((a = calloc(1, sizeof(*a))) == NULL ||
		    (a->id = strdup(f->agent_id)) == NULL ||
		    map_put(view, a->id, a) == -1)
			err(EXIT_SYSTEM, "agent");
		agents[nagents++] = a;
	} else if (f->version < a->version)
		return;
	a->version = f->version;
	/* a gone or inactive agent stays in the array with no room */
	a->cpus = strcmp(f->state, "active") == 0 ? res_get(f->res, "cpus") : 0;
	a->mem = strcmp(f->state, "active") == 0 ? res_get(f->res, "mem") : 0;
	/* room came back while the window was short of it */
	if (started && a->cpus >= o.cpus && a->mem >= o.mem)
		refill(fw);
}

/*
 * An agent with room for one task, at random among the first -H of the
 * view (all by default); NULL when none has.
 */
static struct vagent *
pick(void)
{
	size_t i, k, n = nagents;

	if (o.hot > 0 && (size_t)o.hot < n)
		n = o.hot;
	if (n == 0)
		return NULL;
	for (i = 0; i < PICK_TRIES; i++) {
		k = arc4random_uniform(n);
		if (agents[k]->cpus >= o.cpus && agents[k]->mem >= o.mem)
			return agents[k];
	}
	for (i = 0; i < n; i++)
		if (agents[i]->cpus >= o.cpus && agents[i]->mem >= o.mem)
			return agents[i];
	return NULL;
}

/* One transaction of one task from FW; 0, or -1 when there is no room. */
static int
commit_one(struct fw *fw)
{
	char tid[64], task_id[64];
	struct vagent *a;
	int64_t *at;
	json_t *tasks, *t;

	if ((a = pick()) == NULL)
		return -1;
	ntx++;
	snprintf(tid, sizeof(tid), "tx%lu", ntx);
	snprintf(task_id, sizeof(task_id), "t%lu", ntx);
	t = sched_task(task_id, o.res, "true");
	json_object_set_new(t, "agent_id", json_string(a->id));
	json_object_set_new(t, "duration", json_real(o.duration));
	tasks = json_pack("[o]", t);
	if ((at = malloc(sizeof(*at))) == NULL || map_put(sent, tid, at) == -1)
		err(EXIT_SYSTEM, "transaction");
	*at = now_ms();
	if (sched_commit(fw->s, tid, tasks, 0) == -1)
		errx(EXIT_SYSTEM, "sched_commit failed");
	json_decref(tasks);
	a->cpus -= o.cpus;
	a->mem -= o.mem;
	fw->inflight++;
	return 0;
}

/* Keep FW's share of the window full. */
static void
refill(struct fw *fw)
{
	int share = o.window / o.frameworks;

	while (fw->inflight < share && commit_one(fw) == 0)
		;
}

static void
on_committed(struct sched *s, void *ctx, const struct sched_committed *c)
{
	struct fw *fw = ctx;
	int64_t *at = map_del(sent, c->transaction_id);

	(void)s;
	fw->inflight--;
	if (measuring) {
		if (strcmp(c->outcome, "committed") == 0)
			n_committed++;
		else
			n_aborted++;
		if (why_first[0] == '\0' && json_array_size(c->conflicts) > 0)
			json_dumpb(json_array_get(c->conflicts, 0), why_first,
			    sizeof(why_first) - 1, 0);
		if (at != NULL && nsamples < MAX_SAMPLES)
			samples[nsamples++] = now_ms() - *at;
	}
	free(at);
	refill(fw);
}

static void
on_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct fw *fw = ctx;

	(void)s;
	if (e->about != NULL && strcmp(e->about, "COMMIT") == 0) {
		fw->inflight--;
		n_errors++;
	}
	if (n_errors < 10)
		warnx("master: %s", e->message ? e->message : "?");
}

/* Wait at most until DEADLINE for any socket, then dispatch. */
static void
poll_all(int64_t deadline)
{
	struct pollfd pfd[MAX_FW];
	int64_t now = now_ms();
	int i, wait = deadline > now ? (int)(deadline - now) : 0;

	for (i = 0; i < o.frameworks; i++) {
		int t = sched_timeout(fws[i].s);

		pfd[i].fd = sched_fd(fws[i].s);
		pfd[i].events = POLLIN;
		fws[i].due = t == 0;
		if (t < wait)
			wait = t;
	}
	if (poll(pfd, o.frameworks, wait) == -1 && errno != EINTR)
		err(EXIT_SYSTEM, "poll");
	for (i = 0; i < o.frameworks; i++)
		if (((pfd[i].revents & POLLIN) || fws[i].due) &&
		    sched_dispatch(fws[i].s) == -1)
			errx(EXIT_SYSTEM, "a framework's socket failed");
}

/* True once every framework has its snapshot and the view -a agents. */
static int
ready(void)
{
	int i;

	for (i = 0; i < o.frameworks; i++)
		if (!fws[i].complete)
			return 0;
	return nagents >= (size_t)o.agents;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Warm up, measure, print the line; the exit status. */
static int
run(void)
{
	int64_t t0, t1, end;
	long long cpu0, cpu1, n;
	long hz = sysconf(_SC_CLK_TCK);
	int i;

	end = now_ms() + READY_WAIT_MS;
	while (!ready() && now_ms() < end)
		poll_all(now_ms() + 100);
	if (!ready())
		errx(1, "the view has %zu of %d agents", nagents, o.agents);
	started = 1;
	for (i = 0; i < o.frameworks; i++)
		refill(&fws[i]);
	end = now_ms() + o.warm_ms;
	while (now_ms() < end)
		poll_all(end);
	measuring = 1;
	cpu0 = o.pid ? proc_cpu_ticks(o.pid) : -1;
	t0 = now_ms();
	end = t0 + o.measure_ms;
	while (now_ms() < end)
		poll_all(end);
	t1 = now_ms();
	cpu1 = o.pid ? proc_cpu_ticks(o.pid) : -1;
	measuring = 0;
	n = n_committed + n_aborted;
	if (n == 0) {
		warnx("no transaction answered in the window");
		return 1;
	}
	qsort(samples, nsamples, sizeof(*samples), cmp_double);
	fprintf(stderr, "committer: %lld committed, %lld aborted, %lld refused "
	    "in %.1f s; round trip p50=%.0f p99=%.0f ms; view %zu agents\n",
	    n_committed, n_aborted, n_errors, (t1 - t0) / 1000.0,
	    samples[nsamples / 2], samples[nsamples * 99 / 100], nagents);
	if (why_first[0] != '\0')
		fprintf(stderr, "committer: first conflict: %s\n", why_first);
	printf("commit agents=%d commits_per_s=%.0f conflicts_pct=%.2f "
	    "master_cpu_ms_per_commit=", o.agents, n * 1000.0 / (t1 - t0),
	    100.0 * n_aborted / n);
	if (cpu0 >= 0 && cpu1 >= 0)
		printf("%.3f\n", (cpu1 - cpu0) * 1000.0 / hz / n);
	else
		printf("-\n");
	return 0;
}

/* Parse the options into O; exits EXIT_USAGE on a bad one. */
static void
options(int argc, char *argv[])
{
	const char *errstr;
	char rerr[RES_ERRLEN];
	struct res r;
	int ch;

	while ((ch = getopt(argc, argv, "a:d:D:f:H:r:R:W:w:x:")) != -1) {
		switch (ch) {
		case 'a':
			o.agents = strtonum(optarg, 0, 1000000, &errstr);
			break;
		case 'd':
			o.measure_ms = duration_arg("window", optarg);
			errstr = o.measure_ms > 0 ? NULL : "zero";
			break;
		case 'D':
			o.duration = duration_arg("duration", optarg) / 1000.0;
			errstr = NULL;
			break;
		case 'f':
			o.frameworks = strtonum(optarg, 1, MAX_FW, &errstr);
			break;
		case 'H':
			o.hot = strtonum(optarg, 0, 1000000, &errstr);
			break;
		case 'r':
			o.res = optarg;
			errstr = NULL;
			break;
		case 'R':
			o.role = optarg;
			errstr = NULL;
			break;
		case 'W':
			o.warm_ms = duration_arg("warm-up", optarg);
			errstr = NULL;
			break;
		case 'w':
			o.window = strtonum(optarg, 1, MAX_WINDOW, &errstr);
			break;
		case 'x':
			o.pid = strtonum(optarg, 1, INT32_MAX, &errstr);
			break;
		default:
			usage();
		}
		if (errstr != NULL)
			errx(EXIT_USAGE, "-%c %s: %s", ch, optarg, errstr);
	}
	if (optind != argc - 1 || o.window < o.frameworks)
		usage();
	if (res_parse(o.res, &r, rerr) == -1)
		errx(EXIT_USAGE, "-r %s: %s", o.res, rerr);
	o.cpus = res_get(&r, "cpus");
	o.mem = res_get(&r, "mem");
	res_free(&r);
}

int
main(int argc, char *argv[])
{
	struct sched_callbacks cb = { .free_resources = on_free,
	    .committed = on_committed, .error = on_error };
	struct sched_opts so;
	char name[32], why[SCHED_ERRLEN];
	int i, rc;

	options(argc, argv);
	if ((view = map_create()) == NULL || (sent = map_create()) == NULL ||
	    (samples = calloc(MAX_SAMPLES, sizeof(*samples))) == NULL)
		err(EXIT_SYSTEM, "calloc");
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < o.frameworks; i++) {
		memset(&so, 0, sizeof(so));
		snprintf(name, sizeof(name), "committer%d", i);
		so.master = argv[optind];
		so.name = name;
		so.optimistic = 1;
		so.role = o.role;
		if ((fws[i].s = sched_create(&so, &cb, &fws[i], why)) == NULL)
			errx(EXIT_SYSTEM, "%s", why);
	}
	rc = run();
	for (i = 0; i < o.frameworks; i++)
		sched_destroy(fws[i].s);
	return rc;
}
