/*
 * net: the transport.  Every nanomsg call of the project is in net.c, so
 * that moving to nng touches one file.  One message is one frame: a record,
 * or a msgpack array of records to one peer (cluster-protocol(7), FRAMES),
 * sealed once; net_recv hands the records out one by one.
 *
 *   NET_HUB    offerd's socket: binds a raw REP socket that addresses any
 *              number of peers; each received record comes with the route
 *              back to its sender (struct net_route).
 *   NET_PEER   a raw REQ socket connected to a hub: agentd, cluster-ctl,
 *              schedulers.  It may send and receive any number of records
 *              in any order.
 *   NET_PAIR_BIND / NET_PAIR_CONNECT
 *              a one-to-one link (offerd and its allocator).
 *
 * On a pair, a send never waits: a record the other side cannot take yet
 * (not connected, or its buffers full) is kept by the sender, with every
 * one after it, in order, up to NET_PAIR_KEEP records; net_flush sends
 * them and net_unsent says that some wait.  Nothing is lost below that
 * bound, and neither side stops reading while the other is busy.
 * Between hub and peers, delivery is best effort: a record sent to a gone or busy peer vanishes
 * without an error, and a reconnect changes a peer's route.  Records that
 * must arrive are retransmitted by the caller until acknowledged (see
 * cluster-protocol(7)); the hub keeps each peer's latest route.
 */
#ifndef CLUSTER_NET_H
#define CLUSTER_NET_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "auth.h"

#define NET_ROUTE_MAX	64
#define NET_PAIR_KEEP	1048576	/* records a pair keeps while the other side is busy */
#define NET_UNSENT_MS	10	/* net_unsent: flush again after this long */
#define NET_CONNECT_MS	1000	/* a new peer: net_wait_connected bound (returns once connected) */

enum net_role { NET_HUB, NET_PEER, NET_PAIR_BIND, NET_PAIR_CONNECT };

/*
 * The way back to one peer of a hub, and who it proved to be; plain data,
 * copy it freely.  On a hub with keys (net_set_keys), PRINCIPAL is the
 * principal whose secret sealed the record received ("" when it was
 * refused: REFUSED then says why), and what is sent back on the route is
 * sealed for that principal.
 */
struct net_route {
	size_t		 len;
	unsigned char	 hdr[NET_ROUTE_MAX];
	char		 principal[AUTH_PRINCIPAL_MAX];
	enum auth_fail	 refused;
};

struct net;

/*
 * Open a socket of ROLE on ENDPOINT (tcp://host:port, ipc:///path, ...).
 * Returns it, or NULL with a reason in ERR (256 bytes).  A NET_PEER
 * connects in the background: see net_wait_connected.
 */
struct net *net_open(enum net_role role, const char *endpoint, char *err);
void	net_close(struct net *);

/* A file descriptor that polls readable when a record may be waiting. */
int	net_fd(struct net *);

/*
 * Identity (see auth.h).  A peer with a credential seals every record it
 * sends with it and takes only records the master sealed for it, and the
 * one unsealed record a master sends to a peer it cannot authenticate:
 * an ERROR with code "unauthenticated".  A hub with keys takes only
 * records sealed by a principal KEYS knows (KEYS returns its credential,
 * or NULL), and seals what it sends on a route for the route's principal;
 * on a route without one it sends nothing but ERROR records, in the
 * clear.  C and what KEYS returns must outlive N.  Returns 0 or -1.
 */
int	net_set_cred(struct net *, const struct auth_cred *c);
/*
 * The credential every peer socket this process opens from now on seals
 * with (a copy is kept); NULL: none, records in the clear.  Returns 0 or
 * -1 (libsodium cannot start).
 */
int	net_peer_cred(const struct auth_cred *c);
/*
 * Find this program's credential as auth_cred_find() does (PATH, else
 * $CLUSTER_CREDENTIAL, else the credentials directory) and make it the
 * one of every peer socket; none found is no error (records go in the
 * clear, and a master that wants them sealed says so).  Returns 0, or -1
 * with ERR (AUTH_ERRLEN) when a named credential cannot be used.
 */
int	net_peer_cred_find(const char *path, char *err);
int	net_set_keys(struct net *,
	    const struct auth_cred *(*keys)(void *arg, const char *principal),
	    void *arg);

/*
 * Receive one record without blocking.  Returns 1 with *REC set (the
 * caller owns it), 0 when nothing is waiting, -1 when the bytes were not
 * a valid record or not an authentic one (ERR says why; FROM is still the
 * sender's route on a hub, so an ERROR can go back, and FROM->refused is
 * the identity layer's reason, AUTH_OK when it was the record itself),
 * -2 on a socket failure (ERR says why).  FROM may be NULL.
 */
int	net_recv(struct net *, json_t **rec, struct net_route *from, char *err);

/*
 * Send REC; TO is the peer's route on a hub and ignored otherwise.
 * Returns 0, or -1 when the record could not be queued (too big, no
 * route, peer not connected).
 */
int	net_send(struct net *, const struct net_route *to, const json_t *rec);

/* Send raw bytes (for tests of bad input).  Returns 0 or -1. */
int	net_send_raw(struct net *, const struct net_route *to,
	    const void *buf, size_t len);

/*
 * Wait up to MS milliseconds (-1: forever) for N's socket to be readable;
 * at once when records of a frame are still to be handed out.
 */
int	net_wait(struct net *, int ms);
/*
 * True when net_recv has records of a frame still to hand out: N's fd
 * does not poll readable for them, so a loop that takes a bounded number
 * of records a turn must not sleep while this holds.
 */
int	net_pending(struct net *);

/*
 * Batches (hub and peer sockets; net_cork is a no-op on pairs, and
 * net_flush sends a pair's kept records, returning 1 while some are still
 * refused).  After net_cork,
 * net_send packs each record into a frame for its peer instead of sending
 * it, and returns 0 once it is packed; a frame goes when it would pass
 * REC_MAX_SIZE or REC_MAX_BATCH records, or at net_flush, which sends
 * them all (one record alone goes as itself) and uncorks.  net_flush
 * returns how many frames the socket refused: a hub's are dropped (best
 * effort, as any send to a gone peer); a peer's is kept and goes, in
 * order, before the next record.  Call net_flush before sleeping.
 */
void	net_cork(struct net *);
int	net_flush(struct net *);
/* True when a peer or a pair keeps what its socket refused: flush again soon. */
int	net_unsent(struct net *);
/* Drop what a pair keeps: the other side restarted and is told anew. */
void	net_drop_unsent(struct net *);
/* How many frames N has taken in (valid ones) and sent, since it opened. */
void	net_frames(const struct net *, uint64_t *in, uint64_t *out);
/*
 * Wait up to MS for a connecting socket to have a connection a record
 * can leave on: 1 when it has, 0 when MS passed, -1 on an error.  A first
 * record sent at once would be refused while the connection is made.
 */
int	net_wait_connected(struct net *, int ms);

/*
 * The records a peer's socket refused (its buffer full, its link not up
 * yet), in order, to send before anything newer.  Zeroed is empty.
 */
struct net_queue {
	json_t		**q;
	size_t		 head, len, cap;
	size_t		 max;		/* the longest it has been */
};

/*
 * Send REC (consumed) on N now, or queue it behind the records waiting in
 * Q; at most LIMIT wait (0: no limit).  Returns 1 when sent, 0 when
 * queued, -1 when dropped (LIMIT reached, or out of memory).
 */
int	net_queue_send(struct net *, struct net_queue *, json_t *rec,
	    size_t limit);

/* Send Q's records until the socket refuses one again; returns how many. */
size_t	net_queue_flush(struct net *, struct net_queue *);

/* Drop every record Q holds and its memory. */
void	net_queue_clear(struct net_queue *);

/* True when two routes are the same peer connection. */
int	net_route_eq(const struct net_route *, const struct net_route *);

#endif
