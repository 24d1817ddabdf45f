/*
 * sched: the framework side of the master protocol, as a library.  See
 * scheduler.h for the contract and sched(3) for a complete scheduler.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "map.h"
#include "net.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "res.h"
#include "elect.h"
#include "scheduler.h"
#include "util.h"

#define FW_ID_LEN	64
#define LINGER_MS	50	/* longest wait for a TEARDOWN's answer */
#define SEEN_MS		60000	/* how long a status uuid is remembered */

/* A kill in flight: resent until the task's terminal status arrives. */
struct kill {
	int64_t		 next;
	int		 tries;
};

struct sched {
	struct net	*net;
	struct sched_callbacks cb;
	void		*ctx;
	char		*name, *role, *fattrs, *fmin;
	double		 failover;
	int		 manual_ack;
	int		 optimistic;
	char		 fw_id[FW_ID_LEN];	/* "" until first SUBSCRIBED */
	int		 subscribed;	/* the current subscription is live */
	int		 ever_subscribed;
	int64_t		 next_sub, next_hb, hb_ms;
	json_t		*queue;		/* calls made while not subscribed */
	struct net_queue sendq;		/* calls the socket refused, in order */
	struct map	*kills;		/* task_id -> struct kill */
	struct map	*seen;		/* status uuid -> int64_t forget time */
	int64_t		 next_sweep;
	volatile sig_atomic_t stopped;
	int		 failed;	/* the socket broke */
	int		 torn_down;
	struct elect_follow *follow;	/* the master's leader, if elected */
	int		 elected;	/* the master is named by its election */
};

/* A malloc'd copy of S, or NULL for NULL (sets *BAD when out of memory). */
static char *
dup_or_null(const char *s, int *bad)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*bad = 1;
	return d;
}

/*
 * Hand REC (consumed) to the master now, behind the calls its socket
 * refused, or queue it until SUBSCRIBED.  Returns 0, or -1 when dropped.
 */
static int
send_call(struct sched *s, json_t *rec)
{
	if (rec == NULL)
		return -1;
	if (s->stopped) {
		json_decref(rec);
		return -1;
	}
	if (!s->subscribed) {
		json_array_append_new(s->queue, rec);
		return 0;
	}
	rec_set_str(rec, "framework_id", s->fw_id);
	return net_queue_send(s->net, &s->sendq, rec, SCHED_QUEUE_MAX) == -1 ?
	    -1 : 0;
}

/* Report a failure to the error callback; CODE and REC are NULL for ours. */
static void
report(struct sched *s, const char *code, const char *message,
    const char *about, const json_t *rec)
{
	struct sched_error e = { code, message, about, rec };

	if (s->cb.error != NULL)
		s->cb.error(s, s->ctx, &e);
}

/* The subscription is gone (the master forgot us): subscribe again now. */
static void
resubscribe(struct sched *s)
{
	s->subscribed = 0;
	s->next_sub = now_ms();
}

/*
 * Send SUBSCRIBE, naming our framework id, and time the next one: sooner
 * when the socket is not connected yet.
 */
static void
send_subscribe(struct sched *s)
{
	json_t *rec = rec_new(R_SUBSCRIBE);

	rec_set_str(rec, "name", s->name);
	rec_set_str(rec, "role", s->role);
	rec_set_num(rec, "failover_timeout", s->failover);
	if (s->fw_id[0] != '\0')
		rec_set_str(rec, "framework_id", s->fw_id);
	if (s->optimistic)
		rec_set_str(rec, "mode", MODE_OPTIMISTIC);
	if (s->fattrs != NULL || s->fmin != NULL) {
		json_t *f = json_object();

		rec_set_str(f, "attributes", s->fattrs);
		rec_set_str(f, "min", s->fmin);
		json_object_set_new(rec, "filters", f);
	}
	s->next_sub = now_ms() + (net_send(s->net, NULL, rec) == -1 ?
	    SCHED_RECONNECT_MS : SCHED_RESEND_MS);
	json_decref(rec);
}

struct sched *
sched_create(const struct sched_opts *opts, const struct sched_callbacks *cb,
    void *ctx, char *err)
{
	char ep[ELECT_ENDPOINT_MAX], cerr[AUTH_ERRLEN], uerr[ELECT_ERRLEN];
	static const struct sched_opts none;
	struct elect_url url;
	char e[RES_ERRLEN];
	struct sched *s;
	struct res tmp;
	int bad = 0;

	if (opts == NULL)
		opts = &none;
	if (opts->filter_attributes != NULL &&
	    attr_check(opts->filter_attributes, e) == -1) {
		snprintf(err, SCHED_ERRLEN, "filter attributes: %.200s", e);
		return NULL;
	}
	if (opts->filter_min != NULL) {
		if (res_parse(opts->filter_min, &tmp, e) == -1) {
			snprintf(err, SCHED_ERRLEN, "filter min: %.200s", e);
			return NULL;
		}
		res_free(&tmp);
	}
	if (opts->framework_id != NULL && !id_valid(opts->framework_id)) {
		snprintf(err, SCHED_ERRLEN, "framework id '%.64s' is not valid",
		    opts->framework_id);
		return NULL;
	}
	if (!(opts->failover_timeout >= 0) || opts->failover_timeout > PROTO_SECONDS_MAX) {
		snprintf(err, SCHED_ERRLEN, "failover timeout out of range");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, SCHED_ERRLEN, "out of memory");
		return NULL;
	}
	if (cb != NULL)
		s->cb = *cb;
	s->ctx = ctx;
	s->name = dup_or_null(opts->name ? opts->name : "sched", &bad);
	s->role = dup_or_null(opts->role ? opts->role : "*", &bad);
	s->fattrs = dup_or_null(opts->filter_attributes, &bad);
	s->fmin = dup_or_null(opts->filter_min, &bad);
	s->failover = opts->failover_timeout;
	s->manual_ack = opts->manual_ack;
	s->optimistic = opts->optimistic;
	s->hb_ms = SCHED_HEARTBEAT_MS;
	/*
	 * A new framework names itself, so that a SUBSCRIBE resent before
	 * the answer came cannot make the master register two frameworks.
	 */
	if (opts->framework_id != NULL)
		strlcpy(s->fw_id, opts->framework_id, sizeof(s->fw_id));
	else
		id_new("fw", s->fw_id, sizeof(s->fw_id));
	s->queue = json_array();
	s->kills = map_create();
	s->seen = map_create();
	if (bad || s->queue == NULL || s->kills == NULL || s->seen == NULL) {
		snprintf(err, SCHED_ERRLEN, "out of memory");
		sched_destroy(s);
		return NULL;
	}
	if ((s->follow = elect_follow_create(master_endpoint(opts->master),
	    err)) == NULL) {
		sched_destroy(s);
		return NULL;
	}
	s->elected = elect_url_parse(master_endpoint(opts->master), &url,
	    uerr) == 0 && url.kind != ELECT_ENDPOINT;
	/* a master named by its election: wait for its first leader */
	while (elect_follow_poll(s->follow, ep, sizeof(ep)) != 1)
		usleep(100000);
	if (net_peer_cred_find(opts->credential, cerr) == -1) {
		snprintf(err, SCHED_ERRLEN, "credential: %.200s", cerr);
		sched_destroy(s);
		return NULL;
	}
	if ((s->net = net_open(NET_PEER, ep, err)) == NULL) {
		sched_destroy(s);
		return NULL;
	}
	/* the first SUBSCRIBE leaves as soon as it can, not a retry later */
	net_wait_connected(s->net, NET_CONNECT_MS);
	send_subscribe(s);
	return s;
}

/*
 * Wait, up to LINGER_MS, for the master's answer to our TEARDOWN (its
 * TORN_DOWN, or an ERROR about it): closing the socket sooner could
 * lose the TEARDOWN, which nanomsg may not have written yet.  A master
 * that does not answer TEARDOWN costs the whole LINGER_MS.
 */
static void
await_torn_down(struct sched *s)
{
	int64_t until = now_ms() + LINGER_MS, now;
	char e[REC_ERRLEN];
	const char *about;
	json_t *rec;
	int r, done = 0;

	while (!done && (now = now_ms()) < until) {
		net_wait(s->net, (int)(until - now));
		while (!done && (r = net_recv(s->net, &rec, NULL, e)) != 0) {
			if (r == -2)
				return;
			if (r == -1)
				continue;
			about = rec_str(rec, "about");
			done = (strcmp(rec_type(rec), R_TORN_DOWN) == 0 &&
			    rec_str(rec, "framework_id") != NULL &&
			    strcmp(rec_str(rec, "framework_id"), s->fw_id) == 0) ||
			    (strcmp(rec_type(rec), R_ERROR) == 0 && about != NULL &&
			    strcmp(about, R_TEARDOWN) == 0);
			json_decref(rec);
		}
	}
}

void
sched_destroy(struct sched *s)
{
	void *v;
	size_t pos = 0;

	if (s == NULL)
		return;
	if (s->kills != NULL) {
		while ((v = map_next(s->kills, &pos, NULL)) != NULL)
			free(v);
		map_destroy(s->kills);
	}
	if (s->seen != NULL) {
		for (pos = 0; (v = map_next(s->seen, &pos, NULL)) != NULL;)
			free(v);
		map_destroy(s->seen);
	}
	if (s->net != NULL) {
		if (s->torn_down)
			await_torn_down(s);
		net_close(s->net);
	}
	elect_follow_destroy(s->follow);
	net_queue_clear(&s->sendq);
	json_decref(s->queue);
	free(s->name);
	free(s->role);
	free(s->fattrs);
	free(s->fmin);
	free(s);
}

int
sched_fd(const struct sched *s)
{
	return net_fd(s->net);
}

const char *
sched_framework_id(const struct sched *s)
{
	return s->ever_subscribed ? s->fw_id : NULL;
}

int
sched_subscribed(const struct sched *s)
{
	return s->subscribed;
}

void
sched_stop(struct sched *s)
{
	s->stopped = 1;
}

int
sched_timeout(const struct sched *s)
{
	int64_t now = now_ms(), next = s->subscribed ? s->next_hb : s->next_sub;
	const struct kill *k;
	size_t pos = 0;

	while ((k = map_next(s->kills, &pos, NULL)) != NULL)
		if (k->next < next)
			next = k->next;
	if ((s->sendq.len > 0 || net_unsent(s->net)) &&
	    now + SCHED_FLUSH_MS < next)
		next = now + SCHED_FLUSH_MS;
	/*
	 * A new leader is noticed in timers(): waiting for the next
	 * heartbeat would add up to a heartbeat interval to every failover.
	 */
	if (s->elected && now + SCHED_FOLLOW_MS < next)
		next = now + SCHED_FOLLOW_MS;
	if (next <= now)
		return 0;
	return next - now > 60000 ? 60000 : (int)(next - now);
}

/* SUBSCRIBED: take the id, flush the calls queued meanwhile. */
static void
on_subscribed(struct sched *s, json_t *rec)
{
	const char *id = rec_str(rec, "framework_id");
	double hb = rec_num_or(rec, "heartbeat_interval", 0);
	int again = s->ever_subscribed;
	json_t *c;
	size_t i;

	/* an answer to an earlier subscription, or someone else's */
	if (s->subscribed || id == NULL || strcmp(id, s->fw_id) != 0)
		return;
	s->subscribed = 1;
	s->ever_subscribed = 1;
	s->hb_ms = SCHED_HEARTBEAT_MS;
	/* the master may want to hear from us more often than once a second */
	if (hb > 0 && hb * 1000 < s->hb_ms)
		s->hb_ms = hb * 1000 < 50 ? 50 : (int64_t)(hb * 1000);
	s->next_hb = now_ms() + s->hb_ms;
	json_array_foreach(s->queue, i, c) {
		rec_set_str(c, "framework_id", s->fw_id);
		net_queue_send(s->net, &s->sendq, json_incref(c),
		    SCHED_QUEUE_MAX);
	}
	json_array_clear(s->queue);
	if (s->cb.subscribed != NULL)
		s->cb.subscribed(s, s->ctx, s->fw_id, again);
}

/* OFFER: parse it and hand it to the scheduler. */
static void
on_offer(struct sched *s, json_t *rec)
{
	char e[RES_ERRLEN];
	struct sched_offer o;
	struct res r;

	if (rec_str(rec, "framework_id") != NULL &&
	    strcmp(rec_str(rec, "framework_id"), s->fw_id) != 0)
		return;		/* not ours: it will time out */
	o.offer_id = rec_str(rec, "offer_id");
	o.agent_id = rec_str(rec, "agent_id");
	o.hostname = rec_str(rec, "hostname");
	o.attributes = rec_str(rec, "attributes");
	o.resources = rec_str(rec, "resources");
	o.rec = rec;
	if (o.offer_id == NULL || o.agent_id == NULL || o.resources == NULL ||
	    res_parse(o.resources, &r, e) == -1) {
		report(s, NULL, "master sent a malformed OFFER", R_OFFER, NULL);
		return;
	}
	if (o.hostname == NULL)
		o.hostname = "";
	if (o.attributes == NULL)
		o.attributes = "";
	o.res = &r;
	if (s->cb.offer != NULL)
		s->cb.offer(s, s->ctx, &o);
	else	/* no one wants offers: give them back for a while */
		sched_decline(s, o.offer_id, -1);
	res_free(&r);
}

/*
 * True when the update UUID was handed over already (the agent resends
 * an update until the acknowledgement reaches it); remembers it if not.
 */
static int
seen_before(struct sched *s, const char *uuid)
{
	int64_t *until;

	if (map_get(s->seen, uuid) != NULL)
		return 1;
	if ((until = malloc(sizeof(*until))) != NULL) {
		*until = now_ms() + SEEN_MS;
		if (map_put(s->seen, uuid, until) == -1)
			free(until);
	}
	return 0;
}

/* STATUS: hand it over once, forget a finished kill, acknowledge it. */
static void
on_status(struct sched *s, json_t *rec)
{
	struct sched_status st;
	struct kill *k;
	int64_t v;
	int dup;

	memset(&st, 0, sizeof(st));
	st.task_id = rec_str(rec, "task_id");
	st.agent_id = rec_str(rec, "agent_id");
	st.state = rec_str(rec, "state");
	st.reason = rec_str(rec, "reason");
	st.message = rec_str(rec, "message");
	st.sandbox = rec_str(rec, "sandbox");
	st.uuid = rec_str(rec, "uuid");
	st.reconcile = rec_bool_or(rec, "reconcile", 0);
	st.rec = rec;
	if (st.task_id == NULL || st.state == NULL)
		return;
	st.terminal = task_state_terminal(st.state);
	if (rec_int(rec, "exit_code", &v) == 0) {
		st.has_exit_code = 1;
		st.exit_code = (int)v;
	}
	if (rec_int(rec, "signal", &v) == 0)
		st.signal = (int)v;
	if (st.terminal && (k = map_del(s->kills, st.task_id)) != NULL)
		free(k);
	dup = st.uuid != NULL && !st.reconcile && seen_before(s, st.uuid);
	if (s->cb.status != NULL && !dup)
		s->cb.status(s, s->ctx, &st);
	if (st.uuid != NULL && !s->manual_ack && !st.reconcile)
		sched_acknowledge(s, st.task_id, st.agent_id, st.uuid);
}

/*
 * ERROR: the master forgot us (it restarted, or we were silent too long)
 * means subscribe again under the same id; anything else goes up.  Only
 * the code is looked at: the message is for people.
 */
static void
on_error(struct sched *s, json_t *rec)
{
	const char *msg = rec_str(rec, "message");
	const char *code = rec_str(rec, "code");

	if (msg == NULL)
		msg = "(no message)";
	if (s->subscribed && code != NULL &&
	    (strcmp(code, E_UNKNOWN_FRAMEWORK) == 0 ||
	    strcmp(code, E_RESUBSCRIBE) == 0)) {
		resubscribe(s);
		return;
	}
	report(s, code, msg, rec_str(rec, "about"), rec);
}

/* A DRAIN notice of the master: to the drain callback. */
static void
on_drain(struct sched *s, json_t *rec)
{
	struct sched_drain d;

	if (s->cb.drain == NULL || rec_str(rec, "agent_id") == NULL)
		return;
	memset(&d, 0, sizeof(d));
	d.agent_id = rec_str(rec, "agent_id");
	d.hostname = rec_str(rec, "hostname");
	d.reason = rec_str(rec, "reason") ? rec_str(rec, "reason") : "";
	d.deadline_ms = (long long)rec_num_or(rec, "deadline_ms", 0);
	d.rec = rec;
	s->cb.drain(s, s->ctx, &d);
}

/* A FREE record: one free_resources call per agent (and a snapshot's end). */
static void
on_free(struct sched *s, json_t *rec)
{
	char err[RES_ERRLEN];
	struct sched_free f;
	struct res r;
	json_t *e;
	size_t i;
	int64_t v;

	if (s->cb.free_resources == NULL)
		return;
	memset(&f, 0, sizeof(f));
	f.snapshot = rec_bool_or(rec, "snapshot", 0);
	json_array_foreach(json_object_get(rec, "agents"), i, e) {
		f.agent_id = rec_str(e, "agent_id");
		f.state = rec_str(e, "state");
		if (f.agent_id == NULL || f.state == NULL)
			continue;
		f.hostname = rec_str(e, "hostname") ? rec_str(e, "hostname") : "";
		f.attributes = rec_str(e, "attributes") ?
		    rec_str(e, "attributes") : "";
		f.resources = rec_str(e, "free") ? rec_str(e, "free") : "";
		if (res_parse(f.resources, &r, err) == -1)
			continue;
		f.res = &r;
		f.version = rec_int(e, "version", &v) == 0 ? v : 0;
		f.entry = e;
		s->cb.free_resources(s, s->ctx, &f);
		res_free(&r);
	}
	if (f.snapshot && rec_bool_or(rec, "complete", 0)) {
		memset(&f, 0, sizeof(f));
		f.snapshot = 1;
		f.hostname = f.attributes = f.resources = f.state = "";
		s->cb.free_resources(s, s->ctx, &f);
	}
}

/* COMMITTED: to the committed callback. */
static void
on_committed(struct sched *s, json_t *rec)
{
	struct sched_committed c;

	if (s->cb.committed == NULL ||
	    rec_str(rec, "transaction_id") == NULL)
		return;
	c.transaction_id = rec_str(rec, "transaction_id");
	c.outcome = rec_str(rec, "outcome") ? rec_str(rec, "outcome") : "";
	c.launched = json_object_get(rec, "launched");
	c.conflicts = json_object_get(rec, "conflicts");
	c.rec = rec;
	s->cb.committed(s, s->ctx, &c);
}

/* Turn one record from the master into a callback. */
static void
handle(struct sched *s, json_t *rec)
{
	const char *type = rec_type(rec), *id;

	if (s->cb.record != NULL)
		s->cb.record(s, s->ctx, rec);
	if (strcmp(type, R_SUBSCRIBED) == 0)
		on_subscribed(s, rec);
	else if (strcmp(type, R_ERROR) == 0)
		on_error(s, rec);
	else if (!s->subscribed)
		return;		/* a late record for a subscription we lost */
	else if (strcmp(type, R_OFFER) == 0)
		on_offer(s, rec);
	else if (strcmp(type, R_STATUS) == 0)
		on_status(s, rec);
	else if (strcmp(type, R_RESCIND) == 0) {
		if (s->cb.rescind != NULL && rec_str(rec, "offer_id") != NULL)
			s->cb.rescind(s, s->ctx, rec_str(rec, "offer_id"));
	} else if (strcmp(type, R_DRAIN) == 0) {
		on_drain(s, rec);
	} else if (strcmp(type, R_FREE) == 0) {
		on_free(s, rec);
	} else if (strcmp(type, R_COMMITTED) == 0) {
		on_committed(s, rec);
	} else if (strcmp(type, R_AGENT_LOST) == 0) {
		if (s->cb.agent_lost != NULL && rec_str(rec, "agent_id") != NULL)
			s->cb.agent_lost(s, s->ctx, rec_str(rec, "agent_id"));
	} else if (strcmp(type, R_REREGISTER) == 0) {
		/* a restarted master answers our heartbeat with this */
		if ((id = rec_str(rec, "framework_id")) != NULL &&
		    strcmp(id, s->fw_id) == 0)
			resubscribe(s);
	}
	/* other types are for other peers or newer versions: ignored */
}

/* Send whatever is due: SUBSCRIBE, HEARTBEAT, KILL resends. */
static void
timers(struct sched *s)
{
	char ep[ELECT_ENDPOINT_MAX];
	int64_t now = now_ms();
	const char *tid;
	struct kill *k;
	size_t pos = 0;
	json_t *rec;

	if (s->follow != NULL &&
	    elect_follow_poll(s->follow, ep, sizeof(ep)) == 1) {
		/* a new leader: subscribe with it again, same framework id */
		char err[SCHED_ERRLEN];
		struct net *nn = net_open(NET_PEER, ep, err);

		if (nn != NULL) {
			/* what the old leader's socket refused goes nowhere */
			net_queue_clear(&s->sendq);
			net_close(s->net);
			s->net = nn;
			resubscribe(s);
		}
	}
	if (!s->subscribed && now >= s->next_sub)
		send_subscribe(s);
	if (s->subscribed && now >= s->next_hb) {
		rec = rec_new(R_HEARTBEAT);
		rec_set_str(rec, "framework_id", s->fw_id);
		net_send(s->net, NULL, rec);
		json_decref(rec);
		s->next_hb = now + s->hb_ms;
	}
	if (now >= s->next_sweep) {
		int64_t *until;

		while ((until = map_next(s->seen, &pos, &tid)) != NULL)
			if (now >= *until)
				free(map_del(s->seen, tid));
		pos = 0;
		s->next_sweep = now + SEEN_MS / 4;
	}
	while ((k = map_next(s->kills, &pos, &tid)) != NULL) {
		if (now < k->next || !s->subscribed)
			continue;
		rec = rec_new(R_KILL);
		rec_set_str(rec, "framework_id", s->fw_id);
		rec_set_str(rec, "task_id", tid);
		net_send(s->net, NULL, rec);
		json_decref(rec);
		k->next = now + SCHED_KILL_RESEND_MS;
		if (++k->tries >= SCHED_KILL_TRIES)
			free(map_del(s->kills, tid));
	}
}

int
sched_dispatch(struct sched *s)
{
	char e[REC_ERRLEN];
	json_t *rec;
	int r;

	if (s->stopped || s->failed)
		return -1;
	net_queue_flush(s->net, &s->sendq);
	timers(s);
	/* what the callbacks send this turn goes in one frame */
	net_cork(s->net);
	while (!s->stopped && (r = net_recv(s->net, &rec, NULL, e)) != 0) {
		if (r == -2) {
			s->failed = 1;
			report(s, NULL, e, NULL, NULL);
			net_flush(s->net);
			return -1;
		}
		if (r == -1) {
			report(s, NULL, e, NULL, NULL);
			continue;
		}
		handle(s, rec);
		json_decref(rec);
	}
	net_queue_flush(s->net, &s->sendq);
	net_flush(s->net);
	return s->stopped ? -1 : 0;
}

int
sched_run(struct sched *s, int64_t timer_ms,
    void (*timer)(struct sched *, void *ctx))
{
	int64_t next_timer = now_ms() + timer_ms;

	while (!s->stopped && !s->failed) {
		struct pollfd pfd = { .fd = sched_fd(s), .events = POLLIN };
		int64_t now = now_ms();
		int wait = sched_timeout(s);

		if (timer != NULL && timer_ms > 0 && next_timer - now < wait)
			wait = next_timer > now ? (int)(next_timer - now) : 0;
		if (poll(&pfd, 1, wait) == -1 && errno != EINTR) {
			s->failed = 1;
			break;
		}
		if (sched_dispatch(s) == -1)
			break;
		if (timer != NULL && timer_ms > 0 && now_ms() >= next_timer) {
			next_timer = now_ms() + timer_ms;
			timer(s, s->ctx);
		}
	}
	return s->failed ? -1 : 0;
}

json_t *
sched_task(const char *task_id, const char *resources, const char *command)
{
	if (task_id == NULL || resources == NULL || command == NULL)
		return NULL;
	return json_pack("{s:s,s:s,s:s,s:s}", "task_id", task_id,
	    "name", task_id, "resources", resources, "command", command);
}

/* A new call record of TYPE naming OFFER_ID. */
static json_t *
offer_call(const char *type, const char *offer_id, double refuse_seconds)
{
	json_t *rec = rec_new(type);

	rec_set_str(rec, "offer_id", offer_id);
	if (refuse_seconds >= 0)
		rec_set_num(rec, "refuse_seconds", refuse_seconds);
	return rec;
}

int
sched_accept(struct sched *s, const char *offer_id, json_t *tasks,
    double refuse_seconds)
{
	json_t *rec;

	if (offer_id == NULL || !json_is_array(tasks))
		return -1;
	rec = offer_call(R_ACCEPT, offer_id, refuse_seconds);
	json_object_set(rec, "tasks", tasks);
	return send_call(s, rec);
}

int
sched_decline(struct sched *s, const char *offer_id, double refuse_seconds)
{
	if (offer_id == NULL)
		return -1;
	return send_call(s, offer_call(R_DECLINE, offer_id, refuse_seconds));
}

int
sched_commit(struct sched *s, const char *transaction_id, json_t *tasks,
    int flags)
{
	json_t *rec;

	if (transaction_id == NULL || !json_is_array(tasks))
		return -1;
	rec = rec_new(R_COMMIT);
	rec_set_str(rec, "transaction_id", transaction_id);
	json_object_set(rec, "tasks", tasks);
	if (flags & SCHED_INCREMENTAL)
		rec_set_bool(rec, "incremental", 1);
	if (flags & SCHED_BY_AGENT)
		rec_set_str(rec, "granularity", "agent");
	return send_call(s, rec);
}

int
sched_suppress(struct sched *s)
{
	return send_call(s, rec_new(R_SUPPRESS));
}

int
sched_revive(struct sched *s)
{
	return send_call(s, rec_new(R_REVIVE));
}

int
sched_kill(struct sched *s, const char *task_id)
{
	struct kill *k;
	json_t *rec;

	if (task_id == NULL || s->stopped)
		return -1;
	if (map_get(s->kills, task_id) == NULL &&
	    (k = calloc(1, sizeof(*k))) != NULL) {
		k->next = now_ms() + SCHED_KILL_RESEND_MS;
		if (map_put(s->kills, task_id, k) == -1)
			free(k);
	}
	rec = rec_new(R_KILL);
	rec_set_str(rec, "task_id", task_id);
	return send_call(s, rec);
}

int
sched_acknowledge(struct sched *s, const char *task_id, const char *agent_id,
    const char *uuid)
{
	json_t *rec;

	if (task_id == NULL || uuid == NULL)
		return -1;
	rec = rec_new(R_ACKNOWLEDGE);
	rec_set_str(rec, "task_id", task_id);
	rec_set_str(rec, "agent_id", agent_id);
	rec_set_str(rec, "uuid", uuid);
	return send_call(s, rec);
}

int
sched_reconcile(struct sched *s, const char *const *task_ids, size_t n)
{
	json_t *rec = rec_new(R_RECONCILE), *ids = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		if (task_ids[i] != NULL)
			json_array_append_new(ids, json_string(task_ids[i]));
	json_object_set_new(rec, "task_ids", ids);
	return send_call(s, rec);
}

int
sched_call(struct sched *s, const json_t *rec)
{
	if (!json_is_object(rec) || rec_str(rec, "type") == NULL)
		return -1;
	return send_call(s, json_copy((json_t *)rec));
}

int
sched_teardown(struct sched *s)
{
	json_t *rec;

	if (s->stopped)
		return -1;
	if (s->subscribed) {
		/* the calls waiting go first: the teardown ends the framework */
		net_queue_flush(s->net, &s->sendq);
		rec = rec_new(R_TEARDOWN);
		rec_set_str(rec, "framework_id", s->fw_id);
		net_send(s->net, NULL, rec);
		json_decref(rec);
		s->torn_down = 1;
	}
	s->stopped = 1;
	return 0;
}
