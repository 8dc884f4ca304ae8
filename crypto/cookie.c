/* mac1 / mac2 / cookie replies: the handshake's DoS filters (cookie.h). */
#include "crypto/cookie.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <string.h>

#include "crypto/hs.h"
#include "util/wire.h"

static void derive(const char *label, const uint8_t group_pk[32], uint8_t out[32]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 32);
  crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
  crypto_generichash_update(&st, group_pk, 32);
  crypto_generichash_final(&st, out, 32);
}

void cookie_derive_keys(const uint8_t group_pk[32], uint8_t mac1_key[32],
                        uint8_t cookie_key[32]) {
  derive("ringlan mac1----", group_pk, mac1_key);
  derive("ringlan cookie--", group_pk, cookie_key);
}

void cookie_mac(uint8_t out[COOKIE_MAC_LEN], const uint8_t *key, size_t klen,
                const uint8_t *msg, size_t len) {
  crypto_generichash(out, COOKIE_MAC_LEN, msg, len, key, klen);
}

void cookie_nonce_prefix(struct hs_responder *r) {
  static const uint8_t label[] = "ringlan cookie nonce";
  crypto_generichash(r->nonce_prefix, sizeof(r->nonce_prefix), label, sizeof(label) - 1,
                     r->cookie_secret, sizeof(r->cookie_secret));
}

void cookie_meter_init(struct cookie_meter *m, unsigned free_rate, unsigned work_rate) {
  memset(m, 0, sizeof(*m));
  m->free_rate = free_rate;
  m->work_rate = work_rate;
}

bool cookie_under_load(struct cookie_meter *m, uint64_t now) {
  return !rate_take(&m->free, m->free_rate, m->free_rate, 1, now);
}

bool cookie_work_allowed(struct cookie_meter *m, uint64_t now) {
  return m->work_rate == 0 || rate_take(&m->work, m->work_rate, m->work_rate, 1, now);
}

void cookie_for(struct hs_responder *r, const struct cookie_src *src, uint64_t now,
                uint8_t cookie[COOKIE_LEN]) {
  /* kind(1): 0 nothing, 1 address (family, port, ip), 2 overlay ID */
  uint8_t a[1 + RL_ID_LEN] = {0};
  _Static_assert(RL_ID_LEN >= 19, "an address fits the binding");
  if (now - r->cookie_secret_at_ns >= COOKIE_SECRET_ROTATE_NS ||
      now < r->cookie_secret_at_ns) {
    rl_rand(r->id->env, r->cookie_secret, sizeof(r->cookie_secret));
    cookie_nonce_prefix(r);
    r->cookie_secret_at_ns = now;
  }
  if (src && src->id) {
    a[0] = 2;
    memcpy(a + 1, src->id, RL_ID_LEN);
  } else if (src && src->addr) {
    a[0] = 1;
    a[1] = src->addr->family;
    a[2] = (uint8_t)(src->addr->port >> 8);
    a[3] = (uint8_t)src->addr->port;
    memcpy(a + 4, src->addr->ip, 16);
  }
  crypto_generichash(cookie, COOKIE_LEN, a, sizeof(a), r->cookie_secret,
                     sizeof(r->cookie_secret));
}

int cookie_reply_write(struct hs_responder *r, uint8_t key_id, uint32_t rcv_index,
                       const uint8_t mac1[COOKIE_MAC_LEN],
                       const uint8_t cookie[COOKIE_LEN], uint8_t *out, size_t cap) {
  struct wire_w w;
  uint8_t nonce[COOKIE_NONCE_LEN];
  uint8_t *ct;
  unsigned long long clen = 0;
  wire_w_init(&w, out, cap);
  wire_put_u8(&w, (uint8_t)(HS_OP_COOKIE << 3 | (key_id & 7)));
  wire_put_u24be(&w, rcv_index);
  wire_put_u24be(&w, HS_INDEX_UNDEF);
  /* XChaCha20-Poly1305 needs unique nonces under cookie_key: a random
   * 128-bit prefix (fresh with every cookie secret, and per responder) and
   * a 64-bit counter. */
  memcpy(nonce, r->nonce_prefix, sizeof(r->nonce_prefix));
  for (unsigned i = 0; i < 8; i++)
    nonce[16 + i] = (uint8_t)(r->nonce_ctr >> (56 - 8 * i));
  r->nonce_ctr++;
  wire_put_bytes(&w, nonce, sizeof(nonce));
  ct = wire_put_ptr(&w, COOKIE_LEN + 16);
  if (w.err)
    return RL_ETOOBIG;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, cookie, COOKIE_LEN, mac1,
                                                 COOKIE_MAC_LEN, NULL, nonce,
                                                 r->id->cookie_key) != 0)
    return RL_ESTATE; /* cannot happen for 16 bytes; never send an unsealed cookie */
  return (int)w.off;
}

int cookie_reply_open(const uint8_t cookie_key[32], const uint8_t mac1[COOKIE_MAC_LEN],
                      const uint8_t *pkt, size_t len, uint8_t cookie[COOKIE_LEN]) {
  struct wire_r r;
  const uint8_t *nonce, *ct;
  unsigned long long plen = 0;
  wire_r_init(&r, pkt, len);
  if ((wire_get_u8(&r) >> 3) != HS_OP_COOKIE)
    return RL_ETRUNC;
  (void)wire_get_u24be(&r);
  (void)wire_get_u24be(&r);
  nonce = wire_get_ptr(&r, COOKIE_NONCE_LEN);
  ct = wire_get_ptr(&r, COOKIE_LEN + 16);
  if (!wire_done(&r))
    return RL_ETRUNC;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, &plen, NULL, ct, COOKIE_LEN + 16,
                                                 mac1, COOKIE_MAC_LEN, nonce,
                                                 cookie_key) != 0) {
    sodium_memzero(cookie, COOKIE_LEN);
    return RL_EAUTH;
  }
  return 0;
}
