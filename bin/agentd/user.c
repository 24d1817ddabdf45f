/*
 * Who a task runs as, and what it owns: the user a task that names none
 * is given (-U, else nobody when agentd is root), the refusal of uid 0
 * unless agentd was given -A, and the task's sandbox, which is the one
 * directory of the work dir that the task's user owns.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentd.h"
#include "log.h"
#include "rec.h"
#include "util.h"

#define DEFAULT_TASK_USER	"nobody"

/*
 * Resolve NAME as task-launch does (task-launch(8), -u): a user of the
 * user database, else a number, whose group is the same number.  Returns
 * 0 with *UID and *GID filled, or -1 when it is neither.
 */
static int
user_lookup(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	const char *errstr;
	long long n;

	if ((pw = getpwnam(name)) != NULL) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		return 0;
	}
	n = strtonum(name, 0, UINT32_MAX - 1, &errstr);
	if (errstr != NULL)
		return -1;
	*uid = (uid_t)n;
	*gid = (gid_t)n;
	return 0;
}

int
user_setup(struct agentd *ag, const char *name, int allow_root, char *err,
    size_t errlen)
{
	uid_t uid;
	gid_t gid;

	ag->allow_root = allow_root;
	if (name == NULL && geteuid() != 0) {
		ag->task_user[0] = '\0';	/* it could not switch anyway */
		return 0;
	}
	if (name == NULL)
		name = DEFAULT_TASK_USER;
	if (*name == '\0' || strlcpy(ag->task_user, name,
	    sizeof(ag->task_user)) >= sizeof(ag->task_user) ||
	    user_lookup(name, &uid, &gid) == -1) {
		snprintf(err, errlen, "task user '%s': no such user", name);
		return -1;
	}
	if (uid == 0 && !allow_root) {
		snprintf(err, errlen, "task user '%s' is uid 0: tasks may run "
		    "as root only with -A", name);
		return -1;
	}
	if (geteuid() != 0 && uid != geteuid())
		log_warnx("tasks are to run as %s, but agentd is not root and "
		    "cannot switch to it", name);
	return 0;
}

int
user_of_task(struct agentd *ag, struct atask *t, char *why, size_t whylen)
{
	const char *name = rec_str(t->base.info, "user");

	if (name == NULL && ag->task_user[0] == '\0') {
		/* agentd is not root: the task runs as agentd's user */
		t->user = NULL;
		t->uid = geteuid();
		t->gid = getegid();
		return 0;
	}
	if (name == NULL)
		name = ag->task_user;
	t->user = name;
	if (*name == '\0' || user_lookup(name, &t->uid, &t->gid) == -1) {
		snprintf(why, whylen, "unknown user '%.64s' on this agent", name);
		return -1;
	}
	if (t->uid == 0 && !ag->allow_root) {
		snprintf(why, whylen, "user '%.64s' is uid 0, and this agent "
		    "runs no task as root (agentd -A allows it)", name);
		return -1;
	}
	return 0;
}

int
user_sandbox(struct agentd *ag, struct atask *t, char *path, size_t len,
    char *why, size_t whylen)
{
	char real[PATH_MAX], want[PATH_MAX];
	int fd;

	if (strfmt(path, len, "%s/sandbox", t->dir) == -1 ||
	    strfmt(want, sizeof(want), "%s/%s/%s/%s/sandbox", ag->work_real,
	    t->executor != NULL ? AGENTD_EXECUTORS : AGENTD_TASKS,
	    t->base.framework_id, t->base.id) == -1) {
		snprintf(why, whylen, "sandbox path too long");
		return -1;
	}
	if (mkdirs(path, 0750, 0750) == -1) {
		snprintf(why, whylen, "sandbox %.300s: %s", path,
		    strerror(errno));
		return -1;
	}
	/* ids cannot hold '/' or start with '.'; check the result anyway */
	if (realpath(path, real) == NULL || strcmp(real, want) != 0) {
		snprintf(why, whylen, "sandbox %.300s is not where it belongs "
		    "in the work dir", path);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "sandbox %.300s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((t->uid != geteuid() || t->gid != getegid()) &&
	    fchown(fd, t->uid, t->gid) == -1) {
		snprintf(why, whylen, "sandbox %.300s: chown: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
