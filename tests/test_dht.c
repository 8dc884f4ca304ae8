/* Unit tests: dht/dht.c + dht/dht_rpc.c on a fake ring.
 *
 * Sixteen DHT instances, each with its own in-memory store. The "overlay"
 * is this file: a ROUTE action in OWNER mode is delivered to the live node
 * whose ID follows the key on the ring (computed from the sorted list of
 * live IDs), in EXACT mode to the node with that ID; ring views (pred,
 * 8 successors) are computed the same way. Time moves only by hand.
 *
 *        n0 -> n1 -> ... -> n15 -> n0      (sorted by overlay ID)
 *        key K: owner = first live ID >= K, replicas = its k-1 successors */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/ringlan.h>
#include <string.h>

#include "dht/dht.h"
#include "dht/dht_int.h"
#include "dht/msg.h"
#include "tests/dht_fixture.h"

#define N 16
#define MAX_RESULTS 64

struct result {
  bool got;
  int status;
  struct dht_record rec;
};

struct net {
  struct rl_env env;
  struct fix_rng rng;
  struct fix_log log;
  struct id_key group;
  struct fix_member m[N];
  unsigned order[N];        /* member indices sorted by ID */
  struct dht *d[N];
  struct dht_store *s[N];
  bool alive[N];
  bool mute[N];             /* in the ring but every message to it is lost */
  bool outside[N];          /* running but not joined: not in the ring, its
                               messages go nowhere */
  unsigned k;
  uint64_t ttl_s;
  uint64_t now;
  uint64_t delivered, lost;
  struct result res[MAX_RESULTS];
  struct dht_action act;    /* big: kept off the stack */
  /* The next misroute_n messages routed to a key's owner end at node
   * misroute_to instead, as a FINAL hop does while the ring converges. */
  int misroute_to;
  unsigned misroute_n;
};

static int id_cmp_idx(const struct net *t, unsigned a, unsigned b) {
  return memcmp(t->m[a].id, t->m[b].id, RL_ID_LEN);
}

static void sort_members(struct net *t) {
  for (unsigned i = 0; i < N; i++)
    t->order[i] = i;
  for (unsigned i = 1; i < N; i++)
    for (unsigned j = i; j > 0 && id_cmp_idx(t, t->order[j - 1], t->order[j]) > 0; j--) {
      unsigned x = t->order[j];
      t->order[j] = t->order[j - 1];
      t->order[j - 1] = x;
    }
}

/* Live member owning key: first live ID >= key, wrapping. */
static int owner_of(const struct net *t, const uint8_t key[RL_ID_LEN]) {
  int first = -1;
  for (unsigned i = 0; i < N; i++) {
    unsigned m = t->order[i];
    if (!t->alive[m] || t->outside[m])
      continue;
    if (first < 0)
      first = (int)m;
    if (memcmp(t->m[m].id, key, RL_ID_LEN) >= 0)
      return (int)m;
  }
  return first;
}

static int by_id(const struct net *t, const uint8_t id[RL_ID_LEN]) {
  for (unsigned i = 0; i < N; i++)
    if (t->alive[i] && !t->outside[i] && memcmp(t->m[i].id, id, RL_ID_LEN) == 0)
      return (int)i;
  return -1;
}

static void ring_info_of(const struct net *t, unsigned m, struct ov_ring_info *ri) {
  unsigned pos = 0, live = 0;
  memset(ri, 0, sizeof(*ri));
  for (unsigned i = 0; i < N; i++) {
    if (t->order[i] == m)
      pos = i;
    live += t->alive[i] && !t->outside[i];
  }
  ri->joined = true;
  ri->estimated_n = live;
  if (live <= 1)
    return;
  for (unsigned step = 1; step < N; step++) {
    unsigned x = t->order[(pos + N - step) % N];
    if (t->alive[x] && !t->outside[x]) {
      ri->has_pred = true;
      memcpy(ri->pred, t->m[x].id, RL_ID_LEN);
      break;
    }
  }
  for (unsigned step = 1; step < N && ri->n_succ < 8; step++) {
    unsigned x = t->order[(pos + step) % N];
    if (t->alive[x] && !t->outside[x])
      memcpy(ri->succ[ri->n_succ++], t->m[x].id, RL_ID_LEN);
  }
}

static void deliver(struct net *t, unsigned from, const struct dht_action *a) {
  int dst = a->mode == OV_ROUTE_OWNER ? owner_of(t, a->key) : by_id(t, a->key);
  if (a->mode == OV_ROUTE_OWNER && t->misroute_n > 0) {
    t->misroute_n--;
    dst = t->misroute_to;
  }
  if (dst < 0 || t->mute[dst] || t->outside[from]) {
    t->lost++;
    return;
  }
  t->delivered++;
  if (getenv("DHT_TRACE"))
    fprintf(stderr, "deliver %u -> %d mode %d type %u\n", from, dst, a->mode, a->data[0]);
  assert_true(a->len <= OV_APP_MAX);
  dht_recv(t->d[dst], t->m[from].id, a->key, a->data, a->len, t->now);
}

/* Runs every queued action to completion (bounded). */
static void pump(struct net *t) {
  for (unsigned round = 0; round < 100000; round++) {
    bool any = false;
    for (unsigned i = 0; i < N; i++) {
      if (!t->alive[i])
        continue;
      while (dht_poll(t->d[i], &t->act)) {
        any = true;
        if (t->act.kind == DHT_ACT_ROUTE) {
          deliver(t, i, &t->act);
        } else {
          assert_int_equal(t->act.kind, DHT_ACT_RESULT);
          assert_true(t->act.cookie < MAX_RESULTS);
          struct result *r = &t->res[t->act.cookie];
          r->got = true;
          r->status = t->act.status;
          r->rec = t->act.rec;
        }
      }
    }
    if (!any)
      return;
  }
  fail_msg("message storm: pump did not settle");
}

static void ring_update(struct net *t) {
  struct ov_ring_info ri;
  for (unsigned i = 0; i < N; i++) {
    if (!t->alive[i] || t->outside[i])
      continue;
    ring_info_of(t, i, &ri);
    dht_ring_changed(t->d[i], &ri, t->now);
  }
  pump(t);
}

/* Advances the clock to now + dt, firing every timer on the way. */
static void advance(struct net *t, uint64_t dt) {
  uint64_t end = t->now + dt;
  for (unsigned guard = 0; guard < 100000; guard++) {
    uint64_t next = RL_TIME_NEVER;
    for (unsigned i = 0; i < N; i++)
      if (t->alive[i]) {
        uint64_t x = dht_next_timer(t->d[i]);
        if (x < next)
          next = x;
      }
    if (next > end)
      break;
    if (next > t->now)
      t->now = next;
    for (unsigned i = 0; i < N; i++)
      if (t->alive[i] && dht_next_timer(t->d[i]) <= t->now)
        dht_on_timer(t->d[i], t->now);
    pump(t);
  }
  t->now = end;
}

static void start_node(struct net *t, unsigned i) {
  struct dht_config cfg;
  int err = -1;
  dht_config_default(&cfg);
  cfg.env = &t->env;
  memcpy(cfg.self_id, t->m[i].id, RL_ID_LEN);
  cfg.key = t->m[i].key;
  cfg.cert = t->m[i].cert;
  snprintf(cfg.group, sizeof(cfg.group), "%s", FIX_GROUP);
  memcpy(cfg.group_pk, t->group.pk, RL_PK_LEN);
  cfg.replicas = t->k;
  cfg.record_ttl_s = t->ttl_s;
  t->s[i] = dht_store_mem_new(1024);
  assert_non_null(t->s[i]);
  cfg.store = t->s[i];
  t->d[i] = dht_new(&cfg, &err);
  assert_non_null(t->d[i]);
  assert_int_equal(err, 0);
  t->alive[i] = true;
}

static void kill_node(struct net *t, unsigned i) {
  dht_free(t->d[i]);
  t->s[i]->ops->close(t->s[i]);
  t->d[i] = NULL;
  t->s[i] = NULL;
  t->alive[i] = false;
}

static struct net *net_new(unsigned k, uint64_t ttl_s, unsigned n_start) {
  struct net *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  fix_env_init(&t->env, &t->rng, &t->log, 23);
  t->env.log_level = RL_LOG_WARN;
  t->k = k;
  t->ttl_s = ttl_s;
  t->now = 1000 * NS_PER_S;
  assert_int_equal(id_generate(&t->group, &t->env), 0);
  for (unsigned i = 0; i < N; i++)
    assert_int_equal(
        fix_member_make(&t->m[i], &t->env, &t->group, FIX_GROUP, FIX_VIP(i + 1)), 0);
  sort_members(t);
  for (unsigned i = 0; i < n_start; i++)
    start_node(t, i);
  ring_update(t);
  return t;
}

static void net_free(struct net *t) {
  for (unsigned i = 0; i < N; i++)
    if (t->alive[i])
      kill_node(t, i);
  id_wipe(&t->group);
  free(t);
}

static void publish_all(struct net *t) {
  for (unsigned i = 0; i < N; i++) {
    if (!t->alive[i])
      continue;
    uint8_t ep[8] = {4, 198, 51, 100, (uint8_t)i, 0x11, 0x94, 0};
    assert_int_equal(dht_put_own(t->d[i], DHT_REC_VIP, NULL, 0, t->now), 0);
    assert_int_equal(dht_put_own(t->d[i], DHT_REC_NODE, ep, sizeof(ep), t->now), 0);
  }
  pump(t);
}

/* How many live nodes hold a live copy of key, and the highest seq seen. */
static unsigned holders(struct net *t, const uint8_t key[DHT_KEY_LEN], uint64_t *seq) {
  uint8_t buf[DHT_REC_MAX];
  struct dht_record r;
  unsigned n = 0;
  if (seq)
    *seq = 0;
  for (unsigned i = 0; i < N; i++) {
    if (!t->alive[i])
      continue;
    int len = t->s[i]->ops->get(t->s[i], key, buf, sizeof(buf));
    if (len > 0 && dht_record_decode(&r, buf, (size_t)len) == 0 &&
        r.expiry_s > rl_unix_s(&t->env, t->now)) {
      n++;
      if (seq && r.seq > *seq)
        *seq = r.seq;
    }
  }
  return n;
}

static void vip_key(unsigned i, uint8_t key[DHT_KEY_LEN]) {
  dht_key_vip(FIX_GROUP, FIX_VIP(i + 1), key);
}

/* dht_get from node `from`, pumped (and timers run up to `wait`). */
static struct result *get_from(struct net *t, unsigned from, const uint8_t key[DHT_KEY_LEN],
                               uint32_t cookie, uint64_t wait) {
  memset(&t->res[cookie], 0, sizeof(t->res[cookie]));
  assert_int_equal(dht_get(t->d[from], key, cookie, t->now), 0);
  pump(t);
  if (!t->res[cookie].got && wait)
    advance(t, wait);
  assert_true(t->res[cookie].got);
  return &t->res[cookie];
}

static void test_config_checks(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, 1);
  struct dht_config cfg;
  int err = 0;
  dht_config_default(&cfg);
  cfg.env = &t->env;
  memcpy(cfg.self_id, t->m[1].id, RL_ID_LEN);
  cfg.key = t->m[1].key;
  cfg.cert = t->m[1].cert;
  snprintf(cfg.group, sizeof(cfg.group), "%s", FIX_GROUP);
  memcpy(cfg.group_pk, t->group.pk, RL_PK_LEN);
  static const unsigned bad_k[] = {0, 1, 2, 9, 100};
  for (unsigned i = 0; i < sizeof(bad_k) / sizeof(bad_k[0]); i++) {
    cfg.replicas = bad_k[i];
    assert_null(dht_new(&cfg, &err));
    assert_int_equal(err, RL_EINVAL);
  }
  cfg.replicas = 3;
  cfg.self_id[0] ^= 1; /* not the certified node */
  assert_null(dht_new(&cfg, &err));
  assert_int_equal(err, RL_EINVAL);
  cfg.self_id[0] ^= 1;
  cfg.key = t->m[2].key; /* key of another member */
  assert_null(dht_new(&cfg, &err));
  cfg.key = t->m[1].key;
  struct dht *d = dht_new(&cfg, &err); /* own in-memory store */
  assert_non_null(d);
  assert_int_equal(dht_put_own(d, 9, NULL, 0, 0), RL_EINVAL);
  static uint8_t big[DHT_VALUE_MAX + 1];
  assert_int_equal(dht_put_own(d, DHT_REC_NODE, big, sizeof(big), 0), RL_ETOOBIG);
  dht_free(d);
  net_free(t);
}

/* A node alone owns everything: put and get are answered locally. */
static void test_single_node(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, 1);
  uint8_t key[DHT_KEY_LEN];
  struct dht_stats st;
  assert_int_equal(dht_put_own(t->d[0], DHT_REC_VIP, NULL, 0, t->now), 0);
  pump(t);
  dht_stats(t->d[0], &st);
  assert_int_equal(st.own_acked, 1);
  assert_int_equal(st.records, 1);
  vip_key(0, key);
  struct result *r = get_from(t, 0, key, 1, 0);
  assert_int_equal(r->status, 0);
  assert_memory_equal(r->rec.value, t->m[0].id, RL_ID_LEN);
  vip_key(5, key);
  r = get_from(t, 0, key, 2, 0);
  assert_int_equal(r->status, RL_ENOENT);
  net_free(t);
}

/* Every record has exactly k holders (at least k when `exact` is false:
 * after joins, former holders keep their copy until it expires). */
static void check_all_resolvable(struct net *t, unsigned k, bool exact) {
  uint8_t key[DHT_KEY_LEN];
  unsigned cookie = 0;
  for (unsigned i = 0; i < N; i++) {
    if (!t->alive[i])
      continue;
    vip_key(i, key);
    if (exact)
      assert_int_equal(holders(t, key, NULL), k);
    else
      assert_true(holders(t, key, NULL) >= k);
    dht_key_node(FIX_GROUP, t->m[i].id, key);
    if (exact)
      assert_int_equal(holders(t, key, NULL), k);
    else
      assert_true(holders(t, key, NULL) >= k);
  }
  /* From every node, look up a few others' VIPs. */
  for (unsigned from = 0; from < N; from++) {
    if (!t->alive[from])
      continue;
    for (unsigned j = 0; j < N; j += 5) {
      unsigned i = (from + j + 1) % N;
      if (!t->alive[i])
        continue;
      vip_key(i, key);
      struct result *r = get_from(t, from, key, cookie++ % MAX_RESULTS, 0);
      assert_int_equal(r->status, 0);
      assert_memory_equal(r->rec.value, t->m[i].id, RL_ID_LEN);
      assert_memory_equal(r->rec.key, key, DHT_KEY_LEN);
    }
  }
}

static void test_put_get_any_node(void **state) {
  (void)state;
  static const unsigned ks[] = {3, 4, 8};
  for (unsigned x = 0; x < 3; x++) {
    struct net *t = net_new(ks[x], DHT_RECORD_TTL_S, N);
    struct dht_stats st;
    publish_all(t);
    for (unsigned i = 0; i < N; i++) {
      dht_stats(t->d[i], &st);
      assert_int_equal(st.own_acked, 2);
      assert_int_equal(st.rejected_invalid, 0);
    }
    check_all_resolvable(t, ks[x], true);
    /* The second lookup of the same key comes from the cache: no traffic. */
    uint8_t key[DHT_KEY_LEN];
    vip_key(3, key);
    get_from(t, 9, key, 60, 0);
    uint64_t before = t->delivered;
    struct result *r = get_from(t, 9, key, 61, 0);
    assert_int_equal(r->status, 0);
    assert_int_equal(t->delivered, before);
    net_free(t);
  }
}

/* Kill the owner of a key: its successor (a replica) takes over, pushes to
 * the new k-th replica, and the value stays resolvable. Twice. */
static void test_owner_killed(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  uint8_t key[DHT_KEY_LEN];
  publish_all(t);
  vip_key(6, key);
  for (int round = 0; round < 2; round++) {
    int owner = owner_of(t, key);
    assert_true(owner >= 0);
    kill_node(t, (unsigned)owner);
    assert_int_equal(holders(t, key, NULL), 3);
    ring_update(t);
    assert_int_equal(holders(t, key, NULL), 4); /* re-replicated */
    unsigned from = (unsigned)(owner + 3) % N;
    while (!t->alive[from])
      from = (from + 1) % N;
    dht_forget(t->d[from], key);
    struct result *r = get_from(t, from, key, 1, 0);
    assert_int_equal(r->status, 0);
    assert_memory_equal(r->rec.value, t->m[6].id, RL_ID_LEN);
  }
  net_free(t);
}

/* New nodes join: the new owner of a key gets it from the old owner. */
static void test_join_handover(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, 10);
  uint8_t key[DHT_KEY_LEN];
  publish_all(t);
  for (unsigned i = 10; i < N; i++)
    start_node(t, i);
  ring_update(t);
  for (unsigned i = 0; i < 10; i++) {
    vip_key(i, key);
    int owner = owner_of(t, key);
    uint8_t buf[DHT_REC_MAX];
    assert_true(t->s[owner]->ops->get(t->s[owner], key, buf, sizeof(buf)) > 0);
    assert_true(holders(t, key, NULL) >= 4);
  }
  publish_all(t); /* the newcomers publish too */
  check_all_resolvable(t, 4, false);
  net_free(t);
}

/* Higher seq wins; an older record replayed later is refused. */
static void test_seq_ordering(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  uint8_t key[DHT_KEY_LEN], v1[] = "v1-endpoints", v2[] = "v2-endpoints";
  uint8_t old[DHT_REC_MAX], msg[DHT_MSG_MAX];
  uint64_t seq1, seq2;
  struct dht_stats st;
  dht_key_node(FIX_GROUP, t->m[2].id, key);
  assert_int_equal(dht_put_own(t->d[2], DHT_REC_NODE, v1, sizeof(v1), t->now), 0);
  pump(t);
  assert_int_equal(holders(t, key, &seq1), 4);
  int owner = owner_of(t, key);
  int n_old = t->s[owner]->ops->get(t->s[owner], key, old, sizeof(old));
  assert_true(n_old > 0);

  t->now += NS_PER_S / 10; /* same second: seq must still grow */
  assert_int_equal(dht_put_own(t->d[2], DHT_REC_NODE, v2, sizeof(v2), t->now), 0);
  pump(t);
  assert_int_equal(holders(t, key, &seq2), 4);
  assert_true(seq2 > seq1);
  unsigned from = (unsigned)(owner + 5) % N;
  struct result *r = get_from(t, from, key, 3, 0);
  assert_int_equal(r->status, 0);
  assert_int_equal(r->rec.seq, seq2);
  assert_memory_equal(r->rec.value, v2, sizeof(v2));

  /* Replay the old version to the owner as a STORE and a REPLICATE. */
  dht_stats(t->d[owner], &st);
  uint64_t stale0 = st.rejected_stale;
  struct dht_msg m = {.type = DHT_MSG_STORE, .txid = 1, .rec = old, .rec_len = (size_t)n_old};
  int len = dht_msg_encode(&m, msg, sizeof(msg));
  assert_true(len > 0);
  assert_int_equal(dht_recv(t->d[owner], t->m[9].id, key, msg, (size_t)len, t->now), 0);
  m.type = DHT_MSG_REPLICATE;
  len = dht_msg_encode(&m, msg, sizeof(msg));
  assert_int_equal(dht_recv(t->d[owner], t->m[9].id, key, msg, (size_t)len, t->now), 0);
  pump(t);
  dht_stats(t->d[owner], &st);
  assert_int_equal(st.rejected_stale, stale0 + 2);
  /* Anti-entropy: the owner answered the stale REPLICATE with its newer
   * copy, so node 9 now holds the current version too. */
  {
    uint8_t buf[DHT_REC_MAX];
    struct dht_record held;
    int hl = t->s[9]->ops->get(t->s[9], key, buf, sizeof(buf));
    assert_true(hl > 0);
    assert_int_equal(dht_record_decode(&held, buf, (size_t)hl), 0);
    assert_true(held.seq == seq2);
    /* The very record the owner holds, pushed again, is taken as known
     * without verifying it again; the same bytes with one bit flipped are
     * verified and refused. */
    dht_stats(t->d[owner], &st);
    uint64_t same0 = st.same_again, stored0 = st.stored, bad0 = st.rejected_invalid;
    struct dht_msg rp = {.type = DHT_MSG_REPLICATE, .txid = 2, .rec = buf, .rec_len = (size_t)hl};
    len = dht_msg_encode(&rp, msg, sizeof(msg));
    assert_int_equal(dht_recv(t->d[owner], t->m[9].id, key, msg, (size_t)len, t->now), 0);
    buf[hl - 1] ^= 0x01; /* inside the record's signature */
    len = dht_msg_encode(&rp, msg, sizeof(msg));
    assert_int_equal(dht_recv(t->d[owner], t->m[9].id, key, msg, (size_t)len, t->now), 0);
    pump(t);
    dht_stats(t->d[owner], &st);
    assert_int_equal(st.same_again, same0 + 1);
    assert_int_equal(st.stored, stored0);
    assert_int_equal(st.rejected_invalid, bad0 + 1);
  }
  dht_forget(t->d[from], key);
  r = get_from(t, from, key, 4, 0);
  assert_int_equal(r->rec.seq, seq2);
  net_free(t);
}

/* Sequence numbers near UINT64_MAX. A storer's forged STALE answer
 * claiming seq UINT64_MAX - 1 or UINT64_MAX must not push the owner to
 * UINT64_MAX (or wrap it to 0): its next versions would be refused as stale
 * everywhere while that version lives. And a record with seq UINT64_MAX
 * (a stolen key) is refused by storers, so it cannot pin the key. The
 * owner's updates keep working throughout. */
static void test_seq_near_max(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  uint8_t key[DHT_KEY_LEN], v1[] = "v1-endpoints", v2[] = "v2-endpoints";
  uint8_t enc[DHT_REC_MAX], msg[DHT_MSG_MAX], evil[] = "evil";
  static const uint64_t CLAIMS[] = {UINT64_MAX - 1, UINT64_MAX};
  struct dht_record rec;
  struct dht_stats st;
  uint64_t seq1, seq2, max;
  unsigned me = 2;
  int owner, len;
  dht_key_node(FIX_GROUP, t->m[me].id, key);
  owner = owner_of(t, key);
  if (owner == (int)me) { /* the STORE must travel: pick another member */
    me = 3;
    dht_key_node(FIX_GROUP, t->m[me].id, key);
    owner = owner_of(t, key);
  }
  assert_int_not_equal(owner, (int)me);
  max = dht_record_seq_max(rl_unix_s(&t->env, t->now));

  assert_int_equal(dht_put_own(t->d[me], DHT_REC_NODE, v1, sizeof(v1), t->now), 0);
  struct dht_own *o = &t->d[me]->own[1];
  uint64_t seq0 = o->seq;
  assert_true(seq0 <= max);
  for (size_t i = 0; i < 2; i++) {
    struct dht_msg a = {.type = DHT_MSG_STORE_ACK, .txid = o->txid, .status = DHT_ST_STALE,
                        .seq = CLAIMS[i]};
    memcpy(a.key, key, DHT_KEY_LEN);
    len = dht_msg_encode(&a, msg, sizeof(msg));
    assert_true(len > 0);
    assert_int_equal(dht_recv(t->d[me], t->m[owner].id, t->m[me].id, msg, (size_t)len, t->now),
                     0);
    assert_true(o->seq == seq0); /* not followed */
  }
  pump(t);
  assert_int_equal(holders(t, key, &seq1), 4);
  assert_true(seq1 == seq0);

  /* A record at seq UINT64_MAX signed with the member's own key: refused
   * by the owner (STORE) and by every replica (REPLICATE). */
  dht_stats(t->d[owner], &st);
  uint64_t bad0 = st.rejected_invalid;
  assert_int_equal(dht_record_make(&rec, DHT_REC_NODE, &t->m[me].cert, &t->m[me].key,
                                   UINT64_MAX, rl_unix_s(&t->env, t->now) + 600, evil,
                                   sizeof(evil)),
                   0);
  int n = dht_record_encode(&rec, enc, sizeof(enc));
  struct dht_msg m = {.type = DHT_MSG_STORE, .txid = 77, .rec = enc, .rec_len = (size_t)n};
  len = dht_msg_encode(&m, msg, sizeof(msg));
  assert_int_equal(dht_recv(t->d[owner], t->m[9].id, key, msg, (size_t)len, t->now), 0);
  m.type = DHT_MSG_REPLICATE;
  len = dht_msg_encode(&m, msg, sizeof(msg));
  for (unsigned i = 0; i < N; i++)
    if (t->alive[i])
      dht_recv(t->d[i], t->m[9].id, key, msg, (size_t)len, t->now);
  pump(t);
  dht_stats(t->d[owner], &st);
  assert_int_equal(st.rejected_invalid, bad0 + 2);
  assert_int_equal(holders(t, key, &seq2), 4);
  assert_true(seq2 == seq1);

  /* The owner's next version (same second) still replaces the first. */
  t->now += NS_PER_S / 10;
  assert_int_equal(dht_put_own(t->d[me], DHT_REC_NODE, v2, sizeof(v2), t->now), 0);
  pump(t);
  assert_int_equal(holders(t, key, &seq2), 4);
  assert_true(seq2 == seq1 + 1);
  struct result *r = get_from(t, (unsigned)(owner + 5) % N, key, 3, 0);
  assert_int_equal(r->status, 0);
  assert_memory_equal(r->rec.value, v2, sizeof(v2));
  net_free(t);
}

/* Records live until expiry; the writer refreshes them at half-life; a
 * dead writer's records are swept once expired. */
static void test_expiry_and_refresh(void **state) {
  (void)state;
  struct net *t = net_new(4, 600, N);
  uint8_t key5[DHT_KEY_LEN], key7[DHT_KEY_LEN];
  uint64_t seq0, seq1;
  publish_all(t);
  vip_key(5, key5);
  vip_key(7, key7);
  assert_int_equal(holders(t, key5, &seq0), 4);
  kill_node(t, 7); /* the writer of key7 dies; nobody refreshes it */
  ring_update(t);

  advance(t, 400 * NS_PER_S); /* past half-life: node 5 re-published */
  assert_int_equal(holders(t, key5, &seq1), 4);
  assert_true(seq1 > seq0);
  assert_int_equal(holders(t, key7, NULL), 4); /* not expired yet */
  unsigned from = 0;
  struct result *r = get_from(t, from, key7, 5, 0);
  assert_int_equal(r->status, 0);

  advance(t, 300 * NS_PER_S); /* 700 s: key7 expired, swept */
  assert_int_equal(holders(t, key7, NULL), 0);
  size_t left = 0;
  for (unsigned i = 0; i < N; i++) {
    uint8_t buf[DHT_REC_MAX];
    if (t->alive[i] && t->s[i]->ops->get(t->s[i], key7, buf, sizeof(buf)) > 0)
      left++;
  }
  assert_int_equal(left, 0);
  r = get_from(t, 3, key7, 6, 0);
  assert_int_equal(r->status, RL_ENOENT);
  r = get_from(t, 3, key5, 7, 0);
  assert_int_equal(r->status, 0);

  advance(t, 3 * 3600 * NS_PER_S); /* many refreshes later, still there */
  dht_forget(t->d[3], key5);
  r = get_from(t, 3, key5, 8, 0);
  assert_int_equal(r->status, 0);
  assert_int_equal(holders(t, key5, NULL), 4);
  net_free(t);
}

/* Two certificates for the same VIP (an admin mistake): the first claim
 * holds; the second member's record is refused everywhere. A member that
 * signs a claim for another member's VIP with its own cert is refused. */
static void test_duplicate_vip_refused(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  struct fix_member imp;
  struct dht_record rec;
  uint8_t enc[DHT_REC_MAX], msg[DHT_MSG_MAX], key[DHT_KEY_LEN];
  struct dht_stats st;
  publish_all(t);
  vip_key(4, key);
  /* Same VIP as member 4, different node key, the highest seq accepted. */
  assert_int_equal(fix_member_make(&imp, &t->env, &t->group, FIX_GROUP, FIX_VIP(5)), 0);
  assert_int_equal(dht_record_make(&rec, DHT_REC_VIP, &imp.cert, &imp.key,
                                   dht_record_seq_max(rl_unix_s(&t->env, t->now)),
                                   rl_unix_s(&t->env, t->now) + 600,
                                   imp.id, RL_ID_LEN),
                   0);
  assert_memory_equal(rec.key, key, DHT_KEY_LEN);
  int n = dht_record_encode(&rec, enc, sizeof(enc));
  struct dht_msg m = {.type = DHT_MSG_STORE, .txid = 7, .rec = enc, .rec_len = (size_t)n};
  int len = dht_msg_encode(&m, msg, sizeof(msg));
  int owner = owner_of(t, key);
  dht_stats(t->d[owner], &st);
  uint64_t c0 = st.rejected_conflict;
  assert_int_equal(dht_recv(t->d[owner], imp.id, key, msg, (size_t)len, t->now), 0);
  pump(t);
  dht_stats(t->d[owner], &st);
  assert_int_equal(st.rejected_conflict, c0 + 1);
  /* Also refused by a replica receiving it as REPLICATE. */
  m.type = DHT_MSG_REPLICATE;
  len = dht_msg_encode(&m, msg, sizeof(msg));
  for (unsigned i = 0; i < N; i++)
    if (t->alive[i])
      dht_recv(t->d[i], imp.id, key, msg, (size_t)len, t->now);
  pump(t);
  struct result *r = get_from(t, 11, key, 9, 0);
  assert_int_equal(r->status, 0);
  assert_memory_equal(r->rec.value, t->m[4].id, RL_ID_LEN);

  /* Member 3 claims member 8's VIP with its own (valid) certificate. */
  assert_int_equal(dht_record_make(&rec, DHT_REC_VIP, &t->m[3].cert, &t->m[3].key, 1,
                                   rl_unix_s(&t->env, t->now) + 600, t->m[3].id, RL_ID_LEN),
                   0);
  vip_key(8, rec.key);
  assert_int_equal(dht_record_sign(&rec, &t->m[3].key), 0);
  n = dht_record_encode(&rec, enc, sizeof(enc));
  m.type = DHT_MSG_STORE;
  m.rec_len = (size_t)n;
  len = dht_msg_encode(&m, msg, sizeof(msg));
  owner = owner_of(t, rec.key);
  dht_stats(t->d[owner], &st);
  uint64_t inv0 = st.rejected_invalid;
  assert_int_equal(dht_recv(t->d[owner], t->m[3].id, rec.key, msg, (size_t)len, t->now), 0);
  pump(t);
  dht_stats(t->d[owner], &st);
  assert_int_equal(st.rejected_invalid, inv0 + 1);
  dht_forget(t->d[11], rec.key);
  r = get_from(t, 11, rec.key, 10, 0);
  assert_memory_equal(r->rec.value, t->m[8].id, RL_ID_LEN);
  net_free(t);
}

/* A revocation of member m signed by the group key. */
static void revoke_member(struct net *t, unsigned m, struct revocation *rv) {
  memset(rv, 0, sizeof(*rv));
  rv->version = 1;
  strcpy(rv->group, FIX_GROUP);
  memcpy(rv->node_id, t->m[m].id, RL_ID_LEN);
  rv->revoked_at = FIX_UNIX0;
  assert_int_equal(revoke_sign(rv, &t->group), 0);
}

/* A revoked member (docs/security.md, "Revocation"): its records are
 * refused at STORE, its VIP claim still held by the storer no longer blocks
 * a new member certified for the same VIP, and dht_drop_owner removes its
 * records from every store. */
static void test_revoked_owner(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  struct revoke_set set = {0};
  struct revocation rv;
  struct fix_member nw;
  struct dht_record rec;
  struct dht_stats st;
  uint8_t enc[DHT_REC_MAX], msg[DHT_MSG_MAX], key[DHT_KEY_LEN], nkey[DHT_KEY_LEN];
  uint64_t unix_s, inv0, conf0;
  unsigned dropped = 0;
  int n, len, owner;
  publish_all(t);
  for (unsigned i = 0; i < N; i++)
    if (t->alive[i])
      t->d[i]->cfg.revoked = &set;
  revoke_member(t, 4, &rv);
  assert_int_equal(revoke_set_add(&set, &rv), 1);
  unix_s = rl_unix_s(&t->env, t->now);
  vip_key(4, key);
  owner = owner_of(t, key);

  /* Member 4 stores its VIP record again (a newer version): refused. */
  assert_int_equal(dht_record_make(&rec, DHT_REC_VIP, &t->m[4].cert, &t->m[4].key,
                                   dht_record_seq_max(unix_s), unix_s + 600, t->m[4].id,
                                   RL_ID_LEN), 0);
  n = dht_record_encode(&rec, enc, sizeof(enc));
  struct dht_msg m = {.type = DHT_MSG_STORE, .txid = 7, .rec = enc, .rec_len = (size_t)n};
  len = dht_msg_encode(&m, msg, sizeof(msg));
  dht_stats(t->d[owner], &st);
  inv0 = st.rejected_invalid;
  conf0 = st.rejected_conflict;
  assert_int_equal(dht_recv(t->d[owner], t->m[4].id, key, msg, (size_t)len, t->now), 0);
  pump(t);
  dht_stats(t->d[owner], &st);
  assert_int_equal(st.rejected_invalid, inv0 + 1);

  /* A new key certified for member 4's VIP: its claim is taken although
   * member 4's record (with a higher seq) still lives at the owner. */
  assert_int_equal(fix_member_make(&nw, &t->env, &t->group, FIX_GROUP, FIX_VIP(5)), 0);
  assert_int_equal(dht_record_make(&rec, DHT_REC_VIP, &nw.cert, &nw.key, 1, unix_s + 600,
                                   nw.id, RL_ID_LEN), 0);
  n = dht_record_encode(&rec, enc, sizeof(enc));
  m.rec_len = (size_t)n;
  len = dht_msg_encode(&m, msg, sizeof(msg));
  assert_int_equal(dht_recv(t->d[owner], nw.id, key, msg, (size_t)len, t->now), 0);
  pump(t);
  dht_stats(t->d[owner], &st);
  assert_int_equal(st.rejected_conflict, conf0);
  dht_forget(t->d[11], key);
  struct result *r = get_from(t, 11, key, 9, 0);
  assert_int_equal(r->status, 0);
  assert_memory_equal(r->rec.value, nw.id, RL_ID_LEN);

  /* Dropping: no store keeps member 4's NODE record. */
  dht_key_node(FIX_GROUP, t->m[4].id, nkey);
  assert_true(holders(t, nkey, NULL) > 0);
  for (unsigned i = 0; i < N; i++)
    if (t->alive[i])
      dropped += dht_drop_owner(t->d[i], t->m[4].id);
  assert_true(dropped > 0);
  assert_int_equal(holders(t, nkey, NULL), 0);
  for (unsigned i = 0; i < N; i++)
    if (t->alive[i])
      t->d[i]->cfg.revoked = NULL;
  revoke_set_free(&set);
  net_free(t);
}

/* The revoked-owner check on lookup answers: the storers of member 4's
 * records do not know the revocation (nobody told them), the asker does.
 * Their GET_REPLY carries a valid, signed record of member 4: the asker
 * refuses it (rejected_invalid), asks the other replicas, which answer the
 * same, and ends with RL_ENOENT instead of member 4's address. Another
 * member's record is still found. */
static void test_lookup_answer_of_revoked_owner(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  struct revoke_set set = {0};
  struct revocation rv;
  struct dht_stats st;
  uint8_t key[DHT_KEY_LEN];
  unsigned asker = 0;
  publish_all(t);
  vip_key(4, key);
  /* An asker that holds no copy of member 4's VIP record. */
  for (unsigned i = 0; i < N; i++) {
    uint8_t buf[DHT_REC_MAX];
    if (i != 4 && t->s[i]->ops->get(t->s[i], key, buf, sizeof(buf)) == RL_ENOENT) {
      asker = i;
      break;
    }
  }
  assert_true(asker != 4);
  struct result *r = get_from(t, asker, key, 1, 0);
  assert_int_equal(r->status, 0); /* found while not revoked */
  revoke_member(t, 4, &rv);
  assert_int_equal(revoke_set_add(&set, &rv), 1);
  t->d[asker]->cfg.revoked = &set;
  dht_forget(t->d[asker], key);
  dht_stats(t->d[asker], &st);
  uint64_t inv0 = st.rejected_invalid;
  r = get_from(t, asker, key, 2, 4 * DHT_RPC_TIMEOUT_NS);
  assert_int_equal(r->status, RL_ENOENT);
  dht_stats(t->d[asker], &st);
  assert_true(st.rejected_invalid >= inv0 + 1);
  vip_key(5, key);
  r = get_from(t, asker, key, 3, 4 * DHT_RPC_TIMEOUT_NS);
  assert_int_equal(r->status, 0);
  t->d[asker]->cfg.revoked = NULL;
  revoke_set_free(&set);
  net_free(t);
}

/* How many live nodes hold a revocation record at key. */
static unsigned revocation_holders(struct net *t, const uint8_t key[DHT_KEY_LEN]) {
  uint8_t buf[DHT_REC_MAX];
  struct dht_record r;
  unsigned n = 0;
  for (unsigned i = 0; i < N; i++) {
    if (!t->alive[i])
      continue;
    int len = t->s[i]->ops->get(t->s[i], key, buf, sizeof(buf));
    if (len > 0 && dht_record_decode(&r, buf, (size_t)len) == 0 &&
        r.type == DHT_REC_REVOCATION)
      n++;
  }
  return n;
}

/* Sends one STORE of rec to the owner of its key as if from member `from`;
 * returns the owner's stats after. */
static void store_at_owner(struct net *t, unsigned from, const struct dht_record *rec,
                           struct dht_stats *st) {
  uint8_t enc[DHT_REC_MAX], msg[DHT_MSG_MAX];
  int n = dht_record_encode(rec, enc, sizeof(enc));
  assert_true(n > 0);
  struct dht_msg m = {.type = DHT_MSG_STORE, .txid = 77, .rec = enc, .rec_len = (size_t)n};
  int len = dht_msg_encode(&m, msg, sizeof(msg));
  int owner = owner_of(t, rec->key);
  assert_true(len > 0 && owner >= 0);
  assert_int_equal(dht_recv(t->d[owner], t->m[from].id, rec->key, msg, (size_t)len, t->now), 0);
  pump(t);
  dht_stats(t->d[owner], st);
}

/* The DHT copy of a revocation (docs/dht.md, "Revocation records"): no
 * member's revocation set knows it (the flood never reached anyone), one
 * member publishes it, and a lookup of the revoked member's NODE key from
 * anywhere answers the revocation instead of the NODE record. It is
 * immutable: republishing is idempotent, the revoked member cannot put its
 * NODE record back, forged or misplaced ones are refused, and it survives
 * the death of its key's owner (replicas). */
static void test_revocation_record(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  struct revocation rv, other;
  struct id_key rogue;
  struct dht_record rec, bad;
  struct dht_stats st;
  uint8_t bin[REVOKE_BIN_MAX], nkey[DHT_KEY_LEN];
  uint64_t stored0, same0, conf0;
  int blen, owner;
  publish_all(t);
  dht_key_node(FIX_GROUP, t->m[4].id, nkey);
  struct result *r = get_from(t, 11, nkey, 1, 0);
  assert_int_equal(r->status, 0);
  assert_int_equal(r->rec.type, DHT_REC_NODE);

  revoke_member(t, 4, &rv);
  blen = revoke_encode_bin(&rv, bin, sizeof(bin));
  assert_true(blen > 0);

  /* Member 2 publishes: the owner of member 4's NODE key and its replicas
   * now hold the revocation in place of the NODE record. */
  owner = owner_of(t, nkey);
  dht_stats(t->d[owner], &st);
  stored0 = st.stored;
  assert_int_equal(dht_put_revocation(t->d[2], bin, (size_t)blen, t->now), 0);
  pump(t);
  assert_int_equal(revocation_holders(t, nkey), 4);
  dht_stats(t->d[owner], &st);
  assert_int_equal(st.stored, stored0 + 1);
  assert_int_equal(st.revocations_stored, 1);
  dht_stats(t->d[2], &st);
  assert_int_equal(st.revocations_published, 1);
  assert_int_equal(st.revocations_acked, owner == 2 ? 0 : 1);
  assert_int_equal(st.msgs_bad, 0);

  /* A lookup of member 4 (from a node whose cache is fresh) finds it. */
  dht_forget(t->d[11], nkey);
  r = get_from(t, 11, nkey, 2, 0);
  assert_int_equal(r->status, 0);
  assert_int_equal(r->rec.type, DHT_REC_REVOCATION);
  assert_int_equal(r->rec.value_len, blen);
  assert_memory_equal(r->rec.value, bin, (size_t)blen);
  /* Cached without expiry trouble: answered again at once. */
  r = get_from(t, 11, nkey, 3, 0);
  assert_int_equal(r->rec.type, DHT_REC_REVOCATION);

  /* Idempotent: another member publishing the same one changes nothing. */
  dht_stats(t->d[owner], &st);
  stored0 = st.stored;
  same0 = st.same_again;
  assert_int_equal(dht_put_revocation(t->d[7], bin, (size_t)blen, t->now), 0);
  pump(t);
  dht_stats(t->d[owner], &st);
  assert_int_equal(st.stored, stored0);
  assert_int_equal(st.same_again, same0 + 1);
  /* Another valid revocation of the same ID (a later signature): the first
   * stays, acknowledged without a check. */
  other = rv;
  other.revoked_at = FIX_UNIX0 + 5;
  assert_int_equal(revoke_sign(&other, &t->group), 0);
  assert_int_equal(dht_record_make_revocation(&rec, bin, (size_t)blen), 0);
  uint8_t bin2[REVOKE_BIN_MAX];
  int blen2 = revoke_encode_bin(&other, bin2, sizeof(bin2));
  assert_int_equal(dht_record_make_revocation(&bad, bin2, (size_t)blen2), 0);
  store_at_owner(t, 7, &bad, &st);
  assert_int_equal(st.stored, stored0);
  dht_forget(t->d[11], nkey);
  r = get_from(t, 11, nkey, 4, 0);
  assert_memory_equal(r->rec.value, bin, (size_t)blen);

  /* The revoked member puts its NODE record back: refused everywhere. */
  conf0 = st.rejected_conflict;
  uint8_t ep[8] = {4, 198, 51, 100, 4, 0x11, 0x94, 0};
  assert_int_equal(dht_put_own(t->d[4], DHT_REC_NODE, ep, sizeof(ep), t->now), 0);
  pump(t);
  dht_stats(t->d[owner], &st);
  assert_int_equal(st.rejected_conflict, conf0 + (owner == 4 ? 0 : 1));
  assert_int_equal(revocation_holders(t, nkey), 4);

  /* Forged and misplaced ones: refused, nothing stored. */
  assert_int_equal(id_generate(&rogue, &t->env), 0);
  other = rv;
  memcpy(other.node_id, t->m[5].id, RL_ID_LEN);
  assert_int_equal(revoke_sign(&other, &rogue), 0); /* not the group key */
  blen2 = revoke_encode_bin(&other, bin2, sizeof(bin2));
  assert_int_equal(dht_record_make_revocation(&bad, bin2, (size_t)blen2), 0);
  assert_int_equal(dht_record_verify(&bad, FIX_GROUP, t->group.pk, FIX_UNIX0, NULL),
                   RL_EFOREIGN);
  store_at_owner(t, 3, &bad, &st);
  assert_int_equal(revocation_holders(t, bad.key), 0);
  bad = rec; /* member 4's valid revocation moved to member 5's key */
  dht_key_node(FIX_GROUP, t->m[5].id, bad.key);
  assert_int_equal(dht_record_verify(&bad, FIX_GROUP, t->group.pk, FIX_UNIX0, NULL),
                   RL_EREFUSED);
  store_at_owner(t, 3, &bad, &st);
  assert_int_equal(revocation_holders(t, bad.key), 0);
  bad = rec;
  bad.seq = 5; /* fixed fields */
  assert_int_equal(dht_record_verify(&bad, FIX_GROUP, t->group.pk, FIX_UNIX0, NULL),
                   RL_EINVAL);
  bad = rec;
  bad.expiry_s = FIX_UNIX0 + 60;
  assert_int_equal(dht_record_verify(&bad, FIX_GROUP, t->group.pk, FIX_UNIX0, NULL),
                   RL_EINVAL);
  bad = rec;
  bad.value[bad.value_len - 1] ^= 1; /* group signature broken */
  assert_int_equal(dht_record_verify(&bad, FIX_GROUP, t->group.pk, FIX_UNIX0, NULL),
                   RL_EAUTH);
  assert_int_equal(dht_record_verify_untimed(&rec, FIX_GROUP, t->group.pk), 0);
  assert_int_equal(dht_record_verify(&rec, FIX_GROUP, t->group.pk, FIX_UNIX0 + 400 * 86400ULL,
                                     NULL), 0); /* no expiry */
  id_wipe(&rogue);

  /* Its key's owner dies: the replicas carry it on (and the sweep, far in
   * the future, keeps it). */
  kill_node(t, (unsigned)owner);
  ring_update(t);
  advance(t, 2 * DHT_SWEEP_NS);
  assert_true(revocation_holders(t, nkey) >= 3);
  unsigned from = owner == 11 ? 12 : 11;
  dht_forget(t->d[from], nkey);
  r = get_from(t, from, nkey, 5, 4 * DHT_RPC_TIMEOUT_NS);
  assert_int_equal(r->status, 0);
  assert_int_equal(r->rec.type, DHT_REC_REVOCATION);
  net_free(t);
}

/* The owner stops answering (still in everyone's ring view): a node that
 * knows the replica set from an earlier answer falls back to the replicas
 * after DHT_RPC_TIMEOUT_NS. With every holder silent the lookup times out
 * after the bounded attempts. */
static void test_get_falls_back_to_replicas(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  uint8_t key[DHT_KEY_LEN];
  publish_all(t);
  vip_key(12, key);
  int owner = owner_of(t, key);
  /* A node 4 places after the owner: its 8 successors do not reach round
   * to the owner, so it cannot name the replica set from its own view. */
  unsigned pos = 0;
  while (t->order[pos] != (unsigned)owner)
    pos++;
  unsigned from = t->order[(pos + 4) % N];
  struct result *r = get_from(t, from, key, 11, 0); /* learns the replica set */
  assert_int_equal(r->status, 0);
  dht_forget(t->d[from], key); /* drops the record, not the hints */

  t->mute[owner] = true;
  uint64_t t0 = t->now;
  r = get_from(t, from, key, 12, 10 * NS_PER_S);
  assert_int_equal(r->status, 0);
  assert_memory_equal(r->rec.value, t->m[12].id, RL_ID_LEN);
  assert_true(t->now - t0 >= DHT_RPC_TIMEOUT_NS);

  /* The owner answers again but lost its copy: its NOT_FOUND names the
   * replicas, which are asked next. */
  t->mute[owner] = false;
  assert_int_equal(t->s[owner]->ops->del(t->s[owner], key), 0);
  unsigned from2 = t->order[(pos + 5) % N]; /* no hints: routes to the owner */
  uint64_t nf0 = t->delivered;
  r = get_from(t, from2, key, 14, 0);
  assert_int_equal(r->status, 0);
  assert_memory_equal(r->rec.value, t->m[12].id, RL_ID_LEN);
  assert_int_equal(t->delivered - nf0, 4); /* GET, NOT_FOUND, GET, GET_REPLY */

  /* All holders silent: ETIMEDOUT after DHT_GET_ATTEMPTS timeouts. */
  uint8_t holders_id[N];
  unsigned nh = 0;
  for (unsigned i = 0; i < N; i++) {
    uint8_t buf[DHT_REC_MAX];
    if (t->alive[i] && t->s[i]->ops->get(t->s[i], key, buf, sizeof(buf)) > 0)
      holders_id[nh++] = (uint8_t)i;
  }
  for (unsigned i = 0; i < nh; i++)
    t->mute[holders_id[i]] = true;
  t->mute[owner] = true; /* it lost its copy above, but must not answer */
  dht_forget(t->d[from], key);
  memset(&t->res[13], 0, sizeof(t->res[13]));
  t0 = t->now;
  assert_int_equal(dht_get(t->d[from], key, 13, t->now), 0);
  pump(t);
  advance(t, 60 * NS_PER_S);
  assert_true(t->res[13].got);
  assert_int_equal(t->res[13].status, RL_ETIMEDOUT);
  struct dht_stats st;
  dht_stats(t->d[from], &st);
  assert_int_equal(st.gets_timeout, 1);
  net_free(t);
}

/* The owner of a key (by its view of the ring) that holds no copy asks
 * its replicas before answering "not found": ownership can move to a node
 * ahead of the handover (a join, a view not yet everyone's). Before, the
 * lookup failed at once, locally (nat_pairs.sh: "NODE lookup ... failed
 * after 0 ms: not found", a member left unresolvable). A key nobody holds
 * still ends RL_ENOENT, after the replicas said so. */
static void test_owner_without_copy_asks_replicas(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  uint8_t key[DHT_KEY_LEN];
  publish_all(t);
  vip_key(12, key);
  int owner = owner_of(t, key);
  assert_true(owner >= 0);
  assert_int_equal(t->s[owner]->ops->del(t->s[owner], key), 0);
  uint64_t d0 = t->delivered;
  struct result *r = get_from(t, (unsigned)owner, key, 15, 10 * NS_PER_S);
  assert_int_equal(r->status, 0);
  assert_memory_equal(r->rec.value, t->m[12].id, RL_ID_LEN);
  assert_int_equal(t->delivered - d0, 2); /* GET to the first replica, GET_REPLY */
  /* nobody holds it: the replicas say so */
  for (unsigned i = 0; i < N; i++)
    if (t->alive[i])
      (void)t->s[i]->ops->del(t->s[i], key);
  dht_forget(t->d[owner], key); /* (the first answer is cached) */
  r = get_from(t, (unsigned)owner, key, 16, 10 * NS_PER_S);
  assert_int_equal(r->status, RL_ENOENT);
  net_free(t);
}

/* A STORE that ends at a node whose view says another node owns the key
 * (a new member's FINAL hop to its bootstrap node while the ring
 * converges) is handed on to the owner at once: the record is at the
 * owner and its replicas, and resolvable, without waiting for the
 * anti-entropy pass (60 s). Before the fix it stayed at the wrong node
 * (and that node's successors) until then. */
static void test_misrouted_store_handed_on(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  uint8_t key[DHT_KEY_LEN];
  struct dht_stats st;
  vip_key(6, key); /* member 6's VIP record */
  int owner = owner_of(t, key);
  assert_true(owner >= 0);
  /* The node half a ring away from the owner. */
  unsigned pos = 0;
  for (unsigned i = 0; i < N; i++)
    if (t->order[i] == (unsigned)owner)
      pos = i;
  unsigned wrong = t->order[(pos + N / 2) % N];
  assert_true(wrong != (unsigned)owner && wrong != 6);
  t->misroute_to = (int)wrong;
  t->misroute_n = 1;
  assert_int_equal(dht_put_own(t->d[6], DHT_REC_VIP, NULL, 0, t->now), 0);
  pump(t);
  assert_int_equal(t->misroute_n, 0);
  dht_stats(t->d[wrong], &st);
  assert_int_equal(st.handed_on, 1);
  /* The owner and its 3 successors hold it (the wrong node too). */
  for (unsigned j = 0; j < 4; j++) {
    unsigned m = t->order[(pos + j) % N];
    uint8_t buf[DHT_REC_MAX];
    if (t->s[m]->ops->get(t->s[m], key, buf, sizeof(buf)) <= 0)
      fail_msg("replica %u (node %u) lacks the record", j, m);
  }
  /* Resolvable from the owner's predecessor's side, within no time. */
  unsigned asker = t->order[(pos + N - 3) % N];
  struct result *r = get_from(t, asker, key, 20, 2 * NS_PER_S);
  assert_int_equal(r->status, 0);
  net_free(t);
}

/* A hand-over that ends at a node which already holds the record and does
 * not own the key (its own hand-over delivered back to it by its overlay
 * while the ring converged) is tried again once the ring has been still
 * for DHT_SETTLE_NS: the owner gets the record and fills its replicas,
 * and the first try does not bounce. */
static void test_handover_back_to_sender_retried(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  uint8_t key[DHT_KEY_LEN], rec[DHT_REC_MAX], msg[DHT_MSG_MAX];
  struct dht_stats st;
  publish_all(t);
  vip_key(3, key);
  int owner = owner_of(t, key);
  unsigned pos = 0;
  for (unsigned i = 0; i < N; i++)
    if (t->order[i] == (unsigned)owner)
      pos = i;
  /* Only a node far from the key still holds the record. */
  unsigned h = t->order[(pos + N / 2) % N];
  int len = t->s[owner]->ops->get(t->s[owner], key, rec, sizeof(rec));
  assert_true(len > 0);
  for (unsigned i = 0; i < N; i++)
    if (i != h)
      (void)t->s[i]->ops->del(t->s[i], key);
  assert_int_equal(t->s[h]->ops->put(t->s[h], key, rec, (size_t)len), 0);
  /* Its own hand-over comes back to it (routed to the key). */
  struct dht_msg m = {.type = DHT_MSG_REPLICATE, .txid = 9, .rec = rec, .rec_len = (size_t)len};
  int n = dht_msg_encode(&m, msg, sizeof(msg));
  assert_true(n > 0);
  uint64_t d0 = t->delivered;
  assert_int_equal(dht_recv(t->d[h], t->m[h].id, key, msg, (size_t)n, t->now), 0);
  pump(t);
  assert_int_equal(t->delivered, d0); /* nothing sent at once */
  advance(t, DHT_SETTLE_NS + NS_PER_S);
  dht_stats(t->d[h], &st);
  assert_int_equal(st.retried, 1);
  for (unsigned j = 0; j < 4; j++) {
    unsigned x = t->order[(pos + j) % N];
    if (t->s[x]->ops->get(t->s[x], key, rec, sizeof(rec)) <= 0)
      fail_msg("replica %u (node %u) lacks the record after the retry", j, x);
  }
  net_free(t);
}

/* Replica hints learnt from earlier answers can be stale (the ring moved,
 * the key's record went elsewhere): when every hinted node says "not
 * found", the owner is asked before the lookup says so. Before, four
 * stale hints used the attempt budget and a member published seconds
 * earlier was "not found" (revocation.sh). And a node asked for a key it
 * does not own names no replicas. */
static void test_stale_hints_then_owner(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  uint8_t key[DHT_KEY_LEN];
  publish_all(t);
  vip_key(9, key);
  int owner = owner_of(t, key);
  unsigned pos = 0, asker;
  for (unsigned i = 0; i < N; i++)
    if (t->order[i] == (unsigned)owner)
      pos = i;
  /* An asker whose successor list (8) ends before the key. */
  asker = t->order[(pos + N - 10) % N];
  /* Hints at four nodes half a ring away: none holds the key. */
  struct dht_cent *c = dht_cache_slot(t->d[asker], key, t->now);
  assert_non_null(c);
  c->n_hint = 0;
  for (unsigned j = 0; j < 4; j++)
    memcpy(c->hint[c->n_hint++], t->m[t->order[(pos + N / 2 + j) % N]].id, RL_ID_LEN);
  c->hint_until = t->now + 60 * NS_PER_S;
  /* Only the owner holds it. */
  for (unsigned i = 0; i < N; i++)
    if (i != (unsigned)owner)
      (void)t->s[i]->ops->del(t->s[i], key);
  struct result *r = get_from(t, asker, key, 21, 10 * NS_PER_S);
  assert_int_equal(r->status, 0);
  assert_memory_equal(r->rec.value, t->m[9].id, RL_ID_LEN);
  net_free(t);
}

/* Graceful leave hands every record to the successor. */
static void test_leave_hands_over(void **state) {
  (void)state;
  struct net *t = net_new(3, DHT_RECORD_TTL_S, N);
  struct dht_stats st;
  publish_all(t);
  unsigned leaver = t->order[4];
  unsigned succ = t->order[5];
  size_t held_before = t->s[leaver]->ops->count(t->s[leaver]);
  assert_true(held_before > 0);
  dht_stats(t->d[leaver], &st);
  uint64_t sent0 = st.replicate_sent;
  dht_leave(t->d[leaver], t->now);
  dht_stats(t->d[leaver], &st);
  assert_int_equal(st.replicate_sent - sent0, held_before);
  pump(t);
  kill_node(t, leaver);
  ring_update(t);
  /* Everything the leaver held is at its successor now. */
  check_all_resolvable(t, 3, true);
  assert_true(t->s[succ]->ops->count(t->s[succ]) > 0);
  net_free(t);
}

/* Churn: each round up to k-1 = 3 nodes die at once, the ring heals, then
 * they come back empty (same identity) and publish again. After every
 * step, every live member's records are held by k live nodes and
 * resolvable from anywhere; records of dead members too, until they
 * expire. */
static void test_churn(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N);
  uint8_t key[DHT_KEY_LEN];
  unsigned cookie = 0;
  publish_all(t);
  for (unsigned round = 0; round < 12; round++) {
    unsigned victims[3], nv = 1 + rl_rand_uniform(&t->env, 3);
    for (unsigned v = 0; v < nv; v++) {
      do
        victims[v] = rl_rand_uniform(&t->env, N);
      while (!t->alive[victims[v]]);
      kill_node(t, victims[v]);
    }
    ring_update(t);
    advance(t, 5 * NS_PER_S);
    for (unsigned i = 0; i < N; i++) {
      vip_key(i, key);
      assert_true(holders(t, key, NULL) >= 4); /* dead members' too */
    }
    for (unsigned v = 0; v < nv; v++) {
      start_node(t, victims[v]);
    }
    ring_update(t);
    for (unsigned v = 0; v < nv; v++) {
      assert_int_equal(dht_put_own(t->d[victims[v]], DHT_REC_VIP, NULL, 0, t->now), 0);
    }
    pump(t);
    advance(t, 5 * NS_PER_S);
    for (unsigned i = 0; i < N; i++) {
      unsigned from = rl_rand_uniform(&t->env, N);
      vip_key(i, key);
      assert_true(holders(t, key, NULL) >= 4);
      struct result *r = get_from(t, from, key, cookie++ % MAX_RESULTS, 10 * NS_PER_S);
      assert_int_equal(r->status, 0);
      assert_memory_equal(r->rec.value, t->m[i].id, RL_ID_LEN);
    }
  }
  net_free(t);
}

/* A storer whose store is full answers FULL and counts it; replacing a
 * record it already holds still works. */
static void test_store_full_counted(void **state) {
  (void)state;
  struct net *t = net_new(3, DHT_RECORD_TTL_S, 1); /* member 0, alone: owns all */
  struct dht_store *small = dht_store_mem_new(2);
  struct dht_config cfg;
  struct dht_stats st;
  struct dht_record rec;
  struct dht_msg m, ack;
  uint8_t enc[DHT_REC_MAX], msg[DHT_MSG_MAX];
  struct ov_ring_info ri = {.joined = true};
  int err;
  dht_config_default(&cfg);
  cfg.env = &t->env;
  memcpy(cfg.self_id, t->m[0].id, RL_ID_LEN);
  cfg.key = t->m[0].key;
  cfg.cert = t->m[0].cert;
  snprintf(cfg.group, sizeof(cfg.group), "%s", FIX_GROUP);
  memcpy(cfg.group_pk, t->group.pk, RL_PK_LEN);
  cfg.store = small;
  struct dht *d = dht_new(&cfg, &err);
  assert_non_null(d);
  dht_ring_changed(d, &ri, t->now);
  static const uint8_t want[] = {DHT_ST_OK, DHT_ST_OK, DHT_ST_FULL, DHT_ST_OK};
  for (unsigned i = 0; i < 4; i++) {
    unsigned who = i == 3 ? 1 : i + 1; /* the 4th replaces member 1's record */
    assert_int_equal(dht_record_make(&rec, DHT_REC_VIP, &t->m[who].cert, &t->m[who].key,
                                     10 + i, rl_unix_s(&t->env, t->now) + 600,
                                     t->m[who].id, RL_ID_LEN),
                     0);
    m = (struct dht_msg){.type = DHT_MSG_STORE, .txid = i, .rec = enc,
                         .rec_len = (size_t)dht_record_encode(&rec, enc, sizeof(enc))};
    int len = dht_msg_encode(&m, msg, sizeof(msg));
    assert_int_equal(dht_recv(d, t->m[who].id, rec.key, msg, (size_t)len, t->now), 0);
    assert_true(dht_poll(d, &t->act));
    assert_int_equal(t->act.kind, DHT_ACT_ROUTE);
    assert_int_equal(t->act.mode, OV_ROUTE_EXACT);
    assert_memory_equal(t->act.key, t->m[who].id, RL_ID_LEN);
    assert_int_equal(dht_msg_decode(&ack, t->act.data, t->act.len), 0);
    assert_int_equal(ack.type, DHT_MSG_STORE_ACK);
    assert_int_equal(ack.txid, i);
    assert_int_equal(ack.status, want[i]);
    assert_false(dht_poll(d, &t->act)); /* alone: no replicas to push to */
  }
  dht_stats(d, &st);
  assert_int_equal(st.rejected_full, 1);
  assert_int_equal(st.stored, 3);
  assert_int_equal(st.records, 2);
  dht_free(d);
  small->ops->close(small);
  net_free(t);
}

/* Publishing before the node joined: the STOREs go nowhere and are
 * retried; the moment the ring includes the node they go out again. */
static void test_publish_before_join(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, N - 1);
  struct dht_stats st;
  uint8_t key[DHT_KEY_LEN];
  start_node(t, N - 1);
  t->outside[N - 1] = true;
  assert_int_equal(dht_put_own(t->d[N - 1], DHT_REC_VIP, NULL, 0, t->now), 0);
  pump(t);
  advance(t, 20 * NS_PER_S); /* a burst of retries, all lost */
  dht_stats(t->d[N - 1], &st);
  assert_int_equal(st.own_acked, 0);
  assert_true(t->lost >= DHT_STORE_ATTEMPTS);
  vip_key(N - 1, key);
  assert_int_equal(holders(t, key, NULL), 0);
  t->outside[N - 1] = false;
  ring_update(t); /* joined: published at once, not at the next retry */
  dht_stats(t->d[N - 1], &st);
  assert_int_equal(st.own_acked, 1);
  assert_int_equal(holders(t, key, NULL), 4);
  net_free(t);
}

static void test_bad_messages_counted(void **state) {
  (void)state;
  struct net *t = net_new(4, DHT_RECORD_TTL_S, 2);
  struct dht_stats st;
  static const uint8_t junk[][8] = {{0}, {1, 99, 0, 0, 0, 0}, {1, 1, 0, 0, 0, 0, 0, 5}};
  assert_true(dht_recv(t->d[0], t->m[1].id, t->m[0].id, junk[0], 0, t->now) < 0);
  for (unsigned i = 0; i < 3; i++)
    assert_true(dht_recv(t->d[0], t->m[1].id, t->m[0].id, junk[i], 8, t->now) < 0);
  /* A well-formed answer nobody asked for. */
  uint8_t msg[DHT_MSG_MAX];
  struct dht_msg m = {.type = DHT_MSG_GET_REPLY, .txid = 12345, .status = DHT_ST_NOT_FOUND};
  int len = dht_msg_encode(&m, msg, sizeof(msg));
  assert_int_equal(dht_recv(t->d[0], t->m[1].id, t->m[0].id, msg, (size_t)len, t->now), 0);
  m.type = DHT_MSG_STORE_ACK;
  len = dht_msg_encode(&m, msg, sizeof(msg));
  assert_int_equal(dht_recv(t->d[0], t->m[1].id, t->m[0].id, msg, (size_t)len, t->now), 0);
  dht_stats(t->d[0], &st);
  assert_int_equal(st.msgs_bad, 6);
  net_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config_checks),
      cmocka_unit_test(test_single_node),
      cmocka_unit_test(test_put_get_any_node),
      cmocka_unit_test(test_owner_killed),
      cmocka_unit_test(test_join_handover),
      cmocka_unit_test(test_seq_ordering),
      cmocka_unit_test(test_seq_near_max),
      cmocka_unit_test(test_expiry_and_refresh),
      cmocka_unit_test(test_duplicate_vip_refused),
      cmocka_unit_test(test_revoked_owner),
      cmocka_unit_test(test_revocation_record),
      cmocka_unit_test(test_lookup_answer_of_revoked_owner),
      cmocka_unit_test(test_get_falls_back_to_replicas),
      cmocka_unit_test(test_owner_without_copy_asks_replicas),
      cmocka_unit_test(test_leave_hands_over),
      cmocka_unit_test(test_misrouted_store_handed_on),
      cmocka_unit_test(test_handover_back_to_sender_retried),
      cmocka_unit_test(test_stale_hints_then_owner),
      cmocka_unit_test(test_churn),
      cmocka_unit_test(test_store_full_counted),
      cmocka_unit_test(test_publish_before_join),
      cmocka_unit_test(test_bad_messages_counted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
