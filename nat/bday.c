#include "nat/bday.h"

#include <ringlan/error.h>
#include <string.h>

#include "nat/cand.h"
#include "util/wire.h"

enum nat_bday_role nat_bday_role(enum nat_class self, bool peer_reflexive) {
  /* Only a hard side with an easy peer: two symmetric NATs have nothing to
   * aim at (relay), and anyone else reaches an easy peer by plain punching
   * or is reached by it through the peer-reflexive address. */
  return self == NAT_CLASS_SYMMETRIC && peer_reflexive ? NAT_BDAY_HARD : NAT_BDAY_NONE;
}

bool nat_bday_easy_ok(enum nat_class self, bool reflexive_matches) {
  /* Probes must all leave from the one mapping the hard side punched. */
  return self == NAT_CLASS_EIM && reflexive_matches;
}

void nat_bday_hard_start(struct nat_bday *b, uint64_t now) {
  memset(b, 0, sizeof(*b));
  b->role = NAT_BDAY_HARD;
  b->started_ns = now;
  b->opening = true;
  b->next_ns = UINT64_MAX;
  b->deadline_ns = now + NAT_BDAY_OPEN_MAX_NS;
}

void nat_bday_hard_opened(struct nat_bday *b, unsigned socks, uint64_t now) {
  if (b->role != NAT_BDAY_HARD || !b->opening)
    return;
  b->opening = false;
  b->socks = socks;
  b->next_ns = now;
  b->deadline_ns = now + NAT_BDAY_HARD_MAX_NS;
}

unsigned nat_bday_hard_step(struct nat_bday *b, uint64_t now, unsigned *first, bool *request) {
  unsigned n = 0;
  *request = false;
  *first = b->punched;
  if (b->role != NAT_BDAY_HARD || b->opening || now < b->next_ns || nat_bday_over(b, now))
    return 0;
  n = b->socks - b->punched;
  if (n > NAT_BDAY_PUNCH_BURST)
    n = NAT_BDAY_PUNCH_BURST;
  b->punched += n;
  if (b->punched < b->socks) {
    b->next_ns = now + NAT_BDAY_STEP_NS;
    return n;
  }
  if (!b->acked && b->requests < NAT_BDAY_REQ_TRIES && now >= b->req_next_ns) {
    *request = true;
    b->requests++;
    b->req_next_ns = now + NAT_BDAY_REQ_EVERY_NS;
    if (b->requests == 1) /* unanswered: over a second after the last request */
      b->deadline_ns = now + NAT_BDAY_REQ_TRIES * NAT_BDAY_REQ_EVERY_NS;
  }
  b->next_ns = b->acked || b->requests >= NAT_BDAY_REQ_TRIES ? UINT64_MAX : b->req_next_ns;
  return n;
}

void nat_bday_hard_acked(struct nat_bday *b, uint64_t now) {
  if (b->role != NAT_BDAY_HARD || b->acked || !b->requests)
    return;
  b->acked = true;
  b->next_ns = UINT64_MAX;
  /* The probes run from now: the deadline counts from here. */
  b->deadline_ns = now + NAT_BDAY_HARD_MAX_NS;
}

void nat_bday_easy_start(struct nat_bday *b, uint64_t now) {
  memset(b, 0, sizeof(*b));
  b->role = NAT_BDAY_EASY;
  b->started_ns = now;
  b->next_ns = now;
  b->deadline_ns = now + NAT_BDAY_EASY_MAX_NS;
}

unsigned nat_bday_easy_step(struct nat_bday *b, uint64_t now) {
  unsigned n;
  if (b->role != NAT_BDAY_EASY || now < b->next_ns || nat_bday_over(b, now))
    return 0;
  n = NAT_BDAY_PROBES_MAX - b->probes;
  if (n > NAT_BDAY_PROBE_BURST)
    n = NAT_BDAY_PROBE_BURST;
  b->probes += n;
  b->next_ns = b->probes < NAT_BDAY_PROBES_MAX ? now + NAT_BDAY_STEP_NS : UINT64_MAX;
  return n;
}

uint16_t nat_bday_port(uint32_t rnd) {
  /* Multiply-shift: uniform enough for 16 bits out of 32. */
  uint32_t span = 65536u - NAT_BDAY_PORT_MIN;
  return (uint16_t)(NAT_BDAY_PORT_MIN + (uint32_t)(((uint64_t)rnd * span) >> 32));
}

uint64_t nat_bday_next_timer(const struct nat_bday *b) {
  if (b->role == NAT_BDAY_NONE)
    return UINT64_MAX;
  return b->next_ns < b->deadline_ns ? b->next_ns : b->deadline_ns;
}

bool nat_bday_over(const struct nat_bday *b, uint64_t now) {
  if (b->role == NAT_BDAY_NONE || now >= b->deadline_ns)
    return true;
  if (b->role == NAT_BDAY_HARD)
    return !b->opening && b->socks == 0;
  return false; /* the easy side's cap: the deadline follows soon after */
}

bool nat_bday_may_try(const struct nat_bday_hist *h, const uint8_t id[RL_ID_LEN],
                      uint64_t now) {
  for (unsigned i = 0; i < NAT_BDAY_HIST; i++)
    if (h->e[i].until_ns && memcmp(h->e[i].id, id, RL_ID_LEN) == 0 && now < h->e[i].until_ns)
      return false;
  return true;
}

void nat_bday_retry_after(struct nat_bday_hist *h, const uint8_t id[RL_ID_LEN], uint64_t now,
                          uint64_t after_ns) {
  unsigned k = 0;
  for (unsigned i = 0; i < NAT_BDAY_HIST; i++) {
    if (h->e[i].until_ns && memcmp(h->e[i].id, id, RL_ID_LEN) == 0) {
      k = i;
      break;
    }
    if (h->e[i].until_ns < h->e[k].until_ns) /* the one free soonest (or a free one) */
      k = i;
  }
  memcpy(h->e[k].id, id, RL_ID_LEN);
  h->e[k].until_ns = now + after_ns;
}

void nat_bday_tried(struct nat_bday_hist *h, const uint8_t id[RL_ID_LEN], uint64_t now) {
  nat_bday_retry_after(h, id, now, NAT_BDAY_RETRY_NS);
}

static bool family_ok(const struct rl_addr *a) {
  return a->family == RL_AF_INET || a->family == RL_AF_INET6;
}

int nat_bday_msg_encode(const struct nat_bday_msg *m, uint8_t *out, size_t cap) {
  struct wire_w w;
  if (m->type < NAT_BDAY_MSG_REQ || m->type > NAT_BDAY_MSG_ACK ||
      (m->type == NAT_BDAY_MSG_REQ && (!family_ok(&m->target) || !family_ok(&m->hard_ip))))
    return RL_EINVAL;
  wire_w_init(&w, out, cap);
  wire_put_u8(&w, m->type);
  wire_put_bytes(&w, m->token, NAT_BDAY_TOKEN_LEN);
  if (m->type == NAT_BDAY_MSG_REQ) {
    nat_addr_put(&w, &m->target);
    nat_addr_put(&w, &m->hard_ip);
  }
  return w.err ? RL_ETOOBIG : (int)w.off;
}

int nat_bday_msg_decode(struct nat_bday_msg *m, const uint8_t *in, size_t len) {
  struct wire_r r;
  memset(m, 0, sizeof(*m));
  wire_r_init(&r, in, len);
  m->type = wire_get_u8(&r);
  wire_get_bytes(&r, m->token, NAT_BDAY_TOKEN_LEN);
  if (m->type < NAT_BDAY_MSG_REQ || m->type > NAT_BDAY_MSG_ACK)
    return RL_ETRUNC;
  if (m->type == NAT_BDAY_MSG_REQ &&
      (!nat_addr_get(&r, &m->target) || !nat_addr_get(&r, &m->hard_ip)))
    return RL_ETRUNC;
  return wire_done(&r) ? 0 : RL_ETRUNC;
}
