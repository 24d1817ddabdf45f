/*
 * Fuzz target: msgpack records off the wire (rec_unpack, rec_frame_len,
 * rec_unpack_frame).  A record that decodes must encode again and decode
 * to the same record; a frame holds 1 to REC_MAX_BATCH records, a lone
 * record being a frame of one.
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
	if ((r = rec_unpack_frame(data, size, err)) != NULL) {
		if (json_array_size(r) < 1 ||
		    json_array_size(r) > REC_MAX_BATCH)
			abort();
		json_decref(r);
	}
	if ((r = rec_unpack(data, size, err)) == NULL)
		return 0;
	/* a record is a frame of one, the same record */
	if ((again = rec_unpack_frame(data, size, err)) == NULL ||
	    json_array_size(again) != 1 ||
	    !json_equal(json_array_get(again, 0), r))
		abort();
	json_decref(again);
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
