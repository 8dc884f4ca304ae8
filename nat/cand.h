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
 *
 * The DHT NODE record value is a candidate list, optionally followed by
 * relay hints, members the node holds direct links to (a peer that can
 * reach it neither directly nor over the overlay relays through one):
 *
 * +----------------+---------+--------------------------------------+
 * | candidate list | count h | h x ( overlay ID (20) | RTT ms (2) ) |
 * +----------------+---------+--------------------------------------+
 */
#ifndef RL_NAT_CAND_H
#define RL_NAT_CAND_H

#include <ringlan/addr.h>
#include <stdbool.h>
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
/* The same for a candidate list followed by more data (a NODE record's
 * relay hints): *used = bytes the list took. */
int nat_cand_decode_prefix(struct nat_cand *c, unsigned max, const uint8_t *in, size_t len,
                           size_t *used);

#define NAT_HINTS_MAX 16
#define NAT_HINT_ID_LEN 20 /* an overlay ID (RL_ID_LEN) */
struct nat_hint {
  uint8_t id[NAT_HINT_ID_LEN];
  uint16_t rtt_ms;
};
/* Relay hints: count(1) then count x (ID, RTT ms big-endian). Encode
 * returns bytes written or RL_ETOOBIG / RL_EINVAL (n > NAT_HINTS_MAX);
 * decode the number of hints or RL_ETRUNC (short, trailing bytes, more
 * than max). */
int nat_hints_encode(const struct nat_hint *h, unsigned n, uint8_t *out, size_t cap);
int nat_hints_decode(struct nat_hint *h, unsigned max, const uint8_t *in, size_t len);
/* A NODE record value: candidates, then hints (absent: *nh = 0). Returns
 * the number of candidates or RL_ETRUNC. */
int nat_record_decode(struct nat_cand *c, unsigned max, struct nat_hint *h, unsigned hmax,
                      unsigned *nh, const uint8_t *in, size_t len);

struct wire_w;
struct wire_r;
/* One address as the link message OBSERVED and the birthday messages carry
 * it: family (1: 4 or 6), port (2, big-endian), ip (4 or 16 bytes).
 * nat_addr_get returns false on an unknown family or short input. */
void nat_addr_put(struct wire_w *w, const struct rl_addr *a);
bool nat_addr_get(struct wire_r *r, struct rl_addr *a);

#endif
