/*
 * The master's state and the handling of every record it receives.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define RESEND_MS	1000	/* first launch/kill retransmission */
#define RESEND_MAX_MS	10000
#define SCAN_MS		250	/* agent and framework timeouts are checked */

static void	task_end(struct master *, struct task *);
static void	task_pending(struct master *, struct task *);

/* T has ended: it stays listed a while, in the queue of ended tasks. */
static void
task_done(struct master *m, struct task *t)
{
	t->ended = now_ms();
	t->dnext = NULL;
	if (m->dtail != NULL)
		m->dtail->dnext = t;
	else
		m->dhead = t;
	m->dtail = t;
	m->ndone++;
}

/* Send REC to the peer at TO and release it. */
static void
reply(struct master *m, const struct net_route *to, json_t *rec)
{
	if (net_send(m->hub, to, rec) == -1)
		log_debug("send %s: dropped", rec_type(rec));
	json_decref(rec);
}

void
master_alloc_send(struct master *m, json_t *rec)
{
	if (m->alloc == NULL || net_send(m->alloc, NULL, rec) == -1)
		log_warnx("allocator link: %s not delivered", rec_type(rec));
	json_decref(rec);
}

/* Tell the allocator that RES of AGENT_ID is no longer FW_ID's. */
static void
alloc_recover(struct master *m, const char *fw_id, const char *agent_id,
    const struct res *res, int64_t refuse_ms)
{
	char buf[1024];
	json_t *r;

	if (res_empty(res))
		return;
	r = rec_new(A_RECOVER);
	rec_set_str(r, "framework_id", fw_id);
	rec_set_str(r, "agent_id", agent_id);
	rec_set_str(r, "resources", res_format(res, buf, sizeof(buf)));
	if (refuse_ms > 0)
		rec_set_num(r, "refuse_seconds", refuse_ms / 1000.0);
	master_alloc_send(m, r);
}

/*
 * FREE (not initialised) = what agent A has neither in use nor offered; an
 * agent that came back smaller than its tasks has nothing of that free.
 */
static void
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

static json_t *
agent_json(const struct agent *a)
{
	char t[1024], u[1024], o[1024], f[1024];
	struct res free_;
	json_t *j;

	agent_free(a, &free_);
	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:I}",
	    "agent_id", a->id, "hostname", a->hostname,
	    "resources", res_format(&a->total, t, sizeof(t)),
	    "used", res_format(&a->used, u, sizeof(u)),
	    "offered", res_format(&a->offered, o, sizeof(o)),
	    "free", res_format(&free_, f, sizeof(f)),
	    "attributes", a->attributes ? a->attributes : "",
	    "active", a->active, "tasks", (json_int_t)a->ntasks);
	if (a->isolators != NULL)
		json_object_set(j, "isolators", a->isolators);
	res_free(&free_);
	return j;
}

/* The resources of every active agent. */
static void
cluster_total(struct master *m, struct res *total)
{
	struct agent *a;
	size_t pos = 0;

	res_init(total);
	while ((a = map_next(m->agents, &pos, NULL)) != NULL)
		if (a->active)
			res_add(total, &a->total);
}

/* The dominant share of FW: its used plus offered resources over TOTAL. */
static double
framework_share(const struct framework *fw, const struct res *total)
{
	struct res held;
	struct offer *o;
	struct task *t;
	size_t pos = 0;
	double share = 0;
	int i;

	res_init(&held);
	while ((o = map_next(fw->offers, &pos, NULL)) != NULL)
		res_add(&held, &o->res);
	for (pos = 0; (t = map_next(fw->tasks, &pos, NULL)) != NULL;)
		if (t->ended == 0)
			res_add(&held, &t->res);
	for (i = 0; i < held.n; i++) {
		int64_t tot = res_get(total, held.it[i].name);

		if (held.it[i].kind == RES_SCALAR && tot > 0 &&
		    (double)held.it[i].milli / tot > share)
			share = (double)held.it[i].milli / tot;
	}
	res_free(&held);
	return share;
}

static json_t *
task_json(struct master *m, const struct task *t)
{
	struct agent *a = map_get(m->agents, t->agent_id);
	char r[1024];
	json_t *j;

	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
	    "task_id", t->id, "framework_id", t->framework_id,
	    "name", rec_str(t->info, "name") ? rec_str(t->info, "name") : t->id,
	    "agent_id", t->agent_id, "hostname", a ? a->hostname : "",
	    "state", t->state, "resources", res_format(&t->res, r, sizeof(r)));
	if (t->status != NULL) {
		static const char *copy[] = { "exit_code", "signal", "reason",
		    "sandbox", "oom", "cpu_ms", "mem_peak_mb" };
		size_t i;

		for (i = 0; i < sizeof(copy) / sizeof(*copy); i++)
			if (json_object_get(t->status, copy[i]) != NULL)
				json_object_set(j, copy[i],
				    json_object_get(t->status, copy[i]));
	}
	return j;
}

/* Answer a QUERY with a STATE record listing the things asked for. */
static void
handle_query(struct master *m, json_t *rec, const struct net_route *from)
{
	const char *what = rec_str(rec, "what");
	json_t *items = json_array(), *st;
	size_t pos = 0;
	void *v;

	if (what == NULL)
		what = "";
	if (strcmp(what, "agents") == 0) {
		while ((v = map_next(m->agents, &pos, NULL)) != NULL)
			json_array_append_new(items, agent_json(v));
	} else if (strcmp(what, "frameworks") == 0) {
		struct res total;

		cluster_total(m, &total);
		while ((v = map_next(m->frameworks, &pos, NULL)) != NULL) {
			struct framework *f = v;

			json_array_append_new(items, json_pack(
			    "{s:s,s:s,s:s,s:b,s:I,s:f}", "framework_id", f->id,
			    "name", f->name, "role", f->role, "active", f->active,
			    "tasks", (json_int_t)f->ntasks,
			    "share", framework_share(f, &total)));
		}
		res_free(&total);
	} else if (strcmp(what, "tasks") == 0) {
		while ((v = map_next(m->tasks, &pos, NULL)) != NULL)
			json_array_append_new(items, task_json(m, v));
	} else if (strcmp(what, "offers") == 0) {
		while ((v = map_next(m->offers, &pos, NULL)) != NULL) {
			struct offer *o = v;
			char r[1024];

			json_array_append_new(items, json_pack(
			    "{s:s,s:s,s:s,s:s,s:I}", "offer_id", o->id,
			    "framework_id", o->framework_id, "agent_id",
			    o->agent_id, "resources", res_format(&o->res, r,
			    sizeof(r)), "age_ms", (json_int_t)(now_ms() - o->created)));
		}
	} else {
		json_decref(items);
		reply(m, from, rec_error(rec, E_INVALID, "QUERY: 'what' must be agents, "
		    "frameworks, tasks or offers"));
		return;
	}
	st = rec_new(R_STATE);
	rec_set_str(st, "what", what);
	json_object_set_new(st, "items", items);
	reply(m, from, st);
}

/* Send REC to framework FW if it can be addressed; consumes REC. */
static void
to_framework(struct master *m, struct framework *fw, json_t *rec)
{
	if (fw == NULL || fw->route.len == 0) {
		json_decref(rec);
		return;
	}
	reply(m, &fw->route, rec);
}

/* Forget offer O: out of the index and the expiry queue, and freed. */
static void
offer_free(struct master *m, struct offer *o)
{
	struct agent *a;
	struct framework *fw;

	if (o->qprev != NULL)
		o->qprev->qnext = o->qnext;
	else
		m->ohead = o->qnext;
	if (o->qnext != NULL)
		o->qnext->qprev = o->qprev;
	else
		m->otail = o->qprev;
	if ((a = map_get(m->agents, o->agent_id)) != NULL)
		map_del(a->offers, o->id);
	if ((fw = map_get(m->frameworks, o->framework_id)) != NULL)
		map_del(fw->offers, o->id);
	map_del(m->offers, o->id);
	res_free(&o->res);
	free(o);
}

/* Withdraw offer O: its resources go back, the framework is told when RESCIND. */
static void
offer_remove(struct master *m, struct offer *o, int rescind, int64_t refuse_ms)
{
	struct agent *a = map_get(m->agents, o->agent_id);

	if (a != NULL)
		res_sub(&a->offered, &o->res);
	if (rescind) {
		json_t *r = rec_new(R_RESCIND);

		rec_set_str(r, "offer_id", o->id);
		to_framework(m, map_get(m->frameworks, o->framework_id), r);
	}
	if (a != NULL)
		alloc_recover(m, o->framework_id, o->agent_id, &o->res, refuse_ms);
	offer_free(m, o);
}

/*
 * Tell the allocator agent A's total and attributes, and when CLAIMS,
 * every live task it runs (a known agent's are known to it already).
 */
static void
alloc_agent_add(struct master *m, struct agent *a, int claims)
{
	char buf[1024];
	struct task *t;
	size_t pos = 0;
	json_t *r;

	r = rec_new(A_AGENT_ADD);
	rec_set_str(r, "agent_id", a->id);
	rec_set_str(r, "resources", res_format(&a->total, buf, sizeof(buf)));
	rec_set_str(r, "attributes", a->attributes);
	master_alloc_send(m, r);
	while (claims && (t = map_next(a->tasks, &pos, NULL)) != NULL) {
		if (t->ended || map_get(m->frameworks, t->framework_id) == NULL)
			continue;
		r = json_pack("{s:s,s:s,s:s,s:s}", "type", A_CLAIM,
		    "framework_id", t->framework_id, "agent_id", a->id,
		    "resources", res_format(&t->res, buf, sizeof(buf)));
		master_alloc_send(m, r);
	}
}

/*
 * A framework known only because an agent runs its tasks (after a master
 * restart): it has recovery_ms to subscribe again before they are killed.
 */
/* A new framework ID, indexed; NULL when out of memory. */
static struct framework *
framework_new(struct master *m, const char *id)
{
	struct framework *fw = calloc(1, sizeof(*fw));

	if (fw == NULL || (fw->tasks = map_create()) == NULL ||
	    (fw->offers = map_create()) == NULL) {
		if (fw != NULL)
			map_destroy(fw->tasks);
		free(fw);
		log_warnx("out of memory");
		return NULL;
	}
	strlcpy(fw->id, id, sizeof(fw->id));
	map_put(m->frameworks, fw->id, fw);
	return fw;
}

static struct framework *
framework_placeholder(struct master *m, const char *id, const char *role)
{
	struct framework *fw = framework_new(m, id);
	json_t *r;

	if (fw == NULL)
		return NULL;
	strlcpy(fw->name, "(recovering)", sizeof(fw->name));
	strlcpy(fw->role, role != NULL && (id_valid(role) ||
	    strcmp(role, "*") == 0) ? role : "*", sizeof(fw->role));
	fw->placeholder = 1;
	fw->inactive_since = now_ms();
	fw->failover_ms = m->recovery_ms;
	state_mark(m, m->seen_fw, fw->id);
	r = json_pack("{s:s,s:s,s:s}", "type", A_FRAMEWORK_ADD,
	    "framework_id", fw->id, "role", fw->role);
	master_alloc_send(m, r);
	r = json_pack("{s:s,s:s}", "type", R_SUPPRESS, "framework_id", fw->id);
	master_alloc_send(m, r);
	log_info("framework %s: tasks reported by an agent; waiting %lld ms "
	    "for it to subscribe again", fw->id, (long long)m->recovery_ms);
	return fw;
}

/* Ask agent A to kill task TID of framework FID. */
static void
agent_kill_task(struct master *m, struct agent *a, const char *fid,
    const char *tid)
{
	json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "type", R_KILL, "agent_id",
	    a->id, "framework_id", fid, "task_id", tid);

	reply(m, &a->route, r);
}

/* Forward a state STATE of T, not to be acknowledged, to its framework. */
static void
task_notify(struct master *m, struct task *t, const char *reason)
{
	json_t *st = rec_new(R_STATUS);

	rec_set_str(st, "framework_id", t->framework_id);
	rec_set_str(st, "task_id", t->id);
	rec_set_str(st, "agent_id", t->agent_id);
	rec_set_str(st, "state", t->state);
	rec_set_str(st, "reason", reason);
	json_decref(t->status);
	t->status = json_incref(st);
	to_framework(m, map_get(m->frameworks, t->framework_id), st);
}

/*
 * Take one entry of a (re-)registering agent's task report: the master
 * learns the tasks it lost in a restart, and tells the framework of tasks
 * it had reported unreachable that they run again.
 */
static void
reconcile_reported(struct master *m, struct agent *a, json_t *e)
{
	const char *fid = rec_str(e, "framework_id"), *tid = rec_str(e, "task_id");
	const char *state = rec_str(e, "state");
	json_t *info = json_object_get(e, "task");
	char key[2 * ID_LEN], err[RES_ERRLEN];
	struct framework *fw;
	struct task *t;

	if (fid == NULL || tid == NULL || state == NULL || !id_valid(fid) ||
	    !id_valid(tid) || !json_is_object(info))
		return;
	if (map_get(m->removed_fw, fid) != NULL) {
		if (!task_state_terminal(state))
			agent_kill_task(m, a, fid, tid);
		return;
	}
	snprintf(key, sizeof(key), "%s/%s", fid, tid);
	if ((t = map_get(m->tasks, key)) != NULL) {
		if (t->ended || strcmp(t->agent_id, a->id) != 0)
			return;
		t->reported = 1;
		map_put(a->tasks, t->key, t);
		if (strcmp(t->state, TASK_UNREACHABLE) == 0 &&
		    !task_state_terminal(state)) {
			strlcpy(t->state, state, sizeof(t->state));
			task_notify(m, t, "agent reachable again");
		}
		return;
	}
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
	strlcpy(t->id, tid, sizeof(t->id));
	strlcpy(t->framework_id, fid, sizeof(t->framework_id));
	strlcpy(t->agent_id, a->id, sizeof(t->agent_id));
	strlcpy(t->key, key, sizeof(t->key));
	strlcpy(t->state, state, sizeof(t->state));
	t->info = json_deep_copy(info);
	t->reported = 1;
	map_put(m->tasks, t->key, t);
	map_put(a->tasks, t->key, t);
	map_put(fw->tasks, t->key, t);
	if (task_state_terminal(state)) {
		/* its last update is still on its way from the agent */
		task_done(m, t);
		return;
	}
	res_add(&a->used, &t->res);
	a->ntasks++;
	fw->ntasks++;
	log_info("task %s of %s on %s recovered: %s", tid, fid, a->id, state);
}

/* Register or re-register an agent. */
static void
handle_register_agent(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN], id[ID_LEN], buf[1024], ubuf[1024];
	const char *want_id = rec_str(rec, "agent_id");
	const char *attrs = rec_str(rec, "attributes");
	struct res total;
	struct agent *a;
	struct offer *o;
	struct task *t;
	json_t *ok, *reported, *e;
	int removed = 0, was_active;
	size_t i, pos;

	if (rec_require(rec, "hostname:s resources:s ?attributes:s ?agent_id:s "
	    "?tasks:a", err) == -1) {
		reply(m, from, rec_error(rec, E_MALFORMED, "%s", err));
		return;
	}
	if (res_parse(rec_str(rec, "resources"), &total, err) == -1) {
		reply(m, from, rec_error(rec, E_INVALID, "resources: %s", err));
		return;
	}
	if (attrs != NULL && attr_check(attrs, err) == -1) {
		res_free(&total);
		reply(m, from, rec_error(rec, E_INVALID, "attributes: %s", err));
		return;
	}
	if (want_id != NULL && !id_valid(want_id)) {
		res_free(&total);
		reply(m, from, rec_error(rec, E_INVALID, "agent_id: not a valid id"));
		return;
	}
	if (want_id != NULL && map_get(m->removed_agents, want_id) != NULL) {
		/* its tasks were reported lost: it starts anew */
		log_warnx("agent %s was removed; it registers under a new id",
		    want_id);
		want_id = NULL;
		removed = 1;
	}
	if (want_id != NULL && (a = map_get(m->agents, want_id)) != NULL) {
		/* the same agent again: keep its tasks, take the new totals */
		if (!res_contains(&total, &a->used))
			log_warnx("agent %s re-registers with %s, less than its "
			    "tasks use (%s): nothing more is offered on it "
			    "until they end", want_id, res_format(&total, buf,
			    sizeof(buf)), res_format(&a->used, ubuf,
			    sizeof(ubuf)));
		res_free(&a->total);
		a->total = total;
	} else {
		a = calloc(1, sizeof(*a));
		if (a == NULL || (a->tasks = map_create()) == NULL ||
		    (a->offers = map_create()) == NULL) {
			if (a != NULL)
				map_destroy(a->tasks);
			free(a);
			res_free(&total);
			log_warnx("out of memory");
			return;
		}
		strlcpy(a->id, want_id ? want_id : id_new("agent", id, sizeof(id)),
		    sizeof(a->id));
		a->total = total;
		res_init(&a->used);
		res_init(&a->offered);
		map_put(m->agents, a->id, a);
	}
	state_mark(m, m->seen_agents, a->id);
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
	reply(m, from, ok);
	was_active = a->active;
	a->active = 1;
	a->unreachable_since = 0;
	if (!removed) {
		struct map *seen = map_create();

		reported = json_object_get(rec, "tasks");
		json_array_foreach(reported, i, e) {
			char key[2 * ID_LEN];

			reconcile_reported(m, a, e);
			if (rec_str(e, "framework_id") && rec_str(e, "task_id")) {
				snprintf(key, sizeof(key), "%s/%s",
				    rec_str(e, "framework_id"), rec_str(e, "task_id"));
				map_put(seen, key, (void *)1);
			}
		}
		/*
		 * Tasks we launched there that the agent does not know: lost
		 * if it had reported on them, else the LAUNCH never got
		 * there, and it goes again.
		 */
		for (pos = 0; (t = map_next(a->tasks, &pos, NULL)) != NULL;) {
			if (t->ended || map_get(seen, t->key) != NULL)
				continue;
			if (!t->reported && !t->kill_wanted) {
				if (strcmp(t->state, TASK_STAGING) != 0) {
					strlcpy(t->state, TASK_STAGING,
					    sizeof(t->state));
					task_notify(m, t, "agent reachable again");
				}
				task_pending(m, t);
				continue;
			}
			if (!t->reported) {	/* a kill before any launch */
				strlcpy(t->state, TASK_KILLED, sizeof(t->state));
				task_notify(m, t, "killed before it was launched");
			} else {
				strlcpy(t->state, TASK_LOST, sizeof(t->state));
				task_notify(m, t, "the agent does not know the task");
			}
			task_end(m, t);
		}
		map_destroy(seen);
	}
	/*
	 * Whatever it registers with is the allocator's truth too.  Its
	 * outstanding offers were cut from the old totals: they are
	 * rescinded after the allocator has the new ones, so that what they
	 * give back cannot be offered again at the old size.
	 */
	alloc_agent_add(m, a, !was_active);
	for (pos = 0; (o = map_next(a->offers, &pos, NULL)) != NULL;)
		offer_remove(m, o, 1, 0);
}

/* FW is heard from: if it was inactive, offers to it resume. */
static void
framework_activate(struct master *m, struct framework *fw)
{
	json_t *r;

	if (fw->active)
		return;
	if (fw->inactive_since != 0 || fw->placeholder)
		log_info("framework %s (%s) is back", fw->id, fw->name);
	fw->active = 1;
	fw->placeholder = 0;
	fw->inactive_since = 0;
	if (!fw->suppressed) {
		r = json_pack("{s:s,s:s}", "type", R_REVIVE, "framework_id", fw->id);
		master_alloc_send(m, r);
	}
}

/* FW fell silent: no offers to it until it is heard from again. */
static void
framework_deactivate(struct master *m, struct framework *fw)
{
	struct offer *o;
	size_t pos = 0;
	json_t *r;

	fw->active = 0;
	fw->inactive_since = now_ms();
	while ((o = map_next(fw->offers, &pos, NULL)) != NULL)
		offer_remove(m, o, 1, 0);
	r = json_pack("{s:s,s:s}", "type", R_SUPPRESS, "framework_id", fw->id);
	master_alloc_send(m, r);
}

/* Subscribe a framework, new or returning. */
static void
handle_subscribe(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN], id[ID_LEN];
	const char *want_id = rec_str(rec, "framework_id");
	const char *role = rec_str(rec, "role");
	struct framework *fw;
	json_t *ok, *add, *filters = json_object_get(rec, "filters");

	if (rec_require(rec, "name:s ?role:s ?framework_id:s ?filters:o "
	    "?failover_timeout:n", err) == -1) {
		reply(m, from, rec_error(rec, E_MALFORMED, "%s", err));
		return;
	}
	if (want_id != NULL && !id_valid(want_id)) {
		reply(m, from, rec_error(rec, E_INVALID, "framework_id: not a valid id"));
		return;
	}
	if (role != NULL && !id_valid(role) && strcmp(role, "*") != 0) {
		reply(m, from, rec_error(rec, E_INVALID, "role: not a valid role name"));
		return;
	}
	if (filters != NULL) {
		const char *fa = rec_str(filters, "attributes");
		const char *fm = rec_str(filters, "min");
		struct res tmp;

		if (fa != NULL && attr_check(fa, err) == -1) {
			reply(m, from, rec_error(rec, E_INVALID, "filters.attributes: %s", err));
			return;
		}
		if (fm != NULL) {
			if (res_parse(fm, &tmp, err) == -1) {
				reply(m, from, rec_error(rec, E_INVALID, "filters.min: %s", err));
				return;
			}
			res_free(&tmp);
		}
	}
	if (want_id != NULL && map_get(m->removed_fw, want_id) != NULL) {
		reply(m, from, rec_error(rec, E_REMOVED, "framework '%s' was removed; "
		    "subscribe without an id to start anew", want_id));
		return;
	}
	if (want_id == NULL || (fw = map_get(m->frameworks, want_id)) == NULL) {
		if ((fw = framework_new(m, want_id ? want_id :
		    id_new("fw", id, sizeof(id)))) == NULL)
			return;
	}
	strlcpy(fw->name, rec_str(rec, "name"), sizeof(fw->name));
	strlcpy(fw->role, role ? role : "*", sizeof(fw->role));
	fw->failover_ms = rec_num_or(rec, "failover_timeout", 0) * 1000;
	json_decref(fw->filters);
	fw->filters = json_incref(filters);
	fw->route = *from;
	fw->last_seen = now_ms();
	state_mark(m, m->seen_fw, fw->id);
	log_info("framework %s (%s) %s in role %s", fw->id, fw->name,
	    fw->active || fw->placeholder || want_id == NULL ? "subscribed" :
	    "subscribed again", fw->role);
	ok = rec_new(R_SUBSCRIBED);
	rec_set_str(ok, "framework_id", fw->id);
	rec_set_num(ok, "heartbeat_interval", 1.0);
	reply(m, from, ok);
	add = rec_new(A_FRAMEWORK_ADD);
	rec_set_str(add, "framework_id", fw->id);
	rec_set_str(add, "role", fw->role);
	if (filters != NULL)
		json_object_set(add, "filters", filters);
	master_alloc_send(m, add);
	framework_activate(m, fw);
}

/*
 * Find the framework named by REC's framework_id and refresh its route;
 * answers an ERROR and returns NULL when there is none.
 */
static struct framework *
framework_of(struct master *m, json_t *rec, const struct net_route *from)
{
	const char *id = rec_str(rec, "framework_id");
	struct framework *fw;

	if (id == NULL) {
		reply(m, from, rec_error(rec, E_MALFORMED, "%s: field 'framework_id' is "
		    "missing", rec_type(rec)));
		return NULL;
	}
	if ((fw = map_get(m->frameworks, id)) == NULL) {
		reply(m, from, rec_error(rec, E_UNKNOWN_FRAMEWORK, "unknown framework '%s' "
		    "(SUBSCRIBE first)", id));
		return NULL;
	}
	if (fw->placeholder) {
		reply(m, from, rec_error(rec, E_RESUBSCRIBE, "framework '%s' must SUBSCRIBE "
		    "again (with its id) after the master restarted", id));
		return NULL;
	}
	fw->route = *from;
	fw->last_seen = now_ms();
	framework_activate(m, fw);
	return fw;
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
	reply(m, &a->route, r);
	delay = RESEND_MS << (t->tries < 4 ? t->tries : 4);
	t->next_send = now_ms() + (delay < RESEND_MAX_MS ? delay : RESEND_MAX_MS);
	t->tries++;
}

/* Check one task description of an ACCEPT; returns 0 or -1 with ERR. */
static int
check_task(struct master *m, const struct framework *fw, const struct offer *o,
    json_t *t, struct res *res, char *err)
{
	const char *tid = rec_str(t, "task_id"), *aid = rec_str(t, "agent_id");
	char key[2 * ID_LEN];
	json_t *argv = json_object_get(t, "argv");
	size_t i;

	if (!json_is_object(t)) {
		snprintf(err, REC_ERRLEN, "each task is a map");
		return -1;
	}
	if (tid == NULL || !id_valid(tid)) {
		snprintf(err, REC_ERRLEN, "task_id missing or not a valid id");
		return -1;
	}
	snprintf(key, sizeof(key), "%s/%s", fw->id, tid);
	if (map_get(m->tasks, key) != NULL) {
		snprintf(err, REC_ERRLEN, "task '%s' exists already", tid);
		return -1;
	}
	if (aid != NULL && strcmp(aid, o->agent_id) != 0) {
		snprintf(err, REC_ERRLEN, "task '%s' names agent '%s' but offer "
		    "'%s' is for agent '%s'", tid, aid, o->id, o->agent_id);
		return -1;
	}
	if (rec_str(t, "command") == NULL && !json_is_array(argv)) {
		snprintf(err, REC_ERRLEN, "task '%s' has neither 'command' (a "
		    "string) nor 'argv' (an array)", tid);
		return -1;
	}
	if (json_is_array(argv)) {
		if (json_array_size(argv) == 0) {
			snprintf(err, REC_ERRLEN, "task '%s': argv is empty", tid);
			return -1;
		}
		for (i = 0; i < json_array_size(argv); i++)
			if (!json_is_string(json_array_get(argv, i))) {
				snprintf(err, REC_ERRLEN, "task '%s': argv holds "
				    "a non-string", tid);
				return -1;
			}
	}
	if (rec_str(t, "resources") == NULL) {
		snprintf(err, REC_ERRLEN, "task '%s' has no 'resources'", tid);
		return -1;
	}
	if (res_parse(rec_str(t, "resources"), res, err) == -1) {
		char tmp[REC_ERRLEN];

		snprintf(tmp, sizeof(tmp), "task '%.60s' resources: %.160s", tid, err);
		strlcpy(err, tmp, REC_ERRLEN);
		return -1;
	}
	(void)m;
	return 0;
}

/*
 * The offer an ACCEPT or DECLINE answers, checked: REC has the fields of
 * SPEC, comes from the framework the offer was made to (*FW), and its
 * refuse_seconds (default: offerd -r) is sane (*REFUSE_MS).  NULL after an
 * ERROR to the sender otherwise.
 */
static struct offer *
offer_answered(struct master *m, json_t *rec, const struct net_route *from,
    const char *spec, struct framework **fw, int64_t *refuse_ms)
{
	char err[REC_ERRLEN];
	struct offer *o;
	double refuse;

	if ((*fw = framework_of(m, rec, from)) == NULL)
		return NULL;
	if (rec_require(rec, spec, err) == -1) {
		reply(m, from, rec_error(rec, E_MALFORMED, "%s", err));
		return NULL;
	}
	o = map_get(m->offers, rec_str(rec, "offer_id"));
	if (o == NULL || strcmp(o->framework_id, (*fw)->id) != 0) {
		reply(m, from, rec_error(rec, E_UNKNOWN_OFFER, "offer '%s' is not outstanding "
		    "for this framework", rec_str(rec, "offer_id")));
		return NULL;
	}
	refuse = rec_num_or(rec, "refuse_seconds", m->refuse_ms / 1000.0);
	if (!(refuse >= 0) || refuse > 31536000) {
		reply(m, from, rec_error(rec, E_INVALID, "refuse_seconds out of range "
		    "(0 to a year)"));
		return NULL;
	}
	*refuse_ms = (int64_t)(refuse * 1000);
	return o;
}

/*
 * ACCEPT: launch the tasks on the offer's agent.  All of it is checked
 * first; on any fault nothing launches, the framework gets an ERROR and
 * the offer's resources go back to the pool.
 */
static void
handle_accept(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN], buf[1024];
	struct framework *fw;
	struct offer *o;
	struct agent *a;
	struct res sum, *each = NULL;
	json_t *tasks, *t;
	size_t i, n;
	int64_t refuse_ms;

	if ((o = offer_answered(m, rec, from, "offer_id:s tasks:a "
	    "?refuse_seconds:n", &fw, &refuse_ms)) == NULL)
		return;
	a = map_get(m->agents, o->agent_id);
	tasks = json_object_get(rec, "tasks");
	n = json_array_size(tasks);
	res_init(&sum);
	if (n > 0 && (each = calloc(n, sizeof(*each))) == NULL)
		goto fail_mem;
	for (i = 0; i < n; i++) {
		size_t k;

		t = json_array_get(tasks, i);
		if (check_task(m, fw, o, t, &each[i], err) == -1)
			goto fail;
		for (k = 0; k < i; k++)
			if (strcmp(rec_str(json_array_get(tasks, k), "task_id"),
			    rec_str(t, "task_id")) == 0) {
				snprintf(err, sizeof(err), "task '%s' is given "
				    "twice", rec_str(t, "task_id"));
				goto fail;
			}
		if (res_add(&sum, &each[i]) == -1) {
			snprintf(err, sizeof(err), "resources overflow");
			goto fail;
		}
	}
	if (!res_contains(&o->res, &sum)) {
		char want[1024];

		snprintf(err, sizeof(err), "tasks need %s but offer '%s' holds "
		    "%s", res_format(&sum, want, sizeof(want)), o->id,
		    res_format(&o->res, buf, sizeof(buf)));
		goto fail;
	}
	/* all good: the offer is consumed, the tasks launch */
	res_sub(&a->offered, &o->res);
	res_sub(&o->res, &sum);
	for (i = 0; i < n; i++) {
		struct task *tk = calloc(1, sizeof(*tk));

		t = json_array_get(tasks, i);
		if (tk == NULL)
			goto fail_mem;
		strlcpy(tk->id, rec_str(t, "task_id"), sizeof(tk->id));
		strlcpy(tk->framework_id, fw->id, sizeof(tk->framework_id));
		strlcpy(tk->agent_id, a->id, sizeof(tk->agent_id));
		snprintf(tk->key, sizeof(tk->key), "%s/%s", fw->id, tk->id);
		strlcpy(tk->state, TASK_STAGING, sizeof(tk->state));
		tk->res = each[i];
		res_init(&each[i]);
		tk->info = json_deep_copy(t);
		rec_set_str(tk->info, "agent_id", a->id);
		rec_set_str(tk->info, "role", fw->role);
		res_add(&a->used, &tk->res);
		a->ntasks++;
		fw->ntasks++;
		map_put(m->tasks, tk->key, tk);
		map_put(a->tasks, tk->key, tk);
		map_put(fw->tasks, tk->key, tk);
		log_info("launching task %s of %s on %s", tk->id, fw->id, a->id);
		task_pending(m, tk);
		task_send(m, tk);
	}
	/* what the tasks did not use goes back, refused for refuse_seconds */
	alloc_recover(m, fw->id, a->id, &o->res, refuse_ms);
	offer_free(m, o);
	res_free(&sum);
	free(each);
	return;
fail:
	reply(m, from, rec_error(rec, E_INVALID, "%s; nothing launched", err));
	offer_remove(m, o, 0, 0);
	res_free(&sum);
	for (i = 0; i < n && each != NULL; i++)
		res_free(&each[i]);
	free(each);
	return;
fail_mem:
	log_warnx("out of memory");
	res_free(&sum);
	free(each);
}

static void
handle_decline(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;
	struct offer *o;
	int64_t refuse_ms;

	if ((o = offer_answered(m, rec, from, "offer_id:s ?refuse_seconds:n",
	    &fw, &refuse_ms)) == NULL)
		return;
	offer_remove(m, o, 0, refuse_ms);
}

/* Find FW's task named by REC's task_id; NULL (and an ERROR) if none. */
static struct task *
task_of(struct master *m, struct framework *fw, json_t *rec,
    const struct net_route *from)
{
	const char *tid = rec_str(rec, "task_id");
	char key[2 * ID_LEN];

	if (tid == NULL) {
		reply(m, from, rec_error(rec, E_MALFORMED, "%s: field 'task_id' is missing",
		    rec_type(rec)));
		return NULL;
	}
	snprintf(key, sizeof(key), "%s/%s", fw->id, tid);
	return map_get(m->tasks, key);
}

static void
handle_kill(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;
	struct task *t;

	if ((fw = framework_of(m, rec, from)) == NULL)
		return;
	if ((t = task_of(m, fw, rec, from)) == NULL) {
		json_t *st;

		if (rec_str(rec, "task_id") == NULL)
			return;
		/* as Mesos does: an unknown task is reported lost */
		st = rec_new(R_STATUS);
		rec_set_str(st, "framework_id", fw->id);
		rec_set_str(st, "task_id", rec_str(rec, "task_id"));
		rec_set_str(st, "state", TASK_LOST);
		rec_set_str(st, "reason", "unknown task");
		reply(m, from, st);
		return;
	}
	if (t->ended)
		return;
	t->kill_wanted = 1;
	task_pending(m, t);
	task_send(m, t);
}

/* A STATUS from an agent: record it, forward it to the framework. */
static void
handle_status(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN], key[2 * ID_LEN];
	struct agent *a;
	struct task *t;
	struct framework *fw;
	const char *state;

	if (rec_require(rec, "agent_id:s framework_id:s task_id:s state:s "
	    "?uuid:s", err) == -1) {
		reply(m, from, rec_error(rec, E_MALFORMED, "%s", err));
		return;
	}
	if ((a = map_get(m->agents, rec_str(rec, "agent_id"))) == NULL ||
	    !a->active) {
		/* register first, with the tasks; the update comes again */
		json_t *rr = rec_new(R_REREGISTER);

		rec_set_str(rr, "agent_id", rec_str(rec, "agent_id"));
		reply(m, from, rr);
		return;
	}
	a->route = *from;
	a->last_seen = now_ms();
	state = rec_str(rec, "state");
	snprintf(key, sizeof(key), "%s/%s", rec_str(rec, "framework_id"),
	    rec_str(rec, "task_id"));
	if ((t = map_get(m->tasks, key)) != NULL) {
		t->reported = 1;
		if (!t->kill_wanted || task_state_terminal(state))
			map_del(m->pending, t->key);
		if (t->ended == 0) {
			strlcpy(t->state, state, sizeof(t->state));
			json_decref(t->status);
			t->status = json_incref(rec);
			if (task_state_terminal(state))
				task_end(m, t);
		}
	}
	fw = map_get(m->frameworks, rec_str(rec, "framework_id"));
	if (fw != NULL)
		to_framework(m, fw, json_incref(rec));
}

/* Forward a framework's ACKNOWLEDGE of a status update to the agent. */
static void
handle_acknowledge(struct master *m, json_t *rec, const struct net_route *from)
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
		reply(m, from, rec_error(rec, E_MALFORMED, "%s", err));
		return;
	}
	t = task_of(m, fw, rec, from);
	aid = t != NULL ? t->agent_id : rec_str(rec, "agent_id");
	if (aid == NULL || (a = map_get(m->agents, aid)) == NULL)
		return;
	ack = rec_new(R_ACKNOWLEDGE);
	rec_set_str(ack, "framework_id", fw->id);
	rec_set_str(ack, "task_id", rec_str(rec, "task_id"));
	rec_set_str(ack, "uuid", rec_str(rec, "uuid"));
	rec_set_str(ack, "agent_id", a->id);
	reply(m, &a->route, ack);
}

/* Forget FW: its offers go back, its tasks are killed. */
static void
framework_remove(struct master *m, struct framework *fw)
{
	struct offer *o;
	struct task *t;
	size_t pos = 0;
	json_t *r;

	log_info("framework %s (%s) removed", fw->id, fw->name);
	while ((o = map_next(fw->offers, &pos, NULL)) != NULL)
		offer_remove(m, o, 0, 0);
	for (pos = 0; (t = map_next(fw->tasks, &pos, NULL)) != NULL;) {
		if (t->ended)
			continue;
		t->kill_wanted = 1;
		task_pending(m, t);
		task_send(m, t);
	}
	r = rec_new(A_FRAMEWORK_REMOVE);
	rec_set_str(r, "framework_id", fw->id);
	master_alloc_send(m, r);
	state_mark(m, m->removed_fw, fw->id);
	fw->active = 0;
	fw->route.len = 0;
	/* kept until its tasks are gone so their last updates find no one */
	map_del(m->frameworks, fw->id);
	json_decref(fw->filters);
	map_destroy(fw->tasks);
	map_destroy(fw->offers);
	free(fw);
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

static void
handle_reconcile(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;
	json_t *ids, *v;
	struct task *t;
	size_t pos = 0, i;

	if ((fw = framework_of(m, rec, from)) == NULL)
		return;
	ids = json_object_get(rec, "task_ids");
	if (json_is_array(ids) && json_array_size(ids) > 0) {
		/* the named ones: looked up, not searched for */
		json_array_foreach(ids, i, v) {
			char key[2 * ID_LEN];

			if (!json_is_string(v))
				continue;
			snprintf(key, sizeof(key), "%s/%s", fw->id,
			    json_string_value(v));
			if ((t = map_get(m->tasks, key)) != NULL)
				reply(m, from, reconcile_status(t));
		}
	} else
		while ((t = map_next(fw->tasks, &pos, NULL)) != NULL)
			reply(m, from, reconcile_status(t));
	/* named tasks the master does not know are lost */
	json_array_foreach(ids, i, v) {
		char key[2 * ID_LEN];
		json_t *st;

		if (!json_is_string(v))
			continue;
		snprintf(key, sizeof(key), "%s/%s", fw->id, json_string_value(v));
		if (map_get(m->tasks, key) != NULL)
			continue;
		st = rec_new(R_STATUS);
		rec_set_str(st, "framework_id", fw->id);
		rec_set_str(st, "task_id", json_string_value(v));
		rec_set_str(st, "state", TASK_LOST);
		rec_set_str(st, "reason", "unknown task");
		rec_set_bool(st, "reconcile", 1);
		reply(m, from, st);
	}
}

static void
handle_heartbeat(struct master *m, json_t *rec, const struct net_route *from)
{
	const char *aid = rec_str(rec, "agent_id");
	struct agent *a;

	if (aid != NULL) {
		if ((a = map_get(m->agents, aid)) == NULL || !a->active) {
			json_t *rr = rec_new(R_REREGISTER);

			rec_set_str(rr, "agent_id", aid);
			reply(m, from, rr);
			return;
		}
		a->route = *from;
		a->last_seen = now_ms();
		return;
	}
	if (rec_str(rec, "framework_id") != NULL) {
		const char *fid = rec_str(rec, "framework_id");
		struct framework *fw = map_get(m->frameworks, fid);

		if ((fw == NULL || fw->placeholder) &&
		    map_get(m->removed_fw, fid) == NULL) {
			/* a master restart forgot it: it subscribes again */
			json_t *r = rec_new(R_REREGISTER);

			rec_set_str(r, "framework_id", fid);
			reply(m, from, r);
			return;
		}
		framework_of(m, rec, from);
	} else
		reply(m, from, rec_error(rec, E_MALFORMED, "HEARTBEAT names neither "
		    "agent_id nor framework_id"));
}

/* Relay a framework's SUPPRESS or REVIVE to the allocator. */
static void
handle_relay(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;
	json_t *r;

	if ((fw = framework_of(m, rec, from)) == NULL)
		return;
	fw->suppressed = strcmp(rec_type(rec), R_SUPPRESS) == 0;
	r = rec_new(rec_type(rec));
	rec_set_str(r, "framework_id", fw->id);
	master_alloc_send(m, r);
}

static void
handle_set_weight(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN];
	double w;
	json_t *r;

	if (rec_require(rec, "role:s weight:n", err) == -1) {
		reply(m, from, rec_error(rec, E_MALFORMED, "%s", err));
		return;
	}
	if (!id_valid(rec_str(rec, "role")) && strcmp(rec_str(rec, "role"), "*")) {
		reply(m, from, rec_error(rec, E_INVALID, "role: not a valid role name"));
		return;
	}
	w = rec_num_or(rec, "weight", 0);
	if (!(w > 0) || w > 1e6) {
		reply(m, from, rec_error(rec, E_INVALID, "weight must be > 0 and <= 1e6"));
		return;
	}
	r = rec_new(A_WEIGHT);
	rec_set_str(r, "role", rec_str(rec, "role"));
	rec_set_num(r, "weight", w);
	master_alloc_send(m, r);
	reply(m, from, json_pack("{s:s,s:s,s:f}", "type", R_WEIGHT_SET,
	    "role", rec_str(rec, "role"), "weight", w));
}

void
master_handle(struct master *m, json_t *rec, const struct net_route *from)
{
	static const struct {
		const char *type;
		void (*fn)(struct master *, json_t *, const struct net_route *);
	} table[] = {
		{ R_HEARTBEAT, handle_heartbeat },
		{ R_STATUS, handle_status },
		{ R_ACCEPT, handle_accept },
		{ R_DECLINE, handle_decline },
		{ R_ACKNOWLEDGE, handle_acknowledge },
		{ R_REGISTER_AGENT, handle_register_agent },
		{ R_SUBSCRIBE, handle_subscribe },
		{ R_KILL, handle_kill },
		{ R_SUPPRESS, handle_relay },
		{ R_REVIVE, handle_relay },
		{ R_RECONCILE, handle_reconcile },
		{ R_QUERY, handle_query },
		{ R_SET_WEIGHT, handle_set_weight },
	};
	const char *type = rec_type(rec);
	size_t i;

	log_debug("<- %s", type);
	for (i = 0; i < sizeof(table) / sizeof(*table); i++)
		if (strcmp(type, table[i].type) == 0) {
			table[i].fn(m, rec, from);
			return;
		}
	if (strcmp(type, R_TEARDOWN) == 0) {
		struct framework *fw = framework_of(m, rec, from);

		if (fw != NULL)
			framework_remove(m, fw);
		return;
	}
	if (strcmp(type, R_ERROR) == 0) {
		log_warnx("peer reports: %s", rec_str(rec, "message") ?
		    rec_str(rec, "message") : "(no message)");
		return;
	}
	reply(m, from, rec_error(rec, E_UNKNOWN_TYPE, "unknown record type '%s'", type));
}

/* Make a decision of the allocator an OFFER, or give it back. */
void
master_alloc_handle(struct master *m, json_t *rec)
{
	char err[REC_ERRLEN], buf[1024], fbuf[1024];
	struct framework *fw;
	struct agent *a;
	struct offer *o;
	struct res res, free_;
	json_t *r;

	if (strcmp(rec_type(rec), A_ALLOCATION) != 0) {
		if (strcmp(rec_type(rec), R_ERROR) == 0)
			log_warnx("allocator: %s", rec_str(rec, "message") ?
			    rec_str(rec, "message") : "error");
		return;
	}
	if (rec_require(rec, "framework_id:s agent_id:s resources:s", err) == -1 ||
	    res_parse(rec_str(rec, "resources"), &res, err) == -1) {
		log_warnx("allocator sent a bad ALLOCATION: %s", err);
		return;
	}
	fw = map_get(m->frameworks, rec_str(rec, "framework_id"));
	a = map_get(m->agents, rec_str(rec, "agent_id"));
	if (fw == NULL || a == NULL || !a->active || !fw->active) {
		/* it went meanwhile: hand the resources back */
		if (fw != NULL && a != NULL)
			alloc_recover(m, fw->id, a->id, &res, 0);
		res_free(&res);
		return;
	}
	/* one ledger: never offer what the master knows is not free */
	agent_free(a, &free_);
	if (!res_contains(&free_, &res)) {
		log_warnx("allocator offered %s of agent %s, which has %s free "
		    "(a decision made before it re-registered): given back",
		    res_format(&res, buf, sizeof(buf)), a->id,
		    res_format(&free_, fbuf, sizeof(fbuf)));
		alloc_recover(m, fw->id, a->id, &res, 0);
		res_free(&free_);
		res_free(&res);
		return;
	}
	res_free(&free_);
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		res_free(&res);
		return;
	}
	id_new("offer", o->id, sizeof(o->id));
	strlcpy(o->framework_id, fw->id, sizeof(o->framework_id));
	strlcpy(o->agent_id, a->id, sizeof(o->agent_id));
	o->res = res;
	o->created = now_ms();
	o->expires = m->offer_timeout_ms > 0 ? o->created + m->offer_timeout_ms : 0;
	res_add(&a->offered, &o->res);
	map_put(m->offers, o->id, o);
	map_put(a->offers, o->id, o);
	map_put(fw->offers, o->id, o);
	o->qprev = m->otail;
	if (m->otail != NULL)
		m->otail->qnext = o;
	else
		m->ohead = o;
	m->otail = o;
	r = rec_new(R_OFFER);
	rec_set_str(r, "offer_id", o->id);
	rec_set_str(r, "framework_id", fw->id);
	rec_set_str(r, "agent_id", a->id);
	rec_set_str(r, "hostname", a->hostname);
	rec_set_str(r, "resources", res_format(&o->res, buf, sizeof(buf)));
	rec_set_str(r, "attributes", a->attributes);
	log_debug("offer %s: %s of %s to %s", o->id, buf, a->id, fw->id);
	to_framework(m, fw, r);
}

/* T reached a terminal state: free its resources. */
static void
task_end(struct master *m, struct task *t)
{
	struct agent *a = map_get(m->agents, t->agent_id);
	struct framework *fw = map_get(m->frameworks, t->framework_id);

	task_done(m, t);
	map_del(m->pending, t->key);
	if (a != NULL) {
		res_sub(&a->used, &t->res);
		if (a->ntasks > 0)
			a->ntasks--;
		/* a removed framework's allocation went back already */
		if (a->active && fw != NULL)
			alloc_recover(m, t->framework_id, a->id, &t->res, 0);
	}
	if (fw != NULL && fw->ntasks > 0)
		fw->ntasks--;
}

/*
 * Agent A stopped answering: its offers are rescinded and its tasks are
 * reported TASK_UNREACHABLE, which is not terminal: if A comes back, they
 * are reported again as they are; if A stays away for removal_ms, they are
 * lost for good.
 */
static void
agent_unreachable(struct master *m, struct agent *a)
{
	struct offer *o;
	struct task *t;
	struct framework *fw;
	size_t pos = 0;
	json_t *r;

	log_warnx("agent %s (%s) unreachable: no word for %lld ms", a->id,
	    a->hostname, (long long)(now_ms() - a->last_seen));
	while ((o = map_next(a->offers, &pos, NULL)) != NULL)
		offer_remove(m, o, 1, 0);
	a->active = 0;
	a->unreachable_since = now_ms();
	r = rec_new(A_AGENT_REMOVE);
	rec_set_str(r, "agent_id", a->id);
	master_alloc_send(m, r);
	for (pos = 0; (t = map_next(a->tasks, &pos, NULL)) != NULL;) {
		if (t->ended)
			continue;
		strlcpy(t->state, TASK_UNREACHABLE, sizeof(t->state));
		task_notify(m, t, "agent unreachable");
	}
	for (pos = 0; (fw = map_next(m->frameworks, &pos, NULL)) != NULL;) {
		r = rec_new(R_AGENT_LOST);
		rec_set_str(r, "agent_id", a->id);
		to_framework(m, fw, r);
	}
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
		strlcpy(t->state, TASK_LOST, sizeof(t->state));
		task_notify(m, t, "agent removed");
		task_end(m, t);
	}
	state_mark(m, m->removed_agents, a->id);
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

void
master_tick(struct master *m)
{
	int64_t now = now_ms();
	struct agent *a;
	struct framework *fw;
	struct task *t;
	size_t pos = 0;

	/* one timeout for all: the oldest offers expire first */
	while (m->ohead != NULL && m->ohead->expires != 0 &&
	    now >= m->ohead->expires) {
		log_info("offer %s to %s not answered in time: rescinded",
		    m->ohead->id, m->ohead->framework_id);
		offer_remove(m, m->ohead, 1, 0);
	}
	for (pos = 0; (t = map_next(m->pending, &pos, NULL)) != NULL;)
		if (now >= t->next_send)
			task_send(m, t);
	/* ended tasks are listed for keep_done_ms, keep_done_max at most */
	while ((t = m->dhead) != NULL && (now - t->ended > m->keep_done_ms ||
	    m->ndone > m->keep_done_max)) {
		m->dhead = t->dnext;
		if (m->dhead == NULL)
			m->dtail = NULL;
		m->ndone--;
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
	state_tick(m);
	/* silence is measured in seconds: look for it a few times a second */
	if (now < m->next_scan)
		return;
	m->next_scan = now + SCAN_MS;
	for (pos = 0; (a = map_next(m->agents, &pos, NULL)) != NULL;) {
		if (a->active && now - a->last_seen > m->agent_timeout_ms)
			agent_unreachable(m, a);
		else if (!a->active && a->unreachable_since &&
		    now - a->unreachable_since > m->removal_ms)
			agent_remove(m, a);
	}
	for (pos = 0; (fw = map_next(m->frameworks, &pos, NULL)) != NULL;) {
		if (fw->active && now - fw->last_seen > m->framework_timeout_ms) {
			log_warnx("framework %s (%s) silent for %lld ms: "
			    "inactive", fw->id, fw->name,
			    (long long)(now - fw->last_seen));
			framework_deactivate(m, fw);
		}
		if (!fw->active && now - fw->inactive_since >= fw->failover_ms)
			framework_remove(m, fw);
	}
}

void
master_alloc_replay(struct master *m)
{
	char buf[1024];
	struct agent *a;
	struct framework *fw;
	struct offer *o;
	struct task *t;
	size_t pos = 0;
	json_t *r;

	while ((a = map_next(m->agents, &pos, NULL)) != NULL) {
		if (!a->active)
			continue;
		r = rec_new(A_AGENT_ADD);
		rec_set_str(r, "agent_id", a->id);
		rec_set_str(r, "resources", res_format(&a->total, buf, sizeof(buf)));
		rec_set_str(r, "attributes", a->attributes);
		master_alloc_send(m, r);
	}
	for (pos = 0; (fw = map_next(m->frameworks, &pos, NULL)) != NULL;) {
		r = rec_new(A_FRAMEWORK_ADD);
		rec_set_str(r, "framework_id", fw->id);
		rec_set_str(r, "role", fw->role);
		if (fw->filters != NULL)
			json_object_set(r, "filters", fw->filters);
		master_alloc_send(m, r);
	}
	for (pos = 0; (o = map_next(m->offers, &pos, NULL)) != NULL;) {
		r = json_pack("{s:s,s:s,s:s,s:s}", "type", A_CLAIM,
		    "framework_id", o->framework_id, "agent_id", o->agent_id,
		    "resources", res_format(&o->res, buf, sizeof(buf)));
		master_alloc_send(m, r);
	}
	for (pos = 0; (t = map_next(m->tasks, &pos, NULL)) != NULL;) {
		if (t->ended)
			continue;
		r = json_pack("{s:s,s:s,s:s,s:s}", "type", A_CLAIM,
		    "framework_id", t->framework_id, "agent_id", t->agent_id,
		    "resources", res_format(&t->res, buf, sizeof(buf)));
		master_alloc_send(m, r);
	}
}
