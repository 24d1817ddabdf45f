/*
 * rec: records, the unit of every conversation.  A record is one msgpack
 * map with a string "type"; in memory it is a jansson object (json_t), so
 * the same value prints and parses as one JSON line for people and
 * scripts.  Record types and fields are listed in proto.h and in
 * cluster-protocol(7).
 *
 * Decoding is defensive: the encoded bytes are walked and every declared
 * length, the nesting depth and the number of items are checked against
 * the limits below before msgpack-c allocates anything.
 */
#ifndef CLUSTER_REC_H
#define CLUSTER_REC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define REC_MAX_SIZE	(1024 * 1024)	/* one encoded record, bytes */
#define REC_MAX_DEPTH	16		/* nested maps and arrays */
#define REC_MAX_ITEMS	100000		/* elements of one array or map */
#define REC_MAX_STR	65536		/* bytes of one string */
#define REC_MAX_BATCH	1024		/* records of one frame */
#define REC_ERRLEN	256

/*
 * Decode BUF of LEN bytes into a new record.  Returns the record (the
 * caller json_decref()s it), or NULL with a reason in ERR (REC_ERRLEN).
 */
json_t	*rec_unpack(const void *buf, size_t len, char *err);
/*
 * Decode a frame of the wire (cluster-protocol(7), FRAMES): one record, or
 * a msgpack array of 1 to REC_MAX_BATCH records, the whole at most
 * REC_MAX_SIZE bytes.  Returns a JSON array of the records, or NULL with
 * ERR when any of them is not a valid record.
 */
json_t	*rec_unpack_frame(const void *buf, size_t len, char *err);

/*
 * Encode REC as msgpack.  Returns a malloc'd buffer (the caller frees it)
 * and its length in *LEN, or NULL when REC holds a value msgpack records
 * cannot carry.
 */
void	*rec_pack(const json_t *rec, size_t *len);

/*
 * For a stream of msgpack records: the length of the complete record at
 * the start of BUF, 0 when more bytes are needed, or -1 (ERR set) when the
 * bytes can never be a valid record.
 */
long	rec_frame_len(const void *buf, size_t len, char *err);

/* Parse one JSON line into a record; NULL with a reason in ERR. */
json_t	*rec_from_json(const char *line, char *err);
/* Print REC as one compact JSON line plus newline to FP.  Returns 0 or -1. */
int	 rec_print(FILE *fp, const json_t *rec);

/* A new record {"type": TYPE}. */
json_t	*rec_new(const char *type);
/* REC's type, or "" when it has none. */
const char *rec_type(const json_t *rec);

/* Field accessors: NULL/default when the field is missing or mistyped. */
const char *rec_str(const json_t *rec, const char *key);
int	 rec_int(const json_t *rec, const char *key, int64_t *out);
int	 rec_num(const json_t *rec, const char *key, double *out);
int64_t	 rec_int_or(const json_t *rec, const char *key, int64_t dflt);
double	 rec_num_or(const json_t *rec, const char *key, double dflt);
int	 rec_bool_or(const json_t *rec, const char *key, int dflt);

/* Set fields; each returns REC for chaining and ignores NULL values. */
json_t	*rec_set_str(json_t *rec, const char *key, const char *val);
json_t	*rec_set_int(json_t *rec, const char *key, int64_t val);
json_t	*rec_set_num(json_t *rec, const char *key, double val);
json_t	*rec_set_bool(json_t *rec, const char *key, int val);

/*
 * Check that REC has every field of SPEC, a string of "name:kind" words
 * separated by spaces, where kind is s (string), i (integer), n (number),
 * b (boolean), a (array) or o (object); a name starting with '?' is
 * optional but must have the kind when present.  Returns 0, or -1 with
 * ERR naming the first bad field.
 */
int	 rec_require(const json_t *rec, const char *spec, char *err);

/*
 * A new ERROR record carrying CODE (one of the E_ codes of proto.h, for
 * programs), MESSAGE (for people), the type of the record ABOUT at fault
 * ("about") and whichever of its task_id, offer_id, framework_id, agent_id
 * and ref it has, so that the sender can tell which request failed.
 */
json_t	*rec_error(const json_t *about, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* rec_error with the message's arguments in AP (for callers' own wrappers). */
json_t	*rec_verror(const json_t *about, const char *code, const char *fmt,
	    va_list ap) __attribute__((format(printf, 3, 0)));

#endif
