/* Unit tests: dht/record.c (keys, signing, verification, encoding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/ringlan.h>
#include <string.h>

#include "dht/record.h"
#include "tests/dht_fixture.h"

struct fx {
  struct rl_env env;
  struct fix_rng rng;
  struct fix_log log;
  struct id_key group, other_group;
  struct fix_member a, b, stranger; /* stranger: member of other_group */
  uint64_t now_s;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  fix_env_init(&f->env, &f->rng, &f->log, 7);
  assert_int_equal(id_generate(&f->group, &f->env), 0);
  assert_int_equal(id_generate(&f->other_group, &f->env), 0);
  assert_int_equal(fix_member_make(&f->a, &f->env, &f->group, FIX_GROUP, FIX_VIP(1)), 0);
  assert_int_equal(fix_member_make(&f->b, &f->env, &f->group, FIX_GROUP, FIX_VIP(2)), 0);
  assert_int_equal(
      fix_member_make(&f->stranger, &f->env, &f->other_group, FIX_GROUP, FIX_VIP(3)), 0);
  f->now_s = FIX_UNIX0;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  id_wipe(&f->group);
  id_wipe(&f->other_group);
  free(f);
  return 0;
}

static void make_vip(struct fx *f, struct fix_member *m, struct dht_record *r) {
  assert_int_equal(dht_record_make(r, DHT_REC_VIP, &m->cert, &m->key, 5,
                                   f->now_s + 3600, m->id, RL_ID_LEN),
                   0);
}

static void make_node(struct fx *f, struct fix_member *m, struct dht_record *r) {
  static const uint8_t eps[] = {4, 192, 0, 2, 1, 0x30, 0x39};
  assert_int_equal(dht_record_make(r, DHT_REC_NODE, &m->cert, &m->key, 9,
                                   f->now_s + 3600, eps, sizeof(eps)),
                   0);
}

static int verify(struct fx *f, const struct dht_record *r) {
  return dht_record_verify(r, FIX_GROUP, f->group.pk, f->now_s, NULL);
}

/* The keys are BLAKE2b-256(len(group) || group || tag || x)[0..20). */
static void test_keys(void **state) {
  struct fx *f = *state;
  uint8_t k1[DHT_KEY_LEN], k2[DHT_KEY_LEN], want[32];
  uint8_t in[64];
  size_t n = 0;
  in[n++] = (uint8_t)strlen(FIX_GROUP);
  memcpy(in + n, FIX_GROUP, strlen(FIX_GROUP));
  n += strlen(FIX_GROUP);
  memcpy(in + n, "ip", 2);
  n += 2;
  in[n++] = 100, in[n++] = 64, in[n++] = 0, in[n++] = 1;
  crypto_generichash(want, sizeof(want), in, n, NULL, 0);
  dht_key_vip(FIX_GROUP, FIX_VIP(1), k1);
  assert_memory_equal(k1, want, DHT_KEY_LEN);

  dht_key_vip(FIX_GROUP, FIX_VIP(2), k2);
  assert_memory_not_equal(k1, k2, DHT_KEY_LEN);
  dht_key_vip("othernet", FIX_VIP(1), k2);
  assert_memory_not_equal(k1, k2, DHT_KEY_LEN);

  n = 0;
  in[n++] = (uint8_t)strlen(FIX_GROUP);
  memcpy(in + n, FIX_GROUP, strlen(FIX_GROUP));
  n += strlen(FIX_GROUP);
  memcpy(in + n, "node", 4);
  n += 4;
  memcpy(in + n, f->a.id, RL_ID_LEN);
  n += RL_ID_LEN;
  crypto_generichash(want, sizeof(want), in, n, NULL, 0);
  dht_key_node(FIX_GROUP, f->a.id, k1);
  assert_memory_equal(k1, want, DHT_KEY_LEN);
}

static void test_sign_verify_roundtrip(void **state) {
  struct fx *f = *state;
  struct dht_record r, back;
  struct cert c;
  uint8_t buf[DHT_REC_MAX], key[DHT_KEY_LEN], id[RL_ID_LEN];
  int n;

  make_vip(f, &f->a, &r);
  dht_key_vip(FIX_GROUP, FIX_VIP(1), key);
  assert_memory_equal(r.key, key, DHT_KEY_LEN);
  assert_int_equal(dht_record_verify(&r, FIX_GROUP, f->group.pk, f->now_s, &c), 0);
  assert_memory_equal(c.node_pk, f->a.key.pk, RL_PK_LEN);
  assert_int_equal(dht_record_verify_untimed(&r, FIX_GROUP, f->group.pk), 0);

  n = dht_record_encode(&r, buf, sizeof(buf));
  assert_true(n > DHT_REC_FIXED && n <= DHT_REC_MAX);
  assert_int_equal(n, DHT_REC_FIXED + r.cert_len + r.value_len);
  assert_int_equal(dht_record_decode(&back, buf, (size_t)n), 0);
  assert_true(dht_record_same(&r, &back));
  assert_int_equal(verify(f, &back), 0);
  assert_int_equal(dht_record_owner_id(&back, id), 0);
  assert_memory_equal(id, f->a.id, RL_ID_LEN);

  make_node(f, &f->b, &r);
  dht_key_node(FIX_GROUP, f->b.id, key);
  assert_memory_equal(r.key, key, DHT_KEY_LEN);
  assert_int_equal(verify(f, &r), 0);

  /* Too small an output buffer: no partial success. */
  assert_int_equal(dht_record_encode(&r, buf, 10), RL_ETOOBIG);
  assert_int_equal(dht_record_encode(&r, buf, DHT_REC_FIXED + r.cert_len + r.value_len - 1),
                   RL_ETOOBIG);
}

static void test_make_refuses_inconsistent(void **state) {
  struct fx *f = *state;
  struct dht_record r;
  uint8_t big[DHT_VALUE_MAX + 1] = {0};
  /* VIP value must be the owner's ID. */
  assert_int_equal(dht_record_make(&r, DHT_REC_VIP, &f->a.cert, &f->a.key, 1,
                                   f->now_s + 60, f->b.id, RL_ID_LEN),
                   RL_EINVAL);
  /* Key not the certified one. */
  assert_int_equal(dht_record_make(&r, DHT_REC_VIP, &f->a.cert, &f->b.key, 1,
                                   f->now_s + 60, f->a.id, RL_ID_LEN),
                   RL_EINVAL);
  assert_int_equal(dht_record_make(&r, DHT_REC_NODE, &f->a.cert, &f->a.key, 1,
                                   f->now_s + 60, big, sizeof(big)),
                   RL_ETOOBIG);
  assert_int_equal(dht_record_make(&r, 77, &f->a.cert, &f->a.key, 1, f->now_s + 60,
                                   big, 4),
                   RL_EINVAL);
}

/* Flipping any single bit of the encoded record must make it either
 * unparsable or unverifiable: every field is covered by the signature or
 * checked against the certificate. */
static void test_tamper_every_byte(void **state) {
  struct fx *f = *state;
  struct dht_record r, t;
  uint8_t buf[DHT_REC_MAX];
  int n;
  for (int kind = 0; kind < 2; kind++) {
    if (kind == 0)
      make_vip(f, &f->a, &r);
    else
      make_node(f, &f->b, &r);
    n = dht_record_encode(&r, buf, sizeof(buf));
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
      for (int bit = 0; bit < 8; bit += 7) {
        buf[i] ^= (uint8_t)(1u << bit);
        if (dht_record_decode(&t, buf, (size_t)n) == 0) {
          int rc = verify(f, &t);
          if (rc == 0)
            fail_msg("tampered byte %d bit %d of a %s record verified", i, bit,
                     kind ? "NODE" : "VIP");
        }
        buf[i] ^= (uint8_t)(1u << bit);
      }
    }
    assert_int_equal(dht_record_decode(&t, buf, (size_t)n), 0);
    assert_int_equal(verify(f, &t), 0);
  }
}

/* Field-level tampering, with the expected error for each. */
static void test_tamper_fields(void **state) {
  struct fx *f = *state;
  struct dht_record r, t;
  make_node(f, &f->a, &r);
  static const int fields = 6;
  for (int i = 0; i < fields; i++) {
    t = r;
    switch (i) {
    case 0: t.seq++; break;
    case 1: t.expiry_s--; break;
    case 2: t.value[0] ^= 1; break;
    case 3: t.key[3] ^= 1; break;
    case 4: t.type = DHT_REC_VIP; break;
    case 5: t.sig[10] ^= 1; break;
    }
    assert_int_equal(verify(f, &t), RL_EAUTH);
  }
  /* The certificate bytes are checked by the group signature first. */
  t = r;
  t.cert[t.cert_len - 1] ^= 1;
  assert_int_not_equal(verify(f, &t), 0);
  /* Another member's certificate cannot be swapped in. */
  t = r;
  t.cert_len = (uint16_t)cert_encode_bin(&f->b.cert, t.cert, sizeof(t.cert));
  assert_int_equal(verify(f, &t), RL_EAUTH);
}

static void test_foreign_group(void **state) {
  struct fx *f = *state;
  struct dht_record r;
  make_vip(f, &f->stranger, &r);
  assert_int_equal(verify(f, &r), RL_EFOREIGN);
  /* Valid in its own group. */
  assert_int_equal(dht_record_verify(&r, FIX_GROUP, f->other_group.pk, f->now_s, NULL), 0);
  make_vip(f, &f->a, &r);
  assert_int_equal(dht_record_verify(&r, "othernet", f->group.pk, f->now_s, NULL),
                   RL_EFOREIGN);
  assert_int_equal(dht_record_verify_untimed(&r, FIX_GROUP, f->other_group.pk),
                   RL_EFOREIGN);
}

static void test_expiry(void **state) {
  struct fx *f = *state;
  struct dht_record r;
  make_vip(f, &f->a, &r); /* expires at now_s + 3600 */
  assert_int_equal(dht_record_verify(&r, FIX_GROUP, f->group.pk, f->now_s + 3599, NULL), 0);
  assert_int_equal(dht_record_verify(&r, FIX_GROUP, f->group.pk, f->now_s + 3600, NULL),
                   RL_EEXPIRED);
  assert_int_equal(dht_record_verify(&r, FIX_GROUP, f->group.pk, f->now_s + 7200, NULL),
                   RL_EEXPIRED);
  /* The untimed check does not judge expiry (the DHT does). */
  assert_int_equal(dht_record_verify_untimed(&r, FIX_GROUP, f->group.pk), 0);
  /* Too far in the future. */
  assert_int_equal(dht_record_make(&r, DHT_REC_VIP, &f->a.cert, &f->a.key, 1,
                                   f->now_s + DHT_REC_MAX_TTL_S + 1, f->a.id, RL_ID_LEN),
                   0);
  assert_int_equal(verify(f, &r), RL_ERANGE);
  /* The certificate itself expired. */
  make_vip(f, &f->a, &r);
  assert_int_equal(dht_record_verify(&r, FIX_GROUP, f->group.pk,
                                     f->a.cert.not_after + 1, NULL),
                   RL_EEXPIRED);
}

/* A member signs, with its own valid key, a record claiming another
 * member's VIP / node key: authentic but refused. */
static void test_claims_must_match_cert(void **state) {
  struct fx *f = *state;
  struct dht_record r;
  make_vip(f, &f->a, &r);
  dht_key_vip(FIX_GROUP, FIX_VIP(2), r.key); /* b's address */
  assert_int_equal(dht_record_sign(&r, &f->a.key), 0);
  assert_int_equal(verify(f, &r), RL_EREFUSED);

  make_vip(f, &f->a, &r);
  memcpy(r.value, f->b.id, RL_ID_LEN); /* points a's VIP at b */
  assert_int_equal(dht_record_sign(&r, &f->a.key), 0);
  assert_int_equal(verify(f, &r), RL_EREFUSED);

  make_node(f, &f->a, &r);
  dht_key_node(FIX_GROUP, f->b.id, r.key); /* b's endpoints */
  assert_int_equal(dht_record_sign(&r, &f->a.key), 0);
  assert_int_equal(verify(f, &r), RL_EREFUSED);

  make_node(f, &f->a, &r);
  r.type = DHT_REC_SUBRING;
  assert_int_equal(dht_record_sign(&r, &f->a.key), 0);
  assert_int_equal(verify(f, &r), RL_EUNSUP);
  r.type = 0;
  assert_int_equal(dht_record_sign(&r, &f->a.key), 0);
  assert_int_equal(verify(f, &r), RL_EUNSUP);
}

/* Sequence numbers near UINT64_MAX: the next version never wraps to a
 * small number (which every storer would refuse as stale), and a verifier
 * refuses a seq beyond what a clock at most DHT_REC_MAX_TTL_S ahead makes,
 * so nobody can pin a key with seq UINT64_MAX. */
static void test_seq_bounds(void **state) {
  struct fx *f = *state;
  const uint64_t now = f->now_s, floor = now << DHT_SEQ_SHIFT;
  const uint64_t max = dht_record_seq_max(now);
  struct dht_record r;
  uint64_t next = 42;
  /* the clock floor, then +1 within the same second */
  assert_int_equal(dht_record_seq_next(0, now, &next), 0);
  assert_true(next == floor);
  assert_int_equal(dht_record_seq_next(floor, now, &next), 0);
  assert_true(next == floor + 1);
  /* the bound: one day of clock ahead, every version of its last second */
  assert_true(max == ((now + DHT_REC_MAX_TTL_S + 1) << DHT_SEQ_SHIFT) - 1);
  assert_int_equal(dht_record_seq_next(max - 1, now, &next), 0);
  assert_true(next == max);
  /* past the bound or at the end of the range: refused, next untouched */
  next = 42;
  assert_int_equal(dht_record_seq_next(max, now, &next), RL_ERANGE);
  assert_int_equal(dht_record_seq_next(UINT64_MAX - 1, now, &next), RL_ERANGE);
  assert_int_equal(dht_record_seq_next(UINT64_MAX, now, &next), RL_ERANGE);
  assert_true(next == 42);
  /* absurd clocks: no shift overflow, saturation, never a wrap */
  assert_int_equal(dht_record_seq_next(0, UINT64_MAX, &next), RL_ERANGE);
  assert_int_equal(dht_record_seq_next(0, (UINT64_MAX >> DHT_SEQ_SHIFT) + 1, &next),
                   RL_ERANGE);
  assert_true(dht_record_seq_max(UINT64_MAX) == UINT64_MAX);
  assert_true(dht_record_seq_max((UINT64_MAX >> DHT_SEQ_SHIFT) - DHT_REC_MAX_TTL_S) ==
              UINT64_MAX);
  assert_int_equal(dht_record_seq_next(UINT64_MAX - 1, UINT64_MAX >> DHT_SEQ_SHIFT, &next), 0);
  assert_true(next == UINT64_MAX);
  assert_int_equal(dht_record_seq_next(UINT64_MAX, UINT64_MAX >> DHT_SEQ_SHIFT, &next),
                   RL_ERANGE);
  assert_true(next == UINT64_MAX);
  /* verification: seq up to the bound is fine, beyond it RL_ERANGE */
  static const uint64_t SEQS[] = {0, 1, 0, 0, UINT64_MAX / 2, UINT64_MAX - 1, UINT64_MAX};
  for (size_t i = 0; i < sizeof(SEQS) / sizeof(SEQS[0]); i++) {
    uint64_t seq = i == 2 ? floor : i == 3 ? max : SEQS[i];
    assert_int_equal(dht_record_make(&r, DHT_REC_NODE, &f->a.cert, &f->a.key, seq, now + 60,
                                     NULL, 0),
                     0);
    assert_int_equal(verify(f, &r), seq <= max ? 0 : RL_ERANGE);
  }
  /* max + 1 at now is fine for a verifier whose clock is a second later */
  assert_int_equal(dht_record_make(&r, DHT_REC_NODE, &f->a.cert, &f->a.key, max + 1, now + 60,
                                   NULL, 0),
                   0);
  assert_int_equal(verify(f, &r), RL_ERANGE);
  assert_int_equal(dht_record_verify(&r, FIX_GROUP, f->group.pk, now + 1, NULL), 0);
  /* the untimed check (a store reading its own data) has no clock to judge by */
  assert_int_equal(dht_record_make(&r, DHT_REC_NODE, &f->a.cert, &f->a.key, UINT64_MAX,
                                   now + 60, NULL, 0),
                   0);
  assert_int_equal(dht_record_verify_untimed(&r, FIX_GROUP, f->group.pk), 0);
}

static void test_truncated_every_length(void **state) {
  struct fx *f = *state;
  struct dht_record r, t;
  uint8_t buf[DHT_REC_MAX + 1];
  int n;
  make_node(f, &f->a, &r);
  n = dht_record_encode(&r, buf, sizeof(buf));
  assert_true(n > 0);
  for (int len = 0; len < n; len++)
    assert_int_equal(dht_record_decode(&t, buf, (size_t)len), RL_ETRUNC);
  buf[n] = 0;
  assert_int_equal(dht_record_decode(&t, buf, (size_t)n + 1), RL_ETRUNC);
  assert_int_equal(dht_record_decode(&t, buf, (size_t)n), 0);
  /* Wrong version. */
  buf[0] = 2;
  assert_int_equal(dht_record_decode(&t, buf, (size_t)n), RL_ETRUNC);
  buf[0] = DHT_REC_VERSION;
  /* Length fields past the bounds. */
  buf[38] = 0xff;
  assert_int_equal(dht_record_decode(&t, buf, (size_t)n), RL_ETRUNC);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sign_verify_roundtrip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_make_refuses_inconsistent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tamper_every_byte, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tamper_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(test_foreign_group, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_claims_must_match_cert, setup, teardown),
      cmocka_unit_test_setup_teardown(test_truncated_every_length, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seq_bounds, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
