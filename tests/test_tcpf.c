/* Unit tests: OpenVPN's TCP framing of ringlan packets (node/drv_tcpf.c):
 * whole, coalesced and split reads, a header split across reads, the
 * length bounds, and a stream broken for good by a bad length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <string.h>

#include "node/drv_tcpf.h"

static struct drv_tcpf f;

/* Appends a frame of len bytes filled with fill. */
static size_t put(uint8_t *buf, size_t at, size_t len, uint8_t fill) {
  drv_tcpf_header(buf + at, len);
  memset(buf + at + DRV_TCPF_HDR, fill, len);
  return at + DRV_TCPF_HDR + len;
}

static void expect_pkt(const uint8_t **in, size_t *left, size_t len, uint8_t fill) {
  const uint8_t *pkt = NULL;
  size_t plen = 0;
  assert_int_equal(drv_tcpf_next(&f, in, left, &pkt, &plen), 1);
  assert_int_equal(plen, len);
  for (size_t i = 0; i < len; i++)
    assert_int_equal(pkt[i], fill);
}

static void test_header_is_big_endian(void **state) {
  uint8_t h[2];
  (void)state;
  drv_tcpf_header(h, 0x0123);
  assert_int_equal(h[0], 0x01);
  assert_int_equal(h[1], 0x23);
}

static void test_coalesced_packets_in_one_read(void **state) {
  uint8_t buf[4 * (DRV_TCPF_MAX + 2)];
  size_t n = 0, left;
  const uint8_t *in = buf, *pkt;
  size_t plen;
  (void)state;
  drv_tcpf_init(&f);
  n = put(buf, n, 1, 0xA1);
  n = put(buf, n, 148, 0xA2);
  n = put(buf, n, DRV_TCPF_MAX, 0xA3);
  left = n;
  expect_pkt(&in, &left, 1, 0xA1);
  /* Whole packets in the read are handed out in place, not copied. */
  const uint8_t *before = in;
  expect_pkt(&in, &left, 148, 0xA2);
  assert_ptr_equal(in, before + 2 + 148);
  expect_pkt(&in, &left, DRV_TCPF_MAX, 0xA3);
  assert_int_equal(left, 0);
  assert_int_equal(drv_tcpf_next(&f, &in, &left, &pkt, &plen), 0);
}

static void test_split_reads_any_boundary(void **state) {
  uint8_t buf[3 * 300];
  size_t n = 0;
  (void)state;
  n = put(buf, n, 200, 0xB1);
  n = put(buf, n, 7, 0xB2);
  n = put(buf, n, 90, 0xB3);
  static const size_t lens[3] = {200, 7, 90};
  static const uint8_t fills[3] = {0xB1, 0xB2, 0xB3};
  /* Every chunk size from 1 byte (header split too) to the whole stream. */
  for (size_t chunk = 1; chunk <= n; chunk++) {
    unsigned got = 0;
    drv_tcpf_init(&f);
    for (size_t off = 0; off < n; off += chunk) {
      const uint8_t *in = buf + off, *pkt;
      size_t left = off + chunk <= n ? chunk : n - off, plen;
      int r;
      while ((r = drv_tcpf_next(&f, &in, &left, &pkt, &plen)) == 1) {
        assert_true(got < 3);
        assert_int_equal(plen, lens[got]);
        for (size_t i = 0; i < plen; i++)
          assert_int_equal(pkt[i], fills[got]);
        got++;
      }
      assert_int_equal(r, 0);
      assert_int_equal(left, 0);
    }
    assert_int_equal(got, 3);
  }
}

static void test_bad_lengths_break_the_stream(void **state) {
  static const unsigned bad[] = {0, DRV_TCPF_MAX + 1, 0xFFFF};
  (void)state;
  for (unsigned k = 0; k < 3; k++) {
    uint8_t buf[8] = {(uint8_t)(bad[k] >> 8), (uint8_t)bad[k], 1, 2, 3, 4, 5, 6};
    const uint8_t *in = buf, *pkt;
    size_t left = sizeof(buf), plen;
    drv_tcpf_init(&f);
    assert_int_equal(drv_tcpf_next(&f, &in, &left, &pkt, &plen), RL_EPARSE);
    assert_int_equal(f.bad_len, bad[k]);
    /* Nothing after it is trusted, even a well-formed frame. */
    uint8_t good[4];
    size_t gl = put(good, 0, 2, 0x11);
    in = good;
    left = gl;
    assert_int_equal(drv_tcpf_next(&f, &in, &left, &pkt, &plen), RL_EPARSE);
  }
  /* A bad length after a good packet: the good one is delivered first. */
  uint8_t buf[16];
  size_t n = put(buf, 0, 3, 0x22);
  buf[n++] = 0;
  buf[n++] = 0;
  const uint8_t *in = buf, *pkt;
  size_t left = n, plen;
  drv_tcpf_init(&f);
  expect_pkt(&in, &left, 3, 0x22);
  assert_int_equal(drv_tcpf_next(&f, &in, &left, &pkt, &plen), RL_EPARSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_is_big_endian),
      cmocka_unit_test(test_coalesced_packets_in_one_read),
      cmocka_unit_test(test_split_reads_any_boundary),
      cmocka_unit_test(test_bad_lengths_break_the_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
