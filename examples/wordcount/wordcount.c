/*
 * wordcount: a Spark-like framework, scheduler and executor in one
 * program (cluster-protocol(7) EXECUTORS, executor(3), sched(3)).
 *
 *   wordcount [-r reduces] file ...    the scheduler: counts the words of
 *                                      the files, prints "count word" lines
 *   wordcount -x                       the executor, as agentd runs it
 *
 * Each file is one map task, run in the framework's executor on some
 * agent: it counts the file's words and keeps them there, in memory,
 * split into R partitions (a word's partition is its hash modulo R).
 * Once every map has finished, reduce task r runs in an executor; the
 * scheduler asks every executor that ran maps for its partition r
 * ("send r"), each answers with it ("part r i" and "word count" lines),
 * and the scheduler passes the parts on to the reduce's executor, which
 * merges them, sends "out r" and its lines, and finishes.  Framework
 * messages are best effort: the asks are repeated until the reduce ends.
 * The files must be readable by the executor's user.  Exit status: 0, 1
 * when a task failed, 100 on bad usage, 111 on a system failure.
 */
#include <err.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "executor.h"
#include "map.h"
#include "proto-limits.h"
#include "rec.h"
#include "res.h"
#include "scheduler.h"
#include "util.h"

#define TASK_RES	"cpus:0.1;mem:16"
#define EXEC_RES	"cpus:0.2;mem:32"
#define EXEC_ID		"wc"
#define REDUCES_MAX	64
#define FILES_MAX	256
#define ASK_MS		2000	/* the asks of a running reduce, again */
#define WORD_MAX	64

/* ---- the executor ---- */

/* A partition of a map's output: "word count" lines. */
struct part {
	int		 map;
	char		*text;
};

static struct part parts[FILES_MAX][REDUCES_MAX];	/* [map][r], ours */
static int nred = 1;

/* The partition of WORD among N. */
static unsigned
part_of(const char *w, int n)
{
	unsigned h = 5381;

	while (*w)
		h = h * 33 + (unsigned char)*w++;
	return h % (unsigned)n;
}

/* Add "WORD N" to the counts M (word -> count, a pointer-sized int). */
static void
count_add(struct map *m, const char *w, long n)
{
	map_put(m, w, (void *)((long)map_get(m, w) + n));
}

/* The counts of M as "word count" lines, for partition R of N (-1: all). */
static char *
count_text(struct map *m, int r, int n)
{
	const char *w;
	size_t pos = 0, len = 0, cap = 256;
	char *t = malloc(cap), line[WORD_MAX + 32];
	void *v;
	int k;

	t[0] = '\0';
	while ((v = map_next(m, &pos, &w)) != NULL) {
		if (r >= 0 && (int)part_of(w, n) != r)
			continue;
		k = snprintf(line, sizeof(line), "%s %ld\n", w, (long)v);
		if (len + k + 1 > cap)
			t = realloc(t, cap = 2 * (len + k + 1));
		memcpy(t + len, line, k + 1);
		len += k;
	}
	return t;
}

/* Map task I of FILE: count, keep each partition. */
static int
do_map(int i, const char *file)
{
	char w[WORD_MAX];
	struct map *m = map_create();
	FILE *fp;
	int r, c, n = 0;

	if (i < 0 || i >= FILES_MAX || (fp = fopen(file, "r")) == NULL)
		return -1;
	while ((c = getc(fp)) != EOF || n > 0) {
		if (c != EOF && c != ' ' && c != '\n' && c != '\t' &&
		    n < WORD_MAX - 1) {
			w[n++] = (char)c;
			continue;
		}
		if (n > 0) {
			w[n] = '\0';
			count_add(m, w, 1);
			n = 0;
		}
		if (c == EOF)
			break;
	}
	fclose(fp);
	for (r = 0; r < nred; r++) {
		free(parts[i][r].text);
		parts[i][r].map = i;
		parts[i][r].text = count_text(m, r, nred);
	}
	map_destroy(m);
	return 0;
}

/* A running reduce of ours: the parts it has, by map. */
static struct {
	char		 tid[64];
	int		 r, nmaps, got;
	char		 have[FILES_MAX];
	struct map	*counts;
} red[REDUCES_MAX];

/* Part "part R I\nLINES" for reduce R: merged; the last one ends it. */
static void
take_part(struct executor *e, const char *msg)
{
	char *lines, *copy, *l, *save, w[WORD_MAX];
	int r, i;
	long n;

	if (sscanf(msg, "part %d %d", &r, &i) != 2 || r < 0 ||
	    r >= REDUCES_MAX || i < 0 || i >= FILES_MAX ||
	    red[r].counts == NULL || red[r].have[i])
		return;
	red[r].have[i] = 1;
	red[r].got++;
	copy = strdup(msg);
	if ((lines = strchr(copy, '\n')) != NULL)
		for (l = strtok_r(lines + 1, "\n", &save); l != NULL;
		    l = strtok_r(NULL, "\n", &save))
			if (sscanf(l, "%63s %ld", w, &n) == 2)
				count_add(red[r].counts, w, n);
	free(copy);
	if (red[r].got == red[r].nmaps) {
		char *text = count_text(red[r].counts, -1, 1), *out;

		if (asprintf(&out, "out %d\n%s", r, text) != -1) {
			executor_message(e, out);
			free(out);
		}
		free(text);
		executor_update(e, red[r].tid, TASK_FINISHED, NULL);
		map_destroy(red[r].counts);
		red[r].counts = NULL;
	}
}

/* "send R": every partition R we hold goes to the scheduler. */
static void
send_parts(struct executor *e, int r)
{
	char *msg;
	int i;

	for (i = 0; r >= 0 && r < nred && i < FILES_MAX; i++)
		if (parts[i][r].text != NULL && asprintf(&msg, "part %d %d\n%s",
		    r, i, parts[i][r].text) != -1) {
			if (executor_message(e, msg) == -1)
				warnx("partition %d of map %d: over the "
				    "message limit", r, i);
			free(msg);
		}
}

/* The executor's loop: tasks and messages until SHUTDOWN. */
static int
executor_main(void)
{
	char why[EXECUTOR_ERRLEN], file[PATH_MAX];
	const char *type, *tid, *data;
	struct executor *e;
	json_t *rec;
	int i, r, m;

	if ((e = executor_create(why)) == NULL)
		errx(1, "%s", why);
	while (executor_next(e, -1, &rec, why) == 1) {
		type = rec_type(rec);
		tid = rec_str(json_object_get(rec, "task"), "task_id");
		data = rec_str(json_object_get(rec, "task"), "data");
		if (strcmp(type, R_SHUTDOWN) == 0) {
			json_decref(rec);
			break;
		}
		if (strcmp(type, R_LAUNCH_TASK) == 0 && data != NULL) {
			if (sscanf(data, "map %d %d %4095s", &i, &nred, file) == 3 &&
			    nred > 0 && nred <= REDUCES_MAX)
				executor_update(e, tid, do_map(i, file) == 0 ?
				    TASK_FINISHED : TASK_FAILED, NULL);
			else if (sscanf(data, "reduce %d %d", &r, &m) == 2 &&
			    r >= 0 && r < REDUCES_MAX && m > 0 &&
			    m <= FILES_MAX) {
				memset(&red[r], 0, sizeof(red[r]));
				strlcpy(red[r].tid, tid, sizeof(red[r].tid));
				red[r].r = r;
				red[r].nmaps = m;
				red[r].counts = map_create();
				executor_update(e, tid, TASK_RUNNING, NULL);
			} else
				executor_update(e, tid, TASK_FAILED, NULL);
		} else if (strcmp(type, R_KILL_TASK) == 0)
			executor_update(e, rec_str(rec, "task_id"),
			    TASK_KILLED, NULL);
		else if (strcmp(type, R_FRAMEWORK_MESSAGE) == 0 &&
		    (data = rec_str(rec, "data")) != NULL) {
			if (sscanf(data, "send %d", &r) == 1)
				send_parts(e, r);
			else if (strncmp(data, "part ", 5) == 0)
				take_part(e, data);
		}
		json_decref(rec);
	}
	while (!executor_quiet(e) && executor_next(e, 1000, &rec, why) == 1)
		json_decref(rec);
	executor_destroy(e);
	return 0;
}

/* ---- the scheduler ---- */

enum tstate { T_WAIT, T_LAUNCHED, T_DONE };

static struct {
	char		**files;
	int		 nfiles, nreduce, failed, done;
	enum tstate	 map[FILES_MAX], reduce[REDUCES_MAX];
	char		 map_agent[FILES_MAX][64];	/* where each map ran */
	char		 red_agent[REDUCES_MAX][64];
	int		 out_got[REDUCES_MAX];
	struct map	*result;	/* word -> count */
	struct map	*has_exec;	/* agents with our executor */
	char		 self[PATH_MAX];
	int64_t		 next_ask;
} wc;

/* A task of ours for the executor: ID doing DATA. */
static json_t *
wc_task(const char *id, const char *data)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "exec %s -x", wc.self);
	return json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "task_id", id,
	    "resources", TASK_RES, "data", data, "executor", "executor_id",
	    EXEC_ID, "command", cmd, "resources", EXEC_RES);
}

/* True when every map has finished. */
static int
maps_done(void)
{
	int i;

	for (i = 0; i < wc.nfiles; i++)
		if (wc.map[i] != T_DONE)
			return 0;
	return 1;
}

/* An offer: as many waiting tasks as fit (maps first, then reduces). */
static void
wc_offer(struct sched *s, void *ctx, const struct sched_offer *o)
{
	char id[32], data[PATH_MAX + 64], e[RES_ERRLEN];
	struct res have, need, xneed;
	json_t *tasks = json_array();
	int i;

	(void)ctx;
	res_copy(&have, o->res);
	res_parse(TASK_RES, &need, e);
	res_parse(EXEC_RES, &xneed, e);
	if (map_get(wc.has_exec, o->agent_id) == NULL)
		res_sub(&have, &xneed);
	for (i = 0; i < wc.nfiles && res_contains(&have, &need); i++)
		if (wc.map[i] == T_WAIT) {
			snprintf(id, sizeof(id), "map-%d", i);
			snprintf(data, sizeof(data), "map %d %d %s", i,
			    wc.nreduce, wc.files[i]);
			json_array_append_new(tasks, wc_task(id, data));
			wc.map[i] = T_LAUNCHED;
			res_sub(&have, &need);
		}
	for (i = 0; maps_done() && i < wc.nreduce &&
	    res_contains(&have, &need); i++)
		if (wc.reduce[i] == T_WAIT) {
			snprintf(id, sizeof(id), "reduce-%d", i);
			snprintf(data, sizeof(data), "reduce %d %d", i,
			    wc.nfiles);
			json_array_append_new(tasks, wc_task(id, data));
			wc.reduce[i] = T_LAUNCHED;
			strlcpy(wc.red_agent[i], o->agent_id, 64);
			res_sub(&have, &need);
		}
	if (json_array_size(tasks) > 0) {
		map_put(wc.has_exec, o->agent_id, &wc);
		sched_accept(s, o->offer_id, tasks, 0);
		wc.next_ask = 0;
	} else
		sched_decline(s, o->offer_id, 1);
	json_decref(tasks);
	res_free(&have);
	res_free(&need);
	res_free(&xneed);
}

/* A FRAMEWORK_MESSAGE to our executor on agent AGENT. */
static void
wc_say(struct sched *s, const char *agent, const char *data)
{
	json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "type", R_FRAMEWORK_MESSAGE,
	    "agent_id", agent, "executor_id", EXEC_ID, "data", data);

	sched_call(s, r);
	json_decref(r);
}

/* Ask every executor that ran maps for the parts of running reduces. */
static void
wc_ask(struct sched *s, void *ctx)
{
	char msg[32];
	int i, r, k;

	(void)ctx;
	if (now_ms() < wc.next_ask)
		return;
	wc.next_ask = now_ms() + ASK_MS;
	for (r = 0; r < wc.nreduce; r++) {
		if (wc.reduce[r] != T_LAUNCHED || wc.red_agent[r][0] == '\0')
			continue;
		snprintf(msg, sizeof(msg), "send %d", r);
		for (i = 0; i < wc.nfiles; i++) {
			for (k = 0; k < i; k++)
				if (strcmp(wc.map_agent[k], wc.map_agent[i]) == 0)
					break;
			if (k == i)	/* each executor once */
				wc_say(s, wc.map_agent[i], msg);
		}
	}
}

/* Every record: the parts and outputs of framework messages. */
static void
wc_record(struct sched *s, void *ctx, const json_t *rec)
{
	const char *data = rec_str(rec, "data"), *l;
	char w[WORD_MAX];
	int r, i;
	long n;

	(void)ctx;
	if (strcmp(rec_type(rec), R_FRAMEWORK_MESSAGE) != 0 || data == NULL)
		return;
	if (sscanf(data, "part %d %d", &r, &i) == 2 && r >= 0 &&
	    r < wc.nreduce && wc.red_agent[r][0] != '\0')
		wc_say(s, wc.red_agent[r], data);	/* on to the reduce */
	else if (sscanf(data, "out %d", &r) == 1 && r >= 0 &&
	    r < wc.nreduce && !wc.out_got[r]) {
		wc.out_got[r] = 1;
		for (l = strchr(data, '\n'); l != NULL; l = strchr(l + 1, '\n'))
			if (sscanf(l + 1, "%63s %ld", w, &n) == 2)
				count_add(wc.result, w, n);
	}
}

/* A task's end: a map's agent is noted; the last reduce stops us. */
static void
wc_status(struct sched *s, void *ctx, const struct sched_status *st)
{
	int i;

	(void)ctx;
	if (!st->terminal)
		return;
	if (strcmp(st->state, TASK_FINISHED) != 0) {
		warnx("task %s: %s %s", st->task_id, st->state,
		    st->reason ? st->reason : "");
		wc.failed = 1;
		sched_stop(s);
		return;
	}
	if (sscanf(st->task_id, "map-%d", &i) == 1 && i >= 0 &&
	    i < wc.nfiles) {
		wc.map[i] = T_DONE;
		strlcpy(wc.map_agent[i], st->agent_id ? st->agent_id : "", 64);
		if (maps_done())
			sched_revive(s);
	} else if (sscanf(st->task_id, "reduce-%d", &i) == 1 && i >= 0 &&
	    i < wc.nreduce) {
		wc.reduce[i] = T_DONE;
		if (++wc.done == wc.nreduce)
			sched_stop(s);
	}
}

/* The scheduler: counts the words of FILES and prints them. */
static int
scheduler_main(int nfiles, char **files)
{
	const struct sched_callbacks cb = { .offer = wc_offer,
	    .status = wc_status, .record = wc_record };
	struct sched_opts o = { .name = "wordcount" };
	char why[SCHED_ERRLEN], *text;
	struct sched *s;

	wc.files = files;
	wc.nfiles = nfiles;
	wc.result = map_create();
	wc.has_exec = map_create();
	if ((s = sched_create(&o, &cb, NULL, why)) == NULL)
		errx(111, "%s", why);
	if (sched_run(s, 100, wc_ask) == -1)
		errx(111, "the master's socket failed");
	sched_teardown(s);
	sched_destroy(s);
	if (wc.failed)
		return 1;
	text = count_text(wc.result, -1, 1);
	fputs(text, stdout);
	free(text);
	return 0;
}

/* Print the usage and exit 100. */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: wordcount [-r reduces] file ...\n"
	    "       wordcount -x\n");
	exit(100);
}

int
main(int argc, char *argv[])
{
	const char *errstr;
	int ch, x = 0, i;

	wc.nreduce = 2;
	while ((ch = getopt(argc, argv, "r:x")) != -1) {
		switch (ch) {
		case 'r':
			wc.nreduce = (int)strtonum(optarg, 1, REDUCES_MAX, &errstr);
			if (errstr != NULL)
				errx(100, "reduces '%s': %s", optarg, errstr);
			break;
		case 'x':
			x = 1;
			break;
		default:
			usage();
		}
	}
	if (x)
		return optind == argc ? executor_main() : (usage(), 100);
	if (optind == argc || argc - optind > FILES_MAX)
		usage();
	if (realpath(argv[0], wc.self) == NULL)
		err(111, "%s", argv[0]);
	for (i = optind; i < argc; i++)
		if (access(argv[i], R_OK) == -1)
			err(100, "%s", argv[i]);
	return scheduler_main(argc - optind, argv + optind);
}
