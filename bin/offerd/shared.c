/*
 * Shared state: Omega's optimistic concurrency beside the offers
 * (cluster-protocol(7), SHARED STATE).  A framework that subscribes with
 * mode "optimistic" is never offered anything.  It sees the free
 * resources of every agent (free: not used, not in an outstanding offer,
 * not reserved to another role) in FREE records that carry each agent's
 * version: a snapshot when it subscribes, then every change.  It launches
 * with COMMIT, a transaction of tasks on one agent or several, which is
 * checked here, when it arrives, against the master's own ledger, the one
 * the offers are cut from, so that nothing is given twice.
 *
 * A transaction is all or nothing unless it asks to be incremental (then
 * the tasks that still fit launch, in order); a conflict is found per
 * resource (the tasks no longer fit what is free) unless it asks for
 * agent granularity (the agent's version moved since the framework saw
 * it).  A role's quota limit holds at commit.  What commits is claimed
 * from the allocator, so that the DRF shares count it and no offer holds
 * it; the framework is known to the allocator, suppressed.
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

#define FREE_PAGE	1000	/* agents in one FREE record */

/* One agent a transaction names: its tasks, what it has free for them. */
struct group {
	const char	*agent_id;
	struct agent	*a;		/* NULL: unknown */
	const char	*conflict;	/* the whole agent's, or NULL */
	char		 why[REC_ERRLEN];
	struct res	 view;		/* free for the role, less what fits */
	json_t		*taken;		/* its tasks that fit so far */
};

void
shared_init(struct master *m)
{
	m->view_dirty = map_create();
	m->view_epoch = (uint64_t)wall_ms() * 1000;
}

void
agent_touch(struct master *m, struct agent *a)
{
	stats_agent(a);
	a->version = a->version == 0 ? m->view_epoch + 1 : a->version + 1;
	if (m->noptimistic > 0)
		map_put(m->view_dirty, a->id, m);
}

/* Into VIEW (not initialised): what A has free for ROLE. */
static void
agent_view(struct master *m, const struct agent *a, const char *role,
    struct res *view)
{
	struct res f;
	int i;

	res_init(view);
	if (!agent_offerable(m, a))
		return;
	agent_free(a, &f);
	for (i = 0; i < f.n; i++) {
		const char *name = f.it[i].name;
		struct res one;

		if (name[res_base_len(name)] != '\0' &&
		    !res_reserved_to(name, role))
			continue;
		one.n = 1;
		one.it[0] = f.it[i];
		res_add(view, &one);
	}
	res_free(&f);
}

/* Agent A (NULL: gone, ID) as FREE shows it to a framework of ROLE. */
static json_t *
view_entry(struct master *m, const struct agent *a, const char *id,
    const char *role)
{
	char buf[RES_TEXT];
	struct res v;
	json_t *e;

	if (a == NULL)
		return json_pack("{s:s,s:s}", "agent_id", id, "state", "gone");
	agent_view(m, a, role, &v);
	e = json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "agent_id", a->id,
	    "hostname", a->hostname, "attributes", a->attributes ?
	    a->attributes : "", "version", (json_int_t)a->version, "state", agent_state(m, a),
	    "free", res_format(&v, buf, sizeof(buf)));
	res_free(&v);
	return e;
}

/* A FREE record for FW with ENTRIES (taken over). */
static void
free_send(struct master *m, struct framework *fw, json_t *entries,
    int snapshot, int complete)
{
	json_t *r = rec_new(R_FREE);

	rec_set_str(r, "framework_id", fw->id);
	if (snapshot) {
		rec_set_bool(r, "snapshot", 1);
		rec_set_bool(r, "complete", complete);
	}
	json_object_set_new(r, "agents", entries);
	framework_send(m, fw, r);
}

/* The whole view, in pages, to FW that has just subscribed. */
static void
shared_snapshot(struct master *m, struct framework *fw)
{
	struct agent *a;
	json_t *page = json_array();
	size_t pos = 0;

	while ((a = map_next(m->agents, &pos, NULL)) != NULL) {
		json_array_append_new(page, view_entry(m, a, a->id, fw->role));
		if (json_array_size(page) == FREE_PAGE) {
			free_send(m, fw, page, 1, 0);
			page = json_array();
		}
	}
	free_send(m, fw, page, 1, 1);
}

/* The changed agents as a framework of ROLE sees them, built once a role. */
static json_t *
flush_entries(struct master *m, struct map *byrole, const char *role)
{
	json_t *all = map_get(byrole, role);
	const char *id;
	size_t pos;

	if (all != NULL)
		return all;
	all = json_array();
	for (pos = 0; map_next(m->view_dirty, &pos, &id) != NULL;)
		json_array_append_new(all, view_entry(m, map_get(m->agents, id),
		    id, role));
	if (map_put(byrole, role, all) == -1) {
		json_decref(all);
		return NULL;
	}
	return all;
}

void
shared_flush(struct master *m)
{
	struct framework *fw;
	struct map *byrole;
	const char *id;
	json_t *all, *page;
	size_t fpos, pos, i;

	if (map_count(m->view_dirty) == 0)
		return;
	if ((byrole = map_create()) == NULL)
		return;		/* out of memory: the next turn sends them */
	for (fpos = 0; (fw = map_next(m->frameworks, &fpos, NULL)) != NULL;) {
		if (!fw->optimistic || !fw->active)
			continue;
		/* the frameworks of one role share the entries, in pages */
		if ((all = flush_entries(m, byrole, fw->role)) == NULL)
			continue;
		for (i = 0; i < json_array_size(all); i += FREE_PAGE) {
			size_t j, end = i + FREE_PAGE;

			page = json_array();
			for (j = i; j < end && j < json_array_size(all); j++)
				json_array_append(page, json_array_get(all, j));
			free_send(m, fw, page, 0, 0);
		}
	}
	for (pos = 0; (all = map_next(byrole, &pos, NULL)) != NULL;)
		json_decref(all);
	map_destroy(byrole);
	for (pos = 0; map_next(m->view_dirty, &pos, &id) != NULL;)
		map_del(m->view_dirty, id);
}

void
shared_subscribed(struct master *m, struct framework *fw, int optimistic)
{
	json_t *r;

	int was = fw->optimistic;

	if (optimistic != was)
		m->noptimistic += optimistic ? 1 : -1;
	fw->optimistic = optimistic;
	if (!optimistic) {
		if (was) {
			/* offers from now on */
			fw->suppressed = 0;
			r = rec_new(R_REVIVE);
			rec_set_str(r, "framework_id", fw->id);
			alloc_send(m, r);
		}
		return;
	}
	/* known to the allocator for the shares, never offered anything */
	fw->suppressed = 1;
	r = rec_new(R_SUPPRESS);
	rec_set_str(r, "framework_id", fw->id);
	alloc_send(m, r);
	shared_snapshot(m, fw);
}

void
shared_gone(struct master *m, struct framework *fw)
{
	if (fw->optimistic)
		m->noptimistic--;
	fw->optimistic = 0;
}

/*
 * Into HELD (not initialised): what the frameworks of ROLE hold, reserved
 * and unreserved together: their live tasks, offers and executors, as
 * each framework keeps them (framework->held).
 */
static void
role_held(struct master *m, const char *role, struct res *held)
{
	struct framework *fw;
	struct res sum;
	size_t pos;

	res_init(&sum);
	for (pos = 0; (fw = map_next(m->frameworks, &pos, NULL)) != NULL;)
		if (strcmp(fw->role, role) == 0)
			res_add(&sum, &fw->held);
	if (res_collapse(&sum, held) == -1)
		res_init(held);
	res_free(&sum);
}

/* Whether HELD plus NEED (both collapsed) stay within LIMIT. */
static int
within_limit(const struct res *limit, const struct res *held,
    const struct res *need)
{
	int i;

	for (i = 0; i < limit->n; i++)
		if (res_get(held, limit->it[i].name) +
		    res_get(need, limit->it[i].name) > limit->it[i].milli)
			return 0;
	return 1;
}

/* The group of agent AID among G[*N], added when new. */
static struct group *
group_of(struct master *m, struct framework *fw, struct group *g, size_t *n,
    const char *aid, int by_agent, json_t *t)
{
	struct group *x;
	int64_t seen;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(g[i].agent_id, aid) == 0)
			return &g[i];
	x = &g[(*n)++];
	x->agent_id = aid;
	x->a = map_get(m->agents, aid);
	x->taken = json_array();
	res_init(&x->view);
	if (x->a == NULL || !x->a->active)
		x->conflict = "agent_gone";
	else if (!agent_offerable(m, x->a))
		x->conflict = "draining";
	else if (by_agent && rec_int(t, "version", &seen) == 0 &&
	    (uint64_t)seen != x->a->version)
		x->conflict = "version";
	if (x->conflict != NULL)
		snprintf(x->why, sizeof(x->why), "agent '%s' is %s", aid,
		    strcmp(x->conflict, "version") == 0 ? "not at the version "
		    "the transaction saw" : strcmp(x->conflict, "draining") ==
		    0 ? "draining or drained" : "not registered");
	else
		agent_view(m, x->a, fw->role, &x->view);
	return x;
}

/* Add {task_id, agent_id, reason, message} to CONFLICTS. */
static void
conflict_add(json_t *conflicts, json_t *t, const char *reason,
    const char *message)
{
	json_array_append_new(conflicts, json_pack("{s:s,s:s,s:s,s:s}",
	    "task_id", rec_str(t, "task_id"), "agent_id", rec_str(t,
	    "agent_id"), "reason", reason, "message", message));
}

/*
 * Check the form of COMMIT REC's tasks for FW: each task valid alone
 * (EACH[i] its resources), an agent named, a version with agent
 * granularity, no task id twice.  0, or -1 with ERR.
 */
static int
commit_form(struct master *m, const struct framework *fw, json_t *tasks,
    int by_agent, struct res *each, char *err)
{
	json_t *t;
	int64_t v;
	size_t i, k, n = json_array_size(tasks);

	for (i = 0; i < n; i++) {
		t = json_array_get(tasks, i);
		if (!json_is_object(t) || rec_str(t, "agent_id") == NULL) {
			snprintf(err, REC_ERRLEN, "task %zu: no agent_id (a "
			    "string)", i);
			return -1;
		}
		if (by_agent && rec_int(t, "version", &v) == -1) {
			snprintf(err, REC_ERRLEN, "task %zu: agent granularity "
			    "needs the agent's version (an integer)", i);
			return -1;
		}
		if (task_check(m, fw, rec_str(t, "agent_id"), t, &each[i],
		    err) == -1)
			return -1;
		for (k = 0; k < i; k++)
			if (strcmp(rec_str(json_array_get(tasks, k),
			    "task_id"), rec_str(t, "task_id")) == 0) {
				snprintf(err, REC_ERRLEN, "task '%s' is given "
				    "twice", rec_str(t, "task_id"));
				return -1;
			}
	}
	return 0;
}

/*
 * Decide task I (T, its resources EACH) of a transaction in group X:
 * 1 when it fits (NEED gets its resources and its executor's, X's view
 * is cut by them), 0 when it conflicts (added to CONFLICTS), -1 with ERR
 * when its executor is malformed or asks for a port the task asks for.
 */
static int
commit_fit(struct master *m, struct framework *fw, struct group *x,
    json_t *t, const struct res *each, const struct res *limit,
    struct res *held, struct res *need, json_t *conflicts, char *err)
{
	char msg[REC_ERRLEN], a[RES_TEXT], b[RES_TEXT];
	struct res xres, flat;
	int e, fits;

	res_copy(need, each);
	if (x->conflict != NULL) {
		conflict_add(conflicts, t, x->conflict, x->why);
		return 0;
	}
	/* a new executor counts once, with the first of its tasks that fits */
	json_array_append(x->taken, t);
	e = executor_need(m, fw, x->a, x->taken,
	    json_array_size(x->taken) - 1, &xres, err);
	json_array_remove(x->taken, json_array_size(x->taken) - 1);
	if (e == -1)
		return -1;
	if (e == 1) {
		snprintf(msg, sizeof(msg), "the executor of task '%s'",
		    rec_str(t, "task_id"));
		e = shared_ranges(need, &xres, msg, "the task", err);
		if (e == 0)
			res_add(need, &xres);
		res_free(&xres);
		if (e == -1)
			return -1;
	}
	if (!res_contains(&x->view, need)) {
		snprintf(msg, sizeof(msg), "needs %s; agent '%s' has %s free",
		    res_format(need, a, sizeof(a)), x->agent_id,
		    res_format(&x->view, b, sizeof(b)));
		conflict_add(conflicts, t, "resources", msg);
		return 0;
	}
	res_collapse(need, &flat);
	fits = limit == NULL || within_limit(limit, held, &flat);
	if (fits)
		res_add(held, &flat);
	res_free(&flat);
	if (!fits) {
		snprintf(msg, sizeof(msg), "role '%s' would go over its quota "
		    "limit %s", fw->role, res_format(limit, a, sizeof(a)));
		conflict_add(conflicts, t, "quota", msg);
		return 0;
	}
	res_sub(&x->view, need);
	json_array_append(x->taken, t);
	return 1;
}

/* The role's quota limit into LIMIT; 0 when it has none. */
static int
role_limit(struct master *m, const char *role, struct res *limit)
{
	const char *s = rec_str(json_object_get(m->quota, role), "limit");
	char err[RES_ERRLEN];

	return s != NULL && *s != '\0' && res_parse(s, limit, err) == 0;
}

/*
 * COMMIT: launch a transaction of tasks on the agents they name, as
 * checked now against what is free; answered with COMMITTED, which says
 * what launched and what conflicted and why.  A malformed transaction is
 * an ERROR and nothing launches.
 */
void
shared_commit(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN];
	const char *gran, *tid;
	struct framework *fw;
	struct group *g = NULL, *x;
	struct res *each = NULL, *need = NULL, limit, held;
	json_t *tasks, *conflicts, *launched, *r, *t;
	size_t i, n, ng = 0, nfit = 0;
	int by_agent, incremental, has_limit, *fit = NULL, rc;

	if ((fw = framework_of(m, rec, from)) == NULL)
		return;
	if (rec_require(rec, "transaction_id:s tasks:a ?incremental:b "
	    "?granularity:s", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return;
	}
	if (!fw->optimistic) {
		master_error(m, from, rec, E_INVALID, "framework '%s' is not "
		    "subscribed in mode optimistic: it launches by ACCEPT",
		    fw->id);
		return;
	}
	tid = rec_str(rec, "transaction_id");
	gran = rec_str(rec, "granularity");
	tasks = json_object_get(rec, "tasks");
	n = json_array_size(tasks);
	if (!id_valid(tid) || (gran != NULL && strcmp(gran, "resource") != 0 &&
	    strcmp(gran, "agent") != 0) || n == 0 || n > PROTO_COMMIT_TASKS) {
		master_error(m, from, rec, E_INVALID, "transaction_id must be "
		    "an id, granularity 'resource' or 'agent', and tasks 1 to "
		    "%d", PROTO_COMMIT_TASKS);
		return;
	}
	by_agent = gran != NULL && strcmp(gran, "agent") == 0;
	incremental = rec_bool_or(rec, "incremental", 0);
	if (tasks_permitted(m, rec, from, tasks) == -1)
		return;
	each = calloc(n, sizeof(*each));
	need = calloc(n, sizeof(*need));
	g = calloc(n, sizeof(*g));
	fit = calloc(n, sizeof(*fit));
	conflicts = json_array();
	launched = json_array();
	res_init(&held);
	has_limit = role_limit(m, fw->role, &limit);
	if (each == NULL || need == NULL || g == NULL || fit == NULL) {
		master_error(m, from, rec, E_NO_MEMORY, "out of memory");
		goto done;
	}
	if (commit_form(m, fw, tasks, by_agent, each, err) == -1) {
		master_error(m, from, rec, E_INVALID, "%s; nothing launched",
		    err);
		goto done;
	}
	if (has_limit)
		role_held(m, fw->role, &held);
	for (i = 0; i < n; i++) {
		t = json_array_get(tasks, i);
		x = group_of(m, fw, g, &ng, rec_str(t, "agent_id"), by_agent, t);
		rc = commit_fit(m, fw, x, t, &each[i], has_limit ? &limit :
		    NULL, &held, &need[i], conflicts, err);
		if (rc == -1) {
			master_error(m, from, rec, E_INVALID, "%s; nothing "
			    "launched", err);
			goto done;
		}
		fit[i] = rc;
		nfit += rc;
	}
	if (!incremental && nfit < n)
		nfit = 0;		/* all or nothing: nothing */
	for (i = 0; nfit > 0 && i < n; i++) {
		if (!fit[i])
			continue;
		t = json_array_get(tasks, i);
		x = group_of(m, fw, g, &ng, rec_str(t, "agent_id"), 0, t);
		executor_hold(m, fw, x->a, t);
		alloc_claim(m, fw->id, x->a->id, &need[i]);
		if (task_create(m, fw, x->a, t, &each[i]) == -1)
			break;
		json_array_append_new(launched,
		    json_string(rec_str(t, "task_id")));
	}
	log_info("transaction %s of %s: %zu of %zu tasks launched, %zu "
	    "conflicts", tid, fw->id, json_array_size(launched), n,
	    json_array_size(conflicts));
	stats_commit(json_array_size(launched) == n ? "committed" :
	    json_array_size(launched) > 0 ? "partial" : "aborted");
	r = rec_new(R_COMMITTED);
	rec_set_str(r, "framework_id", fw->id);
	rec_set_str(r, "transaction_id", tid);
	rec_set_str(r, "outcome", json_array_size(launched) == n ?
	    "committed" : json_array_size(launched) > 0 ? "partial" :
	    "aborted");
	json_object_set(r, "launched", launched);
	json_object_set(r, "conflicts", conflicts);
	master_reply(m, from, r);
done:
	for (i = 0; i < n && each != NULL; i++)
		res_free(&each[i]);
	for (i = 0; i < n && need != NULL; i++)
		res_free(&need[i]);
	for (i = 0; i < ng; i++) {
		res_free(&g[i].view);
		json_decref(g[i].taken);
	}
	if (has_limit)
		res_free(&limit);
	res_free(&held);
	json_decref(conflicts);
	json_decref(launched);
	free(each);
	free(need);
	free(g);
	free(fit);
}
