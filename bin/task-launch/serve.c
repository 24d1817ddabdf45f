/*
 * --serve: a fork server.  agentd keeps one task-launch running this way
 * and has it fork a supervisor per task, so that a launch costs a fork of
 * this small process rather than an exec of task-launch (the kernel's
 * exec, the dynamic loader, glibc's start-up).  A forked supervisor runs
 * exactly what `task-launch ARGS` would.
 *
 * Standard input is a SOCK_SEQPACKET socket, one message per request or
 * reply (task-launch(8), FORK SERVER):
 *   server -> client  "ready"                     once, at start
 *   client -> server  "launch\0LOG\0ARG0\0ARG1\0...\0"  (parse_request)
 *   server -> client  "pid N" | "error TEXT"      the reply to each launch
 *   server -> client  "exit N STATUS"             a supervisor has ended
 *   client -> server  "resize\0ID\0CPUS\0MEM\0"  (parse_resize)
 *   server -> client  "ok" | "error CODE TEXT"    the reply to each resize
 * End of file on the socket ends the server; supervisors still running
 * carry on without it (their parent becomes init).
 */
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "task-launch.h"

#define NSS_PRELOAD_GROUPS 64	/* enough for root's; more are not needed */
#define RESIZE_REQ	"resize"	/* with its NUL: a resize request */

bool	 tl_served;	/* this supervisor was forked by the server */

/* Send one reply message; the client gone means the end (EPIPE). */
static void __attribute__((format(printf, 2, 3)))
reply(int sock, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	if (send(sock, buf, n, MSG_NOSIGNAL) == -1 && errno != EINTR)
		exit(0);
}

/*
 * In the forked supervisor: the process agentd's posix_spawn would have
 * made (stdin /dev/null, stdout and stderr appended to log, no signal
 * blocked, getopt fresh), then the launch itself.
 */
static void __attribute__((noreturn))
run_launch(int sock, int sigfd, const sigset_t *old, const char *log,
    int argc, char **argv, int (*launch)(int, char **))
{
	int fd, status;

	close(sigfd);
	if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0640)) == -1) {
		warn("%s", log);
		_exit(EXIT_SYSTEM);
	}
	if (dup2(fd, STDOUT_FILENO) == -1 || dup2(fd, STDERR_FILENO) == -1)
		_exit(EXIT_SYSTEM);
	close(fd);
	/* /dev/null on stdin closes the server's socket in this process */
	if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
	    (fd != STDIN_FILENO && dup2(fd, STDIN_FILENO) == -1))
		_exit(EXIT_SYSTEM);
	if (fd != STDIN_FILENO)
		close(fd);
	if (sock != STDIN_FILENO)
		close(sock);
	sigprocmask(SIG_SETMASK, old, NULL);
	tl_served = true;
	optind = 0;		/* glibc: re-initialise getopt completely */
	status = launch(argc, argv);
	/*
	 * The server's exit handlers and the libraries' destructors are the
	 * server's to run, once: in a supervisor that ends well they would
	 * only write to pages it shares with the server (a dozen page faults
	 * a launch).  Under ASan, LeakSanitizer's check first.
	 */
	TL_LEAK_CHECK();
	fflush(NULL);
	_exit(status);
}

/*
 * A resize request MSG of LEN bytes: set the limits of running task ID's
 * cgroup (the one a launch with --id ID made below the default parent)
 * to CPUS and MEM, as its launch would have, with cg_limit; answer "ok"
 * or "error CODE TEXT".  A memory limit below what the task uses is
 * refused and the old one kept (cgroup.c, v1_mem_limit, v2_mem_limit).
 */
static void
serve_resize(int sock, const char *msg, size_t len)
{
	struct launch	 l;
	struct cgroups	*cg;
	const char	*code, *why;
	char		 buf[TL_REASON_MAX];

	memset(&l, 0, sizeof(l));
	if (parse_resize(msg, len, &l, &code, &why) == -1) {
		reply(sock, "error %s %s", code, why);
		return;
	}
	if ((cg = cg_discover(TL_CGROUP_ROOT, TL_CGROUP_PARENT, buf,
	    sizeof(buf))) == NULL) {
		reply(sock, "error %s %s", TL_E_UNKNOWN, buf);
		return;
	}
	l.applied = l.reset = ISO_BIT(ISO_MEMORY) | ISO_BIT(ISO_CPU);
	if (cg_open(cg, l.id) == 0)
		reply(sock, "error %s no task cgroup %s", TL_E_UNKNOWN, l.id);
	else if (cg_limit(cg, &l, buf, sizeof(buf)) == -1)
		reply(sock, "error %s %s", errno == EBUSY ? TL_E_BUSY :
		    TL_E_SYSTEM, buf);
	else
		reply(sock, "ok");
	cg_destroy(cg);
}

/*
 * What every launch would do the same, done here once and inherited by
 * every launcher forked from this server:
 * - the name service's modules loaded, so that a launcher looks its
 *   task's user and groups up without a dlopen of them (with "files
 *   systemd" in nsswitch.conf, libnss_systemd and the libraries it
 *   needs: under dlopen, 23% of task-launch's samples in a perf record
 *   -a of t/bench/throughput, docs/benchmarks.md); getgrouplist asks
 *   every group service;
 * - jansson's hash seed, which its first JSON object (the status file's)
 *   would read from /dev/urandom.
 */
static void
preload(void)
{
	gid_t	 groups[NSS_PRELOAD_GROUPS];
	int	 n = NSS_PRELOAD_GROUPS;

	(void)getpwnam("root");
	(void)getgrouplist("root", 0, groups, &n);
	json_object_seed(0);
}

/*
 * Serve launch and resize requests on standard input until end of file.  ARGC0 and
 * ARGV0 are the server's own, whose memory the supervisors' process
 * titles reuse.  Returns the exit status (100 when standard input is not
 * a SOCK_SEQPACKET socket).
 */
int
serve_run(int (*launch)(int, char **), int argc0, char *argv0[])
{
	static char	 msg[PROTO_LAUNCH_REQ_MAX];
	struct signalfd_siginfo si;
	struct pollfd	 pfd[2];
	sigset_t	 chld, old;
	char		*argv[SERVE_ARGS_MAX], *log;
	const char	*why;
	socklen_t	 optlen = sizeof(int);
	ssize_t		 n;
	pid_t		 pid;
	int		 sock = STDIN_FILENO, type, sigfd, argc, status;

	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &optlen) == -1 ||
	    type != SOCK_SEQPACKET) {
		warnx("--serve: standard input is not a SOCK_SEQPACKET socket");
		return EXIT_USAGE;
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, &old) == -1 ||
	    (sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		err(EXIT_SYSTEM, "signalfd");
	setproctitle_init(argc0, argv0, environ);
	preload();
	reply(sock, "ready");
	for (;;) {
		pfd[0].fd = sock;
		pfd[0].events = POLLIN;
		pfd[1].fd = sigfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			err(EXIT_SYSTEM, "poll");
		}
		if (pfd[1].revents & POLLIN) {
			while (read(sigfd, &si, sizeof(si)) > 0)
				;
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				reply(sock, "exit %ld %d", (long)pid, status);
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if ((n = recv(sock, msg, sizeof(msg), MSG_TRUNC)) == -1) {
			if (errno == EINTR)
				continue;
			err(EXIT_SYSTEM, "recv");
		}
		if (n == 0)
			return 0;
		if ((size_t)n > sizeof(msg)) {
			reply(sock, "error request longer than %zu bytes",
			    sizeof(msg));
			continue;
		}
		if ((size_t)n >= sizeof(RESIZE_REQ) &&
		    memcmp(msg, RESIZE_REQ, sizeof(RESIZE_REQ)) == 0) {
			serve_resize(sock, msg, n);
			continue;
		}
		if ((argc = parse_request(msg, n, &log, argv, SERVE_ARGS_MAX,
		    &why)) == -1) {
			reply(sock, "error %s", why);
			continue;
		}
		if ((pid = fork()) == -1)
			reply(sock, "error fork: %s", strerror(errno));
		else if (pid == 0)
			run_launch(sock, sigfd, &old, log, argc, argv, launch);
		else
			reply(sock, "pid %ld", (long)pid);
	}
}
