/*
 * Agents: their registration and re-registration (with the totals they
 * bring), their liveness (heartbeats, unreachable, back again) and their
 * removal for good.  The tasks an agent reports are reconciled in tasks.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

/*
 * An agent that came back smaller than its tasks has nothing of what
 * they hold free.
 */
void
agent_free(const struct agent *a, struct res *free_)
{
	struct res held, part;

	res_copy(&held, &a->used);
	res_add(&held, &a->offered);
	res_meet(&a->total, &held, &part);
	res_copy(free_, &a->total);
	res_sub(free_, &part);
	res_free(&held);
	res_free(&part);
}

void
agent_kill_task(struct master *m, struct agent *a, const char *fid,
    const char *tid)
{
	json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "type", R_KILL, "agent_id",
	    a->id, "framework_id", fid, "task_id", tid);

	master_reply(m, &a->route, r);
}

/*
 * Check a REGISTER_AGENT and parse its resources into TOTAL; -1 after an
 * ERROR to the sender.
 */
static int
register_check(struct master *m, json_t *rec, const struct net_route *from,
    struct res *total)
{
	char err[REC_ERRLEN];
	const char *want_id = rec_str(rec, "agent_id");
	const char *attrs = rec_str(rec, "attributes");

	if (master_may(m, from, rec, ACL_AGENT, NULL) == -1)
		return -1;
	if (rec_require(rec, "hostname:s resources:s ?attributes:s ?agent_id:s "
	    "?tasks:a", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return -1;
	}
	if (res_parse(rec_str(rec, "resources"), total, err) == -1) {
		master_error(m, from, rec, E_INVALID, "resources: %s", err);
		return -1;
	}
	if (attrs != NULL && attr_check(attrs, err) == -1) {
		res_free(total);
		master_error(m, from, rec, E_INVALID, "attributes: %s", err);
		return -1;
	}
	if (want_id != NULL && !id_valid(want_id)) {
		res_free(total);
		master_error(m, from, rec, E_INVALID, "agent_id: not a valid id");
		return -1;
	}
	return 0;
}

/*
 * The agent WANT_ID (NULL: a new one) with TOTAL (taken over) as its
 * total: a known agent keeps its tasks; NULL when out of memory.
 */
static struct agent *
agent_take(struct master *m, const char *want_id, struct res *total)
{
	char id[ID_LEN], buf[RES_TEXT], ubuf[RES_TEXT];
	struct agent *a;

	if (want_id != NULL && (a = map_get(m->agents, want_id)) != NULL) {
		if (!res_contains(total, &a->used))
			log_warnx("agent %s re-registers with %s, less than its "
			    "tasks use (%s): nothing more is offered on it "
			    "until they end", want_id, res_format(total, buf,
			    sizeof(buf)), res_format(&a->used, ubuf,
			    sizeof(ubuf)));
		res_free(&a->total);
		a->total = *total;
		return a;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL || (a->tasks = map_create()) == NULL ||
	    (a->offers = map_create()) == NULL) {
		if (a != NULL)
			map_destroy(a->tasks);
		free(a);
		res_free(total);
		log_warnx("out of memory");
		return NULL;
	}
	strlcpy(a->id, want_id ? want_id : id_new("agent", id, sizeof(id)),
	    sizeof(a->id));
	a->total = *total;
	res_init(&a->used);
	res_init(&a->offered);
	map_put(m->agents, a->id, a);
	return a;
}

/*
 * REGISTER_AGENT: a new agent, or a known one again with its tasks.  An
 * agent removed for good starts anew under a new id and kills its tasks.
 */
void
agent_register(struct master *m, json_t *rec, const struct net_route *from)
{
	char buf[RES_TEXT];
	const char *want_id = rec_str(rec, "agent_id");
	const char *attrs = rec_str(rec, "attributes");
	struct res total;
	struct agent *a;
	struct offer *o;
	json_t *ok;
	int removed = 0, was_active;
	size_t pos;

	if (register_check(m, rec, from, &total) == -1)
		return;
	if (want_id != NULL && map_get(m->removed_agents, want_id) != NULL) {
		/* its tasks were reported lost: it starts anew */
		log_warnx("agent %s was removed; it registers under a new id",
		    want_id);
		want_id = NULL;
		removed = 1;
	}
	/* an id is its principal's, also across a master restart */
	if (want_id != NULL && (state_owner_check(m, m->seen_agents, from,
	    rec, "agent", want_id) == -1 ||
	    ((a = map_get(m->agents, want_id)) != NULL &&
	    master_owner(m, &a->route, from, rec, "agent", a->id) == -1))) {
		res_free(&total);
		return;
	}
	if ((a = agent_take(m, want_id, &total)) == NULL)
		return;
	reserve_apply(m, a);
	state_mark(m, m->seen_agents, a->id, from->principal);
	strlcpy(a->hostname, rec_str(rec, "hostname"), sizeof(a->hostname));
	free(a->attributes);
	a->attributes = strdup(attrs ? attrs : "");
	json_decref(a->isolators);
	a->isolators = json_incref(json_object_get(rec, "isolators"));
	a->route = *from;
	a->last_seen = now_ms();
	log_info("agent %s (%s) registered with %s", a->id, a->hostname,
	    res_format(&a->total, buf, sizeof(buf)));
	ok = rec_new(R_AGENT_REGISTERED);
	rec_set_str(ok, "agent_id", a->id);
	if (removed)
		rec_set_bool(ok, "kill_tasks", 1);
	master_reply(m, from, ok);
	was_active = a->active;
	a->active = 1;
	a->unreachable_since = 0;
	agent_touch(m, a);
	if (!removed)
		tasks_agent_report(m, a, json_object_get(rec, "tasks"));
	state_registered(m, a->id);
	/*
	 * Whatever it registers with is the allocator's truth too.  Its
	 * outstanding offers were cut from the old totals: they are
	 * rescinded after the allocator has the new ones, so that what they
	 * give back cannot be offered again at the old size.
	 */
	if (agent_offerable(m, a))
		alloc_agent_add(m, a, !was_active);
	for (pos = 0; (o = map_next(a->offers, &pos, NULL)) != NULL;)
		offer_remove(m, o, 1, 0);
}

/*
 * An agent's HEARTBEAT refreshes its route; one the master does not know
 * or counts as unreachable is asked to register again.
 */
void
agent_heartbeat(struct master *m, json_t *rec, const struct net_route *from)
{
	const char *aid = rec_str(rec, "agent_id");
	struct agent *a;

	if ((a = map_get(m->agents, aid)) == NULL || !a->active) {
		json_t *rr = rec_new(R_REREGISTER);

		rec_set_str(rr, "agent_id", aid);
		master_reply(m, from, rr);
		return;
	}
	if (master_owner(m, &a->route, from, rec, "agent", a->id) == -1)
		return;
	a->route = *from;
	a->last_seen = now_ms();
}

void
agent_withdraw(struct master *m, struct agent *a, int tell)
{
	struct offer *o;
	size_t pos = 0;
	json_t *r;

	while ((o = map_next(a->offers, &pos, NULL)) != NULL)
		offer_remove(m, o, 1, 0);
	if (tell) {
		r = rec_new(A_AGENT_REMOVE);
		rec_set_str(r, "agent_id", a->id);
		alloc_send(m, r);
	}
}

/*
 * Agent A is out of the pool: its offers are rescinded and the allocator
 * forgets it, so that nothing more is placed there; its removal clock
 * starts.
 */
static void
agent_deactivate(struct master *m, struct agent *a)
{
	/* a drained one is not the allocator's already */
	agent_withdraw(m, a, agent_offerable(m, a));
	a->active = 0;
	a->unreachable_since = now_ms();
	agent_touch(m, a);
}

/*
 * Agent A stopped answering: it is out of the pool and its tasks are
 * reported TASK_UNREACHABLE, which is not terminal: if A comes back, they
 * are reported again as they are; if A stays away for removal_ms, they are
 * lost for good.
 */
static void
agent_unreachable(struct master *m, struct agent *a)
{
	struct task *t;
	struct framework *fw;
	size_t pos = 0;
	json_t *r;

	log_warnx("agent %s (%s) unreachable: no word for %lld ms", a->id,
	    a->hostname, (long long)(now_ms() - a->last_seen));
	agent_deactivate(m, a);
	for (pos = 0; (t = map_next(a->tasks, &pos, NULL)) != NULL;)
		if (!t->ended)
			task_notify(m, t, TASK_UNREACHABLE, "agent unreachable");
	for (pos = 0; (fw = map_next(m->frameworks, &pos, NULL)) != NULL;) {
		r = rec_new(R_AGENT_LOST);
		rec_set_str(r, "agent_id", a->id);
		framework_send(m, fw, r);
	}
}

/* Forget agent A: it is no longer listed. */
static void
agent_forget(struct master *m, struct agent *a)
{
	executors_agent_gone(m, a);
	a->active = 0;		/* out of the gauges too */
	agent_touch(m, a);
	map_del(m->agents, a->id);
	map_destroy(a->tasks);
	map_destroy(a->offers);
	res_free(&a->total);
	res_free(&a->used);
	res_free(&a->offered);
	free(a->attributes);
	json_decref(a->isolators);
	free(a);
}

/* Agent A was unreachable for removal_ms: its tasks are lost for good. */
static void
agent_remove(struct master *m, struct agent *a)
{
	struct task *t;
	size_t pos = 0;

	log_warnx("agent %s (%s) removed: unreachable for %lld ms", a->id,
	    a->hostname, (long long)(now_ms() - a->unreachable_since));
	for (pos = 0; (t = map_next(a->tasks, &pos, NULL)) != NULL;) {
		if (t->ended)
			continue;
		task_notify(m, t, TASK_LOST, "agent removed");
		task_end(m, t);
	}
	state_mark(m, m->removed_agents, a->id, NULL);
	agent_forget(m, a);
}

/*
 * LEAVE: an agent stops cleanly.  It is out of the pool at once (no wait
 * for the agent timeout); when its tasks were killed and every one has
 * ended, it leaves the cluster, else its tasks stay as they are until it
 * registers again or stays away for the removal timeout.
 */
void
agent_leave(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN];
	struct agent *a;
	struct task *t;
	size_t pos = 0, live = 0;
	json_t *r;

	if (rec_require(rec, "agent_id:s ?tasks_killed:b", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return;
	}
	if ((a = map_get(m->agents, rec_str(rec, "agent_id"))) == NULL) {
		master_error(m, from, rec, E_UNKNOWN_AGENT, "no agent %s",
		    rec_str(rec, "agent_id"));
		return;
	}
	if (master_owner(m, &a->route, from, rec, "agent", a->id) == -1)
		return;
	while ((t = map_next(a->tasks, &pos, NULL)) != NULL)
		live += t->ended == 0;
	if (a->active)
		agent_deactivate(m, a);
	r = rec_new(R_LEFT);
	rec_set_str(r, "agent_id", a->id);
	master_reply(m, from, r);
	if (rec_bool_or(rec, "tasks_killed", 0) && live == 0) {
		log_info("agent %s (%s) left the cluster", a->id, a->hostname);
		agent_forget(m, a);
	} else
		log_info("agent %s (%s) stopped: nothing more is placed there; "
		    "its %zu tasks stay until it is back", a->id, a->hostname,
		    live);
}

void
agents_scan(struct master *m, int64_t now)
{
	struct agent *a;
	size_t pos;

	for (pos = 0; (a = map_next(m->agents, &pos, NULL)) != NULL;) {
		if (a->active && now - a->last_seen > m->conf->agent_timeout_ms)
			agent_unreachable(m, a);
		else if (!a->active && a->unreachable_since &&
		    now - a->unreachable_since > m->conf->removal_ms)
			agent_remove(m, a);
	}
}
