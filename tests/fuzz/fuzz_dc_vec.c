/* libFuzzer target: the test-vector line parser (crypto/dc_vec.c), and for
 * lines that parse, the same decrypt / re-encrypt check `ringlan dc-check`
 * runs, with whatever key, IV and packet the line carries. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dc.h"
#include "crypto/dc_vec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sodium_init() < 0)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct dc_vec *v = malloc(sizeof(*v));
  if (!v)
    abort();
  const char *why = NULL;
  int r = dc_vec_parse_line((const char *)data, size, v, &why);
  if (r < 0 && !why)
    abort(); /* every rejection explains itself */
  if (r == 1) {
    if (v->pkt_len == 0 || v->pkt_len > DC_VEC_PKT_MAX || strlen(v->name) == 0 ||
        v->iv_len != (v->fmt == DC_FMT_V2 ? 8u : 12u))
      abort();
    struct dc_rx rx;
    struct dc_tx tx;
    if (dc_rx_init_raw(&rx, v->cipher, v->fmt, v->key, v->iv) == 0 &&
        dc_tx_init_raw(&tx, v->cipher, v->fmt, v->key, v->iv) == 0) {
      static const size_t caps[] = {DC_VEC_PKT_MAX, 0};
      uint8_t *pt = malloc(DC_VEC_PKT_MAX);
      uint8_t *out = malloc(DC_VEC_PKT_MAX + DC_OVERHEAD_MAX);
      if (!pt || !out)
        abort();
      uint64_t pid = 0;
      int n = dc_decrypt(&rx, v->pkt, v->pkt_len, pt, caps[size & 1], 0, &pid);
      if (n >= 0) {
        struct dc_hdr h;
        if (dc_peek(v->pkt, v->pkt_len, &h) < 0)
          abort();
        int m = dc_encrypt_pid(&tx, h.key_id, h.peer_id, pid, pt, (size_t)n, out,
                               DC_VEC_PKT_MAX + DC_OVERHEAD_MAX);
        /* What verified must re-encrypt to the same bytes. */
        if (m != (int)v->pkt_len || memcmp(out, v->pkt, v->pkt_len) != 0)
          abort();
      }
      free(pt);
      free(out);
      dc_tx_wipe(&tx);
    }
    dc_rx_wipe(&rx);
  }
  free(v);
  return 0;
}
