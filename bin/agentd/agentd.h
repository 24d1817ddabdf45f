/*
 * agentd: the worker of one machine.  It registers with the master,
 * heartbeats, launches each task through the launcher (task-launch) in its
 * own sandbox and reports every state change with at-least-once delivery;
 * the protocol side of that is lib/agent.c, shared with the emulator.
 * Files:
 *   main.c     options, start-up, the event loop
 *   task.c     the agent_ops of a real agent: tasks, checkpoints, recovery
 *   launch.c   the launcher: fork server, posix_spawn, the exec notices
 *   user.c     who a task runs as (-U, -A) and its sandbox, which it owns
 *   stats.c    the metrics: counted here, served on -M
 *   executor.c the agent_ops of executors: their launch, kill, end,
 *              resize and recovery (the protocol is lib/agentexec.c)
 *
 * Checkpoint, per task, in WORK/tasks/FRAMEWORK/TASK/:
 *   task.json      the task as launched
 *   launcher.pid   "PID STARTTIME" of its launcher
 *   updates.log    every status update and acknowledgement, appended
 *   status.json    written by the launcher when the task ends
 *   acked          present once every update was acknowledged
 * and per executor, in WORK/executors/FRAMEWORK/EXECUTOR/:
 *   executor.json  {"executor": the executor map, "secret": ...}
 *   launcher.pid   as for a task
 * The executors' socket is in a short directory of its own (sun_path
 * holds 107 bytes), named in WORK/executor_dir.
 */
#ifndef AGENTD_H
#define AGENTD_H

#include <limits.h>
#include <sys/types.h>
#include <jansson.h>

#include "agent.h"
#include "net.h"
#include "timeq.h"

#define AGENTD_TASKS	"tasks"		/* WORK/tasks/FW/TASK */
#define AGENTD_EXECUTORS "executors"	/* WORK/executors/FW/EXECUTOR */

struct atask {
	struct agent_task base;		/* first: the protocol's part */
	char	 dir[PATH_MAX];		/* work_dir/tasks/FW/TASK */
	pid_t	 pid;			/* the launcher, 0 once reaped */
	unsigned long long pid_start;	/* its start time, against pid reuse */
	int	 adopted;		/* not our child: an earlier agentd run
					   launched it, or a launcher server
					   that has gone away */
	int	 served;		/* forked by the launcher server */
	const char *user;		/* --user for the launcher, or NULL */
	uid_t	 uid;			/* whom the task runs as */
	gid_t	 gid;
	int	 starting;		/* launched, its exec not yet reported */
	int64_t	 launch_at;		/* now_ms() of its start, for metrics */
	int	 kill_wanted;
	int64_t	 kill_sent;
	struct agent_executor *executor;	/* not a task: the launcher of
					   this executor (executor.c) */
	struct journal *journal;	/* a task of an executor: where its
					   checkpoint goes (journal.c) */
};

/* The atask of a struct agent_task: base is its first member. */
#define T(bt)	((struct atask *)(void *)(bt))

struct agentd {
	struct net	*net;
	struct agent_set *set;		/* of one agent */
	struct timeq	 timers;
	char		 hostname[256];
	char		 resources[1024];
	char		 attributes[1024];
	char		 work_dir[PATH_MAX];
	char		 work_real[PATH_MAX];	/* its realpath(3) */
	char		 task_user[256];	/* -U: for a task naming none;
						   "": agentd's own user */
	int		 allow_root;	/* -A: a task may run as uid 0 */
	char		 launcher[PATH_MAX];
	int64_t		 grace_ms;
	json_t		*isolators;
	char		 require[256];	/* isolators every task requires */
	int		 notify;	/* the launcher reports each exec */
	char		 exec_endpoint[PATH_MAX + 16];	/* executors' socket */
};

/*
 * user.c: set up who a task naming no user runs as: NAME (-U), else
 * nobody when agentd is root, else agentd's own user; ALLOW_ROOT (-A)
 * lets tasks run as uid 0.  Returns -1 with ERR filled when NAME is no
 * user, or is uid 0 without ALLOW_ROOT.
 */
int	user_setup(struct agentd *, const char *name, int allow_root,
	    char *err, size_t errlen);
/*
 * Decide whom T runs as (its "user", else the agent's default) into
 * t->user, t->uid and t->gid.  Returns -1 with WHY filled when that user
 * is unknown here, or is uid 0 and -A was not given.
 */
int	user_of_task(struct agentd *, struct atask *t, char *why, size_t whylen);
/*
 * Make T's sandbox, T_DIR/sandbox, into PATH: checked to be inside the
 * work dir and owned by T's user (nothing above it is).  Returns -1 with
 * WHY filled on failure.
 */
int	user_sandbox(struct agentd *, struct atask *t, char *path, size_t len,
	    char *why, size_t whylen);

/* task.c */
extern const struct agent_ops task_ops;
#define TASK_LIMIT_LEN	32
/* T's launcher --id (its cgroup's name), AGENT.TASK, in BUF of LEN. */
const char *task_launch_id(struct agentd *, struct atask *t, char *buf,
	    size_t len);
/*
 * The launcher's --cpus and --mem values (CPUS, MEM, LEN bytes each) for
 * collapsed resources R; "0" where R has none: no limit.
 */
struct res;
void	task_limits(const struct res *r, char *cpus, char *mem, size_t len);
/*
 * Fill ARGV (at most MAX, strings in STORE) with the launcher's command
 * line for T (a task, or an executor's launcher).  -1 with WHY filled.
 */
int	task_launcher_argv(struct agentd *, struct atask *t, char **argv,
	    int max, char *store, size_t storelen, char *why, size_t whylen);
/* The start time of process PID, against pid reuse; 0: not running. */
unsigned long long proc_start(pid_t pid);

/* executor.c: the executor callbacks of task_ops (see agent.h). */
int	aexec_start(void *, struct agent_executor *, char *why);
void	aexec_kill(void *, struct agent_executor *, int force);
void	aexec_free(void *, struct agent_executor *);
int	aexec_resize(void *, struct agent_executor *, const struct res *,
	    int64_t gen, char *why);
/* The launcher server's answer to executor X's resize GEN (WHY: error). */
void	aexec_resized(struct atask *x, int64_t gen, const char *why);
/* Open the executors' socket; -1 logged. */
int	aexec_open(struct agentd *);
/* The launcher PID of an executor ended with STATUS; 0: none. */
int	aexec_reaped(struct agentd *, pid_t pid, int status);
/* Adopted executors' launchers gone; kills past their grace. */
void	aexec_tick(struct agentd *);
/* Recover executors an earlier run left (before task_recover). */
void	aexec_recover(struct agentd *);
/* After task_recover: the recovered executors whose process had ended. */
void	aexec_recover_done(struct agentd *);
/* The launcher server went: executors it forked are watched as adopted. */
void	aexec_server_gone(struct agentd *);
/* Shut every executor down (on a stop with -k). */
void	aexec_shutdown_all(struct agentd *);

/* output.c: the agent_ops output callback (see agent.h). */
ssize_t	task_output(void *, struct agent *, const char *fw, const char *tid,
	    const char *stream, int64_t offset, char *buf, size_t max,
	    int64_t *size, char *err);

/* The launcher process PID ended with wait status STATUS. */
void	task_reaped(struct agentd *, pid_t pid, int status);
/*
 * T's launcher runs as t->pid; NOTIFY: it will report its exec (else the
 * task counts as running now).
 */
void	task_launched(struct agentd *, struct atask *t, int notify);
/* Launcher PID has exec'd its task: it runs.  0: no task starts as PID. */
int	task_running(struct agentd *, pid_t pid);
/* The launch of T failed before its launcher ran, for WHY. */
void	task_launch_failed(struct agentd *, struct atask *t, const char *why);
/* Kill every task (on shutdown with -k). */
void	task_kill_all(struct agentd *);
/* The periodic work: adopted launchers gone, kills past their grace. */
void	task_tick(struct agentd *);
/*
 * Recover the tasks an earlier run of this agent left in the work dir:
 * launchers still running are adopted, ended ones are reaped from their
 * status files, and unacknowledged updates are queued again.
 */
void	task_recover(struct agentd *);
/* Call fn for each WORK/KIND/FW/ID directory, valid ids only. */
void	work_walk(struct agentd *, const char *kind,
	    void (*fn)(struct agentd *, const char *, const char *,
	    const char *));
/* Apply checkpoint line LINE (an update, an ack, a clear) to T. */
void	task_replay_line(struct agent_task *t, json_t *line);
/*
 * Task T, read back from its checkpoint (info, updates, state and ids
 * filled): into the set, its launcher adopted or its end found, or its
 * executor's; an ended one with every update acknowledged is let go of.
 */
void	task_recovered(struct agentd *, struct atask *t);

/*
 * journal.c: the checkpoint of the tasks of each executor, one file for
 * them all (see there).  journal_task appends T's checkpoint LINES
 * (agent.c's, not consumed), written at journal_sync; journal_task_done
 * notes that T is done (every update acknowledged); journal_task_free
 * lets go of T's journal without ending it (agentd stops).  An
 * executor's run holds its journal from journal_executor to
 * journal_executor_gone (ENDED: it ended; else agentd stops).
 * journal_recover reads back the journal of executor XID of FW, giving
 * each task that is not done to task_recovered.
 */
void	journal_task(struct agentd *, struct atask *t, json_t *lines);
void	journal_task_done(struct agentd *, struct atask *t);
void	journal_task_free(struct atask *t);
void	journal_sync(struct agentd *);
void	journal_executor(struct agentd *, struct agent_executor *e);
void	journal_executor_gone(struct agent_executor *e, int ended);
void	journal_recover(struct agentd *, const char *fw, const char *xid);

/*
 * launch.c: start T's launcher with ARGV, its output appended to LOG,
 * through the launcher server when there is one, else posix_spawn.  The
 * server answers later: t->pid is set then (launch_read); a launch that
 * fails later ends in task_launch_failed.  Returns 0, or -1 with WHY
 * filled when it failed at once.
 */
int	launch_start(struct agentd *, struct atask *t, char **argv,
	    const char *log, char *why, size_t whylen);
/* T is going away: forget any launch of it still waiting for an answer. */
void	launch_forget(struct atask *t);
/*
 * Ask the launcher server to set the limits of X's cgroup (task-launch's
 * --id ID) to CPUS and MEM (as task_limits gives them), without waiting:
 * 0 and aexec_resized later with GEN; 1 when the launcher has no server
 * (no resize: its limits are its own); -1 with WHY filled.
 */
int	launch_resize(struct agentd *, struct atask *x, const char *id,
	    const char *cpus, const char *mem, int64_t gen, char *why,
	    size_t whylen);
/* Open the exec notice pipe; -1 on failure. */
int	launch_init(struct agentd *);
/* The descriptors to poll (the server, the notices), -1 when none. */
int	launch_server_fd(void);
int	launch_notify_fd(void);
/* Act on what the server and the notice pipe say; time out the server. */
void	launch_read(struct agentd *);
/* Milliseconds until launch_read must run again, -1: no deadline. */
int64_t	launch_wait(void);
/* Read the exec notices waiting in the pipe (before handling an exit). */
void	launch_notices(struct agentd *);
/* Our child PID was reaped: if it was the server, it has gone. */
void	launch_server_reaped(struct agentd *, pid_t pid);
/* Stop the launcher server (its launchers keep running). */
void	launch_server_close(struct agentd *);

/* stats.c: the metrics (agentd(8) METRICS) */
/* Make the metrics, and serve them on ADDR (-M) if not NULL; exits 111. */
void	stats_init(struct agentd *, const char *addr);
/* A task handed to the launcher. */
void	stats_launch(void);
/* A task runs, MS after its launch began. */
void	stats_running(int64_t ms);
/* A task ended in STATE; OOM: killed for its memory limit. */
void	stats_ended(const char *state, int oom);
/* A record of TYPE went to the master. */
void	stats_sent(const char *type);
/* The descriptor a scrape makes readable, or -1 without -M. */
int	stats_fd(void);
/* Publish fresh text when a scrape waits for it. */
void	stats_serve(struct agentd *);
/* Stop serving and free the metrics. */
void	stats_stop(void);

#endif
