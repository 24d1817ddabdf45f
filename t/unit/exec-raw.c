/*
 * exec-raw: one FRAMEWORK_MESSAGE sent to agentd as the executor of the
 * environment (CLUSTER_EXECUTOR_ENDPOINT, _ID, _SECRET and FRAMEWORK_ID,
 * as agentd sets them), its data of any length: executor(3) refuses to
 * send one over PROTO_MESSAGE_MAX, so agentd's own refusal is tried with
 * this, for t/0652-executor-message-limit.bats.
 *
 *   exec-raw length
 *	send data of LENGTH bytes 'x', then print every record agentd
 *	answers within a second as a JSON line.
 *
 * Exit status: 0, 100 on a usage error, 111 on a system failure.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits.h"
#include "net.h"
#include "proto.h"
#include "proto-limits.h"
#include "rec.h"
#include "util.h"

#define RAW_WAIT_MS	1000	/* answers read after the send */
#define RAW_LEN_MAX	(1 << 20)

/* The value of environment variable NAME; exits 111 when unset. */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		errx(EXIT_SYSTEM, "$%s is not set", name);
	return v;
}

int
main(int argc, char **argv)
{
	char why[256], *data;
	const char *errstr;
	struct net *n;
	json_t *rec;
	int64_t until;
	long len;

	if (argc != 2)
		errx(EXIT_USAGE, "usage: exec-raw length");
	len = strtonum(argv[1], 0, RAW_LEN_MAX, &errstr);
	if (errstr != NULL)
		errx(EXIT_USAGE, "length %s: %s", argv[1], errstr);
	if ((data = malloc(len + 1)) == NULL)
		err(EXIT_SYSTEM, "malloc");
	memset(data, 'x', len);
	data[len] = '\0';
	if ((n = net_open(NET_PEER, env(PROTO_EXECUTOR_ENV_ENDPOINT),
	    why)) == NULL)
		errx(EXIT_SYSTEM, "%s", why);
	net_wait_connected(n, NET_CONNECT_MS);
	rec = rec_new(R_FRAMEWORK_MESSAGE);
	rec_set_str(rec, "framework_id", env("FRAMEWORK_ID"));
	rec_set_str(rec, "executor_id", env(PROTO_EXECUTOR_ENV_ID));
	rec_set_str(rec, "secret", env(PROTO_EXECUTOR_ENV_SECRET));
	rec_set_str(rec, "data", data);
	if (net_send(n, NULL, rec) == -1)
		errx(EXIT_SYSTEM, "cannot send");
	json_decref(rec);
	free(data);
	for (until = now_ms() + RAW_WAIT_MS; now_ms() < until;) {
		net_wait(n, 100);
		while (net_recv(n, &rec, NULL, why) != 0)
			if (rec != NULL) {
				rec_print(stdout, rec);
				json_decref(rec);
			}
	}
	fflush(stdout);
	net_close(n);
	return 0;
}
