#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sig.h"

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t sig_got[NSIG];

static void
sig_note(int sig)
{
	int e = errno;

	if (sig > 0 && sig < NSIG)
		sig_got[sig] = 1;
	(void)write(sig_pipe[1], "", 1);
	errno = e;
}

int
sig_init(const int *sigs, int n)
{
	struct sigaction sa;
	int i;

	if (sig_pipe[0] == -1 && pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_note;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < n; i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
	signal(SIGPIPE, SIG_IGN);
	return sig_pipe[0];
}

void
sig_drain(void)
{
	char buf[64];

	while (read(sig_pipe[0], buf, sizeof(buf)) > 0)
		;
}

int
sig_take(int sig)
{
	if (sig <= 0 || sig >= NSIG || !sig_got[sig])
		return 0;
	sig_got[sig] = 0;
	return 1;
}
