/*
 * The master's hub: the one table from record type to handler, the
 * helpers every handler answers with, and the timers that run each tick.
 * What a record does is in the file of its role (see offerd.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define RECV_BATCH	4096	/* records per poll, so that no side starves */
#define SCAN_MS		250	/* agent and framework timeouts are checked */
#define REFUSALS_LOGGED	20	/* a second; the rest are counted */

void
master_reply(struct master *m, const struct net_route *to, json_t *rec)
{
	if (net_send(m->hub, to, rec) == -1)
		log_debug("send %s: dropped", rec_type(rec));
	else
		stats_record(1, rec_type(rec));
	json_decref(rec);
}

/* A principal's name for the log: none with --insecure. */
static const char *
who(const struct net_route *from)
{
	return from->principal[0] != '\0' ? from->principal : "(none)";
}

/*
 * Log the refusal of ABOUT from FROM, unless REFUSALS_LOGGED were logged
 * in this second already: those are counted, and the count is logged
 * with the first refusal of a later second.
 */
static void
refusal_log(struct master *m, const struct net_route *from,
    const json_t *about, const char *code, const char *msg)
{
	int64_t now = now_ms();

	if (now - m->refusals_since >= 1000) {
		if (m->refusals_quiet > 0)
			log_warnx("%ld more refusals were not logged (at most "
			    "%d a second)", m->refusals_quiet, REFUSALS_LOGGED);
		m->refusals_since = now;
		m->refusals_logged = m->refusals_quiet = 0;
	}
	if (m->refusals_logged++ >= REFUSALS_LOGGED) {
		m->refusals_quiet++;
		return;
	}
	log_warnx("refused %s from principal %s: %s (%s)",
	    about != NULL && rec_type(about) != NULL ? rec_type(about) :
	    "a record", who(from), msg, code);
}

/*
 * A new ERROR record about ABOUT of CODE, whose message FMT and AP make,
 * cut at REC_ERRLEN bytes.
 */
static json_t * __attribute__((format(printf, 3, 0)))
error_vrec(const json_t *about, const char *code, const char *fmt,
    va_list ap)
{
	char msg[REC_ERRLEN];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return rec_error(about, code, "%s", msg);
}

void
master_error(struct master *m, const struct net_route *to,
    const json_t *about, const char *code, const char *fmt, ...)
{
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	e = error_vrec(about, code, fmt, ap);
	va_end(ap);
	refusal_log(m, to, about, code, rec_str(e, "message"));
	master_reply(m, to, e);
}

void
master_error_logged(struct master *m, const struct net_route *to,
    const json_t *about, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	master_reply(m, to, error_vrec(about, code, fmt, ap));
	va_end(ap);
}

/* A HEARTBEAT names an agent or a framework; it goes to that role. */
static void
handle_heartbeat(struct master *m, json_t *rec, const struct net_route *from)
{
	if (rec_str(rec, "agent_id") != NULL)
		agent_heartbeat(m, rec, from);
	else if (rec_str(rec, "framework_id") != NULL)
		framework_heartbeat(m, rec, from);
	else
		master_error(m, from, rec, E_MALFORMED, "HEARTBEAT names "
		    "neither agent_id nor framework_id");
}

/* A peer's ERROR changes nothing: it is logged. */
static void
handle_error(struct master *m, json_t *rec, const struct net_route *from)
{
	(void)m;
	(void)from;
	log_warnx("peer reports: %s", rec_str(rec, "message") ?
	    rec_str(rec, "message") : "(no message)");
}

/* Hand REC from the peer at FROM to the handler of its type. */
static void
master_handle(struct master *m, json_t *rec, const struct net_route *from)
{
	static const struct {
		const char *type;
		void (*fn)(struct master *, json_t *, const struct net_route *);
	} table[] = {
		{ R_HEARTBEAT, handle_heartbeat },
		{ R_STATUS, task_status },
		{ R_ACCEPT, offer_accept },
		{ R_COMMIT, shared_commit },
		{ R_DECLINE, offer_decline },
		{ R_ACKNOWLEDGE, task_acknowledge },
		{ R_REGISTER_AGENT, agent_register },
		{ R_LEAVE, agent_leave },
		{ R_SUBSCRIBE, framework_subscribe },
		{ R_KILL, task_kill },
		{ R_SUPPRESS, framework_relay },
		{ R_REVIVE, framework_relay },
		{ R_RECONCILE, task_reconcile },
		{ R_QUERY, control_query },
		{ R_SET_WEIGHT, control_set_weight },
		{ R_DRAIN, drain_request },
		{ R_UNDRAIN, undrain_request },
		{ R_SET_QUOTA, quota_set },
		{ R_RESERVE, reserve_request },
		{ R_UNRESERVE, reserve_release },
		{ R_TEARDOWN, framework_teardown },
		{ R_LOGS, logs_request },
		{ R_LOGS_DATA, logs_data },
		{ R_FRAMEWORK_MESSAGE, executor_message },
		{ R_EXECUTOR_EXITED, executor_exited },
		{ R_SHUTDOWN_EXECUTOR, executor_shutdown },
		{ R_ERROR, handle_error },
	};
	const char *type = rec_type(rec);
	size_t i;

	log_debug("<- %s", type);
	for (i = 0; i < sizeof(table) / sizeof(*table); i++)
		if (strcmp(type, table[i].type) == 0) {
			/* the table's name: never a label a peer made up */
			stats_record(0, table[i].type);
			table[i].fn(m, rec, from);
			return;
		}
	stats_record(0, "other");
	master_error(m, from, rec, E_UNKNOWN_TYPE, "unknown record type '%s'",
	    type);
}

int
master_may(struct master *m, const struct net_route *from, const json_t *rec,
    enum acl_action action, const char *object)
{
	if (acl_permits(m->acl, from->principal, action, object))
		return 0;
	log_warnx("refused %s from principal %s: not permitted to %s%s%s",
	    rec_type(rec), who(from), acl_action_name(action),
	    object ? " " : "", object ? object : "");
	master_error_logged(m, from, rec, E_FORBIDDEN, "principal %s may not "
	    "%s%s%s",
	    who(from), acl_action_name(action), object ? " " : "",
	    object ? object : "");
	return -1;
}

/*
 * The identity check of master_owner and master_kills: when KILL, an ACL
 * rule permitting FROM to kill OWNER's principal's work also lets it
 * through (1).  0 for the owner, -1 after an ERROR.
 */
static int
owner_check(struct master *m, const struct net_route *owner,
    const struct net_route *from, const json_t *rec, const char *what,
    const char *id, int kill)
{
	if (owner->principal[0] == '\0' ||
	    strcmp(owner->principal, from->principal) == 0)
		return 0;
	if (kill && acl_permits(m->acl, from->principal, ACL_KILL,
	    owner->principal)) {
		log_info("%s of %s %s (principal %s) by principal %s: the ACL "
		    "permits it", rec_type(rec), what, id, owner->principal,
		    from->principal);
		return 1;
	}
	log_warnx("refused %s from principal %s: %s %s belongs to %s",
	    rec_type(rec), who(from), what, id, owner->principal);
	/* with rules, it is the rules that could have permitted it */
	if (kill && m->acl != NULL)
		master_error_logged(m, from, rec, E_FORBIDDEN, "%s %s belongs to "
		    "another principal, and no rule permits principal %s to "
		    "kill its work", what, id, who(from));
	else
		master_error_logged(m, from, rec, E_NOT_OWNER, "%s %s belongs "
		    "to another principal", what, id);
	return -1;
}

int
master_owner(struct master *m, const struct net_route *owner,
    const struct net_route *from, const json_t *rec, const char *what,
    const char *id)
{
	return owner_check(m, owner, from, rec, what, id, 0);
}

int
master_kills(struct master *m, const struct net_route *owner,
    const struct net_route *from, const json_t *rec, const char *what,
    const char *id)
{
	return owner_check(m, owner, from, rec, what, id, 1);
}

int
master_acl_path(struct config *c)
{
	char dir[PATH_MAX];

	c->files[MF_ACL] = NULL;
	if (c->insecure)
		return 0;
	if (c->acl_path != NULL) {
		c->files[MF_ACL] = c->acl_path;
		return 0;
	}
	/* the default file is optional: without it, the default policy */
	if (auth_conf_dir(dir, sizeof(dir)) == NULL)
		return 0;
	snprintf(c->acl_file, sizeof(c->acl_file), "%s/acl", dir);
	if (access(c->acl_file, F_OK) == 0 || errno != ENOENT)
		c->files[MF_ACL] = c->acl_file;
	return 0;
}

int
master_acl_load(struct master *m)
{
	const char *p = m->conf->files[MF_ACL];
	char err[ACL_ERRLEN], *buf;
	struct acl *a;
	size_t len;
	int r;

	if (p == NULL) {
		log_info("no ACL file: every principal may do everything but "
		    "run tasks as root and kill others' work");
		return 0;
	}
	if (priv_file(m->conf, MF_ACL, &buf, &len, err) == -1) {
		log_warnx("ACL file %s", err);
		return -1;
	}
	r = acl_parse(buf, len, &a, err);
	auth_file_free(buf, len);
	if (r == -1) {
		log_warnx("%s:%s", p, err);
		return -1;
	}
	acl_free(m->acl);
	m->acl = a;
	log_info("%zu ACL rules from %s", acl_count(a), p);
	return 0;
}

/* SIGHUP: the ACL file again; a bad one leaves the rules in force. */
static int
master_acl_reload(struct master *m)
{
	if (master_acl_load(m) == 0)
		return 0;
	log_warnx("the ACL file is not taken: the %zu rules in force stay%s",
	    acl_count(m->acl), m->acl == NULL ? " (none: the default policy)" :
	    "");
	return -1;
}

/* The principals' credentials, for the hub's sealing. */
static const struct auth_cred *
master_key(void *arg, const char *principal)
{
	struct master *m = arg;

	return m->keys != NULL ? auth_keys_get(m->keys, principal) : NULL;
}

int
master_keys_path(struct config *c)
{
	char dir[PATH_MAX], err[AUTH_ERRLEN], principal[AUTH_PRINCIPAL_MAX];

	if (c->insecure)
		return 0;
	c->files[MF_CREDENTIALS] = c->keys_path;
	if (c->keys_path != NULL)
		return 0;
	/* the first start on one machine makes them */
	if (auth_conf_dir(dir, sizeof(dir)) == NULL) {
		log_warnx("no credentials: no $CLUSTER_CONF nor home; give -K");
		return -1;
	}
	switch (auth_bootstrap(dir, principal, err)) {
	case -1:
		log_warnx("%s", err);
		return -1;
	case 1:
		log_info("first start: made the credential of principal %s in "
		    "%s/credential and %s/credentials", principal, dir, dir);
	}
	snprintf(c->keys_file, sizeof(c->keys_file), "%s/credentials", dir);
	c->files[MF_CREDENTIALS] = c->keys_file;
	return 0;
}

int
master_keys_load(struct master *m)
{
	char err[AUTH_ERRLEN], *buf;
	const char *p = m->conf->files[MF_CREDENTIALS];
	struct auth_keys *k;
	size_t len;

	if (m->conf->insecure)
		return 0;
	if (priv_file(m->conf, MF_CREDENTIALS, &buf, &len, err) == -1) {
		log_warnx("credentials: %s", err);
		return -1;
	}
	k = auth_keys_parse(buf, len, p, err);
	auth_file_free(buf, len);
	if (k == NULL) {
		log_warnx("credentials: %s", err);
		return -1;
	}
	auth_keys_free(m->keys);
	m->keys = k;
	log_info("%zu principals from %s", auth_keys_count(k), p);
	return net_set_keys(m->hub, master_key, m);
}

void
master_files_load(struct master *m, int which)
{
	static int (*const loaders[MF_NFILES])(struct master *) = {
		[MF_CREDENTIALS] = master_keys_load,
		[MF_ACL] = master_acl_reload,
	};
	int i;

	for (i = 0; i < MF_NFILES; i++)
		if (which == -1 || which == i)
			loaders[i](m);
}

void
master_recv(struct master *m)
{
	char errbuf[256];
	struct net_route from;
	json_t *rec;
	int n, r;

	for (n = 0; n < RECV_BATCH; n++) {
		r = net_recv(m->hub, &rec, &from, errbuf);
		if (r == 0)
			break;
		if (r == -2) {
			log_warnx("%s", errbuf);
			break;
		}
		if (r == -1 && from.refused != AUTH_OK) {
			log_warnx("refused a record: %s", errbuf);
			master_error_logged(m, &from, NULL, E_UNAUTHENTICATED, "%s",
			    errbuf);
			continue;
		}
		/* authenticated: within its principal's budget, or dropped */
		if (limits_admit(m, r == 1 ? rec : NULL, &from) == -1) {
			json_decref(rec);
			continue;
		}
		if (r == -1) {
			log_info("bad record from %s: %s", from.principal[0] ?
			    from.principal : "a peer", errbuf);
			master_error(m, &from, NULL, E_MALFORMED,
			    "bad record: %s", errbuf);
			continue;
		}
		master_handle(m, rec, &from);
		json_decref(rec);
	}
}

void
master_tick(struct master *m)
{
	int64_t now = now_ms();

	offers_expire(m, now);
	tasks_tick(m, now);
	state_tick(m);
	logs_tick(m, now);
	limits_tick(m);
	/* silence is measured in seconds: look for it a few times a second */
	if (now < m->next_scan)
		return;
	m->next_scan = now + SCAN_MS;
	agents_scan(m, now);
	frameworks_scan(m, now);
	drains_tick(m);
}
