/*
 * agentexec: the agent side of the executor protocol (agent.h,
 * cluster-protocol(7) EXECUTORS), shared by agentd and the emulator: the
 * executors' hub, their registration and its secret, the tasks handed to
 * them and their status updates taken into the task's update queue (and
 * acknowledged once checkpointed), framework messages both ways, the
 * registration and shutdown timers, the resize of an executor's
 * container to its resources and its live tasks' (a task waits for it
 * before it goes to the executor), and the end of an executor.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "agent.h"
#include "log.h"
#include "map.h"
#include "net.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "res.h"
#include "util.h"

#define EXEC_GRACE_MS	3000	/* SHUTDOWN to kill, when the conf says none */

#define CONTAINER(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

static void	exec_fire(struct timeq_ent *, int64_t);

int
agent_exec_open(struct agent_set *s, const char *endpoint, char *err)
{
	if ((s->exec_net = net_open(NET_HUB, endpoint, err)) == NULL)
		return -1;
	return 0;
}

int
agent_exec_fd(struct agent_set *s)
{
	return s->exec_net != NULL ? net_fd(s->exec_net) : -1;
}

void
agent_exec_cork(struct agent_set *s)
{
	if (s->exec_net != NULL)
		net_cork(s->exec_net);
}

void
agent_exec_uncork(struct agent_set *s)
{
	if (s->exec_net != NULL)
		(void)net_flush(s->exec_net);
}

int
agent_exec_pending(struct agent_set *s)
{
	return s->exec_net != NULL && net_pending(s->exec_net);
}

struct agent_executor *
agent_exec_find(struct agent_set *s, const char *fw, const char *id)
{
	char key[2 * AGENT_ID_LEN];

	if (fw == NULL || id == NULL)
		return NULL;
	snprintf(key, sizeof(key), "%s/%s", fw, id);
	return map_get(s->executors, key);
}

struct agent_executor *
agent_exec_next(struct agent_set *s, size_t *pos)
{
	return map_next(s->executors, pos, NULL);
}

/* A new executor ID of FW on A (INFO taken), not started; NULL: memory. */
static struct agent_executor *
exec_new(struct agent *a, const char *fw, const char *id, json_t *info)
{
	struct agent_set *s = a->set;
	struct agent_executor *e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		json_decref(info);
		return NULL;
	}
	strlcpy(e->id, id, sizeof(e->id));
	strlcpy(e->framework_id, fw, sizeof(e->framework_id));
	snprintf(e->key, sizeof(e->key), "%s/%s", fw, id);
	e->agent = a;
	e->info = info;
	e->timer.fire = exec_fire;
	TAILQ_INIT(&e->tasks);
	TAILQ_INIT(&e->ready);
	TAILQ_INIT(&e->held);
	if (map_put(s->executors, e->key, e) == -1) {
		json_decref(info);
		free(e);
		return NULL;
	}
	return e;
}

/* Free E, sending nothing; its tasks no longer name it. */
static void
exec_free(struct agent_executor *e)
{
	struct agent_set *s = e->agent->set;
	struct agent_task *t;

	while ((t = TAILQ_FIRST(&e->tasks)) != NULL)
		agent_exec_detach(t);
	map_del(s->executors, e->key);
	timeq_stop(s->conf.timers, &e->timer);
	json_decref(e->acks);
	res_free(&e->tasks_res);
	if (s->conf.ops->executor_free != NULL)
		s->conf.ops->executor_free(s->conf.arg, e);
	json_decref(e->info);
	free(e);
}

void
agent_exec_destroy_all(struct agent_set *s)
{
	struct agent_executor *e;
	size_t pos = 0;

	if (s->executors == NULL)
		return;
	while ((e = map_next(s->executors, &pos, NULL)) != NULL)
		exec_free(e);
	map_destroy(s->executors);
	s->executors = NULL;
	if (s->exec_net != NULL)
		net_close(s->exec_net);
	s->exec_net = NULL;
}

struct agent_executor *
agent_exec_insert(struct agent *a, const char *fw, const char *id,
    json_t *info, const char *secret)
{
	struct agent_set *s = a->set;
	struct agent_executor *e;

	if ((e = exec_new(a, fw, id, info)) == NULL)
		return NULL;
	strlcpy(e->secret, secret, sizeof(e->secret));
	timeq_set(s->conf.timers, &e->timer, now_ms() +
	    PROTO_EXECUTOR_RECONNECT_MS);
	return e;
}

/* Send REC (consumed) to executor E, once it has registered. */
static void
exec_send(struct agent_executor *e, json_t *rec)
{
	if (e->registered && net_send(e->agent->set->exec_net, &e->route,
	    rec) == -1)
		log_debug("send %s to executor %s: dropped", rec_type(rec),
		    e->id);
	json_decref(rec);
}

/* Kill E now, for WHY: its end comes through agent_exec_exited. */
static void
exec_kill(struct agent_executor *e, int force, const char *why)
{
	struct agent_set *s = e->agent->set;

	if (e->why[0] == '\0')
		strlcpy(e->why, why, sizeof(e->why));
	e->killed = 1;
	s->conf.ops->executor_kill(s->conf.arg, e, force);
}

/* E's timer: it did not register in time, or its shutdown grace is over. */
static void
exec_fire(struct timeq_ent *te, int64_t now)
{
	struct agent_executor *e = CONTAINER(te, struct agent_executor, timer);

	(void)now;
	if (e->shutdown) {
		log_warnx("executor %s of %s: still running after its "
		    "shutdown grace: killed", e->id, e->framework_id);
		exec_kill(e, 1, "shut down");
	} else if (!e->registered) {
		log_warnx("executor %s of %s: did not register in time: "
		    "killed", e->id, e->framework_id);
		exec_kill(e, 1, "the executor did not register in time");
	}
}

void
agent_exec_shutdown(struct agent_executor *e, const char *why)
{
	struct agent_set *s = e->agent->set;

	if (e->shutdown)
		return;
	log_info("executor %s of %s: shutdown: %s", e->id, e->framework_id,
	    why);
	strlcpy(e->why, why, sizeof(e->why));
	e->shutdown = 1;
	if (!e->registered) {
		exec_kill(e, 1, why);
		return;
	}
	exec_send(e, rec_new(R_SHUTDOWN));
	timeq_set(s->conf.timers, &e->timer, now_ms() +
	    (s->conf.exec_grace_ms > 0 ? s->conf.exec_grace_ms : EXEC_GRACE_MS));
}

/* LAUNCH_TASK of T to its executor. */
static void
exec_launch(struct agent_task *t)
{
	json_t *r = rec_new(R_LAUNCH_TASK);

	json_object_set(r, "task", t->info);
	rec_set_str(r, "framework_id", t->framework_id);
	exec_send(t->exec, r);
}

/* T may go to its executor: queued, sent at the flush as the window lets. */
static void
exec_ready(struct agent_task *t)
{
	if (t->exec_ready || t->exec_sent)
		return;
	t->exec_ready = 1;
	TAILQ_INSERT_TAIL(&t->exec->ready, t, ready_link);
}

/* Take T off its executor's ready queue. */
static void
exec_unready(struct agent_task *t)
{
	if (t->exec_ready) {
		TAILQ_REMOVE(&t->exec->ready, t, ready_link);
		t->exec_ready = 0;
	}
}

/*
 * T's LAUNCH_TASK waits for a resize to make room for it: on the held
 * queue's tail, counted by no resize yet.  A resize counts the tail's
 * uncounted tasks and its answer releases the head's counted ones: each
 * touches only the tasks it covers, never all the executor's.
 */
void
agent_exec_hold(struct agent_task *t)
{
	if (t->exec_hold)
		return;
	t->exec_hold = 1;
	t->exec_gen = 0;
	TAILQ_INSERT_TAIL(&t->exec->held, t, held_link);
}

/* Take T off its executor's held queue. */
static void
exec_hold_off(struct agent_task *t)
{
	if (t->exec_hold) {
		TAILQ_REMOVE(&t->exec->held, t, held_link);
		t->exec_hold = 0;
	}
}

/* The executor answered T's LAUNCH_TASK: a place in the window is free. */
static void
exec_landed(struct agent_task *t)
{
	if (t->exec_sent) {
		t->exec_sent = 0;
		t->exec->inflight--;
	}
}

/* Send E the ready tasks its window has room for. */
static void
exec_pump(struct agent_executor *e)
{
	struct agent_task *t;

	if (!e->registered || e->shutdown || e->killed || e->exited)
		return;
	while (e->inflight < AGENT_EXEC_WINDOW &&
	    (t = TAILQ_FIRST(&e->ready)) != NULL) {
		exec_unready(t);
		t->exec_sent = 1;
		e->inflight++;
		exec_launch(t);
	}
}

void
agent_exec_detach(struct agent_task *t)
{
	exec_hold_off(t);
	exec_unready(t);
	exec_landed(t);
	agent_exec_uncount(t);
	TAILQ_REMOVE(&t->exec->tasks, t, exec_link);
	t->exec = NULL;
}

/*
 * Executor XID of FW never ran on A (WHY): the master, which counted it
 * with the task's ACCEPT, hears EXECUTOR_EXITED.
 */
static void
exec_never(struct agent *a, const char *fw, const char *xid, const char *why)
{
	struct agent_set *s = a->set;
	json_t *r;

	if (xid == NULL || !id_valid(xid) || agent_exec_find(s, fw, xid) != NULL)
		return;
	r = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", R_EXECUTOR_EXITED,
	    "agent_id", a->id, "framework_id", fw, "executor_id", xid,
	    "reason", why);
	if (s->conf.ops->send(s->conf.arg, r) == -1)
		log_debug("send %s: master not reachable", R_EXECUTOR_EXITED);
	json_decref(r);
}

/* True when executor map X of a LAUNCH can be run; else WHY (256). */
static int
exec_info_ok(const json_t *x, char *why)
{
	char err[REC_ERRLEN];

	if (rec_require(x, "executor_id:s command:s resources:s ?env:o "
	    "?user:s", err) == -1) {
		snprintf(why, 256, "executor: %.200s", err);
		return 0;
	}
	if (!id_valid(rec_str(x, "executor_id"))) {
		snprintf(why, 256, "executor: executor_id is not a valid id");
		return 0;
	}
	return 1;
}

void
agent_exec_task_start(struct agent_task *t)
{
	struct agent *a = t->agent;
	struct agent_set *s = a->set;
	json_t *x = json_object_get(t->info, "executor");
	struct agent_executor *e;
	unsigned char raw[(AGENT_SECRET_LEN - 1) / 2];
	char why[256];

	if (s->exec_net == NULL || s->conf.ops->executor_start == NULL) {
		exec_never(a, t->framework_id, rec_str(x, "executor_id"),
		    "this agent runs no executors");
		agent_update(t, TASK_FAILED, json_pack("{s:s}", "reason",
		    "this agent runs no executors"));
		return;
	}
	if (!exec_info_ok(x, why)) {
		exec_never(a, t->framework_id, rec_str(x, "executor_id"), why);
		agent_update(t, TASK_ERROR, json_pack("{s:s}", "reason", why));
		return;
	}
	e = agent_exec_find(s, t->framework_id, rec_str(x, "executor_id"));
	if (e != NULL && (e->shutdown || e->killed)) {
		agent_update(t, TASK_FAILED, json_pack("{s:s}", "reason",
		    "its executor is shutting down"));
		return;
	}
	if (e == NULL) {
		if ((e = exec_new(a, t->framework_id, rec_str(x, "executor_id"),
		    json_deep_copy(x))) == NULL) {
			agent_update(t, TASK_FAILED, json_pack("{s:s}",
			    "reason", "out of memory"));
			return;
		}
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(e->secret, sizeof(e->secret), raw, sizeof(raw));
		if (s->conf.ops->executor_start(s->conf.arg, e, why) == -1) {
			log_warnx("executor %s of %s: %s", e->id,
			    e->framework_id, why);
			agent_exec_exited(e, 0, why);
			agent_update(t, TASK_FAILED, json_pack("{s:s}",
			    "reason", why));
			return;
		}
		/* a launch that failed at once has ended it already */
		if ((e = agent_exec_find(s, t->framework_id,
		    rec_str(x, "executor_id"))) == NULL) {
			agent_update(t, TASK_FAILED, json_pack("{s:s}",
			    "reason", "its executor could not start"));
			return;
		}
		log_info("executor %s of %s: started", e->id, e->framework_id);
		timeq_set(s->conf.timers, &e->timer, now_ms() +
		    (s->conf.exec_register_ms > 0 ? s->conf.exec_register_ms :
		    PROTO_EXECUTOR_REGISTER_MS));
	}
	agent_exec_attach(t, e);
	agent_update(t, TASK_STARTING, json_pack("{s:s}", "executor_id", e->id));
	if (s->conf.ops->executor_resize == NULL) {
		exec_ready(t);
		return;
	}
	agent_exec_hold(t);
	agent_exec_resize(e);
}

void
agent_exec_kill_task(struct agent_task *t)
{
	json_t *r;

	if (t->exec_hold || t->exec_ready) {	/* its executor has not
						   heard of it */
		exec_hold_off(t);
		exec_unready(t);
		agent_update(t, TASK_KILLED, json_pack("{s:s,s:s}", "reason",
		    "killed before its executor ran it", "executor_id",
		    t->exec->id));
		return;
	}
	t->exec_kill = 1;	/* sent again at each registration */
	r = rec_new(R_KILL_TASK);
	rec_set_str(r, "task_id", t->id);
	rec_set_str(r, "framework_id", t->framework_id);
	exec_send(t->exec, r);
}

void
agent_exec_exited(struct agent_executor *e, int lost, const char *reason)
{
	struct agent_set *s = e->agent->set;
	struct agent_task *t, *next;
	char why[256];
	json_t *r;

	e->exited = 1;
	snprintf(why, sizeof(why), "executor %s %s%s%s", e->id, reason,
	    e->why[0] ? ": " : "", e->why);
	log_info("executor %s of %s: %s", e->id, e->framework_id, why);
	for (t = TAILQ_FIRST(&e->tasks); t != NULL; t = next) {
		next = TAILQ_NEXT(t, exec_link);
		if (!t->ended)
			agent_update(t, t->exec_kill ? TASK_KILLED :
			    lost ? TASK_LOST : TASK_FAILED,
			    json_pack("{s:s,s:s}", "reason", why,
			    "executor_id", e->id));
	}
	r = rec_new(R_EXECUTOR_EXITED);
	rec_set_str(r, "agent_id", e->agent->id);
	rec_set_str(r, "framework_id", e->framework_id);
	rec_set_str(r, "executor_id", e->id);
	rec_set_str(r, "reason", why);
	if (s->conf.ops->send(s->conf.arg, r) == -1)
		log_debug("send %s: master not reachable", R_EXECUTOR_EXITED);
	json_decref(r);
	exec_free(e);
}

/* Answer the executor at TO an ERROR of CODE about REC, and log it. */
static void
exec_refuse(struct agent_set *s, const struct net_route *to,
    const json_t *rec, const char *code, const char *why)
{
	json_t *r = rec_error(rec, code, "%s", why);

	log_warnx("refused %s from executor %s of %s: %s", rec_type(rec),
	    rec_str(rec, "executor_id") ? rec_str(rec, "executor_id") : "?",
	    rec_str(rec, "framework_id") ? rec_str(rec, "framework_id") : "?",
	    why);
	if (net_send(s->exec_net, to, r) == -1)
		log_debug("send ERROR to an executor: dropped");
	json_decref(r);
}

/* REGISTER_EXECUTOR (also its heartbeat): answer, hand the tasks over. */
static void
exec_register(struct agent_executor *e)
{
	struct agent_set *s = e->agent->set;
	struct agent_task *t;
	json_t *r;
	int first = !e->registered;

	if (first) {
		e->registered = 1;
		if (!e->shutdown)
			timeq_stop(s->conf.timers, &e->timer);
		log_info("executor %s of %s: registered", e->id,
		    e->framework_id);
	}
	r = rec_new(R_EXECUTOR_REGISTERED);
	rec_set_str(r, "agent_id", e->agent->id);
	rec_set_str(r, "framework_id", e->framework_id);
	rec_set_str(r, "executor_id", e->id);
	exec_send(e, r);
	if (e->shutdown) {
		exec_send(e, rec_new(R_SHUTDOWN));
		return;
	}
	/* a task it has not spoken of yet may have missed its LAUNCH_TASK */
	TAILQ_FOREACH(t, &e->tasks, exec_link) {
		if (t->ended || t->exec_hold || t->exec_ready)
			continue;
		if (t->exec_sent)
			exec_launch(t);
		if (t->exec_kill)
			agent_exec_kill_task(t);
	}
	/* its limits as they must be now: it may be one an earlier run left */
	if (first)
		agent_exec_resize(e);
}

/*
 * STATUS from executor E: queued as the task's update, and acknowledged
 * at the flush, once it is checkpointed; a resent one is only
 * acknowledged again.
 */
static void
exec_status(struct agent_executor *e, const json_t *rec,
    const struct net_route *from)
{
	struct agent_set *s = e->agent->set;
	char key[3 * AGENT_ID_LEN], err[REC_ERRLEN];
	struct agent_task *t;
	const char *state = rec_str(rec, "state");
	int64_t seq = 0;
	json_t *extra, *ack;

	if (rec_require(rec, "task_id:s state:s uuid:s seq:i ?reason:s "
	    "?message:s", err) == -1 || !task_state_valid(state) ||
	    strcmp(state, TASK_STAGING) == 0 ||
	    rec_int(rec, "seq", &seq) == -1 || seq <= 0) {
		exec_refuse(s, from, rec, E_MALFORMED, err[0] ? err :
		    "bad state or seq");
		return;
	}
	snprintf(key, sizeof(key), "%d/%s/%s", e->agent->index,
	    e->framework_id, rec_str(rec, "task_id"));
	if ((t = map_get(s->tasks, key)) == NULL || t->exec != e) {
		exec_refuse(s, from, rec, E_NOT_OWNER, "not a task of this "
		    "executor");
		return;
	}
	if (seq > t->exec_seq && !t->ended) {
		exec_landed(t);
		t->exec_seq = seq;
		extra = json_pack("{s:s,s:I}", "executor_id", e->id,
		    "executor_seq", (json_int_t)seq);
		if (rec_str(rec, "reason") != NULL)
			rec_set_str(extra, "reason", rec_str(rec, "reason"));
		if (rec_str(rec, "message") != NULL)
			rec_set_str(extra, "message", rec_str(rec, "message"));
		agent_update(t, state, extra);
	}
	ack = rec_new(R_ACKNOWLEDGE);
	rec_set_str(ack, "task_id", rec_str(rec, "task_id"));
	rec_set_str(ack, "uuid", rec_str(rec, "uuid"));
	if (e->acks == NULL)
		e->acks = json_array();
	json_array_append_new(e->acks, ack);
	s->exec_acks = 1;
}

void
agent_exec_flush_acks(struct agent_set *s)
{
	struct agent_executor *e;
	json_t *ack;
	size_t pos = 0, i;

	if (!s->exec_acks)
		return;
	s->exec_acks = 0;
	while ((e = map_next(s->executors, &pos, NULL)) != NULL) {
		if (e->acks == NULL)
			continue;
		json_array_foreach(e->acks, i, ack)
			exec_send(e, json_incref(ack));
		json_decref(e->acks);
		e->acks = NULL;
	}
}

/* FRAMEWORK_MESSAGE from executor E: on to the master, best effort. */
static void
exec_message(struct agent_executor *e, const json_t *rec,
    const struct net_route *from)
{
	struct agent_set *s = e->agent->set;
	const char *data = rec_str(rec, "data");
	char why[64];
	json_t *r;

	if (data == NULL || strlen(data) > PROTO_MESSAGE_MAX) {
		/* as the master answers a scheduler's (cluster-protocol(7)) */
		snprintf(why, sizeof(why), "data missing or longer than %d "
		    "bytes", PROTO_MESSAGE_MAX);
		exec_refuse(s, from, rec, E_MALFORMED, why);
		return;
	}
	r = rec_new(R_FRAMEWORK_MESSAGE);
	rec_set_str(r, "agent_id", e->agent->id);
	rec_set_str(r, "framework_id", e->framework_id);
	rec_set_str(r, "executor_id", e->id);
	rec_set_str(r, "data", data);
	if (s->conf.ops->send(s->conf.arg, r) == -1)
		log_debug("send %s: master not reachable", R_FRAMEWORK_MESSAGE);
	json_decref(r);
}

/* One record REC from the executor at FROM: proved, then handled. */
static void
exec_take(struct agent_set *s, const json_t *rec, const struct net_route *from)
{
	const char *type = rec_type(rec), *secret = rec_str(rec, "secret");
	struct agent_executor *e;

	if (strcmp(type, R_ERROR) == 0)
		return;		/* never answer an ERROR */
	e = agent_exec_find(s, rec_str(rec, "framework_id"),
	    rec_str(rec, "executor_id"));
	if (e == NULL) {
		exec_refuse(s, from, rec, E_UNKNOWN_EXECUTOR, "no such "
		    "executor on this agent");
		return;
	}
	if (secret == NULL || strlen(secret) != strlen(e->secret) ||
	    sodium_memcmp(secret, e->secret, strlen(e->secret)) != 0) {
		exec_refuse(s, from, rec, E_UNAUTHENTICATED, "wrong secret");
		return;
	}
	e->route = *from;
	if (strcmp(type, R_REGISTER_EXECUTOR) == 0)
		exec_register(e);
	else if (!e->registered)
		exec_refuse(s, from, rec, E_INVALID, "not registered");
	else if (strcmp(type, R_STATUS) == 0)
		exec_status(e, rec, from);
	else if (strcmp(type, R_FRAMEWORK_MESSAGE) == 0)
		exec_message(e, rec, from);
	else
		exec_refuse(s, from, rec, E_UNKNOWN_TYPE, "not a record an "
		    "executor sends");
}

int
agent_exec_receive(struct agent_set *s)
{
	struct net_route from;
	char err[256];
	json_t *rec;
	int n, r;

	if (s->exec_net == NULL)
		return 0;
	for (n = 0; n < AGENT_RECV_BATCH; n++) {
		r = net_recv(s->exec_net, &rec, &from, err);
		if (r == 0)
			break;
		if (r < 0) {
			log_warnx("from an executor: %s", err);
			if (r == -2)
				break;
			continue;
		}
		exec_take(s, rec, &from);
		json_decref(rec);
	}
	return n;
}

void
agent_exec_handle(struct agent *a, const json_t *rec)
{
	struct agent_executor *e;
	const char *data = rec_str(rec, "data");
	json_t *r;

	e = agent_exec_find(a->set, rec_str(rec, "framework_id"),
	    rec_str(rec, "executor_id"));
	if (e == NULL) {
		log_debug("%s for no executor of ours: dropped", rec_type(rec));
		return;
	}
	if (strcmp(rec_type(rec), R_SHUTDOWN_EXECUTOR) == 0) {
		agent_exec_shutdown(e, "the framework asked");
		return;
	}
	if (data == NULL || strlen(data) > PROTO_MESSAGE_MAX)
		return;
	r = rec_new(R_FRAMEWORK_MESSAGE);
	rec_set_str(r, "framework_id", e->framework_id);
	rec_set_str(r, "executor_id", e->id);
	rec_set_str(r, "data", data);
	exec_send(e, r);
}

/*
 * The sum of E's live tasks' resources, added up again from the tasks
 * (what agent_exec_attach and agent_exec_uncount keep); 0 or -1.
 */
static int
exec_recount(struct agent_executor *e)
{
	struct agent_task *t;
	struct res sum;

	res_init(&sum);
	TAILQ_FOREACH(t, &e->tasks, exec_link)
		if (t->exec_counted && res_add(&sum, &t->exec_res) == -1) {
			res_free(&sum);
			return -1;
		}
	res_free(&e->tasks_res);
	e->tasks_res = sum;
	return 0;
}

/*
 * Sum into LIMITS (not initialised) executor E's resources and those of
 * its live tasks.  Returns 0, or -1 with LIMITS empty.
 */
static int
exec_limits(struct agent_executor *e, struct res *limits)
{
	char err[RES_ERRLEN];

	if (res_parse(rec_str(e->info, "resources"), limits, err) == -1)
		return -1;
	if (res_add(limits, &e->tasks_res) == -1) {
		res_free(limits);
		return -1;
	}
	return 0;
}

/*
 * Count T in E's tasks_res: a resize asks for the sum kept as tasks come
 * and end, not for every task's resources parsed again (an executor may
 * hold thousands of short tasks, and resizes as often as they change).
 */
void
agent_exec_attach(struct agent_task *t, struct agent_executor *e)
{
	char err[RES_ERRLEN];
	const char *v;

	t->exec = e;
	TAILQ_INSERT_TAIL(&e->tasks, t, exec_link);
	t->exec_counted = 0;
	if (t->ended || (v = rec_str(t->info, "resources")) == NULL ||
	    res_parse(v, &t->exec_res, err) == -1)
		return;		/* a launch that fails on them says so */
	if (res_add(&e->tasks_res, &t->exec_res) == -1) {
		res_free(&t->exec_res);
		return;
	}
	t->exec_counted = 1;
}

void
agent_exec_uncount(struct agent_task *t)
{
	struct agent_executor *e = t->exec;

	if (e == NULL || !t->exec_counted)
		return;
	t->exec_counted = 0;
	/* a sum that cannot lose it (ports counted twice) is made again */
	if (res_sub(&e->tasks_res, &t->exec_res) == -1 &&
	    exec_recount(e) == -1)
		log_warnx("executor %s of %s: its tasks' resources cannot be "
		    "added up", e->id, e->framework_id);
	res_free(&t->exec_res);
}

void
agent_exec_resize(struct agent_executor *e)
{
	struct agent_set *s = e->agent->set;

	/* before it registers, its limits are its own: exec_register asks */
	if (e->exited || s->conf.ops->executor_resize == NULL ||
	    !e->registered)
		return;
	e->resize_wanted = 1;
	s->exec_resize = 1;
}

/* Ask for E's resize now: its limits as its tasks make them. */
static void
exec_resize_now(struct agent_executor *e)
{
	struct agent_set *s = e->agent->set;
	struct agent_task *t;
	struct res limits;
	char why[256];
	int64_t gen;
	int rc;

	e->resize_wanted = 0;
	gen = ++e->resize_gen;
	TAILQ_FOREACH_REVERSE(t, &e->held, agent_taskq, held_link) {
		if (t->exec_gen != 0)
			break;
		t->exec_gen = gen;
	}
	if (exec_limits(e, &limits) == -1) {
		agent_exec_resized(e, gen, "its resources and its tasks' "
		    "cannot be added up");
		return;
	}
	rc = s->conf.ops->executor_resize(s->conf.arg, e, &limits, gen, why);
	res_free(&limits);
	if (rc == 0)
		e->resize_busy = gen;
	else
		agent_exec_resized(e, gen, rc == -1 ? why : NULL);
}

void
agent_exec_flush(struct agent_set *s)
{
	struct agent_executor *e;
	size_t pos = 0;

	int resize = s->exec_resize;

	s->exec_resize = 0;
	while ((e = map_next(s->executors, &pos, NULL)) != NULL) {
		if (resize && e->resize_wanted && !e->exited &&
		    e->resize_busy == 0)
			exec_resize_now(e);
		exec_pump(e);
	}
}

void
agent_exec_resized(struct agent_executor *e, int64_t gen, const char *why)
{
	struct agent_task *t;
	char reason[512];

	if (why != NULL) {
		log_warnx("executor %s of %s: resize: %s", e->id,
		    e->framework_id, why);
		snprintf(reason, sizeof(reason), "executor %s cannot take the "
		    "task's resources: %s", e->id, why);
	}
	if (e->resize_busy == gen) {
		e->resize_busy = 0;
		if (e->resize_wanted)
			e->agent->set->exec_resize = 1;
	}
	while ((t = TAILQ_FIRST(&e->held)) != NULL && t->exec_gen != 0 &&
	    t->exec_gen <= gen) {
		exec_hold_off(t);
		if (t->ended)
			continue;
		if (why == NULL)
			exec_ready(t);
		else
			agent_update(t, TASK_FAILED, json_pack("{s:s,s:s}",
			    "reason", reason, "executor_id", e->id));
	}
}
