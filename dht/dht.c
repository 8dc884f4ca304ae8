/* The DHT: lifecycle, action queue, ring view and re-replication, the
 * result cache and timers. Requests and record acceptance: dht_rpc.c. */
#include "dht/dht.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "dht/dht_int.h"

void dht_config_default(struct dht_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->replicas = DHT_REPLICAS_DEFAULT;
  cfg->mem_store_max = DHT_MEM_STORE_MAX;
  cfg->record_ttl_s = DHT_RECORD_TTL_S;
  cfg->rpc_timeout_ns = DHT_RPC_TIMEOUT_NS;
  cfg->get_attempts = DHT_GET_ATTEMPTS;
  cfg->cache_ttl_ns = DHT_CACHE_TTL_NS;
  cfg->cache_max = DHT_CACHE_MAX;
}

struct dht *dht_new(const struct dht_config *cfg, int *err) {
  struct dht *d;
  uint8_t id[RL_ID_LEN];
  int rc = RL_EINVAL;
  if (!cfg || !cfg->env || cfg->replicas < DHT_REPLICAS_MIN ||
      cfg->replicas > DHT_REPLICAS_MAX || !cfg->group[0] || cfg->record_ttl_s < 60 ||
      cfg->record_ttl_s > DHT_REC_MAX_TTL_S || cfg->get_attempts == 0 ||
      cfg->rpc_timeout_ns == 0)
    goto fail;
  cert_node_id(&cfg->cert, id);
  if (memcmp(id, cfg->self_id, RL_ID_LEN) != 0 ||
      memcmp(cfg->key.pk, cfg->cert.node_pk, RL_PK_LEN) != 0)
    goto fail;
  rc = RL_ENOMEM;
  if (!(d = calloc(1, sizeof(*d))))
    goto fail;
  d->cfg = *cfg;
  d->cfg.group[RL_GROUP_NAME_MAX] = '\0';
  if (d->cfg.cache_max == 0)
    d->cfg.cache_max = 1;
  d->store = cfg->store;
  if (!d->store) {
    if (!(d->store = dht_store_mem_new(cfg->mem_store_max ? cfg->mem_store_max
                                                          : DHT_MEM_STORE_MAX))) {
      dht_free(d);
      goto fail;
    }
    d->own_store = true;
  }
  d->next_txid = rl_rand_u32(cfg->env);
  d->next_sweep = RL_TIME_NEVER; /* armed by the first timer-relevant call */
  d->settle_at = RL_TIME_NEVER;
  if (err)
    *err = 0;
  return d;
fail:
  if (err)
    *err = rc;
  return NULL;
}

void dht_free(struct dht *d) {
  struct dht_qent *e, *n;
  if (!d)
    return;
  for (e = d->q_head; e; e = n) {
    n = e->next;
    free(e);
  }
  for (size_t i = 0; i < d->n_cache; i++)
    free(d->cache[i].rec);
  free(d->cache);
  free(d->pend);
  if (d->own_store)
    d->store->ops->close(d->store);
  sodium_memzero(&d->cfg.key, sizeof(d->cfg.key));
  free(d);
}

/* ---- time ---- */

uint64_t dht_unix(const struct dht *d, uint64_t now) { return rl_unix_s(d->cfg.env, now); }

uint64_t dht_unix_to_ns(const struct dht *d, uint64_t unix_s) {
  int64_t rel = (int64_t)unix_s - d->cfg.env->unix_offset_s;
  return rel <= 0 ? 0 : (uint64_t)rel * NS_PER_S;
}

uint32_t dht_txid(struct dht *d) { return d->next_txid++; }

/* ---- ring arithmetic on 160-bit big-endian IDs ----
 * Kept local (two comparisons) so the DHT depends on the overlay's header
 * only, and its tests need no overlay. */

bool dht_id_in(const uint8_t a[RL_ID_LEN], const uint8_t x[RL_ID_LEN],
               const uint8_t b[RL_ID_LEN]) {
  int ab = memcmp(a, b, RL_ID_LEN), ax = memcmp(a, x, RL_ID_LEN),
      xb = memcmp(x, b, RL_ID_LEN);
  if (ab < 0)
    return ax < 0 && xb <= 0;
  if (ab > 0)
    return ax < 0 || xb <= 0;
  return true;
}

bool dht_ring_owns(const struct dht *d, const struct dht_ring *r,
                   const uint8_t key[DHT_KEY_LEN]) {
  /* Same rule as overlay_is_owner(): nothing before we joined (a STORE
   * then waits for the ring instead of being kept where nobody looks);
   * everything when we are alone on the ring; else (pred, self]. */
  if (!r->joined)
    return false;
  if (r->n_succ == 0 || memcmp(key, d->cfg.self_id, RL_ID_LEN) == 0)
    return true;
  return r->has_pred && dht_id_in(r->pred, key, d->cfg.self_id);
}

unsigned dht_replica_set(const struct dht *d, const struct dht_ring *r,
                         uint8_t out[DHT_MAX_REPLICAS][RL_ID_LEN]) {
  unsigned n = 0;
  memcpy(out[n++], d->cfg.self_id, RL_ID_LEN);
  for (unsigned i = 0; i < r->n_succ && n < d->cfg.replicas; i++)
    memcpy(out[n++], r->succ[i], RL_ID_LEN);
  return n;
}

static void ring_from_info(const struct dht *d, const struct ov_ring_info *ri,
                           struct dht_ring *r) {
  memset(r, 0, sizeof(*r));
  r->joined = ri->joined;
  r->has_pred = ri->has_pred && memcmp(ri->pred, d->cfg.self_id, RL_ID_LEN) != 0;
  if (r->has_pred)
    memcpy(r->pred, ri->pred, RL_ID_LEN);
  for (unsigned i = 0; i < ri->n_succ && i < OV_MAX_SUCC; i++) {
    bool dup = memcmp(ri->succ[i], d->cfg.self_id, RL_ID_LEN) == 0;
    for (unsigned j = 0; j < r->n_succ && !dup; j++)
      dup = memcmp(r->succ[j], ri->succ[i], RL_ID_LEN) == 0;
    if (!dup)
      memcpy(r->succ[r->n_succ++], ri->succ[i], RL_ID_LEN);
  }
}

/* ---- action queue ---- */

static void q_push(struct dht *d, struct dht_qent *e) {
  e->next = NULL;
  if (d->q_tail)
    d->q_tail->next = e;
  else
    d->q_head = e;
  d->q_tail = e;
  d->q_len++;
}

int dht_q_route(struct dht *d, const uint8_t key[RL_ID_LEN], int mode,
                const struct dht_msg *m) {
  uint8_t buf[DHT_MSG_MAX];
  struct dht_qent *e;
  int n = dht_msg_encode(m, buf, sizeof(buf));
  if (n < 0)
    return n;
  if (d->q_len >= DHT_QUEUE_MAX || !(e = malloc(sizeof(*e) + (size_t)n))) {
    /* Requests are retried and replicas re-pushed on the next ring
     * change, so a dropped message delays rather than loses. */
    d->st.queue_dropped++;
    return RL_EFULL;
  }
  e->kind = DHT_ACT_ROUTE;
  e->mode = (uint8_t)mode;
  memcpy(e->key, key, RL_ID_LEN);
  e->len = (uint16_t)n;
  memcpy(e->data, buf, (size_t)n);
  q_push(d, e);
  return 0;
}

void dht_q_result(struct dht *d, uint32_t cookie, int status, const uint8_t *rec,
                  size_t len) {
  /* Results are never dropped for a full queue: the caller waits on the
   * cookie, and at most DHT_PENDING_MAX + 1 can be outstanding per call. */
  struct dht_qent *e = malloc(sizeof(*e) + len);
  if (!e) {
    d->st.queue_dropped++;
    return;
  }
  memset(e, 0, sizeof(*e));
  e->kind = DHT_ACT_RESULT;
  e->cookie = cookie;
  e->status = status;
  e->len = (uint16_t)len;
  if (len)
    memcpy(e->data, rec, len);
  q_push(d, e);
}

bool dht_poll(struct dht *d, struct dht_action *a) {
  struct dht_qent *e = d->q_head;
  if (!e)
    return false;
  d->q_head = e->next;
  if (!d->q_head)
    d->q_tail = NULL;
  d->q_len--;
  a->kind = (enum dht_act_kind)e->kind;
  if (e->kind == DHT_ACT_ROUTE) {
    memcpy(a->key, e->key, RL_ID_LEN);
    a->mode = e->mode;
    a->len = e->len;
    memcpy(a->data, e->data, e->len);
  } else {
    a->cookie = e->cookie;
    a->status = e->status;
    a->len = 0;
    memset(&a->rec, 0, sizeof(a->rec));
    /* The bytes were verified when they entered the cache or the store. */
    if (e->status == 0 && dht_record_decode(&a->rec, e->data, e->len) < 0)
      a->status = RL_ENOENT;
  }
  free(e);
  return true;
}

/* ---- cache of results and replica hints ---- */

struct dht_cent *dht_cache_find(struct dht *d, const uint8_t key[DHT_KEY_LEN]) {
  for (size_t i = 0; i < d->n_cache; i++)
    if (memcmp(d->cache[i].key, key, DHT_KEY_LEN) == 0)
      return &d->cache[i];
  return NULL;
}

static void cache_drop(struct dht *d, size_t i) {
  free(d->cache[i].rec);
  d->cache[i] = d->cache[--d->n_cache];
}

static uint64_t cent_until(const struct dht_cent *c) {
  return c->rec_until > c->hint_until ? c->rec_until : c->hint_until;
}

struct dht_cent *dht_cache_slot(struct dht *d, const uint8_t key[DHT_KEY_LEN],
                                uint64_t now) {
  struct dht_cent *c = dht_cache_find(d, key);
  if (c)
    return c;
  /* Drop what has expired; if still full, evict the entry closest to
   * expiry (it would be gone soonest anyway). */
  for (size_t i = 0; i < d->n_cache;) {
    if (cent_until(&d->cache[i]) <= now)
      cache_drop(d, i);
    else
      i++;
  }
  if (d->n_cache >= d->cfg.cache_max) {
    size_t victim = 0;
    for (size_t i = 1; i < d->n_cache; i++)
      if (cent_until(&d->cache[i]) < cent_until(&d->cache[victim]))
        victim = i;
    cache_drop(d, victim);
  }
  if (d->n_cache == d->cap_cache) {
    size_t nc = d->cap_cache ? d->cap_cache * 2 : 4;
    struct dht_cent *n = realloc(d->cache, nc * sizeof(*n));
    if (!n)
      return NULL;
    d->cache = n;
    d->cap_cache = nc;
  }
  c = &d->cache[d->n_cache++];
  memset(c, 0, sizeof(*c));
  memcpy(c->key, key, DHT_KEY_LEN);
  return c;
}

void dht_forget(struct dht *d, const uint8_t key[DHT_KEY_LEN]) {
  /* The value may be stale; the replica hints are still the best guess
   * of where to ask next, so they stay. */
  struct dht_cent *c = dht_cache_find(d, key);
  if (!c)
    return;
  free(c->rec);
  c->rec = NULL;
  c->rec_len = 0;
  c->rec_until = 0;
  if (c->hint_until == 0)
    cache_drop(d, (size_t)(c - d->cache));
}

/* ---- revoked owners ---- */

bool dht_owner_revoked(const struct dht *d, const struct cert *c) {
  uint8_t id[RL_ID_LEN];
  if (!d->cfg.revoked || d->cfg.revoked->n == 0)
    return false;
  cert_node_id(c, id);
  return revoke_set_has(d->cfg.revoked, id);
}

#define DROP_BATCH 64
struct drop_walk {
  const uint8_t *id;
  unsigned n;
  bool more;                        /* the batch filled up: walk again */
  uint8_t keys[DROP_BATCH][DHT_KEY_LEN];
};

static int drop_visit(void *arg, const uint8_t key[DHT_KEY_LEN], const uint8_t *rec,
                      size_t len) {
  struct drop_walk *w = arg;
  struct dht_record *r = malloc(sizeof(*r));
  uint8_t owner[RL_ID_LEN];
  bool hit;
  if (!r)
    return 0;
  hit = dht_record_decode(r, rec, len) == 0 && dht_record_owner_id(r, owner) == 0 &&
        memcmp(owner, w->id, RL_ID_LEN) == 0;
  free(r);
  if (!hit)
    return 0;
  if (w->n == DROP_BATCH) {
    w->more = true;
    return 1;
  }
  memcpy(w->keys[w->n++], key, DHT_KEY_LEN);
  return 0;
}

unsigned dht_drop_owner(struct dht *d, const uint8_t id[RL_ID_LEN]) {
  struct drop_walk *w = malloc(sizeof(*w));
  unsigned total = 0;
  if (!w)
    return 0;
  /* The store may not change during iterate: collect, delete, again (each
   * round deletes what it found, so the walk ends). */
  do {
    w->id = id;
    w->n = 0;
    w->more = false;
    d->store->ops->iterate(d->store, drop_visit, w);
    for (unsigned i = 0; i < w->n; i++)
      if (d->store->ops->del(d->store, w->keys[i]) == 0)
        total++;
  } while (w->more && w->n > 0);
  free(w);
  for (size_t i = d->n_cache; i-- > 0;) {
    struct dht_cent *c = &d->cache[i];
    struct dht_record *r;
    uint8_t owner[RL_ID_LEN];
    if (!c->rec || !(r = malloc(sizeof(*r))))
      continue;
    if (dht_record_decode(r, c->rec, c->rec_len) == 0 && dht_record_owner_id(r, owner) == 0 &&
        memcmp(owner, id, RL_ID_LEN) == 0)
      dht_forget(d, c->key);
    free(r);
  }
  return total;
}

/* ---- re-replication (DHash-style local maintenance) ---- */

struct ring_walk {
  struct dht *d;
  const struct dht_ring *old;
  uint64_t unix_s;
  bool leave;
  bool refresh; /* periodic anti-entropy pass */
  size_t n_dead, cap_dead;
  uint8_t (*dead)[DHT_KEY_LEN];
};

static void walk_mark_dead(struct ring_walk *w, const uint8_t key[DHT_KEY_LEN]) {
  if (w->n_dead == w->cap_dead) {
    size_t nc = w->cap_dead ? w->cap_dead * 2 : 16;
    void *n = realloc(w->dead, nc * DHT_KEY_LEN);
    if (!n)
      return; /* the sweep will get it */
    w->dead = n;
    w->cap_dead = nc;
  }
  memcpy(w->dead[w->n_dead++], key, DHT_KEY_LEN);
}

static int walk_one(void *arg, const uint8_t key[DHT_KEY_LEN], const uint8_t *rec,
                    size_t len) {
  struct ring_walk *w = arg;
  struct dht *d = w->d;
  struct dht_record *r = malloc(sizeof(*r));
  struct dht_msg m = {.type = DHT_MSG_REPLICATE, .rec = rec, .rec_len = len};
  if (!r)
    return 0;
  if (dht_record_decode(r, rec, len) < 0 || r->expiry_s <= w->unix_s) {
    walk_mark_dead(w, key);
    goto out;
  }
  if (w->leave) {
    /* Our successor inherits our whole key range. */
    m.txid = dht_txid(d);
    if (d->ring.n_succ && dht_q_route(d, d->ring.succ[0], OV_ROUTE_EXACT, &m) == 0)
      d->st.replicate_sent++;
    goto out;
  }
  bool was = dht_ring_owns(d, w->old, key), is = dht_ring_owns(d, &d->ring, key);
  if (w->refresh) {
    /* Anti-entropy (DHash-style): hand-overs routed while the ring was
     * still converging can land at the wrong node. So periodically the
     * owner pushes to its whole replica set and everyone else routes the
     * record to the current owner; receivers ignore what they hold. */
    if (is) {
      dht_push_replicas(d, key, rec, len, NULL);
    } else {
      m.txid = dht_txid(d);
      if (dht_q_route(d, key, OV_ROUTE_OWNER, &m) == 0)
        d->st.replicate_sent++;
    }
    goto out;
  }
  if (is) {
    /* Owner: every holder in the new replica set that was not in the old
     * one (all of them if we just became owner) gets the record. */
    dht_push_replicas(d, key, rec, len, was ? w->old : NULL);
  } else if (was) {
    /* A node joined between our predecessor and us and now owns key:
     * hand it over; the new owner pushes on to its own replicas. */
    m.txid = dht_txid(d);
    if (dht_q_route(d, key, OV_ROUTE_OWNER, &m) == 0)
      d->st.replicate_sent++;
  }
out:
  free(r);
  return 0;
}

static void walk_store(struct dht *d, const struct dht_ring *old, bool leave, bool refresh,
                       uint64_t now) {
  struct ring_walk w = {.d = d, .old = old, .unix_s = dht_unix(d, now), .leave = leave,
                        .refresh = refresh};
  d->store->ops->iterate(d->store, walk_one, &w);
  for (size_t i = 0; i < w.n_dead; i++)
    if (d->store->ops->del(d->store, w.dead[i]) == 0)
      d->st.expired_dropped++;
  free(w.dead);
}

static bool ring_equal(const struct dht_ring *a, const struct dht_ring *b) {
  if (a->joined != b->joined || a->has_pred != b->has_pred || a->n_succ != b->n_succ)
    return false;
  if (a->has_pred && memcmp(a->pred, b->pred, RL_ID_LEN) != 0)
    return false;
  return memcmp(a->succ, b->succ, (size_t)a->n_succ * RL_ID_LEN) == 0;
}

void dht_ring_changed(struct dht *d, const struct ov_ring_info *ri, uint64_t now) {
  struct dht_ring old = d->ring;
  ring_from_info(d, ri, &d->ring);
  if (ring_equal(&old, &d->ring))
    return;
  walk_store(d, &old, false, false, now);
  /* Just joined: own records that nobody acknowledged yet go out now
   * instead of at their next retry. */
  if (d->ring.joined && !old.joined) {
    for (unsigned i = 0; i < DHT_OWN_SLOTS; i++)
      if (d->own[i].active && !d->own[i].acked) {
        d->own[i].attempts = 0;
        dht_own_publish(d, &d->own[i], now);
      }
  }
  if (d->next_sweep == RL_TIME_NEVER)
    d->next_sweep = now + DHT_SWEEP_NS;
  if (d->n_retry)
    dht_retry_arm(d, now); /* the ring moved: wait until it is still */
}

/* ---- hand-overs that did not reach the owner ---- */

/* A hand-over (a REPLICATE routed to a record's key) that arrived at a
 * node whose own view says another node owns the key, holding the record
 * already: routed while the ring was converging, it ended at the wrong
 * node (in revocation.sh under load, a member that had owned a record in
 * its early view of the ring handed it over and its overlay delivered it
 * back to itself, and the record's member stayed unresolvable for ~25 s,
 * until the periodic pass). Sending it on at once could bounce between
 * two nodes that each think the other owns the key, so the key is noted
 * and handed over again once the ring has been still for DHT_SETTLE_NS
 * (no later than DHT_SETTLE_MAX_NS after the first note). */
void dht_retry_arm(struct dht *d, uint64_t now) {
  if (d->settle_at == RL_TIME_NEVER)
    d->settle_first = now;
  d->settle_at = now + DHT_SETTLE_NS;
  if (d->settle_at > d->settle_first + DHT_SETTLE_MAX_NS)
    d->settle_at = d->settle_first + DHT_SETTLE_MAX_NS;
}

void dht_retry_note(struct dht *d, const uint8_t key[DHT_KEY_LEN], uint64_t now) {
  for (unsigned i = 0; i < d->n_retry; i++)
    if (memcmp(d->retry[i], key, DHT_KEY_LEN) == 0)
      return;
  if (d->n_retry >= DHT_RETRY_MAX) {
    d->st.retry_dropped++; /* the periodic pass will do it */
    return;
  }
  memcpy(d->retry[d->n_retry++], key, DHT_KEY_LEN);
  dht_retry_arm(d, now);
}

static void retry_run(struct dht *d, uint64_t now) {
  uint8_t buf[DHT_REC_MAX];
  unsigned n = d->n_retry;
  d->n_retry = 0;
  d->settle_at = RL_TIME_NEVER;
  for (unsigned i = 0; i < n && d->ring.joined; i++) {
    int len = d->store->ops->get(d->store, d->retry[i], buf, sizeof(buf));
    if (len <= 0)
      continue;
    d->st.retried++;
    if (dht_ring_owns(d, &d->ring, d->retry[i])) {
      dht_push_replicas(d, d->retry[i], buf, (size_t)len, NULL);
    } else {
      struct dht_msg m = {.type = DHT_MSG_REPLICATE, .txid = dht_txid(d), .rec = buf,
                          .rec_len = (size_t)len};
      if (dht_q_route(d, d->retry[i], OV_ROUTE_OWNER, &m) == 0)
        d->st.replicate_sent++;
    }
  }
  (void)now;
}

void dht_leave(struct dht *d, uint64_t now) {
  walk_store(d, &d->ring, true, false, now);
}

/* ---- timers ---- */

uint64_t dht_next_timer(const struct dht *d) {
  uint64_t t = d->next_sweep < d->settle_at ? d->next_sweep : d->settle_at;
  for (size_t i = 0; i < d->n_pend; i++)
    if (d->pend[i].deadline < t)
      t = d->pend[i].deadline;
  for (unsigned i = 0; i < DHT_OWN_SLOTS; i++) {
    if (!d->own[i].active)
      continue;
    if (d->own[i].deadline < t)
      t = d->own[i].deadline;
    if (d->own[i].refresh_at < t)
      t = d->own[i].refresh_at;
  }
  return t;
}

void dht_on_timer(struct dht *d, uint64_t now) {
  dht_get_timer(d, now);
  dht_own_timer(d, now);
  if (d->settle_at <= now)
    retry_run(d, now);
  if (d->next_sweep <= now) {
    /* Drops expired records and re-replicates the rest. */
    walk_store(d, &d->ring, false, d->ring.joined, now);
    for (size_t i = 0; i < d->n_cache;) {
      if (cent_until(&d->cache[i]) <= now)
        cache_drop(d, i);
      else
        i++;
    }
    d->next_sweep = now + DHT_SWEEP_NS;
  }
}

void dht_stats(const struct dht *d, struct dht_stats *out) {
  *out = d->st;
  out->records = d->store->ops->count(d->store);
}
