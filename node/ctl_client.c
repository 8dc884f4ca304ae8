/* Control socket client for the CLI (protocol: node/ctl.h). Blocking
 * sockets with one deadline over the whole exchange. */
#include <errno.h>
#include <poll.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "node/ctl.h"

#define CTL_ANSWER_MAX (4u << 20)

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, uint64_t deadline) {
  for (;;) {
    uint64_t now = mono_ms();
    struct pollfd p = {.fd = fd, .events = events};
    if (now >= deadline)
      return RL_ETIMEDOUT;
    int r = poll(&p, 1, (int)(deadline - now));
    if (r > 0)
      return 0;
    if (r == 0)
      return RL_ETIMEDOUT;
    if (errno != EINTR)
      return RL_ESYS;
  }
}

int ctl_request(const char *path, const char *line, unsigned timeout_ms, char **body,
                size_t *len, bool *ok, char *err, size_t errcap) {
  struct sockaddr_un sa;
  uint64_t deadline = mono_ms() + timeout_ms;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  int fd, rc = 0;
  *body = NULL;
  *len = 0;
  if (strlen(path) >= sizeof(sa.sun_path)) {
    snprintf(err, errcap, "control socket path too long: %s", path);
    return RL_EINVAL;
  }
  if (strlen(line) + 1 > CTL_REQUEST_MAX || strchr(line, '\n')) {
    snprintf(err, errcap, "request too long or contains a newline");
    return RL_EINVAL;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, path, strlen(path));
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(err, errcap, "socket: %s", strerror(errno));
    return RL_ESYS;
  }
  /* A local stream connect either succeeds or fails at once. */
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    int e = errno;
    close(fd);
    if (e == ENOENT || e == ECONNREFUSED) {
      snprintf(err, errcap, "no ringlan daemon at %s (is 'ringlan up' running?)", path);
      return RL_ENOENT;
    }
    if (e == EACCES || e == EPERM) {
      snprintf(err, errcap, "permission denied on %s (run as root or as the daemon's user)",
               path);
      return RL_EREFUSED;
    }
    snprintf(err, errcap, "cannot connect to %s: %s", path, strerror(e));
    return RL_ESYS;
  }
  char req[CTL_REQUEST_MAX + 1];
  size_t reqlen = (size_t)snprintf(req, sizeof(req), "%s\n", line), off = 0;
  while (off < reqlen) {
    ssize_t w = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      snprintf(err, errcap, "cannot send to %s: %s", path, strerror(errno));
      rc = RL_ESYS;
      goto out;
    }
    off += (size_t)w;
  }
  for (;;) {
    if ((rc = wait_fd(fd, POLLIN, deadline)) != 0) {
      snprintf(err, errcap, rc == RL_ETIMEDOUT ? "no answer from the daemon within %u ms"
                                               : "poll failed (%u ms)", timeout_ms);
      goto out;
    }
    if (cap - n < 4096) {
      size_t ncap = cap ? cap * 2 : 8192;
      char *nb = ncap > CTL_ANSWER_MAX + 1 ? NULL : realloc(buf, ncap);
      if (!nb) {
        snprintf(err, errcap, "answer too large");
        rc = RL_ETOOBIG;
        goto out;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && errno == ECONNRESET && n > 0)
      break; /* the daemon closed before reading everything; the answer is in */
    if (r < 0) {
      snprintf(err, errcap, "cannot read from %s: %s", path, strerror(errno));
      rc = RL_ESYS;
      goto out;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  if (n >= 3 && !memcmp(buf, "OK\n", 3)) {
    *ok = true;
    memmove(buf, buf + 3, n - 3);
    n -= 3;
  } else if (n >= 4 && !memcmp(buf, "ERR\n", 4)) {
    *ok = false;
    memmove(buf, buf + 4, n - 4);
    n -= 4;
  } else {
    snprintf(err, errcap, "malformed answer from the daemon at %s", path);
    rc = RL_EPARSE;
    goto out;
  }
  buf[n] = '\0';
  *body = buf;
  *len = n;
  buf = NULL;
out:
  free(buf);
  close(fd);
  return rc;
}
