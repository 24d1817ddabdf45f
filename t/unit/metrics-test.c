/*
 * metrics-test: drives lib/metrics.c for t/0140-lib-metrics.bats.
 *
 *   metrics-test
 *
 * builds a registry with a family of every kind, labels of one and two
 * names whose values need escaping, a histogram with two series, a
 * cleared gauge and values that are not finite, and prints its text
 * with the prefix "test_"; the good families are made as a daemon's
 * end point makes them (metrics_endpoint_start, no server).  Also checks
 * that bad names, unsorted bounds and too many labels are refused, by an
 * end point too; a failed check exits 1.
 *
 *   metrics-test series N
 *
 * sets N series of one gauge family (label "id", values 0 to N - 1,
 * twice each) and prints its text: at most METRICS_SERIES_MAX of them,
 * the cut logged on stderr.
 */
#include <err.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"

/* Print M's text with the prefix "test_", free M and return 0. */
static int
print_text(struct metrics *m)
{
	size_t len;
	char *text;

	if ((text = metrics_render(m, "test_", &len)) == NULL)
		errx(1, "metrics_render");
	fwrite(text, 1, len, stdout);
	free(text);
	metrics_destroy(m);
	return 0;
}

/* Set N series of one family, twice each, and print the text. */
static int
series(long n)
{
	struct metrics *m = metrics_create();
	struct metrics_family *f;
	char v[32];
	long i;
	int round;

	if (m == NULL || (f = metrics_family(m, METRICS_GAUGE, "many",
	    "Many series.", "id", NULL, 0)) == NULL)
		errx(1, "metrics_family");
	for (round = 0; round < 2; round++)
		for (i = 0; i < n; i++) {
			snprintf(v, sizeof(v), "%ld", i);
			metrics_set(f, v, i);
		}
	return print_text(m);
}

int
main(int argc, char **argv)
{
	static const double bounds[] = { 0.1, 1, 10 };
	static const double unsorted[] = { 1, 0.1 };
	struct metrics_family *c, *g, *h, *two, *gone;
	const struct metrics_spec good[] = {
		{ &c, METRICS_COUNTER, "events_total", "Events seen.", NULL,
		    NULL, 0 },
		{ &g, METRICS_GAUGE, "things", "Things, by kind.", "kind",
		    NULL, 0 },
		{ &h, METRICS_HISTOGRAM, "wait_seconds", "Waits.", "queue",
		    bounds, METRICS_NITEMS(bounds) },
		{ &two, METRICS_GAUGE, "pair_bytes", "Pairs.",
		    "framework_id,task_id", NULL, 0 },
		{ &gone, METRICS_GAUGE, "gone", "Cleared.", "kind", NULL, 0 },
	};
	const struct metrics_spec bad[] = {
		{ &c, METRICS_COUNTER, "events_total", "Events seen.", NULL,
		    NULL, 0 },
		{ &g, METRICS_COUNTER, "9bad", "x", NULL, NULL, 0 },
	};
	struct metrics_endpoint e;
	struct metrics *m;
	char why[METRICS_ERRLEN];

	log_init("metrics-test", 1, 0);
	if (argc == 3 && strcmp(argv[1], "series") == 0)
		return series(strtol(argv[2], NULL, 10));
	if (argc != 1)
		errx(100, "usage: metrics-test [series count]");
	if (metrics_endpoint_start(&e, bad, METRICS_NITEMS(bad), NULL,
	    why) != -1 || strcmp(why, "metrics: cannot make 9bad") != 0 ||
	    e.reg != NULL || e.http != NULL)
		errx(1, "an end point with a bad family was made");
	if (metrics_endpoint_start(&e, good, METRICS_NITEMS(good), NULL,
	    why) == -1)
		errx(1, "a good family was refused: %s", why);
	if (e.http != NULL)
		errx(1, "an end point without an address serves");
	m = e.reg;
	if (metrics_family(m, METRICS_COUNTER, "9bad", "x", NULL, NULL, 0) ||
	    metrics_family(m, METRICS_COUNTER, "bad-name", "x", NULL, NULL,
	    0) ||
	    metrics_family(m, METRICS_GAUGE, "ok", "x", "a,b,c", NULL, 0) ||
	    metrics_family(m, METRICS_GAUGE, "ok", "x", "a-b", NULL, 0) ||
	    metrics_family(m, METRICS_HISTOGRAM, "ok", "x", NULL, unsorted,
	    2))
		errx(1, "a bad family was taken");
	metrics_add(c, NULL, 1);
	metrics_add(c, NULL, 2);
	metrics_set(g, "plain", 42);
	metrics_set(g, "quote\"back\\slash\nnewline", 1.5);
	metrics_set(g, "inf", INFINITY);
	metrics_set(g, "nan", NAN);
	metrics_set(g, "big", 12345678901234.0);
	metrics_observe(h, "a", 0.05);
	metrics_observe(h, "a", 0.5);
	metrics_observe(h, "a", 100);
	metrics_observe(h, "b", 1);
	metrics_set(two, "fw-1\ttask-1", 1048576);
	metrics_set(gone, "x", 1);
	metrics_clear(gone);
	return print_text(m);
}
