/*
 * Output: what a task wrote to its stdout and stderr, read for the
 * master's LOGS (cluster-ctl logs, run): the files task-launch writes in
 * the task's sandbox, WORK/tasks/FRAMEWORK/TASK/sandbox/STREAM.  The
 * sandbox may belong to the task's user: its files are opened without
 * following a symbolic link and must be regular files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "agentd.h"
#include "util.h"

ssize_t
task_output(void *arg, struct agent *a, const char *fw, const char *tid,
    const char *stream, int64_t offset, char *buf, size_t max, int64_t *size,
    char *err)
{
	struct agentd *ag = arg;
	char path[PATH_MAX + 3 * 64];
	struct stat st;
	ssize_t n;
	int fd;

	(void)a;
	if (!id_valid(fw) || !id_valid(tid) || (strcmp(stream, "stdout") != 0 &&
	    strcmp(stream, "stderr") != 0)) {
		snprintf(err, 256, "not a task id or stream");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/tasks/%s/%s/sandbox/%s", ag->work_dir,
	    fw, tid, stream);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) ==
	    -1) {
		snprintf(err, 256, "%s of task %s: %s", stream, tid,
		    errno == ENOENT ? "none on this agent (never launched, or "
		    "cleaned up)" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, 256, "%s of task %s: not a regular file", stream,
		    tid);
		close(fd);
		return -1;
	}
	*size = st.st_size;
	n = offset < st.st_size ? pread(fd, buf, max, offset) : 0;
	if (n == -1)
		snprintf(err, 256, "%s of task %s: %s", stream, tid,
		    strerror(errno));
	close(fd);
	return n;
}
