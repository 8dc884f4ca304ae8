/* libFuzzer target: overlay message decoding (overlay/ov_msg.c) and the
 * overlay's handling of whatever decodes (overlay_recv).
 *
 * 1. Anything that decodes must re-encode to the very same bytes (the
 *    format has no slack: strict lengths, known families, counts).
 * 2. Fed to a live overlay (a ring of one with one linked peer), any input
 *    returns 0 or RL_E* and every action it produces is well formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/ov_msg.h"
#include "overlay/overlay.h"

/* Not CHECK(): release builds define NDEBUG and would skip the checks. */
#define CHECK(x) \
  do { \
    if (!(x)) \
      abort(); \
  } while (0)

static void counter_rand(void *ctx, uint8_t *buf, size_t len) {
  uint32_t *c = ctx;
  for (size_t i = 0; i < len; i++)
    buf[i] = (uint8_t)((*c)++ * 167u + 13u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct ov_msg *m = malloc(sizeof(*m));
  uint8_t *buf = malloc(OV_MSG_MAX);
  if (ov_msg_decode(m, data, size) == 0) {
    int n = ov_msg_encode(m, buf, OV_MSG_MAX);
    CHECK(n >= 0 && (size_t)n == size);
    CHECK(memcmp(buf, data, size) == 0);
  }

  uint32_t ctr = 1;
  struct rl_env env = {.rand = counter_rand, .rand_ctx = &ctr};
  struct ov_config cfg;
  ov_config_default(&cfg);
  cfg.env = &env;
  memset(cfg.self_id, 0x40, RL_ID_LEN);
  struct overlay *ov = overlay_new(&cfg);
  uint8_t peer[RL_ID_LEN];
  memset(peer, 0xc0, RL_ID_LEN);
  struct rl_addr ep = {.family = RL_AF_INET, .port = 1};
  overlay_join(ov, 0);
  overlay_link_up(ov, peer, &ep, 1000, 0);
  overlay_recv(ov, peer, data, size, 1);
  overlay_on_timer(ov, 100ULL * 1000000000ULL);
  struct ov_action *a = malloc(sizeof(*a));
  while (overlay_poll(ov, a)) {
    CHECK(a->kind >= OV_ACT_SEND && a->kind <= OV_ACT_BCAST);
    CHECK(a->len <= OV_MSG_MAX);
    if (a->kind == OV_ACT_SEND) /* what we send must decode */
      CHECK(ov_msg_decode(m, a->data, a->len) == 0);
  }
  free(a);
  overlay_free(ov);
  free(buf);
  free(m);
  return 0;
}
