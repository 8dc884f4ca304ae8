/* Origin proofs already acted on: replay suppression for signed routed
 * messages (docs/security.md, finding 2, "Replays").
 *
 * An origin proof (crypto/origin.h) carries a timestamp that the receiver
 * accepts within ORIGIN_SKEW_S either way, so a member on the path could
 * deliver a captured PUNCH or DHT GET again within that window and have
 * it acted on again. The node keeps a digest of every proof it acted on
 * until the proof's own timestamp leaves the window (ts + ORIGIN_SKEW_S
 * passed: the clock check refuses it from then on) and refuses a repeat.
 *
 * The digest is a keyed BLAKE2b-128 (key drawn at first use, so nobody can
 * aim entries at one slot of the table) over what the signature covers:
 * src, routed key, inner app, timestamp and payload. Not over the
 * signature bytes or the certificate: the certificate is not signed (a
 * replay with another certificate of the same node is the same message),
 * and what is signed identifies the message whatever the signature bytes.
 * Every message a node seals has a stamp of its own (ms, increasing:
 * node_route_signed), so a member's retries are new messages; only a copy
 * of the same signed bytes is a repeat. The table's window works in whole
 * seconds (the ts passed to check/note); the digest covers the ms stamp.
 *
 * Bounded: an open-addressing table (linear probing, at most half full)
 * that grows with use up to NODE_SEEN_MAX entries; expired entries are
 * dropped whenever it is rebuilt. When the live entries alone would not
 * fit, the oldest timestamps are forgotten and the floor rises to the
 * newest timestamp forgotten: proofs stamped at or before the floor are
 * refused from then on (a possible replay is never accepted silently).
 * Only proofs that passed the rate caps are noted, so the table fills at
 * most at the caps' total rates (node_routed.c). */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/node_internal.h"

#define SEEN_MIN_SLOTS 64u
#define SEEN_MAX_SLOTS (2u * NODE_SEEN_MAX)
#define SEEN_SPAN (4 * ORIGIN_SKEW_S + 2) /* timestamps a rebuild sorts */

struct seen_ent {
  uint8_t d[NODE_SEEN_DIGEST];
  uint64_t ts1;              /* timestamp + 1; 0: free */
};

struct node_seen {
  uint8_t hkey[crypto_generichash_KEYBYTES];
  struct seen_ent *t;
  unsigned cap, n;           /* slots (a power of two), entries in them */
  bool has_floor;
  uint64_t floor;            /* proofs stamped at or before it are refused */
};

static struct node_seen *seen_get(struct node *n) {
  if (!n->seen && (n->seen = calloc(1, sizeof(*n->seen))) != NULL)
    rl_rand(n->env, n->seen->hkey, sizeof(n->seen->hkey));
  return n->seen;
}

void node_seen_free(struct node *n) {
  if (!n->seen)
    return;
  free(n->seen->t);
  sodium_memzero(n->seen, sizeof(*n->seen));
  free(n->seen);
  n->seen = NULL;
}

static uint32_t slot_of(const uint8_t d[NODE_SEEN_DIGEST], unsigned cap) {
  uint32_t h;
  memcpy(&h, d, sizeof(h));
  return h & (cap - 1);
}

static bool live(const struct seen_ent *e, uint64_t now_unix) {
  return e->ts1 && e->ts1 - 1 + ORIGIN_SKEW_S >= now_unix;
}

static bool kept(const struct node_seen *s, const struct seen_ent *e, uint64_t now_unix) {
  return live(e, now_unix) && !(s->has_floor && e->ts1 - 1 <= s->floor);
}

static void put(struct seen_ent *t, unsigned cap, const uint8_t d[NODE_SEEN_DIGEST],
                uint64_t ts1) {
  uint32_t i = slot_of(d, cap);
  while (t[i].ts1)
    i = (i + 1) & (cap - 1);
  memcpy(t[i].d, d, NODE_SEEN_DIGEST);
  t[i].ts1 = ts1;
}

/* The floor that leaves at most keep live entries: the greatest timestamp
 * T such that the entries stamped after T number keep or fewer. */
static void raise_floor(struct node_seen *s, uint64_t now_unix, unsigned keep) {
  static const unsigned span = SEEN_SPAN;
  unsigned count[SEEN_SPAN];
  uint64_t base = now_unix > 2 * ORIGIN_SKEW_S ? now_unix - 2 * ORIGIN_SKEW_S : 0;
  unsigned above = 0;
  memset(count, 0, sizeof(count));
  for (unsigned i = 0; i < s->cap; i++) {
    uint64_t ts;
    if (!kept(s, &s->t[i], now_unix))
      continue;
    ts = s->t[i].ts1 - 1;
    count[ts < base ? 0 : ts - base >= span ? span - 1 : ts - base]++;
  }
  for (unsigned b = span; b-- > 0;) {
    if (above + count[b] > keep) {
      uint64_t f = base + b; /* everything at or before bucket b goes */
      if (!s->has_floor || f > s->floor)
        s->floor = f;
      s->has_floor = true;
      return;
    }
    above += count[b];
  }
}

/* Rebuilds the table without expired (or floored) entries, sized for one
 * more entry. When even the live ones would not fit, the floor rises until
 * three quarters of NODE_SEEN_MAX remain (room for many more before the
 * next rebuild). */
static int rebuild(struct node_seen *s, uint64_t now_unix) {
  unsigned want = 0, cap = SEEN_MIN_SLOTS, k = 0;
  struct seen_ent *t;
  for (unsigned i = 0; i < s->cap; i++)
    want += kept(s, &s->t[i], now_unix);
  if (want + 1 > NODE_SEEN_MAX) {
    raise_floor(s, now_unix, NODE_SEEN_MAX / 4 * 3);
    want = NODE_SEEN_MAX / 4 * 3;
  }
  while (cap < SEEN_MAX_SLOTS && cap < 2 * (want + 1))
    cap *= 2;
  if (!(t = calloc(cap, sizeof(*t))))
    return RL_ENOMEM;
  for (unsigned i = 0; i < s->cap; i++)
    if (kept(s, &s->t[i], now_unix) && k < cap / 2) {
      put(t, cap, s->t[i].d, s->t[i].ts1);
      k++;
    }
  free(s->t);
  s->t = t;
  s->cap = cap;
  s->n = k;
  return 0;
}

void node_seen_digest(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t key[RL_ID_LEN],
                      uint8_t app, uint64_t ts, const uint8_t *p, size_t len,
                      uint8_t d[NODE_SEEN_DIGEST]) {
  crypto_generichash_state st;
  struct node_seen *s = seen_get(n);
  static const uint8_t zero[crypto_generichash_KEYBYTES];
  uint8_t tb[8];
  for (int i = 0; i < 8; i++)
    tb[i] = (uint8_t)(ts >> (56 - 8 * i));
  crypto_generichash_init(&st, s ? s->hkey : zero, crypto_generichash_KEYBYTES, NODE_SEEN_DIGEST);
  crypto_generichash_update(&st, src, RL_ID_LEN);
  crypto_generichash_update(&st, key, RL_ID_LEN);
  crypto_generichash_update(&st, &app, 1);
  crypto_generichash_update(&st, tb, sizeof(tb));
  crypto_generichash_update(&st, p, len);
  crypto_generichash_final(&st, d, NODE_SEEN_DIGEST);
}

int node_seen_check(struct node *n, const uint8_t d[NODE_SEEN_DIGEST], uint64_t ts) {
  const struct node_seen *s = seen_get(n);
  if (!s)
    return RL_ENOMEM; /* cannot tell: refuse */
  if (s->has_floor && ts <= s->floor)
    return RL_EREPLAY;
  if (!s->cap)
    return 0;
  for (uint32_t i = slot_of(d, s->cap); s->t[i].ts1; i = (i + 1) & (s->cap - 1))
    if (s->t[i].ts1 == ts + 1 && memcmp(s->t[i].d, d, NODE_SEEN_DIGEST) == 0)
      return RL_EREPLAY;
  return 0;
}

int node_seen_note(struct node *n, const uint8_t d[NODE_SEEN_DIGEST], uint64_t ts,
                   uint64_t now_unix) {
  struct node_seen *s = seen_get(n);
  int rc;
  if (!s)
    return RL_ENOMEM;
  if (2 * (s->n + 1) > s->cap && (rc = rebuild(s, now_unix)) != 0)
    return rc;
  if (s->has_floor && ts <= s->floor)
    return 0; /* refused from now on anyway */
  put(s->t, s->cap, d, ts + 1);
  s->n++;
  return 0;
}

unsigned node_seen_count(const struct node *n, uint64_t *floor) {
  *floor = n->seen && n->seen->has_floor ? n->seen->floor : 0;
  return n->seen ? n->seen->n : 0;
}
