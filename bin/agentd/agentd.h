/*
 * agentd: the worker of one machine.  It registers with the master,
 * heartbeats, launches each task through the launcher (task-launch) in its
 * own sandbox and reports every state change with at-least-once delivery.
 *
 * Checkpoint, per task, in WORK/tasks/FRAMEWORK/TASK/:
 *   task.json      the task as launched
 *   launcher.pid   "PID STARTTIME" of its launcher
 *   updates.log    every status update and acknowledgement, appended
 *   status.json    written by the launcher when the task ends
 *   acked          present once every update was acknowledged
 */
#ifndef AGENTD_H
#define AGENTD_H

#include <limits.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <jansson.h>

#include "map.h"
#include "net.h"

#define ID_LEN		64

struct atask {
	char	 key[2 * ID_LEN];	/* framework_id/task_id */
	char	 id[ID_LEN];
	char	 framework_id[ID_LEN];
	char	 dir[PATH_MAX];		/* work_dir/tasks/FW/TASK */
	json_t	*info;
	pid_t	 pid;			/* the launcher, 0 once reaped */
	unsigned long long pid_start;	/* its start time, against pid reuse */
	int	 adopted;		/* not our child: an earlier agentd run
					   launched it, or a launcher server
					   that has gone away */
	int	 served;		/* forked by the launcher server */
	int	 disowned;		/* the master gave up on it: no updates */
	char	 state[24];		/* the latest state reported */
	int	 kill_wanted;
	int64_t	 kill_sent;
	int	 ended;
	json_t	*updates;		/* STATUS records not yet acknowledged */
	int64_t	 next_send;		/* 0: send the head at the next flush */
	int	 tries;
	json_t	*unsaved;		/* lines not yet in updates.log */
	LIST_ENTRY(atask) dirty_link;
};

struct agent {
	struct net	*net;
	char		 id[ID_LEN];
	char		 hostname[256];
	char		 resources[1024];
	char		 attributes[1024];
	char		 work_dir[PATH_MAX];
	char		 launcher[PATH_MAX];
	int64_t		 grace_ms;
	int64_t		 heartbeat_ms;
	int64_t		 retry_ms;	/* first resend of an update */
	int		 registered;
	int64_t		 next_register, next_heartbeat;
	struct map	*tasks;
	LIST_HEAD(, atask) dirty;	/* tasks to checkpoint, then send */
	json_t		*isolators;
	char		 require[256];	/* isolators every task requires */
};

void	agent_handle(struct agent *, json_t *rec);
void	agent_tick(struct agent *);
void	agent_flush(struct agent *);
/* The launcher process PID (our child) ended with wait status STATUS. */
void	agent_reaped(struct agent *, pid_t pid, int status);
/* Kill every task (on shutdown with -k). */
void	agent_kill_all(struct agent *);
/* True when no task runs and every status update was acknowledged. */
int	agent_quiet(struct agent *);
/*
 * Recover the tasks an earlier run of this agent left in the work dir:
 * launchers still running are adopted, ended ones are reaped from their
 * status files, and unacknowledged updates are queued again.
 */
void	agent_recover(struct agent *);

/*
 * launch.c: start T's launcher with ARGV, its output appended to LOG,
 * through the launcher server when there is one, else posix_spawn.
 * Sets t->pid; -1 with WHY filled when it could not be started.
 */
int	launch_start(struct agent *, struct atask *t, char **argv,
	    const char *log, char *why, size_t whylen);
/* The launcher server's socket to poll, -1 when there is none. */
int	launch_server_fd(void);
/* Hand the launcher server's exit reports to agent_reaped. */
void	launch_server_read(struct agent *);
/* Our child PID was reaped: if it was the server, it has gone. */
void	launch_server_reaped(struct agent *, pid_t pid);
/* Stop the launcher server (its launchers keep running). */
void	launch_server_close(struct agent *);

#endif
