/*
 * executor: the executor side of the executor protocol (executor.h,
 * cluster-protocol(7) EXECUTORS): registration and its heartbeat, the
 * tasks handed over once, and the status updates resent until agentd
 * acknowledges them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "map.h"
#include "net.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "util.h"

#define EXECUTOR_ID_LEN	64

struct executor {
	struct net	*net;
	char		 id[EXECUTOR_ID_LEN];
	char		 framework_id[EXECUTOR_ID_LEN];
	char		 agent_id[EXECUTOR_ID_LEN];
	char		*secret;
	int		 registered;
	int64_t		 seq;		/* of the last update made */
	int64_t		 next_register;
	struct map	*tasks;		/* task ids handed over, not ended */
	json_t		*updates;	/* STATUS records not acknowledged */
};

/* The value of environment variable NAME, or NULL with ERR set. */
static const char *
env_or_fail(const char *name, char *err)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0') {
		snprintf(err, EXECUTOR_ERRLEN, "$%s is not set: not started "
		    "by agentd as an executor", name);
		return NULL;
	}
	return v;
}

struct executor *
executor_create(char *err)
{
	const char *ep, *id, *secret, *fw;
	struct executor *e;

	if ((ep = env_or_fail(PROTO_EXECUTOR_ENV_ENDPOINT, err)) == NULL ||
	    (id = env_or_fail(PROTO_EXECUTOR_ENV_ID, err)) == NULL ||
	    (secret = env_or_fail(PROTO_EXECUTOR_ENV_SECRET, err)) == NULL ||
	    (fw = env_or_fail("FRAMEWORK_ID", err)) == NULL)
		return NULL;
	if (!id_valid(id) || !id_valid(fw)) {
		snprintf(err, EXECUTOR_ERRLEN, "executor or framework id "
		    "is not valid");
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->secret = strdup(secret)) == NULL ||
	    (e->tasks = map_create()) == NULL ||
	    (e->updates = json_array()) == NULL) {
		snprintf(err, EXECUTOR_ERRLEN, "out of memory");
		executor_destroy(e);
		return NULL;
	}
	strlcpy(e->id, id, sizeof(e->id));
	strlcpy(e->framework_id, fw, sizeof(e->framework_id));
	if ((e->net = net_open(NET_PEER, ep, err)) == NULL) {
		executor_destroy(e);
		return NULL;
	}
	return e;
}

void
executor_destroy(struct executor *e)
{
	if (e == NULL)
		return;
	map_destroy(e->tasks);
	if (e->net != NULL) {
		net_flush(e->net);
		net_close(e->net);
	}
	json_decref(e->updates);
	free(e->secret);
	free(e);
}

const char *
executor_id(const struct executor *e)
{
	return e->id;
}

const char *
executor_framework_id(const struct executor *e)
{
	return e->framework_id;
}

const char *
executor_agent_id(const struct executor *e)
{
	return e->agent_id;
}

int
executor_fd(const struct executor *e)
{
	return net_fd(e->net);
}

int
executor_quiet(const struct executor *e)
{
	return json_array_size(e->updates) == 0;
}

/* Send REC (consumed) to agentd, named and proved with our secret. */
static int
send_rec(struct executor *e, json_t *rec)
{
	int r;

	rec_set_str(rec, "framework_id", e->framework_id);
	rec_set_str(rec, "executor_id", e->id);
	rec_set_str(rec, "secret", e->secret);
	r = net_send(e->net, NULL, rec);
	json_decref(rec);
	return r;
}

/* REGISTER_EXECUTOR, then every unacknowledged update again. */
static void
heartbeat(struct executor *e)
{
	size_t i;
	json_t *u;

	e->next_register = now_ms() + PROTO_EXECUTOR_HEARTBEAT_MS;
	send_rec(e, rec_new(R_REGISTER_EXECUTOR));
	if (!e->registered)
		return;
	json_array_foreach(e->updates, i, u)
		send_rec(e, json_deep_copy(u));
}

int
executor_update(struct executor *e, const char *tid, const char *state,
    json_t *extra)
{
	char uuid[EXECUTOR_ID_LEN];
	json_t *st;

	if (tid == NULL || !id_valid(tid) || state == NULL ||
	    !task_state_valid(state)) {
		json_decref(extra);
		return -1;
	}
	st = rec_new(R_STATUS);
	if (extra != NULL) {
		json_object_update(st, extra);
		json_decref(extra);
	}
	rec_set_str(st, "type", R_STATUS);
	rec_set_str(st, "task_id", tid);
	rec_set_str(st, "state", state);
	rec_set_str(st, "uuid", id_new("x", uuid, sizeof(uuid)));
	rec_set_int(st, "seq", ++e->seq);
	json_array_append(e->updates, st);
	if (e->registered)
		send_rec(e, st);
	else
		json_decref(st);
	return 0;
}

int
executor_message(struct executor *e, const char *data)
{
	json_t *m;

	if (data == NULL || strlen(data) > PROTO_MESSAGE_MAX)
		return -1;
	m = rec_new(R_FRAMEWORK_MESSAGE);
	rec_set_str(m, "data", data);
	return send_rec(e, m);
}

/* ACKNOWLEDGE: drop the update it names; an ended task is forgotten. */
static void
handle_ack(struct executor *e, const json_t *rec)
{
	const char *uuid = rec_str(rec, "uuid");
	size_t i;
	json_t *u;

	if (uuid == NULL)
		return;
	json_array_foreach(e->updates, i, u)
		if (strcmp(rec_str(u, "uuid"), uuid) == 0) {
			if (task_state_terminal(rec_str(u, "state")))
				map_del(e->tasks, rec_str(u, "task_id"));
			json_array_remove(e->updates, i);
			return;
		}
}

/*
 * Take REC from agentd: 1 when it is for the caller, 0 when the library
 * handled it, -1 when agentd refused us for good (ERR).
 */
static int
take(struct executor *e, const json_t *rec, char *err)
{
	const char *type = rec_type(rec), *tid;

	if (strcmp(type, R_ERROR) == 0) {
		const char *code = rec_str(rec, "code");

		if (code != NULL && (strcmp(code, E_UNKNOWN_EXECUTOR) == 0 ||
		    strcmp(code, E_UNAUTHENTICATED) == 0)) {
			snprintf(err, EXECUTOR_ERRLEN, "agentd refused us: %s",
			    rec_str(rec, "message") ? rec_str(rec, "message") :
			    code);
			return -1;
		}
		return 0;
	}
	if (strcmp(type, R_EXECUTOR_REGISTERED) == 0) {
		if (rec_str(rec, "agent_id") != NULL)
			strlcpy(e->agent_id, rec_str(rec, "agent_id"),
			    sizeof(e->agent_id));
		if (e->registered)
			return 0;
		e->registered = 1;
		heartbeat(e);		/* the updates made before now */
		return 1;
	}
	if (strcmp(type, R_ACKNOWLEDGE) == 0) {
		handle_ack(e, rec);
		return 0;
	}
	if (strcmp(type, R_LAUNCH_TASK) == 0) {
		tid = rec_str(json_object_get(rec, "task"), "task_id");
		if (tid == NULL || map_get(e->tasks, tid) != NULL)
			return 0;	/* a resend */
		if (map_put(e->tasks, tid, e) == -1)
			return 0;	/* it comes again */
		return 1;
	}
	return strcmp(type, R_KILL_TASK) == 0 ||
	    strcmp(type, R_FRAMEWORK_MESSAGE) == 0 ||
	    strcmp(type, R_SHUTDOWN) == 0;
}

int
executor_next(struct executor *e, int ms, json_t **rec, char *err)
{
	int64_t until = ms < 0 ? -1 : now_ms() + ms, now, wait;
	char nerr[256];
	int r;

	/*
	 * What the caller sent while a frame's records were handed out goes
	 * in one frame, once the last of them was (executor(3), BATCHES).
	 */
	if (!net_pending(e->net))
		net_flush(e->net);
	for (;;) {
		now = now_ms();
		if (now >= e->next_register)
			heartbeat(e);
		while ((r = net_recv(e->net, rec, NULL, nerr)) != 0) {
			if (r == -2)
				break;		/* nanomsg reconnects */
			if (r < 0)
				continue;	/* not a record: skipped */
			if ((r = take(e, *rec, err)) == 1) {
				if (net_pending(e->net))
					net_cork(e->net);
				return 1;
			}
			json_decref(*rec);
			*rec = NULL;
			if (r == -1)
				return -1;
		}
		net_flush(e->net);
		now = now_ms();
		if (until >= 0 && now >= until)
			return 0;
		wait = e->next_register - now;
		if (until >= 0 && until - now < wait)
			wait = until - now;
		if (net_unsent(e->net) && wait > NET_UNSENT_MS)
			wait = NET_UNSENT_MS;	/* the socket refused it */
		net_wait(e->net, wait > 0 ? (int)wait : 0);
	}
}
