/*
 * util: clocks, identifiers and small helpers shared by every program.
 */
#ifndef CLUSTER_UTIL_H
#define CLUSTER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* The endpoint every client uses when CLUSTER_MASTER is not set. */
#define CLUSTER_MASTER_DEFAULT	"tcp://127.0.0.1:5050"

/* Milliseconds on clock ID (a clock_gettime(2) clock). */
int64_t	clock_ms(clockid_t id);
/* Milliseconds on the monotonic clock (for timeouts). */
int64_t	now_ms(void);
/* Milliseconds since the epoch (for what is shown to people). */
int64_t	wall_ms(void);

/*
 * snprintf(3) into BUF of LEN bytes that says whether it fit: returns 0,
 * or -1 when the text was cut (or could not be formatted).
 */
int	strfmt(char *buf, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Write a fresh identifier "PREFIX-XXXXXXXXXXXX" (random hex) into BUF of
 * LEN bytes.  Returns BUF.
 */
char	*id_new(const char *prefix, char *buf, size_t len);

/*
 * True when S is a valid identifier: 1..63 of [A-Za-z0-9._-], not starting
 * with a dot (ids become file names: ".", ".." and hidden names never).
 */
int	id_valid(const char *s);

/* The master endpoint: ARG if given, else $CLUSTER_MASTER, else default. */
const char *master_endpoint(const char *arg);

/*
 * Parse a duration "250ms", "5s", "2m" or a bare number of seconds into
 * milliseconds.  Returns 0, or -1 with *ERRSTR set.
 */
int	duration_parse(const char *s, int64_t *ms, const char **errstr);

/*
 * Programs only (die.c, not in libcluster; the library never exits): the
 * value of a duration option NAME given as ARG, in milliseconds; a bad
 * one ends the program with a message and status EXIT_USAGE.
 */
int64_t	duration_arg(const char *name, const char *arg);
/* duration_arg, and exit EXIT_USAGE when the duration is under MIN_MS. */
int64_t	duration_arg_min(const char *name, const char *arg, int64_t min_ms);
/*
 * A size option's value in bytes, as expand_number(3) reads it (1048576,
 * 64k, 16M, 1G); exits EXIT_USAGE on a bad one or one under MIN.
 */
int64_t	size_arg(const char *name, const char *arg, int64_t min);
/* --version: print PROG's release and protocol version, and exit 0. */
void	version_exit(const char *prog) __attribute__((noreturn));

/*
 * Make directory PATH with MODE, and its missing parents with PMODE only
 * when PATH cannot be made without them (the common case costs one
 * mkdir).  Returns 1 when PATH was made, 0 when it was there already, -1
 * with errno set on error.
 */
int	mkdirs(const char *path, mode_t mode, mode_t pmode);

struct pidfh;
/*
 * Programs only (die.c): take the pid file PATH (NULL: none, returns
 * NULL) for a daemon, or end the program through log_fatal (status
 * EXIT_SYSTEM, in the log) when another holds it or it cannot be made.  Write the pid with pidfile_write(3) once running.
 */
struct pidfh *pidfile_take(const char *path);

/*
 * Write into BUF (LEN bytes) the path of program NAME in the folder of the
 * running program when it is there, else FALLBACK.  Returns BUF.
 */
char	*sibling_program(const char *name, const char *fallback, char *buf,
	    size_t len);

/* utime + stime of process PID in clock ticks, or -1 (for benchmarks). */
long long proc_cpu_ticks(int pid);

#endif
