/*
 * map: a hash table from string keys to pointers, for indexing agents,
 * frameworks, tasks and offers by id in O(1).  The map copies keys; it
 * never frees values: the caller owns them.
 */
#ifndef CLUSTER_MAP_H
#define CLUSTER_MAP_H

#include <stddef.h>

struct map;

struct map *map_create(void);
/* Free the map and its keys (not the values). */
void	map_destroy(struct map *);
/* Bind KEY to VAL, replacing any earlier value.  Returns 0 or -1 (ENOMEM). */
int	map_put(struct map *, const char *key, void *val);
/* The value bound to KEY, or NULL. */
void	*map_get(const struct map *, const char *key);
/* Unbind KEY; returns its value, or NULL when it was not bound. */
void	*map_del(struct map *, const char *key);
size_t	map_count(const struct map *);

/*
 * Iterate: start with *POS = 0; each call returns the next value (and
 * its key through KEY when not NULL), or NULL at the end.  Deleting the
 * entry just returned is allowed; other changes end the iteration.
 */
void	*map_next(const struct map *, size_t *pos, const char **key);

#endif
