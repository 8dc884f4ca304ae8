/* libFuzzer target: tap_mcast_parse on arbitrary frames, its records
 * through the membership table, and the querier's frames built from them.
 *
 * Checks besides memory safety: the return value does not depend on the
 * room given; a frame with records is a control frame (tap_mcast_control);
 * every record is a multicast group of a known family, never of
 * link-local scope, with at most two VLAN tags; the table never holds more
 * than TAP_MCAST_GROUPS_MAX groups and hands out only events of groups it
 * was given; every query frame classifies as IGMP / ICMPv6 130 and parses
 * as no membership report. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tap/mcast.h"

#define CAP 64

static void check_rec(const struct tap_mcast_rec *r) {
  static const uint8_t zero[12];
  if (r->family != 4 && r->family != 6)
    __builtin_trap();
  if (r->op < TAP_MCAST_JOIN || r->op > TAP_MCAST_CHECK || r->n_vlan > TAP_MAX_VLAN)
    __builtin_trap();
  if (r->family == 4 && ((r->addr[0] & 0xf0) != 0xe0 || memcmp(r->addr + 4, zero, 12)))
    __builtin_trap();
  if (r->family == 6 && r->addr[0] != 0xff)
    __builtin_trap();
  if (tap_mcast_link_scope(r->family, r->addr))
    __builtin_trap();
}

static void check_query(const struct tap_mcast_query *q) {
  static const uint8_t mac[6] = {0x02, 1, 2, 3, 4, 5};
  static const uint8_t ll[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0xff, 0xfe, 3, 4, 5};
  uint8_t f[128];
  struct tap_frame_info fi;
  struct tap_mcast_rec r[1];
  int n = tap_mcast_query_build(q, mac, 0, ll, f, sizeof(f));
  if (n < 0 || tap_frame_classify(f, (size_t)n, &fi) != 0)
    __builtin_trap();
  if (q->family == 4 && (!fi.ipv4 || fi.ip_proto != 2))
    __builtin_trap();
  if (q->family == 6 && (!fi.ipv6 || !fi.icmp || fi.icmp_type != 130))
    __builtin_trap();
  if (tap_mcast_parse(f, (size_t)n, r, 1) != 0)
    __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct tap_mcast_table t;
  struct tap_mcast_rec recs[CAP], few[2], ev;
  struct tap_mcast_query q;
  int n = tap_mcast_parse(data, size, recs, CAP);
  int m = tap_mcast_parse(data, size, few, 2);
  if (n != m)
    __builtin_trap();
  if (n < 0)
    return 0;
  if (n > 0) {                          /* a report is a control frame */
    struct tap_frame_info fi;
    if (tap_frame_classify(data, size, &fi) != 0 || !tap_mcast_control(&fi))
      __builtin_trap();
  }
  size_t k = (size_t)n < CAP ? (size_t)n : CAP;
  for (size_t i = 0; i < k; i++) {
    check_rec(&recs[i]);
    if (i < 2 && memcmp(&few[i], &recs[i], sizeof(recs[i])) != 0)
      __builtin_trap();
  }
  /* The table, its events and queries; time from the first byte. */
  uint64_t now = 1000 * TAP_MCAST_NS_PER_S;
  tap_mcast_table_init(&t, true, true, now);
  tap_mcast_table_apply(&t, recs, k, now);
  if (tap_mcast_table_count(&t) > TAP_MCAST_GROUPS_MAX)
    __builtin_trap();
  for (unsigned step = 0; step < 4; step++) {
    size_t events = 0;
    while (tap_mcast_table_event(&t, now, &ev)) {
      if (++events > TAP_MCAST_GROUPS_MAX || (ev.op != TAP_MCAST_JOIN && ev.op != TAP_MCAST_LEAVE))
        __builtin_trap();
      bool known = false;
      for (size_t i = 0; i < k && !known; i++)
        known = recs[i].family == ev.family && !memcmp(recs[i].addr, ev.addr, 16) &&
                recs[i].n_vlan == ev.n_vlan;
      if (!known)
        __builtin_trap();
    }
    size_t queries = 0;
    while (tap_mcast_table_query(&t, now, &q)) {
      if (++queries > 4 + 2 * TAP_MCAST_GROUPS_MAX)
        __builtin_trap();
      check_query(&q);
    }
    uint64_t d = tap_mcast_table_deadline(&t);
    if (d <= now)
      __builtin_trap();
    now += (size_t)step < size ? (uint64_t)data[step] * 3 * TAP_MCAST_NS_PER_S
                               : TAP_MCAST_GMI;
  }
  return 0;
}
