/* Fuzz target: birthday probing messages (PUNCH types 3..5, nat/bday.h).
 * Whatever decodes must re-encode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/bday.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct nat_bday_msg m;
  uint8_t out[NAT_BDAY_MSG_MAX];
  if (nat_bday_msg_decode(&m, data, size) == 0) {
    int len = nat_bday_msg_encode(&m, out, sizeof(out));
    if (len < 0 || (size_t)len != size || memcmp(out, data, size) != 0)
      abort();
  }
  return 0;
}
