#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>

#include "rec.h"

/*
 * Walk one encoded msgpack value at BUF[*POS..LEN) without allocating,
 * checking each declared length against what is left of the frame and
 * against the REC_MAX_* limits.  Advances *POS.  Returns 0, -1 with ERR for
 * bytes that can never be valid, or -2 with ERR when they end too early.
 */
static int
rec_walk(const uint8_t *b, size_t len, size_t *pos, int depth, char *err)
{
	size_t left, n = 0, skip = 0, i;
	uint8_t c;
	int container = 0;	/* 1: array of n, 2: map of n pairs */

	if (depth > REC_MAX_DEPTH) {
		snprintf(err, REC_ERRLEN, "nested deeper than %d", REC_MAX_DEPTH);
		return -1;
	}
	if (*pos >= len)
		goto truncated;
	c = b[(*pos)++];
	left = len - *pos;

#define NEED(k) do { if (left < (k)) goto truncated; } while (0)
#define BE16(p) (((size_t)(p)[0] << 8) | (p)[1])
#define BE32(p) (((size_t)(p)[0] << 24) | ((size_t)(p)[1] << 16) | \
		 ((size_t)(p)[2] << 8) | (p)[3])
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		return 0;
	if ((c & 0xe0) == 0xa0) {			/* fixstr */
		skip = c & 0x1f;
	} else if ((c & 0xf0) == 0x90) {		/* fixarray */
		n = c & 0x0f;
		container = 1;
	} else if ((c & 0xf0) == 0x80) {		/* fixmap */
		n = c & 0x0f;
		container = 2;
	} else switch (c) {
	case 0xcc: case 0xd0: skip = 1; break;
	case 0xcd: case 0xd1: skip = 2; break;
	case 0xca: case 0xce: case 0xd2: skip = 4; break;
	case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
	case 0xd9: NEED(1); skip = 1 + b[*pos]; break;
	case 0xda: NEED(2); skip = 2 + BE16(b + *pos); break;
	case 0xdb: NEED(4); skip = 4 + BE32(b + *pos); break;
	case 0xdc: NEED(2); n = BE16(b + *pos); *pos += 2; container = 1; break;
	case 0xdd: NEED(4); n = BE32(b + *pos); *pos += 4; container = 1; break;
	case 0xde: NEED(2); n = BE16(b + *pos); *pos += 2; container = 2; break;
	case 0xdf: NEED(4); n = BE32(b + *pos); *pos += 4; container = 2; break;
	default:
		/* bin, ext and the reserved byte carry nothing a record uses */
		snprintf(err, REC_ERRLEN, "unsupported msgpack type 0x%02x", c);
		return -1;
	}
	if (!container) {
		/* skip counts the length bytes of str8/16/32 too */
		if (skip - (c == 0xd9 ? 1 : c == 0xda ? 2 : c == 0xdb ? 4 : 0) >
		    REC_MAX_STR) {
			snprintf(err, REC_ERRLEN, "string longer than %d bytes",
			    REC_MAX_STR);
			return -1;
		}
		NEED(skip);
		*pos += skip;
		return 0;
	}
	left = len - *pos;
	/* every element takes at least one byte: a bigger count is a lie */
	if (n > REC_MAX_ITEMS || n * container > left) {
		snprintf(err, REC_ERRLEN, "%s declares %zu items, more than %s",
		    container == 1 ? "array" : "map", n,
		    n > REC_MAX_ITEMS ? "the limit" : "the frame holds");
		return n > REC_MAX_ITEMS ? -1 : -2;
	}
	for (i = 0; i < n * container; i++) {
		int r = rec_walk(b, len, pos, depth + 1, err);

		if (r < 0)
			return r;
	}
	return 0;
truncated:
	snprintf(err, REC_ERRLEN, "truncated msgpack data");
	return -2;
#undef NEED
#undef BE16
#undef BE32
}

/* Convert a checked msgpack object into a jansson value, or NULL with ERR. */
static json_t *
rec_from_obj(const msgpack_object *o, char *err)
{
	json_t *j;
	uint32_t i;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return json_null();
	case MSGPACK_OBJECT_BOOLEAN:
		return json_boolean(o->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > INT64_MAX) {
			snprintf(err, REC_ERRLEN, "integer out of range");
			return NULL;
		}
		return json_integer((json_int_t)o->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return json_integer((json_int_t)o->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (!isfinite(o->via.f64)) {
			snprintf(err, REC_ERRLEN, "number is not finite");
			return NULL;
		}
		return json_real(o->via.f64);
	case MSGPACK_OBJECT_STR:
		if (o->via.str.size == 0)
			return json_string("");
		j = json_stringn_nocheck(o->via.str.ptr, o->via.str.size);
		if (j == NULL || memchr(o->via.str.ptr, '\0', o->via.str.size)) {
			json_decref(j);
			snprintf(err, REC_ERRLEN, "string holds a NUL byte");
			return NULL;
		}
		return j;
	case MSGPACK_OBJECT_ARRAY:
		j = json_array();
		for (i = 0; i < o->via.array.size; i++) {
			json_t *v = rec_from_obj(&o->via.array.ptr[i], err);

			if (v == NULL) {
				json_decref(j);
				return NULL;
			}
			json_array_append_new(j, v);
		}
		return j;
	case MSGPACK_OBJECT_MAP:
		j = json_object();
		for (i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];
			char key[256];
			json_t *v;

			if (kv->key.type != MSGPACK_OBJECT_STR ||
			    kv->key.via.str.size == 0 ||
			    kv->key.via.str.size >= sizeof(key) ||
			    memchr(kv->key.via.str.ptr, '\0', kv->key.via.str.size)) {
				json_decref(j);
				snprintf(err, REC_ERRLEN,
				    "map key is not a string of 1 to 255 bytes");
				return NULL;
			}
			memcpy(key, kv->key.via.str.ptr, kv->key.via.str.size);
			key[kv->key.via.str.size] = '\0';
			if ((v = rec_from_obj(&kv->val, err)) == NULL) {
				json_decref(j);
				return NULL;
			}
			json_object_set_new_nocheck(j, key, v);
		}
		return j;
	default:
		snprintf(err, REC_ERRLEN, "unsupported msgpack type");
		return NULL;
	}
}

long
rec_frame_len(const void *buf, size_t len, char *err)
{
	size_t pos = 0;

	if (len == 0)
		return 0;
	switch (rec_walk(buf, len, &pos, 0, err)) {
	case 0:
		return (long)pos;
	case -2:
		return len >= REC_MAX_SIZE ? -1 : 0;
	default:
		return -1;
	}
}

/* Is the msgpack value starting with byte C a map (an array when ARRAY)? */
static int
rec_is(uint8_t c, int array)
{
	if (array)
		return c == 0xdc || c == 0xdd || (c & 0xf0) == 0x90;
	return c == 0xde || c == 0xdf || (c & 0xf0) == 0x80;
}

/* One decoded map O as a record: it must have a string "type". */
static json_t *
rec_from_map(const msgpack_object *o, char *err)
{
	json_t *rec;

	if (o->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, REC_ERRLEN, "record is not a msgpack map");
		return NULL;
	}
	if ((rec = rec_from_obj(o, err)) != NULL && rec_str(rec, "type") == NULL) {
		json_decref(rec);
		snprintf(err, REC_ERRLEN, "record has no string field 'type'");
		return NULL;
	}
	return rec;
}

/*
 * Decode BUF of LEN: one record, or when BATCH, a frame: one record or an
 * array of 1 to REC_MAX_BATCH of them, returned as a JSON array.
 */
static json_t *
rec_decode(const void *buf, size_t len, int batch, char *err)
{
	const uint8_t *b = buf;
	msgpack_zone zone;
	msgpack_object obj;
	size_t pos = 0, off = 0;
	json_t *out = NULL, *rec;
	uint32_t i;

	if (len > REC_MAX_SIZE) {
		snprintf(err, REC_ERRLEN, "record larger than %d bytes",
		    REC_MAX_SIZE);
		return NULL;
	}
	if (len == 0) {
		snprintf(err, REC_ERRLEN, "empty record");
		return NULL;
	}
	if (rec_walk(buf, len, &pos, 0, err) != 0)
		return NULL;
	if (pos != len) {
		snprintf(err, REC_ERRLEN, "%zu bytes of garbage after the record",
		    len - pos);
		return NULL;
	}
	if (!rec_is(b[0], 0) && !(batch && rec_is(b[0], 1))) {
		snprintf(err, REC_ERRLEN, batch ? "frame is neither a msgpack "
		    "map nor an array of them" : "record is not a msgpack map");
		return NULL;
	}
	msgpack_zone_init(&zone, 2048);
	if (msgpack_unpack(buf, len, &off, &zone, &obj) != MSGPACK_UNPACK_SUCCESS) {
		msgpack_zone_destroy(&zone);
		snprintf(err, REC_ERRLEN, "malformed msgpack data");
		return NULL;
	}
	if (obj.type != MSGPACK_OBJECT_ARRAY) {
		rec = rec_from_map(&obj, err);
		if (rec != NULL && batch && (out = json_array()) != NULL)
			json_array_append_new(out, rec);
		else if (!batch)
			out = rec;
		else
			json_decref(rec);
	} else if (obj.via.array.size == 0 ||
	    obj.via.array.size > REC_MAX_BATCH)
		snprintf(err, REC_ERRLEN, "a frame of %u records: 1 to %d "
		    "are taken", obj.via.array.size, REC_MAX_BATCH);
	else if ((out = json_array()) != NULL)
		for (i = 0; i < obj.via.array.size; i++) {
			if ((rec = rec_from_map(&obj.via.array.ptr[i], err)) ==
			    NULL) {
				json_decref(out);
				out = NULL;
				break;
			}
			json_array_append_new(out, rec);
		}
	msgpack_zone_destroy(&zone);
	return out;
}

json_t *
rec_unpack(const void *buf, size_t len, char *err)
{
	return rec_decode(buf, len, 0, err);
}

json_t *
rec_unpack_frame(const void *buf, size_t len, char *err)
{
	return rec_decode(buf, len, 1, err);
}

/* Append V to the packer; returns 0 or -1 for a value msgpack can't carry. */
static int
rec_pack_value(msgpack_packer *pk, const json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_NULL:
		return msgpack_pack_nil(pk);
	case JSON_TRUE:
		return msgpack_pack_true(pk);
	case JSON_FALSE:
		return msgpack_pack_false(pk);
	case JSON_INTEGER:
		return msgpack_pack_int64(pk, json_integer_value(v));
	case JSON_REAL:
		return msgpack_pack_double(pk, json_real_value(v));
	case JSON_STRING:
		msgpack_pack_str(pk, json_string_length(v));
		return msgpack_pack_str_body(pk, json_string_value(v),
		    json_string_length(v));
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(v));
		json_array_foreach(v, i, e)
			if (rec_pack_value(pk, e) == -1)
				return -1;
		return 0;
	case JSON_OBJECT:
		msgpack_pack_map(pk, json_object_size(v));
		json_object_foreach((json_t *)v, k, e) {
			msgpack_pack_str(pk, strlen(k));
			msgpack_pack_str_body(pk, k, strlen(k));
			if (rec_pack_value(pk, e) == -1)
				return -1;
		}
		return 0;
	}
	return -1;
}

void *
rec_pack(const json_t *rec, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (rec_pack_value(&pk, rec) == -1) {
		msgpack_sbuffer_destroy(&sb);
		return NULL;
	}
	*len = sb.size;
	return msgpack_sbuffer_release(&sb);
}

json_t *
rec_from_json(const char *line, char *err)
{
	json_error_t je;
	json_t *rec;
	size_t len;
	void *buf;

	if (strlen(line) > REC_MAX_SIZE) {
		snprintf(err, REC_ERRLEN, "line longer than %d bytes",
		    REC_MAX_SIZE);
		return NULL;
	}
	rec = json_loads(line, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &je);
	if (rec == NULL) {
		snprintf(err, REC_ERRLEN, "bad JSON at column %d: %s",
		    je.column, je.text);
		return NULL;
	}
	if (!json_is_object(rec) || rec_str(rec, "type") == NULL) {
		json_decref(rec);
		snprintf(err, REC_ERRLEN,
		    "a record is a JSON object with a string field 'type'");
		return NULL;
	}
	/* one set of limits: a line must be a record the wire takes */
	buf = rec_pack(rec, &len);
	json_decref(rec);
	if (buf == NULL) {
		snprintf(err, REC_ERRLEN, "a value no record can carry");
		return NULL;
	}
	rec = rec_unpack(buf, len, err);
	free(buf);
	return rec;
}

int
rec_print(FILE *fp, const json_t *rec)
{
	if (json_dumpf(rec, fp, JSON_COMPACT | JSON_PRESERVE_ORDER) == -1)
		return -1;
	if (fputc('\n', fp) == EOF)
		return -1;
	return fflush(fp) == EOF ? -1 : 0;
}

json_t *
rec_new(const char *type)
{
	json_t *r = json_object();

	json_object_set_new(r, "type", json_string(type));
	return r;
}

const char *
rec_type(const json_t *rec)
{
	const char *t = rec_str(rec, "type");

	return t != NULL ? t : "";
}

const char *
rec_str(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

int
rec_int(const json_t *rec, const char *key, int64_t *out)
{
	json_t *v = json_object_get(rec, key);

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	/* a whole real (3.0) from a loose client still counts */
	if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v)) {
		*out = (int64_t)json_real_value(v);
		return 0;
	}
	return -1;
}

int
rec_num(const json_t *rec, const char *key, double *out)
{
	json_t *v = json_object_get(rec, key);

	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}

int64_t
rec_int_or(const json_t *rec, const char *key, int64_t dflt)
{
	int64_t v;

	return rec_int(rec, key, &v) == 0 ? v : dflt;
}

double
rec_num_or(const json_t *rec, const char *key, double dflt)
{
	double v;

	return rec_num(rec, key, &v) == 0 ? v : dflt;
}

int
rec_bool_or(const json_t *rec, const char *key, int dflt)
{
	json_t *v = json_object_get(rec, key);

	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* Set KEY of REC to the new value V, unless V is NULL.  Returns REC. */
static json_t *
rec_set(json_t *rec, const char *key, json_t *v)
{
	if (v != NULL)
		json_object_set_new(rec, key, v);
	return rec;
}

json_t *
rec_set_str(json_t *rec, const char *key, const char *val)
{
	return rec_set(rec, key, val != NULL ? json_string(val) : NULL);
}

json_t *
rec_set_int(json_t *rec, const char *key, int64_t val)
{
	return rec_set(rec, key, json_integer(val));
}

json_t *
rec_set_num(json_t *rec, const char *key, double val)
{
	return rec_set(rec, key, isfinite(val) ? json_real(val) : NULL);
}

json_t *
rec_set_bool(json_t *rec, const char *key, int val)
{
	return rec_set(rec, key, json_boolean(val));
}

int
rec_require(const json_t *rec, const char *spec, char *err)
{
	char buf[512], *p, *w, *kind;

	strlcpy(buf, spec, sizeof(buf));
	for (p = buf; (w = strsep(&p, " ")) != NULL;) {
		int optional = 0, ok;
		json_t *v;

		if (*w == '\0')
			continue;
		if (*w == '?') {
			optional = 1;
			w++;
		}
		if ((kind = strchr(w, ':')) == NULL)
			continue;
		*kind++ = '\0';
		v = json_object_get(rec, w);
		if (v == NULL) {
			if (optional)
				continue;
			snprintf(err, REC_ERRLEN, "%s: field '%s' is missing",
			    rec_type(rec), w);
			return -1;
		}
		switch (*kind) {
		case 's': ok = json_is_string(v); break;
		case 'i': ok = json_is_integer(v); break;
		case 'n': ok = json_is_number(v); break;
		case 'b': ok = json_is_boolean(v); break;
		case 'a': ok = json_is_array(v); break;
		case 'o': ok = json_is_object(v); break;
		default: ok = 1;
		}
		if (!ok) {
			static const char *names[] = { "s", "a string", "i",
			    "an integer", "n", "a number", "b", "a boolean",
			    "a", "an array", "o", "a map" };
			const char *want = "?";
			size_t i;

			for (i = 0; i < sizeof(names) / sizeof(*names); i += 2)
				if (*kind == names[i][0])
					want = names[i + 1];
			snprintf(err, REC_ERRLEN, "%s: field '%s' must be %s",
			    rec_type(rec), w, want);
			return -1;
		}
	}
	return 0;
}

json_t *
rec_error(const json_t *about, const char *code, const char *fmt, ...)
{
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	e = rec_verror(about, code, fmt, ap);
	va_end(ap);
	return e;
}

json_t *
rec_verror(const json_t *about, const char *code, const char *fmt, va_list ap)
{
	char msg[512];
	json_t *e;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	e = rec_new("ERROR");
	rec_set_str(e, "code", code);
	rec_set_str(e, "message", msg);
	if (about != NULL) {
		rec_set_str(e, "about", rec_str(about, "type"));
		/* echo what lets the sender match the error to its request */
		rec_set_str(e, "task_id", rec_str(about, "task_id"));
		rec_set_str(e, "offer_id", rec_str(about, "offer_id"));
		if (json_object_get(about, "ref") != NULL)
			json_object_set(e, "ref", json_object_get(about, "ref"));
		rec_set_str(e, "framework_id", rec_str(about, "framework_id"));
		rec_set_str(e, "agent_id", rec_str(about, "agent_id"));
	}
	return e;
}
