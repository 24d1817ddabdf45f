/*
 * How agentd starts a task's launcher, without ever waiting for it.
 * When the launcher has a fork server (`LAUNCHER --serve`, task-launch(8)),
 * agentd keeps one running and asks it to fork each launcher: a fork of
 * that small process costs far less than posix_spawn's exec of it.  A
 * launcher without one (a replacement that takes task-launch's arguments
 * and nothing more) is started with posix_spawn, one exec per task, as is
 * every launch while the server is down.
 *
 * Nothing here blocks the event loop: requests wait in a queue, in order,
 * until the server has said "ready"; each one's answer ("pid N" or "error
 * TEXT") is read when the socket is readable, in the order they were
 * sent.  A server that says nothing within SERVER_WAIT_MS is given up:
 * before "ready" it is taken for a launcher without --serve, after it
 * for a stuck one; either way the waiting launches get one exec each.
 *
 * The server's supervisors are its children, not ours: it reports each
 * one's end ("exit PID STATUS"), which goes to task_reaped as a wait
 * status would.  If the server goes away, its supervisors carry on and
 * are watched like launchers adopted from an earlier run.  When the
 * launcher file changes (an upgrade), the server is replaced at the next
 * launch, so that new tasks run the new launcher.
 *
 * The server also resizes executors' cgroups (launch_resize): such a
 * request waits in the same queue, its answer "ok" or "error CODE TEXT"
 * comes in its turn and goes to aexec_resized.  A resize still waiting
 * when the server stops fails; with a launcher that turns out to have
 * no --serve, nothing is resized and that counts as done.
 *
 * Exec notices: a launcher with --serve also takes --notify-fd (see
 * task-launch(8)).  Every launcher of such a file, served or spawned,
 * gets the write end of one pipe as NOTIFY_FD and writes "running PID"
 * there once its task's exec has succeeded; only then is the task
 * TASK_RUNNING.  A notice can come before the server's "pid" answer; it
 * waits in a short list until then.  A launcher without --serve reports
 * no exec: its task counts as running once the launcher is.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentd.h"
#include "log.h"
#include "proto-limits.h"
#include "util.h"

#define SERVER_WAIT_MS	5000	/* for "ready" and for each reply */
#define NOTIFY_FD	3	/* the launcher's end of the notice pipe */
#define NOTIFY_FD_ARG	"3"
#define EARLY_MAX	64	/* notices waiting for the server's "pid" */
#define LAUNCH_ARGV_MAX	520	/* task.c's arguments and --notify-fd */

extern char **environ;

struct ended {
	pid_t	 pid;
	int	 status;
};

/*
 * A request waiting for the server: to send, or sent and unanswered.  A
 * launch, or with gen a resize of executor t's cgroup.
 */
struct pending {
	struct atask	*t;		/* NULL: the task has gone */
	char		*args;		/* "LOG\0ARG0\0ARG1\0...\0", or a
					   whole "resize\0..." request */
	size_t		 len;
	int64_t		 deadline;	/* of its answer; 0: not sent yet */
	int64_t		 gen;		/* a resize's (> 0); 0: a launch */
};

static struct {
	int		 fd;		/* -1: not running */
	pid_t		 pid;
	struct stat	 file;		/* the launcher file it runs */
	int		 refused;	/* this launcher file has no --serve */
	int		 serves;	/* it said "ready": --notify-fd too */
	int		 ready;		/* the running server said "ready" */
	int64_t		 ready_by;
	struct pending	*q;
	size_t		 nq, capq;
	struct ended	*ended;		/* exit reports to hand on */
	size_t		 nended, maxended;
	int		 notify[2];	/* the notice pipe */
	char		 nbuf[256];	/* a notice read in part */
	size_t		 nlen;
	pid_t		 early[EARLY_MAX];
	size_t		 nearly;
} srv = { .fd = -1, .notify = { -1, -1 } };

static void	srv_fail_pending(struct agentd *);

int
launch_init(struct agentd *ag)
{
	(void)ag;
	if (pipe2(srv.notify, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

/* Pack LOG and ARGV into one allocated "LOG\0ARG0\0...": NULL if too big. */
static char *
args_pack(const char *log, char **argv, size_t *len)
{
	size_t n = strlen(log) + 1, off;
	char *p;
	int i;

	for (i = 0; argv[i] != NULL; i++)
		n += strlen(argv[i]) + 1;
	if (n > PROTO_LAUNCH_REQ_MAX || (p = malloc(n)) == NULL)
		return NULL;
	off = strlen(log) + 1;
	memcpy(p, log, off);
	for (i = 0; argv[i] != NULL; i++) {
		memcpy(p + off, argv[i], strlen(argv[i]) + 1);
		off += strlen(argv[i]) + 1;
	}
	*len = n;
	return p;
}

/*
 * Unpack ARGS (LEN bytes, from args_pack) into *LOG and ARGV (at most
 * LAUNCH_ARGV_MAX with NULL), --notify-fd after the program with NOTIFY.
 */
static void
args_unpack(char *args, size_t len, int notify, const char **log, char **argv)
{
	char *p = args, *end = args + len;
	int argc = 0;

	*log = p;
	for (p += strlen(p) + 1; p < end && argc < LAUNCH_ARGV_MAX - 3;
	    p += strlen(p) + 1) {
		argv[argc++] = p;
		if (argc == 1 && notify) {
			argv[argc++] = "--notify-fd";
			argv[argc++] = NOTIFY_FD_ARG;
		}
	}
	argv[argc] = NULL;
}

/* Start T's launcher with posix_spawn from ARGS; its failure fails T. */
static void
spawn(struct agentd *ag, struct atask *t, char *args, size_t len, int notify)
{
	posix_spawn_file_actions_t fa;
	char *argv[LAUNCH_ARGV_MAX], why[512];
	const char *log;
	int e;

	args_unpack(args, len, notify, &log, argv);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log,
	    O_WRONLY | O_CREAT | O_APPEND, 0640);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (notify)
		posix_spawn_file_actions_adddup2(&fa, srv.notify[1], NOTIFY_FD);
	e = posix_spawn(&t->pid, ag->launcher, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	t->served = 0;
	if (e != 0) {
		t->pid = 0;
		snprintf(why, sizeof(why), "cannot run launcher %.300s: %s",
		    ag->launcher, strerror(e));
		task_launch_failed(ag, t, why);
		return;
	}
	task_launched(ag, t, notify);
}

/* Keep an "exit PID STATUS" report for srv_exits to hand on. */
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

/* Hand the exit reports on, after the notices that came before them. */
static void
srv_exits(struct agentd *ag)
{
	size_t i;

	if (srv.nended == 0)
		return;
	launch_notices(ag);
	for (i = 0; i < srv.nended; i++)
		task_reaped(ag, srv.ended[i].pid, srv.ended[i].status);
	srv.nended = 0;
}

/* Drop the oldest pending launch. */
static void
pending_pop(void)
{
	free(srv.q[0].args);
	memmove(srv.q, srv.q + 1, --srv.nq * sizeof(*srv.q));
}

/*
 * The server is gone or must go: take its last reports, close our end
 * (it exits on end of file), from now on watch its supervisors as
 * adopted launchers, and give the waiting launches one exec each.
 */
static void
srv_stop(struct agentd *ag, const char *why)
{
	struct agent_task *bt;
	char buf[512];
	size_t pos = 0;
	ssize_t n;

	if (srv.fd == -1)
		return;
	while ((n = recv(srv.fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		srv_note_exit(buf);
	}
	log_info("launcher server %d stops: %s", (int)srv.pid, why);
	close(srv.fd);
	srv.fd = -1;
	srv.ready = 0;
	srv_exits(ag);
	while ((bt = agent_set_next(ag->set, &pos)) != NULL)
		if (((struct atask *)(void *)bt)->served &&
		    ((struct atask *)(void *)bt)->pid > 0)
			((struct atask *)(void *)bt)->adopted = 1;
	aexec_server_gone(ag);
	srv_fail_pending(ag);
}

/*
 * Every waiting launch, in order, gets one exec; every waiting resize
 * fails, but where the launcher turned out to have no server (refused):
 * then its executor's limits stay its own, as when one runs no server.
 */
static void
srv_fail_pending(struct agentd *ag)
{
	while (srv.nq > 0) {
		struct pending p = srv.q[0];

		srv.q[0].args = NULL;
		pending_pop();
		if (p.t != NULL && p.gen > 0)
			aexec_resized(p.t, p.gen, srv.refused ? NULL :
			    "the launcher server stopped");
		else if (p.t != NULL)
			spawn(ag, p.t, p.args, p.len, srv.serves);
		free(p.args);
	}
}

/* The server did not say "ready": a launcher without --serve. */
static void
srv_refuse(struct agentd *ag)
{
	close(srv.fd);
	srv.fd = -1;
	if (srv.pid > 0) {
		kill(srv.pid, SIGKILL);
		while (waitpid(srv.pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	srv.refused = 1;
	srv.serves = 0;
	log_info("launcher %s has no --serve: one exec per task", ag->launcher);
	srv_fail_pending(ag);
}

/* True when A and B are the same version of one file. */
static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Start `LAUNCHER --serve`, which says "ready" later; -1 on failure. */
static int
srv_start(struct agentd *ag, const struct stat *st)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { ag->launcher, "--serve", NULL };
	int sv[2], e;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], STDIN_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null",
	    O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, srv.notify[1], NOTIFY_FD);
	e = posix_spawn(&srv.pid, ag->launcher, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (e != 0) {
		close(sv[0]);
		return -1;
	}
	srv.fd = sv[0];
	srv.file = *st;
	srv.ready = 0;
	srv.ready_by = now_ms() + SERVER_WAIT_MS;
	return 0;
}

/* Send the launches not sent yet, in order, as far as the socket takes. */
static void
srv_send_pending(struct agentd *ag)
{
	static char msg[PROTO_LAUNCH_REQ_MAX + 64];
	char *argv[LAUNCH_ARGV_MAX];
	const char *log;
	size_t i, off, n;
	int k;

	for (i = 0; srv.fd != -1 && srv.ready && i < srv.nq; ) {
		struct pending *p = &srv.q[i];

		if (p->deadline != 0) {
			i++;
			continue;
		}
		errno = 0;
		if (p->gen > 0) {
			if (send(srv.fd, p->args, p->len, MSG_NOSIGNAL |
			    MSG_DONTWAIT) == -1 && (errno == EAGAIN ||
			    errno == EINTR))
				break;
			if (errno != 0) {
				srv_stop(ag, strerror(errno));
				return;
			}
			p->deadline = now_ms() + SERVER_WAIT_MS;
			i++;
			continue;
		}
		args_unpack(p->args, p->len, 1, &log, argv);
		off = strlcpy(msg, "launch", sizeof(msg)) + 1;
		memcpy(msg + off, log, strlen(log) + 1);
		off += strlen(log) + 1;
		for (k = 0; argv[k] != NULL; k++) {
			n = strlen(argv[k]) + 1;
			if (off + n > PROTO_LAUNCH_REQ_MAX)
				break;
			memcpy(msg + off, argv[k], n);
			off += n;
		}
		if (argv[k] != NULL || (send(srv.fd, msg, off,
		    MSG_NOSIGNAL | MSG_DONTWAIT) == -1 && errno == EMSGSIZE)) {
			struct atask *t = p->t;

			free(p->args);
			memmove(p, p + 1, (--srv.nq - i) * sizeof(*p));
			if (t != NULL)
				task_launch_failed(ag, t,
				    "task description too long");
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			break;		/* the rest at the next turn */
		if (errno != 0) {
			srv_stop(ag, strerror(errno));
			return;
		}
		p->deadline = now_ms() + SERVER_WAIT_MS;
		i++;
	}
}

/* Queue request ARGS (LEN bytes, taken) for T; GEN > 0: a resize. */
static void
pending_push(struct atask *t, char *args, size_t len, int64_t gen)
{
	struct pending *q;

	if (srv.nq == srv.capq) {
		srv.capq = srv.capq ? 2 * srv.capq : 64;
		if ((q = reallocarray(srv.q, srv.capq, sizeof(*q))) == NULL)
			log_fatal("launches");
		srv.q = q;
	}
	srv.q[srv.nq].t = t;
	srv.q[srv.nq].args = args;
	srv.q[srv.nq].len = len;
	srv.q[srv.nq].deadline = 0;
	srv.q[srv.nq].gen = gen;
	srv.nq++;
}

int
launch_start(struct agentd *ag, struct atask *t, char **argv, const char *log,
    char *why, size_t whylen)
{
	struct stat st;
	size_t len;
	char *args;

	t->served = 0;
	if ((args = args_pack(log, argv, &len)) == NULL) {
		snprintf(why, whylen, "task description too long");
		return -1;
	}
	if (stat(ag->launcher, &st) == -1) {
		spawn(ag, t, args, len, 0);	/* posix_spawn says why */
		free(args);
		return 0;
	}
	if (srv.fd != -1 && !same_file(&st, &srv.file))
		srv_stop(ag, "the launcher file changed");
	if (srv.fd == -1) {
		if (!same_file(&st, &srv.file))
			srv.refused = srv.serves = 0;
		if (srv.refused || srv_start(ag, &st) == -1) {
			spawn(ag, t, args, len, srv.serves);
			free(args);
			return 0;
		}
	}
	pending_push(t, args, len, 0);
	srv_send_pending(ag);
	return 0;
}

int
launch_resize(struct agentd *ag, struct atask *x, const char *id,
    const char *cpus, const char *mem, int64_t gen, char *why, size_t whylen)
{
	struct stat st;
	size_t len, off = 0;
	char *req;
	const char *f[] = { "resize", id, cpus, mem };
	size_t i;

	if (srv.fd == -1) {
		if (stat(ag->launcher, &st) == -1) {
			snprintf(why, whylen, "launcher %.300s: %s",
			    ag->launcher, strerror(errno));
			return -1;
		}
		if (!same_file(&st, &srv.file))
			srv.refused = srv.serves = 0;
		if (srv.refused)
			return 1;	/* no server: nothing resizes */
		if (srv_start(ag, &st) == -1) {
			snprintf(why, whylen, "cannot start the launcher "
			    "server: %s", strerror(errno));
			return -1;
		}
	}
	for (i = 0, len = 0; i < sizeof(f) / sizeof(f[0]); i++)
		len += strlen(f[i]) + 1;
	if ((req = malloc(len)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		memcpy(req + off, f[i], strlen(f[i]) + 1);
		off += strlen(f[i]) + 1;
	}
	pending_push(x, req, len, gen);
	srv_send_pending(ag);
	return 0;
}

void
launch_forget(struct atask *t)
{
	size_t i;

	for (i = 0; i < srv.nq; i++)
		if (srv.q[i].t == t)
			srv.q[i].t = NULL;
}

/* The server's answer "pid N" to the oldest launch sent. */
static void
srv_pid(struct agentd *ag, pid_t pid)
{
	struct atask *t = srv.nq > 0 ? srv.q[0].t : NULL;
	size_t i;

	if (srv.nq > 0 && srv.q[0].gen > 0) {
		srv_stop(ag, "a pid for a resize");
		return;
	}
	if (srv.nq > 0)
		pending_pop();
	if (t == NULL) {
		log_warnx("launcher %d: its task has gone", (int)pid);
		return;
	}
	t->pid = pid;
	t->served = 1;
	task_launched(ag, t, 1);
	for (i = 0; i < srv.nearly; i++)
		if (srv.early[i] == pid) {
			srv.early[i] = srv.early[--srv.nearly];
			task_running(ag, pid);
			break;
		}
}

/* Handle one message MSG from the server. */
static void
srv_message(struct agentd *ag, const char *msg)
{
	struct atask *t;

	if (!srv.ready) {
		if (strcmp(msg, "ready") != 0) {
			srv_refuse(ag);
			return;
		}
		srv.ready = srv.serves = 1;
		log_info("launcher server %d started", (int)srv.pid);
		srv_send_pending(ag);
	} else if (strncmp(msg, "pid ", 4) == 0)
		srv_pid(ag, (pid_t)atoi(msg + 4));
	else if (strcmp(msg, "ok") == 0 || strncmp(msg, "error ", 6) == 0) {
		char why[512];
		int64_t gen;

		t = srv.nq > 0 ? srv.q[0].t : NULL;
		gen = srv.nq > 0 ? srv.q[0].gen : 0;
		if (gen == 0 && msg[0] == 'o') {
			srv_stop(ag, "an ok for a launch");
			return;
		}
		if (srv.nq > 0)
			pending_pop();
		if (msg[0] == 'o')
			why[0] = '\0';
		else
			snprintf(why, sizeof(why), "launcher server: %.400s",
			    msg + 6);
		if (t != NULL && gen > 0)
			aexec_resized(t, gen, why[0] == '\0' ? NULL : why);
		else if (t != NULL)
			task_launch_failed(ag, t, why);
	} else
		srv_note_exit(msg);
}

void
launch_read(struct agentd *ag)
{
	char buf[512];
	int64_t now;
	ssize_t n;

	launch_notices(ag);
	while (srv.fd != -1) {
		n = recv(srv.fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			if (!srv.ready)
				srv_refuse(ag);
			else
				srv_stop(ag, n == 0 ? "it exited" :
				    strerror(errno));
			break;
		}
		buf[n] = '\0';
		srv_message(ag, buf);
	}
	now = now_ms();
	if (srv.fd != -1 && !srv.ready && now >= srv.ready_by)
		srv_refuse(ag);
	else if (srv.fd != -1 && srv.nq > 0 && srv.q[0].deadline != 0 &&
	    now >= srv.q[0].deadline)
		srv_stop(ag, "no reply");
	srv_send_pending(ag);
	srv_exits(ag);
}

int64_t
launch_wait(void)
{
	int64_t when, now = now_ms();

	if (srv.fd == -1)
		return -1;
	if (!srv.ready)
		when = srv.ready_by;
	else if (srv.nq > 0 && srv.q[0].deadline != 0)
		when = srv.q[0].deadline;
	else
		return -1;
	return when > now ? when - now : 0;
}

void
launch_notices(struct agentd *ag)
{
	char *line, *nl;
	ssize_t n;
	long pid;

	for (;;) {
		n = read(srv.notify[0], srv.nbuf + srv.nlen,
		    sizeof(srv.nbuf) - 1 - srv.nlen);
		if (n <= 0)
			return;
		srv.nlen += (size_t)n;
		srv.nbuf[srv.nlen] = '\0';
		line = srv.nbuf;
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			if (sscanf(line, "running %ld", &pid) == 1 &&
			    !task_running(ag, (pid_t)pid)) {
				/* before the server's "pid": keep it a while */
				if (srv.nearly == EARLY_MAX)
					memmove(srv.early, srv.early + 1,
					    --srv.nearly * sizeof(*srv.early));
				srv.early[srv.nearly++] = (pid_t)pid;
			}
			line = nl + 1;
		}
		srv.nlen = strlen(line);
		memmove(srv.nbuf, line, srv.nlen);
		if (srv.nlen == sizeof(srv.nbuf) - 1)
			srv.nlen = 0;	/* no notice is that long */
	}
}

int
launch_server_fd(void)
{
	return srv.fd;
}

int
launch_notify_fd(void)
{
	return srv.notify[0];
}

void
launch_server_reaped(struct agentd *ag, pid_t pid)
{
	if (srv.pid != pid || srv.fd == -1)
		return;
	srv.pid = 0;		/* reaped: never signal it again */
	if (!srv.ready)
		srv_refuse(ag);
	else
		srv_stop(ag, "it exited");
}

void
launch_server_close(struct agentd *ag)
{
	srv_stop(ag, "agentd stops");
}
