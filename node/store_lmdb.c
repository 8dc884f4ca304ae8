/* The persistent DHT store on LMDB (see store_lmdb.h).
 *
 * One environment file per node (<dir>/dht.mdb, MDB_NOSUBDIR), two named
 * databases. Every call is its own short transaction: the DHT writes on
 * control-plane events only, so batching would buy little. MDB_NOSYNC:
 * records are soft state that owners refresh every half hour, so losing
 * the last writes on power loss is harmless; close() syncs explicitly. */
#include "node/store_lmdb.h"

#include <errno.h>
#include <lmdb.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lmdb_store {
  struct dht_store base; /* first: the ops see a struct dht_store * */
  const struct rl_env *env;
  MDB_env *mdb;
  MDB_dbi recs, meta;
  size_t max_records;
  char group[RL_GROUP_NAME_MAX + 1];
  uint8_t group_pk[RL_PK_LEN];
};

static struct lmdb_store *ls(struct dht_store *s) { return (struct lmdb_store *)s; }

static int map_err(const struct lmdb_store *l, const char *what, int rc) {
  if (rc == MDB_NOTFOUND)
    return RL_ENOENT;
  if (rc == MDB_MAP_FULL)
    return RL_EFULL;
  rl_logf(l->env, RL_LOG_ERROR, "store: %s: %s", what, mdb_strerror(rc));
  return RL_EIO;
}

static void key_hex(char out[2 * DHT_KEY_LEN + 1], const uint8_t *key) {
  rl_hex_encode(out, key, DHT_KEY_LEN);
}

/* Full or untimed check of bytes read back from disk. */
static int check_bytes(const struct lmdb_store *l, const uint8_t *p, size_t len,
                       uint64_t unix_s, const uint8_t key[DHT_KEY_LEN]) {
  struct dht_record *r = malloc(sizeof(*r)); /* ~1.3 KB: keep off the stack */
  int rc;
  if (!r)
    return RL_ENOMEM;
  rc = dht_record_decode(r, p, len);
  if (rc == 0 && memcmp(r->key, key, DHT_KEY_LEN) != 0)
    rc = RL_EAUTH; /* stored under another key than it names */
  if (rc == 0)
    rc = unix_s ? dht_record_verify(r, l->group, l->group_pk, unix_s, NULL)
                : dht_record_verify_untimed(r, l->group, l->group_pk);
  free(r);
  return rc;
}

static int del_key(struct lmdb_store *l, MDB_dbi dbi, const uint8_t *key, size_t klen) {
  MDB_txn *txn;
  MDB_val k = {klen, (void *)key};
  int rc = mdb_txn_begin(l->mdb, NULL, 0, &txn);
  if (rc)
    return map_err(l, "txn", rc);
  rc = mdb_del(txn, dbi, &k, NULL);
  if (rc) {
    mdb_txn_abort(txn);
    return map_err(l, "del", rc);
  }
  rc = mdb_txn_commit(txn);
  return rc ? map_err(l, "commit", rc) : 0;
}

static int lm_get(struct dht_store *s, const uint8_t key[DHT_KEY_LEN], uint8_t *buf,
                  size_t cap) {
  struct lmdb_store *l = ls(s);
  MDB_txn *txn;
  MDB_val k = {DHT_KEY_LEN, (void *)key}, v;
  char hex[2 * DHT_KEY_LEN + 1];
  int rc = mdb_txn_begin(l->mdb, NULL, MDB_RDONLY, &txn);
  if (rc)
    return map_err(l, "txn", rc);
  rc = mdb_get(txn, l->recs, &k, &v);
  if (rc) {
    mdb_txn_abort(txn);
    return map_err(l, "get", rc);
  }
  if (v.mv_size > cap) {
    mdb_txn_abort(txn);
    return RL_ETOOBIG;
  }
  memcpy(buf, v.mv_data, v.mv_size);
  mdb_txn_abort(txn);
  /* The page could have been damaged since open: never hand out bytes that
   * do not verify. */
  rc = check_bytes(l, buf, v.mv_size, 0, key);
  if (rc == RL_ENOMEM)
    return rc;
  if (rc < 0) {
    key_hex(hex, key);
    rl_logf(l->env, RL_LOG_WARN, "store: dropping bad record %s: %s", hex,
            rl_strerror(rc));
    del_key(l, l->recs, key, DHT_KEY_LEN);
    return RL_EAUTH;
  }
  return (int)v.mv_size;
}

static int lm_put(struct dht_store *s, const uint8_t key[DHT_KEY_LEN],
                  const uint8_t *rec, size_t len) {
  struct lmdb_store *l = ls(s);
  MDB_txn *txn;
  MDB_val k = {DHT_KEY_LEN, (void *)key}, v = {len, (void *)rec}, old;
  MDB_stat st;
  int rc;
  if (len == 0 || len > DHT_REC_MAX)
    return RL_ETOOBIG;
  if ((rc = mdb_txn_begin(l->mdb, NULL, 0, &txn)))
    return map_err(l, "txn", rc);
  rc = mdb_get(txn, l->recs, &k, &old);
  if (rc == MDB_NOTFOUND) {
    if ((rc = mdb_stat(txn, l->recs, &st)))
      goto fail;
    if (st.ms_entries >= l->max_records) {
      mdb_txn_abort(txn);
      return RL_EFULL;
    }
  } else if (rc) {
    goto fail;
  }
  if ((rc = mdb_put(txn, l->recs, &k, &v, 0)))
    goto fail;
  if ((rc = mdb_txn_commit(txn)))
    return map_err(l, "commit", rc);
  return 0;
fail:
  mdb_txn_abort(txn);
  return map_err(l, "put", rc);
}

static int lm_del(struct dht_store *s, const uint8_t key[DHT_KEY_LEN]) {
  return del_key(ls(s), ls(s)->recs, key, DHT_KEY_LEN);
}

static int lm_iterate(struct dht_store *s, dht_store_iter_fn fn, void *arg) {
  struct lmdb_store *l = ls(s);
  MDB_txn *txn;
  MDB_cursor *cur;
  MDB_val k, v;
  int rc, out = 0;
  if ((rc = mdb_txn_begin(l->mdb, NULL, MDB_RDONLY, &txn)))
    return map_err(l, "txn", rc);
  if ((rc = mdb_cursor_open(txn, l->recs, &cur))) {
    mdb_txn_abort(txn);
    return map_err(l, "cursor", rc);
  }
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    /* A key of the wrong size cannot come from put(): skip it; open()
     * removes such entries. */
    if (k.mv_size != DHT_KEY_LEN)
      continue;
    if ((out = fn(arg, k.mv_data, v.mv_data, v.mv_size)))
      break;
  }
  mdb_cursor_close(cur);
  mdb_txn_abort(txn);
  if (out)
    return out;
  return rc == MDB_NOTFOUND ? 0 : map_err(l, "iterate", rc);
}

static size_t lm_count(const struct dht_store *s) {
  const struct lmdb_store *l = (const struct lmdb_store *)s;
  MDB_txn *txn;
  MDB_stat st;
  size_t n = 0;
  if (mdb_txn_begin(l->mdb, NULL, MDB_RDONLY, &txn))
    return 0;
  if (mdb_stat(txn, l->recs, &st) == 0)
    n = st.ms_entries;
  mdb_txn_abort(txn);
  return n;
}

static int meta_name_ok(const char *name, size_t *nl) {
  *nl = strnlen(name, DHT_META_NAME_MAX + 1);
  return *nl > 0 && *nl <= DHT_META_NAME_MAX;
}

static int lm_meta_get(struct dht_store *s, const char *name, uint8_t *buf, size_t cap) {
  struct lmdb_store *l = ls(s);
  MDB_txn *txn;
  MDB_val k, v;
  size_t nl;
  int rc;
  if (!meta_name_ok(name, &nl))
    return RL_EINVAL;
  k.mv_size = nl;
  k.mv_data = (void *)name;
  if ((rc = mdb_txn_begin(l->mdb, NULL, MDB_RDONLY, &txn)))
    return map_err(l, "txn", rc);
  rc = mdb_get(txn, l->meta, &k, &v);
  if (rc) {
    mdb_txn_abort(txn);
    return map_err(l, "meta get", rc);
  }
  if (v.mv_size > cap || v.mv_size > DHT_META_VALUE_MAX) {
    mdb_txn_abort(txn);
    return RL_ETOOBIG;
  }
  if (v.mv_size)
    memcpy(buf, v.mv_data, v.mv_size);
  mdb_txn_abort(txn);
  return (int)v.mv_size;
}

static int lm_meta_put(struct dht_store *s, const char *name, const uint8_t *val,
                       size_t len) {
  struct lmdb_store *l = ls(s);
  MDB_txn *txn;
  MDB_val k, v = {len, (void *)val};
  size_t nl;
  int rc;
  if (!meta_name_ok(name, &nl))
    return RL_EINVAL;
  if (len > DHT_META_VALUE_MAX)
    return RL_ETOOBIG;
  k.mv_size = nl;
  k.mv_data = (void *)name;
  if ((rc = mdb_txn_begin(l->mdb, NULL, 0, &txn)))
    return map_err(l, "txn", rc);
  if ((rc = mdb_put(txn, l->meta, &k, &v, 0))) {
    mdb_txn_abort(txn);
    return map_err(l, "meta put", rc);
  }
  rc = mdb_txn_commit(txn);
  return rc ? map_err(l, "commit", rc) : 0;
}

static void lm_close(struct dht_store *s) {
  struct lmdb_store *l = ls(s);
  if (!l)
    return;
  if (l->mdb) {
    mdb_env_sync(l->mdb, 1);
    mdb_env_close(l->mdb);
  }
  free(l);
}

static const struct dht_store_ops lmdb_ops = {
    .get = lm_get,
    .put = lm_put,
    .del = lm_del,
    .iterate = lm_iterate,
    .count = lm_count,
    .meta_get = lm_meta_get,
    .meta_put = lm_meta_put,
    .close = lm_close,
};

/* Collects the keys of records that fail the full check at open. */
struct scan {
  struct lmdb_store *l;
  uint64_t unix_s;
  size_t n, cap;
  uint8_t (*bad)[DHT_KEY_LEN];
  size_t n_odd;              /* keys of the wrong length (deleted by cursor) */
  int err;
};

static int scan_one(struct scan *sc, const MDB_val *k, const MDB_val *v) {
  char hex[2 * DHT_KEY_LEN + 1];
  int rc = check_bytes(sc->l, v->mv_data, v->mv_size, sc->unix_s, k->mv_data);
  if (rc == 0)
    return 0;
  if (rc == RL_ENOMEM)
    return rc;
  key_hex(hex, k->mv_data);
  /* Expiry is routine; anything else means damage or a foreign file. */
  rl_logf(sc->l->env, rc == RL_EEXPIRED ? RL_LOG_DEBUG : RL_LOG_WARN,
          "store: dropping record %s at load: %s", hex, rl_strerror(rc));
  if (sc->n == sc->cap) {
    size_t nc = sc->cap ? sc->cap * 2 : 16;
    void *nb = realloc(sc->bad, nc * DHT_KEY_LEN);
    if (!nb)
      return RL_ENOMEM;
    sc->bad = nb;
    sc->cap = nc;
  }
  memcpy(sc->bad[sc->n++], k->mv_data, DHT_KEY_LEN);
  return 0;
}

/* Verifies every record; deletes the ones that fail (one write txn). */
static int scan_records(struct lmdb_store *l, uint64_t unix_s, size_t *dropped) {
  struct scan sc = {.l = l, .unix_s = unix_s};
  MDB_txn *txn;
  MDB_cursor *cur;
  MDB_val k, v;
  int rc;
  if ((rc = mdb_txn_begin(l->mdb, NULL, 0, &txn)))
    return map_err(l, "txn", rc);
  if ((rc = mdb_cursor_open(txn, l->recs, &cur))) {
    mdb_txn_abort(txn);
    return map_err(l, "cursor", rc);
  }
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != DHT_KEY_LEN) {
      rl_logf(l->env, RL_LOG_WARN, "store: dropping entry with a %zu-byte key",
              k.mv_size);
      if ((rc = mdb_cursor_del(cur, 0)))
        break;
      sc.n_odd++;
      continue;
    }
    if ((sc.err = scan_one(&sc, &k, &v)) < 0)
      break;
  }
  mdb_cursor_close(cur);
  if (sc.err < 0 || (rc && rc != MDB_NOTFOUND)) {
    mdb_txn_abort(txn);
    free(sc.bad);
    return sc.err < 0 ? sc.err : map_err(l, "scan", rc);
  }
  for (size_t i = 0; i < sc.n; i++) {
    MDB_val dk = {DHT_KEY_LEN, sc.bad[i]};
    mdb_del(txn, l->recs, &dk, NULL);
  }
  free(sc.bad);
  if ((rc = mdb_txn_commit(txn)))
    return map_err(l, "commit", rc);
  if (dropped)
    *dropped = sc.n + sc.n_odd;
  return 0;
}

int store_lmdb_open(const struct store_lmdb_config *cfg, uint64_t now_ns,
                    struct dht_store **out, size_t *dropped) {
  struct lmdb_store *l;
  MDB_txn *txn;
  char path[4096];
  int rc, err = RL_EIO;
  if (dropped)
    *dropped = 0;
  if (!cfg || !cfg->env || !cfg->dir || !cfg->group || !out || !cfg->group[0] ||
      strlen(cfg->group) > RL_GROUP_NAME_MAX)
    return RL_EINVAL;
  if ((size_t)snprintf(path, sizeof(path), "%s/" STORE_LMDB_FILE, cfg->dir) >= sizeof(path))
    return RL_EINVAL;
  if (!(l = calloc(1, sizeof(*l))))
    return RL_ENOMEM;
  l->base.ops = &lmdb_ops;
  l->env = cfg->env;
  l->max_records = cfg->max_records ? cfg->max_records : STORE_LMDB_RECORDS_DEFAULT;
  memcpy(l->group, cfg->group, strlen(cfg->group) + 1);
  memcpy(l->group_pk, cfg->group_pk, RL_PK_LEN);
  if ((rc = mdb_env_create(&l->mdb))) {
    l->mdb = NULL;
    goto fail_lmdb;
  }
  if ((rc = mdb_env_set_maxdbs(l->mdb, 2)) ||
      (rc = mdb_env_set_mapsize(l->mdb, cfg->map_size ? cfg->map_size
                                                      : STORE_LMDB_MAP_DEFAULT)) ||
      (rc = mdb_env_open(l->mdb, path, MDB_NOSUBDIR | MDB_NOSYNC | MDB_NOTLS, 0600)))
    goto fail_lmdb;
  if ((rc = mdb_txn_begin(l->mdb, NULL, 0, &txn)))
    goto fail_lmdb;
  if ((rc = mdb_dbi_open(txn, "records", MDB_CREATE, &l->recs)) ||
      (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &l->meta))) {
    mdb_txn_abort(txn);
    goto fail_lmdb;
  }
  if ((rc = mdb_txn_commit(txn)))
    goto fail_lmdb;
  if ((err = scan_records(l, rl_unix_s(cfg->env, now_ns), dropped)) < 0)
    goto fail;
  *out = &l->base;
  return 0;
fail_lmdb:
  rl_logf(cfg->env, RL_LOG_ERROR, "store: cannot open %s: %s", path, mdb_strerror(rc));
  err = rc == ENOMEM ? RL_ENOMEM : RL_EIO;
fail:
  if (l->mdb)
    mdb_env_close(l->mdb);
  free(l);
  return err;
}
