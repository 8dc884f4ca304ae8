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

/* Signs c (all fields but sig) with the group key; sets c->group_pk.
 * The signature covers the context string "ringlan certificate v1\0"
 * followed by the binary form up to (not including) sig (docs/files.md).
 * Returns 0 or RL_EINVAL (a field cert_verify would call malformed). */
int cert_sign(struct cert *c, const struct id_key *group);
/* Full check: signature by group_pk, group name equal to group (if not
 * NULL), group_pk equal to the expected one (if not NULL; NULL checks only
 * that the certificate is self-consistently signed by the key it names,
 * never enough to admit a peer), validity at unix_s (not_before <= unix_s
 * <= not_after, both inclusive). Checked in this order: fields, group,
 * signature, time. Returns 0, RL_EFOREIGN (other group key or name),
 * RL_EAUTH (bad signature), RL_EEXPIRED, or RL_EINVAL (malformed fields:
 * version != 1, group name empty/bad chars, prefix 0 or > 32, vip not a
 * host address of its prefix, not_after < not_before, bad subring names). */
int cert_verify(const struct cert *c, const uint8_t group_pk[RL_PK_LEN],
                const char *group, uint64_t unix_s);
/* cert_verify without the group signature check: the simulator's crypto
 * stand-in (crypto/standin.h) only. Never for input from a network. */
int cert_check_unsigned(const struct cert *c, const uint8_t group_pk[RL_PK_LEN],
                        const char *group, uint64_t unix_s);

/* Canonical binary form (signature last). Returns bytes written,
 * RL_ETOOBIG, or RL_EINVAL (names without NUL in their array, too many
 * subrings). */
int cert_encode_bin(const struct cert *c, uint8_t *out, size_t cap);
/* Parses the binary form; rejects trailing bytes. RL_ETRUNC on bad input
 * (short, over-long names, names holding NUL bytes, > 8 subrings),
 * RL_EUNSUP for a version other than 1. Does not check the signature or
 * field semantics: call cert_verify. On error *c is zeroed. */
int cert_decode_bin(struct cert *c, const uint8_t *in, size_t len);

/* Text file form. encode returns length, RL_ETOOBIG or RL_EINVAL (fields
 * the text form cannot express: bad names, prefix 0 or > 32); parse
 * returns 0 or RL_EPARSE with a human reason ("line N: ...") in err. parse
 * checks syntax only (call cert_verify). */
int cert_encode_text(const struct cert *c, char *out, size_t cap);
int cert_parse_text(struct cert *c, const char *text, size_t len, char *err,
                    size_t errcap);

/* Overlay ID of the certified node. */
void cert_node_id(const struct cert *c, uint8_t id[RL_ID_LEN]);

/* Virtual addresses. "A.B.C.D/P", host byte order. */
#define CERT_VIP_STRLEN 19 /* "255.255.255.255/32" + NUL */
void cert_vip_format(uint32_t vip, uint8_t prefix, char out[CERT_VIP_STRLEN]);
/* Parses s[0..len) as "A.B.C.D" or "A.B.C.D/P" (no leading zeros, P 1..32);
 * without "/P" the prefix is default_prefix (0 = prefix required).
 * Returns 0 or RL_EPARSE. */
int cert_vip_parse(const char *s, size_t len, uint8_t default_prefix, uint32_t *vip,
                   uint8_t *prefix);
/* True when vip is a usable host address of vip/prefix: not the network or
 * broadcast address (any address for /31 and /32). */
bool cert_vip_is_host(uint32_t vip, uint8_t prefix);

/* Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (UTC); "after-9999" past year 9999. */
#define CERT_TIME_STRLEN 21
void cert_time_format(uint64_t unix_s, char out[CERT_TIME_STRLEN]);
/* Parses an armored time field "YYYY-MM-DDTHH:MM:SSZ (unix-seconds)" (the
 * ISO part must agree with the seconds). 0 or RL_EPARSE with a reason. */
struct armor_field;
int cert_time_field(const struct armor_field *f, uint64_t *out, char *err, size_t errcap);

#endif
