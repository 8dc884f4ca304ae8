/* Loading the files a config points to: the node key, its certificate and
 * the group key (checked to belong together), and static peer keys. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/errf.h"
#include "crypto/cert.h"
#include "crypto/identity.h"
#include "crypto/revoke.h"
#include "node/cli.h"
#include "node/config.h"
#include "node/core/node.h"

_Static_assert(CFG_MAX_PEERS == NODE_MAX_STATIC_PEERS, "peer limits differ");

#define KEY_FILE_MAX 4096


/* Reads a small text file; the buffer may hold a secret, so callers free
 * it with free_text(). */
static int read_text(const char *path, size_t max, char **text, size_t *len, unsigned *mode,
                     char *err, size_t errcap) {
  int rc = cli_read_file_mode(path, max, text, len, mode);
  if (rc == RL_ENOENT)
    return rl_errf(err, errcap, rc, "%s: no such file", path);
  if (rc == RL_ETOOBIG)
    return rl_errf(err, errcap, rc, "%s: file too large (max %zu bytes)", path, max);
  if (rc)
    return rl_errf(err, errcap, rc, "%s: cannot read: %s", path, rl_strerror(rc));
  return 0;
}

static void free_text(char *text, size_t len) {
  if (text) {
    sodium_memzero(text, len);
    free(text);
  }
}

static int load_pub(const char *path, const char *kind, uint8_t pk[RL_PK_LEN], char *name,
                    size_t namecap, char *err, size_t errcap) {
  char *text = NULL, why[160] = "";
  size_t len = 0;
  unsigned mode = 0;
  int rc = read_text(path, KEY_FILE_MAX, &text, &len, &mode, err, errcap);
  if (rc)
    return rc;
  /* A secret key file given for its public half: its mode is checked too. */
  if (cli_text_is_secret_key(text) && (rc = cli_secret_mode_check(path, mode, err, errcap))) {
    free_text(text, len);
    return rc;
  }
  rc = id_pub_parse(pk, kind, name, namecap, text, len, why, sizeof(why));
  free_text(text, len);
  if (rc)
    return rl_errf(err, errcap, rc, "%s: not a %s public key: %s", path, kind, why);
  return 0;
}

int cfg_load_peers(const struct cfg *c, struct node_peer_cfg *out, unsigned *n, char *err,
                   size_t errcap) {
  *n = 0;
  for (unsigned i = 0; i < c->n_peers; i++) {
    const struct cfg_peer *p = &c->peers[i];
    struct node_peer_cfg *o = &out[i];
    memset(o, 0, sizeof(*o));
    o->endpoint = p->endpoint;
    if (p->has_pk) {
      memcpy(o->pk, p->pk, RL_PK_LEN);
      o->pinned = true;
    } else if (p->pubkey_path[0]) {
      char name[RL_GROUP_NAME_MAX + 1];
      int rc = load_pub(p->pubkey_path, "node", o->pk, name, sizeof(name), err, errcap);
      if (rc)
        return rc;
      o->pinned = true;
    }
  }
  *n = c->n_peers;
  return 0;
}

int cfg_load_revocation(const char *path, const uint8_t *group_pk, const char *group,
                        struct revocation *out, char *err, size_t errcap) {
  char *text = NULL, why[160] = "";
  size_t len = 0;
  int rc = read_text(path, REVOKE_TEXT_MAX * 2, &text, &len, NULL, err, errcap);
  if (rc)
    return rc;
  rc = revoke_parse_text(out, text, len, why, sizeof(why));
  free_text(text, len);
  if (rc)
    return rl_errf(err, errcap, rc, "%s: not a revocation: %s", path, why);
  if (!group_pk)
    return 0;
  rc = revoke_verify(out, group_pk, group);
  if (rc == RL_EFOREIGN)
    return rl_errf(err, errcap, rc, "%s: a revocation of another group ('%s')", path,
                   out->group);
  if (rc)
    return rl_errf(err, errcap, rc, "%s: not signed by the group key: %s", path,
                   rl_strerror(rc));
  return 0;
}

int cfg_load_revocations(const struct cfg *c, const uint8_t group_pk[32], const char *group,
                         struct revocation *out, unsigned *n, char *err, size_t errcap) {
  *n = 0;
  for (unsigned i = 0; i < c->n_revoked && i < CFG_MAX_REVOKED; i++) {
    int rc = cfg_load_revocation(c->revoked[i], group_pk, group, &out[i], err, errcap);
    if (rc)
      return rc;
    (*n)++;
  }
  return 0;
}

static const char *cert_error(int rc) {
  switch (rc) {
  case RL_EFOREIGN:
    return "the certificate belongs to another group";
  case RL_EAUTH:
    return "the certificate signature is not valid for this group key";
  case RL_EEXPIRED:
    return "the certificate has expired or is not valid yet";
  default:
    return rl_strerror(rc);
  }
}

int cfg_load_identity(const struct cfg *c, uint64_t unix_s, struct id_key *key,
                      struct cert *cert, uint8_t group_pk[RL_PK_LEN], char *err,
                      size_t errcap) {
  char *text = NULL, why[160] = "", name[RL_GROUP_NAME_MAX + 1] = "";
  char gname[RL_GROUP_NAME_MAX + 1] = "";
  size_t len = 0;
  int rc;

  rc = cli_read_secret_file(c->key, KEY_FILE_MAX, &text, &len, err, errcap);
  if (rc)
    goto out;
  rc = id_key_parse(key, "node", name, sizeof(name), text, len, why, sizeof(why));
  free_text(text, len);
  if (rc == RL_EAUTH) {
    rl_errf(err, errcap, rc, "%s: the secret key does not match its public key", c->key);
    goto out;
  }
  if (rc) {
    rl_errf(err, errcap, rc, "%s: not a node secret key: %s", c->key, why);
    goto out;
  }

  rc = read_text(c->cert, CERT_TEXT_MAX * 2, &text, &len, NULL, err, errcap);
  if (rc)
    goto out;
  rc = cert_parse_text(cert, text, len, why, sizeof(why));
  free_text(text, len);
  if (rc) {
    rl_errf(err, errcap, rc, "%s: not a certificate: %s", c->cert, why);
    goto out;
  }

  rc = load_pub(c->group, "group", group_pk, gname, sizeof(gname), err, errcap);
  if (rc)
    goto out;

  if (sodium_memcmp(cert->node_pk, key->pk, RL_PK_LEN) != 0) {
    rc = rl_errf(err, errcap, RL_EAUTH, "%s: the certificate was issued for another node key, "
              "not the one in %s", c->cert, c->key);
    goto out;
  }
  rc = cert_verify(cert, group_pk, gname[0] ? gname : NULL, unix_s);
  if (rc == RL_EFOREIGN && strcmp(cert->group, gname) != 0)
    rl_errf(err, errcap, rc, "%s: %s (certificate group '%s', %s is group '%s')", c->cert,
         cert_error(rc), cert->group, c->group, gname);
  else if (rc == RL_EFOREIGN)
    rl_errf(err, errcap, rc, "%s: %s (group '%s', but signed by another key than the one in %s)",
         c->cert, cert_error(rc), cert->group, c->group);
  else if (rc == RL_EEXPIRED) {
    char from[CERT_TIME_STRLEN], to[CERT_TIME_STRLEN], now[CERT_TIME_STRLEN];
    cert_time_format(cert->not_before, from);
    cert_time_format(cert->not_after, to);
    cert_time_format(unix_s, now);
    rl_errf(err, errcap, rc, "%s: %s (valid %s .. %s, now %s)", c->cert, cert_error(rc), from, to,
         now);
  }
  else if (rc)
    rl_errf(err, errcap, rc, "%s: %s (group key %s)", c->cert, cert_error(rc), c->group);

out:
  sodium_memzero(why, sizeof(why));
  if (rc)
    id_wipe(key);
  return rc;
}
