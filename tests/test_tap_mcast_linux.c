/* Unit tests: tap/mcast.c against the real kernel. The test process moves
 * into a network namespace of its own (unshare(CLONE_NEWNET)), opens a TAP
 * there as the driver does, joins groups through sockets like a program on
 * the host would, and reads what the host's kernel writes to the TAP:
 *   - the unsolicited reports of a join and of a leave parse into join /
 *     leave records (IGMPv3 and MLDv2, Linux's defaults);
 *   - the querier's IGMPv3 general query from 0.0.0.0 is answered; the same
 *     query from the host's own address is not (Linux drops it as a martian
 *     source), which is why the node queries from 0.0.0.0 (tap/mcast.h);
 *   - the MLDv2 general query from the host's own link-local address (the
 *     node's, both come from the member's MAC) is answered, and so is an
 *     IGMPv3 group-specific query.
 *
 * Needs root (CAP_SYS_ADMIN for the namespace, CAP_NET_ADMIN for the TAP)
 * and /dev/net/tun; otherwise every test calls skip() with the reason.
 * Waits are bounded: each wait reads the TAP with poll() until a deadline
 * (3 s; the queries ask for answers within 1 s). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tap/mcast.h"

static const uint8_t MAC[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
#define VIP 0x64400002u   /* 100.64.0.2/10 */

struct fx {
  int tap, s4, s6;
  char name[TAP_IFNAME_MAX];
  unsigned ifindex;
};

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads the TAP for up to ms milliseconds; counts the records of the
 * wanted op and family (all of them when stop is false, else returns at
 * the first). */
static int wait_recs(struct fx *f, unsigned ms, uint8_t op, uint8_t family, bool stop) {
  uint64_t end = mono_ms() + ms;
  int seen = 0;
  for (uint64_t now = mono_ms(); now < end; now = mono_ms()) {
    struct pollfd p = {f->tap, POLLIN, 0};
    if (poll(&p, 1, (int)(end - now)) <= 0)
      continue;
    uint8_t b[2048];
    ssize_t n = read(f->tap, b, sizeof(b));
    if (n <= 0)
      continue;
    struct tap_mcast_rec r[8];
    int k = tap_mcast_parse(b, (size_t)n, r, 8);
    assert_true(k >= 0);   /* the kernel writes only well-formed reports */
    for (int i = 0; i < k && i < 8; i++)
      if (r[i].op == op && r[i].family == family)
        seen++;
    if (stop && seen)
      return seen;
  }
  return seen;
}

static void send_query(struct fx *f, uint8_t family, uint32_t src4, const uint8_t *src6,
                       const uint8_t *group) {
  struct tap_mcast_query q = {.family = family, .max_resp_ms = 1000};
  if (group)
    memcpy(q.group, group, family == 4 ? 4 : 16);
  uint8_t frame[128];
  int n = tap_mcast_query_build(&q, MAC, src4, src6, frame, sizeof(frame));
  assert_true(n > 0);
  assert_int_equal(write(f->tap, frame, (size_t)n), n);
}

static int setup(void **state) {
  static struct fx f;
  memset(&f, 0, sizeof(f));
  f.tap = f.s4 = f.s6 = -1;
  *state = &f;
  if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0)
    return 0;
  if (unshare(CLONE_NEWNET) != 0)
    return 0;
  const char *step;
  if (tap_open("rlmc%d", f.name, &f.tap) != 0)
    return 0;
  tap_harden(f.name, &step);
  struct tap_if_config c = {.mtu = 1400, .ipv4 = VIP, .prefix = 10, .up = true};
  memcpy(c.mac, MAC, 6);
  if (tap_configure(f.name, &c, &step) != 0) {
    close(f.tap);
    f.tap = -1;
    return 0;
  }
  f.ifindex = if_nametoindex(f.name);
  f.s4 = socket(AF_INET, SOCK_DGRAM, 0);
  f.s6 = socket(AF_INET6, SOCK_DGRAM, 0);
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  if (f->s4 >= 0)
    close(f->s4);
  if (f->s6 >= 0)
    close(f->s6);
  if (f->tap >= 0)
    close(f->tap);
  return 0;
}

static void test_kernel_reports_and_queries(void **state) {
  struct fx *f = *state;
  if (f->tap < 0) {
    print_message("SKIPPED: needs root, a network namespace of its own and /dev/net/tun\n");
    skip();
  }
  struct ip_mreqn m4 = {.imr_ifindex = (int)f->ifindex};
  inet_pton(AF_INET, "239.1.2.3", &m4.imr_multiaddr);
  struct ipv6_mreq m6 = {.ipv6mr_interface = f->ifindex};
  inet_pton(AF_INET6, "ff0e::123", &m6.ipv6mr_multiaddr);
  assert_int_equal(setsockopt(f->s4, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m4, sizeof(m4)), 0);
  assert_int_equal(setsockopt(f->s6, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m6, sizeof(m6)), 0);
  /* Unsolicited reports (sent twice within 1 s): read them all, so that no
   * retransmission falls into the windows below. */
  assert_true(wait_recs(f, 3000, TAP_MCAST_JOIN, 4, false) >= 1);

  /* From the host's own address: dropped by the host, no answer. */
  send_query(f, 4, VIP, NULL, NULL);
  assert_int_equal(wait_recs(f, 2500, TAP_MCAST_JOIN, 4, false), 0);
  /* From 0.0.0.0: answered within the 1 s asked for. */
  send_query(f, 4, 0, NULL, NULL);
  assert_int_equal(wait_recs(f, 3000, TAP_MCAST_JOIN, 4, true), 1);
  /* Group-specific. */
  send_query(f, 4, 0, NULL, (const uint8_t[4]){239, 1, 2, 3});
  assert_int_equal(wait_recs(f, 3000, TAP_MCAST_JOIN, 4, true), 1);
  /* MLDv2 from the member's own link-local address. */
  uint8_t ll[16];
  tap_ipv6_link_local(MAC, ll);
  send_query(f, 6, 0, ll, NULL);
  assert_int_equal(wait_recs(f, 3000, TAP_MCAST_JOIN, 6, true), 1);

  /* Leaves: TO_IN({}) records, i.e. leave. */
  assert_int_equal(setsockopt(f->s4, IPPROTO_IP, IP_DROP_MEMBERSHIP, &m4, sizeof(m4)), 0);
  assert_true(wait_recs(f, 3000, TAP_MCAST_LEAVE, 4, true) >= 1);
  assert_int_equal(setsockopt(f->s6, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &m6, sizeof(m6)), 0);
  assert_true(wait_recs(f, 3000, TAP_MCAST_LEAVE, 6, true) >= 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_kernel_reports_and_queries, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
