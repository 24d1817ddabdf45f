/*
 * Frameworks: subscription (new, again after a failover, again after a
 * master restart), their liveness (heartbeats, inactive, back again), the
 * SUPPRESS and REVIVE they relay to the allocator, and their removal
 * (TEARDOWN, or their failover timeout passed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define HEARTBEAT_S	1.0	/* how often schedulers are told to heartbeat */

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

/*
 * A framework known only because an agent runs its tasks (after a master
 * restart): it has recovery_ms to subscribe again before they are killed.
 */
struct framework *
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
	fw->failover_ms = m->conf->recovery_ms;
	state_mark(m, m->seen_fw, fw->id, NULL);
	r = json_pack("{s:s,s:s,s:s}", "type", A_FRAMEWORK_ADD,
	    "framework_id", fw->id, "role", fw->role);
	alloc_send(m, r);
	r = json_pack("{s:s,s:s}", "type", R_SUPPRESS, "framework_id", fw->id);
	alloc_send(m, r);
	log_info("framework %s: tasks reported by an agent; waiting %lld ms "
	    "for it to subscribe again", fw->id, (long long)m->conf->recovery_ms);
	return fw;
}

void
framework_send(struct master *m, struct framework *fw, json_t *rec)
{
	if (fw == NULL || fw->route.len == 0) {
		json_decref(rec);
		return;
	}
	master_reply(m, &fw->route, rec);
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
		alloc_send(m, r);
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
	alloc_send(m, r);
}

/* Forget FW: its offers go back, its tasks are killed. */
static void
framework_remove(struct master *m, struct framework *fw)
{
	struct offer *o;
	struct task *t;
	size_t pos = 0;
	int live = 0;

	log_info("framework %s (%s) removed", fw->id, fw->name);
	while ((o = map_next(fw->offers, &pos, NULL)) != NULL)
		offer_remove(m, o, 0, 0);
	for (pos = 0; (t = map_next(fw->tasks, &pos, NULL)) != NULL;)
		if (!t->ended)
			task_kill_now(m, t);
	executors_framework_gone(m, fw->id);
	for (pos = 0; (t = map_next(fw->tasks, &pos, NULL)) != NULL;)
		live += !t->ended;
	live += executors_of(m, fw->id);
	alloc_framework_remove(m, fw->id, fw->role, live);
	state_mark(m, m->removed_fw, fw->id, NULL);
	limits_framework_del(m, fw->route.principal);
	shared_gone(m, fw);
	fw->active = 0;
	fw->route.len = 0;
	/* kept until its tasks are gone so their last updates find no one */
	map_del(m->frameworks, fw->id);
	json_decref(fw->filters);
	map_destroy(fw->tasks);
	map_destroy(fw->offers);
	res_free(&fw->held);
	free(fw);
}

/* Check a SUBSCRIBE's filters; -1 after an ERROR to the sender. */
static int
subscribe_check_filters(struct master *m, json_t *rec,
    const struct net_route *from, json_t *filters)
{
	char err[REC_ERRLEN];
	const char *fa = rec_str(filters, "attributes");
	const char *fm = rec_str(filters, "min");
	struct res tmp;

	if (fa != NULL && attr_check(fa, err) == -1) {
		master_error(m, from, rec, E_INVALID, "filters.attributes: %s",
		    err);
		return -1;
	}
	if (fm != NULL) {
		if (res_parse(fm, &tmp, err) == -1) {
			master_error(m, from, rec, E_INVALID, "filters.min: %s",
			    err);
			return -1;
		}
		res_free(&tmp);
	}
	return 0;
}

/* Check a SUBSCRIBE; -1 after an ERROR to the sender. */
static int
subscribe_check(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN];
	const char *want_id = rec_str(rec, "framework_id");
	const char *role = rec_str(rec, "role");
	const char *mode = rec_str(rec, "mode");
	json_t *filters = json_object_get(rec, "filters");

	if (rec_require(rec, "name:s ?role:s ?framework_id:s ?filters:o "
	    "?failover_timeout:n ?mode:s", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return -1;
	}
	if (mode != NULL && strcmp(mode, MODE_OFFERS) != 0 &&
	    strcmp(mode, MODE_OPTIMISTIC) != 0) {
		master_error(m, from, rec, E_INVALID, "mode: '%s' or '%s'",
		    MODE_OFFERS, MODE_OPTIMISTIC);
		return -1;
	}
	if (want_id != NULL && !id_valid(want_id)) {
		master_error(m, from, rec, E_INVALID,
		    "framework_id: not a valid id");
		return -1;
	}
	if (role != NULL && !id_valid(role) && strcmp(role, "*") != 0) {
		master_error(m, from, rec, E_INVALID,
		    "role: not a valid role name");
		return -1;
	}
	if (filters != NULL &&
	    subscribe_check_filters(m, rec, from, filters) == -1)
		return -1;
	/* each subscription, a failover too: the role may be another */
	if (master_may(m, from, rec, ACL_REGISTER, role ? role : "*") == -1)
		return -1;
	if (want_id != NULL && map_get(m->removed_fw, want_id) != NULL) {
		master_error(m, from, rec, E_REMOVED, "framework '%s' was "
		    "removed; subscribe without an id to start anew", want_id);
		return -1;
	}
	return 0;
}

/* SUBSCRIBE: a framework, new or returning, is told its id. */
void
framework_subscribe(struct master *m, json_t *rec, const struct net_route *from)
{
	char id[ID_LEN];
	const char *want_id = rec_str(rec, "framework_id");
	const char *role = rec_str(rec, "role");
	struct framework *fw;
	json_t *ok, *add, *filters = json_object_get(rec, "filters");
	int again = 0;

	if (subscribe_check(m, rec, from) == -1 ||
	    state_owner_check(m, m->seen_fw, from, rec, "framework",
	    want_id) == -1)
		return;
	fw = want_id != NULL ? map_get(m->frameworks, want_id) : NULL;
	/* failover is for the same principal only */
	if (fw != NULL && master_owner(m, &fw->route, from, rec, "framework",
	    fw->id) == -1)
		return;
	/* new to its principal: within -L frameworks */
	if ((fw == NULL || fw->route.principal[0] == '\0') &&
	    limits_framework_add(m, rec, from) == -1)
		return;
	if (fw == NULL) {
		/* a first subscription, also with an id the framework made */
		if ((fw = framework_new(m, want_id ? want_id :
		    id_new("fw", id, sizeof(id)))) == NULL) {
			limits_framework_del(m, from->principal);
			return;
		}
	} else
		again = fw->active || fw->inactive_since != 0 ||
		    fw->placeholder;
	strlcpy(fw->name, rec_str(rec, "name"), sizeof(fw->name));
	strlcpy(fw->role, role ? role : "*", sizeof(fw->role));
	fw->failover_ms = rec_num_or(rec, "failover_timeout", 0) * 1000;
	json_decref(fw->filters);
	fw->filters = json_incref(filters);
	fw->route = *from;
	fw->last_seen = now_ms();
	state_mark(m, m->seen_fw, fw->id, from->principal);
	log_info("framework %s (%s) %s in role %s", fw->id, fw->name,
	    again ? "subscribed again" : "subscribed", fw->role);
	ok = rec_new(R_SUBSCRIBED);
	rec_set_str(ok, "framework_id", fw->id);
	rec_set_num(ok, "heartbeat_interval", HEARTBEAT_S);
	master_reply(m, from, ok);
	add = rec_new(A_FRAMEWORK_ADD);
	rec_set_str(add, "framework_id", fw->id);
	rec_set_str(add, "role", fw->role);
	if (filters != NULL)
		json_object_set(add, "filters", filters);
	alloc_send(m, add);
	shared_subscribed(m, fw, rec_str(rec, "mode") != NULL &&
	    strcmp(rec_str(rec, "mode"), MODE_OPTIMISTIC) == 0);
	framework_activate(m, fw);
}

/*
 * The framework REC names, subscribed (not a placeholder); NULL after an
 * ERROR.  Whose it is, is the caller's to check.
 */
static struct framework *
framework_find(struct master *m, json_t *rec, const struct net_route *from)
{
	const char *id = rec_str(rec, "framework_id");
	struct framework *fw;

	if (id == NULL) {
		master_error(m, from, rec, E_MALFORMED, "%s: field "
		    "'framework_id' is missing", rec_type(rec));
		return NULL;
	}
	if ((fw = map_get(m->frameworks, id)) == NULL) {
		master_error(m, from, rec, E_UNKNOWN_FRAMEWORK, "unknown "
		    "framework '%s' (SUBSCRIBE first)", id);
		return NULL;
	}
	if (fw->placeholder) {
		master_error(m, from, rec, E_RESUBSCRIBE, "framework '%s' must "
		    "SUBSCRIBE again (with its id) after the master restarted",
		    id);
		return NULL;
	}
	return fw;
}

/* FW is heard from over FROM, its own principal's connection. */
static void
framework_seen(struct master *m, struct framework *fw,
    const struct net_route *from)
{
	fw->route = *from;
	fw->last_seen = now_ms();
	framework_activate(m, fw);
}

struct framework *
framework_of(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;

	if ((fw = framework_find(m, rec, from)) == NULL ||
	    master_owner(m, &fw->route, from, rec, "framework", fw->id) == -1)
		return NULL;
	framework_seen(m, fw, from);
	return fw;
}

struct framework *
framework_to_kill(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;

	if ((fw = framework_find(m, rec, from)) == NULL)
		return NULL;
	switch (master_kills(m, &fw->route, from, rec, "framework", fw->id)) {
	case -1:
		return NULL;
	case 0:
		framework_seen(m, fw, from);
	}
	return fw;
}

/*
 * A framework's HEARTBEAT; one a master restart forgot is asked to
 * subscribe again.
 */
void
framework_heartbeat(struct master *m, json_t *rec, const struct net_route *from)
{
	const char *fid = rec_str(rec, "framework_id");
	struct framework *fw = map_get(m->frameworks, fid);

	if ((fw == NULL || fw->placeholder) &&
	    map_get(m->removed_fw, fid) == NULL) {
		json_t *r = rec_new(R_REREGISTER);

		rec_set_str(r, "framework_id", fid);
		master_reply(m, from, r);
		return;
	}
	framework_of(m, rec, from);
}

/* Relay a framework's SUPPRESS or REVIVE to the allocator. */
void
framework_relay(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw;
	json_t *r;

	if ((fw = framework_of(m, rec, from)) == NULL)
		return;
	if (fw->optimistic) {
		master_error(m, from, rec, E_INVALID, "framework '%s' is "
		    "optimistic: it is never offered anything", fw->id);
		return;
	}
	fw->suppressed = strcmp(rec_type(rec), R_SUPPRESS) == 0;
	r = rec_new(rec_type(rec));
	rec_set_str(r, "framework_id", fw->id);
	alloc_send(m, r);
}

/*
 * TEARDOWN: the framework is done (or an operator the ACL permits ends
 * it); it is removed at once, and the sender told, so that it need not
 * wait to be sure its TEARDOWN arrived before it closes its socket.
 */
void
framework_teardown(struct master *m, json_t *rec, const struct net_route *from)
{
	struct framework *fw = framework_to_kill(m, rec, from);
	json_t *r;

	if (fw == NULL)
		return;
	r = rec_new(R_TORN_DOWN);
	rec_set_str(r, "framework_id", fw->id);
	framework_remove(m, fw);
	master_reply(m, from, r);
}

void
frameworks_scan(struct master *m, int64_t now)
{
	struct framework *fw;
	size_t pos;

	for (pos = 0; (fw = map_next(m->frameworks, &pos, NULL)) != NULL;) {
		if (fw->active &&
		    now - fw->last_seen > m->conf->framework_timeout_ms) {
			log_warnx("framework %s (%s) silent for %lld ms: "
			    "inactive", fw->id, fw->name,
			    (long long)(now - fw->last_seen));
			framework_deactivate(m, fw);
		}
		if (!fw->active && now - fw->inactive_since >= fw->failover_ms)
			framework_remove(m, fw);
	}
}
