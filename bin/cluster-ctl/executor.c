/*
 * executor: the JSON-lines executor bridge on executor(3), so that an
 * executor can be a script.  Records from agentd (EXECUTOR_REGISTERED,
 * LAUNCH_TASK, KILL_TASK, FRAMEWORK_MESSAGE, SHUTDOWN) go out as JSON
 * lines; STATUS and FRAMEWORK_MESSAGE lines on stdin go to agentd.
 */
#include <err.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "executor.h"
#include "exits.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "util.h"

#define QUIET_WAIT_MS	5000	/* at the end of stdin: for the last acks */

/* One line of the script's: a STATUS or a FRAMEWORK_MESSAGE. */
static void
executor_take(void *arg, json_t *rec)
{
	struct executor *e = arg;
	const char *type = rec_type(rec);
	json_t *extra;

	if (strcmp(type, R_STATUS) == 0) {
		extra = json_deep_copy(rec);
		json_object_del(extra, "type");
		json_object_del(extra, "task_id");
		json_object_del(extra, "state");
		if (executor_update(e, rec_str(rec, "task_id"),
		    rec_str(rec, "state"), extra) == -1)
			warnx("stdin: STATUS needs a valid task_id and state");
	} else if (strcmp(type, R_FRAMEWORK_MESSAGE) == 0) {
		if (executor_message(e, rec_str(rec, "data")) == -1)
			warnx("stdin: FRAMEWORK_MESSAGE needs data of at most "
			    "%d bytes", PROTO_MESSAGE_MAX);
	} else
		warnx("stdin: an executor sends STATUS or FRAMEWORK_MESSAGE, "
		    "not '%s'", type);
}

/*
 * executor: run as an executor by agentd, with the executor's script
 * reading our stdout and writing our stdin.  Ends at the end of stdin
 * (once the updates are acknowledged, for a while), or when agentd
 * refuses the executor (exit 1).
 */
int
cmd_executor(int argc, char **argv)
{
	char why[EXECUTOR_ERRLEN];
	struct lines in = { 0 };
	struct executor *e;
	json_t *rec;
	int in_open = 1, r, code = 0;
	int64_t until;

	optind = 1;
	if (next_opt(argc, argv, "", NULL) != -1 || optind != argc)
		return bad_usage();
	if ((e = executor_create(why)) == NULL)
		errx(1, "%s", why);
	catch_signals();
	signal(SIGPIPE, SIG_IGN);
	while (!got_signal && in_open) {
		struct pollfd pfd[2] = {
			{ .fd = executor_fd(e), .events = POLLIN },
			{ .fd = 0, .events = POLLIN },
		};

		if (poll(pfd, 2, PROTO_EXECUTOR_HEARTBEAT_MS) == -1 &&
		    errno != EINTR)
			err(EXIT_SYSTEM, "poll");
		while ((r = executor_next(e, 0, &rec, why)) == 1) {
			if (rec_print(stdout, rec) == -1 || fflush(stdout) == EOF)
				in_open = 0;
			json_decref(rec);
		}
		if (r == -1) {
			warnx("%s", why);
			code = 1;
			break;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP))
			in_open = lines_read(&in, executor_take, e);
	}
	until = now_ms() + QUIET_WAIT_MS;
	while (code == 0 && !executor_quiet(e) && now_ms() < until)
		if (executor_next(e, 100, &rec, why) == 1)
			json_decref(rec);
	executor_destroy(e);
	free(in.ib);
	return code ? code : in.code;
}
