/* Overlay lifecycle, link table, action queue, timers and the public entry
 * points. Routing lives in ov_route.c, ring maintenance in ov_stab.c,
 * shortcuts in ov_finger.c. */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/ov_internal.h"

void ov_config_default(struct ov_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->n_successors = OV_DEFAULT_N_SUCC;
  cfg->stabilise_ns = OV_DEFAULT_STABILISE_NS;
  cfg->fix_fingers_ns = OV_DEFAULT_FIX_FINGERS_NS;
  cfg->heal_ns = OV_DEFAULT_HEAL_NS;
  cfg->max_ttl = OV_DEFAULT_MAX_TTL;
  cfg->bcast_rate = OV_DEFAULT_BCAST_RATE;
  cfg->bcast_burst = OV_DEFAULT_BCAST_BURST;
}

struct overlay *overlay_new(const struct ov_config *cfg) {
  if (!cfg || !cfg->env)
    return NULL;
  struct overlay *ov = calloc(1, sizeof(*ov));
  if (!ov)
    return NULL;
  ov->cfg = *cfg;
  /* Zero fields mean "default": callers may fill only what they care about. */
  if (ov->cfg.n_successors == 0)
    ov->cfg.n_successors = OV_DEFAULT_N_SUCC;
  if (ov->cfg.n_successors > OV_MAX_SUCC)
    ov->cfg.n_successors = OV_MAX_SUCC;
  if (!ov->cfg.stabilise_ns)
    ov->cfg.stabilise_ns = OV_DEFAULT_STABILISE_NS;
  if (!ov->cfg.fix_fingers_ns)
    ov->cfg.fix_fingers_ns = OV_DEFAULT_FIX_FINGERS_NS;
  if (!ov->cfg.heal_ns)
    ov->cfg.heal_ns = OV_DEFAULT_HEAL_NS;
  if (!ov->cfg.max_ttl)
    ov->cfg.max_ttl = OV_DEFAULT_MAX_TTL;
  if (!ov->cfg.bcast_rate)
    ov->cfg.bcast_rate = OV_DEFAULT_BCAST_RATE;
  if (!ov->cfg.bcast_burst)
    ov->cfg.bcast_burst = OV_DEFAULT_BCAST_BURST;
  ov->succ = calloc(ov->cfg.n_successors, sizeof(*ov->succ));
  if (!ov->succ) {
    free(ov);
    return NULL;
  }
  memcpy(ov->self.id, cfg->self_id, RL_ID_LEN);
  ov->next_stab = ov->next_fix = ov->next_heal = RL_TIME_NEVER;
  ov->finger_next = OV_SLOTS - 1;
  return ov;
}

void overlay_free(struct overlay *ov) {
  if (!ov)
    return;
  free(ov->succ);
  free(ov->links);
  free(ov->q);
  free(ov->arena);
  free(ov->bc_origins);
  free(ov);
}

void overlay_set_self_endpoints(struct overlay *ov, const struct rl_addr *ep, unsigned n) {
  if (n > OV_MAX_ENDPOINTS)
    n = OV_MAX_ENDPOINTS;
  ov->self.n_ep = (uint8_t)n;
  memset(ov->self.ep, 0, sizeof(ov->self.ep));
  if (n)
    memcpy(ov->self.ep, ep, n * sizeof(*ep));
}

uint64_t ov_jitter(const struct overlay *ov, uint64_t period) {
  uint64_t span = period / 100 * OV_JITTER_PCT;
  if (span == 0 || span > UINT32_MAX)
    return period;
  return period - span + rl_rand_uniform(ov->cfg.env, (uint32_t)(2 * span + 1));
}

/* ---- action queue ------------------------------------------------------ */

static bool queue_reserve(struct overlay *ov, size_t len) {
  if (ov->q_len >= OV_QUEUE_MAX)
    return false;
  if (ov->q_len == ov->q_cap) {
    if (ov->q_head > 0) { /* slide the live entries down before growing */
      memmove(ov->q, ov->q + ov->q_head, (ov->q_len - ov->q_head) * sizeof(*ov->q));
      ov->q_len -= ov->q_head;
      ov->q_head = 0;
    } else {
      unsigned cap = ov->q_cap ? 2 * ov->q_cap : 8;
      struct ov_qent *q = realloc(ov->q, cap * sizeof(*q));
      if (!q)
        return false;
      ov->q = q;
      ov->q_cap = cap;
    }
  }
  if (ov->a_cap - ov->a_len < len) {
    /* Drop consumed bytes at the front first (entries are in arena order). */
    if (ov->q_head < ov->q_len && ov->q[ov->q_head].off > 0) {
      uint32_t base = ov->q[ov->q_head].off;
      memmove(ov->arena, ov->arena + base, ov->a_len - base);
      ov->a_len -= base;
      for (unsigned i = ov->q_head; i < ov->q_len; i++)
        ov->q[i].off -= base;
    }
  }
  if (ov->a_cap - ov->a_len < len) {
    size_t cap = ov->a_cap ? ov->a_cap : 2048;
    while (cap - ov->a_len < len)
      cap *= 2;
    if (cap > OV_QUEUE_BYTES_MAX)
      return false;
    uint8_t *a = realloc(ov->arena, cap);
    if (!a)
      return false;
    ov->arena = a;
    ov->a_cap = cap;
  }
  return true;
}

void ov_push(struct overlay *ov, uint8_t kind, const uint8_t peer[RL_ID_LEN],
             const uint8_t key[RL_ID_LEN], uint8_t app, uint8_t hops,
             const void *data, size_t len) {
  if (!queue_reserve(ov, len)) {
    ov->stats.dropped_queue++;
    return;
  }
  struct ov_qent *e = &ov->q[ov->q_len++];
  memset(e, 0, sizeof(*e));
  e->kind = kind;
  e->app = app;
  e->hops = hops;
  if (peer)
    memcpy(e->peer, peer, RL_ID_LEN);
  if (key)
    memcpy(e->key, key, RL_ID_LEN);
  e->off = (uint32_t)ov->a_len;
  e->len = (uint32_t)len;
  if (len)
    memcpy(ov->arena + ov->a_len, data, len);
  ov->a_len += len;
}

void ov_push_send(struct overlay *ov, const uint8_t peer[RL_ID_LEN], const struct ov_msg *m) {
  uint8_t buf[OV_MSG_MAX];
  int n = ov_msg_encode(m, buf, sizeof(buf));
  if (n < 0) /* only a ROUTED payload can be too big, checked earlier */
    return;
  ov_push(ov, OV_ACT_SEND, peer, NULL, 0, 0, buf, (size_t)n);
  struct ov_link *l = ov_link_find(ov, peer);
  if (l)
    l->last_tx = ov->now;
}

bool overlay_poll(struct overlay *ov, struct ov_action *a) {
  if (ov->q_head >= ov->q_len)
    return false;
  const struct ov_qent *e = &ov->q[ov->q_head++];
  a->kind = (enum ov_act_kind)e->kind;
  memcpy(a->peer, e->peer, RL_ID_LEN);
  memcpy(a->key, e->key, RL_ID_LEN);
  a->app = e->app;
  a->hops = e->hops;
  a->len = 0;
  memset(&a->node, 0, sizeof(a->node));
  if (e->kind == OV_ACT_CONNECT) {
    memcpy(&a->node, ov->arena + e->off, sizeof(a->node));
  } else {
    a->len = e->len;
    if (e->len)
      memcpy(a->data, ov->arena + e->off, e->len);
  }
  if (ov->q_head == ov->q_len) { /* drained: give the memory back */
    free(ov->q);
    free(ov->arena);
    ov->q = NULL;
    ov->arena = NULL;
    ov->q_head = ov->q_len = ov->q_cap = 0;
    ov->a_len = ov->a_cap = 0;
  }
  return true;
}

static void flush_dirty(struct overlay *ov) {
  if (ov->ring_dirty) {
    ov->ring_dirty = false;
    ov_push(ov, OV_ACT_RING_CHANGED, NULL, NULL, 0, 0, NULL, 0);
  }
}

/* ---- links ------------------------------------------------------------- */

/* links[] is kept sorted by ID: lookups are a binary search and greedy
 * routing walks back from the key (ov_next_hop), so a node with thousands
 * of links (a bootstrap node while a large network joins through it) costs
 * O(log n) per message, not O(n). */
unsigned ov_link_upper(const struct overlay *ov, const uint8_t id[RL_ID_LEN]) {
  unsigned lo = 0, hi = ov->n_links; /* first index whose ID is > id */
  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;
    if (ring_cmp(ov->links[mid].id, id) <= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

struct ov_link *ov_link_find(const struct overlay *ov, const uint8_t id[RL_ID_LEN]) {
  unsigned i = ov_link_upper(ov, id);
  if (i > 0 && ring_eq(ov->links[i - 1].id, id))
    return &ov->links[i - 1];
  return NULL;
}

bool ov_linked(const struct overlay *ov, const uint8_t id[RL_ID_LEN]) {
  const struct ov_link *l = ov_link_find(ov, id);
  return l && l->state == OV_LINK_UP;
}

static struct ov_link *link_add(struct overlay *ov, const uint8_t id[RL_ID_LEN]) {
  if (ov->n_links == ov->cap_links) {
    /* Degree is ~2 log2 N, and memory counts: grow by 8, or by a quarter
     * on a node holding many links. */
    unsigned cap = ov->cap_links + (ov->cap_links / 4 > 8 ? ov->cap_links / 4 : 8);
    struct ov_link *l = realloc(ov->links, cap * sizeof(*l));
    if (!l)
      return NULL;
    ov->links = l;
    ov->cap_links = cap;
  }
  unsigned i = ov_link_upper(ov, id); /* the caller checked: not present */
  memmove(&ov->links[i + 1], &ov->links[i], (ov->n_links - i) * sizeof(ov->links[0]));
  ov->n_links++;
  struct ov_link *l = &ov->links[i];
  memset(l, 0, sizeof(*l));
  memcpy(l->id, id, RL_ID_LEN);
  return l;
}

void ov_link_remove(struct overlay *ov, struct ov_link *l) {
  unsigned i = (unsigned)(l - ov->links);
  memmove(&ov->links[i], &ov->links[i + 1], (ov->n_links - i - 1) * sizeof(ov->links[0]));
  ov->n_links--;
}

struct ov_link *ov_connect(struct overlay *ov, const struct ov_node *n, uint64_t now) {
  if (ring_eq(n->id, ov->self.id))
    return NULL;
  struct ov_link *l = ov_link_find(ov, n->id);
  if (l)
    l->in_ring = true;
  if (l && l->state == OV_LINK_UP && !l->ours) {
    /* A link someone else opened (the bootstrap link, a data link) that the
     * ring now relies on: say so, so the node core keeps it until we send
     * OV_ACT_DISCONNECT. */
    l->ours = true;
    ov_push(ov, OV_ACT_CONNECT, n->id, NULL, 0, 0, n, sizeof(*n));
  }
  if (l)
    return l;
  l = link_add(ov, n->id);
  if (!l)
    return NULL;
  l->state = OV_LINK_CONNECTING;
  l->ours = true;
  l->in_ring = true;
  l->t = now + OV_CONNECT_TIMEOUT_NS;
  if (n->n_ep)
    l->ep = n->ep[0];
  ov_push(ov, OV_ACT_CONNECT, n->id, NULL, 0, 0, n, sizeof(*n));
  return l;
}

void ov_remember(struct overlay *ov, const struct ov_node *n) {
  if (!n->n_ep || ring_eq(n->id, ov->self.id))
    return; /* without an endpoint we could not reconnect anyway */
  for (unsigned i = 0; i < ov->n_remember; i++)
    if (ring_eq(ov->remember[i].id, n->id)) {
      ov->remember[i] = *n;
      return;
    }
  if (ov->n_remember < OV_REMEMBER) {
    ov->remember[ov->n_remember++] = *n;
    return;
  }
  ov->remember[ov->remember_next] = *n;
  ov->remember_next = (ov->remember_next + 1) % OV_REMEMBER;
}

static void link_up(struct overlay *ov, const uint8_t peer[RL_ID_LEN],
                    const struct rl_addr *ep, uint64_t rtt_ns, uint64_t now) {
  if (ring_eq(peer, ov->self.id))
    return;
  struct ov_link *l = ov_link_find(ov, peer);
  if (!l && !(l = link_add(ov, peer)))
    return;
  bool was_up = l->state == OV_LINK_UP;
  l->state = OV_LINK_UP;
  l->t = 0;
  if (!was_up)
    l->last_rx = now;
  if (rtt_ns)
    l->rtt_ns = rtt_ns;
  if (ep && ep->family != RL_AF_NONE) {
    l->ep = *ep;
    struct ov_node n = {.n_ep = 1};
    memcpy(n.id, peer, RL_ID_LEN);
    n.ep[0] = *ep;
    ov_remember(ov, &n);
  }
  if (!was_up && !ov->left)
    ov_on_link_up(ov, l, now);
}

void overlay_link_up(struct overlay *ov, const uint8_t peer[RL_ID_LEN],
                     const struct rl_addr *ep, uint64_t rtt_ns, uint64_t now) {
  ov->now = now;
  link_up(ov, peer, ep, rtt_ns, now);
  flush_dirty(ov);
}

void overlay_link_rtt(struct overlay *ov, const uint8_t peer[RL_ID_LEN], uint64_t rtt_ns) {
  struct ov_link *l = ov_link_find(ov, peer);
  if (l && rtt_ns)
    l->rtt_ns = rtt_ns;
}

void overlay_link_heard(struct overlay *ov, const uint8_t peer[RL_ID_LEN], uint64_t now) {
  struct ov_link *l = ov_link_find(ov, peer);
  if (l && l->state == OV_LINK_UP)
    l->last_heard = now;
}

void overlay_link_down(struct overlay *ov, const uint8_t peer[RL_ID_LEN], uint64_t now) {
  ov->now = now;
  struct ov_link *l = ov_link_find(ov, peer);
  if (l)
    ov_link_remove(ov, l);
  if (!ov->left)
    ov_on_link_down(ov, peer, now);
  flush_dirty(ov);
}

/* ---- join / leave / timers --------------------------------------------- */

static void arm_timers(struct overlay *ov, uint64_t now) {
  if (ov->next_stab == RL_TIME_NEVER)
    ov->next_stab = now + ov_jitter(ov, ov->cfg.stabilise_ns);
  if (ov->next_fix == RL_TIME_NEVER)
    ov->next_fix = now + ov_jitter(ov, ov->cfg.fix_fingers_ns);
  if (ov->next_heal == RL_TIME_NEVER)
    ov->next_heal = now + ov_jitter(ov, ov->cfg.heal_ns);
}

void overlay_join(struct overlay *ov, uint64_t now) {
  ov->now = now;
  if (ov->left)
    return;
  arm_timers(ov, now);
  if (ov->joined)
    /* Already in a ring: "join again" means look for a better place
     * through the links we have (the partition-heal lookup). */
    ov_heal_tick(ov, now);
  else
    ov_join(ov, now);
  flush_dirty(ov);
}

void overlay_leave(struct overlay *ov, uint64_t now) {
  ov->now = now;
  if (ov->left)
    return;
  ov_leave(ov, now);
  flush_dirty(ov);
}

uint64_t overlay_next_timer(const struct overlay *ov) {
  if (ov->left)
    return RL_TIME_NEVER;
  uint64_t t = ov->next_stab;
  if (ov->next_fix < t)
    t = ov->next_fix;
  if (ov->next_heal < t)
    t = ov->next_heal;
  return t;
}

void overlay_on_timer(struct overlay *ov, uint64_t now) {
  ov->now = now;
  if (ov->left)
    return;
  if (now >= ov->next_stab) {
    ov->next_stab = now + ov_jitter(ov, ov->cfg.stabilise_ns);
    ov_stabilise_tick(ov, now);
  }
  if (now >= ov->next_fix) {
    ov->next_fix = now + ov_jitter(ov, ov->cfg.fix_fingers_ns);
    ov_fingers_tick(ov, now);
  }
  if (now >= ov->next_heal) {
    ov->next_heal = now + ov_jitter(ov, ov->cfg.heal_ns);
    ov_heal_tick(ov, now);
  }
  flush_dirty(ov);
}

/* ---- messages ---------------------------------------------------------- */

int overlay_recv(struct overlay *ov, const uint8_t from[RL_ID_LEN],
                 const uint8_t *msg, size_t len, uint64_t now) {
  ov->now = now;
  struct ov_msg m;
  int rc = ov_msg_decode(&m, msg, len);
  if (rc < 0) {
    ov->stats.dropped_bad++;
    return rc;
  }
  if (ov->left)
    return RL_ESTATE;
  /* A message that arrived over a link proves the link is up, even if the
   * node core has not told us yet (replies go back over it). */
  if (!ov_linked(ov, from))
    link_up(ov, from, NULL, 0, now);
  struct ov_link *l = ov_link_find(ov, from);
  if (l) {
    l->in_ring |= !(m.type == OV_MSG_FIND && (m.flags & OV_F_JOIN) && ring_eq(m.node.id, from));
    l->last_rx = now;
  }
  switch (m.type) {
  case OV_MSG_FIND:
    rc = ov_recv_find(ov, from, &m, now);
    break;
  case OV_MSG_FIND_REPLY:
    rc = ov_recv_find_reply(ov, &m, now);
    break;
  case OV_MSG_ROUTED:
    rc = ov_recv_routed(ov, &m, now);
    break;
  case OV_MSG_BCAST:
    rc = ov_recv_bcast(ov, from, &m, now);
    break;
  default:
    rc = ov_recv_stab(ov, from, &m, now);
    break;
  }
  flush_dirty(ov);
  return rc;
}

int overlay_route(struct overlay *ov, const uint8_t key[RL_ID_LEN], int mode,
                  uint8_t app, const uint8_t *payload, size_t len, uint64_t now) {
  ov->now = now;
  if (ov->left)
    return RL_ESTATE;
  if (len > OV_APP_MAX)
    return RL_ETOOBIG;
  if (mode != OV_ROUTE_OWNER && mode != OV_ROUTE_EXACT)
    return RL_EINVAL;
  struct ov_msg m;
  m.type = OV_MSG_ROUTED;
  m.flags = mode == OV_ROUTE_EXACT ? OV_F_EXACT : 0;
  m.ttl = ov->cfg.max_ttl;
  m.hops = 0;
  memcpy(m.src, ov->self.id, RL_ID_LEN);
  memcpy(m.target, key, RL_ID_LEN);
  m.app = app;
  m.payload = payload;
  m.len = len;
  ov->stats.routed++;
  ov_route_prepare(ov, &m, now);
  int rc = ov_recv_routed(ov, &m, now);
  flush_dirty(ov);
  return rc;
}

/* ---- views ------------------------------------------------------------- */

void overlay_ring_info(const struct overlay *ov, struct ov_ring_info *out) {
  memset(out, 0, sizeof(*out));
  out->joined = ov->joined;
  out->has_pred = ov->has_pred;
  if (ov->has_pred)
    memcpy(out->pred, ov->pred.id, RL_ID_LEN);
  out->n_succ = ov->n_succ;
  for (unsigned i = 0; i < ov->n_succ; i++)
    memcpy(out->succ[i], ov->succ[i].id, RL_ID_LEN);
  /* One pass over the links (this runs on every ring change). */
  const struct ov_link *best[OV_SLOTS] = {0};
  ov_best_per_slot(ov, best);
  for (int k = OV_SLOTS - 1; k >= 0 && out->n_shortcuts < 64; k--)
    if (best[k])
      memcpy(out->shortcuts[out->n_shortcuts++], best[k]->id, RL_ID_LEN);
  out->estimated_n = ov_estimate_n(ov);
}

bool overlay_is_owner(const struct overlay *ov, const uint8_t key[RL_ID_LEN]) {
  if (!ov->joined || ov->left)
    return false;
  if (ring_eq(key, ov->self.id))
    return true;
  if (ov->n_succ == 0)
    return true; /* a ring of one owns everything */
  return ov->has_pred && ring_between(ov->pred.id, key, ov->self.id);
}

void overlay_stats(const struct overlay *ov, struct ov_stats *out) { *out = ov->stats; }
