/* The event queue: a binary min-heap of (time_ns, seq) keys.
 *
 * seq is a counter assigned at push time, so events at the same virtual
 * time run in the order they were scheduled; with a seeded PRNG this makes
 * a run a pure function of its seed. Events are small values (32 bytes, no
 * pointers to own): the heap array grows geometrically and is never shrunk,
 * so a long run does not allocate per event. */
#ifndef RL_SIM_HEAP_H
#define RL_SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_ev {
  uint64_t t;     /* virtual time, ns */
  uint64_t seq;   /* tie-breaker, set by sim_heap_push */
  uint32_t kind;  /* enum sim_ev_kind (sim.h) */
  uint32_t node;  /* node index the event concerns */
  uint32_t arg;   /* kind-specific: timer generation, packet handle, ... */
  uint32_t arg2;
};

struct sim_heap {
  struct sim_ev *v;
  size_t n, cap;
  uint64_t next_seq;
};

void sim_heap_init(struct sim_heap *h);
void sim_heap_free(struct sim_heap *h);
/* Copies ev in, assigning ev.seq. Returns 0 or RL_ENOMEM. */
int sim_heap_push(struct sim_heap *h, const struct sim_ev *ev);
/* Removes the earliest event into *out; false when empty. */
bool sim_heap_pop(struct sim_heap *h, struct sim_ev *out);
/* Earliest time without removing (UINT64_MAX when empty). */
uint64_t sim_heap_peek_time(const struct sim_heap *h);

#endif
