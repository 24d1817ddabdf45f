/*
 * die: what ends a program, kept out of libcluster so that the library
 * never exits (a framework linked with it decides that for itself).  The
 * fatal log calls of log.h and the option and pid file helpers of util.h
 * are here; the Makefile links this file into the programs, the
 * benchmarks and the examples only (build/libprog.a).
 */
#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <bsd/libutil.h>

#include "exits.h"
#include "log.h"
#include "proto.h"
#include "util.h"

void
log_fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vcrit(e, fmt, ap);
	va_end(ap);
	exit(EXIT_SYSTEM);
}

void
log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vcrit(0, fmt, ap);
	va_end(ap);
	exit(EXIT_SYSTEM);
}

int64_t
duration_arg(const char *name, const char *arg)
{
	const char *errstr;
	int64_t ms;

	if (duration_parse(arg, &ms, &errstr) == -1)
		errx(EXIT_USAGE, "%s '%s': %s", name, arg, errstr);
	return ms;
}

int64_t
duration_arg_min(const char *name, const char *arg, int64_t min_ms)
{
	int64_t ms = duration_arg(name, arg);

	if (ms < min_ms)
		errx(EXIT_USAGE, "%s must be at least %lldms", name,
		    (long long)min_ms);
	return ms;
}

void
version_exit(const char *prog)
{
	printf("%s %s (cluster protocol %d)\n", prog, CLUSTER_VERSION,
	    PROTO_VERSION);
	exit(0);
}

int64_t
size_arg(const char *name, const char *arg, int64_t min)
{
	uint64_t n;

	if (expand_number(arg, &n) == -1 || n > INT64_MAX)
		errx(EXIT_USAGE, "%s '%s': want a size such as 65536, 64k or "
		    "16M", name, arg);
	if ((int64_t)n < min)
		errx(EXIT_USAGE, "%s must be at least %lld bytes", name,
		    (long long)min);
	return (int64_t)n;
}

struct pidfh *
pidfile_take(const char *path)
{
	struct pidfh *pfh;
	pid_t other;

	if (path == NULL)
		return NULL;
	if ((pfh = pidfile_open(path, 0644, &other)) == NULL) {
		if (errno == EEXIST)
			log_fatalx("already running as pid %d", (int)other);
		log_fatal("pid file %s", path);
	}
	return pfh;
}
