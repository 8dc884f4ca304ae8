/* libFuzzer target: the header of a LAN broadcast piece (lan_bc_hdr_parse,
 * node/core/lan_bcast.c) on untrusted bytes, the payload a member signed.
 * An accepted header describes a piece that lies inside its frame, at the
 * one offset the even split allows, and inside the input. */
#include <ringlan/error.h>
#include <stdlib.h>

#include "node/core/node_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct lan_bc_hdr h;
  if (lan_bc_hdr_parse(data, size, &h) != 0)
    return 0;
  size_t step = ((size_t)h.total + h.nfrag - 1) / h.nfrag;
  if (h.nfrag == 0 || h.nfrag > LAN_BC_PIECES_MAX || h.idx >= h.nfrag)
    abort();
  if ((size_t)h.off + h.len > h.total || h.total > NODE_FRAME_MAX || h.len == 0)
    abort();
  if (h.off != h.idx * step || (h.idx + 1u < h.nfrag && h.len != step))
    abort();
  if (h.piece != data + LAN_BC_HDR || h.piece + h.len != data + size)
    abort();
  return 0;
}
