/* Links: one secure session per peer, plus what the node needs around it
 * (static-peer retry, pending frames, the peer's MAC). */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/node_internal.h"
#include "tap/tap.h"

/* ---- the timer heap (node->th) ---- */

static bool th_less(const struct link *a, const struct link *b) {
  return link_timer(a) < link_timer(b);
}

static void th_set(struct node *n, unsigned i, struct link *l) {
  n->th[i] = l;
  l->th_pos = i;
}

static void th_sift(struct node *n, unsigned i) {
  struct link *l = n->th[i];
  while (i > 0 && th_less(l, n->th[(i - 1) / 2])) {
    th_set(n, i, n->th[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  for (;;) {
    unsigned c = 2 * i + 1;
    if (c >= n->th_n)
      break;
    if (c + 1 < n->th_n && th_less(n->th[c + 1], n->th[c]))
      c++;
    if (!th_less(n->th[c], l))
      break;
    th_set(n, i, n->th[c]);
    i = c;
  }
  th_set(n, i, l);
}

/* Doubles an array of link pointers (from 8). */
static int grow_ptrs(struct link ***arr, unsigned *cap) {
  unsigned ncap = *cap ? *cap * 2 : 8;
  struct link **na = realloc(*arr, (size_t)ncap * sizeof(*na));
  if (!na)
    return RL_ENOMEM;
  *arr = na;
  *cap = ncap;
  return 0;
}

static int th_insert(struct node *n, struct link *l) {
  if (n->th_n == n->th_cap && grow_ptrs(&n->th, &n->th_cap) != 0)
    return RL_ENOMEM;
  th_set(n, n->th_n++, l);
  th_sift(n, l->th_pos);
  return 0;
}

static void th_remove(struct node *n, struct link *l) {
  unsigned i = l->th_pos;
  if (i == NODE_TH_NONE || i >= n->th_n || n->th[i] != l)
    return;
  l->th_pos = NODE_TH_NONE;
  n->th_n--;
  if (i < n->th_n) {
    th_set(n, i, n->th[n->th_n]);
    th_sift(n, i);
  }
}

void link_timer_changed(struct node *n, struct link *l) {
  if (l->th_pos != NODE_TH_NONE && l->th_pos < n->th_n && n->th[l->th_pos] == l)
    th_sift(n, l->th_pos);
}

/* ---- link tables: open addressing, linear probing, backward-shift
 * deletion; an entry's home slot comes from a 32-bit key of the link ---- */

typedef uint32_t (*lt_key_fn)(const struct link *l);

static uint32_t key_index(const struct link *l) { return l->s.local_index; }

static uint32_t key_of_id(const uint8_t id[RL_ID_LEN]) {
  return (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
}

static uint32_t key_peer(const struct link *l) { return key_of_id(l->s.peer_id); }

static unsigned lt_home(uint32_t key, unsigned cap) {
  return (unsigned)((key * 2654435761u) & (cap - 1));
}

static int lt_insert(struct ltab *t, struct link *l, lt_key_fn key);

static int lt_grow(struct ltab *t, lt_key_fn key) {
  unsigned ncap = t->cap ? t->cap * 2 : 16;
  struct link **old = t->t;
  unsigned ocap = t->cap;
  struct link **nt = calloc(ncap, sizeof(*nt));
  if (!nt)
    return RL_ENOMEM;
  t->t = nt;
  t->cap = ncap;
  t->n = 0;
  for (unsigned i = 0; i < ocap; i++)
    if (old[i])
      lt_insert(t, old[i], key);
  free(old);
  return 0;
}

static int lt_insert(struct ltab *t, struct link *l, lt_key_fn key) {
  if ((t->n + 1) * 2 > t->cap && lt_grow(t, key) != 0)
    return RL_ENOMEM;
  unsigned i = lt_home(key(l), t->cap);
  while (t->t[i])
    i = (i + 1) & (t->cap - 1);
  t->t[i] = l;
  t->n++;
  return 0;
}

static void lt_remove(struct ltab *t, struct link *l, lt_key_fn key) {
  unsigned mask = t->cap - 1, i, j;
  if (!t->cap)
    return;
  for (i = lt_home(key(l), t->cap); t->t[i] && t->t[i] != l; i = (i + 1) & mask)
    ;
  if (!t->t[i])
    return;
  t->t[i] = NULL;
  t->n--;
  for (j = (i + 1) & mask; t->t[j]; j = (j + 1) & mask) {
    unsigned home = lt_home(key(t->t[j]), t->cap);
    if (((j - home) & mask) >= ((j - i) & mask)) {
      t->t[i] = t->t[j];
      t->t[j] = NULL;
      i = j;
    }
  }
}

static struct link *ix_find(const struct node *n, uint32_t idx) {
  const struct ltab *t = &n->ixt;
  if (!t->cap)
    return NULL;
  for (unsigned i = lt_home(idx, t->cap); t->t[i]; i = (i + 1) & (t->cap - 1))
    if (t->t[i]->s.local_index == idx)
      return t->t[i];
  return NULL;
}

/* The next link whose peer is id, from slot *i on (*i = UINT32_MAX to
 * start). The table must not change during a walk. */
static struct link *px_next(const struct node *n, const uint8_t id[RL_ID_LEN], unsigned *i) {
  const struct ltab *t = &n->pxt;
  if (!t->cap)
    return NULL;
  *i = *i == UINT32_MAX ? lt_home(key_of_id(id), t->cap) : (*i + 1) & (t->cap - 1);
  for (; t->t[*i]; *i = (*i + 1) & (t->cap - 1))
    if (memcmp(t->t[*i]->s.peer_id, id, RL_ID_LEN) == 0)
      return t->t[*i];
  return NULL;
}

static void px_forget(struct node *n, struct link *l) {
  if (l->peer_indexed) {
    lt_remove(&n->pxt, l, key_peer);
    l->peer_indexed = false;
  }
}

void link_tables_free(struct node *n) {
  free(n->th);
  free(n->ixt.t);
  free(n->pxt.t);
  n->th = NULL;
  n->th_n = n->th_cap = 0;
  memset(&n->ixt, 0, sizeof(n->ixt));
  memset(&n->pxt, 0, sizeof(n->pxt));
}

static void on_sess_retime(void *ctx) {
  struct link *l = ctx;
  link_timer_changed(l->node, l);
  if (l->s.have_peer && !l->peer_indexed && lt_insert(&l->node->pxt, l, key_peer) == 0)
    l->peer_indexed = true;
}

/* sess_init / sess_wipe clear the hook: set it again after each. */
static void hook_sess(struct link *l) {
  l->s.on_retime = on_sess_retime;
  l->s.retime_ctx = l;
}

static bool index_in_use(struct node *n, uint32_t idx) { return ix_find(n, idx) != NULL; }

static uint32_t new_index(struct node *n) {
  for (;;) {
    uint32_t idx = rl_rand_u32(n->env) & 0xFFFFFFu;
    if (idx != HS_INDEX_UNDEF && idx != 0 && !index_in_use(n, idx))
      return idx;
  }
}

struct link *link_new(struct node *n, const struct rl_addr *ep, uint64_t now) {
  struct link *l = NULL;
  (void)now;
  if (n->th_n >= NODE_LINKS_MAX) {
    n->c.links_refused_full++; /* every used link is in the timer heap */
    return NULL;
  }
  for (unsigned i = 0; i < n->n_links; i++)
    if (!n->links[i]->used) {
      l = n->links[i];
      break;
    }
  if (!l) {
    if (n->n_links == n->cap_links && grow_ptrs(&n->links, &n->cap_links) != 0)
      return NULL;
    l = malloc(sizeof(*l));
    if (!l)
      return NULL;
    l->arr_pos = n->n_links;
    n->links[n->n_links++] = l;
  }
  memset(l, 0, sizeof(*l));
  l->used = true;
  l->static_idx = -1;
  l->node = n;
  l->th_pos = NODE_TH_NONE;
  sess_init(&l->s, &n->hid, &n->sp, new_index(n), ep);
  hook_sess(l);
  pktq_init(&l->pending, NODE_PENDQ_MAX);
  if (lt_insert(&n->ixt, l, key_index) != 0) {
    l->used = false;
    return NULL;
  }
  if (th_insert(n, l) != 0) {
    lt_remove(&n->ixt, l, key_index);
    l->used = false;
    return NULL;
  }
  return l;
}

void link_free(struct node *n, struct link *l) {
  if (!l->used)
    return;
  th_remove(n, l);
  lt_remove(&n->ixt, l, key_index);
  px_forget(n, l);
  sess_wipe(&l->s);
  pktq_free(&l->pending);
  path_free(l);
  l->used = false;
}

struct link *link_by_index(struct node *n, uint32_t index) { return ix_find(n, index); }

/* ---- one sending session per pair ---- */

/* An order both ends of a pair agree on between two of its sessions: the
 * index the session has at the lower overlay ID's end. */
static uint32_t agreed_key(const struct node *n, const struct link *l) {
  return memcmp(n->hid.id, l->s.peer_id, RL_ID_LEN) < 0 ? l->s.local_index : l->s.remote_index;
}

static bool kind_ok(const struct link *l, unsigned kinds) {
  return kinds & (!l->via_overlay ? LINK_TX_DIRECT : l->has_relay ? LINK_TX_RELAY : LINK_TX_OVERLAY);
}

static bool tx_usable(const struct link *l) {
  return l->used && l->s.have_peer && !l->retire_at_ns && !l->dormant && !l->retry_at_ns &&
         l->s.state != SESS_DEAD;
}

/* a sends rather than b (same peer). Relay versus overlay is no criterion:
 * each end has its own view of how an end-to-end session travels. */
static bool tx_better(const struct node *n, const struct link *a, const struct link *b) {
  bool ea = a->s.state == SESS_ESTABLISHED, eb = b->s.state == SESS_ESTABLISHED;
  if (ea != eb)
    return ea;
  /* Sessions from two lives of the peer (it restarted and handshook
   * afresh; its boot id is authenticated by the handshake): the older
   * life's session is one the peer no longer holds, however proven it is
   * and whatever order we would otherwise agree on. */
  if (ea && a->s.peer_boot != b->s.peer_boot)
    return a->s.last_hs_ns > b->s.last_hs_ns;
  if (a->proven != b->proven)
    return a->proven;
  if (a->via_overlay != b->via_overlay)
    return !a->via_overlay;
  /* UDP before TCP (no head-of-line blocking; TCP only where UDP fails).
   * Both ends see the same transport for a session: they agree. */
  if ((a->s.endpoint.proto == RL_PROTO_TCP) != (b->s.endpoint.proto == RL_PROTO_TCP))
    return a->s.endpoint.proto != RL_PROTO_TCP;
  return ea ? agreed_key(n, a) < agreed_key(n, b) : a->arr_pos < b->arr_pos;
}

struct link *link_tx(struct node *n, const uint8_t id[RL_ID_LEN], unsigned kinds,
                     const struct link *skip) {
  struct link *best = NULL, *l;
  unsigned i = UINT32_MAX;
  while ((l = px_next(n, id, &i)) != NULL)
    if (l != skip && tx_usable(l) && kind_ok(l, kinds) && (!best || tx_better(n, l, best)))
      best = l;
  return best;
}

struct link *link_for_init(struct node *n, const uint8_t id[RL_ID_LEN], uint32_t sender_index,
                           bool via_overlay, const struct rl_addr *from) {
  struct link *l;
  unsigned i = UINT32_MAX;
  /* (whatever path it came by: the ends may see a session's path
   * differently for a moment, path.c) */
  while ((l = px_next(n, id, &i)) != NULL)
    if (tx_usable(l) && l->s.state == SESS_ESTABLISHED && l->s.remote_index == sender_index)
      return l;
  if (!via_overlay)
    return link_by_endpoint_unknown(n, from);
  for (unsigned k = 0; k < n->n_links; k++) {
    l = n->links[k];
    if (l->used && l->via_overlay && !l->s.have_peer && l->has_expect && !l->retire_at_ns &&
        l->s.state != SESS_DEAD && memcmp(l->expect_id, id, RL_ID_LEN) == 0)
      return l;
  }
  /* A member opens an end-to-end session only when it holds none with us
   * (handshakes that crossed met above): it lost the one we hold. */
  return link_tx(n, id, LINK_TX_RELAY | LINK_TX_OVERLAY, NULL);
}

/* Any direct link (handshaking or up) to endpoint ep. Two links to one
 * endpoint would race: the peer keeps the keys of whichever HS_INIT it
 * accepted last, and we might keep the other session. */
struct link *link_to_endpoint(struct node *n, const struct rl_addr *ep) {
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (l->used && !l->via_overlay && !l->retry_at_ns && !l->dormant &&
        l->s.state != SESS_DEAD && rl_addr_equal(&l->s.endpoint, ep))
      return l;
  }
  return NULL;
}

/* A link toward ep whose peer we do not know yet (a static peer or a
 * bootstrap endpoint still handshaking). */
struct link *link_by_endpoint_unknown(struct node *n, const struct rl_addr *ep) {
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (l->used && !l->s.have_peer && rl_addr_equal(&l->s.endpoint, ep))
      return l;
  }
  return NULL;
}

/* The link that sends to the member with this MAC (link_tx). */
struct link *link_by_mac(struct node *n, const uint8_t mac[6]) {
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (l->used && l->s.have_peer && memcmp(l->mac, mac, 6) == 0)
      return link_tx(n, l->s.peer_id, LINK_TX_ANY, NULL);
  }
  return NULL;
}

/* Moves the session's queued handshake/keepalive packets to the UDP queue. */
void link_flush_sess(struct node *n, struct link *l, uint64_t now) {
  if (l->via_overlay) {
    size_t len;
    /* Bounded by the session's own small queue. */
    while ((len = sess_poll(&l->s, n->sc->pkt, sizeof(n->sc->pkt))) > 0)
      node_ov_send_pkt(n, l, n->sc->pkt, len, now);
    return;
  }
  for (;;) {
    struct pktq_slot *slot = pktq_push(&n->udpq);
    if (!slot)
      return; /* counted as a drop; the session retransmits if it matters */
    size_t len = sess_poll(&l->s, slot->data, sizeof(slot->data));
    if (len == 0) {
      pktq_unpush(&n->udpq);
      return;
    }
    slot->len = (uint16_t)len;
    slot->to = l->s.endpoint;
    slot->sock = l->sock;
    if (l->s.has_resp_to && slot->data[0] >> 3 == HS_OP_RESP) {
      /* answered where the HS_INIT came from; the session stays put */
      slot->to = l->s.resp_to;
      slot->sock = l->resp_sock;
      l->s.has_resp_to = false;
    }
    if (l->first_ttl && slot->data[0] >> 3 == HS_OP_INIT) {
      slot->ttl = l->first_ttl; /* a low-TTL first punch (node_nat.c) */
      l->first_ttl = 0;
    }
  }
}

int link_send_plain(struct node *n, struct link *l, const uint8_t *pt, size_t len,
                    uint64_t now) {
  struct pktq_slot *slot;
  int r;
  if (l->via_overlay) {
    r = sess_encrypt(&l->s, pt, len, now, n->sc->pkt, sizeof(n->sc->pkt));
    if (r < 0)
      return r;
    if ((size_t)r > OV_APP_MAX) {
      n->c.ov_too_big++; /* the overlay path has a smaller MTU; counted */
      return RL_ETOOBIG;
    }
    return node_ov_send_pkt(n, l, n->sc->pkt, (size_t)r, now);
  }
  slot = pktq_push(&n->udpq);
  if (!slot)
    return RL_EFULL;
  r = sess_encrypt(&l->s, pt, len, now, slot->data, sizeof(slot->data));
  if (r < 0) {
    pktq_unpush(&n->udpq);
    return r;
  }
  slot->len = (uint16_t)r;
  slot->to = l->s.endpoint;
  slot->sock = l->sock;
  return 0;
}

/* We initiated the session's current key: its HS_RESP proved the peer
 * holds it. */
static bool initiated_cur(const struct link *l) {
  for (int k = 0; k < SESS_NKEYS; k++) {
    const struct sess_key *key = l->s.keys[k];
    if (key && key->key_id == l->s.cur_key_id && key->retire_at_ns == 0)
      return key->initiated;
  }
  return false;
}

static void move_pending(struct link *from, struct link *to) {
  uint8_t buf[NODE_FRAME_MAX];
  size_t len;
  while ((len = pktq_pop(&from->pending, NULL, buf, sizeof(buf))) > 0)
    pktq_put(&to->pending, NULL, buf, len);
}

static void inherit_role(struct link *to, const struct link *from) {
  if (to->static_idx < 0) {
    to->static_idx = from->static_idx;
    to->bootstrap = from->bootstrap;
    to->pinned = from->pinned;
    memcpy(to->pin_pk, from->pin_pk, RL_PK_LEN);
  }
  to->ov_wanted |= from->ov_wanted;
  to->carried_data |= from->carried_data;
}

static void send_pending(struct node *n, struct link *l, uint64_t now) {
  uint8_t buf[NODE_FRAME_MAX];
  size_t len;
  while (l->used && l->s.state == SESS_ESTABLISHED &&
         (len = pktq_pop(&l->pending, NULL, buf, sizeof(buf))) > 0)
    if (link_send_plain(n, l, buf, len, now) != 0)
      break;
}

/* o stops sending (t sends for the pair now) and only receives what is
 * already on its way; its role (configured peer, wanted by the overlay)
 * and its waiting frames go to t. */
static void link_retire(struct node *n, struct link *o, struct link *t, uint64_t now) {
  o->retire_at_ns = now + NODE_E2E_LINGER_NS;
  inherit_role(t, o);
  o->static_idx = -1; /* never redialled: t is the configured peer's link now */
  o->bootstrap = o->pinned = false;
  o->ov_wanted = false;
  move_pending(o, t);
  if (o->ov_up)
    node_ov_handover(n, o, t, now);
}

/* After a session of the pair became established or proven: once the one
 * link_tx picks is proven, end-to-end sessions give way to it if it is
 * direct, and a proven session of the same kind gives way to it (both
 * ends pick the same one, so neither retires what the other sends on).
 * An unproven one stays: the peer may not hold it (it dies of silence),
 * or may send on it yet. */
static void link_settle(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t now) {
  struct link *t = link_tx(n, id, LINK_TX_ANY, NULL), *o, *lose[8];
  unsigned i = UINT32_MAX, k = 0;
  if (!t || t->s.state != SESS_ESTABLISHED || !t->proven)
    return;
  /* A direct session beside a proven end-to-end one that carries the
   * pair: the end-to-end session takes its path and goes on (its packet
   * ids keep the order, path.c); the direct one retires. */
  if (!t->via_overlay)
    while ((o = px_next(n, id, &i)) != NULL)
      if (o != t && tx_usable(o) && o->via_overlay && o->s.state == SESS_ESTABLISHED &&
          o->proven) {
        path_adopt(n, o, t, now); /* (retires t, no pxt change) */
        return;
      }
  i = UINT32_MAX;
  while ((o = px_next(n, id, &i)) != NULL && k < 8)
    if (o != t && tx_usable(o) && o->s.state == SESS_ESTABLISHED &&
        ((!t->via_overlay && o->via_overlay) || (o->proven && o->via_overlay == t->via_overlay)))
      lose[k++] = o;
  for (i = 0; i < k; i++)
    link_retire(n, lose[i], t, now); /* (no pxt change: retiring keeps the link) */
  send_pending(n, t, now);
}

void link_retire_now(struct node *n, struct link *o, struct link *t, uint64_t now) {
  link_retire(n, o, t, now);
  send_pending(n, t, now);
}

void link_rx(struct node *n, struct link *l, bool data, uint64_t now) {
  if (!l->used || l->s.state != SESS_ESTABLISHED || !l->s.have_peer)
    return;
  if (l->retire_at_ns && data)
    l->retire_at_ns = now + NODE_E2E_LINGER_NS; /* the peer still sends on it */
  if (!l->proven) {
    l->proven = true;
    if (!l->retire_at_ns)
      link_settle(n, l->s.peer_id, now);
  }
}

void link_send_ctl(struct node *n, struct link *l, uint8_t ch, const uint8_t *msg, size_t len,
                   uint64_t now) {
  uint8_t *buf = n->sc->pt;
  if (len + CTL_HDR > sizeof(n->sc->pt) || l->s.state != SESS_ESTABLISHED)
    return;
  memcpy(buf, DC_CONTROL_MAGIC, sizeof(DC_CONTROL_MAGIC));
  buf[16] = ch;
  memcpy(buf + CTL_HDR, msg, len);
  link_send_plain(n, l, buf, len + CTL_HDR, now);
}

void link_send_exit(struct node *n, struct link *l, uint64_t now) {
  uint8_t bye[sizeof(DC_OCC_MAGIC) + 1];
  if (l->via_overlay || l->s.state != SESS_ESTABLISHED)
    return;
  memcpy(bye, DC_OCC_MAGIC, sizeof(DC_OCC_MAGIC));
  bye[sizeof(DC_OCC_MAGIC)] = OCC_EXIT;
  link_send_plain(n, l, bye, sizeof(bye), now);
  link_flush_sess(n, l, now);
}

static void link_became_established(struct node *n, struct link *l, uint64_t now) {
  char ep[RL_ADDR_STRLEN], idhex[2 * RL_ID_LEN + 1];
  struct link *same[8], *o;
  unsigned i = UINT32_MAX, k = 0;
  tap_mac_from_id(l->s.peer_id, l->mac);
  rl_hex_encode(idhex, l->s.peer_id, RL_ID_LEN);
  rl_logf(n->env, RL_LOG_INFO, "link up: peer %.16s vip %u.%u.%u.%u at %s, %s",
          idhex, l->s.peer_vip >> 24, (l->s.peer_vip >> 16) & 255,
          (l->s.peer_vip >> 8) & 255, l->s.peer_vip & 255,
          rl_addr_format(&l->s.endpoint, ep, sizeof(ep)), dc_cipher_name(l->s.cipher));
  l->retry_backoff_ns = 0;
  l->dormant = false; /* the bootstrap node dialled us: awake again */
  l->proven = initiated_cur(l);
  /* Our handshake completed on a session the peer already had with us
   * (same index at its end): it answered in place, so the session we had
   * with that index is gone at its end. */
  while (l->proven && (o = px_next(n, l->s.peer_id, &i)) != NULL && k < 8)
    if (o != l && tx_usable(o) && o->via_overlay == l->via_overlay &&
        o->s.state == SESS_ESTABLISHED && o->s.remote_index == l->s.remote_index)
      same[k++] = o;
  for (i = 0; i < k; i++)
    link_retire(n, same[i], l, now);
  /* Once a direct link is up, handshakes still trying other candidates
   * of this peer are moot (an overlay-carried link is no reason to stop). */
  for (unsigned j = 0; j < n->n_links && !l->via_overlay; j++) {
    o = n->links[j];
    if (o != l && o->used && !o->via_overlay && !o->s.have_peer && o->has_expect &&
        o->static_idx < 0 && memcmp(o->expect_id, l->s.peer_id, RL_ID_LEN) == 0) {
      l->ov_wanted |= o->ov_wanted;
      link_free(n, o);
    }
  }
  link_settle(n, l->s.peer_id, now);
  if (l->retire_at_ns)
    return; /* another session of the pair sends */
  if (!l->via_overlay)
    node_nat_link_up(n, l, now);
  node_ov_link_up(n, l, now); /* direct, or relayed: both can carry the overlay */
  node_revoke_link_up(n, l, now); /* compare revocation sets */
  /* Frames that waited for the keys go out first, in order. */
  send_pending(n, l, now);
}

static void link_went_down(struct node *n, struct link *l, uint64_t now) {
  char ep[RL_ADDR_STRLEN];
  node_ov_link_down(n, l, now);
  rl_logf(n->env, RL_LOG_INFO, "link %s: peer at %s",
          l->was_established ? "down" : "handshake gave up",
          rl_addr_format(&l->s.endpoint, ep, sizeof(ep)));
  if (l->static_idx >= 0) {
    /* A configured peer is never forgotten: start over after a backoff. */
    struct rl_addr target = l->static_idx >= 0 && !l->bootstrap
                                ? n->cfg.peers[l->static_idx].endpoint
                                : l->s.endpoint;
    uint32_t idx = l->s.local_index;
    target.proto = l->s.endpoint.proto; /* a TCP twin (node_tcp.c) stays TCP */
    l->retry_backoff_ns = l->retry_backoff_ns ? l->retry_backoff_ns * 2 : NODE_RETRY_MIN_NS;
    if (l->retry_backoff_ns > NODE_RETRY_MAX_NS)
      l->retry_backoff_ns = NODE_RETRY_MAX_NS;
    l->retry_at_ns = now + l->retry_backoff_ns;
    /* a new session: what either end relies on is said again */
    l->told_want_valid = l->peer_speaks_want = l->peer_wants = false;
    if (l->bootstrap && node_in_ring(n)) {
      l->retry_at_ns = 0; /* rests until we lose the ring (reap_idle) */
      l->retry_backoff_ns = 0;
      l->dormant = true;
      l->wake_at_ns = now + NODE_BOOT_RECHECK_NS +
                      rl_rand_uniform(n->env, (uint32_t)(NODE_BOOT_RECHECK_NS / NS_PER_MS)) * NS_PER_MS;
    }
    px_forget(n, l);
    sess_wipe(&l->s);
    /* a configured peer is dialled directly again, whatever path the
     * session had moved to */
    path_free(l);
    l->via_overlay = l->has_relay = l->has_standby = false;
    l->rx_any = false;
    l->probe_sent_ns = l->rehs_ns = 0;
    l->probe_phase = 0;
    sess_init(&l->s, &n->hid, &n->sp, idx, &target);
    hook_sess(l);
    link_timer_changed(n, l);
    if (l->pinned)
      sess_pin_peer(&l->s, l->pin_pk);
    l->was_established = false;
    return;
  }
  link_free(n, l);
}

void link_close(struct node *n, struct link *l, uint64_t now) {
  if (!l->used)
    return;
  l->s.state = SESS_DEAD;
  link_went_down(n, l, now);
}

/* The peer said goodbye (OpenVPN explicit-exit-notify, OCC_EXIT): the link
 * is down now, not after the 40 s timeout, so the ring repairs at once. */
void link_peer_exited(struct node *n, struct link *l, uint64_t now) {
  if (!l->used || l->s.state != SESS_ESTABLISHED)
    return;
  rl_logf(n->env, RL_LOG_INFO, "link peer %s", l->rehs_ns ? "does not answer" : "left (exit notify)");
  l->s.state = SESS_DEAD;
  link_went_down(n, l, now);
}

/* Called after anything touched l->s: ships its packets and reacts to state
 * edges (up: flush pending frames; dead: retry or forget). */
void link_after_event(struct node *n, struct link *l, uint64_t now) {
  if (!l->used)
    return;
  link_flush_sess(n, l, now);
  if (l->s.state == SESS_ESTABLISHED && !l->was_established) {
    l->was_established = true;
    if (!l->via_overlay)
      node_dial_answered(n, &l->s.endpoint, now); /* (its IP answers: node_dial.c) */
    link_became_established(n, l, now);
  } else if (l->s.state == SESS_DEAD) {
    link_went_down(n, l, now);
  }
}
