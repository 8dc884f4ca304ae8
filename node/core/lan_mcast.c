/* The local host's multicast groups (tap/mcast.h) in the node: the node
 * reads the IGMP / MLD reports its host writes to the TAP, keeps the
 * host's memberships, and is the querier of the TAP segment (on when
 * cfg.mcast_querier, as in the daemon). A multicast frame of another
 * member is written to the TAP only when the host wants its group: its
 * membership lives, or the group is of link-local scope (224.0.0.0/24,
 * ff02::/16 ...: every host is in them), or the node does not query (then
 * memberships cannot be kept fresh and every group is delivered).
 * Broadcasts and non-IP multicast always go to the host.
 *
 * Membership protocol frames are of the TAP segment alone: never sent to
 * other members nor taken from them (tap_mcast_control). */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/node_internal.h"
#include "tap/mcast.h"

static struct tap_mcast_table *table(struct node *n, uint64_t now) {
  if (!n->mq && (n->mq = malloc(sizeof(*n->mq))) != NULL)
    tap_mcast_table_init(n->mq, n->cfg.mcast_querier, n->cfg.mcast_querier, now);
  return n->mq;
}

void lan_mcast_start(struct node *n, uint64_t now) {
  if (n->cfg.mcast_querier)
    (void)table(n, now);
}

void lan_mcast_free(struct node *n) {
  free(n->mq);
  n->mq = NULL;
}

bool lan_mcast_from_tap(struct node *n, const struct tap_frame_info *fi, const uint8_t *f,
                        size_t len, uint64_t now) {
  struct tap_mcast_rec recs[16];
  struct tap_mcast_table *t;
  int k;
  if (!tap_mcast_control(fi))
    return false;
  k = tap_mcast_parse(f, len, recs, sizeof(recs) / sizeof(recs[0]));
  if (k < 0) {
    n->c.mcast_bad++;
    return true;
  }
  if (k > (int)(sizeof(recs) / sizeof(recs[0]))) {
    /* More records than fit here: the rest, from the same report, once
     * more with room for all (rare: a host in many groups answering a
     * general query). */
    struct tap_mcast_rec *all = malloc((size_t)k * sizeof(*all));
    if (all && (t = table(n, now)) != NULL) {
      int k2 = tap_mcast_parse(f, len, all, (size_t)k);
      if (k2 > 0)
        tap_mcast_table_apply(t, all, (size_t)(k2 < k ? k2 : k), now);
    }
    free(all);
  } else if (k > 0 && (t = table(n, now)) != NULL) {
    tap_mcast_table_apply(t, recs, (size_t)k, now);
  }
  lan_mcast_on_timer(n, now);
  return true;
}

bool lan_mcast_host_wants(struct node *n, const struct tap_frame_info *fi, uint64_t now) {
  struct tap_mcast_rec k;
  if (fi->dst_kind == TAP_DST_BROADCAST || !tap_mcast_frame_group(fi, &k))
    return true;
  if (tap_mcast_link_scope(k.family, k.addr) || !n->cfg.mcast_querier || !n->mq)
    return true;
  return tap_mcast_table_wants(n->mq, fi, now);
}

uint64_t lan_mcast_next_timer(const struct node *n) {
  return n->mq ? tap_mcast_table_deadline(n->mq) : RL_TIME_NEVER;
}

void lan_mcast_on_timer(struct node *n, uint64_t now) {
  struct tap_mcast_rec ev;
  struct tap_mcast_query q;
  uint8_t frame[256], ll[TAP_IPV6_LEN];
  if (!n->mq)
    return;
  /* Events: the subring of a group is joined / left here once subrings
   * carry multicast (docs/subrings.md); today the tree reaches every
   * member and the table filters what the host gets. */
  for (int i = 0; i < TAP_MCAST_GROUPS_MAX * 2 && tap_mcast_table_event(n->mq, now, &ev); i++)
    ;
  tap_ipv6_link_local(n->mac, ll);
  for (int i = 0; i < 64 && tap_mcast_table_query(n->mq, now, &q); i++) {
    /* IPv4 from 0.0.0.0 (the host drops IGMP from its own address as a
     * martian); IPv6 from the member's link-local address (tap/mcast.h). */
    int k = tap_mcast_query_build(&q, n->mac, 0, ll, frame, sizeof(frame));
    if (k > 0)
      pktq_put(&n->tapq, NULL, frame, (size_t)k);
  }
}

size_t lan_mcast_groups(const struct node *n, struct tap_mcast_rec *out, size_t cap,
                        uint64_t now) {
  size_t k = 0;
  if (!n->mq)
    return 0;
  for (unsigned i = 0; i < TAP_MCAST_GROUPS_MAX; i++) {
    const struct tap_mcast_group *g = &n->mq->g[i];
    if (g->used && g->member && g->expires > now) {
      if (k < cap)
        out[k] = g->key;
      k++;
    }
  }
  return k;
}
