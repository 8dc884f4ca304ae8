#include "util/env.h"

#include <ringlan/error.h>
#include <stdio.h>
#include <string.h>

void rl_rand(const struct rl_env *env, void *buf, size_t len) {
  env->rand(env->rand_ctx, buf, len);
}

uint32_t rl_rand_u32(const struct rl_env *env) {
  uint32_t v;
  env->rand(env->rand_ctx, (uint8_t *)&v, sizeof(v));
  return v;
}

uint32_t rl_rand_uniform(const struct rl_env *env, uint32_t bound) {
  /* Rejection sampling: discard the top slice that would bias the modulo. */
  uint32_t min = (uint32_t)(-bound) % bound;
  for (;;) {
    uint32_t r = rl_rand_u32(env);
    if (r >= min)
      return r % bound;
  }
}

uint64_t rl_unix_s(const struct rl_env *env, uint64_t now_ns) {
  return (uint64_t)(env->unix_offset_s + (int64_t)(now_ns / NS_PER_S));
}

uint64_t rl_unix_ms(const struct rl_env *env, uint64_t now_ns) {
  return (uint64_t)(env->unix_offset_s * 1000 + (int64_t)(now_ns / 1000000u));
}

void rl_logf(const struct rl_env *env, int level, const char *fmt, ...) {
  char line[512];
  va_list ap;
  if (!RL_LOG_ENABLED(env, level))
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  env->log(env->log_ctx, level, line);
}

void rl_hex_encode(char *out, const uint8_t *in, size_t len) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = '\0';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int rl_hex_decode(uint8_t *out, size_t cap, const char *hex, size_t hexlen) {
  if (hexlen % 2 != 0 || hexlen / 2 > cap)
    return RL_EPARSE;
  for (size_t i = 0; i < hexlen / 2; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return RL_EPARSE;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return (int)(hexlen / 2);
}
