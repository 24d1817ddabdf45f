/*
 * task-launch: apply one task's isolation (cgroups, namespaces,
 * capabilities, rlimits, user) and exec it, staying behind as the
 * supervisor that its pid namespace needs.  Modules:
 *   main.c       options, usage, the order of the steps
 *   parse.c      numbers, lists, users, the fork server's requests: every
 *                malformed input is a usage error
 *   isolator.c   the isolator names, availability probes, --probe output
 *   cgroup.c     cgroup v1/v2 discovery, task cgroup, limits, kill, accounting
 *   ns.c         namespaces: probe, unshare, /proc, hostname, loopback
 *   caps.c       capability bounding/ambient sets, no_new_privs
 *   child.c      everything between fork and exec in the task's process
 *   supervise.c  signals, the wait loop, the kill sequence
 *   status.c     the JSON status file
 *   serve.c      --serve: the fork server agentd keeps, and its resize
 *                of a running task's cgroup limits
 * Nothing here is shared outside this folder.
 */
#ifndef TASK_LAUNCH_H
#define TASK_LAUNCH_H

#include <sys/types.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "exits.h"	/* the statuses of the man page's table */
#include "proto-limits.h"

/*
 * Under AddressSanitizer (make SAN=1, t/san).  TL_NO_ASAN marks what runs
 * on the task's process's own stack, which ASan does not know (a clone
 * sharing our memory: child.c); its calls that do not return would make
 * ASan warn, wrongly, that the stack is too large to clean.  TL_LEAK_CHECK()
 * checks for leaks now: LeakSanitizer cannot stop a process whose
 * children are in another pid namespace, so at exit it would fail.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define TL_NO_ASAN	__attribute__((no_sanitize("address")))
#define TL_LEAK_CHECK()	__lsan_do_leak_check()
#endif
#endif
#ifndef TL_NO_ASAN
#define TL_NO_ASAN
#define TL_LEAK_CHECK()	do { } while (0)
#endif

#define TL_CGROUP_ROOT	"/sys/fs/cgroup"
#define TL_CGROUP_PARENT "cluster-tasks"
#define TL_PATH		"/usr/local/bin:/usr/bin:/bin"
#define TL_GRACE_SEC	3
#define TL_GRACE_MAX	3600
#define TL_PIDS_DEFAULT	1024
#define TL_PIDS_MAX	4194304		/* the kernel's PID_MAX_LIMIT */
#define TL_CFS_PERIOD_US 100000
#define TL_ID_MAX	160	/* agent id . task id; cgroup names take 255 */
#define TL_MAX_RLIMITS	16
#define TL_MAX_ENV	256
#define TL_REASON_MAX	256
/* a request, log path and argv: below a socket's default send buffer */
#define SERVE_ARGS_MAX	4096
/* The codes of a refused resize (task-launch(8), FORK SERVER), besides
 * E_MALFORMED and E_INVALID of proto.h. */
#define TL_E_UNKNOWN	"unknown_task"	/* no task cgroup of that id */
#define TL_E_BUSY	"busy"		/* it uses more than the new limit */
#define TL_E_SYSTEM	"system"	/* the kernel refused a limit */

/* The isolators, in the order --probe prints them. */
enum iso {
	ISO_CGROUP, ISO_MEMORY, ISO_CPU, ISO_PIDS,
	ISO_PID, ISO_MOUNT, ISO_IPC, ISO_UTS, ISO_NET,
	ISO_CAPS, ISO_NNP, ISO_RLIMITS,
	ISO_COUNT
};
#define ISO_BIT(i)	(1u << (i))
#define ISO_CG_LIMITS	(ISO_BIT(ISO_MEMORY) | ISO_BIT(ISO_CPU) | ISO_BIT(ISO_PIDS))
#define ISO_ALL		(ISO_BIT(ISO_COUNT) - 1)

struct rlim_opt {
	int		resource;
	struct rlimit	lim;
};

/* Everything the command line says; filled by main.c, read by the rest. */
struct launch {
	double		 cpus;		/* 0: no cpu limit */
	uint64_t	 mem_bytes;	/* 0: no memory limit */
	long long	 pids;
	int		 grace;
	const char	*cg_root;
	const char	*cg_parent;
	char		*sandbox;	/* absolute (make_sandbox's buffer) */
	const char	*hide_arg;	/* --hide as given */
	char		*hide;		/* its realpath(3), owned; NULL: none */
	const char	*id;
	const char	*status_file;
	const char	*user;
	const char	*group;
	uid_t		 uid;
	gid_t		 gid;
	bool		 set_uid, set_gid;
	bool		 user_named;	/* --user is a name in the user database */
	unsigned	 want;		/* isolators to apply */
	unsigned	 require;	/* isolators that must be available */
	unsigned	 applied;	/* what was really applied */
	unsigned	 skipped;	/* wanted, missing, not required */
	unsigned	 reset;		/* isolators whose limits cg_limit
					   sets back to none when not set */
	uint64_t	 keep_caps;	/* bit per capability to keep */
	struct rlim_opt	 rlim[TL_MAX_RLIMITS];
	int		 nrlim;
	char		*env[TL_MAX_ENV];
	int		 nenv;
	char		**envp;		/* the task's environment (child.c) */
	char		*envbase[4];	/* its base entries, allocated */
	gid_t		*groups;	/* a named user's groups, */
	int		 ngroups;	/* else -1 */
	void		*caps;		/* cap_t for the task (caps.c) */
	int		 verbose;
	int		 notify_fd;	/* "running PID" once exec'd; -1: none */
	char		**argv;		/* the command */
};

/* Availability of every isolator, with a one-line detail each. */
struct probe {
	bool	ok[ISO_COUNT];
	char	detail[ISO_COUNT][160];
};

/* What the supervisor learned about the task when it ended. */
struct result {
	enum { ST_EXITED, ST_SIGNALED, ST_FAILED } state;
	int		 code;		/* exit code, signal, or our exit status */
	bool		 oom, killed;
	long long	 cpu_ms, mem_peak_mb;
	char		 reason[TL_REASON_MAX];
};

struct cgroups;

/* parse.c */
int	 parse_cpus(const char *, double *);
int	 parse_mem(const char *, uint64_t *);
int	 parse_rlimit(const char *, struct rlim_opt *);
int	 parse_isolators(const char *, unsigned *);
int	 parse_caps(const char *, uint64_t *);
int	 parse_id(const char *);
int	 parse_user(struct launch *, char *, size_t);
int	 parse_request(char *, size_t, char **, char **, int, const char **);
int	 parse_resize(const char *, size_t, struct launch *, const char **,
	    const char **);
const char *iso_name(enum iso);

/* isolator.c */
int	 iso_probe(struct launch *, struct probe *, struct cgroups **,
	    char *, size_t);
int	 iso_print_probe(struct launch *);
void	 iso_list(unsigned, char *, size_t);

/* cgroup.c */
struct cgroups *cg_discover(const char *root, const char *parent,
	    char *why, size_t);
int	 cg_create(struct cgroups *, const char *id, struct probe *,
	    char *why, size_t);
int	 cg_open(struct cgroups *, const char *id);
int	 cg_limit(struct cgroups *, const struct launch *, char *, size_t);
int	 cg_join(struct cgroups *);
void	 cg_close_procs(struct cgroups *);
int	 cg_signal_all(struct cgroups *, int sig, bool first);
void	 cg_account(struct cgroups *, struct result *);
int	 cg_remove(struct cgroups *);
int	 cg_recycle(struct cgroups *, const struct result *);
void	 cg_destroy(struct cgroups *);

/* serve.c */
extern bool tl_served;
int	 serve_run(int (*)(int, char **), int, char **);

/* ns.c */
unsigned ns_probe(unsigned want, struct probe *);
int	 ns_enter_pid(void);
int	 ns_setup(const struct launch *, char *, size_t);

/* caps.c */
void	 caps_probe(struct probe *);
int	 caps_drop_bound(const struct launch *, char *, size_t);
int	 caps_prepare(struct launch *, char *, size_t);
void	 caps_release(struct launch *);
int	 caps_apply(const struct launch *, char *, size_t);
int	 caps_no_new_privs(char *, size_t);

/* child.c: a failing child sends one report up the pipe (atomic write). */
struct report {
	int	 code;
	char	 msg[TL_REASON_MAX];
};
struct child_fds {
	int	 out, err;	/* sandbox/stdout, sandbox/stderr */
	int	 report;	/* error pipe, write end, close-on-exec */
};
int	 child_prepare(struct launch *, char *, size_t);
void	 child_release(struct launch *);
void	 child_run(struct launch *, struct cgroups *, struct child_fds *)
	    __attribute__((noreturn));
pid_t	 child_spawn(struct launch *, struct cgroups *, struct child_fds *);

/* supervise.c */
int	 sup_signals(void);
void	 sup_block(sigset_t *old);
void	 sup_unblock(const sigset_t *old);
void	 sup_note_signals(void);
void	 sup_child_signals(void);
void	 sup_run(struct launch *, struct cgroups *, pid_t, int report,
	    struct result *);

/* status.c */
int	 status_write(const struct launch *, const struct result *);
int	 result_exit(const struct result *);

#endif
