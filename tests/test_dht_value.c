/* Unit tests: dht/value.c (endpoint candidates in NODE record values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/ringlan.h>
#include <string.h>

#include "dht/record.h"
#include "dht/value.h"

static void test_roundtrip_and_layout(void **state) {
  (void)state;
  struct rl_addr ep[3], back[DHT_EP_MAX];
  uint8_t buf[DHT_EP_VALUE_MAX];
  assert_int_equal(rl_addr_parse(&ep[0], "198.51.100.7:4500"), 0);
  assert_int_equal(rl_addr_parse(&ep[1], "[2001:db8::1]:4501"), 0);
  assert_int_equal(rl_addr_parse(&ep[2], "192.0.2.1:1"), 0);
  int len = dht_value_ep_encode(ep, 3, buf, sizeof(buf));
  assert_int_equal(len, 1 + 7 + 19 + 7);
  static const uint8_t head[] = {3, 4, 198, 51, 100, 7, 0x11, 0x94, 6, 0x20, 0x01, 0x0d, 0xb8};
  assert_memory_equal(buf, head, sizeof(head));
  assert_int_equal(dht_value_ep_decode(back, DHT_EP_MAX, buf, (size_t)len), 3);
  for (int i = 0; i < 3; i++)
    assert_true(rl_addr_equal(&ep[i], &back[i]));
  for (int cut = 0; cut < len; cut++)
    assert_int_equal(dht_value_ep_decode(back, DHT_EP_MAX, buf, (size_t)cut), RL_ETRUNC);
  assert_int_equal(dht_value_ep_decode(back, 2, buf, (size_t)len), RL_ETRUNC); /* max */
  buf[len] = 0;
  assert_int_equal(dht_value_ep_decode(back, DHT_EP_MAX, buf, (size_t)len + 1), RL_ETRUNC);
  buf[1] = 5; /* family */
  assert_int_equal(dht_value_ep_decode(back, DHT_EP_MAX, buf, (size_t)len), RL_ETRUNC);
  buf[0] = 0; /* count */
  assert_int_equal(dht_value_ep_decode(back, DHT_EP_MAX, buf, (size_t)len), RL_ETRUNC);
}

static void test_encode_limits(void **state) {
  (void)state;
  struct rl_addr ep[DHT_EP_MAX + 1];
  uint8_t buf[DHT_EP_VALUE_MAX];
  for (int i = 0; i <= DHT_EP_MAX; i++)
    assert_int_equal(rl_addr_parse(&ep[i], "[2001:db8::2]:9"), 0);
  assert_int_equal(dht_value_ep_encode(ep, DHT_EP_MAX, buf, sizeof(buf)), DHT_EP_VALUE_MAX);
  assert_true(DHT_EP_VALUE_MAX <= DHT_VALUE_MAX);
  assert_int_equal(dht_value_ep_encode(ep, DHT_EP_MAX + 1, buf, sizeof(buf)), RL_EINVAL);
  assert_int_equal(dht_value_ep_encode(ep, 0, buf, sizeof(buf)), RL_EINVAL);
  assert_int_equal(dht_value_ep_encode(ep, 2, buf, 20), RL_ETOOBIG);
  ep[0].family = RL_AF_NONE;
  assert_int_equal(dht_value_ep_encode(ep, 1, buf, sizeof(buf)), RL_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_and_layout),
      cmocka_unit_test(test_encode_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
