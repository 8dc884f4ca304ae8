/* Unit tests: tap/frame.c (MAC from ID, classification down to IPv6 neighbour
 * discovery, ARP reply, MTU). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <string.h>

#include "tap/tap.h"
#include "util/env.h"

static size_t unhex(uint8_t *out, size_t cap, const char *hex) {
  /* Spaces are allowed between bytes for readability. */
  char clean[4096];
  size_t n = 0;
  for (const char *p = hex; *p; p++)
    if (*p != ' ')
      clean[n++] = *p;
  clean[n] = '\0';
  int r = rl_hex_decode(out, cap, clean, n);
  assert_true(r >= 0);
  return (size_t)r;
}

static void test_mac_from_id(void **state) {
  (void)state;
  static const struct {
    uint8_t id0;
    uint8_t mac0;
  } cases[] = {
      {0x00, 0x02}, {0xff, 0xfe}, {0x01, 0x02}, {0x03, 0x02}, {0xa5, 0xa6}, {0x5a, 0x5a},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t id[20], mac[6];
    for (int j = 0; j < 20; j++)
      id[j] = (uint8_t)(0x10 + j);
    id[0] = cases[i].id0;
    tap_mac_from_id(id, mac);
    assert_int_equal(mac[0], cases[i].mac0);
    assert_int_equal(mac[0] & 0x01, 0); /* unicast */
    assert_int_equal(mac[0] & 0x02, 2); /* locally administered */
    assert_memory_equal(mac + 1, id + 1, 5);
  }
  uint8_t id[20] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x23};
  uint8_t mac[6];
  char s[18];
  tap_mac_from_id(id, mac);
  assert_string_equal(tap_mac_format(mac, s, sizeof(s)), "de:ad:be:ef:01:23");
}

/* ARP request: who has 100.64.0.3? tell 100.64.0.2 (02:11:22:33:44:55). */
#define ARP_REQ_BODY "0001 0800 06 04 0001 021122334455 64400002 000000000000 64400003"
#define ETH_BCAST_FROM "ffffffffffff 021122334455"

struct classify_case {
  const char *name;
  const char *hex;
  int rc;
  enum tap_dst kind;
  uint16_t ethertype;
  uint8_t n_vlan;
  uint16_t vid0;
  bool arp;
  uint16_t arp_op;
  uint32_t spa, tpa;
  bool ipv4;
  uint32_t ip_dst;
};

static const struct classify_case CASES[] = {
    {"empty", "", RL_ETRUNC, 0, 0, 0, 0, false, 0, 0, 0, false, 0},
    {"13 bytes", "ffffffffffff 021122334455 08", RL_ETRUNC, 0, 0, 0, 0, false, 0, 0, 0, false, 0},
    {"header only, broadcast", ETH_BCAST_FROM "0806", 0, TAP_DST_BROADCAST, 0x0806, 0, 0, false,
     0, 0, 0, false, 0},
    {"arp request", ETH_BCAST_FROM "0806" ARP_REQ_BODY, 0, TAP_DST_BROADCAST, 0x0806, 0, 0, true,
     1, 0x64400002, 0x64400003, false, 0},
    {"arp request padded to 60", ETH_BCAST_FROM "0806" ARP_REQ_BODY
     "000000000000000000000000000000000000",
     0, TAP_DST_BROADCAST, 0x0806, 0, 0, true, 1, 0x64400002, 0x64400003, false, 0},
    {"arp reply unicast", "021122334455 02aabbccddee 0806 0001 0800 06 04 0002 02aabbccddee "
                          "64400003 021122334455 64400002",
     0, TAP_DST_UNICAST, 0x0806, 0, 0, true, 2, 0x64400003, 0x64400002, false, 0},
    {"arp truncated", ETH_BCAST_FROM "0806 0001 0800 06 04 0001 0211223344", 0, TAP_DST_BROADCAST,
     0x0806, 0, 0, false, 0, 0, 0, false, 0},
    {"arp over ipv6 ptype", ETH_BCAST_FROM "0806 0001 86dd 06 04 0001 021122334455 64400002 "
                                           "000000000000 64400003",
     0, TAP_DST_BROADCAST, 0x0806, 0, 0, false, 0, 0, 0, false, 0},
    {"ipv4 unicast", "02aabbccddee 021122334455 0800 45000014 00000000 4011 0000 64400002 64400003",
     0, TAP_DST_UNICAST, 0x0800, 0, 0, false, 0, 0, 0, true, 0x64400003},
    {"ipv4 multicast", "01005e000001 021122334455 0800 45000014 00000000 0102 0000 64400002 "
                       "e0000001",
     0, TAP_DST_MULTICAST, 0x0800, 0, 0, false, 0, 0, 0, true, 0xe0000001},
    {"ipv4 total length beyond frame", "02aabbccddee 021122334455 0800 45000100 00000000 4011 "
                                       "0000 64400002 64400003",
     0, TAP_DST_UNICAST, 0x0800, 0, 0, false, 0, 0, 0, false, 0},
    {"ipv4 bad version", "02aabbccddee 021122334455 0800 65000014 00000000 4011 0000 64400002 "
                         "64400003",
     0, TAP_DST_UNICAST, 0x0800, 0, 0, false, 0, 0, 0, false, 0},
    {"ipv6 multicast", "333300000001 021122334455 86dd 60000000", 0, TAP_DST_MULTICAST, 0x86dd, 0,
     0, false, 0, 0, 0, false, 0},
    {"vlan 5 arp request", ETH_BCAST_FROM "8100 0005 0806" ARP_REQ_BODY, 0, TAP_DST_BROADCAST,
     0x0806, 1, 5, true, 1, 0x64400002, 0x64400003, false, 0},
    {"qinq ipv4", "02aabbccddee 021122334455 88a8 0064 8100 2005 0800 45000014 00000000 4011 0000 "
                  "64400002 64400009",
     0, TAP_DST_UNICAST, 0x0800, 2, 100, false, 0, 0, 0, true, 0x64400009},
    {"vlan tag truncated", ETH_BCAST_FROM "8100 00", RL_ETRUNC, 0, 0, 0, 0, false, 0, 0, 0, false,
     0},
    {"three tags: third left as ethertype", ETH_BCAST_FROM "88a8 0001 8100 0002 8100 0003 0800",
     0, TAP_DST_BROADCAST, 0x8100, 2, 1, false, 0, 0, 0, false, 0},
};

static void test_classify_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
    const struct classify_case *c = &CASES[i];
    uint8_t frame[1600];
    struct tap_frame_info info;
    size_t len = unhex(frame, sizeof(frame), c->hex);
    int rc = tap_frame_classify(frame, len, &info);
    print_message("case: %s\n", c->name);
    assert_int_equal(rc, c->rc);
    if (rc)
      continue;
    assert_int_equal(info.dst_kind, c->kind);
    assert_int_equal(info.ethertype, c->ethertype);
    assert_int_equal(info.n_vlan, c->n_vlan);
    if (c->n_vlan)
      assert_int_equal(info.vlan[0].tci & 0x0fff, c->vid0);
    assert_int_equal(info.l3_off, 14 + 4 * (size_t)c->n_vlan);
    assert_int_equal(info.arp, c->arp);
    if (c->arp) {
      assert_int_equal(info.arp_op, c->arp_op);
      assert_int_equal(info.arp_spa, c->spa);
      assert_int_equal(info.arp_tpa, c->tpa);
    }
    assert_int_equal(info.ipv4, c->ipv4);
    if (c->ipv4)
      assert_int_equal(info.ipv4_dst, c->ip_dst);
  }
}

/* IPv6 and the upper layers the LAN's source policy reads. */
#define LL_A "fe80000000000000001122fffe334455"
#define ALL_NODES "ff020000000000000000000000000001"
#define ETH6 "333300000001 021122334455 86dd"

struct l4_case {
  const char *name;
  const char *hex;
  bool ipv4, ipv6;
  uint8_t proto;
  bool frag_later, l4_cut, udp;
  uint16_t sport, dport;
  bool icmp;
  uint8_t icmp_type;
  bool target, sll, tll, nd_bad;
};

static const struct l4_case L4[] = {
    {"na with target and tll", ETH6 "60000000 0020 3a ff" LL_A ALL_NODES
     "88 00 0000 20000000" LL_A "02 01 021122334455",
     false, true, 58, false, false, false, 0, 0, true, 136, true, false, true, false},
    {"mld2 report behind hop-by-hop", ETH6 "60000000 0010 00 01" LL_A ALL_NODES
     "3a 00 0502 0000 0100 8f00 0000 0000 0000",
     false, true, 58, false, false, false, 0, 0, true, 143, false, false, false, false},
    {"ipv6 later fragment", ETH6 "60000000 0010 2c ff" LL_A ALL_NODES
     "3a 00 0008 01020304 8600000000000000",
     false, true, 58, true, false, false, 0, 0, false, 0, false, false, false, false},
    {"ipv6 payload beyond frame", ETH6 "60000000 0040 3a ff" LL_A ALL_NODES "8600000000000000",
     false, false, 0, false, false, false, 0, 0, false, 0, false, false, false, false},
    {"ns option of length 0", ETH6 "60000000 001a 3a ff" LL_A ALL_NODES
     "87 00 0000 00000000" LL_A "0100",
     false, true, 58, false, false, false, 0, 0, true, 135, true, false, false, true},
    {"ra cut inside its fixed part", ETH6 "60000000 0008 3a ff" LL_A ALL_NODES "86000000 40000708",
     false, true, 58, false, true, false, 0, 0, true, 134, false, false, false, false},
    {"ipv6 chain of 9 hop-by-hop headers", ETH6 "60000000 0048 00 ff" LL_A ALL_NODES
     "0000010400000000 0000010400000000 0000010400000000 0000010400000000 0000010400000000 "
     "0000010400000000 0000010400000000 0000010400000000 3a00010400000000",
     false, true, 0, false, true, false, 0, 0, false, 0, false, false, false, false},
    {"dhcpv6 reply", ETH6 "60000000 0008 11 ff" LL_A ALL_NODES "0223 0222 0008 0000",
     false, true, 17, false, false, true, 547, 546, false, 0, false, false, false, false},
    {"ipv4 udp after options", "ffffffffffff 021122334455 0800 46000020 00000000 4011 0000 "
     "64400001 ffffffff 00000000 0043 0044 0008 0000",
     true, false, 17, false, false, true, 67, 68, false, 0, false, false, false, false},
    {"ipv4 later fragment", "ffffffffffff 021122334455 0800 4500001c 00000001 4011 0000 "
     "64400001 ffffffff 0043 0044 0008 0000",
     true, false, 17, true, false, false, 0, 0, false, 0, false, false, false, false},
    {"ipv4 udp cut", "02aabbccddee 021122334455 0800 45000018 00000000 4011 0000 "
     "64400001 64400002 0043 0044",
     true, false, 17, false, true, false, 0, 0, false, 0, false, false, false, false},
    /* fuzz_lan_frame found this: IPv4's ICMP protocol number behind an
     * IPv6 header was read as an ICMP message (type 137, a redirect) */
    {"ipv6 next header 1 is not icmp", ETH6 "60000000 0008 01 ff" LL_A ALL_NODES
     "8900 0000 0000 0000",
     false, true, 1, false, false, false, 0, 0, false, 0, false, false, false, false},
    {"icmp redirect", "02aabbccddee 021122334455 0800 4500001c 00000000 4001 0000 "
     "64400001 64400002 0501 0000 64400009",
     true, false, 1, false, false, false, 0, 0, true, 5, false, false, false, false},
};

static void test_classify_l4(void **state) {
  (void)state;
  uint8_t ll[16], mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  tap_ipv6_link_local(mac, ll);
  for (size_t i = 0; i < sizeof(L4) / sizeof(L4[0]); i++) {
    const struct l4_case *c = &L4[i];
    uint8_t frame[1600];
    struct tap_frame_info fi;
    size_t len = unhex(frame, sizeof(frame), c->hex);
    print_message("case: %s\n", c->name);
    assert_int_equal(tap_frame_classify(frame, len, &fi), 0);
    assert_int_equal(fi.ipv4, c->ipv4);
    assert_int_equal(fi.ipv6, c->ipv6);
    if (c->ipv6)
      assert_memory_equal(fi.ipv6_src, ll, 16);
    assert_int_equal(fi.ip_proto, c->proto);
    assert_int_equal(fi.frag_later, c->frag_later);
    assert_int_equal(fi.l4_cut, c->l4_cut);
    assert_int_equal(fi.udp, c->udp);
    assert_int_equal(fi.udp_sport, c->sport);
    assert_int_equal(fi.udp_dport, c->dport);
    assert_int_equal(fi.icmp, c->icmp);
    assert_int_equal(fi.icmp_type, c->icmp_type);
    assert_int_equal(fi.nd_has_target, c->target);
    if (c->target)
      assert_memory_equal(fi.nd_target, ll, 16);
    assert_int_equal(fi.nd_has_sll, c->sll);
    assert_int_equal(fi.nd_has_tll, c->tll);
    if (c->tll)
      assert_memory_equal(fi.nd_tll, mac, 6);
    assert_int_equal(fi.nd_bad, c->nd_bad);
  }
}

static void test_arp_reply_bytes(void **state) {
  (void)state;
  uint8_t frame[128], out[128], want[128];
  const uint8_t mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  struct tap_frame_info req, rep;
  size_t len = unhex(frame, sizeof(frame), ETH_BCAST_FROM "0806" ARP_REQ_BODY);
  assert_int_equal(tap_frame_classify(frame, len, &req), 0);
  int n = tap_arp_reply(&req, mac, out, sizeof(out));
  size_t wl = unhex(want, sizeof(want),
                    "021122334455 02aabbccddee 0806 0001 0800 06 04 0002 02aabbccddee 64400003 "
                    "021122334455 64400002");
  assert_int_equal(n, 42);
  assert_int_equal(wl, 42);
  assert_memory_equal(out, want, 42);
  /* The reply classifies back as a reply with swapped roles. */
  assert_int_equal(tap_frame_classify(out, (size_t)n, &rep), 0);
  assert_true(rep.arp);
  assert_int_equal(rep.arp_op, TAP_ARP_REPLY);
  assert_int_equal(rep.arp_spa, 0x64400003);
  assert_int_equal(rep.arp_tpa, 0x64400002);
  assert_int_equal(rep.dst_kind, TAP_DST_UNICAST);

  /* Too small a buffer, and a reply is not a request. */
  assert_int_equal(tap_arp_reply(&req, mac, out, 41), RL_ETOOBIG);
  assert_int_equal(tap_arp_reply(&rep, mac, out, sizeof(out)), RL_EINVAL);
}

static void test_arp_reply_keeps_vlan(void **state) {
  (void)state;
  uint8_t frame[128], out[128], want[128];
  const uint8_t mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  struct tap_frame_info req;
  size_t len = unhex(frame, sizeof(frame), ETH_BCAST_FROM "8100 a005 0806" ARP_REQ_BODY);
  assert_int_equal(tap_frame_classify(frame, len, &req), 0);
  int n = tap_arp_reply(&req, mac, out, sizeof(out));
  assert_int_equal(n, 46);
  unhex(want, sizeof(want),
        "021122334455 02aabbccddee 8100 a005 0806 0001 0800 06 04 0002 02aabbccddee 64400003 "
        "021122334455 64400002");
  assert_memory_equal(out, want, 46);
}

/* The announcement a member's node writes into its own TAP when a virtual
 * IP changed hands: a broadcast request with sender = target address. */
static void test_arp_announce_bytes(void **state) {
  (void)state;
  uint8_t out[64], want[64];
  const uint8_t mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  struct tap_frame_info fi;
  int n = tap_arp_announce(mac, 0x64400007, out, sizeof(out));
  size_t wl = unhex(want, sizeof(want),
                    "ffffffffffff 02aabbccddee 0806 0001 0800 06 04 0001 02aabbccddee 64400007 "
                    "000000000000 64400007");
  assert_int_equal(n, 42);
  assert_int_equal(wl, 42);
  assert_memory_equal(out, want, 42);
  assert_int_equal(tap_frame_classify(out, (size_t)n, &fi), 0);
  assert_true(fi.arp);
  assert_int_equal(fi.arp_op, TAP_ARP_REQUEST);
  assert_int_equal(fi.arp_spa, fi.arp_tpa);
  assert_int_equal(fi.dst_kind, TAP_DST_BROADCAST);
  assert_int_equal(tap_arp_announce(mac, 0x64400007, out, 41), RL_ETOOBIG);
}

static void test_mtu(void **state) {
  (void)state;
  /* 1500 - 20 - 8 - 28 - 14 - 4 */
  assert_int_equal(tap_mtu(1500, false, 0), 1426);
  assert_int_equal(tap_mtu(1500, true, 0), 1406);
  assert_int_equal(tap_mtu(1500, false, 28), 1398);
  assert_int_equal(tap_mtu(9000, false, 0), 8926);
  assert_int_equal(tap_mtu(600, false, 0), 0);  /* below TAP_MTU_MIN */
  assert_int_equal(tap_mtu(0, true, 65535), 0); /* no wrap-around */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mac_from_id),
      cmocka_unit_test(test_classify_table),
      cmocka_unit_test(test_classify_l4),
      cmocka_unit_test(test_arp_reply_bytes),
      cmocka_unit_test(test_arp_reply_keeps_vlan),
      cmocka_unit_test(test_arp_announce_bytes),
      cmocka_unit_test(test_mtu),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
