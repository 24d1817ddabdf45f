/*
 * drf: the allocator's core, weighted Dominant Resource Fairness in two
 * levels (roles by weighted dominant share, then frameworks inside a role
 * by dominant share), fed with the allocator records of drf-alloc(8) and
 * deciding which framework is offered which agent's free resources.
 *
 * The core does no I/O.  Decisions leave through the callbacks of struct
 * drf_ops: allocated() for each ALLOCATION (structured, so a caller that
 * does not need a record does not pay for one), reply() for ERROR and
 * SHARES records.  Who frees what: drf_create() copies everything it is
 * given; the core owns its state until drf_destroy(); a record passed to
 * drf_handle() stays the caller's; a record passed to reply() becomes the
 * callee's (json_decref it); the struct res passed to allocated() stays
 * the core's (copy it to keep it).
 *
 * Cost: a cycle is O(agents x log(frameworks)) when the lowest-share
 * frameworks are eligible; each ineligible framework met on the way
 * (suppressed ones never are: they leave the order) costs O(log k) more.
 */
#ifndef CLUSTER_DRF_H
#define CLUSTER_DRF_H

#include <stdint.h>
#include <jansson.h>

#include "proto-limits.h"
#include "res.h"

#define DRF_MIN_OFFER_DEFAULT	"cpus:0.01|mem:32"
#define DRF_INTERVAL_DEFAULT	"1s"
#define DRF_MAX_NAMES		32	/* distinct scalar names in a cluster */
#define DRF_MAX_MIN_OFFER	8	/* alternatives in a min-offer rule */
#define DRF_TICK_MAX_S		1e9
#define DRF_RETRY_MS		100	/* retry after an undeliverable cycle */
#define DRF_ERRLEN		256

struct drf;

struct drf_ops {
	/*
	 * FRAMEWORK_ID is to hold R (all the free resources of AGENT_ID)
	 * from now on.  Return 0 once the decision is delivered, or -1 when
	 * it cannot be: the allocation is then undone and the cycle stops.
	 */
	int	(*allocated)(void *arg, const char *framework_id,
		    const char *agent_id, const struct res *r);
	/* A reply record (ERROR or SHARES); the callee owns REC. */
	void	(*reply)(void *arg, json_t *rec);
	void	*arg;
};

struct drf_opts {
	const char	*min_offer;	/* "cpus:0.01|mem:32"; NULL: default */
	int64_t		 interval_ms;	/* timed cycles; 0: default */
	int		 manual_clock;	/* time moves only on TICK records */
	int		 report_cycles;	/* a CYCLE to reply() after each
					   cycle drf_poll runs (metrics) */
};

/*
 * A new allocator with options OPTS and callbacks OPS (both copied).
 * Returns it, or NULL with a reason in ERR (DRF_ERRLEN bytes).
 */
struct drf *drf_create(const struct drf_opts *opts, const struct drf_ops *ops,
	    char *err);
/* Free D and everything it holds.  NULL is allowed. */
void	drf_destroy(struct drf *d);

/* Set ROLE's weight (> 0).  Returns 0, or -1 with a reason in ERR. */
int	drf_set_weight(struct drf *d, const char *role, double weight,
	    char *err);

/*
 * Apply one event record (AGENT_ADD ... TICK; see drf-alloc(8)).  A bad
 * record changes nothing and is answered with an ERROR through reply().
 * ALLOCATE runs a cycle at once; SHARES_QUERY replies with SHARES.
 * Returns 0, or -1 when the record was refused.
 */
int	drf_handle(struct drf *d, const json_t *rec);

/*
 * Run one allocation cycle: offer every agent whose free resources meet
 * the min-offer rule to the lowest-share eligible framework.  Returns the
 * number of allocations made, or -1 when allocated() refused one (the
 * cycle stopped there).
 */
int	drf_allocate(struct drf *d);

/*
 * For an event loop on the real clock: run a cycle when an event asked
 * for one since the last cycle or when the interval is up.  Returns the
 * milliseconds until the next timed cycle, or -1 with a manual clock
 * (cycles then run only on ALLOCATE and TICK).
 */
int64_t	drf_poll(struct drf *d);

/* A new ALLOCATION record for a decision (the caller owns it); NULL: no memory. */
json_t	*drf_allocation_rec(const char *framework_id, const char *agent_id,
	    const struct res *r);

/* A new SHARES record describing the current allocation (caller owns it). */
json_t	*drf_shares(struct drf *d);

#endif
