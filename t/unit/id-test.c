/*
 * id-test: where an id's bits come from (lib/util.c, id_new), for
 * t/0215-cluster-ids.bats.
 *
 *   id-test
 *
 * getrandom(2) and arc4random(3) are replaced here by counting
 * versions, the program's own definitions being the ones the library's
 * calls reach.  An id takes one getrandom call and no arc4random, also
 * in a process whose pid is 1 (where libbsd's arc4random starts afresh at
 * every call: run this under `unshare --pid --fork`); a getrandom cut
 * short by a signal is made again; without getrandom (ENOSYS, before
 * Linux 3.17) the id comes from two arc4random words.  One line per
 * case; exit 0 when all hold, 1 otherwise.
 */
#include <sys/random.h>
#include <sys/syscall.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "check.h"

static int	 getrandom_calls, arc4random_calls;
static int	 fail_with;	/* the errno of the next getrandom, 0: none */
static bool	 fail_always;	/* every getrandom fails with fail_with */

ssize_t
getrandom(void *buf, size_t len, unsigned int flags)
{
	getrandom_calls++;
	if (fail_with != 0) {
		errno = fail_with;
		if (!fail_always)
			fail_with = 0;
		return -1;
	}
	return syscall(SYS_getrandom, buf, len, flags);
}

uint32_t
arc4random(void)
{
	/* two words a fallback id: 0x11111111, then 0x22222222 */
	return 0x11111111U * (uint32_t)(arc4random_calls++ % 2 + 1);
}

/* An id as id_new must make it: PREFIX-, 12 hex digits, a valid id. */
static int
well_formed(const char *id, const char *prefix)
{
	size_t n = strlen(prefix), i;

	if (strncmp(id, prefix, n) != 0 || id[n] != '-' ||
	    strlen(id + n + 1) != 12 || !id_valid(id))
		return 0;
	for (i = n + 1; id[i] != '\0'; i++)
		if (strchr("0123456789abcdef", id[i]) == NULL)
			return 0;
	return 1;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
main(void)
{
	static char	 ids[1000][32];
	char		 id[64];
	int		 i, formed = 1, twice = 0;

	for (i = 0; i < 1000; i++) {
		id_new("task", ids[i], sizeof(ids[i]));
		formed &= well_formed(ids[i], "task");
	}
	qsort(ids, 1000, sizeof(ids[0]), cmp_id);
	for (i = 1; i < 1000; i++)
		twice += strcmp(ids[i - 1], ids[i]) == 0;
	printf("pid %d\n", (int)getpid());
	check("1,000 ids: task- and 12 hex digits, each a valid id", formed);
	check("1,000 ids: no two the same", twice == 0);
	check("1,000 ids: one getrandom each", getrandom_calls == 1000);
	check("1,000 ids: no arc4random", arc4random_calls == 0);

	getrandom_calls = 0;
	fail_with = EINTR;
	id_new("task", id, sizeof(id));
	check("a getrandom cut short by a signal is made again",
	    getrandom_calls == 2 && arc4random_calls == 0 &&
	    well_formed(id, "task"));

	getrandom_calls = 0;
	fail_with = ENOSYS;
	fail_always = true;
	id_new("fw", id, sizeof(id));
	check("without getrandom: two arc4random words, the low 48 bits",
	    getrandom_calls == 1 && arc4random_calls == 2 &&
	    strcmp(id, "fw-111122222222") == 0);
	return failed;
}
