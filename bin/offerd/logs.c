/*
 * Logs: a task's stdout or stderr, read from wherever it runs or ran,
 * through the master.  A LOGS request from a client goes to the task's
 * agent with a reference of the master's; the agent's LOGS_DATA comes back
 * and goes to the client that asked.  Each answer is bounded
 * (PROTO_LOGS_MAX bytes); so is the number of requests in flight
 * (LOGS_PENDING_MAX), each forgotten after LOGS_WAIT_MS.
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

#define LOGS_PENDING_MAX 1024	/* requests waiting for an agent */
#define LOGS_WAIT_MS	5000	/* an agent's answer, at the latest */

/* A request sent on to an agent: who asked, and until when to wait. */
struct logs_wait {
	struct net_route from;
	char		 agent_id[ID_LEN];
	int64_t		 expires;
};

/* Forget the requests whose agents did not answer in time. */
static void
logs_expire(struct master *m, int64_t now)
{
	struct logs_wait *w;
	const char *ref;
	size_t pos = 0;

	while ((w = map_next(m->logs, &pos, &ref)) != NULL)
		if (now >= w->expires) {
			map_del(m->logs, ref);
			free(w);
		}
}

void
logs_tick(struct master *m, int64_t now)
{
	if (m->logs != NULL && map_count(m->logs) > 0)
		logs_expire(m, now);
}

/* The task a LOGS request REC names; NULL after an ERROR to FROM. */
static struct task *
logs_task(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN], key[KEY_LEN];
	const char *stream;
	struct task *t;

	if (rec_require(rec, "framework_id:s task_id:s ?stream:s ?offset:i "
	    "?max:i", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return NULL;
	}
	stream = rec_str(rec, "stream");
	if (stream != NULL && strcmp(stream, "stdout") != 0 &&
	    strcmp(stream, "stderr") != 0) {
		master_error(m, from, rec, E_INVALID, "stream: stdout or "
		    "stderr");
		return NULL;
	}
	if (rec_int_or(rec, "offset", 0) < 0 || rec_int_or(rec, "max",
	    PROTO_LOGS_MAX) < 1) {
		master_error(m, from, rec, E_INVALID, "offset >= 0, max >= 1");
		return NULL;
	}
	snprintf(key, sizeof(key), "%s/%s", rec_str(rec, "framework_id"),
	    rec_str(rec, "task_id"));
	if ((t = map_get(m->tasks, key)) == NULL) {
		master_error(m, from, rec, E_INVALID, "no task %s of framework "
		    "%s (ended tasks are known for a while only)",
		    rec_str(rec, "task_id"), rec_str(rec, "framework_id"));
		return NULL;
	}
	return t;
}

/* LOGS from a client: sent on to the agent of the task. */
void
logs_request(struct master *m, json_t *rec, const struct net_route *from)
{
	struct net_route owner;
	struct logs_wait *w;
	struct agent *a;
	struct task *t;
	char ref[32];
	json_t *r;

	if ((t = logs_task(m, rec, from)) == NULL)
		return;
	/*
	 * The task's principal (which outlives its framework) reads it, and
	 * whom an ACL file's view rule lets see that principal's work: output
	 * may hold secrets, so without a file nobody else does.
	 */
	memset(&owner, 0, sizeof(owner));
	strlcpy(owner.principal, t->principal, sizeof(owner.principal));
	if (m->acl != NULL && strcmp(t->principal, from->principal) != 0 &&
	    acl_permits(m->acl, from->principal, ACL_VIEW, t->principal))
		log_info("LOGS of task %s (principal %s) by principal %s: the "
		    "ACL permits it", t->key, t->principal, from->principal);
	else if (master_owner(m, &owner, from, rec, "framework",
	    t->framework_id) == -1)
		return;
	if ((a = map_get(m->agents, t->agent_id)) == NULL || !a->active) {
		master_error(m, from, rec, E_UNKNOWN_AGENT, "agent %s of task "
		    "%s cannot be reached now", t->agent_id, t->id);
		return;
	}
	if (m->logs == NULL)
		m->logs = map_create();
	if (map_count(m->logs) >= LOGS_PENDING_MAX)
		logs_expire(m, now_ms());
	if (map_count(m->logs) >= LOGS_PENDING_MAX ||
	    (w = calloc(1, sizeof(*w))) == NULL) {
		master_error(m, from, rec, E_LIMITED, "too many log reads in "
		    "flight: ask again later");
		return;
	}
	w->from = *from;
	strlcpy(w->agent_id, a->id, sizeof(w->agent_id));
	w->expires = now_ms() + LOGS_WAIT_MS;
	snprintf(ref, sizeof(ref), "logs-%llu",
	    (unsigned long long)++m->logs_seq);
	map_put(m->logs, ref, w);
	r = rec_new(R_LOGS);
	rec_set_str(r, "ref", ref);
	rec_set_str(r, "agent_id", a->id);
	rec_set_str(r, "framework_id", t->framework_id);
	rec_set_str(r, "task_id", t->id);
	rec_set_str(r, "stream", rec_str(rec, "stream") ?
	    rec_str(rec, "stream") : "stdout");
	rec_set_int(r, "offset", rec_int_or(rec, "offset", 0));
	rec_set_int(r, "max", rec_int_or(rec, "max", PROTO_LOGS_MAX) <
	    PROTO_LOGS_MAX ? rec_int_or(rec, "max", PROTO_LOGS_MAX) :
	    PROTO_LOGS_MAX);
	master_reply(m, &a->route, r);
}

/* LOGS_DATA from an agent: to the client that asked, if still waiting. */
void
logs_data(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN];
	struct logs_wait *w;
	struct agent *a;
	const char *ref;

	if (rec_require(rec, "ref:s agent_id:s", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return;
	}
	ref = rec_str(rec, "ref");
	if (m->logs == NULL || (w = map_get(m->logs, ref)) == NULL)
		return;		/* too late: the client was told nothing */
	a = map_get(m->agents, w->agent_id);
	if (a == NULL || strcmp(rec_str(rec, "agent_id"), a->id) != 0 ||
	    !net_route_eq(&a->route, from)) {
		log_warnx("LOGS_DATA %s refused from principal %s: not from "
		    "agent %s's connection", ref, from->principal,
		    w->agent_id);
		master_error_logged(m, from, rec, E_NOT_OWNER, "this connection is "
		    "not the one of agent '%s'", w->agent_id);
		return;
	}
	map_del(m->logs, ref);
	json_object_del(rec, "ref");
	master_reply(m, &w->from, json_incref(rec));
	free(w);
}
