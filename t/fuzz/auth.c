/*
 * Fuzz target: the identity layer's input (auth_principal, auth_open of
 * any frame, auth_cred_parse of any credential line, auth_keys_parse of
 * any credentials file's bytes).  Nothing but a frame sealed with the key
 * opens; nothing crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct auth *a;
static struct auth_cred key;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char principal[AUTH_PRINCIPAL_MAX], err[AUTH_ERRLEN], *line;
	struct auth_cred c;
	enum auth_fail why;
	size_t len;
	void *out;

	if (a == NULL) {
		char e[AUTH_ERRLEN];

		if (auth_init() == -1 || (a = auth_create()) == NULL ||
		    auth_cred_new("fuzz", &key, e) == -1)
			abort();
	}
	if (auth_principal(data, size, principal) == 0 &&
	    strcmp(principal, key.principal) == 0) {
		out = auth_open(a, &key, AUTH_TO_MASTER, data, size, &len, &why);
		if (out != NULL)	/* forging a 16-byte MAC by chance */
			abort();
	}
	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	(void)auth_cred_parse(line, &c, err, sizeof(err));
	free(line);
	auth_keys_free(auth_keys_parse((const char *)data, size, "fuzz", err));
	return 0;
}
