/*
 * zkstore-test: the driver of lib/zkstore.c for t/0804: one document of
 * an election's ZooKeeper, logged in with a cluster credential (-C) or
 * with none (open znodes).
 *
 *   zkstore-test [-C credential] MASTER NAME write < DATA
 *   zkstore-test [-C credential] MASTER NAME read > DATA
 *   zkstore-test [-C credential] MASTER NAME fence < DATA
 *
 * fence opens the document twice, reads it with both, writes with the
 * second, then with the first: it prints what each write returned
 * ("0 -2" when the stale writer is refused).  Exits 1 on a failure, 100
 * on a usage error.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "elect.h"
#include "zkstore.h"

#define INPUT_MAX	(32 << 20)

/* All of stdin into a new buffer of *LEN bytes. */
static char *
slurp(size_t *len)
{
	char *buf = malloc(INPUT_MAX);
	size_t n;

	if (buf == NULL)
		err(1, "malloc");
	n = fread(buf, 1, INPUT_MAX, stdin);
	*len = n;
	return buf;
}

/* Open the document or exit 1. */
static struct zkstore *
open_or_die(const char *master, const char *name, const struct auth_cred *c)
{
	char e[ELECT_ERRLEN];
	struct zkstore *s;

	if ((s = zkstore_open(master, name, c, e)) == NULL)
		errx(1, "%s", e);
	return s;
}

int
main(int argc, char *argv[])
{
	struct auth_cred cred, *c = NULL;
	char e[ELECT_ERRLEN], where[256], *buf, *old;
	struct zkstore *s, *t;
	size_t len, olen;
	int ch, r1, r2;

	while ((ch = getopt(argc, argv, "C:")) != -1) {
		if (ch != 'C')
			return 100;
		if (auth_init() == -1 || auth_cred_find(optarg, &cred, where,
		    sizeof(where), e) != 0)
			errx(100, "%s: cannot use it", optarg);
		c = &cred;
	}
	argc -= optind;
	argv += optind;
	if (argc != 3)
		errx(100, "usage: zkstore-test [-C credential] master name "
		    "write|read|fence");
	s = open_or_die(argv[0], argv[1], c);
	if (strcmp(argv[2], "read") == 0) {
		if (zkstore_read(s, &buf, &len, e) == -1)
			errx(1, "%s", e);
		if (buf != NULL)
			fwrite(buf, 1, len, stdout);
		free(buf);
	} else if (strcmp(argv[2], "write") == 0) {
		buf = slurp(&len);
		if (zkstore_read(s, &old, &olen, e) == -1)
			errx(1, "%s", e);
		free(old);
		if (zkstore_write(s, buf, len, e) != 0)
			errx(1, "%s", e);
		free(buf);
	} else if (strcmp(argv[2], "fence") == 0) {
		buf = slurp(&len);
		t = open_or_die(argv[0], argv[1], c);
		if (zkstore_read(s, &old, &olen, e) == -1)
			errx(1, "%s", e);
		free(old);
		if (zkstore_read(t, &old, &olen, e) == -1)
			errx(1, "%s", e);
		free(old);
		r2 = zkstore_write(t, buf, len, e);
		r1 = zkstore_write(s, buf, len, e);
		printf("%d %d\n", r2, r1);
		free(buf);
		zkstore_close(t);
	} else
		errx(100, "%s: want write, read or fence", argv[2]);
	zkstore_close(s);
	return 0;
}
