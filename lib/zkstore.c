/*
 * zkstore: one document in ZooKeeper, in chunks under the 1 MB limit of
 * a znode, replaced whole and fenced by the header's version.  See
 * zkstore.h.  The ZooKeeper handle and the login are elect.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "elect.h"
#include "elect-backend.h"
#include "log.h"
#include "util.h"
#include "zkstore.h"

#define ZKSTORE_MAGIC	"zkstore/1"
#define HEADER_LEN	128
#define CHILD_LEN	64

struct zkstore {
	struct elect_url url;
	struct elect_zk	*z;
	struct auth_cred cred;
	int		 has_cred;
	char		 path[1200];	/* PATH/NAME */
	int		 version;	/* the header's, as last read or set */
	unsigned long long gen;		/* the generation it names */
};

/* What the header says. */
struct header {
	unsigned long long gen;
	long		 chunks;
	long		 bytes;
};

/* A session on S's hosts, logged in; 0, or -1 with ERR. */
static int
zs_connect(struct zkstore *s, char *err)
{
	elect_zk_free(s->z);
	if ((s->z = elect_zk_open(&s->url, ZKSTORE_SESSION_MS, 1, err)) == NULL)
		return -1;
	if (elect_zk_login(s->z, s->has_cred ? &s->cred : NULL, err) == -1) {
		elect_zk_free(s->z);
		s->z = NULL;
		return -1;
	}
	return 0;
}

/* A session that is still good, made again if it expired; 0 or -1. */
static int
zs_ready(struct zkstore *s, char *err)
{
	int expired;

	pthread_mutex_lock(&s->z->mu);
	expired = s->z->expired;
	pthread_mutex_unlock(&s->z->mu);
	return expired ? zs_connect(s, err) : 0;
}

struct zkstore *
zkstore_open(const char *master, const char *name,
    const struct auth_cred *cred, char *err)
{
	struct zkstore *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, ELECT_ERRLEN, "out of memory");
		return NULL;
	}
	if (elect_url_parse(master, &s->url, err) == -1)
		goto fail;
	if (s->url.kind != ELECT_ZK) {
		snprintf(err, ELECT_ERRLEN, "%.160s: not a zk:// election",
		    master);
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s/%s", s->url.path, name);
	if (cred != NULL) {
		s->cred = *cred;
		s->has_cred = 1;
	}
	s->version = -1;
	if (zs_connect(s, err) == -1)
		goto fail;
	return s;
fail:
	zkstore_close(s);
	return NULL;
}

void
zkstore_close(struct zkstore *s)
{
	if (s == NULL)
		return;
	elect_zk_free(s->z);
	sodium_memzero(&s->cred, sizeof(s->cred));
	free(s);
}

const char *
zkstore_path(const struct zkstore *s)
{
	return s->path;
}

/* Parse the header BUF of LEN bytes into H; 0, or -1 with ERR. */
static int
header_parse(const char *buf, int len, struct header *h, char *err)
{
	char text[HEADER_LEN], magic[16];

	snprintf(text, sizeof(text), "%.*s", len > 0 ? len : 0, buf);
	if (sscanf(text, "%15s %llu %ld %ld", magic, &h->gen, &h->chunks,
	    &h->bytes) != 4 || strcmp(magic, ZKSTORE_MAGIC) != 0 ||
	    h->chunks < 0 || h->bytes < 0 || h->bytes > ZKSTORE_MAX ||
	    h->chunks > ZKSTORE_MAX / ZKSTORE_CHUNK) {
		snprintf(err, ELECT_ERRLEN, "%.160s: not a header of "
		    ZKSTORE_MAGIC, text);
		return -1;
	}
	return 0;
}

/* Read chunk I of generation GEN of S into BUF at most LEFT; bytes or -1. */
static int
chunk_read(struct zkstore *s, unsigned long long gen, long i, char *buf,
    int left, char *err)
{
	char path[sizeof(s->path) + CHILD_LEN];
	int len = left, rc;

	snprintf(path, sizeof(path), "%s/%llu-%ld", s->path, gen, i);
	if ((rc = zoo_get(s->z->zh, path, 0, buf, &len, NULL)) != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper get %.120s: %.80s",
		    path, zerror(rc));
		return -1;
	}
	return len < 0 ? 0 : len;
}

int
zkstore_read(struct zkstore *s, char **out, size_t *outlen, char *err)
{
	char hbuf[HEADER_LEN], *buf;
	struct header h;
	struct Stat st;
	int hlen = sizeof(hbuf), rc, n;
	long i, got = 0;

	*out = NULL;
	*outlen = 0;
	if (zs_ready(s, err) == -1)
		return -1;
	rc = zoo_get(s->z->zh, s->path, 0, hbuf, &hlen, &st);
	if (rc == ZNONODE) {
		s->version = -1;	/* none yet: a write makes it */
		return 0;
	}
	if (rc != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper get %.120s: %.80s",
		    s->path, zerror(rc));
		return -1;
	}
	if (header_parse(hbuf, hlen, &h, err) == -1)
		return -1;
	if ((buf = malloc((size_t)h.bytes + 1)) == NULL) {
		snprintf(err, ELECT_ERRLEN, "out of memory");
		return -1;
	}
	for (i = 0; i < h.chunks; i++) {
		if ((n = chunk_read(s, h.gen, i, buf + got,
		    (int)(h.bytes - got), err)) == -1) {
			free(buf);
			return -1;
		}
		got += n;
	}
	if (got != h.bytes) {
		free(buf);
		snprintf(err, ELECT_ERRLEN, "%.160s: %ld bytes of %ld",
		    s->path, got, h.bytes);
		return -1;
	}
	buf[got] = '\0';
	s->version = st.version;
	s->gen = h.gen;
	*out = buf;
	*outlen = (size_t)got;
	return 0;
}

/*
 * Delete the chunks under S's znode that are not of generation KEEP
 * (those of the old document, or of a write that failed half way).
 */
static void
chunks_prune(struct zkstore *s, unsigned long long keep)
{
	struct String_vector ch = { 0, NULL };
	char path[sizeof(s->path) + CHILD_LEN], prefix[32];
	int i;

	if (zoo_get_children(s->z->zh, s->path, 0, &ch) != ZOK)
		return;
	snprintf(prefix, sizeof(prefix), "%llu-", keep);
	for (i = 0; i < ch.count; i++) {
		if (strncmp(ch.data[i], prefix, strlen(prefix)) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->path, ch.data[i]);
		zoo_delete(s->z->zh, path, -1);
	}
	deallocate_String_vector(&ch);
}

/* Make the header znode of S when there is none; 0, or -1 with ERR. */
static int
header_make(struct zkstore *s, char *err)
{
	char h[HEADER_LEN];
	struct Stat st;
	int rc, n;

	n = snprintf(h, sizeof(h), ZKSTORE_MAGIC " 0 0 0");
	rc = zoo_create(s->z->zh, s->path, h, n,
	    elect_zk_acl_private(s->has_cred ? &s->cred : NULL), 0, NULL, 0);
	if (rc != ZOK && rc != ZNODEEXISTS) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper create %.120s: %.80s",
		    s->path, zerror(rc));
		return -1;
	}
	if (rc == ZNODEEXISTS) {
		/* none when we read it: another master made it, and leads */
		snprintf(err, ELECT_ERRLEN, "%.160s was made by another "
		    "master", s->path);
		return -2;
	}
	if ((rc = zoo_exists(s->z->zh, s->path, 0, &st)) != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper exists %.120s: %.80s",
		    s->path, zerror(rc));
		return -1;
	}
	s->version = st.version;
	s->gen = 0;
	return 0;
}

int
zkstore_write(struct zkstore *s, const char *buf, size_t len, char *err)
{
	char path[sizeof(s->path) + CHILD_LEN], h[HEADER_LEN];
	unsigned long long gen;
	struct Stat st;
	size_t off, n;
	long i, chunks;
	int rc, hl;

	if (len > ZKSTORE_MAX) {
		snprintf(err, ELECT_ERRLEN, "%zu bytes, more than the %d a "
		    "registry may hold", len, ZKSTORE_MAX);
		return -1;
	}
	if (zs_ready(s, err) == -1)
		return -1;
	if (s->version == -1 && (rc = header_make(s, err)) != 0)
		return rc;
	gen = s->gen + 1;
	chunks = (long)((len + ZKSTORE_CHUNK - 1) / ZKSTORE_CHUNK);
	for (i = 0, off = 0; i < chunks; i++, off += n) {
		n = len - off < ZKSTORE_CHUNK ? len - off : ZKSTORE_CHUNK;
		snprintf(path, sizeof(path), "%s/%llu-%ld", s->path, gen, i);
		rc = zoo_create(s->z->zh, path, buf + off, (int)n,
		    elect_zk_acl_private(s->has_cred ? &s->cred : NULL), 0, NULL, 0);
		if (rc == ZNODEEXISTS)
			rc = zoo_set(s->z->zh, path, buf + off, (int)n, -1);
		if (rc != ZOK) {
			snprintf(err, ELECT_ERRLEN, "ZooKeeper create %.120s: "
			    "%.80s", path, zerror(rc));
			return -1;
		}
	}
	hl = snprintf(h, sizeof(h), ZKSTORE_MAGIC " %llu %ld %zu", gen, chunks,
	    len);
	rc = zoo_set2(s->z->zh, s->path, h, hl, s->version, &st);
	if (rc == ZBADVERSION) {
		snprintf(err, ELECT_ERRLEN, "%.160s was written by another "
		    "master", s->path);
		return -2;
	}
	if (rc != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper set %.120s: %.80s",
		    s->path, zerror(rc));
		return -1;
	}
	s->version = st.version;
	s->gen = gen;
	chunks_prune(s, gen);
	return 0;
}
