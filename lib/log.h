/*
 * log: the daemons' one logging module.  In the foreground (-d) messages go
 * to stderr prefixed with the program name; otherwise to syslog(3).
 * Tools use err(3)/warnx(3) instead.  Part of libcluster, except
 * log_fatal() and log_fatalx() (see below).
 */
#ifndef CLUSTER_LOG_H
#define CLUSTER_LOG_H

#include <stdarg.h>

/* Start logging as PROG; FOREGROUND selects stderr; VERBOSE counts -v. */
void log_init(const char *prog, int foreground, int verbose);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log a critical message, with strerror(ERRNUM) when ERRNUM != 0. */
void log_vcrit(int errnum, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * Log and exit with status EXIT_SYSTEM.  For programs only: these are in
 * die.c, which is not part of libcluster (the library never exits).
 */
void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void log_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
