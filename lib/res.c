#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "res.h"

void
res_init(struct res *r)
{
	memset(r, 0, sizeof(*r));
}

void
res_free(struct res *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		free(r->it[i].r);
	res_init(r);
}

int
res_copy(struct res *dst, const struct res *src)
{
	int i;

	if (dst == src)
		return 0;
	*dst = *src;
	for (i = 0; i < src->n; i++) {
		if (src->it[i].kind != RES_RANGES || src->it[i].nr == 0) {
			dst->it[i].r = NULL;
			continue;
		}
		dst->it[i].r = reallocarray(NULL, src->it[i].nr,
		    sizeof(struct res_range));
		if (dst->it[i].r == NULL) {
			dst->n = i;
			res_free(dst);
			return -1;
		}
		memcpy(dst->it[i].r, src->it[i].r,
		    src->it[i].nr * sizeof(struct res_range));
	}
	return 0;
}

void
res_move(struct res *dst, struct res *src)
{
	/* items past n are never read: res_slot() clears one it takes */
	dst->n = src->n;
	memcpy(dst->it, src->it, src->n * sizeof(src->it[0]));
	src->n = 0;
}

static struct res_item *
res_find(const struct res *r, const char *name)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->it[i].name, name) == 0)
			return (struct res_item *)&r->it[i];
	return NULL;
}

/* Find NAME in R, adding an empty item of KIND if absent; NULL when full. */
static struct res_item *
res_slot(struct res *r, const char *name, enum res_kind kind)
{
	struct res_item *it = res_find(r, name);

	if (it != NULL)
		return it->kind == kind ? it : NULL;
	if (r->n == RES_MAX)
		return NULL;
	it = &r->it[r->n++];
	memset(it, 0, sizeof(*it));
	strlcpy(it->name, name, sizeof(it->name));
	it->kind = kind;
	return it;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct res_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort and merge IT's intervals in place (adjacent ones join). */
static void
ranges_normalize(struct res_item *it)
{
	uint32_t i, o = 0;

	if (it->nr == 0)
		return;
	qsort(it->r, it->nr, sizeof(*it->r), range_cmp);
	for (i = 1; i < it->nr; i++) {
		if (it->r[i].lo <= it->r[o].hi + 1) {
			if (it->r[i].hi > it->r[o].hi)
				it->r[o].hi = it->r[i].hi;
		} else
			it->r[++o] = it->r[i];
	}
	it->nr = o + 1;
}

/* Parse "[a-b,c-d]" at S into IT; returns 0 or -1 with ERR. */
static int
ranges_parse(const char *s, struct res_item *it, char *err)
{
	const char *p = s + 1;
	size_t len = strlen(s);

	if (len < 2 || s[0] != '[' || s[len - 1] != ']') {
		snprintf(err, RES_ERRLEN, "%s: ranges are written [lo-hi,...]",
		    it->name);
		return -1;
	}
	while (*p != ']') {
		unsigned long long lo, hi;
		char *end;

		if (!isdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		lo = strtoull(p, &end, 10);
		if (errno || *end != '-' || !isdigit((unsigned char)end[1]))
			goto bad;
		hi = strtoull(end + 1, &end, 10);
		if (errno || lo > hi || hi > UINT32_MAX)
			goto bad;
		if (it->nr == RES_MAX_RANGES) {
			snprintf(err, RES_ERRLEN, "%s: more than %d ranges",
			    it->name, RES_MAX_RANGES);
			return -1;
		}
		it->r = reallocarray(it->r, it->nr + 1, sizeof(*it->r));
		if (it->r == NULL) {
			snprintf(err, RES_ERRLEN, "out of memory");
			return -1;
		}
		it->r[it->nr].lo = lo;
		it->r[it->nr++].hi = hi;
		p = end;
		if (*p == ',' && p[1] != ']')
			p++;
		else if (*p != ']')
			goto bad;
	}
	ranges_normalize(it);
	return 0;
bad:
	snprintf(err, RES_ERRLEN, "%s: bad range list '%s' (want [lo-hi,...] "
	    "with lo <= hi < 2^32)", it->name, s);
	return -1;
}

/* Parse scalar text V for resource NAME into thousandths. */
static int
scalar_parse(const char *name, const char *v, int64_t *milli, char *err)
{
	double x, mult = 1;
	char *end;
	int sized = strcmp(name, "mem") == 0 || strcmp(name, "disk") == 0;

	if (!isdigit((unsigned char)*v) && *v != '.')
		goto bad;
	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || !isfinite(x) || x < 0)
		goto bad;
	if (*end != '\0' && sized && end[1] == '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'K': mult = 1.0 / 1024; break;
		case 'M': mult = 1; break;
		case 'G': mult = 1024; break;
		case 'T': mult = 1024.0 * 1024; break;
		default: goto bad;
		}
	} else if (*end != '\0')
		goto bad;
	x *= mult;
	if (x > RES_SCALAR_MAX) {
		snprintf(err, RES_ERRLEN, "%s: %s is too large (at most %lld)",
		    name, v, RES_SCALAR_MAX);
		return -1;
	}
	*milli = llround(x * 1000);
	return 0;
bad:
	snprintf(err, RES_ERRLEN, "%s: '%s' is not a non-negative number%s",
	    name, v, sized ? " (MB, or with a K, M, G or T suffix)" : "");
	return -1;
}

/*
 * Is S a resource name: a base name (lower case letters, digits, _ and
 * -, starting with a letter), reserved or not ("cpus(analytics)"), that
 * fits RES_NAMELEN?  "name(*)", unreserved, is made "name" in place.
 */
static int
name_ok(char *s)
{
	size_t i, n = strcspn(s, "(");

	if (!islower((unsigned char)s[0]))
		return 0;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	if (s[n] == '\0')
		return n < RES_NAMELEN;
	if (strcmp(s + n, "(*)") == 0) {
		s[n] = '\0';
		return 1;
	}
	for (i = n + 1; s[i] != '\0' && s[i] != ')'; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL)
			return 0;
	return i > n + 1 && s[i] == ')' && s[i + 1] == '\0' && i + 1 < RES_NAMELEN;
}

size_t
res_base_len(const char *name)
{
	return strcspn(name, "(");
}

int
res_reserved_to(const char *name, const char *role)
{
	size_t n = strcspn(name, "("), k;

	if (name[n] == '\0')
		return 0;
	k = strlen(role);
	return strncmp(name + n + 1, role, k) == 0 && name[n + 1 + k] == ')' &&
	    name[n + 2 + k] == '\0';
}

int
res_reserved(const struct res *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		if (r->it[i].name[strcspn(r->it[i].name, "(")] != '\0')
			return 1;
	return 0;
}

int
res_collapse(const struct res *in, struct res *out)
{
	struct res one;
	int i;

	res_init(out);
	for (i = 0; i < in->n; i++) {
		res_init(&one);
		one.n = 1;
		one.it[0] = in->it[i];
		one.it[0].name[res_base_len(one.it[0].name)] = '\0';
		/* res_add copies ONE's ranges: it stays the caller's */
		if (res_add(out, &one) == -1) {
			res_free(out);
			return -1;
		}
	}
	return 0;
}

int
res_parse(const char *s, struct res *out, char *err)
{
	char *copy, *p, *w;

	res_init(out);
	if (s == NULL) {
		snprintf(err, RES_ERRLEN, "no resources given");
		return -1;
	}
	if ((copy = strdup(s)) == NULL) {
		snprintf(err, RES_ERRLEN, "out of memory");
		return -1;
	}
	for (p = copy; (w = strsep(&p, ";")) != NULL;) {
		char *colon, *v;
		struct res_item *it;

		while (isspace((unsigned char)*w))
			w++;
		if (*w == '\0')
			continue;
		if ((colon = strchr(w, ':')) == NULL) {
			snprintf(err, RES_ERRLEN, "'%s' is not name:value", w);
			goto fail;
		}
		*colon = '\0';
		v = colon + 1;
		if (!name_ok(w)) {
			snprintf(err, RES_ERRLEN, "'%s' is not a resource name "
			    "(lower case letters, digits, _ and -, then "
			    "(role) when reserved; at most %d characters)", w,
			    RES_NAMELEN - 1);
			goto fail;
		}
		if (res_find(out, w) != NULL) {
			snprintf(err, RES_ERRLEN, "%s is given twice", w);
			goto fail;
		}
		it = res_slot(out, w, *v == '[' ? RES_RANGES : RES_SCALAR);
		if (it == NULL) {
			snprintf(err, RES_ERRLEN, "more than %d resources", RES_MAX);
			goto fail;
		}
		if (it->kind == RES_RANGES) {
			if (ranges_parse(v, it, err) == -1)
				goto fail;
		} else {
			char base[RES_NAMELEN];

			/* mem(analytics) takes the suffixes of mem */
			snprintf(base, sizeof(base), "%.*s", (int)res_base_len(w), w);
			if (scalar_parse(base, v, &it->milli, err) == -1)
				goto fail;
		}
	}
	free(copy);
	return 0;
fail:
	free(copy);
	res_free(out);
	return -1;
}

char *
res_format(const struct res *r, char *buf, size_t len)
{
	size_t off = 0;
	int i;
	uint32_t k;

	buf[0] = '\0';
	for (i = 0; i < r->n && off < len; i++) {
		const struct res_item *it = &r->it[i];

		if (it->kind == RES_SCALAR) {
			if (it->milli == 0)
				continue;
			if (it->milli % 1000 == 0)
				off += snprintf(buf + off, len - off, "%s%s:%" PRId64,
				    off ? ";" : "", it->name, it->milli / 1000);
			else {
				/* exact thousandths: %g would round them away */
				char frac[8];
				int z;

				snprintf(frac, sizeof(frac), "%03d",
				    (int)(it->milli % 1000));
				for (z = 2; z > 0 && frac[z] == '0'; z--)
					frac[z] = '\0';
				off += snprintf(buf + off, len - off, "%s%s:%" PRId64
				    ".%s", off ? ";" : "", it->name,
				    it->milli / 1000, frac);
			}
			continue;
		}
		if (it->nr == 0)
			continue;
		off += snprintf(buf + off, len - off, "%s%s:[", off ? ";" : "",
		    it->name);
		for (k = 0; k < it->nr && off < len; k++)
			off += snprintf(buf + off, len - off, "%s%" PRIu64 "-%" PRIu64,
			    k ? "," : "", it->r[k].lo, it->r[k].hi);
		if (off < len)
			off += snprintf(buf + off, len - off, "]");
	}
	if (off >= len && len > 4)
		strlcpy(buf + len - 4, "...", 4);
	return buf;
}

/* Does interval list A (sorted, merged) cover every interval of B? */
static int
ranges_cover(const struct res_item *a, const struct res_item *b)
{
	uint32_t i, j = 0;

	for (i = 0; i < b->nr; i++) {
		while (j < a->nr && a->r[j].hi < b->r[i].lo)
			j++;
		if (j == a->nr || a->r[j].lo > b->r[i].lo ||
		    a->r[j].hi < b->r[i].hi)
			return 0;
	}
	return 1;
}

int
res_contains(const struct res *a, const struct res *b)
{
	int i;

	for (i = 0; i < b->n; i++) {
		const struct res_item *bi = &b->it[i];
		const struct res_item *ai = res_find(a, bi->name);

		if (bi->kind == RES_SCALAR) {
			if (bi->milli == 0)
				continue;
			if (ai == NULL || ai->kind != RES_SCALAR ||
			    ai->milli < bi->milli)
				return 0;
		} else {
			if (bi->nr == 0)
				continue;
			if (ai == NULL || ai->kind != RES_RANGES ||
			    !ranges_cover(ai, bi))
				return 0;
		}
	}
	return 1;
}

int
res_add(struct res *a, const struct res *b)
{
	struct res tmp;
	int i;

	/* work on a copy so that a failure leaves A as it was */
	if (res_copy(&tmp, a) == -1)
		return -1;
	for (i = 0; i < b->n; i++) {
		const struct res_item *bi = &b->it[i];
		struct res_item *ti = res_slot(&tmp, bi->name, bi->kind);

		if (ti == NULL)
			goto fail;
		if (bi->kind == RES_SCALAR) {
			if (ti->milli > RES_SCALAR_MAX * 1000 - bi->milli)
				goto fail;
			ti->milli += bi->milli;
			continue;
		}
		if (bi->nr == 0)
			continue;
		if (ti->nr + bi->nr > RES_MAX_RANGES * 2)
			goto fail;
		ti->r = reallocarray(ti->r, ti->nr + bi->nr, sizeof(*ti->r));
		if (ti->r == NULL)
			goto fail;
		memcpy(ti->r + ti->nr, bi->r, bi->nr * sizeof(*bi->r));
		ti->nr += bi->nr;
		ranges_normalize(ti);
	}
	res_free(a);
	*a = tmp;
	return 0;
fail:
	res_free(&tmp);
	return -1;
}

/* Remove interval list B from A (A covers B); returns 0 or -1 (ENOMEM). */
static int
ranges_remove(struct res_item *a, const struct res_item *b)
{
	uint32_t i, k;

	for (i = 0; i < b->nr; i++) {
		for (k = 0; k < a->nr; k++) {
			struct res_range *x = &a->r[k];

			if (x->hi < b->r[i].lo || x->lo > b->r[i].hi)
				continue;
			if (x->lo == b->r[i].lo && x->hi == b->r[i].hi) {
				memmove(x, x + 1, (a->nr - k - 1) * sizeof(*x));
				a->nr--;
			} else if (x->lo == b->r[i].lo)
				x->lo = b->r[i].hi + 1;
			else if (x->hi == b->r[i].hi)
				x->hi = b->r[i].lo - 1;
			else {		/* split in two */
				struct res_range *n = reallocarray(a->r,
				    a->nr + 1, sizeof(*n));

				if (n == NULL)
					return -1;
				a->r = n;
				x = &a->r[k];
				memmove(x + 2, x + 1, (a->nr - k - 1) * sizeof(*x));
				a->nr++;
				x[1].lo = b->r[i].hi + 1;
				x[1].hi = x->hi;
				x->hi = b->r[i].lo - 1;
			}
			break;
		}
	}
	return 0;
}

int
res_sub(struct res *a, const struct res *b)
{
	struct res tmp;
	int i;

	if (!res_contains(a, b) || res_copy(&tmp, a) == -1)
		return -1;
	for (i = 0; i < b->n; i++) {
		const struct res_item *bi = &b->it[i];
		struct res_item *ti = res_find(&tmp, bi->name);

		if (ti == NULL)		/* only zero items are missing */
			continue;
		if (bi->kind == RES_SCALAR)
			ti->milli -= bi->milli;
		else if (ranges_remove(ti, bi) == -1) {
			res_free(&tmp);
			return -1;
		}
	}
	res_free(a);
	*a = tmp;
	return 0;
}

/* The intervals both A and B cover, appended to OUT; 0 or -1 (ENOMEM). */
static int
ranges_meet(const struct res_item *a, const struct res_item *b,
    struct res_item *out)
{
	uint32_t i = 0, j = 0;

	while (i < a->nr && j < b->nr) {
		uint64_t lo = a->r[i].lo > b->r[j].lo ? a->r[i].lo : b->r[j].lo;
		uint64_t hi = a->r[i].hi < b->r[j].hi ? a->r[i].hi : b->r[j].hi;

		if (lo <= hi) {
			struct res_range *n = reallocarray(out->r, out->nr + 1,
			    sizeof(*n));

			if (n == NULL)
				return -1;
			out->r = n;
			out->r[out->nr].lo = lo;
			out->r[out->nr++].hi = hi;
		}
		if (a->r[i].hi < b->r[j].hi)
			i++;
		else
			j++;
	}
	return 0;
}

int
res_meet(const struct res *a, const struct res *b, struct res *out)
{
	int i;

	res_init(out);
	for (i = 0; i < b->n; i++) {
		const struct res_item *bi = &b->it[i];
		const struct res_item *ai = res_find(a, bi->name);
		struct res_item *oi;

		if (ai == NULL || ai->kind != bi->kind)
			continue;
		if (bi->kind == RES_SCALAR) {
			int64_t v = ai->milli < bi->milli ? ai->milli : bi->milli;

			if (v > 0 && res_set(out, bi->name, v) == -1)
				goto fail;
			continue;
		}
		if ((oi = res_slot(out, bi->name, RES_RANGES)) == NULL ||
		    ranges_meet(ai, bi, oi) == -1)
			goto fail;
	}
	return 0;
fail:
	res_free(out);
	return -1;
}

int
res_overlap(const struct res *a, const struct res *b, struct res *out)
{
	struct res_item one;
	int i, found = 0;

	if (out != NULL)
		res_init(out);
	for (i = 0; i < b->n; i++) {
		const struct res_item *bi = &b->it[i];
		const struct res_item *ai = res_find(a, bi->name);
		struct res_item *oi;

		if (ai == NULL || ai->kind != RES_RANGES ||
		    bi->kind != RES_RANGES)
			continue;
		memset(&one, 0, sizeof(one));
		if (ranges_meet(ai, bi, &one) == -1)
			goto fail;
		if (one.nr > 0) {
			found = 1;
			if (out != NULL) {
				if ((oi = res_slot(out, bi->name,
				    RES_RANGES)) == NULL)
					goto fail;
				free(oi->r);
				oi->r = one.r;
				oi->nr = one.nr;
				one.r = NULL;
			}
		}
		free(one.r);
	}
	return found;
fail:
	free(one.r);
	if (out != NULL)
		res_free(out);
	return -1;
}

int
res_empty(const struct res *r)
{
	int i;

	for (i = 0; i < r->n; i++)
		if ((r->it[i].kind == RES_SCALAR && r->it[i].milli != 0) ||
		    (r->it[i].kind == RES_RANGES && r->it[i].nr != 0))
			return 0;
	return 1;
}

int
res_has(const struct res *r, const char *name)
{
	return res_find(r, name) != NULL;
}

int64_t
res_get(const struct res *r, const char *name)
{
	const struct res_item *it = res_find(r, name);

	return it != NULL && it->kind == RES_SCALAR ? it->milli : 0;
}

int
res_set(struct res *r, const char *name, int64_t milli)
{
	struct res_item *it = res_slot(r, name, RES_SCALAR);

	if (it == NULL || milli < 0)
		return -1;
	it->milli = milli;
	return 0;
}

int
attr_check(const char *s, char *err)
{
	const char *p = s;

	while (*p) {
		const char *semi = strchr(p, ';'), *colon = strchr(p, ':');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);

		if (len == 0) {
			p++;
			continue;
		}
		if (colon == NULL || colon >= p + len || colon == p ||
		    colon == p + len - 1) {
			snprintf(err, RES_ERRLEN, "'%.*s' is not name:value",
			    (int)len, p);
			return -1;
		}
		p += len;
		if (*p == ';')
			p++;
	}
	return 0;
}

/* Copy the value of attribute NAME (len NLEN) in ATTRS into BUF; 0 or -1. */
static int
attr_get(const char *attrs, const char *name, size_t nlen, char *buf, size_t len)
{
	const char *p = attrs;

	while (p != NULL && *p) {
		const char *semi = strchr(p, ';');
		size_t elen = semi ? (size_t)(semi - p) : strlen(p);

		if (elen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == ':') {
			size_t vlen = elen - nlen - 1;

			if (vlen >= len)
				vlen = len - 1;
			memcpy(buf, p + nlen + 1, vlen);
			buf[vlen] = '\0';
			return 0;
		}
		p = semi ? semi + 1 : NULL;
	}
	return -1;
}

int
attr_match(const char *attrs, const char *want)
{
	const char *p = want;

	if (want == NULL || *want == '\0')
		return 1;
	while (p != NULL && *p) {
		const char *semi = strchr(p, ';'), *colon = strchr(p, ':');
		size_t elen = semi ? (size_t)(semi - p) : strlen(p);
		char have[256], alts[256], *a, *alt;
		int ok = 0;

		if (colon == NULL || colon >= p + elen) {
			p = semi ? semi + 1 : NULL;
			continue;
		}
		if (attr_get(attrs ? attrs : "", p, colon - p, have,
		    sizeof(have)) == -1)
			return 0;
		snprintf(alts, sizeof(alts), "%.*s", (int)(p + elen - colon - 1),
		    colon + 1);
		for (a = alts; (alt = strsep(&a, "|")) != NULL;)
			if (strcmp(alt, have) == 0)
				ok = 1;
		if (!ok)
			return 0;
		p = semi ? semi + 1 : NULL;
	}
	return 1;
}

int
res_scalar_parse(const char *name, const char *text, int64_t *milli, char *err)
{
	char spec[RES_NAMELEN + 128];
	struct res r;

	snprintf(spec, sizeof(spec), "%s:%s", name, text);
	if (res_parse(spec, &r, err) == -1)
		return -1;
	*milli = res_get(&r, name);
	res_free(&r);
	if (*milli <= 0) {
		snprintf(err, RES_ERRLEN, "%s must be more than 0", name);
		return -1;
	}
	return 0;
}
