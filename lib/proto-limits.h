/*
 * proto-limits: the limits and defaults that more than one program of the
 * protocol must agree on, in one place (the record types are proto.h's).
 * cluster-protocol(7), drf-alloc(8) and task-launch(8) document them.
 * Not installed: sched(3) states its own in scheduler.h.
 */
#ifndef CLUSTER_PROTO_LIMITS_H
#define CLUSTER_PROTO_LIMITS_H

/* refuse_seconds (ACCEPT, DECLINE) and failover_timeout: one year at most */
#define PROTO_SECONDS_MAX	31536000
/* a role's weight (-W, SET_WEIGHT, WEIGHT) is in (0, PROTO_WEIGHT_MAX] */
#define PROTO_WEIGHT_MAX	1e6
/* agents and frameworks send a HEARTBEAT at least this often */
#define PROTO_HEARTBEAT_MS	1000
/*
 * The largest request of agentd to task-launch --serve, on both sides;
 * below a socket's default send buffer (task-launch(8)).
 */
#define PROTO_LAUNCH_REQ_MAX	(128 * 1024)
/*
 * The least a task may ask for (ACCEPT): its memory limit, in MB, and
 * its cpus, in thousandths; the master refuses a task below either.
 */
#define PROTO_TASK_MEM_MIN	4
#define PROTO_TASK_CPUS_MIN_MILLI 10
/*
 * LOGS: the bytes of a task's output one LOGS_DATA carries at most; in
 * base64 they stay under a record's longest string (REC_MAX_STR).
 */
#define PROTO_LOGS_MAX		(32 * 1024)
/* QUERY of agents, frameworks, tasks, offers: the most items of a page */
#define PROTO_QUERY_PAGE	1000
/* COMMIT: the most tasks of one transaction */
#define PROTO_COMMIT_TASKS	1000
/* QUERY "history": the lines answered by default, and at most */
#define HISTORY_QUERY_DEFAULT	100
#define HISTORY_QUERY_MAX	1000
#define HISTORY_SCAN_MAX	(16 << 20)	/* bytes of history one query reads */
/*
 * Executors: the bytes of one FRAMEWORK_MESSAGE's data at most (a string;
 * messages are best effort and may be lost), how often an executor sends
 * REGISTER_EXECUTOR (its heartbeat), and how long agentd waits for a new
 * executor to register and for a running one to register again after an
 * agentd restart before it kills it.
 */
#define PROTO_MESSAGE_MAX	(60 * 1024)
#define PROTO_EXECUTOR_HEARTBEAT_MS	500
#define PROTO_EXECUTOR_REGISTER_MS	10000
#define PROTO_EXECUTOR_RECONNECT_MS	5000
/* the environment agentd gives an executor (executor(3)) */
#define PROTO_EXECUTOR_ENV_ENDPOINT	"CLUSTER_EXECUTOR_ENDPOINT"
#define PROTO_EXECUTOR_ENV_SECRET	"CLUSTER_EXECUTOR_SECRET"
#define PROTO_EXECUTOR_ENV_ID		"CLUSTER_EXECUTOR_ID"

#endif
