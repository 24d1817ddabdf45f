/*
 * The supervisor: the task-launch process agentd spawned stays as the
 * parent of the task's pid namespace (whose init needs a parent to
 * collect its status).  Signal handlers only set a flag and write a byte
 * to a self-pipe; the loop here acts on them: SIGTERM/SIGINT start the
 * kill sequence (SIGTERM to every process of the task, --grace seconds,
 * SIGKILL), SIGCHLD collects the task.
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "task-launch.h"

#define INIT_POLL_MS	50	/* how often a stopping task is looked at */

static int			 selfpipe[2] = { -1, -1 };
static volatile sig_atomic_t	 got_stop;
static uint64_t			 not_default;	/* bit sig - 1: sup_note_signals */
#define SIG_BIT(sig)	(1ULL << ((sig) - 1))

static const int handled[] = { SIGTERM, SIGINT, SIGCHLD };

/* Note the signal and wake the loop; nothing else is safe here. */
static void
on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGTERM || sig == SIGINT)
		got_stop = 1;
	(void)!write(selfpipe[1], "", 1);
	errno = saved;
}

/* Create the self-pipe and install the handlers; -1 on failure. */
int
sup_signals(void)
{
	struct sigaction	 sa;
	size_t			 i;

	if (pipe2(selfpipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
		if (sigaction(handled[i], &sa, NULL) == -1)
			return -1;
		not_default |= SIG_BIT(handled[i]);
	}
	/* an exec notice to an agentd that has gone must not kill us */
	signal(SIGPIPE, SIG_IGN);
	not_default |= SIG_BIT(SIGPIPE);
	return 0;
}

/* Block every signal (around fork), saving the old mask in old. */
void
sup_block(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, old);
}

/* Restore the mask sup_block saved. */
void
sup_unblock(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/*
 * A signal's disposition as the kernel's rt_sigaction(2) takes it (the
 * layout of x86-64 and of most architectures Linux runs on), with a
 * 64-bit mask.  The system call, not sigaction(3): glibc refuses its own
 * two real-time signals (32 and 33, below SIGRTMIN), which a launcher may
 * still have inherited ignored, and an ignored signal stays ignored
 * across exec.
 */
struct ksigaction {
	void		(*handler)(int);
	unsigned long	  flags;
	void		(*restorer)(void);
	uint64_t	  mask;
};
#if defined(__mips__) || defined(__alpha__) || defined(__sparc__)
#error "struct ksigaction: this architecture's kernel sigaction differs"
#endif
_Static_assert(NSIG - 1 <= 64, "signals beyond a 64-bit mask");

static int
ksigaction(int sig, const struct ksigaction *act, struct ksigaction *old)
{
	return syscall(SYS_rt_sigaction, sig, act, old, sizeof(uint64_t));
}

/*
 * Note the signals whose disposition is not the default when the process
 * starts (ignored by whoever started agentd, or a sanitizer's handlers),
 * once: a fork server's supervisors inherit the note, and sup_signals
 * adds what it sets, so that the task's process resets those few rather
 * than all 64 on every launch.
 */
void
sup_note_signals(void)
{
	struct ksigaction	 ka;
	int			 sig;

	not_default = 0;
	for (sig = 1; sig < NSIG; sig++)
		if (ksigaction(sig, NULL, &ka) == 0 && ka.handler != SIG_DFL)
			not_default |= SIG_BIT(sig);
}

/*
 * In the task's process: every signal back to its default disposition
 * (those noted: what agentd may have ignored, and what sup_signals set)
 * and none blocked, as a fresh process would have them.
 */
void
sup_child_signals(void)
{
	static const struct ksigaction dfl = { .handler = SIG_DFL };
	sigset_t	 none;
	int		 sig;

	for (sig = 1; sig < NSIG; sig++)
		if (not_default & SIG_BIT(sig))
			(void)ksigaction(sig, &dfl, NULL);
	close(selfpipe[0]);
	close(selfpipe[1]);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Send sig to every process of the task: its cgroups, its main process
 * (the pid namespace's init: SIGKILL to it ends the whole namespace) and
 * its session's process group.
 */
static void
signal_task(struct cgroups *cg, pid_t pid, int sig)
{
	if (cg != NULL)
		cg_signal_all(cg, sig, false);
	kill(pid, sig);
	kill(-pid, sig);
}

/*
 * Return true when process pid neither catches nor ignores SIGTERM.  The
 * kernel drops SIGTERM sent to a pid namespace's init in that case, where
 * any other process would have died of it.
 */
static bool
term_is_default(pid_t pid)
{
	char			 path[64], line[256];
	unsigned long long	 mask, bit = 1ULL << (SIGTERM - 1);
	bool			 dfl = true;
	FILE			*f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((sscanf(line, "SigIgn: %llx", &mask) == 1 ||
		    sscanf(line, "SigCgt: %llx", &mask) == 1) && (mask & bit))
			dfl = false;
	fclose(f);
	return dfl;
}

/*
 * The task's exec succeeded: say so on --notify-fd, once, in one write
 * (atomic on a pipe), and close it.  A full pipe or a reader gone loses
 * the notice, never the task.
 */
static void
notify_exec(struct launch *l)
{
	char	 buf[64];
	int	 n;

	if (l->notify_fd < 0)
		return;
	n = snprintf(buf, sizeof(buf), "running %ld\n", (long)getpid());
	(void)!write(l->notify_fd, buf, n);
	close(l->notify_fd);
	l->notify_fd = -1;
}

/*
 * Supervise the task's process pid until it ends: act on stop signals,
 * read a launch failure from the report pipe, then kill whatever is left
 * of the task and fill r (state, code, killed, rusage-based accounting).
 */
void
sup_run(struct launch *l, struct cgroups *cg, pid_t pid, int report,
    struct result *r)
{
	struct pollfd	 pfd[2];
	struct report	 rep;
	struct rusage	 ru;
	char		 buf[64];
	long long	 deadline = -1, left;
	int		 status, nfds, got = 0;
	bool		 init_killed = false;
	ssize_t		 n;
	pid_t		 w;

	memset(r, 0, sizeof(*r));
	r->cpu_ms = r->mem_peak_mb = -1;
	for (;;) {
		if (got_stop && !r->killed) {
			r->killed = true;
			if (l->verbose)
				warnx("stopping task %s (grace %d s)", l->id,
				    l->grace);
			signal_task(cg, pid, SIGTERM);
			deadline = now_ms() + l->grace * 1000LL;
		}
		if (deadline >= 0 && now_ms() >= deadline) {
			signal_task(cg, pid, SIGKILL);
			deadline = now_ms() + 1000;	/* again, if it forks */
		} else if (r->killed && !init_killed && cg != NULL &&
		    (l->applied & ISO_BIT(ISO_PID)) &&
		    cg_signal_all(cg, 0, false) <= 1 && term_is_default(pid)) {
			/*
			 * An init that would have died of SIGTERM, alone now
			 * that the rest had their grace: end it as SIGTERM
			 * would have, rather than wait out the grace.
			 */
			kill(pid, SIGKILL);
			init_killed = true;
		}
		w = wait4(pid, &status, WNOHANG, &ru);
		if (w == pid)
			break;
		if (w == -1 && errno != EINTR)
			err(EXIT_SYSTEM, "wait4");
		pfd[0].fd = selfpipe[0];
		pfd[0].events = POLLIN;
		nfds = 1;
		if (report != -1) {
			pfd[1].fd = report;
			pfd[1].events = POLLIN;
			nfds = 2;
		}
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (r->killed && !init_killed && left > INIT_POLL_MS)
			left = INIT_POLL_MS;
		if (poll(pfd, nfds, left < 0 ? (deadline < 0 ? -1 : 0) :
		    (int)left) == -1 && errno != EINTR)
			err(EXIT_SYSTEM, "poll");
		while (read(selfpipe[0], buf, sizeof(buf)) > 0)
			;
		if (report != -1 && (pfd[1].revents & (POLLIN | POLLHUP))) {
			n = read(report, &rep, sizeof(rep));
			if (n == sizeof(rep) && !got) {
				got = 1;
				r->code = rep.code;
				strlcpy(r->reason, rep.msg, sizeof(r->reason));
			}
			if (n <= 0) {
				close(report);
				report = -1;
				if (n == 0 && !got)
					notify_exec(l);
			}
		}
	}
	/* A report may still sit in the pipe when the child exited first. */
	if (report != -1) {
		if (!got) {
			n = read(report, &rep, sizeof(rep));
			if (n == sizeof(rep)) {
				got = 1;
				r->code = rep.code;
				strlcpy(r->reason, rep.msg, sizeof(r->reason));
			} else if (n == 0)
				notify_exec(l);
		}
		close(report);
	}
	/*
	 * With a pid namespace nothing outlives its init; without one, the
	 * rest of the cgroup and of the session may (pid itself is reaped,
	 * so it is not signalled again: it may already be reused).
	 */
	if (cg != NULL)
		cg_signal_all(cg, SIGKILL, (l->applied & ISO_BIT(ISO_PID)) != 0);
	if (!(l->applied & ISO_BIT(ISO_PID)))
		kill(-pid, SIGKILL);
	if (got)
		r->state = ST_FAILED;
	else if (WIFSIGNALED(status)) {
		r->state = ST_SIGNALED;
		r->code = WTERMSIG(status);
	} else {
		r->state = ST_EXITED;
		r->code = WEXITSTATUS(status);
	}
	r->cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	r->mem_peak_mb = (ru.ru_maxrss + 1023) / 1024;
	if (cg != NULL)
		cg_account(cg, r);
}
