/*
 * lock: cluster-elect's candidate on a lock file.  The holder of an
 * flock(2) on the file leads while it renews the lease record in it; a
 * standby breaks the lock of a holder that stopped renewing (see
 * cluster-elect(8)).  The record's format and its reader are shared with
 * the lookup of lib/elect.c (elect-backend.h).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster-elect.h"
#include "elect-backend.h"
#include "log.h"
#include "util.h"

#define GUARD_TRIES	1000	/* 1 ms apart: a publish waits for the guard */
#define LOCK_DIR_MODE	0755	/* a directory made for the lock: clients read */
#define LOCK_FILE_MODE	0644
#define LOCK_OPEN	(O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW)

/* Write record R over the file open on FD.  Returns 0 or -1. */
static int
lock_rec_write(int fd, const struct elect_lock_rec *r)
{
	char buf[ELECT_LOCK_REC_LEN];
	int n;

	n = snprintf(buf, sizeof(buf), "%s %ld %s %lld %lld %ld %s\n",
	    ELECT_LOCK_MAGIC, r->pid, r->host, (long long)r->session_ms,
	    (long long)r->expires_ms, r->cpid, r->endpoint[0] ? r->endpoint : "-");
	if (n < 0 || n >= (int)sizeof(buf))
		return -1;
	/* fixed size, so a record is always overwritten whole */
	memset(buf + n, ' ', sizeof(buf) - n - 1);
	buf[sizeof(buf) - 1] = '\n';
	return pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) ? 0 : -1;
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
	int	 warned;		/* about the file we cannot trust */
	struct elect_lock_rec rec;		/* ours */
};

/* True when FD is still the file at PATH (it was not broken). */
static int
lock_same(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Is the lock file (or its guard) open on FD at PATH to be trusted: a
 * regular file of ours or root's that only its owner may write?  Anyone
 * else who could write it could publish a leader.  0, or -1 with ERR.
 */
static int
lock_file_check(int fd, const char *path, char *err)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, ELECT_ERRLEN, "%.120s: %.80s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, ELECT_ERRLEN, "%.160s: not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, ELECT_ERRLEN, "%.160s: owned by uid %u, neither "
		    "us nor root: its owner could publish a leader", path,
		    (unsigned)st.st_uid);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, ELECT_ERRLEN, "%.90s: mode %04o: others could "
		    "publish a leader (chmod go-w %.90s)", path,
		    (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/*
 * The directory of the lock file PATH: made (mode LOCK_DIR_MODE) when it
 * is the only part missing, as a fresh /run/cluster is; then it must be
 * ours or root's and writable by nobody else, unless sticky (as /tmp),
 * where nobody else can remove our files.  0, or -1 with ERR.
 */
static int
lock_dir(const char *path, char *err)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == dir)
		dir[1] = '\0';		/* the root */
	else if (slash != NULL)
		*slash = '\0';
	if (stat(dir, &st) == -1 && errno == ENOENT) {
		if (mkdir(dir, LOCK_DIR_MODE) == -1) {
			if (errno == ENOENT)
				snprintf(err, ELECT_ERRLEN, "lock file %.160s: the "
				    "directory does not exist, nor its parent",
				    path);
			else
				snprintf(err, ELECT_ERRLEN, "cannot make %.100s "
				    "for the lock file: %.40s (make it, mode 0755, "
				    "owned by the masters' user)", dir,
				    strerror(errno));
			return -1;
		}
		/* the mode asked for, whatever the umask: clients read it */
		chmod(dir, LOCK_DIR_MODE);
		log_info("made the directory %s (mode %04o) for the lock file",
		    dir, LOCK_DIR_MODE);
	}
	if (stat(dir, &st) == -1) {
		snprintf(err, ELECT_ERRLEN, "%.160s: %.80s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, ELECT_ERRLEN, "%.160s: not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, ELECT_ERRLEN, "%.160s: owned by uid %u, neither us "
		    "nor root: its owner could replace the lock file", dir,
		    (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, ELECT_ERRLEN, "%.80s: mode %04o: others could "
		    "replace the lock file (chmod go-w %.80s)", dir,
		    (unsigned)(st.st_mode & 07777), dir);
		return -1;
	}
	return 0;
}

/* Open PATH on FD, fit to be trusted (see lock_file_check); 0 or -1. */
static int
lock_file_open(const char *path, int *fd, char *err)
{
	if ((*fd = open(path, LOCK_OPEN, LOCK_FILE_MODE)) == -1) {
		snprintf(err, ELECT_ERRLEN, "%.120s: %.80s", path, errno == ELOOP ?
		    "a symbolic link: give the file itself" : strerror(errno));
		return -1;
	}
	if (lock_file_check(*fd, path, err) == -1) {
		close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

/* Open PATH and the guard.  Returns 0, or -1 with ERR. */
static int
lock_open(struct lockc *lc, char *err)
{
	if (lock_dir(lc->path, err) == -1 ||
	    lock_file_open(lc->guard, &lc->gfd, err) == -1)
		return -1;
	if (lock_file_open(lc->path, &lc->fd, err) == -1) {
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
lock_rec_dead(const struct elect_lock_rec *r)
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
static enum cand_state
lock_standby(struct lockc *lc, int64_t *lease_until)
{
	char err[ELECT_ERRLEN];
	struct elect_lock_rec r;
	int64_t t0;

	if (lc->fd == -1 || !lock_same(lc->fd, lc->path)) {
		if (lc->fd != -1)
			close(lc->fd);
		lc->waiting = 0;
		if (lock_file_open(lc->path, &lc->fd, err) == -1) {
			/* once: a standby tries 20 times a session */
			if (!lc->warned)
				log_warnx("%s", err);
			lc->warned = 1;
			return CAND_STANDBY;
		}
		lc->warned = 0;
	}
	if (lc->waiting || flock(lc->fd, LOCK_EX | LOCK_NB) == 0) {
		/* ours, unless broken meanwhile: check under the guard */
		if (flock(lc->gfd, LOCK_EX | LOCK_NB) == -1)
			return CAND_STANDBY;
		if (!lock_same(lc->fd, lc->path)) {
			flock(lc->gfd, LOCK_UN);
			close(lc->fd);
			lc->fd = -1;
			lc->waiting = 0;
			return CAND_STANDBY;
		}
		if (!lc->waiting) {
			/* the last holder's command may live on: let it expire */
			lc->waiting = 1;
			lc->wait_until = 0;
			if (elect_lock_rec_read(lc->fd, &r) == 0 && !lock_rec_dead(&r)) {
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
			return CAND_STANDBY;
		}
		flock(lc->gfd, LOCK_UN);
		lc->waiting = 0;
		lc->held = 1;
		*lease_until = lc->lease;
		return CAND_LEADER;
	}
	if (errno != EWOULDBLOCK) {
		log_warn("flock %s", lc->path);
		return CAND_STANDBY;
	}
	if (elect_lock_rec_read(lc->fd, &r) == -1) {
		/* a holder without a record: give it two sessions to write */
		if (lc->bad_since == 0)
			lc->bad_since = elect_clock_ms();
		if (elect_clock_ms() - lc->bad_since < 2 * lc->session_ms)
			return CAND_STANDBY;
		r.pid = 0;
		r.expires_ms = 0;
		r.session_ms = 0;
	} else {
		lc->bad_since = 0;
		if (wall_ms() <= r.expires_ms + r.session_ms / 2)
			return CAND_STANDBY;
	}
	/* the holder is stuck (stopped, hung, or its machine is gone) */
	if (flock(lc->gfd, LOCK_EX | LOCK_NB) == -1)
		return CAND_STANDBY;
	if (lock_same(lc->fd, lc->path)) {
		struct elect_lock_rec again;

		if (r.pid == 0 || (elect_lock_rec_read(lc->fd, &again) == 0 &&
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
	return CAND_STANDBY;
}

/* The leader's turn: renew the lease, or find that it is gone. */
static enum cand_state
lock_leader(struct lockc *lc, int64_t *lease_until, char *why)
{
	int64_t t0 = elect_clock_ms();

	if (t0 >= lc->lease) {
		snprintf(why, ELECT_ERRLEN, "lease expired %lld ms ago (stopped "
		    "or stuck past the session timeout)",
		    (long long)(t0 - lc->lease));
		return CAND_LOST;
	}
	if (t0 >= lc->next_renew && flock(lc->gfd, LOCK_EX | LOCK_NB) == 0) {
		if (!lock_same(lc->fd, lc->path)) {
			flock(lc->gfd, LOCK_UN);
			snprintf(why, ELECT_ERRLEN, "another candidate broke the "
			    "lock %.160s", lc->path);
			return CAND_LOST;
		}
		if (lock_renew_locked(lc, t0) == -1)
			log_warn("cannot renew the lease in %s", lc->path);
		flock(lc->gfd, LOCK_UN);
	}
	*lease_until = lc->lease;
	return CAND_LEADER;
}

struct lockc *
lockc_create(const char *path, int64_t session_ms, char *err)
{
	struct lockc *lc = calloc(1, sizeof(*lc));
	char host[128];

	if (lc == NULL) {
		snprintf(err, ELECT_ERRLEN, "out of memory");
		return NULL;
	}
	strlcpy(lc->path, path, sizeof(lc->path));
	snprintf(lc->guard, sizeof(lc->guard), "%s.guard", path);
	lc->session_ms = session_ms;
	if (lock_open(lc, err) == -1) {
		free(lc);
		return NULL;
	}
	lc->rec.pid = getpid();
	if (gethostname(host, sizeof(host) - 1) == -1 || *host == '\0')
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, " \t\n")] = '\0';
	strlcpy(lc->rec.host, host, sizeof(lc->rec.host));
	lc->rec.session_ms = session_ms;
	return lc;
}

void
lockc_destroy(struct lockc *lc)
{
	if (lc == NULL)
		return;
	if (lc->held && lock_same(lc->fd, lc->path))
		(void)ftruncate(lc->fd, 0);
	if (lc->fd != -1)
		close(lc->fd);
	close(lc->gfd);
	free(lc);
}

enum cand_state
lockc_poll(struct lockc *lc, int64_t *lease_until, char *why)
{
	return lc->held ? lock_leader(lc, lease_until, why) :
	    lock_standby(lc, lease_until);
}

int
lockc_publish(struct lockc *lc, const char *endpoint, pid_t command, char *err)
{
	int tries;

	strlcpy(lc->rec.endpoint, endpoint, sizeof(lc->rec.endpoint));
	lc->rec.cpid = command;
	if (!lc->held)
		return 0;
	/* under the guard, like every write of the holder */
	for (tries = 0; tries < GUARD_TRIES; tries++) {
		if (flock(lc->gfd, LOCK_EX | LOCK_NB) == 0)
			break;
		usleep(1000);
	}
	if (tries == GUARD_TRIES || !lock_same(lc->fd, lc->path) ||
	    lock_rec_write(lc->fd, &lc->rec) == -1) {
		snprintf(err, ELECT_ERRLEN, "%.120s: %.80s", lc->path,
		    strerror(errno));
		flock(lc->gfd, LOCK_UN);
		return -1;
	}
	flock(lc->gfd, LOCK_UN);
	return 0;
}
