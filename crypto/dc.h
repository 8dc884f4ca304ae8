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
 * No allocation; one struct dc_tx / dc_rx per direction per key_id. */
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

struct dc_replay {
  uint64_t highest;     /* highest accepted id, 0 = none yet */
  uint64_t bits[DC_REPLAY_WINDOW / 64];
  uint64_t highest_at_ns; /* time the highest id arrived (time rule) */
  /* implementation may add fields */
};

struct dc_tx {
  enum dc_cipher cipher;
  enum dc_format fmt;
  uint8_t key[32];
  uint8_t iv[12];       /* v2: 8-byte implicit IV; epoch: 12-byte data IV */
  uint64_t next_pid;    /* starts at 1 */
  uint16_t epoch;       /* epoch format only, starts at 1 */
  uint8_t epoch_secret[32];
  uint64_t aes_blocks;  /* usage counter for the AES-GCM limit */
  uint8_t aes_state[512] __attribute__((aligned(16))); /* crypto_aead_aes256gcm_state */
};

struct dc_rx {
  enum dc_cipher cipher;
  enum dc_format fmt;
  uint8_t key[32];
  uint8_t iv[12];
  uint16_t epoch;
  uint8_t epoch_secret[32];
  struct dc_replay replay;
  uint8_t aes_state[512] __attribute__((aligned(16)));
};

/* True when AES-256-GCM is usable on this CPU (libsodium). */
bool dc_aes_available(void);
/* Name as OpenVPN prints it: "AES-256-GCM" / "CHACHA20-POLY1305". */
const char *dc_cipher_name(enum dc_cipher c);
int dc_cipher_parse(const char *name, enum dc_cipher *out);

/* Sets up one direction from a key2 block; dir = 0 or 1 selects keys[dir].
 * Returns RL_EUNSUP if AES-GCM is asked for and not available. */
int dc_tx_init(struct dc_tx *tx, enum dc_cipher c, enum dc_format f,
               const uint8_t key2[DC_KEY2_LEN], int dir);
int dc_rx_init(struct dc_rx *rx, enum dc_cipher c, enum dc_format f,
               const uint8_t key2[DC_KEY2_LEN], int dir);
/* Direct setup from a raw key and IV (test vectors). iv is 8 bytes for v2,
 * 12 for epoch. */
int dc_tx_init_raw(struct dc_tx *tx, enum dc_cipher c, enum dc_format f,
                   const uint8_t key[32], const uint8_t *iv);
int dc_rx_init_raw(struct dc_rx *rx, enum dc_cipher c, enum dc_format f,
                   const uint8_t key[32], const uint8_t *iv);
void dc_tx_wipe(struct dc_tx *tx);
void dc_rx_wipe(struct dc_rx *rx);

/* Encrypts pt into out (cap >= ptlen + DC_OVERHEAD_MAX) with the next packet
 * id. Returns the packet length, or RL_EKEYEXHAUSTED when the id space (or
 * the AES-GCM usage limit) is used up: the caller must rekey. pt and out may
 * not overlap. */
int dc_encrypt(struct dc_tx *tx, uint8_t key_id, uint32_t peer_id,
               const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap);
/* Same with an explicit packet id (vectors); does not advance next_pid. */
int dc_encrypt_pid(struct dc_tx *tx, uint8_t key_id, uint32_t peer_id,
                   uint64_t pid, const uint8_t *pt, size_t ptlen,
                   uint8_t *out, size_t cap);
/* True when tx should be replaced soon (pid >= DC_PID_REKEY_AT etc.). */
bool dc_tx_wants_rekey(const struct dc_tx *tx);

/* Header fields, read without decrypting (to pick the key and session). */
struct dc_hdr {
  uint8_t opcode;
  uint8_t key_id;
  uint32_t peer_id;
};
int dc_peek(const uint8_t *pkt, size_t len, struct dc_hdr *h);

/* Verifies the tag, then the replay window (OpenVPN order), then writes the
 * plaintext. Returns plaintext length, RL_EAUTH (any authentication
 * failure), RL_EREPLAY, or RL_ETRUNC. On failure the replay state is
 * unchanged. pid_out (optional) gets the packet id. */
int dc_decrypt(struct dc_rx *rx, const uint8_t *pkt, size_t len, uint8_t *pt,
               size_t cap, uint64_t now_ns, uint64_t *pid_out);

/* Replay window alone (unit tests and dc_decrypt). check() does not
 * modify; update() records an id that passed authentication. */
void dc_replay_init(struct dc_replay *r);
int dc_replay_check(const struct dc_replay *r, uint64_t pid, uint64_t now_ns);
void dc_replay_update(struct dc_replay *r, uint64_t pid, uint64_t now_ns);

bool dc_is_keepalive(const uint8_t *pt, size_t len);

#endif
