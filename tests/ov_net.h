/* The overlay tests' mini network (included by tests/test_overlay.c and
 * tests/test_ov_bcast.c).
 *
 * N overlay instances, a time-ordered queue of messages between them, links
 * as a symmetric matrix. OV_ACT_CONNECT brings a link up on both sides with
 * a synthetic RTT (nodes sit on a line, RTT = 1 ms + 2 ms per unit of
 * distance): at once, or after 1.5 RTT with `latency` set (messages then
 * take RTT/2). OV_ACT_DISCONNECT closes the link on both sides unless the
 * other side asked for it too (with latency: once it has been idle for
 * 2 s, like a node core's idle reaper). Time only moves in run_until().
 * Static functions in a header: one test binary, no library code. */
#ifndef RL_TESTS_OV_NET_H
#define RL_TESTS_OV_NET_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/ov_internal.h"
#include "overlay/overlay.h"

/* ---- deterministic randomness ------------------------------------------- */

static uint64_t xs_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}
static void xs_rand(void *ctx, uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++)
    buf[i] = (uint8_t)(xs_next(ctx) >> 24);
}

/* ---- the mini network --------------------------------------------------- */

struct msg { /* a message in flight, or (data == NULL) a pending link-up,
              * or (data == NULL, len == 1) a failed connect being reported,
              * or (data == NULL, len == 2) an idle link being closed */
  uint64_t t, seq;
  unsigned from, to;
  size_t len;
  uint8_t *data;
};

struct dlv { /* one OV_ACT_DELIVER or OV_ACT_BCAST seen */
  unsigned at;
  uint8_t src[RL_ID_LEN];
  uint8_t key[RL_ID_LEN];
  uint8_t app, hops;
  bool bcast;   /* OV_ACT_BCAST: tag = the payload's first 4 bytes */
  uint32_t tag;
};

struct net {
  unsigned n;
  struct overlay **ov;
  uint8_t (*id)[RL_ID_LEN];
  double *pos;
  bool *alive;
  uint8_t *link;    /* n*n: link up */
  uint8_t *asked;   /* n*n: i emitted CONNECT to j */
  uint8_t *ever;    /* n*n: a link i-j existed at some point */
  uint8_t *nolink;  /* n*n: i and j can never link (a CONNECT goes unanswered) */
  uint64_t *used;   /* n*n: last time a message was sent i -> j */
  unsigned *sorted; /* node indices sorted by ID */
  struct msg *q; /* binary min-heap on (t, seq) */
  size_t q_len, q_cap;
  uint64_t seq;
  bool latency;      /* messages take RTT/2, a CONNECT 1.5 RTT */
  unsigned loss_pct; /* messages lost at random */
  bool fail_fast;    /* a CONNECT to a dead node is reported (link_down) after 1 s */
  struct dlv *dl;
  size_t n_dl, cap_dl;
  uint64_t now;
  uint64_t rng;
  struct rl_env env;
  unsigned bad_sends, ring_changes, disconnects;
  uint64_t sent_msgs, sent_bytes, lost_on_down_link;
  bool watch;                /* count messages between watch_a and watch_b */
  unsigned watch_a, watch_b, watch_pings, watch_other;
  struct ov_config cfg;
};

static struct net *sort_net; /* qsort has no context argument */
static int cmp_idx(const void *a, const void *b) {
  return ring_cmp(sort_net->id[*(const unsigned *)a], sort_net->id[*(const unsigned *)b]);
}

static int find_node(const struct net *net, const uint8_t id[RL_ID_LEN]) {
  size_t lo = 0, hi = net->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = ring_cmp(net->id[net->sorted[mid]], id);
    if (c == 0)
      return (int)net->sorted[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

static struct net *net_new(unsigned n, uint64_t seed, const struct ov_config *cfg) {
  struct net *net = calloc(1, sizeof(*net));
  if (getenv("OV_SEED")) /* explore other topologies: OV_SEED=7 */
    seed += strtoull(getenv("OV_SEED"), NULL, 10) * 1000;
  net->n = n;
  net->rng = seed ? seed : 1;
  net->env.rand = xs_rand;
  net->env.rand_ctx = &net->rng;
  net->ov = calloc(n, sizeof(*net->ov));
  net->id = calloc(n, RL_ID_LEN);
  net->pos = calloc(n, sizeof(double));
  net->alive = calloc(n, sizeof(bool));
  net->link = calloc((size_t)n * n, 1);
  net->asked = calloc((size_t)n * n, 1);
  net->ever = calloc((size_t)n * n, 1);
  net->nolink = calloc((size_t)n * n, 1);
  net->used = calloc((size_t)n * n, sizeof(uint64_t));
  net->sorted = calloc(n, sizeof(unsigned));
  net->now = 1000 * NS_PER_S;
  if (cfg)
    net->cfg = *cfg;
  else
    ov_config_default(&net->cfg);
  net->cfg.env = &net->env;
  for (unsigned i = 0; i < n; i++) {
    xs_rand(&net->rng, net->id[i], RL_ID_LEN);
    net->pos[i] = (double)(xs_next(&net->rng) % 10000) / 100.0;
    net->sorted[i] = i;
  }
  sort_net = net;
  qsort(net->sorted, n, sizeof(unsigned), cmp_idx);
  for (unsigned i = 0; i < n; i++) {
    struct ov_config c = net->cfg;
    memcpy(c.self_id, net->id[i], RL_ID_LEN);
    net->ov[i] = overlay_new(&c);
    assert_non_null(net->ov[i]);
    struct rl_addr ep;
    memset(&ep, 0, sizeof(ep));
    rl_addr_set_ipv4(&ep, 0xc6336400u + i, 4000); /* 198.51.100.x */
    overlay_set_self_endpoints(net->ov[i], &ep, 1);
  }
  return net;
}

static void net_free(struct net *net) {
  for (unsigned i = 0; i < net->n; i++)
    overlay_free(net->ov[i]);
  for (size_t i = 0; i < net->q_len; i++)
    free(net->q[i].data);
  free(net->q);
  free(net->dl);
  free(net->ov);
  free(net->id);
  free(net->pos);
  free(net->alive);
  free(net->link);
  free(net->asked);
  free(net->ever);
  free(net->nolink);
  free(net->used);
  free(net->sorted);
  free(net);
}

#define L(net, i, j) (net)->link[(size_t)(i) * (net)->n + (j)]
#define ASK(net, i, j) (net)->asked[(size_t)(i) * (net)->n + (j)]
#define EVER(net, i, j) (net)->ever[(size_t)(i) * (net)->n + (j)]

static uint64_t rtt(const struct net *net, unsigned i, unsigned j) {
  return (uint64_t)((1.0 + 2.0 * (net->pos[i] > net->pos[j] ? net->pos[i] - net->pos[j] : net->pos[j] - net->pos[i])) * NS_PER_MS);
}

static void link_up(struct net *net, unsigned i, unsigned j) {
  if (L(net, i, j) || net->nolink[(size_t)i * net->n + j])
    return;
  L(net, i, j) = L(net, j, i) = 1;
  EVER(net, i, j) = EVER(net, j, i) = 1;
  struct rl_addr ei, ej;
  memset(&ei, 0, sizeof(ei));
  memset(&ej, 0, sizeof(ej));
  rl_addr_set_ipv4(&ei, 0xc6336400u + i, 4000);
  rl_addr_set_ipv4(&ej, 0xc6336400u + j, 4000);
  overlay_link_up(net->ov[i], net->id[j], &ej, rtt(net, i, j), net->now);
  overlay_link_up(net->ov[j], net->id[i], &ei, rtt(net, i, j), net->now);
}

static void link_down(struct net *net, unsigned i, unsigned j) {
  if (!L(net, i, j))
    return;
  L(net, i, j) = L(net, j, i) = 0;
  ASK(net, i, j) = ASK(net, j, i) = 0;
  if (net->alive[i])
    overlay_link_down(net->ov[i], net->id[j], net->now);
  if (net->alive[j])
    overlay_link_down(net->ov[j], net->id[i], net->now);
}

static bool ev_less(const struct msg *a, const struct msg *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void ev_push(struct net *net, struct msg ev) {
  if (net->q_len == net->q_cap) {
    net->q_cap = net->q_cap ? 2 * net->q_cap : 256;
    net->q = realloc(net->q, net->q_cap * sizeof(*net->q));
  }
  ev.seq = net->seq++;
  size_t i = net->q_len++;
  while (i > 0 && ev_less(&ev, &net->q[(i - 1) / 2])) {
    net->q[i] = net->q[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  net->q[i] = ev;
}

static struct msg ev_pop(struct net *net) {
  struct msg top = net->q[0], last = net->q[--net->q_len];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= net->q_len)
      break;
    if (c + 1 < net->q_len && ev_less(&net->q[c + 1], &net->q[c]))
      c++;
    if (!ev_less(&net->q[c], &last))
      break;
    net->q[i] = net->q[c];
    i = c;
  }
  if (net->q_len)
    net->q[i] = last;
  return top;
}

static void enqueue(struct net *net, unsigned from, unsigned to, const uint8_t *d, size_t len) {
  net->sent_msgs++;
  net->sent_bytes += len;
  net->used[(size_t)from * net->n + to] = net->used[(size_t)to * net->n + from] = net->now;
  if (net->watch && ((from == net->watch_a && to == net->watch_b) ||
                     (from == net->watch_b && to == net->watch_a))) {
    if (len && (d[0] == OV_MSG_PING || d[0] == OV_MSG_PONG))
      net->watch_pings++;
    else
      net->watch_other++;
  }
  if (net->loss_pct && xs_next(&net->rng) % 100 < net->loss_pct)
    return;
  struct msg m = {.t = net->now + (net->latency ? rtt(net, from, to) / 2 : 0),
                  .from = from, .to = to, .len = len};
  m.data = malloc(len ? len : 1);
  memcpy(m.data, d, len);
  ev_push(net, m);
}

/* Runs one node's actions. Returns how many there were. */
static unsigned actions(struct net *net, unsigned i) {
  struct ov_action *a = malloc(sizeof(*a));
  unsigned count = 0;
  while (overlay_poll(net->ov[i], a)) {
    count++;
    int j = find_node(net, a->kind == OV_ACT_CONNECT ? a->node.id : a->peer);
    switch (a->kind) {
    case OV_ACT_SEND:
      assert_true(j >= 0);
      assert_true(a->len > 0 && a->len <= OV_MSG_MAX);
      if (!EVER(net, i, j))
        net->bad_sends++; /* sent where no link was ever up: a contract breach */
      if (L(net, i, j) && net->alive[j])
        enqueue(net, i, (unsigned)j, a->data, a->len);
      break;
    case OV_ACT_CONNECT:
      if (j < 0)
        break; /* a made-up node (test_malformed): it never answers */
      assert_true(a->node.n_ep >= 1); /* real descriptors carry endpoints */
      ASK(net, i, j) = 1;
      if (!net->alive[j] && net->fail_fast)
        ev_push(net, (struct msg){.t = net->now + NS_PER_S, .from = i, .to = (unsigned)j,
                                  .len = 1});
      if (net->alive[j] && !L(net, i, j)) {
        if (net->latency) /* the handshake takes a round trip and a half */
          ev_push(net, (struct msg){.t = net->now + 3 * rtt(net, i, (unsigned)j) / 2,
                                    .from = i, .to = (unsigned)j});
        else
          link_up(net, i, (unsigned)j);
      }
      break;
    case OV_ACT_DISCONNECT:
      assert_true(j >= 0);
      assert_true(ASK(net, i, j)); /* only links it asked for */
      ASK(net, i, j) = 0;
      net->disconnects++;
      if (net->latency) /* like a node core's idle reaper: close a bit later */
        ev_push(net, (struct msg){.t = net->now + 2 * NS_PER_S, .from = i, .to = (unsigned)j,
                                  .len = 2});
      else if (!ASK(net, j, i)) /* the other side still wants it: keep */
        link_down(net, i, (unsigned)j);
      break;
    case OV_ACT_DELIVER:
    case OV_ACT_BCAST:
      if (net->n_dl == net->cap_dl) {
        net->cap_dl = net->cap_dl ? 2 * net->cap_dl : 64;
        net->dl = realloc(net->dl, net->cap_dl * sizeof(*net->dl));
      }
      net->dl[net->n_dl].at = i;
      memcpy(net->dl[net->n_dl].src, a->peer, RL_ID_LEN);
      memcpy(net->dl[net->n_dl].key, a->key, RL_ID_LEN);
      net->dl[net->n_dl].app = a->app;
      net->dl[net->n_dl].hops = a->hops;
      net->dl[net->n_dl].bcast = a->kind == OV_ACT_BCAST;
      net->dl[net->n_dl].tag = 0;
      if (a->kind == OV_ACT_BCAST && a->len >= 4)
        net->dl[net->n_dl].tag = (uint32_t)a->data[0] << 24 | (uint32_t)a->data[1] << 16 |
                                 (uint32_t)a->data[2] << 8 | a->data[3];
      net->n_dl++;
      break;
    case OV_ACT_RING_CHANGED:
      net->ring_changes++;
      break;
    default:
      fail_msg("unknown action %d", a->kind);
    }
  }
  free(a);
  return count;
}

/* Delivers messages and actions until everything is quiet. */
static void drain(struct net *net) {
  for (unsigned rounds = 0;; rounds++) {
    assert_true(rounds < 1000000);
    unsigned busy = 0;
    for (unsigned i = 0; i < net->n; i++)
      if (net->alive[i])
        busy += actions(net, i);
    if (net->q_len && net->q[0].t <= net->now) {
      struct msg m = ev_pop(net);
      if (!m.data && m.len == 2) { /* idle close, unless someone asked again */
        uint64_t last = net->used[(size_t)m.from * net->n + m.to];
        if (ASK(net, m.from, m.to) || ASK(net, m.to, m.from))
          ; /* wanted again */
        else if (last + 2 * NS_PER_S > net->now) /* still carrying traffic */
          ev_push(net, (struct msg){.t = last + 2 * NS_PER_S, .from = m.from, .to = m.to,
                                    .len = 2});
        else
          link_down(net, m.from, m.to);
      } else if (!m.data && m.len == 1) { /* the node core gives up on a dead peer */
        if (net->alive[m.from] && !L(net, m.from, m.to))
          overlay_link_down(net->ov[m.from], net->id[m.to], net->now);
      } else if (!m.data) { /* a handshake completes, if both ends still live */
        if (net->alive[m.from] && net->alive[m.to])
          link_up(net, m.from, m.to);
      } else if (net->alive[m.to] && L(net, m.from, m.to)) {
        overlay_recv(net->ov[m.to], net->id[m.from], m.data, m.len, net->now);
      } else {
        net->lost_on_down_link++;
      }
      free(m.data);
      busy++;
    }
    if (!busy)
      return;
  }
}

static void run_until(struct net *net, uint64_t t_end) {
  drain(net);
  for (;;) {
    uint64_t t = RL_TIME_NEVER;
    for (unsigned i = 0; i < net->n; i++)
      if (net->alive[i]) {
        uint64_t ti = overlay_next_timer(net->ov[i]);
        if (ti < t)
          t = ti;
      }
    if (net->q_len && net->q[0].t < t)
      t = net->q[0].t;
    if (t > t_end)
      break;
    if (t > net->now)
      net->now = t;
    for (unsigned i = 0; i < net->n; i++)
      if (net->alive[i] && overlay_next_timer(net->ov[i]) <= net->now)
        overlay_on_timer(net->ov[i], net->now);
    drain(net);
  }
  net->now = t_end;
}

/* Node i joins through the bootstrap node b; the harness's own link to b is
 * dropped afterwards unless one of the overlays asked for it. */
static void join_via(struct net *net, unsigned i, unsigned b) {
  net->alive[i] = true;
  link_up(net, i, b);
  overlay_join(net->ov[i], net->now);
  run_until(net, net->now + NS_PER_S / 2);
  for (unsigned w = 0; w < 20 && net->latency && !overlay_is_owner(net->ov[i], net->id[i]); w++)
    run_until(net, net->now + NS_PER_S / 2);
  if (getenv("OV_DEBUG") && !overlay_is_owner(net->ov[i], net->id[i])) {
    struct ov_stats st;
    for (unsigned k = 0; k < net->n; k++) {
      overlay_stats(net->ov[k], &st);
      if (st.dropped_no_route || st.dropped_ttl || st.dropped_bad)
        print_message("join %u failed; node %u: noroute %llu ttl %llu bad %llu\n", i, k,
                      (unsigned long long)st.dropped_no_route,
                      (unsigned long long)st.dropped_ttl, (unsigned long long)st.dropped_bad);
    }
  }
  /* a node core keeps its bootstrap link at least until the join is done */
  if (!ASK(net, i, b) && !ASK(net, b, i) && overlay_is_owner(net->ov[i], net->id[i]))
    link_down(net, i, b);
  drain(net);
}

static void build_ring(struct net *net, unsigned n) {
  net->alive[0] = true;
  overlay_join(net->ov[0], net->now); /* no links: the seed */
  for (unsigned i = 1; i < n; i++)
    join_via(net, i, 0);
}

/* The live node that owns key (its successor among live IDs). */
static int owner_of(const struct net *net, const uint8_t key[RL_ID_LEN]) {
  int first = -1;
  for (unsigned s = 0; s < net->n; s++) {
    unsigned i = net->sorted[s];
    if (!net->alive[i])
      continue;
    if (first < 0)
      first = (int)i;
    if (ring_cmp(net->id[i], key) >= 0)
      return (int)i;
  }
  return first;
}

/* Counts nodes whose view disagrees with the sorted list of live IDs:
 * successor list (up to r or the whole ring), predecessor, joined. */
static unsigned ring_errors(const struct net *net, bool full_list, bool verbose) {
  unsigned live[4096], nl = 0, errors = 0;
  for (unsigned s = 0; s < net->n; s++)
    if (net->alive[net->sorted[s]])
      live[nl++] = net->sorted[s];
  struct ov_ring_info *info = malloc(sizeof(*info));
  for (unsigned p = 0; p < nl; p++) {
    unsigned i = live[p];
    overlay_ring_info(net->ov[i], info);
    unsigned want = nl - 1 < net->cfg.n_successors ? nl - 1 : net->cfg.n_successors;
    bool ok = info->joined && info->n_succ >= 1 && (!full_list || info->n_succ == want);
    for (unsigned k = 0; ok && k < (full_list ? want : 1); k++)
      ok = ring_eq(info->succ[k], net->id[live[(p + 1 + k) % nl]]);
    ok = ok && info->has_pred && ring_eq(info->pred, net->id[live[(p + nl - 1) % nl]]);
    if (!ok) {
      errors++;
      if (verbose) {
        char line[512];
        int o = snprintf(line, sizeof(line), "node %u (rank %u): joined=%d pred=%d succ=",
                         i, p, info->joined, info->has_pred ? find_node(net, info->pred) : -1);
        for (unsigned k = 0; k < info->n_succ && o < 400; k++)
          o += snprintf(line + o, sizeof(line) - (size_t)o, "%d%s ", find_node(net, info->succ[k]),
                        net->alive[find_node(net, info->succ[k])] ? "" : "+");
        o += snprintf(line + o, sizeof(line) - (size_t)o, " want pred %u succ ", live[(p + nl - 1) % nl]);
        for (unsigned k = 0; k < want && o < 480; k++)
          o += snprintf(line + o, sizeof(line) - (size_t)o, "%u ", live[(p + 1 + k) % nl]);
        print_message("%s\n", line);
      }
    }
  }
  free(info);
  return errors;
}

/* Lets in-flight messages arrive (with latency, time must pass too). */
static void settle(struct net *net) {
  if (net->latency)
    run_until(net, net->now + 3 * NS_PER_S);
  else
    drain(net);
}

/* Routes `keys` random keys from each of `samples` random live nodes, all
 * in flight together; checks each arrived exactly once, at its owner.
 * Returns mean hops. */
static double route_check(struct net *net, unsigned samples, unsigned keys) {
  unsigned total = samples * keys;
  uint8_t (*sent)[RL_ID_LEN] = malloc((size_t)total * RL_ID_LEN);
  net->n_dl = 0;
  for (unsigned s = 0; s < samples; s++) {
    unsigned src;
    do
      src = (unsigned)(xs_next(&net->rng) % net->n);
    while (!net->alive[src]);
    for (unsigned k = 0; k < keys; k++) {
      uint8_t *key = sent[s * keys + k];
      xs_rand(&net->rng, key, RL_ID_LEN);
      assert_int_equal(overlay_route(net->ov[src], key, OV_ROUTE_OWNER, OV_APP_TEST,
                                     (const uint8_t *)"hi", 2, net->now),
                       0);
    }
  }
  uint64_t lost0 = net->lost_on_down_link;
  struct ov_stats st;
  uint64_t drops0 = 0, drops1 = 0;
  for (unsigned i = 0; i < net->n; i++) {
    overlay_stats(net->ov[i], &st);
    drops0 += st.dropped_ttl + st.dropped_no_route;
  }
  settle(net);
  if (net->n_dl != total) {
    for (unsigned i = 0; i < net->n; i++) {
      overlay_stats(net->ov[i], &st);
      drops1 += st.dropped_ttl + st.dropped_no_route;
    }
    print_message("route_check: %zu of %u delivered; lost on down links %llu, "
                  "ttl/no-route drops %llu\n", net->n_dl, total,
                  (unsigned long long)(net->lost_on_down_link - lost0),
                  (unsigned long long)(drops1 - drops0));
  }
  assert_int_equal(net->n_dl, total);
  unsigned long hops = 0;
  for (unsigned i = 0; i < total; i++) {
    unsigned found = 0;
    for (size_t d = 0; d < net->n_dl; d++) {
      if (!ring_eq(net->dl[d].key, sent[i]))
        continue;
      found++;
      assert_int_equal(net->dl[d].at, owner_of(net, sent[i]));
      assert_int_equal(net->dl[d].app, OV_APP_TEST);
      hops += net->dl[d].hops;
    }
    assert_int_equal(found, 1);
  }
  free(sent);
  return (double)hops / (double)total;
}

static void kill_node(struct net *net, unsigned i) {
  for (unsigned j = 0; j < net->n; j++)
    if (L(net, i, j))
      link_down(net, i, j); /* the neighbours notice the dead link */
  net->alive[i] = false;
}

#endif
