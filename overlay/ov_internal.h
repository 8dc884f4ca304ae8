/* Private state of one overlay instance, shared by overlay/ *.c only.
 *
 * Memory (the simulator runs 10^5 of these): the fixed part is ~1.1 KB
 * plus the successor list (n_successors descriptors of ~100 bytes, 0.8 KB
 * by default); links are an array of 64-byte entries grown in steps of 8
 * (about 2 log2(N) + 3 of them counting links others opened to us); the
 * action queue is allocated only while actions are pending (see
 * overlay_limits.h). About 3 KB per node at N = 10^5. */
#ifndef RL_OVERLAY_OV_INTERNAL_H
#define RL_OVERLAY_OV_INTERNAL_H

#include "overlay/ov_msg.h"
#include "overlay/overlay.h"
#include "overlay/overlay_limits.h"

#define OV_SLOTS (RL_ID_LEN * 8)

enum { OV_LINK_CONNECTING = 1, OV_LINK_UP = 2 };
/* Why we asked for a link (struct ov_link.want). */
#define OV_WANT_HEAL 0x01   /* send a heal lookup through it once up */
#define OV_WANT_NOTIFY 0x02 /* notify it once up (heal merge) */

struct ov_link {
  uint8_t id[RL_ID_LEN];
  struct rl_addr ep;      /* the endpoint the link runs over, if known */
  uint64_t rtt_ns;        /* 0 = not measured yet */
  uint64_t t;             /* CONNECTING: deadline; UP: unneeded since (0 = needed) */
  uint64_t last_rx;       /* UP: link up or last overlay message from the peer */
  uint64_t last_tx;       /* last message we queued on it (0 = none) */
  uint64_t last_heard;    /* last link-layer keepalive (overlay_link_heard) */
  uint8_t state;          /* OV_LINK_* */
  bool ours;              /* we emitted OV_ACT_CONNECT for it */
  uint8_t want;           /* OV_WANT_* */
  bool in_ring;           /* the peer is known to be a ring member */
  uint64_t bc_bad_tat;    /* refused broadcast copies it brought (GCRA, ov_bcast.c) */
};
/* Routing, shortcuts, healing and repair use only links to known ring
 * members. A link is up at the bootstrap node before the joiner on the
 * other end is in any ring, and under a burst of joins a bootstrap node
 * has many such links: lookups routed into them would be dropped. A link
 * counts once we asked for it (we only connect to nodes named in ring
 * messages), the peer is in our successor list or our predecessor, or it
 * sent us anything other than its own join lookup (a joined node stabilises,
 * notifies, answers or forwards; a joining one only asks). */
static inline bool ov_link_usable(const struct ov_link *l) {
  return l->state == OV_LINK_UP && l->in_ring;
}

enum ov_lookup_kind { OV_LK_JOIN = 1, OV_LK_FINGER, OV_LK_HEAL };
struct ov_lookup {
  uint32_t nonce;
  uint8_t kind;
  uint8_t slot;           /* OV_LK_FINGER */
  uint64_t deadline;
};

struct ov_qent {          /* one queued action; bytes live in the arena */
  uint8_t kind, app, hops;
  uint8_t peer[RL_ID_LEN];
  uint8_t key[RL_ID_LEN];
  uint32_t off, len;
};

#define OV_VIAC 16                     /* via cache entries */
#define OV_VIAC_NS (60ULL * 1000000000ULL) /* an entry is used this long */

struct overlay {
  struct ov_config cfg;
  struct ov_node self;
  bool joined, left, ring_dirty;

  unsigned n_succ;
  struct ov_node *succ;   /* cfg.n_successors entries */
  bool has_pred;
  struct ov_node pred;

  struct ov_link *links;
  unsigned n_links, cap_links;

  struct ov_lookup lookups[OV_LOOKUPS_MAX];
  unsigned n_lookups;

  struct ov_node remember[OV_REMEMBER];
  unsigned n_remember, remember_next;

  uint8_t pns_probes[OV_SLOTS / 4]; /* 2 bits per slot: probes made (<= 3) */
  unsigned finger_next;   /* round-robin slot cursor */

  uint64_t now;           /* time of the API call being handled */
  uint64_t next_stab, next_fix, next_heal;
  /* Silence is measured from when we started expecting to hear from a
   * neighbour, not from its last message (an idle link promoted to
   * successor has an old last_rx but owes us nothing yet). */
  uint8_t stab_peer[RL_ID_LEN];
  uint64_t stab_since, pred_since;

  /* action queue */
  struct ov_qent *q;
  unsigned q_head, q_len, q_cap;
  uint8_t *arena;
  size_t a_len, a_cap;

  /* Members not well linked into the ring name a node linked to them in
   * their routed messages (OV_F_VIA); answers go through it (ov_route.c). */
  struct {
    uint8_t id[RL_ID_LEN], via[RL_ID_LEN];
    uint64_t at;               /* 0: free */
  } viac[OV_VIAC];
  unsigned viac_next;

  /* Broadcast (ov_bcast.c): our own next ID and rate, and per origin the
   * seen window and rate state; the table grows on demand (an overlay that
   * never sees a broadcast holds none of it). */
  bool bc_epoch_set;
  uint32_t bc_epoch, bc_seq;
  uint64_t bc_tat;              /* our own bucket (GCRA theoretical arrival) */
  struct ov_borigin *bc_origins;
  unsigned n_bc_origins, cap_bc_origins;

  struct ov_stats stats;
};

#define OV_BCAST_WINDOW 256   /* seqs remembered per origin (bits) */
struct ov_borigin {
  uint8_t id[RL_ID_LEN];
  uint32_t epoch, top;        /* highest seq seen in this epoch */
  bool epoch_set;             /* a copy of it was taken (epoch, top, win valid) */
  uint64_t win[OV_BCAST_WINDOW / 64]; /* bit d: seq top - d seen */
  uint64_t tat;               /* rate: GCRA theoretical arrival time */
  uint64_t used;              /* last broadcast from it (eviction) */
};

/* ring.c extras */
int ring_bitlen(const uint8_t d[RL_ID_LEN]);       /* 0 for d == 0 */
double ring_to_double(const uint8_t d[RL_ID_LEN]);
static inline bool ring_eq(const uint8_t *a, const uint8_t *b) {
  return ring_cmp(a, b) == 0;
}

/* ov_route.c: sets OV_F_VIA / OV_F_THROUGH on a ROUTED message we
 * originate (see ov_msg.h). */
void ov_route_prepare(struct overlay *ov, struct ov_msg *m, uint64_t now);

/* overlay.c: queue and links */
void ov_push_send(struct overlay *ov, const uint8_t peer[RL_ID_LEN], const struct ov_msg *m);
void ov_push(struct overlay *ov, uint8_t kind, const uint8_t peer[RL_ID_LEN],
             const uint8_t key[RL_ID_LEN], uint8_t app, uint8_t hops,
             const void *data, size_t len);
struct ov_link *ov_link_find(const struct overlay *ov, const uint8_t id[RL_ID_LEN]);
bool ov_linked(const struct overlay *ov, const uint8_t id[RL_ID_LEN]);
/* Asks the node core for a link to n unless one is up or pending. */
struct ov_link *ov_connect(struct overlay *ov, const struct ov_node *n, uint64_t now);
/* links[] is sorted by ID; adding or removing a link moves the others. */
unsigned ov_link_upper(const struct overlay *ov, const uint8_t id[RL_ID_LEN]);
void ov_link_remove(struct overlay *ov, struct ov_link *l);
uint64_t ov_jitter(const struct overlay *ov, uint64_t period);
void ov_remember(struct overlay *ov, const struct ov_node *n);

/* ov_route.c */
enum { OV_NEXT_NONE = 0, OV_NEXT_DELIVER, OV_NEXT_FORWARD };
/* exclude (may be NULL): a peer never to choose. */
int ov_next_hop(const struct overlay *ov, const uint8_t key[RL_ID_LEN],
                const uint8_t *exclude, uint8_t next[RL_ID_LEN], bool *final);
int ov_recv_routed(struct overlay *ov, struct ov_msg *m, uint64_t now);
/* Starts a lookup for target; the answer comes back to ov_lookup_done().
 * first_hop NULL = choose by routing. Returns 0 or RL_E*. */
int ov_find_start(struct overlay *ov, const uint8_t target[RL_ID_LEN], uint8_t kind,
                  uint8_t slot, const uint8_t *first_hop, uint64_t now);
int ov_recv_find(struct overlay *ov, const uint8_t from[RL_ID_LEN], struct ov_msg *m,
                 uint64_t now);
int ov_recv_find_reply(struct overlay *ov, struct ov_msg *m, uint64_t now);

/* ov_stab.c */
void ov_lookup_done(struct overlay *ov, const struct ov_lookup *lk,
                    const struct ov_msg *reply, uint64_t now);
void ov_succ_set(struct overlay *ov, const struct ov_node *list, unsigned n);
void ov_succ_remove(struct overlay *ov, const uint8_t id[RL_ID_LEN]);
void ov_stabilise_with_succ(struct overlay *ov, uint64_t now);
void ov_stabilise_tick(struct overlay *ov, uint64_t now);
void ov_heal_tick(struct overlay *ov, uint64_t now);
void ov_on_link_up(struct overlay *ov, struct ov_link *l, uint64_t now);
void ov_on_link_down(struct overlay *ov, const uint8_t id[RL_ID_LEN], uint64_t now);
int ov_recv_stab(struct overlay *ov, const uint8_t from[RL_ID_LEN], struct ov_msg *m,
                 uint64_t now);
void ov_join(struct overlay *ov, uint64_t now);
void ov_leave(struct overlay *ov, uint64_t now);
void ov_self_desc(const struct overlay *ov, struct ov_node *out);

/* ov_bcast.c */
int ov_recv_bcast(struct overlay *ov, const uint8_t from[RL_ID_LEN], struct ov_msg *m,
                  uint64_t now);

/* ov_finger.c */
static inline unsigned ov_probes(const struct overlay *ov, int slot) {
  return (ov->pns_probes[slot / 4] >> (2 * (slot % 4))) & 3u;
}
static inline void ov_probes_inc(struct overlay *ov, int slot) {
  if (ov_probes(ov, slot) < 3)
    ov->pns_probes[slot / 4] = (uint8_t)(ov->pns_probes[slot / 4] + (1u << (2 * (slot % 4))));
}
int ov_slot_of(const struct overlay *ov, const uint8_t id[RL_ID_LEN]);
/* best[k] = our shortcut for slot k: the best of our own usable links in
 * it (NULL if none); best must be zeroed by the caller. */
void ov_best_per_slot(const struct overlay *ov, const struct ov_link *best[OV_SLOTS]);
/* PNS order: lower RTT first (unmeasured last), then lower ID. */
bool ov_link_better(const struct ov_link *a, const struct ov_link *b);
void ov_fingers_tick(struct overlay *ov, uint64_t now);
void ov_finger_candidates(struct overlay *ov, int slot, const struct ov_node *c,
                          unsigned n, uint64_t now);
void ov_links_gc(struct overlay *ov, uint64_t now);
uint64_t ov_estimate_n(const struct overlay *ov);

#endif
