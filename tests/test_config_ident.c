/* Unit tests: node/config_ident.c (loading key, cert, group and peer key
 * files named by a config, and checking they belong together). Real files
 * in a fresh temporary directory; keys from a seeded test generator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
  struct id_key group, other_group, node, node2;
  struct cfg cfg;
  uint8_t ctr;
};

static void put(struct fx *f, const char *name, const char *text) {
  char p[160];
  snprintf(p, sizeof(p), "%s/%s", f->dir, name);
  assert_int_equal(cli_write_file(p, text, strlen(text), 0600), 0);
}

static void put_key(struct fx *f, const char *name, const struct id_key *k, const char *kind,
                    const char *label, bool secret) {
  char text[1024];
  int n = secret ? id_key_encode(k, kind, label, text, sizeof(text))
                 : id_pub_encode(k->pk, kind, label, text, sizeof(text));
  assert_true(n > 0);
  put(f, name, text);
}

static void put_cert(struct fx *f, const char *name, const struct id_key *node,
                     const struct id_key *group, const char *gname) {
  struct cert c;
  char text[CERT_TEXT_MAX];
  memset(&c, 0, sizeof(c));
  c.version = 1;
  snprintf(c.group, sizeof(c.group), "%s", gname);
  memcpy(c.node_pk, node->pk, RL_PK_LEN);
  c.vip = 0x64400002;
  c.prefix = 10;
  c.not_before = NOW_S - 3600;
  c.not_after = NOW_S + 86400;
  assert_int_equal(cert_sign(&c, group), 0);
  assert_true(cert_encode_text(&c, text, sizeof(text)) > 0);
  put(f, name, text);
}

static void parse_cfg(struct fx *f, const char *text) {
  char p[160], err[CFG_ERR_MAX + 160];
  put(f, "node.conf", text);
  snprintf(p, sizeof(p), "%s/node.conf", f->dir);
  int rc = cfg_read_file(&f->cfg, p, err, sizeof(err));
  if (rc)
    print_message("%s\n", err);
  assert_int_equal(rc, 0);
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  struct rl_env env = {.rand = seq_rand, .rand_ctx = &f->ctr};
  snprintf(f->dir, sizeof(f->dir), "/tmp/rl-ident-XXXXXX");
  if (!mkdtemp(f->dir))
    return -1;
  if (id_generate(&f->group, &env) || id_generate(&f->other_group, &env) ||
      id_generate(&f->node, &env) || id_generate(&f->node2, &env))
    return -1;
  put_key(f, "node.key", &f->node, "node", "a", true);
  put_key(f, "node2.pub", &f->node2, "node", "b", false);
  put_key(f, "group.pub", &f->group, "group", "lab", false);
  put_key(f, "other.pub", &f->other_group, "group", "lab", false);
  put_key(f, "othername.pub", &f->group, "group", "lab2", false);
  put_cert(f, "node.cert", &f->node, &f->group, "lab");
  put_cert(f, "node2.cert", &f->node2, &f->group, "lab");
  put(f, "junk.cert", "-----BEGIN RINGLAN CERTIFICATE-----\nfoo: bar\n");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  static const char *const files[] = {"node.key",  "node2.pub", "group.pub", "other.pub",
                                      "othername.pub", "node.cert", "node2.cert", "junk.cert",
                                      "node.conf"};
  char p[160];
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
    unlink(p);
  }
  rmdir(f->dir);
  id_wipe(&f->group);
  id_wipe(&f->other_group);
  id_wipe(&f->node);
  id_wipe(&f->node2);
  free(f);
  return 0;
}

static void test_identity_ok(void **state) {
  struct fx *f = *state;
  struct id_key key;
  struct cert cert;
  uint8_t gpk[RL_PK_LEN];
  char err[512] = "";
  parse_cfg(f, "[node]\nkey = node.key\ncert = node.cert\ngroup = group.pub\n");
  int rc = cfg_load_identity(&f->cfg, NOW_S, &key, &cert, gpk, err, sizeof(err));
  if (rc)
    print_message("%s\n", err);
  assert_int_equal(rc, 0);
  assert_memory_equal(key.pk, f->node.pk, RL_PK_LEN);
  assert_memory_equal(key.sk, f->node.sk, RL_SK_LEN);
  assert_memory_equal(gpk, f->group.pk, RL_PK_LEN);
  assert_int_equal(cert.vip, 0x64400002);
  assert_string_equal(cert.group, "lab");
  id_wipe(&key);
}

static const struct {
  const char *conf;
  uint64_t now;
  int rc;
  const char *msg; /* expected after "<dir>/" */
} ERRS[] = {
    {"[node]\nkey = none.key\ncert = node.cert\ngroup = group.pub\n", NOW_S, RL_ENOENT,
     "none.key: no such file"},
    {"[node]\nkey = node.key\ncert = node2.cert\ngroup = group.pub\n", NOW_S, RL_EAUTH,
     "node2.cert: the certificate was issued for another node key, not the one in "},
    {"[node]\nkey = node.key\ncert = node.cert\ngroup = other.pub\n", NOW_S, RL_EFOREIGN,
     "node.cert: the certificate belongs to another group (group 'lab', but signed by another "
     "key than the one in "},
    {"[node]\nkey = node.key\ncert = node.cert\ngroup = othername.pub\n", NOW_S, RL_EFOREIGN,
     "node.cert: the certificate belongs to another group (certificate group 'lab', "},
    {"[node]\nkey = node.key\ncert = node.cert\ngroup = group.pub\n", NOW_S + 2 * 86400,
     RL_EEXPIRED, "node.cert: the certificate has expired or is not valid yet (valid "},
    {"[node]\nkey = node.key\ncert = junk.cert\ngroup = group.pub\n", NOW_S, RL_EPARSE,
     "junk.cert: not a certificate: "},
    {"[node]\nkey = node2.pub\ncert = node.cert\ngroup = group.pub\n", NOW_S, RL_EPARSE,
     "node2.pub: not a node secret key: "},
    {"[node]\nkey = node.key\ncert = node.cert\ngroup = node2.pub\n", NOW_S, RL_EPARSE,
     "node2.pub: not a group public key: "},
};

static void test_identity_errors(void **state) {
  struct fx *f = *state;
  for (size_t i = 0; i < sizeof(ERRS) / sizeof(ERRS[0]); i++) {
    struct id_key key;
    struct cert cert;
    uint8_t gpk[RL_PK_LEN];
    char err[512] = "", want[512];
    parse_cfg(f, ERRS[i].conf);
    int rc = cfg_load_identity(&f->cfg, ERRS[i].now, &key, &cert, gpk, err, sizeof(err));
    snprintf(want, sizeof(want), "%s/%s", f->dir, ERRS[i].msg);
    print_message("case %zu: %d %s\n", i, rc, err);
    assert_int_equal(rc, ERRS[i].rc);
    assert_true(strncmp(err, want, strlen(want)) == 0);
    /* The secret key never survives a failure. */
    static const uint8_t zero[RL_SK_LEN];
    assert_memory_equal(key.sk, zero, RL_SK_LEN);
  }
}

static void test_peers(void **state) {
  struct fx *f = *state;
  struct node_peer_cfg peers[CFG_MAX_PEERS];
  unsigned n = 99;
  char err[512] = "", b64[64], conf[512];
  sodium_bin2base64(b64, sizeof(b64), f->node.pk, RL_PK_LEN, sodium_base64_VARIANT_ORIGINAL);
  snprintf(conf, sizeof(conf),
           "[node]\nkey=node.key\ncert=node.cert\ngroup=group.pub\n"
           "[peer]\nendpoint=192.0.2.1:5000\npubkey=node2.pub\n"
           "[peer]\nendpoint=192.0.2.2:5000\npubkey=%s\n"
           "[peer]\nendpoint=192.0.2.3:5000\n",
           b64);
  parse_cfg(f, conf);
  assert_int_equal(cfg_load_peers(&f->cfg, peers, &n, err, sizeof(err)), 0);
  assert_int_equal(n, 3);
  assert_true(peers[0].pinned);
  assert_memory_equal(peers[0].pk, f->node2.pk, RL_PK_LEN);
  assert_int_equal(peers[0].endpoint.port, 5000);
  assert_true(peers[1].pinned);
  assert_memory_equal(peers[1].pk, f->node.pk, RL_PK_LEN);
  assert_false(peers[2].pinned);
  assert_int_equal(rl_addr_ipv4(&peers[2].endpoint), 0xc0000203);

  parse_cfg(f, "[node]\nkey=node.key\ncert=node.cert\ngroup=group.pub\n"
               "[peer]\nendpoint=192.0.2.1:5000\npubkey=missing.pub\n");
  assert_int_equal(cfg_load_peers(&f->cfg, peers, &n, err, sizeof(err)), RL_ENOENT);
  assert_int_equal(n, 0);
  assert_non_null(strstr(err, "missing.pub: no such file"));
}

/* The whole config turns into node settings; keepalives that hold NAT
 * bindings use the smaller of [node] and [nat] keepalive_s. */
static void test_node_config_timers(void **state) {
  struct fx *f = *state;
  struct node_config *nc = calloc(1, sizeof(*nc));
  struct rl_env env = {.rand = seq_rand, .rand_ctx = &f->ctr};
  char err[512] = "";
  static const struct {
    const char *extra;
    uint64_t keepalive_s;
  } T[] = {
      {"", 10},                                  /* defaults: 10 and 25 */
      {"[nat]\nkeepalive_s = 5\nrelay_kbps = 0\n", 5}, /* NAT needs it more often; no relaying */
      {"keepalive_s = 30\n", 25},                /* [node] longer than [nat] */
      {"[nat]\nrelay_source_kbps = 3000\nrelay_total_kbps = 9000\n", 10}, /* budgets */
  };
  for (size_t t = 0; t < sizeof(T) / sizeof(T[0]); t++) {
    char conf[512];
    const char *nat = strstr(T[t].extra, "[nat]") ? T[t].extra : "";
    const char *node = nat[0] ? "" : T[t].extra;
    snprintf(conf, sizeof(conf),
             "[node]\nkey = node.key\ncert = node.cert\ngroup = group.pub\n"
             "listen = 192.0.2.1:51820\nlink_timeout_s = 60\n%s%s",
             node, nat);
    parse_cfg(f, conf);
    int rc = cfg_load_node_config(&f->cfg, &env, NOW_S, nc, err, sizeof(err));
    if (rc)
      print_message("%s\n", err);
    assert_int_equal(rc, 0);
    assert_true(nc->keepalive_ns == T[t].keepalive_s * NS_PER_S);
    assert_true(nc->link_timeout_ns == 60 * NS_PER_S);
    assert_int_equal(nc->relay_rate_kbps, strstr(conf, "relay_kbps =") ? 0 : 20000);
    assert_int_equal(nc->relay_source_kbps, strstr(conf, "relay_source_kbps") ? 3000 : 40000);
    assert_int_equal(nc->relay_total_kbps, strstr(conf, "relay_total_kbps") ? 9000 : 100000);
    sodium_memzero(&nc->key, sizeof(nc->key));
  }
  free(nc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_identity_ok, setup, teardown),
      cmocka_unit_test_setup_teardown(test_identity_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_node_config_timers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_peers, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
