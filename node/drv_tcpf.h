/* OpenVPN's TCP framing of ringlan packets (docs/protocol.md, "TCP"): each
 * packet is preceded by its length, 2 bytes big-endian, as OpenVPN does in
 * TCP mode (packet_size_type). Pure code (no I/O): the driver (drv_tcp.c)
 * feeds it what a read returned; tests and a fuzzer feed it directly.
 *
 *   +--------+--------+---------------------------+--------+-----
 *   | len hi | len lo | packet (len bytes)        | len hi | ...
 *   +--------+--------+---------------------------+--------+-----
 *   1 <= len <= DRV_TCPF_MAX; anything else breaks the stream (closed). */
#ifndef RL_NODE_DRV_TCPF_H
#define RL_NODE_DRV_TCPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/core/node.h"

#define DRV_TCPF_HDR 2
#define DRV_TCPF_MAX NODE_UDP_MAX /* the largest packet the core emits or accepts */

struct drv_tcpf {
  size_t need;          /* length of the packet being read; 0: reading its header */
  size_t have;          /* bytes of the header or of the packet so far */
  uint8_t hdr[DRV_TCPF_HDR];
  bool broken;          /* a bad length was read: nothing more is parsed */
  unsigned bad_len;     /* that length */
  uint8_t buf[DRV_TCPF_MAX];
};

void drv_tcpf_init(struct drv_tcpf *f);
/* Consumes bytes from *in (advancing in, decreasing len) until one packet
 * is complete: returns 1 with pkt and pkt_len set (pointing into the input when
 * the packet lies there whole, else into f->buf; valid until the next call),
 * 0 when the input is used up, RL_EPARSE on a length of 0 or above
 * DRV_TCPF_MAX (f->bad_len; every later call fails too). */
int drv_tcpf_next(struct drv_tcpf *f, const uint8_t **in, size_t *len, const uint8_t **pkt,
                  size_t *pkt_len);
/* The header for a packet of len bytes (1..DRV_TCPF_MAX). */
void drv_tcpf_header(uint8_t out[DRV_TCPF_HDR], size_t len);

#endif
