/* Ring arithmetic on 160-bit IDs stored big-endian (byte 0 most significant).
 * All operations are mod 2^160; "clockwise" means increasing IDs. */
#include <string.h>

#include "overlay/overlay.h"

int ring_cmp(const uint8_t a[RL_ID_LEN], const uint8_t b[RL_ID_LEN]) {
  /* memcmp on big-endian bytes is numeric comparison; normalise to -1/0/1. */
  int c = memcmp(a, b, RL_ID_LEN);
  return (c > 0) - (c < 0);
}

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

void ring_distance(const uint8_t a[RL_ID_LEN], const uint8_t b[RL_ID_LEN],
                   uint8_t out[RL_ID_LEN]) {
  /* Schoolbook subtraction from the least significant byte; the final
   * borrow is dropped, which is exactly the mod 2^160 wrap. out may alias. */
  int borrow = 0;
  for (int i = RL_ID_LEN - 1; i >= 0; i--) {
    int d = (int)b[i] - (int)a[i] - borrow;
    borrow = d < 0;
    out[i] = (uint8_t)(d + (borrow ? 256 : 0));
  }
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
  for (int i = 0; i < RL_ID_LEN; i++) {
    if (d[i]) {
      int b = 7;
      while (!(d[i] >> b))
        b--;
      return (RL_ID_LEN - 1 - i) * 8 + b + 1;
    }
  }
  return 0;
}

double ring_to_double(const uint8_t d[RL_ID_LEN]) {
  double v = 0;
  for (int i = 0; i < RL_ID_LEN; i++)
    v = v * 256.0 + d[i];
  return v;
}
