/* libFuzzer target: the data channel receive path (dc_decrypt), both ciphers
 * and both formats.
 *
 * Byte 0 picks cipher (bit 0) and format (bit 1). The rest is a little
 * program so that the fuzzer reaches the states behind authentication, which
 * random bytes never pass: genuine packets are made with the matching
 * sender, delivered late, twice, corrupted, across epochs and time. Checked
 * invariants (abort on violation):
 *   - a packet is accepted at most once, and then with its own plaintext;
 *   - a packet with a flipped bit is always RL_EAUTH;
 *   - raw input bytes are never accepted;
 *   - every failure leaves the receiver state byte for byte unchanged. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dc.h"
#include "util/env.h"

#define NPKT 16
#define PT_MAX 64
#define EPOCH_CAP 600 /* bounds the HKDF work per input */

struct held {
  int len; /* 0 = empty slot */
  bool accepted;
  uint8_t buf[PT_MAX + DC_OVERHEAD_MAX];
  uint8_t pt[PT_MAX];
  size_t ptlen;
};

/* Deep copy of the receive state: the struct and the memory it owns. */
struct rx_snap {
  struct dc_rx rx;
  uint8_t aes[DC_AES_STATE_LEN];
  struct dc_rx_epochs ep;
};

struct fuzz_state {
  struct dc_tx tx;
  struct dc_rx rx;
  struct rx_snap before, after;
  struct held pkts[NPKT];
  unsigned next_slot;
  uint64_t now;
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sodium_init() < 0)
    abort();
  return 0;
}

static void snap(struct rx_snap *sn, const struct dc_rx *rx) {
  memset(sn, 0, sizeof(*sn));
  memcpy(&sn->rx, rx, sizeof(*rx));
  if (rx->aes_state)
    memcpy(sn->aes, rx->aes_state, DC_AES_STATE_LEN);
  if (rx->ep)
    memcpy(&sn->ep, rx->ep, sizeof(sn->ep));
}

/* Decrypts and checks the "failure changes nothing" invariant. */
static int deliver(struct fuzz_state *s, const uint8_t *pkt, size_t len, uint8_t *pt) {
  snap(&s->before, &s->rx);
  int r = dc_decrypt(&s->rx, pkt, len, pt, PT_MAX + DC_OVERHEAD_MAX, s->now, NULL);
  if (r < 0) {
    snap(&s->after, &s->rx);
    if (memcmp(&s->after, &s->before, sizeof(s->after)) != 0)
      abort();
  }
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  enum dc_cipher c = (data[0] & 1) ? DC_CHACHA20POLY1305 : DC_AES256GCM;
  enum dc_format f = (data[0] & 2) ? DC_FMT_EPOCH : DC_FMT_V2;
  if (c == DC_AES256GCM && !dc_aes_available())
    c = DC_CHACHA20POLY1305;
  struct fuzz_state *s = calloc(1, sizeof(*s));
  if (!s)
    abort();
  uint8_t key2[DC_KEY2_LEN];
  for (size_t i = 0; i < sizeof(key2); i++)
    key2[i] = (uint8_t)(i * 31 + 7);
  int dir = (data[0] >> 2) & 1;
  if (dc_tx_init(&s->tx, c, f, key2, dir) < 0 || dc_rx_init(&s->rx, c, f, key2, dir) < 0)
    abort();

  uint8_t pt[PT_MAX + DC_OVERHEAD_MAX];
  size_t i = 1;
  while (i < size) {
    uint8_t op = data[i] & 7, arg = data[i] >> 3;
    i++;
    switch (op) {
    case 0:
    case 1: { /* send a new packet with arg bytes of payload */
      struct held *h = &s->pkts[s->next_slot++ % NPKT];
      memset(h, 0, sizeof(*h));
      h->ptlen = arg > PT_MAX ? PT_MAX : arg;
      for (size_t k = 0; k < h->ptlen; k++)
        h->pt[k] = (uint8_t)(k + s->next_slot);
      h->len = dc_encrypt(&s->tx, op, 0x10203, h->pt, h->ptlen, h->buf, sizeof(h->buf));
      if (h->len < 0)
        h->len = 0; /* key exhausted: nothing to hold */
      break;
    }
    case 2: { /* deliver a held packet (again) */
      struct held *h = &s->pkts[arg % NPKT];
      if (!h->len)
        break;
      int r = deliver(s, h->buf, (size_t)h->len, pt);
      if (r >= 0) {
        if (h->accepted || (size_t)r != h->ptlen || memcmp(pt, h->pt, h->ptlen) != 0)
          abort();
        h->accepted = true;
      }
      break;
    }
    case 3: { /* deliver a held packet with one bit flipped */
      struct held *h = &s->pkts[arg % NPKT];
      if (!h->len || i >= size)
        break;
      uint8_t bad[sizeof(h->buf)];
      memcpy(bad, h->buf, (size_t)h->len);
      size_t bit = data[i++] % ((size_t)h->len * 8);
      bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
      if (deliver(s, bad, (size_t)h->len, pt) != RL_EAUTH)
        abort();
      break;
    }
    case 4: /* time passes */
      s->now += (uint64_t)arg * NS_PER_S / 4;
      break;
    case 5: /* sender jumps epochs (epoch format), bounded work */
      if (f == DC_FMT_EPOCH && s->tx.epoch + 1 + arg <= EPOCH_CAP)
        dc_tx_set_epoch(&s->tx, (uint16_t)(s->tx.epoch + 1 + arg));
      break;
    case 6: /* sender skips ids (window edges); big jumps near the end */
      s->tx.next_pid += (uint64_t)arg * (arg > 24 ? 0x10000000u : 100u);
      break;
    default: { /* raw bytes as a packet: never accepted */
      size_t n = arg;
      if (n > size - i)
        n = size - i;
      if (deliver(s, data + i, n, pt) >= 0)
        abort();
      i += n;
      break;
    }
    }
  }
  dc_tx_wipe(&s->tx);
  dc_rx_wipe(&s->rx);
  free(s);
  return 0;
}
