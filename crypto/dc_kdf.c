/* Epoch key schedule: HKDF-Expand-Label over crypto_auth_hmacsha256. */
#include "crypto/dc_kdf.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <string.h>

#define KDF_PREFIX "ovpn "
#define KDF_PREFIX_LEN 5
#define KDF_HASH_LEN crypto_auth_hmacsha256_BYTES

int dc_expand_label(const uint8_t secret[32], const char *label, size_t label_len,
                    const uint8_t *ctx, size_t ctx_len, uint8_t *out, size_t outlen) {
  /* OpenVPN's limits (ovpn_expand_label): the length bytes must fit. */
  if (!secret || !label || !out || label_len < 1 || label_len > 250 || ctx_len > 255 ||
      (ctx_len && !ctx) || outlen < 1 || outlen > 255 * KDF_HASH_LEN)
    return RL_EINVAL;
  uint8_t info_hdr[3 + KDF_PREFIX_LEN];
  info_hdr[0] = (uint8_t)(outlen >> 8);
  info_hdr[1] = (uint8_t)outlen;
  info_hdr[2] = (uint8_t)(KDF_PREFIX_LEN + label_len);
  memcpy(info_hdr + 3, KDF_PREFIX, KDF_PREFIX_LEN);
  const uint8_t ctx_len_byte = (uint8_t)ctx_len;

  crypto_auth_hmacsha256_state st;
  uint8_t t[KDF_HASH_LEN];
  size_t done = 0;
  /* HKDF-Expand (RFC 5869): T(i) = HMAC(PRK, T(i-1) || info || i). */
  for (uint8_t block = 1; done < outlen; block++) {
    crypto_auth_hmacsha256_init(&st, secret, 32);
    if (block > 1)
      crypto_auth_hmacsha256_update(&st, t, sizeof(t));
    crypto_auth_hmacsha256_update(&st, info_hdr, sizeof(info_hdr));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)label, label_len);
    crypto_auth_hmacsha256_update(&st, &ctx_len_byte, 1);
    if (ctx_len)
      crypto_auth_hmacsha256_update(&st, ctx, ctx_len);
    crypto_auth_hmacsha256_update(&st, &block, 1);
    crypto_auth_hmacsha256_final(&st, t);
    size_t n = outlen - done < sizeof(t) ? outlen - done : sizeof(t);
    memcpy(out + done, t, n);
    done += n;
  }
  sodium_memzero(&st, sizeof(st));
  sodium_memzero(t, sizeof(t));
  return 0;
}

void dc_epoch_data_key(const uint8_t e[32], uint8_t key[32], uint8_t iv[12]) {
  static const char k_label[] = "data_key";
  static const char iv_label[] = "data_iv";
  dc_expand_label(e, k_label, sizeof(k_label) - 1, NULL, 0, key, 32);
  dc_expand_label(e, iv_label, sizeof(iv_label) - 1, NULL, 0, iv, 12);
}

void dc_epoch_next(const uint8_t e[32], uint8_t out[32]) {
  static const char upd_label[] = "datakey upd";
  uint8_t next[32];
  /* Via a temporary so that out may alias e. */
  dc_expand_label(e, upd_label, sizeof(upd_label) - 1, NULL, 0, next, sizeof(next));
  memcpy(out, next, sizeof(next));
  sodium_memzero(next, sizeof(next));
}
