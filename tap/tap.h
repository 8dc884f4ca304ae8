/* Ethernet frame logic for the virtual LAN, and the Linux TAP device.
 *
 * Pure part (tap/frame.c, sans-I/O, fuzzed): the MAC of a member from its
 * overlay ID and its IPv6 link-local address, frame classification
 * (destination kind, ethertype behind up to two VLAN tags, ARP sender/target,
 * IPv4 and IPv6 addresses, UDP ports, ICMP types, IPv6 neighbour discovery
 * targets and link-layer options), ARP replies and the TAP MTU. Multicast
 * membership of the local host (IGMP/MLD reports, membership table,
 * querier): tap/mcast.h. OS part (tap/tap_linux.c): opening and
 * configuring the device; only the driver (node/) calls it, never the node
 * core.
 *
 * Frames are raw Ethernet without FCS, as a TAP device with IFF_NO_PI
 * delivers them and as OpenVPN's TAP mode carries them. */
#ifndef RL_TAP_TAP_H
#define RL_TAP_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAP_MAC_LEN 6
#define TAP_ETH_HDR 14        /* dst(6) src(6) ethertype(2) */
#define TAP_VLAN_TAG 4        /* TPID(2) TCI(2) */
#define TAP_MAX_VLAN 2        /* 802.1ad outer + 802.1Q inner (QinQ) */
#define TAP_ARP_LEN 28        /* Ethernet/IPv4 ARP body */
#define TAP_IFNAME_MAX 16     /* IFNAMSIZ, NUL included */

#define TAP_ETHERTYPE_IPV4 0x0800
#define TAP_ETHERTYPE_ARP 0x0806
#define TAP_ETHERTYPE_VLAN 0x8100  /* 802.1Q */
#define TAP_ETHERTYPE_QINQ 0x88a8  /* 802.1ad */
#define TAP_ETHERTYPE_IPV6 0x86dd

#define TAP_ARP_REQUEST 1
#define TAP_ARP_REPLY 2

#define TAP_IPV6_LEN 16
#define TAP_IPPROTO_ICMP 1
#define TAP_IPPROTO_UDP 17
#define TAP_IPPROTO_ICMPV6 58
#define TAP_IPV6_EXT_MAX 8    /* extension headers walked before giving up */

/* ICMPv6 types the virtual LAN polices (RFC 4861, RFC 3810). */
#define TAP_ICMP6_MLD_REPORT 131
#define TAP_ICMP6_RS 133
#define TAP_ICMP6_RA 134
#define TAP_ICMP6_NS 135
#define TAP_ICMP6_NA 136
#define TAP_ICMP6_REDIRECT 137
#define TAP_ICMP6_MLD2_REPORT 143
#define TAP_ICMP_REDIRECT 5   /* ICMP (IPv4) redirect */

/* Encapsulation figures used by tap_mtu(). */
#define TAP_IPV4_HDR 20
#define TAP_IPV6_HDR 40
#define TAP_UDP_HDR 8
#define TAP_PATH_MTU_DEFAULT 1500
#define TAP_MTU_MIN 576       /* below this, IPv4 hosts misbehave */

enum tap_dst {
  TAP_DST_UNICAST = 0,
  TAP_DST_BROADCAST,   /* ff:ff:ff:ff:ff:ff */
  TAP_DST_MULTICAST,   /* group bit (bit 0 of byte 0) set, not broadcast */
};

struct tap_vlan {
  uint16_t tpid;   /* 0x8100 or 0x88a8 */
  uint16_t tci;    /* PCP(3) DEI(1) VID(12) */
};

struct tap_frame_info {
  enum tap_dst dst_kind;
  uint8_t dst[TAP_MAC_LEN];
  uint8_t src[TAP_MAC_LEN];
  uint8_t n_vlan;                  /* tags in front of the ethertype */
  struct tap_vlan vlan[TAP_MAX_VLAN];
  uint16_t ethertype;              /* the innermost one (after VLAN tags) */
  size_t l3_off;                   /* offset of the payload after ethertype */

  /* ARP (ethertype 0x0806, Ethernet/IPv4 form only). */
  bool arp;                        /* a well-formed Ethernet/IPv4 ARP body */
  uint16_t arp_op;                 /* TAP_ARP_REQUEST, TAP_ARP_REPLY, other */
  uint8_t arp_sha[TAP_MAC_LEN];    /* sender hardware address */
  uint32_t arp_spa;                /* sender IPv4, host byte order */
  uint8_t arp_tha[TAP_MAC_LEN];    /* target hardware address */
  uint32_t arp_tpa;                /* target IPv4, host byte order */

  /* IPv4 (ethertype 0x0800 with a sane header). */
  bool ipv4;
  uint32_t ipv4_src;               /* host byte order */
  uint32_t ipv4_dst;               /* host byte order */

  /* IPv6 (ethertype 0x86dd, version 6, payload length within the frame). */
  bool ipv6;
  uint8_t ipv6_src[TAP_IPV6_LEN];
  uint8_t ipv6_dst[TAP_IPV6_LEN];

  /* Upper layer of an IPv4 or IPv6 packet (ipv4 or ipv6 true). ip_proto is
   * the IPv4 protocol, or for IPv6 the next header after the extension
   * headers (hop-by-hop, routing, fragment, destination options, AH). */
  uint8_t ip_proto;
  bool frag_later;                 /* a fragment other than the first: no upper header */
  /* The upper-layer header could not be read: the IPv6 header chain ends
   * inside the packet or is longer than TAP_IPV6_EXT_MAX, or a UDP, ICMP or
   * ICMPv6 header (and, for neighbour discovery, its fixed body) is cut.
   * A receiver cannot tell what such a packet is; policy drops it. */
  bool l4_cut;
  bool udp;                        /* ip_proto UDP, header read: ports valid */
  uint16_t udp_sport, udp_dport;
  bool icmp;                       /* ICMP / ICMPv6 header read: type, code valid */
  uint8_t icmp_type, icmp_code;

  /* IPv6 neighbour discovery (ICMPv6 133..137, RFC 4861). */
  bool nd_has_target;              /* NS, NA, redirect: the target address */
  uint8_t nd_target[TAP_IPV6_LEN];
  bool nd_has_sll;                 /* source link-layer address option */
  uint8_t nd_sll[TAP_MAC_LEN];
  bool nd_has_tll;                 /* target link-layer address option */
  uint8_t nd_tll[TAP_MAC_LEN];
  /* Malformed options (length 0 or past the end) or two link-layer options
   * of one kind that disagree: a receiver may read either. */
  bool nd_bad;
};

/* The MAC of a member, from its 160-bit overlay ID:
 *   mac[0] = (id[0] & 0xfc) | 0x02   locally administered, unicast
 *   mac[1..5] = id[1..5]
 * 46 bits of the ID survive. With N members, the chance that two share a MAC
 * is about N^2 / 2^47 (7e-5 for N = 10^5); the node core keys its table by
 * MAC and must treat a collision as "ambiguous", not trust either. */
void tap_mac_from_id(const uint8_t id[20], uint8_t mac[TAP_MAC_LEN]);

/* The IPv6 link-local address the kernel gives an interface with this MAC
 * (modified EUI-64, RFC 4291 appendix A; addr_gen_mode eui64, which the
 * driver sets on the TAP): fe80::(mac[0]^2)mac[1]:mac[2]ff:fe mac[3]:mac[4]mac[5]. */
void tap_ipv6_link_local(const uint8_t mac[TAP_MAC_LEN], uint8_t out[TAP_IPV6_LEN]);

/* "02:aa:bb:cc:dd:ee" into out (at least 18 bytes). Returns out. */
char *tap_mac_format(const uint8_t mac[TAP_MAC_LEN], char *out, size_t cap);

/* Classifies a frame of untrusted content. Returns 0, or RL_ETRUNC when the
 * frame is shorter than its Ethernet header (and VLAN tags). A short or
 * malformed ARP/IPv4/IPv6 payload is not an error: info->arp / info->ipv4 /
 * info->ipv6 stay false (and l4_cut / nd_bad tell of a cut upper layer). More than TAP_MAX_VLAN tags: the remaining tag is reported as the
 * ethertype (0x8100/0x88a8) and nothing further is parsed. */
int tap_frame_classify(const uint8_t *frame, size_t len, struct tap_frame_info *info);

/* Builds the ARP reply to a classified request (info->arp and arp_op ==
 * TAP_ARP_REQUEST): "arp_tpa is at mac". The reply goes to the requester
 * (Ethernet dst = arp_sha), carries the request's VLAN tags unchanged, and is
 * not padded to 60 bytes (a TAP device accepts short frames). Returns the
 * frame length (42 + 4 per VLAN tag), RL_EINVAL if info is not an ARP
 * request, RL_ETOOBIG if cap is too small. */
int tap_arp_reply(const struct tap_frame_info *req, const uint8_t mac[TAP_MAC_LEN],
                  uint8_t *out, size_t cap);

/* Builds a gratuitous ARP request, broadcast and untagged: "ip is at mac"
 * (sender and target address both ip, target MAC zero; RFC 5227 calls it an
 * ARP announcement). A Linux host with a neighbour entry for ip takes the new
 * MAC at once (a gratuitous ARP overrides the entry's lock time); it creates
 * no entry it did not have (arp_accept = 0). Returns 42, or RL_ETOOBIG if cap
 * is too small. */
int tap_arp_announce(const uint8_t mac[TAP_MAC_LEN], uint32_t ip, uint8_t *out, size_t cap);

/* The MTU to give the TAP device so that every frame it emits, encapsulated,
 * fits into one datagram of path_mtu bytes:
 *
 *   mtu = path_mtu - IP header (20, or 40 over IPv6) - UDP (8)
 *         - DC_OVERHEAD_MAX (28: the largest data-channel overhead, OpenVPN's
 *           epoch format; P_DATA_V2 uses 24)
 *         - inner_overhead (end-to-end/relay wrapping the caller adds)
 *         - Ethernet header (14) - one VLAN tag (4)
 *
 * The VLAN tag is reserved so that a VLAN interface stacked on the TAP (same
 * MTU) still fits. Default: 1500 over IPv4, no inner overhead -> 1426.
 * Returns 0 if the result would be below TAP_MTU_MIN. */
uint16_t tap_mtu(uint16_t path_mtu, bool ipv6_path, uint16_t inner_overhead);

/* --- Linux TAP device (tap/tap_linux.c) --- */

/* Opens /dev/net/tun as a TAP device (IFF_TAP | IFF_NO_PI), non-blocking and
 * close-on-exec. name: the wanted interface name, or NULL/"" to let the
 * kernel choose ("tap%d"); a name with "%d" is a template. The actual name is
 * written to out_name (TAP_IFNAME_MAX bytes). Closing *fd removes the device
 * (it is not persistent).
 * Returns 0, RL_EREFUSED (EPERM/EACCES: needs CAP_NET_ADMIN), RL_ENOENT
 * (/dev/net/tun missing), RL_EINVAL (name too long) or RL_ESYS (errno kept). */
int tap_open(const char *name, char out_name[TAP_IFNAME_MAX], int *fd);

struct tap_if_config {
  uint8_t mac[TAP_MAC_LEN];
  uint16_t mtu;
  uint32_t ipv4;      /* host byte order; 0 = leave the address alone */
  uint8_t prefix;     /* 1..32 */
  bool up;
};

/* Sets MAC, MTU, IPv4 address/netmask and the UP flag of interface name via
 * ioctl on an AF_INET datagram socket, in that order (Linux lets a TAP
 * change its MAC while up, so the order only matters for the UP flag, which
 * comes last so the interface never runs with the random kernel MAC). Returns 0,
 * RL_EREFUSED (EPERM), RL_EINVAL (bad prefix or name) or RL_ESYS (errno kept;
 * *step names the failing step when step is not NULL). */
int tap_configure(const char *name, const struct tap_if_config *cfg, const char **step);

/* Makes interface name (in the caller's network namespace) ignore what
 * another member could use to redirect its traffic, through /proc/sys/net:
 *   ipv6/conf/NAME/accept_ra = 0         no router advertisements
 *   ipv6/conf/NAME/accept_redirects = 0  no ICMPv6 redirects
 *   ipv6/conf/NAME/addr_gen_mode = 0     link-local from the MAC (EUI-64): the
 *                                        address the other members accept
 *   ipv4/conf/NAME/accept_redirects = 0  no ICMP redirects
 * Call before the interface goes up (the link-local address is made then).
 * IPv6 settings are skipped when the kernel has no IPv6 (no ipv6/conf).
 * Returns 0, RL_EREFUSED (EPERM/EACCES, e.g. a read-only /proc/sys) or
 * RL_ESYS (errno kept); *step names the file that failed. */
int tap_harden(const char *name, const char **step);

#endif
