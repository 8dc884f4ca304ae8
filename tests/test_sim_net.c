/* Simulated network (simulations/sim_net.c): address plan, NAT mix in
 * exact proportions, latency model, LAN delivery inside a site, hairpin
 * drop, partitions, loss rate, delay matrices, the TCP model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "simulations/sim_net.h"

static void base(struct sim_scenario *sc) {
  sim_scenario_default(sc);
  sc->nodes = 101;
  sc->seeds = 1;
  sc->access_ms = (struct sim_dist){SIM_DIST_CONST, 2, 0};
}

/* The test network with every non-seed site of one NAT class. */
static void net_of_class(struct sim_net *net, unsigned cls) {
  struct sim_scenario sc;
  char err[128];
  base(&sc);
  memset(sc.nat_mix, 0, sizeof(sc.nat_mix));
  sc.nat_mix[cls] = 1;
  assert_int_equal(sim_net_init(net, &sc, 1, err, sizeof(err)), 0);
}

static void test_net_plan_and_mix(void **state) {
  (void)state;
  struct sim_scenario sc;
  struct sim_net net;
  char err[128];
  base(&sc);
  memset(sc.nat_mix, 0, sizeof(sc.nat_mix));
  sc.nat_mix[SIM_NAT_PUBLIC] = 0.5;
  sc.nat_mix[SIM_NAT_SYMMETRIC] = 0.25;
  sc.nat_mix[SIM_NAT_FULL_CONE] = 0.25;
  assert_int_equal(sim_net_init(&net, &sc, 1, err, sizeof(err)), 0);
  unsigned cnt[SIM_NAT_N_CLASSES] = {0};
  for (uint32_t h = 1; h < net.n_hosts; h++)
    cnt[net.hosts[h].cls]++;
  /* 100 non-seed sites: exactly 50 / 25 / 25. */
  assert_int_equal(cnt[SIM_NAT_PUBLIC], 50);
  assert_int_equal(cnt[SIM_NAT_SYMMETRIC], 25);
  assert_int_equal(cnt[SIM_NAT_FULL_CONE], 25);
  assert_int_equal(net.hosts[0].cls, SIM_NAT_PUBLIC); /* seed */
  assert_int_equal(net.n_boxes, 50);
  assert_int_equal(net.n_pub, 101);
  /* A NATed host binds a private address but advertises its box. */
  uint32_t h;
  for (h = 1; net.hosts[h].box == SIM_NO_BOX; h++)
    ;
  struct rl_addr a, b;
  sim_net_local_addr(&net, h, &a);
  sim_net_public_addr(&net, h, &b);
  assert_int_equal(rl_addr_ipv4(&a), SIM_PRIV_BASE);
  assert_int_equal(rl_addr_ipv4(&b), net.boxes[net.hosts[h].box].ext_ip);
  assert_true(rl_addr_ipv4(&b) >= SIM_PUB_BASE);
  sim_net_free(&net);
}

static void test_net_route_latency_and_nat(void **state) {
  (void)state;
  struct sim_net net;
  net_of_class(&net, SIM_NAT_PORT_RESTRICTED);
  /* Host 0 is a public seed, host 1 is behind a port-restricted box. */
  struct rl_addr seed, natted, seen;
  uint32_t to;
  uint64_t d;
  sim_net_public_addr(&net, 0, &seed);
  sim_net_public_addr(&net, 1, &natted);
  /* Unsolicited inbound is filtered. */
  assert_int_equal(sim_net_route(&net, 0, SIM_HOST_PORT, &natted, 0, &to, &seen, &d),
                   RL_EREFUSED);
  assert_int_equal(net.st.nat_in_drop, 1);
  /* Outbound opens the mapping; the seed sees the box's address. */
  assert_int_equal(sim_net_route(&net, 1, SIM_HOST_PORT, &seed, 0, &to, &seen, &d), 0);
  assert_int_equal(to, 0);
  assert_int_equal(rl_addr_ipv4(&seen), rl_addr_ipv4(&natted));
  /* Delay = distance + both access delays (2 ms each), same both ways. */
  uint64_t d01 = sim_net_delay_ns(&net, 0, 1), d10 = sim_net_delay_ns(&net, 1, 0);
  assert_int_equal(d, d01);
  assert_int_equal(d01, d10);
  assert_true(d01 >= 4 * 1000000ULL && d01 <= (uint64_t)(104 * 1e6) + 1000);
  /* The reply to the seen address passes now. */
  assert_int_equal(sim_net_route(&net, 0, SIM_HOST_PORT, &seen, 1, &to, &seen, &d), 0);
  assert_int_equal(to, 1);
  /* Unroutable: unknown public address, private address from outside. */
  struct rl_addr bogus;
  rl_addr_set_ipv4(&bogus, SIM_PUB_BASE + 100000, SIM_HOST_PORT);
  assert_int_equal(sim_net_route(&net, 0, SIM_HOST_PORT, &bogus, 2, &to, &seen, &d),
                   RL_ENOENT);
  rl_addr_set_ipv4(&bogus, SIM_PRIV_BASE, SIM_HOST_PORT);
  assert_int_equal(sim_net_route(&net, 0, SIM_HOST_PORT, &bogus, 2, &to, &seen, &d),
                   RL_ENOENT);
  sim_net_free(&net);
}

/* TCP: a UDP-blocked host reaches a public listener and gets answers on
 * its connection; listeners behind a box, and answers from a host that is
 * no listener, go nowhere. */
static void test_net_tcp(void **state) {
  (void)state;
  struct sim_net net;
  net_of_class(&net, SIM_NAT_BLOCKED);
  struct rl_addr seed, boxed, seen, seen2;
  uint32_t to;
  uint64_t d;
  sim_net_public_addr(&net, 0, &seed);
  sim_net_public_addr(&net, 1, &boxed);
  /* Over UDP the blocked host reaches nobody. */
  assert_int_equal(sim_net_route(&net, 1, SIM_HOST_PORT, &seed, 0, &to, &seen, &d),
                   RL_EREFUSED);
  seed.proto = RL_PROTO_TCP;
  assert_int_equal(sim_net_route(&net, 1, SIM_HOST_PORT, &seed, 0, &to, &seen, &d), 0);
  assert_int_equal(to, 0);
  assert_int_equal(seen.proto, RL_PROTO_TCP);
  assert_int_equal(rl_addr_ipv4(&seen), rl_addr_ipv4(&boxed));
  assert_int_equal(seen.port, SIM_TCP_PORT0); /* first host of its site */
  assert_int_equal(d, sim_net_delay_ns(&net, 1, 0));
  /* The answer on the connection comes from the listener's address. */
  assert_int_equal(sim_net_route(&net, 0, SIM_HOST_PORT, &seen, 1, &to, &seen2, &d), 0);
  assert_int_equal(to, 1);
  assert_true(rl_addr_equal(&seen2, &seed));
  /* No listener behind a box; a boxed host has no connections to answer. */
  boxed.proto = RL_PROTO_TCP;
  assert_int_equal(sim_net_route(&net, 0, SIM_HOST_PORT, &boxed, 2, &to, &seen, &d),
                   RL_EREFUSED);
  seen2.port = SIM_TCP_PORT0;
  assert_int_equal(sim_net_route(&net, 1, SIM_HOST_PORT, &seen2, 2, &to, &seen, &d),
                   RL_ENOENT);
  sim_net_free(&net);
}

static void test_net_site_lan_and_hairpin(void **state) {
  (void)state;
  struct sim_scenario sc;
  struct sim_net net;
  char err[128];
  base(&sc);
  sc.nodes = 9; /* seed + 2 sites of 4 */
  sc.hosts_per_site = 4;
  sc.lan_delay_ms = 0.5;
  memset(sc.nat_mix, 0, sizeof(sc.nat_mix));
  sc.nat_mix[SIM_NAT_FULL_CONE] = 1;
  assert_int_equal(sim_net_init(&net, &sc, 3, err, sizeof(err)), 0);
  assert_int_equal(net.n_boxes, 2);
  assert_int_equal(net.hosts[1].box, net.hosts[4].box);
  struct rl_addr priv4, pub4, seen;
  uint32_t to;
  uint64_t d;
  sim_net_local_addr(&net, 4, &priv4);
  sim_net_public_addr(&net, 4, &pub4);
  /* Same site, private address: LAN delivery, no translation. */
  assert_int_equal(sim_net_route(&net, 1, SIM_HOST_PORT, &priv4, 0, &to, &seen, &d), 0);
  assert_int_equal(to, 4);
  assert_int_equal(d, 500000 + 1000);
  assert_int_equal(rl_addr_ipv4(&seen), net.hosts[1].ip);
  /* The same private address from the other site reaches its own host 5..8
   * (sites reuse ranges) -- host 5 is the first of site 2. */
  assert_int_equal(sim_net_route(&net, 5, SIM_HOST_PORT, &priv4, 0, &to, &seen, &d), 0);
  assert_int_equal(to, 8);
  /* Hairpin: to its own box's public address is dropped. */
  assert_int_equal(sim_net_route(&net, 1, SIM_HOST_PORT, &pub4, 0, &to, &seen, &d),
                   RL_EREFUSED);
  sim_net_free(&net);
}

static void test_net_partition_and_loss(void **state) {
  (void)state;
  struct sim_scenario sc;
  struct sim_net net;
  char err[128];
  base(&sc);
  sc.nodes = 1000;
  sc.n_partitions = 1;
  sc.partitions[0] = (struct sim_partition){10, 20, 0.3};
  sc.loss = 0.1;
  assert_int_equal(sim_net_init(&net, &sc, 5, err, sizeof(err)), 0);
  unsigned members = 0;
  uint32_t in = UINT32_MAX, out = UINT32_MAX;
  for (uint32_t h = 0; h < net.n_hosts; h++) {
    if (net.hosts[h].part_mask & 1) {
      members++;
      in = h;
    } else {
      out = h;
    }
  }
  assert_in_range(members, 240, 360);
  struct rl_addr a, seen;
  uint32_t to;
  uint64_t d;
  sim_net_public_addr(&net, out, &a);
  net.loss = 0;
  assert_int_equal(sim_net_route(&net, in, SIM_HOST_PORT, &a, 0, &to, &seen, &d), 0);
  net.active_parts = 1;
  assert_int_equal(sim_net_route(&net, in, SIM_HOST_PORT, &a, 0, &to, &seen, &d),
                   RL_EREFUSED);
  assert_int_equal(net.st.partitioned, 1);
  net.active_parts = 0;
  net.loss = 0.1;
  unsigned lost = 0;
  for (int i = 0; i < 20000; i++)
    lost += sim_net_route(&net, in, SIM_HOST_PORT, &a, 0, &to, &seen, &d) == RL_EAGAIN;
  assert_in_range(lost, 1800, 2200);
  sim_net_free(&net);
}

static void test_net_matrix(void **state) {
  (void)state;
  float *m;
  uint32_t n;
  char err[128];
  const char *ok = "# two sites\n2\n0 30\n30.5 0\n";
  assert_int_equal(sim_net_matrix_parse(ok, strlen(ok), &m, &n, err, sizeof(err)), 0);
  assert_int_equal(n, 2);
  assert_true(m[2] == 30.5f);
  free(m);
  assert_int_equal(sim_net_matrix_parse("2\n0 1 2\n", 8, &m, &n, err, sizeof(err)),
                   RL_EPARSE);
  assert_int_equal(sim_net_matrix_parse("2\n0 1 2 3 4", 11, &m, &n, err, sizeof(err)),
                   RL_EPARSE);
  assert_int_equal(sim_net_matrix_parse("0\n", 2, &m, &n, err, sizeof(err)), RL_EPARSE);
  assert_int_equal(sim_net_matrix_parse("1\n-5\n", 5, &m, &n, err, sizeof(err)), RL_EPARSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_net_plan_and_mix),
      cmocka_unit_test(test_net_route_latency_and_nat),
      cmocka_unit_test(test_net_site_lan_and_hairpin),
      cmocka_unit_test(test_net_tcp),
      cmocka_unit_test(test_net_partition_and_loss),
      cmocka_unit_test(test_net_matrix),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
