/* Node and group identities and their text files (docs/files.md). */
#include "crypto/identity.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "crypto/armor.h"

#define SEED_LEN 32 /* crypto_sign_SEEDBYTES */
#define B64_32 45   /* base64 of 32 bytes (44) + NUL */

_Static_assert(SEED_LEN == crypto_sign_SEEDBYTES, "seed size");
_Static_assert(RL_PK_LEN == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(RL_SK_LEN == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(RL_SIG_LEN == crypto_sign_BYTES, "sig size");

int id_generate(struct id_key *k, const struct rl_env *env) {
  uint8_t seed[SEED_LEN];
  int rc = 0;
  if (!k || !env || !env->rand)
    return RL_EINVAL;
  rl_rand(env, seed, sizeof(seed));
  if (crypto_sign_seed_keypair(k->pk, k->sk, seed) != 0) {
    id_wipe(k);
    rc = RL_EINVAL;
  }
  sodium_memzero(seed, sizeof(seed));
  return rc;
}

void id_overlay_id(const uint8_t pk[RL_PK_LEN], uint8_t out[RL_ID_LEN]) {
  uint8_t h[32];
  crypto_generichash(h, sizeof(h), pk, RL_PK_LEN, NULL, 0);
  memcpy(out, h, RL_ID_LEN);
}

void id_wipe(struct id_key *k) {
  if (k)
    sodium_memzero(k, sizeof(*k));
}

/* ---- text files ---- */

enum kind { KIND_NODE, KIND_GROUP, KIND_BAD };

static enum kind kind_of(const char *kind) {
  if (kind && !strcmp(kind, "node"))
    return KIND_NODE;
  if (kind && !strcmp(kind, "group"))
    return KIND_GROUP;
  return KIND_BAD;
}

/* Armor labels: index [kind][secret]. */
static const char *const labels[2][2] = {
    {"NODE PUBLIC KEY", "NODE KEY"},
    {"GROUP PUBLIC KEY", "GROUP KEY"},
};

/* Node names are optional (NULL or ""), group names are required. */
static bool name_valid(enum kind kd, const char *name) {
  if (!name || !*name)
    return kd == KIND_NODE;
  return armor_name_ok(name, strlen(name), RL_GROUP_NAME_MAX);
}

static int encode(const uint8_t pk[RL_PK_LEN], const uint8_t *seed, const char *kind,
                  const char *name, char *out, size_t cap) {
  enum kind kd = kind_of(kind);
  char b64[B64_32], hex[2 * RL_ID_LEN + 1];
  uint8_t id[RL_ID_LEN];
  size_t off = 0;
  bool secret = seed != NULL;

  if (kd == KIND_BAD || !name_valid(kd, name) || !out)
    return RL_EINVAL;
  armor_printf(out, cap, &off, "-----BEGIN RINGLAN %s-----\n", labels[kd][secret]);
  if (name && *name)
    armor_printf(out, cap, &off, "name: %s\n", name);
  armor_b64_encode(b64, sizeof(b64), pk, RL_PK_LEN);
  armor_printf(out, cap, &off, "public: %s\n", b64);
  if (kd == KIND_NODE) {
    id_overlay_id(pk, id);
    rl_hex_encode(hex, id, sizeof(id));
    armor_printf(out, cap, &off, "overlay-id: %s\n", hex);
  }
  if (secret) {
    armor_b64_encode(b64, sizeof(b64), seed, SEED_LEN);
    armor_printf(out, cap, &off, "secret: %s\n", b64);
    sodium_memzero(b64, sizeof(b64));
  }
  armor_printf(out, cap, &off, "-----END RINGLAN %s-----\n", labels[kd][secret]);
  if (off > cap || off == cap) {
    /* Never leave a partial secret behind in the caller's buffer. */
    if (cap)
      sodium_memzero(out, cap);
    return RL_ETOOBIG;
  }
  return (int)off;
}

int id_key_encode(const struct id_key *k, const char *kind, const char *name, char *out,
                  size_t cap) {
  if (!k)
    return RL_EINVAL;
  /* libsodium's secret key is seed || pk; the file stores only the seed. */
  return encode(k->pk, k->sk, kind, name, out, cap);
}

int id_pub_encode(const uint8_t pk[RL_PK_LEN], const char *kind, const char *name, char *out,
                  size_t cap) {
  if (!pk)
    return RL_EINVAL;
  return encode(pk, NULL, kind, name, out, cap);
}

/* Parses either form of the expected kind. want_secret: a secret key file is
 * required and k->sk is filled. Without want_secret both forms are accepted
 * (a .key file also names its public key), and a secret present in the file
 * is still checked against the public key, then wiped. */
static int parse(struct id_key *k, bool want_secret, const char *kind, char *name,
                 size_t namecap, const char *text, size_t len, char *err, size_t errcap) {
  static const char *const allowed[] = {"name", "public", "overlay-id", "secret", NULL};
  enum kind kd = kind_of(kind), found_kd = KIND_BAD;
  struct armor_doc d;
  const struct armor_field *f;
  uint8_t seed[SEED_LEN], pk2[RL_PK_LEN], sk2[RL_SK_LEN];
  bool secret = false;
  int rc;

  memset(k, 0, sizeof(*k));
  if (name && namecap)
    name[0] = '\0';
  if (err && errcap)
    err[0] = '\0';
  if (kd == KIND_BAD || (name && namecap < RL_GROUP_NAME_MAX + 1))
    return RL_EINVAL;
  if ((rc = armor_parse(&d, text, len, err, errcap)) != 0)
    return rc;

  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      if (!strcmp(d.label, labels[i][j])) {
        found_kd = (enum kind)i;
        secret = j;
      }
  rc = RL_EPARSE;
  if (found_kd == KIND_BAD) {
    armor_err(err, errcap, d.begin_line, "'%s' is not a key file", d.label);
    goto out;
  }
  if (found_kd != kd) {
    armor_err(err, errcap, d.begin_line, "this is a %s key, but a %s key is expected",
              found_kd == KIND_NODE ? "node" : "group", kind);
    goto out;
  }
  if (want_secret && !secret) {
    armor_err(err, errcap, d.begin_line,
              "this is a public key file; the secret key file is needed here");
    goto out;
  }
  if ((rc = armor_check_keys(&d, allowed, NULL, err, errcap)) != 0)
    goto out;
  rc = RL_EPARSE;

  if ((f = armor_get(&d, "name")) != NULL) {
    if (!armor_name_ok(f->val, f->vlen, RL_GROUP_NAME_MAX)) {
      armor_err(err, errcap, f->line,
                "bad name (1..%d characters of A-Z a-z 0-9 . _ -)", RL_GROUP_NAME_MAX);
      goto out;
    }
    if (name) {
      memcpy(name, f->val, f->vlen);
      name[f->vlen] = '\0';
    }
  } else if (kd == KIND_GROUP) {
    armor_err(err, errcap, d.begin_line, "missing field 'name' (the group name)");
    goto out;
  }

  if (!(f = armor_get(&d, "public"))) {
    armor_err(err, errcap, d.begin_line, "missing field 'public'");
    goto out;
  }
  if (armor_b64_decode(k->pk, RL_PK_LEN, f->val, f->vlen) != 0) {
    armor_err(err, errcap, f->line, "'public' must be 32 bytes in base64 (44 characters)");
    goto out;
  }

  f = armor_get(&d, "overlay-id");
  if (kd == KIND_GROUP && f) {
    armor_err(err, errcap, f->line, "a group key has no overlay-id");
    goto out;
  }
  if (kd == KIND_NODE) {
    uint8_t id[RL_ID_LEN], id2[RL_ID_LEN];
    if (!f) {
      armor_err(err, errcap, d.begin_line, "missing field 'overlay-id'");
      goto out;
    }
    if (f->vlen != 2 * RL_ID_LEN || rl_hex_decode(id, sizeof(id), f->val, f->vlen) < 0) {
      armor_err(err, errcap, f->line, "'overlay-id' must be %d hex digits", 2 * RL_ID_LEN);
      goto out;
    }
    id_overlay_id(k->pk, id2);
    if (memcmp(id, id2, RL_ID_LEN) != 0) {
      armor_err(err, errcap, f->line, "'overlay-id' does not belong to the public key");
      goto out;
    }
  }

  f = armor_get(&d, "secret");
  if (!secret && f) {
    armor_err(err, errcap, f->line, "a public key file must not contain a secret");
    goto out;
  }
  if (secret) {
    if (!f) {
      armor_err(err, errcap, d.begin_line, "missing field 'secret'");
      goto out;
    }
    if (armor_b64_decode(seed, SEED_LEN, f->val, f->vlen) != 0) {
      armor_err(err, errcap, f->line, "'secret' must be 32 bytes in base64 (44 characters)");
      goto out;
    }
    if (crypto_sign_seed_keypair(pk2, sk2, seed) != 0 ||
        sodium_memcmp(pk2, k->pk, RL_PK_LEN) != 0) {
      armor_err(err, errcap, f->line, "the secret key does not match the public key");
      rc = RL_EAUTH;
      goto out;
    }
    if (want_secret)
      memcpy(k->sk, sk2, RL_SK_LEN);
  }
  rc = 0;
out:
  sodium_memzero(seed, sizeof(seed));
  sodium_memzero(sk2, sizeof(sk2));
  if (rc != 0) {
    id_wipe(k);
    if (name && namecap)
      name[0] = '\0';
  }
  return rc;
}

int id_key_parse(struct id_key *k, const char *kind, char *name, size_t namecap,
                 const char *text, size_t len, char *err, size_t errcap) {
  if (!k)
    return RL_EINVAL;
  return parse(k, true, kind, name, namecap, text, len, err, errcap);
}

int id_pub_parse(uint8_t pk[RL_PK_LEN], const char *kind, char *name, size_t namecap,
                 const char *text, size_t len, char *err, size_t errcap) {
  struct id_key k;
  int rc;
  if (!pk)
    return RL_EINVAL;
  rc = parse(&k, false, kind, name, namecap, text, len, err, errcap);
  memcpy(pk, k.pk, RL_PK_LEN);
  id_wipe(&k);
  return rc;
}
