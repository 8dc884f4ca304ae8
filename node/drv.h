/* The libuv driver: the one place where the node core meets the OS.
 *
 * One loop, one UDP socket (dual-stack for a wildcard listen address), the TAP fd in a uv_poll, one timer
 * re-armed at node_next_timer() after every callback, the control socket,
 * and signals (SIGINT/SIGTERM: leave and exit 0; SIGHUP: reload [peer]).
 * Each callback reads the clock once (uv_hrtime) and drains the core's
 * outputs with fixed bounds; when a bound is hit, the timer is armed at 0
 * so the rest goes out on the next loop iteration without starving input.
 *
 * drv.c: start-up, loop, I/O; drv_ctl.c: control requests -> node_*. */
#ifndef RL_NODE_DRV_H
#define RL_NODE_DRV_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "node/config.h"
#include "dht/store.h"
#include "node/core/node.h"
#include "node/ctl.h"
#include "node/drv_priv.h"
#include "tap/tap.h"

#define DRV_UDP_DRAIN_MAX 256     /* datagrams sent per callback */
#define DRV_TAP_DRAIN_MAX 256     /* frames written per callback */
#define DRV_TAP_READ_MAX 64       /* frames read per TAP readiness callback */
#define DRV_CTL_DRAIN_MAX 16      /* control answers per callback */
#define DRV_LEAVE_DRAIN_MAX 4096  /* datagrams flushed after node_leave */
#define DRV_SOCKBUF_BYTES (4 << 20)
#define DRV_CTL_BUF_START (256u << 10)
#define DRV_CTL_BUF_MAX (4u << 20)
#define DRV_IO_BUF 65536          /* larger than any datagram or TAP frame */
#define DRV_PM_STOP_MS 3000       /* wait at most this for the port-mapping removal at exit */
#define DRV_ADDR_SCAN_MS 10000    /* wildcard listen: interface addresses read again */
#define DRV_ADDR_MAX 16           /* interface addresses handed to the core per scan */

struct drv_pm;
struct drv_tcp;

struct drv {
  uv_loop_t loop;
  uv_udp_t udp;
  uv_poll_t tap_poll;
  uv_timer_t timer;
  uv_timer_t addr_timer;    /* wildcard listen: interface address scans (drv_addrs.c) */
  bool addr_timer_open;
  uv_signal_t sig_int, sig_term, sig_hup;
  struct ctl_server *ctl;
  struct node *node;
  struct dht_store *store;  /* LMDB in `state`, or NULL */
  struct drv_pm *pm;        /* port mapping (node/drv_pm.c), or NULL when off */
  struct drv_tcp *tcp;      /* TCP transport (node/drv_tcp.c), or NULL before start */
  struct rl_env env;
  const char *config_path;
  struct cfg *cfg;
  struct drv_priv priv;     /* the user to run as after start-up (drv_priv.c) */
  int tap_fd;
  char tap_name[TAP_IFNAME_MAX];
  uint32_t next_cookie;
  bool more;               /* a drain hit its bound: continue at once */
  bool leaving;
  bool udp_open;           /* uv_udp initialised, not closed yet */
  bool udp6;               /* the socket is IPv6: dual-stack, or IPv6 only (udp6_only) */
  bool udp6_only;
  bool handles_open;       /* poll, timer, signals initialised */
  int exit_code;
  /* Counters for the operator (logged at exit). */
  uint64_t udp_send_drops, tap_write_drops, udp_truncated, udp_family_skipped;
  /* Extra sockets the core asked for (node/drv_sock.c), by index. */
  struct drv_psock *psock[NODE_PROBE_SOCKS_MAX + 1];
  unsigned psock_open;
  bool psock_fail_logged;
  uint8_t udp_ttl;         /* IP TTL set on the main socket (0: default) */
  uint64_t udp_no_sock;    /* datagrams for a socket that is not open */
  char *ctlbuf;
  size_t ctlcap;
  uint8_t rxbuf[DRV_IO_BUF];
  uint8_t txbuf[DRV_IO_BUF];
  uint8_t tapbuf[DRV_IO_BUF];
};

/* `ringlan up`: runs the daemon in the foreground. Returns the process exit
 * status: 0 after SIGINT/SIGTERM, 1 on a start-up or fatal error (with a
 * message on stderr). */
int drv_run(const char *config_path);

/* After any event: drain the core's outputs (bounded) and re-arm the timer. */
void drv_after_event(struct drv *d, uint64_t now_ns);
/* Port mapping (node/drv_pm.c, docs/nat.md). start: after the loop handles,
 * when [nat] upnp or natpmp is on (else nothing); RL_ENOMEM. stop: removes
 * the mapping, then calls done(d) (at once when there is nothing to remove;
 * after DRV_PM_STOP_MS at the latest, then also uv_stop). close: closes its
 * handles without waiting (error paths). busy: a request still runs in a
 * worker thread (the loop cannot be closed). free: after the loop ended. */
int drv_pm_start(struct drv *d);
void drv_pm_stop(struct drv *d, void (*done)(struct drv *d));
void drv_pm_close(struct drv *d);
bool drv_pm_busy(const struct drv *d);
void drv_pm_free(struct drv *d);

/* Extra sockets (drv_sock.c): open/close what the core asks for (before
 * draining datagrams); the handle to send a datagram from, with its TTL
 * set (NULL: that socket is not open); close all at exit. */
void drv_sock_requests(struct drv *d, uint64_t now_ns);
uv_udp_t *drv_sock_for(struct drv *d, unsigned sock, uint8_t ttl);
void drv_sock_close_all(struct drv *d);
/* Input from any of our UDP sockets (sock 0: the main one). */
void drv_udp_input(struct drv *d, unsigned sock, ssize_t nread, const uv_buf_t *buf,
                   const struct sockaddr *addr, unsigned flags);
/* Host candidates for a wildcard listen address (node/drv_addrs.c): start
 * reads the interface addresses into the core and re-reads them every
 * DRV_ADDR_SCAN_MS (nothing when listen is concrete); close: its timer. */
void drv_addrs_start(struct drv *d);
void drv_addrs_close(struct drv *d);

/* TCP transport (node/drv_tcp.c, docs/protocol.md "TCP"). start: after the
 * node exists; listens at `listen` when cfg->tcp (a failure to listen is a
 * warning); RL_ENOMEM. send: a packet for a TCP endpoint (dialled on
 * demand; dropped when the connection's queue is full). close: every
 * handle (safe to call twice). free: after the loop ended. */
int drv_tcp_start(struct drv *d);
void drv_tcp_send(struct drv *d, const struct rl_addr *to, const uint8_t *pkt, size_t len);
void drv_tcp_close(struct drv *d);
void drv_tcp_free(struct drv *d);

/* Control socket request handler (drv_ctl.c), a ctl_request_fn. */
void drv_ctl_request(void *ctx, struct ctl_client *cl, const char *line);

#endif
