/* Unit tests: twelve node cores forming a ring through one bootstrap node,
 * with the real overlay, DHT, handshakes and data channel; the virtual LAN
 * on top (ARP answered from the DHT, links opened on demand).
 *
 *   n1 .. n15 --bootstrap--> n0        192.0.2.1 .. 192.0.2.16, port 4000
 *   virtual IPs 100.64.0.1 .. 100.64.0.16; successor lists of 3, so that
 *   some pairs of members hold no link to each other
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#define MAXN 16
#include "dht/record.h"
#include "node/core/node_internal.h" /* white box: who relies on which link */
#include "overlay/overlay.h"
#include "tap/tap.h"
#include "testnet.h"
#include "testnet_status.h"

static struct net *make_ring(void) { return make_ring_of(MAXN); }

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, RL_ID_LEN); }

/* Every live node's successor and predecessor are its neighbours in the
 * sorted list of live IDs. */
static void assert_ring_consistent(struct net *w) {
  uint8_t ids[MAXN][RL_ID_LEN];
  int live = 0;
  for (int i = 0; i < MAXN; i++)
    if (w->node[i] && !w->down[i])
      memcpy(ids[live++], node_id(w->node[i]), RL_ID_LEN);
  qsort(ids, (size_t)live, RL_ID_LEN, cmp_id);
  for (int i = 0; i < MAXN; i++) {
    struct ov_ring_info ri;
    int k;
    if (!w->node[i] || w->down[i])
      continue;
    assert_int_equal(node_ring_info(w->node[i], &ri), 0);
    assert_true(ri.joined);
    for (k = 0; k < live && memcmp(ids[k], node_id(w->node[i]), RL_ID_LEN) != 0; k++)
      ;
    assert_true(ri.n_succ >= 1);
    assert_memory_equal(ri.succ[0], ids[(k + 1) % live], RL_ID_LEN);
    assert_true(ri.has_pred);
    assert_memory_equal(ri.pred, ids[(k + live - 1) % live], RL_ID_LEN);
  }
}

static void test_ring_forms_from_one_bootstrap(void **state) {
  (void)state;
  struct net *w = make_ring();
  assert_ring_consistent(w);
  teardown(w);
  free(w);
}


static void test_lan_resolves_through_dht_and_links_on_demand(void **state) {
  (void)state;
  struct net *w = make_ring();
  uint8_t f[200], out[NODE_FRAME_MAX], mac7[6];
  struct tap_frame_info fi;
  size_t len;
  int a = -1, b = -1;
  /* A pair with no link yet: neither ARP nor frames can use one. */
  for (int i = 0; i < MAXN && a < 0; i++)
    for (int j = 0; j < MAXN && a < 0; j++) {
      char js[16384], needle[48];
      if (i == j)
        continue;
      assert_true(node_status_json(w->node[i], w->now, js, sizeof(js)) > 0);
      snprintf(needle, sizeof(needle), "\"peer_vip\":\"100.64.0.%d\"", j + 1);
      if (!strstr(js, needle))
        a = i, b = j;
    }
  assert_true(a >= 0);
  /* ARP from a's kernel for b's address: answered locally, from the DHT. */
  len = arp_request(f, w, a, w->cert[b].vip);
  assert_int_equal(node_recv_tap(w->node[a], f, len, w->now), 0);
  run_until(w, w->now + 5 * NS_PER_S);
  len = node_poll_tap(w->node[a], out, sizeof(out));
  assert_true(len >= 42);
  assert_int_equal(tap_frame_classify(out, len, &fi), 0);
  assert_true(fi.arp);
  assert_int_equal(fi.arp_op, TAP_ARP_REPLY);
  node_tap_mac(w->node[b], mac7);
  assert_memory_equal(fi.arp_sha, mac7, 6);
  assert_int_equal(fi.arp_spa, w->cert[b].vip);
  /* First unicast frame: carried at once (over the overlay if need be), and
   * a direct link is opened on demand; later frames use it. */
  len = (size_t)make_frame_ring(f, w, a, b, 0x5a);
  assert_int_equal(node_recv_tap(w->node[a], f, len, w->now), 0);
  run_until(w, w->now + 5 * NS_PER_S);
  assert_int_equal(node_poll_tap(w->node[b], out, sizeof(out)), len);
  assert_memory_equal(out, f, len);
  assert_true(has_path(w, a, b, "direct"));
  len = (size_t)make_frame_ring(f, w, a, b, 0x5b);
  node_recv_tap(w->node[a], f, len, w->now);
  run_until(w, w->now + 100 * NS_PER_MS);
  assert_int_equal(node_poll_tap(w->node[b], out, sizeof(out)), len);
  assert_memory_equal(out, f, len);
  teardown(w);
  free(w);
}

static void test_records_survive_owner_failure(void **state) {
  (void)state;
  struct net *w = make_ring();
  uint8_t key[DHT_KEY_LEN], ids[MAXN][RL_ID_LEN];
  char ans[2048];
  uint32_t cookie = 0;
  int target = 5, owner = -1, asker = -1;
  dht_key_vip("lab", w->cert[target].vip, key);
  /* The owner is the first node clockwise from the key. */
  for (int i = 0; i < MAXN; i++)
    memcpy(ids[i], node_id(w->node[i]), RL_ID_LEN);
  for (int i = 0; i < MAXN; i++) {
    uint8_t di[RL_ID_LEN], dbest[RL_ID_LEN];
    ring_distance(key, ids[i], di);
    if (owner < 0 || memcmp(di, dbest, RL_ID_LEN) < 0) {
      owner = i;
      ring_distance(key, ids[owner], dbest);
    }
  }
  if (owner == target)
    target = 6, dht_key_vip("lab", w->cert[target].vip, key);
  /* Kill the key's owner (no goodbye), let the ring repair. */
  unsigned before = w->delivered;
  w->down[owner] = true;
  /* Failure detection does not wait for the 40 s session timeout: the
   * successor's stabilise traffic goes unanswered, a probe and a fresh
   * handshake fail, the link is declared dead (3 + 3 + 6 s). */
  run_until(w, w->now + 20 * NS_PER_S);
  assert_ring_consistent(w);
  /* Repair is paced by timers: no message storm between the dead node's
   * neighbours (a stale predecessor once made two nodes ping-pong at
   * hundreds of packets per second). 15 nodes idle at ~2 datagrams/s each. */
  assert_true(w->delivered - before < 15 * 20 * 5);
  for (int i = 0; i < MAXN && asker < 0; i++)
    if (i != owner && i != target)
      asker = i;
  char q[32];
  snprintf(q, sizeof(q), "100.64.0.%d", target + 1);
  assert_int_equal(node_control_lookup(w->node[asker], q, 77, w->now), 0);
  run_until(w, w->now + 20 * NS_PER_S);
  assert_true(node_poll_control(w->node[asker], &cookie, ans, sizeof(ans)) > 0);
  assert_int_equal(cookie, 77);
  assert_non_null(strstr(ans, "\"found\":true"));
  teardown(w);
  free(w);
}

/* A member that leaves (SIGTERM) says goodbye on its links (OCC_EXIT) and
 * hands over: the ring closes in seconds, not after the 40 s link timeout. */
static void test_graceful_leave_repairs_at_once(void **state) {
  (void)state;
  struct net *w = make_ring();
  for (int k = 3; k <= 9; k += 3) { /* three leaves, one after another */
    node_leave(w->node[k], w->now);
    run_until(w, w->now + 50 * NS_PER_MS); /* the goodbyes go out */
    w->down[k] = true;
    run_until(w, w->now + 1 * NS_PER_S);
    for (int i = 0; i < MAXN; i++) { /* nobody holds a session to it now */
      if (w->down[i])
        continue;
      assert_false(has_path(w, i, k, "direct"));
    }
    run_until(w, w->now + 7 * NS_PER_S);
    assert_ring_consistent(w);
  }
  teardown(w);
  free(w);
}

static int node_index_of(struct net *w, const uint8_t id[RL_ID_LEN]) {
  for (int i = 0; i < MAXN; i++)
    if (w->node[i] && !w->down[i] && memcmp(node_id(w->node[i]), id, RL_ID_LEN) == 0)
      return i;
  return -1;
}

static bool has_direct_link(struct node *n, const uint8_t id[RL_ID_LEN]) {
  for (unsigned k = 0; k < n->n_links; k++) {
    struct link *l = n->links[k];
    if (l->used && !l->via_overlay && l->s.state == SESS_ESTABLISHED && l->s.have_peer &&
        memcmp(l->s.peer_id, id, RL_ID_LEN) == 0)
      return true;
  }
  return false;
}

/* LINK_MSG_WANT: a link that neither end's overlay relies on and that
 * never carried data is closed about 30 s after it goes quiet (not after
 * idle_link_ns = 300 s), and a link one end relies on is kept by the other
 * end even when no overlay message crosses it for longer than that. */
static void test_links_nobody_relies_on_close_soon(void **state) {
  (void)state;
  struct net *w = make_ring();
  run_until(w, w->now + 120 * NS_PER_S);
  uint64_t closed = 0;
  for (int i = 0; i < MAXN; i++) {
    struct node *n = w->node[i];
    closed += n->c.links_idle_closed;
    for (unsigned k = 0; k < n->n_links; k++) {
      struct link *l = n->links[k];
      if (!l->used || l->via_overlay || l->s.state != SESS_ESTABLISHED)
        continue;
      assert_true(l->peer_speaks_want);
      /* relied on, or still in use (overlay messages cross it) */
      assert_true(l->ov_wanted || l->peer_wants || l->static_idx >= 0 || l->carried_data ||
                  w->now - l->last_data_ns <= NODE_UNWANTED_IDLE_NS + NODE_REAP_EVERY_NS);
    }
  }
  assert_true(closed > 0); /* the ring's formation left unneeded links */
  /* Members in the ring let their bootstrap link rest once the bootstrap
   * node closed it: n0 does not keep a link to everyone. */
  int resting = -1, n0_links = 0;
  for (int i = 1; i < MAXN; i++)
    for (unsigned k = 0; k < w->node[i]->n_links; k++)
      if (w->node[i]->links[k]->used && w->node[i]->links[k]->dormant &&
          !has_direct_link(w->node[i], node_id(w->node[0])))
        resting = i; /* and no other link to n0 */
  for (unsigned k = 0; k < w->node[0]->n_links; k++)
    n0_links += w->node[0]->links[k]->used;
  print_message("n0 holds %d links; member %d rests its bootstrap link\n", n0_links, resting);
  assert_true(resting > 0);
  assert_true(n0_links < MAXN - 1);
  /* No frames and no lookups for 400 s: only keepalives and the ring's
   * own maintenance cross the links. */
  run_until(w, w->now + 400 * NS_PER_S);
  assert_ring_consistent(w);
  for (int j = 0; j < MAXN; j++) {
    struct node *n = w->node[j];
    for (unsigned k = 0; k < n->n_links; k++) {
      struct link *l = n->links[k];
      if (!l->used || l->via_overlay || l->s.state != SESS_ESTABLISHED || !l->ov_wanted)
        continue;
      int i = node_index_of(w, l->s.peer_id);
      assert_true(i >= 0);
      assert_true(has_direct_link(w->node[i], node_id(n)));
    }
  }
  /* Everyone but n0 and a member whose bootstrap link rests fails: that
   * member is out of the ring, dials n0 again, and the two form a ring. */
  for (unsigned k = 0; k < w->node[resting]->n_links; k++)
    if (w->node[resting]->links[k]->used && w->node[resting]->links[k]->bootstrap)
      assert_true(w->node[resting]->links[k]->dormant);
  assert_false(has_direct_link(w->node[resting], node_id(w->node[0])));
  for (int i = 1; i < MAXN; i++)
    if (i != resting)
      w->down[i] = true;
  uint64_t deadline = w->now + 240 * NS_PER_S;
  while (w->now < deadline && !has_direct_link(w->node[resting], node_id(w->node[0])))
    run_until(w, w->now + NS_PER_S);
  assert_true(has_direct_link(w->node[resting], node_id(w->node[0])));
  run_until(w, w->now + 60 * NS_PER_S);
  assert_ring_consistent(w);
  teardown(w);
  free(w);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ring_forms_from_one_bootstrap),
      cmocka_unit_test(test_lan_resolves_through_dht_and_links_on_demand),
      cmocka_unit_test(test_records_survive_owner_failure),
      cmocka_unit_test(test_graceful_leave_repairs_at_once),
      cmocka_unit_test(test_links_nobody_relies_on_close_soon),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
