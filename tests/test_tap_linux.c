/* Unit tests: tap/tap_linux.c against the real kernel.
 *
 * Needs root (CAP_NET_ADMIN) and /dev/net/tun; otherwise every test calls
 * cmocka's skip() with the reason (ctest then reports it as passed, the
 * output says SKIPPED). CI runs as root, so there it really runs.
 *
 * The device gets a unique name ("rlt" + pid) and is not persistent:
 * closing the fd deletes it, also when a check fails half-way (the fd is
 * closed in the teardown). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap/tap.h"

struct fixture {
  int fd;
  char name[TAP_IFNAME_MAX];
};

static int setup(void **state) {
  struct fixture *f = test_malloc(sizeof(*f));
  f->fd = -1;
  f->name[0] = '\0';
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  if (f->fd >= 0)
    close(f->fd);
  test_free(f);
  return 0;
}

static void skip_unless_root(void) {
  if (geteuid() != 0) {
    print_message("SKIPPED: needs root (CAP_NET_ADMIN) to create a TAP device\n");
    skip();
  }
  if (access("/dev/net/tun", R_OK | W_OK) != 0) {
    print_message("SKIPPED: /dev/net/tun is not available (%s)\n", strerror(errno));
    skip();
  }
}

static int if_ioctl(const char *name, unsigned long req, struct ifreq *ifr) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(s >= 0);
  memset(ifr, 0, sizeof(*ifr));
  snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
  int rc = ioctl(s, req, ifr);
  close(s);
  return rc;
}

static uint32_t sin_ip(const struct sockaddr *sa) {
  struct sockaddr_in sin;
  memcpy(&sin, sa, sizeof(sin));
  return ntohl(sin.sin_addr.s_addr);
}

static void test_open_configure_read_back(void **state) {
  struct fixture *f = *state;
  struct ifreq ifr;
  char want[TAP_IFNAME_MAX];
  skip_unless_root();
  snprintf(want, sizeof(want), "rlt%d", (int)getpid());
  assert_int_equal(tap_open(want, f->name, &f->fd), 0);
  assert_string_equal(f->name, want);

  const struct tap_if_config cfg = {
      .mac = {0x02, 0x12, 0x34, 0x56, 0x78, 0x9a},
      .mtu = 1426,
      .ipv4 = 0x64400002, /* 100.64.0.2 */
      .prefix = 10,
      .up = true,
  };
  const char *step = NULL;
  assert_int_equal(tap_configure(f->name, &cfg, &step), 0);

  assert_int_equal(if_ioctl(f->name, SIOCGIFHWADDR, &ifr), 0);
  assert_int_equal(ifr.ifr_hwaddr.sa_family, ARPHRD_ETHER);
  assert_memory_equal(ifr.ifr_hwaddr.sa_data, cfg.mac, 6);
  assert_int_equal(if_ioctl(f->name, SIOCGIFMTU, &ifr), 0);
  assert_int_equal(ifr.ifr_mtu, 1426);
  assert_int_equal(if_ioctl(f->name, SIOCGIFADDR, &ifr), 0);
  assert_int_equal(sin_ip(&ifr.ifr_addr), 0x64400002);
  assert_int_equal(if_ioctl(f->name, SIOCGIFNETMASK, &ifr), 0);
  assert_int_equal(sin_ip(&ifr.ifr_netmask), 0xffc00000);
  assert_int_equal(if_ioctl(f->name, SIOCGIFFLAGS, &ifr), 0);
  assert_true(ifr.ifr_flags & IFF_UP);

  /* Non-blocking: nothing to read yet (the kernel may already have queued
   * an IPv6 router solicitation; either way read must not block). */
  uint8_t buf[2048];
  ssize_t n = read(f->fd, buf, sizeof(buf));
  assert_true(n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)));

  /* Closing removes the device. */
  close(f->fd);
  f->fd = -1;
  assert_int_equal(if_ioctl(f->name, SIOCGIFFLAGS, &ifr), -1);
  assert_int_equal(errno, ENODEV);
}

static void test_kernel_chosen_name(void **state) {
  struct fixture *f = *state;
  skip_unless_root();
  assert_int_equal(tap_open(NULL, f->name, &f->fd), 0);
  assert_true(strncmp(f->name, "tap", 3) == 0);
}

static void test_bad_arguments(void **state) {
  struct fixture *f = *state;
  const struct tap_if_config bad_prefix = {.ipv4 = 0x64400002, .prefix = 33};
  /* These fail before touching the kernel, so they run unprivileged too. */
  assert_int_equal(tap_open("a-name-far-too-long-for-ifnamsiz", f->name, &f->fd), RL_EINVAL);
  assert_int_equal(tap_configure("rlt0", &bad_prefix, NULL), RL_EINVAL);
  assert_int_equal(tap_configure("a-name-far-too-long-for-ifnamsiz", &bad_prefix, NULL), RL_EINVAL);
}

static void test_configure_missing_device(void **state) {
  (void)state;
  const struct tap_if_config cfg = {.mac = {0x02, 1, 2, 3, 4, 5}, .mtu = 1400};
  const char *step = NULL;
  char name[TAP_IFNAME_MAX];
  skip_unless_root();
  snprintf(name, sizeof(name), "rlx%d", (int)getpid());
  assert_int_equal(tap_configure(name, &cfg, &step), RL_ESYS);
  assert_int_equal(errno, ENODEV);
  assert_string_equal(step, "set MAC address");
}

static int read_sysctl(const char *fam, const char *name, const char *key) {
  char path[128], buf[16] = {0};
  snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", fam, name, key);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  return n > 0 ? atoi(buf) : -1;
}

/* tap_harden: no router advertisements or redirects accepted, and the
 * link-local address is the one other members accept from this MAC. */
static void test_harden(void **state) {
  struct fixture *f = *state;
  char want[TAP_IFNAME_MAX];
  const char *step = NULL;
  skip_unless_root();
  snprintf(want, sizeof(want), "rlh%d", (int)getpid());
  assert_int_equal(tap_open(want, f->name, &f->fd), 0);
  assert_int_equal(tap_harden(f->name, &step), 0);
  assert_int_equal(read_sysctl("ipv4", f->name, "accept_redirects"), 0);
  bool v6 = access("/proc/sys/net/ipv6/conf", F_OK) == 0;
  if (!v6) {
    print_message("no IPv6 in this kernel: IPv6 settings not checked\n");
    return;
  }
  assert_int_equal(read_sysctl("ipv6", f->name, "accept_ra"), 0);
  assert_int_equal(read_sysctl("ipv6", f->name, "accept_redirects"), 0);
  assert_int_equal(read_sysctl("ipv6", f->name, "addr_gen_mode"), 0);
  const struct tap_if_config cfg = {.mac = {0x02, 0x12, 0x34, 0x56, 0x78, 0x9a}, .mtu = 1426,
                                    .up = true};
  assert_int_equal(tap_configure(f->name, &cfg, &step), 0);
  if (read_sysctl("ipv6", f->name, "disable_ipv6") == 1) {
    print_message("IPv6 disabled on %s: link-local address not checked\n", f->name);
    return;
  }
  uint8_t ll[16];
  tap_ipv6_link_local(cfg.mac, ll);
  bool found = false;
  struct ifaddrs *ifa = NULL;
  assert_int_equal(getifaddrs(&ifa), 0);
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 || strcmp(i->ifa_name, f->name))
      continue;
    struct sockaddr_in6 sin6;
    memcpy(&sin6, i->ifa_addr, sizeof(sin6));
    if (sin6.sin6_addr.s6_addr[0] == 0xfe && (sin6.sin6_addr.s6_addr[1] & 0xc0) == 0x80)
      found = found || memcmp(sin6.sin6_addr.s6_addr, ll, 16) == 0;
  }
  freeifaddrs(ifa);
  assert_true(found);
}

static void test_harden_bad_name(void **state) {
  (void)state;
  assert_int_equal(tap_harden("", NULL), RL_EINVAL);
  assert_int_equal(tap_harden("../all", NULL), RL_EINVAL);
  assert_int_equal(tap_harden("a-name-far-too-long-for-ifnamsiz", NULL), RL_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_open_configure_read_back, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kernel_chosen_name, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
      cmocka_unit_test_setup_teardown(test_configure_missing_device, setup, teardown),
      cmocka_unit_test_setup_teardown(test_harden, setup, teardown),
      cmocka_unit_test(test_harden_bad_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
