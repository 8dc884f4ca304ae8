/* Simulator engine (simulations/sim_engine.c and friends): the event heap,
 * timers, delivery through the network model, churn scheduling, lookups
 * bookkeeping, and determinism (same seed -> byte-identical output).
 *
 * The engine is driven by a tiny test model, "ping": every node wakes up
 * every ~1 s (jittered from its own rl_env randomness), sends a PING to a
 * random node's advertised address and answers PINGs with PONGs. A node
 * reports itself joined when its first PONG arrives. Its "lookup" is
 * answered at once by the source itself (so the oracle decides ok/wrong).
 *
 *   node A --PING--> [NAT?] --> node B
 *   node A <--PONG-- [NAT?] <-- node B */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "simulations/sim.h"

/* ---- the test model ---- */

struct tnode {
  struct sim *s;
  uint32_t idx;
  const struct rl_env *env;
  uint64_t next;
  uint32_t pings_rx, pongs_rx;
  unsigned qn;
  struct rl_addr qto[8];
  uint8_t q[8][16];
  uint8_t id[SIM_ID_LEN];
};

struct tctx {
  unsigned created, destroyed, left;
};

static void *t_create(void *ctx, struct sim *s, const struct sim_node_init *in, uint64_t now,
                      int *err) {
  struct tctx *c = ctx;
  struct tnode *n = calloc(1, sizeof(*n));
  if (!n) {
    *err = RL_ENOMEM;
    return NULL;
  }
  n->s = s;
  n->idx = in->idx;
  n->env = in->env;
  n->next = now + rl_rand_uniform(in->env, 1000) * NS_PER_MS;
  rl_rand(in->env, n->id, sizeof(n->id));
  c->created++;
  return n;
}

static void t_destroy(void *ctx, void *node) {
  struct tctx *c = ctx;
  c->destroyed++;
  free(node);
}

static void t_leave(void *node, uint64_t now) {
  (void)node;
  (void)now;
}

static void t_queue(struct tnode *n, const struct rl_addr *to, uint8_t kind) {
  if (n->qn == 8)
    return;
  n->qto[n->qn] = *to;
  memset(n->q[n->qn], kind, 16);
  n->qn++;
}

static int t_recv(void *node, const struct rl_addr *from, const uint8_t *pkt, size_t len,
                  uint64_t now) {
  struct tnode *n = node;
  (void)now;
  if (len != 16)
    return RL_ETRUNC;
  if (pkt[0] == 'P') {
    n->pings_rx++;
    t_queue(n, from, 'O');
  } else if (pkt[0] == 'O') {
    if (!n->pongs_rx++)
      sim_report_joined(n->s, n->idx, true);
  }
  return 0;
}

static size_t t_poll(void *node, struct rl_addr *to, uint8_t *buf, size_t cap) {
  struct tnode *n = node;
  if (!n->qn || cap < 16)
    return 0;
  n->qn--;
  *to = n->qto[n->qn];
  memcpy(buf, n->q[n->qn], 16);
  return 16;
}

static uint64_t t_next_timer(const void *node) { return ((const struct tnode *)node)->next; }

static void t_on_timer(void *node, uint64_t now) {
  struct tnode *n = node;
  struct rl_addr to;
  uint32_t peer = rl_rand_uniform(n->env, n->s->n_nodes);
  sim_net_public_addr(&n->s->net, peer, &to);
  t_queue(n, &to, 'P');
  n->next = now + NS_PER_S + rl_rand_uniform(n->env, 100) * NS_PER_MS;
}

static int t_lookup(void *node, const uint8_t key[SIM_ID_LEN], uint32_t cookie, uint64_t now) {
  struct tnode *n = node;
  (void)key;
  (void)now;
  sim_report_lookup(n->s, n->idx, cookie, 0);
  return 0;
}

static void t_id(const void *node, uint8_t out[SIM_ID_LEN]) {
  memcpy(out, ((const struct tnode *)node)->id, SIM_ID_LEN);
}

static const struct sim_model ping_model = {
    .name = "ping",
    .caps = SIM_M_LOOKUPS | SIM_M_HOPS | SIM_M_JOIN_TIME | SIM_M_BYTES,
    .create = t_create,
    .destroy = t_destroy,
    .leave = t_leave,
    .recv = t_recv,
    .poll = t_poll,
    .next_timer = t_next_timer,
    .on_timer = t_on_timer,
    .lookup = t_lookup,
    .id = t_id,
};

/* ---- heap ---- */

static void test_heap_order_and_ties(void **state) {
  (void)state;
  struct sim_heap h;
  struct sim_ev ev;
  sim_heap_init(&h);
  /* Times 5,3,5,1,3,5 pushed in this order; equal times must come out in
   * push order (node field records the push position). */
  const uint64_t t[] = {5, 3, 5, 1, 3, 5};
  for (uint32_t i = 0; i < 6; i++) {
    ev = (struct sim_ev){.t = t[i], .node = i};
    assert_int_equal(sim_heap_push(&h, &ev), 0);
  }
  const uint32_t expect[] = {3, 1, 4, 0, 2, 5};
  for (int i = 0; i < 6; i++) {
    assert_true(sim_heap_pop(&h, &ev));
    assert_int_equal(ev.node, expect[i]);
  }
  assert_false(sim_heap_pop(&h, &ev));
  assert_int_equal(sim_heap_peek_time(&h), UINT64_MAX);
  /* Many random keys come out sorted, ties by seq. */
  struct sim_rng r;
  sim_rng_seed(&r, 1, 1);
  for (int i = 0; i < 50000; i++) {
    ev = (struct sim_ev){.t = sim_rng_below(&r, 1000)};
    assert_int_equal(sim_heap_push(&h, &ev), 0);
  }
  struct sim_ev prev = {0};
  for (int i = 0; i < 50000; i++) {
    assert_true(sim_heap_pop(&h, &ev));
    assert_true(ev.t > prev.t || (ev.t == prev.t && (i == 0 || ev.seq > prev.seq)));
    prev = ev;
  }
  sim_heap_free(&h);
}

static void test_pool_reuse(void **state) {
  (void)state;
  struct sim_pool p;
  sim_pool_init(&p);
  uint32_t a = sim_pool_alloc(&p, 100), b = sim_pool_alloc(&p, 1500);
  assert_int_not_equal(a, UINT32_MAX);
  assert_int_not_equal(b, UINT32_MAX);
  memset(sim_pool_get(&p, b)->data, 0xAB, 1500);
  assert_int_equal(sim_pool_get(&p, a)->len, 100);
  sim_pool_release(&p, a);
  assert_int_equal(sim_pool_alloc(&p, 99), a); /* same size class: reused */
  assert_int_equal(sim_pool_alloc(&p, SIM_POOL_DGRAM_MAX + 1), UINT32_MAX);
  for (int i = 0; i < 100000; i++) /* more than one 1 MiB chunk */
    assert_int_not_equal(sim_pool_alloc(&p, 64), UINT32_MAX);
  assert_true(p.n_chunks > 1);
  assert_int_equal(sim_pool_get(&p, b)->data[1499], 0xAB);
  sim_pool_free(&p);
}

/* ---- engine runs ---- */

static void scenario(struct sim_scenario *sc, uint32_t nodes) {
  sim_scenario_default(sc);
  snprintf(sc->name, sizeof(sc->name), "ping-test");
  sc->nodes = nodes;
  sc->duration_s = 60;
  sc->join = SIM_JOIN_SPREAD;
  sc->join_window_s = 10;
  sc->interval_s = 5;
  sc->lookups_per_s = 5;
  sc->idle_from_s = 30;
  memset(sc->nat_mix, 0, sizeof(sc->nat_mix));
  sc->nat_mix[SIM_NAT_PUBLIC] = 0.5;
  sc->nat_mix[SIM_NAT_PORT_RESTRICTED] = 0.3;
  sc->nat_mix[SIM_NAT_SYMMETRIC] = 0.2;
  sc->loss = 0.01;
  sc->churn = SIM_CHURN_SESSION;
  sc->session_s = (struct sim_dist){SIM_DIST_EXP, 20, 0};
  sc->downtime_s = (struct sim_dist){SIM_DIST_EXP, 10, 0};
  sc->graceful = 0.5;
  sc->churn_start_s = 15;
}

/* Runs the scenario, returns everything it wrote as one malloc'd string. */
static char *run_capture(const struct sim_scenario *sc, struct tctx *c, uint64_t *events) {
  static struct sim s;
  char err[256], *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  assert_int_equal(sim_init(&s, sc, &ping_model, c, err, sizeof(err)), 0);
  s.out.lookups = s.out.joins = s.out.snapshots = f;
  sim_write_headers(&s);
  assert_int_equal(sim_run(&s, UINT64_MAX), 0);
  assert_int_equal(sim_summary_json(&s, f), 0);
  *events = s.events;
  sim_free(&s);
  fclose(f);
  return text;
}

static void test_engine_deterministic(void **state) {
  (void)state;
  struct sim_scenario sc;
  struct tctx c1 = {0}, c2 = {0}, c3 = {0};
  uint64_t e1, e2, e3;
  scenario(&sc, 300);
  char *a = run_capture(&sc, &c1, &e1);
  char *b = run_capture(&sc, &c2, &e2);
  assert_true(e1 > 10000);
  assert_int_equal(e1, e2);
  assert_string_equal(a, b); /* byte-identical */
  assert_int_equal(c1.created, c2.created);
  assert_int_equal(c1.created, c1.destroyed); /* sim_free destroyed the rest */
  assert_true(c1.created > 300);              /* churn brought nodes back */
  sc.seed = 2;
  char *d = run_capture(&sc, &c3, &e3);
  assert_string_not_equal(a, d); /* and the seed matters */
  /* The summary is the last line. */
  const char *sum = strstr(a, "{\"scenario\":\"ping-test\"");
  assert_non_null(sum);
  print_message("%s", sum);
  assert_non_null(strstr(sum, "\"not_produced\":[{\"metric\":\"ring\""));
  free(a);
  free(b);
  free(d);
}

static void test_engine_nat_and_counts(void **state) {
  (void)state;
  /* No churn, no loss: every PING to a public node is answered; PINGs to
   * NATed nodes are filtered (nobody there sent first), so the NAT drop
   * counter is roughly the NATed share of all PINGs. */
  static struct sim s;
  struct sim_scenario sc;
  struct tctx c = {0};
  char err[256];
  scenario(&sc, 200);
  sc.churn = SIM_CHURN_NONE;
  sc.loss = 0;
  sc.lookups_per_s = 0;
  assert_int_equal(sim_init(&s, &sc, &ping_model, &c, err, sizeof(err)), 0);
  assert_int_equal(sim_run(&s, 30 * NS_PER_S), 0);
  assert_int_equal(s.now, 30 * NS_PER_S);
  assert_int_equal(s.n_up, 200);
  uint64_t pings = 0, pongs = 0;
  for (uint32_t i = 0; i < 200; i++) {
    struct tnode *n = s.nodes[i].m;
    pings += n->pings_rx;
    pongs += n->pongs_rx;
  }
  /* Replies always get back through the NAT; a few are still in flight. */
  assert_true(pongs <= pings && pings - pongs < 20);
  uint64_t sent = pings + s.net.st.nat_in_drop + s.net.st.nat_out_drop;
  double natted = (double)s.net.st.nat_in_drop / sent;
  print_message("pings %llu filtered %llu (%.2f)\n", (unsigned long long)pings,
                (unsigned long long)s.net.st.nat_in_drop, natted);
  assert_true(natted > 0.35 && natted < 0.65); /* ~50% of hosts are behind NAT */
  /* nat_out_drop: hairpins (a NATed host picked its own box's address). */
  assert_int_equal(s.net.st.sent,
                   s.net.st.delivered + s.net.st.nat_in_drop + s.net.st.nat_out_drop);
  /* Continue the same run: time resumes where it stopped. */
  assert_int_equal(sim_run(&s, UINT64_MAX), 0);
  assert_int_equal(s.now, 60 * NS_PER_S);
  sim_free(&s);
}

static void test_engine_mass_failure_and_trace(void **state) {
  (void)state;
  static struct sim s;
  struct sim_scenario sc;
  struct tctx c = {0};
  char err[256];
  scenario(&sc, 101);
  sc.churn = SIM_CHURN_NONE;
  sc.fail_at_s = 20;
  sc.fail_fraction = 0.5;
  assert_int_equal(sim_init(&s, &sc, &ping_model, &c, err, sizeof(err)), 0);
  assert_int_equal(sim_run(&s, 19 * NS_PER_S), 0);
  assert_int_equal(s.n_up, 101);
  assert_int_equal(sim_run(&s, 21 * NS_PER_S), 0);
  assert_int_equal(s.n_up, 51); /* the seed survives, 50 of 100 others fail */
  assert_true(s.nodes[0].m != NULL);
  sim_free(&s);

  /* Trace churn: node 1 up at 1 s, down at 2 s, up at 3 s; node 2 never. */
  char path[] = "/tmp/ringlan-sim-trace-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "1 1 up\n2 1 down\n3 1 up\n");
  fclose(f);
  scenario(&sc, 3);
  sc.churn = SIM_CHURN_TRACE;
  snprintf(sc.trace, sizeof(sc.trace), "%s", path);
  memset(&c, 0, sizeof(c));
  assert_int_equal(sim_init(&s, &sc, &ping_model, &c, err, sizeof(err)), 0);
  const struct {
    uint64_t t_ms;
    uint32_t up;
  } steps[] = {{500, 1}, {1500, 2}, {2500, 1}, {3500, 2}};
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    assert_int_equal(sim_run(&s, steps[i].t_ms * NS_PER_MS), 0);
    assert_int_equal(s.n_up, steps[i].up);
  }
  assert_null(s.nodes[2].m);
  sim_free(&s);
  unlink(path);
  /* Missing trace file: a clear error, nothing leaked. */
  assert_int_equal(sim_init(&s, &sc, &ping_model, &c, err, sizeof(err)), RL_EIO);
  assert_non_null(strstr(err, path));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_heap_order_and_ties),
      cmocka_unit_test(test_pool_reuse),
      cmocka_unit_test(test_engine_deterministic),
      cmocka_unit_test(test_engine_nat_and_counts),
      cmocka_unit_test(test_engine_mass_failure_and_trace),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
