/* Overlay timers, sizes and their defaults (docs/overlay.md explains each).
 * The periods in struct ov_config default to the OV_DEFAULT_* values here;
 * the rest are fixed protocol constants. */
#ifndef RL_OVERLAY_LIMITS_H
#define RL_OVERLAY_LIMITS_H

#include "util/env.h"

/* ov_config defaults (ov_config_default()). */
#define OV_DEFAULT_N_SUCC 8
#define OV_DEFAULT_STABILISE_NS (2 * NS_PER_S)
#define OV_DEFAULT_FIX_FINGERS_NS (5 * NS_PER_S)
#define OV_DEFAULT_HEAL_NS (60 * NS_PER_S)
#define OV_DEFAULT_MAX_TTL 64
#define OV_DEFAULT_BCAST_RATE 100  /* broadcasts a second per origin */
#define OV_DEFAULT_BCAST_BURST 200

/* Periods are jittered by +-OV_JITTER_PCT % so that 10^5 simulated nodes
 * that joined in the same instant do not stabilise in lock step. */
#define OV_JITTER_PCT 10

/* How many of the first successors we keep links to. succ[0] is needed for
 * stabilise; succ[1] is linked too so that when succ[0] dies the repair is
 * one message, not a handshake (repair within one stabilise period). */
#define OV_LINKED_SUCC 2

/* An OV_ACT_CONNECT that has not produced overlay_link_up() by then is
 * treated as failed (the node core may also report failure at once with
 * overlay_link_down()). Also bounds how long an unreachable successor stays
 * in the list. */
#define OV_CONNECT_TIMEOUT_NS (6 * NS_PER_S)
/* A FIND (join, finger or heal lookup) unanswered after this is forgotten;
 * a join is then retried through another link. */
#define OV_LOOKUP_TIMEOUT_NS (5 * NS_PER_S)
/* A link we asked for and no longer need is released (OV_ACT_DISCONNECT)
 * only after it has been unneeded this long: ring changes are often
 * transient and a handshake costs more than an idle link. */
#define OV_LINK_GRACE_NS (30 * NS_PER_S)
#define OV_LOOKUPS_MAX 8 /* outstanding lookups per node */

/* Fingers and proximity neighbour selection: per finger slot we keep at
 * most OV_PNS_LINKS links at once (the best plus one being measured) and
 * probe at most OV_PNS_PROBES extra candidates over the node's lifetime. */
#define OV_PNS_LINKS 2
#define OV_PNS_PROBES 3 /* at most 3: a 2-bit counter per slot */
#define OV_FINGER_LOOKUPS_PER_TICK 4

/* Failure detection above the link layer (which may take much longer to
 * notice a dead peer): the successor we stabilise with answers every
 * period, and the predecessor notifies us every period, so a neighbour
 * silent for this many stabilise periods is taken as failed. */
#define OV_SILENT_PERIODS 3

/* Shortcut links carry no regular traffic, so their liveness is checked
 * with PING/PONG: a link we route over or asked for, silent (from our side)
 * for OV_PING_IDLE_TICKS shortcut periods (fix_fingers_ns), is pinged; one
 * silent for OV_DEAD_IDLE_TICKS periods is no longer routed through (until
 * the peer speaks again), and its slot is looked up afresh. */
#define OV_PING_IDLE_TICKS 2
#define OV_DEAD_IDLE_TICKS 4

/* The first heal lookup after a join comes this soon (then every heal_ns). */
#define OV_EARLY_HEAL_NS (10 * NS_PER_S)

/* Peers remembered for partition healing when no other link is up. */
#define OV_REMEMBER 4

/* Action queue: compact entries plus a byte arena holding the message
 * bytes, allocated on demand and freed when overlay_poll() drains it, so an
 * idle overlay holds no queue memory (10^5 simulated nodes) and a burst
 * costs two allocations, not one per message. A struct ov_action (1.5 KB)
 * is never stored. Bounded so that a driver that stops polling cannot make
 * us grow without limit; overflow is counted in ov_stats.dropped_queue. */
#define OV_QUEUE_MAX 512
#define OV_QUEUE_BYTES_MAX (256 * 1024)

/* Broadcast: origins whose seen window and rate we keep (least recently
 * heard evicted first; ~70 bytes each, allocated as origins appear). */
#define OV_BCAST_ORIGINS 1024
/* Broadcast copies a link may bring that bcast_check refuses: 10 a second,
 * bursts of 20 (GCRA per link). Past it, copies from that link are dropped
 * without a check (bcast_link_dropped): a member that floods forged copies
 * costs its neighbours at most this many signature checks. */
#define OV_BCAST_BAD_RATE 10
#define OV_BCAST_BAD_BURST 20

#endif
