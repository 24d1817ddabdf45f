/*
 * Fuzz target: the ACL file's parser (acl_parse of any bytes) and its
 * matcher: a parsed file answers questions without crashing, and the
 * last-match rule holds (a file plus "deny * ACTION *" denies it all).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *who[] = { "ops", "bob", "" };
	static const char *obj[] = { "root", "0", "analytics", "*", "ops",
	    "tasks", "nobody" };
	static const char deny[] = "\ndeny * run-as *\ndeny * run-as root\n";
	char err[ACL_ERRLEN], *buf;
	struct acl *acl;
	size_t w, o;
	int a;

	if (acl_parse((const char *)data, size, &acl, err) == -1)
		return 0;
	for (w = 0; w < sizeof(who) / sizeof(*who); w++)
		for (a = ACL_REGISTER; a <= ACL_VIEW; a++)
			for (o = 0; o < sizeof(obj) / sizeof(*obj); o++)
				(void)acl_permits(acl, who[w], a, obj[o]);
	acl_free(acl);
	/* the same rules, then denials that cover every user: all denied */
	if ((buf = malloc(size + sizeof(deny))) == NULL)
		return 0;
	memcpy(buf, data, size);
	memcpy(buf + size, deny, sizeof(deny) - 1);
	if (acl_parse(buf, size + sizeof(deny) - 1, &acl, err) == 0) {
		for (w = 0; w < sizeof(who) / sizeof(*who); w++)
			for (o = 0; o < sizeof(obj) / sizeof(*obj); o++)
				if (acl_permits(acl, who[w], ACL_RUN_AS, obj[o]))
					abort();
		acl_free(acl);
	}
	free(buf);
	return 0;
}
