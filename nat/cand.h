/* Endpoint candidates: the addresses under which a member may be reached,
 * as published in its DHT NODE record (value) and carried in overlay node
 * descriptors.
 *
 *  0         1         2
 * +---------+---------+-------------------------------------------+
 * | version | count n | n x candidate                             |
 * +---------+---------+-------------------------------------------+
 * candidate: kind(1) family(1: 4 or 6) port(2) ip(4 or 16)
 * kind: 1 = local (bound address), 2 = mapped (UPnP/NAT-PMP),
 *       3 = reflexive (as peers see us), 4 = TCP (a host address where the
 *       member accepts TCP connections carrying the same packets with a
 *       2-byte length before each; the only kind whose addr.proto is TCP)
 */
#ifndef RL_NAT_CAND_H
#define RL_NAT_CAND_H

#include <ringlan/addr.h>
#include <stddef.h>
#include <stdint.h>

#define NAT_CAND_VERSION 1
#define NAT_CAND_MAX 8

enum nat_cand_kind {
  NAT_CAND_LOCAL = 1,
  NAT_CAND_MAPPED = 2,
  NAT_CAND_REFLEXIVE = 3,
  NAT_CAND_TCP = 4
};

struct nat_cand {
  uint8_t kind;
  struct rl_addr addr;
};

/* Returns bytes written or RL_ETOOBIG / RL_EINVAL (bad family or kind). A
 * TCP address is always written as kind NAT_CAND_TCP (whatever c[i].kind
 * says); kind NAT_CAND_TCP with a UDP address is RL_EINVAL. */
int nat_cand_encode(const struct nat_cand *c, unsigned n, uint8_t *out, size_t cap);
/* Returns the number of candidates (<= max) or RL_ETRUNC on malformed input
 * (trailing bytes, unknown version/family/kind, more than NAT_CAND_MAX).
 * Kind NAT_CAND_TCP decodes to addr.proto = RL_PROTO_TCP, others to UDP. */
int nat_cand_decode(struct nat_cand *c, unsigned max, const uint8_t *in, size_t len);

#endif
