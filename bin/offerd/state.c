/*
 * The master's durable memory: the few facts that must survive a restart
 * of offerd, in WORK/state.json, written atomically.  Everything else is
 * soft state that agents and frameworks bring back when they return.
 *
 *   {"version":1,
 *    "agents_seen":{id:since,...}, "agents_removed":{...},
 *    "frameworks_seen":{...}, "frameworks_removed":{...}}
 *
 * where since is when the id entered the set (seconds since the epoch).
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

static const char *state_names[4] = { "agents_seen", "agents_removed",
    "frameworks_seen", "frameworks_removed" };

/* An entry's value in a set: when it was added, never 0 (NULL). */
#define SINCE(t)	((void *)(intptr_t)((t) > 0 ? (t) : 1))

void
state_mark(struct master *m, struct map *set, const char *id)
{
	if (map_get(set, id) != NULL)
		return;
	map_put(set, id, SINCE(time(NULL)));
	if (set == m->removed_agents || set == m->removed_fw)
		m->state_dirty = 2;
	else if (m->state_dirty == 0)
		m->state_dirty = 1;
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

int
state_load(struct master *m, const char *work_dir)
{
	json_error_t je;
	struct map *sets[4];
	json_t *j, *ids, *v;
	const char *key;
	size_t i, k;

	snprintf(m->state_path, sizeof(m->state_path), "%s/state.json", work_dir);
	m->seen_agents = map_create();
	m->removed_agents = map_create();
	m->seen_fw = map_create();
	m->removed_fw = map_create();
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
				map_put(sets[k], json_string_value(v),
				    SINCE(time(NULL)));
		json_object_foreach(ids, key, v)
			if (json_is_integer(v))
				map_put(sets[k], key, SINCE(json_integer_value(v)));
	}
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
	size_t k, pos;
	FILE *fp;
	int fd;

	time_t now = time(NULL);
	void *since;

	if (!m->state_dirty)
		return;
	j = json_pack("{s:i}", "version", 1);
	for (k = 0; k < 4; k++) {
		json_t *ids = json_object();

		for (pos = 0; (since = map_next(sets[k], &pos, &key)) != NULL;) {
			/* framework ids are forgotten after a while */
			if (k >= 2 && now - (intptr_t)since > STATE_KEEP_FW_S) {
				map_del(sets[k], key);
				continue;
			}
			json_object_set_new(ids, key,
			    json_integer((json_int_t)(intptr_t)since));
		}
		json_object_set_new(j, state_names[k], ids);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", m->state_path);
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
