/* Routed application messages bound to their sender, and caps on the work
 * they cause (docs/security.md, "Routed messages are bound to their sender
 * (finding 2)").
 *
 * A ROUTED overlay message names its originator in `src`, which no hop
 * checks. Messages that make the receiver work or answer -- every PUNCH
 * (hole punching, birthday probing, neighbour lists) and every DHT GET --
 * therefore travel as OV_APP_SIGNED with an origin proof
 * (crypto/origin.h); a bare one is dropped and counted. What a proven
 * sender may then cause is capped per sender and in total:
 *
 *   kind          per sender: burst, refill   total: burst, refill
 *   PUNCH handled 8, 1 per 2 s                64, 16 per s
 *   DHT GET       32, 8 per s                 512, 256 per s
 *   punch links   8, 1 per 2 s                64, 16 per s
 *
 * A legitimate member sends a PUNCH per connection attempt (retries back
 * off from 5 s) and a few birthday messages per attempt, so the PUNCH caps
 * leave room for a member connecting to several others at once; a DHT
 * GET costs the owner two signature checks with the LMDB store. A proof
 * that was acted on is not acted on again (node_seen.c): a replay within
 * the timestamp window is dropped before the caps, so it does not spend
 * its sender's budget either. */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "dht/msg.h"
#include "node/core/node_internal.h"

struct lim_rate {
  uint32_t burst;       /* tokens */
  uint64_t every_ns;    /* one token per */
};

static const struct lim_rate LIM_SRC[NODE_LIM_KINDS] = {
    [NODE_LIM_PUNCH] = {8, 2 * NS_PER_S},
    [NODE_LIM_GET] = {32, NS_PER_S / 8},
    [NODE_LIM_LINK] = {8, 2 * NS_PER_S},
};
static const struct lim_rate LIM_ALL[NODE_LIM_KINDS] = {
    [NODE_LIM_PUNCH] = {64, NS_PER_S / 16},
    [NODE_LIM_GET] = {512, NS_PER_S / 256},
    [NODE_LIM_LINK] = {64, NS_PER_S / 16},
};

static bool bucket_take(struct node_bucket *b, const struct lim_rate *r, uint64_t now) {
  return rate_take_every(&b->b, r->every_ns, r->burst, 1, now);
}

bool node_limit_take(struct node *n, enum node_lim_kind kind, const uint8_t src[RL_ID_LEN],
                     uint64_t now) {
  struct node_bucket *b = NULL, *old = NULL;
  if (!n->lim && !(n->lim = calloc(1, sizeof(*n->lim))))
    return false;
  for (unsigned i = 0; i < NODE_LIM_SOURCES && !b; i++) {
    struct node_bucket *e = &n->lim->src[kind][i];
    if (e->b.started && memcmp(e->id, src, RL_ID_LEN) == 0)
      b = e;
    else if (!old || !e->b.started || (old->b.started && e->b.at_ns < old->b.at_ns))
      old = e;
  }
  if (!b) {
    /* A new sender takes the slot used least recently. Only members with
     * a proven ID get here, so turning slots over takes many identities. */
    b = old;
    memset(b, 0, sizeof(*b));
    memcpy(b->id, src, RL_ID_LEN);
  }
  if (!bucket_take(b, &LIM_SRC[kind], now))
    return false;
  return bucket_take(&n->lim->all[kind], &LIM_ALL[kind], now);
}

void node_routed_free(struct node *n) {
  node_seen_free(n);
  free(n->lim);
  n->lim = NULL;
  free(n->oc);
  n->oc = NULL;
}

int node_route_signed(struct node *n, const uint8_t key[RL_ID_LEN], int mode, uint8_t app,
                      const uint8_t *data, size_t len, uint64_t now) {
  uint8_t buf[OV_APP_MAX];
  int k;
  if (!n->ov)
    return RL_ESTATE;
  /* A stamp of its own for every message sealed (ms, and past the last
   * one): the receiver acts on each proof once (node_seen.c), so a retry
   * must not look like a replay of the message it retries. */
  uint64_t stamp = rl_unix_ms(n->env, now);
  if (stamp <= n->origin_last_ms)
    stamp = n->origin_last_ms + 1;
  n->origin_last_ms = stamp;
  k = origin_seal(&n->hid, app, key, stamp, data, len, buf, sizeof(buf));
  if (k < 0) {
    n->c.ov_too_big++;
    return k;
  }
  return overlay_route(n->ov, key, mode, OV_APP_SIGNED, buf, (size_t)k, now);
}

static void dht_deliver(struct node *n, const struct ov_action *a, const uint8_t *p,
                        size_t len, uint64_t now) {
  if (!n->dht)
    return;
  dht_recv(n->dht, a->peer, a->key, p, len, now);
  node_dht_pump(n, now);
}

/* true: this proof of (app, p) from a->peer was acted on already within
 * its window, refused and counted (node_seen.c). false: new, with its
 * timestamp (unix s: the table's window) and digest (over the stamp in
 * ms, as signed), noted once the caps let it through. */
static bool replayed(struct node *n, const struct ov_action *a, uint8_t app, const uint8_t *p,
                     size_t len, uint64_t *ts, uint8_t d[NODE_SEEN_DIGEST]) {
  uint64_t ms;
  if (origin_stamp(a->data, a->len, &ms) != 0)
    return true;
  *ts = ms / 1000;
  node_seen_digest(n, a->peer, a->key, app, ms, p, len, d);
  if (node_seen_check(n, d, *ts) == 0)
    return false;
  n->c.routed_replayed++;
  return true;
}

/* An origin-proven payload: the sender is a->peer. Messages that cause
 * work (every PUNCH, a DHT GET) are acted on once per proof. */
static void signed_deliver(struct node *n, const struct ov_action *a, uint64_t now) {
  uint8_t d[NODE_SEEN_DIGEST];
  const uint8_t *p;
  uint64_t ts;
  size_t len;
  uint8_t app;
  if (!n->oc && !(n->oc = calloc(1, sizeof(*n->oc))))
    return;
  if (origin_open(&n->hid, n->oc, a->peer, a->key, rl_unix_ms(n->env, now), a->data, a->len,
                  &app, &p, &len) != 0) {
    n->c.routed_bad_origin++;
    return;
  }
  if (app == OV_APP_PUNCH) {
    if (replayed(n, a, app, p, len, &ts, d))
      return;
    if (!node_limit_take(n, NODE_LIM_PUNCH, a->peer, now)) {
      n->c.punches_capped++;
      return;
    }
    if (node_seen_note(n, d, ts, rl_unix_s(n->env, now)) != 0)
      return; /* (out of memory: a repeat could not be told, so not acted on) */
    node_nat_punch_recv(n, a->peer, p, len, a->len, now);
  } else if (app == OV_APP_DHT) {
    if (dht_msg_type(p, len) == DHT_MSG_GET) {
      /* (Other DHT messages need no proof: a replayed one is no more than
       * anyone may send bare.) */
      if (replayed(n, a, app, p, len, &ts, d))
        return;
      if (!node_limit_take(n, NODE_LIM_GET, a->peer, now)) {
        n->c.gets_capped++;
        return;
      }
      if (node_seen_note(n, d, ts, rl_unix_s(n->env, now)) != 0)
        return;
    }
    dht_deliver(n, a, p, len, now);
  } else {
    n->c.ctl_bad++;
  }
}

void node_routed_deliver(struct node *n, const struct ov_action *a, uint64_t now) {
  if (a->app == OV_APP_SIGNED) {
    signed_deliver(n, a, now);
  } else if (a->app == OV_APP_PUNCH) {
    n->c.routed_unsigned++; /* anyone could have written its src */
  } else if (a->app == OV_APP_DHT) {
    if (dht_msg_type(a->data, a->len) == DHT_MSG_GET)
      n->c.routed_unsigned++;
    else
      dht_deliver(n, a, a->data, a->len, now);
  }
}
