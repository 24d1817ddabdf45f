/*
 * Executors: what the master knows of the frameworks' executors on each
 * agent (cluster-protocol(7), EXECUTORS).  An executor's resources are
 * counted once per framework, executor id and agent, from the ACCEPT of
 * the first task naming it until its agent reports EXECUTOR_EXITED (or
 * the agent is removed): in the agent's used resources, and so in its
 * offers, and in the framework's allocation, and so in the DRF shares.
 * Also the relay of framework messages both ways (best effort) and of
 * SHUTDOWN_EXECUTOR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "util.h"

/* The executor FW/XID of agent A, or NULL. */
static struct mexec *
exec_get(struct master *m, const struct agent *a, const char *fw,
    const char *xid)
{
	char key[3 * ID_LEN];

	if (fw == NULL || xid == NULL)
		return NULL;
	snprintf(key, sizeof(key), "%s/%s/%s", a->id, fw, xid);
	return map_get(m->executors, key);
}

int
executor_need(struct master *m, const struct framework *fw,
    const struct agent *a, json_t *tasks, size_t i, struct res *res, char *err)
{
	json_t *x = json_object_get(json_array_get(tasks, i), "executor"), *y;
	const char *xid = rec_str(x, "executor_id");
	char tmp[REC_ERRLEN];
	size_t k;

	if (x == NULL)
		return 0;
	if (rec_require(x, "executor_id:s command:s resources:s ?env:o "
	    "?user:s", tmp) == -1) {
		snprintf(err, REC_ERRLEN, "executor: %.200s", tmp);
		return -1;
	}
	if (!id_valid(xid)) {
		snprintf(err, REC_ERRLEN, "executor_id is not a valid id");
		return -1;
	}
	if (rec_str(x, "user") != NULL &&
	    (rec_str(json_array_get(tasks, i), "user") == NULL ||
	    strcmp(rec_str(x, "user"), rec_str(json_array_get(tasks, i),
	    "user")) != 0)) {
		snprintf(err, REC_ERRLEN, "executor '%.64s' names a user: its "
		    "tasks must name the same", xid);
		return -1;
	}
	if (exec_get(m, a, fw->id, xid) != NULL)
		return 0;		/* counted already */
	for (k = 0; k < i; k++) {
		y = json_object_get(json_array_get(tasks, k), "executor");
		if (rec_str(y, "executor_id") != NULL &&
		    strcmp(rec_str(y, "executor_id"), xid) == 0)
			return 0;	/* counted with an earlier task */
	}
	if (res_parse(rec_str(x, "resources"), res, tmp) == -1) {
		snprintf(err, REC_ERRLEN, "executor '%.64s' resources: %.150s",
		    xid, tmp);
		return -1;
	}
	if (res_get(res, "mem") < PROTO_TASK_MEM_MIN * 1000 ||
	    res_get(res, "cpus") < PROTO_TASK_CPUS_MIN_MILLI) {
		res_free(res);
		snprintf(err, REC_ERRLEN, "executor '%.64s' needs at least "
		    "mem:%d and cpus:%g", xid, PROTO_TASK_MEM_MIN,
		    PROTO_TASK_CPUS_MIN_MILLI / 1000.0);
		return -1;
	}
	return 1;
}

void
executor_hold(struct master *m, struct framework *fw, struct agent *a,
    json_t *task)
{
	json_t *x = json_object_get(task, "executor");
	char err[REC_ERRLEN];
	struct mexec *e;

	if (x == NULL ||
	    exec_get(m, a, fw->id, rec_str(x, "executor_id")) != NULL)
		return;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		log_warnx("out of memory");
		return;
	}
	if (res_parse(rec_str(x, "resources"), &e->res, err) == -1) {
		free(e);
		return;
	}
	strlcpy(e->id, rec_str(x, "executor_id"), sizeof(e->id));
	strlcpy(e->framework_id, fw->id, sizeof(e->framework_id));
	strlcpy(e->agent_id, a->id, sizeof(e->agent_id));
	snprintf(e->key, sizeof(e->key), "%s/%s/%s", a->id, fw->id, e->id);
	e->started = wall_ms();
	if (map_put(m->executors, e->key, e) == -1) {
		res_free(&e->res);
		free(e);
		log_warnx("out of memory");
		return;
	}
	res_add(&a->used, &e->res);
	res_add(&fw->held, &e->res);
	agent_touch(m, a);
	log_info("executor %s of %s on %s: counted", e->id, fw->id, a->id);
}

/* Let go of executor E of agent A: its resources go back. */
static void
exec_release(struct master *m, struct agent *a, struct mexec *e)
{
	struct framework *fw = map_get(m->frameworks, e->framework_id);

	map_del(m->executors, e->key);
	res_sub(&a->used, &e->res);
	if (fw != NULL)
		res_sub(&fw->held, &e->res);
	agent_touch(m, a);
	if (a->active && fw != NULL)
		alloc_recover(m, e->framework_id, a->id, &e->res, 0);
	if (fw == NULL)
		alloc_departed(m, e->framework_id, a->active ? a->id : NULL,
		    &e->res);
	res_free(&e->res);
	free(e);
}

void
executors_agent_gone(struct master *m, struct agent *a)
{
	struct mexec *e;
	size_t pos = 0;

	while ((e = map_next(m->executors, &pos, NULL)) != NULL)
		if (strcmp(e->agent_id, a->id) == 0) {
			map_del(m->executors, e->key);
			alloc_departed(m, e->framework_id, NULL, NULL);
			res_free(&e->res);
			free(e);
		}
}

void
executors_held(struct master *m, const char *fid, struct res *held)
{
	struct mexec *e;
	size_t pos = 0;

	while ((e = map_next(m->executors, &pos, NULL)) != NULL)
		if (strcmp(e->framework_id, fid) == 0)
			res_add(held, &e->res);
}

/* Ask agent A to shut executor E down. */
static void
exec_shutdown(struct master *m, struct agent *a, struct mexec *e)
{
	json_t *r = rec_new(R_SHUTDOWN_EXECUTOR);

	rec_set_str(r, "agent_id", a->id);
	rec_set_str(r, "framework_id", e->framework_id);
	rec_set_str(r, "executor_id", e->id);
	master_reply(m, &a->route, r);
}

int
executors_of(struct master *m, const char *fid)
{
	struct mexec *e;
	size_t pos = 0;
	int n = 0;

	while ((e = map_next(m->executors, &pos, NULL)) != NULL)
		n += strcmp(e->framework_id, fid) == 0;
	return n;
}

void
executors_framework_gone(struct master *m, const char *fid)
{
	struct agent *a;
	struct mexec *e;
	size_t pos = 0;

	while ((e = map_next(m->executors, &pos, NULL)) != NULL)
		if (strcmp(e->framework_id, fid) == 0 &&
		    (a = map_get(m->agents, e->agent_id)) != NULL)
			exec_shutdown(m, a, e);
}

/* The agent REC names, when FROM is its connection; else NULL. */
static struct agent *
from_agent(struct master *m, json_t *rec, const struct net_route *from)
{
	struct agent *a = map_get(m->agents, rec_str(rec, "agent_id"));

	if (a == NULL || !net_route_eq(&a->route, from))
		return NULL;
	return a;
}

/* EXECUTOR_EXITED from an agent: its resources go back; the framework hears. */
void
executor_exited(struct master *m, json_t *rec, const struct net_route *from)
{
	struct agent *a = from_agent(m, rec, from);
	struct mexec *e;

	if (a == NULL) {
		log_warnx("refused %s: not from the connection of agent %s",
		    rec_type(rec), rec_str(rec, "agent_id") ?
		    rec_str(rec, "agent_id") : "?");
		master_error(m, from, rec, E_NOT_OWNER, "not from the "
		    "connection of the agent it names");
		return;
	}
	if ((e = exec_get(m, a, rec_str(rec, "framework_id"),
	    rec_str(rec, "executor_id"))) != NULL) {
		log_info("executor %s of %s on %s exited: %s", e->id,
		    e->framework_id, a->id, rec_str(rec, "reason") ?
		    rec_str(rec, "reason") : "");
		exec_release(m, a, e);
	}
	framework_send(m, map_get(m->frameworks, rec_str(rec, "framework_id")),
	    json_incref(rec));
}

/*
 * FRAMEWORK_MESSAGE: from an agent (its connection), on to the framework;
 * from a framework, on to the agent it names.  Best effort: nothing is
 * resent, and one to no known executor is dropped.
 */
void
executor_message(struct master *m, json_t *rec, const struct net_route *from)
{
	const char *data = rec_str(rec, "data");
	char err[REC_ERRLEN];
	struct framework *fw;
	struct agent *a;
	json_t *r;

	if (rec_require(rec, "framework_id:s agent_id:s executor_id:s data:s",
	    err) == -1 || strlen(data) > PROTO_MESSAGE_MAX) {
		master_error(m, from, rec, E_MALFORMED, "%s needs "
		    "framework_id, agent_id, executor_id and data (at most %d "
		    "bytes)", rec_type(rec), PROTO_MESSAGE_MAX);
		return;
	}
	if ((a = from_agent(m, rec, from)) != NULL) {
		framework_send(m, map_get(m->frameworks,
		    rec_str(rec, "framework_id")), json_incref(rec));
		return;
	}
	if ((fw = framework_of(m, rec, from)) == NULL)
		return;
	if ((a = map_get(m->agents, rec_str(rec, "agent_id"))) == NULL ||
	    !a->active) {
		master_error(m, from, rec, E_UNKNOWN_AGENT, "no active agent "
		    "'%s'", rec_str(rec, "agent_id"));
		return;
	}
	r = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", rec_type(rec),
	    "agent_id", a->id, "framework_id", fw->id, "executor_id",
	    rec_str(rec, "executor_id"), "data", data);
	master_reply(m, &a->route, r);
}

/* SHUTDOWN_EXECUTOR from a framework: on to the executor's agent. */
void
executor_shutdown(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;
	struct agent *a;
	struct mexec *e;

	if ((fw = framework_to_kill(m, rec, from)) == NULL)
		return;
	if ((a = map_get(m->agents, rec_str(rec, "agent_id"))) == NULL ||
	    (e = exec_get(m, a, fw->id, rec_str(rec, "executor_id"))) == NULL) {
		master_error(m, from, rec, E_INVALID, "no such executor of "
		    "framework '%s'", fw->id);
		return;
	}
	exec_shutdown(m, a, e);
}
