/*
 * offerd: the master.  It keeps agents, frameworks, offers and tasks in
 * memory (soft state), turns the allocator's decisions into offers,
 * validates what frameworks accept, sends launches and kills to agents and
 * status updates to frameworks.  One hub socket serves every peer.
 *
 * The files, one per role (each opens with what it owns):
 *   main.c        the configuration (getopt), start-up and the event loop
 *   dispatch.c    the hub: record type to handler, replies, the timers
 *   agents.c      agents: registration, liveness, removal
 *   frameworks.c  frameworks: subscription, failover, removal
 *   offers.c      offers: made, accepted, declined, rescinded, timed out
 *   tasks.c       tasks: launches and kills resent until answered, status
 *                 updates and their acknowledgements, reconciliation
 *   executors.c   the frameworks' executors on agents: their resources,
 *                 framework messages, their shutdown
 *   control.c     the queries and commands of cluster-ctl
 *   drain.c       maintenance: agents drained and undrained
 *   shared.c      shared state: optimistic frameworks' view of the free
 *                 resources and their transactions (COMMIT)
 *   alloc.c       the allocator: its process, events out, decisions in
 *   state.c       the registry: the durable state, in the work dir or
 *                 in ZooKeeper under the election (registry.c)
 *   limits.c      the limits per principal (-L)
 *   priv.c        privilege separation: the root parent, the drop, and
 *                 the files offerd reloads, from the parent or read here
 *   stats.c       the metrics: counted here, served on -M, QUERY metrics
 * This header holds the shared types and the functions called across files.
 */
#ifndef OFFERD_H
#define OFFERD_H

#include <sys/types.h>

#include <limits.h>
#include <stdint.h>
#include <jansson.h>

#include "acl.h"
#include "auth.h"
#include "map.h"
#include "net.h"
#include "res.h"

#define ID_LEN		64
#define KEY_LEN		(2 * ID_LEN)	/* a task's framework_id/task_id */
#define WEIGHTS_MAX	32		/* -W options */
#define RES_TEXT	1024		/* a resource list formatted as text */
#define USER_LEN	64		/* a user name, with the NUL */

/* The files offerd makes in its work dir, and nothing else. */
#define WORK_STATE	"state.json"	/* the durable state */
#define WORK_STATE_TMP	WORK_STATE ".tmp"	/* ... while it is written */
#define WORK_ALLOC	"alloc.ipc"	/* the allocator's socket */
#define WORK_LOCK	"lock"		/* held while an offerd serves */
#define WORK_HISTORY	"history"	/* the accounting log, and .1 ... */
#define HISTORY_KEEP	3	/* rotated history files kept */
#define HISTORY_NAME	16	/* "history.N" and its NUL */


/*
 * The files offerd reads at start and reads again on SIGHUP: separated,
 * the root parent reads them and the child gets their bytes (priv.c).
 * A new one is a name here, a reader in priv.c and a loader in dispatch.c.
 */
enum master_file {
	MF_CREDENTIALS,		/* the principals' credentials */
	MF_ACL,			/* the ACL file */
	MF_NFILES
};

/* -L: what one principal may use (limits.c, offerd(8) LIMITS). */
#define LIMIT_MAX	100000000L	/* the largest value: no limit */
struct limits_conf {
	long		 frameworks;	/* subscribed at once */
	long		 offers;	/* held by its frameworks at once */
	long		 rate;		/* records a second ... */
	long		 burst;		/* ... and at once */
};

/* A token bucket of limits.c; zeroed is full. */
struct limit_bucket {
	double		 tokens;
	int64_t		 last;		/* when refilled, or 0: never */
};

/* What the command line sets; read-only once offerd runs. */
struct config {
	const char	*listen_ep;
	const char	*alloc_ep;	/* -a: an allocator offerd does not start */
	const char	*pidpath;
	char		 alloc_prog[PATH_MAX];		/* -A */
	char		 alloc_own[PATH_MAX + 16];	/* the one offerd starts */
	char		 work_dir[PATH_MAX];
	char		*weights[WEIGHTS_MAX];	/* role=weight */
	int		 nweights;
	int		 foreground, verbose, check;
	const char	*keys_path;	/* -K: the credentials file */
	const char	*acl_path;	/* -P: the ACL file */
	const char	*metrics_addr;	/* -M: serve metrics here, or NULL */
	int		 insecure;	/* --insecure: records in the clear */
	char		 keys_file[PATH_MAX + 16];	/* no -K: the default */
	char		 acl_file[PATH_MAX + 16];	/* no -P: the default */
	const char	*files[MF_NFILES];	/* their paths; NULL: none */
	/* privilege separation, when started as root (priv.c) */
	int		 separate;	/* fork; the child serves as run_user */
	int		 user_default;	/* no -u: run_user was chosen */
	char		 run_user[USER_LEN];
	uid_t		 run_uid;
	gid_t		 run_gid;
	int64_t		 offer_timeout_ms;
	int64_t		 agent_timeout_ms;
	int64_t		 framework_timeout_ms;	/* silent this long: inactive */
	int64_t		 refuse_ms;	/* default decline filter */
	int64_t		 removal_ms;	/* unreachable this long: removed */
	int64_t		 recovery_ms;	/* for frameworks to come back */
	int64_t		 keep_done_ms;	/* how long ended tasks stay listed */
	size_t		 keep_done_max;	/* and how many of them at most */
	int64_t		 history_max;	/* --history-size: rotate beyond */
	struct limits_conf limits;	/* -L */
	/* $CLUSTER_REGISTRY: the registry in ZooKeeper; NULL: the work dir */
	const char	*registry;
	struct auth_cred registry_cred;	/* ... logged in as this one */
	int		 registry_has_cred;	/* 0: open znodes */
};

/*
 * The scalars the resource gauges show, in thousandths (stats.c): an
 * agent's total, used and offered, kept in the sums as they change.
 */
enum { GSUM_TOTAL, GSUM_USED, GSUM_OFFERED, GSUM_N };
struct gsum {
	int64_t		 cpus, mem, disk;
};

struct agent {
	char		 id[ID_LEN];
	char		 hostname[256];
	char		*attributes;
	struct res	 total, used, offered;
	struct net_route route;
	int64_t		 last_seen;
	int		 active;	/* registered and not timed out */
	json_t		*isolators;
	size_t		 ntasks;
	struct map	*tasks;		/* its tasks, by framework_id/task_id */
	struct map	*offers;	/* its outstanding offers, by id */
	int64_t		 unreachable_since;
	struct limit_bucket limit;	/* its own records (limits.c) */
	uint64_t	 version;	/* moves with what it has free: shared.c */
	struct gsum	 gauged[GSUM_N];	/* what it adds to the gauges */
	int		 gauged_active;
};

/* An executor of a framework on an agent (executors.c). */
struct mexec {
	char		 key[3 * ID_LEN];	/* agent_id/framework_id/executor_id */
	char		 id[ID_LEN];
	char		 framework_id[ID_LEN];
	char		 agent_id[ID_LEN];
	struct res	 res;		/* its own, beside its tasks' */
	int64_t		 started;	/* wall clock ms */
};

#define ROLE_LEN_MAX	63	/* a role name, without its NUL */

struct framework {
	char		 id[ID_LEN];
	char		 name[128];
	char		 role[ROLE_LEN_MAX + 1];
	struct net_route route;
	int64_t		 last_seen;
	int		 active;
	double		 failover_ms;
	int64_t		 inactive_since;
	json_t		*filters;
	size_t		 ntasks;
	struct map	*tasks;		/* its tasks, by framework_id/task_id */
	struct map	*offers;	/* its outstanding offers, by id */
	int		 suppressed;	/* by its own SUPPRESS */
	int		 placeholder;	/* known only from agents' reports */
	int		 optimistic;	/* mode optimistic: shared.c */
	struct res	 held;		/* its live tasks, offers, executors */
};

struct offer {
	char		 id[ID_LEN];
	char		 framework_id[ID_LEN];
	char		 agent_id[ID_LEN];
	struct res	 res;
	int64_t		 created, expires;
	struct offer	*qprev, *qnext;	/* in creation (= expiry) order */
};

struct task {
	char		 key[KEY_LEN];	/* framework_id/task_id */
	char		 id[ID_LEN];
	char		 framework_id[ID_LEN];
	char		 agent_id[ID_LEN];
	char		 principal[AUTH_PRINCIPAL_MAX];	/* its framework's */
	char		 state[24];
	struct res	 res;
	json_t		*info;		/* the task as accepted */
	json_t		*status;	/* the latest STATUS */
	int64_t		 next_send;	/* launch or kill retransmission */
	int		 tries;
	int		 kill_wanted;
	int		 reported;	/* the agent has said it knows it */
	int		 drain_killed;	/* killed at its drain's deadline */
	int64_t		 ended;		/* when terminal, for expiry */
	int64_t		 submitted, started;	/* wall clock ms, or 0 */
	int64_t		 update_sent;	/* now_ms() its update went, or 0 */
	char		 update_uuid[ID_LEN];	/* ... that update's uuid */
	struct task	*dnext;		/* ended tasks, oldest first */
};

/* An agent's drain (drain.c), durable: kept in the registry. */
#define DRAIN_REASON_MAX	200	/* bytes of a drain's reason */
struct drain {
	int64_t		 since;		/* wall clock ms */
	int64_t		 deadline;	/* wall clock ms; 0: none */
	char		 reason[DRAIN_REASON_MAX + 1];
	char		 by[AUTH_PRINCIPAL_MAX];	/* who drained it */
};

struct master {
	struct auth_keys *keys;	/* the principals, NULL: --insecure */
	struct acl	*acl;	/* the rules, NULL: no file (acl.h) */
	const struct config *conf;
	struct net	*hub;
	struct net	*alloc;
	pid_t		 alloc_pid;	/* the allocator offerd started, or -1 */
	int64_t		 alloc_restart_at;	/* when to start it again, or 0 */
	int64_t		 alloc_started;	/* when the allocator was started */
	int64_t		 alloc_backoff;	/* the wait before the next start */
	struct map	*agents, *frameworks, *offers, *tasks;
	struct map	*executors;	/* struct mexec, by key (executors.c) */
	struct map	*departing;	/* removed frameworks still running: alloc.c */
	struct map	*pending;	/* tasks with a launch or kill in flight */
	struct offer	*ohead, *otail;	/* offers, oldest first */
	struct task	*dhead, *dtail;	/* ended tasks, oldest first */
	size_t		 ndone;
	int64_t		 next_scan;	/* agent and framework timeouts */
	/* durable: see state.c */
	char		 state_path[4096 + 16];
	int		 state_dirty;	/* 1: lazily, 2: at the next tick */
	int64_t		 state_next;
	struct map	*seen_agents, *removed_agents, *seen_fw, *removed_fw;
	/*
	 * The registry's agents (not removed) that have not registered with
	 * this master yet, until awaited_until: a task unknown meanwhile
	 * may be on one of them (state_awaiting()).  NULL once none is.
	 */
	struct map	*awaited;
	int64_t		 awaited_until;
	struct zkstore	*registry;	/* or NULL: WORK/state.json */
	json_t		*weights;	/* role -> weight set: -W, SET_WEIGHT */
	struct map	*drains;	/* agent id -> its struct drain */
	json_t		*quota;		/* role -> its quota: see quota.c */
	json_t		*reservations;	/* agent id -> reserved: reserve.c */
	struct map	*logs;		/* LOGS in flight, by ref: see logs.c */
	unsigned long long logs_seq;
	int		 history_fd;	/* WORK/history, or -1: see history.c */
	int64_t		 history_size;
	struct map	*principals;	/* what each uses: see limits.c */
	int64_t		 refusals_since;	/* the second being logged */
	long		 refusals_logged, refusals_quiet;
	/* shared state: see shared.c */
	struct map	*view_dirty;	/* ids of agents whose view moved */
	size_t		 noptimistic;	/* optimistic frameworks */
	uint64_t	 view_epoch;	/* the first version of an agent */
};

/*
 * Record handlers, called by dispatch.c's table only: each takes REC from
 * the peer at FROM and answers an ERROR when it cannot be taken.
 */
void	agent_register(struct master *, json_t *, const struct net_route *);
/*
 * Rescind agent A's offers (their resources go back first) and, when
 * TELL, have the allocator forget A: nothing more is placed there.
 */
void	agent_withdraw(struct master *, struct agent *, int tell);
void	agent_heartbeat(struct master *, json_t *, const struct net_route *);
void	framework_subscribe(struct master *, json_t *, const struct net_route *);
void	framework_heartbeat(struct master *, json_t *, const struct net_route *);
void	framework_relay(struct master *, json_t *, const struct net_route *);
void	framework_teardown(struct master *, json_t *, const struct net_route *);
void	offer_accept(struct master *, json_t *, const struct net_route *);
void	offer_decline(struct master *, json_t *, const struct net_route *);
void	task_status(struct master *, json_t *, const struct net_route *);
void	agent_leave(struct master *, json_t *, const struct net_route *);
void	task_acknowledge(struct master *, json_t *, const struct net_route *);
void	task_kill(struct master *, json_t *, const struct net_route *);
void	task_reconcile(struct master *, json_t *, const struct net_route *);
void	control_query(struct master *, json_t *, const struct net_route *);
/* LOGS: a task's output, asked of its agent; LOGS_DATA, its answer. */
void	logs_request(struct master *, json_t *, const struct net_route *);
void	logs_data(struct master *, json_t *, const struct net_route *);
/*
 * The roles' weights: those saved in the durable state, then -W's on
 * top (the command line wins); call after state_load.
 */
void	control_weights_init(struct master *);
/*
 * Whether FROM may see the work of PRINCIPAL (a framework's owner, "" when
 * unknown) in a listing: its own always, another's as the ACL says.
 */
int	master_sees(struct master *, const struct net_route *from,
	    const char *principal);
/* QUERY "history": the accounting log's lines that match its filters. */
void	history_query(struct master *, json_t *, const struct net_route *);
void	control_set_weight(struct master *, json_t *, const struct net_route *);
/* DRAIN and UNDRAIN from an operator (drain.c). */
void	drain_request(struct master *, json_t *, const struct net_route *);
void	undrain_request(struct master *, json_t *,
	    const struct net_route *);

/* drain.c */
/* Whether the allocator may place work on A: active and not drained. */
int	agent_offerable(struct master *, const struct agent *);
/* A's state as listings show it: active, draining, drained, unreachable. */
const char *agent_state(struct master *, const struct agent *);
/* Kill the tasks of the drains whose deadline has come; note the drained. */
void	drains_tick(struct master *);

/* quota.c */
/* SET_QUOTA: check, authorize, keep and pass on a role's quota. */
void	quota_set(struct master *, json_t *, const struct net_route *);
/* Tell the allocator every role's quota (at its start and restart). */
void	quota_send_all(struct master *);
/* QUERY "quota": a new array of {role, guarantee, limit}, one page. */
json_t	*quota_items(struct master *);
/* Take the quota of the durable state's SAVED object (NULL: none). */
void	quota_load(struct master *, const json_t *saved);
/* reserve.c */
/* RESERVE: free resources of an agent become a role's (an operator's). */
void	reserve_request(struct master *, json_t *, const struct net_route *);
/* UNRESERVE: a dynamic reservation goes back to every role. */
void	reserve_release(struct master *, json_t *, const struct net_route *);
/*
 * The RESERVE and UNRESERVE operations OPS of framework FW's ACCEPT REC
 * on offer O: all checked, then applied to the offer, its agent and the
 * allocator.  Returns 0, or -1 after an ERROR with nothing changed.
 */
int	reserve_offer_ops(struct master *, json_t *rec,
	    const struct net_route *, struct framework *, struct offer *,
	    json_t *ops);
/* Apply agent A's kept dynamic reservation to its total (it registered). */
void	reserve_apply(struct master *, struct agent *);
/* TOTAL (not initialised) = the resources of every active agent. */
void	cluster_total(struct master *, struct res *total);

/* dispatch.c */
/* Receive and handle a bounded batch of records from the hub. */
void	master_recv(struct master *);
/* Send REC to the peer at TO; consumes REC. */
void	master_reply(struct master *, const struct net_route *to, json_t *rec);
/*
 * Refuse record ABOUT of the peer at TO: log it ("refused TYPE from
 * principal P: MESSAGE (CODE)", at most REFUSALS_LOGGED a second, the
 * rest counted) and answer an ERROR of CODE.
 */
void	master_error(struct master *, const struct net_route *to,
	    const json_t *about, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* The same, for a caller that logged the refusal in its own words. */
void	master_error_logged(struct master *, const struct net_route *to,
	    const json_t *about, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* Run the timers: offer timeouts, agent and framework timeouts, resends. */
void	master_tick(struct master *);
/*
 * Identity: a record FROM about WHAT ID (an agent, a framework) that OWNER
 * (its route) belongs to is taken only from OWNER's principal (or while
 * OWNER has none yet); else an ERROR not_owner, logged.  0 or -1.
 */
int	master_owner(struct master *, const struct net_route *owner,
	    const struct net_route *from, const json_t *rec, const char *what,
	    const char *id);
/*
 * master_owner for a KILL or TEARDOWN: also taken (1, logged) from a
 * principal that an ACL kill rule permits to kill the work of OWNER's
 * principal.  0 for the owner; -1 after an ERROR (forbidden when there
 * are rules, else not_owner).
 */
int	master_kills(struct master *, const struct net_route *owner,
	    const struct net_route *from, const json_t *rec, const char *what,
	    const char *id);
/*
 * Authorization: whether the ACL permits FROM's principal ACTION on
 * OBJECT (NULL for none); else an ERROR forbidden and a log line naming
 * the principal, the action and the object.  0 or -1.
 */
int	master_may(struct master *, const struct net_route *from,
	    const json_t *rec, enum acl_action action, const char *object);
/*
 * Settle the ACL file of C, at start: -P, else the credentials
 * directory's acl when it exists; none: the default policy, as with
 * --insecure.  0, or -1 logged.
 */
int	master_acl_path(struct config *c);
/*
 * (Re)load the ACL file (see priv_file), parsed from memory.  0, or -1
 * (logged "FILE:LINE: why") with the rules in force kept.
 */
int	master_acl_load(struct master *);
/*
 * Settle the credentials file of C: -K, else the one in the credentials
 * directory, made on the first start on one machine; none with
 * --insecure.  0, or -1 logged.
 */
int	master_keys_path(struct config *c);
/*
 * (Re)load the principals' credentials (see priv_file) and seal the hub
 * with them; nothing with --insecure.  0, or -1 (logged) with the old
 * ones kept.
 */
int	master_keys_load(struct master *);
/* (Re)load file WHICH, or every file when WHICH is -1 (logged). */
void	master_files_load(struct master *, int which);

/* agents.c */
/* Into FREE (not initialised): what A has neither in use nor offered. */
void	agent_free(const struct agent *, struct res *free_);
/* Ask agent A to kill task TID of framework FID. */
void	agent_kill_task(struct master *, struct agent *, const char *fid,
	    const char *tid);
/* Mark silent agents unreachable and remove those gone for good. */
void	agents_scan(struct master *, int64_t now);

/* frameworks.c */
/* The framework REC names, its route refreshed; NULL after an ERROR. */
struct framework *framework_of(struct master *, json_t *rec,
	    const struct net_route *from);
/*
 * The framework a KILL or TEARDOWN names: framework_of, or one of another
 * principal that the ACL permits FROM to kill (its route untouched).
 */
struct framework *framework_to_kill(struct master *, json_t *rec,
	    const struct net_route *from);
/* A framework known only from an agent's report; NULL if out of memory. */
struct framework *framework_placeholder(struct master *, const char *id,
	    const char *role);
/* Send REC to FW if it can be addressed; consumes REC. */
void	framework_send(struct master *, struct framework *, json_t *rec);
/* Deactivate silent frameworks and remove those past their failover. */
void	frameworks_scan(struct master *, int64_t now);

/* executors.c */
/*
 * Task I of TASKS (an ACCEPT by FW on agent A): 1 with its executor's
 * resources in RES when it is the first to name an executor not on A
 * yet, 0 when it names none or one counted already, -1 with ERR when
 * its executor map is bad.
 */
int	executor_need(struct master *, const struct framework *,
	    const struct agent *, json_t *tasks, size_t i, struct res *res,
	    char *err);
/* TASK launches on A: its executor is counted there if new. */
void	executor_hold(struct master *, struct framework *, struct agent *,
	    json_t *task);
/* Agent A is forgotten: its executors with it. */
void	executors_agent_gone(struct master *, struct agent *);
/* Add the resources of framework FID's executors to HELD. */
void	executors_held(struct master *, const char *fid, struct res *held);
/* How many executors framework FID has. */
int	executors_of(struct master *, const char *fid);
/* Framework FID is removed: its executors are shut down. */
void	executors_framework_gone(struct master *, const char *fid);
void	executor_exited(struct master *, json_t *, const struct net_route *);
void	executor_message(struct master *, json_t *, const struct net_route *);
void	executor_shutdown(struct master *, json_t *, const struct net_route *);

/* offers.c */
/* -1 with ERR when B shares a port (a range value) with HELD; see there */
int	shared_ranges(const struct res *held, const struct res *b,
	    const char *what, const char *who, char *err);
/* Offer RES (taken over) of agent A to framework FW. */
void	offer_make(struct master *, struct framework *, struct agent *,
	    struct res *res);
/* Withdraw offer O: its resources go back, its framework told if RESCIND. */
void	offer_remove(struct master *, struct offer *, int rescind,
	    int64_t refuse_ms);
/* Rescind the offers not answered within the offer timeout. */
void	offers_expire(struct master *, int64_t now);

/* tasks.c */
/*
 * Check one task T of FW to launch on agent AGENT_ID (an ACCEPT's
 * offer's, a COMMIT's); 0, or -1 with ERR.
 */
int	task_check(struct master *, const struct framework *,
	    const char *agent_id, json_t *t, struct res *res, char *err);
/*
 * Whether FROM may run each task of TASKS (of REC) as the user it names;
 * -1 after an ERROR.
 */
int	tasks_permitted(struct master *, json_t *rec,
	    const struct net_route *from, json_t *tasks);
/* Record task T, checked, with RES (taken over) and launch it on A. */
int	task_create(struct master *, struct framework *, struct agent *,
	    json_t *t, struct res *res);
/* Kill T, resending the KILL to its agent until it answers. */
void	task_kill_now(struct master *, struct task *);
/* Give T the state STATE and tell its framework, with REASON. */
void	task_notify(struct master *, struct task *, const char *state,
	    const char *reason);
/* T reached a terminal state: free its resources. */
void	task_end(struct master *, struct task *);
/* Reconcile the tasks agent A reports when it (re-)registers. */
void	tasks_agent_report(struct master *, struct agent *, json_t *report);
/* Resend due launches and kills; forget tasks ended long enough ago. */
void	tasks_tick(struct master *, int64_t now);

/* logs.c: forget the LOGS requests no agent answered in time. */
void	logs_tick(struct master *, int64_t now);

/* history.c */
/* Append ended task T to the accounting log, rotating it when full. */
void	history_add(struct master *, const struct task *);
/* The name of history file N in the work dir (0: the current one). */
const char *history_name(int, char *, size_t);

/* alloc.c */
/* Start the allocator (unless -a) and connect to it; 0, or -1 logged. */
int	alloc_start(struct master *);
/* Receive and handle a bounded batch of the allocator's decisions. */
void	alloc_recv(struct master *);
/* Reap the allocator offerd started; plan its restart if it ended. */
void	alloc_reap(struct master *);
/* Start the allocator again when due and tell it everything. */
void	alloc_restart(struct master *);
/* Stop the allocator offerd started and close the link. */
void	alloc_stop(struct master *);
/* Send REC to the allocator (consumes REC). */
void	alloc_send(struct master *, json_t *rec);
/* Tell the allocator that RES of AGENT_ID is no longer FW_ID's. */
void	alloc_recover(struct master *, const char *fw_id, const char *agent_id,
	    const struct res *res, int64_t refuse_ms);
/* Tell the allocator that FW_ID holds RES of AGENT_ID. */
void	alloc_claim(struct master *, const char *fw_id, const char *agent_id,
	    const struct res *res);
/* Tell the allocator agent A, and when CLAIMS every live task it runs. */
void	alloc_agent_add(struct master *, struct agent *, int claims);
/*
 * Framework FW_ID of ROLE is removed with LIVE tasks and executors still
 * running: the allocator keeps it, suppressed, with what they hold, until
 * alloc_departed has been called for each of them.
 */
void	alloc_framework_remove(struct master *, const char *fw_id,
	    const char *role, int live);
/*
 * A task or executor of a removed framework ended, holding RES on agent
 * AGENT_ID (NULL: the allocator holds nothing of that agent).
 */
void	alloc_departed(struct master *, const char *fw_id,
	    const char *agent_id, const struct res *res);

/* state.c */
/* Load WORK_DIR/state.json (a missing file is a first start); 0 or -1. */
int	state_load(struct master *, const char *work_dir);
int	state_awaiting(struct master *);
void	state_registered(struct master *, const char *agent_id);
/* Write the durable state now if it changed; 0, or -1 logged. */
int	state_save(struct master *);
/*
 * Write the durable state now, for an operator's change that is to be
 * acknowledged by the registry before its reply: 0, or -1 logged (the
 * caller undoes its change and answers E_UNAVAILABLE).
 */
int	state_commit(struct master *);
/* Write it when due: removals at once, the rest at most every 5 s. */
void	state_tick(struct master *);
/*
 * Add ID to SET, one of the durable sets, marking the state dirty; with
 * PRINCIPAL (not NULL nor ""), bind ID to it unless it is bound already.
 */
void	state_mark(struct master *, struct map *set, const char *id,
	    const char *principal);
/*
 * Identity across restarts: a record FROM about WHAT ID (NULL: none) that
 * SET binds to another principal is refused as master_owner() refuses
 * it; 0 or -1.
 */
int	state_owner_check(struct master *, struct map *set,
	    const struct net_route *from, const json_t *rec, const char *what,
	    const char *id);

/* limits.c */
/*
 * Set the limits of LC that ARG ("name=N,...", changed) names; 0, or -1
 * with ERR (ERRLEN bytes).
 */
int	limits_parse(struct limits_conf *, char *arg, char *err, size_t errlen);
/*
 * Charge REC (NULL: a record that could not be read) from FROM to its
 * principal's budget, or its agent's; 0 when it may be handled, -1 when it
 * is over and dropped (answered E_LIMITED and logged once a second).
 */
int	limits_admit(struct master *, const json_t *rec,
	    const struct net_route *from);
/* Log the drops of the last second that no later record reported. */
void	limits_tick(struct master *);
/*
 * One more framework for FROM's principal: 0, or -1 after an ERROR
 * limited to FROM about REC (and a log line) when it has its limit.
 */
int	limits_framework_add(struct master *, const json_t *rec,
	    const struct net_route *from);
/* One framework less for PRINCIPAL. */
void	limits_framework_del(struct master *, const char *principal);
/* True when FW's principal holds as many offers as it may. */
int	limits_offer_full(struct master *, const struct framework *);
/* FW holds DELTA (+1, -1) offers more. */
void	limits_offer(struct master *, const struct framework *, int delta);

/* priv.c */
/*
 * Settle who serves: started as root, USER (-u; NULL: offerd if that user
 * exists, else nobody), in a child of a root parent unless USER is root;
 * else no one else, and USER must be ourselves.  Exits 100 when not so.
 */
void	priv_config(struct config *c, const char *user);
/*
 * Separated (see priv_config): fork.  The parent holds PFH, writes it and
 * passes signals and files on until the child ends, and exits with its
 * status: it never returns.  The child drops to the user and returns
 * NULL.  Not separated: returns PFH at once.
 */
struct pidfh *priv_start(const struct config *c, struct pidfh *pfh);
/*
 * File WHICH of C into a new *BUF of *LEN bytes (free it with
 * auth_file_free): read from its path, or, separated, the bytes the
 * parent sent last (waiting for the first).  0, or -1 with ERR.
 */
int	priv_file(const struct config *c, enum master_file which, char **buf,
	    size_t *len, char *err);
/*
 * Separated: take one frame from the parent.  Returns the file it
 * brought, or -1 when the parent is gone.
 */
int	priv_recv(void);
/* The parent's pipe to poll, or -1 when not separated. */
int	priv_fd(void);

/* shared.c */
/* Make the shared state's index; at start. */
void	shared_init(struct master *);
/*
 * What agent A has (total, used, offered) or its being active may have
 * changed: a new version, sent out, and the gauges (stats_agent).  Each
 * such change is followed by a call.
 */
void	agent_touch(struct master *, struct agent *a);
/* Send the optimistic frameworks the agents whose version moved. */
void	shared_flush(struct master *);
/* FW (re)subscribed in mode OPTIMISTIC (0: offers): its snapshot. */
void	shared_subscribed(struct master *, struct framework *fw,
	    int optimistic);
/* FW is removed. */
void	shared_gone(struct master *, struct framework *fw);
void	shared_commit(struct master *, json_t *, const struct net_route *);

/* stats.c: the metrics (offerd(8) METRICS) */
enum stat_offer {
	ST_OFFER_MADE, ST_OFFER_ACCEPTED, ST_OFFER_DECLINED,
	ST_OFFER_RESCINDED, ST_OFFER_TIMED_OUT, ST_OFFER_N
};
/* Make the metrics, and serve them when -M says where; exits 111. */
void	stats_init(struct master *);
/* One more offer event WHAT. */
void	stats_offer(enum stat_offer what);
/* One more record of TYPE received, or SENT. */
void	stats_record(int sent, const char *type);
/* A task started (ENDED_STATE NULL), or ended in ENDED_STATE. */
void	stats_task(const char *ended_state);
/*
 * A task not ended left state FROM ("" or NULL: it is new) for TO (NULL:
 * it ended): the tasks gauge follows.
 */
void	stats_task_state(const char *from, const char *to);
/* What agent A has or its being active changed: the gauges follow. */
void	stats_agent(struct agent *a);
/* A LAUNCH or KILL (TYPE) sent again. */
void	stats_resent(const char *type);
/* A status update was acknowledged MS after it was sent. */
void	stats_ack(int64_t ms);
/* A COMMIT ended with OUTCOME (committed, partial, aborted). */
void	stats_commit(const char *outcome);
/* The allocator reports a cycle of SECONDS. */
void	stats_cycle(double seconds);
/* The metrics as text (the caller frees it), or NULL: out of memory. */
char	*stats_render(struct master *, size_t *len);
/* The descriptor a scrape makes readable, or -1 without -M. */
int	stats_fd(void);
/* Publish fresh text when a scrape waits for it. */
void	stats_serve(struct master *);
/* Stop serving and free the metrics. */
void	stats_stop(void);

#endif
