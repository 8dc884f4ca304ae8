/* Unit tests: NAT traversal in the node core, with NAT boxes modelled in
 * the in-test network (tests/testnet.h, RFC 4787 behaviours).
 *
 *   public: n0 (bootstrap) n1 n2 n3       192.0.2.1 .. 192.0.2.4
 *   n4, n5  port-restricted cone           192.168.5.2 / 192.168.6.2 behind
 *   n6, n7  symmetric                       203.0.113.5 .. 203.0.113.9
 *   n8      full cone
 *
 * Expected paths for frames (../shared/nat/notes.md):
 *   cone <-> cone           direct (coordinated punching)
 *   full cone <-> symmetric direct (peer-reflexive address)
 *   cone <-> symmetric      relay  (the symmetric side's port is unguessable
 *   symmetric <-> symmetric relay   and the cone side filters per port)
 *   public <-> any          direct
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#define MAXN 9
#include "nat/reflex.h"
#include "node/core/node_internal.h" /* white box: a second handshake on demand */
#include "tap/tap.h"
#include "util/wire.h"
#include "testnet.h"
#include "testnet_status.h"

static struct net *make_world_opt(bool only_n3_relays) {
  struct net *w = calloc(1, sizeof(*w));
  for (int i = 0; i < 3 && only_n3_relays; i++)
    w->no_relay[i] = true;
  struct prng gp = {777};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  static const enum tn_nat kinds[MAXN] = {TN_NONE, TN_NONE, TN_NONE, TN_NONE, TN_CONE,
                                          TN_CONE, TN_SYM,  TN_SYM,  TN_FULLCONE};
  w->now = T0;
  w->ring_successors = 3;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  for (int i = 0; i < MAXN; i++) {
    make_member(w, i, &w->group, "lab", 0x64400001 + (uint32_t)i);
    if (kinds[i] != TN_NONE)
      tn_set_nat(w, i, kinds[i]);
  }
  start_node_cfg(w, 0, w->group.pk, -1, -1);
  for (int i = 1; i < MAXN; i++) {
    start_node_cfg(w, i, w->group.pk, -1, 0);
    run_until(w, w->now + 2 * NS_PER_S);
  }
  run_until(w, w->now + 90 * NS_PER_S);
  return w;
}

static struct net *make_world(void) { return make_world_opt(false); }

static void assert_class(struct net *w, int i, const char *cls) {
  char want[64];
  snprintf(want, sizeof(want), "\"nat\":{\"class\":\"%s\"", cls);
  if (!strstr(status_of(w, i), want))
    fail_msg("node %d: expected %s in %s", i, want, strstr(status_of(w, i), "\"nat\""));
}

static void test_nat_classes_from_peer_reports(void **state) {
  (void)state;
  struct net *w = make_world();
  for (int i = 0; i < 4; i++)
    assert_class(w, i, "public");
  assert_class(w, 4, "endpoint-independent");
  assert_class(w, 5, "endpoint-independent");
  assert_class(w, 6, "symmetric");
  assert_class(w, 7, "symmetric");
  assert_class(w, 8, "endpoint-independent");
  /* A cone node publishes its reflexive address (its NAT keeps the port). */
  assert_non_null(strstr(status_of(w, 4), "\"reflexive\":\"203.0.113.5:4000\""));
  teardown(w);
  free(w);
}

static void test_pairs_reach_each_other_on_expected_paths(void **state) {
  (void)state;
  struct net *w = make_world();
  check_pair(w, 4, 5, "direct"); /* cone <-> cone: punched */
  check_pair(w, 8, 6, "direct"); /* full cone <-> symmetric */
  check_pair(w, 4, 6, "relay");  /* cone <-> symmetric */
  check_pair(w, 6, 7, "relay");  /* symmetric <-> symmetric */
  check_pair(w, 1, 7, "direct"); /* public <-> symmetric */
  teardown(w);
  free(w);
}

/* Members may refuse to relay ([nat] relay_kbps = 0): n0..n2 refuse. A
 * symmetric pair then ends up relayed by a member that accepts: a REFUSED
 * answer makes the sender move on, and a member with no willing relay among
 * its links recruits one (links to a neighbour of the peer's). Frames sent
 * while a refuser was still chosen may be lost, none after; the refusers
 * forward nothing. */
static void test_relays_can_refuse(void **state) {
  (void)state;
  struct net *w = make_world_opt(true);
  uint8_t f[200], out[NODE_FRAME_MAX];
  size_t len, got = 0;
  len = arp_request(f, w, 6, w->cert[7].vip);
  node_recv_tap(w->node[6], f, len, w->now);
  run_until(w, w->now + 3 * NS_PER_S);
  while (node_poll_tap(w->node[6], out, sizeof(out)) > 0)
    ;
  for (int k = 0; k < 12 && got == 0; k++) { /* until one frame arrives */
    len = make_frame_ring(f, w, 6, 7, (uint8_t)k);
    node_recv_tap(w->node[6], f, len, w->now);
    run_until(w, w->now + 5 * NS_PER_S);
    got = node_poll_tap(w->node[7], out, sizeof(out));
  }
  assert_int_equal(got, len);
  for (int k = 0; k < 5; k++) { /* from then on, every frame */
    len = make_frame_ring(f, w, 6, 7, (uint8_t)(0x80 + k));
    node_recv_tap(w->node[6], f, len, w->now);
    run_until(w, w->now + 2 * NS_PER_S);
    assert_int_equal(node_poll_tap(w->node[7], out, sizeof(out)), len);
  }
  assert_true(has_path(w, 6, 7, "relay"));
  for (int i = 0; i < 3; i++) { /* never through a refuser */
    char rid[2 * RL_ID_LEN + 1], bad[128];
    rl_hex_encode(rid, node_id(w->node[i]), RL_ID_LEN);
    snprintf(bad, sizeof(bad), "\"relay\":\"%s\"", rid);
    assert_null(strstr(status_of(w, 6), bad));
    assert_non_null(strstr(status_of(w, i), "\"relay_forwarded\":0,"));
  }
  teardown(w);
  free(w);
}

/* A peer on our own LAN sees our host address; that makes us neither
 * public nor tells anything about the router: only when every peer sees a
 * host address are we public. */
static void test_classify_lan_peer_is_not_public(void **state) {
  (void)state;
  struct nat_obs o;
  struct rl_addr local[2], lanpeer, out1, out2, seen_lan, seen_pub, refl;
  uint8_t r1[RL_ID_LEN] = {1}, r2[RL_ID_LEN] = {2}, r3[RL_ID_LEN] = {3};
  nat_obs_init(&o);
  rl_addr_set_ipv4(&local[0], 0xC0A80502, 4000);     /* 192.168.5.2 */
  rl_addr_set_ipv4(&local[1], 0xC0A80602, 4000);     /* a second interface */
  rl_addr_set_ipv4(&lanpeer, 0xC0A80503, 4000);
  rl_addr_set_ipv4(&out1, 0xC0000201, 4000);
  rl_addr_set_ipv4(&out2, 0xC6336401, 4000);
  seen_lan = local[0];
  rl_addr_set_ipv4(&seen_pub, 0xCB007105, 4000);     /* the router's address */
  nat_obs_add(&o, r1, &lanpeer, &seen_lan, T0);
  assert_int_equal(nat_classify(&o, local, 2, T0, &refl), NAT_CLASS_NONE);
  assert_true(rl_addr_equal(&refl, &local[0]));
  nat_obs_add(&o, r2, &out1, &seen_pub, T0 + 1);
  assert_int_equal(nat_classify(&o, local, 2, T0 + 1, &refl), NAT_CLASS_UNKNOWN);
  assert_int_equal(refl.family, RL_AF_NONE); /* one reporter's word: not published */
  nat_obs_add(&o, r3, &out2, &seen_pub, T0 + 2);
  assert_int_equal(nat_classify(&o, local, 2, T0 + 2, &refl), NAT_CLASS_EIM);
  assert_true(rl_addr_equal(&refl, &seen_pub));
  /* A host seen under its second interface address is public too. */
  nat_obs_init(&o);
  nat_obs_add(&o, r2, &out1, &local[1], T0);
  assert_int_equal(nat_classify(&o, local, 2, T0, &refl), NAT_CLASS_NONE);
  assert_true(rl_addr_equal(&refl, &local[1]));
}

/* Members bound to the documented default wildcard address (0.0.0.0:port)
 * publish the addresses of their interfaces as host candidates (never
 * loopback, link-local or their own TAP address) and every pair links
 * directly: public hosts and a member behind a NAT alike. */
static void test_wildcard_listen_members_link_directly(void **state) {
  (void)state;
  struct net *w = calloc(1, sizeof(*w));
  struct prng gp = {778};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  w->now = T0;
  w->ring_successors = 3;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  for (int i = 0; i < 7; i++) {
    make_member(w, i, &w->group, "lab", 0x64400001 + (uint32_t)i);
    w->wildcard[i] = true;
  }
  tn_set_nat(w, 6, TN_CONE);
  start_node_cfg(w, 0, w->group.pk, -1, -1);
  for (int i = 1; i < 7; i++) {
    start_node_cfg(w, i, w->group.pk, -1, 0);
    run_until(w, w->now + 2 * NS_PER_S);
  }
  run_until(w, w->now + 60 * NS_PER_S);
  assert_non_null(strstr(status_of(w, 1), "\"listen\":\"0.0.0.0:4000\""));
  assert_non_null(strstr(status_of(w, 1),
                         "\"candidates\":[{\"kind\":\"host\",\"addr\":\"192.0.2.2:4000\"}]"));
  assert_null(strstr(status_of(w, 1), "127.0.0.1"));
  assert_null(strstr(status_of(w, 1), "169.254."));
  assert_null(strstr(status_of(w, 1), "\"addr\":\"100.64."));
  for (int i = 0; i < 6; i++)
    assert_class(w, i, "public");
  assert_class(w, 6, "endpoint-independent");
  for (int a = 1; a < 7; a++)
    for (int b = 1; b < 7; b++)
      if (a != b)
        check_pair(w, a, b, "direct");
  teardown(w);
  free(w);
}

/* Host candidates keep global IPv6 addresses (a dual-stack wildcard
 * socket) and drop the unusable ones: link-local, loopback, v4-mapped,
 * multicast, the unspecified address. */
static void test_host_candidates_ipv6(void **state) {
  (void)state;
  struct net *w = calloc(1, sizeof(*w));
  struct prng gp = {779};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  struct rl_addr ifs[7];
  static const char *const text[7] = {"[fe80::1]:0", "[::1]:0", "[::ffff:192.0.2.9]:0",
                                      "[ff02::1]:0", "[::]:0", "[2001:db8:6::1]:0",
                                      "192.0.2.1:0"};
  w->now = T0;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  make_member(w, 0, &w->group, "lab", 0x64400001);
  w->wildcard[0] = true;
  start_node_cfg(w, 0, w->group.pk, -1, -1);
  for (int i = 0; i < 7; i++)
    assert_int_equal(rl_addr_parse(&ifs[i], text[i]), 0);
  node_set_local_addrs(w->node[0], ifs, 7, w->now);
  assert_non_null(strstr(status_of(w, 0),
                         "\"candidates\":[{\"kind\":\"host\",\"addr\":\"[2001:db8:6::1]:4000\"},"
                         "{\"kind\":\"host\",\"addr\":\"192.0.2.1:4000\"}]"));
  teardown(w);
  free(w);
}

/* Every frame a sends to b arrives (count frames, one per 200 ms). */
static void frames_arrive(struct net *w, int a, int b, int count, uint8_t fill) {
  uint8_t f[200], out[NODE_FRAME_MAX];
  for (int k = 0; k < count; k++) {
    size_t len = make_frame_ring(f, w, a, b, (uint8_t)(fill + k)), got;
    assert_int_equal(node_recv_tap(w->node[a], f, len, w->now), 0);
    run_until(w, w->now + 200 * NS_PER_MS);
    got = node_poll_tap(w->node[b], out, sizeof(out));
    if (got != len)
      fail_msg("%d->%d frame %d of %d lost (got %zu)", a, b, k, count, got);
  }
}

/* Established links from i to j that are not retiring. */
static int live_links(struct net *w, int i, int j) {
  int k = 0;
  for (unsigned x = 0; x < w->node[i]->n_links; x++) {
    const struct link *l = w->node[i]->links[x];
    k += l->used && l->s.have_peer && l->s.state == SESS_ESTABLISHED && !l->retire_at_ns &&
         memcmp(l->s.peer_id, node_id(w->node[j]), RL_ID_LEN) == 0;
  }
  return k;
}

/* A handshake from `from` toward `to`'s address while a session between
 * them is up, as a punch or an overlay CONNECT that crossed the first
 * handshake starts one: `to` answers it on the session it has (the peer
 * may have restarted), so the session `from` had is gone at `to`. The
 * pair must end up sending on one session both ends hold, with no frame
 * lost in either direction (the black hole of issue 9: fc -> pr 0/10
 * while both ends showed an established direct link). */
static void second_handshake(struct net *w, int from, int to) {
  struct node *n = w->node[from];
  struct link *x = link_new(n, &w->addr[to], w->now);
  assert_non_null(x);
  x->has_expect = true;
  memcpy(x->expect_id, node_id(w->node[to]), RL_ID_LEN);
  sess_start(&x->s, w->now);
  link_after_event(n, x, w->now);
  frames_arrive(w, from, to, 10, 0x40); /* frames while it completes */
  frames_arrive(w, to, from, 10, 0x50);
  run_until(w, w->now + 20 * NS_PER_S); /* lingering sessions retire */
  frames_arrive(w, from, to, 5, 0x60);
  frames_arrive(w, to, from, 5, 0x70);
  assert_int_equal(live_links(w, from, to), 1);
  assert_int_equal(live_links(w, to, from), 1);
}

static void test_second_handshake_keeps_one_session(void **state) {
  (void)state;
  struct net *w = make_world();
  check_pair(w, 1, 2, "direct");
  check_pair(w, 2, 1, "direct");
  /* From either end: which session each end keeps depends on the IDs. */
  second_handshake(w, 1, 2);
  second_handshake(w, 2, 1);
  second_handshake(w, 1, 2);
  teardown(w);
  free(w);
}

/* The relay of i's relayed link to j (node index), or -1. */
static int relay_of(struct net *w, int i, int j) {
  const char *js = status_of(w, i), *p, *e, *r;
  char needle[48];
  snprintf(needle, sizeof(needle), "\"peer_vip\":\"100.64.0.%d\"", j + 1);
  for (p = strstr(js, needle); p; p = strstr(p + 1, needle)) {
    e = strchr(p, '}');
    r = strstr(p, "\"relay\":\"");
    if (!r || r > e || !strstr(p, "\"state\":\"established\"") ||
        strstr(p, "\"state\":\"established\"") > e)
      continue;
    for (int k = 0; k < MAXN; k++) {
      char hex[2 * RL_ID_LEN + 1];
      rl_hex_encode(hex, node_id(w->node[k]), RL_ID_LEN);
      if (strncmp(r + 9, hex, 2 * RL_ID_LEN) == 0)
        return k;
    }
  }
  return -1;
}

/* A relay dies mid-stream (no goodbye: its packets just stop). The
 * symmetric pair n6 -> n7 sends a frame every 200 ms; frames must arrive
 * again within 3 s of the failure (issue 9: a standby relay, already
 * checked, and fast liveness on relayed paths), and every frame after. */
static void test_relay_failover_within_3s(void **state) {
  (void)state;
  struct net *w = make_world();
  uint8_t f[200], out[NODE_FRAME_MAX];
  size_t len;
  uint64_t t_fail, t_back = 0;
  int relay, k, after = 0;
  check_pair(w, 6, 7, "relay");
  /* steady traffic for a while: the standby gets chosen and checked */
  for (k = 0; k < 50; k++) {
    len = make_frame_ring(f, w, 6, 7, (uint8_t)k);
    node_recv_tap(w->node[6], f, len, w->now);
    run_until(w, w->now + 200 * NS_PER_MS);
    assert_int_equal(node_poll_tap(w->node[7], out, sizeof(out)), len);
  }
  relay = relay_of(w, 6, 7);
  assert_true(relay >= 0 && relay <= 3);
  w->down[relay] = true;
  t_fail = w->now;
  for (k = 0; k < 100 && after < 10; k++) {
    len = make_frame_ring(f, w, 6, 7, (uint8_t)(0x80 + k));
    node_recv_tap(w->node[6], f, len, w->now);
    run_until(w, w->now + 200 * NS_PER_MS);
    if (node_poll_tap(w->node[7], out, sizeof(out)) == len) {
      if (!t_back)
        t_back = w->now;
      after++;
    } else if (t_back) {
      fail_msg("frame %d lost after traffic resumed", k);
    }
  }
  if (!t_back || t_back - t_fail > 3 * NS_PER_S)
    fail_msg("relay n%d died: frames resumed after %.1f s (want <= 3 s)", relay,
             t_back ? (double)(t_back - t_fail) / NS_PER_S : -1.0);
  fprintf(stderr, "relay n%d died: frames resumed after %.1f s, now via n%d\n", relay,
          (double)(t_back - t_fail) / NS_PER_S, relay_of(w, 6, 7));
  assert_int_not_equal(relay_of(w, 6, 7), relay);
  teardown(w);
  free(w);
}

/* The session i holds with j that sends (link_tx), or NULL. */
static struct link *tx_link(struct net *w, int i, int j) {
  return link_tx(w->node[i], node_id(w->node[j]), LINK_TX_ANY, NULL);
}

/* A numbered frame a -> b (number in bytes 40..41). */
static size_t seq_frame(uint8_t *f, struct net *w, int a, int b, unsigned seq) {
  size_t len = make_frame_ring(f, w, a, b, 0x11);
  f[40] = (uint8_t)(seq >> 8);
  f[41] = (uint8_t)seq;
  return len;
}

/* Frames that reached b since the last call: each number must be the
 * next one (nothing lost, duplicated or reordered). */
static void seq_check(struct net *w, int b, unsigned *next) {
  uint8_t out[NODE_FRAME_MAX];
  while (node_poll_tap(w->node[b], out, sizeof(out)) > 0) {
    unsigned got = (unsigned)out[40] << 8 | out[41];
    if (got != *next)
      fail_msg("frame %u arrived when %u was due (lost or reordered)", got, *next);
    (*next)++;
  }
}

/* Issue 9, "one end-to-end session per pair whatever paths it uses": n1
 * and n2 cannot reach each other directly (cut after they linked), so
 * their frames ride the overlay or a relay, and everything toward n2 by another member arrives
 * 30 ms late (a slow routed path). When the direct path opens, the
 * background retry punches it, and the session that carried the frames
 * takes the direct path itself: the same session index, no frame lost,
 * none out of order (frames that overtook older ones still on the slow
 * path wait for them), one live session at each end. */
static void test_path_upgrade_one_session_in_order(void **state) {
  (void)state;
  struct net *w = make_world();
  uint8_t f[200], out[NODE_FRAME_MAX];
  unsigned seq = 0, next = 0;
  uint32_t idx1, idx2;
  w->cut[1][2] = w->cut[2][1] = true;
  for (int x = 0; x < MAXN; x++)
    if (x != 1)
      w->slow_ms[x][2] = 30;
  size_t len = arp_request(f, w, 1, w->cert[2].vip);
  node_recv_tap(w->node[1], f, len, w->now);
  run_until(w, w->now + 3 * NS_PER_S);
  while (node_poll_tap(w->node[1], out, sizeof(out)) > 0)
    ;
  for (int k = 0; k < 400; k++) { /* 8 s of frames, 20 ms apart, routed */
    len = seq_frame(f, w, 1, 2, seq++);
    node_recv_tap(w->node[1], f, len, w->now);
    run_until(w, w->now + 20 * NS_PER_MS);
    while (node_poll_tap(w->node[2], out, sizeof(out)) > 0)
      next++; /* (the first ones wait for the session, a few may not) */
  }
  /* (their direct link went silent: the session moved onto the overlay,
   * test_path_down_same_session) */
  assert_non_null(tx_link(w, 1, 2));
  assert_true(tx_link(w, 1, 2)->via_overlay);
  idx1 = tx_link(w, 1, 2)->s.local_index;
  idx2 = tx_link(w, 2, 1)->s.local_index;
  next = seq; /* (frames still on their way before this point are not counted) */
  run_until(w, w->now + 200 * NS_PER_MS);
  while (node_poll_tap(w->node[2], out, sizeof(out)) > 0)
    ;
  w->cut[1][2] = w->cut[2][1] = false;
  for (int k = 0; k < 3000 && tx_link(w, 1, 2)->via_overlay; k++) { /* <= 60 s */
    len = seq_frame(f, w, 1, 2, seq++);
    node_recv_tap(w->node[1], f, len, w->now);
    run_until(w, w->now + 20 * NS_PER_MS);
    seq_check(w, 2, &next);
  }
  assert_false(tx_link(w, 1, 2)->via_overlay);
  for (int k = 0; k < 100; k++) { /* and on, direct */
    len = seq_frame(f, w, 1, 2, seq++);
    node_recv_tap(w->node[1], f, len, w->now);
    run_until(w, w->now + 20 * NS_PER_MS);
    seq_check(w, 2, &next);
  }
  run_until(w, w->now + 500 * NS_PER_MS);
  seq_check(w, 2, &next);
  assert_int_equal(next, seq);
  assert_int_equal(tx_link(w, 1, 2)->s.local_index, idx1);
  assert_int_equal(tx_link(w, 2, 1)->s.local_index, idx2);
  assert_false(tx_link(w, 2, 1)->via_overlay);
  run_until(w, w->now + 20 * NS_PER_S); /* the punched session retires */
  assert_int_equal(live_links(w, 1, 2), 1);
  assert_int_equal(live_links(w, 2, 1), 1);
  assert_true(has_path(w, 1, 2, "direct"));
  assert_true(w->node[2]->c.path_holds > 0); /* the switch did reorder, and was undone */
  fprintf(stderr, "upgrade: %u frames in order; n2 held %llu frames in %llu holds\n", seq,
          (unsigned long long)w->node[2]->c.path_held,
          (unsigned long long)w->node[2]->c.path_holds);
  teardown(w);
  free(w);
}

/* The other way: the direct path of n1 <-> n2 dies under traffic (both
 * still reach everyone else). The same session goes on over the overlay
 * and then a relay, without a new session: frames flow again within
 * 8 s (3 s suspicion + 3 s probe + routing), and every frame after that
 * arrives. */
static void test_path_down_same_session(void **state) {
  (void)state;
  struct net *w = make_world();
  uint8_t f[200], out[NODE_FRAME_MAX];
  uint64_t t_cut, t_back = 0;
  uint32_t idx1;
  int after = 0;
  check_pair(w, 1, 2, "direct");
  idx1 = tx_link(w, 1, 2)->s.local_index;
  w->cut[1][2] = w->cut[2][1] = true;
  t_cut = w->now;
  for (int k = 0; k < 200 && after < 20; k++) {
    size_t len = make_frame_ring(f, w, 1, 2, (uint8_t)k);
    node_recv_tap(w->node[1], f, len, w->now);
    run_until(w, w->now + 200 * NS_PER_MS);
    if (node_poll_tap(w->node[2], out, sizeof(out)) == len) {
      if (!t_back)
        t_back = w->now;
      after++;
    } else if (t_back) {
      fail_msg("frame %d lost after traffic resumed", k);
    }
  }
  if (!t_back || t_back - t_cut > 8 * NS_PER_S)
    fail_msg("direct path cut: frames resumed after %.1f s (want <= 8 s)",
             t_back ? (double)(t_back - t_cut) / NS_PER_S : -1.0);
  fprintf(stderr, "direct path cut: frames resumed after %.1f s\n",
          (double)(t_back - t_cut) / NS_PER_S);
  assert_true(tx_link(w, 1, 2)->via_overlay);
  assert_int_equal(tx_link(w, 1, 2)->s.local_index, idx1);
  assert_int_equal(live_links(w, 1, 2), 1);
  teardown(w);
  free(w);
}

/* The first packet that reaches the peer by a new path is a frame (frames
 * that waited for the session go out as soon as it takes a direct path):
 * the peer moves onto that path and delivers that very frame. (The move
 * sends control messages; it once did so before the frame was delivered,
 * over the same scratch buffer, and the frame was lost.) */
static void test_first_frame_by_new_path(void **state) {
  (void)state;
  struct net *w = make_world();
  uint8_t f[200], out[NODE_FRAME_MAX];
  size_t len;
  w->cut[1][2] = w->cut[2][1] = true;
  /* The pair moves onto the overlay, and stays there longer than a member
   * refuses to be pulled back to a direct endpoint it left (30 s). */
  for (int k = 0; k < 200; k++) {
    len = make_frame_ring(f, w, 1, 2, (uint8_t)k);
    node_recv_tap(w->node[1], f, len, w->now);
    run_until(w, w->now + 200 * NS_PER_MS);
    while (node_poll_tap(w->node[2], out, sizeof(out)) > 0)
      ;
  }
  struct link *e1 = tx_link(w, 1, 2), *e2 = tx_link(w, 2, 1);
  assert_true(e1->via_overlay && e2->via_overlay);
  w->cut[1][2] = w->cut[2][1] = false;
  /* n1's session sends directly from now on (white box: the move itself,
   * without the control messages path_use_direct sends first). */
  e1->via_overlay = e1->has_relay = false;
  e1->s.endpoint = w->addr[2];
  e1->sock = 0;
  len = make_frame_ring(f, w, 1, 2, 0x77);
  assert_int_equal(node_recv_tap(w->node[1], f, len, w->now), 0);
  /* (packets of the session still on their way by the relay may make it
   * wait for them: the reorder hold, 250 ms at most) */
  run_until(w, w->now + 300 * NS_PER_MS);
  assert_int_equal(node_poll_tap(w->node[2], out, sizeof(out)), len);
  assert_memory_equal(out, f, len);
  assert_false(e2->via_overlay); /* n2 followed onto the direct path */
  teardown(w);
  free(w);
}

/* Issue 10, finding 5: a member that relays for nobody delivers junk in
 * a pair's name (RELAY DLV "from n6" carrying an HS_RESP-looking packet
 * with n7's session index). Nothing authenticates it, so n7's session
 * with n6 must keep its relay; frames keep flowing through it. */
static void test_relay_not_hijacked_by_junk(void **state) {
  (void)state;
  struct net *w = make_world();
  uint8_t f[200], out[NODE_FRAME_MAX], msg[1 + RL_ID_LEN + 64];
  check_pair(w, 6, 7, "relay");
  check_pair(w, 7, 6, "relay");
  int relay = relay_of(w, 7, 6), m = -1;
  assert_true(relay >= 0);
  for (int k = 0; k < 4 && m < 0; k++)
    if (k != relay && node_nat_direct_up(w->node[k], node_id(w->node[7])))
      m = k;
  assert_true(m >= 0);
  struct link *e = tx_link(w, 7, 6), *to7 = node_nat_direct_up(w->node[m], node_id(w->node[7]));
  memset(msg, 0xA5, sizeof(msg));
  msg[0] = 2; /* RELAY_MSG_DLV (node_nat.c) */
  memcpy(msg + 1, node_id(w->node[6]), RL_ID_LEN);
  uint8_t *pkt = msg + 1 + RL_ID_LEN;
  for (int op = 0; op < 2; op++) { /* an HS_RESP, then data, both junk */
    pkt[0] = (uint8_t)((op ? DC_OP_DATA_V2 : HS_OP_RESP) << 3);
    pkt[1] = (uint8_t)(e->s.local_index >> 16);
    pkt[2] = (uint8_t)(e->s.local_index >> 8);
    pkt[3] = (uint8_t)e->s.local_index;
    link_send_ctl(w->node[m], to7, CTL_CH_RELAY, msg, sizeof(msg), w->now);
    link_after_event(w->node[m], to7, w->now);
    run_until(w, w->now + 100 * NS_PER_MS);
    assert_int_equal(relay_of(w, 7, 6), relay);
  }
  size_t len = make_frame_ring(f, w, 7, 6, 0x5A);
  node_recv_tap(w->node[7], f, len, w->now);
  run_until(w, w->now + 500 * NS_PER_MS);
  assert_int_equal(node_poll_tap(w->node[6], out, sizeof(out)), len);
  assert_int_equal(relay_of(w, 7, 6), relay);
  teardown(w);
  free(w);
}

/* FWD of one 1000-byte packet from src to dst, handed to relay r as if
 * it came over r's link to src. */
static void relay_fwd(struct net *w, int r, int src, int dst, uint64_t now) {
  uint8_t msg[CTL_HDR + 1 + RL_ID_LEN + 1000];
  struct link *l = node_nat_direct_up(w->node[r], node_id(w->node[src]));
  assert_non_null(l);
  memset(msg, 0x5A, sizeof(msg));
  msg[16] = CTL_CH_RELAY;
  msg[CTL_HDR] = 1; /* RELAY_MSG_FWD (node_nat.c) */
  memcpy(msg + CTL_HDR + 1, node_id(w->node[dst]), RL_ID_LEN);
  node_nat_control(w->node[r], l, msg, sizeof(msg), now);
}

/* Relay budgets (issue 10, finding 7): n0 relays at 100 kB/s per pair,
 * 200 kB/s per source and 300 kB/s in all (1 s of burst each). n1 naming
 * six destinations gets no more than its per-source budget through, over
 * a burst and over five seconds; four sources together no more than the
 * total. (Before: only the pair limit, so six pairs' worth went through.) */
static void test_relay_budget_per_source_and_total(void **state) {
  (void)state;
  struct net *w = make_world();
  struct node *r = w->node[0];
  int dst[6] = {2, 3, 4, 5, 6, 7};
  uint64_t before, t = w->now;
  r->cfg.relay_rate_kbps = 800;
  r->cfg.relay_source_kbps = 1600;
  r->cfg.relay_total_kbps = 2400;
  /* A burst: 150 packets to each of six destinations at one instant. */
  before = r->c.relay_forwarded;
  for (int k = 0; k < 150; k++)
    for (int d = 0; d < 6; d++)
      relay_fwd(w, 0, 1, dst[d], t);
  assert_int_equal(r->c.relay_forwarded - before, 200); /* 200 kB of burst */
  assert_true(r->c.relay_refused_src > 0);
  /* Five seconds at 20 packets per destination every 10 ms (12 MB/s). */
  before = r->c.relay_forwarded;
  for (int step = 1; step <= 500; step++)
    for (int k = 0; k < 20; k++)
      for (int d = 0; d < 6; d++)
        relay_fwd(w, 0, 1, dst[d], t + (uint64_t)step * 10 * NS_PER_MS);
  assert_in_range(r->c.relay_forwarded - before, 990, 1000); /* 5 s at 200 kB/s */
  /* Total: after 2 s every bucket is full again; four sources, 100
   * packets each to one destination each (every pair and source within
   * its own budget): 300 kB of total burst pass, no more. */
  t += 7 * NS_PER_S;
  before = r->c.relay_forwarded;
  uint64_t refused_total = r->c.relay_refused_total;
  for (int s = 1; s <= 4; s++)
    for (int k = 0; k < 100; k++)
      relay_fwd(w, 0, s, s + 4, t);
  assert_int_equal(r->c.relay_forwarded - before, 300);
  assert_int_equal(r->c.relay_refused_total - refused_total, 100);
  assert_non_null(strstr(status_of(w, 0), "\"relay_refused_src\":"));
  teardown(w);
  free(w);
}

/* One linked member's lying OBSERVED report changes neither our published
 * reflexive address nor our NAT class (n4: cone, reports from n0..n3). */
static void test_lying_reporter_changes_nothing(void **state) {
  (void)state;
  struct net *w = make_world();
  uint8_t msg[CTL_HDR + 1 + 32];
  struct wire_w wr;
  struct rl_addr lie;
  assert_class(w, 4, "endpoint-independent");
  assert_non_null(strstr(status_of(w, 4), "\"reflexive\":\"203.0.113.5:4000\""));
  for (int variant = 0; variant < 2; variant++) {
    /* another port at the NAT's address (would read as "symmetric"), then
     * another host altogether (peers would dial it) */
    if (variant == 0)
      rl_addr_set_ipv4(&lie, 0xCB007105, 6666);
    else
      rl_addr_set_ipv4(&lie, 0xC0000242, 53);
    memset(msg, 0, sizeof(msg));
    msg[16] = CTL_CH_LINK;
    wire_w_init(&wr, msg + CTL_HDR, sizeof(msg) - CTL_HDR);
    wire_put_u8(&wr, LINK_MSG_OBSERVED);
    nat_addr_put(&wr, &lie);
    assert_false(wr.err);
    struct link *l = node_nat_direct_up(w->node[4], node_id(w->node[1]));
    assert_non_null(l);
    node_nat_control(w->node[4], l, msg, CTL_HDR + wr.off, w->now);
    assert_class(w, 4, "endpoint-independent");
    assert_non_null(strstr(status_of(w, 4), "\"reflexive\":\"203.0.113.5:4000\""));
  }
  teardown(w);
  free(w);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_classes_from_peer_reports),
      cmocka_unit_test(test_pairs_reach_each_other_on_expected_paths),
      cmocka_unit_test(test_relays_can_refuse),
      cmocka_unit_test(test_classify_lan_peer_is_not_public),
      cmocka_unit_test(test_wildcard_listen_members_link_directly),
      cmocka_unit_test(test_host_candidates_ipv6),
      cmocka_unit_test(test_second_handshake_keeps_one_session),
      cmocka_unit_test(test_relay_failover_within_3s),
      cmocka_unit_test(test_path_upgrade_one_session_in_order),
      cmocka_unit_test(test_path_down_same_session),
      cmocka_unit_test(test_first_frame_by_new_path),
      cmocka_unit_test(test_relay_not_hijacked_by_junk),
      cmocka_unit_test(test_relay_budget_per_source_and_total),
      cmocka_unit_test(test_lying_reporter_changes_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
