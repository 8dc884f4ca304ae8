#include "node/core/pktq.h"

#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#define PKTQ_START 4

void pktq_init(struct pktq *q, unsigned max_n) {
  memset(q, 0, sizeof(*q));
  q->max_n = max_n;
}

void pktq_free(struct pktq *q) {
  free(q->slots);
  memset(q, 0, sizeof(*q));
}

static int grow(struct pktq *q) {
  unsigned ncap = q->cap ? q->cap * 2 : PKTQ_START;
  struct pktq_slot *ns;
  if (ncap > q->max_n)
    ncap = q->max_n;
  if (ncap <= q->cap)
    return RL_EFULL;
  ns = malloc((size_t)ncap * sizeof(*ns));
  if (!ns)
    return RL_ENOMEM;
  /* Unroll the ring into the new array, oldest first. */
  for (unsigned i = 0; i < q->n; i++)
    ns[i] = q->slots[(q->head + i) % q->cap];
  free(q->slots);
  q->slots = ns;
  q->cap = ncap;
  q->head = 0;
  return 0;
}

/* A drained queue that had grown past its start size gives the storage
 * back (10^5 simulated nodes each with a queue that once held a burst would
 * otherwise keep it for good); the first PKTQ_START slots stay, so the
 * packet path does not allocate per packet. */
static void release_if_empty(struct pktq *q) {
  if (q->n == 0 && q->cap > PKTQ_START) {
    free(q->slots);
    q->slots = NULL;
    q->cap = 0;
    q->head = 0;
  }
}

struct pktq_slot *pktq_push(struct pktq *q) {
  if (q->n == q->cap && grow(q) != 0) {
    q->dropped++;
    return NULL;
  }
  struct pktq_slot *s = &q->slots[(q->head + q->n) % q->cap];
  q->n++;
  s->len = 0;
  s->sock = 0;
  s->ttl = 0;
  return s;
}

void pktq_unpush(struct pktq *q) {
  if (q->n > 0)
    q->n--;
}

int pktq_put(struct pktq *q, const struct rl_addr *to, const uint8_t *data, size_t len) {
  struct pktq_slot *s;
  if (len > PKTQ_SLOT_MAX)
    return RL_ETOOBIG;
  s = pktq_push(q);
  if (!s)
    return RL_EFULL;
  if (to)
    s->to = *to;
  else
    memset(&s->to, 0, sizeof(s->to));
  memcpy(s->data, data, len);
  s->len = (uint16_t)len;
  return 0;
}

size_t pktq_pop(struct pktq *q, struct rl_addr *to, uint8_t *buf, size_t cap) {
  return pktq_pop_meta(q, to, NULL, NULL, buf, cap);
}

size_t pktq_pop_meta(struct pktq *q, struct rl_addr *to, uint16_t *sock, uint8_t *ttl,
                     uint8_t *buf, size_t cap) {
  while (q->n > 0) {
    struct pktq_slot *s = &q->slots[q->head];
    q->head = (q->head + 1) % q->cap;
    q->n--;
    if (s->len > cap) {
      q->dropped++;
      continue;
    }
    if (to)
      *to = s->to;
    if (sock)
      *sock = s->sock;
    if (ttl)
      *ttl = s->ttl;
    memcpy(buf, s->data, s->len);
    size_t len = s->len;
    release_if_empty(q);
    return len;
  }
  release_if_empty(q);
  return 0;
}
