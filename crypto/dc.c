/* OpenVPN-compatible data channel: P_DATA_V2 AEAD and the 2.7 epoch format.
 *
 * Byte layouts are in dc.h and docs/protocol.md ("Data channel"); the
 * OpenVPN source references in ../shared/openvpn/wire.md sections 3, 4, 6.
 * Hot path (dc_encrypt / dc_decrypt): no allocation, no logging. */
#include "crypto/dc.h"
#include "crypto/standin.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/dc_kdf.h"
#include "util/wire.h"

_Static_assert(DC_AES_STATE_LEN >= sizeof(crypto_aead_aes256gcm_state),
               "DC_AES_STATE_LEN holds a libsodium AES-GCM state");
_Static_assert(DC_AES_STATE_LEN % 16 == 0, "aligned_alloc size");
_Static_assert(_Alignof(crypto_aead_aes256gcm_state) <= 16, "aes_state alignment");
_Static_assert(crypto_aead_aes256gcm_ABYTES == DC_TAG_LEN, "AES-GCM tag");
_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == DC_TAG_LEN, "ChaCha tag");
_Static_assert(crypto_aead_aes256gcm_NPUBBYTES == 12, "AES-GCM nonce");
_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12, "ChaCha nonce");
_Static_assert(DC_HDR_EPOCH + DC_TAG_LEN == DC_OVERHEAD_MAX, "epoch overhead");

#define AD_V2 8      /* op|kid, peer-id, packet id */
#define AD_EPOCH 12  /* op|kid, peer-id, epoch, counter */
#define IV_V2 8
#define IV_EPOCH 12
#define KEY2_HALF 128
#define KEY2_HMAC_OFF 64
#define PKT_MAX ((size_t)INT32_MAX - DC_OVERHEAD_MAX)

/* ping.c; drivers/net/ovpn/io.c ovpn_keepalive_message. */
const uint8_t DC_KEEPALIVE[16] = {0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb,
                                  0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48};
/* occ.c */
const uint8_t DC_OCC_MAGIC[16] = {0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef, 0x7a, 0x81,
                                  0x2d, 0x56, 0xb8, 0xd3, 0xaf, 0xc5, 0x45, 0x9c};
/* First 16 bytes of SHA-256("ringlan data-channel control v1"): arbitrary,
 * but reproducible and unlikely to begin a real Ethernet frame. */
const uint8_t DC_CONTROL_MAGIC[16] = {0x3c, 0x5c, 0xfc, 0xbc, 0x58, 0x41, 0x4e, 0x4b,
                                      0x57, 0x5b, 0xe6, 0x85, 0x1a, 0x9b, 0x46, 0x13};

bool dc_aes_available(void) { return crypto_aead_aes256gcm_is_available() == 1; }

const char *dc_cipher_name(enum dc_cipher c) {
  switch (c) {
  case DC_AES256GCM:
    return "AES-256-GCM";
  case DC_CHACHA20POLY1305:
    return "CHACHA20-POLY1305";
  }
  return "?";
}

int dc_cipher_parse(const char *name, enum dc_cipher *out) {
  if (!name || !out)
    return RL_EINVAL;
  if (!strcasecmp(name, "AES-256-GCM"))
    *out = DC_AES256GCM;
  else if (!strcasecmp(name, "CHACHA20-POLY1305"))
    *out = DC_CHACHA20POLY1305;
  else
    return RL_EINVAL;
  return 0;
}

bool dc_is_keepalive(const uint8_t *pt, size_t len) {
  return pt && len == sizeof(DC_KEEPALIVE) && !memcmp(pt, DC_KEEPALIVE, len);
}

/* ---- AEAD primitives: one place that knows libsodium's calling shapes ---- */

static crypto_aead_aes256gcm_state *aes_st(uint8_t *p) {
  return (crypto_aead_aes256gcm_state *)(void *)p;
}

/* 0, or -1 when libsodium refuses (a message longer than the cipher's
 * limit; cannot happen with PKT_MAX, but never send what was not sealed). */
static int aead_seal(bool standin, enum dc_cipher c, const uint8_t *key, uint8_t *aes_state,
                     uint8_t *ct, uint8_t *tag, const uint8_t *pt, size_t ptlen,
                     const uint8_t *ad, size_t adlen, const uint8_t nonce[12]) {
  if (standin) {
    standin_seal(key, ct, tag, pt, ptlen, ad, adlen, nonce);
    return 0;
  }
  if (c == DC_AES256GCM)
    return crypto_aead_aes256gcm_encrypt_detached_afternm(ct, tag, NULL, pt, ptlen, ad, adlen,
                                                          NULL, nonce, aes_st(aes_state));
  return crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct, tag, NULL, pt, ptlen, ad, adlen,
                                                            NULL, nonce, key);
}

/* 0 when the tag verifies; on failure pt[0..ctlen) is zeroed. */
static int aead_open(bool standin, enum dc_cipher c, const uint8_t *key, uint8_t *aes_state,
                     uint8_t *pt, const uint8_t *ct, size_t ctlen, const uint8_t *tag,
                     const uint8_t *ad, size_t adlen, const uint8_t nonce[12]) {
  int r;
  if (standin)
    r = standin_open(key, pt, ct, ctlen, tag, ad, adlen, nonce);
  else if (c == DC_AES256GCM)
    r = crypto_aead_aes256gcm_decrypt_detached_afternm(pt, NULL, ct, ctlen, tag, ad, adlen, nonce,
                                                       aes_st(aes_state));
  else
    r = crypto_aead_chacha20poly1305_ietf_decrypt_detached(pt, NULL, ct, ctlen, tag, ad, adlen,
                                                           nonce, key);
  if (r != 0) {
    if (ctlen)
      sodium_memzero(pt, ctlen);
    return RL_EAUTH;
  }
  return 0;
}

/* 0, or RL_EUNSUP when libsodium refuses the AES key schedule (no AES-NI
 * on this CPU): the state would be garbage. */
static int aead_expand(enum dc_cipher c, const uint8_t key[32], uint8_t *aes_state) {
  /* AES key schedule and GHASH powers once per key, not per packet. */
  if (c == DC_AES256GCM && crypto_aead_aes256gcm_beforenm(aes_st(aes_state), key) != 0) {
    sodium_memzero(aes_state, DC_AES_STATE_LEN);
    return RL_EUNSUP;
  }
  return 0;
}

static int check_params(enum dc_cipher c, enum dc_format f) {
  if (c != DC_AES256GCM && c != DC_CHACHA20POLY1305)
    return RL_EINVAL;
  if (f != DC_FMT_V2 && f != DC_FMT_EPOCH)
    return RL_EINVAL;
  if (c == DC_AES256GCM && !dc_aes_available())
    return RL_EUNSUP;
  return 0;
}

/* ---- setup ---- */

/* The only allocations of the data channel, at setup time. */
static uint8_t *aes_state_new(enum dc_cipher c) {
  if (c != DC_AES256GCM)
    return NULL;
  return aligned_alloc(16, DC_AES_STATE_LEN);
}

static void aes_state_free(uint8_t *st) {
  if (!st)
    return;
  sodium_memzero(st, DC_AES_STATE_LEN);
  free(st);
}

static int tx_set_key(struct dc_tx *tx, const uint8_t key[32], const uint8_t *iv, size_t ivlen) {
  memcpy(tx->key, key, 32);
  memset(tx->iv, 0, sizeof(tx->iv));
  memcpy(tx->iv, iv, ivlen);
  tx->next_pid = 1;
  tx->aes_blocks = 0;
  return aead_expand(tx->cipher, tx->key, tx->aes_state);
}

int dc_tx_init_raw(struct dc_tx *tx, enum dc_cipher c, enum dc_format f, const uint8_t key[32],
                   const uint8_t *iv) {
  if (tx)
    sodium_memzero(tx, sizeof(*tx)); /* wipe-safe whatever follows */
  if (!tx || !key || !iv)
    return RL_EINVAL;
  int r = check_params(c, f);
  if (r < 0)
    return r;
  tx->aes_state = aes_state_new(c);
  if (c == DC_AES256GCM && !tx->aes_state)
    return RL_ENOMEM;
  tx->cipher = c;
  tx->fmt = f;
  tx->epoch = f == DC_FMT_EPOCH ? 1 : 0;
  if ((r = tx_set_key(tx, key, iv, f == DC_FMT_V2 ? IV_V2 : IV_EPOCH)) < 0) {
    aes_state_free(tx->aes_state);
    sodium_memzero(tx, sizeof(*tx));
  }
  return r;
}

int dc_tx_init(struct dc_tx *tx, enum dc_cipher c, enum dc_format f,
               const uint8_t key2[DC_KEY2_LEN], int dir) {
  if (!key2 || (dir != 0 && dir != 1)) {
    if (tx)
      sodium_memzero(tx, sizeof(*tx));
    return RL_EINVAL;
  }
  const uint8_t *k = key2 + (size_t)dir * KEY2_HALF;
  if (f != DC_FMT_EPOCH)
    return dc_tx_init_raw(tx, c, f, k, k + KEY2_HMAC_OFF);
  /* Epoch: keys[dir].cipher[0:32] is E1; data key and IV are derived. */
  uint8_t key[32], iv[IV_EPOCH];
  dc_epoch_data_key(k, key, iv);
  int r = dc_tx_init_raw(tx, c, f, key, iv);
  if (r == 0) {
    memcpy(tx->epoch_secret, k, 32);
    tx->has_secret = true;
  }
  sodium_memzero(key, sizeof(key));
  sodium_memzero(iv, sizeof(iv));
  return r;
}

/* Moves the sender to epoch `to` (> tx->epoch): E is iterated, the data key
 * derived, the counter and AES usage reset (crypto_epoch.c). */
static int tx_epoch_to(struct dc_tx *tx, uint16_t to) {
  if (!tx->has_secret || to <= tx->epoch)
    return RL_EKEYEXHAUSTED;
  while (tx->epoch < to) {
    dc_epoch_next(tx->epoch_secret, tx->epoch_secret);
    tx->epoch++;
  }
  uint8_t key[32], iv[IV_EPOCH];
  dc_epoch_data_key(tx->epoch_secret, key, iv);
  int r = tx_set_key(tx, key, iv, IV_EPOCH);
  sodium_memzero(key, sizeof(key));
  sodium_memzero(iv, sizeof(iv));
  if (r < 0)
    tx->next_pid = 0; /* nothing is sent under a key that failed to expand */
  return r;
}

int dc_tx_set_epoch(struct dc_tx *tx, uint16_t epoch) {
  if (!tx || tx->fmt != DC_FMT_EPOCH || !tx->has_secret || epoch <= tx->epoch)
    return RL_EINVAL;
  return tx_epoch_to(tx, epoch);
}

/* Fills rx->future[from_idx..] with the epochs after the last filled one,
 * iterating rx->epoch_secret (E of the highest precomputed epoch). */
static void rx_fill_future(struct dc_rx *rx, unsigned from_idx) {
  struct dc_rx_epochs *ep = rx->ep;
  for (unsigned i = from_idx; i < DC_EPOCH_FUTURE; i++) {
    uint16_t prev = i == 0 ? rx->epoch : ep->future[i - 1].epoch;
    if (prev == 0 || prev == UINT16_MAX) {
      sodium_memzero(&ep->future[i], sizeof(ep->future[i])); /* no epoch after 0xFFFF */
      continue;
    }
    dc_epoch_next(rx->epoch_secret, rx->epoch_secret);
    ep->future[i].epoch = (uint16_t)(prev + 1);
    dc_epoch_data_key(rx->epoch_secret, ep->future[i].key, ep->future[i].iv);
  }
}

int dc_rx_init_raw(struct dc_rx *rx, enum dc_cipher c, enum dc_format f, const uint8_t key[32],
                   const uint8_t *iv) {
  if (rx)
    sodium_memzero(rx, sizeof(*rx)); /* wipe-safe whatever follows */
  if (!rx || !key || !iv)
    return RL_EINVAL;
  int r = check_params(c, f);
  if (r < 0)
    return r;
  rx->aes_state = aes_state_new(c);
  if (c == DC_AES256GCM && !rx->aes_state)
    return RL_ENOMEM;
  rx->cipher = c;
  rx->fmt = f;
  rx->epoch = f == DC_FMT_EPOCH ? 1 : 0;
  memcpy(rx->key, key, 32);
  memcpy(rx->iv, iv, f == DC_FMT_V2 ? IV_V2 : IV_EPOCH);
  if ((r = aead_expand(c, rx->key, rx->aes_state)) < 0) {
    aes_state_free(rx->aes_state);
    sodium_memzero(rx, sizeof(*rx));
    return r;
  }
  dc_replay_init(&rx->replay);
  return 0;
}

int dc_rx_init(struct dc_rx *rx, enum dc_cipher c, enum dc_format f,
               const uint8_t key2[DC_KEY2_LEN], int dir) {
  if (!key2 || (dir != 0 && dir != 1)) {
    if (rx)
      sodium_memzero(rx, sizeof(*rx));
    return RL_EINVAL;
  }
  const uint8_t *k = key2 + (size_t)dir * KEY2_HALF;
  if (f != DC_FMT_EPOCH)
    return dc_rx_init_raw(rx, c, f, k, k + KEY2_HMAC_OFF);
  uint8_t key[32], iv[IV_EPOCH];
  dc_epoch_data_key(k, key, iv);
  int r = dc_rx_init_raw(rx, c, f, key, iv);
  if (r == 0) {
    /* calloc: retiring.epoch 0 = none, future[] filled below */
    rx->ep = calloc(1, sizeof(*rx->ep));
    if (!rx->ep) {
      dc_rx_wipe(rx);
      r = RL_ENOMEM;
    }
  }
  if (r == 0) {
    dc_replay_init(&rx->ep->retiring_replay);
    memcpy(rx->epoch_secret, k, 32);
    rx->has_secret = true;
    rx_fill_future(rx, 0);
  }
  sodium_memzero(key, sizeof(key));
  sodium_memzero(iv, sizeof(iv));
  return r;
}

void dc_tx_wipe(struct dc_tx *tx) {
  if (!tx)
    return;
  aes_state_free(tx->aes_state);
  sodium_memzero(tx, sizeof(*tx));
}

void dc_rx_wipe(struct dc_rx *rx) {
  if (!rx)
    return;
  aes_state_free(rx->aes_state);
  if (rx->ep) {
    sodium_memzero(rx->ep, sizeof(*rx->ep));
    free(rx->ep);
  }
  sodium_memzero(rx, sizeof(*rx));
}

/* ---- send ---- */

static uint64_t aes_blocks_for(size_t adlen, size_t ptlen) {
  return ((uint64_t)adlen + ptlen + 15) / 16;
}

/* Writes header, ciphertext and tag for packet id `pid` (v2: 32-bit id,
 * epoch: the 64-bit epoch||counter). Arguments already checked. */
static int seal_packet(struct dc_tx *tx, uint8_t key_id, uint32_t peer_id, uint64_t pid,
                       const uint8_t *pt, size_t ptlen, uint8_t *out) {
  struct wire_w w;
  uint8_t nonce[12];
  wire_w_init(&w, out, DC_OVERHEAD_MAX);
  wire_put_u8(&w, (uint8_t)(DC_OP_DATA_V2 << 3 | key_id));
  wire_put_u24be(&w, peer_id);
  if (tx->fmt == DC_FMT_V2) {
    /* nonce = packet id as on the wire || implicit IV (crypto.c). */
    wire_put_u32be(&w, (uint32_t)pid);
    memcpy(nonce, out + 4, 4);
    memcpy(nonce + 4, tx->iv, IV_V2);
    if (aead_seal(tx->standin, tx->cipher, tx->key, tx->aes_state, out + DC_HDR_V2, out + AD_V2,
                  pt, ptlen, out, AD_V2, nonce) != 0) {
      sodium_memzero(out, DC_HDR_V2 + ptlen);
      return RL_ESTATE;
    }
    return (int)(DC_HDR_V2 + ptlen);
  }
  /* Epoch: nonce = data_iv XOR (epoch || counter || 00000000); tag at end. */
  wire_put_u64be(&w, pid);
  memcpy(nonce, tx->iv, IV_EPOCH);
  for (int i = 0; i < 8; i++)
    nonce[i] ^= out[4 + i];
  if (aead_seal(tx->standin, tx->cipher, tx->key, tx->aes_state, out + DC_HDR_EPOCH,
                out + DC_HDR_EPOCH + ptlen, pt, ptlen, out, AD_EPOCH, nonce) != 0) {
    sodium_memzero(out, DC_HDR_EPOCH + ptlen + DC_TAG_LEN);
    return RL_ESTATE;
  }
  return (int)(DC_HDR_EPOCH + ptlen + DC_TAG_LEN);
}

static int check_send_args(const struct dc_tx *tx, uint8_t key_id, uint32_t peer_id,
                           const uint8_t *pt, size_t ptlen, const uint8_t *out, size_t cap) {
  if (!tx || !out || !pt || key_id > 7 || peer_id > 0xFFFFFFu)
    return RL_EINVAL;
  if (tx->fmt != DC_FMT_V2 && tx->fmt != DC_FMT_EPOCH)
    return RL_EINVAL;
  if (ptlen > PKT_MAX)
    return RL_ETOOBIG;
  if (cap < ptlen + (tx->fmt == DC_FMT_V2 ? DC_HDR_V2 : DC_OVERHEAD_MAX))
    return RL_ETOOBIG;
  return 0;
}

int dc_encrypt_pid(struct dc_tx *tx, uint8_t key_id, uint32_t peer_id, uint64_t pid,
                   const uint8_t *pt, size_t ptlen, uint8_t *out, size_t cap) {
  int r = check_send_args(tx, key_id, peer_id, pt, ptlen, out, cap);
  if (r < 0)
    return r;
  if (tx->fmt == DC_FMT_V2 ? (pid == 0 || pid > DC_PID_MAX_V2)
                           : (pid >> 48 != tx->epoch || (pid & DC_PID_MAX_EPOCH) == 0))
    return RL_EINVAL;
  return seal_packet(tx, key_id, peer_id, pid, pt, ptlen, out);
}

int dc_encrypt(struct dc_tx *tx, uint8_t key_id, uint32_t peer_id, const uint8_t *pt,
               size_t ptlen, uint8_t *out, size_t cap) {
  int r = check_send_args(tx, key_id, peer_id, pt, ptlen, out, cap);
  if (r < 0)
    return r;
  bool aes = tx->cipher == DC_AES256GCM;
  bool v2 = tx->fmt == DC_FMT_V2;
  uint64_t blocks = aes_blocks_for(v2 ? AD_V2 : AD_EPOCH, ptlen);
  /* q + s <= 2^36 - 1 with this packet counted (q = ids used incl. this one). */
  bool aes_over = aes && tx->next_pid + tx->aes_blocks + blocks > DC_AES_LIMIT;
  if (v2) {
    if (tx->next_pid > DC_PID_MAX_V2 || tx->next_pid == 0 || aes_over)
      return RL_EKEYEXHAUSTED;
  } else if (tx->next_pid > DC_PID_MAX_EPOCH || tx->next_pid == 0 || aes_over) {
    if (tx->epoch == UINT16_MAX)
      return RL_EKEYEXHAUSTED;
    r = tx_epoch_to(tx, (uint16_t)(tx->epoch + 1));
    if (r < 0)
      return r;
  }
  uint64_t pid = v2 ? tx->next_pid : (uint64_t)tx->epoch << 48 | tx->next_pid;
  int n = seal_packet(tx, key_id, peer_id, pid, pt, ptlen, out);
  tx->next_pid++; /* also after a failure: a packet id is never used twice */
  if (aes)
    tx->aes_blocks += blocks;
  return n;
}

bool dc_tx_wants_rekey(const struct dc_tx *tx) {
  if (!tx)
    return false;
  bool aes_soon = tx->cipher == DC_AES256GCM && tx->next_pid + tx->aes_blocks >= DC_AES_REKEY_AT;
  if (tx->fmt == DC_FMT_V2)
    return tx->next_pid >= DC_PID_REKEY_AT || aes_soon;
  if (tx->epoch >= DC_EPOCH_REKEY_AT)
    return true;
  /* Without the epoch secret (raw setup) the epoch cannot roll over. */
  return !tx->has_secret && (tx->next_pid >= DC_PID_MAX_EPOCH - 0xFFFFFF || aes_soon);
}

/* ---- receive ---- */

int dc_peek(const uint8_t *pkt, size_t len, struct dc_hdr *h) {
  if (!pkt || !h)
    return RL_EINVAL;
  struct wire_r r;
  wire_r_init(&r, pkt, len);
  uint8_t b0 = wire_get_u8(&r);
  uint32_t peer = wire_get_u24be(&r);
  if (!wire_ok(&r))
    return RL_ETRUNC;
  h->opcode = b0 >> 3;
  h->key_id = b0 & 7;
  h->peer_id = peer;
  return 0;
}

static int decrypt_v2(struct dc_rx *rx, const uint8_t *pkt, size_t len, uint8_t *pt, size_t cap,
                      uint64_t now_ns, uint64_t *pid_out) {
  struct wire_r r;
  wire_r_init(&r, pkt, len);
  uint8_t b0 = wire_get_u8(&r);
  wire_get_u24be(&r);
  const uint8_t *pid_bytes = wire_get_ptr(&r, 4);
  const uint8_t *tag = wire_get_ptr(&r, DC_TAG_LEN);
  if (!wire_ok(&r))
    return RL_ETRUNC;
  size_t ctlen = wire_left(&r);
  const uint8_t *ct = wire_get_ptr(&r, ctlen);
  if (b0 >> 3 != DC_OP_DATA_V2)
    return RL_EAUTH;
  if (ctlen > cap || ctlen > PKT_MAX)
    return RL_ETOOBIG;
  uint8_t nonce[12];
  memcpy(nonce, pid_bytes, 4);
  memcpy(nonce + 4, rx->iv, IV_V2);
  int e = aead_open(rx->standin, rx->cipher, rx->key, rx->aes_state, pt, ct, ctlen, tag, pkt, AD_V2, nonce);
  if (e < 0)
    return e;
  uint64_t pid = (uint64_t)pid_bytes[0] << 24 | (uint64_t)pid_bytes[1] << 16 |
                 (uint64_t)pid_bytes[2] << 8 | pid_bytes[3];
  /* Replay check only after the tag verified (crypto.c), so forged ids
   * cannot move the window. */
  if (dc_replay_check(&rx->replay, pid, now_ns) < 0) {
    if (ctlen)
      sodium_memzero(pt, ctlen);
    return RL_EREPLAY;
  }
  dc_replay_update(&rx->replay, pid, now_ns);
  if (pid_out)
    *pid_out = pid;
  return (int)ctlen;
}

/* A verified packet of future epoch `e` (= future[idx]): that epoch becomes
 * current, the current one retires with its window, and the future list is
 * topped up (crypto_epoch.c epoch_replace_update_recv_key). */
static void rx_epoch_advance(struct dc_rx *rx, unsigned idx, const uint8_t *new_state) {
  struct dc_rx_epochs *ep = rx->ep; /* non-NULL: future epochs need the secret */
  ep->retiring.epoch = rx->epoch;
  memcpy(ep->retiring.key, rx->key, 32);
  memcpy(ep->retiring.iv, rx->iv, IV_EPOCH);
  if (rx->cipher == DC_AES256GCM)
    memcpy(ep->retiring_aes_state, rx->aes_state, DC_AES_STATE_LEN);
  ep->retiring_replay = rx->replay;

  rx->epoch = ep->future[idx].epoch;
  memcpy(rx->key, ep->future[idx].key, 32);
  memcpy(rx->iv, ep->future[idx].iv, IV_EPOCH);
  if (rx->cipher == DC_AES256GCM)
    memcpy(rx->aes_state, new_state, DC_AES_STATE_LEN);
  dc_replay_init(&rx->replay);

  unsigned keep = DC_EPOCH_FUTURE - (idx + 1);
  memmove(ep->future, ep->future + idx + 1, keep * sizeof(ep->future[0]));
  sodium_memzero(ep->future + keep, (DC_EPOCH_FUTURE - keep) * sizeof(ep->future[0]));
  rx_fill_future(rx, keep);
}

static int decrypt_epoch(struct dc_rx *rx, const uint8_t *pkt, size_t len, uint8_t *pt,
                         size_t cap, uint64_t now_ns, uint64_t *pid_out) {
  struct wire_r r;
  wire_r_init(&r, pkt, len);
  uint8_t b0 = wire_get_u8(&r);
  wire_get_u24be(&r);
  uint16_t epoch = wire_get_u16be(&r);
  uint64_t ctr = wire_get_u48be(&r);
  if (!wire_ok(&r) || wire_left(&r) < DC_TAG_LEN)
    return RL_ETRUNC;
  size_t ctlen = wire_left(&r) - DC_TAG_LEN;
  const uint8_t *ct = wire_get_ptr(&r, ctlen);
  const uint8_t *tag = wire_get_ptr(&r, DC_TAG_LEN);
  if (b0 >> 3 != DC_OP_DATA_V2)
    return RL_EAUTH;
  if (ctlen > cap || ctlen > PKT_MAX)
    return RL_ETOOBIG;

  /* Key lookup (crypto_epoch.c epoch_lookup_decrypt_key): current,
   * retiring, or one of the precomputed future epochs. */
  const uint8_t *key, *iv;
  uint8_t *state;
  struct dc_replay *win = NULL;
  int future_idx = -1;
  crypto_aead_aes256gcm_state tmp_state;
  if (epoch == rx->epoch && epoch != 0) {
    key = rx->key;
    iv = rx->iv;
    state = rx->aes_state;
    win = &rx->replay;
  } else if (epoch != 0 && rx->ep && epoch == rx->ep->retiring.epoch) {
    key = rx->ep->retiring.key;
    iv = rx->ep->retiring.iv;
    state = rx->ep->retiring_aes_state;
    win = &rx->ep->retiring_replay;
  } else if (rx->ep && epoch > rx->epoch && epoch - rx->epoch <= DC_EPOCH_FUTURE &&
             rx->ep->future[epoch - rx->epoch - 1].epoch == epoch) {
    future_idx = epoch - rx->epoch - 1;
    key = rx->ep->future[future_idx].key;
    iv = rx->ep->future[future_idx].iv;
    /* Expanded on demand: a forged future epoch costs one AES key
     * schedule, the HKDF work was done when the epoch was precomputed. */
    state = (uint8_t *)&tmp_state;
    if (aead_expand(rx->cipher, key, state) < 0)
      return RL_EAUTH;
  } else {
    return RL_EAUTH; /* no key for this epoch */
  }

  uint8_t nonce[12];
  memcpy(nonce, iv, IV_EPOCH);
  for (int i = 0; i < 8; i++)
    nonce[i] ^= pkt[4 + i];
  int e = aead_open(rx->standin, rx->cipher, key, state, pt, ct, ctlen, tag, pkt, AD_EPOCH, nonce);
  if (e == 0) {
    /* A future epoch starts with an empty window: only counter 0 is bad. */
    int rp = win ? dc_replay_check(win, ctr, now_ns) : (ctr == 0 ? RL_EREPLAY : 0);
    if (rp < 0) {
      if (ctlen)
        sodium_memzero(pt, ctlen);
      e = RL_EREPLAY;
    } else {
      if (future_idx >= 0) {
        rx_epoch_advance(rx, (unsigned)future_idx, state);
        win = &rx->replay;
      }
      dc_replay_update(win, ctr, now_ns);
      if (pid_out)
        *pid_out = (uint64_t)epoch << 48 | ctr;
    }
  }
  if (future_idx >= 0)
    sodium_memzero(&tmp_state, sizeof(tmp_state));
  return e < 0 ? e : (int)ctlen;
}

int dc_decrypt(struct dc_rx *rx, const uint8_t *pkt, size_t len, uint8_t *pt, size_t cap,
               uint64_t now_ns, uint64_t *pid_out) {
  if (!rx || !pkt || !pt)
    return RL_EINVAL;
  if (rx->fmt == DC_FMT_V2)
    return decrypt_v2(rx, pkt, len, pt, cap, now_ns, pid_out);
  if (rx->fmt == DC_FMT_EPOCH)
    return decrypt_epoch(rx, pkt, len, pt, cap, now_ns, pid_out);
  return RL_EINVAL;
}
