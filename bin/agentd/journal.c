/*
 * The journal of an executor's tasks: the checkpoint of every task that
 * runs in executor XID of framework FW, WORK/executors/FW/XID/tasks.log,
 * one JSON object a line, each naming its task ("task_id"):
 *
 *   {"task":INFO}      the task came (with "state", "executor_seq",
 *                      "ended" and "disowned" when a compaction wrote it)
 *   an update          as agent.c queued it (a STATUS record)
 *   {"ack":UUID}       the oldest update was acknowledged
 *   {"clear":true}     the master gave up on the task
 *   {"done":true}      every update of the ended task was acknowledged
 *
 * A task of its own directory costs an inode and four file opens, more
 * than the short task itself: here the lines of one turn of the event
 * loop go in one write for all the tasks of an executor (journal_sync,
 * before anything of them is sent), and a journal that holds mostly done
 * tasks is written again with only the live ones (a new file renamed
 * over the old).  Replayed at a restart (journal_recover), it gives each
 * task that is not done, its state and its unacknowledged updates.
 *
 * A journal lives while its executor runs or a task of it is not done;
 * when the last of them ends, its file goes.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentd.h"
#include "log.h"
#include "map.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define JOURNAL_FILE		"tasks.log"
#define JOURNAL_COMPACT_MIN	4096	/* lines before a rewrite is worth it */
/*
 * Lines per live task that call for a rewrite.  A rewrite costs about two
 * lines a live task, and comes after (RATIO - 2) a live task more: at 16,
 * a seventh of a line for each line written (at 4 it was a whole one, an
 * eighth of agentd's time with 3,000 short tasks in an executor).
 */
#define JOURNAL_COMPACT_RATIO	16

struct journal {
	char	 key[2 * AGENT_ID_LEN];	/* FW/XID */
	char	 path[PATH_MAX + 32];
	int	 fd;			/* open to append, or -1 */
	int	 refs;			/* its tasks, and its executor's run */
	int	 keep;			/* let go of by a stop: the file stays */
	size_t	 lines;			/* in the file */
	size_t	 live;			/* its tasks not done */
	char	*buf;			/* lines not written yet */
	size_t	 len, cap;
};

static struct map *journals;		/* by key */

/* Append LEN bytes of DATA to J's buffer; -1 out of memory. */
static int
jbuf_add(const char *data, size_t len, void *arg)
{
	struct journal *j = arg;
	size_t cap;
	char *b;

	if (j->len + len > j->cap) {
		cap = j->cap ? j->cap : 4096;
		while (cap < j->len + len)
			cap *= 2;
		if ((b = realloc(j->buf, cap)) == NULL)
			return -1;
		j->buf = b;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, data, len);
	j->len += len;
	return 0;
}

/* Queue LINE (not consumed) on J, written at the next journal_sync. */
static void
journal_line(struct journal *j, const json_t *line)
{
	if (json_dump_callback(line, jbuf_add, j, JSON_COMPACT) == -1 ||
	    jbuf_add("\n", 1, j) == -1)
		log_warnx("journal %s: a line lost (out of memory)", j->path);
}

/* The journal of executor XID of FW, opened or made; NULL logged. */
static struct journal *
journal_get(struct agentd *ag, const char *fw, const char *xid)
{
	char key[2 * AGENT_ID_LEN], dir[PATH_MAX];
	struct journal *j;

	if (!id_valid(fw) || !id_valid(xid))
		return NULL;
	snprintf(key, sizeof(key), "%s/%s", fw, xid);
	if (journals == NULL && (journals = map_create()) == NULL)
		return NULL;
	if ((j = map_get(journals, key)) != NULL)
		return j;
	if (strfmt(dir, sizeof(dir), "%s/%s/%s/%s", ag->work_dir,
	    AGENTD_EXECUTORS, fw, xid) == -1 || mkdirs(dir, 0750, 0750) == -1) {
		log_warn("journal of executor %s of %s", xid, fw);
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	strlcpy(j->key, key, sizeof(j->key));
	strfmt(j->path, sizeof(j->path), "%s/%s", dir, JOURNAL_FILE);
	j->fd = -1;
	if (map_put(journals, j->key, j) == -1) {
		free(j);
		return NULL;
	}
	return j;
}

/* One holder of J less; ENDED: it ended for good (else a stop). */
static void
journal_put(struct journal *j, int ended)
{
	if (!ended)
		j->keep = 1;
	if (--j->refs > 0)
		return;
	if (j->keep && j->len > 0 && j->fd != -1 &&
	    write(j->fd, j->buf, j->len) != (ssize_t)j->len)
		log_warn("journal %s", j->path);
	if (!j->keep && unlink(j->path) == -1 && errno != ENOENT)
		log_warn("%s", j->path);
	if (j->fd != -1)
		close(j->fd);
	map_del(journals, j->key);
	free(j->buf);
	free(j);
}

void
journal_executor(struct agentd *ag, struct agent_executor *e)
{
	struct journal *j;

	if ((j = journal_get(ag, e->framework_id, e->id)) != NULL)
		j->refs++;
}

void
journal_executor_gone(struct agent_executor *e, int ended)
{
	char key[2 * AGENT_ID_LEN];
	struct journal *j;

	snprintf(key, sizeof(key), "%s/%s", e->framework_id, e->id);
	if (journals != NULL && (j = map_get(journals, key)) != NULL)
		journal_put(j, ended);
}

/* T's journal, taken with its first line; NULL: T keeps no checkpoint. */
static struct journal *
journal_of(struct agentd *ag, struct atask *t)
{
	const json_t *x = json_object_get(t->base.info, "executor");
	struct journal *j;
	json_t *line;

	if (t->journal != NULL)
		return t->journal;
	if ((j = journal_get(ag, t->base.framework_id,
	    rec_str(x, "executor_id"))) == NULL)
		return NULL;
	j->refs++;
	j->live++;
	t->journal = j;
	line = json_pack("{s:s,s:O}", "task_id", t->base.id, "task",
	    t->base.info);
	journal_line(j, line);
	json_decref(line);
	return j;
}

void
journal_task(struct agentd *ag, struct atask *t, json_t *lines)
{
	struct journal *j;
	json_t *line;
	size_t i;

	if ((j = journal_of(ag, t)) == NULL)
		return;
	json_array_foreach(lines, i, line) {
		/* an update names its task; an ack or a clear is ours to */
		if (json_object_get(line, "task_id") == NULL)
			rec_set_str(line, "task_id", t->base.id);
		journal_line(j, line);
	}
}

void
journal_task_done(struct agentd *ag, struct atask *t)
{
	struct journal *j = t->journal;
	json_t *line;

	(void)ag;
	if (j == NULL)
		return;
	line = json_pack("{s:s,s:b}", "task_id", t->base.id, "done", 1);
	journal_line(j, line);
	json_decref(line);
	j->live--;
	t->journal = NULL;
	journal_put(j, 1);
}

void
journal_task_free(struct atask *t)
{
	if (t->journal != NULL)
		journal_put(t->journal, 0);
	t->journal = NULL;
}

/* The snapshot of T and its unacknowledged updates, into J's buffer. */
static void
journal_snapshot(struct journal *j, struct agent_task *bt)
{
	json_t *line, *u;
	size_t i;

	line = json_pack("{s:s,s:O,s:s,s:I,s:b,s:b}", "task_id", bt->id,
	    "task", bt->info, "state", bt->state[0] ? bt->state :
	    TASK_STARTING, "executor_seq", (json_int_t)bt->exec_seq, "ended",
	    bt->ended, "disowned", bt->disowned);
	journal_line(j, line);
	json_decref(line);
	json_array_foreach(bt->updates, i, u)
		journal_line(j, u);
}

/*
 * Write J again with only its live tasks: a new file, renamed over the
 * old.  Called with J's buffer written, so the tasks' memory is all it
 * holds; not while a task of it has lines not given to the journal yet
 * (a sync of one task's, outside the flush): the next sync tries again.
 */
static void
journal_compact(struct agentd *ag, struct journal *j)
{
	char tmp[PATH_MAX + 48];
	struct agent_task *bt;
	size_t pos = 0, n = 0;
	int fd;

	/* a task with lines still to come would have them twice */
	while ((bt = agent_set_next(ag->set, &pos)) != NULL)
		if (T(bt)->journal == j && bt->unsaved != NULL)
			return;
	pos = 0;
	strfmt(tmp, sizeof(tmp), "%s.new", j->path);
	while ((bt = agent_set_next(ag->set, &pos)) != NULL)
		if (T(bt)->journal == j) {
			journal_snapshot(j, bt);
			n++;
		}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
	    0640);
	if (fd == -1 || write(fd, j->buf, j->len) != (ssize_t)j->len ||
	    rename(tmp, j->path) == -1) {
		log_warn("journal %s: compaction", j->path);
		if (fd != -1)
			close(fd);
		unlink(tmp);
	} else {
		if (j->fd != -1)
			close(j->fd);
		j->fd = fd;
		j->lines = 2 * n;	/* about: a snapshot and an update */
	}
	j->len = 0;
}

void
journal_sync(struct agentd *ag)
{
	struct journal *j;
	size_t pos = 0, i;

	if (journals == NULL)
		return;
	while ((j = map_next(journals, &pos, NULL)) != NULL) {
		if (j->len > 0) {
			if (j->fd == -1 && (j->fd = open(j->path, O_WRONLY |
			    O_CREAT | O_APPEND | O_CLOEXEC, 0640)) == -1)
				log_warn("journal %s", j->path);
			else if (write(j->fd, j->buf, j->len) !=
			    (ssize_t)j->len)
				log_warn("journal %s", j->path);
			for (i = 0; i < j->len; i++)
				j->lines += j->buf[i] == '\n';
			j->len = 0;
		}
		/*
		 * Looked at every turn, not only when lines came: a journal
		 * whose tasks ended after its last write (or whose rewrite
		 * had to wait) is rewritten all the same.
		 */
		if (j->lines >= JOURNAL_COMPACT_MIN &&
		    j->lines > JOURNAL_COMPACT_RATIO * j->live +
		    JOURNAL_COMPACT_MIN)
			journal_compact(ag, j);
	}
}

/* Apply journal line LINE to the task it names in TASKS (a replay). */
static void
replay_line(struct map *tasks, json_t *line)
{
	const char *tid = rec_str(line, "task_id");
	json_t *info = json_object_get(line, "task");
	struct atask *t;

	if (tid == NULL || !id_valid(tid) || strlen(tid) >= AGENT_ID_LEN)
		return;
	t = map_get(tasks, tid);
	if (json_is_object(info) || rec_bool_or(line, "done", 0)) {
		if (t != NULL) {	/* done, or its id used again */
			map_del(tasks, tid);
			json_decref(t->base.info);
			json_decref(t->base.updates);
			free(t);
		}
		if (!json_is_object(info) || (t = calloc(1, sizeof(*t))) ==
		    NULL)
			return;
		strlcpy(t->base.id, tid, sizeof(t->base.id));
		t->base.info = json_incref(info);
		t->base.updates = json_array();
		strlcpy(t->base.state, rec_str(line, "state") ?
		    rec_str(line, "state") : TASK_STARTING,
		    sizeof(t->base.state));
		t->base.exec_seq = rec_int_or(line, "executor_seq", 0);
		t->base.ended = rec_bool_or(line, "ended", 0);
		t->base.disowned = rec_bool_or(line, "disowned", 0);
		if (map_put(tasks, t->base.id, t) == -1) {
			json_decref(t->base.info);
			json_decref(t->base.updates);
			free(t);
		}
		return;
	}
	if (t != NULL)
		task_replay_line(&t->base, line);
}

void
journal_recover(struct agentd *ag, const char *fw, const char *xid)
{
	char path[PATH_MAX + 64];
	struct journal *j;
	struct map *tasks;
	struct atask *t;
	char *line = NULL;
	size_t cap = 0, pos = 0, n = 0;
	off_t good = 0;
	ssize_t len = 0;
	json_t *l;
	FILE *fp;

	if (strfmt(path, sizeof(path), "%s/%s/%s/%s/%s", ag->work_dir,
	    AGENTD_EXECUTORS, fw, xid, JOURNAL_FILE) == -1 ||
	    (fp = fopen(path, "re")) == NULL)
		return;
	if ((tasks = map_create()) == NULL) {
		fclose(fp);
		return;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		if (line[len - 1] != '\n' ||
		    (l = json_loads(line, 0, NULL)) == NULL)
			break;
		replay_line(tasks, l);
		json_decref(l);
		good += len;
		n++;
	}
	free(line);
	fclose(fp);
	/*
	 * A torn last line, from a crash in the middle of a write, ends the
	 * replay; it goes, or what is appended next would be lost with it.
	 */
	if (len != -1) {
		log_warnx("journal %s: a torn line at byte %lld dropped", path,
		    (long long)good);
		if (truncate(path, good) == -1)
			log_warn("%s", path);
	}
	if ((j = journal_get(ag, fw, xid)) != NULL)
		j->lines = n;
	while ((t = map_next(tasks, &pos, NULL)) != NULL) {
		strlcpy(t->base.framework_id, fw, sizeof(t->base.framework_id));
		if (j != NULL) {
			j->refs++;
			j->live++;
			t->journal = j;
		}
		task_recovered(ag, t);
	}
	map_destroy(tasks);
	/* held by nothing: every task was done, the executor had gone */
	if (j != NULL && j->refs == 0) {
		j->refs = 1;
		journal_put(j, 1);
	}
}
