/* ringlan subcommands. Each takes the arguments after its own name and
 * returns the process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef RL_NODE_CLI_H
#define RL_NODE_CLI_H

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

/* Shared helpers (node/cli_util.c). */
/* Reads a whole file (<= maxlen bytes) into a malloc'ed NUL-terminated
 * buffer. Returns 0 or a negative RL_E*; prints nothing. */
int cli_read_file(const char *path, size_t maxlen, char **out, size_t *len);
/* Writes data to path atomically (tmp + rename) with the given mode. */
int cli_write_file(const char *path, const char *data, size_t len, unsigned mode);
/* Finds "--name VALUE" in argv; returns VALUE or NULL. */
const char *cli_opt(int argc, char **argv, const char *name);
/* True when "--name" (a flag without value) is present. */
int cli_flag(int argc, char **argv, const char *name);
/* The driver's randomness for rl_env (libsodium randombytes_buf). */
void cli_sys_rand(void *ctx, uint8_t *buf, size_t len);

#endif
