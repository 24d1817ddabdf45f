/*
 * agentd: the worker of one machine.  It registers with the master,
 * heartbeats, launches each task through the launcher (task-launch) in its
 * own sandbox and reports every state change with at-least-once delivery.
 */
#ifndef AGENTD_H
#define AGENTD_H

#include <limits.h>
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
	int	 kill_wanted;
	int64_t	 kill_sent;
	int	 ended;
	json_t	*updates;		/* STATUS records not yet acknowledged */
	int64_t	 next_send;
	int	 tries;
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
	int		 registered;
	int64_t		 next_register, next_heartbeat;
	struct map	*tasks;
	json_t		*isolators;
};

void	agent_handle(struct agent *, json_t *rec);
void	agent_tick(struct agent *);
/* The launcher process PID ended with wait status STATUS. */
void	agent_reaped(struct agent *, pid_t pid, int status);
/* Kill every task (on shutdown with -k). */
void	agent_kill_all(struct agent *);

#endif
