/*
 * The tasks of a real agent, as the callbacks of lib/agent.c (task_ops):
 * each task's directory and checkpoint, its launch through the launcher,
 * its kill, and its end read from the launcher's status file; and the
 * recovery of what an earlier run of agentd left in the work dir.
 *
 * The checkpoint of a task's updates is updates.log in its directory
 * (a task that runs in an executor has none: see journal.c),
 * one JSON object a line, only ever appended to (the lines agent.c hands
 * to task_checkpoint): every update as it was queued, {"ack":UUID} when
 * the oldest was acknowledged, {"clear":true} when the master gave up on
 * the task.  Replayed, it gives the updates still unacknowledged.
 * Appending frees no inode (a rewrite by rename frees one each time, and
 * a file system slows down allocating inodes among many recently freed
 * ones), and the lines of one turn of the event loop go in one write.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentd.h"
#include "log.h"
#include "proto.h"
#include "rec.h"
#include "res.h"
#include "util.h"

#define KILL_ESCALATE_MS	5000	/* after the grace: SIGKILL the launcher */
#define LAUNCH_ARGS_MAX		512
#define LAUNCH_ARGS_SPACE	65536


static void	task_finished(struct atask *, int);

static void
unlink_quiet(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* True when T runs in an executor: its checkpoint is the journal's. */
static int
in_executor(const struct agent_task *bt)
{
	return json_is_object(json_object_get(bt->info, "executor"));
}

/*
 * Append LINES to T's updates.log, so that a restart loses none; a task
 * of an executor's, to its executor's journal.
 */
static void
task_checkpoint(void *arg, struct agent_task *bt, json_t *lines)
{
	struct atask *t = T(bt);
	char path[PATH_MAX + 16];
	json_t *line;
	size_t i;
	FILE *fp;
	int bad = 0;

	if (in_executor(bt) && t->dir[0] == '\0') {
		journal_task(arg, t, lines);
		return;
	}
	if (t->dir[0] == '\0')
		return;		/* no directory: nothing is kept */
	snprintf(path, sizeof(path), "%s/updates.log", t->dir);
	if ((fp = fopen(path, "ae")) == NULL)
		bad = 1;
	else {
		/* buffered: the lines of a turn go in one write */
		json_array_foreach(lines, i, line)
			if (json_dumpf(line, fp, JSON_COMPACT) == -1 ||
			    fputc('\n', fp) == EOF)
				bad = 1;
		if (fclose(fp) == EOF)
			bad = 1;
	}
	if (bad)
		log_warn("checkpoint %s", path);
}

/* The journal lines of this turn are written (before any is sent). */
static void
task_sync(void *arg)
{
	journal_sync(arg);
}

/* Every update of ended task T was acknowledged: recovery skips it. */
static void
task_acked(void *arg, struct agent_task *bt)
{
	char path[PATH_MAX + 16];
	int fd;

	if (T(bt)->journal != NULL) {
		journal_task_done(arg, T(bt));
		return;
	}
	if (T(bt)->dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/acked", T(bt)->dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640)) == -1)
		log_warn("%s", path);
	else
		close(fd);
}

static void
task_free(void *arg, struct agent_task *bt)
{
	(void)arg;
	launch_forget(T(bt));
	journal_task_free(T(bt));
	free(bt);
}

/* Every update names the task's sandbox: its executor's, in one. */
static void
task_status(void *arg, struct agent_task *bt, json_t *st)
{
	struct agentd *ag = arg;
	char sandbox[PATH_MAX + 16];
	const char *xid;

	if (in_executor(bt)) {
		xid = rec_str(json_object_get(bt->info, "executor"),
		    "executor_id");
		if (xid == NULL || !id_valid(xid))
			return;		/* it never ran: no sandbox */
		if (strfmt(sandbox, sizeof(sandbox), "%s/%s/%s/%s/sandbox",
		    ag->work_dir, AGENTD_EXECUTORS, bt->framework_id, xid) == -1)
			return;
	} else
		snprintf(sandbox, sizeof(sandbox), "%s/sandbox", T(bt)->dir);
	rec_set_str(st, "sandbox", sandbox);
}

/* The start time of process PID (field 22 of /proc/PID/stat), or 0. */
unsigned long long
proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name may hold spaces: count fields after its ')' */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == 'Z')
		return 0;		/* a zombie has ended already */
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	sscanf(p, "%llu", &start);
	return start;
}

/* True when the launcher applies ISOLATOR to every task (agentd -> probe). */
static int
isolated_by(struct agentd *ag, const char *isolator)
{
	json_t *v;
	size_t i;

	json_array_foreach(ag->isolators, i, v)
		if (strcmp(json_string_value(v), isolator) == 0)
			return 1;
	return 0;
}

const char *
task_launch_id(struct agentd *ag, struct atask *t, char *buf, size_t len)
{
	snprintf(buf, len, "%s.%s", ag->set->agents[0].id, t->base.id);
	return buf;
}

void
task_limits(const struct res *r, char *cpus, char *mem, size_t len)
{
	snprintf(cpus, len, "%g", res_get(r, "cpus") > 0 ?
	    res_get(r, "cpus") / 1000.0 : 0.0);
	snprintf(mem, len, "%lld", res_get(r, "mem") > 0 ?
	    (long long)((res_get(r, "mem") + 999) / 1000) : 0LL);
}

int
task_launcher_argv(struct agentd *ag, struct atask *t, char **argv, int max,
    char *store, size_t storelen, char *why, size_t whylen)
{
	struct res r, flat;
	char err[RES_ERRLEN], cpus[TASK_LIMIT_LEN], mem[TASK_LIMIT_LEN];
	char id[2 * AGENT_ID_LEN];
	json_t *env = json_object_get(t->base.info, "env");
	json_t *args = json_object_get(t->base.info, "argv");
	const char *cmd = rec_str(t->base.info, "command"), *k;
	json_t *v;
	size_t off = 0, i;
	int argc = 0;

#define ADD(s) do { if (argc >= max - 1) goto toolong; argv[argc++] = (s); } while (0)
#define FMT(...) ({ char *_p = store + off; int _n = snprintf(_p, storelen - off, __VA_ARGS__); \
	if (_n < 0 || (size_t)_n >= storelen - off) goto toolong; off += _n + 1; _p; })

	if (res_parse(rec_str(t->base.info, "resources"), &flat, err) == -1) {
		snprintf(why, whylen, "resources: %s", err);
		return -1;
	}
	/* reserved or not, cpus are cpus: the limits count them all */
	if (res_collapse(&flat, &r) == -1) {
		res_free(&flat);
		snprintf(why, whylen, "resources: out of memory");
		return -1;
	}
	res_free(&flat);
	ADD(ag->launcher);
	ADD("--sandbox");
	ADD(FMT("%s/sandbox", t->dir));
	ADD("--id");
	ADD(FMT("%s", task_launch_id(ag, t, id, sizeof(id))));
	task_limits(&r, cpus, mem, sizeof(cpus));
	res_free(&r);
	if (strcmp(cpus, "0") != 0) {
		ADD("--cpus");
		ADD(FMT("%s", cpus));
	}
	if (strcmp(mem, "0") != 0) {
		ADD("--mem");
		ADD(FMT("%s", mem));
	}
	ADD("--status-file");
	ADD(FMT("%s/status.json", t->dir));
	if (ag->require[0] != '\0') {
		ADD("--require");
		ADD(ag->require);
	}
	/* the launcher takes whole seconds: round up, never to nothing */
	ADD("--grace");
	ADD(FMT("%lld", (long long)((ag->grace_ms + 999) / 1000)));
	if (t->user != NULL) {
		ADD("--user");
		ADD((char *)t->user);
	}
	/* a task sees its own sandbox of the work dir, and nothing else */
	if (isolated_by(ag, "mount")) {
		ADD("--hide");
		ADD(ag->work_real);
	}
	ADD("--env");
	ADD(FMT("FRAMEWORK_ID=%s", t->base.framework_id));
	ADD("--env");
	ADD(FMT("AGENT_ID=%s", ag->set->agents[0].id));
	json_object_foreach(env, k, v) {
		if (!json_is_string(v) || strchr(k, '=') != NULL || *k == '\0') {
			snprintf(why, whylen, "env: '%.100s' is not NAME with a "
			    "string value", k);
			return -1;
		}
		ADD("--env");
		ADD(FMT("%s=%s", k, json_string_value(v)));
	}
	ADD("--");
	if (json_is_array(args)) {
		json_array_foreach(args, i, v)
			ADD((char *)json_string_value(v));
	} else {
		ADD("/bin/sh");
		ADD("-c");
		ADD((char *)cmd);
	}
	argv[argc] = NULL;
	return 0;
toolong:
	snprintf(why, whylen, "task description too long");
	return -1;
#undef ADD
#undef FMT
}

/* True when task INFO says what to run: a command string or argv strings. */
static int
launch_command_ok(json_t *info)
{
	json_t *argv = json_object_get(info, "argv"), *v;
	size_t i;

	if (json_is_array(argv)) {
		if (json_array_size(argv) == 0)
			return 0;
		json_array_foreach(argv, i, v)
			if (!json_is_string(v))
				return 0;
		return 1;
	}
	return rec_str(info, "command") != NULL;
}

/* A LAUNCH of INFO: a task to start, or NULL when INFO is malformed. */
static struct agent_task *
task_new(void *arg, struct agent *a, json_t *info)
{
	const char *tid = rec_str(info, "task_id");
	char err[REC_ERRLEN];
	struct atask *t;

	if (rec_require(info, "?command:s ?argv:a ?env:o ?executor:o",
	    err) == -1) {
		log_warnx("bad LAUNCH: %s", err);
		return NULL;
	}
	if (json_object_get(info, "executor") == NULL &&
	    !launch_command_ok(info)) {
		log_warnx("bad LAUNCH of %s: it needs 'command' (a string) or "
		    "'argv' (strings)", tid);
		return NULL;
	}
	(void)arg;
	(void)a;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warnx("out of memory");
		return NULL;
	}
	return &t->base;
}

/* The launch of T failed for WHY: it ends TASK_FAILED. */
void
task_launch_failed(struct agentd *ag, struct atask *t, const char *why)
{
	if (t->executor != NULL) {
		agent_exec_exited(t->executor, 0, why);
		return;
	}
	(void)ag;
	log_warnx("task %s: %s", t->base.id, why);
	t->starting = 0;
	stats_ended(TASK_FAILED, 0);
	agent_update(&t->base, TASK_FAILED, json_pack("{s:s}", "reason", why));
}

/*
 * T's launcher runs as t->pid: checkpoint it, and send the kill asked
 * for while it was starting.  A launcher that does not report its exec
 * runs the task from now on, as far as anyone can tell.
 */
void
task_launched(struct agentd *ag, struct atask *t, int notify)
{
	char path[PATH_MAX + 32];
	FILE *fp;

	t->pid_start = proc_start(t->pid);
	snprintf(path, sizeof(path), "%s/launcher.pid", t->dir);
	if ((fp = fopen(path, "w")) == NULL || fprintf(fp, "%d %llu\n",
	    (int)t->pid, t->pid_start) < 0 || fclose(fp) == EOF)
		log_warn("checkpoint %s", path);
	if (t->kill_wanted && t->kill_sent == 0) {
		kill(t->pid, SIGTERM);
		t->kill_sent = now_ms();
	}
	if (!notify)
		task_running(ag, t->pid);
}

int
task_running(struct agentd *ag, pid_t pid)
{
	struct agent_task *bt;
	size_t pos = 0;

	while ((bt = agent_set_next(ag->set, &pos)) != NULL) {
		struct atask *t = T(bt);

		if (t->pid == pid && !t->adopted && t->starting) {
			t->starting = 0;
			if (t->launch_at != 0)
				stats_running(now_ms() - t->launch_at);
			agent_update(bt, TASK_RUNNING, NULL);
			return 1;
		}
	}
	return 0;
}

/*
 * Make T's directory and write task.json there, before any update of it
 * is checkpointed; -1 when its path is too long.
 */
static int
task_prepare(void *arg, struct agent_task *bt)
{
	struct agentd *ag = arg;
	struct atask *t = T(bt);
	char path[PATH_MAX + 32];
	int made;

	if ((size_t)snprintf(t->dir, sizeof(t->dir), "%s/%s/%s/%s",
	    ag->work_dir, AGENTD_TASKS, bt->framework_id, bt->id) >=
	    sizeof(t->dir)) {
		t->dir[0] = '\0';
		return -1;
	}
	if ((made = mkdirs(t->dir, 0750, 0750)) == -1)
		log_warn("task dir %s", t->dir);
	if (made != 1) {
		/* a task id used again: what its last run left must not count */
		unlink_quiet(t->dir, "acked");
		unlink_quiet(t->dir, "status.json");
		unlink_quiet(t->dir, "updates.log");
		unlink_quiet(t->dir, "launcher.pid");
	}
	snprintf(path, sizeof(path), "%s/task.json", t->dir);
	json_dump_file(bt->info, path, JSON_COMPACT);
	return 0;
}

/*
 * Start task T through the launcher, as its user (user.c), in its own
 * sandbox; a user it may not run as ends it TASK_ERROR, any other failure
 * TASK_FAILED.
 */
static void
task_start(void *arg, struct agent_task *bt)
{
	static char *argv[LAUNCH_ARGS_MAX], store[LAUNCH_ARGS_SPACE];
	struct agentd *ag = arg;
	struct atask *t = T(bt);
	char why[512], path[PATH_MAX + 32];

	if (task_prepare(ag, bt) == -1) {
		task_launch_failed(ag, t, "work dir path too long");
		return;
	}
	if (user_of_task(ag, t, why, sizeof(why)) == -1) {
		log_warnx("task %s of %s refused: %s", bt->id,
		    bt->framework_id, why);
		agent_update(bt, TASK_ERROR, json_pack("{s:s}", "reason", why));
		return;
	}
	t->starting = 1;
	t->launch_at = now_ms();
	stats_launch();
	agent_update(bt, TASK_STARTING, NULL);
	if (user_sandbox(ag, t, path, sizeof(path), why, sizeof(why)) == -1)
		goto fail;
	if (task_launcher_argv(ag, t, argv, LAUNCH_ARGS_MAX, store, sizeof(store),
	    why, sizeof(why)) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/launcher.log", t->dir);
	if (launch_start(ag, t, argv, path, why, sizeof(why)) == -1)
		goto fail;
	return;
fail:
	task_launch_failed(ag, t, why);
}

/* Ask T's launcher to stop the task (it applies the grace period). */
static void
task_kill(void *arg, struct agent_task *bt)
{
	struct atask *t = T(bt);

	(void)arg;
	t->kill_wanted = 1;
	if (t->pid > 0 && t->kill_sent == 0) {
		kill(t->pid, SIGTERM);
		t->kill_sent = now_ms();
	}
}

/* Which of our agents a record is for: the only one. */
static int
task_which(void *arg, const char *id)
{
	(void)arg;
	(void)id;
	return 0;
}

static int
task_send(void *arg, const json_t *rec)
{
	struct agentd *ag = arg;

	if (net_send(ag->net, NULL, rec) == -1)
		return -1;
	stats_sent(rec_type(rec));
	return 0;
}

/* What this agent says of itself when it registers. */
static void
task_describe(void *arg, struct agent *a, json_t *r)
{
	struct agentd *ag = arg;

	(void)a;
	rec_set_str(r, "hostname", ag->hostname);
	rec_set_str(r, "resources", ag->resources);
	rec_set_str(r, "attributes", ag->attributes);
	if (ag->isolators != NULL)
		json_object_set(r, "isolators", ag->isolators);
}

const struct agent_ops task_ops = {
	.send = task_send,
	.which = task_which,
	.describe = task_describe,
	.task_new = task_new,
	.task_start = task_start,
	.task_kill = task_kill,
	.task_acked = task_acked,
	.task_free = task_free,
	.status = task_status,
	.checkpoint = task_checkpoint,
	.checkpoint_sync = task_sync,
	.output = task_output,
	.executor_start = aexec_start,
	.executor_kill = aexec_kill,
	.executor_free = aexec_free,
	.executor_resize = aexec_resize,
};

/*
 * Turn the launcher's result into the task's terminal update: read the
 * status file when the launcher wrote one, else the wait status.
 */
void
task_reaped(struct agentd *ag, pid_t pid, int status)
{
	struct agent_task *bt;
	size_t pos = 0;

	launch_notices(ag);	/* its exec notice comes first */
	if (aexec_reaped(ag, pid, status))
		return;
	while ((bt = agent_set_next(ag->set, &pos)) != NULL)
		if (T(bt)->pid == pid && !T(bt)->adopted) {
			task_finished(T(bt), status);
			return;
		}
}

/*
 * T's launcher has ended, with wait status STATUS (-1: unknown, as for a
 * launcher adopted from an earlier run).  Queue the terminal update.
 */
static void
task_finished(struct atask *t, int status)
{
	char path[PATH_MAX + 16];
	json_t *res, *extra;
	const char *state, *st;

	t->pid = 0;
	snprintf(path, sizeof(path), "%s/status.json", t->dir);
	res = json_load_file(path, 0, NULL);
	extra = json_object();
	st = rec_str(res, "state");
	if (st != NULL && strcmp(st, "failed") == 0) {
		state = TASK_FAILED;
		rec_set_str(extra, "reason", rec_str(res, "reason") ?
		    rec_str(res, "reason") : "launch failed");
	} else if (st != NULL && strcmp(st, "signaled") == 0) {
		rec_set_int(extra, "signal", rec_int_or(res, "signal", 0));
		if (rec_bool_or(res, "oom", 0)) {
			state = TASK_FAILED;
			rec_set_str(extra, "reason", "memory limit exceeded");
		} else if (t->kill_wanted || rec_bool_or(res, "killed", 0)) {
			state = TASK_KILLED;
			rec_set_str(extra, "reason", "killed on request");
		} else {
			state = TASK_FAILED;
			rec_set_str(extra, "reason", "killed by a signal");
		}
	} else if (st != NULL) {
		int64_t code = rec_int_or(res, "exit_code", -1);

		rec_set_int(extra, "exit_code", code);
		if (t->kill_wanted) {
			state = TASK_KILLED;
			rec_set_str(extra, "reason", "killed on request");
		} else
			state = code == 0 ? TASK_FINISHED : TASK_FAILED;
	} else if (status == -1) {
		state = t->kill_wanted ? TASK_KILLED : TASK_FAILED;
		rec_set_str(extra, "reason", "the launcher ended while agentd "
		    "was down and left no status file");
	} else if (WIFEXITED(status)) {
		/* a launcher that writes no status file: its exit status */
		rec_set_int(extra, "exit_code", WEXITSTATUS(status));
		state = t->kill_wanted ? TASK_KILLED :
		    WEXITSTATUS(status) == 0 ? TASK_FINISHED : TASK_FAILED;
	} else {
		rec_set_int(extra, "signal", WTERMSIG(status));
		state = t->kill_wanted ? TASK_KILLED : TASK_FAILED;
	}
	if (res != NULL) {
		static const char *copy[] = { "oom", "cpu_ms", "mem_peak_mb" };
		size_t i;

		for (i = 0; i < sizeof(copy) / sizeof(*copy); i++)
			if (json_object_get(res, copy[i]) != NULL)
				json_object_set(extra, copy[i],
				    json_object_get(res, copy[i]));
	}
	stats_ended(state, rec_bool_or(res, "oom", 0));
	json_decref(res);
	t->starting = 0;
	agent_update(&t->base, state, extra);
}


void
task_kill_all(struct agentd *ag)
{
	struct agent_task *bt;
	size_t pos = 0;

	while ((bt = agent_set_next(ag->set, &pos)) != NULL)
		if (!bt->ended)
			agent_task_kill(bt);
	aexec_shutdown_all(ag);
}

void
task_tick(struct agentd *ag)
{
	int64_t now = now_ms();
	struct agent_task *bt;
	struct atask *t;
	size_t pos = 0;

	while ((bt = agent_set_next(ag->set, &pos)) != NULL) {
		t = T(bt);
		/* an adopted launcher is not our child: watch it go */
		if (t->adopted && t->pid > 0 && proc_start(t->pid) != t->pid_start) {
			task_finished(t, -1);
			continue;
		}
		/* a launcher that ignores SIGTERM past the grace is killed */
		if (t->pid > 0 && t->kill_sent &&
		    now - t->kill_sent > ag->grace_ms + KILL_ESCALATE_MS)
			kill(t->pid, SIGKILL);
	}
	aexec_tick(ag);
}

/*
 * Replay T's updates.log (see task_log): the updates still unacknowledged
 * into t->updates, the latest state into t->state, whether the task ended
 * and whether the master gave up on it.  A torn last line, from a crash
 * in the middle of a write, ends the replay.
 */
void
task_replay_line(struct agent_task *t, json_t *j)
{
	const char *st, *uuid;
	json_t *head;

	if ((uuid = rec_str(j, "ack")) != NULL) {
		head = json_array_get(t->updates, 0);
		if (head != NULL && rec_str(head, "uuid") != NULL &&
		    strcmp(rec_str(head, "uuid"), uuid) == 0)
			json_array_remove(t->updates, 0);
	} else if (rec_bool_or(j, "clear", 0)) {
		json_array_clear(t->updates);
		t->disowned = 1;
	} else if ((st = rec_str(j, "state")) != NULL &&
	    task_state_valid(st)) {
		/* what the executor reported last is taken once */
		if (rec_int_or(j, "executor_seq", 0) > t->exec_seq)
			t->exec_seq = rec_int_or(j, "executor_seq", 0);
		strlcpy(t->state, st, sizeof(t->state));
		if (task_state_terminal(st))
			t->ended = 1;
		json_array_append(t->updates, j);
	}
}

static void
replay_updates(struct agent_task *t, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	json_t *j;
	FILE *fp;

	t->updates = json_array();
	strlcpy(t->state, TASK_RUNNING, sizeof(t->state));
	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (getline(&line, &cap, fp) != -1 &&
	    (j = json_loads(line, 0, NULL)) != NULL) {
		task_replay_line(t, j);
		json_decref(j);
	}
	free(line);
	fclose(fp);
}

/*
 * Task T runs in an executor: back in it when the executor was
 * recovered (aexec_recover), else lost with it.
 */
static void
recover_exec_task(struct agentd *ag, struct atask *t)
{
	struct agent_task *bt = &t->base;
	json_t *x = json_object_get(bt->info, "executor");
	struct agent_executor *e;

	e = agent_exec_find(ag->set, bt->framework_id,
	    rec_str(x, "executor_id"));
	if (e != NULL) {
		agent_exec_attach(bt, e);
		log_info("recovered task %s of %s: in executor %s", bt->id,
		    bt->framework_id, bt->exec->id);
		if (bt->disowned)
			agent_task_kill(bt);
		else if (bt->exec_seq == 0 && !bt->ended)
			agent_exec_hold(bt);	/* as at its start: the
						   resize at registration
						   first */
		return;
	}
	log_info("recovered task %s of %s: its executor is gone", bt->id,
	    bt->framework_id);
	agent_update(bt, TASK_LOST, json_pack("{s:s}", "reason", "its "
	    "executor ended while agentd was down"));
}

/* Let go of recovered task T, which the set never took. */
static void
recovered_drop(struct agentd *ag, struct atask *t)
{
	json_decref(t->base.info);
	json_decref(t->base.updates);
	task_free(ag, &t->base);
}

/* Load one task directory DIR (FW/TASK) left by an earlier run. */
static void
recover_task(struct agentd *ag, const char *fw, const char *tid, const char *dir)
{
	char path[PATH_MAX + 32];
	struct atask *t;
	json_t *info;

	strfmt(path, sizeof(path), "%s/acked", dir);
	if (access(path, F_OK) == 0)
		return;
	strfmt(path, sizeof(path), "%s/task.json", dir);
	if (strlen(dir) >= sizeof(t->dir) || strlen(fw) >= AGENT_ID_LEN ||
	    strlen(tid) >= AGENT_ID_LEN || (info = json_load_file(path, 0, NULL)) == NULL)
		return;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		json_decref(info);
		return;
	}
	strlcpy(t->base.id, tid, sizeof(t->base.id));
	strlcpy(t->base.framework_id, fw, sizeof(t->base.framework_id));
	strlcpy(t->dir, dir, sizeof(t->dir));
	t->base.info = info;
	strfmt(path, sizeof(path), "%s/updates.log", dir);
	replay_updates(&t->base, path);
	task_recovered(ag, t);
}

void
task_recovered(struct agentd *ag, struct atask *t)
{
	char path[PATH_MAX + 32];
	const char *tid = t->base.id, *fw = t->base.framework_id;
	FILE *fp;
	int pid = 0;
	unsigned long long start = 0;

	if (t->base.ended && json_array_size(t->base.updates) == 0) {
		/* all acknowledged; we stopped before we noted it */
		task_acked(ag, &t->base);
		recovered_drop(ag, t);
		return;
	}
	if (agent_task_insert(&ag->set->agents[0], &t->base) == -1) {
		log_warnx("recover task %s of %s: out of memory", tid, fw);
		recovered_drop(ag, t);
		return;
	}
	if (t->base.ended) {
		log_info("recovered task %s of %s: %s, updates pending", tid, fw,
		    t->base.state);
		return;
	}
	if (in_executor(&t->base)) {
		recover_exec_task(ag, t);
		return;
	}
	strfmt(path, sizeof(path), "%s/launcher.pid", t->dir);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fscanf(fp, "%d %llu", &pid, &start) != 2)
			pid = 0;
		fclose(fp);
	}
	if (pid > 0 && start != 0 && proc_start(pid) == start) {
		t->pid = pid;
		t->pid_start = start;
		t->adopted = 1;
		log_info("recovered task %s of %s: still running (launcher %d)",
		    tid, fw, pid);
		if (t->base.disowned)
			task_kill(ag, &t->base);	/* the master gave up on it */
	} else {
		log_info("recovered task %s of %s: ended while we were down",
		    tid, fw);
		task_finished(t, -1);
	}
}

/*
 * Call FN for each directory WORK/KIND/FW/ID an earlier run left, with
 * valid ids only: a name that is not one is not ours to read.
 */
void
work_walk(struct agentd *ag, const char *kind, void (*fn)(struct agentd *,
    const char *fw, const char *id, const char *dir))
{
	char base[PATH_MAX], fdir[PATH_MAX + 256], dir[PATH_MAX + 512];
	struct dirent *f, *k;
	DIR *d1, *d2;

	strfmt(base, sizeof(base), "%s/%s", ag->work_dir, kind);
	if ((d1 = opendir(base)) == NULL)
		return;
	while ((f = readdir(d1)) != NULL) {
		if (!id_valid(f->d_name) || f->d_name[0] == '.' ||
		    strfmt(fdir, sizeof(fdir), "%s/%s", base, f->d_name) == -1 ||
		    (d2 = opendir(fdir)) == NULL)
			continue;
		while ((k = readdir(d2)) != NULL)
			if (id_valid(k->d_name) && k->d_name[0] != '.' &&
			    strfmt(dir, sizeof(dir), "%s/%s", fdir,
			    k->d_name) == 0)
				fn(ag, f->d_name, k->d_name, dir);
		closedir(d2);
	}
	closedir(d1);
}

void
task_recover(struct agentd *ag)
{
	work_walk(ag, AGENTD_TASKS, recover_task);
}
