/* Origin proofs: routed overlay messages bound to their sender.
 *
 * The `src` of a ROUTED overlay message is written by its sender and
 * passes unchecked through every hop, so any member could claim to be
 * any other (or a made-up ID) and make the receiver work or answer on
 * that name (security finding 2). A routed payload that causes work or a
 * reply therefore travels as OV_APP_SIGNED: the sender's certificate
 * (binary form) and an Ed25519ph signature by the certified node key over
 * a context string, the inner application, src, the routed key, a unix
 * timestamp in milliseconds (each message the sender seals gets a new
 * one: node_route_signed) and the payload. Byte layout: docs/protocol.md,
 * "Signed routed payloads".
 *
 *   inner_app(1) unix_ms(8) cert_len(2) cert(cert_len) sig(64) payload
 *
 * The receiver checks the certificate against the group key
 * (cert_verify), that its node ID is src, the timestamp against its own
 * clock (ORIGIN_SKEW_S either way) and the signature. Certificates that
 * verified are kept in a small cache (per src, keyed by a hash of the
 * certificate bytes), so a member's later messages cost one signature
 * check. With the simulator's crypto stand-in (rl_env.crypto_standin)
 * the signature is the stand-in's and the group signature on the
 * certificate is not checked, as in the handshake (crypto/standin.h).
 *
 * What it does not stop by itself: a member on the path replaying a
 * message within the skew window to the same target. The node keeps the
 * proofs it acted on for that window and refuses repeats
 * (node/core/node_seen.c, docs/security.md). */
#ifndef RL_CRYPTO_ORIGIN_H
#define RL_CRYPTO_ORIGIN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/cert.h"
#include "crypto/hs.h"

#define ORIGIN_HDR (1 + 8 + 2)              /* inner_app, unix_ms, cert_len */
#define ORIGIN_OVERHEAD_MAX (ORIGIN_HDR + CERT_BIN_MAX + RL_SIG_LEN)
#define ORIGIN_SKEW_S 120                   /* accepted clock difference, s */
#define ORIGIN_SKEW_MS (ORIGIN_SKEW_S * 1000ull)
#define ORIGIN_CACHE_N 64                   /* verified certificates kept */

struct origin_cache {
  struct {
    uint8_t id[RL_ID_LEN];
    uint8_t cert_hash[32];
    uint8_t node_pk[RL_PK_LEN];
    uint64_t not_after;                     /* unix s; 0: slot free */
  } e[ORIGIN_CACHE_N];
  unsigned next;                            /* round-robin replacement */
  uint64_t hits, misses;                    /* certificate checks saved / done */
};

/* Writes the signed form of (app, payload) from our identity (src is
 * id->id) routed to key, stamped unix_ms (unix time in ms), into out.
 * Returns its length or RL_ETOOBIG (cap). */
int origin_seal(const struct hs_identity *id, uint8_t app, const uint8_t key[RL_ID_LEN],
                uint64_t unix_ms, const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

/* Checks a signed payload from src routed to key, at local time unix_ms.
 * On success returns 0 with *app, *payload (pointing into in) and *len
 * set. Errors: RL_ETRUNC (malformed), RL_EFOREIGN (certificate of another
 * group), RL_EEXPIRED (certificate outside its validity), RL_EAUTH (bad
 * certificate or message signature, certificate of another node than
 * src), RL_EREPLAY (timestamp more than ORIGIN_SKEW_MS off). cache may be
 * NULL (every certificate checked in full). */
int origin_open(const struct hs_identity *id, struct origin_cache *cache,
                const uint8_t src[RL_ID_LEN], const uint8_t key[RL_ID_LEN], uint64_t unix_ms,
                const uint8_t *in, size_t inlen, uint8_t *app, const uint8_t **payload,
                size_t *len);

/* The layout of a signed payload, nothing checked but the lengths: for a
 * payload origin_open() accepted before (a broadcast checked when it
 * arrived and delivered later). RL_ETRUNC when malformed. */
int origin_parse(const uint8_t *in, size_t inlen, uint8_t *app, const uint8_t **cert,
                 size_t *cert_len, const uint8_t **payload, size_t *len);

/* The timestamp (unix ms) of a signed payload (after origin_open accepted
 * it: the signed time the replay cache keys on). RL_ETRUNC when too short. */
int origin_stamp(const uint8_t *in, size_t inlen, uint64_t *unix_ms);

#endif
