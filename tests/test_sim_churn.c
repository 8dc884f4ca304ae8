/* Simulator randomness and churn inputs: the seeded generator, the session
 * time distributions (sample means against analytic means for a fixed
 * seed), and the churn trace parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "simulations/sim.h"
#include "simulations/sim_dist.h"
#include "simulations/sim_rng.h"

static void test_rng_streams(void **state) {
  (void)state;
  struct sim_rng a, b, c;
  sim_rng_seed(&a, 7, 1);
  sim_rng_seed(&b, 7, 1);
  sim_rng_seed(&c, 7, 2);
  uint64_t va = 0, vc = 0;
  for (int i = 0; i < 100; i++) {
    va = sim_rng_next(&a);
    assert_int_equal(va, sim_rng_next(&b));
    vc = sim_rng_next(&c);
  }
  assert_int_not_equal(va, vc);
  /* Uniform draws stay in range and cover it. */
  unsigned seen[10] = {0};
  for (int i = 0; i < 10000; i++) {
    uint64_t v = sim_rng_below(&a, 10);
    assert_true(v < 10);
    seen[v]++;
  }
  for (int i = 0; i < 10; i++)
    assert_in_range(seen[i], 850, 1150);
  /* rl_env plumbing: fills arbitrary lengths deterministically. */
  uint8_t x[13], y[13];
  sim_rng_seed(&a, 9, 3);
  sim_rng_seed(&b, 9, 3);
  sim_rng_fill(&a, x, sizeof(x));
  sim_rng_fill(&b, y, sizeof(y));
  assert_memory_equal(x, y, sizeof(x));
}

static const struct {
  const char *text;
  double mean, tol; /* relative tolerance of the sample mean */
} dists[] = {
    {"const 5", 5, 1e-12},
    {"uniform 2 4", 3, 0.01},
    {"exp 3600", 3600, 0.02},
    {"weibull 0.5 1800", 3600, 0.05}, /* 1800 * Gamma(3) = 3600 */
    {"weibull 2 100", 88.6227, 0.01}, /* 100 * Gamma(1.5) */
    {"pareto 3 600", 900, 0.03},      /* 3 * 600 / 2 */
};

static void test_dist_sample_means(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(dists) / sizeof(dists[0]); i++) {
    struct sim_dist d;
    struct sim_rng r;
    char err[128];
    assert_int_equal(sim_dist_parse(&d, dists[i].text, err, sizeof(err)), 0);
    assert_true(fabs(sim_dist_mean(&d) - dists[i].mean) / dists[i].mean < 1e-3);
    sim_rng_seed(&r, 12345, 99);
    double sum = 0, mn = INFINITY;
    const int n = 200000;
    for (int k = 0; k < n; k++) {
      double v = sim_dist_sample(&d, &r);
      assert_true(v >= 0 && isfinite(v));
      sum += v;
      if (v < mn)
        mn = v;
    }
    double m = sum / n;
    print_message("%-18s sample mean %.4f analytic %.4f\n", dists[i].text, m,
                  sim_dist_mean(&d));
    assert_true(fabs(m - dists[i].mean) / dists[i].mean <= dists[i].tol);
    if (d.kind == SIM_DIST_PARETO)
      assert_true(mn >= d.b); /* Pareto never goes below its minimum */
  }
  struct sim_dist d;
  char err[128];
  assert_int_equal(sim_dist_parse(&d, "pareto 1 10", err, sizeof(err)), 0);
  assert_true(isinf(sim_dist_mean(&d)));
  assert_int_equal(sim_dist_parse(&d, "exp 1 2", err, sizeof(err)), RL_EPARSE);
  assert_int_equal(sim_dist_parse(&d, "uniform 5 1", err, sizeof(err)), RL_EPARSE);
  assert_int_equal(sim_dist_parse(&d, "exp nan", err, sizeof(err)), RL_EPARSE);
  assert_int_equal(sim_dist_parse(&d, "", err, sizeof(err)), RL_EPARSE);
}

static void test_trace_parse(void **state) {
  (void)state;
  struct sim_trace_ev *ev;
  uint32_t n;
  char err[128];
  const char *ok = "# time node what\n0 3 up\n\n1.5 3 down  # comment\n2 4 up\n";
  assert_int_equal(sim_trace_parse(ok, strlen(ok), 5, &ev, &n, err, sizeof(err)), 0);
  assert_int_equal(n, 3);
  assert_true(ev[1].t_s == 1.5 && ev[1].node == 3 && !ev[1].up);
  assert_true(ev[2].up && ev[2].node == 4);
  free(ev);
  static const struct {
    const char *text, *expect;
  } bad[] = {
      {"0 1 sideways\n", "1: expected"},
      {"0 1\n", "1: expected"},
      {"0 1 up extra\n", "1: expected"},
      {"\n-1 1 up\n", "2: expected"},
      {"0 9 up\n", "1: node 9 out of range"},
      {"5 1 up\n4 1 down\n", "2: times must not decrease"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int rc = sim_trace_parse(bad[i].text, strlen(bad[i].text), 5, &ev, &n, err, sizeof(err));
    assert_int_equal(rc, RL_EPARSE);
    assert_null(ev);
    assert_memory_equal(err, bad[i].expect, strlen(bad[i].expect));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rng_streams),
      cmocka_unit_test(test_dist_sample_means),
      cmocka_unit_test(test_trace_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
