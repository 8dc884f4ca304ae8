/* From a parsed config to the node core's struct node_config. Separate
 * from config_ident.c so that the file checks can be tested without the
 * node core. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/dc.h"
#include "node/config.h"
#include "node/core/node.h"

_Static_assert(CFG_MAX_BOOTSTRAP == NODE_MAX_BOOTSTRAP, "bootstrap limits differ");

int cfg_load_node_config(const struct cfg *c, const struct rl_env *env, uint64_t unix_s,
                         struct node_config *out, char *err, size_t errcap) {
  int rc;
  node_config_default(out);
  out->env = env;
  rc = cfg_load_identity(c, unix_s, &out->key, &out->cert, out->group_pk, err, errcap);
  if (rc)
    return rc;
  switch (c->cipher) {
  case CFG_CIPHER_AUTO:
    out->cipher = crypto_aead_aes256gcm_is_available() ? DC_AES256GCM : DC_CHACHA20POLY1305;
    break;
  case CFG_CIPHER_AES256GCM:
    if (!crypto_aead_aes256gcm_is_available()) {
      snprintf(err, errcap, "cipher aes-256-gcm is not available on this CPU (no AES-NI/PCLMUL); "
               "use chacha20-poly1305 or auto");
      rc = RL_EUNSUP;
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
  /* Keepalives also hold NAT bindings: links use the more frequent of the
   * two settings ([node] keepalive_s, [nat] keepalive_s). */
  out->keepalive_ns = (uint64_t)(c->nat_keepalive_s < c->keepalive_s ? c->nat_keepalive_s
                                                                      : c->keepalive_s) *
                      NS_PER_S;
  out->link_timeout_ns = (uint64_t)c->link_timeout_s * NS_PER_S;
  out->relay_rate_kbps = c->relay_kbps;
  out->lan_candidates = c->lan_candidates;
  out->relay_source_kbps = c->relay_source_kbps;
  out->relay_total_kbps = c->relay_total_kbps;
  out->tcp_listen = c->tcp;
  out->lan_vlan = c->vlan;
  out->broadcast_rate = c->broadcast_rate;
  out->broadcast_burst = c->broadcast_burst;
  out->mcast_querier = c->mcast_querier;
  out->rekey_ns = (uint64_t)c->rekey_s * NS_PER_S;
  out->idle_link_ns = (uint64_t)c->idle_link_s * NS_PER_S;
  out->dht_replicas = c->dht_replicas;
  rc = cfg_load_peers(c, out->peers, &out->n_peers, err, errcap);
out:
  if (rc)
    id_wipe(&out->key);
  return rc;
}
