/* Status checks for tests on tests/testnet.h (include after it): what a
 * node's status JSON says about its links, and a ping-like frame check. */
#ifndef RL_TESTNET_STATUS_H
#define RL_TESTNET_STATUS_H

static const char *status_of(struct net *w, int i) {
  static char js[32768];
  assert_true(node_status_json(w->node[i], w->now, js, sizeof(js)) > 0);
  return js;
}

/* i's status lists a link to j (by VIP) whose JSON object contains want. */
static bool link_has(struct net *w, int i, int j, const char *want) {
  const char *js = status_of(w, i);
  char needle[48];
  snprintf(needle, sizeof(needle), "\"peer_vip\":\"100.64.0.%d\"", j + 1);
  for (const char *p = strstr(js, needle); p; p = strstr(p + 1, needle)) {
    const char *e = strchr(p, '}'), *q = strstr(p, want);
    if (q && q < e)
      return true;
  }
  return false;
}

/* Established link from i to j with this path ("direct", "relay", ...). */
static bool has_path(struct net *w, int i, int j, const char *path) {
  char want[64];
  snprintf(want, sizeof(want), "\"path\":\"%s\",\"state\":\"established\"", path);
  return link_has(w, i, j, want);
}

/* Direct established link from i to j over endpoint ep ("192.168.5.7:4000"). */
static bool has_endpoint(struct net *w, int i, int j, const char *ep) {
  char want[96];
  snprintf(want, sizeof(want), "\"endpoint\":\"%s\",\"path\":\"direct\",\"state\":\"established\"", ep);
  return link_has(w, i, j, want);
}

/* a's kernel resolves b and sends frames; they must all arrive, and the
 * link ends up on the expected path. */
static void check_pair(struct net *w, int a, int b, const char *path) {
  uint8_t f[200], out[NODE_FRAME_MAX];
  size_t len, got;
  len = arp_request(f, w, a, w->cert[b].vip);
  node_recv_tap(w->node[a], f, len, w->now);
  run_until(w, w->now + 3 * NS_PER_S);
  while ((got = node_poll_tap(w->node[a], out, sizeof(out))) > 0)
    ; /* the ARP reply */
  for (int k = 0; k < 4; k++) {
    len = make_frame_ring(f, w, a, b, (uint8_t)(0x30 + k));
    assert_int_equal(node_recv_tap(w->node[a], f, len, w->now), 0);
    run_until(w, w->now + 15 * NS_PER_S);
    got = node_poll_tap(w->node[b], out, sizeof(out));
    if (got != len)
      fail_msg("pair %d->%d frame %d not delivered (got %zu)", a, b, k, got);
    assert_memory_equal(out, f, len);
  }
  if (!has_path(w, a, b, path))
    fail_msg("pair %d->%d: expected path %s; a's links: %s", a, b, path,
             strstr(status_of(w, a), "\"links\""));
}

#endif
