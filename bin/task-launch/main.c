/*
 * task-launch: isolate one task and exec it.  Chain-loading in the s6
 * way: the arguments say what to change, the rest of argv is the task.
 * The one process that does not exec is the supervisor, because the
 * task's pid namespace needs a parent; it stays, waits, kills on
 * request, removes the cgroup and writes the status file.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "task-launch.h"
#include "util.h"

#define OPT_PROBE	256
#define OPT_SERVE	257
#define OPT_NOTIFY	258
#define OPT_HIDE	259

static const char optstring[] = "+c:e:g:G:i:M:u:vw:x:";
static const struct option longopts[] = {
	{ "cpus",		required_argument,	NULL, 'c' },
	{ "cgroup-parent",	required_argument,	NULL, 'C' },
	{ "sandbox",		required_argument,	NULL, 'w' },
	{ "env",		required_argument,	NULL, 'e' },
	{ "group",		required_argument,	NULL, 'G' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "hide",		required_argument,	NULL, OPT_HIDE },
	{ "id",			required_argument,	NULL, 'i' },
	{ "caps",		required_argument,	NULL, 'k' },
	{ "rlimit",		required_argument,	NULL, 'l' },
	{ "mem",		required_argument,	NULL, 'M' },
	{ "net",		no_argument,		NULL, 'n' },
	{ "notify-fd",		required_argument,	NULL, OPT_NOTIFY },
	{ "pids",		required_argument,	NULL, 'p' },
	{ "probe",		no_argument,		NULL, OPT_PROBE },
	{ "cgroup-root",	required_argument,	NULL, 'R' },
	{ "require",		required_argument,	NULL, 'r' },
	{ "serve",		no_argument,		NULL, OPT_SERVE },
	{ "status-file",	required_argument,	NULL, 's' },
	{ "grace",		required_argument,	NULL, 'g' },
	{ "user",		required_argument,	NULL, 'u' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "isolate",		required_argument,	NULL, 'x' },
	{ NULL,			0,			NULL, 0 }
};

/* Print the synopsis (the man page's) and exit with status code. */
static void __attribute__((noreturn))
usage(int code)
{
	FILE *f = code == 0 ? stdout : stderr;

	fprintf(f,
	    "usage: task-launch [-v] [-c cpus] [-e NAME=VALUE]... "
	    "[-g grace-seconds] [-G group]\n"
	    "                   [-i id] [-M mem_mb] [-u user] "
	    "[-w sandbox] [-x isolators]\n"
	    "                   [--caps=caps] [--cgroup-parent=dir] "
	    "[--cgroup-root=dir] [--hide=dir]\n"
	    "                   [--net] [--notify-fd=fd] [--pids=pids] "
	    "[--require=isolators]\n"
	    "                   [--rlimit=name=value]... "
	    "[--status-file=file] -- cmd [arg ...]\n"
	    "       task-launch [--cgroup-parent=dir] [--cgroup-root=dir] "
	    "--probe\n"
	    "       task-launch --serve\n");
	exit(code);
}

/* Report a malformed option value and exit with the usage status. */
static void __attribute__((noreturn))
bad(const char *opt, const char *val)
{
	warnx("invalid %s: '%s'", opt, val);
	usage(EXIT_USAGE);
}

/*
 * Fail the launch before the task ran: print the reason, write a "failed"
 * status, remove the task cgroup, and exit with code.
 */
static void __attribute__((noreturn, format(printf, 4, 5)))
launch_fail(struct launch *l, struct cgroups *cg, int code,
    const char *fmt, ...)
{
	struct result	 r;
	va_list		 ap;

	memset(&r, 0, sizeof(r));
	r.state = ST_FAILED;
	r.code = code;
	va_start(ap, fmt);
	vsnprintf(r.reason, sizeof(r.reason), fmt, ap);
	va_end(ap);
	warnx("%s", r.reason);
	l->applied = 0;		/* the task never ran: nothing was applied */
	if (cg != NULL) {
		cg_remove(cg);
		cg_destroy(cg);
	}
	status_write(l, &r);
	exit(code);
}

/*
 * Create the sandbox (mode 0750, parents 0755) when missing and make
 * l->sandbox its absolute path; -1 with errno set on failure.
 */
static int
make_sandbox(struct launch *l, const char *dir)
{
	/* one launch a process: a static buffer, nothing to free on exit */
	static char path[PATH_MAX];

	if (mkdirs(dir, 0750, 0755) == -1)
		return -1;
	if (realpath(dir, path) == NULL)
		return -1;
	l->sandbox = path;
	return 0;
}

/* Open (append, create) one of the task's output files in the sandbox. */
static int
open_output(const struct launch *l, const char *name)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	int		 fd;

	snprintf(path, sizeof(path), "%s/%s", l->sandbox, name);
	/* O_NOFOLLOW: a sandbox used again may hold what its last task left */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOCTTY | O_NOFOLLOW, 0640)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	if ((l->set_uid || l->set_gid) && fchown(fd, l->set_uid ? l->uid :
	    (uid_t)-1, l->set_gid ? l->gid : (gid_t)-1) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Resolve --hide into l->hide: a directory strictly above the sandbox,
 * and not the root.  Returns -1 when it is not.
 */
static int
hide_check(struct launch *l)
{
	size_t n;

	if ((l->hide = realpath(l->hide_arg, NULL)) == NULL)
		return -1;
	n = strlen(l->hide);
	if (strcmp(l->hide, "/") == 0 || strncmp(l->sandbox, l->hide, n) != 0 ||
	    l->sandbox[n] != '/')
		return -1;
	return 0;
}

/* Parse the command line into l; exits 100 on any malformed input. */
static int
parse_args(struct launch *l, int argc, char *argv[], const char **sandbox)
{
	const char	*errstr;
	bool		 probe = false, net = false, isolate = false;
	int		 ch;

	while ((ch = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (parse_cpus(optarg, &l->cpus) == -1)
				bad("cpus", optarg);
			break;
		case 'C':
			if (optarg[0] == '\0' || strstr(optarg, "..") != NULL)
				bad("cgroup parent", optarg);
			l->cg_parent = optarg;
			break;
		case 'w':
			if (optarg[0] == '\0')
				bad("sandbox", optarg);
			*sandbox = optarg;
			break;
		case 'e':
			if (optarg[0] == '=' || strchr(optarg, '=') == NULL)
				bad("environment variable", optarg);
			if (l->nenv == TL_MAX_ENV)
				bad("environment variable (too many)", optarg);
			l->env[l->nenv++] = optarg;
			break;
		case 'G':
			l->group = optarg;
			break;
		case 'h':
			usage(0);
		case 'i':
			if (parse_id(optarg) == -1)
				bad("id", optarg);
			l->id = optarg;
			break;
		case 'k':
			if (parse_caps(optarg, &l->keep_caps) == -1)
				bad("capability list", optarg);
			break;
		case 'l':
			if (l->nrlim == TL_MAX_RLIMITS ||
			    parse_rlimit(optarg, &l->rlim[l->nrlim]) == -1)
				bad("rlimit", optarg);
			l->nrlim++;
			break;
		case 'M':
			if (parse_mem(optarg, &l->mem_bytes) == -1)
				bad("memory size", optarg);
			break;
		case 'n':
			net = true;
			break;
		case 'p':
			l->pids = strtonum(optarg, 1, TL_PIDS_MAX, &errstr);
			if (errstr != NULL)
				bad("pids", optarg);
			break;
		case OPT_HIDE:
			if (optarg[0] != '/')
				bad("hidden directory", optarg);
			l->hide_arg = optarg;
			break;
		case OPT_NOTIFY:
			l->notify_fd = strtonum(optarg, STDERR_FILENO + 1,
			    INT_MAX, &errstr);
			if (errstr != NULL || fcntl(l->notify_fd, F_SETFD,
			    FD_CLOEXEC) == -1)
				bad("notify fd", optarg);
			break;
		case OPT_PROBE:
			probe = true;
			break;
		case OPT_SERVE:
			warnx("--serve takes no other arguments");
			usage(EXIT_USAGE);
		case 'R':
			if (optarg[0] != '/')
				bad("cgroup root", optarg);
			l->cg_root = optarg;
			break;
		case 'r':
			if (parse_isolators(optarg, &l->require) == -1)
				bad("isolator list", optarg);
			break;
		case 's':
			l->status_file = optarg;
			break;
		case 'g':
			l->grace = strtonum(optarg, 0, TL_GRACE_MAX, &errstr);
			if (errstr != NULL)
				bad("grace", optarg);
			break;
		case 'u':
			l->user = optarg;
			break;
		case 'v':
			l->verbose++;
			break;
		case 'x':
			if (parse_isolators(optarg, &l->want) == -1)
				bad("isolator list", optarg);
			isolate = true;
			break;
		default:
			usage(EXIT_USAGE);
		}
	}
	if (!isolate)
		l->want = ISO_ALL & ~ISO_BIT(ISO_NET);
	if (net)
		l->want |= ISO_BIT(ISO_NET);
	l->want |= l->require;
	if (l->want & ISO_CG_LIMITS)
		l->want |= ISO_BIT(ISO_CGROUP);
	l->argv = argv + optind;
	if (probe)
		return 1;
	if (optind == argc) {
		warnx("missing command");
		usage(EXIT_USAGE);
	}
	return 0;
}

/* Turn the probe into applied/skipped sets, failing on a missing requirement. */
static void
decide(struct launch *l, struct cgroups *cg, const struct probe *pr)
{
	int i;

	for (i = 0; i < ISO_COUNT; i++) {
		if (!(l->want & ISO_BIT(i)))
			continue;
		if (pr->ok[i]) {
			l->applied |= ISO_BIT(i);
			continue;
		}
		if (l->require & ISO_BIT(i))
			launch_fail(l, cg, EXIT_SYSTEM,
			    "required isolator '%s' missing: %s", iso_name(i),
			    pr->detail[i]);
		l->skipped |= ISO_BIT(i);
		if (l->verbose)
			warnx("skipping isolator '%s': %s", iso_name(i),
			    pr->detail[i]);
	}
}

/* Parse, isolate, fork the task, supervise it; return its status. */
static int
launch(int argc, char *argv[])
{
	static char	 idbuf[32];
	struct launch	 l;
	struct probe	 pr;
	struct result	 r;
	struct cgroups	*cg = NULL;
	struct child_fds fds;
	const char	*sandbox = NULL;
	char		 why[TL_REASON_MAX], list[256];
	int		 rep[2];
	sigset_t	 old;
	pid_t		 pid;

	memset(&l, 0, sizeof(l));
	l.grace = TL_GRACE_SEC;
	l.notify_fd = -1;
	l.pids = TL_PIDS_DEFAULT;
	l.cg_root = TL_CGROUP_ROOT;
	l.cg_parent = TL_CGROUP_PARENT;
	if (parse_args(&l, argc, argv, &sandbox) == 1)
		return iso_print_probe(&l);
	if (l.id == NULL) {
		snprintf(idbuf, sizeof(idbuf), "task-%ld", (long)getpid());
		l.id = idbuf;
	}
	if (tl_served)	/* else ps(1) shows the server's "--serve" */
		setproctitle("-task-launch: supervisor of %s", l.id);
	/* Before anything is created: a stop now still cleans up after. */
	if (sup_signals() == -1)
		err(EXIT_SYSTEM, "signals");
	if (parse_user(&l, why, sizeof(why)) == -1)
		launch_fail(&l, NULL, EXIT_SYSTEM, "%s", why);
	if (make_sandbox(&l, sandbox != NULL ? sandbox : ".") == -1)
		launch_fail(&l, NULL, EXIT_SYSTEM, "sandbox %s: %s",
		    sandbox != NULL ? sandbox : ".", strerror(errno));
	if ((l.set_uid || l.set_gid) && sandbox != NULL &&
	    chown(l.sandbox, l.set_uid ? l.uid : (uid_t)-1,
	    l.set_gid ? l.gid : (gid_t)-1) == -1)
		launch_fail(&l, NULL, EXIT_SYSTEM, "chown %s: %s", l.sandbox,
		    strerror(errno));
	if (l.hide_arg != NULL && hide_check(&l) == -1)
		launch_fail(&l, NULL, EXIT_USAGE, "--hide %s: not a directory "
		    "above the sandbox %s", l.hide_arg, l.sandbox);
	if ((fds.out = open_output(&l, "stdout")) == -1 ||
	    (fds.err = open_output(&l, "stderr")) == -1)
		launch_fail(&l, NULL, EXIT_SYSTEM, "sandbox output in %s: %s",
		    l.sandbox, strerror(errno));
	if (iso_probe(&l, &pr, &cg, why, sizeof(why)) == -1)
		launch_fail(&l, NULL, EXIT_SYSTEM, "%s", why);
	decide(&l, cg, &pr);
	if (l.hide != NULL && !(l.applied & ISO_BIT(ISO_MOUNT)))
		launch_fail(&l, cg, EXIT_SYSTEM, "--hide %s needs the mount "
		    "isolator", l.hide);
	if (cg != NULL && !(l.applied & ISO_BIT(ISO_CGROUP))) {
		cg_remove(cg);
		cg_destroy(cg);
		cg = NULL;
	}
	if (cg != NULL && cg_limit(cg, &l, why, sizeof(why)) == -1)
		launch_fail(&l, cg, EXIT_SYSTEM, "%s", why);
	if (l.verbose) {
		iso_list(l.applied, list, sizeof(list));
		warnx("task %s: isolators %s", l.id, list);
	}
	if (pipe2(rep, O_CLOEXEC) == -1)
		launch_fail(&l, cg, EXIT_SYSTEM, "pipe: %s", strerror(errno));
	fds.report = rep[1];
	if ((l.applied & ISO_BIT(ISO_PID)) && ns_enter_pid() == -1)
		launch_fail(&l, cg, EXIT_SYSTEM, "unshare pid namespace: %s",
		    strerror(errno));
	if (child_prepare(&l, why, sizeof(why)) == -1)
		launch_fail(&l, cg, EXIT_SYSTEM, "%s", why);
	sup_block(&old);
	if ((pid = child_spawn(&l, cg, &fds)) == -1)
		launch_fail(&l, cg, EXIT_SYSTEM, "clone: %s", strerror(errno));
	child_release(&l);
	sup_unblock(&old);
	close(rep[1]);
	close(fds.out);
	close(fds.err);
	if (cg != NULL)
		cg_close_procs(cg);
	sup_run(&l, cg, pid, rep[0], &r);
	if (r.state == ST_FAILED)
		warnx("%s", r.reason);
	if (cg != NULL) {
		cg_recycle(cg, &r);
		cg_destroy(cg);
	}
	status_write(&l, &r);
	return result_exit(&r);
}

int
main(int argc, char *argv[])
{
	sup_note_signals();	/* before any of ours is set */
	if (argc == 2 && strcmp(argv[1], "--serve") == 0)
		return serve_run(launch, argc, argv);
	/* here, not among the options a served request may carry */
	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		version_exit("task-launch");
	return launch(argc, argv);
}
