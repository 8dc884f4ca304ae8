#include "crypto/standin.h"

#include <string.h>

/* H(label, parts...) with BLAKE2b of outlen bytes, optionally keyed. */
static void h(uint8_t *out, size_t outlen, const uint8_t *key, const char *label,
              const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, key, key ? 32 : 0, outlen);
  crypto_generichash_update(&st, (const uint8_t *)"ringlan standin ", 16);
  crypto_generichash_update(&st, (const uint8_t *)label, strlen(label) + 1);
  if (alen)
    crypto_generichash_update(&st, a, alen);
  if (blen)
    crypto_generichash_update(&st, b, blen);
  crypto_generichash_final(&st, out, outlen);
}

void standin_x25519_base(uint8_t pk[32], const uint8_t sk[32]) {
  h(pk, 32, NULL, "x-base", sk, 32, NULL, 0);
}

int standin_x25519(uint8_t dh[32], const uint8_t sk[32], const uint8_t pk[32]) {
  uint8_t own[32];
  standin_x25519_base(own, sk);
  if (memcmp(own, pk, 32) <= 0)
    h(dh, 32, NULL, "x-dh", own, 32, pk, 32);
  else
    h(dh, 32, NULL, "x-dh", pk, 32, own, 32);
  return 0;
}

void standin_ed_pk_to_x(uint8_t x_pk[32], const uint8_t ed_pk[32]) {
  uint8_t x_sk[32];
  h(x_sk, 32, NULL, "x-from-ed", ed_pk, 32, NULL, 0);
  standin_x25519_base(x_pk, x_sk);
}

void standin_ed_sk_to_x(uint8_t x_sk[32], const uint8_t ed_sk[64]) {
  h(x_sk, 32, NULL, "x-from-ed", ed_sk + 32, 32, NULL, 0);
}

static void ph_sig(crypto_sign_ed25519ph_state *st, uint8_t sig[64], const uint8_t pk[32]) {
  uint8_t digest[64];
  crypto_hash_sha512_final(&st->hs, digest);
  h(sig, 64, NULL, "ph-sig", pk, 32, digest, sizeof(digest));
}

void standin_ph_sign(crypto_sign_ed25519ph_state *st, uint8_t sig[64], const uint8_t pk[32]) {
  ph_sig(st, sig, pk);
}

int standin_ph_verify(crypto_sign_ed25519ph_state *st, const uint8_t sig[64],
                      const uint8_t pk[32]) {
  uint8_t want[64];
  ph_sig(st, want, pk);
  return sodium_memcmp(want, sig, 64) == 0 ? 0 : -1;
}

static void tag_of(uint8_t tag[16], const uint8_t key[32], const uint8_t *ct, size_t ctlen,
                   const uint8_t *ad, size_t adlen, const uint8_t nonce[12]) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, key, 32, 16);
  crypto_generichash_update(&st, nonce, 12);
  if (adlen)
    crypto_generichash_update(&st, ad, adlen);
  if (ctlen)
    crypto_generichash_update(&st, ct, ctlen);
  crypto_generichash_final(&st, tag, 16);
}

void standin_seal(const uint8_t key[32], uint8_t *ct, uint8_t tag[16], const uint8_t *pt,
                  size_t ptlen, const uint8_t *ad, size_t adlen, const uint8_t nonce[12]) {
  if (ptlen && ct != pt)
    memmove(ct, pt, ptlen);
  tag_of(tag, key, ct, ptlen, ad, adlen, nonce);
}

int standin_open(const uint8_t key[32], uint8_t *pt, const uint8_t *ct, size_t ctlen,
                 const uint8_t tag[16], const uint8_t *ad, size_t adlen,
                 const uint8_t nonce[12]) {
  uint8_t want[16];
  tag_of(want, key, ct, ctlen, ad, adlen, nonce);
  if (sodium_memcmp(want, tag, 16) != 0)
    return -1;
  if (ctlen && pt != ct)
    memmove(pt, ct, ctlen);
  return 0;
}
