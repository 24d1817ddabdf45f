/*
 * cluster-elect: the configuration (options), the set-up and the loop that
 * runs the command while this candidate leads.  See cluster-elect.h and
 * cluster-elect(8).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster-elect.h"
#include "log.h"
#include "sig.h"
#include "util.h"

#define SESSION_DEFAULT_MS	2000
#define SESSION_MIN_MS		100
#define SESSION_MAX_MS		3600000
#define REJOIN_MS		1000	/* a standby that lost its session */

/* What the command line says. */
struct config {
	const char	*cred_path;	/* -C; NULL: the environment's */
	struct auth_cred cred;		/* the election's, for ZooKeeper */
	const struct auth_cred *login;	/* &cred, or NULL: open znodes */
	char		 made[PATH_MAX];	/* the first start made it there */
	int		 insecure;
	const char	*endpoint;	/* to publish; NULL: the command's -l */
	const char	*where;		/* the master string of the election */
	char		 master[PATH_MAX + 16];	/* --lock as a lock:// string */
	struct elect_url url;
	int64_t		 session_ms;
	int		 foreground;
	int		 verbose;
	char		**cmd;
};

/* The running state of the loop. */
struct run {
	struct config	*cf;
	struct cand	*cand;
	volatile int64_t *lease;	/* the page the command reads */
	int		 lease_fd;
	int		 sigfd;
	int64_t		 lease_until;
	pid_t		 child;		/* -1 while standing by */
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: cluster-elect [-dv] [-C credential] "
	    "[--endpoint=endpoint]\n"
	    "                     [--session-timeout=timeout] "
	    "(-z zk-url | --lock=lockfile)\n"
	    "                     -- command [arg ...]\n");
}

/* Print a usage error and the usage, and exit EXIT_USAGE. */
static void __attribute__((noreturn))
usage_error(const char *why)
{
	warnx("%s", why);
	usage(stderr);
	exit(EXIT_USAGE);
}

/* The master string for a --lock argument: lock:// and an absolute path. */
static void
lock_url(const char *arg, char *buf, size_t len)
{
	char cwd[PATH_MAX];

	if (strncmp(arg, "lock://", 7) == 0)
		strlcpy(buf, arg, len);
	else if (arg[0] == '/')
		snprintf(buf, len, "lock://%s", arg);
	else if (getcwd(cwd, sizeof(cwd)) != NULL)
		snprintf(buf, len, "lock://%s/%s", cwd, arg);
	else
		err(EXIT_SYSTEM, "getcwd");
}

/* Parse option CH with argument ARG into CF; exits on a bad one. */
static void
config_option(struct config *cf, int ch, const char *arg)
{
	const char *errstr;

	switch (ch) {
	case 'C':
		cf->cred_path = arg;
		break;
	case 'd':
		cf->foreground = 1;
		break;
	case 'e':
		cf->endpoint = arg;
		break;
	case 'H':
		usage(stdout);
		exit(0);
	case 'V':
		version_exit("cluster-elect");
	case 'I':
		cf->insecure = 1;
		break;
	case 'l':
	case 'z':
		if (cf->where != NULL)
			errx(EXIT_USAGE, "give one of -z and --lock");
		if (ch == 'z' && strncmp(arg, "zk://", 5) != 0)
			errx(EXIT_USAGE, "'%s': want zk://HOST:PORT[,HOST:PORT"
			    "...]/PATH", arg);
		if (ch == 'l')
			lock_url(arg, cf->master, sizeof(cf->master));
		cf->where = ch == 'l' ? cf->master : arg;
		break;
	case 's':
		if (duration_parse(arg, &cf->session_ms, &errstr) == -1)
			errx(EXIT_USAGE, "session timeout '%s': %s", arg, errstr);
		if (cf->session_ms < SESSION_MIN_MS ||
		    cf->session_ms > SESSION_MAX_MS)
			errx(EXIT_USAGE, "session timeout '%s': want %dms to %dms",
			    arg, SESSION_MIN_MS, SESSION_MAX_MS);
		break;
	case 'v':
		cf->verbose++;
		break;
	default:
		usage(stderr);
		exit(EXIT_USAGE);
	}
}

/* Fill CF from the command line; every mistake exits EXIT_USAGE. */
static void
config_parse(struct config *cf, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "credential", required_argument, NULL, 'C' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "endpoint", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'H' },
		{ "version", no_argument, NULL, 'V' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "lock", required_argument, NULL, 'l' },
		{ "session-timeout", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "zk", required_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 }
	};
	char e[ELECT_ERRLEN];
	const char *ep;
	int ch;

	memset(cf, 0, sizeof(*cf));
	cf->session_ms = SESSION_DEFAULT_MS;
	while ((ch = getopt_long(argc, argv, "+C:dvz:", longopts,
	    NULL)) != -1)
		config_option(cf, ch, optarg);
	cf->cmd = argv + optind;
	if (cf->where == NULL)
		usage_error("no election: give -z zk-url or --lock=lockfile");
	if (*cf->cmd == NULL)
		usage_error("no command given");
	if (elect_url_parse(cf->where, &cf->url, e) == -1)
		errx(EXIT_USAGE, "%s", e);
	if (cf->endpoint == NULL &&
	    (cf->endpoint = command_endpoint(cf->cmd)) == NULL)
		errx(EXIT_USAGE, "no endpoint to publish: give --endpoint=endpoint or "
		    "a --listen argument to the command");
	ep = cf->endpoint;
	if (strlen(ep) >= ELECT_ENDPOINT_MAX || *ep == '\0' ||
	    strcspn(ep, " \t\n") != strlen(ep))
		errx(EXIT_USAGE, "endpoint '%s': empty, too long or has blanks",
		    ep);
}

/*
 * The credential a ZooKeeper candidate logs in with: -C, else
 * $CLUSTER_CREDENTIAL, else the credentials directory's, which the first
 * start on a machine makes (auth_bootstrap) as offerd's does.  None for a
 * lock file or with --insecure; a credential that cannot be used exits
 * EXIT_USAGE.
 */
static void
credential_load(struct config *cf)
{
	char dir[PATH_MAX], principal[AUTH_PRINCIPAL_MAX], err[AUTH_ERRLEN];
	char where[PATH_MAX + 32];

	if (cf->url.kind != ELECT_ZK || cf->insecure)
		return;
	if (auth_init() == -1)
		errx(EXIT_SYSTEM, "libsodium cannot start");
	switch (auth_bootstrap_default(cf->cred_path, dir, sizeof(dir),
	    principal, err)) {
	case -1:
		errx(EXIT_USAGE, "cannot make the first credential: %s", err);
	case 1:
		strlcpy(cf->made, dir, sizeof(cf->made));
	}
	switch (auth_cred_find(cf->cred_path, &cf->cred, where, sizeof(where),
	    err)) {
	case -1:
		errx(EXIT_USAGE, "credential: %s", err);
	case 1:
		errx(EXIT_USAGE, "no credential (%s): give -C file, or "
		    "--insecure for znodes anyone may write", where);
	}
	cf->login = &cf->cred;
}

/*
 * Name a ZooKeeper election to the command, for the master's registry
 * under it (offerd(8)): the election and the credential we log in with.
 */
static void
registry_env(const struct config *cf)
{
	char path[PATH_MAX];

	if (cf->url.kind != ELECT_ZK)
		return;
	/* the command may run elsewhere than here: an absolute path */
	if (cf->cred_path != NULL && realpath(cf->cred_path, path) == NULL)
		err(EXIT_USAGE, "%s", cf->cred_path);
	if (setenv(ELECT_REGISTRY_ENV, cf->where, 1) == -1 ||
	    (cf->insecure &&
	    setenv(ELECT_REGISTRY_CRED_ENV, "none", 1) == -1) ||
	    (!cf->insecure && cf->cred_path != NULL &&
	    setenv(ELECT_REGISTRY_CRED_ENV, path, 1) == -1))
		err(EXIT_SYSTEM, "setenv");
}

/*
 * Join the election, waiting REJOIN_MS between tries while no signal
 * says stop; the first try (FIRST) must succeed or the program ends.
 */
static struct cand *
join(const struct config *cf, int first)
{
	char e[ELECT_ERRLEN];
	struct cand *c;

	for (;;) {
		if ((c = cand_join(&cf->url, cf->session_ms, cf->login,
		    e)) != NULL)
			return c;
		if (first)
			log_fatalx("%s", e);
		log_warnx("%s; trying again", e);
		if (sig_take(SIGTERM) || sig_take(SIGINT))
			exit(0);
		usleep(REJOIN_MS * 1000);
	}
}

/* Check the command, start logging, make the lease and join: R is ready. */
static void
setup(struct run *r, struct config *cf)
{
	char e[ELECT_ERRLEN];

	command_check(cf->cmd[0]);
	log_init("cluster-elect", cf->foreground, cf->verbose);
	elect_set_verbose(cf->verbose);
	if (cf->made[0] != '\0')
		log_info("first start: made the credential of principal %s in "
		    "%s/credential", cf->cred.principal, cf->made);
	memset(r, 0, sizeof(*r));
	r->cf = cf;
	r->child = -1;
	if ((r->lease_fd = lease_create(&r->lease, e)) == -1)
		log_fatalx("%s", e);
	if ((r->sigfd = sig_init((int[]){ SIGTERM, SIGINT, SIGHUP, SIGCHLD },
	    4)) == -1)
		log_fatal("signals");
	r->cand = join(cf, 1);
	log_info("candidate for %s (session timeout %lld ms), will run %s "
	    "serving %s", cf->where, (long long)cand_session_ms(r->cand),
	    cf->cmd[0], cf->endpoint);
}

/* Revoke the lease: from now on the command acts on nobody's behalf. */
static void
lease_revoke(struct run *r)
{
	__atomic_store_n(r->lease, 0, __ATOMIC_RELEASE);
}

/*
 * Act on the signals that came.  Returns -1 to go on, or the exit status
 * when the command ended or we were told to stop.
 */
static int
on_signals(struct run *r)
{
	const char *cmd = r->cf->cmd[0];
	int st, term;

	if (r->child > 0 && sig_take(SIGCHLD) &&
	    waitpid(r->child, &st, WNOHANG) == r->child) {
		lease_revoke(r);
		kill(-r->child, SIGKILL);	/* its leftovers */
		cand_leave(r->cand);
		if (elect_clock_ms() >= r->lease_until) {
			/* it saw the lease end before we did */
			log_warnx("no longer sure to lead: lease expired; %s "
			    "exited (status %d)", cmd, command_status(st));
			return EXIT_SYSTEM;
		}
		log_warnx("command %s exited (status %d): giving up "
		    "leadership", cmd, command_status(st));
		return command_status(st);
	}
	term = sig_take(SIGTERM) ? SIGTERM : sig_take(SIGINT) ? SIGINT : 0;
	if (term) {
		log_info("signal %d: stopping", term);
		lease_revoke(r);
		if (r->child > 0)
			command_stop(r->child);
		cand_leave(r->cand);
		return 0;
	}
	if (sig_take(SIGHUP) && r->child > 0)
		kill(-r->child, SIGHUP);
	return -1;
}

/*
 * Advance the election one step: renew the lease, start the command on
 * winning, stop it on losing.  Returns -1 to go on, or the exit status.
 */
static int
step(struct run *r)
{
	const struct config *cf = r->cf;
	char e[ELECT_ERRLEN];
	enum cand_state state;
	int saved;

	state = cand_poll(r->cand, &r->lease_until, e);
	if (state == CAND_LOST && r->child > 0) {
		/* revoke first: the command stops acting at once */
		lease_revoke(r);
		log_warnx("no longer sure to lead: %s; stopping %s", e,
		    cf->cmd[0]);
		command_stop(r->child);
		cand_leave(r->cand);
		return EXIT_SYSTEM;
	}
	if (state == CAND_LOST) {
		log_warnx("standby: %s; joining again", e);
		cand_leave(r->cand);
		usleep(REJOIN_MS * 1000);
		r->cand = join(cf, 0);
		return -1;
	}
	if (state != CAND_LEADER)
		return -1;
	__atomic_store_n(r->lease, r->lease_until, __ATOMIC_RELEASE);
	if (r->child > 0)
		return -1;
	if ((r->child = command_start(cf->cmd, r->lease_fd)) == -1) {
		saved = errno;
		log_warn("cannot run %s", cf->cmd[0]);
		cand_leave(r->cand);
		return saved == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
	}
	if (cand_publish(r->cand, cf->endpoint, r->child, e) == -1)
		log_warnx("%s", e);
	log_warnx("leading %s: started %s (pid %d) serving %s", cf->where,
	    cf->cmd[0], (int)r->child, cf->endpoint);
	return -1;
}

/* Wait for signals and the election until the end.  Returns the status. */
static int
loop(struct run *r)
{
	int status;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = r->sigfd, .events = POLLIN },
			{ .fd = cand_fd(r->cand), .events = POLLIN },
		};

		if (poll(pfd, 2, cand_tick_ms(r->cand)) == -1 && errno != EINTR)
			log_fatal("poll");
		sig_drain();
		if ((status = on_signals(r)) != -1 || (status = step(r)) != -1)
			return status;
	}
}

int
main(int argc, char *argv[])
{
	struct config cf;
	struct run r;

	command_note_fds();
	config_parse(&cf, argc, argv);
	credential_load(&cf);
	registry_env(&cf);
	setup(&r, &cf);
	return loop(&r);
}
