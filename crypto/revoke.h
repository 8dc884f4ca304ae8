/* Group revocations (docs/security.md, "Revocation (finding 4)").
 *
 * A revocation says: the member with overlay ID `node_id` is no longer a
 * member of group (group, group_pk), from `revoked_at` on. It is signed by
 * the group key, like certificates, but under its own context string
 * ("ringlan revocation v1\0"), so neither signature can stand for the
 * other. A revocation names the overlay ID (= BLAKE2b of the node key), so
 * it covers every certificate ever issued for that key; a new key (with
 * the same VIP if wanted) needs a new certificate and is unaffected.
 * Revocations do not expire. Two encodings, like certificates: a compact
 * binary form (on the wire, in LMDB) and an armored text file
 * (docs/protocol.md, "Revocation"). */
#ifndef RL_CRYPTO_REVOKE_H
#define RL_CRYPTO_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"

/* u8 version | u8 glen | group[glen] | group_pk[32] | node_id[20] |
 * u64 revoked_at | sig[64] */
#define REVOKE_BIN_MAX (1 + 1 + RL_GROUP_NAME_MAX + RL_PK_LEN + RL_ID_LEN + 8 + RL_SIG_LEN)
#define REVOKE_TEXT_MAX 1024

struct revocation {
  uint8_t version;                   /* 1 */
  char group[RL_GROUP_NAME_MAX + 1]; /* NUL-terminated */
  uint8_t group_pk[RL_PK_LEN];
  uint8_t node_id[RL_ID_LEN];        /* the revoked member's overlay ID */
  uint64_t revoked_at;               /* unix seconds (informational) */
  uint8_t sig[RL_SIG_LEN];
};

/* Signs r (all fields but sig) with the group key; sets r->group_pk.
 * Returns 0 or RL_EINVAL (bad group name or version). */
int revoke_sign(struct revocation *r, const struct id_key *group);
/* Checks fields, that group_pk and group (each if not NULL) are ours
 * (RL_EFOREIGN), and the group signature (RL_EAUTH). RL_EINVAL: malformed
 * fields. A revocation has no validity period: once signed it holds. */
int revoke_verify(const struct revocation *r, const uint8_t group_pk[RL_PK_LEN],
                  const char *group);

/* Binary form: returns bytes written, RL_ETOOBIG or RL_EINVAL. */
int revoke_encode_bin(const struct revocation *r, uint8_t *out, size_t cap);
/* Parses exactly one binary revocation (no trailing bytes): 0, RL_ETRUNC,
 * RL_EUNSUP (version != 1). Does not check the signature. On error *r is
 * zeroed. */
int revoke_decode_bin(struct revocation *r, const uint8_t *in, size_t len);

/* Text file form ("-----BEGIN RINGLAN REVOCATION-----"). encode returns
 * the length, RL_ETOOBIG or RL_EINVAL; parse returns 0 or RL_EPARSE with a
 * reason in err (syntax only: call revoke_verify). */
int revoke_encode_text(const struct revocation *r, char *out, size_t cap);
int revoke_parse_text(struct revocation *r, const char *text, size_t len, char *err,
                      size_t errcap);

/* ---- the set of revocations a node knows (crypto/revoke_set.c) ----
 * Sorted by revoked overlay ID (one entry per ID: the first valid
 * revocation of an ID is kept, later ones say nothing new), each with its
 * binary form for forwarding. Bounded by REVOKE_SET_MAX. The handshake
 * (crypto/hs.c) and the DHT (dht/) read it through a borrowed pointer. */
#define REVOKE_SET_MAX 4096
#define REVOKE_DIGEST_LEN 16
struct revoke_entry {
  uint8_t id[RL_ID_LEN];
  uint8_t len;
  uint8_t bin[REVOKE_BIN_MAX];
};
struct revoke_set {
  struct revoke_entry *e;  /* sorted by id */
  unsigned n, cap;
};
void revoke_set_free(struct revoke_set *s);
/* Adds r (already verified by the caller) under r->node_id. Returns 1
 * when new, 0 when the ID was already revoked, RL_EFULL, RL_ENOMEM or an
 * encoding error. */
int revoke_set_add(struct revoke_set *s, const struct revocation *r);
/* True when id is revoked. s may be NULL (nothing revoked). */
bool revoke_set_has(const struct revoke_set *s, const uint8_t id[RL_ID_LEN]);
/* BLAKE2b-128 over the count (u32be) and the sorted IDs: two members with
 * the same digest hold the same set (docs/security.md). */
void revoke_set_digest(const struct revoke_set *s, uint8_t out[REVOKE_DIGEST_LEN]);

#endif
