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
 *       3 = reflexive (as peers see us)
 */
#ifndef RL_NAT_CAND_H
#define RL_NAT_CAND_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAT_CAND_VERSION 1
#define NAT_CAND_MAX 8

enum nat_cand_kind { NAT_CAND_LOCAL = 1, NAT_CAND_MAPPED = 2, NAT_CAND_REFLEXIVE = 3 };

struct nat_cand {
  uint8_t kind;
  struct rl_addr addr;
};

/* Returns bytes written or RL_ETOOBIG / RL_EINVAL (bad family or kind). */
int nat_cand_encode(const struct nat_cand *c, unsigned n, uint8_t *out, size_t cap);
/* Returns the number of candidates (<= max) or RL_ETRUNC on malformed input
 * (trailing bytes, unknown version/family/kind, more than NAT_CAND_MAX). */
int nat_cand_decode(struct nat_cand *c, unsigned max, const uint8_t *in, size_t len);

struct wire_w;
struct wire_r;
/* One address as the link message OBSERVED and the birthday messages carry
 * it: family (1: 4 or 6), port (2, big-endian), ip (4 or 16 bytes).
 * nat_addr_get returns false on an unknown family or short input. */
void nat_addr_put(struct wire_w *w, const struct rl_addr *a);
bool nat_addr_get(struct wire_r *r, struct rl_addr *a);

#endif
