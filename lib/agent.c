/*
 * agent: the agent side of the protocol, shared by agentd and the agent
 * emulator (see agent.h): registration, heartbeats, the dispatch of the
 * master's records and the status update queues.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "agent.h"
#include "auth.h"
#include "log.h"
#include "map.h"
#include "net.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "util.h"

#define UPDATE_RETRY_DOUBLINGS	3	/* resends wait at most 8 x the first */
#define SEND_RETRY_MS		50	/* a socket not connected yet */
#define REGISTER_BURST		100	/* registrations at once at most */
#define SWEEP_MIN_MS		10000	/* between two "everyone again" */

#define CONTAINER(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

#define LOGV(set, ...) do {					\
	if ((set)->conf.verbose)				\
		log_info(__VA_ARGS__);				\
	else							\
		log_debug(__VA_ARGS__);				\
} while (0)

static void	agent_fire(struct timeq_ent *, int64_t);
static void	retry_fire(struct timeq_ent *, int64_t);

int
agent_cred_setup(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], principal[AUTH_PRINCIPAL_MAX], why[AUTH_ERRLEN];

	switch (auth_bootstrap_default(path, dir, sizeof(dir), principal, why)) {
	case -1:	/* then none is found below: in the clear */
		log_warnx("cannot make the first credential: %s", why);
		break;
	case 1:
		log_info("first start: made the credential of principal %s "
		    "in %s", principal, dir);
	}
	if (net_peer_cred_find(path, why) == -1) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	return 0;
}

struct agent_set *
agent_set_create(const struct agent_conf *conf, int n)
{
	struct agent_set *s;
	int i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->conf = *conf;
	s->n = n;
	LIST_INIT(&s->dirty);
	if ((s->agents = calloc((size_t)n, sizeof(*s->agents))) == NULL ||
	    (s->tasks = map_create()) == NULL ||
	    (s->executors = map_create()) == NULL) {
		map_destroy(s->tasks);
		free(s->agents);
		free(s);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		s->agents[i].index = i;
		s->agents[i].set = s;
		s->agents[i].timer.fire = agent_fire;
		LIST_INIT(&s->agents[i].tasks);
	}
	s->tokens = REGISTER_BURST;
	s->tokens_at = now_ms();
	return s;
}

/* Take T out of the set and give it back to the caller to free. */
static void
task_forget(struct agent_task *t)
{
	struct agent_set *s = t->agent->set;

	if (t->dirty)
		LIST_REMOVE(t, dirty_link);
	LIST_REMOVE(t, agent_link);
	if (t->exec != NULL)
		agent_exec_detach(t);
	map_del(s->tasks, t->key);
	timeq_stop(s->conf.timers, &t->retry);
	json_decref(t->info);
	json_decref(t->updates);
	json_decref(t->unsaved);
	s->conf.ops->task_free(s->conf.arg, t);
}

void
agent_set_destroy(struct agent_set *s)
{
	struct agent_task *t;
	size_t pos = 0;
	int i;

	if (s == NULL)
		return;
	while ((t = map_next(s->tasks, &pos, NULL)) != NULL)
		task_forget(t);
	agent_exec_destroy_all(s);
	for (i = 0; i < s->n; i++)
		timeq_stop(s->conf.timers, &s->agents[i].timer);
	map_destroy(s->tasks);
	free(s->agents);
	free(s);
}

/* Every update of ended task T was acknowledged: let go of it. */
static void
task_done(struct agent_task *t)
{
	struct agent_set *s = t->agent->set;

	if (s->conf.ops->task_acked != NULL)
		s->conf.ops->task_acked(s->conf.arg, t);
	task_forget(t);
}

/* Put T on the list agent_set_flush works through. */
static void
task_dirty(struct agent_task *t)
{
	if (!t->dirty) {
		t->dirty = 1;
		LIST_INSERT_HEAD(&t->agent->set->dirty, t, dirty_link);
	}
}

/* Keep LINE (consumed) for T's checkpoint, when the caller keeps one. */
static void
task_journal(struct agent_task *t, json_t *line)
{
	if (t->agent->set->conf.ops->checkpoint == NULL) {
		json_decref(line);
		return;
	}
	if (t->unsaved == NULL)
		t->unsaved = json_array();
	json_array_append_new(t->unsaved, line);
	task_dirty(t);
}

/* Hand T's checkpoint lines to ops->checkpoint; 0 when it had none. */
static int
task_lines(struct agent_task *t)
{
	struct agent_set *s = t->agent->set;

	if (t->unsaved == NULL)
		return 0;
	s->conf.ops->checkpoint(s->conf.arg, t, t->unsaved);
	json_decref(t->unsaved);
	t->unsaved = NULL;
	return 1;
}

void
agent_task_checkpoint(struct agent_task *t)
{
	struct agent_set *s = t->agent->set;

	if (task_lines(t) && s->conf.ops->checkpoint_sync != NULL)
		s->conf.ops->checkpoint_sync(s->conf.arg);
}

/* Send T's oldest unacknowledged update and schedule its resend. */
static void
update_send(struct agent_task *t)
{
	struct agent_set *s = t->agent->set;
	json_t *head = json_array_get(t->updates, 0);
	int64_t delay;

	t->send_head = 0;
	if (head == NULL || !t->agent->registered) {
		timeq_stop(s->conf.timers, &t->retry);
		return;
	}
	agent_task_checkpoint(t);		/* never send what a restart would lose */
	rec_set_str(head, "agent_id", t->agent->id);
	if (s->conf.ops->send(s->conf.arg, head) == -1)
		log_debug("send %s: master not reachable", R_STATUS);
	delay = s->conf.retry_ms << (t->tries < UPDATE_RETRY_DOUBLINGS ?
	    t->tries : UPDATE_RETRY_DOUBLINGS);
	timeq_set(s->conf.timers, &t->retry, now_ms() + delay);
	t->tries++;
}

/* Send T's oldest update afresh (a new head, or the master asks again). */
static void
update_resend(struct agent_task *t)
{
	t->tries = 0;
	update_send(t);
}

static void
retry_fire(struct timeq_ent *e, int64_t now)
{
	(void)now;
	update_send(CONTAINER(e, struct agent_task, retry));
}

void
agent_update(struct agent_task *t, const char *state, json_t *extra)
{
	struct agent_set *s = t->agent->set;
	struct agent_executor *shrink = NULL;
	char uuid[AGENT_ID_LEN];
	json_t *st;

	strlcpy(t->state, state, sizeof(t->state));
	if (task_state_terminal(state)) {
		if (!t->ended && (shrink = t->exec) != NULL)
			agent_exec_uncount(t);	/* its executor needs less */
		t->ended = 1;
	}
	if (t->disowned) {
		/* the master reported it lost already: no second ending */
		json_decref(extra);
		if (shrink != NULL)
			agent_exec_resize(shrink);
		if (t->ended)
			task_done(t);
		return;
	}
	st = rec_new(R_STATUS);
	rec_set_str(st, "agent_id", t->agent->id);
	rec_set_str(st, "framework_id", t->framework_id);
	rec_set_str(st, "task_id", t->id);
	rec_set_str(st, "state", state);
	rec_set_str(st, "uuid", id_new("u", uuid, sizeof(uuid)));
	rec_set_int(st, "timestamp_ms", wall_ms());
	if (s->conf.ops->status != NULL)
		s->conf.ops->status(s->conf.arg, t, st);
	if (extra != NULL) {
		json_object_update(st, extra);
		json_decref(extra);
	}
	LOGV(s, "task %s of %s: %s", t->id, t->framework_id, state);
	json_array_append_new(t->updates, st);
	task_journal(t, json_incref(st));
	if (json_array_size(t->updates) == 1) {
		t->tries = 0;
		t->send_head = 1;
		task_dirty(t);
	}
	if (shrink != NULL)
		agent_exec_resize(shrink);
}

void
agent_set_flush(struct agent_set *s)
{
	struct agent_task *t;

	agent_exec_flush(s);
	/* every line of the turn is kept, in one write, before any send */
	LIST_FOREACH(t, &s->dirty, dirty_link)
		task_lines(t);
	if (s->conf.ops->checkpoint_sync != NULL)
		s->conf.ops->checkpoint_sync(s->conf.arg);
	while ((t = LIST_FIRST(&s->dirty)) != NULL) {
		LIST_REMOVE(t, dirty_link);
		t->dirty = 0;
		if (t->send_head)
			update_send(t);
	}
	agent_exec_flush_acks(s);
}

int
agent_task_insert(struct agent *a, struct agent_task *t)
{
	struct agent_set *s = a->set;

	snprintf(t->key, sizeof(t->key), "%d/%s/%s", a->index,
	    t->framework_id, t->id);
	t->agent = a;
	t->retry.fire = retry_fire;
	if (t->updates == NULL)
		t->updates = json_array();
	if (t->updates == NULL || map_put(s->tasks, t->key, t) == -1)
		return -1;
	LIST_INSERT_HEAD(&a->tasks, t, agent_link);
	return 0;
}

/* The task of agent A that FW and TID name, or NULL. */
static struct agent_task *
task_find(struct agent *a, const char *fw, const char *tid)
{
	char key[3 * AGENT_ID_LEN];

	snprintf(key, sizeof(key), "%d/%s/%s", a->index, fw, tid);
	return map_get(a->set->tasks, key);
}

/* What the master must know of A's tasks when it (re-)registers. */
static json_t *
tasks_report(struct agent *a)
{
	json_t *list = json_array();
	struct agent_task *t;

	LIST_FOREACH(t, &a->tasks, agent_link) {
		if (t->disowned)
			continue;
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:O}",
		    "framework_id", t->framework_id, "task_id", t->id,
		    "state", t->state[0] ? t->state : TASK_STARTING,
		    "task", t->info));
	}
	return list;
}

/*
 * Take one registration from the rate limit.  Returns 0 when it may go
 * now, else the milliseconds to wait.
 */
static int64_t
register_token(struct agent_set *s, int64_t now)
{
	int rate = s->conf.register_rate;

	if (rate <= 0)
		return 0;
	s->tokens += (double)(now - s->tokens_at) * rate / 1000;
	if (s->tokens > REGISTER_BURST)
		s->tokens = REGISTER_BURST;
	s->tokens_at = now;
	if (s->tokens >= 1) {
		s->tokens -= 1;
		return 0;
	}
	return 1 + (int64_t)((1 - s->tokens) * 1000 / rate);
}

/* Agent A's registration, paced; it is sent again until answered. */
static void
agent_register(struct agent *a, int64_t now)
{
	struct agent_set *s = a->set;
	int64_t wait, jitter = s->conf.register_jitter_ms;
	json_t *r;
	int sent;

	if ((wait = register_token(s, now)) > 0) {
		timeq_set(s->conf.timers, &a->timer, now + wait);
		return;
	}
	r = rec_new(R_REGISTER_AGENT);
	s->conf.ops->describe(s->conf.arg, a, r);
	if (a->id[0] != '\0')
		rec_set_str(r, "agent_id", a->id);
	json_object_set_new(r, "tasks", tasks_report(a));
	sent = s->conf.ops->send(s->conf.arg, r);
	json_decref(r);
	/* a new socket may not be connected yet: try again soon */
	timeq_set(s->conf.timers, &a->timer, now + (sent == -1 ?
	    SEND_RETRY_MS : s->conf.register_retry_ms +
	    (jitter > 0 ? arc4random_uniform((uint32_t)jitter) : 0)));
}

/* Agent A's timer: its registration (not yet registered), or a heartbeat. */
static void
agent_fire(struct timeq_ent *e, int64_t now)
{
	struct agent *a = CONTAINER(e, struct agent, timer);
	struct agent_set *s = a->set;
	json_t *r;

	if (!a->registered) {
		agent_register(a, now);
		return;
	}
	r = rec_new(R_HEARTBEAT);
	rec_set_str(r, "agent_id", a->id);
	if (s->conf.ops->send(s->conf.arg, r) == -1)
		log_debug("send %s: master not reachable", R_HEARTBEAT);
	json_decref(r);
	timeq_set(s->conf.timers, &a->timer, now + s->conf.heartbeat_ms);
}

void
agent_set_start(struct agent_set *s)
{
	int64_t now = now_ms();
	int i;

	for (i = 0; i < s->n; i++)
		timeq_set(s->conf.timers, &s->agents[i].timer, now +
		    (s->conf.register_rate > 0 ?
		    (int64_t)i * 1000 / s->conf.register_rate : 0));
}

void
agent_reregister(struct agent *a, int64_t delay)
{
	struct agent_set *s = a->set;

	if (a->leaving)
		return;
	if (a->registered) {
		a->registered = 0;
		s->nregistered--;
	}
	timeq_set(s->conf.timers, &a->timer, now_ms() + delay);
}

/* Every registered agent registers again, paced (an older master). */
static void
sweep(struct agent_set *s)
{
	int64_t now = now_ms();
	int i, k = 0, rate = s->conf.register_rate;

	if (s->last_sweep != 0 && now - s->last_sweep < SWEEP_MIN_MS)
		return;
	s->last_sweep = now;
	log_info("the master asks for registration again: all %d agents "
	    "register again", s->n);
	for (i = 0; i < s->n; i++)
		if (s->agents[i].registered)
			agent_reregister(&s->agents[i], rate > 0 ?
			    (int64_t)k++ * 1000 / rate : 0);
}

/*
 * The master accepted agent A as ID.  With KILL_TASKS it had removed
 * A's earlier self, whose tasks are lost: they are killed, unreported.
 * Then every pending update goes out again.
 */
static void
handle_registered(struct agent *a, const char *id, int kill_tasks)
{
	struct agent_set *s = a->set;
	struct agent_task *t, *next;

	if (a->registered)
		return;		/* the answer to a retry */
	LOGV(s, "registered as %s", id);
	strlcpy(a->id, id, sizeof(a->id));
	a->registered = 1;
	s->nregistered++;
	/* heartbeats spread evenly over the interval */
	timeq_set(s->conf.timers, &a->timer, now_ms() + 1 +
	    arc4random_uniform((uint32_t)s->conf.heartbeat_ms));
	if (kill_tasks) {
		log_warnx("the master removed agent %s earlier; killing the "
		    "tasks it had", id);
		for (t = LIST_FIRST(&a->tasks); t != NULL; t = next) {
			next = LIST_NEXT(t, agent_link);
			t->disowned = 1;
			json_array_clear(t->updates);
			if (t->ended)
				task_done(t);
			else {
				task_journal(t, json_pack("{s:b}", "clear", 1));
				agent_task_kill(t);
			}
		}
	}
	/* anything the master missed while we were away */
	LIST_FOREACH(t, &a->tasks, agent_link)
		update_resend(t);
}

/* A LAUNCH for agent A: start the task, or resend its update if known. */
static void
handle_launch(struct agent *a, const json_t *rec)
{
	struct agent_set *s = a->set;
	char err[REC_ERRLEN];
	json_t *info = json_object_get(rec, "task");
	const char *fw = rec_str(rec, "framework_id"), *tid;
	struct agent_task *t;

	if (rec_require(rec, "framework_id:s task:o", err) == -1 ||
	    rec_require(info, "task_id:s resources:s", err) == -1) {
		log_warnx("bad LAUNCH: %s", err);
		return;
	}
	tid = rec_str(info, "task_id");
	if (!id_valid(fw) || !id_valid(tid)) {
		log_warnx("bad LAUNCH: invalid framework or task id");
		return;
	}
	if ((t = task_find(a, fw, tid)) != NULL) {
		/* a retransmission: the master has not seen our update yet */
		update_resend(t);
		return;
	}
	if ((t = s->conf.ops->task_new(s->conf.arg, a, info)) == NULL)
		return;
	strlcpy(t->id, tid, sizeof(t->id));
	strlcpy(t->framework_id, fw, sizeof(t->framework_id));
	t->info = json_incref(info);
	if (agent_task_insert(a, t) == -1) {
		log_warnx("task %s: out of memory", tid);
		json_decref(t->info);
		json_decref(t->updates);
		s->conf.ops->task_free(s->conf.arg, t);
		return;
	}
	if (json_is_object(json_object_get(info, "executor")))
		agent_exec_task_start(t);
	else
		s->conf.ops->task_start(s->conf.arg, t);
}

void
agent_task_kill(struct agent_task *t)
{
	struct agent_set *s = t->agent->set;

	if (t->exec != NULL)
		agent_exec_kill_task(t);
	else
		s->conf.ops->task_kill(s->conf.arg, t);
}

/* A KILL for agent A: stop the task, or say it is unknown. */
static void
handle_kill(struct agent *a, const json_t *rec)
{
	struct agent_set *s = a->set;
	const char *fw = rec_str(rec, "framework_id");
	const char *tid = rec_str(rec, "task_id");
	struct agent_task *t;
	json_t *st;

	if (fw == NULL || tid == NULL) {
		log_warnx("bad KILL: framework_id and task_id are needed");
		return;
	}
	if ((t = task_find(a, fw, tid)) == NULL) {
		/* never heard of it: say so, so the master stops asking */
		st = rec_new(R_STATUS);
		rec_set_str(st, "agent_id", a->id);
		rec_set_str(st, "framework_id", fw);
		rec_set_str(st, "task_id", tid);
		rec_set_str(st, "state", TASK_LOST);
		rec_set_str(st, "reason", "unknown task on this agent");
		s->conf.ops->send(s->conf.arg, st);
		json_decref(st);
		return;
	}
	if (t->ended) {
		update_resend(t);
		return;
	}
	LOGV(s, "killing task %s of %s", t->id, t->framework_id);
	agent_task_kill(t);
}

/*
 * LOGS: a piece of a task's output, read by ops->output, base64 in
 * LOGS_DATA; "eof" once the task has ended and nothing is left past it.
 */
_Static_assert(4 * ((PROTO_LOGS_MAX + 2) / 3) < REC_MAX_STR,
    "LOGS_DATA's base64 must fit in a record's string");

static void
handle_logs(struct agent *a, const json_t *rec)
{
	const struct agent_ops *ops = a->set->conf.ops;
	const char *fw = rec_str(rec, "framework_id");
	const char *tid = rec_str(rec, "task_id");
	const char *stream = rec_str(rec, "stream");
	int64_t off = rec_int_or(rec, "offset", 0), size = 0;
	int64_t max = rec_int_or(rec, "max", PROTO_LOGS_MAX);
	struct agent_task *t;
	char err[256], *buf, *b64;
	ssize_t n = -1;
	json_t *r;

	if (fw == NULL || tid == NULL || stream == NULL ||
	    rec_str(rec, "ref") == NULL || off < 0)
		return;
	if (max < 1 || max > PROTO_LOGS_MAX)
		max = PROTO_LOGS_MAX;
	r = rec_new(R_LOGS_DATA);
	rec_set_str(r, "ref", rec_str(rec, "ref"));
	rec_set_str(r, "agent_id", a->id);
	rec_set_str(r, "framework_id", fw);
	rec_set_str(r, "task_id", tid);
	rec_set_str(r, "stream", stream);
	rec_set_int(r, "offset", off);
	strlcpy(err, "this agent keeps no output", sizeof(err));
	if (ops->output != NULL && (buf = malloc(max)) != NULL) {
		n = ops->output(a->set->conf.arg, a, fw, tid, stream, off, buf,
		    (size_t)max, &size, err);
		if (n >= 0 && (b64 = malloc(sodium_base64_ENCODED_LEN(n,
		    sodium_base64_VARIANT_ORIGINAL))) != NULL) {
			sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(n,
			    sodium_base64_VARIANT_ORIGINAL), (unsigned char *)buf,
			    n, sodium_base64_VARIANT_ORIGINAL);
			rec_set_str(r, "data", b64);
			free(b64);
		}
		free(buf);
	}
	if (n < 0)
		rec_set_str(r, "error", err);
	else {
		t = task_find(a, fw, tid);
		rec_set_int(r, "size", size);
		json_object_set_new(r, "eof", json_boolean((t == NULL ||
		    t->ended) && off + n >= size));
	}
	if (ops->send(a->set->conf.arg, r) == -1)
		log_debug("send %s: master not reachable", R_LOGS_DATA);
	json_decref(r);
}

/* An ACKNOWLEDGE for agent A: drop the update, the next one goes. */
static void
handle_ack(struct agent *a, const json_t *rec)
{
	struct agent_set *s = a->set;
	const char *fw = rec_str(rec, "framework_id");
	const char *tid = rec_str(rec, "task_id"), *uuid = rec_str(rec, "uuid");
	const char *head;
	struct agent_task *t;

	if (fw == NULL || tid == NULL || uuid == NULL ||
	    (t = task_find(a, fw, tid)) == NULL)
		return;
	head = rec_str(json_array_get(t->updates, 0), "uuid");
	if (head == NULL || strcmp(head, uuid) != 0)
		return;		/* an old duplicate acknowledgement */
	json_array_remove(t->updates, 0);
	if (json_array_size(t->updates) == 0 && t->ended) {
		task_done(t);
		return;
	}
	task_journal(t, json_pack("{s:s}", "ack", uuid));
	if (json_array_size(t->updates) > 0) {
		t->tries = 0;
		t->send_head = 1;
		task_dirty(t);
	} else
		timeq_stop(s->conf.timers, &t->retry);
}

int
agent_set_receive(struct agent_set *s, struct net *net)
{
	char err[256];	/* net_recv()'s reason */
	json_t *rec;
	int n, r;

	for (n = 0; n < AGENT_RECV_BATCH; n++) {
		r = net_recv(net, &rec, NULL, err);
		if (r == 0)
			break;
		if (r < 0) {
			log_warnx("from master: %s", err);
			if (r == -2)
				break;
			continue;
		}
		agent_set_handle(s, rec);
		json_decref(rec);
	}
	return n;
}

void
agent_set_handle(struct agent_set *s, const json_t *rec)
{
	const char *type = rec_type(rec), *id = rec_str(rec, "agent_id");
	struct agent *a;
	int i;

	log_debug("<- %s", type);
	if (strcmp(type, R_ERROR) == 0) {
		if (s->conf.ops->error != NULL)
			s->conf.ops->error(s->conf.arg, rec);
		else
			log_warnx("master says: %s", rec_str(rec, "message") ?
			    rec_str(rec, "message") : "(no message)");
		return;
	}
	i = s->conf.ops->which(s->conf.arg, id);
	if (strcmp(type, R_REREGISTER) == 0) {
		/* an older master names no agent: everyone, then */
		if (i < 0)
			sweep(s);
		else {
			if (s->agents[i].registered)
				LOGV(s, "master asks us to register again");
			agent_reregister(&s->agents[i], 0);
		}
		return;
	}
	if (i < 0) {
		log_debug("ignoring a %s record for no agent of ours", type);
		return;
	}
	a = &s->agents[i];
	if (strcmp(type, R_LEFT) == 0) {
		a->left = 1;
		LOGV(s, "the master took our goodbye");
	} else if (strcmp(type, R_AGENT_REGISTERED) == 0) {
		if (id != NULL && id_valid(id))
			handle_registered(a, id, rec_bool_or(rec, "kill_tasks", 0));
	} else if (strcmp(type, R_LAUNCH) == 0)
		handle_launch(a, rec);
	else if (strcmp(type, R_KILL) == 0)
		handle_kill(a, rec);
	else if (strcmp(type, R_ACKNOWLEDGE) == 0)
		handle_ack(a, rec);
	else if (strcmp(type, R_LOGS) == 0)
		handle_logs(a, rec);
	else if (strcmp(type, R_FRAMEWORK_MESSAGE) == 0 ||
	    strcmp(type, R_SHUTDOWN_EXECUTOR) == 0)
		agent_exec_handle(a, rec);
	else
		LOGV(s, "ignoring a %s record", type);
}

struct agent_task *
agent_set_next(struct agent_set *s, size_t *pos)
{
	return map_next(s->tasks, pos, NULL);
}

int
agent_set_quiet(struct agent_set *s)
{
	struct agent_task *t;
	size_t pos = 0;

	while ((t = map_next(s->tasks, &pos, NULL)) != NULL)
		if (!t->ended || json_array_size(t->updates) > 0)
			return 0;
	return 1;
}

void
agent_set_leave(struct agent_set *s, int killed)
{
	json_t *r;
	int i;

	for (i = 0; i < s->n; i++) {
		s->agents[i].leaving = 1;
		timeq_stop(s->conf.timers, &s->agents[i].timer);
		if (!s->agents[i].registered || s->agents[i].left)
			continue;
		r = rec_new(R_LEAVE);
		rec_set_str(r, "agent_id", s->agents[i].id);
		json_object_set_new(r, "tasks_killed", json_boolean(killed));
		if (s->conf.ops->send(s->conf.arg, r) == -1)
			log_debug("send %s: master not reachable", R_LEAVE);
		json_decref(r);
	}
}

int
agent_set_left(struct agent_set *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->agents[i].registered && !s->agents[i].left)
			return 0;
	return 1;
}
