#include "crypto/origin.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <string.h>

#include "crypto/standin.h"
#include "util/wire.h"

static const char CONTEXT[] = "ringlan routed origin v2"; /* with its NUL */

static bool standin(const struct hs_identity *id) { return id->env && id->env->crypto_standin; }

/* The signed message: context, inner app, src, key, unix_ms, payload. */
static void sig_state(crypto_sign_ed25519ph_state *st, uint8_t app, const uint8_t src[RL_ID_LEN],
                      const uint8_t key[RL_ID_LEN], uint64_t unix_ms, const uint8_t *payload,
                      size_t len) {
  uint8_t ts[8];
  for (int i = 0; i < 8; i++)
    ts[i] = (uint8_t)(unix_ms >> (56 - 8 * i));
  crypto_sign_ed25519ph_init(st);
  crypto_sign_ed25519ph_update(st, (const uint8_t *)CONTEXT, sizeof(CONTEXT));
  crypto_sign_ed25519ph_update(st, &app, 1);
  crypto_sign_ed25519ph_update(st, src, RL_ID_LEN);
  crypto_sign_ed25519ph_update(st, key, RL_ID_LEN);
  crypto_sign_ed25519ph_update(st, ts, sizeof(ts));
  if (len)
    crypto_sign_ed25519ph_update(st, payload, len);
}

int origin_seal(const struct hs_identity *id, uint8_t app, const uint8_t key[RL_ID_LEN],
                uint64_t unix_ms, const uint8_t *payload, size_t len, uint8_t *out, size_t cap) {
  crypto_sign_ed25519ph_state st;
  struct wire_w w;
  uint8_t *sig;
  wire_w_init(&w, out, cap);
  wire_put_u8(&w, app);
  wire_put_u64be(&w, unix_ms);
  wire_put_u16be(&w, (uint16_t)id->cert_len);
  wire_put_bytes(&w, id->cert_bin, id->cert_len);
  sig = wire_put_ptr(&w, RL_SIG_LEN);
  wire_put_bytes(&w, payload, len);
  if (w.err || !sig)
    return RL_ETOOBIG;
  sig_state(&st, app, id->id, key, unix_ms, payload, len);
  if (standin(id))
    standin_ph_sign(&st, sig, id->key.pk);
  else if (crypto_sign_ed25519ph_final_create(&st, sig, NULL, id->key.sk) != 0)
    return RL_EINVAL;
  return (int)w.off;
}

/* The node key of src's certificate cb[0..cl), from the cache or checked
 * in full (and then cached). */
static int cert_key(const struct hs_identity *id, struct origin_cache *cache,
                    const uint8_t src[RL_ID_LEN], const uint8_t *cb, size_t cl, uint64_t unix_s,
                    uint8_t pk[RL_PK_LEN]) {
  uint8_t h[32], cid[RL_ID_LEN];
  struct cert c;
  int rc;
  crypto_generichash(h, sizeof(h), cb, cl, NULL, 0);
  for (unsigned i = 0; cache && i < ORIGIN_CACHE_N; i++) {
    if (cache->e[i].not_after && unix_s <= cache->e[i].not_after &&
        memcmp(cache->e[i].id, src, RL_ID_LEN) == 0 && memcmp(cache->e[i].cert_hash, h, 32) == 0) {
      memcpy(pk, cache->e[i].node_pk, RL_PK_LEN);
      cache->hits++;
      return 0;
    }
  }
  if (cert_decode_bin(&c, cb, cl) != 0)
    return RL_ETRUNC;
  rc = standin(id) ? cert_check_unsigned(&c, id->group_pk, id->cert.group, unix_s)
                   : cert_verify(&c, id->group_pk, id->cert.group, unix_s);
  if (rc != 0)
    return rc == RL_EINVAL ? RL_ETRUNC : rc;
  cert_node_id(&c, cid);
  if (memcmp(cid, src, RL_ID_LEN) != 0)
    return RL_EAUTH; /* a member's certificate under another's name */
  memcpy(pk, c.node_pk, RL_PK_LEN);
  if (cache) {
    unsigned i = cache->next;
    cache->next = (cache->next + 1) % ORIGIN_CACHE_N;
    memcpy(cache->e[i].id, src, RL_ID_LEN);
    memcpy(cache->e[i].cert_hash, h, 32);
    memcpy(cache->e[i].node_pk, c.node_pk, RL_PK_LEN);
    cache->e[i].not_after = c.not_after ? c.not_after : 1;
    cache->misses++;
  }
  return 0;
}

int origin_open(const struct hs_identity *id, struct origin_cache *cache,
                const uint8_t src[RL_ID_LEN], const uint8_t key[RL_ID_LEN], uint64_t unix_ms,
                const uint8_t *in, size_t inlen, uint8_t *app, const uint8_t **payload,
                size_t *len) {
  crypto_sign_ed25519ph_state st;
  uint8_t pk[RL_PK_LEN];
  struct wire_r r;
  const uint8_t *cb, *sig;
  uint64_t ts;
  uint16_t cl;
  int rc;
  wire_r_init(&r, in, inlen);
  *app = wire_get_u8(&r);
  ts = wire_get_u64be(&r);
  cl = wire_get_u16be(&r);
  cb = wire_get_ptr(&r, cl);
  sig = wire_get_ptr(&r, RL_SIG_LEN);
  if (!wire_ok(&r) || !cb || !sig || cl == 0 || cl > CERT_BIN_MAX)
    return RL_ETRUNC;
  /* The clock first: the cheapest refusal. */
  if (ts > unix_ms + ORIGIN_SKEW_MS || ts + ORIGIN_SKEW_MS < unix_ms)
    return RL_EREPLAY;
  rc = cert_key(id, cache, src, cb, cl, unix_ms / 1000, pk);
  if (rc != 0)
    return rc;
  *payload = in + r.off;
  *len = inlen - r.off;
  sig_state(&st, *app, src, key, ts, *payload, *len);
  if ((standin(id) ? standin_ph_verify(&st, sig, pk)
                   : crypto_sign_ed25519ph_final_verify(&st, sig, pk)) != 0)
    return RL_EAUTH;
  return 0;
}

int origin_parse(const uint8_t *in, size_t inlen, uint8_t *app, const uint8_t **cert,
                 size_t *cert_len, const uint8_t **payload, size_t *len) {
  struct wire_r r;
  const uint8_t *cb, *sig;
  uint16_t cl;
  wire_r_init(&r, in, inlen);
  *app = wire_get_u8(&r);
  (void)wire_get_u64be(&r);
  cl = wire_get_u16be(&r);
  cb = wire_get_ptr(&r, cl);
  sig = wire_get_ptr(&r, RL_SIG_LEN);
  if (!wire_ok(&r) || !cb || !sig || cl == 0 || cl > CERT_BIN_MAX)
    return RL_ETRUNC;
  *cert = cb;
  *cert_len = cl;
  *payload = in + r.off;
  *len = inlen - r.off;
  return 0;
}

int origin_stamp(const uint8_t *in, size_t inlen, uint64_t *unix_ms) {
  struct wire_r r;
  wire_r_init(&r, in, inlen);
  (void)wire_get_u8(&r);
  *unix_ms = wire_get_u64be(&r);
  return wire_ok(&r) ? 0 : RL_ETRUNC;
}
