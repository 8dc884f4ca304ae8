/* The DHT's requests and answers: accepting records (verify, seq order,
 * duplicate VIP claims, bounds), own records (publish, retry, refresh),
 * lookups with fallback to replicas, and the message dispatcher. */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "dht/dht.h"
#include "dht/dht_int.h"

#define STALE_BUMPS_MAX 3 /* seq raises after STALE answers per publication */

static void arm_sweep(struct dht *d, uint64_t now) {
  if (d->next_sweep == RL_TIME_NEVER)
    d->next_sweep = now + DHT_SWEEP_NS;
}

/* The key of an encoded record without decoding it all (offset 2). */
static bool rec_key(const uint8_t *rec, size_t len, uint8_t key[DHT_KEY_LEN]) {
  if (len < 2 + DHT_KEY_LEN)
    return false;
  memcpy(key, rec + 2, DHT_KEY_LEN);
  return true;
}

/* DEBUG traces name keys and members by their first 4 bytes. */
static void dbg(struct dht *d, const char *what, const uint8_t key[DHT_KEY_LEN],
                const uint8_t *who, int status) {
  if (!RL_LOG_ENABLED(d->cfg.env, RL_LOG_DEBUG))
    return;
  rl_logf(d->cfg.env, RL_LOG_DEBUG, "dht: %s key %02x%02x%02x%02x %s %02x%02x%02x%02x: %d", what,
          key[0], key[1], key[2], key[3], who ? "peer" : "-", who ? who[0] : 0, who ? who[1] : 0,
          who ? who[2] : 0, who ? who[3] : 0, status);
}

/* ---- accepting records ---- */

struct accept_buf {
  struct dht_record rec, old;
  struct cert c, oc;
  uint8_t held[DHT_REC_MAX];
};

/* A revocation record (dht/record.h): the first valid one at its key stays
 * forever; any later one (byte-identical or another valid revocation of the
 * same ID) is acknowledged without a signature check, so replicas pushing
 * it again cost one store read. It replaces the revoked member's NODE
 * record. */
static int accept_revocation(struct dht *d, struct accept_buf *b, const uint8_t *rec,
                             size_t len, uint64_t now, bool *is_new) {
  int n = d->store->ops->get(d->store, b->rec.key, b->held, sizeof(b->held));
  int rc;
  if (n > 0 && dht_record_decode(&b->old, b->held, (size_t)n) == 0 &&
      b->old.type == DHT_REC_REVOCATION) {
    d->st.same_again++;
    return DHT_ST_OK;
  }
  rc = dht_record_verify(&b->rec, d->cfg.group, d->cfg.group_pk, dht_unix(d, now), NULL);
  if (rc < 0) {
    d->st.rejected_invalid++;
    rl_logf(d->cfg.env, RL_LOG_DEBUG, "dht: revocation record refused: %s", rl_strerror(rc));
    return DHT_ST_INVALID;
  }
  if (d->store->ops->put(d->store, b->rec.key, rec, len) < 0) {
    d->st.rejected_full++;
    return DHT_ST_FULL;
  }
  d->st.stored++;
  d->st.revocations_stored++;
  *is_new = true;
  arm_sweep(d, now);
  return DHT_ST_OK;
}

int dht_accept(struct dht *d, const uint8_t *rec, size_t len, uint64_t now,
               bool *is_new, uint64_t *held_seq) {
  struct accept_buf *b = malloc(sizeof(*b)); /* ~4 KB: keep it off the stack */
  uint64_t unix_s = dht_unix(d, now);
  int n, rc, st = DHT_ST_OK;
  *is_new = false;
  *held_seq = 0;
  if (!b)
    return DHT_ST_FULL;
  if (dht_record_decode(&b->rec, rec, len) < 0) {
    d->st.rejected_invalid++;
    st = DHT_ST_INVALID;
    goto out;
  }
  if (b->rec.type == DHT_REC_REVOCATION) {
    st = accept_revocation(d, b, rec, len, now, is_new);
    goto out;
  }
  /* The very record we hold (replicas and anti-entropy push the same bytes
   * again and again): its signatures were checked when we stored it, so
   * only the clocks are checked again. Two Ed25519 verifications per push
   * were most of a simulated member's CPU. */
  n = d->store->ops->get(d->store, b->rec.key, b->held, sizeof(b->held));
  if (n > 0 && (size_t)n == len && memcmp(b->held, rec, len) == 0 &&
      b->rec.expiry_s > unix_s &&
      cert_decode_bin(&b->c, b->rec.cert, b->rec.cert_len) == 0 &&
      b->c.not_before <= unix_s && unix_s <= b->c.not_after) {
    *held_seq = b->rec.seq;
    d->st.same_again++;
    goto out;
  }
  rc = dht_record_verify(&b->rec, d->cfg.group, d->cfg.group_pk, unix_s, &b->c);
  if (rc < 0) {
    if (rc == RL_EEXPIRED)
      d->st.rejected_expired++;
    else
      d->st.rejected_invalid++;
    rl_logf(d->cfg.env, RL_LOG_DEBUG, "dht: record refused: %s", rl_strerror(rc));
    st = DHT_ST_INVALID;
    goto out;
  }
  if (dht_owner_revoked(d, &b->c)) {
    d->st.rejected_invalid++;
    rl_logf(d->cfg.env, RL_LOG_DEBUG, "dht: record refused: %s", rl_strerror(RL_EREVOKED));
    st = DHT_ST_INVALID;
    goto out;
  }
  n = d->store->ops->get(d->store, b->rec.key, b->held, sizeof(b->held));
  /* A record held of a revoked owner counts as none (neither its claim on
   * a VIP nor its seq, however high, blocks the key's new holder). */
  if (n > 0 && dht_record_decode(&b->old, b->held, (size_t)n) == 0 &&
      b->old.type == DHT_REC_REVOCATION) {
    /* The key's member is revoked: its NODE record is not taken back. */
    d->st.rejected_conflict++;
    st = DHT_ST_CONFLICT;
    goto out;
  }
  if (n > 0 && dht_record_decode(&b->old, b->held, (size_t)n) == 0 &&
      b->old.expiry_s > unix_s &&
      !(cert_decode_bin(&b->oc, b->old.cert, b->old.cert_len) == 0 &&
        dht_owner_revoked(d, &b->oc))) {
    *held_seq = b->old.seq;
    /* First claim wins while it lives: another member (a different node
     * key) certified for the same VIP by mistake cannot take it over. */
    if (b->rec.type == DHT_REC_VIP &&
        (cert_decode_bin(&b->oc, b->old.cert, b->old.cert_len) < 0 ||
         memcmp(b->oc.node_pk, b->c.node_pk, RL_PK_LEN) != 0)) {
      d->st.rejected_conflict++;
      st = DHT_ST_CONFLICT;
      goto out;
    }
    if (b->old.seq > b->rec.seq ||
        (b->old.seq == b->rec.seq && !dht_record_same(&b->old, &b->rec))) {
      d->st.rejected_stale++;
      st = DHT_ST_STALE;
      goto out;
    }
    if (b->old.seq == b->rec.seq)
      goto out; /* the very same record: nothing to do */
  }
  rc = d->store->ops->put(d->store, b->rec.key, rec, len);
  if (rc < 0) {
    d->st.rejected_full++;
    st = DHT_ST_FULL;
    goto out;
  }
  d->st.stored++;
  *is_new = true;
  *held_seq = b->rec.seq;
  arm_sweep(d, now);
out:
  free(b);
  return st;
}

void dht_push_replicas(struct dht *d, const uint8_t key[DHT_KEY_LEN],
                       const uint8_t *rec, size_t len, const struct dht_ring *skip_from) {
  uint8_t set[DHT_MAX_REPLICAS][RL_ID_LEN], old[DHT_MAX_REPLICAS][RL_ID_LEN];
  unsigned n = dht_replica_set(d, &d->ring, set), n_old = 0;
  struct dht_msg m = {.type = DHT_MSG_REPLICATE, .rec = rec, .rec_len = len};
  (void)key;
  if (skip_from)
    n_old = dht_replica_set(d, skip_from, old);
  for (unsigned i = 1; i < n; i++) { /* set[0] is ourselves */
    bool had = false;
    for (unsigned j = 1; j < n_old && !had; j++)
      had = memcmp(set[i], old[j], RL_ID_LEN) == 0;
    if (had)
      continue;
    m.txid = dht_txid(d);
    if (dht_q_route(d, set[i], OV_ROUTE_EXACT, &m) == 0)
      d->st.replicate_sent++;
  }
}

/* ---- own records ---- */

static struct dht_own *own_slot(struct dht *d, uint8_t type) {
  return type == DHT_REC_VIP ? &d->own[0] : type == DHT_REC_NODE ? &d->own[1] : NULL;
}

/* Sends (or stores locally) the current version of o: same seq and expiry
 * as the last send, so a retry is byte-identical (Ed25519 is deterministic)
 * and a duplicate is a no-op at the storer. */
void dht_own_publish(struct dht *d, struct dht_own *o, uint64_t now) {
  struct dht_record *r = malloc(sizeof(*r));
  uint8_t buf[DHT_REC_MAX];
  struct dht_msg m = {.type = DHT_MSG_STORE};
  bool is_new;
  uint64_t held;
  int n, st;
  if (!r)
    goto retry_later;
  if (dht_record_make(r, o->type, &d->cfg.cert, &d->cfg.key, o->seq, o->expiry_s,
                      o->value, o->value_len) < 0 ||
      (n = dht_record_encode(r, buf, sizeof(buf))) < 0) {
    free(r);
    o->deadline = RL_TIME_NEVER; /* cannot happen with a checked config */
    return;
  }
  if (dht_ring_owns(d, &d->ring, r->key)) {
    /* We are the owner of our own key: store here, push to replicas. */
    st = dht_accept(d, buf, (size_t)n, now, &is_new, &held);
    dbg(d, "PUBLISH here", r->key, NULL, st);
    if (st == DHT_ST_OK) {
      if (is_new)
        dht_push_replicas(d, r->key, buf, (size_t)n, NULL);
      o->acked = true;
      o->deadline = RL_TIME_NEVER;
      d->st.own_acked++;
    } else if (st == DHT_ST_STALE && o->stale_bumps++ < STALE_BUMPS_MAX &&
               dht_record_seq_next(held, dht_unix(d, now), &o->seq) == 0) {
      free(r);
      dht_own_publish(d, o, now);
      return;
    } else {
      free(r);
      goto retry_later;
    }
    free(r);
    return;
  }
  m.txid = o->txid = dht_txid(d);
  m.rec = buf;
  m.rec_len = (size_t)n;
  dbg(d, "PUBLISH to owner", r->key, NULL, (int)o->attempts);
  dht_q_route(d, r->key, OV_ROUTE_OWNER, &m);
  free(r);
  o->attempts++;
  o->deadline = now + d->cfg.rpc_timeout_ns;
  return;
retry_later:
  o->attempts = 0;
  o->deadline = now + DHT_STORE_RETRY_NS;
}

/* New version: seq up, expiry renewed (never past our certificate). */
static int own_renew(struct dht *d, struct dht_own *o, uint64_t now) {
  uint64_t unix_s = dht_unix(d, now), seq;
  uint64_t expiry = unix_s + d->cfg.record_ttl_s;
  if (d->cfg.cert.not_after < expiry)
    expiry = d->cfg.cert.not_after;
  if (expiry <= unix_s || d->cfg.cert.not_before > unix_s)
    return RL_EEXPIRED;
  /* Seq from the clock (2^20 per second) so it keeps growing across
   * restarts; +1 covers several updates within one second. Never wraps:
   * when our last seq is beyond what any storer accepts now (the clock went
   * back by more than DHT_REC_MAX_TTL_S), start again from the clock;
   * storers holding a version within range answer STALE and we continue
   * above it. A clock past 2^44 s gives up (RL_ERANGE). */
  if (dht_record_seq_next(o->seq, unix_s, &seq) < 0) {
    if (unix_s > (UINT64_MAX >> DHT_SEQ_SHIFT))
      return RL_ERANGE;
    seq = unix_s << DHT_SEQ_SHIFT;
  }
  o->seq = seq;
  o->expiry_s = expiry;
  o->acked = false;
  o->attempts = 0;
  o->stale_bumps = 0;
  o->refresh_at = now + (expiry - unix_s) * NS_PER_S / 2;
  return 0;
}

int dht_put_own(struct dht *d, uint8_t type, const uint8_t *value, size_t len,
                uint64_t now) {
  struct dht_own *o = own_slot(d, type);
  int rc;
  if (!o)
    return RL_EINVAL;
  if (type == DHT_REC_VIP) {
    value = d->cfg.self_id;
    len = RL_ID_LEN;
  }
  if (len > DHT_VALUE_MAX)
    return RL_ETOOBIG;
  if (len && !value)
    return RL_EINVAL;
  o->type = type;
  o->value_len = (uint16_t)len;
  if (len)
    memcpy(o->value, value, len);
  if ((rc = own_renew(d, o, now)) < 0) {
    o->active = false;
    return rc;
  }
  o->active = true;
  dht_own_publish(d, o, now);
  return 0;
}

void dht_own_timer(struct dht *d, uint64_t now) {
  for (unsigned i = 0; i < DHT_OWN_SLOTS; i++) {
    struct dht_own *o = &d->own[i];
    if (!o->active)
      continue;
    if (o->refresh_at <= now) {
      int rc = own_renew(d, o, now);
      if (rc < 0) {
        rl_logf(d->cfg.env, RL_LOG_WARN, "dht: own record not renewed: %s",
                rc == RL_EEXPIRED ? "certificate expired" : "clock out of range");
        o->active = false;
        continue;
      }
      dht_own_publish(d, o, now);
    } else if (o->deadline <= now) {
      if (o->attempts >= DHT_STORE_ATTEMPTS) {
        /* A burst went unanswered: pause, the ring may be healing. */
        o->attempts = 0;
        o->deadline = now + DHT_STORE_RETRY_NS;
      } else {
        dht_own_publish(d, o, now);
      }
    }
  }
}

static void on_store_ack(struct dht *d, const uint8_t src[RL_ID_LEN],
                         const struct dht_msg *m, uint64_t now) {
  struct dht_own *o = NULL;
  char hex[2 * RL_ID_LEN + 1];
  for (unsigned i = 0; i < DHT_OWN_SLOTS; i++)
    if (d->own[i].active && !d->own[i].acked && d->own[i].txid == m->txid &&
        d->own[i].deadline != RL_TIME_NEVER)
      o = &d->own[i];
  if (!o) {
    for (unsigned i = 0; i < DHT_REV_TXIDS; i++)
      if (d->rev_txid[i].used && d->rev_txid[i].txid == m->txid) {
        d->rev_txid[i].used = false; /* a published revocation: nothing to do */
        if (m->status == DHT_ST_OK)
          d->st.revocations_acked++;
        return;
      }
    d->st.msgs_bad++; /* late duplicate or unsolicited */
    return;
  }
  dbg(d, "STORE ack", m->key, src, m->status);
  switch (m->status) {
  case DHT_ST_OK:
    o->acked = true;
    o->deadline = RL_TIME_NEVER;
    d->st.own_acked++;
    return;
  case DHT_ST_STALE:
    /* The storer holds a newer version (we restarted with a clock that
     * went back): continue above it, unless the claim is beyond what any
     * storer accepts (a forged answer must not push us to UINT64_MAX). */
    if (m->seq >= o->seq && o->stale_bumps++ < STALE_BUMPS_MAX &&
        dht_record_seq_next(m->seq, dht_unix(d, now), &o->seq) == 0) {
      o->attempts = 0;
      dht_own_publish(d, o, now);
      return;
    }
    if (m->seq >= o->seq)
      rl_logf(d->cfg.env, RL_LOG_DEBUG, "dht: STALE answer claims seq %llu: not followed",
              (unsigned long long)m->seq);
    break;
  case DHT_ST_CONFLICT:
    rl_hex_encode(hex, src, RL_ID_LEN);
    rl_logf(d->cfg.env, RL_LOG_WARN,
            "dht: our VIP is claimed by another member (storer %.16s); retrying", hex);
    break;
  case DHT_ST_INVALID:
    rl_logf(d->cfg.env, RL_LOG_ERROR, "dht: our own record was refused as invalid");
    o->deadline = RL_TIME_NEVER; /* try again at the next refresh */
    return;
  default:
    break;
  }
  o->attempts = 0;
  o->deadline = now + DHT_STORE_RETRY_NS;
}

/* ---- revocations ---- */

int dht_put_revocation(struct dht *d, const uint8_t *bin, size_t len, uint64_t now) {
  struct dht_record *r = malloc(sizeof(*r));
  uint8_t buf[DHT_REC_MAX];
  struct dht_msg m = {.type = DHT_MSG_STORE};
  uint64_t held;
  bool is_new;
  int n, rc;
  if (!r)
    return RL_ENOMEM;
  if ((rc = dht_record_make_revocation(r, bin, len)) < 0 ||
      (rc = n = dht_record_encode(r, buf, sizeof(buf))) < 0)
    goto out;
  rc = 0;
  d->st.revocations_published++;
  if (dht_ring_owns(d, &d->ring, r->key)) {
    if (dht_accept(d, buf, (size_t)n, now, &is_new, &held) != DHT_ST_OK)
      rc = RL_EREFUSED;
    else if (is_new)
      dht_push_replicas(d, r->key, buf, (size_t)n, NULL);
    goto out;
  }
  /* One STORE, not retried: every member that learns the revocation sends
   * one, and the owner's replicas keep it across ring changes. */
  m.txid = dht_txid(d);
  m.rec = buf;
  m.rec_len = (size_t)n;
  d->rev_txid[d->rev_txid_next].used = true;
  d->rev_txid[d->rev_txid_next].txid = m.txid;
  d->rev_txid_next = (d->rev_txid_next + 1) % DHT_REV_TXIDS;
  rc = dht_q_route(d, r->key, OV_ROUTE_OWNER, &m);
out:
  free(r);
  return rc;
}

/* ---- lookups ---- */

static void cand_add(struct dht *d, struct dht_pending *p, const uint8_t id[RL_ID_LEN]) {
  if (memcmp(id, d->cfg.self_id, RL_ID_LEN) == 0 || p->n_cand >= DHT_MAX_REPLICAS)
    return;
  for (unsigned i = 0; i < p->n_cand; i++)
    if (memcmp(p->cand[i], id, RL_ID_LEN) == 0)
      return;
  memcpy(p->cand[p->n_cand++], id, RL_ID_LEN);
}

/* The node that answered is done: move it into the tried prefix. */
static void cand_tried(struct dht *d, struct dht_pending *p, const uint8_t id[RL_ID_LEN]) {
  uint8_t tmp[RL_ID_LEN];
  unsigned i;
  cand_add(d, p, id);
  for (i = 0; i < p->n_cand; i++)
    if (memcmp(p->cand[i], id, RL_ID_LEN) == 0)
      break;
  if (i == p->n_cand || i < p->next_cand)
    return;
  memcpy(tmp, p->cand[i], RL_ID_LEN);
  memcpy(p->cand[i], p->cand[p->next_cand], RL_ID_LEN);
  memcpy(p->cand[p->next_cand], tmp, RL_ID_LEN);
  p->next_cand++;
}

static void get_send(struct dht *d, struct dht_pending *p, uint64_t now) {
  struct dht_msg m = {.type = DHT_MSG_GET, .txid = p->txid};
  memcpy(m.key, p->key, DHT_KEY_LEN);
  if (p->next_cand < p->n_cand) {
    dbg(d, "GET to", p->key, p->cand[p->next_cand], (int)p->attempts);
    dht_q_route(d, p->cand[p->next_cand++], OV_ROUTE_EXACT, &m);
  } else {
    dbg(d, "GET to owner", p->key, NULL, (int)p->attempts);
    dht_q_route(d, p->key, OV_ROUTE_OWNER, &m);
    p->routed = true;
  }
  p->attempts++;
  p->deadline = now + d->cfg.rpc_timeout_ns;
}

static void get_finish(struct dht *d, size_t i, int status, const uint8_t *rec,
                       size_t len) {
  struct dht_pending *p = &d->pend[i];
  dbg(d, "GET done", p->key, NULL, status);
  if (status == 0)
    d->st.gets_ok++;
  else if (status == RL_ENOENT)
    d->st.gets_not_found++;
  else
    d->st.gets_timeout++;
  dht_q_result(d, p->cookie, status, rec, len);
  d->pend[i] = d->pend[--d->n_pend];
}

/* A live record at key in our own store (len, or 0). */
static int local_live(struct dht *d, const uint8_t key[DHT_KEY_LEN], uint8_t *buf,
                      uint64_t now) {
  struct dht_record *r;
  int n = d->store->ops->get(d->store, key, buf, DHT_REC_MAX), live = 0;
  if (n <= 0 || !(r = malloc(sizeof(*r))))
    return 0;
  if (dht_record_decode(r, buf, (size_t)n) == 0 && r->expiry_s > dht_unix(d, now))
    live = n;
  free(r);
  return live;
}

int dht_get(struct dht *d, const uint8_t key[DHT_KEY_LEN], uint32_t cookie, uint64_t now) {
  struct dht_cent *c = dht_cache_find(d, key);
  struct dht_pending *p;
  uint8_t buf[DHT_REC_MAX];
  int n;
  if (c && c->rec && c->rec_until > now) {
    d->st.gets_ok++;
    dht_q_result(d, cookie, 0, c->rec, c->rec_len);
    return 0;
  }
  bool owned = dht_ring_owns(d, &d->ring, key);
  if (owned) {
    /* We are the authority for key: answer from the store. Holding no
     * copy, ask our replicas before saying "not found": ownership may
     * have just moved to us (a node joined or left) ahead of the handover,
     * or our view of the ring is not everyone's yet (nat_pairs.sh: such
     * local misses kept a member unresolvable). */
    n = local_live(d, key, buf, now);
    dbg(d, "GET as owner", key, NULL, n);
    if (n > 0 || d->ring.n_succ == 0) {
      if (n > 0)
        d->st.gets_ok++;
      else
        d->st.gets_not_found++;
      dht_q_result(d, cookie, n > 0 ? 0 : RL_ENOENT, buf, n > 0 ? (size_t)n : 0);
      return 0;
    }
  }
  if (d->n_pend >= DHT_PENDING_MAX)
    return RL_EFULL;
  if (d->n_pend == d->cap_pend) {
    size_t nc = d->cap_pend ? d->cap_pend * 2 : 4;
    struct dht_pending *np = realloc(d->pend, nc * sizeof(*np));
    if (!np)
      return RL_ENOMEM;
    d->pend = np;
    d->cap_pend = nc;
  }
  p = &d->pend[d->n_pend++];
  memset(p, 0, sizeof(*p));
  p->txid = dht_txid(d);
  p->cookie = cookie;
  memcpy(p->key, key, DHT_KEY_LEN);
  /* Candidates we can name ourselves: when key falls within our successor
   * list, its owner and replicas are right there. Then hints learned from
   * earlier answers. Otherwise the overlay routes to the owner. */
  for (unsigned j = 0; owned && j + 1 < d->cfg.replicas && j < d->ring.n_succ; j++)
    cand_add(d, p, d->ring.succ[j]); /* our replicas */
  for (unsigned j = 0; !owned && j < d->ring.n_succ; j++) {
    /* key in (prev, succ[j]]: succ[j] owns it */
    if (dht_id_in(j ? d->ring.succ[j - 1] : d->cfg.self_id, key, d->ring.succ[j])) {
      for (unsigned i = j; i < d->ring.n_succ && i < j + d->cfg.replicas; i++)
        cand_add(d, p, d->ring.succ[i]);
      break;
    }
  }
  if (c && c->hint_until > now)
    for (unsigned i = 0; i < c->n_hint; i++)
      cand_add(d, p, c->hint[i]);
  get_send(d, p, now);
  return 0;
}

void dht_get_timer(struct dht *d, uint64_t now) {
  for (size_t i = 0; i < d->n_pend;) {
    struct dht_pending *p = &d->pend[i];
    if (p->deadline > now) {
      i++;
      continue;
    }
    if (p->attempts < d->cfg.get_attempts) {
      get_send(d, p, now);
      i++;
    } else {
      get_finish(d, i, RL_ETIMEDOUT, NULL, 0); /* swaps in the last: same i */
    }
  }
}

static void learn_hints(struct dht *d, const uint8_t key[DHT_KEY_LEN],
                        const struct dht_msg *m, uint64_t now) {
  struct dht_cent *c;
  if (!m->n_replicas || !(c = dht_cache_slot(d, key, now)))
    return;
  c->n_hint = 0;
  for (unsigned i = 0; i < m->n_replicas; i++)
    if (memcmp(m->replicas[i], d->cfg.self_id, RL_ID_LEN) != 0)
      memcpy(c->hint[c->n_hint++], m->replicas[i], RL_ID_LEN);
  c->hint_until = now + d->cfg.cache_ttl_ns;
}

static void cache_record(struct dht *d, const struct dht_record *r, const uint8_t *rec,
                         size_t len, uint64_t now) {
  struct dht_cent *c = dht_cache_slot(d, r->key, now);
  uint64_t until = now + d->cfg.cache_ttl_ns;
  uint64_t rec_end = r->expiry_s == DHT_REC_NO_EXPIRY ? RL_TIME_NEVER
                                                     : dht_unix_to_ns(d, r->expiry_s);
  uint8_t *copy;
  if (!c || !(copy = malloc(len)))
    return;
  memcpy(copy, rec, len);
  free(c->rec);
  c->rec = copy;
  c->rec_len = (uint16_t)len;
  c->rec_until = until < rec_end ? until : rec_end;
}

static void on_get_reply(struct dht *d, const uint8_t src[RL_ID_LEN],
                         const struct dht_msg *m, uint64_t now) {
  struct dht_record *r;
  size_t i;
  int rc;
  for (i = 0; i < d->n_pend; i++)
    if (d->pend[i].txid == m->txid && memcmp(d->pend[i].key, m->key, DHT_KEY_LEN) == 0)
      break;
  if (i == d->n_pend) {
    d->st.msgs_bad++;
    return;
  }
  learn_hints(d, m->key, m, now);
  dbg(d, "GET reply", m->key, src, m->status);
  struct dht_pending *p = &d->pend[i];
  struct cert rc_cert;
  if (m->status == DHT_ST_OK && m->rec_len && (r = malloc(sizeof(*r)))) {
    rc = dht_record_decode(r, m->rec, m->rec_len);
    if (rc == 0)
      rc = dht_record_verify(r, d->cfg.group, d->cfg.group_pk, dht_unix(d, now), &rc_cert);
    if (rc == 0 && r->type != DHT_REC_REVOCATION && dht_owner_revoked(d, &rc_cert))
      rc = RL_EREVOKED;
    if (rc == 0 && memcmp(r->key, p->key, DHT_KEY_LEN) != 0)
      rc = RL_EREFUSED;
    if (rc == 0) {
      cache_record(d, r, m->rec, m->rec_len, now);
      free(r);
      get_finish(d, i, 0, m->rec, m->rec_len);
      return;
    }
    free(r);
    d->st.rejected_invalid++;
  }
  /* Not found (or a bad answer): ask the replicas it named, if any are
   * left and the attempt budget allows; the answering node itself is
   * done. */
  cand_tried(d, p, src);
  for (unsigned j = 0; j < m->n_replicas; j++)
    cand_add(d, p, m->replicas[j]);
  if (p->next_cand < p->n_cand && p->attempts < d->cfg.get_attempts) {
    get_send(d, p, now);
  } else if (!p->routed) {
    /* Only nodes we named ourselves were asked (our successors, hints from
     * earlier answers): they may be stale (the ring moved since, the key's
     * holder changed). "Not found" is the owner's to say: ask it, once,
     * even past the attempt budget. */
    p->next_cand = p->n_cand;
    get_send(d, p, now);
  } else {
    get_finish(d, i, RL_ENOENT, NULL, 0);
  }
}

/* ---- requests from other nodes ---- */

static void on_get(struct dht *d, const uint8_t src[RL_ID_LEN], const struct dht_msg *m,
                   uint64_t now) {
  uint8_t buf[DHT_REC_MAX];
  struct dht_msg a = {.type = DHT_MSG_GET_REPLY, .txid = m->txid};
  int n = local_live(d, m->key, buf, now);
  memcpy(a.key, m->key, DHT_KEY_LEN);
  a.status = n > 0 ? DHT_ST_OK : DHT_ST_NOT_FOUND;
  dbg(d, "GET answered", m->key, src, a.status);
  a.rec = n > 0 ? buf : NULL;
  a.rec_len = n > 0 ? (size_t)n : 0;
  /* Our replica set is the key's only if we own the key: a node asked
   * for a key it does not own (a stale hint, a FINAL hop while the ring
   * moves) names nobody, or the asker would keep asking our successors
   * for a key that lives elsewhere (revocation.sh: a lookup asked four
   * such "replicas" and answered "not found" for a member that had
   * published 8 s before). */
  a.n_replicas = dht_ring_owns(d, &d->ring, m->key)
                     ? (uint8_t)dht_replica_set(d, &d->ring, a.replicas)
                     : 0;
  dht_q_route(d, src, OV_ROUTE_EXACT, &a);
}

/* A record the overlay delivered to us as the key's owner while our own
 * view of the ring says another node owns it. It happens while the ring
 * converges: a member that just joined knows few others, believes its
 * bootstrap node is the successor of most keys and marks its messages
 * FINAL to it, which then delivers whatever its own view says (overlay
 * ov_recv_routed). Kept here, such a record sat where no lookup looks
 * until the next anti-entropy pass (DHT_SWEEP_NS, 60 s), and the
 * publisher, acknowledged, did not send it again: a member just joined
 * was unresolvable for up to a minute (revocation.sh, seen 2 of 42 runs
 * under load). So we route it on to the owner we know of (a REPLICATE,
 * handled there as a hand-over). Once per new record: cannot loop. */
static void hand_on(struct dht *d, const uint8_t key[DHT_KEY_LEN], const uint8_t *rec,
                    size_t len) {
  struct dht_msg m = {.type = DHT_MSG_REPLICATE, .txid = dht_txid(d), .rec = rec, .rec_len = len};
  dbg(d, "handed on", key, NULL, 0);
  if (dht_q_route(d, key, OV_ROUTE_OWNER, &m) == 0) {
    d->st.replicate_sent++;
    d->st.handed_on++;
  }
}

static void on_store(struct dht *d, const uint8_t src[RL_ID_LEN], const struct dht_msg *m,
                     uint64_t now) {
  struct dht_msg a = {.type = DHT_MSG_STORE_ACK, .txid = m->txid};
  bool is_new;
  if (!rec_key(m->rec, m->rec_len, a.key)) {
    d->st.msgs_bad++;
    return;
  }
  a.status = (uint8_t)dht_accept(d, m->rec, m->rec_len, now, &is_new, &a.seq);
  dbg(d, is_new ? "STORE new" : "STORE", a.key, src, a.status);
  /* The overlay delivered the STORE to us as the key's owner: we hold the
   * primary copy and fill the replica set; or, if our view of the ring
   * says we are not the owner, we hand it on (hand_on). */
  if (is_new && dht_ring_owns(d, &d->ring, a.key))
    dht_push_replicas(d, a.key, m->rec, m->rec_len, NULL);
  else if (a.status == DHT_ST_OK && d->ring.joined && !dht_ring_owns(d, &d->ring, a.key))
    hand_on(d, a.key, m->rec, m->rec_len);
  a.n_replicas = (uint8_t)dht_replica_set(d, &d->ring, a.replicas);
  dht_q_route(d, src, OV_ROUTE_EXACT, &a);
}

static void on_replicate(struct dht *d, const uint8_t src[RL_ID_LEN],
                         const uint8_t target[RL_ID_LEN], const struct dht_msg *m,
                         uint64_t now) {
  uint8_t key[DHT_KEY_LEN], buf[DHT_REC_MAX];
  uint64_t held;
  bool is_new;
  int st, n;
  if (!rec_key(m->rec, m->rec_len, key)) {
    d->st.msgs_bad++;
    return;
  }
  st = dht_accept(d, m->rec, m->rec_len, now, &is_new, &held);
  dbg(d, is_new ? "REPLICATE new" : "REPLICATE", key, src, st);
  if (st == DHT_ST_STALE && (n = local_live(d, key, buf, now)) > 0) {
    /* Anti-entropy: the sender pushed an older version than ours (it kept
     * a copy from before a ring change). Send ours back so the holder of
     * the old one, possibly the owner now, catches up. It terminates: the
     * sender then holds our version and has nothing older to push. */
    struct dht_msg back = {.type = DHT_MSG_REPLICATE, .txid = dht_txid(d), .rec = buf,
                           .rec_len = (size_t)n};
    if (dht_q_route(d, src, OV_ROUTE_EXACT, &back) == 0)
      d->st.replicate_sent++;
  }
  /* Handed over to us as the new owner: fill our replica set. Only when
   * the record was new to us, so pushes always terminate. A hand-over
   * (routed to the key, not to us as a replica) that our view says is
   * not ours goes on to the owner we know of (hand_on). */
  if (is_new && dht_ring_owns(d, &d->ring, key))
    dht_push_replicas(d, key, m->rec, m->rec_len, NULL);
  else if (d->ring.joined && memcmp(target, key, DHT_KEY_LEN) == 0 &&
           !dht_ring_owns(d, &d->ring, key) && (st == DHT_ST_OK || st == DHT_ST_STALE)) {
    if (is_new)
      hand_on(d, key, m->rec, m->rec_len);
    else
      dht_retry_note(d, key, now); /* held already: maybe our own, come back */
  }
}

int dht_recv(struct dht *d, const uint8_t src[RL_ID_LEN], const uint8_t key[RL_ID_LEN],
             const uint8_t *payload, size_t len, uint64_t now) {
  struct dht_msg m;
  int rc = dht_msg_decode(&m, payload, len);
  /* Every message names the key it is about itself; key (the routed
   * target) tells a hand-over (routed to the record's key) from a replica
   * push (routed to us). */
  if (rc < 0) {
    d->st.msgs_bad++;
    return rc;
  }
  switch (m.type) {
  case DHT_MSG_STORE:
    on_store(d, src, &m, now);
    break;
  case DHT_MSG_STORE_ACK:
    on_store_ack(d, src, &m, now);
    break;
  case DHT_MSG_GET:
    on_get(d, src, &m, now);
    break;
  case DHT_MSG_GET_REPLY:
    on_get_reply(d, src, &m, now);
    break;
  case DHT_MSG_REPLICATE:
    on_replicate(d, src, key, &m, now);
    break;
  }
  return 0;
}
