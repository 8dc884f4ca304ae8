/* Unit tests: crypto/identity.c (key pairs, overlay IDs, key text files)
 * and the armored text reader crypto/armor.c underneath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/armor.h"
#include "crypto/identity.h"
#include "util/env.h"

/* Deterministic randomness: a ChaCha20 keystream under a 32-byte key made
 * from a seed, advanced by a counter (test-local, like the simulator's). */
struct seeded {
  uint8_t key[32];
  uint64_t n;
};
static void seeded_rand(void *ctx, uint8_t *buf, size_t len) {
  struct seeded *s = ctx;
  uint8_t nonce[8];
  for (int i = 0; i < 8; i++)
    nonce[i] = (uint8_t)(s->n >> (8 * i));
  crypto_stream_chacha20(buf, len, nonce, s->key);
  s->n++;
}
static void seeded_env(struct rl_env *env, struct seeded *s, uint32_t seed) {
  memset(env, 0, sizeof(*env));
  memset(s, 0, sizeof(*s));
  memcpy(s->key, &seed, sizeof(seed));
  env->rand = seeded_rand;
  env->rand_ctx = s;
}

/* Fixed randomness: returns the same bytes on every call. */
static void fixed_rand(void *ctx, uint8_t *buf, size_t len) {
  memcpy(buf, ctx, len);
}

/* RFC 8032, section 7.1, TEST 1. */
static const char *RFC_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char *RFC_PK = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
/* First 20 bytes of BLAKE2b-256(RFC_PK), computed independently with
 * Python's hashlib.blake2b(pk, digest_size=32). */
static const char *RFC_ID = "7849ac3049680be1ef762efe0d36e01733c3464e";

static void rfc_key(struct id_key *k) {
  uint8_t seed[32];
  struct rl_env env;
  assert_int_equal(rl_hex_decode(seed, 32, RFC_SEED, 64), 32);
  memset(&env, 0, sizeof(env));
  env.rand = fixed_rand;
  env.rand_ctx = seed;
  assert_int_equal(id_generate(k, &env), 0);
}

static void test_generate_rfc8032_vector(void **state) {
  (void)state;
  struct id_key k;
  uint8_t pk[32], id[RL_ID_LEN];
  char hex[2 * RL_ID_LEN + 1];
  rfc_key(&k);
  assert_int_equal(rl_hex_decode(pk, 32, RFC_PK, 64), 32);
  assert_memory_equal(k.pk, pk, 32);
  assert_memory_equal(k.sk + 32, pk, 32); /* libsodium: sk = seed || pk */
  id_overlay_id(k.pk, id);
  rl_hex_encode(hex, id, RL_ID_LEN);
  assert_string_equal(hex, RFC_ID);
  id_wipe(&k);
  for (size_t i = 0; i < sizeof(k); i++)
    assert_int_equal(((uint8_t *)&k)[i], 0);
}

static void test_generate_deterministic(void **state) {
  (void)state;
  struct rl_env e1, e2, e3;
  struct seeded s1, s2, s3;
  struct id_key a, b, c, a2;
  seeded_env(&e1, &s1, 42);
  seeded_env(&e2, &s2, 42);
  seeded_env(&e3, &s3, 43);
  assert_int_equal(id_generate(&a, &e1), 0);
  assert_int_equal(id_generate(&b, &e2), 0);
  assert_int_equal(id_generate(&c, &e3), 0);
  assert_memory_equal(&a, &b, sizeof(a));
  assert_memory_not_equal(a.pk, c.pk, 32);
  /* The next key from the same stream differs from the first. */
  assert_int_equal(id_generate(&a2, &e1), 0);
  assert_memory_not_equal(a.pk, a2.pk, 32);
  /* A key signs and verifies like any libsodium key. */
  uint8_t sig[64];
  crypto_sign_detached(sig, NULL, (const uint8_t *)"x", 1, a.sk);
  assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)"x", 1, a.pk), 0);
  id_wipe(&a); id_wipe(&b); id_wipe(&c); id_wipe(&a2);
}

static void test_generate_bad_args(void **state) {
  (void)state;
  struct id_key k;
  struct rl_env env;
  memset(&env, 0, sizeof(env));
  assert_int_equal(id_generate(&k, &env), RL_EINVAL); /* no rand function */
  assert_int_equal(id_generate(&k, NULL), RL_EINVAL);
}

static void test_key_text_roundtrip(void **state) {
  (void)state;
  struct id_key k, k2;
  char text[512], name[RL_GROUP_NAME_MAX + 1], err[128];
  uint8_t pk[32];
  int n;
  rfc_key(&k);

  /* Node key with a name: the file names every field. */
  n = id_key_encode(&k, "node", "alice", text, sizeof(text));
  assert_true(n > 0);
  assert_int_equal((size_t)n, strlen(text));
  assert_non_null(strstr(text, "-----BEGIN RINGLAN NODE KEY-----\n"));
  assert_non_null(strstr(text, "name: alice\n"));
  assert_non_null(strstr(text, "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"));
  assert_non_null(strstr(text, "overlay-id: 7849ac3049680be1ef762efe0d36e01733c3464e\n"));
  assert_non_null(strstr(text, "secret: nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n"));
  assert_non_null(strstr(text, "-----END RINGLAN NODE KEY-----\n"));
  assert_int_equal(id_key_parse(&k2, "node", name, sizeof(name), text, (size_t)n, err,
                                sizeof(err)), 0);
  assert_memory_equal(&k, &k2, sizeof(k));
  assert_string_equal(name, "alice");
  /* The public half can be read from the secret file too. */
  assert_int_equal(id_pub_parse(pk, "node", NULL, 0, text, (size_t)n, err, sizeof(err)), 0);
  assert_memory_equal(pk, k.pk, 32);

  /* Node key without a name. */
  n = id_key_encode(&k, "node", NULL, text, sizeof(text));
  assert_true(n > 0);
  assert_null(strstr(text, "name:"));
  assert_int_equal(id_key_parse(&k2, "node", name, sizeof(name), text, (size_t)n, err,
                                sizeof(err)), 0);
  assert_string_equal(name, "");
  assert_memory_equal(&k, &k2, sizeof(k));

  /* Public file: no secret in it. */
  n = id_pub_encode(k.pk, "node", "alice", text, sizeof(text));
  assert_true(n > 0);
  assert_non_null(strstr(text, "-----BEGIN RINGLAN NODE PUBLIC KEY-----\n"));
  assert_null(strstr(text, "secret"));
  assert_int_equal(id_pub_parse(pk, "node", name, sizeof(name), text, (size_t)n, err,
                                sizeof(err)), 0);
  assert_memory_equal(pk, k.pk, 32);
  /* ... and it cannot stand in for the secret file. */
  assert_int_equal(id_key_parse(&k2, "node", NULL, 0, text, (size_t)n, err, sizeof(err)),
                   RL_EPARSE);
  assert_non_null(strstr(err, "public key file"));

  /* Group key: name required, no overlay-id. */
  n = id_key_encode(&k, "group", "mylan", text, sizeof(text));
  assert_true(n > 0);
  assert_non_null(strstr(text, "-----BEGIN RINGLAN GROUP KEY-----\n"));
  assert_null(strstr(text, "overlay-id"));
  assert_int_equal(id_key_parse(&k2, "group", name, sizeof(name), text, (size_t)n, err,
                                sizeof(err)), 0);
  assert_string_equal(name, "mylan");
  assert_memory_equal(&k, &k2, sizeof(k));
  n = id_pub_encode(k.pk, "group", "mylan", text, sizeof(text));
  assert_true(n > 0);
  assert_int_equal(id_pub_parse(pk, "group", name, sizeof(name), text, (size_t)n, err,
                                sizeof(err)), 0);
  assert_string_equal(name, "mylan");
  id_wipe(&k);
  id_wipe(&k2);
}

static void test_key_encode_errors(void **state) {
  (void)state;
  struct id_key k;
  char text[512];
  rfc_key(&k);
  assert_int_equal(id_key_encode(&k, "peer", NULL, text, sizeof(text)), RL_EINVAL);
  assert_int_equal(id_key_encode(&k, "group", NULL, text, sizeof(text)), RL_EINVAL);
  assert_int_equal(id_key_encode(&k, "group", "", text, sizeof(text)), RL_EINVAL);
  assert_int_equal(id_key_encode(&k, "node", "bad name", text, sizeof(text)), RL_EINVAL);
  assert_int_equal(id_key_encode(&k, "node", "a/b", text, sizeof(text)), RL_EINVAL);
  char longname[RL_GROUP_NAME_MAX + 2];
  memset(longname, 'a', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  assert_int_equal(id_key_encode(&k, "group", longname, text, sizeof(text)), RL_EINVAL);
  longname[RL_GROUP_NAME_MAX] = '\0'; /* exactly the maximum is fine */
  assert_true(id_key_encode(&k, "group", longname, text, sizeof(text)) > 0);
  /* Too small: RL_ETOOBIG and no partial secret left in the buffer. */
  assert_int_equal(id_key_encode(&k, "node", "alice", text, 200), RL_ETOOBIG);
  for (size_t i = 0; i < 200; i++)
    assert_int_equal(text[i], 0);
  id_wipe(&k);
}

static void test_key_parse_comments_crlf(void **state) {
  (void)state;
  struct id_key k;
  char name[64], err[128];
  const char *text =
      "# node key of alice's laptop\r\n"
      "\r\n"
      "-----BEGIN RINGLAN NODE KEY-----\r\n"
      "  # comment inside the block\r\n"
      "name:   alice   \r\n"
      "\r\n"
      "overlay-id: 7849AC3049680BE1EF762EFE0D36E01733C3464E\r\n"
      "public:\t11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\r\n"
      "secret: nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\r\n"
      "-----END RINGLAN NODE KEY-----\r\n"
      "# trailing comment\n\n";
  assert_int_equal(id_key_parse(&k, "node", name, sizeof(name), text, strlen(text), err,
                                sizeof(err)), 0);
  assert_string_equal(name, "alice");
  uint8_t pk[32];
  rl_hex_decode(pk, 32, RFC_PK, 64);
  assert_memory_equal(k.pk, pk, 32);
  id_wipe(&k);
}

/* A well-formed file with one line replaced, and what the parser says. */
struct bad_case {
  const char *what;
  const char *kind;
  int want_secret; /* 1: id_key_parse, 0: id_pub_parse */
  const char *text;
  int rc;
  const char *reason; /* substring of err */
};

#define BEGIN_N "-----BEGIN RINGLAN NODE KEY-----\n"
#define END_N "-----END RINGLAN NODE KEY-----\n"
#define PUB_L "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
#define ID_L "overlay-id: 7849ac3049680be1ef762efe0d36e01733c3464e\n"
#define SEC_L "secret: nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n"
/* Another valid seed (all 0x01 bytes) whose key is not RFC_PK. */
#define SEC_OTHER "secret: AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n"

static const struct bad_case bad_cases[] = {
    {"empty", "node", 1, "", RL_EPARSE, "no '-----BEGIN"},
    {"only comments", "node", 1, "# nothing\n\n", RL_EPARSE, "no '-----BEGIN"},
    {"garbage first", "node", 1, "hello\n" BEGIN_N PUB_L ID_L SEC_L END_N, RL_EPARSE,
     "line 1: expected '-----BEGIN"},
    {"no end", "node", 1, BEGIN_N PUB_L ID_L SEC_L, RL_EPARSE, "missing '-----END"},
    {"end mismatch", "node", 1, BEGIN_N PUB_L ID_L SEC_L "-----END RINGLAN GROUP KEY-----\n",
     RL_EPARSE, "line 5: end line does not match"},
    {"text after end", "node", 1, BEGIN_N PUB_L ID_L SEC_L END_N "extra\n", RL_EPARSE,
     "line 6: unexpected text after"},
    {"two blocks", "node", 1, BEGIN_N PUB_L ID_L SEC_L END_N BEGIN_N, RL_EPARSE,
     "unexpected text after"},
    {"no colon", "node", 1, BEGIN_N "public 11qY\n" ID_L SEC_L END_N, RL_EPARSE,
     "line 2: expected 'field: value'"},
    {"bad field name", "node", 1, BEGIN_N "Public: x\n" ID_L SEC_L END_N, RL_EPARSE,
     "line 2: bad field name"},
    {"unknown field", "node", 1, BEGIN_N PUB_L ID_L SEC_L "color: blue\n" END_N, RL_EPARSE,
     "line 5: unknown field 'color'"},
    {"duplicate field", "node", 1, BEGIN_N PUB_L PUB_L ID_L SEC_L END_N, RL_EPARSE,
     "line 3: field 'public' repeated (first on line 2)"},
    {"missing public", "node", 1, BEGIN_N ID_L SEC_L END_N, RL_EPARSE,
     "missing field 'public'"},
    {"missing overlay-id", "node", 1, BEGIN_N PUB_L SEC_L END_N, RL_EPARSE,
     "missing field 'overlay-id'"},
    {"missing secret", "node", 1,
     "-----BEGIN RINGLAN NODE KEY-----\n" PUB_L ID_L END_N, RL_EPARSE,
     "missing field 'secret'"},
    {"public short", "node", 1,
     BEGIN_N "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR=\n" ID_L SEC_L END_N,
     RL_EPARSE, "line 2: 'public' must be 32 bytes"},
    {"public bad char", "node", 1,
     BEGIN_N "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR*=\n" ID_L SEC_L END_N,
     RL_EPARSE, "line 2: 'public' must be 32 bytes"},
    {"public no padding", "node", 1,
     BEGIN_N "public: 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo\n" ID_L SEC_L END_N,
     RL_EPARSE, "'public' must be 32 bytes"},
    {"overlay-id short", "node", 1,
     BEGIN_N PUB_L "overlay-id: 7849ac30\n" SEC_L END_N, RL_EPARSE,
     "line 3: 'overlay-id' must be 40 hex"},
    {"overlay-id not hex", "node", 1,
     BEGIN_N PUB_L "overlay-id: 7849ac3049680be1ef762efe0d36e01733c3464g\n" SEC_L END_N,
     RL_EPARSE, "'overlay-id' must be 40 hex"},
    {"overlay-id wrong", "node", 1,
     BEGIN_N PUB_L "overlay-id: 7849ac3049680be1ef762efe0d36e01733c3464f\n" SEC_L END_N,
     RL_EPARSE, "line 3: 'overlay-id' does not belong"},
    {"secret mismatch", "node", 1, BEGIN_N PUB_L ID_L SEC_OTHER END_N, RL_EAUTH,
     "line 4: the secret key does not match"},
    {"secret mismatch via pub parse", "node", 0, BEGIN_N PUB_L ID_L SEC_OTHER END_N,
     RL_EAUTH, "does not match"},
    {"secret bad base64", "node", 1, BEGIN_N PUB_L ID_L "secret: nWGx\n" END_N, RL_EPARSE,
     "line 4: 'secret' must be 32 bytes"},
    {"secret in pub file", "node", 0,
     "-----BEGIN RINGLAN NODE PUBLIC KEY-----\n" PUB_L ID_L SEC_L
     "-----END RINGLAN NODE PUBLIC KEY-----\n",
     RL_EPARSE, "line 4: a public key file must not contain a secret"},
    {"group given for node", "node", 1,
     "-----BEGIN RINGLAN GROUP KEY-----\nname: g\n" PUB_L SEC_L
     "-----END RINGLAN GROUP KEY-----\n",
     RL_EPARSE, "line 1: this is a group key, but a node key is expected"},
    {"group pub given for node", "node", 0,
     "-----BEGIN RINGLAN GROUP PUBLIC KEY-----\nname: g\n" PUB_L
     "-----END RINGLAN GROUP PUBLIC KEY-----\n",
     RL_EPARSE, "this is a group key, but a node key is expected"},
    {"node given for group", "group", 0, BEGIN_N PUB_L ID_L SEC_L END_N, RL_EPARSE,
     "this is a node key, but a group key is expected"},
    {"certificate given", "node", 0,
     "-----BEGIN RINGLAN CERTIFICATE-----\n-----END RINGLAN CERTIFICATE-----\n", RL_EPARSE,
     "'CERTIFICATE' is not a key file"},
    {"group without name", "group", 1,
     "-----BEGIN RINGLAN GROUP KEY-----\n" PUB_L SEC_L "-----END RINGLAN GROUP KEY-----\n",
     RL_EPARSE, "missing field 'name'"},
    {"group with overlay-id", "group", 1,
     "-----BEGIN RINGLAN GROUP KEY-----\nname: g\n" PUB_L ID_L SEC_L
     "-----END RINGLAN GROUP KEY-----\n",
     RL_EPARSE, "line 4: a group key has no overlay-id"},
    {"bad name", "node", 1, BEGIN_N "name: a b\n" PUB_L ID_L SEC_L END_N, RL_EPARSE,
     "line 2: bad name"},
    {"empty name", "node", 1, BEGIN_N "name:\n" PUB_L ID_L SEC_L END_N, RL_EPARSE,
     "line 2: bad name"},
    {"lower-case armor", "node", 1, "-----BEGIN RINGLAN node key-----\n", RL_EPARSE,
     "expected '-----BEGIN"},
    {"long line", "node", 1,
     BEGIN_N "name: "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "\n" PUB_L ID_L SEC_L END_N,
     RL_EPARSE, "line 2: line longer than 256"},
};

static void test_key_parse_bad_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
    const struct bad_case *c = &bad_cases[i];
    struct id_key k;
    uint8_t pk[32];
    char name[64], err[160];
    int rc;
    memset(err, 0, sizeof(err));
    if (c->want_secret)
      rc = id_key_parse(&k, c->kind, name, sizeof(name), c->text, strlen(c->text), err,
                        sizeof(err));
    else
      rc = id_pub_parse(pk, c->kind, name, sizeof(name), c->text, strlen(c->text), err,
                        sizeof(err));
    if (rc != c->rc || !strstr(err, c->reason)) {
      print_error("case '%s': rc %d (want %d), err '%s' (want '%s')\n", c->what, rc, c->rc,
                  err, c->reason);
      fail();
    }
    /* Outputs are zeroed on error. */
    assert_string_equal(name, "");
    if (c->want_secret) {
      for (size_t j = 0; j < sizeof(k); j++)
        assert_int_equal(((uint8_t *)&k)[j], 0);
    }
  }
}

static void test_key_parse_nul_and_args(void **state) {
  (void)state;
  struct id_key k;
  char err[128];
  const char text[] = BEGIN_N PUB_L "\0" ID_L SEC_L END_N;
  assert_int_equal(id_key_parse(&k, "node", NULL, 0, text, sizeof(text) - 1, err,
                                sizeof(err)), RL_EPARSE);
  assert_non_null(strstr(err, "NUL byte"));
  const char ok[] = BEGIN_N PUB_L ID_L SEC_L END_N;
  char small[8];
  assert_int_equal(id_key_parse(&k, "node", small, sizeof(small), ok, strlen(ok), err,
                                sizeof(err)), RL_EINVAL);
  assert_int_equal(id_key_parse(&k, "peer", NULL, 0, ok, strlen(ok), err, sizeof(err)),
                   RL_EINVAL);
  /* Tiny error buffers are truncated, never overrun. */
  char tiny[4];
  assert_int_equal(id_key_parse(&k, "node", NULL, 0, "x", 1, tiny, sizeof(tiny)), RL_EPARSE);
  assert_int_equal(strlen(tiny), 3);
  assert_int_equal(id_key_parse(&k, "node", NULL, 0, ok, strlen(ok), NULL, 0), 0);
  id_wipe(&k);
}

/* Every prefix of a valid file is rejected cleanly (no crash, no
 * over-read: the buffer is exactly the prefix, checked under ASan), except
 * the one that only lacks the final newline. */
static void test_key_parse_every_truncation(void **state) {
  (void)state;
  struct id_key k;
  char text[512], err[128];
  rfc_key(&k);
  int n = id_key_encode(&k, "node", "alice", text, sizeof(text));
  assert_true(n > 0);
  for (int len = 0; len < n; len++) {
    char *cut = malloc((size_t)len + 1);
    struct id_key k2;
    assert_non_null(cut);
    memcpy(cut, text, (size_t)len);
    int rc = id_key_parse(&k2, "node", NULL, 0, cut, (size_t)len, err, sizeof(err));
    if (len == n - 1)
      assert_int_equal(rc, 0);
    else
      assert_int_equal(rc, RL_EPARSE);
    free(cut);
    id_wipe(&k2);
  }
  id_wipe(&k);
}

static void test_armor_b64_and_names(void **state) {
  (void)state;
  uint8_t out[32];
  char b64[45];
  for (int i = 0; i < 32; i++)
    out[i] = (uint8_t)(i * 7);
  armor_b64_encode(b64, sizeof(b64), out, 32);
  assert_int_equal(strlen(b64), 44);
  uint8_t back[32];
  assert_int_equal(armor_b64_decode(back, 32, b64, 44), 0);
  assert_memory_equal(out, back, 32);
  /* Wrong length in either direction, url-safe alphabet, spaces inside. */
  assert_int_equal(armor_b64_decode(back, 32, b64, 43), RL_EPARSE);
  assert_int_equal(armor_b64_decode(back, 31, b64, 44), RL_EPARSE);
  assert_int_equal(armor_b64_decode(back, 32, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 44),
                   RL_EPARSE);
  assert_int_equal(armor_b64_decode(back, 32, "11qYAYKxCrfVS 7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 44),
                   RL_EPARSE);
  assert_true(armor_name_ok("a", 1, 63));
  assert_true(armor_name_ok("my-lan_2.example", 16, 63));
  assert_false(armor_name_ok("", 0, 63));
  assert_false(armor_name_ok("abc", 3, 2));
  assert_false(armor_name_ok("a:b", 3, 63));
  assert_false(armor_name_ok("a\xc3\xa9", 3, 63));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_generate_rfc8032_vector),
      cmocka_unit_test(test_generate_deterministic),
      cmocka_unit_test(test_generate_bad_args),
      cmocka_unit_test(test_key_text_roundtrip),
      cmocka_unit_test(test_key_encode_errors),
      cmocka_unit_test(test_key_parse_comments_crlf),
      cmocka_unit_test(test_key_parse_bad_table),
      cmocka_unit_test(test_key_parse_nul_and_args),
      cmocka_unit_test(test_key_parse_every_truncation),
      cmocka_unit_test(test_armor_b64_and_names),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
