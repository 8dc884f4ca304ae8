/* Unit tests: handshakes under load (issue 10, finding 6). Anyone holding
 * the group's public key can make HS_INITs with a valid mac1; a flood of
 * them must not stop handshakes carried by the overlay or a relay.
 *
 *     n1 --- n0 --- n3     all public (192.0.2.1 .. 192.0.2.4), a star:
 *             |           n0 is the bootstrap node and the relay R, the
 *             |           other paths are cut
 *        n2 = B, flooded: junk HS_INITs from spoofed UDP sources, junk
 *                         "routed" from made-up overlay IDs and junk
 *                         "relayed" by R in made-up members' names
 *
 *   n1 -> n2  an end-to-end session routed over the overlay
 *   n3 -> n2  an end-to-end session through the relay n0
 *
 * Before (5a3e7d5): one load meter per node, so the direct junk alone put
 * every path "under load", and the cookie reply to an overlay- or
 * relay-carried HS_INIT went to the unspecified address (lost): those
 * handshakes never completed while the flood lasted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#define MAXN 4
#include "crypto/cookie.h"
#include "node/core/node_internal.h" /* white box: end-to-end links, counters */
#include "testnet.h"

#define JUNK_LEN 420 /* the size of a real HS_INIT, roughly */

struct flood {
  uint8_t mac1_key[32];
  uint32_t seq;
  unsigned per_ms_udp, per_ms_ov, per_ms_relay; /* junk per millisecond, per path */
};

/* Junk that passes mac1 (the group key is public) and nothing else. */
static void junk(struct flood *f, uint8_t pkt[JUNK_LEN]) {
  uint32_t s = ++f->seq;
  randombytes_buf(pkt, JUNK_LEN);
  pkt[0] = (uint8_t)(HS_OP_INIT << 3);
  pkt[1] = pkt[2] = pkt[3] = 0xFF; /* HS_INDEX_UNDEF */
  pkt[4] = (uint8_t)(s >> 16);
  pkt[5] = (uint8_t)(s >> 8);
  pkt[6] = (uint8_t)s;
  cookie_mac(pkt + JUNK_LEN - 2 * COOKIE_MAC_LEN, f->mac1_key, 32, pkt,
             JUNK_LEN - 2 * COOKIE_MAC_LEN);
  memset(pkt + JUNK_LEN - COOKIE_MAC_LEN, 0, COOKIE_MAC_LEN); /* no cookie */
}

/* One millisecond of flood at node b (relay: b's direct link peer r). */
static void flood_ms(struct net *w, struct flood *f, int b, int r) {
  uint8_t pkt[JUNK_LEN], id[RL_ID_LEN];
  for (unsigned k = 0; k < f->per_ms_udp; k++) {
    struct rl_addr from;
    /* spoofed sources all over 198.51.100.0/24 and 203.0.113.0/24 */
    rl_addr_set_ipv4(&from, (f->seq & 1 ? 0xC6336400u : 0xCB007100u) | (f->seq & 0xFF),
                     (uint16_t)(1024 + (f->seq * 7919u) % 60000u));
    junk(f, pkt);
    node_recv_udp(w->node[b], &from, pkt, sizeof(pkt), w->now);
  }
  for (unsigned k = 0; k < f->per_ms_ov; k++) {
    randombytes_buf(id, sizeof(id));
    junk(f, pkt);
    node_e2e_recv(w->node[b], id, pkt, sizeof(pkt), w->now, NULL);
  }
  for (unsigned k = 0; k < f->per_ms_relay; k++) {
    randombytes_buf(id, sizeof(id));
    junk(f, pkt);
    node_e2e_recv(w->node[b], id, pkt, sizeof(pkt), w->now, node_id(w->node[r]));
  }
}

static struct net *make_world(void) {
  struct net *w = calloc(1, sizeof(*w));
  struct prng gp = {4242};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  assert_non_null(w);
  w->now = T0;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  for (int i = 0; i < MAXN; i++)
    make_member(w, i, &w->group, "lab", 0x64400001 + (uint32_t)i);
  /* n2 is reachable from n1 and n3 only through n0 (their end-to-end
   * sessions are carried, never replaced by a direct one). */
  w->cut[1][2] = w->cut[2][1] = w->cut[3][2] = w->cut[2][3] = true;
  w->cut[1][3] = w->cut[3][1] = true; /* a star: routes cannot loop */
  /* n0 relays nothing while the ring forms (no relayed sessions the
   * overlay would take for links): n1 -> n2 is routed through n0. It
   * relays again when the test starts. */
  w->no_relay[0] = true;
  start_node_cfg(w, 0, w->group.pk, -1, -1);
  for (int i = 1; i < MAXN; i++) {
    start_node_cfg(w, i, w->group.pk, -1, 0);
    run_until(w, w->now + 2 * NS_PER_S);
  }
  run_until(w, w->now + 30 * NS_PER_S);
  for (int i = 1; i < MAXN; i++)
    assert_non_null(node_nat_direct_up(w->node[0], node_id(w->node[i])));
  assert_null(node_nat_direct_up(w->node[1], node_id(w->node[2])));
  assert_null(node_nat_direct_up(w->node[3], node_id(w->node[2])));
  w->node[0]->cfg.relay_rate_kbps = 20000;
  return w;
}

/* The end-to-end session of a toward b (routed, or through relay r). */
static struct link *e2e_of(struct net *w, int a, int b) {
  for (unsigned i = 0; i < w->node[a]->n_links; i++) {
    struct link *l = w->node[a]->links[i];
    if (l->used && l->via_overlay && !l->retire_at_ns &&
        ((l->s.have_peer && memcmp(l->s.peer_id, node_id(w->node[b]), RL_ID_LEN) == 0) ||
         (!l->s.have_peer && l->has_expect &&
          memcmp(l->expect_id, node_id(w->node[b]), RL_ID_LEN) == 0)))
      return l;
  }
  return NULL;
}

/* Starts a handshake of a's end-to-end session toward b now (a new one,
 * or a rekey of the one the overlay made), through relay r (r < 0:
 * routed); returns the number of handshakes it had completed before. */
static unsigned start_e2e(struct net *w, int a, int b, int r) {
  struct rl_addr none;
  struct link *l = e2e_of(w, a, b);
  unsigned before;
  memset(&none, 0, sizeof(none));
  if (!l) {
    l = link_new(w->node[a], &none, w->now);
    assert_non_null(l);
    l->via_overlay = true;
    l->has_expect = true;
    memcpy(l->expect_id, node_id(w->node[b]), RL_ID_LEN);
  }
  if (r >= 0) {
    node_nat_set_relay(l, node_id(w->node[r]), w->now);
  } else {
    assert_false(l->has_relay); /* routed: n0 refused to relay this pair */
  }
  before = l->s.handshakes;
  if (l->s.state == SESS_ESTABLISHED)
    sess_rekey(&l->s, w->now);
  else
    sess_start(&l->s, w->now);
  link_after_event(w->node[a], l, w->now);
  return before;
}

static bool e2e_done(struct net *w, int a, int b, unsigned before) {
  struct link *l = e2e_of(w, a, b);
  return l && l->s.state == SESS_ESTABLISHED && l->s.handshakes > before;
}

/* One millisecond: its junk first (it arrives all the time), then one hop
 * of the net (run_until up to now: every queued datagram moves once),
 * then the timers due (run_until fires them only when the net is quiet,
 * which a flood never lets it be). */
static void step_ms(struct net *w, struct flood *f) {
  uint64_t t0 = w->now;
  flood_ms(w, f, 2, 0);
  run_until(w, w->now);
  if (w->now < t0 + NS_PER_MS)
    w->now = t0 + NS_PER_MS;
  for (int i = 0; i < MAXN; i++)
    if (node_next_timer(w->node[i]) <= w->now)
      node_on_timer(w->node[i], w->now);
}

/* Floods b for 1.5 s (its meters run dry), then for up to secs more
 * while n1 -> n2 (routed) and n3 -> n2 (relayed) handshake; true when
 * both completed. (Half a second off the whole seconds: a meter counting
 * per one-second window, as before, must not hand the initiators' retries,
 * 1 s apart, the fresh start of a window.) */
static bool handshakes_under_flood(struct net *w, struct flood *f, unsigned secs) {
  for (unsigned ms = 0; ms < 1500; ms++)
    step_ms(w, f);
  unsigned ov = start_e2e(w, 1, 2, -1), rel = start_e2e(w, 3, 2, 0);
  bool ov_ok = false, rel_ok = false;
  uint64_t end = w->now + secs * NS_PER_S;
  while (w->now < end && !(ov_ok && rel_ok)) {
    step_ms(w, f);
    ov_ok |= e2e_done(w, 1, 2, ov);
    rel_ok |= e2e_done(w, 3, 2, rel);
  }
  if (!ov_ok || !rel_ok)
    print_message("routed %s, relayed %s\n", ov_ok ? "up" : "NOT up", rel_ok ? "up" : "NOT up");
  return ov_ok && rel_ok;
}

static struct node *b_of(struct net *w) { return w->node[2]; }

/* Valid-mac1 junk on every path (20k/s each): the routed and the relayed
 * handshake get their cookies back the way they came and complete. */
static void test_carried_handshakes_complete_under_flood(void **state) {
  (void)state;
  struct net *w = make_world();
  struct flood f = {.per_ms_udp = 20, .per_ms_ov = 20, .per_ms_relay = 20};
  uint64_t cookies0 = b_of(w)->c.hs_cookie;
  cookie_derive_keys(w->group.pk, f.mac1_key, (uint8_t[32]){0});
  assert_true(handshakes_under_flood(w, &f, 8));
  /* The junk got cookie replies (it passed mac1), the two legitimate
   * initiators needed theirs: over the overlay and through the relay. */
  assert_true(b_of(w)->c.hs_cookie - cookies0 > 1000);
  assert_true(b_of(w)->c.hs_cookie_routed > 0);
  teardown(w);
  free(w);
}

/* Junk on the direct UDP path only (100k/s): the carried handshakes are
 * on other paths and do not even need a cookie. */
static void test_udp_flood_leaves_carried_paths_alone(void **state) {
  (void)state;
  struct net *w = make_world();
  struct flood f = {.per_ms_udp = 100};
  cookie_derive_keys(w->group.pk, f.mac1_key, (uint8_t[32]){0});
  assert_true(handshakes_under_flood(w, &f, 3));
  assert_int_equal(b_of(w)->c.hs_cookie_routed, 0);
  teardown(w);
  free(w);
}

/* The budgets: cookie replies to UDP sources, then the work budget. INITs
 * that pass the cheap checks (here: a path never
 * under load, threshold raised) get public-key work at most
 * NODE_HS_WORK_RATE times a second (one second of burst); the rest is shed. */
static void test_public_key_work_is_bounded(void **state) {
  (void)state;
  struct net *w = make_world();
  struct flood f = {.per_ms_udp = 100};
  struct node *b = b_of(w);
  cookie_derive_keys(w->group.pk, f.mac1_key, (uint8_t[32]){0});
  /* Under load, cookie replies to UDP sources (made up, here) stay within
   * their budget: 2 s of 100k/s junk get at most 1 s of burst + 2 s. */
  uint64_t cookies0 = b->c.hs_cookie;
  for (unsigned ms = 0; ms < 2000; ms++) {
    flood_ms(w, &f, 2, 0);
    w->now += NS_PER_MS;
  }
  assert_in_range(b->c.hs_cookie - cookies0, 2 * NODE_HS_COOKIE_UDP_RATE,
                  3 * NODE_HS_COOKIE_UDP_RATE + 1);
  assert_true(b->c.hs_cookie_unsent > 150000);
  cookie_meter_init(&b->hs_meter[NODE_HS_UDP], 1000000, NODE_HS_WORK_RATE);
  uint64_t refused0 = b->c.hs_refused, shed0 = b->c.hs_shed;
  for (unsigned ms = 0; ms < 2000; ms++) {
    flood_ms(w, &f, 2, 0);
    w->now += NS_PER_MS;
  }
  /* 200k junk INITs in 2 s: public-key work (each refused) for one second
   * of burst plus two seconds of rate, no more. */
  assert_in_range(b->c.hs_refused - refused0, 2 * NODE_HS_WORK_RATE, 3 * NODE_HS_WORK_RATE + 1);
  assert_true(b->c.hs_shed - shed0 > 190000);
  teardown(w);
  free(w);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_carried_handshakes_complete_under_flood),
      cmocka_unit_test(test_udp_flood_leaves_carried_paths_alone),
      cmocka_unit_test(test_public_key_work_is_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
