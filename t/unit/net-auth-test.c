/*
 * net-auth-test: the transport with identity (lib/net.c on lib/auth.c),
 * for t/0110-lib-auth.bats.
 *
 *   net-auth-test DIR KEYS OWN OTHER STRANGER
 *
 * A hub on ipc://DIR/hub.ipc knows the credentials of the file KEYS; four
 * peers send one record each: with OWN (a principal KEYS knows), with
 * OTHER (the same principal, another secret), with STRANGER (a principal
 * KEYS lacks), and with no credential.  One line per case; exit 0 when
 * all hold, 1 otherwise.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "net.h"
#include "proto.h"
#include "rec.h"
#include "check.h"

static struct auth_cred *keys;
static size_t nkeys;
static const struct auth_cred *
lookup(void *arg, const char *principal)
{
	(void)arg;
	for (size_t i = 0; i < nkeys; i++)
		if (strcmp(keys[i].principal, principal) == 0)
			return &keys[i];
	return NULL;
}

static struct auth_cred *
load(const char *path)
{
	char err[AUTH_ERRLEN];
	struct auth_cred *c;
	size_t n;

	if (auth_cred_read(path, &c, &n, err) == -1)
		errx(1, "%s", err);
	return c;
}

/* Receive one record on N within 2 s: 1 with *REC, -1 refused, 0 none. */
static int
recv1(struct net *n, json_t **rec, struct net_route *from)
{
	char err[256];
	int r;

	for (int i = 0; i < 200; i++) {
		if ((r = net_recv(n, rec, from, err)) != 0)
			return r == 1 ? 1 : -1;
		net_wait(n, 10);
	}
	return 0;
}

/* A peer with credential C (NULL: none) sends a HEARTBEAT to HUB. */
static struct net *
peer(const char *ep, const struct auth_cred *c)
{
	char err[256];
	struct net *p = net_open(NET_PEER, ep, err);
	json_t *r = rec_new(R_HEARTBEAT);

	if (p == NULL || (c != NULL && net_set_cred(p, c) == -1))
		errx(1, "peer: %s", err);
	for (int i = 0; i < 100 && net_send(p, NULL, r) == -1; i++)
		net_wait(p, 10);
	json_decref(r);
	return p;
}

int
main(int argc, char *argv[])
{
	struct auth_cred *own, *other, *stranger;
	struct net_route from;
	struct net *hub, *p;
	char ep[512], err[256];
	json_t *rec, *ans;
	int r;

	if (argc != 6)
		errx(100, "usage: net-auth-test DIR KEYS OWN OTHER STRANGER");
	if (auth_cred_read(argv[2], &keys, &nkeys, err) == -1)
		errx(1, "%s", err);
	own = load(argv[3]);
	other = load(argv[4]);
	stranger = load(argv[5]);
	snprintf(ep, sizeof(ep), "ipc://%s/hub.ipc", argv[1]);
	if ((hub = net_open(NET_HUB, ep, err)) == NULL ||
	    net_set_keys(hub, lookup, NULL) == -1)
		errx(1, "hub: %s", err);

	p = peer(ep, own);
	r = recv1(hub, &rec, &from);
	check("a record sealed with a known principal's secret is taken",
	    r == 1 && strcmp(rec_type(rec), R_HEARTBEAT) == 0);
	check("its route names the principal",
	    strcmp(from.principal, own->principal) == 0);
	if (r == 1)
		json_decref(rec);
	ans = rec_new(R_STATE);
	check("the answer goes back sealed", net_send(hub, &from, ans) == 0);
	json_decref(ans);
	r = recv1(p, &rec, NULL);
	check("the peer opens the hub's answer",
	    r == 1 && strcmp(rec_type(rec), R_STATE) == 0);
	if (r == 1)
		json_decref(rec);
	net_close(p);

	p = peer(ep, other);
	r = recv1(hub, &rec, &from);
	check("another secret under the same name is refused (forged)",
	    r == -1 && from.refused == AUTH_FORGED && from.principal[0] == '\0');
	ans = rec_new(R_STATE);
	check("nothing but an ERROR goes to a peer that did not prove itself",
	    net_send(hub, &from, ans) == -1);
	json_decref(ans);
	ans = rec_error(NULL, E_UNAUTHENTICATED, "who are you?");
	check("an ERROR unauthenticated goes back in the clear",
	    net_send(hub, &from, ans) == 0);
	json_decref(ans);
	r = recv1(p, &rec, NULL);
	check("and the peer takes it",
	    r == 1 && strcmp(rec_str(rec, "code"), E_UNAUTHENTICATED) == 0);
	if (r == 1)
		json_decref(rec);
	net_close(p);

	p = peer(ep, stranger);
	r = recv1(hub, &rec, &from);
	check("a principal the hub does not know is refused (unknown)",
	    r == -1 && from.refused == AUTH_UNKNOWN);
	net_close(p);

	p = peer(ep, NULL);
	r = recv1(hub, &rec, &from);
	check("a record in the clear is refused (not sealed)",
	    r == -1 && from.refused == AUTH_NOT_SEALED);
	net_close(p);
	net_close(hub);
	free(own);
	free(other);
	free(stranger);
	free(keys);
	return failed;
}
