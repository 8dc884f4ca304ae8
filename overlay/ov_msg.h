/* Overlay control messages: encoding and bounds-checked decoding.
 *
 * Every message starts with a type byte; the per-type layouts are drawn in
 * docs/overlay.md. Decoding is strict: unknown types, out-of-range counts,
 * unknown address families and trailing bytes are all RL_ETRUNC/RL_EPARSE.
 * Decoded payload pointers (ROUTED) point into the caller's buffer. */
#ifndef RL_OVERLAY_OV_MSG_H
#define RL_OVERLAY_OV_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "overlay/overlay.h"
#include "util/wire.h"

enum ov_msg_type {
  OV_MSG_FIND = 1,       /* routed lookup: who owns target? */
  OV_MSG_FIND_REPLY = 2, /* owner + pred + successor list, routed back */
  OV_MSG_GET_PRED = 3,   /* stabilise: successor, tell me your pred + list */
  OV_MSG_PRED_REPLY = 4, /* pred + successor list */
  OV_MSG_NOTIFY = 5,     /* "I may be your predecessor / successor" */
  OV_MSG_LEAVE = 6,      /* graceful leave: splice around me */
  OV_MSG_ROUTED = 7,     /* application payload routed toward a key */
  OV_MSG_HELLO = 8,      /* "I am a ring member and asked for this link" */
  OV_MSG_PING = 9,       /* liveness of an otherwise idle shortcut link */
  OV_MSG_PONG = 10,
  OV_MSG_BCAST = 11,     /* broadcast copy: deliver, pass on within (self, limit) */
};

/* flags */
#define OV_F_EXACT 0x01    /* ROUTED: deliver only to node == key */
#define OV_F_FINAL 0x02    /* FIND/ROUTED: receiver is the owner, stop */
#define OV_F_HAS_PRED 0x01 /* FIND_REPLY/PRED_REPLY/LEAVE: pred present */
#define OV_F_AS_SUCC 0x01  /* NOTIFY: sender may be receiver's successor */
#define OV_F_TO_PRED 0x02  /* LEAVE: receiver is the leaver's predecessor */
#define OV_F_JOIN 0x04     /* FIND: the origin is joining (not yet in a ring) */
/* ROUTED: `via` follows `target` on the wire. Alone: via is a node linked
 * to src, through which answers to src should go (src is not well linked
 * into the ring: no predecessor, or no link to its successor). With
 * OV_F_THROUGH: the message goes to via first, which is linked to target. */
#define OV_F_VIA 0x04
#define OV_F_THROUGH 0x08

#define OV_ROUTED_HDR 47 /* type..len of a ROUTED message */
#define OV_BCAST_HDR 54  /* type..len of a BCAST message */

struct ov_msg {
  uint8_t type, flags, ttl, hops;
  uint32_t nonce;               /* FIND, FIND_REPLY */
  uint8_t target[RL_ID_LEN];    /* FIND, FIND_REPLY: looked-up ID; ROUTED: key;
                                 * BCAST: limit (end of the receiver's arc) */
  uint8_t via[RL_ID_LEN];       /* FIND, FIND_REPLY: node linked to origin;
                                 * ROUTED with OV_F_VIA (see there) */
  uint8_t dest[RL_ID_LEN];      /* FIND_REPLY: the origin of the FIND */
  uint8_t src[RL_ID_LEN];       /* ROUTED, BCAST: originator */
  struct ov_node node;          /* FIND: origin; FIND_REPLY: owner; NOTIFY: sender */
  struct ov_node pred;          /* with OV_F_HAS_PRED */
  unsigned n_succ;              /* <= OV_MAX_SUCC */
  struct ov_node succ[OV_MAX_SUCC];
  uint32_t epoch, seq;          /* BCAST: with src, the broadcast's ID */
  uint8_t app;                  /* ROUTED, BCAST */
  const uint8_t *payload;       /* ROUTED, BCAST: points into the decoded buffer */
  size_t len;                   /* <= OV_APP_MAX */
};

/* Encodes m into buf. Successor lists are truncated to what fits in cap
 * (the list is advisory; fewer entries is still a valid message) and m is
 * not modified. Returns the length or RL_ETOOBIG / RL_EINVAL. */
int ov_msg_encode(const struct ov_msg *m, uint8_t *buf, size_t cap);
/* Decodes buf into m. Returns 0, RL_ETRUNC (short/trailing bytes) or
 * RL_EPARSE (bad type, count or address family). */
int ov_msg_decode(struct ov_msg *m, const uint8_t *buf, size_t len);

/* Descriptor encoding, exposed for tests: id(20) n_ep(1) {family port ip}. */
void ov_node_put(struct wire_w *w, const struct ov_node *n);
bool ov_node_get(struct wire_r *r, struct ov_node *n);
size_t ov_node_size(const struct ov_node *n);

#endif
