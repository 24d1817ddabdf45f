/*
 * Privilege separation: offerd started as root forks.  This file owns
 * both ends.  The parent stays root and does three things only: it holds
 * the pid file, passes SIGTERM, SIGINT and SIGHUP on to the child and
 * exits with the child's status, and reads the files offerd reloads (at
 * start and on SIGHUP) to write their bytes down a pipe to the child.  It
 * never parses network input and reads nothing from the child but its
 * exit: the pipe goes one way.  The child gives the work dir to the
 * serving user, drops to it (groups, gid, uid, capabilities, no new
 * privileges) and then serves as offerd always did.  Started by another
 * user, offerd neither forks nor drops, and files are read where they are.
 *
 * A frame on the pipe is a struct frame, then LEN bytes: the file's
 * content, or the reason the parent could not read it.
 */
#include <sys/types.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bsd/libutil.h>

#include "acl.h"
#include "auth.h"
#include "exits.h"
#include "log.h"
#include "offerd.h"
#include "sig.h"

#define PRIV_USER	"offerd"	/* the dedicated user, when it exists */
#define PRIV_FALLBACK	"nobody"	/* else this one */
#define FRAME_MAX	AUTH_FILE_MAX	/* the largest file passed on */
#define QUEUE_MAX	(4 * (FRAME_MAX + (size_t)AUTH_ERRLEN))

struct frame {
	uint32_t	file;		/* enum master_file */
	uint32_t	failed;		/* 1: the bytes are the reason */
	uint32_t	len;
};

/* How each file is read; the parent and an unseparated offerd share it. */
static int (*const readers[MF_NFILES])(const char *, char **, size_t *,
    char *) = {
	[MF_CREDENTIALS] = auth_file_read,
	[MF_ACL] = acl_read,
};

/* The child's end: the pipe, and the latest bytes of each file not taken. */
static int from_parent = -1;
static struct {
	char	*buf;
	size_t	 len;
	int	 got;		/* 1: bytes, -1: the reason in err */
	char	 err[AUTH_ERRLEN];
} latest[MF_NFILES];

/* The parent's end: frames not yet written. */
struct queue {
	char	*buf;
	size_t	 len, off;
};

void
priv_config(struct config *c, const char *user)
{
	const char *name = user;
	struct passwd *pw;

	if (geteuid() != 0) {
		/* nothing to drop: -u may only say who we are */
		pw = getpwuid(geteuid());
		if (user != NULL && (pw == NULL || strcmp(pw->pw_name, user) != 0))
			errx(EXIT_USAGE, "-u %s: only root may serve as another "
			    "user", user);
		return;
	}
	if (name == NULL)
		name = getpwnam(PRIV_USER) != NULL ? PRIV_USER : PRIV_FALLBACK;
	if ((pw = getpwnam(name)) == NULL)
		errx(EXIT_USAGE, "-u %s: no such user", name);
	if (strlcpy(c->run_user, pw->pw_name, sizeof(c->run_user)) >=
	    sizeof(c->run_user))
		errx(EXIT_USAGE, "-u %s: the name is too long", name);
	c->run_uid = pw->pw_uid;
	c->run_gid = pw->pw_gid;
	/* -u root asks for the unseparated offerd of old, as root */
	c->separate = pw->pw_uid != 0;
	c->user_default = user == NULL;
}

/* ------------------------------------------------------------------ */
/* reading the files                                                    */

int
priv_file(const struct config *c, enum master_file which, char **buf,
    size_t *len, char *err)
{
	if (c->files[which] == NULL) {
		snprintf(err, AUTH_ERRLEN, "no such file is read");
		return -1;
	}
	if (from_parent == -1)
		return readers[which](c->files[which], buf, len, err);
	/* at start the parent's first frames may not be here yet */
	while (latest[which].got == 0)
		if (priv_recv() == -1) {
			snprintf(err, AUTH_ERRLEN, "the parent is gone");
			return -1;
		}
	if (latest[which].got == -1) {
		snprintf(err, AUTH_ERRLEN, "%s", latest[which].err);
		latest[which].got = 0;
		return -1;
	}
	*buf = latest[which].buf;
	*len = latest[which].len;
	latest[which].buf = NULL;
	latest[which].got = 0;
	return 0;
}

/* Read exactly LEN bytes from FD into P; 0, or -1 at the end or an error. */
static int
read_full(int fd, void *p, size_t len)
{
	ssize_t r;
	size_t n;

	for (n = 0; n < len; n += (size_t)r)
		if ((r = read(fd, (char *)p + n, len - n)) <= 0) {
			if (r == -1 && errno == EINTR) {
				r = 0;
				continue;
			}
			return -1;
		}
	return 0;
}

int
priv_recv(void)
{
	struct frame f;
	char *b;

	if (read_full(from_parent, &f, sizeof(f)) == -1)
		return -1;
	/* the parent is trusted, but what it says is bounded all the same */
	if (f.file >= MF_NFILES || f.failed > 1 || f.len > FRAME_MAX ||
	    (f.failed && f.len >= AUTH_ERRLEN))
		log_fatalx("a bad frame from the parent (file %u, %u bytes)",
		    f.file, f.len);
	if ((b = malloc(f.len + 1)) == NULL)
		log_fatal("a file from the parent");
	if (read_full(from_parent, b, f.len) == -1) {
		auth_file_free(b, f.len + 1);
		return -1;
	}
	b[f.len] = '\0';
	auth_file_free(latest[f.file].buf, latest[f.file].len);
	latest[f.file].buf = NULL;
	if (f.failed) {
		snprintf(latest[f.file].err, AUTH_ERRLEN, "%s", b);
		latest[f.file].got = -1;
		free(b);
	} else {
		latest[f.file].buf = b;
		latest[f.file].len = f.len;
		latest[f.file].got = 1;
	}
	return (int)f.file;
}

int
priv_fd(void)
{
	return from_parent;
}

/* ------------------------------------------------------------------ */
/* the parent                                                           */

/* Append to Q a frame of FILE, FAILED or not, of the LEN bytes B. */
static void
queue_frame(struct queue *q, uint32_t file, uint32_t failed, const char *b,
    size_t len)
{
	struct frame f = { file, failed, (uint32_t)len };
	size_t need = q->len - q->off + sizeof(f) + len;
	char *nb;

	if (need > QUEUE_MAX) {
		log_warnx("the serving process reads no files: not sending more");
		return;
	}
	if ((nb = malloc(need)) == NULL) {
		log_warn("cannot pass files on");
		return;
	}
	/* a new buffer, so that the old one, secrets and all, is zeroed */
	if (q->len > q->off)	/* none at first: NULL + 0 is undefined */
		memcpy(nb, q->buf + q->off, q->len - q->off);
	memcpy(nb + q->len - q->off, &f, sizeof(f));
	memcpy(nb + q->len - q->off + sizeof(f), b, len);
	auth_file_free(q->buf, q->len);
	q->buf = nb;
	q->len = need;
	q->off = 0;
}

/* Read every file C names and queue its bytes (or why not) on Q. */
static void
queue_files(const struct config *c, struct queue *q)
{
	char err[AUTH_ERRLEN], *buf;
	size_t len;
	int i;

	for (i = 0; i < MF_NFILES; i++) {
		if (c->files[i] == NULL)
			continue;
		if (readers[i](c->files[i], &buf, &len, err) == -1) {
			queue_frame(q, i, 1, err, strlen(err));
			continue;
		}
		queue_frame(q, i, 0, buf, len);
		auth_file_free(buf, len);
	}
}

/* Write what Q holds to FD (non-blocking) as far as it goes. */
static void
queue_flush(struct queue *q, int fd)
{
	ssize_t r;

	while (q->off < q->len) {
		if ((r = write(fd, q->buf + q->off, q->len - q->off)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				q->off = q->len;	/* the child is gone */
			break;
		}
		q->off += (size_t)r;
	}
	if (q->off == q->len) {
		auth_file_free(q->buf, q->len);
		memset(q, 0, sizeof(*q));
	}
}

/*
 * Be the parent of CHILD (FD: the pipe to it): pass signals and files on
 * until it ends, then remove PFH's pid file and exit with its status.
 */
static void __attribute__((noreturn))
parent_serve(const struct config *c, pid_t child, int fd, struct pidfh *pfh,
    int sigfd)
{
	struct queue q = { NULL, 0, 0 };
	struct pollfd pfd[2] = {
		{ .fd = sigfd, .events = POLLIN },
		{ .fd = fd, .events = POLLOUT },
	};
	static const int passed[] = { SIGTERM, SIGINT, SIGHUP };
	size_t i;
	int st = 0;

	queue_files(c, &q);
	for (;;) {
		pfd[1].fd = q.len > q.off ? fd : -1;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			log_fatal("poll");
		sig_drain();
		for (i = 0; i < sizeof(passed) / sizeof(*passed); i++) {
			if (!sig_take(passed[i]))
				continue;
			if (passed[i] == SIGHUP) {
				log_info("SIGHUP: reading the files again for "
				    "the serving process");
				queue_files(c, &q);
			}
			kill(child, passed[i]);
		}
		queue_flush(&q, fd);
		if (sig_take(SIGCHLD) && waitpid(child, &st, WNOHANG) == child)
			break;
	}
	auth_file_free(q.buf, q.len);
	if (pfh != NULL)
		pidfile_remove(pfh);
	if (WIFSIGNALED(st)) {
		log_warnx("the serving process was killed by signal %d",
		    WTERMSIG(st));
		exit(EXIT_SIGNALED + WTERMSIG(st));
	}
	exit(WEXITSTATUS(st));
}

/* ------------------------------------------------------------------ */
/* the child                                                            */

/* Is NAME, in the work dir open on DIRFD, one that offerd makes there? */
static int
workdir_own_name(const struct config *c, int dirfd, const char *name)
{
	static const char *const ours[] = { WORK_STATE, WORK_STATE_TMP,
	    WORK_ALLOC, WORK_LOCK };
	struct stat pst, dst;
	const char *slash;
	char pdir[PATH_MAX], hist[HISTORY_NAME];
	size_t i;
	int n;

	for (i = 0; i < sizeof(ours) / sizeof(*ours); i++)
		if (strcmp(name, ours[i]) == 0)
			return 1;
	for (n = 0; n <= HISTORY_KEEP; n++)
		if (strcmp(name, history_name(n, hist, sizeof(hist))) == 0)
			return 1;
	/* the pid file, when it is kept there */
	if (c->pidpath == NULL || (slash = strrchr(c->pidpath, '/')) == NULL ||
	    strcmp(slash + 1, name) != 0)
		return 0;
	snprintf(pdir, sizeof(pdir), "%.*s", (int)(slash - c->pidpath),
	    c->pidpath);
	return stat(pdir[0] ? pdir : "/", &pst) == 0 &&
	    fstat(dirfd, &dst) == 0 && pst.st_dev == dst.st_dev &&
	    pst.st_ino == dst.st_ino;
}

/* True when the work dir open on DIRFD holds only what offerd makes. */
static int
workdir_only_ours(const struct config *c, int dirfd)
{
	struct dirent *e;
	DIR *d;
	int fd, ok = 1;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	while (ok && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			ok = workdir_own_name(c, dirfd, e->d_name);
	closedir(d);
	return ok;
}

/* Give the regular file NAME in DIRFD (not a link) to C's user, mode 0600. */
static void
workdir_give_file(const struct config *c, int dirfd, const char *name)
{
	struct stat st;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return;
	/* one link only: never another name of a file elsewhere */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
	    (fchown(fd, c->run_uid, c->run_gid) == -1 ||
	    fchmod(fd, 0600) == -1))
		log_fatal("cannot give %s/%s to %s", c->work_dir, name,
		    c->run_user);
	close(fd);
}

/*
 * Make the work dir of C, or take the one there when it is the user's or
 * holds only offerd's files, and give it and those files to the user,
 * mode 0700.  Runs as root; stops offerd (111) when it cannot.
 */
static void
workdir_give(const struct config *c)
{
	static const char *const ours[] = { WORK_STATE, WORK_STATE_TMP,
	    WORK_LOCK };
	struct stat st;
	char hist[HISTORY_NAME];
	size_t i;
	int fd, n;

	if (mkdir(c->work_dir, 0700) == -1 && errno != EEXIST)
		log_fatal("work dir %s", c->work_dir);
	if ((fd = open(c->work_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(fd, &st) == -1)
		log_fatal("work dir %s", c->work_dir);
	if (st.st_uid != c->run_uid && !workdir_only_ours(c, fd))
		log_fatalx("work dir %s belongs to uid %u and holds files "
		    "offerd did not make: it is not given to %s (give -w)",
		    c->work_dir, (unsigned)st.st_uid, c->run_user);
	for (i = 0; i < sizeof(ours) / sizeof(*ours); i++)
		workdir_give_file(c, fd, ours[i]);
	for (n = 0; n <= HISTORY_KEEP; n++)
		workdir_give_file(c, fd, history_name(n, hist, sizeof(hist)));
	if (fchown(fd, c->run_uid, c->run_gid) == -1 || fchmod(fd, 0700) == -1)
		log_fatal("cannot give work dir %s to %s", c->work_dir,
		    c->run_user);
	close(fd);
}

/*
 * Clear every capability (effective, permitted, inheritable, ambient)
 * and check that none is left: a kernel or a start with securebits set
 * may leave some after setuid.
 */
static void
caps_clear(void)
{
	cap_t none, now;
	int same;

	if ((none = cap_init()) == NULL || cap_set_proc(none) == -1 ||
	    cap_reset_ambient() == -1 || (now = cap_get_proc()) == NULL)
		log_fatal("capabilities");
	same = cap_compare(now, none) == 0;
	cap_free(now);
	cap_free(none);
	if (!same)
		log_fatalx("capabilities remain after the drop: stopping");
}

/*
 * Become C's user for good: work dir, groups, gid, uid, capabilities, no
 * new privileges, and an end with PARENT.  Stops offerd when any fails.
 */
static void
child_drop(const struct config *c, pid_t parent)
{
	gid_t gid = c->run_gid;
	uid_t uid = c->run_uid;
	cap_value_t cap;

	workdir_give(c);
	/* nothing exec'd from here on may hold a capability, ever */
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (cap_drop_bound(cap) == -1 && errno != EINVAL)
			log_fatal("capability bounding set");
	/* the user's own group only: no supplementary group is kept */
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		log_fatal("cannot become %s", c->run_user);
	if (setuid(0) != -1 || setgid(0) != -1)
		log_fatalx("%s could become root again: stopping", c->run_user);
	caps_clear();
	/* no setuid program nor file capability gives any back */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_fatal("no_new_privs");
	/* after the uid change, which clears it: end when the parent does */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == -1 ||
	    getppid() != parent)
		log_fatalx("the parent is gone");
	umask(077);
	if (access(c->work_dir, R_OK | W_OK | X_OK) == -1)
		log_fatal("work dir %s is out of %s's reach (is a directory "
		    "above it closed to it?)", c->work_dir, c->run_user);
}

struct pidfh *
priv_start(const struct config *c, struct pidfh *pfh)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	sigset_t block, old;
	pid_t parent = getpid(), child;
	int p[2], sigfd;
	size_t i;

	if (!c->separate) {
		if (geteuid() == 0)
			log_warnx("-u root: every record is handled as root");
		return pfh;
	}
	if (c->user_default && strcmp(c->run_user, PRIV_FALLBACK) == 0)
		log_warnx("no user %s: serving as %s, which other daemons may "
		    "share; create a dedicated user (adduser --system --group "
		    "%s)", PRIV_USER, PRIV_FALLBACK, PRIV_USER);
	/* signals wait until each side is ready for them */
	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		sigaddset(&block, sigs[i]);
	if (pipe2(p, O_CLOEXEC) == -1 ||
	    sigprocmask(SIG_BLOCK, &block, &old) == -1)
		log_fatal("privilege separation");
	if ((child = fork()) == -1)
		log_fatal("fork");
	if (child == 0) {
		close(p[1]);
		from_parent = p[0];
		if (pfh != NULL)
			pidfile_close(pfh);
		sigprocmask(SIG_SETMASK, &old, NULL);
		child_drop(c, parent);
		log_info("serving as %s (uid %u), pid %d; the parent %d stays "
		    "root", c->run_user, (unsigned)c->run_uid, (int)getpid(),
		    (int)parent);
		return NULL;
	}
	close(p[0]);
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) == -1 ||
	    (sigfd = sig_init(sigs, sizeof(sigs) / sizeof(*sigs))) == -1)
		log_fatal("privilege separation");
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pfh != NULL)
		pidfile_write(pfh);
	parent_serve(c, child, p[1], pfh, sigfd);
}
