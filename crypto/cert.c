/* Group membership certificates: canonical binary form, signature, checks,
 * and the armored text file (docs/files.md). */
#include "crypto/cert.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/armor.h"
#include "util/wire.h"

/* Domain separation: the group key signs CERT_SIG_CONTEXT || body, so a
 * group signature over a certificate can never be replayed as a signature
 * over some other object the group key signs (e.g. a revocation list),
 * which must use its own context string. */
static const char CERT_SIG_CONTEXT[] = "ringlan certificate v1";

#define CERT_BODY_MAX (CERT_BIN_MAX - RL_SIG_LEN)
/* Latest time the text form renders as ISO-8601: 9999-12-31T23:59:59Z. */
#define ISO_MAX_S 253402300799ULL

/* ---- addresses ---- */

void cert_vip_format(uint32_t vip, uint8_t prefix, char out[CERT_VIP_STRLEN]) {
  char tmp[48]; /* the compiler cannot see that prefix <= 32 */
  snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u/%u", vip >> 24, (vip >> 16) & 255, (vip >> 8) & 255,
           vip & 255, prefix);
  snprintf(out, CERT_VIP_STRLEN, "%.*s", CERT_VIP_STRLEN - 1, tmp);
}

/* Decimal number of 1..maxdig digits without leading zeros; -1 if bad. */
static long long parse_dec(const char *s, size_t len, size_t maxdig) {
  long long v = 0;
  if (len == 0 || len > maxdig || (len > 1 && s[0] == '0'))
    return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int cert_vip_parse(const char *s, size_t len, uint8_t default_prefix, uint32_t *vip,
                   uint8_t *prefix) {
  uint32_t ip = 0;
  size_t i = 0;
  long long p = default_prefix;
  for (int octet = 0; octet < 4; octet++) {
    size_t st = i;
    long long v;
    while (i < len && s[i] >= '0' && s[i] <= '9')
      i++;
    v = parse_dec(s + st, i - st, 3);
    if (v < 0 || v > 255)
      return RL_EPARSE;
    ip = ip << 8 | (uint32_t)v;
    if (octet < 3) {
      if (i >= len || s[i] != '.')
        return RL_EPARSE;
      i++;
    }
  }
  if (i < len) {
    if (s[i] != '/')
      return RL_EPARSE;
    p = parse_dec(s + i + 1, len - i - 1, 2);
  }
  if (p < 1 || p > 32)
    return RL_EPARSE;
  *vip = ip;
  *prefix = (uint8_t)p;
  return 0;
}

bool cert_vip_is_host(uint32_t vip, uint8_t prefix) {
  uint32_t hostmask;
  if (prefix < 1 || prefix > 32)
    return false;
  if (prefix >= 31) /* RFC 3021 point-to-point and single host: no net/bcast */
    return true;
  hostmask = 0xFFFFFFFFu >> prefix;
  return (vip & hostmask) != 0 && (vip & hostmask) != hostmask;
}

/* ---- fields ---- */

/* Length of a NUL-terminated name stored in a fixed array, or -1 when the
 * array holds no terminator (a struct filled by hand). */
static int fixed_len(const char *s, size_t arr) {
  const char *z = memchr(s, '\0', arr);
  return z ? (int)(z - s) : -1;
}

/* Semantic checks shared by sign and verify. */
static int check_fields(const struct cert *c) {
  int gl = fixed_len(c->group, sizeof(c->group));
  if (c->version != 1)
    return RL_EINVAL;
  if (gl <= 0 || !armor_name_ok(c->group, (size_t)gl, RL_GROUP_NAME_MAX))
    return RL_EINVAL;
  if (c->prefix < 1 || c->prefix > 32 || !cert_vip_is_host(c->vip, c->prefix))
    return RL_EINVAL;
  if (c->not_after < c->not_before)
    return RL_EINVAL;
  if (c->n_subrings > CERT_MAX_SUBRINGS)
    return RL_EINVAL;
  for (unsigned i = 0; i < c->n_subrings; i++) {
    int sl = fixed_len(c->subrings[i], sizeof(c->subrings[i]));
    if (sl <= 0 || !armor_name_ok(c->subrings[i], (size_t)sl, CERT_SUBRING_MAX))
      return RL_EINVAL;
  }
  return 0;
}

/* ---- binary form ----
 *   u8 version | u8 glen | group[glen] | group_pk[32] | node_pk[32] | u32 vip
 *   | u8 prefix | u64 not_before | u64 not_after | u8 n_subrings
 *   | n x (u8 len | name[len]) | sig[64]          (all integers big-endian) */

static int encode_body(const struct cert *c, struct wire_w *w) {
  int gl = fixed_len(c->group, sizeof(c->group));
  if (gl < 0 || c->n_subrings > CERT_MAX_SUBRINGS)
    return RL_EINVAL;
  wire_put_u8(w, c->version);
  wire_put_u8(w, (uint8_t)gl);
  wire_put_bytes(w, c->group, (size_t)gl);
  wire_put_bytes(w, c->group_pk, RL_PK_LEN);
  wire_put_bytes(w, c->node_pk, RL_PK_LEN);
  wire_put_u32be(w, c->vip);
  wire_put_u8(w, c->prefix);
  wire_put_u64be(w, c->not_before);
  wire_put_u64be(w, c->not_after);
  wire_put_u8(w, c->n_subrings);
  for (unsigned i = 0; i < c->n_subrings; i++) {
    int sl = fixed_len(c->subrings[i], sizeof(c->subrings[i]));
    if (sl < 0)
      return RL_EINVAL;
    wire_put_u8(w, (uint8_t)sl);
    wire_put_bytes(w, c->subrings[i], (size_t)sl);
  }
  return w->err ? RL_ETOOBIG : 0;
}

int cert_encode_bin(const struct cert *c, uint8_t *out, size_t cap) {
  struct wire_w w;
  int rc;
  wire_w_init(&w, out, cap);
  if ((rc = encode_body(c, &w)) != 0)
    return rc;
  wire_put_bytes(&w, c->sig, RL_SIG_LEN);
  return w.err ? RL_ETOOBIG : (int)w.off;
}

/* Reads a length-prefixed name into dst (NUL-terminated). Names holding a
 * NUL byte cannot live in the struct and are rejected, so that decoding
 * and re-encoding always give back the same bytes. */
static bool get_name(struct wire_r *r, char *dst, size_t max) {
  uint8_t n = wire_get_u8(r);
  const uint8_t *p;
  if (n > max) {
    r->err = true;
    return false;
  }
  p = wire_get_ptr(r, n);
  if (!p || memchr(p, '\0', n)) {
    r->err = true;
    return false;
  }
  memcpy(dst, p, n);
  dst[n] = '\0';
  return true;
}

int cert_decode_bin(struct cert *c, const uint8_t *in, size_t len) {
  struct wire_r r;
  memset(c, 0, sizeof(*c));
  wire_r_init(&r, in, len);
  c->version = wire_get_u8(&r);
  if (!wire_ok(&r))
    return RL_ETRUNC;
  if (c->version != 1) {
    memset(c, 0, sizeof(*c));
    return RL_EUNSUP;
  }
  get_name(&r, c->group, RL_GROUP_NAME_MAX);
  wire_get_bytes(&r, c->group_pk, RL_PK_LEN);
  wire_get_bytes(&r, c->node_pk, RL_PK_LEN);
  c->vip = wire_get_u32be(&r);
  c->prefix = wire_get_u8(&r);
  c->not_before = wire_get_u64be(&r);
  c->not_after = wire_get_u64be(&r);
  c->n_subrings = wire_get_u8(&r);
  if (c->n_subrings > CERT_MAX_SUBRINGS)
    r.err = true;
  for (unsigned i = 0; wire_ok(&r) && i < c->n_subrings; i++)
    get_name(&r, c->subrings[i], CERT_SUBRING_MAX);
  wire_get_bytes(&r, c->sig, RL_SIG_LEN);
  if (!wire_done(&r)) {
    memset(c, 0, sizeof(*c));
    return RL_ETRUNC;
  }
  return 0;
}

/* ---- signature ---- */

static int signed_message(const struct cert *c, uint8_t *msg, size_t cap, size_t *len) {
  struct wire_w w;
  int rc;
  wire_w_init(&w, msg, cap);
  wire_put_bytes(&w, CERT_SIG_CONTEXT, sizeof(CERT_SIG_CONTEXT)); /* with its NUL */
  if ((rc = encode_body(c, &w)) != 0)
    return rc;
  *len = w.off;
  return 0;
}

int cert_sign(struct cert *c, const struct id_key *group) {
  uint8_t msg[sizeof(CERT_SIG_CONTEXT) + CERT_BODY_MAX];
  size_t len;
  int rc;
  if (!c || !group)
    return RL_EINVAL;
  memcpy(c->group_pk, group->pk, RL_PK_LEN);
  if ((rc = check_fields(c)) != 0)
    return rc;
  if ((rc = signed_message(c, msg, sizeof(msg), &len)) != 0)
    return rc;
  if (crypto_sign_detached(c->sig, NULL, msg, len, group->sk) != 0)
    return RL_EINVAL;
  return 0;
}

static int check_common(const struct cert *c, const uint8_t group_pk[RL_PK_LEN],
                        const char *group) {
  int rc;
  if (!c)
    return RL_EINVAL;
  if ((rc = check_fields(c)) != 0)
    return rc;
  if (group_pk && sodium_memcmp(group_pk, c->group_pk, RL_PK_LEN) != 0)
    return RL_EFOREIGN;
  if (group && strcmp(group, c->group) != 0)
    return RL_EFOREIGN;
  return 0;
}

static int check_validity(const struct cert *c, uint64_t unix_s) {
  if (unix_s < c->not_before || unix_s > c->not_after)
    return RL_EEXPIRED;
  return 0;
}

int cert_verify(const struct cert *c, const uint8_t group_pk[RL_PK_LEN], const char *group,
                uint64_t unix_s) {
  uint8_t msg[sizeof(CERT_SIG_CONTEXT) + CERT_BODY_MAX];
  size_t len;
  int rc;
  if ((rc = check_common(c, group_pk, group)) != 0)
    return rc;
  if ((rc = signed_message(c, msg, sizeof(msg), &len)) != 0)
    return rc;
  if (crypto_sign_verify_detached(c->sig, msg, len, c->group_pk) != 0)
    return RL_EAUTH;
  return check_validity(c, unix_s);
}

int cert_check_unsigned(const struct cert *c, const uint8_t group_pk[RL_PK_LEN],
                        const char *group, uint64_t unix_s) {
  int rc;
  if ((rc = check_common(c, group_pk, group)) != 0)
    return rc;
  return check_validity(c, unix_s);
}

void cert_node_id(const struct cert *c, uint8_t id[RL_ID_LEN]) {
  id_overlay_id(c->node_pk, id);
}

/* ---- text form ---- */

/* Civil date from days since 1970-01-01 (proleptic Gregorian; the
 * well-known era/day-of-era method), so the core needs no libc time zone. */
static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d) {
  long long era, yy;
  unsigned doe, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  yy = (long long)yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

void cert_time_format(uint64_t unix_s, char out[CERT_TIME_STRLEN]) {
  long long y;
  unsigned mo, d, sod;
  if (unix_s > ISO_MAX_S) {
    snprintf(out, CERT_TIME_STRLEN, "after-9999");
    return;
  }
  char tmp[96]; /* the compiler cannot see that the year has 4 digits */
  civil_from_days((long long)(unix_s / 86400), &y, &mo, &d);
  sod = (unsigned)(unix_s % 86400);
  snprintf(tmp, sizeof(tmp), "%04lld-%02u-%02uT%02u:%02u:%02uZ", y, mo, d, sod / 3600,
           sod / 60 % 60, sod % 60);
  snprintf(out, CERT_TIME_STRLEN, "%.*s", CERT_TIME_STRLEN - 1, tmp);
}

/* "ISO (unix)": the unix seconds are authoritative; the ISO part is there
 * for people and must agree with them. */
int cert_time_field(const struct armor_field *f, uint64_t *out, char *err, size_t errcap) {
  const char *open = memchr(f->val, '(', f->vlen);
  char iso[CERT_TIME_STRLEN];
  uint64_t v = 0;
  size_t isolen, i, nd;
  if (!open || f->vlen < 3 || f->val[f->vlen - 1] != ')' || open == f->val ||
      open[-1] != ' ')
    goto bad;
  isolen = (size_t)(open - f->val) - 1;
  nd = f->vlen - (size_t)(open - f->val) - 2;
  if (nd == 0 || nd > 20 || (nd > 1 && open[1] == '0'))
    goto bad;
  for (i = 0; i < nd; i++) {
    unsigned dig = (unsigned)(open[1 + i] - '0');
    if (dig > 9 || v > (UINT64_MAX - dig) / 10)
      goto bad;
    v = v * 10 + dig;
  }
  cert_time_format(v, iso);
  if (strlen(iso) != isolen || memcmp(iso, f->val, isolen) != 0) {
    armor_err(err, errcap, f->line, "'%s': date does not match %llu (expected %s)", f->key,
              (unsigned long long)v, iso);
    return RL_EPARSE;
  }
  *out = v;
  return 0;
bad:
  armor_err(err, errcap, f->line,
            "'%s' must be 'YYYY-MM-DDTHH:MM:SSZ (unix-seconds)'", f->key);
  return RL_EPARSE;
}

int cert_encode_text(const struct cert *c, char *out, size_t cap) {
  char b64[RL_SIG_LEN * 2], hex[2 * RL_ID_LEN + 1], vip[CERT_VIP_STRLEN], t[CERT_TIME_STRLEN];
  uint8_t id[RL_ID_LEN];
  size_t off = 0;
  int gl = fixed_len(c->group, sizeof(c->group));

  /* Only what the text parser takes back, so text and binary agree. */
  if (c->version != 1 || gl <= 0 || !armor_name_ok(c->group, (size_t)gl, RL_GROUP_NAME_MAX) ||
      c->prefix < 1 || c->prefix > 32 || c->n_subrings > CERT_MAX_SUBRINGS)
    return RL_EINVAL;
  for (unsigned i = 0; i < c->n_subrings; i++) {
    int sl = fixed_len(c->subrings[i], sizeof(c->subrings[i]));
    if (sl <= 0 || !armor_name_ok(c->subrings[i], (size_t)sl, CERT_SUBRING_MAX))
      return RL_EINVAL;
  }
  armor_printf(out, cap, &off, "-----BEGIN RINGLAN CERTIFICATE-----\n");
  armor_printf(out, cap, &off, "version: %u\n", c->version);
  armor_printf(out, cap, &off, "group: %s\n", c->group);
  armor_b64_encode(b64, sizeof(b64), c->group_pk, RL_PK_LEN);
  armor_printf(out, cap, &off, "group-key: %s\n", b64);
  armor_b64_encode(b64, sizeof(b64), c->node_pk, RL_PK_LEN);
  armor_printf(out, cap, &off, "node-key: %s\n", b64);
  cert_node_id(c, id);
  rl_hex_encode(hex, id, sizeof(id));
  armor_printf(out, cap, &off, "overlay-id: %s\n", hex);
  cert_vip_format(c->vip, c->prefix, vip);
  armor_printf(out, cap, &off, "vip: %s\n", vip);
  cert_time_format(c->not_before, t);
  armor_printf(out, cap, &off, "not-before: %s (%llu)\n", t,
               (unsigned long long)c->not_before);
  cert_time_format(c->not_after, t);
  armor_printf(out, cap, &off, "not-after: %s (%llu)\n", t, (unsigned long long)c->not_after);
  for (unsigned i = 0; i < c->n_subrings; i++)
    armor_printf(out, cap, &off, "subring: %s\n", c->subrings[i]);
  armor_b64_encode(b64, sizeof(b64), c->sig, RL_SIG_LEN);
  armor_printf(out, cap, &off, "signature: %s\n", b64);
  armor_printf(out, cap, &off, "-----END RINGLAN CERTIFICATE-----\n");
  if (off >= cap)
    return RL_ETOOBIG;
  return (int)off;
}

static const struct armor_field *need(const struct armor_doc *d, const char *key, char *err,
                                      size_t errcap) {
  const struct armor_field *f = armor_get(d, key);
  if (!f)
    armor_err(err, errcap, d->begin_line, "missing field '%s'", key);
  return f;
}

int cert_parse_text(struct cert *c, const char *text, size_t len, char *err, size_t errcap) {
  static const char *const allowed[] = {"version", "group", "group-key", "node-key",
                                        "overlay-id", "vip", "not-before", "not-after",
                                        "signature", NULL};
  static const char *const repeatable[] = {"subring", NULL};
  struct armor_doc d;
  const struct armor_field *f;
  uint8_t id[RL_ID_LEN], id2[RL_ID_LEN];
  int rc;

  memset(c, 0, sizeof(*c));
  if (err && errcap)
    err[0] = '\0';
  if ((rc = armor_parse(&d, text, len, err, errcap)) != 0)
    return rc;
  if (strcmp(d.label, "CERTIFICATE") != 0) {
    armor_err(err, errcap, d.begin_line, "this is a '%s', not a certificate", d.label);
    goto bad;
  }
  if (armor_check_keys(&d, allowed, repeatable, err, errcap) != 0)
    goto bad;

  if (!(f = need(&d, "version", err, errcap)))
    goto bad;
  if (f->vlen != 1 || f->val[0] != '1') {
    armor_err(err, errcap, f->line, "unsupported certificate version '%.*s' (want 1)",
              (int)f->vlen, f->val);
    goto bad;
  }
  c->version = 1;

  if (!(f = need(&d, "group", err, errcap)))
    goto bad;
  if (!armor_name_ok(f->val, f->vlen, RL_GROUP_NAME_MAX)) {
    armor_err(err, errcap, f->line, "bad group name (1..%d characters of A-Z a-z 0-9 . _ -)",
              RL_GROUP_NAME_MAX);
    goto bad;
  }
  memcpy(c->group, f->val, f->vlen);

  if (!(f = need(&d, "group-key", err, errcap)))
    goto bad;
  if (armor_b64_decode(c->group_pk, RL_PK_LEN, f->val, f->vlen) != 0) {
    armor_err(err, errcap, f->line, "'group-key' must be 32 bytes in base64");
    goto bad;
  }
  if (!(f = need(&d, "node-key", err, errcap)))
    goto bad;
  if (armor_b64_decode(c->node_pk, RL_PK_LEN, f->val, f->vlen) != 0) {
    armor_err(err, errcap, f->line, "'node-key' must be 32 bytes in base64");
    goto bad;
  }
  if (!(f = need(&d, "overlay-id", err, errcap)))
    goto bad;
  cert_node_id(c, id2);
  if (f->vlen != 2 * RL_ID_LEN || rl_hex_decode(id, sizeof(id), f->val, f->vlen) < 0 ||
      memcmp(id, id2, RL_ID_LEN) != 0) {
    armor_err(err, errcap, f->line, "'overlay-id' does not belong to 'node-key'");
    goto bad;
  }

  if (!(f = need(&d, "vip", err, errcap)))
    goto bad;
  if (cert_vip_parse(f->val, f->vlen, 0, &c->vip, &c->prefix) != 0) {
    armor_err(err, errcap, f->line, "'vip' must be an IPv4 address/prefix like 100.64.0.2/10");
    goto bad;
  }

  if (!(f = need(&d, "not-before", err, errcap)) ||
      cert_time_field(f, &c->not_before, err, errcap) != 0)
    goto bad;
  if (!(f = need(&d, "not-after", err, errcap)) ||
      cert_time_field(f, &c->not_after, err, errcap) != 0)
    goto bad;

  for (size_t i = 0; i < d.n; i++) {
    f = &d.f[i];
    if (strcmp(f->key, "subring") != 0)
      continue;
    if (c->n_subrings == CERT_MAX_SUBRINGS) {
      armor_err(err, errcap, f->line, "more than %d subrings", CERT_MAX_SUBRINGS);
      goto bad;
    }
    if (!armor_name_ok(f->val, f->vlen, CERT_SUBRING_MAX)) {
      armor_err(err, errcap, f->line, "bad subring name (1..%d characters of A-Z a-z 0-9 . _ -)",
                CERT_SUBRING_MAX);
      goto bad;
    }
    memcpy(c->subrings[c->n_subrings++], f->val, f->vlen);
  }

  if (!(f = need(&d, "signature", err, errcap)))
    goto bad;
  if (armor_b64_decode(c->sig, RL_SIG_LEN, f->val, f->vlen) != 0) {
    armor_err(err, errcap, f->line, "'signature' must be 64 bytes in base64 (88 characters)");
    goto bad;
  }
  return 0;
bad:
  memset(c, 0, sizeof(*c));
  return RL_EPARSE;
}
