/*
 * proto: the record types of protocol version 1, in one place.  Every
 * record is a map with a string "type"; the fields of each type are in
 * cluster-protocol(7) (master protocol) and drf-alloc(8) (allocator
 * protocol).  Unknown fields are ignored; a missing or mistyped field is
 * answered with an ERROR record.
 */
#ifndef CLUSTER_PROTO_H
#define CLUSTER_PROTO_H

#define PROTO_VERSION		1

/* ---- master protocol: agents, frameworks and tools <-> offerd ---- */

/* agentd -> offerd */
#define R_REGISTER_AGENT	"REGISTER_AGENT"
#define R_HEARTBEAT		"HEARTBEAT"	/* agents and frameworks */
#define R_STATUS		"STATUS"	/* also offerd -> framework */
/* offerd -> agentd */
#define R_AGENT_REGISTERED	"AGENT_REGISTERED"
#define R_LAUNCH		"LAUNCH"
#define R_REREGISTER		"REREGISTER"
#define R_LEAVE			"LEAVE"		/* agentd -> offerd: a clean stop */
#define R_LEFT			"LEFT"		/* offerd -> agentd: taken */
/* framework -> offerd */
#define R_SUBSCRIBE		"SUBSCRIBE"
#define R_ACCEPT		"ACCEPT"
#define R_DECLINE		"DECLINE"
#define R_KILL			"KILL"		/* also offerd -> agentd */
#define R_ACKNOWLEDGE		"ACKNOWLEDGE"	/* also offerd -> agentd */
#define R_SUPPRESS		"SUPPRESS"	/* also offerd -> allocator */
#define R_REVIVE		"REVIVE"	/* also offerd -> allocator */
#define R_RECONCILE		"RECONCILE"
#define R_TEARDOWN		"TEARDOWN"
#define R_LOGS			"LOGS"		/* also offerd -> agentd */
#define R_LOGS_DATA		"LOGS_DATA"	/* agentd -> offerd -> asker */
/* offerd -> framework */
#define R_SUBSCRIBED		"SUBSCRIBED"
#define R_OFFER			"OFFER"
#define R_RESCIND		"RESCIND"
#define R_AGENT_LOST		"AGENT_LOST"
/* cluster-ctl -> offerd -> cluster-ctl */
#define R_QUERY			"QUERY"
#define R_STATE			"STATE"
#define R_SET_WEIGHT		"SET_WEIGHT"
#define R_WEIGHT_SET		"WEIGHT_SET"
#define R_SET_QUOTA		"SET_QUOTA"	/* a role's guarantee and limit */
#define R_QUOTA_SET		"QUOTA_SET"
#define R_RESERVE		"RESERVE"	/* an agent's resources to a role */
#define R_UNRESERVE		"UNRESERVE"
#define R_RESERVED		"RESERVED"	/* the answer to both */
/* what a QUERY may ask for (its "what"); an ACL's query rules name them */
#define Q_AGENTS		"agents"
#define Q_FRAMEWORKS		"frameworks"
#define Q_TASKS			"tasks"
#define Q_OFFERS		"offers"
/* maintenance: cluster-ctl -> offerd, and DRAIN offerd -> framework too */
#define R_DRAIN			"DRAIN"
#define R_UNDRAIN		"UNDRAIN"
#define R_DRAIN_SET		"DRAIN_SET"	/* offerd -> cluster-ctl: taken */
#define REASON_DRAINED		"drained"	/* TASK_KILLED at a drain's deadline */
/* offerd -> the sender of a TEARDOWN: the framework is gone */
#define R_TORN_DOWN		"TORN_DOWN"
#define Q_METRICS		"metrics"	/* offerd(8) METRICS, as text */
#define Q_QUOTA			"quota"
/* executors (cluster-protocol(7), EXECUTORS) */
#define R_FRAMEWORK_MESSAGE	"FRAMEWORK_MESSAGE"	/* scheduler <-> master <-> agent <-> executor */
#define R_EXECUTOR_EXITED	"EXECUTOR_EXITED"	/* agentd -> offerd -> framework */
#define R_SHUTDOWN_EXECUTOR	"SHUTDOWN_EXECUTOR"	/* framework -> offerd -> agentd */
#define R_REGISTER_EXECUTOR	"REGISTER_EXECUTOR"	/* executor -> agentd, also its heartbeat */
#define R_EXECUTOR_REGISTERED	"EXECUTOR_REGISTERED"	/* agentd -> executor */
#define R_LAUNCH_TASK		"LAUNCH_TASK"	/* agentd -> executor */
#define R_KILL_TASK		"KILL_TASK"	/* agentd -> executor */
#define R_SHUTDOWN		"SHUTDOWN"	/* agentd -> executor */
#define Q_EXECUTORS		"executors"
/* shared state (cluster-protocol(7), SHARED STATE) */
#define R_FREE			"FREE"		/* offerd -> optimistic framework */
#define R_COMMIT		"COMMIT"	/* optimistic framework -> offerd */
#define R_COMMITTED		"COMMITTED"	/* offerd -> optimistic framework */
#define MODE_OFFERS		"offers"	/* SUBSCRIBE's mode: the default */
#define MODE_OPTIMISTIC		"optimistic"
/* anyone -> anyone */
#define R_ERROR			"ERROR"

/* ---- allocator protocol: offerd <-> drf-alloc (see drf-alloc(8)) ---- */
#define A_AGENT_ADD		"AGENT_ADD"
#define A_AGENT_REMOVE		"AGENT_REMOVE"
#define A_FRAMEWORK_ADD		"FRAMEWORK_ADD"
#define A_FRAMEWORK_REMOVE	"FRAMEWORK_REMOVE"
#define A_RECOVER		"RECOVER"
#define A_CLAIM			"CLAIM"
#define A_WEIGHT		"WEIGHT"
#define A_ALLOCATE		"ALLOCATE"
#define A_SHARES_QUERY		"SHARES_QUERY"
#define A_SHARES		"SHARES"
#define A_ALLOCATION		"ALLOCATION"
#define A_TICK			"TICK"		/* drf-alloc -c manual only */
/* metrics: a cycle's run time, drf-alloc -> offerd on the socket only */
#define A_CYCLE			"CYCLE"
#define A_CYCLE_ENV		"CLUSTER_ALLOC_CYCLES"	/* "1": send CYCLE */
/* the metrics' names start with these (offerd(8), agentd(8) METRICS) */
#define METRICS_OFFERD		"cluster_offerd_"
#define METRICS_AGENTD		"cluster_agentd_"
#define A_QUOTA			"QUOTA"		/* a role's guarantee and limit */

/*
 * ERROR codes: every ERROR record carries one in "code", for programs to
 * act on; its "message" is for people and may change between versions.
 * cluster-protocol(7) lists them with what the sender should do.
 */
#define E_MALFORMED		"malformed"	/* not a record; a field missing or mistyped */
#define E_INVALID		"invalid"	/* a field's value is not allowed */
#define E_UNKNOWN_TYPE		"unknown_type"	/* no such record type */
#define E_UNKNOWN_FRAMEWORK	"unknown_framework"	/* SUBSCRIBE (again) */
#define E_UNKNOWN_AGENT		"unknown_agent"
#define E_UNKNOWN_OFFER		"unknown_offer"	/* not outstanding for this framework */
#define E_REMOVED		"removed"	/* removed for good: start anew */
#define E_RESUBSCRIBE		"resubscribe"	/* the master restarted: SUBSCRIBE with the id */
#define E_NO_MEMORY		"no_memory"	/* the receiver is short of memory */
#define E_UNAUTHENTICATED	"unauthenticated"	/* not sealed with a known principal's secret, changed, replayed or stale */
#define E_NOT_OWNER		"not_owner"	/* about another principal's framework or agent, or a STATUS not from the task's agent */
#define E_FORBIDDEN		"forbidden"	/* the master's ACL file does not permit it */
#define E_LIMITED		"limited"	/* over a per-principal limit: slow down or use fewer */
#define E_UNAVAILABLE		"unavailable"	/* the registry could not be written: nothing changed */
#define E_OVER_CLUSTER		"over_cluster"	/* guarantees (quota) above what the cluster's agents have */
#define E_UNKNOWN_EXECUTOR	"unknown_executor"	/* no such executor here: exit */

/* Task states, as Mesos names them. */
#define TASK_STAGING		"TASK_STAGING"
#define TASK_STARTING		"TASK_STARTING"
#define TASK_RUNNING		"TASK_RUNNING"
#define TASK_FINISHED		"TASK_FINISHED"
#define TASK_FAILED		"TASK_FAILED"
#define TASK_KILLED		"TASK_KILLED"
#define TASK_LOST		"TASK_LOST"
#define TASK_UNREACHABLE	"TASK_UNREACHABLE"	/* not terminal */
#define TASK_ERROR		"TASK_ERROR"

/* True when STATE is one a task never leaves. */
int	task_state_terminal(const char *state);
/* True when STATE is one of the task states above. */
int	task_state_valid(const char *state);

#endif
