/*
 * timeq: a timer queue, an indexed binary min-heap of timers, so that a
 * loop with tens of thousands of timers (the agent emulator's agents and
 * tasks) pays O(log N) per timer that fires and nothing for idle ones.
 * The caller owns every struct timeq_ent and embeds it where it belongs;
 * the queue owns only its array (timeq_clear frees it).
 */
#ifndef CLUSTER_TIMEQ_H
#define CLUSTER_TIMEQ_H

#include <stddef.h>
#include <stdint.h>

struct timeq_ent;
typedef void	timeq_fn(struct timeq_ent *, int64_t now);

struct timeq_ent {
	int64_t		 when;		/* now_ms() it is due at */
	size_t		 pos;		/* 1 + index in the heap; 0: not set */
	timeq_fn	*fire;		/* called once it is due, after removal */
};

struct timeq {
	struct timeq_ent **heap;
	size_t		   n, cap;
};

/*
 * Make E fire at WHEN (set it, or move it).  Returns 0, or -1 when out of
 * memory, with a warning logged and E not set.
 */
int	timeq_set(struct timeq *, struct timeq_ent *e, int64_t when);
/* Take E out of the queue if it is in. */
void	timeq_stop(struct timeq *, struct timeq_ent *e);
/* Milliseconds from NOW to the earliest timer (0 if due), or -1: none. */
int64_t	timeq_wait(const struct timeq *, int64_t now);
/* Fire at most MAX timers due at NOW, earliest first; returns how many. */
size_t	timeq_run(struct timeq *, int64_t now, size_t max);
/* Forget every timer and free the array. */
void	timeq_clear(struct timeq *);

#endif
