/*
 * opt-service: the service example on shared state (cluster-protocol(7),
 * SHARED STATE).  It keeps N instances of a command running, placing them
 * itself from its copy of every agent's free resources and launching them
 * by COMMIT.  Each decision takes a while (-d, a slow scheduler as in the
 * Omega paper), so its view may be stale when the transaction arrives:
 * the instances that conflict are placed again once a FREE record has
 * refreshed the view.  See README.md.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example.h"
#include "util.h"

#define MAX_INSTANCES	1000
#define NAME_MAX_LEN	40	/* ids carry the instance and generation */
#define TICK_MS		50	/* decisions start and end on a tick */
#define DECIDE_MS	500	/* the decision time by default */
#define RECONCILE_MS	5000	/* how often the master is asked about our tasks */
#define STALE_MS	5000	/* retry on an unchanged view after this long */

struct optsvc {
	struct ex_common c;		/* name, command, cpus, mem, ... */
	struct ex_view	 view;
	int		 n;
	struct ex_slot	*slots;
	int64_t		 decide_ms;	/* -d */
	json_t		*tasks;		/* the transaction being decided */
	int64_t		 commit_at;	/* when the decision is over */
	int		 inflight;	/* a COMMIT awaits its answer */
	unsigned long	 decide_gen;	/* the view's generation at decide() */
	unsigned long	 retry_gen;	/* view generation a retry waits past */
	int64_t		 retry_since;
	int		 tx, generation, restarts, conflicts, last_running;
	int64_t		 next_reconcile;
};

static void
usage(void)
{
	fprintf(stderr, "usage: opt-service [-c cpus] [-d decide] [-m master] "
	    "[-M mem] [-n name]\n"
	    "                   [-N instances] -- command\n");
	exit(100);
}

/* Print the number of running instances when it changed. */
static void
report(struct optsvc *sv)
{
	int running = ex_slots_running(sv->slots, sv->n);

	if (running == sv->last_running)
		return;
	sv->last_running = running;
	printf("opt-service running=%d/%d restarts=%d conflicts=%d\n", running,
	    sv->n, sv->restarts, sv->conflicts);
}

/*
 * Start a decision: place every empty slot on the agent of the view with
 * the most free cpus, taking the room off the view.  The transaction goes
 * out when the decision time has passed; meanwhile the view may move on.
 */
static void
decide(struct optsvc *sv)
{
	struct ex_agent *a;
	json_t *t;
	int i, placed = 0;

	sv->decide_gen = sv->view.gen;
	sv->tasks = json_array();
	for (i = 0; i < sv->n; i++) {
		if (sv->slots[i].state != EX_EMPTY)
			continue;
		if ((a = ex_view_pick(&sv->view, sv->c.cpus, sv->c.mem)) == NULL)
			break;
		t = ex_slot_task(&sv->c, sv->slots, i, &sv->generation,
		    a->agent_id, EX_PLACED);
		json_object_set_new(t, "agent_id", json_string(a->agent_id));
		json_array_append_new(sv->tasks, t);
		a->cpus -= sv->c.cpus;
		a->mem -= sv->c.mem;
		printf("opt-service instance=%d task=%s place agent=%s host=%s\n",
		    i, sv->slots[i].task_id, a->agent_id, a->hostname);
		placed++;
	}
	if (placed == 0) {
		json_decref(sv->tasks);
		sv->tasks = NULL;
		/* no room in the view: wait until it changes */
		sv->retry_gen = sv->view.gen;
		sv->retry_since = now_ms();
		return;
	}
	sv->commit_at = now_ms() + sv->decide_ms;
}

/* The decision is over: send its transaction, the fitting part to launch. */
static void
commit(struct sched *s, struct optsvc *sv)
{
	char id[EX_ID_LEN];

	snprintf(id, sizeof(id), "%s-tx%d", sv->c.opts.name, ++sv->tx);
	printf("opt-service commit %s tasks=%zu\n", id,
	    json_array_size(sv->tasks));
	if (sched_commit(s, id, sv->tasks, SCHED_INCREMENTAL) == 0)
		sv->inflight = 1;
	json_decref(sv->tasks);
	sv->tasks = NULL;
}

/* Mark slot SL empty: its instance is to be placed again. */
static void
slot_lost(struct optsvc *sv, struct ex_slot *sl, const char *why)
{
	printf("opt-service instance=%d task=%s ended: %s\n",
	    (int)(sl - sv->slots), sl->task_id, why);
	sl->state = EX_EMPTY;
	sv->restarts++;
	report(sv);
}

/* The master's answer: launched instances are staged, conflicts retried. */
static void
on_committed(struct sched *s, void *ctx, const struct sched_committed *c)
{
	struct optsvc *sv = ctx;
	struct ex_slot *sl;
	json_t *e;
	size_t i;
	int n = 0;

	(void)s;
	sv->inflight = 0;
	json_array_foreach(c->launched, i, e)
		if (json_is_string(e) &&
		    (sl = ex_slot_of(sv->slots, sv->n,
		    json_string_value(e))) != NULL && sl->state == EX_PLACED)
			sl->state = EX_STAGED;
	json_array_foreach(c->conflicts, i, e) {
		const char *tid = json_string_value(json_object_get(e, "task_id"));
		const char *why = json_string_value(json_object_get(e, "reason"));

		if (tid == NULL || (sl = ex_slot_of(sv->slots, sv->n,
		    tid)) == NULL || sl->state != EX_PLACED)
			continue;
		printf("opt-service instance=%d task=%s conflict: %s\n",
		    (int)(sl - sv->slots), tid, why ? why : "?");
		sl->state = EX_EMPTY;
		n++;
	}
	printf("opt-service %s %s launched=%zu conflicts=%d\n",
	    c->transaction_id, c->outcome, json_array_size(c->launched), n);
	sv->conflicts += n;
	/*
	 * The view we decided on was stale: place again once a FREE record
	 * came after the decision began (it may come before this answer).
	 */
	sv->retry_gen = n > 0 ? sv->decide_gen : 0;
	sv->retry_since = now_ms();
	/* a task neither launched nor in conflict was not taken: place again */
	for (i = 0; i < (size_t)sv->n; i++)
		if (sv->slots[i].state == EX_PLACED)
			sv->slots[i].state = EX_EMPTY;
}

static void
on_free(struct sched *s, void *ctx, const struct sched_free *f)
{
	struct optsvc *sv = ctx;

	(void)s;
	ex_view_update(&sv->view, f);
}

/* Follow our instances' tasks; kill tasks that are no instance's. */
static void
on_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	struct optsvc *sv = ctx;
	struct ex_slot *sl;
	char why[256];

	switch (ex_slot_status(s, sv->slots, sv->n, st, &sl, why,
	    sizeof(why))) {
	case 1:
		slot_lost(sv, sl, why);
		break;
	case 0:
		report(sv);
	}
}

/* AGENT_LOST: its instances go elsewhere even if their TASK_LOST is lost. */
static void
on_agent_lost(struct sched *s, void *ctx, const char *agent_id)
{
	struct optsvc *sv = ctx;
	int i;

	(void)s;
	for (i = 0; i < sv->n; i++)
		if (sv->slots[i].state >= EX_STAGED &&
		    strcmp(sv->slots[i].agent_id, agent_id) == 0)
			slot_lost(sv, &sv->slots[i], "agent lost");
}

/* A refused COMMIT launched nothing: its instances are still missing. */
static void
on_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct optsvc *sv = ctx;
	int i;

	(void)s;
	warnx("master: %s", e->message);
	if (e->about == NULL || strcmp(e->about, R_COMMIT) != 0)
		return;
	sv->inflight = 0;
	for (i = 0; i < sv->n; i++)
		if (sv->slots[i].state == EX_PLACED)
			sv->slots[i].state = EX_EMPTY;
}

/* True when an empty slot may be placed now. */
static int
may_decide(const struct optsvc *sv)
{
	int i;

	if (!sv->view.complete || sv->inflight || sv->tasks != NULL)
		return 0;
	if (sv->retry_gen != 0 && sv->view.gen <= sv->retry_gen &&
	    now_ms() - sv->retry_since < STALE_MS)
		return 0;
	for (i = 0; i < sv->n; i++)
		if (sv->slots[i].state == EX_EMPTY)
			return 1;
	return 0;
}

/* Every tick: signals, the decision's end, a new decision, reconciling. */
static void
on_tick(struct sched *s, void *ctx)
{
	struct optsvc *sv = ctx;

	if (ex_signal) {
		printf("opt-service signal %d: tearing down\n", (int)ex_signal);
		sched_teardown(s);
		return;
	}
	if (sv->tasks != NULL && now_ms() >= sv->commit_at)
		commit(s, sv);
	else if (may_decide(sv)) {
		sv->retry_gen = 0;
		decide(sv);
	}
	if (now_ms() < sv->next_reconcile || !sched_subscribed(s))
		return;
	sv->next_reconcile = now_ms() + RECONCILE_MS;
	ex_slots_reconcile(s, sv->slots, sv->n);
}

static void
on_subscribed(struct sched *s, void *ctx, const char *fw_id, int again)
{
	(void)s;
	(void)ctx;
	printf("opt-service subscribed framework=%s%s\n", fw_id,
	    again ? " (again)" : "");
}

int
main(int argc, char *argv[])
{
	struct optsvc sv = { .n = 1, .last_running = -1,
	    .decide_ms = DECIDE_MS };
	const struct ex_opt own[] = {
		{ 'd', "decide", EX_DURATION, &sv.decide_ms, 0, 0 },
		{ 'N', "instances", EX_COUNT, &sv.n, 1, MAX_INSTANCES },
		{ 0, NULL, 0, NULL, 0, 0 }
	};
	struct sched_callbacks cb = { .subscribed = on_subscribed,
	    .free_resources = on_free, .committed = on_committed,
	    .status = on_status, .agent_lost = on_agent_lost,
	    .error = on_error };
	int rc;

	ex_init(&sv.c, "opt-service");
	sv.c.name_max = NAME_MAX_LEN;
	sv.c.opts.optimistic = 1;
	ex_options(&sv.c, "cmMn", own, argc, argv, usage);
	sv.slots = ex_calloc(sv.n, sizeof(*sv.slots));
	rc = ex_run(&sv.c, &cb, &sv, TICK_MS, on_tick, NULL);
	json_decref(sv.tasks);
	ex_view_free(&sv.view);
	free(sv.slots);
	return rc == 0 ? 0 : 111;
}
