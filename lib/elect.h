/*
 * elect: the client half of leader election, for every program that names
 * the master by its election instead of by its endpoint (agentd,
 * cluster-ctl, sched(3)) and for the command cluster-elect(8) runs (the
 * lease).  The candidate half, joining and leading, is cluster-elect's own
 * (bin/cluster-elect); the two backends' shared parts are in
 * elect-backend.h.  The project's ZooKeeper calls are in elect.c and
 * bin/cluster-elect/zk.c.
 *
 * A master string is one of
 *
 *   zk://HOST:PORT[,HOST:PORT...]/PATH
 *           a ZooKeeper election: every candidate owns an ephemeral
 *           sequential znode PATH/n_NNNNNNNNNN; the lowest sequence leads
 *           and its data is the leader's endpoint (empty until it serves).
 *   lock:///ABSOLUTE/PATH
 *           a lock file on a local or shared filesystem: the holder of an
 *           flock(2) on PATH leads while it renews the lease record in the
 *           file (see cluster-elect(8) for the record and for breaking the
 *           lock of a holder that stopped renewing).
 *   anything else (tcp://, ipc://, ...)
 *           an endpoint, used as it is.
 *
 * The lease: cluster-elect hands its command a shared-memory page whose
 * first 8 bytes are the deadline of its leadership, in milliseconds of
 * CLOCK_BOOTTIME (native int64; 0 when revoked), through the inherited
 * descriptor named by $CLUSTER_LEASE_FD.  A command that honours it does
 * nothing on behalf of the leader once the deadline has passed.
 *
 * Who frees what: every elect_*_create()/elect_join() result is freed by
 * its _destroy()/elect_leave(); strings passed in are copied.
 */
#ifndef CLUSTER_ELECT_H
#define CLUSTER_ELECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ELECT_ERRLEN		256
#define ELECT_ENDPOINT_MAX	256	/* longest endpoint a leader publishes */
#define ELECT_LEASE_ENV		"CLUSTER_LEASE_FD"
/*
 * What cluster-elect tells its command of a ZooKeeper election, for the
 * master's registry (offerd(8)): the election's zk:// string, and the
 * credential file to log in with ("none": --insecure; unset: the one
 * $CLUSTER_CREDENTIAL or the credentials directory names).
 */
#define ELECT_REGISTRY_ENV	"CLUSTER_REGISTRY"
#define ELECT_REGISTRY_CRED_ENV	"CLUSTER_REGISTRY_CREDENTIAL"
#define ELECT_CONNECT_MS	5000	/* longest wait for a ZooKeeper session */
#define ELECT_FOLLOW_LOCK_MS	100	/* lock file re-read period of a follower */
#define ELECT_FOLLOW_ZK_MS	2000	/* ZooKeeper re-read period (watches aside) */

enum elect_kind { ELECT_ENDPOINT, ELECT_ZK, ELECT_LOCK };

/* What a master string names; a parsed copy of it. */
struct elect_url {
	enum elect_kind	kind;
	char		hosts[1024];	/* ELECT_ZK: "h:p,h:p" */
	char		path[1024];	/* ELECT_ZK: znode; ELECT_LOCK: file */
	char		endpoint[1024];	/* ELECT_ENDPOINT: the string itself */
};

/*
 * Parse the master string S into U.  Returns 0, or -1 with a reason in
 * ERR (ELECT_ERRLEN bytes) when S looks like an election but is malformed.
 */
int	elect_url_parse(const char *s, struct elect_url *u, char *err);

/* The current leader as a lookup sees it. */
struct elect_leader {
	char	endpoint[ELECT_ENDPOINT_MAX];	/* "" when none serves yet */
	char	id[128];	/* znode name, or "pid@host" of the lock holder */
	int	candidates;	/* znodes in the election; 0 with a lock file */
	int64_t	session_ms;	/* the holder's session timeout (lock file) */
};

/*
 * Look the leader of MASTER up once.  Returns 0 with OUT filled; -1 with
 * a reason in ERR when there is no leader right now (none elected, none
 * serving yet, lease expired) or MASTER is malformed; -2 when the answer
 * cannot be had (ZooKeeper unreachable, I/O error, a lock file that
 * others may write).  A plain endpoint is
 * returned as it is.
 */
int	elect_lookup(const char *master, struct elect_leader *out, char *err);

/*
 * The endpoint to talk to for MASTER: its leader's for zk:// and lock://,
 * MASTER itself otherwise.  Writes it into ENDPOINT (LEN bytes) and
 * returns 0, or returns -1 or -2 with a reason in ERR as elect_lookup().
 */
int	elect_resolve(const char *master, char *endpoint, size_t len, char *err);

/*
 * Following the leader, for long-lived clients (agentd, schedulers,
 * cluster-ctl subscribe/run).  Call elect_follow_poll() from the event
 * loop as often as you like (a call costs a mutex and a clock read unless
 * something changed or a re-read is due).
 */
struct elect_follow;

/* Start following MASTER.  Returns NULL with a reason in ERR. */
struct elect_follow *elect_follow_create(const char *master, char *err);
void	elect_follow_destroy(struct elect_follow *);

/*
 * Returns 1 with the new leader's endpoint in ENDPOINT (LEN bytes) the
 * first time one is known and whenever it changes; 0 otherwise (no change,
 * or no leader known right now: keep talking to the last one).  A plain
 * endpoint is returned once, then never again.
 */
int	elect_follow_poll(struct elect_follow *, char *endpoint, size_t len);

/*
 * How much the ZooKeeper client logs on stderr, LEVEL being the count of
 * -v: nothing below 2, then warnings, information, debugging.
 */
void	elect_set_verbose(int level);

/* ---- the lease, as the command run by cluster-elect reads it ---- */

/* Milliseconds of CLOCK_BOOTTIME, the clock of the lease. */
int64_t	elect_clock_ms(void);

/*
 * For a command run by cluster-elect: true (1) when the lease named by
 * $CLUSTER_LEASE_FD has expired or been revoked, or cannot be read (a
 * reason is logged once); 0 while it holds, and always 0 when the
 * variable is not set.  The first call maps the lease, marks the
 * descriptor close-on-exec and removes the variable from the environment,
 * so that the command's own children never believe they lead.
 */
int	elect_lease_expired(void);

#endif
