/*
 * Dynamic reservations: an operator reserves free resources of an agent
 * to a role (RESERVE) and gives them back (UNRESERVE).  A reservation
 * renames what it holds ("cpus" becomes "cpus(analytics)") in the agent's
 * total, which the allocator then offers only to that role (drf-alloc(8),
 * RESERVATIONS).  m->reservations maps an agent id to what is reserved on
 * it dynamically, as reserved resources; it is kept in the durable state
 * (state.c, key "reservations") and applied again to the total each time
 * the agent registers, so that it outlives restarts of agentd and offerd.
 * Static reservations (agentd -R) are the agent's own: never undone here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "rec.h"
#include "res.h"
#include "util.h"

/*
 * TO (not initialised) = FROM's resources, all unreserved, renamed as
 * reserved to ROLE.  Returns 0, or -1 with ERR (RES_ERRLEN bytes).
 */
static int
reserve_rename(const struct res *from, const char *role, struct res *to,
    char *err)
{
	int i;

	if (res_copy(to, from) == -1) {
		snprintf(err, RES_ERRLEN, "out of memory");
		return -1;
	}
	for (i = 0; i < to->n; i++) {
		char name[RES_NAMELEN];

		if (to->it[i].name[res_base_len(to->it[i].name)] != '\0') {
			snprintf(err, RES_ERRLEN, "%s is reserved already: "
			    "name resources without a role", to->it[i].name);
			res_free(to);
			return -1;
		}
		if ((size_t)snprintf(name, sizeof(name), "%s(%s)",
		    to->it[i].name, role) >= sizeof(name)) {
			snprintf(err, RES_ERRLEN, "%s(%s) is longer than %d "
			    "characters", to->it[i].name, role, RES_NAMELEN - 1);
			res_free(to);
			return -1;
		}
		strlcpy(to->it[i].name, name, sizeof(to->it[i].name));
	}
	return 0;
}

/* FROM (not initialised) = the reserved resources R with their roles taken off. */
static int
reserve_unname(const struct res *r, struct res *from)
{
	int i;

	if (res_copy(from, r) == -1)
		return -1;
	for (i = 0; i < from->n; i++)
		from->it[i].name[res_base_len(from->it[i].name)] = '\0';
	return 0;
}

/*
 * Swap OUT for IN in agent A's total (OUT is within it).  Returns 0, or -1
 * with the total unchanged.
 */
static int
reserve_swap(struct master *m, struct agent *a, const struct res *out,
    const struct res *in)
{
	struct res t;

	if (res_copy(&t, &a->total) == -1)
		return -1;
	if (res_sub(&t, out) == -1 || res_add(&t, in) == -1) {
		res_free(&t);
		return -1;
	}
	res_free(&a->total);
	a->total = t;
	agent_touch(m, a);
	return 0;
}

/* Agent A's dynamic reservation, as kept, into *DYN (empty: none). */
static void
reserve_dynamic(struct master *m, const struct agent *a, struct res *dyn)
{
	char err[RES_ERRLEN];
	const char *s;

	res_init(dyn);
	if ((s = rec_str(m->reservations, a->id)) != NULL &&
	    res_parse(s, dyn, err) == -1)
		res_init(dyn);
}

void
reserve_apply(struct master *m, struct agent *a)
{
	char err[RES_ERRLEN], buf[RES_TEXT];
	const char *s = rec_str(m->reservations, a->id);
	struct res r, from;

	if (s == NULL || res_parse(s, &r, err) == -1)
		return;
	if (reserve_unname(&r, &from) == -1 || !res_contains(&a->total, &from) ||
	    reserve_swap(m, a, &from, &r) == -1)
		log_warnx("agent %s: its reservation %s does not fit its "
		    "resources %s: not applied until it does", a->id, s,
		    res_format(&a->total, buf, sizeof(buf)));
	res_free(&r);
	res_free(&from);
}

/* Rescind every outstanding offer of agent A: what they hold is free again. */
static void
reserve_rescind(struct master *m, struct agent *a)
{
	struct offer *o;
	size_t pos;

	for (pos = 0; (o = map_next(a->offers, &pos, NULL)) != NULL;)
		offer_remove(m, o, 1, 0);
}

/*
 * Parse REC (RESERVE or UNRESERVE) into its agent *A, its unreserved
 * resources FROM and their reserved names TO.  Returns 0, or -1 after an
 * ERROR to FROM_ROUTE (nothing to free).
 */
static int
reserve_parse(struct master *m, json_t *rec, const struct net_route *route,
    struct agent **a, struct res *from, struct res *to)
{
	char err[REC_ERRLEN];
	const char *role;

	if (rec_require(rec, "agent_id:s role:s resources:s", err) == -1) {
		master_error(m, route, rec, E_MALFORMED, "%s", err);
		return -1;
	}
	role = rec_str(rec, "role");
	if (!id_valid(role)) {
		master_error(m, route, rec, E_INVALID, "role: not a role name "
		    "a reservation can have (not \"*\")");
		return -1;
	}
	if (res_parse(rec_str(rec, "resources"), from, err) == -1) {
		master_error(m, route, rec, E_INVALID, "resources: %s", err);
		return -1;
	}
	if (res_empty(from) || reserve_rename(from, role, to, err) == -1) {
		master_error(m, route, rec, E_INVALID, "resources: %s",
		    res_empty(from) ? "nothing to reserve" : err);
		res_free(from);
		return -1;
	}
	if (master_may(m, route, rec, ACL_RESERVE, role) == -1)
		goto fail;
	*a = map_get(m->agents, rec_str(rec, "agent_id"));
	if (*a == NULL || !(*a)->active) {
		master_error(m, route, rec, E_UNKNOWN_AGENT, "no active agent "
		    "'%s'", rec_str(rec, "agent_id"));
		goto fail;
	}
	return 0;
fail:
	res_free(from);
	res_free(to);
	return -1;
}

/*
 * Check that NEED of agent A is free once its offers are rescinded, and
 * then rescind them; an ERROR to ROUTE and -1 (nothing rescinded) when
 * its tasks use some of it.
 */
static int
reserve_free(struct master *m, json_t *rec, const struct net_route *route,
    struct agent *a, const struct res *need)
{
	char buf[RES_TEXT];
	struct res free_;
	int ok;

	agent_free(a, &free_);
	ok = res_add(&free_, &a->offered) == 0 && res_contains(&free_, need);
	if (ok)
		reserve_rescind(m, a);
	else
		master_error(m, route, rec, E_INVALID, "agent %s has %s free, "
		    "not all of %s: its tasks use the rest", a->id,
		    res_format(&free_, buf, sizeof(buf)), rec_str(rec,
		    "resources"));
	res_free(&free_);
	return ok ? 0 : -1;
}

/*
 * Make DYN, agent A's dynamic reservation after the change (A's total
 * had OUT swapped for IN), the one kept, tell the allocator A's new
 * total, and answer RESERVED to ROUTE; when the registry cannot keep it,
 * undo the change and answer "unavailable".
 */
static void
reserve_done(struct master *m, json_t *rec, const struct net_route *route,
    struct agent *a, const struct res *dyn, const struct res *out,
    const struct res *in)
{
	char buf[RES_TEXT];
	json_t *ans, *old;

	old = json_incref(json_object_get(m->reservations, a->id));
	if (res_empty(dyn))
		json_object_del(m->reservations, a->id);
	else
		json_object_set_new(m->reservations, a->id,
		    json_string(res_format(dyn, buf, sizeof(buf))));
	/* it survives a restart: the registry has it before the answer */
	m->state_dirty = 2;
	if (state_commit(m) == -1) {
		if (old != NULL)
			json_object_set(m->reservations, a->id, old);
		else
			json_object_del(m->reservations, a->id);
		json_decref(old);
		reserve_swap(m, a, in, out);	/* room for it: it was there */
		alloc_agent_add(m, a, 0);
		master_error(m, route, rec, E_UNAVAILABLE, "the registry cannot "
		    "be written: agent %s's reservations are unchanged", a->id);
		return;
	}
	json_decref(old);
	alloc_agent_add(m, a, 0);
	log_info("agent %s: %s %s for role %s by %s; it has %s", a->id,
	    rec_type(rec), rec_str(rec, "resources"), rec_str(rec, "role"),
	    route->principal[0] != '\0' ? route->principal : "an operator",
	    res_format(&a->total, buf, sizeof(buf)));
	ans = rec_new(R_RESERVED);
	rec_set_str(ans, "agent_id", a->id);
	rec_set_str(ans, "resources", buf);
	master_reply(m, route, ans);
}

/* RESERVE: free unreserved resources of an agent become a role's. */
void
reserve_request(struct master *m, json_t *rec, const struct net_route *from)
{
	struct res un, re, dyn;
	struct agent *a;

	if (reserve_parse(m, rec, from, &a, &un, &re) == -1)
		return;
	reserve_dynamic(m, a, &dyn);
	if (reserve_free(m, rec, from, a, &un) == -1)
		goto done;
	if (res_add(&dyn, &re) == -1 || reserve_swap(m, a, &un, &re) == -1) {
		master_error(m, from, rec, E_INVALID, "agent %s: more "
		    "resource names than a vector holds", a->id);
		goto done;
	}
	reserve_done(m, rec, from, a, &dyn, &un, &re);
done:
	res_free(&un);
	res_free(&re);
	res_free(&dyn);
}

/* UNRESERVE: a dynamic reservation, free, goes back to every role. */
void
reserve_release(struct master *m, json_t *rec, const struct net_route *from)
{
	struct res un, re, dyn;
	struct agent *a;

	if (reserve_parse(m, rec, from, &a, &un, &re) == -1)
		return;
	reserve_dynamic(m, a, &dyn);
	if (!res_contains(&dyn, &re)) {
		master_error(m, from, rec, E_INVALID, "agent %s has not %s "
		    "reserved dynamically for role %s", a->id,
		    rec_str(rec, "resources"), rec_str(rec, "role"));
		goto done;
	}
	if (reserve_free(m, rec, from, a, &re) == -1)
		goto done;
	if (res_sub(&dyn, &re) == -1 || reserve_swap(m, a, &re, &un) == -1) {
		master_error(m, from, rec, E_NO_MEMORY, "out of memory");
		goto done;
	}
	reserve_done(m, rec, from, a, &dyn, &re, &un);
done:
	res_free(&un);
	res_free(&re);
	res_free(&dyn);
}

/* The state of an ACCEPT's operations, applied to copies until all pass. */
struct ops {
	struct res	 offer, total, dyn;
};

/*
 * Apply one operation OP (RESERVE or UNRESERVE, of ROLE) to the copies in
 * S.  Returns 0, or -1 with ERR (RES_ERRLEN bytes).
 */
static int
reserve_op(struct ops *s, const json_t *op, const char *role, char *err)
{
	const char *type = rec_str(op, "type"), *text = rec_str(op, "resources");
	struct res un, re;
	int rc = -1, i;

	if (type == NULL || text == NULL || (strcmp(type, R_RESERVE) != 0 &&
	    strcmp(type, R_UNRESERVE) != 0)) {
		snprintf(err, RES_ERRLEN, "each operation is {\"type\": "
		    "\"RESERVE\" or \"UNRESERVE\", \"resources\": string}");
		return -1;
	}
	if (strcmp(type, R_RESERVE) == 0) {
		if (res_parse(text, &un, err) == -1)
			return -1;
		if (reserve_rename(&un, role, &re, err) == -1) {
			res_free(&un);
			return -1;
		}
	} else {
		if (res_parse(text, &re, err) == -1)
			return -1;
		for (i = 0; i < re.n; i++)
			if (!res_reserved_to(re.it[i].name, role)) {
				snprintf(err, RES_ERRLEN, "UNRESERVE: %s is not "
				    "reserved to role %s", re.it[i].name, role);
				res_free(&re);
				return -1;
			}
		if (reserve_unname(&re, &un) == -1) {
			res_free(&re);
			snprintf(err, RES_ERRLEN, "out of memory");
			return -1;
		}
	}
	if (strcmp(type, R_RESERVE) == 0 ? !res_contains(&s->offer, &un) :
	    !res_contains(&s->offer, &re) || !res_contains(&s->dyn, &re))
		snprintf(err, RES_ERRLEN, "%s %s: %s", type, text,
		    strcmp(type, R_RESERVE) == 0 ? "not within the offer" :
		    "not in the offer as a dynamic reservation");
	else if (strcmp(type, R_RESERVE) == 0 ? res_sub(&s->offer, &un) ||
	    res_add(&s->offer, &re) || res_sub(&s->total, &un) ||
	    res_add(&s->total, &re) || res_add(&s->dyn, &re) :
	    res_sub(&s->offer, &re) || res_add(&s->offer, &un) ||
	    res_sub(&s->total, &re) || res_add(&s->total, &un) ||
	    res_sub(&s->dyn, &re))
		snprintf(err, RES_ERRLEN, "%s %s: more resource names than a "
		    "vector holds", type, text);
	else
		rc = 0;
	res_free(&un);
	res_free(&re);
	return rc;
}

int
reserve_offer_ops(struct master *m, json_t *rec, const struct net_route *from,
    struct framework *fw, struct offer *o, json_t *ops)
{
	char err[RES_ERRLEN], buf[RES_TEXT];
	struct agent *a = map_get(m->agents, o->agent_id);
	struct ops s;
	json_t *op;
	size_t i;

	if (strcmp(fw->role, "*") == 0) {
		master_error(m, from, rec, E_INVALID, "a framework of role * "
		    "reserves nothing: subscribe in a role");
		return -1;
	}
	if (a == NULL || master_may(m, from, rec, ACL_RESERVE, fw->role) == -1)
		return -1;
	reserve_dynamic(m, a, &s.dyn);
	if (res_copy(&s.offer, &o->res) == -1 ||
	    res_copy(&s.total, &a->total) == -1) {
		res_free(&s.dyn);
		master_error(m, from, rec, E_NO_MEMORY, "out of memory");
		return -1;
	}
	json_array_foreach(ops, i, op)
		if (reserve_op(&s, op, fw->role, err) == -1) {
			master_error(m, from, rec, E_INVALID, "operation %zu: "
			    "%s; nothing launched", i, err);
			res_free(&s.offer);
			res_free(&s.total);
			res_free(&s.dyn);
			return -1;
		}
	/* the allocator: the old offer back, the new total, the new offer held */
	alloc_recover(m, fw->id, a->id, &o->res, 0);
	res_sub(&a->offered, &o->res);
	res_add(&a->offered, &s.offer);
	res_sub(&fw->held, &o->res);
	res_add(&fw->held, &s.offer);
	res_free(&o->res);
	o->res = s.offer;
	res_free(&a->total);
	a->total = s.total;
	agent_touch(m, a);
	alloc_agent_add(m, a, 0);
	alloc_claim(m, fw->id, a->id, &o->res);
	if (res_empty(&s.dyn))
		json_object_del(m->reservations, a->id);
	else
		json_object_set_new(m->reservations, a->id,
		    json_string(res_format(&s.dyn, buf, sizeof(buf))));
	res_free(&s.dyn);
	m->state_dirty = 2;
	log_info("agent %s: framework %s (role %s) changed its reservations; "
	    "it has %s", a->id, fw->id, fw->role, res_format(&a->total, buf,
	    sizeof(buf)));
	return 0;
}
