/* A session: the secure channel to one peer.
 *
 * Drives the handshake as initiator (retransmission with backoff), installs
 * keys from either side's handshake, keeps up to three keys by key_id
 * (current, previous = lame duck for receive during a switch, and the one
 * being negotiated), rekeys on a timer and before the packet-id limit
 * (key_id 0 first, then cycling 1..7 as OpenVPN does), sends keepalives
 * (OpenVPN ping payload) when idle, and declares the peer dead when nothing
 * authenticated arrived for timeout_ns. Sans-I/O: packets to send are
 * polled, the destination is always s->endpoint.
 *
 * The caller (node core) owns the index space: it gives each session a
 * unique 24-bit local_index and routes received packets whose bytes 1..3
 * equal it to sess_recv().
 *
 * Memory: a session owns heap memory, allocated only at handshake time,
 * never per data packet: each installed key (struct sess_key with its
 * dc_tx/dc_rx state) and each queued handshake packet (freed when polled).
 * sess_init allocates nothing; sess_wipe frees everything. sess_init must
 * be given fresh or wiped memory (it does not free an earlier session), and
 * a struct sess may be moved but never duplicated. An idle established
 * session with one ChaCha20-Poly1305 key costs about sizeof(struct sess) +
 * 0.9 KB, with AES-256-GCM about 1 KB more (test_sess_memory prints it). */
#ifndef RL_CRYPTO_SESS_H
#define RL_CRYPTO_SESS_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/dc.h"
#include "crypto/hs.h"

#define SESS_NKEYS 3
#define SESS_OUTQ 4            /* queued handshake/keepalive packets */
/* Queued packets up to this size (a keepalive) are kept inline, larger ones
 * (handshake messages) in a heap buffer of their exact length. */
#define SESS_OUTQ_INLINE (sizeof(DC_KEEPALIVE) + DC_OVERHEAD_MAX)

struct sess_params {
  uint64_t rekey_ns;           /* default 3600 s */
  uint64_t keepalive_ns;       /* send a keepalive after this much tx silence, 10 s */
  uint64_t timeout_ns;         /* dead after this much rx silence, 40 s */
  uint64_t hs_retry_ns;        /* first retransmit after 1 s, doubling */
  unsigned hs_max_tries;       /* give up (state DEAD) after this many, 8 */
  uint64_t lame_duck_ns;       /* old key kept for receive, 60 s */
};
void sess_params_default(struct sess_params *p);

enum sess_state {
  SESS_IDLE = 0,      /* no keys, no handshake under way */
  SESS_HANDSHAKE,     /* initiating, no usable key yet */
  SESS_ESTABLISHED,   /* a current key exists (a rekey may be under way) */
  SESS_DEAD           /* gave up or timed out; the caller removes it */
};

/* Heap-allocated on install, freed when wiped (sess->keys[] holds NULL for
 * a free slot). */
struct sess_key {
  bool used;                   /* always true for an allocated key */
  uint8_t key_id;
  struct dc_tx tx;
  struct dc_rx rx;
  uint32_t remote_index;
  uint64_t created_ns;
  uint64_t retire_at_ns;       /* lame duck expiry; 0 = current */
  /* private */
  bool initiated;              /* we were the initiator of this key */
};

struct sess {
  /* read-only for callers */
  enum sess_state state;
  uint32_t local_index;
  /* sess_next_timer(), cached: refreshed by every sess_* call that can
   * move a timer (first in the struct: one cache line per link scan) */
  uint64_t timer_ns;
  /* Called (if set) whenever timer_ns changes through a sess_* call, and
   * when the session learns its peer (have_peer); the owner keeps its own
   * indexes (the node core: a heap of links, links by peer). sess_init and
   * sess_wipe clear it. */
  void (*on_retime)(void *ctx);
  void *retime_ctx;
  bool told_peer;              /* have_peer as last reported */
  uint32_t remote_index;
  struct rl_addr endpoint;     /* where packets go; updated on authenticated rx */
  /* An HS_RESP to send elsewhere than endpoint: the HS_INIT came from
   * resp_to, and the session moves there only on the initiator's first
   * packet under the new key. The caller sends the next HS_RESP there and
   * clears the flag. */
  bool has_resp_to;
  struct rl_addr resp_to;
  bool have_peer;              /* peer_vip/peer_id valid */
  /* What callers use of the peer's verified certificate (the whole one
   * would cost ~500 bytes per session: 10^5 simulated nodes hold millions) */
  uint32_t peer_vip;
  uint64_t peer_not_after;     /* unix s: the node core closes the session then */
  uint8_t peer_id[RL_ID_LEN];
  uint64_t peer_timestamp;     /* last accepted HS_INIT timestamp from peer */
  uint64_t peer_boot;          /* the peer's boot id in its last handshake */
  enum dc_cipher cipher;
  enum dc_format fmt;
  uint8_t cur_key_id;
  uint64_t established_ns, last_hs_ns, last_rx_ns, last_tx_ns;
  uint64_t rtt_ns;             /* last handshake RTT sample (initiator), 0 = none */
  uint64_t rx_bytes, tx_bytes, rx_pkts, tx_pkts;
  uint64_t rx_auth_fail, rx_replay;
  /* The last data packet sess_recv accepted (return >= 0): its packet id
   * as on the wire and its key id (the node core orders paths by them). */
  uint64_t rx_pid;
  uint8_t rx_key_id;
  unsigned handshakes;         /* completed handshakes (rekeys + 1) */
  /* private */
  const struct hs_identity *id;
  struct sess_params p;
  struct sess_key *keys[SESS_NKEYS]; /* owned; NULL = free slot */
  struct hs_initiation *hs;   /* owned; only while initiating (NULL otherwise) */
  unsigned hs_tries;
  uint64_t hs_next_ns;
  uint8_t next_key_id;
  struct {
    uint16_t len;
    uint8_t small[SESS_OUTQ_INLINE]; /* len <= SESS_OUTQ_INLINE */
    uint8_t *big;              /* owned, len bytes, otherwise */
  } outq[SESS_OUTQ];
  unsigned outq_head, outq_n;
  int8_t slot_cur, slot_prev, slot_next; /* keys[] index or -1; next = a
                                          * responder key awaiting the
                                          * peer's first packet */
  bool hs_running;             /* initiating (retries pending) */
  uint8_t hs_key_id;           /* key_id of the handshake under way */
  bool pinned;                 /* only this peer may answer */
  uint8_t pinned_id[RL_ID_LEN];
};

void sess_init(struct sess *s, const struct hs_identity *id,
               const struct sess_params *p, uint32_t local_index,
               const struct rl_addr *endpoint);
/* Starts a handshake as initiator (no-op when one is under way). */
int sess_start(struct sess *s, uint64_t now);
/* Installs the responder's result of hs_resp_finish(); resp/resp_len is the
 * HS_RESP to send (queued). Refuses (nothing queued, no key change) with
 * the verdicts of sess_check_init: RL_EAUTH (another peer than the
 * session's), RL_EREPLAY (timestamp not newer), RL_EEXIST (our own
 * initiation wins the simultaneous-initiation tie-break). The caller still
 * owns and wipes res. Prefer sess_respond(), which also moves the endpoint. */
int sess_accept(struct sess *s, const struct hs_result *res,
                const uint8_t *resp, size_t resp_len, uint64_t now);
/* A packet whose receiver index is s->local_index (HS_RESP, HS_COOKIE or
 * data). Returns the plaintext length (> 0) when pt holds data for the
 * caller (a frame or a control message), 0 when the packet was consumed
 * (handshake, keepalive), or a negative RL_E* (RL_EAUTH, RL_EREPLAY, ...).
 * from: the source address (the endpoint follows authenticated packets). */
int sess_recv(struct sess *s, const struct rl_addr *from, const uint8_t *pkt,
              size_t len, uint64_t now, uint8_t *pt, size_t cap);
/* Encrypts pt with the current key. Returns the packet length, or RL_EAGAIN
 * when no key is established (the caller queues the data and calls
 * sess_start). Triggers a rekey by itself when the key wears out. */
int sess_encrypt(struct sess *s, const uint8_t *pt, size_t len, uint64_t now,
                 uint8_t *out, size_t cap);
/* Next queued handshake/keepalive packet for s->endpoint (0 = none). */
size_t sess_poll(struct sess *s, uint8_t *out, size_t cap);
uint64_t sess_next_timer(const struct sess *s);
void sess_on_timer(struct sess *s, uint64_t now);
void sess_wipe(struct sess *s);

/* ---- additions for the node core (beyond the original contract) ---- */

/* Starts a rekey now (ESTABLISHED only; no-op while a handshake is under
 * way). sess_start() never rekeys, so calling it "to be sure" is harmless. */
int sess_rekey(struct sess *s, uint64_t now);
/* Only a peer with this Ed25519 key may complete a handshake on s
 * (config [peer] pinned = true); others get RL_EAUTH. */
void sess_pin_peer(struct sess *s, const uint8_t pk[RL_PK_LEN]);
/* True when an HS_INIT with timestamp ts is not newer than the last one
 * accepted (or seen, see sess_respond) from this peer: a replay. */
bool sess_init_is_replay(const struct sess *s, uint64_t ts);
/* Should the HS_INIT in p be answered on s? 0 = yes; RL_EREPLAY = old
 * timestamp; RL_EEXIST = both sides are initiating at once and ours wins
 * the tie-break (lower overlay ID), so drop theirs and wait for our
 * HS_RESP; RL_EAUTH = p is not the pinned / known peer of s. */
int sess_check_init(const struct sess *s, const struct hs_pending *p);
/* The whole responder path for a parsed HS_INIT on s: sess_check_init,
 * hs_resp_finish(local_index = s->local_index), sess_accept, and the
 * endpoint follows `from` (the HS_INIT is signed). The HS_RESP is queued
 * (sess_poll). Always wipes p. Returns 0 or the RL_E* of the step that
 * refused. The node core's HS_INIT path is then:
 *   rc = hs_resp_parse_init(&resp, from, pkt, len, now, &p, ck, cap, &cklen);
 *   RL_EAGAIN -> send ck (cklen bytes) to from; other rc < 0 -> drop;
 *   s = session for p.peer_id (or a new one: sess_init(.., from));
 *   sess_respond(s, &resp, &p, from, now); */
int sess_respond(struct sess *s, struct hs_responder *r, struct hs_pending *p,
                 const struct rl_addr *from, uint64_t now);

#endif
