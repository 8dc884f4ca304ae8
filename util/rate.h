/* Token buckets (sans-I/O: time is an argument).
 *
 * Tokens are kept scaled by NS_PER_S so that refills between calls a few
 * microseconds apart are not lost to integer division (a bucket of 200
 * handshakes per second polled at 100k packets per second gains 0.002
 * tokens per call). A bucket starts full: a zeroed struct with at_ns = 0
 * is a bucket that was empty long ago, so the first take sees it full.
 * rate * burst must stay below ~1.8e10 (tokens * 1e9 fit 64 bits): relay
 * budgets of 10 Gbit/s with one second of burst do. */
#ifndef RL_UTIL_RATE_H
#define RL_UTIL_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/env.h"

struct rate_bucket {
  uint64_t scaled;           /* tokens * NS_PER_S */
  uint64_t at_ns;            /* last refill */
  bool started;
};

/* Refills b up to burst tokens, gaining `per_ns` scaled tokens (tokens *
 * NS_PER_S) per nanosecond, or, when every_ns is not 0, one token per
 * every_ns (rates below one token per second). */
static inline void rate_refill_by(struct rate_bucket *b, uint64_t per_ns, uint64_t every_ns,
                                  uint64_t burst, uint64_t now) {
  unsigned __int128 cap = (unsigned __int128)burst * NS_PER_S, t, dt;
  if (!b->started || now < b->at_ns) {
    t = cap; /* first use, or a clock that went back: full */
    b->started = true;
  } else {
    dt = now - b->at_ns;
    t = (unsigned __int128)b->scaled +
        (every_ns ? dt * NS_PER_S / every_ns : dt * per_ns);
  }
  b->scaled = (uint64_t)(t > cap ? cap : t);
  b->at_ns = now;
}

/* Refills b at rate tokens/s up to burst tokens. */
static inline void rate_refill(struct rate_bucket *b, uint64_t rate, uint64_t burst, uint64_t now) {
  rate_refill_by(b, rate, 0, burst, now);
}

/* After rate_refill: whether cost tokens are there, and taking them. */
static inline bool rate_has(const struct rate_bucket *b, uint64_t cost) {
  return (unsigned __int128)b->scaled >= (unsigned __int128)cost * NS_PER_S;
}
static inline void rate_spend(struct rate_bucket *b, uint64_t cost) {
  b->scaled -= cost * NS_PER_S;
}

/* After rate_refill: the whole tokens there are. */
static inline uint64_t rate_tokens(const struct rate_bucket *b) { return b->scaled / NS_PER_S; }

/* Gives back cost tokens that were taken and not used (after a
 * rate_refill_by with the same burst), up to burst. */
static inline void rate_give(struct rate_bucket *b, uint64_t cost, uint64_t burst) {
  unsigned __int128 t = (unsigned __int128)b->scaled + (unsigned __int128)cost * NS_PER_S,
                    cap = (unsigned __int128)burst * NS_PER_S;
  b->scaled = (uint64_t)(t > cap ? cap : t);
}

/* Refills, then takes cost tokens if there are that many. true: taken.
 * rate 0 never allows anything. */
static inline bool rate_take(struct rate_bucket *b, uint64_t rate, uint64_t burst, uint64_t cost,
                             uint64_t now) {
  if (rate == 0)
    return false;
  rate_refill(b, rate, burst, now);
  if (!rate_has(b, cost))
    return false;
  rate_spend(b, cost);
  return true;
}

/* rate_take at one token per every_ns (> 0). */
static inline bool rate_take_every(struct rate_bucket *b, uint64_t every_ns, uint64_t burst,
                                   uint64_t cost, uint64_t now) {
  rate_refill_by(b, 0, every_ns, burst, now);
  if (!rate_has(b, cost))
    return false;
  rate_spend(b, cost);
  return true;
}

#endif
