/*
 * The master's metrics (offerd(8) METRICS): the counters and histograms
 * the other files bump as things happen, the gauges they keep as tasks
 * and agents change (so that a scrape reads no agent or task) or read at
 * render time, the text itself (for QUERY "metrics" and
 * for --metrics' HTTP server, lib/metrics.c), and that server's life.  A
 * scrape costs the loop one render; nothing is rendered unscraped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "offerd.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define MB_BYTES	1048576.0	/* mem and disk are in MB */
#define MILLI		1000.0		/* scalar resources are in 1/1000 */

/* Allocation cycles, in seconds: from 100 us to 10 s. */
static const double cycle_bounds[] = {
	0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10
};
/* Status update acknowledgements, in seconds: from 1 ms to 60 s. */
static const double ack_bounds[] = {
	0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60
};

static struct {
	struct metrics_endpoint	 ep;
	struct metrics_family	*offers[ST_OFFER_N];
	struct metrics_family	*agents, *frameworks, *tasks, *offers_out;
	struct metrics_family	*started, *ended, *in, *out, *resent;
	struct metrics_family	*cycle, *ack, *cpus, *mem, *disk;
	struct metrics_family	*commits, *render, *frames_in, *frames_out;
} st;

/* The families, in the order the text lists them. */
static const struct metrics_spec families[] = {
	{ &st.agents, METRICS_GAUGE, "agents",
	    "Agents known, by state (active, unreachable).", "state", NULL, 0 },
	{ &st.frameworks, METRICS_GAUGE, "frameworks",
	    "Frameworks known, by state (active, inactive).", "state",
	    NULL, 0 },
	{ &st.tasks, METRICS_GAUGE, "tasks", "Tasks not ended, by state.",
	    "state", NULL, 0 },
	{ &st.started, METRICS_COUNTER, "tasks_started_total",
	    "Tasks accepted and sent to their agent.", NULL, NULL, 0 },
	{ &st.ended, METRICS_COUNTER, "tasks_ended_total",
	    "Tasks ended, by final state.", "state", NULL, 0 },
	{ &st.offers[ST_OFFER_MADE], METRICS_COUNTER, "offers_made_total",
	    "Offers made to frameworks.", NULL, NULL, 0 },
	{ &st.offers[ST_OFFER_ACCEPTED], METRICS_COUNTER,
	    "offers_accepted_total", "Offers accepted.", NULL, NULL, 0 },
	{ &st.offers[ST_OFFER_DECLINED], METRICS_COUNTER,
	    "offers_declined_total", "Offers declined.", NULL, NULL, 0 },
	{ &st.offers[ST_OFFER_RESCINDED], METRICS_COUNTER,
	    "offers_rescinded_total",
	    "Offers rescinded (timed out ones included).", NULL, NULL, 0 },
	{ &st.offers[ST_OFFER_TIMED_OUT], METRICS_COUNTER,
	    "offers_timed_out_total",
	    "Offers not answered within the offer timeout.", NULL, NULL, 0 },
	{ &st.offers_out, METRICS_GAUGE, "offers_outstanding",
	    "Offers made and not yet answered.", NULL, NULL, 0 },
	{ &st.commits, METRICS_COUNTER, "transactions_total",
	    "COMMIT transactions of optimistic frameworks, by outcome "
	    "(committed, partial, aborted).", "outcome", NULL, 0 },
	{ &st.cycle, METRICS_HISTOGRAM, "allocation_cycle_seconds",
	    "Run time of the allocator's cycles.", NULL, cycle_bounds,
	    METRICS_NITEMS(cycle_bounds) },
	{ &st.in, METRICS_COUNTER, "records_received_total",
	    "Records received and handled, by type (other: an unknown type).",
	    "type", NULL, 0 },
	{ &st.out, METRICS_COUNTER, "records_sent_total",
	    "Records sent to agents, frameworks and tools, by type.", "type",
	    NULL, 0 },
	{ &st.frames_in, METRICS_COUNTER, "frames_received_total",
	    "Messages taken in on the listen endpoint, each one record or a "
	    "batch of them.", NULL, NULL, 0 },
	{ &st.frames_out, METRICS_COUNTER, "frames_sent_total",
	    "Messages sent on the listen endpoint, each one record or a "
	    "batch of them.", NULL, NULL, 0 },
	{ &st.resent, METRICS_COUNTER, "retransmissions_total",
	    "LAUNCH and KILL records sent again to an agent that had not "
	    "answered, by type.", "type", NULL, 0 },
	{ &st.ack, METRICS_HISTOGRAM, "status_update_acknowledgement_seconds",
	    "Time from a status update sent to a framework to its "
	    "acknowledgement.", NULL, ack_bounds, METRICS_NITEMS(ack_bounds) },
	{ &st.cpus, METRICS_GAUGE, "cpus",
	    "CPUs of the active agents: total, used by tasks, offered.",
	    "state", NULL, 0 },
	{ &st.mem, METRICS_GAUGE, "memory_bytes",
	    "Memory of the active agents: total, used by tasks, offered.",
	    "state", NULL, 0 },
	{ &st.disk, METRICS_GAUGE, "disk_bytes",
	    "Disk of the active agents: total, used by tasks, offered.",
	    "state", NULL, 0 },
	{ &st.render, METRICS_HISTOGRAM, "scrape_render_seconds",
	    "Time the text of a scrape took to make, in the master's loop, "
	    "which waits meanwhile (this scrape's is in the next).", NULL,
	    cycle_bounds, METRICS_NITEMS(cycle_bounds) },
};

void
stats_init(struct master *m)
{
	char err[METRICS_ERRLEN];

	if (metrics_endpoint_start(&st.ep, families, METRICS_NITEMS(families),
	    m->conf->metrics_addr, err) == -1)
		log_fatalx("%s", err);
}

void
stats_offer(enum stat_offer what)
{
	metrics_add(st.offers[what], NULL, 1);
}

void
stats_record(int sent, const char *type)
{
	metrics_add(sent ? st.out : st.in, type, 1);
}

/* STATE as a label: a task state, else "other" (an agent's typo). */
static const char *
state_label(const char *state)
{
	return task_state_valid(state) ? state : "other";
}

void
stats_task(const char *ended_state)
{
	if (ended_state == NULL)
		metrics_add(st.started, NULL, 1);
	else
		metrics_add(st.ended, state_label(ended_state), 1);
}

void
stats_resent(const char *type)
{
	metrics_add(st.resent, type, 1);
}

void
stats_ack(int64_t ms)
{
	metrics_observe(st.ack, NULL, ms / 1000.0);
}

void
stats_commit(const char *outcome)
{
	metrics_add(st.commits, outcome, 1);
}

void
stats_cycle(double seconds)
{
	metrics_observe(st.cycle, NULL, seconds);
}

/* The sums of the active agents' scalars, and how many are active. */
static struct gsum gsums[GSUM_N];
static size_t gactive;

void
stats_task_state(const char *from, const char *to)
{
	if (from != NULL && *from != '\0')
		metrics_add(st.tasks, state_label(from), -1);
	if (to != NULL)
		metrics_add(st.tasks, state_label(to), 1);
}

/*
 * A's share of the resource gauges is taken out of the sums and put back
 * as it is now: a few lookups each time A changes, rather than a pass
 * over every agent (and a cache miss each) every scrape.
 */
void
stats_agent(struct agent *a)
{
	const struct res *r[GSUM_N] = { &a->total, &a->used, &a->offered };
	struct gsum *g;
	int k;

	for (k = 0; k < GSUM_N; k++) {
		g = &a->gauged[k];
		gsums[k].cpus -= g->cpus;
		gsums[k].mem -= g->mem;
		gsums[k].disk -= g->disk;
		g->cpus = a->active ? res_get(r[k], "cpus") : 0;
		g->mem = a->active ? res_get(r[k], "mem") : 0;
		g->disk = a->active ? res_get(r[k], "disk") : 0;
		gsums[k].cpus += g->cpus;
		gsums[k].mem += g->mem;
		gsums[k].disk += g->disk;
	}
	gactive -= a->gauged_active;
	gactive += a->gauged_active = a->active != 0;
}

/*
 * Set the gauges the state does not keep: the sums above and a pass over
 * the frameworks (a thousand, not the agents or tasks).
 */
static void
stats_gauges(struct master *m)
{
	static const char *const names[GSUM_N] = { "total", "used", "offered" };
	struct framework *fw;
	size_t pos, active = 0;
	uint64_t fin, fout;
	int k;

	metrics_set(st.agents, "active", gactive);
	metrics_set(st.agents, "unreachable", map_count(m->agents) - gactive);
	for (k = 0; k < GSUM_N; k++) {
		metrics_set(st.cpus, names[k], gsums[k].cpus / MILLI);
		metrics_set(st.mem, names[k], gsums[k].mem / MILLI * MB_BYTES);
		metrics_set(st.disk, names[k], gsums[k].disk / MILLI *
		    MB_BYTES);
	}
	for (pos = 0; (fw = map_next(m->frameworks, &pos, NULL)) != NULL;)
		active += fw->active != 0;
	metrics_set(st.frameworks, "active", active);
	metrics_set(st.frameworks, "inactive", map_count(m->frameworks) -
	    active);
	metrics_set(st.offers_out, NULL, map_count(m->offers));
	net_frames(m->hub, &fin, &fout);
	metrics_set(st.frames_in, NULL, (double)fin);
	metrics_set(st.frames_out, NULL, (double)fout);
}

char *
stats_render(struct master *m, size_t *len)
{
	struct timespec t0, t1;
	char *text;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	stats_gauges(m);
	text = metrics_render(st.ep.reg, METRICS_OFFERD, len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	metrics_observe(st.render, NULL, (double)(t1.tv_sec - t0.tv_sec) +
	    (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return text;
}

int
stats_fd(void)
{
	return metrics_http_fd(st.ep.http);
}

/* stats_render for metrics_http_serve. */
static char *
render(void *arg, size_t *len)
{
	return stats_render(arg, len);
}

void
stats_serve(struct master *m)
{
	metrics_http_serve(st.ep.http, render, m);
}

void
stats_stop(void)
{
	metrics_endpoint_stop(&st.ep);
}
