/*
 * elect: the client half of the election: master strings, finding and
 * following the leader, and the lease as the elected command reads it;
 * with the parts of the two backends (the lock file's record, the
 * ZooKeeper handle) that cluster-elect's candidates share through
 * elect-backend.h.  See elect.h and cluster-elect(8).
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "auth.h"
#include "elect.h"
#include "elect-backend.h"
#include "log.h"
#include "util.h"

#define ZK_SEQ_DIGITS	10

/* ------------------------------------------------------------------ */
/* master strings                                                      */

/* Check a ZooKeeper host list "h:p,h:p".  Returns 0 or -1 with ERR. */
static int
zk_hosts_check(const char *hosts, char *err)
{
	char copy[1024], *p, *h;

	if (*hosts == '\0') {
		snprintf(err, ELECT_ERRLEN, "no ZooKeeper host given");
		return -1;
	}
	strlcpy(copy, hosts, sizeof(copy));
	for (p = copy; (h = strsep(&p, ",")) != NULL;) {
		char *colon = strrchr(h, ':');
		const char *errstr;

		if (colon == NULL || colon == h) {
			snprintf(err, ELECT_ERRLEN, "ZooKeeper server '%.160s': "
			    "want HOST:PORT", h);
			return -1;
		}
		strtonum(colon + 1, 1, 65535, &errstr);
		if (errstr != NULL) {
			snprintf(err, ELECT_ERRLEN, "ZooKeeper server '%.120s': "
			    "port is %.80s", h, errstr);
			return -1;
		}
	}
	return 0;
}

/* Check a znode path: absolute, no empty, "." or ".." component. */
static int
zk_path_check(const char *path, char *err)
{
	const char *p = path;

	if (path[0] != '/' || path[1] == '\0') {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper path '%.160s': want /NAME"
		    "[/NAME...] after the hosts", path);
		return -1;
	}
	while (*p == '/') {
		size_t n = strcspn(p + 1, "/");

		if (n == 0 || (n == 1 && p[1] == '.') ||
		    (n == 2 && p[1] == '.' && p[2] == '.')) {
			snprintf(err, ELECT_ERRLEN, "ZooKeeper path '%.160s': empty, "
			    "'.' or '..' component", path);
			return -1;
		}
		p += n + 1;
	}
	return 0;
}

int
elect_url_parse(const char *s, struct elect_url *u, char *err)
{
	memset(u, 0, sizeof(*u));
	if (strncmp(s, "zk://", 5) == 0) {
		const char *slash = strchr(s + 5, '/');
		size_t hl;

		u->kind = ELECT_ZK;
		if (slash == NULL) {
			snprintf(err, ELECT_ERRLEN, "'%.160s': no path (want "
			    "zk://HOST:PORT[,HOST:PORT...]/PATH)", s);
			return -1;
		}
		hl = (size_t)(slash - (s + 5));
		if (hl >= sizeof(u->hosts) || strlen(slash) >= sizeof(u->path)) {
			snprintf(err, ELECT_ERRLEN, "'%.64s...': too long", s);
			return -1;
		}
		memcpy(u->hosts, s + 5, hl);
		u->hosts[hl] = '\0';
		strlcpy(u->path, slash, sizeof(u->path));
		if (zk_hosts_check(u->hosts, err) == -1 ||
		    zk_path_check(u->path, err) == -1)
			return -1;
		return 0;
	}
	if (strncmp(s, "lock://", 7) == 0) {
		u->kind = ELECT_LOCK;
		if (s[7] != '/' || s[8] == '\0') {
			snprintf(err, ELECT_ERRLEN, "'%.160s': want lock:///ABSOLUTE/PATH",
			    s);
			return -1;
		}
		if (strlcpy(u->path, s + 7, sizeof(u->path)) >= sizeof(u->path) ||
		    strlen(s) + 8 > PATH_MAX) {
			snprintf(err, ELECT_ERRLEN, "'%.64s...': too long", s);
			return -1;
		}
		return 0;
	}
	u->kind = ELECT_ENDPOINT;
	if (*s == '\0' || strlcpy(u->endpoint, s, sizeof(u->endpoint)) >=
	    sizeof(u->endpoint)) {
		snprintf(err, ELECT_ERRLEN, "master endpoint '%.64s': empty or "
		    "too long", s);
		return -1;
	}
	if (strstr(s, "://") == NULL) {
		snprintf(err, ELECT_ERRLEN, "master endpoint '%.64s' has no "
		    "scheme: write tcp://%.64s (or ipc:///PATH, zk://, "
		    "lock://)", s, s);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the clock and the lease                                                */

int64_t
elect_clock_ms(void)
{
	/* BOOTTIME: like MONOTONIC, and it also runs while suspended */
	return clock_ms(CLOCK_BOOTTIME);
}

int
elect_lease_expired(void)
{
	static int inited, broken;
	static const int64_t *deadline;
	const char *v, *errstr;
	struct stat st;
	void *p;
	int fd;

	if (!inited) {
		inited = 1;
		if ((v = getenv(ELECT_LEASE_ENV)) == NULL)
			return 0;
		fd = (int)strtonum(v, 0, INT_MAX, &errstr);
		if (errstr != NULL || fstat(fd, &st) == -1 ||
		    st.st_size < (off_t)sizeof(int64_t) ||
		    (p = mmap(NULL, sizeof(int64_t), PROT_READ, MAP_SHARED, fd,
		    0)) == MAP_FAILED) {
			log_warnx("%s=%s: not a lease descriptor; acting as if "
			    "expired", ELECT_LEASE_ENV, v);
			broken = 1;
			return 1;
		}
		deadline = p;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		unsetenv(ELECT_LEASE_ENV);
	}
	if (broken)
		return 1;
	if (deadline == NULL)
		return 0;
	return __atomic_load_n(deadline, __ATOMIC_ACQUIRE) <= elect_clock_ms();
}

/* ------------------------------------------------------------------ */
/* lock file: the record and the lookup                                */

/*
 * Read and parse the record of the file open on FD.  Returns 0, or -1
 * when the file holds no valid record (empty, torn or foreign).
 */
int
elect_lock_rec_read(int fd, struct elect_lock_rec *r)
{
	char buf[ELECT_LOCK_REC_LEN + 1], magic[32], host[128], ep[ELECT_ENDPOINT_MAX];
	long long sess, exp, cpid;
	ssize_t n;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		if ((n = pread(fd, buf, ELECT_LOCK_REC_LEN, 0)) <= 0)
			return -1;
		buf[n] = '\0';
		/* widths: sizeof of magic, host and ep less one */
		if (sscanf(buf, "%31s %ld %127s %lld %lld %lld %255s", magic,
		    &r->pid, host, &sess, &exp, &cpid, ep) == 7 &&
		    strcmp(magic, ELECT_LOCK_MAGIC) == 0) {
			strlcpy(r->host, host, sizeof(r->host));
			r->session_ms = sess;
			r->expires_ms = exp;
			r->cpid = (long)cpid;
			strlcpy(r->endpoint, strcmp(ep, "-") == 0 ? "" : ep,
			    sizeof(r->endpoint));
			return 0;
		}
		/* maybe a write in progress: look again */
		usleep(1000);
	}
	return -1;
}

/*
 * Look the lock file leader up.  See elect_lookup().  A lock file that
 * others than its owner may write is not believed: anyone could have
 * written its leader (cluster-elect refuses to use one).
 */
static int
lock_lookup(const char *path, struct elect_leader *out, char *err)
{
	struct elect_lock_rec r;
	struct stat st;
	int64_t now = wall_ms();
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		int e = errno;

		snprintf(err, ELECT_ERRLEN, e == ENOENT ? "no leader: %.120s "
		    "does not exist" : "%.80s: %.80s", path, strerror(e));
		return e == ENOENT ? -1 : -2;
	}
	if (fstat(fd, &st) == -1 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		snprintf(err, ELECT_ERRLEN, "%.160s: others may write it: not "
		    "believed", path);
		return -2;
	}
	if (elect_lock_rec_read(fd, &r) == -1) {
		close(fd);
		snprintf(err, ELECT_ERRLEN, "no leader: %.160s holds no record", path);
		return -1;
	}
	close(fd);
	if (r.expires_ms <= now) {
		snprintf(err, ELECT_ERRLEN, "no leader: the lease of %ld@%.160s "
		    "expired %lld ms ago", r.pid, r.host,
		    (long long)(now - r.expires_ms));
		return -1;
	}
	memset(out, 0, sizeof(*out));
	strlcpy(out->endpoint, r.endpoint, sizeof(out->endpoint));
	snprintf(out->id, sizeof(out->id), "%ld@%.100s", r.pid, r.host);
	out->session_ms = r.session_ms;
	if (r.endpoint[0] == '\0') {
		snprintf(err, ELECT_ERRLEN, "the leader %.160s does not serve yet",
		    out->id);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* ZooKeeper: the handle clients and candidates share                  */

static int zk_log_level;	/* 0: the client logs nothing */

void
elect_set_verbose(int level)
{
	static const ZooLogLevel lv[] = { 0, ZOO_LOG_LEVEL_WARN,
	    ZOO_LOG_LEVEL_INFO, ZOO_LOG_LEVEL_DEBUG };

	/* -v is for our own messages; the client's own start at -vv */
	level--;
	zk_log_level = level < 0 ? 0 : level > 3 ? 3 : level;
	zoo_set_debug_level(lv[zk_log_level]);
}

/* Wake the owner of Z's event loop. */
void
elect_zk_wake(struct elect_zk *z)
{
	(void)write(z->pipe[1], "", 1);
}

/* The watcher of every handle and watch: note what happened, wake up. */
void
elect_zk_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct elect_zk *z = ctx;

	(void)path;
	pthread_mutex_lock(&z->mu);
	if (type == ZOO_SESSION_EVENT) {
		if (state == ZOO_CONNECTED_STATE) {
			z->connected = 1;
			z->session_ms = zoo_recv_timeout(zh);
		} else if (state == ZOO_EXPIRED_SESSION_STATE ||
		    state == ZOO_AUTH_FAILED_STATE) {
			z->connected = 0;
			z->expired = 1;
		} else
			z->connected = 0;
	}
	z->changed = 1;
	pthread_mutex_unlock(&z->mu);
	elect_zk_wake(z);
}

/* Free Z; closing the handle first lets no callback run afterwards. */
void
elect_zk_free(struct elect_zk *z)
{
	if (z == NULL)
		return;
	if (z->zh != NULL)
		zookeeper_close(z->zh);
	close(z->pipe[0]);
	close(z->pipe[1]);
	pthread_mutex_destroy(&z->mu);
	free(z);
}

/* Start a session on Z's hosts.  Returns 0, or -1 with ERR. */
static int
zk_start(struct elect_zk *z, int64_t session_ms, char *err)
{
	pthread_mutex_lock(&z->mu);
	z->connected = z->expired = z->gone = 0;
	pthread_mutex_unlock(&z->mu);
	z->zh = zookeeper_init(z->hosts, elect_zk_watcher, (int)session_ms, NULL, z, 0);
	if (z->zh == NULL) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper %.120s: %.80s", z->hosts,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A new handle on URL's hosts asking for SESSION_MS; with WAIT, wait up
 * to ELECT_CONNECT_MS for the session.  Returns it, or NULL with ERR.
 */
struct elect_zk *
elect_zk_open(const struct elect_url *url, int64_t session_ms, int wait, char *err)
{
	struct elect_zk *z = calloc(1, sizeof(*z));
	int64_t until = now_ms() + ELECT_CONNECT_MS;

	if (z == NULL) {
		snprintf(err, ELECT_ERRLEN, "out of memory");
		return NULL;
	}
	strlcpy(z->hosts, url->hosts, sizeof(z->hosts));
	strlcpy(z->base, url->path, sizeof(z->base));
	pthread_mutex_init(&z->mu, NULL);
	if (pipe2(z->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		snprintf(err, ELECT_ERRLEN, "pipe: %.160s", strerror(errno));
		pthread_mutex_destroy(&z->mu);
		free(z);
		return NULL;
	}
	if (zk_log_level == 0)
		zoo_set_debug_level(0);
	if (zk_start(z, session_ms, err) == -1) {
		elect_zk_free(z);
		return NULL;
	}
	while (wait) {
		struct pollfd pfd = { .fd = z->pipe[0], .events = POLLIN };
		int64_t left = until - now_ms();
		char buf[64];
		int up, dead;

		pthread_mutex_lock(&z->mu);
		up = z->connected;
		dead = z->expired;
		pthread_mutex_unlock(&z->mu);
		if (up)
			break;
		if (dead || left <= 0) {
			snprintf(err, ELECT_ERRLEN, "no ZooKeeper session with %.160s "
			    "within %d ms", z->hosts, ELECT_CONNECT_MS);
			elect_zk_free(z);
			return NULL;
		}
		poll(&pfd, 1, (int)left);
		while (read(z->pipe[0], buf, sizeof(buf)) > 0)
			;
	}
	return z;
}

/* ---- logging in: the digest identity of a credential ---- */

/* Where a login stands; the completion runs on the client's thread. */
struct login {
	struct elect_zk	*z;
	int		 done;		/* under z->mu */
	int		 rc;
};

/* Completion of zoo_add_auth: note the answer and wake the waiter. */
static void
login_done(int rc, const void *data)
{
	struct login *l = (struct login *)data;

	pthread_mutex_lock(&l->z->mu);
	l->rc = rc;
	l->done = 1;
	pthread_mutex_unlock(&l->z->mu);
	elect_zk_wake(l->z);
}

/*
 * Wait up to ELECT_CONNECT_MS for L's answer, or for the session to end.
 * Returns ZOK, the server's error, or ZOPERATIONTIMEOUT.
 */
static int
login_wait(struct login *l)
{
	struct elect_zk *z = l->z;
	int64_t until = now_ms() + ELECT_CONNECT_MS, left;
	char buf[64];
	int done, rc, dead;

	for (;;) {
		struct pollfd pfd = { .fd = z->pipe[0], .events = POLLIN };

		pthread_mutex_lock(&z->mu);
		done = l->done;
		rc = l->rc;
		dead = z->expired;
		pthread_mutex_unlock(&z->mu);
		if (done)
			return rc;
		if (dead)
			return ZAUTHFAILED;
		if ((left = until - now_ms()) <= 0)
			return ZOPERATIONTIMEOUT;
		poll(&pfd, 1, (int)left);
		while (read(z->pipe[0], buf, sizeof(buf)) > 0)
			;
	}
}

int
elect_zk_login(struct elect_zk *z, const struct auth_cred *cred, char *err)
{
	char pw[AUTH_PASSWORD_LEN], cert[AUTH_PRINCIPAL_MAX +
	    AUTH_PASSWORD_LEN + 1];
	struct login *l;
	int n, rc;

	if (cred == NULL)
		return 0;
	/* on the heap: a completion may still run while the handle closes */
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, ELECT_ERRLEN, "out of memory");
		return -1;
	}
	l->z = z;
	auth_cred_password(cred, pw);
	n = snprintf(cert, sizeof(cert), "%s:%s", cred->principal, pw);
	sodium_memzero(pw, sizeof(pw));
	rc = zoo_add_auth(z->zh, "digest", cert, n, login_done, l);
	sodium_memzero(cert, sizeof(cert));
	if (rc == ZOK)
		rc = login_wait(l);
	if (rc != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper %.60s: cannot log in as "
		    "%.63s: %.60s", z->hosts, cred->principal, zerror(rc));
		/* a late completion would write into it: leak it instead */
		return -1;
	}
	free(l);
	log_info("ZooKeeper: logged in as %s (digest)", cred->principal);
	return 0;
}

struct ACL_vector *
elect_zk_acl(const struct auth_cred *cred)
{
	static struct ACL acl[2];
	static struct ACL_vector v = { 2, acl };

	if (cred == NULL)
		return &ZOO_OPEN_ACL_UNSAFE;
	/* "auth": the server puts in the identity this session logged in as */
	acl[0].perms = ZOO_PERM_ALL;
	acl[0].id = ZOO_AUTH_IDS;
	acl[1].perms = ELECT_ZK_WORLD_PERMS;
	acl[1].id = ZOO_ANYONE_ID_UNSAFE;
	return &v;
}

struct ACL_vector *
elect_zk_acl_private(const struct auth_cred *cred)
{
	static struct ACL acl[1];
	static struct ACL_vector v = { 1, acl };

	if (cred == NULL)
		return &ZOO_OPEN_ACL_UNSAFE;
	acl[0].perms = ZOO_PERM_ALL;
	acl[0].id = ZOO_AUTH_IDS;
	return &v;
}

/* The sequence number of a child name, or -1 when it is not ours. */
long long
elect_zk_seq(const char *name)
{
	size_t n = strlen(name), i;

	if (n < strlen(ELECT_ZK_PREFIX) + ZK_SEQ_DIGITS ||
	    strncmp(name, ELECT_ZK_PREFIX, strlen(ELECT_ZK_PREFIX)) != 0)
		return -1;
	for (i = n - ZK_SEQ_DIGITS; i < n; i++)
		if (!isdigit((unsigned char)name[i]))
			return -1;
	return atoll(name + n - ZK_SEQ_DIGITS);
}

/*
 * In the children CH, find the lowest candidate (into LOWEST) and the one
 * just before the candidate MINE (into PRED; "" when MINE is lowest or
 * NULL).  Returns the number of candidates.
 */
int
elect_zk_order(const struct String_vector *ch, const char *mine, char *lowest,
    size_t llen, char *pred, size_t plen)
{
	long long lo = -1, my = mine ? elect_zk_seq(mine) : -1, best = -1, s;
	int i, n = 0;

	*lowest = '\0';
	*pred = '\0';
	for (i = 0; i < ch->count; i++) {
		if ((s = elect_zk_seq(ch->data[i])) < 0)
			continue;
		n++;
		if (lo < 0 || s < lo) {
			lo = s;
			strlcpy(lowest, ch->data[i], llen);
		}
		if (my >= 0 && s < my && s > best) {
			best = s;
			strlcpy(pred, ch->data[i], plen);
		}
	}
	return n;
}

/*
 * Read the leader of Z's election into OUT, setting watches on the
 * children and on the leader's znode when WATCH.  Returns 0, or -1 with
 * ERR.
 */
static int
zk_read_leader(struct elect_zk *z, int watch, struct elect_leader *out, char *err)
{
	struct String_vector ch = { 0, NULL };
	char lowest[256], pred[256], path[1300], buf[ELECT_ENDPOINT_MAX];
	int rc, len = sizeof(buf) - 1;

	memset(out, 0, sizeof(*out));
	rc = watch ? zoo_wget_children(z->zh, z->base, elect_zk_watcher, z, &ch) :
	    zoo_get_children(z->zh, z->base, 0, &ch);
	if (rc == ZNONODE) {
		snprintf(err, ELECT_ERRLEN, "no leader: no election at %.160s",
		    z->base);
		if (watch)	/* learn when it appears */
			zoo_wexists(z->zh, z->base, elect_zk_watcher, z, NULL);
		return -1;
	}
	if (rc != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper %.120s: %.80s", z->base,
		    zerror(rc));
		return -2;
	}
	out->candidates = elect_zk_order(&ch, NULL, lowest, sizeof(lowest), pred,
	    sizeof(pred));
	deallocate_String_vector(&ch);
	if (out->candidates == 0) {
		snprintf(err, ELECT_ERRLEN, "no leader: no candidate in %.160s",
		    z->base);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", z->base, lowest);
	rc = watch ? zoo_wget(z->zh, path, elect_zk_watcher, z, buf, &len, NULL) :
	    zoo_get(z->zh, path, 0, buf, &len, NULL);
	if (rc != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper %.120s: %.80s", path, zerror(rc));
		/* the leader left between the two calls: none right now */
		return rc == ZNONODE ? -1 : -2;
	}
	buf[len > 0 ? len : 0] = '\0';
	strlcpy(out->id, lowest, sizeof(out->id));
	strlcpy(out->endpoint, buf, sizeof(out->endpoint));
	if (buf[0] == '\0') {
		snprintf(err, ELECT_ERRLEN, "the leader %.160s does not serve yet",
		    path);
		return -1;
	}
	return 0;
}
/* ------------------------------------------------------------------ */
/* lookup and following                                                */

int
elect_lookup(const char *master, struct elect_leader *out, char *err)
{
	struct elect_url u;
	struct elect_zk *z;
	int r;

	if (elect_url_parse(master, &u, err) == -1)
		return -1;
	memset(out, 0, sizeof(*out));
	switch (u.kind) {
	case ELECT_LOCK:
		return lock_lookup(u.path, out, err);
	case ELECT_ZK:
		if ((z = elect_zk_open(&u, ELECT_CONNECT_MS, 1, err)) == NULL)
			return -2;
		r = zk_read_leader(z, 0, out, err);
		elect_zk_free(z);
		return r;
	default:
		if (strlcpy(out->endpoint, u.endpoint, sizeof(out->endpoint)) >=
		    sizeof(out->endpoint)) {
			snprintf(err, ELECT_ERRLEN, "endpoint too long");
			return -1;
		}
		return 0;
	}
}

int
elect_resolve(const char *master, char *endpoint, size_t len, char *err)
{
	struct elect_leader l;
	int r;

	if ((r = elect_lookup(master, &l, err)) < 0)
		return r;
	if (strlcpy(endpoint, l.endpoint, len) >= len) {
		snprintf(err, ELECT_ERRLEN, "endpoint too long");
		return -1;
	}
	return 0;
}

struct elect_follow {
	struct elect_url url;
	struct elect_zk	*z;
	char		 current[ELECT_ENDPOINT_MAX];
	int		 told;		/* ELECT_ENDPOINT: given once */
	int64_t		 next_read;
};

struct elect_follow *
elect_follow_create(const char *master, char *err)
{
	struct elect_follow *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		snprintf(err, ELECT_ERRLEN, "out of memory");
		return NULL;
	}
	if (elect_url_parse(master, &f->url, err) == -1) {
		free(f);
		return NULL;
	}
	if (f->url.kind == ELECT_ZK) {
		/* the session comes up in the background */
		f->z = elect_zk_open(&f->url, ELECT_CONNECT_MS, 0, err);
		if (f->z == NULL) {
			free(f);
			return NULL;
		}
		pthread_mutex_lock(&f->z->mu);
		f->z->changed = 1;
		pthread_mutex_unlock(&f->z->mu);
	}
	return f;
}

void
elect_follow_destroy(struct elect_follow *f)
{
	if (f == NULL)
		return;
	elect_zk_free(f->z);
	free(f);
}

int
elect_follow_poll(struct elect_follow *f, char *endpoint, size_t len)
{
	struct elect_leader l;
	char err[ELECT_ERRLEN], buf[64];
	int64_t now = now_ms();
	int r = -1;

	switch (f->url.kind) {
	case ELECT_ENDPOINT:
		if (f->told)
			return 0;
		f->told = 1;
		strlcpy(endpoint, f->url.endpoint, len);
		return 1;
	case ELECT_LOCK:
		if (now < f->next_read)
			return 0;
		f->next_read = now + ELECT_FOLLOW_LOCK_MS;
		r = lock_lookup(f->url.path, &l, err);
		break;
	case ELECT_ZK: {
		int connected, expired, changed;

		while (read(f->z->pipe[0], buf, sizeof(buf)) > 0)
			;
		if (f->z->zh == NULL) {
			if (now >= f->next_read) {
				f->next_read = now + ELECT_FOLLOW_ZK_MS;
				if (zk_start(f->z, ELECT_CONNECT_MS, err) == -1)
					f->z->zh = NULL;
			}
			return 0;
		}
		pthread_mutex_lock(&f->z->mu);
		connected = f->z->connected;
		expired = f->z->expired;
		changed = f->z->changed;
		f->z->changed = 0;
		pthread_mutex_unlock(&f->z->mu);
		if (expired) {
			/* a new session; the leader is read once it is up */
			zookeeper_close(f->z->zh);
			f->z->zh = NULL;
			if (zk_start(f->z, ELECT_CONNECT_MS, err) == -1) {
				f->z->zh = NULL;
				log_warnx("%s", err);
			}
			return 0;
		}
		if (!connected || (!changed && now < f->next_read))
			return 0;
		f->next_read = now + ELECT_FOLLOW_ZK_MS;
		r = zk_read_leader(f->z, 1, &l, err);
		break;
	}
	}
	if (r < 0) {
		log_debug("leader of %s: %s", f->url.path, err);
		return 0;
	}
	if (strcmp(l.endpoint, f->current) == 0)
		return 0;
	strlcpy(f->current, l.endpoint, sizeof(f->current));
	strlcpy(endpoint, l.endpoint, len);
	return 1;
}

