/*
 * zkstore: one document kept in ZooKeeper beside an election, for the
 * master's registry (offerd's state.c).  The document of the election
 * zk://HOSTS/PATH named NAME is PATH/NAME, whose data is a header
 *
 *   zkstore/1 GENERATION CHUNKS BYTES
 *
 * and whose children GENERATION-I (I from 0 to CHUNKS - 1) hold its
 * bytes, ZKSTORE_CHUNK at most each: under ZooKeeper's 1 MB limit of a
 * znode.  A write makes the chunks of a new generation, then sets the
 * header (only if nobody wrote it since we read or wrote it last: a
 * master that is no longer the leader cannot overwrite its successor),
 * then deletes the old generation: a reader sees one whole document, the
 * old or the new.  Every znode is the masters' credential's alone
 * (elect_zk_acl_private: the registry names principals).
 *
 * Internal: not installed with libcluster.  Who frees what: zkstore_open()
 * is undone by zkstore_close(); zkstore_read()'s buffer is free()d by the
 * caller.
 */
#ifndef CLUSTER_ZKSTORE_H
#define CLUSTER_ZKSTORE_H

#include <stddef.h>

#define ZKSTORE_CHUNK	(512 * 1024)	/* bytes of one znode's data */
#define ZKSTORE_MAX	(16 * ZKSTORE_CHUNK)	/* the largest document */
#define ZKSTORE_SESSION_MS	10000

struct zkstore;
struct auth_cred;

/*
 * Open the document NAME of the election MASTER (zk://...), logged in as
 * CRED (NULL: open znodes, as cluster-elect --insecure makes them).
 * Waits up to ELECT_CONNECT_MS for the session.  Returns it, or NULL with
 * ERR (ELECT_ERRLEN bytes).
 */
struct zkstore *zkstore_open(const char *master, const char *name,
	    const struct auth_cred *cred, char *err);
void	zkstore_close(struct zkstore *);
/* The document's znode, for messages. */
const char *zkstore_path(const struct zkstore *);

/*
 * Read the document into a new *BUF (NUL-terminated) of *LEN bytes;
 * *BUF is NULL when none was written yet.  Returns 0, or -1 with ERR.
 */
int	zkstore_read(struct zkstore *, char **buf, size_t *len, char *err);

/*
 * Replace the document with the LEN bytes of BUF.  Returns 0 once
 * ZooKeeper has it; -1 with ERR when it could not be written (too large,
 * ZooKeeper unreachable: the old one stays); -2 with ERR when another
 * writer wrote it since this one last read or wrote it.
 */
int	zkstore_write(struct zkstore *, const char *buf, size_t len,
	    char *err);

#endif
