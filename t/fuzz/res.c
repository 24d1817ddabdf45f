/*
 * Fuzz target: resource and attribute strings (res_parse, attr_check,
 * attr_match), as agents, frameworks and operators write them.  Resources
 * that parse must print to a text that parses to the same resources, and
 * arithmetic on them must keep its promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "res.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[RES_ERRLEN], *s, *half, out[65536];
	struct res a, b, m;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* the first half against the second, as attributes and a filter */
	half = s + size / 2;
	if (attr_check(s, err) == 0)
		(void)attr_match(s, half);
	if (res_parse(s, &a, err) == 0) {
		res_format(&a, out, sizeof(out));
		if (strlen(out) < sizeof(out) - 4) {	/* not cut short */
			if (res_parse(out, &b, err) == -1 ||
			    !res_contains(&a, &b) || !res_contains(&b, &a))
				abort();
			if (res_meet(&a, &b, &m) == 0) {
				if (!res_contains(&a, &m) || !res_contains(&m, &a))
					abort();
				res_free(&m);
			}
			if (res_add(&b, &a) == 0 && res_sub(&b, &a) == -1)
				abort();
			res_free(&b);
		}
		res_free(&a);
	}
	free(s);
	return 0;
}
