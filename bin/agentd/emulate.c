/*
 * Emulated agents (agentd -E N): N agents in one process, over one socket,
 * for scale tests of the master.  Each one registers (paced and retried),
 * heartbeats (spread over the interval), and takes LAUNCH, KILL and
 * ACKNOWLEDGE records like the real agent; every record carries the
 * agent_id it is for.  A task runs as a timer: one whose "duration" field
 * says D seconds ends TASK_FINISHED D seconds after its launch; one
 * without a duration runs until it is killed.  Status updates are
 * retransmitted until acknowledged, in order per task, with the real
 * agent's back-off.  An emulated task has no launcher, so it goes
 * straight to TASK_RUNNING (the real agent sends TASK_STARTING first).
 *
 * Agent i is named PREFIX-i (PREFIX is -h) and gets agent id TAG-i, with
 * TAG random per process, so that several emulating processes can serve
 * one master.  Its attributes are the -a pattern with "%{i}" replaced by
 * i, "%{i%K}" by i mod K, "%{i/K}" by i div K and "%%" by '%'.
 *
 * All time-driven work (registration retries, heartbeats, task ends,
 * update retransmissions) is a timer in one binary heap, so the loop
 * costs O(log N) per due timer and nothing for idle agents.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/libutil.h>

#include "emulate.h"
#include "log.h"
#include "proto.h"
#include "rec.h"
#include "sig.h"
#include "res.h"
#include "util.h"

#define EMU_RESOURCES_DEFAULT	"cpus:2;mem:2048"
#define EMU_REGISTER_RATE	2000	/* REGISTER_AGENT records per second */
#define EMU_REGISTER_BURST	100	/* of them at once at most */
#define EMU_REGISTER_RETRY_MS	3000	/* plus as much again at random */
#define EMU_SWEEP_MIN_MS	10000	/* between two "everyone again" */
#define EMU_UPDATE_RETRY_DOUBLINGS 3	/* as the real agent */
#define EMU_DURATION_MAX_S	1e7	/* longest task duration, seconds */
#define EMU_QUEUE_MAX		500000	/* records waiting for the socket */
#define EMU_QUEUE_RETRY_MS	2	/* retry of a full socket */
#define EMU_RECV_BATCH		4096
#define EMU_TIMER_BATCH		20000
#define EMU_POLL_MAX_MS		1000
#define EMU_REPORT_MS		10000
#define EMU_ERRORS_LOGGED	10	/* ERROR records logged in full */

#define CONTAINER(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

enum tkind { T_AGENT, T_TASK_END, T_TASK_RETRY };

struct timer {
	int64_t		when;
	size_t		pos;		/* 1 + index in the heap; 0: not set */
	enum tkind	kind;
};

struct etask {
	char		 key[3 * ID_LEN];	/* agent_id/framework_id/task_id */
	char		 framework_id[ID_LEN];
	char		 task_id[ID_LEN];
	int		 agent;
	int		 ended;
	int		 tries;
	json_t		*updates;		/* STATUS records not yet acked */
	struct timer	 end, retry;
	struct etask	*prev, *next;		/* the agent's tasks */
};

struct eagent {
	struct timer	 t;		/* registration retry, or heartbeat */
	int		 registered;
	struct etask	*tasks;
};

struct emu {
	struct net	 *net;
	const struct agent *tmpl;
	char		  tag[24];	/* "emu-" and 12 hex digits */
	size_t		  taglen;
	char		  resources[1024];
	int		  n, nregistered, all_reported;
	struct eagent	 *agents;
	struct map	 *tasks;
	struct timer	**heap;
	size_t		  hn, hcap;
	struct net_queue  q;		/* records the socket refused */
	double		  tokens;	/* registrations that may go now */
	int64_t		  tokens_at, last_sweep, started, next_report;
	unsigned long long sent, dropped, launched, finished, killed, errors;
};

/* ---- timers: an indexed binary min-heap ---- */

static void
heap_place(struct emu *e, size_t i, struct timer *t)
{
	e->heap[i] = t;
	t->pos = i + 1;
}

/* Move the timer at index I up while it is earlier than its parent. */
static void
heap_up(struct emu *e, size_t i)
{
	struct timer *t = e->heap[i];

	while (i > 0 && e->heap[(i - 1) / 2]->when > t->when) {
		heap_place(e, i, e->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_place(e, i, t);
}

/* Move the timer at index I down while a child is earlier. */
static void
heap_down(struct emu *e, size_t i)
{
	struct timer *t = e->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= e->hn)
			break;
		if (c + 1 < e->hn && e->heap[c + 1]->when < e->heap[c]->when)
			c++;
		if (e->heap[c]->when >= t->when)
			break;
		heap_place(e, i, e->heap[c]);
		i = c;
	}
	heap_place(e, i, t);
}

/* Take T out of the heap if it is in. */
static void
timer_stop(struct emu *e, struct timer *t)
{
	struct timer *m;
	size_t i;

	if (t->pos == 0)
		return;
	i = t->pos - 1;
	t->pos = 0;
	if (--e->hn == i)
		return;
	m = e->heap[e->hn];
	heap_place(e, i, m);
	heap_up(e, i);
	heap_down(e, m->pos - 1);
}

/* Make T fire at WHEN (set it, or move it).  Exits when out of memory. */
static void
timer_set(struct emu *e, struct timer *t, int64_t when)
{
	t->when = when;
	if (t->pos != 0) {
		heap_up(e, t->pos - 1);
		heap_down(e, t->pos - 1);
		return;
	}
	if (e->hn == e->hcap) {
		size_t cap = e->hcap ? 2 * e->hcap : 1024;
		struct timer **h = reallocarray(e->heap, cap, sizeof(*h));

		if (h == NULL)
			log_fatal("timers");
		e->heap = h;
		e->hcap = cap;
	}
	heap_place(e, e->hn, t);
	heap_up(e, e->hn++);
}

/* ---- the socket: send now, or queue behind what the socket refused ---- */

/* Send REC (consumed) now, or after the records already waiting. */
static void
emu_send(struct emu *e, json_t *rec)
{
	/* best effort past the limit, as the transport: what matters is resent */
	switch (net_queue_send(e->net, &e->q, rec, EMU_QUEUE_MAX)) {
	case 1:
		e->sent++;
		break;
	case -1:
		e->dropped++;
		break;
	}
}

/* ---- agents ---- */

static void
agent_id(const struct emu *e, int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%d", e->tag, i);
}

/* The index of the agent named by ID, or -1 when it is none of ours. */
static int
agent_index(const struct emu *e, const char *id)
{
	char *end;
	long i;

	if (id == NULL || strncmp(id, e->tag, e->taglen) != 0 ||
	    id[e->taglen] != '-' || id[e->taglen + 1] < '0' ||
	    id[e->taglen + 1] > '9')
		return -1;
	errno = 0;
	i = strtol(id + e->taglen + 1, &end, 10);
	if (errno != 0 || *end != '\0' || i < 0 || i >= e->n)
		return -1;
	return (int)i;
}

/*
 * Expand the attribute pattern PAT for agent I into BUF of LEN bytes
 * (see the top of this file).  Returns 0, or -1 when PAT is malformed.
 */
static int
attr_expand(const char *pat, int i, char *buf, size_t len)
{
	size_t off = 0;
	const char *p;

	for (p = pat; *p != '\0'; p++) {
		char num[32], op = 0, *end;
		long k = 0, v;
		int w;

		if (p[0] == '%' && p[1] == '%') {
			num[0] = '%';
			num[1] = '\0';
			p++;
		} else if (p[0] == '%' && p[1] == '{') {
			if (p[2] != 'i')
				return -1;
			p += 3;
			if (*p == '%' || *p == '/') {
				op = *p++;
				errno = 0;
				k = strtol(p, &end, 10);
				if (errno != 0 || end == p || k <= 0)
					return -1;
				p = end;
			}
			if (*p != '}')
				return -1;
			v = op == '%' ? i % k : op == '/' ? i / k : i;
			snprintf(num, sizeof(num), "%ld", v);
		} else if (p[0] == '%')
			return -1;
		else {
			num[0] = *p;
			num[1] = '\0';
		}
		w = snprintf(buf + off, len - off, "%s", num);
		if (w < 0 || (size_t)w >= len - off)
			return -1;
		off += (size_t)w;
	}
	buf[off] = '\0';
	return 0;
}

/*
 * Take one registration from the rate limit.  Returns 0 when it may go
 * now, else the milliseconds to wait.
 */
static int64_t
register_token(struct emu *e, int64_t now)
{
	e->tokens += (double)(now - e->tokens_at) * EMU_REGISTER_RATE / 1000;
	if (e->tokens > EMU_REGISTER_BURST)
		e->tokens = EMU_REGISTER_BURST;
	e->tokens_at = now;
	if (e->tokens >= 1) {
		e->tokens -= 1;
		return 0;
	}
	return 1 + (int64_t)((1 - e->tokens) * 1000 / EMU_REGISTER_RATE);
}

/* Agent I's timer: send its registration (paced) or its heartbeat. */
static void
agent_timer(struct emu *e, int i, int64_t now)
{
	struct eagent *a = &e->agents[i];
	char id[ID_LEN], buf[1024];
	json_t *r;
	int64_t wait;

	agent_id(e, i, id, sizeof(id));
	if (a->registered) {
		r = rec_new(R_HEARTBEAT);
		rec_set_str(r, "agent_id", id);
		emu_send(e, r);
		timer_set(e, &a->t, now + e->tmpl->heartbeat_ms);
		return;
	}
	if ((wait = register_token(e, now)) > 0) {
		timer_set(e, &a->t, now + wait);
		return;
	}
	r = rec_new(R_REGISTER_AGENT);
	snprintf(buf, sizeof(buf), "%s-%d", e->tmpl->hostname, i);
	rec_set_str(r, "hostname", buf);
	rec_set_str(r, "resources", e->resources);
	if (attr_expand(e->tmpl->attributes, i, buf, sizeof(buf)) == 0)
		rec_set_str(r, "attributes", buf);
	rec_set_str(r, "agent_id", id);
	rec_set_bool(r, "emulated", 1);
	emu_send(e, r);
	timer_set(e, &a->t, now + EMU_REGISTER_RETRY_MS +
	    arc4random_uniform(EMU_REGISTER_RETRY_MS));
}

/* Agent I is to register again, its first try in DELAY ms. */
static void
agent_unregister(struct emu *e, int i, int64_t now, int64_t delay)
{
	struct eagent *a = &e->agents[i];

	if (a->registered) {
		a->registered = 0;
		e->nregistered--;
		e->all_reported = 0;
	}
	timer_set(e, &a->t, now + delay);
}

/* ---- tasks and their status updates ---- */

/* Send T's oldest unacknowledged update and schedule its retransmission. */
static void
update_send(struct emu *e, struct etask *t, int64_t now)
{
	json_t *head = json_array_get(t->updates, 0);
	int64_t delay;

	if (head == NULL || !e->agents[t->agent].registered) {
		timer_stop(e, &t->retry);
		return;
	}
	emu_send(e, json_incref(head));
	delay = e->tmpl->retry_ms << (t->tries < EMU_UPDATE_RETRY_DOUBLINGS ?
	    t->tries : EMU_UPDATE_RETRY_DOUBLINGS);
	timer_set(e, &t->retry, now + delay);
	t->tries++;
}

/*
 * Queue the update STATE (with REASON when not NULL) for T and send it
 * when it is the oldest one pending.
 */
static void
update_push(struct emu *e, struct etask *t, const char *state,
    const char *reason, int64_t now)
{
	char id[ID_LEN], uuid[ID_LEN];
	json_t *st = rec_new(R_STATUS);

	agent_id(e, t->agent, id, sizeof(id));
	rec_set_str(st, "agent_id", id);
	rec_set_str(st, "framework_id", t->framework_id);
	rec_set_str(st, "task_id", t->task_id);
	rec_set_str(st, "state", state);
	rec_set_str(st, "uuid", id_new("u", uuid, sizeof(uuid)));
	rec_set_int(st, "timestamp_ms", wall_ms());
	rec_set_str(st, "reason", reason);
	if (strcmp(state, TASK_FINISHED) == 0)
		rec_set_int(st, "exit_code", 0);
	log_debug("task %s of %s on %s: %s", t->task_id, t->framework_id, id,
	    state);
	json_array_append_new(t->updates, st);
	if (json_array_size(t->updates) == 1) {
		t->tries = 0;
		update_send(e, t, now);
	}
}

/* T ends in STATE (terminal) for REASON. */
static void
task_end(struct emu *e, struct etask *t, const char *state, const char *reason,
    int64_t now)
{
	t->ended = 1;
	timer_stop(e, &t->end);
	if (strcmp(state, TASK_FINISHED) == 0)
		e->finished++;
	else if (strcmp(state, TASK_KILLED) == 0)
		e->killed++;
	update_push(e, t, state, reason, now);
}

static void
task_free(struct emu *e, struct etask *t)
{
	struct eagent *a = &e->agents[t->agent];

	map_del(e->tasks, t->key);
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		a->tasks = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	timer_stop(e, &t->end);
	timer_stop(e, &t->retry);
	json_decref(t->updates);
	free(t);
}

/* A LAUNCH for agent I: start the task, or resend its update if known. */
static void
handle_launch(struct emu *e, int i, json_t *rec, int64_t now)
{
	char err[REC_ERRLEN], key[3 * ID_LEN];
	json_t *info = json_object_get(rec, "task"), *dur;
	const char *fw = rec_str(rec, "framework_id"), *tid;
	struct eagent *a = &e->agents[i];
	struct etask *t;
	double d = -1;

	if (rec_require(rec, "framework_id:s agent_id:s task:o", err) == -1 ||
	    rec_require(info, "task_id:s resources:s ?duration:n", err) == -1) {
		log_warnx("bad LAUNCH: %s", err);
		return;
	}
	tid = rec_str(info, "task_id");
	if (!id_valid(fw) || !id_valid(tid)) {
		log_warnx("bad LAUNCH: invalid framework or task id");
		return;
	}
	snprintf(key, sizeof(key), "%s/%s/%s", rec_str(rec, "agent_id"), fw, tid);
	if ((t = map_get(e->tasks, key)) != NULL) {
		/* a retransmission: the master has not seen our update yet */
		t->tries = 0;
		update_send(e, t, now);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warnx("out of memory");
		return;
	}
	strlcpy(t->key, key, sizeof(t->key));
	strlcpy(t->framework_id, fw, sizeof(t->framework_id));
	strlcpy(t->task_id, tid, sizeof(t->task_id));
	t->agent = i;
	t->end.kind = T_TASK_END;
	t->retry.kind = T_TASK_RETRY;
	t->updates = json_array();
	if (t->updates == NULL || map_put(e->tasks, t->key, t) == -1) {
		json_decref(t->updates);
		free(t);
		log_warnx("out of memory");
		return;
	}
	t->next = a->tasks;
	if (a->tasks != NULL)
		a->tasks->prev = t;
	a->tasks = t;
	e->launched++;
	if ((dur = json_object_get(info, "duration")) != NULL) {
		d = json_number_value(dur);
		if (!(d >= 0) || d > EMU_DURATION_MAX_S) {
			task_end(e, t, TASK_FAILED, "duration must be a number "
			    "of seconds from 0 to 1e7", now);
			return;
		}
	}
	update_push(e, t, TASK_RUNNING, NULL, now);
	if (d >= 0)
		timer_set(e, &t->end, now + (int64_t)(d * 1000 + 0.5));
}

/* A KILL for agent I: end the task, or say it is unknown. */
static void
handle_kill(struct emu *e, int i, json_t *rec, int64_t now)
{
	const char *fw = rec_str(rec, "framework_id"), *tid = rec_str(rec, "task_id");
	char key[3 * ID_LEN], id[ID_LEN];
	struct etask *t;

	if (fw == NULL || tid == NULL) {
		log_warnx("bad KILL: framework_id and task_id are needed");
		return;
	}
	agent_id(e, i, id, sizeof(id));
	snprintf(key, sizeof(key), "%s/%s/%s", id, fw, tid);
	if ((t = map_get(e->tasks, key)) == NULL) {
		/* never heard of it: say so, so the master stops asking */
		json_t *st = rec_new(R_STATUS);

		rec_set_str(st, "agent_id", id);
		rec_set_str(st, "framework_id", fw);
		rec_set_str(st, "task_id", tid);
		rec_set_str(st, "state", TASK_LOST);
		rec_set_str(st, "reason", "unknown task on this agent");
		emu_send(e, st);
		return;
	}
	if (t->ended) {
		t->tries = 0;
		update_send(e, t, now);
		return;
	}
	task_end(e, t, TASK_KILLED, "killed on request", now);
}

/* An ACKNOWLEDGE for agent I: drop the update, send the next one. */
static void
handle_ack(struct emu *e, int i, json_t *rec, int64_t now)
{
	const char *fw = rec_str(rec, "framework_id"), *tid = rec_str(rec, "task_id");
	const char *uuid = rec_str(rec, "uuid"), *hu;
	char key[3 * ID_LEN], id[ID_LEN];
	struct etask *t;

	if (fw == NULL || tid == NULL || uuid == NULL)
		return;
	agent_id(e, i, id, sizeof(id));
	snprintf(key, sizeof(key), "%s/%s/%s", id, fw, tid);
	if ((t = map_get(e->tasks, key)) == NULL)
		return;
	hu = rec_str(json_array_get(t->updates, 0), "uuid");
	if (hu == NULL || strcmp(hu, uuid) != 0)
		return;		/* an old duplicate acknowledgement */
	json_array_remove(t->updates, 0);
	t->tries = 0;
	if (json_array_size(t->updates) > 0)
		update_send(e, t, now);
	else if (t->ended)
		task_free(e, t);
	else
		timer_stop(e, &t->retry);
}

/* Every registered agent registers again, paced (after a master restart). */
static void
sweep(struct emu *e, int64_t now)
{
	int i, k = 0;

	if (e->last_sweep != 0 && now - e->last_sweep < EMU_SWEEP_MIN_MS)
		return;
	e->last_sweep = now;
	log_info("emulate: the master asks for registration again: all %d "
	    "agents register again", e->n);
	for (i = 0; i < e->n; i++)
		if (e->agents[i].registered)
			agent_unregister(e, i, now,
			    (int64_t)k++ * 1000 / EMU_REGISTER_RATE);
}

/* Handle one record from the master. */
static void
emu_handle(struct emu *e, json_t *rec, int64_t now)
{
	const char *type = rec_type(rec);
	int i = agent_index(e, rec_str(rec, "agent_id"));

	if (strcmp(type, R_ERROR) == 0) {
		if (e->errors++ < EMU_ERRORS_LOGGED)
			log_warnx("master says: %s", rec_str(rec, "message") ?
			    rec_str(rec, "message") : "(no message)");
		return;
	}
	if (strcmp(type, R_REREGISTER) == 0) {
		/* an older master names no agent: everyone, then */
		if (i >= 0)
			agent_unregister(e, i, now, 0);
		else
			sweep(e, now);
		return;
	}
	if (i < 0) {
		log_debug("ignoring a %s record for no agent of ours", type);
		return;
	}
	if (strcmp(type, R_AGENT_REGISTERED) == 0) {
		struct eagent *a = &e->agents[i];
		struct etask *t;

		if (a->registered)
			return;		/* the answer to a retry */
		a->registered = 1;
		e->nregistered++;
		/* heartbeats spread evenly over the interval */
		timer_set(e, &a->t, now + 1 +
		    arc4random_uniform((uint32_t)e->tmpl->heartbeat_ms));
		for (t = a->tasks; t != NULL; t = t->next) {
			t->tries = 0;
			update_send(e, t, now);
		}
	} else if (strcmp(type, R_LAUNCH) == 0)
		handle_launch(e, i, rec, now);
	else if (strcmp(type, R_KILL) == 0)
		handle_kill(e, i, rec, now);
	else if (strcmp(type, R_ACKNOWLEDGE) == 0)
		handle_ack(e, i, rec, now);
	else
		log_debug("ignoring a %s record", type);
}

/* Run the due timers, at most EMU_TIMER_BATCH of them. */
static void
run_timers(struct emu *e, int64_t now)
{
	int n;

	for (n = 0; n < EMU_TIMER_BATCH && e->hn > 0 &&
	    e->heap[0]->when <= now; n++) {
		struct timer *t = e->heap[0];

		timer_stop(e, t);
		switch (t->kind) {
		case T_AGENT:
			agent_timer(e, (int)(CONTAINER(t, struct eagent, t) -
			    e->agents), now);
			break;
		case T_TASK_END:
			task_end(e, CONTAINER(t, struct etask, end),
			    TASK_FINISHED, NULL, now);
			break;
		case T_TASK_RETRY:
			update_send(e, CONTAINER(t, struct etask, retry), now);
			break;
		}
	}
}

/* Log progress every EMU_REPORT_MS, and once when all have registered. */
static void
report(struct emu *e, int64_t now)
{
	if (e->nregistered == e->n && !e->all_reported) {
		log_info("emulate: all %d agents registered in %lld ms", e->n,
		    (long long)(now - e->started));
		e->all_reported = 1;
	}
	if (now < e->next_report)
		return;
	e->next_report = now + EMU_REPORT_MS;
	log_info("emulate: %d/%d registered, %zu tasks, %llu launched, "
	    "%llu finished, %llu killed, %llu records sent, %zu queued, "
	    "%llu dropped, %llu errors", e->nregistered, e->n,
	    map_count(e->tasks), e->launched, e->finished, e->killed, e->sent,
	    e->q.len, e->dropped, e->errors);
}

int
emulate_run(const struct agent *tmpl, int n, const char *master,
    const char *pidpath)
{
	struct emu e;
	struct pidfh *pfh = NULL;
	struct res check;
	char err[256], buf[1024];
	int i, sigfd, stop = 0;

	memset(&e, 0, sizeof(e));
	e.tmpl = tmpl;
	e.n = n;
	strlcpy(e.resources, tmpl->resources[0] ? tmpl->resources :
	    EMU_RESOURCES_DEFAULT, sizeof(e.resources));
	if (res_parse(e.resources, &check, err) == -1)
		log_fatalx("resources '%s': %s", e.resources, err);
	res_free(&check);
	if (attr_expand(tmpl->attributes, 0, buf, sizeof(buf)) == -1 ||
	    attr_check(buf, err) == -1)
		log_fatalx("attributes '%s': not a valid pattern (%%{i}, "
		    "%%{i%%K}, %%{i/K}, %%%%)", tmpl->attributes);
	id_new("emu", e.tag, sizeof(e.tag));
	e.taglen = strlen(e.tag);
	pfh = pidfile_take(pidpath);
	if ((e.agents = calloc((size_t)n, sizeof(*e.agents))) == NULL ||
	    (e.tasks = map_create()) == NULL)
		log_fatal("emulated agents");
	if ((e.net = net_open(NET_PEER, master, err)) == NULL)
		log_fatalx("%s", err);
	if (pfh != NULL)
		pidfile_write(pfh);
	if ((sigfd = sig_init((int[]){ SIGTERM, SIGINT }, 2)) == -1)
		log_fatal("signals");
	signal(SIGHUP, SIG_IGN);

	e.started = e.tokens_at = now_ms();
	e.tokens = EMU_REGISTER_BURST;
	e.next_report = e.started + EMU_REPORT_MS;
	/* first registrations spread at the paced rate */
	for (i = 0; i < n; i++) {
		e.agents[i].t.kind = T_AGENT;
		timer_set(&e, &e.agents[i].t, e.started +
		    (int64_t)i * 1000 / EMU_REGISTER_RATE);
	}
	log_info("emulating %d agents %s-0..%s-%d (ids %s-*) offering %s to %s",
	    n, tmpl->hostname, tmpl->hostname, n - 1, e.tag, e.resources,
	    master);

	while (!stop) {
		struct pollfd pfd[2] = {
			{ .fd = net_fd(e.net), .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
		};
		int64_t now = now_ms(), wait = EMU_POLL_MAX_MS;
		json_t *rec;
		int k, r;

		if (e.hn > 0 && e.heap[0]->when - now < wait)
			wait = e.heap[0]->when - now;
		if (e.q.len > 0 && wait > EMU_QUEUE_RETRY_MS)
			wait = EMU_QUEUE_RETRY_MS;
		if (poll(pfd, 2, wait > 0 ? (int)wait : 0) == -1 &&
		    errno != EINTR)
			log_fatal("poll");
		sig_drain();
		stop = sig_take(SIGTERM) || sig_take(SIGINT);
		now = now_ms();
		for (k = 0; k < EMU_RECV_BATCH; k++) {
			r = net_recv(e.net, &rec, NULL, err);
			if (r == 0)
				break;
			if (r < 0) {
				log_warnx("from master: %s", err);
				if (r == -2)
					break;
				continue;
			}
			emu_handle(&e, rec, now);
			json_decref(rec);
		}
		e.sent += net_queue_flush(e.net, &e.q);
		run_timers(&e, now_ms());
		e.sent += net_queue_flush(e.net, &e.q);
		report(&e, now_ms());
	}
	log_info("stopping: %zu emulated tasks dropped", map_count(e.tasks));
	net_queue_clear(&e.q);
	net_close(e.net);
	if (pfh != NULL)
		pidfile_remove(pfh);
	return 0;
}
