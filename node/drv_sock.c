/* The extra UDP sockets the node core asks for (birthday probing,
 * docs/nat.md): opened on ephemeral ports of the listen address, read like
 * the main port (input goes to node_recv_udp_on with the socket's index),
 * closed when the core says so or at exit. Also the per-datagram IP TTL
 * (low-TTL punches), on any socket. */
#include <errno.h>
#include <netinet/in.h>
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "node/drv.h"

struct drv_psock {
  uv_udp_t h;
  struct drv *d;
  unsigned idx;
  uint8_t ttl;               /* set on the socket now; 0 = the system default */
};

static void on_psock_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct drv_psock *p = h->data;
  (void)suggested;
  *buf = uv_buf_init((char *)p->d->rxbuf, sizeof(p->d->rxbuf));
}

static void on_psock_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                          const struct sockaddr *addr, unsigned flags) {
  struct drv_psock *p = h->data;
  drv_udp_input(p->d, p->idx, nread, buf, addr, flags);
}

static void on_psock_closed(uv_handle_t *h) { free(h->data); }

static void psock_close(struct drv *d, unsigned k) {
  struct drv_psock *p = d->psock[k];
  if (!p)
    return;
  d->psock[k] = NULL;
  d->psock_open--;
  uv_udp_recv_stop(&p->h);
  uv_close((uv_handle_t *)&p->h, on_psock_closed);
}

static bool psock_open(struct drv *d, unsigned k) {
  struct drv_psock *p = calloc(1, sizeof(*p));
  struct sockaddr_in sin;
  int rc;
  if (!p)
    return false;
  p->d = d;
  p->idx = k;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  /* IPv4 only (NAT traversal): the listen address, any port; a wildcard
   * listen, also [::], binds 0.0.0.0; a concrete IPv6 listen gets none. */
  if (d->cfg->listen.family == RL_AF_INET)
    memcpy(&sin.sin_addr, d->cfg->listen.ip, 4);
  else if (!rl_addr_is_any(&d->cfg->listen)) {
    free(p);
    return false;
  }
  uv_udp_init(&d->loop, &p->h);
  p->h.data = p;
  rc = uv_udp_bind(&p->h, (const struct sockaddr *)&sin, 0);
  if (rc == 0)
    rc = uv_udp_recv_start(&p->h, on_psock_alloc, on_psock_recv);
  if (rc != 0) {
    if (!d->psock_fail_logged)
      rl_logf(&d->env, RL_LOG_WARN, "extra UDP socket: %s (birthday probing uses fewer)",
              uv_strerror(rc));
    d->psock_fail_logged = true;
    uv_close((uv_handle_t *)&p->h, on_psock_closed);
    return false;
  }
  d->psock[k] = p;
  d->psock_open++;
  return true;
}

void drv_sock_requests(struct drv *d, uint64_t now) {
  enum node_sock_op op;
  unsigned k;
  /* Bounded by the core's NODE_PROBE_SOCKS_MAX sockets. */
  while (node_poll_sock(d->node, &op, &k)) {
    if (k == 0 || k > NODE_PROBE_SOCKS_MAX)
      continue;
    if (op == NODE_SOCK_OPEN) {
      if (d->psock[k]) {
        node_sock_opened(d->node, k, true, now);
        continue;
      }
      node_sock_opened(d->node, k, psock_open(d, k), now);
    } else {
      psock_close(d, k);
    }
  }
}

/* Sets the IP TTL of a socket when it differs from what the datagram
 * wants (0: the route's default, which Linux takes as -1). v6: a
 * dual-stack socket, whose IPv4 datagrams follow IP_TTL (Linux hands
 * SOL_IP options of a UDPv6 socket to IPv4) and IPv6 ones the hop limit. */
static void set_ttl(struct drv *d, int fd, bool v6, uint8_t *cur, uint8_t want) {
  int v = want ? want : -1;
  if (*cur == want || fd < 0)
    return;
  if (v6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v));
  if (setsockopt(fd, IPPROTO_IP, IP_TTL, &v, sizeof(v)) == 0)
    *cur = want;
  else
    rl_logf(&d->env, RL_LOG_DEBUG, "IP_TTL %d: %s", v, strerror(errno));
}

int drv_sock_for(struct drv *d, unsigned sock, uint8_t ttl) {
  uv_os_fd_t fd;
  if (sock == 0) {
    set_ttl(d, d->udp.fd[DRV_UDP_DATA], d->udp6, &d->udp_ttl, ttl);
    return d->udp.fd[DRV_UDP_DATA];
  }
  if (sock > NODE_PROBE_SOCKS_MAX || !d->psock[sock] ||
      uv_fileno((uv_handle_t *)&d->psock[sock]->h, &fd) != 0)
    return -1;
  set_ttl(d, fd, false, &d->psock[sock]->ttl, ttl);
  return fd;
}

void drv_sock_close_all(struct drv *d) {
  for (unsigned k = 1; k <= NODE_PROBE_SOCKS_MAX; k++)
    psock_close(d, k);
}
