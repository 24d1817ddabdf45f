/*
 * cluster-elect: run a command while holding leadership of an election
 * (ZooKeeper or a lock file), and stop it as soon as leadership is no
 * longer certain.  See cluster-elect(8).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elect.h"
#include "log.h"
#include "sig.h"
#include "util.h"

#define EX_USAGE_	100
#define EX_SYSTEM	111
#define EX_NOEXEC	126
#define EX_NOTFOUND	127
#define SESSION_DEFAULT	"2s"
#define SESSION_MIN_MS	100
#define SESSION_MAX_MS	3600000
#define STOP_GRACE_MS	2000	/* SIGTERM to SIGKILL when stopping */
#define REJOIN_MS	1000	/* a standby that lost its session */

extern char **environ;

static unsigned char inherited[1024];	/* descriptors open at start */

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: cluster-elect [-dv] [-e endpoint] "
	    "[-s session-timeout] (-z zk-url | -l lockfile)\n"
	    "                     -- command [arg ...]\n");
}

/*
 * The endpoint the command will serve on, from its --listen/-l argument
 * ("--listen X", "--listen=X", "-l X", "-lX"); NULL when it has none.
 */
static const char *
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

/* The master string for a -l argument: lock:// and an absolute path. */
static void
lock_url(const char *arg, char *buf, size_t len)
{
	char cwd[PATH_MAX];

	if (strncmp(arg, "lock://", 7) == 0)
		strlcpy(buf, arg, len);
	else if (arg[0] == '/')
		snprintf(buf, len, "lock://%s", arg);
	else if (getcwd(cwd, sizeof(cwd)) != NULL)
		snprintf(buf, len, "lock://%s/%s", cwd, arg);
	else
		err(EX_SYSTEM, "getcwd");
}

/* Note which descriptors we were given, to pass on to the command. */
static void
fds_note_inherited(void)
{
	int fd;

	for (fd = 0; fd < (int)sizeof(inherited); fd++)
		inherited[fd] = fcntl(fd, F_GETFD) != -1;
}

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

/*
 * Exit 127 (or 126) at once when CMD cannot be found (or is not
 * executable) on PATH, rather than after winning an election.
 */
static void
command_check(const char *cmd)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX], *dirs, *p, *d;
	int found = 0;

	if (strchr(cmd, '/') != NULL) {
		if (access(cmd, X_OK) == 0)
			return;
		err(errno == ENOENT ? EX_NOTFOUND : EX_NOEXEC, "%s", cmd);
	}
	if ((dirs = strdup(path ? path : "/usr/bin:/bin")) == NULL)
		err(EX_SYSTEM, "strdup");
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
		errx(EX_NOEXEC, "%s: not executable", cmd);
	errx(EX_NOTFOUND, "%s: command not found", cmd);
}

/*
 * Start CMD in its own process group with the lease descriptor LEASE_FD
 * named in its environment.  Returns its pid, or -1 with errno set.
 */
static pid_t
spawn_command(char **cmd, int lease_fd)
{
	posix_spawnattr_t attr;
	sigset_t none, dflt;
	char num[16];
	pid_t pid;
	int e;

	snprintf(num, sizeof(num), "%d", lease_fd);
	if (setenv(ELECT_LEASE_ENV, num, 1) == -1)
		log_fatal("setenv");
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

/* The exit status that tells how wait status ST ended. */
static int
status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EX_SYSTEM;
}

/*
 * Stop the command PID and its process group: SIGTERM, then SIGKILL after
 * STOP_GRACE_MS.  Returns its wait status.
 */
static int
stop_command(pid_t pid)
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
		usleep(10000);
	}
	/* whatever else of the group is left goes too */
	kill(-pid, SIGKILL);
	return st;
}

/* Join URL, waiting REJOIN_MS between tries while a signal allows. */
static struct elect *
join(const struct elect_url *url, int64_t session_ms, int first)
{
	char e[ELECT_ERRLEN];
	struct elect *el;

	for (;;) {
		if ((el = elect_join(url, session_ms, e)) != NULL)
			return el;
		if (first)
			errx(EX_SYSTEM, "%s", e);
		log_warnx("%s; trying again", e);
		if (sig_take(SIGTERM) || sig_take(SIGINT))
			exit(0);
		usleep(REJOIN_MS * 1000);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'd' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'H' },
		{ "lock", required_argument, NULL, 'l' },
		{ "session-timeout", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "zk", required_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 }
	};
	const char *endpoint = NULL, *where = NULL, *errstr;
	char master[PATH_MAX + 16], e[ELECT_ERRLEN];
	int ch, fg = 0, verbose = 0, lease_fd, st, sigfd;
	int64_t session_ms, lease_until = 0;
	volatile int64_t *lease;
	struct elect_url url;
	struct elect *el;
	pid_t child = -1;
	char **cmd;

	fds_note_inherited();
	if (duration_parse(SESSION_DEFAULT, &session_ms, &errstr) == -1)
		errx(EX_SYSTEM, "default session timeout: %s", errstr);
	while ((ch = getopt_long(argc, argv, "+de:l:s:vz:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			fg = 1;
			break;
		case 'e':
			endpoint = optarg;
			break;
		case 'H':
			usage(stdout);
			return 0;
		case 'l':
			if (where != NULL)
				errx(EX_USAGE_, "give one of -z and -l");
			lock_url(optarg, master, sizeof(master));
			where = master;
			break;
		case 's':
			if (duration_parse(optarg, &session_ms, &errstr) == -1)
				errx(EX_USAGE_, "session timeout '%s': %s", optarg,
				    errstr);
			if (session_ms < SESSION_MIN_MS || session_ms > SESSION_MAX_MS)
				errx(EX_USAGE_, "session timeout '%s': want %dms "
				    "to %dms", optarg, SESSION_MIN_MS,
				    SESSION_MAX_MS);
			break;
		case 'v':
			verbose++;
			break;
		case 'z':
			if (where != NULL)
				errx(EX_USAGE_, "give one of -z and -l");
			if (strncmp(optarg, "zk://", 5) != 0)
				errx(EX_USAGE_, "'%s': want zk://HOST:PORT[,HOST:PORT"
				    "...]/PATH", optarg);
			where = optarg;
			break;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	cmd = argv + optind;
	if (where == NULL) {
		warnx("no election: give -z zk-url or -l lockfile");
		usage(stderr);
		return EX_USAGE_;
	}
	if (*cmd == NULL) {
		warnx("no command given");
		usage(stderr);
		return EX_USAGE_;
	}
	if (elect_url_parse(where, &url, e) == -1)
		errx(EX_USAGE_, "%s", e);
	if (endpoint == NULL && (endpoint = command_endpoint(cmd)) == NULL)
		errx(EX_USAGE_, "no endpoint to publish: give -e endpoint or "
		    "a --listen argument to the command");
	if (strlen(endpoint) >= ELECT_ENDPOINT_MAX ||
	    strcspn(endpoint, " \t\n") != strlen(endpoint) || *endpoint == '\0')
		errx(EX_USAGE_, "endpoint '%s': empty, too long or has blanks",
		    endpoint);

	command_check(cmd[0]);
	log_init("cluster-elect", fg, verbose);
	elect_set_verbose(verbose);
	if ((lease_fd = elect_lease_create(&lease, e)) == -1)
		errx(EX_SYSTEM, "%s", e);
	if ((sigfd = sig_init((int[]){ SIGTERM, SIGINT, SIGHUP, SIGCHLD },
	    4)) == -1)
		err(EX_SYSTEM, "signals");

	el = join(&url, session_ms, 1);
	log_info("candidate for %s (session timeout %lld ms), will run %s "
	    "serving %s", where, (long long)elect_session_ms(el), cmd[0],
	    endpoint);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = elect_fd(el), .events = POLLIN },
		};
		enum elect_state state;
		int term;

		if (poll(pfd, 2, elect_tick_ms(el)) == -1 && errno != EINTR)
			log_fatal("poll");
		sig_drain();
		if (child > 0 && sig_take(SIGCHLD)) {
			pid_t p = waitpid(child, &st, WNOHANG);

			if (p == child) {
				__atomic_store_n(lease, 0, __ATOMIC_RELEASE);
				kill(-child, SIGKILL);	/* its leftovers */
				elect_leave(el);
				if (elect_clock_ms() >= lease_until) {
					/* it saw the lease end before we did */
					log_warnx("no longer sure to lead: lease "
					    "expired; %s exited (status %d)", cmd[0],
					    status_code(st));
					return EX_SYSTEM;
				}
				log_warnx("command %s exited (status %d): giving up "
				    "leadership", cmd[0], status_code(st));
				return status_code(st);
			}
		}
		term = sig_take(SIGTERM) ? SIGTERM : sig_take(SIGINT) ? SIGINT : 0;
		if (term) {
			log_info("signal %d: stopping", term);
			__atomic_store_n(lease, 0, __ATOMIC_RELEASE);
			if (child > 0)
				stop_command(child);
			elect_leave(el);
			return 0;
		}
		if (sig_take(SIGHUP)) {
			if (child > 0)
				kill(-child, SIGHUP);
		}
		state = elect_poll(el, &lease_until, e);
		if (state == ELECT_LOST && child > 0) {
			/* revoke first: the command stops acting at once */
			__atomic_store_n(lease, 0, __ATOMIC_RELEASE);
			log_warnx("no longer sure to lead: %s; stopping %s",
			    e, cmd[0]);
			stop_command(child);
			elect_leave(el);
			return EX_SYSTEM;
		}
		if (state == ELECT_LOST) {
			log_warnx("standby: %s; joining again", e);
			elect_leave(el);
			usleep(REJOIN_MS * 1000);
			el = join(&url, session_ms, 0);
			continue;
		}
		if (state != ELECT_LEADER)
			continue;
		__atomic_store_n(lease, lease_until, __ATOMIC_RELEASE);
		if (child > 0)
			continue;
		if ((child = spawn_command(cmd, lease_fd)) == -1) {
			st = errno;
			log_warn("cannot run %s", cmd[0]);
			elect_leave(el);
			return st == ENOENT ? EX_NOTFOUND : EX_NOEXEC;
		}
		if (elect_publish(el, endpoint, child, e) == -1)
			log_warnx("%s", e);
		log_warnx("leading %s: started %s (pid %d) serving %s", where,
		    cmd[0], (int)child, endpoint);
	}
}
