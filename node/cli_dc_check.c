/* ringlan dc-check FILE.vec [--verbose]
 *
 * Checks captured OpenVPN data-channel packets (vector format: wire.md
 * section 9, parser crypto/dc_vec.c) against our data channel: the tag must
 * verify, and re-encrypting the recovered plaintext with the same key, IV
 * and packet id must reproduce the packet byte for byte. Each line is
 * checked on its own (fresh keys, empty replay window). Exit status 0 only
 * when every line passes and no line is malformed. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/dc.h"
#include "crypto/dc_vec.h"
#include "node/cli.h"

#define VEC_FILE_MAX (64u << 20)

struct vec_result {
  int dec;            /* plaintext length or RL_E* from dc_decrypt */
  int enc;            /* packet length or RL_E* from dc_encrypt_pid */
  bool identical;     /* re-encryption == pkt */
  bool keepalive;
  uint64_t pid;
  struct dc_hdr hdr;
  uint8_t pt[DC_VEC_PKT_MAX];
};

/* What the plaintext is, for --verbose. */
static const char *pt_kind(const uint8_t *pt, size_t n, char *buf, size_t cap) {
  if (dc_is_keepalive(pt, n))
    return "keepalive";
  if (n >= 16 && !memcmp(pt, DC_OCC_MAGIC, 16))
    return "OCC message";
  if (n >= 14) {
    snprintf(buf, cap, "Ethernet frame, ethertype 0x%02x%02x", pt[12], pt[13]);
    return buf;
  }
  return "short payload";
}

static void check_vector(const struct dc_vec *v, struct vec_result *res) {
  struct dc_rx rx;
  struct dc_tx tx;
  uint8_t out[DC_VEC_PKT_MAX + DC_OVERHEAD_MAX];
  memset(res, 0, sizeof(*res));
  res->enc = RL_ESTATE;
  dc_peek(v->pkt, v->pkt_len, &res->hdr);
  res->dec = dc_rx_init_raw(&rx, v->cipher, v->fmt, v->key, v->iv);
  if (res->dec < 0)
    return;
  int r = dc_tx_init_raw(&tx, v->cipher, v->fmt, v->key, v->iv);
  if (r < 0) {
    res->dec = r;
    dc_rx_wipe(&rx);
    return;
  }
  /* The line's key and IV belong to the packet's own epoch. */
  if (v->fmt == DC_FMT_EPOCH && v->pkt_len >= 6) {
    uint16_t e = (uint16_t)(v->pkt[4] << 8 | v->pkt[5]);
    if (e != 0)
      rx.epoch = tx.epoch = e;
  }
  res->dec = dc_decrypt(&rx, v->pkt, v->pkt_len, res->pt, sizeof(res->pt), 0, &res->pid);
  if (res->dec >= 0) {
    size_t n = (size_t)res->dec;
    res->keepalive = dc_is_keepalive(res->pt, n);
    res->enc = dc_encrypt_pid(&tx, res->hdr.key_id, res->hdr.peer_id, res->pid, res->pt, n,
                              out, sizeof(out));
    res->identical = res->enc >= 0 && (size_t)res->enc == v->pkt_len &&
                     !memcmp(out, v->pkt, v->pkt_len);
  }
  dc_rx_wipe(&rx);
  dc_tx_wipe(&tx);
}

static void print_result(unsigned lineno, const struct dc_vec *v, const struct vec_result *res,
                         bool verbose) {
  bool ok = res->dec >= 0 && res->identical;
  printf("line %u %s: ", lineno, v->name);
  if (res->dec == RL_EUNSUP)
    printf("FAIL (%s not available on this CPU)\n", dc_cipher_name(v->cipher));
  else if (res->dec == RL_EAUTH)
    printf("FAIL tag does not verify\n");
  else if (res->dec < 0)
    printf("FAIL cannot decrypt: %s\n", rl_strerror(res->dec));
  else
    printf("%s tag ok, re-encryption %s%s\n", ok ? "ok  " : "FAIL",
           res->identical ? "identical" : "differs", res->keepalive ? ", keepalive" : "");
  if (!verbose)
    return;
  printf("    %s %s, %zu bytes, opcode %u key_id %u peer-id 0x%06x", dc_cipher_name(v->cipher),
         v->fmt == DC_FMT_V2 ? "v2" : "epoch", v->pkt_len, res->hdr.opcode, res->hdr.key_id,
         (unsigned)res->hdr.peer_id);
  if (res->dec >= 0) {
    char kind[64];
    if (v->fmt == DC_FMT_EPOCH)
      printf(", epoch %u counter %llu", (unsigned)(res->pid >> 48),
             (unsigned long long)(res->pid & DC_PID_MAX_EPOCH));
    else
      printf(", packet id %llu", (unsigned long long)res->pid);
    printf("\n    plaintext %d bytes: %s\n", res->dec,
           pt_kind(res->pt, (size_t)res->dec, kind, sizeof(kind)));
  } else {
    printf("\n");
  }
}

int cli_dc_check(int argc, char **argv) {
  const char *path = NULL;
  bool verbose = false;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
      verbose = true;
    else if (argv[i][0] == '-' || path) {
      fprintf(stderr, "usage: ringlan dc-check FILE.vec [--verbose]\n");
      return 2;
    } else
      path = argv[i];
  }
  if (!path) {
    fprintf(stderr, "usage: ringlan dc-check FILE.vec [--verbose]\n");
    return 2;
  }
  char *buf;
  size_t len;
  int r = cli_read_file(path, VEC_FILE_MAX, &buf, &len);
  if (r < 0) {
    fprintf(stderr, "ringlan: %s: %s\n", path, rl_strerror(r));
    return 1;
  }
  struct dc_vec *v = malloc(sizeof(*v));
  struct vec_result *res = malloc(sizeof(*res));
  if (!v || !res) {
    free(v);
    free(res);
    free(buf);
    fprintf(stderr, "ringlan: out of memory\n");
    return 1;
  }
  unsigned lineno = 0, nvec = 0, nok = 0, nfail = 0, nbad = 0, nkeep = 0;
  size_t off = 0;
  while (off < len) {
    const char *line = buf + off;
    const char *nl = memchr(line, '\n', len - off);
    size_t llen = nl ? (size_t)(nl - line) : len - off;
    off += llen + (nl ? 1 : 0);
    lineno++;
    const char *why = NULL;
    r = dc_vec_parse_line(line, llen, v, &why);
    if (r < 0) {
      fprintf(stderr, "%s:%u: malformed line: %s\n", path, lineno, why ? why : "syntax error");
      nbad++;
      continue;
    }
    if (r == 0)
      continue;
    nvec++;
    check_vector(v, res);
    print_result(lineno, v, res, verbose);
    if (res->dec >= 0 && res->identical) {
      nok++;
      nkeep += res->keepalive;
    } else {
      nfail++;
    }
  }
  printf("%s: %u vectors, %u ok, %u failed, %u malformed lines, %u keepalives\n", path, nvec,
         nok, nfail, nbad, nkeep);
  if (nvec == 0 && nbad == 0)
    fprintf(stderr, "%s: no vectors in file\n", path);
  sodium_memzero(v, sizeof(*v));
  sodium_memzero(res, sizeof(*res));
  free(v);
  free(res);
  free(buf);
  return (nfail || nbad || nvec == 0) ? 1 : 0;
}
