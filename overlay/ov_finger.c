/* Shortcuts (Chord fingers with proximity neighbour selection), releasing
 * links we no longer need, and the local estimate of the ring size.
 *
 * Finger slot k of node s is the ID range [s + 2^k, s + 2^(k+1)). Any node
 * in the slot halves the remaining distance just as well as Chord's exact
 * finger, so among the candidates we know for a slot we keep the one with
 * the lowest RTT (PNS). Slots are derived from the link table, not stored:
 * every linked node falls in exactly one slot. */
#include <string.h>

#include "overlay/ov_internal.h"

int ov_slot_of(const struct overlay *ov, const uint8_t id[RL_ID_LEN]) {
  uint8_t d[RL_ID_LEN];
  ring_distance(ov->self.id, id, d);
  return ring_bitlen(d) - 1; /* -1 for ourselves */
}

static uint64_t rtt_rank(const struct ov_link *l) {
  return l->rtt_ns ? l->rtt_ns : UINT64_MAX; /* unmeasured ranks last */
}

void ov_best_per_slot(const struct overlay *ov, const struct ov_link *best[OV_SLOTS]) {
  for (unsigned i = 0; i < ov->n_links; i++) {
    const struct ov_link *l = &ov->links[i];
    if (!l->ours || !ov_link_usable(l))
      continue;
    int k = ov_slot_of(ov, l->id);
    if (k >= 0 && (!best[k] || ov_link_better(l, best[k])))
      best[k] = l;
  }
}

bool ov_link_better(const struct ov_link *a, const struct ov_link *b) {
  return rtt_rank(a) < rtt_rank(b) || (rtt_rank(a) == rtt_rank(b) && ring_cmp(a->id, b->id) < 0);
}

/* Our own links (up or being set up) per slot, one pass over the table.
 * Links other nodes opened to us are used for routing but never count as
 * our shortcuts: their owner may release them at any time. */
static void slot_counts(const struct overlay *ov, uint8_t cnt[OV_SLOTS]) {
  memset(cnt, 0, OV_SLOTS);
  for (unsigned i = 0; i < ov->n_links; i++) {
    if (!ov->links[i].ours)
      continue;
    int k = ov_slot_of(ov, ov->links[i].id);
    if (k >= 0 && cnt[k] < UINT8_MAX)
      cnt[k]++;
  }
}

void ov_finger_candidates(struct overlay *ov, int slot, const struct ov_node *c,
                          unsigned n, uint64_t now) {
  if (slot < 0 || slot >= OV_SLOTS)
    return;
  unsigned have = 0;
  for (unsigned i = 0; i < ov->n_links; i++)
    have += ov->links[i].ours && ov_slot_of(ov, ov->links[i].id) == slot;
  const struct ov_node *fresh[OV_MAX_SUCC + 1];
  unsigned nf = 0;
  for (unsigned i = 0; i < n && nf < OV_MAX_SUCC + 1; i++)
    if (ov_slot_of(ov, c[i].id) == slot && !ov_link_find(ov, c[i].id))
      fresh[nf++] = &c[i];
  if (!nf)
    return;
  if (have == 0) {
    /* First finger for the slot: the first node after the slot start, as
     * in Chord; PNS refines it later. */
    ov_connect(ov, fresh[0], now);
  } else if (have < OV_PNS_LINKS && ov_probes(ov, slot) < OV_PNS_PROBES) {
    /* Measure one more candidate; the slower link is released by gc. */
    ov_probes_inc(ov, slot);
    ov_connect(ov, fresh[rl_rand_uniform(ov->cfg.env, nf)], now);
  }
}

/* Liveness of idle links (see OV_PING_IDLE_TICKS). */
static void ping_idle(struct overlay *ov, uint64_t now) {
  uint64_t ping_after = OV_PING_IDLE_TICKS * ov->cfg.fix_fingers_ns;
  uint64_t dead_after = OV_DEAD_IDLE_TICKS * ov->cfg.fix_fingers_ns;
  for (unsigned i = 0; i < ov->n_links; i++) {
    struct ov_link *l = &ov->links[i];
    if (l->state != OV_LINK_UP || !(l->in_ring || l->ours))
      continue;
    uint64_t seen = l->last_heard > l->last_rx ? l->last_heard : l->last_rx;
    uint64_t idle = now - seen;
    if (idle >= dead_after)
      l->in_ring = false;
    /* Pinged: links we asked for (also when taken out of routing, so that
     * they come back when the silence was only loss), and links we sent
     * over lately without hearing back (routing over a link the peer
     * opened: the peer hears us and never pings). A link that neither end
     * uses (a joiner's bootstrap link, one released by both) falls silent,
     * leaves routing after dead_after and is closed by the node core's
     * idle reaper; pinging every link instead kept such links alive for
     * ever, and a bootstrap node held a link to every member that ever
     * joined through it. Whoever's tick comes first refreshes the other
     * end, so an idle link costs about one PING/PONG per period. */
    bool used = l->ours || (l->in_ring && now - l->last_tx < dead_after);
    if (used && idle >= ping_after) {
      struct ov_msg m = {.type = OV_MSG_PING};
      ov_push_send(ov, l->id, &m);
    }
  }
}

void ov_fingers_tick(struct overlay *ov, uint64_t now) {
  if (!ov->joined || ov->n_succ == 0)
    return;
  ping_idle(ov, now);
  uint8_t cnt[OV_SLOTS];
  slot_counts(ov, cnt);
  /* Slots below succ[0]'s are empty by definition (it is our nearest). */
  int kmin = ov_slot_of(ov, ov->succ[0].id);
  if (kmin < 0)
    return;
  const uint8_t *last = ov->succ[ov->n_succ - 1].id;
  unsigned issued = 0;
  int k = (int)ov->finger_next;
  if (k < kmin || k >= OV_SLOTS)
    k = OV_SLOTS - 1;
  for (int steps = 0; steps < OV_SLOTS - kmin && issued < OV_FINGER_LOOKUPS_PER_TICK; steps++) {
    bool need = cnt[k] == 0 || (cnt[k] < OV_PNS_LINKS && ov_probes(ov, k) < OV_PNS_PROBES);
    if (need) {
      uint8_t target[RL_ID_LEN];
      ring_add_pow2(ov->self.id, (unsigned)k, target);
      if (ring_between(ov->self.id, target, last) || ring_eq(target, last)) {
        /* The slot starts inside our successor list: the candidates are
         * already known, no lookup needed. */
        struct ov_node c[OV_MAX_SUCC];
        unsigned nc = 0;
        for (unsigned i = 0; i < ov->n_succ; i++)
          if (ov_slot_of(ov, ov->succ[i].id) == k)
            c[nc++] = ov->succ[i];
        ov_finger_candidates(ov, k, c, nc, now);
      } else if (ov_find_start(ov, target, OV_LK_FINGER, (uint8_t)k, NULL, now) == 0) {
        issued++;
      }
    }
    k = k - 1 < kmin ? OV_SLOTS - 1 : k - 1;
  }
  ov->finger_next = (unsigned)k;
}

void ov_links_gc(struct overlay *ov, uint64_t now) {
  const struct ov_link *best[OV_SLOTS] = {0};
  ov_best_per_slot(ov, best);
  for (unsigned i = 0; i < ov->n_links; i++) {
    struct ov_link *l = &ov->links[i];
    if (l->state != OV_LINK_UP || !l->ours)
      continue; /* links the node core opened are not ours to close */
    bool needed = (ov->has_pred && ring_eq(l->id, ov->pred.id)) || l->want;
    for (unsigned j = 0; !needed && j < ov->n_succ && j < OV_LINKED_SUCC; j++)
      needed = ring_eq(l->id, ov->succ[j].id);
    if (!needed) {
      int k = ov_slot_of(ov, l->id);
      needed = k >= 0 && best[k] == l;
    }
    if (needed) {
      l->t = 0;
    } else if (l->t == 0) {
      l->t = now;
    } else if (now - l->t >= OV_LINK_GRACE_NS) {
      /* The entry stays while the link is up (the node core may keep it
       * for data); it is simply no longer ours to keep. */
      l->ours = false;
      l->t = 0;
      ov_push(ov, OV_ACT_DISCONNECT, l->id, NULL, 0, 0, NULL, 0);
    }
  }
}

uint64_t ov_estimate_n(const struct overlay *ov) {
  if (ov->n_succ == 0)
    return 1;
  /* r successors cover distance D of the 2^160 ring, so N ~ r 2^160 / D. */
  uint8_t d[RL_ID_LEN];
  ring_distance(ov->self.id, ov->succ[ov->n_succ - 1].id, d);
  double dist = ring_to_double(d);
  if (dist <= 0)
    return 1;
  double ring = 1461501637330902918203684832716283019655932542976.0; /* 2^160 */
  double n = (double)ov->n_succ * ring / dist;
  /* We know at least ourselves and our successors. (A list shorter than
   * n_successors may be a small ring that wrapped, or one being repaired:
   * the formula holds for both, so no special case.) */
  if (n < ov->n_succ + 1)
    return ov->n_succ + 1;
  if (n > 1e18)
    return (uint64_t)1e18;
  return (uint64_t)(n + 0.5);
}
