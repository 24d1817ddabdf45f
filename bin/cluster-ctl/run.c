/*
 * run: one command as one task of a framework of its own, its exit
 * status the task's.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

/* cluster-ctl run: its one task, and how far it got. */
struct run {
	const char	*name;
	char		 task_id[64];
	char		 want[1024];	/* the task's resources, formatted */
	struct res	 need;		/* the same, parsed */
	json_t		*argv, *env;
	int		 launched;
	int		 done;		/* a terminal update, or no launch */
	int		 code;		/* the exit status, unless the task's */
	int64_t		 start, deadline, kill_sent;
	enum { W_SUBSCRIPTION, W_OFFER, W_START, W_NOTHING } waits;
	int64_t		 since;		/* it waits for that since then */
	int		 warned;	/* it said so */
	int		 declined;	/* offers too small so far */
	char		 agent[64];	/* where it was launched */
	json_t		*last;		/* the latest update of the task */
	int		 quiet;		/* -q: its output is not shown */
	const char	*user;		/* -u */
	struct tail	 out;		/* its output, once it runs */
	int		 reading;
	int		 verbose;	/* -v: trace each step on stderr */
	struct net	*fitq;		/* asking whether an agent could hold it */
	json_t		*fitrec;	/* the question */
	const char	*attrs;		/* -a */
	int64_t		 fit_resend;
	int64_t		 answer_ms;	/* -t, or QUERY_TIMEOUT_MS: the master's */
	struct timespec	 t0;		/* when run began, for the trace */
};

/*
 * With -v, say on stderr what run just did or got, after how many
 * milliseconds (monotonic, to the tenth) since it began.
 */
static void __attribute__((format(printf, 2, 3)))
trace(const struct run *r, const char *fmt, ...)
{
	struct timespec t;
	va_list ap;

	if (!r->verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	fprintf(stderr, "run: %8.1f ms ", (t.tv_sec - r->t0.tv_sec) * 1e3 +
	    (t.tv_nsec - r->t0.tv_nsec) / 1e6);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* With -v, every record from the master is traced. */
static void
run_record(struct sched *s, void *ctx, const json_t *rec)
{
	const char *state = rec_str(rec, "state");

	(void)s;
	trace(ctx, "<- %s%s%s", rec_type(rec), state ? " " : "",
	    state ? state : "");
}

/* R waits for WHAT from now on: it may say so again. */
static void
run_waits(struct run *r, int what)
{
	r->waits = what;
	r->since = now_ms();
	r->warned = 0;
}

/* Once subscribed, R waits for an offer: say so with -v. */
static void
run_subscribed(struct sched *s, struct run *r)
{
	if (r->waits != W_SUBSCRIPTION || !sched_subscribed(s))
		return;
	trace(r, "subscribed as framework %s: waiting for an offer of %s",
	    sched_framework_id(s), r->want);
	run_waits(r, W_OFFER);
}

/* The exit status that tells a script how the task of STATUS ended. */
static int
exit_status_of(const json_t *st)
{
	const char *state = rec_str(st, "state");
	int64_t v;

	if (rec_int(st, "exit_code", &v) == 0 && v >= 0 && v < 256 &&
	    strcmp(state, TASK_KILLED) != 0)
		return (int)v;
	if (rec_int(st, "signal", &v) == 0 && v > 0 && v < 128)
		return 128 + (int)v;
	if (strcmp(state, TASK_KILLED) == 0)
		return 128 + SIGKILL;
	if (strcmp(state, TASK_FINISHED) == 0)
		return 0;
	return EX_NOLAUNCH;
}

/* The first offer that holds the task launches it; the rest go back. */
static void
run_offer(struct sched *s, void *ctx, const struct sched_offer *o)
{
	struct run *r = ctx;
	json_t *tasks;

	run_subscribed(s, r);
	if (r->launched || r->kill_sent || !res_contains(o->res, &r->need)) {
		if (!r->launched && !r->kill_sent) {
			r->declined++;
			trace(r, "declined an offer of %s from agent %s: too "
			    "small", o->resources, o->agent_id);
		}
		sched_decline(s, o->offer_id, r->launched ? LAUNCHED_DECLINE_S :
		    DECLINE_S);
		return;
	}
	tasks = json_pack("[{s:s,s:s,s:s,s:O,s:O}]", "task_id", r->task_id,
	    "name", r->name, "resources", r->want, "argv", r->argv, "env",
	    r->env);
	if (r->user != NULL)
		rec_set_str(json_array_get(tasks, 0), "user", r->user);
	sched_accept(s, o->offer_id, tasks, -1);
	json_decref(tasks);
	r->launched = 1;
	strlcpy(r->agent, o->agent_id, sizeof(r->agent));
	trace(r, "-> ACCEPT of offer %s on agent %s (%s): launching task %s",
	    o->offer_id, o->agent_id, o->hostname, r->task_id);
	run_waits(r, W_START);
}

/* Say where the task runs; its terminal update ends the run. */
static void
run_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	struct run *r = ctx;

	if (strcmp(st->state, TASK_RUNNING) == 0 && r->last == NULL)
		fprintf(stderr, "task %s running on %s sandbox %s\n", r->task_id,
		    st->agent_id ? st->agent_id : "?",
		    st->sandbox ? st->sandbox : "?");
	if (!r->quiet && !r->reading && (strcmp(st->state, TASK_RUNNING) ==
	    0 || st->terminal) && st->agent_id != NULL) {
		tail_init(&r->out, sched_framework_id(s), r->task_id, TAIL_BOTH);
		r->reading = 1;
	}
	if (strcmp(st->state, TASK_RUNNING) == 0 || st->terminal)
		run_waits(r, W_NOTHING);
	if (strcmp(st->state, TASK_RUNNING) == 0 || st->terminal) {
		json_decref(r->last);
		r->last = json_incref((json_t *)st->rec);
	}
	fflush(stderr);
	if (st->terminal) {
		r->done = 1;
		sched_teardown(s);
		trace(r, "-> TEARDOWN");
	}
}

/* Errors are shown; a refused ACCEPT means the task will never run. */
static void
run_error(struct sched *s, void *ctx, const struct sched_error *e)
{
	struct run *r = ctx;

	warnx("master: %s", e->message);
	if (e->code != NULL && strcmp(e->code, E_UNAUTHENTICATED) == 0) {
		/* nothing we send is taken: no use waiting for an offer */
		warnx("the master takes only records sealed with a credential "
		    "it knows: see -C in cluster-ctl(1)");
		r->code = EX_NOLAUNCH;
		r->done = 1;
		sched_stop(s);
		return;
	}
	if (r->launched && e->about != NULL &&
	    strcmp(e->about, R_ACCEPT) == 0) {
		r->code = EX_NOLAUNCH;
		r->done = 1;
		json_decref(r->last);
		r->last = NULL;
		sched_teardown(s);
	}
}

/*
 * Ask the master, on a socket of its own, whether some registered agent
 * could ever hold the task: its whole resources hold the task's and its
 * attributes match -a.  The answer is awaited beside the subscription
 * (run_fits_answer), not before it: an offer that holds the task answers
 * the question too.
 */
static void
run_fits_ask(struct run *r)
{
	r->fitrec = rec_new(R_QUERY);
	rec_set_str(r->fitrec, "what", "agents");
	rec_set_str(r->fitrec, "fits", r->want);
	if (r->attrs != NULL)
		rec_set_str(r->fitrec, "attributes", r->attrs);
	rec_set_int(r->fitrec, "limit", 1);
	/* it connected while the subscription's socket did */
	r->fit_resend = now_ms() + (net_send(r->fitq, NULL, r->fitrec) == -1 ?
	    POLL_MS : RESEND_MS);
}

/* The question is settled: its socket goes. */
static void
run_fits_done(struct run *r)
{
	json_decref(r->fitrec);
	r->fitrec = NULL;
	net_close(r->fitq);
	r->fitq = NULL;
}

/* Whether the agents of the STATE answer ST hold the task (checked here too). */
static int
run_fits_in(const struct run *r, const json_t *st)
{
	char e[RES_ERRLEN];
	struct res total;
	json_t *it;
	size_t i;
	int fits = 0;

	json_array_foreach(json_object_get(st, "items"), i, it) {
		res_init(&total);
		if (json_is_true(json_object_get(it, "active")) &&
		    res_parse(rec_str(it, "resources"), &total, e) == 0 &&
		    res_contains(&total, &r->need) && (r->attrs == NULL ||
		    attr_match(rec_str(it, "attributes") ?
		    rec_str(it, "attributes") : "", r->attrs)))
			fits = 1;
		res_free(&total);
	}
	return fits;
}

/*
 * The master's answer, if it came: when no agent could ever hold the
 * task, run ends with 125 rather than wait for ever.  A principal that
 * may not see the agents may still run tasks: that refusal is a yes.
 */
static void
run_fits_answer(struct sched *s, struct run *r)
{
	char e[REC_ERRLEN];
	const char *code;
	json_t *st;
	int got, fits = 1;

	if (r->fitq == NULL)
		return;
	if (r->launched) {	/* an offer held it */
		run_fits_done(r);
		return;
	}
	if (now_ms() >= r->fit_resend)
		r->fit_resend = now_ms() + (net_send(r->fitq, NULL,
		    r->fitrec) == -1 ? POLL_MS : RESEND_MS);
	while ((got = net_recv(r->fitq, &st, NULL, e)) == -1)
		;
	if (got != 1)
		return;
	code = rec_str(st, "code");
	if (strcmp(rec_type(st), R_ERROR) == 0) {
		if (code == NULL || strcmp(code, E_FORBIDDEN) != 0) {
			warnx("master: %s", rec_str(st, "message") ?
			    rec_str(st, "message") : "(no message)");
			fits = 0;
		}
	} else if (strcmp(rec_type(st), R_STATE) == 0) {
		if (!(fits = run_fits_in(r, st)))
			warnx("no registered agent could ever hold %s%s%s: "
			    "not waiting for an offer", r->want, r->attrs ?
			    " with attributes " : "", r->attrs ? r->attrs : "");
	} else {
		json_decref(st);
		return;		/* not the answer */
	}
	json_decref(st);
	run_fits_done(r);
	trace(r, fits ? "an agent could hold it" : "no agent could hold it");
	if (!fits) {
		r->code = EX_NOLAUNCH;
		r->done = 1;
		sched_teardown(s);
	}
}

/* Kill the task and exit CODE once it ended; end at once if not launched. */
static void
run_abort(struct sched *s, struct run *r, int code)
{
	r->code = code;
	r->kill_sent = now_ms();
	if (!r->launched)
		sched_teardown(s);
	else
		sched_kill(s, r->task_id);
}

/*
 * Say what R waits for: each step with -v, and once when a step takes
 * longer than WAIT_WARN_MS.
 */
static void
run_progress(struct sched *s, struct run *r, int64_t now)
{
	run_subscribed(s, r);
	if (r->warned || r->done || r->kill_sent || now - r->since <=
	    WAIT_WARN_MS)
		return;
	r->warned = 1;
	switch (r->waits) {
	case W_SUBSCRIPTION:
		warnx("still waiting for the master at %s to take the "
		    "subscription", master_endpoint(opt_master));
		break;
	case W_OFFER:
		warnx("still waiting for an offer of %s (%d too small declined "
		    "so far)", r->want, r->declined);
		break;
	case W_START:
		warnx("still waiting for agent %s to start task %s", r->agent,
		    r->task_id);
		break;
	default:
		break;
	}
}

/* Every POLL_MS: signals, the -t deadline, a kill that takes too long. */
static void
run_tick(struct sched *s, void *ctx)
{
	struct run *r = ctx;
	int64_t now = now_ms();

	run_fits_answer(s, r);
	if (r->done)
		return;
	if (!sched_subscribed(s) && now - r->start > r->answer_ms) {
		warnx("no answer from the master within %lld ms",
		    (long long)r->answer_ms);
		r->code = EXIT_SYSTEM;
		r->done = 1;
		sched_stop(s);
		return;
	}
	if (got_signal && !r->kill_sent) {
		warnx("signal %d: killing task %s", (int)got_signal, r->task_id);
		run_abort(s, r, 128 + got_signal);
	} else if (r->deadline && now >= r->deadline && !r->kill_sent) {
		warnx("timed out after %lld ms", (long long)opt_timeout_ms);
		run_abort(s, r, EX_TIMEOUT);
	} else if (r->kill_sent && now - r->kill_sent > KILL_WAIT_MS)
		sched_teardown(s);
	if (r->reading && tail_step(&r->out, 0) == -1) {
		warnx("task %s's output: %s", r->task_id, r->out.err);
		tail_close(&r->out);
		r->reading = 0;
	}
	run_progress(s, r, now);
}

/* The rest of the task's output, once it has ended. */
static void
run_drain(struct run *r)
{
	int64_t until = now_ms() + DRAIN_MS;

	while (r->reading && !tail_done(&r->out) && !got_signal &&
	    now_ms() < until)
		if (tail_step(&r->out, POLL_MS) == -1) {
			warnx("task %s's output: %s", r->task_id, r->out.err);
			r->out.err[0] = '\0';
			break;
		}
	if (r->reading) {
		if (r->out.err[0] != '\0')
			warnx("task %s's output: %s", r->task_id, r->out.err);
		tail_close(&r->out);
	}
	r->reading = 0;
}

/* Print how the task ended and return run's exit status. */
static int
run_result(const struct run *r)
{
	const char *reason;
	int64_t v;

	if (r->last == NULL || !r->done)
		return r->code;
	reason = rec_str(r->last, "reason");
	fprintf(stderr, "task %s %s", r->task_id, rec_str(r->last, "state"));
	if (rec_int(r->last, "exit_code", &v) == 0)
		fprintf(stderr, " exit_code=%lld", (long long)v);
	if (rec_int(r->last, "signal", &v) == 0)
		fprintf(stderr, " signal=%lld", (long long)v);
	if (reason != NULL)
		fprintf(stderr, " reason=\"%s\"", reason);
	fprintf(stderr, " agent=%s sandbox=%s\n", rec_str(r->last, "agent_id") ?
	    rec_str(r->last, "agent_id") : "-", rec_str(r->last, "sandbox") ?
	    rec_str(r->last, "sandbox") : "-");
	return r->kill_sent && r->code != EX_NOLAUNCH ? r->code :
	    exit_status_of(r->last);
}

/* A usage error of run: said, then what run holds is freed (usage:). */
#define USAGE(...) do {						\
	warnx(__VA_ARGS__);						\
	goto usage;							\
} while (0)

/* run: one command as one task of a framework of its own. */
int
cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cpus", required_argument, NULL, 'c' },
		{ "env", required_argument, NULL, 'e' },
		{ "mem", required_argument, NULL, 'M' },
		{ "attributes", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'N' },
		{ "no-output", no_argument, NULL, 'q' },
		{ "role", required_argument, NULL, 'r' },
		{ "resources", required_argument, NULL, 'R' },
		{ "user", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cpus = "1", *mem = "128", *resources = NULL;
	struct sched_opts o = { .name = "run", .role = "*" };
	struct sched_callbacks cb = { .offer = run_offer,
	    .status = run_status, .error = run_error };
	struct run r = { .code = EX_NOLAUNCH };
	char e[REC_ERRLEN];
	struct sched *s;
	int ch, i;

	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	r.env = json_object();
	optind = 1;
	while ((ch = next_opt(argc, argv, "a:c:e:M:N:qr:R:u:v", longopts)) != -1) {
		switch (ch) {
		case 'a':
			if (attr_check(optarg, e) == -1)
				USAGE("attributes '%s': %s", optarg, e);
			o.filter_attributes = optarg;
			r.attrs = optarg;
			break;
		case 'c':
			cpus = optarg;
			break;
		case 'e': {
			char *eq = strchr(optarg, '=');

			if (eq == NULL || eq == optarg)
				USAGE("env '%s': want NAME=VALUE", optarg);
			*eq = '\0';
			json_object_set_new(r.env, optarg, json_string(eq + 1));
			break;
		}
		case 'M':
			mem = optarg;
			break;
		case 'N':
			if (!id_valid(optarg))
				USAGE("name '%s': use 1-40 of [A-Za-z0-9._-]",
				    optarg);
			o.name = optarg;
			break;
		case 'q':
			r.quiet = 1;
			break;
		case 'r':
			o.role = optarg;
			break;
		case 'R':
			resources = optarg;
			break;
		case 'u':
			if (!id_valid(optarg))
				USAGE("user '%s': not a user name", optarg);
			r.user = optarg;
			break;
		case 'v':
			r.verbose = 1;
			cb.record = run_record;
			break;
		default:
			json_decref(r.env);
			return bad_usage();
		}
	}
	if (optind >= argc) {
		warnx("run: no command given");
		json_decref(r.env);
		return bad_usage();
	}
	if (resources != NULL)
		strlcpy(r.want, resources, sizeof(r.want));
	else
		snprintf(r.want, sizeof(r.want), "cpus:%s;mem:%s", cpus, mem);
	if (res_parse(r.want, &r.need, e) == -1)
		USAGE("resources '%s': %s", r.want, e);
	res_format(&r.need, r.want, sizeof(r.want));
	if (strlen(o.name) > 40)
		USAGE("name '%s' is too long", o.name);
	r.name = o.name;
	id_new(o.name, r.task_id, sizeof(r.task_id));
	r.argv = json_array();
	for (i = optind; i < argc; i++)
		json_array_append_new(r.argv, json_string(argv[i]));
	r.fitq = open_master();
	r.answer_ms = opt_timeout_ms < 0 ? QUERY_TIMEOUT_MS : opt_timeout_ms;
	if (opt_timeout_ms < 0)
		opt_timeout_ms = 0;	/* a task may run for long */
	r.start = now_ms();
	run_waits(&r, W_SUBSCRIPTION);
	r.deadline = opt_timeout_ms > 0 ? r.start + opt_timeout_ms : 0;
	catch_signals();
	s = connect_framework(&o, &cb, &r);
	trace(&r, "-> SUBSCRIBE as %s to the master at %s", o.name,
	    master_endpoint(opt_master));
	trace(&r, "asking whether an agent could hold %s", r.want);
	run_fits_ask(&r);
	if (sched_run(s, POLL_MS, run_tick) == -1)
		warnx("lost the connection to the master");
	sched_destroy(s);
	if (r.fitq != NULL)
		run_fits_done(&r);
	trace(&r, "socket closed");
	run_drain(&r);
	trace(&r, "output complete");
	r.code = run_result(&r);
	trace(&r, "exit %d", r.code);
	json_decref(r.last);
	json_decref(r.argv);
	json_decref(r.env);
	res_free(&r.need);
	return r.code;
usage:
	/* freed, not left to exit: the sanitized run checks for leaks */
	json_decref(r.env);
	res_free(&r.need);
	return EXIT_USAGE;
}
