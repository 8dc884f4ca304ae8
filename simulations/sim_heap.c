#include "simulations/sim_heap.h"

#include <ringlan/error.h>
#include <stdlib.h>

void sim_heap_init(struct sim_heap *h) {
  h->v = NULL;
  h->n = h->cap = 0;
  h->next_seq = 0;
}

void sim_heap_free(struct sim_heap *h) {
  free(h->v);
  sim_heap_init(h);
}

static inline bool ev_less(const struct sim_ev *a, const struct sim_ev *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

int sim_heap_push(struct sim_heap *h, const struct sim_ev *ev) {
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 1024;
    struct sim_ev *v = realloc(h->v, cap * sizeof(*v));
    if (!v)
      return RL_ENOMEM;
    h->v = v;
    h->cap = cap;
  }
  struct sim_ev e = *ev;
  e.seq = h->next_seq++;
  size_t i = h->n++;
  while (i > 0) { /* sift up */
    size_t p = (i - 1) / 2;
    if (!ev_less(&e, &h->v[p]))
      break;
    h->v[i] = h->v[p];
    i = p;
  }
  h->v[i] = e;
  return 0;
}

bool sim_heap_pop(struct sim_heap *h, struct sim_ev *out) {
  if (!h->n)
    return false;
  *out = h->v[0];
  struct sim_ev last = h->v[--h->n];
  size_t i = 0, n = h->n;
  for (;;) { /* sift down */
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && ev_less(&h->v[c + 1], &h->v[c]))
      c++;
    if (!ev_less(&h->v[c], &last))
      break;
    h->v[i] = h->v[c];
    i = c;
  }
  if (n)
    h->v[i] = last;
  return true;
}

uint64_t sim_heap_peek_time(const struct sim_heap *h) {
  return h->n ? h->v[0].t : UINT64_MAX;
}
