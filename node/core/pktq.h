/* A bounded FIFO of datagrams or frames, the node core's output queues.
 *
 * Storage grows on demand (doubling from a small start up to max_n slots)
 * and shrinks back to the start size when a drained queue had grown past
 * it: a queue never used holds nothing, one in use a few slots, and only a
 * burst larger than that costs an allocation (never one per packet). */
#ifndef RL_NODE_CORE_PKTQ_H
#define RL_NODE_CORE_PKTQ_H

#include <ringlan/addr.h>
#include <stddef.h>
#include <stdint.h>

#define PKTQ_SLOT_MAX 1600

struct pktq_slot {
  struct rl_addr to;
  uint16_t len;
  uint16_t sock;      /* local socket (node_tx.sock), 0 after push */
  uint8_t ttl;        /* IP TTL (node_tx.ttl), 0 after push */
  uint8_t data[PKTQ_SLOT_MAX];
};

struct pktq {
  struct pktq_slot *slots;
  unsigned cap, head, n, max_n;
  uint64_t dropped; /* pushes refused because the queue was full */
};

void pktq_init(struct pktq *q, unsigned max_n);
void pktq_free(struct pktq *q);
/* Reserves the next slot; returns NULL (and counts a drop) when full or
 * out of memory. The caller fills ->data/->len/->to. */
struct pktq_slot *pktq_push(struct pktq *q);
/* Copies a packet in. Returns 0 or RL_EFULL / RL_ETOOBIG. */
int pktq_put(struct pktq *q, const struct rl_addr *to, const uint8_t *data, size_t len);
/* Pops the oldest entry into buf; returns its length (0 when empty). A
 * packet larger than cap is dropped and counted, and the next is tried. */
size_t pktq_pop(struct pktq *q, struct rl_addr *to, uint8_t *buf, size_t cap);
/* pktq_pop that also returns the slot's sock and ttl (may be NULL). */
size_t pktq_pop_meta(struct pktq *q, struct rl_addr *to, uint16_t *sock, uint8_t *ttl,
                     uint8_t *buf, size_t cap);
/* Drops the most recently pushed entry (a push whose fill failed). */
void pktq_unpush(struct pktq *q);

#endif
