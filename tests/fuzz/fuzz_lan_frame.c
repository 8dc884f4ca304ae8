/* libFuzzer target: the virtual LAN's source policy on arbitrary frames:
 * tap_frame_classify (IPv6 extension headers, UDP, ICMP/ICMPv6, neighbour
 * discovery options) and lan_frame_check, with and without VLAN tags
 * accepted. Checks that what the policy lets through claims only the
 * member's own addresses. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "node/core/node_internal.h"
#include "tap/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct tap_frame_info fi;
  static const uint8_t mac[6] = {0x02, 1, 2, 3, 4, 5};
  static const uint8_t any[16];
  const uint32_t vip = 0x64400001;
  uint8_t ll[16];
  /* The frame's own source MAC as the member's (so the policy looks past
   * the MAC check) and the fixed one (so it must refuse). */
  if (tap_frame_classify(data, size, &fi) != 0)
    return 0;
  if (fi.l3_off > size)
    __builtin_trap();
  for (int vlan = 0; vlan < 2; vlan++) {
    enum lan_verdict v = lan_frame_check(&fi, fi.src, vip, vlan);
    if (memcmp(fi.src, mac, 6) != 0 && lan_frame_check(&fi, mac, vip, vlan) == LAN_OK)
      __builtin_trap();
    if (v != LAN_OK)
      continue;
    if (fi.n_vlan && !vlan)
      __builtin_trap();
    tap_ipv6_link_local(fi.src, ll);
    if (fi.ethertype == TAP_ETHERTYPE_IPV6 &&
        (!fi.ipv6 || (memcmp(fi.ipv6_src, ll, 16) && memcmp(fi.ipv6_src, any, 16)) ||
         (fi.icmp && (fi.icmp_type == TAP_ICMP6_RA || fi.icmp_type == TAP_ICMP6_REDIRECT)) ||
         (fi.nd_has_tll && memcmp(fi.nd_tll, fi.src, 6))))
      __builtin_trap();
    if (fi.ethertype == TAP_ETHERTYPE_IPV4 &&
        (!fi.ipv4 || (fi.ipv4_src && fi.ipv4_src != vip) || (fi.udp && fi.udp_sport == 67)))
      __builtin_trap();
    if (fi.ethertype == TAP_ETHERTYPE_ARP &&
        (!fi.arp || (fi.arp_spa && fi.arp_spa != vip) || memcmp(fi.arp_sha, fi.src, 6)))
      __builtin_trap();
  }
  return 0;
}
