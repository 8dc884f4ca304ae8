/* Bounds-checked big-endian readers and writers for wire formats.
 *
 * A reader fails soft: once a read would go past the end, r->err is set,
 * every later read returns zero, and the caller checks wire_ok() once at the
 * end of a message. Never cast a packed struct onto a packet. */
#ifndef RL_UTIL_WIRE_H
#define RL_UTIL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wire_r {
  const uint8_t *p;
  size_t len;
  size_t off;
  bool err;
};

struct wire_w {
  uint8_t *p;
  size_t cap;
  size_t off;
  bool err;
};

static inline void wire_r_init(struct wire_r *r, const uint8_t *p, size_t len) {
  r->p = p;
  r->len = len;
  r->off = 0;
  r->err = false;
}
static inline size_t wire_left(const struct wire_r *r) {
  return r->err ? 0 : r->len - r->off;
}
static inline bool wire_ok(const struct wire_r *r) { return !r->err; }
/* True when the reader consumed the whole buffer without error. */
static inline bool wire_done(const struct wire_r *r) {
  return !r->err && r->off == r->len;
}
static inline const uint8_t *wire_get_ptr(struct wire_r *r, size_t n) {
  if (r->err || r->len - r->off < n) {
    r->err = true;
    return NULL;
  }
  const uint8_t *q = r->p + r->off;
  r->off += n;
  return q;
}
static inline bool wire_get_bytes(struct wire_r *r, void *dst, size_t n) {
  const uint8_t *q = wire_get_ptr(r, n);
  if (!q) {
    memset(dst, 0, n);
    return false;
  }
  memcpy(dst, q, n);
  return true;
}
static inline uint8_t wire_get_u8(struct wire_r *r) {
  const uint8_t *q = wire_get_ptr(r, 1);
  return q ? q[0] : 0;
}
static inline uint16_t wire_get_u16be(struct wire_r *r) {
  const uint8_t *q = wire_get_ptr(r, 2);
  return q ? (uint16_t)(q[0] << 8 | q[1]) : 0;
}
static inline uint32_t wire_get_u24be(struct wire_r *r) {
  const uint8_t *q = wire_get_ptr(r, 3);
  return q ? (uint32_t)q[0] << 16 | (uint32_t)q[1] << 8 | q[2] : 0;
}
static inline uint32_t wire_get_u32be(struct wire_r *r) {
  const uint8_t *q = wire_get_ptr(r, 4);
  return q ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
                 (uint32_t)q[2] << 8 | q[3]
           : 0;
}
static inline uint64_t wire_get_u48be(struct wire_r *r) {
  uint64_t hi = wire_get_u16be(r);
  return hi << 32 | wire_get_u32be(r);
}
static inline uint64_t wire_get_u64be(struct wire_r *r) {
  uint64_t hi = wire_get_u32be(r);
  return hi << 32 | wire_get_u32be(r);
}

static inline void wire_w_init(struct wire_w *w, uint8_t *p, size_t cap) {
  w->p = p;
  w->cap = cap;
  w->off = 0;
  w->err = false;
}
static inline uint8_t *wire_put_ptr(struct wire_w *w, size_t n) {
  if (w->err || w->cap - w->off < n) {
    w->err = true;
    return NULL;
  }
  uint8_t *q = w->p + w->off;
  w->off += n;
  return q;
}
static inline void wire_put_bytes(struct wire_w *w, const void *src, size_t n) {
  uint8_t *q = wire_put_ptr(w, n);
  if (q && n)
    memcpy(q, src, n);
}
static inline void wire_put_u8(struct wire_w *w, uint8_t v) {
  uint8_t *q = wire_put_ptr(w, 1);
  if (q)
    q[0] = v;
}
static inline void wire_put_u16be(struct wire_w *w, uint16_t v) {
  uint8_t *q = wire_put_ptr(w, 2);
  if (q) {
    q[0] = (uint8_t)(v >> 8);
    q[1] = (uint8_t)v;
  }
}
static inline void wire_put_u24be(struct wire_w *w, uint32_t v) {
  uint8_t *q = wire_put_ptr(w, 3);
  if (q) {
    q[0] = (uint8_t)(v >> 16);
    q[1] = (uint8_t)(v >> 8);
    q[2] = (uint8_t)v;
  }
}
static inline void wire_put_u32be(struct wire_w *w, uint32_t v) {
  uint8_t *q = wire_put_ptr(w, 4);
  if (q) {
    q[0] = (uint8_t)(v >> 24);
    q[1] = (uint8_t)(v >> 16);
    q[2] = (uint8_t)(v >> 8);
    q[3] = (uint8_t)v;
  }
}
static inline void wire_put_u48be(struct wire_w *w, uint64_t v) {
  wire_put_u16be(w, (uint16_t)(v >> 32));
  wire_put_u32be(w, (uint32_t)v);
}
static inline void wire_put_u64be(struct wire_w *w, uint64_t v) {
  wire_put_u32be(w, (uint32_t)(v >> 32));
  wire_put_u32be(w, (uint32_t)v);
}

#endif
