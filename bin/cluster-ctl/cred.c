/*
 * credential: a new principal for the cluster, made where it is needed:
 * its own credential file (mode 0600), and with -a the same line added to
 * the master's credentials file, so that after a SIGHUP of offerd the new
 * principal is known.  The secret comes from libsodium's random source
 * (lib/auth.c); nothing is sent anywhere.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "auth.h"
#include "ctl.h"
#include "exits.h"
#include "util.h"

/*
 * Exit unless ALL is a credentials file the master can read (checked as
 * offerd checks it) that has no PRINCIPAL yet.
 */
static void
cred_check(const char *all, const char *principal)
{
	char e[AUTH_ERRLEN], *buf;
	struct auth_keys *k;
	size_t len;
	int had;

	if (auth_file_read(all, &buf, &len, e) == -1)
		errx(EXIT_SYSTEM, "credentials: %s", e);
	k = auth_keys_parse(buf, len, all, e);
	auth_file_free(buf, len);
	if (k == NULL)
		errx(EXIT_SYSTEM, "credentials: %s", e);
	had = auth_keys_get(k, principal) != NULL;
	auth_keys_free(k);
	if (had)
		errx(1, "%s already has principal %s", all, principal);
}

/* Append the credential file OWN's bytes to the credentials file ALL. */
static void
cred_add(const char *all, const char *own)
{
	char e[AUTH_ERRLEN], *line;
	size_t llen;
	int fd;

	if (auth_file_read(own, &line, &llen, e) == -1)
		errx(EXIT_SYSTEM, "%s", e);
	if ((fd = open(all, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1 || write(fd, line, llen) != (ssize_t)llen || close(fd) == -1) {
		auth_file_free(line, llen);
		err(EXIT_SYSTEM, "%s", all);
	}
	auth_file_free(line, llen);
}

/*
 * credential [-a] [-K credentials] PRINCIPAL FILE: a new credential for
 * PRINCIPAL in FILE; -a adds it to the master's credentials file.
 */
int
cmd_credential(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "add", no_argument, NULL, 'a' },
		{ "credentials", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 }
	};
	char err[AUTH_ERRLEN], dir[PATH_MAX], all[PATH_MAX + 16];
	const char *keys = NULL, *principal, *file;
	struct auth_cred c;
	int ch, add = 0;

	optind = 1;
	while ((ch = next_opt(argc, argv, "K:", longopts)) != -1) {
		switch (ch) {
		case 'a':
			add = 1;
			break;
		case 'K':
			keys = optarg;
			break;
		default:
			return bad_usage();
		}
	}
	if (argc - optind != 2)
		return bad_usage();
	principal = argv[optind];
	file = argv[optind + 1];
	if (!id_valid(principal))
		errx(EXIT_USAGE, "'%s' is not a principal name (1-63 of "
		    "[A-Za-z0-9._-], not starting with a dot)", principal);
	if (add && keys == NULL) {
		if (auth_conf_dir(dir, sizeof(dir)) == NULL)
			errx(EXIT_USAGE, "no $CLUSTER_CONF nor home: give -K");
		snprintf(all, sizeof(all), "%s/credentials", dir);
		keys = all;
	}
	if (add)
		cred_check(keys, principal);
	if (auth_init() == -1 || auth_cred_new(principal, &c, err) == -1 ||
	    auth_cred_write(file, &c, err) == -1)
		errx(EXIT_SYSTEM, "%s", err);
	sodium_memzero(&c, sizeof(c));
	printf("credential of principal %s in %s (mode 0600)\n", principal,
	    file);
	if (add) {
		cred_add(keys, file);
		printf("added to %s: tell the master with pkill -HUP offerd\n",
		    keys);
	}
	return 0;
}
