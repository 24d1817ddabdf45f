/*
 * load: M frameworks in one process, each a sched(3) handle with a socket
 * of its own, as the Mesos paper's scalability experiment (NSDI 2011, 6.5):
 * each load framework starts one task on every agent it is offered, with
 * a duration drawn from a normal distribution (mean 30 s, sd 10 s by
 * default), and acknowledges every status update.  Probe frameworks
 * measure the overhead: each wants to run a 10 s task, and the time from
 * that wish (REVIVE) to its TASK_FINISHED, less 10 s, is one sample (it
 * includes waiting for an offer, accepting, the launch and the updates).
 *
 * Scale mode (default) waits for the frameworks to subscribe, warms up
 * until the number of running tasks stops growing while the agents'
 * updates keep up (every task launched 2 s ago has had its first update),
 * measures for a window and prints one line:
 *   scale agents=N overhead_p50_ms=X overhead_p99_ms=Y offers_per_s=O
 *       updates_per_s=U master_cpu_pct=C master_rss_mb=R
 * where offers and updates are the OFFER and STATUS records the
 * frameworks received per second, and CPU and RSS are the master's (-x
 * pid) over the window.  Details go to stderr: among them what became of
 * the probes wanted in the window (offered, and how long after REVIVE;
 * running; a probe not ended when the run ends, 40 s after the window,
 * counts as failed) and how long the load tasks accepted in the window
 * waited for their first update, so that a window without samples says
 * whether the offers or the agents' updates were late.
 *
 * The probes' sockets are read before and between the load frameworks'
 * (every PROBE_EVERY of them), as each framework of the paper was a
 * process of its own: a probe's sample is the master's latency, not the
 * time its records waited behind the load's in this process.  sched(3)
 * subscribes, heartbeats, acknowledges and queues what a socket refuses;
 * this file only decides.
 *
 * Throughput mode (-n N) runs N tasks of `true` (argv, no duration) as
 * fast as offers allow, packing each offer full (with -E COMMAND, each
 * task runs in the framework's executor COMMAND on its agent instead,
 * cluster-protocol(7) EXECUTORS; the first offer of an agent also holds
 * the executor's EXEC_RES), and prints
 *   throughput tasks=N tasks_per_s=X
 * counted from the first offer to the last TASK_FINISHED.
 *
 * -F S gives every framework a failover timeout of S seconds (default 0:
 * a framework the master stops hearing from is removed, its tasks
 * killed); t/bench/failover-storm needs one, so that frameworks a loaded
 * master heard from late are not removed while a leader changes.
 *
 * Exit status: 0, 1 when tasks or probes failed or nothing was measured,
 * 100 on a usage error, 111 on a system failure.
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

#include "map.h"
#include "proto.h"
#include "rec.h"
#include "res.h"
#include "scheduler.h"
#include "util.h"

#define ID_LEN		64
#define TICK_MS		100
#define MAX_FRAMEWORKS	500	/* a socket each; nanomsg has 512 a process */
#define PROBE_EVERY	16	/* load frameworks read between the probes */
#define DECLINE_S	5.0	/* refuse an offer that does not fit */
#define RATE_DECLINE_S	1.0	/* refuse an offer over the -L rate */
#define FAST_DECLINE_S	0.1	/* throughput mode: the agent frees soon */
#define PROBE_IDLE_S	60.0	/* a probe framework between probes */
#define EXEC_RES	"cpus:0.1;mem:16"	/* -E: the executor's own */
#define EXEC_ID		"bench"
#define PROBE_GAP_MS	1000	/* at most, between two probes */
#define PROBE_GIVEUP_S	30	/* past its duration: a probe failed */
#define GROWTH_SPAN_MS	5000	/* steady: running tasks grew less than */
#define GROWTH_MAX	0.02	/* this fraction over that span */
#define HEARD_MAX_MS	2000	/* steady: every task launched longer ago
				   than this has had its first update */
#define ERRORS_SHOWN	5
#define RECONCILE_AFTER_MS 1000	/* after a new master, ask after the tasks
				   launched but not heard of */
#define RECONCILE_EVERY_MS 2000	/* again, while some are unheard */
#define RECONCILE_MAX	500	/* task ids a RECONCILE names at most */

enum probe_state { P_IDLE, P_WANT, P_LAUNCHED };

struct fw {
	struct sched	*s;
	int		 probe;
	int		 subscribed;
	int		 due;		/* its timers are due: dispatch it */
	enum probe_state pstate;
	int64_t		 pstart;	/* when the probe was wanted */
	int64_t		 pnext;		/* when the next probe is wanted */
	char		 ptask[ID_LEN];
	char		 poffer[ID_LEN];
	int64_t		 reconcile_at;	/* ask after its unheard tasks then */
	size_t		 nrec;		/* of them, named this time */
};

struct opts {
	int		 frameworks, probes, agents, pid, alloc_pid;
	long		 tasks;		/* throughput mode when > 0 */
	double		 mean, sd, probe_s;
	const char	*res;
	int64_t		 warm_min_ms, warm_max_ms, window_ms;
	double		 rate;		/* load launches per second at most */
	const char	*executor;	/* -E: the executor's command */
};

static struct opts o = {
	.frameworks = 200, .probes = 10, .mean = 30, .sd = 10, .probe_s = 10,
	.res = "cpus:1;mem:128", .warm_min_ms = 20000, .warm_max_ms = 120000,
	.window_ms = 30000,
};

static struct fw *fws;
static int nfw, nsubscribed;
static struct res need, xneed;
static struct map *has_exec;	/* -E: agents with our executor */
static unsigned long long seq;
static int64_t w0, w1;		/* the measuring window, 0 until set */
static volatile sig_atomic_t got_signal;

/* counters */
static unsigned long long n_offers, n_updates, n_launched, n_ended, n_finished;
static unsigned long long n_failed, n_errors, n_rescinds, p_failed;
static unsigned long long n_accept_failed, n_reconciled_lost;
static struct map *live;	/* task id -> struct ltask, until it ends */
static struct map *accepts;	/* offer id -> its tasks, until one speaks */

struct ltask {
	struct fw *f;		/* whose */
	char	offer[ID_LEN];
	int64_t	accepted;	/* when */
	int	heard;		/* its first update came */
	int	in_window;	/* accepted in the window, by a load framework */
};

/* Samples of one measure, in ms: sorted once, at the end. */
struct dist {
	double	*v;
	size_t	 n, cap;
};
static struct dist overhead;	/* the probes' overhead: the figure */
static struct dist offer_wait;	/* a probe's REVIVE to its offer */
static struct dist update_lag;	/* a load task's ACCEPT to its first update */
static unsigned long long p_wanted, p_offered, p_running;
static unsigned long long w_accepted;	/* load tasks accepted in the window */
static unsigned long long n_unheard;	/* tasks launched, no update yet */
static int64_t first_offer, last_finish;

static void
usage(void)
{
	fprintf(stderr, "usage: load [-a agents] [-d window] [-f frameworks] "
	    "[-L rate] [-m master] [-M mean]\n"
	    "            [-n tasks] [-p probes] [-P probe-seconds] "
	    "[-r resources] [-S stddev]\n"
	    "            [-w warmup-min] [-W warmup-max] [-x master-pid] "
	    "[-y allocator-pid]\n"
	    "            [-E executor-command] [-F failover-timeout]\n");
	exit(100);
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* A sample of the normal distribution N(MEAN, SD), by Box-Muller. */
static double
normal(double mean, double sd)
{
	double u1 = (arc4random() + 1.0) / 4294967297.0;
	double u2 = arc4random() / 4294967296.0;

	return mean + sd * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* VmRSS of process PID in MB, or -1. */
static double
proc_rss_mb(int pid)
{
	char path[64], line[256];
	double kb = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
			break;
	fclose(fp);
	return kb < 0 ? -1 : kb / 1024;
}

/* A task of DURATION seconds (< 0: the command `true`) into TASKS. */
static void
add_task(json_t *tasks, const char *id, double duration)
{
	json_t *t = json_object();
	char d[32];

	rec_set_str(t, "task_id", id);
	rec_set_str(t, "resources", o.res);
	if (duration >= 0) {
		snprintf(d, sizeof(d), "%.3f", duration);
		rec_set_num(t, "duration", duration);
		json_object_set_new(t, "argv", json_pack("[s,s]", "sleep", d));
	} else if (o.executor != NULL)
		json_object_set_new(t, "executor", json_pack("{s:s,s:s,s:s}",
		    "executor_id", EXEC_ID, "command", o.executor,
		    "resources", EXEC_RES));
	else
		json_object_set_new(t, "argv", json_pack("[s]", "true"));
	json_array_append_new(tasks, t);
}

/*
 * True when a load framework may launch one more task now under the -L
 * rate (a token bucket holding at most a tenth of a second's worth).
 */
static int
rate_ok(int64_t now)
{
	static double tokens;
	static int64_t at;

	if (o.rate <= 0)
		return 1;
	tokens += (now - at) * o.rate / 1000;
	if (tokens > o.rate / 10 + 1)
		tokens = o.rate / 10 + 1;
	at = now;
	if (tokens < 1)
		return 0;
	tokens -= 1;
	return 1;
}

/* Add sample X (ms) to D. */
static void
dist_add(struct dist *d, double x)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 256;
		if ((d->v = reallocarray(d->v, d->cap, sizeof(*d->v))) == NULL)
			err(111, "samples");
	}
	d->v[d->n++] = x;
}

/* Remember the TASKS (a task array) F accepted on OFFER until they end. */
static void
track(struct fw *f, const char *offer, json_t *tasks)
{
	json_t *t;
	size_t i;

	json_array_foreach(tasks, i, t) {
		struct ltask *l = calloc(1, sizeof(*l));

		if (l == NULL || map_put(live, rec_str(t, "task_id"), l) == -1)
			err(111, "tasks");
		l->f = f;
		strlcpy(l->offer, offer, sizeof(l->offer));
		l->accepted = now_ms();
		l->in_window = w0 != 0 && w1 == 0 &&
		    *rec_str(t, "task_id") == 't';
		w_accepted += l->in_window;
		n_unheard++;
	}
	if (map_put(accepts, offer, json_incref(tasks)) == -1)
		err(111, "accepts");
}

/* The ACCEPT of OFFER failed: its tasks never ran. */
static void
untrack(const char *offer)
{
	json_t *tasks = map_del(accepts, offer), *t;
	size_t i;

	json_array_foreach(tasks, i, t) {
		struct ltask *l = map_del(live, rec_str(t, "task_id"));

		if (l != NULL) {
			w_accepted -= l->in_window;
			n_unheard -= !l->heard;
		}
		free(l);
		n_launched--;
		n_accept_failed++;
	}
	json_decref(tasks);
}

/* An OFFER for F: tasks that fit, or a decline. */
static void
on_offer(struct sched *s, void *ctx, const struct sched_offer *off)
{
	struct fw *f = ctx;
	int64_t now = now_ms();
	char id[ID_LEN];
	struct res have;
	json_t *tasks;
	int room, fits, k = 0;

	n_offers++;
	if (first_offer == 0)
		first_offer = now;
	room = res_contains(off->res, &need);
	fits = room && (f->probe || rate_ok(now));
	if (!fits || (f->probe && f->pstate != P_WANT) ||
	    (o.tasks > 0 && (long)n_launched >= o.tasks)) {
		sched_decline(s, off->offer_id, f->probe ? PROBE_IDLE_S : room ?
		    RATE_DECLINE_S : o.tasks > 0 ? FAST_DECLINE_S : DECLINE_S);
		return;
	}
	if (res_copy(&have, off->res) == -1)
		err(111, "offer");
	if (o.executor != NULL && map_get(has_exec, off->agent_id) == NULL) {
		/* the first task on this agent brings the executor */
		if (!res_contains(&have, &xneed) || res_sub(&have, &xneed) == -1 ||
		    !res_contains(&have, &need)) {
			res_free(&have);
			sched_decline(s, off->offer_id, FAST_DECLINE_S);
			return;
		}
		map_put(has_exec, off->agent_id, f);
	}
	tasks = json_array();
	do {
		snprintf(id, sizeof(id), "%s-%llu", f->probe ? "p" : "t", ++seq);
		if (f->probe) {
			add_task(tasks, id, o.probe_s);
			if (w0 != 0 && f->pstart >= w0) {
				p_offered++;
				dist_add(&offer_wait, (double)(now - f->pstart));
			}
			strlcpy(f->ptask, id, sizeof(f->ptask));
			strlcpy(f->poffer, off->offer_id, sizeof(f->poffer));
			f->pstate = P_LAUNCHED;
		} else if (o.tasks > 0)
			add_task(tasks, id, -1);
		else {
			double d = normal(o.mean, o.sd);

			add_task(tasks, id, d < 0.1 ? 0.1 : d);
		}
		n_launched++;
		k++;
		res_sub(&have, &need);
		/* throughput mode fills the offer; the paper's, one per offer */
	} while (o.tasks > 0 && (long)n_launched < o.tasks &&
	    res_contains(&have, &need) && k < 1000);
	res_free(&have);
	track(f, off->offer_id, tasks);
	sched_accept(s, off->offer_id, tasks, o.tasks > 0 ? 0 : -1);
	json_decref(tasks);
	if (f->probe)
		sched_suppress(s);
}

/* Record one overhead sample when the probe lies in the window. */
static void
probe_done(struct fw *f, const char *state, int64_t now)
{
	if (strcmp(state, TASK_FINISHED) != 0)
		p_failed++;
	else if (w0 != 0 && f->pstart >= w0 && (w1 == 0 || f->pstart <= w1))
		dist_add(&overhead, (double)(now - f->pstart) - o.probe_s * 1000);
	f->pstate = P_IDLE;
	f->pnext = now + arc4random_uniform(PROBE_GAP_MS);
}

static void accept_lost(struct sched *, struct fw *, const char *);

/* A status update for F (sched(3) acknowledged it and hands it over once). */
static void
on_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	struct fw *f = ctx;
	int64_t now = now_ms();
	struct ltask *l;

	if ((l = map_get(live, st->task_id)) == NULL)
		return;
	if (st->reconcile && (l->heard ||
	    strcmp(st->state, TASK_UNREACHABLE) == 0))
		return;		/* known, or still to be told: ask again */
	if (st->reconcile && st->terminal) {
		/* the master never had it: its ACCEPT died with a master */
		n_reconciled_lost++;
		if (map_get(accepts, l->offer) != NULL)
			accept_lost(s, f, l->offer);
		return;
	}
	json_decref(map_del(accepts, l->offer));	/* it was launched */
	if (!l->heard) {
		/* its first update: how far behind the agents' records are */
		l->heard = 1;
		n_unheard--;
		if (l->in_window)
			dist_add(&update_lag, (double)(now - l->accepted));
		if (f->probe && w0 != 0 && f->pstart >= w0)
			p_running++;
	}
	if (!st->terminal)
		return;
	free(map_del(live, st->task_id));
	n_ended++;
	if (strcmp(st->state, TASK_FINISHED) == 0) {
		n_finished++;
		last_finish = now;
	} else
		n_failed++;
	if (f->probe && f->pstate == P_LAUNCHED &&
	    strcmp(st->task_id, f->ptask) == 0)
		probe_done(f, st->state, now);
}

/* Every record: the STATUS records count, retransmissions included. */
static void
on_record(struct sched *s, void *ctx, const json_t *rec)
{
	(void)s;
	(void)ctx;
	if (strcmp(rec_type(rec), R_STATUS) == 0)
		n_updates++;
}

/* The ACCEPT of OFFER by F launched nothing: a probe wants again. */
static void
accept_lost(struct sched *s, struct fw *f, const char *offer)
{
	untrack(offer);
	if (f->probe && f->pstate == P_LAUNCHED &&
	    strcmp(f->poffer, offer) == 0) {
		f->pstate = P_WANT;
		sched_revive(s);
	}
}

/* An ERROR: a refused ACCEPT launched nothing; a probe waiting wants again. */
static void
on_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct fw *f = ctx;
	const char *oid = e->rec != NULL ? rec_str(e->rec, "offer_id") : NULL;

	if (n_errors++ < ERRORS_SHOWN)
		warnx("master: %s", e->message);
	if (oid == NULL || e->about == NULL || strcmp(e->about, R_ACCEPT) != 0)
		return;
	accept_lost(s, f, oid);
}

/* SUBSCRIBED: count F in; a probe wants no offers until it probes. */
static void
on_subscribed(struct sched *s, void *ctx, const char *id, int again)
{
	struct fw *f = ctx;

	(void)id;
	(void)again;
	/*
	 * A framework that subscribes again has followed a new leader of
	 * the master's election: the wall-clock time is for failover-storm.
	 */
	if (f->subscribed) {
		fprintf(stderr, "load: framework %d subscribed again at %lld\n",
		    (int)(f - fws), (long long)wall_ms());
		/* ACCEPTs in flight may have died with the old master */
		f->reconcile_at = now_ms() + RECONCILE_AFTER_MS;
		return;
	}
	f->subscribed = 1;
	nsubscribed++;
	if (f->probe)
		sched_suppress(s);
}

/*
 * RESCIND: an offer we accepted is rescinded only when the ACCEPT never
 * reached the master (dropped over a limit, say): its tasks never ran.
 */
static void
on_rescind(struct sched *s, void *ctx, const char *offer_id)
{
	n_rescinds++;
	if (map_get(accepts, offer_id) != NULL)
		accept_lost(s, ctx, offer_id);
}

/* Dispatch F when its socket is readable (REVENTS) or its timers are due. */
static void
fw_dispatch(struct fw *f, short revents)
{
	if (((revents & POLLIN) || f->due) && sched_dispatch(f->s) == -1)
		errx(111, "a framework's socket failed");
	f->due = 0;
}

/* Every probe's records and timers; before and between the load's. */
static void
probes_dispatch(const struct pollfd *pfd)
{
	int i;

	for (i = o.frameworks; i < nfw; i++)
		fw_dispatch(&fws[i], pfd[i].revents);
}

/*
 * Wait for any framework's socket, at most until the next tick or timer
 * of sched(3), then dispatch the probes, the load frameworks with probes
 * again every PROBE_EVERY of them, and the probes once more.
 */
static void
poll_all(struct pollfd *pfd, int64_t next_tick)
{
	int64_t now = now_ms();
	int i, wait = next_tick > now ? (int)(next_tick - now) : 0;

	for (i = 0; i < nfw; i++) {
		int t = sched_timeout(fws[i].s);

		pfd[i].fd = sched_fd(fws[i].s);
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
		fws[i].due = t == 0;
		if (t < wait)
			wait = t;
	}
	if (poll(pfd, nfw, wait) == -1 && errno != EINTR)
		err(111, "poll");
	probes_dispatch(pfd);
	for (i = 0; i < o.frameworks; i++) {
		fw_dispatch(&fws[i], pfd[i].revents);
		if (i % PROBE_EVERY == PROBE_EVERY - 1)
			probes_dispatch(pfd);
	}
	probes_dispatch(pfd);
}

/* The probes' wishes, and giving up on a probe that never ended. */
static void
tick(int64_t now, int measuring)
{
	int i;

	for (i = o.frameworks; i < nfw && measuring; i++) {
		struct fw *f = &fws[i];

		if (!f->subscribed)
			continue;
		if (f->pstate == P_IDLE && now >= f->pnext) {
			f->pstate = P_WANT;
			f->pstart = now;
			p_wanted++;
			sched_revive(f->s);
		} else if (f->pstate == P_LAUNCHED &&
		    now - f->pstart > (o.probe_s + PROBE_GIVEUP_S) * 1000) {
			warnx("probe %s: no end after %d s", f->ptask,
			    PROBE_GIVEUP_S);
			probe_done(f, TASK_LOST, now);
		}
	}
}

/*
 * Ask the master after the tasks that frameworks subscribed again to a
 * new master launched and never heard of: an ACCEPT that died with the
 * old master launched nothing (TASK_LOST), and the task would count as
 * running for ever.  One pass over the live tasks for every framework
 * due; asked again while some stay unheard (TASK_UNREACHABLE: an agent
 * still to register again).
 */
static void
reconcile_due(int64_t now)
{
	static const char **ids;
	struct ltask *l;
	const char *key;
	size_t pos = 0;
	int i, any = 0;

	for (i = 0; i < nfw; i++) {
		fws[i].nrec = 0;
		any |= fws[i].reconcile_at != 0 && now >= fws[i].reconcile_at;
	}
	if (!any)
		return;
	if (ids == NULL && (ids = calloc((size_t)nfw * RECONCILE_MAX,
	    sizeof(*ids))) == NULL)
		err(111, "reconcile");
	while ((l = map_next(live, &pos, &key)) != NULL) {
		struct fw *f = l->f;

		if (l->heard || f->reconcile_at == 0 || now < f->reconcile_at ||
		    f->nrec == RECONCILE_MAX)
			continue;
		ids[(f - fws) * RECONCILE_MAX + f->nrec++] = key;
	}
	for (i = 0; i < nfw; i++) {
		struct fw *f = &fws[i];

		if (f->reconcile_at == 0 || now < f->reconcile_at)
			continue;
		f->reconcile_at = 0;
		if (f->nrec == 0)
			continue;
		sched_reconcile(f->s, ids + (size_t)i * RECONCILE_MAX, f->nrec);
		f->reconcile_at = now + RECONCILE_EVERY_MS;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The P-th percentile of D, sorted (nearest rank); NAN when empty. */
static double
percentile(const struct dist *d, double p)
{
	size_t k = (size_t)ceil(p / 100 * d->n);

	if (d->n == 0)
		return NAN;
	return d->v[k > 0 ? k - 1 : 0];
}

/* Sort D for percentile. */
static void
dist_sort(struct dist *d)
{
	if (d->n > 0)
		qsort(d->v, d->n, sizeof(*d->v), cmp_double);
}

/*
 * Scale mode's details, to stderr (ACPU: the allocator's CPU), with every
 * sample sorted for percentile: the samples, what became of the probes
 * wanted in the window (one not ended when the run ends counts as failed)
 * and how late the load's first updates came.  The exit status.
 */
static int
scale_details(double acpu)
{
	unsigned long long unoffered = 0, unended = 0, unheard;
	int i;

	dist_sort(&overhead);
	dist_sort(&offer_wait);
	dist_sort(&update_lag);
	for (i = o.frameworks; i < nfw; i++)
		if (fws[i].pstate != P_IDLE && fws[i].pstart >= w0 &&
		    fws[i].pstart <= w1) {
			if (fws[i].pstate == P_WANT)
				unoffered++;
			else
				unended++;
		}
	p_failed += unoffered + unended;
	unheard = w_accepted - update_lag.n;
	fprintf(stderr, "load: agents=%d probes=%zu probe_failures=%llu "
	    "overhead_min_ms=%.0f overhead_max_ms=%.0f running=%zu "
	    "launched=%llu finished=%llu failed=%llu errors=%llu "
	    "refused_launches=%llu rescinds=%llu reconciled_lost=%llu "
	    "alloc_cpu_pct=%.0f\n",
	    o.agents, overhead.n, p_failed, percentile(&overhead, 0),
	    percentile(&overhead, 100), map_count(live), n_launched,
	    n_finished, n_failed, n_errors, n_accept_failed, n_rescinds,
	    n_reconciled_lost, acpu);
	fprintf(stderr, "load: window: probes wanted=%llu offered=%llu "
	    "running=%llu unoffered=%llu unended=%llu offer_wait_p50_ms=%.0f "
	    "offer_wait_max_ms=%.0f; load tasks accepted=%llu unheard=%llu "
	    "first_update_p50_ms=%.0f first_update_max_ms=%.0f\n", p_wanted,
	    p_offered, p_running, unoffered, unended,
	    percentile(&offer_wait, 50), percentile(&offer_wait, 100),
	    w_accepted, unheard, percentile(&update_lag, 50),
	    percentile(&update_lag, 100));
	if (unended > 0 && (unheard > w_accepted / 2 ||
	    percentile(&update_lag, 50) > o.probe_s * 1000))
		fprintf(stderr, "load: the agents' updates come too late (the "
		    "load's first ones after %.0f ms at the median; %llu tasks "
		    "accepted in the window had none at the end): the master, "
		    "the agents and this program do not keep up with this load "
		    "on this machine; longer tasks (-M) make fewer updates a "
		    "second\n", percentile(&update_lag, 50), unheard);
	return overhead.n == 0 || p_failed > 0;
}

/* How long ago the oldest task without an update yet was accepted (0: none). */
static int64_t
oldest_unheard(int64_t now)
{
	struct ltask *l;
	int64_t oldest = now;
	size_t pos = 0;

	while ((l = map_next(live, &pos, NULL)) != NULL)
		if (!l->heard && l->accepted < oldest)
			oldest = l->accepted;
	return now - oldest;
}

/* Parse a duration option into milliseconds or exit 100. */
static int64_t
opt_ms(const char *arg)
{
	const char *errstr;
	int64_t ms;

	if (duration_parse(arg, &ms, &errstr) == -1)
		errx(100, "'%s': %s", arg, errstr);
	return ms;
}

static double
opt_num(const char *arg, double lo, double hi)
{
	char *end;
	double v = strtod(arg, &end);

	if (*end != '\0' || end == arg || !(v >= lo && v <= hi))
		errx(100, "'%s': want a number from %g to %g", arg, lo, hi);
	return v;
}

int
main(int argc, char *argv[])
{
	const struct sched_callbacks cb = { .record = on_record,
	    .subscribed = on_subscribed, .offer = on_offer,
	    .rescind = on_rescind, .status = on_status, .error = on_error };
	struct sched_opts so = { .failover_timeout = 0 };
	char e[SCHED_ERRLEN];
	struct pollfd *pfd;
	int ch, i, rc = 0;
	int64_t start, subscribed_at = 0, next_tick = 0;
	int64_t grow_at = 0, next_rss = 0;
	unsigned long long grow_base = 0, offers0 = 0, updates0 = 0;
	unsigned long long offers1 = 0, updates1 = 0;
	long long cpu0 = -1, acpu0 = -1, cpu1 = -1, acpu1 = -1;
	double rss_max = -1;

	while ((ch = getopt(argc, argv, "a:d:E:f:F:L:m:M:n:p:P:r:S:w:W:x:y:")) != -1) {
		switch (ch) {
		case 'F':
			/* seconds the master keeps a silent framework's tasks */
			so.failover_timeout = opt_num(optarg, 0, 1e6);
			break;
		case 'E':
			o.executor = optarg;
			break;
		case 'a':
			o.agents = (int)opt_num(optarg, 0, 1e7);
			break;
		case 'd':
			o.window_ms = opt_ms(optarg);
			break;
		case 'f':
			o.frameworks = (int)opt_num(optarg, 0, MAX_FRAMEWORKS);
			break;
		case 'L':
			o.rate = opt_num(optarg, 0, 1e7);
			break;
		case 'm':
			so.master = optarg;
			break;
		case 'M':
			o.mean = opt_num(optarg, 0, 1e6);
			break;
		case 'n':
			o.tasks = (long)opt_num(optarg, 1, 1e9);
			break;
		case 'p':
			o.probes = (int)opt_num(optarg, 0, 1000);
			break;
		case 'P':
			o.probe_s = opt_num(optarg, 0, 1e5);
			break;
		case 'r':
			o.res = optarg;
			break;
		case 'S':
			o.sd = opt_num(optarg, 0, 1e6);
			break;
		case 'w':
			o.warm_min_ms = opt_ms(optarg);
			break;
		case 'W':
			o.warm_max_ms = opt_ms(optarg);
			break;
		case 'x':
			o.pid = (int)opt_num(optarg, 1, 1e9);
			break;
		case 'y':
			o.alloc_pid = (int)opt_num(optarg, 1, 1e9);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (o.tasks > 0) {
		o.probes = 0;
		if (o.frameworks == 200)
			o.frameworks = 1;
	}
	if (res_parse(o.res, &need, e) == -1)
		errx(100, "resources '%s': %s", o.res, e);
	if (res_parse(EXEC_RES, &xneed, e) == -1 ||
	    (has_exec = map_create()) == NULL)
		errx(111, "executor");
	nfw = o.frameworks + o.probes;
	if (nfw == 0)
		errx(100, "no frameworks");
	if (nfw > MAX_FRAMEWORKS)
		errx(100, "at most %d frameworks and probes", MAX_FRAMEWORKS);
	if ((fws = calloc(nfw, sizeof(*fws))) == NULL ||
	    (pfd = calloc(nfw, sizeof(*pfd))) == NULL ||
	    (live = map_create()) == NULL || (accepts = map_create()) == NULL)
		err(111, "frameworks");
	for (i = 0; i < nfw; i++) {
		fws[i].probe = i >= o.frameworks;
		so.name = fws[i].probe ? "probe" : "load";
		if ((fws[i].s = sched_create(&so, &cb, &fws[i], e)) == NULL)
			errx(111, "%s", e);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	start = now_ms();

	while (!got_signal) {
		int64_t now;

		poll_all(pfd, next_tick);
		now = now_ms();
		if (now < next_tick)
			continue;
		next_tick = now + TICK_MS;
		tick(now, w0 != 0 && w1 == 0);
		reconcile_due(now);
		if (subscribed_at == 0 && nsubscribed == nfw) {
			subscribed_at = now;
			fprintf(stderr, "load: %d frameworks subscribed in %lld ms\n",
			    nfw, (long long)(now - start));
		}
		if (o.tasks > 0) {
			if ((long)n_ended >= o.tasks)
				break;
			continue;
		}
		if (subscribed_at == 0)
			continue;
		if (w0 == 0) {
			/*
			 * warm-up: until the running tasks stop growing
			 * and the agents' updates keep up (a backlog of
			 * them stops the count growing too, and would
			 * time itself, not the master)
			 */
			unsigned long long running = map_count(live);

			if (now - grow_at >= GROWTH_SPAN_MS) {
				int64_t late = oldest_unheard(now);
				int steady = grow_at != 0 && running > 0 &&
				    running < grow_base * (1 + GROWTH_MAX) &&
				    late < HEARD_MAX_MS;

				if (now - subscribed_at >= o.warm_max_ms ||
				    (steady && now - subscribed_at >= o.warm_min_ms)) {
					w0 = now;
					/*
					 * The probes' first wishes spread over a
					 * probe's cycle: all at once, they would
					 * queue for the same freed slots and time
					 * each other, not the master.
					 */
					for (i = 0; i < nfw; i++)
						if (fws[i].probe)
							fws[i].pnext = now +
							    arc4random_uniform(
							    o.probe_s * 1000 +
							    PROBE_GAP_MS);
					offers0 = n_offers;
					updates0 = n_updates;
					cpu0 = o.pid ? proc_cpu_ticks(o.pid) : -1;
					acpu0 = o.alloc_pid ? proc_cpu_ticks(o.alloc_pid) : -1;
					fprintf(stderr, "load: %s after %lld ms with "
					    "%llu tasks running, %llu without an update, "
					    "the oldest launched %lld ms ago; measuring "
					    "%lld ms\n", steady ? "steady" :
					    "NOT steady (-W)",
					    (long long)(now - subscribed_at), running,
					    n_unheard, (long long)late,
					    (long long)o.window_ms);
				}
				grow_at = now;
				grow_base = running;
			}
			continue;
		}
		if (o.pid && w1 == 0 && now >= next_rss) {
			double r = proc_rss_mb(o.pid);

			if (r > rss_max)
				rss_max = r;
			next_rss = now + 1000;
		}
		if (w1 == 0 && now - w0 >= o.window_ms) {
			w1 = now;
			offers1 = n_offers;
			updates1 = n_updates;
			cpu1 = o.pid ? proc_cpu_ticks(o.pid) : -1;
			acpu1 = o.alloc_pid ? proc_cpu_ticks(o.alloc_pid) : -1;
		}
		if (w1 != 0) {
			/* the probes started in the window may end after it */
			for (i = 0; i < nfw; i++)
				if (fws[i].probe && fws[i].pstate != P_IDLE)
					break;
			if (i == nfw || now - w1 > (o.probe_s + PROBE_GIVEUP_S) * 1000)
				break;
		}
	}
	if (got_signal) {
		/* what it counts as running: failover-storm compares */
		warnx("interrupted with %zu tasks running, %llu launched, %llu "
		    "found lost with a master by reconciling", map_count(live),
		    n_launched, n_reconciled_lost);
		return 1;
	}
	if (o.tasks > 0) {
		double s = (last_finish - first_offer) / 1000.0;

		printf("throughput tasks=%llu tasks_per_s=%.1f\n", n_finished,
		    s > 0 ? n_finished / s : 0);
		fprintf(stderr, "load: %llu launched, %llu finished, %llu failed, "
		    "%llu errors, %llu refused launches, %.2f s from the first "
		    "offer to the last end\n", n_launched, n_finished, n_failed,
		    n_errors, n_accept_failed, s);
		rc = n_failed > 0 || n_finished < (unsigned long long)o.tasks;
	} else {
		double secs = (w1 - w0) / 1000.0, cpu = NAN, acpu = NAN;
		long hz = sysconf(_SC_CLK_TCK);

		if (cpu0 >= 0 && cpu1 >= 0)
			cpu = (double)(cpu1 - cpu0) / hz / secs * 100;
		if (acpu0 >= 0 && acpu1 >= 0)
			acpu = (double)(acpu1 - acpu0) / hz / secs * 100;
		rc = scale_details(acpu);
		printf("scale agents=%d overhead_p50_ms=%.0f overhead_p99_ms=%.0f "
		    "offers_per_s=%.0f updates_per_s=%.0f master_cpu_pct=%.0f "
		    "master_rss_mb=%.0f\n", o.agents, percentile(&overhead, 50),
		    percentile(&overhead, 99), (offers1 - offers0) / secs,
		    (updates1 - updates0) / secs, cpu, rss_max);
	}
	/* gone for good: what it was offered goes back to others at once */
	for (i = 0; i < nfw; i++) {
		sched_teardown(fws[i].s);
		sched_destroy(fws[i].s);
	}
	free(pfd);
	return rc;
}
