/* The local host's multicast groups and the querier on its TAP segment
 * (why the node is the querier: tap/mcast.h). Sans-I/O: time is an
 * argument, nothing is sent from here. */
#include <string.h>

#include "tap/mcast.h"

static unsigned fam_ix(uint8_t family) { return family == 6 ? 1 : 0; }

static bool same_key(const struct tap_mcast_rec *a, const struct tap_mcast_rec *b) {
  if (a->family != b->family || a->n_vlan != b->n_vlan ||
      memcmp(a->addr, b->addr, TAP_IPV6_LEN) != 0)
    return false;
  for (unsigned i = 0; i < a->n_vlan && i < TAP_MAX_VLAN; i++)
    if (a->vlan[i].tpid != b->vlan[i].tpid || a->vlan[i].tci != b->vlan[i].tci)
      return false;
  return true;
}

void tap_mcast_table_init(struct tap_mcast_table *t, bool v4, bool v6, uint64_t now) {
  memset(t, 0, sizeof(*t));
  t->family_on[0] = v4;
  t->family_on[1] = v6;
  for (unsigned f = 0; f < 2; f++) {
    t->next_gq[f] = t->family_on[f] ? now : UINT64_MAX;
    t->startup_left[f] = TAP_MCAST_SQC - 1;
  }
}

static struct tap_mcast_group *find(struct tap_mcast_table *t, const struct tap_mcast_rec *k) {
  for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++)
    if (t->g[i].used && same_key(&t->g[i].key, k))
      return &t->g[i];
  return NULL;
}

static void drop_if_done(struct tap_mcast_group *g) {
  /* Left and the node never heard of it (or was told): the slot is free
   * once nothing is owed to the node. */
  if (!g->member && !g->announced)
    memset(g, 0, sizeof(*g));
}

static void apply_one(struct tap_mcast_table *t, const struct tap_mcast_rec *r, uint64_t now) {
  struct tap_mcast_rec k = *r;
  k.op = 0;
  if (k.n_vlan > TAP_MAX_VLAN || (k.family != 4 && k.family != 6))
    return;
  struct tap_mcast_group *g = find(t, &k);
  switch (r->op) {
  case TAP_MCAST_JOIN:
    if (!g) {
      for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX && !g; i++)
        if (!t->g[i].used)
          g = &t->g[i];
      if (!g) {
        t->stats.refused_full++;
        return;
      }
      memset(g, 0, sizeof(*g));
      g->used = true;
      g->key = k;
    }
    g->member = true;
    g->expires = now + TAP_MCAST_GMI;
    g->gsq_left = 0;
    break;
  case TAP_MCAST_LEAVE:
    if (!g)
      return;
    g->member = false;
    g->gsq_left = 0;
    drop_if_done(g);
    break;
  case TAP_MCAST_CHECK:
    if (!g || !g->member)
      return;
    if (g->expires > now + TAP_MCAST_LMQT)
      g->expires = now + TAP_MCAST_LMQT;
    g->gsq_left = TAP_MCAST_LMQC;
    g->gsq_at = now;
    break;
  default:
    break;
  }
}

void tap_mcast_table_apply(struct tap_mcast_table *t, const struct tap_mcast_rec *recs,
                           size_t n, uint64_t now) {
  for (size_t i = 0; i < n; i++)
    apply_one(t, &recs[i], now);
}

static void expire(struct tap_mcast_table *t, uint64_t now) {
  for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++) {
    struct tap_mcast_group *g = &t->g[i];
    if (g->used && g->member && g->expires <= now) {
      g->member = false;
      g->gsq_left = 0;
      if (g->announced)
        t->stats.timeouts++;
      drop_if_done(g);
    }
  }
}

bool tap_mcast_table_event(struct tap_mcast_table *t, uint64_t now, struct tap_mcast_rec *ev) {
  expire(t, now);
  for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++) {
    struct tap_mcast_group *g = &t->g[i];
    if (!g->used || g->member == g->announced)
      continue;
    *ev = g->key;
    if (g->member) {
      ev->op = TAP_MCAST_JOIN;
      g->announced = true;
      t->stats.joins++;
    } else {
      ev->op = TAP_MCAST_LEAVE;
      t->stats.leaves++;
      memset(g, 0, sizeof(*g));
    }
    return true;
  }
  return false;
}

static void query_of(struct tap_mcast_query *q, const struct tap_mcast_rec *k, bool general) {
  memset(q, 0, sizeof(*q));
  q->family = k->family;
  q->n_vlan = k->n_vlan;
  memcpy(q->vlan, k->vlan, sizeof(q->vlan));
  if (!general)
    memcpy(q->group, k->addr, TAP_IPV6_LEN);
  q->max_resp_ms = general ? TAP_MCAST_QRI_MS : TAP_MCAST_LMQI_MS;
}

static bool same_vlans(const struct tap_mcast_rec *a, const struct tap_mcast_rec *b) {
  struct tap_mcast_rec x = *a, y = *b;
  memset(x.addr, 0, sizeof(x.addr));
  memset(y.addr, 0, sizeof(y.addr));
  x.op = y.op = 0;
  return same_key(&x, &y);
}

bool tap_mcast_table_query(struct tap_mcast_table *t, uint64_t now, struct tap_mcast_query *q) {
  /* A general query falls due: the untagged one, and one per VLAN tag
   * stack that holds groups of the family (marked on its groups). */
  for (unsigned f = 0; f < 2; f++) {
    if (!t->family_on[f] || t->next_gq[f] > now)
      continue;
    uint64_t step = t->startup_left[f] ? TAP_MCAST_SQI : TAP_MCAST_QI;
    if (t->startup_left[f])
      t->startup_left[f]--;
    /* Skipped intervals (the node was not called) are not made up for. */
    t->next_gq[f] = now - t->next_gq[f] >= step ? now + step : t->next_gq[f] + step;
    t->gq_untagged[f] = true;
    for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++)
      if (t->g[i].used && fam_ix(t->g[i].key.family) == f && t->g[i].key.n_vlan)
        t->g[i].gq_pending = true;
  }
  for (unsigned f = 0; f < 2; f++) {
    if (t->gq_untagged[f]) {
      struct tap_mcast_rec k = {.family = f ? 6 : 4};
      t->gq_untagged[f] = false;
      query_of(q, &k, true);
      t->stats.queries++;
      return true;
    }
  }
  for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++) {
    struct tap_mcast_group *g = &t->g[i];
    if (!g->used || !g->gq_pending)
      continue;
    for (unsigned j = i; j < TAP_MCAST_GROUPS_MAX; j++)
      if (t->g[j].used && t->g[j].gq_pending && t->g[j].key.family == g->key.family &&
          same_vlans(&t->g[j].key, &g->key))
        t->g[j].gq_pending = false;
    query_of(q, &g->key, true);
    t->stats.queries++;
    return true;
  }
  for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++) {
    struct tap_mcast_group *g = &t->g[i];
    if (!g->used || !g->member || !g->gsq_left || g->gsq_at > now)
      continue;
    g->gsq_left--;
    g->gsq_at = now + TAP_MCAST_LMQI_MS * 1000000ull;
    query_of(q, &g->key, false);
    t->stats.queries++;
    return true;
  }
  return false;
}

uint64_t tap_mcast_table_deadline(const struct tap_mcast_table *t) {
  uint64_t d = UINT64_MAX;
  for (unsigned f = 0; f < 2; f++) {
    if (t->family_on[f] && t->next_gq[f] < d)
      d = t->next_gq[f];
    if (t->gq_untagged[f])
      d = 0;
  }
  for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++) {
    const struct tap_mcast_group *g = &t->g[i];
    if (!g->used)
      continue;
    if (g->gq_pending || g->member != g->announced)
      d = 0;
    if (g->member && g->expires < d)
      d = g->expires;
    if (g->member && g->gsq_left && g->gsq_at < d)
      d = g->gsq_at;
  }
  return d;
}

size_t tap_mcast_table_count(const struct tap_mcast_table *t) {
  size_t n = 0;
  for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++)
    n += t->g[i].used;
  return n;
}

bool tap_mcast_frame_group(const struct tap_frame_info *fi, struct tap_mcast_rec *k) {
  memset(k, 0, sizeof(*k));
  if (fi->ipv4 && (fi->ipv4_dst >> 28) == 0xe) {
    k->family = 4;
    k->addr[0] = (uint8_t)(fi->ipv4_dst >> 24);
    k->addr[1] = (uint8_t)(fi->ipv4_dst >> 16);
    k->addr[2] = (uint8_t)(fi->ipv4_dst >> 8);
    k->addr[3] = (uint8_t)fi->ipv4_dst;
  } else if (fi->ipv6 && fi->ipv6_dst[0] == 0xff) {
    k->family = 6;
    memcpy(k->addr, fi->ipv6_dst, TAP_IPV6_LEN);
  } else {
    return false;
  }
  k->n_vlan = fi->n_vlan < TAP_MAX_VLAN ? fi->n_vlan : TAP_MAX_VLAN;
  for (unsigned i = 0; i < k->n_vlan; i++) {
    k->vlan[i].tpid = fi->vlan[i].tpid;
    k->vlan[i].tci = fi->vlan[i].tci & 0x0fff;
  }
  return true;
}

bool tap_mcast_table_wants(const struct tap_mcast_table *t, const struct tap_frame_info *fi,
                           uint64_t now) {
  struct tap_mcast_rec k;
  if (!tap_mcast_frame_group(fi, &k))
    return false;
  for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++)
    if (t->g[i].used && t->g[i].member && t->g[i].expires > now && same_key(&t->g[i].key, &k))
      return true;
  return false;
}
