/*
 * The task's cgroup: discovery of cgroup v2 or v1 below the cgroup root,
 * one cgroup per task (per v1 hierarchy), its limits, its accounting, the
 * kill of everything in it, and its removal.  A task cgroup that exists
 * already is an error: it would mix two tasks' processes and accounting.
 *
 * On v1 an ended task's cgroups are recycled rather than removed: their
 * counters zeroed and each renamed "spare.N" in the parent, N below
 * POOL_MAX.  The next launch renames a spare to its own id and writes
 * every limit (cg_limit): the kernel sets up and later tears down every
 * controller's state of a new cgroup, which costs more than a rename and
 * a few writes.  v2 cannot rename cgroups.
 *
 * On v2 a cgroup that holds processes must not pass controllers on: the
 * kernel refuses the domain ones (memory) and takes the threaded ones
 * (cpu, pids), which makes it a thread root whose children can hold no
 * process.  So controllers are only enabled in cgroups without processes,
 * but for our own: the cgroup systemd delegates to agentd.service holds
 * agentd, and its processes move to the leaf V2_LEAF below it, which
 * counts as our own cgroup from then on (task-launch(8), --cgroup-parent).
 */
#include <sys/stat.h>
#include <sys/vfs.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "task-launch.h"
#include "util.h"

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC	0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif

#define RMDIR_TRIES	200		/* x 10 ms: busy while tasks exit */
#define SHARES_MIN	2
#define SHARES_MAX	262144
#define QUOTA_MIN_US	1000
#define POOL_MAX	64		/* spare task cgroups kept per parent */
#define POOL_PREFIX	"spare."
#define POOL_MEM_LEFT	(1 << 20)	/* memory a spare may still hold */
#define V2_LEAF		"daemon"	/* where our own cgroup's processes go */
#define V2_MOVE_TRIES	20		/* passes over cgroup.procs, see v2_evacuate */
/*
 * The longest cgroup directory a task's parent may be, mount point
 * included.  Not PATH_MAX: a served launcher is a fork, and every page of
 * struct cgroups it writes costs it a page fault (at PATH_MAX, 16 of a
 * launch's 84; docs/benchmarks.md).  A task's cgroup is its parent, a
 * slash and its id.
 */
#define CG_DIR_MAX	1024
#define CG_TASK_MAX	(CG_DIR_MAX + 1 + TL_ID_MAX + 1)

enum ctl { C_MEMORY, C_CPU, C_CPUACCT, C_PIDS, C_COUNT };
static const char *const ctl_names[C_COUNT] = {
	"memory", "cpu", "cpuacct", "pids"
};
/* Which isolator each controller provides (cpuacct: accounting only). */
static const int ctl_iso[C_COUNT] = { ISO_MEMORY, ISO_CPU, -1, ISO_PIDS };

struct hier {
	char		 mnt[CG_DIR_MAX];	/* where the hierarchy is mounted */
	char		 own[CG_DIR_MAX];	/* our cgroup, relative to mnt */
	char		 parent[CG_DIR_MAX];	/* parent of task cgroups */
	char		 task[CG_TASK_MAX];	/* the task cgroup, "" if none */
	unsigned	 ctls;			/* controllers (v1: mounted here) */
	int		 procs_fd;
	int		 hid;			/* v1 hierarchy id */
	bool		 spare;			/* task cgroup was a spare */
};

struct cgroups {
	int		 version;		/* 1 or 2 */
	struct hier	 h[C_COUNT];
	int		 nh;
	unsigned	 ctls;			/* controllers in task cgroups */
	int		 procs;			/* the last cg_signal_all count */
	int		 slot;			/* v1: the spare taken, or -1 */
};

/* Write a formatted value to a cgroup file; returns -1 with errno set. */
static int __attribute__((format(printf, 3, 4)))
cg_write(const char *dir, const char *file, const char *fmt, ...)
{
	char	 path[PATH_MAX], buf[128];
	va_list	 ap;
	int	 fd, n, saved;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	if (write(fd, buf, n) != n) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/* Read a small cgroup file into buf (NUL-terminated); -1 if unreadable. */
static int
cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char	 path[PATH_MAX];
	ssize_t	 n;
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Return the number in a cgroup file, or the value after "key " in it. */
static long long
cg_read_num(const char *dir, const char *file, const char *key)
{
	char		 buf[4096], *line, *p;
	size_t		 klen;

	if (cg_read(dir, file, buf, sizeof(buf)) == -1)
		return -1;
	if (key == NULL)
		return isdigit((unsigned char)buf[0]) ? strtoll(buf, NULL, 10) : -1;
	klen = strlen(key);
	p = buf;
	while ((line = strsep(&p, "\n")) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtoll(line + klen + 1, NULL, 10);
	return -1;
}

/* Return true when path is on a filesystem with the given magic number. */
static bool
is_fs(const char *path, long magic)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && (long)sfs.f_type == magic;
}

/*
 * Find our own cgroup for controller ctl (NULL: the v2 "0::" line) in
 * text, the contents of /proc/self/cgroup; fill own and the v1 hierarchy
 * id.  -1 if absent; -2 if longer than len allows, with the id filled and
 * own "/" (an absolute parent does not need it).
 */
static int
own_cgroup(const char *text, const char *ctl, char *own, size_t len,
    int *hid)
{
	char	 line[PATH_MAX + 128], *ctls, *path, *c, *p;
	size_t	 n;

	for (; *text != '\0'; text += n + (text[n] == '\n')) {
		n = strcspn(text, "\n");
		if (n >= sizeof(line))
			continue;
		memcpy(line, text, n);
		line[n] = '\0';
		if ((ctls = strchr(line, ':')) == NULL ||
		    (path = strchr(ctls + 1, ':')) == NULL)
			continue;
		*ctls++ = '\0';
		*path++ = '\0';
		if (ctl == NULL) {
			if (strcmp(line, "0") != 0 || *ctls != '\0')
				continue;
		} else {
			p = ctls;
			while ((c = strsep(&p, ",")) != NULL)
				if (strcmp(c, ctl) == 0)
					break;
			if (c == NULL)
				continue;
		}
		*hid = atoi(line);
		if (strlcpy(own, path, len) >= len) {
			strlcpy(own, "/", len);
			return -2;
		}
		return 0;
	}
	return -1;
}

/*
 * Set h->parent from the --cgroup-parent rule: absolute, or below own.
 * Returns -1 when it does not fit.
 */
static int
set_parent(struct hier *h, const char *parent)
{
	char	*p;
	int	 n;

	if (parent[0] == '/')
		n = strfmt(h->parent, sizeof(h->parent), "%s/%s", h->mnt,
		    parent);
	else
		n = strfmt(h->parent, sizeof(h->parent), "%s/%s/%s", h->mnt,
		    h->own, parent);
	while ((p = strstr(h->parent, "//")) != NULL)
		memmove(p, p + 1, strlen(p));
	if ((p = h->parent + strlen(h->parent)) > h->parent + 1 && p[-1] == '/')
		p[-1] = '\0';
	return n;
}

/*
 * On v2, take a cgroup named V2_LEAF for its parent in own (a v2 "0::"
 * path): that is where v2_evacuate moved our own cgroup's processes.
 */
static void
v2_own(char *own)
{
	size_t n = strlen(own), k = strlen("/" V2_LEAF);

	if (n >= k && strcmp(own + n - k, "/" V2_LEAF) == 0) {
		own[n - k] = '\0';
		if (own[0] == '\0')
			strlcpy(own, "/", 2);
	}
}

/*
 * Find the cgroup hierarchies below root (v2 when root/cgroup.controllers
 * exists, else the v1 memory, cpu, cpuacct and pids hierarchies) and our
 * place in them.  Returns NULL with why filled when there is none; the
 * caller frees the result with cg_destroy.
 */
struct cgroups *
cg_discover(const char *root, const char *parent, char *why, size_t len)
{
	struct cgroups	*cg;
	struct hier	*h;
	char		 path[PATH_MAX], own[CG_DIR_MAX], self[8192];
	int		 c, i, e, hid;
	/* only a parent below our own cgroup needs its path (set_parent) */
	int		 need_own = parent[0] != '/';

	if ((cg = calloc(1, sizeof(*cg))) == NULL)
		err(EXIT_SYSTEM, "calloc");
	cg->slot = -1;
	if (cg_read("/proc/self", "cgroup", self, sizeof(self)) == -1)
		self[0] = '\0';
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	if (access(path, F_OK) == 0 && is_fs(root, CGROUP2_SUPER_MAGIC)) {
		cg->version = 2;
		h = &cg->h[cg->nh++];
		if (strlcpy(h->mnt, root, sizeof(h->mnt)) >= sizeof(h->mnt) ||
		    ((e = own_cgroup(self, NULL, h->own, sizeof(h->own),
		    &hid)) == -2 && need_own))
			goto toolong;
		if (e == -1)
			strlcpy(h->own, "/", sizeof(h->own));
		v2_own(h->own);
		if (set_parent(h, parent) == -1)
			goto toolong;
		h->procs_fd = -1;
		return cg;
	}
	cg->version = 1;
	for (c = 0; c < C_COUNT; c++) {
		snprintf(path, sizeof(path), "%s/%s", root, ctl_names[c]);
		if (!is_fs(path, CGROUP_SUPER_MAGIC) ||
		    (e = own_cgroup(self, ctl_names[c], own, sizeof(own),
		    &hid)) == -1)
			continue;
		if (e == -2 && need_own)
			goto toolong;
		for (i = 0; i < cg->nh; i++)	/* co-mounted, e.g. cpu,cpuacct */
			if (cg->h[i].hid == hid)
				break;
		h = &cg->h[i];
		if (i == cg->nh) {
			cg->nh++;
			if (strlcpy(h->mnt, path, sizeof(h->mnt)) >=
			    sizeof(h->mnt))
				goto toolong;
			strlcpy(h->own, own, sizeof(h->own));
			h->hid = hid;
			h->procs_fd = -1;
			if (set_parent(h, parent) == -1)
				goto toolong;
		}
		h->ctls |= 1u << c;
	}
	if (cg->nh == 0) {
		snprintf(why, len, "no cgroup filesystem at %s", root);
		free(cg);
		return NULL;
	}
	return cg;
toolong:
	snprintf(why, len, "a cgroup path below %s is longer than %d bytes",
	    root, CG_DIR_MAX - 1);
	free(cg);
	return NULL;
}

/* Remove every task cgroup created so far (rollback of cg_create). */
static void
cg_rollback(struct cgroups *cg)
{
	int i;

	for (i = 0; i < cg->nh; i++) {
		if (cg->h[i].procs_fd != -1)
			close(cg->h[i].procs_fd);
		cg->h[i].procs_fd = -1;
		if (cg->h[i].task[0] != '\0')
			rmdir(cg->h[i].task);
		cg->h[i].task[0] = '\0';
	}
	cg->ctls = 0;
}

/* Return true when the v2 cgroup dir holds a process (or cannot be read). */
static bool
v2_busy(const char *dir)
{
	char buf[16];

	return cg_read(dir, "cgroup.procs", buf, sizeof(buf)) == -1 ||
	    buf[0] != '\0';
}

/*
 * Move every process of the v2 cgroup dir into dir/V2_LEAF, made as
 * needed, passing over cgroup.procs again while processes fork.  Returns
 * 0 when dir is left empty, -1 otherwise.
 */
static int
v2_evacuate(const char *dir)
{
	char	 leaf[PATH_MAX], path[PATH_MAX], line[32];
	FILE	*f;
	int	 t;

	strfmt(leaf, sizeof(leaf), "%s/" V2_LEAF, dir);
	if (mkdir(leaf, 0755) == -1 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (t = 0; t < V2_MOVE_TRIES && v2_busy(dir); t++) {
		if ((f = fopen(path, "re")) == NULL)
			return -1;
		while (fgets(line, sizeof(line), f) != NULL)
			if (cg_write(leaf, "cgroup.procs", "%d", atoi(line)) ==
			    -1 && errno != ESRCH)
				break;
		fclose(f);
	}
	return v2_busy(dir) ? -1 : 0;
}

/*
 * On v2, enable our controllers in the subtree_control of every cgroup
 * from our own (or the root, for an absolute parent) down to the parent,
 * so the task cgroup gets them.  A cgroup that holds processes is left
 * as it is (see the top of this file), but for our own, whose processes
 * move to V2_LEAF first; the caller sees what is missing.
 */
static void
v2_delegate(struct hier *h)
{
	char	 dir[PATH_MAX], own[PATH_MAX], avail[512], *p, *c;
	size_t	 base;

	snprintf(own, sizeof(own), "%s%s", h->mnt,
	    strcmp(h->own, "/") == 0 ? "" : h->own);
	strlcpy(dir, own, sizeof(dir));
	base = strlen(dir);
	if (strncmp(dir, h->parent, base) != 0 || (h->parent[base] != '/' &&
	    h->parent[base] != '\0'))
		strlcpy(dir, h->mnt, sizeof(dir));	/* absolute parent */
	base = strlen(dir);
	for (;;) {
		if ((strcmp(dir, h->mnt) == 0 || !v2_busy(dir) ||
		    (strcmp(dir, own) == 0 && v2_evacuate(dir) == 0)) &&
		    cg_read(dir, "cgroup.controllers", avail, sizeof(avail)) == 0) {
			avail[strcspn(avail, "\n")] = '\0';
			p = avail;
			while ((c = strsep(&p, " ")) != NULL)
				if (strcmp(c, "memory") == 0 ||
				    strcmp(c, "cpu") == 0 ||
				    strcmp(c, "pids") == 0)
					cg_write(dir, "cgroup.subtree_control",
					    "+%s", c);
		}
		if (strlen(dir) >= strlen(h->parent))
			break;
		p = strchr(h->parent + base + 1, '/');
		base = p == NULL ? strlen(h->parent) : (size_t)(p - h->parent);
		memcpy(dir, h->parent, base);
		dir[base] = '\0';
	}
}

/* Say why controller c is missing from the task cgroups. */
static void
missing_detail(const struct cgroups *cg, int c, char *buf, size_t len)
{
	char	 avail[512], *p, *w;
	bool	 at_root = false;

	if (cg->version == 1) {
		snprintf(buf, len, "no cgroup v1 %s hierarchy", ctl_names[c]);
		return;
	}
	if (cg_read(cg->h[0].mnt, "cgroup.controllers", avail,
	    sizeof(avail)) == 0) {
		avail[strcspn(avail, "\n")] = '\0';
		p = avail;
		while ((w = strsep(&p, " ")) != NULL)
			if (strcmp(w, ctl_names[c]) == 0)
				at_root = true;
	}
	if (at_root)
		strfmt(buf, len, "controller %s not delegated to %s "
		    "(give a --cgroup-parent below a cgroup without processes)",
		    ctl_names[c], cg->h[0].parent);
	else
		strfmt(buf, len, "controller %s not in %s/cgroup.controllers "
		    "(bound to a v1 hierarchy?)", ctl_names[c], cg->h[0].mnt);
}

/*
 * Fill used[] with the spare slots in parent directory dir; return how
 * many there are, -1 when dir cannot be read.
 */
static int
pool_scan(const char *dir, bool used[POOL_MAX])
{
	struct dirent	*de;
	const char	*errstr;
	long long	 n;
	int		 count = 0;
	DIR		*d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	memset(used, 0, POOL_MAX * sizeof(used[0]));
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, POOL_PREFIX, strlen(POOL_PREFIX)) != 0)
			continue;
		n = strtonum(de->d_name + strlen(POOL_PREFIX), 0, POOL_MAX - 1,
		    &errstr);
		if (errstr == NULL && !used[n]) {
			used[n] = true;
			count++;
		}
	}
	closedir(d);
	return count;
}

/*
 * Rename between the task cgroup path and a spare in h's parent: with
 * take, a spare becomes the task cgroup, else the task cgroup becomes a
 * spare.  slot is the spare's; with -1 any that fits (a spare there to
 * take, a free slot to put into), tried from a place of our pid's so that
 * launches running at once try different ones.  Returns the slot, or -1
 * (none there, none free, or path exists already when taking).
 */
static int
pool_move(const struct hier *h, const char *path, int slot, bool take)
{
	char	 spare[PATH_MAX];
	bool	 used[POOL_MAX];
	int	 i, s, n, from = getpid() % POOL_MAX;

	if (slot < 0 && ((n = pool_scan(h->parent, used)) == -1 ||
	    n == (take ? 0 : POOL_MAX)))
		return -1;
	for (i = 0; i < POOL_MAX; i++) {
		s = slot >= 0 ? slot : (from + i) % POOL_MAX;
		if (slot < 0 && used[s] != take)
			continue;
		strfmt(spare, sizeof(spare), "%s/" POOL_PREFIX "%d", h->parent,
		    s);
		if ((take ? rename(spare, path) : rename(path, spare)) == 0)
			return s;
		/* a launch running at once was first to that spare or slot */
		if (slot >= 0 || errno != (take ? ENOENT : EEXIST))
			return -1;
	}
	return -1;
}

/*
 * pool_move of the ended task's cgroup PATH in h into spare slot PREFER
 * when it is free (the one its launch took: no scan of the parent), else
 * into any free one.  Returns the slot, or -1.
 */
static int
pool_put(const struct hier *h, const char *path, int prefer)
{
	int s;

	if (prefer >= 0 && (s = pool_move(h, path, prefer, false)) >= 0)
		return s;
	return pool_move(h, path, -1, false);
}

/*
 * Zero the counters of the ended task's cgroup in h, which holds no
 * process any more (the limits are the next launch's to write, see
 * cg_limit).  Returns -1 when it cannot be a spare: the memory controller
 * killed for OOM (that count cannot be reset), or more than POOL_MEM_LEFT
 * stays charged (page cache the task left, which the next task's peak
 * would count).
 */
static int
pool_reset(const struct hier *h, const struct result *r)
{
	const char *d = h->task;

	if ((h->ctls & (1u << C_MEMORY)) && (r->oom ||
	    cg_read_num(d, "memory.usage_in_bytes", NULL) > POOL_MEM_LEFT ||
	    cg_write(d, "memory.max_usage_in_bytes", "0") == -1 ||
	    cg_write(d, "memory.failcnt", "0") == -1))
		return -1;
	if ((h->ctls & (1u << C_CPUACCT)) &&
	    cg_write(d, "cpuacct.usage", "0") == -1)
		return -1;
	return 0;
}

/* On v2, note in h the controllers its parent passes to task cgroups. */
static void
v2_task_ctls(struct hier *h)
{
	char	 avail[512], *p, *c;
	int	 k;

	if (cg_read(h->parent, "cgroup.subtree_control", avail,
	    sizeof(avail)) == -1)
		return;
	avail[strcspn(avail, "\n")] = '\0';
	p = avail;
	while ((c = strsep(&p, " ")) != NULL)
		for (k = 0; k < C_COUNT; k++)
			if (strcmp(c, ctl_names[k]) == 0)
				h->ctls |= 1u << k;
	if (h->ctls & (1u << C_CPU))
		h->ctls |= 1u << C_CPUACCT;
}

/*
 * Create the task cgroup "id" below the parent in every hierarchy (the
 * parents as needed) and note in pr which controllers it really has (none
 * at all when no cgroup could be made).  Returns -1 with why filled, and
 * nothing left created, only when a task cgroup exists already.
 */
int
cg_create(struct cgroups *cg, const char *id, struct probe *pr,
    char *why, size_t len)
{
	struct hier	*h;
	char		 path[PATH_MAX];
	int		 i, k, e, made = 0, slot = -1;

	for (i = 0; i < cg->nh; i++) {
		h = &cg->h[i];
		snprintf(path, sizeof(path), "%s/%s", h->parent, id);
		/* v2 delegates on every launch; v1 makes parents when missing */
		if (cg->version == 2 && mkdirs(h->parent, 0755, 0755) != -1)
			v2_delegate(h);
		/* v1: a spare, the same slot in every hierarchy when there is */
		if (cg->version == 1 && (i == 0 || slot >= 0) &&
		    (e = pool_move(h, path, slot, true)) >= 0) {
			if (i == 0)
				cg->slot = slot = e;
			h->spare = true;
		} else if ((e = mkdirs(path, 0755, 0755)) != 1) {
			e = e == 0 ? EEXIST : errno;
			if (e == EEXIST) {
				cg_rollback(cg);
				snprintf(why, len, "cgroup %s exists", path);
				return -1;
			}
			for (k = 0; k < C_COUNT; k++)
				if ((h->ctls & (1u << k)) && ctl_iso[k] >= 0)
					strfmt(pr->detail[ctl_iso[k]],
					    sizeof(pr->detail[0]), "%s: %s",
					    path, strerror(e));
			strfmt(pr->detail[ISO_CGROUP], sizeof(pr->detail[0]),
			    "%s: %s", path, strerror(e));
			continue;
		}
		strlcpy(h->task, path, sizeof(h->task));
		snprintf(path, sizeof(path), "%s/cgroup.procs", h->task);
		if ((h->procs_fd = open(path, O_WRONLY | O_CLOEXEC)) == -1) {
			snprintf(why, len, "%s: %s", path, strerror(errno));
			cg_rollback(cg);
			return -1;
		}
		made++;
		if (cg->version == 2)
			v2_task_ctls(h);
		cg->ctls |= h->ctls;
	}
	if (made == 0) {
		for (k = 0; k < C_COUNT; k++)
			if (ctl_iso[k] >= 0 && pr->detail[ctl_iso[k]][0] == '\0')
				strlcpy(pr->detail[ctl_iso[k]],
				    pr->detail[ISO_CGROUP], sizeof(pr->detail[0]));
		return 0;
	}
	pr->ok[ISO_CGROUP] = true;
	snprintf(pr->detail[ISO_CGROUP], sizeof(pr->detail[0]), "v%d",
	    cg->version);
	for (k = 0; k < C_COUNT; k++) {
		if (ctl_iso[k] < 0)
			continue;
		if (cg->ctls & (1u << k)) {
			pr->ok[ctl_iso[k]] = true;
			for (i = 0; i < cg->nh; i++)
				if (cg->h[i].ctls & (1u << k))
					strlcpy(pr->detail[ctl_iso[k]],
					    cg->h[i].parent,
					    sizeof(pr->detail[0]));
		} else if (pr->detail[ctl_iso[k]][0] == '\0')
			missing_detail(cg, k, pr->detail[ctl_iso[k]],
			    sizeof(pr->detail[0]));
	}
	return 0;
}

/*
 * Take the task cgroup "id" that a running launch made below the parent,
 * in every hierarchy where it exists, for cg_limit to change its limits
 * (the fork server's resize); nothing is created.  Returns in how many
 * hierarchies it is, 0 when there is no such cgroup.
 */
int
cg_open(struct cgroups *cg, const char *id)
{
	struct hier	*h;
	struct stat	 st;
	char		 path[PATH_MAX];
	int		 i, n = 0;

	for (i = 0; i < cg->nh; i++) {
		h = &cg->h[i];
		if (strfmt(path, sizeof(path), "%s/%s", h->parent, id) == -1 ||
		    lstat(path, &st) == -1 || !S_ISDIR(st.st_mode))
			continue;
		strlcpy(h->task, path, sizeof(h->task));
		if (cg->version == 2)
			v2_task_ctls(h);
		cg->ctls |= h->ctls;
		n++;
	}
	return n;
}

/* Return the hierarchy with controller c and a task cgroup, or NULL. */
static const struct hier *
task_hier(const struct cgroups *cg, enum ctl c)
{
	int i;

	for (i = 0; i < cg->nh; i++)
		if ((cg->h[i].ctls & (1u << c)) && cg->h[i].task[0] != '\0')
			return &cg->h[i];
	return NULL;
}

/* Return the task cgroup of the hierarchy that has controller c, or NULL. */
static const char *
task_dir(const struct cgroups *cg, enum ctl c)
{
	const struct hier *h = task_hier(cg, c);

	return h != NULL ? h->task : NULL;
}

/*
 * Set the memory limit of v1 task cgroup d to lim bytes (-1: none), and
 * the memory+swap limit with it where the kernel accounts swap.  memsw
 * may never be below memory: a rise writes memsw first, a fall writes it
 * last.  The kernel refuses a fall below what the cgroup uses and cannot
 * reclaim (EBUSY); on any failure both limits are left as they were.
 * Returns -1 with errno set.
 */
static int
v1_mem_limit(const char *d, long long lim)
{
	long long	 cur, cursw;
	int		 e;

	cur = cg_read_num(d, "memory.limit_in_bytes", NULL);
	cursw = cg_read_num(d, "memory.memsw.limit_in_bytes", NULL);
	/* a spare of the same size: what the task would write is there */
	if (lim >= 0 && cur == lim && (cursw < 0 || cursw == lim))
		return 0;
	if (lim == -1 || lim > cur) {
		if (cursw >= 0 &&
		    cg_write(d, "memory.memsw.limit_in_bytes", "%lld", lim) == -1)
			return -1;
		if (cg_write(d, "memory.limit_in_bytes", "%lld", lim) == 0)
			return 0;
		e = errno;
		if (cursw >= 0)
			cg_write(d, "memory.memsw.limit_in_bytes", "%lld", cursw);
	} else {
		if (cg_write(d, "memory.limit_in_bytes", "%lld", lim) == -1)
			return -1;
		if (cursw < 0 ||
		    cg_write(d, "memory.memsw.limit_in_bytes", "%lld", lim) == 0)
			return 0;
		e = errno;
		cg_write(d, "memory.limit_in_bytes", "%lld", cur);
	}
	errno = e;
	return -1;
}

/*
 * Set the memory limit of v2 task cgroup d to lim bytes (-1: none), and
 * no swap.  v2 takes a limit below the usage and then OOM-kills what it
 * cannot reclaim: such a limit is refused here (EBUSY), the old kept.
 * Returns -1 with errno set.
 */
static int
v2_mem_limit(const char *d, long long lim)
{
	if (lim != -1 && cg_read_num(d, "memory.current", NULL) > lim) {
		errno = EBUSY;
		return -1;
	}
	if ((lim == -1 ? cg_write(d, "memory.max", "max") :
	    cg_write(d, "memory.max", "%lld", lim)) == -1)
		return -1;
	if (cg_write(d, "memory.swap.max", "0") == -1 && errno != ENOENT)
		return -1;
	return 0;
}

/*
 * Write the limits of the applied cgroup isolators: memory (and no swap),
 * cpu shares/weight and CFS quota, pids.max.  Those not set now go back
 * to what a new cgroup has in a v1 cgroup that was a spare (it has its
 * last task's limits), and for the isolators in l->reset (a resize of a
 * running task's cgroup, cg_open).  Returns -1 with why filled.
 */
int
cg_limit(struct cgroups *cg, const struct launch *l, char *why, size_t len)
{
	const struct hier *h;
	char		 buf[32];
	long long	 shares, quota, weight, lim;
	bool		 on;
	int		 rc = 0;

	on = (l->applied & ISO_BIT(ISO_MEMORY)) && l->mem_bytes > 0;
	if ((h = task_hier(cg, C_MEMORY)) != NULL && (on || h->spare ||
	    (l->reset & ISO_BIT(ISO_MEMORY)))) {
		lim = on ? (long long)l->mem_bytes : -1;
		if (cg->version == 1) {
			rc = v1_mem_limit(h->task, lim);
			/* swappiness: 0 under a limit, else the parent's */
			if (rc == 0 && on)
				cg_write(h->task, "memory.swappiness", "0");
			else if (rc == 0 && cg_read(h->parent,
			    "memory.swappiness", buf, sizeof(buf)) == 0)
				cg_write(h->task, "memory.swappiness", "%s", buf);
		} else
			rc = v2_mem_limit(h->task, lim);
		if (rc == -1) {
			snprintf(why, len, "memory limit in %s: %s", h->task,
			    strerror(errno));
			return -1;
		}
	}
	on = (l->applied & ISO_BIT(ISO_CPU)) && l->cpus > 0;
	if ((h = task_hier(cg, C_CPU)) != NULL && (on || h->spare ||
	    (l->reset & ISO_BIT(ISO_CPU)))) {
		shares = (long long)(l->cpus * 1024 + 0.5);
		shares = shares < SHARES_MIN ? SHARES_MIN :
		    shares > SHARES_MAX ? SHARES_MAX : shares;
		quota = (long long)(l->cpus * TL_CFS_PERIOD_US + 0.5);
		if (quota < QUOTA_MIN_US)
			quota = QUOTA_MIN_US;
		if (!on) {
			shares = 1024;		/* the kernel's defaults */
			quota = -1;
		}
		/* the period stays the kernel's default, TL_CFS_PERIOD_US */
		if (cg->version == 1) {
			if (cg_write(h->task, "cpu.shares", "%lld", shares) == -1 ||
			    cg_write(h->task, "cpu.cfs_quota_us", "%lld",
			    quota) == -1)
				rc = -1;
		} else {
			/* The shares-to-weight mapping runc and systemd use. */
			weight = 1 + ((shares - 2) * 9999) / 262142;
			/* no quota is "max" there, not v1's -1 */
			if (cg_write(h->task, "cpu.weight", "%lld", weight) == -1 ||
			    (quota < 0 ? cg_write(h->task, "cpu.max", "max %d",
			    TL_CFS_PERIOD_US) : cg_write(h->task, "cpu.max",
			    "%lld %d", quota, TL_CFS_PERIOD_US)) == -1)
				rc = -1;
		}
		if (rc == -1) {
			snprintf(why, len, "cpu limit in %s: %s", h->task,
			    strerror(errno));
			return -1;
		}
	}
	on = (l->applied & ISO_BIT(ISO_PIDS)) != 0;
	if ((h = task_hier(cg, C_PIDS)) != NULL && (on || h->spare) &&
	    (on ? cg_write(h->task, "pids.max", "%lld", l->pids) :
	    cg_write(h->task, "pids.max", "max")) == -1) {
		snprintf(why, len, "pids limit in %s: %s", h->task,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Move the calling process into every task cgroup ("0" is the writer);
 * called in the task's process before it execs.  Returns -1 on failure.
 */
int
cg_join(struct cgroups *cg)
{
	int i;

	for (i = 0; i < cg->nh; i++)
		if (cg->h[i].procs_fd != -1 &&
		    write(cg->h[i].procs_fd, "0", 1) != 1)
			return -1;
	return 0;
}

/* Close the cgroup.procs descriptors the task's process needed. */
void
cg_close_procs(struct cgroups *cg)
{
	int i;

	for (i = 0; i < cg->nh; i++)
		if (cg->h[i].procs_fd != -1) {
			close(cg->h[i].procs_fd);
			cg->h[i].procs_fd = -1;
		}
}

/*
 * Send sig to every process in the task cgroups (cgroup.kill on v2 for
 * SIGKILL; 0 only counts).  Returns the number of processes in the
 * fullest hierarchy, 0 when the task cgroups are empty.  With first, v1
 * reads its first hierarchy only: enough when every process joined all
 * of them at once and none can have left one (a pid namespace whose init
 * has been reaped holds none any more).
 */
int
cg_signal_all(struct cgroups *cg, int sig, bool first)
{
	char	 path[PATH_MAX], line[32];
	FILE	*f;
	pid_t	 pid;
	int	 i, k, n = 0;

	for (i = 0; i < cg->nh; i++) {
		if (cg->h[i].task[0] == '\0')
			continue;
		if (cg->version == 2 && sig == SIGKILL)
			cg_write(cg->h[i].task, "cgroup.kill", "1");
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->h[i].task);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		for (k = 0; fgets(line, sizeof(line), f) != NULL; ) {
			if ((pid = (pid_t)atoi(line)) <= 0)
				continue;
			k++;
			kill(pid, sig);
		}
		fclose(f);
		if (k > n)	/* v1: each hierarchy lists the same processes */
			n = k;
		if (first && cg->version == 1)
			break;
	}
	cg->procs = n;
	return n;
}

/*
 * Fill the result's cpu_ms, mem_peak_mb and oom from the task cgroups;
 * a value the cgroups do not have is left as -1 (oom untouched).
 */
void
cg_account(struct cgroups *cg, struct result *r)
{
	const char	*d;
	long long	 v;

	if ((d = task_dir(cg, cg->version == 1 ? C_CPUACCT : C_CPU)) == NULL &&
	    cg->version == 2 && cg->nh > 0 && cg->h[0].task[0] != '\0')
		d = cg->h[0].task;	/* v2 cpu.stat exists without cpu */
	if (d != NULL) {
		if (cg->version == 1 &&
		    (v = cg_read_num(d, "cpuacct.usage", NULL)) >= 0)
			r->cpu_ms = v / 1000000;
		else if (cg->version == 2 &&
		    (v = cg_read_num(d, "cpu.stat", "usage_usec")) >= 0)
			r->cpu_ms = v / 1000;
	}
	if ((d = task_dir(cg, C_MEMORY)) == NULL)
		return;
	if ((v = cg_read_num(d, cg->version == 1 ? "memory.max_usage_in_bytes" :
	    "memory.peak", NULL)) >= 0)
		r->mem_peak_mb = (v + (1 << 20) - 1) >> 20;
	v = cg_read_num(d, cg->version == 1 ? "memory.oom_control" :
	    "memory.events", "oom_kill");
	if (v > 0)
		r->oom = true;
	else if (v < 0 && cg->version == 1 && r->state == ST_SIGNALED &&
	    r->code == SIGKILL && cg_read_num(d, "memory.failcnt", NULL) > 0)
		r->oom = true;		/* kernels before oom_kill counters */
}

/*
 * Remove the task cgroups, retrying while the last processes finish
 * exiting.  Returns -1 (after a warning) when one stays busy.
 */
int
cg_remove(struct cgroups *cg)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	int		 i, t, rc = 0;

	cg_close_procs(cg);
	for (i = 0; i < cg->nh; i++) {
		if (cg->h[i].task[0] == '\0')
			continue;
		for (t = 0; rmdir(cg->h[i].task) == -1; t++) {
			if (errno != EBUSY || t == RMDIR_TRIES) {
				warn("rmdir %s", cg->h[i].task);
				rc = -1;
				break;
			}
			if (t % 10 == 9)
				cg_signal_all(cg, SIGKILL, false);
			nanosleep(&ts, NULL);
		}
		cg->h[i].task[0] = '\0';
	}
	return rc;
}

/*
 * The task has ended: keep its v1 cgroups as spares, the same slot in
 * every hierarchy (the one its launch took, when no other launch has
 * filled it since: no scan of the parent), when the last cg_signal_all
 * found them empty and pool_reset can reset them; remove the rest as
 * cg_remove does.  Returns -1 (after a warning) when one stays.
 */
int
cg_recycle(struct cgroups *cg, const struct result *r)
{
	bool	 first = true;
	int	 i, s, slot = -1;

	for (i = 0; cg->version == 1 && cg->procs == 0 && i < cg->nh; i++) {
		if (cg->h[i].task[0] == '\0')
			continue;
		if ((first || slot >= 0) && pool_reset(&cg->h[i], r) == 0 &&
		    (s = first ? pool_put(&cg->h[i], cg->h[i].task, cg->slot) :
		    pool_move(&cg->h[i], cg->h[i].task, slot, false)) >= 0) {
			cg->h[i].task[0] = '\0';
			if (first)
				slot = s;
		}
		first = false;
	}
	return cg_remove(cg);
}

/* Free what cg_discover returned (the cgroups themselves stay). */
void
cg_destroy(struct cgroups *cg)
{
	if (cg == NULL)
		return;
	cg_close_procs(cg);
	free(cg);
}
