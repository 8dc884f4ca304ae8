/* Tests: the overlay (overlay/ *.c) in an in-test mini network
 * (tests/ov_net.h: N overlays, a message queue, links, hand-moved time).
 *
 *     n0 (bootstrap) <-- every joiner links here first, joins, and the
 *      |                 bootstrap link is dropped unless an overlay asked
 *     ...                for it (so the ring is built by the overlay alone)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/ov_internal.h"
#include "overlay/overlay.h"
#include "tests/ov_net.h"

static void converge_and_route(unsigned n, uint64_t seed) {
  struct net *net = net_new(n, seed, NULL);
  build_ring(net, n);
  if (getenv("OV_DEBUG"))
    print_message("after build: errors %u\n", ring_errors(net, true, true));
  run_until(net, net->now + 120 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  assert_int_equal(net->bad_sends, 0);
  double mean = route_check(net, 32, 16);
  unsigned lg = 0;
  while ((1u << (lg + 1)) <= n)
    lg++;
  double bound = 0.5 * lg + 1.0; /* n is a power of two here */
  struct ov_ring_info *info = malloc(sizeof(*info));
  overlay_ring_info(net->ov[n / 2], info);
  print_message("N=%u: mean hops %.2f (bound %.2f), node %u: %u shortcuts, N estimate %llu\n",
                n, mean, bound, n / 2, info->n_shortcuts,
                (unsigned long long)info->estimated_n);
  assert_true(mean <= bound);
  /* Links: about log2(N) shortcuts + successors + predecessor per node;
   * unneeded ones were released (OV_ACT_DISCONNECT) after the grace time. */
  unsigned long links = 0;
  for (unsigned i = 0; i < n; i++)
    for (unsigned j = 0; j < n; j++)
      links += L(net, i, j);
  double per_node = (double)links / n;
  /* PNS: the chosen shortcut's RTT against the mean RTT of every node that
   * would have been acceptable for the same slot. */
  double chosen = 0, random_pick = 0;
  for (unsigned i = 0; i < n; i++) {
    overlay_ring_info(net->ov[i], info);
    for (unsigned k = 0; k < info->n_shortcuts; k++) {
      int f = find_node(net, info->shortcuts[k]);
      int slot = ov_slot_of(net->ov[i], info->shortcuts[k]);
      double sum = 0;
      unsigned cnt = 0;
      for (unsigned j = 0; j < n; j++)
        if (j != i && ov_slot_of(net->ov[i], net->id[j]) == slot) {
          sum += (double)rtt(net, i, j);
          cnt++;
        }
      chosen += (double)rtt(net, i, (unsigned)f);
      random_pick += sum / cnt;
    }
  }
  print_message("N=%u: %.1f links per node, shortcut RTT %.0f%% of a random pick in slot\n",
                n, per_node, 100.0 * chosen / random_pick);
  assert_true(per_node <= 2 * lg + OV_LINKED_SUCC + 2);
  assert_true(chosen < 0.75 * random_pick);
  assert_true(net->disconnects > 0); /* PNS losers and stale links were released */
  /* Steady-state maintenance traffic: stabilise is 3 messages per node per
   * period, plus shortcut and heal lookups. */
  uint64_t m0 = net->sent_msgs, b0 = net->sent_bytes;
  run_until(net, net->now + 60 * NS_PER_S);
  double per_s = (double)(net->sent_msgs - m0) / n / 60.0;
  double bytes_s = (double)(net->sent_bytes - b0) / n / 60.0;
  print_message("N=%u: steady state %.2f messages, %.0f bytes per node per second\n", n,
                per_s, bytes_s);
  assert_true(per_s < 4.0); /* 1.5 stabilise + lookups + idle-link pings */
  /* the size estimate is within a factor of 4 of the truth */
  assert_true(info->estimated_n >= n / 4 && info->estimated_n <= 4 * n);
  free(info);
  net_free(net);
}

static void test_converge_64(void **state) {
  (void)state;
  converge_and_route(64, 11);
}

static void test_converge_256(void **state) {
  (void)state;
  converge_and_route(256, 12);
}

/* Crashes a quarter of the n nodes, never the same node twice. */
static void kill_quarter(struct net *net, unsigned n) {
  for (unsigned killed = 0; killed < n / 4;) {
    unsigned v = (unsigned)(xs_next(&net->rng) % n);
    if (!net->alive[v])
      continue;
    kill_node(net, v);
    killed++;
  }
}

/* Stabilise periods until the ring has no errors (at most 20). */
static unsigned repair_periods(struct net *net, bool debug) {
  unsigned periods = 0;
  while (ring_errors(net, true, debug) && periods < 20) {
    if (debug)
      print_message("-- period %u: %u errors (succ/pred only: %u)\n", periods,
                    ring_errors(net, true, false), ring_errors(net, false, false));
    run_until(net, net->now + net->cfg.stabilise_ns);
    periods++;
  }
  return periods;
}

static void test_churn_repair(void **state) {
  (void)state;
  const unsigned n = 128;
  struct net *net = net_new(n, 21, NULL);
  build_ring(net, n);
  run_until(net, net->now + 60 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  kill_quarter(net, n);
  drain(net);
  unsigned periods = repair_periods(net, getenv("OV_DEBUG") != NULL);
  print_message("ring repaired after %u stabilise periods\n", periods);
  assert_int_equal(ring_errors(net, true, true), 0);
  assert_true(periods <= 8);
  (void)route_check(net, 16, 16);
  assert_int_equal(net->bad_sends, 0);
  net_free(net);
}

static void test_latency_and_loss(void **state) {
  (void)state;
  /* The same protocol with real delays: messages take RTT/2 (0.5..100 ms),
   * a CONNECT takes 1.5 RTT to come up, and 2% of messages are lost while
   * the ring forms. Then 25% of the nodes crash. */
  const unsigned n = 128;
  struct net *net = net_new(n, 101, NULL);
  net->latency = true;
  net->loss_pct = 2;
  net->fail_fast = true;
  build_ring(net, n);
  run_until(net, net->now + 120 * NS_PER_S);
  net->loss_pct = 0;
  run_until(net, net->now + 3 * net->cfg.stabilise_ns);
  assert_int_equal(ring_errors(net, true, true), 0);
  double mean = route_check(net, 16, 8);
  print_message("latency+loss: mean hops %.2f\n", mean);
  assert_true(mean <= 0.5 * 7 + 1.0);
  kill_quarter(net, n);
  unsigned periods = repair_periods(net, false);
  print_message("latency: ring repaired after %u stabilise periods\n", periods);
  assert_int_equal(ring_errors(net, true, true), 0);
  assert_true(periods <= 8);
  (void)route_check(net, 16, 8);
  assert_int_equal(net->bad_sends, 0);
  net_free(net);
}

static void test_concurrent_joins(void **state) {
  (void)state;
  /* Joins overlap: with latency, a new node starts joining every 20 ms
   * through a random member of the first 8, so many joins are in flight
   * at once and join replies are often stale. The ring must still settle. */
  const unsigned n = 400;
  struct net *net = net_new(n, 111, NULL);
  net->latency = true;
  net->fail_fast = true;
  build_ring(net, 8);
  run_until(net, net->now + 20 * NS_PER_S);
  for (unsigned i = 8; i < n; i++) {
    unsigned b = (unsigned)(xs_next(&net->rng) % 8);
    net->alive[i] = true;
    link_up(net, i, b);
    overlay_join(net->ov[i], net->now);
    run_until(net, net->now + 20 * NS_PER_MS);
  }
  unsigned periods = 0;
  while (ring_errors(net, false, false) && periods < 60) {
    if (getenv("OV_DEBUG"))
      print_message("-- period %u: %u wrong\n", periods, ring_errors(net, false, periods > 3));
    run_until(net, net->now + net->cfg.stabilise_ns);
    periods++;
  }
  print_message("concurrent joins: succ/pred right after %u periods (%u wrong)\n", periods,
                ring_errors(net, false, periods == 60));
  assert_int_equal(ring_errors(net, false, false), 0);
  assert_true(periods <= 10);
  run_until(net, net->now + 10 * net->cfg.stabilise_ns);
  assert_int_equal(ring_errors(net, true, true), 0);
  (void)route_check(net, 16, 8);
  net_free(net);
}

static void test_silent_failures(void **state) {
  (void)state;
  /* 15% of the nodes hang: their links stay up (the link layer has not
   * noticed) but they never answer. Stabilise's own timeouts must take
   * them out of the ring. */
  const unsigned n = 128;
  struct net *net = net_new(n, 121, NULL);
  build_ring(net, n);
  run_until(net, net->now + 60 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  for (unsigned hung = 0; hung < n * 15 / 100;) {
    unsigned v = (unsigned)(xs_next(&net->rng) % n);
    if (!net->alive[v] || v == 0)
      continue;
    net->alive[v] = false; /* no link_down anywhere */
    hung++;
  }
  unsigned periods = 0;
  while (ring_errors(net, false, false) && periods < 30) {
    run_until(net, net->now + net->cfg.stabilise_ns);
    periods++;
  }
  print_message("hung nodes: succ/pred right after %u stabilise periods\n", periods);
  assert_int_equal(ring_errors(net, false, true), 0);
  assert_true(periods <= OV_SILENT_PERIODS + 4);
  run_until(net, net->now + 16 * net->cfg.stabilise_ns);
  assert_int_equal(ring_errors(net, true, true), 0);
  /* Shortcuts to hung nodes went quiet (no PONG) and are no longer used:
   * every key still reaches its owner, with the hung links still "up". */
  (void)route_check(net, 16, 16);
  net_free(net);
}

static void test_graceful_leave(void **state) {
  (void)state;
  const unsigned n = 32;
  struct net *net = net_new(n, 31, NULL);
  build_ring(net, n);
  run_until(net, net->now + 60 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  for (unsigned round = 0; round < 4; round++) {
    unsigned v;
    do
      v = (unsigned)(xs_next(&net->rng) % n);
    while (!net->alive[v] || v == 0);
    struct ov_ring_info *info = malloc(sizeof(*info));
    overlay_ring_info(net->ov[v], info);
    int p = find_node(net, info->pred), s = find_node(net, info->succ[0]);
    overlay_leave(net->ov[v], net->now);
    assert_false(overlay_is_owner(net->ov[v], net->id[v]));
    drain(net); /* the LEAVE messages go out */
    kill_node(net, v);
    drain(net); /* no time passes: the splice is immediate */
    overlay_ring_info(net->ov[p], info);
    assert_memory_equal(info->succ[0], net->id[s], RL_ID_LEN);
    overlay_ring_info(net->ov[s], info);
    assert_true(info->has_pred);
    assert_memory_equal(info->pred, net->id[p], RL_ID_LEN);
    free(info);
    (void)route_check(net, 4, 8);
  }
  run_until(net, net->now + 5 * net->cfg.stabilise_ns);
  assert_int_equal(ring_errors(net, true, true), 0);
  net_free(net);
}

static void test_exact_and_ttl(void **state) {
  (void)state;
  const unsigned n = 32;
  struct net *net = net_new(n, 41, NULL);
  build_ring(net, n);
  run_until(net, net->now + 60 * NS_PER_S);
  /* EXACT to an existing ID arrives there ... */
  net->n_dl = 0;
  assert_int_equal(overlay_route(net->ov[3], net->id[17], OV_ROUTE_EXACT, OV_APP_TEST,
                                 NULL, 0, net->now), 0);
  drain(net);
  assert_int_equal(net->n_dl, 1);
  assert_int_equal(net->dl[0].at, 17);
  /* ... and to an ID nobody has is dropped, not delivered to the owner. */
  uint8_t key[RL_ID_LEN];
  memcpy(key, net->id[17], RL_ID_LEN);
  key[RL_ID_LEN - 1] ^= 1;
  struct ov_stats before, after;
  uint64_t drops = 0;
  for (unsigned i = 0; i < n; i++) {
    overlay_stats(net->ov[i], &before);
    drops += before.dropped_no_route;
  }
  net->n_dl = 0;
  overlay_route(net->ov[3], key, OV_ROUTE_EXACT, OV_APP_TEST, NULL, 0, net->now);
  drain(net);
  assert_int_equal(net->n_dl, 0);
  for (unsigned i = 0; i < n; i++) {
    overlay_stats(net->ov[i], &after);
    drops -= after.dropped_no_route;
  }
  assert_int_equal((int64_t)drops, -1);
  /* TTL: a ROUTED message with ttl 0 that is not for the receiver dies. */
  int o = owner_of(net, key);
  unsigned at = (unsigned)(o == 5 ? 6 : 5);
  struct ov_msg m;
  memset(&m, 0, sizeof(m));
  m.type = OV_MSG_ROUTED;
  m.ttl = 0;
  memcpy(m.src, net->id[1], RL_ID_LEN);
  memcpy(m.target, net->id[(at + 16) % n], RL_ID_LEN);
  uint8_t buf[OV_MSG_MAX];
  int len = ov_msg_encode(&m, buf, sizeof(buf));
  assert_true(len == OV_ROUTED_HDR);
  unsigned peer = 0;
  while (!L(net, at, peer)) /* messages only ever arrive over real links */
    peer++;
  overlay_stats(net->ov[at], &before);
  assert_int_equal(overlay_recv(net->ov[at], net->id[peer], buf, (size_t)len, net->now),
                   RL_ETIMEDOUT);
  overlay_stats(net->ov[at], &after);
  assert_int_equal(after.dropped_ttl, before.dropped_ttl + 1);
  /* TTL 1 on real routes: a message injected at `at` with ttl 1 may take
   * one more hop. Keyed to node IDs, it arrives exactly when that node is
   * `at` itself or one of the ring members `at` is linked to; everything
   * else dies of TTL one hop on. */
  uint64_t ttl_before = 0, ttl_after = 0, got = 0, expect = 0;
  for (unsigned i = 0; i < n; i++) {
    overlay_stats(net->ov[i], &before);
    ttl_before += before.dropped_ttl;
  }
  for (unsigned j = 0; j < n; j++) {
    memcpy(m.target, net->id[j], RL_ID_LEN);
    m.ttl = 1;
    len = ov_msg_encode(&m, buf, sizeof(buf));
    net->n_dl = 0;
    overlay_recv(net->ov[at], net->id[peer], buf, (size_t)len, net->now);
    drain(net);
    const struct ov_link *l = ov_link_find(net->ov[at], net->id[j]);
    bool reach = j == at || (l && ov_link_usable(l)); /* links `at` routes over */
    expect += reach;
    assert_int_equal(net->n_dl, reach ? 1 : 0);
    got += net->n_dl;
    if (net->n_dl) {
      assert_int_equal(net->dl[0].at, j);
      assert_int_equal(net->dl[0].hops, j == at ? 0 : 1);
    }
  }
  for (unsigned i = 0; i < n; i++) {
    overlay_stats(net->ov[i], &after);
    ttl_after += after.dropped_ttl;
  }
  assert_true(expect > 1 && expect < n);
  assert_int_equal(got, expect);
  assert_int_equal(ttl_after - ttl_before, n - expect);
  net_free(net);
}

/* A member nobody but one node can link to (in ringlan: behind a hard
 * NAT, its neighbours behind others, before relays are set up) is
 * skipped by its neighbours' successor lists, so a message routed to it
 * exactly ends at the node after it. It names its first hop (the node
 * linked to it) in what it routes (OV_F_VIA), and answers go through that
 * node (OV_F_THROUGH). */
static void test_answer_through_via(void **state) {
  (void)state;
  struct net *net = net_new(24, 77, NULL);
  unsigned t = 23, rank = 0, b, x;
  struct ov_stats st;
  build_ring(net, 23);
  settle(net);
  for (unsigned k = 0; k < net->n; k++)
    if (net->sorted[k] == t)
      rank = k;
  b = net->sorted[(rank + 8) % net->n];  /* its only way in */
  x = net->sorted[(rank + 16) % net->n]; /* a member it asks */
  for (unsigned o = 0; o < net->n; o++)
    if (o != t && o != b)
      net->nolink[(size_t)t * net->n + o] = net->nolink[(size_t)o * net->n + t] = 1;
  join_via(net, t, b);
  run_until(net, net->now + 60 * NS_PER_S);
  uint8_t q[4] = {1, 2, 3, 4};
  size_t before = net->n_dl;
  assert_int_equal(overlay_route(net->ov[t], net->id[x], OV_ROUTE_EXACT, OV_APP_TEST, q, 4,
                                 net->now), 0);
  drain(net);
  bool asked = false, answered = false;
  for (size_t k = before; k < net->n_dl; k++)
    asked |= net->dl[k].at == x && memcmp(net->dl[k].src, net->id[t], RL_ID_LEN) == 0;
  assert_true(asked);
  before = net->n_dl;
  assert_int_equal(overlay_route(net->ov[x], net->id[t], OV_ROUTE_EXACT, OV_APP_TEST, q, 4,
                                 net->now), 0);
  drain(net);
  for (size_t k = before; k < net->n_dl; k++)
    answered |= net->dl[k].at == t && memcmp(net->dl[k].src, net->id[x], RL_ID_LEN) == 0;
  overlay_stats(net->ov[b], &st);
  if (!answered)
    fail_msg("the answer to t was lost (b delivered %llu, dropped %llu)",
             (unsigned long long)st.delivered, (unsigned long long)st.dropped_no_route);
  net_free(net);
}

static void test_malformed(void **state) {
  (void)state;
  struct net *net = net_new(8, 51, NULL);
  build_ring(net, 8);
  run_until(net, net->now + 30 * NS_PER_S);
  struct overlay *ov = net->ov[2];
  const uint8_t *from = net->id[3];
  /* Every message type, valid, then truncated at every length. */
  struct ov_msg *m = calloc(1, sizeof(*m));
  uint8_t buf[OV_MSG_MAX];
  uint8_t types[] = {OV_MSG_FIND,   OV_MSG_FIND_REPLY, OV_MSG_GET_PRED, OV_MSG_PRED_REPLY,
                     OV_MSG_NOTIFY, OV_MSG_LEAVE,      OV_MSG_ROUTED,   OV_MSG_HELLO,
                     OV_MSG_PING,   OV_MSG_PONG};
  struct ov_stats st;
  for (size_t t = 0; t < sizeof(types); t++) {
    memset(m, 0, sizeof(*m));
    m->type = types[t];
    m->flags = OV_F_HAS_PRED;
    m->node.n_ep = 1;
    rl_addr_set_ipv4(&m->node.ep[0], 0xc0000201, 1);
    m->pred = m->node;
    m->n_succ = 3;
    m->ttl = 5;
    int len = ov_msg_encode(m, buf, sizeof(buf));
    assert_true(len > 0);
    for (int cut = 0; cut < len; cut++) {
      overlay_stats(ov, &st);
      uint64_t bad = st.dropped_bad;
      assert_true(overlay_recv(ov, from, buf, (size_t)cut, net->now) < 0);
      overlay_stats(ov, &st);
      assert_int_equal(st.dropped_bad, bad + 1);
    }
    /* one trailing byte too many is also malformed */
    buf[len] = 0;
    assert_true(overlay_recv(ov, from, buf, (size_t)len + 1, net->now) < 0);
  }
  /* unknown type, oversized counts, bad address family */
  const uint8_t unknown[] = {0x99, 0, 0};
  assert_int_equal(overlay_recv(ov, from, unknown, sizeof(unknown), net->now), RL_EPARSE);
  memset(m, 0, sizeof(*m));
  m->type = OV_MSG_PRED_REPLY;
  int len = ov_msg_encode(m, buf, sizeof(buf));
  buf[len - 1] = OV_MAX_SUCC + 1; /* the successor count */
  assert_true(overlay_recv(ov, from, buf, (size_t)len, net->now) < 0);
  m->type = OV_MSG_NOTIFY;
  memcpy(m->node.id, from, RL_ID_LEN);
  m->node.n_ep = 1;
  rl_addr_set_ipv4(&m->node.ep[0], 0xc0000201, 1);
  len = ov_msg_encode(m, buf, sizeof(buf));
  buf[2 + RL_ID_LEN + 1] = 5; /* family 5 */
  assert_int_equal(overlay_recv(ov, from, buf, (size_t)len, net->now), RL_EPARSE);
  /* a NOTIFY speaking for someone else is refused */
  memcpy(m->node.id, net->id[4], RL_ID_LEN);
  len = ov_msg_encode(m, buf, sizeof(buf));
  assert_int_equal(overlay_recv(ov, from, buf, (size_t)len, net->now), RL_EPARSE);
  /* random garbage never crashes and never breaks the ring */
  for (unsigned i = 0; i < 5000; i++) {
    size_t l = xs_next(&net->rng) % 200;
    xs_rand(&net->rng, buf, l);
    if (l)
      buf[0] = (uint8_t)(1 + i % 10);
    overlay_recv(ov, from, buf, l, net->now);
  }
  free(m);
  drain(net);
  run_until(net, net->now + 30 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  net_free(net);
}

static void test_partition_heal(void **state) {
  (void)state;
  /* Two rings of 16 built apart (bootstraps 0 and 16), then one link
   * between a member of each; heal lookups must merge them. */
  struct ov_config cfg;
  ov_config_default(&cfg);
  cfg.heal_ns = 10 * NS_PER_S;
  const unsigned n = 32;
  struct net *net = net_new(n, 61, &cfg);
  net->alive[0] = net->alive[16] = true;
  overlay_join(net->ov[0], net->now);
  overlay_join(net->ov[16], net->now);
  for (unsigned i = 1; i < 16; i++) {
    join_via(net, i, 0);
    join_via(net, 16 + i, 16);
  }
  run_until(net, net->now + 30 * NS_PER_S);
  assert_true(ring_errors(net, false, false) > 0); /* two rings, not one */
  link_up(net, 5, 21);
  unsigned periods = 0;
  while (ring_errors(net, true, false) && periods < 60) {
    run_until(net, net->now + cfg.heal_ns);
    periods++;
  }
  print_message("rings merged after %u heal periods\n", periods);
  assert_int_equal(ring_errors(net, true, true), 0);
  (void)route_check(net, 8, 8);
  net_free(net);
}

static void test_fresh_pair_tie_break(void **state) {
  (void)state;
  /* Two fresh nodes, each told the other is its bootstrap: the lower ID
   * becomes the seed and answers the higher one's join. */
  struct net *net = net_new(2, 81, NULL);
  net->alive[0] = net->alive[1] = true;
  link_up(net, 0, 1);
  overlay_join(net->ov[0], net->now);
  overlay_join(net->ov[1], net->now);
  run_until(net, net->now + 20 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  net_free(net);
}

static void test_lonely_seed_merges(void **state) {
  (void)state;
  /* Node 9 started alone (its bootstrap was unreachable) and became a ring
   * of one; when a link to a member of the real ring comes up it merges
   * at once, without waiting for a heal period. */
  struct net *net = net_new(10, 91, NULL);
  build_ring(net, 9);
  run_until(net, net->now + 30 * NS_PER_S);
  net->alive[9] = true;
  overlay_join(net->ov[9], net->now);
  link_up(net, 9, 4);
  run_until(net, net->now + 3 * net->cfg.stabilise_ns);
  assert_int_equal(ring_errors(net, false, true), 0); /* succ[0] and pred */
  /* news of a new node travels one successor-list position per period */
  run_until(net, net->now + 8 * net->cfg.stabilise_ns);
  assert_int_equal(ring_errors(net, true, true), 0);
  net_free(net);
}

static void test_seed_and_pair(void **state) {
  (void)state;
  /* A ring of one owns everything; a second node joins; the pair is
   * consistent and queues drain to nothing (no memory held when idle). */
  struct net *net = net_new(2, 71, NULL);
  net->alive[0] = true;
  overlay_join(net->ov[0], net->now);
  assert_true(overlay_is_owner(net->ov[0], net->id[1]));
  net->n_dl = 0;
  overlay_route(net->ov[0], net->id[1], OV_ROUTE_OWNER, OV_APP_TEST, NULL, 0, net->now);
  drain(net);
  assert_int_equal(net->n_dl, 1);
  assert_int_equal(net->dl[0].hops, 0);
  join_via(net, 1, 0);
  run_until(net, net->now + 10 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  assert_true(overlay_is_owner(net->ov[1], net->id[1]));
  assert_false(overlay_is_owner(net->ov[0], net->id[1]));
  assert_true(net->ring_changes > 0);
  struct ov_ring_info info;
  overlay_ring_info(net->ov[0], &info);
  assert_true(info.estimated_n >= 2); /* 2^160 / distance: >= 2 by the floor */
  net_free(net);
}

/* links[] is kept sorted by ID and ov_next_hop() walks back from the key:
 * the answer must be the brute-force closest preceding link, with and
 * without an excluded peer, while links come and go. */
static const uint8_t *brute_next(const struct overlay *ov, const uint8_t key[RL_ID_LEN],
                                 const uint8_t *exclude) {
  const uint8_t *best = NULL;
  uint8_t bd[RL_ID_LEN], d[RL_ID_LEN];
  for (unsigned i = 0; i < ov->n_links; i++) {
    const struct ov_link *l = &ov->links[i];
    if (l->state != OV_LINK_UP || (exclude && ring_eq(l->id, exclude)))
      continue;
    if (!ring_between(ov->self.id, l->id, key) && !ring_eq(l->id, key))
      continue;
    ring_distance(l->id, key, d);
    if (!best || ring_cmp(d, bd) < 0) {
      best = l->id;
      memcpy(bd, d, RL_ID_LEN);
    }
  }
  return best;
}

static void test_sorted_links_next_hop(void **state) {
  (void)state;
  struct net *net = net_new(1, 77, NULL);
  struct overlay *ov = net->ov[0];
  enum { NL = 600 };
  static uint8_t ids[NL][RL_ID_LEN];
  struct rl_addr ep;
  memset(&ep, 0, sizeof(ep));
  for (unsigned i = 0; i < NL; i++) {
    xs_rand(&net->rng, ids[i], RL_ID_LEN);
    if (i % 50 == 0) { /* neighbours of our own ID, both sides */
      memcpy(ids[i], net->id[0], RL_ID_LEN);
      ids[i][RL_ID_LEN - 1] ^= (uint8_t)(1 + i / 50);
    }
    rl_addr_set_ipv4(&ep, 0xc6336400u + i, 4000);
    overlay_link_up(ov, ids[i], &ep, NS_PER_MS, 0);
    assert_non_null(ov_link_find(ov, ids[i]));
  }
  for (int round = 0; round < 2; round++) {
    for (unsigned i = 1; i < ov->n_links; i++)
      assert_true(ring_cmp(ov->links[i - 1].id, ov->links[i].id) < 0);
    for (unsigned k = 0; k < 3000; k++) {
      uint8_t key[RL_ID_LEN], next[RL_ID_LEN];
      if (k % 3 == 0)
        memcpy(key, ids[xs_next(&net->rng) % NL], RL_ID_LEN); /* a link's own ID */
      else
        xs_rand(&net->rng, key, RL_ID_LEN);
      const uint8_t *ex = k % 4 == 0 ? ids[xs_next(&net->rng) % NL] : NULL;
      bool final;
      const uint8_t *want = brute_next(ov, key, ex);
      int d = ov_next_hop(ov, key, ex, next, &final);
      if (want) {
        assert_int_equal(d, OV_NEXT_FORWARD);
        assert_memory_equal(next, want, RL_ID_LEN);
      } else {
        assert_int_not_equal(d, OV_NEXT_FORWARD);
      }
    }
    /* Take every other link down (and one that is not there). */
    for (unsigned i = 0; i < NL; i += 2)
      overlay_link_down(ov, ids[i], 0);
    overlay_link_down(ov, ids[0], 0);
    assert_int_equal(ov->n_links, NL / 2);
    for (unsigned i = 0; i < NL; i++)
      assert_true((ov_link_find(ov, ids[i]) != NULL) == (i % 2 == 1));
  }
  net_free(net);
}

/* Idle links nobody uses are not kept alive by PINGs: a link that neither
 * end asked for and nothing is sent over (a joiner's bootstrap link, a
 * data link) stays silent, so the node core's idle reaper can close it. */
static void test_unused_link_not_pinged(void **state) {
  (void)state;
  const unsigned n = 24;
  struct net *net = net_new(n, 5, NULL);
  build_ring(net, n);
  run_until(net, net->now + 120 * NS_PER_S);
  unsigned a = 0, b = 0, found = 0;
  for (a = 0; a < n && !found; a++)
    for (b = 0; b < n && !found; b++)
      if (a != b && !L(net, a, b))
        found = 1;
  assert_true(found);
  a--, b--;
  /* A link opened by someone else, both ends known ring members (each has
   * heard a message from the other). */
  link_up(net, a, b);
  uint8_t buf[OV_MSG_MAX];
  struct ov_msg m = {.type = OV_MSG_PONG};
  int len = ov_msg_encode(&m, buf, sizeof(buf));
  assert_true(len > 0);
  assert_int_equal(overlay_recv(net->ov[a], net->id[b], buf, (size_t)len, net->now), 0);
  assert_int_equal(overlay_recv(net->ov[b], net->id[a], buf, (size_t)len, net->now), 0);
  assert_true(ov_link_usable(ov_link_find(net->ov[a], net->id[b])));
  net->watch = true, net->watch_a = a, net->watch_b = b;
  run_until(net, net->now + 60 * NS_PER_S);
  /* Nothing routed over it (this seed), so nobody pinged it, and after the
   * silence it is out of routing at both ends. (Pinging every link to a
   * ring member kept such links alive for ever.) */
  assert_int_equal(net->watch_other, 0);
  assert_int_equal(net->watch_pings, 0);
  assert_false(ASK(net, a, b) || ASK(net, b, a));
  assert_false(ov_link_usable(ov_link_find(net->ov[a], net->id[b])));
  assert_false(ov_link_usable(ov_link_find(net->ov[b], net->id[a])));
  net_free(net);
}

int main(void) {
  if (getenv("OV_TEST")) /* run one test: OV_TEST=test_churn_repair */
    cmocka_set_test_filter(getenv("OV_TEST"));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sorted_links_next_hop), cmocka_unit_test(test_unused_link_not_pinged),
      cmocka_unit_test(test_seed_and_pair),   cmocka_unit_test(test_fresh_pair_tie_break),
      cmocka_unit_test(test_lonely_seed_merges),  cmocka_unit_test(test_converge_64),
      cmocka_unit_test(test_converge_256),    cmocka_unit_test(test_churn_repair),
      cmocka_unit_test(test_latency_and_loss), cmocka_unit_test(test_concurrent_joins),
      cmocka_unit_test(test_silent_failures), cmocka_unit_test(test_graceful_leave),  cmocka_unit_test(test_exact_and_ttl),
      cmocka_unit_test(test_malformed),       cmocka_unit_test(test_answer_through_via),       cmocka_unit_test(test_partition_heal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
