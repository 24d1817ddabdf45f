/*
 * load: M frameworks in one process, speaking the master protocol over one
 * socket, as the Mesos paper's scalability experiment (NSDI 2011, 6.5):
 * each load framework starts one task on every agent it is offered, with
 * a duration drawn from a normal distribution (mean 30 s, sd 10 s by
 * default), and acknowledges every status update.  Probe frameworks
 * measure the overhead: each wants to run a 10 s task, and the time from
 * that wish (REVIVE) to its TASK_FINISHED, less 10 s, is one sample (it
 * includes waiting for an offer, accepting, the launch and the updates).
 *
 * Scale mode (default) waits for the frameworks to subscribe, warms up
 * until the number of running tasks stops growing, measures for a window
 * and prints one line:
 *   scale agents=N overhead_p50_ms=X overhead_p99_ms=Y offers_per_s=O
 *       updates_per_s=U master_cpu_pct=C master_rss_mb=R
 * where offers and updates are the OFFER and STATUS records the
 * frameworks received per second, and CPU and RSS are the master's (-x
 * pid) over the window.  Details go to stderr.
 *
 * The probes have a socket of their own, read before and between batches
 * of the load's records, as each framework of the paper was a process of
 * its own: a probe's sample is the master's latency, not the time its
 * records waited behind the load's in this process.
 *
 * Throughput mode (-n N) runs N tasks of `true` (argv, no duration) as
 * fast as offers allow, packing each offer full, and prints
 *   throughput tasks=N tasks_per_s=X
 * counted from the first offer to the last TASK_FINISHED.
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
#include "net.h"
#include "proto.h"
#include "rec.h"
#include "res.h"
#include "util.h"

#define ID_LEN		64
#define SUBSCRIBE_RETRY_MS 1000
#define HEARTBEAT_MS	5000
#define TICK_MS		100
#define RECV_BATCH	20000
#define DECLINE_S	5.0	/* refuse an offer that does not fit */
#define RATE_DECLINE_S	1.0	/* refuse an offer over the -L rate */
#define FAST_DECLINE_S	0.1	/* throughput mode: the agent frees soon */
#define PROBE_IDLE_S	60.0	/* a probe framework between probes */
#define PROBE_GAP_MS	1000	/* at most, between two probes */
#define PROBE_GIVEUP_S	30	/* past its duration: a probe failed */
#define GROWTH_SPAN_MS	5000	/* steady: running tasks grew less than */
#define GROWTH_MAX	0.02	/* this fraction over that span */
#define ERRORS_SHOWN	5

enum probe_state { P_IDLE, P_WANT, P_LAUNCHED };

struct fw {
	char		 id[ID_LEN];
	int		 probe;
	int		 subscribed;
	int64_t		 next_sub, next_hb;
	enum probe_state pstate;
	int64_t		 pstart;	/* when the probe was wanted */
	int64_t		 pnext;		/* when the next probe is wanted */
	char		 ptask[ID_LEN];
	char		 poffer[ID_LEN];
};

struct opts {
	int		 frameworks, probes, agents, pid, alloc_pid;
	long		 tasks;		/* throughput mode when > 0 */
	double		 mean, sd, probe_s;
	const char	*res;
	int64_t		 warm_min_ms, warm_max_ms, window_ms;
	double		 rate;		/* load launches per second at most */
};

static struct opts o = {
	.frameworks = 200, .probes = 10, .mean = 30, .sd = 10, .probe_s = 10,
	.res = "cpus:1;mem:128", .warm_min_ms = 20000, .warm_max_ms = 120000,
	.window_ms = 30000,
};

/* A socket to the master and the records it refused, to send later. */
struct link {
	struct net	*net;
	struct net_queue q;
};
static struct link lload, lprobe;	/* the load's and the probes' */
#define LINK(f)	((f)->probe ? &lprobe : &lload)

static struct fw *fws;
static int nfw, nsubscribed;
static struct map *by_id;
static struct res need;
static char tag[32];
static unsigned long long seq;
static volatile sig_atomic_t got_signal;

/* counters */
static unsigned long long n_offers, n_updates, n_launched, n_ended, n_finished;
static unsigned long long n_failed, n_errors, n_rescinds, p_failed;
static unsigned long long n_accept_failed;
static struct map *live;	/* task id -> struct ltask, until it ends */
static struct map *accepts;	/* offer id -> its tasks, until one speaks */

struct ltask {
	char	offer[ID_LEN];
};
static double *samples;
static size_t nsamples, capsamples;
static int64_t first_offer, last_finish;

static void
usage(void)
{
	fprintf(stderr, "usage: load [-a agents] [-d window] [-f frameworks] "
	    "[-L rate] [-m master] [-M mean]\n"
	    "            [-n tasks] [-p probes] [-P probe-seconds] "
	    "[-r resources] [-S stddev]\n"
	    "            [-w warmup-min] [-W warmup-max] [-x master-pid] "
	    "[-y allocator-pid]\n");
	exit(100);
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* Send REC (consumed) on L now, or after the records its socket refused. */
static void
send_rec(struct link *l, json_t *rec)
{
	if (net_queue_send(l->net, &l->q, rec, 0) == -1)
		errx(111, "send queue: out of memory");
}

/* A sample of the normal distribution N(MEAN, SD), by Box-Muller. */
static double
normal(double mean, double sd)
{
	double u1 = (arc4random() + 1.0) / 4294967297.0;
	double u2 = arc4random() / 4294967296.0;

	return mean + sd * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* utime + stime of process PID in clock ticks, or -1. */
static long long
proc_cpu(int pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* the command may hold spaces and parentheses: skip past the last ')' */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
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

static void
subscribe(struct fw *f, int64_t now)
{
	json_t *r = rec_new(R_SUBSCRIBE);

	rec_set_str(r, "name", f->probe ? "probe" : "load");
	rec_set_str(r, "framework_id", f->id);
	rec_set_num(r, "failover_timeout", 0);
	send_rec(LINK(f), r);
	f->next_sub = now + SUBSCRIBE_RETRY_MS;
}

/* Send a record of TYPE with only the framework id of F. */
static void
fw_call(struct fw *f, const char *type)
{
	json_t *r = rec_new(type);

	rec_set_str(r, "framework_id", f->id);
	send_rec(LINK(f), r);
}

static void
decline(struct fw *f, const char *offer, double refuse)
{
	json_t *r = rec_new(R_DECLINE);

	rec_set_str(r, "framework_id", f->id);
	rec_set_str(r, "offer_id", offer);
	rec_set_num(r, "refuse_seconds", refuse);
	send_rec(LINK(f), r);
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
	} else
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

/* Remember the TASKS (a task array) accepted on OFFER until they end. */
static void
track(const char *offer, json_t *tasks)
{
	json_t *t;
	size_t i;

	json_array_foreach(tasks, i, t) {
		struct ltask *l = calloc(1, sizeof(*l));

		if (l == NULL || map_put(live, rec_str(t, "task_id"), l) == -1)
			err(111, "tasks");
		strlcpy(l->offer, offer, sizeof(l->offer));
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
		free(map_del(live, rec_str(t, "task_id")));
		n_launched--;
		n_accept_failed++;
	}
	json_decref(tasks);
}

/* F's answer to OFFER REC: tasks that fit, or a decline. */
static void
handle_offer(struct fw *f, json_t *rec, int64_t now)
{
	const char *offer = rec_str(rec, "offer_id");
	char err[RES_ERRLEN], id[ID_LEN];
	struct res have;
	json_t *acc, *tasks;
	int room, fits, k = 0;

	n_offers++;
	if (first_offer == 0)
		first_offer = now;
	if (offer == NULL)
		return;
	if (res_parse(rec_str(rec, "resources"), &have, err) == -1) {
		decline(f, offer, DECLINE_S);
		return;
	}
	room = res_contains(&have, &need);
	fits = room && (f->probe || rate_ok(now));
	if (!fits || (f->probe && f->pstate != P_WANT) ||
	    (o.tasks > 0 && (long)n_launched >= o.tasks)) {
		res_free(&have);
		decline(f, offer, f->probe ? PROBE_IDLE_S : room ?
		    RATE_DECLINE_S : o.tasks > 0 ? FAST_DECLINE_S : DECLINE_S);
		return;
	}
	tasks = json_array();
	do {
		snprintf(id, sizeof(id), "%s-%llu", f->probe ? "p" : "t", ++seq);
		if (f->probe) {
			add_task(tasks, id, o.probe_s);
			strlcpy(f->ptask, id, sizeof(f->ptask));
			strlcpy(f->poffer, offer, sizeof(f->poffer));
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
	track(offer, tasks);
	acc = rec_new(R_ACCEPT);
	rec_set_str(acc, "framework_id", f->id);
	rec_set_str(acc, "offer_id", offer);
	json_object_set_new(acc, "tasks", tasks);
	if (o.tasks > 0)
		rec_set_num(acc, "refuse_seconds", 0);
	send_rec(LINK(f), acc);
	if (f->probe)
		fw_call(f, R_SUPPRESS);
}

/* Record one overhead sample when the probe lies in the window. */
static void
probe_done(struct fw *f, const char *state, int64_t now, int64_t w0, int64_t w1)
{
	if (strcmp(state, TASK_FINISHED) != 0)
		p_failed++;
	else if (w0 != 0 && f->pstart >= w0 && (w1 == 0 || f->pstart <= w1)) {
		if (nsamples == capsamples) {
			capsamples = capsamples ? 2 * capsamples : 256;
			samples = reallocarray(samples, capsamples, sizeof(*samples));
			if (samples == NULL)
				err(111, "samples");
		}
		samples[nsamples++] = (double)(now - f->pstart) - o.probe_s * 1000;
	}
	f->pstate = P_IDLE;
	f->pnext = now + arc4random_uniform(PROBE_GAP_MS);
}

static void
handle_status(struct fw *f, json_t *rec, int64_t now, int64_t w0, int64_t w1)
{
	const char *state = rec_str(rec, "state"), *uuid = rec_str(rec, "uuid");
	const char *tid = rec_str(rec, "task_id");
	struct ltask *l;

	n_updates++;
	if (uuid != NULL && tid != NULL) {
		json_t *ack = rec_new(R_ACKNOWLEDGE);

		rec_set_str(ack, "framework_id", f->id);
		rec_set_str(ack, "task_id", tid);
		rec_set_str(ack, "uuid", uuid);
		rec_set_str(ack, "agent_id", rec_str(rec, "agent_id"));
		send_rec(LINK(f), ack);
	}
	if (state == NULL || tid == NULL || rec_bool_or(rec, "reconcile", 0) ||
	    (l = map_get(live, tid)) == NULL)
		return;
	json_decref(map_del(accepts, l->offer));	/* it was launched */
	if (!task_state_terminal(state))
		return;
	free(map_del(live, tid));	/* counted once, retransmissions aside */
	n_ended++;
	if (strcmp(state, TASK_FINISHED) == 0) {
		n_finished++;
		last_finish = now;
	} else
		n_failed++;
	if (f->probe && f->pstate == P_LAUNCHED && strcmp(tid, f->ptask) == 0)
		probe_done(f, state, now, w0, w1);
}

/* Handle one record from the master. */
static void
handle(json_t *rec, int64_t now, int64_t w0, int64_t w1)
{
	const char *type = rec_type(rec), *fid = rec_str(rec, "framework_id");
	struct fw *f = fid != NULL ? map_get(by_id, fid) : NULL;

	if (strcmp(type, R_ERROR) == 0) {
		const char *oid = rec_str(rec, "offer_id");
		int i;

		if (n_errors++ < ERRORS_SHOWN)
			warnx("master: %s", rec_str(rec, "message"));
		if (oid != NULL && strcmp(rec_str(rec, "about") ?
		    rec_str(rec, "about") : "", R_ACCEPT) == 0)
			untrack(oid);
		/* an ACCEPT that failed: a probe waiting for it wants again */
		for (i = 0; oid != NULL && i < nfw; i++)
			if (fws[i].probe && fws[i].pstate == P_LAUNCHED &&
			    strcmp(fws[i].poffer, oid) == 0) {
				fws[i].pstate = P_WANT;
				fw_call(&fws[i], R_REVIVE);
			}
		return;
	}
	if (strcmp(type, R_RESCIND) == 0) {
		n_rescinds++;
		return;
	}
	if (f == NULL)
		return;
	if (strcmp(type, R_SUBSCRIBED) == 0) {
		if (!f->subscribed) {
			f->subscribed = 1;
			nsubscribed++;
			if (f->probe)
				fw_call(f, R_SUPPRESS);
		}
	} else if (strcmp(type, R_OFFER) == 0)
		handle_offer(f, rec, now);
	else if (strcmp(type, R_STATUS) == 0)
		handle_status(f, rec, now, w0, w1);
}

/* Everything the probes' socket holds, and what it refused to send. */
static void
probes_drain(int64_t w0, int64_t w1)
{
	char e[REC_ERRLEN];
	json_t *rec;

	if (lprobe.net == NULL)
		return;
	net_queue_flush(lprobe.net, &lprobe.q);
	while (net_recv(lprobe.net, &rec, NULL, e) == 1) {
		handle(rec, now_ms(), w0, w1);
		json_decref(rec);
	}
	net_queue_flush(lprobe.net, &lprobe.q);
}

/* Subscriptions, heartbeats and the probes' wishes. */
static void
tick(int64_t now, int measuring)
{
	int i;

	for (i = 0; i < nfw; i++) {
		struct fw *f = &fws[i];

		if (!f->subscribed) {
			if (now >= f->next_sub)
				subscribe(f, now);
			continue;
		}
		if (now >= f->next_hb) {
			fw_call(f, R_HEARTBEAT);
			f->next_hb = now + HEARTBEAT_MS;
		}
		if (!f->probe || !measuring)
			continue;
		if (f->pstate == P_IDLE && now >= f->pnext) {
			f->pstate = P_WANT;
			f->pstart = now;
			fw_call(f, R_REVIVE);
		} else if (f->pstate == P_LAUNCHED &&
		    now - f->pstart > (o.probe_s + PROBE_GIVEUP_S) * 1000) {
			warnx("probe %s: no end after %d s", f->ptask,
			    PROBE_GIVEUP_S);
			probe_done(f, TASK_LOST, now, 0, 0);
		}
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The P-th percentile of the sorted samples (nearest rank). */
static double
percentile(double p)
{
	size_t k = (size_t)ceil(p / 100 * nsamples);

	if (nsamples == 0)
		return NAN;
	return samples[k > 0 ? k - 1 : 0];
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
	const char *master = NULL;
	char e[REC_ERRLEN];
	int ch, i, rc = 0;
	int64_t start, subscribed_at = 0, w0 = 0, w1 = 0, next_tick = 0;
	int64_t grow_at = 0, next_rss = 0;
	unsigned long long grow_base = 0, offers0 = 0, updates0 = 0;
	unsigned long long offers1 = 0, updates1 = 0;
	long long cpu0 = -1, acpu0 = -1, cpu1 = -1, acpu1 = -1;
	double rss_max = -1;

	while ((ch = getopt(argc, argv, "a:d:f:L:m:M:n:p:P:r:S:w:W:x:y:")) != -1) {
		switch (ch) {
		case 'a':
			o.agents = (int)opt_num(optarg, 0, 1e7);
			break;
		case 'd':
			o.window_ms = opt_ms(optarg);
			break;
		case 'f':
			o.frameworks = (int)opt_num(optarg, 0, 10000);
			break;
		case 'L':
			o.rate = opt_num(optarg, 0, 1e7);
			break;
		case 'm':
			master = optarg;
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
	nfw = o.frameworks + o.probes;
	if (nfw == 0)
		errx(100, "no frameworks");
	if ((fws = calloc(nfw, sizeof(*fws))) == NULL ||
	    (by_id = map_create()) == NULL || (live = map_create()) == NULL ||
	    (accepts = map_create()) == NULL)
		err(111, "frameworks");
	id_new("load", tag, sizeof(tag));
	for (i = 0; i < nfw; i++) {
		snprintf(fws[i].id, sizeof(fws[i].id), "%s-%s%d", tag,
		    i < o.frameworks ? "f" : "p", i);
		fws[i].probe = i >= o.frameworks;
		map_put(by_id, fws[i].id, &fws[i]);
	}
	if ((lload.net = net_open(NET_PEER, master_endpoint(master), e)) == NULL)
		errx(111, "%s", e);
	if (o.probes > 0 &&
	    (lprobe.net = net_open(NET_PEER, master_endpoint(master), e)) == NULL)
		errx(111, "%s", e);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	start = now_ms();

	while (!got_signal) {
		int64_t now = now_ms();
		json_t *rec;
		int n;

		struct pollfd pfd[2] = {
			{ .fd = net_fd(lload.net), .events = POLLIN },
			{ .fd = lprobe.net ? net_fd(lprobe.net) : -1, .events = POLLIN },
		};

		poll(pfd, 2, lload.q.len + lprobe.q.len > 0 ? 1 :
		    next_tick > now ? (int)(next_tick - now) : 0);
		probes_drain(w0, w1);
		now = now_ms();
		net_queue_flush(lload.net, &lload.q);
		for (n = 0; n < RECV_BATCH &&
		    net_recv(lload.net, &rec, NULL, e) == 1; n++) {
			handle(rec, now, w0, w1);
			json_decref(rec);
			if (n % 64 == 63) {
				probes_drain(w0, w1);
				now = now_ms();
			}
		}
		net_queue_flush(lload.net, &lload.q);
		probes_drain(w0, w1);
		if (now < next_tick)
			continue;
		next_tick = now + TICK_MS;
		tick(now, w0 != 0 && w1 == 0);
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
			/* warm-up: until the running tasks stop growing */
			unsigned long long running = map_count(live);

			if (now - grow_at >= GROWTH_SPAN_MS) {
				int steady = grow_at != 0 && running > 0 &&
				    running < grow_base * (1 + GROWTH_MAX);

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
					cpu0 = o.pid ? proc_cpu(o.pid) : -1;
					acpu0 = o.alloc_pid ? proc_cpu(o.alloc_pid) : -1;
					fprintf(stderr, "load: steady after %lld ms with "
					    "%llu tasks running; measuring %lld ms\n",
					    (long long)(now - subscribed_at), running,
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
			cpu1 = o.pid ? proc_cpu(o.pid) : -1;
			acpu1 = o.alloc_pid ? proc_cpu(o.alloc_pid) : -1;
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
		warnx("interrupted");
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
		return n_failed > 0 || n_finished < (unsigned long long)o.tasks;
	}
	{
		double secs = (w1 - w0) / 1000.0, cpu = NAN, acpu = NAN;
		long hz = sysconf(_SC_CLK_TCK);

		if (cpu0 >= 0 && cpu1 >= 0)
			cpu = (double)(cpu1 - cpu0) / hz / secs * 100;
		if (acpu0 >= 0 && acpu1 >= 0)
			acpu = (double)(acpu1 - acpu0) / hz / secs * 100;
		qsort(samples, nsamples, sizeof(*samples), cmp_double);
		printf("scale agents=%d overhead_p50_ms=%.0f overhead_p99_ms=%.0f "
		    "offers_per_s=%.0f updates_per_s=%.0f master_cpu_pct=%.0f "
		    "master_rss_mb=%.0f\n", o.agents, percentile(50),
		    percentile(99), (offers1 - offers0) / secs,
		    (updates1 - updates0) / secs, cpu, rss_max);
		fprintf(stderr, "load: agents=%d probes=%zu probe_failures=%llu "
		    "overhead_min_ms=%.0f overhead_max_ms=%.0f running=%zu "
		    "launched=%llu finished=%llu failed=%llu errors=%llu "
		    "refused_launches=%llu rescinds=%llu send_queue_max=%zu "
		    "alloc_cpu_pct=%.0f\n", o.agents, nsamples, p_failed,
		    nsamples ? samples[0] : NAN,
		    nsamples ? samples[nsamples - 1] : NAN, map_count(live),
		    n_launched, n_finished, n_failed, n_errors, n_accept_failed,
		    n_rescinds, lload.q.max, acpu);
		rc = nsamples == 0 || p_failed > 0;
	}
	net_close(lload.net);
	if (lprobe.net != NULL)
		net_close(lprobe.net);
	return rc;
}
