/* OpenVPN-compatible data channel: P_DATA_V2 AEAD, byte for byte.
 *
 *  0      1        4            8                    24
 * +------+--------+------------+--------------------+----------------+
 * |op|kid| peer-id| packet id  |   AEAD tag (16)    | ciphertext     |
 * +------+--------+------------+--------------------+----------------+
 *  AD = bytes 0..7; nonce = packet id || 8-byte implicit IV (per direction)
 *
 * and OpenVPN 2.7's epoch format (DC_FMT_EPOCH): op|kid, peer-id, epoch(2),
 * counter(6), ciphertext, tag(16) at the end; AD = bytes 0..11; nonce =
 * data_iv XOR (bytes 4..11 || 0000). See docs/protocol.md and
 * ../shared/openvpn/wire.md.
 *
 * Keys come as an OpenVPN key2 block (256 bytes): keys[d] = cipher[64] ||
 * hmac[64]; the AEAD key is cipher[0:32], the implicit IV hmac[0:8].
 * keys[0] is initiator->responder, keys[1] responder->initiator.
 *
 * One struct dc_tx / dc_rx per direction per key_id. Allocation only at
 * setup (AES-GCM state, epoch-format receive state), none per packet. */
#ifndef RL_CRYPTO_DC_H
#define RL_CRYPTO_DC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DC_OP_DATA_V2 9
#define DC_HDR_V2 24     /* op(1) peer-id(3) pid(4) tag(16) */
#define DC_HDR_EPOCH 12  /* op(1) peer-id(3) epoch(2) counter(6); tag at end */
#define DC_OVERHEAD_MAX 28
#define DC_TAG_LEN 16
#define DC_KEY2_LEN 256
#define DC_PEER_ID_UNDEF 0xFFFFFFu
/* OpenVPN renegotiates when the send id reaches this (packet_id.h). */
#define DC_PID_REKEY_AT 0xFF000000u
/* Our replay window (bits): larger than OpenVPN's default 64 because relayed
 * and multipath routes reorder more; the window is receiver-local policy. */
#define DC_REPLAY_WINDOW 2048
/* OpenVPN --replay-window time rule, seconds. */
#define DC_REPLAY_TIME_S 15

enum dc_cipher { DC_AES256GCM = 1, DC_CHACHA20POLY1305 = 2 };
enum dc_format { DC_FMT_V2 = 1, DC_FMT_EPOCH = 2 };

/* OpenVPN's keepalive payload (ping.c) and OCC magic (occ.c). */
extern const uint8_t DC_KEEPALIVE[16];
extern const uint8_t DC_OCC_MAGIC[16];
/* ringlan's in-band control magic: plaintext that starts with these 16
 * bytes is an overlay control message, never a frame. */
extern const uint8_t DC_CONTROL_MAGIC[16];

/* Limits. The v2 packet id is 32 bits; OpenVPN sends 0xFFFFFFFF as its last
 * id and refuses the next one (packet_id.c packet_id_send_update). */
#define DC_PID_MAX_V2 0xFFFFFFFFull
/* Epoch format: 48-bit counter per epoch (OpenVPN PACKET_ID_EPOCH_MAX). */
#define DC_PID_MAX_EPOCH 0xFFFFFFFFFFFFull
/* AES-GCM usage limit, OpenVPN 2.7 crypto.h: q + s <= 2^36 - 1 with q the
 * packets and s the 16-byte blocks of AD + plaintext under one key. */
#define DC_AES_LIMIT ((1ull << 36) - 1)
/* Ask for a rekey (v2) when 7/8 of the AES-GCM limit is used, so the new key
 * is ready before dc_encrypt starts failing. */
#define DC_AES_REKEY_AT (DC_AES_LIMIT / 8 * 7)
/* Epoch format: future receive epochs accepted beyond the current one
 * (OpenVPN 2.7.6 ssl.c: 16). */
#define DC_EPOCH_FUTURE 16
/* OpenVPN forces a full renegotiation from this epoch on (ssl.c). */
#define DC_EPOCH_REKEY_AT 0xF000
/* Time-rule history: one mark per second (of the clock) in which the highest
 * id grew; DC_REPLAY_TIME_S + 3 marks always reach far enough back (see
 * dc_replay.c). */
#define DC_REPLAY_MARKS 18

struct dc_replay {
  uint64_t highest;     /* highest accepted id, 0 = none yet */
  uint64_t bits[DC_REPLAY_WINDOW / 64]; /* bit (id % WINDOW) = id seen */
  uint64_t highest_at_ns; /* time the highest id arrived (time rule) */
  /* private: time rule. floor = ids <= floor are expired; marks[] remember
   * (time, highest) so that "highest as of now - DC_REPLAY_TIME_S" is known. */
  uint64_t floor;
  struct {
    uint64_t at_ns;     /* last time highest grew in this mark's second */
    uint64_t highest;   /* highest id at at_ns */
  } marks[DC_REPLAY_MARKS];
  uint8_t nmarks;       /* valid marks */
  uint8_t mark_head;    /* index of the newest mark */
};

/* One precomputed future receive epoch: data key and IV (the AEAD state is
 * expanded only when a packet claims this epoch, see dc_decrypt). */
struct dc_epoch_key {
  uint16_t epoch;       /* 0 = empty */
  uint8_t key[32];
  uint8_t iv[12];
};

/* Size of the libsodium AES-GCM state (key schedule and GHASH powers),
 * checked against crypto_aead_aes256gcm_statebytes() in dc.c. */
#define DC_AES_STATE_LEN 512

/* Epoch-format receive state beyond the current epoch (2.3 KB), allocated
 * by dc_rx_init for DC_FMT_EPOCH only: the default P_DATA_V2 format never
 * needs it. The previous epoch (still accepted, its own window) and epochs
 * epoch+1 .. epoch+DC_EPOCH_FUTURE. */
struct dc_rx_epochs {
  uint8_t retiring_aes_state[DC_AES_STATE_LEN] __attribute__((aligned(16)));
  struct dc_epoch_key retiring; /* .epoch 0 = none */
  struct dc_replay retiring_replay;
  struct dc_epoch_key future[DC_EPOCH_FUTURE]; /* future[i].epoch = epoch+1+i */
};

/* Ownership: dc_tx / dc_rx own heap memory (the AES-GCM state when the
 * cipher is AES-256-GCM, the epoch state of an epoch-format rx set up with
 * its secret). Allocation happens only in the *_init functions, release
 * only in the *_wipe functions; encrypt/decrypt never allocate. A struct
 * may be moved (copied, the source then forgotten without wipe) but never
 * duplicated: exactly one copy is wiped. */
struct dc_tx {
  enum dc_cipher cipher;
  enum dc_format fmt;
  uint8_t key[32];
  uint8_t iv[12];       /* v2: 8-byte implicit IV; epoch: 12-byte data IV */
  uint64_t next_pid;    /* starts at 1; epoch format: counter in this epoch */
  uint16_t epoch;       /* epoch format only, starts at 1 */
  uint8_t epoch_secret[32]; /* E_epoch */
  bool has_secret;      /* false after dc_tx_init_raw: no epoch rollover */
  uint64_t aes_blocks;  /* usage counter for the AES-GCM limit */
  uint8_t *aes_state;   /* owned, DC_AES_STATE_LEN bytes, AES-256-GCM only */
  bool standin;         /* simulator only: crypto/standin.h AEAD (insecure) */
};

struct dc_rx {
  enum dc_cipher cipher;
  enum dc_format fmt;
  uint8_t key[32];
  uint8_t iv[12];
  uint16_t epoch;       /* current receive epoch (epoch format) */
  uint8_t epoch_secret[32]; /* E of the highest precomputed future epoch */
  bool has_secret;      /* false after dc_rx_init_raw: no future epochs */
  struct dc_replay replay;
  uint8_t *aes_state;   /* owned, DC_AES_STATE_LEN bytes, AES-256-GCM only */
  struct dc_rx_epochs *ep; /* owned; non-NULL exactly when has_secret */
  bool standin;         /* simulator only: crypto/standin.h AEAD (insecure) */
};

/* True when AES-256-GCM is usable on this CPU (libsodium; needs
 * sodium_init() to have run, as every ringlan binary does first). */
bool dc_aes_available(void);
/* Name as OpenVPN prints it: "AES-256-GCM" / "CHACHA20-POLY1305". */
const char *dc_cipher_name(enum dc_cipher c);
/* Parses an OpenVPN cipher name (case-insensitive). 0 or RL_EINVAL. */
int dc_cipher_parse(const char *name, enum dc_cipher *out);

/* Sets up one direction from a key2 block; dir = 0 or 1 selects keys[dir].
 * v2: key = keys[dir].cipher[0:32], implicit IV = keys[dir].hmac[0:8].
 * epoch: E1 = keys[dir].cipher[0:32]; epoch-1 data key/IV are derived, and
 * rx precomputes epochs 2 .. 1 + DC_EPOCH_FUTURE.
 * Returns 0, RL_EINVAL (bad cipher/format/dir) or RL_EUNSUP if AES-GCM is
 * asked for and not available, RL_ENOMEM. tx/rx must be fresh (never
 * initialised) or wiped: init does not free what an earlier init
 * allocated. On failure nothing stays allocated and the struct (if not
 * NULL) is zeroed, so dc_*_wipe on it is harmless. Release with dc_tx_wipe / dc_rx_wipe
 * (see "Ownership" above). key2 is not retained. */
int dc_tx_init(struct dc_tx *tx, enum dc_cipher c, enum dc_format f,
               const uint8_t key2[DC_KEY2_LEN], int dir);
int dc_rx_init(struct dc_rx *rx, enum dc_cipher c, enum dc_format f,
               const uint8_t key2[DC_KEY2_LEN], int dir);
/* Direct setup from a raw key and IV (test vectors). iv is 8 bytes for v2,
 * 12 for epoch (the data key and data IV of epoch 1). Without the epoch
 * secret there is no rollover: an epoch tx returns RL_EKEYEXHAUSTED where it
 * would move to the next epoch, an epoch rx accepts only its epoch (set
 * ->epoch after init to use another epoch's key). */
int dc_tx_init_raw(struct dc_tx *tx, enum dc_cipher c, enum dc_format f,
                   const uint8_t key[32], const uint8_t *iv);
int dc_rx_init_raw(struct dc_rx *rx, enum dc_cipher c, enum dc_format f,
                   const uint8_t key[32], const uint8_t *iv);
/* Zero the keys and free what init allocated; the struct is then zeroed and
 * may be initialised again. Idempotent; NULL and zeroed structs are fine. */
void dc_tx_wipe(struct dc_tx *tx);
void dc_rx_wipe(struct dc_rx *rx);

/* Encrypts pt into out (cap >= ptlen + DC_OVERHEAD_MAX) with the next packet
 * id. key_id 0..7, peer_id < 2^24. Returns the packet length, RL_EINVAL,
 * RL_ETOOBIG (cap), or RL_EKEYEXHAUSTED when the id space (or the AES-GCM
 * usage limit) is used up: the caller must rekey. In the epoch format the
 * sender first moves to the next epoch (new key, counter 1) when the 48-bit
 * counter or the AES-GCM limit runs out; RL_EKEYEXHAUSTED only at epoch
 * 0xFFFF. RL_ESTATE if libsodium refuses to seal (out zeroed, the packet
 * id is spent), RL_EUNSUP if a new epoch's AES key cannot be expanded.
 * pt (non-NULL even when ptlen is 0) and out may not overlap.
 * No allocation. */
int dc_encrypt(struct dc_tx *tx, uint8_t key_id, uint32_t peer_id,
               const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap);
/* Same with an explicit packet id (vectors); does not advance next_pid and
 * does not count AES-GCM usage. v2: pid 1..0xFFFFFFFF. epoch: pid is the
 * 64-bit wire value (epoch << 48 | counter); its epoch must be tx->epoch and
 * the counter non-zero. RL_EINVAL otherwise. */
int dc_encrypt_pid(struct dc_tx *tx, uint8_t key_id, uint32_t peer_id,
                   uint64_t pid, const uint8_t *pt, size_t ptlen,
                   uint8_t *out, size_t cap);
/* True when tx should be replaced soon: v2 send id >= DC_PID_REKEY_AT or
 * AES-GCM usage >= DC_AES_REKEY_AT; epoch format: epoch >= DC_EPOCH_REKEY_AT
 * (OpenVPN's forced renegotiation). */
bool dc_tx_wants_rekey(const struct dc_tx *tx);
/* Epoch format: moves tx forward to `epoch` (> tx->epoch), as OpenVPN does
 * when the peer already sends in a higher epoch (new key, counter 1).
 * RL_EINVAL for v2, no secret, or epoch <= tx->epoch. */
int dc_tx_set_epoch(struct dc_tx *tx, uint16_t epoch);

/* Header fields, read without decrypting (to pick the key and session).
 * Works for any ringlan/OpenVPN packet with a 3-byte index after byte 0.
 * Returns 0, RL_EINVAL (NULL) or RL_ETRUNC (len < 4). */
struct dc_hdr {
  uint8_t opcode;
  uint8_t key_id;
  uint32_t peer_id;
};
int dc_peek(const uint8_t *pkt, size_t len, struct dc_hdr *h);

/* Verifies the tag, then the replay window (OpenVPN order), then writes the
 * plaintext. Returns plaintext length, RL_EAUTH (any authentication
 * failure, including a wrong opcode or an epoch without a key), RL_EREPLAY,
 * RL_ETRUNC (shorter than header + tag), RL_ETOOBIG (cap < plaintext) or
 * RL_EINVAL. On failure the rx state is unchanged and pt holds no plaintext.
 * Epoch format: a packet of a future epoch that verifies makes that epoch
 * current (the old one retires, still accepted). pid_out (optional) gets
 * the packet id as on the wire (epoch: epoch << 48 | counter). pt must be
 * non-NULL; pkt and pt may not overlap. No allocation. */
int dc_decrypt(struct dc_rx *rx, const uint8_t *pkt, size_t len, uint8_t *pt,
               size_t cap, uint64_t now_ns, uint64_t *pid_out);

/* Replay window alone (unit tests and dc_decrypt), OpenVPN "backtrack"
 * semantics: id 0 and duplicates are rejected, ids >= DC_REPLAY_WINDOW below
 * the highest are rejected, and an id is rejected once a packet with an id
 * at least as high arrived more than DC_REPLAY_TIME_S ago (time rule, 1 s
 * granularity). check() does not modify (0 or RL_EREPLAY); update() records
 * an id that passed check() and authentication. now_ns is monotonic. */
void dc_replay_init(struct dc_replay *r);
int dc_replay_check(const struct dc_replay *r, uint64_t pid, uint64_t now_ns);
void dc_replay_update(struct dc_replay *r, uint64_t pid, uint64_t now_ns);

/* Exactly the 16-byte OpenVPN ping payload. */
bool dc_is_keepalive(const uint8_t *pt, size_t len);

#endif
