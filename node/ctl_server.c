/* Control socket server on the daemon's libuv loop (protocol: node/ctl.h).
 * Control traffic is rare and small, so allocating per connection and per
 * answer is fine here (never on the packet path). */
#include <errno.h>
#include <stdarg.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/errf.h"
#include "node/ctl.h"

enum cl_state { CL_READING, CL_WAITING, CL_WRITING, CL_CLOSING };

struct ctl_client {
  uv_pipe_t pipe;
  uv_timer_t timer;        /* request-line and async-answer deadline */
  uv_write_t wreq;
  struct ctl_server *srv;
  struct ctl_client *next;
  enum cl_state state;
  uint32_t cookie;
  const char *refuse;      /* answer ERR with this once the line is read */
  int open_handles;        /* freed when both handles are closed */
  size_t inlen;
  char in[CTL_REQUEST_MAX];
  char *out;               /* the answer being written */
};

struct ctl_server {
  uv_loop_t *loop;
  uv_pipe_t listener;
  ctl_request_fn fn;
  void *ctx;
  unsigned timeout_ms;
  unsigned n_clients;
  struct ctl_client *clients;
  bool closing;
  bool listener_closed;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

size_t ctl_error_json(char *buf, size_t cap, const char *msg) {
  size_t n = 0;
  const char *pre = "{\"error\":\"";
  if (cap < 16)
    return 0;
  for (const char *p = pre; *p; p++)
    buf[n++] = *p;
  for (const char *p = msg; *p && n + 8 < cap; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\\') {
      buf[n++] = '\\';
      buf[n++] = (char)ch;
    } else if (ch < 0x20) {
      n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", ch);
    } else {
      buf[n++] = (char)ch;
    }
  }
  buf[n++] = '"';
  buf[n++] = '}';
  buf[n++] = '\n';
  buf[n] = '\0';
  return n;
}

static void maybe_free_server(struct ctl_server *s) {
  if (s->closing && s->listener_closed && !s->clients)
    free(s);
}

static void on_client_closed(uv_handle_t *h) {
  struct ctl_client *cl = h->data;
  if (--cl->open_handles > 0)
    return;
  struct ctl_server *s = cl->srv;
  for (struct ctl_client **pp = &s->clients; *pp; pp = &(*pp)->next)
    if (*pp == cl) {
      *pp = cl->next;
      break;
    }
  s->n_clients--;
  free(cl->out);
  free(cl);
  maybe_free_server(s);
}

static void client_close(struct ctl_client *cl) {
  if (cl->state == CL_CLOSING)
    return;
  cl->state = CL_CLOSING;
  uv_timer_stop(&cl->timer);
  uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
  uv_close((uv_handle_t *)&cl->timer, on_client_closed);
}

static void on_written(uv_write_t *req, int status) {
  (void)status; /* the client may have gone; nothing to do either way */
  client_close(req->data);
}

void ctl_reply(struct ctl_client *cl, bool ok, const char *body, size_t len) {
  uv_buf_t buf;
  if (cl->state == CL_CLOSING || cl->state == CL_WRITING)
    return;
  cl->state = CL_WRITING;
  uv_timer_stop(&cl->timer);
  uv_read_stop((uv_stream_t *)&cl->pipe);
  cl->out = malloc(len + 4);
  if (!cl->out) {
    client_close(cl);
    return;
  }
  memcpy(cl->out, ok ? "OK\n" : "ERR\n", ok ? 3 : 4);
  memcpy(cl->out + (ok ? 3 : 4), body, len);
  buf = uv_buf_init(cl->out, (unsigned)(len + (ok ? 3 : 4)));
  cl->wreq.data = cl;
  if (uv_write(&cl->wreq, (uv_stream_t *)&cl->pipe, &buf, 1, on_written) != 0)
    client_close(cl);
}

static void reply_error(struct ctl_client *cl, const char *msg) {
  char buf[256];
  size_t n = ctl_error_json(buf, sizeof(buf), msg);
  ctl_reply(cl, false, buf, n);
}

static void on_timeout(uv_timer_t *t) {
  struct ctl_client *cl = t->data;
  char msg[64];
  snprintf(msg, sizeof(msg), "timed out after %u ms", cl->srv->timeout_ms);
  reply_error(cl, msg);
}

void ctl_client_wait(struct ctl_client *cl, uint32_t cookie) {
  if (cl->state != CL_READING)
    return;
  cl->state = CL_WAITING;
  cl->cookie = cookie;
  uv_timer_start(&cl->timer, on_timeout, cl->srv->timeout_ms, 0);
}

bool ctl_server_deliver(struct ctl_server *s, uint32_t cookie, const char *body, size_t len) {
  for (struct ctl_client *cl = s->clients; cl; cl = cl->next)
    if (cl->state == CL_WAITING && cl->cookie == cookie) {
      ctl_reply(cl, true, body, len);
      return true;
    }
  return false;
}

unsigned ctl_server_clients(const struct ctl_server *s) { return s->n_clients; }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct ctl_client *cl = h->data;
  (void)suggested;
  *buf = uv_buf_init(cl->in + cl->inlen, (unsigned)(sizeof(cl->in) - cl->inlen));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  struct ctl_client *cl = st->data;
  char *nl, *line, *end;
  (void)buf;
  if (cl->state != CL_READING)
    return;
  if (nread < 0) {
    client_close(cl); /* EOF before a full line, or an error */
    return;
  }
  cl->inlen += (size_t)nread;
  nl = memchr(cl->in, '\n', cl->inlen);
  if (!nl) {
    if (cl->inlen >= sizeof(cl->in))
      reply_error(cl, "request too long");
    return;
  }
  *nl = '\0';
  line = cl->in;
  while (*line == ' ' || *line == '\t')
    line++;
  end = nl;
  while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    *--end = '\0';
  uv_read_stop(st);
  if (cl->refuse) {
    reply_error(cl, cl->refuse);
    return;
  }
  cl->srv->fn(cl->srv->ctx, cl, line);
  /* A handler that neither replied nor waits is a bug; do not hang. */
  if (cl->state == CL_READING)
    reply_error(cl, "internal error: request not answered");
}

static bool peer_allowed(struct ctl_client *cl) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&cl->pipe, &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return false;
  return cred.uid == 0 || cred.uid == getuid();
}

static void on_connection(uv_stream_t *listener, int status) {
  struct ctl_server *s = listener->data;
  struct ctl_client *cl;
  if (status < 0 || s->closing)
    return;
  cl = calloc(1, sizeof(*cl));
  if (!cl)
    return; /* the connection stays in the backlog; retried on the next event */
  cl->srv = s;
  cl->pipe.data = cl;
  cl->timer.data = cl;
  uv_pipe_init(s->loop, &cl->pipe, 0);
  uv_timer_init(s->loop, &cl->timer);
  cl->open_handles = 2;
  cl->next = s->clients;
  s->clients = cl;
  s->n_clients++;
  if (uv_accept(listener, (uv_stream_t *)&cl->pipe) != 0) {
    client_close(cl);
    return;
  }
  /* Refusals are answered after the request line is read: closing a unix
   * socket with unread data resets the connection and the client would
   * see ECONNRESET instead of the reason. */
  if (!peer_allowed(cl))
    cl->refuse = "permission denied";
  else if (s->n_clients > CTL_MAX_CLIENTS)
    cl->refuse = "busy: too many control connections";
  /* A client that never sends its line is dropped after the timeout. */
  uv_timer_start(&cl->timer, on_timeout, s->timeout_ms, 0);
  uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_read);
}


/* Is a daemon answering at path? Probed with a plain connect. */
static int probe_existing(const char *path, char *err, size_t errcap) {
  struct stat st;
  struct sockaddr_un sa;
  int fd, rc;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? 0 : rl_errf(err, errcap, RL_ESYS, "control socket %s: %s", path,
                                         strerror(errno));
  if (!S_ISSOCK(st.st_mode))
    return rl_errf(err, errcap, RL_EINVAL, "control socket %s: exists and is not a socket; refusing to replace it", path);
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, strlen(path));
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return rl_errf(err, errcap, RL_ESYS, "control socket %s: %s", path, strerror(errno));
  rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  close(fd);
  if (rc == 0)
    return rl_errf(err, errcap, RL_EEXIST, "control socket %s: another ringlan daemon is listening there", path);
  if (errno != ECONNREFUSED)
    return rl_errf(err, errcap, RL_ESYS, "control socket %s: %s", path, strerror(errno));
  /* Stale file from a daemon that died without cleaning up. */
  if (unlink(path) != 0)
    return rl_errf(err, errcap, RL_ESYS, "control socket %s: cannot remove stale socket: %s",
                   path, strerror(errno));
  return 0;
}

static void on_listener_closed(uv_handle_t *h) {
  struct ctl_server *s = h->data;
  s->listener_closed = true;
  maybe_free_server(s);
}

int ctl_server_open(uv_loop_t *loop, const char *path, unsigned timeout_ms, ctl_request_fn fn,
                    void *ctx, struct ctl_server **out, char *err, size_t errcap) {
  struct ctl_server *s;
  char parent[sizeof(s->path)];
  const char *slash;
  int rc;
  if (strlen(path) >= sizeof(s->path))
    return rl_errf(err, errcap, RL_EINVAL, "control socket %s: path too long (max 107 bytes)", path);
  slash = strrchr(path, '/');
  if (slash && slash != path) {
    snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
    if (mkdir(parent, 0755) != 0 && errno != EEXIST)
      return rl_errf(err, errcap, errno == EACCES ? RL_EREFUSED : RL_ESYS,
                     "control socket directory %s: %s", parent, strerror(errno));
  }
  rc = probe_existing(path, err, errcap);
  if (rc)
    return rc;
  s = calloc(1, sizeof(*s));
  if (!s)
    return RL_ENOMEM;
  s->loop = loop;
  s->fn = fn;
  s->ctx = ctx;
  s->timeout_ms = timeout_ms ? timeout_ms : CTL_TIMEOUT_MS;
  memcpy(s->path, path, strlen(path) + 1);
  uv_pipe_init(loop, &s->listener, 0);
  s->listener.data = s;
  rc = uv_pipe_bind(&s->listener, path);
  if (rc == 0 && chmod(path, 0600) != 0)
    rc = uv_translate_sys_error(errno);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, CTL_MAX_CLIENTS, on_connection);
  if (rc != 0) {
    rl_errf(err, errcap, rc == UV_EACCES ? RL_EREFUSED : RL_ESYS, "control socket %s: %s", path,
            uv_strerror(rc));
    if (rc != UV_EADDRINUSE)
      unlink(path);
    s->closing = true;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    return rc == UV_EACCES ? RL_EREFUSED : RL_ESYS;
  }
  *out = s;
  return 0;
}

void ctl_server_close(struct ctl_server *s) {
  struct ctl_client *cl, *next;
  if (!s || s->closing)
    return;
  s->closing = true;
  unlink(s->path);
  for (cl = s->clients; cl; cl = next) {
    next = cl->next;
    client_close(cl);
  }
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}
