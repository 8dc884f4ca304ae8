/* Internals shared by dht/dht.c (lifecycle, queue, ring, timers) and
 * dht/dht_rpc.c (requests, acceptance of records, own records). Not an
 * API: nothing outside dht/ includes this. */
#ifndef RL_DHT_INT_H
#define RL_DHT_INT_H

#include "dht/dht.h"

/* Our compact copy of the overlay's ring view (struct ov_ring_info also
 * carries 64 shortcuts we do not need; this keeps a node small). */
struct dht_ring {
  bool joined;
  bool has_pred;
  uint8_t pred[RL_ID_LEN];
  unsigned n_succ;                       /* self filtered out */
  uint8_t succ[OV_MAX_SUCC][RL_ID_LEN];
};

/* One queued action. ROUTE: data = message. RESULT: data = encoded record
 * (len 0 when status != 0). */
struct dht_qent {
  struct dht_qent *next;
  uint8_t kind;
  uint8_t mode;
  uint8_t key[RL_ID_LEN];
  uint32_t cookie;
  int status;
  uint16_t len;
  uint8_t data[];
};

struct dht_pending {          /* one running dht_get() */
  uint32_t txid;
  uint32_t cookie;
  uint8_t key[DHT_KEY_LEN];
  unsigned attempts;          /* requests sent so far */
  uint64_t deadline;
  uint8_t n_cand, next_cand;  /* EXACT targets to try before OWNER routes */
  bool routed;                /* a request went to the key's owner (OWNER mode) */
  uint8_t cand[DHT_MAX_REPLICAS][RL_ID_LEN];
};

struct dht_cent {             /* cache entry: a result and/or replica hints */
  uint8_t key[DHT_KEY_LEN];
  uint64_t rec_until;         /* 0: no record */
  uint16_t rec_len;
  uint8_t *rec;
  uint64_t hint_until;        /* 0: no hints */
  uint8_t n_hint;
  uint8_t hint[DHT_MAX_REPLICAS][RL_ID_LEN];
};

struct dht_own {              /* one of our own records (VIP, NODE) */
  bool active;
  bool acked;                 /* the owner of its key confirmed it */
  uint8_t type;
  uint16_t value_len;
  uint8_t value[DHT_VALUE_MAX];
  uint64_t seq;
  uint64_t expiry_s;          /* unix seconds, of the current version */
  uint32_t txid;
  unsigned attempts;          /* STOREs sent in the current burst */
  unsigned stale_bumps;       /* seq raised after STALE answers */
  uint64_t deadline;          /* ack timeout or retry; RL_TIME_NEVER */
  uint64_t refresh_at;        /* re-sign and publish again */
};

#define DHT_OWN_SLOTS 2
#define DHT_REV_TXIDS 16

struct dht {
  struct dht_config cfg;
  struct dht_store *store;
  bool own_store;             /* we made it (in-memory) and close it */
  struct dht_ring ring;
  uint32_t next_txid;
  struct dht_qent *q_head, *q_tail;
  size_t q_len;
  struct dht_pending *pend;   /* dynamic, at most DHT_PENDING_MAX */
  size_t n_pend, cap_pend;
  struct dht_cent *cache;     /* dynamic, at most cfg.cache_max */
  size_t n_cache, cap_cache;
  struct dht_own own[DHT_OWN_SLOTS];
  struct {                    /* STOREs of revocations awaiting their ack */
    bool used;
    uint32_t txid;
  } rev_txid[DHT_REV_TXIDS];
  unsigned rev_txid_next;
  uint64_t next_sweep;
  /* Keys whose hand-over ended at a node that is not the owner (dht.c,
   * dht_retry_note): handed over again at settle_at. */
  uint8_t retry[DHT_RETRY_MAX][DHT_KEY_LEN];
  unsigned n_retry;
  uint64_t settle_at, settle_first; /* RL_TIME_NEVER: nothing to retry */
  struct dht_stats st;
};

/* dht.c */
uint64_t dht_unix(const struct dht *d, uint64_t now);
/* Monotonic time at which unix second s is reached (0 if in the past). */
uint64_t dht_unix_to_ns(const struct dht *d, uint64_t unix_s);
/* x in (a, b] going clockwise on the ring; a == b means the whole ring. */
bool dht_id_in(const uint8_t a[RL_ID_LEN], const uint8_t x[RL_ID_LEN],
               const uint8_t b[RL_ID_LEN]);
bool dht_ring_owns(const struct dht *d, const struct dht_ring *r,
                   const uint8_t key[DHT_KEY_LEN]);
/* Self followed by up to k-1 successors: the replica set if we own a key. */
unsigned dht_replica_set(const struct dht *d, const struct dht_ring *r,
                         uint8_t out[DHT_MAX_REPLICAS][RL_ID_LEN]);
int dht_q_route(struct dht *d, const uint8_t key[RL_ID_LEN], int mode,
                const struct dht_msg *m);
void dht_q_result(struct dht *d, uint32_t cookie, int status, const uint8_t *rec,
                  size_t len);
uint32_t dht_txid(struct dht *d);
struct dht_cent *dht_cache_find(struct dht *d, const uint8_t key[DHT_KEY_LEN]);
struct dht_cent *dht_cache_slot(struct dht *d, const uint8_t key[DHT_KEY_LEN],
                                uint64_t now);

/* True when the certificate's member is revoked (cfg.revoked). */
bool dht_owner_revoked(const struct dht *d, const struct cert *c);

/* dht_rpc.c */
/* Verifies and stores an encoded record. Returns a DHT_ST_* status, sets
 * *is_new when the store changed and *held_seq to the seq now held. */
int dht_accept(struct dht *d, const uint8_t *rec, size_t len, uint64_t now,
               bool *is_new, uint64_t *held_seq);
/* Pushes one encoded record to our replica set (owner duty). */
void dht_push_replicas(struct dht *d, const uint8_t key[DHT_KEY_LEN],
                       const uint8_t *rec, size_t len, const struct dht_ring *skip_from);
void dht_own_publish(struct dht *d, struct dht_own *o, uint64_t now);
void dht_own_timer(struct dht *d, uint64_t now);
void dht_get_timer(struct dht *d, uint64_t now);

void dht_retry_arm(struct dht *d, uint64_t now);
void dht_retry_note(struct dht *d, const uint8_t key[DHT_KEY_LEN], uint64_t now);

#endif
