/* Unit tests: crypto/hs.c and crypto/cookie.c (the handshake messages).
 *
 *   A (initiator)                      B (responder)
 *     hs_init_create  --- HS_INIT --->   hs_resp_parse_init
 *                     <-- HS_COOKIE --   (only under load)
 *     hs_init_consume_resp <- HS_RESP -  hs_resp_finish
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "crypto/cookie.h"
#include "crypto/dc.h"
#include "crypto/hs.h"
#include "hs_fixture.h"

struct world {
  struct id_key group, other_group;
  struct fx_node *a, *b;
};

static int setup(void **state) {
  struct world *w = calloc(1, sizeof(*w));
  if (!w)
    return -1;
  fx_key_from_byte(&w->group, 1);
  fx_key_from_byte(&w->other_group, 2);
  w->a = calloc(1, sizeof(*w->a));
  w->b = calloc(1, sizeof(*w->b));
  if (!w->a || !w->b)
    return -1;
  if (fx_node_init(w->a, 10, &w->group, DC_CHACHA20POLY1305, DC_FMT_V2, 100) < 0 ||
      fx_node_init(w->b, 11, &w->group, DC_CHACHA20POLY1305, DC_FMT_V2, 100) < 0)
    return -1;
  *state = w;
  return 0;
}

static int teardown(void **state) {
  struct world *w = *state;
  fx_node_wipe(w->a);
  fx_node_wipe(w->b);
  free(w->a);
  free(w->b);
  sodium_memzero(w, sizeof(*w));
  free(w);
  return 0;
}

/* One full exchange; returns the HS_INIT length, fills both results. */
static int handshake(struct fx_node *i, struct fx_node *r, uint32_t i_idx, uint32_t r_idx,
                     uint8_t key_id, uint64_t now, struct hs_result *ri,
                     struct hs_result *rr) {
  uint8_t init[HS_MSG_MAX], resp[HS_MSG_MAX], ck[128];
  size_t cklen;
  struct hs_initiation st;
  struct hs_pending p;
  int n, m, rc;
  memset(&st, 0, sizeof(st));
  n = hs_init_create(&st, &i->hid, i_idx, key_id, now, init, sizeof(init));
  assert_true(n > 0);
  rc = hs_resp_parse_init(&r->resp, &i->addr, init, (size_t)n, now, &p, ck, sizeof(ck), &cklen);
  if (rc < 0)
    return rc;
  m = hs_resp_finish(&r->resp, &p, r_idx, now, resp, sizeof(resp), rr);
  assert_true(m > 0);
  rc = hs_init_consume_resp(&st, &i->hid, resp, (size_t)m, now + 5 * NS_PER_MS, ri);
  hs_initiation_wipe(&st);
  return rc < 0 ? rc : n;
}

/* Encrypts on `from`'s tx direction, decrypts on `to`'s rx direction. */
static void assert_keys_mirror(const struct hs_result *from, const struct hs_result *to) {
  struct dc_tx tx;
  struct dc_rx rx;
  uint8_t pkt[128], pt[128];
  static const uint8_t msg[] = "an ethernet frame, more or less";
  int n;
  assert_int_equal(
      dc_tx_init(&tx, from->cipher, from->fmt, from->key2, from->initiator ? 0 : 1), 0);
  assert_int_equal(dc_rx_init(&rx, to->cipher, to->fmt, to->key2, to->initiator ? 1 : 0), 0);
  n = dc_encrypt(&tx, from->key_id, from->remote_index, msg, sizeof(msg), pkt, sizeof(pkt));
  assert_true(n > 0);
  assert_int_equal(hs_pkt_index(pkt), to->local_index);
  assert_int_equal(dc_decrypt(&rx, pkt, (size_t)n, pt, sizeof(pt), 0, NULL), (int)sizeof(msg));
  assert_memory_equal(pt, msg, sizeof(msg));
  pkt[n - 1] ^= 1;
  assert_int_equal(dc_decrypt(&rx, pkt, (size_t)n, pt, sizeof(pt), 0, NULL), RL_EAUTH);
  dc_tx_wipe(&tx);
  dc_rx_wipe(&rx);
}

static void check_pair(const struct hs_result *ri, const struct hs_result *rr,
                       const struct fx_node *i, const struct fx_node *r, uint32_t i_idx,
                       uint32_t r_idx, uint8_t key_id) {
  assert_true(ri->initiator);
  assert_false(rr->initiator);
  assert_memory_equal(ri->key2, rr->key2, DC_KEY2_LEN);
  /* the two directions differ */
  assert_memory_not_equal(ri->key2, ri->key2 + 128, 128);
  assert_int_equal(ri->local_index, i_idx);
  assert_int_equal(ri->remote_index, r_idx);
  assert_int_equal(rr->local_index, r_idx);
  assert_int_equal(rr->remote_index, i_idx);
  assert_int_equal(ri->key_id, key_id);
  assert_int_equal(rr->key_id, key_id);
  assert_memory_equal(ri->peer_id, r->hid.id, RL_ID_LEN);
  assert_memory_equal(rr->peer_id, i->hid.id, RL_ID_LEN);
  assert_memory_equal(ri->peer_cert.node_pk, r->key.pk, RL_PK_LEN);
  assert_memory_equal(rr->peer_cert.node_pk, i->key.pk, RL_PK_LEN);
  assert_int_equal(ri->cipher, rr->cipher);
  assert_int_equal(ri->fmt, rr->fmt);
  assert_keys_mirror(ri, rr);
  assert_keys_mirror(rr, ri);
}

static void test_hs_complete_both_directions(void **state) {
  struct world *w = *state;
  struct hs_result ri, rr;
  uint64_t now = 100 * NS_PER_S;
  assert_true(handshake(w->a, w->b, 0x000101, 0xABCDEF, 0, now, &ri, &rr) > 0);
  check_pair(&ri, &rr, w->a, w->b, 0x000101, 0xABCDEF, 0);
  /* initiator's timestamp: unix ns of `now` */
  assert_true(rr.peer_timestamp == (uint64_t)(FX_UNIX0 + 100) * NS_PER_S);
  assert_true(handshake(w->b, w->a, 7, 9, 5, now + NS_PER_S, &ri, &rr) > 0);
  check_pair(&ri, &rr, w->b, w->a, 7, 9, 5);
  /* a second run gives fresh keys */
  {
    struct hs_result ri2, rr2;
    assert_true(handshake(w->b, w->a, 7, 9, 5, now + 2 * NS_PER_S, &ri2, &rr2) > 0);
    assert_memory_not_equal(ri.key2, ri2.key2, DC_KEY2_LEN);
  }
}

static void test_hs_negotiation(void **state) {
  struct world *w = *state;
  struct hs_result ri, rr;
  const bool aes = dc_aes_available();
  struct {
    enum dc_cipher ic, rc, want_c;
    enum dc_format ifmt, rfmt, want_f;
  } cases[] = {
      /* the responder's preference wins when the initiator can run it */
      {DC_CHACHA20POLY1305, DC_CHACHA20POLY1305, DC_CHACHA20POLY1305, DC_FMT_V2, DC_FMT_EPOCH,
       DC_FMT_EPOCH},
      {DC_AES256GCM, DC_CHACHA20POLY1305, DC_CHACHA20POLY1305, DC_FMT_EPOCH, DC_FMT_V2,
       DC_FMT_V2},
      /* AES only when both sides have it (the initiator advertises it) */
      {DC_CHACHA20POLY1305, DC_AES256GCM, aes ? DC_AES256GCM : DC_CHACHA20POLY1305, DC_FMT_V2,
       DC_FMT_V2, DC_FMT_V2},
      {DC_AES256GCM, DC_AES256GCM, aes ? DC_AES256GCM : DC_CHACHA20POLY1305, DC_FMT_EPOCH,
       DC_FMT_EPOCH, DC_FMT_EPOCH},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    w->a->hid.cipher = cases[i].ic;
    w->a->hid.fmt = cases[i].ifmt;
    w->b->hid.cipher = cases[i].rc;
    w->b->hid.fmt = cases[i].rfmt;
    if (!aes) { /* hs_identity_init would have downgraded these */
      if (w->a->hid.cipher == DC_AES256GCM)
        w->a->hid.cipher = DC_CHACHA20POLY1305;
      if (w->b->hid.cipher == DC_AES256GCM)
        w->b->hid.cipher = DC_CHACHA20POLY1305;
    }
    assert_true(handshake(w->a, w->b, 1, 2, 0, 10 * NS_PER_S, &ri, &rr) > 0);
    assert_int_equal(rr.cipher, cases[i].want_c);
    assert_int_equal(rr.fmt, cases[i].want_f);
    check_pair(&ri, &rr, w->a, w->b, 1, 2, 0);
  }
}

/* An identity in another group, patched to know our group key (mac1, psk):
 * only the certificate check can stop it. */
static struct fx_node *foreign_node(struct world *w, const struct id_key *signer,
                                    const char *gname, uint64_t nb, uint64_t na) {
  struct fx_node *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  assert_int_equal(fx_node_make_cert(c, 12, signer, gname, nb, na), 0);
  assert_int_equal(hs_identity_init(&c->hid, &c->env, &c->key, &c->cert, signer->pk,
                                    DC_CHACHA20POLY1305, DC_FMT_V2),
                   0);
  memcpy(c->hid.group_pk, w->group.pk, RL_PK_LEN);
  cookie_derive_keys(w->group.pk, c->hid.mac1_key, c->hid.cookie_key);
  strcpy(c->hid.cert.group, FX_GROUP);
  hs_responder_init(&c->resp, &c->hid, 100, 0);
  return c;
}

static void test_hs_bad_certificates(void **state) {
  struct world *w = *state;
  struct hs_result ri, rr;
  const uint64_t now = 50 * NS_PER_S, t = (uint64_t)FX_UNIX0;
  struct {
    const char *what;
    bool other_signer;
    const char *gname;
    uint64_t nb, na;
    int want;
  } cases[] = {
      {"signed by another group key", true, FX_GROUP, t - 10, t + 1000, RL_EFOREIGN},
      {"our key, other group name", false, "otherlan", t - 10, t + 1000, RL_EFOREIGN},
      {"expired", false, FX_GROUP, t - 1000, t - 10, RL_EEXPIRED},
      {"not yet valid", false, FX_GROUP, t + 1000, t + 2000, RL_EEXPIRED},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct fx_node *c = foreign_node(w, cases[i].other_signer ? &w->other_group : &w->group,
                                     cases[i].gname, cases[i].nb, cases[i].na);
    print_message("case: %s\n", cases[i].what);
    /* as initiator: the responder refuses the HS_INIT */
    assert_int_equal(handshake(c, w->b, 1, 2, 0, now, &ri, &rr), cases[i].want);
    /* as responder: the initiator refuses the HS_RESP */
    {
      uint8_t init[HS_MSG_MAX], resp[HS_MSG_MAX];
      struct hs_initiation st = {0};
      struct hs_pending p;
      int n = hs_init_create(&st, &w->a->hid, 3, 0, now, init, sizeof(init)), m;
      assert_true(n > 0);
      /* c accepts a's (valid) certificate; a refuses c's */
      assert_int_equal(
          hs_resp_parse_init(&c->resp, NULL, init, (size_t)n, now, &p, NULL, 0, NULL), 0);
      m = hs_resp_finish(&c->resp, &p, 4, now, resp, sizeof(resp), &rr);
      assert_true(m > 0);
      assert_int_equal(hs_init_consume_resp(&st, &w->a->hid, resp, (size_t)m, now, &ri),
                       cases[i].want);
      assert_true(st.active); /* still waiting for the real peer */
      hs_initiation_wipe(&st);
    }
    fx_node_wipe(c);
    free(c);
  }
}

/* The certificate is real but the signer of the HS_INIT is not its owner. */
static void test_hs_stolen_certificate(void **state) {
  struct world *w = *state;
  struct hs_result ri, rr;
  struct id_key thief;
  struct fx_node *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  *c = *w->a;
  hs_responder_init(&c->resp, &c->hid, 100, 0);
  c->hid.env = &c->env;
  c->env.rand_ctx = &c->rng;
  fx_key_from_byte(&thief, 77);
  memcpy(c->hid.key.sk, thief.sk, RL_SK_LEN);
  assert_int_equal(handshake(c, w->b, 1, 2, 0, NS_PER_S, &ri, &rr), RL_EAUTH);
  /* and with the X25519 key too: the signature still stops it */
  crypto_sign_ed25519_sk_to_curve25519(c->hid.x_sk, thief.sk);
  assert_int_equal(handshake(c, w->b, 1, 2, 0, NS_PER_S, &ri, &rr), RL_EAUTH);
  sodium_memzero(&thief, sizeof(thief));
  fx_node_wipe(c);
  free(c);
}

/* Recomputes mac1 as a group member (who knows the mac1 key) could. */
static void remac(const struct fx_node *n, uint8_t *msg, size_t len) {
  cookie_mac(msg + len - 2 * COOKIE_MAC_LEN, n->hid.mac1_key, 32, msg,
             len - 2 * COOKIE_MAC_LEN);
}

static void test_hs_tampered_init_every_offset(void **state) {
  struct world *w = *state;
  uint8_t init[HS_MSG_MAX], bad[HS_MSG_MAX], ck[128];
  struct hs_initiation st = {0};
  struct hs_pending p;
  size_t cklen;
  const uint64_t now = NS_PER_S;
  int n = hs_init_create(&st, &w->a->hid, 0x123456, 2, now, init, sizeof(init));
  size_t len;
  assert_true(n > 0);
  /* thousands of HS_INITs in one second: keep the load meter out of it */
  hs_responder_init(&w->b->resp, &w->b->hid, 1000000, now);
  len = (size_t)n;
  for (size_t off = 0; off < len; off++) {
    memcpy(bad, init, len);
    bad[off] ^= 0x01;
    int rc = hs_resp_parse_init(&w->b->resp, &w->a->addr, bad, len, now, &p, ck,
                                sizeof(ck), &cklen);
    if (off >= len - COOKIE_MAC_LEN) {
      /* mac2 is only looked at under load (see test_hs_cookie_*) */
      assert_int_equal(rc, 0);
      hs_pending_wipe(&p);
      continue;
    }
    /* receiver index must be HS_INDEX_UNDEF: malformed; else mac1 fails */
    assert_int_equal(rc, off >= 1 && off <= 3 ? RL_ETRUNC : RL_EAUTH);
    if (off >= len - 2 * COOKIE_MAC_LEN || (off >= 1 && off <= 3))
      continue;
    /* a member who can recompute mac1 still cannot change a byte */
    remac(w->a, bad, len);
    rc = hs_resp_parse_init(&w->b->resp, &w->a->addr, bad, len, now, &p, ck, sizeof(ck),
                            &cklen);
    assert_int_equal(rc, RL_EAUTH);
  }
  /* opcode bits */
  memcpy(bad, init, len);
  bad[0] ^= 0x80;
  assert_int_equal(hs_resp_parse_init(&w->b->resp, NULL, bad, len, now, &p, NULL, 0, NULL),
                   RL_ETRUNC);
  /* every truncation */
  for (size_t l = 0; l < len; l++)
    assert_true(hs_resp_parse_init(&w->b->resp, NULL, init, l, now, &p, NULL, 0, NULL) < 0);
  /* the original still works */
  assert_int_equal(hs_resp_parse_init(&w->b->resp, NULL, init, len, now, &p, NULL, 0, NULL), 0);
  assert_int_equal(p.key_id, 2);
  assert_int_equal(p.remote_index, 0x123456);
  hs_pending_wipe(&p);
  hs_initiation_wipe(&st);
}

static void test_hs_tampered_resp_every_offset(void **state) {
  struct world *w = *state;
  uint8_t init[HS_MSG_MAX], resp[HS_MSG_MAX], bad[HS_MSG_MAX];
  struct hs_initiation st = {0};
  struct hs_pending p;
  struct hs_result ri, rr;
  const uint64_t now = NS_PER_S;
  int n = hs_init_create(&st, &w->a->hid, 0x000042, 1, now, init, sizeof(init)), m;
  size_t len;
  assert_true(n > 0);
  assert_int_equal(
      hs_resp_parse_init(&w->b->resp, NULL, init, (size_t)n, now, &p, NULL, 0, NULL), 0);
  m = hs_resp_finish(&w->b->resp, &p, 0x000777, now, resp, sizeof(resp), &rr);
  assert_true(m > 0);
  len = (size_t)m;
  for (size_t off = 0; off < len; off++) {
    memcpy(bad, resp, len);
    bad[off] ^= 0x01;
    assert_int_equal(hs_init_consume_resp(&st, &w->a->hid, bad, len, now, &ri), RL_EAUTH);
    if (off < len - 2 * COOKIE_MAC_LEN) {
      remac(w->b, bad, len);
      assert_int_equal(hs_init_consume_resp(&st, &w->a->hid, bad, len, now, &ri), RL_EAUTH);
    }
    assert_true(st.active); /* forgeries leave the initiation intact */
  }
  for (size_t l = 0; l < len; l++)
    assert_true(hs_init_consume_resp(&st, &w->a->hid, resp, l, now, &ri) < 0);
  memcpy(bad, resp, len);
  bad[0] ^= 0x80; /* not an HS_RESP at all */
  assert_int_equal(hs_init_consume_resp(&st, &w->a->hid, bad, len, now, &ri), RL_ETRUNC);
  /* the genuine one still completes, once */
  assert_int_equal(hs_init_consume_resp(&st, &w->a->hid, resp, len, now, &ri), 0);
  check_pair(&ri, &rr, w->a, w->b, 0x42, 0x777, 1);
  assert_int_equal(hs_init_consume_resp(&st, &w->a->hid, resp, len, now, &ri), RL_ESTATE);
  hs_initiation_wipe(&st);
}

static void test_hs_wrong_group_mac1(void **state) {
  struct world *w = *state;
  struct hs_result ri, rr;
  struct fx_node *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  /* a member of another group entirely: dropped at mac1, before any DH */
  assert_int_equal(fx_node_init(c, 13, &w->other_group, DC_CHACHA20POLY1305, DC_FMT_V2, 100), 0);
  assert_int_equal(handshake(c, w->b, 1, 2, 0, NS_PER_S, &ri, &rr), RL_EAUTH);
  fx_node_wipe(c);
  free(c);
}

/* Under load (threshold 0: every HS_INIT is "load") the responder answers
 * with a cookie; the next HS_INIT carries mac2 and is accepted. */
static void test_hs_cookie_flow(void **state) {
  struct world *w = *state;
  uint8_t init[HS_MSG_MAX], ck[128], resp[HS_MSG_MAX];
  struct hs_initiation st = {0};
  struct hs_pending p;
  struct hs_result ri, rr;
  size_t cklen = 0;
  uint64_t now = 5 * NS_PER_S;
  int n, m;
  struct rl_addr elsewhere;
  hs_responder_init(&w->b->resp, &w->b->hid, 0, now);
  n = hs_init_create(&st, &w->a->hid, 0x10, 0, now, init, sizeof(init));
  assert_int_equal(hs_resp_parse_init(&w->b->resp, &w->a->addr, init, (size_t)n, now, &p, ck,
                                      sizeof(ck), &cklen),
                   RL_EAGAIN);
  assert_int_equal(cklen, COOKIE_MSG_LEN);
  assert_int_equal(ck[0] >> 3, HS_OP_COOKIE);
  assert_int_equal(hs_pkt_index(ck), 0x10);
  /* a tampered cookie reply is refused and not stored */
  ck[20] ^= 1;
  assert_int_equal(hs_init_consume_cookie(&st, &w->a->hid, ck, cklen, now), RL_EAUTH);
  assert_false(st.has_cookie);
  ck[20] ^= 1;
  assert_int_equal(hs_init_consume_cookie(&st, &w->a->hid, ck, cklen - 1, now), RL_ETRUNC);
  assert_int_equal(hs_init_consume_cookie(&st, &w->a->hid, ck, cklen, now), 0);
  assert_true(st.has_cookie);
  /* the retry carries mac2 */
  now += NS_PER_S;
  n = hs_init_create(&st, &w->a->hid, 0x10, 0, now, init, sizeof(init));
  assert_memory_not_equal(init + n - COOKIE_MAC_LEN, (uint8_t[COOKIE_MAC_LEN]){0}, COOKIE_MAC_LEN);
  /* from another address the cookie does not match */
  rl_addr_set_ipv4(&elsewhere, 0xC6336401u, 9); /* 198.51.100.1 */
  assert_int_equal(hs_resp_parse_init(&w->b->resp, &elsewhere, init, (size_t)n, now, &p, ck,
                                      sizeof(ck), &cklen),
                   RL_EAGAIN);
  assert_int_equal(hs_resp_parse_init(&w->b->resp, &w->a->addr, init, (size_t)n, now, &p, ck,
                                      sizeof(ck), &cklen),
                   0);
  m = hs_resp_finish(&w->b->resp, &p, 0x20, now, resp, sizeof(resp), &rr);
  assert_true(m > 0);
  assert_int_equal(hs_init_consume_resp(&st, &w->a->hid, resp, (size_t)m, now, &ri), 0);
  check_pair(&ri, &rr, w->a, w->b, 0x10, 0x20, 0);
  /* a tampered mac2 under load: cookie reply again, not accepted */
  n = hs_init_create(&st, &w->a->hid, 0x10, 1, now, init, sizeof(init));
  init[n - 1] ^= 1;
  assert_int_equal(hs_resp_parse_init(&w->b->resp, &w->a->addr, init, (size_t)n, now, &p, ck,
                                      sizeof(ck), &cklen),
                   RL_EAGAIN);
  /* the cookie secret rotates after 120 s: the old cookie stops working */
  now += COOKIE_SECRET_ROTATE_NS;
  st.cookie_at_ns = now; /* pretend the initiator got it just now */
  n = hs_init_create(&st, &w->a->hid, 0x10, 1, now, init, sizeof(init));
  assert_int_equal(hs_resp_parse_init(&w->b->resp, &w->a->addr, init, (size_t)n, now, &p, ck,
                                      sizeof(ck), &cklen),
                   RL_EAGAIN);
  /* an initiator forgets its cookie after 120 s: mac2 is zero again */
  now += COOKIE_VALID_NS;
  n = hs_init_create(&st, &w->a->hid, 0x10, 1, now, init, sizeof(init));
  assert_false(st.has_cookie);
  assert_memory_equal(init + n - COOKIE_MAC_LEN, (uint8_t[COOKIE_MAC_LEN]){0}, COOKIE_MAC_LEN);
  /* a cookie reply for another index or with no initiation is refused */
  assert_int_equal(hs_resp_parse_init(&w->b->resp, &w->a->addr, init, (size_t)n, now, &p, ck,
                                      sizeof(ck), &cklen),
                   RL_EAGAIN);
  ck[3] ^= 1;
  assert_int_equal(hs_init_consume_cookie(&st, &w->a->hid, ck, cklen, now), RL_EAUTH);
  ck[3] ^= 1;
  hs_initiation_wipe(&st);
  assert_int_equal(hs_init_consume_cookie(&st, &w->a->hid, ck, cklen, now), RL_ESTATE);
}

/* Threshold 1: one HS_INIT per second passes without a cookie. */
static void test_hs_cookie_load_meter(void **state) {
  struct world *w = *state;
  uint8_t init[HS_MSG_MAX], ck[128];
  struct hs_initiation st = {0};
  struct hs_pending p;
  size_t cklen;
  uint64_t now = 3 * NS_PER_S;
  int n;
  hs_responder_init(&w->b->resp, &w->b->hid, 1, now);
  n = hs_init_create(&st, &w->a->hid, 1, 0, now, init, sizeof(init));
  assert_int_equal(hs_resp_parse_init(&w->b->resp, &w->a->addr, init, (size_t)n, now, &p, ck,
                                      sizeof(ck), &cklen),
                   0);
  hs_pending_wipe(&p);
  assert_int_equal(hs_resp_parse_init(&w->b->resp, &w->a->addr, init, (size_t)n,
                                      now + 500 * NS_PER_MS, &p, ck, sizeof(ck), &cklen),
                   RL_EAGAIN);
  /* next second: the meter starts over */
  assert_int_equal(hs_resp_parse_init(&w->b->resp, &w->a->addr, init, (size_t)n,
                                      now + 1500 * NS_PER_MS, &p, ck, sizeof(ck), &cklen),
                   0);
  hs_pending_wipe(&p);
  /* strangers (bad mac1) are not answered with cookies */
  init[10] ^= 1;
  assert_int_equal(hs_resp_parse_init(&w->b->resp, &w->a->addr, init, (size_t)n,
                                      now + 1600 * NS_PER_MS, &p, ck, sizeof(ck), &cklen),
                   RL_EAUTH);
  assert_int_equal(cklen, 0);
  hs_initiation_wipe(&st);
}

static void test_hs_timestamp_increases(void **state) {
  struct world *w = *state;
  uint8_t init[HS_MSG_MAX];
  struct hs_initiation st = {0};
  struct hs_pending p;
  uint64_t ts[3];
  /* the third one is a restarted node: monotonic clock back near 0, but the
   * unix offset moved on */
  const uint64_t at[3] = {10 * NS_PER_S, 10 * NS_PER_S + 1, 2 * NS_PER_S};
  for (int i = 0; i < 3; i++) {
    if (i == 2)
      w->a->env.unix_offset_s += 60;
    int n = hs_init_create(&st, &w->a->hid, 1, 0, at[i], init, sizeof(init));
    assert_int_equal(
        hs_resp_parse_init(&w->b->resp, NULL, init, (size_t)n, at[i], &p, NULL, 0, NULL), 0);
    ts[i] = p.peer_timestamp;
    hs_pending_wipe(&p);
  }
  assert_true(ts[0] < ts[1]);
  assert_true(ts[1] < ts[2]);
  hs_initiation_wipe(&st);
}

static void test_hs_identity_checks(void **state) {
  struct world *w = *state;
  struct hs_identity hid;
  struct cert c = w->a->cert;
  assert_int_equal(hs_identity_init(&hid, &w->a->env, &w->b->key, &c, w->group.pk,
                                    DC_CHACHA20POLY1305, DC_FMT_V2),
                   RL_EINVAL); /* someone else's certificate */
  assert_int_equal(hs_identity_init(&hid, &w->a->env, &w->a->key, &c, w->other_group.pk,
                                    DC_CHACHA20POLY1305, DC_FMT_V2),
                   RL_EINVAL); /* certificate from another group */
  assert_int_equal(hs_identity_init(&hid, &w->a->env, &w->a->key, &c, w->group.pk,
                                    (enum dc_cipher)9, DC_FMT_V2),
                   RL_EINVAL);
  assert_int_equal(hs_identity_init(&hid, &w->a->env, &w->a->key, &c, w->group.pk,
                                    DC_AES256GCM, DC_FMT_EPOCH),
                   0);
  assert_int_equal(hid.cipher, dc_aes_available() ? DC_AES256GCM : DC_CHACHA20POLY1305);
  hs_identity_wipe(&hid);
}

/* The simulator's crypto stand-in (crypto/standin.h): two stand-in nodes
 * complete the handshake with mirrored keys and the same message sizes;
 * a stand-in node and a real one cannot (so the switch really swaps the
 * primitives); a stand-in data channel detects changed bytes and keys. */
static void reinit_standin(struct fx_node *n, const struct id_key *group, bool on) {
  hs_responder_wipe(&n->resp);
  hs_identity_wipe(&n->hid);
  n->env.crypto_standin = on;
  assert_int_equal(hs_identity_init(&n->hid, &n->env, &n->key, &n->cert, group->pk,
                                    DC_CHACHA20POLY1305, DC_FMT_V2),
                   0);
  hs_responder_init(&n->resp, &n->hid, 100, 0);
}

static void test_hs_crypto_standin(void **state) {
  struct world *w = *state;
  struct hs_result ri, rr;
  uint64_t now = 100 * NS_PER_S;
  int real_len = handshake(w->a, w->b, 1, 2, 0, now, &ri, &rr);
  assert_true(real_len > 0);
  reinit_standin(w->a, &w->group, true);
  reinit_standin(w->b, &w->group, true);
  assert_int_equal(handshake(w->a, w->b, 1, 2, 0, now, &ri, &rr), real_len);
  check_pair(&ri, &rr, w->a, w->b, 1, 2, 0);
  /* stand-in data channel: the packet is as long as a real one */
  {
    struct dc_tx tx, rtx;
    struct dc_rx rx;
    uint8_t pkt[128], rpkt[128], pt[128];
    static const uint8_t msg[] = "a frame through the stand-in";
    assert_int_equal(dc_tx_init(&tx, ri.cipher, ri.fmt, ri.key2, 0), 0);
    assert_int_equal(dc_tx_init(&rtx, ri.cipher, ri.fmt, ri.key2, 0), 0);
    assert_int_equal(dc_rx_init(&rx, rr.cipher, rr.fmt, rr.key2, 0), 0);
    tx.standin = rx.standin = true;
    int n = dc_encrypt(&tx, 0, 7, msg, sizeof(msg), pkt, sizeof(pkt));
    assert_int_equal(dc_encrypt(&rtx, 0, 7, msg, sizeof(msg), rpkt, sizeof(rpkt)), n);
    assert_memory_not_equal(pkt, rpkt, (size_t)n); /* really not the real AEAD */
    pkt[n - 1] ^= 1;
    assert_int_equal(dc_decrypt(&rx, pkt, (size_t)n, pt, sizeof(pt), 0, NULL), RL_EAUTH);
    pkt[n - 1] ^= 1;
    assert_int_equal(dc_decrypt(&rx, pkt, (size_t)n, pt, sizeof(pt), 0, NULL), (int)sizeof(msg));
    assert_memory_equal(pt, msg, sizeof(msg));
    rx.standin = false; /* a real receiver refuses a stand-in packet */
    n = dc_encrypt(&tx, 0, 7, msg, sizeof(msg), pkt, sizeof(pkt));
    assert_int_equal(dc_decrypt(&rx, pkt, (size_t)n, pt, sizeof(pt), 0, NULL), RL_EAUTH);
    dc_tx_wipe(&tx);
    dc_tx_wipe(&rtx);
    dc_rx_wipe(&rx);
  }
  /* mixed: a real responder refuses a stand-in initiator, and back */
  reinit_standin(w->b, &w->group, false);
  assert_true(handshake(w->a, w->b, 1, 2, 0, now, &ri, &rr) < 0);
  assert_true(handshake(w->b, w->a, 1, 2, 0, now, &ri, &rr) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_hs_complete_both_directions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_negotiation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_bad_certificates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_stolen_certificate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_tampered_init_every_offset, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_tampered_resp_every_offset, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_wrong_group_mac1, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_cookie_flow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_cookie_load_meter, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_timestamp_increases, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_identity_checks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hs_crypto_standin, setup, teardown),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
