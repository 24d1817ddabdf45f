/*
 * flood: one misbehaving peer, and a well-behaved one timing its first
 * offer, for t/0270-offerd-limits.bats and t/bench/flood.  Both seal
 * their records as every tool does (-C, $CLUSTER_CREDENTIAL, else the
 * credentials directory) and talk to $CLUSTER_MASTER.
 *
 *   flood subscribe N [SECONDS]
 *	send N SUBSCRIBE records (each a new framework) as fast as the
 *	socket takes them, reading the answers meanwhile, then read the
 *	answers for up to SECONDS (default 2) more; prints
 *	  flood sent=N subscribed=S limited=L other=O
 *   flood probe [SECONDS]
 *	subscribe one framework and wait up to SECONDS (default 30) for its
 *	first OFFER; prints
 *	  probe offer_ms=MS
 *	(the time from the SUBSCRIBE to the OFFER), or exits 1.
 *
 * Exit status: 0, 1 when the probe got no offer, 100 on a usage error,
 * 111 on a system failure.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exits.h"
#include "net.h"
#include "proto.h"
#include "rec.h"
#include "util.h"

#define FLOOD_WAIT_S	2	/* answers read after the last send */
#define PROBE_WAIT_S	30	/* for the probe's first offer */
#define HEARTBEAT_MS	1000	/* as sched(3) does */

struct counts {
	long	 subscribed, limited, other;
};

static void
usage(void)
{
	fprintf(stderr, "usage: flood subscribe count [seconds]\n"
	    "       flood probe [seconds]\n");
	exit(EXIT_USAGE);
}

/* Open a sealing peer socket to $CLUSTER_MASTER; exits 111 on failure. */
static struct net *
peer_open(void)
{
	char err[AUTH_ERRLEN];
	struct net *n;

	if (net_peer_cred_find(NULL, err) == -1)
		errx(EXIT_SYSTEM, "%s", err);
	if ((n = net_open(NET_PEER, master_endpoint(NULL), err)) == NULL)
		errx(EXIT_SYSTEM, "%s", err);
	return n;
}

/* Count every answer waiting on N into C; returns how many were read. */
static long
drain(struct net *n, struct counts *c)
{
	char err[256];
	json_t *rec;
	const char *code;
	long got = 0;

	while (net_recv(n, &rec, NULL, err) != 0) {
		got++;
		if (rec == NULL) {
			c->other++;
			continue;
		}
		code = rec_str(rec, "code");
		if (strcmp(rec_type(rec), R_SUBSCRIBED) == 0)
			c->subscribed++;
		else if (code != NULL && strcmp(code, E_LIMITED) == 0)
			c->limited++;
		else {
			c->other++;
			warnx("answer %s %s", rec_type(rec), code ? code : "");
		}
		json_decref(rec);
	}
	return got;
}

/* Send COUNT SUBSCRIBEs, then read answers for WAIT_S; prints counts. */
static int
flood(long count, long wait_s)
{
	struct net *n = peer_open();
	struct counts c = { 0, 0, 0 };
	json_t *sub = rec_new(R_SUBSCRIBE);
	int64_t until;
	long sent;

	rec_set_str(sub, "name", "flood");
	for (sent = 0; sent < count;) {
		if (net_send(n, NULL, sub) == 0)
			sent++;
		else
			net_wait(n, 1);
		drain(n, &c);
	}
	until = now_ms() + wait_s * 1000;
	while (now_ms() < until) {
		net_wait(n, 100);
		drain(n, &c);
	}
	printf("flood sent=%ld subscribed=%ld limited=%ld other=%ld\n", sent,
	    c.subscribed, c.limited, c.other);
	json_decref(sub);
	net_close(n);
	return 0;
}

/* Tear framework FID (if any) down, so that it holds no offer; close N. */
static void
teardown(struct net *n, const char *fid)
{
	json_t *r = rec_new(R_TEARDOWN);
	int i;

	rec_set_str(r, "framework_id", fid);
	for (i = 0; fid[0] != '\0' && i < 100 && net_send(n, NULL, r) == -1;
	    i++)
		net_wait(n, 10);
	/* let it leave before the socket closes */
	net_wait(n, 100);
	json_decref(r);
	net_close(n);
}

/* Subscribe and time the first OFFER, heartbeating meanwhile. */
static int
probe(long wait_s)
{
	char err[256], fid[128] = "";
	struct net *n = peer_open();
	json_t *sub = rec_new(R_SUBSCRIBE), *rec;
	int64_t start = now_ms(), until = start + wait_s * 1000, beat = 0;
	int r;

	rec_set_str(sub, "name", "probe");
	while (net_send(n, NULL, sub) == -1 && now_ms() < until)
		net_wait(n, 1);
	json_decref(sub);
	while (now_ms() < until) {
		if (fid[0] != '\0' && now_ms() >= beat) {
			json_t *hb = rec_new(R_HEARTBEAT);

			rec_set_str(hb, "framework_id", fid);
			net_send(n, NULL, hb);
			json_decref(hb);
			beat = now_ms() + HEARTBEAT_MS;
		}
		net_wait(n, 10);
		while ((r = net_recv(n, &rec, NULL, err)) != 0) {
			if (r != 1)
				continue;
			if (strcmp(rec_type(rec), R_SUBSCRIBED) == 0)
				strlcpy(fid, rec_str(rec, "framework_id"),
				    sizeof(fid));
			else if (strcmp(rec_type(rec), R_OFFER) == 0) {
				printf("probe offer_ms=%lld\n",
				    (long long)(now_ms() - start));
				json_decref(rec);
				teardown(n, fid);
				return 0;
			} else if (strcmp(rec_type(rec), R_ERROR) == 0)
				warnx("ERROR %s: %s", rec_str(rec, "code"),
				    rec_str(rec, "message"));
			json_decref(rec);
		}
	}
	warnx("no offer in %ld s", wait_s);
	teardown(n, fid);
	return 1;
}

/* A count or seconds argument; exits 100 when it is not one. */
static long
number(const char *s)
{
	const char *e;
	long long v = strtonum(s, 0, 10000000, &e);

	if (e != NULL)
		errx(EXIT_USAGE, "%s: %s", s, e);
	return (long)v;
}

int
main(int argc, char *argv[])
{
	if (argc >= 3 && argc <= 4 && strcmp(argv[1], "subscribe") == 0)
		return flood(number(argv[2]), argc == 4 ? number(argv[3]) :
		    FLOOD_WAIT_S);
	if (argc >= 2 && argc <= 3 && strcmp(argv[1], "probe") == 0)
		return probe(argc == 3 ? number(argv[2]) : PROBE_WAIT_S);
	usage();
}
