/*
 * The master's metrics (offerd(8) METRICS): the counters and histograms
 * the other files bump as things happen, the gauges read from the state
 * when the text is rendered, the text itself (for QUERY "metrics" and
 * for --metrics' HTTP server, lib/metrics.c), and that server's life.  A
 * scrape costs the loop one render; nothing is rendered unscraped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#define NBOUNDS(a)	(sizeof(a) / sizeof(*(a)))

static const char *const offer_events[ST_OFFER_N] = {
	[ST_OFFER_MADE] = "offers_made_total",
	[ST_OFFER_ACCEPTED] = "offers_accepted_total",
	[ST_OFFER_DECLINED] = "offers_declined_total",
	[ST_OFFER_RESCINDED] = "offers_rescinded_total",
	[ST_OFFER_TIMED_OUT] = "offers_timed_out_total",
};
static const char *const offer_help[ST_OFFER_N] = {
	[ST_OFFER_MADE] = "Offers made to frameworks.",
	[ST_OFFER_ACCEPTED] = "Offers accepted.",
	[ST_OFFER_DECLINED] = "Offers declined.",
	[ST_OFFER_RESCINDED] = "Offers rescinded (timed out ones included).",
	[ST_OFFER_TIMED_OUT] = "Offers not answered within the offer timeout.",
};

static struct {
	struct metrics		*reg;
	struct metrics_http	*http;
	struct metrics_family	*offers[ST_OFFER_N];
	struct metrics_family	*agents, *frameworks, *tasks, *offers_out;
	struct metrics_family	*started, *ended, *in, *out, *resent;
	struct metrics_family	*cycle, *ack, *cpus, *mem, *disk;
} st;

/* A new family of the registry; a failure is fatal at start-up. */
static struct metrics_family *
family(enum metrics_kind kind, const char *name, const char *help,
    const char *labels, const double *bounds, size_t nbounds)
{
	struct metrics_family *f;

	f = metrics_family(st.reg, kind, name, help, labels, bounds, nbounds);
	if (f == NULL)
		log_fatalx("metrics: cannot make %s", name);
	return f;
}

void
stats_init(struct master *m)
{
	char err[256];
	int i;

	if ((st.reg = metrics_create()) == NULL)
		log_fatalx("metrics: out of memory");
	st.agents = family(METRICS_GAUGE, "agents", "Agents known, by state "
	    "(active, unreachable).", "state", NULL, 0);
	st.frameworks = family(METRICS_GAUGE, "frameworks", "Frameworks known, "
	    "by state (active, inactive).", "state", NULL, 0);
	st.tasks = family(METRICS_GAUGE, "tasks", "Tasks not ended, by state.",
	    "state", NULL, 0);
	st.started = family(METRICS_COUNTER, "tasks_started_total", "Tasks "
	    "accepted and sent to their agent.", NULL, NULL, 0);
	st.ended = family(METRICS_COUNTER, "tasks_ended_total", "Tasks ended, "
	    "by final state.", "state", NULL, 0);
	for (i = 0; i < ST_OFFER_N; i++)
		st.offers[i] = family(METRICS_COUNTER, offer_events[i],
		    offer_help[i], NULL, NULL, 0);
	st.offers_out = family(METRICS_GAUGE, "offers_outstanding", "Offers "
	    "made and not yet answered.", NULL, NULL, 0);
	st.cycle = family(METRICS_HISTOGRAM, "allocation_cycle_seconds",
	    "Run time of the allocator's cycles.", NULL, cycle_bounds,
	    NBOUNDS(cycle_bounds));
	st.in = family(METRICS_COUNTER, "records_received_total", "Records "
	    "received and handled, by type (other: an unknown type).", "type",
	    NULL, 0);
	st.out = family(METRICS_COUNTER, "records_sent_total", "Records sent "
	    "to agents, frameworks and tools, by type.", "type", NULL, 0);
	st.resent = family(METRICS_COUNTER, "retransmissions_total", "LAUNCH "
	    "and KILL records sent again to an agent that had not answered, by "
	    "type.", "type", NULL, 0);
	st.ack = family(METRICS_HISTOGRAM,
	    "status_update_acknowledgement_seconds", "Time from a status "
	    "update sent to a framework to its acknowledgement.", NULL,
	    ack_bounds, NBOUNDS(ack_bounds));
	st.cpus = family(METRICS_GAUGE, "cpus", "CPUs of the active agents: "
	    "total, used by tasks, offered.", "state", NULL, 0);
	st.mem = family(METRICS_GAUGE, "memory_bytes", "Memory of the active "
	    "agents: total, used by tasks, offered.", "state", NULL, 0);
	st.disk = family(METRICS_GAUGE, "disk_bytes", "Disk of the active "
	    "agents: total, used by tasks, offered.", "state", NULL, 0);
	if (m->conf->metrics_addr == NULL)
		return;
	if ((st.http = metrics_http_start(m->conf->metrics_addr, err)) == NULL)
		log_fatalx("%s", err);
	/* port 0 (--metrics ADDR:0) takes a free one: say which */
	log_info("metrics on %s: port %d, path /metrics",
	    m->conf->metrics_addr,
	    metrics_http_port(st.http));
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
stats_cycle(double seconds)
{
	metrics_observe(st.cycle, NULL, seconds);
}

/* Set the resource gauges of STATE from R. */
static void
gauge_res(const char *state, const struct res *r)
{
	metrics_set(st.cpus, state, res_get(r, "cpus") / MILLI);
	metrics_set(st.mem, state, res_get(r, "mem") / MILLI * MB_BYTES);
	metrics_set(st.disk, state, res_get(r, "disk") / MILLI * MB_BYTES);
}

/* Set the gauges from M's state: one pass over agents, frameworks, tasks. */
static void
stats_gauges(struct master *m)
{
	struct res total, used, offered;
	struct agent *a;
	struct framework *fw;
	struct task *t;
	size_t pos, active = 0;

	res_init(&total);
	res_init(&used);
	res_init(&offered);
	for (pos = 0; (a = map_next(m->agents, &pos, NULL)) != NULL;) {
		if (!a->active)
			continue;
		active++;
		res_add(&total, &a->total);
		res_add(&used, &a->used);
		res_add(&offered, &a->offered);
	}
	metrics_set(st.agents, "active", active);
	metrics_set(st.agents, "unreachable", map_count(m->agents) - active);
	gauge_res("total", &total);
	gauge_res("used", &used);
	gauge_res("offered", &offered);
	res_free(&total);
	res_free(&used);
	res_free(&offered);
	active = 0;
	for (pos = 0; (fw = map_next(m->frameworks, &pos, NULL)) != NULL;)
		active += fw->active != 0;
	metrics_set(st.frameworks, "active", active);
	metrics_set(st.frameworks, "inactive", map_count(m->frameworks) -
	    active);
	/* states come and go: only those that have tasks now are listed */
	metrics_clear(st.tasks);
	for (pos = 0; (t = map_next(m->tasks, &pos, NULL)) != NULL;)
		if (t->ended == 0)
			metrics_add(st.tasks, state_label(t->state), 1);
	metrics_set(st.offers_out, NULL, map_count(m->offers));
}

char *
stats_render(struct master *m, size_t *len)
{
	stats_gauges(m);
	return metrics_render(st.reg, METRICS_OFFERD, len);
}

int
stats_fd(void)
{
	return metrics_http_fd(st.http);
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
	metrics_http_serve(st.http, render, m);
}

void
stats_stop(void)
{
	metrics_http_stop(st.http);
	st.http = NULL;
	metrics_destroy(st.reg);
	st.reg = NULL;
}
