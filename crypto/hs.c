/* The ringlan handshake (hs.h): Noise-IX-like, 1-RTT, certificates inside.
 *
 *   psk0 (group-derived, obfuscation only)
 *   -> e, s, payload           HS_INIT: s = certificate, payload = timestamp,
 *                              cipher offer and an Ed25519 signature over the
 *                              transcript (proves the static key at once)
 *   <- e, ee, se, s, es, payload   HS_RESP: s = certificate, payload = choice
 *
 * Byte diagrams, the key schedule and the rationale: docs/protocol.md. */
#include "crypto/hs.h"

#include <ringlan/error.h>
#include <sodium.h>
#include <string.h>

#include "crypto/cookie.h"
#include "crypto/hs_noise.h"
#include "crypto/standin.h"
#include "util/wire.h"

#define HS_VERSION 1
#define HDR_LEN 7
#define MACS_LEN (2 * COOKIE_MAC_LEN)
/* INIT plaintext: version ts(8) cipher pref/mask fmt pref/mask cert_len(2) */
#define INIT_PT_FIXED (1 + 8 + 4 + 8 + 2)
#define INIT_MIN (HDR_LEN + 32 + INIT_PT_FIXED + RL_SIG_LEN + HS_NOISE_TAG + MACS_LEN)
/* RESP: enc(cert_len(2) cert) then enc(cipher fmt reserved(2)) */
#define RESP_CHOICE_LEN 12 /* cipher, format, 0, 0, boot u64 */
#define RESP_MIN (HDR_LEN + 32 + 2 + HS_NOISE_TAG + RESP_CHOICE_LEN + HS_NOISE_TAG + MACS_LEN)

static const char SIG_LABEL[] = "ringlan hs init sig v1";

static uint8_t cipher_bit(enum dc_cipher c) { return (uint8_t)(1u << c); }
static uint8_t fmt_bit(enum dc_format f) { return (uint8_t)(1u << f); }
static bool cipher_valid(unsigned c) { return c == DC_AES256GCM || c == DC_CHACHA20POLY1305; }
static bool fmt_valid(unsigned f) { return f == DC_FMT_V2 || f == DC_FMT_EPOCH; }

/* What this node can run: AES-256-GCM only with hardware support, since
 * libsodium has no portable AES-GCM; ChaCha20-Poly1305 always. */
static uint8_t local_cipher_mask(void) {
  uint8_t m = cipher_bit(DC_CHACHA20POLY1305);
  if (dc_aes_available())
    m |= cipher_bit(DC_AES256GCM);
  return m;
}
static uint8_t local_fmt_mask(void) { return fmt_bit(DC_FMT_V2) | fmt_bit(DC_FMT_EPOCH); }

static void put_hdr(uint8_t *p, unsigned op, uint8_t key_id, uint32_t rcv, uint32_t snd) {
  p[0] = (uint8_t)(op << 3 | (key_id & 7));
  p[1] = (uint8_t)(rcv >> 16);
  p[2] = (uint8_t)(rcv >> 8);
  p[3] = (uint8_t)rcv;
  p[4] = (uint8_t)(snd >> 16);
  p[5] = (uint8_t)(snd >> 8);
  p[6] = (uint8_t)snd;
}

static uint64_t timestamp_ns(const struct rl_env *env, uint64_t now) {
  return rl_unix_s(env, now) * NS_PER_S + now % NS_PER_S;
}

/* The primitives that env->crypto_standin replaces (crypto/standin.h). */
static bool standin(const struct hs_identity *id) { return id->env && id->env->crypto_standin; }

/* 0, or RL_EAUTH when libsodium refuses (an all-zero result). */
static int x_base(const struct hs_identity *id, uint8_t pk[32], const uint8_t sk[32]) {
  if (standin(id)) {
    standin_x25519_base(pk, sk);
    return 0;
  }
  return crypto_scalarmult_base(pk, sk) == 0 ? 0 : RL_EAUTH;
}

static int x_from_ed_pk(const struct hs_identity *id, uint8_t x_pk[32], const uint8_t ed_pk[32]) {
  if (standin(id)) {
    standin_ed_pk_to_x(x_pk, ed_pk);
    return 0;
  }
  return crypto_sign_ed25519_pk_to_curve25519(x_pk, ed_pk);
}

static int mix_dh(const struct hs_identity *id, struct hs_noise *n, const uint8_t sk[32],
                  const uint8_t pk[32]) {
  return hs_noise_mix_dh(n, sk, pk, standin(id));
}

/* cert_verify's RL_EINVAL (malformed fields) is malformed input to us.
 * With the stand-in, the group's signature is not checked (the rest is). */
static int verify_peer_cert(const struct hs_identity *id, const struct cert *c, uint64_t now) {
  int rc = standin(id) ? cert_check_unsigned(c, id->group_pk, id->cert.group,
                                               rl_unix_s(id->env, now))
                       : cert_verify(c, id->group_pk, id->cert.group, rl_unix_s(id->env, now));
  if (rc == 0 && id->revoked) {
    uint8_t pid[RL_ID_LEN];
    cert_node_id(c, pid);
    if (revoke_set_has(id->revoked, pid))
      return RL_EREVOKED;
  }
  return rc == RL_EINVAL ? RL_ETRUNC : rc;
}

size_t hs_init_size(const struct hs_identity *id) {
  return HDR_LEN + 32 + INIT_PT_FIXED + id->cert_len + RL_SIG_LEN + HS_NOISE_TAG + MACS_LEN;
}

int hs_identity_init(struct hs_identity *hid, const struct rl_env *env,
                     const struct id_key *key, const struct cert *cert,
                     const uint8_t group_pk[RL_PK_LEN], enum dc_cipher cipher,
                     enum dc_format fmt) {
  int n;
  memset(hid, 0, sizeof(*hid));
  if (!env || !key || !cert || !group_pk || !cipher_valid(cipher) || !fmt_valid(fmt))
    return RL_EINVAL;
  if (memcmp(cert->node_pk, key->pk, RL_PK_LEN) != 0 ||
      memcmp(cert->group_pk, group_pk, RL_PK_LEN) != 0)
    return RL_EINVAL;
  n = cert_encode_bin(cert, hid->cert_bin, sizeof(hid->cert_bin));
  if (n < 0)
    return n;
  hid->cert_len = (size_t)n;
  if (env->crypto_standin) {
    standin_ed_sk_to_x(hid->x_sk, key->sk);
    standin_ed_pk_to_x(hid->x_pk, key->pk);
  } else if (crypto_sign_ed25519_sk_to_curve25519(hid->x_sk, key->sk) != 0 ||
             crypto_sign_ed25519_pk_to_curve25519(hid->x_pk, key->pk) != 0) {
    hs_identity_wipe(hid);
    return RL_EINVAL;
  }
  hid->env = env;
  hid->key = *key;
  hid->cert = *cert;
  memcpy(hid->group_pk, group_pk, RL_PK_LEN);
  id_overlay_id(key->pk, hid->id);
  /* A preference we cannot run ourselves is downgraded, not an error. */
  hid->cipher = (cipher == DC_AES256GCM && !dc_aes_available()) ? DC_CHACHA20POLY1305 : cipher;
  hid->fmt = fmt;
  cookie_derive_keys(group_pk, hid->mac1_key, hid->cookie_key);
  rl_rand(env, (uint8_t *)&hid->boot, sizeof(hid->boot));
  return 0;
}

void hs_identity_wipe(struct hs_identity *hid) { sodium_memzero(hid, sizeof(*hid)); }

void hs_initiation_wipe(struct hs_initiation *st) { sodium_memzero(st, sizeof(*st)); }

void hs_pending_wipe(struct hs_pending *p) { sodium_memzero(p, sizeof(*p)); }

/* Writes mac1 and mac2 at the end of msg (len = full length). */
static void put_macs(const struct hs_identity *id, uint8_t *msg, size_t len,
                     const uint8_t *cookie) {
  cookie_mac(msg + len - MACS_LEN, id->mac1_key, 32, msg, len - MACS_LEN);
  if (cookie)
    cookie_mac(msg + len - COOKIE_MAC_LEN, cookie, COOKIE_LEN, msg, len - COOKIE_MAC_LEN);
  else
    memset(msg + len - COOKIE_MAC_LEN, 0, COOKIE_MAC_LEN);
}

static bool mac1_ok(const struct hs_identity *id, const uint8_t *msg, size_t len) {
  uint8_t m[COOKIE_MAC_LEN];
  cookie_mac(m, id->mac1_key, 32, msg, len - MACS_LEN);
  return sodium_memcmp(m, msg + len - MACS_LEN, COOKIE_MAC_LEN) == 0;
}

/* ---------------------------------------------------------------- HS_INIT */

int hs_init_create(struct hs_initiation *st, const struct hs_identity *id,
                   uint32_t local_index, uint8_t key_id, uint64_t now,
                   uint8_t *out, size_t cap) {
  struct hs_noise n;
  uint8_t pt[INIT_PT_FIXED + CERT_BIN_MAX + RL_SIG_LEN];
  uint8_t h_e[32];
  struct wire_w w;
  crypto_sign_ed25519ph_state sst;
  size_t ptlen, total;
  int rc = 0;

  if (local_index > 0xFFFFFF || local_index == HS_INDEX_UNDEF || key_id > 7)
    return RL_EINVAL;
  total = hs_init_size(id);
  if (total > cap || total > HS_MSG_MAX)
    return RL_ETOOBIG;

  /* A retry is a fresh initiation; only a recent cookie survives it. */
  sodium_memzero(st->e_sk, sizeof(st->e_sk));
  rl_rand(id->env, st->e_sk, 32);
  if (x_base(id, st->e_pk, st->e_sk) != 0) {
    sodium_memzero(st->e_sk, sizeof(st->e_sk));
    return RL_EAUTH;
  }
  st->local_index = local_index;
  st->key_id = key_id;
  st->sent_at_ns = now;
  if (st->has_cookie && now - st->cookie_at_ns >= COOKIE_VALID_NS) {
    st->has_cookie = false;
    sodium_memzero(st->cookie, sizeof(st->cookie));
  }

  put_hdr(out, HS_OP_INIT, key_id, HS_INDEX_UNDEF, local_index);
  hs_noise_start(&n, id->group_pk);
  hs_noise_mix_hash(&n, out, HDR_LEN);
  /* e (psk mode: MixHash and MixKey with the ephemeral) */
  memcpy(out + HDR_LEN, st->e_pk, 32);
  hs_noise_mix_hash(&n, st->e_pk, 32);
  hs_noise_mix_key(&n, st->e_pk, 32);
  memcpy(h_e, n.h, 32);

  /* s + payload, one AEAD block: certificate, timestamp, offer, signature */
  wire_w_init(&w, pt, sizeof(pt));
  wire_put_u8(&w, HS_VERSION);
  wire_put_u64be(&w, timestamp_ns(id->env, now));
  wire_put_u8(&w, (uint8_t)id->cipher);
  wire_put_u8(&w, local_cipher_mask());
  wire_put_u8(&w, (uint8_t)id->fmt);
  wire_put_u8(&w, local_fmt_mask());
  wire_put_u64be(&w, id->boot);
  wire_put_u16be(&w, (uint16_t)id->cert_len);
  wire_put_bytes(&w, id->cert_bin, id->cert_len);
  if (w.err) {
    rc = RL_ETOOBIG;
    goto out;
  }
  /* The signature binds the timestamp and this ephemeral to the node key:
   * IX has no DH with the initiator's static key in message 1, so without
   * it anyone holding a (public) certificate could forge a "newer" HS_INIT
   * and make the responder throw away working keys. */
  crypto_sign_ed25519ph_init(&sst);
  crypto_sign_ed25519ph_update(&sst, (const uint8_t *)SIG_LABEL, sizeof(SIG_LABEL) - 1);
  crypto_sign_ed25519ph_update(&sst, h_e, 32);
  crypto_sign_ed25519ph_update(&sst, pt, w.off);
  {
    uint8_t *sig = wire_put_ptr(&w, RL_SIG_LEN);
    if (!sig) {
      rc = RL_ETOOBIG;
      goto out;
    }
    if (standin(id))
      standin_ph_sign(&sst, sig, id->key.pk);
    else if (crypto_sign_ed25519ph_final_create(&sst, sig, NULL, id->key.sk) != 0) {
      rc = RL_EAUTH;
      goto out;
    }
  }
  ptlen = w.off;
  rc = hs_noise_encrypt(&n, pt, ptlen, out + HDR_LEN + 32);
  if (rc < 0)
    goto out;
  put_macs(id, out, total, st->has_cookie ? st->cookie : NULL);
  memcpy(st->last_mac1, out + total - MACS_LEN, COOKIE_MAC_LEN);
  memcpy(st->ck, n.ck, 32);
  memcpy(st->h, n.h, 32);
  st->active = true;
  rc = (int)total;
out:
  hs_noise_wipe(&n);
  sodium_memzero(pt, sizeof(pt));
  sodium_memzero(h_e, sizeof(h_e));
  sodium_memzero(&sst, sizeof(sst));
  if (rc < 0) {
    sodium_memzero(st->e_sk, sizeof(st->e_sk));
    st->active = false;
  }
  return rc;
}

void hs_responder_init(struct hs_responder *r, const struct hs_identity *id,
                       unsigned load_threshold, uint64_t now) {
  memset(r, 0, sizeof(*r));
  r->id = id;
  cookie_meter_init(&r->meter, load_threshold, 0);
  rl_rand(id->env, r->cookie_secret, sizeof(r->cookie_secret));
  cookie_nonce_prefix(r);
  r->cookie_secret_at_ns = now;
}

void hs_responder_wipe(struct hs_responder *r) { sodium_memzero(r, sizeof(*r)); }

/* Responder's choice: its own preference if the initiator can run it, else
 * the initiator's preference if we can run it, else the lowest common one. */
static int pick(unsigned own_pref, uint8_t own_mask, unsigned their_pref,
                uint8_t their_mask, unsigned *out) {
  uint8_t common = own_mask & their_mask;
  if (own_pref < 8 && (common & (1u << own_pref))) {
    *out = own_pref;
    return 0;
  }
  if (their_pref < 8 && (common & (1u << their_pref))) {
    *out = their_pref;
    return 0;
  }
  for (unsigned b = 1; b < 8; b++)
    if (common & (1u << b)) {
      *out = b;
      return 0;
    }
  return RL_EUNSUP;
}

int hs_resp_parse_init(struct hs_responder *r, const struct rl_addr *from,
                       const uint8_t *pkt, size_t len, uint64_t now,
                       struct hs_pending *p, uint8_t *cookie_out, size_t cap,
                       size_t *cookie_len) {
  struct cookie_src src = {from, NULL};
  return hs_resp_parse_init_src(r, &src, NULL, pkt, len, now, p, cookie_out, cap, cookie_len);
}

int hs_resp_parse_init_src(struct hs_responder *r, const struct cookie_src *src,
                           struct cookie_meter *meter, const uint8_t *pkt, size_t len,
                           uint64_t now, struct hs_pending *p, uint8_t *cookie_out,
                           size_t cap, size_t *cookie_len) {
  const struct hs_identity *id = r->id;
  struct hs_noise n;
  uint8_t pt[INIT_PT_FIXED + CERT_BIN_MAX + RL_SIG_LEN];
  uint8_t h_e[32], cookie[COOKIE_LEN], mac[COOKIE_MAC_LEN];
  struct wire_r rd;
  crypto_sign_ed25519ph_state sst;
  size_t ctlen, ptlen, cert_len;
  unsigned version, cpref, cmask, fpref, fmask, cipher = 0, fmt = 0;
  const uint8_t *cert_bin, *sig;
  int rc;

  memset(p, 0, sizeof(*p));
  if (cookie_len)
    *cookie_len = 0;
  hs_noise_resume(&n, p->ck, p->h); /* zeroed, so every exit may wipe it */
  if (len < INIT_MIN || len > HS_MSG_MAX || (pkt[0] >> 3) != HS_OP_INIT ||
      hs_pkt_index(pkt) != HS_INDEX_UNDEF) {
    rc = RL_ETRUNC;
    goto out;
  }
  /* mac1: drop strangers before any public-key work */
  if (!mac1_ok(id, pkt, len)) {
    rc = RL_EAUTH;
    goto out;
  }
  if (!meter)
    meter = &r->meter;
  if (cookie_under_load(meter, now)) {
    cookie_for(r, src, now, cookie);
    cookie_mac(mac, cookie, COOKIE_LEN, pkt, len - COOKIE_MAC_LEN);
    if (sodium_memcmp(mac, pkt + len - COOKIE_MAC_LEN, COOKIE_MAC_LEN) != 0) {
      rc = RL_EAGAIN;
      if (cookie_out && cookie_len) {
        int w = cookie_reply_write(r, pkt[0] & 7, (uint32_t)pkt[4] << 16 |
                                   (uint32_t)pkt[5] << 8 | pkt[6],
                                   pkt + len - MACS_LEN, cookie, cookie_out, cap);
        if (w < 0)
          rc = w;
        else
          *cookie_len = (size_t)w;
      }
      goto out;
    }
  }
  /* Public-key work from here on: bounded per path (a flood of INITs that
   * passed the cheap checks is shed, not computed). */
  if (!cookie_work_allowed(meter, now)) {
    rc = RL_EFULL;
    goto out;
  }

  hs_noise_start(&n, id->group_pk);
  hs_noise_mix_hash(&n, pkt, HDR_LEN);
  memcpy(p->peer_e, pkt + HDR_LEN, 32);
  hs_noise_mix_hash(&n, p->peer_e, 32);
  hs_noise_mix_key(&n, p->peer_e, 32);
  memcpy(h_e, n.h, 32);
  ctlen = len - HDR_LEN - 32 - MACS_LEN;
  ptlen = ctlen - HS_NOISE_TAG;
  if (ptlen > sizeof(pt)) {
    rc = RL_ETRUNC;
    goto out;
  }
  rc = hs_noise_decrypt(&n, pkt + HDR_LEN + 32, ctlen, pt);
  if (rc < 0)
    goto out;

  wire_r_init(&rd, pt, ptlen);
  version = wire_get_u8(&rd);
  p->peer_timestamp = wire_get_u64be(&rd);
  cpref = wire_get_u8(&rd);
  cmask = wire_get_u8(&rd);
  fpref = wire_get_u8(&rd);
  fmask = wire_get_u8(&rd);
  p->peer_boot = wire_get_u64be(&rd);
  cert_len = wire_get_u16be(&rd);
  cert_bin = wire_get_ptr(&rd, cert_len);
  sig = wire_get_ptr(&rd, RL_SIG_LEN);
  if (!wire_done(&rd) || version != HS_VERSION) {
    rc = RL_ETRUNC;
    goto out;
  }
  rc = cert_decode_bin(&p->peer_cert, cert_bin, cert_len);
  if (rc < 0) {
    rc = RL_ETRUNC;
    goto out;
  }
  rc = verify_peer_cert(id, &p->peer_cert, now);
  if (rc < 0)
    goto out;
  crypto_sign_ed25519ph_init(&sst);
  crypto_sign_ed25519ph_update(&sst, (const uint8_t *)SIG_LABEL, sizeof(SIG_LABEL) - 1);
  crypto_sign_ed25519ph_update(&sst, h_e, 32);
  crypto_sign_ed25519ph_update(&sst, pt, ptlen - RL_SIG_LEN);
  if ((standin(id) ? standin_ph_verify(&sst, sig, p->peer_cert.node_pk)
                    : crypto_sign_ed25519ph_final_verify(&sst, sig, p->peer_cert.node_pk)) != 0) {
    rc = RL_EAUTH;
    goto out;
  }
  if (pick(id->cipher, local_cipher_mask(), cpref, (uint8_t)cmask, &cipher) < 0 ||
      pick(id->fmt, local_fmt_mask(), fpref, (uint8_t)fmask, &fmt) < 0) {
    rc = RL_EUNSUP;
    goto out;
  }
  p->cipher = (enum dc_cipher)cipher;
  p->fmt = (enum dc_format)fmt;
  p->remote_index = (uint32_t)pkt[4] << 16 | (uint32_t)pkt[5] << 8 | pkt[6];
  p->key_id = pkt[0] & 7;
  cert_node_id(&p->peer_cert, p->peer_id);
  memcpy(p->ck, n.ck, 32);
  memcpy(p->h, n.h, 32);
  rc = 0;
out:
  hs_noise_wipe(&n);
  sodium_memzero(pt, sizeof(pt));
  sodium_memzero(h_e, sizeof(h_e));
  sodium_memzero(cookie, sizeof(cookie));
  sodium_memzero(&sst, sizeof(sst));
  if (rc < 0)
    hs_pending_wipe(p);
  return rc;
}

/* ---------------------------------------------------------------- HS_RESP */

int hs_resp_finish(struct hs_responder *r, struct hs_pending *p,
                   uint32_t local_index, uint64_t now, uint8_t *out, size_t cap,
                   struct hs_result *res) {
  const struct hs_identity *id = r->id;
  struct hs_noise n;
  uint8_t e_sk[32], e_pk[32], peer_s[32];
  uint8_t pt[2 + CERT_BIN_MAX], choice[RESP_CHOICE_LEN] = {0};
  size_t total, off;
  int rc;

  memset(res, 0, sizeof(*res));
  hs_noise_resume(&n, p->ck, p->h);
  total = HDR_LEN + 32 + 2 + id->cert_len + HS_NOISE_TAG + RESP_CHOICE_LEN + HS_NOISE_TAG +
          MACS_LEN;
  if (local_index > 0xFFFFFF || local_index == HS_INDEX_UNDEF) {
    rc = RL_EINVAL;
    goto out;
  }
  if (total > cap) {
    rc = RL_ETOOBIG;
    goto out;
  }
  if (x_from_ed_pk(id, peer_s, p->peer_cert.node_pk) != 0) {
    rc = RL_EAUTH;
    goto out;
  }
  rl_rand(id->env, e_sk, 32);
  if (x_base(id, e_pk, e_sk) != 0) {
    rc = RL_EAUTH;
    goto out;
  }
  put_hdr(out, HS_OP_RESP, p->key_id, p->remote_index, local_index);
  hs_noise_mix_hash(&n, out, HDR_LEN);
  off = HDR_LEN;
  /* e */
  memcpy(out + off, e_pk, 32);
  off += 32;
  hs_noise_mix_hash(&n, e_pk, 32);
  hs_noise_mix_key(&n, e_pk, 32);
  /* ee, se (initiator's static, our ephemeral) */
  if ((rc = mix_dh(id, &n, e_sk, p->peer_e)) < 0 ||
      (rc = mix_dh(id, &n, e_sk, peer_s)) < 0)
    goto out;
  /* s: our certificate */
  pt[0] = (uint8_t)(id->cert_len >> 8);
  pt[1] = (uint8_t)id->cert_len;
  memcpy(pt + 2, id->cert_bin, id->cert_len);
  if ((rc = hs_noise_encrypt(&n, pt, 2 + id->cert_len, out + off)) < 0)
    goto out;
  off += 2 + id->cert_len + HS_NOISE_TAG;
  /* es (initiator's ephemeral, our static): proves we hold the key */
  if ((rc = mix_dh(id, &n, id->x_sk, p->peer_e)) < 0)
    goto out;
  /* payload: the negotiated cipher and format */
  choice[0] = (uint8_t)p->cipher;
  choice[1] = (uint8_t)p->fmt;
  for (unsigned i = 0; i < 8; i++)
    choice[4 + i] = (uint8_t)(id->boot >> (56 - 8 * i));
  if ((rc = hs_noise_encrypt(&n, choice, sizeof(choice), out + off)) < 0)
    goto out;
  off += sizeof(choice) + HS_NOISE_TAG;
  put_macs(id, out, total, NULL);

  hs_noise_split_key2(&n, res->key2);
  res->initiator = false;
  res->key_id = p->key_id;
  res->local_index = local_index;
  res->remote_index = p->remote_index;
  res->peer_cert = p->peer_cert;
  memcpy(res->peer_id, p->peer_id, RL_ID_LEN);
  res->cipher = p->cipher;
  res->fmt = p->fmt;
  res->peer_timestamp = p->peer_timestamp;
  res->peer_boot = p->peer_boot;
  rc = (int)total;
out:
  hs_noise_wipe(&n);
  sodium_memzero(e_sk, sizeof(e_sk));
  sodium_memzero(pt, sizeof(pt));
  hs_pending_wipe(p);
  if (rc < 0)
    sodium_memzero(res, sizeof(*res));
  return rc;
}

int hs_init_consume_resp(struct hs_initiation *st, const struct hs_identity *id,
                         const uint8_t *pkt, size_t len, uint64_t now,
                         struct hs_result *res) {
  struct hs_noise n;
  uint8_t pt[2 + CERT_BIN_MAX], choice[RESP_CHOICE_LEN], peer_s[32];
  const uint8_t *re;
  size_t cert_len, ctlen, off;
  struct cert peer;
  int rc;

  memset(res, 0, sizeof(*res));
  /* Work on a copy: a forged or stale HS_RESP must leave st usable. */
  hs_noise_resume(&n, st->ck, st->h);
  if (!st->active) {
    rc = RL_ESTATE;
    goto out;
  }
  if (len < RESP_MIN || len > HS_MSG_MAX || (pkt[0] >> 3) != HS_OP_RESP) {
    rc = RL_ETRUNC;
    goto out;
  }
  /* mac2 of an HS_RESP is reserved (we never ask a responder for a cookie)
   * and must be zero, so that no byte of an HS_RESP is malleable. */
  if (hs_pkt_index(pkt) != st->local_index || (pkt[0] & 7) != st->key_id ||
      !mac1_ok(id, pkt, len) || !sodium_is_zero(pkt + len - COOKIE_MAC_LEN, COOKIE_MAC_LEN)) {
    rc = RL_EAUTH;
    goto out;
  }
  hs_noise_mix_hash(&n, pkt, HDR_LEN);
  off = HDR_LEN;
  re = pkt + off;
  off += 32;
  hs_noise_mix_hash(&n, re, 32);
  hs_noise_mix_key(&n, re, 32);
  /* ee, se (our static, their ephemeral) */
  if ((rc = mix_dh(id, &n, st->e_sk, re)) < 0 ||
      (rc = mix_dh(id, &n, id->x_sk, re)) < 0)
    goto out;
  ctlen = len - off - (RESP_CHOICE_LEN + HS_NOISE_TAG) - MACS_LEN;
  if (ctlen < 2 + HS_NOISE_TAG || ctlen - HS_NOISE_TAG > sizeof(pt)) {
    rc = RL_ETRUNC;
    goto out;
  }
  if ((rc = hs_noise_decrypt(&n, pkt + off, ctlen, pt)) < 0)
    goto out;
  off += ctlen;
  cert_len = (size_t)pt[0] << 8 | pt[1];
  if (cert_len != ctlen - HS_NOISE_TAG - 2 ||
      cert_decode_bin(&peer, pt + 2, cert_len) < 0) {
    rc = RL_ETRUNC;
    goto out;
  }
  if ((rc = verify_peer_cert(id, &peer, now)) < 0)
    goto out;
  if (x_from_ed_pk(id, peer_s, peer.node_pk) != 0) {
    rc = RL_EAUTH;
    goto out;
  }
  /* es (our ephemeral, their static) */
  if ((rc = mix_dh(id, &n, st->e_sk, peer_s)) < 0)
    goto out;
  if ((rc = hs_noise_decrypt(&n, pkt + off, RESP_CHOICE_LEN + HS_NOISE_TAG, choice)) < 0)
    goto out;
  if (!cipher_valid(choice[0]) || !fmt_valid(choice[1]) ||
      !(local_cipher_mask() & cipher_bit(choice[0])) ||
      !(local_fmt_mask() & fmt_bit(choice[1]))) {
    rc = RL_EUNSUP;
    goto out;
  }
  hs_noise_split_key2(&n, res->key2);
  res->initiator = true;
  res->key_id = st->key_id;
  res->local_index = st->local_index;
  res->remote_index = (uint32_t)pkt[4] << 16 | (uint32_t)pkt[5] << 8 | pkt[6];
  res->peer_cert = peer;
  cert_node_id(&peer, res->peer_id);
  res->cipher = (enum dc_cipher)choice[0];
  res->fmt = (enum dc_format)choice[1];
  res->peer_timestamp = 0; /* ours, not the peer's: nothing to record */
  res->peer_boot = 0;
  for (unsigned i = 0; i < 8; i++)
    res->peer_boot = res->peer_boot << 8 | choice[4 + i];
  /* Done: the ephemeral is gone, a duplicate HS_RESP finds st inactive. */
  sodium_memzero(st->e_sk, sizeof(st->e_sk));
  sodium_memzero(st->ck, sizeof(st->ck));
  sodium_memzero(st->h, sizeof(st->h));
  st->active = false;
  rc = 0;
out:
  hs_noise_wipe(&n);
  sodium_memzero(pt, sizeof(pt));
  sodium_memzero(choice, sizeof(choice));
  if (rc < 0)
    sodium_memzero(res, sizeof(*res));
  return rc;
}

/* -------------------------------------------------------------- HS_COOKIE */

int hs_init_consume_cookie(struct hs_initiation *st, const struct hs_identity *id,
                           const uint8_t *pkt, size_t len, uint64_t now) {
  uint8_t cookie[COOKIE_LEN];
  int rc;
  if (!st->active)
    return RL_ESTATE;
  if (len != COOKIE_MSG_LEN || (pkt[0] >> 3) != HS_OP_COOKIE)
    return RL_ETRUNC;
  if (hs_pkt_index(pkt) != st->local_index || (pkt[0] & 7) != st->key_id)
    return RL_EAUTH;
  rc = cookie_reply_open(id->cookie_key, st->last_mac1, pkt, len, cookie);
  if (rc == 0) {
    memcpy(st->cookie, cookie, COOKIE_LEN);
    st->has_cookie = true;
    st->cookie_at_ns = now;
  }
  sodium_memzero(cookie, sizeof(cookie));
  return rc;
}
