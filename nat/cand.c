#include "nat/cand.h"

#include <ringlan/error.h>
#include <string.h>

#include "util/wire.h"

static int kind_ok(uint8_t k) { return k >= NAT_CAND_LOCAL && k <= NAT_CAND_TCP; }

int nat_cand_encode(const struct nat_cand *c, unsigned n, uint8_t *out, size_t cap) {
  struct wire_w w;
  if (n > NAT_CAND_MAX)
    return RL_EINVAL;
  wire_w_init(&w, out, cap);
  wire_put_u8(&w, NAT_CAND_VERSION);
  wire_put_u8(&w, (uint8_t)n);
  for (unsigned i = 0; i < n; i++) {
    const struct rl_addr *a = &c[i].addr;
    uint8_t kind = a->proto == RL_PROTO_TCP ? NAT_CAND_TCP : c[i].kind;
    if (!kind_ok(kind) || (a->family != RL_AF_INET && a->family != RL_AF_INET6) ||
        (kind == NAT_CAND_TCP && a->proto != RL_PROTO_TCP))
      return RL_EINVAL;
    wire_put_u8(&w, kind);
    wire_put_u8(&w, a->family);
    wire_put_u16be(&w, a->port);
    wire_put_bytes(&w, a->ip, a->family == RL_AF_INET ? 4 : 16);
  }
  return w.err ? RL_ETOOBIG : (int)w.off;
}

int nat_cand_decode(struct nat_cand *c, unsigned max, const uint8_t *in, size_t len) {
  size_t used;
  int k = nat_cand_decode_prefix(c, max, in, len, &used);
  return k >= 0 && used != len ? RL_ETRUNC : k;
}

int nat_cand_decode_prefix(struct nat_cand *c, unsigned max, const uint8_t *in, size_t len,
                           size_t *used) {
  struct wire_r r;
  unsigned n, kept = 0;
  *used = 0;
  wire_r_init(&r, in, len);
  if (wire_get_u8(&r) != NAT_CAND_VERSION)
    return RL_ETRUNC;
  n = wire_get_u8(&r);
  if (n > NAT_CAND_MAX)
    return RL_ETRUNC;
  for (unsigned i = 0; i < n; i++) {
    struct nat_cand t;
    memset(&t, 0, sizeof(t));
    t.kind = wire_get_u8(&r);
    t.addr.family = wire_get_u8(&r);
    t.addr.port = wire_get_u16be(&r);
    if (!kind_ok(t.kind) || (t.addr.family != RL_AF_INET && t.addr.family != RL_AF_INET6))
      return RL_ETRUNC;
    t.addr.proto = t.kind == NAT_CAND_TCP ? RL_PROTO_TCP : RL_PROTO_UDP;
    wire_get_bytes(&r, t.addr.ip, t.addr.family == RL_AF_INET ? 4 : 16);
    if (!wire_ok(&r))
      return RL_ETRUNC;
    if (kept < max)
      c[kept++] = t;
  }
  if (!wire_ok(&r))
    return RL_ETRUNC;
  *used = r.off;
  return (int)kept;
}

int nat_hints_encode(const struct nat_hint *h, unsigned n, uint8_t *out, size_t cap) {
  struct wire_w w;
  if (n > NAT_HINTS_MAX)
    return RL_EINVAL;
  wire_w_init(&w, out, cap);
  wire_put_u8(&w, (uint8_t)n);
  for (unsigned i = 0; i < n; i++) {
    wire_put_bytes(&w, h[i].id, NAT_HINT_ID_LEN);
    wire_put_u16be(&w, h[i].rtt_ms);
  }
  return w.err ? RL_ETOOBIG : (int)w.off;
}

int nat_hints_decode(struct nat_hint *h, unsigned max, const uint8_t *in, size_t len) {
  struct wire_r r;
  unsigned n;
  wire_r_init(&r, in, len);
  n = wire_get_u8(&r);
  if (!wire_ok(&r) || n > max || n > NAT_HINTS_MAX ||
      len != 1 + (size_t)n * (NAT_HINT_ID_LEN + 2))
    return RL_ETRUNC;
  for (unsigned i = 0; i < n; i++) {
    wire_get_bytes(&r, h[i].id, NAT_HINT_ID_LEN);
    h[i].rtt_ms = wire_get_u16be(&r);
  }
  return wire_done(&r) ? (int)n : RL_ETRUNC;
}

int nat_record_decode(struct nat_cand *c, unsigned max, struct nat_hint *h, unsigned hmax,
                      unsigned *nh, const uint8_t *in, size_t len) {
  size_t used;
  int nc = nat_cand_decode_prefix(c, max, in, len, &used), k;
  *nh = 0;
  if (nc < 0 || used == len)
    return nc;
  if ((k = nat_hints_decode(h, hmax, in + used, len - used)) < 0)
    return k;
  *nh = (unsigned)k;
  return nc;
}

void nat_addr_put(struct wire_w *w, const struct rl_addr *a) {
  wire_put_u8(w, a->family);
  wire_put_u16be(w, a->port);
  wire_put_bytes(w, a->ip, a->family == RL_AF_INET6 ? 16 : 4);
}

bool nat_addr_get(struct wire_r *r, struct rl_addr *a) {
  memset(a, 0, sizeof(*a));
  a->family = wire_get_u8(r);
  a->port = wire_get_u16be(r);
  if (a->family != RL_AF_INET && a->family != RL_AF_INET6)
    return false;
  return wire_get_bytes(r, a->ip, a->family == RL_AF_INET6 ? 16 : 4);
}
