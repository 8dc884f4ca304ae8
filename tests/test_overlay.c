/* Tests: the overlay (overlay/ *.c) in an in-test mini network.
 *
 * N overlay instances, a FIFO of messages between them, links as a
 * symmetric matrix. OV_ACT_CONNECT brings a link up at once on both sides
 * with a synthetic RTT (nodes sit on a line, RTT = 1 ms + 2 ms per unit of
 * distance); OV_ACT_DISCONNECT tears it down on both sides (as a node core
 * without data traffic on it would). Time only moves in run_until().
 *
 *     n0 (bootstrap) <-- every joiner links here first, joins, and the
 *      |                 bootstrap link is dropped unless an overlay asked
 *     ...                for it (so the ring is built by the overlay alone)
 */
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
              * or (data == NULL, len == 1) a failed connect being reported */
  uint64_t t, seq;
  unsigned from, to;
  size_t len;
  uint8_t *data;
};

struct dlv { /* one OV_ACT_DELIVER seen */
  unsigned at;
  uint8_t key[RL_ID_LEN];
  uint8_t app, hops;
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
  uint64_t sent_msgs, sent_bytes;
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
  if (L(net, i, j))
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
      if (!ASK(net, j, i)) /* the other side still wants it: keep */
        link_down(net, i, (unsigned)j);
      break;
    case OV_ACT_DELIVER:
      if (net->n_dl == net->cap_dl) {
        net->cap_dl = net->cap_dl ? 2 * net->cap_dl : 64;
        net->dl = realloc(net->dl, net->cap_dl * sizeof(*net->dl));
      }
      net->dl[net->n_dl].at = i;
      memcpy(net->dl[net->n_dl].key, a->key, RL_ID_LEN);
      net->dl[net->n_dl].app = a->app;
      net->dl[net->n_dl].hops = a->hops;
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
      if (!m.data && m.len == 1) { /* the node core gives up on a dead peer */
        if (net->alive[m.from] && !L(net, m.from, m.to))
          overlay_link_down(net->ov[m.from], net->id[m.to], net->now);
      } else if (!m.data) { /* a handshake completes, if both ends still live */
        if (net->alive[m.from] && net->alive[m.to])
          link_up(net, m.from, m.to);
      } else if (net->alive[m.to] && L(net, m.from, m.to)) {
        overlay_recv(net->ov[m.to], net->id[m.from], m.data, m.len, net->now);
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
  settle(net);
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

static void converge_and_route(unsigned n, uint64_t seed) {
  struct net *net = net_new(n, seed, NULL);
  build_ring(net, n);
  if (getenv("OV_DEBUG"))
    print_message("after build: errors %u\n", ring_errors(net, true, true));
  run_until(net, net->now + 120 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  assert_int_equal(net->bad_sends, 0);
  double mean = route_check(net, 32, 16);
  unsigned lg = 0;
  while ((1u << (lg + 1)) <= n)
    lg++;
  double bound = 0.5 * lg + 1.0; /* n is a power of two here */
  struct ov_ring_info *info = malloc(sizeof(*info));
  overlay_ring_info(net->ov[n / 2], info);
  print_message("N=%u: mean hops %.2f (bound %.2f), node %u: %u shortcuts, N estimate %llu\n",
                n, mean, bound, n / 2, info->n_shortcuts,
                (unsigned long long)info->estimated_n);
  assert_true(mean <= bound);
  /* Links: about log2(N) shortcuts + successors + predecessor per node;
   * unneeded ones were released (OV_ACT_DISCONNECT) after the grace time. */
  unsigned long links = 0;
  for (unsigned i = 0; i < n; i++)
    for (unsigned j = 0; j < n; j++)
      links += L(net, i, j);
  double per_node = (double)links / n;
  /* PNS: the chosen shortcut's RTT against the mean RTT of every node that
   * would have been acceptable for the same slot. */
  double chosen = 0, random_pick = 0;
  for (unsigned i = 0; i < n; i++) {
    overlay_ring_info(net->ov[i], info);
    for (unsigned k = 0; k < info->n_shortcuts; k++) {
      int f = find_node(net, info->shortcuts[k]);
      int slot = ov_slot_of(net->ov[i], info->shortcuts[k]);
      double sum = 0;
      unsigned cnt = 0;
      for (unsigned j = 0; j < n; j++)
        if (j != i && ov_slot_of(net->ov[i], net->id[j]) == slot) {
          sum += (double)rtt(net, i, j);
          cnt++;
        }
      chosen += (double)rtt(net, i, (unsigned)f);
      random_pick += sum / cnt;
    }
  }
  print_message("N=%u: %.1f links per node, shortcut RTT %.0f%% of a random pick in slot\n",
                n, per_node, 100.0 * chosen / random_pick);
  assert_true(per_node <= 2 * lg + OV_LINKED_SUCC + 2);
  assert_true(chosen < 0.75 * random_pick);
  assert_true(net->disconnects > 0); /* PNS losers and stale links were released */
  /* Steady-state maintenance traffic: stabilise is 3 messages per node per
   * period, plus shortcut and heal lookups. */
  uint64_t m0 = net->sent_msgs, b0 = net->sent_bytes;
  run_until(net, net->now + 60 * NS_PER_S);
  double per_s = (double)(net->sent_msgs - m0) / n / 60.0;
  double bytes_s = (double)(net->sent_bytes - b0) / n / 60.0;
  print_message("N=%u: steady state %.2f messages, %.0f bytes per node per second\n", n,
                per_s, bytes_s);
  assert_true(per_s < 3.0);
  /* the size estimate is within a factor of 4 of the truth */
  assert_true(info->estimated_n >= n / 4 && info->estimated_n <= 4 * n);
  free(info);
  net_free(net);
}

static void test_converge_64(void **state) {
  (void)state;
  converge_and_route(64, 11);
}

static void test_converge_256(void **state) {
  (void)state;
  converge_and_route(256, 12);
}

static void kill_node(struct net *net, unsigned i) {
  for (unsigned j = 0; j < net->n; j++)
    if (L(net, i, j))
      link_down(net, i, j); /* the neighbours notice the dead link */
  net->alive[i] = false;
}

static void test_churn_repair(void **state) {
  (void)state;
  const unsigned n = 128;
  struct net *net = net_new(n, 21, NULL);
  build_ring(net, n);
  run_until(net, net->now + 60 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  /* kill 25%, never the same node twice */
  for (unsigned killed = 0; killed < n / 4;) {
    unsigned v = (unsigned)(xs_next(&net->rng) % n);
    if (!net->alive[v])
      continue;
    kill_node(net, v);
    killed++;
  }
  drain(net);
  unsigned periods = 0;
  while (ring_errors(net, true, getenv("OV_DEBUG") != NULL) && periods < 20) {
    if (getenv("OV_DEBUG"))
      print_message("-- period %u: %u errors (succ/pred only: %u)\n", periods,
                    ring_errors(net, true, false), ring_errors(net, false, false));
    run_until(net, net->now + net->cfg.stabilise_ns);
    periods++;
  }
  print_message("ring repaired after %u stabilise periods\n", periods);
  assert_int_equal(ring_errors(net, true, true), 0);
  assert_true(periods <= 8);
  (void)route_check(net, 16, 16);
  assert_int_equal(net->bad_sends, 0);
  net_free(net);
}

static void test_latency_and_loss(void **state) {
  (void)state;
  /* The same protocol with real delays: messages take RTT/2 (0.5..100 ms),
   * a CONNECT takes 1.5 RTT to come up, and 2% of messages are lost while
   * the ring forms. Then 25% of the nodes crash. */
  const unsigned n = 128;
  struct net *net = net_new(n, 101, NULL);
  net->latency = true;
  net->loss_pct = 2;
  net->fail_fast = true;
  build_ring(net, n);
  run_until(net, net->now + 120 * NS_PER_S);
  net->loss_pct = 0;
  run_until(net, net->now + 3 * net->cfg.stabilise_ns);
  assert_int_equal(ring_errors(net, true, true), 0);
  double mean = route_check(net, 16, 8);
  print_message("latency+loss: mean hops %.2f\n", mean);
  assert_true(mean <= 0.5 * 7 + 1.0);
  for (unsigned killed = 0; killed < n / 4;) {
    unsigned v = (unsigned)(xs_next(&net->rng) % n);
    if (!net->alive[v])
      continue;
    kill_node(net, v);
    killed++;
  }
  unsigned periods = 0;
  while (ring_errors(net, true, false) && periods < 20) {
    run_until(net, net->now + net->cfg.stabilise_ns);
    periods++;
  }
  print_message("latency: ring repaired after %u stabilise periods\n", periods);
  assert_int_equal(ring_errors(net, true, true), 0);
  assert_true(periods <= 8);
  (void)route_check(net, 16, 8);
  assert_int_equal(net->bad_sends, 0);
  net_free(net);
}

static void test_graceful_leave(void **state) {
  (void)state;
  const unsigned n = 32;
  struct net *net = net_new(n, 31, NULL);
  build_ring(net, n);
  run_until(net, net->now + 60 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  for (unsigned round = 0; round < 4; round++) {
    unsigned v;
    do
      v = (unsigned)(xs_next(&net->rng) % n);
    while (!net->alive[v] || v == 0);
    struct ov_ring_info *info = malloc(sizeof(*info));
    overlay_ring_info(net->ov[v], info);
    int p = find_node(net, info->pred), s = find_node(net, info->succ[0]);
    overlay_leave(net->ov[v], net->now);
    assert_false(overlay_is_owner(net->ov[v], net->id[v]));
    drain(net); /* the LEAVE messages go out */
    kill_node(net, v);
    drain(net); /* no time passes: the splice is immediate */
    overlay_ring_info(net->ov[p], info);
    assert_memory_equal(info->succ[0], net->id[s], RL_ID_LEN);
    overlay_ring_info(net->ov[s], info);
    assert_true(info->has_pred);
    assert_memory_equal(info->pred, net->id[p], RL_ID_LEN);
    free(info);
    (void)route_check(net, 4, 8);
  }
  run_until(net, net->now + 5 * net->cfg.stabilise_ns);
  assert_int_equal(ring_errors(net, true, true), 0);
  net_free(net);
}

static void test_exact_and_ttl(void **state) {
  (void)state;
  const unsigned n = 32;
  struct net *net = net_new(n, 41, NULL);
  build_ring(net, n);
  run_until(net, net->now + 60 * NS_PER_S);
  /* EXACT to an existing ID arrives there ... */
  net->n_dl = 0;
  assert_int_equal(overlay_route(net->ov[3], net->id[17], OV_ROUTE_EXACT, OV_APP_TEST,
                                 NULL, 0, net->now), 0);
  drain(net);
  assert_int_equal(net->n_dl, 1);
  assert_int_equal(net->dl[0].at, 17);
  /* ... and to an ID nobody has is dropped, not delivered to the owner. */
  uint8_t key[RL_ID_LEN];
  memcpy(key, net->id[17], RL_ID_LEN);
  key[RL_ID_LEN - 1] ^= 1;
  struct ov_stats before, after;
  uint64_t drops = 0;
  for (unsigned i = 0; i < n; i++) {
    overlay_stats(net->ov[i], &before);
    drops += before.dropped_no_route;
  }
  net->n_dl = 0;
  overlay_route(net->ov[3], key, OV_ROUTE_EXACT, OV_APP_TEST, NULL, 0, net->now);
  drain(net);
  assert_int_equal(net->n_dl, 0);
  for (unsigned i = 0; i < n; i++) {
    overlay_stats(net->ov[i], &after);
    drops -= after.dropped_no_route;
  }
  assert_int_equal((int64_t)drops, -1);
  /* TTL: a ROUTED message with ttl 0 that is not for the receiver dies. */
  int o = owner_of(net, key);
  unsigned at = (unsigned)(o == 5 ? 6 : 5);
  struct ov_msg m;
  memset(&m, 0, sizeof(m));
  m.type = OV_MSG_ROUTED;
  m.ttl = 0;
  memcpy(m.src, net->id[1], RL_ID_LEN);
  memcpy(m.target, net->id[(at + 16) % n], RL_ID_LEN);
  uint8_t buf[OV_MSG_MAX];
  int len = ov_msg_encode(&m, buf, sizeof(buf));
  assert_true(len == OV_ROUTED_HDR);
  unsigned peer = 0;
  while (!L(net, at, peer)) /* messages only ever arrive over real links */
    peer++;
  overlay_stats(net->ov[at], &before);
  assert_int_equal(overlay_recv(net->ov[at], net->id[peer], buf, (size_t)len, net->now),
                   RL_ETIMEDOUT);
  overlay_stats(net->ov[at], &after);
  assert_int_equal(after.dropped_ttl, before.dropped_ttl + 1);
  /* TTL 1 on real routes: a message injected at `at` with ttl 1 may take
   * one more hop. Keyed to node IDs, it arrives exactly when that node is
   * `at` itself or linked to it; everything else dies of TTL one hop on. */
  uint64_t ttl_before = 0, ttl_after = 0, got = 0, expect = 0;
  for (unsigned i = 0; i < n; i++) {
    overlay_stats(net->ov[i], &before);
    ttl_before += before.dropped_ttl;
  }
  for (unsigned j = 0; j < n; j++) {
    memcpy(m.target, net->id[j], RL_ID_LEN);
    m.ttl = 1;
    len = ov_msg_encode(&m, buf, sizeof(buf));
    net->n_dl = 0;
    overlay_recv(net->ov[at], net->id[peer], buf, (size_t)len, net->now);
    drain(net);
    bool reach = j == at || L(net, at, j);
    expect += reach;
    assert_int_equal(net->n_dl, reach ? 1 : 0);
    got += net->n_dl;
    if (net->n_dl) {
      assert_int_equal(net->dl[0].at, j);
      assert_int_equal(net->dl[0].hops, j == at ? 0 : 1);
    }
  }
  for (unsigned i = 0; i < n; i++) {
    overlay_stats(net->ov[i], &after);
    ttl_after += after.dropped_ttl;
  }
  assert_true(expect > 1 && expect < n);
  assert_int_equal(got, expect);
  assert_int_equal(ttl_after - ttl_before, n - expect);
  net_free(net);
}

static void test_malformed(void **state) {
  (void)state;
  struct net *net = net_new(8, 51, NULL);
  build_ring(net, 8);
  run_until(net, net->now + 30 * NS_PER_S);
  struct overlay *ov = net->ov[2];
  const uint8_t *from = net->id[3];
  /* Every message type, valid, then truncated at every length. */
  struct ov_msg *m = calloc(1, sizeof(*m));
  uint8_t buf[OV_MSG_MAX];
  uint8_t types[] = {OV_MSG_FIND,   OV_MSG_FIND_REPLY, OV_MSG_GET_PRED, OV_MSG_PRED_REPLY,
                     OV_MSG_NOTIFY, OV_MSG_LEAVE,      OV_MSG_ROUTED};
  struct ov_stats st;
  for (size_t t = 0; t < sizeof(types); t++) {
    memset(m, 0, sizeof(*m));
    m->type = types[t];
    m->flags = OV_F_HAS_PRED;
    m->node.n_ep = 1;
    rl_addr_set_ipv4(&m->node.ep[0], 0xc0000201, 1);
    m->pred = m->node;
    m->n_succ = 3;
    m->ttl = 5;
    int len = ov_msg_encode(m, buf, sizeof(buf));
    assert_true(len > 0);
    for (int cut = 0; cut < len; cut++) {
      overlay_stats(ov, &st);
      uint64_t bad = st.dropped_bad;
      assert_true(overlay_recv(ov, from, buf, (size_t)cut, net->now) < 0);
      overlay_stats(ov, &st);
      assert_int_equal(st.dropped_bad, bad + 1);
    }
    /* one trailing byte too many is also malformed */
    buf[len] = 0;
    assert_true(overlay_recv(ov, from, buf, (size_t)len + 1, net->now) < 0);
  }
  /* unknown type, oversized counts, bad address family */
  const uint8_t unknown[] = {0x99, 0, 0};
  assert_int_equal(overlay_recv(ov, from, unknown, sizeof(unknown), net->now), RL_EPARSE);
  memset(m, 0, sizeof(*m));
  m->type = OV_MSG_PRED_REPLY;
  int len = ov_msg_encode(m, buf, sizeof(buf));
  buf[len - 1] = OV_MAX_SUCC + 1; /* the successor count */
  assert_true(overlay_recv(ov, from, buf, (size_t)len, net->now) < 0);
  m->type = OV_MSG_NOTIFY;
  memcpy(m->node.id, from, RL_ID_LEN);
  m->node.n_ep = 1;
  rl_addr_set_ipv4(&m->node.ep[0], 0xc0000201, 1);
  len = ov_msg_encode(m, buf, sizeof(buf));
  buf[2 + RL_ID_LEN + 1] = 5; /* family 5 */
  assert_int_equal(overlay_recv(ov, from, buf, (size_t)len, net->now), RL_EPARSE);
  /* a NOTIFY speaking for someone else is refused */
  memcpy(m->node.id, net->id[4], RL_ID_LEN);
  len = ov_msg_encode(m, buf, sizeof(buf));
  assert_int_equal(overlay_recv(ov, from, buf, (size_t)len, net->now), RL_EPARSE);
  /* random garbage never crashes and never breaks the ring */
  for (unsigned i = 0; i < 5000; i++) {
    size_t l = xs_next(&net->rng) % 200;
    xs_rand(&net->rng, buf, l);
    if (l)
      buf[0] = (uint8_t)(1 + i % 7);
    overlay_recv(ov, from, buf, l, net->now);
  }
  free(m);
  drain(net);
  run_until(net, net->now + 30 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  net_free(net);
}

static void test_partition_heal(void **state) {
  (void)state;
  /* Two rings of 16 built apart (bootstraps 0 and 16), then one link
   * between a member of each; heal lookups must merge them. */
  struct ov_config cfg;
  ov_config_default(&cfg);
  cfg.heal_ns = 10 * NS_PER_S;
  const unsigned n = 32;
  struct net *net = net_new(n, 61, &cfg);
  net->alive[0] = net->alive[16] = true;
  overlay_join(net->ov[0], net->now);
  overlay_join(net->ov[16], net->now);
  for (unsigned i = 1; i < 16; i++) {
    join_via(net, i, 0);
    join_via(net, 16 + i, 16);
  }
  run_until(net, net->now + 30 * NS_PER_S);
  assert_true(ring_errors(net, false, false) > 0); /* two rings, not one */
  link_up(net, 5, 21);
  unsigned periods = 0;
  while (ring_errors(net, true, false) && periods < 60) {
    run_until(net, net->now + cfg.heal_ns);
    periods++;
  }
  print_message("rings merged after %u heal periods\n", periods);
  assert_int_equal(ring_errors(net, true, true), 0);
  (void)route_check(net, 8, 8);
  net_free(net);
}

static void test_fresh_pair_tie_break(void **state) {
  (void)state;
  /* Two fresh nodes, each told the other is its bootstrap: the lower ID
   * becomes the seed and answers the higher one's join. */
  struct net *net = net_new(2, 81, NULL);
  net->alive[0] = net->alive[1] = true;
  link_up(net, 0, 1);
  overlay_join(net->ov[0], net->now);
  overlay_join(net->ov[1], net->now);
  run_until(net, net->now + 20 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  net_free(net);
}

static void test_lonely_seed_merges(void **state) {
  (void)state;
  /* Node 9 started alone (its bootstrap was unreachable) and became a ring
   * of one; when a link to a member of the real ring comes up it merges
   * at once, without waiting for a heal period. */
  struct net *net = net_new(10, 91, NULL);
  build_ring(net, 9);
  run_until(net, net->now + 30 * NS_PER_S);
  net->alive[9] = true;
  overlay_join(net->ov[9], net->now);
  link_up(net, 9, 4);
  run_until(net, net->now + 3 * net->cfg.stabilise_ns);
  assert_int_equal(ring_errors(net, false, true), 0); /* succ[0] and pred */
  /* news of a new node travels one successor-list position per period */
  run_until(net, net->now + 8 * net->cfg.stabilise_ns);
  assert_int_equal(ring_errors(net, true, true), 0);
  net_free(net);
}

static void test_seed_and_pair(void **state) {
  (void)state;
  /* A ring of one owns everything; a second node joins; the pair is
   * consistent and queues drain to nothing (no memory held when idle). */
  struct net *net = net_new(2, 71, NULL);
  net->alive[0] = true;
  overlay_join(net->ov[0], net->now);
  assert_true(overlay_is_owner(net->ov[0], net->id[1]));
  net->n_dl = 0;
  overlay_route(net->ov[0], net->id[1], OV_ROUTE_OWNER, OV_APP_TEST, NULL, 0, net->now);
  drain(net);
  assert_int_equal(net->n_dl, 1);
  assert_int_equal(net->dl[0].hops, 0);
  join_via(net, 1, 0);
  run_until(net, net->now + 10 * NS_PER_S);
  assert_int_equal(ring_errors(net, true, true), 0);
  assert_true(overlay_is_owner(net->ov[1], net->id[1]));
  assert_false(overlay_is_owner(net->ov[0], net->id[1]));
  assert_true(net->ring_changes > 0);
  struct ov_ring_info info;
  overlay_ring_info(net->ov[0], &info);
  assert_true(info.estimated_n >= 2); /* 2^160 / distance: >= 2 by the floor */
  net_free(net);
}

int main(void) {
  if (getenv("OV_TEST")) /* run one test: OV_TEST=test_churn_repair */
    cmocka_set_test_filter(getenv("OV_TEST"));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seed_and_pair),   cmocka_unit_test(test_fresh_pair_tie_break),
      cmocka_unit_test(test_lonely_seed_merges),  cmocka_unit_test(test_converge_64),
      cmocka_unit_test(test_converge_256),    cmocka_unit_test(test_churn_repair),
      cmocka_unit_test(test_latency_and_loss), cmocka_unit_test(test_graceful_leave),  cmocka_unit_test(test_exact_and_ttl),
      cmocka_unit_test(test_malformed),       cmocka_unit_test(test_partition_heal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
