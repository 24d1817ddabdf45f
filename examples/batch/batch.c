/*
 * batch: a Hadoop-style framework.  One job of many short tasks, each
 * reading data that lives on some agents (those whose attribute NAME has
 * the task's value, e.g. rack:r2).  It uses delay scheduling (Zaharia et
 * al., EuroSys 2010): an offer from an agent holding no pending task's
 * data is declined, unless the job has waited longer than the delay for
 * a local launch; then it takes the offer for non-local tasks.  At the
 * end it reports its locality and makespan.  With --executor PROGRAM
 * each task runs in the framework's executor on its agent instead (one
 * per agent, id EXEC_ID, reused by every later task there), which gets
 * the task's command as its data.  See README.md.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example.h"
#include "exits.h"
#include "map.h"
#include "util.h"

#define MAX_TASKS	100000
#define MAX_RACKS	1000
#define MAX_REFUSE_MS	1000	/* longest decline while waiting for locality */
#define MIN_REFUSE_MS	250	/* a decline refuses the whole agent: short */
#define EXEC_ID		"batch"	/* our executor's id on every agent */
#define EXEC_CPUS	100	/* the executor's own share, thousandths */
#define EXEC_MEM	32000
#define OPT_EXECUTOR	EX_LONG_ONLY	/* --executor */

enum tstate { PENDING, LAUNCHED, DONE };

struct btask {
	enum tstate	 state;
	int		 local, attempts;
	char		 data[32];	/* the attribute value holding its data */
	char		 id[EX_ID_LEN];
};

struct batch {
	struct ex_common c;		/* name, command, cpus, mem, ... */
	const char	*attr;
	int64_t		 delay_ms;
	int		 n, racks, pending, done, failed, local, nonlocal;
	struct btask	*t;
	int64_t		 start, wait_since;	/* no local launch since */
	int		 suppressed;
	int		 exit_code;
	const char	*executor;	/* --executor PROGRAM, or NULL */
	struct map	*has_exec;	/* agent ids we started it on */
};

static void
usage(void)
{
	fprintf(stderr, "usage: batch [-A only] [-a attribute] [-c cpus] "
	    "[-d delay] [--executor program] [-m master]\n"
	    "             [-M mem] [-n name] [-N tasks] [-r racks] -- command\n");
	exit(100);
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

/*
 * Make task D, of index IDX with its data on DATA, one for our executor:
 * the command, behind the export of its environment, becomes its data.
 */
static void
to_executor(const struct batch *b, json_t *d, const char *idx,
    const char *data, int local)
{
	char res[64];
	const char *ctl = getenv("CTL");
	json_t *xenv = json_object();
	char *cmd, *exe;

	/* values of ours only: digits and r1, r2, ... */
	if (asprintf(&cmd, "export TASK_INDEX=%s DATA=%s LOCAL=%d; %s", idx,
	    data, local, b->c.command) == -1 ||
	    asprintf(&exe, "exec %s", b->executor) == -1)
		err(EXIT_SYSTEM, "asprintf");
	snprintf(res, sizeof(res), "cpus:%g;mem:%g", EXEC_CPUS / 1000.0,
	    EXEC_MEM / 1000.0);
	if (ctl != NULL)	/* shell-executor's cluster-ctl, if not on PATH */
		json_object_set_new(xenv, "CTL", json_string(ctl));
	json_object_del(d, "command");
	json_object_set_new(d, "data", json_string(cmd));
	json_object_set_new(d, "executor", json_pack("{s:s,s:s,s:s,s:o}",
	    "executor_id", EXEC_ID, "command", exe, "resources", res, "env",
	    xenv));
	free(cmd);
	free(exe);
}

/* Add task T to TASKS, to run on agent AGENT; LOCAL says where its data is. */
static void
launch(struct batch *b, struct btask *t, json_t *tasks, int local,
    const struct sched_offer *o)
{
	char idx[16];
	json_t *d;

	t->attempts++;
	snprintf(t->id, sizeof(t->id), "%s-%d-%d", b->c.opts.name, (int)(t - b->t),
	    t->attempts);
	snprintf(idx, sizeof(idx), "%d", (int)(t - b->t));
	d = sched_task(t->id, b->c.resources, b->c.command);
	if (b->executor != NULL)
		to_executor(b, d, idx, t->data, local);
	else
		json_object_set_new(d, "env", json_pack("{s:s,s:s,s:s}",
		    "TASK_INDEX", idx, "DATA", t->data, "LOCAL", local ? "1" : "0"));
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
	/* an agent without our executor yet: its share comes first */
	if (b->executor != NULL && map_get(b->has_exec, o->agent_id) == NULL) {
		cpus -= EXEC_CPUS;
		mem -= EXEC_MEM;
	}
	for (i = 0; i < b->n && cpus >= b->c.cpus && mem >= b->c.mem; i++) {
		if (b->t[i].state != PENDING || strcmp(b->t[i].data, here) != 0)
			continue;
		launch(b, &b->t[i], tasks, 1, o);
		nlocal++;
		cpus -= b->c.cpus;
		mem -= b->c.mem;
	}
	if (nlocal > 0)
		b->wait_since = now;
	waited = now - b->wait_since;
	/* the job waited long enough for locality: fill the rest anyway */
	if (waited >= b->delay_ms)
		for (i = 0; i < b->n && cpus >= b->c.cpus && mem >= b->c.mem; i++) {
			if (b->t[i].state != PENDING)
				continue;
			launch(b, &b->t[i], tasks, 0, o);
			cpus -= b->c.cpus;
			mem -= b->c.mem;
		}
	if (json_array_size(tasks) > 0) {
		if (b->executor != NULL)
			map_put(b->has_exec, o->agent_id, b);
		sched_accept(s, o->offer_id, tasks, 0);
	} else {
		int64_t left = b->delay_ms - waited;

		/* see this agent again about when the delay is up */
		if (left > MAX_REFUSE_MS)
			left = MAX_REFUSE_MS;
		if (left < MIN_REFUSE_MS)	/* or the offer was too small */
			left = MIN_REFUSE_MS;
		sched_decline(s, o->offer_id, left / 1000.0);
	}
	json_decref(tasks);
	if (b->pending == 0)
		ex_want_offers(s, &b->suppressed, 0);
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
		ex_want_offers(s, &b->suppressed, 1);
	}
	if (b->done == b->n) {
		printf("batch tasks=%d local=%d nonlocal=%d failed=%d "
		    "makespan_s=%.2f", b->n, b->local, b->nonlocal, b->failed,
		    (now_ms() - b->start) / 1000.0);
		if (b->executor != NULL)
			printf(" executors=%zu", map_count(b->has_exec));
		printf("\n");
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

	if (ex_signal) {
		b->exit_code = 128 + ex_signal;
		sched_teardown(s);
	}
}

/* The job starts, and waits for locality, from the scheduler's start. */
static void
on_start(void *ctx)
{
	struct batch *b = ctx;

	b->start = b->wait_since = now_ms();
}

int
main(int argc, char *argv[])
{
	struct batch b = { .attr = "rack", .n = 10, .racks = 2,
	    .delay_ms = 3000 };
	const struct ex_opt own[] = {
		{ 'a', "attribute", EX_STRING, &b.attr, 0, 0 },
		{ 'd', "delay", EX_DURATION, &b.delay_ms, 0, 0 },
		{ 'N', "tasks", EX_COUNT, &b.n, 1, MAX_TASKS },
		{ 'r', "racks", EX_COUNT, &b.racks, 1, MAX_RACKS },
		{ OPT_EXECUTOR, "executor", EX_STRING, &b.executor, 0, 0 },
		{ 0, NULL, 0, NULL, 0, 0 }
	};
	struct sched_callbacks cb = { .offer = on_offer, .status = on_status,
	    .error = on_error };
	int rc, i;

	ex_init(&b.c, "batch");
	ex_options(&b.c, "AcmMn", own, argc, argv, usage);
	b.t = ex_calloc(b.n, sizeof(*b.t));
	/* task i's data is on rack r(i mod racks + 1), as HDFS blocks spread */
	for (i = 0; i < b.n; i++)
		snprintf(b.t[i].data, sizeof(b.t[i].data), "r%d", i % b.racks + 1);
	b.pending = b.n;
	b.has_exec = map_create();
	rc = ex_run(&b.c, &cb, &b, EX_TICK_MS, on_tick, on_start);
	map_destroy(b.has_exec);
	free(b.t);
	return rc == 0 ? b.exit_code : 111;
}
