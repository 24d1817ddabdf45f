/*
 * The executors of a real agent, as the executor callbacks of task_ops
 * (the protocol is lib/agentexec.c): each executor's directory and
 * checkpoint, its launch through the launcher like a task's (an atask
 * that is in no agent set, its EXECUTOR set), its kill and its end, the
 * resize of its cgroup to it and its tasks (through launch.c); the
 * executors' socket; and the recovery of the executors an earlier run
 * left, which must register again within PROTO_EXECUTOR_RECONNECT_MS.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentd.h"
#include "log.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "res.h"
#include "util.h"

#define EXEC_DIR_FILE	"executor_dir"	/* WORK/executor_dir */
#define EXEC_DIR_TMPL	"/tmp/agentd-x.XXXXXX"
#define EXEC_SOCKET	"x"		/* the socket in that directory */
#define EXEC_ARGS_MAX	512
#define EXEC_ARGS_SPACE	65536
#define EXEC_KILL_ESCALATE_MS	5000	/* after the grace: SIGKILL */

#define PROC(e)	((struct atask *)(e)->proc)

/* The short directory of the executors' socket: kept, else made. */
static int
exec_dir(struct agentd *ag, char *dir, size_t len)
{
	char path[PATH_MAX + 32];
	struct stat st;
	FILE *fp;

	strfmt(path, sizeof(path), "%s/%s", ag->work_dir, EXEC_DIR_FILE);
	if ((fp = fopen(path, "re")) != NULL) {
		if (fgets(dir, (int)len, fp) != NULL) {
			dir[strcspn(dir, "\n")] = '\0';
			if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
			    st.st_uid == geteuid()) {
				fclose(fp);
				return 0;
			}
		}
		fclose(fp);
	}
	strlcpy(dir, EXEC_DIR_TMPL, len);
	if (mkdtemp(dir) == NULL || chmod(dir, 0711) == -1)
		return -1;
	if ((fp = fopen(path, "we")) == NULL)
		return -1;
	fprintf(fp, "%s\n", dir);
	return fclose(fp) == EOF ? -1 : 0;
}

int
aexec_open(struct agentd *ag)
{
	char dir[PATH_MAX], sock[PATH_MAX + 8], err[256];

	if (exec_dir(ag, dir, sizeof(dir)) == -1) {
		log_warn("executors' socket directory");
		return -1;
	}
	strfmt(sock, sizeof(sock), "%s/%s", dir, EXEC_SOCKET);
	strfmt(ag->exec_endpoint, sizeof(ag->exec_endpoint), "ipc://%s", sock);
	if (agent_exec_open(ag->set, ag->exec_endpoint, err) == -1) {
		log_warnx("executors' socket %s: %s", sock, err);
		return -1;
	}
	/* executors run as their tasks' users; their secret proves them */
	if (chmod(sock, 0666) == -1)
		log_warn("%s", sock);
	return 0;
}

/* Write E's checkpoint, executor.json in its directory. */
static int
exec_save(struct agent_executor *e)
{
	char path[PATH_MAX + 32];
	json_t *j;
	int r;

	strfmt(path, sizeof(path), "%s/executor.json", PROC(e)->dir);
	j = json_pack("{s:O,s:s}", "executor", e->info, "secret", e->secret);
	r = json_dump_file(j, path, JSON_COMPACT);
	json_decref(j);
	return r;
}

/* E's launcher state, in its directory; NULL out of memory. */
static struct atask *
exec_proc(struct agentd *ag, struct agent_executor *e)
{
	struct atask *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->executor = e;
	strlcpy(x->base.id, e->id, sizeof(x->base.id));
	strlcpy(x->base.framework_id, e->framework_id,
	    sizeof(x->base.framework_id));
	x->base.agent = e->agent;
	strfmt(x->dir, sizeof(x->dir), "%s/%s/%s/%s", ag->work_dir,
	    AGENTD_EXECUTORS, e->framework_id, e->id);
	e->proc = x;
	return x;
}

int
aexec_start(void *arg, struct agent_executor *e, char *why)
{
	static char *argv[EXEC_ARGS_MAX], store[EXEC_ARGS_SPACE];
	struct agentd *ag = arg;
	char path[PATH_MAX + 32];
	struct atask *x;
	json_t *env;

	if ((x = exec_proc(ag, e)) == NULL) {
		snprintf(why, 256, "out of memory");
		return -1;
	}
	journal_executor(ag, e);
	/* what the launcher reads of a task, with the executor's env */
	x->base.info = json_deep_copy(e->info);
	env = json_object_get(x->base.info, "env");
	if (!json_is_object(env)) {
		env = json_object();
		json_object_set_new(x->base.info, "env", env);
	}
	json_object_set_new(env, PROTO_EXECUTOR_ENV_ENDPOINT,
	    json_string(ag->exec_endpoint));
	json_object_set_new(env, PROTO_EXECUTOR_ENV_SECRET,
	    json_string(e->secret));
	json_object_set_new(env, PROTO_EXECUTOR_ENV_ID, json_string(e->id));
	if (mkdirs(x->dir, 0750, 0750) == -1) {
		snprintf(why, 256, "executor dir: %s", strerror(errno));
		return -1;
	}
	strfmt(path, sizeof(path), "%s/status.json", x->dir);
	unlink(path);
	strfmt(path, sizeof(path), "%s/launcher.pid", x->dir);
	unlink(path);
	if (exec_save(e) == -1) {
		snprintf(why, 256, "executor checkpoint: %s", strerror(errno));
		return -1;
	}
	if (user_of_task(ag, x, why, 256) == -1 ||
	    user_sandbox(ag, x, path, sizeof(path), why, 256) == -1 ||
	    task_launcher_argv(ag, x, argv, EXEC_ARGS_MAX, store,
	    sizeof(store), why, 256) == -1)
		return -1;
	strfmt(path, sizeof(path), "%s/launcher.log", x->dir);
	return launch_start(ag, x, argv, path, why, 256);
}

void
aexec_kill(void *arg, struct agent_executor *e, int force)
{
	struct atask *x = PROC(e);

	(void)arg;
	(void)force;		/* the launcher's grace, then its SIGKILL */
	if (x == NULL)
		return;
	x->kill_wanted = 1;
	if (x->pid > 0 && x->kill_sent == 0) {
		kill(x->pid, SIGTERM);
		x->kill_sent = now_ms();
	}
}

void
aexec_free(void *arg, struct agent_executor *e)
{
	struct atask *x = PROC(e);
	char path[PATH_MAX + 32];

	(void)arg;
	if (x == NULL)
		return;
	/* ended, or never started: a restart must not recover it */
	if (x->pid == 0) {
		strfmt(path, sizeof(path), "%s/executor.json", x->dir);
		unlink(path);
	}
	journal_executor_gone(e, x->pid == 0);
	launch_forget(x);
	json_decref(x->base.info);
	free(x);
	e->proc = NULL;
}

int
aexec_resize(void *arg, struct agent_executor *e, const struct res *limits,
    int64_t gen, char *why)
{
	struct agentd *ag = arg;
	struct atask *x = PROC(e);
	char id[2 * AGENT_ID_LEN], cpus[TASK_LIMIT_LEN], mem[TASK_LIMIT_LEN];
	struct res r;

	if (x == NULL) {
		snprintf(why, 256, "its launcher has gone");
		return -1;
	}
	/* reserved or not, cpus are cpus: the limits count them all */
	if (res_collapse(limits, &r) == -1) {
		snprintf(why, 256, "out of memory");
		return -1;
	}
	task_limits(&r, cpus, mem, sizeof(cpus));
	res_free(&r);
	log_info("executor %s of %s: resize to cpus %s, mem %s MB", e->id,
	    e->framework_id, cpus, mem);
	return launch_resize(ag, x, task_launch_id(ag, x, id, sizeof(id)),
	    cpus, mem, gen, why, 256);
}

void
aexec_resized(struct atask *x, int64_t gen, const char *why)
{
	if (x->executor != NULL)
		agent_exec_resized(x->executor, gen, why);
}

/* How executor E's launcher ended, from its status file or STATUS. */
static void
exec_ended(struct agent_executor *e, int status)
{
	char path[PATH_MAX + 32], how[128];
	json_t *res;
	const char *st;

	strfmt(path, sizeof(path), "%s/status.json", PROC(e)->dir);
	res = json_load_file(path, 0, NULL);
	st = rec_str(res, "state");
	if (st != NULL && strcmp(st, "signaled") == 0)
		snprintf(how, sizeof(how), "was killed by signal %lld%s",
		    (long long)rec_int_or(res, "signal", 0),
		    rec_bool_or(res, "oom", 0) ? " (memory limit)" : "");
	else if (st != NULL && strcmp(st, "failed") == 0)
		snprintf(how, sizeof(how), "could not start: %.80s",
		    rec_str(res, "reason") ? rec_str(res, "reason") : "?");
	else if (st != NULL)
		snprintf(how, sizeof(how), "exited with status %lld",
		    (long long)rec_int_or(res, "exit_code", -1));
	else if (status != -1 && WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	else if (status != -1)
		snprintf(how, sizeof(how), "was killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "ended while agentd was down");
	json_decref(res);
	PROC(e)->pid = 0;
	agent_exec_exited(e, status == -1 && st == NULL, how);
}

int
aexec_reaped(struct agentd *ag, pid_t pid, int status)
{
	struct agent_executor *e;
	size_t pos = 0;

	while ((e = agent_exec_next(ag->set, &pos)) != NULL)
		if (PROC(e) != NULL && PROC(e)->pid == pid &&
		    !PROC(e)->adopted) {
			exec_ended(e, status);
			return 1;
		}
	return 0;
}

void
aexec_tick(struct agentd *ag)
{
	struct agent_executor *e;
	struct atask *x;
	int64_t now = now_ms();
	size_t pos = 0;

	while ((e = agent_exec_next(ag->set, &pos)) != NULL) {
		if ((x = PROC(e)) == NULL)
			continue;
		if (x->adopted && x->pid > 0 &&
		    proc_start(x->pid) != x->pid_start) {
			exec_ended(e, -1);
			pos = 0;	/* the map changed */
			continue;
		}
		if (x->pid > 0 && x->kill_sent &&
		    now - x->kill_sent > ag->grace_ms + EXEC_KILL_ESCALATE_MS)
			kill(x->pid, SIGKILL);
	}
}

void
aexec_server_gone(struct agentd *ag)
{
	struct agent_executor *e;
	size_t pos = 0;

	while ((e = agent_exec_next(ag->set, &pos)) != NULL)
		if (PROC(e) != NULL && PROC(e)->served && PROC(e)->pid > 0)
			PROC(e)->adopted = 1;
}

void
aexec_shutdown_all(struct agentd *ag)
{
	struct agent_executor *e;
	size_t pos = 0;

	while ((e = agent_exec_next(ag->set, &pos)) != NULL)
		agent_exec_shutdown(e, "agentd stops with -k");
}

/* Load executor directory DIR (FW/EXECUTOR) left by an earlier run. */
static void
recover_one(struct agentd *ag, const char *fw, const char *id,
    const char *dir)
{
	char path[PATH_MAX + 32];
	struct agent_executor *e;
	struct atask *x;
	unsigned long long start = 0;
	json_t *j;
	FILE *fp;
	int pid = 0;

	strfmt(path, sizeof(path), "%s/executor.json", dir);
	if ((j = json_load_file(path, 0, NULL)) == NULL)
		return;
	if (rec_str(j, "secret") == NULL ||
	    !json_is_object(json_object_get(j, "executor")) ||
	    (e = agent_exec_insert(&ag->set->agents[0], fw, id,
	    json_incref(json_object_get(j, "executor")),
	    rec_str(j, "secret"))) == NULL) {
		json_decref(j);
		return;
	}
	json_decref(j);
	if ((x = exec_proc(ag, e)) == NULL)
		return;
	journal_executor(ag, e);
	strfmt(path, sizeof(path), "%s/launcher.pid", dir);
	if ((fp = fopen(path, "re")) != NULL) {
		if (fscanf(fp, "%d %llu", &pid, &start) != 2)
			pid = 0;
		fclose(fp);
	}
	x->adopted = 1;
	if (pid > 0 && start != 0 && proc_start(pid) == start) {
		x->pid = pid;
		x->pid_start = start;
		log_info("recovered executor %s of %s: still running "
		    "(launcher %d)", id, fw, pid);
	} else
		log_info("recovered executor %s of %s: ended while we were "
		    "down", id, fw);
}

/* An executor's directory, then its tasks, whether it ran on or not. */
static void
recover_dir(struct agentd *ag, const char *fw, const char *id,
    const char *dir)
{
	recover_one(ag, fw, id, dir);
	journal_recover(ag, fw, id);
}

void
aexec_recover(struct agentd *ag)
{
	work_walk(ag, AGENTD_EXECUTORS, recover_dir);
}

void
aexec_recover_done(struct agentd *ag)
{
	struct agent_executor *e;
	size_t pos = 0;

	while ((e = agent_exec_next(ag->set, &pos)) != NULL)
		if (PROC(e) != NULL && PROC(e)->pid == 0) {
			exec_ended(e, -1);
			pos = 0;
		}
}
