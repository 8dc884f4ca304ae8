/* Group membership certificates.
 *
 * A certificate binds: group name, group public key (the signer), node
 * public key, virtual IPv4 address/prefix (100.64.0.0/10 by default),
 * optional subring names and a validity period, signed by the group key.
 * Two encodings: a compact canonical binary form (on the wire in handshakes
 * and DHT records; the signature covers it) and an armored text file
 * (docs/files.md). */
#ifndef RL_CRYPTO_CERT_H
#define RL_CRYPTO_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"

#define CERT_MAX_SUBRINGS 8
#define CERT_SUBRING_MAX 31   /* bytes per subring name */
#define CERT_BIN_MAX 640      /* upper bound of the binary encoding */
#define CERT_TEXT_MAX 2048    /* upper bound of the text encoding */

struct cert {
  uint8_t version;                     /* 1 */
  char group[RL_GROUP_NAME_MAX + 1];   /* NUL-terminated */
  uint8_t group_pk[RL_PK_LEN];
  uint8_t node_pk[RL_PK_LEN];
  uint32_t vip;                        /* IPv4, host byte order */
  uint8_t prefix;                      /* 1..32 */
  uint64_t not_before;                 /* unix seconds */
  uint64_t not_after;                  /* unix seconds */
  uint8_t n_subrings;
  char subrings[CERT_MAX_SUBRINGS][CERT_SUBRING_MAX + 1];
  uint8_t sig[RL_SIG_LEN];
};

/* Signs c (all fields but sig) with the group key; sets c->group_pk. */
int cert_sign(struct cert *c, const struct id_key *group);
/* Full check: signature by group_pk, group name equal to group (if not
 * NULL), group_pk equal to the expected one, validity at unix_s.
 * Returns 0, RL_EFOREIGN (other group key or name), RL_EAUTH (bad
 * signature), RL_EEXPIRED, or RL_EINVAL (malformed fields). */
int cert_verify(const struct cert *c, const uint8_t group_pk[RL_PK_LEN],
                const char *group, uint64_t unix_s);

/* Canonical binary form (signature last). Returns bytes written or
 * RL_ETOOBIG. */
int cert_encode_bin(const struct cert *c, uint8_t *out, size_t cap);
/* Parses the binary form; rejects trailing bytes. RL_ETRUNC on bad input. */
int cert_decode_bin(struct cert *c, const uint8_t *in, size_t len);

/* Text file form. encode returns length or RL_ETOOBIG; parse returns 0 or
 * RL_EPARSE with a human reason in err. */
int cert_encode_text(const struct cert *c, char *out, size_t cap);
int cert_parse_text(struct cert *c, const char *text, size_t len, char *err,
                    size_t errcap);

/* Overlay ID of the certified node. */
void cert_node_id(const struct cert *c, uint8_t id[RL_ID_LEN]);

#endif
