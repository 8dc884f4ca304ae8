/* The daemon's INI configuration (docs/config.md lists every key).
 *
 *   [node]                      exactly once
 *   key = node.key              paths are relative to the config file's dir
 *   cert = node.cert
 *   group = group.pub
 *   listen = 0.0.0.0:42424
 *   tcp = yes                   also accept TCP at `listen`
 *   vlan = no                   VLAN-tagged frames from members (default: dropped)
 *   bootstrap = 192.0.2.1:42424, 198.51.100.7:42424
 *   revoked = bob.rev           revocation files (repeatable, comma lists)
 *   [peer]                      repeatable: a static peer
 *   endpoint = 203.0.113.5:42424
 *   pubkey = peer.pub           optional: a NODE.pub path or a base64 key
 *   [nat]                       at most once
 *   upnp = yes
 *
 * Parsing is push-based: cfg_parse_line() takes one line (no newline needed)
 * and keeps the section state in struct cfg, so a fuzzer or a test can feed
 * lines directly. Errors name the line: "line 7: unknown key 'foo' in [node]".
 * Nothing here reads files except cfg_read_file() and cfg_load_*().
 *
 * Ownership: struct cfg is a plain value (large: allocate it on the heap);
 * it owns no pointers. */
#ifndef RL_NODE_CONFIG_H
#define RL_NODE_CONFIG_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/env.h"

#define CFG_PATH_MAX 256
#define CFG_IFNAME_MAX 16
#define CFG_CONTROL_MAX 108        /* sizeof(sockaddr_un.sun_path) */
#define CFG_MAX_PEERS 64           /* = NODE_MAX_STATIC_PEERS */
#define CFG_MAX_BOOTSTRAP 16       /* = NODE_MAX_BOOTSTRAP */
#define CFG_LINE_MAX 1024
#define CFG_ERR_MAX 256            /* a good size for err buffers */
#define CFG_USER_MAX 33            /* user names: 1..32 bytes */
#define CFG_MAX_REVOKED 16         /* revoked = files */

#define CFG_DEFAULT_LISTEN "0.0.0.0:42424"
#define CFG_DEFAULT_TAP "rl%d"
#define CFG_DEFAULT_CONTROL "/run/ringlan/ringlan.sock"
#define CFG_DEFAULT_USER "ringlan"

/* Cipher choice: CFG_CIPHER_AUTO picks AES-256-GCM when the CPU has it
 * (crypto_aead_aes256gcm_is_available), else ChaCha20-Poly1305. */
enum cfg_cipher { CFG_CIPHER_AUTO = 0, CFG_CIPHER_AES256GCM, CFG_CIPHER_CHACHA20POLY1305 };
enum cfg_format { CFG_FORMAT_V2 = 0, CFG_FORMAT_EPOCH };

struct cfg_peer {
  struct rl_addr endpoint;
  unsigned line;                 /* of the [peer] header, for messages */
  bool has_pk;                   /* pubkey was an inline base64 key */
  uint8_t pk[32];
  char pubkey_path[CFG_PATH_MAX]; /* pubkey was a path ("" if none/inline) */
};

enum cfg_section { CFG_SEC_NONE = 0, CFG_SEC_NODE, CFG_SEC_PEER, CFG_SEC_NAT };

struct cfg {
  /* [node] */
  char key[CFG_PATH_MAX];
  char cert[CFG_PATH_MAX];
  char group[CFG_PATH_MAX];
  struct rl_addr listen;
  char tap[CFG_IFNAME_MAX];
  char control[CFG_CONTROL_MAX];
  char state[CFG_PATH_MAX];      /* "" = no persistent state */
  char user[CFG_USER_MAX];       /* run as this user after start-up; "" = CFG_DEFAULT_USER
                                    when that account exists, else stay root (drv_priv.c) */
  unsigned n_bootstrap;
  struct rl_addr bootstrap[CFG_MAX_BOOTSTRAP];
  enum cfg_cipher cipher;
  enum cfg_format format;
  unsigned keepalive_s;          /* default 10 */
  unsigned rekey_s;              /* default 3600 */
  unsigned link_timeout_s;       /* default 40 */
  unsigned idle_link_s;          /* default 300 */
  unsigned dht_replicas;         /* default 4 */
  int log_level;                 /* enum rl_log_level, default info */
  bool vlan;                     /* accept VLAN-tagged frames from members, default no */
  unsigned broadcast_rate;       /* overlay broadcasts a second per origin, default 100 */
  unsigned broadcast_burst;      /* ... in bursts of, default 200 */
  bool mcast_querier;            /* multicast_querier: IGMP/MLD querier on the TAP, default yes */
  unsigned n_revoked;            /* revoked = FILE[, FILE]: revocations (offline use) */
  char revoked[CFG_MAX_REVOKED][CFG_PATH_MAX];
  /* [peer] */
  unsigned n_peers;
  struct cfg_peer peers[CFG_MAX_PEERS];
  /* [nat] */
  bool tcp;                      /* [node] tcp: also listen on TCP at `listen`, default yes */
  bool upnp;                     /* default yes */
  bool natpmp;                   /* default yes */
  int lan_candidates;            /* allow_lan_candidates: enum node_lan_cands, default same-site */
  unsigned nat_keepalive_s;      /* default 25 */
  unsigned relay_kbps;           /* per pair forwarded as a relay, default 20000; 0 refuses */
  unsigned relay_source_kbps;    /* per source member, all its pairs, default 40000 */
  unsigned relay_total_kbps;     /* everything this member relays, default 100000 */

  /* Parser state. */
  char dir[CFG_PATH_MAX];        /* base for relative paths ("" = cwd) */
  unsigned line;                 /* lines fed so far = the current line */
  enum cfg_section section;
  unsigned n_node_sections, n_nat_sections;
  uint32_t seen;                 /* keys already set in the current section */
  unsigned link_timeout_line;
};

/* Defaults for every key; dir is the directory relative paths start from
 * (NULL or "" = leave them relative to the working directory). Returns
 * RL_ETOOBIG if dir is too long. */
int cfg_init(struct cfg *c, const char *dir);

/* Feeds one line (len bytes; a trailing "\n" or "\r\n" is allowed; no NUL
 * needed). Comments start with '#' or ';' at the start of a line or after
 * whitespace. Returns 0 or RL_EPARSE with "line N: reason" in err. */
int cfg_parse_line(struct cfg *c, const char *line, size_t len, char *err, size_t errcap);

/* After the last line: checks what a single line cannot (required keys,
 * [peer] without endpoint, link_timeout_s > keepalive_s). Returns 0 or
 * RL_EPARSE with the reason in err. */
int cfg_finish(struct cfg *c, char *err, size_t errcap);

/* cfg_parse_line over every line of text, then cfg_finish. */
int cfg_parse_text(struct cfg *c, const char *text, size_t len, char *err, size_t errcap);

/* Reads and parses the file at path (relative paths inside it are taken
 * relative to its directory). err gets "PATH: line N: reason" or
 * "PATH: cannot read: ...". Returns 0, RL_ENOENT, RL_EIO or RL_EPARSE. */
int cfg_read_file(struct cfg *c, const char *path, char *err, size_t errcap);

/* Name of a log level ("error".."debug"). */
const char *cfg_log_level_name(int level);

/* --- loading what the config points to (node/config_ident.c, config_load.c) --- */
struct node_config;
struct node_peer_cfg;
struct id_key;
struct cert;

/* Reads the key, cert and group files named by c, checks that the
 * certificate was issued for this key (RL_EAUTH) and verifies it against the
 * group key and the group's name at unix_s (cert_verify: RL_EFOREIGN,
 * RL_EAUTH, RL_EEXPIRED). Missing files: RL_ENOENT; malformed: RL_EPARSE.
 * err gets "PATH: reason". The key is wiped on failure. */
int cfg_load_identity(const struct cfg *c, uint64_t unix_s, struct id_key *key,
                      struct cert *cert, uint8_t group_pk[32], char *err, size_t errcap);

/* Fills a struct node_config (node/core/node.h) from a parsed config:
 * node_config_default(), cfg_load_identity(), cipher "auto" resolved on
 * this CPU (RL_EUNSUP if aes-256-gcm is forced without AES-NI), the
 * timers, bootstrap list and the static peers (cfg_load_peers). err gets "PATH: reason". The secret
 * key is wiped from *out on failure; on success the caller wipes it
 * (sodium_memzero) once node_new() has copied it. tap_name, store and the
 * cached endpoints are left to the driver. */
int cfg_load_node_config(const struct cfg *c, const struct rl_env *env, uint64_t unix_s,
                         struct node_config *out, char *err, size_t errcap);

/* The revocation files of `revoked =` (out: CFG_MAX_REVOKED), each parsed
 * and verified against the group key and name (RL_EPARSE, RL_EFOREIGN,
 * RL_EAUTH with "PATH: reason" in err). Also the reader of `ringlan revoke
 * FILE` (path given, group_pk NULL: syntax only). */
struct revocation;
int cfg_load_revocation(const char *path, const uint8_t *group_pk, const char *group,
                        struct revocation *out, char *err, size_t errcap);
int cfg_load_revocations(const struct cfg *c, const uint8_t group_pk[32], const char *group,
                         struct revocation *out, unsigned *n, char *err, size_t errcap);

/* The [peer] sections as node_peer_cfg entries (out: CFG_MAX_PEERS), reading
 * pubkey files (NODE.pub). A peer with a key is pinned. Used at start-up
 * and on SIGHUP. Returns 0 or an RL_E* with "PATH: reason" in err. */
int cfg_load_peers(const struct cfg *c, struct node_peer_cfg *out, unsigned *n, char *err,
                   size_t errcap);

#endif
