/* The "node" model: the whole node core (node/core/node.h) -- handshakes,
 * sessions, the data channel, links, the overlay on top -- driven through
 * exactly the calls the libuv driver makes.
 *
 * Identities: one group key per run and one node key per node index, both
 * derived from the run seed (a node keeps its key across restarts, like a
 * real node keeps its key file). Certificates are signed at node creation,
 * valid from a day before the simulated epoch for ten years. Virtual IPs are
 * 100.64.0.0/10 + index + 1.
 *
 * What the node core's public API lets us observe: ring membership and the
 * first successor (node_status_json "ring"), and link paths (direct, relay,
 * overlay) of established links. It has no routed-lookup primitive for
 * tests, so this model cannot produce lookup or hop metrics; and nothing
 * generates TAP traffic yet, so "direct_time" is not produced either. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"
#include "crypto/identity.h"
#include "node/core/node.h"
#include "simulations/sim.h"

#define STATUS_MAX (512 * 1024)
#define VIP_BASE 0x64400000u /* 100.64.0.0 */
#define EPOCH_SLACK_S 86400

struct nctx {
  bool have_group;
  struct id_key group;
  char status[STATUS_MAX];  /* scratch for node_status_json */
};

struct nnode {
  struct sim *s;
  uint32_t idx;
  struct node *n;
  bool joined;
};

static void seeded_key(uint64_t seed, uint64_t stream, struct id_key *k) {
  struct sim_rng r;
  struct rl_env env = {.rand = sim_rng_fill, .rand_ctx = &r};
  sim_rng_seed(&r, seed, stream);
  id_generate(k, &env);
  sodium_memzero(&r, sizeof(r));
}

static void *n_ctx_new(void) { return calloc(1, sizeof(struct nctx)); }

static void n_ctx_free(void *p) {
  struct nctx *c = p;
  sodium_memzero(&c->group, sizeof(c->group));
  free(c);
}

static void *n_create(void *ctx, struct sim *s, const struct sim_node_init *in, uint64_t now,
                      int *err) {
  struct nctx *c = ctx;
  struct nnode *nn = calloc(1, sizeof(*nn));
  struct node_config *cfg = calloc(1, sizeof(*cfg)); /* ~9 KB: not on the stack */
  int rc = RL_ENOMEM;
  if (!nn || !cfg)
    goto fail;
  if (!c->have_group) {
    seeded_key(s->seed, 1ULL << 41, &c->group);
    c->have_group = true;
  }
  node_config_default(cfg);
  cfg->env = in->env;
  seeded_key(s->seed, (1ULL << 40) + in->idx, &cfg->key);
  struct cert *ct = &cfg->cert;
  memset(ct, 0, sizeof(*ct));
  ct->version = 1;
  snprintf(ct->group, sizeof(ct->group), "sim");
  memcpy(ct->node_pk, cfg->key.pk, RL_PK_LEN);
  ct->vip = VIP_BASE + in->idx + 1;
  ct->prefix = 10;
  uint64_t unix_now = rl_unix_s(in->env, now);
  ct->not_before = unix_now - EPOCH_SLACK_S;
  ct->not_after = unix_now + 10ULL * 365 * 86400;
  if ((rc = cert_sign(ct, &c->group)))
    goto fail;
  memcpy(cfg->group_pk, c->group.pk, RL_PK_LEN);
  cfg->listen = in->local;
  snprintf(cfg->tap_name, sizeof(cfg->tap_name), "sim%u", in->idx);
  cfg->n_bootstrap = in->n_boot;
  memcpy(cfg->bootstrap, in->boot, in->n_boot * sizeof(in->boot[0]));
  nn->s = s;
  nn->idx = in->idx;
  nn->n = node_new(cfg, now, &rc);
  if (!nn->n)
    goto fail;
  sodium_memzero(cfg, sizeof(*cfg));
  free(cfg);
  return nn;
fail:
  if (cfg)
    sodium_memzero(cfg, sizeof(*cfg));
  free(cfg);
  free(nn);
  *err = rc ? rc : RL_ENOMEM;
  return NULL;
}

static void n_destroy(void *ctx, void *node) {
  (void)ctx;
  struct nnode *nn = node;
  node_free(nn->n);
  free(nn);
}

static const char *status(struct nnode *nn) {
  struct nctx *c = nn->s->model_ctx;
  if (node_status_json(nn->n, nn->s->now, c->status, sizeof(c->status)) < 0)
    return NULL;
  return c->status;
}

/* Until a node has joined, look at its ring state after each event so
 * that the join time is exact; afterwards only snapshots look. */
static void check_joined(struct nnode *nn) {
  const char *st = status(nn);
  bool j = st && strstr(st, "\"ring\":{\"joined\":true");
  if (j != nn->joined) {
    nn->joined = j;
    sim_report_joined(nn->s, nn->idx, j);
  }
}

static int n_recv(void *node, const struct rl_addr *from, const uint8_t *pkt, size_t len,
                  uint64_t now) {
  struct nnode *nn = node;
  int rc = node_recv_udp(nn->n, from, pkt, len, now);
  if (!nn->joined)
    check_joined(nn);
  return rc;
}

static size_t n_poll(void *node, struct rl_addr *to, uint8_t *buf, size_t cap) {
  struct nnode *nn = node;
  size_t len = node_poll_udp(nn->n, to, buf, cap);
  if (len)
    return len;
  /* Frames for the TAP device: none are expected (no traffic generator),
   * but drain them so the node's queue never fills. */
  while (node_poll_tap(nn->n, buf, cap))
    ;
  return 0;
}

static uint64_t n_next_timer(const void *node) {
  return node_next_timer(((const struct nnode *)node)->n);
}

static void n_on_timer(void *node, uint64_t now) {
  struct nnode *nn = node;
  node_on_timer(nn->n, now);
  if (!nn->joined)
    check_joined(nn);
}

static void n_leave(void *node, uint64_t now) { node_leave(((struct nnode *)node)->n, now); }

static void n_id(const void *node, uint8_t out[SIM_ID_LEN]) {
  memcpy(out, node_id(((const struct nnode *)node)->n), SIM_ID_LEN);
}

static bool n_succ(const void *node, uint8_t out[SIM_ID_LEN]) {
  const char *st = status((struct nnode *)(uintptr_t)node);
  const char *p = st ? strstr(st, "\"successors\":[\"") : NULL;
  if (!p)
    return false;
  p += strlen("\"successors\":[\"");
  return rl_hex_decode(out, SIM_ID_LEN, p, 2 * SIM_ID_LEN) == SIM_ID_LEN;
}

static bool n_stats(void *node, struct sim_node_stats *out) {
  struct nnode *nn = node;
  const char *st = status(nn);
  memset(out, 0, sizeof(*out));
  if (!st)
    return false;
  for (const char *p = strstr(st, "\"path\":\""); p; p = strstr(p + 1, "\"path\":\"")) {
    const char *path = p + strlen("\"path\":\"");
    const char *state = strstr(path, "\"state\":\"");
    if (!state || strncmp(state + strlen("\"state\":\""), "established", 11))
      continue;
    if (!strncmp(path, "direct", 6))
      out->links_direct++;
    else if (!strncmp(path, "relay", 5))
      out->links_relay++;
    else if (!strncmp(path, "overlay", 7))
      out->links_overlay++;
  }
  return true;
}

const struct sim_model sim_model_node = {
    .name = "node",
    .caps = SIM_M_JOIN_TIME | SIM_M_RING | SIM_M_BYTES | SIM_M_LINK_TYPES,
    .missing = "the node API has no routed test lookup (hops, lookups) and the simulator "
               "has no TAP traffic generator yet (direct_time)",
    .create = n_create,
    .destroy = n_destroy,
    .leave = n_leave,
    .recv = n_recv,
    .poll = n_poll,
    .next_timer = n_next_timer,
    .on_timer = n_on_timer,
    .id = n_id,
    .succ = n_succ,
    .stats = n_stats,
    .ctx_new = n_ctx_new,
    .ctx_free = n_ctx_free,
};
