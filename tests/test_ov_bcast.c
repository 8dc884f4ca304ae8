/* Tests: broadcast over the ring (overlay/ov_bcast.c) in the overlay tests'
 * mini network (tests/ov_net.h): the tree reaches every member exactly
 * once with N-1 transmissions and O(log N) depth; duplicates, forged and
 * stale copies and floods are dropped; a member that fails mid-broadcast
 * cuts its arc off only until the ring has repaired. */
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

static uint64_t sum_tx(const struct net *net) {
  uint64_t tx = 0;
  struct ov_stats st;
  for (unsigned i = 0; i < net->n; i++) {
    overlay_stats(net->ov[i], &st);
    tx += st.bcast_tx;
  }
  return tx;
}

static void put_tag(uint8_t p[4], uint32_t tag) {
  p[0] = (uint8_t)(tag >> 24);
  p[1] = (uint8_t)(tag >> 16);
  p[2] = (uint8_t)(tag >> 8);
  p[3] = (uint8_t)tag;
}

/* How often each node took broadcast `tag` (counts[] has net->n entries);
 * returns the deepest copy. */
static unsigned count_tag(const struct net *net, uint32_t tag, unsigned *counts) {
  unsigned depth = 0;
  memset(counts, 0, net->n * sizeof(*counts));
  for (size_t d = 0; d < net->n_dl; d++) {
    if (!net->dl[d].bcast || net->dl[d].tag != tag)
      continue;
    counts[net->dl[d].at]++;
    if (net->dl[d].hops > depth)
      depth = net->dl[d].hops;
  }
  return depth;
}

static unsigned log2_ceil(unsigned n) {
  unsigned lg = 0;
  while ((1u << lg) < n)
    lg++;
  return lg;
}

/* In a stable ring every member but the origin takes each broadcast once,
 * the copies sent add up to N-1, the depth stays within 2 log2 N. */
static void tree_exactly_once(unsigned n, uint64_t seed) {
  struct net *net = net_new(n, seed, NULL);
  build_ring(net, n);
  run_until(net, net->now + 120 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  unsigned *counts = calloc(n, sizeof(*counts));
  unsigned max_depth = 0;
  uint64_t max_fan = 0;
  for (unsigned b = 0; b < 8; b++) {
    unsigned origin = (unsigned)(xs_next(&net->rng) % n);
    uint8_t p[64] = {0};
    put_tag(p, 0xb0000000u + b);
    uint64_t tx0 = sum_tx(net);
    uint64_t *tx_before = calloc(n, sizeof(*tx_before));
    struct ov_stats st;
    for (unsigned i = 0; i < n; i++) {
      overlay_stats(net->ov[i], &st);
      tx_before[i] = st.bcast_tx;
    }
    net->n_dl = 0;
    assert_int_equal(overlay_broadcast(net->ov[origin], 7, p, sizeof(p), net->now), 0);
    drain(net);
    unsigned depth = count_tag(net, 0xb0000000u + b, counts);
    for (unsigned i = 0; getenv("BC_DEBUG") && i < n; i++)
      if (counts[i] != (i == origin ? 0u : 1u)) {
        unsigned rank = 0;
        while (net->sorted[rank] != i)
          rank++;
        unsigned pr = net->sorted[(rank + n - 1) % n];
        struct ov_link *l = ov_link_find(net->ov[pr], net->id[i]);
        print_message("node %u (rank %u) got %u; pred %u got %u, link state %d in_ring %d\n", i,
                      rank, counts[i], pr, counts[pr], l ? l->state : -1, l ? l->in_ring : -1);
      }
    for (unsigned i = 0; i < n; i++) {
      assert_int_equal(counts[i], i == origin ? 0 : 1);
      overlay_stats(net->ov[i], &st);
      if (i != origin && st.bcast_tx - tx_before[i] > max_fan)
        max_fan = st.bcast_tx - tx_before[i];
    }
    assert_int_equal(sum_tx(net) - tx0, n - 1);
    if (depth > max_depth)
      max_depth = depth;
    for (size_t d = 0; d < net->n_dl; d++)
      if (net->dl[d].bcast) {
        assert_int_equal(net->dl[d].app, 7);
        assert_memory_equal(net->dl[d].src, net->id[origin], RL_ID_LEN);
      }
    free(tx_before);
  }
  print_message("N=%u: 8 broadcasts, each to all %u others once, %u transmissions each, "
                "depth <= %u (2 log2 N = %u), most copies sent by a non-origin %llu\n",
                n, n - 1, n - 1, max_depth, 2 * log2_ceil(n),
                (unsigned long long)max_fan);
  assert_true(max_depth <= 2 * log2_ceil(n));
  assert_int_equal(net->bad_sends, 0);
  (void)route_check(net, 4, 4); /* routing is untouched by it */
  free(counts);
  net_free(net);
}

static void test_tree_64(void **state) {
  (void)state;
  tree_exactly_once(64, 11);
}

static void test_tree_256(void **state) {
  (void)state;
  tree_exactly_once(256, 12);
}

/* A ring of one broadcasts to nobody; before joining there is no ring. */
static void test_alone_and_unjoined(void **state) {
  (void)state;
  struct net *net = net_new(2, 3, NULL);
  uint8_t p[4] = {1, 2, 3, 4};
  assert_int_equal(overlay_broadcast(net->ov[0], 7, p, 4, 0), RL_ESTATE);
  net->alive[0] = true;
  overlay_join(net->ov[0], 0);
  drain(net);
  assert_int_equal(overlay_broadcast(net->ov[0], 7, p, 4, 0), 0);
  drain(net);
  assert_int_equal(sum_tx(net), 0);
  uint8_t big[OV_APP_MAX + 1] = {0};
  assert_int_equal(overlay_broadcast(net->ov[0], 7, big, sizeof(big), 0), RL_ETOOBIG);
  net_free(net);
}

/* Hand-made copies fed to one member: a duplicate is dropped, a copy too
 * old for the window is dropped, a new epoch (a restarted origin) starts
 * afresh, our own broadcast coming back is dropped. */
static int feed(struct overlay *ov, const uint8_t from[RL_ID_LEN],
                const uint8_t origin[RL_ID_LEN], uint32_t epoch, uint32_t seq,
                const uint8_t limit[RL_ID_LEN], uint64_t now) {
  uint8_t p[4];
  put_tag(p, seq);
  struct ov_msg m;
  memset(&m, 0, sizeof(m));
  m.type = OV_MSG_BCAST;
  m.hops = 1;
  memcpy(m.src, origin, RL_ID_LEN);
  m.epoch = epoch;
  m.seq = seq;
  memcpy(m.target, limit, RL_ID_LEN);
  m.app = 9;
  m.payload = p;
  m.len = 4;
  uint8_t buf[OV_MSG_MAX];
  int len = ov_msg_encode(&m, buf, sizeof(buf));
  assert_int_equal(len, OV_BCAST_HDR + 4);
  return overlay_recv(ov, from, buf, (size_t)len, now);
}

static unsigned n_bcast(struct net *net, unsigned at) {
  unsigned c = 0;
  actions(net, at);
  for (size_t d = 0; d < net->n_dl; d++)
    c += net->dl[d].bcast && net->dl[d].at == at;
  return c;
}

static void test_duplicates_window_epoch(void **state) {
  (void)state;
  struct net *net = net_new(4, 5, NULL);
  build_ring(net, 4);
  run_until(net, net->now + 30 * NS_PER_S);
  struct overlay *ov = net->ov[1];
  const uint8_t *from = net->id[2], *origin = net->id[3];
  uint8_t lim[RL_ID_LEN];
  memcpy(lim, net->id[1], RL_ID_LEN);
  ring_add_pow2(lim, 0, lim); /* (self, self + 1): an empty arc */
  net->n_dl = 0;
  struct ov_stats st;
  assert_int_equal(feed(ov, from, origin, 77, 1000, lim, net->now), 0);
  assert_int_equal(feed(ov, from, origin, 77, 1000, lim, net->now), 0);
  assert_int_equal(n_bcast(net, 1), 1);
  overlay_stats(ov, &st);
  assert_int_equal(st.bcast_dup, 1);
  /* out of order within the window: taken once */
  assert_int_equal(feed(ov, from, origin, 77, 1000 + 300, lim, net->now), 0);
  assert_int_equal(feed(ov, from, origin, 77, 1000 + 100, lim, net->now), 0);
  assert_int_equal(feed(ov, from, origin, 77, 1000 + 100, lim, net->now), 0);
  assert_int_equal(n_bcast(net, 1), 3);
  /* seq 1000 is now 300 behind the top: outside the 256-seq window */
  assert_int_equal(feed(ov, from, origin, 77, 1000, lim, net->now), 0);
  assert_int_equal(n_bcast(net, 1), 3);
  overlay_stats(ov, &st);
  assert_int_equal(st.bcast_dup, 2);
  assert_int_equal(st.bcast_stale, 1);
  /* a restarted origin (new epoch) starts from any seq */
  assert_int_equal(feed(ov, from, origin, 78, 0, lim, net->now), 0);
  assert_int_equal(n_bcast(net, 1), 4);
  /* our own broadcast, come back */
  assert_int_equal(feed(ov, from, net->id[1], 1, 1, lim, net->now), 0);
  assert_int_equal(n_bcast(net, 1), 4);
  net_free(net);
}

/* A settled ring of 4 (seed, optional check hook) and lim: the arc limit
 * of a copy handed to node 1 by its predecessor (just past node 1). */
static struct net *ring4(uint64_t seed,
                         bool (*check)(void *, const uint8_t *, uint32_t, uint32_t, uint8_t,
                                       const uint8_t *, size_t, uint64_t),
                         uint8_t lim[RL_ID_LEN]) {
  struct ov_config cfg;
  ov_config_default(&cfg);
  cfg.bcast_check = check;
  struct net *net = net_new(4, seed, &cfg);
  build_ring(net, 4);
  run_until(net, net->now + 30 * NS_PER_S);
  memcpy(lim, net->id[1], RL_ID_LEN);
  ring_add_pow2(lim, 0, lim);
  return net;
}

/* The check hook runs first; a refused copy leaves its ID unseen, so the
 * genuine copy that follows is still taken (a forger cannot shadow it). */
static unsigned refuse_left;
static bool check_refuse_some(void *ctx, const uint8_t origin[RL_ID_LEN], uint32_t epoch,
                              uint32_t seq, uint8_t app, const uint8_t *p, size_t len,
                              uint64_t now) {
  (void)ctx, (void)origin, (void)epoch, (void)seq, (void)app, (void)p, (void)len, (void)now;
  if (refuse_left) {
    refuse_left--;
    return false;
  }
  return true;
}

static void test_refused_copy_does_not_shadow(void **state) {
  (void)state;
  uint8_t lim[RL_ID_LEN];
  struct net *net = ring4(6, check_refuse_some, lim);
  net->n_dl = 0;
  refuse_left = 1;
  assert_int_equal(feed(net->ov[1], net->id[2], net->id[3], 5, 5, lim, net->now), RL_EREFUSED);
  assert_int_equal(n_bcast(net, 1), 0);
  assert_int_equal(feed(net->ov[1], net->id[2], net->id[3], 5, 5, lim, net->now), 0);
  assert_int_equal(n_bcast(net, 1), 1);
  struct ov_stats st;
  overlay_stats(net->ov[1], &st);
  assert_int_equal(st.bcast_refused, 1);
  assert_int_equal(st.bcast_dup, 0);
  /* a refused copy is not passed on either: a whole-ring broadcast whose
   * copies are all refused reaches nobody */
  refuse_left = 1000;
  uint8_t p[4] = {0};
  net->n_dl = 0;
  uint64_t tx0 = sum_tx(net);
  assert_int_equal(overlay_broadcast(net->ov[0], 7, p, 4, net->now), 0);
  drain(net);
  assert_int_equal(net->n_dl, 0);
  assert_true(sum_tx(net) - tx0 <= 3);
  refuse_left = 0;
  net_free(net);
}

/* The first copy of an origin with epoch 0 and a seq far below 0 (found
 * by fuzz_ov_msg: a fresh origin slot's zeroed epoch passed for "epoch 0,
 * top 0" and the copy's bit was written 2^24 words past the window; under
 * ASan a heap overflow, in the daemon memory corruption from one crafted
 * message). Now the first copy of any epoch starts the window at its seq. */
static void test_epoch0_far_below_first_copy(void **state) {
  (void)state;
  uint8_t lim[RL_ID_LEN];
  struct net *net = ring4(9, NULL, lim);
  net->n_dl = 0;
  assert_int_equal(feed(net->ov[1], net->id[2], net->id[3], 0, 0xff000000u, lim, net->now), 0);
  assert_int_equal(n_bcast(net, 1), 1);
  assert_int_equal(feed(net->ov[1], net->id[2], net->id[3], 0, 0xff000000u, lim, net->now), 0);
  assert_int_equal(n_bcast(net, 1), 1); /* the same ID again: a duplicate */
  assert_int_equal(feed(net->ov[1], net->id[2], net->id[3], 0, 0xff000001u, lim, net->now), 0);
  assert_int_equal(n_bcast(net, 1), 2);
  struct ov_stats st;
  overlay_stats(net->ov[1], &st);
  assert_int_equal(st.bcast_dup, 1);
  net_free(net);
}

/* A link that keeps bringing copies the check refuses (a member forging
 * copies under others' names) gets OV_BCAST_BAD_BURST checks, then
 * OV_BCAST_BAD_RATE a second; its further copies are dropped unchecked.
 * Copies from other links are checked and taken as before. */
static unsigned checks;
static bool check_count_refuse(void *ctx, const uint8_t origin[RL_ID_LEN], uint32_t epoch,
                               uint32_t seq, uint8_t app, const uint8_t *p, size_t len,
                               uint64_t now) {
  (void)ctx, (void)origin, (void)epoch, (void)app, (void)p, (void)len, (void)now;
  checks++;
  return seq < 1000; /* seqs from 1000 on are "forged" */
}

static void test_forging_link_checked_at_budget(void **state) {
  (void)state;
  uint8_t lim[RL_ID_LEN];
  struct net *net = ring4(8, check_count_refuse, lim);
  struct ov_stats st;
  checks = 0;
  /* 200 forged copies from node 2 within one instant: 20 checked. */
  for (uint32_t k = 0; k < 200; k++)
    assert_int_equal(feed(net->ov[1], net->id[2], net->id[3], 5, 1000 + k, lim, net->now),
                     RL_EREFUSED);
  assert_int_equal(checks, OV_BCAST_BAD_BURST);
  overlay_stats(net->ov[1], &st);
  assert_int_equal(st.bcast_refused, OV_BCAST_BAD_BURST);
  assert_int_equal(st.bcast_link_dropped, 200 - OV_BCAST_BAD_BURST);
  /* A genuine copy from another link is checked and taken. */
  net->n_dl = 0;
  assert_int_equal(feed(net->ov[1], net->id[0], net->id[3], 5, 7, lim, net->now), 0);
  assert_int_equal(n_bcast(net, 1), 1);
  /* One second later node 2 has OV_BCAST_BAD_RATE more checks. */
  checks = 0;
  for (uint32_t k = 0; k < 100; k++)
    (void)feed(net->ov[1], net->id[2], net->id[3], 5, 2000 + k, lim, net->now + NS_PER_S);
  assert_int_equal(checks, OV_BCAST_BAD_RATE);
  net_free(net);
}

/* Rate: our own broadcasts stop at the burst (then refill at the rate);
 * receivers hold a flooding origin to rate, burst plus a second. */
static void test_rate_limits(void **state) {
  (void)state;
  struct ov_config cfg;
  ov_config_default(&cfg);
  cfg.bcast_rate = 50;
  cfg.bcast_burst = 20;
  struct net *net = net_new(4, 7, &cfg);
  build_ring(net, 4);
  run_until(net, net->now + 30 * NS_PER_S);
  uint8_t p[4] = {0};
  unsigned ok = 0, again = 0;
  for (unsigned i = 0; i < 30; i++) {
    int rc = overlay_broadcast(net->ov[0], 7, p, 4, net->now);
    ok += rc == 0;
    again += rc == RL_EAGAIN;
  }
  assert_int_equal(ok, 20);
  assert_int_equal(again, 10);
  /* 100 ms later five more tokens (50/s) */
  ok = 0;
  for (unsigned i = 0; i < 6; i++)
    ok += overlay_broadcast(net->ov[0], 7, p, 4, net->now + 100 * NS_PER_MS) == 0;
  assert_int_equal(ok, 5);
  /* a flooding origin seen by a receiver: burst 20 + rate 50 at once */
  uint8_t lim[RL_ID_LEN];
  memcpy(lim, net->id[1], RL_ID_LEN);
  ring_add_pow2(lim, 0, lim);
  net->n_dl = 0;
  drain(net);
  net->n_dl = 0;
  unsigned refused = 0;
  for (unsigned s = 0; s < 100; s++)
    refused += feed(net->ov[1], net->id[2], net->id[3], 9, s, lim, net->now) == RL_EAGAIN;
  assert_int_equal(n_bcast(net, 1), 70);
  assert_int_equal(refused, 30);
  net_free(net);
}

/* A member that dies mid-broadcast (no link-down report: it just goes
 * silent) cuts its arc off; once the ring has noticed and repaired, the
 * next broadcast reaches every live member again, exactly once. */
static void test_failure_cuts_arc_until_repair(void **state) {
  (void)state;
  unsigned n = 64;
  struct net *net = net_new(n, 13, NULL);
  build_ring(net, n);
  run_until(net, net->now + 120 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  unsigned origin = 5, *counts = calloc(n, sizeof(*counts));
  /* the origin's farthest shortcut: its arc is about half the ring */
  struct ov_ring_info *info = malloc(sizeof(*info));
  overlay_ring_info(net->ov[origin], info);
  int victim = find_node(net, info->shortcuts[0]);
  assert_true(victim >= 0 && (unsigned)victim != origin);
  net->alive[victim] = false; /* silent: the links stay up, copies vanish */
  uint8_t p[4];
  put_tag(p, 1);
  net->n_dl = 0;
  assert_int_equal(overlay_broadcast(net->ov[origin], 7, p, 4, net->now), 0);
  drain(net);
  count_tag(net, 1, counts);
  unsigned missed = 0;
  for (unsigned i = 0; i < n; i++)
    if (i != origin && (int)i != victim)
      missed += counts[i] == 0;
  assert_true(missed > 0);
  /* one broadcast a second until every live member has it */
  uint64_t t0 = net->now;
  unsigned tries = 0;
  for (uint32_t tag = 2;; tag++) {
    assert_true(tries++ < 120);
    run_until(net, net->now + NS_PER_S);
    put_tag(p, tag);
    net->n_dl = 0;
    assert_int_equal(overlay_broadcast(net->ov[origin], 7, p, 4, net->now), 0);
    drain(net);
    count_tag(net, tag, counts);
    unsigned got = 0, twice = 0;
    for (unsigned i = 0; i < n; i++) {
      got += counts[i] >= 1;
      twice += counts[i] > 1;
    }
    assert_int_equal(twice, 0);
    if (got == n - 2)
      break;
  }
  double repair_s = (double)(net->now - t0) / (double)NS_PER_S;
  print_message("a silent member (the origin's farthest shortcut) cut %u of %u members off; "
                "every live member reached again after %.0f s\n", missed, n - 2, repair_s);
  /* shortcut silence is taken as failure after OV_DEAD_IDLE_TICKS
   * shortcut periods (default 4 x 5 s): the cut lasts no longer */
  assert_true(repair_s <= (double)(OV_DEAD_IDLE_TICKS + 1) *
                              (double)OV_DEFAULT_FIX_FINGERS_NS / (double)NS_PER_S + 2 * 2.2);
  free(info);
  free(counts);
  net_free(net);
}

/* A member that crashes with its links reported down: the very next
 * broadcast goes round it (its arc is split among the others' links). */
static void test_crash_reported_next_broadcast_whole(void **state) {
  (void)state;
  unsigned n = 64, origin = 9, *counts = calloc(n, sizeof(*counts));
  struct net *net = net_new(n, 14, NULL);
  build_ring(net, n);
  run_until(net, net->now + 120 * NS_PER_S);
  struct ov_ring_info *info = malloc(sizeof(*info));
  overlay_ring_info(net->ov[origin], info);
  int victim = find_node(net, info->shortcuts[0]);
  assert_true(victim >= 0);
  kill_node(net, (unsigned)victim);
  uint8_t p[4];
  put_tag(p, 42);
  net->n_dl = 0;
  assert_int_equal(overlay_broadcast(net->ov[origin], 7, p, 4, net->now), 0);
  drain(net);
  count_tag(net, 42, counts);
  for (unsigned i = 0; i < n; i++)
    assert_int_equal(counts[i], i == origin || (int)i == victim ? 0 : 1);
  free(info);
  free(counts);
  net_free(net);
}

/* Wire format: round trip, flags must be zero, payload bounded, no
 * trailing bytes. */
static void test_wire(void **state) {
  (void)state;
  struct ov_msg m, d;
  memset(&m, 0, sizeof(m));
  m.type = OV_MSG_BCAST;
  m.hops = 3;
  memset(m.src, 0xaa, RL_ID_LEN);
  m.epoch = 0x01020304;
  m.seq = 0x05060708;
  memset(m.target, 0xbb, RL_ID_LEN);
  m.app = 5;
  uint8_t p[10] = "0123456789", buf[OV_MSG_MAX];
  m.payload = p;
  m.len = sizeof(p);
  int len = ov_msg_encode(&m, buf, sizeof(buf));
  assert_int_equal(len, OV_BCAST_HDR + 10);
  assert_int_equal(buf[0], OV_MSG_BCAST);
  assert_int_equal(buf[3], 0xaa);
  assert_int_equal(buf[23], 0x01);
  assert_int_equal(buf[30], 0x08);
  assert_int_equal(buf[31], 0xbb);
  assert_int_equal(buf[51], 5);
  assert_int_equal(buf[52], 0);
  assert_int_equal(buf[53], 10);
  assert_int_equal(ov_msg_decode(&d, buf, (size_t)len), 0);
  assert_int_equal(d.hops, 3);
  assert_int_equal(d.epoch, 0x01020304);
  assert_int_equal(d.seq, 0x05060708);
  assert_memory_equal(d.target, m.target, RL_ID_LEN);
  assert_memory_equal(d.payload, p, 10);
  for (int cut = 0; cut < len; cut++)
    assert_true(ov_msg_decode(&d, buf, (size_t)cut) < 0);
  buf[len] = 0;
  assert_int_equal(ov_msg_decode(&d, buf, (size_t)len + 1), RL_ETRUNC);
  buf[1] = 1;
  assert_int_equal(ov_msg_decode(&d, buf, (size_t)len), RL_EPARSE);
  buf[1] = 0;
  buf[52] = 0xff; /* len 0xff0a > OV_APP_MAX */
  assert_int_equal(ov_msg_decode(&d, buf, (size_t)len), RL_EPARSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wire),
      cmocka_unit_test(test_alone_and_unjoined),
      cmocka_unit_test(test_duplicates_window_epoch),
      cmocka_unit_test(test_refused_copy_does_not_shadow),
      cmocka_unit_test(test_forging_link_checked_at_budget),
      cmocka_unit_test(test_epoch0_far_below_first_copy),
      cmocka_unit_test(test_rate_limits),
      cmocka_unit_test(test_tree_64),
      cmocka_unit_test(test_tree_256),
      cmocka_unit_test(test_failure_cuts_arc_until_repair),
      cmocka_unit_test(test_crash_reported_next_broadcast_whole),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
