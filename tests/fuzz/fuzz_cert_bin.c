/* libFuzzer target: cert_decode_bin (untrusted: certificates arrive in
 * handshakes and DHT records). Checks that decoding never crashes and that
 * the binary form is canonical: whatever decodes re-encodes to the same
 * bytes, and survives a trip through the text form unchanged. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return sodium_init() < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct cert c, d;
  uint8_t bin[CERT_BIN_MAX], bin2[CERT_BIN_MAX];
  char text[CERT_TEXT_MAX];
  int n, t;

  if (cert_decode_bin(&c, data, size) != 0)
    return 0;
  n = cert_encode_bin(&c, bin, sizeof(bin));
  if (n < 0 || (size_t)n != size || memcmp(bin, data, size) != 0)
    abort(); /* not canonical */
  (void)cert_verify(&c, NULL, NULL, 0);
  (void)cert_verify(&c, c.group_pk, c.group, c.not_before);
  t = cert_encode_text(&c, text, sizeof(text));
  if (t < 0)
    return 0; /* names or prefix the text form cannot express: fine */
  if (cert_parse_text(&d, text, (size_t)t, NULL, 0) != 0)
    abort(); /* the text parser must take what the encoder writes */
  if (cert_encode_bin(&d, bin2, sizeof(bin2)) != n || memcmp(bin, bin2, (size_t)n) != 0)
    abort(); /* text form lost something */
  return 0;
}
