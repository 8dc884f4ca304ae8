/* The DHT: signed records stored at the owner of their key and its k-1
 * successors on the overlay ring (Chord/DHash style).
 *
 * Sans-I/O and independent of the overlay's implementation: the DHT never
 * calls the overlay. It emits actions the node core glues to it, and is
 * told what the overlay delivers:
 *
 *   node core                              dht
 *   ---------                              ---
 *   OV_ACT_DELIVER (app OV_APP_DHT)   ->  dht_recv(src, key, payload)
 *   OV_ACT_RING_CHANGED               ->  dht_ring_changed(overlay_ring_info())
 *   overlay_route(key, mode,          <-  DHT_ACT_ROUTE {key, mode, data}
 *                 OV_APP_DHT, data)
 *   answer to the caller of dht_get   <-  DHT_ACT_RESULT {cookie, status, rec}
 *
 * The record store is an injected interface (dht/store.h). Message formats,
 * replication rules and timers: docs/dht.md. */
#ifndef RL_DHT_H
#define RL_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/cert.h"
#include "crypto/identity.h"
#include "crypto/revoke.h"
#include "dht/msg.h"
#include "dht/record.h"
#include "dht/store.h"
#include "overlay/overlay.h" /* struct ov_ring_info, OV_ROUTE_* (header only) */
#include "util/env.h"

/* Replication factor: the owner plus k-1 successors hold each record. */
#define DHT_REPLICAS_DEFAULT 4
#define DHT_REPLICAS_MIN 3
#define DHT_REPLICAS_MAX DHT_MAX_REPLICAS
/* Own records live this long and are refreshed (re-signed, seq + 1) at
 * half-life, so a record outlives one missed refresh. */
#define DHT_RECORD_TTL_S 3600
/* A request (GET, STORE) unanswered after this is retried or moved on. */
#define DHT_RPC_TIMEOUT_NS (2 * NS_PER_S)
#define DHT_GET_ATTEMPTS 4          /* first try + 3 retries */
#define DHT_STORE_ATTEMPTS 3
#define DHT_STORE_RETRY_NS (30 * NS_PER_S) /* after a burst of attempts failed */
#define DHT_SWEEP_NS (60 * NS_PER_S)       /* drop expired records */
/* A hand-over that ended at the wrong node is tried again this long after
 * the ring last changed, no later than DHT_SETTLE_MAX_NS after it was
 * noted (dht.c, dht_retry_note); at most DHT_RETRY_MAX keys at a time. */
#define DHT_SETTLE_NS (3 * NS_PER_S)
#define DHT_SETTLE_MAX_NS (10 * NS_PER_S)
#define DHT_RETRY_MAX 64
#define DHT_CACHE_TTL_NS (60 * NS_PER_S)   /* lookup results and replica hints */
#define DHT_CACHE_MAX 64
#define DHT_PENDING_MAX 64                 /* concurrent dht_get()s */
#define DHT_QUEUE_MAX 4096                 /* queued ROUTE actions */
#define DHT_MEM_STORE_MAX 4096             /* records, when no store is given */

struct dht_config {
  const struct rl_env *env;
  uint8_t self_id[RL_ID_LEN];  /* must be the overlay ID of cert.node_pk */
  struct id_key key;           /* copied; signs own records; wiped on free */
  struct cert cert;            /* this node's certificate */
  char group[RL_GROUP_NAME_MAX + 1];
  uint8_t group_pk[RL_PK_LEN];
  unsigned replicas;           /* k, DHT_REPLICAS_MIN..MAX, default 4 */
  struct dht_store *store;     /* borrowed; NULL: an owned in-memory store */
  size_t mem_store_max;        /* bound of that in-memory store */
  uint64_t record_ttl_s;       /* own records, default DHT_RECORD_TTL_S */
  uint64_t rpc_timeout_ns;     /* default DHT_RPC_TIMEOUT_NS */
  unsigned get_attempts;       /* default DHT_GET_ATTEMPTS */
  uint64_t cache_ttl_ns;       /* default DHT_CACHE_TTL_NS */
  unsigned cache_max;          /* default DHT_CACHE_MAX */
  /* Revoked members (borrowed, NULL: none): their records are refused at
   * store and in lookup answers, and a VIP they held may be claimed by a
   * new member at once (docs/security.md, "Revocation"). */
  const struct revoke_set *revoked;
};
/* Fills the defaults; the caller then sets env, ids, keys, group. */
void dht_config_default(struct dht_config *cfg);

struct dht;

/* Copies cfg. Returns NULL with *err = RL_EINVAL (k out of range, self_id
 * not the cert's node ID, key not the cert's, empty group) or RL_ENOMEM. */
struct dht *dht_new(const struct dht_config *cfg, int *err);
void dht_free(struct dht *d);

/* Publishes (or updates) one of this node's own records and keeps it
 * alive: re-signed with seq + 1 at half-life, retried until the owner of
 * its key acknowledges it. DHT_REC_VIP: value ignored (it is always our
 * overlay ID); DHT_REC_NODE: value = endpoint candidates (opaque, at most
 * DHT_VALUE_MAX bytes). Returns 0, RL_EINVAL, RL_ETOOBIG, RL_EEXPIRED (our
 * certificate is no longer valid). */
int dht_put_own(struct dht *d, uint8_t type, const uint8_t *value, size_t len,
                uint64_t now);

/* Stores the binary revocation bin[len] (already verified by the caller)
 * in the DHT as a DHT_REC_REVOCATION record at the revoked member's NODE
 * key (dht/record.h): one STORE to the key's owner, not retried, or stored
 * here and pushed to our replicas when we own the key. Returns 0,
 * RL_ETRUNC (bin does not decode), RL_EREFUSED (we own the key and our
 * store refused it), RL_EFULL (queue), RL_ENOMEM. */
int dht_put_revocation(struct dht *d, const uint8_t *bin, size_t len, uint64_t now);

/* Looks key up. The answer is always a DHT_ACT_RESULT with this cookie
 * (possibly at once, from the cache or the local store): status 0 and the
 * verified record, RL_ENOENT, or RL_ETIMEDOUT after the bounded retries.
 * Returns 0 or RL_EFULL (DHT_PENDING_MAX lookups already running). */
int dht_get(struct dht *d, const uint8_t key[DHT_KEY_LEN], uint32_t cookie, uint64_t now);
/* Drops a cached result for key (e.g. the endpoints it named failed). */
void dht_forget(struct dht *d, const uint8_t key[DHT_KEY_LEN]);
/* Deletes every stored and cached record owned by id (a member just
 * revoked). Returns how many stored records went. */
unsigned dht_drop_owner(struct dht *d, const uint8_t id[RL_ID_LEN]);

/* A routed OV_APP_DHT payload delivered to us from src (routed to key).
 * Bad input is counted and dropped: 0 or a negative RL_E*. */
int dht_recv(struct dht *d, const uint8_t src[RL_ID_LEN], const uint8_t key[RL_ID_LEN],
             const uint8_t *payload, size_t len, uint64_t now);

/* The overlay's view changed: records whose replica set changed are pushed
 * to the new holders. Also call once after joining. */
void dht_ring_changed(struct dht *d, const struct ov_ring_info *ri, uint64_t now);

/* Graceful leave: every record held is handed to the successor (which
 * becomes the owner of our keys). Drain dht_poll() afterwards. */
void dht_leave(struct dht *d, uint64_t now);

enum dht_act_kind {
  DHT_ACT_NONE = 0,
  DHT_ACT_ROUTE,  /* overlay_route(key, mode, OV_APP_DHT, data, len) */
  DHT_ACT_RESULT  /* answer to dht_get(cookie); rec may be a revocation
                     record (a lookup of a revoked member's NODE key) */
};

struct dht_action {
  enum dht_act_kind kind;
  /* ROUTE */
  uint8_t key[RL_ID_LEN];
  int mode;                  /* OV_ROUTE_OWNER or OV_ROUTE_EXACT */
  size_t len;
  uint8_t data[DHT_MSG_MAX];
  /* RESULT */
  uint32_t cookie;
  int status;                /* 0, RL_ENOENT, RL_ETIMEDOUT */
  struct dht_record rec;     /* valid when status == 0 */
};
/* Pops the next action; false when there is none. */
bool dht_poll(struct dht *d, struct dht_action *a);

uint64_t dht_next_timer(const struct dht *d); /* RL_TIME_NEVER: none */
void dht_on_timer(struct dht *d, uint64_t now);

struct dht_stats {
  uint64_t records;           /* held in the store now */
  uint64_t stored;            /* records accepted (new or newer) */
  uint64_t rejected_invalid;  /* malformed, bad signature/cert, foreign */
  uint64_t rejected_expired;
  uint64_t rejected_stale;    /* seq not higher than the one held */
  uint64_t same_again;        /* the very record held, again (not re-verified) */
  uint64_t rejected_conflict; /* duplicate VIP claim by another member */
  uint64_t rejected_full;     /* store bound reached */
  uint64_t expired_dropped;   /* removed by the sweep */
  uint64_t replicate_sent;
  uint64_t handed_on;
  uint64_t retried;           /* hand-overs tried again (DHT_SETTLE_NS) */
  uint64_t retry_dropped;     /* ... not noted: list full (the periodic pass does them) */         /* delivered to us, not ours by our ring view: sent on */
  uint64_t gets_ok, gets_not_found, gets_timeout;
  uint64_t own_acked;         /* STORE_ACK OK for own records */
  uint64_t msgs_bad;          /* undecodable or unexpected messages */
  uint64_t queue_dropped;     /* ROUTE actions dropped: queue full */
  uint64_t revocations_stored;    /* revocation records accepted */
  uint64_t revocations_published; /* dht_put_revocation() calls sent/stored */
  uint64_t revocations_acked;     /* their STORE_ACK OK */
};
void dht_stats(const struct dht *d, struct dht_stats *out);

#endif
