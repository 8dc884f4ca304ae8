/* The "overlay" model: the real overlay module (overlay/overlay.h) alone,
 * with the node core's link layer replaced by a minimal stand-in that the
 * simulator owns.
 *
 * The overlay talks over *links* and leaves opening, keeping and closing
 * them to the node core. Here a link is established with one datagram
 * exchange (HELLO / HELLO_ACK, retried), kept alive and timed out like the
 * node core's links (keepalive 10 s, dead after 40 s without traffic) and
 * closed with CLOSE; links the overlay does not want close after 300 s
 * without overlay messages, like the node core's idle reaper. There is no
 * handshake, no encryption and no NAT
 * traversal: links only work between hosts that can reach each other
 * directly, so overlay-only scenarios should use an all-public [nat] mix.
 *
 * Datagram format (simulator-internal, not a ringlan wire format):
 *
 *   0      1                    21                     41
 *   +------+--------------------+----------------------+---------------+
 *   | type | sender overlay ID  | 20 bytes zero (pad)  | overlay msg   |
 *   +------+--------------------+----------------------+---------------+
 *   type: 1 HELLO, 2 HELLO_ACK, 3 MSG, 4 KEEPALIVE, 5 CLOSE
 *
 * The 41-byte header equals what the node core's data channel adds to an
 * overlay message (P_DATA_V2 header 4 + packet ID 4 + tag 16 + control
 * magic 16 + channel 1), so byte counts are comparable; KEEPALIVE, HELLO
 * and CLOSE are 41 bytes (the real handshake is larger).
 *
 * Broadcasts (metric bcast): the origin calls overlay_broadcast() with app
 * OV_APP_TEST and the simulator's broadcast number in the payload's first
 * 4 bytes; the model reports each copy it sends (an OV_MSG_BCAST carrying
 * such a payload), each OV_ACT_BCAST with its depth, each copy lost to a
 * link that one end had closed (the sender's link went down before the
 * copy left, or it arrived over a link the receiver had just closed: a
 * DISCONNECT closes the link at once here, and the CLOSE crosses copies in
 * flight), and from the overlay's counters each duplicate copy and each
 * action its full queue dropped while handling a copy. */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/ov_msg.h"
#include "overlay/overlay.h"
#include "simulations/sim.h"

#define HDR 41
#define KEEPALIVE_NS (10 * NS_PER_S)
#define LINK_TIMEOUT_NS (40 * NS_PER_S)
#define HELLO_RETRY_NS (1 * NS_PER_S)
#define HELLO_TRIES 5
/* Like the node core (idle_link_ns): a link the overlay has not asked for
 * (or has released) closes after this long without overlay messages. */
#define IDLE_NS (300 * NS_PER_S)
/* A node holding many links (a bootstrap node while a large network joins
 * through it) scans them at most this often: each link has its own
 * keepalive deadline, and one scan per deadline would cost O(links^2). */
#define BUSY_LINKS 256
#define BUSY_SCAN_NS (1 * NS_PER_S)

enum { T_HELLO = 1, T_ACK, T_MSG, T_KEEPALIVE, T_CLOSE };
enum { L_CONNECTING = 1, L_UP };

struct olink {
  uint64_t key;            /* first 8 bytes of id: a cheap pre-compare */
  uint8_t id[RL_ID_LEN];   /* all zero while unknown (bootstrap HELLO) */
  struct rl_addr ep;
  uint8_t state, tries;
  bool wanted;             /* the overlay asked for it (OV_ACT_CONNECT) */
  uint64_t t_start, t_rx, t_tx, t_retry;
  uint64_t t_use;          /* last overlay message either way (idle reaper) */
};

struct octl {              /* a queued link-layer datagram */
  struct rl_addr to;
  uint8_t type;
};

struct onode {
  struct sim *s;
  uint32_t idx;
  struct overlay *ov;
  uint8_t id[RL_ID_LEN];
  bool joined, join_called;
  /* Earliest link deadline (retry, keepalive, timeout), possibly early:
   * deadlines only move later, so an early value just costs one scan. */
  uint64_t maint_at;
  uint32_t n_links, cap_links;
  struct olink *links;
  /* Open-addressing index over links by id_key (slot = link index + 1, 0
   * empty; linear probing, backward-shift deletion): a bootstrap node
   * holds thousands of links while a large network joins through it. */
  uint32_t *hidx;
  uint32_t hmask;
  uint32_t q_head, q_len, q_cap;
  struct octl *q;
};

struct octx {
  struct ov_action act;    /* 1.5 KB scratch shared by all nodes */
};

static uint64_t id_key(const uint8_t *id) {
  uint64_t k;
  memcpy(&k, id, sizeof(k));
  return k;
}

static uint32_t h_home(const struct onode *n, uint64_t key) {
  key ^= key >> 29;
  key *= 0xbf58476d1ce4e5b9ULL;
  return (uint32_t)(key >> 32) & n->hmask;
}

static void h_insert(struct onode *n, uint32_t i) {
  uint32_t h = h_home(n, n->links[i].key);
  while (n->hidx[h])
    h = (h + 1) & n->hmask;
  n->hidx[h] = i + 1;
}

/* The slot holding link index i. */
static uint32_t h_slot(const struct onode *n, uint32_t i) {
  uint32_t h = h_home(n, n->links[i].key);
  while (n->hidx[h] != i + 1)
    h = (h + 1) & n->hmask;
  return h;
}

static void h_remove(struct onode *n, uint32_t i) {
  uint32_t h = h_slot(n, i);
  for (;;) { /* backward shift: no tombstones */
    n->hidx[h] = 0;
    uint32_t j = h;
    for (;;) {
      j = (j + 1) & n->hmask;
      if (!n->hidx[j])
        return;
      uint32_t home = h_home(n, n->links[n->hidx[j] - 1].key);
      /* Entry j may move to h when its home is not in (h, j] cyclically. */
      if (((j - home) & n->hmask) >= ((j - h) & n->hmask))
        break;
    }
    n->hidx[h] = n->hidx[j];
    h = j;
  }
}

static void link_set_id(struct onode *n, struct olink *l, const uint8_t *id) {
  uint32_t i = (uint32_t)(l - n->links);
  h_remove(n, i);
  memcpy(l->id, id, RL_ID_LEN);
  l->key = id_key(id);
  h_insert(n, i);
}

static struct olink *link_by_id(struct onode *n, const uint8_t *id) {
  if (!n->hidx)
    return NULL;
  uint64_t k = id_key(id);
  for (uint32_t h = h_home(n, k); n->hidx[h]; h = (h + 1) & n->hmask) {
    struct olink *l = &n->links[n->hidx[h] - 1];
    if (l->key == k && !memcmp(l->id, id, RL_ID_LEN))
      return l;
  }
  return NULL;
}

static void maint_lower(struct onode *n, uint64_t t) {
  if (t < n->maint_at)
    n->maint_at = t;
}

static struct olink *link_by_ep(struct onode *n, const struct rl_addr *ep) {
  for (uint32_t i = 0; i < n->n_links; i++)
    if (rl_addr_equal(&n->links[i].ep, ep))
      return &n->links[i];
  return NULL;
}

static struct olink *link_add(struct onode *n) {
  if (n->n_links == n->cap_links) {
    uint32_t cap = n->cap_links ? n->cap_links * 2 : 8;
    struct olink *l = realloc(n->links, cap * sizeof(*l));
    if (!l)
      return NULL;
    n->links = l;
    uint32_t *h = calloc((size_t)cap * 2, sizeof(*h)); /* load <= 1/2 */
    if (!h)
      return NULL; /* the array grew; the index is still the old one */
    free(n->hidx);
    n->hidx = h;
    n->hmask = cap * 2 - 1;
    n->cap_links = cap;
    for (uint32_t i = 0; i < n->n_links; i++)
      h_insert(n, i);
  }
  uint32_t i = n->n_links++;
  struct olink *l = &n->links[i];
  memset(l, 0, sizeof(*l));
  h_insert(n, i); /* key 0 until the ID is known */
  return l;
}

static void link_del(struct onode *n, struct olink *l) {
  uint32_t i = (uint32_t)(l - n->links), last = n->n_links - 1;
  h_remove(n, i);
  if (i != last) {
    n->hidx[h_slot(n, last)] = i + 1;
    *l = n->links[last];
  }
  n->n_links--;
}

static void ctl(struct onode *n, const struct rl_addr *to, uint8_t type) {
  if (n->q_head + n->q_len == n->q_cap) {
    if (n->q_head) {
      memmove(n->q, n->q + n->q_head, n->q_len * sizeof(*n->q));
      n->q_head = 0;
    } else {
      uint32_t cap = n->q_cap ? n->q_cap * 2 : 8;
      struct octl *q = realloc(n->q, cap * sizeof(*q));
      if (!q)
        return; /* lost, like a full socket buffer */
      n->q = q;
      n->q_cap = cap;
    }
  }
  n->q[n->q_head + n->q_len++] = (struct octl){*to, type};
}

static void write_hdr(const struct onode *n, uint8_t *buf, uint8_t type) {
  buf[0] = type;
  memcpy(buf + 1, n->id, RL_ID_LEN);
  memset(buf + 1 + RL_ID_LEN, 0, HDR - 1 - RL_ID_LEN);
}

static uint32_t get_u32be(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* bcast: the simulator's broadcast number in an overlay message, if it is
 * a broadcast copy of ours (OV_MSG_BCAST, app OV_APP_TEST, the number in
 * the payload's first 4 bytes). */
static bool bcast_id(const uint8_t *msg, size_t len, uint32_t *id) {
  struct ov_msg m;
  if (len < OV_BCAST_HDR + 4 || msg[0] != OV_MSG_BCAST || ov_msg_decode(&m, msg, len) ||
      m.app != OV_APP_TEST || m.len < 4)
    return false;
  *id = get_u32be(m.payload);
  return true;
}

static void *o_create(void *ctx, struct sim *s, const struct sim_node_init *in, uint64_t now,
                      int *err) {
  (void)ctx;
  struct onode *n = calloc(1, sizeof(*n));
  if (!n) {
    *err = RL_ENOMEM;
    return NULL;
  }
  n->s = s;
  n->idx = in->idx;
  /* A node keeps its ID across restarts (a real node keeps its key), so the
   * ID comes from (seed, index), not from the node's running stream. */
  struct sim_rng r;
  sim_rng_seed(&r, s->seed, (1ULL << 40) + in->idx);
  sim_rng_fill(&r, n->id, RL_ID_LEN);
  struct ov_config cfg;
  ov_config_default(&cfg);
  cfg.env = in->env;
  memcpy(cfg.self_id, n->id, RL_ID_LEN);
  n->ov = overlay_new(&cfg);
  if (!n->ov) {
    free(n);
    *err = RL_ENOMEM;
    return NULL;
  }
  overlay_set_self_endpoints(n->ov, &in->advertised, 1);
  for (unsigned i = 0; i < in->n_boot; i++) {
    struct olink *l = link_add(n);
    if (!l)
      break;
    l->ep = in->boot[i];
    l->state = L_CONNECTING;
    l->t_start = l->t_retry = now;
    l->tries = 0; /* the first HELLO goes out on the first timer */
  }
  n->maint_at = in->n_boot ? now : RL_TIME_NEVER;
  if (!in->n_boot) { /* the first seed: a ring of one */
    overlay_join(n->ov, now);
    n->join_called = true;
  }
  return n;
}

static void o_destroy(void *ctx, void *node) {
  (void)ctx;
  struct onode *n = node;
  overlay_free(n->ov);
  free(n->links);
  free(n->hidx);
  free(n->q);
  free(n);
}

static void check_joined(struct onode *n) {
  struct ov_ring_info info;
  overlay_ring_info(n->ov, &info);
  if (info.joined != n->joined) {
    n->joined = info.joined;
    sim_report_joined(n->s, n->idx, info.joined);
  }
}

/* A link came up (either side): tell the overlay, and join through the
 * first one if we have not yet. */
static void link_is_up(struct onode *n, struct olink *l, uint64_t now) {
  uint64_t rtt = l->state == L_CONNECTING && now > l->t_start ? now - l->t_start : 0;
  l->state = L_UP;
  l->t_rx = l->t_use = now;
  if (!l->t_tx)
    l->t_tx = now;
  maint_lower(n, l->t_tx + KEEPALIVE_NS);
  overlay_link_up(n->ov, l->id, &l->ep, rtt, now);
  if (!n->join_called) {
    n->join_called = true;
    overlay_join(n->ov, now);
  }
}

static int o_recv(void *node, const struct rl_addr *from, const uint8_t *pkt, size_t len,
                  uint64_t now) {
  struct onode *n = node;
  if (len < HDR)
    return RL_ETRUNC;
  const uint8_t *id = pkt + 1;
  if (!memcmp(id, n->id, RL_ID_LEN))
    return RL_EINVAL;
  struct olink *l = link_by_id(n, id);
  switch (pkt[0]) {
  case T_HELLO:
    if (!l && !(l = link_add(n)))
      return RL_ENOMEM;
    link_set_id(n, l, id);
    l->ep = *from;
    ctl(n, from, T_ACK);
    if (l->state != L_UP)
      link_is_up(n, l, now);
    l->t_rx = now;
    return 0;
  case T_ACK:
    if (!l) { /* a bootstrap link learns its peer's ID here */
      l = link_by_ep(n, from);
      if (!l || l->state != L_CONNECTING)
        return RL_ESTATE;
      link_set_id(n, l, id);
    }
    if (l->state == L_CONNECTING)
      link_is_up(n, l, now);
    l->t_rx = now;
    return 0;
  case T_MSG: {
    uint32_t bc;
    if (!l || l->state != L_UP) {
      ctl(n, from, T_CLOSE); /* stale link on their side */
      if (bcast_id(pkt + HDR, len - HDR, &bc)) /* we closed it, the copy crossed our CLOSE */
        sim_report_bcast(n->s, n->idx, bc, SIM_BC_LOST, 1);
      return RL_ESTATE;
    }
    l->t_rx = l->t_use = now;
    if (!bcast_id(pkt + HDR, len - HDR, &bc))
      return overlay_recv(n->ov, id, pkt + HDR, len - HDR, now);
    /* A broadcast copy: the overlay's own counters say whether this
     * member had taken it already, and whether its action queue
     * overflowed passing it on. */
    struct ov_stats before, after;
    overlay_stats(n->ov, &before);
    int rc = overlay_recv(n->ov, id, pkt + HDR, len - HDR, now);
    overlay_stats(n->ov, &after);
    if (after.bcast_dup != before.bcast_dup)
      sim_report_bcast(n->s, n->idx, bc, SIM_BC_DUP,
                       (unsigned)(after.bcast_dup - before.bcast_dup));
    if (after.dropped_queue != before.dropped_queue)
      sim_report_bcast(n->s, n->idx, bc, SIM_BC_QDROP,
                       (unsigned)(after.dropped_queue - before.dropped_queue));
    return rc;
  }
  case T_KEEPALIVE:
    if (l) {
      l->t_rx = now;
      if (l->state == L_UP)
        overlay_link_heard(n->ov, l->id, now);
    }
    return 0;
  case T_CLOSE:
    if (l) {
      bool was_up = l->state == L_UP;
      link_del(n, l);
      if (was_up)
        overlay_link_down(n->ov, id, now);
    }
    return 0;
  }
  return RL_EPARSE;
}

static void on_connect(struct onode *n, const struct ov_node *node, uint64_t now) {
  struct olink *l = link_by_id(n, node->id);
  if (l) {
    l->wanted = true;
    if (l->state == L_UP)
      overlay_link_up(n->ov, l->id, &l->ep, 0, now); /* "keep it": already up */
    return;
  }
  if (!node->n_ep) {
    overlay_link_down(n->ov, node->id, now); /* nowhere to go */
    return;
  }
  if (!(l = link_add(n)))
    return;
  link_set_id(n, l, node->id);
  l->wanted = true;
  l->ep = node->ep[0];
  l->state = L_CONNECTING;
  l->t_start = now;
  l->t_retry = now + HELLO_RETRY_NS;
  l->tries = 1;
  maint_lower(n, l->t_retry);
  ctl(n, &l->ep, T_HELLO);
}

static size_t o_poll(void *node, struct rl_addr *to, uint8_t *buf, size_t cap) {
  struct onode *n = node;
  struct octx *c = n->s->model_ctx;
  struct ov_action *a = &c->act;
  uint64_t now = n->s->now;
  if (cap < HDR + OV_MSG_MAX)
    return 0;
  for (;;) {
    if (n->q_len) {
      struct octl *e = &n->q[n->q_head++];
      n->q_len--;
      if (!n->q_len)
        n->q_head = 0;
      *to = e->to;
      write_hdr(n, buf, e->type); /* keepalives set t_tx when queued */
      return HDR;
    }
    if (!overlay_poll(n->ov, a))
      return 0;
    switch (a->kind) {
    case OV_ACT_SEND: {
      struct olink *l = link_by_id(n, a->peer);
      if (!l || l->state != L_UP || a->len > OV_MSG_MAX) {
        uint32_t bc; /* the overlay raced a link going down: dropped */
        if (bcast_id(a->data, a->len, &bc))
          sim_report_bcast(n->s, n->idx, bc, SIM_BC_LOST, 1);
        break;
      }
      write_hdr(n, buf, T_MSG);
      memcpy(buf + HDR, a->data, a->len);
      *to = l->ep;
      l->t_tx = l->t_use = now;
      uint32_t bc;
      if (bcast_id(a->data, a->len, &bc))
        sim_report_bcast(n->s, n->idx, bc, SIM_BC_TX, 1);
      return HDR + a->len;
    }
    case OV_ACT_CONNECT:
      on_connect(n, &a->node, now);
      break;
    case OV_ACT_DISCONNECT: {
      struct olink *l = link_by_id(n, a->peer);
      if (l) {
        ctl(n, &l->ep, T_CLOSE);
        link_del(n, l);
        overlay_link_down(n->ov, a->peer, now);
      }
      break;
    }
    case OV_ACT_DELIVER:
      if (a->app == OV_APP_TEST && a->len == 4)
        sim_report_lookup(n->s, n->idx, get_u32be(a->data), a->hops);
      break;
    case OV_ACT_RING_CHANGED:
      check_joined(n);
      break;
    case OV_ACT_BCAST:
      if (a->app == OV_APP_TEST && a->len >= 4)
        sim_report_bcast(n->s, n->idx, get_u32be(a->data), SIM_BC_DELIVER, a->hops);
      break;
    case OV_ACT_NONE:
      break;
    }
  }
}

static uint64_t o_next_timer(const void *node) {
  const struct onode *n = node;
  uint64_t t = overlay_next_timer(n->ov);
  return n->maint_at < t ? n->maint_at : t;
}

static void o_on_timer(void *node, uint64_t now) {
  struct onode *n = node;
  uint64_t next = RL_TIME_NEVER;
  if (n->maint_at > now)
    goto overlay_timer; /* only the overlay is due */
  for (uint32_t i = 0; i < n->n_links;) {
    struct olink *l = &n->links[i];
    if (l->state == L_CONNECTING && l->t_retry <= now) {
      if (l->tries >= HELLO_TRIES) { /* unreachable */
        uint8_t id[RL_ID_LEN];
        bool known = false;
        memcpy(id, l->id, RL_ID_LEN);
        for (int k = 0; k < RL_ID_LEN; k++)
          known |= id[k] != 0;
        link_del(n, l);
        if (known)
          overlay_link_down(n->ov, id, now);
        continue;
      }
      l->tries++;
      l->t_retry = now + HELLO_RETRY_NS;
      ctl(n, &l->ep, T_HELLO);
    } else if (l->state == L_UP && l->t_rx + LINK_TIMEOUT_NS <= now) {
      uint8_t id[RL_ID_LEN];
      memcpy(id, l->id, RL_ID_LEN);
      link_del(n, l);
      overlay_link_down(n->ov, id, now);
      continue;
    } else if (l->state == L_UP && !l->wanted && l->t_use + IDLE_NS <= now) {
      uint8_t id[RL_ID_LEN];
      memcpy(id, l->id, RL_ID_LEN);
      ctl(n, &l->ep, T_CLOSE); /* idle: closed at both ends */
      link_del(n, l);
      overlay_link_down(n->ov, id, now);
      continue;
    } else if (l->state == L_UP && l->t_tx + KEEPALIVE_NS <= now) {
      l->t_tx = now;
      ctl(n, &l->ep, T_KEEPALIVE);
    }
    uint64_t due = l->state == L_CONNECTING ? l->t_retry
                   : l->t_tx + KEEPALIVE_NS < l->t_rx + LINK_TIMEOUT_NS
                       ? l->t_tx + KEEPALIVE_NS
                       : l->t_rx + LINK_TIMEOUT_NS;
    if (l->state == L_UP && !l->wanted && l->t_use + IDLE_NS < due)
      due = l->t_use + IDLE_NS;
    if (due < next)
      next = due;
    i++;
  }
  if (n->n_links > BUSY_LINKS && next < now + BUSY_SCAN_NS)
    next = now + BUSY_SCAN_NS;
  n->maint_at = next;
overlay_timer:
  if (overlay_next_timer(n->ov) <= now)
    overlay_on_timer(n->ov, now);
}

static void o_leave(void *node, uint64_t now) {
  struct onode *n = node;
  overlay_leave(n->ov, now);
}

static int o_lookup(void *node, const uint8_t key[SIM_ID_LEN], uint32_t cookie, uint64_t now) {
  struct onode *n = node;
  uint8_t p[4] = {(uint8_t)(cookie >> 24), (uint8_t)(cookie >> 16), (uint8_t)(cookie >> 8),
                  (uint8_t)cookie};
  return overlay_route(n->ov, key, OV_ROUTE_OWNER, OV_APP_TEST, p, sizeof(p), now);
}

static void o_id(const void *node, uint8_t out[SIM_ID_LEN]) {
  memcpy(out, ((const struct onode *)node)->id, SIM_ID_LEN);
}

static bool o_succ(const void *node, uint8_t out[SIM_ID_LEN]) {
  struct ov_ring_info info;
  overlay_ring_info(((const struct onode *)node)->ov, &info);
  if (!info.n_succ)
    return false;
  memcpy(out, info.succ[0], SIM_ID_LEN);
  return true;
}

/* bcast: payload = the broadcast's number (4 bytes) and zeros. */
static int o_bcast(void *node, uint32_t id, size_t size, uint64_t now) {
  struct onode *n = node;
  uint8_t p[OV_APP_MAX];
  if (size < 4 || size > sizeof(p))
    return RL_EINVAL;
  memset(p, 0, size);
  p[0] = (uint8_t)(id >> 24);
  p[1] = (uint8_t)(id >> 16);
  p[2] = (uint8_t)(id >> 8);
  p[3] = (uint8_t)id;
  struct ov_stats before, after;
  overlay_stats(n->ov, &before);
  int rc = overlay_broadcast(n->ov, OV_APP_TEST, p, size, now);
  overlay_stats(n->ov, &after);
  if (after.dropped_queue != before.dropped_queue)
    sim_report_bcast(n->s, n->idx, id, SIM_BC_QDROP,
                     (unsigned)(after.dropped_queue - before.dropped_queue));
  return rc;
}

static void *o_ctx_new(void) { return calloc(1, sizeof(struct octx)); }

const struct sim_model sim_model_overlay = {
    .name = "overlay",
    .caps = SIM_M_HOPS | SIM_M_LOOKUPS | SIM_M_JOIN_TIME | SIM_M_RING | SIM_M_BYTES |
            SIM_M_BCAST,
    .missing = "overlay-only links have no NAT traversal, relays or data traffic; use "
               "model = node",
    .create = o_create,
    .destroy = o_destroy,
    .leave = o_leave,
    .recv = o_recv,
    .poll = o_poll,
    .next_timer = o_next_timer,
    .on_timer = o_on_timer,
    .lookup = o_lookup,
    .id = o_id,
    .succ = o_succ,
    .bcast = o_bcast,
    .ctx_new = o_ctx_new,
    .ctx_free = free,
};
