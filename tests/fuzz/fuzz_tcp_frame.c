/* Fuzz target: the TCP deframer (node/drv_tcpf.c). The input is cut into
 * reads at the sizes its first bytes give; every packet handed out must lie
 * within the input or the deframer's buffer and respect the bounds, and the
 * packets must be the same whatever the cuts (checked against one read). */
#include <ringlan/error.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/drv_tcpf.h"

static struct drv_tcpf a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t first[64 * 1024];
  size_t nfirst = 0, cuts;
  if (size < 1)
    return 0;
  cuts = data[0] % 8 + 1;
  data++;
  size--;
  /* One pass over the whole input: the reference packet bytes. */
  drv_tcpf_init(&a);
  const uint8_t *in = data, *pkt;
  size_t left = size, plen;
  int ra;
  while ((ra = drv_tcpf_next(&a, &in, &left, &pkt, &plen)) == 1) {
    if (plen < 1 || plen > DRV_TCPF_MAX)
      abort();
    if (nfirst + plen <= sizeof(first)) {
      memcpy(first + nfirst, pkt, plen);
      nfirst += plen;
    }
  }
  /* The same input in reads of 1..8 bytes. */
  drv_tcpf_init(&b);
  size_t off = 0, seen = 0;
  int rb = 0;
  while (off < size && rb >= 0) {
    size_t n = cuts < size - off ? cuts : size - off;
    in = data + off;
    left = n;
    while ((rb = drv_tcpf_next(&b, &in, &left, &pkt, &plen)) == 1) {
      if (plen < 1 || plen > DRV_TCPF_MAX)
        abort();
      if (seen + plen <= nfirst && memcmp(first + seen, pkt, plen) != 0)
        abort();
      seen += plen;
    }
    off += n;
  }
  if ((ra < 0) != (rb < 0) || (seen < nfirst && rb >= 0))
    abort();
  return 0;
}
