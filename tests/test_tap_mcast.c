/* Unit tests: tap/mcast.c and tap/mcast_table.c (IGMP/MLD membership
 * reports, the membership table with its timers, the querier's schedule
 * and query frames). Frames are built here byte by byte, with the test's
 * own checksum code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <string.h>

#include "tap/mcast.h"

#define S TAP_MCAST_NS_PER_S
#define MS 1000000ull

static const uint8_t HOST_MAC[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t LL[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x11, 0x22, 0xff, 0xfe,
                               0x33, 0x44, 0x55};

/* RFC 1071, written out word by word. */
static uint16_t cksum(const uint8_t *p, size_t n, uint32_t sum) {
  for (size_t i = 0; i < n; i++)
    sum += (i % 2 == 0) ? (uint32_t)p[i] << 8 : p[i];
  while (sum > 0xffff)
    sum = (sum >> 16) + (sum & 0xffff);
  return (uint16_t)(~sum & 0xffff);
}

static uint32_t pseudo6(const uint8_t *src, const uint8_t *dst, size_t len) {
  uint8_t ph[40] = {0};
  memcpy(ph, src, 16);
  memcpy(ph + 16, dst, 16);
  ph[34] = (uint8_t)(len >> 8);
  ph[35] = (uint8_t)len;
  ph[39] = 58;
  uint16_t c = cksum(ph, 40, 0);
  return (uint16_t)~c;
}

static size_t put_eth(uint8_t *f, const uint8_t dmac[6], int n_vlan, uint16_t ethertype) {
  size_t o = 0;
  memcpy(f, dmac, 6);
  memcpy(f + 6, HOST_MAC, 6);
  o = 12;
  static const uint16_t tpid[2] = {0x88a8, 0x8100};
  for (int i = 0; i < n_vlan; i++) {
    uint16_t tp = n_vlan == 1 ? 0x8100 : tpid[i];
    uint16_t tci = (uint16_t)(0xa000 | (10 + i)); /* PCP 5, VID 10, 11 */
    f[o++] = (uint8_t)(tp >> 8);
    f[o++] = (uint8_t)tp;
    f[o++] = (uint8_t)(tci >> 8);
    f[o++] = (uint8_t)tci;
  }
  f[o++] = (uint8_t)(ethertype >> 8);
  f[o++] = (uint8_t)ethertype;
  return o;
}

/* Ethernet + IPv4 (Router Alert, TTL 1) + the IGMP message msg (its
 * checksum field filled in here). */
static size_t igmp_frame(uint8_t *f, int n_vlan, const uint8_t *msg, size_t mlen) {
  static const uint8_t dmac[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x16};
  size_t o = put_eth(f, dmac, n_vlan, 0x0800);
  uint8_t *ip = f + o;
  size_t total = 24 + mlen;
  memset(ip, 0, 24);
  ip[0] = 0x46;
  ip[1] = 0xc0;
  ip[2] = (uint8_t)(total >> 8);
  ip[3] = (uint8_t)total;
  ip[8] = 1;
  ip[9] = 2;
  ip[12] = 100, ip[13] = 64, ip[14] = 0, ip[15] = 2;
  ip[16] = 224, ip[17] = 0, ip[18] = 0, ip[19] = 22;
  ip[20] = 0x94, ip[21] = 0x04;
  uint16_t c = cksum(ip, 24, 0);
  ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
  memcpy(ip + 24, msg, mlen);
  ip[26] = ip[27] = 0;
  c = cksum(ip + 24, mlen, 0);
  ip[26] = (uint8_t)(c >> 8), ip[27] = (uint8_t)c;
  return o + total;
}

static const uint8_t MLD2_DST[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16};

/* Ethernet + IPv6 + hop-by-hop (Router Alert) + the ICMPv6 message. */
static size_t mld_frame(uint8_t *f, int n_vlan, const uint8_t src[16], const uint8_t *msg,
                        size_t mlen) {
  static const uint8_t dmac[6] = {0x33, 0x33, 0, 0, 0, 0x16};
  size_t o = put_eth(f, dmac, n_vlan, 0x86dd);
  uint8_t *ip = f + o;
  size_t plen = 8 + mlen;
  memset(ip, 0, 48);
  ip[0] = 0x60;
  ip[4] = (uint8_t)(plen >> 8);
  ip[5] = (uint8_t)plen;
  ip[6] = 0;
  ip[7] = 1;
  memcpy(ip + 8, src, 16);
  memcpy(ip + 24, MLD2_DST, 16);
  ip[40] = 58, ip[41] = 0, ip[42] = 5, ip[43] = 2, ip[46] = 1, ip[47] = 0;
  uint8_t *m = ip + 48;
  memcpy(m, msg, mlen);
  m[2] = m[3] = 0;
  uint16_t c = cksum(m, mlen, pseudo6(src, MLD2_DST, mlen));
  m[2] = (uint8_t)(c >> 8), m[3] = (uint8_t)c;
  return o + 40 + plen;
}

static void igmp12(uint8_t *msg, uint8_t type, uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  memset(msg, 0, 8);
  msg[0] = type;
  msg[1] = type == 0x12 ? 0 : 100;
  msg[4] = a, msg[5] = b, msg[6] = c, msg[7] = d;
}

static void mld1(uint8_t *msg, uint8_t type, const uint8_t grp[16]) {
  memset(msg, 0, 24);
  msg[0] = type;
  memcpy(msg + 8, grp, 16);
}

static void check_rec(const struct tap_mcast_rec *r, uint8_t op, uint8_t family,
                      const uint8_t *addr, uint8_t n_vlan) {
  uint8_t full[16] = {0};
  memcpy(full, addr, family == 4 ? 4 : 16);
  assert_int_equal(r->op, op);
  assert_int_equal(r->family, family);
  assert_memory_equal(r->addr, full, 16);
  assert_int_equal(r->n_vlan, n_vlan);
  for (unsigned i = 0; i < n_vlan; i++) {
    assert_int_equal(r->vlan[i].tci, n_vlan == 1 ? 10 : 10 + i); /* priority bits cut */
    assert_int_equal(r->vlan[i].tpid, n_vlan == 1 ? 0x8100 : (i ? 0x8100 : 0x88a8));
  }
}

/* Every cut of a valid frame: an error (or "no report" while the IP
 * protocol / next header byte is not there yet), never records. */
static void check_cuts(const uint8_t *f, size_t len, size_t proto_end) {
  struct tap_mcast_rec recs[4];
  for (size_t cut = 0; cut < len; cut++) {
    uint8_t copy[1300];
    memcpy(copy, f, cut);
    int rc = tap_mcast_parse(copy, cut, recs, 4);
    if (cut < proto_end && cut >= 14)
      assert_true(rc == 0 || rc == RL_ETRUNC);
    else
      assert_int_equal(rc, RL_ETRUNC);
  }
}

/* Every single-bit flip in [from, to), bytes a checksum covers: refused. */
static void check_flips(const uint8_t *f, size_t len, size_t from, size_t to) {
  struct tap_mcast_rec recs[4];
  for (size_t i = from; i < to; i++) {
    for (int b = 0; b < 8; b++) {
      uint8_t copy[1300];
      memcpy(copy, f, len);
      copy[i] ^= (uint8_t)(1 << b);
      int rc = tap_mcast_parse(copy, len, recs, 4);
      assert_int_equal(rc, RL_EPARSE);
    }
  }
}

/* The ICMPv6 type is read before the checksum: a flipped MLD type is no
 * MLD report type (131, 132, 143 are 3+ bits apart), so no report. */
static void check_type_flips(const uint8_t *f, size_t len, size_t at) {
  struct tap_mcast_rec recs[4];
  for (int b = 0; b < 8; b++) {
    uint8_t copy[1300];
    memcpy(copy, f, len);
    copy[at] ^= (uint8_t)(1 << b);
    assert_int_equal(tap_mcast_parse(copy, len, recs, 4), 0);
  }
}

static void test_igmp_v1_v2(void **state) {
  (void)state;
  static const uint8_t g[4] = {239, 1, 2, 3};
  for (int nv = 0; nv <= 2; nv++) {
    struct {
      uint8_t type, op;
    } cases[] = {{0x12, TAP_MCAST_JOIN}, {0x16, TAP_MCAST_JOIN}, {0x17, TAP_MCAST_LEAVE}};
    for (size_t i = 0; i < 3; i++) {
      uint8_t msg[8], f[128];
      struct tap_mcast_rec r[2];
      igmp12(msg, cases[i].type, 239, 1, 2, 3);
      size_t len = igmp_frame(f, nv, msg, 8);
      assert_int_equal(tap_mcast_parse(f, len, r, 2), 1);
      check_rec(&r[0], cases[i].op, 4, g, (uint8_t)nv);
      size_t l3 = 14 + 4 * (size_t)nv;
      check_cuts(f, len, l3 + 10);
      /* IGMP checksum covers the message: any flip in it is caught. */
      check_flips(f, len, l3 + 24, len);
      /* Padded to Ethernet's minimum and beyond: the IP length counts. */
      uint8_t pad[128] = {0};
      memcpy(pad, f, len);
      assert_int_equal(tap_mcast_parse(pad, 100, r, 2), 1);
      check_rec(&r[0], cases[i].op, 4, g, (uint8_t)nv);
    }
  }
}

static void test_igmp_bad(void **state) {
  (void)state;
  uint8_t msg[16], f[128];
  struct tap_mcast_rec r[2];
  /* IPv4 header checksum wrong. */
  igmp12(msg, 0x16, 239, 1, 2, 3);
  size_t len = igmp_frame(f, 0, msg, 8);
  f[14 + 10] ^= 1;
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_EPARSE);
  /* IGMP checksum wrong. */
  len = igmp_frame(f, 0, msg, 8);
  f[14 + 26] ^= 0x80;
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_EPARSE);
  /* Group not multicast (report and leave). */
  igmp12(msg, 0x16, 10, 1, 2, 3);
  len = igmp_frame(f, 0, msg, 8);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_EPARSE);
  igmp12(msg, 0x17, 100, 64, 0, 1);
  len = igmp_frame(f, 0, msg, 8);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_EPARSE);
  /* IGMP message shorter than 8 bytes. */
  igmp12(msg, 0x16, 239, 1, 2, 3);
  len = igmp_frame(f, 0, msg, 6);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_ETRUNC);
  /* A fragment (MF set), checksum redone. */
  len = igmp_frame(f, 0, msg, 8);
  f[14 + 6] = 0x20;
  f[14 + 10] = f[14 + 11] = 0;
  uint16_t c = cksum(f + 14, 24, 0);
  f[14 + 10] = (uint8_t)(c >> 8), f[14 + 11] = (uint8_t)c;
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_EPARSE);
  /* IHL 4 (below 20 bytes). */
  len = igmp_frame(f, 0, msg, 8);
  f[14] = 0x44;
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_EPARSE);
  /* Total length beyond the frame. */
  len = igmp_frame(f, 0, msg, 8);
  assert_int_equal(tap_mcast_parse(f, len - 1, r, 2), RL_ETRUNC);
  /* Longer v2 message (12 bytes, checksum over all): accepted, RFC 2236 2.5. */
  memset(msg + 8, 0xab, 4);
  len = igmp_frame(f, 0, msg, 12);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), 1);
}

static void test_igmp_other_types(void **state) {
  (void)state;
  uint8_t msg[16], f[128];
  struct tap_mcast_rec r[2];
  /* Query (v2 form and v3 form), DVMRP (0x13), unknown type: no records. */
  static const uint8_t types[] = {0x11, 0x13, 0x1e, 0x00, 0xff};
  for (size_t i = 0; i < sizeof(types); i++) {
    igmp12(msg, types[i], 239, 1, 2, 3);
    size_t len = igmp_frame(f, 0, msg, 8);
    assert_int_equal(tap_mcast_parse(f, len, r, 2), 0);
  }
  /* Not IGMP at all: UDP to a group, ARP, an odd ethertype. */
  igmp12(msg, 0x16, 239, 1, 2, 3);
  size_t len = igmp_frame(f, 0, msg, 8);
  f[14 + 9] = 17;
  assert_int_equal(tap_mcast_parse(f, len, r, 2), 0);
  len = put_eth(f, HOST_MAC, 0, 0x0806);
  memset(f + len, 0, 28);
  assert_int_equal(tap_mcast_parse(f, len + 28, r, 2), 0);
  len = put_eth(f, HOST_MAC, 0, 0x88cc);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), 0);
}

static void test_link_local_groups(void **state) {
  (void)state;
  uint8_t msg[24], f[128];
  struct tap_mcast_rec r[2];
  /* 224.0.0.251 (mDNS) and 224.0.0.22: nothing; 224.0.1.1 is routable. */
  igmp12(msg, 0x16, 224, 0, 0, 251);
  size_t len = igmp_frame(f, 0, msg, 8);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), 0);
  igmp12(msg, 0x17, 224, 0, 0, 22);
  len = igmp_frame(f, 0, msg, 8);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), 0);
  igmp12(msg, 0x16, 224, 0, 1, 1);
  len = igmp_frame(f, 0, msg, 8);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), 1);
  /* IPv6: scopes 0, 1, 2 (with and without flags) skipped; 5 is not. */
  static const struct {
    uint8_t b1;
    int n;
  } v6[] = {{0x02, 0}, {0x01, 0}, {0x00, 0}, {0x12, 0}, {0x32, 0}, {0x05, 1}, {0x0e, 1},
            {0x15, 1}};
  for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
    uint8_t g[16] = {0xff, v6[i].b1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb};
    mld1(msg, 131, g);
    len = mld_frame(f, 0, LL, msg, 24);
    assert_int_equal(tap_mcast_parse(f, len, r, 2), v6[i].n);
    assert_int_equal(tap_mcast_link_scope(6, g), v6[i].n == 0);
  }
}

/* IGMPv3 report with every record type, sources and aux data. */
static size_t v3_rec(uint8_t *p, uint8_t type, uint8_t nsrc, uint8_t aux, const uint8_t *grp,
                     size_t alen) {
  size_t o = 0;
  p[o++] = type;
  p[o++] = aux;
  p[o++] = 0;
  p[o++] = nsrc;
  memcpy(p + o, grp, alen);
  o += alen;
  for (unsigned i = 0; i < nsrc; i++) {
    memset(p + o, 0, alen);
    p[o] = alen == 4 ? 198 : 0x20;
    p[o + alen - 1] = (uint8_t)(i + 1);
    o += alen;
  }
  memset(p + o, 0xee, (size_t)aux * 4);
  return o + (size_t)aux * 4;
}

struct v3_case {
  uint8_t type, nsrc, aux;
  uint8_t last;   /* last address byte of the group */
  int op;         /* expected op, 0: no record */
};

static const struct v3_case V3[] = {
    {TAP_MCAST_IS_IN, 0, 0, 1, TAP_MCAST_LEAVE}, {TAP_MCAST_IS_IN, 2, 0, 2, TAP_MCAST_JOIN},
    {TAP_MCAST_IS_EX, 0, 0, 3, TAP_MCAST_JOIN},  {TAP_MCAST_IS_EX, 1, 1, 4, TAP_MCAST_JOIN},
    {TAP_MCAST_TO_IN, 0, 0, 5, TAP_MCAST_LEAVE}, {TAP_MCAST_TO_IN, 3, 0, 6, TAP_MCAST_JOIN},
    {TAP_MCAST_TO_EX, 0, 2, 7, TAP_MCAST_JOIN},  {TAP_MCAST_ALLOW, 1, 0, 8, TAP_MCAST_JOIN},
    {TAP_MCAST_ALLOW, 0, 0, 9, 0},               {TAP_MCAST_BLOCK, 2, 0, 10, TAP_MCAST_CHECK},
    {TAP_MCAST_BLOCK, 0, 0, 11, 0},              {7, 1, 0, 12, 0},
    {0, 0, 0, 13, 0},                            {TAP_MCAST_IS_EX, 0, 0, 0xfb, 0} /* 224.0.0.251 / ff02::fb */,
};
#define N_V3 (sizeof(V3) / sizeof(V3[0]))

static size_t v3_report(uint8_t *msg, bool v6) {
  size_t alen = v6 ? 16 : 4;
  memset(msg, 0, 8);
  msg[0] = v6 ? 143 : 0x22;
  msg[7] = (uint8_t)N_V3;
  size_t o = 8;
  for (size_t i = 0; i < N_V3; i++) {
    uint8_t g[16] = {0};
    if (v6) {
      g[0] = 0xff, g[1] = V3[i].last == 0xfb ? 0x02 : 0x0e, g[15] = V3[i].last;
    } else {
      g[0] = V3[i].last == 0xfb ? 224 : 232, g[3] = V3[i].last;
    }
    o += v3_rec(msg + o, V3[i].type, V3[i].nsrc, V3[i].aux, g, alen);
  }
  return o;
}

static void check_v3_records(const struct tap_mcast_rec *r, int n, bool v6, uint8_t n_vlan) {
  int k = 0;
  for (size_t i = 0; i < N_V3; i++) {
    if (!V3[i].op)
      continue;
    uint8_t g[16] = {0};
    if (v6)
      g[0] = 0xff, g[1] = 0x0e, g[15] = V3[i].last;
    else
      g[0] = 232, g[3] = V3[i].last;
    assert_true(k < n);
    check_rec(&r[k], (uint8_t)V3[i].op, v6 ? 6 : 4, g, n_vlan);
    k++;
  }
  assert_int_equal(k, n);
}

static void test_igmpv3(void **state) {
  (void)state;
  uint8_t msg[600], f[700];
  struct tap_mcast_rec r[16];
  size_t mlen = v3_report(msg, false);
  for (int nv = 0; nv <= 2; nv++) {
    size_t len = igmp_frame(f, nv, msg, mlen);
    int n = tap_mcast_parse(f, len, r, 16);
    assert_int_equal(n, 9);
    check_v3_records(r, n, false, (uint8_t)nv);
    size_t l3 = 14 + 4 * (size_t)nv;
    check_cuts(f, len, l3 + 10);
    check_flips(f, len, l3 + 24, len);
    /* Fewer slots than records: the count, and the first ones written. */
    struct tap_mcast_rec few[3];
    memset(few, 0, sizeof(few));
    assert_int_equal(tap_mcast_parse(f, len, few, 2), 9);
    assert_memory_equal(few, r, 2 * sizeof(r[0]));
    assert_int_equal(few[2].op, 0);
    assert_int_equal(tap_mcast_parse(f, len, NULL, 0), 9);
  }
  /* One record's group not multicast: the whole report refused, nothing
   * written. */
  uint8_t bad[64];
  memset(bad, 0, 8);
  bad[0] = 0x22;
  bad[7] = 2;
  uint8_t g1[4] = {239, 0, 0, 1}, g2[4] = {10, 0, 0, 1};
  size_t o = 8 + v3_rec(bad + 8, TAP_MCAST_IS_EX, 0, 0, g1, 4);
  o += v3_rec(bad + o, TAP_MCAST_IS_EX, 0, 0, g2, 4);
  size_t len = igmp_frame(f, 0, bad, o);
  memset(r, 0, sizeof(r));
  assert_int_equal(tap_mcast_parse(f, len, r, 16), RL_EPARSE);
  assert_int_equal(r[0].op, 0);
  /* Record count beyond the message (all groups multicast now). */
  bad[8 + 8 + 4] = 239;
  len = igmp_frame(f, 0, bad, o);
  assert_int_equal(tap_mcast_parse(f, len, r, 16), 2);
  bad[7] = 3;
  len = igmp_frame(f, 0, bad, o);
  assert_int_equal(tap_mcast_parse(f, len, r, 16), RL_ETRUNC);
  /* Source count beyond the message. */
  bad[7] = 1;
  bad[8 + 3] = 1;
  len = igmp_frame(f, 0, bad, 16);
  assert_int_equal(tap_mcast_parse(f, len, r, 16), RL_ETRUNC);
  /* No records: a valid, empty report. */
  bad[7] = 0;
  len = igmp_frame(f, 0, bad, 8);
  assert_int_equal(tap_mcast_parse(f, len, r, 16), 0);
}

static void test_mld(void **state) {
  (void)state;
  static const uint8_t g[16] = {0xff, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x03};
  static const uint8_t any[16] = {0};
  uint8_t msg[24], f[128];
  struct tap_mcast_rec r[2];
  for (int nv = 0; nv <= 2; nv++) {
    for (int done = 0; done <= 1; done++) {
      mld1(msg, done ? 132 : 131, g);
      size_t len = mld_frame(f, nv, LL, msg, 24);
      assert_int_equal(tap_mcast_parse(f, len, r, 2), 1);
      check_rec(&r[0], done ? TAP_MCAST_LEAVE : TAP_MCAST_JOIN, 6, g, (uint8_t)nv);
      size_t l3 = 14 + 4 * (size_t)nv;
      check_cuts(f, len, l3 + 7);
      /* The ICMPv6 checksum covers the message and the addresses. */
      check_flips(f, len, l3 + 49, len);
      check_flips(f, len, l3 + 8, l3 + 40);
      check_type_flips(f, len, l3 + 48);
    }
  }
  /* Unspecified source (RFC 3590): accepted. Global source: refused. */
  mld1(msg, 131, g);
  size_t len = mld_frame(f, 0, any, msg, 24);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), 1);
  uint8_t glob[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  len = mld_frame(f, 0, glob, msg, 24);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_EPARSE);
  /* Bad checksum. */
  len = mld_frame(f, 0, LL, msg, 24);
  f[14 + 48 + 3] ^= 0x01;
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_EPARSE);
  /* Group not multicast. */
  uint8_t uni[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  mld1(msg, 131, uni);
  len = mld_frame(f, 0, LL, msg, 24);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_EPARSE);
  /* MLDv1 shorter than 24 bytes. */
  mld1(msg, 131, g);
  len = mld_frame(f, 0, LL, msg, 20);
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_ETRUNC);
  /* Other ICMPv6: MLD query, echo request, neighbour solicitation. */
  static const uint8_t other[] = {130, 128, 135, 1};
  for (size_t i = 0; i < sizeof(other); i++) {
    mld1(msg, other[i], g);
    len = mld_frame(f, 0, LL, msg, 24);
    assert_int_equal(tap_mcast_parse(f, len, r, 2), 0);
  }
  /* Without the hop-by-hop header: next header 58 directly. */
  mld1(msg, 131, g);
  len = mld_frame(f, 0, LL, msg, 24);
  uint8_t direct[128];
  memcpy(direct, f, 14 + 40);
  memcpy(direct + 54, f + 14 + 48, 24);
  direct[14 + 5] = 24;
  direct[14 + 6] = 58;
  assert_int_equal(tap_mcast_parse(direct, 78, r, 2), 1);
  /* Behind a fragment header: no MLD. Hop-by-hop after destination
   * options: refused. */
  f[14 + 6] = 44;
  assert_int_equal(tap_mcast_parse(f, len, r, 2), 0);
  f[14 + 6] = 60;
  f[14 + 40] = 0;
  assert_int_equal(tap_mcast_parse(f, len, r, 2), RL_EPARSE);
  /* Payload length beyond the frame. */
  len = mld_frame(f, 0, LL, msg, 24);
  assert_int_equal(tap_mcast_parse(f, len - 1, r, 2), RL_ETRUNC);
}

static void test_mldv2(void **state) {
  (void)state;
  uint8_t msg[1200], f[1300];
  struct tap_mcast_rec r[16];
  size_t mlen = v3_report(msg, true);
  for (int nv = 0; nv <= 2; nv++) {
    size_t len = mld_frame(f, nv, LL, msg, mlen);
    int n = tap_mcast_parse(f, len, r, 16);
    assert_int_equal(n, 9);
    check_v3_records(r, n, true, (uint8_t)nv);
    size_t l3 = 14 + 4 * (size_t)nv;
    check_cuts(f, len, l3 + 7);
    if (nv == 0) {
      check_flips(f, len, l3 + 49, len);
      check_type_flips(f, len, l3 + 48);
    }
  }
  /* Record count beyond the message. */
  msg[7] = N_V3 + 1;
  size_t len = mld_frame(f, 0, LL, msg, mlen);
  assert_int_equal(tap_mcast_parse(f, len, r, 16), RL_ETRUNC);
}

/* --- membership table --- */

static struct tap_mcast_rec rec4(uint8_t op, uint8_t last) {
  struct tap_mcast_rec r = {.op = op, .family = 4};
  r.addr[0] = 239, r.addr[3] = last;
  return r;
}

static int drain(struct tap_mcast_table *t, uint64_t now, struct tap_mcast_rec *ev, int cap) {
  int n = 0;
  while (n < cap && tap_mcast_table_event(t, now, &ev[n]))
    n++;
  return n;
}

static void test_table_timers(void **state) {
  (void)state;
  static struct tap_mcast_table t;
  struct tap_mcast_rec ev[4];
  uint64_t t0 = 1000 * S;
  tap_mcast_table_init(&t, true, true, t0);
  assert_int_equal(TAP_MCAST_GMI, 260 * S);
  /* Join: one "joined" event, then quiet. */
  struct tap_mcast_rec j = rec4(TAP_MCAST_JOIN, 1);
  tap_mcast_table_apply(&t, &j, 1, t0);
  assert_int_equal(drain(&t, t0, ev, 4), 1);
  assert_int_equal(ev[0].op, TAP_MCAST_JOIN);
  assert_int_equal(ev[0].addr[3], 1);
  assert_int_equal(drain(&t, t0 + S, ev, 4), 0);
  /* The membership timer is the next deadline once queries are sent. */
  struct tap_mcast_query q;
  while (tap_mcast_table_query(&t, t0, &q))
    ;
  assert_int_equal(tap_mcast_table_deadline(&t), t0 + TAP_MCAST_SQI);
  /* Refreshed by a report at +200 s: still there at +259 and at +460 - 1 ns. */
  tap_mcast_table_apply(&t, &j, 1, t0 + 200 * S);
  assert_int_equal(drain(&t, t0 + 259 * S, ev, 4), 0);
  assert_int_equal(drain(&t, t0 + 460 * S - 1, ev, 4), 0);
  /* Expired at +460 s (200 + 260): "left", counted as a timeout. */
  assert_int_equal(drain(&t, t0 + 460 * S, ev, 4), 1);
  assert_int_equal(ev[0].op, TAP_MCAST_LEAVE);
  assert_int_equal(ev[0].addr[3], 1);
  assert_int_equal(t.stats.timeouts, 1);
  assert_int_equal(tap_mcast_table_count(&t), 0);
  /* Without the refresh: gone exactly 260 s after the join. */
  uint64_t t1 = t0 + 1000 * S;
  tap_mcast_table_apply(&t, &j, 1, t1);
  assert_int_equal(drain(&t, t1, ev, 4), 1);
  assert_int_equal(tap_mcast_table_deadline(&t) <= t1 + TAP_MCAST_GMI, true);
  assert_int_equal(drain(&t, t1 + TAP_MCAST_GMI - 1, ev, 4), 0);
  assert_int_equal(drain(&t, t1 + TAP_MCAST_GMI, ev, 4), 1);
  assert_int_equal(ev[0].op, TAP_MCAST_LEAVE);
  /* Explicit leave: "left" at once. */
  tap_mcast_table_apply(&t, &j, 1, t1 + 300 * S);
  assert_int_equal(drain(&t, t1 + 300 * S, ev, 4), 1);
  struct tap_mcast_rec l = rec4(TAP_MCAST_LEAVE, 1);
  tap_mcast_table_apply(&t, &l, 1, t1 + 301 * S);
  assert_int_equal(drain(&t, t1 + 301 * S, ev, 4), 1);
  assert_int_equal(ev[0].op, TAP_MCAST_LEAVE);
  assert_int_equal(t.stats.timeouts, 2);
  assert_int_equal(t.stats.joins, 3);
  assert_int_equal(t.stats.leaves, 3);
  /* A leave of a group never joined: nothing. */
  l = rec4(TAP_MCAST_LEAVE, 77);
  tap_mcast_table_apply(&t, &l, 1, t1 + 302 * S);
  assert_int_equal(drain(&t, t1 + 302 * S, ev, 4), 0);
}

static void test_table_level_triggered(void **state) {
  (void)state;
  static struct tap_mcast_table t;
  struct tap_mcast_rec ev[4];
  tap_mcast_table_init(&t, true, false, 0);
  /* Join then leave before the node asks: nothing to tell, slot free. */
  struct tap_mcast_rec jl[2] = {rec4(TAP_MCAST_JOIN, 5), rec4(TAP_MCAST_LEAVE, 5)};
  tap_mcast_table_apply(&t, jl, 2, S);
  assert_int_equal(drain(&t, S, ev, 4), 0);
  assert_int_equal(tap_mcast_table_count(&t), 0);
  /* Joined and told; leave then join again before the node asks: nothing. */
  tap_mcast_table_apply(&t, jl, 1, 2 * S);
  assert_int_equal(drain(&t, 2 * S, ev, 4), 1);
  struct tap_mcast_rec lj[2] = {rec4(TAP_MCAST_LEAVE, 5), rec4(TAP_MCAST_JOIN, 5)};
  tap_mcast_table_apply(&t, lj, 2, 3 * S);
  assert_int_equal(drain(&t, 3 * S, ev, 4), 0);
  assert_int_equal(tap_mcast_table_count(&t), 1);
  /* Same address, another VLAN or family: another group. */
  struct tap_mcast_rec v = rec4(TAP_MCAST_JOIN, 5);
  v.n_vlan = 1;
  v.vlan[0].tpid = 0x8100;
  v.vlan[0].tci = 10;
  struct tap_mcast_rec six = {.op = TAP_MCAST_JOIN, .family = 6};
  memcpy(six.addr, (uint8_t[4]){239, 0, 0, 5}, 4);
  struct tap_mcast_rec two[2] = {v, six};
  tap_mcast_table_apply(&t, two, 2, 4 * S);
  assert_int_equal(drain(&t, 4 * S, ev, 4), 2);
  assert_int_equal(ev[0].n_vlan + ev[1].n_vlan, 1);
  assert_int_equal(tap_mcast_table_count(&t), 3);
}

static void test_table_full(void **state) {
  (void)state;
  static struct tap_mcast_table t;
  struct tap_mcast_rec ev[1];
  tap_mcast_table_init(&t, true, true, 0);
  for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++) {
    struct tap_mcast_rec r = rec4(TAP_MCAST_JOIN, (uint8_t)i);
    r.addr[2] = (uint8_t)(i >> 8);
    tap_mcast_table_apply(&t, &r, 1, S);
  }
  assert_int_equal(tap_mcast_table_count(&t), TAP_MCAST_GROUPS_MAX);
  struct tap_mcast_rec extra = rec4(TAP_MCAST_JOIN, 0);
  extra.addr[1] = 9;
  tap_mcast_table_apply(&t, &extra, 1, S);
  assert_int_equal(t.stats.refused_full, 1);
  /* A refresh of a known group still works when full. */
  struct tap_mcast_rec known = rec4(TAP_MCAST_JOIN, 7);
  tap_mcast_table_apply(&t, &known, 1, 2 * S);
  assert_int_equal(t.stats.refused_full, 1);
  int n = 0;
  while (tap_mcast_table_event(&t, 2 * S, ev))
    n++;
  assert_int_equal(n, TAP_MCAST_GROUPS_MAX);
  /* A leave frees a slot once told; then the refused group gets in. */
  struct tap_mcast_rec l = rec4(TAP_MCAST_LEAVE, 7);
  tap_mcast_table_apply(&t, &l, 1, 3 * S);
  tap_mcast_table_apply(&t, &extra, 1, 3 * S);
  assert_int_equal(t.stats.refused_full, 2);   /* slot still owes "left" */
  assert_true(tap_mcast_table_event(&t, 3 * S, ev));
  assert_int_equal(ev[0].op, TAP_MCAST_LEAVE);
  tap_mcast_table_apply(&t, &extra, 1, 3 * S);
  assert_int_equal(t.stats.refused_full, 2);
  assert_true(tap_mcast_table_event(&t, 3 * S, ev));
  assert_int_equal(ev[0].op, TAP_MCAST_JOIN);
  assert_int_equal(ev[0].addr[1], 9);
}

static void test_table_check(void **state) {
  (void)state;
  static struct tap_mcast_table t;
  struct tap_mcast_rec ev[2];
  struct tap_mcast_query q;
  tap_mcast_table_init(&t, true, false, 0);
  while (tap_mcast_table_query(&t, 0, &q))
    ;
  struct tap_mcast_rec j = rec4(TAP_MCAST_JOIN, 3), c = rec4(TAP_MCAST_CHECK, 3);
  tap_mcast_table_apply(&t, &j, 1, S);
  assert_int_equal(drain(&t, S, ev, 2), 1);
  /* BLOCK: two group-specific queries 1 s apart, timer cut to 2 s. */
  tap_mcast_table_apply(&t, &c, 1, 10 * S);
  assert_int_equal(tap_mcast_table_deadline(&t), 10 * S);
  assert_true(tap_mcast_table_query(&t, 10 * S, &q));
  assert_int_equal(q.family, 4);
  assert_int_equal(q.group[0], 239);
  assert_int_equal(q.group[3], 3);
  assert_int_equal(q.max_resp_ms, 1000);
  assert_false(tap_mcast_table_query(&t, 10 * S + 999 * MS, &q));
  assert_true(tap_mcast_table_query(&t, 11 * S, &q));
  assert_false(tap_mcast_table_query(&t, 11 * S + 999 * MS, &q));
  assert_int_equal(drain(&t, 12 * S - 1, ev, 2), 0);
  assert_int_equal(drain(&t, 12 * S, ev, 2), 1);
  assert_int_equal(ev[0].op, TAP_MCAST_LEAVE);
  assert_false(tap_mcast_table_query(&t, 13 * S, &q));
  /* BLOCK answered by a report: stays, queries stop. */
  tap_mcast_table_apply(&t, &j, 1, 20 * S);
  assert_int_equal(drain(&t, 20 * S, ev, 2), 1);
  tap_mcast_table_apply(&t, &c, 1, 30 * S);
  assert_true(tap_mcast_table_query(&t, 30 * S, &q));
  tap_mcast_table_apply(&t, &j, 1, 30 * S + 400 * MS);
  assert_false(tap_mcast_table_query(&t, 31 * S, &q));
  assert_int_equal(drain(&t, 33 * S, ev, 2), 0);
  /* A check of a group not joined: nothing. */
  struct tap_mcast_rec c2 = rec4(TAP_MCAST_CHECK, 99);
  tap_mcast_table_apply(&t, &c2, 1, 31 * S);
  assert_false(tap_mcast_table_query(&t, 31 * S, &q));
  assert_int_equal(tap_mcast_table_count(&t), 1);
}

static void test_query_schedule(void **state) {
  (void)state;
  static struct tap_mcast_table t;
  struct tap_mcast_query q;
  uint64_t t0 = 5 * S;
  tap_mcast_table_init(&t, true, true, t0);
  assert_int_equal(tap_mcast_table_deadline(&t), t0);
  assert_false(tap_mcast_table_query(&t, t0 - 1, &q));
  /* Startup: at t0 and t0 + 31.25 s, one per family, general, 10 s. */
  uint64_t at[] = {t0, t0 + TAP_MCAST_SQI, t0 + TAP_MCAST_SQI + TAP_MCAST_QI,
                   t0 + TAP_MCAST_SQI + 2 * TAP_MCAST_QI};
  assert_int_equal(TAP_MCAST_SQI, 31250 * MS);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(tap_mcast_table_deadline(&t), at[i]);
    assert_false(tap_mcast_table_query(&t, at[i] - 1, &q));
    int fams = 0;
    while (tap_mcast_table_query(&t, at[i], &q)) {
      static const uint8_t zero[16];
      assert_memory_equal(q.group, zero, 16);
      assert_int_equal(q.max_resp_ms, 10000);
      assert_int_equal(q.n_vlan, 0);
      fams |= q.family;
    }
    assert_int_equal(fams, 4 | 6);
  }
  assert_int_equal(t.stats.queries, 8);
  /* Called late (the node slept 1000 s): one query each, not a burst, and
   * the next one a full interval later. */
  uint64_t late = at[3] + 1000 * S;
  int n = 0;
  while (tap_mcast_table_query(&t, late, &q))
    n++;
  assert_int_equal(n, 2);
  assert_int_equal(tap_mcast_table_deadline(&t), late + TAP_MCAST_QI);
  /* Groups in VLAN 10 and in QinQ 10/11: one more general query per tag
   * stack and family, carrying the tags. */
  struct tap_mcast_rec r[3] = {rec4(TAP_MCAST_JOIN, 1), rec4(TAP_MCAST_JOIN, 2),
                               rec4(TAP_MCAST_JOIN, 3)};
  r[0].n_vlan = r[1].n_vlan = 1;
  r[0].vlan[0] = r[1].vlan[0] = (struct tap_vlan){0x8100, 10};
  r[2].n_vlan = 2;
  r[2].vlan[0] = (struct tap_vlan){0x88a8, 10};
  r[2].vlan[1] = (struct tap_vlan){0x8100, 11};
  tap_mcast_table_apply(&t, r, 3, late + S);
  uint64_t next = late + TAP_MCAST_QI;
  int tagged1 = 0, tagged2 = 0, untagged = 0;
  while (tap_mcast_table_query(&t, next, &q)) {
    if (q.n_vlan == 0)
      untagged++;
    else if (q.n_vlan == 1 && q.vlan[0].tci == 10 && q.family == 4)
      tagged1++;
    else if (q.n_vlan == 2 && q.vlan[1].tci == 11 && q.family == 4)
      tagged2++;
    else
      fail_msg("unexpected query");
  }
  assert_int_equal(untagged, 2);
  assert_int_equal(tagged1, 1);
  assert_int_equal(tagged2, 1);
  /* Only IPv6 on: no IPv4 queries. */
  tap_mcast_table_init(&t, false, true, 0);
  n = 0;
  while (tap_mcast_table_query(&t, 0, &q)) {
    assert_int_equal(q.family, 6);
    n++;
  }
  assert_int_equal(n, 1);
}

/* --- query frames --- */

static void test_query_frames(void **state) {
  (void)state;
  uint8_t f[200];
  struct tap_frame_info fi;
  struct tap_mcast_rec r[2];
  struct tap_mcast_query q = {.family = 4, .max_resp_ms = 10000};
  /* IGMPv3 general query, untagged, source 0.0.0.0. */
  int n = tap_mcast_query_build(&q, HOST_MAC, 0, LL, f, sizeof(f));
  assert_int_equal(n, 14 + 24 + 12);
  assert_int_equal(tap_frame_classify(f, (size_t)n, &fi), 0);
  assert_true(fi.ipv4);
  assert_int_equal(fi.dst_kind, TAP_DST_MULTICAST);
  assert_memory_equal(fi.dst, ((uint8_t[6]){0x01, 0x00, 0x5e, 0, 0, 1}), 6);
  assert_memory_equal(fi.src, HOST_MAC, 6);
  assert_int_equal(fi.ipv4_dst, 0xe0000001);
  assert_int_equal(fi.ipv4_src, 0);
  assert_int_equal(fi.ip_proto, 2);
  const uint8_t *ip = f + fi.l3_off;
  assert_int_equal(ip[0], 0x46);
  assert_int_equal(ip[8], 1);                        /* TTL */
  assert_memory_equal(ip + 20, ((uint8_t[4]){0x94, 0x04, 0, 0}), 4);
  assert_int_equal(cksum(ip, 24, 0), 0);
  const uint8_t *g = ip + 24;
  assert_int_equal(cksum(g, 12, 0), 0);
  assert_int_equal(g[0], 0x11);
  assert_int_equal(g[1], 100);                       /* 10 s */
  assert_memory_equal(g + 4, ((uint8_t[4]){0, 0, 0, 0}), 4);
  assert_int_equal(g[8], 2);                         /* QRV */
  assert_int_equal(g[9], 125);                       /* QQIC */
  assert_int_equal(g[10] << 8 | g[11], 0);
  assert_int_equal(tap_mcast_parse(f, (size_t)n, r, 2), 0); /* a query: no membership */
  /* Group-specific, VLAN 10, source 100.64.0.1. */
  q.group[0] = 239, q.group[1] = 129, q.group[2] = 2, q.group[3] = 3;
  q.max_resp_ms = 1000;
  q.n_vlan = 1;
  q.vlan[0] = (struct tap_vlan){0x8100, 10};
  n = tap_mcast_query_build(&q, HOST_MAC, 0x64400001, LL, f, sizeof(f));
  assert_int_equal(n, 18 + 36);
  assert_int_equal(tap_frame_classify(f, (size_t)n, &fi), 0);
  assert_int_equal(fi.n_vlan, 1);
  assert_int_equal(fi.vlan[0].tci, 10);
  assert_memory_equal(fi.dst, ((uint8_t[6]){0x01, 0x00, 0x5e, 1, 2, 3}), 6); /* 23 bits */
  assert_int_equal(fi.ipv4_dst, 0xef810203);
  assert_int_equal(fi.ipv4_src, 0x64400001);
  ip = f + fi.l3_off;
  assert_int_equal(cksum(ip, 24, 0), 0);
  assert_int_equal(cksum(ip + 24, 12, 0), 0);
  assert_int_equal(ip[24 + 1], 10);
  assert_memory_equal(ip + 28, q.group, 4);
  /* Too small a buffer. */
  assert_int_equal(tap_mcast_query_build(&q, HOST_MAC, 0, LL, f, (size_t)n - 1), RL_ETOOBIG);

  /* MLDv2 general query. */
  struct tap_mcast_query q6 = {.family = 6, .max_resp_ms = 10000};
  n = tap_mcast_query_build(&q6, HOST_MAC, 0, LL, f, sizeof(f));
  assert_int_equal(n, 14 + 40 + 8 + 28);
  assert_int_equal(tap_frame_classify(f, (size_t)n, &fi), 0);
  assert_true(fi.ipv6);
  assert_false(fi.l4_cut);
  assert_true(fi.icmp);
  assert_int_equal(fi.ip_proto, 58);
  assert_int_equal(fi.icmp_type, 130);
  assert_memory_equal(fi.dst, ((uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}), 6);
  assert_memory_equal(fi.ipv6_src, LL, 16);
  static const uint8_t all_nodes[16] = {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  assert_memory_equal(fi.ipv6_dst, all_nodes, 16);
  ip = f + fi.l3_off;
  assert_int_equal(ip[7], 1);                                   /* hop limit */
  assert_memory_equal(ip + 40, ((uint8_t[8]){58, 0, 5, 2, 0, 0, 1, 0}), 8);
  const uint8_t *m = ip + 48;
  assert_int_equal(cksum(m, 28, pseudo6(LL, all_nodes, 28)), 0);
  assert_int_equal(m[4] << 8 | m[5], 10000);
  assert_int_equal(m[24], 2);
  assert_int_equal(m[25], 125);
  assert_int_equal(tap_mcast_parse(f, (size_t)n, r, 2), 0);
  /* MLDv2 group-specific, QinQ. */
  static const uint8_t grp6[16] = {0xff, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa1, 0xb2,
                                   0xc3, 0xd4};
  memcpy(q6.group, grp6, 16);
  q6.max_resp_ms = 1000;
  q6.n_vlan = 2;
  q6.vlan[0] = (struct tap_vlan){0x88a8, 10};
  q6.vlan[1] = (struct tap_vlan){0x8100, 11};
  n = tap_mcast_query_build(&q6, HOST_MAC, 0, LL, f, sizeof(f));
  assert_int_equal(n, 22 + 76);
  assert_int_equal(tap_frame_classify(f, (size_t)n, &fi), 0);
  assert_int_equal(fi.n_vlan, 2);
  assert_memory_equal(fi.dst, ((uint8_t[6]){0x33, 0x33, 0xa1, 0xb2, 0xc3, 0xd4}), 6);
  assert_memory_equal(fi.ipv6_dst, grp6, 16);
  m = f + fi.l3_off + 48;
  assert_int_equal(cksum(m, 28, pseudo6(LL, grp6, 28)), 0);
  assert_memory_equal(m + 8, grp6, 16);
  assert_int_equal(m[4] << 8 | m[5], 1000);
  /* Refused: bad family, group not multicast, three tags. */
  q6.family = 5;
  assert_int_equal(tap_mcast_query_build(&q6, HOST_MAC, 0, LL, f, sizeof(f)), RL_EINVAL);
  q6.family = 6;
  q6.group[0] = 0xfd;
  assert_int_equal(tap_mcast_query_build(&q6, HOST_MAC, 0, LL, f, sizeof(f)), RL_EINVAL);
  q6.group[0] = 0xff;
  q6.n_vlan = 3;
  assert_int_equal(tap_mcast_query_build(&q6, HOST_MAC, 0, LL, f, sizeof(f)), RL_EINVAL);
}

/* IGMP and MLD, queries and reports: the node's own business. */
static void test_control(void **state) {
  (void)state;
  uint8_t msg[24], f[200];
  struct tap_frame_info fi;
  static const uint8_t types4[] = {0x11, 0x12, 0x16, 0x17, 0x22, 0x13};
  for (size_t i = 0; i < sizeof(types4); i++) {
    igmp12(msg, types4[i], 239, 1, 2, 3);
    size_t len = igmp_frame(f, 1, msg, 8);
    assert_int_equal(tap_frame_classify(f, len, &fi), 0);
    assert_true(tap_mcast_control(&fi));
    f[18 + 9] = 17;                                  /* UDP instead */
    assert_int_equal(tap_frame_classify(f, len, &fi), 0);
    assert_false(tap_mcast_control(&fi));
  }
  static const uint8_t g[16] = {0xff, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static const struct {
    uint8_t type;
    bool control;
  } t6[] = {{130, true}, {131, true}, {132, true}, {143, true}, {128, false}, {135, false},
            {1, false}};
  for (size_t i = 0; i < sizeof(t6) / sizeof(t6[0]); i++) {
    mld1(msg, t6[i].type, g);
    size_t len = mld_frame(f, 0, LL, msg, 24);
    assert_int_equal(tap_frame_classify(f, len, &fi), 0);
    assert_int_equal(tap_mcast_control(&fi), t6[i].control);
  }
  /* The querier's own frames are control frames too. */
  struct tap_mcast_query q = {.family = 6, .max_resp_ms = 10000};
  int n = tap_mcast_query_build(&q, HOST_MAC, 0, LL, f, sizeof(f));
  assert_int_equal(tap_frame_classify(f, (size_t)n, &fi), 0);
  assert_true(tap_mcast_control(&fi));
  q.family = 4;
  n = tap_mcast_query_build(&q, HOST_MAC, 0, LL, f, sizeof(f));
  assert_int_equal(tap_frame_classify(f, (size_t)n, &fi), 0);
  assert_true(tap_mcast_control(&fi));
}

/* Reports through the parser into the table, as the node will do it. */
static void test_parse_into_table(void **state) {
  (void)state;
  static struct tap_mcast_table t;
  uint8_t msg[600], f[700];
  struct tap_mcast_rec r[16], ev[16];
  tap_mcast_table_init(&t, true, true, 0);
  size_t len = mld_frame(f, 0, LL, msg, v3_report(msg, true));
  int n = tap_mcast_parse(f, len, r, 16);
  assert_int_equal(n, 9);
  tap_mcast_table_apply(&t, r, (size_t)n, S);
  /* Joins of groups 2, 3, 4, 6, 7, 8; the leaves and the check (10) hit
   * groups the table does not hold. */
  int k = drain(&t, S, ev, 16);
  assert_int_equal(k, 6);
  for (int i = 0; i < k; i++) {
    assert_int_equal(ev[i].op, TAP_MCAST_JOIN);
    assert_int_equal(ev[i].family, 6);
  }
  /* An MLDv1 done for group ff0e::2: left. */
  uint8_t g[16] = {0xff, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  mld1(msg, 132, g);
  len = mld_frame(f, 0, LL, msg, 24);
  n = tap_mcast_parse(f, len, r, 16);
  assert_int_equal(n, 1);
  tap_mcast_table_apply(&t, r, 1, 2 * S);
  assert_int_equal(drain(&t, 2 * S, ev, 16), 1);
  assert_int_equal(ev[0].op, TAP_MCAST_LEAVE);
  assert_memory_equal(ev[0].addr, g, 16);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_igmp_v1_v2),
      cmocka_unit_test(test_igmp_bad),
      cmocka_unit_test(test_igmp_other_types),
      cmocka_unit_test(test_link_local_groups),
      cmocka_unit_test(test_igmpv3),
      cmocka_unit_test(test_mld),
      cmocka_unit_test(test_mldv2),
      cmocka_unit_test(test_table_timers),
      cmocka_unit_test(test_table_level_triggered),
      cmocka_unit_test(test_table_full),
      cmocka_unit_test(test_table_check),
      cmocka_unit_test(test_query_schedule),
      cmocka_unit_test(test_query_frames),
      cmocka_unit_test(test_control),
      cmocka_unit_test(test_parse_into_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
