/* libFuzzer target: dht_msg_decode and the whole receive path (dht_recv)
 * of a DHT instance in a small fake ring. Invariants: no crash, no leak;
 * whatever decodes re-encodes to the same bytes; every action the DHT
 * emits fits an overlay payload. Seeds (tests/fuzz/corpus/fuzz_dht_msg/)
 * carry records signed by the group key derived from seed 42. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dht/dht.h"
#include "tests/dht_fixture.h"

struct fuzz_ctx {
  struct rl_env env;
  struct fix_rng rng;
  struct id_key group;
  struct fix_member self, peer[3];
  struct dht *d;
  struct dht_action act;
};

static struct fuzz_ctx *ctx_get(void) {
  /* One-time fixture of the fuzz process (not library state). */
  static struct fuzz_ctx *c;
  if (c)
    return c;
  struct dht_config cfg;
  struct ov_ring_info ri;
  c = calloc(1, sizeof(*c));
  if (!c)
    abort();
  fix_env_init(&c->env, &c->rng, NULL, 42);
  c->env.log = NULL;
  if (id_generate(&c->group, &c->env) < 0 ||
      fix_member_make(&c->self, &c->env, &c->group, FIX_GROUP, FIX_VIP(1)) < 0)
    abort();
  for (int i = 0; i < 3; i++)
    if (fix_member_make(&c->peer[i], &c->env, &c->group, FIX_GROUP, FIX_VIP(2 + i)) < 0)
      abort();
  dht_config_default(&cfg);
  cfg.env = &c->env;
  memcpy(cfg.self_id, c->self.id, RL_ID_LEN);
  cfg.key = c->self.key;
  cfg.cert = c->self.cert;
  memcpy(cfg.group, FIX_GROUP, sizeof(FIX_GROUP));
  memcpy(cfg.group_pk, c->group.pk, RL_PK_LEN);
  cfg.mem_store_max = 256;
  if (!(c->d = dht_new(&cfg, NULL)))
    abort();
  memset(&ri, 0, sizeof(ri));
  ri.joined = true;
  ri.has_pred = true;
  memcpy(ri.pred, c->peer[0].id, RL_ID_LEN);
  ri.n_succ = 2;
  memcpy(ri.succ[0], c->peer[1].id, RL_ID_LEN);
  memcpy(ri.succ[1], c->peer[2].id, RL_ID_LEN);
  dht_ring_changed(c->d, &ri, 0);
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_ctx *c = ctx_get();
  struct dht_msg m;
  uint8_t out[DHT_MSG_MAX];
  if (dht_msg_decode(&m, data, size) == 0) {
    int n = dht_msg_encode(&m, out, sizeof(out));
    if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
      abort();
  }
  /* The last byte picks the sender; the DHT's clock stays within the
   * seeds' validity. */
  const struct fix_member *src = &c->peer[size ? data[size - 1] % 3 : 0];
  dht_recv(c->d, src->id, c->self.id, data, size, 1000 * NS_PER_S);
  while (dht_poll(c->d, &c->act))
    if (c->act.kind == DHT_ACT_ROUTE && c->act.len > OV_APP_MAX)
      abort();
  return 0;
}
