/* The simulated Internet: hosts, latency, loss, NAT boxes, partitions.
 *
 * Address plan (all virtual; nothing touches a real network):
 *   public addresses  240.0.0.0/4 (reserved "future use" space, 2^28
 *                     addresses, so 10^5 hosts plus their NAT boxes fit),
 *                     one per public host and one per NAT box
 *   behind a NAT box  192.168.0.2 + k for the k-th host of the site (each
 *                     site reuses the same private range, as real LANs do)
 *   every host listens on SIM_HOST_PORT (UDP, and TCP: route_tcp in sim_net.c)
 *
 * Latency of a datagram = propagation + access(src) + access(dst), where
 * propagation is the Euclidean distance between the hosts' synthetic
 * coordinates (a cube whose diagonal is coord_span_ms) or the entry of a
 * delay matrix; hosts behind the same box talk over the LAN (lan_delay_ms).
 * Hosts [0, seeds) are always public (bootstrap nodes); the others are
 * grouped into sites of hosts_per_site, each behind one NAT box of a class
 * drawn from the [nat] mix in exact proportions (then shuffled). */
#ifndef RL_SIM_NET_H
#define RL_SIM_NET_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stdint.h>

#include "simulations/sim_nat.h"
#include "simulations/sim_rng.h"
#include "simulations/sim_scenario.h"

#define SIM_HOST_PORT 7000
#define SIM_TCP_PORT0 20000 /* modelled TCP connections: 20000 + index in the site */
#define SIM_NO_BOX UINT32_MAX
#define SIM_PUB_BASE 0xF0000000u /* 240.0.0.0 */
#define SIM_PRIV_BASE 0xC0A80002u /* 192.168.0.2 */

struct sim_host {
  float pos[3];        /* ms */
  float access_ms;
  uint32_t box;        /* SIM_NO_BOX: public */
  uint32_t ip;         /* own address: public, or private inside the site */
  uint32_t mrow;       /* delay matrix row */
  uint8_t cls;         /* enum sim_nat_class of its site */
  uint8_t part_mask;   /* bit p: member of partition p */
};

struct sim_net_stats {
  uint64_t sent, delivered, lost, partitioned, unroutable, nat_out_drop, nat_in_drop,
      no_port, ttl_expired;
};

struct sim_net {
  uint32_t n_hosts, n_boxes, n_pub;
  struct sim_host *hosts;
  struct sim_nat *boxes;
  uint32_t *box_first;  /* first host of each box's site (sites are contiguous) */
  uint32_t *box_count;
  uint32_t *pub_owner;  /* public index -> host, or box | SIM_PUB_BOX */
  float *matrix;        /* mat_n x mat_n one-way ms, or NULL */
  uint32_t mat_n;
  double loss;
  uint64_t lan_ns;
  uint8_t active_parts; /* partitions currently in force */
  struct sim_rng loss_rng;
  struct sim_net_stats st;
};
#define SIM_PUB_BOX 0x80000000u

/* Builds the network for sc->nodes hosts. Returns 0, RL_EIO/RL_EPARSE
 * (matrix file, reason in err) or RL_ENOMEM. */
int sim_net_init(struct sim_net *net, const struct sim_scenario *sc, uint64_t seed, char *err,
                 size_t errcap);
void sim_net_free(struct sim_net *net);

/* The address a host binds (its own IP, SIM_HOST_PORT). */
void sim_net_local_addr(const struct sim_net *net, uint32_t host, struct rl_addr *out);
/* The address others reach it at without traversal: its public address
 * for a public host, else its box's address with the port a static forward
 * would use (reachable only through a mapping, a forward or not at all). */
void sim_net_public_addr(const struct sim_net *net, uint32_t host, struct rl_addr *out);

/* Routes one datagram from host `src` (source port src_port) to `dst`.
 * Returns 0 with the receiving host, the source address as the receiver
 * sees it and the one-way delay; or a negative RL_E* when it is dropped
 * (counted in net->st by reason). */
int sim_net_route(struct sim_net *net, uint32_t src, uint16_t src_port,
                  const struct rl_addr *dst, uint64_t now_ns, uint32_t *dst_host,
                  struct rl_addr *seen_src, uint64_t *delay_ns);
/* sim_net_route for hosts with several sockets: any source port, an IP
 * TTL (0: default; 1..SIM_TTL_HOPS: the datagram passes the sender's own
 * NAT box, which maps it, and dies before the destination), and the
 * destination port is returned in *dst_port instead of being checked
 * against SIM_HOST_PORT (the caller knows which ports a host has open). */
#define SIM_TTL_HOPS 2
int sim_net_route_port(struct sim_net *net, uint32_t src, uint16_t src_port, uint8_t ttl,
                       const struct rl_addr *dst, uint64_t now_ns, uint32_t *dst_host,
                       uint16_t *dst_port, struct rl_addr *seen_src, uint64_t *delay_ns);
/* One-way base delay between two hosts (no NAT, no loss). */
uint64_t sim_net_delay_ns(const struct sim_net *net, uint32_t a, uint32_t b);

/* Parses a delay matrix ("N" then N*N one-way ms values, '#' comments).
 * Returns 0 and a malloc'd array, or RL_EPARSE with a reason. */
int sim_net_matrix_parse(const char *text, size_t len, float **out, uint32_t *n, char *err,
                         size_t errcap);

#endif
