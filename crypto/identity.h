/* Node and group identities: Ed25519 key pairs (libsodium).
 *
 * A node's overlay ID is the first 160 bits of BLAKE2b-256(public key), so a
 * node cannot choose its place on the ring. The same Ed25519 key converts to
 * an X25519 key for the handshake (crypto_sign_ed25519_*_to_curve25519).
 *
 * Text file formats are documented in docs/files.md. */
#ifndef RL_CRYPTO_IDENTITY_H
#define RL_CRYPTO_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "util/env.h"

#define RL_ID_LEN 20        /* overlay ID, bytes (160 bits) */
#define RL_PK_LEN 32        /* Ed25519 public key */
#define RL_SK_LEN 64        /* Ed25519 secret key (seed || pk), libsodium form */
#define RL_SIG_LEN 64
#define RL_GROUP_NAME_MAX 63 /* bytes, [A-Za-z0-9._-] */

struct id_key {
  uint8_t pk[RL_PK_LEN];
  uint8_t sk[RL_SK_LEN];
};

/* New key pair from env randomness (a 32-byte seed). */
int id_generate(struct id_key *k, const struct rl_env *env);
/* Overlay ID of a public key. */
void id_overlay_id(const uint8_t pk[RL_PK_LEN], uint8_t out[RL_ID_LEN]);
/* Wipes the secret key. */
void id_wipe(struct id_key *k);

/* Text files (docs/files.md). kind is "node" or "group". name: node names
 * are optional (NULL or ""), group names are required; 1..63 bytes of
 * [A-Za-z0-9._-]. encode_* write a NUL-terminated text into out (cap >= 512
 * is always enough) and return its length, RL_ETOOBIG (out is wiped), or
 * RL_EINVAL (bad kind or name). parse_* accept exactly what encode_*
 * writes (plus comments and blank lines) and return 0, RL_EPARSE (with a
 * reason "line N: ..." in err, if given, errcap bytes; also for a key of
 * the other kind, or a public file where id_key_parse needs the secret),
 * RL_EAUTH when a secret key does not match its public key, or RL_EINVAL
 * (bad kind, or name given with namecap < RL_GROUP_NAME_MAX + 1). name
 * (may be NULL) receives the file's name or "". id_pub_parse also accepts
 * a secret key file of the kind (and still checks its secret). On any
 * error the outputs are zeroed. */
int id_key_encode(const struct id_key *k, const char *kind, const char *name,
                  char *out, size_t cap);
int id_pub_encode(const uint8_t pk[RL_PK_LEN], const char *kind, const char *name,
                  char *out, size_t cap);
int id_key_parse(struct id_key *k, const char *kind, char *name, size_t namecap,
                 const char *text, size_t len, char *err, size_t errcap);
int id_pub_parse(uint8_t pk[RL_PK_LEN], const char *kind, char *name,
                 size_t namecap, const char *text, size_t len, char *err,
                 size_t errcap);

#endif
