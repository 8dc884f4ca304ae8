/* The discrete-event simulator engine.
 *
 * Many nodes live in one process on a virtual clock. The engine knows
 * nothing of the protocol: a *model* (a small vtable, struct sim_model)
 * adapts one node implementation to the same sans-I/O calls the libuv
 * driver uses -- recv a datagram, poll datagrams out, next timer, on timer.
 * Two models are planned: "node" (the whole node core, node/core/node.h)
 * and "overlay" (the overlay module alone, overlay/overlay.h, with links
 * modelled as datagrams over the simulated network); tests plug in tiny
 * models of their own.
 *
 * Event loop: pop the earliest (time, seq) event; for a node event call the
 * model, then drain its datagrams through the network model (NAT, latency,
 * loss, partitions) into delivery events, then re-arm its single timer.
 * Timers are invalidated lazily: each node has one armed time and a
 * generation; stale heap entries are skipped when popped.
 *
 * Determinism: every random draw comes from a seeded stream (sim_rng.h),
 * every node's rl_env.rand is its own stream, ties are broken by push order,
 * and no wall-clock value enters the results (progress callbacks may look
 * at the wall clock; they only print). */
#ifndef RL_SIM_H
#define RL_SIM_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "simulations/sim_heap.h"
#include "simulations/sim_net.h"
#include "simulations/sim_pool.h"
#include "simulations/sim_rng.h"
#include "simulations/sim_scenario.h"
#include "util/env.h"

#define SIM_ID_LEN 20
#define SIM_MAX_BOOT 4

struct sim;

/* Per-node observations for the link_types metric (established links). */
struct sim_node_stats {
  uint32_t links_direct, links_relay, links_overlay;
};

/* What a model gets when a node comes up. */
struct sim_node_init {
  uint32_t idx;                    /* node (= host) index */
  const struct rl_env *env;        /* lives as long as the node */
  struct rl_addr local;            /* the address it binds */
  struct rl_addr advertised;       /* its public-looking address (may be a NAT box) */
  unsigned n_boot;
  struct rl_addr boot[SIM_MAX_BOOT]; /* bootstrap endpoints (seed nodes) */
  bool is_seed;
};

/* The node-driver vtable. Required: create, destroy, recv, poll,
 * next_timer, on_timer. Optional (NULL): leave, lookup, id, succ. */
struct sim_model {
  const char *name;
  uint32_t caps;  /* SIM_M_* metrics this model can produce */
  const char *missing; /* why the others are not produced (summary.json) */
  /* Returns the node or NULL with *err set. ctx is sim_set_model's ctx. */
  void *(*create)(void *ctx, struct sim *s, const struct sim_node_init *in, uint64_t now,
                  int *err);
  void (*destroy)(void *ctx, void *node);
  void (*leave)(void *node, uint64_t now); /* graceful: the engine drains poll after */
  int (*recv)(void *node, const struct rl_addr *from, const uint8_t *pkt, size_t len,
              uint64_t now);
  size_t (*poll)(void *node, struct rl_addr *to, uint8_t *buf, size_t cap);
  uint64_t (*next_timer)(const void *node);
  void (*on_timer)(void *node, uint64_t now);
  /* Starts a lookup of key; the owner's model calls sim_report_lookup()
   * with the same cookie when it arrives. Returns 0 or RL_E*. */
  int (*lookup)(void *node, const uint8_t key[SIM_ID_LEN], uint32_t cookie, uint64_t now);
  void (*id)(const void *node, uint8_t out[SIM_ID_LEN]);            /* ring position */
  bool (*succ)(const void *node, uint8_t out[SIM_ID_LEN]);          /* first successor */
  bool (*stats)(void *node, struct sim_node_stats *out);            /* link_types */
  /* direct_time: start sending frames from this node to node dst_idx
   * (ring ID dst_id) as flow flow_id; the model reports progress with
   * sim_report_flow() on both ends. Returns 0 or RL_E*. */
  int (*flow)(void *node, uint32_t flow_id, uint32_t dst_idx,
              const uint8_t dst_id[SIM_ID_LEN], uint64_t now);
  /* Optional, for models whose nodes have several sockets (ports other
   * than SIM_HOST_PORT): poll with the source port and the IP TTL (0:
   * default), receive with the destination port, and whether a port is
   * open. NULL: one socket on SIM_HOST_PORT (poll / recv are used). */
  size_t (*poll_port)(void *node, struct rl_addr *to, uint16_t *src_port, uint8_t *ttl,
                      uint8_t *buf, size_t cap);
  int (*recv_port)(void *node, uint16_t port, const struct rl_addr *from, const uint8_t *pkt,
                   size_t len, uint64_t now);
  bool (*has_port)(const void *node, uint16_t port);
  /* bcast: broadcast a payload of `size` bytes to every ring member as
   * broadcast number bcast_id; the model reports every copy it transmits,
   * every duplicate copy a member drops and every delivery with
   * sim_report_bcast(). Returns 0 or RL_E* (not sent). */
  int (*bcast)(void *node, uint32_t bcast_id, size_t size, uint64_t now);
  /* Shared per-run context (scratch buffers), made by sim_init when the
   * caller passes no ctx of its own, freed by sim_free. */
  void *(*ctx_new)(void);
  void (*ctx_free)(void *ctx);
};

enum sim_ev_kind {
  SIM_EV_TIMER = 1,
  SIM_EV_DELIVER,
  SIM_EV_UP,
  SIM_EV_DOWN,      /* arg: 1 = graceful */
  SIM_EV_LOOKUP,
  SIM_EV_MEASURE,
  SIM_EV_PART,      /* node: partition index, arg: 1 = start */
  SIM_EV_FAIL,      /* mass failure */
  SIM_EV_FLOW,      /* start a traffic flow (direct_time) */
  SIM_EV_BCAST,     /* a random member broadcasts (bcast) */
  SIM_EV_END
};

struct sim_node {
  void *m;               /* model node; NULL while down */
  uint64_t timer_at;     /* armed time (RL_TIME_NEVER: none) */
  uint64_t up_at;        /* last time it came up */
  uint64_t bytes_out, bytes_in, bytes_idle_out;
  uint32_t timer_gen;
  uint32_t churn_gen;    /* invalidates scheduled session ends */
  bool joined;
  bool seed;
  uint8_t id[SIM_ID_LEN];
  struct sim_rng rng;
  struct rl_env env;
  const struct sim *sim; /* for the debug log (RL_SIM_LOG) */
  uint32_t idx;
};

struct sim_lookup {
  uint64_t t_issue;
  uint32_t src;
  uint8_t state;         /* 0 pending, 1 ok, 2 wrong owner, 3 timeout, 4 no route */
  uint8_t hops;
  uint8_t key[SIM_ID_LEN];
};

/* A traffic flow for direct_time: frames from src to dst until a direct
 * link carries them or flow_timeout_s passes (with path_latency: until
 * flow_timeout_s passes, direct or not). */
struct sim_flow {
  uint64_t t_start, t_deliv, t_direct; /* 0: not yet */
  uint32_t src, dst;
  uint8_t state;          /* 0 running, 1 direct, 2 timed out (no direct link) */
};
enum { SIM_FLOW_DELIVERED = 1, SIM_FLOW_DIRECT = 2 };
/* path_latency: the path the source's node core used for a frame when it
 * took it in (its link to the destination: none established yet, carried
 * over the overlay, through a relay, or direct). */
enum { SIM_PATH_PENDING = 0, SIM_PATH_OVERLAY, SIM_PATH_RELAY, SIM_PATH_DIRECT, SIM_PATHS };
extern const char *const sim_path_names[SIM_PATHS];

/* An overlay broadcast (bcast metric). Members are the joined nodes other
 * than the origin when it was sent; while the broadcast is live (until
 * bcast_timeout_s after sending) `bits` holds two bitmaps of n_nodes bits:
 * member, and got it. */
struct sim_bcast {
  uint64_t t_send;
  uint64_t *bits;         /* NULL once finished */
  uint32_t origin;
  uint32_t members;       /* at send time */
  uint32_t delivered;     /* members that got it within bcast_timeout_s */
  uint32_t departed;      /* members that went down before getting it */
  uint32_t extra;         /* deliveries to nodes that were no member at send time */
  uint32_t redelivered;   /* a member delivered it twice (it restarted between) */
  uint32_t tx, dup;       /* copies transmitted; copies a member dropped as seen */
  uint32_t qdrop;         /* copies (or deliveries) lost to a full overlay action queue */
  uint32_t lost;          /* copies lost to a link one end had closed */
  uint32_t lat_max_us;
  uint8_t depth_max;
  uint8_t state;          /* SIM_BC_LIVE, SIM_BC_DONE, SIM_BC_REFUSED, SIM_BC_UNFINISHED */
};
enum { SIM_BC_LIVE = 0, SIM_BC_DONE, SIM_BC_REFUSED, SIM_BC_UNFINISHED };
/* What a model reports about a broadcast (sim_report_bcast). */
enum { SIM_BC_TX = 1, SIM_BC_DUP, SIM_BC_DELIVER, SIM_BC_QDROP, SIM_BC_LOST };

struct sim_outputs {      /* NULL streams are not written */
  FILE *lookups;          /* lookups.csv */
  FILE *joins;            /* joins.csv */
  FILE *snapshots;        /* snapshots.csv */
  FILE *links;            /* links.csv (models with link_types) */
  FILE *flows;            /* flows.csv (models with direct_time) */
  FILE *frames;           /* frames.csv (models with path_latency) */
  FILE *bcasts;           /* bcasts.csv (models with bcast) */
};

struct sim_progress {
  uint64_t now, events, nodes_up, nodes_joined;
};

struct sim {
  struct sim_scenario sc;
  uint64_t seed;
  const struct sim_model *model;
  void *model_ctx;
  bool own_ctx;
  struct sim_net net;
  struct sim_heap heap;
  struct sim_pool pool;
  struct sim_node *nodes;
  uint32_t n_nodes, n_up, n_joined;
  uint64_t now, end, events, stale_timers, dropped_down;
  struct sim_rng churn_rng, meas_rng;
  /* lookup bookkeeping */
  struct sim_lookup *lk;
  uint32_t n_lk, cap_lk, lk_swept;
  uint64_t lk_ok, lk_wrong, lk_timeout, lk_noroute, lk_unfinished, hops_sum, hops_n;
  uint32_t hops_hist[256];
  /* oracle: joined nodes sorted by id, rebuilt lazily */
  uint32_t *order;
  uint32_t n_order;
  bool order_dirty;
  /* join times */
  uint64_t join_n, join_sum_ns;
  double *join_s;          /* every join time, for the summary quantiles */
  uint32_t cap_join_s;
  /* traffic flows (direct_time) */
  struct sim_flow *fl;
  uint32_t n_fl, cap_fl, fl_swept;
  uint64_t fl_direct, fl_timeout, fl_delivered, fl_direct_sum_ns;
  /* frame latencies by path (path_latency), microseconds */
  uint32_t *frame_us[SIM_PATHS];
  uint64_t n_frame[SIM_PATHS], cap_frame[SIM_PATHS], frame_sum_us[SIM_PATHS];
  /* overlay broadcasts (bcast) */
  struct sim_rng bc_rng;
  struct sim_bcast *bc;
  uint32_t n_bc, cap_bc, bc_swept;
  uint64_t bc_late;        /* deliveries after a broadcast's window */
  uint64_t bc_depth_hist[256];
  uint64_t bc_depth_sum, bc_lat_sum_us, bc_lat_n;
  uint32_t *bc_lat_hist;   /* 0.1 ms bins up to bcast_timeout_s */
  uint32_t bc_lat_bins;
  /* trace churn */
  struct sim_trace_ev *trace;
  uint32_t n_trace;
  /* totals */
  uint64_t bytes_out, bytes_idle_out;
  uint64_t up_ns_done, idle_ns_done; /* node-up time of finished sessions */
  uint64_t last_snap_bytes, last_snap_t;
  double ring_ok_last;
  struct sim_node_stats links_last; /* totals at the last snapshot */
  bool have_links;
  struct sim_outputs out;
  void (*progress)(void *ctx, const struct sim_progress *p);
  void *progress_ctx;
  uint64_t progress_every; /* events between progress callbacks */
  uint8_t buf[SIM_POOL_DGRAM_MAX];
};

/* Builds the network, node table and initial schedule from a checked
 * scenario (seed taken from sc->seed). Models are looked up by name with
 * sim_model_find(); tests may pass their own. Returns 0 or RL_E* (reason in
 * err). */
int sim_init(struct sim *s, const struct sim_scenario *sc, const struct sim_model *model,
             void *model_ctx, char *err, size_t errcap);
void sim_free(struct sim *s);
/* Runs until the scenario's duration (or until `until_ns`, if earlier).
 * Returns 0 or RL_E* on an engine failure (out of memory). */
int sim_run(struct sim *s, uint64_t until_ns);
/* Writes the CSV header lines into the non-NULL s->out streams (call once
 * before sim_run). */
void sim_write_headers(struct sim *s);
/* Writes the deterministic run summary (one JSON object + newline). */
int sim_summary_json(struct sim *s, FILE *f);

/* ---- for models ---- */
void sim_report_lookup(struct sim *s, uint32_t at_node, uint32_t cookie, unsigned hops);
void sim_report_joined(struct sim *s, uint32_t node, bool joined);
/* Flow progress: SIM_FLOW_DELIVERED (a frame reached dst's TAP) or
 * SIM_FLOW_DIRECT (src has an established direct link to dst). */
void sim_report_flow(struct sim *s, uint32_t flow_id, int what);
/* path_latency: a flow frame that left the source at t_sent (virtual ns),
 * taken in over `path` (SIM_PATH_*), came out of the destination now. */
void sim_report_frame(struct sim *s, uint32_t flow_id, int path, uint64_t t_sent);
/* bcast: broadcast bcast_id, at node `at`: SIM_BC_TX (the node transmitted
 * `n` copies), SIM_BC_DUP (`n` copies arrived that the node had already
 * taken), SIM_BC_QDROP (the node's overlay dropped `n` actions for it: its
 * action queue was full), SIM_BC_LOST (`n` copies lost because the link
 * they went over was closed at one end), SIM_BC_DELIVER (delivered to the node, `n` = its
 * depth in the tree). */
void sim_report_bcast(struct sim *s, uint32_t at, uint32_t bcast_id, int what, unsigned n);
/* Sends a datagram from node as if it had been polled (for models that
 * produce traffic outside poll(), e.g. a graceful leave in destroy). */
/* sim_send from another source port, with an IP TTL (0: default). */
void sim_send_port(struct sim *s, uint32_t from, uint16_t src_port, uint8_t ttl,
                   const struct rl_addr *to, const uint8_t *pkt, size_t len);
void sim_send(struct sim *s, uint32_t from, const struct rl_addr *to, const uint8_t *pkt,
              size_t len);

/* Models built into the library ("overlay", later "node"); NULL if unknown
 * or not available in this build. */
const struct sim_model *sim_model_find(const char *name);

/* Churn trace: "time_s node_index up|down" lines ('#' comments). */
struct sim_trace_ev {
  double t_s;
  uint32_t node;
  bool up;
};
int sim_trace_parse(const char *text, size_t len, uint32_t n_nodes, struct sim_trace_ev **out,
                    uint32_t *n, char *err, size_t errcap);

#endif
