/*
 * scheduler (functions prefixed sched_): the scheduler library, for
 * frameworks written in C.  (The header is not called sched.h so that it
 * never hides the system's <sched.h>, which <spawn.h> and <pthread.h>
 * include.)  It speaks the framework side of cluster-protocol(7) with
 * offerd: it subscribes (and retransmits SUBSCRIBE until SUBSCRIBED comes
 * back, and again under the same id when the master forgets it), sends a
 * HEARTBEAT every second, acknowledges status updates (unless told not
 * to), hands each status update over once even when the agent resends
 * it, resends kills until the task ends, queues the calls its socket
 * refuses and sends them in order later, and turns each record from the
 * master into a call of one of the scheduler's callbacks.  It is the only
 * code of the project that speaks the framework side: cluster-ctl's run
 * and subscribe and the benchmarks' load generator are built on it.
 * See sched(3).
 *
 * Integration: poll sched_fd() for reading and call sched_dispatch()
 * when it is readable or sched_timeout() milliseconds have passed; or
 * let sched_run() do that loop.
 *
 * Who frees what:
 *   - sched_create() copies every string of its options; the caller
 *     keeps (and may free) the options and callbacks.  sched_destroy()
 *     frees everything the handle holds.
 *   - Everything a callback is given (struct sched_offer, struct
 *     sched_status, strings, the json_t records) is borrowed: valid until
 *     the callback returns.  json_incref() a record, or copy what you
 *     need, to keep it.
 *   - A json_t passed to a sched_* call (the tasks of sched_accept(),
 *     the record of sched_call()) stays the caller's: the library takes
 *     its own reference or copy.
 *   - sched_task() returns a new json_t the caller owns.
 *
 * Callbacks may call any sched_* function except sched_destroy().
 */
#ifndef CLUSTER_SCHEDULER_H
#define CLUSTER_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "proto.h"
#include "res.h"

#define SCHED_ERRLEN		256
#define SCHED_HEARTBEAT_MS	1000	/* longest gap between heartbeats */
#define SCHED_RESEND_MS		500	/* SUBSCRIBE retransmission */
#define SCHED_RECONNECT_MS	50	/* ... while the socket is not connected */
#define SCHED_FLUSH_MS		1	/* retry of calls the socket refused */
#define SCHED_QUEUE_MAX		65536	/* calls waiting at most; more fail */
#define SCHED_KILL_RESEND_MS	1000	/* KILL retransmission */
#define SCHED_KILL_TRIES	30	/* kills sent before giving up */
#define SCHED_FOLLOW_MS		50	/* a new leader of the master's election
					   is looked for this often at least */

struct sched;

/* How to subscribe; every field may be 0/NULL for its default. */
struct sched_opts {
	const char	*master;	/* endpoint; NULL: $CLUSTER_MASTER */
	const char	*name;		/* framework name; NULL: "sched" */
	const char	*role;		/* NULL: "*" */
	const char	*framework_id;	/* subscribe again as this framework */
	double		 failover_timeout; /* seconds the master keeps the
					   framework's tasks after it goes
					   silent; 0: torn down at once */
	const char	*filter_attributes; /* only agents matching, e.g.
					   "owner:web" or "rack:r1|r2" */
	const char	*filter_min;	/* only agents with at least this
					   free, e.g. "cpus:2;mem:512" */
	int		 manual_ack;	/* 1: the scheduler acknowledges
					   status updates itself */
	const char	*credential;	/* our credential file; NULL:
					   $CLUSTER_CREDENTIAL, else the
					   credentials directory's, else
					   none (records in the clear) */
	int		 optimistic;	/* 1: shared state instead of
					   offers: the free_resources
					   callback, sched_commit() */
};

/* One OFFER: every pointer is borrowed for the callback's duration. */
struct sched_offer {
	const char	*offer_id;
	const char	*agent_id;
	const char	*hostname;
	const char	*attributes;	/* "" when the agent has none */
	const char	*resources;	/* Mesos syntax */
	const struct res *res;		/* the same, parsed */
	const json_t	*rec;		/* the whole OFFER record */
};

/* One STATUS update: every pointer is borrowed, NULL when absent. */
struct sched_status {
	const char	*task_id;
	const char	*agent_id;
	const char	*state;		/* TASK_RUNNING, TASK_FINISHED, ... */
	const char	*reason;
	const char	*message;
	const char	*sandbox;
	const char	*uuid;		/* NULL: nothing to acknowledge */
	int		 terminal;	/* the task will never run again */
	int		 reconcile;	/* an answer to sched_reconcile() */
	int		 has_exit_code;
	int		 exit_code;
	int		 signal;	/* 0 when not killed by a signal */
	const json_t	*rec;		/* the whole STATUS record */
};

/*
 * An ERROR from the master, or a failure of the library's own (its socket,
 * a record it could not read): every pointer is borrowed, NULL when absent.
 */
struct sched_error {
	const char	*code;		/* E_* of proto.h; NULL: the library's */
	const char	*message;	/* for people: never match its text */
	const char	*about;		/* the record type at fault */
	const json_t	*rec;		/* the whole ERROR record, or NULL */
};

/*
 * A DRAIN notice: an agent the framework has tasks on goes into
 * maintenance; every pointer is borrowed, NULL when absent.
 */
struct sched_drain {
	const char	*agent_id;
	const char	*hostname;
	const char	*reason;	/* "" when the operator gave none */
	long long	 deadline_ms;	/* its tasks are killed then; 0: none */
	const json_t	*rec;		/* the whole DRAIN record */
};

/*
 * One agent of a FREE record (optimistic mode): what it has free for our
 * role, as of VERSION.  Every pointer is borrowed, "" when absent.
 */
struct sched_free {
	const char	*agent_id;	/* NULL: the end of a snapshot */
	const char	*hostname;
	const char	*attributes;
	const char	*state;		/* active, draining, drained,
					   unreachable, gone (forget it) */
	const char	*resources;	/* Mesos syntax; "" for nothing */
	const struct res *res;		/* the same, parsed */
	long long	 version;	/* moves with every change */
	int		 snapshot;	/* part of the view as a whole */
	const json_t	*entry;		/* the agent's entry of the record */
};

/* The master's answer to sched_commit(); every pointer is borrowed. */
struct sched_committed {
	const char	*transaction_id;
	const char	*outcome;	/* committed, partial, aborted */
	const json_t	*launched;	/* array of the task ids launched */
	const json_t	*conflicts;	/* array of {task_id, agent_id,
					   reason, message} */
	const json_t	*rec;		/* the whole COMMITTED record */
};

/* The scheduler's side: any pointer may be NULL to ignore that event. */
struct sched_callbacks {
	/* Every record from the master, before the library acts on it. */
	void	(*record)(struct sched *, void *ctx, const json_t *rec);
	/* SUBSCRIBED: FRAMEWORK_ID is ours; AGAIN is 1 on a resubscription. */
	void	(*subscribed)(struct sched *, void *ctx,
		    const char *framework_id, int again);
	/* An OFFER: answer it with sched_accept() or sched_decline(). */
	void	(*offer)(struct sched *, void *ctx, const struct sched_offer *);
	/* The master took OFFER_ID back; do not use it any more. */
	void	(*rescind)(struct sched *, void *ctx, const char *offer_id);
	/* A STATUS update (acknowledged after this returns, unless manual). */
	void	(*status)(struct sched *, void *ctx, const struct sched_status *);
	/* AGENT_LOST: its tasks come as TASK_LOST status updates too. */
	void	(*agent_lost)(struct sched *, void *ctx, const char *agent_id);
	/*
	 * An ERROR the library does not handle itself (it subscribes again
	 * on unknown_framework and resubscribe), or a socket failure.  While
	 * not subscribed, one about SUBSCRIBE is the master refusing it.
	 */
	void	(*error)(struct sched *, void *ctx, const struct sched_error *);
	/*
	 * DRAIN: move the work off the agent before the deadline, when
	 * there is one; the tasks still there then end TASK_KILLED with
	 * reason "drained".  Nothing more is offered on it meanwhile.
	 */
	void	(*drain)(struct sched *, void *ctx, const struct sched_drain *);
	/*
	 * Optimistic mode: an agent's free resources, one call per agent
	 * of each FREE record; after a snapshot's last agent, one call
	 * with agent_id NULL (drop the agents it did not name).
	 */
	void	(*free_resources)(struct sched *, void *ctx,
		    const struct sched_free *);
	/* Optimistic mode: the answer to a sched_commit(). */
	void	(*committed)(struct sched *, void *ctx,
		    const struct sched_committed *);
};

/*
 * A new scheduler that starts subscribing at once.  Returns it, or NULL
 * with a reason in ERR (SCHED_ERRLEN bytes) when an option is invalid or
 * the socket cannot be opened.
 */
struct sched *sched_create(const struct sched_opts *opts,
	    const struct sched_callbacks *cb, void *ctx, char *err);
/* Close S and free all it holds (NULL allowed); does not tear down. */
void	sched_destroy(struct sched *s);

/*
 * The file descriptor to poll for reading.  It changes when the master
 * is an election and its leader moves: ask again after each dispatch.
 */
int	sched_fd(const struct sched *s);
/* Milliseconds until sched_dispatch() has timed work to do (>= 0). */
int	sched_timeout(const struct sched *s);
/*
 * Handle every record waiting and every timer due, calling callbacks.
 * Returns 0, or -1 once the scheduler is stopped (torn down or
 * sched_stop() called) or its socket failed.
 */
int	sched_dispatch(struct sched *s);
/*
 * The loop: dispatch until sched_stop() or sched_teardown(), calling
 * TIMER (when not NULL) every TIMER_MS milliseconds.  Returns 0 after a
 * stop, -1 on a socket failure.
 */
int	sched_run(struct sched *s, int64_t timer_ms,
	    void (*timer)(struct sched *, void *ctx));
/* Make sched_run() return; async-signal-safe. */
void	sched_stop(struct sched *s);

/* Our framework id, or NULL until subscribed (a new framework makes its
 * own id, "fw-" and 12 random hex digits, unless opts named one). */
const char *sched_framework_id(const struct sched *s);
/* True once SUBSCRIBED came back. */
int	sched_subscribed(const struct sched *s);

/*
 * A new task description {task_id, name, resources, command} (command
 * runs under /bin/sh -c); add "argv", "env" or "user" to it as
 * cluster-protocol(7) says.  The caller owns the result.
 */
json_t	*sched_task(const char *task_id, const char *resources,
	    const char *command);

/*
 * The calls.  Each returns 0 when the record was handed to the transport
 * (or queued until SUBSCRIBED), -1 when it could not be (bad argument,
 * stopped scheduler).  Delivery is best effort, as in Mesos: an answer
 * that is lost shows as a rescinded offer, a lost kill is resent.
 */

/* Launch TASKS (an array of task descriptions) on OFFER_ID; what the
 * tasks leave unused is refused for REFUSE_SECONDS (< 0: the default). */
int	sched_accept(struct sched *s, const char *offer_id, json_t *tasks,
	    double refuse_seconds);
/* Decline OFFER_ID: its agent is not offered again for REFUSE_SECONDS
 * (< 0: the master's default). */
int	sched_decline(struct sched *s, const char *offer_id,
	    double refuse_seconds);
/*
 * Optimistic mode: launch TASKS (task descriptions, each naming its
 * "agent_id") as one transaction TRANSACTION_ID; the answer comes to the
 * committed callback.  FLAGS: SCHED_INCREMENTAL launches the tasks that
 * fit when some do not (default: all or nothing); SCHED_BY_AGENT makes a
 * change of an agent's version since the task's "version" a conflict
 * (default: only resources no longer free are).
 */
#define SCHED_INCREMENTAL	1
#define SCHED_BY_AGENT		2
int	sched_commit(struct sched *s, const char *transaction_id,
	    json_t *tasks, int flags);
/* Stop receiving offers until sched_revive(). */
int	sched_suppress(struct sched *s);
/* Receive offers again and drop every decline filter. */
int	sched_revive(struct sched *s);
/* Kill TASK_ID; resent until a terminal status arrives. */
int	sched_kill(struct sched *s, const char *task_id);
/* Acknowledge the status update UUID of TASK_ID (manual_ack mode). */
int	sched_acknowledge(struct sched *s, const char *task_id,
	    const char *agent_id, const char *uuid);
/* Ask for the state of the N tasks TASK_IDS (N == 0: all our tasks);
 * the answers come as status updates with reconcile set. */
int	sched_reconcile(struct sched *s, const char *const *task_ids, size_t n);
/*
 * Send REC, a call record of any type (a bridge passes its input through
 * with this), as our framework: a copy with our framework_id, queued
 * until SUBSCRIBED.  Nothing is tracked or resent.
 */
int	sched_call(struct sched *s, const json_t *rec);
/* End the framework: the master kills its tasks; sched_run() returns. */
int	sched_teardown(struct sched *s);

#endif
