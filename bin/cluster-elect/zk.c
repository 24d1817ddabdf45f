/*
 * zk: cluster-elect's candidate in a ZooKeeper election.  Each candidate
 * owns an ephemeral sequential znode PATH/n_NNNNNNNNNN; the lowest leads,
 * each standby watches its predecessor, and the leader's lease is renewed
 * by a ping every quarter session.  The ZooKeeper handle is shared with
 * the lookup of lib/elect.c (elect-backend.h).
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster-elect.h"
#include "elect-backend.h"
#include "log.h"
#include "util.h"

#define ZK_CHECK_TRIES	10	/* predecessors that may leave under us */

/* A candidate in a ZooKeeper election. */
struct zkc {
	struct elect_zk	*z;
	char		 me[1300];	/* our znode, full path */
	int		 leader;
	int		 was_connected;
	int64_t		 next_check;
	int64_t		 next_renew;
};

/*
 * Where do we stand: leader when our znode is the lowest, else watch our
 * predecessor.  Returns CAND_LEADER (setting the lease from the time
 * the question was asked), CAND_STANDBY or CAND_LOST with WHY.
 */
static enum cand_state
zk_check(struct zkc *c, char *why)
{
	struct String_vector ch;
	char lowest[256], pred[256], path[1300];
	const char *mine = strrchr(c->me, '/') + 1;
	int tries, rc;

	for (tries = 0; tries < ZK_CHECK_TRIES; tries++) {
		int64_t t0 = elect_clock_ms();

		ch.count = 0;
		ch.data = NULL;
		if ((rc = zoo_get_children(c->z->zh, c->z->base, 0, &ch)) != ZOK)
			return CAND_STANDBY;	/* not connected: later */
		elect_zk_order(&ch, mine, lowest, sizeof(lowest), pred, sizeof(pred));
		deallocate_String_vector(&ch);
		if (elect_zk_seq(mine) < 0 || lowest[0] == '\0' ||
		    (pred[0] == '\0' && strcmp(lowest, mine) != 0)) {
			snprintf(why, ELECT_ERRLEN, "our znode %.160s is gone", c->me);
			return CAND_LOST;
		}
		if (pred[0] == '\0') {
			pthread_mutex_lock(&c->z->mu);
			c->z->renewed = t0 + c->z->session_ms;
			pthread_mutex_unlock(&c->z->mu);
			c->leader = 1;
			return CAND_LEADER;
		}
		snprintf(path, sizeof(path), "%s/%s", c->z->base, pred);
		rc = zoo_wexists(c->z->zh, path, elect_zk_watcher, c->z, NULL);
		if (rc == ZOK)
			return CAND_STANDBY;
		if (rc != ZNONODE)
			return CAND_STANDBY;
		/* the predecessor left between the two calls: look again */
	}
	return CAND_STANDBY;
}

/* Completion of a lease ping: a live session extends the lease. */
static void
zk_renewed(int rc, const struct Stat *st, const void *data)
{
	struct elect_zk *z = (struct elect_zk *)data;

	(void)st;
	pthread_mutex_lock(&z->mu);
	if (rc == ZOK) {
		if (z->renew_sent + z->session_ms > z->renewed)
			z->renewed = z->renew_sent + z->session_ms;
	} else if (rc == ZNONODE)
		z->gone = 1;
	z->renewing = 0;
	pthread_mutex_unlock(&z->mu);
	elect_zk_wake(z);
}

/*
 * Advance C: watch for our turn as a standby, keep the lease fresh as the
 * leader.  See cand_poll().
 */
enum cand_state
zkc_poll(struct zkc *c, int64_t *lease_until, char *why)
{
	struct elect_zk *z = c->z;
	int64_t now = elect_clock_ms(), lease;
	int connected, expired, changed, gone, renewing;
	char buf[64];

	while (read(z->pipe[0], buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&z->mu);
	connected = z->connected;
	expired = z->expired;
	changed = z->changed;
	gone = z->gone;
	renewing = z->renewing;
	lease = z->renewed;
	z->changed = 0;
	pthread_mutex_unlock(&z->mu);
	if (expired) {
		snprintf(why, ELECT_ERRLEN, "ZooKeeper session expired");
		return CAND_LOST;
	}
	if (connected != c->was_connected) {
		c->was_connected = connected;
		if (connected)
			log_info("ZooKeeper: connected");
		else if (c->leader)
			log_warnx("ZooKeeper: disconnected; leading for %lld ms "
			    "more at most", (long long)(lease - now));
		else
			log_info("ZooKeeper: disconnected");
	}
	if (gone) {
		snprintf(why, ELECT_ERRLEN, "our znode %.160s is gone", c->me);
		return CAND_LOST;
	}
	if (c->leader) {
		if (now >= lease) {
			snprintf(why, ELECT_ERRLEN, "no word from ZooKeeper within "
			    "the session timeout (%lld ms)",
			    (long long)z->session_ms);
			return CAND_LOST;
		}
		if (connected && !renewing && now >= c->next_renew) {
			pthread_mutex_lock(&z->mu);
			z->renewing = 1;
			z->renew_sent = elect_clock_ms();
			pthread_mutex_unlock(&z->mu);
			if (zoo_aexists(z->zh, c->me, 0, zk_renewed, z) != ZOK) {
				pthread_mutex_lock(&z->mu);
				z->renewing = 0;
				pthread_mutex_unlock(&z->mu);
			}
			c->next_renew = now + z->session_ms / 4;
		}
		*lease_until = lease;
		return CAND_LEADER;
	}
	if (connected && (changed || now >= c->next_check)) {
		enum cand_state st;

		c->next_check = now + z->session_ms;
		st = zk_check(c, why);
		if (st == CAND_LEADER) {
			pthread_mutex_lock(&z->mu);
			*lease_until = z->renewed;
			pthread_mutex_unlock(&z->mu);
			c->next_renew = now + z->session_ms / 4;
		}
		return st;
	}
	return CAND_STANDBY;
}

struct zkc *
zkc_create(const struct elect_url *url, int64_t session_ms,
    const struct auth_cred *cred, char *err)
{
	struct zkc *c = calloc(1, sizeof(*c));
	char made[1300];
	int rc;

	if (c == NULL) {
		snprintf(err, ELECT_ERRLEN, "out of memory");
		return NULL;
	}
	if ((c->z = elect_zk_open(url, session_ms, 1, err)) == NULL)
		goto fail;
	if (elect_zk_login(c->z, cred, err) == -1 ||
	    zka_mkpath(c->z, url->path, cred, err) == -1)
		goto fail;
	snprintf(made, sizeof(made), "%s/%s", url->path, ELECT_ZK_PREFIX);
	rc = zoo_create(c->z->zh, made, "", 0, elect_zk_acl(cred),
	    ZOO_EPHEMERAL_SEQUENTIAL, c->me, sizeof(c->me));
	if (rc == ZNOAUTH) {
		zka_refused(c->z, made, cred, err);
		goto fail;
	}
	if (rc != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper create %.120s: %.80s", made,
		    zerror(rc));
		goto fail;
	}
	pthread_mutex_lock(&c->z->mu);
	c->z->changed = 1;	/* look where we stand at once */
	pthread_mutex_unlock(&c->z->mu);
	log_info("joined the election at %s as %s (session timeout %lld "
	    "ms)", url->path, c->me, (long long)zkc_session_ms(c));
	if (cred == NULL)
		log_warnx("--insecure: anyone who reaches ZooKeeper may write "
		    "the znodes of %s", url->path);
	return c;
fail:
	zkc_destroy(c);
	return NULL;
}

void
zkc_destroy(struct zkc *c)
{
	if (c == NULL)
		return;
	/* closing the session deletes our znode at once */
	elect_zk_free(c->z);
	free(c);
}

int
zkc_fd(struct zkc *c)
{
	return c->z->pipe[0];
}

int64_t
zkc_session_ms(struct zkc *c)
{
	int64_t ms;

	pthread_mutex_lock(&c->z->mu);
	ms = c->z->session_ms;
	pthread_mutex_unlock(&c->z->mu);
	return ms;
}

int
zkc_publish(struct zkc *c, const char *endpoint, char *err)
{
	int rc = zoo_set(c->z->zh, c->me, endpoint, (int)strlen(endpoint), -1);

	if (rc != ZOK) {
		snprintf(err, ELECT_ERRLEN, "ZooKeeper set %.120s: %.80s", c->me,
		    zerror(rc));
		return -1;
	}
	return 0;
}
