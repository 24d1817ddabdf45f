/*
 * executor (functions prefixed executor_): the executor library, for a
 * framework's own long-lived worker on an agent (executor(3)).  agentd
 * starts the executor with its endpoint, id and secret in the
 * environment (proto-limits.h, PROTO_EXECUTOR_ENV_*); the library
 * connects to agentd over that local socket, registers (and registers
 * again every PROTO_EXECUTOR_HEARTBEAT_MS, which is its heartbeat and how
 * it finds a restarted agentd), hands each new task, kill, framework
 * message and the shutdown to its caller once, and resends each status
 * update until agentd has checkpointed and acknowledged it.
 *
 * Who frees what: executor_create() returns a handle executor_destroy()
 * frees; a record executor_next() returns is the caller's to
 * json_decref(); a json_t passed in (the EXTRA of executor_update) is
 * consumed.
 */
#ifndef CLUSTER_EXECUTOR_H
#define CLUSTER_EXECUTOR_H

#include <jansson.h>

#define EXECUTOR_ERRLEN	256

struct executor;

/*
 * Connect to the agent named by the environment.  Returns the handle, or
 * NULL with ERR (EXECUTOR_ERRLEN) when the environment names none or the
 * socket cannot be opened.
 */
struct executor *executor_create(char *err);
void	executor_destroy(struct executor *);
/* The executor's id, its framework's and (once registered) its agent's. */
const char *executor_id(const struct executor *);
const char *executor_framework_id(const struct executor *);
const char *executor_agent_id(const struct executor *);
/* A descriptor that polls readable when a record may be waiting. */
int	executor_fd(const struct executor *);
/*
 * Wait at most MS milliseconds (-1: forever) for the next event: a
 * record EXECUTOR_REGISTERED (the first time only), LAUNCH_TASK (each
 * task once), KILL_TASK, FRAMEWORK_MESSAGE or SHUTDOWN, see
 * cluster-protocol(7).  Returns 1 with *REC set, 0 when the time ran out,
 * -1 when agentd refused us for good (ERR says why; exit then).
 */
int	executor_next(struct executor *, int ms, json_t **rec, char *err);
/*
 * Report STATE (a TASK_* of proto.h) of task TID, with the fields of
 * EXTRA (consumed, may be NULL: "reason", "message", ...).  The update is
 * resent until agentd acknowledges it.  Returns 0, or -1 (bad arguments).
 */
int	executor_update(struct executor *, const char *tid, const char *state,
	    json_t *extra);
/*
 * Send DATA (at most PROTO_MESSAGE_MAX bytes) to the scheduler, best
 * effort: it may be lost.  Returns 0, or -1 when too long or not sent.
 */
int	executor_message(struct executor *, const char *data);
/* True when every update was acknowledged. */
int	executor_quiet(const struct executor *);

#endif
