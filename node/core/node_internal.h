/* Private state of the node core, shared by the files in node/core. */
#ifndef RL_NODE_CORE_INTERNAL_H
#define RL_NODE_CORE_INTERNAL_H

#include "crypto/hs.h"
#include "crypto/origin.h"
#include "crypto/sess.h"
#include "node/core/node.h"
#include "node/core/pktq.h"
#include "dht/dht.h"
#include "nat/cand.h"
#include "nat/reflex.h"
#include "overlay/overlay.h"
#include "tap/tap.h"
#include "util/rate.h"

/* Plaintext control messages inside a link: DC_CONTROL_MAGIC, then one
 * channel byte, then the message. */
#define CTL_CH_OVERLAY 1
#define CTL_CH_LINK 2   /* link-local: OBSERVED (reflexive address report) */
#define CTL_CH_RELAY 3  /* proxy tunnel: FWD (to the relay), DLV (from it) */
#define CTL_CH_BDAY 4   /* birthday probing messages on an end-to-end session */
#define CTL_CH_REVOKE 5 /* revocations (node_revoke.c, docs/protocol.md) */
#define CTL_HDR (16 + 1)
#define OCC_EXIT 6 /* OpenVPN occ.h: explicit-exit-notify */
/* Link-local control messages (channel CTL_CH_LINK, docs/protocol.md). */
enum { LINK_MSG_OBSERVED = 1, LINK_MSG_PROBE = 2, LINK_MSG_PROBE_REPLY = 3, LINK_MSG_WANT = 4 };

#define NODE_NEIGH_MAX 16      /* neighbours listed in a PUNCH message */
#define NODE_HINTS_MAX 4       /* relay hints in our DHT NODE record */
#define NODE_HINT_CHECK_NS (30 * NS_PER_S) /* republish when the hints changed */
#define NODE_RELAY_WANT_MAX 8  /* peers we look for a relay to */
#define NODE_RELAY_WANT_NS (60 * NS_PER_S)
#define NODE_UDPQ_MAX 1024     /* datagrams waiting for the driver */
#define NODE_TAPQ_MAX 512      /* frames waiting for the TAP device */
#define NODE_PENDQ_MAX 32      /* frames per link waiting for its handshake */
#define NODE_CTLQ_MAX 16       /* control answers waiting */
#define NODE_RETRY_MIN_NS (1 * NS_PER_S)   /* static peer reconnect backoff */
#define NODE_RETRY_MAX_NS (30 * NS_PER_S)
#define NODE_HS_LOAD_THRESHOLD 200         /* inits/s per path before cookie replies */
#define NODE_HS_WORK_RATE 400              /* inits/s per path given public-key work */
#define NODE_HS_COOKIE_UDP_RATE 10000      /* cookie replies/s to UDP sources */
/* Receive paths of HS_INITs, each with its own load meter (issue 10, 6). */
enum { NODE_HS_UDP = 0, NODE_HS_OVERLAY, NODE_HS_RELAY, NODE_HS_PATHS };
#define NODE_REAP_EVERY_NS (5 * NS_PER_S)
/* A session that stopped sending to its peer (superseded by a direct one,
 * or the loser of two sessions of one pair) still receives packets
 * already on their way for this long after the last frame it carried. */
#define NODE_E2E_LINGER_NS (10 * NS_PER_S)
/* Handshake attempts for links the overlay asks for (1+2+4 s): a dead
 * node must drop out of the ring view in seconds, not minutes. */
#define NODE_OV_CONNECT_TRIES 3
#define NODE_LOG_REFUSE_EVERY_NS (5 * NS_PER_S) /* rate limit of refusal logs */
/* A direct link neither end relies on (LINK_MSG_WANT) and that never
 * carried data is closed after this long without overlay messages. */
#define NODE_UNWANTED_IDLE_NS (30 * NS_PER_S)
/* "I rely on this link" is repeated this often (a lost one is not fatal:
 * the peer would close the link and our overlay would ask for it again). */
#define NODE_WANT_REPEAT_NS (120 * NS_PER_S)
/* A resting bootstrap link still dials now and then (every 300..600 s), so
 * that rings split by a partition find each other again through the
 * bootstrap node; unneeded, it is closed again 30 s after going quiet. */
#define NODE_BOOT_RECHECK_NS (300 * NS_PER_S)

enum link_path { LINK_PATH_DIRECT = 0, LINK_PATH_OVERLAY, LINK_PATH_RELAY };

struct ltab {              /* a hash table of link pointers (link.c) */
  struct link **t;
  unsigned cap, n;           /* cap: 0 or a power of two */
};

/* A token bucket of revocation signature checks (node_revoke.c). All
 * zero = full. */

struct link {
  bool used;
  struct sess s;
  struct node *node;         /* owner (timer heap updates from the session) */
  unsigned th_pos;           /* position in node->th (NODE_TH_NONE: not in it) */
  unsigned arr_pos;          /* position in node->links */
  bool peer_indexed;         /* in node->pxt */
  bool was_established;      /* edge detector for "link up" */
  int static_idx;            /* index into cfg.peers / bootstrap, or -1 */
  bool bootstrap;
  bool pinned;
  uint8_t pin_pk[RL_PK_LEN];
  uint8_t mac[6];            /* valid when s.have_peer */
  struct rate_bucket rv_budget; /* signature checks of its revocations */
  uint64_t retry_at_ns;      /* static peer: restart the session then (0: not waiting) */
  uint64_t retry_backoff_ns;
  struct pktq pending;       /* frames waiting for keys */
  bool via_overlay;          /* end-to-end session carried by overlay routing */
  bool ov_up;                /* the overlay was told this link is up */
  bool ov_wanted;            /* the overlay asked for this link */
  bool has_expect;           /* opened toward a known overlay ID */
  uint8_t expect_id[RL_ID_LEN];
  uint64_t last_data_ns;     /* last frame sent or received (idle close) */
  uint64_t retire_at_ns;     /* receive-only, freed then (link_tx never picks it) */
  /* The peer holds this session: we initiated its key (its HS_RESP came)
   * or it sent us data under it. Only a proven session takes over sending
   * from another one of the same pair (link_settle). */
  bool proven;
  uint64_t probe_sent_ns;    /* liveness probe outstanding since (0: none) */
  uint32_t probe_nonce;
  uint8_t probe_phase;       /* 1: probe sent, 2: fresh handshake started */
  /* overlay-carried (end-to-end) links: relay and background direct tries */
  bool has_relay;
  uint8_t relay_id[RL_ID_LEN];
  uint8_t n_refused;         /* relays that refused this pair: not chosen again */
  uint8_t refused_ids[4][RL_ID_LEN];
  uint64_t next_direct_ns;   /* next attempt at a direct link */
  uint64_t direct_backoff_ns;
  /* Relayed links: liveness of the path through the relay in use (an
   * e2e PROBE through it when we sent and heard nothing back through it;
   * probe_sent_ns/probe_nonce above), and a standby relay whose path was
   * checked the same way, taken at once when the relay in use goes silent. */
  uint64_t relay_tx_ns, relay_rx_ns; /* last sent / authenticated heard via relay_id */
  bool has_standby;
  uint8_t standby_id[RL_ID_LEN];
  uint64_t standby_probe_ns; /* probe through the standby outstanding since (0: none) */
  uint32_t standby_nonce;
  uint64_t standby_ok_ns;    /* last answer through the standby (0: none yet) */
  struct {                   /* relays left for silence, standbys that did not
                              * answer: not chosen again for a while */
    uint8_t id[RL_ID_LEN];
    uint64_t at_ns;          /* 0: free */
  } shunned[2];
  /* Who relies on this link (LINK_MSG_WANT, docs/protocol.md): a link
   * neither end's overlay wants, that never carried data, is closed soon
   * after it goes quiet instead of after idle_link_ns. */
  bool carried_data;         /* frames, relayed packets or a data connect */
  bool peer_speaks_want;     /* the peer sent LINK_MSG_WANT at least once */
  bool peer_wants;           /* ... and its last one said "I rely on it" */
  bool told_want_valid, told_want; /* what we last told the peer */
  uint64_t want_sent_ns;
  /* A bootstrap link that went down while we are in the ring rests (no
   * retries, no timers) until we lose the ring: a bootstrap node does not
   * keep a link to every member that ever joined through it. */
  bool dormant;
  uint64_t wake_at_ns;       /* dormant: dial once more then (ring merge) */
  /* Direct links: the local socket the session uses (0: the main one; an
   * extra one when birthday probing found the path there). It follows
   * authenticated input, like the endpoint. */
  uint16_t sock;
  uint16_t resp_sock;        /* the socket an HS_RESP to s.resp_to goes from */
  uint8_t first_ttl;         /* the next HS_INIT goes with this IP TTL (0: default) */
  /* Paths (path.c): via_overlay / has_relay / s.endpoint + sock above say
   * how the session sends; these say what was heard by which path. */
  uint64_t path_rx_ns;       /* last authenticated packet by the path we send on */
  uint64_t rehs_ns;          /* a fresh handshake checks the peer since (0: none) */
  uint64_t path_down_ns;     /* we left a silent direct path then (0: never) */
  struct rl_addr path_down_ep; /* ... at this endpoint */
  bool rx_any;               /* rx_key/rx_hi valid */
  uint8_t rx_key;            /* key id and packet id of the newest packet heard */
  uint64_t rx_hi;
  uint32_t rx_tag;           /* the path it came by (tag), last heard then: */
  uint64_t rx_tag_ns;
  uint32_t rx_last_tag;      /* the path of the packet being handled */
  struct path_hold *hold;    /* frames waiting for older ones (NULL: none) */
  uint64_t hold_until_ns;    /* 0: nothing waits */

};

struct node_counters {
  uint64_t udp_in, udp_bad, udp_no_link, hs_refused, hs_replay, hs_cookie;
  uint64_t hs_cookie_routed, hs_shed; /* cookie replies sent back over overlay/relay; INITs shed */
  uint64_t hs_cookie_unsent;          /* UDP cookie replies over their budget */
  uint64_t tap_in, tap_too_big, tap_runt, tap_no_route, frame_spoofed;
  uint64_t pending_overflow, arp_answered, arp_announced;
  uint64_t ov_send_no_link, ov_too_big, e2e_in, e2e_bad, links_idle_closed;
  uint64_t test_routes_dropped; /* node_test_route() arrivals, queue full */
  uint64_t resolve_full, resolve_failed, connects_on_demand;
  uint64_t punches_sent, punches_received, relay_forwarded, relay_refused, relay_no_route,
      relay_refused_src, relay_refused_total,
      relayed_pairs, ctl_bad, probes_sent, links_failed_fast, relay_failovers;
  /* birthday probing (node_bday.c) */
  uint64_t bday_attempts, bday_punches, bday_probes, bday_hits, bday_direct;
  uint64_t bday_over_budget; /* requests declined: over the probe budget */
  uint64_t tcp_fallbacks;    /* TCP twins started for unanswered UDP endpoints */
  /* paths (path.c) */
  uint64_t path_switches, path_holds, path_held;
  /* routed messages bound to their sender (node_routed.c) */
  uint64_t routed_unsigned;  /* PUNCH / DHT GET without an origin proof: dropped */
  uint64_t routed_bad_origin; /* origin proof that did not verify: dropped */
  uint64_t punches_capped, gets_capped, punch_links_capped; /* over a rate cap */
  uint64_t routed_replayed;  /* signed PUNCH / GET acted on before (node_seen.c): dropped */
  uint64_t ov_dials_capped;  /* ring-link endpoints not dialled: over budget (node_dial.c) */
  uint64_t cands_refused;    /* loopback, link-local, ... or own-LAN candidates */
  uint64_t links_refused_full; /* NODE_LINKS_MAX reached */
  /* revocation (node_revoke.c) */
  uint64_t revocations, links_expired;
  uint64_t revocations_from_dht; /* learnt from a DHT lookup answer */
  uint64_t revoke_checks_dropped; /* over the signature-check budget */
  /* broadcast and multicast frames (lan_bcast.c, lan_mcast.c) */
  uint64_t bcast_out;        /* frames we broadcast over the overlay tree */
  uint64_t bcast_in;         /* members' frames written to our TAP */
  uint64_t bcast_bad;        /* copies refused (proof, header, frame check) */
  uint64_t bcast_unjoined;   /* multicast for a group our host is not in */
  uint64_t bcast_frag_lost;  /* frames a piece of which never came */
  uint64_t bcast_too_big;    /* frames over LAN_BC_PIECES_MAX pieces */
  uint64_t bcast_rate_dropped; /* frames over our broadcast rate */
  uint64_t bcast_fallback;   /* frames sent on our links (not in a ring yet) */
  uint64_t mcast_bad;        /* IGMP / MLD from our host that did not parse */
};

#define NODE_PUNCH_TRIES 5         /* handshake tries per candidate (31 s) */
/* A PUNCH_REQ is padded so that the handshakes it asks for are paid for:
 * this many HS_INITs' worth of bytes (docs/security.md, finding 2). */
#define NODE_PUNCH_PAID_INITS 3
#define NODE_DIRECT_RETRY_MIN_NS (5 * NS_PER_S)
#define NODE_DIRECT_RETRY_MAX_NS (600 * NS_PER_S)
#define NODE_RELAY_BUCKETS 64
#define NODE_RELAY_SRC_BUCKETS 64
#define NODE_NAT_TICK_NS (1 * NS_PER_S)
/* Failure detection when traffic goes unanswered: we sent, heard nothing
 * for SUSPECT, so we probe; no answer within PROBE_WAIT: the link is dead. */
#define NODE_SUSPECT_NS (3 * NS_PER_S)
#define NODE_PROBE_WAIT_NS (3 * NS_PER_S)
#define NODE_REHANDSHAKE_WAIT_NS (6 * NS_PER_S)
/* The same on relayed links, faster (the standby relay is a ready path, so
 * a false alarm costs little): sent and heard nothing back through the
 * relay for SUSPECT -> probe through it; no answer within WAIT -> switch
 * to the standby relay. The standby's path is probed every CHECK and
 * counts as checked for FRESH after an answer; a relay left for silence is
 * not chosen again for SHUNNED. */
#define NODE_RELAY_SUSPECT_NS (1 * NS_PER_S)
#define NODE_RELAY_PROBE_WAIT_NS (1 * NS_PER_S)
#define NODE_STANDBY_CHECK_NS (5 * NS_PER_S)
#define NODE_STANDBY_FRESH_NS (12 * NS_PER_S)
#define NODE_RELAY_SHUNNED_NS (30 * NS_PER_S)
#define NODE_RESOLVE_MAX 64        /* DHT lookups under way for the LAN/CLI */
#define NODE_VIPC_MAX 1024         /* vip -> member cache */
#define NODE_VIPC_TTL_NS (120 * NS_PER_S)
/* An ARP lookup in the DHT still under way after this long is started
 * again (the DHT's own lookup gives up well before: RPC timeout 2 s). */
#define NODE_ARP_LOOKUP_MAX_NS (10 * NS_PER_S)
#define NODE_PEER_CACHE_EVERY_NS (10 * NS_PER_S)
#define NODE_PEER_CACHE_MAX 16

/* RS_CHECK: a new session's peer, looked up for a revocation record at its
 * NODE key (docs/security.md, "The DHT copy"). RS_MOVED: the holder of a
 * virtual IP the kernel sent to a MAC no member has (node_dht.c). */
enum resolve_kind { RS_ARP = 1, RS_CONNECT, RS_CTL_VIP, RS_CTL_NODE, RS_CHECK, RS_MOVED };

/* How often a frame to a MAC no member has makes the node look again who
 * holds the frame's destination address, per address; the table of the
 * latest such looks. */
#define NODE_RECHECK_NS NS_PER_S
#define NODE_RECHECK_MAX 16

struct resolve {
  bool used;
  uint8_t kind;
  uint32_t cookie;
  uint32_t vip;
  uint8_t id[RL_ID_LEN];
  uint32_t ctl_cookie;
  uint64_t started_ns;
  struct tap_frame_info arp; /* RS_ARP: the request to answer */
  uint8_t stale_mac[6];      /* RS_MOVED: where the kernel sent to */
};

struct vip_entry {
  uint32_t vip;
  uint8_t id[RL_ID_LEN];
  uint8_t mac[6];
  uint64_t expires_ns;
};

#define NODE_NEIGH_CACHE 32
/* What a peer told us (PUNCH) about its own links: relay candidates. */
struct neigh_info {
  uint8_t id[RL_ID_LEN];
  uint64_t at_ns;
  uint8_t n;
  struct {
    uint8_t id[RL_ID_LEN];
    uint16_t rtt_ms;
  } nb[NODE_NEIGH_MAX];
};

/* Rate caps on work done for routed messages (node_routed.c): token
 * buckets, one per kind in total and per kind for NODE_LIM_SOURCES
 * senders (the least recently used one is replaced). */
enum node_lim_kind { NODE_LIM_PUNCH = 0, NODE_LIM_GET, NODE_LIM_LINK, NODE_LIM_KINDS };
#define NODE_LIM_SOURCES 64
struct node_bucket {
  uint8_t id[RL_ID_LEN];
  struct rate_bucket b;      /* b.started false: slot unused */
};
struct node_limits {
  struct node_bucket all[NODE_LIM_KINDS];
  struct node_bucket src[NODE_LIM_KINDS][NODE_LIM_SOURCES];
};
/* Links the node holds at most (every kind): link_new refuses more. */
#define NODE_LINKS_MAX 16384

struct relay_bucket {
  uint8_t src[RL_ID_LEN], dst[RL_ID_LEN];
  struct rate_bucket b;      /* bytes */
  uint64_t used_ns;          /* least recently used goes first */
};

/* Relay budget of one source member over all its pairs (issue 10, 7). */
struct relay_src_bucket {
  uint8_t src[RL_ID_LEN];
  struct rate_bucket b;      /* bytes */
  uint64_t used_ns;
};

struct ctl_answer {
  uint32_t cookie;
  uint16_t len;
  char buf[2048];
};

struct node {
  struct node_config cfg;
  const struct rl_env *env;
  struct hs_identity hid;
  struct hs_responder resp;
  struct cookie_meter hs_meter[NODE_HS_PATHS]; /* load per receive path */
  struct rate_bucket hs_cookie_udp;            /* NODE_HS_COOKIE_UDP_RATE */
  struct sess_params sp;
  uint8_t mac[6];
  uint16_t tap_mtu;
  /* Links are allocated one by one and not moved while a call is under
   * way, so a pointer held across a call that opens or closes other links
   * stays valid; a closed link keeps its memory (used = false) until the
   * idle reaper (node_on_timer, holding no link pointers) releases it. */
  struct link **links;
  unsigned n_links;          /* slots in use or free below this */
  unsigned cap_links;
  /* Every used link, as a binary min-heap on link_timer(): the next link
   * timer is th[0], and a timer event visits only the links that are due
   * (a bootstrap node may hold thousands of links). */
  struct link **th;
  unsigned th_n, th_cap;
  /* Used links by session index (open addressing, linear probing): the
   * demux of every datagram. */
  struct ltab ixt;
  /* Links whose session knows its peer, by peer ID (several per peer may
   * exist: direct and overlay-carried, a superseded one). */
  struct ltab pxt;
  struct pktq udpq, tapq;
  struct node_counters c;
  uint64_t last_refuse_log_ns;
  uint64_t started_ns;
  bool leaving;
  struct overlay *ov;
  struct dht *dht;
  /* The pumps drain actions into n->act / n->dact; handling one action may
   * produce more (nested sends), which must not overwrite the action being
   * handled: a nested pump returns at once and the outer loop goes on. */
  bool ov_pumping, dht_pumping;
  bool published;            /* own VIP/NODE records handed to the DHT */
  struct resolve *rs;        /* NODE_RESOLVE_MAX, allocated on first use */
  struct vip_entry *vipc;    /* NODE_VIPC_MAX, allocated on first use */
  unsigned n_vipc;
  struct {
    uint32_t vip;
    uint64_t at_ns;
  } recheck[NODE_RECHECK_MAX]; /* vip_recheck's latest looks */
  uint32_t cookie_seq;
  uint64_t next_peer_cache_ns;
  /* Our own addresses with the port we listen on: the bound address, or,
   * bound to a wildcard, the interface addresses the driver reports
   * (node_set_local_addrs): host candidates, and never dialled. */
  struct rl_addr local[NODE_LOCAL_MAX];
  unsigned n_local;
  struct nat_obs obs;        /* what peers see of us */
  enum nat_class nat_class;
  bool has_reflexive;
  struct rl_addr reflexive;
  struct relay_bucket *rb;   /* NODE_RELAY_BUCKETS, allocated on first relay */
  struct relay_src_bucket *rsb; /* NODE_RELAY_SRC_BUCKETS, with rb */
  struct rate_bucket relay_total; /* bytes, everything we relay */
  struct neigh_info *nc;     /* up to NODE_NEIGH_CACHE, grown on use */
  unsigned nc_cap;
  uint64_t next_nat_tick_ns;
  uint64_t relay_check_ns;   /* next liveness check of relayed links (0: none) */
  bool has_mapped;           /* a router maps a port to us (UPnP/NAT-PMP) */
  struct rl_addr mapped;
  char mapped_method[8];
  bool ov_joined_once;
  uint64_t next_reap_ns;     /* idle-link reaper period */
  bool tcp_mode;             /* reaching others over TCP only: dial TCP candidates */
  struct ctl_answer *ctlq;   /* NODE_CTLQ_MAX answers, allocated on first use */
  unsigned ctl_head, ctl_n;
  /* relay hints published in our NODE record; peers we seek a relay to */
  uint8_t pub_hints[NODE_HINTS_MAX][RL_ID_LEN];
  uint8_t n_pub_hints;
  uint64_t next_hint_ns;
  struct {
    uint8_t id[RL_ID_LEN];
    uint64_t from_ns, until_ns; /* until_ns 0: free */
    bool for_overlay;
  } relay_want[NODE_RELAY_WANT_MAX];
  struct { uint32_t cookie; uint8_t hops; } test_dl[NODE_TEST_ROUTES_MAX];
  unsigned n_test_dl;        /* node_test_route() arrivals not yet polled */
  struct node_scratch *sc;   /* own, or shared (cfg.scratch) */
  bool own_sc;
  unsigned rx_sock;          /* the socket of the datagram being handled */
  struct node_bday *bd;      /* birthday probing (node_bday.c), on first use */
  struct node_replay *rp;    /* newest HS_INIT per peer (node_replay.c), on first use */
  struct origin_cache *oc;   /* verified certificates of routed senders, on first use */
  struct node_limits *lim;   /* rate caps (node_routed.c), on first use */
  struct node_seen *seen;    /* origin proofs acted on (node_seen.c), on first use */
  uint64_t origin_last_ms;   /* the last stamp we sealed a routed message with (unix ms) */
  struct node_dial *dial;    /* ring-link dial budget (node_dial.c), on first use */
  unsigned n_rp;
  struct revoke_set revoked; /* revoked members (node_revoke.c) */
  struct rate_bucket rv_budget; /* checks of revocations from all links */
  uint64_t next_revoke_sync_ns;
  struct lan_reasm *reasm;   /* LAN_REASM_MAX broadcast frames (lan_bcast.c), on first use */
  struct tap_mcast_table *mq; /* the host's multicast groups (lan_mcast.c) */
};

/* Working memory of one call into a node (not on the stack: simulator
 * stacks stay small); nothing in it survives the call. */
struct node_scratch {
  struct ov_action act;      /* overlay_poll (large) */
  struct dht_action dact;    /* dht_poll (large) */
  uint8_t pt[NODE_UDP_MAX];
  uint8_t pkt[NODE_UDP_MAX];
};

/* lan_bcast.c */
#define LAN_BC_HDR 14            /* epoch seq nfrag idx total offset */
#define LAN_BC_PIECES_MAX 4      /* pieces of one frame */
#define LAN_REASM_MAX 8          /* frames being put together at once */
#define LAN_REASM_NS (2 * NS_PER_S) /* a frame's pieces arrive within */
struct lan_bc_hdr {
  uint32_t epoch, seq;
  uint8_t nfrag, idx;
  uint16_t total, off;
  const uint8_t *piece;
  size_t len;
};
/* Parses and checks a piece header and its length (the even split);
 * RL_ETRUNC / RL_EPARSE. */
int lan_bc_hdr_parse(const uint8_t *p, size_t len, struct lan_bc_hdr *h);
int lan_bcast_send(struct node *n, const uint8_t *frame, size_t len, uint64_t now);
bool lan_bcast_check(void *ctx, const uint8_t origin[RL_ID_LEN], uint32_t epoch, uint32_t seq,
                     uint8_t app, const uint8_t *payload, size_t len, uint64_t now);
void lan_bcast_deliver(struct node *n, const struct ov_action *a, uint64_t now);
void lan_bcast_free(struct node *n);

/* lan_mcast.c */
struct tap_frame_info;
struct tap_mcast_rec;
void lan_mcast_start(struct node *n, uint64_t now);
void lan_mcast_free(struct node *n);
/* An IGMP / MLD frame from our host: consumed (true), memberships noted. */
bool lan_mcast_from_tap(struct node *n, const struct tap_frame_info *fi, const uint8_t *f,
                        size_t len, uint64_t now);
/* Whether a group-addressed frame of another member goes to our host. */
bool lan_mcast_host_wants(struct node *n, const struct tap_frame_info *fi, uint64_t now);
uint64_t lan_mcast_next_timer(const struct node *n);
void lan_mcast_on_timer(struct node *n, uint64_t now);
/* The groups our host is in (up to cap written); returns how many. */
size_t lan_mcast_groups(const struct node *n, struct tap_mcast_rec *out, size_t cap,
                        uint64_t now);

/* link.c */
#define NODE_TH_NONE UINT32_MAX
/* When the link next needs node_on_timer: its static-peer retry, or its
 * session's timer. */
static inline uint64_t link_timer(const struct link *l) {
  uint64_t t = l->retry_at_ns ? l->retry_at_ns : l->s.timer_ns;
  return l->hold_until_ns && l->hold_until_ns < t ? l->hold_until_ns : t;
}
/* After a change of l->retry_at_ns (the session's own changes are seen). */
void link_timer_changed(struct node *n, struct link *l);
void link_tables_free(struct node *n);
struct link *link_new(struct node *n, const struct rl_addr *ep, uint64_t now);
void link_free(struct node *n, struct link *l);
struct link *link_by_index(struct node *n, uint32_t index);
/* One sending session per pair. A pair may hold several sessions for a
 * moment (a direct one replacing an overlay-carried one, two handshakes
 * that crossed); every live one decrypts, one sends: link_tx, in an order
 * both ends agree on (established, proven, direct before end-to-end, then
 * the session whose index at the lower overlay ID's end is smaller). The
 * others retire (receive-only) once the winner is proven. kinds: the
 * paths allowed; skip: a link not to return (may be NULL). May return a
 * link that is not established yet (frames wait in its pending queue). */
enum { LINK_TX_DIRECT = 1, LINK_TX_RELAY = 2, LINK_TX_OVERLAY = 4, LINK_TX_ANY = 7 };
struct link *link_tx(struct node *n, const uint8_t id[RL_ID_LEN], unsigned kinds,
                     const struct link *skip);
/* The link that answers an HS_INIT from id (sender_index: its session's
 * index at id): the session it continues (retransmission, rekey), else a
 * handshake of ours toward id (the simultaneous-initiation tie-break
 * decides). Else, direct: NULL, a new session beside any live one, which
 * keeps decrypting what is on its way (answering in place would drop that,
 * and black-holed the pair when the peer then kept its old session);
 * link_settle picks one, a restarted peer's dead one fails its liveness
 * probe. End-to-end: the live end-to-end session, in place (a member opens
 * one only when it holds none with us, so it lost ours). */
struct link *link_for_init(struct node *n, const uint8_t id[RL_ID_LEN], uint32_t sender_index,
                           bool via_overlay, const struct rl_addr *from);
/* An authenticated packet arrived on l (data: a frame or control message,
 * not a keepalive): l is proven, and a retiring l lingers on. */
void link_rx(struct node *n, struct link *l, bool data, uint64_t now);
/* o stops sending for its pair, t takes over (o's peer does not hold o). */
void link_retire_now(struct node *n, struct link *o, struct link *t, uint64_t now);
struct link *link_by_endpoint_unknown(struct node *n, const struct rl_addr *ep);
struct link *link_to_endpoint(struct node *n, const struct rl_addr *ep);
struct link *link_by_mac(struct node *n, const uint8_t mac[6]);
void link_flush_sess(struct node *n, struct link *l, uint64_t now);
void link_peer_exited(struct node *n, struct link *l, uint64_t now);
/* Closes l now, whatever its state (revoked or expired peer): a
 * configured peer retries after its backoff, any other link is freed. */
void link_close(struct node *n, struct link *l, uint64_t now);
void link_after_event(struct node *n, struct link *l, uint64_t now);
int link_send_plain(struct node *n, struct link *l, const uint8_t *pt, size_t len,
                    uint64_t now);
/* A control message on channel ch of an established link (CONTROL_MAGIC,
 * channel byte, msg). msg may not live in n->pt. */
void link_send_ctl(struct node *n, struct link *l, uint8_t ch, const uint8_t *msg, size_t len,
                   uint64_t now);
/* OpenVPN's explicit-exit-notify (OCC_EXIT) on a direct established link,
 * sent at once: the peer closes now instead of after its timeout. */
void link_send_exit(struct node *n, struct link *l, uint64_t now);

/* The path of a link, from how it is carried (status, logs). */
static inline enum link_path link_path(const struct link *l) {
  return !l->via_overlay ? LINK_PATH_DIRECT : l->has_relay ? LINK_PATH_RELAY : LINK_PATH_OVERLAY;
}

/* path.c: the paths of a session (see the comment at its top) */
/* Frames that came over a new path wait this long at most for older ones
 * still on their way over the path left (NODE_HOLD_MAX of them at most),
 * when that path was heard within NODE_HOLD_RECENT_NS. */
#define NODE_HOLD_NS (250 * NS_PER_MS)
#define NODE_HOLD_MAX 256
#define NODE_HOLD_RECENT_NS (1 * NS_PER_S)
/* A direct endpoint left for silence is not taken again on the peer's
 * word (a packet from it) for this long; a new punch may. */
#define NODE_PATH_HOLDDOWN_NS (30 * NS_PER_S)
struct path_hold;
/* An authenticated data packet of l arrived (sess_recv() >= 0, so
 * l->s.rx_pid / rx_key_id are its ids): directly from `from` on local
 * socket sock (routed false), or routed: through relay, or over the
 * overlay (relay NULL). data: a frame or control message, not a keepalive.
 * probe: an end-to-end PROBE or PROBE_REPLY (it checks a path, maybe not
 * the one in use: never a reason to move).
 * Keeps path liveness and decides whether to follow the peer to the
 * path it sends on (mv). */
enum { PATH_MOVE_NONE = 0, PATH_MOVE_DIRECT, PATH_MOVE_ROUTED, PATH_MOVE_RELAY,
       PATH_MOVE_UNRETIRE };
struct path_move {         /* what path_follow is to do */
  uint8_t kind;
  bool release;              /* the held frames go out (after this packet's) */
  bool has_relay;
  uint8_t relay[RL_ID_LEN];
  struct rl_addr from;
  unsigned sock;
};
void path_heard(struct node *n, struct link *l, const struct rl_addr *from, unsigned sock,
                bool routed, const uint8_t *relay, bool data, bool probe,
                struct path_move *mv, uint64_t now);
/* Then, once the packet's plaintext (n->sc->pt) was delivered: the move
 * path_heard decided (it sends, so it must not run before). */
void path_follow(struct node *n, struct link *l, const struct path_move *mv, uint64_t now);
/* Plaintext of l after path_heard: a frame may wait for older ones. */
void path_deliver(struct node *n, struct link *l, const uint8_t *pt, size_t len, uint64_t now);
void path_on_timer(struct node *n, struct link *l, uint64_t now);
void path_free(struct link *l);
/* d (direct, established, proven) lends its path to e (end-to-end,
 * established, proven), which sends by it from now on; d retires. */
void path_adopt(struct node *n, struct link *e, struct link *d, uint64_t now);
void path_use_direct(struct node *n, struct link *l, const struct rl_addr *ep, unsigned sock,
                     const char *why, uint64_t now);
/* relay NULL: overlay-routed (a relay is chosen at the next NAT tick). */
void path_use_routed(struct node *n, struct link *l, const uint8_t *relay, const char *why,
                     uint64_t now);
/* The direct path of l went silent: its packets go routed from now on. */
void path_leave_direct(struct node *n, struct link *l, uint64_t now);
/* l may move onto the overlay (a member of the ring, keys up). */
bool path_can_route(const struct node *n, const struct link *l);

/* control.c */
int ctl_answer(struct node *n, uint32_t cookie, const char *json, size_t len);
void ctl_free(struct node *n);

/* node_overlay.c */
int node_ov_init(struct node *n, uint64_t now);
void node_ov_link_up(struct node *n, struct link *l, uint64_t now);
void node_ov_link_down(struct node *n, struct link *l, uint64_t now);
/* from (retiring) stops carrying the overlay to its peer: to takes over
 * without a down/up event when it can carry the overlay. */
void node_ov_handover(struct node *n, struct link *from, struct link *to, uint64_t now);
void node_ov_control(struct node *n, struct link *l, const uint8_t *msg, size_t len,
                     uint64_t now);
void node_ov_pump(struct node *n, uint64_t now);
int node_ov_send_pkt(struct node *n, struct link *l, const uint8_t *pkt, size_t len,
                     uint64_t now);
uint64_t node_ov_next_timer(const struct node *n);
void node_ov_on_timer(struct node *n, uint64_t now);

/* node_dht.c */
int node_dht_init(struct node *n, uint64_t now);
void node_dht_free(struct node *n);
void node_dht_pump(struct node *n, uint64_t now);
uint64_t node_dht_next_timer(const struct node *n);
void node_dht_on_timer(struct node *n, uint64_t now);
/* An ARP request from our TAP: answered now, or after a DHT lookup. */
void node_arp_request(struct node *n, const struct tap_frame_info *fi, uint64_t now);
/* A unicast frame to a MAC with no link: open one on demand. */
int node_frame_no_link(struct node *n, const uint8_t *f, size_t len, uint64_t now);
/* Remembers the endpoints of our established direct links (store meta
 * "peers") for the next start; also called at graceful leave. */
void node_save_peer_cache(struct node *n, uint64_t now);
/* (Re)publishes this node's NODE record with its current candidates. */
void node_publish_endpoints(struct node *n, uint64_t now);
/* ringlan lookup for something no link knows: through the DHT. */
int node_dht_lookup(struct node *n, bool by_ip, uint32_t vip, const uint8_t id[RL_ID_LEN],
                    uint32_t ctl_cookie, uint64_t now);

/* node_revoke.c */
enum { REVOKE_MSG_ONE = 1, REVOKE_MSG_DIGEST = 2 };
#define REVOKE_SYNC_NS (30 * NS_PER_S) /* digest exchange on every session */
#define REVOKE_PUSH_MAX 64             /* revocations sent per digest mismatch */
/* Signature checks of revocations that came over links (one Ed25519
 * verification each): per link a burst of one digest answer and 4/s, in
 * all 256 and 32/s (about 2 ms of CPU per second). Beyond: dropped
 * unchecked and counted (revoke_checks_dropped); a genuine one comes
 * again with the next digest exchange (docs/security.md). */
#define REVOKE_CHECK_LINK_BURST REVOKE_PUSH_MAX
#define REVOKE_CHECK_LINK_PER_S 4
#define REVOKE_CHECK_ALL_BURST 256
#define REVOKE_CHECK_ALL_PER_S 32
/* u8 REVOKE_MSG_DIGEST | u8 want_reply | u32be count | digest[16] */
#define REVOKE_DIGEST_MSG_LEN (1 + 1 + 4 + REVOKE_DIGEST_LEN)
/* Loads cfg.revoked and the store's revocations; points the handshake at
 * the set. After node_dht_init (records of revoked owners are dropped). */
int node_revoke_init(struct node *n, uint64_t now);
void node_revoke_free(struct node *n);
/* A session came up: send our digest. */
void node_revoke_link_up(struct node *n, struct link *l, uint64_t now);
/* A CTL_CH_REVOKE message (msg after the channel byte). */
void node_revoke_recv(struct node *n, struct link *l, const uint8_t *msg, size_t len,
                      uint64_t now);
/* Periodic (reap_idle): closes sessions whose peer certificate expired;
 * sends digests every REVOKE_SYNC_NS. */
void node_revoke_tick(struct node *n, uint64_t now);
/* A lookup answered with a revocation record (the key's member is
 * revoked): applies it like one from a peer (closes, floods, persists; not
 * published again). 1 (new), 0 (known) or a negative RL_E*. */
int node_revoke_from_dht(struct node *n, const struct dht_record *rec, uint64_t now);
/* node_dht.c: once this member has joined, looks id up in the DHT (its
 * NODE key, where a revocation of id sits) unless a check of id runs or id
 * is revoked; a revocation found is applied. The DHT's 60 s result cache
 * makes repeated checks of one peer free. */
void node_dht_check_peer(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t now);
/* node_dht.c: forgets the vip cache entries of id. */
void node_vipc_forget(struct node *n, const uint8_t id[RL_ID_LEN]);

/* node_nat.c */
void node_nat_link_up(struct node *n, struct link *l, uint64_t now);
/* Tells the peer of a direct established link whether we rely on it
 * (LINK_MSG_WANT), when that changed or is due for repetition. */
void node_link_tell_want(struct node *n, struct link *l, uint64_t now);
/* In the ring: joined, with a successor and an established direct link
 * that is not a resting bootstrap link. */
bool node_in_ring(struct node *n);
void node_nat_control(struct node *n, struct link *l, const uint8_t *msg, size_t len,
                      uint64_t now);
/* A PUNCH (or birthday message) from src, whose origin proof checked.
 * paid: the bytes src sent for it (the signed message), the budget of
 * handshakes toward candidates that never answered (docs/security.md). */
void node_nat_punch_recv(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t *msg,
                         size_t len, size_t paid, uint64_t now);
/* c is an address a peer may make us dial: not loopback, link-local,
 * multicast, unspecified, broadcast or in the virtual LAN, and not in our
 * own LAN (a private address in the /24 or /64 of one of our interface
 * addresses) unless cfg.lan_candidates is NODE_LAN_CANDS_YES, or
 * NODE_LAN_CANDS_SAME_SITE and same_site (node_nat_same_site of the
 * peer's list). Refusals are counted. */
bool node_nat_cand_allowed(struct node *n, const struct rl_addr *a, bool same_site);
/* The peer whose (authenticated) candidates are c[0..nc) is on our site:
 * one of its reflexive or mapped candidates has our reflexive IP (one NAT
 * in front of both), or neither of us is seen through a NAT (our reflexive
 * IP is one of our interface addresses, and it lists no reflexive or
 * mapped candidate: a flat LAN). False while we know no reflexive address
 * of ours. docs/security.md, finding 2. */
bool node_nat_same_site(const struct node *n, const struct nat_cand *c, unsigned nc);
/* Opens direct links to every candidate of id, and asks id (over the
 * overlay) to punch toward ours at the same time. */
void node_nat_connect(struct node *n, const uint8_t id[RL_ID_LEN], const struct nat_cand *c,
                      unsigned nc, uint64_t now);
void node_nat_punch_request(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t now);
/* Sends a packet of an end-to-end session through its relay. RL_ENOENT:
 * the relay is gone (the caller falls back to overlay routing). */
int node_nat_relay_send(struct node *n, struct link *l, const uint8_t *pkt, size_t len,
                        uint64_t now);
unsigned node_nat_candidates(const struct node *n, struct nat_cand *c, unsigned max);
/* a is one of our own addresses (the bound one or an interface's): not a
 * peer to dial. */
bool node_is_own_addr(const struct node *n, const struct rl_addr *a);
/* a is of a family we have an address of (IPv4 while nothing is known):
 * worth a handshake. */
bool node_can_dial(const struct node *n, const struct rl_addr *a);
/* n->local from the config: the bound address when it is concrete. */
void node_local_init(struct node *n);
/* Our candidates changed (reflexive, mapped): tell the overlay, republish
 * the NODE record, and retry direct paths that punching missed. */
void node_nat_endpoints_changed(struct node *n, uint64_t now);
/* The overlay's direct attempts toward id all failed: carry the overlay
 * link over a relay instead (an end-to-end session through a neighbour we
 * share). Returns false when no relay is known. */
/* for_overlay: the overlay asked for the link (kept while it wants it);
 * else the idle reaper may close it. */
bool node_nat_relay_link(struct node *n, const uint8_t id[RL_ID_LEN], bool for_overlay,
                         uint64_t now);
/* The DHT NODE record value: our candidates, then relay hints (members we
 * have direct links to). Decoding stores the hints like a PUNCH message's
 * neighbour list. Both return a length / candidate count or RL_E*. */
int node_nat_record_encode(struct node *n, uint8_t *out, size_t cap);
int node_nat_record_decode(struct node *n, const uint8_t id[RL_ID_LEN], const uint8_t *val,
                           size_t len, struct nat_cand *c, unsigned max, uint64_t now);
/* No direct link to id could be opened (or there was no endpoint to try)
 * and no relay is known yet: from delay_ns on keep trying a relay to id for
 * a while (node_nat_on_timer). lookup: fetch id's NODE record first
 * (candidates to try directly, relay hints); without it the hints must
 * come from a PUNCH message. for_overlay as for node_nat_relay_link. */
void node_nat_seek_relay(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t delay_ns,
                         bool lookup, bool for_overlay, uint64_t now);
/* A punch: a direct link from local socket sock to ep, expecting id,
 * handshaking now (NODE_PUNCH_TRIES tries); its first HS_INIT with IP TTL
 * first_ttl (0: default). NULL: out of memory. */
struct link *node_nat_punch_link(struct node *n, const uint8_t id[RL_ID_LEN],
                                 const struct rl_addr *ep, unsigned sock, uint8_t first_ttl,
                                 uint64_t now);
/* An established direct link to id, or NULL. */
struct link *node_nat_direct_up(struct node *n, const uint8_t id[RL_ID_LEN]);
uint64_t node_nat_next_timer(const struct node *n);
void node_nat_on_timer(struct node *n, uint64_t now);
/* Moves e's packets to relay id (the path starts out as heard from now). */
void node_nat_set_relay(struct link *e, const uint8_t id[RL_ID_LEN], uint64_t now);
/* An authenticated packet (r >= 0 from sess_recv, plaintext pt/len) of
 * the end-to-end session l, delivered by relay (NULL: overlay-routed).
 * Follows the peer's choice of relay, and consumes (returns true) the
 * probes that check relayed paths. */
bool node_nat_e2e_recv(struct node *n, struct link *l, const uint8_t *pt, size_t len,
                       const uint8_t *relay, uint64_t now);
/* pt/len is an end-to-end path PROBE or PROBE_REPLY (node_nat_e2e_recv). */
bool node_nat_is_probe(const uint8_t *pt, size_t len);
/* The end-to-end session demux (node_overlay.c), also for relayed packets. */
void node_e2e_recv(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t *pkt, size_t len,
                   uint64_t now, const uint8_t *relay);

/* node_bday.c: birthday probing (nat/bday.h) and the extra sockets */
#define NODE_OP_NAT_PROBE 23   /* datagram opcode of probes and punches */
#define NODE_NAT_PROBE_LEN 12  /* op<<3, 3 zero bytes, token (8) */
/* After a punch exchange with id (its candidates c): starts an attempt
 * later if we are the hard side and plain punching does not succeed. */
void node_bday_consider(struct node *n, const uint8_t id[RL_ID_LEN], const struct nat_cand *c,
                        unsigned nc, uint64_t now);
/* The same from an overlay node descriptor's endpoints (no kinds: a
 * public IPv4 endpoint counts as a reflexive candidate). */
void node_bday_consider_eps(struct node *n, const uint8_t id[RL_ID_LEN],
                            const struct rl_addr *ep, unsigned n_ep, uint64_t now);
/* OV_APP_PUNCH messages of types NAT_BDAY_MSG_REQ / _NAK / _ACK. */
void node_bday_recv(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t *msg,
                    size_t len, uint64_t now);
/* A NODE_OP_NAT_PROBE datagram on socket sock. */
void node_bday_probe_in(struct node *n, unsigned sock, const struct rl_addr *from,
                        const uint8_t *pkt, size_t len, uint64_t now);
uint64_t node_bday_next_timer(const struct node *n);
void node_bday_on_timer(struct node *n, uint64_t now);
void node_bday_free(struct node *n);
/* node_tcp.c (TCP fallback, docs/protocol.md "TCP") */
#define NODE_TCP_FALLBACK_TRIES 3  /* UDP handshake tries (0, 1, 3 s) before a TCP twin */
/* A TCP link we dialled (a static, bootstrap or remembered endpoint, or a
 * TCP candidate), not one a peer opened to us. */
bool node_tcp_outbound(const struct link *l);
/* Appends TCP host candidates (cfg.tcp_listen) to c[0..k); returns the new count. */
unsigned node_tcp_candidates(const struct node *n, struct nat_cand *c, unsigned k, unsigned max);
/* Every NAT tick: TCP mode, TCP twins of unanswered UDP endpoints. */
void node_tcp_on_tick(struct node *n, uint64_t now);
/* Whether to dial candidate c (TCP candidates only in TCP mode). */
bool node_tcp_dial_cand(const struct node *n, const struct nat_cand *c);

/* node_replay.c: HS_INIT replay across sessions */
#define NODE_REPLAY_MAX 1024   /* peers remembered (least recently seen goes) */
#define NODE_REPLAY_FPS 8      /* simultaneous handshakes of one peer told apart */
struct node_replay;
/* RL_EREPLAY: id's HS_INIT with timestamp ts and ephemeral e is not newer
 * than one we have seen (or is that one again). */
int node_replay_check(const struct node *n, const uint8_t id[RL_ID_LEN], uint64_t ts,
                      const uint8_t e[32]);
/* A verified HS_INIT of id (answered or not: its timestamp is genuine). */
void node_replay_note(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t ts,
                      const uint8_t e[32], uint64_t now);
void node_replay_free(struct node *n);

/* lan.c */
enum lan_verdict {
  LAN_OK = 0,
  LAN_ADDR,       /* claims a MAC, IPv4 or IPv6 address that is not the member's */
  LAN_VLAN,       /* tagged, and tags are not accepted (or more than TAP_MAX_VLAN) */
  LAN_MALFORMED,  /* ARP/IPv4/IPv6 that cannot be read, yet a receiver might */
  LAN_ROLE,       /* router advertisement, redirect, DHCP(v6) server message */
};
/* The source policy for a classified frame from the member with this MAC
 * and certified virtual IPv4 address (host byte order); allow_vlan is
 * node_config.lan_vlan. Pure (fuzzed by tests/fuzz/fuzz_lan_frame.c). */
enum lan_verdict lan_frame_check(const struct tap_frame_info *fi, const uint8_t mac[6],
                                 uint32_t vip, bool allow_vlan);
void lan_deliver_frame(struct node *n, struct link *l, const uint8_t *f, size_t len,
                       uint64_t now);

/* node_routed.c: routed messages bound to their sender, rate caps */
/* Routes (app, data) to key with an origin proof (OV_APP_SIGNED,
 * crypto/origin.h). Returns overlay_route's result or RL_ETOOBIG. */
int node_route_signed(struct node *n, const uint8_t key[RL_ID_LEN], int mode, uint8_t app,
                      const uint8_t *data, size_t len, uint64_t now);
/* An OV_ACT_DELIVER other than E2E and TEST: checks origin proofs and
 * rate caps, then hands the payload to its application. */
void node_routed_deliver(struct node *n, const struct ov_action *a, uint64_t now);
/* Takes one token of kind for src (and one of the total); false: over the
 * cap (nothing is done for src). */
bool node_limit_take(struct node *n, enum node_lim_kind kind, const uint8_t src[RL_ID_LEN],
                     uint64_t now);
void node_routed_free(struct node *n);

/* node_dial.c: handshakes toward addresses that never answered us, for
 * ring links to descriptors other members handed us (docs/security.md) */
#define NODE_DIAL_DESTS 128          /* destination IPs tracked */
#define NODE_DIAL_IP_BURST 24        /* HS_INITs per IP: 8 links' worth */
#define NODE_DIAL_IP_EVERY_NS NS_PER_S /* ... and one more per second */
#define NODE_DIAL_ALL_BURST 192      /* in total: 64 links' worth */
#define NODE_DIAL_ALL_PER_S 16       /* ... and 16 per second */
struct node_dial;
/* Takes inits handshakes toward a's IP from its budget and the total one
 * (nothing when a direct session came up from that IP before); false:
 * over budget, do not dial (counted in ov_dials_capped). */
bool node_dial_take(struct node *n, const struct rl_addr *a, unsigned inits, uint64_t now);
/* A direct session with a peer at a came up: its IP is exempt. */
void node_dial_answered(struct node *n, const struct rl_addr *a, uint64_t now);
void node_dial_free(struct node *n);

/* node_seen.c: origin proofs acted on, kept until their timestamp leaves
 * the ORIGIN_SKEW_S window (replay suppression, docs/security.md) */
#define NODE_SEEN_MAX 65536    /* entries at most (24 bytes each, grown on use) */
#define NODE_SEEN_DIGEST 16
struct node_seen;
/* The digest of a signed message: what its signature covers. */
void node_seen_digest(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t key[RL_ID_LEN],
                      uint8_t app, uint64_t ts, const uint8_t *p, size_t len,
                      uint8_t d[NODE_SEEN_DIGEST]);
/* RL_EREPLAY: acted on before, or stamped at or before the floor (older
 * proofs had to be forgotten for room); RL_ENOMEM: cannot tell (refuse). */
int node_seen_check(struct node *n, const uint8_t d[NODE_SEEN_DIGEST], uint64_t ts);
/* Notes a proof acted on (ts: its timestamp; now_unix: our clock). */
int node_seen_note(struct node *n, const uint8_t d[NODE_SEEN_DIGEST], uint64_t ts,
                   uint64_t now_unix);
/* Entries held, and the floor (0: none). */
unsigned node_seen_count(const struct node *n, uint64_t *floor);
void node_seen_free(struct node *n);

/* node.c */
/* Returns the link that answered (NULL: refused). */
struct link *node_recv_init(struct node *n, const struct rl_addr *from, const uint8_t *pkt,
                            size_t len, uint64_t now, const uint8_t *ov_src,
                            const uint8_t *relay);
/* Sends pkt (an HS_COOKIE: no session state) to src the way an HS_INIT of
 * src came: through relay, or routed over the overlay (relay NULL). */
void node_e2e_reply(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t *relay,
                    const uint8_t *pkt, size_t len, uint64_t now);
/* Wraps pkt in a relay FWD to dst and sends it to relay (a direct link).
 * RL_ENOENT: no established direct link to relay. */
int node_nat_relay_fwd(struct node *n, const uint8_t relay[RL_ID_LEN],
                       const uint8_t dst[RL_ID_LEN], const uint8_t *pkt, size_t len,
                       uint64_t now);
/* Ring changes. */
void node_ring_changed(struct node *n, uint64_t now);
/* Looks id's NODE record up again and punches toward its candidates. */
void node_retry_direct(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t now);

#endif
