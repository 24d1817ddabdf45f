/*
 * The task's own process, between clone and exec: join the cgroups, leave
 * the namespaces, enter the sandbox, switch user, drop capabilities, exec.
 * The order matters: every step that needs privilege comes before the
 * user switch and the capability drop.  A failure is reported to the
 * supervisor on the close-on-exec report pipe, never printed here.
 *
 * The process shares the supervisor's memory until the exec (clone with
 * CLONE_VM | CLONE_VFORK, as posix_spawn does; the supervisor waits), so
 * that no page table is copied and none torn down at the exec.  Hence
 * child_prepare, in the supervisor beforehand, does all that allocates
 * memory or asks NSS (the environment, the user's groups, the capability
 * sets): in here, only system calls.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "task-launch.h"

/* Report a failure with exit status code to the supervisor and exit. */
static void TL_NO_ASAN __attribute__((noreturn, format(printf, 3, 4)))
fail(int fd, int code, const char *fmt, ...)
{
	struct report	 r;
	va_list		 ap;

	memset(&r, 0, sizeof(r));
	r.code = code;
	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	(void)!write(fd, &r, sizeof(r));
	_exit(code);
}

/*
 * Build the task's environment from scratch into l->envp: the base, then
 * each --env, a later one replacing an earlier one of the same name.
 */
static int
build_environment(struct launch *l)
{
	char	**envp, **base = l->envbase;
	size_t	  n = 0, k, i, len;

	if ((envp = l->envp = calloc(4 + l->nenv + 1, sizeof(*envp))) == NULL ||
	    asprintf(&base[0], "PATH=%s", TL_PATH) == -1 ||
	    asprintf(&base[1], "HOME=%s", l->sandbox) == -1 ||
	    asprintf(&base[2], "SANDBOX=%s", l->sandbox) == -1 ||
	    asprintf(&base[3], "TASK_ID=%s", l->id) == -1)
		return -1;
	for (i = 0; i < 4; i++)
		envp[n++] = base[i];
	for (i = 0; i < (size_t)l->nenv; i++) {
		len = strcspn(l->env[i], "=") + 1;
		for (k = 0; k < n; k++)
			if (strncmp(envp[k], l->env[i], len) == 0)
				break;
		envp[k] = l->env[i];
		if (k == n)
			n++;
	}
	envp[n] = NULL;
	return 0;
}

/*
 * In the supervisor, before the clone: everything child_run needs that
 * allocates memory or asks NSS.  Returns -1 with why filled.
 */
int
child_prepare(struct launch *l, char *why, size_t len)
{
	int n = 32;

	if (build_environment(l) == -1) {
		snprintf(why, len, "environment: %s", strerror(errno));
		return -1;
	}
	/* --user by name: the user's groups, as initgroups(3) would set */
	l->ngroups = -1;
	if (l->user_named) {
		for (;;) {
			if ((l->groups = reallocarray(l->groups, n,
			    sizeof(gid_t))) == NULL) {
				snprintf(why, len, "groups: %s", strerror(errno));
				return -1;
			}
			if (getgrouplist(l->user, l->gid, l->groups, &n) != -1)
				break;
		}
		l->ngroups = n;
	}
	if ((l->applied & ISO_BIT(ISO_CAPS)) &&
	    caps_prepare(l, why, len) == -1)
		return -1;
	return 0;
}

/*
 * After child_spawn: what child_prepare made is the task's no more (it
 * has exec'd, or failed and gone), and the supervisor lives as long as
 * the task does.
 */
void
child_release(struct launch *l)
{
	size_t i;

	for (i = 0; i < sizeof(l->envbase) / sizeof(l->envbase[0]); i++) {
		free(l->envbase[i]);
		l->envbase[i] = NULL;
	}
	free(l->envp);
	l->envp = NULL;
	free(l->groups);
	l->groups = NULL;
	caps_release(l);
}

/* Switch to --group and --user, with the user's supplementary groups. */
static int
switch_user(const struct launch *l)
{
	if (l->ngroups >= 0) {
		if (setgroups(l->ngroups, l->groups) == -1)
			return -1;
	} else if (l->set_gid && setgroups(0, NULL) == -1)
		return -1;
	if (l->set_gid && setgid(l->gid) == -1)
		return -1;
	if (l->set_uid && setuid(l->uid) == -1)
		return -1;
	return 0;
}

/*
 * Run the isolation steps in the task's process and exec the command;
 * never returns.  Exit statuses: 111 setup, 126 not executable, 127 not
 * found (all reported on fds->report first).
 */
void TL_NO_ASAN
child_run(struct launch *l, struct cgroups *cg, struct child_fds *fds)
{
	char	 why[TL_REASON_MAX];
	int	 i, nul, rep = fds->report;

	sup_child_signals();
	if (cg != NULL && cg_join(cg) == -1)
		fail(rep, EXIT_SYSTEM, "join cgroup: %s", strerror(errno));
	if (setsid() == -1)
		fail(rep, EXIT_SYSTEM, "setsid: %s", strerror(errno));
	if (ns_setup(l, why, sizeof(why)) == -1)
		fail(rep, EXIT_SYSTEM, "%s", why);
	if (chdir(l->sandbox) == -1)
		fail(rep, EXIT_SYSTEM, "chdir %s: %s", l->sandbox, strerror(errno));
	if ((nul = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(nul, STDIN_FILENO) == -1 ||
	    dup2(fds->out, STDOUT_FILENO) == -1 ||
	    dup2(fds->err, STDERR_FILENO) == -1)
		fail(rep, EXIT_SYSTEM, "redirect stdio: %s", strerror(errno));
	if (nul > STDERR_FILENO)
		close(nul);
	close(fds->out);
	close(fds->err);
	/*
	 * Nothing else the launcher inherited (from agentd, or from whoever
	 * started it) reaches the task: every other descriptor closes at the
	 * exec, the report pipe only then.
	 */
	if (close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		fail(rep, EXIT_SYSTEM, "close_range: %s", strerror(errno));
	if (l->applied & ISO_BIT(ISO_RLIMITS))
		for (i = 0; i < l->nrlim; i++)
			if (setrlimit(l->rlim[i].resource, &l->rlim[i].lim) == -1)
				fail(rep, EXIT_SYSTEM, "setrlimit: %s",
				    strerror(errno));
	if ((l->applied & ISO_BIT(ISO_CAPS)) &&
	    caps_drop_bound(l, why, sizeof(why)) == -1)
		fail(rep, EXIT_SYSTEM, "%s", why);
	if (l->set_uid && l->keep_caps != 0 &&
	    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
		fail(rep, EXIT_SYSTEM, "keepcaps: %s", strerror(errno));
	if (switch_user(l) == -1)
		fail(rep, EXIT_SYSTEM, "switch to user %s: %s",
		    l->user != NULL ? l->user : l->group, strerror(errno));
	if ((l->applied & ISO_BIT(ISO_CAPS)) &&
	    caps_apply(l, why, sizeof(why)) == -1)
		fail(rep, EXIT_SYSTEM, "%s", why);
	/* Set after the user switch, which clears it: the task dies with us. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		fail(rep, EXIT_SYSTEM, "pdeathsig: %s", strerror(errno));
	if ((l->applied & ISO_BIT(ISO_NNP)) &&
	    caps_no_new_privs(why, sizeof(why)) == -1)
		fail(rep, EXIT_SYSTEM, "%s", why);
	environ = l->envp;	/* execvp searches the task's PATH */
	execvp(l->argv[0], l->argv);
	fail(rep, errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, "%s: %s",
	    l->argv[0], strerror(errno));
}

struct child_args {
	struct launch	 *l;
	struct cgroups	 *cg;
	struct child_fds *fds;
};

static int TL_NO_ASAN
child_main(void *arg)
{
	struct child_args *a = arg;

	child_run(a->l, a->cg, a->fds);
}

/*
 * Start the task's process (child_run) sharing our memory until its exec,
 * which we wait for.  Returns its pid, or -1 with errno set.
 */
pid_t
child_spawn(struct launch *l, struct cgroups *cg, struct child_fds *fds)
{
	static char		 stack[256 * 1024] __attribute__((aligned(16)));
	struct child_args	 a = { l, cg, fds };
	char			**saved = environ;	/* the child sets it */
	pid_t			 pid;

	pid = clone(child_main, stack + sizeof(stack),
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	environ = saved;
	return pid;
}

