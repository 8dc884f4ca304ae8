/* Ethernet frame logic: MAC from overlay ID, classification, ARP replies,
 * TAP MTU. Pure functions over untrusted bytes, parsed with util/wire.h. */
#include <ringlan/error.h>
#include <stdio.h>
#include <string.h>

#include "crypto/dc.h"
#include "tap/tap.h"
#include "util/wire.h"

void tap_mac_from_id(const uint8_t id[20], uint8_t mac[TAP_MAC_LEN]) {
  /* Bit 1 of byte 0 = locally administered (never collides with vendor
   * MACs), bit 0 = group; cleared so the address is unicast. */
  mac[0] = (uint8_t)((id[0] & 0xfc) | 0x02);
  memcpy(mac + 1, id + 1, TAP_MAC_LEN - 1);
}

void tap_ipv6_link_local(const uint8_t mac[TAP_MAC_LEN], uint8_t out[TAP_IPV6_LEN]) {
  memset(out, 0, TAP_IPV6_LEN);
  out[0] = 0xfe;
  out[1] = 0x80;
  out[8] = mac[0] ^ 0x02;              /* the universal/local bit, inverted */
  out[9] = mac[1];
  out[10] = mac[2];
  out[11] = 0xff;
  out[12] = 0xfe;
  out[13] = mac[3];
  out[14] = mac[4];
  out[15] = mac[5];
}

char *tap_mac_format(const uint8_t mac[TAP_MAC_LEN], char *out, size_t cap) {
  snprintf(out, cap, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
           mac[4], mac[5]);
  return out;
}

static const uint8_t BROADCAST[TAP_MAC_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* Ethernet/IPv4 ARP body: htype 1, ptype 0x0800, hlen 6, plen 4. Other
 * hardware/protocol combinations are left unparsed (info->arp false). */
static void parse_arp(struct wire_r *r, struct tap_frame_info *info) {
  uint16_t htype = wire_get_u16be(r);
  uint16_t ptype = wire_get_u16be(r);
  uint8_t hlen = wire_get_u8(r);
  uint8_t plen = wire_get_u8(r);
  uint16_t op = wire_get_u16be(r);
  wire_get_bytes(r, info->arp_sha, TAP_MAC_LEN);
  uint32_t spa = wire_get_u32be(r);
  wire_get_bytes(r, info->arp_tha, TAP_MAC_LEN);
  uint32_t tpa = wire_get_u32be(r);
  if (!wire_ok(r) || htype != 1 || ptype != TAP_ETHERTYPE_IPV4 || hlen != 6 || plen != 4) {
    memset(info->arp_sha, 0, TAP_MAC_LEN);
    memset(info->arp_tha, 0, TAP_MAC_LEN);
    return;
  }
  info->arp = true;
  info->arp_op = op;
  info->arp_spa = spa;
  info->arp_tpa = tpa;
}

/* UDP ports or ICMP type/code of the upper-layer header in r (the rest of
 * the IP packet, first fragment or whole). icmp_proto: ICMP's protocol
 * number in this IP version (1 in IPv4, 58 in IPv6; the other one means
 * nothing to the receiver). A cut header sets l4_cut. */
static void parse_l4(struct wire_r *r, struct tap_frame_info *info, uint8_t icmp_proto) {
  if (info->ip_proto == TAP_IPPROTO_UDP) {
    info->udp_sport = wire_get_u16be(r);
    info->udp_dport = wire_get_u16be(r);
    wire_get_ptr(r, 4);                /* length, checksum */
    info->udp = wire_ok(r);
  } else if (info->ip_proto == icmp_proto) {
    info->icmp_type = wire_get_u8(r);
    info->icmp_code = wire_get_u8(r);
    wire_get_ptr(r, 2);                /* checksum */
    info->icmp = wire_ok(r);
  } else {
    return;
  }
  if (!wire_ok(r)) {
    info->l4_cut = true;
    info->udp_sport = info->udp_dport = 0;
    info->icmp_type = info->icmp_code = 0;
  }
}

/* Only the addresses are needed for routing; the header must be a
 * plausible IPv4 header so garbage is not routed as IP. The upper-layer
 * header (after the options) is read for the LAN's source policy. */
static void parse_ipv4(struct wire_r *r, struct tap_frame_info *info) {
  size_t avail = wire_left(r);
  const uint8_t *pkt = r->p + r->off;
  uint8_t vihl = wire_get_u8(r);
  wire_get_u8(r);                      /* DSCP/ECN */
  uint16_t total = wire_get_u16be(r);
  wire_get_u16be(r);                   /* id */
  uint16_t frag = wire_get_u16be(r);   /* flags(3) offset(13) */
  wire_get_u8(r);                      /* ttl */
  uint8_t proto = wire_get_u8(r);
  wire_get_u16be(r);                   /* checksum */
  uint32_t src = wire_get_u32be(r);
  uint32_t dst = wire_get_u32be(r);
  size_t ihl = (size_t)(vihl & 0x0f) * 4;
  if (!wire_ok(r) || vihl >> 4 != 4 || ihl < 20 || total < ihl || total > avail)
    return;
  info->ipv4 = true;
  info->ipv4_src = src;
  info->ipv4_dst = dst;
  info->ip_proto = proto;
  if (frag & 0x1fff) {
    info->frag_later = true;
    return;
  }
  struct wire_r l4;
  wire_r_init(&l4, pkt + ihl, total - ihl);
  parse_l4(&l4, info, TAP_IPPROTO_ICMP);
}

/* A link-layer address option (RFC 4861 4.6.1): the first six bytes count
 * (an Ethernet receiver reads no more); a second option of the same kind
 * that disagrees with the first makes the message ambiguous. */
static void nd_lladdr(struct tap_frame_info *info, const uint8_t *opt, bool *has,
                      uint8_t mac[TAP_MAC_LEN]) {
  if (*has && memcmp(mac, opt, TAP_MAC_LEN) != 0)
    info->nd_bad = true;
  if (!*has)
    memcpy(mac, opt, TAP_MAC_LEN);
  *has = true;
}

/* Neighbour discovery body after the ICMPv6 header: the fixed part (with
 * the target for NS, NA and redirects), then TLV options in units of 8
 * bytes. */
static void parse_nd(struct wire_r *r, struct tap_frame_info *info) {
  uint8_t t = info->icmp_type;
  if (t < TAP_ICMP6_RS || t > TAP_ICMP6_REDIRECT)
    return;
  if (t == TAP_ICMP6_RS) {
    wire_get_ptr(r, 4);                /* reserved */
  } else if (t == TAP_ICMP6_RA) {
    wire_get_ptr(r, 12);               /* hop limit, flags, lifetime, timers */
  } else {
    wire_get_ptr(r, 4);                /* flags / reserved */
    info->nd_has_target = wire_get_bytes(r, info->nd_target, TAP_IPV6_LEN);
    if (t == TAP_ICMP6_REDIRECT)
      wire_get_ptr(r, TAP_IPV6_LEN);   /* destination */
  }
  if (!wire_ok(r)) {
    info->l4_cut = true;
    info->nd_has_target = false;
    memset(info->nd_target, 0, TAP_IPV6_LEN);
    return;
  }
  while (wire_left(r) > 0) {
    uint8_t type = wire_get_u8(r);
    uint8_t len8 = wire_get_u8(r);
    const uint8_t *body = len8 ? wire_get_ptr(r, (size_t)len8 * 8 - 2) : NULL;
    if (!body) {
      info->nd_bad = true;
      return;
    }
    if (type == 1)
      nd_lladdr(info, body, &info->nd_has_sll, info->nd_sll);
    else if (type == 2)
      nd_lladdr(info, body, &info->nd_has_tll, info->nd_tll);
  }
}

/* IPv6 header, the extension header chain (RFC 8200 4) up to the upper
 * layer, and that header. */
static void parse_ipv6(struct wire_r *r, struct tap_frame_info *info) {
  uint32_t vtf = wire_get_u32be(r);
  uint16_t plen = wire_get_u16be(r);
  uint8_t nh = wire_get_u8(r);
  wire_get_u8(r);                      /* hop limit */
  wire_get_bytes(r, info->ipv6_src, TAP_IPV6_LEN);
  wire_get_bytes(r, info->ipv6_dst, TAP_IPV6_LEN);
  if (!wire_ok(r) || vtf >> 28 != 6 || plen > wire_left(r)) {
    memset(info->ipv6_src, 0, TAP_IPV6_LEN);
    memset(info->ipv6_dst, 0, TAP_IPV6_LEN);
    return;
  }
  info->ipv6 = true;
  struct wire_r p;
  wire_r_init(&p, r->p + r->off, plen);
  for (unsigned i = 0;; i++) {
    if (nh != 0 && nh != 43 && nh != 44 && nh != 60 && nh != 51)
      break;                           /* the upper layer (or 59: none) */
    if (i == TAP_IPV6_EXT_MAX) {
      info->ip_proto = nh;
      info->l4_cut = true;
      return;
    }
    uint8_t next = wire_get_u8(&p);
    uint8_t hlen = wire_get_u8(&p);
    if (nh == 44) {                    /* fragment: 8 bytes */
      uint16_t off = wire_get_u16be(&p);
      wire_get_u32be(&p);              /* identification */
      if (wire_ok(&p) && off >> 3) {
        info->ip_proto = next;
        info->frag_later = true;
        return;
      }
    } else {                           /* AH counts 4-byte units, the others 8 */
      size_t sz = nh == 51 ? ((size_t)hlen + 2) * 4 : ((size_t)hlen + 1) * 8;
      wire_get_ptr(&p, sz - 2);
    }
    if (!wire_ok(&p)) {
      info->ip_proto = nh;
      info->l4_cut = true;
      return;
    }
    nh = next;
  }
  info->ip_proto = nh;
  parse_l4(&p, info, TAP_IPPROTO_ICMPV6);
  if (info->icmp && nh == TAP_IPPROTO_ICMPV6)
    parse_nd(&p, info);
}

int tap_frame_classify(const uint8_t *frame, size_t len, struct tap_frame_info *info) {
  struct wire_r r;
  memset(info, 0, sizeof(*info));
  wire_r_init(&r, frame, len);
  wire_get_bytes(&r, info->dst, TAP_MAC_LEN);
  wire_get_bytes(&r, info->src, TAP_MAC_LEN);
  uint16_t et = wire_get_u16be(&r);
  while (wire_ok(&r) && (et == TAP_ETHERTYPE_VLAN || et == TAP_ETHERTYPE_QINQ) &&
         info->n_vlan < TAP_MAX_VLAN) {
    info->vlan[info->n_vlan].tpid = et;
    info->vlan[info->n_vlan].tci = wire_get_u16be(&r);
    info->n_vlan++;
    et = wire_get_u16be(&r);
  }
  if (!wire_ok(&r)) {
    memset(info, 0, sizeof(*info));
    return RL_ETRUNC;
  }
  info->ethertype = et;
  info->l3_off = r.off;
  if (!memcmp(info->dst, BROADCAST, TAP_MAC_LEN))
    info->dst_kind = TAP_DST_BROADCAST;
  else if (info->dst[0] & 0x01)
    info->dst_kind = TAP_DST_MULTICAST;
  else
    info->dst_kind = TAP_DST_UNICAST;

  if (et == TAP_ETHERTYPE_ARP)
    parse_arp(&r, info);
  else if (et == TAP_ETHERTYPE_IPV4)
    parse_ipv4(&r, info);
  else if (et == TAP_ETHERTYPE_IPV6)
    parse_ipv6(&r, info);
  return 0;
}

int tap_arp_reply(const struct tap_frame_info *req, const uint8_t mac[TAP_MAC_LEN],
                  uint8_t *out, size_t cap) {
  struct wire_w w;
  if (!req->arp || req->arp_op != TAP_ARP_REQUEST || req->n_vlan > TAP_MAX_VLAN)
    return RL_EINVAL;
  wire_w_init(&w, out, cap);
  wire_put_bytes(&w, req->arp_sha, TAP_MAC_LEN);   /* to the asker */
  wire_put_bytes(&w, mac, TAP_MAC_LEN);
  for (unsigned i = 0; i < req->n_vlan; i++) {
    wire_put_u16be(&w, req->vlan[i].tpid);
    wire_put_u16be(&w, req->vlan[i].tci);
  }
  wire_put_u16be(&w, TAP_ETHERTYPE_ARP);
  wire_put_u16be(&w, 1);                           /* Ethernet */
  wire_put_u16be(&w, TAP_ETHERTYPE_IPV4);
  wire_put_u8(&w, 6);
  wire_put_u8(&w, 4);
  wire_put_u16be(&w, TAP_ARP_REPLY);
  wire_put_bytes(&w, mac, TAP_MAC_LEN);            /* sender: the answer */
  wire_put_u32be(&w, req->arp_tpa);
  wire_put_bytes(&w, req->arp_sha, TAP_MAC_LEN);   /* target: the asker */
  wire_put_u32be(&w, req->arp_spa);
  if (w.err)
    return RL_ETOOBIG;
  return (int)w.off;
}

int tap_arp_announce(const uint8_t mac[TAP_MAC_LEN], uint32_t ip, uint8_t *out, size_t cap) {
  static const uint8_t bcast[TAP_MAC_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t zero[TAP_MAC_LEN];
  struct wire_w w;
  wire_w_init(&w, out, cap);
  wire_put_bytes(&w, bcast, TAP_MAC_LEN);
  wire_put_bytes(&w, mac, TAP_MAC_LEN);
  wire_put_u16be(&w, TAP_ETHERTYPE_ARP);
  wire_put_u16be(&w, 1);                           /* Ethernet */
  wire_put_u16be(&w, TAP_ETHERTYPE_IPV4);
  wire_put_u8(&w, 6);
  wire_put_u8(&w, 4);
  wire_put_u16be(&w, TAP_ARP_REQUEST);
  wire_put_bytes(&w, mac, TAP_MAC_LEN);            /* sender: the holder */
  wire_put_u32be(&w, ip);
  wire_put_bytes(&w, zero, TAP_MAC_LEN);
  wire_put_u32be(&w, ip);                          /* target = sender: gratuitous */
  if (w.err)
    return RL_ETOOBIG;
  return (int)w.off;
}

uint16_t tap_mtu(uint16_t path_mtu, bool ipv6_path, uint16_t inner_overhead) {
  long mtu = (long)path_mtu - (ipv6_path ? TAP_IPV6_HDR : TAP_IPV4_HDR) - TAP_UDP_HDR -
             DC_OVERHEAD_MAX - (long)inner_overhead - TAP_ETH_HDR - TAP_VLAN_TAG;
  if (mtu < TAP_MTU_MIN)
    return 0;
  return (uint16_t)mtu;
}
