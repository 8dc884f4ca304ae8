/* Broadcast over the ring: a tree cut from the links every member already
 * has (El-Ansary et al., "Efficient broadcast in structured P2P networks",
 * IPTPS 2003; docs/overlay.md, "Broadcast tree").
 *
 * A copy carries a limit: its receiver is responsible for the arc (self,
 * limit). It hands each of its ring links inside that arc, in clockwise
 * order, the arc from that link up to the next one (the last gets the rest
 * of the arc up to limit). Arcs are disjoint and every member of an arc is
 * either the link it was given to or inside that link's own arc, so with a
 * correct ring view each member receives exactly one copy: N members, N-1
 * transmissions. With Chord shortcuts each arc at least halves per level,
 * so the depth is O(log N). The origin's arc is the whole ring but itself.
 *
 * Each copy carries its ID (origin, epoch, seq). A member keeps per origin
 * the last OV_BCAST_WINDOW seqs of the current epoch: a copy it already
 * took (two arcs overlapping while the ring changes) is dropped. The check
 * hook runs before anything else is done with a copy, the rate check after
 * it (a forged copy must not spend the origin's tokens). */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/ov_internal.h"

/* ---- per-origin state --------------------------------------------------- */

static struct ov_borigin *origin_find(const struct overlay *ov, const uint8_t id[RL_ID_LEN]) {
  for (unsigned i = 0; i < ov->n_bc_origins; i++)
    if (ring_eq(ov->bc_origins[i].id, id))
      return &ov->bc_origins[i];
  return NULL;
}

static struct ov_borigin *origin_add(struct overlay *ov, const uint8_t id[RL_ID_LEN]) {
  struct ov_borigin *o;
  if (ov->n_bc_origins == ov->cap_bc_origins && ov->cap_bc_origins < OV_BCAST_ORIGINS) {
    unsigned cap = ov->cap_bc_origins ? 2 * ov->cap_bc_origins : 4;
    if (cap > OV_BCAST_ORIGINS)
      cap = OV_BCAST_ORIGINS;
    struct ov_borigin *t = realloc(ov->bc_origins, cap * sizeof(*t));
    if (t) {
      ov->bc_origins = t;
      ov->cap_bc_origins = cap;
    }
  }
  if (ov->n_bc_origins < ov->cap_bc_origins) {
    o = &ov->bc_origins[ov->n_bc_origins++];
  } else if (ov->n_bc_origins > 0) { /* full: the least recently heard goes */
    o = &ov->bc_origins[0];
    for (unsigned i = 1; i < ov->n_bc_origins; i++)
      if (ov->bc_origins[i].used < o->used)
        o = &ov->bc_origins[i];
  } else {
    return NULL; /* out of memory with an empty table */
  }
  memset(o, 0, sizeof(*o));
  memcpy(o->id, id, RL_ID_LEN);
  return o;
}

enum { SEEN_NEW = 0, SEEN_DUP, SEEN_STALE };

/* Read-only: has this ID been taken? o may be NULL (origin never heard). */
static int seen_test(const struct ov_borigin *o, uint32_t epoch, uint32_t seq) {
  if (!o || !o->epoch_set || o->epoch != epoch)
    return SEEN_NEW; /* a new epoch is a restarted origin */
  int32_t ahead = (int32_t)(seq - o->top);
  if (ahead > 0)
    return SEEN_NEW;
  uint32_t d = (uint32_t)-ahead;
  if (d >= OV_BCAST_WINDOW)
    return SEEN_STALE;
  return (o->win[d / 64] >> (d % 64)) & 1 ? SEEN_DUP : SEEN_NEW;
}

static void seen_mark(struct ov_borigin *o, uint32_t epoch, uint32_t seq) {
  /* A slot new to this origin starts a window at seq whatever the epoch
   * (a fresh slot's zeroed epoch must not pass for epoch 0 with top 0: a
   * copy of epoch 0 far below seq 0 wrote past the window; fuzz_ov_msg). */
  if (!o->epoch_set || o->epoch != epoch) {
    o->epoch_set = true;
    o->epoch = epoch;
    o->top = seq;
    memset(o->win, 0, sizeof(o->win));
    o->win[0] = 1;
    return;
  }
  int32_t ahead = (int32_t)(seq - o->top);
  if (ahead > 0) { /* slide the window up by `ahead` */
    uint32_t sh = (uint32_t)ahead;
    if (sh >= OV_BCAST_WINDOW) {
      memset(o->win, 0, sizeof(o->win));
    } else {
      unsigned words = sh / 64, bits = sh % 64;
      for (int i = OV_BCAST_WINDOW / 64 - 1; i >= 0; i--) {
        uint64_t v = 0;
        int src = i - (int)words;
        if (src >= 0) {
          v = o->win[src] << bits;
          if (bits && src > 0)
            v |= o->win[src - 1] >> (64 - bits);
        }
        o->win[i] = v;
      }
    }
    o->top = seq;
    o->win[0] |= 1;
    return;
  }
  uint32_t d = (uint32_t)-ahead;
  if (d < OV_BCAST_WINDOW) /* (seen_test called it stale otherwise) */
    o->win[d / 64] |= 1ULL << (d % 64);
}

/* GCRA: one broadcast costs 1/rate seconds of credit, at most `burst`
 * of them ahead of time. */
static bool rate_take(uint64_t *tat, uint64_t now, uint32_t rate, uint32_t burst) {
  uint64_t t = NS_PER_S / rate;
  uint64_t tau = (uint64_t)burst * t;
  uint64_t next = (*tat > now ? *tat : now) + t;
  if (next - now > tau)
    return false;
  *tat = next;
  return true;
}

/* ---- the tree ----------------------------------------------------------- */

static void send_copy(struct overlay *ov, struct ov_msg *m, const uint8_t child[RL_ID_LEN],
                      const uint8_t limit[RL_ID_LEN]) {
  memcpy(m->target, limit, RL_ID_LEN);
  ov_push_send(ov, child, m);
  ov->stats.bcast_tx++;
}

/* Hands m on to our links inside (self, limit), each child with the arc
 * up to the next child. The children are the closest usable link in each
 * power-of-two distance from us (as Chord's fingers: at most 160, about
 * log2 N): a member with thousands of links (a bootstrap node everybody
 * keeps a link to) hands each copy to a few dozen children, not to every
 * link at once, which overflowed the action queue (OV_QUEUE_MAX) and cut
 * off the arcs of the copies that did not fit (simulator, N = 10^4: 94 %
 * coverage). The arcs still partition (self, limit), so every member in it
 * gets the copy once. m->hops is already the receivers' depth. */
static void fan_out(struct overlay *ov, struct ov_msg *m, const uint8_t limit[RL_ID_LEN]) {
  const uint8_t *self = ov->self.id;
  unsigned n = ov->n_links, at = ov_link_upper(ov, self);
  const struct ov_link *prev = NULL;
  int prev_bits = -1;
  if (at == n)
    at = 0; /* we have the highest ID: clockwise goes on from the lowest */
  for (unsigned step = 0; step < n; step++, at = (at + 1) % n) {
    const struct ov_link *l = &ov->links[at];
    uint8_t d[RL_ID_LEN];
    if (ring_eq(l->id, self))
      continue;
    /* Clockwise from self: once outside the arc, every later link is. */
    if (!ring_between(self, l->id, limit))
      break;
    if (!ov_link_usable(l))
      continue;
    ring_distance(self, l->id, d);
    int bits = ring_bitlen(d);
    if (bits == prev_bits)
      continue; /* a closer link of this distance is a child already */
    if (prev)
      send_copy(ov, m, prev->id, l->id);
    prev = l;
    prev_bits = bits;
  }
  if (prev)
    send_copy(ov, m, prev->id, limit);
}

int overlay_broadcast(struct overlay *ov, uint8_t app, const uint8_t *payload, size_t len,
                      uint64_t now) {
  ov->now = now;
  if (len > OV_APP_MAX)
    return RL_ETOOBIG;
  if (ov->left || !ov->joined)
    return RL_ESTATE;
  if (!rate_take(&ov->bc_tat, now, ov->cfg.bcast_rate, ov->cfg.bcast_burst)) {
    ov->stats.bcast_rate_dropped++;
    return RL_EAGAIN;
  }
  struct ov_msg m;
  m.type = OV_MSG_BCAST;
  m.flags = 0;
  m.hops = 1;
  memcpy(m.src, ov->self.id, RL_ID_LEN);
  overlay_bcast_next(ov, &m.epoch, &m.seq);
  ov->bc_seq++;
  m.app = app;
  m.payload = payload;
  m.len = len;
  ov->stats.bcast_sent++;
  fan_out(ov, &m, ov->self.id);
  return 0;
}

unsigned overlay_bcast_room(const struct overlay *ov, uint64_t now) {
  uint64_t t = NS_PER_S / ov->cfg.bcast_rate;
  uint64_t tau = (uint64_t)ov->cfg.bcast_burst * t;
  uint64_t used = ov->bc_tat > now ? ov->bc_tat - now : 0;
  if (ov->left || !ov->joined || used >= tau)
    return 0;
  return (unsigned)((tau - used) / t);
}

void overlay_bcast_next(struct overlay *ov, uint32_t *epoch, uint32_t *seq) {
  if (!ov->bc_epoch_set) { /* drawn on first use: creating an overlay draws nothing */
    ov->bc_epoch = rl_rand_u32(ov->cfg.env);
    ov->bc_epoch_set = true;
  }
  *epoch = ov->bc_epoch;
  *seq = ov->bc_seq;
}

/* Whether rate_take() would succeed now, without taking. */
static bool rate_room(uint64_t tat, uint64_t now, uint32_t rate, uint32_t burst) {
  uint64_t t = NS_PER_S / rate;
  return (tat > now ? tat : now) + t - now <= (uint64_t)burst * t;
}

int ov_recv_bcast(struct overlay *ov, const uint8_t from[RL_ID_LEN], struct ov_msg *m,
                  uint64_t now) {
  struct ov_link *fl = ov_link_find(ov, from);
  if (ring_eq(m->src, ov->self.id)) {
    ov->stats.bcast_dup++; /* our own, come back round a stale arc */
    return 0;
  }
  struct ov_borigin *o = origin_find(ov, m->src);
  int seen = seen_test(o, m->epoch, m->seq);
  if (seen != SEEN_NEW) {
    if (seen == SEEN_DUP)
      ov->stats.bcast_dup++;
    else
      ov->stats.bcast_stale++;
    return 0;
  }
  if (ov->cfg.bcast_check) {
    /* A link that brought more refused copies than OV_BCAST_BAD_RATE a
     * second is not checked for a while: the check (a signature) is the
     * cost a forger makes us pay. Honest links are refused rarely. */
    if (fl && !rate_room(fl->bc_bad_tat, now, OV_BCAST_BAD_RATE, OV_BCAST_BAD_BURST)) {
      ov->stats.bcast_link_dropped++;
      return RL_EREFUSED;
    }
    if (!ov->cfg.bcast_check(ov->cfg.bcast_ctx, m->src, m->epoch, m->seq, m->app, m->payload,
                             m->len, now)) {
      ov->stats.bcast_refused++;
      if (fl)
        (void)rate_take(&fl->bc_bad_tat, now, OV_BCAST_BAD_RATE, OV_BCAST_BAD_BURST);
      return RL_EREFUSED;
    }
  }
  if (!o && !(o = origin_add(ov, m->src)))
    return RL_ENOMEM;
  o->used = now ? now : 1;
  seen_mark(o, m->epoch, m->seq);
  /* Every member holds the origin to the rate its own node would: one
   * second of slack on top of the burst for copies that bunch on the way. */
  if (!rate_take(&o->tat, now, ov->cfg.bcast_rate, ov->cfg.bcast_burst + ov->cfg.bcast_rate)) {
    ov->stats.bcast_rate_dropped++;
    return RL_EAGAIN;
  }
  ov->stats.bcast_delivered++;
  ov_push(ov, OV_ACT_BCAST, m->src, NULL, m->app, m->hops, m->payload, m->len);
  if (m->hops < UINT8_MAX)
    m->hops++;
  uint8_t limit[RL_ID_LEN];
  memcpy(limit, m->target, RL_ID_LEN);
  /* A limit equal to our own ID would make our arc the whole ring: only
   * the origin's copy means that, and the origin is not us. */
  if (!ring_eq(limit, ov->self.id))
    fan_out(ov, m, limit);
  return 0;
}
