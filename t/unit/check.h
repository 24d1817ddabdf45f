/*
 * The unit test drivers' one assertion: check(NAME, OK) prints "ok NAME"
 * or "FAIL NAME"; a driver exits with `failed` as its status.
 */
#ifndef CLUSTER_UNIT_CHECK_H
#define CLUSTER_UNIT_CHECK_H

#include <stdio.h>

static int failed;

static void
check(const char *name, int ok)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", name);
	if (!ok)
		failed = 1;
}

#endif
