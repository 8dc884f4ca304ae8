/* The TCP transport of the driver (docs/protocol.md, "TCP"): the same
 * packets as over UDP, each preceded by a 2-byte length (OpenVPN's TCP
 * framing, node/drv_tcpf.h), for members whose site blocks UDP.
 *
 * The core sees a TCP connection as an endpoint (an rl_addr with proto
 * RL_PROTO_TCP): packets read from a connection go to node_recv_udp with
 * the connection's remote address; node_poll_udp output addressed to a TCP
 * endpoint goes to the connection with that remote address, which is
 * dialled on demand. Bounded everywhere: DRV_TCP_CONN_MAX connections
 * (inbound and outbound), a write queue of 2 x DRV_TCP_OUT_BYTES per
 * connection (a packet that does not fit is dropped, as a full UDP socket
 * buffer drops it; the protocol recovers), connect and idle timeouts. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ringlan/error.h>
#include <stdlib.h>
#include <string.h>

#include "node/drv.h"
#include "node/drv_tcpf.h"

#define DRV_TCP_CONN_MAX 64
#define DRV_TCP_OUT_BYTES (32u << 10) /* per half of the write double buffer */
#define DRV_TCP_CONNECT_MS 5000
#define DRV_TCP_IDLE_MS 90000         /* no packet read: closed (links send every 10 s) */
#define DRV_TCP_SWEEP_MS 1000
#define DRV_TCP_BACKLOG 64
#define DRV_TCP_GONE_MAX 32
#define DRV_TCP_LOG_FULL_MS 10000

enum { TC_FREE = 0, TC_CONNECTING, TC_OPEN, TC_CLOSING };

struct drv_tcp_conn {
  uv_tcp_t h;
  uv_connect_t creq;
  uv_write_t wreq;
  struct drv_tcp *t;
  int state;
  bool inbound;
  bool writing;              /* out[!acc] is being written */
  int acc;                   /* out[acc] takes new packets */
  size_t out_len[2];
  uint8_t *out;              /* 2 x DRV_TCP_OUT_BYTES, allocated while the slot is used */
  struct drv_tcpf *rx;       /* allocated while the slot is used */
  struct rl_addr peer;       /* proto RL_PROTO_TCP */
  uint64_t opened_ms, last_rx_ms;
};

struct drv_tcp {
  struct drv *d;
  uv_tcp_t listener;
  uv_timer_t sweep;
  bool listening, sweep_open;
  struct drv_tcp_conn conns[DRV_TCP_CONN_MAX];
  /* Remote addresses of inbound connections that closed: an ephemeral port,
   * not a listener, so the core's late packets to it are dropped instead
   * of dialled. */
  struct rl_addr gone[DRV_TCP_GONE_MAX];
  unsigned gone_next;
  uint64_t last_full_log_ms;
  uint64_t queue_drops, dial_drops, bad_frames, refused;
  uint8_t rxbuf[DRV_IO_BUF];
};

static void addr_from_sin(const struct sockaddr_in *sin, struct rl_addr *a) {
  memset(a, 0, sizeof(*a));
  a->family = RL_AF_INET;
  a->proto = RL_PROTO_TCP;
  a->port = ntohs(sin->sin_port);
  memcpy(a->ip, &sin->sin_addr, 4);
}

static void sin_from_addr(const struct rl_addr *a, struct sockaddr_in *sin) {
  memset(sin, 0, sizeof(*sin));
  sin->sin_family = AF_INET;
  sin->sin_port = htons(a->port);
  memcpy(&sin->sin_addr, a->ip, 4);
}

static void on_conn_closed(uv_handle_t *h) {
  struct drv_tcp_conn *c = h->data;
  free(c->out);
  free(c->rx);
  c->out = NULL;
  c->rx = NULL;
  c->state = TC_FREE;
}

static void conn_close(struct drv_tcp_conn *c, const char *why) {
  struct drv_tcp *t = c->t;
  char a[RL_ADDR_STRLEN];
  if (c->state == TC_FREE || c->state == TC_CLOSING)
    return;
  rl_logf(&t->d->env, RL_LOG_INFO, "tcp %s %s: closed (%s)", c->inbound ? "from" : "to",
          rl_addr_format(&c->peer, a, sizeof(a)), why);
  if (c->inbound) {
    t->gone[t->gone_next] = c->peer;
    t->gone_next = (t->gone_next + 1) % DRV_TCP_GONE_MAX;
  }
  c->state = TC_CLOSING;
  uv_close((uv_handle_t *)&c->h, on_conn_closed);
}

static struct drv_tcp_conn *conn_alloc(struct drv_tcp *t, const struct rl_addr *peer,
                                       bool inbound) {
  struct drv_tcp_conn *c = NULL;
  for (unsigned i = 0; i < DRV_TCP_CONN_MAX && !c; i++)
    if (t->conns[i].state == TC_FREE)
      c = &t->conns[i];
  if (!c) {
    uint64_t now = uv_now(&t->d->loop);
    if (now - t->last_full_log_ms >= DRV_TCP_LOG_FULL_MS || !t->last_full_log_ms) {
      t->last_full_log_ms = now;
      rl_logf(&t->d->env, RL_LOG_WARN, "tcp: %u connections open, refusing more",
              DRV_TCP_CONN_MAX);
    }
    return NULL;
  }
  c->out = malloc(2 * DRV_TCP_OUT_BYTES);
  c->rx = malloc(sizeof(*c->rx));
  if (!c->out || !c->rx) {
    free(c->out);
    free(c->rx);
    c->out = NULL;
    c->rx = NULL;
    return NULL;
  }
  drv_tcpf_init(c->rx);
  c->t = t;
  c->inbound = inbound;
  c->writing = false;
  c->acc = 0;
  c->out_len[0] = c->out_len[1] = 0;
  c->peer = *peer;
  c->opened_ms = c->last_rx_ms = uv_now(&t->d->loop);
  uv_tcp_init(&t->d->loop, &c->h);
  c->h.data = c;
  c->creq.data = c;
  c->wreq.data = c;
  c->state = TC_CONNECTING;
  return c;
}

static void on_write(uv_write_t *req, int status);

/* One write in flight at a time; what comes meanwhile collects in the
 * other half and goes out as one write when this one completes. */
static void conn_flush(struct drv_tcp_conn *c) {
  int w = c->acc, rc;
  uv_buf_t b;
  if (c->state != TC_OPEN || c->writing || c->out_len[w] == 0)
    return;
  c->acc ^= 1;
  b = uv_buf_init((char *)c->out + (size_t)w * DRV_TCP_OUT_BYTES, (unsigned)c->out_len[w]);
  c->writing = true;
  rc = uv_write(&c->wreq, (uv_stream_t *)&c->h, &b, 1, on_write);
  if (rc) {
    c->writing = false;
    conn_close(c, uv_strerror(rc));
  }
}

static void on_write(uv_write_t *req, int status) {
  struct drv_tcp_conn *c = req->data;
  c->writing = false;
  c->out_len[c->acc ^ 1] = 0;
  if (c->state != TC_OPEN)
    return;
  if (status < 0) {
    conn_close(c, uv_strerror(status));
    return;
  }
  conn_flush(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct drv_tcp_conn *c = h->data;
  (void)suggested;
  /* One buffer: each read is parsed before the next alloc (the core copies
   * what it keeps; a partial packet is kept in c->rx). */
  *buf = uv_buf_init((char *)c->t->rxbuf, sizeof(c->t->rxbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct drv_tcp_conn *c = s->data;
  struct drv *d = c->t->d;
  const uint8_t *in = (const uint8_t *)buf->base, *pkt;
  size_t left = nread > 0 ? (size_t)nread : 0, plen;
  char a[RL_ADDR_STRLEN];
  int r;
  if (nread < 0) {
    conn_close(c, nread == UV_EOF ? "closed by the peer" : uv_strerror((int)nread));
    return;
  }
  c->last_rx_ms = uv_now(&d->loop);
  while (c->state == TC_OPEN && (r = drv_tcpf_next(c->rx, &in, &left, &pkt, &plen)) != 0) {
    if (r < 0) {
      c->t->bad_frames++;
      rl_logf(&d->env, RL_LOG_WARN, "tcp %s: bad frame length %u (1..%u allowed): not a "
              "ringlan peer, closing", rl_addr_format(&c->peer, a, sizeof(a)), c->rx->bad_len,
              DRV_TCPF_MAX);
      conn_close(c, "bad frame");
      return;
    }
    uint64_t now = uv_hrtime();
    node_recv_udp(d->node, &c->peer, pkt, plen, now);
    drv_after_event(d, now);
  }
}

static void conn_opened(struct drv_tcp_conn *c) {
  char a[RL_ADDR_STRLEN];
  c->state = TC_OPEN;
  uv_tcp_nodelay(&c->h, 1); /* handshakes and keepalives are small and urgent */
  rl_logf(&c->t->d->env, RL_LOG_INFO, "tcp %s %s: connected", c->inbound ? "from" : "to",
          rl_addr_format(&c->peer, a, sizeof(a)));
  uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read);
  conn_flush(c);
}

static void on_connect(uv_connect_t *req, int status) {
  struct drv_tcp_conn *c = req->data;
  if (c->state != TC_CONNECTING)
    return; /* closed meanwhile (timeout, shutdown) */
  if (status < 0) {
    conn_close(c, uv_strerror(status));
    return;
  }
  conn_opened(c);
}

static void on_reject_closed(uv_handle_t *h) { free(h); }

static void on_connection(uv_stream_t *server, int status) {
  struct drv_tcp *t = server->data;
  struct sockaddr_storage ss;
  struct rl_addr peer;
  int len = sizeof(ss);
  if (status < 0)
    return;
  memset(&peer, 0, sizeof(peer));
  peer.proto = RL_PROTO_TCP;
  struct drv_tcp_conn *c = conn_alloc(t, &peer, true);
  if (!c) {
    /* Accept and close at once: a pending connection would sit in the
     * backlog and make the listener readable forever. */
    uv_tcp_t *x = malloc(sizeof(*x));
    t->refused++;
    if (!x)
      return;
    uv_tcp_init(&t->d->loop, x);
    if (uv_accept(server, (uv_stream_t *)x) != 0) {
      /* nothing accepted: still close the handle */
    }
    uv_close((uv_handle_t *)x, on_reject_closed);
    return;
  }
  if (uv_accept(server, (uv_stream_t *)&c->h) != 0 ||
      uv_tcp_getpeername(&c->h, (struct sockaddr *)&ss, &len) != 0 ||
      ss.ss_family != AF_INET) {
    c->state = TC_CLOSING;
    uv_close((uv_handle_t *)&c->h, on_conn_closed); /* IPv6 peers: not yet (IPv4 socket) */
    return;
  }
  addr_from_sin((const struct sockaddr_in *)&ss, &c->peer);
  conn_opened(c);
}

static void on_sweep(uv_timer_t *tm) {
  struct drv_tcp *t = tm->data;
  uint64_t now = uv_now(&t->d->loop);
  for (unsigned i = 0; i < DRV_TCP_CONN_MAX; i++) {
    struct drv_tcp_conn *c = &t->conns[i];
    if (c->state == TC_CONNECTING && now - c->opened_ms >= DRV_TCP_CONNECT_MS)
      conn_close(c, "connect timed out");
    else if (c->state == TC_OPEN && now - c->last_rx_ms >= DRV_TCP_IDLE_MS)
      conn_close(c, "idle");
  }
}

int drv_tcp_start(struct drv *d) {
  struct drv_tcp *t = calloc(1, sizeof(*t));
  struct sockaddr_in sin;
  char a[RL_ADDR_STRLEN];
  int rc;
  if (!t)
    return RL_ENOMEM;
  t->d = d;
  d->tcp = t;
  uv_timer_init(&d->loop, &t->sweep);
  t->sweep.data = t;
  t->sweep_open = true;
  uv_timer_start(&t->sweep, on_sweep, DRV_TCP_SWEEP_MS, DRV_TCP_SWEEP_MS);
  if (!d->cfg->tcp)
    return 0;
  sin_from_addr(&d->cfg->listen, &sin);
  if (d->cfg->listen.family == RL_AF_INET6) {
    if (!rl_addr_is_any(&d->cfg->listen)) {
      rl_logf(&d->env, RL_LOG_WARN, "no TCP listener: the TCP transport is IPv4 only and "
              "listen is a concrete IPv6 address");
      return 0;
    }
    sin.sin_addr.s_addr = htonl(INADDR_ANY); /* [::]: IPv4 TCP on every address */
  }
  uv_tcp_init(&d->loop, &t->listener);
  t->listener.data = t;
  t->listening = true;
  rc = uv_tcp_bind(&t->listener, (const struct sockaddr *)&sin, 0);
  if (!rc)
    rc = uv_listen((uv_stream_t *)&t->listener, DRV_TCP_BACKLOG, on_connection);
  if (rc) {
    /* Not fatal: UDP works; members behind UDP-blocking sites cannot use
     * this one as their way in. */
    rl_logf(&d->env, RL_LOG_WARN, "cannot listen on TCP %s: %s (members whose UDP is "
            "blocked cannot connect here; set tcp = no to silence this)",
            rl_addr_format(&d->cfg->listen, a, sizeof(a)), uv_strerror(rc));
    t->listening = false;
    uv_close((uv_handle_t *)&t->listener, NULL);
    return 0;
  }
  rl_logf(&d->env, RL_LOG_INFO, "listening on TCP %s too",
          rl_addr_format(&d->cfg->listen, a, sizeof(a)));
  return 0;
}

static struct drv_tcp_conn *conn_find(struct drv_tcp *t, const struct rl_addr *to) {
  for (unsigned i = 0; i < DRV_TCP_CONN_MAX; i++) {
    struct drv_tcp_conn *c = &t->conns[i];
    if ((c->state == TC_CONNECTING || c->state == TC_OPEN) && rl_addr_equal(&c->peer, to))
      return c;
  }
  return NULL;
}

static struct drv_tcp_conn *conn_dial(struct drv_tcp *t, const struct rl_addr *to) {
  struct sockaddr_in sin;
  struct drv_tcp_conn *c;
  int rc;
  for (unsigned i = 0; i < DRV_TCP_GONE_MAX; i++)
    if (rl_addr_equal(&t->gone[i], to))
      return NULL;
  if (to->family != RL_AF_INET || !(c = conn_alloc(t, to, false)))
    return NULL;
  sin_from_addr(to, &sin);
  rc = uv_tcp_connect(&c->creq, &c->h, (const struct sockaddr *)&sin, on_connect);
  if (rc) {
    conn_close(c, uv_strerror(rc));
    return NULL;
  }
  return c;
}

void drv_tcp_send(struct drv *d, const struct rl_addr *to, const uint8_t *pkt, size_t len) {
  struct drv_tcp *t = d->tcp;
  struct drv_tcp_conn *c;
  uint8_t *p;
  if (!t || d->leaving)
    return;
  if (!(c = conn_find(t, to)) && !(c = conn_dial(t, to))) {
    t->dial_drops++;
    return;
  }
  if (len == 0 || len > DRV_TCPF_MAX ||
      c->out_len[c->acc] + DRV_TCPF_HDR + len > DRV_TCP_OUT_BYTES) {
    t->queue_drops++; /* the peer reads slower than we send: drop like UDP */
    return;
  }
  p = c->out + (size_t)c->acc * DRV_TCP_OUT_BYTES + c->out_len[c->acc];
  drv_tcpf_header(p, len);
  memcpy(p + DRV_TCPF_HDR, pkt, len);
  c->out_len[c->acc] += DRV_TCPF_HDR + len;
  conn_flush(c);
}

void drv_tcp_close(struct drv *d) {
  struct drv_tcp *t = d->tcp;
  if (!t)
    return;
  if (t->listening) {
    t->listening = false;
    uv_close((uv_handle_t *)&t->listener, NULL);
  }
  if (t->sweep_open) {
    t->sweep_open = false;
    uv_close((uv_handle_t *)&t->sweep, NULL);
  }
  for (unsigned i = 0; i < DRV_TCP_CONN_MAX; i++)
    conn_close(&t->conns[i], "shutting down");
  if (t->queue_drops || t->dial_drops || t->bad_frames || t->refused)
    rl_logf(&d->env, RL_LOG_INFO, "tcp: %llu queue drops, %llu undeliverable, %llu bad frames, "
            "%llu refused connections", (unsigned long long)t->queue_drops,
            (unsigned long long)t->dial_drops, (unsigned long long)t->bad_frames,
            (unsigned long long)t->refused);
}

void drv_tcp_free(struct drv *d) {
  free(d->tcp);
  d->tcp = NULL;
}
