/* NODE record values: endpoint candidates (see value.h). */
#include "dht/value.h"

#include <ringlan/error.h>
#include <string.h>

#include "util/wire.h"

int dht_value_ep_encode(const struct rl_addr *ep, unsigned n, uint8_t *out, size_t cap) {
  struct wire_w w;
  if (n == 0 || n > DHT_EP_MAX)
    return RL_EINVAL;
  wire_w_init(&w, out, cap);
  wire_put_u8(&w, (uint8_t)n);
  for (unsigned i = 0; i < n; i++) {
    if (ep[i].family != RL_AF_INET && ep[i].family != RL_AF_INET6)
      return RL_EINVAL;
    wire_put_u8(&w, ep[i].family);
    wire_put_bytes(&w, ep[i].ip, ep[i].family == RL_AF_INET ? 4 : 16);
    wire_put_u16be(&w, ep[i].port);
  }
  return w.err ? RL_ETOOBIG : (int)w.off;
}

int dht_value_ep_decode(struct rl_addr *ep, unsigned max, const uint8_t *in, size_t len) {
  struct wire_r r;
  unsigned n;
  wire_r_init(&r, in, len);
  n = wire_get_u8(&r);
  if (!wire_ok(&r) || n == 0 || n > DHT_EP_MAX || n > max)
    return RL_ETRUNC;
  for (unsigned i = 0; i < n; i++) {
    memset(&ep[i], 0, sizeof(ep[i]));
    ep[i].family = wire_get_u8(&r);
    if (ep[i].family != RL_AF_INET && ep[i].family != RL_AF_INET6)
      return RL_ETRUNC;
    wire_get_bytes(&r, ep[i].ip, ep[i].family == RL_AF_INET ? 4 : 16);
    ep[i].port = wire_get_u16be(&r);
  }
  return wire_done(&r) ? (int)n : RL_ETRUNC;
}
