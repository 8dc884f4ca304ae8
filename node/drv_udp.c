/* The main UDP port (docs/architecture.md, "The main UDP port").
 *
 * Two sockets share the listen address and port in one SO_REUSEPORT group,
 * and a classic BPF program attached to the group picks the socket for
 * each datagram by its first byte: P_DATA_V2 (0x48..0x4F: sessions' data,
 * keepalives and the overlay traffic they carry) goes to the data socket,
 * everything else (HS_INIT, HS_RESP, HS_COOKIE, NAT_PROBE, junk) to the
 * control socket. Each socket has its own kernel receive queue, so a flood
 * of handshake-looking junk fills only the control queue and never makes
 * the kernel drop a session's datagrams. Both are read with recvmmsg in
 * batches, once per loop iteration for the sockets whose uv_poll fired
 * (control first: see on_udp_check): the data socket for up to
 * DRV_RX_DATA_MAX datagrams, the control socket for up to
 * DRV_RX_CTL_MAX, so junk gets a bounded share of each loop iteration, and
 * the control socket is read for at most DRV_RX_CTL_RATE datagrams a second
 * (a token bucket): past that its poll stops for DRV_RX_CTL_PAUSE_MS and
 * the kernel drops what overflows its (smaller) queue, at no cost to the
 * daemon. A flood then costs the daemon a bounded share of a core whatever
 * its rate, and a genuine handshake sent directly over UDP gets through
 * with probability about DRV_RX_CTL_RATE / flood rate per try (handshakes
 * carried by the overlay or a relay arrive as data and are not affected).
 * Everything is sent from the data socket (same address and port).
 *
 * Where the kernel refuses the group or the program (SO_REUSEPORT or
 * SO_ATTACH_REUSEPORT_CBPF missing), one plain socket takes everything, as
 * before, and a warning says so. */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/drv.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

static int udp_socket(int family, bool v6only, bool reuseport) {
  int one = 1, v6 = v6only ? 1 : 0;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  if ((family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) != 0) ||
      (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* The steering program: the reuseport group runs it with the packet at the
 * start of the UDP payload; it returns the index of the socket in the
 * group, in the order they were bound (0: data, 1: control). */
static int attach_steering(int fd) {
  static struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),                   /* A = payload[0] */
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf8),               /* opcode << 3 */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DRV_UDP_DATA_BYTE0, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, DRV_UDP_DATA),
      BPF_STMT(BPF_RET | BPF_K, DRV_UDP_CTL),
  };
  struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
}

int drv_udp_pair_open(const struct sockaddr *sa, socklen_t sl, bool v6only, int fds[2],
                      const char **why_single) {
  struct sockaddr_storage at;
  socklen_t atl = sizeof(at);
  int probe, e;
  fds[0] = fds[1] = -1;
  *why_single = NULL;
  /* A plain socket first: the port must be free (a group would let a second
   * daemon of the same user share it silently), and port 0 becomes one. */
  if ((probe = udp_socket(sa->sa_family, v6only, false)) < 0)
    return -1;
  if (bind(probe, sa, sl) != 0 || getsockname(probe, (struct sockaddr *)&at, &atl) != 0) {
    e = errno;
    close(probe);
    errno = e;
    return -1;
  }
  for (int i = 0; i < 2; i++) {
    fds[i] = udp_socket(sa->sa_family, v6only, true);
    if (fds[i] < 0) {
      *why_single = "SO_REUSEPORT";
      goto single;
    }
  }
  close(probe);
  probe = -1;
  /* Bind order is group order: the data socket is index 0. */
  for (int i = 0; i < 2; i++) {
    if (bind(fds[i], (struct sockaddr *)&at, atl) != 0) {
      *why_single = "binding the second socket of the SO_REUSEPORT group";
      goto single;
    }
  }
  if (attach_steering(fds[DRV_UDP_DATA]) != 0) {
    *why_single = "SO_ATTACH_REUSEPORT_CBPF";
    goto single;
  }
  return 0;

single:
  e = errno;
  for (int i = 0; i < 2; i++) {
    if (fds[i] >= 0)
      close(fds[i]);
    fds[i] = -1;
  }
  if (probe >= 0) {
    fds[DRV_UDP_DATA] = probe; /* still bound: keep it */
    return 0;
  }
  /* The port was free a moment ago; take it the plain way. */
  if ((fds[DRV_UDP_DATA] = udp_socket(sa->sa_family, v6only, false)) < 0)
    return -1;
  if (bind(fds[DRV_UDP_DATA], (struct sockaddr *)&at, atl) != 0) {
    int be = errno;
    close(fds[DRV_UDP_DATA]);
    fds[DRV_UDP_DATA] = -1;
    errno = be;
    return -1;
  }
  errno = e;
  return 0;
}

/* --- the driver side --- */

static void on_udp_ready(uv_poll_t *p, int status, int events);
static void on_udp_check(uv_check_t *c);

int drv_udp_open(struct drv *d, const struct sockaddr *sa, socklen_t sl, bool v6only) {
  const char *why = NULL;
  int sz = DRV_SOCKBUF_BYTES;
  if (drv_udp_pair_open(sa, sl, v6only, d->udp.fd, &why) != 0)
    return -errno;
  if (why)
    rl_logf(&d->env, RL_LOG_WARN, "one UDP socket for data and handshakes (%s: %s): a flood "
            "of handshake junk can crowd out data", why, strerror(errno));
  for (int i = 0; i < 2; i++) {
    int fd = d->udp.fd[i];
    if (fd < 0)
      continue;
    /* Large buffers absorb bursts (many links rekeying, relayed traffic).
     * FORCE works as root beyond net.core.rmem_max; else take what we get. */
    int rsz = i == DRV_UDP_CTL ? DRV_SOCKBUF_CTL_BYTES : sz;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rsz, sizeof(rsz)) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rsz, sizeof(rsz));
    if (i == DRV_UDP_DATA && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
  }
  for (unsigned i = 0; i < DRV_RX_BATCH; i++) {
    d->udp.iov[i].iov_base = d->udp.rx[i];
    d->udp.iov[i].iov_len = sizeof(d->udp.rx[i]);
  }
  return 0;
}

static void on_ctl_resume(uv_timer_t *t) {
  struct drv *d = t->data;
  d->udp.ctl_paused = false;
  if (d->udp.poll_open[DRV_UDP_CTL] && !d->leaving)
    uv_poll_start(&d->udp.poll[DRV_UDP_CTL], UV_READABLE, on_udp_ready);
}

void drv_udp_start(struct drv *d) {
  uv_timer_init(&d->loop, &d->udp.ctl_timer);
  d->udp.ctl_timer.data = d;
  d->udp.ctl_timer_open = true;
  uv_check_init(&d->loop, &d->udp.check);
  d->udp.check.data = d;
  d->udp.check_open = true;
  uv_check_start(&d->udp.check, on_udp_check);
  for (int i = 0; i < 2; i++) {
    if (d->udp.fd[i] < 0)
      continue;
    uv_poll_init(&d->loop, &d->udp.poll[i], d->udp.fd[i]);
    d->udp.poll[i].data = d;
    d->udp.poll_open[i] = true;
    uv_poll_start(&d->udp.poll[i], UV_READABLE, on_udp_ready);
  }
}

void drv_udp_close(struct drv *d) {
  if (d->udp.check_open) {
    d->udp.check_open = false;
    uv_check_stop(&d->udp.check);
    uv_close((uv_handle_t *)&d->udp.check, NULL);
  }
  if (d->udp.ctl_timer_open) {
    d->udp.ctl_timer_open = false;
    uv_close((uv_handle_t *)&d->udp.ctl_timer, NULL);
  }
  for (int i = 0; i < 2; i++) {
    if (d->udp.poll_open[i]) {
      d->udp.poll_open[i] = false;
      uv_poll_stop(&d->udp.poll[i]);
      uv_close((uv_handle_t *)&d->udp.poll[i], NULL);
    }
  }
}

/* After the loop ended (the poll handles are closed). */
void drv_udp_free(struct drv *d) {
  for (int i = 0; i < 2; i++) {
    if (d->udp.fd[i] >= 0)
      close(d->udp.fd[i]);
    d->udp.fd[i] = -1;
  }
}

/* Reads up to max datagrams in batches; hands each to the core. Returns
 * how many were read. */
static unsigned read_batches(struct drv *d, int fd, unsigned max, uint64_t now) {
  struct drv_udp *u = &d->udp;
  struct rl_addr from;
  unsigned got = 0;
  while (got < max) {
    unsigned want = max - got < DRV_RX_BATCH ? max - got : DRV_RX_BATCH;
    for (unsigned i = 0; i < want; i++) {
      memset(&u->msgs[i].msg_hdr, 0, sizeof(u->msgs[i].msg_hdr));
      u->msgs[i].msg_hdr.msg_name = &u->from[i];
      u->msgs[i].msg_hdr.msg_namelen = sizeof(u->from[i]);
      u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
      u->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, u->msgs, want, MSG_DONTWAIT, NULL);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        rl_logf(&d->env, RL_LOG_DEBUG, "udp receive: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < n; i++) {
      const struct msghdr *h = &u->msgs[i].msg_hdr;
      if (h->msg_flags & MSG_TRUNC) {
        d->udp_truncated++;
        continue;
      }
      if (!drv_from_sockaddr((const struct sockaddr *)&u->from[i], &from))
        continue;
      node_recv_udp_on(d->node, 0, &from, u->rx[i], u->msgs[i].msg_len, now);
    }
    got += (unsigned)n;
    if ((unsigned)n < want)
      break; /* the queue is empty */
  }
  return got;
}

/* Reads the control socket within its budget; when the budget is spent
 * its poll rests for DRV_RX_CTL_PAUSE_MS instead. */
static void read_ctl(struct drv *d, uint64_t now) {
  struct drv_udp *u = &d->udp;
  uint64_t allow;
  if (u->fd[DRV_UDP_CTL] < 0 || u->ctl_paused) /* (one socket: nothing to steer) */
    return;
  rate_refill(&u->ctl_budget, DRV_RX_CTL_RATE, DRV_RX_CTL_BURST, now);
  allow = rate_tokens(&u->ctl_budget);
  if (allow == 0) {
    /* Spent: let the kernel queue (and drop) for a while. */
    u->ctl_pauses++;
    u->ctl_paused = true;
    uv_poll_stop(&u->poll[DRV_UDP_CTL]);
    uv_timer_start(&u->ctl_timer, on_ctl_resume, DRV_RX_CTL_PAUSE_MS, 0);
    return;
  }
  unsigned got = read_batches(d, u->fd[DRV_UDP_CTL],
                              allow < DRV_RX_CTL_MAX ? (unsigned)allow : DRV_RX_CTL_MAX, now);
  rate_spend(&u->ctl_budget, got);
  u->rx_ctl += got;
}

/* A socket is readable: note it; the reading happens once per loop
 * iteration, after the poll phase (on_udp_check). */
static void on_udp_ready(uv_poll_t *p, int status, int events) {
  struct drv *d = p->data;
  if (status < 0) {
    rl_logf(&d->env, RL_LOG_DEBUG, "udp poll: %s", uv_strerror(status));
    return;
  }
  if (events & UV_READABLE)
    d->udp.ready |= p == &d->udp.poll[DRV_UDP_CTL] ? 2u : 1u;
}

/* The control socket first, then data. A session's first data (sent right
 * after its HS_RESP) lands in the data queue while the HS_RESP that makes
 * its key waits in the control queue: reading control first keeps the
 * order the peer sent them in, as one socket did (unless the control
 * budget is spent, under a flood). One drain for both. */
static void on_udp_check(uv_check_t *c) {
  struct drv *d = c->data;
  unsigned ready = d->udp.ready;
  uint64_t now;
  if (!ready || d->leaving)
    return;
  d->udp.ready = 0;
  now = uv_hrtime();
  if (ready & 2u)
    read_ctl(d, now);
  if (ready & 1u)
    d->udp.rx_data += read_batches(d, d->udp.fd[DRV_UDP_DATA], DRV_RX_DATA_MAX, now);
  drv_after_event(d, now);
}

/* --- the send batch --- */

uint8_t *drv_udp_tx_slot(struct drv *d) {
  if (d->udp.tx_n == DRV_TX_BATCH)
    drv_udp_tx_flush(d);
  return d->udp.tx[d->udp.tx_n];
}

void drv_udp_tx_commit(struct drv *d, const struct sockaddr_storage *ss, socklen_t sl,
                       size_t len, uint8_t ttl) {
  struct drv_udp *u = &d->udp;
  unsigned k = u->tx_n;
  memcpy(&u->tx_to[k], ss, sl);
  u->tx_iov[k].iov_base = u->tx[k];
  u->tx_iov[k].iov_len = len;
  memset(&u->tx_msgs[k], 0, sizeof(u->tx_msgs[k]));
  u->tx_msgs[k].msg_hdr.msg_name = &u->tx_to[k];
  u->tx_msgs[k].msg_hdr.msg_namelen = sl;
  u->tx_msgs[k].msg_hdr.msg_iov = &u->tx_iov[k];
  u->tx_msgs[k].msg_hdr.msg_iovlen = 1;
  u->tx_ttl[k] = ttl;
  u->tx_n = k + 1;
}

void drv_udp_tx_flush(struct drv *d) {
  struct drv_udp *u = &d->udp;
  unsigned i = 0, n = u->tx_n;
  u->tx_n = 0;
  while (i < n) {
    unsigned j = i + 1, k = i;
    while (j < n && u->tx_ttl[j] == u->tx_ttl[i])
      j++;
    int fd = drv_sock_for(d, 0, u->tx_ttl[i]);
    /* Each round sends at least one datagram or skips the one refused. */
    while (k < j) {
      int r = fd < 0 ? -1 : sendmmsg(fd, &u->tx_msgs[k], j - k, MSG_DONTWAIT);
      if (r <= 0) {
        drv_send_failed(d, fd < 0 ? EBADF : errno);
        k++;
      } else {
        k += (unsigned)r;
      }
    }
    i = j;
  }
}
