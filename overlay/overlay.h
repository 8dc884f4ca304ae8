/* The structured overlay: a Chord-style ring of 160-bit IDs.
 *
 * Sans-I/O. The overlay knows nothing of sockets or crypto: it sees *links*
 * (secure channels to other members, kept by the node core and named by the
 * peer's overlay ID) and exchanges control messages over them. The node core
 * tells it when links come up or go down and hands it every overlay message
 * that arrives; the overlay answers with actions polled by overlay_poll().
 *
 *   node core                     overlay
 *   ---------                     -------
 *   overlay_link_up(id, rtt)  ->  may become successor/pred/shortcut
 *   overlay_recv(from, msg)   ->  routing, join, stabilise, ...
 *   overlay_route(key, app)   ->  greedy next hop, or OV_ACT_DELIVER if ours
 *   overlay_poll()            <-  OV_ACT_SEND / CONNECT / DISCONNECT / DELIVER
 *                                  / RING_CHANGED
 *
 * Wire formats: docs/overlay.md. Timers: overlay/overlay_limits.h. */
#ifndef RL_OVERLAY_H
#define RL_OVERLAY_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h" /* RL_ID_LEN */
#include "util/env.h"

#define OV_MAX_ENDPOINTS 4   /* endpoint candidates carried per node */
#define OV_MAX_SUCC 16
#define OV_MSG_MAX 1400      /* largest overlay message (fits a link MTU) */
#define OV_APP_MAX 1300      /* largest routed application payload */

struct ov_node {               /* a node descriptor as carried in messages */
  uint8_t id[RL_ID_LEN];
  uint8_t n_ep;
  struct rl_addr ep[OV_MAX_ENDPOINTS];
};

struct ov_config {
  const struct rl_env *env;
  uint8_t self_id[RL_ID_LEN];
  unsigned n_successors;       /* successor list length, default 8 */
  uint64_t stabilise_ns;       /* stabilisation period, default 2 s */
  uint64_t fix_fingers_ns;     /* shortcut maintenance period, default 5 s */
  uint64_t heal_ns;            /* partition-heal lookup period, default 60 s */
  uint8_t max_ttl;             /* routed message TTL, default 64 */
};
void ov_config_default(struct ov_config *cfg);

struct overlay;

struct overlay *overlay_new(const struct ov_config *cfg);
void overlay_free(struct overlay *ov);

/* Our own endpoint candidates (advertised in join/notify messages). */
void overlay_set_self_endpoints(struct overlay *ov, const struct rl_addr *ep, unsigned n);

/* Link events from the node core. rtt_ns = 0 when unknown yet. */
void overlay_link_up(struct overlay *ov, const uint8_t peer[RL_ID_LEN],
                     const struct rl_addr *ep, uint64_t rtt_ns, uint64_t now);
void overlay_link_rtt(struct overlay *ov, const uint8_t peer[RL_ID_LEN], uint64_t rtt_ns);
void overlay_link_down(struct overlay *ov, const uint8_t peer[RL_ID_LEN], uint64_t now);

/* Starts (or restarts) joining through whatever links are up. Call after
 * the first link to a bootstrap node is up; safe to call again. */
void overlay_join(struct overlay *ov, uint64_t now);
/* Graceful leave: tells neighbours (successor learns our predecessor and
 * vice versa). The node core sends the resulting messages, then stops. */
void overlay_leave(struct overlay *ov, uint64_t now);

/* An overlay message that arrived over the link to `from`. Bad input is
 * counted and dropped: returns 0 or a negative RL_E* (never crashes). */
int overlay_recv(struct overlay *ov, const uint8_t from[RL_ID_LEN],
                 const uint8_t *msg, size_t len, uint64_t now);

/* Routes an application payload toward `key`. OV_ROUTE_OWNER delivers to
 * the node responsible for key (its successor on the ring); OV_ROUTE_EXACT
 * only to the node whose ID equals key (else dropped, counted). When this
 * node is the destination the payload comes back as OV_ACT_DELIVER. */
enum { OV_ROUTE_OWNER = 0, OV_ROUTE_EXACT = 1 };
int overlay_route(struct overlay *ov, const uint8_t key[RL_ID_LEN], int mode,
                  uint8_t app, const uint8_t *payload, size_t len, uint64_t now);

/* Application channel numbers carried in routed messages. */
enum { OV_APP_DHT = 1, OV_APP_E2E = 2, OV_APP_PUNCH = 3, OV_APP_TEST = 200 };

enum ov_act_kind {
  OV_ACT_NONE = 0,
  OV_ACT_SEND,        /* send msg over the link to peer */
  OV_ACT_CONNECT,     /* open a link to node (id + endpoints) */
  OV_ACT_DISCONNECT,  /* the overlay no longer needs the link to peer */
  OV_ACT_DELIVER,     /* routed payload for us: src, app, hops, data */
  OV_ACT_RING_CHANGED /* successor list or predecessor changed */
};

struct ov_action {
  enum ov_act_kind kind;
  uint8_t peer[RL_ID_LEN];  /* SEND/DISCONNECT: link peer; DELIVER: source */
  struct ov_node node;      /* CONNECT */
  uint8_t app;              /* DELIVER */
  uint8_t hops;             /* DELIVER: hops the message took */
  uint8_t key[RL_ID_LEN];   /* DELIVER: the key it was routed to */
  size_t len;
  uint8_t data[OV_MSG_MAX];
};
/* Pops the next action; returns false when there is none. */
bool overlay_poll(struct overlay *ov, struct ov_action *a);

uint64_t overlay_next_timer(const struct overlay *ov); /* RL_TIME_NEVER: none */
void overlay_on_timer(struct overlay *ov, uint64_t now);

/* Ring view for status, the DHT (replica sets) and tests. */
struct ov_ring_info {
  bool joined;
  bool has_pred;
  uint8_t pred[RL_ID_LEN];
  unsigned n_succ;
  uint8_t succ[OV_MAX_SUCC][RL_ID_LEN];
  unsigned n_shortcuts;
  uint8_t shortcuts[64][RL_ID_LEN];
  uint64_t estimated_n;
};
void overlay_ring_info(const struct overlay *ov, struct ov_ring_info *out);
/* True when this node is responsible for key (key in (pred, self]). */
bool overlay_is_owner(const struct overlay *ov, const uint8_t key[RL_ID_LEN]);

struct ov_stats {
  uint64_t routed, delivered, forwarded, dropped_ttl, dropped_no_route,
      dropped_bad;
  uint64_t dropped_queue; /* actions dropped: queue full (driver not polling) */
};
void overlay_stats(const struct overlay *ov, struct ov_stats *out);

/* Ring arithmetic on 160-bit big-endian IDs (overlay/ring.c). */
int ring_cmp(const uint8_t a[RL_ID_LEN], const uint8_t b[RL_ID_LEN]);
/* True when x is in the open interval (a, b) going clockwise; (a, a) is
 * the whole ring except a. */
bool ring_between(const uint8_t a[RL_ID_LEN], const uint8_t x[RL_ID_LEN],
                  const uint8_t b[RL_ID_LEN]);
/* out = b - a mod 2^160 (clockwise distance from a to b). */
void ring_distance(const uint8_t a[RL_ID_LEN], const uint8_t b[RL_ID_LEN],
                   uint8_t out[RL_ID_LEN]);
/* out = a + 2^k mod 2^160, 0 <= k < 160. */
void ring_add_pow2(const uint8_t a[RL_ID_LEN], unsigned k, uint8_t out[RL_ID_LEN]);

#endif
