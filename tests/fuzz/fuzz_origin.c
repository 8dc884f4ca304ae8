/* libFuzzer target: origin_open, origin_parse and origin_stamp (crypto/origin.h) on
 * untrusted bytes, the signed payload of a routed overlay message.
 *
 * Input byte 0: bit 0 picks src (0: the signer's real ID, 1: another), bit
 * 1 the certificate cache (on/off); the rest is the payload. A payload that
 * starts with the bytes of a real signed message (FUZZ_ORIGIN_WRITE_SEEDS=dir
 * writes one) lets the fuzzer work past the certificate and the signature.
 * (Static state is fine here: this is a test harness, not the library.) */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/origin.h"
#include "../hs_fixture.h"

struct ctx {
  struct id_key group;
  struct fx_node a, b;
  struct origin_cache cache;
};
static struct ctx *g;

static const uint64_t NOW = 100 * NS_PER_S;
static const uint8_t KEY[RL_ID_LEN] = {7};

static void write_seed(const char *dir) {
  uint8_t msg[1400];
  char path[512];
  static const uint8_t payload[] = {1, 0, 0}; /* a PUNCH_REQ without candidates */
  int n = origin_seal(&g->a.hid, 3, KEY, rl_unix_ms(&g->a.env, NOW), payload, sizeof(payload),
                      msg + 1, sizeof(msg) - 1);
  FILE *f;
  if (n < 0)
    return;
  msg[0] = 0;
  snprintf(path, sizeof(path), "%s/signed_punch", dir);
  if ((f = fopen(path, "wb"))) {
    fwrite(msg, 1, (size_t)n + 1, f);
    fclose(f);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *dir = getenv("FUZZ_ORIGIN_WRITE_SEEDS");
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
    write_seed(dir);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p;
  size_t len;
  uint8_t app;
  if (size < 1)
    return 0;
  const uint8_t *src = (data[0] & 1) ? g->b.hid.id : g->a.hid.id;
  int rc = origin_open(&g->b.hid, (data[0] & 2) ? NULL : &g->cache, src, KEY,
                       rl_unix_ms(&g->b.env, NOW), data + 1, size - 1, &app, &p, &len);
  uint64_t ts;
  if (rc == 0 && (p < data + 1 || p + len != data + size))
    abort(); /* the payload must be the tail of the input */
  /* origin_stamp reads any input safely, and an accepted one's stamp is
   * within the skew window (what the replay cache keys on) */
  if (origin_stamp(data + 1, size - 1, &ts) == 0 && rc == 0 &&
      (ts > rl_unix_ms(&g->b.env, NOW) + ORIGIN_SKEW_MS ||
       ts + ORIGIN_SKEW_MS < rl_unix_ms(&g->b.env, NOW)))
    abort();
  if (rc == 0 && origin_stamp(data + 1, size - 1, &ts) != 0)
    abort();
  /* origin_parse (delivery of a copy checked on arrival) reads any input
   * safely and finds what origin_open accepted. */
  const uint8_t *cb, *pp;
  size_t cl, pl;
  uint8_t app2;
  int pr = origin_parse(data + 1, size - 1, &app2, &cb, &cl, &pp, &pl);
  if (pr == 0 && (cb < data + 1 || cb + cl > data + size || pp + pl != data + size))
    abort();
  if (rc == 0 && (pr != 0 || app2 != app || pp != p || pl != len))
    abort();
  return 0;
}
