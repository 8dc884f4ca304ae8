/* libFuzzer target: tap_frame_classify + tap_arp_reply on arbitrary frames. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tap/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct tap_frame_info info;
  uint8_t out[64];
  static const uint8_t mac[6] = {0x02, 1, 2, 3, 4, 5};
  if (tap_frame_classify(data, size, &info) != 0)
    return 0;
  /* Parsed offsets must stay inside the frame. */
  if (info.l3_off > size)
    __builtin_trap();
  if (info.arp && info.arp_op == TAP_ARP_REQUEST) {
    struct tap_frame_info rep;
    int n = tap_arp_reply(&info, mac, out, sizeof(out));
    if (n < 0 || tap_frame_classify(out, (size_t)n, &rep) != 0 || !rep.arp ||
        rep.arp_op != TAP_ARP_REPLY || rep.arp_spa != info.arp_tpa ||
        memcmp(rep.arp_tha, info.arp_sha, 6) != 0)
      __builtin_trap();
  }
  return 0;
}
