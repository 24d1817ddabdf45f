/*
 * gang: an MPI-style framework.  A gang of N tasks starts together or not
 * at all: offers are held until together they have room for all N, then
 * every task is launched at once; offers that cannot complete a gang
 * within the hold time are declined, so that others may use them.  If a
 * task of a gang fails to start, the rest are killed and the gang is
 * tried again.  Gangs run one after another.  See README.md.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example.h"
#include "util.h"

#define MAX_SIZE	1000		/* tasks in one gang */
#define MAX_HELD	256		/* offers held at once */
#define MAX_ATTEMPTS	3		/* starts of one gang */
#define MAX_GANGS	1000000
#define BACKOFF_S	1		/* refuse released offers this long */
#define SMALL_REFUSE_S	0.25		/* an offer too small for one task */

enum gang_state { WAITING, STARTING, RUNNING, ABORTING, DONE };

struct held {
	char		 offer_id[EX_ID_LEN];
	char		 agent_id[EX_ID_LEN];
	int		 slots;		/* tasks of the gang it can hold */
};

struct gang {
	struct ex_common c;		/* name, command, cpus, mem, ... */
	int64_t		 hold_ms, deadline, timeout_ms;
	int		 size, gangs;
	/* the current gang */
	int		 g, attempt, failed_start;
	enum gang_state	 state;
	struct ex_member *m;
	struct held	 held[MAX_HELD];
	int		 nheld;
	int64_t		 hold_since;
	int		 suppressed;
	/* totals */
	int		 ok, failed, released;
	int		 exit_code;
};

static void
usage(void)
{
	fprintf(stderr, "usage: gang [-A only] [-c cpus] [-g gangs] [-m master] "
	    "[-M mem] [-n name]\n"
	    "            [-N size] [-t timeout] [-w hold] -- command\n");
	exit(100);
}

/* How many gang tasks fit in R. */
static int
slots_in(const struct gang *gg, const struct res *r)
{
	int64_t c = res_get(r, "cpus") / gg->c.cpus;
	int64_t m = res_get(r, "mem") / gg->c.mem;

	return (int)(c < m ? c : m);
}

/* Decline every held offer (refused for REFUSE seconds) and forget them. */
static void
release_all(struct sched *s, struct gang *gg, double refuse)
{
	int i;

	for (i = 0; i < gg->nheld; i++)
		sched_decline(s, gg->held[i].offer_id, refuse);
	gg->nheld = 0;
	gg->hold_since = 0;
}

/* Slots in the offers held. */
static int
held_slots(const struct gang *gg)
{
	int i, n = 0;

	for (i = 0; i < gg->nheld; i++)
		n += gg->held[i].slots;
	return n;
}

/* Launch the whole gang on the held offers (which hold enough slots). */
static void
launch_gang(struct sched *s, struct gang *gg)
{
	int i, r = 0, agents = 0;

	gg->attempt++;
	for (i = 0; i < gg->nheld; i++) {
		json_t *tasks = json_array();
		int k;

		for (k = 0; k < gg->held[i].slots && r < gg->size; k++, r++)
			json_array_append_new(tasks, ex_member_task(&gg->c,
			    &gg->m[r], gg->g, gg->attempt, r, gg->size));
		if (json_array_size(tasks) > 0) {
			sched_accept(s, gg->held[i].offer_id, tasks, 0);
			agents++;
		} else
			sched_decline(s, gg->held[i].offer_id, 0);
		json_decref(tasks);
	}
	gg->nheld = 0;
	gg->hold_since = 0;
	gg->state = STARTING;
	gg->failed_start = 0;
	printf("gang %d attempt %d launch tasks=%d agents=%d\n", gg->g,
	    gg->attempt, gg->size, agents);
	/* no more offers until this gang is over */
	ex_want_offers(s, &gg->suppressed, 0);
}

/* Hold OFFER if it helps the waiting gang; launch once enough is held. */
static void
on_offer(struct sched *s, void *ctx, const struct sched_offer *o)
{
	struct gang *gg = ctx;
	int slots = slots_in(gg, o->res);
	struct held *h;

	if (gg->state != WAITING || slots == 0 || gg->nheld == MAX_HELD) {
		/* a decline refuses the whole agent: short while we wait */
		sched_decline(s, o->offer_id, gg->state == WAITING ?
		    SMALL_REFUSE_S : 5);
		return;
	}
	h = &gg->held[gg->nheld++];
	strlcpy(h->offer_id, o->offer_id, sizeof(h->offer_id));
	strlcpy(h->agent_id, o->agent_id, sizeof(h->agent_id));
	h->slots = slots;
	if (gg->hold_since == 0)
		gg->hold_since = now_ms();
	if (held_slots(gg) >= gg->size)
		launch_gang(s, gg);
}

static void
on_rescind(struct sched *s, void *ctx, const char *offer_id)
{
	struct gang *gg = ctx;
	int i;

	(void)s;
	for (i = 0; i < gg->nheld; i++)
		if (strcmp(gg->held[i].offer_id, offer_id) == 0) {
			gg->held[i] = gg->held[--gg->nheld];
			break;
		}
}

/* Start the next gang, or stop when all are done. */
static void
next_gang(struct sched *s, struct gang *gg)
{
	if (gg->g + 1 >= gg->gangs) {
		gg->state = DONE;
		printf("gang done gangs=%d ok=%d failed=%d released=%d\n",
		    gg->gangs, gg->ok, gg->failed, gg->released);
		gg->exit_code = gg->failed > 0;
		sched_teardown(s);
		return;
	}
	gg->g++;
	gg->attempt = 0;
	gg->state = WAITING;
	ex_want_offers(s, &gg->suppressed, 1);
}

/* All members ended: the gang is over, or is to be tried again. */
static void
gang_over(struct sched *s, struct gang *gg)
{
	int fin = ex_members_finished(gg->m, gg->size);

	if (gg->failed_start && gg->attempt < MAX_ATTEMPTS) {
		printf("gang %d attempt %d did not start whole: again\n",
		    gg->g, gg->attempt);
		gg->state = WAITING;
		ex_want_offers(s, &gg->suppressed, 1);
		return;
	}
	if (fin == gg->size)
		gg->ok++;
	else
		gg->failed++;
	printf("gang %d %s finished=%d/%d\n", gg->g, fin == gg->size ?
	    "ok" : "failed", fin, gg->size);
	next_gang(s, gg);
}

static void
on_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	struct gang *gg = ctx;
	int running, ended;

	if (ex_member_status(s, gg->m, gg->size, st, 1, &running,
	    &ended) == NULL)
		return;
	if (gg->state == STARTING && running == gg->size) {
		gg->state = RUNNING;
		printf("gang %d running tasks=%d\n", gg->g, gg->size);
	}
	if (st->terminal && strcmp(st->state, TASK_FINISHED) != 0 &&
	    (gg->state == STARTING || gg->state == RUNNING)) {
		/* one member failed: the others are no use without it */
		printf("gang %d task %s %s: killing the rest\n", gg->g,
		    st->task_id, st->state);
		gg->failed_start = gg->state == STARTING;
		gg->state = ABORTING;
		ex_members_kill(s, gg->m, gg->size);
	}
	if (ended == gg->size)
		gang_over(s, gg);
}

static void
on_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct gang *gg = ctx;

	warnx("master: %s", e->message);
	/* a refused ACCEPT launched part of the gang at most: undo it */
	if (e->about != NULL && strcmp(e->about, R_ACCEPT) == 0 &&
	    gg->state == STARTING) {
		/* the master answers a kill of a task it never had TASK_LOST */
		gg->failed_start = 1;
		gg->state = ABORTING;
		ex_members_kill(s, gg->m, gg->size);
	}
}

/* Release offers held too long; give up at the deadline; obey signals. */
static void
on_tick(struct sched *s, void *ctx)
{
	struct gang *gg = ctx;
	int64_t now = now_ms();

	if (ex_signal || (gg->deadline && now >= gg->deadline)) {
		if (!ex_signal)
			printf("gang timeout: gang %d never had room for %d tasks "
			    "(held %d slots)\n", gg->g, gg->size, held_slots(gg));
		release_all(s, gg, 0);
		gg->exit_code = ex_signal ? 128 + ex_signal : 1;
		sched_teardown(s);
		return;
	}
	if (gg->state == WAITING && gg->hold_since != 0 &&
	    now - gg->hold_since >= gg->hold_ms) {
		printf("gang %d waiting: %d of %d slots in %d offers; released\n",
		    gg->g, held_slots(gg), gg->size, gg->nheld);
		gg->released++;
		release_all(s, gg, BACKOFF_S);
	}
}

/* The deadline counts from the scheduler's start. */
static void
on_start(void *ctx)
{
	struct gang *gg = ctx;

	gg->deadline = gg->timeout_ms > 0 ? now_ms() + gg->timeout_ms : 0;
}

int
main(int argc, char *argv[])
{
	static struct gang gg = { .size = 2, .gangs = 1, .hold_ms = 3000 };
	const struct ex_opt own[] = {
		{ 'g', "gangs", EX_COUNT, &gg.gangs, 1, MAX_GANGS },
		{ 'N', "size", EX_COUNT, &gg.size, 1, MAX_SIZE },
		{ 't', "timeout", EX_DURATION, &gg.timeout_ms, 0, 0 },
		{ 'w', "hold", EX_DURATION, &gg.hold_ms, 0, 0 },
		{ 0, NULL, 0, NULL, 0, 0 }
	};
	struct sched_callbacks cb = { .offer = on_offer, .rescind = on_rescind,
	    .status = on_status, .error = on_error };
	int rc;

	ex_init(&gg.c, "gang");
	ex_options(&gg.c, "AcmMn", own, argc, argv, usage);
	gg.m = ex_calloc(gg.size, sizeof(*gg.m));
	rc = ex_run(&gg.c, &cb, &gg, EX_TICK_MS, on_tick, on_start);
	free(gg.m);
	return rc == 0 ? gg.exit_code : 111;
}
