/* The virtual LAN: frames between the TAP device and the links.
 *
 * Unicast frames go to the member whose MAC (derived from its overlay ID)
 * is the destination; broadcast and multicast go to every established link
 * (later: the group's subring). A member may only send frames from its own
 * MAC and, for IPv4/ARP, from its certified virtual address: a certificate
 * is a claim to one address on the LAN, not to the whole segment. */
#include <ringlan/error.h>
#include <string.h>

#include "node/core/node_internal.h"
#include "tap/tap.h"

#define ETH_HDR 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* True when the frame's sender claims only what the peer's cert grants. */
static bool frame_source_ok(const struct link *l, const uint8_t *f, size_t len) {
  uint16_t type;
  if (memcmp(f + 6, l->mac, 6) != 0)
    return false;
  type = (uint16_t)(f[12] << 8 | f[13]);
  if (type == ETHERTYPE_IPV4 && len >= ETH_HDR + 20) {
    uint32_t src = be32(f + ETH_HDR + 12);
    return src == 0 || src == l->s.peer_vip;
  }
  if (type == ETHERTYPE_ARP && len >= ETH_HDR + 28) {
    uint32_t spa = be32(f + ETH_HDR + 14);
    return spa == 0 || spa == l->s.peer_vip;
  }
  return true;
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
  if (!frame_source_ok(l, f, len)) {
    n->c.frame_spoofed++;
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
    if (tap_frame_classify(frame, len, &fi) == 0 && fi.arp && fi.arp_op == TAP_ARP_REQUEST &&
        fi.n_vlan == 0) {
      /* ARP for a member's virtual IP is answered here, from links and the
       * DHT; the request never floods the group. */
      node_arp_request(n, &fi, now);
      return 0;
    }
    /* Once per member: on the session that sends to it. */
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
