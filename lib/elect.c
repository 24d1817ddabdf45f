/*
 * elect: leader election (ZooKeeper and lock file backends), leader
 * lookup and following, and the lease shared with the elected command.
 * See elect.h and cluster-elect(8).
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

#define THREADED	/* the synchronous API of libzookeeper_mt */
#include <zookeeper/zookeeper.h>

#include "elect.h"
#include "log.h"
#include "util.h"

#define LOCK_REC_LEN	512		/* the lock file's record, bytes */
#define LOCK_MAGIC	"cluster-elect/1"
#define ZK_PREFIX	"n_"		/* our znodes: PATH/n_0000000042 */
#define ZK_SEQ_DIGITS	10
#define LEASE_SIZE	4096

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
	return 0;
}

/* ------------------------------------------------------------------ */
/* clocks and the lease                                                */

int64_t
elect_clock_ms(void)
{
	struct timespec ts;

	/* BOOTTIME: like MONOTONIC, and it also runs while suspended */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
elect_lease_create(volatile int64_t **page, char *err)
{
	void *p;
	int fd;

	if ((fd = memfd_create("cluster-lease", 0)) == -1 ||
	    ftruncate(fd, LEASE_SIZE) == -1) {
		snprintf(err, ELECT_ERRLEN, "lease: %.160s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	p = mmap(NULL, LEASE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, ELECT_ERRLEN, "lease: mmap: %.160s", strerror(errno));
		close(fd);
		return -1;
	}
	*page = p;
	__atomic_store_n((int64_t *)p, 0, __ATOMIC_RELEASE);
	return fd;
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
/* lock file backend                                                   */

/* The record of the lock file: who holds it, until when, serving where. */
struct lock_rec {
	long	pid;
	char	host[128];
	int64_t	session_ms;
	int64_t	expires_ms;		/* wall clock */
	long	cpid;			/* the command, 0 before it runs */
	char	endpoint[ELECT_ENDPOINT_MAX];	/* "" while not serving */
};

/*
 * Read and parse the record of the file open on FD.  Returns 0, or -1
 * when the file holds no valid record (empty, torn or foreign).
 */
static int
lock_rec_read(int fd, struct lock_rec *r)
{
	char buf[LOCK_REC_LEN + 1], magic[32], host[128], ep[ELECT_ENDPOINT_MAX];
	long long sess, exp, cpid;
	ssize_t n;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		if ((n = pread(fd, buf, LOCK_REC_LEN, 0)) <= 0)
			return -1;
		buf[n] = '\0';
		/* widths: sizeof of magic, host and ep less one */
		if (sscanf(buf, "%31s %ld %127s %lld %lld %lld %255s", magic,
		    &r->pid, host, &sess, &exp, &cpid, ep) == 7 &&
		    strcmp(magic, LOCK_MAGIC) == 0) {
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

/* Write record R over the file open on FD.  Returns 0 or -1. */
static int
lock_rec_write(int fd, const struct lock_rec *r)
{
	char buf[LOCK_REC_LEN];
	int n;

	n = snprintf(buf, sizeof(buf), "%s %ld %s %lld %lld %ld %s\n",
	    LOCK_MAGIC, r->pid, r->host, (long long)r->session_ms,
	    (long long)r->expires_ms, r->cpid, r->endpoint[0] ? r->endpoint : "-");
	if (n < 0 || n >= (int)sizeof(buf))
		return -1;
	/* fixed size, so a record is always overwritten whole */
	memset(buf + n, ' ', sizeof(buf) - n - 1);
	buf[sizeof(buf) - 1] = '\n';
	return pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) ? 0 : -1;
}

/* Look the lock file leader up.  See elect_lookup(). */
static int
lock_lookup(const char *path, struct elect_leader *out, char *err)
{
	struct lock_rec r;
	int64_t now = wall_ms();
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		int e = errno;

		snprintf(err, ELECT_ERRLEN, e == ENOENT ? "no leader: %.120s "
		    "does not exist" : "%.80s: %.80s", path, strerror(e));
		return e == ENOENT ? -1 : -2;
	}
	if (lock_rec_read(fd, &r) == -1) {
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

/* A candidate on a lock file. */
struct lockc {
	char	 path[PATH_MAX];
	char	 guard[PATH_MAX + 8];	/* PATH.guard: serialises breaking */
	int	 fd;			/* open on PATH's current inode, or -1 */
	int	 gfd;
	int	 held;			/* we lead */
	int	 waiting;		/* hold the flock, wait for the lease */
	int64_t	 wait_until;		/* wall clock: the last holder's lease */
	int64_t	 session_ms;
	int64_t	 lease;			/* elect_clock_ms() deadline */
	int64_t	 next_renew;
	int64_t	 bad_since;		/* held by someone without a record */
	struct lock_rec rec;		/* ours */
};

/* True when FD is still the file at PATH (it was not broken). */
static int
lock_same(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Open PATH and the guard.  Returns 0, or -1 with ERR. */
static int
lock_open(struct lockc *lc, char *err)
{
	if ((lc->gfd = open(lc->guard, O_RDWR | O_CREAT | O_CLOEXEC,
	    0644)) == -1) {
		if (errno == ENOENT)
			snprintf(err, ELECT_ERRLEN, "lock file %.160s: the directory "
			    "does not exist", lc->path);
		else
			snprintf(err, ELECT_ERRLEN, "%.120s: %.80s", lc->guard,
			    strerror(errno));
		return -1;
	}
	if ((lc->fd = open(lc->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		snprintf(err, ELECT_ERRLEN, "%.120s: %.80s", lc->path, strerror(errno));
		close(lc->gfd);
		return -1;
	}
	return 0;
}

/*
 * Write our record with a fresh expiry; the caller holds the guard.
 * Sets the lease from T0, the clock read before the write.
 */
static int
lock_renew_locked(struct lockc *lc, int64_t t0)
{
	lc->rec.expires_ms = wall_ms() + lc->session_ms;
	if (lock_rec_write(lc->fd, &lc->rec) == -1)
		return -1;
	lc->lease = t0 + lc->session_ms;
	lc->next_renew = t0 + lc->session_ms / 4;
	return 0;
}

/*
 * True when process PID may still run: it exists and is no zombie (a
 * killed holder stays a zombie until its parent reaps it).
 */
static int
pid_alive(long pid)
{
	char path[64], buf[512], *p;
	size_t n;
	FILE *fp;

	if (pid <= 0 || (kill((pid_t)pid, 0) == -1 && errno == ESRCH))
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : 1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')' */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 1;
	return p[2] != 'Z' && p[2] != 'X';
}

/*
 * True when the holder of record R and its command are certainly gone:
 * both on this host and no longer running.  Only then may its successor
 * lead before R's lease ends.
 */
static int
lock_rec_dead(const struct lock_rec *r)
{
	char host[128];

	if (gethostname(host, sizeof(host) - 1) == -1)
		return 0;
	host[sizeof(host) - 1] = '\0';
	return strcmp(host, r->host) == 0 && r->cpid != 0 &&
	    !pid_alive(r->pid) && !pid_alive(r->cpid);
}

/*
 * A standby's turn: take the lock when it is free, or break it when its
 * holder stopped renewing for half a session past its expiry.
 */
static enum elect_state
lock_standby(struct lockc *lc, int64_t *lease_until)
{
	struct lock_rec r;
	int64_t t0;

	if (lc->fd == -1 || !lock_same(lc->fd, lc->path)) {
		if (lc->fd != -1)
			close(lc->fd);
		lc->waiting = 0;
		lc->fd = open(lc->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (lc->fd == -1) {
			log_warn("%s", lc->path);
			return ELECT_STANDBY;
		}
	}
	if (lc->waiting || flock(lc->fd, LOCK_EX | LOCK_NB) == 0) {
		/* ours, unless broken meanwhile: check under the guard */
		if (flock(lc->gfd, LOCK_EX | LOCK_NB) == -1)
			return ELECT_STANDBY;
		if (!lock_same(lc->fd, lc->path)) {
			flock(lc->gfd, LOCK_UN);
			close(lc->fd);
			lc->fd = -1;
			lc->waiting = 0;
			return ELECT_STANDBY;
		}
		if (!lc->waiting) {
			/* the last holder's command may live on: let it expire */
			lc->waiting = 1;
			lc->wait_until = 0;
			if (lock_rec_read(lc->fd, &r) == 0 && !lock_rec_dead(&r)) {
				lc->wait_until = r.expires_ms;
				if (r.expires_ms > wall_ms())
					log_info("lock %s taken; waiting %lld ms "
					    "for the lease of %ld@%s to end", lc->path,
					    (long long)(r.expires_ms - wall_ms()),
					    r.pid, r.host);
			}
		}
		t0 = elect_clock_ms();
		if (wall_ms() < lc->wait_until ||
		    lock_renew_locked(lc, t0) == -1) {
			flock(lc->gfd, LOCK_UN);
			return ELECT_STANDBY;
		}
		flock(lc->gfd, LOCK_UN);
		lc->waiting = 0;
		lc->held = 1;
		*lease_until = lc->lease;
		return ELECT_LEADER;
	}
	if (errno != EWOULDBLOCK) {
		log_warn("flock %s", lc->path);
		return ELECT_STANDBY;
	}
	if (lock_rec_read(lc->fd, &r) == -1) {
		/* a holder without a record: give it two sessions to write */
		if (lc->bad_since == 0)
			lc->bad_since = elect_clock_ms();
		if (elect_clock_ms() - lc->bad_since < 2 * lc->session_ms)
			return ELECT_STANDBY;
		r.pid = 0;
		r.expires_ms = 0;
		r.session_ms = 0;
	} else {
		lc->bad_since = 0;
		if (wall_ms() <= r.expires_ms + r.session_ms / 2)
			return ELECT_STANDBY;
	}
	/* the holder is stuck (stopped, hung, or its machine is gone) */
	if (flock(lc->gfd, LOCK_EX | LOCK_NB) == -1)
		return ELECT_STANDBY;
	if (lock_same(lc->fd, lc->path)) {
		struct lock_rec again;

		if (r.pid == 0 || (lock_rec_read(lc->fd, &again) == 0 &&
		    again.pid == r.pid && again.expires_ms == r.expires_ms)) {
			log_warnx("breaking the lock %s: its holder %ld@%s stopped "
			    "renewing its lease", lc->path, r.pid,
			    r.pid ? r.host : "?");
			if (unlink(lc->path) == -1)
				log_warn("unlink %s", lc->path);
		}
	}
	flock(lc->gfd, LOCK_UN);
	close(lc->fd);
	lc->fd = -1;
	lc->bad_since = 0;
	return ELECT_STANDBY;
}

/* The leader's turn: renew the lease, or find that it is gone. */
static enum elect_state
lock_leader(struct lockc *lc, int64_t *lease_until, char *why)
{
	int64_t t0 = elect_clock_ms();

	if (t0 >= lc->lease) {
		snprintf(why, ELECT_ERRLEN, "lease expired %lld ms ago (stopped "
		    "or stuck past the session timeout)",
		    (long long)(t0 - lc->lease));
		return ELECT_LOST;
	}
	if (t0 >= lc->next_renew && flock(lc->gfd, LOCK_EX | LOCK_NB) == 0) {
		if (!lock_same(lc->fd, lc->path)) {
			flock(lc->gfd, LOCK_UN);
			snprintf(why, ELECT_ERRLEN, "another candidate broke the "
			    "lock %.160s", lc->path);
			return ELECT_LOST;
		}
		if (lock_renew_locked(lc, t0) == -1)
			log_warn("cannot renew the lease in %s", lc->path);
		flock(lc->gfd, LOCK_UN);
	}
	*lease_until = lc->lease;
	return ELECT_LEADER;
}

/* ------------------------------------------------------------------ */
/* ZooKeeper backend                                                   */

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

/* A ZooKeeper handle with the state its watcher and completions share. */
struct zk {
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

/* Wake the owner of Z's event loop. */
static void
zk_wake(struct zk *z)
{
	(void)write(z->pipe[1], "", 1);
}

/* The watcher of every handle and watch: note what happened, wake up. */
static void
zk_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
	struct zk *z = ctx;

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
	zk_wake(z);
}

/* Free Z; closing the handle first lets no callback run afterwards. */
static void
zk_free(struct zk *z)
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
zk_start(struct zk *z, int64_t session_ms, char *err)
{
	pthread_mutex_lock(&z->mu);
	z->connected = z->expired = z->gone = 0;
	pthread_mutex_unlock(&z->mu);
	z->zh = zookeeper_init(z->hosts, zk_watcher, (int)session_ms, NULL, z, 0);
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
static struct zk *
zk_open(const struct elect_url *url, int64_t session_ms, int wait, char *err)
{
	struct zk *z = calloc(1, sizeof(*z));
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
		zk_free(z);
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
			zk_free(z);
			return NULL;
		}
		poll(&pfd, 1, (int)left);
		while (read(z->pipe[0], buf, sizeof(buf)) > 0)
			;
	}
	return z;
}

/* The sequence number of a child name, or -1 when it is not ours. */
static long long
zk_seq(const char *name)
{
	size_t n = strlen(name), i;

	if (n < strlen(ZK_PREFIX) + ZK_SEQ_DIGITS ||
	    strncmp(name, ZK_PREFIX, strlen(ZK_PREFIX)) != 0)
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
static int
zk_order(const struct String_vector *ch, const char *mine, char *lowest,
    size_t llen, char *pred, size_t plen)
{
	long long lo = -1, my = mine ? zk_seq(mine) : -1, best = -1, s;
	int i, n = 0;

	*lowest = '\0';
	*pred = '\0';
	for (i = 0; i < ch->count; i++) {
		if ((s = zk_seq(ch->data[i])) < 0)
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

/* Describe a ZooKeeper return code. */
static const char *
zk_err(int rc)
{
	return zerror(rc);
}

/*
 * Read the leader of Z's election into OUT, setting watches on the
 * children and on the leader's znode when WATCH.  Returns 0, or -1 with
 * ERR.
 */
static int
zk_read_leader(struct zk *z, int watch, struct elect_leader *out, char *err)
{
	struct String_vector ch = { 0, NULL };
	char lowest[256], pred[256], path[1300], buf[ELECT_ENDPOINT_MAX];
	int rc, len = sizeof(buf) - 1;

	memset(out, 0, sizeof(*out));
	rc = watch ? zoo_wget_children(z->zh, z->base, zk_watcher, z, &ch) :
	    zoo_get_children(z->zh, z->base, 0, &ch);
	if (rc == ZNONODE) {
		snprintf(err, ELECT_ERRLEN, "no leader: no election at %.160s",
		    z->base);
		if (watch)	/* learn when it appears */
			zoo_wexists(z->zh, z->base, zk_watcher, z, NULL);
		return -1;
	}
	if (rc != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper %.120s: %.80s", z->base,
		    zk_err(rc));
		return -2;
	}
	out->candidates = zk_order(&ch, NULL, lowest, sizeof(lowest), pred,
	    sizeof(pred));
	deallocate_String_vector(&ch);
	if (out->candidates == 0) {
		snprintf(err, ELECT_ERRLEN, "no leader: no candidate in %.160s",
		    z->base);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", z->base, lowest);
	rc = watch ? zoo_wget(z->zh, path, zk_watcher, z, buf, &len, NULL) :
	    zoo_get(z->zh, path, 0, buf, &len, NULL);
	if (rc != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper %.120s: %.80s", path, zk_err(rc));
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

/* A candidate in a ZooKeeper election. */
struct zkc {
	struct zk	*z;
	char		 me[1300];	/* our znode, full path */
	int		 leader;
	int		 was_connected;
	int64_t		 next_check;
	int64_t		 next_renew;
};

/* Create every missing component of PATH as a persistent znode. */
static int
zk_mkpath(zhandle_t *zh, const char *path, char *err)
{
	char buf[1024], *p;
	int rc;

	strlcpy(buf, path, sizeof(buf));
	for (p = buf + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		rc = zoo_create(zh, buf, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
		if (rc != ZOK && rc != ZNODEEXISTS) {
			snprintf(err, ELECT_ERRLEN, "ZooKeeper create %.120s: %.80s", buf,
			    zk_err(rc));
			return -1;
		}
		if ((*p = c) == '\0')
			return 0;
	}
}

/*
 * Where do we stand: leader when our znode is the lowest, else watch our
 * predecessor.  Returns ELECT_LEADER (setting the lease from the time
 * the question was asked), ELECT_STANDBY or ELECT_LOST with WHY.
 */
static enum elect_state
zk_check(struct zkc *c, char *why)
{
	struct String_vector ch;
	char lowest[256], pred[256], path[1300];
	const char *mine = strrchr(c->me, '/') + 1;
	int tries, rc;

	for (tries = 0; tries < 10; tries++) {
		int64_t t0 = elect_clock_ms();

		ch.count = 0;
		ch.data = NULL;
		if ((rc = zoo_get_children(c->z->zh, c->z->base, 0, &ch)) != ZOK)
			return ELECT_STANDBY;	/* not connected: later */
		zk_order(&ch, mine, lowest, sizeof(lowest), pred, sizeof(pred));
		deallocate_String_vector(&ch);
		if (zk_seq(mine) < 0 || lowest[0] == '\0' ||
		    (pred[0] == '\0' && strcmp(lowest, mine) != 0)) {
			snprintf(why, ELECT_ERRLEN, "our znode %.160s is gone", c->me);
			return ELECT_LOST;
		}
		if (pred[0] == '\0') {
			pthread_mutex_lock(&c->z->mu);
			c->z->renewed = t0 + c->z->session_ms;
			pthread_mutex_unlock(&c->z->mu);
			c->leader = 1;
			return ELECT_LEADER;
		}
		snprintf(path, sizeof(path), "%s/%s", c->z->base, pred);
		rc = zoo_wexists(c->z->zh, path, zk_watcher, c->z, NULL);
		if (rc == ZOK)
			return ELECT_STANDBY;
		if (rc != ZNONODE)
			return ELECT_STANDBY;
		/* the predecessor left between the two calls: look again */
	}
	return ELECT_STANDBY;
}

/* Completion of a lease ping: a live session extends the lease. */
static void
zk_renewed(int rc, const struct Stat *st, const void *data)
{
	struct zk *z = (struct zk *)data;

	(void)st;
	pthread_mutex_lock(&z->mu);
	if (rc == ZOK) {
		if (z->renew_sent + z->session_ms > z->renewed)
			z->renewed = z->renew_sent + z->session_ms;
	} else if (rc == ZNONODE)
		z->gone = 1;
	z->renewing = 0;
	pthread_mutex_unlock(&z->mu);
	zk_wake(z);
}

static enum elect_state
zk_poll(struct zkc *c, int64_t *lease_until, char *why)
{
	struct zk *z = c->z;
	int64_t now = elect_clock_ms(), lease;
	int connected, expired, changed, gone, renewing;
	char buf[64];

	while (read(z->pipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&z->mu);
	connected = z->connected;
	expired = z->expired;
	changed = z->changed;
	gone = z->gone;
	renewing = z->renewing;
	lease = z->renewed;
	z->changed = 0;
	pthread_mutex_unlock(&z->mu);
	if (expired) {
		snprintf(why, ELECT_ERRLEN, "ZooKeeper session expired");
		return ELECT_LOST;
	}
	if (connected != c->was_connected) {
		c->was_connected = connected;
		if (connected)
			log_info("ZooKeeper: connected");
		else if (c->leader)
			log_warnx("ZooKeeper: disconnected; leading for %lld ms "
			    "more at most", (long long)(lease - now));
		else
			log_info("ZooKeeper: disconnected");
	}
	if (gone) {
		snprintf(why, ELECT_ERRLEN, "our znode %.160s is gone", c->me);
		return ELECT_LOST;
	}
	if (c->leader) {
		if (now >= lease) {
			snprintf(why, ELECT_ERRLEN, "no word from ZooKeeper within "
			    "the session timeout (%lld ms)",
			    (long long)z->session_ms);
			return ELECT_LOST;
		}
		if (connected && !renewing && now >= c->next_renew) {
			pthread_mutex_lock(&z->mu);
			z->renewing = 1;
			z->renew_sent = elect_clock_ms();
			pthread_mutex_unlock(&z->mu);
			if (zoo_aexists(z->zh, c->me, 0, zk_renewed, z) != ZOK) {
				pthread_mutex_lock(&z->mu);
				z->renewing = 0;
				pthread_mutex_unlock(&z->mu);
			}
			c->next_renew = now + z->session_ms / 4;
		}
		*lease_until = lease;
		return ELECT_LEADER;
	}
	if (connected && (changed || now >= c->next_check)) {
		enum elect_state st;

		c->next_check = now + z->session_ms;
		st = zk_check(c, why);
		if (st == ELECT_LEADER) {
			pthread_mutex_lock(&z->mu);
			*lease_until = z->renewed;
			pthread_mutex_unlock(&z->mu);
			c->next_renew = now + z->session_ms / 4;
		}
		return st;
	}
	return ELECT_STANDBY;
}

/* ------------------------------------------------------------------ */
/* candidates                                                          */

struct elect {
	enum elect_kind	 kind;
	struct lockc	*lc;
	struct zkc	*zc;
	int64_t		 session_ms;
};

struct elect *
elect_join(const struct elect_url *url, int64_t session_ms, char *err)
{
	struct elect *e = calloc(1, sizeof(*e));
	char host[128];

	if (e == NULL) {
		snprintf(err, ELECT_ERRLEN, "out of memory");
		return NULL;
	}
	e->kind = url->kind;
	e->session_ms = session_ms;
	if (url->kind == ELECT_LOCK) {
		struct lockc *lc = calloc(1, sizeof(*lc));

		if ((e->lc = lc) == NULL) {
			snprintf(err, ELECT_ERRLEN, "out of memory");
			goto fail;
		}
		strlcpy(lc->path, url->path, sizeof(lc->path));
		snprintf(lc->guard, sizeof(lc->guard), "%s.guard", url->path);
		lc->session_ms = session_ms;
		if (lock_open(lc, err) == -1) {
			free(lc);
			e->lc = NULL;
			goto fail;
		}
		lc->rec.pid = getpid();
		if (gethostname(host, sizeof(host) - 1) == -1 || *host == '\0')
			strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, " \t\n")] = '\0';
		strlcpy(lc->rec.host, host, sizeof(lc->rec.host));
		lc->rec.session_ms = session_ms;
		return e;
	}
	if (url->kind == ELECT_ZK) {
		struct zkc *c = calloc(1, sizeof(*c));
		char made[1300];
		int rc;

		if ((e->zc = c) == NULL) {
			snprintf(err, ELECT_ERRLEN, "out of memory");
			goto fail;
		}
		if ((c->z = zk_open(url, session_ms, 1, err)) == NULL)
			goto fail;
		if (zk_mkpath(c->z->zh, url->path, err) == -1)
			goto fail;
		snprintf(made, sizeof(made), "%s/%s", url->path, ZK_PREFIX);
		rc = zoo_create(c->z->zh, made, "", 0, &ZOO_OPEN_ACL_UNSAFE,
		    ZOO_EPHEMERAL_SEQUENTIAL, c->me, sizeof(c->me));
		if (rc != ZOK) {
			snprintf(err, ELECT_ERRLEN, "ZooKeeper create %.120s: %.80s", made,
			    zk_err(rc));
			goto fail;
		}
		pthread_mutex_lock(&c->z->mu);
		e->session_ms = c->z->session_ms;
		c->z->changed = 1;	/* look where we stand at once */
		pthread_mutex_unlock(&c->z->mu);
		log_info("joined the election at %s as %s (session timeout %lld "
		    "ms)", url->path, c->me, (long long)e->session_ms);
		return e;
	}
	snprintf(err, ELECT_ERRLEN, "not an election: %.160s", url->endpoint);
fail:
	elect_leave(e);
	return NULL;
}

void
elect_leave(struct elect *e)
{
	if (e == NULL)
		return;
	if (e->lc != NULL) {
		if (e->lc->held && lock_same(e->lc->fd, e->lc->path))
			(void)ftruncate(e->lc->fd, 0);
		if (e->lc->fd != -1)
			close(e->lc->fd);
		close(e->lc->gfd);
		free(e->lc);
	}
	if (e->zc != NULL) {
		/* closing the session deletes our znode at once */
		zk_free(e->zc->z);
		free(e->zc);
	}
	free(e);
}

int
elect_fd(struct elect *e)
{
	return e->zc != NULL ? e->zc->z->pipe[0] : -1;
}

int
elect_tick_ms(struct elect *e)
{
	int64_t t = e->session_ms / 20;

	return t < 10 ? 10 : t > 50 ? 50 : (int)t;
}

int64_t
elect_session_ms(struct elect *e)
{
	return e->session_ms;
}

enum elect_state
elect_poll(struct elect *e, int64_t *lease_until, char *why)
{
	if (e->lc != NULL)
		return e->lc->held ? lock_leader(e->lc, lease_until, why) :
		    lock_standby(e->lc, lease_until);
	return zk_poll(e->zc, lease_until, why);
}

int
elect_publish(struct elect *e, const char *endpoint, pid_t command, char *err)
{
	size_t n = strlen(endpoint);

	if (n >= ELECT_ENDPOINT_MAX || strcspn(endpoint, " \t\n") != n) {
		snprintf(err, ELECT_ERRLEN, "endpoint '%.64s': too long or has "
		    "blanks", endpoint);
		return -1;
	}
	if (e->lc != NULL) {
		struct lockc *lc = e->lc;
		int tries;

		strlcpy(lc->rec.endpoint, endpoint, sizeof(lc->rec.endpoint));
		lc->rec.cpid = command;
		if (!lc->held)
			return 0;
		/* under the guard, like every write of the holder */
		for (tries = 0; tries < 1000; tries++) {
			if (flock(lc->gfd, LOCK_EX | LOCK_NB) == 0)
				break;
			usleep(1000);
		}
		if (tries == 1000 || !lock_same(lc->fd, lc->path) ||
		    lock_rec_write(lc->fd, &lc->rec) == -1) {
			snprintf(err, ELECT_ERRLEN, "%.120s: %.80s", lc->path,
			    strerror(errno));
			flock(lc->gfd, LOCK_UN);
			return -1;
		}
		flock(lc->gfd, LOCK_UN);
		return 0;
	}
	if (e->zc != NULL) {
		int rc = zoo_set(e->zc->z->zh, e->zc->me, endpoint, (int)n, -1);

		if (rc != ZOK) {
			snprintf(err, ELECT_ERRLEN, "ZooKeeper set %.120s: %.80s",
			    e->zc->me, zk_err(rc));
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* lookup and following                                                */

int
elect_lookup(const char *master, struct elect_leader *out, char *err)
{
	struct elect_url u;
	struct zk *z;
	int r;

	if (elect_url_parse(master, &u, err) == -1)
		return -1;
	memset(out, 0, sizeof(*out));
	switch (u.kind) {
	case ELECT_LOCK:
		return lock_lookup(u.path, out, err);
	case ELECT_ZK:
		if ((z = zk_open(&u, ELECT_CONNECT_MS, 1, err)) == NULL)
			return -2;
		r = zk_read_leader(z, 0, out, err);
		zk_free(z);
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
	struct zk	*z;
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
		f->z = zk_open(&f->url, ELECT_CONNECT_MS, 0, err);
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
	zk_free(f->z);
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
