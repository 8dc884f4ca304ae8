/* Control requests from the CLI (through the driver's control socket):
 * asynchronous, answered as JSON objects tagged with the request's cookie. */
#include <arpa/inet.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/node_internal.h"

int ctl_answer(struct node *n, uint32_t cookie, const char *json, size_t len) {
  struct ctl_answer *a;
  if (len >= sizeof(a->buf))
    return RL_ETOOBIG;
  if (!n->ctlq) {
    n->ctlq = calloc(NODE_CTLQ_MAX, sizeof(*n->ctlq));
    if (!n->ctlq)
      return RL_ENOMEM;
  }
  if (n->ctl_n == NODE_CTLQ_MAX)
    return RL_EFULL;
  a = &n->ctlq[(n->ctl_head + n->ctl_n) % NODE_CTLQ_MAX];
  a->cookie = cookie;
  memcpy(a->buf, json, len);
  a->buf[len] = '\0';
  a->len = (uint16_t)len;
  n->ctl_n++;
  return 0;
}

void ctl_free(struct node *n) {
  free(n->ctlq);
  n->ctlq = NULL;
  n->ctl_n = 0;
}

size_t node_poll_control(struct node *n, uint32_t *cookie, char *buf, size_t cap) {
  struct ctl_answer *a;
  size_t len;
  if (n->ctl_n == 0)
    return 0;
  a = &n->ctlq[n->ctl_head];
  n->ctl_head = (n->ctl_head + 1) % NODE_CTLQ_MAX;
  n->ctl_n--;
  len = a->len < cap ? a->len : cap - 1;
  memcpy(buf, a->buf, len);
  buf[len] = '\0';
  *cookie = a->cookie;
  return len;
}

/* "what" is a virtual IPv4 address or a 40-digit overlay ID. */
int node_control_lookup(struct node *n, const char *what, uint32_t cookie, uint64_t now) {
  uint8_t id[RL_ID_LEN];
  struct in_addr ia;
  bool by_ip = false;
  uint32_t vip = 0;
  char out[1024], hex[2 * RL_ID_LEN + 1], ep[RL_ADDR_STRLEN];
  int len;
  if (inet_pton(AF_INET, what, &ia) == 1) {
    by_ip = true;
    vip = ntohl(ia.s_addr);
  } else if (strlen(what) != 2 * RL_ID_LEN ||
             rl_hex_decode(id, sizeof(id), what, 2 * RL_ID_LEN) != RL_ID_LEN) {
    len = snprintf(out, sizeof(out),
                   "{\"query\":\"\",\"found\":false,\"error\":\"not a virtual IPv4 address "
                   "or a 40-digit overlay ID\"}");
    return ctl_answer(n, cookie, out, (size_t)len);
  }
  if (by_ip ? vip == n->cfg.cert.vip : memcmp(id, n->hid.id, RL_ID_LEN) == 0) {
    rl_hex_encode(hex, n->hid.id, RL_ID_LEN);
    len = snprintf(out, sizeof(out),
                   "{\"query\":\"%s\",\"found\":true,\"source\":\"self\",\"id\":\"%s\","
                   "\"vip\":\"%u.%u.%u.%u\",\"endpoints\":[\"%s\"]}",
                   what, hex, n->cfg.cert.vip >> 24, (n->cfg.cert.vip >> 16) & 255,
                   (n->cfg.cert.vip >> 8) & 255, n->cfg.cert.vip & 255,
                   rl_addr_format(&n->cfg.listen, ep, sizeof(ep)));
    return ctl_answer(n, cookie, out, (size_t)len);
  }
  for (unsigned i = 0; i < n->n_links; i++) {
    const struct link *l = n->links[i];
    if (!l->used || !l->s.have_peer)
      continue;
    if (by_ip ? l->s.peer_vip != vip : memcmp(l->s.peer_id, id, RL_ID_LEN) != 0)
      continue;
    rl_hex_encode(hex, l->s.peer_id, RL_ID_LEN);
    len = snprintf(out, sizeof(out),
                   "{\"query\":\"%s\",\"found\":true,\"source\":\"link\",\"id\":\"%s\","
                   "\"vip\":\"%u.%u.%u.%u\",\"endpoints\":[\"%s\"]}",
                   what, hex, l->s.peer_vip >> 24, (l->s.peer_vip >> 16) & 255,
                   (l->s.peer_vip >> 8) & 255, l->s.peer_vip & 255,
                   rl_addr_format(&l->s.endpoint, ep, sizeof(ep)));
    return ctl_answer(n, cookie, out, (size_t)len);
  }
  if (node_dht_lookup(n, by_ip, vip, by_ip ? NULL : id, cookie, now) == 0)
    return 0; /* answered when the DHT replies */
  len = snprintf(out, sizeof(out), "{\"query\":\"%s\",\"found\":false}", what);
  return ctl_answer(n, cookie, out, (size_t)len);
}
