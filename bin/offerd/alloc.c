/*
 * The link to the allocator: its process when offerd starts it (started
 * again when it exits), the events the allocator must know (agents,
 * frameworks, resources recovered, weights), its ALLOCATION decisions in,
 * and the replay of everything to a new allocator.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define ALLOC_ARGV_MAX		64	/* the allocator's argument vector */
#define ALLOC_VERBOSE_MAX	3	/* -v passed on to it */
#define ALLOC_RESTART_MS	500	/* after it exited, at first */
#define ALLOC_BACKOFF_MAX_MS	30000	/* ... doubling up to this */
#define ALLOC_STABLE_MS		10000	/* lived this long: at first again */
#define ALLOC_RETRY_MS		5000	/* after a restart failed */
#define RECV_BATCH		4096	/* decisions per poll */

extern char **environ;

static void	alloc_replay(struct master *);

/* Start the allocator the configuration names; its pid, or -1 logged. */
static pid_t
alloc_spawn(const struct config *c)
{
	char *argv[ALLOC_ARGV_MAX], parent[32];
	int argc = 0, i, e;
	pid_t pid;

	argv[argc++] = (char *)c->alloc_prog;
	if (c->foreground)
		argv[argc++] = "-d";
	for (i = 0; i < c->verbose && i < ALLOC_VERBOSE_MAX; i++)
		argv[argc++] = "-v";
	argv[argc++] = "-l";
	argv[argc++] = (char *)c->alloc_own;
	for (i = 0; i < c->nweights && argc < ALLOC_ARGV_MAX - 4; i++) {
		argv[argc++] = "-W";
		argv[argc++] = c->weights[i];
	}
	argv[argc] = NULL;
	/* the allocator ends with us (see drf-alloc(8)) */
	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	setenv("CLUSTER_ALLOC_PARENT", parent, 1);
	/* each cycle's run time, for the metrics (a replacement ignores it) */
	setenv(A_CYCLE_ENV, "1", 1);
	e = posix_spawnp(&pid, c->alloc_prog, NULL, NULL, argv, environ);
	unsetenv("CLUSTER_ALLOC_PARENT");
	unsetenv(A_CYCLE_ENV);
	if ((errno = e) != 0) {
		log_warn("cannot start allocator %s", c->alloc_prog);
		return -1;
	}
	log_info("allocator %s started (pid %d) on %s", c->alloc_prog,
	    (int)pid, c->alloc_own);
	return pid;
}

/* Tell the allocator every role's weight (also one offerd did not start). */
static void
alloc_weights(struct master *m)
{
	const char *role;
	json_t *v;

	json_object_foreach(m->weights, role, v)
		alloc_send(m, json_pack("{s:s,s:s,s:O}", "type", A_WEIGHT,
		    "role", role, "weight", v));
}

int
alloc_start(struct master *m)
{
	const struct config *c = m->conf;
	char errbuf[256];

	m->alloc_pid = -1;
	m->alloc_started = now_ms();
	if (c->alloc_ep == NULL && (m->alloc_pid = alloc_spawn(c)) == -1)
		return -1;
	if ((m->alloc = net_open(NET_PAIR_CONNECT, c->alloc_ep ? c->alloc_ep :
	    c->alloc_own, errbuf)) == NULL) {
		log_warnx("allocator: %s", errbuf);
		return -1;
	}
	alloc_weights(m);
	quota_send_all(m);
	return 0;
}

void
alloc_reap(struct master *m)
{
	pid_t p;
	int status;

	while ((p = waitpid(-1, &status, WNOHANG)) > 0)
		if (p == m->alloc_pid) {
			int64_t lived = now_ms() - m->alloc_started;

			/* one that dies at once is not started in a loop */
			if (lived >= ALLOC_STABLE_MS || m->alloc_backoff == 0)
				m->alloc_backoff = ALLOC_RESTART_MS;
			else if ((m->alloc_backoff *= 2) > ALLOC_BACKOFF_MAX_MS)
				m->alloc_backoff = ALLOC_BACKOFF_MAX_MS;
			if (WIFSIGNALED(status))
				log_warnx("allocator killed by signal %d after "
				    "%lld ms; starting it again in %lld ms",
				    WTERMSIG(status), (long long)lived,
				    (long long)m->alloc_backoff);
			else
				log_warnx("allocator exited with status %d "
				    "after %lld ms; starting it again in %lld "
				    "ms", WEXITSTATUS(status), (long long)lived,
				    (long long)m->alloc_backoff);
			m->alloc_pid = -1;
			m->alloc_restart_at = now_ms() + m->alloc_backoff;
		}
}

void
alloc_restart(struct master *m)
{
	if (m->alloc_pid != -1 || m->conf->alloc_ep != NULL ||
	    m->alloc_restart_at == 0 || now_ms() < m->alloc_restart_at)
		return;
	m->alloc_restart_at = 0;
	m->alloc_started = now_ms();
	m->alloc_pid = alloc_spawn(m->conf);
	if (m->alloc_pid == -1)
		m->alloc_restart_at = now_ms() + ALLOC_RETRY_MS;
	else {
		/*
		 * What was kept for the dead one is in the replay: sent too,
		 * a CLAIM would count twice.
		 */
		net_drop_unsent(m->alloc);
		alloc_replay(m);
	}
}

void
alloc_stop(struct master *m)
{
	if (m->alloc_pid > 0) {
		kill(m->alloc_pid, SIGTERM);
		waitpid(m->alloc_pid, NULL, 0);
	}
	net_close(m->alloc);
	m->alloc = NULL;
}

void
alloc_send(struct master *m, json_t *rec)
{
	if (m->alloc == NULL || net_send(m->alloc, NULL, rec) == -1)
		log_warnx("allocator link: %s not delivered", rec_type(rec));
	json_decref(rec);
}

/* Nothing is sent when RES is empty. */
void
alloc_recover(struct master *m, const char *fw_id, const char *agent_id,
    const struct res *res, int64_t refuse_ms)
{
	char buf[RES_TEXT];
	json_t *r;

	if (res_empty(res))
		return;
	r = rec_new(A_RECOVER);
	rec_set_str(r, "framework_id", fw_id);
	rec_set_str(r, "agent_id", agent_id);
	rec_set_str(r, "resources", res_format(res, buf, sizeof(buf)));
	if (refuse_ms > 0)
		rec_set_num(r, "refuse_seconds", refuse_ms / 1000.0);
	alloc_send(m, r);
}

void
alloc_claim(struct master *m, const char *fw_id, const char *agent_id,
    const struct res *res)
{
	char buf[RES_TEXT];

	alloc_send(m, json_pack("{s:s,s:s,s:s,s:s}", "type", A_CLAIM,
	    "framework_id", fw_id, "agent_id", agent_id,
	    "resources", res_format(res, buf, sizeof(buf))));
}

/*
 * A framework removed while its tasks or executors still run (they are
 * being killed) stays in the allocator, suppressed, holding what they
 * hold, until the last of them ends: the master counts those resources as
 * used until then, and an allocator that had freed them at once would
 * offer them again and again, each offer given back as more than the
 * agent has free.
 */
struct departing {
	char	 role[ROLE_LEN_MAX + 1];
	int	 live;
};

/* Tell the allocator FW_ID is gone. */
static void
alloc_framework_forget(struct master *m, const char *fw_id)
{
	json_t *r = rec_new(A_FRAMEWORK_REMOVE);

	rec_set_str(r, "framework_id", fw_id);
	alloc_send(m, r);
}

void
alloc_framework_remove(struct master *m, const char *fw_id, const char *role,
    int live)
{
	struct departing *d;

	if (live <= 0 || (d = calloc(1, sizeof(*d))) == NULL) {
		alloc_framework_forget(m, fw_id);
		return;
	}
	strlcpy(d->role, role, sizeof(d->role));
	d->live = live;
	if (map_put(m->departing, fw_id, d) == -1) {
		free(d);
		alloc_framework_forget(m, fw_id);
		return;
	}
	alloc_send(m, json_pack("{s:s,s:s}", "type", R_SUPPRESS,
	    "framework_id", fw_id));
}

void
alloc_departed(struct master *m, const char *fw_id, const char *agent_id,
    const struct res *res)
{
	struct departing *d = map_get(m->departing, fw_id);

	if (d == NULL)
		return;
	if (agent_id != NULL)
		alloc_recover(m, fw_id, agent_id, res, 0);
	if (--d->live > 0)
		return;
	map_del(m->departing, fw_id);
	free(d);
	alloc_framework_forget(m, fw_id);
}

/* Tell the allocator agent A's total and attributes. */
static void
alloc_agent_total(struct master *m, const struct agent *a)
{
	char buf[RES_TEXT];
	json_t *r;

	r = rec_new(A_AGENT_ADD);
	rec_set_str(r, "agent_id", a->id);
	rec_set_str(r, "resources", res_format(&a->total, buf, sizeof(buf)));
	rec_set_str(r, "attributes", a->attributes);
	alloc_send(m, r);
}

/*
 * The claims are every live task of a framework the master knows (a known
 * agent's tasks are known to the allocator already).
 */
void
alloc_agent_add(struct master *m, struct agent *a, int claims)
{
	struct mexec *e;
	struct task *t;
	size_t pos = 0;

	alloc_agent_total(m, a);
	while (claims && (t = map_next(a->tasks, &pos, NULL)) != NULL) {
		if (t->ended || map_get(m->frameworks, t->framework_id) == NULL)
			continue;
		alloc_claim(m, t->framework_id, a->id, &t->res);
	}
	for (pos = 0; claims &&
	    (e = map_next(m->executors, &pos, NULL)) != NULL;)
		if (strcmp(e->agent_id, a->id) == 0 &&
		    map_get(m->frameworks, e->framework_id) != NULL)
			alloc_claim(m, e->framework_id, a->id, &e->res);
}

/*
 * Make an ALLOCATION an offer, or give it back: when its framework or
 * agent went meanwhile, or when it is more than the agent has free (a
 * decision made before the agent re-registered smaller).
 */
static void
alloc_handle(struct master *m, json_t *rec)
{
	char err[REC_ERRLEN], buf[RES_TEXT], fbuf[RES_TEXT];
	struct framework *fw;
	struct agent *a;
	struct res res, free_;

	if (strcmp(rec_type(rec), A_CYCLE) == 0) {
		stats_cycle(rec_num_or(rec, "seconds", 0));
		return;
	}
	if (strcmp(rec_type(rec), A_ALLOCATION) != 0) {
		if (strcmp(rec_type(rec), R_ERROR) == 0)
			log_warnx("allocator: %s", rec_str(rec, "message") ?
			    rec_str(rec, "message") : "error");
		return;
	}
	if (rec_require(rec, "framework_id:s agent_id:s resources:s", err) == -1 ||
	    res_parse(rec_str(rec, "resources"), &res, err) == -1) {
		log_warnx("allocator sent a bad ALLOCATION: %s", err);
		return;
	}
	fw = map_get(m->frameworks, rec_str(rec, "framework_id"));
	a = map_get(m->agents, rec_str(rec, "agent_id"));
	if (fw == NULL || a == NULL || !a->active || !fw->active) {
		/* it went meanwhile: hand the resources back */
		if (fw != NULL && a != NULL)
			alloc_recover(m, fw->id, a->id, &res, 0);
		res_free(&res);
		return;
	}
	if (fw->optimistic) {
		/* a decision made before its SUPPRESS: it takes no offers */
		alloc_recover(m, fw->id, a->id, &res, 0);
		res_free(&res);
		return;
	}
	if (!agent_offerable(m, a)) {
		/* drained meanwhile: the allocator forgot it, and this too */
		res_free(&res);
		return;
	}
	/* one ledger: never offer what the master knows is not free */
	agent_free(a, &free_);
	if (!res_contains(&free_, &res)) {
		log_info("allocator offered %s of agent %s, which has %s free "
		    "(a decision made before the agent re-registered or a "
		    "transaction took it): given back",
		    res_format(&res, buf, sizeof(buf)), a->id,
		    res_format(&free_, fbuf, sizeof(fbuf)));
		alloc_recover(m, fw->id, a->id, &res, 0);
		res_free(&free_);
		res_free(&res);
		return;
	}
	res_free(&free_);
	/* -L offers: its principal answers some first; others are offered */
	if (limits_offer_full(m, fw)) {
		log_debug("framework %s: its principal holds its limit of "
		    "offers: %s given back", fw->id, a->id);
		alloc_recover(m, fw->id, a->id, &res, m->conf->refuse_ms);
		res_free(&res);
		return;
	}
	offer_make(m, fw, a, &res);
}

void
alloc_recv(struct master *m)
{
	char errbuf[256];
	json_t *rec;
	int n, r;

	for (n = 0; n < RECV_BATCH; n++) {
		r = net_recv(m->alloc, &rec, NULL, errbuf);
		if (r == 0)
			break;
		if (r < 0) {
			log_warnx("allocator sent a bad record: %s", errbuf);
			continue;
		}
		alloc_handle(m, rec);
		json_decref(rec);
	}
}

/* After a restart the allocator knows nothing: tell it everything. */
static void
alloc_replay(struct master *m)
{
	struct departing *d;
	struct mexec *e;
	struct agent *a;
	struct framework *fw;
	struct offer *o;
	struct task *t;
	const char *id;
	size_t pos = 0;
	json_t *r;

	alloc_weights(m);
	quota_send_all(m);
	while ((a = map_next(m->agents, &pos, NULL)) != NULL)
		if (agent_offerable(m, a))
			alloc_agent_total(m, a);
	for (pos = 0; (fw = map_next(m->frameworks, &pos, NULL)) != NULL;) {
		r = rec_new(A_FRAMEWORK_ADD);
		rec_set_str(r, "framework_id", fw->id);
		rec_set_str(r, "role", fw->role);
		if (fw->filters != NULL)
			json_object_set(r, "filters", fw->filters);
		alloc_send(m, r);
	}
	for (pos = 0; (d = map_next(m->departing, &pos, &id)) != NULL;) {
		alloc_send(m, json_pack("{s:s,s:s,s:s}", "type", A_FRAMEWORK_ADD,
		    "framework_id", id, "role", d->role));
		alloc_send(m, json_pack("{s:s,s:s}", "type", R_SUPPRESS,
		    "framework_id", id));
	}
	for (pos = 0; (o = map_next(m->offers, &pos, NULL)) != NULL;)
		alloc_claim(m, o->framework_id, o->agent_id, &o->res);
	/* a drained agent's tasks are not the allocator's */
	for (pos = 0; (t = map_next(m->tasks, &pos, NULL)) != NULL;)
		if (!t->ended && map_get(m->drains, t->agent_id) == NULL)
			alloc_claim(m, t->framework_id, t->agent_id, &t->res);
	for (pos = 0; (e = map_next(m->executors, &pos, NULL)) != NULL;)
		alloc_claim(m, e->framework_id, e->agent_id, &e->res);
}
