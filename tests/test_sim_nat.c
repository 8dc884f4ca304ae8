/* Simulator NAT boxes (simulations/sim_nat.c): RFC 4787 behaviour tables.
 *
 *   host X (192.168.0.2:7000) -- [box 240.0.0.9] -- Y1 (240.0.0.1:7000)
 *                                                 \- Y1' (240.0.0.1:7001)
 *                                                 \- Y2 (240.0.0.2:7000)
 *
 * For every NAT class: X sends to Y1 first, then we check which inbound
 * packets reach X, which external ports the mappings use, and that
 * everything closes again after the binding timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <string.h>

#include "simulations/sim_nat.h"
#include "util/env.h"

#define X_IP 0xC0A80002u
#define X_PORT 7000
#define Y1 0xF0000001u
#define Y2 0xF0000002u
#define BOX 0xF0000009u
#define TMO (120 * NS_PER_S)

struct nat_case {
  const char *name;
  enum sim_nat_mapping m;
  enum sim_nat_filter f;
  bool blocked;
  /* after X -> Y1:7000, does inbound pass from ... */
  bool from_y1_same_port, from_y1_other_port, from_y2;
  /* does X -> Y2 reuse the external port of X -> Y1? */
  bool same_port_for_y2;
};

static const struct nat_case cases[] = {
    /* name              mapping       filter         blk    y1    y1'    y2     reuse */
    {"full cone",        SIM_MAP_EIM,  SIM_FILT_EIF,  false, true, true,  true,  true},
    {"restricted",       SIM_MAP_EIM,  SIM_FILT_ADF,  false, true, true,  false, true},
    {"port restricted",  SIM_MAP_EIM,  SIM_FILT_APDF, false, true, false, false, true},
    {"symmetric",        SIM_MAP_APDM, SIM_FILT_APDF, false, true, false, false, false},
    {"addr-dep mapping", SIM_MAP_ADM,  SIM_FILT_APDF, false, true, false, false, false},
    {"blocked",          SIM_MAP_EIM,  SIM_FILT_APDF, true,  false, false, false, false},
};

static bool in_ok(struct sim_nat *b, uint32_t ip, uint16_t port, uint16_t ext, uint64_t now) {
  uint32_t iip = 0;
  uint16_t iport = 0;
  int rc = sim_nat_in(b, ip, port, ext, now, &iip, &iport);
  if (rc == 0) {
    assert_int_equal(iip, X_IP);
    assert_int_equal(iport, X_PORT);
    return true;
  }
  assert_int_equal(rc, RL_EREFUSED);
  return false;
}

static void test_nat_behaviour_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const struct nat_case *c = &cases[i];
    struct sim_nat b;
    uint64_t now = 1000 * NS_PER_S;
    uint16_t ext1 = 0, ext2 = 0;
    sim_nat_init(&b, c->m, c->f, BOX, TMO);
    b.blocked = c->blocked;
    print_message("case %s\n", c->name);
    /* Nothing passes before X has sent anything. */
    assert_false(in_ok(&b, Y1, 7000, X_PORT, now));
    int rc = sim_nat_out(&b, X_IP, X_PORT, Y1, 7000, now, &ext1);
    if (c->blocked) {
      assert_int_equal(rc, RL_EREFUSED);
      assert_false(in_ok(&b, Y1, 7000, X_PORT, now));
      sim_nat_free(&b);
      continue;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(ext1, X_PORT); /* port preservation for the first mapping */
    assert_int_equal(in_ok(&b, Y1, 7000, ext1, now + 1), c->from_y1_same_port);
    assert_int_equal(in_ok(&b, Y1, 7001, ext1, now + 1), c->from_y1_other_port);
    assert_int_equal(in_ok(&b, Y2, 7000, ext1, now + 1), c->from_y2);
    /* A wrong external port never passes. */
    assert_false(in_ok(&b, Y1, 7000, (uint16_t)(ext1 + 1), now + 1));
    assert_int_equal(sim_nat_out(&b, X_IP, X_PORT, Y2, 7000, now + 2, &ext2), 0);
    assert_int_equal(ext1 == ext2, c->same_port_for_y2);
    /* After sending to Y2 too, Y2 passes on the port it was sent from. */
    assert_true(in_ok(&b, Y2, 7000, ext2, now + 3));
    /* Binding expiry: refreshed only by outbound traffic. Inbound traffic
     * does not keep it alive. */
    assert_true(in_ok(&b, Y1, 7000, ext1, now + TMO));
    assert_false(in_ok(&b, Y1, 7000, ext1, now + 2 + TMO + 1));
    assert_false(in_ok(&b, Y2, 7000, ext2, now + 2 + TMO + 1));
    /* Expired state is reclaimed. */
    sim_nat_expire(&b, now + 3 * TMO);
    assert_int_equal(b.n_map, 0);
    sim_nat_free(&b);
  }
}

static void test_nat_refresh_keeps_binding(void **state) {
  (void)state;
  struct sim_nat b;
  uint16_t ext;
  uint64_t now = 0;
  sim_nat_init(&b, SIM_MAP_EIM, SIM_FILT_APDF, BOX, TMO);
  for (int k = 0; k < 10; k++) { /* keepalive every 100 s < 120 s timeout */
    assert_int_equal(sim_nat_out(&b, X_IP, X_PORT, Y1, 7000, now, &ext), 0);
    assert_int_equal(ext, X_PORT);
    now += 100 * NS_PER_S;
    assert_true(in_ok(&b, Y1, 7000, ext, now));
  }
  assert_int_equal(b.n_map, 1);
  sim_nat_free(&b);
}

static void test_nat_port_allocation(void **state) {
  (void)state;
  struct sim_nat b;
  uint16_t e1, e2, e3;
  sim_nat_init(&b, SIM_MAP_EIM, SIM_FILT_EIF, BOX, TMO);
  /* Two internal hosts using the same port: the second gets a new one. */
  assert_int_equal(sim_nat_out(&b, X_IP, X_PORT, Y1, 7000, 0, &e1), 0);
  assert_int_equal(sim_nat_out(&b, X_IP + 1, X_PORT, Y1, 7000, 0, &e2), 0);
  assert_int_equal(e1, X_PORT);
  assert_int_not_equal(e2, X_PORT);
  uint32_t iip;
  uint16_t iport;
  assert_int_equal(sim_nat_in(&b, Y2, 9, e2, 1, &iip, &iport), 0);
  assert_int_equal(iip, X_IP + 1);
  /* Symmetric NAT: a new port per remote endpoint. */
  struct sim_nat s;
  sim_nat_init(&s, SIM_MAP_APDM, SIM_FILT_APDF, BOX, TMO);
  assert_int_equal(sim_nat_out(&s, X_IP, X_PORT, Y1, 7000, 0, &e1), 0);
  assert_int_equal(sim_nat_out(&s, X_IP, X_PORT, Y1, 7001, 0, &e2), 0);
  assert_int_equal(sim_nat_out(&s, X_IP, X_PORT, Y1, 7000, 0, &e3), 0);
  assert_int_not_equal(e1, e2);
  assert_int_equal(e1, e3);
  sim_nat_free(&b);
  sim_nat_free(&s);
}

static void test_nat_upnp_forward(void **state) {
  (void)state;
  struct sim_nat b;
  uint16_t ext = 0;
  uint32_t iip;
  uint16_t iport;
  sim_nat_init(&b, SIM_MAP_APDM, SIM_FILT_APDF, BOX, TMO);
  assert_int_equal(sim_nat_forward(&b, X_IP, X_PORT, &ext), RL_EUNSUP);
  b.upnp = true;
  assert_int_equal(sim_nat_forward(&b, X_IP, X_PORT, &ext), 0);
  assert_int_equal(ext, X_PORT);
  /* Anyone reaches a forward, and it never expires. */
  assert_int_equal(sim_nat_in(&b, Y2, 1234, ext, 1000 * TMO, &iip, &iport), 0);
  assert_int_equal(iport, X_PORT);
  /* Outbound traffic from the forwarded endpoint uses the forwarded port
   * even on a symmetric box (the mapping is the forward). */
  uint16_t out;
  assert_int_equal(sim_nat_out(&b, X_IP, X_PORT, Y1, 7000, 5, &out), 0);
  assert_int_equal(out, X_PORT);
  uint16_t other = X_PORT;
  assert_int_equal(sim_nat_forward(&b, X_IP + 1, X_PORT, &other), RL_EEXIST);
  sim_nat_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nat_behaviour_table),
      cmocka_unit_test(test_nat_refresh_keeps_binding),
      cmocka_unit_test(test_nat_port_allocation),
      cmocka_unit_test(test_nat_upnp_forward),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
