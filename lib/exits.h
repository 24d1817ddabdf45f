/*
 * exits: the exit statuses of every program of the project, after s6 and
 * execline: 0 success, 1 a plain failure (a tool's request failed), 100
 * a usage error, 111 a system failure, 126 and 127 for a command that
 * cannot be executed or found, 128 + N for a command killed by signal N.
 * The man pages' EXIT STATUS sections list which of them each program
 * uses.  (EXIT_SUCCESS and EXIT_FAILURE, 0 and 1, are <stdlib.h>'s.)
 */
#ifndef CLUSTER_EXITS_H
#define CLUSTER_EXITS_H

#define EXIT_USAGE	100	/* bad option, argument or configuration */
#define EXIT_SYSTEM	111	/* a system call or resource failed */
#define EXIT_NOEXEC	126	/* the command exists but cannot be executed */
#define EXIT_NOTFOUND	127	/* the command was not found */
#define EXIT_SIGNALED	128	/* plus the signal that killed the command */

#endif
