/*
 * service: a Marathon-style framework.  It keeps N instances of a command
 * running: an instance whose task ends (whatever the state), becomes
 * unreachable or whose agent is lost is launched again, under a new task
 * id, on whatever agent offers room; a replaced task that shows up again
 * is killed.  See README.md.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example.h"
#include "util.h"

#define MAX_INSTANCES	1000
#define NAME_MAX_LEN	40	/* longer than the others': ids carry less */
#define TICK_MS		200	/* how often signals and timers are checked */
#define RECONCILE_MS	5000	/* how often the master is asked about our tasks */
#define REFUSE_FULL_S	2	/* decline an offer we have no use for now */
#define REFUSE_SMALL_S	0.25	/* too small, but instances are missing */

struct service {
	struct ex_common c;		/* name, command, cpus, mem, ... */
	int		 n, per_agent;
	struct ex_slot	*slots;
	int		 generation, restarts, last_running, suppressed;
	int64_t		 next_reconcile;
};

static void
usage(void)
{
	fprintf(stderr, "usage: service [-c cpus] [-m master] [-M mem] "
	    "[-n name] [-N instances]\n"
	    "               [-p max-per-agent] -- command\n");
	exit(100);
}

/* Print the number of running instances when it changed. */
static void
report(struct service *sv)
{
	int running = ex_slots_running(sv->slots, sv->n);

	if (running == sv->last_running)
		return;
	sv->last_running = running;
	printf("service running=%d/%d restarts=%d\n", running, sv->n,
	    sv->restarts);
}

/* Mark slot SL empty (its instance is to be launched again); offers on. */
static void
slot_lost(struct sched *s, struct service *sv, struct ex_slot *sl,
    const char *why)
{
	printf("service instance=%d task=%s ended: %s\n", (int)(sl - sv->slots),
	    sl->task_id, why);
	sl->state = EX_EMPTY;
	sv->restarts++;
	ex_want_offers(s, &sv->suppressed, 1);
	report(sv);
}

/* Launch as many missing instances as OFFER holds room for. */
static void
on_offer(struct sched *s, void *ctx, const struct sched_offer *o)
{
	struct service *sv = ctx;
	int64_t cpus = res_get(o->res, "cpus"), mem = res_get(o->res, "mem");
	json_t *tasks = json_array();
	int i, here = 0, missing = 0;

	for (i = 0; i < sv->n; i++)
		if (sv->slots[i].state != EX_EMPTY &&
		    strcmp(sv->slots[i].agent_id, o->agent_id) == 0)
			here++;
	for (i = 0; i < sv->n; i++) {
		if (sv->slots[i].state != EX_EMPTY)
			continue;
		if (cpus < sv->c.cpus || mem < sv->c.mem ||
		    (sv->per_agent > 0 && here >= sv->per_agent)) {
			missing++;
			continue;
		}
		json_array_append_new(tasks, ex_slot_task(&sv->c, sv->slots, i,
		    &sv->generation, o->agent_id, EX_STAGED));
		printf("service instance=%d task=%s launch agent=%s host=%s\n",
		    i, sv->slots[i].task_id, o->agent_id, o->hostname);
		cpus -= sv->c.cpus;
		mem -= sv->c.mem;
		here++;
	}
	if (json_array_size(tasks) > 0)
		sched_accept(s, o->offer_id, tasks, missing ? 0 : REFUSE_FULL_S);
	else	/* a decline refuses the whole agent: short if we need room */
		sched_decline(s, o->offer_id, missing ? REFUSE_SMALL_S :
		    REFUSE_FULL_S);
	json_decref(tasks);
	if (missing == 0)
		ex_want_offers(s, &sv->suppressed, 0);
}

/* Follow our instances' tasks; kill tasks that are no instance's. */
static void
on_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	struct service *sv = ctx;
	struct ex_slot *sl;
	char why[256];

	switch (ex_slot_status(s, sv->slots, sv->n, st, &sl, why,
	    sizeof(why))) {
	case 1:
		slot_lost(s, sv, sl, why);
		break;
	case 0:
		report(sv);
	}
}

/* AGENT_LOST: its instances go elsewhere even if their TASK_LOST is lost. */
static void
on_agent_lost(struct sched *s, void *ctx, const char *agent_id)
{
	struct service *sv = ctx;
	int i;

	printf("service agent %s lost\n", agent_id);
	for (i = 0; i < sv->n; i++)
		if (sv->slots[i].state != EX_EMPTY &&
		    strcmp(sv->slots[i].agent_id, agent_id) == 0)
			slot_lost(s, sv, &sv->slots[i], "agent lost");
}

/* A refused ACCEPT launched nothing: its instances are still missing. */
static void
on_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct service *sv = ctx;
	int i;

	warnx("master: %s", e->message);
	if (e->about == NULL || strcmp(e->about, R_ACCEPT) != 0)
		return;
	for (i = 0; i < sv->n; i++)
		if (sv->slots[i].state == EX_STAGED && !sv->slots[i].heard)
			slot_lost(s, sv, &sv->slots[i], "launch refused");
}

/* Every tick: leave on a signal; now and then, reconcile our tasks. */
static void
on_tick(struct sched *s, void *ctx)
{
	struct service *sv = ctx;

	if (ex_signal) {
		printf("service signal %d: tearing down\n", (int)ex_signal);
		sched_teardown(s);
		return;
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
	printf("service subscribed framework=%s%s\n", fw_id,
	    again ? " (again)" : "");
}

int
main(int argc, char *argv[])
{
	struct service sv = { .n = 1, .last_running = -1 };
	const struct ex_opt own[] = {
		{ 'N', "instances", EX_COUNT, &sv.n, 1, MAX_INSTANCES },
		{ 'p', "max-per-agent", EX_COUNT, &sv.per_agent, 1,
		    MAX_INSTANCES },
		{ 0, NULL, 0, NULL, 0, 0 }
	};
	struct sched_callbacks cb = { .subscribed = on_subscribed,
	    .offer = on_offer, .status = on_status,
	    .agent_lost = on_agent_lost, .error = on_error };
	int rc;

	ex_init(&sv.c, "service");
	sv.c.name_max = NAME_MAX_LEN;
	ex_options(&sv.c, "cmMn", own, argc, argv, usage);
	sv.slots = ex_calloc(sv.n, sizeof(*sv.slots));
	rc = ex_run(&sv.c, &cb, &sv, TICK_MS, on_tick, NULL);
	free(sv.slots);
	return rc == 0 ? 0 : 111;
}
