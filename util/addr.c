#include <arpa/inet.h>
#include <ringlan/addr.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *port) {
  char *end = NULL;
  if (*s == '\0')
    return RL_EPARSE;
  unsigned long v = strtoul(s, &end, 10);
  if (*end != '\0' || v > 65535)
    return RL_EPARSE;
  *port = (uint16_t)v;
  return 0;
}

int rl_addr_parse(struct rl_addr *out, const char *text) {
  char host[RL_ADDR_STRLEN];
  const char *colon;
  uint8_t proto = RL_PROTO_UDP;
  memset(out, 0, sizeof(*out));
  if (!text)
    return RL_EINVAL;
  if (strncmp(text, "tcp:", 4) == 0 || strncmp(text, "udp:", 4) == 0) {
    proto = text[0] == 't' ? RL_PROTO_TCP : RL_PROTO_UDP;
    text += 4;
  }
  out->proto = proto;
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
      return RL_EPARSE;
    memcpy(host, text + 1, (size_t)(close - text - 1));
    host[close - text - 1] = '\0';
    if (inet_pton(AF_INET6, host, out->ip) != 1) {
      memset(out, 0, sizeof(*out));
      return RL_EPARSE;
    }
    out->family = RL_AF_INET6;
    return parse_port(close + 2, &out->port);
  }
  colon = strrchr(text, ':');
  if (!colon || (size_t)(colon - text) >= sizeof(host))
    return RL_EPARSE;
  memcpy(host, text, (size_t)(colon - text));
  host[colon - text] = '\0';
  if (inet_pton(AF_INET, host, out->ip) != 1) {
    memset(out, 0, sizeof(*out));
    return RL_EPARSE;
  }
  out->family = RL_AF_INET;
  return parse_port(colon + 1, &out->port);
}

char *rl_addr_format(const struct rl_addr *a, char *buf, size_t cap) {
  char host[INET6_ADDRSTRLEN];
  const char *pre = a->proto == RL_PROTO_TCP ? "tcp:" : "";
  if (a->family == RL_AF_INET) {
    inet_ntop(AF_INET, a->ip, host, sizeof(host));
    snprintf(buf, cap, "%s%s:%u", pre, host, a->port);
  } else if (a->family == RL_AF_INET6) {
    inet_ntop(AF_INET6, a->ip, host, sizeof(host));
    snprintf(buf, cap, "%s[%s]:%u", pre, host, a->port);
  } else {
    snprintf(buf, cap, "-");
  }
  return buf;
}

bool rl_addr_equal(const struct rl_addr *a, const struct rl_addr *b) {
  if (a->family != b->family || a->port != b->port || a->proto != b->proto)
    return false;
  return memcmp(a->ip, b->ip, a->family == RL_AF_INET ? 4 : 16) == 0;
}

bool rl_addr_is_any(const struct rl_addr *a) {
  static const uint8_t zero[16];
  return memcmp(a->ip, zero, a->family == RL_AF_INET6 ? 16 : 4) == 0;
}

uint32_t rl_addr_ipv4(const struct rl_addr *a) {
  return (uint32_t)a->ip[0] << 24 | (uint32_t)a->ip[1] << 16 |
         (uint32_t)a->ip[2] << 8 | a->ip[3];
}

void rl_addr_set_ipv4(struct rl_addr *a, uint32_t ip, uint16_t port) {
  memset(a, 0, sizeof(*a));
  a->family = RL_AF_INET;
  a->port = port;
  a->ip[0] = (uint8_t)(ip >> 24);
  a->ip[1] = (uint8_t)(ip >> 16);
  a->ip[2] = (uint8_t)(ip >> 8);
  a->ip[3] = (uint8_t)ip;
}
