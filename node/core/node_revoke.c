/* Revocation in the node core (docs/security.md, "Revocation (finding 4)").
 *
 * The node keeps the set of revoked members (crypto/revoke.h), shared by
 * pointer with the handshake (a revoked peer certificate fails with
 * RL_EREVOKED, both directions) and the DHT (records of revoked owners are
 * refused and dropped). A revocation learnt from anywhere (config, store,
 * CLI, a peer) is applied once:
 *
 *   1. every session with the member closes now (and a configured one
 *      keeps retrying into refused handshakes);
 *   2. its VIP mappings go: the vip cache entries and every DHT record it
 *      owns, so a new member certified for its VIP can claim it at once;
 *   3. it is flooded: sent (CTL_CH_REVOKE, REVOKE_MSG_ONE) on every
 *      established session except to the revoked member. A member forwards
 *      only revocations that are new to it, so each member sends each
 *      revocation once per session: bounded by links x revocations;
 *   4. it is persisted in the store's meta map ("rv.count", "rv.<i>").
 *
 * Convergence for members that were away, and despite lost datagrams:
 * a member that knows at least one revocation sends a digest of its set
 * (count + BLAKE2b of the sorted IDs) on every session that comes up and
 * every REVOKE_SYNC_NS on every established one. A member whose digest
 * differs answers with its set (at most REVOKE_PUSH_MAX revocations per
 * answer, from a random offset) and its own digest (marked as an answer:
 * not answered again), which makes the first one send what it lacks. The
 * sets only grow, every member merges what it is sent, so any two linked
 * members converge to the union of their sets, and a connected group to
 * the union of all sets. A group without revocations sends nothing.
 *
 * Certificate expiry: the same periodic walk (reap_idle, every 5 s)
 * closes sessions whose peer certificate's not_after has passed on the
 * driver's wall clock (rl_unix_s). */
#include <ringlan/error.h>
#include <stdio.h>
#include <string.h>

#include "node/core/node_internal.h"
#include "util/wire.h"

static bool id_is(const struct link *l, const uint8_t id[RL_ID_LEN]) {
  return l->s.have_peer && memcmp(l->s.peer_id, id, RL_ID_LEN) == 0;
}

static void persist(struct node *n, const struct revoke_entry *e) {
  struct dht_store *st = n->cfg.store;
  uint8_t cnt[4] = {0};
  uint32_t count = 0;
  char name[DHT_META_NAME_MAX + 1];
  int r;
  if (!st)
    return;
  if (st->ops->meta_get(st, "rv.count", cnt, sizeof(cnt)) == 4)
    count = (uint32_t)cnt[0] << 24 | (uint32_t)cnt[1] << 16 | (uint32_t)cnt[2] << 8 | cnt[3];
  snprintf(name, sizeof(name), "rv.%u", count);
  r = st->ops->meta_put(st, name, e->bin, e->len);
  count++;
  cnt[0] = (uint8_t)(count >> 24);
  cnt[1] = (uint8_t)(count >> 16);
  cnt[2] = (uint8_t)(count >> 8);
  cnt[3] = (uint8_t)count;
  if (r == 0)
    r = st->ops->meta_put(st, "rv.count", cnt, sizeof(cnt));
  if (r != 0)
    rl_logf(n->env, RL_LOG_WARN, "revocation not saved in the store: %s", rl_strerror(r));
}

static void send_one(struct node *n, struct link *l, const struct revoke_entry *e,
                     uint64_t now) {
  uint8_t msg[1 + REVOKE_BIN_MAX];
  msg[0] = REVOKE_MSG_ONE;
  memcpy(msg + 1, e->bin, e->len);
  link_send_ctl(n, l, CTL_CH_REVOKE, msg, 1 + (size_t)e->len, now);
}

static bool can_tell(const struct node *n, const struct link *l) {
  return l->used && l->s.state == SESS_ESTABLISHED && l->s.have_peer && !l->retire_at_ns &&
         !revoke_set_has(&n->revoked, l->s.peer_id);
}

/* Closes every session with id and forgets what maps to it. */
static void enforce(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t now) {
  unsigned closed = 0, dropped = 0;
  char hex[2 * RL_ID_LEN + 1];
  rl_hex_encode(hex, id, RL_ID_LEN);
  if (memcmp(id, n->hid.id, RL_ID_LEN) == 0)
    rl_logf(n->env, RL_LOG_ERROR, "this node (%.16s) is revoked by the group: members "
            "refuse it", hex);
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (!l->used)
      continue;
    if (id_is(l, id) || (!l->s.have_peer && l->has_expect &&
                         memcmp(l->expect_id, id, RL_ID_LEN) == 0)) {
      link_close(n, l, now);
      closed++;
    }
  }
  node_vipc_forget(n, id);
  if (n->dht)
    dropped = dht_drop_owner(n->dht, id);
  rl_logf(n->env, RL_LOG_WARN, "member %.16s revoked: %u session(s) closed, %u record(s) "
          "dropped", hex, closed, dropped);
}

/* from: the link it came over (not told again); save: persist it;
 * publish: store it in the DHT (not when it came from there). */
static int add(struct node *n, const struct revocation *r, const struct link *from,
               bool save, bool publish, uint64_t now) {
  int rc;
  unsigned i;
  /* Known: nothing to do, and no signature to check (digest answers
   * repeat whole sets). */
  if (revoke_set_has(&n->revoked, r->node_id))
    return 0;
  if ((rc = revoke_verify(r, n->cfg.group_pk, n->cfg.cert.group)) < 0)
    return rc;
  rc = revoke_set_add(&n->revoked, r);
  if (rc <= 0)
    return rc; /* known (0) or no room */
  n->c.revocations++;
  enforce(n, r->node_id, now);
  for (i = 0; i < n->revoked.n; i++)
    if (memcmp(n->revoked.e[i].id, r->node_id, RL_ID_LEN) == 0)
      break;
  if (save)
    persist(n, &n->revoked.e[i]);
  for (unsigned j = 0; j < n->n_links; j++) {
    struct link *l = n->links[j];
    if (l != from && can_tell(n, l))
      send_one(n, l, &n->revoked.e[i], now);
  }
  /* The DHT copy (docs/security.md): once per member and revocation, for
   * members that were away during the flood and look the member up. */
  if (publish && n->dht) {
    int prc = dht_put_revocation(n->dht, n->revoked.e[i].bin, n->revoked.e[i].len, now);
    if (prc < 0)
      rl_logf(n->env, RL_LOG_DEBUG, "revocation not published in the DHT: %s",
              rl_strerror(prc));
    node_dht_pump(n, now);
  }
  return 1;
}

int node_revoke_from_dht(struct node *n, const struct dht_record *rec, uint64_t now) {
  struct revocation r;
  int rc;
  if (rec->type != DHT_REC_REVOCATION || revoke_decode_bin(&r, rec->value, rec->value_len) != 0)
    return RL_EINVAL;
  rc = add(n, &r, NULL, true, false, now);
  if (rc == 1)
    n->c.revocations_from_dht++;
  return rc;
}

int node_revoke(struct node *n, const struct revocation *r, uint64_t now) {
  return add(n, r, NULL, true, true, now);
}

bool node_is_revoked(const struct node *n, const uint8_t id[RL_ID_LEN]) {
  return revoke_set_has(&n->revoked, id);
}

unsigned node_revoked_count(const struct node *n) { return n->revoked.n; }

int node_revoke_init(struct node *n, uint64_t now) {
  struct dht_store *st = n->cfg.store;
  struct revocation r;
  uint8_t buf[REVOKE_BIN_MAX], cnt[4];
  char name[DHT_META_NAME_MAX + 1];
  uint32_t count = 0;
  int len;
  n->hid.revoked = &n->revoked;
  n->next_revoke_sync_ns = now + REVOKE_SYNC_NS;
  for (unsigned i = 0; i < n->cfg.n_revoked; i++) {
    int rc = add(n, &n->cfg.revoked[i], NULL, false, false, now);
    if (rc < 0) {
      rl_logf(n->env, RL_LOG_ERROR, "revocation %u of the config: %s", i + 1, rl_strerror(rc));
      return rc;
    }
  }
  n->cfg.revoked = NULL; /* borrowed for node_new only */
  n->cfg.n_revoked = 0;
  if (st && st->ops->meta_get(st, "rv.count", cnt, sizeof(cnt)) == 4)
    count = (uint32_t)cnt[0] << 24 | (uint32_t)cnt[1] << 16 | (uint32_t)cnt[2] << 8 | cnt[3];
  for (uint32_t i = 0; i < count && i < REVOKE_SET_MAX; i++) {
    snprintf(name, sizeof(name), "rv.%u", i);
    len = st->ops->meta_get(st, name, buf, sizeof(buf));
    if (len < 0 || revoke_decode_bin(&r, buf, (size_t)len) != 0 ||
        add(n, &r, NULL, false, false, now) < 0)
      rl_logf(n->env, RL_LOG_WARN, "stored revocation %u unreadable: skipped", i);
  }
  return 0;
}

void node_revoke_free(struct node *n) { revoke_set_free(&n->revoked); }

/* want_reply: the periodic / link-up digest (the peer answers a mismatch
 * with its own digest, flag clear, which is never answered: no ping-pong). */
static void send_digest(struct node *n, struct link *l, bool want_reply, uint64_t now) {
  uint8_t msg[REVOKE_DIGEST_MSG_LEN];
  struct wire_w w;
  wire_w_init(&w, msg, sizeof(msg));
  wire_put_u8(&w, REVOKE_MSG_DIGEST);
  wire_put_u8(&w, want_reply ? 1 : 0);
  wire_put_u32be(&w, n->revoked.n);
  revoke_set_digest(&n->revoked, msg + 6);
  link_send_ctl(n, l, CTL_CH_REVOKE, msg, sizeof(msg), now);
}

void node_revoke_link_up(struct node *n, struct link *l, uint64_t now) {
  /* A member that knows no revocation stays silent: a member that knows
   * some sends its digest, and the answer to a mismatch covers both ways. */
  if (n->revoked.n && can_tell(n, l))
    send_digest(n, l, true, now);
  /* A peer whose revocation we missed (we were away, and no link told us
   * yet): its NODE key in the DHT holds the revocation. */
  if (l->s.have_peer)
    node_dht_check_peer(n, l->s.peer_id, now);
}

void node_revoke_recv(struct node *n, struct link *l, const uint8_t *msg, size_t len,
                      uint64_t now) {
  struct revocation r;
  uint8_t mine[REVOKE_DIGEST_LEN];
  int rc;
  if (len < 1 || revoke_set_has(&n->revoked, l->s.peer_id)) {
    n->c.ctl_bad++;
    return;
  }
  if (msg[0] == REVOKE_MSG_ONE) {
    if (revoke_decode_bin(&r, msg + 1, len - 1) != 0) {
      n->c.ctl_bad++;
      return;
    }
    if (revoke_set_has(&n->revoked, r.node_id))
      return; /* known: no check, no token */
    /* A member could send bogus ones as fast as its link carries them:
     * bound the signature checks, per link and in all. */
    rate_refill(&l->rv_budget, REVOKE_CHECK_LINK_PER_S, REVOKE_CHECK_LINK_BURST, now);
    rate_refill(&n->rv_budget, REVOKE_CHECK_ALL_PER_S, REVOKE_CHECK_ALL_BURST, now);
    if (!rate_has(&l->rv_budget, 1) || !rate_has(&n->rv_budget, 1)) {
      n->c.revoke_checks_dropped++; /* (neither is spent) */
      return;
    }
    rate_spend(&l->rv_budget, 1);
    rate_spend(&n->rv_budget, 1);
    rc = add(n, &r, l, true, true, now);
    if (rc < 0) {
      n->c.ctl_bad++;
      rl_logf(n->env, RL_LOG_DEBUG, "revocation from a peer refused: %s", rl_strerror(rc));
    }
  } else if (msg[0] == REVOKE_MSG_DIGEST) {
    if (len != REVOKE_DIGEST_MSG_LEN || msg[1] > 1) {
      n->c.ctl_bad++;
      return;
    }
    revoke_set_digest(&n->revoked, mine);
    if (memcmp(mine, msg + 6, REVOKE_DIGEST_LEN) == 0)
      return;
    /* Different sets: send ours (the peer merges it), and say what we
     * hold, so that the peer sends what we lack. */
    unsigned k = n->revoked.n < REVOKE_PUSH_MAX ? n->revoked.n : REVOKE_PUSH_MAX;
    unsigned start = n->revoked.n > REVOKE_PUSH_MAX ? rl_rand_uniform(n->env, n->revoked.n) : 0;
    for (unsigned i = 0; i < k && l->used; i++)
      send_one(n, l, &n->revoked.e[(start + i) % n->revoked.n], now);
    if (msg[1] == 1 && l->used)
      send_digest(n, l, false, now);
  } else {
    n->c.ctl_bad++;
  }
}

void node_revoke_tick(struct node *n, uint64_t now) {
  uint64_t unix_s = rl_unix_s(n->env, now);
  bool sync = now >= n->next_revoke_sync_ns;
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (!l->used || l->s.state != SESS_ESTABLISHED || !l->s.have_peer)
      continue;
    if (l->s.peer_not_after < unix_s) {
      char hex[2 * RL_ID_LEN + 1];
      rl_hex_encode(hex, l->s.peer_id, RL_ID_LEN);
      rl_logf(n->env, RL_LOG_WARN, "certificate of peer %.16s expired: session closed", hex);
      n->c.links_expired++;
      link_close(n, l, now);
      continue;
    }
    if (sync && n->revoked.n && can_tell(n, l))
      send_digest(n, l, true, now);
  }
  if (sync)
    n->next_revoke_sync_ns = now + REVOKE_SYNC_NS;
}
