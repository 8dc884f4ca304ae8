/* Sessions: per-peer key state, handshake retries, rekey, keepalive and
 * dead-peer detection (sess.h). Timer events, by name:
 *   hs_retry      HS_INIT unanswered: new HS_INIT, interval doubles; DEAD
 *                 after hs_max_tries
 *   lame_duck     previous key's receive grace period over: wipe it
 *   rekey         current key older than rekey_ns (its initiator) or
 *                 rekey_ns + REKEY_RESPONDER_DELAY (its responder, so both
 *                 sides rarely start at once)
 *   keepalive     no packet sent for keepalive_ns: send DC_KEEPALIVE
 *   dead          nothing authenticated received for timeout_ns: DEAD */
#include "crypto/sess.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The responder side of a key waits this fraction of rekey_ns longer than
 * the initiator before rekeying itself. */
#define REKEY_RESPONDER_DELAY(p) ((p)->rekey_ns / 16)
#define HS_BACKOFF_MAX_SHIFT 16

void sess_params_default(struct sess_params *p) {
  p->rekey_ns = 3600 * NS_PER_S;
  p->keepalive_ns = 10 * NS_PER_S;
  p->timeout_ns = 40 * NS_PER_S;
  p->hs_retry_ns = 1 * NS_PER_S;
  p->hs_max_tries = 8;
  p->lame_duck_ns = 60 * NS_PER_S;
}

void sess_init(struct sess *s, const struct hs_identity *id,
               const struct sess_params *p, uint32_t local_index,
               const struct rl_addr *endpoint) {
  memset(s, 0, sizeof(*s));
  s->id = id;
  if (p)
    s->p = *p;
  else
    sess_params_default(&s->p);
  s->local_index = local_index;
  s->remote_index = DC_PEER_ID_UNDEF;
  if (endpoint)
    s->endpoint = *endpoint;
  s->state = SESS_IDLE;
  s->slot_cur = s->slot_prev = s->slot_next = -1;
  s->timer_ns = RL_TIME_NEVER;
}

static void retime(struct sess *s);

static uint8_t key_id_after(uint8_t k) { return k >= 7 ? 1 : (uint8_t)(k + 1); }

/* Frees the key in slot (if any) and forgets the slot's roles. */
static void key_wipe(struct sess *s, int slot) {
  struct sess_key *k;
  if (slot < 0)
    return;
  k = s->keys[slot];
  if (k) {
    dc_tx_wipe(&k->tx);
    dc_rx_wipe(&k->rx);
    sodium_memzero(k, sizeof(*k));
    free(k);
    s->keys[slot] = NULL;
  }
  if (s->slot_cur == slot)
    s->slot_cur = -1;
  if (s->slot_prev == slot)
    s->slot_prev = -1;
  if (s->slot_next == slot)
    s->slot_next = -1;
}

static void keys_wipe_all(struct sess *s) {
  for (int i = 0; i < SESS_NKEYS; i++)
    key_wipe(s, i);
}

static uint8_t *outq_buf(struct sess *s, unsigned i) {
  return s->outq[i].big ? s->outq[i].big : s->outq[i].small;
}

/* Empties queue entry i (wipes and frees its buffer). */
static void outq_clear(struct sess *s, unsigned i) {
  sodium_memzero(outq_buf(s, i), s->outq[i].len);
  free(s->outq[i].big);
  s->outq[i].big = NULL;
  s->outq[i].len = 0;
}

/* Queues a packet for sess_poll. Handshake messages get a heap buffer of
 * their length (freed when polled), keepalives fit inline: an idle
 * session's queue holds no heap memory. */
static void queue(struct sess *s, const uint8_t *pkt, size_t len) {
  unsigned slot;
  uint8_t *big = NULL;
  if (len == 0 || len > HS_MSG_MAX)
    return;
  if (len > SESS_OUTQ_INLINE) {
    big = malloc(len);
    if (!big)
      return; /* as if lost on the way: handshakes retry, keepalives repeat */
  }
  if (s->outq_n == SESS_OUTQ) { /* full: the oldest is the least useful */
    outq_clear(s, s->outq_head);
    s->outq_head = (s->outq_head + 1) % SESS_OUTQ;
    s->outq_n--;
  }
  slot = (s->outq_head + s->outq_n) % SESS_OUTQ;
  s->outq[slot].big = big;
  memcpy(outq_buf(s, slot), pkt, len);
  s->outq[slot].len = (uint16_t)len;
  s->outq_n++;
}

/* The initiator state lives on the heap only while a handshake runs. */
static void hs_drop(struct sess *s) {
  if (s->hs) {
    hs_initiation_wipe(s->hs);
    free(s->hs);
    s->hs = NULL;
  }
}

static void go_dead(struct sess *s) {
  s->state = SESS_DEAD;
  s->hs_running = false;
  hs_drop(s);
  keys_wipe_all(s);
}

static void follow_endpoint(struct sess *s, const struct rl_addr *from) {
  if (from && from->family != RL_AF_NONE && !rl_addr_equal(from, &s->endpoint))
    s->endpoint = *from;
}

/* ------------------------------------------------------------ handshake */

static void send_init(struct sess *s, uint64_t now) {
  uint8_t buf[HS_MSG_MAX];
  unsigned shift = s->hs_tries < HS_BACKOFF_MAX_SHIFT ? s->hs_tries : HS_BACKOFF_MAX_SHIFT;
  int n = -1;
  if (!s->hs)
    s->hs = calloc(1, sizeof(*s->hs)); /* NULL: this try is lost, the next retries */
  if (s->hs)
    n = hs_init_create(s->hs, s->id, s->local_index, s->hs_key_id, now, buf, sizeof(buf));
  if (n > 0)
    queue(s, buf, (size_t)n);
  s->hs_tries++;
  s->hs_next_ns = now + (s->p.hs_retry_ns << shift);
  sodium_memzero(buf, sizeof(buf));
}

static void begin_hs(struct sess *s, uint64_t now) {
  /* key_id: 0 for a first key, then 1..7 cycling (never back to 0, which
   * means "fresh start" to the peer) */
  s->hs_key_id = s->slot_cur < 0 && s->slot_next < 0 ? 0 : s->next_key_id;
  s->hs_running = true;
  s->hs_tries = 0;
  send_init(s, now);
}

static int sess_start_impl(struct sess *s, uint64_t now) {
  if (s->hs_running || s->state == SESS_ESTABLISHED)
    return 0;
  s->state = SESS_HANDSHAKE;
  begin_hs(s, now);
  return 0;
}

static int sess_rekey_impl(struct sess *s, uint64_t now) {
  if (s->state != SESS_ESTABLISHED)
    return RL_ESTATE;
  if (!s->hs_running)
    begin_hs(s, now);
  return 0;
}

void sess_pin_peer(struct sess *s, const uint8_t pk[RL_PK_LEN]) {
  s->pinned = true;
  id_overlay_id(pk, s->pinned_id);
}

/* Is peer_id allowed on s? A session never changes its peer. */
static bool peer_ok(const struct sess *s, const uint8_t peer_id[RL_ID_LEN]) {
  if (s->pinned && memcmp(s->pinned_id, peer_id, RL_ID_LEN) != 0)
    return false;
  if (s->have_peer && memcmp(s->peer_id, peer_id, RL_ID_LEN) != 0)
    return false;
  return memcmp(s->id->id, peer_id, RL_ID_LEN) != 0; /* not ourselves */
}

/* ------------------------------------------------------------ key slots */

/* Sets up a key from res in a free slot (or the one it replaces). */
static int install(struct sess *s, const struct hs_result *res, bool keep_cur, uint64_t now) {
  int slot = -1, rc;
  struct sess_key *k;
  for (int i = 0; i < SESS_NKEYS && slot < 0; i++)
    if (s->keys[i] && s->keys[i]->key_id == res->key_id && !(keep_cur && i == s->slot_cur))
      slot = i; /* same key_id: a retried handshake replaces it */
  for (int i = 0; i < SESS_NKEYS && slot < 0; i++)
    if (!s->keys[i])
      slot = i;
  if (slot < 0)
    slot = s->slot_prev >= 0 ? s->slot_prev : s->slot_next;
  if (slot < 0)
    return RL_EFULL; /* unreachable: at most cur, prev and next */
  key_wipe(s, slot);
  /* Handshake time: the only place a key's memory is allocated. */
  k = calloc(1, sizeof(*k));
  if (!k)
    return RL_ENOMEM;
  s->keys[slot] = k;
  /* keys[0] = initiator->responder */
  rc = dc_tx_init(&k->tx, res->cipher, res->fmt, res->key2, res->initiator ? 0 : 1);
  if (rc == 0)
    rc = dc_rx_init(&k->rx, res->cipher, res->fmt, res->key2, res->initiator ? 1 : 0);
  if (rc < 0) {
    key_wipe(s, slot);
    return rc;
  }
  k->tx.standin = k->rx.standin = s->id && s->id->env && s->id->env->crypto_standin;
  k->used = true;
  k->key_id = res->key_id;
  k->remote_index = res->remote_index;
  k->created_ns = now;
  k->retire_at_ns = 0;
  k->initiated = res->initiator;
  s->next_key_id = key_id_after(res->key_id);
  return slot;
}

/* slot becomes the key we send with; the old one receives for lame_duck_ns. */
static void promote(struct sess *s, int slot, uint64_t now) {
  int old = s->slot_cur;
  if (s->slot_next == slot)
    s->slot_next = -1;
  if (s->slot_prev == slot)
    s->slot_prev = -1;
  if (old >= 0 && old != slot) {
    if (s->slot_prev >= 0)
      key_wipe(s, s->slot_prev);
    s->slot_prev = (int8_t)old;
    s->keys[old]->retire_at_ns = now + s->p.lame_duck_ns;
  }
  s->slot_cur = (int8_t)slot;
  s->keys[slot]->retire_at_ns = 0;
  s->cur_key_id = s->keys[slot]->key_id;
  s->remote_index = s->keys[slot]->remote_index;
}

static void adopt_peer(struct sess *s, const struct hs_result *res, uint64_t now) {
  s->have_peer = true;
  s->peer_vip = res->peer_cert.vip;
  s->peer_not_after = res->peer_cert.not_after;
  memcpy(s->peer_id, res->peer_id, RL_ID_LEN);
  s->cipher = res->cipher;
  s->fmt = res->fmt;
  s->peer_boot = res->peer_boot;
  s->state = SESS_ESTABLISHED;
  s->handshakes++;
  s->last_hs_ns = now;
  s->last_rx_ns = now;
  if (s->established_ns == 0)
    s->established_ns = now;
}

/* Encrypts pt with the current key into out; bookkeeping for tx. */
static int encrypt_cur(struct sess *s, const uint8_t *pt, size_t len, uint64_t now,
                       uint8_t *out, size_t cap) {
  struct sess_key *k;
  int n;
  if (s->slot_cur < 0)
    return RL_EAGAIN;
  k = s->keys[s->slot_cur];
  n = dc_encrypt(&k->tx, k->key_id, k->remote_index, pt, len, out, cap);
  if (n == RL_EKEYEXHAUSTED) {
    if (!s->hs_running)
      begin_hs(s, now);
    return RL_EAGAIN;
  }
  if (n < 0)
    return n;
  s->last_tx_ns = now;
  s->tx_pkts++;
  s->tx_bytes += len;
  if (!s->hs_running && dc_tx_wants_rekey(&k->tx))
    begin_hs(s, now);
  return n;
}

static void send_keepalive(struct sess *s, uint64_t now) {
  uint8_t buf[sizeof(DC_KEEPALIVE) + DC_OVERHEAD_MAX];
  int n = encrypt_cur(s, DC_KEEPALIVE, sizeof(DC_KEEPALIVE), now, buf, sizeof(buf));
  if (n > 0)
    queue(s, buf, (size_t)n);
  else
    s->last_tx_ns = now; /* (exhausted key, rekey under way) retry in
                          * keepalive_ns, never a timer in the past */
}

/* Verdict on an HS_INIT from peer_id with timestamp ts (sess_check_init). */
static int init_verdict(const struct sess *s, const uint8_t peer_id[RL_ID_LEN], uint64_t ts) {
  if (!peer_ok(s, peer_id))
    return RL_EAUTH;
  if (sess_init_is_replay(s, ts))
    return RL_EREPLAY;
  /* Simultaneous initiation (first open or rekey): the lower overlay ID's
   * handshake goes on, the other side answers it. */
  if (s->hs_running && memcmp(s->id->id, peer_id, RL_ID_LEN) < 0)
    return RL_EEXIST;
  return 0;
}

static int sess_accept_impl(struct sess *s, const struct hs_result *res,
                const uint8_t *resp, size_t resp_len, uint64_t now) {
  int slot, rc;
  bool keep;
  if (res->initiator || res->key_id > 7)
    return RL_EINVAL;
  /* Checked again here (sess_respond checks before the DH work) so that a
   * caller that skips sess_check_init still gets replay protection and a
   * converging tie-break; nothing is queued on refusal. */
  rc = init_verdict(s, res->peer_id, res->peer_timestamp);
  if (rc < 0) {
    /* The HS_INIT was signed, so its timestamp is genuine even when we drop
     * it: recording it stops a later replay of this very message. */
    if (rc == RL_EEXIST)
      s->peer_timestamp = res->peer_timestamp;
    return rc;
  }
  /* The peer's initiation won (tie-break) or it restarted: ours is moot. */
  if (s->hs_running) {
    s->hs_running = false;
    hs_drop(s);
  }
  /* With a working key, the new one takes effect only once the
   * initiator's first packet under it arrives (it sends a keepalive right
   * after HS_RESP): a rekey, a peer that restarted (key_id 0 again), or a
   * replayed HS_INIT, which then changes nothing (issue 10, finding 1).
   * Without one (a first key), it is current at once; key_id 0 = the peer
   * starts from scratch: nothing else we hold is known to it. */
  keep = s->state == SESS_ESTABLISHED && s->slot_cur >= 0;
  if (res->key_id == 0 && !keep)
    keys_wipe_all(s);
  slot = install(s, res, keep, now);
  if (slot < 0)
    return slot;
  if (!keep) {
    promote(s, slot, now);
  } else {
    if (s->slot_next >= 0 && s->slot_next != slot)
      key_wipe(s, s->slot_next);
    s->slot_next = (int8_t)slot;
  }
  if (res->peer_timestamp > s->peer_timestamp)
    s->peer_timestamp = res->peer_timestamp;
  adopt_peer(s, res, now);
  s->last_tx_ns = now; /* the HS_RESP counts as traffic sent */
  s->hs_tries = 0;
  queue(s, resp, resp_len);
  return 0;
}

bool sess_init_is_replay(const struct sess *s, uint64_t ts) {
  return ts <= s->peer_timestamp;
}

int sess_check_init(const struct sess *s, const struct hs_pending *p) {
  return init_verdict(s, p->peer_id, p->peer_timestamp);
}

static int sess_respond_impl(struct sess *s, struct hs_responder *r, struct hs_pending *p,
                 const struct rl_addr *from, uint64_t now) {
  uint8_t resp[HS_MSG_MAX];
  struct hs_result res;
  int rc = sess_check_init(s, p), n;
  memset(&res, 0, sizeof(res));
  if (rc < 0) {
    if (rc == RL_EEXIST) /* genuine timestamp: see sess_accept */
      s->peer_timestamp = p->peer_timestamp;
    goto out;
  }
  n = hs_resp_finish(r, p, s->local_index, now, resp, sizeof(resp), &res);
  if (n < 0) {
    rc = n;
    goto out;
  }
  /* An established session answers an HS_INIT from elsewhere there, but
   * moves only when the initiator's first packet under the new key comes
   * from there (sess_recv follows authenticated data). */
  if (s->state == SESS_ESTABLISHED && s->slot_cur >= 0 && from && from->family != RL_AF_NONE &&
      !rl_addr_equal(from, &s->endpoint)) {
    s->resp_to = *from;
    s->has_resp_to = true;
  } else {
    follow_endpoint(s, from);
  }
  rc = sess_accept(s, &res, resp, (size_t)n, now);
  if (rc != 0)
    s->has_resp_to = false;
out:
  hs_pending_wipe(p);
  sodium_memzero(&res, sizeof(res));
  sodium_memzero(resp, sizeof(resp));
  return rc;
}

/* ------------------------------------------------------------ receive */

static int recv_resp(struct sess *s, const struct rl_addr *from, const uint8_t *pkt,
                     size_t len, uint64_t now) {
  struct hs_result res;
  uint64_t sent_at;
  int rc, slot;
  if (!s->hs_running || !s->hs || !s->hs->active)
    return RL_ESTATE; /* duplicate or late HS_RESP: harmless */
  sent_at = s->hs->sent_at_ns;
  rc = hs_init_consume_resp(s->hs, s->id, pkt, len, now, &res);
  if (rc < 0)
    return rc;
  if (!peer_ok(s, res.peer_id)) {
    /* Someone else answered at this endpoint; hs_retry sends a new
     * HS_INIT (hs_running stays set). */
    rc = RL_EAUTH;
    goto out;
  }
  slot = install(s, &res, false, now);
  if (slot < 0) {
    rc = slot;
    goto out;
  }
  promote(s, slot, now);
  s->hs_running = false;
  hs_drop(s);
  s->hs_tries = 0;
  adopt_peer(s, &res, now);
  s->rtt_ns = now > sent_at ? now - sent_at : 0;
  follow_endpoint(s, from);
  /* Confirms the key to the responder, which sends with it from then on. */
  send_keepalive(s, now);
  rc = 0;
out:
  sodium_memzero(&res, sizeof(res));
  return rc;
}

/* The next slot after `after` (-1: from the start) holding key_id. Two
 * keys may share an id for a moment: a peer that restarted (or a
 * replayed handshake) offers key 0 while our key 0 still works; the new
 * one waits for the initiator's first packet (sess_accept), and a packet
 * is tried under both. */
static int find_key(struct sess *s, uint8_t key_id, int after, uint64_t now) {
  for (int i = after + 1; i < SESS_NKEYS; i++) {
    struct sess_key *k = s->keys[i];
    if (!k || k->key_id != key_id)
      continue;
    if (k->retire_at_ns && k->retire_at_ns <= now) {
      key_wipe(s, i); /* lame duck expired even if the timer was late */
      continue;
    }
    return i;
  }
  return -1;
}

static int sess_recv_impl(struct sess *s, const struct rl_addr *from, const uint8_t *pkt,
              size_t len, uint64_t now, uint8_t *pt, size_t cap) {
  struct dc_hdr h;
  struct sess_key *k;
  uint64_t pid = 0;
  int slot, n;
  if (len < 4)
    return RL_ETRUNC;
  switch (pkt[0] >> 3) {
  case HS_OP_RESP:
    return recv_resp(s, from, pkt, len, now);
  case HS_OP_COOKIE:
    if (!s->hs_running || !s->hs || !s->hs->active)
      return RL_ESTATE;
    return hs_init_consume_cookie(s->hs, s->id, pkt, len, now);
  case DC_OP_DATA_V2:
    break;
  default:
    return RL_ETRUNC;
  }
  n = dc_peek(pkt, len, &h);
  if (n < 0)
    return n;
  slot = find_key(s, h.key_id, -1, now);
  if (slot < 0) {
    s->rx_auth_fail++;
    return RL_EAUTH;
  }
  k = s->keys[slot];
  n = dc_decrypt(&k->rx, pkt, len, pt, cap, now, &pid);
  for (int other = slot; n == RL_EAUTH && (other = find_key(s, h.key_id, other, now)) >= 0;) {
    /* (the tag is checked before the replay window: a wrong key changes
     * nothing) */
    slot = other;
    k = s->keys[slot];
    n = dc_decrypt(&k->rx, pkt, len, pt, cap, now, &pid);
  }
  if (n < 0) {
    if (n == RL_EAUTH)
      s->rx_auth_fail++;
    else if (n == RL_EREPLAY)
      s->rx_replay++;
    return n;
  }
  s->last_rx_ns = now;
  s->rx_pid = pid;
  s->rx_key_id = h.key_id;
  s->rx_pkts++;
  s->rx_bytes += (uint64_t)n;
  follow_endpoint(s, from);
  /* Epoch format: the peer moved to a later epoch, follow it as OpenVPN
   * does, so both directions roll over together. */
  if (k->rx.fmt == DC_FMT_EPOCH && k->rx.epoch > k->tx.epoch)
    (void)dc_tx_set_epoch(&k->tx, k->rx.epoch);
  if (slot == s->slot_next) {
    promote(s, slot, now); /* the initiator has the new key: switch */
    /* A waiting key 0 is a peer that started from scratch (it restarted):
     * none of the keys we held is known to it any more. */
    for (int i = 0; s->keys[slot]->key_id == 0 && i < SESS_NKEYS; i++)
      if (i != slot)
        key_wipe(s, i);
  }
  if (dc_is_keepalive(pt, (size_t)n))
    return 0;
  return n;
}

static int sess_encrypt_impl(struct sess *s, const uint8_t *pt, size_t len, uint64_t now,
                 uint8_t *out, size_t cap) {
  if (s->state != SESS_ESTABLISHED)
    return RL_EAGAIN;
  return encrypt_cur(s, pt, len, now, out, cap);
}

size_t sess_poll(struct sess *s, uint8_t *out, size_t cap) {
  while (s->outq_n > 0) {
    unsigned i = s->outq_head;
    size_t len = s->outq[i].len;
    s->outq_head = (s->outq_head + 1) % SESS_OUTQ;
    s->outq_n--;
    if (len <= cap) {
      memcpy(out, outq_buf(s, i), len);
      outq_clear(s, i);
      return len;
    }
    outq_clear(s, i); /* too big for the caller: dropped */
  }
  return 0;
}

/* ------------------------------------------------------------ timers */

static uint64_t rekey_at(const struct sess *s) {
  const struct sess_key *k;
  if (s->slot_cur < 0)
    return RL_TIME_NEVER;
  k = s->keys[s->slot_cur];
  return k->created_ns + s->p.rekey_ns + (k->initiated ? 0 : REKEY_RESPONDER_DELAY(&s->p));
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static uint64_t compute_timer(const struct sess *s) {
  uint64_t t = RL_TIME_NEVER;
  if (s->state == SESS_DEAD || s->state == SESS_IDLE)
    return t;
  if (s->hs_running)
    t = min64(t, s->hs_next_ns);
  for (int i = 0; i < SESS_NKEYS; i++)
    if (s->keys[i] && s->keys[i]->retire_at_ns)
      t = min64(t, s->keys[i]->retire_at_ns);
  if (s->state == SESS_ESTABLISHED && s->slot_cur >= 0) {
    t = min64(t, s->last_rx_ns + s->p.timeout_ns);
    t = min64(t, s->last_tx_ns + s->p.keepalive_ns);
    if (!s->hs_running)
      t = min64(t, rekey_at(s));
  }
  return t;
}

static void sess_on_timer_impl(struct sess *s, uint64_t now) {
  if (s->state == SESS_DEAD || s->state == SESS_IDLE)
    return;
  for (int i = 0; i < SESS_NKEYS; i++)
    if (s->keys[i] && s->keys[i]->retire_at_ns && s->keys[i]->retire_at_ns <= now)
      key_wipe(s, i);
  if (s->hs_running && now >= s->hs_next_ns) {
    if (s->hs_tries >= s->p.hs_max_tries) {
      go_dead(s);
      return;
    }
    send_init(s, now);
  }
  if (s->state != SESS_ESTABLISHED || s->slot_cur < 0)
    return;
  if (now >= s->last_rx_ns + s->p.timeout_ns) {
    go_dead(s);
    return;
  }
  if (!s->hs_running &&
      (now >= rekey_at(s) || dc_tx_wants_rekey(&s->keys[s->slot_cur]->tx)))
    begin_hs(s, now);
  if (now >= s->last_tx_ns + s->p.keepalive_ns)
    send_keepalive(s, now);
}

/* The cached value is refreshed after every call that can move a timer
 * (see struct sess timer_ns); the node core asks for it after every event
 * on every link, so it must be one load, not a walk over the keys. */
static void retime(struct sess *s) {
  uint64_t t = compute_timer(s);
  bool peer_news = s->have_peer && !s->told_peer;
  if (t == s->timer_ns && !peer_news)
    return;
  s->timer_ns = t;
  s->told_peer = s->have_peer;
  if (s->on_retime)
    s->on_retime(s->retime_ctx);
}

uint64_t sess_next_timer(const struct sess *s) { return s->timer_ns; }

void sess_wipe(struct sess *s) {
  keys_wipe_all(s);
  for (unsigned i = 0; i < SESS_OUTQ; i++)
    outq_clear(s, i);
  hs_drop(s);
  sodium_memzero(s, sizeof(*s));
  s->timer_ns = RL_TIME_NEVER;
}

int sess_start(struct sess *s, uint64_t now) {
  int r = sess_start_impl(s, now);
  retime(s);
  return r;
}

int sess_rekey(struct sess *s, uint64_t now) {
  int r = sess_rekey_impl(s, now);
  retime(s);
  return r;
}

int sess_accept(struct sess *s, const struct hs_result *res,
                const uint8_t *resp, size_t resp_len, uint64_t now) {
  int r = sess_accept_impl(s, res, resp, resp_len, now);
  retime(s);
  return r;
}

int sess_respond(struct sess *s, struct hs_responder *r, struct hs_pending *p,
                 const struct rl_addr *from, uint64_t now) {
  int rc = sess_respond_impl(s, r, p, from, now);
  retime(s);
  return rc;
}

int sess_recv(struct sess *s, const struct rl_addr *from, const uint8_t *pkt,
              size_t len, uint64_t now, uint8_t *pt, size_t cap) {
  int r = sess_recv_impl(s, from, pkt, len, now, pt, cap);
  retime(s);
  return r;
}

int sess_encrypt(struct sess *s, const uint8_t *pt, size_t len, uint64_t now,
                 uint8_t *out, size_t cap) {
  int r = sess_encrypt_impl(s, pt, len, now, out, cap);
  retime(s);
  return r;
}

void sess_on_timer(struct sess *s, uint64_t now) {
  sess_on_timer_impl(s, now);
  retime(s);
}
