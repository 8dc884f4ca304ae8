/* NAT traversal in the node core (sans-I/O): reflexive address reports on
 * links, NAT classification, endpoint candidates, hole punching coordinated
 * over the overlay, and relays ("proxy tunnels") through the neighbour both
 * members share with the lowest RTT sum. Wire formats: docs/protocol.md.
 *
 *   A (behind NAT)            overlay / relay R             C (behind NAT)
 *   DHT get NODE(C) ---------------------------------------> candidates of C
 *   handshakes to C's candidates      PUNCH_REQ(A's cands, A's neighbours)
 *   <------------------------------- PUNCH_ACK(C's cands, C's neighbours)
 *                                    C: handshakes to A's candidates
 *   first pair to complete wins; meanwhile frames travel end to end over the
 *   overlay, after relay_after_ns through R (FWD to R, DLV from R); direct
 *   attempts repeat with backoff and take over when one completes. */
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat/bday.h"
#include "node/core/node_internal.h"
#include "util/wire.h"

enum { RELAY_MSG_FWD = 1, RELAY_MSG_DLV = 2, RELAY_MSG_REFUSED = 3 };
enum { PUNCH_REQ = 1, PUNCH_ACK = 2 };

/* ---- candidates and classification ---- */

static bool is_wildcard(const struct rl_addr *a) {
  return a->family == RL_AF_NONE || rl_addr_is_any(a);
}

bool node_is_own_addr(const struct node *n, const struct rl_addr *t) {
  struct rl_addr a[1] = {*t};
  a->proto = RL_PROTO_UDP; /* we listen on TCP at the same addresses */
  if (rl_addr_equal(a, &n->cfg.listen))
    return true;
  for (unsigned i = 0; i < n->n_local; i++)
    if (rl_addr_equal(a, &n->local[i]))
      return true;
  return false;
}

/* Never a peer: unspecified ("this network"), loopback, link-local,
 * multicast, limited broadcast, v4-mapped, or inside the virtual LAN (the
 * overlay must never run over its own TAP device). (The reserved
 * 240.0.0.0/4 is not refused here: unroutable on the internet anyway, and
 * the simulator's public addresses live there.) */
static bool never_peer(const struct node *n, const struct rl_addr *a) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const uint8_t zero[15];
  uint32_t ip, mask;
  if (a->family == RL_AF_INET6)
    return (memcmp(a->ip, zero, 15) == 0 && a->ip[15] <= 1) ||         /* :: and ::1 */
           (a->ip[0] == 0xfe && (a->ip[1] & 0xc0) == 0x80) ||          /* fe80::/10 */
           a->ip[0] == 0xff || memcmp(a->ip, mapped, 12) == 0;
  if (a->family != RL_AF_INET)
    return true;
  ip = rl_addr_ipv4(a);
  mask = n->cfg.cert.prefix ? 0xFFFFFFFFu << (32 - n->cfg.cert.prefix) : 0;
  return (ip >> 24) == 0 || (ip >> 24) == 127 || (ip >> 16) == 0xA9FE ||
         (ip >> 28) == 0xE || ip == 0xFFFFFFFFu ||
         (mask && (ip & mask) == (n->cfg.cert.vip & mask));
}

/* An address a peer can use to reach this host: none of the above, and
 * not in 240.0.0.0/4 either. */
static bool usable_host_addr(const struct node *n, const struct rl_addr *a) {
  return !never_peer(n, a) && !(a->family == RL_AF_INET && (rl_addr_ipv4(a) >> 28) == 0xF);
}

static bool private_addr(const struct rl_addr *a) {
  uint32_t ip;
  if (a->family == RL_AF_INET6)
    return (a->ip[0] & 0xfe) == 0xfc; /* fc00::/7 */
  ip = rl_addr_ipv4(a);
  return (ip >> 24) == 10 || (ip >> 20) == 0xAC1 || (ip >> 16) == 0xC0A8;
}

/* A private address in the /24 (IPv4) or /64 (IPv6) of one of our own
 * addresses: a host on our LAN (the driver reports no prefix lengths;
 * these are the common ones). */
static bool own_lan(const struct node *n, const struct rl_addr *a) {
  size_t k = a->family == RL_AF_INET6 ? 8 : 3;
  if (!private_addr(a))
    return false;
  for (unsigned i = 0; i < n->n_local; i++)
    if (n->local[i].family == a->family && memcmp(n->local[i].ip, a->ip, k) == 0)
      return true;
  return false;
}

static bool same_ip(const struct rl_addr *a, const struct rl_addr *b) {
  return a->family == b->family && memcmp(a->ip, b->ip, 16) == 0;
}

/* Our reflexive IP is one of our own interface addresses: the members that
 * observed us see us with no NAT in between. */
static bool seen_unnated(const struct node *n) {
  for (unsigned i = 0; n->has_reflexive && i < n->n_local; i++)
    if (same_ip(&n->local[i], &n->reflexive))
      return true;
  return false;
}

bool node_nat_same_site(const struct node *n, const struct nat_cand *c, unsigned nc) {
  bool translated = false; /* the peer is seen through a NAT (lists a reflexive or mapped address) */
  if (!n->has_reflexive)
    return false;
  for (unsigned i = 0; i < nc; i++) {
    if (c[i].kind != NAT_CAND_REFLEXIVE && c[i].kind != NAT_CAND_MAPPED)
      continue;
    translated = true;
    if (same_ip(&c[i].addr, &n->reflexive))
      return true;
  }
  return !translated && seen_unnated(n);
}

bool node_nat_cand_allowed(struct node *n, const struct rl_addr *a, bool same_site) {
  bool lan_ok = n->cfg.lan_candidates == NODE_LAN_CANDS_YES ||
                (n->cfg.lan_candidates == NODE_LAN_CANDS_SAME_SITE && same_site);
  if (a->port != 0 && !never_peer(n, a) && (lan_ok || !own_lan(n, a)))
    return true;
  n->c.cands_refused++;
  return false;
}

bool node_can_dial(const struct node *n, const struct rl_addr *a) {
  if (a->family != RL_AF_INET && a->family != RL_AF_INET6)
    return false;
  if (n->n_local == 0) /* nothing known yet (or the simulator): IPv4 */
    return a->family == RL_AF_INET;
  for (unsigned i = 0; i < n->n_local; i++)
    if (n->local[i].family == a->family)
      return true;
  return false;
}

void node_local_init(struct node *n) {
  n->n_local = 0;
  if (!is_wildcard(&n->cfg.listen))
    n->local[n->n_local++] = n->cfg.listen;
}

void node_set_local_addrs(struct node *n, const struct rl_addr *addrs, unsigned k,
                          uint64_t now) {
  struct rl_addr loc[NODE_LOCAL_MAX];
  unsigned m = 0;
  char a[RL_ADDR_STRLEN];
  if (!is_wildcard(&n->cfg.listen))
    return;
  for (unsigned i = 0; i < k && m < NODE_LOCAL_MAX; i++) {
    struct rl_addr x = addrs[i];
    bool dup = false;
    x.port = n->cfg.listen.port;
    if (x.family == RL_AF_INET)
      memset(x.ip + 4, 0, 12);
    else if (x.family != RL_AF_INET6)
      continue;
    if (!usable_host_addr(n, &x))
      continue;
    for (unsigned j = 0; j < m; j++)
      dup = dup || rl_addr_equal(&loc[j], &x);
    if (!dup)
      loc[m++] = x;
  }
  if (m == n->n_local && memcmp(loc, n->local, m * sizeof(loc[0])) == 0)
    return;
  memcpy(n->local, loc, m * sizeof(loc[0]));
  n->n_local = m;
  for (unsigned i = 0; i < m; i++)
    rl_logf(n->env, RL_LOG_INFO, "host candidate %s", rl_addr_format(&loc[i], a, sizeof(a)));
  if (m == 0)
    rl_logf(n->env, RL_LOG_WARN, "no usable interface address: peers can reach this member "
            "only through its NAT mapping or a relay");
  node_nat_endpoints_changed(n, now);
}

unsigned node_nat_candidates(const struct node *n, struct nat_cand *c, unsigned max) {
  unsigned k = 0;
  /* Preference order for a peer: a mapped port (reachable by
   * construction), the reflexive address (behind a cone NAT; with no NAT
   * it is the one of our addresses that peers actually reach), then the
   * host addresses (same LAN, or no NAT), as ICE orders them. */
  if (n->has_mapped && k < max) {
    c[k].kind = NAT_CAND_MAPPED;
    c[k++].addr = n->mapped;
  }
  bool refl = n->has_reflexive && !(n->has_mapped && rl_addr_equal(&n->mapped, &n->reflexive));
  bool sym = n->nat_class == NAT_CLASS_SYMMETRIC;
  if (refl && !sym && k < max) {
    c[k].kind = node_is_own_addr(n, &n->reflexive) ? NAT_CAND_LOCAL : NAT_CAND_REFLEXIVE;
    c[k++].addr = n->reflexive;
  }
  for (unsigned i = 0; i < n->n_local && k < max; i++) {
    bool dup = false;
    for (unsigned j = 0; j < k; j++)
      dup = dup || rl_addr_equal(&c[j].addr, &n->local[i]);
    if (!dup) {
      c[k].kind = NAT_CAND_LOCAL;
      c[k++].addr = n->local[i];
    }
  }
  /* Symmetric: the right IP with a port that only the first peer saw. A
   * handshake sent there opens an address-restricted peer's filter for
   * our IP, so our own handshakes (from other ports) get through. */
  if (refl && sym && k < max) {
    c[k].kind = NAT_CAND_REFLEXIVE;
    c[k++].addr = n->reflexive;
  }
  return node_tcp_candidates(n, c, k, max); /* after every UDP one: UDP first */
}

void node_nat_endpoints_changed(struct node *n, uint64_t now) {
  struct nat_cand c[NAT_CAND_MAX];
  struct rl_addr ep[OV_MAX_ENDPOINTS];
  unsigned k = node_nat_candidates(n, c, NAT_CAND_MAX), m = 0;
  for (unsigned i = 0; i < k && m < OV_MAX_ENDPOINTS; i++)
    if (c[i].addr.proto == RL_PROTO_UDP) /* node descriptors carry UDP endpoints */
      ep[m++] = c[i].addr;
  if (n->ov)
    overlay_set_self_endpoints(n->ov, ep, m);
  node_publish_endpoints(n, now);
  /* New candidates (a reflexive address, a mapped port) may make a direct
   * path possible where punching failed before: retry at the next tick. */
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *e = n->links[i];
    if (e->used && e->via_overlay && !e->retire_at_ns && e->next_direct_ns > now)
      e->next_direct_ns = now;
  }
}


static void put_addr(struct wire_w *w, const struct rl_addr *a) { nat_addr_put(w, a); }

static bool get_addr(struct wire_r *r, struct rl_addr *a) { return nat_addr_get(r, a); }

/* A direct link came up: tell the peer where its packets come from. */
void node_nat_link_up(struct node *n, struct link *l, uint64_t now) {
  uint8_t msg[32];
  struct wire_w w;
  if (l->via_overlay || l->s.endpoint.family == RL_AF_NONE)
    return;
  /* A TCP source port says nothing about the peer's UDP mapping: no
   * reflexive report over TCP. */
  if (l->s.endpoint.proto == RL_PROTO_UDP) {
    wire_w_init(&w, msg, sizeof(msg));
    wire_put_u8(&w, LINK_MSG_OBSERVED);
    put_addr(&w, &l->s.endpoint);
    if (!w.err)
      link_send_ctl(n, l, CTL_CH_LINK, msg, w.off, now);
  }
  node_link_tell_want(n, l, now);
}

void node_link_tell_want(struct node *n, struct link *l, uint64_t now) {
  if (!l->used || l->via_overlay || l->s.state != SESS_ESTABLISHED)
    return;
  /* A configured peer is redialled whenever it drops: closing it from the
   * other end would only cost a new handshake. A bootstrap node is only
   * needed until we are in the ring. */
  bool w = l->ov_wanted || (l->static_idx >= 0 && !(l->bootstrap && node_in_ring(n)));
  if (l->told_want_valid && l->told_want == w &&
      !(w && now - l->want_sent_ns >= NODE_WANT_REPEAT_NS))
    return;
  uint8_t msg[2] = {LINK_MSG_WANT, w ? 1 : 0};
  l->told_want_valid = true;
  l->told_want = w;
  l->want_sent_ns = now;
  link_send_ctl(n, l, CTL_CH_LINK, msg, sizeof(msg), now);
}

static void on_observed(struct node *n, struct link *l, const struct rl_addr *seen, uint64_t now) {
  struct rl_addr refl;
  enum nat_class c;
  char a[RL_ADDR_STRLEN];
  memset(&refl, 0, sizeof(refl));
  nat_obs_add(&n->obs, l->s.peer_id, &l->s.endpoint, seen, now);
  c = nat_classify(&n->obs, n->local, n->n_local, now, &refl);
  /* Behind a symmetric NAT only the IP of a report means something (the
   * port differs per peer): a new port is no news. */
  if (c == NAT_CLASS_SYMMETRIC && n->has_reflexive && refl.family == n->reflexive.family &&
      memcmp(refl.ip, n->reflexive.ip, 16) == 0)
    refl = n->reflexive;
  if (c == n->nat_class && (!n->has_reflexive || rl_addr_equal(&refl, &n->reflexive)))
    return;
  n->nat_class = c;
  /* Behind an endpoint-independent NAT the reflexive address is everyone's
   * way in. With a single report (class still unknown) it is worth a try
   * too. Behind a symmetric NAT its port is nobody's way in, but its IP is
   * what a peer behind an address-restricted NAT must send to before our
   * packets pass its filter: published last (node_nat_candidates). */
  n->has_reflexive = refl.family != RL_AF_NONE;
  if (n->has_reflexive)
    n->reflexive = refl;
  rl_logf(n->env, RL_LOG_INFO, "nat: %s%s%s", nat_class_name(c),
          n->has_reflexive ? ", reflexive " : "",
          n->has_reflexive ? rl_addr_format(&refl, a, sizeof(a)) : "");
  node_nat_endpoints_changed(n, now);
}

/* ---- relays ---- */

/* The established direct link that sends to id, if any. */
static struct link *direct_up(struct node *n, const uint8_t id[RL_ID_LEN]) {
  struct link *l = link_tx(n, id, LINK_TX_DIRECT, NULL);
  return l && l->s.state == SESS_ESTABLISHED ? l : NULL;
}

static void relay_wrap(struct node *n, struct link *to, uint8_t type, const uint8_t id[RL_ID_LEN],
                       const uint8_t *pkt, size_t len, uint64_t now) {
  uint8_t msg[NODE_UDP_MAX];
  if (len + 1 + RL_ID_LEN > sizeof(msg))
    return;
  msg[0] = type;
  memcpy(msg + 1, id, RL_ID_LEN);
  memcpy(msg + 1 + RL_ID_LEN, pkt, len);
  link_send_ctl(n, to, CTL_CH_RELAY, msg, len + 1 + RL_ID_LEN, now);
}

/* The next liveness check of relayed links is due at t (or earlier). */
static void relay_arm(struct node *n, uint64_t t) {
  if (!n->relay_check_ns || t < n->relay_check_ns)
    n->relay_check_ns = t ? t : 1;
}

int node_nat_relay_fwd(struct node *n, const uint8_t relay[RL_ID_LEN],
                       const uint8_t dst[RL_ID_LEN], const uint8_t *pkt, size_t len,
                       uint64_t now) {
  struct link *r = direct_up(n, relay);
  if (!r)
    return RL_ENOENT;
  relay_wrap(n, r, RELAY_MSG_FWD, dst, pkt, len, now);
  link_after_event(n, r, now);
  return 0;
}

int node_nat_relay_send(struct node *n, struct link *l, const uint8_t *pkt, size_t len,
                        uint64_t now) {
  if (node_nat_relay_fwd(n, l->relay_id, l->s.have_peer ? l->s.peer_id : l->expect_id, pkt,
                         len, now) != 0) {
    l->has_relay = false; /* the relay went away: overlay routing again */
    if (l->ov_up)
      node_ov_link_down(n, l, now); /* the overlay looks for another way */
    return RL_ENOENT;
  }
  l->relay_tx_ns = now;
  if (!l->probe_sent_ns) /* unanswered for SUSPECT from the last answer: probe */
    relay_arm(n, l->relay_rx_ns + NODE_RELAY_SUSPECT_NS);
  return 0;
}

/* Relay budgets (issue 10, finding 7): a token bucket per (source,
 * destination) pair (relay_kbps), one per source member over all its pairs
 * (relay_source_kbps: one member cannot push N pairs' worth through us by
 * naming N destinations) and one for everything we relay
 * (relay_total_kbps). A packet passes only when all three hold its bytes;
 * it is then taken from all three. Each allows one second of burst. The
 * tables keep the NODE_RELAY_*BUCKETS most recently used entries (sources
 * are linked members: a member cannot mint new ones). */
static struct relay_bucket *pair_bucket(struct node *n, const uint8_t src[RL_ID_LEN],
                                        const uint8_t dst[RL_ID_LEN]) {
  struct relay_bucket *b = &n->rb[0];
  for (unsigned i = 0; i < NODE_RELAY_BUCKETS; i++)
    if (n->rb[i].used_ns && memcmp(n->rb[i].src, src, RL_ID_LEN) == 0 &&
        memcmp(n->rb[i].dst, dst, RL_ID_LEN) == 0)
      return &n->rb[i];
  for (unsigned i = 1; i < NODE_RELAY_BUCKETS; i++)
    if (n->rb[i].used_ns < b->used_ns)
      b = &n->rb[i];
  memset(b, 0, sizeof(*b)); /* starts full */
  memcpy(b->src, src, RL_ID_LEN);
  memcpy(b->dst, dst, RL_ID_LEN);
  n->c.relayed_pairs++;
  return b;
}

static struct relay_src_bucket *src_bucket(struct node *n, const uint8_t src[RL_ID_LEN]) {
  struct relay_src_bucket *b = &n->rsb[0];
  for (unsigned i = 0; i < NODE_RELAY_SRC_BUCKETS; i++)
    if (n->rsb[i].used_ns && memcmp(n->rsb[i].src, src, RL_ID_LEN) == 0)
      return &n->rsb[i];
  for (unsigned i = 1; i < NODE_RELAY_SRC_BUCKETS; i++)
    if (n->rsb[i].used_ns < b->used_ns)
      b = &n->rsb[i];
  memset(b, 0, sizeof(*b));
  memcpy(b->src, src, RL_ID_LEN);
  return b;
}

static bool relay_allow(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t dst[RL_ID_LEN],
                        size_t len, uint64_t now) {
  uint64_t pair = (uint64_t)n->cfg.relay_rate_kbps * 125; /* bytes per second */
  uint64_t per_src = (uint64_t)n->cfg.relay_source_kbps * 125;
  uint64_t total = (uint64_t)n->cfg.relay_total_kbps * 125;
  struct relay_bucket *pb;
  struct relay_src_bucket *sb;
  if (pair == 0 || per_src == 0 || total == 0) {
    n->c.relay_refused++;
    return false;
  }
  if (!n->rb) {
    n->rb = calloc(NODE_RELAY_BUCKETS, sizeof(*n->rb));
    n->rsb = calloc(NODE_RELAY_SRC_BUCKETS, sizeof(*n->rsb));
    if (!n->rb || !n->rsb) {
      free(n->rb);
      free(n->rsb);
      n->rb = NULL;
      n->rsb = NULL;
      n->c.relay_refused++;
      return false;
    }
  }
  pb = pair_bucket(n, src, dst);
  sb = src_bucket(n, src);
  pb->used_ns = sb->used_ns = now ? now : 1;
  rate_refill(&pb->b, pair, pair, now);
  rate_refill(&sb->b, per_src, per_src, now);
  rate_refill(&n->relay_total, total, total, now);
  if (!rate_has(&pb->b, len)) {
    n->c.relay_refused++;
    return false;
  }
  if (!rate_has(&sb->b, len)) {
    n->c.relay_refused++;
    n->c.relay_refused_src++;
    return false;
  }
  if (!rate_has(&n->relay_total, len)) {
    n->c.relay_refused++;
    n->c.relay_refused_total++;
    return false;
  }
  rate_spend(&pb->b, len);
  rate_spend(&sb->b, len);
  rate_spend(&n->relay_total, len);
  return true;
}

static struct link *e2e_link(struct node *n, const uint8_t id[RL_ID_LEN]);

static void on_relay(struct node *n, struct link *from, const uint8_t *msg, size_t len,
                     uint64_t now) {
  const uint8_t *id = msg + 1, *pkt = msg + 1 + RL_ID_LEN;
  size_t plen;
  struct link *to;
  if (len < 1 + RL_ID_LEN + 4) {
    n->c.ctl_bad++;
    return;
  }
  plen = len - 1 - RL_ID_LEN;
  if (msg[0] == RELAY_MSG_FWD) {
    /* We are the relay: pass it on, within the pair's budget. Only
     * ciphertext of a session we are not part of crosses us. */
    to = direct_up(n, id);
    if (!to) {
      n->c.relay_no_route++;
      return;
    }
    if (!relay_allow(n, from->s.peer_id, id, plen, now)) {
      /* A member that does not relay at all says so, so the sender stops
       * using it for this pair; a rate limit just drops (it is temporary). */
      if (n->cfg.relay_rate_kbps == 0) {
        uint8_t none[4] = {0};
        relay_wrap(n, from, RELAY_MSG_REFUSED, id, none, sizeof(none), now);
      }
      return;
    }
    n->c.relay_forwarded++;
    to->last_data_ns = now;
    to->carried_data = true;
    relay_wrap(n, to, RELAY_MSG_DLV, from->s.peer_id, pkt, plen, now);
    link_after_event(n, to, now);
  } else if (msg[0] == RELAY_MSG_REFUSED) {
    struct link *e = e2e_link(n, id);
    if (e && e->has_relay && memcmp(e->relay_id, from->s.peer_id, RL_ID_LEN) == 0) {
      e->has_relay = false;
      memcpy(e->refused_ids[e->n_refused % 4], from->s.peer_id, RL_ID_LEN);
      if (e->n_refused < 4)
        e->n_refused++;
      if (e->ov_up)
        node_ov_link_down(n, e, now);
    }
  } else if (msg[0] == RELAY_MSG_DLV) {
    /* msg lives in n->sc->pt, which nested sends reuse: work on a copy. */
    uint8_t src[RL_ID_LEN], relay[RL_ID_LEN], copy[NODE_UDP_MAX];
    if (plen > sizeof(copy))
      return;
    memcpy(src, id, RL_ID_LEN);
    memcpy(relay, from->s.peer_id, RL_ID_LEN);
    memcpy(copy, pkt, plen);
    node_e2e_recv(n, src, copy, plen, now, relay);
  } else {
    n->c.ctl_bad++;
  }
}

void node_nat_control(struct node *n, struct link *l, const uint8_t *msg, size_t len,
                      uint64_t now) {
  if (l->via_overlay || len < CTL_HDR + 1)
    return;
  if (msg[16] == CTL_CH_RELAY) {
    l->last_data_ns = now; /* relaying is use: the idle reaper keeps the link */
    l->carried_data = true;
  }
  if (msg[16] == CTL_CH_LINK &&
      (msg[CTL_HDR] == LINK_MSG_PROBE || msg[CTL_HDR] == LINK_MSG_PROBE_REPLY)) {
    if (len != CTL_HDR + 5) {
      n->c.ctl_bad++;
      return;
    }
    if (msg[CTL_HDR] == LINK_MSG_PROBE) {
      uint8_t reply[5];
      memcpy(reply, msg + CTL_HDR, 5);
      reply[0] = LINK_MSG_PROBE_REPLY;
      link_send_ctl(n, l, CTL_CH_LINK, reply, sizeof(reply), now);
    } else if (l->probe_sent_ns &&
               memcmp(msg + CTL_HDR + 1, &l->probe_nonce, 4) == 0) {
      /* An RTT sample for proximity neighbour selection, for free. */
      l->s.rtt_ns = now - l->probe_sent_ns;
      if (n->ov && l->ov_up)
        overlay_link_rtt(n->ov, l->s.peer_id, l->s.rtt_ns);
      l->probe_sent_ns = 0;
      l->probe_phase = 0;
    }
  } else if (msg[16] == CTL_CH_LINK && msg[CTL_HDR] == LINK_MSG_WANT) {
    if (len != CTL_HDR + 2 || msg[CTL_HDR + 1] > 1) {
      n->c.ctl_bad++;
      return;
    }
    l->peer_speaks_want = true;
    l->peer_wants = msg[CTL_HDR + 1] == 1;
  } else if (msg[16] == CTL_CH_LINK && msg[CTL_HDR] == LINK_MSG_OBSERVED) {
    struct wire_r r;
    struct rl_addr seen;
    wire_r_init(&r, msg + CTL_HDR + 1, len - CTL_HDR - 1);
    if (!get_addr(&r, &seen) || !wire_done(&r)) {
      n->c.ctl_bad++;
      return;
    }
    on_observed(n, l, &seen, now);
  } else if (msg[16] == CTL_CH_RELAY) {
    on_relay(n, l, msg + CTL_HDR, len - CTL_HDR, now);
  } else {
    n->c.ctl_bad++;
  }
}

/* ---- punching ---- */

_Static_assert(NAT_HINT_ID_LEN == RL_ID_LEN, "relay hints carry overlay IDs");
_Static_assert(NODE_NEIGH_MAX <= NAT_HINTS_MAX, "a PUNCH neighbour list fits the hint format");

static void hint_of(const struct link *l, struct nat_hint *h) {
  uint64_t ms = l->s.rtt_ns ? (l->s.rtt_ns + NS_PER_MS - 1) / NS_PER_MS : 1;
  memcpy(h->id, l->s.peer_id, RL_ID_LEN);
  h->rtt_ms = ms > 65535 ? 65535 : (uint16_t)ms;
}

/* PUNCH: type, candidates, neighbour hints, then zero padding up to
 * pad_to bytes (docs/protocol.md): a REQ pays in advance for the
 * handshakes its receiver sends toward our candidates (see
 * punch_candidates), as a QUIC client pads its Initial. */
static size_t punch_encode(struct node *n, uint8_t type, size_t pad_to, uint8_t *out,
                           size_t cap) {
  struct nat_cand c[NAT_CAND_MAX];
  uint8_t cb[NAT_CAND_MAX * 20 + 2];
  unsigned k = node_nat_candidates(n, c, NAT_CAND_MAX), nn = 0;
  int cl = nat_cand_encode(c, k, cb, sizeof(cb));
  struct nat_hint h[NODE_NEIGH_MAX];
  struct wire_w w;
  int hl;
  if (cl < 0)
    return 0;
  for (unsigned i = 0; i < n->n_links && nn < NODE_NEIGH_MAX; i++) {
    struct link *l = n->links[i];
    if (!l->used || l->via_overlay || l->s.state != SESS_ESTABLISHED || !l->s.have_peer)
      continue;
    hint_of(l, &h[nn++]);
  }
  wire_w_init(&w, out, cap);
  wire_put_u8(&w, type);
  wire_put_u8(&w, (uint8_t)cl);
  wire_put_bytes(&w, cb, (size_t)cl);
  if (w.err || (hl = nat_hints_encode(h, nn, out + w.off, cap - w.off)) < 0)
    return 0;
  if (w.off + (size_t)hl >= pad_to)
    return w.off + (size_t)hl;
  if (pad_to > cap)
    pad_to = cap;
  memset(out + w.off + hl, 0, pad_to - w.off - (size_t)hl);
  return pad_to;
}

/* Bytes of our PUNCH_REQ (signed) that pay for NODE_PUNCH_PAID_INITS of
 * the receiver's handshakes (its certificate is about as long as ours). */
static size_t punch_req_pad(const struct node *n) {
  size_t want = NODE_PUNCH_PAID_INITS * hs_init_size(&n->hid),
         over = ORIGIN_HDR + n->hid.cert_len + RL_SIG_LEN;
  return want > over ? want - over : 0;
}

static void neigh_store(struct node *n, const uint8_t id[RL_ID_LEN], const struct nat_hint *h,
                        unsigned nn, uint64_t now) {
  struct neigh_info *e = NULL;
  for (unsigned i = 0; i < n->nc_cap && !e; i++)
    if (n->nc[i].at_ns && memcmp(n->nc[i].id, id, RL_ID_LEN) == 0)
      e = &n->nc[i];
  for (unsigned i = 0; i < n->nc_cap && !e; i++)
    if (!n->nc[i].at_ns)
      e = &n->nc[i];
  if (!e && n->nc_cap < NODE_NEIGH_CACHE) { /* grows 4, 8, 16, 32 */
    unsigned ncap = n->nc_cap ? n->nc_cap * 2 : 4;
    struct neigh_info *nc = realloc(n->nc, ncap * sizeof(*nc));
    if (!nc)
      return;
    memset(nc + n->nc_cap, 0, (ncap - n->nc_cap) * sizeof(*nc));
    e = &nc[n->nc_cap];
    n->nc = nc;
    n->nc_cap = ncap;
  }
  if (!e) { /* full: replace the oldest entry */
    e = &n->nc[0];
    for (unsigned i = 1; i < n->nc_cap; i++)
      if (n->nc[i].at_ns < e->at_ns)
        e = &n->nc[i];
  }
  memcpy(e->id, id, RL_ID_LEN);
  e->at_ns = now ? now : 1; /* 0 marks a free entry */
  e->n = (uint8_t)(nn < NODE_NEIGH_MAX ? nn : NODE_NEIGH_MAX);
  for (unsigned i = 0; i < e->n; i++) {
    memcpy(e->nb[i].id, h[i].id, RL_ID_LEN);
    e->nb[i].rtt_ms = h[i].rtt_ms;
  }
}

static const struct neigh_info *neigh_find(const struct node *n, const uint8_t id[RL_ID_LEN]) {
  for (unsigned i = 0; i < n->nc_cap; i++)
    if (n->nc[i].at_ns && memcmp(n->nc[i].id, id, RL_ID_LEN) == 0)
      return &n->nc[i];
  return NULL;
}

/* The neighbour of ours that id also lists, with the lowest RTT sum. */
static bool refused_by(const struct link *e, const uint8_t id[RL_ID_LEN]) {
  for (unsigned i = 0; e && i < e->n_refused; i++)
    if (memcmp(e->refused_ids[i], id, RL_ID_LEN) == 0)
      return true;
  return false;
}

static bool shunned(const struct link *e, const uint8_t id[RL_ID_LEN], uint64_t now) {
  for (unsigned i = 0; e && i < 2; i++)
    if (e->shunned[i].at_ns && now - e->shunned[i].at_ns < NODE_RELAY_SHUNNED_NS &&
        memcmp(e->shunned[i].id, id, RL_ID_LEN) == 0)
      return true;
  return false;
}

static void shun(struct link *e, const uint8_t id[RL_ID_LEN], uint64_t now) {
  unsigned k = e->shunned[0].at_ns <= e->shunned[1].at_ns ? 0 : 1;
  memcpy(e->shunned[k].id, id, RL_ID_LEN);
  e->shunned[k].at_ns = now ? now : 1;
}

/* skip: the end-to-end link whose refusals and shunned relays to honour
 * (may be NULL); not_id: a relay not to choose (NULL: none). */
static struct link *best_relay(struct node *n, const uint8_t id[RL_ID_LEN],
                               const struct link *skip, const uint8_t *not_id, uint64_t now,
                               uint64_t *sum_ms) {
  const struct neigh_info *ni = neigh_find(n, id);
  struct link *best = NULL;
  uint64_t best_ms = UINT64_MAX;
  for (unsigned i = 0; ni && i < ni->n; i++) {
    struct link *r = direct_up(n, ni->nb[i].id);
    uint64_t ms;
    if (!r || memcmp(ni->nb[i].id, id, RL_ID_LEN) == 0 || refused_by(skip, ni->nb[i].id) ||
        shunned(skip, ni->nb[i].id, now) ||
        (not_id && memcmp(ni->nb[i].id, not_id, RL_ID_LEN) == 0))
      continue;
    ms = r->s.rtt_ns / NS_PER_MS + ni->nb[i].rtt_ms;
    if (ms < best_ms) {
      best_ms = ms;
      best = r;
    }
  }
  if (sum_ms)
    *sum_ms = best_ms;
  return best;
}

/* The end-to-end session with id: the one that sends, or our handshake. */
static struct link *e2e_link(struct node *n, const uint8_t id[RL_ID_LEN]) {
  struct link *l = link_tx(n, id, LINK_TX_RELAY | LINK_TX_OVERLAY, NULL);
  if (l)
    return l;
  for (unsigned i = 0; i < n->n_links; i++) {
    l = n->links[i];
    if (l->used && l->via_overlay && !l->retire_at_ns && !l->s.have_peer && l->has_expect &&
        memcmp(l->expect_id, id, RL_ID_LEN) == 0)
      return l;
  }
  return NULL;
}

static bool punching_to(struct node *n, const uint8_t id[RL_ID_LEN], const struct rl_addr *ep) {
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (l->used && !l->via_overlay && l->has_expect && !l->s.have_peer &&
        memcmp(l->expect_id, id, RL_ID_LEN) == 0 && rl_addr_equal(&l->s.endpoint, ep))
      return true;
  }
  return false;
}

struct link *node_nat_punch_link(struct node *n, const uint8_t id[RL_ID_LEN],
                                 const struct rl_addr *ep, unsigned sock, uint8_t first_ttl,
                                 uint64_t now) {
  struct link *l = link_new(n, ep, now);
  if (!l)
    return NULL;
  l->sock = (uint16_t)sock;
  l->first_ttl = first_ttl;
  l->has_expect = true;
  memcpy(l->expect_id, id, RL_ID_LEN);
  l->last_data_ns = now;
  l->carried_data = true;
  l->s.p.hs_max_tries = NODE_PUNCH_TRIES;
  n->c.connects_on_demand++;
  sess_start(&l->s, now);
  link_after_event(n, l, now);
  return l;
}

/* c[0..nc) without the candidates we may not dial (node_nat_cand_allowed;
 * the site is judged from the same list: node_nat_same_site). */
static unsigned cands_allowed(struct node *n, const struct nat_cand *c, unsigned nc,
                              struct nat_cand *out) {
  unsigned k = 0;
  bool site = node_nat_same_site(n, c, nc);
  for (unsigned i = 0; i < nc; i++)
    if (node_nat_cand_allowed(n, &c[i].addr, site))
      out[k++] = c[i];
  return k;
}

/* requester: we punch first and ask the peer (PUNCH REQ) to punch back.
 * Then, between two endpoint-independent NATs, our first handshake to the
 * peer's reflexive address goes out with a low IP TTL: it opens our NAT's
 * mapping for the peer but never reaches the peer's router, which therefore
 * never sees an unsolicited packet from us (a router that accepts such
 * input would record it and give the peer's own flow toward us another
 * port: the conntrack pitfall of docs/nat.md). The peer's handshake,
 * started by our REQ, passes our mapping; our retransmissions (1 s) go
 * with the default TTL.
 * Answering a PUNCH (requester false; paid: the bytes it took), we send
 * toward addresses that never answered us no more than we received: each
 * handshake try costs hs_init_size, the tries are shared out over the
 * candidates in the sender's order of preference, and every link opened
 * takes a token of the NODE_LIM_LINK caps. */
static void punch_candidates(struct node *n, const uint8_t id[RL_ID_LEN], const struct nat_cand *c,
                             unsigned nc, bool requester, size_t paid, uint64_t now) {
  bool low = requester && n->has_reflexive && n->nat_class == NAT_CLASS_EIM;
  size_t tries = requester ? 0 : paid / hs_init_size(&n->hid);
  unsigned todo[NAT_CAND_MAX], k = 0;
  if (direct_up(n, id))
    return;
  for (unsigned i = 0; i < nc && k < NAT_CAND_MAX; i++)
    if (node_can_dial(n, &c[i].addr) && node_tcp_dial_cand(n, &c[i]) &&
        !punching_to(n, id, &c[i].addr) && !node_is_own_addr(n, &c[i].addr) &&
        !link_to_endpoint(n, &c[i].addr))
      todo[k++] = i;
  for (unsigned j = 0; j < k; j++) {
    const struct nat_cand *ci = &c[todo[j]];
    size_t t = NODE_PUNCH_TRIES;
    struct link *l;
    if (!requester) {
      /* an even share of what is left, at least one try while any is */
      t = tries / (k - j);
      t = t ? t : tries ? 1 : 0;
      t = t > NODE_PUNCH_TRIES ? NODE_PUNCH_TRIES : t;
      if (t == 0)
        return;
      if (!node_limit_take(n, NODE_LIM_LINK, id, now)) {
        n->c.punch_links_capped++;
        return;
      }
      tries -= t;
    }
    l = node_nat_punch_link(n, id, &ci->addr, 0,
                            low && ci->kind == NAT_CAND_REFLEXIVE ? NAT_BDAY_TTL : 0, now);
    if (!l)
      return;
    l->s.p.hs_max_tries = (unsigned)t;
  }
}

void node_nat_connect(struct node *n, const uint8_t id[RL_ID_LEN], const struct nat_cand *c,
                      unsigned nc, uint64_t now) {
  struct nat_cand ok[NAT_CAND_MAX];
  unsigned k;
  if (memcmp(id, n->hid.id, RL_ID_LEN) == 0 || direct_up(n, id))
    return;
  k = cands_allowed(n, c, nc < NAT_CAND_MAX ? nc : NAT_CAND_MAX, ok);
  punch_candidates(n, id, ok, k, true, 0, now);
  node_nat_punch_request(n, id, now);
  node_bday_consider(n, id, ok, k, now);
}

/* Asks id (over the overlay) to send toward our candidates now too: its
 * packets open its NAT's binding for ours, ours open ours for its. */
void node_nat_punch_request(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t now) {
  uint8_t msg[OV_APP_MAX];
  size_t len = punch_encode(n, PUNCH_REQ, punch_req_pad(n), msg, sizeof(msg));
  if (len && n->ov) {
    n->c.punches_sent++;
    node_route_signed(n, id, OV_ROUTE_EXACT, OV_APP_PUNCH, msg, len, now);
    node_ov_pump(n, now);
  }
}

void node_nat_punch_recv(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t *msg,
                         size_t len, size_t paid, uint64_t now) {
  struct nat_cand c[NAT_CAND_MAX], ok[NAT_CAND_MAX];
  struct nat_hint h[NODE_NEIGH_MAX];
  struct wire_r r;
  const uint8_t *cb;
  uint8_t type, cl;
  int nc, nn = -1;
  unsigned k;
  if (len > 0 && msg[0] >= NAT_BDAY_MSG_REQ && msg[0] <= NAT_BDAY_MSG_ACK) {
    node_bday_recv(n, src, msg, len, now);
    return;
  }
  wire_r_init(&r, msg, len);
  type = wire_get_u8(&r);
  cl = wire_get_u8(&r);
  cb = wire_get_ptr(&r, cl);
  /* hints: count, count x (id, rtt); zero padding may follow */
  if (wire_ok(&r) && r.off < len) {
    size_t hl = 1 + (size_t)msg[r.off] * (NAT_HINT_ID_LEN + 2);
    if (hl <= len - r.off)
      nn = nat_hints_decode(h, NODE_NEIGH_MAX, msg + r.off, hl);
  }
  if (!wire_ok(&r) || (type != PUNCH_REQ && type != PUNCH_ACK) || nn < 0 ||
      (nc = nat_cand_decode(c, NAT_CAND_MAX, cb, cl)) < 0) {
    n->c.ctl_bad++;
    return;
  }
  n->c.punches_received++;
  neigh_store(n, src, h, (unsigned)nn, now);
  k = cands_allowed(n, c, (unsigned)nc, ok);
  punch_candidates(n, src, ok, k, false, paid, now);
  node_bday_consider(n, src, ok, k, now);
  /* If the punch fails, relay toward src ourselves: src may have no way to
   * learn our neighbours (an answer routed to it gets lost while it is
   * missing from its ring neighbours' view, which only a link can fix).
   * Later than src's own relay fallback, which normally comes first. */
  if (type == PUNCH_REQ && !direct_up(n, src))
    node_nat_seek_relay(n, src, 2 * n->cfg.relay_after_ns, false, false, now);
  if (type == PUNCH_REQ) {
    uint8_t out[OV_APP_MAX];
    size_t ol = punch_encode(n, PUNCH_ACK, 0, out, sizeof(out));
    if (ol && n->ov) {
      node_route_signed(n, src, OV_ROUTE_EXACT, OV_APP_PUNCH, out, ol, now);
      node_ov_pump(n, now);
    }
  }
}

/* ---- relayed paths: liveness, a checked standby relay, failover ----
 *
 * A relay dies without a word (crash, power, its uplink). Its own direct
 * link would take ~12 s to be declared dead (check_liveness), so relayed
 * end-to-end sessions check their path themselves, end to end: PROBE /
 * PROBE_REPLY (channel 2) inside the session, through one given relay. The
 * peer answers through the relay the probe came by and does not move its
 * own traffic for a probe, so the same message also checks the standby
 * relay (the next best by RTT sum) while the relay in use works. */

/* Moves e's packets to relay r (the path starts out as heard from now). */
void node_nat_set_relay(struct link *e, const uint8_t id[RL_ID_LEN], uint64_t now) {
  if (e->has_relay && memcmp(e->relay_id, id, RL_ID_LEN) == 0)
    return;
  e->has_relay = true;
  memcpy(e->relay_id, id, RL_ID_LEN);
  e->relay_rx_ns = now;
  e->probe_sent_ns = 0;
  e->probe_phase = 0;
  if (e->has_standby && memcmp(e->standby_id, id, RL_ID_LEN) == 0) {
    e->has_standby = false; /* the standby is in use now: find another */
    e->standby_probe_ns = e->standby_ok_ns = 0;
  }
}

/* A link-local control message of end-to-end session e, sent through
 * relay `via` (which need not be the one e uses). */
static void e2e_ctl_via(struct node *n, struct link *e, const uint8_t via[RL_ID_LEN],
                        const uint8_t *msg, size_t len, uint64_t now) {
  uint8_t pt[CTL_HDR + 8], pkt[CTL_HDR + 8 + 128];
  struct link *r = direct_up(n, via);
  int k;
  if (!r || len > 8 || e->s.state != SESS_ESTABLISHED || !e->s.have_peer)
    return;
  memcpy(pt, DC_CONTROL_MAGIC, sizeof(DC_CONTROL_MAGIC));
  pt[16] = CTL_CH_LINK;
  memcpy(pt + CTL_HDR, msg, len);
  k = sess_encrypt(&e->s, pt, CTL_HDR + len, now, pkt, sizeof(pkt));
  if (k > 0) {
    relay_wrap(n, r, RELAY_MSG_FWD, e->s.peer_id, pkt, (size_t)k, now);
    link_after_event(n, r, now);
  }
  link_after_event(n, e, now); /* (the encryption may have started a rekey) */
}

static void e2e_probe(struct node *n, struct link *e, const uint8_t via[RL_ID_LEN],
                      uint32_t nonce, uint64_t now) {
  uint8_t probe[5] = {LINK_MSG_PROBE};
  memcpy(probe + 1, &nonce, 4);
  n->c.probes_sent++;
  e2e_ctl_via(n, e, via, probe, sizeof(probe), now);
}

bool node_nat_is_probe(const uint8_t *pt, size_t len) {
  return len == CTL_HDR + 5 && memcmp(pt, DC_CONTROL_MAGIC, sizeof(DC_CONTROL_MAGIC)) == 0 &&
         pt[16] == CTL_CH_LINK &&
         (pt[CTL_HDR] == LINK_MSG_PROBE || pt[CTL_HDR] == LINK_MSG_PROBE_REPLY);
}

bool node_nat_e2e_recv(struct node *n, struct link *l, const uint8_t *pt, size_t len,
                       const uint8_t *relay, uint64_t now) {
  if (node_nat_is_probe(pt, len)) {
    const uint8_t *nonce = pt + CTL_HDR + 1;
    if (pt[CTL_HDR] == LINK_MSG_PROBE) {
      uint8_t reply[5] = {LINK_MSG_PROBE_REPLY};
      memcpy(reply + 1, nonce, 4);
      if (relay)
        e2e_ctl_via(n, l, relay, reply, sizeof(reply), now);
      else
        link_send_ctl(n, l, CTL_CH_LINK, reply, sizeof(reply), now);
    } else if (relay && l->has_relay && memcmp(relay, l->relay_id, RL_ID_LEN) == 0 &&
               l->probe_sent_ns && memcmp(nonce, &l->probe_nonce, 4) == 0) {
      l->relay_rx_ns = now; /* the relay in use works */
    } else if (relay && l->has_standby && l->standby_probe_ns &&
               memcmp(relay, l->standby_id, RL_ID_LEN) == 0 &&
               memcmp(nonce, &l->standby_nonce, 4) == 0) {
      l->standby_ok_ns = now;
      l->standby_probe_ns = 0;
    }
    return true;
  }
  return false; /* (the peer's choice of relay is followed in path_heard) */
}

/* The relay in use went silent: move to the standby if its path answered
 * lately, else to the best other relay (unchecked), else back to overlay
 * routing (a relay is chosen again at the next tick). */
static void relay_failover(struct node *n, struct link *e, uint64_t now) {
  char a[2 * RL_ID_LEN + 1], b[2 * RL_ID_LEN + 1], c[2 * RL_ID_LEN + 1];
  struct link *r = NULL;
  uint64_t ms = 0;
  bool checked = false;
  n->c.relay_failovers++;
  shun(e, e->relay_id, now);
  if (e->has_standby && e->standby_ok_ns && now - e->standby_ok_ns <= NODE_STANDBY_FRESH_NS &&
      !shunned(e, e->standby_id, now))
    r = direct_up(n, e->standby_id);
  checked = r != NULL;
  if (!r)
    r = best_relay(n, e->s.peer_id, e, NULL, now, &ms);
  rl_hex_encode(a, e->s.peer_id, RL_ID_LEN);
  rl_hex_encode(b, e->relay_id, RL_ID_LEN);
  if (r)
    rl_hex_encode(c, r->s.peer_id, RL_ID_LEN);
  rl_logf(n->env, RL_LOG_INFO, "relay: to %.16s via %.16s silent for %llu ms; %s%.16s", a, b,
          (unsigned long long)((now - e->relay_rx_ns) / NS_PER_MS),
          r ? (checked ? "to standby " : "to unchecked ") : "overlay routing", r ? c : "");
  e->has_standby = false;
  e->standby_probe_ns = e->standby_ok_ns = 0;
  if (!r) {
    e->has_relay = false;
    e->probe_sent_ns = 0;
    e->probe_phase = 0;
    if (e->ov_up)
      node_ov_link_down(n, e, now);
    return;
  }
  node_nat_set_relay(e, r->s.peer_id, now);
}

/* Liveness of a relayed path that carries traffic (see above). */
static void relayed_liveness(struct node *n, struct link *e, uint64_t now) {
  if (e->probe_sent_ns && e->relay_rx_ns > e->probe_sent_ns) {
    e->probe_sent_ns = 0; /* heard through the relay: alive */
    e->probe_phase = 0;
  }
  if (e->probe_sent_ns) {
    if (now - e->probe_sent_ns < NODE_RELAY_PROBE_WAIT_NS) {
      relay_arm(n, e->probe_sent_ns + NODE_RELAY_PROBE_WAIT_NS);
      return;
    }
    relay_failover(n, e, now);
    if (!e->has_relay)
      return;
  }
  if (e->relay_tx_ns <= e->relay_rx_ns)
    return; /* nothing sent since it was last heard: nothing to suspect */
  if (now - e->relay_rx_ns < NODE_RELAY_SUSPECT_NS) {
    relay_arm(n, e->relay_rx_ns + NODE_RELAY_SUSPECT_NS);
    return;
  }
  e->probe_nonce = rl_rand_u32(n->env);
  e->probe_sent_ns = now;
  e->probe_phase = 1;
  e2e_probe(n, e, e->relay_id, e->probe_nonce, now);
  relay_arm(n, now + NODE_RELAY_PROBE_WAIT_NS);
}

/* Keeps a standby relay for e, its path checked every STANDBY_CHECK. */
static void standby_update(struct node *n, struct link *e, uint64_t now) {
  uint64_t ms;
  struct link *r;
  if (e->standby_probe_ns && now - e->standby_probe_ns >= NODE_STANDBY_CHECK_NS) {
    shun(e, e->standby_id, now); /* no answer through it: try another */
    e->has_standby = false;
    e->standby_probe_ns = e->standby_ok_ns = 0;
  }
  if (e->standby_probe_ns)
    return;
  r = best_relay(n, e->s.peer_id, e, e->relay_id, now, &ms);
  if (!r) {
    e->has_standby = false;
    return;
  }
  if (!e->has_standby || memcmp(e->standby_id, r->s.peer_id, RL_ID_LEN) != 0) {
    e->has_standby = true;
    memcpy(e->standby_id, r->s.peer_id, RL_ID_LEN);
    e->standby_ok_ns = 0;
  } else if (e->standby_ok_ns && now - e->standby_ok_ns < NODE_STANDBY_CHECK_NS) {
    return;
  }
  e->standby_nonce = rl_rand_u32(n->env);
  e->standby_probe_ns = now;
  e2e_probe(n, e, e->standby_id, e->standby_nonce, now);
}

static bool relayed_up(const struct link *e) {
  return e->used && e->via_overlay && e->has_relay && !e->retire_at_ns && e->s.have_peer &&
         e->s.state == SESS_ESTABLISHED;
}

/* (Links are not freed during a call, see struct node: the scan is safe.) */
static void check_relayed(struct node *n, uint64_t now, bool tick) {
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *e = n->links[i];
    if (!relayed_up(e))
      continue;
    relayed_liveness(n, e, now);
    if (tick && relayed_up(e))
      standby_update(n, e, now);
  }
}

/* ---- timers: relay choice, background direct attempts ---- */

static void use_relay(struct node *n, struct link *e, struct link *r, uint64_t sum_ms,
                      uint64_t now) {
  char a[2 * RL_ID_LEN + 1], b[2 * RL_ID_LEN + 1];
  node_nat_set_relay(e, r->s.peer_id, now);
  rl_hex_encode(a, e->s.have_peer ? e->s.peer_id : e->expect_id, RL_ID_LEN);
  rl_hex_encode(b, r->s.peer_id, RL_ID_LEN);
  rl_logf(n->env, RL_LOG_INFO, "relay: to %.16s via %.16s (rtt sum %llu ms)", a, b,
          (unsigned long long)sum_ms);
}

/* No usable relay among our links: link to a neighbour of the peer's that
 * has not refused this pair (a DHT lookup and a punch, as for any direct
 * link), so that a later tick finds a relay. Bounded: two per call. */
static void recruit_relay(struct node *n, const uint8_t id[RL_ID_LEN], const struct link *e,
                          uint64_t now) {
  const struct neigh_info *ni = neigh_find(n, id);
  uint8_t pick[2][RL_ID_LEN];
  unsigned k = 0;
  /* Chosen first, asked after: node_retry_direct may answer from the DHT
   * cache at once and store that member's neighbours, which can move the
   * neighbour cache (realloc) under ni (ASan, test_node_ring, 2026-12-03). */
  for (unsigned i = 0; ni && i < ni->n && k < 2; i++) {
    const uint8_t *nb = ni->nb[i].id;
    if (memcmp(nb, id, RL_ID_LEN) == 0 || memcmp(nb, n->hid.id, RL_ID_LEN) == 0 ||
        refused_by(e, nb) || direct_up(n, nb))
      continue;
    memcpy(pick[k++], nb, RL_ID_LEN);
  }
  for (unsigned i = 0; i < k; i++)
    node_retry_direct(n, pick[i], now);
}

static void choose_relay(struct node *n, struct link *e, uint64_t now) {
  uint64_t ms;
  struct link *r = best_relay(n, e->s.peer_id, e, NULL, now, &ms);
  if (r)
    use_relay(n, e, r, ms, now);
  else
    recruit_relay(n, e->s.peer_id, e, now); /* the overlay carries it meanwhile */
}

bool node_nat_relay_link(struct node *n, const uint8_t id[RL_ID_LEN], bool for_overlay,
                         uint64_t now) {
  uint64_t ms;
  struct link *e = e2e_link(n, id), *r = best_relay(n, id, e, NULL, now, &ms);
  struct rl_addr none;
  if (!r) {
    recruit_relay(n, id, e, now);
    return false;
  }
  if (!e) {
    memset(&none, 0, sizeof(none));
    e = link_new(n, &none, now);
    if (!e)
      return false;
    e->via_overlay = true;
    e->has_expect = true;
    memcpy(e->expect_id, id, RL_ID_LEN);
    tap_mac_from_id(id, e->mac);
  }
  e->ov_wanted |= for_overlay;
  use_relay(n, e, r, ms, now);
  if (e->s.state == SESS_ESTABLISHED) {
    /* A session whose direct path went silent is offered to the overlay
     * again only once its peer answered (node_e2e_recv): the peer may be
     * dead, and a ring that took it back would be wrong. */
    if (!e->rehs_ns)
      node_ov_link_up(n, e, now);
  } else {
    sess_start(&e->s, now);
    link_after_event(n, e, now);
  }
  return true;
}

/* ---- the NODE record: candidates, then relay hints ----
 *
 *   candidate list (nat/cand.h) | hint count (1) | count x (ID (20), RTT ms (2))
 *
 * Hints name members we hold direct links to. A peer that can reach us
 * neither directly (both behind hard NATs) nor over the overlay (it is our
 * ring neighbour, the very node that would have to forward to us) still
 * finds a relay through them. A record without hints is the candidate list
 * alone. */

/* Up to max direct, established links with a known peer, lowest RTT first. */
static unsigned hint_links(struct node *n, struct link **out, unsigned max) {
  unsigned k = 0;
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (!l->used || l->via_overlay || l->retire_at_ns || l->s.state != SESS_ESTABLISHED ||
        !l->s.have_peer)
      continue;
    unsigned at = k < max ? k++ : max;
    if (at == max) { /* full: replace the slowest if this one is faster */
      unsigned worst = 0;
      for (unsigned j = 1; j < max; j++)
        if (out[j]->s.rtt_ns > out[worst]->s.rtt_ns)
          worst = j;
      if (l->s.rtt_ns >= out[worst]->s.rtt_ns)
        continue;
      at = worst;
    }
    out[at] = l;
  }
  for (unsigned i = 1; i < k; i++) /* insertion sort by RTT: few entries */
    for (unsigned j = i; j > 0 && out[j]->s.rtt_ns < out[j - 1]->s.rtt_ns; j--) {
      struct link *t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
  return k;
}

int node_nat_record_encode(struct node *n, uint8_t *out, size_t cap) {
  struct nat_cand c[NAT_CAND_MAX];
  struct link *l[NODE_HINTS_MAX];
  struct nat_hint h[NODE_HINTS_MAX];
  unsigned k = node_nat_candidates(n, c, NAT_CAND_MAX), nh;
  int cl, hl;
  if (k == 0)
    return 0; /* nothing to publish */
  cl = nat_cand_encode(c, k, out, cap);
  if (cl < 0)
    return cl;
  nh = hint_links(n, l, NODE_HINTS_MAX);
  for (unsigned i = 0; i < nh; i++) {
    hint_of(l[i], &h[i]);
    memcpy(n->pub_hints[i], h[i].id, RL_ID_LEN);
  }
  n->n_pub_hints = (uint8_t)nh;
  hl = nat_hints_encode(h, nh, out + cl, cap - (size_t)cl);
  return hl < 0 ? hl : cl + hl;
}

int node_nat_record_decode(struct node *n, const uint8_t id[RL_ID_LEN], const uint8_t *val,
                           size_t len, struct nat_cand *c, unsigned max, uint64_t now) {
  struct nat_hint h[NODE_NEIGH_MAX];
  unsigned nh;
  int nc = nat_record_decode(c, max, h, NODE_NEIGH_MAX, &nh, val, len);
  if (nc >= 0 && nh)
    neigh_store(n, id, h, nh, now);
  return nc;
}

/* Republish the NODE record when a published hint is no longer linked, or
 * when there are more hints to give than we published (not when RTTs merely
 * reorder them: every republication is a signed DHT put to k replicas). */
static void check_hints(struct node *n, uint64_t now) {
  struct link *h[NODE_HINTS_MAX];
  unsigned nh;
  bool stale = false;
  if (now < n->next_hint_ns || !n->published)
    return;
  n->next_hint_ns = now + NODE_HINT_CHECK_NS;
  nh = hint_links(n, h, NODE_HINTS_MAX);
  for (unsigned j = 0; j < n->n_pub_hints && !stale; j++)
    stale = direct_up(n, n->pub_hints[j]) == NULL;
  if (stale || nh > n->n_pub_hints)
    node_publish_endpoints(n, now);
}

void node_nat_seek_relay(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t delay_ns,
                         bool lookup, bool for_overlay, uint64_t now) {
  unsigned slot = 0;
  for (unsigned i = 0; i < NODE_RELAY_WANT_MAX; i++) {
    if (memcmp(n->relay_want[i].id, id, RL_ID_LEN) == 0) {
      slot = i;
      break;
    }
    if (n->relay_want[i].until_ns < n->relay_want[slot].until_ns)
      slot = i; /* else the one closest to expiry */
  }
  if (n->relay_want[slot].until_ns > now && memcmp(n->relay_want[slot].id, id, RL_ID_LEN) == 0) {
    n->relay_want[slot].for_overlay |= for_overlay;
    return; /* already at it */
  }
  memcpy(n->relay_want[slot].id, id, RL_ID_LEN);
  n->relay_want[slot].from_ns = now + delay_ns;
  n->relay_want[slot].until_ns = now + delay_ns + NODE_RELAY_WANT_NS;
  n->relay_want[slot].for_overlay = for_overlay;
  if (lookup)
    node_retry_direct(n, id, now);
}

/* Peers we seek a relay to: retry while it lasts (a relay we recruited, a
 * hint's link, may have come up since); done once the overlay has a link. */
static void retry_wanted_relays(struct node *n, uint64_t now) {
  for (unsigned i = 0; i < NODE_RELAY_WANT_MAX; i++) {
    struct link *e;
    if (!n->relay_want[i].until_ns)
      continue;
    e = e2e_link(n, n->relay_want[i].id);
    /* Done when linked; a peer-side seek (not for our overlay) also stops
     * at any end-to-end session: its own relay choice covers it, and a
     * second session to the same peer would only compete with it. */
    if (now >= n->relay_want[i].until_ns || direct_up(n, n->relay_want[i].id) ||
        (e && (e->has_relay || !n->relay_want[i].for_overlay))) {
      n->relay_want[i].until_ns = 0;
      continue;
    }
    if (now >= n->relay_want[i].from_ns &&
        node_nat_relay_link(n, n->relay_want[i].id, n->relay_want[i].for_overlay, now))
      n->relay_want[i].until_ns = 0;
  }
}

uint64_t node_nat_next_timer(const struct node *n) {
  uint64_t t = n->relay_check_ns && n->relay_check_ns < n->next_nat_tick_ns
                   ? n->relay_check_ns
                   : n->next_nat_tick_ns;
  uint64_t b = node_bday_next_timer(n);
  return b < t ? b : t;
}

/* Liveness of direct links: a peer that stops answering is found in
 * seconds (the session's own timeout is 40 s of silence). Only links we
 * sent on since we last heard from the peer are suspected; an idle link is
 * left alone (keepalives hold it). Escalation: a probe (answered at once by
 * a live peer); then a fresh handshake, which also heals a session the
 * peer has lost (restart, a duplicate it dropped); then the link is dead. */
static void check_liveness(struct node *n, uint64_t now) {
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    uint8_t probe[5];
    if (!l->used || l->retire_at_ns || l->s.state != SESS_ESTABLISHED)
      continue;
    if (l->rehs_ns) {
      /* The fresh handshake: answered by any path, or the peer is gone. */
      if (l->s.last_rx_ns > l->rehs_ns) {
        l->rehs_ns = 0;
      } else if (now - l->rehs_ns >= NODE_REHANDSHAKE_WAIT_NS) {
        n->c.links_failed_fast++;
        link_peer_exited(n, l, now);
        continue;
      }
    }
    if (l->via_overlay || l->rehs_ns)
      continue; /* routed paths: relayed_liveness */
    if (l->probe_sent_ns && l->path_rx_ns > l->probe_sent_ns) {
      l->probe_sent_ns = 0; /* heard by this path: alive */
      l->probe_phase = 0;
    }
    if (l->probe_phase == 1 && now - l->probe_sent_ns >= NODE_PROBE_WAIT_NS) {
      /* The peer does not hold this session (it restarted and opened
       * another one with us): that one sends from now on. */
      struct link *o = link_tx(n, l->s.peer_id, LINK_TX_ANY, l);
      if (o && o->s.state == SESS_ESTABLISHED && o->proven && o->s.last_rx_ns > l->s.last_rx_ns) {
        link_retire_now(n, l, o, now);
        continue;
      }
      /* The direct path is silent: the session goes on over the overlay
       * (a relay at the next tick) while a fresh handshake by that path
       * checks that the peer still holds it. A configured peer without
       * an overlay keeps the old way: a fresh handshake by the direct path. */
      l->probe_phase = 0;
      l->probe_sent_ns = 0;
      l->rehs_ns = now;
      if (path_can_route(n, l))
        path_leave_direct(n, l, now);
      sess_rekey(&l->s, now);
      link_after_event(n, l, now);
      continue;
    }
    if (!l->probe_sent_ns && l->s.last_tx_ns > l->path_rx_ns &&
        now - l->path_rx_ns >= NODE_SUSPECT_NS) {
      l->probe_nonce = rl_rand_u32(n->env);
      probe[0] = LINK_MSG_PROBE;
      memcpy(probe + 1, &l->probe_nonce, 4);
      l->probe_sent_ns = now;
      l->probe_phase = 1;
      n->c.probes_sent++;
      link_send_ctl(n, l, CTL_CH_LINK, probe, sizeof(probe), now);
      link_after_event(n, l, now);
    }
  }
}

void node_nat_on_timer(struct node *n, uint64_t now) {
  node_bday_on_timer(n, now);
  bool tick = now >= n->next_nat_tick_ns;
  if (tick || (n->relay_check_ns && now >= n->relay_check_ns)) {
    n->relay_check_ns = 0; /* re-armed by the links that still need it */
    check_relayed(n, now, tick);
  }
  if (!tick)
    return;
  n->next_nat_tick_ns = now + NODE_NAT_TICK_NS;
  check_liveness(n, now);
  node_tcp_on_tick(n, now);
  check_hints(n, now);
  retry_wanted_relays(n, now);
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *e = n->links[i];
    if (!e->used || !e->via_overlay || e->retire_at_ns || e->s.state != SESS_ESTABLISHED ||
        !e->s.have_peer || direct_up(n, e->s.peer_id))
      continue;
    if (!e->has_relay && now - e->s.established_ns >= n->cfg.relay_after_ns)
      choose_relay(n, e, now);
    if (!e->next_direct_ns) {
      e->direct_backoff_ns = NODE_DIRECT_RETRY_MIN_NS;
      e->next_direct_ns = now + e->direct_backoff_ns;
    } else if (now >= e->next_direct_ns) {
      /* Keep trying direct in the background: NAT bindings and mappings
       * change, and a direct path always beats a relay. */
      e->direct_backoff_ns *= 2;
      if (e->direct_backoff_ns > NODE_DIRECT_RETRY_MAX_NS)
        e->direct_backoff_ns = NODE_DIRECT_RETRY_MAX_NS;
      e->next_direct_ns = now + e->direct_backoff_ns;
      node_retry_direct(n, e->s.peer_id, now);
    }
  }
}

/* ---- for node_bday.c ---- */

struct link *node_nat_direct_up(struct node *n, const uint8_t id[RL_ID_LEN]) {
  return direct_up(n, id);
}
