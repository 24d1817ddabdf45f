/*
 * Drain: maintenance of agents, as an operator asks it (DRAIN, UNDRAIN).
 * A draining agent gets no new offers (the allocator forgets it) and its
 * outstanding offers are rescinded; each framework with tasks on it gets
 * a DRAIN notice with the deadline and the reason; at the deadline the
 * tasks still live there are killed (TASK_KILLED, reason "drained"); once
 * none is live the agent is drained, and stays so until UNDRAIN.  Drains
 * are kept in the registry (state.c) by agent id, so that they hold
 * across restarts and failovers of the master; the drain and the undrain
 * are written there before the operator gets the answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "util.h"

int
agent_offerable(struct master *m, const struct agent *a)
{
	return a->active && map_get(m->drains, a->id) == NULL;
}

const char *
agent_state(struct master *m, const struct agent *a)
{
	if (map_get(m->drains, a->id) != NULL)
		return a->ntasks > 0 ? "draining" : "drained";
	return a->active ? "active" : "unreachable";
}

/* Whether REASON may be a drain's: short, printable, one line. */
static int
reason_valid(const char *reason)
{
	const unsigned char *p;

	if (strlen(reason) > DRAIN_REASON_MAX)
		return 0;
	for (p = (const unsigned char *)reason; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* The DRAIN_SET answer about agent ID drained as D (NULL: undrained). */
static json_t *
drain_answer(struct master *m, const char *id, const struct drain *d)
{
	struct agent *a = map_get(m->agents, id);
	json_t *r = rec_new(R_DRAIN_SET);

	rec_set_str(r, "agent_id", id);
	rec_set_str(r, "state", a != NULL ? agent_state(m, a) : d != NULL ?
	    "draining" : "active");
	if (d != NULL) {
		rec_set_str(r, "reason", d->reason);
		if (d->deadline != 0)
			rec_set_int(r, "deadline_ms", d->deadline);
	}
	return r;
}

/*
 * Tell every framework with live tasks on A that A drains as D: a DRAIN
 * notice, once to each.
 */
static void
drain_notify(struct master *m, struct agent *a, const struct drain *d)
{
	struct map *told = map_create();
	struct framework *fw;
	struct task *t;
	size_t pos = 0;
	json_t *r;

	while (told != NULL && (t = map_next(a->tasks, &pos, NULL)) != NULL) {
		if (t->ended || map_get(told, t->framework_id) != NULL ||
		    (fw = map_get(m->frameworks, t->framework_id)) == NULL)
			continue;
		map_put(told, t->framework_id, fw);
		r = rec_new(R_DRAIN);
		rec_set_str(r, "framework_id", fw->id);
		rec_set_str(r, "agent_id", a->id);
		rec_set_str(r, "hostname", a->hostname);
		rec_set_str(r, "reason", d->reason);
		if (d->deadline != 0)
			rec_set_int(r, "deadline_ms", d->deadline);
		framework_send(m, fw, r);
	}
	map_destroy(told);
}

/*
 * Read a DRAIN's deadline and reason into D; 0, or -1 after an ERROR to
 * FROM.
 */
static int
drain_parse(struct master *m, json_t *rec, const struct net_route *from,
    struct drain *d)
{
	char err[REC_ERRLEN];
	double grace;

	if (rec_require(rec, "agent_id:s ?grace_seconds:n ?reason:s",
	    err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return -1;
	}
	if (!id_valid(rec_str(rec, "agent_id"))) {
		master_error(m, from, rec, E_INVALID, "agent_id: not a valid "
		    "id");
		return -1;
	}
	grace = rec_num_or(rec, "grace_seconds", -1);
	if (json_object_get(rec, "grace_seconds") != NULL &&
	    (!(grace >= 0) || grace > PROTO_SECONDS_MAX)) {
		master_error(m, from, rec, E_INVALID, "grace_seconds out of "
		    "range (0 to a year)");
		return -1;
	}
	if (rec_str(rec, "reason") != NULL &&
	    !reason_valid(rec_str(rec, "reason"))) {
		master_error(m, from, rec, E_INVALID, "reason: at most %d "
		    "printable bytes on one line", DRAIN_REASON_MAX);
		return -1;
	}
	memset(d, 0, sizeof(*d));
	d->since = wall_ms();
	d->deadline = grace >= 0 ? d->since + (int64_t)(grace * 1000) : 0;
	strlcpy(d->reason, rec_str(rec, "reason") ? rec_str(rec, "reason") :
	    "", sizeof(d->reason));
	strlcpy(d->by, from->principal, sizeof(d->by));
	return 0;
}

/*
 * DRAIN: agent_id, and optionally grace_seconds (the deadline, from now;
 * none: its tasks run until they end) and reason.  A drained agent
 * drained again gets the new deadline and reason.
 */
void
drain_request(struct master *m, json_t *rec, const struct net_route *from)
{
	struct drain nd, *d, *old;
	struct agent *a;
	const char *id;
	int fresh;

	if (drain_parse(m, rec, from, &nd) == -1)
		return;
	id = rec_str(rec, "agent_id");
	if (master_may(m, from, rec, ACL_DRAIN, id) == -1)
		return;
	if ((a = map_get(m->agents, id)) == NULL) {
		master_error(m, from, rec, E_UNKNOWN_AGENT, "no agent %s", id);
		return;
	}
	if ((d = malloc(sizeof(*d))) == NULL) {
		master_error(m, from, rec, E_NO_MEMORY, "out of memory");
		return;
	}
	*d = nd;
	old = map_get(m->drains, id);
	if (old != NULL)
		d->since = old->since;
	if (map_put(m->drains, id, d) == -1) {
		free(d);
		master_error(m, from, rec, E_NO_MEMORY, "out of memory");
		return;
	}
	m->state_dirty = 2;
	if (state_commit(m) == -1) {
		/* nothing changed: the old drain, or none, stays */
		if (old != NULL)
			map_put(m->drains, id, old);
		else
			map_del(m->drains, id);
		free(d);
		master_error(m, from, rec, E_UNAVAILABLE, "the registry "
		    "cannot be written: agent %s is not drained", id);
		return;
	}
	fresh = old == NULL;
	free(old);
	log_info("agent %s (%s) drained by %s%s%s; deadline %s", id,
	    a->hostname, from->principal[0] ? from->principal : "an operator",
	    d->reason[0] ? ": " : "", d->reason, d->deadline ? "set" :
	    "none: its tasks run until they end");
	/* out of the allocator's pool, its offers rescinded */
	if (fresh && a->active)
		agent_withdraw(m, a, 1);
	agent_touch(m, a);
	drain_notify(m, a, d);
	master_reply(m, from, drain_answer(m, id, d));
}

/* UNDRAIN: agent_id; the agent is offered again. */
void
undrain_request(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN];
	struct drain *d;
	struct agent *a;
	const char *id;

	if (rec_require(rec, "agent_id:s", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return;
	}
	id = rec_str(rec, "agent_id");
	if (master_may(m, from, rec, ACL_DRAIN, id_valid(id) ? id : NULL) == -1)
		return;
	a = map_get(m->agents, id);
	if ((d = map_get(m->drains, id)) == NULL) {
		if (a == NULL)
			master_error(m, from, rec, E_UNKNOWN_AGENT, "no agent "
			    "%.64s", id);
		else
			master_error(m, from, rec, E_INVALID, "agent %s is "
			    "not drained", id);
		return;
	}
	map_del(m->drains, id);
	m->state_dirty = 2;
	if (state_commit(m) == -1) {
		map_put(m->drains, id, d);
		master_error(m, from, rec, E_UNAVAILABLE, "the registry "
		    "cannot be written: agent %s stays drained", id);
		return;
	}
	free(d);
	log_info("agent %s undrained by %s", id, from->principal[0] ?
	    from->principal : "an operator");
	if (a != NULL && a->active)
		alloc_agent_add(m, a, 1);
	if (a != NULL)
		agent_touch(m, a);
	master_reply(m, from, drain_answer(m, id, NULL));
}

void
drains_tick(struct master *m)
{
	struct drain *d;
	struct agent *a;
	struct task *t;
	const char *id;
	size_t pos, tp;
	int64_t now = wall_ms();

	for (pos = 0; (d = map_next(m->drains, &pos, &id)) != NULL;) {
		if (d->deadline == 0 || now < d->deadline ||
		    (a = map_get(m->agents, id)) == NULL || !a->active)
			continue;
		/* also the tasks an agent reports after a failover */
		for (tp = 0; (t = map_next(a->tasks, &tp, NULL)) != NULL;) {
			if (t->ended || t->kill_wanted)
				continue;
			log_info("task %s of %s on drained agent %s: killed at "
			    "the deadline", t->id, t->framework_id, id);
			t->drain_killed = 1;
			task_kill_now(m, t);
		}
	}
}
