/*
 * auth: credentials and sealed records (see auth.h).  Owns the credential
 * file format, the frame layout, the per-direction keys and the replay
 * memory; libsodium does every cryptographic step.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "auth.h"
#include "map.h"
#include "util.h"

#define MAGIC0		'C'
#define MAGIC1		'S'
#define VERSION		1
#define KDF_CONTEXT	"clusterv"	/* crypto_kdf_CONTEXTBYTES (8) */
#define B64_VARIANT	sodium_base64_VARIANT_ORIGINAL
#define B64_LEN		sodium_base64_ENCODED_LEN(AUTH_KEYLEN, B64_VARIANT)
#define SUBKEY_PASSWORD	3	/* the subkeys 1 and 2 are enum auth_dir's */
_Static_assert(B64_LEN == AUTH_PASSWORD_LEN,
    "AUTH_PASSWORD_LEN is the length of a key in base64");
#define SWEEP_MS	(AUTH_SKEW_MS / 4)

struct session {
	uint64_t	counter;	/* the highest taken */
	int64_t		seen_ms;	/* our wall clock when last taken */
};

struct auth {
	unsigned char	 session[8];
	uint64_t	 counter;
	struct map	*seen;		/* "PRINCIPAL/SESSIONHEX" -> session */
	int64_t		 next_sweep;
};

int
auth_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
auth_cred_new(const char *principal, struct auth_cred *c, char *err)
{
	if (!id_valid(principal)) {
		snprintf(err, AUTH_ERRLEN, "'%s' is not a valid principal "
		    "(1 to 63 of A-Z a-z 0-9 . _ -, not starting with a dot)",
		    principal);
		return -1;
	}
	strlcpy(c->principal, principal, sizeof(c->principal));
	randombytes_buf(c->secret, sizeof(c->secret));
	return 0;
}

void
auth_cred_password(const struct auth_cred *c, char buf[AUTH_PASSWORD_LEN])
{
	unsigned char key[AUTH_KEYLEN];

	crypto_kdf_derive_from_key(key, sizeof(key), SUBKEY_PASSWORD,
	    KDF_CONTEXT, c->secret);
	sodium_bin2base64(buf, AUTH_PASSWORD_LEN, key, sizeof(key),
	    B64_VARIANT);
	sodium_memzero(key, sizeof(key));
}

int
auth_cred_write(const char *path, const struct auth_cred *c, char *err)
{
	char b64[B64_LEN], line[AUTH_PRINCIPAL_MAX + B64_LEN + 2];
	int fd, len, ok;

	sodium_bin2base64(b64, sizeof(b64), c->secret, sizeof(c->secret),
	    B64_VARIANT);
	len = snprintf(line, sizeof(line), "%s %s\n", c->principal, b64);
	sodium_memzero(b64, sizeof(b64));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		sodium_memzero(line, sizeof(line));
		snprintf(err, AUTH_ERRLEN, "%s: %s", path, strerror(errno));
		return -1;
	}
	ok = write(fd, line, len) == len && fsync(fd) == 0;
	sodium_memzero(line, sizeof(line));
	if (close(fd) == -1 || !ok) {
		snprintf(err, AUTH_ERRLEN, "%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* Is the open file FD at PATH fit to hold secrets?  0, or -1 with ERR. */
static int
cred_file_check(int fd, const char *path, char *err)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, AUTH_ERRLEN, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, AUTH_ERRLEN, "%s: not a regular file", path);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, AUTH_ERRLEN, "%s: owned by uid %u, neither us "
		    "nor root", path, (unsigned)st.st_uid);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, AUTH_ERRLEN, "%s: mode %04o is too open: others "
		    "could read the secret (chmod 600 %s)", path,
		    (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

int
auth_cred_parse(char *line, struct auth_cred *c, char *err, size_t len)
{
	char *p, *secret;
	size_t n;

	if ((p = strchr(line, '#')) != NULL)
		*p = '\0';
	p = line + strspn(line, " \t");
	if (*p == '\0' || *p == '\n')
		return 1;
	secret = p + strcspn(p, " \t\n");
	if (*secret == '\0' || *secret == '\n') {
		snprintf(err, len, "a line is PRINCIPAL SECRET");
		return -1;
	}
	*secret++ = '\0';
	secret += strspn(secret, " \t");
	secret[strcspn(secret, " \t\n")] = '\0';
	if (!id_valid(p)) {
		snprintf(err, len, "'%.63s' is not a valid principal", p);
		return -1;
	}
	if (sodium_base642bin(c->secret, sizeof(c->secret), secret,
	    strlen(secret), NULL, &n, NULL, B64_VARIANT) != 0 ||
	    n != AUTH_KEYLEN) {
		snprintf(err, len, "the secret of %s is not %d bytes "
		    "of base64", p, AUTH_KEYLEN);
		return -1;
	}
	strlcpy(c->principal, p, sizeof(c->principal));
	return 0;
}

int
auth_file_read(const char *path, char **buf, size_t *len, char *err)
{
	char *b = NULL;
	size_t n = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, AUTH_ERRLEN, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (cred_file_check(fd, path, err) == -1)
		goto fail;
	/* one byte more than allowed, to see that the file is too big */
	if ((b = malloc(AUTH_FILE_MAX + 2)) == NULL) {
		snprintf(err, AUTH_ERRLEN, "%s: out of memory", path);
		goto fail;
	}
	while (n <= AUTH_FILE_MAX &&
	    (r = read(fd, b + n, AUTH_FILE_MAX + 1 - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, AUTH_ERRLEN, "%s: %s", path,
			    strerror(errno));
			goto fail;
		}
		n += (size_t)r;
	}
	if (n > AUTH_FILE_MAX) {
		snprintf(err, AUTH_ERRLEN, "%s: larger than %d bytes", path,
		    AUTH_FILE_MAX);
		goto fail;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	auth_file_free(b, n);
	close(fd);
	return -1;
}

void
auth_file_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	sodium_memzero(buf, len);
	free(buf);
}

int
auth_cred_parse_buf(const char *buf, size_t len, const char *name,
    struct auth_cred **out, size_t *n, char *err)
{
	struct auth_cred *v = NULL, c;
	struct map *names = NULL;
	char *copy, *line, *next, why[AUTH_ERRLEN / 2];
	size_t lineno = 0, nv = 0, size = 0;
	int got, r = -1;

	/* a copy to cut into lines; it holds secrets: zeroed when done */
	if ((copy = malloc(len + 1)) == NULL || (names = map_create()) == NULL)
		goto nomem;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	for (line = copy; line < copy + len; line = next) {
		if ((next = memchr(line, '\n', copy + len - line)) != NULL)
			*next++ = '\0';
		else
			next = copy + len;
		lineno++;
		if ((got = auth_cred_parse(line, &c, why, sizeof(why))) == 1)
			continue;
		if (got == -1 || map_get(names, c.principal) != NULL) {
			snprintf(err, AUTH_ERRLEN, "%.100s:%zu: %s", name, lineno,
			    got == -1 ? why : "the principal is given twice");
			goto done;
		}
		if (nv == size) {
			struct auth_cred *nvv;

			size = size ? size * 2 : 8;
			if ((nvv = reallocarray(v, size, sizeof(*v))) == NULL)
				goto nomem;
			v = nvv;
		}
		v[nv] = c;
		if (map_put(names, v[nv].principal, (void *)1) == -1)
			goto nomem;
		nv++;
	}
	if (nv == 0) {
		snprintf(err, AUTH_ERRLEN, "%s: no credential in it", name);
		goto done;
	}
	*out = v;
	*n = nv;
	v = NULL;
	r = 0;
	goto done;
nomem:
	snprintf(err, AUTH_ERRLEN, "%s: out of memory", name);
done:
	sodium_memzero(&c, sizeof(c));
	if (v != NULL) {
		sodium_memzero(v, size * sizeof(*v));
		free(v);
	}
	auth_file_free(copy, len + 1);
	map_destroy(names);
	return r;
}

int
auth_cred_read(const char *path, struct auth_cred **out, size_t *n,
    char *err)
{
	char *buf;
	size_t len;
	int r;

	if (auth_file_read(path, &buf, &len, err) == -1)
		return -1;
	r = auth_cred_parse_buf(buf, len, path, out, n, err);
	auth_file_free(buf, len);
	return r;
}

/* The frame's header length for PRINCIPAL (magic, version, length, name). */
static size_t
header_len(size_t plen)
{
	return 4 + plen;
}

int
auth_principal(const void *frame, size_t len, char principal[AUTH_PRINCIPAL_MAX])
{
	const unsigned char *f = frame;
	size_t plen;

	if (len < 4 || f[0] != MAGIC0 || f[1] != MAGIC1 || f[2] != VERSION)
		return -1;
	plen = f[3];
	if (plen == 0 || plen >= AUTH_PRINCIPAL_MAX ||
	    len < header_len(plen) + AUTH_NONCELEN + AUTH_MACLEN)
		return -1;
	memcpy(principal, f + 4, plen);
	principal[plen] = '\0';
	return id_valid(principal) ? 0 : -1;
}

struct auth *
auth_create(void)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (a == NULL || (a->seen = map_create()) == NULL) {
		free(a);
		return NULL;
	}
	randombytes_buf(a->session, sizeof(a->session));
	return a;
}

void
auth_destroy(struct auth *a)
{
	size_t pos = 0;
	void *s;

	if (a == NULL)
		return;
	while ((s = map_next(a->seen, &pos, NULL)) != NULL)
		free(s);
	map_destroy(a->seen);
	free(a);
}

/* KEY = the key of C's principal for records going DIR. */
static void
dir_key(const struct auth_cred *c, enum auth_dir dir,
    unsigned char key[crypto_secretbox_KEYBYTES])
{
	crypto_kdf_derive_from_key(key, crypto_secretbox_KEYBYTES, dir,
	    KDF_CONTEXT, c->secret);
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void *
auth_seal(struct auth *a, const struct auth_cred *c, enum auth_dir dir,
    const void *msg, size_t len, size_t *outlen)
{
	return auth_seal_at(a, c, dir, msg, len, wall_ms(), outlen);
}

void *
auth_seal_at(struct auth *a, const struct auth_cred *c, enum auth_dir dir,
    const void *msg, size_t len, int64_t at_ms, size_t *outlen)
{
	unsigned char key[crypto_secretbox_KEYBYTES], *out, *nonce;
	size_t plen = strlen(c->principal), hl = header_len(plen);

	if ((out = malloc(hl + AUTH_NONCELEN + AUTH_MACLEN + len)) == NULL)
		return NULL;
	out[0] = MAGIC0;
	out[1] = MAGIC1;
	out[2] = VERSION;
	out[3] = (unsigned char)plen;
	memcpy(out + 4, c->principal, plen);
	nonce = out + hl;
	memcpy(nonce, a->session, 8);
	put64(nonce + 8, ++a->counter);
	put64(nonce + 16, (uint64_t)at_ms);
	dir_key(c, dir, key);
	crypto_secretbox_easy(nonce + AUTH_NONCELEN, msg, len, nonce, key);
	sodium_memzero(key, sizeof(key));
	*outlen = hl + AUTH_NONCELEN + AUTH_MACLEN + len;
	return out;
}

/* Forget the sessions silent for longer than the clock check allows. */
static void
sweep(struct auth *a, int64_t now)
{
	struct session *s;
	size_t pos = 0;
	const char *k;

	if (now < a->next_sweep)
		return;
	a->next_sweep = now + SWEEP_MS;
	while ((s = map_next(a->seen, &pos, &k)) != NULL)
		if (now - s->seen_ms > 2 * (int64_t)AUTH_SKEW_MS) {
			map_del(a->seen, k);
			free(s);
		}
}

void *
auth_open(struct auth *a, const struct auth_cred *c, enum auth_dir dir,
    const void *frame, size_t len, size_t *outlen, enum auth_fail *why)
{
	unsigned char key[crypto_secretbox_KEYBYTES], *out;
	const unsigned char *f = frame, *nonce;
	char principal[AUTH_PRINCIPAL_MAX], skey[AUTH_PRINCIPAL_MAX + 20];
	struct session *s;
	uint64_t counter;
	int64_t now = wall_ms(), sent;
	size_t hl, mlen;

	if (auth_principal(frame, len, principal) == -1) {
		*why = AUTH_NOT_SEALED;
		return NULL;
	}
	if (strcmp(principal, c->principal) != 0) {
		*why = AUTH_UNKNOWN;
		return NULL;
	}
	hl = header_len(strlen(principal));
	nonce = f + hl;
	mlen = len - hl - AUTH_NONCELEN - AUTH_MACLEN;
	if ((out = malloc(mlen ? mlen : 1)) == NULL) {
		*why = AUTH_NOMEM;
		return NULL;
	}
	dir_key(c, dir, key);
	if (crypto_secretbox_open_easy(out, nonce + AUTH_NONCELEN,
	    mlen + AUTH_MACLEN, nonce, key) != 0) {
		sodium_memzero(key, sizeof(key));
		free(out);
		*why = AUTH_FORGED;
		return NULL;
	}
	sodium_memzero(key, sizeof(key));
	/* authentic: now is it fresh? */
	counter = get64(nonce + 8);
	sent = (int64_t)get64(nonce + 16);
	snprintf(skey, sizeof(skey), "%s/%016llx", principal,
	    (unsigned long long)get64(nonce));
	s = map_get(a->seen, skey);
	*why = AUTH_OK;
	if (sent < now - AUTH_SKEW_MS || sent > now + AUTH_SKEW_MS)
		*why = AUTH_STALE;
	else if (s != NULL && counter <= s->counter)
		*why = AUTH_REPLAYED;
	else if (s == NULL && ((s = calloc(1, sizeof(*s))) == NULL ||
	    map_put(a->seen, skey, s) == -1)) {
		free(s);
		*why = AUTH_NOMEM;
	}
	if (*why != AUTH_OK) {
		sodium_memzero(out, mlen);
		free(out);
		return NULL;
	}
	s->counter = counter;
	s->seen_ms = now;
	sweep(a, now);
	*outlen = mlen;
	return out;
}

const char *
auth_fail_text(enum auth_fail why)
{
	switch (why) {
	case AUTH_OK:
		return "authentic";
	case AUTH_NOT_SEALED:
		return "not a sealed record";
	case AUTH_UNKNOWN:
		return "no credential for the principal it names";
	case AUTH_FORGED:
		return "not made with the principal's secret, or changed on "
		    "the way";
	case AUTH_STALE:
		return "its clock is too far from ours, or it is old";
	case AUTH_REPLAYED:
		return "replayed";
	case AUTH_NOMEM:
		return "out of memory";
	}
	return "refused";
}

char *
auth_conf_dir(char *buf, size_t len)
{
	const char *e;

	if ((e = getenv("CLUSTER_CONF")) != NULL && *e != '\0')
		snprintf(buf, len, "%s", e);
	else if (geteuid() == 0)
		snprintf(buf, len, "/etc/cluster");
	else if ((e = getenv("XDG_CONFIG_HOME")) != NULL && *e == '/')
		snprintf(buf, len, "%s/cluster", e);
	else if ((e = getenv("HOME")) != NULL && *e == '/')
		snprintf(buf, len, "%s/.config/cluster", e);
	else
		return NULL;
	return buf;
}

int
auth_cred_find(const char *path, struct auth_cred *c, char *where,
    size_t len, char *err)
{
	char dir[PATH_MAX];
	struct auth_cred *v;
	size_t n;

	if (path == NULL || *path == '\0')
		path = getenv("CLUSTER_CREDENTIAL");
	if (path != NULL && strcmp(path, "none") == 0) {
		snprintf(where, len, "none");
		return 1;	/* asked for: records in the clear */
	}
	if (path == NULL || *path == '\0') {
		if (auth_conf_dir(dir, sizeof(dir)) == NULL) {
			snprintf(where, len, "$CLUSTER_CONF (no home)");
			return 1;
		}
		snprintf(where, len, "%s/credential", dir);
		if (access(where, F_OK) == -1 && errno == ENOENT)
			return 1;
		path = where;
	} else
		snprintf(where, len, "%s", path);
	if (auth_cred_read(path, &v, &n, err) == -1)
		return -1;
	*c = v[0];
	sodium_memzero(v, n * sizeof(*v));
	free(v);
	return 0;
}

/* The user running us as a principal: the user name, or "uid-N". */
static void
own_principal(char *buf, size_t len)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL && id_valid(pw->pw_name))
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "uid-%u", (unsigned)geteuid());
}

/*
 * Publish the line of C as the new file PATH (mode 0600) atomically: a
 * reader sees the whole file or none.  0, 1 when PATH exists, -1 with ERR.
 */
static int
cred_publish(const char *path, const struct auth_cred *c, char *err)
{
	char tmp[PATH_MAX];
	int r = 0;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	unlink(tmp);
	if (auth_cred_write(tmp, c, err) == -1)
		return -1;
	if (link(tmp, path) == -1) {
		r = errno == EEXIST ? 1 : -1;
		if (r == -1)
			snprintf(err, AUTH_ERRLEN, "%s: %s", path, strerror(errno));
	}
	unlink(tmp);
	return r;
}

int
auth_bootstrap(const char *dir, char *principal, char *err)
{
	char own[PATH_MAX], all[PATH_MAX];
	struct auth_cred c, *v;
	size_t n;
	int made, r;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, AUTH_ERRLEN, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(own, sizeof(own), "%s/credential", dir);
	snprintf(all, sizeof(all), "%s/credentials", dir);
	if (access(all, F_OK) == 0)
		return 0;
	/*
	 * Two daemons may start at once: the first credential published is
	 * everybody's, and the list is made of it.
	 */
	own_principal(principal, AUTH_PRINCIPAL_MAX);
	if (auth_init() == -1 || auth_cred_new(principal, &c, err) == -1)
		return -1;
	made = cred_publish(own, &c, err);
	sodium_memzero(&c, sizeof(c));
	if (made == -1 || auth_cred_read(own, &v, &n, err) == -1)
		return -1;
	snprintf(principal, AUTH_PRINCIPAL_MAX, "%s", v[0].principal);
	r = cred_publish(all, &v[0], err);
	sodium_memzero(v, n * sizeof(*v));
	free(v);
	return r == -1 ? -1 : r == 0;
}

int
auth_bootstrap_default(const char *path, char *dir, size_t dirlen,
    char *principal, char *err)
{
	const char *env = getenv("CLUSTER_CREDENTIAL");

	if ((path != NULL && *path != '\0') || (env != NULL && *env != '\0') ||
	    auth_conf_dir(dir, dirlen) == NULL)
		return 0;
	return auth_bootstrap(dir, principal, err);
}

struct auth_keys {
	struct auth_cred *v;
	size_t		  n;
	struct map	 *by;
};

struct auth_keys *
auth_keys_parse(const char *buf, size_t len, const char *name, char *err)
{
	struct auth_keys *k = calloc(1, sizeof(*k));
	size_t i;

	if (k == NULL || (k->by = map_create()) == NULL) {
		free(k);
		snprintf(err, AUTH_ERRLEN, "out of memory");
		return NULL;
	}
	if (auth_cred_parse_buf(buf, len, name, &k->v, &k->n, err) == -1) {
		map_destroy(k->by);
		free(k);
		return NULL;
	}
	for (i = 0; i < k->n; i++)
		if (map_put(k->by, k->v[i].principal, &k->v[i]) == -1) {
			auth_keys_free(k);
			snprintf(err, AUTH_ERRLEN, "out of memory");
			return NULL;
		}
	return k;
}

struct auth_keys *
auth_keys_load(const char *path, char *err)
{
	struct auth_keys *k;
	char *buf;
	size_t len;

	if (auth_file_read(path, &buf, &len, err) == -1)
		return NULL;
	k = auth_keys_parse(buf, len, path, err);
	auth_file_free(buf, len);
	return k;
}

void
auth_keys_free(struct auth_keys *k)
{
	if (k == NULL)
		return;
	sodium_memzero(k->v, k->n * sizeof(*k->v));
	free(k->v);
	map_destroy(k->by);
	free(k);
}

const struct auth_cred *
auth_keys_get(const struct auth_keys *k, const char *principal)
{
	return map_get(k->by, principal);
}

size_t
auth_keys_count(const struct auth_keys *k)
{
	return k->n;
}
