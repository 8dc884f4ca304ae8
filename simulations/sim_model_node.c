/* The "node" model: the whole node core (node/core/node.h) -- handshakes,
 * sessions, the data channel, links, the overlay on top -- driven through
 * exactly the calls the libuv driver makes.
 *
 * Identities: one group key per run and one node key per node index, both
 * derived from the run seed (a node keeps its key across restarts, like a
 * real node keeps its key file). Certificates are signed at node creation,
 * valid from a day before the simulated epoch for ten years. Virtual IPs are
 * 100.64.0.0/10 + index + 1.
 *
 * UPnP: a host behind a box with UPnP gets a static forward and the core
 * is told through node_set_mapped(), as the driver's port mapper would.
 *
 * What the node core's public API lets us observe: ring membership and the
 * first successor (node_ring_info), link paths (direct, relay, overlay) of
 * established links (node_status_json), frames on the TAP side, and routed
 * probes (node_test_route with cfg.test_routes: a cookie routed to a key's
 * owner over the overlay, the way DHT requests travel) for lookups and hop
 * counts.
 *
 * Traffic flows (direct_time): the source injects one Ethernet/IPv4/UDP
 * frame per second into node_recv_tap() -- destination MAC from the
 * destination's ID, virtual IPs from the indices, payload "RLSIMFLW" + flow
 * id -- until its status shows an established direct link to the
 * destination; the destination reports the first such frame that comes out
 * of node_poll_tap(). */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"
#include "crypto/identity.h"
#include "nat/bday.h"
#include "node/core/node.h"
#include "overlay/overlay.h"
#include "simulations/sim.h"
#include "tap/tap.h"

#define STATUS_MAX (512 * 1024)
#define VIP_BASE 0x64400000u /* 100.64.0.0 */
#define EPOCH_SLACK_S 86400

struct nctx {
  bool have_group;
  struct id_key group;
  /* One node runs at a time: all share one scratch space (~7 KB each). */
  struct node_scratch *scratch;
  char status[STATUS_MAX];  /* scratch for node_status_json */
};

/* A traffic flow this node is the source of (direct_time). */
struct nflow {
  uint32_t id, dst_idx;
  uint8_t dst_id[RL_ID_LEN];
  uint64_t next_send, deadline;
  bool arp_done;           /* the node answered our ARP request */
  bool frame_sent;         /* at least one IPv4 frame went in */
  bool direct;             /* reported direct */
};

struct nnode {
  struct sim *s;
  uint32_t idx;
  struct node *n;
  bool joined;
  uint32_t n_flows, cap_flows;
  struct nflow *flows;
  /* Extra sockets the core opened (birthday probing): socket k has port
   * SIM_HOST_PORT + k. */
  uint8_t socks[(NODE_PROBE_SOCKS_MAX + 1 + 7) / 8];
};

#define FLOW_RESEND_NS NS_PER_S
#define FLOW_PORT 9000
static const uint8_t flow_magic[8] = {'R', 'L', 'S', 'I', 'M', 'F', 'L', 'W'};
/* UDP payload: magic (8), flow id (4), path at send (1), 3 zero, send time
 * in virtual ns (8). */
#define FLOW_PAYLOAD 24
#define FLOW_FRAME_LEN (14 + 20 + 8 + FLOW_PAYLOAD)

static void seeded_key(uint64_t seed, uint64_t stream, struct id_key *k) {
  struct sim_rng r;
  struct rl_env env = {.rand = sim_rng_fill, .rand_ctx = &r};
  sim_rng_seed(&r, seed, stream);
  id_generate(k, &env);
  sodium_memzero(&r, sizeof(r));
}

static void *n_ctx_new(void) {
  struct nctx *c = calloc(1, sizeof(struct nctx));
  if (c && !(c->scratch = node_scratch_new())) {
    free(c);
    c = NULL;
  }
  return c;
}

static void n_ctx_free(void *p) {
  struct nctx *c = p;
  node_scratch_free(c->scratch);
  sodium_memzero(&c->group, sizeof(c->group));
  free(c);
}

/* What the libuv driver's port mapper would do: if the host's NAT box
 * offers UPnP, forward an external port to our listen port (the listen
 * port itself if free, else the next ones) and tell the core. */
static void upnp_map(struct nnode *nn, uint64_t now) {
  struct sim_net *net = &nn->s->net;
  const struct sim_host *h = &net->hosts[nn->idx];
  if (h->box == SIM_NO_BOX || !net->boxes[h->box].upnp)
    return;
  struct sim_nat *b = &net->boxes[h->box];
  for (uint16_t k = 0; k < 256; k++) {
    uint16_t ext = (uint16_t)(SIM_HOST_PORT + k);
    if (sim_nat_forward(b, h->ip, SIM_HOST_PORT, &ext) == 0) {
      struct rl_addr mapped;
      rl_addr_set_ipv4(&mapped, b->ext_ip, ext);
      node_set_mapped(nn->n, "upnp", &mapped, now);
      return;
    }
  }
}

static void *n_create(void *ctx, struct sim *s, const struct sim_node_init *in, uint64_t now,
                      int *err) {
  struct nctx *c = ctx;
  struct nnode *nn = calloc(1, sizeof(*nn));
  struct node_config *cfg = calloc(1, sizeof(*cfg)); /* ~9 KB: not on the stack */
  int rc = RL_ENOMEM;
  if (!nn || !cfg)
    goto fail;
  if (!c->have_group) {
    seeded_key(s->seed, 1ULL << 41, &c->group);
    c->have_group = true;
  }
  node_config_default(cfg);
  cfg->env = in->env;
  seeded_key(s->seed, (1ULL << 40) + in->idx, &cfg->key);
  struct cert *ct = &cfg->cert;
  memset(ct, 0, sizeof(*ct));
  ct->version = 1;
  snprintf(ct->group, sizeof(ct->group), "sim");
  memcpy(ct->node_pk, cfg->key.pk, RL_PK_LEN);
  ct->vip = VIP_BASE + in->idx + 1;
  ct->prefix = 10;
  uint64_t unix_now = rl_unix_s(in->env, now);
  ct->not_before = unix_now - EPOCH_SLACK_S;
  ct->not_after = unix_now + 10ULL * 365 * 86400;
  if ((rc = cert_sign(ct, &c->group)))
    goto fail;
  memcpy(cfg->group_pk, c->group.pk, RL_PK_LEN);
  cfg->listen = in->local;
  cfg->tcp_listen = true; /* the daemon's default; sim_net.c models TCP */
  snprintf(cfg->tap_name, sizeof(cfg->tap_name), "sim%u", in->idx);
  cfg->test_routes = true;
  cfg->scratch = c->scratch;
  cfg->probe_socks = s->sc.birthday ? NAT_BDAY_SOCKS : 0;
  cfg->n_bootstrap = in->n_boot;
  memcpy(cfg->bootstrap, in->boot, in->n_boot * sizeof(in->boot[0]));
  nn->s = s;
  nn->idx = in->idx;
  nn->n = node_new(cfg, now, &rc);
  if (!nn->n)
    goto fail;
  upnp_map(nn, now);
  sodium_memzero(cfg, sizeof(*cfg));
  free(cfg);
  return nn;
fail:
  if (cfg)
    sodium_memzero(cfg, sizeof(*cfg));
  free(cfg);
  free(nn);
  *err = rc ? rc : RL_ENOMEM;
  return NULL;
}

static void n_destroy(void *ctx, void *node) {
  (void)ctx;
  struct nnode *nn = node;
  node_free(nn->n);
  free(nn->flows);
  free(nn);
}

static const char *status(struct nnode *nn) {
  struct nctx *c = nn->s->model_ctx;
  if (node_status_json(nn->n, nn->s->now, c->status, sizeof(c->status)) < 0)
    return NULL;
  return c->status;
}

/* Until a node has joined, look at its ring state after each event so
 * that the join time is exact; afterwards only snapshots look. */
static void check_joined(struct nnode *nn) {
  struct ov_ring_info ri;
  bool j = node_ring_info(nn->n, &ri) == 0 && ri.joined;
  if (j != nn->joined) {
    nn->joined = j;
    sim_report_joined(nn->s, nn->idx, j);
  }
}

static void put_be(uint8_t *p, uint32_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

/* What an OS does first: an ARP request for the destination's virtual IP
 * (the node answers it from its links or the DHT and may open a link). */
static void flow_arp(struct nnode *nn, const struct nflow *f, uint64_t now) {
  uint8_t fr[42];
  memset(fr, 0xff, 6);
  node_tap_mac(nn->n, fr + 6);
  put_be(fr + 12, 0x0806, 2);
  uint8_t *a = fr + 14;
  put_be(a, 1, 2);          /* Ethernet */
  put_be(a + 2, 0x0800, 2); /* IPv4 */
  a[4] = 6;
  a[5] = 4;
  put_be(a + 6, 1, 2); /* request */
  node_tap_mac(nn->n, a + 8);
  put_be(a + 14, VIP_BASE + nn->idx + 1, 4);
  memset(a + 18, 0, 6);
  put_be(a + 24, VIP_BASE + f->dst_idx + 1, 4);
  node_recv_tap(nn->n, fr, sizeof(fr), now);
}

/* One Ethernet/IPv4/UDP frame from this node's TAP side to the flow's
 * destination (its MAC from its ID, its virtual IP from its index). */
static void flow_send(struct nnode *nn, struct nflow *f, int path, uint64_t now) {
  uint8_t fr[FLOW_FRAME_LEN];
  if (!f->arp_done) {
    flow_arp(nn, f, now);
    return;
  }
  f->frame_sent = true;
  memset(fr, 0, sizeof(fr));
  tap_mac_from_id(f->dst_id, fr);
  node_tap_mac(nn->n, fr + 6);
  put_be(fr + 12, 0x0800, 2);
  uint8_t *ip = fr + 14;
  ip[0] = 0x45;
  put_be(ip + 2, 20 + 8 + FLOW_PAYLOAD, 2);
  put_be(ip + 4, f->id & 0xffff, 2);
  ip[8] = 64;
  ip[9] = 17; /* UDP */
  put_be(ip + 12, VIP_BASE + nn->idx + 1, 4);
  put_be(ip + 16, VIP_BASE + f->dst_idx + 1, 4);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2)
    sum += (uint32_t)ip[i] << 8 | ip[i + 1];
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  put_be(ip + 10, ~sum & 0xffff, 2);
  uint8_t *udp = ip + 20;
  put_be(udp, FLOW_PORT, 2);
  put_be(udp + 2, FLOW_PORT, 2);
  put_be(udp + 4, 8 + FLOW_PAYLOAD, 2);
  memcpy(udp + 8, flow_magic, sizeof(flow_magic));
  put_be(udp + 16, f->id, 4);
  udp[20] = (uint8_t)path;
  put_be(udp + 24, (uint32_t)(now >> 32), 4);
  put_be(udp + 28, (uint32_t)now, 4);
  node_recv_tap(nn->n, fr, sizeof(fr), now);
}

/* The path of our established link to the flow's destination
 * (SIM_PATH_*; PENDING: none established). Read from the status JSON's
 * link objects ("peer_id", "path", "state"); a direct one wins. */
static int flow_path(const char *st, const uint8_t id[RL_ID_LEN]) {
  static const char *const names[] = {"\"path\":\"overlay\"", "\"path\":\"relay\"",
                                      "\"path\":\"direct\""};
  char pat[2 * RL_ID_LEN + 16];
  int best = SIM_PATH_PENDING;
  if (!st)
    return best;
  memcpy(pat, "\"peer_id\":\"", 11);
  rl_hex_encode(pat + 11, id, RL_ID_LEN);
  for (const char *p = strstr(st, pat); p; p = strstr(p + 1, pat)) {
    const char *end = strchr(p, '}');
    const char *state = strstr(p, "\"state\":\"established\"");
    if (!end || !state || state > end)
      continue;
    for (int k = 0; k < 3; k++) {
      const char *q = strstr(p, names[k]);
      if (q && q < end && SIM_PATH_OVERLAY + k > best)
        best = SIM_PATH_OVERLAY + k;
    }
  }
  return best;
}

static void flows_check(struct nnode *nn, uint64_t now) {
  if (!nn->n_flows)
    return;
  /* Send what is due first: a flow always starts with a frame, even when
   * a direct link already exists (then its direct time is 0). Each frame
   * carries the path our link to the destination has as it goes in. */
  const char *st = status(nn);
  bool sent = false;
  for (uint32_t i = 0; i < nn->n_flows; i++) {
    struct nflow *f = &nn->flows[i];
    if (f->next_send <= now && now < f->deadline) {
      f->next_send = now + FLOW_RESEND_NS;
      flow_send(nn, f, flow_path(st, f->dst_id), now);
      sent = true;
    }
  }
  if (sent)
    st = status(nn); /* the frames may have opened links */
  bool keep_all = nn->s->sc.metrics & SIM_M_PATH_LATENCY;
  for (uint32_t i = 0; i < nn->n_flows;) {
    struct nflow *f = &nn->flows[i];
    if (!f->direct && flow_path(st, f->dst_id) == SIM_PATH_DIRECT) {
      f->direct = true;
      sim_report_flow(nn->s, f->id, SIM_FLOW_DIRECT);
    }
    /* Keep a direct flow until its first data frame went in, so that
     * first_delivery_s is measured for it too; for path_latency, until
     * its deadline. */
    if (now < f->deadline && (keep_all || !(f->direct && f->frame_sent))) {
      i++;
      continue;
    }
    nn->flows[i] = nn->flows[--nn->n_flows]; /* done or given up */
  }
}

static int n_flow(void *node, uint32_t id, uint32_t dst_idx, const uint8_t dst_id[SIM_ID_LEN],
                  uint64_t now) {
  struct nnode *nn = node;
  if (nn->n_flows == nn->cap_flows) {
    uint32_t cap = nn->cap_flows ? nn->cap_flows * 2 : 4;
    struct nflow *v = realloc(nn->flows, cap * sizeof(*v));
    if (!v)
      return RL_ENOMEM;
    nn->flows = v;
    nn->cap_flows = cap;
  }
  struct nflow *f = &nn->flows[nn->n_flows++];
  f->id = id;
  f->dst_idx = dst_idx;
  memcpy(f->dst_id, dst_id, RL_ID_LEN);
  f->next_send = now;
  f->arp_done = f->frame_sent = f->direct = false;
  f->deadline = now + (uint64_t)(nn->s->sc.flow_timeout_s * 1e9);
  flows_check(nn, now);
  return 0;
}

/* Routed probes that arrived here: report them to the lookup oracle. */
static void probes_arrived(struct nnode *nn) {
  uint32_t cookie;
  uint8_t hops;
  while (node_poll_test_route(nn->n, &cookie, &hops))
    sim_report_lookup(nn->s, nn->idx, cookie, hops);
}

static int n_recv(void *node, const struct rl_addr *from, const uint8_t *pkt, size_t len,
                  uint64_t now) {
  struct nnode *nn = node;
  int rc = node_recv_udp(nn->n, from, pkt, len, now);
  if (!nn->joined)
    check_joined(nn);
  probes_arrived(nn);
  flows_check(nn, now);
  return rc;
}

static int n_lookup(void *node, const uint8_t key[SIM_ID_LEN], uint32_t cookie, uint64_t now) {
  struct nnode *nn = node;
  int rc = node_test_route(nn->n, key, cookie, now);
  probes_arrived(nn); /* we may own the key ourselves */
  return rc;
}

static size_t n_poll(void *node, struct rl_addr *to, uint8_t *buf, size_t cap) {
  struct nnode *nn = node;
  size_t len = node_poll_udp(nn->n, to, buf, cap);
  if (len)
    return len;
  /* Frames for the TAP device: report flow frames, drop everything so
   * the node's queue never fills. */
  size_t fl;
  while ((fl = node_poll_tap(nn->n, buf, cap))) {
    if (fl >= 42 && buf[12] == 0x08 && buf[13] == 0x06 && buf[20] == 0 && buf[21] == 2) {
      /* ARP reply from the node: send the flow's frame right away. */
      uint32_t spa = (uint32_t)buf[28] << 24 | (uint32_t)buf[29] << 16 |
                     (uint32_t)buf[30] << 8 | buf[31];
      for (uint32_t i = 0; i < nn->n_flows; i++)
        if (!nn->flows[i].arp_done && VIP_BASE + nn->flows[i].dst_idx + 1 == spa) {
          nn->flows[i].arp_done = true;
          nn->flows[i].next_send = nn->s->now;
        }
      continue;
    }
    if (fl == FLOW_FRAME_LEN && !memcmp(buf + 42, flow_magic, sizeof(flow_magic))) {
      uint32_t id = (uint32_t)buf[50] << 24 | (uint32_t)buf[51] << 16 |
                    (uint32_t)buf[52] << 8 | buf[53];
      uint64_t t = 0;
      for (int k = 0; k < 8; k++)
        t = t << 8 | buf[58 + k];
      sim_report_flow(nn->s, id, SIM_FLOW_DELIVERED);
      sim_report_frame(nn->s, id, buf[54], t);
    }
  }
  return 0;
}

/* The driver's part of the extra sockets: open and close on request (no
 * real socket: the port is just marked open), then datagrams with their
 * source port and TTL. */
static size_t n_poll_port(void *node, struct rl_addr *to, uint16_t *src_port, uint8_t *ttl,
                          uint8_t *buf, size_t cap) {
  struct nnode *nn = node;
  struct node_tx tx;
  enum node_sock_op op;
  unsigned k;
  while (node_poll_sock(nn->n, &op, &k)) {
    if (k > NODE_PROBE_SOCKS_MAX)
      continue;
    if (op == NODE_SOCK_OPEN) {
      nn->socks[k / 8] |= (uint8_t)(1u << (k % 8));
      node_sock_opened(nn->n, k, true, nn->s->now);
    } else {
      nn->socks[k / 8] &= (uint8_t)~(1u << (k % 8));
    }
  }
  size_t len = node_poll_udp_ex(nn->n, &tx, buf, cap);
  if (len) {
    *to = tx.to;
    *src_port = (uint16_t)(SIM_HOST_PORT + tx.sock);
    *ttl = tx.ttl;
    return len;
  }
  *src_port = SIM_HOST_PORT;
  *ttl = 0;
  return n_poll(node, to, buf, cap); /* TAP frames */
}

static bool n_has_port(const void *node, uint16_t port) {
  const struct nnode *nn = node;
  unsigned k = (unsigned)port - SIM_HOST_PORT;
  return port > SIM_HOST_PORT && k <= NODE_PROBE_SOCKS_MAX && (nn->socks[k / 8] >> (k % 8)) & 1;
}

static int n_recv_port(void *node, uint16_t port, const struct rl_addr *from, const uint8_t *pkt,
                       size_t len, uint64_t now) {
  struct nnode *nn = node;
  int rc = node_recv_udp_on(nn->n, (unsigned)(port - SIM_HOST_PORT), from, pkt, len, now);
  if (!nn->joined)
    check_joined(nn);
  probes_arrived(nn);
  flows_check(nn, now);
  return rc;
}

static uint64_t n_next_timer(const void *node) {
  const struct nnode *nn = node;
  uint64_t t = node_next_timer(nn->n);
  for (uint32_t i = 0; i < nn->n_flows; i++) {
    uint64_t due = nn->flows[i].next_send < nn->flows[i].deadline ? nn->flows[i].next_send
                                                                  : nn->flows[i].deadline;
    if (due < t)
      t = due;
  }
  return t;
}

static void n_on_timer(void *node, uint64_t now) {
  struct nnode *nn = node;
  if (node_next_timer(nn->n) <= now)
    node_on_timer(nn->n, now);
  if (!nn->joined)
    check_joined(nn);
  probes_arrived(nn);
  flows_check(nn, now);
}

static void n_leave(void *node, uint64_t now) { node_leave(((struct nnode *)node)->n, now); }

static void n_id(const void *node, uint8_t out[SIM_ID_LEN]) {
  memcpy(out, node_id(((const struct nnode *)node)->n), SIM_ID_LEN);
}

static bool n_succ(const void *node, uint8_t out[SIM_ID_LEN]) {
  struct ov_ring_info ri;
  if (node_ring_info(((const struct nnode *)node)->n, &ri) != 0 || !ri.n_succ)
    return false;
  memcpy(out, ri.succ[0], SIM_ID_LEN);
  return true;
}

static bool n_stats(void *node, struct sim_node_stats *out) {
  struct nnode *nn = node;
  const char *st = status(nn);
  memset(out, 0, sizeof(*out));
  if (!st)
    return false;
  for (const char *p = strstr(st, "\"path\":\""); p; p = strstr(p + 1, "\"path\":\"")) {
    const char *path = p + strlen("\"path\":\"");
    const char *state = strstr(path, "\"state\":\"");
    if (!state || strncmp(state + strlen("\"state\":\""), "established", 11))
      continue;
    if (!strncmp(path, "direct", 6))
      out->links_direct++;
    else if (!strncmp(path, "relay", 5))
      out->links_relay++;
    else if (!strncmp(path, "overlay", 7))
      out->links_overlay++;
  }
  return true;
}

const struct sim_model sim_model_node = {
    .name = "node",
    .caps = SIM_M_HOPS | SIM_M_LOOKUPS | SIM_M_JOIN_TIME | SIM_M_RING | SIM_M_BYTES |
            SIM_M_LINK_TYPES | SIM_M_DIRECT_TIME | SIM_M_PATH_LATENCY,
    .missing = NULL,
    .create = n_create,
    .destroy = n_destroy,
    .leave = n_leave,
    .recv = n_recv,
    .poll = n_poll,
    .next_timer = n_next_timer,
    .on_timer = n_on_timer,
    .lookup = n_lookup,
    .id = n_id,
    .succ = n_succ,
    .stats = n_stats,
    .flow = n_flow,
    .poll_port = n_poll_port,
    .recv_port = n_recv_port,
    .has_port = n_has_port,
    .ctx_new = n_ctx_new,
    .ctx_free = n_ctx_free,
};
