/* The libuv driver: the one place where the node core meets the OS.
 *
 * One loop, the main UDP port (drv_udp.c: a data and a control socket on one
 * port, dual-stack for a wildcard listen address), the TAP fd in a uv_poll, one timer
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
#include <sys/socket.h>
#include <uv.h>

#include "node/config.h"
#include "dht/store.h"
#include "node/core/node.h"
#include "node/ctl.h"
#include "node/drv_priv.h"
#include "tap/tap.h"
#include "util/rate.h"

#define DRV_UDP_DRAIN_MAX 256     /* datagrams sent per callback */
#define DRV_TAP_DRAIN_MAX 256     /* frames written per callback */
#define DRV_TAP_READ_MAX 64       /* frames read per TAP readiness callback */
#define DRV_CTL_DRAIN_MAX 16      /* control answers per callback */
#define DRV_LEAVE_DRAIN_MAX 4096  /* datagrams flushed after node_leave */
#define DRV_SOCKBUF_BYTES (4 << 20)
#define DRV_RX_BATCH 32           /* datagrams per recvmmsg */
#define DRV_RX_DATA_MAX 256       /* data socket: datagrams read per readiness callback */
#define DRV_RX_CTL_MAX 64         /* control socket: likewise (junk gets a bounded share) */
#define DRV_RX_CTL_RATE 20000     /* control socket: datagrams read per second at most ... */
#define DRV_RX_CTL_BURST 2048     /* ... with this burst; beyond, the kernel drops them */
#define DRV_RX_CTL_PAUSE_MS 2     /* budget spent: stop polling the control socket this long */
#define DRV_SOCKBUF_CTL_BYTES (1 << 20)
#define DRV_RX_SLOT 2048          /* > NODE_UDP_MAX: a longer datagram is seen truncated */
#define DRV_TX_BATCH 32           /* datagrams per sendmmsg */
#define DRV_UDP_DATA 0            /* index in the SO_REUSEPORT group and in drv_udp.fd */
#define DRV_UDP_CTL 1
#define DRV_UDP_DATA_BYTE0 0x48   /* P_DATA_V2 << 3: byte 0 & 0xf8 steers to the data socket */
#define DRV_CTL_BUF_START (256u << 10)
#define DRV_CTL_BUF_MAX (4u << 20)
#define DRV_IO_BUF 65536          /* larger than any datagram or TAP frame */
#define DRV_PM_STOP_MS 3000       /* wait at most this for the port-mapping removal at exit */
#define DRV_ADDR_SCAN_MS 10000    /* wildcard listen: interface addresses read again */
#define DRV_ADDR_MAX 16           /* interface addresses handed to the core per scan */

struct drv_pm;
struct drv_tcp;

/* The main UDP port (drv_udp.c). fd[DRV_UDP_CTL] is -1 when the kernel
 * could not steer (one socket takes everything). */
struct drv_udp {
  int fd[2];
  uv_poll_t poll[2];
  bool poll_open[2];
  struct rate_bucket ctl_budget;  /* control datagrams read (DRV_RX_CTL_RATE) */
  uv_timer_t ctl_timer;           /* resumes the control socket's poll */
  bool ctl_timer_open;
  bool ctl_paused;                /* the control poll rests (budget spent) */
  uv_check_t check;               /* reads what the polls found readable */
  bool check_open;
  unsigned ready;                 /* this iteration: 1 data, 2 control readable */
  uint64_t rx_data, rx_ctl;       /* datagrams read from each socket */
  uint64_t ctl_pauses;            /* times the control budget was spent */
  struct mmsghdr msgs[DRV_RX_BATCH];
  struct iovec iov[DRV_RX_BATCH];
  struct sockaddr_storage from[DRV_RX_BATCH];
  uint8_t rx[DRV_RX_BATCH][DRV_RX_SLOT];
  /* The send batch (main socket): slots filled in place by the core. */
  unsigned tx_n;
  struct mmsghdr tx_msgs[DRV_TX_BATCH];
  struct iovec tx_iov[DRV_TX_BATCH];
  struct sockaddr_storage tx_to[DRV_TX_BATCH];
  uint8_t tx_ttl[DRV_TX_BATCH];
  uint8_t tx[DRV_TX_BATCH][NODE_UDP_MAX];
};

struct drv {
  uv_loop_t loop;
  struct drv_udp udp;
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

/* The main UDP port (drv_udp.c). pair_open: binds sa as a data socket
 * (fds[0]) and a control socket (fds[1]) steered by the datagrams' first
 * byte; when the kernel cannot steer, fds[1] = -1 and *why_single names
 * what failed (fds[0] then takes everything). -1 with errno when the
 * address cannot be bound at all (e.g. EADDRINUSE). open: that for the
 * driver plus buffers (-errno on failure); start: polls; close: the poll
 * handles; free: the sockets (after the loop ended). */
int drv_udp_pair_open(const struct sockaddr *sa, socklen_t sl, bool v6only, int fds[2],
                      const char **why_single);
int drv_udp_open(struct drv *d, const struct sockaddr *sa, socklen_t sl, bool v6only);
void drv_udp_start(struct drv *d);
void drv_udp_close(struct drv *d);
void drv_udp_free(struct drv *d);
/* The send batch: slot is where the next datagram is written (the batch
 * is sent first when full); commit adds that slot, bound for ss with IP
 * TTL ttl (0: default); flush sends what is there (runs of one TTL, one
 * sendmmsg each; a datagram the kernel refuses is counted and skipped).
 * send_failed: count and log (debug) one refused datagram. */
uint8_t *drv_udp_tx_slot(struct drv *d);
void drv_udp_tx_commit(struct drv *d, const struct sockaddr_storage *ss, socklen_t sl,
                       size_t len, uint8_t ttl);
void drv_udp_tx_flush(struct drv *d);
void drv_send_failed(struct drv *d, int e);
/* Address conversion (drv.c): a socket address to the core's (v4-mapped
 * IPv6 becomes IPv4); false for other families. */
bool drv_from_sockaddr(const struct sockaddr *sa, struct rl_addr *a);

/* Extra sockets (drv_sock.c): open/close what the core asks for (before
 * draining datagrams); the socket fd to send a datagram from, with its TTL
 * set (-1: that socket is not open); close all at exit. */
void drv_sock_requests(struct drv *d, uint64_t now_ns);
int drv_sock_for(struct drv *d, unsigned sock, uint8_t ttl);
void drv_sock_close_all(struct drv *d);
/* Input from an extra socket (libuv). */
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
