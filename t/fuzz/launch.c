/*
 * Fuzz target: what task-launch decodes from agentd.  The input is a fork
 * server's launch request (parse_request, task-launch(8) FORK SERVER);
 * each argument it yields is then read by every option value parser
 * (cpus, memory, rlimit, isolators, capabilities, id), as the supervisor
 * that the request starts would read it.  A request that decodes must
 * give arguments inside the request, in order, ending in NULL.  The same
 * bytes are read as a resize request (parse_resize), whose id must be
 * inside the request and valid.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "task-launch.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read ARG with every parser of an option value; none may misbehave. */
static void
parse_value(const char *arg)
{
	struct rlim_opt r;
	uint64_t bytes, caps;
	unsigned set;
	double cpus;

	if (parse_cpus(arg, &cpus) == 0 && !(cpus > 0))
		abort();
	if (parse_mem(arg, &bytes) == 0 && bytes == 0)
		abort();
	if (parse_rlimit(arg, &r) == 0 && r.lim.rlim_cur > r.lim.rlim_max)
		abort();
	if (parse_isolators(arg, &set) == 0 && (set & ~ISO_ALL) != 0)
		abort();
	(void)parse_caps(arg, &caps);
	if (parse_id(arg) == 0 && (arg[0] == '.' || strlen(arg) > TL_ID_MAX))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *argv[SERVE_ARGS_MAX];
	struct launch l;
	const char *why = NULL, *code = NULL;
	char *msg, *log, *prev;
	int argc, i;

	/* exactly SIZE bytes, as recv(2) leaves them: no NUL added */
	if ((msg = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(msg, data, size);
	memset(&l, 0, sizeof(l));
	if (parse_resize(msg, size, &l, &code, &why) == -1) {
		if (why == NULL || code == NULL)
			abort();
	} else if (l.id <= msg || l.id >= msg + size || parse_id(l.id) == -1)
		abort();
	why = NULL;
	argc = parse_request(msg, size, &log, argv, SERVE_ARGS_MAX, &why);
	if (argc == -1) {
		if (why == NULL)
			abort();
		free(msg);
		return 0;
	}
	if (argc < 1 || argc >= SERVE_ARGS_MAX || argv[argc] != NULL ||
	    log <= msg || log >= msg + size)
		abort();
	prev = log;
	for (i = 0; i < argc; i++) {
		if (argv[i] <= prev || argv[i] >= msg + size)
			abort();
		prev = argv[i];
		parse_value(argv[i]);
	}
	free(msg);
	return 0;
}
