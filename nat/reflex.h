/* Reflexive addresses and NAT classification (RFC 4787 mapping behaviour).
 *
 * Every linked peer tells us the source address it sees on our packets
 * (link control message OBSERVED, docs/protocol.md). With reports from two
 * or more peers at different public IP addresses:
 *   - a report equal to our bound address  -> no NAT (public)
 *   - all reports name the same ip:port     -> endpoint-independent mapping
 *                                              ("cone": punchable, the
 *                                              reflexive address is a good
 *                                              candidate to publish)
 *   - the port differs per peer              -> address(-and-port)-dependent
 *                                              mapping ("symmetric": needs
 *                                              a relay against another
 *                                              symmetric NAT)
 * Filtering behaviour cannot be seen from reports alone; it shows in which
 * punches succeed. No STUN server is needed: peers are the reflectors. */
#ifndef RL_NAT_REFLEX_H
#define RL_NAT_REFLEX_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto/identity.h"

#define NAT_OBS_MAX 16                    /* reports kept (most recent) */
#define NAT_OBS_TTL_NS (600ULL * 1000000000ULL) /* a report older than this is forgotten */

enum nat_class {
  NAT_CLASS_UNKNOWN = 0, /* fewer than two usable reports */
  NAT_CLASS_NONE,        /* public address */
  NAT_CLASS_EIM,         /* endpoint-independent mapping (cone) */
  NAT_CLASS_SYMMETRIC    /* endpoint-dependent mapping */
};

struct nat_report {
  uint8_t reporter[RL_ID_LEN];
  struct rl_addr reporter_ep; /* where the reporter is, as we see it */
  struct rl_addr seen;        /* our address, as the reporter sees it */
  uint64_t at_ns;
};

struct nat_obs {
  unsigned n;
  struct nat_report r[NAT_OBS_MAX];
};

void nat_obs_init(struct nat_obs *o);
/* Records (or refreshes) the report of one peer. Returns true when the
 * report changed what we knew from that peer. */
bool nat_obs_add(struct nat_obs *o, const uint8_t reporter[RL_ID_LEN],
                 const struct rl_addr *reporter_ep, const struct rl_addr *seen,
                 uint64_t now);
/* Classifies from the live reports; local[0..n_local) = our own addresses
 * with the port we listen on (the bound address, or every interface address
 * when bound to a wildcard). A report naming one of them comes from a peer
 * that reaches us untranslated (a public host, or a peer on our own LAN):
 * NONE when every live report does, else the other reports decide.
 * Reports come from linked members, any of which may lie (issue 10,
 * finding 7); nothing rests on one reporter's word. Reporters behind one
 * IP address count once ("independent" = distinct reporter IPs).
 *   EIM:       two independent reporters see the same ip:port, and at most
 *              one other independent reporter at that IP disagrees;
 *   SYMMETRIC: two independent reporters see our IP with different ports
 *              and no port is confirmed twice, or two or more disagree with
 *              the confirmed one;
 *   UNKNOWN:   anything less (one reporter, reporters at one address, or
 *              reporters that do not agree even on our IP).
 * *reflexive gets the confirmed address for NONE/EIM, for SYMMETRIC the
 * latest report at the confirmed IP (its IP is right, its port was one
 * peer's), and family RL_AF_NONE for UNKNOWN (nothing to publish). */
enum nat_class nat_classify(const struct nat_obs *o, const struct rl_addr *local,
                            unsigned n_local, uint64_t now, struct rl_addr *reflexive);
const char *nat_class_name(enum nat_class c);

#endif
