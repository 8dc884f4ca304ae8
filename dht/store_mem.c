/* The in-memory DHT store: a key-sorted array of heap copies, bounded.
 *
 * Sorted so get is a binary search; inserts shift the array, which is fine
 * at the sizes a node holds (its share of the ring times k, a few hundred
 * records) and keeps the memory per simulated node minimal. */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "dht/store.h"

#define MEM_META_MAX 16

struct mem_rec {
  uint8_t key[DHT_KEY_LEN];
  uint16_t len;
  uint8_t *data;
};

struct mem_meta {
  char name[DHT_META_NAME_MAX + 1];
  size_t len;
  uint8_t *data;
};

struct mem_store {
  struct dht_store base; /* first: the ops see a struct dht_store * */
  size_t max_records;
  size_t n, cap;
  struct mem_rec *recs;
  unsigned n_meta;
  struct mem_meta meta[MEM_META_MAX];
};

static struct mem_store *ms(struct dht_store *s) { return (struct mem_store *)s; }

/* Index of key, or -(insertion point) - 1. */
static long find(const struct mem_store *m, const uint8_t key[DHT_KEY_LEN]) {
  size_t lo = 0, hi = m->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(m->recs[mid].key, key, DHT_KEY_LEN);
    if (c == 0)
      return (long)mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -(long)lo - 1;
}

static int mem_get(struct dht_store *s, const uint8_t key[DHT_KEY_LEN], uint8_t *buf,
                   size_t cap) {
  struct mem_store *m = ms(s);
  long i = find(m, key);
  if (i < 0)
    return RL_ENOENT;
  if (m->recs[i].len > cap)
    return RL_ETOOBIG;
  memcpy(buf, m->recs[i].data, m->recs[i].len);
  return m->recs[i].len;
}

static int mem_put(struct dht_store *s, const uint8_t key[DHT_KEY_LEN],
                   const uint8_t *rec, size_t len) {
  struct mem_store *m = ms(s);
  long i = find(m, key);
  uint8_t *copy;
  if (len == 0 || len > DHT_REC_MAX)
    return RL_ETOOBIG;
  if (i < 0 && m->n >= m->max_records)
    return RL_EFULL;
  if (!(copy = malloc(len)))
    return RL_ENOMEM;
  memcpy(copy, rec, len);
  if (i >= 0) {
    free(m->recs[i].data);
    m->recs[i].data = copy;
    m->recs[i].len = (uint16_t)len;
    return 0;
  }
  if (m->n == m->cap) {
    size_t nc = m->cap ? m->cap * 2 : 8;
    struct mem_rec *nr = realloc(m->recs, nc * sizeof(*nr));
    if (!nr) {
      free(copy);
      return RL_ENOMEM;
    }
    m->recs = nr;
    m->cap = nc;
  }
  i = -i - 1;
  memmove(&m->recs[i + 1], &m->recs[i], (m->n - (size_t)i) * sizeof(*m->recs));
  memcpy(m->recs[i].key, key, DHT_KEY_LEN);
  m->recs[i].data = copy;
  m->recs[i].len = (uint16_t)len;
  m->n++;
  return 0;
}

static int mem_del(struct dht_store *s, const uint8_t key[DHT_KEY_LEN]) {
  struct mem_store *m = ms(s);
  long i = find(m, key);
  if (i < 0)
    return RL_ENOENT;
  free(m->recs[i].data);
  memmove(&m->recs[i], &m->recs[i + 1], (m->n - (size_t)i - 1) * sizeof(*m->recs));
  m->n--;
  return 0;
}

static int mem_iterate(struct dht_store *s, dht_store_iter_fn fn, void *arg) {
  struct mem_store *m = ms(s);
  for (size_t i = 0; i < m->n; i++) {
    int rc = fn(arg, m->recs[i].key, m->recs[i].data, m->recs[i].len);
    if (rc)
      return rc;
  }
  return 0;
}

static size_t mem_count(const struct dht_store *s) {
  return ((const struct mem_store *)s)->n;
}

static struct mem_meta *meta_find(struct mem_store *m, const char *name) {
  for (unsigned i = 0; i < m->n_meta; i++)
    if (strcmp(m->meta[i].name, name) == 0)
      return &m->meta[i];
  return NULL;
}

static int mem_meta_get(struct dht_store *s, const char *name, uint8_t *buf, size_t cap) {
  struct mem_meta *e = meta_find(ms(s), name);
  if (!e)
    return RL_ENOENT;
  if (e->len > cap)
    return RL_ETOOBIG;
  if (e->len)
    memcpy(buf, e->data, e->len);
  return (int)e->len;
}

static int mem_meta_put(struct dht_store *s, const char *name, const uint8_t *val,
                        size_t len) {
  struct mem_store *m = ms(s);
  size_t nl = strnlen(name, DHT_META_NAME_MAX + 1);
  struct mem_meta *e;
  uint8_t *copy;
  if (nl == 0 || nl > DHT_META_NAME_MAX)
    return RL_EINVAL;
  if (len > DHT_META_VALUE_MAX)
    return RL_ETOOBIG;
  e = meta_find(m, name);
  if (!e) {
    if (m->n_meta == MEM_META_MAX)
      return RL_EFULL;
    e = &m->meta[m->n_meta];
    memset(e, 0, sizeof(*e));
    memcpy(e->name, name, nl);
  }
  if (!(copy = malloc(len ? len : 1)))
    return RL_ENOMEM;
  if (len)
    memcpy(copy, val, len);
  if (e == &m->meta[m->n_meta])
    m->n_meta++;
  free(e->data);
  e->data = copy;
  e->len = len;
  return 0;
}

static void mem_close(struct dht_store *s) {
  struct mem_store *m = ms(s);
  if (!m)
    return;
  for (size_t i = 0; i < m->n; i++)
    free(m->recs[i].data);
  for (unsigned i = 0; i < m->n_meta; i++)
    free(m->meta[i].data);
  free(m->recs);
  free(m);
}

static const struct dht_store_ops mem_ops = {
    .get = mem_get,
    .put = mem_put,
    .del = mem_del,
    .iterate = mem_iterate,
    .count = mem_count,
    .meta_get = mem_meta_get,
    .meta_put = mem_meta_put,
    .close = mem_close,
};

struct dht_store *dht_store_mem_new(size_t max_records) {
  struct mem_store *m = calloc(1, sizeof(*m));
  if (!m)
    return NULL;
  m->base.ops = &mem_ops;
  m->max_records = max_records ? max_records : 1;
  return &m->base;
}
