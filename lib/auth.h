/*
 * auth: who sent this record, is it fresh, is it unchanged.  The layer
 * between the transport (net) and the records (rec).  The cryptography is
 * libsodium's; nothing here is hand-made but the framing.
 *
 * Credentials.  A principal (an agent, a framework, an operator) holds a
 * 32-byte secret that the master also knows.  Both live in text files of
 * lines "PRINCIPAL SECRET" (SECRET in base64; '#' starts a comment): a
 * peer's credential file has one line, the master's credentials file one
 * per principal.  A file must be a regular file that neither group nor
 * others may read or write, owned by the reader or by root.
 *
 * Sealed records.  A record travels as
 *
 *   "CS" 0x01 | len(PRINCIPAL) | PRINCIPAL | NONCE (24) | BOX
 *
 * where BOX is crypto_secretbox (XSalsa20-Poly1305: encrypted and
 * authenticated) of the msgpack record, under a key derived from the
 * principal's secret for one direction (peer to master, or master to peer,
 * so that a record cannot be reflected back to its sender).  NONCE is the
 * sender's session (8 random bytes, new per auth handle), a counter (8)
 * and the sender's wall clock in ms (8), all big-endian.  The receiver
 * refuses a record whose box does not open, whose clock is more than
 * AUTH_SKEW_MS from its own, or whose counter is not above the last one it
 * took from that session (a replay); sessions are forgotten after
 * AUTH_SKEW_MS of silence, which the clock check makes safe.
 *
 * Who frees what: auth_seal() and auth_open() return buffers the caller
 * frees with free(); struct auth_cred holds no pointers.  auth_keys_*
 * keep copies of what they are given.
 */
#ifndef CLUSTER_AUTH_H
#define CLUSTER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_KEYLEN		32
#define AUTH_PRINCIPAL_MAX	64	/* with the NUL: 1..63 characters */
#define AUTH_NONCELEN		24
#define AUTH_MACLEN		16
#define AUTH_SKEW_MS		300000	/* clocks may differ this much */
#define AUTH_ERRLEN		256
#define AUTH_PASSWORD_LEN	45	/* auth_cred_password(), with the NUL */
#define AUTH_FILE_MAX		(4 << 20)	/* a credentials file, bytes */

/* Which way a record goes: the two ends of a link use different keys. */
enum auth_dir { AUTH_TO_MASTER = 1, AUTH_FROM_MASTER = 2 };

/* Why a record was refused (see auth_open). */
enum auth_fail {
	AUTH_OK = 0,
	AUTH_NOT_SEALED,	/* no "CS" frame, or a frame cut short */
	AUTH_UNKNOWN,		/* no credential for the principal named */
	AUTH_FORGED,		/* the box does not open: wrong key, or changed */
	AUTH_STALE,		/* the sender's clock is too far from ours */
	AUTH_REPLAYED,		/* seen before (or older) in its session */
	AUTH_NOMEM
};

struct auth_cred {
	char		principal[AUTH_PRINCIPAL_MAX];
	unsigned char	secret[AUTH_KEYLEN];
};

/* Initialise libsodium once per process.  Returns 0 or -1. */
int	auth_init(void);

/* A new credential for PRINCIPAL with a fresh random secret; 0 or -1. */
int	auth_cred_new(const char *principal, struct auth_cred *c, char *err);
/*
 * Write C as a new file PATH of mode 0600 (it must not exist).  Returns 0,
 * or -1 with ERR.
 */
int	auth_cred_write(const char *path, const struct auth_cred *c, char *err);
/*
 * C's password for a service outside the cluster (cluster-elect's
 * ZooKeeper login), into BUF: a key derived from C's secret for that use
 * alone, in base64, so that the service, and whoever sees the login
 * (ZooKeeper's digest travels in the clear), cannot seal records.  The
 * caller wipes BUF.
 */
void	auth_cred_password(const struct auth_cred *c,
	    char buf[AUTH_PASSWORD_LEN]);
/*
 * Parse one LINE of a credential file ("PRINCIPAL SECRET", changed in
 * place) into C.  Returns 0, 1 for a line with nothing (blank, or a
 * comment), or -1 with a reason in ERR of LEN bytes.
 */
int	auth_cred_parse(char *line, struct auth_cred *c, char *err, size_t len);
/*
 * Read the whole file PATH that holds secrets into a new buffer *BUF of
 * *LEN bytes (NUL-terminated; free it with auth_file_free), once its
 * owner and mode are checked: a regular file, not a symbolic link, owned
 * by the reader or root, that neither group nor others may use, of at
 * most AUTH_FILE_MAX bytes.  Returns 0, or -1 with ERR naming the file.
 */
int	auth_file_read(const char *path, char **buf, size_t *len, char *err);
/* Zero and free BUF of LEN bytes from auth_file_read (NULL: nothing). */
void	auth_file_free(char *buf, size_t len);
/*
 * Parse the bytes BUF (LEN) of a credential file called NAME into a new
 * array *OUT of *N credentials (free() it).  Returns 0, or -1 with ERR
 * naming NAME and the line.
 */
int	auth_cred_parse_buf(const char *buf, size_t len, const char *name,
	    struct auth_cred **out, size_t *n, char *err);
/*
 * Read every credential of the file PATH (auth_file_read, then
 * auth_cred_parse_buf) into *OUT of *N (free() it); 0, or -1 with ERR.
 */
int	auth_cred_read(const char *path, struct auth_cred **out, size_t *n,
	    char *err);

/*
 * Where the cluster's credentials live by default: $CLUSTER_CONF, else
 * /etc/cluster for root, else $XDG_CONFIG_HOME/cluster or
 * $HOME/.config/cluster.  Writes it into BUF of LEN; returns BUF, or NULL
 * when there is no such place (no home).
 */
char	*auth_conf_dir(char *buf, size_t len);

/*
 * Find this program's own credential: the file PATH when given, else
 * $CLUSTER_CREDENTIAL, else CONF/credential (the first credential of the
 * file); "none" for PATH or the variable means none.  Returns 0 with *C,
 * 1 when there is none (none asked for, or none named and CONF/credential
 * does not exist: WHERE, of LEN bytes, says where it was looked for), or
 * -1 with ERR (missing when named, unreadable, too open, malformed).
 */
int	auth_cred_find(const char *path, struct auth_cred *c, char *where,
	    size_t len, char *err);

/*
 * The first start on one machine: make the directory DIR (mode 0700)
 * if missing and, unless DIR/credentials exists, a credential for the
 * user running us (principal: the user name), written both as
 * DIR/credential (this user's own) and as DIR/credentials (the master's
 * list), each published atomically; when two programs do it at once,
 * the first credential published is both's.  Returns 1 when it made the
 * list, 0 when it was there, -1 with ERR.
 */
int	auth_bootstrap(const char *dir, char *principal, char *err);
/*
 * auth_bootstrap for a program that names no credential: PATH (its -C)
 * NULL or empty and $CLUSTER_CREDENTIAL unset or empty, in the
 * credentials directory (auth_conf_dir), copied to DIR (DIRLEN).
 * Returns 1 when it made the list, 0 when there was nothing to make,
 * -1 with ERR.
 */
int	auth_bootstrap_default(const char *path, char *dir, size_t dirlen,
	    char *principal, char *err);

/* The master's credentials, by principal. */
struct auth_keys;

/* Read the credentials file PATH (see auth_cred_read); NULL with ERR. */
struct auth_keys *auth_keys_load(const char *path, char *err);
/* The same from the bytes BUF (LEN) of a file called NAME. */
struct auth_keys *auth_keys_parse(const char *buf, size_t len,
	    const char *name, char *err);
void	auth_keys_free(struct auth_keys *);
/* The credential of PRINCIPAL, or NULL. */
const struct auth_cred *auth_keys_get(const struct auth_keys *,
	    const char *principal);
size_t	auth_keys_count(const struct auth_keys *);

/* The principal a sealed frame names, without opening it; 0 or -1. */
int	auth_principal(const void *frame, size_t len,
	    char principal[AUTH_PRINCIPAL_MAX]);

struct auth;

/* A sealing end: its own session, counter and replay memory; NULL: ENOMEM. */
struct auth *auth_create(void);
void	auth_destroy(struct auth *);

/*
 * Seal MSG (LEN bytes) from or to C's principal, going DIR.  Returns a new
 * buffer of *OUTLEN bytes, or NULL (out of memory).
 */
void	*auth_seal(struct auth *, const struct auth_cred *c, enum auth_dir dir,
	    const void *msg, size_t len, size_t *outlen);
/* The same, as if the clock read AT_MS (ms since the epoch): for tests. */
void	*auth_seal_at(struct auth *, const struct auth_cred *c,
	    enum auth_dir dir, const void *msg, size_t len, int64_t at_ms,
	    size_t *outlen);
/*
 * Open FRAME (LEN bytes) that went DIR with C's key (C's principal must be
 * the one the frame names).  Returns a new buffer of *OUTLEN bytes, or
 * NULL with *WHY saying why it was refused.  A refused frame changes
 * nothing, not even the replay memory.
 */
void	*auth_open(struct auth *, const struct auth_cred *c, enum auth_dir dir,
	    const void *frame, size_t len, size_t *outlen, enum auth_fail *why);

/* A short text for WHY ("forged or changed on the way", ...). */
const char *auth_fail_text(enum auth_fail why);

#endif
