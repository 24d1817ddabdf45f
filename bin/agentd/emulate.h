/*
 * emulate: many agents in one agentd process (agentd -E N), for scale
 * tests of the master.  See emulate.c and agentd(8).
 */
#ifndef AGENTD_EMULATE_H
#define AGENTD_EMULATE_H

#include "agentd.h"

#define EMULATE_MAX	100000	/* agents one process may emulate */

/*
 * Emulate N agents over one socket to MASTER until SIGTERM or SIGINT.
 * TMPL gives what they share: the hostname prefix (agent i is named
 * PREFIX-i), the resources ("" for the default), the attribute pattern
 * and the heartbeat interval.  Writes PIDPATH when not NULL.  Returns the
 * exit status of agentd.
 */
int	emulate_run(const struct agent *tmpl, int n, const char *master,
	    const char *pidpath);

#endif
