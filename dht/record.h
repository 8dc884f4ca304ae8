/* Signed DHT records.
 *
 * A record is written by one member (its *owner*) and signed with the
 * owner's node key. It carries the owner's group certificate, so any storer
 * can check, without asking anyone, that (1) the owner is a member of the
 * group, (2) the owner wrote these bytes, and (3) the owner may write this
 * key at all: a VIP record sits at H(group, "ip", vip) only for the vip in
 * the owner's certificate, a NODE record at H(group, "node", id) only for
 * the owner's own overlay ID. So one member cannot claim another member's
 * address or endpoints. Byte layout and key derivation: docs/dht.md. */
#ifndef RL_DHT_RECORD_H
#define RL_DHT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/cert.h"
#include "crypto/identity.h"

#define DHT_KEY_LEN RL_ID_LEN   /* keys live in the overlay ID space */
#define DHT_VALUE_MAX 256       /* bytes of payload per record */
#define DHT_REC_VERSION 1
/* Largest encoded record: fixed part + certificate + value + signature.
 * Chosen so a GET_REPLY with a full replica list still fits OV_APP_MAX. */
#define DHT_REC_FIXED (1 + 1 + DHT_KEY_LEN + 8 + 8 + 2 + 2 + RL_SIG_LEN)
#define DHT_REC_MAX (DHT_REC_FIXED + CERT_BIN_MAX + DHT_VALUE_MAX)
/* A record may not claim to live longer than this past the verifier's
 * clock, so a stolen key cannot plant an everlasting record. */
#define DHT_REC_MAX_TTL_S (24 * 3600)

/* Sequence numbers follow the owner's clock: a new version takes
 * max(seq + 1, unix_s << DHT_SEQ_SHIFT), so seq keeps growing across
 * restarts and several versions fit in one second. */
#define DHT_SEQ_SHIFT 20

/* The highest seq a verifier at unix_s accepts: a version from the owner's
 * clock up to DHT_REC_MAX_TTL_S ahead (the skew the expiry check allows
 * too). Without this bound a record with seq UINT64_MAX (a stolen key, or a
 * storer's forged STALE answer the owner believed) could never be replaced
 * while it lives. Saturates at UINT64_MAX for absurd clocks. */
uint64_t dht_record_seq_max(uint64_t unix_s);

/* The seq of the next version after cur at unix_s: max(cur + 1, unix_s <<
 * DHT_SEQ_SHIFT). RL_ERANGE, *next untouched, when that would pass
 * dht_record_seq_max(unix_s) or overflow (cur = UINT64_MAX, a clock past
 * 2^44 s): never wraps around to a small number that every storer would
 * refuse as stale. */
int dht_record_seq_next(uint64_t cur, uint64_t unix_s, uint64_t *next);

enum dht_rec_type {
  DHT_REC_VIP = 1,        /* virtual IPv4 -> member (value: 20-byte overlay ID) */
  DHT_REC_NODE = 2,       /* overlay ID -> endpoint candidates (opaque value) */
  DHT_REC_SUBRING = 3,    /* reserved: subring membership (not accepted yet) */
  DHT_REC_REVOCATION = 4  /* a group revocation, at the revoked ID's NODE key */
};

/* A DHT_REC_REVOCATION record (docs/dht.md, "Revocation records") is not
 * written by a member: it is self-authenticating by the group signature of
 * the revocation it carries, so any member that learns a revocation may
 * store it. It sits at dht_key_node(group, revoked ID): the very key a
 * member looks up for the revoked member's endpoints, where it replaces the
 * revoked member's NODE record. Fixed fields, so there is exactly one
 * encoding per revocation and no version games: seq 0, expiry_s
 * DHT_REC_NO_EXPIRY (revocations do not expire), no certificate
 * (cert_len 0), value = the binary revocation (revoke_encode_bin), sig all
 * zero (the record signature is unused). A storer keeps the first valid one
 * per key forever (another valid one for the same ID says nothing new), and
 * refuses any NODE record at that key afterwards. */
#define DHT_REC_NO_EXPIRY UINT64_MAX

struct dht_record {
  uint8_t type;                  /* enum dht_rec_type */
  uint8_t key[DHT_KEY_LEN];
  uint64_t seq;                  /* higher replaces lower */
  uint64_t expiry_s;             /* unix seconds; dropped after */
  uint16_t cert_len;
  uint8_t cert[CERT_BIN_MAX];    /* owner certificate, binary form */
  uint16_t value_len;
  uint8_t value[DHT_VALUE_MAX];
  uint8_t sig[RL_SIG_LEN];       /* Ed25519 by cert.node_pk over the rest */
};

/* Keys: the first 20 bytes of BLAKE2b-256(len(group) || group || tag || x)
 * with tag "ip" (x = vip, 4 bytes big-endian) or "node" (x = 20-byte ID). */
void dht_key_vip(const char *group, uint32_t vip, uint8_t key[DHT_KEY_LEN]);
void dht_key_node(const char *group, const uint8_t id[RL_ID_LEN],
                  uint8_t key[DHT_KEY_LEN]);

/* Fills r as the DHT_REC_REVOCATION record of the binary revocation
 * bin[len] (structure only: the caller verified it). Returns 0, RL_ETRUNC
 * (bin does not decode) or RL_ETOOBIG. */
int dht_record_make_revocation(struct dht_record *r, const uint8_t *bin, size_t len);

/* Fills r (type, key derived from cert and type, seq, expiry, cert, value)
 * and signs it with `key`, which must be the key certified by `cert`.
 * Returns 0, RL_EINVAL (unknown type, key/cert mismatch, VIP value not 20
 * bytes), RL_ETOOBIG (value longer than DHT_VALUE_MAX). */
int dht_record_make(struct dht_record *r, uint8_t type, const struct cert *cert,
                    const struct id_key *key, uint64_t seq, uint64_t expiry_s,
                    const uint8_t *value, size_t value_len);

/* (Re)signs r as it stands with key (no consistency checks: tests use it
 * to build records a storer must refuse). 0, RL_ETOOBIG, or RL_EAUTH when
 * libsodium refuses to sign (sig zeroed). */
int dht_record_sign(struct dht_record *r, const struct id_key *key);

/* Encoded form (docs/dht.md). Returns bytes written or RL_ETOOBIG. */
int dht_record_encode(const struct dht_record *r, uint8_t *out, size_t cap);
/* Parses exactly one record (trailing bytes rejected). Returns 0 or
 * RL_ETRUNC; checks structure only, not the signature. */
int dht_record_decode(struct dht_record *r, const uint8_t *in, size_t len);

/* What a storer checks before it keeps a record:
 *   - the certificate parses and cert_verify()s for (group, group_pk) at
 *     unix_s: RL_ETRUNC, RL_EFOREIGN, RL_EAUTH, RL_EEXPIRED;
 *   - expiry_s > unix_s (else RL_EEXPIRED) and expiry_s <= unix_s +
 *     DHT_REC_MAX_TTL_S (else RL_ERANGE);
 *   - seq <= dht_record_seq_max(unix_s) (else RL_ERANGE);
 *   - the signature by the certified node key: RL_EAUTH;
 *   - the record is consistent with the certificate (key derived from the
 *     cert's vip / node ID; VIP value = the owner's overlay ID):
 *     RL_EREFUSED; SUBRING/unknown types: RL_EUNSUP.
 * A DHT_REC_REVOCATION record is judged instead by: the fixed fields (seq
 * 0, expiry DHT_REC_NO_EXPIRY, no cert, zero sig; else RL_EINVAL), the
 * revocation decodes (RL_ETRUNC) and revoke_verify()s for (group,
 * group_pk) (RL_EFOREIGN, RL_EAUTH), key = dht_key_node(group, revoked
 * ID) (RL_EREFUSED); the clock plays no part, and cert_out is zeroed.
 * On success returns 0 and, if cert_out is not NULL, the decoded cert. */
int dht_record_verify(const struct dht_record *r, const char *group,
                      const uint8_t group_pk[RL_PK_LEN], uint64_t unix_s,
                      struct cert *cert_out);

/* The same checks without the clock (certificate validity period and
 * record expiry are not judged): for a store re-reading its own data,
 * which has no notion of time. The DHT checks expiry itself. */
int dht_record_verify_untimed(const struct dht_record *r, const char *group,
                              const uint8_t group_pk[RL_PK_LEN]);

/* Overlay ID of the record's owner (from its certificate). RL_ETRUNC when
 * the embedded certificate does not parse (also for a revocation record,
 * which has no owner). */
int dht_record_owner_id(const struct dht_record *r, uint8_t id[RL_ID_LEN]);

/* Byte-identical records (same signature over the same fields). */
bool dht_record_same(const struct dht_record *a, const struct dht_record *b);

#endif
