/*
 * acl: the ACL file's grammar, its rules in memory and their matching
 * (see acl.h and cluster-acl(5)).  Owns which objects each action takes
 * and what "*" matches; offerd owns where each check is made.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "proto.h"
#include "util.h"

#define USER_MAX	64	/* longer than useradd(8)'s 32: directory users */
#define WS		" \t\r"

/* How an action's objects are checked and whether it needs any. */
enum objs { OBJ_NONE, OBJ_SOME, OBJ_ANY };	/* none, 1 or more, 0 or more */

static const struct {
	const char	*name;
	enum objs	 objs;
	int		(*valid)(const char *);
	const char	*what;		/* an object, in error messages */
} actions[] = {
	[ACL_REGISTER] = { "register", OBJ_SOME, id_valid, "role" },
	[ACL_RUN_AS] = { "run-as", OBJ_SOME, NULL, "user" },
	[ACL_AGENT] = { "agent", OBJ_NONE, NULL, NULL },
	[ACL_KILL] = { "kill", OBJ_SOME, id_valid, "principal" },
	[ACL_WEIGHT] = { "weight", OBJ_ANY, id_valid, "role" },
	[ACL_QUERY] = { "query", OBJ_ANY, NULL, "query" },
	[ACL_VIEW] = { "view", OBJ_SOME, id_valid, "principal" },
	[ACL_DRAIN] = { "drain", OBJ_ANY, id_valid, "agent" },
	[ACL_QUOTA] = { "quota", OBJ_ANY, id_valid, "role" },
	[ACL_RESERVE] = { "reserve", OBJ_ANY, id_valid, "role" },
};
#define NACTIONS	(sizeof(actions) / sizeof(*actions))

struct acl_rule {
	int		 permit;
	const char	*principal;	/* in text; "*": any */
	enum acl_action	 action;
	size_t		 first, n;	/* its objects: objs[first..first+n) */
};

struct acl {
	char		*text;		/* the file, NUL-terminated, cut up */
	struct acl_rule	*rules;
	size_t		 nrules, rcap;
	const char	**objs;		/* every rule's objects, in text */
	size_t		 nobjs, ocap;
};

int
acl_user_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._@-", s[i]) == NULL)
			return 0;
	return i > 0 && i <= USER_MAX && s[0] != '-';
}

/* One of the things a QUERY may ask for. */
static int
query_valid(const char *s)
{
	static const char *whats[] = { Q_AGENTS, Q_FRAMEWORKS, Q_TASKS,
	    Q_OFFERS, Q_QUOTA };
	size_t i;

	for (i = 0; i < sizeof(whats) / sizeof(*whats); i++)
		if (strcmp(s, whats[i]) == 0)
			return 1;
	return 0;
}

const char *
acl_action_name(enum acl_action a)
{
	return (size_t)a < NACTIONS ? actions[a].name : "?";
}

int
acl_user_is_root(const char *user)
{
	const char *errstr;

	if (strcmp(user, "root") == 0)
		return 1;
	/* task-launch takes a name it cannot look up as a number */
	(void)strtonum(user, 0, 0, &errstr);
	return errstr == NULL;
}

/* Put "LINE: FMT" in ERR; returns -1. */
static int
parse_fail(char *err, size_t line, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, ACL_ERRLEN, "%zu: ", line);
	va_start(ap, fmt);
	vsnprintf(err + n, ACL_ERRLEN - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Append OBJ to A's objects; 0, or -1 when out of memory. */
static int
add_obj(struct acl *a, const char *obj)
{
	const char **v;

	if (a->nobjs == a->ocap) {
		a->ocap = a->ocap ? a->ocap * 2 : 16;
		if ((v = reallocarray(a->objs, a->ocap, sizeof(*v))) == NULL)
			return -1;
		a->objs = v;
	}
	a->objs[a->nobjs++] = obj;
	return 0;
}

/* A free slot at the end of A's rules; NULL when out of memory. */
static struct acl_rule *
add_rule(struct acl *a)
{
	struct acl_rule *v;

	if (a->nrules == a->rcap) {
		a->rcap = a->rcap ? a->rcap * 2 : 16;
		if ((v = reallocarray(a->rules, a->rcap, sizeof(*v))) == NULL)
			return NULL;
		a->rules = v;
	}
	return &a->rules[a->nrules++];
}

/* Check OBJ as an object of ACTION; 1 when valid. */
static int
obj_valid(enum acl_action action, const char *obj)
{
	if (strcmp(obj, "*") == 0)
		return 1;
	switch (action) {
	case ACL_RUN_AS:
		return acl_user_valid(obj);
	case ACL_QUERY:
		return query_valid(obj);
	default:
		return actions[action].valid != NULL && actions[action].valid(obj);
	}
}

/*
 * Parse the rule on LINE (number LINENO, NUL-terminated, comment cut)
 * into A; a blank line adds nothing.  0, or -1 with ERR.
 */
static int
parse_line(struct acl *a, char *line, size_t lineno, char *err)
{
	char *tok, *save, *who, *act;
	struct acl_rule *r;
	size_t i;

	if ((tok = strtok_r(line, WS, &save)) == NULL)
		return 0;
	if (strcmp(tok, "permit") != 0 && strcmp(tok, "deny") != 0)
		return parse_fail(err, lineno, "a rule starts with permit or "
		    "deny, not '%.64s'", tok);
	if ((who = strtok_r(NULL, WS, &save)) == NULL ||
	    (act = strtok_r(NULL, WS, &save)) == NULL)
		return parse_fail(err, lineno, "%s needs a principal and an "
		    "action", tok);
	if (!id_valid(who) && strcmp(who, "*") != 0)
		return parse_fail(err, lineno, "'%.64s' is neither a principal "
		    "nor *", who);
	for (i = 0; i < NACTIONS; i++)
		if (strcmp(act, actions[i].name) == 0)
			break;
	if (i == NACTIONS)
		return parse_fail(err, lineno, "unknown action '%.64s' (register, "
		    "run-as, agent, kill, weight, query, view, drain, quota, "
		    "reserve)", act);
	if ((r = add_rule(a)) == NULL)
		return parse_fail(err, lineno, "out of memory");
	r->permit = tok[0] == 'p';
	r->principal = who;
	r->action = i;
	r->first = a->nobjs;
	while ((tok = strtok_r(NULL, WS, &save)) != NULL) {
		if (actions[i].objs == OBJ_NONE)
			return parse_fail(err, lineno, "%s takes no object",
			    act);
		if (!obj_valid(i, tok))
			return parse_fail(err, lineno, "'%.64s' is not a %s "
			    "nor *", tok, actions[i].what);
		if (add_obj(a, tok) == -1)
			return parse_fail(err, lineno, "out of memory");
	}
	r->n = a->nobjs - r->first;
	if (r->n == 0 && actions[i].objs == OBJ_SOME)
		return parse_fail(err, lineno, "%s needs at least one %s (or *)",
		    act, actions[i].what);
	return 0;
}

int
acl_parse(const char *buf, size_t len, struct acl **out, char *err)
{
	struct acl *a;
	char *line, *next;
	size_t i, lineno = 0;

	*out = NULL;
	if (len > ACL_FILE_MAX)
		return parse_fail(err, 0, "larger than %d bytes", ACL_FILE_MAX);
	for (i = 0; i < len && buf[i] != '\0'; i++)
		lineno += buf[i] == '\n';
	if (i < len)
		return parse_fail(err, lineno + 1, "a NUL byte: not a text "
		    "file");
	lineno = 0;
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->text = malloc(len + 1)) == NULL) {
		free(a);
		return parse_fail(err, 0, "out of memory");
	}
	memcpy(a->text, buf, len);
	a->text[len] = '\0';
	for (line = a->text; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "#")] = '\0';
		if (parse_line(a, line, lineno, err) == -1) {
			acl_free(a);
			return -1;
		}
	}
	*out = a;
	return 0;
}

void
acl_free(struct acl *a)
{
	if (a == NULL)
		return;
	free(a->rules);
	free(a->objs);
	free(a->text);
	free(a);
}

size_t
acl_count(const struct acl *a)
{
	return a != NULL ? a->nrules : 0;
}

/* Whether rule R's objects hold OBJECT (NULL: an action without one). */
static int
rule_covers(const struct acl *a, const struct acl_rule *r, const char *object)
{
	const char *o;
	size_t i;

	if (r->n == 0 || object == NULL)
		return 1;
	for (i = r->first; i < r->first + r->n; i++) {
		o = a->objs[i];
		if (r->action == ACL_RUN_AS && acl_user_is_root(object)) {
			/* uid 0 only where named, in any of its spellings */
			if (strcmp(o, "*") != 0 && acl_user_is_root(o))
				return 1;
		} else if (strcmp(o, "*") == 0 || strcmp(o, object) == 0)
			return 1;
	}
	return 0;
}

int
acl_permits(const struct acl *a, const char *principal,
    enum acl_action action, const char *object)
{
	const struct acl_rule *r;
	size_t i;

	if (a == NULL) {
		/* no file: what the cluster did before it had ACLs */
		if (action == ACL_RUN_AS)
			return object == NULL || !acl_user_is_root(object);
		return action != ACL_KILL;
	}
	for (i = a->nrules; i-- > 0;) {
		r = &a->rules[i];
		if (r->action == action && (strcmp(r->principal, "*") == 0 ||
		    strcmp(r->principal, principal) == 0) &&
		    rule_covers(a, r, object))
			return r->permit;
	}
	return 0;
}

int
acl_read(const char *path, char **buf, size_t *len, char *err)
{
	struct stat st;
	ssize_t got;
	int fd;

	*buf = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, ACL_ERRLEN, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		snprintf(err, ACL_ERRLEN, "%s: not a regular file", path);
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		snprintf(err, ACL_ERRLEN, "%s: owned by uid %u, neither us nor "
		    "root", path, (unsigned)st.st_uid);
	else if (st.st_mode & 022)
		snprintf(err, ACL_ERRLEN, "%s: mode %04o is too open: others "
		    "could change the rules (chmod go-w %s)", path,
		    (unsigned)(st.st_mode & 07777), path);
	else if (st.st_size > ACL_FILE_MAX)
		snprintf(err, ACL_ERRLEN, "%s: larger than %d bytes", path,
		    ACL_FILE_MAX);
	else if ((*buf = malloc(st.st_size + 1)) == NULL)
		snprintf(err, ACL_ERRLEN, "%s: out of memory", path);
	else if ((got = read(fd, *buf, st.st_size + 1)) != st.st_size) {
		/* one read: a file that changes while read is read again */
		snprintf(err, ACL_ERRLEN, "%s: %s", path, got == -1 ?
		    strerror(errno) : "changed while read");
		free(*buf);
		*buf = NULL;
	} else
		*len = (size_t)got;
	close(fd);
	return *buf == NULL ? -1 : 0;
}
