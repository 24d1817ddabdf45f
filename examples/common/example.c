/*
 * example: the pieces the C example frameworks share (see example.h):
 * common options, resources, signals and the scheduler's run.
 */
#include <err.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example.h"
#include "exits.h"
#include "util.h"

volatile sig_atomic_t ex_signal;

static void
ex_on_signal(int sig)
{
	ex_signal = sig;
}

void
ex_init(struct ex_common *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->opts.name = name;
	c->cpus = EX_CPUS;
	c->mem = EX_MEM;
	c->name_max = EX_NAME_MAX;
}

/* Parse a scalar option into thousandths or exit EXIT_USAGE. */
static int64_t
ex_scalar(const char *name, const char *arg)
{
	char e[RES_ERRLEN];
	int64_t v;

	if (res_scalar_parse(name, arg, &v, e) == -1)
		errx(EXIT_USAGE, "%s", e);
	return v;
}

/* The common options: the letter, its long name, and whether taken. */
static const struct option ex_common_opts[] = {
	{ "only", required_argument, NULL, 'A' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "master", required_argument, NULL, 'm' },
	{ "mem", required_argument, NULL, 'M' },
	{ "name", required_argument, NULL, 'n' },
};
#define EX_NCOMMON	(sizeof(ex_common_opts) / sizeof(ex_common_opts[0]))
#define EX_MAXOPTS	32	/* common and own options of one example */

/* Take common option CH with ARG into C. */
static void
ex_common_option(struct ex_common *c, int ch, const char *arg)
{
	if (ch == 'A')
		c->opts.filter_attributes = arg;
	else if (ch == 'c' || ch == 'M')
		*(ch == 'c' ? &c->cpus : &c->mem) = ex_scalar(ch == 'c' ?
		    "cpus" : "mem", arg);
	else if (ch == 'm')
		c->opts.master = arg;
	else {
		if (!id_valid(arg) || strlen(arg) > (size_t)c->name_max)
			errx(EXIT_USAGE, "name '%s': use 1-%d of [A-Za-z0-9._-]",
			    arg, c->name_max);
		c->opts.name = arg;
	}
}

/* Take own option O with ARG: into its value, or exit EXIT_USAGE. */
static void
ex_own_option(const struct ex_opt *o, const char *arg)
{
	const char *errstr;

	switch (o->kind) {
	case EX_STRING:
		*(const char **)o->value = arg;
		break;
	case EX_COUNT:
		*(int *)o->value = strtonum(arg, o->min, o->max, &errstr);
		if (errstr != NULL)
			errx(EXIT_USAGE, "%s '%s': %s", o->name, arg, errstr);
		break;
	case EX_DURATION:
		*(int64_t *)o->value = duration_arg(o->name, arg);
		break;
	}
}

void
ex_options(struct ex_common *c, const char *common, const struct ex_opt *own,
    int argc, char *argv[], void (*usage)(void))
{
	struct option lo[EX_MAXOPTS + 1];
	char optstr[2 * EX_MAXOPTS + 1];
	size_t i, n = 0, k;
	int ch;

	for (i = 0; i < EX_NCOMMON; i++)
		if (strchr(common, ex_common_opts[i].val) != NULL)
			lo[n++] = ex_common_opts[i];
	for (k = 0; own[k].letter != 0 && n < EX_MAXOPTS; k++)
		lo[n++] = (struct option){ own[k].name, required_argument,
		    NULL, own[k].letter };
	memset(&lo[n], 0, sizeof(lo[n]));
	for (i = k = 0; i < n; i++)
		if (lo[i].val < EX_LONG_ONLY) {	/* a letter */
			optstr[k++] = lo[i].val;
			optstr[k++] = ':';
		}
	optstr[k] = '\0';
	while ((ch = getopt_long(argc, argv, optstr, lo, NULL)) != -1) {
		for (k = 0; own[k].letter != 0 && own[k].letter != ch; k++)
			;
		if (own[k].letter != 0)
			ex_own_option(&own[k], optarg);
		else if (ch != '?' && ch != ':' && strchr(common, ch) != NULL)
			ex_common_option(c, ch, optarg);
		else
			usage();
	}
	if (optind != argc - 1)
		usage();
	c->command = argv[optind];
	snprintf(c->resources, sizeof(c->resources), "cpus:%g;mem:%g",
	    c->cpus / 1000.0, c->mem / 1000.0);
}

void *
ex_calloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n, size)) == NULL)
		err(EXIT_SYSTEM, "calloc");
	return p;
}

int
ex_run(struct ex_common *c, const struct sched_callbacks *cb, void *ctx,
    int64_t tick_ms, void (*tick)(struct sched *, void *),
    void (*on_start)(void *))
{
	char why[SCHED_ERRLEN];
	struct sigaction sa;
	struct sched *s;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ex_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((s = sched_create(&c->opts, cb, ctx, why)) == NULL)
		errx(EXIT_SYSTEM, "%s", why);
	if (on_start != NULL)
		on_start(ctx);
	rc = sched_run(s, tick_ms, tick);
	sched_destroy(s);
	return rc;
}

void
ex_want_offers(struct sched *s, int *off, int want)
{
	if (want && *off) {
		sched_revive(s);
		*off = 0;
	} else if (!want && !*off) {
		sched_suppress(s);
		*off = 1;
	}
}

/* The entry of AGENT_ID in V, or NULL. */
static struct ex_agent *
ex_view_find(struct ex_view *v, const char *agent_id)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->a[i].agent_id, agent_id) == 0)
			return &v->a[i];
	return NULL;
}

/* Drop the agents the snapshot just read did not name; clear the marks. */
static void
ex_view_sweep(struct ex_view *v)
{
	size_t i = 0;

	while (i < v->n)
		if (!v->a[i].seen)
			v->a[i] = v->a[--v->n];
		else
			v->a[i++].seen = 0;
	v->complete = 1;
}

void
ex_view_update(struct ex_view *v, const struct sched_free *f)
{
	struct ex_agent *a;
	void *p;

	v->gen++;
	if (f->agent_id == NULL) {
		ex_view_sweep(v);
		return;
	}
	if (strlen(f->agent_id) >= EX_AGENT_ID_LEN)
		return;		/* not an id of ours to keep: never placed on */
	a = ex_view_find(v, f->agent_id);
	if (strcmp(f->state, "gone") == 0) {
		if (a != NULL)
			*a = v->a[--v->n];
		return;
	}
	if (a == NULL) {
		if (v->n == EX_VIEW_MAX)
			return;
		if (v->n == v->cap) {
			v->cap = v->cap ? 2 * v->cap : 16;
			if ((p = reallocarray(v->a, v->cap, sizeof(*v->a))) == NULL)
				err(EXIT_SYSTEM, "reallocarray");
			v->a = p;
		}
		a = &v->a[v->n++];
		memset(a, 0, sizeof(*a));
		strlcpy(a->agent_id, f->agent_id, sizeof(a->agent_id));
	}
	strlcpy(a->hostname, f->hostname, sizeof(a->hostname));
	/* only an active agent takes tasks, whatever it says it has free */
	if (strcmp(f->state, "active") == 0) {
		a->cpus = res_get(f->res, "cpus");
		a->mem = res_get(f->res, "mem");
	} else
		a->cpus = a->mem = 0;
	a->version = f->version;
	if (f->snapshot)
		a->seen = 1;
}

int
ex_agent_slots(const struct ex_agent *a, int64_t cpus, int64_t mem)
{
	/* a task asking for none of a resource is not bounded by it */
	int64_t c = cpus > 0 ? a->cpus / cpus : INT32_MAX;
	int64_t m = mem > 0 ? a->mem / mem : INT32_MAX;

	return (int)(c < m ? c : m);
}

struct ex_agent *
ex_view_pick(struct ex_view *v, int64_t cpus, int64_t mem)
{
	struct ex_agent *best = NULL;
	size_t i;

	for (i = 0; i < v->n; i++) {
		struct ex_agent *a = &v->a[i];

		if (ex_agent_slots(a, cpus, mem) < 1)
			continue;
		if (best == NULL || a->cpus > best->cpus ||
		    (a->cpus == best->cpus &&
		    strcmp(a->agent_id, best->agent_id) < 0))
			best = a;
	}
	return best;
}

void
ex_view_free(struct ex_view *v)
{
	free(v->a);
	v->a = NULL;
	v->n = v->cap = 0;
}

json_t *
ex_member_task(const struct ex_common *c, struct ex_member *mb, int g,
    int attempt, int r, int size)
{
	char gs[16], as[16], rs[16], ss[16];	/* env values are strings */
	json_t *t;

	snprintf(mb->task_id, sizeof(mb->task_id), "%s-g%d-a%d-r%d",
	    c->opts.name, g, attempt, r);
	strlcpy(mb->state, TASK_STAGING, sizeof(mb->state));
	mb->ended = 0;
	snprintf(gs, sizeof(gs), "%d", g);
	snprintf(as, sizeof(as), "%d", attempt);
	snprintf(rs, sizeof(rs), "%d", r);
	snprintf(ss, sizeof(ss), "%d", size);
	t = sched_task(mb->task_id, c->resources, c->command);
	json_object_set_new(t, "env", json_pack("{s:s,s:s,s:s,s:s}", "GANG",
	    gs, "GANG_ATTEMPT", as, "GANG_RANK", rs, "GANG_SIZE", ss));
	return t;
}

struct ex_member *
ex_member_status(struct sched *s, struct ex_member *m, int n,
    const struct sched_status *st, int live, int *running, int *ended)
{
	struct ex_member *mb = NULL;
	int i;

	for (i = 0; i < n && mb == NULL; i++)
		if (strcmp(m[i].task_id, st->task_id) == 0)
			mb = &m[i];
	if (mb == NULL || mb->ended || !live) {
		if (mb == NULL && !st->terminal)
			sched_kill(s, st->task_id);	/* an earlier attempt's */
		return NULL;
	}
	strlcpy(mb->state, st->state, sizeof(mb->state));
	mb->ended = st->terminal;
	*running = *ended = 0;
	for (i = 0; i < n; i++) {
		*running += strcmp(m[i].state, TASK_RUNNING) == 0;
		*ended += m[i].ended;
	}
	return mb;
}

void
ex_members_kill(struct sched *s, const struct ex_member *m, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!m[i].ended)
			sched_kill(s, m[i].task_id);
}

int
ex_members_finished(const struct ex_member *m, int n)
{
	int i, fin = 0;

	for (i = 0; i < n; i++)
		fin += strcmp(m[i].state, TASK_FINISHED) == 0;
	return fin;
}

struct ex_slot *
ex_slot_of(struct ex_slot *v, int n, const char *task_id)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i].state != EX_EMPTY && strcmp(v[i].task_id, task_id) == 0)
			return &v[i];
	return NULL;
}

int
ex_slots_running(const struct ex_slot *v, int n)
{
	int i, running = 0;

	for (i = 0; i < n; i++)
		running += v[i].state == EX_RUNNING;
	return running;
}

json_t *
ex_slot_task(const struct ex_common *c, struct ex_slot *v, int i,
    int *generation, const char *agent_id, enum ex_slot_state state)
{
	struct ex_slot *sl = &v[i];
	char inst[16];
	json_t *t;

	snprintf(sl->task_id, sizeof(sl->task_id), "%s-%d-%d", c->opts.name, i,
	    ++*generation);
	strlcpy(sl->agent_id, agent_id, sizeof(sl->agent_id));
	sl->state = state;
	sl->heard = 0;
	snprintf(inst, sizeof(inst), "%d", i);
	t = sched_task(sl->task_id, c->resources, c->command);
	json_object_set_new(t, "env", json_pack("{s:s}", "INSTANCE", inst));
	return t;
}

int
ex_slot_status(struct sched *s, struct ex_slot *v, int n,
    const struct sched_status *st, struct ex_slot **slp, char *why,
    size_t len)
{
	struct ex_slot *sl = ex_slot_of(v, n, st->task_id);

	if (sl == NULL) {
		if (!st->terminal)
			sched_kill(s, st->task_id);
		return -1;
	}
	*slp = sl;
	sl->heard = 1;
	if (st->terminal || strcmp(st->state, "TASK_UNREACHABLE") == 0) {
		snprintf(why, len, "%s%s%s", st->state, st->reason ? " " : "",
		    st->reason ? st->reason : "");
		return 1;
	}
	if (strcmp(st->state, TASK_RUNNING) == 0)
		sl->state = EX_RUNNING;
	return 0;
}

void
ex_slots_reconcile(struct sched *s, const struct ex_slot *v, int n)
{
	const char **ids = ex_calloc(n, sizeof(*ids));
	size_t k = 0;
	int i;

	for (i = 0; i < n; i++)
		if (v[i].state >= EX_STAGED)
			ids[k++] = v[i].task_id;
	/* tasks the master no longer knows come back TASK_LOST */
	if (k > 0)
		sched_reconcile(s, ids, k);
	free(ids);
}
