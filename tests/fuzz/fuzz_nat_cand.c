/* Fuzz target: endpoint candidate lists and DHT NODE record values
 * (candidates, then optional relay hints). Whatever decodes must re-encode
 * to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/cand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct nat_cand c[NAT_CAND_MAX];
  struct nat_hint h[NAT_HINTS_MAX];
  uint8_t out[1024];
  unsigned nh;
  int n = nat_cand_decode(c, NAT_CAND_MAX, data, size);
  if (n >= 0) {
    int len = nat_cand_encode(c, (unsigned)n, out, sizeof(out));
    if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0)
      abort();
  }
  n = nat_record_decode(c, NAT_CAND_MAX, h, NAT_HINTS_MAX, &nh, data, size);
  if (n >= 0) {
    int a = nat_cand_encode(c, (unsigned)n, out, sizeof(out)), b = 0;
    if (a < 0)
      abort();
    if ((size_t)a < size) /* a hint section was there (maybe empty) */
      b = nat_hints_encode(h, nh, out + a, sizeof(out) - (size_t)a);
    if (b < 0 || (size_t)(a + b) != size || memcmp(out, data, size) != 0)
      abort();
  } else if (nh != 0) {
    abort();
  }
  return 0;
}
