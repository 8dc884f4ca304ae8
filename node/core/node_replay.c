/* Handshake replay across sessions (issue 10, finding 1).
 *
 * A session refuses an HS_INIT whose timestamp is not newer than the last
 * one it accepted, but a session is freed when its link closes (idle,
 * silence, restart), and a captured HS_INIT replayed after that would open
 * a fresh session toward wherever the replay came from. So the node keeps,
 * per peer, the greatest timestamp of a verified HS_INIT it has seen, in a
 * bounded table that outlives the sessions (WireGuard keeps it per peer).
 *
 * One peer may start several handshakes with us at the same instant (a
 * punch to each of our candidates, an end-to-end one): their timestamps
 * are equal, so the greatest one comes with the ephemeral keys seen with
 * it, and only a byte-for-byte repeat of one of those is a replay. */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/node_internal.h"

#define FP_LEN 8 /* ephemeral key fingerprint: its first bytes */

struct node_replay {
  uint8_t id[RL_ID_LEN];
  uint64_t ts;               /* greatest HS_INIT timestamp seen */
  uint8_t n_fp;
  uint8_t fp[NODE_REPLAY_FPS][FP_LEN]; /* ephemerals seen with ts */
  uint64_t used_ns;          /* last noted (eviction: least recent) */
};

static struct node_replay *find(const struct node *n, const uint8_t id[RL_ID_LEN]) {
  for (unsigned i = 0; n->rp && i < n->n_rp; i++)
    if (memcmp(n->rp[i].id, id, RL_ID_LEN) == 0)
      return &n->rp[i];
  return NULL;
}

int node_replay_check(const struct node *n, const uint8_t id[RL_ID_LEN], uint64_t ts,
                      const uint8_t e[32]) {
  const struct node_replay *r = find(n, id);
  if (!r || ts > r->ts)
    return 0;
  if (ts < r->ts)
    return RL_EREPLAY;
  for (unsigned k = 0; k < r->n_fp; k++)
    if (memcmp(r->fp[k], e, FP_LEN) == 0)
      return RL_EREPLAY;
  return 0;
}

void node_replay_note(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t ts,
                      const uint8_t e[32], uint64_t now) {
  struct node_replay *r = find(n, id);
  if (!r) {
    if (!n->rp) {
      n->rp = calloc(NODE_REPLAY_MAX, sizeof(*n->rp));
      if (!n->rp)
        return; /* no memory: the per-session check still holds */
    }
    if (n->n_rp < NODE_REPLAY_MAX) {
      r = &n->rp[n->n_rp++];
    } else {
      r = &n->rp[0];
      for (unsigned i = 1; i < n->n_rp; i++)
        if (n->rp[i].used_ns < r->used_ns)
          r = &n->rp[i];
    }
    memset(r, 0, sizeof(*r));
    memcpy(r->id, id, RL_ID_LEN);
  }
  r->used_ns = now;
  if (ts < r->ts)
    return;
  if (ts > r->ts || r->n_fp == 0) {
    r->ts = ts;
    r->n_fp = 0;
  }
  for (unsigned k = 0; k < r->n_fp; k++)
    if (memcmp(r->fp[k], e, FP_LEN) == 0)
      return;
  if (r->n_fp < NODE_REPLAY_FPS)
    memcpy(r->fp[r->n_fp++], e, FP_LEN);
  else /* (more simultaneous handshakes than that: the oldest is forgotten) */
    memcpy(r->fp[r->n_fp - 1], e, FP_LEN);
}

void node_replay_free(struct node *n) {
  free(n->rp);
  n->rp = NULL;
  n->n_rp = 0;
}
