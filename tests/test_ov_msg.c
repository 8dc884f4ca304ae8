/* Unit tests: overlay/ov_msg.c, overlay message encoding and decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/ov_msg.h"

static void mknode(struct ov_node *n, uint8_t b, unsigned n_ep) {
  memset(n, 0, sizeof(*n));
  memset(n->id, b, RL_ID_LEN);
  n->n_ep = (uint8_t)n_ep;
  for (unsigned i = 0; i < n_ep; i++) {
    if (i % 2) {
      n->ep[i].family = RL_AF_INET6;
      n->ep[i].ip[0] = 0x20;
      n->ep[i].ip[1] = 0x01;
      n->ep[i].ip[15] = b;
    } else {
      rl_addr_set_ipv4(&n->ep[i], 0xcb007100u + b, 0); /* 203.0.113.x */
    }
    n->ep[i].port = (uint16_t)(4000 + i);
  }
}

static void assert_node_equal(const struct ov_node *a, const struct ov_node *b) {
  assert_memory_equal(a->id, b->id, RL_ID_LEN);
  assert_int_equal(a->n_ep, b->n_ep);
  for (unsigned i = 0; i < a->n_ep; i++)
    assert_true(rl_addr_equal(&a->ep[i], &b->ep[i]));
}

/* Encodes, decodes, re-encodes: same bytes, same fields. */
static void roundtrip(const struct ov_msg *m, struct ov_msg *out, size_t expect_len) {
  uint8_t a[OV_MSG_MAX], b[OV_MSG_MAX];
  int n = ov_msg_encode(m, a, sizeof(a));
  assert_int_equal(n, (int)expect_len);
  assert_int_equal(ov_msg_decode(out, a, (size_t)n), 0);
  assert_int_equal(out->type, m->type);
  int n2 = ov_msg_encode(out, b, sizeof(b));
  assert_int_equal(n2, n);
  assert_memory_equal(a, b, (size_t)n);
  /* every strict prefix is rejected */
  struct ov_msg *tmp = malloc(sizeof(*tmp));
  for (int cut = 0; cut < n; cut++)
    assert_true(ov_msg_decode(tmp, a, (size_t)cut) < 0);
  free(tmp);
}

static void test_find_and_reply(void **state) {
  (void)state;
  struct ov_msg *m = calloc(1, sizeof(*m)), *o = malloc(sizeof(*o));
  m->type = OV_MSG_FIND;
  m->flags = OV_F_JOIN;
  m->ttl = 64;
  m->hops = 3;
  m->nonce = 0xdeadbeef;
  memset(m->target, 0x11, RL_ID_LEN);
  memset(m->via, 0x22, RL_ID_LEN);
  mknode(&m->node, 0x11, 2);
  /* type flags ttl hops nonce(4) target(20) via(20) node(20+1+7+19) */
  roundtrip(m, o, 4 + 4 + 40 + 21 + 7 + 19);
  assert_int_equal(o->nonce, 0xdeadbeef);
  assert_int_equal(o->flags, OV_F_JOIN);
  assert_int_equal(o->hops, 3);
  assert_node_equal(&o->node, &m->node);

  m->type = OV_MSG_FIND_REPLY;
  m->flags = OV_F_HAS_PRED;
  memset(m->dest, 0x33, RL_ID_LEN);
  mknode(&m->pred, 0x10, 1);
  m->n_succ = 2;
  mknode(&m->succ[0], 0x12, 4);
  mknode(&m->succ[1], 0x13, 0);
  roundtrip(m, o, 4 + 4 + 60 + (21 + 7 + 19) + (21 + 7) + 1 + (21 + 7 + 19 + 7 + 19) + 21);
  assert_memory_equal(o->dest, m->dest, RL_ID_LEN);
  assert_node_equal(&o->pred, &m->pred);
  assert_int_equal(o->n_succ, 2);
  assert_node_equal(&o->succ[0], &m->succ[0]);
  assert_node_equal(&o->succ[1], &m->succ[1]);
  /* without HAS_PRED there is no pred on the wire */
  m->flags = 0;
  roundtrip(m, o, 4 + 4 + 60 + (21 + 7 + 19) + 1 + (21 + 7 + 19 + 7 + 19) + 21);
  free(m);
  free(o);
}

static void test_stabilise_messages(void **state) {
  (void)state;
  struct ov_msg *m = calloc(1, sizeof(*m)), *o = malloc(sizeof(*o));
  m->type = OV_MSG_GET_PRED;
  roundtrip(m, o, 1);
  m->type = OV_MSG_HELLO;
  roundtrip(m, o, 1);
  m->type = OV_MSG_PING;
  roundtrip(m, o, 1);
  m->type = OV_MSG_PONG;
  roundtrip(m, o, 1);
  m->type = OV_MSG_PRED_REPLY;
  m->flags = 0;
  m->n_succ = 0;
  roundtrip(m, o, 3);
  assert_int_equal(o->n_succ, 0);
  m->type = OV_MSG_NOTIFY;
  m->flags = OV_F_AS_SUCC;
  mknode(&m->node, 0x44, 1);
  roundtrip(m, o, 2 + 21 + 7);
  assert_int_equal(o->flags, OV_F_AS_SUCC);
  m->type = OV_MSG_LEAVE;
  m->flags = OV_F_TO_PRED;
  m->n_succ = 1;
  mknode(&m->succ[0], 0x45, 1);
  roundtrip(m, o, 2 + 1 + 28);
  free(m);
  free(o);
}

static void test_routed(void **state) {
  (void)state;
  struct ov_msg *m = calloc(1, sizeof(*m)), *o = malloc(sizeof(*o));
  uint8_t payload[OV_APP_MAX];
  for (size_t i = 0; i < sizeof(payload); i++)
    payload[i] = (uint8_t)i;
  m->type = OV_MSG_ROUTED;
  m->flags = OV_F_EXACT;
  m->ttl = 7;
  m->hops = 2;
  memset(m->src, 0x01, RL_ID_LEN);
  memset(m->target, 0x02, RL_ID_LEN);
  m->app = OV_APP_DHT;
  m->payload = payload;
  m->len = OV_APP_MAX; /* the largest payload fits one message */
  roundtrip(m, o, OV_ROUTED_HDR + OV_APP_MAX);
  assert_int_equal(o->len, OV_APP_MAX);
  assert_int_equal(o->app, OV_APP_DHT);
  assert_int_equal(o->ttl, 7);
  m->len = OV_APP_MAX + 1;
  uint8_t buf[OV_MSG_MAX];
  assert_int_equal(ov_msg_encode(m, buf, sizeof(buf)), RL_ETOOBIG);
  /* a length field beyond OV_APP_MAX is refused even if the bytes are there */
  m->len = 4;
  int n = ov_msg_encode(m, buf, sizeof(buf));
  buf[OV_ROUTED_HDR - 2] = (uint8_t)((OV_APP_MAX + 1) >> 8);
  buf[OV_ROUTED_HDR - 1] = (uint8_t)(OV_APP_MAX + 1);
  assert_int_equal(ov_msg_decode(o, buf, (size_t)n), RL_EPARSE);
  /* with a via node: 20 more bytes, and the largest payload still fits */
  m->flags = OV_F_EXACT | OV_F_VIA | OV_F_THROUGH;
  memset(m->via, 0x03, RL_ID_LEN);
  m->len = OV_APP_MAX;
  roundtrip(m, o, OV_ROUTED_HDR + RL_ID_LEN + OV_APP_MAX);
  assert_int_equal(o->flags, OV_F_EXACT | OV_F_VIA | OV_F_THROUGH);
  assert_memory_equal(o->via, m->via, RL_ID_LEN);
  assert_memory_equal(o->target, m->target, RL_ID_LEN);
  assert_int_equal(o->len, OV_APP_MAX);
  /* THROUGH names no node without VIA: refused */
  m->flags = OV_F_VIA | OV_F_THROUGH;
  m->len = 4;
  n = ov_msg_encode(m, buf, sizeof(buf));
  buf[1] = OV_F_THROUGH; /* (type, flags, ...) */
  assert_int_equal(ov_msg_decode(o, buf, (size_t)n), RL_EPARSE);
  free(m);
  free(o);
}

static void test_succ_list_truncated_to_fit(void **state) {
  (void)state;
  /* 16 successors with 4 endpoints each do not fit in OV_MSG_MAX: the
   * encoder sends the first ones that fit, and says how many. */
  struct ov_msg *m = calloc(1, sizeof(*m)), *o = malloc(sizeof(*o));
  m->type = OV_MSG_PRED_REPLY;
  m->n_succ = OV_MAX_SUCC;
  for (unsigned i = 0; i < OV_MAX_SUCC; i++) {
    mknode(&m->succ[i], (uint8_t)(0x80 + i), 4);
    for (unsigned e = 0; e < 4; e++) /* all IPv6: 97 bytes per descriptor */
      m->succ[i].ep[e].family = RL_AF_INET6;
  }
  uint8_t buf[OV_MSG_MAX];
  int n = ov_msg_encode(m, buf, sizeof(buf));
  assert_true(n > 0 && n <= OV_MSG_MAX);
  assert_int_equal(ov_msg_decode(o, buf, (size_t)n), 0);
  size_t each = ov_node_size(&m->succ[0]);
  assert_int_equal(each, 97);
  assert_int_equal(o->n_succ, (OV_MSG_MAX - 3) / each);
  assert_true(o->n_succ < OV_MAX_SUCC);
  for (unsigned i = 0; i < o->n_succ; i++)
    assert_node_equal(&o->succ[i], &m->succ[i]);
  /* a tiny buffer: the list shrinks to nothing, the message still encodes */
  assert_int_equal(ov_msg_encode(m, buf, 3), 3);
  assert_int_equal(ov_msg_decode(o, buf, 3), 0);
  assert_int_equal(o->n_succ, 0);
  free(m);
  free(o);
}

static void test_bad_inputs(void **state) {
  (void)state;
  struct ov_msg *o = malloc(sizeof(*o));
  static const struct {
    uint8_t bytes[8];
    size_t len;
    int rc;
  } cases[] = {
      {{0}, 0, RL_ETRUNC},                 /* empty */
      {{0x00}, 1, RL_EPARSE},              /* type 0 */
      {{0x0c}, 1, RL_EPARSE},              /* type 12 */
      {{OV_MSG_HELLO, 0}, 2, RL_ETRUNC},
      {{OV_MSG_GET_PRED, 0}, 2, RL_ETRUNC}, /* trailing byte */
      {{OV_MSG_PRED_REPLY, 0, 17}, 3, RL_EPARSE}, /* 17 successors */
      {{OV_MSG_PRED_REPLY, 0, 1}, 3, RL_ETRUNC},  /* 1 successor, no bytes */
      {{OV_MSG_NOTIFY, 0}, 2, RL_ETRUNC},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(ov_msg_decode(o, cases[i].bytes, cases[i].len), cases[i].rc);
  /* endpoint count and family are checked */
  uint8_t n[2 + RL_ID_LEN + 1 + 7] = {OV_MSG_NOTIFY, 0};
  n[2 + RL_ID_LEN] = OV_MAX_ENDPOINTS + 1;
  assert_int_equal(ov_msg_decode(o, n, 2 + RL_ID_LEN + 1), RL_EPARSE);
  n[2 + RL_ID_LEN] = 1;
  n[2 + RL_ID_LEN + 1] = 5; /* family */
  assert_int_equal(ov_msg_decode(o, n, sizeof(n)), RL_EPARSE);
  n[2 + RL_ID_LEN + 1] = RL_AF_INET;
  assert_int_equal(ov_msg_decode(o, n, sizeof(n)), 0);
  /* longer than any overlay message */
  uint8_t *big = calloc(1, OV_MSG_MAX + 1);
  big[0] = OV_MSG_GET_PRED;
  assert_int_equal(ov_msg_decode(o, big, OV_MSG_MAX + 1), RL_ETRUNC);
  free(big);
  free(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_find_and_reply),
      cmocka_unit_test(test_stabilise_messages),
      cmocka_unit_test(test_routed),
      cmocka_unit_test(test_succ_list_truncated_to_fit),
      cmocka_unit_test(test_bad_inputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
