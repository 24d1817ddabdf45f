/*
 * elect-backend: what the client half of the election (elect.c) shares
 * with cluster-elect's candidates (bin/cluster-elect): the lock file's
 * record and the ZooKeeper handle.  Internal: not installed with
 * libcluster, and no other program needs it.  Who frees what: an
 * elect_zk_open() handle is freed by elect_zk_free().
 */
#ifndef CLUSTER_ELECT_BACKEND_H
#define CLUSTER_ELECT_BACKEND_H

#include <pthread.h>
#include <stdint.h>

#define THREADED	/* the synchronous API of libzookeeper_mt */
#include <zookeeper/zookeeper.h>

#include "elect.h"

#define ELECT_LOCK_REC_LEN	512	/* the lock file's record, bytes */
#define ELECT_LOCK_MAGIC	"cluster-elect/1"
#define ELECT_ZK_PREFIX		"n_"	/* our znodes: PATH/n_0000000042 */

/* The record of the lock file: who holds it, until when, serving where. */
struct elect_lock_rec {
	long	pid;
	char	host[128];
	int64_t	session_ms;
	int64_t	expires_ms;		/* wall clock */
	long	cpid;			/* the command, 0 before it runs */
	char	endpoint[ELECT_ENDPOINT_MAX];	/* "" while not serving */
};

/*
 * Read and parse the record of the lock file open on FD.  Returns 0, or
 * -1 when the file holds no valid record (empty, torn or foreign).
 */
int	elect_lock_rec_read(int fd, struct elect_lock_rec *r);

/* A ZooKeeper handle with the state its watcher and completions share. */
struct elect_zk {
	zhandle_t	*zh;
	char		 hosts[1024];
	char		 base[1024];	/* the election's znode */
	pthread_mutex_t	 mu;
	int		 pipe[2];	/* readable: something changed */
	/* under mu */
	int		 connected, expired, changed, gone;
	int64_t		 session_ms;
	int64_t		 renewed;	/* lease deadline from the last ping */
	int		 renewing;
	int64_t		 renew_sent;
};


/*
 * A new handle on URL's hosts asking for SESSION_MS; with WAIT, wait up
 * to ELECT_CONNECT_MS for the session.  Returns it, or NULL with ERR.
 */
struct elect_zk *elect_zk_open(const struct elect_url *url, int64_t session_ms,
	    int wait, char *err);
/* Free Z (NULL allowed); closing the handle first lets no callback run. */
void	elect_zk_free(struct elect_zk *z);
/* Wake the owner of Z's event loop (make Z's pipe readable). */
void	elect_zk_wake(struct elect_zk *z);
/* The watcher of every handle and watch: note what happened, wake up. */
void	elect_zk_watcher(zhandle_t *zh, int type, int state, const char *path,
	    void *ctx);
struct auth_cred;
/* The permissions the election's and the registry's znodes give anyone. */
#define ELECT_ZK_WORLD_PERMS	ZOO_PERM_READ
/*
 * Log Z's session in as CRED's principal (digest scheme, a password
 * derived from its secret: auth_cred_password), waiting up to
 * ELECT_CONNECT_MS for the answer; nothing for a NULL CRED.  Returns 0,
 * or -1 with ERR.
 */
int	elect_zk_login(struct elect_zk *z, const struct auth_cred *cred,
	    char *err);
/*
 * The ACL of every znode made after logging in with CRED: everything for
 * that identity, ELECT_ZK_WORLD_PERMS for anyone; for a NULL CRED, open
 * to anyone.
 */
struct ACL_vector *elect_zk_acl(const struct auth_cred *cred);
/* The same without the read for anyone: for what only masters read. */
struct ACL_vector *elect_zk_acl_private(const struct auth_cred *cred);
/* The sequence number of a child name, or -1 when it is not ours. */
long long elect_zk_seq(const char *name);
/*
 * In the children CH, find the lowest candidate (into LOWEST) and the one
 * just before the candidate MINE (into PRED; "" when MINE is lowest or
 * NULL).  Returns the number of candidates.
 */
int	elect_zk_order(const struct String_vector *ch, const char *mine,
	    char *lowest, size_t llen, char *pred, size_t plen);

#endif
