/*
 * Which isolators this machine really has: each is tried (the task
 * cgroup created, namespaces unshared in a child, a capability dropped),
 * never guessed from a kernel version.  The same code serves --probe and
 * every launch, so --probe tells the truth about what a launch will do.
 */
#include <err.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "task-launch.h"

#define CG_ISOS		(ISO_BIT(ISO_CGROUP) | ISO_CG_LIMITS)
#define NS_ISOS		(ISO_BIT(ISO_PID) | ISO_BIT(ISO_MOUNT) | \
			 ISO_BIT(ISO_IPC) | ISO_BIT(ISO_UTS) | ISO_BIT(ISO_NET))
#define PROC_ISOS	(ISO_BIT(ISO_CAPS) | ISO_BIT(ISO_NNP) | \
			 ISO_BIT(ISO_RLIMITS))

/* Write the names of the isolators in set, comma-separated, into buf. */
void
iso_list(unsigned set, char *buf, size_t len)
{
	int i;

	buf[0] = '\0';
	for (i = 0; i < ISO_COUNT; i++)
		if (set & ISO_BIT(i)) {
			if (buf[0] != '\0')
				strlcat(buf, ",", len);
			strlcat(buf, iso_name(i), len);
		}
}

/*
 * Probe the isolators in l->want, creating the task cgroup l->id on the
 * way (returned in *cgp, NULL when there is none).  Returns -1 with why
 * filled only when the task cgroup exists already; missing isolators are
 * left to the caller to read in pr.
 */
int
iso_probe(struct launch *l, struct probe *pr, struct cgroups **cgp,
    char *why, size_t len)
{
	struct cgroups	*cg = NULL;
	char		 msg[TL_REASON_MAX];
	int		 i;

	memset(pr, 0, sizeof(*pr));
	*cgp = NULL;
	if (l->want & CG_ISOS) {
		msg[0] = '\0';
		if ((cg = cg_discover(l->cg_root, l->cg_parent, msg,
		    sizeof(msg))) != NULL) {
			if (cg_create(cg, l->id, pr, why, len) == -1) {
				cg_destroy(cg);
				return -1;
			}
			if (!pr->ok[ISO_CGROUP]) {
				cg_destroy(cg);
				cg = NULL;
			}
		} else
			for (i = 0; i < ISO_COUNT; i++)
				if (CG_ISOS & ISO_BIT(i))
					strlcpy(pr->detail[i], msg,
					    sizeof(pr->detail[0]));
	}
	/*
	 * A required isolator needs no probe: applying it is the test, and
	 * the launch fails with the reason when it cannot be applied.  That
	 * saves a fork and a second set of namespaces on every launch.
	 */
	if (l->want & NS_ISOS & ~l->require)
		ns_probe(l->want & NS_ISOS & ~l->require, pr);
	if (l->want & PROC_ISOS & ~l->require)
		caps_probe(pr);
	for (i = 0; i < ISO_COUNT; i++)
		if (l->want & l->require & (NS_ISOS | PROC_ISOS) & ISO_BIT(i)) {
			pr->ok[i] = 1;
			strlcpy(pr->detail[i], "required: applied without a probe",
			    sizeof(pr->detail[0]));
		}
	*cgp = cg;
	return 0;
}

/*
 * Print one line per isolator, NAME<TAB>available|missing<TAB>detail,
 * after really trying each (a probe cgroup is created and removed).
 * Returns the exit status: 0, or 111 when the probe cgroup exists.
 */
int
iso_print_probe(struct launch *l)
{
	struct probe	 pr;
	struct cgroups	*cg;
	char		 id[TL_ID_MAX + 1], why[TL_REASON_MAX];
	int		 i;

	snprintf(id, sizeof(id), "task-launch-probe.%ld", (long)getpid());
	l->id = id;
	l->want = ISO_ALL;
	if (iso_probe(l, &pr, &cg, why, sizeof(why)) == -1) {
		warnx("%s", why);
		return EXIT_SYSTEM;
	}
	if (cg != NULL) {
		cg_remove(cg);
		cg_destroy(cg);
	}
	for (i = 0; i < ISO_COUNT; i++)
		printf("%s\t%s\t%s\n", iso_name(i),
		    pr.ok[i] ? "available" : "missing",
		    pr.detail[i][0] != '\0' ? pr.detail[i] : "-");
	return fflush(stdout) == 0 ? 0 : EXIT_SYSTEM;
}
