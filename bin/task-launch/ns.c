/*
 * Namespaces: a probe that really unshares them in a throw-away child,
 * the pid namespace the supervisor enters for its one child, and the
 * rest (mount with a fresh /proc and --hide, ipc, uts with the task id as
 * hostname, net with loopback up) that the task's process unshares for
 * itself.
 */
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "task-launch.h"

static const struct {
	enum iso	 iso;
	int		 flag;
	const char	*what;
} ns_table[] = {
	{ ISO_PID,	CLONE_NEWPID,	"pid namespace" },
	{ ISO_MOUNT,	CLONE_NEWNS,	"mount namespace, private, fresh /proc" },
	{ ISO_IPC,	CLONE_NEWIPC,	"ipc namespace" },
	{ ISO_UTS,	CLONE_NEWUTS,	"uts namespace, hostname = task id" },
	{ ISO_NET,	CLONE_NEWNET,	"network namespace, loopback only" },
};
#define NS_COUNT	(sizeof(ns_table) / sizeof(ns_table[0]))
#define HIDE_TMPFS	"mode=0755,size=4k"	/* directories only */
#define HIDE_FLAGS	(MS_NOSUID | MS_NODEV | MS_NOEXEC)

/*
 * Try to unshare each namespace in want in a forked child and fill pr;
 * returns the set of namespace isolators that are available.
 */
unsigned
ns_probe(unsigned want, struct probe *pr)
{
	int	 errs[NS_COUNT], fd[2], status;
	size_t	 i;
	pid_t	 pid;
	unsigned ok = 0;

	for (i = 0; i < NS_COUNT; i++)
		errs[i] = ENOSYS;
	if (pipe2(fd, O_CLOEXEC) == -1)
		return 0;
	if ((pid = fork()) == 0) {
		close(fd[0]);
		for (i = 0; i < NS_COUNT; i++) {
			if (!(want & ISO_BIT(ns_table[i].iso)))
				continue;
			errs[i] = unshare(ns_table[i].flag) == -1 ? errno : 0;
			if (errs[i] == 0 && ns_table[i].flag == CLONE_NEWNS &&
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
				errs[i] = errno;
		}
		_exit(write(fd[1], errs, sizeof(errs)) == sizeof(errs) ? 0 : 1);
	}
	close(fd[1]);
	if (pid != -1) {
		if (read(fd[0], errs, sizeof(errs)) != sizeof(errs))
			for (i = 0; i < NS_COUNT; i++)
				errs[i] = ECHILD;
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	close(fd[0]);
	for (i = 0; i < NS_COUNT; i++) {
		if (!(want & ISO_BIT(ns_table[i].iso)))
			continue;
		pr->ok[ns_table[i].iso] = errs[i] == 0;
		if (errs[i] == 0) {
			ok |= ISO_BIT(ns_table[i].iso);
			strlcpy(pr->detail[ns_table[i].iso], ns_table[i].what,
			    sizeof(pr->detail[0]));
		} else
			snprintf(pr->detail[ns_table[i].iso],
			    sizeof(pr->detail[0]), "unshare: %s",
			    strerror(pid == -1 ? errno : errs[i]));
	}
	return ok;
}

/* Make the supervisor's next child pid 1 of a new pid namespace. */
int
ns_enter_pid(void)
{
	TL_LEAK_CHECK();	/* the last moment it can */
	return unshare(CLONE_NEWPID);
}

/* Bring the loopback interface of a new network namespace up. */
static int
loopback_up(void)
{
	struct ifreq	 ifr;
	int		 s, rc = -1;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return rc;
}

/*
 * In the task's mount namespace: cover l->hide with an empty read-only
 * tmpfs in which only the sandbox appears, at its own path, so that the
 * task sees nothing else of the tree it is in (other tasks' sandboxes,
 * agentd's files).  Only system calls: the task's process shares the
 * supervisor's memory.  -1 with why filled.
 */
static int
ns_hide(const struct launch *l, char *why, size_t len)
{
	char	 path[PATH_MAX], *p;

	/* the working directory keeps the sandbox at hand under the tmpfs */
	if (chdir(l->sandbox) == -1) {
		snprintf(why, len, "chdir %s: %s", l->sandbox, strerror(errno));
		return -1;
	}
	if (mount("tmpfs", l->hide, "tmpfs", HIDE_FLAGS, HIDE_TMPFS) == -1) {
		snprintf(why, len, "hide %s: %s", l->hide, strerror(errno));
		return -1;
	}
	if (strlcpy(path, l->sandbox, sizeof(path)) >= sizeof(path)) {
		snprintf(why, len, "hide %s: path too long", l->hide);
		return -1;
	}
	for (p = path + strlen(l->hide) + 1; (p = strchr(p, '/')) != NULL;
	    p++) {
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(path, 0755) == -1 ||
	    mount(".", path, NULL, MS_BIND | MS_REC, NULL) == -1 ||
	    mount(NULL, l->hide, NULL, MS_REMOUNT | MS_RDONLY | HIDE_FLAGS,
	    NULL) == -1)
		goto fail;
	return 0;
fail:
	snprintf(why, len, "hide %s but %s: %s", l->hide, path,
	    strerror(errno));
	return -1;
}

/*
 * In the task's process: unshare the applied mount, ipc, uts and net
 * namespaces, make mounts private and mount a fresh /proc (when in a new
 * pid namespace) and the --hide tmpfs, set the hostname, raise
 * loopback.  -1 with why filled.
 */
int
ns_setup(const struct launch *l, char *why, size_t len)
{
	int	 flags = 0;
	size_t	 i;

	for (i = 0; i < NS_COUNT; i++)
		if (ns_table[i].flag != CLONE_NEWPID &&
		    (l->applied & ISO_BIT(ns_table[i].iso)))
			flags |= ns_table[i].flag;
	if (flags != 0 && unshare(flags) == -1) {
		snprintf(why, len, "unshare: %s", strerror(errno));
		return -1;
	}
	if (flags & CLONE_NEWNS) {
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1) {
			snprintf(why, len, "make / private: %s",
			    strerror(errno));
			return -1;
		}
		if ((l->applied & ISO_BIT(ISO_PID)) && mount("proc", "/proc",
		    "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == -1) {
			snprintf(why, len, "mount /proc: %s", strerror(errno));
			return -1;
		}
		if (l->hide != NULL && ns_hide(l, why, len) == -1)
			return -1;
	}
	if ((flags & CLONE_NEWUTS) && sethostname(l->id, strlen(l->id)) == -1) {
		snprintf(why, len, "sethostname: %s", strerror(errno));
		return -1;
	}
	if ((flags & CLONE_NEWNET) && loopback_up() == -1) {
		snprintf(why, len, "loopback up: %s", strerror(errno));
		return -1;
	}
	return 0;
}
