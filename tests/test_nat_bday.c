/* Unit tests: nat/bday (birthday probing decisions). Time only moves by
 * hand; randomness is a fixed xorshift stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <ringlan/error.h>

#include "nat/bday.h"
#include "util/env.h"

#define MS NS_PER_MS
#define S NS_PER_S

static void test_roles(void **state) {
  (void)state;
  /* Only a symmetric NAT facing a peer with a reflexive candidate opens
   * sockets; two symmetric NATs have nothing to aim at. */
  assert_int_equal(nat_bday_role(NAT_CLASS_SYMMETRIC, true), NAT_BDAY_HARD);
  assert_int_equal(nat_bday_role(NAT_CLASS_SYMMETRIC, false), NAT_BDAY_NONE);
  assert_int_equal(nat_bday_role(NAT_CLASS_EIM, true), NAT_BDAY_NONE);
  assert_int_equal(nat_bday_role(NAT_CLASS_NONE, true), NAT_BDAY_NONE);
  assert_int_equal(nat_bday_role(NAT_CLASS_UNKNOWN, true), NAT_BDAY_NONE);
  /* The easy side probes only from an endpoint-independent mapping, and
   * only when the hard side punched the address it has. */
  assert_true(nat_bday_easy_ok(NAT_CLASS_EIM, true));
  assert_false(nat_bday_easy_ok(NAT_CLASS_EIM, false));
  assert_false(nat_bday_easy_ok(NAT_CLASS_SYMMETRIC, true));
  assert_false(nat_bday_easy_ok(NAT_CLASS_UNKNOWN, true));
}

static void test_hard_pacing(void **state) {
  (void)state;
  struct nat_bday b;
  unsigned first, n, total = 0, requests = 0;
  bool req;
  uint64_t t = 100 * S;
  nat_bday_hard_start(&b, t);
  /* Nothing goes out before the driver answered the socket requests. */
  assert_int_equal(nat_bday_hard_step(&b, t, &first, &req), 0);
  assert_false(req);
  assert_false(nat_bday_over(&b, t));
  assert_int_equal(nat_bday_next_timer(&b), t + NAT_BDAY_OPEN_MAX_NS);
  t += 3 * MS;
  nat_bday_hard_opened(&b, 256, t);
  assert_int_equal(nat_bday_next_timer(&b), t);
  /* 32 punches per 10 ms step, in socket order; the request once, with the
   * last punch (8 steps: 70 ms after the sockets opened). */
  for (unsigned step = 0; step < 8; step++) {
    assert_int_equal(nat_bday_next_timer(&b), t);
    n = nat_bday_hard_step(&b, t, &first, &req);
    assert_int_equal(n, NAT_BDAY_PUNCH_BURST);
    assert_int_equal(first, total);
    total += n;
    requests += req;
    assert_int_equal(req, step == 7);
    /* A second call within the step sends nothing. */
    assert_int_equal(nat_bday_hard_step(&b, t + 1, &first, &req), 0);
    t += NAT_BDAY_STEP_NS;
  }
  assert_int_equal(total, 256);
  assert_int_equal(requests, 1);
  /* Unanswered, the request is repeated each second, three times in all;
   * then the attempt is over a second after the last. */
  uint64_t req_at = t - NAT_BDAY_STEP_NS;
  struct nat_bday c = b;
  for (unsigned k = 1; k < NAT_BDAY_REQ_TRIES; k++) {
    assert_int_equal(nat_bday_next_timer(&c), req_at + k * S);
    assert_int_equal(nat_bday_hard_step(&c, req_at + k * S - 1, &first, &req), 0);
    assert_false(req);
    assert_int_equal(nat_bday_hard_step(&c, req_at + k * S, &first, &req), 0);
    assert_true(req);
  }
  uint64_t last = req_at + (NAT_BDAY_REQ_TRIES - 1) * S;
  assert_int_equal(nat_bday_next_timer(&c), last + NAT_BDAY_REQ_EVERY_NS);
  assert_false(nat_bday_over(&c, last + NAT_BDAY_REQ_EVERY_NS - 1));
  assert_true(nat_bday_over(&c, last + NAT_BDAY_REQ_EVERY_NS));
  /* Acknowledged after 300 ms: no more requests, 10 s for the probes. */
  nat_bday_hard_acked(&b, req_at + 300 * MS);
  assert_int_equal(nat_bday_next_timer(&b), req_at + 300 * MS + NAT_BDAY_HARD_MAX_NS);
  assert_int_equal(nat_bday_hard_step(&b, req_at + S, &first, &req), 0);
  assert_false(req);
  assert_false(nat_bday_over(&b, req_at + 300 * MS + NAT_BDAY_HARD_MAX_NS - 1));
  assert_true(nat_bday_over(&b, req_at + 300 * MS + NAT_BDAY_HARD_MAX_NS));
}

static void test_hard_no_sockets(void **state) {
  (void)state;
  struct nat_bday b;
  unsigned first;
  bool req;
  /* The driver could open nothing: the attempt is over at once. */
  nat_bday_hard_start(&b, S);
  nat_bday_hard_opened(&b, 0, S + MS);
  assert_true(nat_bday_over(&b, S + MS));
  assert_int_equal(nat_bday_hard_step(&b, S + MS, &first, &req), 0);
  /* A driver that never answers: over after NAT_BDAY_OPEN_MAX_NS. */
  nat_bday_hard_start(&b, S);
  assert_false(nat_bday_over(&b, S + NAT_BDAY_OPEN_MAX_NS - 1));
  assert_true(nat_bday_over(&b, S + NAT_BDAY_OPEN_MAX_NS));
  /* A few sockets: one short step, the request with it. */
  nat_bday_hard_start(&b, S);
  nat_bday_hard_opened(&b, 5, S);
  assert_int_equal(nat_bday_hard_step(&b, S, &first, &req), 5);
  assert_true(req);
  assert_int_equal(nat_bday_next_timer(&b), S + NAT_BDAY_REQ_EVERY_NS);
  /* An acknowledgement before any request (a stray) changes nothing. */
  nat_bday_hard_start(&b, S);
  nat_bday_hard_opened(&b, 5, S);
  nat_bday_hard_acked(&b, S);
  assert_false(b.acked);
}

static void test_easy_pacing_and_cap(void **state) {
  (void)state;
  struct nat_bday b;
  unsigned total = 0, steps = 0;
  uint64_t t = 7 * S;
  nat_bday_easy_start(&b, t);
  while (steps < 10000) {
    uint64_t due = nat_bday_next_timer(&b);
    if (due == UINT64_MAX || nat_bday_over(&b, due))
      break;
    unsigned n = nat_bday_easy_step(&b, due);
    if (!n)
      break;
    assert_true(n <= NAT_BDAY_PROBE_BURST);
    assert_int_equal(nat_bday_easy_step(&b, due), 0); /* once per step */
    total += n;
    steps++;
    t = due;
  }
  /* 2048 probes at 4 per 10 ms: 512 steps, the last 5.11 s after the start. */
  assert_int_equal(total, NAT_BDAY_PROBES_MAX);
  assert_int_equal(steps, NAT_BDAY_PROBES_MAX / NAT_BDAY_PROBE_BURST);
  assert_int_equal(t, 7 * S + (steps - 1) * NAT_BDAY_STEP_NS);
  assert_true(t - 7 * S <= NAT_BDAY_EASY_MAX_NS);
  assert_int_equal(nat_bday_next_timer(&b), 7 * S + NAT_BDAY_EASY_MAX_NS);
  assert_true(nat_bday_over(&b, 7 * S + NAT_BDAY_EASY_MAX_NS));
  assert_int_equal(nat_bday_easy_step(&b, 20 * S), 0);
}

static void test_ports(void **state) {
  (void)state;
  assert_int_equal(nat_bday_port(0), NAT_BDAY_PORT_MIN);
  assert_int_equal(nat_bday_port(UINT32_MAX), 65535);
  assert_int_equal(nat_bday_port(0x80000000u), NAT_BDAY_PORT_MIN + (65536 - NAT_BDAY_PORT_MIN) / 2);
}

static void test_history(void **state) {
  (void)state;
  struct nat_bday_hist h;
  uint8_t id[RL_ID_LEN];
  memset(&h, 0, sizeof(h));
  memset(id, 7, sizeof(id));
  assert_true(nat_bday_may_try(&h, id, 0));
  nat_bday_tried(&h, id, 10 * S);
  assert_false(nat_bday_may_try(&h, id, 10 * S + NAT_BDAY_RETRY_NS - 1));
  assert_true(nat_bday_may_try(&h, id, 10 * S + NAT_BDAY_RETRY_NS));
  /* Trying it again refreshes its entry, not a second one. */
  nat_bday_tried(&h, id, 200 * S);
  unsigned used = 0;
  for (unsigned i = 0; i < NAT_BDAY_HIST; i++)
    used += h.e[i].until_ns != 0;
  assert_int_equal(used, 1);
  /* Unanswered: again after 15 s. */
  nat_bday_retry_after(&h, id, 201 * S, NAT_BDAY_RETRY_UNANSWERED_NS);
  assert_false(nat_bday_may_try(&h, id, 201 * S + NAT_BDAY_RETRY_UNANSWERED_NS - 1));
  assert_true(nat_bday_may_try(&h, id, 201 * S + NAT_BDAY_RETRY_UNANSWERED_NS));
  nat_bday_tried(&h, id, 200 * S);
  /* A full table replaces the oldest entry. */
  for (unsigned k = 0; k < NAT_BDAY_HIST; k++) {
    uint8_t o[RL_ID_LEN];
    memset(o, 100 + k, sizeof(o));
    nat_bday_tried(&h, o, 300 * S + k);
  }
  assert_true(nat_bday_may_try(&h, id, 301 * S)); /* it was the oldest */
  uint8_t last[RL_ID_LEN];
  memset(last, 100 + NAT_BDAY_HIST - 1, sizeof(last));
  assert_false(nat_bday_may_try(&h, last, 301 * S));
}

static uint64_t xs(uint64_t *x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* The figures of nat/bday.h, by drawing: 256 mappings at random ports,
 * probes at random ports until one lands. */
static void test_hit_distribution(void **state) {
  (void)state;
  enum { TRIALS = 2000 };
  uint64_t x = 0x243F6A8885A308D3ull;
  unsigned *need = calloc(TRIALS, sizeof(*need)), missed = 0;
  uint8_t *mapped = malloc(65536);
  assert_non_null(need);
  assert_non_null(mapped);
  for (unsigned t = 0; t < TRIALS; t++) {
    memset(mapped, 0, 65536);
    for (unsigned k = 0; k < NAT_BDAY_SOCKS;) {
      uint16_t p = nat_bday_port((uint32_t)(xs(&x) >> 32));
      if (!mapped[p]) {
        mapped[p] = 1;
        k++;
      }
    }
    need[t] = 0;
    for (unsigned i = 1; i <= NAT_BDAY_PROBES_MAX && !need[t]; i++)
      if (mapped[nat_bday_port((uint32_t)(xs(&x) >> 32))])
        need[t] = i;
    missed += need[t] == 0;
  }
  unsigned within_370 = 0, within_175 = 0;
  for (unsigned t = 0; t < TRIALS; t++) {
    within_370 += need[t] && need[t] <= 370;
    within_175 += need[t] && need[t] <= 175;
  }
  print_message("hits within 175 probes: %u/%u, within 370: %u/%u, none in %u: %u\n",
                within_175, TRIALS, within_370, TRIALS, NAT_BDAY_PROBES_MAX, missed);
  /* Expected 50 %, 77 %, 0.03 % (binomial spread of 2000 trials: +-3 %). */
  assert_true(within_175 > TRIALS * 44 / 100 && within_175 < TRIALS * 56 / 100);
  assert_true(within_370 > TRIALS * 72 / 100 && within_370 < TRIALS * 82 / 100);
  assert_true(missed <= 5); /* expected 0.6 */
  free(need);
  free(mapped);
}

static void test_messages(void **state) {
  (void)state;
  struct nat_bday_msg m, d;
  uint8_t buf[NAT_BDAY_MSG_MAX];
  memset(&m, 0, sizeof(m));
  m.type = NAT_BDAY_MSG_REQ;
  memcpy(m.token, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  rl_addr_set_ipv4(&m.target, 0xC6336412u, 51820); /* 198.51.100.18 */
  rl_addr_set_ipv4(&m.hard_ip, 0xC6336413u, 0);
  int len = nat_bday_msg_encode(&m, buf, sizeof(buf));
  /* type, token, two IPv4 addresses of 7 bytes */
  assert_int_equal(len, 1 + 8 + 7 + 7);
  assert_int_equal(buf[0], 3);
  assert_memory_equal(buf + 9, "\x04\xca\x6c\xc6\x33\x64\x12", 7);
  assert_int_equal(nat_bday_msg_decode(&d, buf, (size_t)len), 0);
  assert_int_equal(d.type, NAT_BDAY_MSG_REQ);
  assert_memory_equal(d.token, m.token, 8);
  assert_true(rl_addr_equal(&d.target, &m.target));
  assert_true(rl_addr_equal(&d.hard_ip, &m.hard_ip));
  /* Every truncation, and a trailing byte, is refused. */
  for (int k = 0; k < len; k++)
    assert_int_equal(nat_bday_msg_decode(&d, buf, (size_t)k), RL_ETRUNC);
  buf[len] = 0;
  assert_int_equal(nat_bday_msg_decode(&d, buf, (size_t)len + 1), RL_ETRUNC);
  /* ACK and NAK: the token only. */
  m.type = NAT_BDAY_MSG_ACK;
  assert_int_equal(nat_bday_msg_encode(&m, buf, sizeof(buf)), 9);
  assert_int_equal(nat_bday_msg_decode(&d, buf, 9), 0);
  assert_int_equal(d.type, NAT_BDAY_MSG_ACK);
  /* Unknown types and families. */
  buf[0] = 6;
  assert_int_equal(nat_bday_msg_decode(&d, buf, 9), RL_ETRUNC);
  m.type = 2;
  assert_int_equal(nat_bday_msg_encode(&m, buf, sizeof(buf)), RL_EINVAL);
  m.type = NAT_BDAY_MSG_REQ;
  m.target.family = 0;
  assert_int_equal(nat_bday_msg_encode(&m, buf, sizeof(buf)), RL_EINVAL);
  m.target.family = RL_AF_INET;
  assert_int_equal(nat_bday_msg_encode(&m, buf, 10), RL_ETOOBIG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roles),
      cmocka_unit_test(test_hard_pacing),
      cmocka_unit_test(test_hard_no_sockets),
      cmocka_unit_test(test_easy_pacing_and_cap),
      cmocka_unit_test(test_ports),
      cmocka_unit_test(test_history),
      cmocka_unit_test(test_hit_distribution),
      cmocka_unit_test(test_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
