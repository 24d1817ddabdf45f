#include <sys/queue.h>

#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drf.h"
#include "log.h"
#include "map.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define IDLEN		64
#define NOPOS		SIZE_MAX
#define SWEEP_MS	60000	/* how often expired decline filters are dropped */

/* ---- an indexed binary min-heap: O(log n) push, remove and re-key ---- */

struct hnode {
	size_t	pos;		/* index in the heap, NOPOS when outside */
};

/*
 * A slot holds its node's sort key, so that sifting compares within the
 * heap's own array: reaching into 1,000 framework structs for their
 * shares at every step was a third of a cycle's cache misses.  Keys
 * compare word by word; nodes with equal keys go to TIE.
 */
#define HKEYS	3

/*
 * Four children a node: a framework given an agent sinks through half as
 * many levels as in a binary heap, for about as many comparisons, and a
 * node's children share two cache lines.
 */
#define HARITY		4
#define HPARENT(i)	(((i) - 1) / HARITY)
#define HCHILD(i)	((i) * HARITY + 1)

struct hent {
	uint64_t	 k[HKEYS];
	struct hnode	*n;
};

struct heap {
	struct hent	 *a;
	size_t		  n, cap;
	/* K = the key of node N, read again whenever N is re-keyed */
	void		(*key)(const struct hnode *n, uint64_t *k);
	int		(*tie)(const struct hnode *, const struct hnode *);
};

static int
hent_less(const struct heap *h, const struct hent *x, const struct hent *y)
{
	if (x->k[0] != y->k[0])
		return x->k[0] < y->k[0];
	if (x->k[1] != y->k[1])
		return x->k[1] < y->k[1];
	if (x->k[2] != y->k[2])
		return x->k[2] < y->k[2];
	return h->tie(x->n, y->n) < 0;
}

/* The bits of a double that is >= 0, which order as it does. */
static uint64_t
key_of_double(double x)
{
	uint64_t k;

	memcpy(&k, &x, sizeof(k));
	return k;
}

/* Put E in slot I of H, keeping its node's position up to date. */
static void
heap_set(struct heap *h, size_t i, const struct hent *e)
{
	h->a[i] = *e;
	e->n->pos = i;
}

/*
 * Place X, whose slot is the hole at I, moving it up while its parent is
 * greater: each parent passed moves down into the hole.  Returns where X
 * now is.
 */
static size_t
heap_up(struct heap *h, size_t i, const struct hent *x)
{
	while (i > 0 && hent_less(h, x, &h->a[HPARENT(i)])) {
		heap_set(h, i, &h->a[HPARENT(i)]);
		i = HPARENT(i);
	}
	heap_set(h, i, x);
	return i;
}

/*
 * Place X, whose slot is the hole at I, moving it down while a child is
 * smaller: the smaller child moves up into the hole and X is written
 * once, where it stops.  After each allocation the framework sinks
 * through the whole heap.
 */
static void
heap_down(struct heap *h, size_t i, const struct hent *x)
{
	for (;;) {
		size_t c = HCHILD(i), end = c + HARITY, m = c;

		if (c >= h->n)
			break;
		if (end > h->n)
			end = h->n;
		while (++c < end)
			if (hent_less(h, &h->a[c], &h->a[m]))
				m = c;
		if (!hent_less(h, &h->a[m], x))
			break;
		heap_set(h, i, &h->a[m]);
		i = m;
	}
	heap_set(h, i, x);
}

/* Place X, whose slot is the hole at I, where the order wants it. */
static void
heap_place(struct heap *h, size_t i, const struct hent *x)
{
	if (i > 0 && hent_less(h, x, &h->a[HPARENT(i)]))
		heap_up(h, i, x);
	else
		heap_down(h, i, x);
}

/* Add X to H.  Returns 0 or -1 (out of memory). */
static int
heap_push(struct heap *h, struct hnode *x)
{
	struct hent e = { .n = x };

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 8;
		struct hent *a = reallocarray(h->a, cap, sizeof(*a));

		if (a == NULL)
			return -1;
		h->a = a;
		h->cap = cap;
	}
	h->key(x, e.k);
	heap_up(h, h->n++, &e);
	return 0;
}

/* Take X out of H (no-op when it is not in). */
static void
heap_remove(struct heap *h, struct hnode *x)
{
	size_t i = x->pos;
	struct hent last;

	if (i == NOPOS)
		return;
	x->pos = NOPOS;
	if (i == --h->n)
		return;
	last = h->a[h->n];
	heap_place(h, i, &last);
}

/*
 * Restore the order after X's key changed (no-op when X is outside H).
 * The new key is made in a local and written once, where X lands.
 */
static void
heap_fix(struct heap *h, struct hnode *x)
{
	struct hent e = { .n = x };

	if (x->pos == NOPOS)
		return;
	h->key(x, e.k);
	heap_place(h, x->pos, &e);
}

/* Re-key every node and re-establish the order in O(n) after all keys moved. */
static void
heap_build(struct heap *h)
{
	struct hent e;
	size_t i;

	for (i = 0; i < h->n; i++)
		h->key(h->a[i].n, h->a[i].k);
	for (i = h->n / 2; i-- > 0;) {
		e = h->a[i];
		heap_down(h, i, &e);
	}
}

/*
 * Scratch space for visiting a heap's nodes in ascending order without
 * changing the heap: a second heap of indices, seeded with the root; each
 * visited node's children join it.  Visiting k nodes costs O(k log k).
 */
struct visit {
	size_t	*a;
	size_t	 n, cap;
};

/* Is index I of heap H smaller than index J? */
static int
visit_less(const struct heap *h, size_t i, size_t j)
{
	return hent_less(h, &h->a[i], &h->a[j]);
}

/* Add index I to the visit queue V of heap H.  Returns 0 or -1. */
static int
visit_push(struct visit *v, const struct heap *h, size_t i)
{
	size_t k;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		size_t *a = reallocarray(v->a, cap, sizeof(*a));

		if (a == NULL)
			return -1;
		v->a = a;
		v->cap = cap;
	}
	k = v->n++;
	v->a[k] = i;
	while (k > 0 && visit_less(h, v->a[k], v->a[(k - 1) / 2])) {
		size_t t = v->a[k];

		v->a[k] = v->a[(k - 1) / 2];
		v->a[(k - 1) / 2] = t;
		k = (k - 1) / 2;
	}
	return 0;
}

/* Remove and return the smallest index of the visit queue V of heap H. */
static size_t
visit_pop(struct visit *v, const struct heap *h)
{
	size_t top = v->a[0], k = 0;

	v->a[0] = v->a[--v->n];
	for (;;) {
		size_t l = 2 * k + 1, r = l + 1, m = k, t;

		if (l < v->n && visit_less(h, v->a[l], v->a[m]))
			m = l;
		if (r < v->n && visit_less(h, v->a[r], v->a[m]))
			m = r;
		if (m == k)
			break;
		t = v->a[k];
		v->a[k] = v->a[m];
		v->a[m] = t;
		k = m;
	}
	return top;
}

/*
 * The smallest node of H for which OK(node, ARG) holds, visiting nodes in
 * ascending order and stopping at the first hit; NULL when none does.
 * The root is tried before any scratch space is touched: the common case.
 */
static struct hnode *
heap_first(const struct heap *h, struct visit *v,
    int (*ok)(struct hnode *, void *), void *arg)
{
	size_t c;

	if (h->n == 0)
		return NULL;
	if (ok(h->a[0].n, arg))
		return h->a[0].n;
	v->n = 0;
	for (c = HCHILD(0); c < HCHILD(0) + HARITY && c < h->n; c++)
		if (visit_push(v, h, c) == -1)
			return NULL;
	while (v->n > 0) {
		size_t i = visit_pop(v, h);

		if (ok(h->a[i].n, arg))
			return h->a[i].n;
		for (c = HCHILD(i); c < HCHILD(i) + HARITY && c < h->n; c++)
			if (visit_push(v, h, c) == -1)
				return NULL;
	}
	return NULL;
}

/* ---- state ---- */

struct hold;

struct role {
	struct hnode	 hn;		/* in drf.roles while it has active fws */
	char		 name[IDLEN];
	uint64_t	 namekey;	/* NAME's first 8 bytes, big-endian */
	double		 weight;
	int64_t		 alloc[DRF_MAX_NAMES];
	double		 dominant;	/* max over names of alloc / total */
	double		 share;		/* dominant / weight: the role order */
	uint64_t	 nalloc;	/* allocations made to its frameworks */
	struct heap	 fws;		/* its frameworks that are not suppressed */
	size_t		 nfw;		/* all its frameworks */
	struct res	*guarantee;	/* QUOTA: NULL when it has none */
	struct res	*limit;		/* QUOTA: NULL when it has none */
	int		 below;		/* holds less than its guarantee */
};

struct fw {
	struct hnode	 hn;		/* in role->fws unless suppressed */
	uint64_t	 idkey;		/* ID's first 8 bytes, big-endian */
	char		 id[IDLEN];
	struct role	*role;
	char		*attr_filter;	/* NULL: any agent */
	struct res	 min;		/* free resources an agent must have */
	int		 suppressed;
	struct map	*refuse;	/* agent id -> struct refusal * */
	int64_t		 alloc[DRF_MAX_NAMES];
	double		 dominant;
	uint64_t	 nalloc;	/* allocations made to it: a tie-break */
	struct hold	*holds;
	size_t		 nholds;
};

/* What one framework holds on one agent: on two lists, the fw's and the agent's. */
struct hold {
	struct fw	*fw;
	struct agent	*ag;
	struct hold	*fprev, *fnext, *aprev, *anext;
	struct res	 res;
};

/*
 * What a cycle reads and writes of an agent comes first, in the order it
 * does (the list links, FREE, the first hold), and agent_prefetch() asks
 * for it ahead: at 50,000 agents a cycle is mostly waiting on memory.
 */
struct agent {
	int		 listed;	/* on the candidates list */
	int		 reserved;	/* some of its total is reserved to roles */
	TAILQ_ENTRY(agent) cand;
	struct hold	*holds;
	struct res	*over;		/* held beyond total, paid back first;
					   NULL when nothing is (most agents) */
	char		*attrs;
	char		 id[IDLEN];
	struct res	 free;
	/*
	 * Its first hold, in place (in use when slot.ag is set): most agents
	 * are held whole by one framework, and a cycle that gave each a
	 * malloc'd hold spent most of its time faulting those pages in.
	 */
	struct hold	 slot;
	struct res	 total;
};

struct drf {
	struct drf_ops	 ops;
	int		 manual;
	int		 report_cycles;
	int64_t		 interval;
	int64_t		 vnow;		/* the manual clock */
	int64_t		 next_timed;	/* when the next timed cycle is due */
	int64_t		 next_sweep;
	int		 pending;	/* an event asked for a cycle */
	int		 dirty;		/* totals moved: shares need a rebuild */

	struct res	 minoffer[DRF_MAX_MIN_OFFER];
	int		 nminoffer;

	char		 names[DRF_MAX_NAMES][RES_NAMELEN];
	int		 nnames;
	int64_t		 total[DRF_MAX_NAMES];

	struct map	*agents, *fws, *roles_by_name;
	/*
	 * The agents a cycle looks at: those whose free resources changed
	 * since, or were allocatable at, the last cycle.  An agent whose
	 * resources are all held leaves the list, so a cycle costs what
	 * changed, not the size of the cluster.
	 */
	TAILQ_HEAD(, agent) cands;
	struct heap	 roles;		/* roles with active frameworks */
	struct visit	 vroles, vfws;	/* scratch for heap_first */
};

static int64_t
drf_now(const struct drf *d)
{
	return d->manual ? d->vnow : now_ms();
}

/* A's free resources changed: the next cycle looks at it again. */
static void
agent_touch(struct drf *d, struct agent *a)
{
	if (a->listed)
		return;
	a->listed = 1;
	TAILQ_INSERT_TAIL(&d->cands, a, cand);
}

/* Take A off the candidates list. */
static void
agent_unlist(struct drf *d, struct agent *a)
{
	if (!a->listed)
		return;
	a->listed = 0;
	TAILQ_REMOVE(&d->cands, a, cand);
}

/* ---- scalar vectors indexed by interned resource name ---- */

/*
 * The index of scalar NAME (a resource item's RES_NAMELEN array), or -1
 * when the cluster has never seen it.  A reserved resource counts as its
 * unreserved name: "cpus(a)" is "cpus".
 */
static int
name_index(const struct drf *d, const char name[RES_NAMELEN])
{
	const char *a, *b;
	int i;

	/*
	 * An item's name is zero after its end, as interned names are, so
	 * the common case is the same RES_NAMELEN bytes: three words.
	 */
	for (i = 0; i < d->nnames; i++)
		if (memcmp(d->names[i], name, RES_NAMELEN) == 0)
			return i;
	/*
	 * Otherwise byte by byte up to NAME's end or its "(": a cycle looks
	 * up every scalar of every offer twice, and calls to strcspn and
	 * strncmp were a tenth of its instructions.
	 */
	for (i = 0; i < d->nnames; i++) {
		for (a = d->names[i], b = name; *a != '\0' && *a == *b; a++, b++)
			;
		if (*a == '\0' && (*b == '\0' || *b == '('))
			return i;
	}
	return -1;
}

/* How many scalar names of R the cluster has not seen yet. */
static int
names_new(const struct drf *d, const struct res *r)
{
	int i, k = 0;

	for (i = 0; i < r->n; i++)
		if (r->it[i].kind == RES_SCALAR && name_index(d, r->it[i].name) < 0)
			k++;
	return k;
}

/* Intern every scalar name of R (room was checked with names_new). */
static void
names_add(struct drf *d, const struct res *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (r->it[i].kind == RES_SCALAR &&
		    name_index(d, r->it[i].name) < 0 && d->nnames < DRF_MAX_NAMES)
			snprintf(d->names[d->nnames++], RES_NAMELEN, "%.*s",
			    (int)res_base_len(r->it[i].name), r->it[i].name);
}

/* V += SIGN x the scalars of R (names not interned are zero and skipped). */
static void
vec_add(const struct drf *d, int64_t *v, const struct res *r, int sign)
{
	int i, k;

	for (i = 0; i < r->n; i++) {
		if (r->it[i].kind != RES_SCALAR || r->it[i].milli == 0)
			continue;
		if ((k = name_index(d, r->it[i].name)) >= 0)
			v[k] += sign * r->it[i].milli;
	}
}

/* The dominant share of V: the largest fraction of any cluster total. */
static double
dominant(const struct drf *d, const int64_t *v)
{
	double m = 0;
	int i;

	for (i = 0; i < d->nnames; i++)
		if (v[i] > 0 && d->total[i] > 0) {
			double s = (double)v[i] / (double)d->total[i];

			if (s > m)
				m = s;
		}
	return m;
}

/* Format the non-zero scalars of V in resource syntax into BUF. */
static char *
vec_format(const struct drf *d, const int64_t *v, char *buf, size_t len)
{
	struct res r;
	int i;

	res_init(&r);
	for (i = 0; i < d->nnames; i++)
		if (v[i] != 0)
			res_set(&r, d->names[i], v[i]);
	res_format(&r, buf, len);
	return buf;
}

/* ---- ordering ---- */

/*
 * A framework's place among its role's: the smaller dominant share first,
 * then the fewer allocations, then the id (its first 8 bytes in the key:
 * equal shares are common, every framework at one allocation, and the key
 * spares most of them a strcmp).
 */
static void
fw_key(const struct hnode *n, uint64_t *k)
{
	const struct fw *f = (const struct fw *)n;

	k[0] = key_of_double(f->dominant);
	k[1] = f->nalloc;
	k[2] = f->idkey;
}

static int
fw_tie(const struct hnode *a, const struct hnode *b)
{
	return strcmp(((const struct fw *)a)->id, ((const struct fw *)b)->id);
}

/*
 * The first 8 bytes of ID as a big-endian number, zero after its end:
 * two keys compare as strcmp compares those bytes, and equal keys leave
 * strcmp the rest to settle.
 */
static uint64_t
id_key(const char *id)
{
	uint64_t k = 0;
	int i, end = 0;

	for (i = 0; i < 8; i++) {
		if (id[i] == '\0')
			end = 1;
		k = k << 8 | (end ? 0 : (unsigned char)id[i]);
	}
	return k;
}

/*
 * A role's place: one below its guarantee before every other (the top
 * bit, which a share >= 0 leaves clear), then the smaller weighted share,
 * the fewer allocations, the name.
 */
static void
role_key(const struct hnode *n, uint64_t *k)
{
	const struct role *r = (const struct role *)n;

	k[0] = (r->below ? 0 : UINT64_C(1) << 63) | key_of_double(r->share);
	k[1] = r->nalloc;
	k[2] = r->namekey;
}

static int
role_tie(const struct hnode *a, const struct hnode *b)
{
	return strcmp(((const struct role *)a)->name,
	    ((const struct role *)b)->name);
}

/*
 * Is ROLE below its guarantee: does it hold less of some scalar than its
 * guarantee names?  A role without a guarantee never is.
 */
static int
role_below(const struct drf *d, const struct role *r)
{
	const struct res *g = r->guarantee;
	int i, k;

	if (g == NULL)
		return 0;
	for (i = 0; i < g->n; i++) {
		k = name_index(d, g->it[i].name);
		if (g->it[i].milli > (k >= 0 ? r->alloc[k] : 0))
			return 1;
	}
	return 0;
}

/* Recompute ROLE's shares and its place among the roles. */
static void
role_reshare(struct drf *d, struct role *r)
{
	r->dominant = dominant(d, r->alloc);
	r->share = r->dominant / r->weight;
	r->below = role_below(d, r);
	if (!d->dirty)
		heap_fix(&d->roles, &r->hn);
}

/* Recompute F's share and its place, then its role's. */
static void
fw_reshare(struct drf *d, struct fw *f)
{
	f->dominant = dominant(d, f->alloc);
	if (!d->dirty)
		heap_fix(&f->role->fws, &f->hn);
	role_reshare(d, f->role);
}

/* Put F into the order (when not suppressed); 0 or -1 (out of memory). */
static int
fw_activate(struct drf *d, struct fw *f)
{
	struct role *r = f->role;

	if (f->suppressed || f->hn.pos != NOPOS)
		return 0;
	if (heap_push(&r->fws, &f->hn) == -1)
		return -1;
	if (r->fws.n == 1 && heap_push(&d->roles, &r->hn) == -1) {
		heap_remove(&r->fws, &f->hn);
		return -1;
	}
	return 0;
}

/* Take F out of the order. */
static void
fw_deactivate(struct drf *d, struct fw *f)
{
	struct role *r = f->role;

	heap_remove(&r->fws, &f->hn);
	if (r->fws.n == 0)
		heap_remove(&d->roles, &r->hn);
}

/* After cluster totals changed: recompute every share and rebuild the heaps. */
static void
refresh(struct drf *d)
{
	struct role *r;
	struct fw *f;
	size_t pos = 0;

	if (!d->dirty)
		return;
	while ((f = map_next(d->fws, &pos, NULL)) != NULL)
		f->dominant = dominant(d, f->alloc);
	pos = 0;
	while ((r = map_next(d->roles_by_name, &pos, NULL)) != NULL) {
		r->dominant = dominant(d, r->alloc);
		r->share = r->dominant / r->weight;
		r->below = role_below(d, r);
		heap_build(&r->fws);
	}
	heap_build(&d->roles);
	d->dirty = 0;
}

/* The role NAME, created with weight 1 when new; NULL when out of memory. */
static struct role *
role_get(struct drf *d, const char *name)
{
	struct role *r = map_get(d->roles_by_name, name);

	if (r != NULL)
		return r;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	strlcpy(r->name, name, sizeof(r->name));
	r->namekey = id_key(r->name);
	r->weight = 1;
	r->hn.pos = NOPOS;
	r->fws.key = fw_key;
	r->fws.tie = fw_tie;
	if (map_put(d->roles_by_name, name, r) == -1) {
		free(r);
		return NULL;
	}
	return r;
}

/* ---- holds ---- */

/* F's hold on agent A, or NULL. */
static struct hold *
hold_find(const struct fw *f, const struct agent *a)
{
	struct hold *h;

	for (h = a->holds; h != NULL; h = h->anext)
		if (h->fw == f)
			return h;
	return NULL;
}

/* A new empty hold of F on A, linked on both lists; NULL when out of memory. */
static struct hold *
hold_new(struct fw *f, struct agent *a)
{
	struct hold *h;

	if (a->slot.ag == NULL) {
		h = &a->slot;	/* its res is empty: hold_free left it so */
		h->fprev = h->aprev = NULL;
	} else if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->fw = f;
	h->ag = a;
	if ((h->fnext = f->holds) != NULL)
		h->fnext->fprev = h;
	f->holds = h;
	if ((h->anext = a->holds) != NULL)
		h->anext->aprev = h;
	a->holds = h;
	f->nholds++;
	return h;
}

/* Unlink H from both lists and free it (its resources are accounted elsewhere). */
static void
hold_free(struct hold *h)
{
	if (h->fprev)
		h->fprev->fnext = h->fnext;
	else
		h->fw->holds = h->fnext;
	if (h->fnext)
		h->fnext->fprev = h->fprev;
	if (h->aprev)
		h->aprev->anext = h->anext;
	else
		h->ag->holds = h->anext;
	if (h->anext)
		h->anext->aprev = h->aprev;
	h->fw->nholds--;
	res_free(&h->res);
	if (h == &h->ag->slot)
		h->ag = NULL;
	else
		free(h);
}

/* ---- replies ---- */

/* Reply with an ERROR about REC, naming its framework and agent if any. */
static int
fail(struct drf *d, const json_t *rec, const char *code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static int
fail(struct drf *d, const json_t *rec, const char *code, const char *fmt,
    ...)
{
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	e = rec_verror(rec, code, fmt, ap);
	va_end(ap);
	d->ops.reply(d->ops.arg, e);
	return -1;
}

/* ---- lifecycle ---- */

struct drf *
drf_create(const struct drf_opts *opts, const struct drf_ops *ops, char *err)
{
	const char *mo = opts->min_offer ? opts->min_offer : DRF_MIN_OFFER_DEFAULT;
	char *copy, *p, *w, rerr[RES_ERRLEN];
	struct drf *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, DRF_ERRLEN, "out of memory");
		return NULL;
	}
	d->ops = *ops;
	TAILQ_INIT(&d->cands);
	d->manual = opts->manual_clock;
	d->report_cycles = opts->report_cycles;
	d->interval = opts->interval_ms > 0 ? opts->interval_ms : 1000;
	d->roles.key = role_key;
	d->roles.tie = role_tie;
	d->agents = map_create();
	d->fws = map_create();
	d->roles_by_name = map_create();
	if ((copy = strdup(mo)) == NULL || d->agents == NULL || d->fws == NULL ||
	    d->roles_by_name == NULL) {
		free(copy);
		snprintf(err, DRF_ERRLEN, "out of memory");
		drf_destroy(d);
		return NULL;
	}
	for (p = copy; (w = strsep(&p, "|")) != NULL;) {
		if (d->nminoffer == DRF_MAX_MIN_OFFER) {
			snprintf(err, DRF_ERRLEN, "min-offer: more than %d "
			    "alternatives", DRF_MAX_MIN_OFFER);
			goto bad;
		}
		if (res_parse(w, &d->minoffer[d->nminoffer], rerr) == -1) {
			snprintf(err, DRF_ERRLEN, "min-offer: %.240s", rerr);
			goto bad;
		}
		d->nminoffer++;
	}
	free(copy);
	d->next_timed = drf_now(d) + d->interval;
	d->next_sweep = drf_now(d) + SWEEP_MS;
	return d;
bad:
	free(copy);
	drf_destroy(d);
	return NULL;
}

/*
 * A decline filter, as Mesos has them: until UNTIL the agent is not offered
 * to the framework while all it has free is within RES, what was declined
 * (ALL: whatever it has).  When more is freed there, the offer comes.
 */
struct refusal {
	int64_t		 until;		/* ms on the allocator clock */
	int		 all;
	struct res	 res;
};

static void
refusal_free(struct refusal *r)
{
	if (r == NULL)
		return;
	res_free(&r->res);
	free(r);
}

/* Free F's decline filters. */
static void
refuse_clear(struct fw *f)
{
	size_t pos = 0;
	void *v;

	if (f->refuse == NULL)
		return;
	while ((v = map_next(f->refuse, &pos, NULL)) != NULL)
		refusal_free(v);
	map_destroy(f->refuse);
	f->refuse = NULL;
}

/* Free framework F (its holds must be gone). */
static void
fw_free(struct fw *f)
{
	refuse_clear(f);
	free(f->attr_filter);
	res_free(&f->min);
	free(f);
}

static int	over_set(struct agent *, struct res *);

/* Free one quota vector (NULL is allowed). */
static void
quota_res_free(struct res *q)
{
	if (q == NULL)
		return;
	res_free(q);
	free(q);
}

/* Take ROLE's guarantee and limit away. */
static void
quota_clear(struct role *r)
{
	quota_res_free(r->guarantee);
	quota_res_free(r->limit);
	r->guarantee = r->limit = NULL;
}

void
drf_destroy(struct drf *d)
{
	struct agent *a;
	struct role *r;
	struct fw *f;
	size_t pos = 0;
	int i;

	if (d == NULL)
		return;
	while (d->agents != NULL && (a = map_next(d->agents, &pos, NULL)) != NULL) {
		while (a->holds != NULL)
			hold_free(a->holds);
		res_free(&a->total);
		res_free(&a->free);
		over_set(a, NULL);
		free(a->attrs);
		free(a);
	}
	pos = 0;
	if (d->fws != NULL)
		while ((f = map_next(d->fws, &pos, NULL)) != NULL)
			fw_free(f);
	pos = 0;
	if (d->roles_by_name != NULL)
		while ((r = map_next(d->roles_by_name, &pos, NULL)) != NULL) {
			quota_clear(r);
			free(r->fws.a);
			free(r);
		}
	map_destroy(d->agents);
	map_destroy(d->fws);
	map_destroy(d->roles_by_name);
	for (i = 0; i < d->nminoffer; i++)
		res_free(&d->minoffer[i]);
	free(d->roles.a);
	free(d->vroles.a);
	free(d->vfws.a);
	free(d);
}

/* Is NAME a valid role: "*" or an identifier? */
static int
role_valid(const char *name)
{
	return strcmp(name, "*") == 0 || id_valid(name);
}

int
drf_set_weight(struct drf *d, const char *role, double weight, char *err)
{
	struct role *r;

	if (!role_valid(role)) {
		snprintf(err, DRF_ERRLEN, "'%s' is not a role name (\"*\" or "
		    "1..63 of A-Z a-z 0-9 . _ -)", role);
		return -1;
	}
	if (!isfinite(weight) || weight <= 0 || weight > PROTO_WEIGHT_MAX) {
		snprintf(err, DRF_ERRLEN, "weight %g of role %s is not in "
		    "(0, %g]", weight, role, PROTO_WEIGHT_MAX);
		return -1;
	}
	if ((r = role_get(d, role)) == NULL) {
		snprintf(err, DRF_ERRLEN, "out of memory");
		return -1;
	}
	r->weight = weight;
	role_reshare(d, r);
	return 0;
}

/* ---- events ---- */

/* Parse field KEY of REC as resources into OUT; ERROR reply on failure. */
static int
parse_res(struct drf *d, const json_t *rec, const char *key, struct res *out)
{
	char err[RES_ERRLEN];

	if (res_parse(rec_str(rec, key), out, err) == -1)
		return fail(d, rec, E_INVALID, "%s: %s: %s", rec_type(rec), key, err);
	return 0;
}

/* Check REC against SPEC (see rec_require); ERROR reply on failure. */
static int
require(struct drf *d, const json_t *rec, const char *spec)
{
	char err[REC_ERRLEN];

	if (rec_require(rec, spec, err) == -1)
		return fail(d, rec, E_MALFORMED, "%s", err);
	return 0;
}

/* The agent named by REC's agent_id; ERROR reply when unknown. */
static struct agent *
find_agent(struct drf *d, const json_t *rec)
{
	struct agent *a = map_get(d->agents, rec_str(rec, "agent_id"));

	if (a == NULL)
		fail(d, rec, E_UNKNOWN_AGENT, "%s: unknown agent '%s'", rec_type(rec),
		    rec_str(rec, "agent_id"));
	return a;
}

/* The framework named by REC's framework_id; ERROR reply when unknown. */
static struct fw *
find_fw(struct drf *d, const json_t *rec)
{
	struct fw *f = map_get(d->fws, rec_str(rec, "framework_id"));

	if (f == NULL)
		fail(d, rec, E_UNKNOWN_FRAMEWORK, "%s: unknown framework '%s'", rec_type(rec),
		    rec_str(rec, "framework_id"));
	return f;
}

/* Would adding R's scalars to the cluster totals overflow?  0 or -1. */
static int
totals_check(const struct drf *d, const struct res *r)
{
	int i, k;

	for (i = 0; i < r->n; i++) {
		int64_t sum;

		if (r->it[i].kind != RES_SCALAR)
			continue;
		k = name_index(d, r->it[i].name);
		if (k >= 0 && __builtin_add_overflow(d->total[k], r->it[i].milli,
		    &sum))
			return -1;
	}
	return 0;
}

/* AGENT_ADD: a new agent, or a new total and attributes for a known one. */
static int
ev_agent_add(struct drf *d, const json_t *rec)
{
	const char *id, *attrs;
	char err[RES_ERRLEN], buf[512];
	struct res total, used, part;
	struct agent *a;
	char *attrcopy = NULL;

	if (require(d, rec, "agent_id:s resources:s ?attributes:s") == -1)
		return -1;
	id = rec_str(rec, "agent_id");
	attrs = rec_str(rec, "attributes");
	if (!id_valid(id))
		return fail(d, rec, E_INVALID, "AGENT_ADD: '%s' is not a valid agent id", id);
	if (attrs != NULL && attr_check(attrs, err) == -1)
		return fail(d, rec, E_INVALID, "AGENT_ADD: attributes: %s", err);
	if (parse_res(d, rec, "resources", &total) == -1)
		return -1;
	if (d->nnames + names_new(d, &total) > DRF_MAX_NAMES) {
		res_free(&total);
		return fail(d, rec, E_INVALID, "AGENT_ADD: the cluster would have more than "
		    "%d scalar resource names", DRF_MAX_NAMES);
	}
	if (totals_check(d, &total) == -1) {
		res_free(&total);
		return fail(d, rec, E_INVALID, "AGENT_ADD: the cluster total would overflow");
	}
	if (attrs != NULL && *attrs != '\0' && (attrcopy = strdup(attrs)) == NULL)
		goto nomem;
	if ((a = map_get(d->agents, id)) != NULL) {
		/*
		 * The new total is the truth: free is what it has beyond what
		 * is allocated on it, and what is allocated beyond it is held
		 * over until given back.
		 */
		struct res nfree, nover;

		res_init(&nfree);
		res_init(&nover);
		if (res_copy(&used, &a->total) == -1)
			goto nomem;
		if (res_sub(&used, &a->free) == -1 ||
		    (a->over != NULL && res_add(&used, a->over) == -1) ||
		    res_meet(&total, &used, &part) == -1) {
			res_free(&used);
			goto nomem;
		}
		if (res_copy(&nfree, &total) == -1 ||
		    res_sub(&nfree, &part) == -1 ||
		    res_copy(&nover, &used) == -1 ||
		    res_sub(&nover, &part) == -1) {
			res_free(&nfree);
			res_free(&nover);
			res_free(&used);
			res_free(&part);
			goto nomem;
		}
		if (!res_empty(&nover))
			log_warnx("AGENT_ADD: agent %s has %s allocated, more "
			    "than its new total: nothing more of it is offered "
			    "until that is given back", id,
			    res_format(&nover, buf, sizeof(buf)));
		res_free(&used);
		res_free(&part);
		vec_add(d, d->total, &a->total, -1);
		res_free(&a->total);
		res_free(&a->free);
		a->total = total;
		a->free = nfree;
		if (over_set(a, &nover) == -1) {
			res_free(&nover);
			return fail(d, rec, E_NO_MEMORY, "AGENT_ADD: out of "
			    "memory");
		}
		agent_touch(d, a);
		free(a->attrs);
		a->attrs = attrcopy;
	} else {
		if ((a = calloc(1, sizeof(*a))) == NULL)
			goto nomem;
		strlcpy(a->id, id, sizeof(a->id));
		if (res_copy(&a->free, &total) == -1 ||
		    map_put(d->agents, id, a) == -1) {
			res_free(&a->free);
			free(a);
			goto nomem;
		}
		a->total = total;
		a->attrs = attrcopy;
		agent_touch(d, a);
	}
	a->reserved = res_reserved(&a->total);
	names_add(d, &a->total);
	vec_add(d, d->total, &a->total, 1);
	d->dirty = 1;
	d->pending = 1;
	return 0;
nomem:
	res_free(&total);
	free(attrcopy);
	return fail(d, rec, E_NO_MEMORY, "AGENT_ADD: out of memory");
}

/* Take hold H's scalars off its framework's and role's allocation. */
static void
hold_unaccount(struct drf *d, struct hold *h)
{
	vec_add(d, h->fw->alloc, &h->res, -1);
	vec_add(d, h->fw->role->alloc, &h->res, -1);
}

/* AGENT_REMOVE: the agent and everything allocated on it vanish. */
static int
ev_agent_remove(struct drf *d, const json_t *rec)
{
	struct agent *a;

	if (require(d, rec, "agent_id:s") == -1 || (a = find_agent(d, rec)) == NULL)
		return -1;
	while (a->holds != NULL) {
		struct fw *f = a->holds->fw;

		hold_unaccount(d, a->holds);
		hold_free(a->holds);
		fw_reshare(d, f);
	}
	vec_add(d, d->total, &a->total, -1);
	map_del(d->agents, a->id);
	agent_unlist(d, a);
	res_free(&a->total);
	res_free(&a->free);
	over_set(a, NULL);
	free(a->attrs);
	free(a);
	d->dirty = 1;
	return 0;
}

/* Move F (not in any order) from its role to role R. */
static void
fw_set_role(struct drf *d, struct fw *f, struct role *r)
{
	struct role *old = f->role;

	if (old == r)
		return;
	if (old != NULL) {
		fw_deactivate(d, f);
		for (int i = 0; i < d->nnames; i++)
			old->alloc[i] -= f->alloc[i];
		old->nfw--;
		role_reshare(d, old);
	}
	for (int i = 0; i < d->nnames; i++)
		r->alloc[i] += f->alloc[i];
	r->nfw++;
	f->role = r;
}

/* FRAMEWORK_ADD: a new framework, or a new role and filters for a known one. */
static int
ev_fw_add(struct drf *d, const json_t *rec)
{
	const char *id, *rname, *attrs = NULL, *min = NULL;
	char err[RES_ERRLEN];
	json_t *filters;
	struct res minr;
	struct role *r;
	struct fw *f;
	char *acopy = NULL;

	if (require(d, rec, "framework_id:s ?role:s ?filters:o") == -1)
		return -1;
	id = rec_str(rec, "framework_id");
	rname = rec_str(rec, "role") ? rec_str(rec, "role") : "*";
	if (!id_valid(id))
		return fail(d, rec, E_INVALID, "FRAMEWORK_ADD: '%s' is not a valid "
		    "framework id", id);
	if (!role_valid(rname))
		return fail(d, rec, E_INVALID, "FRAMEWORK_ADD: '%s' is not a role name "
		    "(\"*\" or 1..63 of A-Z a-z 0-9 . _ -)", rname);
	res_init(&minr);
	if ((filters = json_object_get(rec, "filters")) != NULL) {
		if (rec_require(filters, "?attributes:s ?min:s", err) == -1)
			return fail(d, rec, E_INVALID, "FRAMEWORK_ADD: filters%s", err);
		attrs = rec_str(filters, "attributes");
		min = rec_str(filters, "min");
		if (attrs != NULL && attr_check(attrs, err) == -1)
			return fail(d, rec, E_INVALID, "FRAMEWORK_ADD: filters: attributes: "
			    "%s", err);
		if (min != NULL && res_parse(min, &minr, err) == -1)
			return fail(d, rec, E_INVALID, "FRAMEWORK_ADD: filters: min: %s", err);
	}
	if ((attrs != NULL && *attrs != '\0' && (acopy = strdup(attrs)) == NULL) ||
	    (r = role_get(d, rname)) == NULL)
		goto nomem;
	if ((f = map_get(d->fws, id)) == NULL) {
		if ((f = calloc(1, sizeof(*f))) == NULL)
			goto nomem;
		strlcpy(f->id, id, sizeof(f->id));
		f->idkey = id_key(f->id);
		f->hn.pos = NOPOS;
		if (map_put(d->fws, id, f) == -1) {
			free(f);
			goto nomem;
		}
	}
	fw_set_role(d, f, r);
	free(f->attr_filter);
	f->attr_filter = acopy;
	res_free(&f->min);
	f->min = minr;
	if (fw_activate(d, f) == -1) {
		/* out of memory: leave it suppressed rather than half in */
		f->suppressed = 1;
		return fail(d, rec, E_NO_MEMORY, "FRAMEWORK_ADD: out of memory");
	}
	fw_reshare(d, f);
	d->pending = 1;
	return 0;
nomem:
	free(acopy);
	res_free(&minr);
	return fail(d, rec, E_NO_MEMORY, "FRAMEWORK_ADD: out of memory");
}

/*
 * Make O (consumed; NULL or empty: nothing) what agent A holds beyond its
 * total.  Returns 0, or -1 out of memory with A unchanged.
 */
static int
over_set(struct agent *a, struct res *o)
{
	struct res *n = NULL;

	if (o != NULL && !res_empty(o)) {
		if ((n = malloc(sizeof(*n))) == NULL)
			return -1;
		*n = *o;
	} else if (o != NULL)
		res_free(o);
	if (a->over != NULL) {
		res_free(a->over);
		free(a->over);
	}
	a->over = n;
	return 0;
}

/*
 * Take R from agent A's free resources.  What free lacks (an agent that
 * re-registered smaller than its tasks, whose claims are facts) is held
 * beyond the total, in A->over.  Returns 0 or -1 (out of memory).
 */
static int
agent_take(struct agent *a, const struct res *r)
{
	struct res part, rest, over;
	int rc;

	if (res_meet(&a->free, r, &part) == -1)
		return -1;
	if (res_copy(&rest, r) == -1) {
		res_free(&part);
		return -1;
	}
	rc = res_sub(&rest, &part);
	if (rc == 0 && !res_empty(&rest)) {
		res_init(&over);
		if ((a->over != NULL && res_copy(&over, a->over) == -1) ||
		    res_add(&over, &rest) == -1 || over_set(a, &over) == -1) {
			res_free(&over);
			rc = -1;
		}
	}
	if (rc == 0)
		rc = res_sub(&a->free, &part);	/* PART is within free */
	res_free(&rest);
	res_free(&part);
	return rc;
}

/* Give R back to agent A: it pays off A->over first, the rest is free. */
static int
agent_give(struct agent *a, const struct res *r)
{
	struct res pay, rest, over;
	int rc = -1;

	if (a->over == NULL)
		return res_add(&a->free, r);
	if (res_meet(a->over, r, &pay) == -1)
		return -1;
	res_init(&rest);
	res_init(&over);
	if (res_copy(&rest, r) == 0 && res_sub(&rest, &pay) == 0 &&
	    res_copy(&over, a->over) == 0 && res_sub(&over, &pay) == 0 &&
	    res_add(&a->free, &rest) == 0) {
		if (over_set(a, &over) == 0)
			rc = 0;
		else
			res_sub(&a->free, &rest);
	}
	if (rc == -1)
		res_free(&over);
	res_free(&rest);
	res_free(&pay);
	return rc;
}

/* Give hold H's resources back to its agent's free pool; -1 on failure. */
static int
hold_return(struct drf *d, struct hold *h)
{
	agent_touch(d, h->ag);
	return agent_give(h->ag, &h->res);
}

/* FRAMEWORK_REMOVE: the framework goes; what it held is free again. */
static int
ev_fw_remove(struct drf *d, const json_t *rec)
{
	struct role *r;
	struct fw *f;

	if (require(d, rec, "framework_id:s") == -1 ||
	    (f = find_fw(d, rec)) == NULL)
		return -1;
	r = f->role;
	while (f->holds != NULL) {
		if (hold_return(d, f->holds) == -1)
			log_warnx("FRAMEWORK_REMOVE %s: cannot return resources "
			    "to agent %s (out of memory)", f->id,
			    f->holds->ag->id);
		hold_unaccount(d, f->holds);
		hold_free(f->holds);
	}
	fw_deactivate(d, f);
	r->nfw--;
	role_reshare(d, r);
	map_del(d->fws, f->id);
	fw_free(f);
	d->pending = 1;
	return 0;
}

/*
 * Filter agent A from framework F until UNTIL (ms on the allocator clock)
 * while its free resources stay within DECLINED (empty: anything).  A new
 * filter replaces an older one for the same agent.
 */
static int
refuse_set(struct fw *f, const struct agent *a, int64_t until,
    const struct res *declined)
{
	struct refusal *v;

	if (f->refuse == NULL && (f->refuse = map_create()) == NULL)
		return -1;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return -1;
	v->until = until;
	v->all = res_empty(declined);
	if (res_copy(&v->res, declined) == -1) {
		free(v);
		return -1;
	}
	refusal_free(map_del(f->refuse, a->id));
	if (map_put(f->refuse, a->id, v) == -1) {
		refusal_free(v);
		return -1;
	}
	return 0;
}

/* RECOVER: resources go back from a framework's hold to the agent's pool. */
static int
ev_recover(struct drf *d, const json_t *rec)
{
	char b1[512], b2[512];
	struct res r;
	struct agent *a;
	struct hold *h;
	struct fw *f;
	double refuse = 0;

	if (require(d, rec, "framework_id:s agent_id:s resources:s "
	    "?refuse_seconds:n") == -1 || (f = find_fw(d, rec)) == NULL ||
	    (a = find_agent(d, rec)) == NULL)
		return -1;
	rec_num(rec, "refuse_seconds", &refuse);
	if (!(refuse >= 0))
		return fail(d, rec, E_INVALID, "RECOVER: refuse_seconds must not be negative");
	if (refuse > PROTO_SECONDS_MAX)
		refuse = PROTO_SECONDS_MAX;
	if (parse_res(d, rec, "resources", &r) == -1)
		return -1;
	h = hold_find(f, a);
	if (!res_empty(&r) && (h == NULL || !res_contains(&h->res, &r))) {
		fail(d, rec, E_INVALID, "RECOVER: framework %s holds %s on agent %s, not %s",
		    f->id, h ? res_format(&h->res, b1, sizeof(b1)) : "nothing",
		    a->id, res_format(&r, b2, sizeof(b2)));
		res_free(&r);
		return -1;
	}
	if (refuse > 0 && refuse_set(f, a, drf_now(d) +
	    (int64_t)llround(refuse * 1000), &r) == -1) {
		res_free(&r);
		return fail(d, rec, E_NO_MEMORY, "RECOVER: out of memory");
	}
	if (h != NULL && !res_empty(&r)) {
		agent_touch(d, a);
		if (res_sub(&h->res, &r) == -1 || agent_give(a, &r) == -1) {
			/* cannot happen after res_contains, short of memory */
			res_free(&r);
			return fail(d, rec, E_NO_MEMORY, "RECOVER: out of memory");
		}
		vec_add(d, f->alloc, &r, -1);
		vec_add(d, f->role->alloc, &r, -1);
		if (res_empty(&h->res))
			hold_free(h);
		fw_reshare(d, f);
	}
	res_free(&r);
	d->pending = 1;
	return 0;
}

/* CLAIM: free resources of an agent become a framework's without an offer. */
static int
ev_claim(struct drf *d, const json_t *rec)
{
	char b1[512], b2[512];
	struct agent *a;
	struct hold *h;
	struct fw *f;
	struct res r;
	int fresh = 0;

	if (require(d, rec, "framework_id:s agent_id:s resources:s") == -1 ||
	    (f = find_fw(d, rec)) == NULL || (a = find_agent(d, rec)) == NULL ||
	    parse_res(d, rec, "resources", &r) == -1)
		return -1;
	if (res_empty(&r)) {
		res_free(&r);
		return 0;
	}
	if (!res_contains(&a->free, &r))
		log_warnx("CLAIM: agent %s has %s free, not %s: held beyond "
		    "its total until given back", a->id, res_empty(&a->free) ?
		    "nothing" : res_format(&a->free, b1, sizeof(b1)),
		    res_format(&r, b2, sizeof(b2)));
	if ((h = hold_find(f, a)) == NULL) {
		if ((h = hold_new(f, a)) == NULL)
			goto nomem;
		fresh = 1;
	}
	if (res_add(&h->res, &r) == -1) {
		if (fresh)
			hold_free(h);
		goto nomem;
	}
	agent_touch(d, a);
	if (agent_take(a, &r) == -1) {
		res_sub(&h->res, &r);
		if (fresh)
			hold_free(h);
		goto nomem;
	}
	vec_add(d, f->alloc, &r, 1);
	vec_add(d, f->role->alloc, &r, 1);
	res_free(&r);
	fw_reshare(d, f);
	return 0;
nomem:
	res_free(&r);
	return fail(d, rec, E_NO_MEMORY, "CLAIM: out of memory");
}

/* SUPPRESS and REVIVE. */
static int
ev_suppress(struct drf *d, const json_t *rec, int suppress)
{
	struct fw *f;

	if (require(d, rec, "framework_id:s") == -1 ||
	    (f = find_fw(d, rec)) == NULL)
		return -1;
	if (suppress) {
		fw_deactivate(d, f);
		f->suppressed = 1;
		return 0;
	}
	refuse_clear(f);
	f->suppressed = 0;
	if (fw_activate(d, f) == -1) {
		f->suppressed = 1;
		return fail(d, rec, E_NO_MEMORY, "REVIVE: out of memory");
	}
	fw_reshare(d, f);
	d->pending = 1;
	return 0;
}

/* WEIGHT: a role's weight. */
static int
ev_weight(struct drf *d, const json_t *rec)
{
	char err[DRF_ERRLEN];
	double w = 0;

	if (require(d, rec, "role:s weight:n") == -1)
		return -1;
	rec_num(rec, "weight", &w);
	if (drf_set_weight(d, rec_str(rec, "role"), w, err) == -1)
		return fail(d, rec, E_INVALID, "WEIGHT: %s", err);
	return 0;
}

/*
 * Parse the quota vector of field KEY of REC into *OUT: NULL when the
 * field is absent or empty, else a new vector of scalars.  Returns 0, or
 * -1 after an ERROR reply.
 */
static int
quota_parse(struct drf *d, const json_t *rec, const char *key,
    struct res **out)
{
	const char *s = rec_str(rec, key);
	struct res r;
	int i;

	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	if (parse_res(d, rec, key, &r) == -1)
		return -1;
	for (i = 0; i < r.n; i++)
		if (r.it[i].kind != RES_SCALAR ||
		    r.it[i].name[res_base_len(r.it[i].name)] != '\0') {
			fail(d, rec, E_INVALID, "QUOTA: %s: %s is not an "
			    "unreserved scalar: a quota counts those only", key,
			    r.it[i].name);
			res_free(&r);
			return -1;
		}
	if ((*out = malloc(sizeof(**out))) == NULL) {
		res_free(&r);
		return fail(d, rec, E_NO_MEMORY, "QUOTA: out of memory");
	}
	**out = r;
	return 0;
}

/*
 * QUOTA: a role's guarantee and limit (either absent or empty: none;
 * both: the role has no quota any more).
 */
static int
ev_quota(struct drf *d, const json_t *rec)
{
	struct res *g, *l;
	struct role *r;
	const char *name;
	int i;

	if (require(d, rec, "role:s ?guarantee:s ?limit:s") == -1)
		return -1;
	name = rec_str(rec, "role");
	if (!role_valid(name))
		return fail(d, rec, E_INVALID, "QUOTA: '%s' is not a role name "
		    "(\"*\" or 1..63 of A-Z a-z 0-9 . _ -)", name);
	if (quota_parse(d, rec, "guarantee", &g) == -1)
		return -1;
	if (quota_parse(d, rec, "limit", &l) == -1) {
		quota_res_free(g);
		return -1;
	}
	for (i = 0; g != NULL && l != NULL && i < g->n; i++)
		if (res_has(l, g->it[i].name) &&
		    g->it[i].milli > res_get(l, g->it[i].name)) {
			fail(d, rec, E_INVALID, "QUOTA: role %s: the guarantee "
			    "of %s is over its limit", name, g->it[i].name);
			quota_res_free(g);
			quota_res_free(l);
			return -1;
		}
	if ((r = role_get(d, name)) == NULL) {
		quota_res_free(g);
		quota_res_free(l);
		return fail(d, rec, E_NO_MEMORY, "QUOTA: out of memory");
	}
	quota_clear(r);
	r->guarantee = g;
	r->limit = l;
	role_reshare(d, r);
	d->pending = 1;
	return 0;
}

/* TICK: advance the manual clock; run a cycle when an interval is crossed. */
static int
ev_tick(struct drf *d, const json_t *rec)
{
	double s = 0;

	if (!d->manual)
		return fail(d, rec, E_INVALID, "TICK: the clock is real (start with "
		    "--clock manual to drive it with TICK)");
	if (require(d, rec, "seconds:n") == -1)
		return -1;
	rec_num(rec, "seconds", &s);
	if (!(s >= 0) || s > DRF_TICK_MAX_S)
		return fail(d, rec, E_INVALID, "TICK: seconds must be in [0, %g]",
		    DRF_TICK_MAX_S);
	d->vnow += (int64_t)llround(s * 1000);
	if (d->vnow >= d->next_timed) {
		d->next_timed = d->vnow + d->interval;
		drf_allocate(d);
	}
	return 0;
}

int
drf_handle(struct drf *d, const json_t *rec)
{
	const char *t = rec_type(rec);

	if (strcmp(t, A_AGENT_ADD) == 0)
		return ev_agent_add(d, rec);
	if (strcmp(t, A_AGENT_REMOVE) == 0)
		return ev_agent_remove(d, rec);
	if (strcmp(t, A_FRAMEWORK_ADD) == 0)
		return ev_fw_add(d, rec);
	if (strcmp(t, A_FRAMEWORK_REMOVE) == 0)
		return ev_fw_remove(d, rec);
	if (strcmp(t, A_RECOVER) == 0)
		return ev_recover(d, rec);
	if (strcmp(t, A_CLAIM) == 0)
		return ev_claim(d, rec);
	if (strcmp(t, R_SUPPRESS) == 0)
		return ev_suppress(d, rec, 1);
	if (strcmp(t, R_REVIVE) == 0)
		return ev_suppress(d, rec, 0);
	if (strcmp(t, A_WEIGHT) == 0)
		return ev_weight(d, rec);
	if (strcmp(t, A_QUOTA) == 0)
		return ev_quota(d, rec);
	if (strcmp(t, A_ALLOCATE) == 0) {
		drf_allocate(d);
		return 0;
	}
	if (strcmp(t, A_SHARES_QUERY) == 0) {
		d->ops.reply(d->ops.arg, drf_shares(d));
		return 0;
	}
	if (strcmp(t, A_TICK) == 0)
		return ev_tick(d, rec);
	if (strcmp(t, R_ERROR) == 0) {
		/* never answer an error with an error: that could ping-pong */
		log_warnx("peer reports an error about %s: %s",
		    rec_str(rec, "about") ? rec_str(rec, "about") : "?",
		    rec_str(rec, "message") ? rec_str(rec, "message") : "?");
		return 0;
	}
	return fail(d, rec, E_UNKNOWN_TYPE, "unknown record type '%s'", t);
}

/* ---- the cycle ---- */

/*
 * Does R meet the min-offer rule (at least one alternative, and not
 * empty)?  RESERVED: R may hold reserved resources, which count as their
 * unreserved names.
 */
static int
allocatable(const struct drf *d, const struct res *r, int reserved)
{
	struct res flat;
	int i, ok = 0;

	if (res_empty(r))
		return 0;
	if (d->nminoffer == 0)
		return 1;
	if (reserved) {
		if (res_collapse(r, &flat) == -1)
			return 0;
		ok = allocatable(d, &flat, 0);
		res_free(&flat);
		return ok;
	}
	for (i = 0; i < d->nminoffer; i++)
		if (res_contains(r, &d->minoffer[i]))
			return 1;
	return 0;
}

/* What a search for a framework for one agent needs. */
struct pick {
	struct drf	*d;
	struct agent	*ag;
	int64_t		 now;
	struct fw	*found;
	const struct res *avail;	/* what the role met may be offered */
	struct res	 capped;	/* the agent's free for a role: within
					   its limit, without others' reservations */
	struct res	 flat;		/* CAPPED collapsed, for min filters */
};

/* Is agent P->ag refused to F by a live decline filter?  Drops an expired one. */
static int
refused(struct fw *f, const struct pick *p)
{
	struct refusal *r;

	if (f->refuse == NULL || map_count(f->refuse) == 0 ||
	    (r = map_get(f->refuse, p->ag->id)) == NULL)
		return 0;
	if (r->until > p->now)
		return r->all || res_contains(&r->res, &p->ag->free);
	refusal_free(map_del(f->refuse, p->ag->id));
	return 0;
}

/* heap_first predicate: may framework N be offered agent P->ag? */
static int
fw_eligible(struct hnode *n, void *arg)
{
	struct fw *f = (struct fw *)n;
	struct pick *p = arg;

	if (f->attr_filter != NULL && !attr_match(p->ag->attrs, f->attr_filter))
		return 0;
	if (f->min.n > 0 && !res_contains(p->ag->reserved ? &p->flat :
	    p->avail, &f->min))
		return 0;
	return !refused(f, p);
}

/*
 * OUT (initialised) = what of AVAIL role R may be offered: without what
 * is reserved to other roles, and every scalar its limit names (reserved
 * to it or not) cut to what it may still hold.  Returns 0; 1 when the role
 * has no room left for a limited scalar AVAIL has (an offer without it
 * would hold the rest of the agent for nothing); -1 out of memory.
 */
static int
offerable(const struct drf *d, const struct role *r, const struct res *avail,
    struct res *out)
{
	const struct res *l = r->limit;
	char base[RES_NAMELEN];
	struct res_item *it;
	int64_t head, taken[DRF_MAX_NAMES] = { 0 };
	int i, k;

	res_free(out);
	if (res_copy(out, avail) == -1)
		return -1;
	for (i = 0; i < out->n; i++) {
		it = &out->it[i];
		if (it->name[res_base_len(it->name)] != '\0' &&
		    !res_reserved_to(it->name, r->name)) {
			/* another role's: not for this one */
			it->milli = 0;
			free(it->r);
			it->r = NULL;
			it->nr = 0;
			continue;
		}
		if (l == NULL || it->kind != RES_SCALAR || it->milli == 0)
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)res_base_len(it->name),
		    it->name);
		if (!res_has(l, base))
			continue;
		/* "cpus" and "cpus(r)" share one limit: TAKEN is this offer's */
		k = name_index(d, base);
		head = res_get(l, base) - (k >= 0 ? r->alloc[k] + taken[k] : 0);
		if (head <= 0)
			return 1;
		if (it->milli > head)
			it->milli = head;
		if (k >= 0)
			taken[k] += it->milli;
	}
	return 0;
}

/*
 * Does role R's limit leave all of FREE (nothing reserved in it) to R?
 * 1: yes, offerable() would copy FREE unchanged; -1: a limited scalar of
 * FREE has no room left (offerable() returns 1); 0: the limit cuts a
 * part, offerable() must make it.  Spares the common case a copy.
 */
static int
within_limit(const struct drf *d, const struct role *r, const struct res *free)
{
	const struct res_item *it;
	int i, k, whole = 1;
	int64_t head;

	for (i = 0; i < free->n; i++) {
		it = &free->it[i];
		if (it->kind != RES_SCALAR || it->milli == 0 ||
		    !res_has(r->limit, it->name))
			continue;
		k = name_index(d, it->name);
		head = res_get(r->limit, it->name) - (k >= 0 ? r->alloc[k] : 0);
		if (head <= 0)
			return -1;
		if (it->milli > head)
			whole = 0;
	}
	return whole;
}

/*
 * heap_first predicate: does role N have an eligible framework?  Sets
 * P->found, and P->avail to what it may be offered (within its limit).
 */
static int
role_eligible(struct hnode *n, void *arg)
{
	struct role *r = (struct role *)n;
	struct pick *p = arg;

	p->avail = &p->ag->free;
	if (r->limit != NULL && !p->ag->reserved) {
		switch (within_limit(p->d, r, &p->ag->free)) {
		case 1:
			goto frameworks;	/* offer it all, no copy */
		case -1:
			return 0;		/* no room left */
		}
	}
	if (r->limit != NULL || p->ag->reserved) {
		if (offerable(p->d, r, &p->ag->free, &p->capped) != 0 ||
		    !allocatable(p->d, &p->capped, p->ag->reserved))
			return 0;
		p->avail = &p->capped;
		res_free(&p->flat);
		if (p->ag->reserved && res_collapse(&p->capped, &p->flat) == -1)
			return 0;
	}
frameworks:
	p->found = (struct fw *)heap_first(&r->fws, &p->d->vfws, fw_eligible, p);
	return p->found != NULL;
}

/* Drop every expired decline filter, so that filters do not pile up. */
static void
sweep(struct drf *d, int64_t now)
{
	struct fw *f;
	size_t pos = 0, fp;
	struct refusal *r;
	const char *key;

	while ((f = map_next(d->fws, &pos, NULL)) != NULL) {
		if (f->refuse == NULL)
			continue;
		fp = 0;
		while ((r = map_next(f->refuse, &fp, &key)) != NULL)
			if (r->until <= now)
				refusal_free(map_del(f->refuse, key));
	}
}

/*
 * Offer R, all of agent A's free resources or a part of them (within a
 * limit), to framework F: report it, then move R into F's hold.  Returns
 * 0, or -1 when it was not delivered.
 */
static int
give(struct drf *d, struct fw *f, struct agent *a, const struct res *r)
{
	struct hold *h = hold_find(f, a);
	int64_t v[DRF_MAX_NAMES] = { 0 };
	int fresh = 0, whole = r == &a->free, i;

	if (d->ops.allocated(d->ops.arg, f->id, a->id, r) == -1)
		return -1;
	/* R's names are looked up once for the framework and its role */
	vec_add(d, v, r, 1);
	for (i = 0; i < d->nnames; i++) {
		f->alloc[i] += v[i];
		f->role->alloc[i] += v[i];
	}
	if (h == NULL) {
		if ((h = hold_new(f, a)) == NULL)
			log_fatalx("allocation: out of memory");
		fresh = 1;
	}
	if (whole && (fresh || res_empty(&h->res))) {
		/* move: the free vector's range arrays change owner */
		if (!fresh)
			res_free(&h->res);	/* a new hold's is zeroed */
		res_move(&h->res, &a->free);
	} else {
		if (res_add(&h->res, r) == -1)
			log_fatalx("allocation: out of memory");
		if (whole)
			res_free(&a->free);
		else if (res_sub(&a->free, r) == -1)
			log_fatalx("allocation: a part is not within free");
	}
	agent_touch(d, a);
	f->nalloc++;
	f->role->nalloc++;
	fw_reshare(d, f);
	return 0;
}

/*
 * Ask the memory system for what the cycle will read of agent A (when
 * not NULL) while it works on the one before: at 50,000 agents they do
 * not fit in the caches, and waiting on each agent's lines in turn was
 * most of a cycle.
 */
static void
agent_prefetch(const struct agent *a)
{
	const char *p = (const char *)a;
	size_t off, end = offsetof(struct agent, slot.res.it[RES_MAX / 2]);

	if (a == NULL)
		return;
	for (off = 0; off < end; off += 64)
		__builtin_prefetch(p + off, 1, 1);
}

int
drf_allocate(struct drf *d)
{
	struct pick p = { .d = d };
	struct agent *a, *an;
	int n = 0, k;

	refresh(d);
	d->pending = 0;
	p.now = drf_now(d);
	if (p.now >= d->next_sweep) {
		sweep(d, p.now);
		d->next_sweep = p.now + SWEEP_MS;
	}
	TAILQ_FOREACH_SAFE(a, &d->cands, cand, an) {
		if (d->roles.n == 0)
			break;
		if (an != NULL)
			agent_prefetch(TAILQ_NEXT(an, cand));
		if (!allocatable(d, &a->free, a->reserved)) {
			agent_unlist(d, a);	/* until its resources change */
			continue;
		}
		/*
		 * A part given within a limit leaves the rest for the next
		 * role: each part fills a limit, so few rounds are possible.
		 * The first round was just checked above.
		 */
		for (k = 0; k <= DRF_MAX_NAMES && (k == 0 ||
		    allocatable(d, &a->free, a->reserved)); k++) {
			p.ag = a;
			p.found = NULL;
			if (heap_first(&d->roles, &d->vroles, role_eligible,
			    &p) == NULL)
				break;
			if (give(d, p.found, a, p.avail) == -1) {
				res_free(&p.capped);
				res_free(&p.flat);
				return -1;
			}
			n++;
			if (p.avail == &a->free)
				break;
		}
	}
	res_free(&p.capped);
	res_free(&p.flat);
	return n;
}

/* Seconds on the monotonic clock, for a cycle's run time. */
static double
seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* drf_allocate, its run time and outcome reported when D is to. */
static int
timed_allocate(struct drf *d)
{
	double start;
	json_t *rec;
	int n;

	if (!d->report_cycles)
		return drf_allocate(d);
	start = seconds_now();
	n = drf_allocate(d);
	rec = rec_new(A_CYCLE);
	rec_set_num(rec, "seconds", seconds_now() - start);
	rec_set_int(rec, "allocations", n);
	d->ops.reply(d->ops.arg, rec);
	return n;
}

int64_t
drf_poll(struct drf *d)
{
	int64_t now;

	if (d->manual)
		return -1;
	now = drf_now(d);
	if (d->pending || now >= d->next_timed) {
		d->next_timed = now + d->interval;
		if (timed_allocate(d) == -1) {
			d->pending = 1;
			d->next_timed = now + DRF_RETRY_MS;
		}
	}
	return d->next_timed > now ? d->next_timed - now : 0;
}

/* ---- records out ---- */

json_t *
drf_allocation_rec(const char *framework_id, const char *agent_id,
    const struct res *r)
{
	json_t *rec = rec_new(A_ALLOCATION);
	size_t len = 64;
	char *buf;
	int i;

	/* room for the longest text R can have, so that nothing is cut */
	for (i = 0; i < r->n; i++)
		len += RES_NAMELEN + 24 + (size_t)r->it[i].nr * 24;
	rec_set_str(rec, "framework_id", framework_id);
	rec_set_str(rec, "agent_id", agent_id);
	if ((buf = malloc(len)) == NULL) {
		json_decref(rec);
		return NULL;
	}
	rec_set_str(rec, "resources", res_format(r, buf, len));
	free(buf);
	return rec;
}

/* Sort helper: compare two JSON objects by their string field "_k". */
static int
by_key(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcmp(rec_str(x, "_k"), rec_str(y, "_k"));
}

/* Move the objects of array ARR into a new array sorted by "_k", dropping it. */
static json_t *
sorted(json_t *arr)
{
	size_t n = json_array_size(arr), i;
	json_t **v, *out = json_array();

	if ((v = reallocarray(NULL, n ? n : 1, sizeof(*v))) == NULL)
		return arr;
	for (i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), by_key);
	for (i = 0; i < n; i++) {
		json_object_del(v[i], "_k");
		json_array_append(out, v[i]);
	}
	free(v);
	json_decref(arr);
	return out;
}

json_t *
drf_shares(struct drf *d)
{
	json_t *rec = rec_new(A_SHARES), *roles = json_array(),
	    *fws = json_array();
	char buf[DRF_MAX_NAMES * (RES_NAMELEN + 24)];
	struct role *r;
	struct fw *f;
	size_t pos = 0;

	refresh(d);
	rec_set_str(rec, "total", vec_format(d, d->total, buf, sizeof(buf)));
	while ((r = map_next(d->roles_by_name, &pos, NULL)) != NULL) {
		json_t *o = json_object();

		rec_set_str(o, "_k", r->name);
		rec_set_str(o, "role", r->name);
		rec_set_num(o, "weight", r->weight);
		rec_set_num(o, "share", r->share);
		rec_set_num(o, "dominant", r->dominant);
		rec_set_str(o, "allocated", vec_format(d, r->alloc, buf,
		    sizeof(buf)));
		rec_set_int(o, "frameworks", (int64_t)r->nfw);
		if (r->guarantee != NULL)
			rec_set_str(o, "guarantee", res_format(r->guarantee,
			    buf, sizeof(buf)));
		if (r->limit != NULL)
			rec_set_str(o, "limit", res_format(r->limit, buf,
			    sizeof(buf)));
		json_array_append_new(roles, o);
	}
	pos = 0;
	while ((f = map_next(d->fws, &pos, NULL)) != NULL) {
		json_t *o = json_object();

		rec_set_str(o, "_k", f->id);
		rec_set_str(o, "framework_id", f->id);
		rec_set_str(o, "role", f->role->name);
		rec_set_num(o, "share", f->dominant / f->role->weight);
		rec_set_num(o, "dominant", f->dominant);
		rec_set_str(o, "allocated", vec_format(d, f->alloc, buf,
		    sizeof(buf)));
		rec_set_int(o, "agents", (int64_t)f->nholds);
		rec_set_int(o, "allocations", (int64_t)f->nalloc);
		rec_set_bool(o, "suppressed", f->suppressed);
		json_array_append_new(fws, o);
	}
	json_object_set_new(rec, "roles", sorted(roles));
	json_object_set_new(rec, "frameworks", sorted(fws));
	return rec;
}
