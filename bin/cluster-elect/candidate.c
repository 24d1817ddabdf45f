/*
 * candidate: one candidate of cluster-elect, on either backend (lock.c,
 * zk.c), and the lease page it shares with its command.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster-elect.h"

#define LEASE_SIZE	4096	/* one page; the deadline is its first 8 bytes */
#define TICK_MIN_MS	10	/* poll period bounds: a twentieth of a session */
#define TICK_MAX_MS	50

struct cand {
	struct lockc	*lc;
	struct zkc	*zc;
	int64_t		 session_ms;
};

struct cand *
cand_join(const struct elect_url *url, int64_t session_ms,
    const struct auth_cred *cred, char *err)
{
	struct cand *c;

	if (url->kind != ELECT_LOCK && url->kind != ELECT_ZK) {
		snprintf(err, ELECT_ERRLEN, "not an election: %.160s",
		    url->endpoint);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, ELECT_ERRLEN, "out of memory");
		return NULL;
	}
	c->session_ms = session_ms;
	if (url->kind == ELECT_LOCK)
		c->lc = lockc_create(url->path, session_ms, err);
	else if ((c->zc = zkc_create(url, session_ms, cred, err)) != NULL)
		c->session_ms = zkc_session_ms(c->zc);
	if (c->lc == NULL && c->zc == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
cand_leave(struct cand *c)
{
	if (c == NULL)
		return;
	lockc_destroy(c->lc);
	zkc_destroy(c->zc);
	free(c);
}

int
cand_fd(struct cand *c)
{
	return c->zc != NULL ? zkc_fd(c->zc) : -1;
}

int
cand_tick_ms(struct cand *c)
{
	int64_t t = c->session_ms / 20;

	return t < TICK_MIN_MS ? TICK_MIN_MS : t > TICK_MAX_MS ? TICK_MAX_MS :
	    (int)t;
}

int64_t
cand_session_ms(struct cand *c)
{
	return c->session_ms;
}

enum cand_state
cand_poll(struct cand *c, int64_t *lease_until, char *why)
{
	if (c->lc != NULL)
		return lockc_poll(c->lc, lease_until, why);
	return zkc_poll(c->zc, lease_until, why);
}

int
cand_publish(struct cand *c, const char *endpoint, pid_t command, char *err)
{
	size_t n = strlen(endpoint);

	if (n >= ELECT_ENDPOINT_MAX || strcspn(endpoint, " \t\n") != n) {
		snprintf(err, ELECT_ERRLEN, "endpoint '%.64s': too long or has "
		    "blanks", endpoint);
		return -1;
	}
	if (c->lc != NULL)
		return lockc_publish(c->lc, endpoint, command, err);
	return zkc_publish(c->zc, endpoint, err);
}

int
lease_create(volatile int64_t **page, char *err)
{
	void *p;
	int fd;

	if ((fd = memfd_create("cluster-lease", 0)) == -1 ||
	    ftruncate(fd, LEASE_SIZE) == -1) {
		snprintf(err, ELECT_ERRLEN, "lease: %.160s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	p = mmap(NULL, LEASE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, ELECT_ERRLEN, "lease: mmap: %.160s", strerror(errno));
		close(fd);
		return -1;
	}
	*page = p;
	__atomic_store_n((int64_t *)p, 0, __ATOMIC_RELEASE);
	return fd;
}
