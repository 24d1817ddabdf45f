/*
 * How agentd starts a task's launcher.  When the launcher has a fork
 * server (`LAUNCHER --serve`, task-launch(8)), agentd keeps one running
 * and asks it to fork each launcher: a fork of that small process costs
 * far less than posix_spawn's exec of it.  A launcher without one (a
 * replacement that takes task-launch's arguments and nothing more) is
 * started with posix_spawn, one exec per task, as is every launch while
 * the server is down.
 *
 * The server's supervisors are its children, not ours: it reports each
 * one's end ("exit PID STATUS"), which goes to agent_reaped as a wait
 * status would.  If the server goes away, its supervisors carry on and
 * are watched like launchers adopted from an earlier run.  When the
 * launcher file changes (an upgrade), the server is replaced at the next
 * launch, so that new tasks run the new launcher.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentd.h"
#include "log.h"

#define SERVER_WAIT_MS	5000	/* for "ready" and for each reply */
#define SERVER_MSG_MAX	(128 * 1024)	/* task-launch(8): its largest request */

extern char **environ;

struct ended {
	pid_t	 pid;
	int	 status;
};

static struct {
	int		 fd;		/* -1: not running */
	pid_t		 pid;
	struct stat	 file;		/* the launcher file it runs */
	int		 refused;	/* this launcher file has no --serve */
	struct ended	*ended;		/* exit reports read during a launch */
	size_t		 nended, maxended;
} srv = { .fd = -1 };

/* Receive one message from the server within SERVER_WAIT_MS; -1 on error. */
static ssize_t
srv_recv(char *buf, size_t len)
{
	struct pollfd pfd = { .fd = srv.fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		n = poll(&pfd, 1, SERVER_WAIT_MS);
		if (n == 0)
			return -1;
		if (n == -1 && errno != EINTR)
			return -1;
		if (n == 1)
			break;
	}
	if ((n = recv(srv.fd, buf, len - 1, 0)) <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Keep an "exit PID STATUS" report for launch_server_read to hand on. */
static void
srv_note_exit(const char *msg)
{
	struct ended *e;
	int pid, status;

	if (sscanf(msg, "exit %d %d", &pid, &status) != 2)
		return;
	if (srv.nended == srv.maxended) {
		srv.maxended = srv.maxended ? 2 * srv.maxended : 64;
		if ((e = reallocarray(srv.ended, srv.maxended,
		    sizeof(*e))) == NULL)
			log_fatal("launcher server reports");
		srv.ended = e;
	}
	srv.ended[srv.nended].pid = pid;
	srv.ended[srv.nended].status = status;
	srv.nended++;
}

/*
 * Read what the server has sent without waiting: 0 when there is no more
 * for now, -1 when it has gone (end of file or an error, in why).
 */
static int
srv_drain(const char **why)
{
	char buf[512];
	ssize_t n;

	for (;;) {
		n = recv(srv.fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			*why = n == 0 ? "it exited" : strerror(errno);
			return -1;
		}
		buf[n] = '\0';
		srv_note_exit(buf);
	}
}

/*
 * The server is gone or must go: take its last reports, close our end
 * (it exits on end of file) and from now on watch its supervisors as
 * adopted launchers.
 */
static void
srv_stop(struct agent *ag, const char *why)
{
	struct atask *t;
	size_t pos = 0;
	const char *ignored;

	if (srv.fd == -1)
		return;
	(void)srv_drain(&ignored);
	log_info("launcher server %d stops: %s", (int)srv.pid, why);
	close(srv.fd);
	srv.fd = -1;
	launch_server_read(ag);		/* the reports taken above */
	while ((t = map_next(ag->tasks, &pos, NULL)) != NULL)
		if (t->served && t->pid > 0)
			t->adopted = 1;
}

/* True when A and B are the same version of one file. */
static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Start `LAUNCHER --serve`; 0 when it said "ready", else -1. */
static int
srv_start(struct agent *ag, const struct stat *st)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { ag->launcher, "--serve", NULL }, buf[64];
	int sv[2], e;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
	    O_WRONLY, 0);
	e = posix_spawn(&srv.pid, ag->launcher, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (e != 0) {
		close(sv[0]);
		return -1;
	}
	srv.fd = sv[0];
	srv.file = *st;
	if (srv_recv(buf, sizeof(buf)) == -1 || strcmp(buf, "ready") != 0) {
		/* a launcher without --serve: usage error, or anything else */
		close(srv.fd);
		srv.fd = -1;
		kill(srv.pid, SIGKILL);
		while (waitpid(srv.pid, NULL, 0) == -1 && errno == EINTR)
			;
		srv.refused = 1;
		log_info("launcher %s has no --serve: one exec per task",
		    ag->launcher);
		return -1;
	}
	log_info("launcher server %d started", (int)srv.pid);
	return 0;
}

/*
 * Have the server fork a launcher with ARGV, output to LOG.  Returns 0
 * with *PID set, 1 when the server is not there (use posix_spawn), -1
 * with WHY filled when the fork failed.
 */
static int
srv_launch(struct agent *ag, char **argv, const char *log, pid_t *pid,
    char *why, size_t whylen)
{
	static char msg[SERVER_MSG_MAX];
	struct stat st;
	char buf[512];
	size_t off = 0, n;
	int i;

	if (stat(ag->launcher, &st) == -1)
		return 1;	/* posix_spawn says why */
	if (srv.fd != -1 && !same_file(&st, &srv.file))
		srv_stop(ag, "the launcher file changed");
	if (srv.fd == -1) {
		if (srv.refused && same_file(&st, &srv.file))
			return 1;
		srv.refused = 0;
		if (srv_start(ag, &st) == -1)
			return 1;
	}
	n = strlcpy(msg, "launch", sizeof(msg)) + 1;
	off = n;
	n = strlen(log) + 1;
	if (off + n > sizeof(msg))
		goto toolong;
	memcpy(msg + off, log, n);
	off += n;
	for (i = 0; argv[i] != NULL; i++) {
		n = strlen(argv[i]) + 1;
		if (off + n > sizeof(msg))
			goto toolong;
		memcpy(msg + off, argv[i], n);
		off += n;
	}
	if (send(srv.fd, msg, off, MSG_NOSIGNAL) == -1) {
		if (errno == EMSGSIZE)
			goto toolong;
		srv_stop(ag, strerror(errno));
		return 1;
	}
	for (;;) {
		if (srv_recv(buf, sizeof(buf)) == -1) {
			srv_stop(ag, "no reply");
			return 1;
		}
		if (strncmp(buf, "pid ", 4) == 0) {
			*pid = (pid_t)atoi(buf + 4);
			return *pid > 0 ? 0 : 1;
		}
		if (strncmp(buf, "error ", 6) == 0) {
			snprintf(why, whylen, "launcher server: %s", buf + 6);
			return -1;
		}
		srv_note_exit(buf);
	}
toolong:
	snprintf(why, whylen, "task description too long");
	return -1;
}

int
launch_start(struct agent *ag, struct atask *t, char **argv, const char *log,
    char *why, size_t whylen)
{
	posix_spawn_file_actions_t fa;
	int e;

	t->served = 0;
	switch (srv_launch(ag, argv, log, &t->pid, why, whylen)) {
	case 0:
		t->served = 1;
		return 0;
	case -1:
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log,
	    O_WRONLY | O_CREAT | O_APPEND, 0640);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	e = posix_spawn(&t->pid, ag->launcher, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		t->pid = 0;
		snprintf(why, whylen, "cannot run launcher %.300s: %s",
		    ag->launcher, strerror(e));
		return -1;
	}
	return 0;
}

int
launch_server_fd(void)
{
	return srv.fd;
}

void
launch_server_read(struct agent *ag)
{
	const char *why;
	size_t i;

	if (srv.fd != -1 && srv_drain(&why) == -1)
		srv_stop(ag, why);
	for (i = 0; i < srv.nended; i++)
		agent_reaped(ag, srv.ended[i].pid, srv.ended[i].status);
	srv.nended = 0;
}

void
launch_server_reaped(struct agent *ag, pid_t pid)
{
	if (srv.pid == pid && srv.fd != -1)
		srv_stop(ag, "it exited");
}

void
launch_server_close(struct agent *ag)
{
	srv_stop(ag, "agentd stops");
}
