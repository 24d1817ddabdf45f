/*
 * The status file: one JSON object (jansson) written atomically, tmp file
 * then rename(2), when the task has ended or its launch has failed.  Not
 * fsync'd: it must outlive the launcher and agentd, not the machine (after
 * a reboot no task is left to report on), and a flush to disk per task
 * cost a tenth of the agent's launch rate on ext4.
 */
#include <err.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <jansson.h>

#include "task-launch.h"

static const char *const state_names[] = { "exited", "signaled", "failed" };

/* Return task-launch's exit status for a result (see EXIT STATUS). */
int
result_exit(const struct result *r)
{
	switch (r->state) {
	case ST_EXITED:
		return r->code;
	case ST_SIGNALED:
		return EXIT_SIGNALED + r->code;
	default:
		return r->code;
	}
}

/*
 * Write the result to l->status_file (nothing without --status-file).
 * Returns 0, or -1 after a warning when it could not be written.
 */
int
status_write(const struct launch *l, const struct result *r)
{
	char	 tmp[PATH_MAX], list[256];
	json_t	*o;
	FILE	*f;
	int	 fd, rc = -1;

	if (l->status_file == NULL)
		return 0;
	o = json_object();
	json_object_set_new(o, "id", json_string(l->id));
	json_object_set_new(o, "state", json_string(state_names[r->state]));
	if (r->state == ST_EXITED)
		json_object_set_new(o, "exit_code", json_integer(r->code));
	else if (r->state == ST_SIGNALED)
		json_object_set_new(o, "signal", json_integer(r->code));
	json_object_set_new(o, "oom", json_boolean(r->oom));
	json_object_set_new(o, "killed", json_boolean(r->killed));
	json_object_set_new(o, "cpu_ms", json_integer(r->cpu_ms));
	json_object_set_new(o, "mem_peak_mb", json_integer(r->mem_peak_mb));
	iso_list(l->applied, list, sizeof(list));
	json_object_set_new(o, "isolators", json_string(list));
	iso_list(l->skipped, list, sizeof(list));
	json_object_set_new(o, "skipped", json_string(list));
	if (r->state == ST_FAILED) {
		json_object_set_new(o, "exit_status", json_integer(r->code));
		json_object_set_new(o, "reason", json_string(r->reason));
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", l->status_file,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		warnx("%s: name too long", l->status_file);
		json_decref(o);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		warn("%s", tmp);
		if (fd != -1)
			close(fd);
		json_decref(o);
		return -1;
	}
	if (json_dumpf(o, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF &&
	    fflush(f) == 0)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, l->status_file) == -1)
		rc = -1;
	if (rc == -1) {
		warn("%s", l->status_file);
		unlink(tmp);
	}
	json_decref(o);
	return rc;
}
