/*
 * Tasks: recorded when an ACCEPT is taken, launched and killed with a
 * resend queue until their agent answers, their status updates (accepted
 * from the agent that runs them only) and the frameworks'
 * acknowledgements, the tasks agents report when they register, and
 * reconciliation.  Ended tasks stay listed a while, oldest first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "util.h"

#define RESEND_MS	1000	/* first launch/kill retransmission */
#define RESEND_MAX_MS	10000
#define RESEND_DOUBLINGS 4	/* resends wait at most 16 x the first */

/* Set T's state, and the tasks gauge while T has not ended. */
static void
task_state(struct task *t, const char *state)
{
	if (t->ended == 0)
		stats_task_state(t->state, state);
	strlcpy(t->state, state, sizeof(t->state));
}

/* T has ended: it stays listed a while, in the queue of ended tasks. */
static void
task_done(struct master *m, struct task *t)
{
	stats_task_state(t->state, NULL);
	t->ended = now_ms();
	history_add(m, t);
	t->dnext = NULL;
	if (m->dtail != NULL)
		m->dtail->dnext = t;
	else
		m->dhead = t;
	m->dtail = t;
	m->ndone++;
}

void
task_end(struct master *m, struct task *t)
{
	struct agent *a = map_get(m->agents, t->agent_id);
	struct framework *fw = map_get(m->frameworks, t->framework_id);

	log_info("task %s of %s on %s ended: %s", t->id, t->framework_id,
	    t->agent_id, t->state);
	stats_task(t->state);
	task_done(m, t);
	map_del(m->pending, t->key);
	if (a != NULL) {
		res_sub(&a->used, &t->res);
		agent_touch(m, a);
		if (a->ntasks > 0)
			a->ntasks--;
		if (agent_offerable(m, a) && fw != NULL)
			alloc_recover(m, t->framework_id, a->id, &t->res, 0);
	}
	if (fw == NULL)
		alloc_departed(m, t->framework_id, a != NULL &&
		    agent_offerable(m, a) ? a->id : NULL, &t->res);
	if (fw != NULL && fw->ntasks > 0)
		fw->ntasks--;
	if (fw != NULL)
		res_sub(&fw->held, &t->res);
}

/* Queue T's launch or kill for (re)transmission now. */
static void
task_pending(struct master *m, struct task *t)
{
	t->next_send = now_ms();
	t->tries = 0;
	map_put(m->pending, t->key, t);
}

/* Send T's LAUNCH (or KILL) to its agent and schedule the next try. */
static void
task_send(struct master *m, struct task *t)
{
	struct agent *a = map_get(m->agents, t->agent_id);
	json_t *r;
	int64_t delay;

	if (a == NULL || !a->active)
		return;
	if (t->kill_wanted) {
		r = rec_new(R_KILL);
		rec_set_str(r, "task_id", t->id);
	} else {
		r = rec_new(R_LAUNCH);
		json_object_set(r, "task", t->info);
	}
	rec_set_str(r, "agent_id", t->agent_id);
	rec_set_str(r, "framework_id", t->framework_id);
	if (t->tries > 0)
		stats_resent(rec_type(r));
	master_reply(m, &a->route, r);
	delay = RESEND_MS << (t->tries < RESEND_DOUBLINGS ? t->tries :
	    RESEND_DOUBLINGS);
	t->next_send = now_ms() + (delay < RESEND_MAX_MS ? delay : RESEND_MAX_MS);
	t->tries++;
}

void
task_kill_now(struct master *m, struct task *t)
{
	t->kill_wanted = 1;
	task_pending(m, t);
	task_send(m, t);
}

/* The update is the master's own: it is not to be acknowledged. */
void
task_notify(struct master *m, struct task *t, const char *state,
    const char *reason)
{
	json_t *st = rec_new(R_STATUS);

	task_state(t, state);
	rec_set_str(st, "framework_id", t->framework_id);
	rec_set_str(st, "task_id", t->id);
	rec_set_str(st, "agent_id", t->agent_id);
	rec_set_str(st, "state", t->state);
	rec_set_str(st, "reason", reason);
	json_decref(t->status);
	t->status = json_incref(st);
	framework_send(m, map_get(m->frameworks, t->framework_id), st);
}

/* Put the message FMT in ERR (REC_ERRLEN bytes); returns -1. */
static int
check_fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, REC_ERRLEN, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Check one task description T of FW for agent AGENT_ID, and parse its
 * resources into RES; 0, or -1 with ERR (REC_ERRLEN bytes).
 */
int
task_check(struct master *m, const struct framework *fw, const char *agent_id,
    json_t *t, struct res *res, char *err)
{
	const char *tid = rec_str(t, "task_id"), *aid = rec_str(t, "agent_id");
	char key[KEY_LEN], tmp[REC_ERRLEN];
	json_t *argv = json_object_get(t, "argv");
	struct res flat;
	size_t i;
	int small;

	if (!json_is_object(t))
		return check_fail(err, "each task is a map");
	if (tid == NULL || !id_valid(tid))
		return check_fail(err, "task_id missing or not a valid id");
	snprintf(key, sizeof(key), "%s/%s", fw->id, tid);
	if (map_get(m->tasks, key) != NULL)
		return check_fail(err, "task '%s' exists already", tid);
	if (aid != NULL && strcmp(aid, agent_id) != 0)
		return check_fail(err, "task '%s' names agent '%s' but its "
		    "offer is for agent '%s'", tid, aid, agent_id);
	if (json_object_get(t, "executor") != NULL &&
	    !json_is_object(json_object_get(t, "executor")))
		return check_fail(err, "task '%s': executor is not a map", tid);
	if (rec_str(t, "command") == NULL && !json_is_array(argv) &&
	    json_object_get(t, "executor") == NULL)
		return check_fail(err, "task '%s' has neither 'command' (a "
		    "string) nor 'argv' (an array)", tid);
	if (json_is_array(argv) && json_array_size(argv) == 0)
		return check_fail(err, "task '%s': argv is empty", tid);
	for (i = 0; i < json_array_size(argv); i++)
		if (!json_is_string(json_array_get(argv, i)))
			return check_fail(err, "task '%s': argv holds a "
			    "non-string", tid);
	if (rec_str(t, "resources") == NULL)
		return check_fail(err, "task '%s' has no 'resources'", tid);
	if (res_parse(rec_str(t, "resources"), res, err) == -1) {
		snprintf(tmp, sizeof(tmp), "task '%.60s' resources: %.160s",
		    tid, err);
		strlcpy(err, tmp, REC_ERRLEN);
		return -1;
	}
	/* what a task may use is bounded, and counted: never nothing */
	if (res_collapse(res, &flat) == -1)
		return check_fail(err, "out of memory");
	small = res_get(&flat, "mem") < PROTO_TASK_MEM_MIN * 1000 ||
	    res_get(&flat, "cpus") < PROTO_TASK_CPUS_MIN_MILLI;
	res_free(&flat);
	if (small)
		return check_fail(err, "task '%s' needs at least mem:%d and "
		    "cpus:%g: a task always has a memory limit and counts "
		    "for what it can use", tid, PROTO_TASK_MEM_MIN,
		    PROTO_TASK_CPUS_MIN_MILLI / 1000.0);
	return 0;
}

/*
 * Whether FROM may run each task of TASKS as the user it names (one that
 * names none runs as its agent's unprivileged default, unchecked here);
 * -1 after an ERROR.
 */
int
tasks_permitted(struct master *m, json_t *rec, const struct net_route *from,
    json_t *tasks)
{
	const char *user;
	json_t *t;
	size_t i;

	json_array_foreach(tasks, i, t) {
		if ((user = rec_str(t, "user")) == NULL)
			continue;
		if (!acl_user_valid(user)) {
			master_error(m, from, rec, E_INVALID, "task '%.64s': "
			    "user is not a valid user name",
			    rec_str(t, "task_id") ? rec_str(t, "task_id") : "");
			return -1;
		}
		if (master_may(m, from, rec, ACL_RUN_AS, user) == -1)
			return -1;
	}
	return 0;
}

/* Index T, in state STATE, on the master, its agent A and framework FW. */
static void
task_index(struct master *m, struct task *t, struct agent *a,
    struct framework *fw, const char *tid, const char *state)
{
	strlcpy(t->id, tid, sizeof(t->id));
	strlcpy(t->framework_id, fw->id, sizeof(t->framework_id));
	strlcpy(t->agent_id, a->id, sizeof(t->agent_id));
	strlcpy(t->principal, fw->route.principal, sizeof(t->principal));
	snprintf(t->key, sizeof(t->key), "%s/%s", fw->id, tid);
	task_state(t, state);
	map_put(m->tasks, t->key, t);
	map_put(a->tasks, t->key, t);
	map_put(fw->tasks, t->key, t);
}

/* Count T, which runs, in what its agent A and framework FW hold. */
static void
task_hold(struct master *m, struct task *t, struct agent *a,
    struct framework *fw)
{
	res_add(&a->used, &t->res);
	res_add(&fw->held, &t->res);
	agent_touch(m, a);
	a->ntasks++;
	fw->ntasks++;
}

/* -1 when out of memory; RES is empty after a success. */
int
task_create(struct master *m, struct framework *fw, struct agent *a,
    json_t *t, struct res *res)
{
	struct task *tk = calloc(1, sizeof(*tk));

	if (tk == NULL) {
		log_warnx("out of memory");
		return -1;
	}
	tk->res = *res;
	res_init(res);
	tk->info = json_deep_copy(t);
	tk->submitted = wall_ms();
	rec_set_str(tk->info, "agent_id", a->id);
	rec_set_str(tk->info, "role", fw->role);
	task_index(m, tk, a, fw, rec_str(t, "task_id"), TASK_STAGING);
	task_hold(m, tk, a, fw);
	log_info("launching task %s of %s on %s", tk->id, fw->id, a->id);
	stats_task(NULL);
	task_pending(m, tk);
	task_send(m, tk);
	return 0;
}

/*
 * A task agent A reports that the master does not know (it lost it in a
 * restart): it is recorded as it is, under a placeholder framework when
 * its own has not subscribed again yet.
 */
static void
report_recover(struct master *m, struct agent *a, json_t *e)
{
	const char *fid = rec_str(e, "framework_id"), *tid = rec_str(e, "task_id");
	const char *state = rec_str(e, "state");
	json_t *info = json_object_get(e, "task");
	char err[RES_ERRLEN];
	struct framework *fw;
	struct task *t;

	if ((fw = map_get(m->frameworks, fid)) == NULL &&
	    (fw = framework_placeholder(m, fid, rec_str(info, "role"))) == NULL)
		return;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return;
	if (res_parse(rec_str(info, "resources"), &t->res, err) == -1) {
		log_warnx("agent %s reports task %s with bad resources: %s",
		    a->id, tid, err);
		free(t);
		return;
	}
	t->info = json_deep_copy(info);
	t->reported = 1;
	task_index(m, t, a, fw, tid, state);
	if (task_state_terminal(state)) {
		/* its last update is still on its way from the agent */
		task_done(m, t);
		return;
	}
	task_hold(m, t, a, fw);
	executor_hold(m, fw, a, info);	/* its executor, once */
	log_info("task %s of %s on %s recovered: %s", tid, fid, a->id, state);
}

/*
 * Take one entry E of a (re-)registering agent A's task report: the master
 * learns the tasks it lost in a restart, and tells the framework of tasks
 * it had reported unreachable that they run again.
 */
static void
report_one(struct master *m, struct agent *a, json_t *e)
{
	const char *fid = rec_str(e, "framework_id"), *tid = rec_str(e, "task_id");
	const char *state = rec_str(e, "state");
	char key[KEY_LEN];
	struct task *t;

	if (fid == NULL || tid == NULL || state == NULL || !id_valid(fid) ||
	    !id_valid(tid) || !json_is_object(json_object_get(e, "task")))
		return;
	if (map_get(m->removed_fw, fid) != NULL) {
		if (!task_state_terminal(state))
			agent_kill_task(m, a, fid, tid);
		return;
	}
	snprintf(key, sizeof(key), "%s/%s", fid, tid);
	if ((t = map_get(m->tasks, key)) == NULL) {
		report_recover(m, a, e);
		return;
	}
	if (t->ended || strcmp(t->agent_id, a->id) != 0)
		return;
	t->reported = 1;
	map_put(a->tasks, t->key, t);
	if (strcmp(t->state, TASK_UNREACHABLE) == 0 &&
	    !task_state_terminal(state))
		task_notify(m, t, state, "agent reachable again");
}

/*
 * A task launched on A that A does not report: lost if A had reported on
 * it, else the LAUNCH never got there, and it goes again.
 */
static void
report_missing(struct master *m, struct task *t)
{
	if (!t->reported && !t->kill_wanted) {
		if (strcmp(t->state, TASK_STAGING) != 0)
			task_notify(m, t, TASK_STAGING, "agent reachable again");
		task_pending(m, t);
		return;
	}
	if (!t->reported)	/* a kill before any launch */
		task_notify(m, t, TASK_KILLED, "killed before it was launched");
	else
		task_notify(m, t, TASK_LOST, "the agent does not know the task");
	task_end(m, t);
}

void
tasks_agent_report(struct master *m, struct agent *a, json_t *report)
{
	struct map *seen = map_create();
	struct task *t;
	json_t *e;
	size_t i, pos;

	json_array_foreach(report, i, e) {
		char key[KEY_LEN];

		report_one(m, a, e);
		if (rec_str(e, "framework_id") && rec_str(e, "task_id")) {
			snprintf(key, sizeof(key), "%s/%s",
			    rec_str(e, "framework_id"), rec_str(e, "task_id"));
			map_put(seen, key, (void *)1);
		}
	}
	for (pos = 0; (t = map_next(a->tasks, &pos, NULL)) != NULL;)
		if (!t->ended && map_get(seen, t->key) == NULL)
			report_missing(m, t);
	map_destroy(seen);
}

/* Find FW's task named by REC's task_id; NULL (and an ERROR) if none. */
static struct task *
task_of(struct master *m, struct framework *fw, json_t *rec,
    const struct net_route *from)
{
	const char *tid = rec_str(rec, "task_id");
	char key[KEY_LEN];

	if (tid == NULL) {
		master_error(m, from, rec, E_MALFORMED, "%s: field 'task_id' "
		    "is missing", rec_type(rec));
		return NULL;
	}
	snprintf(key, sizeof(key), "%s/%s", fw->id, tid);
	return map_get(m->tasks, key);
}

/*
 * A framework's KILL (or an operator's the ACL permits): resent to the
 * agent until it answers.
 */
void
task_kill(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;
	struct task *t;
	json_t *st;

	if ((fw = framework_to_kill(m, rec, from)) == NULL)
		return;
	if ((t = task_of(m, fw, rec, from)) != NULL) {
		if (!t->ended) {
			if (strcmp(fw->route.principal, from->principal) == 0)
				log_info("task %s of %s: kill asked by its "
				    "framework", t->id, fw->id);
			else
				log_info("task %s of %s: kill asked by "
				    "principal %s", t->id, fw->id,
				    from->principal);
			task_kill_now(m, t);
		}
		return;
	}
	if (rec_str(rec, "task_id") == NULL)
		return;
	/* as Mesos does: an unknown task is reported lost */
	st = rec_new(R_STATUS);
	rec_set_str(st, "framework_id", fw->id);
	rec_set_str(st, "task_id", rec_str(rec, "task_id"));
	rec_set_str(st, "state", TASK_LOST);
	rec_set_str(st, "reason", "unknown task");
	master_reply(m, from, st);
}

/*
 * Whether a STATUS about task T (NULL: one the master does not know) may
 * come from FROM on behalf of agent A: only from A's current connection,
 * and only about A's own tasks.  0, or -1 after an ERROR to the sender.
 */
static int
status_owner(struct master *m, json_t *rec, const struct net_route *from,
    const struct agent *a, const struct task *t)
{
	if (t != NULL && strcmp(t->agent_id, a->id) != 0) {
		log_warnx("STATUS of task %s refused: it runs on agent %s, "
		    "not %s", t->key, t->agent_id, a->id);
		master_error_logged(m, from, rec, E_NOT_OWNER, "task '%s' does not "
		    "run on agent '%s'", rec_str(rec, "task_id"), a->id);
		return -1;
	}
	if (!net_route_eq(&a->route, from)) {
		log_warnx("STATUS of task %s/%s refused: not from agent %s's "
		    "connection", rec_str(rec, "framework_id"),
		    rec_str(rec, "task_id"), a->id);
		master_error_logged(m, from, rec, E_NOT_OWNER, "this connection "
		    "is not the one of agent '%s'", a->id);
		return -1;
	}
	return 0;
}

/* A STATUS from an agent: record it, forward it to the framework. */
void
task_status(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN], key[KEY_LEN];
	struct agent *a;
	struct task *t;
	const char *state;

	if (rec_require(rec, "agent_id:s framework_id:s task_id:s state:s "
	    "?uuid:s", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return;
	}
	if ((a = map_get(m->agents, rec_str(rec, "agent_id"))) == NULL ||
	    !a->active) {
		/* register first, with the tasks; the update comes again */
		json_t *rr = rec_new(R_REREGISTER);

		rec_set_str(rr, "agent_id", rec_str(rec, "agent_id"));
		master_reply(m, from, rr);
		return;
	}
	snprintf(key, sizeof(key), "%s/%s", rec_str(rec, "framework_id"),
	    rec_str(rec, "task_id"));
	t = map_get(m->tasks, key);
	if (master_owner(m, &a->route, from, rec, "agent", a->id) == -1 ||
	    status_owner(m, rec, from, a, t) == -1)
		return;
	a->route = *from;
	a->last_seen = now_ms();
	state = rec_str(rec, "state");
	/* killed at its agent's drain deadline: the reason says so */
	if (t != NULL && t->drain_killed && strcmp(state, TASK_KILLED) == 0)
		rec_set_str(rec, "reason", REASON_DRAINED);
	if (t != NULL) {
		t->reported = 1;
		if (!t->kill_wanted || task_state_terminal(state))
			map_del(m->pending, t->key);
		if (t->ended == 0) {
			if (t->started == 0 && strcmp(state, TASK_RUNNING) == 0)
				t->started = wall_ms();
			task_state(t, state);
			json_decref(t->status);
			t->status = json_incref(rec);
			if (task_state_terminal(state))
				task_end(m, t);
		}
		/* a resend of the same update keeps its first time */
		if (rec_str(rec, "uuid") != NULL &&
		    strcmp(t->update_uuid, rec_str(rec, "uuid")) != 0) {
			strlcpy(t->update_uuid, rec_str(rec, "uuid"),
			    sizeof(t->update_uuid));
			t->update_sent = now_ms();
		}
	}
	framework_send(m, map_get(m->frameworks, rec_str(rec, "framework_id")),
	    json_incref(rec));
}

/* Forward a framework's ACKNOWLEDGE of a status update to the agent. */
void
task_acknowledge(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN];
	struct framework *fw;
	struct task *t;
	struct agent *a;
	const char *aid;
	json_t *ack;

	if ((fw = framework_of(m, rec, from)) == NULL)
		return;
	if (rec_require(rec, "task_id:s uuid:s ?agent_id:s", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return;
	}
	t = task_of(m, fw, rec, from);
	if (t != NULL && t->update_sent != 0 &&
	    strcmp(t->update_uuid, rec_str(rec, "uuid")) == 0) {
		stats_ack(now_ms() - t->update_sent);
		t->update_sent = 0;
	}
	aid = t != NULL ? t->agent_id : rec_str(rec, "agent_id");
	if (aid == NULL || (a = map_get(m->agents, aid)) == NULL)
		return;
	ack = rec_new(R_ACKNOWLEDGE);
	rec_set_str(ack, "framework_id", fw->id);
	rec_set_str(ack, "task_id", rec_str(rec, "task_id"));
	rec_set_str(ack, "uuid", rec_str(rec, "uuid"));
	rec_set_str(ack, "agent_id", a->id);
	master_reply(m, &a->route, ack);
}

/* T's latest state, as RECONCILE answers it: nothing to acknowledge. */
static json_t *
reconcile_status(const struct task *t)
{
	json_t *st = t->status ? json_deep_copy(t->status) : rec_new(R_STATUS);

	json_object_del(st, "uuid");
	rec_set_str(st, "framework_id", t->framework_id);
	rec_set_str(st, "task_id", t->id);
	rec_set_str(st, "agent_id", t->agent_id);
	rec_set_str(st, "state", t->state);
	rec_set_bool(st, "reconcile", 1);
	return st;
}

/*
 * RECONCILE: the latest state of the named tasks (of all the framework's
 * when none is named); a named task the master does not know is lost.
 */
void
task_reconcile(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;
	json_t *ids, *v, *st;
	struct task *t;
	size_t pos = 0, i;
	char key[KEY_LEN];

	if ((fw = framework_of(m, rec, from)) == NULL)
		return;
	ids = json_object_get(rec, "task_ids");
	if (!json_is_array(ids) || json_array_size(ids) == 0) {
		while ((t = map_next(fw->tasks, &pos, NULL)) != NULL)
			master_reply(m, from, reconcile_status(t));
		return;
	}
	/* the named ones: looked up, not searched for */
	json_array_foreach(ids, i, v) {
		if (!json_is_string(v))
			continue;
		snprintf(key, sizeof(key), "%s/%s", fw->id,
		    json_string_value(v));
		if ((t = map_get(m->tasks, key)) != NULL)
			master_reply(m, from, reconcile_status(t));
	}
	json_array_foreach(ids, i, v) {
		if (!json_is_string(v))
			continue;
		snprintf(key, sizeof(key), "%s/%s", fw->id, json_string_value(v));
		if (map_get(m->tasks, key) != NULL)
			continue;
		st = rec_new(R_STATUS);
		rec_set_str(st, "framework_id", fw->id);
		rec_set_str(st, "task_id", json_string_value(v));
		if (state_awaiting(m)) {
			/* it may be on an agent still to register again */
			rec_set_str(st, "state", TASK_UNREACHABLE);
			rec_set_str(st, "reason", "agents still to register");
		} else {
			rec_set_str(st, "state", TASK_LOST);
			rec_set_str(st, "reason", "unknown task");
		}
		rec_set_bool(st, "reconcile", 1);
		master_reply(m, from, st);
	}
}

/* Forget ended task T: out of every index, and freed. */
static void
task_forget(struct master *m, struct task *t)
{
	struct agent *a;
	struct framework *fw;

	if ((a = map_get(m->agents, t->agent_id)) != NULL)
		map_del(a->tasks, t->key);
	if ((fw = map_get(m->frameworks, t->framework_id)) != NULL)
		map_del(fw->tasks, t->key);
	map_del(m->tasks, t->key);
	json_decref(t->info);
	json_decref(t->status);
	res_free(&t->res);
	free(t);
}

void
tasks_tick(struct master *m, int64_t now)
{
	struct task *t;
	size_t pos;

	for (pos = 0; (t = map_next(m->pending, &pos, NULL)) != NULL;)
		if (now >= t->next_send)
			task_send(m, t);
	/* ended tasks are listed for keep_done_ms, keep_done_max at most */
	while ((t = m->dhead) != NULL &&
	    (now - t->ended > m->conf->keep_done_ms ||
	    m->ndone > m->conf->keep_done_max)) {
		m->dhead = t->dnext;
		if (m->dhead == NULL)
			m->dtail = NULL;
		m->ndone--;
		task_forget(m, t);
	}
}
