/*
 * acl-test: drives lib/acl.c for t/0130-lib-acl.bats.
 *
 *   acl-test FILE [PRINCIPAL ACTION [OBJECT]]...
 *
 * reads FILE ("-": stdin; "none": no file, the default policy) with
 * acl_read (stdin: as bytes), parses it, and prints "N rules", then for
 * each question "permit" or "deny" on a line.  A read or parse error is
 * printed as "FILE:LINE: why" on stderr, exit 1; bad usage exits 100.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

/* The action named NAME, or -1. */
static int
action_of(const char *name)
{
	int a;

	for (a = ACL_REGISTER; a <= ACL_VIEW; a++)
		if (strcmp(acl_action_name(a), name) == 0)
			return a;
	return -1;
}

int
main(int argc, char *argv[])
{
	char why[ACL_ERRLEN], *buf = NULL;
	struct acl *acl = NULL;
	size_t len = 0;
	int i, a;

	if (argc < 2 || (argc - 2) % 3 != 0)
		errx(100, "usage: acl-test file [principal action object]...");
	if (strcmp(argv[1], "-") == 0) {
		if ((buf = malloc(ACL_FILE_MAX + 1)) == NULL)
			err(1, "malloc");
		len = fread(buf, 1, ACL_FILE_MAX + 1, stdin);
	} else if (strcmp(argv[1], "none") != 0 &&
	    acl_read(argv[1], &buf, &len, why) == -1)
		errx(1, "%s", why);
	if (buf != NULL && acl_parse(buf, len, &acl, why) == -1)
		errx(1, "%s:%s", argv[1], why);
	free(buf);
	printf("%zu rules\n", acl_count(acl));
	for (i = 2; i < argc; i += 3) {
		if ((a = action_of(argv[i + 1])) == -1)
			errx(100, "unknown action %s", argv[i + 1]);
		printf("%s\n", acl_permits(acl, argv[i], a,
		    strcmp(argv[i + 2], "-") == 0 ? NULL : argv[i + 2]) ?
		    "permit" : "deny");
	}
	acl_free(acl);
	return 0;
}
