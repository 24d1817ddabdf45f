/*
 * acl: the master's authorization rules (cluster-acl(5)), parsed from
 * memory and matched.  A file of lines
 *
 *   permit|deny PRINCIPAL ACTION [OBJECT ...]
 *
 * where PRINCIPAL is a principal or "*"; the last rule that matches a
 * request decides (doas.conf semantics), and none matching denies.  No
 * file at all (a NULL struct acl) is the default policy: everything but
 * running as uid 0 and killing another principal's work is permitted.
 *
 * The parser takes bytes, not a path, so that a process that may not open
 * the file (offerd after dropping privileges) can be handed them, and the
 * fuzzer can feed it.  Who frees what: acl_parse() returns a struct acl
 * freed with acl_free(); acl_read() returns a buffer freed with free().
 */
#ifndef CLUSTER_ACL_H
#define CLUSTER_ACL_H

#include <stddef.h>

#define ACL_ERRLEN	256
#define ACL_FILE_MAX	(1 << 20)	/* bytes: an ACL file is a page or two */

/* What a rule permits or denies; the objects of each are in acl.c. */
enum acl_action {
	ACL_REGISTER,	/* subscribe frameworks in these roles */
	ACL_RUN_AS,	/* run tasks as these users */
	ACL_AGENT,	/* register agents */
	ACL_KILL,	/* kill and tear down these principals' frameworks */
	ACL_WEIGHT,	/* set these roles' weights */
	ACL_QUERY,	/* these operator queries */
	ACL_VIEW,	/* see these principals' frameworks and tasks */
	ACL_DRAIN,	/* drain and undrain these agents */
	ACL_QUOTA,	/* set and remove these roles' quota */
	ACL_RESERVE	/* reserve and unreserve resources for these roles */
};

struct acl;

/*
 * Parse the LEN bytes of BUF (no NUL needed) into a new *ACL.  Returns 0,
 * or -1 with ERR (ACL_ERRLEN bytes) starting with the line number and a
 * colon ("3: unknown action 'kil'"), for "FILE:LINE: what" messages.
 */
int	acl_parse(const char *buf, size_t len, struct acl **acl, char *err);
void	acl_free(struct acl *);
/* How many rules ACL holds (0 for NULL). */
size_t	acl_count(const struct acl *);

/*
 * Whether ACL (NULL: no file, the default policy) permits PRINCIPAL the
 * ACTION on OBJECT (a role, user, principal or query; NULL for agent).
 * A rule's "*" object matches any object, but a run-as "*" never matches
 * uid 0 (see acl_user_is_root): root only where a rule names it.
 */
int	acl_permits(const struct acl *, const char *principal,
	    enum acl_action, const char *object);

/* The name of ACTION as the file writes it ("run-as"). */
const char *acl_action_name(enum acl_action);

/*
 * True when USER is a user name a task may give: 1 to 64 of
 * [A-Za-z0-9._@-], not starting with '-'.
 */
int	acl_user_valid(const char *user);

/*
 * True when USER names uid 0 the way task-launch(8) resolves it: "root",
 * or a number that is 0 ("0", "00", "+0").
 */
int	acl_user_is_root(const char *user);

/*
 * Read the ACL file PATH whole into a new *BUF of *LEN bytes (free()
 * it): a regular file of at most ACL_FILE_MAX bytes that neither group
 * nor others may write, owned by us or by root.  Returns 0, or -1 with
 * ERR (ACL_ERRLEN bytes) naming PATH.
 */
int	acl_read(const char *path, char **buf, size_t *len, char *err);

#endif
