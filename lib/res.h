/*
 * res: resource vectors and attributes in Mesos syntax.
 *
 *   resources   cpus:4;mem:8192;disk:20000;ports:[31000-32000,33000-33100]
 *   reserved    cpus(analytics):2;mem(analytics):1024;cpus:2
 *   attributes  rack:r1;zone:a
 *
 * Scalars are kept in thousandths (fixed point), so adding and taking
 * away never drifts; mem and disk are in MB and accept a K, M, G or T
 * suffix.  Ranges (ports) are sorted, merged lists of inclusive integer
 * intervals.  A struct res owns its range arrays: initialise it with
 * res_init() or res_parse(), copy it with res_copy(), release it with
 * res_free().  Never copy one by assignment.
 *
 * A resource reserved to a role is its own name, "cpus(analytics)", so
 * that adding, taking away and containing keep reserved and unreserved
 * apart; "cpus(*)" is "cpus".  res_collapse() folds them for what counts
 * them together (shares, a task's limits, minimums).
 */
#ifndef CLUSTER_RES_H
#define CLUSTER_RES_H

#include <stddef.h>
#include <stdint.h>

#define RES_MAX		8		/* distinct resource names in one vector */
#define RES_NAMELEN	24
#define RES_MAX_RANGES	1024		/* intervals in one ranges resource */
#define RES_SCALAR_MAX	1000000000000LL	/* largest scalar, in units */
#define RES_ERRLEN	256

enum res_kind { RES_SCALAR, RES_RANGES };

struct res_range {
	uint64_t lo, hi;		/* inclusive */
};

struct res_item {
	char		 name[RES_NAMELEN];
	enum res_kind	 kind;
	int64_t		 milli;		/* RES_SCALAR: value x 1000 */
	uint32_t	 nr;		/* RES_RANGES: intervals */
	struct res_range *r;
};

struct res {
	int		 n;
	struct res_item	 it[RES_MAX];
};

void	res_init(struct res *);
void	res_free(struct res *);
/* Make DST (initialised or not) a deep copy of SRC.  Returns 0 or -1. */
int	res_copy(struct res *dst, const struct res *src);
/*
 * Move SRC into DST (which owns nothing: new, or just freed) and leave SRC
 * empty.  Only the items in use are copied: no allocation, and a few
 * cache lines rather than the whole vector.
 */
void	res_move(struct res *dst, struct res *src);

/*
 * Parse S into OUT (which need not be initialised).  Returns 0, or -1 with
 * a message in ERR (RES_ERRLEN bytes) and OUT empty.
 */
int	res_parse(const char *s, struct res *out, char *err);
/* Format R into BUF of LEN bytes; returns BUF ("" for nothing). */
char	*res_format(const struct res *r, char *buf, size_t len);

/* A += B.  Returns 0, or -1 when the sum overflows or too many names. */
int	res_add(struct res *a, const struct res *b);
/* A -= B when A contains B: returns 0; otherwise returns -1, A unchanged. */
int	res_sub(struct res *a, const struct res *b);
/*
 * OUT (not initialised) = the part of B that A has too: the smaller of each
 * scalar, the intervals both cover.  Returns 0, or -1 (ENOMEM) and OUT empty.
 */
int	res_meet(const struct res *a, const struct res *b, struct res *out);
/*
 * True when a range of B shares a value with A's ranges of the same
 * resource (two holders of one port), which res_add would merge into one.
 * OUT, when not NULL (not initialised), gets the values they share; the
 * caller frees it.  -1 when out of memory.
 */
int	res_overlap(const struct res *a, const struct res *b, struct res *out);
/* True when every resource of B is available in A. */
int	res_contains(const struct res *a, const struct res *b);
/* True when R holds nothing (all scalars zero, no ranges). */
int	res_empty(const struct res *r);
/* The length of NAME without its reservation: 4 for "cpus(analytics)". */
size_t	res_base_len(const char *name);
/* True when NAME is reserved to ROLE ("cpus(ROLE)"). */
int	res_reserved_to(const char *name, const char *role);
/* True when R holds a reserved resource. */
int	res_reserved(const struct res *r);
/*
 * OUT (not initialised) = IN with every reserved resource added to its
 * unreserved name ("cpus(a):2;cpus:1" is "cpus:3").  Returns 0, or -1
 * (out of memory) and OUT empty.
 */
int	res_collapse(const struct res *in, struct res *out);
/* True when R has an item NAME (of any value, zero too). */
int	res_has(const struct res *r, const char *name);
/* The scalar NAME in thousandths (0 when absent). */
int64_t	res_get(const struct res *r, const char *name);
/*
 * Parse the value TEXT of the scalar resource NAME (as "cpus" "1.5") into
 * thousandths.  Returns 0, or -1 with ERR when it is no positive number.
 */
int	res_scalar_parse(const char *name, const char *text, int64_t *milli,
	    char *err);
/* Set the scalar NAME to MILLI thousandths.  Returns 0 or -1. */
int	res_set(struct res *r, const char *name, int64_t milli);

/*
 * Attributes: "name:value;name:value".  Check S; returns 0 or -1 with ERR.
 */
int	attr_check(const char *s, char *err);
/*
 * Does the attribute string ATTRS satisfy constraint string WANT, whose
 * entries are "name:value" or "name:v1|v2|v3" (any of)?  Every entry must
 * hold.  Returns 1 or 0.
 */
int	attr_match(const char *attrs, const char *want);

#endif
