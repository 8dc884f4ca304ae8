/* INI configuration parser (push-based, one line at a time). Untrusted
 * input in the sense that it must never crash: every line is copied into a
 * bounded NUL-terminated buffer first, then parsed; fuzzed by
 * tests/fuzz/fuzz_config.c. */
#include <ctype.h>
#include <errno.h>
#include <ringlan/error.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/cli.h"
#include "node/config.h"
#include "node/core/node.h"

enum key_type { T_PATH, T_PATHLIST, T_CONTROL, T_IFNAME, T_ADDR, T_ADDRLIST, T_CIPHER, T_FORMAT,
                T_UINT, T_LOGLEVEL, T_BOOL, T_LANCANDS, T_PUBKEY, T_USER };

enum key_id {
  K_KEY, K_CERT, K_GROUP, K_LISTEN, K_TAP, K_CONTROL, K_STATE, K_BOOTSTRAP, K_CIPHER,
  K_FORMAT, K_KEEPALIVE, K_REKEY, K_LINK_TIMEOUT, K_IDLE_LINK, K_DHT_REPLICAS, K_LOG_LEVEL,
  K_PEER_ENDPOINT, K_PEER_PUBKEY, K_NAT_UPNP, K_NAT_NATPMP, K_NAT_LAN_CANDS, K_NAT_KEEPALIVE, K_NAT_RELAY_KBPS,
  K_TCP, K_USER, K_VLAN, K_NAT_RELAY_SRC_KBPS, K_NAT_RELAY_TOTAL_KBPS, K_REVOKED,
  K_BCAST_RATE, K_BCAST_BURST, K_MCAST_QUERIER, K_LAST_ = K_MCAST_QUERIER
};
_Static_assert(K_LAST_ < 32, "cfg.seen is a 32-bit mask of keys");

struct key_def {
  enum key_id id;
  enum cfg_section section;
  const char *name;
  enum key_type type;
  unsigned min, max;   /* T_UINT bounds */
  bool repeatable;
};

/* One row per key: the whole grammar in one place (docs/config.md mirrors it). */
static const struct key_def KEYS[] = {
    {K_KEY, CFG_SEC_NODE, "key", T_PATH, 0, 0, false},
    {K_CERT, CFG_SEC_NODE, "cert", T_PATH, 0, 0, false},
    {K_GROUP, CFG_SEC_NODE, "group", T_PATH, 0, 0, false},
    {K_LISTEN, CFG_SEC_NODE, "listen", T_ADDR, 0, 0, false},
    {K_TAP, CFG_SEC_NODE, "tap", T_IFNAME, 0, 0, false},
    {K_CONTROL, CFG_SEC_NODE, "control", T_CONTROL, 0, 0, false},
    {K_STATE, CFG_SEC_NODE, "state", T_PATH, 0, 0, false},
    {K_BOOTSTRAP, CFG_SEC_NODE, "bootstrap", T_ADDRLIST, 0, 0, true},
    {K_CIPHER, CFG_SEC_NODE, "cipher", T_CIPHER, 0, 0, false},
    {K_FORMAT, CFG_SEC_NODE, "format", T_FORMAT, 0, 0, false},
    {K_KEEPALIVE, CFG_SEC_NODE, "keepalive_s", T_UINT, 1, 3600, false},
    {K_REKEY, CFG_SEC_NODE, "rekey_s", T_UINT, 60, 86400, false},
    {K_LINK_TIMEOUT, CFG_SEC_NODE, "link_timeout_s", T_UINT, 2, 86400, false},
    {K_IDLE_LINK, CFG_SEC_NODE, "idle_link_s", T_UINT, 10, 86400, false},
    {K_DHT_REPLICAS, CFG_SEC_NODE, "dht_replicas", T_UINT, 3, 8, false},
    {K_LOG_LEVEL, CFG_SEC_NODE, "log_level", T_LOGLEVEL, 0, 0, false},
    {K_TCP, CFG_SEC_NODE, "tcp", T_BOOL, 0, 0, false},
    {K_USER, CFG_SEC_NODE, "user", T_USER, 0, 0, false},
    {K_VLAN, CFG_SEC_NODE, "vlan", T_BOOL, 0, 0, false},
    {K_REVOKED, CFG_SEC_NODE, "revoked", T_PATHLIST, 0, 0, true},
    {K_BCAST_RATE, CFG_SEC_NODE, "broadcast_rate", T_UINT, 1, 100000, false},
    {K_BCAST_BURST, CFG_SEC_NODE, "broadcast_burst", T_UINT, 1, 100000, false},
    {K_MCAST_QUERIER, CFG_SEC_NODE, "multicast_querier", T_BOOL, 0, 0, false},
    {K_PEER_ENDPOINT, CFG_SEC_PEER, "endpoint", T_ADDR, 0, 0, false},
    {K_PEER_PUBKEY, CFG_SEC_PEER, "pubkey", T_PUBKEY, 0, 0, false},
    {K_NAT_UPNP, CFG_SEC_NAT, "upnp", T_BOOL, 0, 0, false},
    {K_NAT_NATPMP, CFG_SEC_NAT, "natpmp", T_BOOL, 0, 0, false},
    {K_NAT_LAN_CANDS, CFG_SEC_NAT, "allow_lan_candidates", T_LANCANDS, 0, 0, false},
    {K_NAT_KEEPALIVE, CFG_SEC_NAT, "keepalive_s", T_UINT, 1, 3600, false},
    {K_NAT_RELAY_KBPS, CFG_SEC_NAT, "relay_kbps", T_UINT, 0, 10000000, false},
    {K_NAT_RELAY_SRC_KBPS, CFG_SEC_NAT, "relay_source_kbps", T_UINT, 0, 10000000, false},
    {K_NAT_RELAY_TOTAL_KBPS, CFG_SEC_NAT, "relay_total_kbps", T_UINT, 0, 10000000, false},
};

static const char *const SECTION_NAMES[] = {"", "node", "peer", "nat"};
static const char *const LOG_LEVELS[] = {"error", "warn", "info", "debug"};

const char *cfg_log_level_name(int level) {
  return level >= 0 && level <= RL_LOG_DEBUG ? LOG_LEVELS[level] : "?";
}

static int fail(const struct cfg *c, char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(const struct cfg *c, char *err, size_t errcap, const char *fmt, ...) {
  if (err && errcap) {
    va_list ap;
    int n = c->line ? snprintf(err, errcap, "line %u: ", c->line) : 0;
    if (n < 0 || (size_t)n >= errcap)
      n = 0;
    va_start(ap, fmt);
    vsnprintf(err + n, errcap - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return RL_EPARSE;
}

int cfg_init(struct cfg *c, const char *dir) {
  memset(c, 0, sizeof(*c));
  if (dir && strlen(dir) >= sizeof(c->dir))
    return RL_ETOOBIG;
  if (dir)
    snprintf(c->dir, sizeof(c->dir), "%s", dir);
  rl_addr_parse(&c->listen, CFG_DEFAULT_LISTEN);
  snprintf(c->tap, sizeof(c->tap), "%s", CFG_DEFAULT_TAP);
  snprintf(c->control, sizeof(c->control), "%s", CFG_DEFAULT_CONTROL);
  c->cipher = CFG_CIPHER_AUTO;
  c->format = CFG_FORMAT_V2;
  c->keepalive_s = 10;
  c->rekey_s = 3600;
  c->link_timeout_s = 40;
  c->idle_link_s = 300;
  c->dht_replicas = 4;
  c->broadcast_rate = 100;
  c->broadcast_burst = 200;
  c->mcast_querier = true;
  c->log_level = RL_LOG_INFO;
  c->upnp = true;
  c->natpmp = true;
  c->nat_keepalive_s = 25;
  c->relay_kbps = 20000;
  c->relay_source_kbps = 40000;
  c->relay_total_kbps = 100000;
  c->tcp = true;
  return 0;
}

static char *trim(char *s) {
  char *e;
  while (*s == ' ' || *s == '\t')
    s++;
  e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
    *--e = '\0';
  return s;
}

/* Joins the config directory and a relative path. */
static int set_path(const struct cfg *c, char *dst, size_t cap, const char *v, const char *key,
                    char *err, size_t errcap) {
  int n;
  size_t dl = strlen(c->dir);
  if (v[0] == '/' || !dl)
    n = snprintf(dst, cap, "%s", v);
  else
    n = snprintf(dst, cap, "%s%s%s", c->dir, c->dir[dl - 1] == '/' ? "" : "/", v);
  if (n < 0 || (size_t)n >= cap)
    return fail(c, err, errcap, "path for '%s' is too long (max %zu bytes with the config "
                "directory)", key, cap - 1);
  return 0;
}

static int parse_uint(const char *v, unsigned min, unsigned max, unsigned *out) {
  unsigned long x = 0;
  if (!*v)
    return -1;
  for (const char *p = v; *p; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    x = x * 10 + (unsigned long)(*p - '0');
    if (x > max)
      return -1;
  }
  if (x < min)
    return -1;
  *out = (unsigned)x;
  return 0;
}

static int parse_bool(const char *v, bool *out) {
  static const char *const yes[] = {"yes", "true", "on", "1"};
  static const char *const no[] = {"no", "false", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (!strcasecmp(v, yes[i])) {
      *out = true;
      return 0;
    }
    if (!strcasecmp(v, no[i])) {
      *out = false;
      return 0;
    }
  }
  return -1;
}

/* Numeric IPv4 ADDR:PORT or [IPv6]:PORT with a non-zero port; the
 * wildcard address (0.0.0.0, [::]) only where allow_any (the listen
 * address, where a "tcp:" prefix is refused too: the TCP listener follows
 * `listen` and `tcp`). Peers and bootstrap endpoints may say
 * "tcp:ADDR:PORT" (IPv4: the TCP transport is IPv4 only) to be dialled over
 * TCP only. */
static int parse_endpoint(const char *v, struct rl_addr *out, bool allow_any) {
  if (rl_addr_parse(out, v) != 0 || out->port == 0 ||
      (out->family != RL_AF_INET && out->family != RL_AF_INET6) ||
      (out->proto == RL_PROTO_TCP && (allow_any || out->family != RL_AF_INET)))
    return -1;
  if (!allow_any && rl_addr_is_any(out))
    return -1;
  return 0;
}

static int parse_ifname(const char *v, char *out, size_t cap) {
  size_t n = strlen(v);
  if (n == 0 || n >= cap)
    return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)v[i];
    if (!isalnum(ch) && ch != '-' && ch != '_' && ch != '.' && ch != '%')
      return -1;
  }
  memcpy(out, v, n + 1);
  return 0;
}

/* One entry of a comma-separated list (trimmed, not empty). */
typedef int (*list_item_fn)(struct cfg *c, char *item, char *err, size_t errcap);

/* Splits v at commas by hand (strtok would silently skip empty entries,
 * "a,,b") and hands each entry to fn; `what` names the list in errors. */
static int set_list(struct cfg *c, char *v, const char *what, list_item_fn fn, char *err,
                    size_t errcap) {
  for (char *tok = v; tok;) {
    char *comma = strchr(tok, ',');
    int rc;
    if (comma)
      *comma = '\0';
    char *item = trim(tok);
    if (!*item)
      return fail(c, err, errcap, "empty entry in %s list", what);
    if ((rc = fn(c, item, err, errcap)) != 0)
      return rc;
    tok = comma ? comma + 1 : NULL;
  }
  return 0;
}

static int add_bootstrap(struct cfg *c, char *item, char *err, size_t errcap) {
  if (c->n_bootstrap >= CFG_MAX_BOOTSTRAP)
    return fail(c, err, errcap, "too many bootstrap endpoints (max %d)", CFG_MAX_BOOTSTRAP);
  if (parse_endpoint(item, &c->bootstrap[c->n_bootstrap], false) != 0)
    return fail(c, err, errcap, "bad value for 'bootstrap': '%s' (expected IPv4 ADDR:PORT, "
                "[IPv6]:PORT or tcp:ADDR:PORT, e.g. 192.0.2.1:42424)", item);
  c->n_bootstrap++;
  return 0;
}

/* revoked = A.rev, B.rev (the key may repeat): revocation files. */
static int add_revoked(struct cfg *c, char *item, char *err, size_t errcap) {
  int rc;
  if (c->n_revoked >= CFG_MAX_REVOKED)
    return fail(c, err, errcap, "too many revocation files (max %d)", CFG_MAX_REVOKED);
  rc = set_path(c, c->revoked[c->n_revoked], sizeof(c->revoked[0]), item, "revoked", err,
                errcap);
  if (rc == 0)
    c->n_revoked++;
  return rc;
}

static int set_pubkey(struct cfg *c, struct cfg_peer *p, const char *v, char *err,
                      size_t errcap) {
  size_t n = 0;
  /* A 32-byte key in base64 is 44 characters ending in '='; anything else is
   * a path to a NODE.pub file (read at load time). */
  if (strlen(v) == 44 &&
      sodium_base642bin(p->pk, sizeof(p->pk), v, 44, NULL, &n, NULL,
                        sodium_base64_VARIANT_ORIGINAL) == 0 && n == sizeof(p->pk)) {
    p->has_pk = true;
    p->pubkey_path[0] = '\0';
    return 0;
  }
  return set_path(c, p->pubkey_path, sizeof(p->pubkey_path), v, "pubkey", err, errcap);
}

/* A portable user name (POSIX "portable filename characters", not starting
 * with '-'); the account itself is looked up at start-up (node/drv_priv.c). */
static bool user_name_ok(const char *v) {
  size_t n = strlen(v);
  if (n == 0 || n >= CFG_USER_MAX || v[0] == '-')
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
          (v[i] >= '0' && v[i] <= '9') || v[i] == '.' || v[i] == '_' || v[i] == '-'))
      return false;
  return true;
}

static int set_value(struct cfg *c, const struct key_def *k, char *v, char *err,
                     size_t errcap) {
  struct cfg_peer *peer = c->section == CFG_SEC_PEER ? &c->peers[c->n_peers - 1] : NULL;
  unsigned u = 0;
  bool b = false;
  switch (k->id) {
  case K_KEY:
    return set_path(c, c->key, sizeof(c->key), v, k->name, err, errcap);
  case K_CERT:
    return set_path(c, c->cert, sizeof(c->cert), v, k->name, err, errcap);
  case K_GROUP:
    return set_path(c, c->group, sizeof(c->group), v, k->name, err, errcap);
  case K_STATE:
    return set_path(c, c->state, sizeof(c->state), v, k->name, err, errcap);
  case K_CONTROL:
    return set_path(c, c->control, sizeof(c->control), v, k->name, err, errcap);
  case K_LISTEN:
    if (parse_endpoint(v, &c->listen, true) != 0)
      return fail(c, err, errcap, "bad value for 'listen': '%s' (expected IPv4 ADDR:PORT or "
                  "[IPv6]:PORT, e.g. 0.0.0.0:42424)", v);
    return 0;
  case K_USER:
    if (!user_name_ok(v))
      return fail(c, err, errcap, "bad value for 'user': '%s' (a user name of 1..%d characters "
                  "[A-Za-z0-9._-], not starting with '-')", v, CFG_USER_MAX - 1);
    snprintf(c->user, sizeof(c->user), "%s", v);
    return 0;
  case K_TAP:
    if (parse_ifname(v, c->tap, sizeof(c->tap)) != 0)
      return fail(c, err, errcap, "bad value for 'tap': '%s' (an interface name of 1..15 "
                  "characters [A-Za-z0-9._-], '%%d' for a number)", v);
    return 0;
  case K_BOOTSTRAP:
    return set_list(c, v, "bootstrap", add_bootstrap, err, errcap);
  case K_REVOKED:
    return set_list(c, v, "revoked", add_revoked, err, errcap);
  case K_CIPHER:
    if (!strcasecmp(v, "auto"))
      c->cipher = CFG_CIPHER_AUTO;
    else if (!strcasecmp(v, "aes-256-gcm"))
      c->cipher = CFG_CIPHER_AES256GCM;
    else if (!strcasecmp(v, "chacha20-poly1305"))
      c->cipher = CFG_CIPHER_CHACHA20POLY1305;
    else
      return fail(c, err, errcap, "bad value for 'cipher': '%s' (expected auto, aes-256-gcm "
                  "or chacha20-poly1305)", v);
    return 0;
  case K_FORMAT:
    if (!strcasecmp(v, "v2"))
      c->format = CFG_FORMAT_V2;
    else if (!strcasecmp(v, "epoch"))
      c->format = CFG_FORMAT_EPOCH;
    else
      return fail(c, err, errcap, "bad value for 'format': '%s' (expected v2 or epoch)", v);
    return 0;
  case K_LOG_LEVEL:
    for (int i = 0; i <= RL_LOG_DEBUG; i++)
      if (!strcasecmp(v, LOG_LEVELS[i])) {
        c->log_level = i;
        return 0;
      }
    return fail(c, err, errcap, "bad value for 'log_level': '%s' (expected error, warn, info "
                "or debug)", v);
  case K_KEEPALIVE:
  case K_REKEY:
  case K_LINK_TIMEOUT:
  case K_IDLE_LINK:
  case K_DHT_REPLICAS:
  case K_NAT_KEEPALIVE:
  case K_NAT_RELAY_KBPS:
  case K_NAT_RELAY_SRC_KBPS:
  case K_NAT_RELAY_TOTAL_KBPS:
  case K_BCAST_RATE:
  case K_BCAST_BURST:
    if (parse_uint(v, k->min, k->max, &u) != 0)
      return fail(c, err, errcap, "bad value for '%s': '%s' (expected an integer %u..%u)",
                  k->name, v, k->min, k->max);
    if (k->id == K_KEEPALIVE)
      c->keepalive_s = u;
    else if (k->id == K_REKEY)
      c->rekey_s = u;
    else if (k->id == K_LINK_TIMEOUT) {
      c->link_timeout_s = u;
      c->link_timeout_line = c->line;
    } else if (k->id == K_IDLE_LINK)
      c->idle_link_s = u;
    else if (k->id == K_DHT_REPLICAS)
      c->dht_replicas = u;
    else if (k->id == K_NAT_RELAY_KBPS)
      c->relay_kbps = u;
    else if (k->id == K_NAT_RELAY_SRC_KBPS)
      c->relay_source_kbps = u;
    else if (k->id == K_NAT_RELAY_TOTAL_KBPS)
      c->relay_total_kbps = u;
    else if (k->id == K_BCAST_RATE)
      c->broadcast_rate = u;
    else if (k->id == K_BCAST_BURST)
      c->broadcast_burst = u;
    else
      c->nat_keepalive_s = u;
    return 0;
  case K_NAT_LAN_CANDS:
    if (strcmp(v, "same-site") == 0)
      c->lan_candidates = NODE_LAN_CANDS_SAME_SITE;
    else if (parse_bool(v, &b) == 0)
      c->lan_candidates = b ? NODE_LAN_CANDS_YES : NODE_LAN_CANDS_NO;
    else
      return fail(c, err, errcap, "bad value for '%s': '%s' (expected same-site, yes or no)",
                  k->name, v);
    return 0;
  case K_NAT_UPNP:
  case K_NAT_NATPMP:
  case K_TCP:
  case K_VLAN:
  case K_MCAST_QUERIER:
    if (parse_bool(v, &b) != 0)
      return fail(c, err, errcap, "bad value for '%s': '%s' (expected yes or no)", k->name, v);
    if (k->id == K_TCP)
      c->tcp = b;
    else if (k->id == K_VLAN)
      c->vlan = b;
    else if (k->id == K_MCAST_QUERIER)
      c->mcast_querier = b;
    else if (k->id == K_NAT_UPNP)
      c->upnp = b;
    else
      c->natpmp = b;
    return 0;
  case K_PEER_ENDPOINT:
    if (parse_endpoint(v, &peer->endpoint, false) != 0)
      return fail(c, err, errcap, "bad value for 'endpoint': '%s' (expected IPv4 ADDR:PORT, "
                  "[IPv6]:PORT or tcp:ADDR:PORT, e.g. 203.0.113.5:42424)", v);
    return 0;
  case K_PEER_PUBKEY:
    return set_pubkey(c, peer, v, err, errcap);
  }
  return fail(c, err, errcap, "internal: unhandled key '%s'", k->name);
}

static int open_section(struct cfg *c, char *name, char *err, size_t errcap) {
  name = trim(name);
  if (!strcmp(name, "node")) {
    if (c->n_node_sections++)
      return fail(c, err, errcap, "duplicate section [node] (only one allowed)");
    c->section = CFG_SEC_NODE;
  } else if (!strcmp(name, "nat")) {
    if (c->n_nat_sections++)
      return fail(c, err, errcap, "duplicate section [nat] (only one allowed)");
    c->section = CFG_SEC_NAT;
  } else if (!strcmp(name, "peer")) {
    if (c->n_peers >= CFG_MAX_PEERS)
      return fail(c, err, errcap, "too many [peer] sections (max %d)", CFG_MAX_PEERS);
    memset(&c->peers[c->n_peers], 0, sizeof(c->peers[0]));
    c->peers[c->n_peers].line = c->line;
    c->n_peers++;
    c->section = CFG_SEC_PEER;
  } else {
    return fail(c, err, errcap, "unknown section [%s] (expected [node], [peer] or [nat])",
                name);
  }
  c->seen = 0;
  return 0;
}

int cfg_parse_line(struct cfg *c, const char *line, size_t len, char *err, size_t errcap) {
  char buf[CFG_LINE_MAX + 1];
  char *s, *eq, *key, *val;
  c->line++;
  while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
    len--;
  if (len > CFG_LINE_MAX)
    return fail(c, err, errcap, "line too long (max %d bytes)", CFG_LINE_MAX);
  if (memchr(line, '\0', len))
    return fail(c, err, errcap, "NUL byte in line");
  memcpy(buf, line, len);
  buf[len] = '\0';
  /* Comments: '#' or ';' at the start or after whitespace (so a value may
   * contain them, e.g. a path "a#b"). */
  for (char *p = buf; *p; p++)
    if ((*p == '#' || *p == ';') && (p == buf || p[-1] == ' ' || p[-1] == '\t')) {
      *p = '\0';
      break;
    }
  s = trim(buf);
  if (!*s)
    return 0;
  if (*s == '[') {
    char *close = strchr(s, ']');
    if (!close || close[1] != '\0')
      return fail(c, err, errcap, "malformed section header '%s' (expected [name])", s);
    *close = '\0';
    return open_section(c, s + 1, err, errcap);
  }
  eq = strchr(s, '=');
  if (!eq)
    return fail(c, err, errcap, "expected 'key = value' or '[section]', got '%s'", s);
  *eq = '\0';
  key = trim(s);
  val = trim(eq + 1);
  if (!*key)
    return fail(c, err, errcap, "missing key before '='");
  if (c->section == CFG_SEC_NONE)
    return fail(c, err, errcap, "key '%s' outside a section (start with [node])", key);
  for (size_t i = 0; i < sizeof(KEYS) / sizeof(KEYS[0]); i++) {
    const struct key_def *k = &KEYS[i];
    if (k->section != c->section || strcmp(k->name, key))
      continue;
    if (!*val)
      return fail(c, err, errcap, "empty value for '%s'", key);
    if ((c->seen & (1u << k->id)) && !k->repeatable)
      return fail(c, err, errcap, "duplicate key '%s' in [%s]", key,
                  SECTION_NAMES[c->section]);
    c->seen |= 1u << k->id;
    return set_value(c, k, val, err, errcap);
  }
  return fail(c, err, errcap, "unknown key '%s' in [%s]", key, SECTION_NAMES[c->section]);
}

int cfg_finish(struct cfg *c, char *err, size_t errcap) {
  unsigned saved = c->line;
  int rc = 0;
  c->line = 0; /* messages below name their own line */
  if (!c->n_node_sections)
    rc = fail(c, err, errcap, "missing section [node]");
  else if (!c->key[0])
    rc = fail(c, err, errcap, "missing key 'key' in [node] (the node's secret key file)");
  else if (!c->cert[0])
    rc = fail(c, err, errcap, "missing key 'cert' in [node] (the node's certificate file)");
  else if (!c->group[0])
    rc = fail(c, err, errcap, "missing key 'group' in [node] (the group's public key file)");
  else if (c->link_timeout_s <= c->keepalive_s) {
    c->line = c->link_timeout_line;
    rc = fail(c, err, errcap, "link_timeout_s (%u) must be larger than keepalive_s (%u)",
              c->link_timeout_s, c->keepalive_s);
  }
  for (unsigned i = 0; !rc && i < c->n_peers; i++)
    if (c->peers[i].endpoint.family == RL_AF_NONE) {
      c->line = c->peers[i].line;
      rc = fail(c, err, errcap, "[peer] without 'endpoint'");
    }
  c->line = saved;
  return rc;
}

int cfg_parse_text(struct cfg *c, const char *text, size_t len, char *err, size_t errcap) {
  size_t off = 0;
  while (off < len) {
    const char *nl = memchr(text + off, '\n', len - off);
    size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
    int rc = cfg_parse_line(c, text + off, n, err, errcap);
    if (rc)
      return rc;
    off += n + (nl ? 1 : 0);
  }
  return cfg_finish(c, err, errcap);
}

int cfg_read_file(struct cfg *c, const char *path, char *err, size_t errcap) {
  char dir[CFG_PATH_MAX], msg[CFG_ERR_MAX];
  const char *slash = strrchr(path, '/');
  char *text = NULL;
  size_t len = 0;
  int rc;
  if (!slash)
    dir[0] = '\0';
  else if ((size_t)(slash - path) >= sizeof(dir))
    return RL_ETOOBIG;
  else if (slash == path)
    snprintf(dir, sizeof(dir), "/");
  else
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
  rc = cfg_init(c, dir);
  if (rc)
    return rc;
  rc = cli_read_file(path, 1 << 20, &text, &len);
  if (rc) {
    if (err)
      snprintf(err, errcap, "%s: cannot read: %s", path,
               rc == RL_ENOENT ? "no such file" : rl_strerror(rc));
    return rc;
  }
  rc = cfg_parse_text(c, text, len, msg, sizeof(msg));
  free(text);
  if (rc && err)
    snprintf(err, errcap, "%s: %s", path, msg);
  return rc;
}
