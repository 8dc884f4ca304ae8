/* Unit tests: the main UDP port's two sockets (node/drv_udp.c) on
 * loopback: the kernel steers P_DATA_V2 datagrams to the data socket and
 * everything else to the control socket, for IPv4 and for a dual-stack
 * IPv6 socket; a port in use is refused as before; a third socket that
 * joins the group receives nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/drv.h"

/* Reads one datagram from fd within 1 s; returns its first byte, or -1. */
static int recv_first_byte(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  uint8_t b[64];
  if (poll(&p, 1, timeout_ms) != 1)
    return -1;
  ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
  return n > 0 ? b[0] : -1;
}

static uint16_t bound_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
  return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                       : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Sends datagrams with each first byte to `to` and checks where each
 * arrives. */
static void check_steering(int fds[2], int sfamily, const struct sockaddr *to, socklen_t tol) {
  static const uint8_t data_bytes[] = {0x48, 0x49, 0x4f};
  static const uint8_t ctl_bytes[] = {0xa0, 0xa7, 0xa8, 0xb0, 0xb8, 0x00, 0x40, 0x50, 0xff};
  int s = socket(sfamily, SOCK_DGRAM, 0);
  assert_true(s >= 0);
  for (size_t i = 0; i < sizeof(data_bytes) + sizeof(ctl_bytes); i++) {
    bool data = i < sizeof(data_bytes);
    uint8_t pkt[40];
    memset(pkt, 0x11, sizeof(pkt));
    pkt[0] = data ? data_bytes[i] : ctl_bytes[i - sizeof(data_bytes)];
    assert_int_equal(sendto(s, pkt, sizeof(pkt), 0, to, tol), (ssize_t)sizeof(pkt));
    int want = data ? DRV_UDP_DATA : DRV_UDP_CTL;
    assert_int_equal(recv_first_byte(fds[want], 1000), pkt[0]);
    assert_int_equal(recv_first_byte(fds[!want], 0), -1);
  }
  close(s);
}

static void test_ipv4_steering(void **state) {
  struct sockaddr_in sin = {.sin_family = AF_INET};
  const char *why = "unset";
  int fds[2];
  (void)state;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(drv_udp_pair_open((struct sockaddr *)&sin, sizeof(sin), false, fds, &why), 0);
  assert_null(why);
  assert_true(fds[0] >= 0 && fds[1] >= 0);
  assert_int_equal(bound_port(fds[0]), bound_port(fds[1]));
  sin.sin_port = htons(bound_port(fds[0]));
  check_steering(fds, AF_INET, (struct sockaddr *)&sin, sizeof(sin));

  /* The port is taken: a second pair, or a plain socket, cannot have it. */
  int again[2];
  errno = 0;
  assert_int_equal(drv_udp_pair_open((struct sockaddr *)&sin, sizeof(sin), false, again, &why),
                   -1);
  assert_int_equal(errno, EADDRINUSE);
  int plain = socket(AF_INET, SOCK_DGRAM, 0);
  assert_int_not_equal(bind(plain, (struct sockaddr *)&sin, sizeof(sin)), 0);
  close(plain);

  /* A third socket of the same user joins the group (SO_REUSEPORT allows
   * it) but the program never picks it. */
  int third = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
  assert_int_equal(setsockopt(third, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
  assert_int_equal(bind(third, (struct sockaddr *)&sin, sizeof(sin)), 0);
  check_steering(fds, AF_INET, (struct sockaddr *)&sin, sizeof(sin));
  assert_int_equal(recv_first_byte(third, 0), -1);
  close(third);
  close(fds[0]);
  close(fds[1]);
}

static void test_port_in_use_refused(void **state) {
  struct sockaddr_in sin = {.sin_family = AF_INET};
  socklen_t sl = sizeof(sin);
  const char *why;
  int fds[2], plain = socket(AF_INET, SOCK_DGRAM, 0);
  (void)state;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(plain, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(getsockname(plain, (struct sockaddr *)&sin, &sl), 0);
  errno = 0;
  assert_int_equal(drv_udp_pair_open((struct sockaddr *)&sin, sizeof(sin), false, fds, &why),
                   -1);
  assert_int_equal(errno, EADDRINUSE);
  assert_int_equal(fds[0], -1);
  assert_int_equal(fds[1], -1);
  close(plain);
}

/* A wildcard-style dual-stack socket ([::], not v6only) takes IPv4 (as
 * v4-mapped) and IPv6 datagrams, both steered. Needs IPv6 on loopback. */
static void test_dual_stack_steering(void **state) {
  struct sockaddr_in6 any6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
  struct sockaddr_in6 lo6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  struct sockaddr_in lo4 = {.sin_family = AF_INET};
  const char *why = "unset";
  int fds[2];
  (void)state;
  int probe = socket(AF_INET6, SOCK_DGRAM, 0);
  if (probe < 0 || bind(probe, (struct sockaddr *)&lo6, sizeof(lo6)) != 0) {
    print_message("no IPv6 loopback here: dual-stack steering not checked\n");
    if (probe >= 0)
      close(probe);
    return;
  }
  close(probe);
  assert_int_equal(drv_udp_pair_open((struct sockaddr *)&any6, sizeof(any6), false, fds, &why),
                   0);
  assert_null(why);
  uint16_t port = bound_port(fds[0]);
  lo6.sin6_port = htons(port);
  check_steering(fds, AF_INET6, (struct sockaddr *)&lo6, sizeof(lo6));
  lo4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  lo4.sin_port = htons(port);
  check_steering(fds, AF_INET, (struct sockaddr *)&lo4, sizeof(lo4));
  close(fds[0]);
  close(fds[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ipv4_steering),
      cmocka_unit_test(test_port_in_use_refused),
      cmocka_unit_test(test_dual_stack_steering),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
