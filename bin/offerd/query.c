/*
 * QUERY: what the master knows, as STATE records: agents, frameworks
 * (with their dominant shares), tasks, offers and weights, each as the ACL
 * lets the asker query and see them, cut by the query's filters, and in
 * pages: the entries in key order after "after", at most "limit" of them
 * and at most STATE_BYTES of items, with "next" naming where the next
 * page starts.  Paging keeps every answer far below a record's size at
 * any scale; the history is history.c's.
 */
#include <stddef.h>
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

/*
 * The items of one STATE, in bytes (as compact JSON) at most: half a
 * record's room; a page holds one item whatever its size.
 */
#define STATE_BYTES	(REC_MAX_SIZE / 2)

/* Agent A as QUERY lists it, with what it has free. */
static json_t *
agent_json(struct master *m, const struct agent *a)
{
	const struct drain *d = map_get(m->drains, a->id);
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
	rec_set_str(j, "state", agent_state(m, a));
	if (d != NULL) {
		rec_set_str(j, "reason", d->reason);
		if (d->deadline != 0)
			rec_set_int(j, "deadline_ms", d->deadline);
	}
	res_free(&free_);
	return j;
}

void
cluster_total(struct master *m, struct res *total)
{
	struct agent *a;
	size_t pos = 0;

	res_init(total);
	while ((a = map_next(m->agents, &pos, NULL)) != NULL)
		if (a->active)
			res_add(total, &a->total);
}

/*
 * The dominant share of FW: its used (its tasks' and executors')
 * plus offered resources over TOTAL.
 */
static double
framework_share(struct master *m, const struct framework *fw,
    const struct res *total)
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
	executors_held(m, fw->id, &held);
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

int
master_sees(struct master *m, const struct net_route *from,
    const char *principal)
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


/* What a QUERY asks for beyond its "what": NULL and -1 match anything. */
struct query {
	const struct net_route *from;
	const char	*state, *framework_id, *agent_id, *role;
	const char	*attributes;
	int		 fits_given;
	struct res	 fits;
	struct res	 total;		/* frameworks: for their shares */
};

/*
 * One page of a listing: the LIMIT entries with the smallest keys after
 * AFTER among those that pass the filters.  A max-heap of the smallest
 * keys seen so far makes one pass over a map O(n log LIMIT), and no item
 * is built for an entry that is not on the page.
 */
struct page {
	const char	*after;		/* "": from the start */
	size_t		 limit, n;
	int		 more;		/* entries past the page pass too */
	const char	**key;
	void		**val;
};

/* Swap the heap's entries I and J. */
static void
page_swap(struct page *p, size_t i, size_t j)
{
	const char *k = p->key[i];
	void *v = p->val[i];

	p->key[i] = p->key[j];
	p->val[i] = p->val[j];
	p->key[j] = k;
	p->val[j] = v;
}

/* Restore the heap below I, among its first N entries. */
static void
page_down(struct page *p, size_t i, size_t n)
{
	size_t c;

	for (; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && strcmp(p->key[c + 1], p->key[c]) > 0)
			c++;
		if (strcmp(p->key[c], p->key[i]) <= 0)
			break;
		page_swap(p, i, c);
	}
}

/* Offer the entry VAL of key KEY (which outlives the page) to page P. */
static void
page_offer(struct page *p, const char *key, void *val)
{
	size_t i;

	if (strcmp(key, p->after) <= 0)
		return;
	if (p->n < p->limit) {
		p->key[p->n] = key;
		p->val[p->n] = val;
		for (i = p->n++; i > 0 && strcmp(p->key[(i - 1) / 2],
		    p->key[i]) < 0; i = (i - 1) / 2)
			page_swap(p, i, (i - 1) / 2);
		return;
	}
	p->more = 1;
	if (strcmp(key, p->key[0]) >= 0)
		return;
	p->key[0] = key;
	p->val[0] = val;
	page_down(p, 0, p->n);
}

/* Sort the page in key order (heap sort of what is there). */
static void
page_sort(struct page *p)
{
	size_t n;

	for (n = p->n; n > 1; n--) {
		page_swap(p, 0, n - 1);
		page_down(p, 0, n - 1);
	}
}

/* Whether agent A passes Q. */
static int
keep_agent(struct master *m, const struct query *q, void *v)
{
	const struct agent *a = v;

	(void)m;
	if (q->fits_given && (!a->active || !res_contains(&a->total,
	    &q->fits)))
		return 0;
	if (q->attributes != NULL && !attr_match(a->attributes ?
	    a->attributes : "", q->attributes))
		return 0;
	return q->agent_id == NULL || strcmp(q->agent_id, a->id) == 0;
}

static json_t *
item_agent(struct master *m, const struct query *q, void *v)
{
	(void)q;
	return agent_json(m, v);
}

/* Whether framework F passes Q and its asker sees it. */
static int
keep_framework(struct master *m, const struct query *q, void *v)
{
	const struct framework *f = v;

	return master_sees(m, q->from, f->route.principal) &&
	    (q->role == NULL || strcmp(q->role, f->role) == 0) &&
	    (q->framework_id == NULL || strcmp(q->framework_id, f->id) == 0);
}

static json_t *
item_framework(struct master *m, const struct query *q, void *v)
{
	const struct framework *f = v;

	return json_pack("{s:s,s:s,s:s,s:b,s:I,s:f}", "framework_id", f->id,
	    "name", f->name, "role", f->role, "active", f->active, "tasks",
	    (json_int_t)f->ntasks, "share", framework_share(m, f, &q->total));
}

/*
 * Whether task T passes Q and its asker sees it; one whose framework is
 * gone is its principal's at launch.
 */
static int
keep_task(struct master *m, const struct query *q, void *v)
{
	const struct task *t = v;
	const char *owner = owner_of(m, t->framework_id);

	if (q->state != NULL && strcmp(q->state, t->state) != 0)
		return 0;
	if (q->framework_id != NULL && strcmp(q->framework_id,
	    t->framework_id) != 0)
		return 0;
	if (q->agent_id != NULL && strcmp(q->agent_id, t->agent_id) != 0)
		return 0;
	return master_sees(m, q->from, *owner != '\0' ? owner : t->principal);
}

static json_t *
item_task(struct master *m, const struct query *q, void *v)
{
	(void)q;
	return task_json(m, v);
}

/* Whether offer O passes Q and its asker sees it. */
static int
keep_offer(struct master *m, const struct query *q, void *v)
{
	const struct offer *o = v;

	if (q->framework_id != NULL && strcmp(q->framework_id,
	    o->framework_id) != 0)
		return 0;
	if (q->agent_id != NULL && strcmp(q->agent_id, o->agent_id) != 0)
		return 0;
	return master_sees(m, q->from, owner_of(m, o->framework_id));
}

static json_t *
item_offer(struct master *m, const struct query *q, void *v)
{
	const struct offer *o = v;
	char r[RES_TEXT];

	(void)m;
	(void)q;
	return json_pack("{s:s,s:s,s:s,s:s,s:I}", "offer_id", o->id,
	    "framework_id", o->framework_id, "agent_id", o->agent_id,
	    "resources", res_format(&o->res, r, sizeof(r)), "age_ms",
	    (json_int_t)(now_ms() - o->created));
}

/* Whether executor E passes Q and its asker sees it. */
static int
keep_executor(struct master *m, const struct query *q, void *v)
{
	const struct mexec *e = v;

	if (q->framework_id != NULL && strcmp(q->framework_id,
	    e->framework_id) != 0)
		return 0;
	if (q->agent_id != NULL && strcmp(q->agent_id, e->agent_id) != 0)
		return 0;
	return master_sees(m, q->from, owner_of(m, e->framework_id));
}

/* Executor E as QUERY lists it, with its unfinished tasks. */
static json_t *
item_executor(struct master *m, const struct query *q, void *v)
{
	const struct mexec *e = v;
	struct agent *a = map_get(m->agents, e->agent_id);
	struct task *t;
	char r[RES_TEXT];
	size_t pos = 0;
	json_int_t n = 0;

	(void)q;
	while (a != NULL && (t = map_next(a->tasks, &pos, NULL)) != NULL)
		if (!t->ended && strcmp(t->framework_id, e->framework_id) == 0 &&
		    rec_str(json_object_get(t->info, "executor"),
		    "executor_id") != NULL &&
		    strcmp(rec_str(json_object_get(t->info, "executor"),
		    "executor_id"), e->id) == 0)
			n++;
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I}", "executor_id",
	    e->id, "framework_id", e->framework_id, "agent_id", e->agent_id,
	    "hostname", a != NULL ? a->hostname : "", "resources",
	    res_format(&e->res, r, sizeof(r)), "tasks", n, "state",
	    a != NULL && a->active ? "running" : "unreachable", "started",
	    (json_int_t)e->started);
}

/* The listings QUERY answers from a map. */
static const struct listing {
	const char	*what;
	size_t		 map;	/* offsetof the map in struct master */
	int		(*keep)(struct master *, const struct query *, void *);
	json_t		*(*item)(struct master *, const struct query *, void *);
} listings[] = {
	{ Q_AGENTS, offsetof(struct master, agents), keep_agent, item_agent },
	{ Q_FRAMEWORKS, offsetof(struct master, frameworks), keep_framework,
	    item_framework },
	{ Q_TASKS, offsetof(struct master, tasks), keep_task, item_task },
	{ Q_OFFERS, offsetof(struct master, offers), keep_offer, item_offer },
	{ Q_EXECUTORS, offsetof(struct master, executors), keep_executor,
	    item_executor },
};

/*
 * Read Q from QUERY REC; 0, or -1 with ERR (REC_ERRLEN bytes).  The
 * caller frees Q's resources (query_free) either way.
 */
static int
query_parse(json_t *rec, struct query *q, char *err)
{
	const char *fits = rec_str(rec, "fits");
	char e[RES_ERRLEN];

	if (rec_require(rec, "?fits:s ?attributes:s ?limit:i ?after:s "
	    "?state:s ?framework_id:s ?agent_id:s ?role:s", err) == -1)
		return -1;
	q->state = rec_str(rec, "state");
	q->framework_id = rec_str(rec, "framework_id");
	q->agent_id = rec_str(rec, "agent_id");
	q->role = rec_str(rec, "role");
	q->attributes = rec_str(rec, "attributes");
	if (rec_int_or(rec, "limit", 1) < 1)
		return snprintf(err, REC_ERRLEN, "limit: at least 1"), -1;
	if (q->attributes != NULL && attr_check(q->attributes, e) == -1)
		return snprintf(err, REC_ERRLEN, "attributes: %.200s", e), -1;
	if (fits != NULL && res_parse(fits, &q->fits, e) == -1)
		return snprintf(err, REC_ERRLEN, "fits: %.200s", e), -1;
	q->fits_given = fits != NULL;
	return 0;
}

static void
query_free(struct query *q)
{
	res_free(&q->fits);
	res_free(&q->total);
}

/*
 * Fill ITEMS with listing L's page of Q after AFTER, LIMIT entries at
 * most; returns the key the next page starts after, or NULL at the end.
 */
static const char *
query_page(struct master *m, const struct listing *l, const struct query *q,
    const char *after, size_t limit, json_t *items)
{
	struct map *map = *(struct map **)(void *)((char *)m + l->map);
	struct page p = { .after = after, .limit = limit };
	const char *key, *next = NULL;
	size_t pos = 0, i, bytes = 0;
	void *v;

	p.key = calloc(limit, sizeof(*p.key));
	p.val = calloc(limit, sizeof(*p.val));
	if (p.key == NULL || p.val == NULL) {
		free(p.key);
		free(p.val);
		return NULL;
	}
	while ((v = map_next(map, &pos, &key)) != NULL)
		if (l->keep(m, q, v))
			page_offer(&p, key, v);
	page_sort(&p);
	for (i = 0; i < p.n; i++) {
		json_t *it = l->item(m, q, p.val[i]);
		size_t size = json_dumpb(it, NULL, 0, JSON_COMPACT);

		if (i > 0 && bytes + size > STATE_BYTES) {
			/* a page of large items: this one and the rest next */
			json_decref(it);
			p.more = 1;
			p.n = i;
			break;
		}
		bytes += size;
		json_array_append_new(items, it);
	}
	if (p.more && p.n > 0)
		next = p.key[p.n - 1];
	free(p.key);
	free(p.val);
	return next;
}

/* Every role whose weight was set, with it: a short list, one page. */
static json_t *
weights_items(struct master *m)
{
	json_t *items = json_array(), *v;
	const char *role;

	json_object_foreach(m->weights, role, v)
		json_array_append_new(items, json_pack("{s:s,s:O}", "role",
		    role, "weight", v));
	return items;
}

/* QUERY "metrics": a STATE whose "text" is offerd(8)'s METRICS. */
static void
metrics_query(struct master *m, const struct net_route *from)
{
	json_t *st;
	size_t len;
	char *text;

	if ((text = stats_render(m, &len)) == NULL) {
		master_error(m, from, NULL, E_NO_MEMORY, "out of memory");
		return;
	}
	st = rec_new(R_STATE);
	rec_set_str(st, "what", Q_METRICS);
	rec_set_str(st, "text", text);
	free(text);
	master_reply(m, from, st);
}

/* Answer a QUERY with a STATE record: a page of what it asks for. */
void
control_query(struct master *m, json_t *rec, const struct net_route *from)
{
	const char *what = rec_str(rec, "what"), *next = NULL;
	const struct listing *l = NULL;
	struct query q;
	char err[REC_ERRLEN];
	json_t *items, *st;
	size_t i;

	if (what == NULL || (strcmp(what, "history") != 0 &&
	    strcmp(what, "weights") != 0 && strcmp(what, Q_METRICS) != 0 &&
	    strcmp(what, Q_QUOTA) != 0)) {
		for (i = 0; i < sizeof(listings) / sizeof(*listings); i++)
			if (what != NULL && strcmp(what, listings[i].what) == 0)
				l = &listings[i];
		if (l == NULL) {
			master_error(m, from, rec, E_INVALID, "QUERY: 'what' "
			    "must be agents, frameworks, tasks, offers, "
			    "executors, weights, quota, history or metrics");
			return;
		}
	}
	if (master_may(m, from, rec, ACL_QUERY, what) == -1)
		return;
	if (strcmp(what, "history") == 0) {
		history_query(m, rec, from);
		return;
	}
	if (strcmp(what, Q_METRICS) == 0) {
		metrics_query(m, from);
		return;
	}
	memset(&q, 0, sizeof(q));
	q.from = from;
	res_init(&q.fits);
	res_init(&q.total);
	if (query_parse(rec, &q, err) == -1) {
		query_free(&q);
		master_error(m, from, rec, E_INVALID, "QUERY: %s", err);
		return;
	}
	if (l == NULL && strcmp(what, Q_QUOTA) == 0)
		items = quota_items(m);
	else if (l == NULL)
		items = weights_items(m);
	else {
		if (strcmp(what, Q_FRAMEWORKS) == 0)
			cluster_total(m, &q.total);
		items = json_array();
		next = query_page(m, l, &q, rec_str(rec, "after") ?
		    rec_str(rec, "after") : "", (size_t)(rec_int_or(rec,
		    "limit", PROTO_QUERY_PAGE) < PROTO_QUERY_PAGE ?
		    rec_int_or(rec, "limit", PROTO_QUERY_PAGE) :
		    PROTO_QUERY_PAGE), items);
	}
	st = rec_new(R_STATE);
	rec_set_str(st, "what", what);
	json_object_set_new(st, "items", items);
	if (rec_str(rec, "after") != NULL)
		rec_set_str(st, "after", rec_str(rec, "after"));
	if (next != NULL)
		rec_set_str(st, "next", next);
	master_reply(m, from, st);
	query_free(&q);
}
