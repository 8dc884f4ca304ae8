/* libFuzzer target: cert_parse_text (certificate files given to the CLI
 * and the daemon). Checks that parsing never crashes, and that whatever
 * parses encodes again (text and binary) to the same certificate. */
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
  char text[CERT_TEXT_MAX], err[160];
  int n, t;

  if (cert_parse_text(&c, (const char *)data, size, err, sizeof(err)) != 0) {
    if (memchr(err, '\0', sizeof(err)) == NULL)
      abort(); /* err must always be terminated */
    return 0;
  }
  (void)cert_verify(&c, NULL, NULL, 0);
  n = cert_encode_bin(&c, bin, sizeof(bin));
  if (n < 0 || cert_decode_bin(&d, bin, (size_t)n) != 0)
    abort();
  t = cert_encode_text(&c, text, sizeof(text));
  if (t < 0 || cert_parse_text(&d, text, (size_t)t, err, sizeof(err)) != 0)
    abort();
  if (cert_encode_bin(&d, bin2, sizeof(bin2)) != n || memcmp(bin, bin2, (size_t)n) != 0)
    abort();
  return 0;
}
