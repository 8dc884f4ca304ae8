/* Unit tests: dht/msg.c (DHT protocol message encoding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/ringlan.h>
#include <string.h>

#include "dht/msg.h"

static const uint8_t REC[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                              17, 18, 19, 20, 21, 22, 23, 24, 25};

/* One example of every message type. */
static unsigned examples(struct dht_msg *m) {
  unsigned n = 0;
  memset(m, 0, 6 * sizeof(*m));
  m[n++] = (struct dht_msg){.type = DHT_MSG_STORE, .txid = 0x01020304, .rec = REC,
                            .rec_len = sizeof(REC)};
  m[n++] = (struct dht_msg){.type = DHT_MSG_REPLICATE, .txid = 7, .rec = REC, .rec_len = 1};
  m[n] = (struct dht_msg){.type = DHT_MSG_GET, .txid = 0xffffffff};
  memset(m[n++].key, 0xab, DHT_KEY_LEN);
  m[n] = (struct dht_msg){.type = DHT_MSG_STORE_ACK, .txid = 9, .status = DHT_ST_STALE,
                          .seq = 0x1122334455667788ULL, .n_replicas = 3};
  for (unsigned i = 0; i < 3; i++)
    memset(m[n].replicas[i], (int)i + 1, RL_ID_LEN);
  memset(m[n++].key, 0x42, DHT_KEY_LEN);
  m[n] = (struct dht_msg){.type = DHT_MSG_GET_REPLY, .txid = 10, .status = DHT_ST_OK,
                          .n_replicas = DHT_MAX_REPLICAS, .rec = REC,
                          .rec_len = sizeof(REC)};
  for (unsigned i = 0; i < DHT_MAX_REPLICAS; i++)
    memset(m[n].replicas[i], 0x80 + (int)i, RL_ID_LEN);
  n++;
  m[n++] = (struct dht_msg){.type = DHT_MSG_GET_REPLY, .txid = 11,
                            .status = DHT_ST_NOT_FOUND};
  return n;
}

static void same(const struct dht_msg *a, const struct dht_msg *b) {
  assert_int_equal(a->type, b->type);
  assert_int_equal(a->txid, b->txid);
  assert_memory_equal(a->key, b->key, DHT_KEY_LEN);
  assert_int_equal(a->status, b->status);
  assert_true(a->seq == b->seq);
  assert_int_equal(a->n_replicas, b->n_replicas);
  assert_memory_equal(a->replicas, b->replicas, (size_t)a->n_replicas * RL_ID_LEN);
  assert_int_equal(a->rec_len, b->rec_len);
  if (a->rec_len)
    assert_memory_equal(a->rec, b->rec, a->rec_len);
}

static void test_roundtrip_and_truncation(void **state) {
  (void)state;
  struct dht_msg ex[6], back;
  uint8_t buf[DHT_MSG_MAX + 1];
  unsigned n = examples(ex);
  for (unsigned i = 0; i < n; i++) {
    int len = dht_msg_encode(&ex[i], buf, sizeof(buf));
    assert_true(len >= DHT_MSG_HDR && len <= DHT_MSG_MAX);
    assert_int_equal(buf[0], DHT_MSG_VERSION);
    assert_int_equal(buf[1], ex[i].type);
    assert_int_equal(dht_msg_decode(&back, buf, (size_t)len), 0);
    same(&ex[i], &back);
    for (int cut = 0; cut < len; cut++)
      assert_int_equal(dht_msg_decode(&back, buf, (size_t)cut), RL_ETRUNC);
    buf[len] = 0;
    assert_int_equal(dht_msg_decode(&back, buf, (size_t)len + 1), RL_ETRUNC);
    /* Encoding into every smaller buffer fails cleanly. */
    for (int cap = 0; cap < len; cap++)
      assert_int_equal(dht_msg_encode(&ex[i], buf, (size_t)cap), RL_ETOOBIG);
  }
}

/* Byte layout of a STORE_ACK, spelled out (docs/dht.md). */
static void test_store_ack_layout(void **state) {
  (void)state;
  struct dht_msg ex[6];
  uint8_t buf[DHT_MSG_MAX];
  examples(ex);
  int len = dht_msg_encode(&ex[3], buf, sizeof(buf));
  assert_int_equal(len, 6 + 20 + 1 + 8 + 1 + 3 * 20);
  static const uint8_t head[] = {1, 2, 0, 0, 0, 9};
  assert_memory_equal(buf, head, sizeof(head));
  assert_int_equal(buf[6], 0x42);
  assert_int_equal(buf[26], DHT_ST_STALE);
  static const uint8_t seq[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  assert_memory_equal(buf + 27, seq, 8);
  assert_int_equal(buf[35], 3);
  assert_int_equal(buf[36], 1);
  assert_int_equal(buf[len - 1], 3);
}

static void test_bad_input(void **state) {
  (void)state;
  struct dht_msg m, ex[6];
  uint8_t buf[DHT_MSG_MAX];
  examples(ex);
  int len = dht_msg_encode(&ex[4], buf, sizeof(buf)); /* GET_REPLY */
  buf[0] = 2; /* version */
  assert_int_equal(dht_msg_decode(&m, buf, (size_t)len), RL_ETRUNC);
  buf[0] = 1;
  buf[1] = 99; /* type */
  assert_int_equal(dht_msg_decode(&m, buf, (size_t)len), RL_EUNSUP);
  buf[1] = 0;
  assert_int_equal(dht_msg_decode(&m, buf, (size_t)len), RL_EUNSUP);
  buf[1] = DHT_MSG_GET_REPLY;
  buf[6 + 20 + 1] = DHT_MAX_REPLICAS + 1; /* n_replicas */
  assert_int_equal(dht_msg_decode(&m, buf, (size_t)len), RL_ETRUNC);
  assert_int_equal(m.n_replicas, 0);

  /* STORE with an empty record, or a record length past DHT_REC_MAX. */
  static const uint8_t empty_store[] = {1, 1, 0, 0, 0, 1, 0, 0};
  assert_int_equal(dht_msg_decode(&m, empty_store, sizeof(empty_store)), RL_ETRUNC);
  static const uint8_t huge_store[] = {1, 1, 0, 0, 0, 1, 0xff, 0xff, 0};
  assert_int_equal(dht_msg_decode(&m, huge_store, sizeof(huge_store)), RL_ETRUNC);

  /* Encoder refuses what the decoder would refuse. */
  m = ex[0];
  m.rec_len = 0;
  assert_int_equal(dht_msg_encode(&m, buf, sizeof(buf)), RL_EINVAL);
  m = ex[0];
  m.rec_len = DHT_REC_MAX + 1;
  assert_int_equal(dht_msg_encode(&m, buf, sizeof(buf)), RL_EINVAL);
  m = ex[3];
  m.n_replicas = DHT_MAX_REPLICAS + 1;
  assert_int_equal(dht_msg_encode(&m, buf, sizeof(buf)), RL_EINVAL);
  m.n_replicas = 0;
  m.type = 42;
  assert_int_equal(dht_msg_encode(&m, buf, sizeof(buf)), RL_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_and_truncation),
      cmocka_unit_test(test_store_ack_layout),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
