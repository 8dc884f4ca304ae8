/* In-flight datagram storage without a malloc per packet.
 *
 * Datagrams wait in the pool between "sent" and "delivered" events. Slots
 * come in size classes of 64 bytes; freed slots go to a per-class free list
 * and slabs are carved from 1 MiB chunks that live until the pool is freed.
 * Events refer to a slot by a 32-bit handle (chunk << 20 | offset / 64), so
 * the heap stays pointer-free. */
#ifndef RL_SIM_POOL_H
#define RL_SIM_POOL_H

#include <ringlan/addr.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_POOL_DGRAM_MAX 1664 /* largest datagram (>= NODE_UDP_MAX) */

struct sim_pkt {
  uint32_t next_free;   /* free list link (handle + 1; 0 = end) */
  uint16_t len;
  uint8_t cls;
  uint8_t pad;
  uint32_t src_host;    /* sending host index, for accounting */
  uint16_t dst_port;    /* the receiving host's port (after NAT) */
  struct rl_addr src;   /* source as seen by the receiver (after NAT) */
  uint8_t data[];
};

struct sim_pool {
  uint8_t **chunks;
  uint32_t n_chunks, cap_chunks;
  uint32_t chunk_used;                 /* bytes used in the last chunk */
  uint32_t free_head[SIM_POOL_DGRAM_MAX / 64 + 2];
  uint64_t live, peak_live;
};

void sim_pool_init(struct sim_pool *p);
void sim_pool_free(struct sim_pool *p);
/* Allocates a slot for len bytes; returns its handle or UINT32_MAX
 * (RL_ENOMEM / len too big). */
uint32_t sim_pool_alloc(struct sim_pool *p, size_t len);
struct sim_pkt *sim_pool_get(const struct sim_pool *p, uint32_t handle);
void sim_pool_release(struct sim_pool *p, uint32_t handle);

#endif
