/* TCP fallback in the node core (sans-I/O; docs/protocol.md, "TCP").
 *
 * A TCP endpoint is an rl_addr with proto RL_PROTO_TCP: the core sends to
 * it and receives from it like any UDP endpoint, and the driver keeps the
 * connection (node/drv_tcp.c). What the core decides here:
 *   - TCP host candidates: a member whose driver accepts TCP (cfg.tcp_listen)
 *     publishes its own addresses once more as TCP candidates;
 *   - fallback: a configured, bootstrap or remembered endpoint whose UDP
 *     handshake got no answer after NODE_TCP_FALLBACK_TRIES tries is also
 *     dialled over TCP at the same ip:port (a "twin" link; the first
 *     session to complete wins, see link_became_established);
 *   - TCP mode: a member that reaches others only over TCP (it had to
 *     start a TCP twin and has no direct UDP link, or a TCP link it dialled
 *     is up) also dials the TCP candidates of the members it punches
 *     toward, and every UDP endpoint it dials toward a known member (the
 *     overlay's links, punches) over TCP at the same ip:port as well. Members with working UDP never dial TCP candidates, so a pair
 *     that can use UDP does. Everything else (ring links to members that
 *     accept no TCP, relays) is the ordinary relay logic of node_nat.c: a
 *     TCP link is a direct link like any other. */
#include <string.h>

#include "node/core/node_internal.h"

static struct rl_addr as_tcp(const struct rl_addr *a) {
  struct rl_addr t = *a;
  t.proto = RL_PROTO_TCP;
  return t;
}

bool node_tcp_outbound(const struct link *l) {
  return l->s.endpoint.proto == RL_PROTO_TCP &&
         (l->static_idx >= 0 || l->bootstrap || l->has_expect);
}

unsigned node_tcp_candidates(const struct node *n, struct nat_cand *c, unsigned k, unsigned max) {
  unsigned udp = k;
  if (!n->cfg.tcp_listen)
    return k;
  /* Only our own addresses: a NAT maps UDP for us (reflexive, UPnP), not a
   * TCP listener, so the TCP port is reachable where the host address is. */
  for (unsigned i = 0; i < udp && k < max; i++)
    if (c[i].kind == NAT_CAND_LOCAL && c[i].addr.proto == RL_PROTO_UDP &&
        c[i].addr.family == RL_AF_INET) { /* the TCP transport is IPv4 only */
      c[k].kind = NAT_CAND_TCP;
      c[k++].addr = as_tcp(&c[i].addr);
    }
  return k;
}

static bool has_link_at(const struct node *n, const struct rl_addr *ep) {
  for (unsigned i = 0; i < n->n_links; i++) {
    const struct link *l = n->links[i];
    if (l->used && !l->via_overlay && rl_addr_equal(&l->s.endpoint, ep))
      return true;
  }
  return false;
}

/* A direct link over UDP that gets no answer: a configured, bootstrap or
 * remembered one whose handshake made NODE_TCP_FALLBACK_TRIES tries (or a
 * whole cycle gave up already: a static link waiting for its retry); in TCP
 * mode, any handshake toward a known member (overlay links, punches) at
 * once: UDP does not work for us, and members with a public address listen
 * on TCP at their UDP address by default. */
static bool udp_unanswered(const struct node *n, const struct link *l) {
  if (!l->used || l->via_overlay || l->dormant || l->s.endpoint.proto != RL_PROTO_UDP ||
      l->s.endpoint.family != RL_AF_INET || l->s.state == SESS_ESTABLISHED)
    return false;
  if (l->static_idx >= 0 || l->bootstrap)
    return l->retry_backoff_ns > 0 ||
           (l->s.state == SESS_HANDSHAKE && l->s.hs_tries >= NODE_TCP_FALLBACK_TRIES);
  return n->tcp_mode && l->has_expect && !l->s.have_peer && l->s.state == SESS_HANDSHAKE;
}

static void start_twin(struct node *n, struct link *u, uint64_t now) {
  struct rl_addr ep = as_tcp(&u->s.endpoint);
  char a[RL_ADDR_STRLEN];
  struct link *t;
  if (has_link_at(n, &ep) || node_is_own_addr(n, &ep))
    return;
  t = link_new(n, &ep, now);
  if (!t)
    return;
  t->static_idx = u->static_idx;
  t->bootstrap = u->bootstrap;
  t->pinned = u->pinned;
  memcpy(t->pin_pk, u->pin_pk, RL_PK_LEN);
  if (t->pinned)
    sess_pin_peer(&t->s, t->pin_pk);
  t->has_expect = u->has_expect;
  memcpy(t->expect_id, u->expect_id, RL_ID_LEN);
  t->ov_wanted = u->ov_wanted;
  t->last_data_ns = u->last_data_ns;
  t->carried_data = u->carried_data;
  if (u->static_idx < 0 && !u->bootstrap)
    t->s.p.hs_max_tries = u->s.p.hs_max_tries; /* as bounded as the UDP attempt */
  n->c.tcp_fallbacks++;
  rl_logf(n->env, RL_LOG_INFO, "no answer over UDP: trying %s", rl_addr_format(&ep, a, sizeof(a)));
  sess_start(&t->s, now);
  link_after_event(n, t, now);
}

void node_tcp_on_tick(struct node *n, uint64_t now) {
  bool udp_up = false, tcp_up = false, mode;
  for (unsigned i = 0; i < n->n_links; i++) {
    const struct link *l = n->links[i];
    if (!l->used || l->via_overlay || l->s.state != SESS_ESTABLISHED)
      continue;
    if (l->s.endpoint.proto == RL_PROTO_UDP)
      udp_up = true;
    else if (node_tcp_outbound(l))
      tcp_up = true;
  }
  /* A member nobody answers over UDP (it started a TCP twin) and with no
   * direct UDP link, or one that reaches someone only over TCP. Not a
   * member that merely has no UDP link yet: the first member of a group
   * dials nothing. */
  mode = tcp_up || (!udp_up && n->c.tcp_fallbacks > 0);
  if (mode != n->tcp_mode)
    rl_logf(n->env, RL_LOG_INFO, mode ? "TCP mode: dialling TCP candidates too (no direct UDP "
            "link)" : "TCP mode off");
  n->tcp_mode = mode;
  /* Bounded: the links that exist now (a twin is appended, not visited). */
  for (unsigned i = 0, m = n->n_links; i < m; i++)
    if (udp_unanswered(n, n->links[i]))
      start_twin(n, n->links[i], now);
}

bool node_tcp_dial_cand(const struct node *n, const struct nat_cand *c) {
  return c->addr.proto != RL_PROTO_TCP || (n->tcp_mode && c->addr.family == RL_AF_INET);
}
