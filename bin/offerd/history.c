/*
 * History: the master's accounting log, as sacct reads Slurm's.  Every
 * task that ends is appended to WORK/history as one JSON line: when it
 * was submitted, started and ended, where and as whom it ran, how it
 * ended and what it used.  The log is rotated by size (history.1 is the
 * newest old one, history.HISTORY_KEEP the oldest kept), survives
 * restarts, and is read back by QUERY "history" with filters; the files
 * are also for jq(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "offerd.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "util.h"

#define HISTORY_TIME	32	/* "2026-12-01T19:21:20.123Z" and its NUL */
#define HISTORY_PATH	(PATH_MAX + 16)	/* the work dir, "/history.N" */
#define HISTORY_BLOCK	65536	/* read backward this much at a time */

/* MS (milliseconds since the epoch, > 0) as ISO 8601 UTC into BUF. */
static const char *
iso_time(int64_t ms, char *buf)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, HISTORY_TIME, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, HISTORY_TIME - n, ".%03dZ", (int)(ms % 1000));
	return buf;
}

const char *
history_name(int n, char *buf, size_t len)
{
	if (n == 0)
		snprintf(buf, len, "%s", WORK_HISTORY);
	else
		snprintf(buf, len, "%s.%d", WORK_HISTORY, n);
	return buf;
}

/* The path of history file N (0: the current one) into BUF. */
static void
history_path(const struct master *m, int n, char *buf, size_t len)
{
	char name[HISTORY_NAME];

	snprintf(buf, len, "%s/%s", m->conf->work_dir,
	    history_name(n, name, sizeof(name)));
}

/* Rotate: history.N goes, each older name moves up, history is new. */
static void
history_rotate(struct master *m)
{
	char from[HISTORY_PATH], to[HISTORY_PATH];
	int n;

	close(m->history_fd);
	m->history_fd = -1;
	for (n = HISTORY_KEEP; n > 0; n--) {
		history_path(m, n - 1, from, sizeof(from));
		history_path(m, n, to, sizeof(to));
		if (rename(from, to) == -1 && errno != ENOENT)
			log_warn("history: rename %s", from);
	}
	log_info("history: rotated at %lld bytes", (long long)m->history_size);
}

/* Open the current history file for appending; -1 (logged) if it cannot. */
static int
history_open(struct master *m)
{
	char path[HISTORY_PATH];
	off_t end;

	history_path(m, 0, path, sizeof(path));
	if ((m->history_fd = open(path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0600)) == -1) {
		log_warn("history: %s", path);
		return -1;
	}
	end = lseek(m->history_fd, 0, SEEK_END);
	m->history_size = end > 0 ? end : 0;
	return 0;
}

/* T's history line: a JSON object (the caller frees it). */
static json_t *
history_entry(struct master *m, const struct task *t)
{
	static const char *copy[] = { "reason", "exit_code", "signal", "oom",
	    "cpu_ms", "mem_peak_mb" };
	struct agent *a = map_get(m->agents, t->agent_id);
	struct framework *fw = map_get(m->frameworks, t->framework_id);
	char tm[HISTORY_TIME], r[RES_TEXT];
	const char *v;
	json_t *j;
	size_t i;

	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "task_id", t->id,
	    "framework_id", t->framework_id, "agent_id", t->agent_id,
	    "hostname", a != NULL ? a->hostname : "", "state", t->state,
	    "resources", res_format(&t->res, r, sizeof(r)));
	if ((v = rec_str(t->info, "name")) != NULL)
		rec_set_str(j, "name", v);
	if (fw != NULL) {
		rec_set_str(j, "framework", fw->name);
		rec_set_str(j, "role", fw->role);
	}
	if (t->principal[0] != '\0')
		rec_set_str(j, "principal", t->principal);
	if ((v = rec_str(t->info, "user")) != NULL)
		rec_set_str(j, "user", v);
	if (t->submitted > 0)
		rec_set_str(j, "submitted", iso_time(t->submitted, tm));
	if (t->started > 0)
		rec_set_str(j, "started", iso_time(t->started, tm));
	rec_set_str(j, "ended", iso_time(wall_ms(), tm));
	for (i = 0; t->status != NULL && i < sizeof(copy) / sizeof(*copy); i++)
		if (json_object_get(t->status, copy[i]) != NULL)
			json_object_set(j, copy[i],
			    json_object_get(t->status, copy[i]));
	return j;
}

void
history_add(struct master *m, const struct task *t)
{
	json_t *j;
	char *line;
	size_t len;

	if (m->history_fd == -1 && history_open(m) == -1)
		return;
	j = history_entry(m, t);
	line = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (line == NULL)
		return;
	len = strlen(line);
	line[len++] = '\n';	/* json_dumps leaves room: it was the NUL */
	if (write(m->history_fd, line, len) != (ssize_t)len)
		log_warn("history: write");
	else
		m->history_size += len;
	free(line);
	if (m->history_size >= m->conf->history_max)
		history_rotate(m);
}

/* What a QUERY of the history asks for; NULL strings match anything. */
struct history_filter {
	char	 framework[ID_LEN + 32];	/* "framework_id":"ID" */
	char	 state[64];			/* "state":"STATE" */
	const char *since, *until;		/* ISO 8601 prefixes */
	size_t	 limit;
};

/* One QUERY's walk of the history, newest line first. */
struct history_walk {
	struct master		*m;
	const struct net_route	*from;
	const struct history_filter *f;
	json_t			*items;		/* oldest first, as answered */
	size_t			 budget;	/* bytes it may still read */
	int			 more;		/* a match beyond the limit */
	int			 partial;	/* the budget ran out */
};

/* Where LINE's end time starts ("2026-..."), or NULL. */
static const char *
history_ended(const char *line)
{
	const char *e;

	if ((e = strstr(line, "\"ended\":\"")) == NULL)
		return NULL;
	return e + strlen("\"ended\":\"");
}

/* Whether LINE (a history line as written) passes F. */
static int
history_match(const struct history_filter *f, const char *line)
{
	const char *e;

	if (f->framework[0] != '\0' && strstr(line, f->framework) == NULL)
		return 0;
	if (f->state[0] != '\0' && strstr(line, f->state) == NULL)
		return 0;
	if (f->since == NULL && f->until == NULL)
		return 1;
	if ((e = history_ended(line)) == NULL)
		return 0;
	if (f->since != NULL && strncmp(e, f->since, strlen(f->since)) < 0)
		return 0;
	if (f->until != NULL && strncmp(e, f->until, strlen(f->until)) > 0)
		return 0;
	return 1;
}

/* Whether FROM may see LINE: the work of its principal, by the ACL. */
static int
history_sees(struct master *m, const struct net_route *from,
    const char *line)
{
	char principal[AUTH_PRINCIPAL_MAX];
	const char *p, *e;

	if (m->acl == NULL || (p = strstr(line, "\"principal\":\"")) == NULL)
		return 1;	/* everyone sees all, as in the listings */
	p += strlen("\"principal\":\"");
	if ((e = strchr(p, '"')) == NULL || (size_t)(e - p) >=
	    sizeof(principal))
		return 0;
	memcpy(principal, p, e - p);
	principal[e - p] = '\0';
	return master_sees(m, from, principal);
}

/*
 * Take LINE, the newest not yet seen, into W; nonzero ends the walk: the
 * limit is reached, or LINE ended before "since" (lines are written in
 * the order their tasks ended, so all older ones did too).
 */
static int
history_take(struct history_walk *w, const char *line)
{
	const char *e;
	json_t *item;

	if (w->f->since != NULL && (e = history_ended(line)) != NULL &&
	    strncmp(e, w->f->since, strlen(w->f->since)) < 0)
		return 1;
	if (!history_match(w->f, line) || !history_sees(w->m, w->from, line))
		return 0;
	if (json_array_size(w->items) == w->f->limit)
		return w->more = 1;
	if ((item = json_loads(line, 0, NULL)) != NULL)
		json_array_insert_new(w->items, 0, item);
	return 0;
}

/*
 * Walk the lines of FD from its last to its first through history_take,
 * reading HISTORY_BLOCK bytes at a time from the end, so that a query
 * for the latest tasks reads only the tail however large the file;
 * nonzero when the walk ended (history_take said so, or W's budget ran
 * out) before the file's first line.
 */
static int
history_backward(struct history_walk *w, int fd)
{
	char *buf = NULL, *nl, *p;
	size_t len = 0, chunk;
	off_t pos;
	int stop = 0;

	if ((pos = lseek(fd, 0, SEEK_END)) == -1)
		return 0;
	while (pos > 0 && !stop) {
		chunk = pos < HISTORY_BLOCK ? (size_t)pos : HISTORY_BLOCK;
		if (w->budget < chunk) {
			stop = w->partial = 1;
			break;
		}
		w->budget -= chunk;
		if ((p = realloc(buf, len + chunk + 1)) == NULL) {
			stop = w->partial = 1;
			break;
		}
		buf = p;
		memmove(buf + chunk, buf, len);
		if (pread(fd, buf, chunk, pos - chunk) != (ssize_t)chunk) {
			log_warn("history: read");
			break;
		}
		pos -= chunk;
		len += chunk;
		/* buf holds the file from pos; its first line may be cut */
		while (len > 0 && !stop) {
			if (buf[len - 1] == '\n') {
				len--;
				continue;
			}
			if ((nl = memrchr(buf, '\n', len)) == NULL && pos > 0)
				break;		/* the line starts further back */
			p = nl != NULL ? nl + 1 : buf;
			buf[len] = '\0';
			stop = history_take(w, p);
			len = p - buf;
		}
	}
	free(buf);
	return stop;
}

/* Read F from a QUERY; 0, or -1 with ERR (REC_ERRLEN bytes). */
static int
history_filter(json_t *rec, struct history_filter *f, char *err)
{
	const char *fid, *state;
	int64_t limit = HISTORY_QUERY_DEFAULT;

	memset(f, 0, sizeof(*f));
	if (rec_require(rec, "?framework_id:s ?state:s ?since:s ?until:s "
	    "?limit:i", err) == -1)
		return -1;
	if ((fid = rec_str(rec, "framework_id")) != NULL) {
		if (!id_valid(fid))
			return snprintf(err, REC_ERRLEN, "framework_id: not a "
			    "valid id"), -1;
		snprintf(f->framework, sizeof(f->framework),
		    "\"framework_id\":\"%s\"", fid);
	}
	if ((state = rec_str(rec, "state")) != NULL) {
		if (strncmp(state, "TASK_", 5) != 0 || strlen(state) > 24 ||
		    !task_state_terminal(state))
			return snprintf(err, REC_ERRLEN, "state: not a task's "
			    "end state (TASK_FINISHED, ...)"), -1;
		snprintf(f->state, sizeof(f->state), "\"state\":\"%s\"", state);
	}
	f->since = rec_str(rec, "since");
	f->until = rec_str(rec, "until");
	rec_int(rec, "limit", &limit);
	if (limit < 1 || limit > HISTORY_QUERY_MAX)
		return snprintf(err, REC_ERRLEN, "limit: 1 to %d",
		    HISTORY_QUERY_MAX), -1;
	f->limit = (size_t)limit;
	return 0;
}

void
history_query(struct master *m, json_t *rec, const struct net_route *from)
{
	struct history_filter f;
	struct history_walk w;
	char err[REC_ERRLEN], path[HISTORY_PATH];
	json_t *st;
	int n, fd, stop = 0;

	if (history_filter(rec, &f, err) == -1) {
		master_error(m, from, rec, E_INVALID, "QUERY history: %s", err);
		return;
	}
	memset(&w, 0, sizeof(w));
	w.m = m;
	w.from = from;
	w.f = &f;
	w.items = json_array();
	w.budget = HISTORY_SCAN_MAX;
	/* newest file first: history, history.1, ... */
	for (n = 0; n <= HISTORY_KEEP && !stop; n++) {
		history_path(m, n, path, sizeof(path));
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		stop = history_backward(&w, fd);
		close(fd);
	}
	st = rec_new(R_STATE);
	rec_set_str(st, "what", "history");
	json_object_set_new(st, "items", w.items);
	json_object_set_new(st, "more", json_boolean(w.more));
	if (w.partial)
		json_object_set_new(st, "partial", json_true());
	master_reply(m, from, st);
}
