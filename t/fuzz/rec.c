/*
 * Fuzz target: msgpack records off the wire (rec_unpack, rec_frame_len).
 * A record that decodes must encode again and decode to the same record.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rec.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[REC_ERRLEN];
	json_t *r, *again;
	size_t len;
	void *buf;

	(void)rec_frame_len(data, size, err);
	if ((r = rec_unpack(data, size, err)) == NULL)
		return 0;
	if ((buf = rec_pack(r, &len)) != NULL) {
		again = rec_unpack(buf, len, err);
		if (again == NULL || !json_equal(r, again))
			abort();
		json_decref(again);
		free(buf);
	}
	json_decref(r);
	return 0;
}
