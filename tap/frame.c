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

/* Only the addresses are needed (routing by destination); the header must
 * be a plausible IPv4 header so garbage is not routed as IP. */
static void parse_ipv4(struct wire_r *r, struct tap_frame_info *info) {
  size_t avail = wire_left(r);
  uint8_t vihl = wire_get_u8(r);
  wire_get_u8(r);                      /* DSCP/ECN */
  uint16_t total = wire_get_u16be(r);
  wire_get_ptr(r, 8);                  /* id, flags/frag, ttl, proto, csum */
  uint32_t src = wire_get_u32be(r);
  uint32_t dst = wire_get_u32be(r);
  size_t ihl = (size_t)(vihl & 0x0f) * 4;
  if (!wire_ok(r) || vihl >> 4 != 4 || ihl < 20 || total < ihl || total > avail)
    return;
  info->ipv4 = true;
  info->ipv4_src = src;
  info->ipv4_dst = dst;
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

uint16_t tap_mtu(uint16_t path_mtu, bool ipv6_path, uint16_t inner_overhead) {
  long mtu = (long)path_mtu - (ipv6_path ? TAP_IPV6_HDR : TAP_IPV4_HDR) - TAP_UDP_HDR -
             DC_OVERHEAD_MAX - (long)inner_overhead - TAP_ETH_HDR - TAP_VLAN_TAG;
  if (mtu < TAP_MTU_MIN)
    return 0;
  return (uint16_t)mtu;
}
