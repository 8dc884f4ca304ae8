/* Shared fixtures for the DHT tests (test_dht_record, test_dht,
 * test_store_lmdb, fuzz targets): a deterministic environment, a group
 * key and certified members. Header-only, static inline, test code only. */
#ifndef RL_TESTS_DHT_FIXTURE_H
#define RL_TESTS_DHT_FIXTURE_H

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"
#include "crypto/identity.h"
#include "util/env.h"

#define FIX_GROUP "testnet"
#define FIX_UNIX0 1800000000ULL /* unix seconds at now = 0 (2027) */
#define FIX_VIP(n) (0x64400000u + (uint32_t)(n)) /* 100.64.0.n */

/* Seeded generator: ChaCha20 keystream over a counter, so a test run is
 * reproducible. */
struct fix_rng {
  uint8_t seed[randombytes_SEEDBYTES];
  uint64_t ctr;
};

static inline void fix_rand(void *ctx, uint8_t *buf, size_t len) {
  struct fix_rng *g = ctx;
  uint8_t seed[randombytes_SEEDBYTES];
  memcpy(seed, g->seed, sizeof(seed));
  memcpy(seed, &g->ctr, sizeof(g->ctr));
  g->ctr++;
  randombytes_buf_deterministic(buf, len, seed);
}

/* Collects the last log line and counts warnings, so tests can assert that
 * something was logged. */
struct fix_log {
  unsigned n_warn;
  char last[512];
};

static inline void fix_log_sink(void *ctx, int level, const char *line) {
  struct fix_log *l = ctx;
  if (!l)
    return;
  if (level <= RL_LOG_WARN)
    l->n_warn++;
  snprintf(l->last, sizeof(l->last), "%s", line);
}

static inline void fix_env_init(struct rl_env *env, struct fix_rng *rng,
                                struct fix_log *log, uint8_t seed) {
  memset(rng, 0, sizeof(*rng));
  memset(rng->seed, seed, sizeof(rng->seed));
  memset(env, 0, sizeof(*env));
  env->rand = fix_rand;
  env->rand_ctx = rng;
  env->log = fix_log_sink;
  env->log_ctx = log;
  env->log_level = RL_LOG_DEBUG;
  env->unix_offset_s = (int64_t)FIX_UNIX0;
  if (log)
    memset(log, 0, sizeof(*log));
}

/* A member: key pair + certificate for vip, valid for a year around
 * FIX_UNIX0. */
struct fix_member {
  struct id_key key;
  struct cert cert;
  uint8_t id[RL_ID_LEN];
};

static inline int fix_member_make(struct fix_member *m, const struct rl_env *env,
                                  const struct id_key *group, const char *group_name,
                                  uint32_t vip) {
  int rc;
  memset(m, 0, sizeof(*m));
  if ((rc = id_generate(&m->key, env)) < 0)
    return rc;
  m->cert.version = 1;
  snprintf(m->cert.group, sizeof(m->cert.group), "%s", group_name);
  memcpy(m->cert.node_pk, m->key.pk, RL_PK_LEN);
  m->cert.vip = vip;
  m->cert.prefix = 10;
  m->cert.not_before = FIX_UNIX0 - 86400;
  m->cert.not_after = FIX_UNIX0 + 365 * 86400ULL;
  if ((rc = cert_sign(&m->cert, group)) < 0)
    return rc;
  id_overlay_id(m->key.pk, m->id);
  return 0;
}

#endif
