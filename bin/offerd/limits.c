/*
 * Limits per principal, so that no peer can starve the others (-L,
 * offerd(8) LIMITS): how many records a principal may send (a token
 * bucket, checked after a record is authenticated and before it is
 * handled), how many frameworks it may have subscribed at once, and how
 * many offers its frameworks may hold unanswered.  An agent's own records
 * (those naming an agent its principal registered) draw on a bucket of
 * that agent, so a principal's machines cost it nothing of its budget.
 * Without identity (--insecure) there is no principal and no limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define REPORT_MS	1000		/* refusals answered and logged */

/* What one principal uses, from its first record to offerd's stop. */
struct principal {
	struct limit_bucket bucket;
	long		 frameworks;	/* subscribed, with this principal */
	long		 offers;	/* held by those frameworks */
	long		 dropped;	/* over the rate, not yet logged */
	int64_t		 next_report;
};

int
limits_parse(struct limits_conf *lc, char *arg, char *err, size_t errlen)
{
	char *kv, *eq, *last;
	const char *e;
	long long v;

	for (kv = strtok_r(arg, ",", &last); kv != NULL;
	    kv = strtok_r(NULL, ",", &last)) {
		if ((eq = strchr(kv, '=')) == NULL) {
			snprintf(err, errlen, "limit '%s': want name=number", kv);
			return -1;
		}
		*eq = '\0';
		v = strtonum(eq + 1, 1, LIMIT_MAX, &e);
		if (e != NULL) {
			snprintf(err, errlen, "limit %s: '%s' is %s", kv,
			    eq + 1, e);
			return -1;
		}
		if (strcmp(kv, "frameworks") == 0)
			lc->frameworks = v;
		else if (strcmp(kv, "offers") == 0)
			lc->offers = v;
		else if (strcmp(kv, "rate") == 0)
			lc->rate = v;
		else if (strcmp(kv, "burst") == 0)
			lc->burst = v;
		else {
			snprintf(err, errlen, "limit '%s': not one of "
			    "frameworks, offers, rate, burst", kv);
			return -1;
		}
	}
	return 0;
}

/* PRINCIPAL's entry, made on first use; NULL without identity or memory. */
static struct principal *
principal_get(struct master *m, const char *principal)
{
	struct principal *p;

	if (principal[0] == '\0' || (m->principals == NULL &&
	    (m->principals = map_create()) == NULL))
		return NULL;
	if ((p = map_get(m->principals, principal)) != NULL)
		return p;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    map_put(m->principals, principal, p) == -1) {
		free(p);
		return NULL;
	}
	return p;
}

/* Take one token from B, refilled for NOW; 0, or -1 when it is empty. */
static int
bucket_take(struct limit_bucket *b, const struct limits_conf *lc,
    int64_t now)
{
	/* a zeroed bucket was never used: it starts full */
	if (b->last == 0)
		b->tokens = lc->burst;
	else
		b->tokens += (double)(now - b->last) * lc->rate / 1000;
	if (b->tokens > lc->burst)
		b->tokens = lc->burst;
	b->last = now;
	if (b->tokens < 1)
		return -1;
	b->tokens -= 1;
	return 0;
}

/* Log what P (named NAME) dropped since its last report; answer TO. */
static void
report(struct master *m, struct principal *p, const char *name,
    const struct net_route *to, const json_t *about, int64_t now)
{
	const struct limits_conf *lc = &m->conf->limits;

	log_warnx("principal %s over its rate (-L rate=%ld,burst=%ld): "
	    "dropped %ld records", name, lc->rate, lc->burst, p->dropped);
	if (to != NULL)
		master_error_logged(m, to, about, E_LIMITED, "principal %s sends "
		    "more than %ld records a second: records dropped", name,
		    lc->rate);
	p->dropped = 0;
	p->next_report = now + REPORT_MS;
}

int
limits_admit(struct master *m, const json_t *rec, const struct net_route *from)
{
	struct principal *p;
	struct limit_bucket *b;
	struct agent *a;
	const char *aid;
	int64_t now;

	if ((p = principal_get(m, from->principal)) == NULL)
		return 0;
	b = &p->bucket;
	aid = rec != NULL ? rec_str(rec, "agent_id") : NULL;
	if (aid != NULL && (a = map_get(m->agents, aid)) != NULL &&
	    strcmp(a->route.principal, from->principal) == 0)
		b = &a->limit;
	now = now_ms();
	if (bucket_take(b, &m->conf->limits, now) == 0)
		return 0;
	p->dropped++;
	/* one answer and one log line a second, however many are dropped */
	if (now >= p->next_report)
		report(m, p, from->principal, from, rec, now);
	return -1;
}

void
limits_tick(struct master *m)
{
	struct principal *p;
	const char *name;
	int64_t now = now_ms();
	size_t pos;

	if (m->principals == NULL)
		return;
	for (pos = 0; (p = map_next(m->principals, &pos, &name)) != NULL;)
		if (p->dropped > 0 && now >= p->next_report)
			report(m, p, name, NULL, NULL, now);
}

int
limits_framework_add(struct master *m, const json_t *rec,
    const struct net_route *from)
{
	struct principal *p = principal_get(m, from->principal);
	long max = m->conf->limits.frameworks;

	if (p == NULL)
		return 0;
	if (p->frameworks >= max) {
		log_warnx("refused SUBSCRIBE from principal %s: it has %ld "
		    "frameworks (-L frameworks=%ld)", from->principal,
		    p->frameworks, max);
		master_error_logged(m, from, rec, E_LIMITED, "principal %s has %ld "
		    "frameworks, its limit", from->principal, max);
		return -1;
	}
	p->frameworks++;
	return 0;
}

void
limits_framework_del(struct master *m, const char *principal)
{
	struct principal *p = principal_get(m, principal);

	if (p != NULL && p->frameworks > 0)
		p->frameworks--;
}

int
limits_offer_full(struct master *m, const struct framework *fw)
{
	struct principal *p = principal_get(m, fw->route.principal);

	return p != NULL && p->offers >= m->conf->limits.offers;
}

void
limits_offer(struct master *m, const struct framework *fw, int delta)
{
	struct principal *p = principal_get(m, fw->route.principal);

	if (p != NULL)
		p->offers += delta;
}
