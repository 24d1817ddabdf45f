/*
 * agent: the agent side of the cluster protocol, one implementation for
 * agentd and the agent emulator (t/bench/agent-emu.c): registration and
 * re-registration (with the agent's tasks), heartbeats, the dispatch of
 * AGENT_REGISTERED, REREGISTER, LAUNCH, KILL and ACKNOWLEDGE, and each
 * task's queue of status updates, sent in order and resent with back-off
 * until the framework's acknowledgement comes back (cluster-protocol(7)).
 *
 * A struct agent_set is the agents of one process over one socket: one
 * for agentd, thousands for the emulator.  What differs between a real
 * and an emulated agent (how a task runs, what is checkpointed, what an
 * agent says of itself) is in the callbacks of struct agent_ops.  Every
 * time-driven step is a timer in the caller's struct timeq.
 *
 * Who frees what: the caller allocates each task (ops->task_new, or for
 * a recovered one itself) with a struct agent_task as its first member;
 * the set owns the task's JSON values and hands the task back through
 * ops->task_free once it is done with it.
 *
 * Executors (lib/agentexec.c, cluster-protocol(7) EXECUTORS): a task
 * whose LAUNCH names an "executor" runs in that framework's executor,
 * which the set starts through ops->executor_start (once per framework
 * and executor id) and talks to over its own hub socket
 * (agent_exec_open).  The set owns each struct agent_executor; the
 * caller's process state hangs on its PROC and is let go of through
 * ops->executor_free.  With ops->executor_resize, the executor's
 * container follows its tasks (agent_exec_resize): a task goes to the
 * executor once its resources are in the limits.  Executors are
 * supported for a set of one agent.
 */
#ifndef CLUSTER_AGENT_H
#define CLUSTER_AGENT_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/queue.h>
#include <jansson.h>

#include "net.h"
#include "res.h"
#include "timeq.h"

#define AGENT_ID_LEN	64	/* an identifier and its NUL (id_valid) */
#define AGENT_STATE_LEN	24
#define AGENT_HEARTBEAT_MS	1000	/* the default heartbeat interval */
#define AGENT_UPDATE_RETRY_MS	10000	/* the default first resend */
#define AGENT_RECV_BATCH	4096	/* records taken in one turn at most */

#define AGENT_SECRET_LEN	65	/* an executor's secret, hex, and NUL */
#define AGENT_EXEC_WINDOW	128	/* LAUNCH_TASKs out unanswered, at most */

struct agent_set;
struct agent_executor;
struct res;
struct net;

struct agent_task {
	char		 key[3 * AGENT_ID_LEN];	/* INDEX/FRAMEWORK/TASK */
	char		 id[AGENT_ID_LEN];
	char		 framework_id[AGENT_ID_LEN];
	struct agent	*agent;
	json_t		*info;		/* the task as launched */
	char		 state[AGENT_STATE_LEN];	/* the latest reported */
	int		 ended;		/* a terminal update is queued */
	int		 disowned;	/* the master gave up on it: no updates */
	json_t		*updates;	/* STATUS records not yet acknowledged */
	int		 tries;		/* sends of the oldest one */
	int		 send_head;	/* send the oldest at the next flush */
	json_t		*unsaved;	/* checkpoint lines not yet written */
	int		 dirty;		/* on the set's list to flush */
	struct timeq_ent retry;
	LIST_ENTRY(agent_task) agent_link, dirty_link;
	struct agent_executor *exec;	/* the executor it runs in, or NULL */
	TAILQ_ENTRY(agent_task) exec_link;	/* on exec's list */
	int64_t		 exec_seq;	/* the executor's last update taken */
	int		 exec_kill;	/* a KILL_TASK is wanted */
	int		 exec_hold;	/* its LAUNCH_TASK waits for the
					   executor's limits to take it */
	int64_t		 exec_gen;	/* the resize that counts it; 0: none
					   asked yet */
	struct res	 exec_res;	/* its resources, in exec's tasks_res
					   while exec_counted */
	int		 exec_counted;
	int		 exec_ready;	/* on exec's ready queue */
	int		 exec_sent;	/* its LAUNCH_TASK is out, unanswered */
	TAILQ_ENTRY(agent_task) ready_link;
	TAILQ_ENTRY(agent_task) held_link;	/* on exec's held queue */
};

/* One executor of a framework on the agent (lib/agentexec.c). */
struct agent_executor {
	char		 key[2 * AGENT_ID_LEN];	/* FRAMEWORK/EXECUTOR */
	char		 id[AGENT_ID_LEN];
	char		 framework_id[AGENT_ID_LEN];
	struct agent	*agent;
	json_t		*info;		/* the "executor" map of its LAUNCH */
	char		 secret[AGENT_SECRET_LEN];
	struct net_route route;		/* the way back to it */
	int		 registered;	/* in this run of the agent */
	int		 shutdown;	/* SHUTDOWN sent: killed at its timer */
	int		 killed;	/* ops->executor_kill was called */
	int		 exited;	/* agent_exec_exited runs: no resize */
	int64_t		 resize_gen;	/* of the last resize asked */
	int		 resize_wanted;	/* its tasks changed: resize at the flush */
	int64_t		 resize_busy;	/* the resize awaiting its answer, or 0 */
	struct res	 tasks_res;	/* the sum of its live tasks' resources,
					   kept as they come and end */
	json_t		*acks;		/* ACKNOWLEDGEs for it, sent at the
					   flush once their updates are kept */
	TAILQ_HEAD(, agent_task) tasks;	/* the tasks that name it, oldest first */
	TAILQ_HEAD(, agent_task) ready;	/* to send, in order, as the window
					   lets them */
	/* exec_hold tasks in the order they came: those a resize counts
	   (exec_gen, rising) first, then those none counts yet */
	TAILQ_HEAD(agent_taskq, agent_task) held;
	int		 inflight;	/* tasks exec_sent */
	char		 why[128];	/* why it was killed, for its tasks */
	struct timeq_ent timer;		/* registration, or shutdown grace */
	void		*proc;		/* the caller's */
};

struct agent {
	char		 id[AGENT_ID_LEN];	/* "" until the master gives one */
	int		 index;			/* in the set */
	int		 registered;
	int		 leaving;	/* it said goodbye: no more heartbeats */
	int		 left;		/* the master took its LEAVE */
	struct timeq_ent timer;		/* registration retry, or heartbeat */
	struct agent_set *set;
	LIST_HEAD(, agent_task) tasks;
};

struct agent_ops {
	/* Send REC (not consumed); -1 when it could not go now. */
	int	(*send)(void *arg, const json_t *rec);
	/* The index of the agent whose id is ID (maybe NULL); -1: none. */
	int	(*which)(void *arg, const char *id);
	/* Add what agent A says of itself to its REGISTER_AGENT REC. */
	void	(*describe)(void *arg, struct agent *a, json_t *rec);
	/*
	 * A new task for agent A, launched as INFO (checked for task_id and
	 * resources): allocate it zeroed, or NULL (logged) to ignore the
	 * LAUNCH.  The set fills it and calls task_start.
	 */
	struct agent_task *(*task_new)(void *arg, struct agent *a, json_t *info);
	/* Start T; its updates go through agent_update. */
	void	(*task_start)(void *arg, struct agent_task *t);
	/* Stop T; its terminal update comes later through agent_update. */
	void	(*task_kill)(void *arg, struct agent_task *t);
	/* Optional: every update of ended task T is acknowledged. */
	void	(*task_acked)(void *arg, struct agent_task *t);
	/* Free T, which the set has let go of. */
	void	(*task_free)(void *arg, struct agent_task *t);
	/* Optional: add fields to T's STATUS record ST. */
	void	(*status)(void *arg, struct agent_task *t, json_t *st);
	/*
	 * Optional: append T's checkpoint LINES (JSON values: each update
	 * as queued, {"ack":UUID}, {"clear":true}); called before any of
	 * them is sent.  NULL: nothing is kept.
	 */
	void	(*checkpoint)(void *arg, struct agent_task *t, json_t *lines);
	/*
	 * Optional: write what checkpoint took since the last call, which
	 * it may have held to write once for many tasks; called before any
	 * of it is sent or acknowledged.  NULL: checkpoint writes at once.
	 */
	void	(*checkpoint_sync)(void *arg);
	/*
	 * Optional: read at most MAX bytes at OFFSET of the output STREAM
	 * ("stdout" or "stderr") of task TID of framework FW on agent A into
	 * BUF, and its whole size into *SIZE; the count read, or -1 with
	 * ERR (256 bytes).  NULL: the agent keeps no output.
	 */
	ssize_t	(*output)(void *arg, struct agent *a, const char *fw,
		    const char *tid, const char *stream, int64_t offset,
		    char *buf, size_t max, int64_t *size, char *err);
	/* Optional: an ERROR record from the master; NULL: logged. */
	void	(*error)(void *arg, const json_t *rec);
	/*
	 * Optional (executors): start executor E (e->info, e->secret set)
	 * with the endpoint of agent_exec_open in its environment; 0, or -1
	 * with WHY (256 bytes).  Its end is told through agent_exec_exited.
	 */
	int	(*executor_start)(void *arg, struct agent_executor *e, char *why);
	/* Stop E: FORCE, at once (SIGKILL); else with the grace period. */
	void	(*executor_kill)(void *arg, struct agent_executor *e, int force);
	/* Let go of E's process state (e->proc); E is freed next. */
	void	(*executor_free)(void *arg, struct agent_executor *e);
	/*
	 * Optional (executors): set the limits of E's container to LIMITS
	 * (its own resources and its live tasks'), without waiting: 0 and
	 * the answer later through agent_exec_resized with GEN; 1 when
	 * there is nothing to resize (done); -1 with WHY (256 bytes).
	 * NULL: tasks go to their executor at once.
	 */
	int	(*executor_resize)(void *arg, struct agent_executor *e,
		    const struct res *limits, int64_t gen, char *why);
};

struct agent_conf {
	const struct agent_ops *ops;
	void		*arg;		/* the callbacks' first argument */
	struct timeq	*timers;
	int64_t		 heartbeat_ms;
	int64_t		 retry_ms;	/* the first resend of an update */
	int64_t		 register_retry_ms;
	int64_t		 register_jitter_ms;	/* plus 0..this at random */
	int		 register_rate;	/* REGISTER_AGENT a second; 0: any */
	int		 verbose;	/* registration, updates: info, not debug */
	int64_t		 exec_register_ms;	/* 0: PROTO_EXECUTOR_REGISTER_MS */
	int64_t		 exec_grace_ms;	/* SHUTDOWN to kill; 0: 3 s */
};

struct agent_set {
	struct agent_conf conf;
	struct agent	*agents;
	int		 n, nregistered;
	struct map	*tasks;		/* by key */
	LIST_HEAD(, agent_task) dirty;
	struct net	*exec_net;	/* executors' hub, or NULL */
	struct map	*executors;	/* by key */
	int		 exec_resize;	/* some executor's resize_wanted is set */
	int		 exec_acks;	/* some executor's acks wait */
	double		 tokens;	/* registrations that may go now */
	int64_t		 tokens_at, last_sweep;
};

/*
 * Seal what every agent of this process sends with its credential: PATH
 * (-C), else $CLUSTER_CREDENTIAL, else the credentials directory's, which
 * the first start on a machine makes (auth_bootstrap_default, logged), as
 * offerd's does.  Returns 0, or -1 with ERR (ERRLEN) when a named
 * credential cannot be used.
 */
int	agent_cred_setup(const char *path, char *err, size_t errlen);
/* N agents with CONF (copied); NULL out of memory.  agent_set_destroy. */
struct agent_set *agent_set_create(const struct agent_conf *conf, int n);
/* Free the set and every task (through ops->task_free), sending nothing. */
void	agent_set_destroy(struct agent_set *);
/* Schedule every agent's first registration, spread at the rate. */
void	agent_set_start(struct agent_set *);
/* Handle one record from the master. */
void	agent_set_handle(struct agent_set *, const json_t *rec);
/*
 * Handle what NET holds from the master, at most AGENT_RECV_BATCH
 * records (so a flood cannot starve the loop); a bad record is logged
 * and skipped.  Returns how many were taken.
 */
int	agent_set_receive(struct agent_set *, struct net *net);
/* Checkpoint, then send, what this turn of the event loop queued. */
void	agent_set_flush(struct agent_set *);
/* Walk every task: start with *POS = 0; NULL at the end. */
struct agent_task *agent_set_next(struct agent_set *, size_t *pos);
/* True when every task has ended and every update was acknowledged. */
int	agent_set_quiet(struct agent_set *);
/*
 * Say goodbye for every registered agent of the set: LEAVE, saying
 * whether its tasks were killed (KILLED) or stay; the master answers LEFT
 * and places nothing more on it.  Call again until agent_set_left().
 */
void	agent_set_leave(struct agent_set *, int killed);
/* True when the master has taken the LEAVE of every registered agent. */
int	agent_set_left(struct agent_set *);
/* Agent A registers again (a new master), its first try in DELAY ms. */
void	agent_reregister(struct agent *a, int64_t delay);

/*
 * Add task T (id, framework_id, info, updates, state, ended and
 * disowned filled; the set takes info and updates) to agent A, as
 * recovered from a checkpoint.  Returns 0, or -1 out of memory.
 */
int	agent_task_insert(struct agent *a, struct agent_task *t);
/*
 * Queue the status update STATE for T, with the fields of EXTRA
 * (consumed, may be NULL).  A terminal update of a task the master gave
 * up on frees T.
 */
void	agent_update(struct agent_task *t, const char *state, json_t *extra);
/* Stop T: its executor's KILL_TASK, or ops->task_kill. */
void	agent_task_kill(struct agent_task *t);
/* Write T's checkpoint lines now (before an acknowledgement). */
void	agent_task_checkpoint(struct agent_task *t);

/* ---- executors: lib/agentexec.c ---- */
/*
 * Bind the executors' hub of set S on ENDPOINT (ipc://PATH).  Returns 0,
 * or -1 with ERR (256 bytes).
 */
int	agent_exec_open(struct agent_set *s, const char *endpoint, char *err);
/* The hub's descriptor to poll, or -1. */
int	agent_exec_fd(struct agent_set *s);
/* Handle what the executors sent, a bounded batch; returns how many. */
int	agent_exec_receive(struct agent_set *s);
/*
 * Batches to executors (net_cork, net_flush, net_pending of the local
 * socket); each does nothing without one.
 */
void	agent_exec_cork(struct agent_set *s);
void	agent_exec_uncork(struct agent_set *s);
int	agent_exec_pending(struct agent_set *s);
/*
 * Task T (in the set, t->info naming an executor) starts: in its
 * executor, started first when it is the first task naming it.
 */
void	agent_exec_task_start(struct agent_task *t);
/*
 * Executor E's process has ended, as REASON says: its unfinished tasks
 * end TASK_FAILED (TASK_LOST when LOST: the agent cannot tell how they
 * ended), the master hears EXECUTOR_EXITED, and E is freed.
 */
void	agent_exec_exited(struct agent_executor *e, int lost,
	    const char *reason);
/*
 * Add an executor recovered from a checkpoint to agent A: FW, ID, INFO
 * (taken) and SECRET; it must register again within
 * PROTO_EXECUTOR_RECONNECT_MS or is killed.  NULL out of memory.
 */
struct agent_executor *agent_exec_insert(struct agent *a, const char *fw,
	    const char *id, json_t *info, const char *secret);
/* Executor ID of framework FW, or NULL. */
struct agent_executor *agent_exec_find(struct agent_set *s, const char *fw,
	    const char *id);
/* Walk every executor: start with *POS = 0; NULL at the end. */
struct agent_executor *agent_exec_next(struct agent_set *s, size_t *pos);
/* Ask E to shut down (SHUTDOWN, then a kill after the grace). */
void	agent_exec_shutdown(struct agent_executor *e, const char *why);
/* T's executor is told to kill T (agent_task_kill). */
void	agent_exec_kill_task(struct agent_task *t);
/* Free every executor, sending nothing (agent_set_destroy). */
void	agent_exec_destroy_all(struct agent_set *s);
/* FRAMEWORK_MESSAGE and SHUTDOWN_EXECUTOR from the master (agent.c). */
void	agent_exec_handle(struct agent *a, const json_t *rec);
/* Task T runs in executor E (a task recovered with its executor). */
void	agent_exec_attach(struct agent_task *t, struct agent_executor *e);
/* T, going away, no longer holds a place of its executor's (agent.c). */
void	agent_exec_detach(struct agent_task *t);
/* Task T, recovered in its executor before any word of it: its launch
 * waits again for the executor's limits (the resize at registration). */
void	agent_exec_hold(struct agent_task *t);
/* Task T ended: its executor's limits no longer count it. */
void	agent_exec_uncount(struct agent_task *t);
/*
 * Resize E's container to its resources and its live tasks' (through
 * ops->executor_resize, once E has registered): when a task starts in E
 * (its LAUNCH_TASK waits for the answer), ends, and when E registers.
 * The resize goes at the set's flush, one at a time for each executor:
 * what changes while one awaits its answer goes in the next, so that a
 * burst of short tasks costs a few resizes, not two each.
 */
void	agent_exec_resize(struct agent_executor *e);
/*
 * Send the resizes wanted, then the LAUNCH_TASKs the executors' windows
 * let go (agent_set_flush, before the checkpoints).  An executor is
 * handed AGENT_EXEC_WINDOW tasks it has not answered at most: its socket
 * drops what it cannot buffer, and a dropped LAUNCH_TASK would wait for
 * the executor's next registration.
 */
void	agent_exec_flush(struct agent_set *s);
/* Send the executors' acknowledgements (agent_set_flush, at its end). */
void	agent_exec_flush_acks(struct agent_set *s);
/*
 * The answer to E's resize GEN: WHY NULL, done, and the tasks it counts
 * go to E; else they fail with WHY, the limits as they were.
 */
void	agent_exec_resized(struct agent_executor *e, int64_t gen,
	    const char *why);

#endif
