/* Junk HS_INIT generator for bench/hs_flood.sh (issue 10, finding 6).
 *
 *   hs_flood_gen GROUP.pub DST_IP DST_PORT PPS SECONDS SRC_NET
 *
 * Sends HS_INITs that pass mac1 (computed from the group's PUBLIC key, as
 * anyone could) and nothing else, at up to PPS datagrams per second for
 * SECONDS (or until SIGTERM), from spoofed sources: random addresses in SRC_NET (a /24 such as
 * 198.51.100.0) and random ports, through a raw socket (IP_HDRINCL). Only
 * for namespaces a test built (the caller's job); never points anywhere
 * else. Prints "sent N in S s = P pps" at the end (the rate achieved: the
 * machine may not keep up with PPS). */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/cookie.h"
#include "crypto/hs.h"
#include "crypto/identity.h"

#define JUNK_LEN 420  /* about a real HS_INIT */
#define NPKT 4096     /* distinct datagrams, cycled */
#define BATCH 64

static volatile sig_atomic_t stop;
static void on_term(int sig) {
  (void)sig;
  stop = 1; /* print the figures, then exit */
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int load_group(const char *path, uint8_t pk[RL_PK_LEN]) {
  char text[4096], name[64], why[128];
  FILE *f = fopen(path, "r");
  size_t n;
  if (!f)
    return -1;
  n = fread(text, 1, sizeof(text) - 1, f);
  fclose(f);
  text[n] = 0;
  if (id_pub_parse(pk, "group", name, sizeof(name), text, n, why, sizeof(why)) != 0) {
    fprintf(stderr, "%s: %s\n", path, why);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  uint8_t pk[RL_PK_LEN], mac1_key[32], cookie_key[32];
  static uint8_t pkts[NPKT][20 + 8 + JUNK_LEN];
  struct sockaddr_in dst;
  struct mmsghdr mm[BATCH];
  struct iovec iov[BATCH];
  uint32_t net;
  unsigned long pps, secs;
  uint64_t sent = 0, errors = 0, t0, now, end;
  int fd, one = 1;
  if (argc != 7) {
    fprintf(stderr, "usage: %s GROUP.pub DST_IP DST_PORT PPS SECONDS SRC_NET(/24)\n", argv[0]);
    return 2;
  }
  if (sodium_init() < 0 || load_group(argv[1], pk) != 0)
    return 1;
  cookie_derive_keys(pk, mac1_key, cookie_key);
  memset(&dst, 0, sizeof(dst));
  dst.sin_family = AF_INET;
  if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1 || inet_pton(AF_INET, argv[6], &net) != 1)
    return 2;
  pps = strtoul(argv[4], NULL, 10);
  secs = strtoul(argv[5], NULL, 10);
  if (pps == 0 || secs == 0 || secs > 3600)
    return 2;
  net = ntohl(net) & 0xFFFFFF00u;
  for (unsigned i = 0; i < NPKT; i++) {
    uint8_t *ip = pkts[i], *udp = ip + 20, *hs = udp + 8;
    uint32_t src = net | (1 + randombytes_uniform(254));
    uint16_t sport = (uint16_t)(1024 + randombytes_uniform(60000));
    uint16_t dport = (uint16_t)atoi(argv[3]);
    uint16_t tot = (uint16_t)(20 + 8 + JUNK_LEN);
    randombytes_buf(hs, JUNK_LEN);
    hs[0] = (uint8_t)(HS_OP_INIT << 3);
    hs[1] = hs[2] = hs[3] = 0xFF; /* HS_INDEX_UNDEF */
    cookie_mac(hs + JUNK_LEN - 2 * COOKIE_MAC_LEN, mac1_key, 32, hs,
               JUNK_LEN - 2 * COOKIE_MAC_LEN);
    memset(hs + JUNK_LEN - COOKIE_MAC_LEN, 0, COOKIE_MAC_LEN);
    ip[0] = 0x45;
    ip[1] = 0;
    ip[2] = (uint8_t)(tot >> 8);
    ip[3] = (uint8_t)tot;
    ip[8] = 64;  /* TTL */
    ip[9] = 17;  /* UDP; id, checksum: filled in by the kernel */
    src = htonl(src);
    memcpy(ip + 12, &src, 4);
    memcpy(ip + 16, &dst.sin_addr, 4);
    udp[0] = (uint8_t)(sport >> 8);
    udp[1] = (uint8_t)sport;
    udp[2] = (uint8_t)(dport >> 8);
    udp[3] = (uint8_t)dport;
    udp[4] = (uint8_t)((8 + JUNK_LEN) >> 8);
    udp[5] = (uint8_t)(8 + JUNK_LEN);
    udp[6] = udp[7] = 0; /* no UDP checksum (IPv4 allows it) */
  }
  fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) != 0) {
    perror("raw socket");
    return 1;
  }
  memset(mm, 0, sizeof(mm));
  for (unsigned k = 0; k < BATCH; k++) {
    mm[k].msg_hdr.msg_name = &dst;
    mm[k].msg_hdr.msg_namelen = sizeof(dst);
    mm[k].msg_hdr.msg_iov = &iov[k];
    mm[k].msg_hdr.msg_iovlen = 1;
  }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  t0 = mono_ns();
  end = t0 + secs * 1000000000ull;
  while (!stop && (now = mono_ns()) < end) {
    /* paced: never ahead of PPS since t0 */
    uint64_t due = (uint64_t)((now - t0) * (double)pps / 1e9);
    if (sent >= due) {
      struct timespec d = {0, 200000}; /* 0.2 ms */
      nanosleep(&d, NULL);
      continue;
    }
    unsigned b = due - sent > BATCH ? BATCH : (unsigned)(due - sent);
    for (unsigned k = 0; k < b; k++) {
      iov[k].iov_base = pkts[(sent + k) % NPKT];
      iov[k].iov_len = sizeof(pkts[0]);
    }
    int r = sendmmsg(fd, mm, b, 0);
    if (r < 0) {
      /* (ENOBUFS, a neighbour entry in flux: the flood goes on) */
      struct timespec d = {0, 1000000};
      if (errors++ == 0)
        perror("sendmmsg");
      nanosleep(&d, NULL);
      continue;
    }
    sent += (unsigned)r;
  }
  now = mono_ns();
  printf("sent %llu in %.2f s = %.0f pps (%llu send errors)\n", (unsigned long long)sent,
         (now - t0) / 1e9, sent / ((now - t0) / 1e9), (unsigned long long)errors);
  fflush(stdout);
  close(fd);
  return 0;
}
