/* OpenVPN 2.7 epoch key schedule (crypto_epoch.c), on libsodium's
 * HMAC-SHA256 because libsodium 1.0.18 has no HKDF.
 *
 *   ExpandLabel(S, label, ctx, L) = HKDF-Expand-SHA256(S, info, L)
 *   info = uint16be L || uint8 len("ovpn " label) || "ovpn " label
 *          || uint8 len(ctx) || ctx
 *   K_i       = ExpandLabel(E_i, "data_key", "", 32)
 *   data_iv_i = ExpandLabel(E_i, "data_iv", "", 12)
 *   E_(i+1)   = ExpandLabel(E_i, "datakey upd", "", 32)
 *
 * Pure functions; every intermediate is wiped. */
#ifndef RL_CRYPTO_DC_KDF_H
#define RL_CRYPTO_DC_KDF_H

#include <stddef.h>
#include <stdint.h>

/* HKDF-Expand-Label with the "ovpn " prefix. label: 1..250 bytes, ctx:
 * 0..255 bytes, outlen: 1..255*32. Returns 0 or RL_EINVAL. */
int dc_expand_label(const uint8_t secret[32], const char *label, size_t label_len,
                    const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t outlen);
/* K_i and data_iv_i from E_i. */
void dc_epoch_data_key(const uint8_t e[32], uint8_t key[32], uint8_t iv[12]);
/* E_(i+1) from E_i; out may equal e. */
void dc_epoch_next(const uint8_t e[32], uint8_t out[32]);

#endif
