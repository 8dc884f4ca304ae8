/* Greedy routing: ROUTED application messages, FIND lookups and the
 * FIND_REPLY return path (docs/overlay.md, "Routing"). */
#include <ringlan/error.h>
#include <string.h>

#include "overlay/ov_internal.h"

/* links[] is sorted by ID: walking back (counter-clockwise) from the key
 * visits links in order of growing distance to it. Without any_up: the
 * first usable link in (self, key], the closest preceding node (once a
 * link falls outside that arc every later one does too). With any_up: the
 * first link that is up anywhere on the ring, closest preceding first. */
static const struct ov_link *preceding_link(const struct overlay *ov,
                                            const uint8_t key[RL_ID_LEN], const uint8_t *exclude,
                                            bool any_up) {
  unsigned n = ov->n_links, at = ov_link_upper(ov, key);
  for (unsigned step = 0; step < n; step++) {
    at = at == 0 ? n - 1 : at - 1;
    const struct ov_link *l = &ov->links[at];
    if (!any_up && !ring_between(ov->self.id, l->id, key) && !ring_eq(l->id, key))
      break;
    bool ok = any_up || !ov->joined ? l->state == OV_LINK_UP : ov_link_usable(l);
    if (ok && !(exclude && ring_eq(l->id, exclude)))
      return l;
  }
  return NULL;
}

/* The next hop toward key. Ownership is Chord's: a key belongs to its
 * successor, so we own (pred, self] and our successor owns (self, succ].
 * Otherwise the next hop is the linked node that most closely precedes the
 * key (clockwise), which strictly shrinks the remaining distance, so there
 * are no loops; *final tells the receiver it is the owner. */
int ov_next_hop(const struct overlay *ov, const uint8_t key[RL_ID_LEN],
                const uint8_t *exclude, uint8_t next[RL_ID_LEN], bool *final) {
  *final = false;
  if (ring_eq(key, ov->self.id))
    return OV_NEXT_DELIVER;
  /* The key is a node we hold a link to: straight there. (Our successor
   * list may skip it: a member that can reach its ring neighbours only
   * through a relay is not everyone's successor yet, and a message routed
   * to it exactly would otherwise end at the node after it. Any link that
   * is up will do: the message is for the peer itself, so whether it is a
   * ring member yet does not matter.) */
  const struct ov_link *kl = ov_link_find(ov, key);
  if (kl && kl->state == OV_LINK_UP && !(exclude && ring_eq(kl->id, exclude))) {
    memcpy(next, kl->id, RL_ID_LEN);
    *final = true;
    return OV_NEXT_FORWARD;
  }
  if (ov->joined) {
    if (ov->n_succ == 0)
      return OV_NEXT_DELIVER; /* a ring of one */
    if (ov->has_pred && ring_between(ov->pred.id, key, ov->self.id))
      return OV_NEXT_DELIVER;
    const uint8_t *s0 = ov->succ[0].id;
    if ((ring_between(ov->self.id, key, s0) || ring_eq(key, s0)) && ov_linked(ov, s0)) {
      memcpy(next, s0, RL_ID_LEN);
      *final = true;
      return OV_NEXT_FORWARD;
    }
  }
  const struct ov_link *best = preceding_link(ov, key, exclude, false);
  if (best) {
    memcpy(next, best->id, RL_ID_LEN);
    return OV_NEXT_FORWARD;
  }
  /* Nothing linked lies between us and the key (our successor is not
   * linked yet, e.g. during repair): the first linked successor is the
   * closest live node after the key we know of, so it is the owner. */
  for (unsigned i = 0; ov->joined && i < ov->n_succ; i++) {
    if (ov_linked(ov, ov->succ[i].id)) {
      memcpy(next, ov->succ[i].id, RL_ID_LEN);
      *final = true;
      return OV_NEXT_FORWARD;
    }
  }
  /* Last resort: no link to a known ring member leads anywhere (a member
   * whose ring neighbours it cannot link to may hold only its bootstrap
   * links and links others opened). Any link that is up, the closest
   * preceding one first: if it leads into the ring the message gets
   * through; if not, it is dropped there instead of here. */
  const struct ov_link *any = ov->joined ? preceding_link(ov, key, exclude, true) : NULL;
  if (any) {
    memcpy(next, any->id, RL_ID_LEN);
    return OV_NEXT_FORWARD;
  }
  return OV_NEXT_NONE;
}

/* Forwards m (ROUTED, FIND or FIND_REPLY) one hop: TTL and hop count. */
static int forward(struct overlay *ov, struct ov_msg *m, const uint8_t next[RL_ID_LEN],
                   bool final) {
  if (m->ttl == 0) {
    ov->stats.dropped_ttl++;
    return RL_ETIMEDOUT;
  }
  m->ttl--;
  if (m->hops < UINT8_MAX)
    m->hops++;
  m->flags = (uint8_t)((m->flags & ~OV_F_FINAL) | (final ? OV_F_FINAL : 0));
  ov->stats.forwarded++;
  ov_push_send(ov, next, m);
  return 0;
}

/* ---- routing through a node linked to the target (OV_F_VIA) ---- */

static int viac_find(const struct overlay *ov, const uint8_t id[RL_ID_LEN], uint64_t now) {
  for (unsigned i = 0; i < OV_VIAC; i++)
    if (ov->viac[i].at && now - ov->viac[i].at < OV_VIAC_NS && ring_eq(ov->viac[i].id, id))
      return (int)i;
  return -1;
}

/* src named via as its way in (it is not well linked into the ring). */
static void viac_put(struct overlay *ov, const uint8_t src[RL_ID_LEN],
                     const uint8_t via[RL_ID_LEN], uint64_t now) {
  int i = viac_find(ov, src, now);
  if (i < 0) {
    i = (int)ov->viac_next;
    ov->viac_next = (ov->viac_next + 1) % OV_VIAC;
  }
  memcpy(ov->viac[i].id, src, RL_ID_LEN);
  memcpy(ov->viac[i].via, via, RL_ID_LEN);
  ov->viac[i].at = now ? now : 1;
}

/* Not well linked into the ring: others' successor lists may skip us, so
 * messages routed to us may end at the node after us. */
static bool poorly_linked(const struct overlay *ov) {
  return !ov->has_pred || ov->n_succ == 0 || !ov_linked(ov, ov->succ[0].id);
}

void ov_route_prepare(struct overlay *ov, struct ov_msg *m, uint64_t now) {
  uint8_t next[RL_ID_LEN];
  bool final;
  int i;
  if ((m->flags & OV_F_EXACT) && !ov_linked(ov, m->target) &&
      (i = viac_find(ov, m->target, now)) >= 0 && !ring_eq(ov->viac[i].via, ov->self.id)) {
    m->flags |= OV_F_VIA | OV_F_THROUGH;
    memcpy(m->via, ov->viac[i].via, RL_ID_LEN);
    return;
  }
  /* Name our first hop (linked to us) as the way back. */
  if (ov->joined && poorly_linked(ov) &&
      ov_next_hop(ov, m->target, NULL, next, &final) == OV_NEXT_FORWARD &&
      !ring_eq(next, m->target)) {
    m->flags |= OV_F_VIA;
    memcpy(m->via, next, RL_ID_LEN);
  }
}

/* A THROUGH message: to via, which hands it to target over its link. */
static int route_through(struct overlay *ov, struct ov_msg *m) {
  uint8_t next[RL_ID_LEN];
  bool final;
  const struct ov_link *tl = ov_link_find(ov, m->target);
  if (tl && tl->state == OV_LINK_UP)
    return forward(ov, m, m->target, true);
  if (ring_eq(m->via, ov->self.id) ||
      ov_next_hop(ov, m->via, NULL, next, &final) != OV_NEXT_FORWARD) {
    ov->stats.dropped_no_route++; /* via lost its link to the target */
    return RL_ENOENT;
  }
  return forward(ov, m, next, false); /* (final would mean "deliver") */
}

int ov_recv_routed(struct overlay *ov, struct ov_msg *m, uint64_t now) {
  bool exact = m->flags & OV_F_EXACT, final;
  uint8_t next[RL_ID_LEN];
  int d;
  if ((m->flags & OV_F_THROUGH) && !ring_eq(m->target, ov->self.id) &&
      !(m->flags & OV_F_FINAL))
    return route_through(ov, m);
  d = ov_next_hop(ov, m->target, NULL, next, &final);
  if (m->flags & OV_F_FINAL)
    d = OV_NEXT_DELIVER; /* the previous hop knew we are the owner */
  if (d == OV_NEXT_DELIVER) {
    if (exact && !ring_eq(m->target, ov->self.id)) {
      ov->stats.dropped_no_route++; /* no node has exactly this ID */
      return RL_ENOENT;
    }
    if ((m->flags & (OV_F_VIA | OV_F_THROUGH)) == OV_F_VIA && !ring_eq(m->src, ov->self.id))
      viac_put(ov, m->src, m->via, now);
    ov->stats.delivered++;
    ov_push(ov, OV_ACT_DELIVER, m->src, m->target, m->app, m->hops, m->payload, m->len);
    return 0;
  }
  if (d == OV_NEXT_NONE) {
    ov->stats.dropped_no_route++;
    return RL_ENOENT;
  }
  /* For exact delivery, a "final" hop that is not the target means we
   * believe the target owns nothing between us: it may still be alive but
   * not linked to us (behind a NAT, or repair under way). Hand the message
   * on without the final mark; the next node, whose predecessor the target
   * is, may hold a link to it. TTL bounds any detour. */
  if (exact && final && !ring_eq(next, m->target))
    final = false;
  return forward(ov, m, next, final);
}

/* ---- lookups ----------------------------------------------------------- */

/* Answers a FIND for target from local state, if we can: we own it, or it
 * falls between us and our successor (Chord's find_successor shortcut:
 * the predecessor of the owner answers, saving the last hop). */
static bool find_answer(const struct overlay *ov, const uint8_t target[RL_ID_LEN],
                        bool force_self, struct ov_msg *r) {
  r->type = OV_MSG_FIND_REPLY;
  r->flags = 0;
  r->n_succ = 0;
  if (force_self || ov->n_succ == 0 || ring_eq(target, ov->self.id) ||
      (ov->has_pred && ring_between(ov->pred.id, target, ov->self.id))) {
    r->node = ov->self;
    if (ov->has_pred) {
      r->flags |= OV_F_HAS_PRED;
      r->pred = ov->pred;
    }
    for (unsigned i = 0; i < ov->n_succ && i < OV_MAX_SUCC; i++)
      r->succ[r->n_succ++] = ov->succ[i];
    return true;
  }
  if (ring_between(ov->self.id, target, ov->succ[0].id) || ring_eq(target, ov->succ[0].id)) {
    r->node = ov->succ[0];
    r->flags |= OV_F_HAS_PRED;
    r->pred = ov->self;
    for (unsigned i = 1; i < ov->n_succ && i < OV_MAX_SUCC; i++)
      r->succ[r->n_succ++] = ov->succ[i];
    return true;
  }
  return false;
}

static struct ov_lookup *lookup_take(struct overlay *ov, uint32_t nonce, struct ov_lookup *out) {
  for (unsigned i = 0; i < ov->n_lookups; i++) {
    if (ov->lookups[i].nonce == nonce) {
      *out = ov->lookups[i];
      ov->lookups[i] = ov->lookups[--ov->n_lookups];
      return out;
    }
  }
  return NULL;
}

/* Moves a FIND_REPLY toward its origin: directly if we are linked to it,
 * else routed to `via` (the origin's first hop, linked to the origin). */
static int route_reply(struct overlay *ov, struct ov_msg *m, uint64_t now) {
  if (ring_eq(m->dest, ov->self.id)) {
    struct ov_lookup lk;
    if (lookup_take(ov, m->nonce, &lk))
      ov_lookup_done(ov, &lk, m, now);
    return 0; /* an unknown nonce is a late answer, not an error */
  }
  if (ov_linked(ov, m->dest))
    return forward(ov, m, m->dest, false);
  uint8_t next[RL_ID_LEN];
  bool final;
  int d = ov_next_hop(ov, m->via, NULL, next, &final);
  if (ring_eq(m->via, ov->self.id) || (m->flags & OV_F_FINAL) || d != OV_NEXT_FORWARD) {
    ov->stats.dropped_no_route++; /* the origin's link went away */
    return RL_ENOENT;
  }
  return forward(ov, m, next, final);
}

int ov_recv_find_reply(struct overlay *ov, struct ov_msg *m, uint64_t now) {
  return route_reply(ov, m, now);
}

static void reply_to(struct overlay *ov, const struct ov_msg *q, struct ov_msg *r,
                     uint64_t now) {
  r->ttl = ov->cfg.max_ttl;
  r->hops = 0;
  r->nonce = q->nonce;
  memcpy(r->dest, q->node.id, RL_ID_LEN);
  memcpy(r->via, q->via, RL_ID_LEN);
  memcpy(r->target, q->target, RL_ID_LEN);
  route_reply(ov, r, now);
}

int ov_recv_find(struct overlay *ov, const uint8_t from[RL_ID_LEN], struct ov_msg *m,
                 uint64_t now) {
  struct ov_msg r;
  if (!ov->joined) {
    /* Two fresh nodes bootstrapping off each other would each drop the
     * other's join: the lower ID becomes the seed and answers. Only for a
     * join that comes straight from the joiner: one routed to us by a ring
     * member (whose link to us is up before our own join lookup reaches
     * it) must not make us the seed of a second, separate ring. */
    if (ov->n_succ == 0 && (m->flags & OV_F_JOIN) && ring_eq(from, m->node.id) &&
        ring_cmp(m->node.id, ov->self.id) > 0) {
      ov->joined = true;
      ov->ring_dirty = true;
      for (unsigned i = 0; i < ov->n_lookups;)
        if (ov->lookups[i].kind == OV_LK_JOIN)
          ov->lookups[i] = ov->lookups[--ov->n_lookups];
        else
          i++;
    } else {
      ov->stats.dropped_no_route++;
      return RL_ESTATE;
    }
  }
  if (ring_eq(m->node.id, ov->self.id)) {
    ov->stats.dropped_bad++; /* our own lookup came back: ID clash or loop */
    return RL_EPARSE;
  }
  if (find_answer(ov, m->target, m->flags & OV_F_FINAL, &r)) {
    reply_to(ov, m, &r, now);
    return 0;
  }
  uint8_t next[RL_ID_LEN];
  bool final;
  /* Never back to the origin: a joiner is linked to its bootstrap node
   * and, its ID being the target, would look like the perfect next hop. */
  int d = ov_next_hop(ov, m->target, m->node.id, next, &final);
  if (d == OV_NEXT_DELIVER) {
    find_answer(ov, m->target, true, &r);
    reply_to(ov, m, &r, now);
    return 0;
  }
  if (d == OV_NEXT_NONE) {
    ov->stats.dropped_no_route++;
    return RL_ENOENT;
  }
  return forward(ov, m, next, final);
}

int ov_find_start(struct overlay *ov, const uint8_t target[RL_ID_LEN], uint8_t kind,
                  uint8_t slot, const uint8_t *first_hop, uint64_t now) {
  struct ov_msg m;
  struct ov_lookup lk = {.kind = kind, .slot = slot, .deadline = now + OV_LOOKUP_TIMEOUT_NS};
  uint8_t next[RL_ID_LEN];
  bool final = false;
  if (ov->n_lookups >= OV_LOOKUPS_MAX)
    return RL_EFULL;
  lk.nonce = rl_rand_u32(ov->cfg.env);
  if (first_hop) {
    if (!ov_linked(ov, first_hop))
      return RL_ESTATE;
    memcpy(next, first_hop, RL_ID_LEN);
  } else {
    if (ov->joined && find_answer(ov, target, false, &m)) {
      ov_lookup_done(ov, &lk, &m, now); /* we know the answer ourselves */
      return 0;
    }
    int d = ov_next_hop(ov, target, NULL, next, &final);
    if (d == OV_NEXT_DELIVER && ov->joined) {
      find_answer(ov, target, true, &m);
      ov_lookup_done(ov, &lk, &m, now);
      return 0;
    }
    if (d != OV_NEXT_FORWARD)
      return RL_ENOENT;
  }
  m.type = OV_MSG_FIND;
  m.flags = (uint8_t)((kind == OV_LK_JOIN ? OV_F_JOIN : 0) | (final ? OV_F_FINAL : 0));
  m.ttl = ov->cfg.max_ttl;
  m.hops = 0;
  m.nonce = lk.nonce;
  memcpy(m.target, target, RL_ID_LEN);
  memcpy(m.via, next, RL_ID_LEN);
  m.node = ov->self;
  ov->lookups[ov->n_lookups++] = lk;
  ov_push_send(ov, next, &m);
  return 0;
}
