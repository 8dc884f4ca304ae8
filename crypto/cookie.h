/* Handshake DoS defences, as in WireGuard (private to crypto/hs*.c).
 *
 * mac1 = BLAKE2b-128(key = mac1_key, msg up to mac1). mac1_key derives from
 * the group PUBLIC key, so mac1 is only a cheap filter: it lets a node drop
 * datagrams from anyone who does not even know the group key before doing
 * any public-key work. It is not authentication.
 *
 * mac2 = BLAKE2b-128(key = cookie, msg up to mac2), where the cookie =
 * BLAKE2b-128(key = cookie_secret, source address) proves the initiator can
 * receive at its source address. The responder asks for it (HS_COOKIE) only
 * while its load meter exceeds load_threshold HS_INITs per second; the
 * cookie secret rotates every COOKIE_SECRET_ROTATE_NS. The cookie travels
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

#define COOKIE_LEN 16
#define COOKIE_MAC_LEN 16
#define COOKIE_NONCE_LEN 24
#define COOKIE_SECRET_ROTATE_NS (120 * NS_PER_S)
/* An initiator uses a received cookie for this long (WireGuard: 120 s). */
#define COOKIE_VALID_NS (120 * NS_PER_S)
/* HS_COOKIE: op|kid(1) rcv idx(3) snd idx(3) nonce(24) enc cookie(16+16) */
#define COOKIE_MSG_LEN (7 + COOKIE_NONCE_LEN + COOKIE_LEN + 16)

struct hs_responder;

/* Both keys from the group public key (domain-separated labels). */
void cookie_derive_keys(const uint8_t group_pk[32], uint8_t mac1_key[32],
                        uint8_t cookie_key[32]);
/* mac over msg[0..len) keyed with key (klen 32 for mac1, 16 for mac2). */
void cookie_mac(uint8_t out[COOKIE_MAC_LEN], const uint8_t *key, size_t klen,
                const uint8_t *msg, size_t len);
/* Counts one HS_INIT in the 1-second load window; true when this second
 * has seen more than r->load_threshold of them. */
bool cookie_under_load(struct hs_responder *r, uint64_t now);
/* The cookie for `from` under the current secret (rotated here). */
void cookie_for(struct hs_responder *r, const struct rl_addr *from, uint64_t now,
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
