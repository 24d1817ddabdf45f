/*
 * Fuzz target: JSON lines from scripts and people (rec_from_json, the
 * scheduler bridge's and cluster-ctl send's input).  A line that parses
 * into a record that msgpack can carry must come back the same from it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[REC_ERRLEN], *line;
	json_t *r, *again;
	size_t len;
	void *buf;

	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	r = rec_from_json(line, err);
	free(line);
	if (r == NULL)
		return 0;
	if ((buf = rec_pack(r, &len)) != NULL) {
		if ((again = rec_unpack(buf, len, err)) == NULL)
			abort();
		json_decref(again);
		free(buf);
	}
	json_decref(r);
	return 0;
}
