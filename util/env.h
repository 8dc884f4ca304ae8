/* What the sans-I/O core gets from its driver instead of touching the OS:
 * randomness (an injected function), logging (an injected sink) and time
 * (always an argument: uint64_t now_ns, monotonic nanoseconds).
 *
 * The libuv driver fills these with randombytes_buf() and stderr; the
 * simulator with a seeded generator and its own log, so one seed fixes a
 * whole run. No globals: every node carries its own struct rl_env. */
#ifndef RL_UTIL_ENV_H
#define RL_UTIL_ENV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL
#define RL_TIME_NEVER UINT64_MAX

enum rl_log_level { RL_LOG_ERROR = 0, RL_LOG_WARN, RL_LOG_INFO, RL_LOG_DEBUG };

struct rl_env {
  /* Fills buf with len random bytes. Must be cryptographically secure in
   * the daemon; may be a seeded PRNG in the simulator. */
  void (*rand)(void *ctx, uint8_t *buf, size_t len);
  void *rand_ctx;
  /* Receives one formatted log line (no trailing newline). May be NULL. */
  void (*log)(void *ctx, int level, const char *line);
  void *log_ctx;
  int log_level; /* lines above this level are not formatted at all */
  /* Unix time in seconds at monotonic time 0, so that
   * unix_s = unix_offset_s + now_ns / NS_PER_S (certificate validity). */
  int64_t unix_offset_s;
  /* Simulator only: replace the handshake's public-key primitives and the
   * data channel's AEAD with cheap, INSECURE stand-ins (crypto/standin.h).
   * The daemon never sets it. */
  bool crypto_standin;
};

void rl_rand(const struct rl_env *env, void *buf, size_t len);
uint32_t rl_rand_u32(const struct rl_env *env);
/* Uniform in [0, bound) without modulo bias; bound > 0. */
uint32_t rl_rand_uniform(const struct rl_env *env, uint32_t bound);
uint64_t rl_unix_s(const struct rl_env *env, uint64_t now_ns);
/* The same in milliseconds. */
uint64_t rl_unix_ms(const struct rl_env *env, uint64_t now_ns);

void rl_logf(const struct rl_env *env, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define RL_LOG_ENABLED(env, lvl) ((env) && (env)->log && (env)->log_level >= (lvl))

/* Hex helpers (lower case). rl_hex_decode returns bytes written or RL_EPARSE. */
void rl_hex_encode(char *out, const uint8_t *in, size_t len); /* out: 2*len+1 */
int rl_hex_decode(uint8_t *out, size_t cap, const char *hex, size_t hexlen);

#endif
