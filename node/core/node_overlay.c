/* The node core's side of the overlay: link events in, overlay actions out,
 * overlay messages inside links, and end-to-end sessions carried by overlay
 * routing (a link with via_overlay set: its handshake and data packets are
 * routed as OV_APP_E2E payloads to the peer's overlay ID, so intermediate
 * hops only ever see ciphertext of a session they are not part of). */
#include <ringlan/error.h>
#include <string.h>

#include "node/core/node_internal.h"

int node_ov_init(struct node *n, uint64_t now) {
  struct ov_config oc;
  (void)now;
  ov_config_default(&oc);
  oc.env = n->env;
  memcpy(oc.self_id, n->hid.id, RL_ID_LEN);
  if (n->cfg.ring_successors)
    oc.n_successors = n->cfg.ring_successors;
  if (n->cfg.broadcast_rate)
    oc.bcast_rate = n->cfg.broadcast_rate;
  if (n->cfg.broadcast_burst)
    oc.bcast_burst = n->cfg.broadcast_burst;
  oc.bcast_check = lan_bcast_check;
  oc.bcast_ctx = n;
  n->ov = overlay_new(&oc);
  if (!n->ov)
    return RL_ENOMEM;
  if (n->n_local)
    overlay_set_self_endpoints(n->ov, n->local, n->n_local);
  return 0;
}

/* Links the overlay may use: direct ones, and end-to-end sessions through
 * a relay (overlay-routed sessions would route the overlay over itself). */
static bool ov_capable(const struct link *l) { return !l->via_overlay || l->has_relay; }

void node_ov_link_up(struct node *n, struct link *l, uint64_t now) {
  if (!n->ov || !ov_capable(l) || l->ov_up || !l->s.have_peer)
    return;
  l->ov_up = true;
  overlay_link_up(n->ov, l->s.peer_id, &l->s.endpoint, l->s.rtt_ns, now);
  /* The first link (a bootstrap node, a static peer or a remembered one)
   * is enough to join; later links only add to the routing table. */
  if (!n->ov_joined_once) {
    n->ov_joined_once = true;
    overlay_join(n->ov, now);
  }
  node_ov_pump(n, now);
}

static bool other_attempt(struct node *n, const struct link *l, const uint8_t id[RL_ID_LEN]) {
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *o = n->links[i];
    if (o == l || !o->used || o->retire_at_ns)
      continue;
    if ((o->s.have_peer && memcmp(o->s.peer_id, id, RL_ID_LEN) == 0 && ov_capable(o)) ||
        (o->has_expect && memcmp(o->expect_id, id, RL_ID_LEN) == 0 && o->s.state != SESS_DEAD))
      return true;
  }
  return false;
}

void node_ov_handover(struct node *n, struct link *from, struct link *to, uint64_t now) {
  from->ov_up = false;
  if (!n->ov)
    return;
  if (ov_capable(to) && to->s.state == SESS_ESTABLISHED) {
    /* The overlay keeps its link; the repeated event gives it the new
     * endpoint (a relayed session is replaced by a direct one). */
    to->ov_up = true;
    overlay_link_up(n->ov, to->s.peer_id, &to->s.endpoint, to->s.rtt_ns, now);
  } else {
    overlay_link_down(n->ov, from->s.peer_id, now);
  }
  node_ov_pump(n, now);
}

void node_ov_link_down(struct node *n, struct link *l, uint64_t now) {
  if (n->ov && l->ov_up && l->s.have_peer) {
    /* Another session of the pair that can carry the overlay takes over
     * (the overlay must not see the member go while it is linked). */
    struct link *t = link_tx(n, l->s.peer_id, LINK_TX_DIRECT | LINK_TX_RELAY, l);
    if (t && t->s.state == SESS_ESTABLISHED) {
      node_ov_handover(n, l, t, now);
      return;
    }
  }
  if (n->ov && !l->ov_up && l->ov_wanted && l->has_expect) {
    /* A link the overlay asked for could not be opened. While other
     * attempts run, wait for them; when the direct ones are all gone, try
     * a relay (NAT pairs that cannot punch); else tell the overlay (the
     * node may be dead). */
    if (other_attempt(n, l, l->expect_id))
      return;
    if (!l->via_overlay && node_nat_relay_link(n, l->expect_id, true, now))
      return;
    /* No relay known: its NODE record names members that can relay (the
     * overlay may have no route to it: we may be its ring neighbour). */
    if (!l->via_overlay)
      node_nat_seek_relay(n, l->expect_id, 0, true, true, now);
    overlay_link_down(n->ov, l->expect_id, now);
    node_ov_pump(n, now);
    return;
  }
  if (!n->ov || !l->ov_up)
    return;
  l->ov_up = false;
  overlay_link_down(n->ov, l->s.peer_id, now);
  node_ov_pump(n, now);
}

void node_ov_control(struct node *n, struct link *l, const uint8_t *msg, size_t len,
                     uint64_t now) {
  if (len > CTL_HDR && msg[16] == CTL_CH_REVOKE && l->s.have_peer) {
    node_revoke_recv(n, l, msg + CTL_HDR, len - CTL_HDR, now);
    return;
  }
  if (len > CTL_HDR && msg[16] == CTL_CH_BDAY && l->s.have_peer) {
    node_bday_recv(n, l->s.peer_id, msg + CTL_HDR, len - CTL_HDR, now);
    return;
  }
  if (!n->ov || len < CTL_HDR || !ov_capable(l))
    return;
  if (msg[16] == CTL_CH_OVERLAY) {
    l->last_data_ns = now; /* overlay traffic keeps a link, as data does */
    overlay_recv(n->ov, l->s.peer_id, msg + CTL_HDR, len - CTL_HDR, now);
    node_ov_pump(n, now);
  } else if (!l->via_overlay) {
    node_nat_control(n, l, msg, len, now);
  }
}

/* The link carrying overlay messages to id: direct, or relayed. */
static struct link *ov_link(struct node *n, const uint8_t id[RL_ID_LEN]) {
  return link_tx(n, id, LINK_TX_DIRECT | LINK_TX_RELAY, NULL);
}

static struct link *pending_direct_to(struct node *n, const uint8_t id[RL_ID_LEN]) {
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (l->used && !l->via_overlay && l->has_expect &&
        memcmp(l->expect_id, id, RL_ID_LEN) == 0)
      return l;
  }
  return NULL;
}

static void act_send(struct node *n, const struct ov_action *a, uint64_t now) {
  /* (An overlay message sent counts as use of the link, see below.) */
  struct link *l = ov_link(n, a->peer);
  if (!l || l->s.state != SESS_ESTABLISHED) {
    n->c.ov_send_no_link++;
    return;
  }
  if (a->len + CTL_HDR > sizeof(n->sc->pt)) {
    n->c.ov_too_big++;
    return;
  }
  l->last_data_ns = now;
  link_send_ctl(n, l, CTL_CH_OVERLAY, a->data, a->len, now);
  link_after_event(n, l, now);
}

static void act_connect(struct node *n, const struct ov_action *a, uint64_t now) {
  struct link *l = ov_link(n, a->node.id);
  if (!l)
    l = pending_direct_to(n, a->node.id);
  if (l) {
    l->ov_wanted = true;
    node_link_tell_want(n, l, now);
    if (l->s.state == SESS_ESTABLISHED && !l->ov_up)
      node_ov_link_up(n, l, now);
    else if (l->s.state == SESS_ESTABLISHED)
      /* Already up: the overlay asked again (e.g. after a restart of its
       * state); repeat the event so it can use the link. */
      overlay_link_up(n->ov, l->s.peer_id, &l->s.endpoint, l->s.rtt_ns, now);
    return;
  }
  if (memcmp(a->node.id, n->hid.id, RL_ID_LEN) == 0 || a->node.n_ep == 0)
    return;
  /* Every advertised endpoint at once (mapped, reflexive, local): the
   * first handshake to complete wins, the others are dropped. The
   * descriptor came from another member (a successor list, a lookup
   * answer), so its endpoints pass the candidate filter: never loopback,
   * link-local, multicast, unspecified, broadcast or the virtual LAN. Our
   * own LAN stays dialable (same_site = true) unless allow_lan_candidates
   * is no: ring links must form on a flat private LAN before anyone knows
   * its reflexive address, and their handshakes are few
   * (NODE_OV_CONNECT_TRIES). A new link toward an IP that never answered
   * us takes its handshakes from a per-IP and a total budget
   * (node_dial.c): forged descriptors cannot aim them at a third party in
   * numbers. docs/security.md, finding 2. */
  bool dialling = false;
  for (unsigned i = 0; i < a->node.n_ep && i < OV_MAX_ENDPOINTS; i++) {
    if (!node_can_dial(n, &a->node.ep[i]) || node_is_own_addr(n, &a->node.ep[i]) ||
        !node_nat_cand_allowed(n, &a->node.ep[i], true))
      continue;
    if ((l = link_to_endpoint(n, &a->node.ep[i])) != NULL) {
      dialling = true;
      l->ov_wanted = true; /* already dialling there (a static peer, a punch) */
      continue;
    }
    if (!node_dial_take(n, &a->node.ep[i], NODE_OV_CONNECT_TRIES, now))
      continue;
    l = link_new(n, &a->node.ep[i], now);
    if (!l)
      return;
    l->ov_wanted = true;
    l->has_expect = true;
    memcpy(l->expect_id, a->node.id, RL_ID_LEN);
    l->s.p.hs_max_tries = NODE_OV_CONNECT_TRIES;
    dialling = true;
    sess_start(&l->s, now);
    link_after_event(n, l, now);
  }
  /* The node may sit behind a NAT that drops our handshakes until it has
   * sent toward us: ask it to (routed over the overlay). */
  node_nat_punch_request(n, a->node.id, now);
  node_bday_consider_eps(n, a->node.id, a->node.ep, a->node.n_ep, now);
  /* Nothing to dial (its only endpoint is a private address equal to ours,
   * behind another NAT; or over the dial budget), so no failed handshake
   * will start the relay fallback: look the node up (candidates, relay hints) and, unless a
   * punch has worked by then, relay after relay_after_ns. */
  if (!dialling)
    node_nat_seek_relay(n, a->node.id, n->cfg.relay_after_ns, true, true, now);
}

static void act_disconnect(struct node *n, const struct ov_action *a, uint64_t now) {
  struct link *l = link_tx(n, a->peer, LINK_TX_DIRECT, NULL);
  if (l) {
    l->ov_wanted = false; /* closed by the idle reaper unless used for data */
    node_link_tell_want(n, l, now);
  }
}

/* An authenticated handshake message of end-to-end session l came
 * through relay (NULL: overlay-routed): answer the same way. */
static void e2e_follow_relay(struct node *n, struct link *l, const uint8_t *relay,
                             uint64_t now) {
  if (relay && l->via_overlay && (!l->has_relay || memcmp(l->relay_id, relay, RL_ID_LEN) != 0)) {
    l->has_relay = true;
    memcpy(l->relay_id, relay, RL_ID_LEN);
    l->relay_rx_ns = now;
  }
  if (l->has_relay && l->s.state == SESS_ESTABLISHED && !l->ov_up)
    node_ov_link_up(n, l, now);
}

/* A packet of an end-to-end session from src: routed to us over the
 * overlay (OV_APP_E2E), or delivered by a relay (relay != NULL). */
void node_e2e_recv(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t *pkt, size_t len,
                   uint64_t now, const uint8_t *relay) {
  struct rl_addr none;
  struct link *l;
  struct path_move mv;
  int r;
  memset(&none, 0, sizeof(none));
  n->c.e2e_in++;
  if (len < 4) {
    n->c.e2e_bad++;
    return;
  }
  if ((pkt[0] >> 3) == HS_OP_INIT) {
    l = node_recv_init(n, &none, pkt, len, now, src, relay);
  } else {
    /* A direct session too: the peer may have moved it onto the overlay
     * (its direct path went silent, path.c). */
    l = link_by_index(n, hs_pkt_index(pkt));
    if (!l || (!l->via_overlay && !l->s.have_peer) ||
        (l->s.have_peer && memcmp(l->s.peer_id, src, RL_ID_LEN) != 0) ||
        /* a cookie for our handshake toward X comes from X */
        ((pkt[0] >> 3) == HS_OP_COOKIE && !l->s.have_peer &&
         (!l->has_expect || memcmp(l->expect_id, src, RL_ID_LEN) != 0))) {
      n->c.e2e_bad++;
      return;
    }
  }
  if (!l)
    return;
  /* Answer the way the peer chose: through the same relay. Only for a
   * packet that proved to come from the peer (an HS_INIT the responder
   * accepted; an HS_RESP that completed our handshake; data, path.c):
   * a relay cannot pull a pair's traffic through itself by delivering
   * junk in the pair's name (issue 10, finding 5). A relayed session is
   * also a link the overlay may use. */
  if ((pkt[0] >> 3) == HS_OP_INIT) {
    e2e_follow_relay(n, l, relay, now);
    return;
  }
  r = sess_recv(&l->s, &none, pkt, len, now, n->sc->pt, sizeof(n->sc->pt));
  if (r >= 0 && (pkt[0] >> 3) == HS_OP_RESP)
    e2e_follow_relay(n, l, relay, now);
  memset(&mv, 0, sizeof(mv));
  if (r >= 0 && (pkt[0] >> 3) == DC_OP_DATA_V2)
    path_heard(n, l, NULL, 0, true, relay, r > 0,
               r > 0 && node_nat_is_probe(n->sc->pt, (size_t)r), &mv, now);
  if (r >= 0 && (pkt[0] >> 3) == DC_OP_DATA_V2 &&
      node_nat_e2e_recv(n, l, n->sc->pt, (size_t)r, relay, now))
    r = 0; /* a path probe: consumed */
  if (r > 0)
    path_deliver(n, l, n->sc->pt, (size_t)r, now);
  if (r >= 0 && (pkt[0] >> 3) == DC_OP_DATA_V2)
    link_rx(n, l, r > 0, now);
  /* (after the delivery: overlay sends reuse n->sc->pt) */
  path_follow(n, l, &mv, now);
  if (l->has_relay && l->s.state == SESS_ESTABLISHED && !l->ov_up)
    node_ov_link_up(n, l, now);
  link_after_event(n, l, now);
}

void node_e2e_reply(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t *relay,
                    const uint8_t *pkt, size_t len, uint64_t now) {
  uint8_t copy[COOKIE_MSG_LEN], to[RL_ID_LEN];
  if (len > sizeof(copy))
    return;
  /* (pkt is scratch that the sends below reuse) */
  memcpy(copy, pkt, len);
  memcpy(to, src, RL_ID_LEN);
  if (relay) {
    uint8_t via[RL_ID_LEN];
    memcpy(via, relay, RL_ID_LEN);
    if (node_nat_relay_fwd(n, via, to, copy, len, now) == 0)
      return;
  }
  if (!n->ov)
    return;
  overlay_route(n->ov, to, OV_ROUTE_EXACT, OV_APP_E2E, copy, len, now);
  node_ov_pump(n, now);
}

static void test_route_arrived(struct node *n, const struct ov_action *a) {
  if (!n->cfg.test_routes || a->len != 4)
    return; /* the daemon takes no probes */
  if (n->n_test_dl == NODE_TEST_ROUTES_MAX) {
    n->c.test_routes_dropped++;
    return;
  }
  n->test_dl[n->n_test_dl].cookie = (uint32_t)a->data[0] << 24 | (uint32_t)a->data[1] << 16 |
                                    (uint32_t)a->data[2] << 8 | a->data[3];
  n->test_dl[n->n_test_dl++].hops = a->hops;
}

void node_ov_pump(struct node *n, uint64_t now) {
  struct ov_action *a = &n->sc->act;
  if (n->ov_pumping)
    return;
  n->ov_pumping = true;
  /* Bounded: one event cannot make the node loop forever. */
  for (int i = 0; i < 4096 && n->ov && overlay_poll(n->ov, a); i++) {
    switch (a->kind) {
    case OV_ACT_SEND:
      act_send(n, a, now);
      break;
    case OV_ACT_CONNECT:
      act_connect(n, a, now);
      break;
    case OV_ACT_DISCONNECT:
      act_disconnect(n, a, now);
      break;
    case OV_ACT_DELIVER:
      if (a->app == OV_APP_E2E)
        node_e2e_recv(n, a->peer, a->data, a->len, now, NULL);
      else if (a->app == OV_APP_TEST)
        test_route_arrived(n, a);
      else
        node_routed_deliver(n, a, now);
      break;
    case OV_ACT_RING_CHANGED:
      node_ring_changed(n, now);
      break;
    case OV_ACT_BCAST:
      lan_bcast_deliver(n, a, now);
      break;
    default:
      break;
    }
  }
  n->ov_pumping = false;
}

int node_test_route(struct node *n, const uint8_t key[RL_ID_LEN], uint32_t cookie,
                    uint64_t now) {
  if (!n->ov || !n->cfg.test_routes)
    return RL_ESTATE;
  uint8_t p[4] = {(uint8_t)(cookie >> 24), (uint8_t)(cookie >> 16), (uint8_t)(cookie >> 8),
                  (uint8_t)cookie};
  int r = overlay_route(n->ov, key, OV_ROUTE_OWNER, OV_APP_TEST, p, sizeof(p), now);
  node_ov_pump(n, now);
  return r;
}

bool node_poll_test_route(struct node *n, uint32_t *cookie, uint8_t *hops) {
  if (!n->n_test_dl)
    return false;
  *cookie = n->test_dl[0].cookie;
  *hops = n->test_dl[0].hops;
  n->n_test_dl--;
  memmove(&n->test_dl[0], &n->test_dl[1], n->n_test_dl * sizeof(n->test_dl[0]));
  return true;
}

/* Sends one packet of an overlay-carried session. */
int node_ov_send_pkt(struct node *n, struct link *l, const uint8_t *pkt, size_t len,
                     uint64_t now) {
  int r;
  if (!n->ov || (!l->s.have_peer && !l->has_expect))
    return RL_ESTATE;
  if (l->has_relay && node_nat_relay_send(n, l, pkt, len, now) == 0)
    return 0;
  r = overlay_route(n->ov, l->s.have_peer ? l->s.peer_id : l->expect_id, OV_ROUTE_EXACT,
                    OV_APP_E2E, pkt, len, now);
  node_ov_pump(n, now);
  return r;
}

uint64_t node_ov_next_timer(const struct node *n) {
  return n->ov ? overlay_next_timer(n->ov) : RL_TIME_NEVER;
}

void node_ov_on_timer(struct node *n, uint64_t now) {
  if (n->ov && overlay_next_timer(n->ov) <= now) {
    overlay_on_timer(n->ov, now);
    node_ov_pump(n, now);
  }
}
