/* Unit tests: the DHT store contract (dht/store.h), run against both
 * implementations (dht/store_mem.c and node/store_lmdb.c), plus what only
 * the LMDB store does: persistence across reopen, re-verification of what
 * it loads (corrupt bytes on disk, foreign and expired records), the map
 * size bound. Every test works in its own temp dir and removes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <ringlan/ringlan.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dht/record.h"
#include "dht/store.h"
#include "node/store_lmdb.h"
#include "tests/dht_fixture.h"

struct fx {
  struct rl_env env;
  struct fix_rng rng;
  struct fix_log log;
  struct id_key group, other_group;
  struct fix_member m[4];
  struct fix_member stranger;
  char dir[64];
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  fix_env_init(&f->env, &f->rng, &f->log, 11);
  assert_int_equal(id_generate(&f->group, &f->env), 0);
  assert_int_equal(id_generate(&f->other_group, &f->env), 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal(
        fix_member_make(&f->m[i], &f->env, &f->group, FIX_GROUP, FIX_VIP(i + 1)), 0);
  assert_int_equal(
      fix_member_make(&f->stranger, &f->env, &f->other_group, FIX_GROUP, FIX_VIP(9)), 0);
  snprintf(f->dir, sizeof(f->dir), "/tmp/rl-test-store-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  DIR *d = opendir(f->dir);
  struct dirent *e;
  char p[400];
  /* The store makes only dht.mdb and dht.mdb-lock; remove whatever is
   * there so a failing test leaves nothing behind. */
  while (d && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
    unlink(p);
  }
  if (d)
    closedir(d);
  rmdir(f->dir);
  id_wipe(&f->group);
  id_wipe(&f->other_group);
  free(f);
  return 0;
}

static struct dht_store *open_lmdb(struct fx *f, size_t max_records, size_t map_size,
                                   uint64_t now_ns, size_t *dropped, int *rc) {
  struct store_lmdb_config cfg = {
      .env = &f->env, .dir = f->dir, .map_size = map_size,
      .max_records = max_records, .group = FIX_GROUP};
  struct dht_store *s = NULL;
  memcpy(cfg.group_pk, f->group.pk, RL_PK_LEN);
  *rc = store_lmdb_open(&cfg, now_ns, &s, dropped);
  return s;
}

/* Encoded NODE record of member m with value byte v. */
static int rec_bytes(struct fx *f, const struct fix_member *m, uint8_t v, uint64_t seq,
                     uint8_t *buf, uint8_t key[DHT_KEY_LEN]) {
  struct dht_record r;
  uint8_t value[40];
  memset(value, v, sizeof(value));
  assert_int_equal(dht_record_make(&r, DHT_REC_NODE, &m->cert, &m->key, seq,
                                   FIX_UNIX0 + 3600, value, sizeof(value)),
                   0);
  memcpy(key, r.key, DHT_KEY_LEN);
  return dht_record_encode(&r, buf, DHT_REC_MAX);
}

static int count_cb(void *arg, const uint8_t key[DHT_KEY_LEN], const uint8_t *rec,
                    size_t len) {
  (void)key;
  struct dht_record r;
  assert_int_equal(dht_record_decode(&r, rec, len), 0);
  (*(int *)arg)++;
  return 0;
}

static int stop_cb(void *arg, const uint8_t key[DHT_KEY_LEN], const uint8_t *rec,
                   size_t len) {
  (void)key, (void)rec, (void)len;
  (*(int *)arg)++;
  return 42;
}

/* The contract every implementation meets; bound = 3 records. */
static void contract(struct fx *f, struct dht_store *s) {
  const struct dht_store_ops *o = s->ops;
  uint8_t buf[DHT_REC_MAX], out[DHT_REC_MAX], key[4][DHT_KEY_LEN], zero[DHT_KEY_LEN] = {0};
  int len[4], n = 0;
  for (int i = 0; i < 4; i++)
    len[i] = rec_bytes(f, &f->m[i], (uint8_t)i, 1, buf, key[i]);

  assert_int_equal(o->count(s), 0);
  assert_int_equal(o->get(s, key[0], out, sizeof(out)), RL_ENOENT);
  for (int i = 0; i < 3; i++) {
    rec_bytes(f, &f->m[i], (uint8_t)i, 1, buf, key[i]);
    assert_int_equal(o->put(s, key[i], buf, (size_t)len[i]), 0);
  }
  assert_int_equal(o->count(s), 3);
  /* Bound reached: a new key is refused, replacing an old one is not. */
  rec_bytes(f, &f->m[3], 3, 1, buf, key[3]);
  assert_int_equal(o->put(s, key[3], buf, (size_t)len[3]), RL_EFULL);
  rec_bytes(f, &f->m[1], 0x55, 2, buf, key[1]);
  assert_int_equal(o->put(s, key[1], buf, (size_t)len[1]), 0);
  assert_int_equal(o->count(s), 3);
  assert_int_equal(o->get(s, key[1], out, sizeof(out)), len[1]);
  assert_memory_equal(out, buf, (size_t)len[1]);
  assert_int_equal(o->get(s, key[1], out, 10), RL_ETOOBIG);
  assert_int_equal(o->put(s, key[1], buf, 0), RL_ETOOBIG);
  assert_int_equal(o->put(s, key[1], buf, DHT_REC_MAX + 1), RL_ETOOBIG);

  assert_int_equal(o->iterate(s, count_cb, &n), 0);
  assert_int_equal(n, 3);
  n = 0;
  assert_int_equal(o->iterate(s, stop_cb, &n), 42);
  assert_int_equal(n, 1);

  assert_int_equal(o->del(s, key[0]), 0);
  assert_int_equal(o->del(s, key[0]), RL_ENOENT);
  assert_int_equal(o->del(s, zero), RL_ENOENT);
  assert_int_equal(o->count(s), 2);
  assert_int_equal(o->get(s, key[0], out, sizeof(out)), RL_ENOENT);

  /* Meta map. */
  const uint8_t peers[] = "198.51.100.7:4500 203.0.113.9:4500";
  assert_int_equal(o->meta_get(s, "peers", out, sizeof(out)), RL_ENOENT);
  assert_int_equal(o->meta_put(s, "peers", peers, sizeof(peers)), 0);
  assert_int_equal(o->meta_get(s, "peers", out, sizeof(out)), (int)sizeof(peers));
  assert_memory_equal(out, peers, sizeof(peers));
  assert_int_equal(o->meta_get(s, "peers", out, 3), RL_ETOOBIG);
  assert_int_equal(o->meta_put(s, "peers", peers, 5), 0);
  assert_int_equal(o->meta_get(s, "peers", out, sizeof(out)), 5);
  assert_int_equal(o->meta_put(s, "", peers, 5), RL_EINVAL);
  assert_int_equal(o->meta_put(s, "a-name-that-is-far-too-long-for-meta", peers, 5),
                   RL_EINVAL);
  {
    static uint8_t huge[DHT_META_VALUE_MAX + 1];
    assert_int_equal(o->meta_put(s, "big", huge, sizeof(huge)), RL_ETOOBIG);
  }
}

static void test_contract_mem(void **state) {
  struct fx *f = *state;
  struct dht_store *s = dht_store_mem_new(3);
  assert_non_null(s);
  contract(f, s);
  s->ops->close(s);
}

static void test_contract_lmdb(void **state) {
  struct fx *f = *state;
  int rc;
  struct dht_store *s = open_lmdb(f, 3, 0, 0, NULL, &rc);
  assert_int_equal(rc, 0);
  contract(f, s);
  s->ops->close(s);
}

static void test_reopen_survives(void **state) {
  struct fx *f = *state;
  uint8_t buf[DHT_REC_MAX], out[DHT_REC_MAX], key[DHT_KEY_LEN];
  size_t dropped = 99;
  int rc, len;
  struct dht_store *s = open_lmdb(f, 0, 0, 0, &dropped, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(dropped, 0);
  len = rec_bytes(f, &f->m[0], 7, 3, buf, key);
  assert_int_equal(s->ops->put(s, key, buf, (size_t)len), 0);
  assert_int_equal(s->ops->meta_put(s, "peers", (const uint8_t *)"x", 1), 0);
  s->ops->close(s);

  s = open_lmdb(f, 0, 0, 10 * NS_PER_S, &dropped, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(dropped, 0);
  assert_int_equal(s->ops->count(s), 1);
  assert_int_equal(s->ops->get(s, key, out, sizeof(out)), len);
  assert_memory_equal(out, buf, (size_t)len);
  assert_int_equal(s->ops->meta_get(s, "peers", out, sizeof(out)), 1);
  assert_int_equal(out[0], 'x');
  s->ops->close(s);

  /* Reopened after the record expired: dropped at load, quietly. */
  s = open_lmdb(f, 0, 0, 3600 * NS_PER_S, &dropped, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(dropped, 1);
  assert_int_equal(s->ops->count(s), 0);
  s->ops->close(s);
}

/* Bytes that do not verify never come back out, whichever way they got in. */
static void test_corrupt_value_via_api(void **state) {
  struct fx *f = *state;
  uint8_t buf[DHT_REC_MAX], out[DHT_REC_MAX], key[DHT_KEY_LEN], key2[DHT_KEY_LEN];
  int rc, len;
  unsigned warns;
  struct dht_store *s = open_lmdb(f, 0, 0, 0, NULL, &rc);
  assert_int_equal(rc, 0);
  len = rec_bytes(f, &f->m[0], 7, 3, buf, key);
  buf[len - 5] ^= 0x20; /* inside the signature */
  assert_int_equal(s->ops->put(s, key, buf, (size_t)len), 0);
  warns = f->log.n_warn;
  assert_int_equal(s->ops->get(s, key, out, sizeof(out)), RL_EAUTH);
  assert_true(f->log.n_warn > warns);
  assert_non_null(strstr(f->log.last, "bad record"));
  assert_int_equal(s->ops->count(s), 0); /* deleted */

  /* Garbage, and a valid record filed under the wrong key. */
  assert_int_equal(s->ops->put(s, key, (const uint8_t *)"garbage", 7), 0);
  assert_int_equal(s->ops->get(s, key, out, sizeof(out)), RL_EAUTH);
  len = rec_bytes(f, &f->m[1], 7, 3, buf, key2);
  assert_int_equal(s->ops->put(s, key, buf, (size_t)len), 0);
  assert_int_equal(s->ops->get(s, key, out, sizeof(out)), RL_EAUTH);
  s->ops->close(s);
}

/* Flip a byte of the stored record in the database file itself, then
 * reopen: the record is rejected and logged, the rest survives. */
static void test_corrupt_on_disk(void **state) {
  struct fx *f = *state;
  uint8_t buf[DHT_REC_MAX], good[DHT_REC_MAX], out[DHT_REC_MAX];
  uint8_t key[DHT_KEY_LEN], gkey[DHT_KEY_LEN];
  char path[128];
  size_t dropped = 0;
  int rc, len, glen, hits = 0;
  struct dht_store *s = open_lmdb(f, 0, 0, 0, NULL, &rc);
  assert_int_equal(rc, 0);
  len = rec_bytes(f, &f->m[0], 0xA5, 3, buf, key);
  glen = rec_bytes(f, &f->m[1], 0x5A, 3, good, gkey);
  assert_int_equal(s->ops->put(s, key, buf, (size_t)len), 0);
  assert_int_equal(s->ops->put(s, gkey, good, (size_t)glen), 0);
  s->ops->close(s);

  snprintf(path, sizeof(path), "%s/dht.mdb", f->dir);
  FILE *fp = fopen(path, "r+b");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long fsz = ftell(fp);
  uint8_t *file = malloc((size_t)fsz);
  assert_non_null(file);
  fseek(fp, 0, SEEK_SET);
  assert_int_equal(fread(file, 1, (size_t)fsz, fp), (size_t)fsz);
  /* The record's signature (last 64 bytes) is unique in the file. */
  for (long i = 0; i + RL_SIG_LEN <= fsz; i++) {
    if (memcmp(file + i, buf + len - RL_SIG_LEN, RL_SIG_LEN) == 0) {
      uint8_t b = file[i + 3] ^ 0x01;
      fseek(fp, i + 3, SEEK_SET);
      fwrite(&b, 1, 1, fp);
      hits++;
    }
  }
  free(file);
  fclose(fp);
  assert_true(hits >= 1);

  f->log.n_warn = 0;
  s = open_lmdb(f, 0, 0, 0, &dropped, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(dropped, 1);
  assert_true(f->log.n_warn >= 1);
  assert_int_equal(s->ops->get(s, key, out, sizeof(out)), RL_ENOENT);
  assert_int_equal(s->ops->get(s, gkey, out, sizeof(out)), glen);
  s->ops->close(s);
}

static void test_foreign_dropped_at_load(void **state) {
  struct fx *f = *state;
  uint8_t buf[DHT_REC_MAX], key[DHT_KEY_LEN];
  size_t dropped = 0;
  int rc, len;
  struct dht_store *s = open_lmdb(f, 0, 0, 0, NULL, &rc);
  assert_int_equal(rc, 0);
  len = rec_bytes(f, &f->stranger, 1, 1, buf, key);
  assert_int_equal(s->ops->put(s, key, buf, (size_t)len), 0);
  s->ops->close(s);
  s = open_lmdb(f, 0, 0, 0, &dropped, &rc);
  assert_int_equal(rc, 0);
  assert_int_equal(dropped, 1);
  assert_non_null(strstr(f->log.last, "group"));
  assert_int_equal(s->ops->count(s), 0);
  s->ops->close(s);
}

/* A tiny map fills up: RL_EFULL, no crash, earlier data intact. */
static void test_map_size_bound(void **state) {
  struct fx *f = *state;
  uint8_t buf[DHT_REC_MAX], out[DHT_REC_MAX], key[DHT_KEY_LEN], first[DHT_KEY_LEN];
  int rc = 0, len = 0, i;
  struct dht_store *s = open_lmdb(f, 100000, 64 * 1024, 0, NULL, &rc);
  assert_int_equal(rc, 0);
  for (i = 0; i < 1000; i++) {
    len = rec_bytes(f, &f->m[0], 1, 1, buf, key);
    key[0] = (uint8_t)i, key[1] = (uint8_t)(i >> 8); /* distinct slots */
    if (i == 0)
      memcpy(first, key, DHT_KEY_LEN);
    rc = s->ops->put(s, key, buf, (size_t)len);
    if (rc < 0)
      break;
  }
  assert_int_equal(rc, RL_EFULL);
  assert_true(i > 10 && i < 1000);
  assert_int_equal(s->ops->count(s), (size_t)i);
  /* Stored under a key it does not name: reads back as bad, not crash. */
  assert_int_equal(s->ops->get(s, first, out, sizeof(out)), RL_EAUTH);
  s->ops->close(s);
}

static void test_open_errors(void **state) {
  struct fx *f = *state;
  struct store_lmdb_config cfg = {.env = &f->env, .dir = "/nonexistent/rl-x", .group = FIX_GROUP};
  struct dht_store *s = NULL;
  assert_int_equal(store_lmdb_open(&cfg, 0, &s, NULL), RL_EIO);
  assert_null(s);
  cfg.group = NULL;
  assert_int_equal(store_lmdb_open(&cfg, 0, &s, NULL), RL_EINVAL);
  cfg.group = FIX_GROUP;
  cfg.env = NULL;
  assert_int_equal(store_lmdb_open(&cfg, 0, &s, NULL), RL_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_contract_mem, setup, teardown),
      cmocka_unit_test_setup_teardown(test_contract_lmdb, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen_survives, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_value_via_api, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_on_disk, setup, teardown),
      cmocka_unit_test_setup_teardown(test_foreign_dropped_at_load, setup, teardown),
      cmocka_unit_test_setup_teardown(test_map_size_bound, setup, teardown),
      cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
