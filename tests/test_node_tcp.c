/* Unit tests: the TCP fallback of the node core (node/core/node_tcp.c,
 * docs/protocol.md "TCP") in the in-test network (tests/testnet.h), with a
 * small TCP model added here: node i's packets to tcp:IP:PORT reach the
 * member listening there (w->tcp, no NAT in front) as from
 * tcp:<i's public IP>:(50000 + i), and answers to that address go back to
 * i as from the listener's tcp:IP:PORT (a connection per pair, never
 * closed). A member with udp_blocked sends and receives no UDP at all.
 *
 *   n0  public, bootstrap       192.0.2.1:4000 (TCP too)
 *   n1  public                  192.0.2.2:4000 (TCP too)
 *   n2  port-restricted cone    192.168.3.2 behind 203.0.113.3
 *   n3  UDP blocked, cone NAT   192.168.4.2 behind 203.0.113.4 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#define MAXN 4
#include "overlay/overlay.h"
#include "testnet.h"

#define TCP_CONN_PORT 50000

struct tcpnet {
  struct net w;
  bool udp_blocked[MAXN];
  unsigned tcp_pkts[MAXN];    /* TCP packets sent by node i */
};

static struct rl_addr public_ip(struct net *w, int i) {
  struct rl_addr a = w->nat[i] == TN_NONE ? w->addr[i] : w->pub[i];
  a.port = 0;
  return a;
}

/* Where a TCP packet from i to `to` arrives, and as from what. */
static int tcp_route(struct net *w, int i, const struct rl_addr *to, struct rl_addr *from) {
  for (int j = 0; j < MAXN; j++) {
    if (!w->node[j] || j == i)
      continue;
    if (w->tcp[j] && w->nat[j] == TN_NONE && memcmp(w->addr[j].ip, to->ip, 4) == 0 &&
        w->addr[j].port == to->port) {
      *from = public_ip(w, i);
      from->port = (uint16_t)(TCP_CONN_PORT + i);
      from->proto = RL_PROTO_TCP;
      return j;
    }
    struct rl_addr pj = public_ip(w, j);
    if (to->port == TCP_CONN_PORT + j && memcmp(pj.ip, to->ip, 4) == 0 && w->tcp[i]) {
      *from = w->addr[i];
      from->proto = RL_PROTO_TCP;
      return j;
    }
  }
  return -1;
}

static void run_tcp(struct tcpnet *t, uint64_t until) {
  struct net *w = &t->w;
  uint8_t buf[NODE_UDP_MAX];
  for (int guard = 0; guard < 200000 && w->now <= until; guard++) {
    bool moved = false;
    for (int i = 0; i < MAXN; i++) {
      struct rl_addr to, from;
      size_t len;
      int j;
      if (!w->node[i])
        continue;
      while ((len = node_poll_udp(w->node[i], &to, buf, sizeof(buf))) > 0) {
        moved = true;
        if (to.proto == RL_PROTO_TCP) {
          t->tcp_pkts[i]++;
          j = tcp_route(w, i, &to, &from);
        } else if (t->udp_blocked[i]) {
          continue;
        } else {
          from = tn_outbound(w, i, &to);
          j = tn_inbound(w, &from, &to);
          if (j >= 0 && t->udp_blocked[j])
            j = -1;
        }
        if (j >= 0) {
          node_recv_udp(w->node[j], &from, buf, len, w->now);
          w->delivered++;
        }
      }
    }
    if (moved) {
      w->now += NS_PER_MS;
      continue;
    }
    if (!tn_fire_timers(w, until))
      return;
  }
}

static struct tcpnet *make_world(int n, const enum tn_nat *nat, const bool *blocked) {
  struct tcpnet *t = calloc(1, sizeof(*t));
  struct net *w = &t->w;
  struct prng gp = {4242};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  w->now = T0;
  w->ring_successors = 3;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  for (int i = 0; i < n; i++) {
    make_member(w, i, &w->group, "lab", 0x64400001 + (uint32_t)i);
    if (nat[i] != TN_NONE)
      tn_set_nat(w, i, nat[i]);
    w->tcp[i] = true; /* the default (tcp = yes) */
    t->udp_blocked[i] = blocked[i];
  }
  return t;
}

static void start_all(struct tcpnet *t, int n) {
  start_node_cfg(&t->w, 0, t->w.group.pk, -1, -1);
  for (int i = 1; i < n; i++)
    start_node_cfg(&t->w, i, t->w.group.pk, -1, 0);
}

static const char *status_of(struct net *w, int i) {
  static char js[32768];
  assert_true(node_status_json(w->node[i], w->now, js, sizeof(js)) > 0);
  return js;
}

/* An established link from i to j on this path at an endpoint starting
 * with ep_prefix ("" for any). */
static bool has_link(struct net *w, int i, int j, const char *path, const char *ep_prefix) {
  const char *js = status_of(w, i);
  char needle[48], want[64], ep[64];
  snprintf(needle, sizeof(needle), "\"peer_vip\":\"100.64.0.%d\"", j + 1);
  snprintf(want, sizeof(want), "\"path\":\"%s\",\"state\":\"established\"", path);
  snprintf(ep, sizeof(ep), "\"endpoint\":\"%s", ep_prefix);
  for (const char *p = strstr(js, needle); p; p = strstr(p + 1, needle)) {
    const char *e = strchr(p, '}'), *q = strstr(p, want), *r = strstr(p, ep);
    if (q && q < e && r && r < e)
      return true;
  }
  return false;
}

static void test_blocked_member_falls_back_to_tcp(void **state) {
  (void)state;
  static const enum tn_nat nat[2] = {TN_NONE, TN_CONE};
  static const bool blocked[2] = {false, true};
  struct tcpnet *t = make_world(2, nat, blocked);
  struct net *w = &t->w;
  start_all(t, 2);
  /* The first UDP tries (0, 1 s) go unanswered; no TCP yet. */
  run_tcp(t, w->now + 2500 * NS_PER_MS);
  assert_int_equal(t->tcp_pkts[1], 0);
  assert_non_null(strstr(status_of(w, 1), "\"tcp_mode\":false"));
  /* The third try (3 s) is unanswered too: a TCP twin to the bootstrap's
   * address, which completes at once. */
  run_tcp(t, w->now + 3 * NS_PER_S);
  assert_true(t->tcp_pkts[1] > 0);
  assert_true(has_link(w, 1, 0, "direct", "tcp:192.0.2.1:4000"));
  assert_true(has_link(w, 0, 1, "direct", "tcp:203.0.113.2:50001"));
  run_tcp(t, w->now + 2 * NS_PER_S);
  assert_non_null(strstr(status_of(w, 1), "\"tcp_mode\":true"));
  assert_non_null(strstr(status_of(w, 1), "\"tcp_fallbacks\":1"));
  /* n0 is not in TCP mode (it dialled nothing over TCP) and publishes its
   * TCP host candidate after its UDP ones. */
  assert_non_null(strstr(status_of(w, 0), "\"tcp_mode\":false"));
  assert_non_null(strstr(status_of(w, 0), "{\"kind\":\"tcp\",\"addr\":\"tcp:192.0.2.1:4000\"}"));
  /* The link holds (keepalives over TCP). */
  run_tcp(t, w->now + 120 * NS_PER_S);
  assert_true(has_link(w, 1, 0, "direct", "tcp:"));
  teardown(w);
  free(t);
}

static void test_members_with_udp_never_dial_tcp(void **state) {
  (void)state;
  static const enum tn_nat nat[3] = {TN_NONE, TN_NONE, TN_CONE};
  static const bool blocked[3] = {false, false, false};
  struct tcpnet *t = make_world(3, nat, blocked);
  struct net *w = &t->w;
  start_all(t, 3);
  run_tcp(t, w->now + 90 * NS_PER_S);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(t->tcp_pkts[i], 0);
    assert_non_null(strstr(status_of(w, i), "\"tcp_mode\":false"));
  }
  assert_true(has_link(w, 2, 0, "direct", "192.0.2.1:4000"));
  teardown(w);
  free(t);
}

/* A late bootstrap: UDP unanswered for a while, then both the UDP link and
 * its TCP twin complete, in either order (the start delays below give
 * both); the pair keeps the UDP session, whichever came last. */
static void test_udp_beats_tcp_twin(void **state) {
  (void)state;
  static const enum tn_nat nat[2] = {TN_NONE, TN_NONE};
  static const bool blocked[2] = {false, false};
  static const unsigned delay_ms[] = {5000, 6500, 9000, 13000, 17500, 21000};
  for (unsigned d = 0; d < sizeof(delay_ms) / sizeof(delay_ms[0]); d++) {
    struct tcpnet *t = make_world(2, nat, blocked);
    struct net *w = &t->w;
    start_node_cfg(w, 1, w->group.pk, -1, 0);
    run_tcp(t, w->now + delay_ms[d] * NS_PER_MS); /* n0 is not up: UDP and TCP unanswered */
    assert_true(t->tcp_pkts[1] > 0);
    start_node_cfg(w, 0, w->group.pk, -1, -1);
    run_tcp(t, w->now + 90 * NS_PER_S);
    if (!has_link(w, 1, 0, "direct", "192.0.2.1:4000") || has_link(w, 1, 0, "direct", "tcp:") ||
        has_link(w, 0, 1, "direct", "tcp:"))
      fail_msg("n0 up after %u ms: n1's links %s", delay_ms[d],
               strstr(status_of(w, 1), "\"links\""));
    teardown(w);
    free(t);
  }
}

/* a's kernel resolves b and sends frames; every one must arrive. */
static void check_frames(struct net *w, struct tcpnet *t, int a, int b) {
  uint8_t f[200], out[NODE_FRAME_MAX];
  size_t len, got;
  len = arp_request(f, w, a, w->cert[b].vip);
  node_recv_tap(w->node[a], f, len, w->now);
  run_tcp(t, w->now + 3 * NS_PER_S);
  while (node_poll_tap(w->node[a], out, sizeof(out)) > 0)
    ; /* the ARP reply */
  for (int k = 0; k < 4; k++) {
    len = make_frame_ring(f, w, a, b, (uint8_t)(0x40 + k));
    assert_int_equal(node_recv_tap(w->node[a], f, len, w->now), 0);
    run_tcp(t, w->now + 10 * NS_PER_S);
    got = node_poll_tap(w->node[b], out, sizeof(out));
    if (got != len)
      fail_msg("%d->%d frame %d not delivered (got %zu)", a, b, k, got);
    assert_memory_equal(out, f, len);
  }
}

static void test_blocked_member_reaches_everyone(void **state) {
  (void)state;
  static const enum tn_nat nat[4] = {TN_NONE, TN_NONE, TN_CONE, TN_CONE};
  static const bool blocked[4] = {false, false, false, true};
  struct tcpnet *t = make_world(4, nat, blocked);
  struct net *w = &t->w;
  struct ov_ring_info ri;
  start_all(t, 4);
  run_tcp(t, w->now + 90 * NS_PER_S);
  assert_int_equal(node_ring_info(w->node[3], &ri), 0);
  assert_true(ri.joined);
  for (int j = 0; j < 3; j++) {
    check_frames(w, t, 3, j);
    check_frames(w, t, j, 3);
  }
  /* Public members over TCP; the NAT'd one (no TCP from outside) relayed. */
  run_tcp(t, w->now + 30 * NS_PER_S);
  assert_true(has_link(w, 3, 0, "direct", "tcp:"));
  assert_true(has_link(w, 3, 1, "direct", "tcp:"));
  if (!has_link(w, 3, 2, "relay", "") || !has_link(w, 2, 3, "relay", ""))
    fail_msg("n3 <-> n2 not relayed: %s", strstr(status_of(w, 3), "\"links\""));
  teardown(w);
  free(t);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blocked_member_falls_back_to_tcp),
      cmocka_unit_test(test_members_with_udp_never_dial_tcp),
      cmocka_unit_test(test_udp_beats_tcp_twin),
      cmocka_unit_test(test_blocked_member_reaches_everyone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
