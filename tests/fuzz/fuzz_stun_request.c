/* libFuzzer target: the STUN Binding request parser of the test bed's
 * responder (tests/tools/stun_responder.c; it reads datagrams from anyone in
 * the test network). Checks: no crash; an accepted request yields a response
 * that fits and echoes the transaction id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STUN_RESPONDER_NO_MAIN 1
#include "../tools/stun_responder.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct stun_req q;
  uint8_t out[128];
  size_t n;
  if (stun_parse_request(data, size, &q) != 0)
    return 0;
  n = stun_build_response(&q, 0xCB007105u, 4242, 0xCB007106u, 3479, out, sizeof(out));
  if (n != 20 + 36 || memcmp(out + 8, q.tid, 12) != 0)
    abort();
  return 0;
}
