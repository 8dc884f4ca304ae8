/* ringlan keygen / group init / group sign / cert show (docs/cli.md).
 *
 * The only place identities and certificates meet the file system and the
 * wall clock; the formats themselves live in crypto/identity.c and
 * crypto/cert.c. Exit status: 0 ok, 1 failure, 2 usage error. */
#include <errno.h>
#include <limits.h>
#include <ringlan/error.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/armor.h"
#include "crypto/cert.h"
#include "crypto/identity.h"
#include "crypto/revoke.h"
#include "node/cli.h"

#define KEY_FILE_MAX 4096
#define CLI_PATH_ERR (PATH_MAX + 200) /* messages naming a path twice */
#define DEFAULT_DAYS 365
#define MAX_DAYS 36500
#define DEFAULT_PREFIX 10 /* 100.64.0.0/10, RFC 6598 shared address space */
/* New certificates start a little in the past so that members whose clocks
 * run slightly behind the admin's accept them at once. */
#define CLOCK_SKEW_S 3600

/* ---- argument checking ---- */

/* Accepts argv when every element is a known "--opt VALUE", a known flag,
 * or (at most max_pos) positional arguments. Prints the problem. */
static bool args_ok(int argc, char **argv, const char *const *opts, const char *const *flags,
                    int max_pos, const char *cmd) {
  int pos = 0;
  for (int i = 0; i < argc; i++) {
    bool known = false;
    for (const char *const *o = opts; o && *o; o++)
      if (!strcmp(argv[i], *o)) {
        if (i + 1 >= argc) {
          fprintf(stderr, "ringlan %s: option %s needs a value\n", cmd, argv[i]);
          return false;
        }
        i++;
        known = true;
        break;
      }
    for (const char *const *f = flags; !known && f && *f; f++)
      if (!strcmp(argv[i], *f))
        known = true;
    if (known)
      continue;
    if (argv[i][0] == '-' && argv[i][1] != '\0') {
      fprintf(stderr, "ringlan %s: unknown option '%s'\n", cmd, argv[i]);
      return false;
    }
    if (++pos > max_pos) {
      fprintf(stderr, "ringlan %s: unexpected argument '%s'\n", cmd, argv[i]);
      return false;
    }
  }
  return true;
}

static const char *first_positional(int argc, char **argv, const char *const *opts) {
  for (int i = 0; i < argc; i++) {
    bool is_opt = false;
    for (const char *const *o = opts; *o; o++)
      if (!strcmp(argv[i], *o))
        is_opt = true;
    if (is_opt) {
      i++;
      continue;
    }
    if (argv[i][0] != '-')
      return argv[i];
  }
  return NULL;
}

static int usage(const char *cmd, const char *text) {
  fprintf(stderr, "usage: ringlan %s\n", text);
  (void)cmd;
  return 2;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out) {
  char *end = NULL;
  unsigned long long v;
  if (!s || !*s || *s == '-' || *s == '+')
    return false;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno || *end || v > max)
    return false;
  *out = v;
  return true;
}

/* ---- files ---- */

static bool file_exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* "NODE.key" -> "NODE.pub"; any other name gets ".pub" appended. */
static int pub_path_for(const char *key_path, char *out, size_t cap) {
  size_t n = strlen(key_path);
  int w;
  if (n > 4 && !strcmp(key_path + n - 4, ".key"))
    w = snprintf(out, cap, "%.*s.pub", (int)(n - 4), key_path);
  else
    w = snprintf(out, cap, "%s.pub", key_path);
  return (w < 0 || (size_t)w >= cap) ? RL_ETOOBIG : 0;
}

static int read_text(const char *path, char **buf, size_t *len, unsigned *mode) {
  int rc = cli_read_file_mode(path, KEY_FILE_MAX, buf, len, mode);
  if (rc == RL_ENOENT)
    fprintf(stderr, "ringlan: %s: no such file\n", path);
  else if (rc == RL_ETOOBIG)
    fprintf(stderr, "ringlan: %s: larger than %d bytes, not a ringlan file\n", path,
            KEY_FILE_MAX);
  else if (rc != 0)
    fprintf(stderr, "ringlan: %s: cannot read: %s\n", path, strerror(errno));
  return rc;
}

static void free_secret_text(char *buf, size_t len) {
  if (buf) {
    sodium_memzero(buf, len);
    free(buf);
  }
}

static int load_key(const char *path, const char *kind, struct id_key *k, char *name) {
  char *buf = NULL, err[CLI_PATH_ERR];
  size_t len = 0;
  int rc = cli_read_secret_file(path, KEY_FILE_MAX, &buf, &len, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    return rc;
  }
  rc = id_key_parse(k, kind, name, RL_GROUP_NAME_MAX + 1, buf, len, err, sizeof(err));
  if (rc != 0)
    fprintf(stderr, "ringlan: %s: %s\n", path, err[0] ? err : rl_strerror(rc));
  free_secret_text(buf, len);
  return rc;
}

/* Public keys may come from a .pub file or from the secret .key file. */
static int load_pub(const char *path, const char *kind, uint8_t pk[RL_PK_LEN], char *name) {
  char *buf = NULL, err[CLI_PATH_ERR];
  size_t len = 0;
  unsigned mode = 0;
  int rc = read_text(path, &buf, &len, &mode);
  if (rc != 0)
    return rc;
  /* A secret key file given for its public half: its mode is checked too. */
  if (cli_text_is_secret_key(buf) &&
      (rc = cli_secret_mode_check(path, mode, err, sizeof(err))) != 0) {
    fprintf(stderr, "ringlan: %s\n", err);
    free_secret_text(buf, len);
    return rc;
  }
  rc = id_pub_parse(pk, kind, name, RL_GROUP_NAME_MAX + 1, buf, len, err, sizeof(err));
  if (rc != 0)
    fprintf(stderr, "ringlan: %s: %s\n", path, err[0] ? err : rl_strerror(rc));
  free_secret_text(buf, len);
  return rc;
}

static int write_key_file(const char *path, const char *text, size_t len, unsigned mode,
                          bool replace) {
  int rc = replace ? cli_write_file(path, text, len, mode)
                   : cli_write_new_file(path, text, len, mode);
  if (rc == RL_EEXIST)
    fprintf(stderr, "ringlan: %s exists; refusing to overwrite a key (use --force)\n", path);
  else if (rc == RL_EREFUSED)
    fprintf(stderr, "ringlan: %s is a symbolic link; refusing to write a key through it\n",
            path);
  else if (rc)
    fprintf(stderr, "ringlan: cannot write %s: %s\n", path, strerror(errno));
  return rc;
}

/* Writes NAME.key (0600) and NAME.pub (0644) for a fresh key pair. */
static int write_key_pair(const struct id_key *k, const char *kind, const char *name,
                          const char *out, bool force) {
  char keytext[1024], pubtext[1024], pubpath[PATH_MAX];
  int kn, pn, rc = 1;
  if (pub_path_for(out, pubpath, sizeof(pubpath)) != 0) {
    fprintf(stderr, "ringlan: %s: path too long\n", out);
    return 1;
  }
  if (!force && (file_exists(out) || file_exists(pubpath))) {
    fprintf(stderr, "ringlan: %s exists; refusing to overwrite a key (use --force)\n",
            file_exists(out) ? out : pubpath);
    return 1;
  }
  kn = id_key_encode(k, kind, name, keytext, sizeof(keytext));
  pn = id_pub_encode(k->pk, kind, name, pubtext, sizeof(pubtext));
  if (kn < 0 || pn < 0) {
    fprintf(stderr, "ringlan: cannot encode the key: %s\n", rl_strerror(kn < 0 ? kn : pn));
    goto out;
  }
  /* Without --force nothing is replaced, even if a file or link appeared
   * since the check above; with it, a symbolic link is still refused. */
  if (write_key_file(out, keytext, (size_t)kn, 0600, force) != 0)
    goto out;
  if (write_key_file(pubpath, pubtext, (size_t)pn, 0644, force) != 0) {
    if (!force)
      unlink(out); /* written by us a moment ago: no half pair */
    goto out;
  }
  fprintf(stderr, "wrote %s (secret, mode 0600) and %s\n", out, pubpath);
  rc = 0;
out:
  sodium_memzero(keytext, sizeof(keytext));
  return rc;
}

static void sys_env(struct rl_env *env) {
  memset(env, 0, sizeof(*env));
  env->rand = cli_sys_rand;
}

/* ---- ringlan keygen ---- */

#define KEYGEN_USAGE "keygen --out NODE.key [--name NAME] [--force]"

int cli_keygen(int argc, char **argv) {
  static const char *const opts[] = {"--out", "--name", NULL};
  static const char *const flags[] = {"--force", NULL};
  const char *out = cli_opt(argc, argv, "--out"), *name = cli_opt(argc, argv, "--name");
  struct rl_env env;
  struct id_key k;
  uint8_t id[RL_ID_LEN];
  char hex[2 * RL_ID_LEN + 1];
  int rc;

  if (!args_ok(argc, argv, opts, flags, 0, "keygen") || !out)
    return usage("keygen", KEYGEN_USAGE);
  if (name && !armor_name_ok(name, strlen(name), RL_GROUP_NAME_MAX)) {
    fprintf(stderr, "ringlan keygen: bad name '%s' (1..%d characters of A-Z a-z 0-9 . _ -)\n",
            name, RL_GROUP_NAME_MAX);
    return 2;
  }
  sys_env(&env);
  if (id_generate(&k, &env) != 0) {
    fprintf(stderr, "ringlan keygen: key generation failed\n");
    return 1;
  }
  rc = write_key_pair(&k, "node", name, out, cli_flag(argc, argv, "--force"));
  if (rc == 0) {
    id_overlay_id(k.pk, id);
    rl_hex_encode(hex, id, sizeof(id));
    printf("%s\n", hex);
  }
  id_wipe(&k);
  return rc;
}

/* ---- ringlan group init | sign ---- */

#define GROUP_INIT_USAGE "group init --name NAME --out GROUP.key [--force]"
#define GROUP_SIGN_USAGE                                                                   \
  "group sign --group-key GROUP.key --pub NODE.pub --ip 100.64.0.2[/10] [--days N]\n"      \
  "                  [--not-before UNIX_S] [--subring NAME]... --out NODE.cert"

static int group_init(int argc, char **argv) {
  static const char *const opts[] = {"--out", "--name", NULL};
  static const char *const flags[] = {"--force", NULL};
  const char *out = cli_opt(argc, argv, "--out"), *name = cli_opt(argc, argv, "--name");
  struct rl_env env;
  struct id_key k;
  char b64[64];
  int rc;

  if (!args_ok(argc, argv, opts, flags, 0, "group init") || !out || !name)
    return usage("group", GROUP_INIT_USAGE);
  if (!armor_name_ok(name, strlen(name), RL_GROUP_NAME_MAX)) {
    fprintf(stderr,
            "ringlan group init: bad group name '%s' (1..%d characters of A-Z a-z 0-9 . _ -)\n",
            name, RL_GROUP_NAME_MAX);
    return 2;
  }
  sys_env(&env);
  if (id_generate(&k, &env) != 0) {
    fprintf(stderr, "ringlan group init: key generation failed\n");
    return 1;
  }
  rc = write_key_pair(&k, "group", name, out, cli_flag(argc, argv, "--force"));
  if (rc == 0) {
    armor_b64_encode(b64, sizeof(b64), k.pk, RL_PK_LEN);
    printf("group %s: public key %s\n", name, b64);
  }
  id_wipe(&k);
  return rc;
}

static int group_sign(int argc, char **argv) {
  static const char *const opts[] = {"--group-key", "--pub", "--ip", "--days", "--subring",
                                     "--out", "--not-before", NULL};
  const char *gk_path = cli_opt(argc, argv, "--group-key");
  const char *pub_path = cli_opt(argc, argv, "--pub");
  const char *ip = cli_opt(argc, argv, "--ip");
  const char *days_s = cli_opt(argc, argv, "--days");
  const char *nb_s = cli_opt(argc, argv, "--not-before");
  const char *out = cli_opt(argc, argv, "--out");
  struct id_key gk;
  struct cert c;
  char gname[RL_GROUP_NAME_MAX + 1], nname[RL_GROUP_NAME_MAX + 1], text[CERT_TEXT_MAX];
  char vip[CERT_VIP_STRLEN], t[CERT_TIME_STRLEN], hex[2 * RL_ID_LEN + 1];
  uint8_t id[RL_ID_LEN];
  uint64_t days = DEFAULT_DAYS, now = (uint64_t)time(NULL), nb;
  int n, rc = 1;

  if (!args_ok(argc, argv, opts, NULL, 0, "group sign") || !gk_path || !pub_path || !ip ||
      !out)
    return usage("group", GROUP_SIGN_USAGE);
  memset(&c, 0, sizeof(c));
  c.version = 1;
  if (cert_vip_parse(ip, strlen(ip), DEFAULT_PREFIX, &c.vip, &c.prefix) != 0) {
    fprintf(stderr, "ringlan group sign: bad --ip '%s' (want A.B.C.D or A.B.C.D/PREFIX, "
                    "prefix 1..32)\n", ip);
    return 2;
  }
  if (!cert_vip_is_host(c.vip, c.prefix)) {
    cert_vip_format(c.vip, c.prefix, vip);
    fprintf(stderr, "ringlan group sign: %s is the %s address of its network, not a host "
                    "address\n", vip, (c.vip & (0xFFFFFFFFu >> c.prefix)) ? "broadcast"
                                                                          : "network");
    return 2;
  }
  if (days_s && !parse_u64(days_s, MAX_DAYS, &days)) {
    fprintf(stderr, "ringlan group sign: bad --days '%s' (1..%d)\n", days_s, MAX_DAYS);
    return 2;
  }
  if (days == 0) {
    fprintf(stderr, "ringlan group sign: --days must be at least 1\n");
    return 2;
  }
  if (nb_s) {
    if (!parse_u64(nb_s, UINT64_MAX - MAX_DAYS * 86400ULL, &nb)) {
      fprintf(stderr, "ringlan group sign: bad --not-before '%s' (unix seconds)\n", nb_s);
      return 2;
    }
    c.not_before = nb;
    c.not_after = nb + days * 86400;
  } else {
    c.not_before = now > CLOCK_SKEW_S ? now - CLOCK_SKEW_S : 0;
    c.not_after = now + days * 86400;
  }
  for (int i = 0; i + 1 < argc; i++) {
    if (strcmp(argv[i], "--subring") != 0)
      continue;
    const char *s = argv[++i];
    if (!armor_name_ok(s, strlen(s), CERT_SUBRING_MAX)) {
      fprintf(stderr, "ringlan group sign: bad subring name '%s' (1..%d characters of "
                      "A-Z a-z 0-9 . _ -)\n", s, CERT_SUBRING_MAX);
      return 2;
    }
    if (c.n_subrings == CERT_MAX_SUBRINGS) {
      fprintf(stderr, "ringlan group sign: at most %d subrings\n", CERT_MAX_SUBRINGS);
      return 2;
    }
    for (unsigned j = 0; j < c.n_subrings; j++)
      if (!strcmp(c.subrings[j], s)) {
        fprintf(stderr, "ringlan group sign: subring '%s' given twice\n", s);
        return 2;
      }
    strcpy(c.subrings[c.n_subrings++], s);
  }

  if (load_pub(pub_path, "node", c.node_pk, nname) != 0)
    return 1;
  if (load_key(gk_path, "group", &gk, gname) != 0)
    return 1;
  strcpy(c.group, gname);
  if ((rc = cert_sign(&c, &gk)) != 0) {
    fprintf(stderr, "ringlan group sign: cannot sign: %s\n", rl_strerror(rc));
    rc = 1;
    goto out;
  }
  rc = 1;
  if ((n = cert_encode_text(&c, text, sizeof(text))) < 0) {
    fprintf(stderr, "ringlan group sign: cannot encode: %s\n", rl_strerror(n));
    goto out;
  }
  if ((rc = cli_write_file(out, text, (size_t)n, 0644)) != 0) {
    fprintf(stderr, "ringlan group sign: cannot write %s: %s\n", out,
            rc == RL_EREFUSED ? "a symbolic link; refusing to write through it"
                              : strerror(errno));
    rc = 1;
    goto out;
  }
  cert_vip_format(c.vip, c.prefix, vip);
  cert_node_id(&c, id);
  rl_hex_encode(hex, id, sizeof(id));
  cert_time_format(c.not_after, t);
  printf("signed %s: group %s, vip %s, overlay-id %s, valid until %s\n", out, c.group, vip,
         hex, t);
  rc = 0;
out:
  id_wipe(&gk);
  return rc;
}

/* ---- ringlan group revoke ---- */

#define GROUP_REVOKE_USAGE                                                                 \
  "group revoke --group-key GROUP.key (--cert NODE.cert | --id OVERLAY_ID) --out NODE.rev"

static int group_revoke(int argc, char **argv) {
  static const char *const opts[] = {"--group-key", "--cert", "--id", "--out", NULL};
  const char *gk_path = cli_opt(argc, argv, "--group-key");
  const char *cert_path = cli_opt(argc, argv, "--cert");
  const char *id_s = cli_opt(argc, argv, "--id");
  const char *out = cli_opt(argc, argv, "--out");
  struct id_key gk;
  struct revocation r;
  char gname[RL_GROUP_NAME_MAX + 1], text[REVOKE_TEXT_MAX], hex[2 * RL_ID_LEN + 1];
  int n, rc = 1;

  if (!args_ok(argc, argv, opts, NULL, 0, "group revoke") || !gk_path || !out ||
      !cert_path == !id_s)
    return usage("group", GROUP_REVOKE_USAGE);
  memset(&r, 0, sizeof(r));
  r.version = 1;
  r.revoked_at = (uint64_t)time(NULL);
  if (id_s && (strlen(id_s) != 2 * RL_ID_LEN ||
               rl_hex_decode(r.node_id, RL_ID_LEN, id_s, strlen(id_s)) != RL_ID_LEN)) {
    fprintf(stderr, "ringlan group revoke: bad --id '%s' (40 hex digits: the overlay-id of "
                    "the certificate)\n", id_s);
    return 2;
  }
  if (cert_path) {
    struct cert c;
    char *ctext = NULL, why[160] = "";
    size_t len = 0;
    if (cli_read_file(cert_path, CERT_TEXT_MAX * 2, &ctext, &len) != 0) {
      fprintf(stderr, "ringlan group revoke: cannot read %s\n", cert_path);
      return 1;
    }
    rc = cert_parse_text(&c, ctext, len, why, sizeof(why));
    free(ctext);
    if (rc) {
      fprintf(stderr, "ringlan group revoke: %s: not a certificate: %s\n", cert_path, why);
      return 1;
    }
    cert_node_id(&c, r.node_id);
  }
  if (load_key(gk_path, "group", &gk, gname) != 0)
    return 1;
  strcpy(r.group, gname);
  rc = 1;
  if (revoke_sign(&r, &gk) != 0 || (n = revoke_encode_text(&r, text, sizeof(text))) < 0) {
    fprintf(stderr, "ringlan group revoke: cannot sign the revocation\n");
    goto out;
  }
  if (cli_write_file(out, text, (size_t)n, 0644) != 0) {
    fprintf(stderr, "ringlan group revoke: cannot write %s: %s\n", out, strerror(errno));
    goto out;
  }
  rl_hex_encode(hex, r.node_id, RL_ID_LEN);
  printf("revoked %s: group %s, overlay-id %s\n", out, r.group, hex);
  rc = 0;
out:
  id_wipe(&gk);
  return rc;
}

int cli_group(int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "init"))
    return group_init(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "sign"))
    return group_sign(argc - 1, argv + 1);
  if (argc >= 1 && !strcmp(argv[0], "revoke"))
    return group_revoke(argc - 1, argv + 1);
  fprintf(stderr, "usage: ringlan " GROUP_INIT_USAGE "\n       ringlan " GROUP_SIGN_USAGE
                  "\n       ringlan " GROUP_REVOKE_USAGE "\n");
  return 2;
}

/* ---- ringlan cert show ---- */

#define CERT_SHOW_USAGE "cert show NODE.cert [--group GROUP.pub]"

static void print_cert(const struct cert *c, const char *path) {
  char b64[RL_SIG_LEN * 2], hex[2 * RL_ID_LEN + 1], vip[CERT_VIP_STRLEN], t[CERT_TIME_STRLEN];
  uint8_t id[RL_ID_LEN];
  printf("certificate: %s\n", path);
  printf("  version:    %u\n", c->version);
  printf("  group:      %s\n", c->group);
  armor_b64_encode(b64, sizeof(b64), c->group_pk, RL_PK_LEN);
  printf("  group-key:  %s\n", b64);
  armor_b64_encode(b64, sizeof(b64), c->node_pk, RL_PK_LEN);
  printf("  node-key:   %s\n", b64);
  cert_node_id(c, id);
  rl_hex_encode(hex, id, sizeof(id));
  printf("  overlay-id: %s\n", hex);
  cert_vip_format(c->vip, c->prefix, vip);
  printf("  vip:        %s\n", vip);
  cert_time_format(c->not_before, t);
  printf("  not-before: %s (%llu)\n", t, (unsigned long long)c->not_before);
  cert_time_format(c->not_after, t);
  printf("  not-after:  %s (%llu)\n", t, (unsigned long long)c->not_after);
  printf("  subrings:   ");
  if (c->n_subrings == 0)
    printf("(none)");
  for (unsigned i = 0; i < c->n_subrings; i++)
    printf("%s%s", i ? ", " : "", c->subrings[i]);
  printf("\n");
  armor_b64_encode(b64, sizeof(b64), c->sig, RL_SIG_LEN);
  printf("  signature:  %s\n", b64);
}

static int cert_show(int argc, char **argv) {
  static const char *const opts[] = {"--group", NULL};
  const char *path = first_positional(argc, argv, opts);
  const char *gpath = cli_opt(argc, argv, "--group");
  char *buf = NULL, err[200], gname[RL_GROUP_NAME_MAX + 1], t[CERT_TIME_STRLEN];
  uint8_t gpk[RL_PK_LEN];
  size_t len;
  struct cert c;
  uint64_t now = (uint64_t)time(NULL);
  int rc;

  if (!args_ok(argc, argv, opts, NULL, 1, "cert show") || !path)
    return usage("cert", CERT_SHOW_USAGE);
  if (read_text(path, &buf, &len, NULL) != 0)
    return 1;
  rc = cert_parse_text(&c, buf, len, err, sizeof(err));
  free_secret_text(buf, len); /* someone may pass a .key file by mistake */
  if (rc != 0) {
    fprintf(stderr, "ringlan: %s: %s\n", path, err);
    return 1;
  }
  if (gpath && load_pub(gpath, "group", gpk, gname) != 0)
    return 1;
  print_cert(&c, path);

  rc = cert_verify(&c, gpath ? gpk : NULL, gpath ? gname : NULL, now);
  switch (rc) {
  case 0:
    printf("  verified:   signature by the group key above\n");
    if (gpath)
      printf("  membership: member of group '%s' (key matches %s)\n", gname, gpath);
    else
      printf("  membership: not checked (give --group GROUP.pub)\n");
    cert_time_format(c.not_after, t);
    printf("  validity:   valid now, until %s\n", t);
    return 0;
  case RL_EFOREIGN:
    if (strcmp(gname, c.group) != 0)
      fprintf(stderr, "ringlan: %s: INVALID: belongs to group '%s', not '%s' (%s)\n", path,
              c.group, gname, gpath);
    else
      fprintf(stderr, "ringlan: %s: INVALID: signed for another group named '%s', whose key "
                      "differs from %s\n", path, c.group, gpath);
    return 1;
  case RL_EAUTH:
    fprintf(stderr, "ringlan: %s: INVALID: bad signature (altered, or not signed by the "
                    "group key it names)\n", path);
    return 1;
  case RL_EEXPIRED:
    if (now < c.not_before) {
      cert_time_format(c.not_before, t);
      fprintf(stderr, "ringlan: %s: INVALID: not valid before %s\n", path, t);
    } else {
      cert_time_format(c.not_after, t);
      fprintf(stderr, "ringlan: %s: INVALID: expired on %s\n", path, t);
    }
    return 1;
  case RL_EINVAL:
    fprintf(stderr, "ringlan: %s: INVALID: malformed fields (group name, prefix, address or "
                    "validity period)\n", path);
    return 1;
  default:
    fprintf(stderr, "ringlan: %s: INVALID: %s\n", path, rl_strerror(rc));
    return 1;
  }
}

int cli_cert(int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "show"))
    return cert_show(argc - 1, argv + 1);
  fprintf(stderr, "usage: ringlan " CERT_SHOW_USAGE "\n");
  return 2;
}
