#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

/* Open addressing with linear probing and tombstones; power-of-two size. */
struct slot {
	char	*key;		/* NULL: empty; TOMB: deleted */
	void	*val;
	uint32_t hash;
};

static char tomb_mark;
#define TOMB (&tomb_mark)

struct map {
	struct slot *slot;
	size_t	 size;		/* slots, a power of two */
	size_t	 count;		/* live entries */
	size_t	 used;		/* live entries plus tombstones */
};

/* FNV-1a: short keys, good enough spread, no allocation. */
static uint32_t
map_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct map *
map_create(void)
{
	struct map *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->size = 16;
	if ((m->slot = calloc(m->size, sizeof(*m->slot))) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
map_destroy(struct map *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->size; i++)
		if (m->slot[i].key != NULL && m->slot[i].key != TOMB)
			free(m->slot[i].key);
	free(m->slot);
	free(m);
}

/* Find KEY's slot, or the first free slot its probe sequence reaches. */
static struct slot *
map_find(const struct map *m, const char *key, uint32_t h)
{
	size_t i = h & (m->size - 1);
	struct slot *first_tomb = NULL;

	for (;;) {
		struct slot *s = &m->slot[i];

		if (s->key == NULL)
			return first_tomb != NULL ? first_tomb : s;
		if (s->key == TOMB) {
			if (first_tomb == NULL)
				first_tomb = s;
		} else if (s->hash == h && strcmp(s->key, key) == 0)
			return s;
		i = (i + 1) & (m->size - 1);
	}
}

/* Rehash into NSIZE slots, dropping tombstones. */
static int
map_resize(struct map *m, size_t nsize)
{
	struct slot *old = m->slot;
	size_t osize = m->size, i;

	if ((m->slot = calloc(nsize, sizeof(*m->slot))) == NULL) {
		m->slot = old;
		return -1;
	}
	m->size = nsize;
	m->used = m->count;
	for (i = 0; i < osize; i++) {
		if (old[i].key != NULL && old[i].key != TOMB) {
			size_t j = old[i].hash & (nsize - 1);

			while (m->slot[j].key != NULL)
				j = (j + 1) & (nsize - 1);
			m->slot[j] = old[i];
		}
	}
	free(old);
	return 0;
}

int
map_put(struct map *m, const char *key, void *val)
{
	uint32_t h = map_hash(key);
	struct slot *s;

	if ((m->used + 1) * 4 >= m->size * 3 &&
	    map_resize(m, m->count * 2 >= m->size / 2 ? m->size * 2 : m->size) == -1)
		return -1;
	s = map_find(m, key, h);
	if (s->key != NULL && s->key != TOMB) {
		s->val = val;
		return 0;
	}
	if (s->key == NULL)
		m->used++;
	if ((s->key = strdup(key)) == NULL) {
		s->key = TOMB;
		return -1;
	}
	s->val = val;
	s->hash = h;
	m->count++;
	return 0;
}

void *
map_get(const struct map *m, const char *key)
{
	struct slot *s = map_find(m, key, map_hash(key));

	return (s->key != NULL && s->key != TOMB) ? s->val : NULL;
}

void *
map_del(struct map *m, const char *key)
{
	struct slot *s = map_find(m, key, map_hash(key));
	void *val;

	if (s->key == NULL || s->key == TOMB)
		return NULL;
	val = s->val;
	free(s->key);
	s->key = TOMB;
	s->val = NULL;
	m->count--;
	return val;
}

size_t
map_count(const struct map *m)
{
	return m->count;
}

void *
map_next(const struct map *m, size_t *pos, const char **key)
{
	while (*pos < m->size) {
		struct slot *s = &m->slot[(*pos)++];

		if (s->key != NULL && s->key != TOMB) {
			if (key != NULL)
				*key = s->key;
			return s->val;
		}
	}
	return NULL;
}
