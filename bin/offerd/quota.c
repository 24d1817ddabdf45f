/*
 * Quota: each role's guarantee and limit, as operators set them
 * (SET_QUOTA), checked here, kept in the durable state (state.c, key
 * "quota") and told to the allocator (QUOTA, see drf-alloc(8)), which
 * enforces them.  m->quota maps a role to {"guarantee":RES,"limit":RES},
 * either absent when not set; the texts are normalized by res_format.
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
 * Parse field KEY of REC (absent or "": none) into OUT (initialised
 * either way) and its normalized text into TEXT.  Returns 0, or -1
 * after an ERROR to FROM.
 */
static int
quota_field(struct master *m, const struct net_route *from, json_t *rec,
    const char *key, struct res *out, char *text)
{
	const char *s = rec_str(rec, key);
	char err[RES_ERRLEN];
	int i;

	res_init(out);
	text[0] = '\0';
	if (s == NULL || *s == '\0')
		return 0;
	if (res_parse(s, out, err) == -1) {
		master_error(m, from, rec, E_INVALID, "%s: %s", key, err);
		return -1;
	}
	for (i = 0; i < out->n; i++)
		if (out->it[i].kind != RES_SCALAR ||
		    out->it[i].name[res_base_len(out->it[i].name)] != '\0') {
			master_error(m, from, rec, E_INVALID, "%s: %s is not an "
			    "unreserved scalar: a quota counts those only", key,
			    out->it[i].name);
			res_free(out);
			return -1;
		}
	res_format(out, text, RES_TEXT);
	return 0;
}

/* A scalar of G above its counterpart in L (NULL: none is). */
static const char *
quota_over_limit(const struct res *g, const struct res *l)
{
	int i;

	for (i = 0; i < g->n; i++)
		if (res_has(l, g->it[i].name) &&
		    g->it[i].milli > res_get(l, g->it[i].name))
			return g->it[i].name;
	return NULL;
}

/*
 * The scalar the guarantees would sum above the cluster's total with
 * ROLE's guarantee G instead of its present one (NULL: none would).
 */
static const char *
quota_over_cluster(struct master *m, const char *role, const struct res *g,
    struct res *sum)
{
	static char name[RES_NAMELEN];
	struct res total, other, flat;
	const char *key, *over = NULL;
	json_t *v;
	int i;

	res_init(sum);
	res_add(sum, g);
	json_object_foreach(m->quota, key, v) {
		const char *s = rec_str(v, "guarantee");
		char err[RES_ERRLEN];

		if (strcmp(key, role) == 0 || s == NULL ||
		    res_parse(s, &other, err) == -1)
			continue;
		res_add(sum, &other);
		res_free(&other);
	}
	/* reserved or not, the cluster has them */
	cluster_total(m, &flat);
	if (res_collapse(&flat, &total) == -1)
		res_init(&total);
	res_free(&flat);
	for (i = 0; i < sum->n && over == NULL; i++)
		if (sum->it[i].milli > res_get(&total, sum->it[i].name)) {
			strlcpy(name, sum->it[i].name, sizeof(name));
			over = name;
		}
	res_free(&total);
	return over;
}

/* Tell the allocator ROLE's quota Q (NULL: none any more). */
static void
quota_tell(struct master *m, const char *role, const json_t *q)
{
	json_t *r = rec_new(A_QUOTA);

	rec_set_str(r, "role", role);
	if (q != NULL && rec_str(q, "guarantee") != NULL)
		rec_set_str(r, "guarantee", rec_str(q, "guarantee"));
	if (q != NULL && rec_str(q, "limit") != NULL)
		rec_set_str(r, "limit", rec_str(q, "limit"));
	alloc_send(m, r);
}

void
quota_send_all(struct master *m)
{
	const char *role;
	json_t *v;

	json_object_foreach(m->quota, role, v)
		quota_tell(m, role, v);
}

/*
 * Check the SET_QUOTA REC of FROM against the cluster: ERROR (and -1)
 * when its guarantee is over its limit or the guarantees would sum above
 * what the cluster has; 0 when it may be taken.
 */
static int
quota_check(struct master *m, json_t *rec, const struct net_route *from,
    const struct res *g, const struct res *l)
{
	const char *role = rec_str(rec, "role"), *name;
	char buf[RES_TEXT];
	struct res sum;

	if ((name = quota_over_limit(g, l)) != NULL) {
		master_error(m, from, rec, E_INVALID, "role %s: the guarantee "
		    "of %s is over its limit", role, name);
		return -1;
	}
	if ((name = quota_over_cluster(m, role, g, &sum)) != NULL) {
		master_error(m, from, rec, E_OVER_CLUSTER, "role %s: the "
		    "guarantees would sum to %s, more %s than the cluster's "
		    "agents have", role, res_format(&sum, buf, sizeof(buf)),
		    name);
		res_free(&sum);
		return -1;
	}
	res_free(&sum);
	return 0;
}

/*
 * SET_QUOTA: a role's guarantee and limit; neither (or both empty)
 * removes its quota, which is an error when it has none.
 */
void
quota_set(struct master *m, json_t *rec, const struct net_route *from)
{
	char err[REC_ERRLEN], gtext[RES_TEXT], ltext[RES_TEXT];
	const char *role;
	struct res g, l;
	json_t *q = NULL, *ans, *old;

	if (rec_require(rec, "role:s ?guarantee:s ?limit:s", err) == -1) {
		master_error(m, from, rec, E_MALFORMED, "%s", err);
		return;
	}
	role = rec_str(rec, "role");
	if (!id_valid(role) && strcmp(role, "*") != 0) {
		master_error(m, from, rec, E_INVALID,
		    "role: not a valid role name");
		return;
	}
	if (quota_field(m, from, rec, "guarantee", &g, gtext) == -1)
		return;
	if (quota_field(m, from, rec, "limit", &l, ltext) == -1) {
		res_free(&g);
		return;
	}
	if (master_may(m, from, rec, ACL_QUOTA, role) == -1 ||
	    quota_check(m, rec, from, &g, &l) == -1)
		goto done;
	if (gtext[0] == '\0' && ltext[0] == '\0' &&
	    json_object_get(m->quota, role) == NULL) {
		master_error(m, from, rec, E_INVALID, "role %s has no quota "
		    "to remove", role);
		goto done;
	}
	old = json_incref(json_object_get(m->quota, role));
	if (gtext[0] != '\0' || ltext[0] != '\0') {
		q = json_object();
		if (gtext[0] != '\0')
			rec_set_str(q, "guarantee", gtext);
		if (ltext[0] != '\0')
			rec_set_str(q, "limit", ltext);
		json_object_set(m->quota, role, q);
	} else
		json_object_del(m->quota, role);
	/* it survives a restart: the registry has it before the answer */
	m->state_dirty = 2;
	if (state_commit(m) == -1) {
		if (old != NULL)
			json_object_set(m->quota, role, old);
		else
			json_object_del(m->quota, role);
		json_decref(old);
		json_decref(q);
		master_error(m, from, rec, E_UNAVAILABLE, "the registry cannot "
		    "be written: the quota of %s is unchanged", role);
		goto done;
	}
	json_decref(old);
	log_info("role %s: guarantee %s, limit %s, set by %s", role,
	    gtext[0] ? gtext : "none", ltext[0] ? ltext : "none",
	    from->principal[0] != '\0' ? from->principal : "an operator");
	quota_tell(m, role, q);
	ans = rec_new(R_QUOTA_SET);
	rec_set_str(ans, "role", role);
	if (gtext[0] != '\0')
		rec_set_str(ans, "guarantee", gtext);
	if (ltext[0] != '\0')
		rec_set_str(ans, "limit", ltext);
	master_reply(m, from, ans);
	json_decref(q);
done:
	res_free(&g);
	res_free(&l);
}

json_t *
quota_items(struct master *m)
{
	json_t *items = json_array(), *v, *it;
	const char *role;

	json_object_foreach(m->quota, role, v) {
		it = json_deep_copy(v);
		rec_set_str(it, "role", role);
		json_array_append_new(items, it);
	}
	return items;
}

/* True when S is absent or resources (a saved quota's text). */
static int
quota_text_ok(const char *s, char *err)
{
	struct res r;

	if (s == NULL)
		return 1;
	if (res_parse(s, &r, err) == -1)
		return 0;
	res_free(&r);
	return 1;
}

void
quota_load(struct master *m, const json_t *saved)
{
	char err[RES_ERRLEN];
	const char *role;
	json_t *v;

	json_object_foreach((json_t *)saved, role, v) {
		const char *g = rec_str(v, "guarantee"), *l = rec_str(v, "limit");

		if ((!id_valid(role) && strcmp(role, "*") != 0) ||
		    (g == NULL && l == NULL))
			continue;
		if (!quota_text_ok(g, err) || !quota_text_ok(l, err)) {
			log_warnx("state: quota of role %s: %s: ignored",
			    role, err);
			continue;
		}
		json_object_set(m->quota, role, v);
	}
}
