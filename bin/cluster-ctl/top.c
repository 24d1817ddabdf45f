/*
 * top: a live view of the cluster, refreshed every -d: agents and
 * frameworks by state, tasks per state, the cluster's utilization (all
 * from the master's metrics), then the frameworks with their dominant
 * shares and the agents.  On a terminal each frame replaces the last
 * (ANSI clear and home, line wrap off: plain enough for any terminal
 * over ssh) and q or Ctrl-C quits with the terminal restored; otherwise
 * one frame is printed after another.
 */
#include <sys/ioctl.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "exits.h"
#include "net.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define TOP_DELAY_MS	2000	/* -d */
#define TOP_BAR		20	/* characters of a utilization bar */
#define TOP_ROWS_MIN	4	/* rows kept for each table, at least */
#define ANSI_CLEAR	"\033[H\033[2J"	/* home, clear the screen */
#define ANSI_NOWRAP	"\033[?7l"	/* long lines are cut, not wrapped */
#define ANSI_WRAP	"\033[?7h"
#define GIB		(1024.0 * 1024 * 1024)

static struct termios saved;
static int saved_ok;		/* stdin's modes are to be restored */
static int screen;		/* stdout is a terminal */

/* Put the terminal back as it was (atexit: an error exit too). */
static void
term_restore(void)
{
	if (screen)
		fputs(ANSI_WRAP, stdout);
	fflush(stdout);
	if (saved_ok)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	saved_ok = 0;
}

/* Keys one by one and unechoed, Ctrl-C still a signal. */
static void
term_setup(void)
{
	struct termios t;

	screen = isatty(STDOUT_FILENO);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		t = saved;
		t.c_lflag &= ~(ICANON | ECHO);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		saved_ok = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	}
	atexit(term_restore);
}

/*
 * The value of metric NAME (without the prefix) whose one label is
 * VALUE (NULL: unlabelled) in TEXT; 0 when it is not there.
 */
static double
metric(const char *text, const char *name, const char *value)
{
	char want[256];
	const char *p;
	size_t len;

	if (value != NULL)
		len = snprintf(want, sizeof(want), "%s%s{state=\"%s\"} ",
		    METRICS_OFFERD, name, value);
	else
		len = snprintf(want, sizeof(want), "%s%s ", METRICS_OFFERD, name);
	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n') ?
	    strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, want, len) == 0)
			return strtod(p + len, NULL);
	return 0;
}

/* One line: a resource's used and offered share of its total, as a bar. */
static void
util_line(const char *text, const char *label, const char *name,
    double unit, const char *unit_name)
{
	double total = metric(text, name, "total") / unit;
	double used = metric(text, name, "used") / unit;
	double offered = metric(text, name, "offered") / unit;
	int u = 0, o = 0, i;

	if (total > 0) {
		u = (int)(used / total * TOP_BAR + 0.5);
		o = (int)(offered / total * TOP_BAR + 0.5);
		if (u + o > TOP_BAR)
			o = TOP_BAR - u;
	}
	printf("%-7s [", label);
	for (i = 0; i < TOP_BAR; i++)
		putchar(i < u ? '#' : i < u + o ? '+' : '.');
	printf("] %.1f%% used: %.2f used, %.2f offered of %.2f%s\n",
	    total > 0 ? 100 * used / total : 0.0, used, offered, total,
	    unit_name);
}

/* The summary lines, from the master's metrics TEXT. */
static void
top_summary(const char *text)
{
	static const char *const states[] = {
		TASK_STAGING, TASK_STARTING, TASK_RUNNING, TASK_UNREACHABLE
	};
	static const char *const ends[] = {
		TASK_FINISHED, TASK_FAILED, TASK_KILLED, TASK_LOST, TASK_ERROR
	};
	size_t i;

	printf("Agents: %.0f active, %.0f unreachable    Frameworks: %.0f "
	    "active, %.0f inactive    Offers: %.0f outstanding\n",
	    metric(text, "agents", "active"),
	    metric(text, "agents", "unreachable"),
	    metric(text, "frameworks", "active"),
	    metric(text, "frameworks", "inactive"),
	    metric(text, "offers_outstanding", NULL));
	printf("Tasks:");
	for (i = 0; i < sizeof(states) / sizeof(*states); i++)
		printf("%s %.0f %s", i ? "," : "",
		    metric(text, "tasks", states[i]), states[i] + 5);
	printf("; ended:");
	for (i = 0; i < sizeof(ends) / sizeof(*ends); i++)
		printf("%s %.0f %s", i ? "," : "",
		    metric(text, "tasks_ended_total", ends[i]), ends[i] + 5);
	printf("\n");
	util_line(text, "CPU", "cpus", 1, "");
	util_line(text, "Memory", "memory_bytes", GIB, " GiB");
	util_line(text, "Disk", "disk_bytes", GIB, " GiB");
}

/* Keep the first MAX items of ITEMS; say how many more there were. */
static void
table_cut(json_t *items, const char *cols, size_t max)
{
	size_t n = json_array_size(items);

	while (json_array_size(items) > max)
		json_array_remove(items, json_array_size(items) - 1);
	table_print(items, cols);
	if (n > max)
		printf("... %zu more\n", n - max);
}

/* The rows of the terminal, or 0 when it is none (everything printed). */
static size_t
term_rows(void)
{
	struct winsize ws;

	if (!screen || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == -1 ||
	    ws.ws_row == 0)
		return 0;
	return ws.ws_row;
}

/* Ask the master for one frame and print it. */
static void
top_frame(struct net *n, int64_t delay_ms)
{
	static const char *const whats[] = { "frameworks", "agents" };
	static const char *const cols[] = {
		"framework_id,name,role,active,tasks,share",
		"agent_id,hostname,active,tasks,free",
	};
	json_t *q, *items[2];
	char *text, when[32];
	size_t rows = term_rows(), room, i;
	time_t now = time(NULL);

	text = query_metrics(n);
	for (i = 0; i < 2; i++) {
		q = rec_new(R_QUERY);
		rec_set_str(q, "what", whats[i]);
		items[i] = query_all(n, q);
		json_decref(q);
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	if (screen)
		fputs(ANSI_CLEAR ANSI_NOWRAP, stdout);
	printf("cluster-ctl top: %s    %s    every %.1fs%s\n",
	    master_endpoint(opt_master), when, delay_ms / 1000.0,
	    saved_ok ? ", q quits" : "");
	top_summary(text);
	/* what is left of the screen, split between the two tables */
	room = rows > 12 ? (rows - 12) / 2 : 0;
	for (i = 0; i < 2; i++) {
		printf("\n");
		table_cut(items[i], cols[i], rows == 0 ? SIZE_MAX :
		    room > TOP_ROWS_MIN ? room : TOP_ROWS_MIN);
		json_decref(items[i]);
	}
	if (!screen)
		printf("\n");
	fflush(stdout);
	free(text);
}

/*
 * Wait up to MS for q (1: quit), Ctrl-C or a signal (1), or the time to
 * pass (0).  A stdin that ends is not read again.
 */
static int
top_wait(int64_t ms, int *keys)
{
	int64_t until = now_ms() + ms, left;
	struct pollfd p = { .fd = *keys ? STDIN_FILENO : -1, .events = POLLIN };
	char c;
	ssize_t r;

	while (!got_signal && (left = until - now_ms()) > 0) {
		p.fd = *keys ? STDIN_FILENO : -1;
		if (poll(&p, 1, (int)left) <= 0 || p.revents == 0)
			continue;
		if ((r = read(STDIN_FILENO, &c, 1)) == 1) {
			if (c == 'q' || c == 'Q')
				return 1;
		} else if (r == 0 || (errno != EINTR && errno != EAGAIN))
			*keys = 0;
	}
	return got_signal != 0;
}

int
cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'I' },
		{ "iterations", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct net *n;
	int64_t delay = TOP_DELAY_MS;
	long iterations = 0, i;
	const char *errstr;
	int ch, keys;

	optind = 1;
	while ((ch = next_opt(argc, argv, "I:n:", longopts)) != -1) {
		switch (ch) {
		case 'I':
			delay = duration_arg_min("interval", optarg, 100);
			break;
		case 'n':
			iterations = strtonum(optarg, 1, 1000000000, &errstr);
			if (errstr != NULL)
				errx(EXIT_USAGE, "-n %s: %s", optarg, errstr);
			break;
		default:
			return bad_usage();
		}
	}
	if (optind != argc)
		return bad_usage();
	catch_signals();
	n = connect_master();
	term_setup();
	keys = saved_ok;
	for (i = 0; iterations == 0 || i < iterations; i++) {
		top_frame(n, delay);
		if ((iterations == 0 || i + 1 < iterations) &&
		    top_wait(delay, &keys))
			break;
	}
	term_restore();
	net_close(n);
	return 0;
}
