#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nanomsg/nn.h>
#include <nanomsg/pair.h>
#include <nanomsg/reqrep.h>
#include <nanomsg/tcp.h>

#include "net.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

/* Room for a sealed frame's header, nonce and MAC beyond the record. */
#define SEAL_ROOM	(4 + AUTH_PRINCIPAL_MAX + AUTH_NONCELEN + AUTH_MACLEN)
#define NET_REQID_LEN	4	/* a raw REQ message's request id */
#define BATCH_HDR	5	/* a batch's msgpack array32 head: 0xdd, count */
#define BATCH_KEEP	65536	/* a batch buffer larger is freed once sent */

/*
 * One peer's frame in the making (net_cork): its records packed back to
 * back from BUF + BATCH_HDR, LEN bytes, COUNT of them.
 */
struct net_out {
	struct net_route to;
	unsigned char	*buf;
	size_t		 len, cap;
	unsigned	 count;
};

/* What every peer socket seals with (net_peer_cred), when HAVE_PEER_CRED. */
static struct auth_cred	peer_cred;
static int		have_peer_cred;

struct net_kept {
	void		*buf;
	size_t		 len;
};

struct net {
	int		sock;
	enum net_role	role;
	int		rcvfd;
	uint32_t	reqid;		/* NET_PEER: next request id */
	struct auth	*auth;		/* NULL: records go in the clear */
	const struct auth_cred *cred;	/* a peer's own */
	const struct auth_cred *(*keys)(void *, const char *);	/* a hub's */
	void		*keys_arg;
	int		corked;		/* net_cork .. net_flush */
	struct net_out	*out;		/* frames in the making, NOUT used */
	size_t		 nout, outcap;
	uint32_t	*slot;		/* a hub's: 1 + index in OUT, by route */
	size_t		 nslot;
	json_t		*in;		/* a batch received, handed out from */
	size_t		 in_next;	/* ... this index on */
	struct net_route in_from;
	uint64_t	 frames_in, frames_out;
	/* a pair's frames the other side could not take yet, in order */
	struct net_kept	*kept;
	size_t		 kept_head, kept_len, kept_cap;
};

struct net *
net_open(enum net_role role, const char *endpoint, char *err)
{
	struct net *n;
	int maxsz = REC_MAX_SIZE + SEAL_ROOM + 64, buf = 4 * 1024 * 1024, ivl = 100;
	int ivlmax = 1000, one = 1, r;
	size_t sz = sizeof(int);

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		snprintf(err, 256, "out of memory");
		return NULL;
	}
	n->role = role;
	n->reqid = arc4random();
	switch (role) {
	case NET_HUB:
		n->sock = nn_socket(AF_SP_RAW, NN_REP);
		break;
	case NET_PEER:
		n->sock = nn_socket(AF_SP_RAW, NN_REQ);
		break;
	default:
		n->sock = nn_socket(AF_SP, NN_PAIR);
	}
	if (n->sock < 0) {
		snprintf(err, 256, "nn_socket: %s", nn_strerror(nn_errno()));
		free(n);
		return NULL;
	}
	/* an oversize message would silently drop the whole connection */
	nn_setsockopt(n->sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz, sizeof(maxsz));
	nn_setsockopt(n->sock, NN_SOL_SOCKET, NN_SNDBUF, &buf, sizeof(buf));
	nn_setsockopt(n->sock, NN_SOL_SOCKET, NN_RCVBUF, &buf, sizeof(buf));
	nn_setsockopt(n->sock, NN_SOL_SOCKET, NN_RECONNECT_IVL, &ivl, sizeof(ivl));
	nn_setsockopt(n->sock, NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX, &ivlmax,
	    sizeof(ivlmax));
	if (strncmp(endpoint, "tcp://", 6) == 0)
		nn_setsockopt(n->sock, NN_TCP, NN_TCP_NODELAY, &one, sizeof(one));
	if (role == NET_HUB || role == NET_PAIR_BIND)
		r = nn_bind(n->sock, endpoint);
	else
		r = nn_connect(n->sock, endpoint);
	if (r < 0) {
		snprintf(err, 256, "%s %s: %s",
		    role == NET_HUB || role == NET_PAIR_BIND ? "bind" : "connect",
		    endpoint, nn_strerror(nn_errno()));
		nn_close(n->sock);
		free(n);
		return NULL;
	}
	if (nn_getsockopt(n->sock, NN_SOL_SOCKET, NN_RCVFD, &n->rcvfd, &sz) < 0) {
		snprintf(err, 256, "NN_RCVFD: %s", nn_strerror(nn_errno()));
		nn_close(n->sock);
		free(n);
		return NULL;
	}
	if (role == NET_PEER && have_peer_cred &&
	    net_set_cred(n, &peer_cred) == -1) {
		snprintf(err, 256, "libsodium cannot start");
		net_close(n);
		return NULL;
	}
	return n;
}

void
net_close(struct net *n)
{
	if (n == NULL)
		return;
	nn_close(n->sock);
	auth_destroy(n->auth);
	while (n->outcap > 0)
		free(n->out[--n->outcap].buf);
	free(n->out);
	free(n->slot);
	net_drop_unsent(n);
	free(n->kept);
	json_decref(n->in);
	free(n);
}

/* Give N its sealing state; 0 or -1. */
static int
net_auth_init(struct net *n)
{
	if (n->auth != NULL)
		return 0;
	if (auth_init() == -1 || (n->auth = auth_create()) == NULL)
		return -1;
	return 0;
}

int
net_set_cred(struct net *n, const struct auth_cred *c)
{
	if (n->role != NET_PEER || net_auth_init(n) == -1)
		return -1;
	n->cred = c;
	return 0;
}

int
net_peer_cred(const struct auth_cred *c)
{
	if (c == NULL) {
		have_peer_cred = 0;
		return 0;
	}
	if (auth_init() == -1)
		return -1;
	peer_cred = *c;
	have_peer_cred = 1;
	return 0;
}

int
net_peer_cred_find(const char *path, char *err)
{
	char where[AUTH_ERRLEN];
	struct auth_cred c;
	int r;

	if ((r = auth_cred_find(path, &c, where, sizeof(where), err)) == 1)
		return 0;
	if (r == -1)
		return -1;
	r = net_peer_cred(&c);
	if (r == -1)
		snprintf(err, AUTH_ERRLEN, "libsodium cannot start");
	return r;
}

int
net_set_keys(struct net *n,
    const struct auth_cred *(*keys)(void *, const char *), void *arg)
{
	if (n->role != NET_HUB || net_auth_init(n) == -1)
		return -1;
	n->keys = keys;
	n->keys_arg = arg;
	return 0;
}

/*
 * Open the frame BODY of LEN bytes that came to N; returns the records it
 * holds (rec_unpack_frame), or NULL with ERR, and FROM's principal and
 * refusal set.
 */
static json_t *
net_open_frame(struct net *n, const void *body, size_t len,
    struct net_route *from, char *err)
{
	char principal[AUTH_PRINCIPAL_MAX];
	const struct auth_cred *c = n->cred;
	enum auth_fail why = AUTH_NOT_SEALED;
	json_t *rec = NULL;
	size_t plen;
	void *plain = NULL;

	if (auth_principal(body, len, principal) == 0) {
		if (n->role == NET_HUB)
			c = n->keys(n->keys_arg, principal);
		if (c == NULL)
			why = AUTH_UNKNOWN;
		else
			plain = auth_open(n->auth, c, n->role == NET_HUB ?
			    AUTH_TO_MASTER : AUTH_FROM_MASTER, body, len,
			    &plen, &why);
	} else if (n->role == NET_PEER) {
		/* in the clear, a master may say only that it refused us */
		rec = rec_unpack(body, len, err);
		if (rec != NULL && strcmp(rec_type(rec), R_ERROR) == 0 &&
		    rec_str(rec, "code") != NULL &&
		    strcmp(rec_str(rec, "code"), E_UNAUTHENTICATED) == 0) {
			json_t *one = json_array();

			if (one != NULL && json_array_append_new(one, rec) == 0)
				return one;
			json_decref(one);
			snprintf(err, 256, "out of memory");
			return NULL;
		}
		json_decref(rec);
	}
	if (plain == NULL) {
		if (from != NULL)
			from->refused = why;
		snprintf(err, 256, "unauthenticated: %s", auth_fail_text(why));
		return NULL;
	}
	if (from != NULL && n->role == NET_HUB)
		strlcpy(from->principal, principal, sizeof(from->principal));
	rec = rec_unpack_frame(plain, plen, err);
	free(plain);
	return rec;
}

int
net_fd(struct net *n)
{
	return n->rcvfd;
}

int
net_wait_connected(struct net *n, int ms)
{
	struct pollfd p = { .fd = -1, .events = POLLIN };
	size_t sz = sizeof(p.fd);
	int64_t until = now_ms() + ms;
	int r;

	if (nn_getsockopt(n->sock, NN_SOL_SOCKET, NN_SNDFD, &p.fd, &sz) < 0)
		return -1;
	/* nanomsg signals the fd when a pipe can take a message */
	do {
		r = poll(&p, 1, (int)(until - now_ms() > 0 ? until - now_ms() : 0));
	} while (r == -1 && errno == EINTR && now_ms() < until);
	return r == 1 ? 1 : r == 0 ? 0 : -1;
}

int
net_wait(struct net *n, int ms)
{
	struct pollfd p = { .fd = n->rcvfd, .events = POLLIN };

	return n->in != NULL ? 1 : poll(&p, 1, ms);
}

void
net_frames(const struct net *n, uint64_t *in, uint64_t *out)
{
	*in = n->frames_in;
	*out = n->frames_out;
}

int
net_pending(struct net *n)
{
	return n->in != NULL;
}

/* The next record of the batch being handed out, into *REC and *FROM. */
static int
net_next(struct net *n, json_t **rec, struct net_route *from)
{
	*rec = json_incref(json_array_get(n->in, n->in_next++));
	if (from != NULL)
		*from = n->in_from;
	if (n->in_next >= json_array_size(n->in)) {
		json_decref(n->in);
		n->in = NULL;
	}
	return 1;
}

int
net_recv(struct net *n, json_t **rec, struct net_route *from, char *err)
{
	char principal[AUTH_PRINCIPAL_MAX];
	struct net_route here;
	struct nn_msghdr mh;
	struct nn_iovec iov;
	void *body = NULL, *ctrl = NULL;
	json_t *frame;
	int len;

	if (n->in != NULL)
		return net_next(n, rec, from);
	*rec = NULL;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = &body;
	iov.iov_len = NN_MSG;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (n->role == NET_HUB) {
		mh.msg_control = &ctrl;
		mh.msg_controllen = NN_MSG;
	}
	if ((len = nn_recvmsg(n->sock, &mh, NN_DONTWAIT)) < 0) {
		if (nn_errno() == EAGAIN)
			return 0;
		snprintf(err, 256, "receive: %s", nn_strerror(nn_errno()));
		return -2;
	}
	here.len = 0;
	here.principal[0] = '\0';
	here.refused = AUTH_OK;
	if (ctrl != NULL) {
		struct nn_cmsghdr *c = NN_CMSG_FIRSTHDR(&mh);

		if (c != NULL && NN_CMSG_SPACE(c->cmsg_len - NN_CMSG_LEN(0)) <=
		    NET_ROUTE_MAX) {
			here.len = NN_CMSG_SPACE(c->cmsg_len - NN_CMSG_LEN(0));
			memcpy(here.hdr, c, here.len);
		}
		nn_freemsg(ctrl);
	}
	if (n->auth != NULL)
		frame = net_open_frame(n, body, (size_t)len, &here, err);
	else if (auth_principal(body, (size_t)len, principal) == 0) {
		/* a sealing peer of an end that runs in the clear */
		frame = NULL;
		here.refused = AUTH_UNKNOWN;
		snprintf(err, 256, "unauthenticated: a sealed record, but "
		    "this end takes records in the clear (--insecure: send "
		    "with CLUSTER_CREDENTIAL=none)");
	} else
		frame = rec_unpack_frame(body, (size_t)len, err);
	nn_freemsg(body);
	if (from != NULL)
		*from = here;
	if (frame == NULL)
		return -1;
	n->frames_in++;
	n->in = frame;
	n->in_next = 0;
	n->in_from = here;
	return net_next(n, rec, from);
}

/* Keep a copy of the pair's frame BUF of LEN after the others kept; 0 or -1. */
static int
pair_keep(struct net *n, const void *buf, size_t len)
{
	struct net_kept *k;

	if (n->kept_len == NET_PAIR_KEEP) {
		errno = ENOBUFS;
		return -1;
	}
	if (n->kept_len == n->kept_cap) {
		size_t cap = n->kept_cap ? 2 * n->kept_cap : 256, i;

		if ((k = calloc(cap, sizeof(*k))) == NULL)
			return -1;
		for (i = 0; i < n->kept_len; i++)
			k[i] = n->kept[(n->kept_head + i) % n->kept_cap];
		free(n->kept);
		n->kept = k;
		n->kept_cap = cap;
		n->kept_head = 0;
	}
	k = &n->kept[(n->kept_head + n->kept_len) % n->kept_cap];
	if ((k->buf = malloc(len > 0 ? len : 1)) == NULL)
		return -1;
	memcpy(k->buf, buf, len);
	k->len = len;
	n->kept_len++;
	return 0;
}

void
net_drop_unsent(struct net *n)
{
	while (n->kept_len > 0) {
		free(n->kept[n->kept_head].buf);
		n->kept_head = (n->kept_head + 1) % n->kept_cap;
		n->kept_len--;
	}
}

/* Send the pair's kept frames until the socket refuses one; 1 if it did. */
static int
pair_flush(struct net *n)
{
	while (n->kept_len > 0) {
		struct net_kept *k = &n->kept[n->kept_head];

		if (nn_send(n->sock, k->buf, k->len, NN_DONTWAIT) < 0)
			return 1;
		n->frames_out++;
		free(k->buf);
		n->kept_head = (n->kept_head + 1) % n->kept_cap;
		n->kept_len--;
	}
	return 0;
}

/* Send the bytes BUF of LEN as they are: N's one way out. */
static int
net_send_bytes(struct net *n, const struct net_route *to, const void *buf,
    size_t len)
{
	if (n->role == NET_HUB) {
		struct nn_msghdr mh;
		struct nn_iovec iov;
		void *ctrl;

		if (to == NULL || to->len == 0) {
			errno = EHOSTUNREACH;
			return -1;
		}
		if ((ctrl = nn_allocmsg(to->len, 0)) == NULL)
			return -1;
		memcpy(ctrl, to->hdr, to->len);
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = (void *)buf;
		iov.iov_len = len;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = &ctrl;
		mh.msg_controllen = NN_MSG;
		if (nn_sendmsg(n->sock, &mh, NN_DONTWAIT) < 0) {
			nn_freemsg(ctrl);
			return -1;
		}
		n->frames_out++;
		return 0;
	}
	if (n->role == NET_PEER) {
		/* a raw REQ message starts with a request id, top bit set */
		unsigned char *m = nn_allocmsg(len + NET_REQID_LEN, 0);
		uint32_t id = (n->reqid++) | 0x80000000u;

		if (m == NULL)
			return -1;
		m[0] = id >> 24;
		m[1] = id >> 16;
		m[2] = id >> 8;
		m[3] = id;
		memcpy(m + NET_REQID_LEN, buf, len);
		if (nn_send(n->sock, &m, NN_MSG, NN_DONTWAIT) < 0) {
			nn_freemsg(m);
			return -1;
		}
		n->frames_out++;
		return 0;
	}
	/*
	 * A pair never waits: a frame the other side cannot take now (its
	 * buffers full, or not connected yet) is kept, and so is every frame
	 * after it, in order, until net_flush.  Waiting here, as sends once
	 * did for up to 5 s, deadlocked offerd and its allocator when both
	 * had more to send than the other read: each stopped reading.
	 */
	if (n->kept_len == 0 && nn_send(n->sock, buf, len, NN_DONTWAIT) >= 0) {
		n->frames_out++;
		return 0;
	}
	if (n->kept_len == 0 && nn_errno() != EAGAIN)
		return -1;
	return pair_keep(n, buf, len);
}

int
net_send_raw(struct net *n, const struct net_route *to, const void *buf,
    size_t len)
{
	const struct auth_cred *c = n->cred;
	size_t slen;
	void *sealed;
	int r;

	if (len > REC_MAX_SIZE) {
		errno = EMSGSIZE;
		return -1;
	}
	if (n->auth == NULL)
		return net_send_bytes(n, to, buf, len);
	if (n->role == NET_HUB)
		c = to != NULL && to->principal[0] != '\0' ?
		    n->keys(n->keys_arg, to->principal) : NULL;
	if (c == NULL) {
		errno = EACCES;
		return -1;
	}
	sealed = auth_seal(n->auth, c, n->role == NET_HUB ? AUTH_FROM_MASTER :
	    AUTH_TO_MASTER, buf, len, &slen);
	if (sealed == NULL)
		return -1;
	r = net_send_bytes(n, to, sealed, slen);
	free(sealed);
	return r;
}

/*
 * The bytes of route TO that name its connection: all but the request id
 * (see net_route_eq); all of them when TO is not a valid route.
 */
static size_t
net_route_key(const struct net_route *to)
{
	size_t n;

	if (to->len < sizeof(n))
		return to->len;
	memcpy(&n, to->hdr, sizeof(n));	/* cmsg_len */
	if (n > to->len || n < NN_CMSG_LEN(0) + NET_REQID_LEN)
		return to->len;
	return n - NET_REQID_LEN;
}

static uint32_t
net_route_hash(const struct net_route *to)
{
	size_t i, len = net_route_key(to);
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (i = 0; i < len; i++)
		h = (h ^ to->hdr[i]) * 16777619u;
	return h;
}

static int
net_out_same(const struct net_route *a, const struct net_route *b)
{
	return net_route_eq(a, b) && strcmp(a->principal, b->principal) == 0;
}

/* A hub's slot table sized for NOUT + 1 frames; 0 or -1. */
static int
net_slots(struct net *n)
{
	size_t want = 64, i;
	uint32_t *slot;

	while (want < 2 * (n->nout + 1))
		want *= 2;
	if (want <= n->nslot)
		return 0;
	if ((slot = calloc(want, sizeof(*slot))) == NULL)
		return -1;
	for (i = 0; i < n->nout; i++) {
		size_t k = net_route_hash(&n->out[i].to) & (want - 1);

		while (slot[k] != 0)
			k = (k + 1) & (want - 1);
		slot[k] = (uint32_t)i + 1;
	}
	free(n->slot);
	n->slot = slot;
	n->nslot = want;
	return 0;
}

/* The frame in the making for TO (a peer's one), made when new; NULL: ENOMEM. */
static struct net_out *
net_out_for(struct net *n, const struct net_route *to)
{
	size_t k = 0;
	struct net_out *o;

	if (n->role == NET_HUB) {
		if (net_slots(n) == -1)
			return NULL;
		k = net_route_hash(to) & (n->nslot - 1);
		for (; n->slot[k] != 0; k = (k + 1) & (n->nslot - 1))
			if (net_out_same(&n->out[n->slot[k] - 1].to, to))
				return &n->out[n->slot[k] - 1];
	} else if (n->nout > 0)
		return &n->out[0];
	if (n->nout == n->outcap) {
		size_t cap = n->outcap ? 2 * n->outcap : 16;
		struct net_out *no = realloc(n->out, cap * sizeof(*no));

		if (no == NULL)
			return NULL;
		memset(no + n->outcap, 0, (cap - n->outcap) * sizeof(*no));
		n->out = no;
		n->outcap = cap;
	}
	o = &n->out[n->nout];
	if (n->role == NET_HUB)
		n->slot[k] = (uint32_t)++n->nout;
	else
		n->nout = 1;
	if (to != NULL)
		o->to = *to;
	o->len = 0;
	o->count = 0;
	return o;
}

/* Send O's records as one frame (one record: as itself); 0 or -1. */
static int
net_out_send(struct net *n, struct net_out *o)
{
	if (o->count == 1)
		return net_send_raw(n, &o->to, o->buf + BATCH_HDR, o->len);
	o->buf[0] = 0xdd;
	o->buf[1] = o->count >> 24;
	o->buf[2] = o->count >> 16;
	o->buf[3] = o->count >> 8;
	o->buf[4] = o->count;
	return net_send_raw(n, &o->to, o->buf, o->len + BATCH_HDR);
}

/*
 * Add the packed record BUF of LEN to the frame for TO, sending that
 * frame first when BUF would not fit in it; 0, or -1 when not taken.
 */
static int
net_out_add(struct net *n, const struct net_route *to, const void *buf,
    size_t len)
{
	struct net_out *o;

	if (n->role == NET_HUB && (to == NULL || to->len == 0)) {
		errno = EHOSTUNREACH;
		return -1;
	}
	if ((o = net_out_for(n, to)) == NULL)
		return -1;
	if (o->count > 0 && (o->count == REC_MAX_BATCH ||
	    BATCH_HDR + o->len + len > REC_MAX_SIZE)) {
		if (net_out_send(n, o) == -1 && n->role != NET_HUB)
			return -1;	/* a peer's frame waits; this does not */
		o->len = 0;
		o->count = 0;
	}
	if (BATCH_HDR + len > REC_MAX_SIZE)	/* too big to go with others */
		return net_send_raw(n, to, buf, len);
	if (BATCH_HDR + o->len + len > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;
		unsigned char *nb;

		while (cap < BATCH_HDR + o->len + len)
			cap *= 2;
		if ((nb = realloc(o->buf, cap)) == NULL)
			return -1;
		o->buf = nb;
		o->cap = cap;
	}
	memcpy(o->buf + BATCH_HDR + o->len, buf, len);
	o->len += len;
	o->count++;
	if (to != NULL)
		o->to = *to;	/* the newest request id */
	return 0;
}

void
net_cork(struct net *n)
{
	if (n->role == NET_HUB || n->role == NET_PEER)
		n->corked = 1;
}

int
net_flush(struct net *n)
{
	size_t i;
	int failed = 0;

	n->corked = 0;
	if (n->role == NET_PAIR_BIND || n->role == NET_PAIR_CONNECT)
		return pair_flush(n);
	for (i = 0; i < n->nout; i++) {
		struct net_out *o = &n->out[i];

		if (o->count > 0 && net_out_send(n, o) == -1) {
			failed++;
			if (n->role != NET_HUB)
				continue;	/* kept for the next flush */
		}
		o->len = 0;
		o->count = 0;
		if (o->cap > BATCH_KEEP) {
			free(o->buf);
			o->buf = NULL;
			o->cap = 0;
		}
		if (n->role == NET_HUB) {
			size_t k = net_route_hash(&o->to) & (n->nslot - 1);

			while (n->slot[k] != i + 1)
				k = (k + 1) & (n->nslot - 1);
			n->slot[k] = 0;
		}
	}
	/* a hub forgets its peers; a peer keeps a refused frame */
	if (n->role == NET_HUB || (n->nout > 0 && n->out[0].count == 0))
		n->nout = 0;
	return failed;
}

int
net_unsent(struct net *n)
{
	return n->role != NET_HUB && (n->nout > 0 || n->kept_len > 0);
}

int
net_send(struct net *n, const struct net_route *to, const json_t *rec)
{
	size_t len;
	void *buf = rec_pack(rec, &len);
	int r;

	if (buf == NULL)
		return -1;
	/* to a peer that could not prove who it is, an ERROR in the clear */
	if (n->auth != NULL && n->role == NET_HUB && to != NULL &&
	    to->principal[0] == '\0' && strcmp(rec_type(rec), R_ERROR) == 0)
		r = len > REC_MAX_SIZE ? -1 : net_send_bytes(n, to, buf, len);
	else if (n->corked)
		r = net_out_add(n, to, buf, len);
	else if (n->nout > 0) {
		/* behind a frame the socket refused: with it, in order */
		r = net_out_add(n, to, buf, len);
		if (r == 0)
			(void)net_flush(n);
	} else
		r = net_send_raw(n, to, buf, len);
	free(buf);
	return r;
}

/*
 * A route is nanomsg's control message: its header, then the backtrace:
 * the peer's pipe, any hops, and last the request id (4 bytes) that every
 * record of a raw REQ peer changes.  All but that id name the connection.
 */
int
net_route_eq(const struct net_route *a, const struct net_route *b)
{
	size_t key = net_route_key(a);

	/* a key as long as the route: not a control message of nanomsg's */
	return key < a->len && a->len == b->len && key == net_route_key(b) &&
	    memcmp(a->hdr, b->hdr, key) == 0;
}

int
net_queue_send(struct net *n, struct net_queue *q, json_t *rec, size_t limit)
{
	if (q->len == 0 && net_send(n, NULL, rec) == 0) {
		json_decref(rec);
		return 1;
	}
	if (limit > 0 && q->len >= limit) {
		json_decref(rec);
		return -1;
	}
	if (q->len == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 4096, i;
		json_t **nq = calloc(cap, sizeof(*nq));

		if (nq == NULL) {
			json_decref(rec);
			return -1;
		}
		for (i = 0; i < q->len; i++)
			nq[i] = q->q[(q->head + i) % q->cap];
		free(q->q);
		q->q = nq;
		q->cap = cap;
		q->head = 0;
	}
	q->q[(q->head + q->len++) % q->cap] = rec;
	if (q->len > q->max)
		q->max = q->len;
	return 0;
}

size_t
net_queue_flush(struct net *n, struct net_queue *q)
{
	size_t sent = 0;

	while (q->len > 0 && net_send(n, NULL, q->q[q->head]) == 0) {
		json_decref(q->q[q->head]);
		q->head = (q->head + 1) % q->cap;
		q->len--;
		sent++;
	}
	return sent;
}

void
net_queue_clear(struct net_queue *q)
{
	while (q->len > 0) {
		json_decref(q->q[q->head]);
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	free(q->q);
	memset(q, 0, sizeof(*q));
}
