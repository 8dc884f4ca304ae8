/* From a parsed config to a struct node_config: read the key, cert and
 * group files and check that they belong together. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cert.h"
#include "crypto/dc.h"
#include "crypto/identity.h"
#include "node/cli.h"
#include "node/config.h"
#include "node/core/node.h"

_Static_assert(CFG_MAX_PEERS == NODE_MAX_STATIC_PEERS, "peer limits differ");
_Static_assert(CFG_MAX_BOOTSTRAP == NODE_MAX_BOOTSTRAP, "bootstrap limits differ");

#define KEY_FILE_MAX 4096

static int errf(char *err, size_t errcap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int errf(char *err, size_t errcap, int rc, const char *fmt, ...) {
  va_list ap;
  if (err && errcap) {
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* Reads a small text file; the buffer may hold a secret, so callers free
 * it with free_text(). */
static int read_text(const char *path, size_t max, char **text, size_t *len, char *err,
                     size_t errcap) {
  int rc = cli_read_file(path, max, text, len);
  if (rc == RL_ENOENT)
    return errf(err, errcap, rc, "%s: no such file", path);
  if (rc == RL_ETOOBIG)
    return errf(err, errcap, rc, "%s: file too large (max %zu bytes)", path, max);
  if (rc)
    return errf(err, errcap, rc, "%s: cannot read: %s", path, rl_strerror(rc));
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
  int rc = read_text(path, KEY_FILE_MAX, &text, &len, err, errcap);
  if (rc)
    return rc;
  rc = id_pub_parse(pk, kind, name, namecap, text, len, why, sizeof(why));
  free_text(text, len);
  if (rc)
    return errf(err, errcap, rc, "%s: not a %s public key: %s", path, kind, why);
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

int cfg_load_node_config(const struct cfg *c, const struct rl_env *env, uint64_t unix_s,
                         struct node_config *out, char *err, size_t errcap) {
  char *text = NULL, why[160] = "", name[RL_GROUP_NAME_MAX + 1] = "";
  char gname[RL_GROUP_NAME_MAX + 1] = "";
  size_t len = 0;
  int rc;

  node_config_default(out);
  out->env = env;

  rc = read_text(c->key, KEY_FILE_MAX, &text, &len, err, errcap);
  if (rc)
    goto out;
  rc = id_key_parse(&out->key, "node", name, sizeof(name), text, len, why, sizeof(why));
  free_text(text, len);
  if (rc == RL_EAUTH) {
    errf(err, errcap, rc, "%s: the secret key does not match its public key", c->key);
    goto out;
  }
  if (rc) {
    errf(err, errcap, rc, "%s: not a node secret key: %s", c->key, why);
    goto out;
  }

  rc = read_text(c->cert, CERT_TEXT_MAX * 2, &text, &len, err, errcap);
  if (rc)
    goto out;
  rc = cert_parse_text(&out->cert, text, len, why, sizeof(why));
  free_text(text, len);
  if (rc) {
    errf(err, errcap, rc, "%s: not a certificate: %s", c->cert, why);
    goto out;
  }

  rc = load_pub(c->group, "group", out->group_pk, gname, sizeof(gname), err, errcap);
  if (rc)
    goto out;

  if (sodium_memcmp(out->cert.node_pk, out->key.pk, RL_PK_LEN) != 0) {
    rc = errf(err, errcap, RL_EAUTH, "%s: the certificate was issued for another node key, "
              "not the one in %s", c->cert, c->key);
    goto out;
  }
  rc = cert_verify(&out->cert, out->group_pk, gname[0] ? gname : NULL, unix_s);
  if (rc) {
    if (rc == RL_EFOREIGN)
      errf(err, errcap, rc, "%s: %s (certificate group '%s', %s is group '%s')", c->cert,
           cert_error(rc), out->cert.group, c->group, gname[0] ? gname : "?");
    else if (rc == RL_EEXPIRED)
      errf(err, errcap, rc, "%s: %s (valid %llu..%llu, now %llu unix seconds)", c->cert,
           cert_error(rc), (unsigned long long)out->cert.not_before,
           (unsigned long long)out->cert.not_after, (unsigned long long)unix_s);
    else
      errf(err, errcap, rc, "%s: %s (group key %s)", c->cert, cert_error(rc), c->group);
    goto out;
  }

  switch (c->cipher) {
  case CFG_CIPHER_AUTO:
    out->cipher = crypto_aead_aes256gcm_is_available() ? DC_AES256GCM : DC_CHACHA20POLY1305;
    break;
  case CFG_CIPHER_AES256GCM:
    if (!crypto_aead_aes256gcm_is_available()) {
      rc = errf(err, errcap, RL_EUNSUP, "cipher aes-256-gcm is not available on this CPU "
                "(no AES-NI/PCLMUL); use chacha20-poly1305 or auto");
      goto out;
    }
    out->cipher = DC_AES256GCM;
    break;
  case CFG_CIPHER_CHACHA20POLY1305:
    out->cipher = DC_CHACHA20POLY1305;
    break;
  }
  out->fmt = c->format == CFG_FORMAT_EPOCH ? DC_FMT_EPOCH : DC_FMT_V2;
  out->listen = c->listen;
  out->n_bootstrap = c->n_bootstrap;
  memcpy(out->bootstrap, c->bootstrap, sizeof(c->bootstrap[0]) * c->n_bootstrap);
  out->keepalive_ns = (uint64_t)c->keepalive_s * NS_PER_S;
  out->link_timeout_ns = (uint64_t)c->link_timeout_s * NS_PER_S;
  out->rekey_ns = (uint64_t)c->rekey_s * NS_PER_S;
  out->idle_link_ns = (uint64_t)c->idle_link_s * NS_PER_S;
  out->dht_replicas = c->dht_replicas;
  rc = cfg_load_peers(c, out->peers, &out->n_peers, err, errcap);

out:
  sodium_memzero(why, sizeof(why));
  if (rc)
    id_wipe(&out->key);
  return rc;
}
