/* The DHT's record store: an injected interface (like randomness), so the
 * sans-I/O DHT never touches files. Two implementations:
 *   - dht/store_mem.c: in memory, bounded (tests, simulator, no state dir);
 *   - node/store_lmdb.c: LMDB in the node's state directory (daemon).
 *
 * A store holds two maps:
 *   records: 20-byte key -> one encoded record (dht_record_encode form);
 *   meta:    short name  -> small blob (the node's peer cache of
 *            remembered endpoints, and similar driver state).
 * Calls are synchronous and may block briefly (LMDB page writes); the DHT
 * only calls them on control-plane events, never per data packet.
 *
 * Ownership: the caller owns every buffer; a store copies what it keeps.
 * A store is not thread-safe; one node uses it from one thread. */
#ifndef RL_DHT_STORE_H
#define RL_DHT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "dht/record.h"

#define DHT_META_NAME_MAX 32   /* bytes of a meta name, NUL excluded */
#define DHT_META_VALUE_MAX 4096

struct dht_store;

/* Called once per record by iterate(); return non-zero to stop early
 * (iterate then returns that value). The record bytes are valid only
 * during the call. The callback must not modify the store; collect keys
 * and delete afterwards. */
typedef int (*dht_store_iter_fn)(void *arg, const uint8_t key[DHT_KEY_LEN],
                                 const uint8_t *rec, size_t len);

struct dht_store_ops {
  /* Copies the encoded record at key into buf. Returns its length,
   * RL_ENOENT, RL_ETOOBIG (cap too small) or RL_EIO. Implementations that
   * persist across runs re-verify what they load (RL_EAUTH for a corrupt
   * or foreign record, which is then deleted and logged). */
  int (*get)(struct dht_store *s, const uint8_t key[DHT_KEY_LEN], uint8_t *buf,
             size_t cap);
  /* Inserts or replaces. RL_EFULL when a new key would exceed the store's
   * bound, RL_ETOOBIG when len > DHT_REC_MAX, RL_EIO. */
  int (*put)(struct dht_store *s, const uint8_t key[DHT_KEY_LEN],
             const uint8_t *rec, size_t len);
  /* 0 or RL_ENOENT (or RL_EIO). */
  int (*del)(struct dht_store *s, const uint8_t key[DHT_KEY_LEN]);
  /* Visits every record (order unspecified). Returns 0, the callback's
   * non-zero value, or RL_EIO. */
  int (*iterate)(struct dht_store *s, dht_store_iter_fn fn, void *arg);
  size_t (*count)(const struct dht_store *s);
  /* Meta map. get returns the value length, RL_ENOENT, RL_ETOOBIG (cap);
   * put returns 0, RL_EINVAL (name empty/too long), RL_ETOOBIG (len >
   * DHT_META_VALUE_MAX), RL_EIO. */
  int (*meta_get)(struct dht_store *s, const char *name, uint8_t *buf, size_t cap);
  int (*meta_put)(struct dht_store *s, const char *name, const uint8_t *val,
                  size_t len);
  /* Releases everything (data already written stays on disk if any). */
  void (*close)(struct dht_store *s);
};

/* Every implementation embeds this as its first member. */
struct dht_store {
  const struct dht_store_ops *ops;
};

/* The in-memory store; max_records > 0 bounds the record map (the meta map
 * holds at most 16 names). Returns NULL on allocation failure. Free with
 * s->ops->close(s). */
struct dht_store *dht_store_mem_new(size_t max_records);

#endif
