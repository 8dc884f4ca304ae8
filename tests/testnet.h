/* An in-test network for node cores: datagrams carried by a FIFO with a
 * 1 ms one-way delay, timers fired in order, time advanced by hand.
 * Header-only (static functions) so each test executable has its own. */
#ifndef RL_TESTS_TESTNET_H
#define RL_TESTS_TESTNET_H

#include <ringlan/ringlan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"
#include "node/core/node.h"

#pragma GCC diagnostic ignored "-Wunused-function"

#ifndef MAXN
#define MAXN 4
#endif
#define T0 (1000 * NS_PER_S)

struct prng {
  uint64_t s;
};
static void prng_rand(void *ctx, uint8_t *buf, size_t len) {
  struct prng *p = ctx;
  for (size_t i = 0; i < len; i++) {
    p->s = p->s * 6364136223846793005ULL + 1442695040888963407ULL;
    buf[i] = (uint8_t)(p->s >> 56);
  }
}

static void test_log(void *ctx, int level, const char *line) {
  fprintf(stderr, "[%d] n%d: %s\n", level, (int)(intptr_t)ctx, line);
}

/* NAT boxes in front of single nodes (RFC 4787 terms):
 *   TN_CONE      endpoint-independent mapping, address-and-port-dependent
 *                filtering (the common home router, "port-restricted cone")
 *   TN_FULLCONE  endpoint-independent mapping and filtering
 *   TN_SYM       a new public port per destination ("symmetric")
 * A NAT'd node i listens on 192.168.(i+1).2:4000 and appears outside as
 * 203.0.113.(i+1):port. */
enum tn_nat { TN_NONE = 0, TN_CONE, TN_FULLCONE, TN_SYM };
#define TN_MAPS 4096 /* mappings never expire in this model: room for a long test */
struct tn_map {
  struct rl_addr dst;
  uint16_t pub_port;
};

struct net {
  struct prng prng[MAXN];
  struct rl_env env[MAXN];
  struct node *node[MAXN];
  struct rl_addr addr[MAXN];
  struct id_key group, other_group;
  struct id_key key[MAXN];
  struct cert cert[MAXN];
  bool down[MAXN];
  unsigned ring_successors; /* 0: default */
  bool no_relay[MAXN];      /* node i refuses to relay (relay_rate_kbps 0) */
  bool wildcard[MAXN];      /* node i listens on 0.0.0.0:port, told its interface addresses */
  bool tcp[MAXN];           /* node i accepts TCP (cfg.tcp_listen; test_node_tcp.c routes it) */
  bool pin[MAXN];           /* node i pins its static peer's key to pin_pk[i] */
  bool lan_vlan[MAXN];      /* node i accepts VLAN-tagged frames (cfg.lan_vlan) */
  bool querier[MAXN];       /* node i is its TAP's IGMP / MLD querier (cfg.mcast_querier) */
  uint32_t bcast_rate, bcast_burst; /* cfg.broadcast_rate / _burst of every node (0: default) */
  uint8_t pin_pk[MAXN][RL_PK_LEN];
  uint64_t now;
  unsigned delivered;
  unsigned pair[MAXN][MAXN]; /* datagrams i -> j (diagnostics) */
  enum tn_nat nat[MAXN];
  struct rl_addr pub[MAXN];  /* NAT'd node: its public IP (port unused) */
  int site[MAXN];            /* tn_share_nat: 1 + the node whose NAT box and LAN i shares */
  struct tn_map maps[MAXN][TN_MAPS];
  unsigned n_maps[MAXN];
  uint16_t next_port[MAXN];
  unsigned nat_dropped;
  /* Path faults: datagrams i -> j dropped (cut), or delivered slow_ms[i][j]
   * later than others (a slow path, so that paths reorder). */
  bool cut[MAXN][MAXN];
  unsigned slow_ms[MAXN][MAXN];
  struct tn_late {
    uint64_t due;
    int from_node, to_node;
    struct rl_addr from;
    uint16_t len;
    uint8_t buf[NODE_UDP_MAX];
  } late[256];
  unsigned n_late;
};

static void make_member(struct net *w, int i, const struct id_key *group, const char *gname,
                        uint32_t vip) {
  struct cert *c = &w->cert[i];
  w->prng[i].s = 0x1234 + (uint64_t)i * 77;
  w->env[i].rand = prng_rand;
  w->env[i].rand_ctx = &w->prng[i];
  w->env[i].unix_offset_s = 1800000000;
  if (getenv("RL_TEST_LOG")) {
    w->env[i].log = test_log;
    w->env[i].log_ctx = (void *)(intptr_t)i;
    w->env[i].log_level = atoi(getenv("RL_TEST_LOG"));
  }
  assert_int_equal(id_generate(&w->key[i], &w->env[i]), 0);
  memset(c, 0, sizeof(*c));
  c->version = 1;
  snprintf(c->group, sizeof(c->group), "%s", gname);
  memcpy(c->node_pk, w->key[i].pk, RL_PK_LEN);
  c->vip = vip;
  c->prefix = 10;
  c->not_before = 1700000000;
  c->not_after = 1900000000;
  assert_int_equal(cert_sign(c, group), 0);
  rl_addr_set_ipv4(&w->addr[i], 0xC0000201 + (uint32_t)i, 4000);
}

static void start_node_cfg(struct net *w, int i, const uint8_t *group_pk, int peer, int boot) {
  struct node_config cfg;
  int err = 0;
  node_config_default(&cfg);
  cfg.env = &w->env[i];
  cfg.key = w->key[i];
  cfg.cert = w->cert[i];
  memcpy(cfg.group_pk, group_pk, RL_PK_LEN);
  cfg.listen = w->addr[i];
  cfg.ring_successors = w->ring_successors;
  cfg.tcp_listen = w->tcp[i];
  cfg.lan_vlan = w->lan_vlan[i];
  cfg.mcast_querier = w->querier[i];
  cfg.broadcast_rate = w->bcast_rate;
  cfg.broadcast_burst = w->bcast_burst;
  if (w->no_relay[i])
    cfg.relay_rate_kbps = 0;
  snprintf(cfg.tap_name, sizeof(cfg.tap_name), "rl%d", i);
  if (peer >= 0) {
    cfg.n_peers = 1;
    cfg.peers[0].endpoint = w->addr[peer];
    cfg.peers[0].pinned = w->pin[i];
    memcpy(cfg.peers[0].pk, w->pin_pk[i], RL_PK_LEN);
  }
  if (boot >= 0) {
    cfg.n_bootstrap = 1;
    cfg.bootstrap[0] = w->addr[boot];
  }
  if (w->wildcard[i])
    rl_addr_set_ipv4(&cfg.listen, 0, w->addr[i].port);
  w->node[i] = node_new(&cfg, w->now, &err);
  assert_non_null(w->node[i]);
  assert_int_equal(err, 0);
  if (w->wildcard[i]) {
    /* What getifaddrs gives a daemon: loopback, a link-local address, its
     * own TAP address (inside the virtual LAN) and the real one; only the
     * last is a host candidate. */
    struct rl_addr ifs[4];
    rl_addr_set_ipv4(&ifs[0], 0x7F000001, 0);
    rl_addr_set_ipv4(&ifs[1], 0xA9FE0101, 0);
    rl_addr_set_ipv4(&ifs[2], w->cert[i].vip, 0);
    ifs[3] = w->addr[i];
    ifs[3].port = 0;
    node_set_local_addrs(w->node[i], ifs, 4, w->now);
  }
}

static void start_node(struct net *w, int i, const uint8_t *group_pk, int peer) {
  start_node_cfg(w, i, group_pk, peer, -1);
}

/* Puts node i behind a NAT box of the given type (after make_member,
 * before start_node). */
static void tn_set_nat(struct net *w, int i, enum tn_nat t) {
  w->nat[i] = t;
  rl_addr_set_ipv4(&w->addr[i], 0xC0A80002 + ((uint32_t)(i + 1) << 8), 4000);
  rl_addr_set_ipv4(&w->pub[i], 0xCB007101 + (uint32_t)i, 0);
  w->next_port[i] = 40000;
}

/* Puts node i behind the NAT box of node owner (tn_set_nat first), on the
 * same LAN: 192.168.(owner+1).(i+2):4000, outside as owner's public IP
 * (cone mappings on port 4000+i, the owner's being taken). Nodes on one
 * LAN reach each other's LAN addresses directly. */
static void tn_share_nat(struct net *w, int i, int owner) {
  w->nat[i] = w->nat[owner];
  w->site[i] = owner + 1;
  rl_addr_set_ipv4(&w->addr[i], 0xC0A80002 + ((uint32_t)(owner + 1) << 8) + (uint32_t)i, 4000);
  w->pub[i] = w->pub[owner];
  w->next_port[i] = (uint16_t)(40000 + 1000 * i);
}

/* Node i's NAT box and LAN: the node whose box it is. */
static int tn_site(const struct net *w, int i) { return w->site[i] ? w->site[i] - 1 : i; }

/* A node behind a NAT on i's own LAN with address `to`, or -1. */
static int tn_lan_peer(const struct net *w, int i, const struct rl_addr *to) {
  for (int j = 0; j < MAXN; j++)
    if (w->nat[i] != TN_NONE && w->nat[j] != TN_NONE && tn_site(w, j) == tn_site(w, i) &&
        rl_addr_equal(&w->addr[j], to))
      return j;
  return -1;
}

/* The source address node i's packet to `to` carries outside its NAT. */
static struct rl_addr tn_outbound(struct net *w, int i, const struct rl_addr *to) {
  struct rl_addr from = w->addr[i];
  struct tn_map *m = NULL;
  if (w->nat[i] == TN_NONE || tn_lan_peer(w, i, to) >= 0)
    return from;
  for (unsigned k = 0; k < w->n_maps[i] && !m; k++)
    if (rl_addr_equal(&w->maps[i][k].dst, to))
      m = &w->maps[i][k];
  if (!m && w->n_maps[i] == TN_MAPS) {
    fprintf(stderr, "testnet: NAT mapping table of node %d is full\n", i);
    abort(); /* a model limit, not a ringlan bug: make it loud */
  }
  if (!m) {
    m = &w->maps[i][w->n_maps[i]++];
    m->dst = *to;
    /* Cone NATs keep the source port (as Linux does when it is free). */
    m->pub_port = w->nat[i] == TN_SYM ? w->next_port[i]++ : (uint16_t)(4000 + (w->site[i] ? i : 0));
  }
  from = w->pub[i];
  from.port = m ? m->pub_port : 0;
  return from;
}

/* Which node receives a packet from `from` to `to`, after NAT filtering. */
static int tn_inbound(struct net *w, const struct rl_addr *from, const struct rl_addr *to) {
  bool dropped = false;
  for (int j = 0; j < MAXN; j++) {
    if (!w->node[j])
      continue;
    if (w->nat[j] != TN_NONE && rl_addr_equal(&w->addr[j], to)) {
      /* a LAN address: only from the same LAN (tn_outbound left it bare) */
      for (int i = 0; i < MAXN; i++)
        if (rl_addr_equal(&w->addr[i], from) && tn_lan_peer(w, i, to) == j)
          return j;
      return -1;
    }
    if (w->nat[j] == TN_NONE) {
      if (rl_addr_equal(&w->addr[j], to))
        return j;
      continue;
    }
    if (memcmp(w->pub[j].ip, to->ip, 4) != 0)
      continue;
    for (unsigned k = 0; k < w->n_maps[j]; k++) {
      const struct tn_map *m = &w->maps[j][k];
      if (m->pub_port != to->port)
        continue;
      if (w->nat[j] == TN_FULLCONE || rl_addr_equal(&m->dst, from))
        return j;
    }
    dropped = true; /* (another node may share this box) */
  }
  if (dropped)
    w->nat_dropped++;
  return -1;
}

static int addr_to_node(struct net *w, const struct rl_addr *a) {
  for (int i = 0; i < MAXN; i++)
    if (w->node[i] && rl_addr_equal(&w->addr[i], a))
      return i;
  return -1;
}

/* Nothing in flight: advances the clock to the earliest node timer and
 * fires every one due. Returns false (now = until + 1) when none is due by
 * `until`. */
static bool tn_fire_timers(struct net *w, uint64_t until) {
  uint64_t next = RL_TIME_NEVER;
  for (unsigned k = 0; k < w->n_late; k++)
    if (w->late[k].due < next)
      next = w->late[k].due;
  if (w->n_late && next <= until) {
    if (next > w->now)
      w->now = next;
    return true; /* run_until delivers it */
  }
  for (int i = 0; i < MAXN; i++)
    if (w->node[i]) {
      uint64_t t = node_next_timer(w->node[i]);
      if (t < next)
        next = t;
    }
  if (next == RL_TIME_NEVER || next > until) {
    w->now = until + 1;
    return false;
  }
  if (next > w->now)
    w->now = next;
  for (int i = 0; i < MAXN; i++)
    if (w->node[i] && node_next_timer(w->node[i]) <= w->now)
      node_on_timer(w->node[i], w->now);
  return true;
}

/* Moves every queued datagram (1 ms one-way) and fires due timers, until
 * quiet or `until`. */
/* Delivers the slow datagrams that are due, in the order they were sent. */
static bool tn_deliver_late(struct net *w) {
  bool moved = false;
  unsigned k = 0;
  while (k < w->n_late) {
    struct tn_late *x = &w->late[k];
    if (x->due > w->now) {
      k++;
      continue;
    }
    if (w->node[x->to_node] && !w->down[x->to_node] && !w->down[x->from_node])
      node_recv_udp(w->node[x->to_node], &x->from, x->buf, x->len, w->now);
    memmove(x, x + 1, (w->n_late - k - 1) * sizeof(*x));
    w->n_late--;
    moved = true;
  }
  return moved;
}

static void run_until(struct net *w, uint64_t until) {
  uint8_t buf[NODE_UDP_MAX];
  for (int guard = 0; guard < 100000 && w->now <= until; guard++) {
    bool moved = tn_deliver_late(w);
    for (int i = 0; i < MAXN; i++) {
      struct rl_addr to;
      size_t len;
      if (!w->node[i])
        continue;
      while ((len = node_poll_udp(w->node[i], &to, buf, sizeof(buf))) > 0) {
        struct rl_addr from = tn_outbound(w, i, &to);
        int j = tn_inbound(w, &from, &to);
        moved = true;
        if (j >= 0 && w->cut[i][j])
          continue;
        if (j >= 0 && w->slow_ms[i][j] && w->n_late < 256) {
          struct tn_late *x = &w->late[w->n_late++];
          x->due = w->now + NS_PER_MS + (uint64_t)w->slow_ms[i][j] * NS_PER_MS;
          x->from_node = i;
          x->to_node = j;
          x->from = from;
          x->len = (uint16_t)len;
          memcpy(x->buf, buf, len);
          continue;
        }
        if (j >= 0 && !w->down[j] && !w->down[i]) {
          node_recv_udp(w->node[j], &from, buf, len, w->now);
          w->delivered++;
          w->pair[i][j]++;
        }
      }
    }
    if (moved) {
      w->now += NS_PER_MS;
      continue;
    }
    if (!tn_fire_timers(w, until))
      return;
  }
}


static size_t make_frame_ring(uint8_t *f, const struct net *w, int from, int to, uint8_t fill) {
  uint8_t smac[6], dmac[6];
  node_tap_mac(w->node[from], smac);
  node_tap_mac(w->node[to], dmac);
  memcpy(f, dmac, 6);
  memcpy(f + 6, smac, 6);
  f[12] = 0x08;
  f[13] = 0x00; /* IPv4 */
  memset(f + 14, fill, 86);
  f[14] = 0x45;
  f[16] = 0;
  f[17] = 86; /* total length: a header the receiving LAN check can read */
  uint32_t src = w->cert[from].vip, dst = w->cert[to].vip;
  for (int k = 0; k < 4; k++) {
    f[14 + 12 + k] = (uint8_t)(src >> (24 - 8 * k));
    f[14 + 16 + k] = (uint8_t)(dst >> (24 - 8 * k));
  }
  return 100;
}

static void teardown(struct net *w) {
  for (int i = 0; i < MAXN; i++)
    node_free(w->node[i]);
}

/* A broadcast ARP request from node `from`'s kernel for `target`. */
/* Members 0..MAXN-1 certified (VIPs 100.64.0.1..), the first `members`
 * of them started one by one (2 s apart) with member 0 as their bootstrap
 * node, successor lists of 3, then 60 s to settle. */
static struct net *make_ring_of(int members) {
  struct net *w = calloc(1, sizeof(*w));
  struct prng gp = {4242};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  w->now = T0;
  w->ring_successors = 3;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  for (int i = 0; i < MAXN; i++)
    make_member(w, i, &w->group, "lab", 0x64400001 + (uint32_t)i);
  start_node_cfg(w, 0, w->group.pk, -1, -1);
  for (int i = 1; i < members; i++) {
    start_node_cfg(w, i, w->group.pk, -1, 0);
    run_until(w, w->now + 2 * NS_PER_S); /* members arrive one by one */
  }
  run_until(w, w->now + 60 * NS_PER_S);
  return w;
}

static size_t arp_request(uint8_t *f, struct net *w, int from, uint32_t target) {
  uint8_t smac[6];
  node_tap_mac(w->node[from], smac);
  memset(f, 0xff, 6);
  memcpy(f + 6, smac, 6);
  f[12] = 0x08, f[13] = 0x06;
  const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};
  memcpy(f + 14, hdr, 8);
  memcpy(f + 22, smac, 6);
  uint32_t spa = w->cert[from].vip;
  for (int k = 0; k < 4; k++) {
    f[28 + k] = (uint8_t)(spa >> (24 - 8 * k));
    f[38 + k] = (uint8_t)(target >> (24 - 8 * k));
  }
  memset(f + 32, 0, 6);
  return 42;
}

#endif
