/* The ringlan handshake: authenticated 1-RTT key exchange (X25519), both
 * sides proving group membership with their certificates.
 *
 * Pattern: Noise IXpsk0-like (the initiator may know only an endpoint, not
 * the responder's key; the group certificate proves who answers):
 *   psk0 = derived from the group PUBLIC key (hides message 1 from outsiders)
 *   HS_INIT  -> e, s(cert) + payload(timestamp, offer, Ed25519 signature)
 *   HS_RESP  <- e, ee, se, s(cert), es, payload(cipher/format choice)
 * The signature stands in for the DH with the initiator's static key that
 * IX lacks in message 1: it makes the timestamp authentic at once.
 * The static X25519 keys are the Ed25519 node keys converted by libsodium,
 * so a certificate (which carries the Ed25519 key) binds the DH key too.
 * Output: an OpenVPN key2-shaped block, keys[0] = initiator->responder,
 * keys[1] = responder->initiator, and each side's receive index (peer-id).
 * Message formats, key schedule, MACs and the cookie: docs/protocol.md
 * "## Handshake". Every function wipes its secrets on every exit path.
 *
 * Opcodes (byte 0 = op << 3 | key_id; OpenVPN never uses 20..31). */
#ifndef RL_CRYPTO_HS_H
#define RL_CRYPTO_HS_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/cert.h"
#include "crypto/cookie.h"
#include "crypto/revoke.h"
#include "crypto/dc.h"
#include "crypto/identity.h"
#include "util/env.h"

#define HS_OP_INIT 20
#define HS_OP_RESP 21
#define HS_OP_COOKIE 22
#define HS_INDEX_UNDEF 0xFFFFFFu
#define HS_MSG_MAX 1400

/* Node-wide handshake identity, shared by all sessions (read-only after
 * init). */
struct hs_identity {
  const struct rl_env *env;
  struct id_key key;
  uint8_t x_sk[32], x_pk[32];      /* X25519 form of key */
  struct cert cert;
  uint8_t cert_bin[CERT_BIN_MAX];
  size_t cert_len;
  uint8_t group_pk[RL_PK_LEN];
  uint8_t id[RL_ID_LEN];
  enum dc_cipher cipher;           /* preferred cipher */
  enum dc_format fmt;              /* preferred format */
  uint8_t mac1_key[32];            /* derived from the group key */
  uint8_t cookie_key[32];          /* for decrypting cookie replies */
  /* Random per start of the node, sent in HS_INIT and HS_RESP: a peer
   * tells sessions of our current life from those of an earlier one
   * (link.c: never send on a session the peer lost by restarting). */
  uint64_t boot;
  /* Revoked members (borrowed, may be NULL): a peer certificate whose
   * overlay ID is in it fails the handshake with RL_EREVOKED, in both
   * directions (docs/security.md, "Revocation"). */
  const struct revoke_set *revoked;
};
int hs_identity_init(struct hs_identity *hid, const struct rl_env *env,
                     const struct id_key *key, const struct cert *cert,
                     const uint8_t group_pk[RL_PK_LEN], enum dc_cipher cipher,
                     enum dc_format fmt);
void hs_identity_wipe(struct hs_identity *hid);

/* What a completed handshake yields, on either side. */
struct hs_result {
  uint8_t key2[DC_KEY2_LEN];
  bool initiator;
  uint8_t key_id;
  uint32_t local_index;    /* we receive packets carrying this peer-id */
  uint32_t remote_index;   /* we send packets carrying this peer-id */
  struct cert peer_cert;   /* verified */
  uint8_t peer_id[RL_ID_LEN];
  enum dc_cipher cipher;   /* agreed */
  enum dc_format fmt;      /* agreed */
  uint64_t peer_timestamp; /* initiator's timestamp (ns since unix epoch) */
  uint64_t peer_boot;      /* the peer's hs_identity.boot */
};

/* ---- initiator ---- */
struct hs_initiation {
  uint8_t e_sk[32], e_pk[32];
  uint8_t ck[32], h[32];           /* Noise chaining key and hash */
  uint32_t local_index;
  uint8_t key_id;
  uint64_t sent_at_ns;             /* for the RTT sample */
  bool has_cookie;
  uint8_t cookie[16];
  uint64_t cookie_at_ns;
  uint8_t last_mac1[16];
  bool active;
};
/* Writes a fresh HS_INIT (new ephemeral, new timestamp) into out. Returns
 * its length or a negative RL_E*. A cookie received earlier (within 120 s)
 * is used for mac2. */
/* Bytes of an HS_INIT from id (what one handshake try sends). */
size_t hs_init_size(const struct hs_identity *id);
int hs_init_create(struct hs_initiation *st, const struct hs_identity *id,
                   uint32_t local_index, uint8_t key_id, uint64_t now,
                   uint8_t *out, size_t cap);
/* Consumes the HS_RESP for st. Returns 0 with res filled (st becomes
 * inactive, its ephemeral wiped), or RL_EAUTH (any MAC/AEAD/DH failure,
 * wrong index or key_id), RL_EFOREIGN, RL_EEXPIRED, RL_ETRUNC (malformed),
 * RL_EUNSUP (a choice we cannot run), RL_ESTATE (no initiation under way:
 * a duplicate). On failure st is unchanged, so a forged or stale HS_RESP
 * does not disturb the handshake. */
int hs_init_consume_resp(struct hs_initiation *st, const struct hs_identity *id,
                         const uint8_t *pkt, size_t len, uint64_t now,
                         struct hs_result *res);
/* Consumes an HS_COOKIE for st (stores the cookie for the next attempt,
 * which the caller sends when its retry timer fires). 0, RL_EAUTH,
 * RL_ETRUNC or RL_ESTATE (no initiation under way). */
int hs_init_consume_cookie(struct hs_initiation *st, const struct hs_identity *id,
                           const uint8_t *pkt, size_t len, uint64_t now);
void hs_initiation_wipe(struct hs_initiation *st);

/* ---- responder (one per node) ---- */
struct hs_pending {                /* a verified HS_INIT awaiting a reply */
  uint8_t ck[32], h[32];
  uint8_t peer_e[32];
  uint32_t remote_index;
  uint8_t key_id;
  struct cert peer_cert;
  uint8_t peer_id[RL_ID_LEN];
  uint64_t peer_timestamp;
  uint64_t peer_boot;
  enum dc_cipher cipher;
  enum dc_format fmt;
};
struct hs_responder {
  const struct hs_identity *id;
  uint8_t cookie_secret[32];
  uint64_t cookie_secret_at_ns;    /* rotated every 120 s */
  /* HS_COOKIE nonces: a prefix derived from each (random) secret, then a
   * counter (unique per key, no randomness call per reply under a flood) */
  uint8_t nonce_prefix[16];
  uint64_t nonce_ctr;
  struct cookie_meter meter;       /* hs_resp_parse_init's (one path) */
};
/* Wipes a pending HS_INIT that will not be answered (hs_resp_finish wipes
 * p itself). */
void hs_pending_wipe(struct hs_pending *p);
void hs_responder_init(struct hs_responder *r, const struct hs_identity *id,
                       unsigned load_threshold, uint64_t now);
/* Wipes the cookie secret (addition to the original contract). */
void hs_responder_wipe(struct hs_responder *r);
/* Checks mac1, then (under load) mac2, then the handshake itself and the
 * peer's certificate. Returns 0 with *p filled; RL_EAGAIN when a cookie
 * reply was written to cookie_out (*cookie_len set) and nothing else should
 * happen; or RL_EAUTH / RL_EFOREIGN / RL_EEXPIRED / RL_ETRUNC, or
 * RL_EUNSUP (no common cipher/format). from may be NULL (cookie bound to
 * no address); cookie_out may be NULL (RL_EAGAIN, nothing written). Replay of
 * an old HS_INIT is for the caller to judge with p->peer_timestamp against
 * the last one it accepted from p->peer_id. */
int hs_resp_parse_init(struct hs_responder *r, const struct rl_addr *from,
                       const uint8_t *pkt, size_t len, uint64_t now,
                       struct hs_pending *p, uint8_t *cookie_out, size_t cap,
                       size_t *cookie_len);
/* The same for an HS_INIT from src (the cookie's binding) judged by the
 * load meter of the path it came by (NULL: r->meter). One more outcome:
 * RL_EFULL when the meter's work bucket is empty (shed before any
 * public-key work, nothing written). */
int hs_resp_parse_init_src(struct hs_responder *r, const struct cookie_src *src,
                           struct cookie_meter *meter, const uint8_t *pkt, size_t len,
                           uint64_t now, struct hs_pending *p, uint8_t *cookie_out,
                           size_t cap, size_t *cookie_len);
/* Writes HS_RESP for p and fills res (keys, indices). Wipes p. */
int hs_resp_finish(struct hs_responder *r, struct hs_pending *p,
                   uint32_t local_index, uint64_t now, uint8_t *out, size_t cap,
                   struct hs_result *res);

/* Receiver index (bytes 1..3) and opcode of any ringlan packet. */
static inline uint32_t hs_pkt_index(const uint8_t *pkt) {
  return (uint32_t)pkt[1] << 16 | (uint32_t)pkt[2] << 8 | pkt[3];
}

#endif
