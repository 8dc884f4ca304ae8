/* Unit tests: revocation and certificate expiry in the node core
 * (node/core/node_revoke.c), several node cores in one process, packets
 * carried by the in-test network, time advanced by hand.
 *
 *   pair tests:   C ---- A ---- B        (static peers; C revokes B)
 *   ring test:    n1 .. n10 --bootstrap--> n0, successor lists of 3;
 *                 n11 joins later with n5's VIP under a new key
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#define MAXN 12
#include "crypto/revoke.h"
#include "node/core/node_internal.h" /* white box: the sessions a node holds */
#include "overlay/overlay.h"
#include "tap/tap.h"
#include "testnet.h"

/* Node i holds an established session with member j. */
static bool has_session(struct net *w, int i, int j) {
  const struct node *n = w->node[i];
  uint8_t id[RL_ID_LEN];
  id_overlay_id(w->key[j].pk, id);
  for (unsigned k = 0; k < n->n_links; k++) {
    const struct link *l = n->links[k];
    if (l->used && l->s.state == SESS_ESTABLISHED && l->s.have_peer &&
        memcmp(l->s.peer_id, id, RL_ID_LEN) == 0)
      return true;
  }
  return false;
}

/* A unicast frame from i's TAP comes out of j's TAP. */
static bool frame_passes(struct net *w, int i, int j) {
  uint8_t f[200], out[NODE_FRAME_MAX];
  size_t len = make_frame_ring(f, w, i, j, 0x42), got;
  while (node_poll_tap(w->node[j], out, sizeof(out)) > 0)
    ;
  node_recv_tap(w->node[i], f, len, w->now);
  run_until(w, w->now + 2 * NS_PER_S);
  while ((got = node_poll_tap(w->node[j], out, sizeof(out))) > 0)
    if (got == len && memcmp(out, f, len) == 0)
      return true;
  return false;
}

static void make_rev(struct net *w, int j, const struct id_key *signer, struct revocation *r) {
  memset(r, 0, sizeof(*r));
  r->version = 1;
  snprintf(r->group, sizeof(r->group), "lab");
  id_overlay_id(w->key[j].pk, r->node_id);
  r->revoked_at = 1800000000;
  assert_int_equal(revoke_sign(r, signer), 0);
}

static uint64_t counter(struct net *w, int i, const char *name) {
  char js[16384], needle[64];
  const char *p;
  assert_true(node_status_json(w->node[i], w->now, js, sizeof(js)) > 0);
  snprintf(needle, sizeof(needle), "\"%s\":", name);
  p = strstr(js, needle);
  assert_non_null(p);
  return strtoull(p + strlen(needle), NULL, 10);
}

/* C -- A -- B: members 0 (A), 1 (B), 2 (C) of group "lab" (and another
 * group key), B and C dial A; 3 s to come up. */
static void make_trio(struct net *w) {
  struct prng gp = {99};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  w->now = T0;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  assert_int_equal(id_generate(&w->other_group, &genv), 0);
  make_member(w, 0, &w->group, "lab", 0x64400001);
  make_member(w, 1, &w->group, "lab", 0x64400002);
  make_member(w, 2, &w->group, "lab", 0x64400003);
  start_node(w, 0, w->group.pk, 1);
  start_node(w, 1, w->group.pk, 0);
  start_node(w, 2, w->group.pk, 0);
  run_until(w, w->now + 3 * NS_PER_S);
}

/* C -- A -- B: a revocation given to C reaches A over the C-A link; A
 * closes its session with B at once, and every later handshake of B is
 * refused. A bad revocation (another group's key) changes nothing. */
static void test_revocation_floods_and_closes(void **state) {
  (void)state;
  struct net *w = calloc(1, sizeof(*w));
  struct revocation r;
  uint8_t idb[RL_ID_LEN];
  make_trio(w);
  assert_true(has_session(w, 0, 1));
  assert_true(has_session(w, 0, 2));
  assert_true(frame_passes(w, 1, 0));
  id_overlay_id(w->key[1].pk, idb);

  /* Not the group's signature: refused, nothing happens. */
  make_rev(w, 1, &w->other_group, &r);
  assert_int_equal(node_revoke(w->node[2], &r, w->now), RL_EFOREIGN);
  memcpy(r.group_pk, w->group.pk, RL_PK_LEN); /* claims our key, wrong signature */
  assert_int_equal(node_revoke(w->node[2], &r, w->now), RL_EAUTH);
  run_until(w, w->now + 1 * NS_PER_S);
  assert_false(node_is_revoked(w->node[0], idb));
  assert_true(has_session(w, 0, 1));

  make_rev(w, 1, &w->group, &r);
  assert_int_equal(node_revoke(w->node[2], &r, w->now), 1);
  assert_int_equal(node_revoke(w->node[2], &r, w->now), 0); /* known */
  run_until(w, w->now + 100 * NS_PER_MS);
  assert_true(node_is_revoked(w->node[0], idb));
  assert_false(has_session(w, 0, 1));
  uint64_t refused = counter(w, 0, "hs_refused");
  /* B keeps dialling A (a static peer): refused every time, for good. */
  run_until(w, w->now + 90 * NS_PER_S);
  assert_false(has_session(w, 0, 1));
  assert_true(counter(w, 0, "hs_refused") > refused);
  /* B may believe in a session it answered (A dials its configured peer
   * and refuses B's HS_RESP), but nothing B sends gets through. */
  assert_false(frame_passes(w, 1, 0));
  assert_true(has_session(w, 0, 2)); /* the others are untouched */
  teardown(w);
  free(w);
}

/* The config of member 0 with n revocations given in it (borrowed). */
static void config_revoked(struct net *w, struct node_config *cfg,
                           const struct revocation *rv, unsigned n) {
  node_config_default(cfg);
  cfg->env = &w->env[0];
  cfg->key = w->key[0];
  cfg->cert = w->cert[0];
  memcpy(cfg->group_pk, w->group.pk, RL_PK_LEN);
  cfg->listen = w->addr[0];
  cfg->revoked = rv;
  cfg->n_revoked = n;
}

/* Revocations from the config: refused in both directions. A knows B is
 * revoked; A dials B (B answers: A refuses B's certificate in HS_RESP),
 * and B dials A (A refuses the HS_INIT). */
static void test_config_revocation_refuses_both_directions(void **state) {
  (void)state;
  struct net *w = calloc(1, sizeof(*w));
  struct revocation r;
  struct node_config cfg;
  struct prng gp = {99};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  int err = 0;
  w->now = T0;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  make_member(w, 0, &w->group, "lab", 0x64400001);
  make_member(w, 1, &w->group, "lab", 0x64400002);
  make_rev(w, 1, &w->group, &r);
  config_revoked(w, &cfg, &r, 1);
  cfg.n_peers = 1;
  cfg.peers[0].endpoint = w->addr[1];
  w->node[0] = node_new(&cfg, w->now, &err);
  assert_non_null(w->node[0]);
  start_node(w, 1, w->group.pk, 0);
  run_until(w, w->now + 20 * NS_PER_S);
  assert_false(has_session(w, 0, 1));
  assert_false(frame_passes(w, 1, 0));
  assert_false(frame_passes(w, 0, 1));
  assert_true(counter(w, 0, "hs_refused") > 0);
  /* A revocation of another group in the config: node_new fails. */
  make_rev(w, 1, &w->key[1], &r);
  cfg.env = &w->env[2];
  w->env[2] = w->env[0];
  assert_null(node_new(&cfg, w->now, &err));
  assert_int_equal(err, RL_EFOREIGN);
  teardown(w);
  free(w);
}

/* A certificate that expires while its session is up: the session closes
 * within one reaper period (5 s), not at the next handshake, and a new
 * handshake is refused. */
static void test_expiry_closes_session(void **state) {
  (void)state;
  struct net *w = calloc(1, sizeof(*w));
  struct prng gp = {99};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  uint64_t unix_now;
  w->now = T0;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  make_member(w, 0, &w->group, "lab", 0x64400001);
  make_member(w, 1, &w->group, "lab", 0x64400002);
  unix_now = rl_unix_s(&w->env[1], w->now);
  w->cert[1].not_after = unix_now + 20;
  assert_int_equal(cert_sign(&w->cert[1], &w->group), 0);
  start_node(w, 0, w->group.pk, 1);
  start_node(w, 1, w->group.pk, 0);
  run_until(w, w->now + 3 * NS_PER_S);
  assert_true(has_session(w, 0, 1));
  run_until(w, w->now + 15 * NS_PER_S); /* 18 s: still valid */
  assert_true(has_session(w, 0, 1));
  run_until(w, w->now + 8 * NS_PER_S);  /* 26 s: past not_after + one reaper period */
  assert_false(has_session(w, 0, 1));
  assert_true(counter(w, 0, "links_expired") >= 1);
  run_until(w, w->now + 60 * NS_PER_S);
  assert_false(has_session(w, 0, 1));
  teardown(w);
  free(w);
}

/* Members 0..members-1 but rv know rv is revoked and hold no session
 * with it. */
static void assert_cut_off(struct net *w, int members, int rv) {
  uint8_t id[RL_ID_LEN];
  id_overlay_id(w->key[rv].pk, id);
  for (int i = 0; i < members; i++) {
    if (i == rv)
      continue; /* nobody tells the revoked member */
    assert_true(node_is_revoked(w->node[i], id));
    assert_false(has_session(w, i, rv));
  }
}

/* Eleven members in a ring. Member 5 is revoked at member 3: within a few
 * seconds every member knows, none holds a session with it, its VIP record
 * is gone; it stays out; a new member (new key) certified for member 5's
 * VIP joins and that VIP then resolves to the new member everywhere. A
 * member started later learns the revocation from its first link
 * (digest exchange). */
static void test_ring_revocation(void **state) {
  (void)state;
  const int live = 11, rv = 5, fresh = 11;
  struct net *w = make_ring_of(live);
  struct revocation r;
  uint8_t id5[RL_ID_LEN], id11[RL_ID_LEN];
  char q[32], ans[2048], hex[2 * RL_ID_LEN + 1];
  uint32_t cookie;
  int sessions = 0;
  for (int i = 0; i < live; i++)
    sessions += i != rv && has_session(w, i, rv);
  assert_true(sessions > 0);
  id_overlay_id(w->key[rv].pk, id5);
  make_rev(w, rv, &w->group, &r);
  assert_int_equal(node_revoke(w->node[3], &r, w->now), 1);
  run_until(w, w->now + 2 * NS_PER_S);
  assert_cut_off(w, live, rv);
  run_until(w, w->now + 60 * NS_PER_S);
  assert_cut_off(w, live, rv);
  /* Nobody resolves the revoked member's VIP any more. */
  snprintf(q, sizeof(q), "100.64.0.%d", rv + 1);
  assert_int_equal(node_control_lookup(w->node[2], q, 7, w->now), 0);
  run_until(w, w->now + 20 * NS_PER_S);
  assert_true(node_poll_control(w->node[2], &cookie, ans, sizeof(ans)) > 0);
  assert_non_null(strstr(ans, "\"found\":false"));

  /* Member 11: a new key certified for member 5's VIP. */
  w->cert[fresh].vip = w->cert[rv].vip;
  assert_int_equal(cert_sign(&w->cert[fresh], &w->group), 0);
  start_node_cfg(w, fresh, w->group.pk, -1, 0);
  run_until(w, w->now + 40 * NS_PER_S);
  assert_true(node_is_revoked(w->node[fresh], id5)); /* learnt on joining */
  id_overlay_id(w->key[fresh].pk, id11);
  rl_hex_encode(hex, id11, RL_ID_LEN);
  for (int i = 0; i < live; i++) {
    if (i == rv || i == 0)
      continue;
    assert_int_equal(node_control_lookup(w->node[i], q, 100 + (uint32_t)i, w->now), 0);
    run_until(w, w->now + 5 * NS_PER_S);
    assert_true(node_poll_control(w->node[i], &cookie, ans, sizeof(ans)) > 0);
    assert_non_null(strstr(ans, "\"found\":true"));
    assert_non_null(strstr(ans, hex));
  }
  /* A kernel neighbour entry still holding member 5's MAC is re-checked
   * with a unicast ARP request to that MAC: answered with member 11's. */
  {
    uint8_t f[64], out[NODE_FRAME_MAX], mac5[6], mac11[6];
    struct tap_frame_info fi;
    size_t len = arp_request(f, w, 2, w->cert[fresh].vip), got;
    bool answered = false;
    tap_mac_from_id(id5, mac5);
    tap_mac_from_id(id11, mac11);
    memcpy(f, mac5, 6); /* unicast */
    while (node_poll_tap(w->node[2], out, sizeof(out)) > 0)
      ;
    assert_int_equal(node_recv_tap(w->node[2], f, len, w->now), 0);
    run_until(w, w->now + 5 * NS_PER_S);
    while ((got = node_poll_tap(w->node[2], out, sizeof(out))) > 0)
      if (tap_frame_classify(out, got, &fi) == 0 && fi.arp && fi.arp_op == TAP_ARP_REPLY &&
          fi.arp_spa == w->cert[fresh].vip && memcmp(fi.arp_sha, mac11, 6) == 0)
        answered = true;
    assert_true(answered);
  }
  /* A neighbour entry still naming member 5's MAC as reachable: the kernel
   * sends data to that MAC without asking. Each member's node looks up the
   * frame's destination and announces member 11's MAC for it (gratuitous
   * ARP) once; the next frame, to member 11's MAC, arrives. */
  {
    uint8_t f[200], out[NODE_FRAME_MAX], mac5[6], mac11[6];
    struct tap_frame_info fi;
    int linked = 0;
    tap_mac_from_id(id5, mac5);
    tap_mac_from_id(id11, mac11);
    for (int i = 1; i < live; i++) {
      size_t len, got;
      int announced = 0;
      uint64_t lost;
      if (i == rv)
        continue;
      linked += has_session(w, i, fresh);
      while (node_poll_tap(w->node[i], out, sizeof(out)) > 0)
        ;
      lost = counter(w, i, "tap_no_route");
      len = make_frame_ring(f, w, i, fresh, 0x42);
      memcpy(f, mac5, 6);
      for (int k = 0; k < 3; k++) /* a burst: one announcement */
        assert_int_equal(node_recv_tap(w->node[i], f, len, w->now), RL_ENOENT);
      run_until(w, w->now + 3 * NS_PER_S);
      while ((got = node_poll_tap(w->node[i], out, sizeof(out))) > 0) {
        assert_int_equal(tap_frame_classify(out, got, &fi), 0);
        assert_true(fi.arp && fi.arp_op == TAP_ARP_REQUEST);
        assert_int_equal(fi.dst_kind, TAP_DST_BROADCAST);
        assert_int_equal(fi.arp_spa, w->cert[fresh].vip);
        assert_int_equal(fi.arp_tpa, w->cert[fresh].vip);
        assert_memory_equal(fi.arp_sha, mac11, 6);
        assert_memory_equal(fi.src, mac11, 6);
        announced++;
      }
      assert_int_equal(announced, 1);
      assert_int_equal(counter(w, i, "arp_announced"), 1);
      assert_int_equal(counter(w, i, "tap_no_route"), lost + 3);
      assert_true(frame_passes(w, i, fresh));
    }
    /* (members with and without a session with member 11: the holder came
     * from the session or from the DHT) */
    print_message("  %d of %d members held a session with the new holder\n", linked,
                  live - 2);
    /* Not an address of the LAN, or one nobody holds: nothing announced. */
    {
      size_t len = make_frame_ring(f, w, 2, fresh, 0x42);
      memcpy(f, mac5, 6);
      f[14 + 16] = 198, f[14 + 17] = 18, f[14 + 18] = 0, f[14 + 19] = 7;
      node_recv_tap(w->node[2], f, len, w->now);
      f[14 + 16] = 100, f[14 + 17] = 64, f[14 + 18] = 0, f[14 + 19] = 200; /* nobody's */
      node_recv_tap(w->node[2], f, len, w->now);
      run_until(w, w->now + 5 * NS_PER_S);
      while (node_poll_tap(w->node[2], out, sizeof(out)) > 0)
        ;
      assert_int_equal(counter(w, 2, "arp_announced"), 1);
    }
  }
  teardown(w);
  free(w);
}

/* The DHT copy: member 5's revocation reaches no member's set (no flood,
 * so no link carries a digest); it is only stored in the DHT, as member 3
 * would publish it. Member 11 joins afterwards: every session it opens is
 * checked against the DHT (the peer's NODE key), so it learns the
 * revocation, refuses member 5, and floods it to the others. */
static void test_revocation_learnt_from_dht(void **state) {
  (void)state;
  const int live = 11, rv = 5, fresh = 11;
  struct net *w = make_ring_of(live);
  struct revocation r;
  uint8_t id5[RL_ID_LEN], bin[REVOKE_BIN_MAX], f[200], out[NODE_FRAME_MAX];
  int len;
  size_t flen;
  id_overlay_id(w->key[rv].pk, id5);
  make_rev(w, rv, &w->group, &r);
  len = revoke_encode_bin(&r, bin, sizeof(bin));
  assert_true(len > 0);
  assert_int_equal(dht_put_revocation(w->node[3]->dht, bin, (size_t)len, w->now), 0);
  node_dht_pump(w->node[3], w->now);
  run_until(w, w->now + 2 * NS_PER_S);
  for (int k = 0; k < live; k++)
    assert_false(node_is_revoked(w->node[k], id5)); /* nobody was told */

  start_node_cfg(w, fresh, w->group.pk, -1, 0);
  run_until(w, w->now + 40 * NS_PER_S);
  assert_true(node_is_revoked(w->node[fresh], id5)); /* from its session checks */
  assert_int_equal(counter(w, fresh, "revocations_from_dht"), 1);
  /* Member 11 talks to member 5 (ARP, then a frame): refused. */
  flen = arp_request(f, w, fresh, w->cert[rv].vip);
  assert_int_equal(node_recv_tap(w->node[fresh], f, flen, w->now), 0);
  run_until(w, w->now + 3 * NS_PER_S);
  while (node_poll_tap(w->node[fresh], out, sizeof(out)) > 0)
    ;
  assert_true(node_is_revoked(w->node[fresh], id5));
  assert_false(has_session(w, fresh, rv));
  assert_false(frame_passes(w, fresh, rv));
  assert_false(frame_passes(w, rv, fresh));
  /* Flooded to all from member 11. */
  run_until(w, w->now + 30 * NS_PER_S);
  assert_cut_off(w, fresh + 1, rv);
  teardown(w);
  free(w);
}

/* Digest sync of a set larger than one answer (REVOKE_PUSH_MAX = 64):
 * A starts with 150 revocations (config), B with none, linked A -- B. The
 * digests differ at link-up; each mismatch answer carries one window of
 * 64 from a random offset, the 30 s digest rounds repeat it while the sets
 * differ, and B ends with all 150. */
static void test_large_set_converges(void **state) {
  (void)state;
  enum { NREV = 150 };
  struct net *w = calloc(1, sizeof(*w));
  struct revocation *rv = calloc(NREV, sizeof(*rv));
  struct node_config cfg;
  struct prng gp = {77};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  int err = 0, rounds = 0;
  assert_non_null(rv);
  w->now = T0;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  make_member(w, 0, &w->group, "lab", 0x64400001);
  make_member(w, 1, &w->group, "lab", 0x64400002);
  for (int k = 0; k < NREV; k++) {
    make_rev(w, 1, &w->group, &rv[k]); /* then another ID, re-signed */
    rv[k].node_id[0] = (uint8_t)k;
    rv[k].node_id[1] ^= 0x5a;
    assert_int_equal(revoke_sign(&rv[k], &w->group), 0);
  }
  config_revoked(w, &cfg, rv, NREV);
  w->node[0] = node_new(&cfg, w->now, &err);
  assert_non_null(w->node[0]);
  assert_int_equal(node_revoked_count(w->node[0]), NREV);
  start_node(w, 1, w->group.pk, 0);
  run_until(w, w->now + 3 * NS_PER_S);
  assert_true(has_session(w, 0, 1));
  /* The first exchanges (a digest at each session's link-up, answer,
   * window) moved windows of 64, not the whole set. */
  assert_true(node_revoked_count(w->node[1]) >= REVOKE_PUSH_MAX);
  assert_true(node_revoked_count(w->node[1]) < NREV);
  while (node_revoked_count(w->node[1]) < NREV && rounds < 20) {
    run_until(w, w->now + REVOKE_SYNC_NS);
    rounds++;
  }
  assert_int_equal(node_revoked_count(w->node[1]), NREV);
  assert_true(rounds <= 10); /* windows overlap at random: a few rounds */
  print_message("150 revocations: %d digest rounds after the first exchange\n", rounds);
  /* Converged: the digests agree, nothing more is sent. */
  uint64_t rv1 = counter(w, 1, "revocations");
  run_until(w, w->now + 2 * REVOKE_SYNC_NS);
  assert_int_equal(counter(w, 1, "revocations"), rv1);
  assert_true(has_session(w, 0, 1));
  teardown(w);
  free(rv);
  free(w);
}

/* The link of node i to member j (established), or NULL. */
static struct link *link_to(struct net *w, int i, int j) {
  struct node *n = w->node[i];
  uint8_t id[RL_ID_LEN];
  id_overlay_id(w->key[j].pk, id);
  for (unsigned k = 0; k < n->n_links; k++) {
    struct link *l = n->links[k];
    if (l->used && l->s.state == SESS_ESTABLISHED && l->s.have_peer &&
        memcmp(l->s.peer_id, id, RL_ID_LEN) == 0)
      return l;
  }
  return NULL;
}

/* REVOKE_MSG_ONE carrying r, as a peer sends it on channel 5. */
static size_t rev_msg(const struct revocation *r, uint8_t *msg, size_t cap) {
  int len = revoke_encode_bin(r, msg + 1, cap - 1);
  assert_true(len > 0);
  msg[0] = REVOKE_MSG_ONE;
  return 1 + (size_t)len;
}

/* C -- A -- B. B (a valid member) sends A bogus revocations (the group's
 * key named, another key's signature: each costs A one Ed25519 check) as
 * fast as it likes: A checks REVOKE_CHECK_LINK_BURST at once, then 4/s,
 * and drops the rest unchecked (counted). In all, A checks at most
 * REVOKE_CHECK_ALL_BURST at once whatever the number of links. A genuine
 * revocation B sends while A's budget for B is spent is dropped, and
 * arrives with the next digest exchange (30 s). */
static void test_revocation_check_budget(void **state) {
  (void)state;
  struct net *w = calloc(1, sizeof(*w));
  struct revocation r;
  uint8_t msg[1 + REVOKE_BIN_MAX], idc[RL_ID_LEN];
  struct link *ab;
  size_t len;
  uint64_t bad0, drop0;
  make_trio(w);
  ab = link_to(w, 0, 1);
  assert_non_null(ab);
  bad0 = w->node[0]->c.ctl_bad;
  drop0 = counter(w, 0, "revoke_checks_dropped");
  /* 200 bogus ones, each for another ID, at one instant. */
  for (int k = 0; k < 200; k++) {
    make_rev(w, 2, &w->other_group, &r);
    memcpy(r.group_pk, w->group.pk, RL_PK_LEN);
    r.node_id[0] = (uint8_t)k;
    len = rev_msg(&r, msg, sizeof(msg));
    node_revoke_recv(w->node[0], ab, msg, len, w->now);
  }
  assert_int_equal(w->node[0]->c.ctl_bad - bad0, REVOKE_CHECK_LINK_BURST);
  assert_int_equal(counter(w, 0, "revoke_checks_dropped") - drop0,
                   200 - REVOKE_CHECK_LINK_BURST);
  /* 2.5 s later: 10 more checks. */
  w->now += 2500 * NS_PER_MS;
  for (int k = 0; k < 50; k++) {
    make_rev(w, 2, &w->other_group, &r);
    memcpy(r.group_pk, w->group.pk, RL_PK_LEN);
    r.node_id[0] = (uint8_t)k;
    len = rev_msg(&r, msg, sizeof(msg));
    node_revoke_recv(w->node[0], ab, msg, len, w->now);
  }
  assert_int_equal(w->node[0]->c.ctl_bad - bad0, REVOKE_CHECK_LINK_BURST + 10);

  /* A genuine one from B while its budget is spent: dropped unchecked... */
  make_rev(w, 2, &w->group, &r);
  id_overlay_id(w->key[2].pk, idc);
  len = rev_msg(&r, msg, sizeof(msg));
  node_revoke_recv(w->node[0], ab, msg, len, w->now);
  assert_false(node_is_revoked(w->node[0], idc));
  /* ...and B knows it: its next digest (at most 30 s) brings it over. */
  assert_int_equal(node_revoke(w->node[1], &r, w->now), 1);
  run_until(w, w->now + 31 * NS_PER_S);
  assert_true(node_is_revoked(w->node[0], idc));

  /* The total: as if from many links (each link's budget full again),
   * A checks REVOKE_CHECK_ALL_BURST in one instant, no more. */
  w->now += 60 * NS_PER_S; /* everything refilled */
  bad0 = w->node[0]->c.ctl_bad;
  drop0 = counter(w, 0, "revoke_checks_dropped");
  for (int k = 0; k < 400; k++) {
    if (k % REVOKE_CHECK_LINK_BURST == 0)
      memset(&ab->rv_budget, 0, sizeof(ab->rv_budget)); /* another link */
    make_rev(w, 1, &w->other_group, &r);
    memcpy(r.group_pk, w->group.pk, RL_PK_LEN);
    r.node_id[1] = (uint8_t)k;
    r.node_id[2] = (uint8_t)(k >> 8);
    len = rev_msg(&r, msg, sizeof(msg));
    node_revoke_recv(w->node[0], ab, msg, len, w->now);
  }
  assert_int_equal(w->node[0]->c.ctl_bad - bad0, REVOKE_CHECK_ALL_BURST);
  assert_int_equal(counter(w, 0, "revoke_checks_dropped") - drop0,
                   400 - REVOKE_CHECK_ALL_BURST);
  teardown(w);
  free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_revocation_floods_and_closes),
      cmocka_unit_test(test_config_revocation_refuses_both_directions),
      cmocka_unit_test(test_expiry_closes_session),
      cmocka_unit_test(test_ring_revocation),
      cmocka_unit_test(test_revocation_learnt_from_dht),
      cmocka_unit_test(test_revocation_check_budget),
      cmocka_unit_test(test_large_set_converges),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
