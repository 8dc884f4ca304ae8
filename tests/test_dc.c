/* Unit tests: crypto/dc*.c — the OpenVPN-compatible data channel.
 *
 * Captured OpenVPN packets (tests/data/ .vec files) must decrypt and re-encrypt
 * byte for byte; every flipped bit must fail authentication without touching
 * the receive state; replay, limits and epoch handling are table-driven with
 * time advanced by hand. AES-GCM cases are skipped (reported by cmocka) on a
 * CPU without AES-NI. */
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

#include "crypto/dc.h"
#include "crypto/dc_kdf.h"
#include "crypto/dc_vec.h"
#include "util/env.h"

#define VEC_V2 RL_TEST_DATA "/tls26-aes256gcm.vec"
#define VEC_EPOCH RL_TEST_DATA "/tls27-epoch-aes256gcm.vec"

/* Deep copy of a receive state (the struct and what it owns), to check
 * that a refused packet changes nothing. */
struct rx_snap {
  struct dc_rx rx;
  uint8_t aes[DC_AES_STATE_LEN];
  struct dc_rx_epochs ep;
};

static void rx_snap_take(struct rx_snap *s, const struct dc_rx *rx) {
  memset(s, 0, sizeof(*s));
  memcpy(&s->rx, rx, sizeof(*rx));
  if (rx->aes_state)
    memcpy(s->aes, rx->aes_state, DC_AES_STATE_LEN);
  if (rx->ep)
    memcpy(&s->ep, rx->ep, sizeof(s->ep));
}

static void rx_snap_check(const struct rx_snap *s, const struct dc_rx *rx) {
  struct rx_snap *now = malloc(sizeof(*now));
  assert_non_null(now);
  rx_snap_take(now, rx);
  assert_memory_equal(now, s, sizeof(*now));
  free(now);
}

static void hex(uint8_t *out, size_t n, const char *h) {
  assert_int_equal(rl_hex_decode(out, n, h, strlen(h)), (int)n);
}

/* Loads every vector of a file (fails the test on a malformed line). */
static struct dc_vec *load_vectors(const char *path, size_t *count) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  struct dc_vec *v = NULL;
  size_t n = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) >= 0) {
    struct dc_vec tmp;
    const char *why = NULL;
    int r = dc_vec_parse_line(line, (size_t)len, &tmp, &why);
    if (r < 0)
      fail_msg("%s: malformed line %zu: %s", path, n + 1, why);
    if (r == 0)
      continue;
    v = realloc(v, (n + 1) * sizeof(*v));
    assert_non_null(v);
    v[n++] = tmp;
  }
  free(line);
  fclose(f);
  *count = n;
  return v;
}

static uint16_t pkt_epoch(const struct dc_vec *v) {
  return (uint16_t)(v->pkt[4] << 8 | v->pkt[5]);
}

/* Decrypts one vector with a fresh rx and re-encrypts it; returns the
 * plaintext length and whether it was a keepalive. */
static int roundtrip_vector(const struct dc_vec *v, bool *keepalive) {
  struct dc_rx rx;
  struct dc_tx tx;
  uint8_t pt[DC_VEC_PKT_MAX], out[DC_VEC_PKT_MAX + DC_OVERHEAD_MAX];
  uint64_t pid = 0;
  struct dc_hdr h;
  assert_int_equal(dc_rx_init_raw(&rx, v->cipher, v->fmt, v->key, v->iv), 0);
  assert_int_equal(dc_tx_init_raw(&tx, v->cipher, v->fmt, v->key, v->iv), 0);
  if (v->fmt == DC_FMT_EPOCH)
    rx.epoch = tx.epoch = pkt_epoch(v);
  int n = dc_decrypt(&rx, v->pkt, v->pkt_len, pt, sizeof(pt), 0, &pid);
  assert_true(n >= 0);
  assert_int_equal((size_t)n, v->pkt_len - (v->fmt == DC_FMT_V2 ? DC_HDR_V2 : DC_OVERHEAD_MAX));
  assert_int_equal(dc_peek(v->pkt, v->pkt_len, &h), 0);
  assert_int_equal(h.opcode, DC_OP_DATA_V2);
  int m = dc_encrypt_pid(&tx, h.key_id, h.peer_id, pid, pt, (size_t)n, out, sizeof(out));
  assert_int_equal(m, (int)v->pkt_len);
  assert_memory_equal(out, v->pkt, v->pkt_len);
  *keepalive = dc_is_keepalive(pt, (size_t)n);
  dc_rx_wipe(&rx);
  dc_tx_wipe(&tx);
  return n;
}

static void check_vector_file(const char *path, size_t expect_lines, enum dc_format fmt) {
  if (!dc_aes_available())
    skip();
  size_t n;
  struct dc_vec *v = load_vectors(path, &n);
  assert_int_equal(n, expect_lines);
  unsigned keepalives = 0;
  for (size_t i = 0; i < n; i++) {
    bool ka = false;
    assert_int_equal(v[i].fmt, fmt);
    int len = roundtrip_vector(&v[i], &ka);
    if (ka) {
      keepalives++;
      assert_int_equal(len, 16);
      assert_int_equal(v[i].pkt_len, fmt == DC_FMT_V2 ? 40 : 44);
    }
  }
  assert_true(keepalives >= 1); /* --ping 2 keepalives were captured */
  free(v);
}

static void test_vectors_v2(void **state) {
  (void)state;
  check_vector_file(VEC_V2, 19, DC_FMT_V2);
}

static void test_vectors_epoch(void **state) {
  (void)state;
  check_vector_file(VEC_EPOCH, 18, DC_FMT_EPOCH);
}

/* Every single-bit change anywhere in a captured packet fails with RL_EAUTH
 * and leaves rx (keys, windows, epochs) exactly as it was. */
static void flip_all_bits(const char *path) {
  if (!dc_aes_available())
    skip();
  size_t n;
  struct dc_vec *v = load_vectors(path, &n);
  struct dc_rx *rx = calloc(1, sizeof(*rx));
  struct rx_snap *before = malloc(sizeof(*before));
  assert_non_null(rx);
  assert_non_null(before);
  uint8_t pt[DC_VEC_PKT_MAX];
  for (size_t i = 0; i < n; i++) {
    dc_rx_wipe(rx); /* init does not free an earlier init's state */
    assert_int_equal(dc_rx_init_raw(rx, v[i].cipher, v[i].fmt, v[i].key, v[i].iv), 0);
    if (v[i].fmt == DC_FMT_EPOCH)
      rx->epoch = pkt_epoch(&v[i]);
    rx_snap_take(before, rx);
    for (size_t bit = 0; bit < v[i].pkt_len * 8; bit++) {
      uint8_t pkt[DC_VEC_PKT_MAX];
      memcpy(pkt, v[i].pkt, v[i].pkt_len);
      pkt[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      assert_int_equal(dc_decrypt(rx, pkt, v[i].pkt_len, pt, sizeof(pt), 0, NULL), RL_EAUTH);
      rx_snap_check(before, rx);
    }
    /* The untouched packet still verifies afterwards. */
    assert_true(dc_decrypt(rx, v[i].pkt, v[i].pkt_len, pt, sizeof(pt), 0, NULL) >= 0);
  }
  dc_rx_wipe(rx);
  free(rx);
  free(before);
  free(v);
}

static void test_bitflip_v2(void **state) {
  (void)state;
  flip_all_bits(VEC_V2);
}

static void test_bitflip_epoch(void **state) {
  (void)state;
  flip_all_bits(VEC_EPOCH);
}

/* OpenVPN 2.7.6's logged keys (tls27-epoch keys.txt, section "KDF check" and
 * "Incoming Epoch Data key N") are the known answers for our KDF. */
static void test_epoch_kdf_known_answers(void **state) {
  (void)state;
  static const struct {
    const char *e1, *key1, *iv1, *key2, *key17;
  } kat[] = {
      {"2086cc3e57cbadc5e18e16b941e964fcbf0364aa7985bdb31c03674747371961",
       "02aa901ef27128ad2d7d4dc996529cf4fdd818efc794b1bc21c27ada2c5ebf1d",
       "15d52058bf42c29054301ad2",
       "0371e747a1d59a083726a1d7a505f10d5e5f15310b18e03d6e63d0535d64155d",
       "d9f8121e4f24692685c28d135f5fa7bcecf35d6b3afc2e7c5fa4b1792329d84f"},
      {"5cd0ccbedbcf5d9834897fcf44d327547a04e3947b7d70b6d253cf6a2f9e1618",
       "fc216e800bffb764bf41aa45c25d5393ae590e99d7639bf3a1bd2c3c9086300f",
       "78e868eed4d4a7981d36ec37",
       "00438e1119d944134b96d3fec385714ef1fb22672a20977bae19e66443f7dbbf",
       "73c9e2f6b2fff554332e601b416aa821fc90831bfce4814096f0a975393aded5"},
  };
  for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
    uint8_t e[32], key[32], iv[12], want[32], want_iv[12];
    hex(e, 32, kat[i].e1);
    dc_epoch_data_key(e, key, iv);
    hex(want, 32, kat[i].key1);
    hex(want_iv, 12, kat[i].iv1);
    assert_memory_equal(key, want, 32);
    assert_memory_equal(iv, want_iv, 12);

    /* Through the key2 layout: keys[1].cipher[0:32] = E1, receive side
     * precomputes epochs 2..17. */
    uint8_t key2[DC_KEY2_LEN];
    memset(key2, 0xA5, sizeof(key2));
    memcpy(key2 + 128, e, 32);
    struct dc_rx rx;
    assert_int_equal(dc_rx_init(&rx, DC_CHACHA20POLY1305, DC_FMT_EPOCH, key2, 1), 0);
    assert_int_equal(rx.epoch, 1);
    assert_memory_equal(rx.key, want, 32);
    assert_memory_equal(rx.iv, want_iv, 12);
    hex(want, 32, kat[i].key2);
    assert_non_null(rx.ep);
    assert_int_equal(rx.ep->future[0].epoch, 2);
    assert_memory_equal(rx.ep->future[0].key, want, 32);
    hex(want, 32, kat[i].key17);
    assert_int_equal(rx.ep->future[DC_EPOCH_FUTURE - 1].epoch, 17);
    assert_memory_equal(rx.ep->future[DC_EPOCH_FUTURE - 1].key, want, 32);
    dc_rx_wipe(&rx);
  }
  /* Label limits. */
  uint8_t s[32] = {0}, o[32];
  assert_int_equal(dc_expand_label(s, "", 0, NULL, 0, o, 32), RL_EINVAL);
  assert_int_equal(dc_expand_label(s, "x", 1, NULL, 0, o, 0), RL_EINVAL);
  assert_int_equal(dc_expand_label(s, "x", 1, NULL, 0, o, 32), 0);
}

/* key2 layout: the v2 vector's sender key and implicit IV placed into
 * keys[0].cipher[0:32] / keys[0].hmac[0:8] reproduce the captured packet;
 * the epoch vector's E1 (A's "Master Decrypt" = A's send E1) in keys[1]. */
static void test_key2_layout_matches_vectors(void **state) {
  (void)state;
  if (!dc_aes_available())
    skip();
  size_t n;
  struct dc_vec *v = load_vectors(VEC_V2, &n);
  uint8_t key2[DC_KEY2_LEN], out[256], pt[256];
  memset(key2, 0x11, sizeof(key2));
  memcpy(key2, v[0].key, 32);
  memcpy(key2 + 64, v[0].iv, 8);
  struct dc_tx tx;
  struct dc_rx rx;
  assert_int_equal(dc_tx_init(&tx, DC_AES256GCM, DC_FMT_V2, key2, 0), 0);
  assert_int_equal(dc_rx_init(&rx, DC_AES256GCM, DC_FMT_V2, key2, 0), 0);
  int len = dc_decrypt(&rx, v[0].pkt, v[0].pkt_len, pt, sizeof(pt), 0, NULL);
  assert_true(len > 0);
  /* First packet of the session: dc_encrypt uses packet id 1 itself. */
  assert_int_equal(dc_encrypt(&tx, 0, 0x79da50, pt, (size_t)len, out, sizeof(out)),
                   (int)v[0].pkt_len);
  assert_memory_equal(out, v[0].pkt, v[0].pkt_len);
  free(v);
  dc_tx_wipe(&tx);
  dc_rx_wipe(&rx);

  v = load_vectors(VEC_EPOCH, &n);
  uint8_t e1[32];
  hex(e1, 32, "2086cc3e57cbadc5e18e16b941e964fcbf0364aa7985bdb31c03674747371961");
  memset(key2, 0x22, sizeof(key2));
  memcpy(key2 + 128, e1, 32);
  assert_int_equal(dc_tx_init(&tx, DC_AES256GCM, DC_FMT_EPOCH, key2, 1), 0);
  assert_int_equal(dc_rx_init(&rx, DC_AES256GCM, DC_FMT_EPOCH, key2, 1), 0);
  unsigned matched = 0;
  for (size_t i = 0; i < n; i++) {
    if (memcmp(v[i].key, tx.key, 32))
      continue; /* the other direction */
    uint64_t pid;
    struct dc_hdr h;
    len = dc_decrypt(&rx, v[i].pkt, v[i].pkt_len, pt, sizeof(pt), 0, &pid);
    assert_true(len >= 0);
    dc_peek(v[i].pkt, v[i].pkt_len, &h);
    assert_int_equal(dc_encrypt_pid(&tx, h.key_id, h.peer_id, pid, pt, (size_t)len, out,
                                    sizeof(out)),
                     (int)v[i].pkt_len);
    assert_memory_equal(out, v[i].pkt, v[i].pkt_len);
    matched++;
  }
  assert_true(matched >= 5);
  dc_tx_wipe(&tx);
  dc_rx_wipe(&rx);
  free(v);
}

static void fill_key2(uint8_t key2[DC_KEY2_LEN], uint8_t seed) {
  for (size_t i = 0; i < DC_KEY2_LEN; i++)
    key2[i] = (uint8_t)(seed + i * 7);
}

/* Both ciphers and formats, both key2 directions; the wrong direction's key
 * never verifies; the header bytes sit where OpenVPN puts them. */
static void test_roundtrip_key2_both_directions(void **state) {
  (void)state;
  const enum dc_cipher ciphers[] = {DC_AES256GCM, DC_CHACHA20POLY1305};
  const enum dc_format fmts[] = {DC_FMT_V2, DC_FMT_EPOCH};
  uint8_t key2[DC_KEY2_LEN];
  fill_key2(key2, 3);
  for (size_t c = 0; c < 2; c++) {
    if (ciphers[c] == DC_AES256GCM && !dc_aes_available())
      continue;
    for (size_t f = 0; f < 2; f++) {
      bool v2 = fmts[f] == DC_FMT_V2;
      for (int dir = 0; dir < 2; dir++) {
        struct dc_tx tx;
        struct dc_rx rx, wrong;
        assert_int_equal(dc_tx_init(&tx, ciphers[c], fmts[f], key2, dir), 0);
        assert_int_equal(dc_rx_init(&rx, ciphers[c], fmts[f], key2, dir), 0);
        assert_int_equal(dc_rx_init(&wrong, ciphers[c], fmts[f], key2, 1 - dir), 0);
        uint8_t msg[1514], out[1514 + DC_OVERHEAD_MAX], pt[1514];
        for (size_t i = 0; i < sizeof(msg); i++)
          msg[i] = (uint8_t)(i ^ dir);
        const size_t lens[] = {0, 1, 16, 60, 1514};
        for (size_t k = 0; k < 5; k++) {
          int n = dc_encrypt(&tx, 5, 0xabcdef, msg, lens[k], out, sizeof(out));
          assert_int_equal(n, (int)lens[k] + (v2 ? DC_HDR_V2 : DC_OVERHEAD_MAX));
          assert_int_equal(out[0], 0x48 | 5);
          assert_int_equal(out[1], 0xab);
          assert_int_equal(out[2], 0xcd);
          assert_int_equal(out[3], 0xef);
          if (v2) {
            assert_int_equal(out[7], k + 1); /* 32-bit id, big-endian */
            assert_int_equal(out[4] | out[5] | out[6], 0);
          } else {
            assert_int_equal(out[5], 1); /* epoch 1 */
            assert_int_equal(out[11], k + 1); /* 48-bit counter */
          }
          assert_int_equal(dc_decrypt(&wrong, out, (size_t)n, pt, sizeof(pt), 0, NULL),
                           RL_EAUTH);
          uint64_t pid = 0;
          assert_int_equal(dc_decrypt(&rx, out, (size_t)n, pt, sizeof(pt), 0, &pid),
                           (int)lens[k]);
          assert_memory_equal(pt, msg, lens[k]);
          assert_int_equal(pid, v2 ? k + 1 : (1ull << 48) + k + 1);
        }
        dc_tx_wipe(&tx);
        dc_rx_wipe(&rx);
        dc_rx_wipe(&wrong);
      }
    }
  }
}

/* ---- replay window, table-driven ---- */

struct replay_step {
  uint64_t pid;
  uint64_t at_ms; /* absolute time of arrival */
  int want;       /* 0 = accepted, RL_EREPLAY */
};

static void run_replay_table(const char *name, const struct replay_step *s, size_t n) {
  struct dc_replay r, before;
  dc_replay_init(&r);
  for (size_t i = 0; i < n; i++) {
    uint64_t now = s[i].at_ms * NS_PER_MS;
    int got = dc_replay_check(&r, s[i].pid, now);
    if (got != s[i].want)
      fail_msg("%s step %zu: pid %llu at %llu ms: got %d want %d", name, i,
               (unsigned long long)s[i].pid, (unsigned long long)s[i].at_ms, got, s[i].want);
    before = r;
    if (got == 0)
      dc_replay_update(&r, s[i].pid, now);
    else
      assert_memory_equal(&r, &before, sizeof(r));
  }
}

#define W DC_REPLAY_WINDOW
#define T_MS (DC_REPLAY_TIME_S * 1000ull)

static void test_replay_table(void **state) {
  (void)state;
  const struct replay_step id0[] = {{0, 0, RL_EREPLAY}, {1, 0, 0}, {0, 0, RL_EREPLAY}};
  const struct replay_step dup[] = {{1, 0, 0}, {1, 0, RL_EREPLAY}, {2, 0, 0},
                                    {1, 0, RL_EREPLAY}, {2, 0, RL_EREPLAY}};
  const struct replay_step edge[] = {{3000, 0, 0},
                                     {3000 - (W - 1), 0, 0},          /* window - 1 back */
                                     {3000 - W, 0, RL_EREPLAY},       /* window back */
                                     {3000 - (W - 1), 0, RL_EREPLAY}, /* now a dup */
                                     {3001, 0, 0},
                                     {3001 - W, 0, RL_EREPLAY}};
  const struct replay_step reorder[] = {{10, 0, 0}, {5, 0, 0},  {7, 0, 0},
                                        {5, 0, RL_EREPLAY}, {6, 0, 0}, {8, 0, 0},
                                        {9, 0, 0},  {11, 0, 0}, {6, 0, RL_EREPLAY}};
  /* A jump by more than the window forgets everything below the window. */
  const struct replay_step jump[] = {{1, 0, 0},        {2, 0, 0}, {1 + 3 * W, 0, 0},
                                     {2 + 2 * W, 0, 0}, {1 + 2 * W, 0, RL_EREPLAY},
                                     {2, 0, RL_EREPLAY}};
  /* Time rule: 10 arrived at t=0; the gap at 5 may be filled up to t = 15 s
   * (strict rule: "received more than t seconds ago"), not later. Ids above
   * the highest are always new. */
  const struct replay_step time_gap[] = {{4, 0, 0},
                                         {6, 0, 0},
                                         {10, 0, 0},
                                         {7, 14000, 0},
                                         {5, T_MS, 0},
                                         {8, T_MS + 1001, RL_EREPLAY},
                                         {9, 100000, RL_EREPLAY},
                                         {11, 100000, 0},
                                         {10, 100000, RL_EREPLAY}};
  run_replay_table("id0", id0, sizeof(id0) / sizeof(id0[0]));
  run_replay_table("dup", dup, sizeof(dup) / sizeof(dup[0]));
  run_replay_table("edge", edge, sizeof(edge) / sizeof(edge[0]));
  run_replay_table("reorder", reorder, sizeof(reorder) / sizeof(reorder[0]));
  run_replay_table("jump", jump, sizeof(jump) / sizeof(jump[0]));
  run_replay_table("time_gap", time_gap, sizeof(time_gap) / sizeof(time_gap[0]));
}

/* Continuous traffic (10 packets/s for 30 s) with holes: a hole is
 * rejected once a newer packet has been held for more than 15 s, even
 * though the highest id keeps moving (OpenVPN's reaping, not just "idle"). */
static void test_replay_time_rule_under_traffic(void **state) {
  (void)state;
  struct dc_replay r;
  dc_replay_init(&r);
  uint64_t now = 0;
  for (uint64_t id = 1; id <= 300; id++) {
    now = id * 100 * NS_PER_MS; /* id n arrives at n * 100 ms */
    if (id == 50 || id == 250)
      continue;
    assert_int_equal(dc_replay_check(&r, id, now), 0);
    dc_replay_update(&r, id, now);
  }
  /* now = 30 s. Id 51 arrived at 5.1 s (> 15 s ago): hole 50 expired. */
  assert_int_equal(dc_replay_check(&r, 50, now), RL_EREPLAY);
  /* Id 251 arrived at 25.1 s: hole 250 is still acceptable. */
  assert_int_equal(dc_replay_check(&r, 250, now), 0);
  /* ... until 16.1 s after 251 (1 s granularity, conservative side). */
  assert_int_equal(dc_replay_check(&r, 250, 251 * 100 * NS_PER_MS + 15 * NS_PER_S), 0);
  assert_int_equal(dc_replay_check(&r, 250, 251 * 100 * NS_PER_MS + 17 * NS_PER_S),
                   RL_EREPLAY);
}

/* Through dc_decrypt: a replayed packet is refused and changes nothing. */
static void test_decrypt_replay_state_unchanged(void **state) {
  (void)state;
  uint8_t key2[DC_KEY2_LEN], pkt[3][128], pt[128], msg[40] = {1, 2, 3};
  int len[3];
  fill_key2(key2, 9);
  struct dc_tx tx;
  struct dc_rx rx, before;
  assert_int_equal(dc_tx_init(&tx, DC_CHACHA20POLY1305, DC_FMT_V2, key2, 1), 0);
  assert_int_equal(dc_rx_init(&rx, DC_CHACHA20POLY1305, DC_FMT_V2, key2, 1), 0);
  for (int i = 0; i < 3; i++)
    len[i] = dc_encrypt(&tx, 0, 7, msg, sizeof(msg), pkt[i], sizeof(pkt[i]));
  assert_int_equal(dc_decrypt(&rx, pkt[2], (size_t)len[2], pt, sizeof(pt), 0, NULL), 40);
  assert_int_equal(dc_decrypt(&rx, pkt[0], (size_t)len[0], pt, sizeof(pt), 0, NULL), 40);
  before = rx;
  memset(pt, 0x77, sizeof(pt));
  assert_int_equal(dc_decrypt(&rx, pkt[2], (size_t)len[2], pt, sizeof(pt), 0, NULL), RL_EREPLAY);
  assert_memory_equal(&rx, &before, sizeof(rx));
  for (size_t i = 0; i < sizeof(msg); i++)
    assert_int_equal(pt[i], 0); /* no plaintext of a refused packet */
  /* Too-small output buffer: refused before anything is touched. */
  assert_int_equal(dc_decrypt(&rx, pkt[1], (size_t)len[1], pt, 39, 0, NULL), RL_ETOOBIG);
  assert_memory_equal(&rx, &before, sizeof(rx));
  assert_int_equal(dc_decrypt(&rx, pkt[1], (size_t)len[1], pt, sizeof(pt), 0, NULL), 40);
  dc_tx_wipe(&tx);
  dc_rx_wipe(&rx);
}

/* ---- limits ---- */

static void test_pid_exhaustion_v2(void **state) {
  (void)state;
  uint8_t key2[DC_KEY2_LEN], out[128], pt[64], msg[20] = {0};
  fill_key2(key2, 1);
  struct dc_tx tx;
  struct dc_rx rx;
  assert_int_equal(dc_tx_init(&tx, DC_CHACHA20POLY1305, DC_FMT_V2, key2, 0), 0);
  assert_int_equal(dc_rx_init(&rx, DC_CHACHA20POLY1305, DC_FMT_V2, key2, 0), 0);
  assert_false(dc_tx_wants_rekey(&tx));
  tx.next_pid = DC_PID_REKEY_AT - 1;
  assert_false(dc_tx_wants_rekey(&tx));
  tx.next_pid = DC_PID_REKEY_AT;
  assert_true(dc_tx_wants_rekey(&tx));
  /* OpenVPN sends 0xFFFFFFFF as the last id and then refuses. */
  tx.next_pid = 0xFFFFFFFFu;
  int n = dc_encrypt(&tx, 0, 1, msg, sizeof(msg), out, sizeof(out));
  assert_int_equal(n, DC_HDR_V2 + 20);
  assert_int_equal(out[4] & out[5] & out[6] & out[7], 0xFF);
  uint64_t pid;
  assert_int_equal(dc_decrypt(&rx, out, (size_t)n, pt, sizeof(pt), 0, &pid), 20);
  assert_int_equal(pid, 0xFFFFFFFFu);
  assert_int_equal(dc_encrypt(&tx, 0, 1, msg, sizeof(msg), out, sizeof(out)), RL_EKEYEXHAUSTED);
  assert_int_equal(dc_encrypt(&tx, 0, 1, msg, sizeof(msg), out, sizeof(out)), RL_EKEYEXHAUSTED);
  /* Explicit ids obey the same space. */
  assert_int_equal(dc_encrypt_pid(&tx, 0, 1, 0, msg, 1, out, sizeof(out)), RL_EINVAL);
  assert_int_equal(dc_encrypt_pid(&tx, 0, 1, 1ull << 32, msg, 1, out, sizeof(out)), RL_EINVAL);
  dc_tx_wipe(&tx);
  dc_rx_wipe(&rx);
}

static void test_aes_usage_limit(void **state) {
  (void)state;
  if (!dc_aes_available())
    skip();
  uint8_t key2[DC_KEY2_LEN], out[256], msg[100] = {0};
  fill_key2(key2, 2);
  struct dc_tx tx;
  /* 100-byte payload + 8 bytes AD = 7 blocks. q + s must stay <= 2^36 - 1. */
  assert_int_equal(dc_tx_init(&tx, DC_AES256GCM, DC_FMT_V2, key2, 0), 0);
  tx.next_pid = 10;
  tx.aes_blocks = DC_AES_LIMIT - 10 - 7; /* exactly at the limit: allowed */
  assert_true(dc_tx_wants_rekey(&tx));
  assert_int_equal(dc_encrypt(&tx, 0, 1, msg, sizeof(msg), out, sizeof(out)), 124);
  assert_int_equal(tx.aes_blocks, DC_AES_LIMIT - 10);
  assert_int_equal(dc_encrypt(&tx, 0, 1, msg, 0, out, sizeof(out)), RL_EKEYEXHAUSTED);
  dc_tx_wipe(&tx);
  assert_int_equal(dc_tx_init(&tx, DC_AES256GCM, DC_FMT_V2, key2, 0), 0);
  tx.aes_blocks = DC_AES_REKEY_AT - 2;
  assert_false(dc_tx_wants_rekey(&tx));
  tx.aes_blocks = DC_AES_REKEY_AT - 1;
  assert_true(dc_tx_wants_rekey(&tx)); /* next_pid 1 + blocks */
  dc_tx_wipe(&tx);
  /* ChaCha20-Poly1305 has no usage limit (OpenVPN: none). */
  assert_int_equal(dc_tx_init(&tx, DC_CHACHA20POLY1305, DC_FMT_V2, key2, 0), 0);
  tx.aes_blocks = DC_AES_LIMIT;
  assert_int_equal(dc_encrypt(&tx, 0, 1, msg, sizeof(msg), out, sizeof(out)), 124);
  assert_false(dc_tx_wants_rekey(&tx));
  dc_tx_wipe(&tx);
}

/* ---- epochs ---- */

static int enc(struct dc_tx *tx, uint8_t *out, uint8_t tag) {
  uint8_t msg[32];
  memset(msg, tag, sizeof(msg));
  return dc_encrypt(tx, 1, 0x123456, msg, sizeof(msg), out, 128);
}

static void epoch_rollover(enum dc_cipher c) {
  uint8_t key2[DC_KEY2_LEN], held[128], a[128], b[128], pt[128];
  fill_key2(key2, 4);
  struct dc_tx tx;
  struct dc_rx rx;
  assert_int_equal(dc_tx_init(&tx, c, DC_FMT_EPOCH, key2, 0), 0);
  assert_int_equal(dc_rx_init(&rx, c, DC_FMT_EPOCH, key2, 0), 0);
  /* Drive epoch 1 to its end: ChaCha by the 48-bit counter, AES-GCM by
   * its usage limit (q + s, which counts packets too, so 2^36 comes first). */
  uint64_t last = c == DC_AES256GCM ? 1000 : DC_PID_MAX_EPOCH;
  tx.next_pid = last - 5;
  int nh = enc(&tx, held, 1); /* delivered late, after the switch */
  tx.next_pid = last;
  if (c == DC_AES256GCM)
    tx.aes_blocks = DC_AES_LIMIT - last - 3; /* exactly fits this packet */
  int na = enc(&tx, a, 2);
  assert_int_equal(a[5], 1);
  assert_int_equal(a[11], (uint8_t)last);
  int nb = enc(&tx, b, 3);
  assert_int_equal(tx.epoch, 2);
  assert_int_equal(b[5], 2);
  assert_memory_equal(b + 6, "\0\0\0\0\0\1", 6);
  uint64_t pid;
  assert_int_equal(dc_decrypt(&rx, a, (size_t)na, pt, sizeof(pt), 0, &pid), 32);
  assert_int_equal(pid, 1ull << 48 | last);
  assert_int_equal(dc_decrypt(&rx, b, (size_t)nb, pt, sizeof(pt), 0, &pid), 32);
  assert_int_equal(pt[0], 3);
  assert_int_equal(pid, 2ull << 48 | 1);
  assert_int_equal(rx.epoch, 2);
  assert_int_equal(rx.ep->retiring.epoch, 1);
  assert_int_equal(rx.ep->future[0].epoch, 3);
  assert_int_equal(rx.ep->future[DC_EPOCH_FUTURE - 1].epoch, 2 + DC_EPOCH_FUTURE);
  /* The retiring epoch keeps its own window: late packet in, dup out. */
  assert_int_equal(dc_decrypt(&rx, held, (size_t)nh, pt, sizeof(pt), 0, NULL), 32);
  assert_int_equal(dc_decrypt(&rx, held, (size_t)nh, pt, sizeof(pt), 0, NULL), RL_EREPLAY);
  assert_int_equal(dc_decrypt(&rx, b, (size_t)nb, pt, sizeof(pt), 0, NULL), RL_EREPLAY);

  /* AES-GCM usage limit also moves the sender to the next epoch. */
  if (c == DC_AES256GCM) {
    tx.aes_blocks = DC_AES_LIMIT;
    na = enc(&tx, a, 4);
    assert_int_equal(tx.epoch, 3);
    assert_int_equal(tx.aes_blocks, 3); /* (12 + 32) / 16 rounded up */
    assert_int_equal(dc_decrypt(&rx, a, (size_t)na, pt, sizeof(pt), 0, NULL), 32);
    assert_int_equal(rx.epoch, 3);
    /* Epoch 1 is now two behind: no key. */
    assert_int_equal(dc_decrypt(&rx, held, (size_t)nh, pt, sizeof(pt), 0, NULL), RL_EAUTH);
  }
  dc_tx_wipe(&tx);
  dc_rx_wipe(&rx);
}

static void test_epoch_rollover_chacha(void **state) {
  (void)state;
  epoch_rollover(DC_CHACHA20POLY1305);
}

static void test_epoch_rollover_aes(void **state) {
  (void)state;
  if (!dc_aes_available())
    skip();
  epoch_rollover(DC_AES256GCM);
}

/* The receiver accepts up to DC_EPOCH_FUTURE epochs ahead, not one more;
 * a refused future epoch leaves rx unchanged. */
static void test_epoch_future_window(void **state) {
  (void)state;
  uint8_t key2[DC_KEY2_LEN], p17[128], p18[128], p33[128], pt[128];
  fill_key2(key2, 5);
  struct dc_tx tx17, tx18, tx33;
  struct dc_rx *rx = malloc(sizeof(*rx));
  struct rx_snap *before = malloc(sizeof(*before));
  assert_non_null(rx);
  assert_non_null(before);
  assert_int_equal(dc_rx_init(rx, DC_CHACHA20POLY1305, DC_FMT_EPOCH, key2, 1), 0);
  assert_int_equal(dc_tx_init(&tx17, DC_CHACHA20POLY1305, DC_FMT_EPOCH, key2, 1), 0);
  /* ChaCha: a tx owns no heap memory, so duplicating it is fine here. */
  assert_null(tx17.aes_state);
  tx18 = tx17;
  tx33 = tx17;
  assert_int_equal(dc_tx_set_epoch(&tx17, 1 + DC_EPOCH_FUTURE), 0);
  assert_int_equal(dc_tx_set_epoch(&tx18, 2 + DC_EPOCH_FUTURE), 0);
  assert_int_equal(dc_tx_set_epoch(&tx33, 1 + 2 * DC_EPOCH_FUTURE), 0);
  assert_int_equal(dc_tx_set_epoch(&tx17, 1 + DC_EPOCH_FUTURE), RL_EINVAL); /* not forward */
  int n17 = enc(&tx17, p17, 17), n18 = enc(&tx18, p18, 18), n33 = enc(&tx33, p33, 33);
  rx_snap_take(before, rx);
  assert_int_equal(dc_decrypt(rx, p18, (size_t)n18, pt, sizeof(pt), 0, NULL), RL_EAUTH);
  assert_int_equal(dc_decrypt(rx, p33, (size_t)n33, pt, sizeof(pt), 0, NULL), RL_EAUTH);
  rx_snap_check(before, rx);
  assert_int_equal(dc_decrypt(rx, p17, (size_t)n17, pt, sizeof(pt), 0, NULL), 32);
  assert_int_equal(rx->epoch, 17);
  assert_int_equal(rx->ep->retiring.epoch, 1);
  /* Now 18 and 33 (= 17 + 16) are in reach. */
  assert_int_equal(dc_decrypt(rx, p18, (size_t)n18, pt, sizeof(pt), 0, NULL), 32);
  assert_int_equal(rx->ep->retiring.epoch, 17);
  assert_int_equal(dc_decrypt(rx, p33, (size_t)n33, pt, sizeof(pt), 0, NULL), 32);
  assert_int_equal(pt[0], 33);
  assert_int_equal(rx->epoch, 33);
  /* A forged packet claiming a future epoch: EAUTH, rx unchanged. */
  p33[5] = 40;
  rx_snap_take(before, rx);
  assert_int_equal(dc_decrypt(rx, p33, (size_t)n33, pt, sizeof(pt), 0, NULL), RL_EAUTH);
  rx_snap_check(before, rx);
  dc_rx_wipe(rx);
  free(rx);
  free(before);
  dc_tx_wipe(&tx17);
  dc_tx_wipe(&tx18);
  dc_tx_wipe(&tx33);
}

static void test_epoch_limits(void **state) {
  (void)state;
  uint8_t key2[DC_KEY2_LEN], out[128];
  fill_key2(key2, 6);
  struct dc_tx tx;
  assert_int_equal(dc_tx_init(&tx, DC_CHACHA20POLY1305, DC_FMT_EPOCH, key2, 0), 0);
  assert_false(dc_tx_wants_rekey(&tx));
  tx.epoch = DC_EPOCH_REKEY_AT; /* OpenVPN renegotiates from here */
  assert_true(dc_tx_wants_rekey(&tx));
  tx.epoch = UINT16_MAX;
  tx.next_pid = DC_PID_MAX_EPOCH + 1;
  assert_int_equal(enc(&tx, out, 0), RL_EKEYEXHAUSTED);
  /* Wrong epoch or counter 0 for an explicit id. */
  assert_int_equal(dc_encrypt_pid(&tx, 0, 0, 1ull << 48 | 1, out, 1, out + 64, 64), RL_EINVAL);
  assert_int_equal(dc_encrypt_pid(&tx, 0, 0, 0xFFFFull << 48, out, 1, out + 64, 64), RL_EINVAL);
  dc_tx_wipe(&tx);
  /* Raw setup (no epoch secret): no rollover. */
  uint8_t k[32] = {1}, iv[12] = {2};
  assert_int_equal(dc_tx_init_raw(&tx, DC_CHACHA20POLY1305, DC_FMT_EPOCH, k, iv), 0);
  tx.next_pid = DC_PID_MAX_EPOCH;
  assert_int_equal(enc(&tx, out, 0), 32 + DC_OVERHEAD_MAX);
  assert_int_equal(enc(&tx, out, 0), RL_EKEYEXHAUSTED);
  assert_int_equal(dc_tx_set_epoch(&tx, 2), RL_EINVAL);
  dc_tx_wipe(&tx);
}

/* ---- small things ---- */

static void test_peek_and_short_input(void **state) {
  (void)state;
  const uint8_t p[] = {0x4b, 0x79, 0xda, 0x50, 0, 0, 0, 1};
  struct dc_hdr h;
  for (size_t len = 0; len < 4; len++)
    assert_int_equal(dc_peek(p, len, &h), RL_ETRUNC);
  assert_int_equal(dc_peek(p, 4, &h), 0);
  assert_int_equal(h.opcode, DC_OP_DATA_V2);
  assert_int_equal(h.key_id, 3);
  assert_int_equal(h.peer_id, 0x79da50);
  assert_int_equal(dc_peek(NULL, 4, &h), RL_EINVAL);

  uint8_t key2[DC_KEY2_LEN], pkt[64] = {0x48}, pt[64];
  fill_key2(key2, 8);
  struct dc_rx rx;
  struct rx_snap before;
  const enum dc_format fmts[] = {DC_FMT_V2, DC_FMT_EPOCH};
  const size_t minlen[] = {DC_HDR_V2, DC_OVERHEAD_MAX};
  for (int f = 0; f < 2; f++) {
    assert_int_equal(dc_rx_init(&rx, DC_CHACHA20POLY1305, fmts[f], key2, 0), 0);
    pkt[5] = 1; /* epoch 1 */
    rx_snap_take(&before, &rx);
    for (size_t len = 0; len < minlen[f]; len++)
      assert_int_equal(dc_decrypt(&rx, pkt, len, pt, sizeof(pt), 0, NULL), RL_ETRUNC);
    /* Header + tag with no payload parses and fails authentication. */
    assert_int_equal(dc_decrypt(&rx, pkt, minlen[f], pt, sizeof(pt), 0, NULL), RL_EAUTH);
    rx_snap_check(&before, &rx);
    dc_rx_wipe(&rx);
  }
}

static void test_wrong_opcode_is_auth_failure(void **state) {
  (void)state;
  uint8_t key2[DC_KEY2_LEN], out[128], pt[128], msg[8] = {0};
  fill_key2(key2, 10);
  struct dc_tx tx;
  struct dc_rx rx;
  assert_int_equal(dc_tx_init(&tx, DC_CHACHA20POLY1305, DC_FMT_V2, key2, 0), 0);
  assert_int_equal(dc_rx_init(&rx, DC_CHACHA20POLY1305, DC_FMT_V2, key2, 0), 0);
  int n = dc_encrypt(&tx, 0, 1, msg, sizeof(msg), out, sizeof(out));
  out[0] = 0x30; /* P_DATA_V1 */
  assert_int_equal(dc_decrypt(&rx, out, (size_t)n, pt, sizeof(pt), 0, NULL), RL_EAUTH);
  assert_int_equal(dc_encrypt(&tx, 8, 1, msg, 1, out, sizeof(out)), RL_EINVAL);
  assert_int_equal(dc_encrypt(&tx, 0, 0x1000000, msg, 1, out, sizeof(out)), RL_EINVAL);
  assert_int_equal(dc_encrypt(&tx, 0, 1, msg, 8, out, DC_HDR_V2 + 7), RL_ETOOBIG);
  dc_tx_wipe(&tx);
  dc_rx_wipe(&rx);
}

static void test_keepalive_and_names(void **state) {
  (void)state;
  uint8_t k[17];
  memcpy(k, DC_KEEPALIVE, 16);
  k[16] = 0;
  assert_true(dc_is_keepalive(k, 16));
  assert_false(dc_is_keepalive(k, 15));
  assert_false(dc_is_keepalive(k, 17));
  k[15] ^= 1;
  assert_false(dc_is_keepalive(k, 16));
  assert_false(dc_is_keepalive(DC_OCC_MAGIC, 16));
  assert_int_equal(DC_KEEPALIVE[0], 0x2a);
  assert_int_equal(DC_KEEPALIVE[15], 0x48);

  enum dc_cipher c;
  assert_int_equal(dc_cipher_parse("AES-256-GCM", &c), 0);
  assert_int_equal(c, DC_AES256GCM);
  assert_int_equal(dc_cipher_parse("chacha20-poly1305", &c), 0);
  assert_int_equal(c, DC_CHACHA20POLY1305);
  assert_int_equal(dc_cipher_parse("AES-128-GCM", &c), RL_EINVAL);
  assert_string_equal(dc_cipher_name(DC_AES256GCM), "AES-256-GCM");
  assert_string_equal(dc_cipher_name(DC_CHACHA20POLY1305), "CHACHA20-POLY1305");

  uint8_t key2[DC_KEY2_LEN] = {0};
  struct dc_tx tx;
  assert_int_equal(dc_tx_init(&tx, DC_CHACHA20POLY1305, DC_FMT_V2, key2, 2), RL_EINVAL);
  assert_int_equal(dc_tx_init(&tx, (enum dc_cipher)7, DC_FMT_V2, key2, 0), RL_EINVAL);
  assert_int_equal(dc_tx_init(&tx, DC_CHACHA20POLY1305, (enum dc_format)0, key2, 0), RL_EINVAL);
  dc_tx_wipe(&tx); /* a failed init leaves a wipe-safe struct */
}

/* What a tx/rx owns: the AES-GCM state only for AES, the epoch receive
 * state only for an epoch-format rx with its secret; wipe frees it and may
 * be repeated. (ASan's leak check sees anything left behind.) */
static void test_ownership(void **state) {
  (void)state;
  uint8_t key2[DC_KEY2_LEN], k[32] = {1}, iv[12] = {2};
  fill_key2(key2, 11);
  const enum dc_cipher ciphers[] = {DC_CHACHA20POLY1305, DC_AES256GCM};
  const enum dc_format fmts[] = {DC_FMT_V2, DC_FMT_EPOCH};
  for (size_t c = 0; c < 2; c++) {
    if (ciphers[c] == DC_AES256GCM && !dc_aes_available())
      continue;
    bool aes = ciphers[c] == DC_AES256GCM;
    for (size_t f = 0; f < 2; f++) {
      bool epoch = fmts[f] == DC_FMT_EPOCH;
      struct dc_tx tx;
      struct dc_rx rx, raw;
      assert_int_equal(dc_tx_init(&tx, ciphers[c], fmts[f], key2, 0), 0);
      assert_int_equal(dc_rx_init(&rx, ciphers[c], fmts[f], key2, 0), 0);
      assert_int_equal(dc_rx_init_raw(&raw, ciphers[c], fmts[f], k, iv), 0);
      assert_true((tx.aes_state != NULL) == aes);
      assert_true((rx.aes_state != NULL) == aes);
      assert_true((rx.ep != NULL) == epoch);
      assert_true(rx.ep == NULL || rx.ep->retiring.epoch == 0);
      assert_null(raw.ep); /* no secret, no future epochs */
      dc_tx_wipe(&tx);
      dc_rx_wipe(&rx);
      dc_rx_wipe(&raw);
      assert_null(tx.aes_state);
      assert_null(rx.aes_state);
      assert_null(rx.ep);
      dc_tx_wipe(&tx); /* idempotent */
      dc_rx_wipe(&rx);
      /* wiped memory may be initialised again */
      assert_int_equal(dc_rx_init(&rx, ciphers[c], fmts[f], key2, 1), 0);
      dc_rx_wipe(&rx);
    }
  }
  dc_tx_wipe(NULL);
  dc_rx_wipe(NULL);
}

/* ---- vector line parser ---- */

static void test_vec_parser(void **state) {
  (void)state;
  struct dc_vec v;
  const char *why;
  const char *good = "name=s:A>B cipher=CHACHA20-POLY1305 fmt=epoch "
                     "key=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
                     "iv=0a0b0c0d0e0f101112131415 pkt=48000001\r\n";
  assert_int_equal(dc_vec_parse_line(good, strlen(good), &v, &why), 1);
  assert_string_equal(v.name, "s:A>B");
  assert_int_equal(v.cipher, DC_CHACHA20POLY1305);
  assert_int_equal(v.fmt, DC_FMT_EPOCH);
  assert_int_equal(v.key[31], 0x1f);
  assert_int_equal(v.iv_len, 12);
  assert_int_equal(v.pkt_len, 4);
  assert_int_equal(v.pkt[0], 0x48);
  assert_int_equal(dc_vec_parse_line("", 0, &v, &why), 0);
  assert_int_equal(dc_vec_parse_line("  \t\n", 4, &v, &why), 0);
  assert_int_equal(dc_vec_parse_line("# comment", 9, &v, &why), 0);

#define K "key=0000000000000000000000000000000000000000000000000000000000000000"
  static const char *const bad[] = {
      "name=x cipher=AES-256-GCM fmt=v2 " K " iv=0011223344556677",             /* no pkt */
      "name=x cipher=AES-256-GCM fmt=v2 " K " iv=0011223344556677 pkt=4",       /* odd hex */
      "name=x cipher=AES-256-GCM fmt=v2 " K " iv=0011223344556677 pkt=zz",      /* not hex */
      "name=x cipher=AES-256-GCM fmt=v3 " K " iv=0011223344556677 pkt=48",      /* fmt */
      "name=x cipher=AES-128-GCM fmt=v2 " K " iv=0011223344556677 pkt=48",      /* cipher */
      "name=x cipher=AES-256-GCM fmt=epoch " K " iv=0011223344556677 pkt=48",   /* iv len */
      "name=x cipher=AES-256-GCM fmt=v2 " K " iv=00112233445566 pkt=48",        /* iv len */
      "name=x name=y cipher=AES-256-GCM fmt=v2 " K " iv=0011223344556677 pkt=48", /* repeat */
      "name=x cipher=AES-256-GCM fmt=v2 " K " iv=0011223344556677 pkt=48 foo=1", /* unknown */
      "name=x cipher=AES-256-GCM fmt=v2 " K " iv=0011223344556677 pkt=48 junk",  /* no '=' */
      "name= cipher=AES-256-GCM fmt=v2 " K " iv=0011223344556677 pkt=48",        /* empty */
      "name=x cipher=AES-256-GCM fmt=v2 " K "0 iv=0011223344556677 pkt=48",      /* key len */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    why = NULL;
    if (dc_vec_parse_line(bad[i], strlen(bad[i]), &v, &why) != RL_EPARSE)
      fail_msg("bad line %zu accepted: %s", i, bad[i]);
    assert_non_null(why);
  }
  /* A packet larger than DC_VEC_PKT_MAX. */
  size_t big = 2 * (DC_VEC_PKT_MAX + 1);
  char *line = malloc(200 + big);
  assert_non_null(line);
  int off = snprintf(line, 200, "%s", "name=x cipher=AES-256-GCM fmt=v2 " K " iv=0011223344556677 pkt=");
  memset(line + off, 'a', big);
  assert_int_equal(dc_vec_parse_line(line, (size_t)off + big, &v, &why), RL_EPARSE);
  assert_int_equal(dc_vec_parse_line(line, (size_t)off + big - 2, &v, &why), 1);
  assert_int_equal(v.pkt_len, DC_VEC_PKT_MAX);
  free(line);
#undef K
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors_v2),
      cmocka_unit_test(test_vectors_epoch),
      cmocka_unit_test(test_bitflip_v2),
      cmocka_unit_test(test_bitflip_epoch),
      cmocka_unit_test(test_epoch_kdf_known_answers),
      cmocka_unit_test(test_key2_layout_matches_vectors),
      cmocka_unit_test(test_roundtrip_key2_both_directions),
      cmocka_unit_test(test_replay_table),
      cmocka_unit_test(test_replay_time_rule_under_traffic),
      cmocka_unit_test(test_decrypt_replay_state_unchanged),
      cmocka_unit_test(test_pid_exhaustion_v2),
      cmocka_unit_test(test_aes_usage_limit),
      cmocka_unit_test(test_epoch_rollover_chacha),
      cmocka_unit_test(test_epoch_rollover_aes),
      cmocka_unit_test(test_epoch_future_window),
      cmocka_unit_test(test_epoch_limits),
      cmocka_unit_test(test_peek_and_short_input),
      cmocka_unit_test(test_wrong_opcode_is_auth_failure),
      cmocka_unit_test(test_keepalive_and_names),
      cmocka_unit_test(test_ownership),
      cmocka_unit_test(test_vec_parser),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
