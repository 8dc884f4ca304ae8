/* Unit tests: util/ (wire readers/writers, addresses, error table, hex). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/ringlan.h>
#include <string.h>

#include "util/env.h"
#include "util/wire.h"

static void test_wire_reader_fails_soft(void **state) {
  (void)state;
  const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05};
  struct wire_r r;
  wire_r_init(&r, buf, sizeof(buf));
  assert_int_equal(wire_get_u8(&r), 1);
  assert_int_equal(wire_get_u32be(&r), 0x02030405);
  assert_true(wire_done(&r));
  assert_int_equal(wire_get_u16be(&r), 0); /* past the end */
  assert_false(wire_ok(&r));
  assert_int_equal(wire_left(&r), 0);
  assert_int_equal(wire_get_u8(&r), 0); /* stays failed */
}

static void test_wire_roundtrip(void **state) {
  (void)state;
  uint8_t buf[32];
  struct wire_w w;
  struct wire_r r;
  wire_w_init(&w, buf, sizeof(buf));
  wire_put_u8(&w, 0x48);
  wire_put_u24be(&w, 0x79da50);
  wire_put_u32be(&w, 1);
  wire_put_u48be(&w, 0x123456789abcULL);
  wire_put_u64be(&w, 0x0102030405060708ULL);
  wire_put_u16be(&w, 0xbeef);
  assert_false(w.err);
  assert_int_equal(w.off, 1 + 3 + 4 + 6 + 8 + 2);
  wire_r_init(&r, buf, w.off);
  assert_int_equal(wire_get_u8(&r), 0x48);
  assert_int_equal(wire_get_u24be(&r), 0x79da50);
  assert_int_equal(wire_get_u32be(&r), 1);
  assert_true(wire_get_u48be(&r) == 0x123456789abcULL);
  assert_true(wire_get_u64be(&r) == 0x0102030405060708ULL);
  assert_int_equal(wire_get_u16be(&r), 0xbeef);
  assert_true(wire_done(&r));
}

static void test_wire_writer_overflow(void **state) {
  (void)state;
  uint8_t buf[3];
  struct wire_w w;
  wire_w_init(&w, buf, sizeof(buf));
  wire_put_u16be(&w, 1);
  wire_put_u16be(&w, 2); /* does not fit */
  assert_true(w.err);
  assert_int_equal(w.off, 2);
}

static void test_addr_parse_format(void **state) {
  (void)state;
  struct rl_addr a, b;
  char s[RL_ADDR_STRLEN];
  assert_int_equal(rl_addr_parse(&a, "192.0.2.1:51820"), 0);
  assert_int_equal(a.family, RL_AF_INET);
  assert_int_equal(a.port, 51820);
  assert_int_equal(rl_addr_ipv4(&a), 0xC0000201);
  assert_string_equal(rl_addr_format(&a, s, sizeof(s)), "192.0.2.1:51820");
  assert_int_equal(rl_addr_parse(&b, "[2001:db8::1]:7"), 0);
  assert_int_equal(b.family, RL_AF_INET6);
  assert_string_equal(rl_addr_format(&b, s, sizeof(s)), "[2001:db8::1]:7");
  assert_false(rl_addr_equal(&a, &b));
  rl_addr_set_ipv4(&b, 0xC0000201, 51820);
  assert_true(rl_addr_equal(&a, &b));
  const char *bad[] = {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3:5",
                       "[::1]5", "[::1]:x", "host:80", "1.2.3.4:80x"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(rl_addr_parse(&a, bad[i]), RL_EPARSE);
}

static void test_errors_and_hex(void **state) {
  (void)state;
  uint8_t out[4];
  char hex[9];
  assert_string_equal(rl_strerror(RL_EAUTH), "authentication failed");
  assert_string_equal(rl_err_name(RL_EREPLAY), "RL_EREPLAY");
  assert_string_equal(rl_strerror(12345), "unknown error");
  assert_int_equal(rl_hex_decode(out, sizeof(out), "deadBEEF", 8), 4);
  rl_hex_encode(hex, out, 4);
  assert_string_equal(hex, "deadbeef");
  assert_int_equal(rl_hex_decode(out, sizeof(out), "abc", 3), RL_EPARSE);
  assert_int_equal(rl_hex_decode(out, sizeof(out), "zz", 2), RL_EPARSE);
  assert_int_equal(rl_hex_decode(out, 1, "0102", 4), RL_EPARSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wire_reader_fails_soft),
      cmocka_unit_test(test_wire_roundtrip),
      cmocka_unit_test(test_wire_writer_overflow),
      cmocka_unit_test(test_addr_parse_format),
      cmocka_unit_test(test_errors_and_hex),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
