/* Overlay message encoding/decoding (formats: docs/overlay.md). */
#include "overlay/ov_msg.h"

#include <ringlan/error.h>
#include <string.h>

#include "util/wire.h"

size_t ov_node_size(const struct ov_node *n) {
  size_t s = RL_ID_LEN + 1;
  for (unsigned i = 0; i < n->n_ep && i < OV_MAX_ENDPOINTS; i++)
    s += 3 + (n->ep[i].family == RL_AF_INET6 ? 16 : 4);
  return s;
}

void ov_node_put(struct wire_w *w, const struct ov_node *n) {
  unsigned n_ep = 0;
  /* Only well-formed endpoints go on the wire; count them first. */
  for (unsigned i = 0; i < n->n_ep && i < OV_MAX_ENDPOINTS; i++)
    if (n->ep[i].family == RL_AF_INET || n->ep[i].family == RL_AF_INET6)
      n_ep++;
  wire_put_bytes(w, n->id, RL_ID_LEN);
  wire_put_u8(w, (uint8_t)n_ep);
  for (unsigned i = 0; i < n->n_ep && i < OV_MAX_ENDPOINTS; i++) {
    const struct rl_addr *a = &n->ep[i];
    if (a->family != RL_AF_INET && a->family != RL_AF_INET6)
      continue;
    wire_put_u8(w, a->family);
    wire_put_u16be(w, a->port);
    wire_put_bytes(w, a->ip, a->family == RL_AF_INET6 ? 16 : 4);
  }
}

bool ov_node_get(struct wire_r *r, struct ov_node *n) {
  memset(n, 0, sizeof(*n));
  wire_get_bytes(r, n->id, RL_ID_LEN);
  uint8_t n_ep = wire_get_u8(r);
  if (!wire_ok(r) || n_ep > OV_MAX_ENDPOINTS)
    return false;
  for (unsigned i = 0; i < n_ep; i++) {
    struct rl_addr *a = &n->ep[i];
    a->proto = RL_PROTO_UDP; /* node descriptors carry UDP endpoints only */
    a->family = wire_get_u8(r);
    a->port = wire_get_u16be(r);
    if (a->family == RL_AF_INET)
      wire_get_bytes(r, a->ip, 4);
    else if (a->family == RL_AF_INET6)
      wire_get_bytes(r, a->ip, 16);
    else
      return false;
  }
  n->n_ep = n_ep;
  return wire_ok(r);
}

/* Writes the count byte, then as many descriptors as fit in the buffer. */
static void put_succ_list(struct wire_w *w, const struct ov_msg *m) {
  uint8_t *count = wire_put_ptr(w, 1);
  unsigned n = 0;
  if (!count)
    return;
  for (unsigned i = 0; i < m->n_succ && i < OV_MAX_SUCC; i++) {
    if (w->cap - w->off < ov_node_size(&m->succ[i]))
      break;
    ov_node_put(w, &m->succ[i]);
    n++;
  }
  *count = (uint8_t)n;
}

static bool get_succ_list(struct wire_r *r, struct ov_msg *m) {
  uint8_t n = wire_get_u8(r);
  if (!wire_ok(r) || n > OV_MAX_SUCC)
    return false;
  for (unsigned i = 0; i < n; i++)
    if (!ov_node_get(r, &m->succ[i]))
      return false;
  m->n_succ = n;
  return true;
}

int ov_msg_encode(const struct ov_msg *m, uint8_t *buf, size_t cap) {
  struct wire_w w;
  if (cap > OV_MSG_MAX)
    cap = OV_MSG_MAX; /* never produce what a peer must reject */
  wire_w_init(&w, buf, cap);
  wire_put_u8(&w, m->type);
  switch (m->type) {
  case OV_MSG_FIND:
    wire_put_u8(&w, m->flags);
    wire_put_u8(&w, m->ttl);
    wire_put_u8(&w, m->hops);
    wire_put_u32be(&w, m->nonce);
    wire_put_bytes(&w, m->target, RL_ID_LEN);
    wire_put_bytes(&w, m->via, RL_ID_LEN);
    ov_node_put(&w, &m->node);
    break;
  case OV_MSG_FIND_REPLY:
    wire_put_u8(&w, m->flags);
    wire_put_u8(&w, m->ttl);
    wire_put_u8(&w, m->hops);
    wire_put_u32be(&w, m->nonce);
    wire_put_bytes(&w, m->dest, RL_ID_LEN);
    wire_put_bytes(&w, m->via, RL_ID_LEN);
    wire_put_bytes(&w, m->target, RL_ID_LEN);
    ov_node_put(&w, &m->node);
    if (m->flags & OV_F_HAS_PRED)
      ov_node_put(&w, &m->pred);
    put_succ_list(&w, m);
    break;
  case OV_MSG_GET_PRED:
  case OV_MSG_HELLO:
  case OV_MSG_PING:
  case OV_MSG_PONG:
    break;
  case OV_MSG_PRED_REPLY:
  case OV_MSG_LEAVE:
    wire_put_u8(&w, m->flags);
    if (m->flags & OV_F_HAS_PRED)
      ov_node_put(&w, &m->pred);
    put_succ_list(&w, m);
    break;
  case OV_MSG_NOTIFY:
    wire_put_u8(&w, m->flags);
    ov_node_put(&w, &m->node);
    break;
  case OV_MSG_ROUTED:
    if (m->len > OV_APP_MAX)
      return RL_ETOOBIG;
    wire_put_u8(&w, m->flags);
    wire_put_u8(&w, m->ttl);
    wire_put_u8(&w, m->hops);
    wire_put_bytes(&w, m->src, RL_ID_LEN);
    wire_put_bytes(&w, m->target, RL_ID_LEN);
    if (m->flags & OV_F_VIA)
      wire_put_bytes(&w, m->via, RL_ID_LEN);
    wire_put_u8(&w, m->app);
    wire_put_u16be(&w, (uint16_t)m->len);
    wire_put_bytes(&w, m->payload, m->len);
    break;
  case OV_MSG_BCAST:
    if (m->len > OV_APP_MAX)
      return RL_ETOOBIG;
    wire_put_u8(&w, m->flags);
    wire_put_u8(&w, m->hops);
    wire_put_bytes(&w, m->src, RL_ID_LEN);
    wire_put_u32be(&w, m->epoch);
    wire_put_u32be(&w, m->seq);
    wire_put_bytes(&w, m->target, RL_ID_LEN);
    wire_put_u8(&w, m->app);
    wire_put_u16be(&w, (uint16_t)m->len);
    wire_put_bytes(&w, m->payload, m->len);
    break;
  default:
    return RL_EINVAL;
  }
  return w.err ? RL_ETOOBIG : (int)w.off;
}

int ov_msg_decode(struct ov_msg *m, const uint8_t *buf, size_t len) {
  struct wire_r r;
  /* Clear only the scalar header: zeroing the whole ~2 KB struct per
   * message is wasted work; fields a type does not use stay unset. */
  m->flags = m->ttl = m->hops = m->app = 0;
  m->nonce = 0;
  m->n_succ = 0;
  m->payload = NULL;
  m->len = 0;
  if (len == 0 || len > OV_MSG_MAX)
    return RL_ETRUNC;
  wire_r_init(&r, buf, len);
  m->type = wire_get_u8(&r);
  switch (m->type) {
  case OV_MSG_FIND:
    m->flags = wire_get_u8(&r);
    m->ttl = wire_get_u8(&r);
    m->hops = wire_get_u8(&r);
    m->nonce = wire_get_u32be(&r);
    wire_get_bytes(&r, m->target, RL_ID_LEN);
    wire_get_bytes(&r, m->via, RL_ID_LEN);
    if (!ov_node_get(&r, &m->node))
      return wire_ok(&r) ? RL_EPARSE : RL_ETRUNC;
    break;
  case OV_MSG_FIND_REPLY:
    m->flags = wire_get_u8(&r);
    m->ttl = wire_get_u8(&r);
    m->hops = wire_get_u8(&r);
    m->nonce = wire_get_u32be(&r);
    wire_get_bytes(&r, m->dest, RL_ID_LEN);
    wire_get_bytes(&r, m->via, RL_ID_LEN);
    wire_get_bytes(&r, m->target, RL_ID_LEN);
    if (!ov_node_get(&r, &m->node) ||
        ((m->flags & OV_F_HAS_PRED) && !ov_node_get(&r, &m->pred)) ||
        !get_succ_list(&r, m))
      return wire_ok(&r) ? RL_EPARSE : RL_ETRUNC;
    break;
  case OV_MSG_GET_PRED:
  case OV_MSG_HELLO:
  case OV_MSG_PING:
  case OV_MSG_PONG:
    break;
  case OV_MSG_PRED_REPLY:
  case OV_MSG_LEAVE:
    m->flags = wire_get_u8(&r);
    if (((m->flags & OV_F_HAS_PRED) && !ov_node_get(&r, &m->pred)) ||
        !get_succ_list(&r, m))
      return wire_ok(&r) ? RL_EPARSE : RL_ETRUNC;
    break;
  case OV_MSG_NOTIFY:
    m->flags = wire_get_u8(&r);
    if (!ov_node_get(&r, &m->node))
      return wire_ok(&r) ? RL_EPARSE : RL_ETRUNC;
    break;
  case OV_MSG_ROUTED:
    m->flags = wire_get_u8(&r);
    m->ttl = wire_get_u8(&r);
    m->hops = wire_get_u8(&r);
    wire_get_bytes(&r, m->src, RL_ID_LEN);
    wire_get_bytes(&r, m->target, RL_ID_LEN);
    if ((m->flags & OV_F_THROUGH) && !(m->flags & OV_F_VIA))
      return RL_EPARSE;
    if (m->flags & OV_F_VIA)
      wire_get_bytes(&r, m->via, RL_ID_LEN);
    m->app = wire_get_u8(&r);
    m->len = wire_get_u16be(&r);
    if (wire_ok(&r) && m->len > OV_APP_MAX)
      return RL_EPARSE;
    m->payload = wire_get_ptr(&r, m->len);
    break;
  case OV_MSG_BCAST:
    m->flags = wire_get_u8(&r);
    m->hops = wire_get_u8(&r);
    wire_get_bytes(&r, m->src, RL_ID_LEN);
    m->epoch = wire_get_u32be(&r);
    m->seq = wire_get_u32be(&r);
    wire_get_bytes(&r, m->target, RL_ID_LEN);
    m->app = wire_get_u8(&r);
    m->len = wire_get_u16be(&r);
    if (wire_ok(&r) && (m->flags != 0 || m->len > OV_APP_MAX))
      return RL_EPARSE; /* no flags are defined yet */
    m->payload = wire_get_ptr(&r, m->len);
    break;
  default:
    return RL_EPARSE;
  }
  if (!wire_ok(&r))
    return RL_ETRUNC;
  return wire_done(&r) ? 0 : RL_ETRUNC;
}
