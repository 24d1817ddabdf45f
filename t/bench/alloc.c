/*
 * Benchmark of the allocator core: build the state of a cluster in
 * process (agents of cpus:16;mem:65536, every framework eligible, all
 * agents free) and time one full allocation cycle with drf_allocate().
 * Each case runs in its own process so that rss_mb is its own peak.
 *
 *   alloc [AGENTS FRAMEWORKS]     default: the two cases of issue 3,
 *                                 the 50,000 x 1,000 case of issue 19,
 *                                 then the quota comparison of issue 17
 *
 * The quota comparison (issue 17) puts 10,000 agents and 1,000 frameworks
 * in QUOTA_ROLES roles and times a cycle without quota and with a
 * guarantee and a limit on a third of the roles, interleaved
 * QUOTA_ROUNDS times in this one invocation, then prints the ratio of
 * the medians: what quota costs, on the same machine in the same minute.
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

#define QUOTA_AGENTS	10000
#define QUOTA_FWS	1000
#define QUOTA_ROLES	99	/* a third of them: 33 with quota */
#define QUOTA_ROUNDS	5
#define AGENT_CPUS	16

static int	 nallocs;
static double	 exit_ms;		/* the last case's cycle */
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

/*
 * Put the frameworks in ROLES roles (0: all in "*"); with QUOTA, every
 * third role gets a guarantee of half its fair share of cpus and a limit
 * of twice it (so that the limit is checked at every offer but every
 * agent is still allocated).
 */
static void
feed_roles(struct drf *d, int agents, int frameworks, int roles, int quota)
{
	char line[256], err[REC_ERRLEN];
	json_t *rec;
	int i, fair = roles > 0 ? agents * AGENT_CPUS / roles : 0;

	for (i = 0; i < frameworks; i++) {
		if (roles > 0)
			snprintf(line, sizeof(line), "{\"type\":\"FRAMEWORK_ADD\","
			    "\"framework_id\":\"fw-%05d\",\"role\":\"r%03d\"}", i,
			    i % roles);
		else
			snprintf(line, sizeof(line), "{\"type\":\"FRAMEWORK_ADD\","
			    "\"framework_id\":\"fw-%05d\"}", i);
		if ((rec = rec_from_json(line, err)) == NULL)
			exit(1);
		drf_handle(d, rec);
		json_decref(rec);
	}
	for (i = 0; quota && i < roles; i += 3) {
		snprintf(line, sizeof(line), "{\"type\":\"QUOTA\",\"role\":"
		    "\"r%03d\",\"guarantee\":\"cpus:%d\",\"limit\":"
		    "\"cpus:%d\"}", i, fair / 2, fair * 2);
		if ((rec = rec_from_json(line, err)) == NULL ||
		    drf_handle(d, rec) == -1)
			exit(1);
		json_decref(rec);
	}
}

/*
 * Build a cluster of AGENTS x FRAMEWORKS (in ROLES roles, with QUOTA on a
 * third of them), time one cycle, print the line.
 */
static void
run_case(int agents, int frameworks, int roles, int quota)
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
	feed_roles(d, agents, frameworks, roles, quota);
	for (i = 0; i < agents; i++)
		feed(d, "{\"type\":\"AGENT_ADD\",\"agent_id\":\"agent-%06d\","
		    "\"resources\":\"cpus:16;mem:65536;disk:100000;"
		    "ports:[31000-32000]\",\"attributes\":\"rack:r1\"}", i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = drf_allocate(d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* a part given within a limit is one allocation more */
	if (n < agents) {
		fprintf(stderr, "alloc: %d allocations for %d agents\n", n, agents);
		exit(1);
	}
	if (roles > 0)
		printf("alloc agents=%d frameworks=%d roles=%d quota_roles=%d "
		    "cycle_ms=%.1f rss_mb=%.0f\n", agents, frameworks, roles,
		    quota ? (roles + 2) / 3 : 0, (t1.tv_sec - t0.tv_sec) * 1e3 +
		    (t1.tv_nsec - t0.tv_nsec) / 1e6, rss_mb());
	else
		printf("alloc agents=%d frameworks=%d cycle_ms=%.1f rss_mb=%.0f\n",
		    agents, frameworks, (t1.tv_sec - t0.tv_sec) * 1e3 +
		    (t1.tv_nsec - t0.tv_nsec) / 1e6, rss_mb());
	fflush(stdout);
	drf_destroy(d);
	/* the parent reads the cycle's time from here */
	exit_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
}

/*
 * Run one case in a child process, so that each has its own peak RSS;
 * its cycle's time goes to *MS (when not NULL) through a pipe.
 */
static int
fork_case(int agents, int frameworks, int roles, int quota, double *ms)
{
	pid_t pid;
	double unused;
	int st, p[2];

	fflush(stdout);
	if (pipe(p) == -1 || (pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		close(p[0]);
		run_case(agents, frameworks, roles, quota);
		if (write(p[1], &exit_ms, sizeof(exit_ms)) != sizeof(exit_ms))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	/* always read: a child writing to a closed pipe dies of SIGPIPE */
	if (ms == NULL)
		ms = &unused;
	if (read(p[0], ms, sizeof(*ms)) != sizeof(*ms))
		*ms = 0;
	close(p[0]);
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return 1;
	return WEXITSTATUS(st);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The quota comparison: interleaved rounds, then the medians' ratio. */
static int
quota_compare(void)
{
	double plain[QUOTA_ROUNDS], quota[QUOTA_ROUNDS];
	int i, rc = 0;

	for (i = 0; i < QUOTA_ROUNDS; i++) {
		rc |= fork_case(QUOTA_AGENTS, QUOTA_FWS, QUOTA_ROLES, 0,
		    &plain[i]);
		rc |= fork_case(QUOTA_AGENTS, QUOTA_FWS, QUOTA_ROLES, 1,
		    &quota[i]);
	}
	qsort(plain, QUOTA_ROUNDS, sizeof(double), cmp_double);
	qsort(quota, QUOTA_ROUNDS, sizeof(double), cmp_double);
	printf("alloc quota median_ms without=%.1f with=%.1f ratio=%.2f\n",
	    plain[QUOTA_ROUNDS / 2], quota[QUOTA_ROUNDS / 2],
	    plain[QUOTA_ROUNDS / 2] > 0 ? quota[QUOTA_ROUNDS / 2] /
	    plain[QUOTA_ROUNDS / 2] : 0);
	return rc;
}

int
main(int argc, char *argv[])
{
	if (argc == 3)
		return fork_case(atoi(argv[1]), atoi(argv[2]), 0, 0, NULL);
	if (argc != 1) {
		fprintf(stderr, "usage: alloc [agents frameworks]\n");
		return 100;
	}
	return fork_case(10000, 1000, 0, 0, NULL) |
	    fork_case(50000, 200, 0, 0, NULL) |
	    fork_case(50000, 1000, 0, 0, NULL) | quota_compare();
}
