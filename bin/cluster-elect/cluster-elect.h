/*
 * cluster-elect: run a command while holding leadership of an election,
 * and stop it as soon as leadership is no longer certain (see
 * cluster-elect(8)).  This is the candidate half of the election; the
 * client half (finding and following the leader, reading the lease) is
 * lib/elect.  Modules:
 *   main.c       the configuration, the set-up and the loop
 *   command.c    the command: checking, starting, stopping, its status
 *   candidate.c  a candidate of either backend, and the lease page
 *   lock.c       the lock file backend
 *   zk.c         the ZooKeeper backend
 *   zkacl.c      its identity and ACLs: who may write the election
 * Who frees what: cand_join() is undone by cand_leave(); lockc_create()
 * and zkc_create() by their _destroy().
 */
#ifndef CLUSTER_ELECT_PROG_H
#define CLUSTER_ELECT_PROG_H

#include <sys/types.h>
#include <stdint.h>

#include "auth.h"
#include "elect.h"
#include "exits.h"

enum cand_state { CAND_STANDBY, CAND_LEADER, CAND_LOST };

/* ---- candidate.c ---- */

struct cand;

/*
 * Join the election named by URL (ELECT_ZK or ELECT_LOCK) with a session
 * timeout of SESSION_MS.  For ZooKeeper this waits up to ELECT_CONNECT_MS
 * for a session, logs in with CRED and makes the znodes with its ACL
 * (CRED NULL: --insecure, open znodes).  Returns the candidate, or NULL
 * with a reason in ERR.
 */
struct cand *cand_join(const struct elect_url *url, int64_t session_ms,
	    const struct auth_cred *cred, char *err);
/* Resign (delete the znode, or clear the record and drop the lock) and
 * free C.  NULL is allowed. */
void	cand_leave(struct cand *c);
/* A descriptor that polls readable when cand_poll() has news; or -1. */
int	cand_fd(struct cand *c);
/* Milliseconds between two cand_poll() calls when nothing wakes us. */
int	cand_tick_ms(struct cand *c);
/* The session timeout in force (ZooKeeper's negotiated one), in ms. */
int64_t	cand_session_ms(struct cand *c);
/*
 * Advance the election.  Returns CAND_LEADER with *LEASE_UNTIL set to the
 * CLOCK_BOOTTIME millisecond up to which no other candidate can lead,
 * CAND_STANDBY, or CAND_LOST when leadership (or, for a standby, the
 * session) is gone for good; WHY (ELECT_ERRLEN bytes) then says why.
 */
enum cand_state cand_poll(struct cand *c, int64_t *lease_until, char *why);
/*
 * Publish ENDPOINT as the leader's, served by the process COMMAND (the
 * lock file records it, so that a successor on the same host need not
 * wait out the lease of a holder whose command is gone too).  Returns 0,
 * or -1 with ERR.
 */
int	cand_publish(struct cand *c, const char *endpoint, pid_t command,
	    char *err);

/*
 * A new lease page, revoked: its first 8 bytes are the deadline read by
 * elect_lease_expired().  Returns its descriptor (not close-on-exec) and
 * the mapping in *PAGE, or -1 with ERR.
 */
int	lease_create(volatile int64_t **page, char *err);

/* ---- lock.c: the lock file backend (see cand_*) ---- */
struct lockc;
struct lockc *lockc_create(const char *path, int64_t session_ms, char *err);
void	lockc_destroy(struct lockc *lc);
enum cand_state lockc_poll(struct lockc *lc, int64_t *lease_until, char *why);
int	lockc_publish(struct lockc *lc, const char *endpoint, pid_t command,
	    char *err);

/* ---- zk.c: the ZooKeeper backend (see cand_*) ---- */
struct zkc;
struct zkc *zkc_create(const struct elect_url *url, int64_t session_ms,
	    const struct auth_cred *cred, char *err);
void	zkc_destroy(struct zkc *c);
int	zkc_fd(struct zkc *c);
int64_t	zkc_session_ms(struct zkc *c);
enum cand_state zkc_poll(struct zkc *c, int64_t *lease_until, char *why);
int	zkc_publish(struct zkc *c, const char *endpoint, char *err);

/* ---- zkacl.c: who may write the election's znodes ---- */
struct elect_zk;
struct ACL_vector;
/*
 * Make every missing znode of the election PATH with CRED's ACL; an
 * existing PATH open to anyone gets it too, an open parent is reported.
 * Returns 0, or -1 with ERR.
 */
int	zka_mkpath(struct elect_zk *z, const char *path,
	    const struct auth_cred *cred, char *err);
/* ERR for a create of PATH refused (ZNOAUTH) to CRED: whose ACL, why. */
void	zka_refused(struct elect_zk *z, const char *path,
	    const struct auth_cred *cred, char *err);

/* ---- command.c ---- */

/* Note the descriptors open at start, to pass on to the command. */
void	command_note_fds(void);
/*
 * The endpoint the command CMD will serve on, from its --listen/-l
 * argument; NULL when it has none.
 */
const char *command_endpoint(char **cmd);
/*
 * Exit EXIT_NOTFOUND (or EXIT_NOEXEC) at once when CMD cannot be found
 * (or is not executable) on PATH, rather than after winning an election.
 */
void	command_check(const char *cmd);
/*
 * Start CMD in its own process group with the lease descriptor LEASE_FD
 * named in its environment.  Returns its pid, or -1 with errno set.
 */
pid_t	command_start(char **cmd, int lease_fd);
/* Stop the command PID and its process group.  Returns its wait status. */
int	command_stop(pid_t pid);
/* The exit status that tells how wait status ST ended. */
int	command_status(int st);

#endif
