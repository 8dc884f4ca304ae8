/* Unit tests: origin proofs on routed payloads (crypto/origin.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "crypto/origin.h"
#include "hs_fixture.h"

#define NOW (100 * NS_PER_S)
static const uint8_t KEY[RL_ID_LEN] = {1, 2, 3};
static const uint8_t PAYLOAD[] = "punch, please";

struct world {
  struct id_key group, other;
  struct fx_node a, b, foreign;
  struct origin_cache cache;
  uint8_t msg[1400];
  int len;
};

static struct world *make(bool standin) {
  struct world *w = calloc(1, sizeof(*w));
  assert_non_null(w);
  fx_key_from_byte(&w->group, 1);
  fx_key_from_byte(&w->other, 2);
  assert_int_equal(fx_node_init(&w->a, 10, &w->group, DC_CHACHA20POLY1305, DC_FMT_V2, 100), 0);
  assert_int_equal(fx_node_init(&w->b, 11, &w->group, DC_CHACHA20POLY1305, DC_FMT_V2, 100), 0);
  assert_int_equal(fx_node_init(&w->foreign, 12, &w->other, DC_CHACHA20POLY1305, DC_FMT_V2,
                                100), 0);
  w->a.env.crypto_standin = w->b.env.crypto_standin = w->foreign.env.crypto_standin = standin;
  w->len = origin_seal(&w->a.hid, 3, KEY, rl_unix_ms(&w->a.env, NOW), PAYLOAD, sizeof(PAYLOAD),
                       w->msg, sizeof(w->msg));
  assert_true(w->len > 0);
  return w;
}

static void done(struct world *w) {
  fx_node_wipe(&w->a);
  fx_node_wipe(&w->b);
  fx_node_wipe(&w->foreign);
  free(w);
}

static int open_as(struct world *w, const uint8_t *src, const uint8_t *key, uint64_t unix_s,
                   const uint8_t *msg, size_t len) {
  const uint8_t *p;
  size_t plen;
  uint8_t app;
  int rc = origin_open(&w->b.hid, &w->cache, src, key, unix_s, msg, len, &app, &p, &plen);
  if (rc == 0) {
    assert_int_equal(app, 3);
    assert_int_equal(plen, sizeof(PAYLOAD));
    assert_memory_equal(p, PAYLOAD, plen);
  }
  return rc;
}

static void check_round_trip_and_forgeries(bool standin) {
  struct world *w = make(standin);
  uint64_t t = rl_unix_ms(&w->b.env, NOW);
  uint8_t bad[1400];
  assert_int_equal(w->len, ORIGIN_HDR + (int)w->a.hid.cert_len + RL_SIG_LEN + (int)sizeof(PAYLOAD));
  assert_int_equal(open_as(w, w->a.hid.id, KEY, t, w->msg, (size_t)w->len), 0);
  /* a's proof under b's name, another key, clocks too far apart */
  assert_int_equal(open_as(w, w->b.hid.id, KEY, t, w->msg, (size_t)w->len), RL_EAUTH);
  assert_int_equal(open_as(w, w->a.hid.id, w->b.hid.id, t, w->msg, (size_t)w->len), RL_EAUTH);
  assert_int_equal(open_as(w, w->a.hid.id, KEY, t + ORIGIN_SKEW_MS + 1, w->msg, (size_t)w->len),
                   RL_EREPLAY);
  assert_int_equal(open_as(w, w->a.hid.id, KEY, t - ORIGIN_SKEW_MS - 1, w->msg, (size_t)w->len),
                   RL_EREPLAY);
  assert_int_equal(open_as(w, w->a.hid.id, KEY, t + ORIGIN_SKEW_MS, w->msg, (size_t)w->len), 0);
  /* every byte matters: app, time, certificate, signature, payload */
  for (int i = 0; i < w->len; i++) {
    if (i >= 9 && i < 11)
      continue; /* cert_len: changes the framing, tested below */
    if (standin && i >= ORIGIN_HDR && i < ORIGIN_HDR + (int)w->a.hid.cert_len)
      continue; /* the stand-in does not check the group's signature on it */
    memcpy(bad, w->msg, (size_t)w->len);
    bad[i] ^= 0x01;
    int rc = open_as(w, w->a.hid.id, KEY, t, bad, (size_t)w->len);
    if (rc == 0)
      print_message("byte %d (of %d) changed, still accepted\n", i, w->len);
    assert_true(rc < 0);
  }
  for (int cut = 0; cut < ORIGIN_HDR + (int)w->a.hid.cert_len + RL_SIG_LEN; cut++)
    assert_int_equal(open_as(w, w->a.hid.id, KEY, t, w->msg, (size_t)cut), RL_ETRUNC);
  /* a member of another group */
  int n = origin_seal(&w->foreign.hid, 3, KEY, t, PAYLOAD, sizeof(PAYLOAD), bad, sizeof(bad));
  assert_true(n > 0);
  assert_int_equal(open_as(w, w->foreign.hid.id, KEY, t, bad, (size_t)n), RL_EFOREIGN);
  done(w);
}

static void test_round_trip_and_forgeries(void **state) {
  (void)state;
  check_round_trip_and_forgeries(false);
}

static void test_round_trip_and_forgeries_standin(void **state) {
  (void)state;
  check_round_trip_and_forgeries(true);
}

/* A certificate that verified is not checked again: one hit per message
 * after the first; a different certificate for the same ID is checked. */
static void test_cache(void **state) {
  (void)state;
  struct world *w = make(false);
  uint64_t t = rl_unix_ms(&w->b.env, NOW);
  for (int i = 0; i < 5; i++)
    assert_int_equal(open_as(w, w->a.hid.id, KEY, t, w->msg, (size_t)w->len), 0);
  assert_int_equal(w->cache.misses, 1);
  assert_int_equal(w->cache.hits, 4);
  done(w);
}

static double us_per(struct world *w, struct origin_cache *c, int rounds) {
  struct timespec t0, t1;
  uint64_t t = rl_unix_ms(&w->b.env, NOW);
  const uint8_t *p;
  size_t plen;
  uint8_t app;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < rounds; i++)
    assert_int_equal(origin_open(&w->b.hid, c, w->a.hid.id, KEY, t, w->msg, (size_t)w->len,
                                 &app, &p, &plen), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 /
         rounds;
}

/* The cost per message (printed for docs/security.md; not asserted). */
static void test_cost(void **state) {
  (void)state;
  struct world *w = make(false);
  double cached = us_per(w, &w->cache, 200), full = us_per(w, NULL, 200);
  done(w);
  w = make(true);
  double standin = us_per(w, &w->cache, 2000);
  print_message("origin_open: %.1f us with the certificate cached, %.1f us without, "
                "%.2f us with the crypto stand-in; %d bytes for a %zu-byte payload\n",
                cached, full, standin, w->len, sizeof(PAYLOAD));
  done(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_and_forgeries),
      cmocka_unit_test(test_round_trip_and_forgeries_standin),
      cmocka_unit_test(test_cache),
      cmocka_unit_test(test_cost),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
