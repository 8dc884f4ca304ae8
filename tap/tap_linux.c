/* The Linux TAP device: open /dev/net/tun and configure the interface with
 * ioctls. OS code; only the driver (node/) calls it, never the node core. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <ringlan/error.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap/tap.h"

static int map_errno(int e) {
  if (e == EPERM || e == EACCES)
    return RL_EREFUSED;
  return RL_ESYS;
}

int tap_open(const char *name, char out_name[TAP_IFNAME_MAX], int *fd_out) {
  struct ifreq ifr;
  int fd, e;
  memset(&ifr, 0, sizeof(ifr));
  if (name && strlen(name) >= IFNAMSIZ)
    return RL_EINVAL;
  fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    e = errno;
    return e == ENOENT || e == ENODEV ? RL_ENOENT : map_errno(e);
  }
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (name && name[0])
    memcpy(ifr.ifr_name, name, strlen(name));
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    e = errno;
    close(fd);
    errno = e;
    return map_errno(e);
  }
  memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
  out_name[IFNAMSIZ - 1] = '\0';
  *fd_out = fd;
  return 0;
}

static void set_sin(struct sockaddr *sa, uint32_t ip_host) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(ip_host);
  memcpy(sa, &sin, sizeof(sin));
}

int tap_configure(const char *name, const struct tap_if_config *cfg, const char **step) {
  struct ifreq ifr;
  const char *what = "socket";
  int s, rc = 0;
  if (!name || strlen(name) >= IFNAMSIZ || (cfg->ipv4 && (cfg->prefix < 1 || cfg->prefix > 32)))
    return RL_EINVAL;
  s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    goto fail;

  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, name, strlen(name));
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, cfg->mac, TAP_MAC_LEN);
  what = "set MAC address";
  if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0)
    goto fail;

  if (cfg->mtu) {
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));
    ifr.ifr_mtu = cfg->mtu;
    what = "set MTU";
    if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
      goto fail;
  }

  if (cfg->ipv4) {
    uint32_t mask = cfg->prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> cfg->prefix);
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));
    set_sin(&ifr.ifr_addr, cfg->ipv4);
    what = "set IPv4 address";
    if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
      goto fail;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));
    set_sin(&ifr.ifr_netmask, mask);
    what = "set netmask";
    if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
      goto fail;
  }

  if (cfg->up) {
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, name, strlen(name));
    what = "read flags";
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
      goto fail;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    what = "set interface up";
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
      goto fail;
  }
  close(s);
  return 0;

fail:
  rc = map_errno(errno);
  if (s >= 0) {
    int e = errno;
    close(s);
    errno = e;
  }
  if (step)
    *step = what;
  return rc;
}

/* Writes "0" to /proc/sys/net/<path>. ENOENT is reported as such (the
 * caller decides whether a missing file matters). */
static int sysctl_zero(const char *fam, const char *name, const char *key) {
  char path[128];
  int fd, e;
  snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s", fam, name, key);
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (write(fd, "0\n", 2) != 2) {
    e = errno ? errno : EIO;
    close(fd);
    return -e;
  }
  close(fd);
  return 0;
}

int tap_harden(const char *name, const char **step) {
  /* A member must not become anyone's router or move their neighbours:
   * besides the node core dropping such frames from members (node/core/
   * lan.c), the kernel is told not to act on them. addr_gen_mode comes
   * first: the link-local address is made when the interface goes up, and
   * it must be the one other members check (tap_ipv6_link_local). */
  static const struct {
    const char *fam, *key, *what;
    bool v6;
  } SET[] = {
      {"ipv6", "addr_gen_mode", "ipv6 addr_gen_mode", true},
      {"ipv6", "accept_ra", "ipv6 accept_ra", true},
      {"ipv6", "accept_redirects", "ipv6 accept_redirects", true},
      {"ipv4", "accept_redirects", "ipv4 accept_redirects", false},
  };
  if (!name || !name[0] || strlen(name) >= IFNAMSIZ || strchr(name, '/'))
    return RL_EINVAL;
  bool have_v6 = access("/proc/sys/net/ipv6/conf", F_OK) == 0;
  for (size_t i = 0; i < sizeof(SET) / sizeof(SET[0]); i++) {
    if (SET[i].v6 && !have_v6)
      continue;
    int r = sysctl_zero(SET[i].fam, name, SET[i].key);
    if (r < 0) {
      if (step)
        *step = SET[i].what;
      errno = -r;
      return map_errno(-r);
    }
  }
  return 0;
}
