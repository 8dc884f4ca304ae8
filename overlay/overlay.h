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
 * Links. The overlay asks for links with OV_ACT_CONNECT and releases them
 * with OV_ACT_DISCONNECT; it only ever sends (OV_ACT_SEND) over links that
 * are up. A CONNECT for a peer that is already linked (e.g. the bootstrap
 * link, or a data link) means "the ring now relies on this link": keep it
 * until a DISCONNECT for it. DISCONNECT is emitted only for links the
 * overlay asked for, after they have been unneeded (not a successor in the
 * first OV_LINKED_SUCC, not the predecessor, not the best shortcut of its
 * slot) for OV_LINK_GRACE_NS; it means "the overlay no longer needs it",
 * not "close it": the node core keeps links it uses for data (and any
 * link it opened itself) and closes the rest. Every link that is up to a
 * known ring member, whoever opened it, is used for greedy routing.
 *
 * A CONNECT that fails may be reported with overlay_link_down(); if
 * nothing is reported the overlay gives up after OV_CONNECT_TIMEOUT_NS.
 * overlay_link_down() of a successor or predecessor is taken as that node
 * having failed (the ring is repaired at once). The overlay does not wait
 * for the link layer alone: a successor or predecessor silent for 3
 * stabilise periods, or any link silent for 4 shortcut periods despite
 * PING, is taken out of the ring view and of routing until it speaks
 * again (the link itself stays the node core's business).
 *
 * Memory: about 1 KB + 100 bytes per successor + 64 bytes per link; the
 * action queue holds encoded messages (not struct ov_action) and is freed
 * whenever overlay_poll() drains it (overlay/overlay_limits.h).
 *
 * Wire formats and algorithms: docs/overlay.md. Timers and limits, with
 * their defaults: overlay/overlay_limits.h. */
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

/* A zero field means its default (OV_DEFAULT_* in overlay_limits.h). */
struct ov_config {
  const struct rl_env *env;    /* randomness (jitter, nonces); borrowed */
  uint8_t self_id[RL_ID_LEN];
  unsigned n_successors;       /* successor list length, default 8, max OV_MAX_SUCC */
  uint64_t stabilise_ns;       /* stabilisation period, default 2 s */
  uint64_t fix_fingers_ns;     /* shortcut maintenance period, default 5 s */
  uint64_t heal_ns;            /* partition-heal lookup period, default 60 s */
  uint8_t max_ttl;             /* routed message TTL, default 64 */
  /* Broadcast (overlay_broadcast): per origin, at most bcast_rate
   * broadcasts a second with bursts of bcast_burst (a token bucket); our
   * own broadcasts are held to it, and every member holds each origin to
   * it (with one second of slack) before forwarding. Defaults 100 and 200. */
  uint32_t bcast_rate, bcast_burst;
  /* Called for every broadcast copy that arrives, before anything is done
   * with it (its ID marked seen, forwarded, delivered): false refuses it
   * (counted in bcast_refused; not forwarded; its ID stays unseen, so a
   * forged copy cannot shadow the genuine one). NULL accepts all. */
  bool (*bcast_check)(void *ctx, const uint8_t origin[RL_ID_LEN], uint32_t epoch,
                      uint32_t seq, uint8_t app, const uint8_t *payload, size_t len,
                      uint64_t now);
  void *bcast_ctx;
};
void ov_config_default(struct ov_config *cfg); /* env is left NULL */

struct overlay;

/* Returns NULL when cfg->env is NULL or memory is short. cfg is copied;
 * cfg->env must outlive the overlay. */
struct overlay *overlay_new(const struct ov_config *cfg);
void overlay_free(struct overlay *ov); /* NULL is fine */


/* Our own endpoint candidates (advertised in join/notify messages). */
void overlay_set_self_endpoints(struct overlay *ov, const struct rl_addr *ep, unsigned n);

/* Link events from the node core. rtt_ns = 0 when unknown yet. */
void overlay_link_up(struct overlay *ov, const uint8_t peer[RL_ID_LEN],
                     const struct rl_addr *ep, uint64_t rtt_ns, uint64_t now);
void overlay_link_rtt(struct overlay *ov, const uint8_t peer[RL_ID_LEN], uint64_t rtt_ns);
void overlay_link_down(struct overlay *ov, const uint8_t peer[RL_ID_LEN], uint64_t now);
/* The link layer heard from peer without an overlay message (a keepalive):
 * the link is alive, so an idle shortcut needs no PING (links keep each
 * other alive every 10 s when idle; PING/PONG on top doubled the idle
 * traffic). Successor and predecessor silence is still judged on overlay
 * messages alone: a neighbour must answer stabilise, not just be up. */
void overlay_link_heard(struct overlay *ov, const uint8_t peer[RL_ID_LEN], uint64_t now);

/* Starts (or restarts) joining through whatever links are up. Call after
 * the first link to a bootstrap node is up; safe to call again. With no
 * link up the node becomes the first member (a ring of one); when such a
 * node later gains a link it looks itself up through it and merges into
 * any ring it finds. Called on a joined node it runs a heal lookup.
 * Timers start with the first call. */
void overlay_join(struct overlay *ov, uint64_t now);
/* Graceful leave: tells neighbours (successor learns our predecessor and
 * vice versa). The node core sends the resulting messages, then stops;
 * afterwards the overlay ignores input and has no timers. */
void overlay_leave(struct overlay *ov, uint64_t now);

/* An overlay message that arrived over the link to `from` (a message
 * proves the link: an unknown `from` is recorded as linked). Bad input is
 * counted in dropped_bad and dropped: returns 0 or a negative RL_E* (never
 * crashes): RL_ETRUNC/RL_EPARSE malformed, RL_ETIMEDOUT TTL expired,
 * RL_ENOENT no route, RL_ESTATE not in a ring (or left). */
int overlay_recv(struct overlay *ov, const uint8_t from[RL_ID_LEN],
                 const uint8_t *msg, size_t len, uint64_t now);

/* Routes an application payload toward `key`. OV_ROUTE_OWNER delivers to
 * the node responsible for key (its successor on the ring); OV_ROUTE_EXACT
 * only to the node whose ID equals key (else dropped, counted). When this
 * node is the destination the payload comes back as OV_ACT_DELIVER (with
 * hops = 0). payload is copied. Returns 0 (sent or delivered), RL_ETOOBIG
 * (len > OV_APP_MAX), RL_EINVAL (mode), RL_ENOENT (no route: dropped),
 * RL_ESTATE (left). Delivery is best effort: a message may still be lost
 * further on (TTL, a link going down); the payload is not acknowledged. */
enum { OV_ROUTE_OWNER = 0, OV_ROUTE_EXACT = 1 };
int overlay_route(struct overlay *ov, const uint8_t key[RL_ID_LEN], int mode,
                  uint8_t app, const uint8_t *payload, size_t len, uint64_t now);

/* Broadcast to every ring member, once each, along a tree over the links
 * (docs/overlay.md, "Broadcast tree"): the origin gives each of its ring
 * links the arc of the ring up to the next one, and every member does the
 * same within the arc it was given, so N members cost N-1 transmissions
 * and the depth is O(log N). A copy carries (origin, epoch, seq); a member
 * takes each ID once. Receivers get OV_ACT_BCAST (peer = origin, app, hops
 * = depth, data). Returns 0 (sent; also in a ring of one), RL_ETOOBIG
 * (len > OV_APP_MAX), RL_ESTATE (not in a ring: joining or left),
 * RL_EAGAIN (over our own bcast_rate: dropped, counted). Best effort: a
 * member that fails mid-broadcast cuts its arc off until the ring notices
 * (docs/overlay.md). */
int overlay_broadcast(struct overlay *ov, uint8_t app, const uint8_t *payload, size_t len,
                      uint64_t now);
/* How many overlay_broadcast() calls our own rate allows at now (0 when
 * not in a ring): a caller sending several pieces of one thing sends all
 * or none. */
unsigned overlay_bcast_room(const struct overlay *ov, uint64_t now);
/* The ID the next overlay_broadcast() will carry (a caller that signs its
 * payload binds it to this ID, so copies cannot be re-labelled). */
void overlay_bcast_next(struct overlay *ov, uint32_t *epoch, uint32_t *seq);

/* Application channel numbers carried in routed messages. */
/* OV_APP_SIGNED wraps another app's payload with an origin proof (the
 * sender's certificate and signature, crypto/origin.h); PUNCH messages and
 * DHT GETs travel only in it (docs/security.md, finding 2). */
enum { OV_APP_DHT = 1, OV_APP_E2E = 2, OV_APP_PUNCH = 3, OV_APP_SIGNED = 4,
       OV_APP_LAN = 5, /* inner app of signed broadcasts: LAN frame pieces (node/core/lan_bcast.c) */
       OV_APP_TEST = 200 };

enum ov_act_kind {
  OV_ACT_NONE = 0,
  OV_ACT_SEND,        /* send msg over the link to peer */
  OV_ACT_CONNECT,     /* open a link to node (id + endpoints) */
  OV_ACT_DISCONNECT,  /* the overlay no longer needs the link to peer */
  OV_ACT_DELIVER,     /* routed payload for us: src, app, hops, data */
  OV_ACT_RING_CHANGED, /* successor list or predecessor changed */
  OV_ACT_BCAST        /* broadcast for us: origin in peer, app, hops, data */
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
/* Pops the next action into *a (caller's storage, ~1.5 KB); returns false
 * when there is none. Drain it after every call into the overlay; if the
 * queue passes OV_QUEUE_MAX entries new actions are dropped and counted. */
bool overlay_poll(struct overlay *ov, struct ov_action *a);

/* Periodic work: stabilise (and connect/lookup timeouts, link release),
 * shortcut maintenance, partition heal; each period jittered by
 * +-OV_JITTER_PCT %. RL_TIME_NEVER before overlay_join() and after leave.
 * Calling overlay_on_timer() early is harmless. */
uint64_t overlay_next_timer(const struct overlay *ov); /* RL_TIME_NEVER: none */
void overlay_on_timer(struct overlay *ov, uint64_t now);

/* Ring view for status, the DHT (replica sets) and tests. succ[] is in
 * ring order (succ[0] = successor) and never contains ourselves; a ring
 * smaller than n_successors lists every other member. shortcuts[] are the
 * best (lowest RTT) linked node of each finger slot, far slots first.
 * estimated_n = n_succ * 2^160 / distance(self, last successor), at least
 * n_succ + 1 (1 before joining). */
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
/* True when this node is responsible for key (key in (pred, self]); a
 * ring of one owns every key; without a known predecessor only our own ID
 * (and never before joining or after leaving). */
bool overlay_is_owner(const struct overlay *ov, const uint8_t key[RL_ID_LEN]);

struct ov_stats {
  uint64_t routed, delivered, forwarded, dropped_ttl, dropped_no_route,
      dropped_bad;
  uint64_t dropped_queue; /* actions dropped: queue full (driver not polling) */
  /* Broadcast: originated; copies we transmitted (ours and forwarded);
   * delivered to us; duplicates dropped; refused by bcast_check; over the
   * origin's rate (ours: not sent; others': not forwarded); too old for
   * the seen window; copies for which a child link was not up. */
  uint64_t bcast_sent, bcast_tx, bcast_delivered, bcast_dup, bcast_refused,
      bcast_rate_dropped, bcast_stale;
  /* copies from a link over its budget of refused ones (OV_BCAST_BAD_RATE):
   * dropped unchecked */
  uint64_t bcast_link_dropped;
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
