/* Handshake DoS defences, as in WireGuard (used by crypto/hs*.c; the node
 * core owns the per-path meters and names the source of an HS_INIT).
 *
 * mac1 = BLAKE2b-128(key = mac1_key, msg up to mac1). mac1_key derives from
 * the group PUBLIC key, so mac1 is only a cheap filter: it lets a node drop
 * datagrams from anyone who does not even know the group key before doing
 * any public-key work. It is not authentication.
 *
 * mac2 = BLAKE2b-128(key = cookie, msg up to mac2), where the cookie =
 * BLAKE2b-128(key = cookie_secret, source address) proves the initiator can
 * receive at its source: the UDP source address of a direct HS_INIT, or the
 * overlay ID an overlay- or relay-carried one claims (the reply is routed
 * there, so only that member, or a hop on its way, learns the cookie). The
 * responder asks for it (HS_COOKIE) only while the load meter of the path
 * the HS_INIT came by is empty (struct cookie_meter: issue 10, finding 6);
 * the cookie secret rotates every COOKIE_SECRET_ROTATE_NS. The cookie travels
 * XChaCha20-Poly1305-encrypted under cookie_key (group-derived) with the
 * HS_INIT's mac1 as associated data, so only the initiator that sent that
 * HS_INIT (or someone who saw it) can use it. */
#ifndef RL_CRYPTO_COOKIE_H
#define RL_CRYPTO_COOKIE_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/env.h"
#include "util/rate.h"

#define COOKIE_LEN 16
#define COOKIE_MAC_LEN 16
#define COOKIE_NONCE_LEN 24
#define COOKIE_SECRET_ROTATE_NS (120 * NS_PER_S)
/* An initiator uses a received cookie for this long (WireGuard: 120 s). */
#define COOKIE_VALID_NS (120 * NS_PER_S)
/* HS_COOKIE: op|kid(1) rcv idx(3) snd idx(3) nonce(24) enc cookie(16+16) */
#define COOKIE_MSG_LEN (7 + COOKIE_NONCE_LEN + COOKIE_LEN + 16)

struct hs_responder;

/* The load of one receive path (direct UDP, overlay-carried, relay-carried):
 * junk on one path does not make another path's initiators need cookies.
 *   free: HS_INITs per second taken without a cookie (the old threshold);
 *         empty = under load: only INITs with a valid mac2 go on.
 *   work: HS_INITs per second given public-key work at all (mac2 or not),
 *         so a flood costs bounded CPU; 0 = unbounded.
 * Each bucket holds one second's worth. */
struct cookie_meter {
  struct rate_bucket free, work;
  unsigned free_rate, work_rate;
};
void cookie_meter_init(struct cookie_meter *m, unsigned free_rate, unsigned work_rate);

/* What a cookie is bound to: addr (direct UDP) or id (the claimed overlay
 * ID of an overlay- or relay-carried HS_INIT); both NULL: nothing. */
struct cookie_src {
  const struct rl_addr *addr;
  const uint8_t *id; /* RL_ID_LEN bytes */
};

/* Both keys from the group public key (domain-separated labels). */
void cookie_derive_keys(const uint8_t group_pk[32], uint8_t mac1_key[32],
                        uint8_t cookie_key[32]);
/* mac over msg[0..len) keyed with key (klen 32 for mac1, 16 for mac2). */
void cookie_mac(uint8_t out[COOKIE_MAC_LEN], const uint8_t *key, size_t klen,
                const uint8_t *msg, size_t len);
/* Counts one HS_INIT (past mac1) against m->free; true when there was no
 * token left: the path is under load. */
bool cookie_under_load(struct cookie_meter *m, uint64_t now);
/* Takes a token of m->work; false: shed this HS_INIT (no public-key work). */
bool cookie_work_allowed(struct cookie_meter *m, uint64_t now);
/* Derives r->nonce_prefix from the cookie secret (random, per responder
 * and rotation: unique prefixes without another randomness draw). */
void cookie_nonce_prefix(struct hs_responder *r);
/* The cookie for src under the current secret (rotated here). */
void cookie_for(struct hs_responder *r, const struct cookie_src *src, uint64_t now,
                uint8_t cookie[COOKIE_LEN]);
/* Writes an HS_COOKIE to out. Returns its length, RL_ETOOBIG, or
 * RL_ESTATE when libsodium refuses to encrypt (never sent unsealed). */
int cookie_reply_write(struct hs_responder *r, uint8_t key_id, uint32_t rcv_index,
                       const uint8_t mac1[COOKIE_MAC_LEN],
                       const uint8_t cookie[COOKIE_LEN], uint8_t *out, size_t cap);
/* Opens an HS_COOKIE. Returns 0 with the cookie, RL_ETRUNC or RL_EAUTH. */
int cookie_reply_open(const uint8_t cookie_key[32], const uint8_t mac1[COOKIE_MAC_LEN],
                      const uint8_t *pkt, size_t len, uint8_t cookie[COOKIE_LEN]);

#endif
