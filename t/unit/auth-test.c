/*
 * auth-test: drives lib/auth.c for t/0110-lib-auth.bats.
 *
 *   auth-test new PRINCIPAL FILE   write a fresh credential to FILE
 *   auth-test read FILE            print the principals of FILE
 *   auth-test seal FILE            seal stdin with FILE's (first)
 *                                  credential, to the master, on stdout
 *   auth-test open FILE            open a sealed stdin going to the
 *                                  master, print the record
 *   auth-test cases FILE           the sealing cases, one line each
 *
 * Exit status 0, 1 when refused or a case failed, 100 on bad usage.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "util.h"
#include "check.h"

static struct auth_cred *
load(const char *path, size_t *n)
{
	char err[AUTH_ERRLEN];
	struct auth_cred *c;

	if (auth_cred_read(path, &c, n, err) == -1)
		errx(1, "%s", err);
	return c;
}

static unsigned char *
slurp(size_t *len)
{
	unsigned char *buf = malloc(1 << 20);

	if (buf == NULL)
		err(1, "malloc");
	*len = fread(buf, 1, 1 << 20, stdin);
	return buf;
}

/* Open FRAME going DIR with C through A; the reason, AUTH_OK when opened. */
static enum auth_fail
try_open(struct auth *a, const struct auth_cred *c, enum auth_dir dir,
    const unsigned char *frame, size_t len, const char *want)
{
	enum auth_fail why = AUTH_OK;
	size_t olen;
	void *out = auth_open(a, c, dir, frame, len, &olen, &why);

	if (out != NULL) {
		if (want != NULL && (olen != strlen(want) ||
		    memcmp(out, want, olen) != 0))
			why = AUTH_FORGED;
		free(out);
	}
	return why;
}

static int
cases(const struct auth_cred *c)
{
	struct auth *peer = auth_create(), *master = auth_create();
	struct auth_cred other;
	const char *msg = "\x81\xa4type\xa9HEARTBEAT";
	unsigned char *f1, *f2, *bad;
	size_t l1, l2;
	char err[AUTH_ERRLEN];

	if (peer == NULL || master == NULL || auth_cred_new("mallory",
	    &other, err) == -1)
		errx(1, "set-up failed");
	memcpy(other.principal, c->principal, sizeof(other.principal));
	f1 = auth_seal(peer, c, AUTH_TO_MASTER, msg, strlen(msg), &l1);
	f2 = auth_seal(peer, c, AUTH_TO_MASTER, msg, strlen(msg), &l2);
	check("a sealed record does not carry its text in the clear",
	    memmem(f1, l1, "HEARTBEAT", 9) == NULL);
	check("another key cannot open it (forged)",
	    try_open(master, &other, AUTH_TO_MASTER, f1, l1, msg) == AUTH_FORGED);
	check("it cannot be reflected back the other way (forged)",
	    try_open(master, c, AUTH_FROM_MASTER, f1, l1, msg) == AUTH_FORGED);
	bad = malloc(l1);
	memcpy(bad, f1, l1);
	bad[l1 - 1] ^= 1;
	check("a changed byte is refused (forged)",
	    try_open(master, c, AUTH_TO_MASTER, bad, l1, msg) == AUTH_FORGED);
	check("a record cut short is refused",
	    try_open(master, c, AUTH_TO_MASTER, f1, 10, msg) == AUTH_NOT_SEALED);
	check("the right key opens it, unchanged",
	    try_open(master, c, AUTH_TO_MASTER, f1, l1, msg) == AUTH_OK);
	check("the same record again is a replay",
	    try_open(master, c, AUTH_TO_MASTER, f1, l1, msg) == AUTH_REPLAYED);
	check("the next record of the session opens",
	    try_open(master, c, AUTH_TO_MASTER, f2, l2, msg) == AUTH_OK);
	check("an older record of the session is a replay",
	    try_open(master, c, AUTH_TO_MASTER, f1, l1, msg) == AUTH_REPLAYED);
	/* a frame from the far past: rewrite its clock, then reseal it */
	free(f1);
	f1 = auth_seal(master, c, AUTH_FROM_MASTER, msg, strlen(msg), &l1);
	check("the master's record opens at the peer",
	    try_open(peer, c, AUTH_FROM_MASTER, f1, l1, msg) == AUTH_OK);
	memcpy(bad, f1, l1);
	bad[4 + strlen(c->principal) + 16] ^= 0x40;	/* the clock's high bits */
	check("a record whose clock was changed is refused (forged)",
	    try_open(peer, c, AUTH_FROM_MASTER, bad, l1, msg) == AUTH_FORGED);
	free(bad);
	free(f1);
	f1 = auth_seal_at(master, c, AUTH_FROM_MASTER, msg, strlen(msg),
	    wall_ms() - 2 * AUTH_SKEW_MS, &l1);
	check("a record sealed long ago is refused (stale)",
	    try_open(peer, c, AUTH_FROM_MASTER, f1, l1, msg) == AUTH_STALE);
	free(f1);
	f1 = auth_seal_at(master, c, AUTH_FROM_MASTER, msg, strlen(msg),
	    wall_ms() + 2 * AUTH_SKEW_MS, &l1);
	check("a record from a clock far ahead is refused (stale)",
	    try_open(peer, c, AUTH_FROM_MASTER, f1, l1, msg) == AUTH_STALE);
	free(f1);
	free(f2);
	auth_destroy(peer);
	auth_destroy(master);
	return failed;
}

int
main(int argc, char *argv[])
{
	struct auth_cred *c, nc;
	char err[AUTH_ERRLEN];
	size_t n, i, len, olen;
	unsigned char *in;
	int status;
	enum auth_fail why;
	struct auth *a;
	void *out;

	if (auth_init() == -1)
		errx(1, "libsodium cannot start");
	if (argc == 4 && strcmp(argv[1], "new") == 0) {
		if (auth_cred_new(argv[2], &nc, err) == -1 ||
		    auth_cred_write(argv[3], &nc, err) == -1)
			errx(1, "%s", err);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: auth-test new PRINCIPAL FILE | "
		    "read|seal|open|cases FILE\n");
		return 100;
	}
	c = load(argv[2], &n);
	if ((a = auth_create()) == NULL)
		errx(1, "out of memory");
	/* everything is freed on the way out: t/san checks for leaks */
	status = 0;
	if (strcmp(argv[1], "read") == 0) {
		for (i = 0; i < n; i++)
			printf("%s\n", c[i].principal);
	} else if (strcmp(argv[1], "cases") == 0)
		status = cases(&c[0]);
	else if (strcmp(argv[1], "seal") == 0 || strcmp(argv[1], "open") == 0) {
		in = slurp(&len);
		if (strcmp(argv[1], "seal") == 0)
			out = auth_seal(a, &c[0], AUTH_TO_MASTER, in, len, &olen);
		else if ((out = auth_open(a, &c[0], AUTH_TO_MASTER, in, len,
		    &olen, &why)) == NULL)
			warnx("refused: %s", auth_fail_text(why));
		if (out != NULL)
			fwrite(out, 1, olen, stdout);
		else
			status = 1;
		free(out);
		free(in);
	} else
		status = 100;
	auth_destroy(a);
	free(c);
	return status;
}
