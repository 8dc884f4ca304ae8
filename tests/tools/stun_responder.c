/* A minimal STUN Binding responder for the NAT test bed (RFC 5389 with the
 * RFC 5780 CHANGE-REQUEST attribute), test-only.
 *
 *   stun_responder IP1 IP2 PORT1 PORT2 [MAX_SECONDS]
 *
 * Listens on the four sockets IPx:PORTy. A Binding request received on
 * (i, j) is answered from (i ^ change-IP, j ^ change-port), with
 * MAPPED-ADDRESS, XOR-MAPPED-ADDRESS and OTHER-ADDRESS. miniupnpd's
 * ext_perform_stun sends four requests (no change, change port, change IP,
 * both) and only accepts a WAN address it cannot otherwise trust (the test
 * bed's documentation ranges count as reserved) when all four come back
 * unchanged. Prints "ready" once bound; exits after MAX_SECONDS (default
 * 600) so it can never outlive a test for long.
 *
 * Request (parsed with util/wire.h; fuzzed by tests/fuzz/fuzz_stun_request.c):
 *   0      2      4          8                    20
 *   +------+------+----------+--------------------+------------------
 *   | 0x0001 | len | cookie  | transaction id (12) | attributes (len)
 *   attribute: type(2) length(2) value, padded to 4 bytes;
 *   CHANGE-REQUEST 0x0003, 4 bytes: 0x4 change IP, 0x2 change port. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/wire.h"

#define STUN_BINDING_REQ 0x0001
#define STUN_BINDING_OK 0x0101
#define STUN_ATTR_MAPPED 0x0001
#define STUN_ATTR_CHANGE 0x0003
#define STUN_ATTR_XOR_MAPPED 0x0020
#define STUN_ATTR_OTHER 0x802C
#define STUN_CHANGE_IP 0x4
#define STUN_CHANGE_PORT 0x2

struct stun_req {
  uint32_t cookie;
  uint8_t tid[12];
  uint32_t change; /* CHANGE-REQUEST flags, 0 when absent */
};

/* Returns 0 for a well-formed Binding request, -1 otherwise. */
int stun_parse_request(const uint8_t *p, size_t len, struct stun_req *out) {
  struct wire_r r;
  uint16_t type, mlen;
  memset(out, 0, sizeof(*out));
  wire_r_init(&r, p, len);
  type = wire_get_u16be(&r);
  mlen = wire_get_u16be(&r);
  out->cookie = wire_get_u32be(&r);
  wire_get_bytes(&r, out->tid, sizeof(out->tid));
  if (!wire_ok(&r) || type != STUN_BINDING_REQ || mlen % 4 != 0 || wire_left(&r) != mlen)
    return -1;
  while (wire_left(&r) > 0) {
    uint16_t at = wire_get_u16be(&r), alen = wire_get_u16be(&r);
    size_t padded = ((size_t)alen + 3) & ~(size_t)3;
    struct wire_r v;
    const uint8_t *val = wire_get_ptr(&r, padded);
    if (!val)
      return -1;
    wire_r_init(&v, val, alen);
    if (at == STUN_ATTR_CHANGE) {
      out->change = wire_get_u32be(&v);
      if (!wire_done(&v))
        return -1;
    }
  }
  return wire_ok(&r) ? 0 : -1;
}

static void put_addr(struct wire_w *w, uint16_t type, uint32_t ip, uint16_t port) {
  wire_put_u16be(w, type);
  wire_put_u16be(w, 8);
  wire_put_u8(w, 0);
  wire_put_u8(w, 1); /* IPv4 */
  wire_put_u16be(w, port);
  wire_put_u32be(w, ip);
}

/* Builds the success response; ip/port in host order. Returns its length. */
size_t stun_build_response(const struct stun_req *q, uint32_t ip, uint16_t port,
                           uint32_t other_ip, uint16_t other_port, uint8_t *out, size_t cap) {
  struct wire_w w;
  wire_w_init(&w, out, cap);
  wire_put_u16be(&w, STUN_BINDING_OK);
  wire_put_u16be(&w, 3 * 12);
  wire_put_u32be(&w, q->cookie);
  wire_put_bytes(&w, q->tid, sizeof(q->tid));
  put_addr(&w, STUN_ATTR_MAPPED, ip, port);
  put_addr(&w, STUN_ATTR_XOR_MAPPED, ip ^ q->cookie, (uint16_t)(port ^ (q->cookie >> 16)));
  put_addr(&w, STUN_ATTR_OTHER, other_ip, other_port);
  return w.err ? 0 : w.off;
}

#ifndef STUN_RESPONDER_NO_MAIN
static int bind_udp(const char *ip, unsigned port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
      bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    perror(ip);
    exit(1);
  }
  return fd;
}

int main(int argc, char **argv) {
  struct pollfd pf[4];
  uint32_t ips[2];
  uint16_t ports[2];
  time_t end;
  if (argc < 5) {
    fprintf(stderr, "usage: %s IP1 IP2 PORT1 PORT2 [MAX_SECONDS]\n", argv[0]);
    return 2;
  }
  end = time(NULL) + (argc > 5 ? atoi(argv[5]) : 600);
  for (int i = 0; i < 2; i++) {
    struct in_addr in;
    if (inet_pton(AF_INET, argv[1 + i], &in) != 1)
      return 2;
    ips[i] = ntohl(in.s_addr);
    ports[i] = (uint16_t)atoi(argv[3 + i]);
  }
  for (int i = 0; i < 4; i++) {
    pf[i].fd = bind_udp(argv[1 + i / 2], ports[i % 2]);
    pf[i].events = POLLIN;
  }
  printf("ready\n");
  fflush(stdout);
  while (time(NULL) < end) {
    if (poll(pf, 4, 1000) <= 0)
      continue;
    for (int i = 0; i < 4; i++) {
      uint8_t in[1500], out[128];
      struct sockaddr_in from;
      socklen_t fl = sizeof(from);
      struct stun_req q;
      ssize_t n;
      size_t m;
      int j;
      if (!(pf[i].revents & POLLIN))
        continue;
      n = recvfrom(pf[i].fd, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
      if (n <= 0 || stun_parse_request(in, (size_t)n, &q) != 0)
        continue;
      /* index = ip * 2 + port; flip the halves the client asked to change */
      j = i ^ ((q.change & STUN_CHANGE_IP) ? 2 : 0) ^ ((q.change & STUN_CHANGE_PORT) ? 1 : 0);
      m = stun_build_response(&q, ntohl(from.sin_addr.s_addr), ntohs(from.sin_port),
                              ips[1 - i / 2], ports[1 - i % 2], out, sizeof(out));
      if (m)
        sendto(pf[j].fd, out, m, 0, (struct sockaddr *)&from, fl);
    }
  }
  return 0;
}
#endif
