/*
 * batch-executor: the executor of `batch --executor` (executor(3)).  One
 * long-lived process per framework and agent; each task it is given runs
 * its "data" under `sh -c` as a child process of its own (tasks run side
 * by side, as command tasks do), and ends TASK_FINISHED when the command
 * exits 0, TASK_FAILED otherwise, TASK_KILLED when killed.  See README.md.
 */
#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "example.h"
#include "executor.h"
#include "exits.h"
#include "proto.h"

#define MAX_RUNNING	1024	/* tasks running at once in one executor */
#define REAP_MS		20	/* how often ended tasks are looked for */

/* A running task: its process (a group of its own) and id. */
struct run {
	pid_t	 pid;
	int	 killed;
	char	*tid;
};

static struct run running[MAX_RUNNING];
static int nrunning;

/* Report task TID's end STATE with REASON. */
static void
report(struct executor *e, const char *tid, const char *state,
    const char *reason)
{
	executor_update(e, tid, state, json_pack("{s:s}", "reason", reason));
}

/* Start task TID running CMD under sh -c, or report it failed. */
static void
start(struct executor *e, const char *tid, const char *cmd)
{
	pid_t pid;

	if (nrunning == MAX_RUNNING) {
		report(e, tid, TASK_FAILED, "too many tasks in the executor");
		return;
	}
	if ((pid = fork()) == -1) {
		report(e, tid, TASK_FAILED, "fork failed");
		return;
	}
	if (pid == 0) {
		setpgid(0, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	running[nrunning].pid = pid;
	running[nrunning].killed = 0;
	if ((running[nrunning].tid = strdup(tid)) == NULL)
		err(EXIT_SYSTEM, "strdup");
	nrunning++;
	executor_update(e, tid, TASK_RUNNING, NULL);
}

/* Kill the process group of task TID, if it runs here. */
static void
kill_task(struct executor *e, const char *tid)
{
	int i;

	for (i = 0; i < nrunning; i++)
		if (strcmp(running[i].tid, tid) == 0) {
			running[i].killed = 1;
			kill(-running[i].pid, SIGKILL);
			return;
		}
	report(e, tid, TASK_KILLED, "not running");	/* already ended */
}

/* Report every task whose process ended; with WAIT, wait for them all. */
static void
reap(struct executor *e, int wait)
{
	char why[64];
	pid_t pid;
	int st, i;

	while (nrunning > 0 && (pid = waitpid(-1, &st, wait ? 0 : WNOHANG)) > 0) {
		for (i = 0; i < nrunning && running[i].pid != pid; i++)
			;
		if (i == nrunning)
			continue;
		if (WIFEXITED(st))
			snprintf(why, sizeof(why), "exit status %d",
			    WEXITSTATUS(st));
		else
			snprintf(why, sizeof(why), "signal %d", WTERMSIG(st));
		report(e, running[i].tid, running[i].killed ? TASK_KILLED :
		    WIFEXITED(st) && WEXITSTATUS(st) == 0 ? TASK_FINISHED :
		    TASK_FAILED, why);
		free(running[i].tid);
		running[i] = running[--nrunning];
	}
}

/* Handle one event REC; returns 1 on SHUTDOWN. */
static int
handle(struct executor *e, json_t *rec)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	json_t *task = json_object_get(rec, "task");
	const char *tid = json_string_value(json_object_get(task, "task_id"));
	const char *data = json_string_value(json_object_get(task, "data"));

	if (type == NULL)
		return 0;
	if (strcmp(type, "LAUNCH_TASK") == 0 && tid != NULL)
		start(e, tid, data != NULL ? data : "true");
	else if (strcmp(type, "KILL_TASK") == 0 &&
	    (tid = json_string_value(json_object_get(rec, "task_id"))) != NULL)
		kill_task(e, tid);
	else if (strcmp(type, "SHUTDOWN") == 0)
		return 1;
	return 0;
}

int
main(int argc, char *argv[])
{
	char why[EXECUTOR_ERRLEN];
	struct executor *e;
	json_t *rec;
	int i, r, stop = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: batch-executor (agentd runs it)\n");
		return EXIT_USAGE;
	}
	if ((e = executor_create(why)) == NULL)
		errx(EXIT_SYSTEM, "%s", why);
	while (!stop) {
		r = executor_next(e, nrunning > 0 ? REAP_MS : -1, &rec, why);
		if (r == -1)
			errx(EXIT_SYSTEM, "%s", why);
		if (r == 1) {
			stop = handle(e, rec);
			json_decref(rec);
		}
		reap(e, 0);
	}
	for (i = 0; i < nrunning; i++) {
		running[i].killed = 1;
		kill(-running[i].pid, SIGKILL);
	}
	reap(e, 1);
	/* let the last updates be acknowledged, for a while */
	while (!executor_quiet(e) && executor_next(e, 1000, &rec, why) == 1)
		json_decref(rec);
	executor_destroy(e);
	return 0;
}
