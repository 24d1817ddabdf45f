/*
 * Control: what operators change.  SET_WEIGHT changes a role's weight in
 * the allocator, and the weights set are kept (state.c) and read back by
 * QUERY "weights" (query.c).
 */
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
	json_t *r, *old;

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
	old = json_incref(json_object_get(m->weights, rec_str(rec, "role")));
	json_object_set_new(m->weights, rec_str(rec, "role"), json_real(w));
	/* it survives a restart: the registry has it before the answer */
	m->state_dirty = 2;
	if (state_commit(m) == -1) {
		if (old != NULL)
			json_object_set(m->weights, rec_str(rec, "role"), old);
		else
			json_object_del(m->weights, rec_str(rec, "role"));
		json_decref(old);
		master_error(m, from, rec, E_UNAVAILABLE, "the registry cannot "
		    "be written: the weight of %s is unchanged",
		    rec_str(rec, "role"));
		return;
	}
	json_decref(old);
	log_info("role %s: weight %g, set by %s", rec_str(rec, "role"), w,
	    from->principal[0] != '\0' ? from->principal : "an operator");
	r = rec_new(A_WEIGHT);
	rec_set_str(r, "role", rec_str(rec, "role"));
	rec_set_num(r, "weight", w);
	alloc_send(m, r);
	master_reply(m, from, json_pack("{s:s,s:s,s:f}", "type", R_WEIGHT_SET,
	    "role", rec_str(rec, "role"), "weight", w));
}
