/*
 * The master's durable memory: the few facts that must survive a restart
 * of offerd, in WORK/state.json, written atomically.  Everything else is
 * soft state that agents and frameworks bring back when they return.
 *
 *   {"version":1,
 *    "agents_seen":{id:since,...}, "agents_removed":{...},
 *    "frameworks_seen":{...}, "frameworks_removed":{...},
 *    "agents_principals":{id:principal,...}, "frameworks_principals":{...},
 *    "weights":{role:weight,...},
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
 * up for ever).  Removals are written at the next tick, as they change
 * what the master answers; the other sets at most every STATE_LAZY_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "offerd.h"
#include "util.h"

#define STATE_KEEP_FW_S	(7 * 24 * 3600)
#define STATE_LAZY_MS	5000

#define STATE_VERSION	1

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
	if (set == m->removed_agents || set == m->removed_fw)
		m->state_dirty = 2;
	else if (m->state_dirty == 0)
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

int
state_load(struct master *m, const char *work_dir)
{
	json_error_t je;
	struct map *sets[4];
	json_t *j, *ids, *v;
	const char *key;
	size_t i, k;

	snprintf(m->state_path, sizeof(m->state_path), "%s/" WORK_STATE,
	    work_dir);
	m->seen_agents = map_create();
	m->removed_agents = map_create();
	m->seen_fw = map_create();
	m->removed_fw = map_create();
	m->quota = json_object();
	m->reservations = json_object();
	sets[0] = m->seen_agents;
	sets[1] = m->removed_agents;
	sets[2] = m->seen_fw;
	sets[3] = m->removed_fw;
	if ((j = json_load_file(m->state_path, 0, &je)) == NULL) {
		if (access(m->state_path, F_OK) == -1 && errno == ENOENT)
			return 0;	/* a first start */
		log_warnx("%s: %s (line %d)", m->state_path, je.text, je.line);
		return -1;
	}
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
	quota_load(m, json_object_get(j, "quota"));
	json_object_foreach(json_object_get(j, "reservations"), key, v)
		if (json_is_string(v) && id_valid(key))
			json_object_set(m->reservations, key, v);
	log_info("recovered %zu agent and %zu framework ids (%zu and %zu "
	    "removed) from %s", map_count(m->seen_agents),
	    map_count(m->seen_fw), map_count(m->removed_agents),
	    map_count(m->removed_fw), m->state_path);
	json_decref(j);
	return 0;
}

void
state_save(struct master *m)
{
	char tmp[sizeof(m->state_path) + 8];
	struct map *sets[4] = { m->seen_agents, m->removed_agents, m->seen_fw,
	    m->removed_fw };
	json_t *j;
	const char *key;
	struct seen *e;
	size_t k, pos;
	FILE *fp;
	int fd;

	time_t now = time(NULL);

	if (!m->state_dirty)
		return;
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
	snprintf(tmp, sizeof(tmp), "%s/" WORK_STATE_TMP, m->conf->work_dir);
	if ((fp = fopen(tmp, "w")) == NULL ||
	    json_dumpf(j, fp, JSON_COMPACT) == -1 || fflush(fp) == EOF ||
	    fsync(fileno(fp)) == -1 || fclose(fp) == EOF) {
		log_warn("cannot write %s", tmp);
		json_decref(j);
		return;
	}
	json_decref(j);
	if (rename(tmp, m->state_path) == -1) {
		log_warn("cannot rename %s", tmp);
		return;
	}
	/* make the rename itself durable */
	{
		char dir[sizeof(m->state_path)], *slash;

		strlcpy(dir, m->state_path, sizeof(dir));
		if ((slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) != -1) {
				fsync(fd);
				close(fd);
			}
		}
	}
	m->state_dirty = 0;
}
