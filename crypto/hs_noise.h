/* Noise symmetric state for the ringlan handshake (private to crypto/hs*.c).
 *
 * Noise_IXpsk0_25519_ChaChaPoly_BLAKE2b with two documented deviations:
 * HKDF uses keyed BLAKE2b-256 as its PRF (instead of HMAC-BLAKE2b; keyed
 * BLAKE2b is a PRF by design), and the "psk" is derived from the group
 * public key, which only hides message 1 from observers outside the group
 * (it is not a secret between members). Every cipher key is used exactly
 * once (each encryption follows a MixKey), so the nonce is always 0. */
#ifndef RL_CRYPTO_HS_NOISE_H
#define RL_CRYPTO_HS_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_NOISE_TAG 16

struct hs_noise {
  uint8_t ck[32];  /* chaining key */
  uint8_t h[32];   /* transcript hash */
  uint8_t k[32];   /* current cipher key (valid when has_k) */
  bool has_k;
};

/* h = ck = HASH(protocol name); MixHash(prologue = group_pk);
 * MixKeyAndHash(psk0 = HASH("ringlan psk0" || group_pk)). */
void hs_noise_start(struct hs_noise *n, const uint8_t group_pk[32]);
/* Resumes from a stored ck/h (between messages). */
void hs_noise_resume(struct hs_noise *n, const uint8_t ck[32], const uint8_t h[32]);
void hs_noise_mix_hash(struct hs_noise *n, const uint8_t *data, size_t len);
/* ck, k = HKDF(ck, ikm). */
void hs_noise_mix_key(struct hs_noise *n, const uint8_t *ikm, size_t len);
/* MixKey(DH(sk, pk)). RL_EAUTH if pk is a low-order point. */
/* standin: crypto/standin.h (simulator only) */
int hs_noise_mix_dh(struct hs_noise *n, const uint8_t sk[32], const uint8_t pk[32],
                    bool standin);
/* EncryptAndHash: out gets len + HS_NOISE_TAG bytes; consumes k. 0, RL_ESTATE
 * (no key) or RL_ETOOBIG (libsodium refused: out zeroed, h unchanged). */
int hs_noise_encrypt(struct hs_noise *n, const uint8_t *pt, size_t len, uint8_t *out);
/* DecryptAndHash: in has len bytes (>= tag), pt gets len - tag. RL_EAUTH. */
int hs_noise_decrypt(struct hs_noise *n, const uint8_t *in, size_t len, uint8_t *pt);
/* Split into an OpenVPN key2 block (256 bytes), all of it from the KDF. */
void hs_noise_split_key2(const struct hs_noise *n, uint8_t key2[256]);
void hs_noise_wipe(struct hs_noise *n);

#endif
