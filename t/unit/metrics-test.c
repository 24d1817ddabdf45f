/*
 * metrics-test: drives lib/metrics.c for t/0140-lib-metrics.bats.
 *
 *   metrics-test
 *
 * builds a registry with a family of every kind, labels of one and two
 * names whose values need escaping, a histogram with two series, a
 * cleared gauge and values that are not finite, and prints its text
 * with the prefix "test_".  Also checks that bad names, unsorted bounds
 * and too many labels are refused; a failed check exits 1.
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

/* Set N series of one family, twice each, and print the text. */
static int
series(long n)
{
	struct metrics *m = metrics_create();
	struct metrics_family *f;
	char v[32];
	size_t len;
	char *text;
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
	if ((text = metrics_render(m, "test_", &len)) == NULL)
		errx(1, "metrics_render");
	fwrite(text, 1, len, stdout);
	free(text);
	metrics_destroy(m);
	return 0;
}

int
main(int argc, char **argv)
{
	static const double bounds[] = { 0.1, 1, 10 };
	static const double unsorted[] = { 1, 0.1 };
	struct metrics *m;
	struct metrics_family *c, *g, *h, *two, *gone;
	size_t len;
	char *text;

	log_init("metrics-test", 1, 0);
	if (argc == 3 && strcmp(argv[1], "series") == 0)
		return series(strtol(argv[2], NULL, 10));
	if (argc != 1)
		errx(100, "usage: metrics-test [series count]");
	if ((m = metrics_create()) == NULL)
		err(1, "metrics_create");
	if (metrics_family(m, METRICS_COUNTER, "9bad", "x", NULL, NULL, 0) ||
	    metrics_family(m, METRICS_COUNTER, "bad-name", "x", NULL, NULL,
	    0) ||
	    metrics_family(m, METRICS_GAUGE, "ok", "x", "a,b,c", NULL, 0) ||
	    metrics_family(m, METRICS_GAUGE, "ok", "x", "a-b", NULL, 0) ||
	    metrics_family(m, METRICS_HISTOGRAM, "ok", "x", NULL, unsorted,
	    2))
		errx(1, "a bad family was taken");
	c = metrics_family(m, METRICS_COUNTER, "events_total", "Events seen.",
	    NULL, NULL, 0);
	g = metrics_family(m, METRICS_GAUGE, "things", "Things, by kind.",
	    "kind", NULL, 0);
	h = metrics_family(m, METRICS_HISTOGRAM, "wait_seconds", "Waits.",
	    "queue", bounds, 3);
	two = metrics_family(m, METRICS_GAUGE, "pair_bytes", "Pairs.",
	    "framework_id,task_id", NULL, 0);
	gone = metrics_family(m, METRICS_GAUGE, "gone", "Cleared.", "kind",
	    NULL, 0);
	if (!c || !g || !h || !two || !gone)
		errx(1, "a good family was refused");
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
	if ((text = metrics_render(m, "test_", &len)) == NULL)
		errx(1, "metrics_render");
	fwrite(text, 1, len, stdout);
	free(text);
	metrics_destroy(m);
	return 0;
}
