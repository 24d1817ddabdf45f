/*
 * The agent's tasks: launching, killing, reaping and status updates.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
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

#define UPDATE_RETRY_DOUBLINGS	3	/* resends wait at most 8 x the first */
#define KILL_ESCALATE_MS	5000	/* after the grace: SIGKILL the launcher */

static void
send_rec(struct agent *ag, json_t *rec)
{
	if (net_send(ag->net, NULL, rec) == -1)
		log_debug("send %s: master not reachable", rec_type(rec));
}

static void
unlink_quiet(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/*
 * The checkpoint of T's updates is updates.log in its directory, one JSON
 * object a line, only ever appended to: every update as it was queued,
 * {"ack":UUID} when the oldest was acknowledged, {"clear":true} when the
 * master gave up on the task.  Replayed, it gives the updates still
 * unacknowledged.  Appending frees no inode (a rewrite by rename frees
 * one each time, and a file system slows down allocating inodes among
 * many recently freed ones), and the lines of one turn of the event loop
 * (the STARTING and RUNNING of a launch, a batch of acknowledgements)
 * go in one write, by agent_flush.
 */
static void
task_log(struct agent *ag, struct atask *t, json_t *line)
{
	if (t->unsaved == NULL) {
		t->unsaved = json_array();
		LIST_INSERT_HEAD(&ag->dirty, t, dirty_link);
	}
	json_array_append_new(t->unsaved, line);
}

/* Append T's unsaved lines to updates.log, so that a restart loses none. */
static void
task_checkpoint(struct atask *t)
{
	char path[PATH_MAX + 16];
	json_t *line;
	size_t i;
	FILE *fp;
	int bad = 0;

	if (t->unsaved == NULL)
		return;
	snprintf(path, sizeof(path), "%s/updates.log", t->dir);
	if ((fp = fopen(path, "ae")) == NULL)
		bad = 1;
	else {
		/* buffered: the lines of a turn go in one write */
		json_array_foreach(t->unsaved, i, line)
			if (json_dumpf(line, fp, JSON_COMPACT) == -1 ||
			    fputc('\n', fp) == EOF)
				bad = 1;
		if (fclose(fp) == EOF)
			bad = 1;
	}
	if (bad)
		log_warn("checkpoint %s", path);
	json_decref(t->unsaved);
	t->unsaved = NULL;
	LIST_REMOVE(t, dirty_link);
}

/* A new oldest update of T: send it at the next flush, retries anew. */
static void
task_new_head(struct atask *t)
{
	t->tries = 0;
	t->next_send = 0;
}

/* The start time of process PID (field 22 of /proc/PID/stat), or 0. */
static unsigned long long
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

/* Send the oldest unacknowledged update of T and schedule a retry. */
static void
update_send(struct agent *ag, struct atask *t)
{
	json_t *head = json_array_get(t->updates, 0);
	int64_t delay;

	if (head == NULL || !ag->registered)
		return;
	task_checkpoint(t);		/* never send what a restart would lose */
	rec_set_str(head, "agent_id", ag->id);
	send_rec(ag, head);
	delay = ag->retry_ms << (t->tries < UPDATE_RETRY_DOUBLINGS ? t->tries :
	    UPDATE_RETRY_DOUBLINGS);
	t->next_send = now_ms() + delay;
	t->tries++;
}

/*
 * Queue a status update STATE for T with the optional fields of EXTRA
 * (consumed), and send it if it is the oldest one pending.
 */
static void
update_push(struct agent *ag, struct atask *t, const char *state, json_t *extra)
{
	char uuid[ID_LEN], sandbox[PATH_MAX + 16];
	json_t *st;

	strlcpy(t->state, state, sizeof(t->state));
	if (t->disowned) {
		/* the master reported it lost already: no second ending */
		json_decref(extra);
		if (task_state_terminal(state))
			t->ended = 1;
		return;
	}
	st = rec_new(R_STATUS);

	rec_set_str(st, "agent_id", ag->id);
	rec_set_str(st, "framework_id", t->framework_id);
	rec_set_str(st, "task_id", t->id);
	rec_set_str(st, "state", state);
	rec_set_str(st, "uuid", id_new("u", uuid, sizeof(uuid)));
	rec_set_int(st, "timestamp_ms", wall_ms());
	snprintf(sandbox, sizeof(sandbox), "%s/sandbox", t->dir);
	rec_set_str(st, "sandbox", sandbox);
	if (extra != NULL) {
		json_object_update(st, extra);
		json_decref(extra);
	}
	log_info("task %s of %s: %s", t->id, t->framework_id, state);
	json_array_append_new(t->updates, st);
	task_log(ag, t, json_incref(st));
	if (json_array_size(t->updates) == 1)
		task_new_head(t);
}

/* Write the checkpoints of the tasks whose updates changed, then send. */
void
agent_flush(struct agent *ag)
{
	struct atask *t;

	while ((t = LIST_FIRST(&ag->dirty)) != NULL) {
		task_checkpoint(t);
		if (t->next_send == 0)
			update_send(ag, t);
	}
}

/*
 * Build the launcher's argument vector for T into ARGV (at most MAX-1
 * entries plus NULL), using the string space STORE.  Returns 0 or -1 with
 * a reason in WHY.
 */
static int
launcher_argv(struct agent *ag, struct atask *t, char **argv, int max,
    char *store, size_t storelen, char *why, size_t whylen)
{
	struct res r;
	char err[RES_ERRLEN];
	json_t *env = json_object_get(t->info, "env");
	json_t *args = json_object_get(t->info, "argv");
	const char *cmd = rec_str(t->info, "command"), *k, *user;
	json_t *v;
	size_t off = 0, i;
	int argc = 0;

#define ADD(s) do { if (argc >= max - 1) goto toolong; argv[argc++] = (s); } while (0)
#define FMT(...) ({ char *_p = store + off; int _n = snprintf(_p, storelen - off, __VA_ARGS__); \
	if (_n < 0 || (size_t)_n >= storelen - off) goto toolong; off += _n + 1; _p; })

	if (res_parse(rec_str(t->info, "resources"), &r, err) == -1) {
		snprintf(why, whylen, "resources: %s", err);
		return -1;
	}
	ADD(ag->launcher);
	ADD("--sandbox");
	ADD(FMT("%s/sandbox", t->dir));
	ADD("--id");
	ADD(FMT("%s.%s", ag->id, t->id));
	if (res_get(&r, "cpus") > 0) {
		ADD("--cpus");
		ADD(FMT("%g", res_get(&r, "cpus") / 1000.0));
	}
	if (res_get(&r, "mem") > 0) {
		ADD("--mem");
		ADD(FMT("%lld", (long long)((res_get(&r, "mem") + 999) / 1000)));
	}
	res_free(&r);
	ADD("--status-file");
	ADD(FMT("%s/status.json", t->dir));
	if (ag->require[0] != '\0') {
		ADD("--require");
		ADD(ag->require);
	}
	/* the launcher takes whole seconds: round up, never to nothing */
	ADD("--grace");
	ADD(FMT("%lld", (long long)((ag->grace_ms + 999) / 1000)));
	if ((user = rec_str(t->info, "user")) != NULL) {
		ADD("--user");
		ADD((char *)user);
	}
	ADD("--env");
	ADD(FMT("FRAMEWORK_ID=%s", t->framework_id));
	ADD("--env");
	ADD(FMT("AGENT_ID=%s", ag->id));
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

/* Start task T through the launcher; on failure T ends TASK_FAILED. */
static void
task_start(struct agent *ag, struct atask *t)
{
	char *argv[512], store[65536], why[512], path[PATH_MAX + 32];
	json_t *extra;

	snprintf(path, sizeof(path), "%s/sandbox", t->dir);
	if (mkdirs(path, 0750, 0750) == -1) {
		snprintf(why, sizeof(why), "sandbox %.300s: %s", path,
		    strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/task.json", t->dir);
	json_dump_file(t->info, path, JSON_COMPACT);
	if (launcher_argv(ag, t, argv, 512, store, sizeof(store), why,
	    sizeof(why)) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/launcher.log", t->dir);
	if (launch_start(ag, t, argv, path, why, sizeof(why)) == -1)
		goto fail;
	t->pid_start = proc_start(t->pid);
	snprintf(path, sizeof(path), "%s/launcher.pid", t->dir);
	{
		FILE *fp = fopen(path, "w");

		if (fp == NULL || fprintf(fp, "%d %llu\n", (int)t->pid,
		    t->pid_start) < 0 || fclose(fp) == EOF)
			log_warn("checkpoint %s", path);
	}
	update_push(ag, t, TASK_RUNNING, NULL);
	return;
fail:
	log_warnx("task %s: %s", t->id, why);
	t->ended = 1;
	extra = json_pack("{s:s}", "reason", why);
	update_push(ag, t, TASK_FAILED, extra);
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

static void
handle_launch(struct agent *ag, json_t *rec)
{
	char err[REC_ERRLEN];
	json_t *info = json_object_get(rec, "task");
	const char *fw = rec_str(rec, "framework_id"), *tid;
	struct atask *t;
	char key[2 * ID_LEN];
	int made;

	if (rec_require(rec, "framework_id:s task:o", err) == -1 ||
	    rec_require(info, "task_id:s resources:s ?command:s ?argv:a ?env:o",
	    err) == -1) {
		log_warnx("bad LAUNCH: %s", err);
		return;
	}
	tid = rec_str(info, "task_id");
	if (!id_valid(fw) || !id_valid(tid)) {
		log_warnx("bad LAUNCH: invalid framework or task id");
		return;
	}
	if (!launch_command_ok(info)) {
		log_warnx("bad LAUNCH of %s: it needs 'command' (a string) or "
		    "'argv' (strings)", tid);
		return;
	}
	snprintf(key, sizeof(key), "%s/%s", fw, tid);
	if ((t = map_get(ag->tasks, key)) != NULL) {
		/* a retransmission: the master has not seen our update yet */
		t->tries = 0;
		update_send(ag, t);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warnx("out of memory");
		return;
	}
	strlcpy(t->key, key, sizeof(t->key));
	strlcpy(t->id, tid, sizeof(t->id));
	strlcpy(t->framework_id, fw, sizeof(t->framework_id));
	if ((size_t)snprintf(t->dir, sizeof(t->dir), "%s/tasks/%s/%s",
	    ag->work_dir, fw, tid) >= sizeof(t->dir)) {
		log_warnx("task %s: work dir path too long", tid);
		free(t);
		return;
	}
	t->info = json_incref(info);
	t->updates = json_array();
	map_put(ag->tasks, t->key, t);
	if ((made = mkdirs(t->dir, 0750, 0750)) == -1)
		log_warn("task dir %s", t->dir);
	if (made != 1) {
		/* a task id used again: what its last run left must not count */
		unlink_quiet(t->dir, "acked");
		unlink_quiet(t->dir, "status.json");
		unlink_quiet(t->dir, "updates.log");
		unlink_quiet(t->dir, "launcher.pid");
	}
	update_push(ag, t, TASK_STARTING, NULL);
	task_start(ag, t);
}

/* Ask T's launcher to stop the task (it applies the grace period). */
static void
task_kill(struct atask *t)
{
	t->kill_wanted = 1;
	if (t->pid > 0 && t->kill_sent == 0) {
		kill(t->pid, SIGTERM);
		t->kill_sent = now_ms();
	}
}

static void
handle_kill(struct agent *ag, json_t *rec)
{
	const char *fw = rec_str(rec, "framework_id"), *tid = rec_str(rec, "task_id");
	char key[2 * ID_LEN];
	struct atask *t;

	if (fw == NULL || tid == NULL) {
		log_warnx("bad KILL: framework_id and task_id are needed");
		return;
	}
	snprintf(key, sizeof(key), "%s/%s", fw, tid);
	if ((t = map_get(ag->tasks, key)) == NULL) {
		/* never heard of it: say so, so the master stops asking */
		json_t *st = rec_new(R_STATUS);

		rec_set_str(st, "agent_id", ag->id);
		rec_set_str(st, "framework_id", fw);
		rec_set_str(st, "task_id", tid);
		rec_set_str(st, "state", TASK_LOST);
		rec_set_str(st, "reason", "unknown task on this agent");
		send_rec(ag, st);
		json_decref(st);
		return;
	}
	if (t->ended) {
		t->tries = 0;
		update_send(ag, t);
		return;
	}
	log_info("killing task %s of %s", t->id, t->framework_id);
	task_kill(t);
}

/* Every update of ended task T was acknowledged: recovery skips it. */
static void
task_mark_acked(struct atask *t)
{
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/acked", t->dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640)) == -1)
		log_warn("%s", path);
	else
		close(fd);
}

static void
task_free(struct agent *ag, struct atask *t)
{
	if (t->unsaved != NULL) {
		LIST_REMOVE(t, dirty_link);
		json_decref(t->unsaved);
	}
	map_del(ag->tasks, t->key);
	json_decref(t->info);
	json_decref(t->updates);
	free(t);
}

static void
handle_ack(struct agent *ag, json_t *rec)
{
	const char *fw = rec_str(rec, "framework_id"), *tid = rec_str(rec, "task_id");
	const char *uuid = rec_str(rec, "uuid");
	char key[2 * ID_LEN];
	struct atask *t;
	json_t *head;

	if (fw == NULL || tid == NULL || uuid == NULL)
		return;
	snprintf(key, sizeof(key), "%s/%s", fw, tid);
	if ((t = map_get(ag->tasks, key)) == NULL)
		return;
	head = json_array_get(t->updates, 0);
	if (head == NULL || rec_str(head, "uuid") == NULL ||
	    strcmp(rec_str(head, "uuid"), uuid) != 0)
		return;		/* an old duplicate acknowledgement */
	json_array_remove(t->updates, 0);
	if (json_array_size(t->updates) == 0 && t->ended) {
		task_mark_acked(t);
		task_free(ag, t);
		return;
	}
	task_log(ag, t, json_pack("{s:s}", "ack", uuid));
	if (json_array_size(t->updates) > 0)
		task_new_head(t);
}

void
agent_handle(struct agent *ag, json_t *rec)
{
	const char *type = rec_type(rec);
	struct atask *t;
	size_t pos = 0;

	log_debug("<- %s", type);
	if (strcmp(type, R_AGENT_REGISTERED) == 0) {
		const char *id = rec_str(rec, "agent_id");

		if (id == NULL || !id_valid(id))
			return;
		if (!ag->registered)
			log_info("registered as %s", id);
		strlcpy(ag->id, id, sizeof(ag->id));
		ag->registered = 1;
		if (rec_bool_or(rec, "kill_tasks", 0)) {
			/* the master removed our old self: its tasks are lost */
			log_warnx("the master removed this agent earlier; "
			    "killing the tasks it had");
			while ((t = map_next(ag->tasks, &pos, NULL)) != NULL) {
				t->disowned = 1;
				json_array_clear(t->updates);
				if (t->ended || t->pid == 0) {
					task_mark_acked(t);
					task_free(ag, t);
				} else {
					task_log(ag, t, json_pack("{s:b}",
					    "clear", 1));
					task_kill(t);
				}
			}
			pos = 0;
		}
		/* anything the master missed while we were away */
		while ((t = map_next(ag->tasks, &pos, NULL)) != NULL) {
			t->tries = 0;
			update_send(ag, t);
		}
	} else if (strcmp(type, R_REREGISTER) == 0) {
		if (ag->registered)
			log_info("master asks us to register again");
		ag->registered = 0;
		ag->next_register = 0;
	} else if (strcmp(type, R_LAUNCH) == 0)
		handle_launch(ag, rec);
	else if (strcmp(type, R_KILL) == 0)
		handle_kill(ag, rec);
	else if (strcmp(type, R_ACKNOWLEDGE) == 0)
		handle_ack(ag, rec);
	else if (strcmp(type, R_ERROR) == 0)
		log_warnx("master says: %s", rec_str(rec, "message") ?
		    rec_str(rec, "message") : "(no message)");
	else
		log_info("ignoring a %s record", type);
}

static void task_finished(struct agent *, struct atask *, int);
static void task_mark_acked(struct atask *);
static void task_free(struct agent *, struct atask *);

/*
 * Turn the launcher's result into the task's terminal update: read the
 * status file when the launcher wrote one, else the wait status.
 */
void
agent_reaped(struct agent *ag, pid_t pid, int status)
{
	struct atask *t;
	size_t pos = 0;

	while ((t = map_next(ag->tasks, &pos, NULL)) != NULL)
		if (t->pid == pid && !t->adopted)
			break;
	if (t != NULL)
		task_finished(ag, t, status);
}

/*
 * T's launcher has ended, with wait status STATUS (-1: unknown, as for a
 * launcher adopted from an earlier run).  Queue the terminal update.
 */
static void
task_finished(struct agent *ag, struct atask *t, int status)
{
	char path[PATH_MAX + 16];
	json_t *res, *extra;
	const char *state, *st;

	t->pid = 0;
	t->ended = 1;
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
	json_decref(res);
	update_push(ag, t, state, extra);
	if (t->disowned) {
		task_mark_acked(t);
		task_free(ag, t);
	}
}

int
agent_quiet(struct agent *ag)
{
	struct atask *t;
	size_t pos = 0;

	while ((t = map_next(ag->tasks, &pos, NULL)) != NULL)
		if (!t->ended || json_array_size(t->updates) > 0)
			return 0;
	return 1;
}

void
agent_kill_all(struct agent *ag)
{
	struct atask *t;
	size_t pos = 0;

	while ((t = map_next(ag->tasks, &pos, NULL)) != NULL)
		if (!t->ended)
			task_kill(t);
}

/* What the master must know of our tasks when we (re-)register. */
static json_t *
tasks_report(struct agent *ag)
{
	json_t *list = json_array();
	struct atask *t;
	size_t pos = 0;

	while ((t = map_next(ag->tasks, &pos, NULL)) != NULL) {
		json_t *e;

		if (t->disowned)
			continue;
		e = json_pack("{s:s,s:s,s:s,s:O}", "framework_id", t->framework_id,
		    "task_id", t->id, "state", t->state[0] ? t->state :
		    TASK_STARTING, "task", t->info);
		json_array_append_new(list, e);
	}
	return list;
}

void
agent_tick(struct agent *ag)
{
	int64_t now = now_ms();
	struct atask *t;
	size_t pos = 0;

	if (!ag->registered && now >= ag->next_register) {
		json_t *r = rec_new(R_REGISTER_AGENT);

		rec_set_str(r, "hostname", ag->hostname);
		rec_set_str(r, "resources", ag->resources);
		rec_set_str(r, "attributes", ag->attributes);
		if (ag->id[0] != '\0')
			rec_set_str(r, "agent_id", ag->id);
		if (ag->isolators != NULL)
			json_object_set(r, "isolators", ag->isolators);
		json_object_set_new(r, "tasks", tasks_report(ag));
		/* a new socket may not be connected yet: try again soon */
		ag->next_register = now + (net_send(ag->net, NULL, r) == -1 ?
		    50 : 1000);
		json_decref(r);
	}
	if (ag->registered && now >= ag->next_heartbeat) {
		json_t *r = rec_new(R_HEARTBEAT);

		rec_set_str(r, "agent_id", ag->id);
		send_rec(ag, r);
		json_decref(r);
		ag->next_heartbeat = now + ag->heartbeat_ms;
	}
	while ((t = map_next(ag->tasks, &pos, NULL)) != NULL) {
		if (json_array_size(t->updates) > 0 && now >= t->next_send)
			update_send(ag, t);
		/* an adopted launcher is not our child: watch it go */
		if (t->adopted && t->pid > 0 && proc_start(t->pid) != t->pid_start) {
			task_finished(ag, t, -1);
			continue;
		}
		/* a launcher that ignores SIGTERM past the grace is killed */
		if (t->pid > 0 && t->kill_sent &&
		    now - t->kill_sent > ag->grace_ms + KILL_ESCALATE_MS)
			kill(t->pid, SIGKILL);
	}
}

/* snprintf that reports truncation: returns 0, or -1 when BUF is too small. */
static int
pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Replay T's updates.log (see task_log): the updates still unacknowledged
 * into t->updates, the latest state into t->state, whether the task ended
 * and whether the master gave up on it.  A torn last line, from a crash
 * in the middle of a write, ends the replay.
 */
static void
replay_updates(struct atask *t, const char *path)
{
	const char *st, *uuid;
	char *line = NULL;
	size_t cap = 0;
	json_t *j, *head;
	FILE *fp;

	t->updates = json_array();
	strlcpy(t->state, TASK_RUNNING, sizeof(t->state));
	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (getline(&line, &cap, fp) != -1 &&
	    (j = json_loads(line, 0, NULL)) != NULL) {
		if ((uuid = rec_str(j, "ack")) != NULL) {
			head = json_array_get(t->updates, 0);
			if (head != NULL && rec_str(head, "uuid") != NULL &&
			    strcmp(rec_str(head, "uuid"), uuid) == 0)
				json_array_remove(t->updates, 0);
		} else if (rec_bool_or(j, "clear", 0)) {
			json_array_clear(t->updates);
			t->disowned = 1;
		} else if ((st = rec_str(j, "state")) != NULL) {
			strlcpy(t->state, st, sizeof(t->state));
			if (task_state_terminal(st))
				t->ended = 1;
			json_array_append(t->updates, j);
		}
		json_decref(j);
	}
	free(line);
	fclose(fp);
}

/* Load one task directory DIR (FW/TASK) left by an earlier run. */
static void
recover_task(struct agent *ag, const char *fw, const char *tid, const char *dir)
{
	char path[PATH_MAX + 32];
	struct atask *t;
	json_t *info;
	FILE *fp;
	int pid = 0;
	unsigned long long start = 0;

	pathf(path, sizeof(path), "%s/acked", dir);
	if (access(path, F_OK) == 0)
		return;
	pathf(path, sizeof(path), "%s/task.json", dir);
	if (strlen(dir) >= sizeof(t->dir) || strlen(fw) >= ID_LEN ||
	    strlen(tid) >= ID_LEN || (info = json_load_file(path, 0, NULL)) == NULL)
		return;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		json_decref(info);
		return;
	}
	pathf(t->key, sizeof(t->key), "%s/%s", fw, tid);
	strlcpy(t->id, tid, sizeof(t->id));
	strlcpy(t->framework_id, fw, sizeof(t->framework_id));
	strlcpy(t->dir, dir, sizeof(t->dir));
	t->info = info;
	pathf(path, sizeof(path), "%s/updates.log", dir);
	replay_updates(t, path);
	if (t->ended && json_array_size(t->updates) == 0) {
		/* all acknowledged; we stopped before we noted it */
		task_mark_acked(t);
		json_decref(t->info);
		json_decref(t->updates);
		free(t);
		return;
	}
	map_put(ag->tasks, t->key, t);
	if (t->ended) {
		log_info("recovered task %s of %s: %s, updates pending", tid, fw,
		    t->state);
		return;
	}
	pathf(path, sizeof(path), "%s/launcher.pid", dir);
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
		if (t->disowned)
			task_kill(t);	/* the master gave up on it */
	} else {
		log_info("recovered task %s of %s: ended while we were down",
		    tid, fw);
		task_finished(ag, t, -1);
	}
}

void
agent_recover(struct agent *ag)
{
	char base[PATH_MAX], fdir[PATH_MAX + 256], tdir[PATH_MAX + 512];
	struct dirent *f, *k;
	DIR *d1, *d2;

	pathf(base, sizeof(base), "%s/tasks", ag->work_dir);
	if ((d1 = opendir(base)) == NULL)
		return;
	while ((f = readdir(d1)) != NULL) {
		if (!id_valid(f->d_name) || f->d_name[0] == '.')
			continue;
		if (pathf(fdir, sizeof(fdir), "%s/%s", base, f->d_name) == -1)
			continue;
		if ((d2 = opendir(fdir)) == NULL)
			continue;
		while ((k = readdir(d2)) != NULL) {
			if (!id_valid(k->d_name) || k->d_name[0] == '.')
				continue;
			if (pathf(tdir, sizeof(tdir), "%s/%s", fdir, k->d_name) == -1)
				continue;
			recover_task(ag, f->d_name, k->d_name, tdir);
		}
		closedir(d2);
	}
	closedir(d1);
}
