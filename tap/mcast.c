/* IGMP / MLD membership reports of the local host, and the querier's query
 * frames. Pure functions over untrusted bytes, parsed with util/wire.h. */
#include <ringlan/error.h>
#include <string.h>

#include "tap/mcast.h"
#include "util/wire.h"

/* Internet checksum (RFC 1071): the ones' complement sum, 16-bit words,
 * big-endian, an odd last byte padded with zero. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2)
    sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1)
    sum += (uint32_t)p[n - 1] << 8;
  return sum;
}

static uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/* ICMPv6 pseudo-header (RFC 8200 8.1): source, destination, upper-layer
 * length (32 bits), three zero bytes, next header 58. */
static uint32_t csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], size_t len) {
  uint8_t tail[8] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                     (uint8_t)len, 0, 0, 0, TAP_IPPROTO_ICMPV6};
  uint32_t s = csum_add(0, src, 16);
  s = csum_add(s, dst, 16);
  return csum_add(s, tail, sizeof(tail));
}

bool tap_mcast_link_scope(uint8_t family, const uint8_t addr[TAP_IPV6_LEN]) {
  if (family == 4)
    return addr[0] == 224 && addr[1] == 0 && addr[2] == 0;
  return (addr[1] & 0x0f) <= 2;         /* scope 0 reserved, 1 interface, 2 link */
}

bool tap_mcast_control(const struct tap_frame_info *fi) {
  if (fi->ipv4)
    return fi->ip_proto == TAP_IPPROTO_IGMP;
  if (fi->ipv6 && fi->icmp && fi->ip_proto == TAP_IPPROTO_ICMPV6)
    return fi->icmp_type == TAP_ICMP6_MLD_QUERY || fi->icmp_type == TAP_ICMP6_MLD_REPORT ||
           fi->icmp_type == TAP_ICMP6_MLD_DONE || fi->icmp_type == TAP_ICMP6_MLD2_REPORT;
  return false;
}

static bool is_multicast(uint8_t family, const uint8_t *a) {
  return family == 4 ? (a[0] & 0xf0) == 0xe0 : a[0] == 0xff;
}

/* Collects records: counts every one, writes those that fit. */
struct sink {
  const struct tap_frame_info *fi;
  struct tap_mcast_rec *recs;
  size_t cap;
  size_t n;
};

static void emit(struct sink *s, uint8_t family, const uint8_t *addr, uint8_t op) {
  if (tap_mcast_link_scope(family, addr))
    return;
  if (s->n < s->cap) {
    struct tap_mcast_rec *r = &s->recs[s->n];
    memset(r, 0, sizeof(*r));
    r->op = op;
    r->family = family;
    memcpy(r->addr, addr, family == 4 ? 4 : TAP_IPV6_LEN);
    r->n_vlan = s->fi->n_vlan;
    for (unsigned i = 0; i < s->fi->n_vlan && i < TAP_MAX_VLAN; i++) {
      r->vlan[i].tpid = s->fi->vlan[i].tpid;
      r->vlan[i].tci = s->fi->vlan[i].tci & 0x0fff;
    }
  }
  s->n++;
}

/* Group records of an IGMPv3 / MLDv2 report (same layout, address size
 * alen): type(1) aux words(1) n sources(2) group(alen) sources aux.
 * Two passes: validate everything, then emit, so an error writes nothing. */
static int v3_records(struct wire_r *r, uint16_t nrec, uint8_t family, struct sink *s) {
  size_t alen = family == 4 ? 4 : TAP_IPV6_LEN;
  struct wire_r start = *r;
  for (int pass = 0; pass < 2; pass++) {
    *r = start;
    for (unsigned i = 0; i < nrec; i++) {
      uint8_t type = wire_get_u8(r);
      uint8_t aux = wire_get_u8(r);
      uint16_t nsrc = wire_get_u16be(r);
      const uint8_t *grp = wire_get_ptr(r, alen);
      wire_get_ptr(r, (size_t)nsrc * alen + (size_t)aux * 4);
      if (!wire_ok(r))
        return RL_ETRUNC;
      if (!is_multicast(family, grp))
        return RL_EPARSE;
      if (pass == 0)
        continue;
      switch (type) {
      case TAP_MCAST_IS_EX:
      case TAP_MCAST_TO_EX:
        emit(s, family, grp, TAP_MCAST_JOIN);
        break;
      case TAP_MCAST_IS_IN:
      case TAP_MCAST_TO_IN:
        emit(s, family, grp, nsrc ? TAP_MCAST_JOIN : TAP_MCAST_LEAVE);
        break;
      case TAP_MCAST_ALLOW:
        if (nsrc)
          emit(s, family, grp, TAP_MCAST_JOIN);
        break;
      case TAP_MCAST_BLOCK:
        if (nsrc)
          emit(s, family, grp, TAP_MCAST_CHECK);
        break;
      default:                          /* unknown: ignored, RFC 3376 4.2.12 */
        break;
      }
    }
  }
  return 0;
}

static int parse_igmp(const uint8_t *ip, size_t avail, struct sink *s) {
  /* Protocol (byte 9) first: a cut header is only an error for IGMP. */
  if (avail < 10 || ip[0] >> 4 != 4 || ip[9] != TAP_IPPROTO_IGMP)
    return 0;
  if (avail < TAP_IPV4_HDR)
    return RL_ETRUNC;
  size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
  size_t total = (size_t)ip[2] << 8 | ip[3];
  uint16_t frag = (uint16_t)(ip[6] << 8 | ip[7]);
  if (ihl < TAP_IPV4_HDR || total < ihl)
    return RL_EPARSE;
  if (total > avail)
    return RL_ETRUNC;
  if (csum_fold(csum_add(0, ip, ihl)) != 0)
    return RL_EPARSE;
  if (frag & 0x3fff)                    /* MF or an offset: IGMP is never fragmented */
    return RL_EPARSE;
  const uint8_t *m = ip + ihl;
  size_t mlen = total - ihl;
  if (mlen < 8)
    return RL_ETRUNC;
  if (csum_fold(csum_add(0, m, mlen)) != 0)
    return RL_EPARSE;
  uint8_t type = m[0];
  const uint8_t *grp = m + 4;
  switch (type) {
  case TAP_IGMP_V1_REPORT:
  case TAP_IGMP_V2_REPORT:
  case TAP_IGMP_V2_LEAVE:
    if (!is_multicast(4, grp))
      return RL_EPARSE;
    emit(s, 4, grp, type == TAP_IGMP_V2_LEAVE ? TAP_MCAST_LEAVE : TAP_MCAST_JOIN);
    return 0;
  case TAP_IGMP_V3_REPORT: {
    struct wire_r r;
    wire_r_init(&r, m + 6, mlen - 6);
    uint16_t nrec = wire_get_u16be(&r);
    return v3_records(&r, nrec, 4, s);
  }
  default:                              /* queries and others: no membership */
    return 0;
  }
}

static bool v6_link_local_or_any(const uint8_t a[16]) {
  static const uint8_t any[16];
  return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || !memcmp(a, any, 16);
}

static int parse_mld(const uint8_t *ip, size_t avail, struct sink *s) {
  /* Next header (byte 6) first: a cut header is only an error when it
   * could be MLD (ICMPv6, or hop-by-hop / destination options before it). */
  if (avail < 7 || ip[0] >> 4 != 6)
    return 0;
  uint8_t nh = ip[6];
  if (nh != 0 && nh != 60 && nh != TAP_IPPROTO_ICMPV6)
    return 0;
  if (avail < TAP_IPV6_HDR)
    return RL_ETRUNC;
  size_t plen = (size_t)ip[4] << 8 | ip[5];
  const uint8_t *src = ip + 8, *dst = ip + 24;
  if (plen > avail - TAP_IPV6_HDR)
    return RL_ETRUNC;
  struct wire_r r;
  wire_r_init(&r, ip + TAP_IPV6_HDR, plen);
  /* Hop-by-hop (first only) and destination options, 8-byte units; the
   * chain is at most TAP_IPV6_EXT_MAX long. */
  for (unsigned i = 0; nh == 0 || nh == 60; i++) {
    if (i == TAP_IPV6_EXT_MAX || (nh == 0 && i > 0))
      return RL_EPARSE;
    uint8_t next = wire_get_u8(&r);
    uint8_t hlen = wire_get_u8(&r);
    wire_get_ptr(&r, ((size_t)hlen + 1) * 8 - 2);
    if (!wire_ok(&r))
      return RL_ETRUNC;
    nh = next;
  }
  if (nh != TAP_IPPROTO_ICMPV6)         /* routing, fragment, AH, others: no MLD */
    return 0;
  size_t mlen = wire_left(&r);
  const uint8_t *m = r.p + r.off;
  if (mlen < 1)
    return RL_ETRUNC;
  uint8_t type = m[0];
  if (type != TAP_ICMP6_MLD_REPORT && type != TAP_ICMP6_MLD_DONE &&
      type != TAP_ICMP6_MLD2_REPORT)
    return 0;
  if (mlen < (type == TAP_ICMP6_MLD2_REPORT ? 8u : 24u))
    return RL_ETRUNC;
  if (csum_fold(csum_add(csum_pseudo6(src, dst, mlen), m, mlen)) != 0)
    return RL_EPARSE;
  if (!v6_link_local_or_any(src))
    return RL_EPARSE;
  if (type == TAP_ICMP6_MLD2_REPORT) {
    wire_r_init(&r, m + 6, mlen - 6);
    uint16_t nrec = wire_get_u16be(&r);
    return v3_records(&r, nrec, 6, s);
  }
  const uint8_t *grp = m + 8;
  if (!is_multicast(6, grp))
    return RL_EPARSE;
  emit(s, 6, grp, type == TAP_ICMP6_MLD_DONE ? TAP_MCAST_LEAVE : TAP_MCAST_JOIN);
  return 0;
}

int tap_mcast_parse(const uint8_t *frame, size_t len, struct tap_mcast_rec *recs, size_t cap) {
  struct tap_frame_info fi;
  int rc = tap_frame_classify(frame, len, &fi);
  if (rc)
    return rc;
  struct sink s = {&fi, recs, cap, 0};
  if (fi.ethertype == TAP_ETHERTYPE_IPV4)
    rc = parse_igmp(frame + fi.l3_off, len - fi.l3_off, &s);
  else if (fi.ethertype == TAP_ETHERTYPE_IPV6)
    rc = parse_mld(frame + fi.l3_off, len - fi.l3_off, &s);
  if (rc)
    return rc;
  return (int)s.n;
}

/* --- query frames --- */

int tap_mcast_query_build(const struct tap_mcast_query *q, const uint8_t mac[TAP_MAC_LEN],
                          uint32_t src_ipv4, const uint8_t src_ipv6[TAP_IPV6_LEN],
                          uint8_t *out, size_t cap) {
  static const uint8_t zero[TAP_IPV6_LEN];
  bool general = !memcmp(q->group, zero, TAP_IPV6_LEN);
  if ((q->family != 4 && q->family != 6) || q->n_vlan > TAP_MAX_VLAN)
    return RL_EINVAL;
  if (!general && !is_multicast(q->family, q->group))
    return RL_EINVAL;
  struct wire_w w;
  wire_w_init(&w, out, cap);
  uint8_t dmac[TAP_MAC_LEN];
  uint8_t dst[TAP_IPV6_LEN] = {0};
  if (q->family == 4) {
    if (general) {
      dst[0] = 224;
      dst[3] = 1;                       /* all systems */
    } else {
      memcpy(dst, q->group, 4);
    }
    dmac[0] = 0x01, dmac[1] = 0x00, dmac[2] = 0x5e;
    dmac[3] = dst[1] & 0x7f, dmac[4] = dst[2], dmac[5] = dst[3];
  } else {
    if (general) {
      dst[0] = 0xff, dst[1] = 0x02, dst[15] = 1;  /* all nodes */
    } else {
      memcpy(dst, q->group, TAP_IPV6_LEN);
    }
    dmac[0] = 0x33, dmac[1] = 0x33;
    memcpy(dmac + 2, dst + 12, 4);
  }
  wire_put_bytes(&w, dmac, TAP_MAC_LEN);
  wire_put_bytes(&w, mac, TAP_MAC_LEN);
  for (unsigned i = 0; i < q->n_vlan; i++) {
    wire_put_u16be(&w, q->vlan[i].tpid);
    wire_put_u16be(&w, q->vlan[i].tci);
  }
  if (q->family == 4) {
    wire_put_u16be(&w, TAP_ETHERTYPE_IPV4);
    uint8_t *ip = wire_put_ptr(&w, 24 + 12);
    if (!ip)
      return RL_ETOOBIG;
    /* Max Resp Code in tenths of a second; below 128 it is the value. */
    uint32_t mrc = q->max_resp_ms / 100;
    if (mrc > 127)
      mrc = 127;
    uint8_t *g = ip + 24;
    memset(ip, 0, 36);
    ip[0] = 0x46;                       /* version 4, IHL 6: Router Alert */
    ip[1] = 0xc0;                       /* internetwork control */
    ip[3] = 36;
    ip[8] = 1;                          /* TTL */
    ip[9] = TAP_IPPROTO_IGMP;
    ip[12] = (uint8_t)(src_ipv4 >> 24), ip[13] = (uint8_t)(src_ipv4 >> 16);
    ip[14] = (uint8_t)(src_ipv4 >> 8), ip[15] = (uint8_t)src_ipv4;
    memcpy(ip + 16, dst, 4);
    ip[20] = 0x94, ip[21] = 0x04;       /* Router Alert, value 0 */
    uint16_t c = csum_fold(csum_add(0, ip, 24));
    ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
    g[0] = TAP_IGMP_QUERY;
    g[1] = (uint8_t)mrc;
    if (!general)
      memcpy(g + 4, q->group, 4);
    g[8] = TAP_MCAST_ROBUSTNESS;        /* S 0, QRV */
    g[9] = TAP_MCAST_QI_S;              /* QQIC: below 128 it is the value */
    c = csum_fold(csum_add(0, g, 12));
    g[2] = (uint8_t)(c >> 8), g[3] = (uint8_t)c;
  } else {
    wire_put_u16be(&w, TAP_ETHERTYPE_IPV6);
    uint8_t *ip = wire_put_ptr(&w, 40 + 8 + 28);
    if (!ip)
      return RL_ETOOBIG;
    /* Maximum Response Code in milliseconds; below 32768 it is the value. */
    uint32_t mrc = q->max_resp_ms > 32767 ? 32767 : q->max_resp_ms;
    uint8_t *m = ip + 48;
    memset(ip, 0, 76);
    ip[0] = 0x60;
    ip[5] = 8 + 28;                     /* payload length */
    ip[6] = 0;                          /* hop-by-hop */
    ip[7] = 1;                          /* hop limit */
    memcpy(ip + 8, src_ipv6, TAP_IPV6_LEN);
    memcpy(ip + 24, dst, TAP_IPV6_LEN);
    ip[40] = TAP_IPPROTO_ICMPV6;
    ip[41] = 0;                         /* 8 bytes */
    ip[42] = 5, ip[43] = 2;             /* Router Alert, value 0: MLD */
    ip[46] = 1, ip[47] = 0;             /* PadN, 2 bytes */
    m[0] = TAP_ICMP6_MLD_QUERY;
    m[4] = (uint8_t)(mrc >> 8), m[5] = (uint8_t)mrc;
    if (!general)
      memcpy(m + 8, q->group, TAP_IPV6_LEN);
    m[24] = TAP_MCAST_ROBUSTNESS;       /* S 0, QRV */
    m[25] = TAP_MCAST_QI_S;             /* QQIC */
    uint16_t c = csum_fold(csum_add(csum_pseudo6(src_ipv6, dst, 28), m, 28));
    m[2] = (uint8_t)(c >> 8), m[3] = (uint8_t)c;
  }
  if (w.err)
    return RL_ETOOBIG;
  return (int)w.off;
}
