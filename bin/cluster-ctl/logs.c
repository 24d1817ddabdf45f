/*
 * A task's output from wherever it runs, through the master (LOGS and
 * LOGS_DATA in cluster-protocol(7)): the reader that logs and run share,
 * and the logs command.  Each answer carries at most PROTO_LOGS_MAX bytes;
 * a reader that has caught up asks again every TAIL_IDLE_MS at most.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "ctl.h"
#include "exits.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "util.h"

#define TAIL_IDLE_MS	250	/* caught up: ask again this much later */
#define TAIL_RESEND_MS	2000	/* no answer: the request is sent again */

static const char *streams[2] = { "stdout", "stderr" };

void
tail_init(struct tail *t, const char *fw, const char *task, int which)
{
	memset(t, 0, sizeof(*t));
	strlcpy(t->fw, fw, sizeof(t->fw));
	strlcpy(t->task, task, sizeof(t->task));
	t->want[0] = which != TAIL_STDERR;
	t->want[1] = which != TAIL_STDOUT;
	t->n = connect_master();
}

void
tail_close(struct tail *t)
{
	if (t->n != NULL)
		net_close(t->n);
	t->n = NULL;
}

int
tail_done(const struct tail *t)
{
	return (!t->want[0] || t->eof[0]) && (!t->want[1] || t->eof[1]);
}

/* Ask for what follows in the stream S. */
static void
tail_ask(struct tail *t, int s)
{
	json_t *q = rec_new(R_LOGS);

	rec_set_str(q, "framework_id", t->fw);
	rec_set_str(q, "task_id", t->task);
	rec_set_str(q, "stream", streams[s]);
	rec_set_int(q, "offset", t->off[s]);
	rec_set_int(q, "max", PROTO_LOGS_MAX);
	/* not connected yet: the resend takes it */
	(void)net_send(t->n, NULL, q);
	json_decref(q);
	t->busy = 1;
	t->asked = s;
	t->sent = now_ms();
}

/* Take the answer R for stream S: write its bytes, move on. */
static int
tail_take(struct tail *t, int s, const json_t *r)
{
	const char *b64 = rec_str(r, "data");
	unsigned char *buf;
	size_t len = 0, cap;
	int64_t size;

	if (rec_str(r, "error") != NULL) {
		/* this stream cannot be read (a launcher that writes none):
		 * the other goes on; the caller says why at the end */
		snprintf(t->err, sizeof(t->err), "%s", rec_str(r, "error"));
		t->eof[s] = 1;
		return 1;
	}
	cap = b64 != NULL ? strlen(b64) : 0;
	if (cap > 0) {
		if ((buf = malloc(cap)) == NULL ||
		    sodium_base642bin(buf, cap, b64, cap, NULL, &len, NULL,
		    sodium_base64_VARIANT_ORIGINAL) == -1) {
			free(buf);
			snprintf(t->err, sizeof(t->err), "the agent's answer "
			    "is not base64");
			return -1;
		}
		if (write(s == 0 ? STDOUT_FILENO : STDERR_FILENO, buf, len) ==
		    -1 && errno == EPIPE)
			t->eof[0] = t->eof[1] = 1;
		free(buf);
	}
	t->off[s] += len;
	size = rec_int_or(r, "size", 0);
	if (rec_bool_or(r, "eof", 0))
		t->eof[s] = 1;
	/* caught up with what there is now */
	t->idle[s] = t->off[s] >= size ? now_ms() + TAIL_IDLE_MS : 0;
	return 1;
}

int
tail_step(struct tail *t, int wait_ms)
{
	int64_t now = now_ms();
	char e[REC_ERRLEN];
	json_t *r;
	int s, got = 0;

	if (!t->busy || now - t->sent > TAIL_RESEND_MS) {
		for (s = 0; s < 2; s++) {
			int k = (t->asked + 1 + s) % 2;

			if (t->want[k] && !t->eof[k] && now >= t->idle[k]) {
				tail_ask(t, k);
				break;
			}
		}
	}
	if (wait_ms > 0)
		net_wait(t->n, wait_ms);
	while (net_recv(t->n, &r, NULL, e) == 1) {
		if (strcmp(rec_type(r), R_ERROR) == 0) {
			snprintf(t->err, sizeof(t->err), "master: %s",
			    rec_str(r, "message") ? rec_str(r, "message") : "?");
			json_decref(r);
			return -1;
		}
		s = rec_str(r, "stream") != NULL &&
		    strcmp(rec_str(r, "stream"), "stderr") == 0;
		if (strcmp(rec_type(r), R_LOGS_DATA) == 0 && t->busy &&
		    s == t->asked && rec_int_or(r, "offset", -1) == t->off[s]) {
			t->busy = 0;
			if (tail_take(t, s, r) == -1) {
				json_decref(r);
				return -1;
			}
			got = 1;
		}
		json_decref(r);
	}
	return got;
}

/*
 * The framework of task TASK, from the master's task list, into FW (64
 * bytes); exits 1 when no task or more than one has that id.
 */
static void
task_framework(const char *task, char *fw)
{
	struct net *n = connect_master();
	json_t *q = rec_new(R_QUERY), *st, *it;
	size_t i, found = 0;

	rec_set_str(q, "what", "tasks");
	st = request(n, q, R_STATE);
	json_array_foreach(json_object_get(st, "items"), i, it)
		if (rec_str(it, "task_id") != NULL &&
		    strcmp(rec_str(it, "task_id"), task) == 0 &&
		    rec_str(it, "framework_id") != NULL) {
			if (found++ > 0 && strcmp(fw, rec_str(it,
			    "framework_id")) != 0)
				errx(1, "task %s is in more than one framework: "
				    "name one with -F", task);
			strlcpy(fw, rec_str(it, "framework_id"), 64);
		}
	if (found == 0)
		errx(1, "no task %s (ended tasks are listed for an hour)", task);
	json_decref(q);
	json_decref(st);
	net_close(n);
}

/*
 * logs: a task's stdout (to our stdout) and stderr (to our stderr), as
 * far as they go; with -f, followed until the task has ended.
 */
int
cmd_logs(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "framework", required_argument, NULL, 'F' },
		{ "follow", no_argument, NULL, 'f' },
		{ "stream", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	char fw[64] = "";
	int ch, follow = 0, which = TAIL_BOTH;
	int64_t deadline;
	struct tail t;

	optind = 1;
	while ((ch = next_opt(argc, argv, "f", longopts)) != -1) {
		switch (ch) {
		case 'f':
			follow = 1;
			break;
		case 'F':
			if (!id_valid(optarg))
				errx(EXIT_USAGE, "--framework '%s': not a framework id",
				    optarg);
			strlcpy(fw, optarg, sizeof(fw));
			break;
		case 'S':
			if (strcmp(optarg, "stdout") == 0)
				which = TAIL_STDOUT;
			else if (strcmp(optarg, "stderr") == 0)
				which = TAIL_STDERR;
			else
				errx(EXIT_USAGE, "--stream '%s': stdout or stderr",
				    optarg);
			break;
		default:
			return bad_usage();
		}
	}
	if (argc - optind != 1 || !id_valid(argv[optind])) {
		if (argc - optind == 1)
			warnx("'%s' is not a task id", argv[optind]);
		return bad_usage();
	}
	if (fw[0] == '\0')
		task_framework(argv[optind], fw);
	catch_signals();
	tail_init(&t, fw, argv[optind], which);
	deadline = now_ms() + (opt_timeout_ms < 0 ? QUERY_TIMEOUT_MS :
	    opt_timeout_ms);
	while (!tail_done(&t) && !got_signal) {
		switch (tail_step(&t, POLL_MS)) {
		case -1:
			errx(1, "%s", t.err);
		case 1:
			deadline = now_ms() + (opt_timeout_ms < 0 ?
			    QUERY_TIMEOUT_MS : opt_timeout_ms);
			break;
		default:
			if (!follow && now_ms() > deadline)
				errx(EXIT_SYSTEM, "no answer about task %s",
				    t.task);
		}
		/* without -f: stop once caught up with both */
		if (!follow && !t.busy && (!t.want[0] || t.eof[0] ||
		    t.idle[0] > 0) && (!t.want[1] || t.eof[1] || t.idle[1] > 0))
			break;
	}
	tail_close(&t);
	if (got_signal)
		return 128 + got_signal;
	if (t.err[0] != '\0') {
		warnx("%s", t.err);
		return 1;
	}
	return 0;
}
