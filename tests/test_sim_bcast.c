/* Overlay broadcasts in the simulator (metric bcast, simulations/sim_bcast.c)
 * over the real overlay module (model "overlay"):
 *
 *   - a stable ring of 1,000 members: every broadcast reaches every other
 *     member once (100 % coverage) at a cost of exactly N - 1
 *     transmissions, no member drops a duplicate copy, and the tree is at
 *     most 2·log2 N deep;
 *   - the scenario keys parse, and bad values are refused.
 *
 * Joins are spread over 60 s through 16 seeds; the broadcasts start at
 * 160 s. Each member keeps a link to 4 seeds (its bootstrap links), so a
 * seed holds about 250, fewer than OV_QUEUE_MAX (512): with 4 seeds each
 * would hold a link to nearly every member, and a broadcast that fans out
 * over more than 512 links loses the rest to the overlay's full action
 * queue (queue_drop; docs/simulator.md, "Broadcast").
 *
 * Even a stable ring keeps releasing and reopening shortcut links (about
 * 0.2 DISCONNECTs per member per second at N = 1,000), and the overlay
 * model closes a released link at once: a copy that crosses the CLOSE is
 * lost with its subtree (counted in `lost`). Such broadcasts must account
 * for every missing copy that way; all others must be exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simulations/sim.h"

#define N 1000

static void bcast_scenario(struct sim_scenario *sc) {
  sim_scenario_default(sc);
  snprintf(sc->name, sizeof(sc->name), "bcast-test");
  sc->nodes = N;
  sc->seeds = 16;
  sc->duration_s = 180;
  sc->join = SIM_JOIN_SPREAD;
  sc->join_window_s = 60;
  sc->interval_s = 30;
  sc->bcast_rate = 2;
  sc->bcast_size = 64;
  sc->bcast_start_s = 160;
  sc->bcast_timeout_s = 5;
  sc->metrics = SIM_M_RING | SIM_M_BCAST;
}

static void test_bcast_stable_ring(void **state) {
  (void)state;
  static struct sim s;
  struct sim_scenario sc;
  char err[256];
  bcast_scenario(&sc);
  assert_int_equal(sim_init(&s, &sc, sim_model_find("overlay"), NULL, err, sizeof(err)), 0);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  s.out.bcasts = f;
  sim_write_headers(&s);
  assert_int_equal(sim_run(&s, UINT64_MAX), 0);
  assert_int_equal(sim_summary_json(&s, f), 0);
  fclose(f);
  print_message("%s", strstr(text, "{\"scenario\""));
  assert_int_equal(s.n_joined, N);
  assert_non_null(strstr(text, "\"ring_consistent\":1.000000"));
  double limit = 2 * log2((double)N);
  unsigned finished = 0, exact = 0, depth_max = 0;
  for (uint32_t i = 0; i < s.n_bc; i++) {
    const struct sim_bcast *b = &s.bc[i];
    if (b->state != SIM_BC_DONE)
      continue; /* the last ones: cut short by the end of the run */
    finished++;
    assert_int_equal(b->members, N - 1);
    assert_int_equal(b->dup, 0);
    assert_int_equal(b->redelivered, 0);
    assert_int_equal(b->extra, 0);
    assert_int_equal(b->qdrop, 0);
    assert_true(b->depth_max <= limit);
    if (b->depth_max > depth_max)
      depth_max = b->depth_max;
    if (!b->lost) {
      assert_int_equal(b->delivered, N - 1); /* 100 % coverage */
      assert_int_equal(b->tx, N - 1);        /* exactly N - 1 transmissions */
      exact++;
    } else { /* a copy crossed a link's CLOSE: nothing else went missing */
      print_message("broadcast %u: %u copies lost to a closed link, %u of %u delivered\n", i,
                    b->lost, b->delivered, b->members);
      assert_true(b->tx - b->delivered <= b->lost);
      assert_true(b->delivered < N - 1);
    }
  }
  print_message("%u broadcasts finished, %u exact, max depth %u (2*log2 N = %.2f)\n",
                finished, exact, depth_max, limit);
  assert_true(finished >= 20);
  assert_true(exact >= finished * 9 / 10);
  assert_int_equal(s.bc_late, 0);
  free(text);
  sim_free(&s);
}

static void test_bcast_scenario_keys(void **state) {
  (void)state;
  static const char ok[] = "[measure]\n"
                           "bcast_rate = 5\n"
                           "bcast_size = 200\n"
                           "bcast_start_s = 30\n"
                           "bcast_timeout_s = 2\n"
                           "metrics = ring bcast\n";
  struct sim_scenario sc;
  char err[256] = "";
  assert_int_equal(sim_scenario_parse(&sc, ok, strlen(ok), NULL, err, sizeof(err)), 0);
  assert_true(sc.bcast_rate == 5 && sc.bcast_start_s == 30 && sc.bcast_timeout_s == 2);
  assert_int_equal(sc.bcast_size, 200);
  assert_int_equal(sc.metrics, SIM_M_RING | SIM_M_BCAST);
  assert_int_equal(sim_scenario_check(&sc, err, sizeof(err)), 0);
  static const char *const bad[] = {
      "[measure]\nbcast_size = 3\n",       /* no room for the broadcast number */
      "[measure]\nbcast_size = 1301\n",    /* over OV_APP_MAX */
      "[measure]\nbcast_timeout_s = 61\n", /* latency bins end at a minute */
      "[measure]\nbcast_rate = -1\n",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_not_equal(sim_scenario_parse(&sc, bad[i], strlen(bad[i]), NULL, err,
                                            sizeof(err)), 0);
    assert_non_null(strstr(err, "2: "));
  }
  /* Set directly (not parsed): the cross-field check catches it. */
  sim_scenario_default(&sc);
  sc.bcast_rate = 1;
  sc.bcast_size = 2;
  assert_int_not_equal(sim_scenario_check(&sc, err, sizeof(err)), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bcast_stable_ring),
      cmocka_unit_test(test_bcast_scenario_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
