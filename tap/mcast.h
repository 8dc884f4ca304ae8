/* Multicast membership of the local host on its TAP segment (sans-I/O).
 *
 * Three parts, none of them wired into the node yet:
 *   - tap_mcast_parse(): the membership changes in an IGMP (RFC 2236, 3376)
 *     or MLD (RFC 2710, 3810) report the local host wrote to its TAP;
 *   - struct tap_mcast_table: the host's groups with the RFC timers, the
 *     changes ("joined G", "left G") the node turns into subring joins and
 *     leaves, and the querier schedule;
 *   - tap_mcast_query_build(): the IGMPv3 / MLDv2 query frames the querier
 *     writes into the TAP.
 *
 * Why ringlan is the querier on its TAP segment: the segment is a point-to-
 * point link between the host's kernel and the node. No multicast router
 * lives on it (the other members are beyond the overlay, and their queries
 * are never forwarded), and IGMPv3 / MLDv2 hosts send no periodic
 * unsolicited reports: without someone asking, a host reports a group only
 * when it joins (and leaves it only when it says so, which a crashed
 * program or a lost frame prevents). A membership that is never refreshed
 * must either live forever or be dropped while the host still wants it.
 * With the node as the querier the host re-reports every group every 125 s
 * and a silent group times out after 260 s, as on a switched LAN with a
 * router. The node is the only one who can query: it is the only other
 * station on the segment.
 *
 * Groups are keyed by (VLAN tag stack, family, address): a host with a VLAN
 * interface on the TAP joins in that VLAN, and the querier asks there too. */
#ifndef RL_TAP_MCAST_H
#define RL_TAP_MCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tap/tap.h"

#define TAP_IPPROTO_IGMP 2
#define TAP_IGMP_QUERY 0x11
#define TAP_IGMP_V1_REPORT 0x12
#define TAP_IGMP_V2_REPORT 0x16
#define TAP_IGMP_V2_LEAVE 0x17
#define TAP_IGMP_V3_REPORT 0x22
#define TAP_ICMP6_MLD_QUERY 130
#define TAP_ICMP6_MLD_DONE 132
/* TAP_ICMP6_MLD_REPORT (131) and TAP_ICMP6_MLD2_REPORT (143): tap/tap.h */

/* IGMPv3 / MLDv2 group record types (RFC 3376 4.2.12, RFC 3810 5.2.12). */
#define TAP_MCAST_IS_IN 1
#define TAP_MCAST_IS_EX 2
#define TAP_MCAST_TO_IN 3
#define TAP_MCAST_TO_EX 4
#define TAP_MCAST_ALLOW 5
#define TAP_MCAST_BLOCK 6

/* Timers (RFC 3376 8, RFC 3810 9; both use the same defaults), nanoseconds. */
#define TAP_MCAST_NS_PER_S 1000000000ull
#define TAP_MCAST_ROBUSTNESS 2
#define TAP_MCAST_QI_S 125                   /* query interval */
#define TAP_MCAST_QRI_MS 10000               /* query response interval */
#define TAP_MCAST_LMQI_MS 1000               /* last member query interval */
#define TAP_MCAST_QI (TAP_MCAST_QI_S * TAP_MCAST_NS_PER_S)
/* Group Membership Interval: robustness x QI + QRI = 260 s. */
#define TAP_MCAST_GMI (TAP_MCAST_ROBUSTNESS * TAP_MCAST_QI + TAP_MCAST_QRI_MS * 1000000ull)
#define TAP_MCAST_SQI (TAP_MCAST_QI / 4)     /* startup query interval, 31.25 s */
#define TAP_MCAST_SQC TAP_MCAST_ROBUSTNESS   /* startup query count */
#define TAP_MCAST_LMQC TAP_MCAST_ROBUSTNESS  /* last member query count */
#define TAP_MCAST_LMQT (TAP_MCAST_LMQC * TAP_MCAST_LMQI_MS * 1000000ull) /* 2 s */

#define TAP_MCAST_GROUPS_MAX 256

enum tap_mcast_op {
  TAP_MCAST_JOIN = 1,   /* record: the host wants the group; event: joined */
  TAP_MCAST_LEAVE,      /* record: the host left it; event: left */
  TAP_MCAST_CHECK,      /* record only: the host blocked sources (IGMPv3 /
                         * MLDv2 BLOCK_OLD_SOURCES) and may have left: ask it */
};

/* One membership change (from tap_mcast_parse) or one event (from the
 * table). family 4: addr[0..3] is the IPv4 group in network order, the rest
 * zero; family 6: the IPv6 group. vlan: the frame's tags with the TCI cut to
 * the VLAN ID (priority and DEI bits vary per frame, the VLAN does not);
 * unused tags are zero. */
struct tap_mcast_rec {
  uint8_t op;                   /* enum tap_mcast_op */
  uint8_t family;               /* 4 or 6 */
  uint8_t n_vlan;
  struct tap_vlan vlan[TAP_MAX_VLAN];
  uint8_t addr[TAP_IPV6_LEN];
};

/* The membership records of a frame the LOCAL host wrote to its TAP
 * (untrusted bytes; up to two VLAN tags, tap_frame_classify()):
 *
 *   IGMPv1 report (0x12), IGMPv2 report (0x16)      join
 *   IGMPv2 leave (0x17)                             leave
 *   IGMPv3 report (0x22), each group record:
 *     IS_EX, TO_EX (any source, or all but some)    join
 *     IS_IN, TO_IN with sources (source-specific)   join of the whole group:
 *                                                   the host's kernel filters
 *                                                   sources, the overlay does not
 *     IS_IN, TO_IN without sources                  leave
 *     ALLOW with sources                            join
 *     BLOCK with sources                            check (the host may have
 *                                                   blocked its last source)
 *     ALLOW / BLOCK without sources, other types    skipped (RFC 3376 4.2.12)
 *   MLDv1 report (131) / done (132)                 join / leave
 *   MLDv2 report (143): as IGMPv3
 *
 * Checked: IPv4 header (version, length, header checksum, not a fragment),
 * IGMP checksum over the whole IGMP message; IPv6 payload length, the
 * extension chain (hop-by-hop and destination options only, as MLD uses:
 * the Router Alert option sits in hop-by-hop), ICMPv6 checksum with the
 * pseudo-header, MLD source link-local or unspecified (RFC 3810 5.2.13);
 * every length field against the bytes that are there; every group a
 * multicast address. Bytes after the last record (or after the 8 bytes of
 * an IGMPv1/v2 message) are ignored, as RFC 2236 2.5 asks. Groups of
 * link-local scope are skipped, they go to the whole LAN anyway: IPv4
 * 224.0.0.0/24, IPv6 scopes 0, 1 and 2 (ff00::/16, ff01::/16, ff02::/16
 * and the same scopes with flag bits: ff12::, ff32::).
 *
 * Returns the number of records the message holds (>= 0) and writes the
 * first min(that, cap) into recs: a return above cap means some did not fit
 * (call again with a larger array; nothing is lost silently). 0 for a frame
 * that is no membership report (other protocols, IGMP queries, ICMPv6
 * other than 131/132/143, ICMPv6 behind a routing, fragment or AH header,
 * which MLD never uses). Errors, nothing written: RL_ETRUNC (frame, IP
 * header, extension header or message shorter than it must be or than its
 * length fields say), RL_EPARSE (bad checksum, group not multicast, IPv4
 * header length below 20 or above the total length, IPv4 fragment, MLD
 * from a source neither link-local nor unspecified, hop-by-hop header not
 * first, more than TAP_IPV6_EXT_MAX option headers). */
int tap_mcast_parse(const uint8_t *frame, size_t len, struct tap_mcast_rec *recs, size_t cap);

/* True for IGMP (any type) and MLD (ICMPv6 130, 131, 132, 143) packets:
 * the membership protocol of one TAP segment, which the node consumes and
 * should neither forward to other members nor deliver from them. Forwarded,
 * an IGMPv1/v2 or MLDv1 report (sent to the group address itself) would
 * make the other members' hosts in that group suppress their own reports
 * (RFC 2236 3, RFC 2710 4), so their nodes' memberships would time out; a
 * member's IGMPv1/v2 or MLDv1 query would put the others' hosts into that
 * compatibility mode (RFC 3376 7.2.1). fi from tap_frame_classify(). */
bool tap_mcast_control(const struct tap_frame_info *fi);

/* True for groups that go to the whole LAN and have no membership. */
bool tap_mcast_link_scope(uint8_t family, const uint8_t addr[TAP_IPV6_LEN]);

/* --- query frames --- */

/* A query to send: general (group all zero) or group-specific. */
struct tap_mcast_query {
  uint8_t family;               /* 4: IGMPv3, 6: MLDv2 */
  uint8_t n_vlan;
  struct tap_vlan vlan[TAP_MAX_VLAN];
  uint8_t group[TAP_IPV6_LEN];  /* zero: general query */
  uint32_t max_resp_ms;         /* 10000 general, 1000 group-specific */
};

/* Builds the IGMPv3 (RFC 3376 4.1) or MLDv2 (RFC 3810 5.1) query frame:
 *
 *   IGMPv3: Ethernet to 01:00:5e:00:00:01 (general, IP dst 224.0.0.1) or
 *           to the group's MAC (group-specific, IP dst = group); IPv4 with
 *           TOS 0xc0, TTL 1, the Router Alert option (IHL 6), source
 *           src_ipv4; 12-byte query: max resp code, group, QRV 2, QQIC 125,
 *           no sources.
 *   MLDv2:  Ethernet to 33:33:00:00:00:01 (general, dst ff02::1) or the
 *           group's 33:33:xx:xx:xx:xx; IPv6 hop limit 1, source src_ipv6
 *           (must be link-local, RFC 3810 5.1.14), hop-by-hop header with
 *           Router Alert (MLD) and PadN; 28-byte query, QRV 2, QQIC 125.
 *
 * Ethernet source mac; the query's VLAN tags. Checksums filled in.
 * src_ipv4: 0.0.0.0 is what the node should use: its own virtual IPv4 is
 * the host's address on this very interface, and Linux drops an incoming
 * packet whose source is one of its own addresses (martian source) but
 * accepts IGMP from 0.0.0.0 (snooping switches query from it when they have
 * no address of their own; tests/test_tap_mcast_linux.c shows both).
 * src_ipv6 (read for family 6 only): tap_ipv6_link_local(mac).
 * Returns the frame length, RL_EINVAL (family, n_vlan), RL_ETOOBIG (cap). */
int tap_mcast_query_build(const struct tap_mcast_query *q, const uint8_t mac[TAP_MAC_LEN],
                          uint32_t src_ipv4, const uint8_t src_ipv6[TAP_IPV6_LEN],
                          uint8_t *out, size_t cap);

/* --- membership table and querier (tap/mcast_table.c) --- */

struct tap_mcast_group {
  bool used;
  bool member;                  /* the host wants it (now) */
  bool announced;               /* the node was told "joined" */
  bool gq_pending;              /* a general query is to go to its VLAN */
  uint8_t gsq_left;             /* group-specific queries still to send */
  struct tap_mcast_rec key;     /* op unused */
  uint64_t expires;             /* membership timer (valid when member) */
  uint64_t gsq_at;              /* next group-specific query */
};

struct tap_mcast_stats {
  uint64_t joins;               /* "joined" events handed out */
  uint64_t leaves;              /* "left" events handed out */
  uint64_t timeouts;            /* memberships that expired unrefreshed */
  uint64_t refused_full;        /* joins refused: table full */
  uint64_t queries;             /* queries handed out */
};

struct tap_mcast_table {
  struct tap_mcast_group g[TAP_MCAST_GROUPS_MAX];
  uint64_t next_gq[2];          /* next general query, [0] IPv4, [1] IPv6 */
  unsigned startup_left[2];     /* startup queries still to send after the next */
  bool gq_untagged[2];          /* the untagged general query is pending */
  bool family_on[2];
  struct tap_mcast_stats stats;
};

/* Starts empty, querier on for IPv4 (v4) and/or IPv6 (v6): the first
 * general query is due at now, then TAP_MCAST_SQC - 1 more every
 * TAP_MCAST_SQI (startup, RFC 3376 8.6/8.7), then every TAP_MCAST_QI. */
void tap_mcast_table_init(struct tap_mcast_table *t, bool v4, bool v6, uint64_t now);

/* Applies parsed records (tap_mcast_parse) at time now:
 *   join   the group is (still) wanted: timer = now + GMI (260 s), no
 *          group-specific queries pending; a new group takes a free slot,
 *          or is refused (stats.refused_full) when all 256 are taken;
 *   leave  the group is left now (the TAP segment has one host, the one
 *          that says so: no last-member queries needed);
 *   check  a wanted group gets TAP_MCAST_LMQC group-specific queries, one
 *          per LMQI from now, and its timer is cut to now + LMQT (2 s): if
 *          the host still wants it, it answers and the join refreshes it.
 * Records of a family whose querier is off are applied all the same. */
void tap_mcast_table_apply(struct tap_mcast_table *t, const struct tap_mcast_rec *recs,
                           size_t n, uint64_t now);

/* The next membership change for the node, after expiring timers at now:
 * op TAP_MCAST_JOIN = "joined G", TAP_MCAST_LEAVE = "left G" (explicit, or
 * expired: stats.timeouts). Level-triggered: the node is told the state,
 * not every transition (join + leave between two calls: nothing; leave +
 * join: nothing). A left group keeps its slot until its event is taken.
 * Returns false when there is nothing to tell. */
bool tap_mcast_table_event(struct tap_mcast_table *t, uint64_t now, struct tap_mcast_rec *ev);

/* The next query due at now (general queries: untagged, then one per VLAN
 * tag stack that has groups of the family; group-specific ones for groups
 * being checked). Build it with tap_mcast_query_build(). Returns false when
 * nothing is due. */
bool tap_mcast_table_query(struct tap_mcast_table *t, uint64_t now, struct tap_mcast_query *q);

/* When to call tap_mcast_table_event() / _query() next: the earliest timer
 * (UINT64_MAX when none). Pending work (an event or a query due) gives now-
 * or-earlier times. */
uint64_t tap_mcast_table_deadline(const struct tap_mcast_table *t);

/* True when the host wants the group a multicast frame is sent to (fi
 * from tap_frame_classify(): an IPv4 or IPv6 packet to a multicast
 * address, matched with the frame's VLAN tags cut to their VLAN IDs) at
 * now, its membership timer not run out. */
bool tap_mcast_table_wants(const struct tap_mcast_table *t, const struct tap_frame_info *fi,
                           uint64_t now);

/* The group a classified frame is sent to, as a membership key (op 0):
 * true for IPv4 packets to 224.0.0.0/4 and IPv6 packets to ff00::/8. */
bool tap_mcast_frame_group(const struct tap_frame_info *fi, struct tap_mcast_rec *k);

/* Groups in use (wanted, or left and not yet told). */
size_t tap_mcast_table_count(const struct tap_mcast_table *t);

#endif
