/*
 * opt-gang: the gang example on shared state (cluster-protocol(7), SHARED
 * STATE).  A gang of N tasks (MPI ranks) is placed across the agents of
 * the framework's view and launched as ONE all-or-nothing COMMIT: the
 * master starts every task of it or none.  An aborted transaction
 * launched nothing; the gang waits for fresh FREE records and is placed
 * again.  A member that fails once launched ends the gang's attempt: the
 * rest are killed.  Gangs run one after another.  See README.md.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example.h"
#include "util.h"

#define MAX_SIZE	1000		/* tasks in one gang */
#define MAX_GANGS	1000000
#define MAX_ATTEMPTS	3		/* launches of one gang (aborted
				   transactions launch nothing) */
#define TICK_MS		50		/* decisions start and end on a tick */
#define STALE_MS	5000		/* retry on an unchanged view after this */

enum gang_state { WAITING, DECIDING, COMMITTING, STARTING, RUNNING,
	ABORTING, DONE };

struct optgang {
	struct ex_common c;		/* name, command, cpus, mem, ... */
	struct ex_view	 view;
	int64_t		 decide_ms, timeout_ms, deadline;
	int		 size, gangs;
	/* the current gang */
	int		 g, attempt, launches, tx, failed_start, agents;
	int		 last_room;
	enum gang_state	 state;
	struct ex_member *m;
	json_t		*tasks;		/* the transaction being decided */
	int64_t		 commit_at;
	unsigned long	 decide_gen, retry_gen;
	int64_t		 retry_since;
	/* totals */
	int		 ok, failed, aborted;
	int		 exit_code;
};

static void
usage(void)
{
	fprintf(stderr, "usage: opt-gang [-c cpus] [-d decide] [-g gangs] "
	    "[-m master] [-M mem]\n"
	    "                [-n name] [-N size] [-t timeout] -- command\n");
	exit(100);
}

/* Tasks of the gang that the view has room for (at most the gang's size). */
static int
room(const struct optgang *gg)
{
	size_t i;
	int n = 0;

	for (i = 0; i < gg->view.n && n < gg->size; i++)
		n += ex_agent_slots(&gg->view.a[i], gg->c.cpus, gg->c.mem);
	return n < gg->size ? n : gg->size;
}

/* One task description for rank R, placed on agent A. */
static json_t *
rank_task(struct optgang *gg, int r, const struct ex_agent *a)
{
	struct ex_member *mb = &gg->m[r];
	json_t *t = ex_member_task(&gg->c, mb, gg->g, gg->attempt, r, gg->size);

	strlcpy(mb->agent_id, a->agent_id, sizeof(mb->agent_id));
	mb->version = a->version;
	json_object_set_new(t, "agent_id", json_string(a->agent_id));
	return t;
}

/*
 * Place the whole gang when the view has room for it, or say how much
 * room there is when that changed.  The transaction goes out when the
 * decision time has passed.
 */
static void
decide(struct optgang *gg)
{
	struct ex_agent *a;
	int r, n = room(gg);
	size_t i;

	if (n < gg->size) {
		if (n != gg->last_room)
			printf("opt-gang %d waiting: room for %d of %d tasks\n",
			    gg->g, n, gg->size);
		gg->last_room = n;
		gg->retry_gen = gg->view.gen;
		gg->retry_since = now_ms();
		return;
	}
	gg->last_room = -1;
	gg->attempt++;
	gg->decide_gen = gg->view.gen;
	gg->tasks = json_array();
	/* pack ranks onto few agents: an MPI job talks less across hosts */
	for (r = 0, i = 0; i < gg->view.n && r < gg->size; i++) {
		a = &gg->view.a[i];
		while (r < gg->size && ex_agent_slots(a, gg->c.cpus, gg->c.mem)) {
			json_array_append_new(gg->tasks, rank_task(gg, r++, a));
			a->cpus -= gg->c.cpus;
			a->mem -= gg->c.mem;
		}
	}
	for (gg->agents = 0, r = 0; r < gg->size; r++)
		gg->agents += r == 0 ||
		    strcmp(gg->m[r].agent_id, gg->m[r - 1].agent_id) != 0;
	printf("opt-gang %d attempt %d place tasks=%d agents=%d\n", gg->g,
	    gg->attempt, gg->size, gg->agents);
	gg->state = DECIDING;
	gg->commit_at = now_ms() + gg->decide_ms;
}

/* The decision is over: the gang as one all-or-nothing transaction. */
static void
commit(struct sched *s, struct optgang *gg)
{
	char id[EX_ID_LEN];

	snprintf(id, sizeof(id), "%s-tx%d", gg->c.opts.name, ++gg->tx);
	gg->state = sched_commit(s, id, gg->tasks, 0) == 0 ? COMMITTING :
	    WAITING;
	json_decref(gg->tasks);
	gg->tasks = NULL;
}

/*
 * Give back to the view what an aborted placement took off it, on the
 * agents no FREE record has refreshed since (their version is the same).
 */
static void
unplace(struct optgang *gg)
{
	size_t i;
	int r;

	for (r = 0; r < gg->size; r++)
		for (i = 0; i < gg->view.n; i++)
			if (strcmp(gg->view.a[i].agent_id, gg->m[r].agent_id) == 0 &&
			    gg->view.a[i].version == gg->m[r].version) {
				gg->view.a[i].cpus += gg->c.cpus;
				gg->view.a[i].mem += gg->c.mem;
			}
}

/* The master's answer: the gang launched whole, or nothing of it did. */
static void
on_committed(struct sched *s, void *ctx, const struct sched_committed *c)
{
	struct optgang *gg = ctx;
	const char *why = json_string_value(json_object_get(json_array_get(
	    c->conflicts, 0), "reason"));

	(void)s;
	if (gg->state != COMMITTING)
		return;
	if (strcmp(c->outcome, "committed") == 0 &&
	    json_array_size(c->launched) == (size_t)gg->size) {
		printf("opt-gang %d attempt %d committed tasks=%d agents=%d\n",
		    gg->g, gg->attempt, gg->size, gg->agents);
		gg->state = STARTING;
		gg->failed_start = 0;
		gg->launches++;
		return;
	}
	/* all or nothing: an answer other than committed launched nothing */
	printf("opt-gang %d attempt %d %s conflicts=%zu (%s): waiting for "
	    "fresh FREE\n", gg->g, gg->attempt, c->outcome,
	    json_array_size(c->conflicts), why ? why : "?");
	gg->aborted++;
	unplace(gg);
	gg->state = WAITING;
	gg->retry_gen = gg->decide_gen;
	gg->retry_since = now_ms();
}

static void
on_free(struct sched *s, void *ctx, const struct sched_free *f)
{
	struct optgang *gg = ctx;

	(void)s;
	ex_view_update(&gg->view, f);
}

/* Start the next gang, or stop when all are done. */
static void
next_gang(struct sched *s, struct optgang *gg)
{
	if (gg->g + 1 >= gg->gangs) {
		gg->state = DONE;
		printf("opt-gang done gangs=%d ok=%d failed=%d aborted=%d\n",
		    gg->gangs, gg->ok, gg->failed, gg->aborted);
		gg->exit_code = gg->failed > 0;
		sched_teardown(s);
		return;
	}
	gg->g++;
	gg->attempt = gg->launches = 0;
	gg->state = WAITING;
	gg->retry_gen = 0;
}

/* All members ended: the gang is over, or is to be launched again. */
static void
gang_over(struct sched *s, struct optgang *gg)
{
	int fin = ex_members_finished(gg->m, gg->size);

	if (gg->failed_start && gg->launches < MAX_ATTEMPTS) {
		printf("opt-gang %d attempt %d did not start whole: again\n",
		    gg->g, gg->attempt);
		gg->state = WAITING;
		gg->retry_gen = 0;
		return;
	}
	if (fin == gg->size)
		gg->ok++;
	else
		gg->failed++;
	printf("opt-gang %d %s finished=%d/%d\n", gg->g, fin == gg->size ?
	    "ok" : "failed", fin, gg->size);
	next_gang(s, gg);
}

static void
on_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	struct optgang *gg = ctx;
	int running, ended;

	if (ex_member_status(s, gg->m, gg->size, st, gg->state >= STARTING,
	    &running, &ended) == NULL)
		return;
	if (gg->state == STARTING && running == gg->size) {
		gg->state = RUNNING;
		printf("opt-gang %d started whole tasks=%d agents=%d\n", gg->g,
		    gg->size, gg->agents);
	}
	if (st->terminal && strcmp(st->state, TASK_FINISHED) != 0 &&
	    (gg->state == STARTING || gg->state == RUNNING)) {
		printf("opt-gang %d task %s %s: killing the rest\n", gg->g,
		    st->task_id, st->state);
		gg->failed_start = gg->state == STARTING;
		gg->state = ABORTING;
		ex_members_kill(s, gg->m, gg->size);
	}
	if (ended == gg->size)
		gang_over(s, gg);
}

/* A refused COMMIT launched nothing: place the gang again. */
static void
on_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct optgang *gg = ctx;

	(void)s;
	warnx("master: %s", e->message);
	if (e->about != NULL && strcmp(e->about, R_COMMIT) == 0 &&
	    gg->state == COMMITTING) {
		unplace(gg);
		gg->state = WAITING;
		gg->retry_gen = gg->view.gen;
		gg->retry_since = now_ms();
	}
}

/* Every tick: signals and the deadline, the decision's end, a new one. */
static void
on_tick(struct sched *s, void *ctx)
{
	struct optgang *gg = ctx;
	int64_t now = now_ms();

	if (ex_signal || (gg->deadline && now >= gg->deadline &&
	    gg->state <= COMMITTING)) {
		if (!ex_signal)
			printf("opt-gang timeout: gang %d never started whole "
			    "(room for %d of %d tasks)\n", gg->g, room(gg),
			    gg->size);
		gg->exit_code = ex_signal ? 128 + ex_signal : 1;
		sched_teardown(s);
		return;
	}
	if (gg->state == DECIDING && now >= gg->commit_at)
		commit(s, gg);
	else if (gg->state == WAITING && gg->view.complete &&
	    (gg->retry_gen == 0 || gg->view.gen > gg->retry_gen ||
	    now - gg->retry_since >= STALE_MS))
		decide(gg);
}

/* The deadline counts from the scheduler's start. */
static void
on_start(void *ctx)
{
	struct optgang *gg = ctx;

	gg->deadline = gg->timeout_ms > 0 ? now_ms() + gg->timeout_ms : 0;
}

int
main(int argc, char *argv[])
{
	static struct optgang gg = { .size = 2, .gangs = 1, .last_room = -1 };
	const struct ex_opt own[] = {
		{ 'd', "decide", EX_DURATION, &gg.decide_ms, 0, 0 },
		{ 'g', "gangs", EX_COUNT, &gg.gangs, 1, MAX_GANGS },
		{ 'N', "size", EX_COUNT, &gg.size, 1, MAX_SIZE },
		{ 't', "timeout", EX_DURATION, &gg.timeout_ms, 0, 0 },
		{ 0, NULL, 0, NULL, 0, 0 }
	};
	struct sched_callbacks cb = { .free_resources = on_free,
	    .committed = on_committed, .status = on_status,
	    .error = on_error };
	int rc;

	ex_init(&gg.c, "opt-gang");
	gg.c.opts.optimistic = 1;
	ex_options(&gg.c, "cmMn", own, argc, argv, usage);
	gg.m = ex_calloc(gg.size, sizeof(*gg.m));
	rc = ex_run(&gg.c, &cb, &gg, TICK_MS, on_tick, on_start);
	json_decref(gg.tasks);
	ex_view_free(&gg.view);
	free(gg.m);
	return rc == 0 ? gg.exit_code : 111;
}
