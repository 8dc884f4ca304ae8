/* The virtual LAN: frames between the TAP device and the links.
 *
 * Unicast frames go to the member whose MAC (derived from its overlay ID)
 * is the destination; broadcast and multicast go to every member of the
 * ring over the overlay's broadcast tree (lan_bcast.c; before the node is
 * in a ring, to every established link), IGMP / MLD stay on the TAP
 * segment (lan_mcast.c). A member may only send frames that claim
 * what its certificate grants: its own MAC, its certified virtual IPv4
 * address, and its IPv6 link-local address (from its MAC). A certificate
 * is a claim to one address on the LAN, not to the whole segment, and no
 * certificate makes a member a router or a DHCP server (docs/security.md,
 * "The virtual LAN"). */
#include <ringlan/error.h>
#include <string.h>

#include "node/core/node_internal.h"
#include "tap/mcast.h"
#include "tap/tap.h"

#define ETH_HDR 14
#define DHCP4_SERVER_PORT 67
#define DHCP6_SERVER_PORT 547

static const uint8_t IPV6_ANY[TAP_IPV6_LEN];

/* An IPv6 address the member may use as its own: its link-local address.
 * Certificates carry no IPv6 addresses in this version. */
static bool ipv6_own(const uint8_t a[TAP_IPV6_LEN], const uint8_t ll[TAP_IPV6_LEN]) {
  return memcmp(a, ll, TAP_IPV6_LEN) == 0;
}

static enum lan_verdict check_arp(const struct tap_frame_info *fi, const uint8_t mac[6],
                                  uint32_t vip) {
  /* Anything ARP we cannot read (other hardware types: Linux also takes
   * IEEE 802 ones) might still be read by a receiver. */
  if (!fi->arp)
    return LAN_MALFORMED;
  /* The receiver learns "spa is at sha" (requests and replies, gratuitous
   * or not): both must be the member's own. 0.0.0.0 is an ARP probe
   * (RFC 5227), which claims nothing. */
  if (fi->arp_spa != 0 && fi->arp_spa != vip)
    return LAN_ADDR;
  if (memcmp(fi->arp_sha, mac, 6) != 0)
    return LAN_ADDR;
  return LAN_OK;
}

static enum lan_verdict check_ipv4(const struct tap_frame_info *fi, uint32_t vip) {
  if (!fi->ipv4 || fi->l4_cut)
    return LAN_MALFORMED;
  /* 0.0.0.0: a DHCP client without an address yet. */
  if (fi->ipv4_src != 0 && fi->ipv4_src != vip)
    return LAN_ADDR;
  if (fi->udp && fi->udp_sport == DHCP4_SERVER_PORT)
    return LAN_ROLE;
  if (fi->icmp && fi->ip_proto == TAP_IPPROTO_ICMP && fi->icmp_type == TAP_ICMP_REDIRECT)
    return LAN_ROLE;
  return LAN_OK;
}

static enum lan_verdict check_ipv6(const struct tap_frame_info *fi, const uint8_t mac[6]) {
  uint8_t ll[TAP_IPV6_LEN];
  if (!fi->ipv6 || fi->l4_cut || fi->nd_bad)
    return LAN_MALFORMED;
  tap_ipv6_link_local(mac, ll);
  bool icmp6 = fi->icmp && fi->ip_proto == TAP_IPPROTO_ICMPV6;
  uint8_t t = icmp6 ? fi->icmp_type : 0;
  if (!memcmp(fi->ipv6_src, IPV6_ANY, TAP_IPV6_LEN)) {
    /* The unspecified source is for a host without an address yet:
     * duplicate address detection (NS), router solicitation, MLD reports
     * (RFC 4861 4.3, 4.1; RFC 3810 5.2.13). */
    if (t != TAP_ICMP6_NS && t != TAP_ICMP6_RS && t != TAP_ICMP6_MLD_REPORT &&
        t != TAP_ICMP6_MLD2_REPORT)
      return LAN_ADDR;
  } else if (!ipv6_own(fi->ipv6_src, ll)) {
    return LAN_ADDR;
  }
  if (fi->udp && fi->udp_sport == DHCP6_SERVER_PORT)
    return LAN_ROLE;
  if (!icmp6)
    return LAN_OK;
  if (t == TAP_ICMP6_RA || t == TAP_ICMP6_REDIRECT)
    return LAN_ROLE;
  /* Link-layer options say "the sender (SLL) / the target (TLL) is at
   * this MAC": only the member's own. */
  if ((fi->nd_has_sll && memcmp(fi->nd_sll, mac, 6) != 0) ||
      (fi->nd_has_tll && memcmp(fi->nd_tll, mac, 6) != 0))
    return LAN_ADDR;
  /* An advertisement claims its target; a solicitation from the
   * unspecified address (DAD) claims its target as tentative, and an
   * answer to it would make the owner give the address up. */
  if (t == TAP_ICMP6_NA && !ipv6_own(fi->nd_target, ll))
    return LAN_ADDR;
  if (t == TAP_ICMP6_NS && !memcmp(fi->ipv6_src, IPV6_ANY, TAP_IPV6_LEN) &&
      !ipv6_own(fi->nd_target, ll))
    return LAN_ADDR;
  return LAN_OK;
}

enum lan_verdict lan_frame_check(const struct tap_frame_info *fi, const uint8_t mac[6],
                                 uint32_t vip, bool allow_vlan) {
  if (memcmp(fi->src, mac, 6) != 0)
    return LAN_ADDR;
  /* A receiver's kernel looks through tags (VID 0 = priority tag: the
   * untagged interface takes it), so the check must too, or refuse them.
   * A third tag hides the rest: never looked through. */
  if (fi->n_vlan && !allow_vlan)
    return LAN_VLAN;
  switch (fi->ethertype) {
  case TAP_ETHERTYPE_VLAN:
  case TAP_ETHERTYPE_QINQ:
    return LAN_VLAN;
  case TAP_ETHERTYPE_ARP:
    return check_arp(fi, mac, vip);
  case TAP_ETHERTYPE_IPV4:
    return check_ipv4(fi, vip);
  case TAP_ETHERTYPE_IPV6:
    return check_ipv6(fi, mac);
  default:
    return LAN_OK;
  }
}

/* Decrypted plaintext from a link: a frame for the TAP device or a control
 * message for the overlay. */
void lan_deliver_frame(struct node *n, struct link *l, const uint8_t *f, size_t len,
                       uint64_t now) {
  if (len >= sizeof(DC_CONTROL_MAGIC) &&
      memcmp(f, DC_CONTROL_MAGIC, sizeof(DC_CONTROL_MAGIC)) == 0) {
    node_ov_control(n, l, f, len, now);
    return;
  }
  if (len >= sizeof(DC_OCC_MAGIC) && memcmp(f, DC_OCC_MAGIC, sizeof(DC_OCC_MAGIC)) == 0) {
    /* OpenVPN OCC: never a frame. OCC_EXIT (explicit-exit-notify) closes. */
    if (len == sizeof(DC_OCC_MAGIC) + 1 && f[16] == OCC_EXIT)
      link_peer_exited(n, l, now);
    return;
  }
  if (len < ETH_HDR || len > NODE_FRAME_MAX) {
    n->c.tap_runt++;
    return;
  }
  struct tap_frame_info fi;
  if (tap_frame_classify(f, len, &fi) != 0 ||
      lan_frame_check(&fi, l->mac, l->s.peer_vip, n->cfg.lan_vlan) != LAN_OK) {
    n->c.frame_spoofed++;
    return;
  }
  if (fi.dst_kind != TAP_DST_UNICAST &&
      (tap_mcast_control(&fi) || !lan_mcast_host_wants(n, &fi, now))) {
    n->c.bcast_unjoined++; /* (a member not yet in a ring sends on its links) */
    return;
  }
  l->last_data_ns = now;
  l->carried_data = true;
  pktq_put(&n->tapq, NULL, f, len);
}

static void send_or_queue(struct node *n, struct link *l, const uint8_t *f, size_t len,
                          uint64_t now) {
  int r = RL_EAGAIN;
  l->last_data_ns = now;
  l->carried_data = true;
  if (l->s.state == SESS_ESTABLISHED)
    r = link_send_plain(n, l, f, len, now);
  if (r == RL_EAGAIN) {
    /* No key yet (or a rekey without a usable key): hold the frame, bounded. */
    if (pktq_put(&l->pending, NULL, f, len) != 0)
      n->c.pending_overflow++;
    if (l->s.state == SESS_IDLE && !l->retry_at_ns) {
      sess_start(&l->s, now);
      link_after_event(n, l, now);
    }
  }
}

int node_recv_tap(struct node *n, const uint8_t *frame, size_t len, uint64_t now) {
  n->c.tap_in++;
  if (len < ETH_HDR) {
    n->c.tap_runt++;
    return RL_ETRUNC;
  }
  if (len > (size_t)n->tap_mtu + ETH_HDR) {
    n->c.tap_too_big++; /* counted and dropped, never truncated */
    return RL_ETOOBIG;
  }
  if (frame[0] & 1) { /* group bit: broadcast or multicast */
    struct tap_frame_info fi;
    bool known = tap_frame_classify(frame, len, &fi) == 0;
    if (known && fi.arp && fi.arp_op == TAP_ARP_REQUEST && fi.n_vlan == 0) {
      /* ARP for a member's virtual IP is answered here, from links and the
       * DHT; the request never floods the group. */
      node_arp_request(n, &fi, now);
      return 0;
    }
    if (known && lan_mcast_from_tap(n, &fi, frame, len, now))
      return 0; /* IGMP / MLD: of this TAP segment only */
    if (n->ov && overlay_bcast_room(n->ov, now) > 0)
      return lan_bcast_send(n, frame, len, now);
    if (node_in_ring(n)) {
      n->c.bcast_rate_dropped++; /* in a ring, over our rate */
      return RL_EAGAIN;
    }
    /* Not in a ring yet: once per member we hold a link to, on the
     * session that sends to it. */
    n->c.bcast_fallback++;
    for (unsigned i = 0; i < n->n_links; i++) {
      struct link *l = n->links[i];
      if (l->used && l->s.state == SESS_ESTABLISHED && l->s.have_peer &&
          link_tx(n, l->s.peer_id, LINK_TX_ANY, NULL) == l)
        link_send_plain(n, l, frame, len, now);
    }
    return 0;
  }
  struct link *l = link_by_mac(n, frame);
  if (!l)
    return node_frame_no_link(n, frame, len, now);
  send_or_queue(n, l, frame, len, now);
  return 0;
}
