/* Control requests from the socket (node/ctl.h) answered by the node core:
 * status/peers synchronously, lookup asynchronously under a cookie. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/drv.h"

typedef int (*render_fn)(const struct node *n, uint64_t now_ns, char *buf, size_t cap);

static void reply_error(struct ctl_client *cl, const char *msg) {
  char buf[512];
  size_t n = ctl_error_json(buf, sizeof(buf), msg);
  ctl_reply(cl, false, buf, n);
}

/* Renders into the shared buffer, growing it (up to DRV_CTL_BUF_MAX) when
 * the core says RL_ETOOBIG: status of a large node can be long. */
static void reply_rendered(struct drv *d, struct ctl_client *cl, render_fn fn, uint64_t now) {
  for (;;) {
    int n = fn(d->node, now, d->ctlbuf, d->ctlcap);
    if (n >= 0) {
      ctl_reply(cl, true, d->ctlbuf, (size_t)n);
      return;
    }
    if (n != RL_ETOOBIG || d->ctlcap >= DRV_CTL_BUF_MAX) {
      reply_error(cl, rl_strerror(n));
      return;
    }
    char *nb = realloc(d->ctlbuf, d->ctlcap * 2);
    if (!nb) {
      reply_error(cl, "out of memory");
      return;
    }
    d->ctlbuf = nb;
    d->ctlcap *= 2;
  }
}

/* "revoke BASE64": the binary form of a revocation (ringlan revoke). */
static void reply_revoke(struct drv *d, struct ctl_client *cl, const char *b64, uint64_t now) {
  uint8_t bin[REVOKE_BIN_MAX];
  struct revocation r;
  char hex[2 * RL_ID_LEN + 1], buf[160];
  size_t len = 0;
  int rc;
  if (sodium_base642bin(bin, sizeof(bin), b64, strlen(b64), NULL, &len, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      revoke_decode_bin(&r, bin, len) != 0) {
    reply_error(cl, "revoke: not a revocation");
    return;
  }
  rc = node_revoke(d->node, &r, now);
  if (rc < 0) {
    snprintf(buf, sizeof(buf), "revoke: %s", rc == RL_EFOREIGN ? "a revocation of another group"
                                             : rc == RL_EAUTH  ? "not signed by the group key"
                                                               : rl_strerror(rc));
    reply_error(cl, buf);
    return;
  }
  rl_hex_encode(hex, r.node_id, RL_ID_LEN);
  len = (size_t)snprintf(buf, sizeof(buf), "{\"revoked\":\"%s\",\"new\":%s,\"known\":%u}", hex,
                         rc == 1 ? "true" : "false", node_revoked_count(d->node));
  ctl_reply(cl, true, buf, len);
  drv_after_event(d, now); /* the flood goes out now */
}

void drv_ctl_request(void *ctx, struct ctl_client *cl, const char *line) {
  struct drv *d = ctx;
  uint64_t now = uv_hrtime();
  if (d->leaving || !d->node) {
    reply_error(cl, "the daemon is shutting down");
    return;
  }
  if (!strcmp(line, "status")) {
    reply_rendered(d, cl, node_status_text, now);
  } else if (!strcmp(line, "status json")) {
    reply_rendered(d, cl, node_status_json, now);
  } else if (!strcmp(line, "subrings")) {
    reply_rendered(d, cl, node_subrings_text, now);
  } else if (!strcmp(line, "subrings json")) {
    reply_rendered(d, cl, node_subrings_json, now);
  } else if (!strcmp(line, "peers") || !strcmp(line, "peers json")) {
    reply_rendered(d, cl, node_peers_json, now);
  } else if (!strncmp(line, "lookup ", 7)) {
    const char *what = line + 7;
    uint32_t cookie;
    while (*what == ' ')
      what++;
    if (!*what) {
      reply_error(cl, "lookup needs a VIP or a node ID");
      return;
    }
    cookie = ++d->next_cookie;
    if (cookie == 0)
      cookie = ++d->next_cookie;
    int rc = node_control_lookup(d->node, what, cookie, now);
    if (rc < 0) {
      char msg[160];
      snprintf(msg, sizeof(msg), "lookup %.64s: %s", what, rl_strerror(rc));
      reply_error(cl, msg);
      return;
    }
    ctl_client_wait(cl, cookie);
    /* The lookup produced datagrams (and maybe an immediate answer). */
    drv_after_event(d, now);
  } else if (!strncmp(line, "revoke ", 7)) {
    reply_revoke(d, cl, line + 7, now);
  } else {
    char msg[CTL_REQUEST_MAX + 96];
    snprintf(msg, sizeof(msg), "unknown request '%s' (expected status, status json, peers, "
             "peers json, subrings, subrings json, lookup X or revoke R)", line);
    reply_error(cl, msg);
  }
}
