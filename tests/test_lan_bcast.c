/* Unit tests: broadcast and multicast frames of the virtual LAN over the
 * overlay's broadcast tree (node/core/lan_bcast.c) and the host's group
 * memberships (node/core/lan_mcast.c). Twelve node cores in one process,
 * n1..n11 joined through n0 with successor lists of 3, so most pairs hold
 * no link: what reaches them came down the tree.
 *
 *   - a broadcast from a member's TAP comes out of every other member's
 *     TAP once, also a 1440-byte one (two pieces) and a burst of them;
 *   - a frame claiming another member's address reaches no TAP;
 *   - copies that are not the origin's (another origin, re-labelled, of a
 *     revoked member) are refused by the check every member runs;
 *   - the sender's rate: a frame of several pieces goes whole or not;
 *   - multicast reaches a querier's host only for groups it joined (IGMP
 *     reports it writes), link-local groups always; IGMP stays local.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define MAXN 12
#include "crypto/origin.h"
#include "crypto/revoke.h"
#include "node/core/node_internal.h" /* white box: lan_bcast_check, counters */
#include "overlay/overlay.h"
#include "tap/mcast.h"
#include "tap/tap.h"
#include "testnet.h"

#define BC_PORT 5353

static struct net *ring(uint32_t rate, uint32_t burst, int querier) {
  struct net *w = calloc(1, sizeof(*w));
  struct prng gp = {777};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  assert_non_null(w);
  w->now = T0;
  w->ring_successors = 3;
  w->bcast_rate = rate;
  w->bcast_burst = burst;
  if (querier >= 0)
    w->querier[querier] = true;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  for (int i = 0; i < MAXN; i++)
    make_member(w, i, &w->group, "lab", 0x64400001 + (uint32_t)i);
  start_node_cfg(w, 0, w->group.pk, -1, -1);
  for (int i = 1; i < MAXN; i++) {
    start_node_cfg(w, i, w->group.pk, -1, 0);
    run_until(w, w->now + 2 * NS_PER_S);
  }
  run_until(w, w->now + 60 * NS_PER_S);
  for (int i = 0; i < MAXN; i++)
    assert_true(node_in_ring(w->node[i]));
  return w;
}

static void free_ring(struct net *w) {
  teardown(w);
  free(w);
}

/* An IPv4 UDP datagram from member `from` to dst (MAC dmac) of `len`
 * bytes in all, its payload starting with the 4-byte tag. */
static size_t udp_frame(uint8_t *f, struct net *w, int from, const uint8_t dmac[6], uint32_t src,
                        uint32_t dst, size_t len, uint32_t tag) {
  uint8_t smac[6];
  size_t ip_len = len - 14;
  node_tap_mac(w->node[from], smac);
  memset(f, 0, len);
  memcpy(f, dmac, 6);
  memcpy(f + 6, smac, 6);
  f[12] = 0x08, f[13] = 0x00;
  uint8_t *ip = f + 14;
  ip[0] = 0x45;
  ip[2] = (uint8_t)(ip_len >> 8), ip[3] = (uint8_t)ip_len;
  ip[8] = 1;
  ip[9] = 17;
  for (int k = 0; k < 4; k++) {
    ip[12 + k] = (uint8_t)(src >> (24 - 8 * k));
    ip[16 + k] = (uint8_t)(dst >> (24 - 8 * k));
  }
  uint8_t *u = ip + 20;
  u[0] = BC_PORT >> 8, u[1] = BC_PORT & 255, u[2] = BC_PORT >> 8, u[3] = BC_PORT & 255;
  u[4] = (uint8_t)((ip_len - 20) >> 8), u[5] = (uint8_t)(ip_len - 20);
  for (int k = 0; k < 4; k++)
    u[8 + k] = (uint8_t)(tag >> (24 - 8 * k));
  for (size_t k = 12; k + 20 + 14 < len; k++)
    u[k] = (uint8_t)(k * 7 + tag);
  return len;
}

static const uint8_t BCAST_MAC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Frames each member's TAP gave out with the tag, until now (drains the
 * TAPs; IGMP queries and frames without a tag are skipped). */
static void count_tagged(struct net *w, uint32_t tag, const uint8_t *want, size_t want_len,
                         unsigned got[MAXN]) {
  uint8_t out[NODE_FRAME_MAX];
  size_t len;
  for (int i = 0; i < MAXN; i++)
    while ((len = node_poll_tap(w->node[i], out, sizeof(out))) > 0) {
      if (len < 14 + 20 + 12 || out[12] != 0x08 || out[13] != 0 || out[14 + 9] != 17)
        continue;
      uint32_t t = (uint32_t)out[42] << 24 | (uint32_t)out[43] << 16 |
                   (uint32_t)out[44] << 8 | out[45];
      if (t != tag)
        continue;
      if (want && (len != want_len || memcmp(out, want, len) != 0))
        fail_msg("member %d got the tagged frame altered", i);
      got[i]++;
    }
}

/* How many members node i holds an established direct link with. */
static unsigned links_of(struct net *w, int i) {
  unsigned k = 0;
  for (unsigned j = 0; j < w->node[i]->n_links; j++) {
    const struct link *l = w->node[i]->links[j];
    k += l->used && l->s.state == SESS_ESTABLISHED && !l->via_overlay;
  }
  return k;
}

static void test_broadcast_reaches_every_member_once(void **state) {
  (void)state;
  struct net *w = ring(0, 0, -1);
  uint8_t f[NODE_FRAME_MAX];
  unsigned got[MAXN] = {0};
  const int from = 7;
  /* Most members hold no link to the sender: the tree carries it. */
  assert_true(links_of(w, from) < MAXN - 1);

  size_t len = udp_frame(f, w, from, BCAST_MAC, w->cert[from].vip, 0x647fffff, 120, 0xb0000001);
  assert_int_equal(node_recv_tap(w->node[from], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  count_tagged(w, 0xb0000001, f, len, got);
  for (int i = 0; i < MAXN; i++)
    assert_int_equal(got[i], i == from ? 0 : 1);
  assert_int_equal(w->node[from]->c.bcast_out, 1);

  /* A full-size frame: the largest the TAP's MTU lets the host write. */
  size_t big = (size_t)node_tap_mtu(w->node[from]) + 14;
  assert_true(big > 1300);
  memset(got, 0, sizeof(got));
  len = udp_frame(f, w, from, BCAST_MAC, w->cert[from].vip, 0x647fffff, big, 0xb0000002);
  assert_int_equal(node_recv_tap(w->node[from], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  count_tagged(w, 0xb0000002, f, len, got);
  for (int i = 0; i < MAXN; i++)
    assert_int_equal(got[i], i == from ? 0 : 1);

  /* A burst of 50 from another member, each once everywhere. */
  const int from2 = 2;
  unsigned total[MAXN] = {0};
  for (uint32_t k = 0; k < 50; k++) {
    len = udp_frame(f, w, from2, BCAST_MAC, w->cert[from2].vip, 0x647fffff, 300, 0xb1000000);
    assert_int_equal(node_recv_tap(w->node[from2], f, len, w->now), 0);
  }
  run_until(w, w->now + 500 * NS_PER_MS);
  count_tagged(w, 0xb1000000, NULL, 0, total);
  for (int i = 0; i < MAXN; i++)
    assert_int_equal(total[i], i == from2 ? 0 : 50);
  for (int i = 0; i < MAXN; i++) {
    assert_int_equal(w->node[i]->c.bcast_bad, 0);
    assert_int_equal(w->node[i]->c.bcast_frag_lost, 0);
  }
  free_ring(w);
}

static void test_spoofed_broadcast_reaches_no_one(void **state) {
  (void)state;
  struct net *w = ring(0, 0, -1);
  uint8_t f[NODE_FRAME_MAX];
  unsigned got[MAXN] = {0};
  uint64_t bad = 0;
  /* Member 3 claims member 5's address. */
  size_t len = udp_frame(f, w, 3, BCAST_MAC, w->cert[5].vip, 0x647fffff, 100, 0xb2000001);
  assert_int_equal(node_recv_tap(w->node[3], f, len, w->now), 0);
  /* And a frame with another member's MAC as its source. */
  len = udp_frame(f, w, 3, BCAST_MAC, w->cert[3].vip, 0x647fffff, 100, 0xb2000001);
  node_tap_mac(w->node[6], f + 6);
  assert_int_equal(node_recv_tap(w->node[3], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  count_tagged(w, 0xb2000001, NULL, 0, got);
  for (int i = 0; i < MAXN; i++) {
    assert_int_equal(got[i], 0);
    bad += w->node[i]->c.bcast_bad;
  }
  /* The wrong address: refused by each of the 11 receivers after the
   * whole frame is in; the wrong MAC: refused by the sender's children
   * on the first hop (piece 0), so the tree stops there. */
  assert_true(bad >= 11 + 1);
  free_ring(w);
}

/* The check every member runs before it forwards a copy. */
static void test_forged_copies_refused(void **state) {
  (void)state;
  struct net *w = ring(0, 0, -1);
  struct node *a = w->node[1], *rx = w->node[9];
  uint8_t pl[LAN_BC_HDR + 64], sealed[OV_APP_MAX], frame[64];
  static const uint8_t zero[RL_ID_LEN];
  uint32_t epoch = 0x11223344, seq = 5;
  uint64_t ms = rl_unix_ms(&w->env[1], w->now);
  size_t flen = udp_frame(frame, w, 1, BCAST_MAC, w->cert[1].vip, 0x647fffff, 60, 1);
  uint64_t bad0 = rx->c.bcast_bad;
  /* epoch seq nfrag idx total offset */
  pl[0] = 0x11, pl[1] = 0x22, pl[2] = 0x33, pl[3] = 0x44;
  pl[4] = 0, pl[5] = 0, pl[6] = 0, pl[7] = 5;
  pl[8] = 1, pl[9] = 0, pl[10] = 0, pl[11] = (uint8_t)flen, pl[12] = 0, pl[13] = 0;
  memcpy(pl + LAN_BC_HDR, frame, flen);
  int k = origin_seal(&a->hid, OV_APP_LAN, zero, ms, pl, LAN_BC_HDR + flen, sealed,
                      sizeof(sealed));
  assert_true(k > 0);
  /* Genuine. */
  assert_true(lan_bcast_check(rx, a->hid.id, epoch, seq, OV_APP_SIGNED, sealed, (size_t)k, w->now));
  /* Re-labelled: another seq or epoch than signed. */
  assert_false(lan_bcast_check(rx, a->hid.id, epoch, seq + 1, OV_APP_SIGNED, sealed, (size_t)k, w->now));
  assert_false(lan_bcast_check(rx, a->hid.id, epoch + 1, seq, OV_APP_SIGNED, sealed, (size_t)k, w->now));
  /* Under another origin. */
  assert_false(lan_bcast_check(rx, w->node[2]->hid.id, epoch, seq, OV_APP_SIGNED, sealed, (size_t)k, w->now));
  /* Not signed at all, or altered. */
  assert_false(lan_bcast_check(rx, a->hid.id, epoch, seq, OV_APP_LAN, pl, LAN_BC_HDR + flen, w->now));
  sealed[k - 1] ^= 1;
  assert_false(lan_bcast_check(rx, a->hid.id, epoch, seq, OV_APP_SIGNED, sealed, (size_t)k, w->now));
  sealed[k - 1] ^= 1;
  /* Stamped far in the past (a replay from long ago). */
  int k2 = origin_seal(&a->hid, OV_APP_LAN, zero, ms - (ORIGIN_SKEW_S + 5) * 1000ull, pl,
                       LAN_BC_HDR + flen, sealed, sizeof(sealed));
  assert_false(lan_bcast_check(rx, a->hid.id, epoch, seq, OV_APP_SIGNED, sealed, (size_t)k2, w->now));
  /* A routed message sealed for the DHT is no broadcast. */
  k = origin_seal(&a->hid, OV_APP_DHT, zero, ms, pl, LAN_BC_HDR + flen, sealed, sizeof(sealed));
  assert_false(lan_bcast_check(rx, a->hid.id, epoch, seq, OV_APP_SIGNED, sealed, (size_t)k, w->now));
  /* Uneven split: piece 0 of 2 claiming all 60 bytes. */
  pl[8] = 2;
  k = origin_seal(&a->hid, OV_APP_LAN, zero, ms, pl, LAN_BC_HDR + flen, sealed, sizeof(sealed));
  assert_false(lan_bcast_check(rx, a->hid.id, epoch, seq, OV_APP_SIGNED, sealed, (size_t)k, w->now));
  assert_int_equal(rx->c.bcast_bad, bad0 + 8);
  /* The genuine copy once its origin is revoked. */
  pl[8] = 1;
  k = origin_seal(&a->hid, OV_APP_LAN, zero, ms, pl, LAN_BC_HDR + flen, sealed, sizeof(sealed));
  assert_true(lan_bcast_check(rx, a->hid.id, epoch, seq, OV_APP_SIGNED, sealed, (size_t)k, w->now));
  struct revocation rv;
  memset(&rv, 0, sizeof(rv));
  rv.version = 1;
  snprintf(rv.group, sizeof(rv.group), "lab");
  memcpy(rv.node_id, a->hid.id, RL_ID_LEN);
  rv.revoked_at = 1800000000;
  assert_int_equal(revoke_sign(&rv, &w->group), 0);
  assert_true(node_revoke(rx, &rv, w->now) >= 0);
  assert_false(lan_bcast_check(rx, a->hid.id, epoch, seq, OV_APP_SIGNED, sealed, (size_t)k, w->now));
  free_ring(w);
}

static void test_sender_rate(void **state) {
  (void)state;
  struct net *w = ring(20, 10, -1); /* 20 a second, bursts of 10 */
  uint8_t f[NODE_FRAME_MAX];
  unsigned got[MAXN] = {0};
  const int from = 4;
  size_t big = (size_t)node_tap_mtu(w->node[from]) + 14; /* two pieces */
  unsigned sent = 0;
  for (int k = 0; k < 8; k++) {
    size_t len = udp_frame(f, w, from, BCAST_MAC, w->cert[from].vip, 0x647fffff, big, 0xb3000000);
    sent += node_recv_tap(w->node[from], f, len, w->now) == 0;
  }
  /* Ten pieces of credit: five whole frames, no half one. */
  assert_int_equal(sent, 5);
  assert_int_equal(w->node[from]->c.bcast_rate_dropped, 3);
  run_until(w, w->now + 300 * NS_PER_MS);
  count_tagged(w, 0xb3000000, NULL, 0, got);
  for (int i = 0; i < MAXN; i++) {
    assert_int_equal(got[i], i == from ? 0 : 5);
    assert_int_equal(w->node[i]->c.bcast_frag_lost, 0);
  }
  free_ring(w);
}

/* ---- multicast membership ---- */

static uint16_t csum(const uint8_t *p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2)
    s += (uint32_t)p[i] << 8 | p[i + 1];
  if (n & 1)
    s += (uint32_t)p[n - 1] << 8;
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

/* The IGMPv2 report (join) or leave the host of member i writes. */
static size_t igmp2(uint8_t *f, struct net *w, int i, uint8_t type, uint32_t group) {
  static const uint8_t ALL_ROUTERS[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x02};
  uint8_t dmac[6] = {0x01, 0x00, 0x5e, (uint8_t)((group >> 16) & 0x7f), (uint8_t)(group >> 8),
                     (uint8_t)group};
  uint32_t dst = type == TAP_IGMP_V2_LEAVE ? 0xe0000002 : group;
  memcpy(f, type == TAP_IGMP_V2_LEAVE ? ALL_ROUTERS : dmac, 6);
  node_tap_mac(w->node[i], f + 6);
  f[12] = 0x08, f[13] = 0x00;
  uint8_t *ip = f + 14;
  memset(ip, 0, 32);
  ip[0] = 0x46, ip[1] = 0xc0, ip[3] = 32, ip[8] = 1, ip[9] = 2;
  for (int k = 0; k < 4; k++) {
    ip[12 + k] = (uint8_t)(w->cert[i].vip >> (24 - 8 * k));
    ip[16 + k] = (uint8_t)(dst >> (24 - 8 * k));
  }
  ip[20] = 0x94, ip[21] = 0x04;
  uint16_t c = csum(ip, 24);
  ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
  uint8_t *g = ip + 24;
  g[0] = type;
  for (int k = 0; k < 4; k++)
    g[4 + k] = (uint8_t)(group >> (24 - 8 * k));
  c = csum(g, 8);
  g[2] = (uint8_t)(c >> 8), g[3] = (uint8_t)c;
  return 14 + 32;
}

static size_t mcast_frame(uint8_t *f, struct net *w, int from, uint32_t group, uint32_t tag) {
  uint8_t dmac[6] = {0x01, 0x00, 0x5e, (uint8_t)((group >> 16) & 0x7f), (uint8_t)(group >> 8),
                     (uint8_t)group};
  return udp_frame(f, w, from, dmac, w->cert[from].vip, group, 100, tag);
}

static void test_multicast_follows_host_membership(void **state) {
  (void)state;
  const int host = 5, from = 9;
  struct net *w = ring(0, 0, host);
  uint8_t f[NODE_FRAME_MAX];
  unsigned got[MAXN] = {0};
  const uint32_t G = 0xefff0102; /* 239.255.1.2 */

  /* The querier asked the host for its groups (an IGMPv3 general query
   * into its TAP), and nobody else's TAP saw a query. */
  char js[16384];
  assert_true(node_status_json(w->node[host], w->now, js, sizeof(js)) > 0);
  assert_non_null(strstr(js, "\"multicast\":{\"querier\":true,\"groups\":[]"));
  assert_null(strstr(js, "\"queries\":0,"));

  /* Not joined: the host does not get the group; the others (no querier:
   * they deliver every group) do. */
  size_t len = mcast_frame(f, w, from, G, 0xc0000001);
  assert_int_equal(node_recv_tap(w->node[from], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  count_tagged(w, 0xc0000001, NULL, 0, got);
  assert_int_equal(got[host], 0);
  assert_int_equal(got[3], 1);
  assert_int_equal(w->node[host]->c.bcast_unjoined, 1);

  /* The host joins: its report stays on its TAP segment. */
  uint64_t out0 = w->node[host]->c.bcast_out;
  len = igmp2(f, w, host, TAP_IGMP_V2_REPORT, G);
  assert_int_equal(node_recv_tap(w->node[host], f, len, w->now), 0);
  assert_int_equal(w->node[host]->c.bcast_out, out0);
  assert_int_equal(w->node[host]->c.mcast_bad, 0);
  assert_true(node_status_json(w->node[host], w->now, js, sizeof(js)) > 0);
  assert_non_null(strstr(js, "\"groups\":[{\"group\":\"239.255.1.2\",\"vlan\":0}]"));
  memset(got, 0, sizeof(got));
  len = mcast_frame(f, w, from, G, 0xc0000002);
  assert_int_equal(node_recv_tap(w->node[from], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  count_tagged(w, 0xc0000002, NULL, 0, got);
  assert_int_equal(got[host], 1);

  /* Link-local groups (224.0.0.251, mDNS) need no membership. */
  memset(got, 0, sizeof(got));
  len = mcast_frame(f, w, from, 0xe00000fb, 0xc0000003);
  assert_int_equal(node_recv_tap(w->node[from], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  count_tagged(w, 0xc0000003, NULL, 0, got);
  for (int i = 0; i < MAXN; i++)
    assert_int_equal(got[i], i == from ? 0 : 1);

  /* The host leaves: nothing more for it. */
  len = igmp2(f, w, host, TAP_IGMP_V2_LEAVE, G);
  assert_int_equal(node_recv_tap(w->node[host], f, len, w->now), 0);
  memset(got, 0, sizeof(got));
  len = mcast_frame(f, w, from, G, 0xc0000004);
  assert_int_equal(node_recv_tap(w->node[from], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  count_tagged(w, 0xc0000004, NULL, 0, got);
  assert_int_equal(got[host], 0);
  assert_int_equal(got[3], 1);
  assert_true(node_status_json(w->node[host], w->now, js, sizeof(js)) > 0);
  assert_non_null(strstr(js, "\"groups\":[]"));

  /* A join that is never refreshed times out: the querier asks every
   * 125 s, a host that no longer answers is out after 260 s. */
  len = igmp2(f, w, host, TAP_IGMP_V2_REPORT, G);
  assert_int_equal(node_recv_tap(w->node[host], f, len, w->now), 0);
  run_until(w, w->now + 261 * NS_PER_S);
  assert_true(node_status_json(w->node[host], w->now, js, sizeof(js)) > 0);
  assert_non_null(strstr(js, "\"groups\":[]"));
  assert_non_null(strstr(js, "\"timeouts\":1,"));
  free_ring(w);
}

/* IPv6: the host's MLDv2 report (from its link-local address, with the
 * Router Alert hop-by-hop option, as Linux sends it) joins ff0e::1:2 (a
 * global group); a UDP datagram to it from another member reaches the
 * host only after that, and one to ff02::fb (link-local, mDNS) always. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s) {
  for (size_t i = 0; i + 1 < n; i += 2)
    s += (uint32_t)p[i] << 8 | p[i + 1];
  if (n & 1)
    s += (uint32_t)p[n - 1] << 8;
  return s;
}
static uint16_t fold(uint32_t s) {
  while (s >> 16)
    s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}
/* IPv6 header (+ hop-by-hop Router Alert when hbh) and an upper-layer
 * message of proto with its checksum at csum_off filled in. */
static size_t ipv6_frame(uint8_t *f, struct net *w, int i, const uint8_t dst[16], bool hbh,
                         uint8_t proto, const uint8_t *msg, size_t mlen, size_t csum_off) {
  uint8_t src[16];
  node_tap_mac(w->node[i], f + 6);
  tap_ipv6_link_local(f + 6, src);
  f[0] = 0x33, f[1] = 0x33, memcpy(f + 2, dst + 12, 4);
  f[12] = 0x86, f[13] = 0xdd;
  uint8_t *ip = f + 14;
  size_t ext = hbh ? 8 : 0, plen = ext + mlen;
  memset(ip, 0, 40 + ext);
  ip[0] = 0x60;
  ip[4] = (uint8_t)(plen >> 8), ip[5] = (uint8_t)plen;
  ip[6] = hbh ? 0 : proto;
  ip[7] = 1;
  memcpy(ip + 8, src, 16);
  memcpy(ip + 24, dst, 16);
  if (hbh)
    ip[40] = proto, ip[42] = 5, ip[43] = 2; /* Router Alert (MLD), then PadN */
  if (hbh)
    ip[46] = 1, ip[47] = 0;
  uint8_t *m = ip + 40 + ext;
  memcpy(m, msg, mlen);
  m[csum_off] = m[csum_off + 1] = 0;
  uint8_t ph[40] = {0};
  memcpy(ph, src, 16);
  memcpy(ph + 16, dst, 16);
  ph[34] = (uint8_t)(mlen >> 8), ph[35] = (uint8_t)mlen, ph[39] = proto;
  uint16_t c = fold(sum16(m, mlen, sum16(ph, 40, 0)));
  m[csum_off] = (uint8_t)(c >> 8), m[csum_off + 1] = (uint8_t)c;
  return 14 + 40 + plen;
}

static size_t mld2_report(uint8_t *f, struct net *w, int i, uint8_t rtype, const uint8_t g[16]) {
  static const uint8_t MLD2_ROUTERS[16] = {0xff, 0x02, [15] = 0x16};
  uint8_t msg[8 + 20] = {TAP_ICMP6_MLD2_REPORT, 0, 0, 0, 0, 0, 0, 1, rtype, 0, 0, 0};
  memcpy(msg + 12, g, 16);
  return ipv6_frame(f, w, i, MLD2_ROUTERS, true, 58, msg, sizeof(msg), 2);
}

static size_t udp6_frame(uint8_t *f, struct net *w, int i, const uint8_t g[16], uint32_t tag) {
  uint8_t u[8 + 16] = {0x14, 0xe9, 0x14, 0xe9, 0, 24};
  for (int k = 0; k < 4; k++)
    u[8 + k] = (uint8_t)(tag >> (24 - 8 * k));
  return ipv6_frame(f, w, i, g, false, 17, u, sizeof(u), 6);
}

static unsigned got6(struct net *w, int i, uint32_t tag) {
  uint8_t out[NODE_FRAME_MAX];
  size_t len;
  unsigned n = 0;
  while ((len = node_poll_tap(w->node[i], out, sizeof(out))) > 0)
    if (len >= 14 + 40 + 12 && out[12] == 0x86 && out[13] == 0xdd && out[14 + 6] == 17 &&
        ((uint32_t)out[62] << 24 | (uint32_t)out[63] << 16 | (uint32_t)out[64] << 8 | out[65]) == tag)
      n++;
  return n;
}

static void test_ipv6_multicast_follows_mld(void **state) {
  (void)state;
  const int host = 4, from = 8;
  struct net *w = ring(0, 0, host);
  static const uint8_t G[16] = {0xff, 0x0e, [13] = 1, [15] = 2};     /* ff0e::1:2 */
  static const uint8_t MDNS6[16] = {0xff, 0x02, [15] = 0xfb};        /* ff02::fb */
  uint8_t f[NODE_FRAME_MAX];
  char js[16384];
  size_t len = udp6_frame(f, w, from, G, 0xd0000001);
  assert_int_equal(node_recv_tap(w->node[from], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  assert_int_equal(got6(w, host, 0xd0000001), 0);
  assert_int_equal(got6(w, 1, 0xd0000001), 1); /* no querier there: every group */
  /* MLDv2 CHANGE_TO_EXCLUDE({}) = join. */
  len = mld2_report(f, w, host, TAP_MCAST_TO_EX, G);
  assert_int_equal(node_recv_tap(w->node[host], f, len, w->now), 0);
  assert_int_equal(w->node[host]->c.mcast_bad, 0);
  assert_true(node_status_json(w->node[host], w->now, js, sizeof(js)) > 0);
  assert_non_null(strstr(js, "{\"group\":\"ff0e::1:2\",\"vlan\":0}"));
  len = udp6_frame(f, w, from, G, 0xd0000002);
  assert_int_equal(node_recv_tap(w->node[from], f, len, w->now), 0);
  len = udp6_frame(f, w, from, MDNS6, 0xd0000003);
  assert_int_equal(node_recv_tap(w->node[from], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  uint8_t out[NODE_FRAME_MAX];
  unsigned a = 0, b = 0;
  while ((len = node_poll_tap(w->node[host], out, sizeof(out))) > 0) {
    if (len < 66 || out[12] != 0x86 || out[14 + 6] != 17)
      continue;
    uint32_t t = (uint32_t)out[62] << 24 | (uint32_t)out[63] << 16 | (uint32_t)out[64] << 8 | out[65];
    a += t == 0xd0000002;
    b += t == 0xd0000003;
  }
  assert_int_equal(a, 1);
  assert_int_equal(b, 1);
  /* CHANGE_TO_INCLUDE({}) = leave. */
  len = mld2_report(f, w, host, TAP_MCAST_TO_IN, G);
  assert_int_equal(node_recv_tap(w->node[host], f, len, w->now), 0);
  len = udp6_frame(f, w, from, G, 0xd0000004);
  assert_int_equal(node_recv_tap(w->node[from], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  assert_int_equal(got6(w, host, 0xd0000004), 0);
  free_ring(w);
}

/* Membership frames of a member's segment are dropped when they come from
 * a member not yet in a ring (which sends group frames on its links). */
static void test_igmp_never_crosses(void **state) {
  (void)state;
  struct net *w = ring(0, 0, 5);
  uint8_t f[NODE_FRAME_MAX];
  uint64_t before[MAXN];
  for (int i = 0; i < MAXN; i++)
    before[i] = w->node[i]->c.bcast_in;
  size_t len = igmp2(f, w, 2, TAP_IGMP_V2_REPORT, 0xefff0102);
  assert_int_equal(node_recv_tap(w->node[2], f, len, w->now), 0);
  run_until(w, w->now + 200 * NS_PER_MS);
  for (int i = 0; i < MAXN; i++)
    assert_int_equal(w->node[i]->c.bcast_in, before[i]);
  free_ring(w);
}

/* ringlan subring list: the group's ring (joined, its size estimate, the
 * frames broadcast) and the certificate's subrings (not carried yet). */
static void test_subrings_listed(void **state) {
  (void)state;
  struct net *w = ring(0, 0, -1);
  char js[2048], txt[2048];
  uint8_t f[NODE_FRAME_MAX];
  size_t len = udp_frame(f, w, 2, BCAST_MAC, w->cert[2].vip, 0x647fffff, 80, 7);
  assert_int_equal(node_recv_tap(w->node[2], f, len, w->now), 0);
  assert_true(node_subrings_json(w->node[2], w->now, js, sizeof(js)) > 0);
  assert_non_null(strstr(js, "{\"subrings\":[{\"name\":\"lab\",\"kind\":\"group\",\"joined\":true,"
                             "\"size_estimate\":"));
  assert_non_null(strstr(js, "\"frames_out\":1,"));
  const char *p = strstr(js, "\"size_estimate\":");
  unsigned long est = strtoul(p + strlen("\"size_estimate\":"), NULL, 10);
  assert_true(est >= MAXN / 2 && est <= MAXN * 2); /* an estimate of 12 */
  assert_true(node_subrings_text(w->node[2], w->now, txt, sizeof(txt)) > 0);
  assert_non_null(strstr(txt, "lab"));
  free_ring(w);
  /* A member whose certificate names subrings, before it is in a ring. */
  struct net *v = calloc(1, sizeof(*v));
  struct prng gp = {5};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  v->now = T0;
  assert_int_equal(id_generate(&v->group, &genv), 0);
  make_member(v, 0, &v->group, "lab", 0x64400001);
  v->cert[0].n_subrings = 2;
  snprintf(v->cert[0].subrings[0], sizeof(v->cert[0].subrings[0]), "physics");
  snprintf(v->cert[0].subrings[1], sizeof(v->cert[0].subrings[1]), "cluster-a");
  assert_int_equal(cert_sign(&v->cert[0], &v->group), 0);
  start_node_cfg(v, 0, v->group.pk, -1, -1);
  assert_true(node_subrings_json(v->node[0], v->now, js, sizeof(js)) > 0);
  assert_string_equal(js, "{\"subrings\":[{\"name\":\"lab\",\"kind\":\"group\",\"joined\":false,"
                          "\"size_estimate\":0,\"frames_out\":0,\"frames_in\":0},"
                          "{\"name\":\"physics\",\"kind\":\"certificate\",\"joined\":false},"
                          "{\"name\":\"cluster-a\",\"kind\":\"certificate\",\"joined\":false}]}");
  teardown(v);
  free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_broadcast_reaches_every_member_once),
      cmocka_unit_test(test_spoofed_broadcast_reaches_no_one),
      cmocka_unit_test(test_forged_copies_refused),
      cmocka_unit_test(test_sender_rate),
      cmocka_unit_test(test_multicast_follows_host_membership),
      cmocka_unit_test(test_igmp_never_crosses),
      cmocka_unit_test(test_subrings_listed),
      cmocka_unit_test(test_ipv6_multicast_follows_mld),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
