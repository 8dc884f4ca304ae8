/* Ring arithmetic on 160-bit IDs stored big-endian (byte 0 most significant).
 * All operations are mod 2^160; "clockwise" means increasing IDs. */
#include <string.h>

#include "overlay/overlay.h"

bool ring_between(const uint8_t a[RL_ID_LEN], const uint8_t x[RL_ID_LEN],
                  const uint8_t b[RL_ID_LEN]) {
  int ab = ring_cmp(a, b);
  if (ab == 0) /* (a, a) is the whole ring but a itself */
    return ring_cmp(x, a) != 0;
  if (ab < 0) /* no wrap: a < x < b */
    return ring_cmp(a, x) < 0 && ring_cmp(x, b) < 0;
  /* the interval wraps past zero */
  return ring_cmp(x, a) > 0 || ring_cmp(x, b) < 0;
}

/* IDs as three big-endian words: bytes 0..7, 8..15, 16..19. Written with
 * shifts so they hold on any host byte order; gcc and clang turn these
 * into one load and a byte swap on little-endian machines. */
static inline uint64_t load64(const uint8_t *p) {
  return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
         (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
         (uint64_t)p[6] << 8 | p[7];
}
static inline uint32_t load32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
int ring_cmp(const uint8_t a[RL_ID_LEN], const uint8_t b[RL_ID_LEN]) {
  /* Numeric comparison of the big-endian words (memcmp would do, but this
   * is the simulator's hottest function and a call per compare shows). */
  uint64_t x = load64(a), y = load64(b);
  if (x == y) {
    x = load64(a + 8), y = load64(b + 8);
    if (x == y)
      x = load32(a + 16), y = load32(b + 16);
  }
  return (x > y) - (x < y);
}

static inline void store64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}
static inline void store32(uint8_t *p, uint32_t v) {
  for (int i = 3; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
}

void ring_distance(const uint8_t a[RL_ID_LEN], const uint8_t b[RL_ID_LEN],
                   uint8_t out[RL_ID_LEN]) {
  /* b - a with borrows between words; the final borrow is dropped, which is
   * exactly the mod 2^160 wrap. Word-wise because the simulator spends much
   * of its time here. out may alias a or b (all loads happen first). */
  uint64_t a0 = load64(a), a1 = load64(a + 8), b0 = load64(b), b1 = load64(b + 8);
  uint32_t a2 = load32(a + 16), b2 = load32(b + 16);
  uint32_t d2 = b2 - a2;
  uint64_t borrow = b2 < a2;
  uint64_t d1 = b1 - a1 - borrow;
  borrow = (b1 < a1) || (b1 - a1 < borrow);
  uint64_t d0 = b0 - a0 - borrow;
  store64(out, d0);
  store64(out + 8, d1);
  store32(out + 16, d2);
}

void ring_add_pow2(const uint8_t a[RL_ID_LEN], unsigned k, uint8_t out[RL_ID_LEN]) {
  if (out != a)
    memcpy(out, a, RL_ID_LEN);
  if (k >= RL_ID_LEN * 8)
    return; /* 2^160 == 0 mod 2^160 */
  int i = RL_ID_LEN - 1 - (int)(k / 8);
  unsigned carry = 1u << (k % 8);
  for (; i >= 0 && carry; i--) {
    unsigned s = out[i] + carry;
    out[i] = (uint8_t)s;
    carry = s >> 8;
  }
}

int ring_bitlen(const uint8_t d[RL_ID_LEN]) {
  uint64_t w0 = load64(d), w1 = load64(d + 8);
  uint32_t w2 = load32(d + 16);
  if (w0)
    return 160 - __builtin_clzll(w0);
  if (w1)
    return 96 - __builtin_clzll(w1);
  if (w2)
    return 32 - __builtin_clz(w2);
  return 0;
}

double ring_to_double(const uint8_t d[RL_ID_LEN]) {
  double v = 0;
  for (int i = 0; i < RL_ID_LEN; i++)
    v = v * 256.0 + d[i];
  return v;
}
