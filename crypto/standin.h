/* Cheap stand-ins for the expensive public-key and AEAD primitives, for
 * the simulator's largest runs only (struct rl_env.crypto_standin; the
 * daemon and every CLI command leave it false, and nothing in the config
 * file can set it).
 *
 * NOT SECURE: every stand-in is a keyed BLAKE2b hash that anyone who knows
 * the public inputs can compute. What they keep is what a simulation of an
 * honest population needs: both ends of a handshake derive the same keys,
 * a node with the wrong keys (a stale session, a key from another
 * handshake) fails to decrypt, a changed transcript fails to verify, and
 * message sizes and the wire format are byte for byte the real ones.
 *
 *   X25519            pk = H("x-base", sk); DH(sk, pk') = H("x-dh", lo, hi)
 *                     of {pk(sk), pk'} in byte order (both ends agree).
 *   Ed25519 -> X25519 x_sk = H("x-from-ed", ed_pk) (the secret key's second
 *                     half is its public key), x_pk = pk(x_sk).
 *   Ed25519ph         sig = H64("ph-sig", signer_pk, SHA-512 of the
 *                     message), checked by recomputing it.
 *   certificate       the group's signature on a peer certificate met in a
 *                     handshake is not checked (fields, group name and
 *                     validity still are); DHT records stay fully real.
 *   AEAD (data chan.) ciphertext = plaintext; tag = H16(key, nonce, ad, ct).
 *
 * Costs (this machine): each X25519 stand-in about 0.3 us instead of about
 * 50 us, an Ed25519 verify about 0.5 us instead of about 60 us. */
#ifndef RL_CRYPTO_STANDIN_H
#define RL_CRYPTO_STANDIN_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

void standin_x25519_base(uint8_t pk[32], const uint8_t sk[32]);
/* 0 (a stand-in has no low-order points to refuse). */
int standin_x25519(uint8_t dh[32], const uint8_t sk[32], const uint8_t pk[32]);
void standin_ed_sk_to_x(uint8_t x_sk[32], const uint8_t ed_sk[64]);
void standin_ed_pk_to_x(uint8_t x_pk[32], const uint8_t ed_pk[32]);
/* Finishes st (as crypto_sign_ed25519ph_final_* would). */
void standin_ph_sign(crypto_sign_ed25519ph_state *st, uint8_t sig[64], const uint8_t pk[32]);
/* 0 when sig is the stand-in signature of st's message by pk, else -1. */
int standin_ph_verify(crypto_sign_ed25519ph_state *st, const uint8_t sig[64],
                      const uint8_t pk[32]);
void standin_seal(const uint8_t key[32], uint8_t *ct, uint8_t tag[16], const uint8_t *pt,
                  size_t ptlen, const uint8_t *ad, size_t adlen, const uint8_t nonce[12]);
/* 0 when the tag verifies (pt filled), else -1 (pt untouched). */
int standin_open(const uint8_t key[32], uint8_t *pt, const uint8_t *ct, size_t ctlen,
                 const uint8_t tag[16], const uint8_t *ad, size_t adlen,
                 const uint8_t nonce[12]);

#endif
