/* Unit tests: crypto/sess.c (per-peer sessions). Two members X and Y in one
 * group, a tiny "network" between them that can drop, hold and replay
 * packets, and time advanced by hand:
 *
 *      X (sess x, responder x)  <--- 5 ms --->  Y (sess y, responder y)
 *
 * The HS_INIT path below is what the node core does: hs_resp_parse_init on
 * the node's responder, then sess_respond on the peer's session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <stdlib.h>

#include "crypto/cookie.h"
#include "crypto/dc.h"
#include "crypto/hs.h"
#include "crypto/sess.h"
#include "hs_fixture.h"

#define LAT_NS (5 * NS_PER_MS)
#define NOPS 32

struct peer {
  struct fx_node n;
  struct sess s;
  int last_rc;              /* of the last delivery to this peer */
  unsigned data_in;         /* plaintexts returned by sess_recv */
  uint8_t pt[256];
  size_t pt_len;
};

struct net {
  struct id_key group;
  struct peer *x, *y;
  uint64_t now;
  int drop[NOPS];           /* drop the next n packets of this opcode */
  bool cut;                 /* drop everything */
  bool raw_accept;          /* HS_INIT path: hs_resp_finish + sess_accept */
  uint8_t seen[NOPS][HS_MSG_MAX]; /* last packet of each opcode (replays) */
  size_t seen_len[NOPS];
  unsigned sent[NOPS];
};

static struct sess_params params(void) {
  struct sess_params p;
  sess_params_default(&p);
  return p;
}

static void peer_init(struct net *w, struct peer *p, uint8_t key_byte, uint32_t index,
                      const struct peer *other, unsigned threshold) {
  struct sess_params sp = params();
  memset(p, 0, sizeof(*p));
  assert_int_equal(fx_node_init(&p->n, key_byte, &w->group, DC_CHACHA20POLY1305, DC_FMT_V2,
                                threshold),
                   0);
  (void)other;
  sess_init(&p->s, &p->n.hid, &sp, index, NULL);
}

static int setup(void **state) {
  struct net *w = calloc(1, sizeof(*w));
  if (!w)
    return -1;
  fx_key_from_byte(&w->group, 1);
  w->x = calloc(1, sizeof(*w->x));
  w->y = calloc(1, sizeof(*w->y));
  if (!w->x || !w->y)
    return -1;
  peer_init(w, w->x, 20, 0x000100, w->y, 1000);
  peer_init(w, w->y, 21, 0x000200, w->x, 1000);
  w->x->s.endpoint = w->y->n.addr;
  w->y->s.endpoint = w->x->n.addr;
  w->now = 1000 * NS_PER_S;
  *state = w;
  return 0;
}

static void peer_free(struct peer *p) {
  sess_wipe(&p->s);
  fx_node_wipe(&p->n);
  free(p);
}

static int teardown(void **state) {
  struct net *w = *state;
  peer_free(w->x);
  peer_free(w->y);
  free(w);
  return 0;
}

static struct peer *other(struct net *w, struct peer *p) { return p == w->x ? w->y : w->x; }

/* Delivers one datagram from `from` to `to` as the node core would. */
static int deliver(struct net *w, struct peer *from, struct peer *to, const uint8_t *pkt,
                   size_t len) {
  unsigned op = pkt[0] >> 3;
  int rc;
  if (op == HS_OP_INIT) {
    struct hs_pending p;
    uint8_t ck[128];
    size_t cklen = 0;
    rc = hs_resp_parse_init(&to->n.resp, &from->n.addr, pkt, len, w->now, &p, ck, sizeof(ck),
                            &cklen);
    if (rc == RL_EAGAIN) { /* cookie reply goes straight back */
      assert_true(cklen > 0);
      w->sent[HS_OP_COOKIE]++;
      memcpy(w->seen[HS_OP_COOKIE], ck, cklen);
      w->seen_len[HS_OP_COOKIE] = cklen;
      from->last_rc = sess_recv(&from->s, &to->n.addr, ck, cklen, w->now + LAT_NS, from->pt,
                                sizeof(from->pt));
    }
    if (rc < 0)
      return rc;
    if (w->raw_accept) { /* a node core that skips sess_check_init */
      struct hs_result res;
      uint8_t resp[HS_MSG_MAX];
      int m = hs_resp_finish(&to->n.resp, &p, to->s.local_index, w->now, resp, sizeof(resp), &res);
      assert_true(m > 0);
      rc = sess_accept(&to->s, &res, resp, (size_t)m, w->now);
      sodium_memzero(&res, sizeof(res));
      return rc;
    }
    return sess_respond(&to->s, &to->n.resp, &p, &from->n.addr, w->now);
  }
  assert_int_equal(hs_pkt_index(pkt), to->s.local_index);
  rc = sess_recv(&to->s, &from->n.addr, pkt, len, w->now, to->pt, sizeof(to->pt));
  if (rc > 0) {
    to->data_in++;
    to->pt_len = (size_t)rc;
  }
  return rc;
}

/* Moves every queued packet across (one hop = LAT_NS), until quiet. */
static void pump(struct net *w) {
  for (int round = 0; round < 20; round++) {
    uint8_t q[2][8][HS_MSG_MAX];
    size_t ql[2][8];
    unsigned qn[2] = {0, 0};
    struct peer *ps[2] = {w->x, w->y};
    for (int i = 0; i < 2; i++) {
      size_t n;
      while (qn[i] < 8 && (n = sess_poll(&ps[i]->s, q[i][qn[i]], HS_MSG_MAX)) > 0)
        ql[i][qn[i]++] = n;
    }
    if (qn[0] + qn[1] == 0)
      return;
    w->now += LAT_NS;
    for (int i = 0; i < 2; i++)
      for (unsigned k = 0; k < qn[i]; k++) {
        unsigned op = q[i][k][0] >> 3;
        w->sent[op]++;
        memcpy(w->seen[op], q[i][k], ql[i][k]);
        w->seen_len[op] = ql[i][k];
        if (w->cut)
          continue;
        if (w->drop[op] > 0) {
          w->drop[op]--;
          continue;
        }
        other(w, ps[i])->last_rc = deliver(w, ps[i], other(w, ps[i]), q[i][k], ql[i][k]);
      }
  }
  fail_msg("pump did not settle");
}

static uint64_t next_timer(struct net *w) {
  uint64_t a = sess_next_timer(&w->x->s), b = sess_next_timer(&w->y->s);
  return a < b ? a : b;
}

/* Runs both sessions' timers (and the network) up to time t. */
static void run_until(struct net *w, uint64_t t) {
  for (int i = 0; i < 100000; i++) {
    uint64_t nt = next_timer(w);
    if (nt > t)
      break;
    if (nt > w->now)
      w->now = nt;
    sess_on_timer(&w->x->s, w->now);
    sess_on_timer(&w->y->s, w->now);
    /* a timer that stays in the past would spin the driver */
    assert_true(sess_next_timer(&w->x->s) > w->now);
    assert_true(sess_next_timer(&w->y->s) > w->now);
    pump(w);
  }
  if (w->now < t)
    w->now = t;
}

/* Sends pt from a to b now; returns what b's sess_recv returned. */
static int send_data(struct net *w, struct peer *a, struct peer *b, const char *msg) {
  uint8_t pkt[256];
  int n = sess_encrypt(&a->s, (const uint8_t *)msg, strlen(msg), w->now, pkt, sizeof(pkt));
  if (n < 0)
    return n;
  w->now += LAT_NS;
  n = deliver(w, a, b, pkt, (size_t)n);
  if (n > 0) {
    assert_int_equal(b->pt_len, strlen(msg));
    assert_memory_equal(b->pt, msg, strlen(msg));
  }
  return n;
}

/* Encrypts on a without delivering (an in-flight packet). */
static size_t hold_data(struct net *w, struct peer *a, const char *msg, uint8_t *pkt) {
  int n = sess_encrypt(&a->s, (const uint8_t *)msg, strlen(msg), w->now, pkt, 256);
  assert_true(n > 0);
  return (size_t)n;
}

static void assert_link_works(struct net *w) {
  assert_int_equal(w->x->s.state, SESS_ESTABLISHED);
  assert_int_equal(w->y->s.state, SESS_ESTABLISHED);
  assert_int_equal(w->x->s.cur_key_id, w->y->s.cur_key_id);
  assert_int_equal(send_data(w, w->x, w->y, "frame x->y"), 10);
  assert_int_equal(send_data(w, w->y, w->x, "frame y->x!"), 11);
}

static void establish(struct net *w, struct peer *initiator) {
  assert_int_equal(sess_start(&initiator->s, w->now), 0);
  pump(w);
  assert_link_works(w);
}

/* ------------------------------------------------------------------ */

static void test_sess_handshake_and_data(void **state) {
  struct net *w = *state;
  assert_int_equal(w->x->s.state, SESS_IDLE);
  assert_int_equal(sess_encrypt(&w->x->s, (const uint8_t *)"a", 1, w->now, w->x->pt, 64),
                   RL_EAGAIN);
  assert_int_equal(sess_start(&w->x->s, w->now), 0);
  assert_int_equal(w->x->s.state, SESS_HANDSHAKE);
  assert_int_equal(sess_start(&w->x->s, w->now), 0); /* no-op: one under way */
  pump(w);
  assert_int_equal(w->sent[HS_OP_INIT], 1);
  assert_int_equal(w->sent[HS_OP_RESP], 1);
  assert_link_works(w);
  assert_int_equal(w->x->s.cur_key_id, 0);
  assert_int_equal(w->x->s.remote_index, w->y->s.local_index);
  assert_int_equal(w->y->s.remote_index, w->x->s.local_index);
  assert_true(w->x->s.rtt_ns == 2 * LAT_NS);
  assert_int_equal(w->y->s.rtt_ns, 0); /* responders take no sample */
  assert_memory_equal(w->x->s.peer_id, w->y->n.hid.id, RL_ID_LEN);
  assert_memory_equal(w->y->s.peer_id, w->x->n.hid.id, RL_ID_LEN);
  assert_true(w->y->s.peer_timestamp > 0);
  assert_int_equal(w->x->s.handshakes, 1);
  assert_int_equal(w->y->s.handshakes, 1);
  /* the initiator's confirmation keepalive was consumed, not returned */
  assert_int_equal(w->y->data_in, 1);
  assert_int_equal(sess_start(&w->x->s, w->now), 0); /* established: no rekey */
  assert_false(w->x->s.hs_running);
  /* the initiator state is freed once the handshake is done; the peer's
   * certificate is kept as its virtual IP only */
  assert_null(w->x->s.hs);
  assert_null(w->y->s.hs);
  assert_int_equal(w->x->s.peer_vip, w->y->n.cert.vip);
}

static void test_sess_init_lost(void **state) {
  struct net *w = *state;
  uint64_t t0 = w->now;
  w->drop[HS_OP_INIT] = 2;
  sess_start(&w->x->s, w->now);
  pump(w);
  assert_int_equal(w->x->s.state, SESS_HANDSHAKE);
  assert_true(sess_next_timer(&w->x->s) == t0 + NS_PER_S);
  run_until(w, t0 + NS_PER_S + NS_PER_MS);
  assert_int_equal(w->sent[HS_OP_INIT], 2);
  assert_int_equal(w->x->s.state, SESS_HANDSHAKE);
  /* backoff doubles: next try 2 s after the second */
  assert_true(sess_next_timer(&w->x->s) == t0 + 3 * NS_PER_S);
  run_until(w, t0 + 3 * NS_PER_S + 50 * NS_PER_MS);
  assert_int_equal(w->sent[HS_OP_INIT], 3);
  assert_link_works(w);
}

static void test_sess_gives_up(void **state) {
  struct net *w = *state;
  uint64_t t0 = w->now, t = t0;
  w->cut = true;
  sess_start(&w->x->s, w->now);
  pump(w);
  /* tries at t0, +1, +3, +7, ... (8 tries), then DEAD one interval later */
  for (unsigned i = 1; i < 8; i++) {
    t += NS_PER_S << (i - 1);
    assert_true(sess_next_timer(&w->x->s) == t);
    run_until(w, t);
    assert_int_equal(w->sent[HS_OP_INIT], i + 1);
  }
  assert_int_equal(w->x->s.state, SESS_HANDSHAKE);
  t += NS_PER_S << 7;
  run_until(w, t);
  assert_int_equal(w->x->s.state, SESS_DEAD);
  assert_int_equal(w->sent[HS_OP_INIT], 8);
  assert_true(sess_next_timer(&w->x->s) == RL_TIME_NEVER);
}

static void test_sess_resp_lost(void **state) {
  struct net *w = *state;
  uint8_t first_key[32];
  w->drop[HS_OP_RESP] = 1;
  sess_start(&w->x->s, w->now);
  pump(w);
  assert_int_equal(w->x->s.state, SESS_HANDSHAKE);
  assert_int_equal(w->y->s.state, SESS_ESTABLISHED); /* installed, reply lost */
  memcpy(first_key, w->y->s.keys[w->y->s.slot_cur]->tx.key, 32);
  run_until(w, w->now + NS_PER_S + NS_PER_MS);
  assert_int_equal(w->sent[HS_OP_INIT], 2);
  assert_link_works(w);
  /* the retry replaced the never-confirmed key with a fresh one */
  assert_memory_not_equal(first_key, w->y->s.keys[w->y->s.slot_cur]->tx.key, 32);
  assert_int_equal(w->y->s.handshakes, 2);
}

static void test_sess_replayed_init_refused(void **state) {
  struct net *w = *state;
  uint8_t init[HS_MSG_MAX];
  size_t len;
  establish(w, w->x);
  len = w->seen_len[HS_OP_INIT];
  memcpy(init, w->seen[HS_OP_INIT], len);
  w->now += 5 * NS_PER_S;
  assert_int_equal(deliver(w, w->x, w->y, init, len), RL_EREPLAY);
  assert_int_equal(w->y->s.handshakes, 1);
  assert_int_equal(sess_poll(&w->y->s, w->y->pt, sizeof(w->y->pt)), 0); /* no reply */
  assert_link_works(w);
  assert_true(sess_init_is_replay(&w->y->s, w->y->s.peer_timestamp));
  assert_false(sess_init_is_replay(&w->y->s, w->y->s.peer_timestamp + 1));
}

static void test_sess_replayed_resp_harmless(void **state) {
  struct net *w = *state;
  uint8_t resp[HS_MSG_MAX];
  size_t len;
  establish(w, w->x);
  len = w->seen_len[HS_OP_RESP];
  memcpy(resp, w->seen[HS_OP_RESP], len);
  assert_int_equal(deliver(w, w->y, w->x, resp, len), RL_ESTATE);
  assert_int_equal(deliver(w, w->y, w->x, resp, len), RL_ESTATE);
  assert_int_equal(w->x->s.handshakes, 1);
  assert_link_works(w);
  /* during a rekey, the old HS_RESP does not fit the new initiation */
  assert_int_equal(sess_rekey(&w->x->s, w->now), 0);
  assert_true(w->x->s.hs_running);
  assert_int_equal(deliver(w, w->y, w->x, resp, len), RL_EAUTH);
  assert_true(w->x->s.hs_running);
  pump(w);
  assert_false(w->x->s.hs_running);
  assert_int_equal(w->x->s.cur_key_id, 1);
  assert_link_works(w);
}

static void test_sess_rekey_lame_duck(void **state) {
  struct net *w = *state;
  uint8_t old_xy[256], old_yx[256], old2[256];
  size_t l_xy, l_yx, l2;
  establish(w, w->x);
  l_xy = hold_data(w, w->x, "old x->y", old_xy);
  l_yx = hold_data(w, w->y, "old y->x", old_yx);
  l2 = hold_data(w, w->x, "old x->y late", old2);
  assert_int_equal(sess_rekey(&w->x->s, w->now), 0);
  pump(w);
  assert_int_equal(w->x->s.cur_key_id, 1);
  assert_int_equal(w->y->s.cur_key_id, 1);
  assert_int_equal(w->x->s.handshakes, 2);
  assert_link_works(w);
  /* in flight under key 0 during the switch: still accepted */
  assert_int_equal(deliver(w, w->x, w->y, old_xy, l_xy), 8);
  assert_int_equal(deliver(w, w->y, w->x, old_yx, l_yx), 8);
  /* after the lame-duck period (60 s) key 0 is gone */
  run_until(w, w->now + 61 * NS_PER_S);
  assert_link_works(w);
  assert_int_equal(deliver(w, w->x, w->y, old2, l2), RL_EAUTH);
  assert_true(w->y->s.rx_auth_fail >= 1);
}

static void test_sess_key_id_sequence(void **state) {
  struct net *w = *state;
  const uint8_t want[] = {0, 1, 2, 3, 4, 5, 6, 7, 1, 2};
  establish(w, w->x);
  assert_int_equal(w->x->s.cur_key_id, want[0]);
  for (size_t i = 1; i < sizeof(want); i++) {
    /* alternate initiators: the key_id space is the session's */
    struct peer *ini = i % 2 ? w->y : w->x;
    assert_int_equal(sess_rekey(&ini->s, w->now), 0);
    pump(w);
    assert_int_equal(w->x->s.cur_key_id, want[i]);
    assert_int_equal(w->y->s.cur_key_id, want[i]);
    assert_link_works(w);
    w->now += NS_PER_S;
  }
  assert_int_equal(w->x->s.handshakes, sizeof(want));
}

static void test_sess_simultaneous_rekey(void **state) {
  struct net *w = *state;
  struct peer *lower = memcmp(w->x->n.hid.id, w->y->n.hid.id, RL_ID_LEN) < 0 ? w->x : w->y;
  establish(w, w->x);
  assert_int_equal(sess_rekey(&w->x->s, w->now), 0);
  assert_int_equal(sess_rekey(&w->y->s, w->now), 0);
  pump(w);
  assert_false(w->x->s.hs_running);
  assert_false(w->y->s.hs_running);
  assert_int_equal(w->x->s.cur_key_id, 1);
  assert_link_works(w);
  /* one handshake completed: the lower overlay ID's */
  assert_int_equal(w->x->s.handshakes, 2);
  assert_int_equal(w->y->s.handshakes, 2);
  assert_true(lower->s.keys[lower->s.slot_cur]->initiated);
  assert_false(other(w, lower)->s.keys[other(w, lower)->s.slot_cur]->initiated);
  /* the dropped HS_INIT cannot be replayed later */
  assert_true(sess_init_is_replay(&lower->s, lower->s.peer_timestamp));
}

/* The same through hs_resp_finish + sess_accept only: sess_accept applies
 * the tie-break and the replay check itself. */
static void test_sess_simultaneous_rekey_accept_path(void **state) {
  struct net *w = *state;
  uint8_t init[HS_MSG_MAX];
  size_t len;
  w->raw_accept = true;
  establish(w, w->x);
  assert_int_equal(sess_rekey(&w->x->s, w->now), 0);
  assert_int_equal(sess_rekey(&w->y->s, w->now), 0);
  pump(w);
  assert_false(w->x->s.hs_running);
  assert_false(w->y->s.hs_running);
  assert_int_equal(w->x->s.cur_key_id, 1);
  assert_link_works(w);
  assert_int_equal(w->x->s.handshakes, 2);
  /* and a replayed HS_INIT is refused by sess_accept too */
  len = w->seen_len[HS_OP_INIT];
  memcpy(init, w->seen[HS_OP_INIT], len);
  {
    struct peer *from = w->x->s.keys[w->x->s.slot_cur]->initiated ? w->x : w->y;
    assert_int_equal(deliver(w, from, other(w, from), init, len), RL_EREPLAY);
  }
  assert_int_equal(w->x->s.handshakes, 2);
  assert_link_works(w);
}

static void test_sess_simultaneous_open(void **state) {
  struct net *w = *state;
  sess_start(&w->x->s, w->now);
  sess_start(&w->y->s, w->now);
  pump(w);
  assert_link_works(w);
  assert_int_equal(w->x->s.handshakes, 1);
  assert_int_equal(w->y->s.handshakes, 1);
  assert_int_equal(w->x->s.cur_key_id, 0);
}

static void test_sess_pid_limit_rekey(void **state) {
  struct net *w = *state;
  struct sess_key *k;
  establish(w, w->x);
  k = w->x->s.keys[w->x->s.slot_cur];
  k->tx.next_pid = DC_PID_REKEY_AT - 2;
  assert_int_equal(send_data(w, w->x, w->y, "below the mark"), 14);
  assert_false(w->x->s.hs_running);
  assert_int_equal(send_data(w, w->x, w->y, "at the mark"), 11);
  assert_true(w->x->s.hs_running); /* sess_encrypt started a rekey itself */
  pump(w);
  assert_int_equal(w->x->s.cur_key_id, 1);
  assert_link_works(w);
  /* an exhausted key refuses to encrypt and triggers a rekey */
  k = w->x->s.keys[w->x->s.slot_cur];
  k->tx.next_pid = DC_PID_MAX_V2 + 1;
  assert_int_equal(sess_encrypt(&w->x->s, (const uint8_t *)"x", 1, w->now, w->x->pt, 64),
                   RL_EAGAIN);
  assert_true(w->x->s.hs_running);
  pump(w);
  assert_int_equal(w->x->s.cur_key_id, 2);
  assert_link_works(w);
}

/* An exhausted key whose rekey cannot complete: no data goes out, timers
 * keep moving forward, and the session ends DEAD (no busy loop). */
static void test_sess_exhausted_key_unreachable_peer(void **state) {
  struct net *w = *state;
  uint64_t t0;
  establish(w, w->x);
  t0 = w->now;
  w->x->s.keys[w->x->s.slot_cur]->tx.next_pid = DC_PID_MAX_V2 + 1;
  w->cut = true;
  run_until(w, t0 + 300 * NS_PER_S);
  assert_int_equal(w->x->s.state, SESS_DEAD);
  assert_int_equal(w->y->s.state, SESS_DEAD);
}

/* The output queue keeps the newest SESS_OUTQ packets; a too-small poll
 * buffer drops a packet rather than wedging the queue. */
static void test_sess_outq(void **state) {
  struct net *w = *state;
  uint8_t buf[HS_MSG_MAX], small[8];
  uint64_t t = w->now;
  unsigned n = 0;
  size_t len, last = 0;
  sess_start(&w->x->s, t);
  for (int i = 0; i < 4; i++) { /* 5 HS_INITs, nobody polls */
    t = sess_next_timer(&w->x->s);
    sess_on_timer(&w->x->s, t);
  }
  assert_int_equal(w->x->s.hs_tries, 5);
  assert_int_equal(w->x->s.outq_n, SESS_OUTQ);
  assert_int_equal(sess_poll(&w->x->s, small, sizeof(small)), 0); /* all too big */
  assert_int_equal(w->x->s.outq_n, 0);
  t = sess_next_timer(&w->x->s);
  sess_on_timer(&w->x->s, t);
  while ((len = sess_poll(&w->x->s, buf, sizeof(buf))) > 0) {
    assert_int_equal(buf[0] >> 3, HS_OP_INIT);
    last = len;
    n++;
  }
  assert_int_equal(n, 1);
  /* that newest HS_INIT is the live one: delivering it completes */
  w->now = t + NS_PER_MS;
  assert_int_equal(deliver(w, w->x, w->y, buf, last), 0);
  pump(w);
  assert_link_works(w);
  assert_true(w->x->s.rtt_ns == NS_PER_MS + LAT_NS); /* sent at t, answered at t+6ms */
}

static void test_sess_rekey_timer(void **state) {
  struct net *w = *state;
  uint64_t t0;
  establish(w, w->x);
  t0 = w->x->s.keys[w->x->s.slot_cur]->created_ns;
  run_until(w, t0 + 3600 * NS_PER_S - NS_PER_S);
  assert_int_equal(w->x->s.cur_key_id, 0);
  run_until(w, t0 + 3600 * NS_PER_S + NS_PER_S);
  assert_int_equal(w->x->s.cur_key_id, 1); /* the key's initiator rekeyed */
  assert_true(w->x->s.keys[w->x->s.slot_cur]->initiated);
  assert_link_works(w);
}

static void test_sess_keepalive_and_dead(void **state) {
  struct net *w = *state;
  uint64_t t0, last_rx;
  establish(w, w->x);
  t0 = w->now;
  unsigned in = w->y->data_in;
  uint64_t rx0 = w->y->s.rx_pkts;
  run_until(w, t0 + 100 * NS_PER_S);
  assert_int_equal(w->x->s.state, SESS_ESTABLISHED);
  /* ~every 10 s each way, consumed (not returned as data) */
  assert_true(w->y->s.rx_pkts - rx0 >= 9);
  assert_int_equal(w->y->data_in, in);
  assert_true(w->x->s.last_tx_ns + 10 * NS_PER_S >= w->now);
  /* the peer goes silent: dead 40 s after the last packet received */
  w->cut = true;
  last_rx = w->x->s.last_rx_ns;
  run_until(w, last_rx + 40 * NS_PER_S - 1);
  assert_int_equal(w->x->s.state, SESS_ESTABLISHED);
  run_until(w, last_rx + 40 * NS_PER_S);
  assert_int_equal(w->x->s.state, SESS_DEAD);
  assert_int_equal(sess_encrypt(&w->x->s, (const uint8_t *)"x", 1, w->now, w->x->pt, 64),
                   RL_EAGAIN);
}

static void test_sess_endpoint_follows(void **state) {
  struct net *w = *state;
  uint8_t pkt[256];
  struct rl_addr moved, spoof;
  size_t n;
  establish(w, w->x);
  assert_true(rl_addr_equal(&w->y->s.endpoint, &w->x->n.addr));
  rl_addr_set_ipv4(&moved, 0xCB007107u, 5555);  /* 203.0.113.7 */
  rl_addr_set_ipv4(&spoof, 0xCB007108u, 6666);
  /* a forged packet from elsewhere does not move the endpoint */
  n = hold_data(w, w->x, "hello", pkt);
  pkt[n - 1] ^= 1;
  assert_int_equal(sess_recv(&w->y->s, &spoof, pkt, n, w->now, w->y->pt, sizeof(w->y->pt)),
                   RL_EAUTH);
  assert_true(rl_addr_equal(&w->y->s.endpoint, &w->x->n.addr));
  /* an authentic one does (NAT rebinding) */
  n = hold_data(w, w->x, "hello", pkt);
  assert_int_equal(sess_recv(&w->y->s, &moved, pkt, n, w->now, w->y->pt, sizeof(w->y->pt)), 5);
  assert_true(rl_addr_equal(&w->y->s.endpoint, &moved));
  /* and a replay of it is refused */
  assert_int_equal(sess_recv(&w->y->s, &spoof, pkt, n, w->now, w->y->pt, sizeof(w->y->pt)),
                   RL_EREPLAY);
  assert_int_equal(w->y->s.rx_replay, 1);
  assert_true(rl_addr_equal(&w->y->s.endpoint, &moved));
}

static void test_sess_cookie_under_load(void **state) {
  struct net *w = *state;
  hs_responder_init(&w->y->n.resp, &w->y->n.hid, 0, w->now); /* always "loaded" */
  sess_start(&w->x->s, w->now);
  pump(w);
  assert_int_equal(w->sent[HS_OP_COOKIE], 1);
  assert_int_equal(w->x->last_rc, 0);
  assert_non_null(w->x->s.hs); /* initiator state exists while the handshake runs */
  assert_true(w->x->s.hs->has_cookie);
  assert_int_equal(w->x->s.state, SESS_HANDSHAKE);
  run_until(w, w->now + NS_PER_S + NS_PER_MS);
  assert_int_equal(w->sent[HS_OP_INIT], 2);
  assert_int_equal(w->sent[HS_OP_COOKIE], 1); /* mac2 accepted */
  assert_link_works(w);
}

static void test_sess_peer_restart(void **state) {
  struct net *w = *state;
  uint8_t old_pkt[256], old_key[32];
  size_t old_len;
  establish(w, w->x);
  for (int i = 0; i < 2; i++) {
    sess_rekey(&w->y->s, w->now);
    pump(w);
  }
  assert_int_equal(w->x->s.cur_key_id, 2);
  old_len = hold_data(w, w->y, "from the old y", old_pkt);
  memcpy(old_key, w->x->s.keys[w->x->s.slot_cur]->tx.key, 32);
  /* y restarts: same node key, new state, new session and index, later */
  w->now += 30 * NS_PER_S;
  sess_wipe(&w->y->s);
  fx_node_wipe(&w->y->n);
  assert_int_equal(fx_node_init(&w->y->n, 21, &w->group, DC_CHACHA20POLY1305, DC_FMT_V2, 1000), 0);
  w->y->n.rng.state[0] ^= 0x55; /* a different random stream this time */
  {
    struct sess_params sp = params();
    sess_init(&w->y->s, &w->y->n.hid, &sp, 0x000777, &w->x->n.addr);
  }
  sess_start(&w->y->s, w->now);
  pump(w);
  assert_link_works(w);
  assert_int_equal(w->x->s.cur_key_id, 0);
  assert_int_equal(w->x->s.remote_index, 0x000777);
  /* fresh keys, never the old key with a reset counter */
  assert_memory_not_equal(old_key, w->x->s.keys[w->x->s.slot_cur]->tx.key, 32);
  assert_int_equal(w->x->s.slot_prev, -1);
  /* the old incarnation's packets no longer decrypt */
  assert_int_equal(sess_recv(&w->x->s, &w->y->n.addr, old_pkt, old_len, w->now, w->x->pt,
                             sizeof(w->x->pt)),
                   RL_EAUTH);
}

/* Issue 10, finding 1: an HS_INIT of the peer's (key 0, as after a
 * restart) arrives from elsewhere (replayed by an attacker, or sent by a
 * peer that never follows up). It is answered there, but until the
 * initiator's first packet under the new key arrives, the session keeps
 * its endpoint and its key: the link works as before. Once a packet under
 * the new key comes from there, the session moves and switches. */
static void test_sess_init_takes_effect_on_first_packet(void **state) {
  struct net *w = *state;
  struct hs_initiation st = {0};
  struct hs_pending p;
  struct hs_result res;
  struct rl_addr evil;
  uint8_t init[HS_MSG_MAX], resp[HS_MSG_MAX], pkt[256];
  int n;
  establish(w, w->x);
  uint8_t key_before = w->y->s.cur_key_id;
  rl_addr_set_ipv4(&evil, 0xCB007109, 9); /* 203.0.113.9:9 */
  w->now += NS_PER_S;
  n = hs_init_create(&st, &w->x->n.hid, 0x4242, 0, w->now, init, sizeof(init));
  assert_true(n > 0);
  assert_int_equal(hs_resp_parse_init(&w->y->n.resp, &evil, init, (size_t)n, w->now, &p, NULL,
                                      0, NULL),
                   0);
  assert_int_equal(sess_respond(&w->y->s, &w->y->n.resp, &p, &evil, w->now), 0);
  assert_true(rl_addr_equal(&w->y->s.endpoint, &w->x->n.addr)); /* not moved */
  assert_true(w->y->s.has_resp_to && rl_addr_equal(&w->y->s.resp_to, &evil));
  assert_int_equal(w->y->s.cur_key_id, key_before); /* the old key still sends */
  size_t rl = sess_poll(&w->y->s, resp, sizeof(resp)); /* the HS_RESP (to evil) */
  assert_true(rl > 0 && resp[0] >> 3 == HS_OP_RESP);
  w->y->s.has_resp_to = false; /* (the node core clears it as it sends) */
  assert_link_works(w); /* x and y still talk, old key, old endpoint */
  /* the genuine initiator completes it: its first packet moves y */
  assert_int_equal(hs_init_consume_resp(&st, &w->x->n.hid, resp, rl, w->now, &res), 0);
  {
    struct dc_tx tx;
    assert_int_equal(dc_tx_init(&tx, res.cipher, res.fmt, res.key2, 0), 0);
    n = dc_encrypt(&tx, 0, res.remote_index, (const uint8_t *)"new", 3, pkt, sizeof(pkt));
    assert_true(n > 0);
    dc_tx_wipe(&tx);
  }
  assert_int_equal(sess_recv(&w->y->s, &evil, pkt, (size_t)n, w->now, w->y->pt,
                             sizeof(w->y->pt)),
                   3);
  assert_true(rl_addr_equal(&w->y->s.endpoint, &evil));
  assert_int_equal(w->y->s.cur_key_id, 0);
  assert_int_equal(w->y->s.remote_index, 0x4242);
  sodium_memzero(&res, sizeof(res));
  hs_initiation_wipe(&st);
}

static void test_sess_wrong_peer_refused(void **state) {
  struct net *w = *state;
  struct fx_node *z = calloc(1, sizeof(*z));
  struct hs_initiation st = {0};
  struct hs_pending p;
  uint8_t init[HS_MSG_MAX];
  int n;
  assert_non_null(z);
  establish(w, w->x);
  /* z, a valid member, tries to take over x's session at y */
  assert_int_equal(fx_node_init(z, 30, &w->group, DC_CHACHA20POLY1305, DC_FMT_V2, 1000), 0);
  n = hs_init_create(&st, &z->hid, 0x10, 0, w->now, init, sizeof(init));
  assert_int_equal(hs_resp_parse_init(&w->y->n.resp, &z->addr, init, (size_t)n, w->now, &p,
                                      NULL, 0, NULL),
                   0);
  assert_int_equal(sess_respond(&w->y->s, &w->y->n.resp, &p, &z->addr, w->now), RL_EAUTH);
  assert_true(rl_addr_equal(&w->y->s.endpoint, &w->x->n.addr));
  assert_link_works(w);
  /* a pinned session refuses anyone else from the start */
  {
    struct sess s;
    sess_init(&s, &w->y->n.hid, NULL, 0x42, &z->addr);
    sess_pin_peer(&s, w->x->n.key.pk);
    n = hs_init_create(&st, &z->hid, 0x10, 0, w->now + 1, init, sizeof(init));
    assert_int_equal(hs_resp_parse_init(&w->y->n.resp, &z->addr, init, (size_t)n, w->now + 1,
                                        &p, NULL, 0, NULL),
                     0);
    assert_int_equal(sess_check_init(&s, &p), RL_EAUTH);
    assert_int_equal(sess_respond(&s, &w->y->n.resp, &p, &z->addr, w->now), RL_EAUTH);
    assert_int_equal(s.state, SESS_IDLE);
    sess_wipe(&s);
  }
  hs_initiation_wipe(&st);
  fx_node_wipe(z);
  free(z);
}

/* OpenVPN 2.7 epoch format (and AES-256-GCM where the CPU has it): the
 * same life cycle, negotiated in the handshake. */
static void test_sess_epoch_format(void **state) {
  struct net *w = *state;
  uint8_t old[256];
  size_t l;
  const enum dc_cipher c = dc_aes_available() ? DC_AES256GCM : DC_CHACHA20POLY1305;
  w->x->n.hid.fmt = DC_FMT_EPOCH;
  w->y->n.hid.fmt = DC_FMT_EPOCH;
  w->x->n.hid.cipher = c;
  w->y->n.hid.cipher = c;
  establish(w, w->x);
  assert_int_equal(w->x->s.fmt, DC_FMT_EPOCH);
  assert_int_equal(w->y->s.fmt, DC_FMT_EPOCH);
  assert_int_equal(w->x->s.cipher, c);
  l = hold_data(w, w->y, "old y->x", old);
  assert_int_equal(sess_rekey(&w->y->s, w->now), 0);
  pump(w);
  assert_int_equal(w->x->s.cur_key_id, 1);
  assert_link_works(w);
  assert_int_equal(deliver(w, w->y, w->x, old, l), 8); /* lame duck */
  run_until(w, w->now + 100 * NS_PER_S);
  assert_link_works(w);
}

/* ---- memory at rest ---- */

#if defined(__SANITIZE_ADDRESS__)
#define MEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEM_ASAN 1
#endif
#endif

struct heap_walk {
  size_t n;      /* allocations */
  size_t usable; /* malloc_usable_size sum */
};

static void walk_add(struct heap_walk *h, const void *p) {
  if (!p)
    return;
  h->n++;
  h->usable += malloc_usable_size((void *)p);
}

/* Everything a session owns on the heap, found through its pointers. */
static struct heap_walk sess_heap(const struct sess *s) {
  struct heap_walk h = {0, 0};
  for (int i = 0; i < SESS_NKEYS; i++) {
    const struct sess_key *k = s->keys[i];
    if (!k)
      continue;
    walk_add(&h, k);
    walk_add(&h, k->tx.aes_state);
    walk_add(&h, k->rx.aes_state);
    walk_add(&h, k->rx.ep);
  }
  for (int i = 0; i < SESS_OUTQ; i++)
    walk_add(&h, s->outq[i].big);
  return h;
}

#ifndef MEM_ASAN
/* A counting allocator for this test program: glibc's own allocator
 * underneath (so malloc_usable_size stays valid), live allocations and
 * bytes counted. Test-local state; ASan builds use ASan's allocator and its
 * leak check instead. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t a, size_t n);
extern void __libc_free(void *p);
static size_t live_bytes, live_allocs;

static void *counted(void *p) {
  if (p) {
    live_allocs++;
    live_bytes += malloc_usable_size(p);
  }
  return p;
}
void *malloc(size_t n) { return counted(__libc_malloc(n)); }
void *calloc(size_t n, size_t m) { return counted(__libc_calloc(n, m)); }
void *aligned_alloc(size_t a, size_t n) { return counted(__libc_memalign(a, n)); }
void *memalign(size_t a, size_t n) { return counted(__libc_memalign(a, n)); }
int posix_memalign(void **out, size_t a, size_t n) {
  void *p = __libc_memalign(a, n);
  if (!p)
    return 12; /* ENOMEM */
  *out = counted(p);
  return 0;
}
void free(void *p) {
  if (p) {
    live_allocs--;
    live_bytes -= malloc_usable_size(p);
  }
  __libc_free(p);
}
void *realloc(void *p, size_t n) {
  size_t old = p ? malloc_usable_size(p) : 0;
  void *q = __libc_realloc(p, n);
  if (!q)
    return q; /* p untouched (or n == 0 freed it: glibc returns NULL) */
  if (!p)
    live_allocs++;
  live_bytes = live_bytes - old + malloc_usable_size(q);
  return q;
}
#endif

/* Heap owned by an idle established session (one key, nothing queued), per
 * cipher and format: counted through the session's pointers and, outside
 * ASan, cross-checked with glibc's allocator statistics (nothing else may
 * have been allocated, and sess_wipe gives it all back). Also: a session
 * that was initialised but never started owns nothing, and sess_init on a
 * wiped session starts from nothing. */
static void test_sess_memory(void **state) {
  struct net *w = *state;
  const struct {
    enum dc_cipher c;
    enum dc_format f;
  } cases[] = {{DC_CHACHA20POLY1305, DC_FMT_V2},
               {DC_AES256GCM, DC_FMT_V2},
               {DC_CHACHA20POLY1305, DC_FMT_EPOCH},
               {DC_AES256GCM, DC_FMT_EPOCH}};
  struct sess_params sp = params();
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    if (cases[i].c == DC_AES256GCM && !dc_aes_available())
      continue;
    struct peer *ps[2] = {w->x, w->y};
    for (int j = 0; j < 2; j++) {
      sess_wipe(&ps[j]->s);
      ps[j]->n.hid.cipher = cases[i].c;
      ps[j]->n.hid.fmt = cases[i].f;
    }
#ifndef MEM_ASAN
    size_t base = live_bytes, base_n = live_allocs;
#endif
    sess_init(&w->x->s, &w->x->n.hid, &sp, 0x000100, &w->y->n.addr);
    sess_init(&w->y->s, &w->y->n.hid, &sp, 0x000200, &w->x->n.addr);
    assert_int_equal(sess_heap(&w->x->s).n, 0);
#ifndef MEM_ASAN
    assert_int_equal(live_allocs, base_n); /* never started: nothing */
    assert_int_equal(live_bytes, base);
#endif

    establish(w, w->x);
    run_until(w, w->now + 25 * NS_PER_S); /* idle: keepalives come and go */
    assert_link_works(w);
    pump(w);
    struct heap_walk hx = sess_heap(&w->x->s), hy = sess_heap(&w->y->s);
    assert_int_equal(w->x->s.outq_n, 0);
    assert_int_equal(hx.n, hy.n);
    /* one key: the key, an AES-GCM state per direction, epoch rx state */
    assert_int_equal(hx.n, 1 + (cases[i].c == DC_AES256GCM ? 2 : 0) +
                               (cases[i].f == DC_FMT_EPOCH ? 1 : 0));
#ifndef MEM_ASAN
    /* The allocator saw exactly what the walk found: nothing hidden. */
    assert_int_equal(live_allocs - base_n, hx.n + hy.n);
    assert_int_equal(live_bytes - base, hx.usable + hy.usable);
#endif
    /* glibc: a chunk costs its usable size plus an 8-byte header. */
    size_t total = sizeof(struct sess) + hx.usable + 8 * hx.n;
    print_message("sess memory %s/%s: sizeof(struct sess) %zu + heap %zu bytes in %zu "
                  "allocations (usable %zu) = %zu\n",
                  dc_cipher_name(cases[i].c), cases[i].f == DC_FMT_V2 ? "P_DATA_V2" : "epoch",
                  sizeof(struct sess), hx.usable + 8 * hx.n, hx.n, hx.usable, total);
    /* The budget for 100,000 simulated nodes: 4 KB per idle session in the
     * default format. */
    if (cases[i].f == DC_FMT_V2)
      assert_true(total <= 4096);
    sess_wipe(&w->x->s);
    sess_wipe(&w->y->s);
#ifndef MEM_ASAN
    assert_int_equal(live_allocs, base_n); /* wipe frees everything */
    assert_int_equal(live_bytes, base);
#endif
    /* wiped then initialised again, as the node core reuses a link */
    sess_init(&w->x->s, &w->x->n.hid, &sp, 0x000100, &w->y->n.addr);
    sess_init(&w->y->s, &w->y->n.hid, &sp, 0x000200, &w->x->n.addr);
  }
}

int main(void) {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_sess_handshake_and_data),  T(test_sess_init_lost),
      T(test_sess_gives_up),            T(test_sess_resp_lost),
      T(test_sess_replayed_init_refused), T(test_sess_replayed_resp_harmless),
      T(test_sess_rekey_lame_duck),     T(test_sess_key_id_sequence),
      T(test_sess_simultaneous_rekey),  T(test_sess_simultaneous_rekey_accept_path),
      T(test_sess_simultaneous_open),
      T(test_sess_pid_limit_rekey),     T(test_sess_exhausted_key_unreachable_peer),
      T(test_sess_rekey_timer),         T(test_sess_outq),
      T(test_sess_keepalive_and_dead),  T(test_sess_endpoint_follows),
      T(test_sess_cookie_under_load),   T(test_sess_peer_restart), T(test_sess_init_takes_effect_on_first_packet),
      T(test_sess_wrong_peer_refused),   T(test_sess_epoch_format),
      T(test_sess_memory),
  };
#undef T
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
