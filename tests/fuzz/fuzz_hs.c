/* libFuzzer target: the handshake parsers on untrusted bytes.
 *
 * Input byte 0 picks the parser, the rest is the datagram:
 *   0: hs_resp_parse_init (not under load)   1: the same under load (cookies)
 *   2: hs_init_consume_resp                  3: hs_init_consume_cookie
 *   4: the rest is the PLAINTEXT of an HS_INIT: the harness encrypts and
 *      MACs it properly, so the fuzzer reaches the payload/certificate parser
 *      behind the AEAD (random bytes never get past mac1 and the tag)
 *   5: likewise for an HS_RESP: bytes 0..3 the choice, the rest the s block
 * The initiator state is rebuilt from the same seed for every input, so a
 * real HS_RESP / HS_COOKIE in the corpus stays valid and the fuzzer starts
 * from deep inside the message. FUZZ_HS_WRITE_SEEDS=dir writes such seeds.
 * (Static state is fine here: this is a test harness, not the library.) */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cookie.h"
#include "crypto/hs.h"
#include "crypto/hs_noise.h"
#include "../hs_fixture.h"

struct ctx {
  struct id_key group;
  struct fx_node a, b;
};
static struct ctx *g;

static const uint64_t NOW = 100 * NS_PER_S;

/* a's initiation, identical for every run */
static void fresh_initiation(struct hs_initiation *st, uint8_t *init, int *n) {
  memset(st, 0, sizeof(*st));
  memset(g->a.rng.state, 0xA5, sizeof(g->a.rng.state));
  *n = hs_init_create(st, &g->a.hid, 0x000101, 0, NOW, init, HS_MSG_MAX);
}

static void write_seed(const char *dir, const char *name, uint8_t sel, const uint8_t *p,
                       size_t len) {
  char path[512];
  FILE *f;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "wb");
  if (!f)
    return;
  fputc(sel, f);
  fwrite(p, 1, len, f);
  fclose(f);
}

static void write_seeds(const char *dir) {
  struct hs_initiation st;
  struct hs_pending p;
  struct hs_result res;
  uint8_t init[HS_MSG_MAX], resp[HS_MSG_MAX], ck[128];
  size_t cklen = 0;
  int n, m;
  fresh_initiation(&st, init, &n);
  write_seed(dir, "init", 0, init, (size_t)n);
  write_seed(dir, "init_load", 1, init, (size_t)n);
  hs_responder_init(&g->b.resp, &g->b.hid, 0, NOW);
  if (hs_resp_parse_init(&g->b.resp, &g->a.addr, init, (size_t)n, NOW, &p, ck, sizeof(ck),
                         &cklen) == RL_EAGAIN)
    write_seed(dir, "cookie", 3, ck, cklen);
  hs_responder_init(&g->b.resp, &g->b.hid, 1000, NOW);
  if (hs_resp_parse_init(&g->b.resp, &g->a.addr, init, (size_t)n, NOW, &p, NULL, 0, NULL) == 0) {
    m = hs_resp_finish(&g->b.resp, &p, 0x000202, NOW, resp, sizeof(resp), &res);
    if (m > 0)
      write_seed(dir, "resp", 2, resp, (size_t)m);
  }
  hs_initiation_wipe(&st);
  /* plaintext seeds: a's real certificate in well-formed blocks */
  {
    uint8_t pt[HS_MSG_MAX];
    size_t l = 0;
    memset(pt, 0, sizeof(pt));
    pt[l++] = 1;                    /* version */
    l += 8;                         /* timestamp */
    pt[l++] = DC_CHACHA20POLY1305;
    pt[l++] = 1u << DC_CHACHA20POLY1305;
    pt[l++] = DC_FMT_V2;
    pt[l++] = 1u << DC_FMT_V2;
    pt[l++] = (uint8_t)(g->a.hid.cert_len >> 8);
    pt[l++] = (uint8_t)g->a.hid.cert_len;
    memcpy(pt + l, g->a.hid.cert_bin, g->a.hid.cert_len);
    l += g->a.hid.cert_len + RL_SIG_LEN;
    write_seed(dir, "init_plain", 4, pt, l);
    l = 0;
    pt[l++] = DC_CHACHA20POLY1305;
    pt[l++] = DC_FMT_V2;
    pt[l++] = 0;
    pt[l++] = 0;
    pt[l++] = (uint8_t)(g->b.hid.cert_len >> 8);
    pt[l++] = (uint8_t)g->b.hid.cert_len;
    memcpy(pt + l, g->b.hid.cert_bin, g->b.hid.cert_len);
    l += g->b.hid.cert_len;
    write_seed(dir, "resp_plain", 5, pt, l);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *dir = getenv("FUZZ_HS_WRITE_SEEDS");
  (void)argc;
  (void)argv;
  if (sodium_init() < 0)
    abort();
  g = calloc(1, sizeof(*g));
  if (!g)
    abort();
  if (fx_pair_init(&g->group, &g->a, &g->b) < 0)
    abort();
  if (dir)
    write_seeds(dir);
  return 0;
}

static void put_hdr(uint8_t *p, unsigned op, uint32_t rcv, uint32_t snd) {
  p[0] = (uint8_t)(op << 3);
  p[1] = (uint8_t)(rcv >> 16);
  p[2] = (uint8_t)(rcv >> 8);
  p[3] = (uint8_t)rcv;
  p[4] = (uint8_t)(snd >> 16);
  p[5] = (uint8_t)(snd >> 8);
  p[6] = (uint8_t)snd;
}

/* An HS_INIT from a around an arbitrary plaintext. */
static size_t build_init(const uint8_t *pt, size_t len, uint8_t *out) {
  struct hs_noise n;
  uint8_t e_sk[32], e_pk[32];
  size_t total = 7 + 32 + len + HS_NOISE_TAG + 32;
  memset(e_sk, 0x11, 32);
  crypto_scalarmult_base(e_pk, e_sk);
  put_hdr(out, HS_OP_INIT, HS_INDEX_UNDEF, 0x000101);
  hs_noise_start(&n, g->group.pk);
  hs_noise_mix_hash(&n, out, 7);
  memcpy(out + 7, e_pk, 32);
  hs_noise_mix_hash(&n, e_pk, 32);
  hs_noise_mix_key(&n, e_pk, 32);
  hs_noise_encrypt(&n, pt, len, out + 39);
  cookie_mac(out + total - 32, g->a.hid.mac1_key, 32, out, total - 32);
  memset(out + total - 16, 0, 16);
  hs_noise_wipe(&n);
  return total;
}

/* An HS_RESP from b to st around an arbitrary s block and choice. */
static size_t build_resp(const struct hs_initiation *st, const uint8_t *choice,
                         const uint8_t *sblk, size_t len, uint8_t *out) {
  struct hs_noise n;
  uint8_t e_sk[32], e_pk[32];
  size_t total = 7 + 32 + len + HS_NOISE_TAG + 4 + HS_NOISE_TAG + 32, off = 39;
  memset(e_sk, 0x22, 32);
  crypto_scalarmult_base(e_pk, e_sk);
  put_hdr(out, HS_OP_RESP, st->local_index, 0x000202);
  hs_noise_resume(&n, st->ck, st->h);
  hs_noise_mix_hash(&n, out, 7);
  memcpy(out + 7, e_pk, 32);
  hs_noise_mix_hash(&n, e_pk, 32);
  hs_noise_mix_key(&n, e_pk, 32);
  hs_noise_mix_dh(&n, e_sk, st->e_pk, false);
  hs_noise_mix_dh(&n, e_sk, g->a.hid.x_pk, false);
  hs_noise_encrypt(&n, sblk, len, out + off);
  off += len + HS_NOISE_TAG;
  hs_noise_mix_dh(&n, g->b.hid.x_sk, st->e_pk, false);
  hs_noise_encrypt(&n, choice, 4, out + off);
  cookie_mac(out + total - 32, g->a.hid.mac1_key, 32, out, total - 32);
  memset(out + total - 16, 0, 16);
  hs_noise_wipe(&n);
  return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct hs_pending p;
  struct hs_result res;
  struct hs_initiation st;
  uint8_t init[HS_MSG_MAX], ck[128], resp[HS_MSG_MAX];
  size_t cklen = 0;
  int n, rc;
  if (size < 1)
    return 0;
  if (data[0] == 4 || data[0] == 5) {
    static const size_t room = HS_MSG_MAX - 7 - 32 - 2 * HS_NOISE_TAG - 4 - 32;
    uint8_t msg[HS_MSG_MAX];
    size_t mlen;
    if (size - 1 > room || (data[0] == 5 && size < 5))
      return 0;
    if (data[0] == 4) {
      mlen = build_init(data + 1, size - 1, msg);
      hs_responder_init(&g->b.resp, &g->b.hid, 1000, NOW);
      rc = hs_resp_parse_init(&g->b.resp, &g->a.addr, msg, mlen, NOW, &p, NULL, 0, NULL);
      if (rc == 0)
        hs_pending_wipe(&p);
    } else {
      fresh_initiation(&st, init, &n);
      mlen = build_resp(&st, data + 1, data + 5, size - 5, msg);
      rc = hs_init_consume_resp(&st, &g->a.hid, msg, mlen, NOW, &res);
      hs_initiation_wipe(&st);
    }
    return 0;
  }
  switch (data[0] & 3) {
  case 0:
  case 1:
    hs_responder_init(&g->b.resp, &g->b.hid, (data[0] & 3) == 1 ? 0 : 1000, NOW);
    rc = hs_resp_parse_init(&g->b.resp, &g->a.addr, data + 1, size - 1, NOW, &p, ck,
                            sizeof(ck), &cklen);
    if (rc == RL_EAGAIN && cklen > sizeof(ck))
      abort();
    if (rc == 0) {
      /* an accepted HS_INIT must be answerable */
      if (hs_resp_finish(&g->b.resp, &p, 0x000202, NOW, resp, sizeof(resp), &res) <= 0)
        abort();
    }
    break;
  case 2:
    fresh_initiation(&st, init, &n);
    rc = hs_init_consume_resp(&st, &g->a.hid, data + 1, size - 1, NOW, &res);
    if (rc == 0 && st.active)
      abort();
    hs_initiation_wipe(&st);
    break;
  default:
    fresh_initiation(&st, init, &n);
    rc = hs_init_consume_cookie(&st, &g->a.hid, data + 1, size - 1, NOW);
    if (rc == 0 && !st.has_cookie)
      abort();
    hs_initiation_wipe(&st);
    break;
  }
  return 0;
}
