/* Unit tests: crypto/cert.c (group certificates: sign, verify, binary and
 * text forms, virtual addresses, dates). */
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

#include "crypto/cert.h"
#include "crypto/identity.h"
#include "util/env.h"

#define T0 1795305600ULL /* 2026-11-22T00:00:00Z */
#define DAY_S 86400ULL
#define VIP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* Keys from fixed seeds: deterministic without any shared state. */
static void key_from_byte(struct id_key *k, uint8_t b) {
  uint8_t seed[32];
  memset(seed, b, sizeof(seed));
  crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

struct fixture {
  struct id_key group, other_group, node;
  struct cert c;
};

static void make_cert(struct cert *c, const struct id_key *node) {
  memset(c, 0, sizeof(*c));
  c->version = 1;
  strcpy(c->group, "mylan");
  memcpy(c->node_pk, node->pk, RL_PK_LEN);
  c->vip = VIP(100, 64, 0, 2);
  c->prefix = 10;
  c->not_before = T0;
  c->not_after = T0 + 365 * DAY_S;
  c->n_subrings = 2;
  strcpy(c->subrings[0], "dev");
  strcpy(c->subrings[1], "ops");
}

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  if (!f)
    return -1;
  key_from_byte(&f->group, 1);
  key_from_byte(&f->other_group, 2);
  key_from_byte(&f->node, 3);
  make_cert(&f->c, &f->node);
  if (cert_sign(&f->c, &f->group) != 0)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  id_wipe(&f->group);
  id_wipe(&f->other_group);
  id_wipe(&f->node);
  free(f);
  return 0;
}

static void assert_cert_equal(const struct cert *a, const struct cert *b) {
  assert_int_equal(a->version, b->version);
  assert_string_equal(a->group, b->group);
  assert_memory_equal(a->group_pk, b->group_pk, RL_PK_LEN);
  assert_memory_equal(a->node_pk, b->node_pk, RL_PK_LEN);
  assert_int_equal(a->vip, b->vip);
  assert_int_equal(a->prefix, b->prefix);
  assert_true(a->not_before == b->not_before);
  assert_true(a->not_after == b->not_after);
  assert_int_equal(a->n_subrings, b->n_subrings);
  for (unsigned i = 0; i < a->n_subrings; i++)
    assert_string_equal(a->subrings[i], b->subrings[i]);
  assert_memory_equal(a->sig, b->sig, RL_SIG_LEN);
}

static void test_sign_verify(void **state) {
  struct fixture *f = *state;
  assert_memory_equal(f->c.group_pk, f->group.pk, RL_PK_LEN);
  assert_int_equal(cert_verify(&f->c, f->group.pk, "mylan", T0 + DAY_S), 0);
  assert_int_equal(cert_verify(&f->c, f->group.pk, NULL, T0), 0);
  assert_int_equal(cert_verify(&f->c, NULL, NULL, T0), 0);
  /* Ed25519 is deterministic: signing again gives the same bytes. */
  struct cert c2 = f->c;
  memset(c2.sig, 0, sizeof(c2.sig));
  assert_int_equal(cert_sign(&c2, &f->group), 0);
  assert_memory_equal(c2.sig, f->c.sig, RL_SIG_LEN);
  /* cert_node_id is the node key's overlay ID. */
  uint8_t id[RL_ID_LEN], id2[RL_ID_LEN];
  cert_node_id(&f->c, id);
  id_overlay_id(f->node.pk, id2);
  assert_memory_equal(id, id2, RL_ID_LEN);
}

static void test_binary_roundtrip(void **state) {
  struct fixture *f = *state;
  uint8_t bin[CERT_BIN_MAX], bin2[CERT_BIN_MAX];
  struct cert d;
  int n = cert_encode_bin(&f->c, bin, sizeof(bin));
  /* 1 + 1+5 + 32 + 32 + 4 + 1 + 8 + 8 + 1 + (1+3) + (1+3) + 64 */
  assert_int_equal(n, 165);
  assert_int_equal(bin[0], 1);
  assert_int_equal(bin[1], 5);
  assert_memory_equal(bin + 2, "mylan", 5);
  assert_memory_equal(bin + 71, "\x64\x40\x00\x02\x0a", 5); /* vip, prefix */
  assert_memory_equal(bin + n - 64, f->c.sig, 64);
  assert_int_equal(cert_decode_bin(&d, bin, (size_t)n), 0);
  assert_cert_equal(&d, &f->c);
  assert_int_equal(cert_encode_bin(&d, bin2, sizeof(bin2)), n);
  assert_memory_equal(bin, bin2, (size_t)n);
  assert_int_equal(cert_verify(&d, f->group.pk, "mylan", T0), 0);
  /* Output buffer too small by one byte. */
  assert_int_equal(cert_encode_bin(&f->c, bin, (size_t)n - 1), RL_ETOOBIG);
}

static void test_largest_cert_fits(void **state) {
  struct fixture *f = *state;
  struct cert c, d;
  uint8_t bin[CERT_BIN_MAX];
  char text[CERT_TEXT_MAX], err[128];
  make_cert(&c, &f->node);
  memset(c.group, 'g', RL_GROUP_NAME_MAX);
  c.group[RL_GROUP_NAME_MAX] = '\0';
  c.n_subrings = CERT_MAX_SUBRINGS;
  for (int i = 0; i < CERT_MAX_SUBRINGS; i++) {
    memset(c.subrings[i], 'a' + i, CERT_SUBRING_MAX);
    c.subrings[i][CERT_SUBRING_MAX] = '\0';
  }
  c.not_after = UINT64_MAX; /* the longest decimal, and past year 9999 */
  assert_int_equal(cert_sign(&c, &f->group), 0);
  int n = cert_encode_bin(&c, bin, sizeof(bin));
  assert_int_equal(n, 1 + 1 + 63 + 32 + 32 + 4 + 1 + 8 + 8 + 1 + 8 * 32 + 64);
  int t = cert_encode_text(&c, text, sizeof(text));
  assert_true(t > 0 && t < CERT_TEXT_MAX);
  assert_non_null(strstr(text, "not-after: after-9999 (18446744073709551615)\n"));
  assert_int_equal(cert_parse_text(&d, text, (size_t)t, err, sizeof(err)), 0);
  assert_cert_equal(&c, &d);
  assert_int_equal(cert_verify(&d, f->group.pk, NULL, T0), 0);
}

static void test_text_roundtrip(void **state) {
  struct fixture *f = *state;
  char text[CERT_TEXT_MAX], err[128];
  struct cert d;
  int n = cert_encode_text(&f->c, text, sizeof(text));
  assert_true(n > 0);
  assert_int_equal((size_t)n, strlen(text));
  assert_non_null(strstr(text, "-----BEGIN RINGLAN CERTIFICATE-----\nversion: 1\n"));
  assert_non_null(strstr(text, "\ngroup: mylan\n"));
  assert_non_null(strstr(text, "\nvip: 100.64.0.2/10\n"));
  assert_non_null(strstr(text, "\nnot-before: 2026-11-22T00:00:00Z (1795305600)\n"));
  assert_non_null(strstr(text, "\nnot-after: 2027-11-22T00:00:00Z (1826841600)\n"));
  assert_non_null(strstr(text, "\nsubring: dev\nsubring: ops\n"));
  assert_non_null(strstr(text, "\n-----END RINGLAN CERTIFICATE-----\n"));
  assert_int_equal(cert_parse_text(&d, text, (size_t)n, err, sizeof(err)), 0);
  assert_cert_equal(&d, &f->c);
  assert_int_equal(cert_verify(&d, f->group.pk, "mylan", T0), 0);
  assert_int_equal(cert_encode_text(&f->c, text, (size_t)n), RL_ETOOBIG);

  /* No subrings at all. */
  struct cert c = f->c;
  c.n_subrings = 0;
  assert_int_equal(cert_sign(&c, &f->group), 0);
  n = cert_encode_text(&c, text, sizeof(text));
  assert_null(strstr(text, "subring"));
  assert_int_equal(cert_parse_text(&d, text, (size_t)n, err, sizeof(err)), 0);
  assert_cert_equal(&d, &c);
}

/* Changing any signed field after signing breaks the signature. */
static void test_tamper_each_field(void **state) {
  struct fixture *f = *state;
  for (int field = 0; field < 12; field++) {
    struct cert c = f->c;
    switch (field) {
    case 0: c.group[0] = 'M'; break;
    case 1: c.group_pk[7] ^= 1; break;
    case 2: c.node_pk[0] ^= 0x80; break;
    case 3: c.vip = VIP(100, 64, 0, 3); break;
    case 4: c.prefix = 11; break;
    case 5: c.not_before -= 1; break;
    case 6: c.not_after += 1; break;
    case 7: strcpy(c.subrings[1], "ops2"); break;
    case 8: c.n_subrings = 1; break;
    case 9: c.n_subrings = 3; strcpy(c.subrings[2], "x"); break;
    case 10: c.sig[63] ^= 0x01; break;
    case 11: strcpy(c.subrings[0], "ops"); strcpy(c.subrings[1], "dev"); break;
    }
    /* No expected group here, so the signature check is what fails. */
    int rc = cert_verify(&c, NULL, NULL, T0);
    if (rc != RL_EAUTH) {
      print_error("field %d: got %d\n", field, rc);
      fail();
    }
  }
}

/* Every bit of the binary form matters: flipping any one is either
 * rejected by the decoder or by cert_verify, never accepted. */
static void test_tamper_every_bit(void **state) {
  struct fixture *f = *state;
  uint8_t bin[CERT_BIN_MAX];
  int n = cert_encode_bin(&f->c, bin, sizeof(bin));
  assert_true(n > 0);
  for (int i = 0; i < n; i++)
    for (int b = 0; b < 8; b++) {
      struct cert d;
      bin[i] ^= (uint8_t)(1 << b);
      int rc = cert_decode_bin(&d, bin, (size_t)n);
      if (rc == 0)
        rc = cert_verify(&d, NULL, NULL, T0);
      assert_int_not_equal(rc, 0);
      bin[i] ^= (uint8_t)(1 << b);
    }
}

static void test_foreign(void **state) {
  struct fixture *f = *state;
  /* Our certificate checked against another group's key or name. */
  assert_int_equal(cert_verify(&f->c, f->other_group.pk, NULL, T0), RL_EFOREIGN);
  assert_int_equal(cert_verify(&f->c, f->group.pk, "otherlan", T0), RL_EFOREIGN);
  assert_int_equal(cert_verify(&f->c, f->group.pk, "myla", T0), RL_EFOREIGN);
  /* A certificate a foreign group signed for the same name. */
  struct cert c;
  make_cert(&c, &f->node);
  assert_int_equal(cert_sign(&c, &f->other_group), 0);
  assert_int_equal(cert_verify(&c, NULL, "mylan", T0), 0); /* self-consistent... */
  assert_int_equal(cert_verify(&c, f->group.pk, "mylan", T0), RL_EFOREIGN); /* ...not ours */
  /* A forger copying our group key into their certificate: bad signature. */
  memcpy(c.group_pk, f->group.pk, RL_PK_LEN);
  assert_int_equal(cert_verify(&c, f->group.pk, "mylan", T0), RL_EAUTH);
  /* Foreign wins over expired: it says more. */
  assert_int_equal(cert_verify(&f->c, f->other_group.pk, NULL, 0), RL_EFOREIGN);
}

static void test_expiry_edges(void **state) {
  struct fixture *f = *state;
  const struct {
    uint64_t t;
    int rc;
  } cases[] = {
      {0, RL_EEXPIRED},
      {T0 - 1, RL_EEXPIRED},
      {T0, 0},
      {T0 + 1, 0},
      {T0 + 365 * DAY_S - 1, 0},
      {T0 + 365 * DAY_S, 0},
      {T0 + 365 * DAY_S + 1, RL_EEXPIRED},
      {UINT64_MAX, RL_EEXPIRED},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(cert_verify(&f->c, f->group.pk, "mylan", cases[i].t), cases[i].rc);
  /* A bad signature is reported before the time. */
  struct cert c = f->c;
  c.sig[0] ^= 1;
  assert_int_equal(cert_verify(&c, f->group.pk, "mylan", 0), RL_EAUTH);
  /* A zero-length validity window is valid for exactly one second. */
  c = f->c;
  c.not_after = c.not_before;
  assert_int_equal(cert_sign(&c, &f->group), 0);
  assert_int_equal(cert_verify(&c, NULL, NULL, T0), 0);
  assert_int_equal(cert_verify(&c, NULL, NULL, T0 + 1), RL_EEXPIRED);
}

static void test_malformed_fields(void **state) {
  struct fixture *f = *state;
  for (int field = 0; field < 16; field++) {
    struct cert c = f->c;
    switch (field) {
    case 0: c.prefix = 0; break;
    case 1: c.prefix = 33; break;
    case 2: c.group[0] = '\0'; break;
    case 3: strcpy(c.group, "my lan"); break;
    case 4: strcpy(c.group, "my/lan"); break;
    case 5: c.not_after = c.not_before - 1; break;
    case 6: c.vip = VIP(100, 64, 0, 0); break;       /* network of /10 */
    case 7: c.vip = VIP(100, 127, 255, 255); break;  /* broadcast of /10 */
    case 8: c.vip = VIP(10, 0, 0, 0); c.prefix = 8; break;
    case 9: c.subrings[0][0] = '\0'; break;
    case 10: strcpy(c.subrings[1], "o:s"); break;
    case 11: c.version = 2; break;
    case 12: c.version = 0; break;
    case 13: c.n_subrings = CERT_MAX_SUBRINGS + 1; break;
    case 14: memset(c.group, 'a', sizeof(c.group)); break; /* no NUL at all */
    case 15: memset(c.subrings[0], 'a', sizeof(c.subrings[0])); break;
    }
    int rc = cert_verify(&c, f->group.pk, NULL, T0);
    if (rc != RL_EINVAL) {
      print_error("field %d: verify %d\n", field, rc);
      fail();
    }
    assert_int_equal(cert_sign(&c, &f->group), RL_EINVAL);
  }
  /* /31 and /32 have no network or broadcast address. */
  struct cert c = f->c;
  c.vip = VIP(100, 64, 0, 0);
  c.prefix = 31;
  assert_int_equal(cert_sign(&c, &f->group), 0);
  assert_int_equal(cert_verify(&c, NULL, NULL, T0), 0);
  c.prefix = 32;
  assert_int_equal(cert_sign(&c, &f->group), 0);
  assert_int_equal(cert_verify(&c, NULL, NULL, T0), 0);
}

static void test_binary_truncated_every_length(void **state) {
  struct fixture *f = *state;
  uint8_t bin[CERT_BIN_MAX + 1];
  struct cert d;
  int n = cert_encode_bin(&f->c, bin, sizeof(bin));
  assert_true(n > 0);
  for (int len = 0; len < n; len++) {
    /* An exact-size heap copy, so ASan catches any over-read. */
    uint8_t *cut = malloc(len ? (size_t)len : 1);
    assert_non_null(cut);
    memcpy(cut, bin, (size_t)len);
    assert_int_equal(cert_decode_bin(&d, cut, (size_t)len), RL_ETRUNC);
    assert_int_equal(d.version, 0); /* zeroed on error */
    free(cut);
  }
  /* One trailing byte too many. */
  bin[n] = 0;
  assert_int_equal(cert_decode_bin(&d, bin, (size_t)n + 1), RL_ETRUNC);
  assert_int_equal(cert_decode_bin(&d, NULL, 0), RL_ETRUNC);
}

static void test_binary_malformed(void **state) {
  struct fixture *f = *state;
  uint8_t bin[CERT_BIN_MAX], b2[CERT_BIN_MAX];
  struct cert d;
  int n = cert_encode_bin(&f->c, bin, sizeof(bin));
  /* Offsets in this certificate: group length at 1, n_subrings at 2+5+32+32+4+1+16. */
  const size_t nsub_off = 2 + 5 + 32 + 32 + 4 + 1 + 8 + 8;
  assert_int_equal(bin[nsub_off], 2);

  memcpy(b2, bin, (size_t)n);
  b2[0] = 2; /* a future version */
  assert_int_equal(cert_decode_bin(&d, b2, (size_t)n), RL_EUNSUP);
  memcpy(b2, bin, (size_t)n);
  b2[1] = 64; /* group name longer than the maximum */
  assert_int_equal(cert_decode_bin(&d, b2, (size_t)n), RL_ETRUNC);
  memcpy(b2, bin, (size_t)n);
  b2[3] = 0; /* NUL inside the group name */
  assert_int_equal(cert_decode_bin(&d, b2, (size_t)n), RL_ETRUNC);
  memcpy(b2, bin, (size_t)n);
  b2[nsub_off] = CERT_MAX_SUBRINGS + 1;
  assert_int_equal(cert_decode_bin(&d, b2, (size_t)n), RL_ETRUNC);
  memcpy(b2, bin, (size_t)n);
  b2[nsub_off + 1] = CERT_SUBRING_MAX + 1;
  assert_int_equal(cert_decode_bin(&d, b2, (size_t)n), RL_ETRUNC);
  memcpy(b2, bin, (size_t)n);
  b2[nsub_off + 2] = 0; /* NUL inside a subring name */
  assert_int_equal(cert_decode_bin(&d, b2, (size_t)n), RL_ETRUNC);

  /* Empty group name decodes (structure is fine) but does not verify. */
  uint8_t b3[CERT_BIN_MAX];
  b3[0] = 1;
  b3[1] = 0;
  memcpy(b3 + 2, bin + 7, (size_t)n - 7);
  assert_int_equal(cert_decode_bin(&d, b3, (size_t)n - 5), 0);
  assert_int_equal(cert_verify(&d, NULL, NULL, T0), RL_EINVAL);
}

/* Text form: one line broken at a time. */
struct text_case {
  const char *what;
  const char *find, *replace; /* replace the first occurrence of find */
  const char *reason;
};

static const struct text_case text_cases[] = {
    {"version 2", "version: 1", "version: 2", "line 2: unsupported certificate version"},
    {"no version", "version: 1\n", "", "missing field 'version'"},
    {"group bad chars", "group: mylan", "group: my lan", "line 3: bad group name"},
    {"group empty", "group: mylan", "group:", "line 3: bad group name"},
    {"group-key short", "group-key: ", "group-key: AAAA", "line 4: 'group-key' must be 32"},
    {"node-key bad", "node-key: ", "node-key: *", "line 5: 'node-key' must be 32"},
    {"overlay-id wrong", "overlay-id: ", "overlay-id: 00", "line 6: 'overlay-id' does not"},
    {"vip no prefix", "vip: 100.64.0.2/10", "vip: 100.64.0.2", "line 7: 'vip' must be"},
    {"vip prefix 0", "vip: 100.64.0.2/10", "vip: 100.64.0.2/0", "line 7: 'vip' must be"},
    {"vip prefix 33", "vip: 100.64.0.2/10", "vip: 100.64.0.2/33", "line 7: 'vip' must be"},
    {"vip octet 256", "vip: 100.64.0.2/10", "vip: 100.64.0.256/10", "'vip' must be"},
    {"vip leading zero", "vip: 100.64.0.2/10", "vip: 100.064.0.2/10", "'vip' must be"},
    {"vip three octets", "vip: 100.64.0.2/10", "vip: 100.64.2/10", "'vip' must be"},
    {"date mismatch", "2026-11-22T00:00:00Z (", "2026-11-23T00:00:00Z (",
     "line 8: 'not-before': date does not match 1795305600 (expected 2026-11-22T00:00:00Z)"},
    {"no unix", " (1795305600)", "", "line 8: 'not-before' must be"},
    {"unix overflow", "(1826841600)", "(18446744073709551616)", "line 9: 'not-after' must be"},
    {"unix leading zero", "(1826841600)", "(01826841600)", "'not-after' must be"},
    {"subring bad", "subring: dev", "subring: d v", "line 10: bad subring name"},
    {"subring long", "subring: dev", "subring: dddddddddddddddddddddddddddddddd",
     "line 10: bad subring name"},
    {"signature short", "signature: ", "signature: AAAA", "line 12: 'signature' must be 64"},
    {"no signature", "signature: ", "signatur: ", "line 12: unknown field 'signatur'"},
    {"duplicate vip", "vip: 100.64.0.2/10\n", "vip: 100.64.0.2/10\nvip: 100.64.0.3/10\n",
     "line 8: field 'vip' repeated (first on line 7)"},
    {"key instead", "CERTIFICATE-----\nversion", "NODE KEY-----\nversion", "end line"},
    {"no end", "-----END RINGLAN CERTIFICATE-----\n", "", "missing '-----END"},
};

static char *replace_once(const char *s, const char *find, const char *rep) {
  const char *p = strstr(s, find);
  char *out;
  if (!p)
    return NULL;
  out = malloc(strlen(s) - strlen(find) + strlen(rep) + 1);
  if (!out)
    return NULL;
  memcpy(out, s, (size_t)(p - s));
  strcpy(out + (p - s), rep);
  strcat(out, p + strlen(find));
  return out;
}

static void test_text_malformed_table(void **state) {
  struct fixture *f = *state;
  char text[CERT_TEXT_MAX];
  assert_true(cert_encode_text(&f->c, text, sizeof(text)) > 0);
  for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
    const struct text_case *tc = &text_cases[i];
    char *bad = replace_once(text, tc->find, tc->replace), err[160] = "";
    struct cert d;
    int rc;
    if (!bad) {
      print_error("case '%s': '%s' not in the text\n", tc->what, tc->find);
      fail();
    }
    rc = cert_parse_text(&d, bad, strlen(bad), err, sizeof(err));
    free(bad);
    if (rc != RL_EPARSE || !strstr(err, tc->reason)) {
      print_error("case '%s': rc %d err '%s' (want '%s')\n", tc->what, rc, err, tc->reason);
      fail();
    }
    assert_int_equal(d.version, 0);
  }
  /* Nine subrings. */
  struct cert c = f->c, d;
  char err[160];
  c.n_subrings = CERT_MAX_SUBRINGS;
  for (int i = 0; i < CERT_MAX_SUBRINGS; i++)
    snprintf(c.subrings[i], sizeof(c.subrings[i]), "s%d", i);
  assert_int_equal(cert_sign(&c, &f->group), 0);
  assert_true(cert_encode_text(&c, text, sizeof(text)) > 0);
  char *bad = replace_once(text, "subring: s0\n", "subring: s0\nsubring: s8\n");
  assert_non_null(bad);
  assert_int_equal(cert_parse_text(&d, bad, strlen(bad), err, sizeof(err)), RL_EPARSE);
  assert_non_null(strstr(err, "more than 8 subrings"));
  free(bad);
}

/* A text with a changed value parses, and the signature catches it. */
static void test_text_tamper_detected(void **state) {
  struct fixture *f = *state;
  char text[CERT_TEXT_MAX], err[160];
  struct cert d;
  assert_true(cert_encode_text(&f->c, text, sizeof(text)) > 0);
  const char *edits[][2] = {
      {"vip: 100.64.0.2/10", "vip: 100.64.0.9/10"},
      {"2027-11-22T00:00:00Z (1826841600)", "2028-11-21T00:00:00Z (1858377600)"},
      {"subring: ops\n", ""},
      {"group: mylan", "group: mylan2"},
  };
  for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
    char *bad = replace_once(text, edits[i][0], edits[i][1]);
    assert_non_null(bad);
    assert_int_equal(cert_parse_text(&d, bad, strlen(bad), err, sizeof(err)), 0);
    assert_int_equal(cert_verify(&d, NULL, NULL, T0), RL_EAUTH);
    free(bad);
  }
}

static void test_text_truncated_every_length(void **state) {
  struct fixture *f = *state;
  char text[CERT_TEXT_MAX], err[160];
  struct cert d;
  int n = cert_encode_text(&f->c, text, sizeof(text));
  for (int len = 0; len < n; len++) {
    char *cut = malloc((size_t)len + 1);
    assert_non_null(cut);
    memcpy(cut, text, (size_t)len);
    int rc = cert_parse_text(&d, cut, (size_t)len, err, sizeof(err));
    assert_int_equal(rc, len == n - 1 ? 0 : RL_EPARSE);
    free(cut);
  }
}

static void test_vip_parse_format(void **state) {
  (void)state;
  const struct {
    const char *s;
    uint8_t def;
    int rc;
    uint32_t vip;
    uint8_t prefix;
  } cases[] = {
      {"100.64.0.2/10", 0, 0, VIP(100, 64, 0, 2), 10},
      {"100.64.0.2", 10, 0, VIP(100, 64, 0, 2), 10},
      {"100.64.0.2", 0, RL_EPARSE, 0, 0},
      {"0.0.0.0/32", 0, 0, 0, 32},
      {"255.255.255.255/1", 0, 0, 0xFFFFFFFFu, 1},
      {"10.1.2.3/8", 24, 0, VIP(10, 1, 2, 3), 8},
      {"1.2.3.4/", 10, RL_EPARSE, 0, 0},
      {"1.2.3.4/010", 10, RL_EPARSE, 0, 0},
      {"1.2.3/8", 10, RL_EPARSE, 0, 0},
      {"1.2.3.4.5", 10, RL_EPARSE, 0, 0},
      {"01.2.3.4", 10, RL_EPARSE, 0, 0},
      {"1.2.3.4 ", 10, RL_EPARSE, 0, 0},
      {" 1.2.3.4", 10, RL_EPARSE, 0, 0},
      {"1.2.3.-4", 10, RL_EPARSE, 0, 0},
      {"1..3.4", 10, RL_EPARSE, 0, 0},
      {"1000.2.3.4", 10, RL_EPARSE, 0, 0},
      {"", 10, RL_EPARSE, 0, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint32_t vip = 0;
    uint8_t prefix = 0;
    int rc = cert_vip_parse(cases[i].s, strlen(cases[i].s), cases[i].def, &vip, &prefix);
    if (rc != cases[i].rc || (rc == 0 && (vip != cases[i].vip || prefix != cases[i].prefix))) {
      print_error("'%s': rc %d vip %08x/%u\n", cases[i].s, rc, vip, prefix);
      fail();
    }
  }
  char out[CERT_VIP_STRLEN];
  cert_vip_format(VIP(100, 64, 0, 2), 10, out);
  assert_string_equal(out, "100.64.0.2/10");
  cert_vip_format(0xFFFFFFFFu, 32, out);
  assert_string_equal(out, "255.255.255.255/32");

  assert_true(cert_vip_is_host(VIP(100, 64, 0, 1), 10));
  assert_true(cert_vip_is_host(VIP(100, 127, 255, 254), 10));
  assert_false(cert_vip_is_host(VIP(100, 64, 0, 0), 10));
  assert_false(cert_vip_is_host(VIP(100, 127, 255, 255), 10));
  assert_false(cert_vip_is_host(VIP(192, 0, 2, 0), 24));
  assert_true(cert_vip_is_host(VIP(192, 0, 2, 1), 30));
  assert_false(cert_vip_is_host(VIP(192, 0, 2, 3), 30));
  assert_true(cert_vip_is_host(VIP(192, 0, 2, 0), 31));
  assert_true(cert_vip_is_host(VIP(192, 0, 2, 1), 32));
  assert_false(cert_vip_is_host(VIP(192, 0, 2, 1), 0));
  assert_false(cert_vip_is_host(VIP(192, 0, 2, 1), 33));
}

static void test_time_format(void **state) {
  (void)state;
  /* Expected strings from Python's datetime.utcfromtimestamp. */
  const struct {
    uint64_t t;
    const char *s;
  } cases[] = {
      {0, "1970-01-01T00:00:00Z"},
      {951782400, "2000-02-29T00:00:00Z"},
      {1709251199, "2024-02-29T23:59:59Z"},
      {1795305600, "2026-11-22T00:00:00Z"},
      {4102444799ULL, "2099-12-31T23:59:59Z"},
      {253402300799ULL, "9999-12-31T23:59:59Z"},
      {253402300800ULL, "after-9999"},
      {UINT64_MAX, "after-9999"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char out[CERT_TIME_STRLEN];
    cert_time_format(cases[i].t, out);
    assert_string_equal(out, cases[i].s);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
      cmocka_unit_test_setup_teardown(test_binary_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_largest_cert_fits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_text_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tamper_each_field, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tamper_every_bit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_foreign, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expiry_edges, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(test_binary_truncated_every_length, setup, teardown),
      cmocka_unit_test_setup_teardown(test_binary_malformed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_text_malformed_table, setup, teardown),
      cmocka_unit_test_setup_teardown(test_text_tamper_detected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_text_truncated_every_length, setup, teardown),
      cmocka_unit_test(test_vip_parse_format),
      cmocka_unit_test(test_time_format),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
