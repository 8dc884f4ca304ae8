/* Broadcast and multicast frames of the virtual LAN over the overlay's
 * broadcast tree (overlay_broadcast, docs/overlay.md "Broadcast tree").
 *
 * A group-addressed frame the host writes to its TAP reaches every member
 * of the ring once, whether or not we hold a link to it: the frame is cut
 * into 1..LAN_BC_PIECES_MAX even pieces, each sealed with our origin proof
 * (crypto/origin.h, inner app OV_APP_LAN, routed key all zero) and sent as
 * one broadcast. The signed piece header names the broadcast ID the copy
 * travels under (epoch, seq), so a member on the tree can neither re-label
 * a copy (a replay under a fresh ID) nor forge one under another origin:
 * every member checks the proof before it forwards or delivers a copy
 * (lan_bcast_check, the overlay's bcast_check hook), and a refused copy
 * leaves its ID unseen, so the genuine one still gets through.
 *
 * Piece payload (docs/protocol.md, "LAN broadcast pieces"):
 *
 *   epoch(4) seq(4) nfrag(1) idx(1) total(2) offset(2) piece
 *
 * Piece idx of nfrag carries frame bytes [offset, offset + len) of a frame
 * of total bytes; pieces are even: size ceil(total / nfrag), the last one
 * the rest, and piece idx travels under seq = seq of piece 0 + idx. A
 * receiver puts them back together (LAN_REASM_MAX frames at a time, each
 * for LAN_REASM_NS at most), checks the whole frame as it checks a frame
 * from a link (lan_frame_check against the origin's MAC and certified
 * VIP), and writes it to its TAP: broadcasts and link-local groups always,
 * other multicast groups when the host joined them (lan_mcast.c). */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/node_internal.h"
#include "tap/mcast.h"
#include "util/wire.h"

#define ETH_HDR 14

static const uint8_t BC_KEY[RL_ID_LEN]; /* the routed key broadcasts are sealed to */

/* Frame bytes one piece can carry with our certificate. */
static size_t piece_cap(const struct node *n) {
  return OV_APP_MAX - ORIGIN_HDR - n->hid.cert_len - RL_SIG_LEN - LAN_BC_HDR;
}

static void put_hdr(uint8_t *p, uint32_t epoch, uint32_t seq, uint8_t nfrag, uint8_t idx,
                    uint16_t total, uint16_t off) {
  struct wire_w w;
  wire_w_init(&w, p, LAN_BC_HDR);
  wire_put_u32be(&w, epoch);
  wire_put_u32be(&w, seq);
  wire_put_u8(&w, nfrag);
  wire_put_u8(&w, idx);
  wire_put_u16be(&w, total);
  wire_put_u16be(&w, off);
}

int lan_bc_hdr_parse(const uint8_t *p, size_t len, struct lan_bc_hdr *h) {
  struct wire_r r;
  size_t step;
  wire_r_init(&r, p, len);
  h->epoch = wire_get_u32be(&r);
  h->seq = wire_get_u32be(&r);
  h->nfrag = wire_get_u8(&r);
  h->idx = wire_get_u8(&r);
  h->total = wire_get_u16be(&r);
  h->off = wire_get_u16be(&r);
  if (!wire_ok(&r))
    return RL_ETRUNC;
  h->piece = p + LAN_BC_HDR;
  h->len = len - LAN_BC_HDR;
  if (h->nfrag == 0 || h->nfrag > LAN_BC_PIECES_MAX || h->idx >= h->nfrag ||
      h->total < ETH_HDR || h->total > NODE_FRAME_MAX)
    return RL_EPARSE;
  /* Exactly the even split the sender makes: one layout per frame, so two
   * pieces can never overlap or leave a gap. */
  step = ((size_t)h->total + h->nfrag - 1) / h->nfrag;
  if (h->off != h->idx * step || h->off >= h->total ||
      h->len != (h->idx + 1u == h->nfrag ? (size_t)h->total - h->off : step))
    return RL_EPARSE;
  return 0;
}

int lan_bcast_send(struct node *n, const uint8_t *frame, size_t len, uint64_t now) {
  uint8_t pl[LAN_BC_HDR + NODE_FRAME_MAX], sealed[OV_APP_MAX];
  size_t cap = piece_cap(n), step;
  unsigned nfrag;
  if (len > NODE_FRAME_MAX)
    return RL_ETOOBIG;
  nfrag = (unsigned)((len + cap - 1) / cap);
  if (nfrag > LAN_BC_PIECES_MAX) { /* a certificate near CERT_BIN_MAX and a jumbo frame */
    n->c.bcast_too_big++;
    return RL_ETOOBIG;
  }
  /* All pieces or none: half a frame is only noise for every member. */
  if (overlay_bcast_room(n->ov, now) < nfrag) {
    n->c.bcast_rate_dropped++;
    return RL_EAGAIN;
  }
  step = (len + nfrag - 1) / nfrag;
  for (unsigned i = 0; i < nfrag; i++) {
    size_t off = i * step, plen = i + 1 == nfrag ? len - off : step;
    uint32_t epoch, seq;
    uint64_t stamp = rl_unix_ms(n->env, now);
    int k, rc;
    if (stamp <= n->origin_last_ms)
      stamp = n->origin_last_ms + 1;
    n->origin_last_ms = stamp;
    overlay_bcast_next(n->ov, &epoch, &seq);
    put_hdr(pl, epoch, seq, (uint8_t)nfrag, (uint8_t)i, (uint16_t)len, (uint16_t)off);
    memcpy(pl + LAN_BC_HDR, frame + off, plen);
    k = origin_seal(&n->hid, OV_APP_LAN, BC_KEY, stamp, pl, LAN_BC_HDR + plen, sealed,
                    sizeof(sealed));
    if (k < 0)
      return k;
    rc = overlay_broadcast(n->ov, OV_APP_SIGNED, sealed, (size_t)k, now);
    node_ov_pump(n, now);
    if (rc != 0)
      return rc;
  }
  n->c.bcast_out++;
  return 0;
}

/* The overlay's bcast_check: every copy, before it is forwarded or
 * delivered. Cheap refusals first; the signature (one Ed25519ph check per
 * piece, the certificate from the cache) last. */
bool lan_bcast_check(void *ctx, const uint8_t origin[RL_ID_LEN], uint32_t epoch, uint32_t seq,
                     uint8_t app, const uint8_t *payload, size_t len, uint64_t now) {
  struct node *n = ctx;
  struct lan_bc_hdr h;
  const uint8_t *p;
  size_t plen;
  uint8_t inner, mac[6];
  uint64_t now_ms;
  if (app != OV_APP_SIGNED || revoke_set_has(&n->revoked, origin))
    goto bad;
  if (!n->oc && !(n->oc = calloc(1, sizeof(*n->oc))))
    return false;
  now_ms = rl_unix_ms(n->env, now);
  if (origin_open(&n->hid, n->oc, origin, BC_KEY, now_ms, payload, len, &inner, &p, &plen) != 0 ||
      inner != OV_APP_LAN || lan_bc_hdr_parse(p, plen, &h) != 0 || h.epoch != epoch ||
      h.seq != seq)
    goto bad;
  if (h.idx == 0) {
    /* The Ethernet header is in piece 0 (pieces are >= 14 bytes): a
     * group address, and the origin's own MAC as the source. */
    tap_mac_from_id(origin, mac);
    if (h.len < ETH_HDR || !(h.piece[0] & 1) || memcmp(h.piece + 6, mac, 6) != 0)
      goto bad;
  }
  return true;
bad:
  n->c.bcast_bad++;
  return false;
}

/* ---- reassembly and delivery ---- */

struct lan_reasm {
  bool used;
  uint8_t origin[RL_ID_LEN];
  uint32_t epoch, seq0;
  uint8_t nfrag, have;             /* bit i: piece i arrived */
  uint16_t total;
  uint64_t started_ns;
  uint8_t cert[CERT_BIN_MAX];
  uint16_t cert_len;
  uint8_t buf[NODE_FRAME_MAX];
};

void lan_bcast_free(struct node *n) {
  free(n->reasm);
  n->reasm = NULL;
}

static void write_frame(struct node *n, const uint8_t origin[RL_ID_LEN], const uint8_t *cb,
                        size_t cl, const uint8_t *f, size_t len, uint64_t now) {
  struct tap_frame_info fi;
  struct cert c;
  uint8_t mac[6];
  tap_mac_from_id(origin, mac);
  if (cert_decode_bin(&c, cb, cl) != 0 || tap_frame_classify(f, len, &fi) != 0 ||
      fi.dst_kind == TAP_DST_UNICAST ||
      lan_frame_check(&fi, mac, c.vip, n->cfg.lan_vlan) != LAN_OK || tap_mcast_control(&fi)) {
    n->c.bcast_bad++;
    return;
  }
  if (!lan_mcast_host_wants(n, &fi, now)) {
    n->c.bcast_unjoined++;
    return;
  }
  n->c.bcast_in++;
  pktq_put(&n->tapq, NULL, f, len); /* (a full queue counts its drops) */
}

void lan_bcast_deliver(struct node *n, const struct ov_action *a, uint64_t now) {
  struct lan_bc_hdr h;
  const uint8_t *cb, *p;
  size_t cl, plen;
  uint8_t inner;
  struct lan_reasm *r = NULL, *free_slot = NULL, *oldest = NULL;
  uint32_t seq0;
  if (a->app != OV_APP_SIGNED ||
      origin_parse(a->data, a->len, &inner, &cb, &cl, &p, &plen) != 0 || inner != OV_APP_LAN ||
      lan_bc_hdr_parse(p, plen, &h) != 0) {
    n->c.bcast_bad++; /* (checked on arrival: cannot happen) */
    return;
  }
  if (h.nfrag == 1) {
    write_frame(n, a->peer, cb, cl, h.piece, h.len, now);
    return;
  }
  if (!n->reasm && !(n->reasm = calloc(LAN_REASM_MAX, sizeof(*n->reasm))))
    return;
  seq0 = h.seq - h.idx;
  for (unsigned i = 0; i < LAN_REASM_MAX; i++) {
    struct lan_reasm *e = &n->reasm[i];
    if (e->used && now - e->started_ns > LAN_REASM_NS) {
      e->used = false; /* a piece never came: the frame is lost */
      n->c.bcast_frag_lost++;
    }
    if (!e->used) {
      if (!free_slot)
        free_slot = e;
      continue;
    }
    if (!memcmp(e->origin, a->peer, RL_ID_LEN) && e->epoch == h.epoch && e->seq0 == seq0)
      r = e;
    else if (!oldest || e->started_ns < oldest->started_ns)
      oldest = e;
  }
  if (r && (r->nfrag != h.nfrag || r->total != h.total)) {
    n->c.bcast_bad++; /* pieces of one ID that disagree: signed so, by the origin */
    r->used = false;
    return;
  }
  if (!r) {
    r = free_slot;
    if (!r) {
      r = oldest; /* more frames in flight than slots: the oldest goes */
      n->c.bcast_frag_lost++;
    }
    memset(r, 0, offsetof(struct lan_reasm, buf));
    r->used = true;
    memcpy(r->origin, a->peer, RL_ID_LEN);
    r->epoch = h.epoch;
    r->seq0 = seq0;
    r->nfrag = h.nfrag;
    r->total = h.total;
    r->started_ns = now;
  }
  if (r->have & (1u << h.idx))
    return; /* (the overlay delivers each ID once) */
  r->have |= (uint8_t)(1u << h.idx);
  memcpy(r->buf + h.off, h.piece, h.len);
  if (h.idx == 0 || !r->cert_len) {
    memcpy(r->cert, cb, cl);
    r->cert_len = (uint16_t)cl;
  }
  if (r->have == (1u << r->nfrag) - 1) {
    r->used = false;
    write_frame(n, r->origin, r->cert, r->cert_len, r->buf, r->total, now);
  }
}
