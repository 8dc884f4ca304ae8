/* libFuzzer target: dht_record_decode / dht_record_verify on arbitrary
 * bytes. Invariants: no crash; whatever decodes re-encodes to the same
 * bytes (one encoding per record); verification never succeeds on bytes
 * that do not decode. Seeds (tests/fuzz/corpus/fuzz_dht_record/) are
 * records signed by the group key this target derives from seed 42, so
 * the verification path is reached ("revocation": a DHT_REC_REVOCATION
 * record of a group revocation). A revocation record that verifies is the
 * one dht_record_make_revocation() builds from its value (one encoding per
 * revocation: no other bytes carry the same one), verifies at any clock,
 * and has no owner. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/record.h"
#include "tests/dht_fixture.h"

struct fuzz_ctx {
  struct rl_env env;
  struct fix_rng rng;
  struct id_key group;
};

static struct fuzz_ctx *ctx_get(void) {
  /* One-time fixture of the fuzz process (not library state). */
  static struct fuzz_ctx *c;
  if (!c) {
    c = calloc(1, sizeof(*c));
    if (!c)
      abort();
    fix_env_init(&c->env, &c->rng, NULL, 42);
    c->env.log = NULL;
    if (id_generate(&c->group, &c->env) < 0)
      abort();
  }
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_ctx *c = ctx_get();
  struct dht_record r;
  uint8_t out[DHT_REC_MAX];
  uint8_t id[RL_ID_LEN];
  if (dht_record_decode(&r, data, size) < 0)
    return 0;
  int n = dht_record_encode(&r, out, sizeof(out));
  if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
    abort();
  if (r.type == DHT_REC_REVOCATION &&
      dht_record_verify(&r, FIX_GROUP, c->group.pk, FIX_UNIX0, NULL) == 0) {
    struct dht_record m;
    if (dht_record_make_revocation(&m, r.value, r.value_len) != 0 ||
        !dht_record_same(&m, &r) ||
        dht_record_verify(&r, FIX_GROUP, c->group.pk, FIX_UNIX0 + 1000000000ULL, NULL) != 0 ||
        dht_record_owner_id(&r, id) == 0)
      abort();
  }
  (void)dht_record_verify(&r, FIX_GROUP, c->group.pk, FIX_UNIX0, NULL);
  (void)dht_record_verify(&r, FIX_GROUP, c->group.pk, r.expiry_s, NULL);
  (void)dht_record_verify_untimed(&r, FIX_GROUP, c->group.pk);
  (void)dht_record_owner_id(&r, id);
  return 0;
}
