/* Noise symmetric state (MixHash, MixKey, EncryptAndHash, Split) for the
 * ringlan handshake. See hs_noise.h for the deviations from Noise. */
#include "crypto/hs_noise.h"
#include "crypto/standin.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <string.h>

/* Longer than HASHLEN, so Noise says: h = HASH(name). The "ringlan-hs-1"
 * prefix separates our variant (signed payload, keyed-BLAKE2b HKDF) from
 * real Noise implementations. */
static const char PROTOCOL_NAME[] = "ringlan-hs-1 Noise_IXpsk0_25519_ChaChaPoly_BLAKE2b";

/* HKDF(ck, ikm) -> n outputs of 32 bytes, PRF = keyed BLAKE2b-256. */
static void hkdf(const uint8_t ck[32], const uint8_t *ikm, size_t len, uint8_t *o1,
                 uint8_t *o2, uint8_t *o3) {
  uint8_t prk[32], buf[33];
  uint8_t *outs[3] = {o1, o2, o3};
  crypto_generichash(prk, 32, ikm, len, ck, 32);
  for (int i = 0; i < 3 && outs[i]; i++) {
    size_t n = 0;
    if (i > 0) {
      memcpy(buf, outs[i - 1], 32);
      n = 32;
    }
    buf[n++] = (uint8_t)(i + 1);
    crypto_generichash(outs[i], 32, buf, n, prk, 32);
  }
  sodium_memzero(prk, sizeof(prk));
  sodium_memzero(buf, sizeof(buf));
}

void hs_noise_start(struct hs_noise *n, const uint8_t group_pk[32]) {
  static const char psk_label[] = "ringlan psk0";
  uint8_t psk[32], th[32];
  crypto_generichash_state st;
  memset(n, 0, sizeof(*n));
  crypto_generichash(n->h, 32, (const uint8_t *)PROTOCOL_NAME, sizeof(PROTOCOL_NAME) - 1,
                     NULL, 0);
  memcpy(n->ck, n->h, 32);
  /* prologue: the group key, so members of different groups never agree */
  hs_noise_mix_hash(n, group_pk, 32);
  crypto_generichash_init(&st, NULL, 0, 32);
  crypto_generichash_update(&st, (const uint8_t *)psk_label, sizeof(psk_label) - 1);
  crypto_generichash_update(&st, group_pk, 32);
  crypto_generichash_final(&st, psk, 32);
  /* psk0: MixKeyAndHash(psk) */
  hkdf(n->ck, psk, 32, n->ck, th, n->k);
  hs_noise_mix_hash(n, th, 32);
  n->has_k = true;
  sodium_memzero(psk, sizeof(psk));
  sodium_memzero(th, sizeof(th));
  sodium_memzero(&st, sizeof(st));
}

void hs_noise_resume(struct hs_noise *n, const uint8_t ck[32], const uint8_t h[32]) {
  memset(n, 0, sizeof(*n));
  memcpy(n->ck, ck, 32);
  memcpy(n->h, h, 32);
}

void hs_noise_mix_hash(struct hs_noise *n, const uint8_t *data, size_t len) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, 32);
  crypto_generichash_update(&st, n->h, 32);
  crypto_generichash_update(&st, data, len);
  crypto_generichash_final(&st, n->h, 32);
  sodium_memzero(&st, sizeof(st));
}

void hs_noise_mix_key(struct hs_noise *n, const uint8_t *ikm, size_t len) {
  hkdf(n->ck, ikm, len, n->ck, n->k, NULL);
  n->has_k = true;
}

int hs_noise_mix_dh(struct hs_noise *n, const uint8_t sk[32], const uint8_t pk[32],
                    bool standin) {
  uint8_t dh[32];
  if (standin) {
    standin_x25519(dh, sk, pk);
    hs_noise_mix_key(n, dh, 32);
    sodium_memzero(dh, sizeof(dh));
    return 0;
  }
  /* crypto_scalarmult fails on an all-zero result (low-order point) */
  if (crypto_scalarmult(dh, sk, pk) != 0) {
    sodium_memzero(dh, sizeof(dh));
    return RL_EAUTH;
  }
  hs_noise_mix_key(n, dh, 32);
  sodium_memzero(dh, sizeof(dh));
  return 0;
}

int hs_noise_encrypt(struct hs_noise *n, const uint8_t *pt, size_t len, uint8_t *out) {
  static const uint8_t nonce[12] = {0};
  unsigned long long clen = 0;
  if (!n->has_k)
    return RL_ESTATE;
  int rc = crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, pt, len, n->h, 32, NULL,
                                                     nonce, n->k);
  sodium_memzero(n->k, 32);
  n->has_k = false;
  if (rc != 0) {
    sodium_memzero(out, len + HS_NOISE_TAG);
    return RL_ETOOBIG; /* libsodium refuses only messages past its limit */
  }
  hs_noise_mix_hash(n, out, (size_t)clen);
  return 0;
}

int hs_noise_decrypt(struct hs_noise *n, const uint8_t *in, size_t len, uint8_t *pt) {
  static const uint8_t nonce[12] = {0};
  unsigned long long plen = 0;
  int rc;
  if (!n->has_k)
    return RL_ESTATE;
  if (len < HS_NOISE_TAG)
    return RL_ETRUNC;
  rc = crypto_aead_chacha20poly1305_ietf_decrypt(pt, &plen, NULL, in, len, n->h, 32,
                                                 nonce, n->k);
  sodium_memzero(n->k, 32);
  n->has_k = false;
  if (rc != 0)
    return RL_EAUTH;
  hs_noise_mix_hash(n, in, len);
  return 0;
}

void hs_noise_split_key2(const struct hs_noise *n, uint8_t key2[256]) {
  static const char label[] = "ringlan key2";
  uint8_t prk[32], buf[65];
  /* HKDF-Expand to 256 bytes with BLAKE2b-512: T(i) = PRF(prk, T(i-1) || i) */
  crypto_generichash(prk, 32, (const uint8_t *)label, sizeof(label) - 1, n->ck, 32);
  for (int i = 0; i < 4; i++) {
    size_t len = 0;
    if (i > 0) {
      memcpy(buf, key2 + 64 * (i - 1), 64);
      len = 64;
    }
    buf[len++] = (uint8_t)(i + 1);
    crypto_generichash(key2 + 64 * i, 64, buf, len, prk, 32);
  }
  sodium_memzero(prk, sizeof(prk));
  sodium_memzero(buf, sizeof(buf));
}

void hs_noise_wipe(struct hs_noise *n) { sodium_memzero(n, sizeof(*n)); }
