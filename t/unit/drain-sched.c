/*
 * drain-sched: a framework on sched(3) for t/0720: it launches one task
 * ("sleep 300") on the first offer, declines the others, and prints one
 * line a drain callback, "drain AGENT HOSTNAME DEADLINE_MS REASON", and
 * one a status update, "status TASK STATE REASON"; it exits after the
 * task ends.  The master is $CLUSTER_MASTER.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"

/* What the callbacks share. */
struct drain_ctx {
	int	launched;
};

/* The first offer runs the task; the others are declined. */
static void
on_offer(struct sched *s, void *ctx, const struct sched_offer *o)
{
	struct drain_ctx *c = ctx;
	json_t *tasks;

	if (c->launched) {
		sched_decline(s, o->offer_id, 1);
		return;
	}
	c->launched = 1;
	tasks = json_array();
	json_array_append_new(tasks, sched_task("held", "cpus:0.5;mem:64",
	    "sleep 300"));
	sched_accept(s, o->offer_id, tasks, 1);
	json_decref(tasks);
}

/* The drain notice, as the library passes it on. */
static void
on_drain(struct sched *s, void *ctx, const struct sched_drain *d)
{
	(void)s;
	(void)ctx;
	printf("drain %s %s %lld %s\n", d->agent_id, d->hostname ?
	    d->hostname : "-", d->deadline_ms, d->reason);
	fflush(stdout);
}

/* Every update is printed; the task's end ends the program. */
static void
on_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	(void)ctx;
	printf("status %s %s %s\n", st->task_id, st->state, st->reason ?
	    st->reason : "-");
	fflush(stdout);
	if (st->terminal)
		sched_stop(s);
}

int
main(void)
{
	struct sched_callbacks cb = { .offer = on_offer, .drain = on_drain,
	    .status = on_status };
	struct sched_opts opts = { .name = "drain-sched" };
	struct drain_ctx c = { 0 };
	char e[SCHED_ERRLEN];
	struct sched *s;
	int r;

	if ((s = sched_create(&opts, &cb, &c, e)) == NULL)
		errx(1, "%s", e);
	r = sched_run(s, 0, NULL);
	sched_destroy(s);
	return r == 0 ? 0 : 1;
}
