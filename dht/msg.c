/* DHT protocol message encoding (see msg.h, docs/dht.md). */
#include "dht/msg.h"

#include <ringlan/error.h>
#include <string.h>

#include "overlay/overlay.h"
#include "util/wire.h"

/* Every message must fit one routed overlay payload. */
_Static_assert(DHT_MSG_MAX <= OV_APP_MAX, "DHT messages must fit OV_APP_MAX");

static void put_replicas(struct wire_w *w, const struct dht_msg *m) {
  wire_put_u8(w, m->n_replicas);
  for (unsigned i = 0; i < m->n_replicas; i++)
    wire_put_bytes(w, m->replicas[i], RL_ID_LEN);
}

static void put_rec(struct wire_w *w, const struct dht_msg *m) {
  wire_put_u16be(w, (uint16_t)m->rec_len);
  if (m->rec_len)
    wire_put_bytes(w, m->rec, m->rec_len);
}

int dht_msg_encode(const struct dht_msg *m, uint8_t *out, size_t cap) {
  struct wire_w w;
  if (m->n_replicas > DHT_MAX_REPLICAS || m->rec_len > DHT_REC_MAX ||
      (m->rec_len && !m->rec))
    return RL_EINVAL;
  wire_w_init(&w, out, cap);
  wire_put_u8(&w, DHT_MSG_VERSION);
  wire_put_u8(&w, m->type);
  wire_put_u32be(&w, m->txid);
  switch (m->type) {
  case DHT_MSG_STORE:
  case DHT_MSG_REPLICATE:
    if (!m->rec_len)
      return RL_EINVAL;
    put_rec(&w, m);
    break;
  case DHT_MSG_GET:
    wire_put_bytes(&w, m->key, DHT_KEY_LEN);
    break;
  case DHT_MSG_STORE_ACK:
    wire_put_bytes(&w, m->key, DHT_KEY_LEN);
    wire_put_u8(&w, m->status);
    wire_put_u64be(&w, m->seq);
    put_replicas(&w, m);
    break;
  case DHT_MSG_GET_REPLY:
    wire_put_bytes(&w, m->key, DHT_KEY_LEN);
    wire_put_u8(&w, m->status);
    put_replicas(&w, m);
    put_rec(&w, m);
    break;
  default:
    return RL_EINVAL;
  }
  return w.err ? RL_ETOOBIG : (int)w.off;
}

static void get_replicas(struct wire_r *r, struct dht_msg *m) {
  m->n_replicas = wire_get_u8(r);
  if (m->n_replicas > DHT_MAX_REPLICAS) {
    r->err = true;
    m->n_replicas = 0;
    return;
  }
  for (unsigned i = 0; i < m->n_replicas; i++)
    wire_get_bytes(r, m->replicas[i], RL_ID_LEN);
}

static void get_rec(struct wire_r *r, struct dht_msg *m) {
  size_t n = wire_get_u16be(r);
  if (n > DHT_REC_MAX) {
    r->err = true;
    return;
  }
  m->rec = n ? wire_get_ptr(r, n) : NULL;
  m->rec_len = m->rec ? n : 0;
}

int dht_msg_decode(struct dht_msg *m, const uint8_t *in, size_t len) {
  struct wire_r r;
  memset(m, 0, sizeof(*m));
  wire_r_init(&r, in, len);
  if (wire_get_u8(&r) != DHT_MSG_VERSION)
    return RL_ETRUNC;
  m->type = wire_get_u8(&r);
  m->txid = wire_get_u32be(&r);
  switch (m->type) {
  case DHT_MSG_STORE:
  case DHT_MSG_REPLICATE:
    get_rec(&r, m);
    if (!m->rec_len)
      r.err = true;
    break;
  case DHT_MSG_GET:
    wire_get_bytes(&r, m->key, DHT_KEY_LEN);
    break;
  case DHT_MSG_STORE_ACK:
    wire_get_bytes(&r, m->key, DHT_KEY_LEN);
    m->status = wire_get_u8(&r);
    m->seq = wire_get_u64be(&r);
    get_replicas(&r, m);
    break;
  case DHT_MSG_GET_REPLY:
    wire_get_bytes(&r, m->key, DHT_KEY_LEN);
    m->status = wire_get_u8(&r);
    get_replicas(&r, m);
    get_rec(&r, m);
    break;
  default:
    return wire_ok(&r) ? RL_EUNSUP : RL_ETRUNC;
  }
  if (!wire_done(&r)) {
    memset(m, 0, sizeof(*m));
    return RL_ETRUNC;
  }
  return 0;
}

uint8_t dht_msg_type(const uint8_t *in, size_t len) {
  return len >= DHT_MSG_HDR && in[0] == DHT_MSG_VERSION ? in[1] : 0;
}
