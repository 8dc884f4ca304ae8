/* Ring maintenance: join, Chord stabilise/notify, successor-list repair,
 * graceful leave and partition healing (docs/overlay.md, "Algorithms"). */
#include <ringlan/error.h>
#include <string.h>

#include "overlay/ov_internal.h"

void ov_self_desc(const struct overlay *ov, struct ov_node *out) { *out = ov->self; }

/* Replaces the successor list: drops duplicates, stops at ourselves (in a
 * ring smaller than the list the entries after us repeat), truncates. */
void ov_succ_set(struct overlay *ov, const struct ov_node *list, unsigned n) {
  struct ov_node tmp[OV_MAX_SUCC];
  unsigned m = 0;
  for (unsigned i = 0; i < n && m < ov->cfg.n_successors; i++) {
    if (ring_eq(list[i].id, ov->self.id))
      break;
    bool dup = false;
    for (unsigned j = 0; j < m && !dup; j++)
      dup = ring_eq(tmp[j].id, list[i].id);
    if (!dup)
      tmp[m++] = list[i];
  }
  bool same = m == ov->n_succ;
  for (unsigned i = 0; same && i < m; i++)
    same = ring_eq(tmp[i].id, ov->succ[i].id);
  if (!same)
    ov->ring_dirty = true;
  if (m)
    memcpy(ov->succ, tmp, m * sizeof(tmp[0]));
  ov->n_succ = m;
  for (unsigned i = 0; i < m; i++) {
    struct ov_link *l = ov_link_find(ov, tmp[i].id);
    if (l)
      l->in_ring = true;
  }
}

void ov_succ_remove(struct overlay *ov, const uint8_t id[RL_ID_LEN]) {
  unsigned m = 0;
  for (unsigned i = 0; i < ov->n_succ; i++)
    if (!ring_eq(ov->succ[i].id, id))
      ov->succ[m++] = ov->succ[i];
  if (m != ov->n_succ)
    ov->ring_dirty = true;
  ov->n_succ = m;
}

static void set_pred_at(struct overlay *ov, const struct ov_node *p, uint64_t now) {
  if (p && (!ov->has_pred || !ring_eq(ov->pred.id, p->id)))
    ov->pred_since = now;
}

static void set_pred(struct overlay *ov, const struct ov_node *p) {
  if (!p || ring_eq(p->id, ov->self.id)) {
    if (ov->has_pred)
      ov->ring_dirty = true;
    ov->has_pred = false;
    return;
  }
  if (!ov->has_pred || !ring_eq(ov->pred.id, p->id))
    ov->ring_dirty = true;
  ov->has_pred = true;
  ov->pred = *p;
  struct ov_link *l = ov_link_find(ov, p->id);
  if (l)
    l->in_ring = true;
}

static void send_notify(struct overlay *ov, const uint8_t to[RL_ID_LEN], bool as_succ) {
  struct ov_msg m;
  m.type = OV_MSG_NOTIFY;
  m.flags = as_succ ? OV_F_AS_SUCC : 0;
  m.node = ov->self;
  ov_push_send(ov, to, &m);
}

/* Keeps links to the first OV_LINKED_SUCC successors, and further down
 * the list until one of them is up: after a crash of several consecutive
 * nodes the first entries may all be dead, and waiting for each connect to
 * time out in turn would stall stabilise for many periods. */
static void ensure_succ_links(struct overlay *ov, uint64_t now) {
  unsigned up = 0;
  for (unsigned i = 0; i < ov->n_succ; i++) {
    if (i >= OV_LINKED_SUCC && up)
      break;
    struct ov_node n = ov->succ[i];
    const struct ov_link *l = ov_connect(ov, &n, now);
    up += l && l->state == OV_LINK_UP;
  }
}

/* The first successor we have a link to (-1: none). Entries before it are
 * links being set up; a dead one would otherwise stall stabilise for the
 * whole connect timeout. */
static int first_linked_succ(const struct overlay *ov) {
  for (unsigned i = 0; i < ov->n_succ; i++)
    if (ov_linked(ov, ov->succ[i].id))
      return (int)i;
  return -1;
}

/* Chord's stabilise step toward the successor: notify it (so it can adopt
 * us as predecessor) and ask for its predecessor and successor list. */
void ov_stabilise_with_succ(struct overlay *ov, uint64_t now) {
  int i = first_linked_succ(ov);
  if (i < 0)
    return;
  uint8_t to[RL_ID_LEN];
  memcpy(to, ov->succ[i].id, RL_ID_LEN);
  if (!ring_eq(ov->stab_peer, to)) {
    memcpy(ov->stab_peer, to, RL_ID_LEN);
    ov->stab_since = now;
  }
  send_notify(ov, to, false);
  struct ov_msg m = {.type = OV_MSG_GET_PRED};
  ov_push_send(ov, to, &m);
}

/* With no successor left, the closest linked node clockwise is the best
 * guess; stabilise corrects it. `skip` (may be NULL) is a node going away. */
static void fallback_succ(struct overlay *ov, const uint8_t *skip) {
  const struct ov_link *best = NULL;
  uint8_t bd[RL_ID_LEN], d[RL_ID_LEN];
  for (unsigned i = 0; i < ov->n_links; i++) {
    const struct ov_link *l = &ov->links[i];
    if (!ov_link_usable(l) || (skip && ring_eq(l->id, skip)))
      continue;
    ring_distance(ov->self.id, l->id, d);
    if (!best || memcmp(d, bd, RL_ID_LEN) < 0) {
      best = l;
      memcpy(bd, d, RL_ID_LEN);
    }
  }
  if (!best)
    return;
  struct ov_node n = {.n_ep = best->ep.family ? 1 : 0};
  memcpy(n.id, best->id, RL_ID_LEN);
  n.ep[0] = best->ep;
  ov_succ_set(ov, &n, 1);
}

static void repair(struct overlay *ov, const uint8_t *skip, uint64_t now) {
  if (!ov->joined)
    return;
  if (ov->n_succ == 0)
    fallback_succ(ov, skip);
  ensure_succ_links(ov, now);
  ov_stabilise_with_succ(ov, now);
}

static void join_attempt(struct overlay *ov, uint64_t now) {
  unsigned up = 0;
  for (unsigned i = 0; i < ov->n_links; i++)
    up += ov->links[i].state == OV_LINK_UP;
  if (!up)
    return;
  unsigned pick = rl_rand_uniform(ov->cfg.env, up);
  for (unsigned i = 0; i < ov->n_links; i++) {
    if (ov->links[i].state == OV_LINK_UP && pick-- == 0) {
      uint8_t hop[RL_ID_LEN];
      memcpy(hop, ov->links[i].id, RL_ID_LEN);
      ov_find_start(ov, ov->self.id, OV_LK_JOIN, 0, hop, now);
      return;
    }
  }
}

void ov_join(struct overlay *ov, uint64_t now) {
  unsigned up = 0;
  for (unsigned i = 0; i < ov->n_links; i++)
    up += ov->links[i].state == OV_LINK_UP;
  if (up == 0) {
    ov->joined = true; /* nobody to ask: we are the first node */
    ov->ring_dirty = true;
    return;
  }
  join_attempt(ov, now);
}

static void join_done(struct overlay *ov, const struct ov_msg *r, uint64_t now) {
  if (ov->joined || ring_eq(r->node.id, ov->self.id))
    return;
  struct ov_node list[OV_MAX_SUCC + 1];
  unsigned n = 0;
  list[n++] = r->node;
  for (unsigned i = 0; i < r->n_succ; i++)
    list[n++] = r->succ[i];
  ov_succ_set(ov, list, n);
  if (ov->n_succ == 0)
    return;
  if (r->flags & OV_F_HAS_PRED) {
    set_pred_at(ov, &r->pred, now);
    set_pred(ov, &r->pred);
  }
  ov->joined = true;
  ov->ring_dirty = true;
  /* Joins that overlap can hand out stale answers and leave two
   * interleaved cycles that stabilise alone never untangles; an early
   * heal lookup (through a long link, once we have one) catches that. */
  ov->next_heal = now + ov_jitter(ov, OV_EARLY_HEAL_NS);
  ensure_succ_links(ov, now);
  if (ov->has_pred) {
    struct ov_node p = ov->pred;
    ov_connect(ov, &p, now);
    if (ov_linked(ov, p.id))
      send_notify(ov, p.id, true);
  }
  ov_stabilise_with_succ(ov, now);
}

static void heal_done(struct overlay *ov, const struct ov_msg *r, uint64_t now) {
  const struct ov_node *o = &r->node;
  if (!ov->joined || ring_eq(o->id, ov->self.id))
    return; /* the ring we asked already knows us: consistent */
  if (ov->n_succ && ring_eq(o->id, ov->succ[0].id))
    return;
  if (ov->n_succ == 0 || ring_between(ov->self.id, o->id, ov->succ[0].id)) {
    /* A closer successor we did not know: adopt it; stabilise merges. */
    struct ov_node list[OV_MAX_SUCC + 1];
    unsigned n = 0;
    list[n++] = *o;
    for (unsigned i = 0; i < ov->n_succ; i++)
      list[n++] = ov->succ[i];
    ov_succ_set(ov, list, n);
    repair(ov, NULL, now);
    return;
  }
  /* Another ring places us before o: tell o, whose predecessor will then
   * pick us up as its successor via stabilise, zipping the rings. */
  struct ov_link *l = ov_connect(ov, o, now);
  if (l && l->state == OV_LINK_UP)
    send_notify(ov, o->id, false);
  else if (l)
    l->want |= OV_WANT_NOTIFY;
}

void ov_lookup_done(struct overlay *ov, const struct ov_lookup *lk,
                    const struct ov_msg *reply, uint64_t now) {
  switch (lk->kind) {
  case OV_LK_JOIN:
    join_done(ov, reply, now);
    break;
  case OV_LK_HEAL:
    heal_done(ov, reply, now);
    break;
  case OV_LK_FINGER: {
    struct ov_node c[OV_MAX_SUCC + 1];
    unsigned n = 0;
    c[n++] = reply->node;
    for (unsigned i = 0; i < reply->n_succ; i++)
      c[n++] = reply->succ[i];
    ov_finger_candidates(ov, lk->slot, c, n, now);
    break;
  }
  default:
    break;
  }
}

void ov_on_link_up(struct overlay *ov, struct ov_link *l, uint64_t now) {
  uint8_t id[RL_ID_LEN];
  uint8_t want = l->want;
  bool ours = l->ours;
  memcpy(id, l->id, RL_ID_LEN);
  l->want = 0; /* l may move once we connect elsewhere: no use below */
  if (!ov->joined)
    return;
  if (ours) {
    /* Tell the peer we are a ring member, so that it routes over the link
     * too (it cannot tell a shortcut of ours from a joiner's link). */
    struct ov_msg h = {.type = OV_MSG_HELLO};
    ov_push_send(ov, id, &h);
  }
  if (ov->n_succ && ring_eq(id, ov->succ[0].id))
    ov_stabilise_with_succ(ov, now);
  if (ov->has_pred && ring_eq(id, ov->pred.id))
    send_notify(ov, id, true);
  if (want & OV_WANT_NOTIFY)
    send_notify(ov, id, false);
  if ((want & OV_WANT_HEAL) || ov->n_succ == 0)
    /* A ring of one that gains a link (e.g. started before its bootstrap
     * was reachable) asks at once whether a bigger ring is out there. */
    ov_find_start(ov, ov->self.id, OV_LK_HEAL, 0, id, now);
}

void ov_on_link_down(struct overlay *ov, const uint8_t id[RL_ID_LEN], uint64_t now) {
  bool was_succ0 = ov->n_succ && ring_eq(ov->succ[0].id, id);
  /* Only the successors we keep links to are judged by their link: a link
   * to a farther one may close for other reasons (the peer released it),
   * and if that node did die, its own predecessor drops it and the next
   * stabilise copies the corrected list from succ[0]. */
  for (unsigned i = 0; i < ov->n_succ && i < OV_LINKED_SUCC; i++)
    if (ring_eq(ov->succ[i].id, id)) {
      ov_succ_remove(ov, id);
      break;
    }
  if (ov->has_pred && ring_eq(ov->pred.id, id))
    set_pred(ov, NULL); /* Chord's check_predecessor */
  /* Repair at once: the next successor is promoted, linked if needed and
   * stabilised with, instead of waiting for the next period. */
  if (was_succ0 || ov->n_succ == 0)
    repair(ov, id, now);
  else
    ensure_succ_links(ov, now);
}

static void expire(struct overlay *ov, uint64_t now) {
  bool join_pending = false;
  for (unsigned i = 0; i < ov->n_lookups;) {
    if (ov->lookups[i].deadline <= now) {
      ov->lookups[i] = ov->lookups[--ov->n_lookups];
      continue;
    }
    join_pending |= ov->lookups[i].kind == OV_LK_JOIN;
    i++;
  }
  if (!ov->joined && !join_pending)
    join_attempt(ov, now); /* retry through another (random) link */
  for (unsigned i = 0; i < ov->n_links;) {
    struct ov_link *l = &ov->links[i];
    if (l->state == OV_LINK_CONNECTING && l->t <= now) {
      uint8_t id[RL_ID_LEN];
      memcpy(id, l->id, RL_ID_LEN);
      ov_link_remove(ov, l);
      /* Unreachable: drop it from the ring view like a dead link. That
       * may add links anywhere in the sorted table: scan again (each pass
       * removes one, so this ends). */
      ov_on_link_down(ov, id, now);
      i = 0;
      continue;
    }
    i++;
  }
}

/* Chord's RPC timeouts: our successor answers GET_PRED every period and
 * our predecessor notifies us every period. One silent for
 * OV_SILENT_PERIODS periods is treated as failed even though the link
 * layer has not said so yet: it leaves the ring view and is not routed
 * through until it speaks again. */
static void check_silent(struct overlay *ov, uint64_t now) {
  uint64_t limit = OV_SILENT_PERIODS * ov->cfg.stabilise_ns;
  /* A neighbour we just started to rely on gets one period to speak up; an
   * old silence before that still counts (chains of hung nodes go fast). */
  uint64_t grace = limit - ov->cfg.stabilise_ns;
  int f = first_linked_succ(ov);
  if (f >= 0) {
    struct ov_link *l = ov_link_find(ov, ov->succ[f].id);
    uint64_t since = ring_eq(ov->stab_peer, l ? l->id : ov->self.id) ? ov->stab_since : now;
    since = since > grace ? since - grace : 0;
    if (l && l->last_rx > since)
      since = l->last_rx;
    if (l && now - since > limit) {
      uint8_t id[RL_ID_LEN];
      memcpy(id, l->id, RL_ID_LEN);
      l->in_ring = false;
      ov_succ_remove(ov, id);
      if (ov->has_pred && ring_eq(ov->pred.id, id))
        set_pred(ov, NULL);
      repair(ov, id, now);
    }
  }
  if (ov->has_pred) {
    struct ov_link *l = ov_link_find(ov, ov->pred.id);
    uint64_t since = ov->pred_since > grace ? ov->pred_since - grace : 0;
    if (l && l->last_rx > since)
      since = l->last_rx;
    if (l && l->state == OV_LINK_UP && now - since > limit) {
      l->in_ring = false;
      set_pred(ov, NULL);
    }
  }
}

void ov_stabilise_tick(struct overlay *ov, uint64_t now) {
  expire(ov, now);
  if (!ov->joined)
    return;
  check_silent(ov, now);
  repair(ov, NULL, now);
  ov_links_gc(ov, now);
}

void ov_heal_tick(struct overlay *ov, uint64_t now) {
  if (!ov->joined)
    return;
  /* A lookup of our own ID through a peer other than succ/pred: if it ends
   * at a different successor we are in a partition (or the ring view is
   * wrong) and heal_done() merges. Any link will do, including ones not
   * (yet) known to lead into a ring: a link the node core opened to a
   * member of another partition is exactly what healing needs; a peer that
   * is not in a ring just drops the lookup. */
  unsigned cand = 0;
  for (unsigned i = 0; i < ov->n_links; i++) {
    const struct ov_link *l = &ov->links[i];
    if (l->state != OV_LINK_UP || (ov->n_succ && ring_eq(l->id, ov->succ[0].id)) ||
        (ov->has_pred && ring_eq(l->id, ov->pred.id)))
      continue;
    cand++;
  }
  if (cand) {
    unsigned pick = rl_rand_uniform(ov->cfg.env, cand);
    for (unsigned i = 0; i < ov->n_links; i++) {
      const struct ov_link *l = &ov->links[i];
      if (l->state != OV_LINK_UP || (ov->n_succ && ring_eq(l->id, ov->succ[0].id)) ||
          (ov->has_pred && ring_eq(l->id, ov->pred.id)))
        continue;
      if (pick-- == 0) {
        uint8_t id[RL_ID_LEN];
        memcpy(id, l->id, RL_ID_LEN);
        ov_find_start(ov, ov->self.id, OV_LK_HEAL, 0, id, now);
        return;
      }
    }
  }
  /* No other link: reconnect to a remembered peer and ask through it. */
  unsigned rc = 0;
  struct ov_node *pool[OV_REMEMBER];
  for (unsigned i = 0; i < ov->n_remember; i++)
    if (!ov_link_find(ov, ov->remember[i].id))
      pool[rc++] = &ov->remember[i];
  if (!rc)
    return;
  struct ov_node n = *pool[rl_rand_uniform(ov->cfg.env, rc)];
  struct ov_link *l = ov_connect(ov, &n, now);
  if (l)
    l->want |= OV_WANT_HEAL;
}

void ov_leave(struct overlay *ov, uint64_t now) {
  (void)now;
  struct ov_msg m;
  bool pred_linked = ov->has_pred && ov_linked(ov, ov->pred.id);
  bool succ_linked = ov->n_succ && ov_linked(ov, ov->succ[0].id);
  if (pred_linked && !(succ_linked && ring_eq(ov->pred.id, ov->succ[0].id))) {
    /* To the predecessor: here is my successor list, splice past me. */
    m.type = OV_MSG_LEAVE;
    m.flags = OV_F_TO_PRED;
    m.n_succ = 0;
    for (unsigned i = 0; i < ov->n_succ && i < OV_MAX_SUCC; i++)
      m.succ[m.n_succ++] = ov->succ[i];
    ov_push_send(ov, ov->pred.id, &m);
  }
  if (succ_linked) {
    /* To the successor: your new predecessor is mine. */
    m.type = OV_MSG_LEAVE;
    m.flags = 0;
    m.n_succ = 0;
    if (ov->has_pred) {
      m.flags |= OV_F_HAS_PRED;
      m.pred = ov->pred;
    }
    ov_push_send(ov, ov->succ[0].id, &m);
  }
  ov->left = true;
  ov->joined = false;
  if (ov->n_succ || ov->has_pred)
    ov->ring_dirty = true;
  ov->n_succ = 0;
  ov->has_pred = false;
  ov->n_lookups = 0;
}

int ov_recv_stab(struct overlay *ov, const uint8_t from[RL_ID_LEN], struct ov_msg *m,
                 uint64_t now) {
  if (!ov->joined)
    return 0; /* not in a ring yet: nothing to say about it */
  switch (m->type) {
  case OV_MSG_HELLO:
  case OV_MSG_PONG:
    return 0; /* overlay_recv() already noted that the peer is alive */
  case OV_MSG_PING: {
    struct ov_msg r = {.type = OV_MSG_PONG};
    ov_push_send(ov, from, &r);
    return 0;
  }
  case OV_MSG_GET_PRED: {
    struct ov_msg r;
    r.type = OV_MSG_PRED_REPLY;
    r.flags = ov->has_pred ? OV_F_HAS_PRED : 0;
    if (ov->has_pred)
      r.pred = ov->pred;
    r.n_succ = 0;
    for (unsigned i = 0; i < ov->n_succ && i < OV_MAX_SUCC; i++)
      r.succ[r.n_succ++] = ov->succ[i];
    ov_push_send(ov, from, &r);
    return 0;
  }
  case OV_MSG_PRED_REPLY: {
    int f = first_linked_succ(ov);
    if (f < 0 || !ring_eq(from, ov->succ[f].id))
      return 0; /* stale: our successor changed meanwhile */
    struct ov_node list[2 * OV_MAX_SUCC + 2];
    unsigned n = 0;
    bool has_x = m->flags & OV_F_HAS_PRED;
    bool adopt = has_x && ring_between(ov->self.id, m->pred.id, from);
    /* Successors before `from` are still being linked. Keep those that
     * can still be right: none if `from` says we are its predecessor, else
     * those before its predecessor x (x itself knows better than us about
     * anything between x and from). */
    bool self_is_pred = has_x && ring_eq(m->pred.id, ov->self.id);
    for (int i = 0; i < f && !self_is_pred; i++)
      if (!adopt || ring_between(ov->self.id, ov->succ[i].id, m->pred.id))
        list[n++] = ov->succ[i];
    if (adopt)
      list[n++] = m->pred;
    list[n++] = ov->succ[f];
    for (unsigned i = 0; i < m->n_succ; i++)
      list[n++] = m->succ[i];
    ov_succ_set(ov, list, n);
    ensure_succ_links(ov, now);
    /* Continue at once only through a link that is up: otherwise the next
     * linked successor would be asked again right away and, if its view is
     * stale (it still names a dead predecessor), the two nodes would
     * ping-pong GET_PRED/PRED_REPLY with no delay. */
    if (adopt && ov_linked(ov, m->pred.id))
      ov_stabilise_with_succ(ov, now);
    return 0;
  }
  case OV_MSG_NOTIFY:
    if (!ring_eq(m->node.id, from)) {
      ov->stats.dropped_bad++; /* a node can only speak for itself */
      return RL_EPARSE;
    }
    if (m->flags & OV_F_AS_SUCC) {
      if (ov->n_succ == 0 || ring_between(ov->self.id, from, ov->succ[0].id)) {
        struct ov_node list[OV_MAX_SUCC + 1];
        unsigned n = 0;
        list[n++] = m->node;
        for (unsigned i = 0; i < ov->n_succ; i++)
          list[n++] = ov->succ[i];
        ov_succ_set(ov, list, n);
        repair(ov, NULL, now);
      }
    } else {
      if (!ov->has_pred || ring_between(ov->pred.id, from, ov->self.id) ||
          ring_eq(ov->pred.id, from))
      {
        set_pred_at(ov, &m->node, now);
        set_pred(ov, &m->node);
      }
      if (ov->n_succ == 0) { /* a ring of one gains its second member */
        ov_succ_set(ov, &m->node, 1);
        repair(ov, NULL, now);
      }
    }
    return 0;
  case OV_MSG_LEAVE:
    if (m->flags & OV_F_TO_PRED) {
      if (ov->n_succ && ring_eq(ov->succ[0].id, from)) {
        ov_succ_set(ov, m->succ, m->n_succ);
        ov_succ_remove(ov, from);
      } else {
        ov_succ_remove(ov, from);
      }
    } else {
      if (ov->has_pred && ring_eq(ov->pred.id, from))
      {
        set_pred_at(ov, (m->flags & OV_F_HAS_PRED) ? &m->pred : NULL, now);
        set_pred(ov, (m->flags & OV_F_HAS_PRED) ? &m->pred : NULL);
      }
      ov_succ_remove(ov, from);
    }
    repair(ov, from, now);
    return 0;
  default:
    ov->stats.dropped_bad++;
    return RL_EPARSE;
  }
}
