/* The persistent DHT store: LMDB in the node's state directory.
 *
 * Implements struct dht_store (dht/store.h), so the sans-I/O DHT and the
 * node core see it as an injected interface. Files: <dir>/dht.mdb and
 * <dir>/dht.mdb-lock. Two named databases: "records" (20-byte key ->
 * encoded record) and "meta" (name -> blob, e.g. the peer cache).
 *
 * Records are re-verified when loaded (at open: the full dht_record_verify
 * at the open time; on get: structure + signature + certificate): a
 * corrupt, foreign or expired record is logged, deleted and never returned;
 * bad data never crashes the node. This header deliberately does not
 * include lmdb.h (only node/store_lmdb.c does). */
#ifndef RL_NODE_STORE_LMDB_H
#define RL_NODE_STORE_LMDB_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "dht/store.h"
#include "util/env.h"

#define STORE_LMDB_FILE "dht.mdb"           /* in the state directory */
#define STORE_LMDB_LOCK_FILE "dht.mdb-lock"
#define STORE_LMDB_MAP_DEFAULT (64u << 20) /* bytes of address space / file */
#define STORE_LMDB_RECORDS_DEFAULT 65536

struct store_lmdb_config {
  const struct rl_env *env;     /* logging (may have log == NULL) */
  const char *dir;              /* existing state directory */
  size_t map_size;              /* 0: STORE_LMDB_MAP_DEFAULT */
  size_t max_records;           /* 0: STORE_LMDB_RECORDS_DEFAULT */
  const char *group;            /* records of other groups are rejected */
  uint8_t group_pk[RL_PK_LEN];
};

/* Opens (creating if needed) the store and checks every stored record at
 * now_ns, deleting the bad ones (counted in *dropped if not NULL). Returns
 * 0 and *out, or RL_EINVAL (no dir/group), RL_EIO (LMDB error, logged),
 * RL_ENOMEM. Close with (*out)->ops->close(*out). */
int store_lmdb_open(const struct store_lmdb_config *cfg, uint64_t now_ns,
                    struct dht_store **out, size_t *dropped);

#endif
