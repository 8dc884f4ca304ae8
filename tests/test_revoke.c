/* Unit tests: crypto/revoke.c (group revocations: sign, verify, binary and
 * text forms, domain separation from certificates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/cert.h"
#include "crypto/identity.h"
#include "crypto/revoke.h"
#include "util/env.h"

#define T0 1795305600ULL /* 2026-11-22T00:00:00Z */

static void key_from_byte(struct id_key *k, uint8_t b) {
  uint8_t seed[32];
  memset(seed, b, sizeof(seed));
  crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

static void make_rev(struct revocation *r, const struct id_key *group, const struct id_key *node) {
  memset(r, 0, sizeof(*r));
  r->version = 1;
  strcpy(r->group, "mylan");
  id_overlay_id(node->pk, r->node_id);
  r->revoked_at = T0;
  assert_int_equal(revoke_sign(r, group), 0);
}

/* The group key (seed 1), a revocation of node key 3, its binary form. */
static int std_rev(struct id_key *g, struct revocation *r, uint8_t *bin, size_t cap) {
  struct id_key nk;
  key_from_byte(g, 1);
  key_from_byte(&nk, 3);
  make_rev(r, g, &nk);
  return revoke_encode_bin(r, bin, cap);
}

static void test_sign_verify_roundtrip(void **state) {
  struct id_key g, g2, nk;
  struct revocation r, d;
  uint8_t bin[REVOKE_BIN_MAX];
  char text[REVOKE_TEXT_MAX], err[128];
  int n, t;
  (void)state;
  key_from_byte(&g, 1);
  key_from_byte(&g2, 2);
  key_from_byte(&nk, 3);
  make_rev(&r, &g, &nk);
  assert_int_equal(revoke_verify(&r, g.pk, "mylan"), 0);
  assert_int_equal(revoke_verify(&r, g2.pk, "mylan"), RL_EFOREIGN);
  assert_int_equal(revoke_verify(&r, g.pk, "other"), RL_EFOREIGN);
  n = revoke_encode_bin(&r, bin, sizeof(bin));
  assert_int_equal(n, 1 + 1 + 5 + 32 + 20 + 8 + 64);
  assert_int_equal(revoke_decode_bin(&d, bin, (size_t)n), 0);
  assert_memory_equal(&d, &r, sizeof(r));
  t = revoke_encode_text(&r, text, sizeof(text));
  assert_true(t > 0);
  assert_non_null(strstr(text, "-----BEGIN RINGLAN REVOCATION-----\n"));
  assert_non_null(strstr(text, "revoked-at: 2026-11-22T00:00:00Z (1795305600)\n"));
  assert_int_equal(revoke_parse_text(&d, text, (size_t)t, err, sizeof(err)), 0);
  assert_memory_equal(&d, &r, sizeof(r));
  /* signed by another key: not the group's */
  {
    struct revocation f = r;
    assert_int_equal(revoke_sign(&f, &g2), 0);
    memcpy(f.group_pk, g.pk, RL_PK_LEN);
    assert_int_equal(revoke_verify(&f, g.pk, "mylan"), RL_EAUTH);
  }
}

/* Every bit of the signed part matters. */
static void test_tamper_every_bit(void **state) {
  struct id_key g;
  struct revocation r, d;
  uint8_t bin[REVOKE_BIN_MAX];
  int n = std_rev(&g, &r, bin, sizeof(bin));
  (void)state;
  for (int i = 0; i < n * 8; i++) {
    int rc;
    bin[i / 8] ^= (uint8_t)(1u << (i % 8));
    if (revoke_decode_bin(&d, bin, (size_t)n) == 0) {
      rc = revoke_verify(&d, g.pk, "mylan");
      assert_true(rc < 0);
    }
    bin[i / 8] ^= (uint8_t)(1u << (i % 8));
  }
}

static void test_binary_truncated_and_malformed(void **state) {
  struct id_key g;
  struct revocation r, d;
  uint8_t bin[REVOKE_BIN_MAX + 1];
  int n = std_rev(&g, &r, bin, sizeof(bin));
  (void)state;
  for (int len = 0; len < n; len++)
    assert_true(revoke_decode_bin(&d, bin, (size_t)len) < 0);
  bin[n] = 0;
  assert_int_equal(revoke_decode_bin(&d, bin, (size_t)n + 1), RL_ETRUNC); /* trailing */
  bin[0] = 2;
  assert_int_equal(revoke_decode_bin(&d, bin, (size_t)n), RL_EUNSUP);
  bin[0] = 1;
  bin[1] = 64; /* group name longer than allowed */
  assert_int_equal(revoke_decode_bin(&d, bin, (size_t)n), RL_ETRUNC);
  bin[1] = 5;
  bin[3] = 0; /* NUL inside the group name */
  assert_int_equal(revoke_decode_bin(&d, bin, (size_t)n), RL_ETRUNC);
}

/* A certificate signature cannot pass as a revocation signature (and the
 * reverse): the two objects use different context strings. */
static void test_domain_separation(void **state) {
  struct id_key g, nk;
  struct revocation r;
  struct cert c;
  (void)state;
  key_from_byte(&g, 1);
  key_from_byte(&nk, 3);
  make_rev(&r, &g, &nk);
  memset(&c, 0, sizeof(c));
  c.version = 1;
  strcpy(c.group, "mylan");
  memcpy(c.node_pk, nk.pk, RL_PK_LEN);
  c.vip = 0x64400002;
  c.prefix = 10;
  c.not_before = T0;
  c.not_after = T0 + 1;
  assert_int_equal(cert_sign(&c, &g), 0);
  memcpy(r.sig, c.sig, RL_SIG_LEN);
  assert_int_equal(revoke_verify(&r, g.pk, "mylan"), RL_EAUTH);
}

static void test_text_malformed(void **state) {
  static const char *const bad[] = {
      "-----BEGIN RINGLAN CERTIFICATE-----\nversion: 1\n-----END RINGLAN CERTIFICATE-----\n",
      "-----BEGIN RINGLAN REVOCATION-----\nversion: 1\n-----END RINGLAN REVOCATION-----\n",
  };
  struct id_key g, nk;
  struct revocation r, d;
  char text[REVOKE_TEXT_MAX], err[128], *p;
  int t;
  (void)state;
  for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(revoke_parse_text(&d, bad[i], strlen(bad[i]), err, sizeof(err)),
                     RL_EPARSE);
  key_from_byte(&g, 1);
  key_from_byte(&nk, 3);
  make_rev(&r, &g, &nk);
  t = revoke_encode_text(&r, text, sizeof(text));
  for (int len = 0; len < t - 1; len++)
    assert_int_equal(revoke_parse_text(&d, text, (size_t)len, NULL, 0), RL_EPARSE);
  /* a date that disagrees with its seconds */
  p = strstr(text, "2026-11-22");
  p[9] = '3';
  assert_int_equal(revoke_parse_text(&d, text, (size_t)t, err, sizeof(err)), RL_EPARSE);
  assert_non_null(strstr(err, "does not match"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sign_verify_roundtrip),
      cmocka_unit_test(test_tamper_every_bit),
      cmocka_unit_test(test_binary_truncated_and_malformed),
      cmocka_unit_test(test_domain_separation),
      cmocka_unit_test(test_text_malformed),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
