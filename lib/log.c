/*
 * log: the daemons' one logging module (see log.h).  It never ends the
 * program: log_fatal() and log_fatalx() are in die.c, outside the library.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static const char *log_prog = "cluster";
static int log_fg = 1;
static int log_verbose;

void
log_init(const char *prog, int foreground, int verbose)
{
	log_prog = prog;
	log_fg = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Emit one message at PRI, with strerror(ERRNUM) appended when ERRNUM != 0. */
static void
log_emit(int pri, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_fg) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		if (errnum)
			fprintf(stderr, "%s.%03ld %s: %s: %s\n", when,
			    ts.tv_nsec / 1000000, log_prog, msg, strerror(errnum));
		else
			fprintf(stderr, "%s.%03ld %s: %s\n", when,
			    ts.tv_nsec / 1000000, log_prog, msg);
	} else if (errnum)
		syslog(pri, "%s: %s", msg, strerror(errnum));
	else
		syslog(pri, "%s", msg);
}

void
log_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, e, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1 && log_fg)
		return;
	va_start(ap, fmt);
	log_emit(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
log_vcrit(int errnum, const char *fmt, va_list ap)
{
	log_emit(LOG_CRIT, errnum, fmt, ap);
}
