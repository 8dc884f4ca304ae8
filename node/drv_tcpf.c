#include "node/drv_tcpf.h"

#include <ringlan/error.h>
#include <string.h>

void drv_tcpf_init(struct drv_tcpf *f) {
  f->need = f->have = 0;
  f->broken = false;
  f->bad_len = 0;
}

void drv_tcpf_header(uint8_t out[DRV_TCPF_HDR], size_t len) {
  out[0] = (uint8_t)(len >> 8);
  out[1] = (uint8_t)len;
}

int drv_tcpf_next(struct drv_tcpf *f, const uint8_t **in, size_t *len, const uint8_t **pkt,
                  size_t *pkt_len) {
  if (f->broken)
    return RL_EPARSE;
  while (*len > 0) {
    if (f->need == 0) {
      size_t n;
      f->hdr[f->have++] = **in;
      (*in)++;
      (*len)--;
      if (f->have < DRV_TCPF_HDR)
        continue;
      n = (size_t)f->hdr[0] << 8 | f->hdr[1];
      f->have = 0;
      if (n == 0 || n > DRV_TCPF_MAX) {
        f->broken = true;
        f->bad_len = (unsigned)n;
        return RL_EPARSE;
      }
      if (*len >= n) { /* the common case: the whole packet is in this read */
        *pkt = *in;
        *pkt_len = n;
        *in += n;
        *len -= n;
        return 1;
      }
      f->need = n;
      continue;
    }
    size_t take = f->need - f->have < *len ? f->need - f->have : *len;
    memcpy(f->buf + f->have, *in, take);
    f->have += take;
    *in += take;
    *len -= take;
    if (f->have == f->need) {
      *pkt = f->buf;
      *pkt_len = f->need;
      f->need = f->have = 0;
      return 1;
    }
  }
  return 0;
}
