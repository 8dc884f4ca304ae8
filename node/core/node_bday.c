/* Birthday probing in the node core (decisions: nat/bday.h; wire formats:
 * docs/protocol.md; the whole story: docs/nat.md) and the extra local
 * sockets it needs, which the driver opens and closes on request.
 *
 * Hard side (symmetric NAT): after a punch exchange with a peer that
 * publishes a reflexive candidate, if no direct link came up within
 * NAT_BDAY_WAIT_NS: open up to 256 extra sockets, send one low-TTL punch
 * (NODE_OP_NAT_PROBE) from each to the peer's reflexive address, then ask
 * the peer (NAT_BDAY_MSG_REQ over the overlay) to probe our public IP. The
 * first probe that arrives on one of our sockets starts a handshake from
 * that socket to where the probe came from.
 * Easy side: probes (NODE_OP_NAT_PROBE) from the main socket to random
 * ports of the hard side's IP, paced and capped, until a direct link to the
 * peer is up; or refuses (NAT_BDAY_MSG_NAK) when its own mapping is not
 * endpoint independent.
 *
 * The easy side's probes are not paid for by the request (a ~300-byte
 * signed REQ buys up to NAT_BDAY_PROBES_MAX probes to any public IP the
 * requester names), so a node-wide budget bounds them (docs/security.md,
 * finding 2, "Birthday probes"): token buckets of probes per target IP,
 * per requesting member and in total. An attempt starts only when each of
 * the three holds a whole attempt's probes, reserves them, and gives back
 * what it did not send when it ends:
 *
 *   per target IP   burst 2 attempts (4,096), one attempt (2,048) per 120 s
 *   per requester   burst 2 attempts, one per 60 s
 *   in total        burst 8 attempts, one per 10 s
 *
 * 120 s is NAT_BDAY_RETRY_NS, how often a hard side tries one peer again;
 * a requester may retry sooner (its request or our answer lost), and an
 * easy member may serve many hard ones as a group forms (test_sim_bday:
 * 12 symmetric members). Beyond the budget the request is declined (NAK). */
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "nat/bday.h"
#include "node/core/node_internal.h"

enum { SK_CLOSED = 0, SK_WANT_OPEN, SK_OPENING, SK_OPEN, SK_WANT_CLOSE };

#define NODE_BDAY_PEND 8   /* peers waiting for plain punching to settle */
#define NODE_BDAY_EASY 2   /* probing toward this many hard peers at once */
#define NODE_BDAY_GC_NS (1 * NS_PER_S)
/* Probe budget (see the top): buckets in probes, refilled one probe per
 * *_EVERY_NS. */
#define NODE_BDAY_KEYS 32     /* target IPs and requesters tracked (each) */
#define NODE_BDAY_IP_BURST (2 * NAT_BDAY_PROBES_MAX)
#define NODE_BDAY_IP_EVERY_NS (NAT_BDAY_RETRY_NS / NAT_BDAY_PROBES_MAX)
#define NODE_BDAY_SRC_BURST (2 * NAT_BDAY_PROBES_MAX)
#define NODE_BDAY_SRC_EVERY_NS (60 * NS_PER_S / NAT_BDAY_PROBES_MAX)
#define NODE_BDAY_ALL_BURST (8 * NAT_BDAY_PROBES_MAX)
#define NODE_BDAY_ALL_EVERY_NS (10 * NS_PER_S / NAT_BDAY_PROBES_MAX)

struct bday_easy {
  struct nat_bday b;
  uint8_t peer[RL_ID_LEN];
  uint8_t token[NAT_BDAY_TOKEN_LEN];
  uint32_t hip;              /* the hard side's public IPv4 */
  unsigned reserved;         /* probes taken from the budget for it */
};

/* A probe budget of one target IP (key: the IPv4 address in its first 4
 * bytes) or one requester (key: its ID). */
struct bday_budget {
  bool used;
  uint8_t key[RL_ID_LEN];
  struct rate_bucket b;
};

struct node_bday {
  uint8_t sk[NODE_PROBE_SOCKS_MAX + 1];   /* SK_* by socket index (0 unused) */
  bool att[NODE_PROBE_SOCKS_MAX + 1];     /* belongs to the hard attempt */
  unsigned n_req;            /* sockets in SK_WANT_OPEN / SK_WANT_CLOSE */
  unsigned n_open;           /* sockets not SK_CLOSED */
  unsigned att_pending;      /* opens of the attempt not answered yet */
  uint16_t att_list[NODE_PROBE_SOCKS_MAX]; /* the attempt's open sockets, in order */
  unsigned n_att;
  uint64_t next_gc_ns;
  /* hard side: one attempt at a time */
  struct nat_bday hard;
  uint8_t hard_peer[RL_ID_LEN];
  uint8_t hard_token[NAT_BDAY_TOKEN_LEN];
  struct rl_addr hard_target;  /* the easy side's reflexive address */
  struct rl_addr hard_self;    /* our public IPv4 (port 0) */
  bool hard_hit;
  unsigned hit_sock;
  uint64_t hit_ns;
  struct {
    uint8_t id[RL_ID_LEN];
    struct rl_addr target;
    uint64_t at_ns;            /* 0: free */
  } pend[NODE_BDAY_PEND];
  struct bday_easy easy[NODE_BDAY_EASY];
  struct nat_bday_hist hist;
  /* easy side: the probe budget */
  struct bday_budget by_ip[NODE_BDAY_KEYS], by_src[NODE_BDAY_KEYS];
  struct rate_bucket all;
};

static struct node_bday *bd_get(struct node *n) {
  if (!n->bd)
    n->bd = calloc(1, sizeof(*n->bd));
  return n->bd;
}

void node_bday_free(struct node *n) {
  free(n->bd);
  n->bd = NULL;
}

static void id_hex(char out[2 * RL_ID_LEN + 1], const uint8_t id[RL_ID_LEN]) {
  rl_hex_encode(out, id, RL_ID_LEN);
}

/* ---- sockets ---- */

static void sk_set(struct node_bday *b, unsigned k, uint8_t st) {
  bool was_req = b->sk[k] == SK_WANT_OPEN || b->sk[k] == SK_WANT_CLOSE;
  bool is_req = st == SK_WANT_OPEN || st == SK_WANT_CLOSE;
  if (b->sk[k] == SK_CLOSED && st != SK_CLOSED)
    b->n_open++;
  else if (b->sk[k] != SK_CLOSED && st == SK_CLOSED)
    b->n_open--;
  b->n_req = b->n_req - was_req + is_req;
  b->sk[k] = st;
}

bool node_poll_sock(struct node *n, enum node_sock_op *op, unsigned *sock) {
  struct node_bday *b = n->bd;
  if (!b || !b->n_req)
    return false;
  for (unsigned k = 1; k <= n->cfg.probe_socks && k <= NODE_PROBE_SOCKS_MAX; k++) {
    if (b->sk[k] == SK_WANT_OPEN) {
      sk_set(b, k, SK_OPENING);
      *op = NODE_SOCK_OPEN;
      *sock = k;
      return true;
    }
    if (b->sk[k] == SK_WANT_CLOSE) {
      sk_set(b, k, SK_CLOSED);
      *op = NODE_SOCK_CLOSE;
      *sock = k;
      return true;
    }
  }
  return false;
}

void node_sock_opened(struct node *n, unsigned sock, bool ok, uint64_t now) {
  struct node_bday *b = n->bd;
  if (!b || sock == 0 || sock > NODE_PROBE_SOCKS_MAX || b->sk[sock] != SK_OPENING)
    return;
  if (!b->att[sock]) { /* the attempt ended meanwhile */
    sk_set(b, sock, ok ? SK_WANT_CLOSE : SK_CLOSED);
    return;
  }
  sk_set(b, sock, ok ? SK_OPEN : SK_CLOSED);
  if (ok)
    b->att_list[b->n_att++] = (uint16_t)sock;
  else
    b->att[sock] = false;
  if (b->att_pending && --b->att_pending == 0)
    nat_bday_hard_opened(&b->hard, b->n_att, now);
}

/* Marks the sockets that direct links use. */
static void socks_in_use(struct node *n, bool used[NODE_PROBE_SOCKS_MAX + 1]) {
  memset(used, 0, (NODE_PROBE_SOCKS_MAX + 1) * sizeof(bool));
  for (unsigned i = 0; i < n->n_links; i++) {
    const struct link *l = n->links[i];
    if (l->used && !l->via_overlay && l->sock <= NODE_PROBE_SOCKS_MAX)
      used[l->sock] = true;
  }
}

/* Closes every open socket that neither the attempt nor a link uses. */
static void socks_gc(struct node *n, uint64_t now) {
  struct node_bday *b = n->bd;
  bool used[NODE_PROBE_SOCKS_MAX + 1];
  b->next_gc_ns = now + NODE_BDAY_GC_NS;
  if (!b->n_open)
    return;
  socks_in_use(n, used);
  for (unsigned k = 1; k <= NODE_PROBE_SOCKS_MAX; k++)
    if (b->sk[k] == SK_OPEN && !b->att[k] && !used[k])
      sk_set(b, k, SK_WANT_CLOSE);
}

/* ---- datagrams and messages ---- */

static void send_probe(struct node *n, unsigned sock, const struct rl_addr *to,
                       const uint8_t token[NAT_BDAY_TOKEN_LEN], uint8_t ttl) {
  struct pktq_slot *s = pktq_push(&n->udpq);
  if (!s)
    return;
  memset(s->data, 0, 4);
  s->data[0] = NODE_OP_NAT_PROBE << 3;
  memcpy(s->data + 4, token, NAT_BDAY_TOKEN_LEN);
  s->len = NODE_NAT_PROBE_LEN;
  s->to = *to;
  s->sock = (uint16_t)sock;
  s->ttl = ttl;
}

static void send_msg(struct node *n, const uint8_t id[RL_ID_LEN], uint8_t type,
                     const uint8_t token[NAT_BDAY_TOKEN_LEN], const struct rl_addr *target,
                     const struct rl_addr *self, uint64_t now) {
  struct nat_bday_msg m;
  uint8_t msg[NAT_BDAY_MSG_MAX];
  int len;
  if (!n->ov)
    return;
  memset(&m, 0, sizeof(m));
  m.type = type;
  memcpy(m.token, token, NAT_BDAY_TOKEN_LEN);
  if (target)
    m.target = *target;
  if (self)
    m.hard_ip = *self;
  if ((len = nat_bday_msg_encode(&m, msg, sizeof(msg))) < 0)
    return;
  node_route_signed(n, id, OV_ROUTE_EXACT, OV_APP_PUNCH, msg, (size_t)len, now);
  node_ov_pump(n, now);
  /* Also inside an end-to-end session with the peer, if one is up: a
   * relayed one gets through where overlay routing does not (the peer
   * takes the first copy and ignores the other). */
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (l->used && l->via_overlay && !l->retire_at_ns && l->s.state == SESS_ESTABLISHED &&
        l->s.have_peer && memcmp(l->s.peer_id, id, RL_ID_LEN) == 0) {
      link_send_ctl(n, l, CTL_CH_BDAY, msg, (size_t)len, now);
      break;
    }
  }
}

/* A handshake from socket sock to ep (where the peer's probe or punch came
 * from): the path the probing found. */
static void start_link(struct node *n, const uint8_t id[RL_ID_LEN], const struct rl_addr *ep,
                       unsigned sock, uint64_t now) {
  struct link *l = link_to_endpoint(n, ep);
  if (node_nat_direct_up(n, id))
    return;
  if (l && l->sock == sock && !l->s.have_peer && l->static_idx < 0 && !l->bootstrap)
    link_free(n, l); /* a punch still backing off: start afresh, now */
  node_nat_punch_link(n, id, ep, sock, 0, now);
}

/* ---- hard side ---- */

/* Our public IPv4 as the latest report saw it (a symmetric NAT keeps one
 * address and changes only the port). */
static bool public_ip(const struct node *n, struct rl_addr *out) {
  const struct nat_report *best = NULL;
  for (unsigned i = 0; i < n->obs.n; i++)
    if (n->obs.r[i].seen.family == RL_AF_INET && (!best || n->obs.r[i].at_ns > best->at_ns))
      best = &n->obs.r[i];
  if (!best)
    return false;
  rl_addr_set_ipv4(out, rl_addr_ipv4(&best->seen), 0);
  return true;
}

void node_bday_consider(struct node *n, const uint8_t id[RL_ID_LEN], const struct nat_cand *c,
                        unsigned nc, uint64_t now) {
  const struct rl_addr *target = NULL;
  struct node_bday *b;
  unsigned slot = NODE_BDAY_PEND;
  if (!n->cfg.probe_socks || memcmp(id, n->hid.id, RL_ID_LEN) == 0)
    return;
  for (unsigned i = 0; i < nc && !target; i++)
    if (c[i].kind == NAT_CAND_REFLEXIVE && c[i].addr.family == RL_AF_INET)
      target = &c[i].addr;
  if (nat_bday_role(n->nat_class, target != NULL) != NAT_BDAY_HARD ||
      node_nat_direct_up(n, id) || !(b = bd_get(n)) || !nat_bday_may_try(&b->hist, id, now))
    return;
  if (b->hard.role == NAT_BDAY_HARD && memcmp(b->hard_peer, id, RL_ID_LEN) == 0)
    return;
  for (unsigned i = 0; i < NODE_BDAY_PEND; i++) {
    if (b->pend[i].at_ns && memcmp(b->pend[i].id, id, RL_ID_LEN) == 0)
      return; /* already waiting */
    if (!b->pend[i].at_ns && slot == NODE_BDAY_PEND)
      slot = i;
  }
  if (slot == NODE_BDAY_PEND)
    return; /* full: a later punch exchange asks again */
  memcpy(b->pend[slot].id, id, RL_ID_LEN);
  b->pend[slot].target = *target;
  b->pend[slot].at_ns = now + NAT_BDAY_WAIT_NS;
}

/* RFC 1918, loopback, link-local, carrier-grade NAT: never a NAT's
 * outside address that a probe from the internet could reach. */
static bool private_v4(uint32_t ip) {
  return (ip >> 24) == 10 || (ip >> 24) == 127 || (ip >> 16) == 0xC0A8 ||
         (ip >> 20) == 0xAC1 || (ip >> 16) == 0xA9FE || (ip >> 22) == (0x64400000u >> 22) ||
         ip == 0;
}

void node_bday_consider_eps(struct node *n, const uint8_t id[RL_ID_LEN],
                            const struct rl_addr *ep, unsigned n_ep, uint64_t now) {
  struct nat_cand c[NAT_CAND_MAX];
  unsigned k = 0;
  for (unsigned i = 0; i < n_ep && k < NAT_CAND_MAX; i++)
    if (ep[i].family == RL_AF_INET && !private_v4(rl_addr_ipv4(&ep[i]))) {
      c[k].kind = NAT_CAND_REFLEXIVE;
      c[k++].addr = ep[i];
    }
  node_bday_consider(n, id, c, k, now);
}

static void hard_start(struct node *n, unsigned p, uint64_t now) {
  struct node_bday *b = n->bd;
  char hex[2 * RL_ID_LEN + 1], a[RL_ADDR_STRLEN];
  unsigned want = 0;
  if (!public_ip(n, &b->hard_self))
    return;
  for (unsigned k = 1; k <= n->cfg.probe_socks && k <= NODE_PROBE_SOCKS_MAX; k++)
    if (b->sk[k] == SK_CLOSED) {
      sk_set(b, k, SK_WANT_OPEN);
      b->att[k] = true;
      want++;
    }
  if (!want)
    return;
  nat_bday_hard_start(&b->hard, now);
  b->att_pending = want;
  b->n_att = 0;
  b->hard_hit = false;
  memcpy(b->hard_peer, b->pend[p].id, RL_ID_LEN);
  b->hard_target = b->pend[p].target;
  for (unsigned i = 0; i < NAT_BDAY_TOKEN_LEN; i += 4) {
    uint32_t r = rl_rand_u32(n->env);
    memcpy(b->hard_token + i, &r, 4);
  }
  nat_bday_tried(&b->hist, b->hard_peer, now);
  n->c.bday_attempts++;
  id_hex(hex, b->hard_peer);
  rl_logf(n->env, RL_LOG_INFO, "birthday: toward %.16s at %s, opening %u sockets", hex,
          rl_addr_format(&b->hard_target, a, sizeof(a)), want);
}

static void hard_end(struct node *n, const char *why, uint64_t now) {
  struct node_bday *b = n->bd;
  char hex[2 * RL_ID_LEN + 1];
  id_hex(hex, b->hard_peer);
  if (b->hard_hit)
    rl_logf(n->env, RL_LOG_INFO, "birthday: %.16s %s: probe arrived on socket %u after "
            "%llu ms, %u sockets", hex, why, b->hit_sock,
            (unsigned long long)((b->hit_ns - b->hard.started_ns) / NS_PER_MS), b->n_att);
  else
    rl_logf(n->env, RL_LOG_INFO, "birthday: %.16s %s after %llu ms, %u sockets", hex, why,
            (unsigned long long)((now - b->hard.started_ns) / NS_PER_MS), b->n_att);
  if (!b->hard.acked && !b->hard_hit && b->hard.requests)
    nat_bday_retry_after(&b->hist, b->hard_peer, now, NAT_BDAY_RETRY_UNANSWERED_NS);
  memset(&b->hard, 0, sizeof(b->hard));
  memset(b->att, 0, sizeof(b->att));
  b->att_pending = 0;
  b->n_att = 0;
  socks_gc(n, now); /* keeps the socket the new link uses */
}

static void hard_step(struct node *n, uint64_t now) {
  struct node_bday *b = n->bd;
  unsigned first, k;
  bool request;
  if (b->hard.role != NAT_BDAY_HARD)
    return;
  if (node_nat_direct_up(n, b->hard_peer)) {
    n->c.bday_direct += b->hard_hit;
    hard_end(n, b->hard_hit ? "direct" : "direct by other means", now);
    return;
  }
  if (nat_bday_over(&b->hard, now)) {
    hard_end(n, b->hard.opening || !b->n_att ? "no sockets"
                : !b->hard.acked              ? "no answer to the request"
                                              : "no direct link",
             now);
    return;
  }
  k = nat_bday_hard_step(&b->hard, now, &first, &request);
  for (unsigned i = first; i < first + k && i < b->n_att; i++)
    send_probe(n, b->att_list[i], &b->hard_target, b->hard_token, NAT_BDAY_TTL);
  n->c.bday_punches += k;
  if (request)
    send_msg(n, b->hard_peer, NAT_BDAY_MSG_REQ, b->hard_token, &b->hard_target, &b->hard_self,
             now);
}

/* ---- easy side ---- */

/* The budget of key in t (burst: its size), refilled to now; with add, a
 * new one in a free slot or one that refilled (forgetting it loses
 * nothing). NULL: absent, or no room (every slot spent recently). */
static struct bday_budget *budget_of(struct bday_budget *t, const uint8_t key[RL_ID_LEN],
                                     uint64_t burst, uint64_t every_ns, bool add,
                                     uint64_t now) {
  struct bday_budget *spare = NULL;
  for (unsigned i = 0; i < NODE_BDAY_KEYS; i++) {
    struct bday_budget *e = &t[i];
    if (e->used) {
      rate_refill_by(&e->b, 0, every_ns, burst, now);
      if (memcmp(e->key, key, RL_ID_LEN) == 0)
        return e;
    }
    if (!spare && (!e->used || rate_has(&e->b, burst)))
      spare = e;
  }
  if (!add || !spare)
    return NULL;
  memset(spare, 0, sizeof(*spare));
  spare->used = true;
  memcpy(spare->key, key, RL_ID_LEN);
  rate_refill_by(&spare->b, 0, every_ns, burst, now); /* full */
  return spare;
}

static void ip_key(uint8_t key[RL_ID_LEN], uint32_t ip) {
  memset(key, 0, RL_ID_LEN);
  memcpy(key, &ip, sizeof(ip));
}

/* Takes a whole attempt's probes toward hip for src from the three
 * budgets; false (nothing taken) when one of them is short. */
static bool budget_reserve(struct node_bday *b, const uint8_t src[RL_ID_LEN], uint32_t hip,
                           uint64_t now) {
  uint8_t k[RL_ID_LEN];
  struct bday_budget *bi, *bs;
  ip_key(k, hip);
  bi = budget_of(b->by_ip, k, NODE_BDAY_IP_BURST, NODE_BDAY_IP_EVERY_NS, true, now);
  bs = budget_of(b->by_src, src, NODE_BDAY_SRC_BURST, NODE_BDAY_SRC_EVERY_NS, true, now);
  rate_refill_by(&b->all, 0, NODE_BDAY_ALL_EVERY_NS, NODE_BDAY_ALL_BURST, now);
  if (!bi || !bs || !rate_has(&bi->b, NAT_BDAY_PROBES_MAX) ||
      !rate_has(&bs->b, NAT_BDAY_PROBES_MAX) || !rate_has(&b->all, NAT_BDAY_PROBES_MAX))
    return false;
  rate_spend(&bi->b, NAT_BDAY_PROBES_MAX);
  rate_spend(&bs->b, NAT_BDAY_PROBES_MAX);
  rate_spend(&b->all, NAT_BDAY_PROBES_MAX);
  return true;
}

/* An attempt ended: the probes it reserved and did not send go back. */
static void budget_return(struct node_bday *b, const struct bday_easy *e, uint64_t now) {
  unsigned unused = e->reserved > e->b.probes ? e->reserved - e->b.probes : 0;
  uint8_t k[RL_ID_LEN];
  struct bday_budget *bi, *bs;
  if (!unused)
    return;
  ip_key(k, e->hip);
  bi = budget_of(b->by_ip, k, NODE_BDAY_IP_BURST, NODE_BDAY_IP_EVERY_NS, false, now);
  if (bi)
    rate_give(&bi->b, unused, NODE_BDAY_IP_BURST);
  bs = budget_of(b->by_src, e->peer, NODE_BDAY_SRC_BURST, NODE_BDAY_SRC_EVERY_NS, false, now);
  if (bs)
    rate_give(&bs->b, unused, NODE_BDAY_SRC_BURST);
  rate_refill_by(&b->all, 0, NODE_BDAY_ALL_EVERY_NS, NODE_BDAY_ALL_BURST, now);
  rate_give(&b->all, unused, NODE_BDAY_ALL_BURST);
}

static void easy_recv_req(struct node *n, const uint8_t src[RL_ID_LEN],
                          const uint8_t token[NAT_BDAY_TOKEN_LEN], const struct rl_addr *target,
                          const struct rl_addr *hip, uint64_t now) {
  struct node_bday *b = bd_get(n);
  struct bday_easy *e = NULL;
  char hex[2 * RL_ID_LEN + 1], a[RL_ADDR_STRLEN];
  const char *why = NULL;
  bool match = n->has_reflexive && rl_addr_equal(target, &n->reflexive);
  for (unsigned i = 0; b && i < NODE_BDAY_EASY; i++) {
    struct bday_easy *o = &b->easy[i];
    if (memcmp(o->peer, src, RL_ID_LEN) == 0 && memcmp(o->token, token, NAT_BDAY_TOKEN_LEN) == 0) {
      /* A repeated request: our answer may have been lost (an attempt
       * that ended is not restarted). */
      if (o->b.role == NAT_BDAY_EASY)
        send_msg(n, src, NAT_BDAY_MSG_ACK, token, NULL, NULL, now);
      return;
    }
  }
  for (unsigned i = 0; b && i < NODE_BDAY_EASY && !e; i++)
    if (b->easy[i].b.role == NAT_BDAY_NONE)
      e = &b->easy[i];
  struct rl_addr hp = *hip;
  hp.port = 1; /* (the hard side's IP comes without a port) */
  id_hex(hex, src);
  if (!b || !e)
    why = "busy";
  else if (hip->family != RL_AF_INET || !nat_bday_easy_ok(n->nat_class, match) ||
           node_nat_direct_up(n, src) || !node_nat_cand_allowed(n, &hp, false))
    why = !match ? "our reflexive address differs" : "not needed";
  else if (!budget_reserve(b, src, rl_addr_ipv4(hip), now)) {
    why = "over the probe budget";
    n->c.bday_over_budget++;
  }
  if (why) {
    rl_logf(n->env, RL_LOG_INFO, "birthday: %.16s asks us to probe: declined (%s)", hex, why);
    send_msg(n, src, NAT_BDAY_MSG_NAK, token, NULL, NULL, now);
    return;
  }
  nat_bday_easy_start(&e->b, now);
  e->reserved = NAT_BDAY_PROBES_MAX;
  memcpy(e->peer, src, RL_ID_LEN);
  memcpy(e->token, token, NAT_BDAY_TOKEN_LEN);
  e->hip = rl_addr_ipv4(hip);
  send_msg(n, src, NAT_BDAY_MSG_ACK, token, NULL, NULL, now);
  rl_logf(n->env, RL_LOG_INFO, "birthday: probing %s for %.16s",
          rl_addr_format(hip, a, sizeof(a)), hex);
}

static void easy_step(struct node *n, struct bday_easy *e, uint64_t now) {
  char hex[2 * RL_ID_LEN + 1];
  unsigned k;
  if (e->b.role != NAT_BDAY_EASY)
    return;
  id_hex(hex, e->peer);
  if (node_nat_direct_up(n, e->peer) || nat_bday_over(&e->b, now)) {
    bool up = node_nat_direct_up(n, e->peer) != NULL;
    rl_logf(n->env, RL_LOG_INFO, "birthday: %.16s %s after %u probes, %llu ms", hex,
            up ? "direct" : "no direct link", e->b.probes,
            (unsigned long long)((now - e->b.started_ns) / NS_PER_MS));
    budget_return(n->bd, e, now);
    e->reserved = 0;
    memset(&e->b, 0, sizeof(e->b));
    return;
  }
  k = nat_bday_easy_step(&e->b, now);
  for (unsigned i = 0; i < k; i++) {
    struct rl_addr to;
    rl_addr_set_ipv4(&to, e->hip, nat_bday_port(rl_rand_u32(n->env)));
    send_probe(n, 0, &to, e->token, 0);
  }
  n->c.bday_probes += k;
}

/* ---- input ---- */

void node_bday_recv(struct node *n, const uint8_t src[RL_ID_LEN], const uint8_t *msg,
                    size_t len, uint64_t now) {
  struct nat_bday_msg m;
  if (nat_bday_msg_decode(&m, msg, len) != 0) {
    n->c.ctl_bad++;
    return;
  }
  if (m.type == NAT_BDAY_MSG_REQ) {
    easy_recv_req(n, src, m.token, &m.target, &m.hard_ip, now);
  } else if (n->bd && n->bd->hard.role == NAT_BDAY_HARD &&
             memcmp(n->bd->hard_peer, src, RL_ID_LEN) == 0 &&
             memcmp(n->bd->hard_token, m.token, NAT_BDAY_TOKEN_LEN) == 0) {
    if (m.type == NAT_BDAY_MSG_ACK) {
      nat_bday_hard_acked(&n->bd->hard, now);
    } else {
      hard_end(n, "declined by the peer", now);
      nat_bday_retry_after(&n->bd->hist, src, now, NAT_BDAY_RETRY_DECLINED_NS);
    }
  }
}

void node_bday_probe_in(struct node *n, unsigned sock, const struct rl_addr *from,
                        const uint8_t *pkt, size_t len, uint64_t now) {
  struct node_bday *b = n->bd;
  const uint8_t *token = pkt + 4;
  if (!b || len != NODE_NAT_PROBE_LEN || from->family != RL_AF_INET) {
    n->c.udp_bad++;
    return;
  }
  if (b->hard.role == NAT_BDAY_HARD && !b->hard.opening &&
      memcmp(token, b->hard_token, NAT_BDAY_TOKEN_LEN) == 0 &&
      rl_addr_ipv4(from) == rl_addr_ipv4(&b->hard_target)) {
    if (b->hard_hit)
      return; /* a second probe that hit: the first handshake is under way */
    b->hard_hit = true;
    b->hit_sock = sock;
    b->hit_ns = now;
    nat_bday_hard_acked(&b->hard, now); /* it probes: its answer was lost */
    n->c.bday_hits++;
    start_link(n, b->hard_peer, from, sock, now);
    return;
  }
  for (unsigned i = 0; i < NODE_BDAY_EASY; i++) {
    struct bday_easy *e = &b->easy[i];
    /* The hard side's punch got through (our filter admits its IP): the
     * path exists already. */
    if (e->b.role == NAT_BDAY_EASY && memcmp(token, e->token, NAT_BDAY_TOKEN_LEN) == 0 &&
        rl_addr_ipv4(from) == e->hip) {
      start_link(n, e->peer, from, 0, now);
      return;
    }
  }
  n->c.udp_bad++;
}

/* ---- timers ---- */

uint64_t node_bday_next_timer(const struct node *n) {
  const struct node_bday *b = n->bd;
  uint64_t t = RL_TIME_NEVER;
  if (!b)
    return t;
  for (unsigned i = 0; i < NODE_BDAY_PEND; i++)
    if (b->pend[i].at_ns && b->pend[i].at_ns < t)
      t = b->pend[i].at_ns;
  if (nat_bday_next_timer(&b->hard) < t)
    t = nat_bday_next_timer(&b->hard);
  for (unsigned i = 0; i < NODE_BDAY_EASY; i++)
    if (nat_bday_next_timer(&b->easy[i].b) < t)
      t = nat_bday_next_timer(&b->easy[i].b);
  if (b->n_open && b->next_gc_ns < t)
    t = b->next_gc_ns;
  return t;
}

void node_bday_on_timer(struct node *n, uint64_t now) {
  struct node_bday *b = n->bd;
  if (!b)
    return;
  for (unsigned i = 0; i < NODE_BDAY_PEND; i++) {
    if (!b->pend[i].at_ns || now < b->pend[i].at_ns)
      continue;
    if (node_nat_direct_up(n, b->pend[i].id) || !nat_bday_may_try(&b->hist, b->pend[i].id, now) ||
        nat_bday_role(n->nat_class, true) != NAT_BDAY_HARD) {
      b->pend[i].at_ns = 0;
    } else if (b->hard.role == NAT_BDAY_HARD) {
      b->pend[i].at_ns = now + NS_PER_S; /* one attempt at a time: wait */
    } else {
      hard_start(n, i, now);
      b->pend[i].at_ns = 0;
    }
  }
  hard_step(n, now);
  for (unsigned i = 0; i < NODE_BDAY_EASY; i++)
    easy_step(n, &b->easy[i], now);
  if (now >= b->next_gc_ns) {
    if (b->hard.role == NAT_BDAY_NONE)
      socks_gc(n, now);
    else
      b->next_gc_ns = now + NODE_BDAY_GC_NS;
  }
}
