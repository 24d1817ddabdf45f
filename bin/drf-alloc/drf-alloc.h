/*
 * drf-alloc: the allocator program around its DRF core (see drf-alloc(8)).
 * drf-alloc.c holds the options, the standalone (stdin) mode and the
 * socket mode; drf.c is the DRF core (no I/O, see drf.h); relay.c holds
 * the -A mode, which hands the allocator's records to another program.
 */
#ifndef DRF_ALLOC_H
#define DRF_ALLOC_H

#include <signal.h>

#include "exits.h"
#include "net.h"

#define DRAIN_MAX	10000	/* records read before a due cycle may run */

/* Set by the signal handler; the loops stop when it is non-zero. */
extern volatile sig_atomic_t	stop_flag;
/* The read end of the self-pipe the signal handler writes to. */
extern int			wake_fd;

/* Read and discard whatever the signal handler wrote to the self-pipe. */
void	wake_drain(void);

/*
 * Start PROGRAM with /bin/sh, bind a PAIR socket on ENDPOINT and relay:
 * records from offerd go to the program's stdin as JSON lines; its stdout
 * lines are checked and sent to offerd.  Returns the exit status: 0 after
 * SIGTERM (the program is sent SIGTERM too); exits 111 when the program
 * ends or the socket fails.
 */
int	relay_run(const char *endpoint, const char *program);

#endif
