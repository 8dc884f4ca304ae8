/* The node core: construction, datagram demultiplexing, timers. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/node_internal.h"
#include "tap/tap.h"

void node_config_default(struct node_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->cipher = dc_aes_available() ? DC_AES256GCM : DC_CHACHA20POLY1305;
  cfg->fmt = DC_FMT_V2;
  cfg->keepalive_ns = 10 * NS_PER_S;
  cfg->link_timeout_ns = 40 * NS_PER_S;
  cfg->rekey_ns = 3600 * NS_PER_S;
  cfg->idle_link_ns = 300 * NS_PER_S;
  cfg->dht_replicas = 4;
  cfg->relay_rate_kbps = 20000;
  cfg->relay_source_kbps = 40000;
  cfg->relay_total_kbps = 100000;
  cfg->relay_after_ns = 5 * NS_PER_S;
}

static struct link *start_static(struct node *n, const struct rl_addr *ep, int idx,
                                 bool bootstrap, uint64_t now) {
  struct link *l = link_new(n, ep, now);
  if (!l)
    return NULL;
  l->static_idx = idx;
  l->bootstrap = bootstrap;
  if (!bootstrap && idx >= 0 && n->cfg.peers[idx].pinned) {
    l->pinned = true;
    memcpy(l->pin_pk, n->cfg.peers[idx].pk, RL_PK_LEN);
    sess_pin_peer(&l->s, l->pin_pk);
  }
  sess_start(&l->s, now);
  link_after_event(n, l, now);
  return l;
}

struct node_scratch *node_scratch_new(void) { return calloc(1, sizeof(struct node_scratch)); }

void node_scratch_free(struct node_scratch *sc) {
  if (sc)
    sodium_memzero(sc, sizeof(*sc)); /* may hold decrypted frames */
  free(sc);
}

struct node *node_new(const struct node_config *cfg, uint64_t now, int *err) {
  struct node *n = calloc(1, sizeof(*n));
  int r = RL_ENOMEM;
  if (!n)
    goto fail;
  n->cfg = *cfg;
  n->env = cfg->env;
  n->sc = cfg->scratch;
  if (!n->sc) {
    n->sc = node_scratch_new();
    if (!n->sc)
      goto fail_free;
    n->own_sc = true;
  }
  r = hs_identity_init(&n->hid, n->env, &cfg->key, &cfg->cert, cfg->group_pk, cfg->cipher,
                       cfg->fmt);
  if (r != 0)
    goto fail_free;
  hs_responder_init(&n->resp, &n->hid, NODE_HS_LOAD_THRESHOLD, now);
  for (unsigned i = 0; i < NODE_HS_PATHS; i++)
    cookie_meter_init(&n->hs_meter[i], NODE_HS_LOAD_THRESHOLD, NODE_HS_WORK_RATE);
  sess_params_default(&n->sp);
  n->sp.keepalive_ns = cfg->keepalive_ns;
  n->sp.timeout_ns = cfg->link_timeout_ns;
  n->sp.rekey_ns = cfg->rekey_ns;
  tap_mac_from_id(n->hid.id, n->mac);
  /* Every frame the TAP emits must fit one datagram on a 1500-byte path. */
  n->tap_mtu = tap_mtu(TAP_PATH_MTU_DEFAULT, false, 0);
  pktq_init(&n->udpq, NODE_UDPQ_MAX);
  pktq_init(&n->tapq, NODE_TAPQ_MAX);
  n->started_ns = now;
  lan_mcast_start(n, now);
  n->next_reap_ns = now + NODE_REAP_EVERY_NS;
  n->next_nat_tick_ns = now + NODE_NAT_TICK_NS;
  nat_obs_init(&n->obs);
  node_local_init(n);
  r = node_ov_init(n, now);
  if (r == 0)
    r = node_dht_init(n, now);
  if (r == 0)
    r = node_revoke_init(n, now);
  if (r != 0)
    goto fail_hs;
  for (unsigned i = 0; i < cfg->n_peers; i++)
    if (!start_static(n, &cfg->peers[i].endpoint, (int)i, false, now)) {
      r = RL_ENOMEM;
      goto fail_hs;
    }
  for (unsigned i = 0; i < cfg->n_bootstrap; i++)
    if (!start_static(n, &cfg->bootstrap[i], (int)i, true, now)) {
      r = RL_ENOMEM;
      goto fail_hs;
    }
  /* Peers remembered from earlier runs: tried once each (not retried
   * forever like configured ones), so a member can rejoin while its
   * bootstrap node is down. */
  for (unsigned i = 0; i < cfg->n_cached && i < NODE_MAX_BOOTSTRAP; i++) {
    bool dup = false;
    for (unsigned j = 0; j < n->n_links; j++)
      if (n->links[j]->used && rl_addr_equal(&n->links[j]->s.endpoint, &cfg->cached[i]))
        dup = true;
    if (!dup && !node_is_own_addr(n, &cfg->cached[i]) &&
        !start_static(n, &cfg->cached[i], -1, true, now)) {
      r = RL_ENOMEM;
      goto fail_hs;
    }
  }
  return n;

fail_hs:
  node_free(n);
  n = NULL;
  goto fail;
fail_free:
  if (n->own_sc)
    node_scratch_free(n->sc);
  sodium_memzero(&n->cfg.key, sizeof(n->cfg.key));
  free(n);
  n = NULL;
fail:
  if (err)
    *err = r;
  return NULL;
}

void node_free(struct node *n) {
  if (!n)
    return;
  for (unsigned i = 0; i < n->n_links; i++) {
    if (n->links[i]->used)
      link_free(n, n->links[i]);
    free(n->links[i]);
  }
  free(n->links);
  link_tables_free(n);
  if (n->own_sc)
    node_scratch_free(n->sc);
  node_dht_free(n);
  overlay_free(n->ov);
  pktq_free(&n->udpq);
  pktq_free(&n->tapq);
  ctl_free(n);
  node_revoke_free(n);
  free(n->rb);
  free(n->rsb);
  free(n->nc);
  node_bday_free(n);
  node_replay_free(n);
  node_routed_free(n);
  lan_bcast_free(n);
  lan_mcast_free(n);
  node_dial_free(n);
  hs_identity_wipe(&n->hid);
  sodium_memzero(&n->cfg.key, sizeof(n->cfg.key));
  sodium_memzero(n, sizeof(*n));
  free(n);
}

static void log_refusal(struct node *n, const struct rl_addr *from, int err, uint64_t now) {
  char ep[RL_ADDR_STRLEN];
  n->c.hs_refused++;
  /* Rate-limited: a flood of bad handshakes must not flood the log. */
  if (n->last_refuse_log_ns && now - n->last_refuse_log_ns < NODE_LOG_REFUSE_EVERY_NS)
    return;
  n->last_refuse_log_ns = now;
  rl_logf(n->env, RL_LOG_WARN, "refused handshake from %s: %s (%llu refused so far)",
          rl_addr_format(from, ep, sizeof(ep)),
          err == RL_EFOREIGN ? "certificate belongs to another group"
          : err == RL_EAUTH  ? "authentication failed (not a member of this group, or a "
                               "forged or corrupted packet)"
                             : rl_strerror(err),
          (unsigned long long)n->c.hs_refused);
}

/* HS_INIT from anyone: verify, decide which link it belongs to, answer.
 * ov_src != NULL: it came through the overlay (an end-to-end session),
 * delivered by relay (NULL: routed). Each receive path has its own load
 * meter, and a cookie reply goes back the way the HS_INIT came (issue 10,
 * finding 6: junk on one path must not stop handshakes on another, and an
 * overlay- or relay-carried initiator must be able to get its cookie). */
struct link *node_recv_init(struct node *n, const struct rl_addr *from, const uint8_t *pkt,
                            size_t len, uint64_t now, const uint8_t *ov_src,
                            const uint8_t *relay) {
  struct hs_pending p;
  size_t cookie_len = 0;
  struct link *l = NULL;
  bool fresh = false, first_key;
  unsigned path = !ov_src ? NODE_HS_UDP : relay ? NODE_HS_RELAY : NODE_HS_OVERLAY;
  /* The cookie binds to what the reply goes to: the UDP source, or the
   * overlay ID it is routed (or relayed) to. */
  struct cookie_src src = {ov_src ? NULL : from, ov_src};
  /* Cookie replies to UDP sources (spoofable: a flood's replies go to its
   * made-up sources) within a budget, checked before the reply is made.
   * Overlay- and relay-carried ones are bounded by what carried the junk
   * in (a member's links, its relay budgets), and each is smaller than
   * the HS_INIT it answers. */
  bool may_reply = ov_src || (rate_refill(&n->hs_cookie_udp, NODE_HS_COOKIE_UDP_RATE,
                                          NODE_HS_COOKIE_UDP_RATE, now),
                              rate_has(&n->hs_cookie_udp, 1));
  int r = hs_resp_parse_init_src(&n->resp, &src, &n->hs_meter[path], pkt, len, now, &p,
                                 may_reply ? n->sc->pkt : NULL, sizeof(n->sc->pkt),
                                 &cookie_len);
  if (r == RL_EFULL) {
    n->c.hs_shed++; /* over the path's work budget: no public-key work */
    return NULL;
  }
  if (r == RL_EAGAIN && !may_reply) {
    n->c.hs_cookie_unsent++;
    return NULL;
  }
  if (r == RL_EAGAIN) {
    n->c.hs_cookie++;
    if (!ov_src) {
      rate_spend(&n->hs_cookie_udp, 1);
      pktq_put(&n->udpq, from, n->sc->pkt, cookie_len);
    } else {
      n->c.hs_cookie_routed++;
      node_e2e_reply(n, ov_src, relay, n->sc->pkt, cookie_len, now);
    }
    return NULL;
  }
  if (r != 0) {
    log_refusal(n, from, r, now);
    return NULL;
  }
  if (memcmp(p.peer_id, n->hid.id, RL_ID_LEN) == 0) {
    log_refusal(n, from, RL_EREFUSED, now); /* our own key: a loop or a clone */
    goto out;
  }
  if (ov_src && memcmp(ov_src, p.peer_id, RL_ID_LEN) != 0) {
    log_refusal(n, from, RL_EAUTH, now); /* routed source is not the signer */
    goto out;
  }
  /* A replay, also of a handshake whose session is gone (node_replay.c). */
  if (node_replay_check(n, p.peer_id, p.peer_timestamp, p.peer_e) != 0) {
    n->c.hs_replay++;
    goto out;
  }
  node_replay_note(n, p.peer_id, p.peer_timestamp, p.peer_e, now);
  l = link_for_init(n, p.peer_id, p.remote_index, ov_src != NULL, from);
  if (!l) {
    l = link_new(n, from, now);
    if (!l)
      goto out;
    l->via_overlay = ov_src != NULL;
    fresh = true;
  }
  first_key = p.key_id == 0;
  /* Replay check, pinned key, simultaneous-initiation tie-break (lower
   * overlay ID keeps the initiator role), keys, and the endpoint follows
   * the signed HS_INIT (a restarted peer behind a new NAT mapping). */
  r = sess_respond(&l->s, &n->resp, &p, from, now);
  if (r != 0) {
    if (r == RL_EREPLAY)
      n->c.hs_replay++;
    else if (r != RL_EEXIST)
      log_refusal(n, from, r == RL_EAUTH ? RL_EREFUSED : r, now);
    if (fresh)
      link_free(n, l);
    l = NULL;
    goto out;
  }
  /* A first key on a session we had replaces what the peer had under it
   * (our handshake toward it lost the tie-break): proven again by its
   * first packet. */
  if (first_key)
    l->proven = false;
  l->retry_at_ns = 0;
  if (!ov_src && l->s.has_resp_to)
    l->resp_sock = (uint16_t)n->rx_sock; /* answer from where it came ... */
  else if (!ov_src)
    l->sock = (uint16_t)n->rx_sock; /* ... and a new session stays there */
  link_timer_changed(n, l);
  link_after_event(n, l, now);
out:
  sodium_memzero(&p, sizeof(p));
  return l && l->used ? l : NULL;
}

int node_recv_udp(struct node *n, const struct rl_addr *from, const uint8_t *pkt, size_t len,
                  uint64_t now) {
  return node_recv_udp_on(n, 0, from, pkt, len, now);
}

int node_recv_udp_on(struct node *n, unsigned sock, const struct rl_addr *from,
                     const uint8_t *pkt, size_t len, uint64_t now) {
  uint8_t op;
  struct link *l;
  struct path_move mv;
  int r;
  n->c.udp_in++;
  if (len < 4 || len > NODE_UDP_MAX || sock > n->cfg.probe_socks) {
    n->c.udp_bad++;
    return RL_ETRUNC;
  }
  n->rx_sock = sock;
  op = pkt[0] >> 3;
  if (op == HS_OP_INIT) {
    node_recv_init(n, from, pkt, len, now, NULL, NULL);
    n->rx_sock = 0;
    return 0;
  }
  n->rx_sock = 0;
  if (op == NODE_OP_NAT_PROBE) {
    node_bday_probe_in(n, sock, from, pkt, len, now);
    return 0;
  }
  if (op != DC_OP_DATA_V2 && op != HS_OP_RESP && op != HS_OP_COOKIE) {
    n->c.udp_bad++;
    return RL_EPARSE;
  }
  l = link_by_index(n, hs_pkt_index(pkt));
  if (!l) {
    n->c.udp_no_link++;
    return RL_ENOENT;
  }
  r = sess_recv(&l->s, from, pkt, len, now, n->sc->pt, sizeof(n->sc->pt));
  if (r >= 0 && !l->via_overlay)
    l->sock = (uint16_t)sock; /* the path follows authenticated input */
  memset(&mv, 0, sizeof(mv));
  if (r >= 0 && op == DC_OP_DATA_V2)
    path_heard(n, l, from, sock, false, NULL, r > 0, false, &mv, now);
  if (r > 0)
    path_deliver(n, l, n->sc->pt, (size_t)r, now);
  else if (r == 0 && n->ov && l->ov_up && op == DC_OP_DATA_V2)
    overlay_link_heard(n->ov, l->s.peer_id, now); /* a keepalive */
  if (r >= 0 && op == DC_OP_DATA_V2)
    link_rx(n, l, r > 0, now); /* after the plaintext (scratch) was used */
  path_follow(n, l, &mv, now); /* (sends: after the plaintext was used) */
  link_after_event(n, l, now);
  return r < 0 ? r : 0;
}

size_t node_poll_udp(struct node *n, struct rl_addr *to, uint8_t *buf, size_t cap) {
  return pktq_pop(&n->udpq, to, buf, cap);
}

size_t node_poll_udp_ex(struct node *n, struct node_tx *tx, uint8_t *buf, size_t cap) {
  uint16_t sock = 0;
  size_t len = pktq_pop_meta(&n->udpq, &tx->to, &sock, &tx->ttl, buf, cap);
  tx->sock = sock;
  return len;
}

size_t node_poll_tap(struct node *n, uint8_t *buf, size_t cap) {
  return pktq_pop(&n->tapq, NULL, buf, cap);
}

bool node_in_ring(struct node *n) {
  struct ov_ring_info ri;
  if (!n->ov || node_ring_info(n, &ri) != 0 || !ri.joined || ri.n_succ == 0)
    return false;
  for (unsigned i = 0; i < n->n_links; i++) {
    const struct link *l = n->links[i];
    if (l->used && !l->dormant && !l->via_overlay && l->s.state == SESS_ESTABLISHED)
      return true;
  }
  return false;
}

/* Resting bootstrap links dial again when we are out of the ring (every
 * link lost), and each now and then anyway (NODE_BOOT_RECHECK_NS). */
static void wake_bootstrap(struct node *n, uint64_t now) {
  bool any = false, due = false;
  for (unsigned i = 0; i < n->n_links; i++) {
    const struct link *l = n->links[i];
    if (l->used && l->dormant) {
      any = true;
      due |= now >= l->wake_at_ns;
    }
  }
  if (!any)
    return;
  bool out = !node_in_ring(n);
  if (!out && !due)
    return;
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (!l->used || !l->dormant || (!out && now < l->wake_at_ns))
      continue;
    rl_logf(n->env, RL_LOG_INFO, out ? "out of the ring: dialling the bootstrap node again"
                                     : "checking in with the bootstrap node (ring merge)");
    l->dormant = false;
    sess_start(&l->s, now);
    link_after_event(n, l, now);
  }
}

/* Links nobody relies on close after a quiet spell (see the limits below);
 * resting bootstrap links wake when due. */
static void reap_idle(struct node *n, uint64_t now) {
  wake_bootstrap(n, now);
  node_revoke_tick(n, now);
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    uint64_t last;
    if (l->used && l->retire_at_ns && now >= l->retire_at_ns) {
      link_free(n, l);
      continue;
    }
    if (!l->used)
      continue;
    node_link_tell_want(n, l, now); /* repeats "I rely on it" when due */
    if (l->static_idx >= 0 || l->ov_wanted || (l->peer_speaks_want && l->peer_wants))
      continue;
    /* Neither end's overlay relies on it: a link that only ever carried
     * overlay messages goes soon; one that carried data (or whose peer
     * does not say what it relies on) after idle_link_ns. */
    bool overlay_only = l->peer_speaks_want && !l->carried_data;
    uint64_t limit = overlay_only && n->cfg.idle_link_ns > NODE_UNWANTED_IDLE_NS
                         ? NODE_UNWANTED_IDLE_NS
                         : n->cfg.idle_link_ns;
    last = l->last_data_ns > l->s.established_ns ? l->last_data_ns : l->s.established_ns;
    if (l->s.state == SESS_ESTABLISHED && now - last > limit) {
      /* Close both ends: the peer may hold this link as configured or as
       * a relay path, and must not keep sending into a session we drop. */
      link_send_exit(n, l, now);
      n->c.links_idle_closed++;
      node_ov_link_down(n, l, now);
      link_free(n, l);
    }
  }
  /* Give the memory of free link slots back (nothing holds a link pointer
   * across node_on_timer, which calls us): a node that once held many
   * links, a bootstrap node during a join wave, does not keep them. */
  unsigned k = 0;
  for (unsigned i = 0; i < n->n_links; i++) {
    if (n->links[i]->used) {
      n->links[i]->arr_pos = k;
      n->links[k++] = n->links[i];
    } else {
      free(n->links[i]);
    }
  }
  n->n_links = k;
  n->next_reap_ns = now + NODE_REAP_EVERY_NS;
}

uint64_t node_next_timer(const struct node *n) {
  uint64_t t = node_ov_next_timer(n);
  uint64_t dt = node_dht_next_timer(n), nt = node_nat_next_timer(n);
  if (dt < t)
    t = dt;
  if (nt < t)
    t = nt;
  if (n->next_reap_ns < t)
    t = n->next_reap_ns;
  if (lan_mcast_next_timer(n) < t)
    t = lan_mcast_next_timer(n);
  if (n->th_n && link_timer(n->th[0]) < t)
    t = link_timer(n->th[0]);
  return t;
}

void node_on_timer(struct node *n, uint64_t now) {
  node_ov_on_timer(n, now);
  node_dht_on_timer(n, now);
  node_nat_on_timer(n, now);
  if (lan_mcast_next_timer(n) <= now)
    lan_mcast_on_timer(n, now);
  if (now >= n->next_reap_ns)
    reap_idle(n, now);
  /* The links due now, from the top of the timer heap. Handling a link
   * moves its timer past now (a retry starts a handshake; a session timer
   * sends, retries, retires a key or gives up), so each is visited once;
   * the bound is a guard, not a limit that is ever reached. */
  for (unsigned guard = n->th_n + 16; guard > 0 && n->th_n && link_timer(n->th[0]) <= now;
       guard--) {
    struct link *l = n->th[0];
    if (l->hold_until_ns && l->hold_until_ns <= now) {
      path_on_timer(n, l, now);
      continue;
    }
    if (l->retry_at_ns) {
      l->retry_at_ns = 0;
      link_timer_changed(n, l);
      sess_start(&l->s, now);
      link_after_event(n, l, now);
    } else {
      sess_on_timer(&l->s, now);
      link_after_event(n, l, now);
    }
    if (l->used && n->th[0] == l && link_timer(l) <= now)
      break; /* no progress (must not happen): do not spin */
  }
}

int node_reload_peers(struct node *n, const struct node_peer_cfg *peers, unsigned n_peers,
                      uint64_t now) {
  if (n_peers > NODE_MAX_STATIC_PEERS)
    return RL_ERANGE;
  /* Links to peers no longer listed lose their static status (they stay up
   * while used and are forgotten when they die); new ones are started. */
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (l->used && !l->bootstrap && l->static_idx >= 0) {
      int found = -1;
      for (unsigned j = 0; j < n_peers; j++)
        if (rl_addr_equal(&peers[j].endpoint, &n->cfg.peers[l->static_idx].endpoint))
          found = (int)j;
      l->static_idx = found;
      if (found < 0 && l->retry_at_ns)
        link_free(n, l);
    }
  }
  memcpy(n->cfg.peers, peers, n_peers * sizeof(*peers));
  n->cfg.n_peers = n_peers;
  for (unsigned j = 0; j < n_peers; j++) {
    bool have = false;
    for (unsigned i = 0; i < n->n_links; i++)
      if (n->links[i]->used && !n->links[i]->bootstrap && n->links[i]->static_idx == (int)j)
        have = true;
    if (!have && !start_static(n, &peers[j].endpoint, (int)j, false, now))
      return RL_ENOMEM;
  }
  return 0;
}

void node_leave(struct node *n, uint64_t now) {
  n->leaving = true;
  /* The peers we hold now are the best way back in next time (the
   * bootstrap node may be gone by then). */
  node_save_peer_cache(n, now);
  if (n->dht) {
    dht_leave(n->dht, now); /* records go to the successor first */
    node_dht_pump(n, now);
  }
  if (n->ov) {
    overlay_leave(n->ov, now);
    node_ov_pump(n, now);
  }
  /* Then goodbye on every link, as OpenVPN's explicit-exit-notify: the
   * peers drop us now instead of after their link timeout. */
  for (unsigned i = 0; i < n->n_links; i++)
    if (n->links[i]->used)
      link_send_exit(n, n->links[i], now);
}

void node_tap_mac(const struct node *n, uint8_t mac[6]) { memcpy(mac, n->mac, 6); }
uint16_t node_tap_mtu(const struct node *n) { return n->tap_mtu; }
const uint8_t *node_id(const struct node *n) { return n->hid.id; }

int node_ring_info(const struct node *n, struct ov_ring_info *out) {
  if (!n->ov)
    return RL_ESTATE;
  overlay_ring_info(n->ov, out);
  return 0;
}
