/*
 * arch: the workload of t/bench/architectures.  One process runs four
 * frameworks on sched(3), each a handle with a socket of its own, one per
 * kind of the Mesos paper's macrobenchmark (NSDI 2011, 6.1) and of the
 * Omega paper's workloads (EuroSys 2013, 3):
 *
 *   batch	Hadoop-like jobs of many short tasks
 *   iter	Spark-like jobs: waves of tasks, each wave after the last ends
 *   gang	MPI-like jobs: K tasks that start all together or not at all
 *   service	jobs of long tasks placed one at a time, each placement
 *		taking the scheduler D seconds to decide (-D)
 *
 * Every kind runs in mode offers (two-level, Mesos) or optimistic (shared
 * state, Omega); -m picks the row of the Omega paper's table:
 *
 *   static	offers, each framework only on its own partition of agents
 *		(SUBSCRIBE filter "part:K", K the kind's number 0..3:
 *		agent-emu -a 'part:%{i%4}')
 *   offers	offers, every agent
 *   shared	optimistic, every agent
 *   mix	batch and gang by offers, iter and service optimistic
 *
 * The jobs are drawn from -s SEED alone (each kind, job and task from its
 * own stream), so that every row runs the very same workload.  Jobs arrive
 * for -t seconds; then the run waits for the last to end (at most -g more
 * seconds).  Emulated agents end each task after its "duration".  -x F
 * scales every task's duration and every gap between arrivals by F (the
 * decision times stay), so that a test runs the same shape in seconds.
 *
 * A decision takes time: a round of placement (of N tasks) keeps the
 * scheduler busy N times its kind's decision time (-d, and -D for the
 * service) before its ACCEPTs or its COMMIT go out.  Offers held in the
 * meantime are held from every other framework, and the free resources a
 * shared-state round placed against grow stale: that cost is what the
 * papers compare.  An offers-mode gang hoards offers until they hold its K
 * tasks; a shared-state gang commits all K at once, all or nothing.
 *
 * Printed, one figure a line ("arch row=R kind=K NAME=VALUE"; kind=all
 * for the cluster): util_cpu_mean and util_mem_mean (held by running
 * tasks over the total, -c and -M, sampled every second while jobs
 * arrive), and per kind jobs, jobs_done, jct_p50_s and jct_p95_s (job
 * completion: arrival to its last task's end, over the jobs that ended),
 * jct_p50_lb_s (the median over every job, one not ended counting as
 * ending with the run: a lower bound), busy (fraction of the run
 * spent deciding), and, in shared state, commits and conflict_frac (the
 * fraction of transactions with a conflict).  -o FILE gets the time
 * series: "t_s util_cpu util_mem" and a running count per kind.
 *
 * Exit status: 0, 1 when jobs did not end or tasks failed, 100 on a
 * usage error, 111 on a system failure.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "map.h"
#include "proto.h"
#include "rec.h"
#include "res.h"
#include "scheduler.h"
#include "util.h"

#define ID_LEN		64
#define TICK_MS		50
#define SAMPLE_MS	1000	/* utilization sampled this often */
#define HOLD_MAX	4096	/* offers one framework holds at most */
#define ROUND_MAX	1000	/* tasks in one round (COMMIT's own limit) */
#define DECLINE_S	1.0	/* an offer not used: back soon */
#define SUBSCRIBE_WAIT_MS 30000
#define SNAPSHOT_WAIT_MS 2000	/* for the shared-state views to fill */

enum kind { K_BATCH, K_ITER, K_GANG, K_SERVICE, NKIND };
enum mode { M_OFFERS, M_SHARED };

/* The shape of one kind's jobs; times in seconds. */
struct kspec {
	const char	*name;
	const char	*res;		/* one task's */
	double		 gap;		/* mean time between arrivals (exp) */
	int		 tmin, tmax;	/* tasks a wave, uniform */
	int		 waves;
	double		 dmin, dmax;	/* a task's duration, uniform ... */
	double		 dexp;		/* ... or exponential with this mean */
	int		 round_max;	/* tasks one decision places */
};

static struct kspec ks[NKIND] = {
	{ "batch", "cpus:1;mem:1024", 2, 20, 200, 1, 0.5, 30, 4, ROUND_MAX },
	{ "iter", "cpus:1;mem:2048", 20, 40, 40, 5, 2, 4, 0, ROUND_MAX },
	{ "gang", "cpus:2;mem:2048", 15, 64, 64, 1, 20, 20, 0, ROUND_MAX },
	{ "service", "cpus:1;mem:1024", 30, 20, 20, 1, 60, 60, 0, 1 },
};

struct job {
	enum kind	 kind;
	int		 no;
	int64_t		 arrive;	/* ms after the start */
	int		 per_wave, wave, wave_left, left;
	int64_t		 end;		/* ms after the start; 0 until then */
};

/* A task waiting to be placed. */
struct ptask {
	int	job, wave, idx;
};

/* An offer held by an offers-mode framework, and what a round put on it. */
struct hold {
	char		 id[ID_LEN];
	struct res	 res;
	json_t		*tasks;
	int		 gone;		/* rescinded meanwhile */
};

/* One agent of a shared-state framework's view. */
struct vagent {
	char		 id[ID_LEN];
	struct res	 free;
	long long	 version;
};

/* A task launched (or being launched), until it ends. */
struct rtask {
	int	fw, job, wave, idx;
	int	heard, running;
	char	via[ID_LEN];		/* offer or transaction */
};

struct fw {
	enum kind	 kind;
	enum mode	 mode;
	struct sched	*s;
	int		 subscribed, suppressed, due;
	struct res	 need;
	int64_t		 cpus, mem;	/* one task's, thousandths */
	struct ptask	*pend;
	size_t		 npend, cap;
	struct hold	 held[HOLD_MAX];
	int		 nheld;
	int		 nround;	/* the first nround are decided on */
	struct map	*view;		/* agent id -> struct vagent */
	int		 round;		/* deciding: until busy_until */
	int64_t		 busy_until, busy_ms;
	json_t		*commit;	/* the shared round's tasks */
	int		 inflight;	/* a COMMIT awaits its answer */
	char		 txn[ID_LEN];
	unsigned long long commits, conflicted, task_conflicts;
	unsigned long long launched, failed, running;
	int		 jobs, jobs_done;
	double		*jct;
};

static struct fw fws[NKIND];
static struct job *jobs;
static int njobs, nextjob;
static struct map *rt;		/* task id -> struct rtask */
static int64_t t0, submit_ms = 120000, grace_ms = 120000;
static double decide_s = 0.005, service_decide_s = 0.1, xscale = 1;
static double total_cpus, total_mem;
static unsigned long long seed = 1;
static const char *row = "offers";
static FILE *series;
static volatile sig_atomic_t got_signal;

static void
usage(void)
{
	fprintf(stderr, "usage: arch -c cpus -M mem-mb [-D service-decide] "
	    "[-d decide] [-g grace]\n"
	    "            [-m static|offers|shared|mix] [-o series] "
	    "[-s seed] [-t seconds]\n"
	    "            [-x time-scale]\n");
	exit(100);
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* A uniform draw in [0, 1) from the stream (SEED, A, B, C): splitmix64. */
static double
draw(unsigned long long a, unsigned long long b, unsigned long long c)
{
	unsigned long long z = seed * 0x9e3779b97f4a7c15ULL +
	    a * 0xbf58476d1ce4e5b9ULL + b * 0x94d049bb133111ebULL + c;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

/* The duration of task IDX of wave W of job J, in seconds. */
static double
task_duration(const struct job *j, int w, int idx)
{
	const struct kspec *k = &ks[j->kind];
	double u = draw(1000 + j->kind, (unsigned long long)j->no * 64 + w,
	    (unsigned long long)idx);
	double d;

	if (k->dexp > 0)
		d = -k->dexp * log(1 - u);
	else
		d = k->dmin + (k->dmax - k->dmin) * u;
	d = d < k->dmin ? k->dmin : d > k->dmax ? k->dmax : d;
	return d * xscale;
}

/* Every job of the run, in order of arrival, from the seed alone. */
static void
make_jobs(void)
{
	int k, n, cap = 0;

	for (k = 0; k < NKIND; k++) {
		double at = 0;

		for (n = 0;; n++) {
			struct job *j;

			at += -ks[k].gap * xscale *
			    log(1 - draw(k, (unsigned)n, 0));
			if (at * 1000 >= submit_ms)
				break;
			if (njobs == cap) {
				cap = cap ? 2 * cap : 64;
				if ((jobs = reallocarray(jobs, cap,
				    sizeof(*jobs))) == NULL)
					err(111, "jobs");
			}
			j = &jobs[njobs++];
			memset(j, 0, sizeof(*j));
			j->kind = k;
			j->no = n;
			j->arrive = (int64_t)(at * 1000);
			j->per_wave = ks[k].tmin + (int)(draw(k, (unsigned)n, 1) *
			    (ks[k].tmax - ks[k].tmin + 1));
			j->left = j->per_wave * ks[k].waves;
			fws[k].jobs++;
		}
	}
}

static int
cmp_arrival(const void *a, const void *b)
{
	const struct job *x = a, *y = b;

	return x->arrive < y->arrive ? -1 : x->arrive > y->arrive;
}

/* Queue wave W of job J on its framework and ask for offers again. */
static void
enqueue_wave(int ji, int w)
{
	struct job *j = &jobs[ji];
	struct fw *f = &fws[j->kind];
	int i;

	j->wave = w;
	j->wave_left = j->per_wave;
	for (i = 0; i < j->per_wave; i++) {
		if (f->npend == f->cap) {
			f->cap = f->cap ? 2 * f->cap : 256;
			if ((f->pend = reallocarray(f->pend, f->cap,
			    sizeof(*f->pend))) == NULL)
				err(111, "pending");
		}
		f->pend[f->npend++] = (struct ptask){ ji, w, i };
	}
	if (f->mode == M_OFFERS && f->suppressed) {
		sched_revive(f->s);
		f->suppressed = 0;
	}
}

/* Put the task T back at the head of its framework's queue. */
static void
requeue(struct fw *f, const struct rtask *t)
{
	if (f->npend == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 256;
		if ((f->pend = reallocarray(f->pend, f->cap,
		    sizeof(*f->pend))) == NULL)
			err(111, "pending");
	}
	memmove(f->pend + 1, f->pend, f->npend * sizeof(*f->pend));
	f->pend[0] = (struct ptask){ t->job, t->wave, t->idx };
	f->npend++;
	f->launched--;
	if (f->mode == M_OFFERS && f->suppressed) {
		sched_revive(f->s);
		f->suppressed = 0;
	}
}

/* A task description for P, tracked as launched through VIA. */
static json_t *
make_task(struct fw *f, const struct ptask *p, const char *via)
{
	struct job *j = &jobs[p->job];
	struct rtask *t;
	char id[ID_LEN], d[32];
	double dur = task_duration(j, p->wave, p->idx);
	json_t *task;

	snprintf(id, sizeof(id), "%s-%d-%d-%d", ks[f->kind].name, j->no,
	    p->wave, p->idx);
	snprintf(d, sizeof(d), "%.3f", dur);
	task = sched_task(id, ks[f->kind].res, "sleep");
	json_object_del(task, "command");
	rec_set_num(task, "duration", dur);
	json_object_set_new(task, "argv", json_pack("[s,s]", "sleep", d));
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    map_put(rt, id, t) == -1)
		err(111, "tasks");
	*t = (struct rtask){ f->kind, p->job, p->wave, p->idx, 0, 0, "" };
	strlcpy(t->via, via, sizeof(t->via));
	f->launched++;
	return task;
}

/* Drop the first N tasks of F's queue: they are placed. */
static void
dequeue(struct fw *f, size_t n)
{
	memmove(f->pend, f->pend + n, (f->npend - n) * sizeof(*f->pend));
	f->npend -= n;
}

/*
 * How many of F's queued tasks one round places: a gang's K tasks or
 * none, else up to the kind's round size.
 */
static size_t
round_want(const struct fw *f)
{
	size_t n = f->npend, k;

	if (f->kind == K_GANG) {
		/* the head job's tasks: a gang requeued in part comes first */
		for (k = 0; k < n && f->pend[k].job == f->pend[0].job; k++)
			;
		return k;
	}
	if (n > (size_t)ks[f->kind].round_max)
		n = ks[f->kind].round_max;
	return n;
}

/* Start deciding: N tasks placed keep F busy N decisions long. */
static void
round_start(struct fw *f, size_t n, int64_t now)
{
	double per = f->kind == K_SERVICE ? service_decide_s : decide_s;
	int64_t ms = (int64_t)(n * per * 1000);

	f->round = 1;
	f->busy_until = now + ms;
	f->busy_ms += ms;
}

/*
 * Offers mode: place queued tasks on the offers held, first fit; a gang
 * places nothing (and keeps hoarding) until the offers hold all of it.
 */
static void
offers_plan(struct fw *f, int64_t now)
{
	struct res left[HOLD_MAX];
	size_t want = round_want(f), n = 0;
	int i;

	if (f->round || want == 0 || f->nheld == 0)
		return;
	for (i = 0; i < f->nheld; i++)
		if (res_copy(&left[i], &f->held[i].res) == -1)
			err(111, "offer");
	for (i = 0; i < f->nheld && n < want; i++)
		while (n < want && res_contains(&left[i], &f->need)) {
			res_sub(&left[i], &f->need);
			n++;
		}
	if (n == want || f->kind != K_GANG) {
		for (i = 0; i < f->nheld; i++)
			res_copy(&left[i], &f->held[i].res);
		n = 0;
		for (i = 0; i < f->nheld && n < want; i++) {
			f->held[i].tasks = json_array();
			while (n < want && res_contains(&left[i], &f->need)) {
				res_sub(&left[i], &f->need);
				json_array_append_new(f->held[i].tasks,
				    make_task(f, &f->pend[n], f->held[i].id));
				n++;
			}
		}
		dequeue(f, n);
		if (n > 0) {
			f->nround = f->nheld;
			round_start(f, n, now);
		}
	}
	for (i = 0; i < f->nheld; i++)
		res_free(&left[i]);
}

/* Requeue every task launched through VIA that has not been heard of. */
static void
launch_lost(struct fw *f, const char *via)
{
	const char *key;
	struct rtask *t;
	size_t pos = 0;
	char **ids = NULL;
	size_t n = 0, i;

	while ((t = map_next(rt, &pos, &key)) != NULL)
		if (t->fw == (int)f->kind && !t->heard &&
		    strcmp(t->via, via) == 0) {
			if ((ids = reallocarray(ids, n + 1, sizeof(*ids))) ==
			    NULL || (ids[n++] = strdup(key)) == NULL)
				err(111, "lost");
		}
	for (i = 0; i < n; i++) {
		t = map_del(rt, ids[i]);
		requeue(f, t);
		free(t);
		free(ids[i]);
	}
	free(ids);
}

/*
 * Offers mode: the decision is made; answer the offers it was made on.
 * Those that came meanwhile wait for the next round, or are declined when
 * nothing waits.
 */
static void
offers_finish(struct fw *f)
{
	int i;

	for (i = 0; i < f->nheld; i++) {
		if (i >= f->nround && f->npend > 0) {
			f->held[i - f->nround] = f->held[i];
			continue;
		}
		struct hold *h = &f->held[i];

		if (h->gone)
			launch_lost(f, h->id);
		else if (h->tasks != NULL && json_array_size(h->tasks) > 0)
			sched_accept(f->s, h->id, h->tasks, DECLINE_S);
		else
			sched_decline(f->s, h->id, DECLINE_S);
		json_decref(h->tasks);
		h->tasks = NULL;
		res_free(&h->res);
	}
	f->nheld = f->npend > 0 ? f->nheld - f->nround : 0;
	f->nround = 0;
	f->round = 0;
	if (f->npend == 0 && !f->suppressed) {
		sched_suppress(f->s);
		f->suppressed = 1;
	}
}

/* An OFFER: hold it for the next round, or decline it when idle. */
static void
on_offer(struct sched *s, void *ctx, const struct sched_offer *off)
{
	struct fw *f = ctx;
	struct hold *h;

	if (!res_contains(off->res, &f->need) || f->nheld == HOLD_MAX) {
		/* too small for one task: holding it helps nobody */
		sched_decline(s, off->offer_id, DECLINE_S);
		return;
	}
	if (f->npend == 0 && !f->round) {
		sched_decline(s, off->offer_id, DECLINE_S);
		if (f->npend == 0 && !f->round && !f->suppressed) {
			sched_suppress(s);
			f->suppressed = 1;
		}
		return;
	}
	h = &f->held[f->nheld++];
	memset(h, 0, sizeof(*h));
	strlcpy(h->id, off->offer_id, sizeof(h->id));
	if (res_copy(&h->res, off->res) == -1)
		err(111, "offer");
	offers_plan(f, now_ms());
}

/* RESCIND: an offer held is gone; tasks accepted on it never ran. */
static void
on_rescind(struct sched *s, void *ctx, const char *offer_id)
{
	struct fw *f = ctx;
	int i;

	(void)s;
	for (i = 0; i < f->nheld; i++)
		if (strcmp(f->held[i].id, offer_id) == 0) {
			if (f->round && i < f->nround) {
				f->held[i].gone = 1;
				return;
			}
			res_free(&f->held[i].res);
			json_decref(f->held[i].tasks);
			f->held[i] = f->held[--f->nheld];
			return;
		}
	launch_lost(f, offer_id);
}

/* Shared state: one agent's free resources, into the view. */
static void
on_free(struct sched *s, void *ctx, const struct sched_free *fr)
{
	struct fw *f = ctx;
	struct vagent *a;

	(void)s;
	if (fr->agent_id == NULL)
		return;
	a = map_get(f->view, fr->agent_id);
	if (strcmp(fr->state, "gone") == 0 || strcmp(fr->state, "active")) {
		if (a != NULL) {
			map_del(f->view, fr->agent_id);
			res_free(&a->free);
			free(a);
		}
		return;
	}
	if (a == NULL) {
		if ((a = calloc(1, sizeof(*a))) == NULL ||
		    map_put(f->view, fr->agent_id, a) == -1)
			err(111, "view");
		strlcpy(a->id, fr->agent_id, sizeof(a->id));
	} else
		res_free(&a->free);
	if (res_copy(&a->free, fr->res) == -1)
		err(111, "view");
	a->version = fr->version;
}

/*
 * Shared state: place queued tasks on the view, from an agent drawn at
 * random (as Omega's schedulers, so that two do not pick alike by
 * construction), taking them off the view at once.
 */
static void
shared_plan(struct fw *f, int64_t now)
{
	size_t want = round_want(f), n = 0, na = map_count(f->view), i, pos;
	struct vagent **all, *a;
	const char *key;

	if (f->round || f->inflight || want == 0 || na == 0)
		return;
	if ((all = calloc(na, sizeof(*all))) == NULL)
		err(111, "view");
	pos = 0;
	i = 0;
	while ((a = map_next(f->view, &pos, &key)) != NULL && i < na)
		all[i++] = a;
	na = i;
	pos = arc4random_uniform((uint32_t)na);
	for (i = 0; i < na && n < want; i++) {
		struct res r;

		a = all[(pos + i) % na];
		res_copy(&r, &a->free);
		while (n < want && res_contains(&r, &f->need)) {
			res_sub(&r, &f->need);
			n++;
		}
		res_free(&r);
	}
	if (n == 0 || (f->kind == K_GANG && n < want)) {
		free(all);
		return;
	}
	snprintf(f->txn, sizeof(f->txn), "tx-%s-%llu", ks[f->kind].name,
	    f->commits);
	f->commit = json_array();
	n = 0;
	for (i = 0; i < na && n < want; i++) {
		a = all[(pos + i) % na];
		while (n < want && res_contains(&a->free, &f->need)) {
			json_t *t = make_task(f, &f->pend[n], f->txn);

			rec_set_str(t, "agent_id", a->id);
			json_array_append_new(f->commit, t);
			res_sub(&a->free, &f->need);
			n++;
		}
	}
	free(all);
	dequeue(f, n);
	round_start(f, n, now);
}

/* Shared state: the decision is made; commit it. */
static void
shared_finish(struct fw *f)
{
	int flags = f->kind == K_BATCH || f->kind == K_ITER ?
	    SCHED_INCREMENTAL : 0;

	if (sched_commit(f->s, f->txn, f->commit, flags) == -1)
		errx(111, "%s: commit refused", ks[f->kind].name);
	json_decref(f->commit);
	f->commit = NULL;
	f->inflight = 1;
	f->round = 0;
}

/* COMMITTED: count conflicts; the tasks that conflicted wait again. */
static void
on_committed(struct sched *s, void *ctx, const struct sched_committed *c)
{
	struct fw *f = ctx;
	json_t *x;
	size_t i;

	(void)s;
	if (strcmp(c->transaction_id, f->txn) != 0)
		return;
	f->inflight = 0;
	f->commits++;
	if (strcmp(c->outcome, "committed") != 0)
		f->conflicted++;
	f->task_conflicts += json_array_size(c->conflicts);
	if (strcmp(c->outcome, "aborted") == 0) {
		launch_lost(f, f->txn);
		return;
	}
	json_array_foreach(c->conflicts, i, x) {
		struct rtask *t = map_del(rt, rec_str(x, "task_id"));

		if (t != NULL) {
			requeue(f, t);
			free(t);
		}
	}
}

/* An ERROR: a refused ACCEPT or COMMIT launched nothing. */
static void
on_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct fw *f = ctx;
	const char *via = NULL;

	(void)s;
	warnx("%s: master: %s", ks[f->kind].name, e->message);
	if (e->rec == NULL || e->about == NULL)
		return;
	if (strcmp(e->about, R_ACCEPT) == 0)
		via = rec_str(e->rec, "offer_id");
	else if (strcmp(e->about, R_COMMIT) == 0) {
		via = f->txn;
		f->inflight = 0;
	}
	if (via != NULL)
		launch_lost(f, via);
}

/* A job's task ended: the job, or its wave, may be over. */
static void
task_ended(struct fw *f, struct rtask *t, int64_t now)
{
	struct job *j = &jobs[t->job];

	j->left--;
	if (--j->wave_left == 0 && j->wave + 1 < ks[j->kind].waves)
		enqueue_wave(t->job, j->wave + 1);
	if (j->left == 0) {
		j->end = now - t0;
		f->jct[f->jobs_done++] = (j->end - j->arrive) / 1000.0;
	}
}

/* A status update: count what runs; an end may end a wave or a job. */
static void
on_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	struct fw *f = ctx;
	struct rtask *t;

	(void)s;
	if (st->reconcile || (t = map_get(rt, st->task_id)) == NULL)
		return;
	t->heard = 1;
	if (!st->terminal) {
		if (!t->running && strcmp(st->state, TASK_RUNNING) == 0) {
			t->running = 1;
			f->running++;
		}
		return;
	}
	map_del(rt, st->task_id);
	if (t->running)
		f->running--;
	if (strcmp(st->state, TASK_FINISHED) != 0) {
		warnx("%s: %s %s", st->task_id, st->state,
		    st->message ? st->message : "");
		f->failed++;
	}
	task_ended(f, t, now_ms());
	free(t);
}

static void
on_subscribed(struct sched *s, void *ctx, const char *id, int again)
{
	struct fw *f = ctx;

	(void)s;
	(void)id;
	(void)again;
	f->subscribed = 1;
}

/* Subscribe framework K in mode M; static rows filter its partition. */
static void
fw_start(enum kind k, enum mode m, int partition)
{
	static const struct sched_callbacks cb = {
		.subscribed = on_subscribed, .offer = on_offer,
		.rescind = on_rescind, .status = on_status, .error = on_error,
		.free_resources = on_free, .committed = on_committed,
	};
	struct sched_opts so = { 0 };
	struct fw *f = &fws[k];
	char name[32], filter[32], e[SCHED_ERRLEN], rerr[RES_ERRLEN];

	f->kind = k;
	f->mode = m;
	snprintf(name, sizeof(name), "arch-%s", ks[k].name);
	snprintf(filter, sizeof(filter), "part:%d", (int)k);
	so.name = name;
	so.optimistic = m == M_SHARED;
	so.filter_attributes = partition ? filter : NULL;
	if (res_parse(ks[k].res, &f->need, rerr) == -1)
		errx(111, "%s: %s", ks[k].res, rerr);
	f->cpus = res_get(&f->need, "cpus");
	f->mem = res_get(&f->need, "mem");
	if ((f->view = map_create()) == NULL ||
	    (f->jct = calloc(f->jobs + 1, sizeof(*f->jct))) == NULL)
		err(111, "framework");
	if ((f->s = sched_create(&so, &cb, f, e)) == NULL)
		errx(111, "%s", e);
}

/* Dispatch every framework whose socket is readable or timers are due. */
static void
poll_all(int64_t next)
{
	struct pollfd pfd[NKIND];
	int64_t now = now_ms();
	int i, wait = next > now ? (int)(next - now) : 0;

	for (i = 0; i < NKIND; i++) {
		int t = sched_timeout(fws[i].s);

		pfd[i] = (struct pollfd){ sched_fd(fws[i].s), POLLIN, 0 };
		fws[i].due = t == 0;
		if (t < wait)
			wait = t;
	}
	if (poll(pfd, NKIND, wait) == -1 && errno != EINTR)
		err(111, "poll");
	for (i = 0; i < NKIND; i++)
		if (((pfd[i].revents & POLLIN) || fws[i].due) &&
		    sched_dispatch(fws[i].s) == -1)
			errx(111, "%s: the socket failed", ks[i].name);
}

/* End every framework, and give the TEARDOWNs time to leave. */
static void
teardown_all(void)
{
	int i, k;

	for (i = 0; i < NKIND; i++)
		sched_teardown(fws[i].s);
	for (k = 0; k < 10; k++) {
		poll(NULL, 0, TICK_MS / 5);
		for (i = 0; i < NKIND; i++)
			(void)sched_dispatch(fws[i].s);
	}
}

/* Jobs due, rounds decided, rounds to start. */
static void
tick(int64_t now)
{
	int i;

	while (nextjob < njobs && t0 + jobs[nextjob].arrive <= now) {
		enqueue_wave(nextjob, 0);
		nextjob++;
	}
	for (i = 0; i < NKIND; i++) {
		struct fw *f = &fws[i];

		if (f->round && now >= f->busy_until) {
			if (f->mode == M_OFFERS)
				offers_finish(f);
			else
				shared_finish(f);
		}
		if (f->mode == M_OFFERS)
			offers_plan(f, now);
		else
			shared_plan(f, now);
	}
}

/* Sample the cluster's utilization: a line of the series, into the sums. */
static void
sample(int64_t now, double *ucpu, double *umem, int *n)
{
	double c = 0, m = 0;
	int i;

	for (i = 0; i < NKIND; i++) {
		c += fws[i].running * fws[i].cpus / 1000.0;
		m += fws[i].running * fws[i].mem / 1000.0;
	}
	if (series != NULL) {
		fprintf(series, "%.1f %.4f %.4f", (now - t0) / 1000.0,
		    c / total_cpus, m / total_mem);
		for (i = 0; i < NKIND; i++)
			fprintf(series, " %llu", fws[i].running);
		fputc('\n', series);
	}
	if (now - t0 <= submit_ms) {
		*ucpu += c / total_cpus;
		*umem += m / total_mem;
		(*n)++;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The P-th percentile of the N sorted V (nearest rank); NAN when empty. */
static double
percentile(const double *v, int n, double p)
{
	int k = (int)ceil(p / 100 * n);

	return n == 0 ? NAN : v[k > 0 ? k - 1 : 0];
}

/*
 * The median JCT of kind K counting every job, one not ended as if it
 * ended at ELAPSED: a lower bound that a saturated scheduler still has,
 * where the median of the jobs done has too few jobs or none.
 */
static double
jct_p50_lb(enum kind k, int64_t elapsed)
{
	double *v, p;
	int i, n = 0;

	if ((v = calloc(fws[k].jobs + 1, sizeof(*v))) == NULL)
		err(111, "report");
	for (i = 0; i < njobs; i++)
		if (jobs[i].kind == k)
			v[n++] = ((jobs[i].end ? jobs[i].end : elapsed) -
			    jobs[i].arrive) / 1000.0;
	qsort(v, n, sizeof(*v), cmp_double);
	p = percentile(v, n, 50);
	free(v);
	return p;
}

/* Every figure of the row, one a line. */
static int
report(double ucpu, double umem, int64_t elapsed)
{
	int i, bad = 0;

	printf("arch row=%s kind=all util_cpu_mean=%.3f\n", row, ucpu);
	printf("arch row=%s kind=all util_mem_mean=%.3f\n", row, umem);
	printf("arch row=%s kind=all makespan_s=%.1f\n", row, elapsed / 1000.0);
	for (i = 0; i < NKIND; i++) {
		struct fw *f = &fws[i];
		const char *k = ks[i].name;

		qsort(f->jct, f->jobs_done, sizeof(*f->jct), cmp_double);
		printf("arch row=%s kind=%s mode=%s jobs=%d\n", row, k,
		    f->mode == M_OFFERS ? "offers" : "shared", f->jobs);
		printf("arch row=%s kind=%s jobs_done=%d\n", row, k,
		    f->jobs_done);
		printf("arch row=%s kind=%s jct_p50_s=%.2f\n", row, k,
		    percentile(f->jct, f->jobs_done, 50));
		printf("arch row=%s kind=%s jct_p95_s=%.2f\n", row, k,
		    percentile(f->jct, f->jobs_done, 95));
		printf("arch row=%s kind=%s jct_p50_lb_s=%.2f\n", row, k,
		    jct_p50_lb(i, elapsed));
		printf("arch row=%s kind=%s busy=%.4f\n", row, k,
		    elapsed > 0 ? (double)f->busy_ms / elapsed : 0);
		if (f->mode == M_SHARED) {
			printf("arch row=%s kind=%s commits=%llu\n", row, k,
			    f->commits);
			printf("arch row=%s kind=%s conflict_frac=%.4f\n", row,
			    k, f->commits ? (double)f->conflicted /
			    f->commits : 0);
		}
		if (f->failed > 0)
			warnx("%s: %llu tasks failed", k, f->failed);
		bad |= f->jobs_done < f->jobs || f->failed > 0;
	}
	return bad;
}

/* A positive (or, when ZERO_OK, zero) number of option C, or exit 100. */
static double
num_arg(int c, const char *arg, int zero_ok)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !isfinite(v) ||
	    v < 0 || (v == 0 && !zero_ok))
		errx(100, "-%c %s: not a %s number", c, arg,
		    zero_ok ? "non-negative" : "positive");
	return v;
}

/* Whole seconds of option C, 1 to a day, in milliseconds; or exit 100. */
static int64_t
seconds_arg(int c, const char *arg)
{
	const char *errstr;
	long long v = strtonum(arg, 1, 86400, &errstr);

	if (errstr != NULL)
		errx(100, "-%c %s: %s", c, arg, errstr);
	return v * 1000;
}

/* The options into the globals; the series file is OUT. */
static void
parse_args(int argc, char *argv[], const char **out)
{
	const char *errstr;
	int c;

	while ((c = getopt(argc, argv, "c:D:d:g:M:m:o:s:t:x:")) != -1) {
		switch (c) {
		case 'c':
			total_cpus = num_arg(c, optarg, 0);
			break;
		case 'D':
			service_decide_s = num_arg(c, optarg, 1);
			break;
		case 'd':
			decide_s = num_arg(c, optarg, 1);
			break;
		case 'g':
			grace_ms = seconds_arg(c, optarg);
			break;
		case 'M':
			total_mem = num_arg(c, optarg, 0);
			break;
		case 'm':
			row = optarg;
			break;
		case 'o':
			*out = optarg;
			break;
		case 's':
			seed = strtonum(optarg, 0, LLONG_MAX, &errstr);
			if (errstr != NULL)
				errx(100, "-s %s: %s", optarg, errstr);
			break;
		case 't':
			submit_ms = seconds_arg(c, optarg);
			break;
		case 'x':
			xscale = num_arg(c, optarg, 0);
			break;
		default:
			usage();
		}
	}
	if (argc != optind || total_cpus == 0 || total_mem == 0)
		usage();
}

/* Wait until every framework is subscribed, then for the views to fill. */
static void
wait_subscribed(void)
{
	int64_t end = now_ms() + SUBSCRIBE_WAIT_MS;
	int i, all;

	for (;;) {
		for (all = 1, i = 0; i < NKIND; i++)
			all &= fws[i].subscribed;
		if (all)
			break;
		if (now_ms() > end || got_signal)
			errx(111, "not every framework subscribed");
		poll_all(now_ms() + TICK_MS);
	}
	end = now_ms() + SNAPSHOT_WAIT_MS;
	while (now_ms() < end && !got_signal)
		poll_all(end);
}

/*
 * The run: jobs arrive until -t, then it lasts until the last ends or -g
 * more seconds pass.  Utilization sums go to UCPU and UMEM over NS
 * samples.  Returns the run's length in ms.
 */
static int64_t
run(double *ucpu, double *umem, int *ns)
{
	int64_t now, next_sample;
	int i, done;

	t0 = now = now_ms();
	next_sample = t0;
	while (!got_signal) {
		now = now_ms();
		if (now >= next_sample) {
			sample(now, ucpu, umem, ns);
			next_sample += SAMPLE_MS;
		}
		tick(now);
		if (nextjob == njobs && now - t0 >= submit_ms) {
			for (done = 1, i = 0; i < NKIND; i++)
				done &= fws[i].jobs_done == fws[i].jobs;
			if (done || now - t0 >= submit_ms + grace_ms)
				break;
		}
		poll_all(now + TICK_MS < next_sample ? now + TICK_MS :
		    next_sample);
	}
	return now - t0;
}

int
main(int argc, char *argv[])
{
	const char *out = NULL;
	enum mode mode[NKIND] = { M_OFFERS, M_OFFERS, M_OFFERS, M_OFFERS };
	double ucpu = 0, umem = 0;
	int64_t elapsed;
	int i, rc, ns = 0, part = 0;

	parse_args(argc, argv, &out);
	if (strcmp(row, "static") == 0)
		part = 1;
	else if (strcmp(row, "shared") == 0)
		for (i = 0; i < NKIND; i++)
			mode[i] = M_SHARED;
	else if (strcmp(row, "mix") == 0)
		mode[K_ITER] = mode[K_SERVICE] = M_SHARED;
	else if (strcmp(row, "offers") != 0)
		usage();
	if (out != NULL && (series = fopen(out, "w")) == NULL)
		err(111, "%s", out);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	make_jobs();
	qsort(jobs, njobs, sizeof(*jobs), cmp_arrival);
	if ((rt = map_create()) == NULL)
		err(111, "map");
	for (i = 0; i < NKIND; i++)
		fw_start(i, mode[i], part);
	wait_subscribed();
	elapsed = run(&ucpu, &umem, &ns);
	if (series != NULL && fclose(series) == EOF)
		err(111, "%s", out);
	if (got_signal)
		errx(111, "stopped by signal %d", (int)got_signal);
	rc = report(ns ? ucpu / ns : 0, ns ? umem / ns : 0, elapsed);
	teardown_all();
	return rc;
}
