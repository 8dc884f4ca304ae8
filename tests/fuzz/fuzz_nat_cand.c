/* Fuzz target: endpoint candidate lists (DHT NODE record values). Whatever
 * decodes must re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/cand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct nat_cand c[NAT_CAND_MAX];
  uint8_t out[512];
  int n = nat_cand_decode(c, NAT_CAND_MAX, data, size);
  if (n >= 0) {
    int len = nat_cand_encode(c, (unsigned)n, out, sizeof(out));
    if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0)
      abort();
  }
  return 0;
}
