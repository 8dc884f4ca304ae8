/* libFuzzer target: id_key_parse / id_pub_parse for both kinds (key files
 * read by the CLI and the daemon). Checks that parsing never crashes, that
 * a parsed secret key matches its public key, and that what parses
 * encodes and parses back to the same key. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return sodium_init() < 0 ? -1 : 0;
}

static void one(const char *kind, const uint8_t *data, size_t size) {
  struct id_key k, k2;
  uint8_t pk[RL_PK_LEN], derived[RL_PK_LEN];
  char name[RL_GROUP_NAME_MAX + 1], name2[RL_GROUP_NAME_MAX + 1], text[512], err[160];
  int n;

  if (id_key_parse(&k, kind, name, sizeof(name), (const char *)data, size, err,
                   sizeof(err)) == 0) {
    crypto_sign_ed25519_sk_to_pk(derived, k.sk);
    if (memcmp(derived, k.pk, RL_PK_LEN) != 0)
      abort(); /* a secret that does not match its public key got through */
    n = id_key_encode(&k, kind, name, text, sizeof(text));
    if (n < 0 || id_key_parse(&k2, kind, name2, sizeof(name2), text, (size_t)n, err,
                              sizeof(err)) != 0)
      abort();
    if (memcmp(&k, &k2, sizeof(k)) != 0 || strcmp(name, name2) != 0)
      abort();
    id_wipe(&k2);
  }
  id_wipe(&k);
  if (id_pub_parse(pk, kind, name, sizeof(name), (const char *)data, size, err,
                   sizeof(err)) == 0) {
    n = id_pub_encode(pk, kind, name, text, sizeof(text));
    if (n < 0 || id_pub_parse(derived, kind, name2, sizeof(name2), text, (size_t)n, err,
                              sizeof(err)) != 0)
      abort();
    if (memcmp(pk, derived, RL_PK_LEN) != 0 || strcmp(name, name2) != 0)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  one("node", data, size);
  one("group", data, size);
  return 0;
}
