/* The node core: one member of a group, sans-I/O.
 *
 * Owns the links (secure sessions to other members), the overlay, the DHT,
 * NAT traversal state and the virtual LAN logic. The driver (node/ with
 * libuv, or simulations/ with a virtual clock) feeds it datagrams, TAP
 * frames and timer expiries, and drains datagrams and frames:
 *
 *   for each event:  node_recv_udp / node_recv_tap / node_on_timer (now)
 *   then:            while (node_poll_udp(...)) sendto(...)
 *                    while (node_poll_tap(...)) write(tap, ...)
 *                    arm one timer at node_next_timer()
 *
 * No globals: many nodes may live in one process (the simulator). */
#ifndef RL_NODE_CORE_NODE_H
#define RL_NODE_CORE_NODE_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/cert.h"
#include "crypto/dc.h"
#include "crypto/identity.h"
#include "crypto/revoke.h"
#include "util/env.h"

#define NODE_MAX_STATIC_PEERS 64
#define NODE_MAX_BOOTSTRAP 16
#define NODE_UDP_MAX 1600   /* largest datagram the core emits or accepts */
#define NODE_FRAME_MAX 1518 /* largest Ethernet frame (no FCS), 1500 MTU */

struct node_peer_cfg {
  struct rl_addr endpoint;
  bool pinned;                 /* only accept this node key there */
  uint8_t pk[RL_PK_LEN];
};

struct dht_store; /* dht/store.h: persistent record store (LMDB in node/) */

/* node_config.lan_candidates ([nat] allow_lan_candidates) */
enum node_lan_cands { NODE_LAN_CANDS_SAME_SITE = 0, NODE_LAN_CANDS_YES = 1, NODE_LAN_CANDS_NO = 2 };

struct node_config {
  const struct rl_env *env;    /* randomness, log, unix time offset */
  struct id_key key;           /* this node's Ed25519 key */
  struct cert cert;            /* this node's group certificate */
  uint8_t group_pk[RL_PK_LEN];
  enum dc_cipher cipher;       /* preferred data-channel cipher */
  enum dc_format fmt;          /* DC_FMT_V2 (default) or DC_FMT_EPOCH */
  struct rl_addr listen;       /* the local UDP address (an endpoint) */
  bool tcp_listen;             /* the driver accepts TCP at `listen` too: publish TCP
                                * host candidates (docs/protocol.md, "TCP") */
  char tap_name[16];           /* for status only */
  /* Frames with 802.1Q / 802.1ad tags from members: false (default) drops
   * them; true accepts them and checks the tagged frame as an untagged one
   * (docs/security.md, "The virtual LAN"). */
  bool lan_vlan;
  unsigned n_peers;            /* static [peer] sections */
  struct node_peer_cfg peers[NODE_MAX_STATIC_PEERS];
  unsigned n_bootstrap;        /* bootstrap endpoints (overlay join) */
  struct rl_addr bootstrap[NODE_MAX_BOOTSTRAP];
  unsigned n_cached;           /* endpoints remembered from earlier runs */
  struct rl_addr cached[NODE_MAX_BOOTSTRAP];
  uint64_t keepalive_ns;       /* default 10 s on links */
  uint64_t link_timeout_ns;    /* no traffic received: link is dead, default 40 s */
  uint64_t rekey_ns;           /* rekey period, default 3600 s */
  uint64_t idle_link_ns;       /* on-demand links close after, default 300 s */
  unsigned dht_replicas;       /* k, default 4 */
  unsigned ring_successors;    /* successor list length, 0 = overlay default (8) */
  uint32_t relay_rate_kbps;    /* what we forward per pair as a relay; 0 = refuse */
  uint32_t relay_source_kbps;  /* ... per source member over all its pairs (default 40000) */
  uint32_t relay_total_kbps;   /* ... in all (default 100000) */
  uint64_t relay_after_ns;     /* no direct link this long: use a relay, default 5 s */
  /* Dial a peer's candidates in this host's own LAN (private addresses in
   * the /24 or /64 of one of our interface addresses): NODE_LAN_CANDS_
   * SAME_SITE (0, the default) only when the peer is on our site
   * (node_nat_same_site), _YES always, _NO never (docs/security.md,
   * finding 2). */
  enum node_lan_cands lan_candidates;
  struct dht_store *store;     /* NULL: in-memory only */
  bool test_routes;            /* simulator: node_test_route() probes (off in the daemon) */
  /* Optional scratch space (node_scratch_new) shared by nodes whose calls
   * never run at the same time (the simulator's nodes: ~7 KB each saved).
   * NULL: the node has its own. Must outlive every node using it. */
  struct node_scratch *scratch;
  /* Extra local UDP sockets the driver can open on request (birthday
   * probing, docs/nat.md): 0 = none (the default; the core then never asks
   * and every datagram uses the main socket), at most NODE_PROBE_SOCKS_MAX. */
  unsigned probe_socks;
  /* Revocations known at start (the config's `revoked =` files), borrowed
   * during node_new only; each must verify for this group or node_new
   * fails. Revocations learnt later are kept in `store` (meta map) and
   * loaded again at the next start. */
  const struct revocation *revoked;
  unsigned n_revoked;
  /* Broadcast and multicast frames (node/core/lan_bcast.c): at most
   * broadcast_rate overlay broadcasts a second with bursts of
   * broadcast_burst, ours and every origin's (0: overlay defaults, 100 and
   * 200; a frame of more than one piece costs one per piece). */
  uint32_t broadcast_rate, broadcast_burst;
  /* Be the IGMP / MLD querier of the TAP segment and deliver other
   * members' multicast only for groups the host joined (node/core/
   * lan_mcast.c). false (the core's default, for hosts that cannot
   * answer queries, e.g. simulated ones): every group is delivered. The
   * daemon turns it on. */
  bool mcast_querier;
};
void node_config_default(struct node_config *cfg);

struct node;
struct node_scratch;
struct node_scratch *node_scratch_new(void);
void node_scratch_free(struct node_scratch *sc);

/* Creates a node and starts handshakes toward static peers / bootstrap.
 * The config is copied. Returns NULL with *err set on failure. */
struct node *node_new(const struct node_config *cfg, uint64_t now_ns, int *err);
void node_free(struct node *n);

/* A datagram arrived from `from`. Bad input is counted and dropped. */
int node_recv_udp(struct node *n, const struct rl_addr *from,
                  const uint8_t *pkt, size_t len, uint64_t now_ns);
/* A frame was read from the TAP device. */
int node_recv_tap(struct node *n, const uint8_t *frame, size_t len, uint64_t now_ns);

/* Next datagram to send: returns its length (0 = none) and its destination. */
size_t node_poll_udp(struct node *n, struct rl_addr *to, uint8_t *buf, size_t cap);
/* Next frame to write to the TAP device (0 = none). */
size_t node_poll_tap(struct node *n, uint8_t *buf, size_t cap);

/* ---- several local sockets (cfg.probe_socks > 0) ----
 * Socket 0 is the main socket (cfg.listen); sockets 1..cfg.probe_socks are
 * extra ones on ephemeral ports that the core asks the driver to open and
 * close (node_poll_sock). A driver that sets cfg.probe_socks drains, after
 * every event: first node_poll_sock (answering each OPEN with
 * node_sock_opened), then node_poll_udp_ex, sending each datagram from the
 * socket it names, with the IP TTL it names (0: the system default). Input
 * on socket k goes to node_recv_udp_on(k). A session that completed on an
 * extra socket keeps sending from it; the core closes the socket when the
 * last link on it is gone. */
#define NODE_PROBE_SOCKS_MAX 256
enum node_sock_op { NODE_SOCK_OPEN = 1, NODE_SOCK_CLOSE = 2 };
struct node_tx {
  struct rl_addr to;
  unsigned sock;  /* 0 = the main socket */
  uint8_t ttl;    /* IP TTL for this datagram; 0 = the socket's default */
};
/* Next socket request: returns false when none. */
bool node_poll_sock(struct node *n, enum node_sock_op *op, unsigned *sock);
/* The driver's answer to NODE_SOCK_OPEN (ok = false: it could not). */
void node_sock_opened(struct node *n, unsigned sock, bool ok, uint64_t now);
size_t node_poll_udp_ex(struct node *n, struct node_tx *tx, uint8_t *buf, size_t cap);
int node_recv_udp_on(struct node *n, unsigned sock, const struct rl_addr *from,
                     const uint8_t *pkt, size_t len, uint64_t now);

uint64_t node_next_timer(const struct node *n); /* RL_TIME_NEVER: none */
void node_on_timer(struct node *n, uint64_t now_ns);

/* SIGHUP: replace the static peer list (existing links to peers still
 * listed are kept). */
int node_reload_peers(struct node *n, const struct node_peer_cfg *peers,
                      unsigned n_peers, uint64_t now_ns);
/* Graceful leave (SIGTERM): hand records over and tell neighbours. The
 * driver drains node_poll_udp afterwards, then frees the node. */
void node_leave(struct node *n, uint64_t now_ns);

/* Status as one JSON object (docs/cli.md lists the stable field names) or
 * as human-readable text. Returns the length written or RL_ETOOBIG. */
int node_status_json(const struct node *n, uint64_t now_ns, char *buf, size_t cap);
int node_status_text(const struct node *n, uint64_t now_ns, char *buf, size_t cap);
/* The rings this member broadcasts in (ringlan subring list): the group's
 * own ring (every member, joined once the node is in it, with the ring's
 * size estimate and broadcast counts) and the subrings its certificate
 * names (not carried in this version: joined false). JSON
 * {"subrings":[...]} or a text table. */
int node_subrings_json(const struct node *n, uint64_t now_ns, char *buf, size_t cap);
int node_subrings_text(const struct node *n, uint64_t now_ns, char *buf, size_t cap);

/* Asynchronous control requests (ringlan lookup / peers). The answer comes
 * back as a JSON object from node_poll_control() with the same cookie. */
int node_control_lookup(struct node *n, const char *what, uint32_t cookie, uint64_t now_ns);
int node_peers_json(const struct node *n, uint64_t now_ns, char *buf, size_t cap);
size_t node_poll_control(struct node *n, uint32_t *cookie, char *buf, size_t cap);

/* Identity helpers for the driver: the TAP MAC, MTU and addresses. */
void node_tap_mac(const struct node *n, uint8_t mac[6]);
uint16_t node_tap_mtu(const struct node *n);
const uint8_t *node_id(const struct node *n); /* RL_ID_LEN bytes */

/* Port mapping results from the driver (UPnP IGD or NAT-PMP, performed in
 * node/ off the event loop; nat/ decides when). mapped = the external
 * address:port the router forwards to our listen port, or NULL when the
 * mapping is gone (lease lost, removed at exit). method: "upnp", "natpmp".
 * The core publishes it as an endpoint candidate (DHT NODE record) and
 * shows it in status ("nat": {"mapped": ...}). */
void node_set_mapped(struct node *n, const char *method, const struct rl_addr *mapped,
                     uint64_t now_ns);

/* The host's own IPv4 and IPv6 addresses (getifaddrs; port ignored) when
 * `listen` is a wildcard: published as host candidates with the listen port, as ICE
 * does, so members on the same network (or a public host bound to
 * 0.0.0.0) can be dialled, and IPv6 candidates of peers are dialled only
 * when we have an IPv6 address. Loopback, link-local, multicast and
 * addresses inside the virtual LAN are skipped; at most NODE_LOCAL_MAX are kept, in
 * the order given. Ignored when `listen` is a concrete address (the
 * socket receives only there). Calling again with the same set is free; a
 * change republishes the NODE record. */
#define NODE_LOCAL_MAX 4
void node_set_local_addrs(struct node *n, const struct rl_addr *addrs, unsigned k,
                          uint64_t now_ns);

/* ---- revocation (docs/security.md, "Revocation (finding 4)") ----
 * node_revoke: applies, stores and floods a revocation signed by the group
 * key: every session with the member closes, its handshakes and DHT
 * records are refused from now on, its VIP mappings are forgotten.
 * Returns 1 (new), 0 (the ID is already revoked: this copy is not even
 * checked), RL_EFOREIGN / RL_EAUTH / RL_EINVAL
 * (not a valid revocation of this group), RL_EFULL, RL_ENOMEM. */
int node_revoke(struct node *n, const struct revocation *r, uint64_t now_ns);
bool node_is_revoked(const struct node *n, const uint8_t id[RL_ID_LEN]);
unsigned node_revoked_count(const struct node *n);

struct ov_ring_info;
/* The overlay's ring view (tests, simulator). Returns RL_ESTATE when the
 * node runs without an overlay. */
int node_ring_info(const struct node *n, struct ov_ring_info *out);

/* Routed probes for the simulator (cfg.test_routes): routes a 4-byte cookie
 * to the owner of key over the overlay (OV_APP_TEST), exactly as DHT
 * requests travel. The node where it arrives queues (cookie, hops) for
 * node_poll_test_route() (NODE_TEST_ROUTES_MAX entries; more are dropped
 * and counted). Without cfg.test_routes probes are neither sent (RL_ESTATE)
 * nor accepted. Returns 0 or a negative RL_E* (RL_ENOENT: no route). */
#define NODE_TEST_ROUTES_MAX 16
int node_test_route(struct node *n, const uint8_t key[RL_ID_LEN], uint32_t cookie,
                    uint64_t now_ns);
bool node_poll_test_route(struct node *n, uint32_t *cookie, uint8_t *hops);

#endif
