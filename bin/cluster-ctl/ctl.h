/*
 * What the files of cluster-ctl share: the global options, the way to the
 * master, and the commands.
 */
#ifndef CLUSTER_CTL_H
#define CLUSTER_CTL_H

#include <getopt.h>
#include <signal.h>
#include <stdint.h>

#include "net.h"
#include "scheduler.h"

#define EX_TIMEOUT	124	/* run: -t ran out */
#define EX_NOLAUNCH	125	/* run: the task was never launched */
#define RESEND_MS	500
#define QUERY_TIMEOUT_MS 5000	/* -t of every command but run */
#define POLL_MS		100	/* longest sleep of run and subscribe */
#define WAIT_WARN_MS	2000	/* run: say what it still waits for */
#define KILL_WAIT_MS	15000	/* run: how long a killed task may take */
#define DECLINE_S	1.0	/* run: an offer too small, until launched */
#define LAUNCHED_DECLINE_S 60.0	/* run: any offer once launched */
#define DRAIN_MS	10000	/* run: the rest of an ended task's output */
#define GLOBAL_OPTS	"C:hm:o:t:"

extern const char *opt_master;
extern const char *opt_cred;
extern const char *opt_format;
extern int opt_noheader;
extern int64_t opt_timeout_ms;
extern volatile sig_atomic_t got_signal;

/* The usage on stderr; returns the exit status of a usage error (100). */
int	bad_usage(void);
/*
 * getopt_long(3) over a command's own options OWN and LONGOPTS (NULL for
 * none) and the global ones, which it takes itself: returns the next own
 * option, '?' for an unknown one, -1 at the first operand.
 */
int	next_opt(int, char **, const char *, const struct option *);
/* 0 when a command with no options of its own has NARGS operands. */
int	no_own_opts(int, char **, int);
/*
 * Connect to the master (its leader, if elected); exits 100 or 111.
 * connect_master returns once connected (or NET_CONNECT_MS passed);
 * open_master at once, connecting in the background.
 */
struct net *connect_master(void);
struct net *open_master(void);
/* A framework on the master with OPTS and CB; exits 100 or 111. */
struct sched *connect_framework(struct sched_opts *,
	    const struct sched_callbacks *, void *);
/*
 * Send REQ until a record of type WANT or an ERROR comes back (the caller
 * frees it); nanomsg connects in the background, so early sends may go
 * nowhere.  Exits 111 after the -t timeout.
 */
json_t	*request_any(struct net *, json_t *, const char *);
/* request_any, but an ERROR exits 1 (master_refused). */
json_t	*request(struct net *, json_t *, const char *);
/* Say why the master refused (ERROR ERR), with a hint, and exit STATUS. */
void	master_refused(const json_t *err, int status) __attribute__((noreturn));
/* SIGINT and SIGTERM set got_signal and interrupt poll(2). */
void	catch_signals(void);

/*
 * A reader of a task's output through the master (logs.c): stdout to
 * ours, stderr to ours.
 */
#define TAIL_BOTH	0
#define TAIL_STDOUT	1
#define TAIL_STDERR	2
struct tail {
	struct net	*n;
	char		 fw[64], task[64];
	int		 want[2];	/* stdout, stderr */
	int64_t		 off[2];	/* what we have written of each */
	int		 eof[2];	/* the task ended and we have it all */
	int64_t		 idle[2];	/* caught up: ask again then, or 0 */
	int		 busy, asked;	/* a request in flight, for which */
	int64_t		 sent;
	char		 err[256];
};
/* Read task TASK of framework FW: TAIL_BOTH, _STDOUT or _STDERR. */
void	tail_init(struct tail *, const char *fw, const char *task, int);
/*
 * Ask for more when nothing is in flight, wait up to WAIT_MS, write what
 * came: 1 when something did, 0 if not, -1 with t->err on an error.
 */
int	tail_step(struct tail *, int wait_ms);
/* Whether every stream wanted is at its end and the task has ended. */
int	tail_done(const struct tail *);
void	tail_close(struct tail *);

/* Print ITEMS as a table with columns COLS (comma separated). */
void	table_print(json_t *items, const char *cols);
/*
 * Every item the master answers QUERY Q with, page after page, as a new
 * array; Q is the caller's (its "after" is set and removed).  An ERROR
 * exits 1, no answer 111.
 */
json_t	*query_all(struct net *, json_t *q);
/* The master's metrics text (QUERY metrics), a new string; exits too. */
char	*query_metrics(struct net *);

int	cmd_credential(int, char **);
int	cmd_metrics(int, char **);
int	cmd_top(int, char **);
int	cmd_list(int, char **);
int	cmd_logs(int, char **);
int	cmd_history(int, char **);
int	cmd_weight(int, char **);
int	cmd_drain(int, char **);
int	cmd_undrain(int, char **);
int	cmd_quota(int, char **);
int	cmd_reserve(int, char **);
int	cmd_run(int, char **);
int	cmd_subscribe(int, char **);
int	cmd_executor(int, char **);

/*
 * bridge.c: JSON lines on stdin, for subscribe and executor.  Zeroed is
 * empty; CODE becomes 1 when a line is not a record.
 */
struct lines {
	char		*ib;		/* a partial line (allocated) */
	size_t		 ilen;
	int		 code;
};
/*
 * Read what stdin holds and hand each complete line, as a record, to
 * TAKE (borrowed).  Uses read(2), not stdio, so that every complete line
 * is taken now.  Returns 0 at the end of stdin, 1 otherwise.
 */
int	lines_read(struct lines *, void (*take)(void *, json_t *), void *arg);

#endif
