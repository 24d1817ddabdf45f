/*
 * The registry: the master's durable memory, the few facts that must
 * survive a restart of offerd or the loss of its machine.  Its store is
 * WORK/state.json, written atomically, or, when offerd runs under a
 * ZooKeeper election that names it ($CLUSTER_REGISTRY, set by
 * cluster-elect(8)), the znode PATH/registry of the election (zkstore.h):
 * a master that wins the election reads it before serving, and a standby
 * on another machine sees what its predecessor wrote.  Everything else is
 * soft state that agents and frameworks bring back when they return.
 *
 *   {"version":1,
 *    "agents_seen":{id:since,...}, "agents_removed":{...},
 *    "frameworks_seen":{...}, "frameworks_removed":{...},
 *    "agents_principals":{id:principal,...}, "frameworks_principals":{...},
 *    "weights":{role:weight,...},
 *    "drains":{id:{"since":ms,"deadline":ms,"reason":s,"by":principal}},
 *    "quota":{role:{"guarantee":RES,"limit":RES},...},
 *    "reservations":{agent_id:RES,...}}
 *
 * where since is when the id entered the set (seconds since the epoch),
 * and principal the one that made a seen id: after a restart only that
 * principal may register or subscribe it again.  A file without the
 * principals (from before them: the first principal to come back binds
 * the id) or with arrays of ids (older still) is read; an offerd of
 * before the principals reads this one.
 * A removed agent that comes back is told to kill its tasks and gets a new
 * id; a removed framework cannot subscribe again under its old id for
 * STATE_KEEP_FW_S (every `cluster-ctl run` leaves one: they cannot pile
 * up for ever).  Removals are written at once, as they change what the
 * master answers; an operator's change (a weight, a drain; whatever
 * another module adds to the document) is written with state_commit()
 * before its answer; the seen sets at most every STATE_LAZY_MS.  A write
 * the registry refuses because another master wrote it since ends this
 * one: it no longer leads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elect.h"
#include "log.h"
#include "offerd.h"
#include "util.h"
#include "zkstore.h"

#define STATE_KEEP_FW_S	(7 * 24 * 3600)
#define STATE_LAZY_MS	5000

#define STATE_VERSION	1
#define REGISTRY_NAME	"registry"	/* the election's PATH/registry */

static const char *state_names[4] = { "agents_seen", "agents_removed",
    "frameworks_seen", "frameworks_removed" };
/* The principals of the ids of the seen sets, 0 and 2 of state_names. */
static const char *owner_names[4] = { "agents_principals", NULL,
    "frameworks_principals", NULL };

/* An id's entry in a set: when it was added, and whose it is ("": none). */
struct seen {
	time_t		 since;
	char		 principal[AUTH_PRINCIPAL_MAX];
};

/* Bind ID in SET to a new entry SINCE, of PRINCIPAL (NULL: none). */
static void
seen_put(struct map *set, const char *id, time_t since, const char *principal)
{
	struct seen *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		log_warnx("out of memory");
		return;
	}
	e->since = since;
	if (principal != NULL)
		strlcpy(e->principal, principal, sizeof(e->principal));
	free(map_put(set, id, e) == 0 ? NULL : e);
}

void
state_mark(struct master *m, struct map *set, const char *id,
    const char *principal)
{
	struct seen *e;

	if ((e = map_get(set, id)) != NULL) {
		/* an id of an older file, or of an agent's report, is bound now */
		if (principal == NULL || principal[0] == '\0' ||
		    e->principal[0] != '\0')
			return;
		strlcpy(e->principal, principal, sizeof(e->principal));
	} else
		seen_put(set, id, time(NULL), principal);
	if (set == m->removed_agents || set == m->removed_fw) {
		/* at once; when it fails, at the next tick again */
		m->state_dirty = 2;
		state_save(m);
	} else if (m->state_dirty == 0)
		m->state_dirty = 1;
}

int
state_owner_check(struct master *m, struct map *set,
    const struct net_route *from, const json_t *rec, const char *what,
    const char *id)
{
	struct net_route owner;
	struct seen *e;

	if (id == NULL || (e = map_get(set, id)) == NULL)
		return 0;
	memset(&owner, 0, sizeof(owner));
	strlcpy(owner.principal, e->principal, sizeof(owner.principal));
	return master_owner(m, &owner, from, rec, what, id);
}

void
state_tick(struct master *m)
{
	int64_t now = now_ms();

	if (m->state_dirty == 2 || (m->state_dirty == 1 && now >= m->state_next)) {
		state_save(m);
		m->state_next = now + STATE_LAZY_MS;
	}
}

/* Bind the ids of SET that OWNERS names to their principals. */
static void
state_load_owners(struct map *set, json_t *owners)
{
	const char *id;
	struct seen *e;
	json_t *v;

	json_object_foreach(owners, id, v)
		if (json_is_string(v) && (e = map_get(set, id)) != NULL)
			strlcpy(e->principal, json_string_value(v),
			    sizeof(e->principal));
}

/* The drains of M as the registry keeps them: {id:{since,...},...}. */
static json_t *
drains_json(struct master *m)
{
	json_t *all = json_object();
	struct drain *d;
	const char *id;
	size_t pos;

	for (pos = 0; (d = map_next(m->drains, &pos, &id)) != NULL;)
		json_object_set_new(all, id, json_pack("{s:I,s:I,s:s,s:s}",
		    "since", (json_int_t)d->since, "deadline",
		    (json_int_t)d->deadline, "reason", d->reason, "by", d->by));
	return all;
}

/* Read the drains of the registry's DRAINS into M, the sane ones. */
static void
drains_load(struct master *m, json_t *drains)
{
	struct drain *d;
	const char *id;
	json_t *v;

	json_object_foreach(drains, id, v) {
		if (!id_valid(id) || !json_is_object(v) ||
		    (d = calloc(1, sizeof(*d))) == NULL)
			continue;
		d->since = json_integer_value(json_object_get(v, "since"));
		d->deadline = json_integer_value(json_object_get(v,
		    "deadline"));
		if (json_is_string(json_object_get(v, "reason")))
			strlcpy(d->reason, json_string_value(json_object_get(v,
			    "reason")), sizeof(d->reason));
		if (json_is_string(json_object_get(v, "by")))
			strlcpy(d->by, json_string_value(json_object_get(v,
			    "by")), sizeof(d->by));
		if (map_put(m->drains, id, d) == -1)
			free(d);
	}
}

/* Take the durable state of the document J into M. */
static void
state_parse(struct master *m, json_t *j)
{
	struct map *sets[4] = { m->seen_agents, m->removed_agents, m->seen_fw,
	    m->removed_fw };
	json_t *ids, *v;
	const char *key;
	size_t i, k;

	for (k = 0; k < 4; k++) {
		ids = json_object_get(j, state_names[k]);
		/* arrays: the format before ids carried their time */
		json_array_foreach(ids, i, v)
			if (json_is_string(v))
				seen_put(sets[k], json_string_value(v),
				    time(NULL), NULL);
		json_object_foreach(ids, key, v)
			if (json_is_integer(v))
				seen_put(sets[k], key, json_integer_value(v),
				    NULL);
		if (owner_names[k] != NULL)
			state_load_owners(sets[k],
			    json_object_get(j, owner_names[k]));
	}
	if (json_is_object(json_object_get(j, "weights"))) {
		json_t *w = json_object();

		json_object_foreach(json_object_get(j, "weights"), key, v)
			if (json_is_number(v) && json_number_value(v) > 0 &&
			    (id_valid(key) || strcmp(key, "*") == 0))
				json_object_set(w, key, v);
		m->weights = w;
	}
	drains_load(m, json_object_get(j, "drains"));
	quota_load(m, json_object_get(j, "quota"));
	json_object_foreach(json_object_get(j, "reservations"), key, v)
		if (json_is_string(v) && id_valid(key))
			json_object_set(m->reservations, key, v);
}

/*
 * The registry's document from ZooKeeper (the election's, named by
 * $CLUSTER_REGISTRY) into *J (NULL: none yet); 0, or -1 logged.
 */
static int
registry_load(struct master *m, json_t **j)
{
	const struct config *c = m->conf;
	char err[ELECT_ERRLEN];
	json_error_t je;
	size_t len;
	char *buf;

	*j = NULL;
	m->registry = zkstore_open(c->registry, REGISTRY_NAME,
	    c->registry_has_cred ? &c->registry_cred : NULL, err);
	if (m->registry == NULL) {
		log_warnx("registry %s: %s", c->registry, err);
		return -1;
	}
	snprintf(m->state_path, sizeof(m->state_path), "%s%s",
	    c->registry, strrchr(zkstore_path(m->registry), '/'));
	if (zkstore_read(m->registry, &buf, &len, err) == -1) {
		log_warnx("registry %s: %s", m->state_path, err);
		return -1;
	}
	if (buf != NULL && (*j = json_loadb(buf, len, 0, &je)) == NULL) {
		log_warnx("registry %s: %s", m->state_path, je.text);
		free(buf);
		return -1;
	}
	free(buf);
	return 0;
}

/*
 * After a restart or a failover, the agents of the registry come back
 * one by one, each with its tasks: until they have, or the agent
 * timeout has passed, the master cannot tell a task it does not know
 * from one on an agent still to come (RECONCILE answers
 * TASK_UNREACHABLE rather than TASK_LOST meanwhile).
 */
static void
state_await(struct master *m)
{
	const char *id;
	size_t pos = 0;

	m->awaited = map_create();
	while (map_next(m->seen_agents, &pos, &id) != NULL)
		if (map_get(m->removed_agents, id) == NULL)
			map_put(m->awaited, id, m);
	m->awaited_until = now_ms() + m->conf->agent_timeout_ms;
	if (map_count(m->awaited) == 0) {
		map_destroy(m->awaited);
		m->awaited = NULL;
	}
}

void
state_registered(struct master *m, const char *agent_id)
{
	if (m->awaited != NULL)
		map_del(m->awaited, agent_id);
}

int
state_awaiting(struct master *m)
{
	if (m->awaited == NULL)
		return 0;
	if (map_count(m->awaited) > 0 && now_ms() < m->awaited_until)
		return 1;
	if (map_count(m->awaited) > 0)
		log_info("%zu agents of the registry did not register again "
		    "within %lld ms of the start", map_count(m->awaited),
		    (long long)m->conf->agent_timeout_ms);
	map_destroy(m->awaited);
	m->awaited = NULL;
	return 0;
}

int
state_load(struct master *m, const char *work_dir)
{
	json_error_t je;
	json_t *j;

	m->seen_agents = map_create();
	m->removed_agents = map_create();
	m->seen_fw = map_create();
	m->removed_fw = map_create();
	m->drains = map_create();
	m->quota = json_object();
	m->reservations = json_object();
	if (m->conf->registry != NULL) {
		if (registry_load(m, &j) == -1)
			return -1;
	} else {
		snprintf(m->state_path, sizeof(m->state_path), "%s/"
		    WORK_STATE, work_dir);
		if ((j = json_load_file(m->state_path, 0, &je)) == NULL &&
		    (access(m->state_path, F_OK) == 0 || errno != ENOENT)) {
			log_warnx("%s: %s (line %d)", m->state_path, je.text,
			    je.line);
			return -1;
		}
	}
	if (j == NULL)
		return 0;	/* a first start */
	state_parse(m, j);
	state_await(m);
	log_info("recovered %zu agent and %zu framework ids (%zu and %zu "
	    "removed), %zu drains from %s", map_count(m->seen_agents),
	    map_count(m->seen_fw), map_count(m->removed_agents),
	    map_count(m->removed_fw), map_count(m->drains), m->state_path);
	json_decref(j);
	return 0;
}

/* The durable state of M as one JSON document. */
static json_t *
state_json(struct master *m)
{
	struct map *sets[4] = { m->seen_agents, m->removed_agents, m->seen_fw,
	    m->removed_fw };
	json_t *j;
	const char *key;
	struct seen *e;
	size_t k, pos;
	time_t now = time(NULL);

	j = json_pack("{s:i}", "version", STATE_VERSION);
	for (k = 0; k < 4; k++) {
		json_t *ids = json_object(), *owners = json_object();

		for (pos = 0; (e = map_next(sets[k], &pos, &key)) != NULL;) {
			/* framework ids are forgotten after a while */
			if (k >= 2 && now - e->since > STATE_KEEP_FW_S) {
				free(map_del(sets[k], key));
				continue;
			}
			json_object_set_new(ids, key, json_integer(e->since));
			if (e->principal[0] != '\0')
				json_object_set_new(owners, key,
				    json_string(e->principal));
		}
		json_object_set_new(j, state_names[k], ids);
		if (owner_names[k] != NULL)
			json_object_set_new(j, owner_names[k], owners);
		else
			json_decref(owners);
	}
	if (m->weights != NULL && json_object_size(m->weights) > 0)
		json_object_set(j, "weights", m->weights);
	if (m->quota != NULL && json_object_size(m->quota) > 0)
		json_object_set(j, "quota", m->quota);
	if (m->reservations != NULL && json_object_size(m->reservations) > 0)
		json_object_set(j, "reservations", m->reservations);
	if (map_count(m->drains) > 0)
		json_object_set_new(j, "drains", drains_json(m));
	return j;
}

/* Write the LEN bytes of BUF as WORK/state.json, atomically; 0 or -1. */
static int
file_write(struct master *m, const char *buf, size_t len)
{
	char tmp[sizeof(m->state_path) + 8], dir[sizeof(m->state_path)];
	char *slash;
	FILE *fp;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/" WORK_STATE_TMP, m->conf->work_dir);
	if ((fp = fopen(tmp, "w")) == NULL ||
	    fwrite(buf, 1, len, fp) != len || fflush(fp) == EOF ||
	    fsync(fileno(fp)) == -1 || fclose(fp) == EOF) {
		log_warn("cannot write %s", tmp);
		return -1;
	}
	if (rename(tmp, m->state_path) == -1) {
		log_warn("cannot rename %s", tmp);
		return -1;
	}
	/* make the rename itself durable */
	strlcpy(dir, m->state_path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) != -1) {
			fsync(fd);
			close(fd);
		}
	}
	return 0;
}

int
state_save(struct master *m)
{
	char err[ELECT_ERRLEN];
	json_t *j;
	char *buf;
	int r;

	if (!m->state_dirty)
		return 0;
	j = state_json(m);
	buf = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (buf == NULL) {
		log_warnx("out of memory");
		return -1;
	}
	if (m->registry != NULL) {
		if ((r = zkstore_write(m->registry, buf, strlen(buf), err)) == -1)
			log_warnx("registry %s: %s", m->state_path, err);
		else if (r == -2)
			log_fatalx("registry %s: %s: no longer leader",
			    m->state_path, err);
	} else
		r = file_write(m, buf, strlen(buf));
	free(buf);
	if (r == 0)
		m->state_dirty = 0;
	return r == 0 ? 0 : -1;
}

int
state_commit(struct master *m)
{
	if (m->state_dirty == 0)
		m->state_dirty = 2;
	return state_save(m);
}
