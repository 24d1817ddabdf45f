/*
 * drf-alloc: decides which framework is offered which agent's free
 * resources, by weighted Dominant Resource Fairness.  Standalone it reads
 * allocator records on stdin and writes its decisions on stdout; with -l
 * it serves offerd on a nanomsg PAIR socket.  See drf-alloc(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/prctl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drf.h"
#include "drf-alloc.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define READ_CHUNK	65536
#define WEIGHTS_MAX	256	/* -W options */

volatile sig_atomic_t	stop_flag;
int			wake_fd = -1;
static int		wake_wfd = -1;

enum format { F_JSON, F_MSGPACK };

/* Where decisions go: stdout in one format, or the socket. */
struct out {
	enum format	 format;
	struct net	*net;		/* NULL: stdout */
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: drf-alloc [-dv] [-A program] [-I interval] "
	    "[-l endpoint] [-o format]\n"
	    "                 [-W role=weight]... [--clock=clock] "
	    "[--min-offer=min-offer]\n");
}

static void
on_signal(int sig)
{
	int e = errno;
	char c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		stop_flag = 1;
	if (wake_wfd != -1)
		(void)write(wake_wfd, &c, 1);
	errno = e;
}

void
wake_drain(void)
{
	char buf[64];

	while (read(wake_fd, buf, sizeof(buf)) > 0)
		;
}

/* Install the handlers for SIGTERM, SIGINT, SIGHUP and SIGCHLD and the self-pipe. */
static void
sig_setup(void)
{
	struct sigaction sa;
	int p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
		log_fatal("pipe");
	wake_fd = p[0];
	wake_wfd = p[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* nothing to reload: just wake up */
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Write REC to stdout in FORMAT (not flushed); exits 111 on a write error. */
static void
out_stdout(enum format format, const json_t *rec)
{
	if (format == F_JSON) {
		if (json_dumpf(rec, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == -1 ||
		    fputc('\n', stdout) == EOF)
			log_fatal("stdout");
	} else {
		size_t len;
		void *buf = rec_pack(rec, &len);

		if (buf == NULL)
			log_fatalx("cannot encode a %s record", rec_type(rec));
		if (fwrite(buf, 1, len, stdout) != len)
			log_fatal("stdout");
		free(buf);
	}
}

/* Flush stdout; exits 111 when the reader went away. */
static void
out_flush(void)
{
	if (fflush(stdout) == EOF)
		log_fatal("stdout");
}

/* drf_ops.reply: send or print REC and release it. */
static void
cb_reply(void *arg, json_t *rec)
{
	struct out *o = arg;

	if (o->net == NULL)
		out_stdout(o->format, rec);
	else if (net_send(o->net, NULL, rec) == -1)
		log_warnx("cannot send %s to offerd: dropped", rec_type(rec));
	json_decref(rec);
}

/* drf_ops.allocated: deliver one ALLOCATION; -1 when the socket cannot take it. */
static int
cb_allocated(void *arg, const char *fw, const char *agent, const struct res *r)
{
	struct out *o = arg;
	json_t *rec = drf_allocation_rec(fw, agent, r);
	int ret = 0;

	if (rec == NULL) {
		log_warnx("ALLOCATION of %s to %s: out of memory", agent, fw);
		return -1;
	}
	if (o->net == NULL)
		out_stdout(o->format, rec);
	else if (net_send(o->net, NULL, rec) == -1) {
		log_debug("offerd cannot take ALLOCATION of %s to %s now: "
		    "kept free", agent, fw);
		ret = -1;
	}
	json_decref(rec);
	return ret;
}

/* Report a record that could not be decoded: an ERROR on the output. */
static void
bad_input(struct drf *d, struct out *o, const char *why)
{
	(void)d;
	cb_reply(o, rec_error(NULL, E_MALFORMED, "bad record: %s", why));
}

/* Decode and handle one JSON line; blank lines and '#' comments are skipped. */
static void
handle_line(struct drf *d, struct out *o, char *line)
{
	char err[REC_ERRLEN];
	json_t *rec;

	line += strspn(line, " \t\r");
	if (*line == '\0' || *line == '#')
		return;
	if ((rec = rec_from_json(line, err)) == NULL) {
		bad_input(d, o, err);
		return;
	}
	drf_handle(d, rec);
	json_decref(rec);
}

/* Input state of the standalone mode. */
struct input {
	enum format	 format;
	char		*buf;
	size_t		 len, cap;
	int		 skipping;	/* JSON: dropping an overlong line */
	int		 eof;
};

/*
 * Handle every complete record in IN's buffer and keep the incomplete
 * tail.  At EOF a tail is a truncated record, reported as such.
 */
static void
input_consume(struct drf *d, struct out *o, struct input *in)
{
	char err[REC_ERRLEN];
	size_t off = 0;

	if (in->format == F_JSON) {
		char *nl;

		while ((nl = memchr(in->buf + off, '\n', in->len - off)) != NULL) {
			*nl = '\0';
			if (in->skipping)
				in->skipping = 0;
			else
				handle_line(d, o, in->buf + off);
			off = nl + 1 - in->buf;
		}
		if (in->len - off > REC_MAX_SIZE) {
			if (!in->skipping)
				bad_input(d, o, "line longer than the record "
				    "size limit");
			in->skipping = 1;
			off = in->len;
		}
		if (in->eof && off < in->len && !in->skipping) {
			in->buf[in->len] = '\0';
			handle_line(d, o, in->buf + off);
			off = in->len;
		}
	} else {
		while (off < in->len) {
			long n = rec_frame_len(in->buf + off, in->len - off, err);
			json_t *rec;

			if (n == 0)
				break;
			if (n < 0) {
				/* no way to find the next frame: drop what we have */
				bad_input(d, o, err);
				off = in->len;
				break;
			}
			if ((rec = rec_unpack(in->buf + off, n, err)) == NULL)
				bad_input(d, o, err);
			else {
				drf_handle(d, rec);
				json_decref(rec);
			}
			off += n;
		}
		if (in->eof && off < in->len) {
			bad_input(d, o, "truncated msgpack record at end of input");
			off = in->len;
		}
	}
	memmove(in->buf, in->buf + off, in->len - off);
	in->len -= off;
}

/* Read once from stdin into IN.  Returns 1 when bytes came, 0 at EOF. */
static int
input_read(struct input *in)
{
	ssize_t n;

	if (in->cap - in->len < READ_CHUNK + 1) {
		size_t cap = in->cap + READ_CHUNK * 2;
		char *b = realloc(in->buf, cap);

		if (b == NULL)
			log_fatal("input buffer");
		in->buf = b;
		in->cap = cap;
	}
	do
		n = read(STDIN_FILENO, in->buf + in->len, READ_CHUNK);
	while (n == -1 && errno == EINTR && !stop_flag);
	if (n == -1) {
		if (stop_flag)
			return 1;
		log_fatal("stdin");
	}
	if (n == 0) {
		in->eof = 1;
		return 0;
	}
	in->len += n;
	return 1;
}

/* Is stdin readable right now (or at EOF)? */
static int
input_ready(void)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

/*
 * Wait until FD is readable, a signal writes to the wake pipe (drained
 * here) or WAIT ms (-1: no limit) have passed.  Returns 1 when FD is
 * readable, 0 when not, -1 when a signal interrupted the wait.
 */
static int
wait_input(int fd, int64_t wait)
{
	struct pollfd p[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = wake_fd, .events = POLLIN },
	};

	if (poll(p, 2, wait > INT32_MAX ? INT32_MAX : (int)wait) == -1) {
		if (errno == EINTR)
			return -1;
		log_fatal("poll");
	}
	if (p[1].revents)
		wake_drain();
	return p[0].revents != 0;
}

/*
 * Standalone mode: records on stdin, decisions on stdout.  With the real
 * clock a cycle runs after each drained batch of input that asked for one
 * and on the interval; at EOF a last cycle runs.  Returns the exit status.
 */
static int
run_stdin(struct drf *d, struct out *o, enum format format)
{
	struct input in = { .format = format };
	int reads;

	for (;;) {
		int64_t wait = drf_poll(d);
		int r;

		out_flush();
		if (stop_flag)
			break;
		if ((r = wait_input(STDIN_FILENO, wait)) == -1)
			continue;
		if (stop_flag)
			break;
		if (r == 0)
			continue;
		/* drain what is there, then let one cycle cover all of it */
		for (reads = 0; reads < DRAIN_MAX / 64; reads++) {
			int more = input_read(&in);

			input_consume(d, o, &in);
			if (!more || stop_flag || !input_ready())
				break;
		}
		if (in.eof) {
			drf_allocate(d);
			out_flush();
			break;
		}
	}
	free(in.buf);
	return 0;
}

/*
 * Socket mode: serve offerd on a PAIR socket until SIGTERM.  Returns the
 * exit status.
 */
static int
run_socket(struct drf *d, struct out *o)
{
	char err[REC_ERRLEN];

	while (!stop_flag) {
		int64_t wait = drf_poll(d);
		int i;

		/* what offerd could not take yet goes first, and soon again */
		if (net_flush(o->net) != 0 && (wait < 0 || wait > NET_UNSENT_MS))
			wait = NET_UNSENT_MS;
		if (wait_input(net_fd(o->net), wait) == -1)
			continue;
		for (i = 0; i < DRAIN_MAX && !stop_flag; i++) {
			json_t *rec;
			int r = net_recv(o->net, &rec, NULL, err);

			if (r == 0)
				break;
			if (r == -2)
				log_fatalx("%s", err);
			if (r == -1) {
				log_warnx("bad record from offerd: %s", err);
				bad_input(d, o, err);
				continue;
			}
			log_debug("<- %s", rec_type(rec));
			drf_handle(d, rec);
			json_decref(rec);
		}
	}
	log_info("stopping on signal");
	return 0;
}

/* Parse "role=weight" for -W and apply it.  Exits 100 when malformed. */
static void
weight_opt(struct drf *d, const char *arg)
{
	char role[128], err[DRF_ERRLEN], *end;
	const char *eq = strchr(arg, '=');
	double w;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(role)) {
		log_warnx("-W %s: want role=weight", arg);
		exit(EXIT_USAGE);
	}
	memcpy(role, arg, eq - arg);
	role[eq - arg] = '\0';
	errno = 0;
	w = strtod(eq + 1, &end);
	if (errno || end == eq + 1 || *end != '\0') {
		log_warnx("-W %s: weight is not a number", arg);
		exit(EXIT_USAGE);
	}
	if (drf_set_weight(d, role, w, err) == -1) {
		log_warnx("-W %s: %s", arg, err);
		exit(EXIT_USAGE);
	}
}

/*
 * Started by offerd (which sets CLUSTER_ALLOC_PARENT to its pid), end
 * with it: an allocator left behind would hold the socket of the next.
 */
static void
watch_parent(void)
{
	const char *p = getenv("CLUSTER_ALLOC_PARENT");
	long ppid;

	if (p == NULL)
		return;
	ppid = strtol(p, NULL, 10);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (ppid > 0 && getppid() != (pid_t)ppid)
		exit(0);	/* it died before we could watch it */
	unsetenv("CLUSTER_ALLOC_PARENT");
}

/* What the command line says. */
struct config {
	struct drf_opts	 opts;
	enum format	 format;
	const char	*listen;
	const char	*program;
	const char	*weights[WEIGHTS_MAX];
	int		 nweights;
	int		 foreground;
	int		 verbose;
};

/* A usage error: print the message FMT (unless NULL) and the usage, exit 100. */
static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fputs("drf-alloc: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	usage(stderr);
	exit(EXIT_USAGE);
}

/* Apply option CH with argument ARG to CF; a bad one exits 100. */
static void
config_option(struct config *cf, int ch, const char *arg)
{
	const char *errstr;

	switch (ch) {
	case 'c':
		if (strcmp(arg, "manual") != 0 && strcmp(arg, "real") != 0)
			usage_error("--clock %s: the clock is real or manual", arg);
		cf->opts.manual_clock = strcmp(arg, "manual") == 0;
		break;
	case 'd':
		cf->foreground = 1;
		break;
	case 'o':
		if (strcmp(arg, "json") != 0 && strcmp(arg, "msgpack") != 0)
			usage_error("-o %s: the format is json or msgpack", arg);
		cf->format = strcmp(arg, "json") == 0 ? F_JSON : F_MSGPACK;
		break;
	case 'h':
		usage(stdout);
		exit(0);
	case 'V':
		version_exit("drf-alloc");
	case 'I':
		if (duration_parse(arg, &cf->opts.interval_ms, &errstr) == -1)
			usage_error("-I %s: %s", arg, errstr);
		if (cf->opts.interval_ms <= 0)
			usage_error("-I %s: must be positive", arg);
		break;
	case 'l':
		cf->listen = arg;
		break;
	case 'm':
		cf->opts.min_offer = arg;
		break;
	case 'v':
		cf->verbose++;
		break;
	case 'W':
		if (cf->nweights == WEIGHTS_MAX)
			usage_error("too many -W");
		cf->weights[cf->nweights++] = arg;
		break;
	case 'A':
		cf->program = arg;
		break;
	default:
		usage_error(NULL);
	}
}

/* Fill CF from the command line; every mistake exits 100. */
static void
config_parse(struct config *cf, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "clock",	required_argument,	NULL, 'c' },
		{ "foreground",	no_argument,		NULL, 'd' },
		{ "format",	required_argument,	NULL, 'o' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "interval",	required_argument,	NULL, 'I' },
		{ "listen",	required_argument,	NULL, 'l' },
		{ "min-offer",	required_argument,	NULL, 'm' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "weight",	required_argument,	NULL, 'W' },
		{ "exec",	required_argument,	NULL, 'A' },
		{ NULL,		0,			NULL, 0 }
	};
	int ch;

	memset(cf, 0, sizeof(*cf));
	cf->format = F_JSON;
	while ((ch = getopt_long(argc, argv, "A:dI:l:o:vW:", longopts,
	    NULL)) != -1)
		config_option(cf, ch, optarg);
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (cf->program != NULL && cf->listen == NULL)
		usage_error("-A needs -l");
}

int
main(int argc, char *argv[])
{
	struct drf_ops ops = { .allocated = cb_allocated, .reply = cb_reply };
	struct out out;
	struct config cf;
	char err[DRF_ERRLEN];
	int status, i;
	struct drf *d;

	config_parse(&cf, argc, argv);
	/* standalone it is a filter: its diagnostics belong on stderr */
	log_init("drf-alloc", cf.foreground || cf.listen == NULL, cf.verbose);
	out.format = cf.format;
	out.net = NULL;
	ops.arg = &out;
	/* started by offerd: each cycle's run time goes to its metrics */
	cf.opts.report_cycles = cf.listen != NULL && cf.program == NULL &&
	    getenv(A_CYCLE_ENV) != NULL && strcmp(getenv(A_CYCLE_ENV), "1") == 0;
	unsetenv(A_CYCLE_ENV);
	if ((d = drf_create(&cf.opts, &ops, err)) == NULL) {
		log_warnx("%s", err);
		return EXIT_USAGE;
	}
	for (i = 0; i < cf.nweights; i++)
		weight_opt(d, cf.weights[i]);
	sig_setup();
	watch_parent();
	if (cf.listen == NULL)
		status = run_stdin(d, &out, out.format);
	else if (cf.program != NULL) {
		drf_destroy(d);
		d = NULL;
		/* the program is spawned before the first nanomsg call */
		status = relay_run(cf.listen, cf.program);
	} else {
		if ((out.net = net_open(NET_PAIR_BIND, cf.listen, err)) == NULL)
			log_fatalx("%s", err);
		log_info("serving offerd on %s", cf.listen);
		status = run_socket(d, &out);
		net_close(out.net);
	}
	drf_destroy(d);
	return status;
}
