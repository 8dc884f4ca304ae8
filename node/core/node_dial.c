/* A node-wide budget of handshakes toward addresses that never answered
 * us, for the ring links the overlay asks for (docs/security.md, finding
 * 2, "Ring links").
 *
 * The overlay learns node descriptors from other members (a successor
 * list, a lookup answer) and asks for links to them; act_connect
 * (node_overlay.c) dials every endpoint a descriptor names,
 * NODE_OV_CONNECT_TRIES HS_INITs each. A member that forges descriptors
 * could aim those at a third party: any number of descriptors, up to
 * OV_MAX_ENDPOINTS endpoints each. Each new link toward an IP address that
 * never answered us now takes its handshakes from two token buckets, one
 * per destination IP (so one host gets at most a few links' worth, however
 * many ports or descriptors name it) and one in total (so many hosts
 * together get no more):
 *
 *   per IP    NODE_DIAL_IP_BURST HS_INITs, one more per NODE_DIAL_IP_EVERY_NS
 *   in total  NODE_DIAL_ALL_BURST HS_INITs, NODE_DIAL_ALL_PER_S per second
 *
 * An IP from which a direct session came up (the peer completed a
 * handshake there: a member, or its NAT) is exempt from then on: a node
 * redialling ring neighbours it knows is not charged.
 *
 * Destinations sit in a table of NODE_DIAL_DESTS, allocated at the first
 * dial (IPs that answered before it are not remembered). A new one takes
 * a free slot or one whose bucket has refilled (forgetting it loses
 * nothing: a new entry starts full), else the least recently answered
 * exempt one; when every slot holds a spent bucket the dial is refused.
 * The total bucket keeps that from happening: it cannot spend into more
 * than NODE_DIAL_ALL_BURST / NODE_OV_CONNECT_TRIES (64) slots at once,
 * and a slot spent by one link refills in 3 s, so keeping 128 spent
 * takes ~43 links (128 HS_INITs) a second, 8 times the total refill. */
#include <stdlib.h>
#include <string.h>

#include "node/core/node_internal.h"

struct dial_dest {
  uint8_t family;            /* 0: slot free */
  uint8_t ip[16];
  struct rate_bucket b;      /* HS_INITs toward this IP */
  uint64_t answered_ns;      /* a direct session came up from it (0: never) */
};

struct node_dial {
  struct dial_dest d[NODE_DIAL_DESTS];
  struct rate_bucket all;
};

static struct node_dial *dial_get(struct node *n) {
  if (!n->dial)
    n->dial = calloc(1, sizeof(*n->dial));
  return n->dial;
}

void node_dial_free(struct node *n) {
  free(n->dial);
  n->dial = NULL;
}

static size_t ip_len(uint8_t family) { return family == RL_AF_INET ? 4 : 16; }

static bool same_ip(const struct dial_dest *e, const struct rl_addr *a) {
  return e->family == a->family && memcmp(e->ip, a->ip, ip_len(a->family)) == 0;
}

static void refill(struct dial_dest *e, uint64_t now) {
  rate_refill_by(&e->b, 0, NODE_DIAL_IP_EVERY_NS, NODE_DIAL_IP_BURST, now);
}

/* The entry of a's IP; with add, a new one if there is room (NULL: none). */
static struct dial_dest *dest(struct node_dial *t, const struct rl_addr *a, bool add,
                              uint64_t now) {
  struct dial_dest *spare = NULL, *exempt = NULL;
  for (unsigned i = 0; i < NODE_DIAL_DESTS; i++) {
    struct dial_dest *e = &t->d[i];
    if (e->family && same_ip(e, a))
      return e;
    if (spare)
      continue;
    if (!e->family) {
      spare = e;
    } else if (!e->answered_ns) {
      refill(e, now);
      if (rate_has(&e->b, NODE_DIAL_IP_BURST))
        spare = e; /* refilled: as good as absent */
    } else if (!exempt || e->answered_ns < exempt->answered_ns) {
      exempt = e;
    }
  }
  if (!add || (!spare && !(spare = exempt)))
    return NULL;
  memset(spare, 0, sizeof(*spare));
  spare->family = a->family;
  memcpy(spare->ip, a->ip, ip_len(a->family));
  return spare;
}

bool node_dial_take(struct node *n, const struct rl_addr *a, unsigned inits, uint64_t now) {
  struct node_dial *t = dial_get(n);
  struct dial_dest *e;
  if (!t || (a->family != RL_AF_INET && a->family != RL_AF_INET6))
    return false;
  if (!(e = dest(t, a, true, now)))
    goto refused; /* every slot spent: cannot track one more */
  if (e->answered_ns)
    return true;
  refill(e, now);
  rate_refill(&t->all, NODE_DIAL_ALL_PER_S, NODE_DIAL_ALL_BURST, now);
  if (!rate_has(&e->b, inits) || !rate_has(&t->all, inits))
    goto refused;
  rate_spend(&e->b, inits);
  rate_spend(&t->all, inits);
  return true;
refused:
  n->c.ov_dials_capped++;
  return false;
}

void node_dial_answered(struct node *n, const struct rl_addr *a, uint64_t now) {
  struct node_dial *t = n->dial; /* (nothing to exempt before the first dial) */
  struct dial_dest *e;
  if (!t || (a->family != RL_AF_INET && a->family != RL_AF_INET6))
    return;
  if ((e = dest(t, a, true, now)) != NULL)
    e->answered_ns = now;
}
