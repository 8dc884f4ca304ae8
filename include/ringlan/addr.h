/* ringlan socket addresses: a plain value type, transport + family + IP + port.
 * Used by the sans-I/O core so it never includes socket headers in its API.
 * The transport is part of the endpoint: the core treats a TCP endpoint as
 * any other (the driver keeps the connection; docs/protocol.md, "TCP"). */
#ifndef RINGLAN_ADDR_H
#define RINGLAN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RL_AF_NONE 0
#define RL_AF_INET 4
#define RL_AF_INET6 6
#define RL_PROTO_UDP 0 /* the default: a zeroed rl_addr is UDP */
#define RL_PROTO_TCP 1
/* Longest text form: "tcp:[" v6 "]:" port, plus NUL. */
#define RL_ADDR_STRLEN 64

struct rl_addr {
  uint8_t family;  /* RL_AF_INET or RL_AF_INET6; RL_AF_NONE = unset */
  uint8_t proto;   /* RL_PROTO_UDP or RL_PROTO_TCP (fills what was padding) */
  uint16_t port;   /* host byte order */
  uint8_t ip[16];  /* network byte order; IPv4 in ip[0..3] */
};

/* Parses "A.B.C.D:PORT", "[V6]:PORT", optionally prefixed "udp:" or "tcp:"
 * (no prefix: UDP). Returns 0 or RL_EPARSE. */
int rl_addr_parse(struct rl_addr *out, const char *text);
/* Writes the text form into buf (at least RL_ADDR_STRLEN); TCP endpoints
 * get the prefix "tcp:". Returns buf. */
char *rl_addr_format(const struct rl_addr *a, char *buf, size_t cap);
/* Same transport, family, IP and port. */
bool rl_addr_equal(const struct rl_addr *a, const struct rl_addr *b);
/* IPv4 address in host byte order (a->family must be RL_AF_INET). */
/* The unspecified address (0.0.0.0 or ::, any port): a wildcard listen. */
bool rl_addr_is_any(const struct rl_addr *a);
uint32_t rl_addr_ipv4(const struct rl_addr *a);
void rl_addr_set_ipv4(struct rl_addr *a, uint32_t ip_host_order, uint16_t port);

#endif
