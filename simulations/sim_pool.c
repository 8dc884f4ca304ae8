#include "simulations/sim_pool.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_SHIFT 20
#define CHUNK_BYTES (1u << CHUNK_SHIFT)
#define GRAIN 64

void sim_pool_init(struct sim_pool *p) { memset(p, 0, sizeof(*p)); }

void sim_pool_free(struct sim_pool *p) {
  for (uint32_t i = 0; i < p->n_chunks; i++)
    free(p->chunks[i]);
  free(p->chunks);
  sim_pool_init(p);
}

static uint32_t handle_of(uint32_t chunk, uint32_t off) {
  return chunk << (CHUNK_SHIFT - 6) | off / GRAIN;
}

struct sim_pkt *sim_pool_get(const struct sim_pool *p, uint32_t h) {
  uint32_t chunk = h >> (CHUNK_SHIFT - 6);
  uint32_t off = (h & ((CHUNK_BYTES / GRAIN) - 1)) * GRAIN;
  return (struct sim_pkt *)(p->chunks[chunk] + off);
}

uint32_t sim_pool_alloc(struct sim_pool *p, size_t len) {
  if (len > SIM_POOL_DGRAM_MAX)
    return UINT32_MAX;
  size_t need = sizeof(struct sim_pkt) + len;
  uint32_t cls = (uint32_t)((need + GRAIN - 1) / GRAIN);
  uint32_t h;
  if (p->free_head[cls]) {
    h = p->free_head[cls] - 1;
    p->free_head[cls] = sim_pool_get(p, h)->next_free;
  } else {
    uint32_t bytes = cls * GRAIN;
    if (!p->n_chunks || p->chunk_used + bytes > CHUNK_BYTES) {
      if (p->n_chunks == p->cap_chunks) {
        uint32_t cap = p->cap_chunks ? p->cap_chunks * 2 : 16;
        /* 2^32 handles / 2^14 slots per chunk; stay below so handle+1 fits */
        if (cap > (1u << 17))
          return UINT32_MAX;
        uint8_t **c = realloc(p->chunks, cap * sizeof(*c));
        if (!c)
          return UINT32_MAX;
        p->chunks = c;
        p->cap_chunks = cap;
      }
      uint8_t *mem = aligned_alloc(GRAIN, CHUNK_BYTES);
      if (!mem)
        return UINT32_MAX;
      p->chunks[p->n_chunks++] = mem;
      p->chunk_used = 0;
    }
    h = handle_of(p->n_chunks - 1, p->chunk_used);
    p->chunk_used += bytes;
  }
  struct sim_pkt *pkt = sim_pool_get(p, h);
  pkt->cls = (uint8_t)cls;
  pkt->len = (uint16_t)len;
  pkt->next_free = 0;
  if (++p->live > p->peak_live)
    p->peak_live = p->live;
  return h;
}

void sim_pool_release(struct sim_pool *p, uint32_t h) {
  struct sim_pkt *pkt = sim_pool_get(p, h);
  pkt->next_free = p->free_head[pkt->cls];
  p->free_head[pkt->cls] = h + 1;
  p->live--;
}
