/*
 * example (functions prefixed ex_): what the C example frameworks
 * (batch, gang, service, opt-service, opt-gang) share and a real framework would write once:
 * the options every one of them takes, the per-task resources string,
 * stopping on SIGINT and SIGTERM, the sched(3) run from create to
 * destroy, the optimistic ones' view of the shared state, a gang's
 * members and a service's instances (so that each example keeps only
 * how it decides: by offers, or by transactions on its view).  Every mistake on the command line exits EXIT_USAGE (100),
 * a failure of the system EXIT_SYSTEM (111).
 *
 * Who frees what: struct ex_common points into argv (nothing to free);
 * ex_run() creates and destroys the scheduler itself.
 */
#ifndef EXAMPLE_H
#define EXAMPLE_H

#include <signal.h>
#include <stdint.h>

#include "scheduler.h"

#define EX_TICK_MS	100	/* how often signals and timers are checked */
#define EX_ID_LEN	64	/* a task id of ours */
#define EX_CPUS		500	/* a task's cpus by default, thousandths */
#define EX_MEM		64000	/* a task's mem by default, thousandths of MB */
#define EX_NAME_MAX	32	/* a framework name by default, bytes */

/* The options every example takes: -A -c -m -M -n. */
struct ex_common {
	struct sched_opts opts;		/* master, name and filter */
	int64_t		 cpus, mem;	/* per task, thousandths */
	int		 name_max;	/* longest -n, bytes */
	char		 resources[128]; /* "cpus:C;mem:M", by ex_finish() */
	const char	*command;	/* the one operand */
};

/* What an example's own option sets. */
enum ex_kind {
	EX_STRING,	/* const char *: the argument */
	EX_COUNT,	/* int: an integer in [min, max] */
	EX_DURATION	/* int64_t: milliseconds, "3s", "250ms", ... */
};

/* An own option's "letter" from here up has only its long name. */
#define EX_LONG_ONLY	256

/* One option of an example's own; a table of them ends with letter 0. */
struct ex_opt {
	int		 letter;
	const char	*name;		/* the long option */
	enum ex_kind	 kind;
	void		*value;		/* where it goes, of the kind's type */
	long long	 min, max;	/* EX_COUNT only */
};

/* The signal that asked us to stop (SIGINT, SIGTERM), or 0. */
extern volatile sig_atomic_t ex_signal;

/* Defaults into C for a framework called NAME (framework name NAME). */
void	ex_init(struct ex_common *c, const char *name);
/*
 * Parse the command line: the common options named in COMMON (letters
 * of "AcmMn"), the example's own OWN, then exactly one operand, the
 * command; fills in the resources string.  Calls USAGE (which must not
 * return) on an unknown option or a wrong number of operands.
 */
void	ex_options(struct ex_common *c, const char *common,
	    const struct ex_opt *own, int argc, char *argv[],
	    void (*usage)(void));
/* calloc(N, SIZE), or exit EXIT_SYSTEM. */
void	*ex_calloc(size_t n, size_t size);
/*
 * Line-buffer stdout, note SIGINT and SIGTERM in ex_signal, then create
 * the scheduler with C's options, CB and CTX and run it, calling TICK
 * every tick_ms; destroys it and returns sched_run()'s result.  ON_START,
 * when not NULL, is called once the scheduler exists (to start clocks).
 */
int	ex_run(struct ex_common *c, const struct sched_callbacks *cb,
	    void *ctx, int64_t tick_ms, void (*tick)(struct sched *, void *),
	    void (*on_start)(void *ctx));
/* Suppress offers when WANT is 0, revive them when 1, tracked in *OFF. */
void	ex_want_offers(struct sched *s, int *off, int want);

/*
 * The optimistic examples' copy of the shared state (cluster-protocol(7),
 * SHARED STATE): what each agent has free, from the free_resources
 * callbacks.  The examples place their tasks from it and take what they
 * place off it at once, so that two decisions before the next FREE record
 * do not count the same room twice.  ex_view_free() frees its array.
 */
#define EX_AGENT_ID_LEN	128	/* an agent id or hostname; longer: skipped */
#define EX_VIEW_MAX	100000	/* agents kept at most */

struct ex_agent {
	char		 agent_id[EX_AGENT_ID_LEN];
	char		 hostname[EX_AGENT_ID_LEN];
	int64_t		 cpus, mem;	/* free, thousandths; 0 unless active */
	long long	 version;
	int		 seen;		/* named by the snapshot being read */
};

struct ex_view {
	struct ex_agent	*a;
	size_t		 n, cap;
	unsigned long	 gen;		/* moves with every FREE entry */
	int		 complete;	/* a whole snapshot has been read */
};

/* Take one free_resources call F into V (F->agent_id NULL: a snapshot's
 * end, which drops the agents it did not name). */
void	ex_view_update(struct ex_view *v, const struct sched_free *f);
/* How many tasks of CPUS and MEM (thousandths) agent A has room for. */
int	ex_agent_slots(const struct ex_agent *a, int64_t cpus, int64_t mem);
/* The agent with the most free cpus that has room for one task of CPUS
 * and MEM, ties to the smallest id; NULL when none has. */
struct ex_agent *ex_view_pick(struct ex_view *v, int64_t cpus, int64_t mem);
/* Free V's array (V itself is the caller's). */
void	ex_view_free(struct ex_view *v);

/*
 * The gang examples' members (gang, opt-gang): one task each of a gang
 * that starts whole or not at all, and what its statuses said.
 */
struct ex_member {
	char		 task_id[EX_ID_LEN];
	char		 agent_id[EX_AGENT_ID_LEN];	/* where placed (opt-gang) */
	long long	 version;	/* of that agent then (opt-gang) */
	char		 state[24];
	int		 ended;
};

/*
 * Make MB rank R of gang G's attempt ATTEMPT out of SIZE for framework C,
 * in state staging, and return its task (sched_task) with the gang's
 * environment: GANG, GANG_ATTEMPT, GANG_RANK and GANG_SIZE.
 */
json_t	*ex_member_task(const struct ex_common *c, struct ex_member *mb,
	    int g, int attempt, int r, int size);
/*
 * Take status ST into the N members M: the member of its task, its state
 * recorded, with how many members are RUNNING and how many have ended.
 * NULL when ST is of no member, of one that ended, or LIVE is 0 (the gang
 * has not launched): then a task of no member that has not ended (an
 * earlier attempt's) is killed.
 */
struct ex_member *ex_member_status(struct sched *s, struct ex_member *m,
	    int n, const struct sched_status *st, int live, int *running,
	    int *ended);
/* Kill every one of the N members M that has not ended. */
void	ex_members_kill(struct sched *s, const struct ex_member *m, int n);
/* How many of the N members M finished. */
int	ex_members_finished(const struct ex_member *m, int n);

/*
 * The service examples' instances (service, opt-service): slot I runs
 * instance I, under a new task id each time it is launched again.
 */
enum ex_slot_state { EX_EMPTY, EX_PLACED, EX_STAGED, EX_RUNNING };

struct ex_slot {
	enum ex_slot_state state;	/* EX_PLACED: in a decision (opt-service) */
	char		 task_id[EX_ID_LEN];
	char		 agent_id[EX_AGENT_ID_LEN];
	int		 heard;		/* any status came for this task */
};

/* The slot of the N slots V whose current task is TASK_ID, or NULL. */
struct ex_slot *ex_slot_of(struct ex_slot *v, int n, const char *task_id);
/* How many of the N slots V run. */
int	ex_slots_running(const struct ex_slot *v, int n);
/*
 * Name slot I of V's next task (framework C, its GENERATION counted up)
 * on AGENT_ID, its state STATE, and return the task (sched_task) with
 * INSTANCE=I in its environment.
 */
json_t	*ex_slot_task(const struct ex_common *c, struct ex_slot *v, int i,
	    int *generation, const char *agent_id, enum ex_slot_state state);
/*
 * Take status ST into the N slots V.  Returns 1 when it ended the task of
 * slot *SLP (ended, or unreachable: the service must run meanwhile), WHY
 * (LEN) saying how; 0 when it was recorded; -1 when the task is no slot's
 * (one not ended, a replaced instance come back, is killed).
 */
int	ex_slot_status(struct sched *s, struct ex_slot *v, int n,
	    const struct sched_status *st, struct ex_slot **slp, char *why,
	    size_t len);
/* Ask the master about the N slots V's launched tasks (EX_STAGED on). */
void	ex_slots_reconcile(struct sched *s, const struct ex_slot *v, int n);

#endif
