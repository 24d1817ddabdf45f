/*
 * zkacl: who may write the election's znodes.  A candidate logs in to
 * ZooKeeper with the digest scheme (user: its principal, password: one
 * derived from its secret, auth_cred_password; elect_zk_login), and every
 * znode it makes gives all permissions to that identity and only READ to
 * anyone else (elect_zk_acl, which offerd's registry uses too):
 * clients find the leader by reading, and only a holder of the cluster's
 * election credential can join, resign or publish.  An election made open
 * by an older cluster-elect is tightened; an open parent is reported.
 * With no credential (--insecure) the znodes are open, as before.
 */
#include <sys/types.h>

#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cluster-elect.h"
#include "elect-backend.h"
#include "log.h"
#include "util.h"

#define ACL_TEXT_MAX	128	/* an ACL as an error message shows it */

/* The permissions a world-readable election gives to anyone. */
#define WORLD_PERMS	ELECT_ZK_WORLD_PERMS

/* The permissions PERMS as ZooKeeper writes them ("cdrwa"), into BUF. */
static const char *
perms_text(int perms, char buf[6])
{
	char *p = buf;

	if (perms & ZOO_PERM_CREATE)
		*p++ = 'c';
	if (perms & ZOO_PERM_DELETE)
		*p++ = 'd';
	if (perms & ZOO_PERM_READ)
		*p++ = 'r';
	if (perms & ZOO_PERM_WRITE)
		*p++ = 'w';
	if (perms & ZOO_PERM_ADMIN)
		*p++ = 'a';
	*p = '\0';
	return buf;
}

/*
 * ACL as text into BUF of LEN: "digest:alice:cdrwa world:anyone:r" (a
 * digest's hash left out).
 */
static void
acl_text(const struct ACL_vector *acl, char *buf, size_t len)
{
	char perms[6], *p = buf;
	int i;

	*buf = '\0';
	for (i = 0; i < acl->count && (size_t)(p - buf) < len; i++) {
		const struct Id *id = &acl->data[i].id;
		int idlen = (int)strcspn(id->id, ":");

		p += snprintf(p, len - (size_t)(p - buf), "%s%s:%.*s:%s",
		    i ? " " : "", id->scheme, idlen, id->id,
		    perms_text(acl->data[i].perms, perms));
	}
}

/* The permissions ACL gives to anyone (world:anyone). */
static int
world_perms(const struct ACL_vector *acl)
{
	int i, perms = 0;

	for (i = 0; i < acl->count; i++)
		if (strcmp(acl->data[i].id.scheme, "world") == 0 &&
		    strcmp(acl->data[i].id.id, "anyone") == 0)
			perms |= acl->data[i].perms;
	return perms;
}

void
zka_refused(struct elect_zk *z, const char *path, const struct auth_cred *cred,
    char *err)
{
	struct ACL_vector acl = { 0, NULL };
	char text[ACL_TEXT_MAX] = "?", parent[1024], *slash;

	/* creating PATH is refused by its parent's ACL */
	strlcpy(parent, path, sizeof(parent));
	if ((slash = strrchr(parent, '/')) == parent)
		parent[1] = '\0';	/* the root */
	else if (slash != NULL)
		*slash = '\0';
	if (zoo_get_acl(z->zh, parent, &acl, NULL) == ZOK) {
		acl_text(&acl, text, sizeof(text));
		deallocate_ACL_vector(&acl);
	}
	/* within ELECT_ERRLEN: the principals the ACL names say the most */
	snprintf(err, ELECT_ERRLEN, "%.63s may not write %.60s (ZooKeeper "
	    "NoAuth; ACL %.56s): the masters need one credential",
	    cred ? cred->principal : "--insecure", parent, text);
}

/*
 * Give the existing election znode PATH our ACL when anyone may write it
 * (an election an older cluster-elect made open), and delete the
 * persistent znodes that pose as candidates under it (ours are
 * ephemeral), saying so.  Returns 0, or -1 with ERR.
 */
static int
zka_tighten(struct elect_zk *z, const char *path, const struct auth_cred *cred,
    char *err)
{
	struct ACL_vector acl = { 0, NULL };
	struct String_vector ch = { 0, NULL };
	struct Stat st;
	char child[1300];
	int i, rc, open;

	if ((rc = zoo_get_acl(z->zh, path, &acl, &st)) != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper getAcl %.120s: %.80s", path,
		    zerror(rc));
		return -1;
	}
	open = (world_perms(&acl) & ~WORLD_PERMS) != 0;
	deallocate_ACL_vector(&acl);
	if (!open)
		return 0;
	if ((rc = zoo_set_acl(z->zh, path, st.aversion,
	    elect_zk_acl(cred))) != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper %.80s is open to anyone "
		    "and cannot be tightened: setAcl: %.60s", path, zerror(rc));
		return -1;
	}
	log_warnx("ZooKeeper %s was open to anyone: now all for %s, read for "
	    "anyone", path, cred->principal);
	/* while it was open, anyone could have planted a leader */
	if (zoo_get_children(z->zh, path, 0, &ch) != ZOK)
		return 0;
	for (i = 0; i < ch.count; i++) {
		snprintf(child, sizeof(child), "%s/%s", path, ch.data[i]);
		if (elect_zk_seq(ch.data[i]) < 0 ||
		    zoo_exists(z->zh, child, 0, &st) != ZOK ||
		    st.ephemeralOwner != 0)
			continue;
		/* candidates' znodes are ephemeral: this one poses as one */
		rc = zoo_delete(z->zh, child, -1);
		log_warnx("ZooKeeper %s is no candidate's (it is persistent) "
		    "and could pose as the leader: %s", child, rc == ZOK ?
		    "deleted" : zerror(rc));
	}
	deallocate_String_vector(&ch);
	return 0;
}

/* Report the existing parent PATH of the election when anyone may write it. */
static void
zka_parent_check(struct elect_zk *z, const char *path)
{
	struct ACL_vector acl = { 0, NULL };

	if (zoo_get_acl(z->zh, path, &acl, NULL) != ZOK)
		return;
	if (world_perms(&acl) & (ZOO_PERM_CREATE | ZOO_PERM_DELETE))
		log_warnx("ZooKeeper %s is open to anyone: while no candidate "
		    "runs, anyone may replace the election under it (setAcl "
		    "it, or elect under a closed parent)", path);
	deallocate_ACL_vector(&acl);
}

int
zka_mkpath(struct elect_zk *z, const char *path, const struct auth_cred *cred,
    char *err)
{
	char buf[1024], *p;
	int rc;

	strlcpy(buf, path, sizeof(buf));
	for (p = buf + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		/* an existing znode: its parent's ACL may refuse a create */
		if ((rc = zoo_exists(z->zh, buf, 0, NULL)) == ZNONODE)
			rc = zoo_create(z->zh, buf, NULL, -1,
			    elect_zk_acl(cred), 0, NULL, 0);
		else if (rc == ZOK)
			rc = ZNODEEXISTS;
		if (rc == ZNOAUTH) {
			zka_refused(z, buf, cred, err);
			return -1;
		}
		if (rc != ZOK && rc != ZNODEEXISTS) {
			snprintf(err, ELECT_ERRLEN, "ZooKeeper %.120s: %.80s",
			    buf, zerror(rc));
			return -1;
		}
		if (rc == ZNODEEXISTS && cred != NULL) {
			if (c != '\0')
				zka_parent_check(z, buf);
			else if (zka_tighten(z, buf, cred, err) == -1)
				return -1;
		}
		if ((*p = c) == '\0')
			return 0;
	}
}
