/* Unit tests: members on one site ([nat] allow_lan_candidates = same-site,
 * the default; docs/security.md, finding 2). Two members behind one NAT
 * box on one LAN link directly over their LAN addresses when one sends to
 * the other (on demand: the pair is not linked by the overlay).
 *
 *   public: n0 (bootstrap), n1 .. n3, n6 .. n15   192.0.2.x
 *   n4 192.168.5.2, n5 192.168.5.7: one port-restricted cone NAT,
 *   203.0.113.5 outside (n4's mappings keep port 4000, n5's get 4005)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>

#define MAXN 16
#include "node/core/node_internal.h"
#include "tap/tap.h"
#include "testnet.h"
#include "testnet_status.h"

static struct net *make_site_world(void) {
  struct net *w = calloc(1, sizeof(*w));
  struct prng gp = {780};
  struct rl_env genv = {.rand = prng_rand, .rand_ctx = &gp};
  w->now = T0;
  w->ring_successors = 1;
  assert_int_equal(id_generate(&w->group, &genv), 0);
  for (int i = 0; i < MAXN; i++) {
    make_member(w, i, &w->group, "lab", 0x64400001 + (uint32_t)i);
    w->wildcard[i] = true; /* the daemon's default: interface addresses from the driver */
  }
  tn_set_nat(w, 4, TN_CONE);
  tn_share_nat(w, 5, 4);
  start_node_cfg(w, 0, w->group.pk, -1, -1);
  for (int k = 1; k < MAXN; k++) {
    int i = k < 4 ? k : k < MAXN - 2 ? k + 2 : k - (MAXN - 6); /* n4, n5 last */
    start_node_cfg(w, i, w->group.pk, -1, 0);
    run_until(w, w->now + 2 * NS_PER_S);
  }
  run_until(w, w->now + 60 * NS_PER_S);
  return w;
}

static void test_same_nat_members_link_over_lan(void **state) {
  (void)state;
  struct net *w = make_site_world();
  assert_non_null(strstr(status_of(w, 4), "\"reflexive\":\"203.0.113.5:4000\""));
  assert_non_null(strstr(status_of(w, 5), "\"reflexive\":\"203.0.113.5:4005\""));
  /* the overlay did not link them: the link below is the on-demand one */
  if (has_path(w, 4, 5, "direct") || has_path(w, 5, 4, "direct"))
    fail_msg("precondition: n4 and n5 already linked by the overlay; n4's links: %s",
             strstr(status_of(w, 4), "\"links\""));
  check_pair(w, 4, 5, "direct");
  check_pair(w, 5, 4, "direct");
  if (!has_endpoint(w, 4, 5, "192.168.5.7:4000") || !has_endpoint(w, 5, 4, "192.168.5.2:4000"))
    fail_msg("n4/n5 not linked over their LAN; n4's links: %s",
             strstr(status_of(w, 4), "\"links\""));
  teardown(w);
  free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_nat_members_link_over_lan),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
