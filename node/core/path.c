/* The paths of a session.
 *
 * A pair of members holds one session that sends (link_tx), and how its
 * packets travel is a property of that session, not a session of its own:
 * direct (UDP or TCP to s.endpoint from local socket `sock`), through a
 * relay (relay_id), or routed over the overlay. The path changes only on
 * authenticated packets of the session itself, or when our own liveness
 * checks find it silent:
 *
 *  - up: a direct session that punching opened beside an end-to-end one
 *    lends it its path (path_adopt) and retires; the peer follows the
 *    first newer packet that arrives directly; a relayed delivery of a
 *    newer packet moves an overlay-routed session onto that relay;
 *  - down: a direct path that stops answering (node_nat.c liveness) hands
 *    the session to the overlay (path_leave_direct), where a relay is
 *    chosen at the next tick; a peer that did so is followed once our own
 *    direct path has been silent too.
 *
 * "Newer" is by packet id under the session's current key, so packets
 * still on their way over the path just left never pull the session back.
 * Packet ids also undo the reordering a switch causes: frames that arrive
 * over the new path while older ones are still on their way over the old
 * one wait (bounded in count and time) and go to the TAP device after
 * them (path_deliver). */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/node_internal.h"

/* A path as a 32-bit tag (FNV-1a): equal paths, equal tags; a collision
 * only costs a missed reorder hold. */
static uint32_t fnv(uint32_t h, const uint8_t *p, size_t len) {
  for (size_t i = 0; i < len; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

static uint32_t tag_of(const struct rl_addr *from, unsigned sock, bool routed,
                       const uint8_t *relay) {
  uint32_t h = 2166136261u;
  uint8_t k = routed ? (relay ? 2 : 1) : 3;
  h = fnv(h, &k, 1);
  if (routed && relay)
    return fnv(h, relay, RL_ID_LEN);
  if (routed)
    return h;
  h = fnv(h, &from->family, 1);
  h = fnv(h, &from->proto, 1);
  h = fnv(h, from->ip, sizeof(from->ip));
  h = fnv(h, (const uint8_t *)&from->port, sizeof(from->port));
  return fnv(h, (const uint8_t *)&sock, sizeof(sock));
}

struct path_hold {
  uint32_t new_tag;     /* frames that came by this path wait */
  uint8_t key;
  uint64_t wait_pid;    /* ... until this packet (the last one sent by the
                         * old path) arrives, or until hold_until_ns */
  struct pktq q;
};

void path_free(struct link *l) {
  if (l->hold) {
    pktq_free(&l->hold->q);
    free(l->hold);
    l->hold = NULL;
  }
  l->hold_until_ns = 0;
}

static bool is_frame(const uint8_t *pt, size_t len) {
  return !(len >= sizeof(DC_CONTROL_MAGIC) &&
           memcmp(pt, DC_CONTROL_MAGIC, sizeof(DC_CONTROL_MAGIC)) == 0) &&
         !(len >= sizeof(DC_OCC_MAGIC) && memcmp(pt, DC_OCC_MAGIC, sizeof(DC_OCC_MAGIC)) == 0);
}

/* The held frames go out, in the order they came (their path's order). */
static void hold_release(struct node *n, struct link *l, uint64_t now) {
  uint8_t buf[NODE_FRAME_MAX];
  size_t len;
  bool was = l->hold_until_ns != 0;
  l->hold_until_ns = 0;
  if (was)
    link_timer_changed(n, l);
  if (!l->hold)
    return;
  /* Bounded by the queue's size (NODE_HOLD_MAX). */
  while (l->used && (len = pktq_pop(&l->hold->q, NULL, buf, sizeof(buf))) > 0)
    lan_deliver_frame(n, l, buf, len, now);
}

/* Reordering: called for every authenticated data packet before the
 * newest-packet state moves on. */
static void hold_check(struct node *n, struct link *l, uint32_t tag, uint8_t key, uint64_t pid,
                       bool newest, struct path_move *mv, uint64_t now) {
  if (l->hold_until_ns) {
    /* The last packet of the old path is here: the held frames go after
     * it (path_follow). */
    if (key != l->hold->key || (tag != l->hold->new_tag && pid >= l->hold->wait_pid))
      mv->release = true;
    return;
  }
  /* A newer packet by another path than the newest so far, with a gap
   * before it, while the old path was heard a moment ago: the packets of
   * the gap are probably still on their way over it. */
  if (!newest || !l->rx_any || key != l->rx_key || tag == l->rx_tag || pid <= l->rx_hi + 1 ||
      now - l->rx_tag_ns > NODE_HOLD_RECENT_NS)
    return;
  if (!l->hold) {
    l->hold = calloc(1, sizeof(*l->hold));
    if (!l->hold)
      return; /* no memory: delivered unordered, as the network had it */
    pktq_init(&l->hold->q, NODE_HOLD_MAX);
  }
  l->hold->new_tag = tag;
  l->hold->key = key;
  l->hold->wait_pid = pid - 1;
  l->hold_until_ns = now + NODE_HOLD_NS;
  n->c.path_holds++;
  link_timer_changed(n, l);
}

void path_deliver(struct node *n, struct link *l, const uint8_t *pt, size_t len, uint64_t now) {
  if (l->hold_until_ns && l->rx_last_tag == l->hold->new_tag && is_frame(pt, len)) {
    if (pktq_put(&l->hold->q, NULL, pt, len) == 0) {
      n->c.path_held++;
      return;
    }
    hold_release(n, l, now); /* full: the waiting ones first, then this one */
  }
  lan_deliver_frame(n, l, pt, len, now);
}

void path_on_timer(struct node *n, struct link *l, uint64_t now) {
  if (l->hold_until_ns && now >= l->hold_until_ns)
    hold_release(n, l, now);
}

static void log_path(struct node *n, struct link *l, const char *why) {
  char idhex[2 * RL_ID_LEN + 1], ep[RL_ADDR_STRLEN], rl[2 * RL_ID_LEN + 1];
  rl_hex_encode(idhex, l->s.peer_id, RL_ID_LEN);
  if (l->has_relay)
    rl_hex_encode(rl, l->relay_id, RL_ID_LEN);
  rl_logf(n->env, RL_LOG_INFO, "path: peer %.16s now %s%s%.16s (%s)", idhex,
          !l->via_overlay ? "direct " : l->has_relay ? "relayed via " : "overlay-routed",
          !l->via_overlay ? rl_addr_format(&l->s.endpoint, ep, sizeof(ep)) : "",
          l->via_overlay && l->has_relay ? rl : "", why);
}

/* Other sessions of l's pair that could still send give way to l. */
static void retire_others(struct node *n, struct link *l, uint64_t now) {
  struct link *o;
  for (unsigned guard = 0; guard < 16 && (o = link_tx(n, l->s.peer_id, LINK_TX_ANY, l)) != NULL;
       guard++)
    link_retire_now(n, o, l, now); /* (retiring makes o unusable for link_tx) */
}

void path_use_direct(struct node *n, struct link *l, const struct rl_addr *ep, unsigned sock,
                     const char *why, uint64_t now) {
  bool was_routed = l->via_overlay;
  l->s.endpoint = *ep;
  l->sock = (uint16_t)sock;
  if (!was_routed)
    return;
  l->via_overlay = false;
  l->has_relay = l->has_standby = false;
  l->probe_sent_ns = l->standby_probe_ns = l->standby_ok_ns = 0;
  l->probe_phase = 0;
  l->path_rx_ns = now;
  n->c.path_switches++;
  log_path(n, l, why);
  retire_others(n, l, now);
  if (l->s.state == SESS_ESTABLISHED) {
    node_nat_link_up(n, l, now); /* reflexive report, WANT */
    if (!l->ov_up)
      node_ov_link_up(n, l, now);
  }
}

void path_use_routed(struct node *n, struct link *l, const uint8_t *relay, const char *why,
                     uint64_t now) {
  if (!l->via_overlay) {
    l->via_overlay = true;
    l->path_down_ns = now;
    l->path_down_ep = l->s.endpoint;
    l->next_direct_ns = 0; /* background direct attempts start over */
    l->has_relay = false;
  }
  if (relay)
    node_nat_set_relay(l, relay, now);
  l->path_rx_ns = now;
  n->c.path_switches++;
  log_path(n, l, why);
  /* The overlay cannot be carried by itself: only a relayed session is a
   * link it may use. */
  if (l->ov_up && !l->has_relay)
    node_ov_link_down(n, l, now);
  else if (!l->ov_up && l->has_relay && l->s.state == SESS_ESTABLISHED)
    node_ov_link_up(n, l, now);
}

void path_leave_direct(struct node *n, struct link *l, uint64_t now) {
  path_use_routed(n, l, NULL, "direct path silent", now);
}

bool path_can_route(const struct node *n, const struct link *l) {
  return n->ov && l->s.have_peer && l->s.state == SESS_ESTABLISHED && !l->retire_at_ns &&
         !l->dormant;
}

void path_adopt(struct node *n, struct link *e, struct link *d, uint64_t now) {
  uint8_t probe[5] = {LINK_MSG_PROBE};
  uint32_t nonce = rl_rand_u32(n->env);
  path_use_direct(n, e, &d->s.endpoint, d->sock, "punched", now);
  /* The peer moves on the first newer packet it gets directly: one now,
   * answered by its own direct packet. */
  memcpy(probe + 1, &nonce, 4);
  link_send_ctl(n, e, CTL_CH_LINK, probe, sizeof(probe), now);
}

void path_heard(struct node *n, struct link *l, const struct rl_addr *from, unsigned sock,
                bool routed, const uint8_t *relay, bool data, bool probe,
                struct path_move *mv, uint64_t now) {
  static const struct rl_addr none;
  uint8_t key = l->s.rx_key_id;
  uint64_t pid = l->s.rx_pid;
  uint32_t tag = tag_of(from ? from : &none, sock, routed, relay);
  bool newest = !l->rx_any || (key == l->rx_key ? pid > l->rx_hi : key == l->s.cur_key_id);
  bool on_tx_path = routed ? l->via_overlay && (relay ? l->has_relay && memcmp(relay, l->relay_id,
                                                                                 RL_ID_LEN) == 0
                                                      : !l->has_relay)
                           : !l->via_overlay;
  memset(mv, 0, sizeof(*mv));
  if (on_tx_path)
    l->path_rx_ns = now;
  if (routed && relay && l->has_relay && memcmp(relay, l->relay_id, RL_ID_LEN) == 0)
    l->relay_rx_ns = now;
  /* A probe checks some path (the standby relay's, say), not necessarily
   * the one the peer sends on: it never starts a hold or moves us, but
   * its packet id counts (it may be the one a hold waits for). */
  hold_check(n, l, tag, key, pid, newest && !probe, mv, now);
  l->rx_last_tag = tag;
  if (tag == l->rx_tag)
    l->rx_tag_ns = now;
  if (!newest)
    return;
  l->rx_any = true;
  l->rx_key = key;
  l->rx_hi = pid;
  if (probe)
    return;
  l->rx_tag = tag;
  l->rx_tag_ns = now;
  if (l->s.state != SESS_ESTABLISHED || !l->s.have_peer)
    return;
  mv->sock = sock;
  if (from)
    mv->from = *from;
  if (relay) {
    mv->has_relay = true;
    memcpy(mv->relay, relay, RL_ID_LEN);
  }
  if (l->retire_at_ns && l->via_overlay && !routed) {
    /* We retired this end-to-end session for a direct one, but the peer
     * kept it and sends it directly now (it took the direct path into it,
     * path_adopt): it is the pair's session again, at both ends. */
    mv->kind = PATH_MOVE_UNRETIRE;
    return;
  }
  if (l->retire_at_ns)
    return;
  if (!routed) {
    /* Up to direct, unless we left this very endpoint for silence a
     * moment ago (a one-way path would pull us back and forth). */
    if (l->via_overlay &&
        !(l->path_down_ns && now - l->path_down_ns < NODE_PATH_HOLDDOWN_NS &&
          rl_addr_equal(from, &l->path_down_ep)))
      mv->kind = PATH_MOVE_DIRECT;
    return;
  }
  if (!l->via_overlay) {
    /* The peer left our direct path: follow once it is silent here too
     * (keepalives do not count: an idle session of the peer's is no
     * sign of its choice). */
    if (data && now - l->path_rx_ns >= NODE_SUSPECT_NS)
      mv->kind = PATH_MOVE_ROUTED;
    return;
  }
  if (relay && (!l->has_relay || memcmp(l->relay_id, relay, RL_ID_LEN) != 0))
    mv->kind = PATH_MOVE_RELAY; /* the peer moved to another relay (failover) */
}

void path_follow(struct node *n, struct link *l, const struct path_move *mv, uint64_t now) {
  if (mv->release && l->used)
    hold_release(n, l, now);
  if (!mv->kind || !l->used || l->s.state != SESS_ESTABLISHED)
    return;
  switch (mv->kind) {
  case PATH_MOVE_UNRETIRE:
    if (!l->retire_at_ns || !l->via_overlay)
      return;
    l->retire_at_ns = 0;
    l->proven = true;
    path_use_direct(n, l, &mv->from, mv->sock, "peer came direct", now);
    break;
  case PATH_MOVE_DIRECT:
    if (l->via_overlay && !l->retire_at_ns)
      path_use_direct(n, l, &mv->from, mv->sock, "peer came direct", now);
    break;
  case PATH_MOVE_ROUTED:
    if (!l->via_overlay && !l->retire_at_ns)
      path_use_routed(n, l, mv->has_relay ? mv->relay : NULL, "peer left the direct path", now);
    break;
  case PATH_MOVE_RELAY:
    if (l->via_overlay && !l->retire_at_ns) {
      /* answer the way the peer chose */
      node_nat_set_relay(l, mv->relay, now);
      l->relay_rx_ns = now;
      if (!l->ov_up)
        node_ov_link_up(n, l, now);
    }
    break;
  }
}
