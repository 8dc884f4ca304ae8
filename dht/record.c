/* Signed DHT records: key derivation, encoding, signing, verification. */
#include "dht/record.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <string.h>

#include "crypto/revoke.h"
#include "util/wire.h"

/* The signature covers a fixed context string followed by the encoded
 * record up to (not including) the signature, so a record signature can
 * never be confused with any other Ed25519 signature made by a node key
 * (handshake transcripts, certificates). */
static const char REC_SIG_CONTEXT[] = "ringlan dht record v1";
#define REC_SIG_CONTEXT_LEN (sizeof(REC_SIG_CONTEXT) - 1)

static void key_derive(const char *group, const char *tag, const uint8_t *x,
                       size_t xlen, uint8_t key[DHT_KEY_LEN]) {
  crypto_generichash_state st;
  uint8_t h[32];
  size_t glen = strnlen(group, RL_GROUP_NAME_MAX);
  uint8_t gl = (uint8_t)glen;
  /* Length-prefix the group name so (group, tag, x) is parsed one way only. */
  crypto_generichash_init(&st, NULL, 0, sizeof(h));
  crypto_generichash_update(&st, &gl, 1);
  crypto_generichash_update(&st, (const uint8_t *)group, glen);
  crypto_generichash_update(&st, (const uint8_t *)tag, strlen(tag));
  crypto_generichash_update(&st, x, xlen);
  crypto_generichash_final(&st, h, sizeof(h));
  memcpy(key, h, DHT_KEY_LEN);
}

void dht_key_vip(const char *group, uint32_t vip, uint8_t key[DHT_KEY_LEN]) {
  uint8_t be[4] = {(uint8_t)(vip >> 24), (uint8_t)(vip >> 16), (uint8_t)(vip >> 8),
                   (uint8_t)vip};
  key_derive(group, "ip", be, sizeof(be), key);
}

void dht_key_node(const char *group, const uint8_t id[RL_ID_LEN],
                  uint8_t key[DHT_KEY_LEN]) {
  key_derive(group, "node", id, RL_ID_LEN, key);
}

/* Writes everything the signature covers; returns its length or
 * RL_ETOOBIG. */
static int encode_body(const struct dht_record *r, uint8_t *out, size_t cap) {
  struct wire_w w;
  if (r->cert_len > CERT_BIN_MAX || r->value_len > DHT_VALUE_MAX)
    return RL_ETOOBIG;
  wire_w_init(&w, out, cap);
  wire_put_u8(&w, DHT_REC_VERSION);
  wire_put_u8(&w, r->type);
  wire_put_bytes(&w, r->key, DHT_KEY_LEN);
  wire_put_u64be(&w, r->seq);
  wire_put_u64be(&w, r->expiry_s);
  wire_put_u16be(&w, r->cert_len);
  wire_put_bytes(&w, r->cert, r->cert_len);
  wire_put_u16be(&w, r->value_len);
  wire_put_bytes(&w, r->value, r->value_len);
  return w.err ? RL_ETOOBIG : (int)w.off;
}

int dht_record_encode(const struct dht_record *r, uint8_t *out, size_t cap) {
  int n = encode_body(r, out, cap);
  if (n < 0)
    return n;
  if (cap - (size_t)n < RL_SIG_LEN)
    return RL_ETOOBIG;
  memcpy(out + n, r->sig, RL_SIG_LEN);
  return n + RL_SIG_LEN;
}

int dht_record_decode(struct dht_record *r, const uint8_t *in, size_t len) {
  struct wire_r rd;
  memset(r, 0, sizeof(*r));
  wire_r_init(&rd, in, len);
  if (wire_get_u8(&rd) != DHT_REC_VERSION)
    return RL_ETRUNC;
  r->type = wire_get_u8(&rd);
  wire_get_bytes(&rd, r->key, DHT_KEY_LEN);
  r->seq = wire_get_u64be(&rd);
  r->expiry_s = wire_get_u64be(&rd);
  r->cert_len = wire_get_u16be(&rd);
  if (!wire_ok(&rd) || r->cert_len > CERT_BIN_MAX)
    return RL_ETRUNC;
  wire_get_bytes(&rd, r->cert, r->cert_len);
  r->value_len = wire_get_u16be(&rd);
  if (!wire_ok(&rd) || r->value_len > DHT_VALUE_MAX)
    return RL_ETRUNC;
  wire_get_bytes(&rd, r->value, r->value_len);
  wire_get_bytes(&rd, r->sig, RL_SIG_LEN);
  if (!wire_done(&rd))
    return RL_ETRUNC;
  return 0;
}

/* Signed message = context || body. */
static int signed_message(const struct dht_record *r, uint8_t *msg, size_t cap) {
  int n;
  if (cap < REC_SIG_CONTEXT_LEN)
    return RL_ETOOBIG;
  memcpy(msg, REC_SIG_CONTEXT, REC_SIG_CONTEXT_LEN);
  n = encode_body(r, msg + REC_SIG_CONTEXT_LEN, cap - REC_SIG_CONTEXT_LEN);
  return n < 0 ? n : (int)REC_SIG_CONTEXT_LEN + n;
}

/* The key a record of this type must sit at, given its owner's cert. */
static int expected_key(uint8_t type, const struct cert *c, uint8_t key[DHT_KEY_LEN]) {
  uint8_t id[RL_ID_LEN];
  switch (type) {
  case DHT_REC_VIP:
    dht_key_vip(c->group, c->vip, key);
    return 0;
  case DHT_REC_NODE:
    cert_node_id(c, id);
    dht_key_node(c->group, id, key);
    return 0;
  default:
    return RL_EUNSUP;
  }
}

int dht_record_make(struct dht_record *r, uint8_t type, const struct cert *cert,
                    const struct id_key *key, uint64_t seq, uint64_t expiry_s,
                    const uint8_t *value, size_t value_len) {
  uint8_t id[RL_ID_LEN];
  int n;
  if (value_len > DHT_VALUE_MAX)
    return RL_ETOOBIG;
  if (sodium_memcmp(key->pk, cert->node_pk, RL_PK_LEN) != 0)
    return RL_EINVAL;
  memset(r, 0, sizeof(*r));
  r->type = type;
  if (expected_key(type, cert, r->key) < 0)
    return RL_EINVAL;
  if (type == DHT_REC_VIP) {
    /* The VIP record's value is always the owner's overlay ID. */
    cert_node_id(cert, id);
    if (value_len != RL_ID_LEN || memcmp(value, id, RL_ID_LEN) != 0)
      return RL_EINVAL;
  }
  r->seq = seq;
  r->expiry_s = expiry_s;
  n = cert_encode_bin(cert, r->cert, sizeof(r->cert));
  if (n < 0)
    return n;
  r->cert_len = (uint16_t)n;
  r->value_len = (uint16_t)value_len;
  if (value_len)
    memcpy(r->value, value, value_len);
  return dht_record_sign(r, key);
}

int dht_record_sign(struct dht_record *r, const struct id_key *key) {
  uint8_t msg[REC_SIG_CONTEXT_LEN + DHT_REC_MAX];
  int n = signed_message(r, msg, sizeof(msg));
  if (n < 0)
    return n;
  if (crypto_sign_detached(r->sig, NULL, msg, (unsigned long long)n, key->sk) != 0) {
    sodium_memzero(r->sig, RL_SIG_LEN);
    return RL_EAUTH;
  }
  return 0;
}

uint64_t dht_record_seq_max(uint64_t unix_s) {
  const uint64_t lim = (UINT64_MAX >> DHT_SEQ_SHIFT) - DHT_REC_MAX_TTL_S;
  if (unix_s >= lim)
    return UINT64_MAX;
  return ((unix_s + DHT_REC_MAX_TTL_S + 1) << DHT_SEQ_SHIFT) - 1;
}

int dht_record_seq_next(uint64_t cur, uint64_t unix_s, uint64_t *next) {
  uint64_t floor, n;
  if (cur == UINT64_MAX || unix_s > (UINT64_MAX >> DHT_SEQ_SHIFT))
    return RL_ERANGE;
  floor = unix_s << DHT_SEQ_SHIFT;
  n = cur + 1 > floor ? cur + 1 : floor;
  if (n > dht_record_seq_max(unix_s))
    return RL_ERANGE;
  *next = n;
  return 0;
}

int dht_record_make_revocation(struct dht_record *r, const uint8_t *bin, size_t len) {
  struct revocation rv;
  memset(r, 0, sizeof(*r));
  if (len > DHT_VALUE_MAX)
    return RL_ETOOBIG;
  if (revoke_decode_bin(&rv, bin, len) != 0)
    return RL_ETRUNC;
  r->type = DHT_REC_REVOCATION;
  dht_key_node(rv.group, rv.node_id, r->key);
  r->seq = 0;
  r->expiry_s = DHT_REC_NO_EXPIRY;
  r->value_len = (uint16_t)len;
  memcpy(r->value, bin, len);
  return 0;
}

/* A revocation record: authentic by the group signature inside. */
static int verify_revocation(const struct dht_record *r, const char *group,
                             const uint8_t group_pk[RL_PK_LEN]) {
  static const uint8_t zero_sig[RL_SIG_LEN];
  uint8_t want[DHT_KEY_LEN];
  struct revocation rv;
  int rc;
  if (r->seq != 0 || r->expiry_s != DHT_REC_NO_EXPIRY || r->cert_len != 0 ||
      memcmp(r->sig, zero_sig, RL_SIG_LEN) != 0)
    return RL_EINVAL;
  if (r->value_len > DHT_VALUE_MAX || revoke_decode_bin(&rv, r->value, r->value_len) != 0)
    return RL_ETRUNC;
  if ((rc = revoke_verify(&rv, group_pk, group)) < 0)
    return rc;
  dht_key_node(group, rv.node_id, want);
  if (sodium_memcmp(want, r->key, DHT_KEY_LEN) != 0)
    return RL_EREFUSED;
  return 0;
}

/* Shared by the timed and untimed checks; unix_s == 0 skips the clock. */
static int verify(const struct dht_record *r, const char *group,
                  const uint8_t group_pk[RL_PK_LEN], uint64_t unix_s,
                  struct cert *cert_out) {
  uint8_t msg[REC_SIG_CONTEXT_LEN + DHT_REC_MAX];
  uint8_t want[DHT_KEY_LEN], id[RL_ID_LEN];
  struct cert c;
  int n, rc;
  if (r->type == DHT_REC_REVOCATION) {
    if (cert_out)
      memset(cert_out, 0, sizeof(*cert_out));
    return verify_revocation(r, group, group_pk);
  }
  if (r->cert_len > CERT_BIN_MAX || r->value_len > DHT_VALUE_MAX)
    return RL_ETRUNC;
  if (cert_decode_bin(&c, r->cert, r->cert_len) < 0)
    return RL_ETRUNC;
  /* Untimed: check the certificate at a moment inside its own validity,
   * so only the signature, group and fields are judged. */
  rc = cert_verify(&c, group_pk, group, unix_s ? unix_s : c.not_before);
  if (rc < 0)
    return rc;
  if (unix_s) {
    if (r->expiry_s <= unix_s)
      return RL_EEXPIRED;
    if (r->expiry_s - unix_s > DHT_REC_MAX_TTL_S)
      return RL_ERANGE;
    if (r->seq > dht_record_seq_max(unix_s))
      return RL_ERANGE;
  }
  n = signed_message(r, msg, sizeof(msg));
  if (n < 0)
    return RL_ETRUNC;
  if (crypto_sign_verify_detached(r->sig, msg, (unsigned long long)n, c.node_pk) != 0)
    return RL_EAUTH;
  /* Authentic, but is the owner allowed to write this key? */
  if ((rc = expected_key(r->type, &c, want)) < 0)
    return rc;
  if (sodium_memcmp(want, r->key, DHT_KEY_LEN) != 0)
    return RL_EREFUSED;
  if (r->type == DHT_REC_VIP) {
    cert_node_id(&c, id);
    if (r->value_len != RL_ID_LEN || memcmp(r->value, id, RL_ID_LEN) != 0)
      return RL_EREFUSED;
  }
  if (cert_out)
    *cert_out = c;
  return 0;
}

int dht_record_verify(const struct dht_record *r, const char *group,
                      const uint8_t group_pk[RL_PK_LEN], uint64_t unix_s,
                      struct cert *cert_out) {
  if (unix_s == 0)
    return RL_EINVAL;
  return verify(r, group, group_pk, unix_s, cert_out);
}

int dht_record_verify_untimed(const struct dht_record *r, const char *group,
                              const uint8_t group_pk[RL_PK_LEN]) {
  return verify(r, group, group_pk, 0, NULL);
}

int dht_record_owner_id(const struct dht_record *r, uint8_t id[RL_ID_LEN]) {
  struct cert c;
  if (r->cert_len > CERT_BIN_MAX || cert_decode_bin(&c, r->cert, r->cert_len) < 0)
    return RL_ETRUNC;
  cert_node_id(&c, id);
  return 0;
}

bool dht_record_same(const struct dht_record *a, const struct dht_record *b) {
  return a->type == b->type && a->seq == b->seq && a->expiry_s == b->expiry_s &&
         a->cert_len == b->cert_len && a->value_len == b->value_len &&
         memcmp(a->key, b->key, DHT_KEY_LEN) == 0 &&
         memcmp(a->cert, b->cert, a->cert_len) == 0 &&
         memcmp(a->value, b->value, a->value_len) == 0 &&
         memcmp(a->sig, b->sig, RL_SIG_LEN) == 0;
}
