/* Test-vector line parser (wire.md section 9). Untrusted text: walked with
 * a bounds-checked wire_r cursor, every field length checked. */
#include "crypto/dc_vec.h"

#include <ringlan/error.h>
#include <string.h>

#include "util/env.h"
#include "util/wire.h"

enum {
  F_NAME = 1 << 0,
  F_CIPHER = 1 << 1,
  F_FMT = 1 << 2,
  F_KEY = 1 << 3,
  F_IV = 1 << 4,
  F_PKT = 1 << 5,
  F_ALL = (1 << 6) - 1
};

static bool is_blank(uint8_t c) { return c == ' ' || c == '\t'; }

/* Next whitespace-separated token; NULL at the end of the line. */
static const char *next_token(struct wire_r *r, size_t *tlen) {
  while (wire_left(r) > 0 && is_blank(r->p[r->off]))
    wire_get_u8(r);
  size_t start = r->off, n = 0;
  while (wire_left(r) > 0 && !is_blank(r->p[r->off])) {
    wire_get_u8(r);
    n++;
  }
  *tlen = n;
  return n ? (const char *)r->p + start : NULL;
}

static bool tok_eq(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && !memcmp(s, lit, n);
}

static int fail(const char **err, const char *why) {
  if (err)
    *err = why;
  return RL_EPARSE;
}

/* One "key=value" token into v; *seen collects the fields. */
static int parse_field(const char *tok, size_t n, struct dc_vec *v, unsigned *seen,
                       const char **err) {
  const char *eq = memchr(tok, '=', n);
  if (!eq)
    return fail(err, "field without '='");
  size_t klen = (size_t)(eq - tok);
  const char *val = eq + 1;
  size_t vlen = n - klen - 1;
  unsigned bit;
  if (tok_eq(tok, klen, "name"))
    bit = F_NAME;
  else if (tok_eq(tok, klen, "cipher"))
    bit = F_CIPHER;
  else if (tok_eq(tok, klen, "fmt"))
    bit = F_FMT;
  else if (tok_eq(tok, klen, "key"))
    bit = F_KEY;
  else if (tok_eq(tok, klen, "iv"))
    bit = F_IV;
  else if (tok_eq(tok, klen, "pkt"))
    bit = F_PKT;
  else
    return fail(err, "unknown field");
  if (*seen & bit)
    return fail(err, "repeated field");
  *seen |= bit;

  switch (bit) {
  case F_NAME:
    if (vlen == 0 || vlen > DC_VEC_NAME_MAX)
      return fail(err, "name empty or too long");
    for (size_t i = 0; i < vlen; i++)
      if ((uint8_t)val[i] < 0x21 || (uint8_t)val[i] > 0x7e)
        return fail(err, "name has a non-printable character");
    memcpy(v->name, val, vlen);
    v->name[vlen] = '\0';
    return 0;
  case F_CIPHER:
    if (tok_eq(val, vlen, "AES-256-GCM"))
      v->cipher = DC_AES256GCM;
    else if (tok_eq(val, vlen, "CHACHA20-POLY1305"))
      v->cipher = DC_CHACHA20POLY1305;
    else
      return fail(err, "unknown cipher (AES-256-GCM or CHACHA20-POLY1305)");
    return 0;
  case F_FMT:
    if (tok_eq(val, vlen, "v2"))
      v->fmt = DC_FMT_V2;
    else if (tok_eq(val, vlen, "epoch"))
      v->fmt = DC_FMT_EPOCH;
    else
      return fail(err, "unknown fmt (v2 or epoch)");
    return 0;
  case F_KEY:
    if (vlen != 64 || rl_hex_decode(v->key, sizeof(v->key), val, vlen) != 32)
      return fail(err, "key must be 64 hex digits");
    return 0;
  case F_IV: {
    if (vlen != 16 && vlen != 24)
      return fail(err, "iv must be 16 or 24 hex digits");
    int r = rl_hex_decode(v->iv, sizeof(v->iv), val, vlen);
    if (r < 0)
      return fail(err, "iv is not hex");
    v->iv_len = (size_t)r;
    return 0;
  }
  default: { /* F_PKT */
    if (vlen == 0 || vlen % 2 || vlen / 2 > DC_VEC_PKT_MAX)
      return fail(err, "pkt must be 1..4096 bytes of hex");
    int r = rl_hex_decode(v->pkt, sizeof(v->pkt), val, vlen);
    if (r < 0)
      return fail(err, "pkt is not hex");
    v->pkt_len = (size_t)r;
    return 0;
  }
  }
}

int dc_vec_parse_line(const char *line, size_t len, struct dc_vec *v, const char **err) {
  if (!line || !v)
    return fail(err, "no input");
  /* Strip the line end the file gave us. */
  while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    len--;
  memset(v, 0, sizeof(*v));
  struct wire_r r;
  wire_r_init(&r, (const uint8_t *)line, len);
  size_t n;
  const char *tok = next_token(&r, &n);
  if (!tok || tok[0] == '#')
    return 0;
  unsigned seen = 0;
  for (; tok; tok = next_token(&r, &n)) {
    if (memchr(tok, '\0', n))
      return fail(err, "NUL byte in line");
    int e = parse_field(tok, n, v, &seen, err);
    if (e < 0)
      return e;
  }
  if (seen != F_ALL)
    return fail(err, "missing field (need name, cipher, fmt, key, iv, pkt)");
  if (v->iv_len != (v->fmt == DC_FMT_V2 ? 8u : 12u))
    return fail(err, "iv length does not match fmt (v2: 8 bytes, epoch: 12)");
  return 1;
}
