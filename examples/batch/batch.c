/*
 * batch: a Hadoop-style framework.  One job of many short tasks, each
 * reading data that lives on some agents (those whose attribute NAME has
 * the task's value, e.g. rack:r2).  It uses delay scheduling (Zaharia et
 * al., EuroSys 2010): an offer from an agent holding no pending task's
 * data is declined, unless the job has waited longer than the delay for
 * a local launch; then it takes the offer for non-local tasks.  At the
 * end it reports its locality and makespan.  See README.md.
 */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"
#include "util.h"

#define MAX_TASKS	100000
#define TICK_MS		100
#define MAX_REFUSE_MS	1000	/* longest decline while waiting for locality */
#define MIN_REFUSE_MS	250	/* a decline refuses the whole agent: short */
#define ID_LEN		64

enum tstate { PENDING, LAUNCHED, DONE };

struct btask {
	enum tstate	 state;
	int		 local, attempts;
	char		 data[32];	/* the attribute value holding its data */
	char		 id[ID_LEN];
};

struct batch {
	const char	*name, *command, *attr;
	char		 resources[128];
	int64_t		 cpus, mem, delay_ms;
	int		 n, racks, pending, done, failed, local, nonlocal;
	struct btask	*t;
	int64_t		 start, wait_since;	/* no local launch since */
	int		 suppressed;
	int		 exit_code;
};

static volatile sig_atomic_t got_signal;

static void
usage(void)
{
	fprintf(stderr, "usage: batch [-A only] [-a attribute] [-c cpus] "
	    "[-d delay] [-m master] [-M mem]\n"
	    "             [-n name] [-N tasks] [-r racks] -- command\n");
	exit(100);
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* The value of attribute NAME in ATTRS ("a:x;b:y") into BUF; 0 or -1. */
static int
attr_value(const char *attrs, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);
	const char *p = attrs;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
			size_t vl = strcspn(p + nl + 1, ";");

			if (vl >= len)
				return -1;
			memcpy(buf, p + nl + 1, vl);
			buf[vl] = '\0';
			return 0;
		}
		if ((p = strchr(p, ';')) != NULL)
			p++;
	}
	return -1;
}

/* Add task T to TASKS, to run on agent AGENT; LOCAL says where its data is. */
static void
launch(struct batch *b, struct btask *t, json_t *tasks, int local,
    const struct sched_offer *o)
{
	char idx[16];
	json_t *d;

	t->attempts++;
	snprintf(t->id, sizeof(t->id), "%s-%d-%d", b->name, (int)(t - b->t),
	    t->attempts);
	snprintf(idx, sizeof(idx), "%d", (int)(t - b->t));
	d = sched_task(t->id, b->resources, b->command);
	json_object_set_new(d, "env", json_pack("{s:s,s:s,s:s}", "TASK_INDEX",
	    idx, "DATA", t->data, "LOCAL", local ? "1" : "0"));
	json_array_append_new(tasks, d);
	t->state = LAUNCHED;
	t->local = local;
	b->pending--;
	printf("batch task=%s data=%s host=%s %s\n", t->id, t->data,
	    o->hostname, local ? "local" : "nonlocal");
}

/* Delay scheduling: local tasks first; others only after waiting long. */
static void
on_offer(struct sched *s, void *ctx, const struct sched_offer *o)
{
	struct batch *b = ctx;
	int64_t cpus = res_get(o->res, "cpus"), mem = res_get(o->res, "mem");
	int64_t now = now_ms(), waited;
	json_t *tasks = json_array();
	char here[32];
	int i, nlocal = 0;

	if (attr_value(o->attributes, b->attr, here, sizeof(here)) == -1)
		here[0] = '\0';
	for (i = 0; i < b->n && cpus >= b->cpus && mem >= b->mem; i++) {
		if (b->t[i].state != PENDING || strcmp(b->t[i].data, here) != 0)
			continue;
		launch(b, &b->t[i], tasks, 1, o);
		nlocal++;
		cpus -= b->cpus;
		mem -= b->mem;
	}
	if (nlocal > 0)
		b->wait_since = now;
	waited = now - b->wait_since;
	/* the job waited long enough for locality: fill the rest anyway */
	if (waited >= b->delay_ms)
		for (i = 0; i < b->n && cpus >= b->cpus && mem >= b->mem; i++) {
			if (b->t[i].state != PENDING)
				continue;
			launch(b, &b->t[i], tasks, 0, o);
			cpus -= b->cpus;
			mem -= b->mem;
		}
	if (json_array_size(tasks) > 0)
		sched_accept(s, o->offer_id, tasks, 0);
	else {
		int64_t left = b->delay_ms - waited;

		/* see this agent again about when the delay is up */
		if (left > MAX_REFUSE_MS)
			left = MAX_REFUSE_MS;
		if (left < MIN_REFUSE_MS)	/* or the offer was too small */
			left = MIN_REFUSE_MS;
		sched_decline(s, o->offer_id, left / 1000.0);
	}
	json_decref(tasks);
	if (b->pending == 0 && !b->suppressed) {
		sched_suppress(s);
		b->suppressed = 1;
	}
}

static void
on_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	struct batch *b = ctx;
	struct btask *t = NULL;
	int i;

	if (!st->terminal)
		return;
	for (i = 0; i < b->n; i++)
		if (b->t[i].state == LAUNCHED && strcmp(b->t[i].id, st->task_id) == 0)
			t = &b->t[i];
	if (t == NULL)
		return;
	if (strcmp(st->state, TASK_FINISHED) == 0 ||
	    strcmp(st->state, TASK_FAILED) == 0) {
		/* the task ran: its own failure is the job's result */
		t->state = DONE;
		b->done++;
		if (strcmp(st->state, TASK_FINISHED) == 0) {
			if (t->local)
				b->local++;
			else
				b->nonlocal++;
		} else
			b->failed++;
	} else {
		/* lost or killed by no one's wish: run it again */
		t->state = PENDING;
		b->pending++;
		if (b->suppressed) {
			sched_revive(s);
			b->suppressed = 0;
		}
	}
	if (b->done == b->n) {
		printf("batch tasks=%d local=%d nonlocal=%d failed=%d "
		    "makespan_s=%.2f\n", b->n, b->local, b->nonlocal, b->failed,
		    (now_ms() - b->start) / 1000.0);
		b->exit_code = b->failed > 0;
		sched_teardown(s);
	}
}

static void
on_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	(void)s;
	(void)ctx;
		warnx("master: %s", e->message);
}

static void
on_tick(struct sched *s, void *ctx)
{
	struct batch *b = ctx;

	if (got_signal) {
		b->exit_code = 128 + got_signal;
		sched_teardown(s);
	}
}

/* Parse a scalar option into thousandths or exit with status 100. */
static int64_t
scalar_arg(const char *name, const char *arg)
{
	char e[RES_ERRLEN];
	int64_t v;

	if (res_scalar_parse(name, arg, &v, e) == -1)
		errx(100, "%s", e);
	return v;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "attribute", required_argument, NULL, 'a' },
		{ "only", required_argument, NULL, 'A' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "delay", required_argument, NULL, 'd' },
		{ "master", required_argument, NULL, 'm' },
		{ "mem", required_argument, NULL, 'M' },
		{ "name", required_argument, NULL, 'n' },
		{ "tasks", required_argument, NULL, 'N' },
		{ "racks", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct batch b = { .name = "batch", .attr = "rack", .n = 10, .racks = 2 };
	struct sched_callbacks cb = { .offer = on_offer, .status = on_status,
	    .error = on_error };
	struct sched_opts opts = { 0 };
	const char *errstr;
	char why[SCHED_ERRLEN];
	struct sigaction sa;
	struct sched *s;
	int ch, rc, i;

	b.cpus = 500;
	b.mem = 64000;
	b.delay_ms = 3000;
	while ((ch = getopt_long(argc, argv, "A:a:c:d:m:M:n:N:r:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			b.attr = optarg;
			break;
		case 'A':
			opts.filter_attributes = optarg;
			break;
		case 'c':
			b.cpus = scalar_arg("cpus", optarg);
			break;
		case 'd':
			if (duration_parse(optarg, &b.delay_ms, &errstr) == -1)
				errx(100, "delay '%s': %s", optarg, errstr);
			break;
		case 'm':
			opts.master = optarg;
			break;
		case 'M':
			b.mem = scalar_arg("mem", optarg);
			break;
		case 'n':
			if (!id_valid(optarg) || strlen(optarg) > 32)
				errx(100, "name '%s': use 1-32 of [A-Za-z0-9._-]",
				    optarg);
			b.name = optarg;
			break;
		case 'N':
			b.n = strtonum(optarg, 1, MAX_TASKS, &errstr);
			if (errstr != NULL)
				errx(100, "tasks '%s': %s", optarg, errstr);
			break;
		case 'r':
			b.racks = strtonum(optarg, 1, 1000, &errstr);
			if (errstr != NULL)
				errx(100, "racks '%s': %s", optarg, errstr);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	b.command = argv[optind];
	snprintf(b.resources, sizeof(b.resources), "cpus:%g;mem:%g",
	    b.cpus / 1000.0, b.mem / 1000.0);
	if ((b.t = calloc(b.n, sizeof(*b.t))) == NULL)
		err(111, "calloc");
	/* task i's data is on rack r(i mod racks + 1), as HDFS blocks spread */
	for (i = 0; i < b.n; i++)
		snprintf(b.t[i].data, sizeof(b.t[i].data), "r%d", i % b.racks + 1);
	b.pending = b.n;
	opts.name = b.name;
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((s = sched_create(&opts, &cb, &b, why)) == NULL)
		errx(111, "%s", why);
	b.start = b.wait_since = now_ms();
	rc = sched_run(s, TICK_MS, on_tick);
	sched_destroy(s);
	free(b.t);
	return rc == 0 ? b.exit_code : 111;
}
