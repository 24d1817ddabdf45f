/*
 * offerd: the master.  It keeps agents, frameworks, offers and tasks in
 * memory (soft state), turns the allocator's decisions into offers,
 * validates what frameworks accept, sends launches and kills to agents and
 * status updates to frameworks.  One hub socket serves every peer.
 */
#ifndef OFFERD_H
#define OFFERD_H

#include <stdint.h>
#include <jansson.h>

#include "map.h"
#include "net.h"
#include "res.h"

#define ID_LEN		64

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
};

struct framework {
	char		 id[ID_LEN];
	char		 name[128];
	char		 role[64];
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
	char		 key[2 * ID_LEN];	/* framework_id/task_id */
	char		 id[ID_LEN];
	char		 framework_id[ID_LEN];
	char		 agent_id[ID_LEN];
	char		 state[24];
	struct res	 res;
	json_t		*info;		/* the task as accepted */
	json_t		*status;	/* the latest STATUS */
	int64_t		 next_send;	/* launch or kill retransmission */
	int		 tries;
	int		 kill_wanted;
	int		 reported;	/* the agent has said it knows it */
	int64_t		 ended;		/* when terminal, for expiry */
	struct task	*dnext;		/* ended tasks, oldest first */
};

struct master {
	struct net	*hub;
	struct net	*alloc;
	struct map	*agents, *frameworks, *offers, *tasks;
	struct map	*pending;	/* tasks with a launch or kill in flight */
	int64_t		 offer_timeout_ms;
	int64_t		 agent_timeout_ms;
	int64_t		 framework_timeout_ms;	/* silent this long: inactive */
	int64_t		 refuse_ms;	/* default decline filter */
	int64_t		 keep_done_ms;	/* how long ended tasks stay listed */
	size_t		 keep_done_max;	/* and how many of them at most */
	struct offer	*ohead, *otail;	/* offers, oldest first */
	struct task	*dhead, *dtail;	/* ended tasks, oldest first */
	size_t		 ndone;
	int64_t		 next_scan;	/* agent and framework timeouts */
	int64_t		 removal_ms;	/* unreachable this long: removed */
	int64_t		 recovery_ms;	/* for frameworks to come back */
	/* durable: see state.c */
	char		 state_path[4096 + 16];
	int		 state_dirty;	/* 1: lazily, 2: at the next tick */
	int64_t		 state_next;
	struct map	*seen_agents, *removed_agents, *seen_fw, *removed_fw;
};

/* Handle one record REC from the peer at FROM. */
void	master_handle(struct master *, json_t *rec, const struct net_route *from);
/* Handle one decision from the allocator. */
void	master_alloc_handle(struct master *, json_t *rec);
/* Run the timers: offer timeouts, agent and framework timeouts, resends. */
void	master_tick(struct master *);
/* Tell the allocator everything it must know (after it (re)starts). */
void	master_alloc_replay(struct master *);
/* Send REC to the allocator (consumes REC). */
void	master_alloc_send(struct master *, json_t *rec);

/* Load WORK_DIR/state.json (a missing file is a first start); 0 or -1. */
int	state_load(struct master *, const char *work_dir);
/* Write the durable state now if it changed. */
void	state_save(struct master *);
/* Write it when due: removals at once, the rest at most every 5 s. */
void	state_tick(struct master *);
/* Add ID to SET, one of the durable sets, marking the state dirty. */
void	state_mark(struct master *, struct map *set, const char *id);

#endif
