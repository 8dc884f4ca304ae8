#include "simulations/sim_rng.h"

#include <string.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void sim_rng_seed(struct sim_rng *r, uint64_t seed, uint64_t stream) {
  /* Mix the stream number in through a second splitmix pass so that
   * neighbouring (seed, stream) pairs give unrelated states. */
  uint64_t x = seed;
  uint64_t y = splitmix64(&x) ^ (stream * 0xd1342543de82ef95ULL + 0x632be59bd9b4e019ULL);
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&y);
  if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
    r->s[0] = 1; /* the all-zero state is a fixed point */
}

uint64_t sim_rng_next(struct sim_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double sim_rng_double(struct sim_rng *r) {
  return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t bound) {
  uint64_t min = (0 - bound) % bound; /* reject the biased top slice */
  for (;;) {
    uint64_t v = sim_rng_next(r);
    if (v >= min)
      return v % bound;
  }
}

void sim_rng_fill(void *ctx, uint8_t *buf, size_t len) {
  struct sim_rng *r = ctx;
  while (len >= 8) {
    uint64_t v = sim_rng_next(r);
    memcpy(buf, &v, 8); /* host order: same machine, same bytes */
    buf += 8;
    len -= 8;
  }
  if (len) {
    uint64_t v = sim_rng_next(r);
    memcpy(buf, &v, len);
  }
}
