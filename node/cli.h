/* ringlan subcommands. Each takes the arguments after its own name and
 * returns the process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef RL_NODE_CLI_H
#define RL_NODE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int cli_keygen(int argc, char **argv);      /* node/cli_identity.c */
int cli_group(int argc, char **argv);       /* node/cli_identity.c */
int cli_cert(int argc, char **argv);        /* node/cli_identity.c */
int cli_dc_check(int argc, char **argv);    /* node/cli_dc_check.c */
int cli_up(int argc, char **argv);          /* node/cli_up.c */
int cli_status(int argc, char **argv);      /* node/cli_control.c */
int cli_lookup(int argc, char **argv);      /* node/cli_control.c */
int cli_peers(int argc, char **argv);       /* node/cli_control.c */
int cli_subring(int argc, char **argv);     /* node/cli_control.c */
int cli_revoke(int argc, char **argv);      /* node/cli_control.c */

/* Shared helpers (node/cli_util.c). */
/* Reads a whole regular file (<= maxlen bytes) into a malloc'ed
 * NUL-terminated buffer. Returns 0, RL_ENOENT, RL_ETOOBIG, RL_ENOMEM or
 * RL_EIO (errno says why; EINVAL: not a regular file); prints nothing.
 * _mode also gives the file's permission bits (mode & 07777) as read from
 * the open descriptor. */
int cli_read_file(const char *path, size_t maxlen, char **out, size_t *len);
int cli_read_file_mode(const char *path, size_t maxlen, char **out, size_t *len,
                       unsigned *mode);
/* Secret key files, as ssh does: refused (RL_EREFUSED) when group or others
 * have any permission bit (mode & 077), with "PATH: permissions 0644 are
 * too open ... (fix: chmod 600 PATH)" in err. */
int cli_secret_mode_check(const char *path, unsigned mode, char *err, size_t errcap);
/* cli_read_file_mode + cli_secret_mode_check when the text is a secret key
 * (cli_text_is_secret_key; anything else is left to the parser to name);
 * every failure has its message in err ("PATH: reason"). The buffer holds a
 * secret: wipe it before free. */
int cli_read_secret_file(const char *path, size_t maxlen, char **out, size_t *len, char *err,
                         size_t errcap);
/* True when text is an armored secret key (node or group), e.g. a .key file
 * given where a public key is expected (its mode is then checked too). */
bool cli_text_is_secret_key(const char *text);
/* Writes data under path with exactly the given mode: to a new temporary
 * file in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW, random name),
 * synced, then renamed over path. _new_file never replaces anything: an
 * existing path, a symbolic link included, gives RL_EEXIST (atomic: link()).
 * cli_write_file replaces a file but refuses a symbolic link at path
 * (RL_EREFUSED). Other failures: RL_EIO / RL_ETOOBIG with errno set. */
int cli_write_file(const char *path, const char *data, size_t len, unsigned mode);
int cli_write_new_file(const char *path, const char *data, size_t len, unsigned mode);
/* Finds "--name VALUE" in argv; returns VALUE or NULL. */
const char *cli_opt(int argc, char **argv, const char *name);
/* True when "--name" (a flag without value) is present. */
int cli_flag(int argc, char **argv, const char *name);
/* The driver's randomness for rl_env (libsodium randombytes_buf). */
void cli_sys_rand(void *ctx, uint8_t *buf, size_t len);

#endif
