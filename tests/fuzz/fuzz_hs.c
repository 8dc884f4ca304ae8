/* libFuzzer target: the handshake parsers on untrusted bytes.
 *
 * Input byte 0 picks the parser, the rest is the datagram:
 *   0: hs_resp_parse_init (not under load)   1: the same under load (cookies)
 *   2: hs_init_consume_resp                  3: hs_init_consume_cookie
 * The initiator state is rebuilt from the same seed for every input, so a
 * real HS_RESP / HS_COOKIE in the corpus stays valid and the fuzzer starts
 * from deep inside the message. FUZZ_HS_WRITE_SEEDS=dir writes such seeds.
 * (Static state is fine here: this is a test harness, not the library.) */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hs.h"
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
  fx_key_from_byte(&g->group, 1);
  if (fx_node_init(&g->a, 10, &g->group, DC_CHACHA20POLY1305, DC_FMT_V2, 1000) < 0 ||
      fx_node_init(&g->b, 11, &g->group, DC_CHACHA20POLY1305, DC_FMT_V2, 1000) < 0)
    abort();
  if (dir)
    write_seeds(dir);
  return 0;
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
