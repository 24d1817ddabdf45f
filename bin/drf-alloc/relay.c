/*
 * The -A mode: any program that reads allocator records as JSON lines on
 * stdin and writes decisions as JSON lines on stdout becomes offerd's
 * allocator.  drf-alloc owns the socket and checks every line the program
 * writes, so a broken script cannot feed offerd garbage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drf-alloc.h"
#include "log.h"
#include "net.h"
#include "proto.h"
#include "rec.h"
#include "res.h"
#include "util.h"

#define OBUF_MAX	(16 * 1024 * 1024)	/* stop reading offerd beyond */
#define LINE_MAX_LEN	REC_MAX_SIZE

extern char **environ;

struct relay {
	pid_t		 pid;
	int		 to_fd;		/* the program's stdin */
	int		 from_fd;	/* the program's stdout */
	char		*obuf;		/* JSON lines not yet written to it */
	size_t		 olen, ocap;
	char		*ibuf;		/* its output not yet split into lines */
	size_t		 ilen, icap;
	int		 skipping;	/* dropping an overlong line */
	struct net	*net;
};

/* Make room for N more bytes in *BUF (LEN used of CAP); exits 111 on ENOMEM. */
static void
grow(char **buf, size_t len, size_t *cap, size_t n)
{
	size_t c = *cap ? *cap : 65536;
	char *b;

	if (*cap - len >= n)
		return;
	while (c - len < n)
		c *= 2;
	if ((b = realloc(*buf, c)) == NULL)
		log_fatal("relay buffer");
	*buf = b;
	*cap = c;
}

/* Start PROGRAM under /bin/sh with pipes on its stdin and stdout. */
static void
spawn(struct relay *r, const char *program)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { "sh", "-c", (char *)program, NULL };
	int in[2], out[2], e;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		log_fatal("pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	if ((e = posix_spawn(&r->pid, "/bin/sh", &fa, NULL, argv, environ)) != 0) {
		errno = e;
		log_fatal("spawn /bin/sh -c %s", program);
	}
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	r->to_fd = in[1];
	r->from_fd = out[0];
	if (fcntl(r->to_fd, F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(r->from_fd, F_SETFL, O_NONBLOCK) == -1)
		log_fatal("fcntl");
	log_info("allocator program started (pid %ld): %s", (long)r->pid,
	    program);
}

/* Log how the program ended and exit 111: offerd has lost its allocator. */
static void __attribute__((noreturn))
program_gone(struct relay *r)
{
	int st;

	if (waitpid(r->pid, &st, 0) == -1)
		log_fatal("waitpid");
	if (WIFEXITED(st))
		log_fatalx("allocator program exited with status %d",
		    WEXITSTATUS(st));
	log_fatalx("allocator program killed by signal %d", WTERMSIG(st));
}

/*
 * Check one line LINE written by the program.  Returns the record to
 * send to offerd, or NULL with the reason in ERR.
 */
static json_t *
check_line(const char *line, char *err)
{
	char rerr[RES_ERRLEN];
	const char *t;
	struct res res;
	json_t *rec;

	if ((rec = rec_from_json(line, err)) == NULL)
		return NULL;
	t = rec_type(rec);
	if (strcmp(t, A_ALLOCATION) == 0) {
		if (rec_require(rec, "framework_id:s agent_id:s resources:s",
		    err) == -1)
			goto bad;
		if (!id_valid(rec_str(rec, "framework_id")) ||
		    !id_valid(rec_str(rec, "agent_id"))) {
			snprintf(err, REC_ERRLEN, "ALLOCATION: bad framework_id "
			    "or agent_id");
			goto bad;
		}
		if (res_parse(rec_str(rec, "resources"), &res, rerr) == -1) {
			snprintf(err, REC_ERRLEN, "ALLOCATION: resources: %.200s",
			    rerr);
			goto bad;
		}
		if (res_empty(&res)) {
			snprintf(err, REC_ERRLEN, "ALLOCATION: no resources");
			goto bad;
		}
		res_free(&res);
	} else if (strcmp(t, R_ERROR) == 0) {
		if (rec_require(rec, "message:s", err) == -1)
			goto bad;
	} else if (strcmp(t, A_SHARES) != 0) {
		snprintf(err, REC_ERRLEN, "an allocator sends ALLOCATION, "
		    "ERROR or SHARES, not %.64s", t);
		goto bad;
	}
	return rec;
bad:
	json_decref(rec);
	return NULL;
}

/* Forward every complete line in R's input buffer; keep the tail. */
static void
lines_out(struct relay *r)
{
	char err[REC_ERRLEN], *nl;
	size_t off = 0;

	while ((nl = memchr(r->ibuf + off, '\n', r->ilen - off)) != NULL) {
		char *line = r->ibuf + off;
		json_t *rec;

		*nl = '\0';
		off = nl + 1 - r->ibuf;
		if (r->skipping) {
			r->skipping = 0;
			continue;
		}
		line += strspn(line, " \t\r");
		if (*line == '\0')
			continue;
		if ((rec = check_line(line, err)) == NULL) {
			log_warnx("allocator program wrote a bad line, dropped: "
			    "%s", err);
			continue;
		}
		log_debug("-> %s", rec_type(rec));
		if (net_send(r->net, NULL, rec) == -1)
			log_warnx("cannot send %s to offerd: dropped",
			    rec_type(rec));
		json_decref(rec);
	}
	if (r->ilen - off > LINE_MAX_LEN) {
		log_warnx("allocator program wrote a line longer than %d "
		    "bytes, dropped", LINE_MAX_LEN);
		r->skipping = 1;
		off = r->ilen;
	}
	memmove(r->ibuf, r->ibuf + off, r->ilen - off);
	r->ilen -= off;
}

/* Queue every record waiting on the socket for the program, as JSON lines. */
static void
records_in(struct relay *r)
{
	char err[REC_ERRLEN];
	int i;

	for (i = 0; i < DRAIN_MAX && r->olen < OBUF_MAX; i++) {
		json_t *rec;
		char *s;
		size_t n;
		int got = net_recv(r->net, &rec, NULL, err);

		if (got == 0)
			return;
		if (got == -2)
			log_fatalx("%s", err);
		if (got == -1) {
			json_t *e = rec_error(NULL, E_MALFORMED, "bad record: %s", err);

			log_warnx("bad record from offerd: %s", err);
			net_send(r->net, NULL, e);
			json_decref(e);
			continue;
		}
		s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(rec);
		if (s == NULL)
			log_fatalx("cannot print a record");
		n = strlen(s);
		grow(&r->obuf, r->olen, &r->ocap, n + 1);
		memcpy(r->obuf + r->olen, s, n);
		r->obuf[r->olen + n] = '\n';
		r->olen += n + 1;
		free(s);
	}
}

/* Write what the program's stdin pipe takes. */
static void
flush_to(struct relay *r)
{
	while (r->olen > 0) {
		ssize_t n = write(r->to_fd, r->obuf, r->olen);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			if (errno == EPIPE) {
				/* it stopped reading: its exit is reported soon */
				r->olen = 0;
				return;
			}
			log_fatal("write to allocator program");
		}
		memmove(r->obuf, r->obuf + n, r->olen - n);
		r->olen -= n;
	}
}

/* Read what the program wrote; at EOF it is gone. */
static void
read_from(struct relay *r)
{
	for (;;) {
		ssize_t n;

		grow(&r->ibuf, r->ilen, &r->icap, 65536);
		n = read(r->from_fd, r->ibuf + r->ilen, r->icap - r->ilen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			log_fatal("read from allocator program");
		}
		if (n == 0) {
			lines_out(r);
			program_gone(r);
		}
		r->ilen += n;
		lines_out(r);
	}
}

int
relay_run(const char *endpoint, const char *program)
{
	struct relay r = { .pid = -1 };
	char err[256];
	int st;

	spawn(&r, program);
	if ((r.net = net_open(NET_PAIR_BIND, endpoint, err)) == NULL) {
		kill(r.pid, SIGTERM);
		log_fatalx("%s", err);
	}
	log_info("relaying offerd on %s to the allocator program", endpoint);
	while (!stop_flag) {
		struct pollfd p[4] = {
			{ .fd = wake_fd, .events = POLLIN },
			{ .fd = r.from_fd, .events = POLLIN },
			{ .fd = r.olen > 0 ? r.to_fd : -1, .events = POLLOUT },
			{ .fd = r.olen < OBUF_MAX ? net_fd(r.net) : -1,
			  .events = POLLIN },
		};

		/* what offerd could not take yet goes first, and soon again */
		if (poll(p, 4, net_flush(r.net) != 0 ? NET_UNSENT_MS : -1) == -1) {
			if (errno == EINTR)
				continue;
			log_fatal("poll");
		}
		if (p[0].revents) {
			wake_drain();
			if (!stop_flag && waitpid(r.pid, &st, WNOHANG) == r.pid) {
				if (WIFEXITED(st))
					log_fatalx("allocator program exited "
					    "with status %d", WEXITSTATUS(st));
				log_fatalx("allocator program killed by "
				    "signal %d", WTERMSIG(st));
			}
		}
		if (stop_flag)
			break;
		if (p[3].revents)
			records_in(&r);
		if (r.olen > 0)
			flush_to(&r);
		if (p[1].revents)
			read_from(&r);
	}
	log_info("stopping on signal");
	close(r.to_fd);
	kill(r.pid, SIGTERM);
	waitpid(r.pid, &st, 0);
	close(r.from_fd);
	net_close(r.net);
	free(r.obuf);
	free(r.ibuf);
	return 0;
}
