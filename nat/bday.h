/* Birthday probing: a direct path between a member behind an
 * endpoint-dependent ("symmetric", hard) NAT and one behind an
 * endpoint-independent-mapping NAT with restrictive filtering (restricted or
 * port-restricted cone, easy). Sans-I/O decisions only: who plays which
 * side, when, how fast, how much; the node core (node/core/node_bday.c)
 * sends and the driver owns the sockets. docs/nat.md has the figures.
 *
 *   hard side H                                  easy side E (reflexive Re)
 *   opens NAT_BDAY_SOCKS extra sockets; from
 *   each, one punch to Re with a low IP TTL:
 *   H's NAT makes one mapping per socket, each
 *   admitting Re; the punch dies before E's
 *   router (no unsolicited packet there)
 *   BDAY_REQ(token, Re, H's IP) over the overlay ----------------->
 *   (repeated each second until acknowledged)   <----------- BDAY_ACK(token)
 *                                               probes from E's usual socket
 *                                               to H_ip:random ports; each
 *                                               opens E's filter for it
 *   a probe lands on mapping k (~1 in 252 per
 *   probe with 256 mappings over 64512 ports):
 *   handshake from socket k to Re ---------------------------------> passes:
 *                                               E probed H_ip:port(k)
 *   link up on (socket k, Re); E stops probing, H releases the other
 *   sockets; the link keeps socket k for its lifetime.
 *
 * P(hit within n probes) = 1 - (1 - 256/64512)^n: 50 % at 175, 77 % at 370,
 * 99.97 % at the cap of 2048 (5.1 s at 400 probes/s). */
#ifndef RL_NAT_BDAY_H
#define RL_NAT_BDAY_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "nat/reflex.h"

#define NAT_BDAY_SOCKS 256            /* hard side: extra sockets (NAT mappings) */
#define NAT_BDAY_STEP_NS (10ULL * 1000000ULL) /* pacing step, both sides */
#define NAT_BDAY_PUNCH_BURST 32       /* hard side: punches per step (3,200/s) */
#define NAT_BDAY_PROBE_BURST 4        /* easy side: probes per step (400/s) */
#define NAT_BDAY_PROBES_MAX 2048      /* easy side: cap per attempt */
#define NAT_BDAY_EASY_MAX_NS (8ULL * 1000000000ULL) /* easy side gives up */
/* Hard side: from the request to the release of the sockets (probing
 * takes at most 5.1 s, plus a handshake with one retransmission). */
#define NAT_BDAY_HARD_MAX_NS (10ULL * 1000000000ULL)
#define NAT_BDAY_OPEN_MAX_NS (2ULL * 1000000000ULL) /* driver answers socket opens */
/* The request travels the overlay, which may lose it: repeated every
 * second until the easy side says it probes (NAT_BDAY_MSG_ACK), at most
 * NAT_BDAY_REQ_TRIES times; no answer a second after the last: give up. */
#define NAT_BDAY_REQ_EVERY_NS (1ULL * 1000000000ULL)
#define NAT_BDAY_REQ_TRIES 3
/* Plain punching gets this long first: a full cone or a mapped port makes
 * the sockets unnecessary. */
#define NAT_BDAY_WAIT_NS (2ULL * 1000000000ULL)
#define NAT_BDAY_RETRY_NS (120ULL * 1000000000ULL) /* per peer, after an attempt */
/* ... after one whose request went unanswered (lost on the overlay, which
 * may still be forming): the probes never ran, so soon again. */
#define NAT_BDAY_RETRY_UNANSWERED_NS (15ULL * 1000000000ULL)
/* ... after the peer declined (its mapping is not endpoint independent:
 * a symmetric NAT publishes a reflexive candidate too, for its IP). */
#define NAT_BDAY_RETRY_DECLINED_NS (600ULL * 1000000000ULL)
#define NAT_BDAY_PORT_MIN 1024        /* what NATs hand out (Linux: 1024..65535) */
#define NAT_BDAY_TTL 2                /* punches leave our NAT, die before theirs */
#define NAT_BDAY_HIST 16              /* peers remembered for NAT_BDAY_RETRY_NS */
#define NAT_BDAY_TOKEN_LEN 8

enum nat_bday_role { NAT_BDAY_NONE = 0, NAT_BDAY_HARD, NAT_BDAY_EASY };

/* The side we play toward a peer. self: our mapping class; peer_reflexive:
 * the peer publishes a reflexive candidate (its NAT maps independently of
 * the endpoint, or it has no NAT). Only the hard side starts an attempt;
 * the easy side takes part when asked (nat_bday_easy_ok). */
enum nat_bday_role nat_bday_role(enum nat_class self, bool peer_reflexive);
/* The easy side takes part only when its own mapping is endpoint
 * independent and the hard side punched our reflexive address. */
bool nat_bday_easy_ok(enum nat_class self, bool reflexive_matches);

/* One attempt, either side. */
struct nat_bday {
  enum nat_bday_role role;
  uint64_t started_ns;
  uint64_t next_ns;      /* next pacing step (UINT64_MAX: none) */
  uint64_t deadline_ns;
  unsigned socks;        /* hard: sockets that opened */
  unsigned punched;      /* hard: punches sent (sockets 0..punched-1 of the attempt) */
  unsigned probes;       /* easy: probes sent */
  bool opening;          /* hard: waiting for the driver's answers */
  bool acked;            /* hard: the easy side said it probes */
  unsigned requests;     /* hard: requests sent */
  uint64_t req_next_ns;  /* hard: next request (0: punches first) */
};

/* Hard side: sockets asked for at now; nat_bday_hard_opened when the driver
 * answered (socks = how many opened). */
void nat_bday_hard_start(struct nat_bday *b, uint64_t now);
void nat_bday_hard_opened(struct nat_bday *b, unsigned socks, uint64_t now);
/* Hard side, at a step: how many punches to send now, from the attempt's
 * sockets [*first, *first + n). *request: send the request to the easy
 * side now (with the last punch, then repeated until acknowledged). */
unsigned nat_bday_hard_step(struct nat_bday *b, uint64_t now, unsigned *first, bool *request);
/* The easy side acknowledged: its probes run from now on. */
void nat_bday_hard_acked(struct nat_bday *b, uint64_t now);

void nat_bday_easy_start(struct nat_bday *b, uint64_t now);
/* Easy side, at a step: how many probes to send now (0 once the cap is
 * reached or the deadline passed). */
unsigned nat_bday_easy_step(struct nat_bday *b, uint64_t now);

/* A probe destination port from a uniform 32-bit random value. */
uint16_t nat_bday_port(uint32_t rnd);
uint64_t nat_bday_next_timer(const struct nat_bday *b);
/* The attempt is over (deadline, cap, or the driver opened nothing). */
bool nat_bday_over(const struct nat_bday *b, uint64_t now);

/* The messages between the two sides (routed PUNCH app, types 3..5;
 * docs/protocol.md):
 *   type (1) | token (8) [| target addr | hard side's IP addr]   (REQ only)
 *   addr = family (1: 4 or 6) | port (2, big-endian) | ip (4 or 16) */
enum { NAT_BDAY_MSG_REQ = 3, NAT_BDAY_MSG_NAK = 4, NAT_BDAY_MSG_ACK = 5 };
#define NAT_BDAY_MSG_MAX (1 + NAT_BDAY_TOKEN_LEN + 2 * 19)
struct nat_bday_msg {
  uint8_t type;
  uint8_t token[NAT_BDAY_TOKEN_LEN];
  struct rl_addr target;     /* REQ: the easy side's reflexive address */
  struct rl_addr hard_ip;    /* REQ: the hard side's public IP (port 0) */
};
/* Returns the length written, or RL_ETOOBIG / RL_EINVAL (type or family). */
int nat_bday_msg_encode(const struct nat_bday_msg *m, uint8_t *out, size_t cap);
/* Returns 0, or RL_ETRUNC on malformed input (length, type, family). */
int nat_bday_msg_decode(struct nat_bday_msg *m, const uint8_t *in, size_t len);

/* Peers we tried recently (one attempt per peer per NAT_BDAY_RETRY_NS). */
struct nat_bday_hist {
  struct {
    uint8_t id[RL_ID_LEN];
    uint64_t until_ns;   /* no new attempt before; 0: free */
  } e[NAT_BDAY_HIST];
};
bool nat_bday_may_try(const struct nat_bday_hist *h, const uint8_t id[RL_ID_LEN],
                      uint64_t now);
/* An attempt toward id starts now: the next one in NAT_BDAY_RETRY_NS. */
void nat_bday_tried(struct nat_bday_hist *h, const uint8_t id[RL_ID_LEN], uint64_t now);
/* The attempt ended without an answer: the next one may start after_ns
 * from now instead. */
void nat_bday_retry_after(struct nat_bday_hist *h, const uint8_t id[RL_ID_LEN], uint64_t now,
                          uint64_t after_ns);

#endif
