/* Test fixture shared by test_hs.c and test_sess.c: a seeded environment,
 * a group key and member identities built in the test (no files).
 * Header-only (static functions) because each test is its own executable. */
#ifndef RL_TESTS_HS_FIXTURE_H
#define RL_TESTS_HS_FIXTURE_H

#include <ringlan/error.h>
#include <sodium.h>
#include <string.h>

#include "crypto/cert.h"
#include "crypto/hs.h"
#include "crypto/identity.h"
#include "util/env.h"

#define FX_UNIX0 1795305600LL /* 2026-11-22T00:00:00Z at monotonic 0 */
#define FX_DAY_S 86400ULL
#define FX_GROUP "testlan"

/* Deterministic randomness: a hash chain per node, so one seed fixes a test. */
struct fx_rng {
  uint8_t state[32];
};
static inline void fx_rand(void *ctx, uint8_t *buf, size_t len) {
  struct fx_rng *r = ctx;
  randombytes_buf_deterministic(buf, len, r->state);
  crypto_generichash(r->state, 32, r->state, 32, NULL, 0);
}

struct fx_node {
  struct fx_rng rng;
  struct rl_env env;
  struct id_key key;
  struct cert cert;
  struct hs_identity hid;
  struct hs_responder resp;
  struct rl_addr addr;
};

static inline void fx_key_from_byte(struct id_key *k, uint8_t b) {
  uint8_t seed[32];
  memset(seed, b, sizeof(seed));
  crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

static inline void fx_env(struct fx_node *n, uint8_t seed) {
  memset(n->rng.state, seed, sizeof(n->rng.state));
  memset(&n->env, 0, sizeof(n->env));
  n->env.rand = fx_rand;
  n->env.rand_ctx = &n->rng;
  n->env.unix_offset_s = FX_UNIX0;
}

/* A member: node key from key_byte, certificate signed by group, valid
 * [not_before, not_after] (unix s), name `group`. Returns 0 or RL_E*. */
static inline int fx_node_make_cert(struct fx_node *n, uint8_t key_byte,
                             const struct id_key *group, const char *gname,
                             uint64_t not_before, uint64_t not_after) {
  fx_env(n, (uint8_t)(key_byte + 100));
  fx_key_from_byte(&n->key, key_byte);
  memset(&n->cert, 0, sizeof(n->cert));
  n->cert.version = 1;
  strcpy(n->cert.group, gname);
  memcpy(n->cert.node_pk, n->key.pk, RL_PK_LEN);
  n->cert.vip = 0x64400000u | key_byte; /* 100.64.0.x */
  n->cert.prefix = 10;
  n->cert.not_before = not_before;
  n->cert.not_after = not_after;
  rl_addr_set_ipv4(&n->addr, 0xC0000200u | key_byte, 4000 + key_byte); /* 192.0.2.x */
  return cert_sign(&n->cert, group);
}

static inline int fx_node_init(struct fx_node *n, uint8_t key_byte, const struct id_key *group,
                        enum dc_cipher c, enum dc_format f, unsigned load_threshold) {
  int rc = fx_node_make_cert(n, key_byte, group, FX_GROUP, FX_UNIX0 - FX_DAY_S,
                             FX_UNIX0 + 365 * FX_DAY_S);
  if (rc < 0)
    return rc;
  rc = hs_identity_init(&n->hid, &n->env, &n->key, &n->cert, group->pk, c, f);
  if (rc < 0)
    return rc;
  hs_responder_init(&n->resp, &n->hid, load_threshold, 0);
  return 0;
}

/* Two members of one group (key byte 1): a (10) and b (11), ChaCha20,
 * v2 format, no handshake load limit to speak of. Returns 0 or RL_E*. */
static inline int fx_pair_init(struct id_key *group, struct fx_node *a, struct fx_node *b) {
  int rc;
  fx_key_from_byte(group, 1);
  rc = fx_node_init(a, 10, group, DC_CHACHA20POLY1305, DC_FMT_V2, 1000);
  return rc < 0 ? rc : fx_node_init(b, 11, group, DC_CHACHA20POLY1305, DC_FMT_V2, 1000);
}

static inline void fx_node_wipe(struct fx_node *n) {
  hs_responder_wipe(&n->resp);
  hs_identity_wipe(&n->hid);
  sodium_memzero(n, sizeof(*n));
}

#endif
