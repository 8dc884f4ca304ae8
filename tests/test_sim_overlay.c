/* The simulator driving the real overlay module (model "overlay"):
 *
 *   - 200 nodes join through one seed and stabilise into a consistent ring
 *     (every node's first successor is the true one), every lookup reaches
 *     the key's owner, and the mean hop count is near 0.5 * log2 N;
 *   - a run with churn (sessions, graceful and crashed departures) gives
 *     byte-identical output twice with the same seed.
 */
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

static void ring_scenario(struct sim_scenario *sc, uint32_t nodes) {
  sim_scenario_default(sc);
  snprintf(sc->name, sizeof(sc->name), "overlay-test");
  sc->nodes = nodes;
  sc->duration_s = 300;
  sc->join = SIM_JOIN_SPREAD;
  sc->join_window_s = 60;
  sc->interval_s = 10;
  sc->lookup_start_s = 200;
  sc->lookups_per_s = 10;
  sc->lookup_timeout_s = 10;
}

static void test_overlay_ring_stabilises(void **state) {
  (void)state;
  static struct sim s;
  struct sim_scenario sc;
  char err[256];
  const struct sim_model *m = sim_model_find("overlay");
  assert_non_null(m);
  ring_scenario(&sc, 200);
  assert_int_equal(sim_init(&s, &sc, m, NULL, err, sizeof(err)), 0);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  s.out.snapshots = f;
  sim_write_headers(&s);
  assert_int_equal(sim_run(&s, UINT64_MAX), 0);
  assert_int_equal(sim_summary_json(&s, f), 0);
  fclose(f);
  print_message("%s", strstr(text, "{\"scenario\""));
  assert_int_equal(s.n_joined, 200);
  /* Every joined node's first successor is the true successor. */
  assert_non_null(strstr(text, "\"ring_consistent\":1.000000"));
  /* Every finished lookup reached the owner. */
  uint64_t done = s.lk_ok + s.lk_wrong + s.lk_timeout + s.lk_noroute;
  assert_true(done > 900);
  assert_int_equal(s.lk_ok, done);
  double mean = (double)s.hops_sum / s.hops_n, ref = 0.5 * log2(200.0);
  print_message("mean hops %.3f, 0.5*log2(N) = %.3f\n", mean, ref);
  assert_true(mean > 0.6 * ref && mean < 1.4 * ref);
  free(text);
  sim_free(&s);
}

static char *run_capture(const struct sim_scenario *sc) {
  static struct sim s;
  char err[256], *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_int_equal(sim_init(&s, sc, sim_model_find("overlay"), NULL, err, sizeof(err)), 0);
  s.out.lookups = s.out.joins = s.out.snapshots = f;
  sim_write_headers(&s);
  assert_int_equal(sim_run(&s, UINT64_MAX), 0);
  assert_int_equal(sim_summary_json(&s, f), 0);
  sim_free(&s);
  fclose(f);
  return text;
}

static void test_overlay_deterministic_under_churn(void **state) {
  (void)state;
  struct sim_scenario sc;
  ring_scenario(&sc, 120);
  sc.duration_s = 240;
  sc.lookup_start_s = 60;
  sc.churn = SIM_CHURN_SESSION;
  sc.churn_start_s = 90;
  sc.session_s = (struct sim_dist){SIM_DIST_EXP, 120, 0};
  sc.downtime_s = (struct sim_dist){SIM_DIST_EXP, 60, 0};
  sc.graceful = 0.5;
  sc.loss = 0.01;
  char *a = run_capture(&sc);
  char *b = run_capture(&sc);
  assert_true(strlen(a) > 10000);
  assert_string_equal(a, b);
  print_message("%s", strstr(a, "{\"scenario\""));
  free(a);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_overlay_ring_stabilises),
      cmocka_unit_test(test_overlay_deterministic_under_churn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
