/*
 * Capabilities with libcap: everything is dropped from the bounding,
 * permitted, effective, inheritable and ambient sets except --caps, which
 * stay effective across the exec, also for a non-root --user (ambient).
 * Also no_new_privs and the probe of these and of rlimits.
 */
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "task-launch.h"

enum { P_CAPS, P_NNP, P_RLIMITS, P_COUNT };

/*
 * Try, in a forked child, to drop a capability from the bounding set, to
 * set no_new_privs and to set an rlimit; fill pr for caps, no_new_privs
 * and rlimits.
 */
void
caps_probe(struct probe *pr)
{
	static const enum iso isos[P_COUNT] = { ISO_CAPS, ISO_NNP, ISO_RLIMITS };
	static const char *const what[P_COUNT] = {
		"libcap: bounding, permitted, effective, inheritable, ambient",
		"prctl PR_SET_NO_NEW_PRIVS",
		"setrlimit",
	};
	struct rlimit	 rl;
	cap_t		 none;
	int		 errs[P_COUNT], fd[2], status, i;
	pid_t		 pid;

	for (i = 0; i < P_COUNT; i++)
		errs[i] = ECHILD;
	if (pipe2(fd, O_CLOEXEC) == -1)
		return;
	if ((pid = fork()) == 0) {
		close(fd[0]);
		errs[P_CAPS] = 0;
		if (cap_drop_bound(CAP_SYS_BOOT) == -1)
			errs[P_CAPS] = errno;
		else if ((none = cap_init()) == NULL || cap_set_proc(none) == -1)
			errs[P_CAPS] = errno;
		errs[P_NNP] = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ?
		    errno : 0;
		errs[P_RLIMITS] = getrlimit(RLIMIT_CORE, &rl) == -1 ||
		    setrlimit(RLIMIT_CORE, &rl) == -1 ? errno : 0;
		_exit(write(fd[1], errs, sizeof(errs)) == sizeof(errs) ? 0 : 1);
	}
	close(fd[1]);
	if (pid != -1) {
		if (read(fd[0], errs, sizeof(errs)) != sizeof(errs))
			for (i = 0; i < P_COUNT; i++)
				errs[i] = ECHILD;
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	close(fd[0]);
	for (i = 0; i < P_COUNT; i++) {
		pr->ok[isos[i]] = errs[i] == 0;
		if (errs[i] == 0)
			strlcpy(pr->detail[isos[i]], what[i],
			    sizeof(pr->detail[0]));
		else
			snprintf(pr->detail[isos[i]], sizeof(pr->detail[0]),
			    "%s", strerror(errs[i]));
	}
}

/*
 * Drop every capability not kept from the bounding set; must run while
 * still root (it needs CAP_SETPCAP).  Returns -1 with why filled.
 */
int
caps_drop_bound(const struct launch *l, char *why, size_t len)
{
	cap_value_t c, max = cap_max_bits();

	for (c = 0; c < max; c++)
		if (!(c < 64 && (l->keep_caps & (1ULL << c))) &&
		    cap_drop_bound(c) == -1) {
			snprintf(why, len, "drop capability %d from bounding "
			    "set: %s", c, strerror(errno));
			return -1;
		}
	return 0;
}

/*
 * In the supervisor, before the clone: the permitted, effective and
 * inheritable sets of the task, the kept capabilities (libcap allocates,
 * which the task's process must not).  Returns -1 with why filled.
 */
int
caps_prepare(struct launch *l, char *why, size_t len)
{
	cap_value_t	 c, max = cap_max_bits();
	cap_t		 caps;

	if ((caps = cap_init()) == NULL) {
		snprintf(why, len, "cap_init: %s", strerror(errno));
		return -1;
	}
	for (c = 0; c < max && c < 64; c++) {
		if (!(l->keep_caps & (1ULL << c)))
			continue;
		if (cap_set_flag(caps, CAP_PERMITTED, 1, &c, CAP_SET) == -1 ||
		    cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, CAP_SET) == -1 ||
		    cap_set_flag(caps, CAP_INHERITABLE, 1, &c, CAP_SET) == -1) {
			snprintf(why, len, "capability %d: %s", c,
			    strerror(errno));
			cap_free(caps);
			return -1;
		}
	}
	l->caps = caps;
	return 0;
}

/* The sets caps_prepare made, once the task's process has them. */
void
caps_release(struct launch *l)
{
	if (l->caps != NULL)
		cap_free(l->caps);
	l->caps = NULL;
}

/*
 * After the user switch: set permitted, effective and inheritable to the
 * kept capabilities (caps_prepare) and raise them as ambient, so that
 * they survive the exec for a non-root user too.  Returns -1 with why
 * filled.
 */
int
caps_apply(const struct launch *l, char *why, size_t len)
{
	cap_value_t	 c, max = cap_max_bits();

	if (cap_set_proc(l->caps) == -1) {
		snprintf(why, len, "set capabilities: %s", strerror(errno));
		return -1;
	}
	/* one prctl; cap_reset_ambient asks about every capability first */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		snprintf(why, len, "reset ambient capabilities: %s",
		    strerror(errno));
		return -1;
	}
	for (c = 0; c < max && c < 64; c++)
		if ((l->keep_caps & (1ULL << c)) &&
		    cap_set_ambient(c, CAP_SET) == -1) {
			snprintf(why, len, "raise ambient capability %d: %s",
			    c, strerror(errno));
			return -1;
		}
	return 0;
}

/* Set PR_SET_NO_NEW_PRIVS: no exec can gain privileges (setuid, file caps). */
int
caps_no_new_privs(char *why, size_t len)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(why, len, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}
