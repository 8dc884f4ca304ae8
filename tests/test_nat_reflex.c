/* Unit tests: NAT classification from reflexive reports (nat/reflex.c),
 * against lying reporters (issue 10, finding 7). A report is a claim of
 * one linked member; no single member may set the address we publish or
 * our NAT class.
 *
 *   us 192.168.5.2:4000 behind a NAT 203.0.113.5
 *   honest reporters h1 192.0.2.1, h2 198.51.100.1, h3 203.0.113.77
 *   liar L 192.0.2.99 (any claim it likes)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "nat/reflex.h"

#define T0 (1000 * NS_PER_S)

struct fix {
  struct nat_obs o;
  struct rl_addr local[1];
  struct rl_addr h1, h2, h3, liar, liar2; /* reporter endpoints */
  struct rl_addr pub;                     /* our true reflexive address */
};

static const uint8_t ID_H1[RL_ID_LEN] = {1}, ID_H2[RL_ID_LEN] = {2}, ID_H3[RL_ID_LEN] = {3},
                     ID_L[RL_ID_LEN] = {9}, ID_L2[RL_ID_LEN] = {10};

static void fix_init(struct fix *f) {
  memset(f, 0, sizeof(*f));
  nat_obs_init(&f->o);
  rl_addr_set_ipv4(&f->local[0], 0xC0A80502, 4000);
  rl_addr_set_ipv4(&f->h1, 0xC0000201, 4000);
  rl_addr_set_ipv4(&f->h2, 0xC6336401, 4000);
  rl_addr_set_ipv4(&f->h3, 0xCB00714D, 4000);
  rl_addr_set_ipv4(&f->liar, 0xC0000263, 4000);
  rl_addr_set_ipv4(&f->liar2, 0xC6336463, 4000);
  rl_addr_set_ipv4(&f->pub, 0xCB007105, 4000);
}

static enum nat_class classify(struct fix *f, uint64_t now, struct rl_addr *refl) {
  return nat_classify(&f->o, f->local, 1, now, refl);
}

/* One reporter alone publishes nothing, whatever it says. */
static void test_single_reporter_publishes_nothing(void **state) {
  (void)state;
  struct fix f;
  struct rl_addr refl, lie;
  fix_init(&f);
  rl_addr_set_ipv4(&lie, 0xC0000242, 53); /* someone else's DNS server */
  nat_obs_add(&f.o, ID_L, &f.liar, &lie, T0);
  assert_int_equal(classify(&f, T0, &refl), NAT_CLASS_UNKNOWN);
  assert_int_equal(refl.family, RL_AF_NONE);
}

/* Two honest reporters agree: endpoint-independent, published. A liar
 * naming another port at our IP, or another IP, changes neither. */
static void test_liar_against_two_honest(void **state) {
  (void)state;
  struct fix f;
  struct rl_addr refl, lie_port = {0}, lie_ip;
  fix_init(&f);
  nat_obs_add(&f.o, ID_H1, &f.h1, &f.pub, T0);
  nat_obs_add(&f.o, ID_H2, &f.h2, &f.pub, T0 + 1);
  assert_int_equal(classify(&f, T0 + 1, &refl), NAT_CLASS_EIM);
  assert_true(rl_addr_equal(&refl, &f.pub));
  lie_port = f.pub;
  lie_port.port = 6666;
  nat_obs_add(&f.o, ID_L, &f.liar, &lie_port, T0 + 2);
  assert_int_equal(classify(&f, T0 + 2, &refl), NAT_CLASS_EIM);
  assert_true(rl_addr_equal(&refl, &f.pub));
  rl_addr_set_ipv4(&lie_ip, 0xC0000242, 53);
  nat_obs_add(&f.o, ID_L, &f.liar, &lie_ip, T0 + 3);
  assert_int_equal(classify(&f, T0 + 3, &refl), NAT_CLASS_EIM);
  assert_true(rl_addr_equal(&refl, &f.pub));
}

/* One honest reporter and a liar naming another IP: nothing published,
 * no class (the old code took the latest report and called it symmetric). */
static void test_liar_against_one_honest(void **state) {
  (void)state;
  struct fix f;
  struct rl_addr refl, lie;
  fix_init(&f);
  nat_obs_add(&f.o, ID_H1, &f.h1, &f.pub, T0);
  assert_int_equal(classify(&f, T0, &refl), NAT_CLASS_UNKNOWN);
  assert_int_equal(refl.family, RL_AF_NONE);
  rl_addr_set_ipv4(&lie, 0xC0000242, 53);
  nat_obs_add(&f.o, ID_L, &f.liar, &lie, T0 + 1);
  assert_int_equal(classify(&f, T0 + 1, &refl), NAT_CLASS_UNKNOWN);
  assert_int_equal(refl.family, RL_AF_NONE);
  /* A second honest reporter settles it. */
  nat_obs_add(&f.o, ID_H2, &f.h2, &f.pub, T0 + 2);
  assert_int_equal(classify(&f, T0 + 2, &refl), NAT_CLASS_EIM);
  assert_true(rl_addr_equal(&refl, &f.pub));
}

/* Several reporters behind one address are one reporter: two "members"
 * a single attacker runs at one host agree with each other in vain. */
static void test_reporters_at_one_address_count_once(void **state) {
  (void)state;
  struct fix f;
  struct rl_addr refl, lie;
  fix_init(&f);
  rl_addr_set_ipv4(&lie, 0xC0000242, 53);
  nat_obs_add(&f.o, ID_L, &f.liar, &lie, T0);
  nat_obs_add(&f.o, ID_L2, &f.liar, &lie, T0 + 1);
  assert_int_equal(classify(&f, T0 + 1, &refl), NAT_CLASS_UNKNOWN);
  assert_int_equal(refl.family, RL_AF_NONE);
}

/* A real symmetric NAT: independent reporters see our IP with a new port
 * each; still symmetric with a confirmed port when two or more disagree. */
static void test_symmetric_needs_two_disagreeing(void **state) {
  (void)state;
  struct fix f;
  struct rl_addr refl, p1 = {0}, p2 = {0}, p3 = {0};
  fix_init(&f);
  p1 = p2 = p3 = f.pub;
  p1.port = 40001;
  p2.port = 40002;
  p3.port = 40003;
  nat_obs_add(&f.o, ID_H1, &f.h1, &p1, T0);
  nat_obs_add(&f.o, ID_H2, &f.h2, &p2, T0 + 1);
  assert_int_equal(classify(&f, T0 + 1, &refl), NAT_CLASS_SYMMETRIC);
  assert_int_equal(rl_addr_ipv4(&refl), rl_addr_ipv4(&f.pub));
  nat_obs_add(&f.o, ID_H3, &f.h3, &p3, T0 + 2);
  assert_int_equal(classify(&f, T0 + 2, &refl), NAT_CLASS_SYMMETRIC);
  /* Two liars agreeing on port 40001 with h1 do not make a cone while two
   * independent reporters (h2, h3) disagree with it. */
  nat_obs_add(&f.o, ID_L, &f.liar, &p1, T0 + 3);
  assert_int_equal(classify(&f, T0 + 3, &refl), NAT_CLASS_SYMMETRIC);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_single_reporter_publishes_nothing),
      cmocka_unit_test(test_liar_against_two_honest),
      cmocka_unit_test(test_liar_against_one_honest),
      cmocka_unit_test(test_reporters_at_one_address_count_once),
      cmocka_unit_test(test_symmetric_needs_two_disagreeing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
