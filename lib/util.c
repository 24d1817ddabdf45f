#include <sys/random.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto.h"
#include "util.h"

int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int
strfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * The bits come from getrandom(2), not arc4random(3): libbsd's
 * arc4random starts afresh at every call in a process whose pid is 1,
 * which an executor is in its own pid namespace (a key from the kernel
 * and a block of ChaCha20 each time, 7 us a call against 0.14 us, and
 * half of the executor's CPU at two ids a task).  One system call is
 * all an id needs.
 */
char *
id_new(const char *prefix, char *buf, size_t len)
{
	uint64_t r;
	ssize_t n;

	while ((n = getrandom(&r, sizeof(r), 0)) == -1 && errno == EINTR)
		continue;
	if (n != (ssize_t)sizeof(r))	/* no getrandom (before Linux 3.17) */
		r = ((uint64_t)arc4random() << 32) | arc4random();
	snprintf(buf, len, "%s-%012llx", prefix,
	    (unsigned long long)(r & 0xffffffffffffULL));
	return buf;
}

int
id_valid(const char *s)
{
	size_t i;

	/* ids name files under work dirs: ".", ".." and hidden names never */
	if (s[0] == '.')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
			return 0;
	return i > 0 && i < 64;
}

const char *
master_endpoint(const char *arg)
{
	const char *e;

	if (arg != NULL && *arg != '\0')
		return arg;
	if ((e = getenv("CLUSTER_MASTER")) != NULL && *e != '\0')
		return e;
	return CLUSTER_MASTER_DEFAULT;
}

int
duration_parse(const char *s, int64_t *ms, const char **errstr)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
		*errstr = "empty";
		return -1;
	}
	v = strtod(s, &end);
	if (end == s || !(v >= 0) || v > 1e9) {
		*errstr = "not a non-negative number";
		return -1;
	}
	if (strcmp(end, "ms") == 0)
		;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		v *= 1000;
	else if (strcmp(end, "m") == 0)
		v *= 60000;
	else if (strcmp(end, "h") == 0)
		v *= 3600000;
	else {
		*errstr = "unknown unit (use ms, s, m or h)";
		return -1;
	}
	*ms = (int64_t)v;
	return 0;
}

int
task_state_valid(const char *s)
{
	return task_state_terminal(s) || (s != NULL &&
	    (strcmp(s, "TASK_STAGING") == 0 || strcmp(s, "TASK_STARTING") == 0 ||
	    strcmp(s, "TASK_RUNNING") == 0 ||
	    strcmp(s, "TASK_UNREACHABLE") == 0));
}

int
task_state_terminal(const char *s)
{
	return s != NULL && (strcmp(s, "TASK_FINISHED") == 0 ||
	    strcmp(s, "TASK_FAILED") == 0 || strcmp(s, "TASK_KILLED") == 0 ||
	    strcmp(s, "TASK_LOST") == 0 || strcmp(s, "TASK_ERROR") == 0);
}

int
mkdirs(const char *path, mode_t mode, mode_t pmode)
{
	char buf[PATH_MAX], *p;

	if (mkdir(path, mode) == 0)
		return 1;
	if (errno != ENOENT)
		return errno == EEXIST ? 0 : -1;
	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, pmode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, mode) == 0)
		return 1;
	return errno == EEXIST ? 0 : -1;
}

char *
sibling_program(const char *name, const char *fallback, char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(buf, len, "%s/%s", dirname(self), name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	strlcpy(buf, fallback, len);
	return buf;
}


long long
proc_cpu_ticks(int pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, st;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* the command may hold spaces and parentheses: skip past the last ')' */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}
