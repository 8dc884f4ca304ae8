/* A simulated NAT box with RFC 4787 behaviour.
 *
 * Mapping (RFC 4787 section 4.1): which external port an outbound packet
 * from internal endpoint X:x to remote Y:y uses.
 *   EIM   endpoint-independent: one port per X:x for every Y:y
 *   ADM   address-dependent: one port per (X:x, Y)
 *   APDM  address-and-port-dependent ("symmetric"): one per (X:x, Y:y)
 * Filtering (section 5): which inbound packets from Y':y' to a mapping pass.
 *   EIF   endpoint-independent: anyone ("full cone")
 *   ADF   address-dependent: only from a Y the mapping has sent to
 *   APDF  address-and-port-dependent: only from a Y:y it has sent to
 * Ports: the first mapping of an internal port keeps it when free, the
 * others are sequential; or every new mapping gets a random port in
 * 1024..65535 (random_ports, as Linux masquerade fully-random: what
 * birthday probing must hit).
 * Binding timeout (section 4.3): a mapping, and each filter permission, lives
 * binding_timeout after the last *outbound* packet (inbound refresh is off,
 * REQ-6 allows either). Hairpinning is off. UDP may be blocked outright.
 * A UPnP box additionally accepts static port forwards (never expire, EIF).
 *
 * The box sees only IPv4 addresses and ports; the simulated network asks it
 * to translate each datagram that crosses it. Per-box state grows with the
 * number of (internal, remote) pairs; memory is released by sim_nat_free. */
#ifndef RL_SIM_NAT_H
#define RL_SIM_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sim_nat_mapping { SIM_MAP_EIM = 0, SIM_MAP_ADM, SIM_MAP_APDM };
enum sim_nat_filter { SIM_FILT_EIF = 0, SIM_FILT_ADF, SIM_FILT_APDF };

struct sim_nat_perm {         /* one remote the mapping has sent to */
  uint32_t ip;
  uint16_t port;
  uint64_t last_out_ns;
};

struct sim_nat_map {
  uint32_t int_ip;            /* internal endpoint */
  uint16_t int_port;
  uint16_t ext_port;
  uint32_t rem_ip;            /* ADM/APDM: the remote this mapping is for */
  uint16_t rem_port;
  bool permanent;             /* UPnP forward */
  uint64_t last_out_ns;
  uint32_t n_perm, cap_perm;
  struct sim_nat_perm *perm;
};

struct sim_nat {
  enum sim_nat_mapping mapping;
  enum sim_nat_filter filter;
  bool blocked;               /* drops all UDP both ways */
  bool upnp;                  /* accepts sim_nat_forward() */
  /* New mappings get random external ports (Linux "masquerade
   * fully-random"), no port preservation; else sequential after
   * preserving the internal port when free. */
  bool random_ports;
  uint64_t rng;               /* random_ports: xorshift64 state, nonzero */
  uint32_t ext_ip;            /* the box's public address */
  uint64_t timeout_ns;
  uint16_t next_port;
  uint32_t n_map, cap_map;
  struct sim_nat_map *map;
  uint64_t dropped_in, dropped_out;
};

void sim_nat_init(struct sim_nat *b, enum sim_nat_mapping m, enum sim_nat_filter f,
                  uint32_t ext_ip, uint64_t timeout_ns);
void sim_nat_free(struct sim_nat *b);

/* Outbound X:x -> Y:y at now. On success returns 0 and the external source
 * port in *ext_port; RL_EREFUSED when UDP is blocked; RL_EFULL when the box
 * has run out of ports; RL_ENOMEM. */
int sim_nat_out(struct sim_nat *b, uint32_t int_ip, uint16_t int_port, uint32_t rem_ip,
                uint16_t rem_port, uint64_t now_ns, uint16_t *ext_port);
/* Inbound Y:y -> box:ext_port at now. On success returns 0 and the internal
 * endpoint; RL_EREFUSED when filtered, blocked or no live mapping. */
int sim_nat_in(struct sim_nat *b, uint32_t rem_ip, uint16_t rem_port, uint16_t ext_port,
               uint64_t now_ns, uint32_t *int_ip, uint16_t *int_port);
/* UPnP: a permanent endpoint-independent forward of ext_port (0 = same as
 * int_port if free) to X:x. Returns 0 and the port, RL_EUNSUP without UPnP,
 * RL_EEXIST when the port is taken. */
int sim_nat_forward(struct sim_nat *b, uint32_t int_ip, uint16_t int_port, uint16_t *ext_port);
/* Drops expired mappings (called now and then to bound memory). */
void sim_nat_expire(struct sim_nat *b, uint64_t now_ns);

#endif
