/* Simulator scenario files (simulations/sim_scenario.c): a full file, the
 * defaults, and a table of bad inputs with the line number and reason each
 * must be reported with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <string.h>

#include "simulations/sim_scenario.h"

static const char full[] =
    "# a complete scenario\n"
    "[run]\n"
    "name = demo-1\n"
    "model = overlay\n"
    "nodes = 2000   # trailing comment\n"
    "seed = 42\n"
    "duration_s = 900\n"
    "join = sequential 120\n"
    "seeds = 3\n"
    "\n"
    "[network]\n"
    "latency = coords 3\n"
    "coord_span_ms = 150\n"
    "access_ms = exp 5\n"
    "loss = 0.01\n"
    "partition = 100 200 0.25\n"
    "partition = 300 400 0.5\n"
    "[nat]\n"
    "public = 0.4\n"
    "full_cone = 0.1\n"
    "restricted = 0.1\n"
    "port_restricted = 0.2\n"
    "symmetric = 0.15\n"
    "blocked = 0.05\n"
    "hosts_per_site = 4\n"
    "binding_timeout_s = 30\n"
    "upnp = 0.3\n"
    "[churn]\n"
    "model = session\n"
    "session_s = weibull 0.5 1800\n"
    "downtime_s = pareto 1.5 600\n"
    "graceful = 0.25\n"
    "fail_at_s = 500\n"
    "fail_fraction = 0.5\n"
    "[measure]\n"
    "interval_s = 5\n"
    "lookups_per_s = 20\n"
    "metrics = hops, lookups link_types\n";

static void test_scenario_full(void **state) {
  (void)state;
  struct sim_scenario sc;
  char err[256] = "";
  assert_int_equal(sim_scenario_parse(&sc, full, strlen(full), "/x", err, sizeof(err)), 0);
  assert_string_equal(sc.name, "demo-1");
  assert_int_equal(sc.nodes, 2000);
  assert_int_equal(sc.seed, 42);
  assert_int_equal(sc.join, SIM_JOIN_SEQUENTIAL);
  assert_true(sc.join_window_s == 120);
  assert_int_equal(sc.seeds, 3);
  assert_int_equal(sc.dims, 3);
  assert_int_equal(sc.access_ms.kind, SIM_DIST_EXP);
  assert_int_equal(sc.n_partitions, 2);
  assert_true(sc.partitions[1].fraction == 0.5);
  assert_true(sc.nat_mix[SIM_NAT_SYMMETRIC] == 0.15);
  assert_int_equal(sc.hosts_per_site, 4);
  assert_int_equal(sc.churn, SIM_CHURN_SESSION);
  assert_int_equal(sc.session_s.kind, SIM_DIST_WEIBULL);
  assert_int_equal(sc.downtime_s.kind, SIM_DIST_PARETO);
  assert_int_equal(sc.metrics, SIM_M_HOPS | SIM_M_LOOKUPS | SIM_M_LINK_TYPES);
  assert_int_equal(sim_scenario_check(&sc, err, sizeof(err)), 0);
}

static void test_scenario_defaults_and_paths(void **state) {
  (void)state;
  struct sim_scenario sc;
  char err[256];
  const char *t = "[churn]\nmodel = trace\ntrace = t/churn.txt\n"
                  "[network]\nlatency = matrix /abs/m.txt\n";
  assert_int_equal(sim_scenario_parse(&sc, t, strlen(t), "dir", err, sizeof(err)), 0);
  assert_string_equal(sc.trace, "dir/t/churn.txt");
  assert_string_equal(sc.matrix, "/abs/m.txt");
  assert_int_equal(sc.nodes, 100);
  assert_true(sc.nat_mix[SIM_NAT_PUBLIC] == 1.0);
  assert_string_equal(sc.model, "overlay");
  /* Empty input is all defaults. */
  assert_int_equal(sim_scenario_parse(&sc, "", 0, NULL, err, sizeof(err)), 0);
  assert_int_equal(sc.churn, SIM_CHURN_NONE);
}

static const struct {
  const char *text, *expect; /* expect: prefix of the error ("LINE: reason") */
} bad[] = {
    {"nodes = 5\n", "1: key outside of a section"},
    {"[run\n", "1: bad section header"},
    {"[bogus]\n", "1: unknown section [bogus]"},
    {"[run]\nnodes\n", "2: expected 'key = value'"},
    {"[run]\nnodez = 5\n", "2: unknown key 'nodez' in [run]"},
    {"[run]\nnodes = 0\n", "2: value 0 out of range"},
    {"[run]\nnodes = -3\n", "2: expected an unsigned integer"},
    {"[run]\nnodes = 12x\n", "2: expected an unsigned integer"},
    {"[run]\n\nnodes = 5\nnodes = 6\n", "4: key 'nodes' repeated"},
    {"[run]\nduration_s = abc\n", "2: expected a number"},
    {"[run]\nmodel = chord\n", "2: model must be"},
    {"[run]\njoin = later\n", "2: join must be"},
    {"[run]\nnodes =\n", "2: empty value for 'nodes'"},
    {"[network]\nloss = 1.5\n", "2: value 1.5 out of range"},
    {"[network]\nlatency = coords 4\n", "2: latency must be"},
    {"[network]\naccess_ms = gauss 3\n", "2: unknown distribution 'gauss'"},
    {"[network]\naccess_ms = exp\n", "2: exp takes 1 parameter(s), got 0"},
    {"[network]\naccess_ms = weibull 0 5\n", "2: weibull: parameters out of range"},
    {"[network]\npartition = 5 1 0.5\n", "2: partition must be"},
    {"[nat]\npublic = 0.5\nsymmetric = 0.2\n", "1: [nat] class fractions sum to 0.7"},
    {"[nat]\nhairpin = maybe\n", "2: expected true or false"},
    {"[churn]\nmodel = random\n", "2: churn model must be"},
    {"[measure]\nmetrics = hops, speed\n", "2: unknown metric 'speed'"},
    {"[run]\nname = a\"b\n", "2: name too long or contains quotes"},
    {"[run]\nnodes = 5\0\n", "2: line too long or contains a NUL byte"},
};

static void test_scenario_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct sim_scenario sc;
    char err[256] = "";
    size_t len = strlen(bad[i].text);
    if (strstr(bad[i].expect, "NUL"))
      len += 2; /* include the embedded NUL and the newline */
    int rc = sim_scenario_parse(&sc, bad[i].text, len, NULL, err, sizeof(err));
    print_message("%zu: %s\n", i, err);
    assert_int_equal(rc, RL_EPARSE);
    assert_memory_equal(err, bad[i].expect, strlen(bad[i].expect));
  }
}

static void test_scenario_check(void **state) {
  (void)state;
  struct sim_scenario sc;
  char err[256];
  sim_scenario_default(&sc);
  sc.seeds = 200;
  assert_int_equal(sim_scenario_check(&sc, err, sizeof(err)), RL_EINVAL);
  sim_scenario_default(&sc);
  sc.churn = SIM_CHURN_TRACE;
  assert_int_equal(sim_scenario_check(&sc, err, sizeof(err)), RL_EINVAL);
  sim_scenario_default(&sc);
  sc.hairpin = true;
  assert_int_equal(sim_scenario_check(&sc, err, sizeof(err)), RL_EUNSUP);
  sim_scenario_default(&sc);
  sc.fail_at_s = 10;
  assert_int_equal(sim_scenario_check(&sc, err, sizeof(err)), RL_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scenario_full),
      cmocka_unit_test(test_scenario_defaults_and_paths),
      cmocka_unit_test(test_scenario_errors),
      cmocka_unit_test(test_scenario_check),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
