/* Unit tests: the virtual LAN's source policy (node/core/lan.c), end to end
 * through node cores. A's kernel writes a frame into A's TAP
 * (node_recv_tap), the link carries it, and B's core either hands it to
 * B's TAP (node_poll_tap) or drops it and counts frame_spoofed:
 *
 *    A 100.64.0.1 (the member that lies) <----> B 100.64.0.2 (the victim)
 *    C 100.64.0.3: another member (not running) whose MAC, virtual IP and
 *                  link-local address A claims
 *
 * Each table row is one frame; "drop" rows are the spoofing and rogue
 * router/DHCP cases of issue 10 finding 3, "pass" rows what a member's
 * kernel legitimately sends (they must keep working). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/ringlan.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"
#include "node/core/node.h"
#include "tap/tap.h"
#include "util/wire.h"

#include "testnet.h"

#define VA 0x64400001u
#define VB 0x64400002u
#define VC 0x64400003u

/* What the frames are made of: the three members' MACs and link-local
 * addresses, filled in by setup(). */
struct who {
  uint8_t ma[6], mb[6], mc[6];
  uint8_t lla[16], llb[16], llc[16];
};

static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t ALL_NODES_MAC[6] = {0x33, 0x33, 0, 0, 0, 1};
static const uint8_t ALL_NODES[16] = {0xff, 0x02, [15] = 1};
static const uint8_t ALL_ROUTERS[16] = {0xff, 0x02, [15] = 2};
static const uint8_t MLD2_ROUTERS[16] = {0xff, 0x02, [15] = 0x16};
static const uint8_t UNSPEC[16];
static const uint8_t ULA[16] = {0xfd, 0x00, [15] = 1};

/* ---------------------------------------------------------------- frames */

struct fb {
  uint8_t b[512];
  struct wire_w w;
};

/* Ethernet header with ntags VLAN tags (tpid[i], VID 0 = priority tag). */
static void eth(struct fb *f, const uint8_t dst[6], const uint8_t src[6], int ntags,
                const uint16_t *tpid, uint16_t type) {
  wire_w_init(&f->w, f->b, sizeof(f->b));
  wire_put_bytes(&f->w, dst, 6);
  wire_put_bytes(&f->w, src, 6);
  for (int i = 0; i < ntags; i++) {
    wire_put_u16be(&f->w, tpid[i]);
    wire_put_u16be(&f->w, 0); /* PCP 0, VID 0 */
  }
  wire_put_u16be(&f->w, type);
}

static void arp(struct fb *f, uint16_t op, const uint8_t sha[6], uint32_t spa,
                const uint8_t tha[6], uint32_t tpa) {
  static const uint8_t hdr[6] = {0, 1, 8, 0, 6, 4};
  wire_put_bytes(&f->w, hdr, 6);
  wire_put_u16be(&f->w, op);
  wire_put_bytes(&f->w, sha, 6);
  wire_put_u32be(&f->w, spa);
  wire_put_bytes(&f->w, tha, 6);
  wire_put_u32be(&f->w, tpa);
}

/* IPv4 header (no options) + payload. */
static void ipv4(struct fb *f, uint8_t proto, uint32_t src, uint32_t dst, const uint8_t *pl,
                 size_t plen) {
  wire_put_u8(&f->w, 0x45);
  wire_put_u8(&f->w, 0);
  wire_put_u16be(&f->w, (uint16_t)(20 + plen));
  wire_put_u32be(&f->w, 0);       /* id, flags, offset */
  wire_put_u8(&f->w, 64);
  wire_put_u8(&f->w, proto);
  wire_put_u16be(&f->w, 0);
  wire_put_u32be(&f->w, src);
  wire_put_u32be(&f->w, dst);
  wire_put_bytes(&f->w, pl, plen);
}

/* IPv6 header + payload (nh: the first next header). */
static void ipv6(struct fb *f, uint8_t nh, const uint8_t src[16], const uint8_t dst[16],
                 const uint8_t *pl, size_t plen) {
  wire_put_u32be(&f->w, 0x60000000u);
  wire_put_u16be(&f->w, (uint16_t)plen);
  wire_put_u8(&f->w, nh);
  wire_put_u8(&f->w, 255);
  wire_put_bytes(&f->w, src, 16);
  wire_put_bytes(&f->w, dst, 16);
  wire_put_bytes(&f->w, pl, plen);
}

/* ICMPv6 neighbour discovery messages into pl; return the length. */
static size_t nd_ra(uint8_t *pl, const uint8_t sll[6]) {
  struct wire_w w;
  wire_w_init(&w, pl, 128);
  wire_put_u8(&w, TAP_ICMP6_RA);
  wire_put_u8(&w, 0);
  wire_put_u16be(&w, 0);          /* checksum: not checked by the LAN */
  wire_put_u8(&w, 64);            /* cur hop limit */
  wire_put_u8(&w, 0);
  wire_put_u16be(&w, 1800);       /* router lifetime: "I am your default router" */
  wire_put_u32be(&w, 0);
  wire_put_u32be(&w, 0);
  wire_put_u8(&w, 1);             /* source link-layer address */
  wire_put_u8(&w, 1);
  wire_put_bytes(&w, sll, 6);
  wire_put_u8(&w, 3);             /* prefix information fd00:1::/64, autonomous */
  wire_put_u8(&w, 4);
  wire_put_u8(&w, 64);
  wire_put_u8(&w, 0xc0);
  wire_put_u32be(&w, 86400);
  wire_put_u32be(&w, 14400);
  wire_put_u32be(&w, 0);
  static const uint8_t pfx[16] = {0xfd, 0x00, 0x00, 0x01};
  wire_put_bytes(&w, pfx, 16);
  return w.off;
}

/* NS / NA with a target and an optional link-layer option (1: SLL, 2: TLL). */
static size_t nd_ns_na(uint8_t *pl, uint8_t type, const uint8_t target[16], uint8_t opt,
                       const uint8_t mac[6]) {
  struct wire_w w;
  wire_w_init(&w, pl, 128);
  wire_put_u8(&w, type);
  wire_put_u8(&w, 0);
  wire_put_u16be(&w, 0);
  wire_put_u32be(&w, type == TAP_ICMP6_NA ? 0x20000000u : 0); /* NA: override */
  wire_put_bytes(&w, target, 16);
  if (opt) {
    wire_put_u8(&w, opt);
    wire_put_u8(&w, 1);
    wire_put_bytes(&w, mac, 6);
  }
  return w.off;
}

static size_t nd_redirect(uint8_t *pl, const uint8_t target[16], const uint8_t dst[16]) {
  struct wire_w w;
  wire_w_init(&w, pl, 128);
  wire_put_u8(&w, TAP_ICMP6_REDIRECT);
  wire_put_u8(&w, 0);
  wire_put_u16be(&w, 0);
  wire_put_u32be(&w, 0);
  wire_put_bytes(&w, target, 16);
  wire_put_bytes(&w, dst, 16);
  return w.off;
}

static size_t udp(uint8_t *pl, uint16_t sport, uint16_t dport) {
  struct wire_w w;
  wire_w_init(&w, pl, 64);
  wire_put_u16be(&w, sport);
  wire_put_u16be(&w, dport);
  wire_put_u16be(&w, 8 + 16);
  wire_put_u16be(&w, 0);
  for (int i = 0; i < 16; i++)
    wire_put_u8(&w, (uint8_t)i);
  return w.off;
}

/* A hop-by-hop header (router alert, as MLD carries) in front of pl. */
static size_t hbh(uint8_t *out, uint8_t next, const uint8_t *pl, size_t plen) {
  static const uint8_t ra_opt[6] = {5, 2, 0, 0, 1, 0}; /* router alert, PadN */
  out[0] = next;
  out[1] = 0;
  memcpy(out + 2, ra_opt, 6);
  memcpy(out + 8, pl, plen);
  return 8 + plen;
}

/* A fragment header, offset 0 and "more fragments", in front of pl. */
static size_t frag0(uint8_t *out, uint8_t next, const uint8_t *pl, size_t plen) {
  out[0] = next;
  out[1] = 0;
  out[2] = 0;
  out[3] = 1;                     /* offset 0, M = 1 */
  memset(out + 4, 0x5a, 4);
  memcpy(out + 8, pl, plen);
  return 8 + plen;
}

/* ---------------------------------------------------------------- the cases */

typedef size_t (*build_fn)(struct fb *f, const struct who *x);

static const uint16_t Q[1] = {TAP_ETHERTYPE_VLAN};
static const uint16_t QQ[2] = {TAP_ETHERTYPE_QINQ, TAP_ETHERTYPE_VLAN};
static const uint16_t QQQ[3] = {TAP_ETHERTYPE_QINQ, TAP_ETHERTYPE_VLAN, TAP_ETHERTYPE_VLAN};

/* ARP reply to B: "C's virtual IP is at A's MAC" (the classic poison). */
static size_t vlan0_arp_claims_c(struct fb *f, const struct who *x) {
  eth(f, x->mb, x->ma, 1, Q, TAP_ETHERTYPE_ARP);
  arp(f, TAP_ARP_REPLY, x->ma, VC, x->mb, VB);
  return f->w.off;
}
static size_t qinq_arp_claims_c(struct fb *f, const struct who *x) {
  eth(f, x->mb, x->ma, 2, QQ, TAP_ETHERTYPE_ARP);
  arp(f, TAP_ARP_REPLY, x->ma, VC, x->mb, VB);
  return f->w.off;
}
static size_t three_tags_arp_own(struct fb *f, const struct who *x) {
  eth(f, x->mb, x->ma, 3, QQQ, TAP_ETHERTYPE_ARP);
  arp(f, TAP_ARP_REPLY, x->ma, VA, x->mb, VB);
  return f->w.off;
}
/* A request "who has B? tell C (at A's MAC)" makes B learn C -> A. */
static size_t vlan0_arp_request_as_c(struct fb *f, const struct who *x) {
  static const uint8_t zero[6];
  eth(f, BCAST, x->ma, 1, Q, TAP_ETHERTYPE_ARP);
  arp(f, TAP_ARP_REQUEST, x->ma, VC, zero, VB);
  return f->w.off;
}
static size_t vlan0_arp_own(struct fb *f, const struct who *x) {
  eth(f, x->mb, x->ma, 1, Q, TAP_ETHERTYPE_ARP);
  arp(f, TAP_ARP_REPLY, x->ma, VA, x->mb, VB);
  return f->w.off;
}
/* Own IP, but another member's MAC as the ARP sender hardware address. */
static size_t arp_sha_is_c(struct fb *f, const struct who *x) {
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_ARP);
  arp(f, TAP_ARP_REPLY, x->mc, VA, x->mb, VB);
  return f->w.off;
}
/* Gratuitous ARP (broadcast reply, spa = tpa) for C's address. */
static size_t garp_claims_c(struct fb *f, const struct who *x) {
  eth(f, BCAST, x->ma, 0, NULL, TAP_ETHERTYPE_ARP);
  arp(f, TAP_ARP_REPLY, x->ma, VC, BCAST, VC);
  return f->w.off;
}
static size_t garp_own(struct fb *f, const struct who *x) {
  eth(f, BCAST, x->ma, 0, NULL, TAP_ETHERTYPE_ARP);
  arp(f, TAP_ARP_REPLY, x->ma, VA, BCAST, VA);
  return f->w.off;
}
/* ARP with hardware type 6 (IEEE 802: Linux accepts it on Ethernet). */
static size_t arp_ieee802_claims_c(struct fb *f, const struct who *x) {
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_ARP);
  arp(f, TAP_ARP_REPLY, x->ma, VC, x->mb, VB);
  f->b[14 + 1] = 6;
  return f->w.off;
}
static size_t ra_from_a(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_ra(pl, x->ma);
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, ALL_NODES, pl, n);
  return f->w.off;
}
static size_t ra_behind_hbh(struct fb *f, const struct who *x) {
  uint8_t pl[128], pl2[160];
  size_t n = nd_ra(pl, x->ma);
  n = hbh(pl2, TAP_IPPROTO_ICMPV6, pl, n);
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, 0, x->lla, ALL_NODES, pl2, n);
  return f->w.off;
}
static size_t ra_in_first_fragment(struct fb *f, const struct who *x) {
  uint8_t pl[128], pl2[160];
  size_t n = nd_ra(pl, x->ma);
  n = frag0(pl2, TAP_IPPROTO_ICMPV6, pl, n);
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, 44, x->lla, ALL_NODES, pl2, n);
  return f->w.off;
}
/* A first fragment that ends inside the hop-by-hop header: nobody can tell
 * what it carries. */
static size_t ipv6_chain_cut(struct fb *f, const struct who *x) {
  static const uint8_t pl[12] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 3, 5, 2};
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, 44, x->lla, ALL_NODES, pl, sizeof(pl)); /* frag header, then 4 bytes of HBH */
  return f->w.off;
}
static size_t ra_vlan0(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_ra(pl, x->ma);
  eth(f, ALL_NODES_MAC, x->ma, 1, Q, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, ALL_NODES, pl, n);
  return f->w.off;
}
static size_t redirect_from_a(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_redirect(pl, x->lla, ULA);
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, x->llb, pl, n);
  return f->w.off;
}
static size_t na_claims_c(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_ns_na(pl, TAP_ICMP6_NA, x->llc, 2, x->ma);
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, ALL_NODES, pl, n);
  return f->w.off;
}
static size_t na_own_target_c_mac(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_ns_na(pl, TAP_ICMP6_NA, x->lla, 2, x->mc);
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, x->llb, pl, n);
  return f->w.off;
}
static size_t na_own(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_ns_na(pl, TAP_ICMP6_NA, x->lla, 2, x->ma);
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, x->llb, pl, n);
  return f->w.off;
}
/* Two source link-layer options that disagree. */
static size_t ns_two_sll(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_ns_na(pl, TAP_ICMP6_NS, x->llc, 1, x->ma);
  pl[n] = 1, pl[n + 1] = 1;
  memcpy(pl + n + 2, x->mc, 6);
  n += 8;
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, ALL_NODES, pl, n);
  return f->w.off;
}
static size_t ns_sll_is_c(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_ns_na(pl, TAP_ICMP6_NS, x->llb, 1, x->mc);
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, ALL_NODES, pl, n);
  return f->w.off;
}
/* Address resolution of C's link-local by A: legitimate. */
static size_t ns_for_c(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_ns_na(pl, TAP_ICMP6_NS, x->llc, 1, x->ma);
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, ALL_NODES, pl, n);
  return f->w.off;
}
static size_t dad_for_c(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_ns_na(pl, TAP_ICMP6_NS, x->llc, 0, NULL);
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, UNSPEC, ALL_NODES, pl, n);
  return f->w.off;
}
static size_t dad_own(struct fb *f, const struct who *x) {
  uint8_t pl[128];
  size_t n = nd_ns_na(pl, TAP_ICMP6_NS, x->lla, 0, NULL);
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, UNSPEC, ALL_NODES, pl, n);
  return f->w.off;
}
static size_t rs_own(struct fb *f, const struct who *x) {
  uint8_t pl[16] = {TAP_ICMP6_RS, 0, 0, 0, 0, 0, 0, 0, 1, 1};
  memcpy(pl + 10, x->ma, 6);
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, ALL_ROUTERS, pl, sizeof(pl));
  return f->w.off;
}
static size_t mld2_report_unspec(struct fb *f, const struct who *x) {
  static const uint8_t rep[8] = {TAP_ICMP6_MLD2_REPORT, 0, 0, 0, 0, 0, 0, 0};
  uint8_t pl[32];
  size_t n = hbh(pl, TAP_IPPROTO_ICMPV6, rep, sizeof(rep));
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, 0, UNSPEC, MLD2_ROUTERS, pl, n);
  return f->w.off;
}
/* An echo request from the unspecified address: only DAD, RS and MLD may. */
static size_t echo_unspec(struct fb *f, const struct who *x) {
  static const uint8_t pl[8] = {128, 0, 0, 0, 0, 1, 0, 1};
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, UNSPEC, x->llb, pl, sizeof(pl));
  return f->w.off;
}
static size_t echo_from_c_ll(struct fb *f, const struct who *x) {
  static const uint8_t pl[8] = {128, 0, 0, 0, 0, 1, 0, 1};
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->llc, x->llb, pl, sizeof(pl));
  return f->w.off;
}
static size_t echo_from_ula(struct fb *f, const struct who *x) {
  static const uint8_t pl[8] = {128, 0, 0, 0, 0, 1, 0, 1};
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, ULA, x->llb, pl, sizeof(pl));
  return f->w.off;
}
static size_t echo_own_ll(struct fb *f, const struct who *x) {
  static const uint8_t pl[8] = {128, 0, 0, 0, 0, 1, 0, 1};
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_ICMPV6, x->lla, x->llb, pl, sizeof(pl));
  return f->w.off;
}
static size_t dhcp6_server(struct fb *f, const struct who *x) {
  uint8_t pl[64];
  size_t n = udp(pl, 547, 546);
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_UDP, x->lla, x->llb, pl, n);
  return f->w.off;
}
static size_t dhcp6_client(struct fb *f, const struct who *x) {
  static const uint8_t dhcp_all[16] = {0xff, 0x02, [13] = 1, [15] = 2};
  uint8_t pl[64];
  size_t n = udp(pl, 546, 547);
  eth(f, ALL_NODES_MAC, x->ma, 0, NULL, TAP_ETHERTYPE_IPV6);
  ipv6(f, TAP_IPPROTO_UDP, x->lla, dhcp_all, pl, n);
  return f->w.off;
}
static size_t dhcp4_server(struct fb *f, const struct who *x) {
  uint8_t pl[64];
  size_t n = udp(pl, 67, 68);
  eth(f, BCAST, x->ma, 0, NULL, TAP_ETHERTYPE_IPV4);
  ipv4(f, TAP_IPPROTO_UDP, VA, 0xffffffffu, pl, n);
  return f->w.off;
}
static size_t dhcp4_client(struct fb *f, const struct who *x) {
  uint8_t pl[64];
  size_t n = udp(pl, 68, 67);
  eth(f, BCAST, x->ma, 0, NULL, TAP_ETHERTYPE_IPV4);
  ipv4(f, TAP_IPPROTO_UDP, 0, 0xffffffffu, pl, n);
  return f->w.off;
}
static size_t icmp4_redirect(struct fb *f, const struct who *x) {
  static const uint8_t pl[36] = {TAP_ICMP_REDIRECT, 1, 0, 0, 100, 64, 0, 1, 0x45};
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV4);
  ipv4(f, TAP_IPPROTO_ICMP, VA, VB, pl, sizeof(pl));
  return f->w.off;
}
static size_t ipv4_from_c(struct fb *f, const struct who *x) {
  static const uint8_t pl[8] = {8, 0, 0, 0, 0, 1, 0, 1};
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV4);
  ipv4(f, TAP_IPPROTO_ICMP, VC, VB, pl, sizeof(pl));
  return f->w.off;
}
static size_t ipv4_vlan0_from_c(struct fb *f, const struct who *x) {
  static const uint8_t pl[8] = {8, 0, 0, 0, 0, 1, 0, 1};
  eth(f, x->mb, x->ma, 1, Q, TAP_ETHERTYPE_IPV4);
  ipv4(f, TAP_IPPROTO_ICMP, VC, VB, pl, sizeof(pl));
  return f->w.off;
}
static size_t ipv4_own(struct fb *f, const struct who *x) {
  static const uint8_t pl[8] = {8, 0, 0, 0, 0, 1, 0, 1};
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV4);
  ipv4(f, TAP_IPPROTO_ICMP, VA, VB, pl, sizeof(pl));
  return f->w.off;
}
/* An ICMP header cut short: the receiver would not know what it is. */
static size_t ipv4_udp_cut(struct fb *f, const struct who *x) {
  static const uint8_t pl[4] = {0, 67, 0, 68};
  eth(f, x->mb, x->ma, 0, NULL, TAP_ETHERTYPE_IPV4);
  ipv4(f, TAP_IPPROTO_UDP, VA, VB, pl, sizeof(pl));
  return f->w.off;
}
static size_t other_ethertype(struct fb *f, const struct who *x) {
  eth(f, x->mb, x->ma, 0, NULL, 0x88b5); /* IEEE local experimental */
  wire_put_u32be(&f->w, 0xdeadbeef);
  return f->w.off;
}
/* Ethernet source: C's MAC. */
static size_t eth_src_c(struct fb *f, const struct who *x) {
  eth(f, x->mb, x->mc, 0, NULL, 0x88b5);
  wire_put_u32be(&f->w, 0xdeadbeef);
  return f->w.off;
}

struct lan_case {
  const char *name;
  build_fn build;
  int pass;         /* 1: B's TAP gets it; 0: dropped, frame_spoofed + 1;
                     * LOCAL: of A's TAP segment (IGMP / MLD), never sent */
};

#define LOCAL 2
#define ROW(fn, p) {#fn, fn, p}

/* With the default [node] vlan = no. */
static const struct lan_case DEFAULT_CASES[] = {
    /* VLAN: refused whatever they carry (fail on the old check: it saw
     * only the outer ethertype 0x8100 / 0x88a8) */
    ROW(vlan0_arp_claims_c, false),
    ROW(qinq_arp_claims_c, false),
    ROW(vlan0_arp_request_as_c, false),
    ROW(vlan0_arp_own, false),
    ROW(ipv4_vlan0_from_c, false),
    ROW(ra_vlan0, false),
    /* ARP */
    ROW(arp_sha_is_c, false),
    ROW(arp_ieee802_claims_c, false),
    ROW(garp_claims_c, false),
    ROW(garp_own, true),
    /* IPv6 sources and neighbour discovery */
    ROW(ra_from_a, false),
    ROW(ra_behind_hbh, false),
    ROW(ra_in_first_fragment, false),
    ROW(ipv6_chain_cut, false),
    ROW(redirect_from_a, false),
    ROW(na_claims_c, false),
    ROW(na_own_target_c_mac, false),
    ROW(ns_sll_is_c, false),
    ROW(ns_two_sll, false),
    ROW(dad_for_c, false),
    ROW(echo_unspec, false),
    ROW(echo_from_c_ll, false),
    ROW(echo_from_ula, false),
    ROW(dhcp6_server, false),
    ROW(na_own, true),
    ROW(ns_for_c, true),
    ROW(dad_own, true),
    ROW(rs_own, true),
    ROW(mld2_report_unspec, LOCAL),
    ROW(echo_own_ll, true),
    ROW(dhcp6_client, true),
    /* IPv4 */
    ROW(dhcp4_server, false),
    ROW(icmp4_redirect, false),
    ROW(ipv4_from_c, false),
    ROW(ipv4_udp_cut, false),
    ROW(dhcp4_client, true),
    ROW(ipv4_own, true),
    /* other */
    ROW(eth_src_c, false),
    ROW(other_ethertype, true),
};

/* With [node] vlan = yes on B: tags are looked through, the inner frame is
 * checked as an untagged one. */
static const struct lan_case VLAN_CASES[] = {
    ROW(vlan0_arp_claims_c, false),
    ROW(qinq_arp_claims_c, false),
    ROW(vlan0_arp_request_as_c, false),
    ROW(ipv4_vlan0_from_c, false),
    ROW(ra_vlan0, false),
    ROW(three_tags_arp_own, false),
    ROW(vlan0_arp_own, true),
    ROW(ipv4_own, true),
};

/* ---------------------------------------------------------------- harness */

static uint64_t counter(const char *js, const char *name) {
  char key[64];
  snprintf(key, sizeof(key), "\"%s\":", name);
  const char *p = strstr(js, key);
  assert_non_null(p);
  return strtoull(p + strlen(key), NULL, 10);
}

/* Frames refused as claiming what the sender's certificate does not
 * grant: unicast ones on the link (frame_spoofed), group-addressed ones
 * off the overlay's broadcast tree (bcast_bad). */
static uint64_t spoofed(struct net *w, int i) {
  char js[16384];
  assert_true(node_status_json(w->node[i], w->now, js, sizeof(js)) > 0);
  return counter(js, "frame_spoofed") + counter(js, "bcast_bad");
}

static void member_mac(const struct cert *c, uint8_t mac[6]) {
  uint8_t id[RL_ID_LEN];
  cert_node_id(c, id);
  tap_mac_from_id(id, mac);
}

static void setup(struct net *w, struct who *x, bool b_vlan) {
  memset(w, 0, sizeof(*w));
  w->now = T0;
  struct prng gp = {99};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  assert_int_equal(id_generate(&w->group, &genv), 0);
  make_member(w, 0, &w->group, "lab", VA);
  make_member(w, 1, &w->group, "lab", VB);
  make_member(w, 2, &w->group, "lab", VC); /* never started: only its addresses */
  w->lan_vlan[1] = b_vlan;
  start_node(w, 0, w->group.pk, 1);
  start_node(w, 1, w->group.pk, 0);
  run_until(w, w->now + 3 * NS_PER_S);
  member_mac(&w->cert[0], x->ma);
  member_mac(&w->cert[1], x->mb);
  member_mac(&w->cert[2], x->mc);
  uint8_t m[6];
  node_tap_mac(w->node[0], m);
  assert_memory_equal(m, x->ma, 6);
  tap_ipv6_link_local(x->ma, x->lla);
  tap_ipv6_link_local(x->mb, x->llb);
  tap_ipv6_link_local(x->mc, x->llc);
}

/* A's kernel sends the frame; does it come out of B's TAP? Prints what
 * went wrong and returns false (every row runs, so one run lists every
 * failing case). */
static bool run_case(struct net *w, const struct who *x, const struct lan_case *c) {
  struct fb f;
  uint8_t out[NODE_FRAME_MAX];
  size_t len = c->build(&f, x);
  bool ok = true;
  assert_false(f.w.err);
  uint64_t before = spoofed(w, 1);
  assert_int_equal(node_recv_tap(w->node[0], f.b, len, w->now), 0);
  run_until(w, w->now + 10 * NS_PER_MS);
  size_t olen = node_poll_tap(w->node[1], out, sizeof(out));
  uint64_t after = spoofed(w, 1);
  if (c->pass == LOCAL) {
    if (olen != 0 || after != before) {
      print_error("%s: left A's TAP segment\n", c->name);
      ok = false;
    }
  } else if (c->pass) {
    if (olen != len || memcmp(out, f.b, len) != 0) {
      print_error("%s: B's TAP did not get the frame (frame_spoofed %llu -> %llu)\n", c->name,
                  (unsigned long long)before, (unsigned long long)after);
      ok = false;
    } else if (after != before) {
      print_error("%s: counted as spoofed\n", c->name);
      ok = false;
    }
  } else {
    if (olen != 0) {
      print_error("%s: B's TAP got the frame (%zu bytes)\n", c->name, olen);
      ok = false;
    } else if (after != before + 1) {
      print_error("%s: frame_spoofed %llu -> %llu, expected + 1\n", c->name,
                  (unsigned long long)before, (unsigned long long)after);
      ok = false;
    }
  }
  while (node_poll_tap(w->node[1], out, sizeof(out)) > 0)
    ok = false; /* nothing else may come out */
  return ok;
}

static void run_table(bool b_vlan, const struct lan_case *cases, size_t n) {
  struct net *w = calloc(1, sizeof(*w));
  struct who x;
  unsigned bad = 0;
  assert_non_null(w);
  setup(w, &x, b_vlan);
  for (size_t i = 0; i < n; i++)
    bad += !run_case(w, &x, &cases[i]);
  teardown(w);
  free(w);
  if (bad)
    fail_msg("%u of %zu cases wrong", bad, n);
}

static void test_lan_default_policy(void **state) {
  (void)state;
  run_table(false, DEFAULT_CASES, sizeof(DEFAULT_CASES) / sizeof(DEFAULT_CASES[0]));
}

static void test_lan_vlan_allowed(void **state) {
  (void)state;
  run_table(true, VLAN_CASES, sizeof(VLAN_CASES) / sizeof(VLAN_CASES[0]));
}

/* The link-local address other members accept is the one the kernel makes
 * from the MAC with addr_gen_mode eui64 (RFC 4291 appendix A). */
static void test_link_local_eui64(void **state) {
  (void)state;
  static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  static const uint8_t want[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0,
                                   0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55};
  uint8_t ll[16];
  tap_ipv6_link_local(mac, ll);
  assert_memory_equal(ll, want, 16);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lan_default_policy),
      cmocka_unit_test(test_lan_vlan_allowed),
      cmocka_unit_test(test_link_local_eui64),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
