/* Unit tests: node/config.c (INI parser: values, defaults, errors with line
 * numbers, relative paths, [peer] sections). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/core/node.h" /* enum node_lan_cands */

#include "node/cli.h"
#include "node/config.h"

static struct cfg *parse_ok(const char *text, const char *dir) {
  struct cfg *c = test_malloc(sizeof(*c));
  char err[CFG_ERR_MAX] = "";
  assert_int_equal(cfg_init(c, dir), 0);
  int rc = cfg_parse_text(c, text, strlen(text), err, sizeof(err));
  if (rc)
    print_message("unexpected error: %s\n", err);
  assert_int_equal(rc, 0);
  return c;
}

static void test_valid_file(void **state) {
  (void)state;
  const char *text =
      "# a full configuration\n"
      "[node]\n"
      "key = node.key\n"
      "cert = /etc/ringlan/node.cert\n"
      "group = ../group.pub   # inline comment\n"
      "listen = 0.0.0.0:5000\n"
      "tap = rl0\n"
      "control = /run/rl-test.sock\n"
      "state = state.mdb\n"
      "bootstrap = 192.0.2.1:5000, 198.51.100.7:5001\n"
      "bootstrap = tcp:203.0.113.9:5002, [2001:db8::9]:5003\n"
      "tcp = no\n"
      "user = ringlan-test_1.a\n"
      "vlan = yes\n"
      "revoked = bob.rev, /var/lib/carol.rev\n"
      "revoked = dave.rev\n"
      "cipher = chacha20-poly1305\n"
      "format = epoch\n"
      "keepalive_s = 15\n"
      "rekey_s = 600\n"
      "link_timeout_s = 45\n"
      "idle_link_s = 120\n"
      "dht_replicas = 6\n"
      "broadcast_rate = 50\n"
      "broadcast_burst = 80\n"
      "multicast_querier = no\n"
      "log_level = debug\r\n"
      "\n"
      "[peer]\n"
      "endpoint = 203.0.113.5:5000\n"
      "pubkey = peers/b.pub\n"
      "[peer]\n"
      "  endpoint=203.0.113.6:5000  \n"
      "pubkey = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
      "[peer]\n"
      "endpoint = [2001:db8::7]:5000\n"
      "; another comment style\n"
      "[nat]\n"
      "upnp = no\n"
      "natpmp = yes\n"
      "allow_lan_candidates = yes\n"
      "keepalive_s = 20\n";
  struct cfg *c = parse_ok(text, "/etc/ringlan");
  char a[RL_ADDR_STRLEN];
  assert_string_equal(c->key, "/etc/ringlan/node.key");
  assert_string_equal(c->cert, "/etc/ringlan/node.cert");
  assert_string_equal(c->group, "/etc/ringlan/../group.pub");
  assert_string_equal(rl_addr_format(&c->listen, a, sizeof(a)), "0.0.0.0:5000");
  assert_string_equal(c->tap, "rl0");
  assert_string_equal(c->control, "/run/rl-test.sock");
  assert_string_equal(c->state, "/etc/ringlan/state.mdb");
  assert_int_equal(c->n_bootstrap, 4);
  assert_int_equal(c->n_revoked, 3);
  assert_string_equal(c->revoked[0], "/etc/ringlan/bob.rev");
  assert_string_equal(c->revoked[1], "/var/lib/carol.rev");
  assert_string_equal(c->revoked[2], "/etc/ringlan/dave.rev");
  assert_string_equal(rl_addr_format(&c->bootstrap[1], a, sizeof(a)), "198.51.100.7:5001");
  assert_string_equal(rl_addr_format(&c->bootstrap[2], a, sizeof(a)), "tcp:203.0.113.9:5002");
  assert_int_equal(c->bootstrap[2].proto, RL_PROTO_TCP);
  assert_int_equal(c->bootstrap[1].proto, RL_PROTO_UDP);
  assert_string_equal(rl_addr_format(&c->bootstrap[3], a, sizeof(a)), "[2001:db8::9]:5003");
  assert_false(c->tcp);
  assert_string_equal(c->user, "ringlan-test_1.a");
  assert_true(c->vlan);
  assert_int_equal(c->cipher, CFG_CIPHER_CHACHA20POLY1305);
  assert_int_equal(c->format, CFG_FORMAT_EPOCH);
  assert_int_equal(c->keepalive_s, 15);
  assert_int_equal(c->rekey_s, 600);
  assert_int_equal(c->link_timeout_s, 45);
  assert_int_equal(c->idle_link_s, 120);
  assert_int_equal(c->dht_replicas, 6);
  assert_int_equal(c->broadcast_rate, 50);
  assert_int_equal(c->broadcast_burst, 80);
  assert_false(c->mcast_querier);
  assert_int_equal(c->log_level, RL_LOG_DEBUG);

  assert_int_equal(c->n_peers, 3);
  assert_string_equal(rl_addr_format(&c->peers[0].endpoint, a, sizeof(a)), "203.0.113.5:5000");
  assert_false(c->peers[0].has_pk);
  assert_string_equal(c->peers[0].pubkey_path, "/etc/ringlan/peers/b.pub");
  assert_int_equal(c->peers[0].line, 29);
  assert_true(c->peers[1].has_pk);
  assert_string_equal(c->peers[1].pubkey_path, "");
  for (int i = 0; i < 32; i++)
    assert_int_equal(c->peers[1].pk[i], i);
  assert_false(c->peers[2].has_pk);
  assert_string_equal(c->peers[2].pubkey_path, "");

  assert_false(c->upnp);
  assert_true(c->natpmp);
  assert_int_equal(c->lan_candidates, NODE_LAN_CANDS_YES);
  assert_int_equal(c->nat_keepalive_s, 20);
  test_free(c);
}

static void test_defaults(void **state) {
  (void)state;
  struct cfg *c = parse_ok("[node]\nkey=k\ncert=c\ngroup=g\n", NULL);
  char a[RL_ADDR_STRLEN];
  assert_string_equal(c->key, "k"); /* no dir: left relative to the cwd */
  assert_string_equal(rl_addr_format(&c->listen, a, sizeof(a)), CFG_DEFAULT_LISTEN);
  assert_string_equal(c->tap, CFG_DEFAULT_TAP);
  assert_string_equal(c->control, CFG_DEFAULT_CONTROL);
  assert_string_equal(c->state, "");
  assert_int_equal(c->n_bootstrap, 0);
  assert_int_equal(c->n_peers, 0);
  assert_int_equal(c->cipher, CFG_CIPHER_AUTO);
  assert_int_equal(c->format, CFG_FORMAT_V2);
  assert_int_equal(c->keepalive_s, 10);
  assert_int_equal(c->rekey_s, 3600);
  assert_int_equal(c->link_timeout_s, 40);
  assert_int_equal(c->idle_link_s, 300);
  assert_int_equal(c->dht_replicas, 4);
  assert_int_equal(c->broadcast_rate, 100);
  assert_int_equal(c->broadcast_burst, 200);
  assert_true(c->mcast_querier);
  assert_int_equal(c->log_level, RL_LOG_INFO);
  assert_true(c->tcp);
  assert_string_equal(c->user, ""); /* CFG_DEFAULT_USER when it exists, at start-up */
  assert_false(c->vlan);
  assert_true(c->upnp);
  assert_true(c->natpmp);
  assert_int_equal(c->lan_candidates, NODE_LAN_CANDS_SAME_SITE);
  test_free(c);
  c = parse_ok("[node]\nkey=k\ncert=c\ngroup=g\n[nat]\nallow_lan_candidates = no\n", NULL);
  assert_int_equal(c->lan_candidates, NODE_LAN_CANDS_NO);
  test_free(c);
  c = parse_ok("[node]\nkey=k\ncert=c\ngroup=g\n[nat]\nallow_lan_candidates = same-site\n",
               NULL);
  assert_int_equal(c->lan_candidates, NODE_LAN_CANDS_SAME_SITE);
  assert_int_equal(c->nat_keepalive_s, 25);
  test_free(c);
}

#define HDR "[node]\nkey=k\ncert=c\ngroup=g\n" /* lines 1..4 */

static const struct {
  const char *text;
  const char *err; /* the full message */
} ERRORS[] = {
    {"key = x\n", "line 1: key 'key' outside a section (start with [node])"},
    {HDR "[nodes]\n", "line 5: unknown section [nodes] (expected [node], [peer] or [nat])"},
    {HDR "[node]\n", "line 5: duplicate section [node] (only one allowed)"},
    {HDR "[nat]\n[nat]\n", "line 6: duplicate section [nat] (only one allowed)"},
    {HDR "[node\n", "line 5: malformed section header '[node' (expected [name])"},
    {HDR "[node] x\n", "line 5: malformed section header '[node] x' (expected [name])"},
    {HDR "foo = 1\n", "line 5: unknown key 'foo' in [node]"},
    {HDR "[peer]\nupnp = yes\n", "line 6: unknown key 'upnp' in [peer]"},
    {HDR "key = again\n", "line 5: duplicate key 'key' in [node]"},
    {HDR "listen\n", "line 5: expected 'key = value' or '[section]', got 'listen'"},
    {HDR " = 3\n", "line 5: missing key before '='"},
    {HDR "tap =\n", "line 5: empty value for 'tap'"},
    {HDR "vlan = maybe\n", "line 5: bad value for 'vlan': 'maybe' (expected yes or no)"},
    {HDR "broadcast_rate = 0\n", "line 5: bad value for 'broadcast_rate': '0' (expected an "
     "integer 1..100000)"},
    {HDR "multicast_querier = 2\n", "line 5: bad value for 'multicast_querier': '2' (expected "
     "yes or no)"},
    {HDR "listen = 1.2.3.4\n",
     "line 5: bad value for 'listen': '1.2.3.4' (expected IPv4 ADDR:PORT or [IPv6]:PORT, "
     "e.g. 0.0.0.0:42424)"},
    {HDR "listen = [::1]\n", "line 5: bad value for 'listen': '[::1]' (expected IPv4 "
                             "ADDR:PORT or [IPv6]:PORT, e.g. 0.0.0.0:42424)"},
    {HDR "listen = 0.0.0.0:0\n", "line 5: bad value for 'listen': '0.0.0.0:0' (expected IPv4 "
                                 "ADDR:PORT or [IPv6]:PORT, e.g. 0.0.0.0:42424)"},
    {HDR "bootstrap = 192.0.2.1:1,,192.0.2.2:1\n", "line 5: empty entry in bootstrap list"},
    {HDR "revoked = a.rev, ,b.rev\n", "line 5: empty entry in revoked list"},
    {HDR "bootstrap = 192.0.2.1:1, host:1\n", "line 5: bad value for 'bootstrap': 'host:1' "
                                               "(expected IPv4 ADDR:PORT, [IPv6]:PORT or "
                                               "tcp:ADDR:PORT, e.g. 192.0.2.1:42424)"},
    {HDR "listen = tcp:0.0.0.0:5\n", "line 5: bad value for 'listen': 'tcp:0.0.0.0:5' (expected "
                                     "IPv4 ADDR:PORT or [IPv6]:PORT, e.g. 0.0.0.0:42424)"},
    {HDR "bootstrap = tcp:[2001:db8::9]:5\n", "line 5: bad value for 'bootstrap': "
                                             "'tcp:[2001:db8::9]:5' (expected IPv4 ADDR:PORT, "
                                             "[IPv6]:PORT or tcp:ADDR:PORT, e.g. 192.0.2.1:42424)"},
    {HDR "tcp = maybe\n", "line 5: bad value for 'tcp': 'maybe' (expected yes or no)"},
    {HDR "user = -root\n", "line 5: bad value for 'user': '-root' (a user name of 1..32 "
                            "characters [A-Za-z0-9._-], not starting with '-')"},
    {HDR "user = a b\n", "line 5: bad value for 'user': 'a b' (a user name of 1..32 "
                          "characters [A-Za-z0-9._-], not starting with '-')"},
    {HDR "user = ringlan/..\n", "line 5: bad value for 'user': 'ringlan/..' (a user name of "
                                "1..32 characters [A-Za-z0-9._-], not starting with '-')"},
    {HDR "user = abcdefghijklmnopqrstuvwxyz0123456\n",
     "line 5: bad value for 'user': 'abcdefghijklmnopqrstuvwxyz0123456' (a user name of 1..32 "
     "characters [A-Za-z0-9._-], not starting with '-')"},
    {HDR "cipher = aes\n", "line 5: bad value for 'cipher': 'aes' (expected auto, aes-256-gcm "
                           "or chacha20-poly1305)"},
    {HDR "format = v3\n", "line 5: bad value for 'format': 'v3' (expected v2 or epoch)"},
    {HDR "log_level = trace\n", "line 5: bad value for 'log_level': 'trace' (expected error, "
                                "warn, info or debug)"},
    {HDR "keepalive_s = 0\n",
     "line 5: bad value for 'keepalive_s': '0' (expected an integer 1..3600)"},
    {HDR "keepalive_s = -5\n",
     "line 5: bad value for 'keepalive_s': '-5' (expected an integer 1..3600)"},
    {HDR "rekey_s = 99999999999999999999\n",
     "line 5: bad value for 'rekey_s': '99999999999999999999' (expected an integer 60..86400)"},
    {HDR "dht_replicas = 4x\n",
     "line 5: bad value for 'dht_replicas': '4x' (expected an integer 3..8)"},
    {HDR "tap = a/b\n", "line 5: bad value for 'tap': 'a/b' (an interface name of 1..15 "
                        "characters [A-Za-z0-9._-], '%d' for a number)"},
    {HDR "tap = abcdefghijklmnop\n", "line 5: bad value for 'tap': 'abcdefghijklmnop' (an "
                                     "interface name of 1..15 characters [A-Za-z0-9._-], '%d' "
                                     "for a number)"},
    {HDR "[nat]\nupnp = maybe\n", "line 6: bad value for 'upnp': 'maybe' (expected yes or no)"},
    {HDR "[peer]\nendpoint = 0.0.0.0:5\n", "line 6: bad value for 'endpoint': '0.0.0.0:5' "
                                           "(expected IPv4 ADDR:PORT, [IPv6]:PORT or "
                                           "tcp:ADDR:PORT, e.g. 203.0.113.5:42424)"},
    {HDR "[peer]\nendpoint = [::]:5\n", "line 6: bad value for 'endpoint': '[::]:5' "
                                    "(expected IPv4 ADDR:PORT, [IPv6]:PORT or tcp:ADDR:PORT, "
                                    "e.g. 203.0.113.5:42424)"},
    {HDR "[peer]\nendpoint = 192.0.2.1:1\nendpoint = 192.0.2.1:2\n",
     "line 7: duplicate key 'endpoint' in [peer]"},
    /* Errors found only at the end name the line they are about. */
    {HDR "\n[peer]\npubkey = x.pub\n", "line 6: [peer] without 'endpoint'"},
    {HDR "link_timeout_s = 10\n",
     "line 5: link_timeout_s (10) must be larger than keepalive_s (10)"},
    {"[node]\ncert=c\ngroup=g\n", "missing key 'key' in [node] (the node's secret key file)"},
    {"[node]\nkey=k\ngroup=g\n", "missing key 'cert' in [node] (the node's certificate file)"},
    {"[node]\nkey=k\ncert=c\n", "missing key 'group' in [node] (the group's public key file)"},
    {"# nothing\n[nat]\n", "missing section [node]"},
    {"[nat]\nallow_lan_candidates = lan\n",
     "line 2: bad value for 'allow_lan_candidates': 'lan' (expected same-site, yes or no)"},
};

static void test_error_table(void **state) {
  (void)state;
  struct cfg *c = test_malloc(sizeof(*c));
  for (size_t i = 0; i < sizeof(ERRORS) / sizeof(ERRORS[0]); i++) {
    char err[CFG_ERR_MAX] = "";
    assert_int_equal(cfg_init(c, NULL), 0);
    int rc = cfg_parse_text(c, ERRORS[i].text, strlen(ERRORS[i].text), err, sizeof(err));
    if (rc != RL_EPARSE || strcmp(err, ERRORS[i].err))
      print_message("case %zu: got %d '%s'\n", i, rc, err);
    assert_int_equal(rc, RL_EPARSE);
    assert_string_equal(err, ERRORS[i].err);
  }
  test_free(c);
}

static void test_line_limits(void **state) {
  (void)state;
  struct cfg *c = test_malloc(sizeof(*c));
  char err[CFG_ERR_MAX];
  char *big = test_malloc(CFG_LINE_MAX + 10);
  assert_int_equal(cfg_init(c, "/d"), 0);
  memset(big, 'a', CFG_LINE_MAX + 10);
  assert_int_equal(cfg_parse_line(c, big, CFG_LINE_MAX + 10, err, sizeof(err)), RL_EPARSE);
  assert_string_equal(err, "line 1: line too long (max 1024 bytes)");
  assert_int_equal(cfg_parse_line(c, "[node]\0x", 8, err, sizeof(err)), RL_EPARSE);
  assert_string_equal(err, "line 2: NUL byte in line");
  /* A value of exactly the path limit, joined with the dir, is too long. */
  assert_int_equal(cfg_parse_line(c, "[node]", 6, err, sizeof(err)), 0);
  memcpy(big, "key = ", 6);
  assert_int_equal(cfg_parse_line(c, big, 6 + CFG_PATH_MAX - 3, err, sizeof(err)), RL_EPARSE);
  assert_string_equal(err, "line 4: path for 'key' is too long (max 255 bytes with the config "
                           "directory)");
  /* A '#' inside a value (not after whitespace) is kept. */
  assert_int_equal(cfg_parse_line(c, "cert = a#b ;c", 13, err, sizeof(err)), 0);
  assert_string_equal(c->cert, "/d/a#b");
  /* Too many peers and bootstrap entries. */
  for (int i = 0; i < CFG_MAX_PEERS; i++) {
    assert_int_equal(cfg_parse_line(c, "[peer]", 6, err, sizeof(err)), 0);
    assert_int_equal(cfg_parse_line(c, "endpoint=192.0.2.1:9", 20, err, sizeof(err)), 0);
  }
  assert_int_equal(cfg_parse_line(c, "[peer]", 6, err, sizeof(err)), RL_EPARSE);
  assert_int_equal(c->n_peers, CFG_MAX_PEERS);
  test_free(big);
  test_free(c);

  c = test_malloc(sizeof(*c));
  const char *many = "[node]\nbootstrap=192.0.2.1:1,192.0.2.1:2,192.0.2.1:3,192.0.2.1:4,"
                     "192.0.2.1:5,192.0.2.1:6,192.0.2.1:7,192.0.2.1:8\n"
                     "bootstrap=192.0.2.1:1,192.0.2.1:2,192.0.2.1:3,192.0.2.1:4,"
                     "192.0.2.1:5,192.0.2.1:6,192.0.2.1:7,192.0.2.1:8,192.0.2.1:9\n";
  assert_int_equal(cfg_init(c, NULL), 0);
  assert_int_equal(cfg_parse_text(c, many, strlen(many), err, sizeof(err)), RL_EPARSE);
  assert_string_equal(err, "line 3: too many bootstrap endpoints (max 16)");
  test_free(c);
}

static void test_read_file_relative_paths(void **state) {
  (void)state;
  char dir[] = "/tmp/rl-cfg-XXXXXX";
  char path[256], err[CFG_ERR_MAX];
  const char *text = "[node]\nkey = keys/node.key\ncert = node.cert\ngroup = /abs/group.pub\n"
                     "control = ctl.sock\n[peer]\nendpoint = 192.0.2.1:1\npubkey = b.pub\n";
  struct cfg *c = test_malloc(sizeof(*c));
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/node.conf", dir);
  assert_int_equal(cli_write_file(path, text, strlen(text), 0600), 0);

  assert_int_equal(cfg_read_file(c, path, err, sizeof(err)), 0);
  char want[300];
  snprintf(want, sizeof(want), "%s/keys/node.key", dir);
  assert_string_equal(c->key, want);
  snprintf(want, sizeof(want), "%s/node.cert", dir);
  assert_string_equal(c->cert, want);
  assert_string_equal(c->group, "/abs/group.pub");
  snprintf(want, sizeof(want), "%s/ctl.sock", dir);
  assert_string_equal(c->control, want);
  snprintf(want, sizeof(want), "%s/b.pub", dir);
  assert_string_equal(c->peers[0].pubkey_path, want);

  /* Errors carry the file name. */
  const char *bad = "[node]\nkey = k\nwhat = 1\n";
  assert_int_equal(cli_write_file(path, bad, strlen(bad), 0600), 0);
  assert_int_equal(cfg_read_file(c, path, err, sizeof(err)), RL_EPARSE);
  snprintf(want, sizeof(want), "%s: line 3: unknown key 'what' in [node]", path);
  assert_string_equal(err, want);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(cfg_read_file(c, path, err, sizeof(err)), RL_ENOENT);
  snprintf(want, sizeof(want), "%s: cannot read: no such file", path);
  assert_string_equal(err, want);
  assert_int_equal(rmdir(dir), 0);

  /* A file name without a directory: paths stay relative to the cwd. */
  assert_int_equal(cfg_read_file(c, "no-such-ringlan.conf", err, sizeof(err)), RL_ENOENT);
  test_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_file),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_error_table),
      cmocka_unit_test(test_line_limits),
      cmocka_unit_test(test_read_file_relative_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
