/* libFuzzer target: revoke_decode_bin and revoke_parse_text (untrusted:
 * revocations arrive from any member over links and from files). Checks
 * that parsing never crashes and that the binary form is canonical and
 * survives a trip through the text form unchanged. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/revoke.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return sodium_init() < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct revocation r, d;
  uint8_t bin[REVOKE_BIN_MAX], bin2[REVOKE_BIN_MAX];
  char text[REVOKE_TEXT_MAX];
  int n, t;

  (void)revoke_parse_text(&d, (const char *)data, size, NULL, 0);
  if (revoke_decode_bin(&r, data, size) != 0)
    return 0;
  n = revoke_encode_bin(&r, bin, sizeof(bin));
  if (n < 0 || (size_t)n != size || memcmp(bin, data, size) != 0)
    abort(); /* not canonical */
  (void)revoke_verify(&r, NULL, NULL);
  (void)revoke_verify(&r, r.group_pk, r.group);
  t = revoke_encode_text(&r, text, sizeof(text));
  if (t < 0)
    return 0; /* a group name the text form cannot express: fine */
  if (revoke_parse_text(&d, text, (size_t)t, NULL, 0) != 0)
    abort();
  if (revoke_encode_bin(&d, bin2, sizeof(bin2)) != n || memcmp(bin, bin2, (size_t)n) != 0)
    abort(); /* text form lost something */
  return 0;
}
