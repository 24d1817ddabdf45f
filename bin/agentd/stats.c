/*
 * The agent's metrics (agentd(8) METRICS): launches, their time to run,
 * ended tasks, OOM kills and records sent, counted as they happen; tasks
 * by state and each running task's cpu and memory, read when the text is
 * rendered, the latter from the task's own cgroup (v2 or v1) found
 * through /proc; and --metrics' HTTP server (lib/metrics.c).  A scrape costs
 * the loop one render; nothing is rendered unscraped.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentd.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define CG_LINE		(PATH_MAX + 64)	/* a line of /proc/PID/cgroup */

/* Launch to running, in seconds: from 1 ms to 30 s. */
static const double launch_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10, 30
};

static struct {
	struct metrics_endpoint	 ep;
	struct metrics_family	*tasks, *launches, *launch_time, *ended, *oom;
	struct metrics_family	*sent, *cpu, *mem;
	char			 self_cg[CG_LINE];	/* agentd's own */
} st;

/* The families, in the order the text lists them. */
static const struct metrics_spec families[] = {
	{ &st.tasks, METRICS_GAUGE, "tasks",
	    "Tasks this agent knows, by their latest state.", "state",
	    NULL, 0 },
	{ &st.launches, METRICS_COUNTER, "launches_total",
	    "Tasks handed to the launcher.", NULL, NULL, 0 },
	{ &st.launch_time, METRICS_HISTOGRAM, "launch_seconds",
	    "Time from a LAUNCH taken to the task's exec (TASK_RUNNING).",
	    NULL, launch_bounds, METRICS_NITEMS(launch_bounds) },
	{ &st.ended, METRICS_COUNTER, "tasks_ended_total",
	    "Tasks ended, by final state.", "state", NULL, 0 },
	{ &st.oom, METRICS_COUNTER, "oom_kills_total",
	    "Tasks killed for exceeding their memory limit.", NULL, NULL, 0 },
	{ &st.sent, METRICS_COUNTER, "records_sent_total",
	    "Records sent to the master, by type.", "type", NULL, 0 },
	{ &st.cpu, METRICS_COUNTER, "task_cpu_seconds_total",
	    "CPU time of a running task, from its cgroup.",
	    "framework_id,task_id", NULL, 0 },
	{ &st.mem, METRICS_GAUGE, "task_memory_bytes",
	    "Memory in use by a running task, from its cgroup.",
	    "framework_id,task_id", NULL, 0 },
};

/*
 * The cgroup of process PID for CONTROLLER ("" for v2's unified one),
 * as a directory under CGROUP_ROOT, into DIR; 0, or -1 when none.
 */
static int
cgroup_dir(pid_t pid, const char *controller, char *dir, size_t len)
{
	char path[64], line[CG_LINE], *ctl, *cg;
	FILE *fp;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (found == -1 && fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		/* "ID:CONTROLLERS:PATH" */
		if ((ctl = strchr(line, ':')) == NULL ||
		    (cg = strchr(++ctl, ':')) == NULL)
			continue;
		*cg++ = '\0';
		if (*controller == '\0' ? *ctl == '\0' :
		    strstr(ctl, controller) != NULL) {
			if (*controller == '\0')
				snprintf(dir, len, "%s%s", CGROUP_ROOT, cg);
			else
				snprintf(dir, len, "%s/%s%s", CGROUP_ROOT, ctl,
				    cg);
			found = 0;
		}
	}
	fclose(fp);
	return found;
}

/* The number in DIR/FILE, or after KEY on one of its lines; -1: none. */
static double
cg_value(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX + 64], line[256];
	double v = -1;
	size_t kl = key != NULL ? strlen(key) : 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (key == NULL || (strncmp(line, key, kl) == 0 &&
		    line[kl] == ' ')) {
			v = strtod(line + (kl ? kl + 1 : 0), NULL);
			break;
		}
	fclose(fp);
	return v;
}

/* The first child of PID (the task under its launcher), or -1. */
static pid_t
first_child(pid_t pid)
{
	char path[64];
	FILE *fp;
	int child = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	if (fscanf(fp, "%d", &child) != 1)
		child = -1;
	fclose(fp);
	return child;
}

/*
 * Set the cpu and memory gauges of running task T from its cgroup: the
 * cgroup of its launcher's child, when that is not agentd's own (a task
 * run without cgroups has none of its own to read).
 */
static void
task_usage(const struct atask *t, const char *labels)
{
	char dir[CG_LINE];
	pid_t child;
	double v;

	if (t->pid <= 0 || (child = first_child(t->pid)) <= 0)
		return;
	if (cgroup_dir(child, "", dir, sizeof(dir)) == 0 &&
	    strcmp(dir, st.self_cg) != 0 &&
	    (v = cg_value(dir, "memory.current", NULL)) >= 0) {
		metrics_set(st.mem, labels, v);
		if ((v = cg_value(dir, "cpu.stat", "usage_usec")) >= 0)
			metrics_set(st.cpu, labels, v / 1e6);
		return;
	}
	/* v1: one hierarchy per controller */
	if (cgroup_dir(child, "memory", dir, sizeof(dir)) == 0 &&
	    (v = cg_value(dir, "memory.usage_in_bytes", NULL)) >= 0)
		metrics_set(st.mem, labels, v);
	if (cgroup_dir(child, "cpuacct", dir, sizeof(dir)) == 0 &&
	    (v = cg_value(dir, "cpuacct.usage", NULL)) >= 0)
		metrics_set(st.cpu, labels, v / 1e9);
}

void
stats_init(struct agentd *ag, const char *addr)
{
	char err[METRICS_ERRLEN];

	(void)ag;
	if (metrics_endpoint_start(&st.ep, families, METRICS_NITEMS(families),
	    addr, err) == -1)
		log_fatalx("%s", err);
	if (cgroup_dir(getpid(), "", st.self_cg, sizeof(st.self_cg)) == -1)
		st.self_cg[0] = '\0';
}

void
stats_launch(void)
{
	metrics_add(st.launches, NULL, 1);
}

void
stats_running(int64_t ms)
{
	metrics_observe(st.launch_time, NULL, ms / 1000.0);
}

void
stats_ended(const char *state, int oom)
{
	metrics_add(st.ended, task_state_valid(state) ? state : "other", 1);
	if (oom)
		metrics_add(st.oom, NULL, 1);
}

void
stats_sent(const char *type)
{
	metrics_add(st.sent, type, 1);
}

/*
 * The text of agentd AG, the gauges read afresh (metrics_http_serve's
 * RENDER); NULL: out of memory.
 */
static char *
stats_render(void *ag, size_t *len)
{
	struct agentd *a = ag;
	struct agent_task *bt;
	char labels[2 * AGENT_ID_LEN];
	size_t pos = 0;

	metrics_clear(st.tasks);
	metrics_clear(st.cpu);
	metrics_clear(st.mem);
	while ((bt = agent_set_next(a->set, &pos)) != NULL) {
		metrics_add(st.tasks, task_state_valid(bt->state) ? bt->state :
		    "other", 1);
		if (strcmp(bt->state, TASK_RUNNING) != 0)
			continue;
		snprintf(labels, sizeof(labels), "%s\t%s", bt->framework_id,
		    bt->id);
		task_usage(T(bt), labels);
	}
	return metrics_render(st.ep.reg, METRICS_AGENTD, len);
}

int
stats_fd(void)
{
	return metrics_http_fd(st.ep.http);
}

void
stats_serve(struct agentd *ag)
{
	metrics_http_serve(st.ep.http, stats_render, ag);
}

void
stats_stop(void)
{
	metrics_endpoint_stop(&st.ep);
}
