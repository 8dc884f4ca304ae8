/* UDP probes for the NAT test bed's self-check (tests/integration/natlab.sh),
 * test-only. Every mode is bounded in time.
 *
 *   udp_probe serve IP PORT [MAX_SECONDS]
 *       answers every datagram with the text "IP:PORT" of its sender (the
 *       reflexive address as this server sees it), and every TCP connection
 *       to the same IP:PORT with that text and a newline; prints "ready".
 *   udp_probe tcpask DST:PORT
 *       connects over TCP (3 s at most) and prints "tcp-reflexive DST IP:PORT"
 *       or "tcp-timeout DST" (sites that block UDP still pass TCP).
 *   udp_probe ask LPORT HOLD_MS DST:PORT...
 *       from 0.0.0.0:LPORT asks each server in turn (3 tries, 500 ms each)
 *       and prints "reflexive DST IP:PORT" or "timeout DST"; then listens
 *       HOLD_MS more on the same socket and prints "unsolicited FROM TEXT" for
 *       every datagram from anyone. Exit 0 when every server answered.
 *   udp_probe send LPORT DST:PORT TEXT
 *       sends TEXT once from LPORT (0 = any).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse(const char *text, struct sockaddr_in *a) {
  char ip[64];
  const char *c = strrchr(text, ':');
  if (!c || (size_t)(c - text) >= sizeof(ip))
    return -1;
  memcpy(ip, text, (size_t)(c - text));
  ip[c - text] = 0;
  memset(a, 0, sizeof(*a));
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)atoi(c + 1));
  return inet_pton(AF_INET, ip, &a->sin_addr) == 1 ? 0 : -1;
}

static const char *fmt(const struct sockaddr_in *a, char *buf, size_t cap) {
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
  snprintf(buf, cap, "%s:%u", ip, ntohs(a->sin_port));
  return buf;
}

static int bound_socket(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
      bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    perror("bind");
    exit(2);
  }
  return fd;
}

/* Waits up to ms for a datagram; returns its length or -1. */
static ssize_t recv_wait(int fd, char *buf, size_t cap, struct sockaddr_in *from, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  socklen_t fl = sizeof(*from);
  ssize_t n;
  if (ms < 0 || poll(&p, 1, ms) <= 0)
    return -1;
  n = recvfrom(fd, buf, cap - 1, 0, (struct sockaddr *)from, &fl);
  if (n >= 0)
    buf[n] = 0;
  return n;
}

static int tcp_listener(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
      bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 8) != 0) {
    perror("tcp listen");
    exit(2);
  }
  return fd;
}

static int serve(const char *ip, int port, int max_s) {
  struct pollfd p[2] = {{.fd = bound_socket(ip, port), .events = POLLIN},
                        {.fd = tcp_listener(ip, port), .events = POLLIN}};
  long long end = now_ms() + (long long)max_s * 1000;
  printf("ready\n");
  fflush(stdout);
  while (now_ms() < end) {
    char buf[512], out[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    if (poll(p, 2, 1000) <= 0)
      continue;
    if (p[1].revents & POLLIN) {
      int c = accept(p[1].fd, (struct sockaddr *)&from, &fl);
      if (c >= 0) {
        fmt(&from, out, sizeof(out));
        strcat(out, "\n");
        if (write(c, out, strlen(out)) < 0)
          perror("write");
        close(c);
      }
    }
    if ((p[0].revents & POLLIN) && recv_wait(p[0].fd, buf, sizeof(buf), &from, 0) >= 0) {
      fmt(&from, out, sizeof(out));
      sendto(p[0].fd, out, strlen(out), 0, (struct sockaddr *)&from, sizeof(from));
    }
  }
  return 0;
}

static int tcp_ask(const char *dst) {
  struct sockaddr_in to;
  struct pollfd p;
  char buf[128];
  ssize_t n = 0;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0 || parse(dst, &to) != 0)
    return 2;
  connect(fd, (struct sockaddr *)&to, sizeof(to)); /* EINPROGRESS */
  p.fd = fd;
  p.events = POLLIN;
  for (long long end = now_ms() + 3000; n <= 0 && now_ms() < end;) {
    if (poll(&p, 1, (int)(end - now_ms())) <= 0)
      break;
    n = read(fd, buf, sizeof(buf) - 1);
    if (n == 0 || (n < 0 && !(p.revents & POLLIN)))
      break;
  }
  if (n <= 0) {
    printf("tcp-timeout %s\n", dst);
    return 1;
  }
  buf[n] = 0;
  buf[strcspn(buf, "\n")] = 0;
  printf("tcp-reflexive %s %s\n", dst, buf);
  return 0;
}

static int ask(int lport, int hold_ms, int n, char **dst) {
  int fd = bound_socket("0.0.0.0", lport), rc = 0;
  long long end;
  for (int i = 0; i < n; i++) {
    struct sockaddr_in to, from;
    char buf[512];
    int got = 0;
    if (parse(dst[i], &to) != 0) {
      fprintf(stderr, "bad address %s\n", dst[i]);
      return 2;
    }
    for (int t = 0; t < 3 && !got; t++) {
      long long until = now_ms() + 500;
      sendto(fd, "ask", 3, 0, (struct sockaddr *)&to, sizeof(to));
      while (!got && recv_wait(fd, buf, sizeof(buf), &from, (int)(until - now_ms())) >= 0)
        got = from.sin_addr.s_addr == to.sin_addr.s_addr && from.sin_port == to.sin_port;
    }
    if (got)
      printf("reflexive %s %s\n", dst[i], buf);
    else
      printf("timeout %s\n", dst[i]);
    fflush(stdout);
    rc |= !got;
  }
  end = now_ms() + hold_ms;
  for (int k = 0; k < 1000 && now_ms() < end; k++) {
    struct sockaddr_in from;
    char buf[512], a[64];
    if (recv_wait(fd, buf, sizeof(buf), &from, (int)(end - now_ms())) < 0)
      continue;
    printf("unsolicited %s %s\n", fmt(&from, a, sizeof(a)), buf);
    fflush(stdout);
  }
  return rc;
}

static int send_one(int lport, const char *dst, const char *text) {
  struct sockaddr_in to;
  int fd = bound_socket("0.0.0.0", lport);
  if (parse(dst, &to) != 0)
    return 2;
  return sendto(fd, text, strlen(text), 0, (struct sockaddr *)&to, sizeof(to)) < 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "serve"))
    return serve(argv[2], atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 600);
  if (argc >= 5 && !strcmp(argv[1], "ask"))
    return ask(atoi(argv[2]), atoi(argv[3]), argc - 4, argv + 4);
  if (argc == 5 && !strcmp(argv[1], "send"))
    return send_one(atoi(argv[2]), argv[3], argv[4]);
  if (argc == 3 && !strcmp(argv[1], "tcpask"))
    return tcp_ask(argv[2]);
  fprintf(stderr, "usage: udp_probe serve IP PORT [MAX_S] | ask LPORT HOLD_MS DST:PORT... | "
          "send LPORT DST:PORT TEXT | tcpask DST:PORT\n");
  return 2;
}
