/*
 * timeq: the timer queue (see timeq.h), an indexed binary min-heap.
 */
#include <stdlib.h>

#include "log.h"
#include "timeq.h"

#define TIMEQ_FIRST_CAP	1024

static void
place(struct timeq *q, size_t i, struct timeq_ent *e)
{
	q->heap[i] = e;
	e->pos = i + 1;
}

/* Move the timer at index I up while it is earlier than its parent. */
static void
up(struct timeq *q, size_t i)
{
	struct timeq_ent *e = q->heap[i];

	while (i > 0 && q->heap[(i - 1) / 2]->when > e->when) {
		place(q, i, q->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(q, i, e);
}

/* Move the timer at index I down while a child is earlier. */
static void
down(struct timeq *q, size_t i)
{
	struct timeq_ent *e = q->heap[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= q->n)
			break;
		if (c + 1 < q->n && q->heap[c + 1]->when < q->heap[c]->when)
			c++;
		if (q->heap[c]->when >= e->when)
			break;
		place(q, i, q->heap[c]);
		i = c;
	}
	place(q, i, e);
}

void
timeq_stop(struct timeq *q, struct timeq_ent *e)
{
	struct timeq_ent *m;
	size_t i;

	if (e->pos == 0)
		return;
	i = e->pos - 1;
	e->pos = 0;
	if (--q->n == i)
		return;
	m = q->heap[q->n];
	place(q, i, m);
	up(q, i);
	down(q, m->pos - 1);
}

int
timeq_set(struct timeq *q, struct timeq_ent *e, int64_t when)
{
	struct timeq_ent **h;
	size_t cap;

	e->when = when;
	if (e->pos != 0) {
		up(q, e->pos - 1);
		down(q, e->pos - 1);
		return 0;
	}
	if (q->n == q->cap) {
		cap = q->cap ? 2 * q->cap : TIMEQ_FIRST_CAP;
		if ((h = reallocarray(q->heap, cap, sizeof(*h))) == NULL) {
			log_warn("timers: a timer is lost");
			return -1;
		}
		q->heap = h;
		q->cap = cap;
	}
	place(q, q->n, e);
	up(q, q->n++);
	return 0;
}

int64_t
timeq_wait(const struct timeq *q, int64_t now)
{
	if (q->n == 0)
		return -1;
	return q->heap[0]->when > now ? q->heap[0]->when - now : 0;
}

size_t
timeq_run(struct timeq *q, int64_t now, size_t max)
{
	struct timeq_ent *e;
	size_t n;

	for (n = 0; n < max && q->n > 0 && q->heap[0]->when <= now; n++) {
		e = q->heap[0];
		timeq_stop(q, e);
		e->fire(e, now);
	}
	return n;
}

void
timeq_clear(struct timeq *q)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		q->heap[i]->pos = 0;
	free(q->heap);
	q->heap = NULL;
	q->n = q->cap = 0;
}
