/* The libuv driver (see node/drv.h): start-up, the event loop, UDP and TAP
 * I/O, the timer, signals and shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <ringlan/error.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nat/bday.h"
#include "nat/cand.h"
#include "node/cli.h"
#include "node/drv.h"
#include "node/store_lmdb.h"

/* --- logging: rl_env.log sink, one line to stderr with a UTC timestamp --- */

static void drv_log(void *ctx, int level, const char *line) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  struct timespec ts;
  struct tm tm;
  char when[32];
  (void)ctx;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
  fprintf(stderr, "%s.%03ldZ %-5s %s\n", when, ts.tv_nsec / 1000000,
          level >= 0 && level <= RL_LOG_DEBUG ? names[level] : "?", line);
}

/* --- address conversion --- */

/* The socket is IPv4, IPv6-only (a concrete IPv6 listen address) or
 * dual-stack (a wildcard listen address: IPv4 peers appear as v4-mapped
 * IPv6 addresses, ::ffff:a.b.c.d, and are handed to the core as IPv4). */
static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* An IPv4 address for an AF_INET socket (0: not IPv4). */
static socklen_t to_sockaddr_in(const struct rl_addr *a, struct sockaddr_storage *ss) {
  struct sockaddr_in *sin = (struct sockaddr_in *)ss;
  memset(ss, 0, sizeof(*ss));
  if (a->family != RL_AF_INET)
    return 0;
  sin->sin_family = AF_INET;
  sin->sin_port = htons(a->port);
  memcpy(&sin->sin_addr, a->ip, 4);
  return sizeof(*sin);
}

static socklen_t to_sockaddr(const struct drv *d, const struct rl_addr *a,
                             struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof(*ss));
  if (!d->udp6 && a->family == RL_AF_INET)
    return to_sockaddr_in(a, ss);
  if (d->udp6 && (a->family == RL_AF_INET6 || (a->family == RL_AF_INET && !d->udp6_only))) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(a->port);
    if (a->family == RL_AF_INET) {
      memcpy(sin6->sin6_addr.s6_addr, v4mapped, 12);
      memcpy(sin6->sin6_addr.s6_addr + 12, a->ip, 4);
    } else {
      memcpy(sin6->sin6_addr.s6_addr, a->ip, 16);
    }
    return sizeof(*sin6);
  }
  return 0; /* this socket cannot reach that family */
}

bool drv_from_sockaddr(const struct sockaddr *sa, struct rl_addr *a) {
  memset(a, 0, sizeof(*a));
  if (sa->sa_family == AF_INET) {
    struct sockaddr_in sin;
    memcpy(&sin, sa, sizeof(sin));
    a->family = RL_AF_INET;
    a->port = ntohs(sin.sin_port);
    memcpy(a->ip, &sin.sin_addr, 4);
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    struct sockaddr_in6 sin6;
    memcpy(&sin6, sa, sizeof(sin6));
    a->port = ntohs(sin6.sin6_port);
    if (memcmp(sin6.sin6_addr.s6_addr, v4mapped, 12) == 0) {
      a->family = RL_AF_INET;
      memcpy(a->ip, sin6.sin6_addr.s6_addr + 12, 4);
    } else {
      a->family = RL_AF_INET6;
      memcpy(a->ip, sin6.sin6_addr.s6_addr, 16);
    }
    return true;
  }
  return false;
}

/* --- draining the core and the one timer --- */

static void log_send_error(struct drv *d, const struct rl_addr *to, int e) {
  d->udp_send_drops++;
  if (e != EAGAIN && e != EWOULDBLOCK && RL_LOG_ENABLED(&d->env, RL_LOG_DEBUG)) {
    char a[RL_ADDR_STRLEN];
    rl_logf(&d->env, RL_LOG_DEBUG, "send to %s: %s", to ? rl_addr_format(to, a, sizeof(a)) : "?",
            strerror(e));
  }
}

void drv_send_failed(struct drv *d, int e) { log_send_error(d, NULL, e); }

/* One datagram the core emitted, in buf. batch: a datagram for the main
 * socket that sits in the next slot of the send batch (drv_udp_tx_slot)
 * joins it; anything else goes out at once. */
static void send_udp(struct drv *d, const struct node_tx *tx, const uint8_t *buf, size_t len,
                     bool batch) {
  struct sockaddr_storage ss;
  const struct rl_addr *to = &tx->to;
  socklen_t sl;
  int fd;
  if (to->proto == RL_PROTO_TCP) {
    drv_tcp_send(d, to, buf, len);
    return;
  }
  /* Extra sockets (birthday probing) are IPv4 only. */
  if (!(sl = tx->sock ? to_sockaddr_in(to, &ss) : to_sockaddr(d, to, &ss))) {
    d->udp_family_skipped++; /* e.g. IPv6 on an IPv4 socket (docs/config.md) */
    return;
  }
  if (batch && tx->sock == 0) {
    drv_udp_tx_commit(d, &ss, sl, len, tx->ttl);
    return;
  }
  if ((fd = drv_sock_for(d, tx->sock, tx->ttl)) < 0) {
    d->udp_no_sock++;
    return;
  }
  /* Synchronous, no allocation (every socket is non-blocking). A full
   * socket buffer drops the datagram as the network would; the protocol
   * recovers. */
  if (sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&ss, sl) < 0)
    log_send_error(d, to, errno);
}

static void on_timer(uv_timer_t *t);

static void drain(struct drv *d, uint64_t now) {
  struct node_tx tx;
  uint32_t cookie;
  size_t len;
  unsigned i;
  d->more = false;
  drv_sock_requests(d, now); /* sockets first: datagrams may name them */
  /* Datagrams for the main socket go out in sendmmsg batches. */
  for (i = 0; i < DRV_UDP_DRAIN_MAX; i++) {
    uint8_t *slot = drv_udp_tx_slot(d);
    if (!(len = node_poll_udp_ex(d->node, &tx, slot, NODE_UDP_MAX)))
      break;
    send_udp(d, &tx, slot, len, true);
  }
  drv_udp_tx_flush(d);
  if (i == DRV_UDP_DRAIN_MAX)
    d->more = true;
  for (i = 0; i < DRV_TAP_DRAIN_MAX; i++) {
    if (!(len = node_poll_tap(d->node, d->txbuf, sizeof(d->txbuf))))
      break;
    if (write(d->tap_fd, d->txbuf, len) < 0)
      d->tap_write_drops++; /* EAGAIN: the kernel queue is full; drop like a switch */
  }
  if (i == DRV_TAP_DRAIN_MAX)
    d->more = true;
  for (i = 0; i < DRV_CTL_DRAIN_MAX; i++) {
    if (!(len = node_poll_control(d->node, &cookie, d->ctlbuf, d->ctlcap)))
      break;
    if (d->ctl && !ctl_server_deliver(d->ctl, cookie, d->ctlbuf, len))
      rl_logf(&d->env, RL_LOG_DEBUG, "control answer %u: client gone", cookie);
  }
  if (i == DRV_CTL_DRAIN_MAX)
    d->more = true;
}

static void rearm(struct drv *d, uint64_t now) {
  uint64_t next = node_next_timer(d->node), ms;
  if (d->more) {
    ms = 0;
  } else if (next == RL_TIME_NEVER) {
    uv_timer_stop(&d->timer);
    return;
  } else {
    /* Round up: firing early would only cost a spurious wake-up, but a
     * timer that is always 1 ms early spins. */
    ms = next <= now ? 0 : (next - now + NS_PER_MS - 1) / NS_PER_MS;
  }
  uv_timer_start(&d->timer, on_timer, ms, 0);
}

void drv_after_event(struct drv *d, uint64_t now_ns) {
  if (d->leaving)
    return;
  drain(d, now_ns);
  rearm(d, now_ns);
}

static void on_timer(uv_timer_t *t) {
  struct drv *d = t->data;
  uint64_t now = uv_hrtime();
  if (node_next_timer(d->node) <= now)
    node_on_timer(d->node, now);
  drv_after_event(d, now);
}

/* --- input --- */

void drv_udp_input(struct drv *d, unsigned sock, ssize_t nread, const uv_buf_t *buf,
                   const struct sockaddr *addr, unsigned flags) {
  struct rl_addr from;
  if (nread < 0) {
    rl_logf(&d->env, RL_LOG_DEBUG, "udp receive: %s", uv_strerror((int)nread));
    return;
  }
  if (nread == 0 || !addr)
    return;
  if (flags & UV_UDP_PARTIAL) {
    d->udp_truncated++;
    return;
  }
  if (!drv_from_sockaddr(addr, &from))
    return;
  uint64_t now = uv_hrtime();
  node_recv_udp_on(d->node, sock, &from, (const uint8_t *)buf->base, (size_t)nread, now);
  drv_after_event(d, now);
}

static void on_tap(uv_poll_t *p, int status, int events) {
  struct drv *d = p->data;
  uint64_t now = uv_hrtime();
  if (status < 0) {
    rl_logf(&d->env, RL_LOG_ERROR, "TAP %s: %s", d->tap_name, uv_strerror(status));
    return;
  }
  if (!(events & UV_READABLE))
    return;
  /* Bounded: a busy TAP must not starve the UDP socket. Level-triggered
   * polling brings us back if frames remain. */
  for (unsigned i = 0; i < DRV_TAP_READ_MAX; i++) {
    ssize_t n = read(d->tap_fd, d->tapbuf, sizeof(d->tapbuf));
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        rl_logf(&d->env, RL_LOG_WARN, "TAP %s read: %s", d->tap_name, strerror(errno));
      break;
    }
    if (n == 0)
      break;
    /* Oversized frames go to the core too: it counts and drops them. */
    node_recv_tap(d->node, d->tapbuf, (size_t)n, now);
  }
  drv_after_event(d, now);
}

/* --- signals and shutdown --- */

/* Closes whatever start-up got to; safe to call twice. */
static void close_all(struct drv *d) {
  drv_sock_close_all(d);
  drv_udp_close(d);
  ctl_server_close(d->ctl);
  d->ctl = NULL;
  drv_addrs_close(d);
  drv_tcp_close(d);
  if (!d->handles_open)
    return;
  d->handles_open = false;
  uv_close((uv_handle_t *)&d->tap_poll, NULL);
  uv_close((uv_handle_t *)&d->timer, NULL);
  uv_close((uv_handle_t *)&d->sig_int, NULL);
  uv_close((uv_handle_t *)&d->sig_term, NULL);
  uv_close((uv_handle_t *)&d->sig_hup, NULL);
}

static void leave_and_stop(struct drv *d, const char *why) {
  struct node_tx tx;
  size_t len;
  unsigned i;
  uint64_t now = uv_hrtime();
  rl_logf(&d->env, RL_LOG_INFO, "%s: leaving the overlay", why);
  node_leave(d->node, now);
  /* Hand-over and goodbye messages: flush them now; a synchronous send
   * puts them in the kernel before the socket closes. */
  for (i = 0; i < DRV_LEAVE_DRAIN_MAX; i++) {
    if (!(len = node_poll_udp_ex(d->node, &tx, d->txbuf, NODE_UDP_MAX)))
      break;
    send_udp(d, &tx, d->txbuf, len, false);
  }
  d->leaving = true;
  d->exit_code = 0;
  /* The port mapping goes first (bounded wait), then everything else. */
  drv_pm_stop(d, close_all);
}

static void reload_peers(struct drv *d) {
  struct cfg *c = malloc(sizeof(*c));
  struct node_peer_cfg *peers = calloc(CFG_MAX_PEERS, sizeof(*peers));
  char err[CFG_ERR_MAX + CFG_PATH_MAX];
  unsigned n = 0;
  int rc;
  if (!c || !peers) {
    rl_logf(&d->env, RL_LOG_ERROR, "SIGHUP: out of memory");
    goto out;
  }
  rc = cfg_read_file(c, d->config_path, err, sizeof(err));
  if (!rc)
    rc = cfg_load_peers(c, peers, &n, err, sizeof(err));
  if (rc) {
    rl_logf(&d->env, RL_LOG_ERROR, "SIGHUP: keeping the old peers: %s", err);
    goto out;
  }
  uint64_t now = uv_hrtime();
  rc = node_reload_peers(d->node, peers, n, now);
  if (rc < 0)
    rl_logf(&d->env, RL_LOG_ERROR, "SIGHUP: reload failed: %s", rl_strerror(rc));
  else
    rl_logf(&d->env, RL_LOG_INFO, "SIGHUP: %u static peer(s) loaded (other settings need a "
            "restart)", n);
  drv_after_event(d, now);
out:
  free(c);
  free(peers);
}

static void on_signal(uv_signal_t *s, int signum) {
  struct drv *d = s->data;
  if (signum == SIGHUP) {
    reload_peers(d);
    return;
  }
  if (d->leaving)
    return;
  leave_and_stop(d, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* --- start-up --- */

/* A wildcard listen address (0.0.0.0 or [::]) is one dual-stack port
 * ([::] without IPV6_V6ONLY), so IPv4 and IPv6 peers reach the same port;
 * where the kernel has no IPv6 it falls back to IPv4 only. A concrete
 * address binds that family only. */
static int open_udp(struct drv *d, char *err, size_t errcap) {
  const struct rl_addr *l = &d->cfg->listen;
  struct sockaddr_storage ss;
  struct rl_addr w = *l;
  char a[RL_ADDR_STRLEN];
  socklen_t sl;
  int rc;
  if (rl_addr_is_any(l)) {
    int probe = socket(AF_INET6, SOCK_DGRAM, 0);
    memset(&w, 0, sizeof(w));
    w.family = probe >= 0 ? RL_AF_INET6 : RL_AF_INET;
    w.port = l->port;
    if (probe >= 0)
      close(probe);
    else
      rl_logf(&d->env, RL_LOG_INFO, "no IPv6 on this host: listening on IPv4 only");
    d->udp6_only = false;
  } else {
    d->udp6_only = l->family == RL_AF_INET6;
  }
  d->udp6 = w.family == RL_AF_INET6;
  sl = to_sockaddr(d, &w, &ss);
  rc = sl ? drv_udp_open(d, (const struct sockaddr *)&ss, sl, d->udp6_only) : -EAFNOSUPPORT;
  if (rc) {
    snprintf(err, errcap, "cannot listen on UDP %s: %s%s", rl_addr_format(l, a, sizeof(a)),
             strerror(-rc),
             rc == -EADDRINUSE ? " (another process uses this port; change 'listen')" : "");
    return RL_ESYS;
  }
  return 0;
}

static int open_tap(struct drv *d, char *err, size_t errcap) {
  int rc = tap_open(d->cfg->tap, d->tap_name, &d->tap_fd);
  if (rc == RL_EREFUSED)
    snprintf(err, errcap, "cannot create TAP device '%s': permission denied (run as root or "
             "with CAP_NET_ADMIN)", d->cfg->tap);
  else if (rc == RL_ENOENT)
    snprintf(err, errcap, "cannot create TAP device: /dev/net/tun is missing (modprobe tun)");
  else if (rc)
    snprintf(err, errcap, "cannot create TAP device '%s': %s", d->cfg->tap,
             rc == RL_ESYS ? strerror(errno) : rl_strerror(rc));
  return rc;
}

static int configure_tap(struct drv *d, const struct cert *cert, char *err, size_t errcap) {
  struct tap_if_config tc = {.ipv4 = cert->vip, .prefix = cert->prefix, .up = true};
  const char *step = "";
  node_tap_mac(d->node, tc.mac);
  tc.mtu = node_tap_mtu(d->node);
  /* Before the interface goes up (its link-local address is made then).
   * Not fatal: the node core drops router advertisements, redirects and
   * spoofed neighbour messages from members anyway (docs/security.md). */
  int rc = tap_harden(d->tap_name, &step);
  if (rc)
    rl_logf(&d->env, RL_LOG_WARN, "%s: cannot set %s to 0 in /proc/sys/net: %s", d->tap_name,
            step, rc == RL_ESYS || rc == RL_EREFUSED ? strerror(errno) : rl_strerror(rc));
  rc = tap_configure(d->tap_name, &tc, &step);
  if (rc)
    snprintf(err, errcap, "cannot configure %s (%s): %s", d->tap_name, step,
             rc == RL_ESYS || rc == RL_EREFUSED ? strerror(errno) : rl_strerror(rc));
  return rc;
}

static void print_startup(struct drv *d, const struct cert *cert) {
  char id[2 * RL_ID_LEN + 1], a[RL_ADDR_STRLEN], mac_s[18];
  uint8_t mac[6];
  struct in_addr vip = {.s_addr = htonl(cert->vip)};
  char vip_s[INET_ADDRSTRLEN];
  rl_hex_encode(id, node_id(d->node), RL_ID_LEN);
  node_tap_mac(d->node, mac);
  inet_ntop(AF_INET, &vip, vip_s, sizeof(vip_s));
  printf("ringlan up: node %s vip %s/%u tap %s (mac %s, mtu %u) listen %s group %s "
         "control %s\n",
         id, vip_s, cert->prefix, d->tap_name, tap_mac_format(mac, mac_s, sizeof(mac_s)),
         node_tap_mtu(d->node), rl_addr_format(&d->cfg->listen, a, sizeof(a)), cert->group,
         d->cfg->control);
  fflush(stdout);
}

static void start_loop_handles(struct drv *d) {
  uv_poll_init(&d->loop, &d->tap_poll, d->tap_fd);
  d->tap_poll.data = d;
  uv_timer_init(&d->loop, &d->timer);
  d->timer.data = d;
  uv_signal_init(&d->loop, &d->sig_int);
  uv_signal_init(&d->loop, &d->sig_term);
  uv_signal_init(&d->loop, &d->sig_hup);
  d->sig_int.data = d->sig_term.data = d->sig_hup.data = d;
  uv_signal_start(&d->sig_int, on_signal, SIGINT);
  uv_signal_start(&d->sig_term, on_signal, SIGTERM);
  uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
  drv_udp_start(d);
  uv_poll_start(&d->tap_poll, UV_READABLE, on_tap);
  d->handles_open = true;
}

static const char *const STATE_FILES[] = {STORE_LMDB_FILE, STORE_LMDB_LOCK_FILE, NULL};

/* The persistent state: an LMDB store in the `state` directory (DHT
 * records and the core's peer cache, meta "peers"). The endpoints remembered
 * there become cfg->cached, so a restarted node finds its way back without
 * bootstrap. */
static int open_store(struct drv *d, struct node_config *nc, char *err, size_t errcap) {
  struct store_lmdb_config sc;
  struct nat_cand cand[NAT_CAND_MAX];
  uint8_t buf[DHT_META_VALUE_MAX];
  size_t dropped = 0;
  int rc, n;
  if (!d->cfg->state[0])
    return 0;
  if (mkdir(d->cfg->state, 0700) != 0 && errno != EEXIST) {
    snprintf(err, errcap, "state directory %s: %s", d->cfg->state, strerror(errno));
    return RL_ESYS;
  }
  memset(&sc, 0, sizeof(sc));
  sc.env = &d->env;
  sc.dir = d->cfg->state;
  sc.group = nc->cert.group;
  memcpy(sc.group_pk, nc->group_pk, RL_PK_LEN);
  /* The store belongs to the user the daemon runs as: its files are
   * opened (and created) with that user's rights, so root never follows
   * what the user could have placed there (drv_priv.h). */
  if ((rc = drv_priv_prepare_state(&d->priv, d->cfg->state, STATE_FILES, err, errcap)) != 0)
    return rc;
  if (drv_priv_as_user(&d->priv) != 0) {
    snprintf(err, errcap, "state directory %s: cannot switch to user %s: %s", d->cfg->state,
             d->priv.name, strerror(errno));
    return RL_ESYS;
  }
  rc = store_lmdb_open(&sc, uv_hrtime(), &d->store, &dropped);
  if (drv_priv_as_root(&d->priv) != 0) {
    snprintf(err, errcap, "cannot take root back after opening the store: %s", strerror(errno));
    return RL_ESYS;
  }
  if (rc) {
    snprintf(err, errcap, "state directory %s: cannot open the store: %s%s%s%s", d->cfg->state,
             rl_strerror(rc), d->priv.switch_user ? " (opened as user " : "",
             d->priv.switch_user ? d->priv.name : "",
             d->priv.switch_user ? ", who needs to reach the directory)" : "");
    return rc;
  }
  if (dropped)
    rl_logf(&d->env, RL_LOG_WARN, "state: dropped %zu invalid or expired record(s)", dropped);
  nc->store = d->store;
  rc = d->store->ops->meta_get(d->store, "peers", buf, sizeof(buf));
  n = rc > 0 ? nat_cand_decode(cand, NAT_CAND_MAX, buf, (size_t)rc) : 0;
  for (int i = 0; i < n && nc->n_cached < NODE_MAX_BOOTSTRAP; i++)
    if (cand[i].addr.family == RL_AF_INET || cand[i].addr.family == RL_AF_INET6)
      nc->cached[nc->n_cached++] = cand[i].addr;
  rl_logf(&d->env, RL_LOG_INFO, "state: %s, %zu record(s), %u remembered endpoint(s)",
          d->cfg->state, d->store->ops->count(d->store), nc->n_cached);
  return 0;
}

/* Does the directory part of path exist (the control socket's parent)? */
static bool parent_exists(const char *path) {
  char dir[CFG_CONTROL_MAX];
  const char *slash = strrchr(path, '/');
  struct stat st;
  if (!slash || slash == path)
    return true;
  snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
  return stat(dir, &st) == 0;
}

/* SIGHUP re-reads the config and the peers' key files as the user the
 * daemon now runs as: say at start-up if that will fail. */
static void check_reload_files(struct drv *d) {
  const char *paths[CFG_MAX_PEERS + 1];
  unsigned n = 0;
  paths[n++] = d->config_path;
  for (unsigned i = 0; i < d->cfg->n_peers; i++)
    if (d->cfg->peers[i].pubkey_path[0])
      paths[n++] = d->cfg->peers[i].pubkey_path;
  for (unsigned i = 0; i < n; i++) {
    int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      continue;
    }
    rl_logf(&d->env, RL_LOG_WARN, "%s: not readable as uid %u (%s): SIGHUP will not be able "
            "to reload it; make it and its directories readable by that user (e.g. chgrp "
            "GROUP FILE; chmod 640 FILE)", paths[i], (unsigned)getuid(), strerror(errno));
  }
}

int drv_run(const char *config_path) {
  struct drv *d = calloc(1, sizeof(*d));
  struct node_config *nc = calloc(1, sizeof(*nc));
  char err[CFG_ERR_MAX + 2 * CFG_PATH_MAX];
  struct cert cert;
  struct revocation revs[CFG_MAX_REVOKED];
  bool loop_ok = false, hard_exit = false, ctl_dir_existed;
  int rc, status = 1;

  if (!d || !nc || !(d->cfg = malloc(sizeof(*d->cfg))) ||
      !(d->ctlbuf = malloc(DRV_CTL_BUF_START))) {
    fprintf(stderr, "ringlan: out of memory\n");
    goto out;
  }
  d->ctlcap = DRV_CTL_BUF_START;
  d->tap_fd = -1;
  d->udp.fd[0] = d->udp.fd[1] = -1;
  /* A control client that hangs up before its answer must not kill the
   * daemon: libuv writes to streams without MSG_NOSIGNAL. */
  signal(SIGPIPE, SIG_IGN);
  d->config_path = config_path;
  if (cfg_read_file(d->cfg, config_path, err, sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    goto out;
  }
  d->env.rand = cli_sys_rand;
  d->env.log = drv_log;
  d->env.log_ctx = d;
  d->env.log_level = d->cfg->log_level;
  /* unix_s = unix_offset_s + now_ns / 1e9 with now_ns = uv_hrtime(). */
  d->env.unix_offset_s = (int64_t)time(NULL) - (int64_t)(uv_hrtime() / NS_PER_S);

  if (drv_priv_resolve(d->cfg, &d->env, &d->priv, err, sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    goto out;
  }
  if (cfg_load_node_config(d->cfg, &d->env, (uint64_t)time(NULL), nc, err, sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    goto out;
  }
  cert = nc->cert;
  if (cfg_load_revocations(d->cfg, nc->group_pk, nc->cert.group, revs, &nc->n_revoked, err,
                           sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    goto out;
  }
  nc->revoked = revs; /* borrowed by node_new */
  /* Birthday probing may ask for this many extra sockets (drv_sock.c). */
  nc->probe_socks = NAT_BDAY_SOCKS;
  if (uv_loop_init(&d->loop) != 0) {
    fprintf(stderr, "ringlan: cannot initialise the event loop\n");
    goto out;
  }
  loop_ok = true;
  /* The control socket first: a second daemon with the same config stops
   * here, before it touches the TAP device or the port. */
  ctl_dir_existed = parent_exists(d->cfg->control);
  if (ctl_server_open(&d->loop, d->cfg->control, 0, drv_ctl_request, d, &d->ctl, err,
                      sizeof(err)) != 0 ||
      drv_priv_chown_control(&d->priv, d->cfg->control, !ctl_dir_existed, err,
                             sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    goto out;
  }
  if (open_tap(d, err, sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    goto out;
  }
  snprintf(nc->tap_name, sizeof(nc->tap_name), "%s", d->tap_name);
  if (open_udp(d, err, sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    goto out;
  }
  if (open_store(d, nc, err, sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    goto out;
  }
  d->node = node_new(nc, uv_hrtime(), &rc);
  if (!d->node) {
    fprintf(stderr, "ringlan: cannot start the node: %s\n", rl_strerror(rc));
    goto out;
  }
  sodium_memzero(nc, sizeof(*nc)); /* node_new copied the key */
  if (configure_tap(d, &cert, err, sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    goto out;
  }
  start_loop_handles(d);
  drv_addrs_start(d);
  if (drv_tcp_start(d) != 0) {
    fprintf(stderr, "ringlan: out of memory\n");
    goto out;
  }
  /* Everything that needs root is open: drop it before any input is read
   * (the loop has not run yet) and before the port-mapping worker thread
   * exists (the process is still single-threaded). */
  if (drv_priv_drop(&d->priv, &d->env, err, sizeof(err)) != 0) {
    fprintf(stderr, "ringlan: cannot drop privileges: %s\n", err);
    goto out;
  }
  check_reload_files(d);
  if (drv_pm_start(d) != 0) {
    fprintf(stderr, "ringlan: out of memory\n");
    goto out;
  }
  print_startup(d, &cert);
  rl_logf(&d->env, RL_LOG_INFO, "running: %u static peer(s), %u bootstrap endpoint(s)",
          d->cfg->n_peers, d->cfg->n_bootstrap);

  drv_after_event(d, uv_hrtime());
  d->exit_code = 1; /* unless a signal ends the loop */
  uv_run(&d->loop, UV_RUN_DEFAULT);
  status = d->exit_code;
  rl_logf(&d->env, RL_LOG_INFO, "stopped (udp send drops %llu, tap write drops %llu, "
          "truncated datagrams %llu, to closed sockets %llu; datagrams read: data %llu, "
          "control %llu, control reads paused %llu times)",
          (unsigned long long)d->udp_send_drops, (unsigned long long)d->tap_write_drops,
          (unsigned long long)d->udp_truncated, (unsigned long long)d->udp_no_sock,
          (unsigned long long)d->udp.rx_data, (unsigned long long)d->udp.rx_ctl,
          (unsigned long long)d->udp.ctl_pauses);

out:
  if (d && loop_ok) {
    drv_pm_close(d);
    close_all(d);
    if (drv_pm_busy(d)) {
      /* A port-mapping request still blocks a worker thread (the exit
       * deadline passed): finish the close callbacks only. */
      uv_run(&d->loop, UV_RUN_NOWAIT);
      hard_exit = true;
    } else {
      uv_run(&d->loop, UV_RUN_DEFAULT); /* finish the close callbacks */
      uv_loop_close(&d->loop);
    }
  }
  if (d && !hard_exit) {
    drv_pm_free(d);
    drv_tcp_free(d);
  }
  if (d) {
    if (d->node)
      node_free(d->node);
    if (d->store)
      d->store->ops->close(d->store); /* after the node: it writes to it */
    if (d->tap_fd >= 0)
      close(d->tap_fd);
    drv_udp_free(d);
    if (!hard_exit) {
      free(d->cfg);
      free(d->ctlbuf);
      free(d);
    }
  }
  if (nc) {
    sodium_memzero(nc, sizeof(*nc));
    free(nc);
  }
  sodium_memzero(&cert, sizeof(cert));
  if (hard_exit) {
    /* The blocked worker still refers to the loop inside d (it signals it
     * when the library call returns), and libuv's exit-time shutdown would
     * wait for that thread: keep d alive and leave now. Everything that
     * matters (goodbyes sent, store closed, TAP closed) is done. */
    fflush(NULL);
    _exit(status);
  }
  return status;
}
