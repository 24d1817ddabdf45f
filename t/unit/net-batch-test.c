/*
 * net-batch-test: batches on the wire (lib/net.c, net_cork and
 * net_flush), for t/0110-lib-auth.bats.
 *
 *   net-batch-test DIR
 *
 * A peer sends to ipc://DIR/batch.ipc before any hub is bound there: its
 * frame is refused and kept (net_unsent), a record sent after it joins
 * it, and once a hub binds they all arrive in one frame, in order.  The
 * hub's corked answers arrive as one frame handed out record by record
 * (net_pending); 1,025 records go in two frames.  One line per case;
 * exit 0 when all hold, 1 otherwise.
 */
#include <err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "net.h"
#include "rec.h"
#include "check.h"

static json_t *
numbered(int i)
{
	return rec_set_int(rec_new("TEST"), "n", i);
}

/* Send the record numbered I on N (to TO on a hub); 0 or -1. */
static int
send_n(struct net *n, const struct net_route *to, int i)
{
	json_t *r = numbered(i);
	int rc = net_send(n, to, r);

	json_decref(r);
	return rc;
}

/*
 * Take up to WANT records from N within 3 s: how many came numbered
 * FIRST, FIRST + 1, ... in order.
 */
static int
take_in_order(struct net *n, int first, int want, struct net_route *from)
{
	char err[256];
	json_t *r;
	int got = 0, tries;

	for (tries = 0; got < want && tries < 300; tries++) {
		net_wait(n, 10);
		while (got < want && net_recv(n, &r, from, err) == 1) {
			if (rec_int_or(r, "n", -1) == first + got)
				got++;
			json_decref(r);
		}
	}
	return got;
}

int
main(int argc, char *argv[])
{
	char ep[512], err[256];
	struct net_route from;
	struct net *p, *h;
	uint64_t in0, in1, out;
	int i, r;

	if (argc != 2)
		errx(100, "usage: net-batch-test DIR");
	snprintf(ep, sizeof(ep), "ipc://%s/batch.ipc", argv[1]);
	if ((p = net_open(NET_PEER, ep, err)) == NULL)
		errx(1, "%s", err);
	net_cork(p);
	for (i = 1; i <= 3; i++)
		send_n(p, NULL, i);
	check("a corked peer's frame with no hub to take it is refused and kept",
	    net_flush(p) == 1 && net_unsent(p));
	check("a record sent after it is taken, behind it",
	    send_n(p, NULL, 4) == 0 && net_unsent(p));

	if ((h = net_open(NET_HUB, ep, err)) == NULL)
		errx(1, "%s", err);
	net_wait_connected(p, 2000);
	for (i = 0; i < 200 && (r = net_flush(p)) != 0; i++)
		poll(NULL, 0, 10);
	check("once a hub is bound, the kept frame goes", !net_unsent(p));
	net_frames(h, &in0, &out);
	check("the four records arrive in order", take_in_order(h, 1, 4, &from) == 4);
	net_frames(h, &in1, &out);
	check("... in one frame", in1 - in0 == 1);

	net_cork(h);
	for (i = 1; i <= 3; i++)
		send_n(h, &from, i);
	check("the hub's corked answers go at its flush", net_flush(h) == 0);
	net_frames(p, &in0, &out);
	{
		json_t *rec;
		int first = 0;

		for (i = 0; i < 300 && !first; i++) {
			net_wait(p, 10);
			if (net_recv(p, &rec, NULL, err) == 1) {
				first = rec_int_or(rec, "n", -1) == 1;
				json_decref(rec);
			}
		}
		check("the first of a batch comes, the rest pending",
		    first && net_pending(p));
	}
	check("... then the rest, in order", take_in_order(p, 2, 2, NULL) == 2);
	net_frames(p, &in1, &out);
	check("... all in one frame", in1 - in0 == 1 && !net_pending(p));

	net_frames(h, &in0, &out);
	net_cork(p);
	for (i = 1; i <= REC_MAX_BATCH + 1; i++)
		send_n(p, NULL, i);
	check("1,025 records leave the peer", net_flush(p) == 0);
	check("... arrive in order", take_in_order(h, 1,
	    REC_MAX_BATCH + 1, NULL) == REC_MAX_BATCH + 1);
	net_frames(h, &in1, &out);
	check("... in two frames", in1 - in0 == 2);
	net_close(p);
	net_close(h);
	return failed;
}
