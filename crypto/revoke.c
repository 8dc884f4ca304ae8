/* Group revocations: binary form, group signature, armored text form. */
#include "crypto/revoke.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <string.h>

#include "crypto/armor.h"
#include "crypto/cert.h"
#include "util/wire.h"

/* Domain separation from certificates ("ringlan certificate v1\0") and
 * every other signature the group key makes. */
static const char REVOKE_SIG_CONTEXT[] = "ringlan revocation v1";

static int group_len(const struct revocation *r) {
  const char *z = memchr(r->group, '\0', sizeof(r->group));
  return z ? (int)(z - r->group) : -1;
}

static int check_fields(const struct revocation *r) {
  int gl = group_len(r);
  if (r->version != 1 || gl <= 0 || !armor_name_ok(r->group, (size_t)gl, RL_GROUP_NAME_MAX))
    return RL_EINVAL;
  return 0;
}

static int encode_body(const struct revocation *r, struct wire_w *w) {
  int gl = group_len(r);
  if (gl < 0)
    return RL_EINVAL;
  wire_put_u8(w, r->version);
  wire_put_u8(w, (uint8_t)gl);
  wire_put_bytes(w, r->group, (size_t)gl);
  wire_put_bytes(w, r->group_pk, RL_PK_LEN);
  wire_put_bytes(w, r->node_id, RL_ID_LEN);
  wire_put_u64be(w, r->revoked_at);
  return w->err ? RL_ETOOBIG : 0;
}

int revoke_encode_bin(const struct revocation *r, uint8_t *out, size_t cap) {
  struct wire_w w;
  int rc;
  wire_w_init(&w, out, cap);
  if ((rc = encode_body(r, &w)) != 0)
    return rc;
  wire_put_bytes(&w, r->sig, RL_SIG_LEN);
  return w.err ? RL_ETOOBIG : (int)w.off;
}

int revoke_decode_bin(struct revocation *r, const uint8_t *in, size_t len) {
  struct wire_r rd;
  const uint8_t *p;
  uint8_t gl;
  memset(r, 0, sizeof(*r));
  wire_r_init(&rd, in, len);
  r->version = wire_get_u8(&rd);
  if (!wire_ok(&rd))
    return RL_ETRUNC;
  if (r->version != 1) {
    memset(r, 0, sizeof(*r));
    return RL_EUNSUP;
  }
  gl = wire_get_u8(&rd);
  p = gl <= RL_GROUP_NAME_MAX ? wire_get_ptr(&rd, gl) : NULL;
  if (!p || memchr(p, '\0', gl)) {
    memset(r, 0, sizeof(*r));
    return RL_ETRUNC;
  }
  memcpy(r->group, p, gl);
  wire_get_bytes(&rd, r->group_pk, RL_PK_LEN);
  wire_get_bytes(&rd, r->node_id, RL_ID_LEN);
  r->revoked_at = wire_get_u64be(&rd);
  wire_get_bytes(&rd, r->sig, RL_SIG_LEN);
  if (!wire_done(&rd)) {
    memset(r, 0, sizeof(*r));
    return RL_ETRUNC;
  }
  return 0;
}

static int signed_message(const struct revocation *r, uint8_t *msg, size_t cap, size_t *len) {
  struct wire_w w;
  int rc;
  wire_w_init(&w, msg, cap);
  wire_put_bytes(&w, REVOKE_SIG_CONTEXT, sizeof(REVOKE_SIG_CONTEXT)); /* with its NUL */
  if ((rc = encode_body(r, &w)) != 0)
    return rc;
  *len = w.off;
  return 0;
}

int revoke_sign(struct revocation *r, const struct id_key *group) {
  uint8_t msg[sizeof(REVOKE_SIG_CONTEXT) + REVOKE_BIN_MAX];
  size_t len;
  int rc;
  if (!r || !group)
    return RL_EINVAL;
  memcpy(r->group_pk, group->pk, RL_PK_LEN);
  if ((rc = check_fields(r)) != 0 || (rc = signed_message(r, msg, sizeof(msg), &len)) != 0)
    return rc;
  if (crypto_sign_detached(r->sig, NULL, msg, len, group->sk) != 0)
    return RL_EINVAL;
  return 0;
}

int revoke_verify(const struct revocation *r, const uint8_t group_pk[RL_PK_LEN],
                  const char *group) {
  uint8_t msg[sizeof(REVOKE_SIG_CONTEXT) + REVOKE_BIN_MAX];
  size_t len;
  int rc;
  if (!r)
    return RL_EINVAL;
  if ((rc = check_fields(r)) != 0)
    return rc;
  if (group_pk && sodium_memcmp(group_pk, r->group_pk, RL_PK_LEN) != 0)
    return RL_EFOREIGN;
  if (group && strcmp(group, r->group) != 0)
    return RL_EFOREIGN;
  if ((rc = signed_message(r, msg, sizeof(msg), &len)) != 0)
    return rc;
  if (crypto_sign_verify_detached(r->sig, msg, len, r->group_pk) != 0)
    return RL_EAUTH;
  return 0;
}

int revoke_encode_text(const struct revocation *r, char *out, size_t cap) {
  char b64[RL_SIG_LEN * 2], hex[2 * RL_ID_LEN + 1], t[CERT_TIME_STRLEN];
  size_t off = 0;
  if (check_fields(r) != 0)
    return RL_EINVAL;
  armor_printf(out, cap, &off, "-----BEGIN RINGLAN REVOCATION-----\n");
  armor_printf(out, cap, &off, "version: %u\n", r->version);
  armor_printf(out, cap, &off, "group: %s\n", r->group);
  armor_b64_encode(b64, sizeof(b64), r->group_pk, RL_PK_LEN);
  armor_printf(out, cap, &off, "group-key: %s\n", b64);
  rl_hex_encode(hex, r->node_id, RL_ID_LEN);
  armor_printf(out, cap, &off, "overlay-id: %s\n", hex);
  cert_time_format(r->revoked_at, t);
  armor_printf(out, cap, &off, "revoked-at: %s (%llu)\n", t, (unsigned long long)r->revoked_at);
  armor_b64_encode(b64, sizeof(b64), r->sig, RL_SIG_LEN);
  armor_printf(out, cap, &off, "signature: %s\n", b64);
  armor_printf(out, cap, &off, "-----END RINGLAN REVOCATION-----\n");
  if (off >= cap)
    return RL_ETOOBIG;
  return (int)off;
}

int revoke_parse_text(struct revocation *r, const char *text, size_t len, char *err,
                      size_t errcap) {
  static const char *const allowed[] = {"version", "group", "group-key", "overlay-id",
                                        "revoked-at", "signature", NULL};
  static const char *const keys[] = {"version", "group", "group-key", "overlay-id",
                                     "revoked-at", "signature"};
  const struct armor_field *f[6];
  struct armor_doc d;
  int rc;

  memset(r, 0, sizeof(*r));
  if (err && errcap)
    err[0] = '\0';
  if ((rc = armor_parse(&d, text, len, err, errcap)) != 0)
    return rc;
  if (strcmp(d.label, "REVOCATION") != 0) {
    armor_err(err, errcap, d.begin_line, "this is a '%s', not a revocation", d.label);
    goto bad;
  }
  if (armor_check_keys(&d, allowed, NULL, err, errcap) != 0)
    goto bad;
  for (unsigned i = 0; i < 6; i++)
    if (!(f[i] = armor_get(&d, keys[i]))) {
      armor_err(err, errcap, d.begin_line, "missing field '%s'", keys[i]);
      goto bad;
    }
  if (f[0]->vlen != 1 || f[0]->val[0] != '1') {
    armor_err(err, errcap, f[0]->line, "unsupported revocation version (want 1)");
    goto bad;
  }
  r->version = 1;
  if (!armor_name_ok(f[1]->val, f[1]->vlen, RL_GROUP_NAME_MAX)) {
    armor_err(err, errcap, f[1]->line, "bad group name");
    goto bad;
  }
  memcpy(r->group, f[1]->val, f[1]->vlen);
  if (armor_b64_decode(r->group_pk, RL_PK_LEN, f[2]->val, f[2]->vlen) != 0) {
    armor_err(err, errcap, f[2]->line, "'group-key' must be 32 bytes in base64");
    goto bad;
  }
  if (f[3]->vlen != 2 * RL_ID_LEN ||
      rl_hex_decode(r->node_id, RL_ID_LEN, f[3]->val, f[3]->vlen) < 0) {
    armor_err(err, errcap, f[3]->line, "'overlay-id' must be 40 hex digits");
    goto bad;
  }
  if (cert_time_field(f[4], &r->revoked_at, err, errcap) != 0)
    goto bad;
  if (armor_b64_decode(r->sig, RL_SIG_LEN, f[5]->val, f[5]->vlen) != 0) {
    armor_err(err, errcap, f[5]->line, "'signature' must be 64 bytes in base64");
    goto bad;
  }
  return 0;
bad:
  memset(r, 0, sizeof(*r));
  return RL_EPARSE;
}
