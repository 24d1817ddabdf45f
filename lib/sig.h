/*
 * sig: signals for daemons, the self-pipe way.  A handler only notes its
 * signal and writes a byte to a pipe that the event loop polls; the loop
 * then asks which signals came with sig_take() and acts on them.
 */
#ifndef CLUSTER_SIG_H
#define CLUSTER_SIG_H

/*
 * Catch the N signals SIGS (SA_RESTART) and ignore SIGPIPE.  Returns the
 * descriptor to poll for reading, or -1 with errno set.
 */
int	sig_init(const int *sigs, int n);
/* Empty the pipe; call it when the descriptor polls readable. */
void	sig_drain(void);
/* True once for each time SIG arrived since the last sig_take(SIG). */
int	sig_take(int sig);

#endif
