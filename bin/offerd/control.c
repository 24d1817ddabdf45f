/*
 * Control: what cluster-ctl asks and commands.  QUERY answers a STATE
 * listing agents, frameworks (with their dominant shares), tasks or
 * offers, each as the ACL lets the asker query and see them; SET_WEIGHT
 * changes a role's weight in the allocator.
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

/* Agent A as QUERY lists it, with what it has free. */
static json_t *
agent_json(const struct agent *a)
{
	char t[RES_TEXT], u[RES_TEXT], o[RES_TEXT], f[RES_TEXT];
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

/* Task T as QUERY lists it, with what its latest STATUS told of its end. */
static json_t *
task_json(struct master *m, const struct task *t)
{
	static const char *copy[] = { "exit_code", "signal", "reason",
	    "sandbox", "oom", "cpu_ms", "mem_peak_mb" };
	struct agent *a = map_get(m->agents, t->agent_id);
	char r[RES_TEXT];
	json_t *j;
	size_t i;

	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
	    "task_id", t->id, "framework_id", t->framework_id,
	    "name", rec_str(t->info, "name") ? rec_str(t->info, "name") : t->id,
	    "agent_id", t->agent_id, "hostname", a ? a->hostname : "",
	    "state", t->state, "resources", res_format(&t->res, r, sizeof(r)));
	for (i = 0; t->status != NULL && i < sizeof(copy) / sizeof(*copy); i++)
		if (json_object_get(t->status, copy[i]) != NULL)
			json_object_set(j, copy[i],
			    json_object_get(t->status, copy[i]));
	return j;
}

/*
 * Whether FROM may see the work of PRINCIPAL (a framework's owner, "" when
 * unknown) in a listing: its own always, another's as the ACL says.
 */
static int
sees(struct master *m, const struct net_route *from, const char *principal)
{
	return strcmp(principal, from->principal) == 0 ||
	    acl_permits(m->acl, from->principal, ACL_VIEW, principal);
}

/* The principal framework FID belongs to, "" when unknown. */
static const char *
owner_of(struct master *m, const char *fid)
{
	struct framework *fw = map_get(m->frameworks, fid);

	return fw != NULL ? fw->route.principal : "";
}

/*
 * Append every agent to ITEMS, or with QUERY REC's filters only those
 * whose whole resources hold "fits" and whose attributes match
 * "attributes", at most "limit" of them.
 */
static void
list_agents(struct master *m, const struct net_route *from, json_t *rec,
    json_t *items)
{
	const char *fits = rec_str(rec, "fits"), *want = rec_str(rec,
	    "attributes");
	int64_t limit = rec_int_or(rec, "limit", INT64_MAX);
	char err[RES_ERRLEN];
	struct res need;
	struct agent *a;
	size_t pos = 0;

	(void)from;
	res_init(&need);
	if (fits != NULL && res_parse(fits, &need, err) == -1)
		fits = NULL;	/* checked by control_query */
	while ((a = map_next(m->agents, &pos, NULL)) != NULL &&
	    (int64_t)json_array_size(items) < limit) {
		if (fits != NULL && (!a->active || !res_contains(&a->total,
		    &need)))
			continue;
		if (want != NULL && !attr_match(a->attributes ? a->attributes :
		    "", want))
			continue;
		json_array_append_new(items, agent_json(a));
	}
	res_free(&need);
}

/* Append every framework FROM sees, with its dominant share, to ITEMS. */
static void
list_frameworks(struct master *m, const struct net_route *from, json_t *rec,
    json_t *items)
{
	struct framework *f;
	struct res total;
	size_t pos = 0;

	(void)rec;
	cluster_total(m, &total);
	while ((f = map_next(m->frameworks, &pos, NULL)) != NULL)
		if (sees(m, from, f->route.principal))
			json_array_append_new(items, json_pack(
			    "{s:s,s:s,s:s,s:b,s:I,s:f}", "framework_id", f->id,
			    "name", f->name, "role", f->role, "active",
			    f->active, "tasks", (json_int_t)f->ntasks,
			    "share", framework_share(f, &total)));
	res_free(&total);
}

/*
 * Append every task FROM sees, ended ones too, to ITEMS; one whose
 * framework is gone is its principal's at launch.
 */
static void
list_tasks(struct master *m, const struct net_route *from, json_t *rec,
    json_t *items)
{
	struct task *t;
	const char *owner;
	size_t pos = 0;

	(void)rec;
	while ((t = map_next(m->tasks, &pos, NULL)) != NULL) {
		owner = owner_of(m, t->framework_id);
		if (sees(m, from, *owner != '\0' ? owner : t->principal))
			json_array_append_new(items, task_json(m, t));
	}
}

/* Append every outstanding offer FROM sees, with its age, to ITEMS. */
static void
list_offers(struct master *m, const struct net_route *from, json_t *rec,
    json_t *items)
{
	char r[RES_TEXT];
	struct offer *o;
	size_t pos = 0;

	(void)rec;
	while ((o = map_next(m->offers, &pos, NULL)) != NULL)
		if (sees(m, from, owner_of(m, o->framework_id)))
			json_array_append_new(items, json_pack(
			    "{s:s,s:s,s:s,s:s,s:I}", "offer_id", o->id,
			    "framework_id", o->framework_id, "agent_id",
			    o->agent_id, "resources", res_format(&o->res, r,
			    sizeof(r)), "age_ms",
			    (json_int_t)(now_ms() - o->created)));
}

/* Append every role whose weight was set, with it, to ITEMS. */
static void
list_weights(struct master *m, const struct net_route *from, json_t *rec,
    json_t *items)
{
	const char *role;
	json_t *v;

	(void)from;
	(void)rec;
	json_object_foreach(m->weights, role, v)
		json_array_append_new(items, json_pack("{s:s,s:O}", "role",
		    role, "weight", v));
}

/* Check the filters of QUERY REC; 0, or -1 with ERR (REC_ERRLEN bytes). */
static int
query_check(json_t *rec, char *err)
{
	char e[RES_ERRLEN];
	struct res r;

	if (rec_require(rec, "?fits:s ?attributes:s ?limit:i", err) == -1)
		return -1;
	if (rec_int_or(rec, "limit", 1) < 1) {
		snprintf(err, REC_ERRLEN, "limit: at least 1");
		return -1;
	}
	if (rec_str(rec, "attributes") != NULL &&
	    attr_check(rec_str(rec, "attributes"), e) == -1) {
		snprintf(err, REC_ERRLEN, "attributes: %.200s", e);
		return -1;
	}
	if (rec_str(rec, "fits") == NULL)
		return 0;
	res_init(&r);
	if (res_parse(rec_str(rec, "fits"), &r, e) == -1) {
		snprintf(err, REC_ERRLEN, "fits: %.200s", e);
		return -1;
	}
	res_free(&r);
	return 0;
}

/* Answer a QUERY with a STATE record listing the things asked for. */
void
control_query(struct master *m, json_t *rec, const struct net_route *from)
{
	static const struct {
		const char *what;
		void (*list)(struct master *, const struct net_route *,
		    json_t *, json_t *);
	} lists[] = {
		{ Q_AGENTS, list_agents },
		{ Q_FRAMEWORKS, list_frameworks },
		{ Q_TASKS, list_tasks },
		{ Q_OFFERS, list_offers },
		{ "weights", list_weights },
	};
	const char *what = rec_str(rec, "what");
	char err[REC_ERRLEN];
	json_t *items, *st;
	size_t i;

	if (what != NULL && strcmp(what, "history") == 0) {
		history_query(m, rec, from);
		return;
	}
	for (i = 0; i < sizeof(lists) / sizeof(*lists); i++)
		if (what != NULL && strcmp(what, lists[i].what) == 0)
			break;
	if (i == sizeof(lists) / sizeof(*lists)) {
		master_error(m, from, rec, E_INVALID, "QUERY: 'what' must be "
		    "agents, frameworks, tasks, offers, weights or history");
		return;
	}
	if (query_check(rec, err) == -1) {
		master_error(m, from, rec, E_INVALID, "QUERY: %s", err);
		return;
	}
	if (master_may(m, from, rec, ACL_QUERY, what) == -1)
		return;
	items = json_array();
	lists[i].list(m, from, rec, items);
	st = rec_new(R_STATE);
	rec_set_str(st, "what", what);
	json_object_set_new(st, "items", items);
	master_reply(m, from, st);
}

void
control_weights_init(struct master *m)
{
	const struct config *c = m->conf;
	const char *eq;
	char role[ROLE_LEN_MAX + 1];
	int i;

	if (m->weights == NULL)
		m->weights = json_object();
	for (i = 0; i < c->nweights; i++) {
		eq = strchr(c->weights[i], '=');
		snprintf(role, sizeof(role), "%.*s", (int)(eq - c->weights[i]),
		    c->weights[i]);
		json_object_set_new(m->weights, role,
		    json_real(strtod(eq + 1, NULL)));
	}
}

/* SET_WEIGHT: the allocator is told the role's new weight. */
void
control_set_weight(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN];
	double w;
	json_t *r;

	if (rec_require(rec, "role:s weight:n", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return;
	}
	if (!id_valid(rec_str(rec, "role")) &&
	    strcmp(rec_str(rec, "role"), "*") != 0) {
		master_error(m, from, rec, E_INVALID,
		    "role: not a valid role name");
		return;
	}
	w = rec_num_or(rec, "weight", 0);
	if (!(w > 0) || w > PROTO_WEIGHT_MAX) {
		master_error(m, from, rec, E_INVALID,
		    "weight must be > 0 and <= 1e6");
		return;
	}
	if (master_may(m, from, rec, ACL_WEIGHT, rec_str(rec, "role")) == -1)
		return;
	log_info("role %s: weight %g, set by %s", rec_str(rec, "role"), w,
	    from->principal[0] != '\0' ? from->principal : "an operator");
	json_object_set_new(m->weights, rec_str(rec, "role"), json_real(w));
	m->state_dirty = 2;	/* it survives a restart */
	r = rec_new(A_WEIGHT);
	rec_set_str(r, "role", rec_str(rec, "role"));
	rec_set_num(r, "weight", w);
	alloc_send(m, r);
	master_reply(m, from, json_pack("{s:s,s:s,s:f}", "type", R_WEIGHT_SET,
	    "role", rec_str(rec, "role"), "weight", w));
}
