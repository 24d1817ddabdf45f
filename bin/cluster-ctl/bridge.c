/*
 * subscribe: the JSON-lines scheduler bridge on sched(3).  Records from
 * the master go out as JSON lines; JSON lines on stdin go to it.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "elect.h"
#include "exits.h"
#include "net.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "res.h"
#include "scheduler.h"
#include "util.h"

/* The scheduler bridge: what its callbacks tell its loop. */
struct bridge {
	struct lines	 in;		/* stdin, and the exit status so far */
	int		 stop;		/* stdout is gone, or the socket */
	int		 refused;	/* the master refused the SUBSCRIBE */
	char		 why[SCHED_ERRLEN];
};

/* Every record from the master goes out as a JSON line. */
static void
bridge_record(struct sched *s, void *ctx, const json_t *rec)
{
	struct bridge *b = ctx;

	(void)s;
	if (rec_print(stdout, rec) == -1)
		b->stop = 1;
}

/* Offers are the script's to answer: the library must not decline them. */
static void
bridge_offer(struct sched *s, void *ctx, const struct sched_offer *o)
{
	(void)s;
	(void)ctx;
	(void)o;
}

/* An ERROR was printed already; one refusing our SUBSCRIBE ends us. */
static void
bridge_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct bridge *b = ctx;

	if (e->code == NULL) {		/* the library's own: the socket */
		warnx("%s", e->message);
		return;
	}
	if ((!sched_subscribed(s) && e->about != NULL &&
	    strcmp(e->about, R_SUBSCRIBE) == 0) ||
	    strcmp(e->code, E_UNAUTHENTICATED) == 0) {
		b->refused = b->stop = 1;
		strlcpy(b->why, e->message, sizeof(b->why));
	}
}

int
lines_read(struct lines *in, void (*take)(void *, json_t *), void *arg)
{
	ssize_t got;
	char *start, *nl, e[REC_ERRLEN];
	int open = 1;
	json_t *rec;

	if (in->ib == NULL && (in->ib = malloc(REC_MAX_SIZE + 2)) == NULL)
		err(EXIT_SYSTEM, "malloc");
	start = in->ib;
	got = read(0, in->ib + in->ilen, REC_MAX_SIZE + 1 - in->ilen);
	if (got == -1 && errno == EINTR)
		return 1;
	if (got <= 0) {
		open = 0;
		if (in->ilen > 0)	/* a last line without newline */
			in->ib[in->ilen++] = '\n';
	} else
		in->ilen += got;
	while ((nl = memchr(start, '\n', in->ilen - (start - in->ib))) != NULL) {
		*nl = '\0';
		if (*start != '\0' && (rec = rec_from_json(start, e)) == NULL) {
			warnx("stdin: %s", e);
			in->code = 1;
		} else if (*start != '\0') {
			take(arg, rec);
			json_decref(rec);
		}
		start = nl + 1;
	}
	in->ilen -= start - in->ib;
	memmove(in->ib, start, in->ilen);
	if (in->ilen > REC_MAX_SIZE) {
		warnx("stdin: a line longer than %d bytes", REC_MAX_SIZE);
		in->code = 1;
		in->ilen = 0;
	}
	return open;
}

/* A line of the scheduler's: a call to the master. */
static void
bridge_take(void *arg, json_t *rec)
{
	sched_call(arg, rec);
}

/*
 * subscribe: the scheduler bridge, a framework of sched(3) whose
 * scheduler is a script.  Every record from the master goes out as a JSON
 * line on stdout; every JSON line read on stdin goes to the master as a
 * call, with framework_id filled in.  The library subscribes (again
 * after a master restart or a new leader), heartbeats and, unless -A,
 * acknowledges updates.  EOF on stdin tears the framework down.
 */
int
cmd_subscribe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "manual-ack", no_argument, NULL, 'A' },
		{ "attributes", required_argument, NULL, 'a' },
		{ "failover", required_argument, NULL, 'F' },
		{ "framework-id", required_argument, NULL, 'i' },
		{ "min", required_argument, NULL, 'M' },
		{ "name", required_argument, NULL, 'N' },
		{ "optimistic", no_argument, NULL, 'O' },
		{ "role", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct sched_opts o = { .name = "bridge", .role = "*" };
	const struct sched_callbacks cb = { .record = bridge_record,
	    .offer = bridge_offer, .error = bridge_error };
	struct bridge b = { 0 };
	char e[REC_ERRLEN];
	int ch, in_open = 1, failed = 0;
	struct sched *s;
	struct res tmp;

	optind = 1;
	while ((ch = next_opt(argc, argv, "a:F:i:N:Or:", longopts)) != -1) {
		switch (ch) {
		case 'A':
			o.manual_ack = 1;
			break;
		case 'a':
			if (attr_check(optarg, e) == -1)
				errx(EXIT_USAGE, "attributes '%s': %s", optarg, e);
			o.filter_attributes = optarg;
			break;
		case 'F':
			o.failover_timeout = duration_arg("failover",
			    optarg) / 1000.0;
			break;
		case 'i':
			if (!id_valid(optarg))
				errx(EXIT_USAGE, "framework id '%s' is not valid",
				    optarg);
			o.framework_id = optarg;
			break;
		case 'M':
			if (res_parse(optarg, &tmp, e) == -1)
				errx(EXIT_USAGE, "min '%s': %s", optarg, e);
			res_free(&tmp);
			o.filter_min = optarg;
			break;
		case 'N':
			o.name = optarg;
			break;
		case 'O':
			o.optimistic = 1;
			break;
		case 'r':
			o.role = optarg;
			break;
		default:
			return bad_usage();
		}
	}
	if (optind != argc)
		return bad_usage();
	catch_signals();
	signal(SIGPIPE, SIG_IGN);
	s = connect_framework(&o, &cb, &b);
	while (!got_signal && !b.stop) {
		struct pollfd pfd[2] = {
			{ .fd = sched_fd(s), .events = POLLIN },
			{ .fd = in_open ? 0 : -1, .events = POLLIN },
		};
		int wait = sched_timeout(s);

		/* what stdin held is sent once we are subscribed */
		if (!in_open && sched_subscribed(s))
			break;
		if (poll(pfd, 2, wait < POLL_MS ? wait : POLL_MS) == -1 &&
		    errno != EINTR)
			err(EXIT_SYSTEM, "poll");
		if (sched_dispatch(s) == -1) {
			failed = !b.stop;
			break;
		}
		if (in_open && (pfd[1].revents & (POLLIN | POLLHUP)))
			in_open = lines_read(&b.in, bridge_take, s);
	}
	if (b.refused)
		errx(1, "subscribe refused: %s", b.why);
	if (sched_subscribed(s) && o.failover_timeout == 0)
		sched_teardown(s);
	sched_destroy(s);
	free(b.in.ib);
	return failed ? EXIT_SYSTEM : b.in.code;
}
