/*
 * command: the command cluster-elect runs while it leads: checked before
 * the election, started with the lease in its environment, stopped (its
 * whole process group) when leadership ends.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster-elect.h"
#include "log.h"
#include "util.h"

#define STOP_GRACE_MS	2000	/* SIGTERM to SIGKILL when stopping */
#define STOP_POLL_MS	10
#define FDS_MAX		1024	/* descriptors looked at for inheritance */

extern char **environ;

static unsigned char inherited[FDS_MAX];	/* descriptors open at start */

/*
 * Mark close-on-exec every descriptor we opened ourselves but KEEP: the
 * ZooKeeper client leaves its socket and pipes inheritable, and a command
 * holding our session's socket would outlive us with it.
 */
static void
fds_close_ours_on_exec(int keep)
{
	int fd, fl;

	for (fd = 3; fd < (int)sizeof(inherited); fd++)
		if (!inherited[fd] && fd != keep &&
		    (fl = fcntl(fd, F_GETFD)) != -1 && !(fl & FD_CLOEXEC))
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

const char *
command_endpoint(char **cmd)
{
	int i;

	for (i = 1; cmd[i] != NULL; i++) {
		if (strcmp(cmd[i], "--") == 0)
			break;
		if ((strcmp(cmd[i], "--listen") == 0 || strcmp(cmd[i], "-l") == 0))
			return cmd[i + 1];
		if (strncmp(cmd[i], "--listen=", 9) == 0)
			return cmd[i] + 9;
		if (strncmp(cmd[i], "-l", 2) == 0 && cmd[i][2] != '\0')
			return cmd[i] + 2;
	}
	return NULL;
}

void
command_note_fds(void)
{
	int fd;

	for (fd = 0; fd < (int)sizeof(inherited); fd++)
		inherited[fd] = fcntl(fd, F_GETFD) != -1;
}

void
command_check(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX], *dirs, *p, *d;
	int found = 0;

	if (strchr(cmd, '/') != NULL) {
		if (access(cmd, X_OK) == 0)
			return;
		err(errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, "%s", cmd);
	}
	if ((dirs = strdup(path ? path : "/usr/bin:/bin")) == NULL)
		err(EXIT_SYSTEM, "strdup");
	for (p = dirs; (d = strsep(&p, ":")) != NULL;) {
		snprintf(buf, sizeof(buf), "%s/%s", *d ? d : ".", cmd);
		if (access(buf, X_OK) == 0) {
			free(dirs);
			return;
		}
		if (access(buf, F_OK) == 0)
			found = 1;
	}
	free(dirs);
	if (found)
		errx(EXIT_NOEXEC, "%s: not executable", cmd);
	errx(EXIT_NOTFOUND, "%s: command not found", cmd);
}

pid_t
command_start(char **cmd, int lease_fd)
{
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	char num[16];
	pid_t pid;
	int e;

	snprintf(num, sizeof(num), "%d", lease_fd);
	if (setenv(ELECT_LEASE_ENV, num, 1) == -1)
		return -1;
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGCHLD);
	sigaddset(&dflt, SIGPIPE);
	fds_close_ours_on_exec(lease_fd);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	e = posix_spawnp(&pid, cmd[0], NULL, &attr, cmd, environ);
	posix_spawnattr_destroy(&attr);
	unsetenv(ELECT_LEASE_ENV);
	if (e != 0) {
		errno = e;
		return -1;
	}
	return pid;
}

int
command_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return EXIT_SIGNALED + WTERMSIG(st);
	return EXIT_SYSTEM;
}

int
command_stop(pid_t pid)
{
	int64_t until = now_ms() + STOP_GRACE_MS;
	int st = 0;

	kill(-pid, SIGTERM);
	kill(-pid, SIGCONT);	/* a stopped group cannot act on SIGTERM */
	for (;;) {
		pid_t p = waitpid(pid, &st, WNOHANG);

		if (p == pid || (p == -1 && errno != EINTR))
			break;
		if (now_ms() >= until) {
			log_warnx("command %d ignored SIGTERM for %d ms: "
			    "SIGKILL", (int)pid, STOP_GRACE_MS);
			kill(-pid, SIGKILL);
			while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
				;
			break;
		}
		usleep(STOP_POLL_MS * 1000);
	}
	/* whatever else of the group is left goes too */
	kill(-pid, SIGKILL);
	return st;
}
