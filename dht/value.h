/* Values of NODE records: a node's endpoint candidates.
 *
 * The DHT treats values as opaque bytes; this is the one encoding the node
 * core writes into its NODE record (dht_put_own) and reads from others'.
 *
 *   n (u8, 1..DHT_EP_MAX) | n x { family (u8: 4 or 6) | ip (4 or 16) | port (u16) }
 *
 * At most 1 + 8 * 19 = 153 bytes (< DHT_VALUE_MAX). Parsed from verified
 * records only, but still through util/wire.h and fuzzed
 * (tests/fuzz/fuzz_dht_record.c decodes every value it sees). */
#ifndef RL_DHT_VALUE_H
#define RL_DHT_VALUE_H

#include <ringlan/addr.h>
#include <stddef.h>
#include <stdint.h>

#define DHT_EP_MAX 8
#define DHT_EP_VALUE_MAX (1 + DHT_EP_MAX * (1 + 16 + 2))

/* Returns bytes written, RL_EINVAL (n == 0 or > DHT_EP_MAX, a family that
 * is neither IPv4 nor IPv6) or RL_ETOOBIG (cap). */
int dht_value_ep_encode(const struct rl_addr *ep, unsigned n, uint8_t *out, size_t cap);
/* Returns the number of endpoints (1..max) or RL_ETRUNC (malformed,
 * trailing bytes, unknown family, more than max or DHT_EP_MAX). */
int dht_value_ep_decode(struct rl_addr *ep, unsigned max, const uint8_t *in, size_t len);

#endif
