/*
 * Benchmark of the allocator core: build the state of a cluster in
 * process (agents of cpus:16;mem:65536, every framework eligible, all
 * agents free) and time one full allocation cycle with drf_allocate().
 * Each case runs in its own process so that rss_mb is its own peak.
 *
 *   alloc [AGENTS FRAMEWORKS]     default: the two cases of issue 3
 *
 * With BENCH_RECORDS=1 the decision callback also builds and prints (to
 * /dev/null) each ALLOCATION record, as drf-alloc does on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drf.h"
#include "rec.h"

static int	 nallocs;
static FILE	*sink;

static int
on_alloc(void *arg, const char *fw, const char *agent, const struct res *r)
{
	(void)arg;
	nallocs++;
	if (sink != NULL) {
		json_t *rec = drf_allocation_rec(fw, agent, r);

		if (rec == NULL)
			return -1;
		json_dumpf(rec, sink, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', sink);
		json_decref(rec);
	}
	return 0;
}

static void
on_reply(void *arg, json_t *rec)
{
	(void)arg;
	fprintf(stderr, "alloc: unexpected reply: %s\n", rec_str(rec, "message"));
	json_decref(rec);
	exit(1);
}

/* Feed one record built from a printf format to D. */
static void
feed(struct drf *d, const char *fmt, int i)
{
	char line[512], err[REC_ERRLEN];
	json_t *rec;

	snprintf(line, sizeof(line), fmt, i);
	if ((rec = rec_from_json(line, err)) == NULL) {
		fprintf(stderr, "alloc: %s\n", err);
		exit(1);
	}
	drf_handle(d, rec);
	json_decref(rec);
}

/* Peak resident set of this process in MB, from /proc. */
static double
rss_mb(void)
{
	char line[256];
	double kb = 0;
	FILE *fp = fopen("/proc/self/status", "r");

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmHWM: %lf", &kb) == 1)
			break;
	fclose(fp);
	return kb / 1024;
}

/* Build a cluster of AGENTS x FRAMEWORKS, time one cycle, print the line. */
static void
run_case(int agents, int frameworks)
{
	struct drf_opts opts = { .manual_clock = 1 };
	struct drf_ops ops = { .allocated = on_alloc, .reply = on_reply };
	struct timespec t0, t1;
	char err[DRF_ERRLEN];
	struct drf *d;
	int i, n;

	if (getenv("BENCH_RECORDS") != NULL && (sink = fopen("/dev/null", "w")) == NULL)
		exit(1);
	if ((d = drf_create(&opts, &ops, err)) == NULL) {
		fprintf(stderr, "alloc: %s\n", err);
		exit(1);
	}
	for (i = 0; i < frameworks; i++)
		feed(d, "{\"type\":\"FRAMEWORK_ADD\",\"framework_id\":\"fw-%05d\"}", i);
	for (i = 0; i < agents; i++)
		feed(d, "{\"type\":\"AGENT_ADD\",\"agent_id\":\"agent-%06d\","
		    "\"resources\":\"cpus:16;mem:65536;disk:100000;"
		    "ports:[31000-32000]\",\"attributes\":\"rack:r1\"}", i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = drf_allocate(d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (n != agents) {
		fprintf(stderr, "alloc: %d allocations for %d agents\n", n, agents);
		exit(1);
	}
	printf("alloc agents=%d frameworks=%d cycle_ms=%.1f rss_mb=%.0f\n",
	    agents, frameworks, (t1.tv_sec - t0.tv_sec) * 1e3 +
	    (t1.tv_nsec - t0.tv_nsec) / 1e6, rss_mb());
	fflush(stdout);
	drf_destroy(d);
}

/* Run one case in a child process, so that each has its own peak RSS. */
static int
fork_case(int agents, int frameworks)
{
	pid_t pid;
	int st;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		run_case(agents, frameworks);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return 1;
	return WEXITSTATUS(st);
}

int
main(int argc, char *argv[])
{
	if (argc == 3)
		return fork_case(atoi(argv[1]), atoi(argv[2]));
	if (argc != 1) {
		fprintf(stderr, "usage: alloc [agents frameworks]\n");
		return 100;
	}
	return fork_case(10000, 1000) | fork_case(50000, 200);
}
