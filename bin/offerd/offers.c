/*
 * Offers: made of the allocator's decisions, accepted (the tasks are
 * checked here, recorded and launched in tasks.c), declined, rescinded and
 * timed out.  An offered resource counts as used on its agent until the
 * offer is answered or withdrawn: no resource is in two offers.
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


void
offer_make(struct master *m, struct framework *fw, struct agent *a,
    struct res *res)
{
	char buf[RES_TEXT];
	struct offer *o;
	json_t *r;

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		res_free(res);
		return;
	}
	id_new("offer", o->id, sizeof(o->id));
	strlcpy(o->framework_id, fw->id, sizeof(o->framework_id));
	strlcpy(o->agent_id, a->id, sizeof(o->agent_id));
	o->res = *res;
	o->created = now_ms();
	o->expires = m->conf->offer_timeout_ms > 0 ?
	    o->created + m->conf->offer_timeout_ms : 0;
	res_add(&a->offered, &o->res);
	res_add(&fw->held, &o->res);
	agent_touch(m, a);
	map_put(m->offers, o->id, o);
	map_put(a->offers, o->id, o);
	map_put(fw->offers, o->id, o);
	limits_offer(m, fw, 1);
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
	stats_offer(ST_OFFER_MADE);
	framework_send(m, fw, r);
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
	if ((a = map_get(m->agents, o->agent_id)) != NULL) {
		map_del(a->offers, o->id);
		agent_touch(m, a);
	}
	if ((fw = map_get(m->frameworks, o->framework_id)) != NULL) {
		map_del(fw->offers, o->id);
		res_sub(&fw->held, &o->res);
		limits_offer(m, fw, -1);
	}
	map_del(m->offers, o->id);
	res_free(&o->res);
	free(o);
}

void
offer_remove(struct master *m, struct offer *o, int rescind, int64_t refuse_ms)
{
	struct agent *a = map_get(m->agents, o->agent_id);

	if (a != NULL)
		res_sub(&a->offered, &o->res);
	if (rescind) {
		json_t *r = rec_new(R_RESCIND);

		stats_offer(ST_OFFER_RESCINDED);
		rec_set_str(r, "offer_id", o->id);
		framework_send(m, map_get(m->frameworks, o->framework_id), r);
	}
	if (a != NULL)
		alloc_recover(m, o->framework_id, o->agent_id, &o->res, refuse_ms);
	offer_free(m, o);
}

void
offers_expire(struct master *m, int64_t now)
{
	/* one timeout for all: the oldest offers expire first */
	while (m->ohead != NULL && m->ohead->expires != 0 &&
	    now >= m->ohead->expires) {
		log_info("offer %s to %s not answered in time: rescinded",
		    m->ohead->id, m->ohead->framework_id);
		stats_offer(ST_OFFER_TIMED_OUT);
		offer_remove(m, m->ohead, 1, 0);
	}
}

/*
 * The offer an ACCEPT or DECLINE answers, checked: REC has the fields of
 * SPEC, comes from the framework the offer was made to (*FW), and its
 * refuse_seconds (default: offerd --refuse) is sane (*REFUSE_MS).  NULL after an
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
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return NULL;
	}
	o = map_get(m->offers, rec_str(rec, "offer_id"));
	if (o == NULL || strcmp(o->framework_id, (*fw)->id) != 0) {
		master_error(m, from, rec, E_UNKNOWN_OFFER, "offer '%s' is not "
		    "outstanding for this framework", rec_str(rec, "offer_id"));
		return NULL;
	}
	refuse = rec_num_or(rec, "refuse_seconds", m->conf->refuse_ms / 1000.0);
	if (!(refuse >= 0) || refuse > PROTO_SECONDS_MAX) {
		master_error(m, from, rec, E_INVALID, "refuse_seconds out of "
		    "range (0 to a year)");
		return NULL;
	}
	*refuse_ms = (int64_t)(refuse * 1000);
	return o;
}

/*
 * When B, the resources of WHAT (a task, an executor), share a range value
 * with HELD, the resources of WHO: -1 with ERR naming the values (a port
 * given to two holders at once, which adding them would merge into one).
 * Else 0.
 */
int
shared_ranges(const struct res *held, const struct res *b, const char *what,
    const char *who, char *err)
{
	char buf[RES_TEXT];
	struct res both;

	switch (res_overlap(held, b, &both)) {
	case 0:
		return 0;
	case -1:
		snprintf(err, REC_ERRLEN, "out of memory");
		return -1;
	}
	snprintf(err, REC_ERRLEN, "%s asks for %.120s, which %s asks for too",
	    what, res_format(&both, buf, sizeof(buf)), who);
	res_free(&both);
	return -1;
}

/*
 * Check every task of an ACCEPT of offer O: each alone, no task id twice,
 * no range value (port) asked for twice, and all of them together within
 * O.  EACH[i] gets task i's resources and SUM their sum (with new
 * executors'); 0, or -1 with ERR.
 */
static int
accept_check(struct master *m, const struct framework *fw,
    const struct offer *o, json_t *tasks, struct res *each, struct res *sum,
    char *err)
{
	char buf[RES_TEXT], want[RES_TEXT], what[REC_ERRLEN];
	struct agent *a = map_get(m->agents, o->agent_id);
	struct res xres;
	json_t *t;
	size_t i, k, n = json_array_size(tasks);
	int need;

	for (i = 0; i < n; i++) {
		t = json_array_get(tasks, i);
		if (task_check(m, fw, o->agent_id, t, &each[i], err) == -1)
			return -1;
		for (k = 0; k < i; k++)
			if (strcmp(rec_str(json_array_get(tasks, k), "task_id"),
			    rec_str(t, "task_id")) == 0) {
				snprintf(err, REC_ERRLEN, "task '%s' is given "
				    "twice", rec_str(t, "task_id"));
				return -1;
			}
		snprintf(what, sizeof(what), "task '%s'",
		    rec_str(t, "task_id"));
		if (shared_ranges(sum, &each[i], what, "another task or "
		    "executor of the ACCEPT", err) == -1)
			return -1;
		if (res_add(sum, &each[i]) == -1) {
			snprintf(err, REC_ERRLEN, "resources overflow");
			return -1;
		}
		/* a new executor's own resources count once, with its first */
		if ((need = executor_need(m, fw, a, tasks, i, &xres, err)) == -1)
			return -1;
		if (need == 1) {
			snprintf(what, sizeof(what), "the executor of task "
			    "'%s'", rec_str(t, "task_id"));
			if (shared_ranges(sum, &xres, what, "a task or another "
			    "executor of the ACCEPT", err) == -1) {
				res_free(&xres);
				return -1;
			}
			need = res_add(sum, &xres);
			res_free(&xres);
			if (need == -1) {
				snprintf(err, REC_ERRLEN, "resources overflow");
				return -1;
			}
		}
	}
	if (!res_contains(&o->res, sum)) {
		snprintf(err, REC_ERRLEN, "tasks need %s but offer '%s' holds "
		    "%s", res_format(sum, want, sizeof(want)), o->id,
		    res_format(&o->res, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

/*
 * ACCEPT: launch the tasks on the offer's agent.  All of it is checked
 * first; on any fault nothing launches, the framework gets an ERROR and
 * the offer's resources go back to the pool.
 */
void
offer_accept(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN];
	struct framework *fw;
	struct offer *o;
	struct agent *a;
	struct res sum, *each = NULL;
	json_t *tasks;
	size_t i, n;
	int64_t refuse_ms;

	if ((o = offer_answered(m, rec, from, "offer_id:s tasks:a "
	    "?operations:a ?refuse_seconds:n", &fw, &refuse_ms)) == NULL)
		return;
	a = map_get(m->agents, o->agent_id);
	tasks = json_object_get(rec, "tasks");
	/* RESERVE and UNRESERVE first: the tasks may use what they make */
	if (json_array_size(json_object_get(rec, "operations")) > 0 &&
	    reserve_offer_ops(m, rec, from, fw, o,
	    json_object_get(rec, "operations")) == -1) {
		offer_remove(m, o, 0, 0);
		return;
	}
	if (tasks_permitted(m, rec, from, tasks) == -1) {
		offer_remove(m, o, 0, 0);
		return;
	}
	n = json_array_size(tasks);
	res_init(&sum);
	if (n > 0 && (each = calloc(n, sizeof(*each))) == NULL) {
		log_warnx("out of memory");
		return;
	}
	if (accept_check(m, fw, o, tasks, each, &sum, err) == -1) {
		master_error(m, from, rec, E_INVALID, "%s; nothing launched", err);
		offer_remove(m, o, 0, 0);
		goto done;
	}
	/* all good: the offer is consumed, the tasks launch */
	stats_offer(ST_OFFER_ACCEPTED);
	res_sub(&a->offered, &o->res);
	res_sub(&o->res, &sum);
	res_sub(&fw->held, &sum);	/* held again as tasks and executors */
	for (i = 0; i < n; i++) {
		executor_hold(m, fw, a, json_array_get(tasks, i));
		if (task_create(m, fw, a, json_array_get(tasks, i),
		    &each[i]) == -1)
			goto done;
	}
	/* what the tasks did not use goes back, refused for refuse_seconds */
	alloc_recover(m, fw->id, a->id, &o->res, refuse_ms);
	offer_free(m, o);
done:
	/* what task_create took over is empty already */
	for (i = 0; i < n; i++)
		res_free(&each[i]);
	res_free(&sum);
	free(each);
}

/* DECLINE: the offer's resources go back, refused for refuse_seconds. */
void
offer_decline(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;
	struct offer *o;
	int64_t refuse_ms;

	if ((o = offer_answered(m, rec, from, "offer_id:s ?refuse_seconds:n",
	    &fw, &refuse_ms)) == NULL)
		return;
	stats_offer(ST_OFFER_DECLINED);
	offer_remove(m, o, 0, refuse_ms);
}
