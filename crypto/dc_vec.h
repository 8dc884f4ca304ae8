/* Parser for the data-channel test vector line format
 * (../shared/openvpn/wire.md section 9):
 *
 *   name=SET:A>B cipher=AES-256-GCM fmt=v2 key=<64 hex> iv=<16 hex> pkt=<hex>
 *
 * Fields are separated by spaces or tabs, each exactly once, in any order;
 * cipher is AES-256-GCM or CHACHA20-POLY1305, fmt is v2 (iv = 8-byte
 * implicit IV) or epoch (iv = 12-byte data IV). Blank lines and lines whose
 * first non-blank character is '#' carry no vector. A trailing '\r' is
 * ignored. Pure: no I/O, no allocation. */
#ifndef RL_CRYPTO_DC_VEC_H
#define RL_CRYPTO_DC_VEC_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/dc.h"

#define DC_VEC_NAME_MAX 127
/* Largest UDP payload the vectors may hold (a 1514-byte TAP frame plus
 * overhead fits with room to spare). */
#define DC_VEC_PKT_MAX 4096

struct dc_vec {
  char name[DC_VEC_NAME_MAX + 1]; /* NUL-terminated */
  enum dc_cipher cipher;
  enum dc_format fmt;
  uint8_t key[32];
  uint8_t iv[12];
  size_t iv_len;                  /* 8 (v2) or 12 (epoch) */
  uint8_t pkt[DC_VEC_PKT_MAX];
  size_t pkt_len;
};

/* Parses one line (without or with its '\n'; len bytes, need not be
 * NUL-terminated). Returns 1 when *v holds a vector, 0 for a blank or
 * comment line, RL_EPARSE for a malformed line (unknown or repeated field,
 * missing field, bad hex or length, unknown cipher/format, packet too large).
 * When err is not NULL it gets a short static explanation on failure. */
int dc_vec_parse_line(const char *line, size_t len, struct dc_vec *v, const char **err);

#endif
