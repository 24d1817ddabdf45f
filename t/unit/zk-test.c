/*
 * zk-test: a ZooKeeper client for the election's tests, anonymous or
 * logged in with a cluster credential as cluster-elect logs in (digest:
 * the principal and the password auth_cred_password derives): reads a znode's ACL, and tries
 * what an attacker would (delete, set, create, setAcl).
 *
 * -a USER:PASSWORD logs in with that digest instead.
 *
 *   zk-test [-C credential] HOST:PORT getacl PATH    one "scheme:id:perms" a line
 *   zk-test [-C credential] HOST:PORT get PATH
 *   zk-test [-C credential] HOST:PORT children PATH
 *   zk-test [-C credential] HOST:PORT delete PATH
 *   zk-test [-C credential] HOST:PORT set PATH DATA
 *   zk-test [-C credential] HOST:PORT create PATH DATA   persistent, open ACL
 *   zk-test [-C credential] HOST:PORT openacl PATH       setAcl world:anyone:cdrwa
 *
 * A refusal prints ZooKeeper's name for it (NoAuth, NoNode, ...) and
 * exits 1; a usage error exits 100.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "exits.h"

#define THREADED
#include <zookeeper/zookeeper.h>

#define SESSION_MS	4000
#define CONNECT_TRIES	100	/* 50 ms apart */

/* ZooKeeper's own name of RC (its Java KeeperException codes). */
static const char *
rc_name(int rc)
{
	switch (rc) {
	case ZNOAUTH:
		return "NoAuth";
	case ZNONODE:
		return "NoNode";
	case ZNODEEXISTS:
		return "NodeExists";
	case ZNOTEMPTY:
		return "NotEmpty";
	case ZBADVERSION:
		return "BadVersion";
	case ZINVALIDACL:
		return "InvalidACL";
	case ZAUTHFAILED:
		return "AuthFailed";
	}
	return zerror(rc);
}

/*
 * Log ZH in with the credential file PATH, as cluster-elect does, or
 * with the digest USERPW ("user:password").
 */
static void
login(zhandle_t *zh, const char *path, const char *userpw)
{
	char e[AUTH_ERRLEN], pw[AUTH_PASSWORD_LEN], cert[256];
	struct auth_cred *c;
	size_t n;
	int rc;

	if (path == NULL)
		strlcpy(cert, userpw, sizeof(cert));
	else {
		if (auth_init() == -1 || auth_cred_read(path, &c, &n, e) == -1)
			errx(EXIT_USAGE, "%s", e);
		auth_cred_password(&c[0], pw);
		snprintf(cert, sizeof(cert), "%s:%s", c[0].principal, pw);
		free(c);
	}
	/* answered before any later request of the session */
	if ((rc = zoo_add_auth(zh, "digest", cert, (int)strlen(cert), NULL,
	    NULL)) != ZOK)
		errx(1, "addauth: %s", rc_name(rc));
}

/* Print the ACL of PATH as zkCli's getAcl does, one entry a line. */
static int
getacl(zhandle_t *zh, const char *path)
{
	struct ACL_vector acl;
	int i, p, rc;

	if ((rc = zoo_get_acl(zh, path, &acl, NULL)) != ZOK)
		return rc;
	for (i = 0; i < acl.count; i++) {
		p = acl.data[i].perms;
		printf("%s:%s:%s%s%s%s%s\n", acl.data[i].id.scheme,
		    acl.data[i].id.id, p & ZOO_PERM_CREATE ? "c" : "",
		    p & ZOO_PERM_DELETE ? "d" : "", p & ZOO_PERM_READ ? "r" : "",
		    p & ZOO_PERM_WRITE ? "w" : "", p & ZOO_PERM_ADMIN ? "a" : "");
	}
	deallocate_ACL_vector(&acl);
	return ZOK;
}

/* Print the children of PATH, one a line. */
static int
children(zhandle_t *zh, const char *path)
{
	struct String_vector ch;
	int i, rc;

	if ((rc = zoo_get_children(zh, path, 0, &ch)) != ZOK)
		return rc;
	for (i = 0; i < ch.count; i++)
		printf("%s\n", ch.data[i]);
	deallocate_String_vector(&ch);
	return ZOK;
}

/* Run CMD on PATH (with DATA); returns ZooKeeper's answer. */
static int
run(zhandle_t *zh, const char *cmd, const char *path, const char *data)
{
	char buf[1024];
	int len = sizeof(buf) - 1, rc;

	if (strcmp(cmd, "getacl") == 0)
		return getacl(zh, path);
	if (strcmp(cmd, "children") == 0)
		return children(zh, path);
	if (strcmp(cmd, "get") == 0) {
		if ((rc = zoo_get(zh, path, 0, buf, &len, NULL)) == ZOK)
			printf("%.*s\n", len > 0 ? len : 0, buf);
		return rc;
	}
	if (strcmp(cmd, "delete") == 0)
		return zoo_delete(zh, path, -1);
	if (strcmp(cmd, "openacl") == 0)
		return zoo_set_acl(zh, path, -1, &ZOO_OPEN_ACL_UNSAFE);
	if (data == NULL)
		errx(EXIT_USAGE, "%s: no data", cmd);
	if (strcmp(cmd, "set") == 0)
		return zoo_set(zh, path, data, (int)strlen(data), -1);
	if (strcmp(cmd, "create") == 0)
		return zoo_create(zh, path, data, (int)strlen(data),
		    &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
	errx(EXIT_USAGE, "unknown command %s", cmd);
}

int
main(int argc, char *argv[])
{
	const char *cred = NULL, *userpw = NULL;
	zhandle_t *zh;
	int ch, i, rc;

	while ((ch = getopt(argc, argv, "a:C:")) != -1) {
		if (ch == 'a')
			userpw = optarg;
		else if (ch == 'C')
			cred = optarg;
		else
			errx(EXIT_USAGE, "usage: zk-test [-a user:password | "
			    "-C credential] HOST:PORT command path [data]");
	}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		errx(EXIT_USAGE, "usage: zk-test [-a user:password | "
		    "-C credential] HOST:PORT command path [data]");
	zoo_set_debug_level(0);
	if ((zh = zookeeper_init(argv[0], NULL, SESSION_MS, NULL, NULL, 0)) ==
	    NULL)
		err(EXIT_SYSTEM, "zookeeper_init");
	for (i = 0; zoo_state(zh) != ZOO_CONNECTED_STATE; i++) {
		if (i == CONNECT_TRIES)
			errx(EXIT_SYSTEM, "%s: no session", argv[0]);
		usleep(50000);
	}
	if (cred != NULL || userpw != NULL)
		login(zh, cred, userpw);
	rc = run(zh, argv[1], argv[2], argc > 3 ? argv[3] : NULL);
	zookeeper_close(zh);
	if (rc != ZOK) {
		printf("%s %s: %s\n", argv[1], argv[2], rc_name(rc));
		return 1;
	}
	return 0;
}
