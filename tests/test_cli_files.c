/* Unit tests: the file rules for keys (node/cli_util.c, node/config_ident.c,
 * node/cli_identity.c; docs/security.md "Privileges and files"): secret key
 * files readable by group or others are refused with the fix in the
 * message; key files are created O_EXCL|O_NOFOLLOW in their directory, never
 * over an existing file or through a symbolic link, with exactly their mode.
 * Real files in a fresh temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/cert.h"
#include "crypto/identity.h"
#include "node/cli.h"
#include "node/config.h"
#include "node/core/node.h"

#define NOW_S 1800000000ULL

static void seq_rand(void *ctx, uint8_t *buf, size_t len) {
  uint8_t *ctr = ctx;
  for (size_t i = 0; i < len; i++)
    buf[i] = (uint8_t)(*ctr * 31 + i * 7 + 1);
  (*ctr)++;
}

struct fx {
  char dir[64];
  struct id_key group, node;
  struct cfg cfg;
  uint8_t ctr;
};

static void path_of(const struct fx *f, const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", f->dir, name);
}

static void put(struct fx *f, const char *name, const char *text, unsigned mode) {
  char p[160];
  path_of(f, name, p, sizeof(p));
  assert_int_equal(cli_write_new_file(p, text, strlen(text), mode), 0);
}

static unsigned mode_of(const struct fx *f, const char *name) {
  char p[160];
  struct stat st;
  path_of(f, name, p, sizeof(p));
  assert_int_equal(lstat(p, &st), 0);
  return (unsigned)st.st_mode & 07777;
}

static void set_mode(const struct fx *f, const char *name, unsigned mode) {
  char p[160];
  path_of(f, name, p, sizeof(p));
  assert_int_equal(chmod(p, (mode_t)mode), 0);
}

static bool exists(const struct fx *f, const char *name) {
  char p[160];
  struct stat st;
  path_of(f, name, p, sizeof(p));
  return lstat(p, &st) == 0;
}

static char *slurp(const struct fx *f, const char *name) {
  char p[160], *buf = NULL;
  size_t len;
  path_of(f, name, p, sizeof(p));
  assert_int_equal(cli_read_file(p, 65536, &buf, &len), 0);
  return buf;
}

/* Entries in the directory: a failed or refused write leaves no temporary
 * file behind. */
static unsigned n_entries(const struct fx *f) {
  DIR *d = opendir(f->dir);
  struct dirent *e;
  unsigned n = 0;
  assert_non_null(d);
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      n++;
  closedir(d);
  return n;
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  struct rl_env env = {.rand = seq_rand, .rand_ctx = &f->ctr};
  struct cert c;
  char text[CERT_TEXT_MAX];
  snprintf(f->dir, sizeof(f->dir), "/tmp/rl-files-XXXXXX");
  if (!mkdtemp(f->dir) || id_generate(&f->group, &env) || id_generate(&f->node, &env))
    return -1;
  assert_true(id_key_encode(&f->node, "node", "a", text, sizeof(text)) > 0);
  put(f, "node.key", text, 0600);
  assert_true(id_pub_encode(f->group.pk, "group", "lab", text, sizeof(text)) > 0);
  put(f, "group.pub", text, 0644);
  memset(&c, 0, sizeof(c));
  c.version = 1;
  snprintf(c.group, sizeof(c.group), "lab");
  memcpy(c.node_pk, f->node.pk, RL_PK_LEN);
  c.vip = 0x64400002;
  c.prefix = 10;
  c.not_before = NOW_S - 3600;
  c.not_after = NOW_S + 86400;
  assert_int_equal(cert_sign(&c, &f->group), 0);
  assert_true(cert_encode_text(&c, text, sizeof(text)) > 0);
  put(f, "node.cert", text, 0644);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  DIR *d = opendir(f->dir);
  struct dirent *e;
  char p[400];
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
      unlink(p);
    }
  if (d)
    closedir(d);
  rmdir(f->dir);
  id_wipe(&f->group);
  id_wipe(&f->node);
  free(f);
  return 0;
}

static int load_identity(struct fx *f, char *err, size_t errcap) {
  char p[160];
  struct id_key key;
  struct cert cert;
  uint8_t gpk[RL_PK_LEN];
  static const char conf[] = "[node]\nkey = node.key\ncert = node.cert\ngroup = group.pub\n";
  put(f, "node.conf", conf, 0644);
  path_of(f, "node.conf", p, sizeof(p));
  assert_int_equal(cfg_read_file(&f->cfg, p, err, errcap), 0);
  unlink(p);
  int rc = cfg_load_identity(&f->cfg, NOW_S, &key, &cert, gpk, err, errcap);
  id_wipe(&key);
  return rc;
}

/* ssh's rule: any bit for group or others refuses the key, naming the file
 * and the fix; owner-only modes (0600, 0400) are accepted. */
static void test_group_readable_key_refused(void **state) {
  struct fx *f = *state;
  static const struct {
    unsigned mode;
    int rc;
  } CASES[] = {{0600, 0}, {0400, 0}, {0640, RL_EREFUSED}, {0604, RL_EREFUSED},
               {0620, RL_EREFUSED}, {0601, RL_EREFUSED}, {0644, RL_EREFUSED}};
  char err[1024], want[1024], p[160];
  path_of(f, "node.key", p, sizeof(p));
  for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
    err[0] = '\0';
    set_mode(f, "node.key", CASES[i].mode);
    int rc = load_identity(f, err, sizeof(err));
    print_message("mode %04o: %d %s\n", CASES[i].mode, rc, err);
    assert_int_equal(rc, CASES[i].rc);
    if (!rc)
      continue;
    snprintf(want, sizeof(want), "%s: permissions %04o are too open: a secret key must not be "
             "accessible by group or others; it is refused (fix: chmod 600 %s)", p,
             CASES[i].mode, p);
    assert_string_equal(err, want);
  }
}

/* A file that is not a secret key is left to the parser, whose message
 * says what it is, whatever its mode (a public key is world-readable). */
static void test_public_file_as_key_named(void **state) {
  struct fx *f = *state;
  struct id_key key;
  struct cert cert;
  uint8_t gpk[RL_PK_LEN];
  char err[1024] = "", p[160];
  put(f, "pub.conf", "[node]\nkey = group.pub\ncert = node.cert\ngroup = group.pub\n", 0644);
  path_of(f, "pub.conf", p, sizeof(p));
  assert_int_equal(cfg_read_file(&f->cfg, p, err, sizeof(err)), 0);
  assert_int_equal(cfg_load_identity(&f->cfg, NOW_S, &key, &cert, gpk, err, sizeof(err)),
                   RL_EPARSE);
  assert_non_null(strstr(err, "group.pub: not a node secret key"));
  assert_null(strstr(err, "too open"));
}

/* A secret key file given where a public key is expected (a [peer] pubkey)
 * is held to the same rule; a public key file may be world-readable. */
static void test_secret_as_pubkey_refused(void **state) {
  struct fx *f = *state;
  struct node_peer_cfg peers[CFG_MAX_PEERS];
  char err[1024] = "", p[160];
  unsigned n;
  put(f, "peer.conf",
      "[node]\nkey = node.key\ncert = node.cert\ngroup = group.pub\n"
      "[peer]\nendpoint = 192.0.2.1:5000\npubkey = node.key\n", 0644);
  path_of(f, "peer.conf", p, sizeof(p));
  assert_int_equal(cfg_read_file(&f->cfg, p, err, sizeof(err)), 0);
  assert_int_equal(cfg_load_peers(&f->cfg, peers, &n, err, sizeof(err)), 0);
  assert_memory_equal(peers[0].pk, f->node.pk, RL_PK_LEN);
  set_mode(f, "node.key", 0644);
  assert_int_equal(cfg_load_peers(&f->cfg, peers, &n, err, sizeof(err)), RL_EREFUSED);
  assert_non_null(strstr(err, "node.key: permissions 0644 are too open"));
  assert_non_null(strstr(err, "chmod 600"));
  /* group.pub is 0644 and fine as a public key */
  assert_int_equal(mode_of(f, "group.pub"), 0644);
}

/* Never over an existing file, and nothing left behind. */
static void test_existing_not_overwritten(void **state) {
  struct fx *f = *state;
  char p[160], *text;
  unsigned before;
  put(f, "old.key", "old contents\n", 0600);
  before = n_entries(f);
  path_of(f, "old.key", p, sizeof(p));
  assert_int_equal(cli_write_new_file(p, "new\n", 4, 0600), RL_EEXIST);
  text = slurp(f, "old.key");
  assert_string_equal(text, "old contents\n");
  free(text);
  assert_int_equal(n_entries(f), before);
  /* replacing on purpose (--force) works and keeps the exact mode */
  assert_int_equal(cli_write_file(p, "new\n", 4, 0600), 0);
  text = slurp(f, "old.key");
  assert_string_equal(text, "new\n");
  free(text);
  assert_int_equal(mode_of(f, "old.key"), 0600);
  assert_int_equal(n_entries(f), before);
}

/* A symbolic link at the target is never written through: not when it
 * dangles (the file it names is not created), not when it points at a file
 * (that file keeps its contents), not even when replacing. */
static void test_symlink_refused(void **state) {
  struct fx *f = *state;
  char p[160], target[160], *text;
  unsigned before;
  path_of(f, "link.key", p, sizeof(p));
  path_of(f, "target", target, sizeof(target));
  assert_int_equal(symlink(target, p), 0);
  before = n_entries(f);
  assert_int_equal(cli_write_new_file(p, "secret\n", 7, 0600), RL_EEXIST);
  assert_false(exists(f, "target"));
  assert_int_equal(cli_write_file(p, "secret\n", 7, 0600), RL_EREFUSED);
  assert_false(exists(f, "target"));
  assert_int_equal(n_entries(f), before);
  put(f, "target", "victim\n", 0644);
  assert_int_equal(cli_write_new_file(p, "secret\n", 7, 0600), RL_EEXIST);
  assert_int_equal(cli_write_file(p, "secret\n", 7, 0600), RL_EREFUSED);
  text = slurp(f, "target");
  assert_string_equal(text, "victim\n");
  free(text);
  assert_int_equal(mode_of(f, "target"), 0644);
}

/* The mode is exactly the one asked for, whatever the umask. */
static void test_exact_mode(void **state) {
  struct fx *f = *state;
  mode_t old = umask(077);
  put(f, "u077.pub", "pub\n", 0644);
  umask(0);
  put(f, "u000.key", "key\n", 0600);
  umask(old);
  assert_int_equal(mode_of(f, "u077.pub"), 0644);
  assert_int_equal(mode_of(f, "u000.key"), 0600);
}

/* The CLI: keygen writes 0600/0644, refuses an existing file or a link
 * without --force, refuses a link even with --force; group sign refuses a
 * group key readable by others. */
static void test_cli_keygen_and_sign(void **state) {
  struct fx *f = *state;
  char out[160], pub[160], target[160], gk[160], cert[160], *a, *b;
  path_of(f, "k.key", out, sizeof(out));
  path_of(f, "k.pub", pub, sizeof(pub));
  char *kg[] = {"--out", out, NULL};
  char *kgf[] = {"--out", out, "--force", NULL};
  assert_int_equal(cli_keygen(2, kg), 0);
  assert_int_equal(mode_of(f, "k.key"), 0600);
  assert_int_equal(mode_of(f, "k.pub"), 0644);
  a = slurp(f, "k.key");
  assert_int_equal(cli_keygen(2, kg), 1);
  b = slurp(f, "k.key");
  assert_string_equal(a, b);
  free(b);
  assert_int_equal(cli_keygen(3, kgf), 0);
  b = slurp(f, "k.key");
  assert_string_not_equal(a, b);
  free(a);
  free(b);

  path_of(f, "l.key", out, sizeof(out));
  path_of(f, "elsewhere", target, sizeof(target));
  assert_int_equal(symlink(target, out), 0);
  char *kl[] = {"--out", out, NULL};
  char *klf[] = {"--out", out, "--force", NULL};
  assert_int_equal(cli_keygen(2, kl), 1);
  assert_int_equal(cli_keygen(3, klf), 1);
  assert_false(exists(f, "elsewhere"));
  assert_false(exists(f, "l.pub"));

  path_of(f, "g.key", gk, sizeof(gk));
  path_of(f, "k.cert", cert, sizeof(cert));
  char *gi[] = {"init", "--name", "lab", "--out", gk, NULL};
  char *gs[] = {"sign", "--group-key", gk, "--pub", pub, "--ip", "100.64.0.9",
                "--out", cert, NULL};
  assert_int_equal(cli_group(5, gi), 0);
  set_mode(f, "g.key", 0644);
  assert_int_equal(cli_group(9, gs), 1);
  assert_false(exists(f, "k.cert"));
  set_mode(f, "g.key", 0600);
  assert_int_equal(cli_group(9, gs), 0);
  assert_int_equal(mode_of(f, "k.cert"), 0644);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_group_readable_key_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secret_as_pubkey_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_public_file_as_key_named, setup, teardown),
      cmocka_unit_test_setup_teardown(test_existing_not_overwritten, setup, teardown),
      cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exact_mode, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cli_keygen_and_sign, setup, teardown),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
