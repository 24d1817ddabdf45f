/*
 * Parsing of every value on the command line, and of the fork server's
 * launch requests: everything task-launch decodes from agentd, which
 * t/fuzz/launch.c fuzzes.  Each parser returns 0 and fills its result,
 * or -1 for a malformed value (a usage error): numbers are checked for
 * trailing junk, sign, NaN/infinity and range.
 */
#include <sys/capability.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <libutil.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "task-launch.h"

#define CPUS_MAX	65536.0
#define MEM_MB_MAX	(1LL << 30)	/* one petabyte, in MB */
#define RESIZE_FIELDS	4		/* "resize", id, cpus, mem */

static const char *const iso_names[ISO_COUNT] = {
	"cgroup", "memory", "cpu", "pids",
	"pid", "mount", "ipc", "uts", "net",
	"caps", "no_new_privs", "rlimits",
};

static const struct {
	const char	*name;
	int		 resource;
} rlimit_names[] = {
	{ "as", RLIMIT_AS }, { "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA }, { "fsize", RLIMIT_FSIZE },
	{ "locks", RLIMIT_LOCKS }, { "memlock", RLIMIT_MEMLOCK },
	{ "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC },
	{ "rss", RLIMIT_RSS }, { "rtprio", RLIMIT_RTPRIO },
	{ "sigpending", RLIMIT_SIGPENDING }, { "stack", RLIMIT_STACK },
};

/* Return the isolator's name as --probe, --require and -x spell it. */
const char *
iso_name(enum iso i)
{
	return i < ISO_COUNT ? iso_names[i] : "?";
}

/* Return true when s is a non-empty run of digits, optionally with dots. */
static bool
all_digits(const char *s, bool dots)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s) && !(dots && *s == '.'))
			return false;
	return true;
}

/* Parse a positive decimal cpu count such as 1.5 (no sign, exponent, NaN). */
int
parse_cpus(const char *s, double *cpus)
{
	char	*end;
	double	 d;

	if (!all_digits(s, true))
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) || d <= 0 ||
	    d > CPUS_MAX)
		return -1;
	*cpus = d;
	return 0;
}

/* Parse a memory size: plain digits are MB, a k/m/g/t suffix is explicit. */
int
parse_mem(const char *s, uint64_t *bytes)
{
	const char	*errstr;
	long long	 mb;
	uint64_t	 n;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	if (all_digits(s, false)) {
		mb = strtonum(s, 1, MEM_MB_MAX, &errstr);
		if (errstr != NULL)
			return -1;
		*bytes = (uint64_t)mb << 20;
		return 0;
	}
	if (expand_number(s, &n) == -1 || n == 0 ||
	    n > (uint64_t)MEM_MB_MAX << 20)
		return -1;
	*bytes = n;
	return 0;
}

/* Parse one rlimit bound: "unlimited" or a number with optional suffix. */
static int
parse_rlim_value(const char *s, rlim_t *v)
{
	uint64_t n;

	if (strcmp(s, "unlimited") == 0 || strcmp(s, "infinity") == 0) {
		*v = RLIM_INFINITY;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]) || expand_number(s, &n) == -1 ||
	    n >= (uint64_t)RLIM_INFINITY)
		return -1;
	*v = (rlim_t)n;
	return 0;
}

/* Parse NAME=VALUE or NAME=SOFT:HARD, e.g. nofile=1024, core=0. */
int
parse_rlimit(const char *arg, struct rlim_opt *r)
{
	char	 buf[128], *val, *hard;
	size_t	 i;

	if (strlcpy(buf, arg, sizeof(buf)) >= sizeof(buf) ||
	    (val = strchr(buf, '=')) == NULL)
		return -1;
	*val++ = '\0';
	for (i = 0; i < sizeof(rlimit_names) / sizeof(rlimit_names[0]); i++)
		if (strcmp(buf, rlimit_names[i].name) == 0)
			break;
	if (i == sizeof(rlimit_names) / sizeof(rlimit_names[0]))
		return -1;
	r->resource = rlimit_names[i].resource;
	if ((hard = strchr(val, ':')) != NULL)
		*hard++ = '\0';
	if (parse_rlim_value(val, &r->lim.rlim_cur) == -1)
		return -1;
	if (hard == NULL)
		r->lim.rlim_max = r->lim.rlim_cur;
	else if (parse_rlim_value(hard, &r->lim.rlim_max) == -1 ||
	    r->lim.rlim_cur > r->lim.rlim_max)
		return -1;
	return 0;
}

/* Parse a comma list of isolator names into a bit set ("" is the empty set). */
int
parse_isolators(const char *arg, unsigned *set)
{
	char		*copy, *p, *name;
	unsigned	 i, bits = 0;
	int		 rc = 0;

	if ((copy = strdup(arg)) == NULL)
		return -1;
	p = copy;
	while (*arg != '\0' && (name = strsep(&p, ",")) != NULL) {
		for (i = 0; i < ISO_COUNT; i++)
			if (strcmp(name, iso_names[i]) == 0)
				break;
		if (i == ISO_COUNT) {
			rc = -1;
			break;
		}
		bits |= ISO_BIT(i);
	}
	free(copy);
	*set = bits;
	return rc;
}

/* Parse a comma list of capability names (cap_net_bind_service,...). */
int
parse_caps(const char *arg, uint64_t *keep)
{
	char		*copy, *p, *name;
	cap_value_t	 cap;
	int		 rc = 0;

	*keep = 0;
	if ((copy = strdup(arg)) == NULL)
		return -1;
	p = copy;
	while (*arg != '\0' && (name = strsep(&p, ",")) != NULL) {
		if (cap_from_name(name, &cap) == -1 || cap < 0 || cap >= 64) {
			rc = -1;
			break;
		}
		*keep |= 1ULL << cap;
	}
	free(copy);
	return rc;
}

/*
 * Check a task id: it names a cgroup directory and the hostname, so only
 * letters, digits, '.', '_' and '-', not starting with a dot, 64 at most.
 */
int
parse_id(const char *id)
{
	const char *p;

	if (id[0] == '\0' || id[0] == '.' || strlen(id) > TL_ID_MAX)
		return -1;
	for (p = id; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return -1;
	return 0;
}

/*
 * Resolve --user and --group (names or numbers) into l->uid/l->gid; the
 * user's primary group is the default group.  Returns -1 with why filled.
 */
int
parse_user(struct launch *l, char *why, size_t len)
{
	struct passwd	*pw;
	struct group	*gr;
	const char	*errstr;

	if (l->user != NULL) {
		if ((pw = getpwnam(l->user)) != NULL) {
			l->uid = pw->pw_uid;
			l->gid = pw->pw_gid;
			l->user_named = true;
		} else {
			l->uid = strtonum(l->user, 0, UINT32_MAX - 1, &errstr);
			if (errstr != NULL) {
				snprintf(why, len, "unknown user '%s'", l->user);
				return -1;
			}
			l->gid = l->uid;
		}
		l->set_uid = l->set_gid = true;
	}
	if (l->group != NULL) {
		if ((gr = getgrnam(l->group)) != NULL)
			l->gid = gr->gr_gid;
		else {
			l->gid = strtonum(l->group, 0, UINT32_MAX - 1, &errstr);
			if (errstr != NULL) {
				snprintf(why, len, "unknown group '%s'",
				    l->group);
				return -1;
			}
		}
		l->set_gid = true;
	}
	return 0;
}

/*
 * Split a fork server's launch request MSG of LEN bytes,
 * "launch\0LOG\0ARG0\0...\0", into the log path and a NULL-terminated
 * argv of at most MAX - 1 arguments (pointers into MSG, which is not
 * changed).  Returns argc, or -1 with why set.
 */
int
parse_request(char *msg, size_t len, char **log, char **argv, int max,
    const char **why)
{
	char	*p, *end = msg + len;
	int	 argc = 0;

	if (len == 0 || msg[len - 1] != '\0') {
		*why = "request does not end in NUL";
		return -1;
	}
	if (strcmp(msg, "launch") != 0) {
		*why = "unknown request";
		return -1;
	}
	p = msg + strlen(msg) + 1;
	if (p >= end) {
		*why = "request has no log path";
		return -1;
	}
	*log = p;
	for (p += strlen(p) + 1; p < end; p += strlen(p) + 1) {
		if (argc == max - 1) {
			*why = "too many arguments";
			return -1;
		}
		argv[argc++] = p;
	}
	if (argc == 0) {
		*why = "request has no arguments";
		return -1;
	}
	argv[argc] = NULL;
	return argc;
}

/*
 * Parse a fork server's resize request MSG of LEN bytes,
 * "resize\0ID\0CPUS\0MEM\0" (CPUS and MEM as --cpus and --mem take
 * them, "0": no limit), into l's id, cpus and mem_bytes.  Returns 0, or
 * -1 with why and code (E_MALFORMED, E_INVALID) set.
 */
int
parse_resize(const char *msg, size_t len, struct launch *l, const char **code,
    const char **why)
{
	const char	*f[RESIZE_FIELDS], *p = msg, *end = msg + len;
	int		 n = 0;

	*code = E_MALFORMED;
	if (len == 0 || msg[len - 1] != '\0') {
		*why = "request does not end in NUL";
		return -1;
	}
	for (; p < end; p += strlen(p) + 1) {
		if (n == RESIZE_FIELDS) {
			*why = "resize takes an id, cpus and mem";
			return -1;
		}
		f[n++] = p;
	}
	if (n != RESIZE_FIELDS || strcmp(f[0], "resize") != 0) {
		*why = "resize takes an id, cpus and mem";
		return -1;
	}
	*code = E_INVALID;
	if (parse_id(f[1]) == -1) {
		*why = "invalid id";
		return -1;
	}
	l->id = f[1];
	l->cpus = 0;
	if (strcmp(f[2], "0") != 0 && parse_cpus(f[2], &l->cpus) == -1) {
		*why = "invalid cpus";
		return -1;
	}
	l->mem_bytes = 0;
	if (strcmp(f[3], "0") != 0 && parse_mem(f[3], &l->mem_bytes) == -1) {
		*why = "invalid memory size";
		return -1;
	}
	return 0;
}
