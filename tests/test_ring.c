/* Unit tests: overlay/ring.c, arithmetic on 160-bit big-endian ring IDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "overlay/ov_internal.h"
#include "overlay/overlay.h"

/* An ID from its last two bytes (the rest zero) or from a fill byte. */
static void idw(uint8_t out[RL_ID_LEN], uint16_t low) {
  memset(out, 0, RL_ID_LEN);
  out[RL_ID_LEN - 2] = (uint8_t)(low >> 8);
  out[RL_ID_LEN - 1] = (uint8_t)low;
}
static void idfill(uint8_t out[RL_ID_LEN], uint8_t b) { memset(out, b, RL_ID_LEN); }

static void test_cmp(void **state) {
  (void)state;
  uint8_t a[RL_ID_LEN], b[RL_ID_LEN];
  idw(a, 5);
  idw(b, 5);
  assert_int_equal(ring_cmp(a, b), 0);
  idw(b, 6);
  assert_int_equal(ring_cmp(a, b), -1);
  assert_int_equal(ring_cmp(b, a), 1);
  /* the most significant byte dominates */
  idw(a, 0xffff);
  memset(b, 0, RL_ID_LEN);
  b[0] = 1;
  assert_int_equal(ring_cmp(a, b), -1);
}

static void test_between_table(void **state) {
  (void)state;
  static const struct {
    uint16_t a, x, b;
    bool in;
  } cases[] = {
      {10, 15, 20, true},      {10, 10, 20, false},     {10, 20, 20, false},
      {10, 25, 20, false},     {10, 5, 20, false},      /* plain interval */
      {0xff00, 0xff80, 0x0010, true},  {0xff00, 0x0011, 0x0010, false},
      {20, 25, 10, true},      {20, 5, 10, true},       {20, 15, 10, false},
      {20, 20, 10, false},     {20, 10, 10, false},     /* wrapping interval */
      {7, 8, 7, true},         {7, 6, 7, true},         {7, 7, 7, false}, /* (a, a) */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint8_t a[RL_ID_LEN], x[RL_ID_LEN], b[RL_ID_LEN];
    idw(a, cases[i].a);
    idw(x, cases[i].x);
    idw(b, cases[i].b);
    assert_int_equal(ring_between(a, x, b), cases[i].in);
  }
  /* Wrap across the top of the 160-bit ring: (ff..fe, 01) holds ff..ff and 0. */
  uint8_t a[RL_ID_LEN], x[RL_ID_LEN], b[RL_ID_LEN];
  idfill(a, 0xff);
  a[RL_ID_LEN - 1] = 0xfe;
  idw(b, 1);
  idfill(x, 0xff);
  assert_true(ring_between(a, x, b));
  idw(x, 0);
  assert_true(ring_between(a, x, b));
  idw(x, 1);
  assert_false(ring_between(a, x, b));
  idw(x, 2);
  assert_false(ring_between(a, x, b));
}

static void test_distance(void **state) {
  (void)state;
  uint8_t a[RL_ID_LEN], b[RL_ID_LEN], d[RL_ID_LEN], e[RL_ID_LEN];
  idw(a, 0x0100);
  idw(b, 0x0201);
  ring_distance(a, b, d);
  idw(e, 0x0101);
  assert_memory_equal(d, e, RL_ID_LEN);
  /* equal IDs: zero */
  ring_distance(a, a, d);
  idw(e, 0);
  assert_memory_equal(d, e, RL_ID_LEN);
  /* wrap: from 1 to 0 is 2^160 - 1 (all ones) */
  idw(a, 1);
  idw(b, 0);
  ring_distance(a, b, d);
  idfill(e, 0xff);
  assert_memory_equal(d, e, RL_ID_LEN);
  /* wrap: from ff..ff to 4 is 5; borrow crosses every byte */
  idfill(a, 0xff);
  idw(b, 4);
  ring_distance(a, b, d);
  idw(e, 5);
  assert_memory_equal(d, e, RL_ID_LEN);
  /* out may alias an input */
  idw(a, 3);
  idw(b, 10);
  ring_distance(a, b, b);
  idw(e, 7);
  assert_memory_equal(b, e, RL_ID_LEN);
}

static void test_add_pow2(void **state) {
  (void)state;
  uint8_t a[RL_ID_LEN], o[RL_ID_LEN], e[RL_ID_LEN];
  idw(a, 0);
  ring_add_pow2(a, 0, o);
  idw(e, 1);
  assert_memory_equal(o, e, RL_ID_LEN);
  ring_add_pow2(a, 9, o);
  idw(e, 0x0200);
  assert_memory_equal(o, e, RL_ID_LEN);
  /* carry across bytes: 0x00ff + 1 = 0x0100, ...00ffff + 1 */
  idw(a, 0x00ff);
  ring_add_pow2(a, 0, o);
  idw(e, 0x0100);
  assert_memory_equal(o, e, RL_ID_LEN);
  memset(a, 0, RL_ID_LEN);
  memset(a + 10, 0xff, 10);
  ring_add_pow2(a, 3, o); /* + 8 carries through ten bytes */
  memset(e, 0, RL_ID_LEN);
  e[9] = 1;
  e[RL_ID_LEN - 1] = 7;
  assert_memory_equal(o, e, RL_ID_LEN);
  /* top bit: 0x80.. + 2^159 wraps to 0 */
  memset(a, 0, RL_ID_LEN);
  a[0] = 0x80;
  ring_add_pow2(a, 159, o);
  idw(e, 0);
  assert_memory_equal(o, e, RL_ID_LEN);
  /* all ones + 1 wraps to 0, in place */
  idfill(a, 0xff);
  ring_add_pow2(a, 0, a);
  assert_memory_equal(a, e, RL_ID_LEN);
  /* k out of range is a no-op (2^160 = 0 mod 2^160) */
  idw(a, 42);
  ring_add_pow2(a, 160, o);
  assert_memory_equal(o, a, RL_ID_LEN);
}

static void test_bitlen_slots(void **state) {
  (void)state;
  uint8_t d[RL_ID_LEN];
  idw(d, 0);
  assert_int_equal(ring_bitlen(d), 0);
  idw(d, 1);
  assert_int_equal(ring_bitlen(d), 1);
  idw(d, 0x0100);
  assert_int_equal(ring_bitlen(d), 9);
  idfill(d, 0xff);
  assert_int_equal(ring_bitlen(d), 160);
  /* a + 2^k lies in finger slot k, for every k */
  uint8_t a[RL_ID_LEN], t[RL_ID_LEN], dist[RL_ID_LEN];
  idfill(a, 0xa5);
  for (unsigned k = 0; k < 160; k++) {
    ring_add_pow2(a, k, t);
    ring_distance(a, t, dist);
    assert_int_equal(ring_bitlen(dist) - 1, (int)k);
  }
}

/* The word-wise ring_distance and ring_bitlen against byte-wise references,
 * on random IDs and on values built to borrow across every word boundary. */
static void ref_distance(const uint8_t a[RL_ID_LEN], const uint8_t b[RL_ID_LEN], uint8_t out[RL_ID_LEN]) {
  int borrow = 0;
  for (int i = RL_ID_LEN - 1; i >= 0; i--) {
    int d = (int)b[i] - (int)a[i] - borrow;
    borrow = d < 0;
    out[i] = (uint8_t)(d + (borrow ? 256 : 0));
  }
}

static int ref_bitlen(const uint8_t d[RL_ID_LEN]) {
  for (int i = 0; i < RL_ID_LEN; i++)
    for (int b = 7; b >= 0; b--)
      if (d[i] >> b & 1)
        return (RL_ID_LEN - 1 - i) * 8 + b + 1;
  return 0;
}

static void test_wordwise_matches_reference(void **state) {
  (void)state;
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (int t = 0; t < 20000; t++) {
    uint8_t a[RL_ID_LEN], b[RL_ID_LEN], d1[RL_ID_LEN], d2[RL_ID_LEN];
    for (int i = 0; i < RL_ID_LEN; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      a[i] = (uint8_t)x;
      b[i] = (uint8_t)(x >> 8);
    }
    if (t % 4 == 1) /* equal prefixes: borrows ripple through words */
      memcpy(b, a, (size_t)(t / 4 % RL_ID_LEN));
    if (t % 4 == 2)
      memset(b + (t / 4 % RL_ID_LEN), 0, RL_ID_LEN - (size_t)(t / 4 % RL_ID_LEN));
    ref_distance(a, b, d1);
    ring_distance(a, b, d2);
    assert_memory_equal(d1, d2, RL_ID_LEN);
    assert_int_equal(ring_bitlen(d2), ref_bitlen(d1));
    ring_distance(a, b, a); /* aliasing */
    assert_memory_equal(a, d1, RL_ID_LEN);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wordwise_matches_reference),
      cmocka_unit_test(test_cmp),
      cmocka_unit_test(test_between_table),
      cmocka_unit_test(test_distance),
      cmocka_unit_test(test_add_pow2),
      cmocka_unit_test(test_bitlen_slots),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
