/* Status and control answers: JSON (stable field names, docs/cli.md) and
 * human-readable text. Built into caller buffers, no allocation. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <ringlan/error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/core/node_internal.h"
#include "tap/mcast.h"

struct sb {
  char *p;
  size_t cap, len;
  bool over;
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...) {
  va_list ap;
  int w;
  if (b->over)
    return;
  va_start(ap, fmt);
  w = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (w < 0 || (size_t)w >= b->cap - b->len) {
    b->over = true;
    return;
  }
  b->len += (size_t)w;
}

static int sb_done(struct sb *b) { return b->over ? RL_ETOOBIG : (int)b->len; }

static void ip4(char out[16], uint32_t ip) {
  snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static const char *path_name(enum link_path p) {
  return p == LINK_PATH_RELAY ? "relay" : p == LINK_PATH_OVERLAY ? "overlay" : "direct";
}

static const char *state_name(enum sess_state s) {
  switch (s) {
  case SESS_IDLE:
    return "idle";
  case SESS_HANDSHAKE:
    return "handshake";
  case SESS_ESTABLISHED:
    return "established";
  default:
    return "dead";
  }
}

static double age_s(uint64_t now, uint64_t then) {
  return then && now >= then ? (double)(now - then) / (double)NS_PER_S : -1.0;
}

static void link_json(struct sb *b, const struct link *l, uint64_t now) {
  char id[2 * RL_ID_LEN + 1] = "", vip[16] = "", ep[RL_ADDR_STRLEN];
  if (l->s.have_peer) {
    rl_hex_encode(id, l->s.peer_id, RL_ID_LEN);
    ip4(vip, l->s.peer_vip);
  } else if (l->has_expect) {
    rl_hex_encode(id, l->expect_id, RL_ID_LEN); /* who we are trying to reach */
  }
  rl_addr_format(&l->s.endpoint, ep, sizeof(ep));
  sb_printf(b,
            "{\"peer_id\":\"%s\",\"peer_vip\":\"%s\",\"endpoint\":\"%s\",\"path\":\"%s\","
            "\"state\":\"%s\",\"rtt_ms\":%.3f,\"rx_bytes\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
            ",\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64
            ",\"key_id\":%u,\"cipher\":\"%s\",\"last_handshake_s\":%.3f,\"handshakes\":%u,"
            "\"static\":%s,\"pending_frames\":%u",
            id, vip, ep, path_name(link_path(l)),
            l->retire_at_ns ? "retiring" : state_name(l->s.state),
            (double)l->s.rtt_ns / (double)NS_PER_MS, l->s.rx_bytes, l->s.tx_bytes,
            l->s.rx_pkts, l->s.tx_pkts, l->s.cur_key_id,
            l->s.state == SESS_ESTABLISHED ? dc_cipher_name(l->s.cipher) : "",
            age_s(now, l->s.last_hs_ns), l->s.handshakes, l->static_idx >= 0 ? "true" : "false",
            l->pending.n);
  sb_printf(b, ",\"sock\":%u", l->sock); /* 0: the main socket */
  if (l->via_overlay && l->has_relay) {
    char rid[2 * RL_ID_LEN + 1];
    rl_hex_encode(rid, l->relay_id, RL_ID_LEN);
    sb_printf(b, ",\"relay\":\"%s\"", rid);
    if (l->has_standby && l->standby_ok_ns) {
      /* the relay a failover would move to, and when its path last answered */
      rl_hex_encode(rid, l->standby_id, RL_ID_LEN);
      sb_printf(b, ",\"standby\":\"%s\",\"standby_checked_s\":%.1f", rid,
                (double)(now - l->standby_ok_ns) / (double)NS_PER_S);
    }
  } else {
    sb_printf(b, ",\"relay\":null");
  }
  sb_printf(b, "}");
}

static void id_list(struct sb *b, const uint8_t (*ids)[RL_ID_LEN], unsigned n) {
  char hex[2 * RL_ID_LEN + 1];
  sb_printf(b, "[");
  for (unsigned i = 0; i < n; i++) {
    rl_hex_encode(hex, ids[i], RL_ID_LEN);
    sb_printf(b, "%s\"%s\"", i ? "," : "", hex);
  }
  sb_printf(b, "]");
}

static void ring_json(struct sb *b, const struct node *n) {
  struct ov_ring_info ri;
  char hex[2 * RL_ID_LEN + 1];
  if (!n->ov) {
    sb_printf(b, "\"ring\":null,");
    return;
  }
  overlay_ring_info(n->ov, &ri);
  sb_printf(b, "\"ring\":{\"joined\":%s,\"predecessor\":", ri.joined ? "true" : "false");
  if (ri.has_pred) {
    rl_hex_encode(hex, ri.pred, RL_ID_LEN);
    sb_printf(b, "\"%s\"", hex);
  } else {
    sb_printf(b, "null");
  }
  sb_printf(b, ",\"successors\":");
  id_list(b, (const uint8_t(*)[RL_ID_LEN])ri.succ, ri.n_succ);
  sb_printf(b, ",\"shortcuts\":");
  id_list(b, (const uint8_t(*)[RL_ID_LEN])ri.shortcuts, ri.n_shortcuts);
  sb_printf(b, ",\"estimated_n\":%llu},", (unsigned long long)ri.estimated_n);
}

/* The group's ring and the certificate's subrings, as a JSON array. */
static void subrings_list(struct sb *b, const struct node *n) {
  struct ov_ring_info ri;
  memset(&ri, 0, sizeof(ri));
  if (n->ov)
    overlay_ring_info(n->ov, &ri);
  sb_printf(b,
            "[{\"name\":\"%s\",\"kind\":\"group\",\"joined\":%s,\"size_estimate\":%llu,"
            "\"frames_out\":%" PRIu64 ",\"frames_in\":%" PRIu64 "}",
            n->cfg.cert.group, ri.joined ? "true" : "false",
            (unsigned long long)(ri.joined ? ri.estimated_n : 0), n->c.bcast_out, n->c.bcast_in);
  for (unsigned i = 0; i < n->cfg.cert.n_subrings && i < CERT_MAX_SUBRINGS; i++)
    sb_printf(b, ",{\"name\":\"%s\",\"kind\":\"certificate\",\"joined\":false}",
              n->cfg.cert.subrings[i]);
  sb_printf(b, "]");
}

int node_subrings_json(const struct node *n, uint64_t now, char *buf, size_t cap) {
  struct sb b = {buf, cap, 0, false};
  (void)now;
  sb_printf(&b, "{\"subrings\":");
  subrings_list(&b, n);
  sb_printf(&b, "}");
  return sb_done(&b);
}

int node_subrings_text(const struct node *n, uint64_t now, char *buf, size_t cap) {
  struct sb b = {buf, cap, 0, false};
  struct ov_ring_info ri;
  (void)now;
  memset(&ri, 0, sizeof(ri));
  if (n->ov)
    overlay_ring_info(n->ov, &ri);
  sb_printf(&b, "%-24s %-12s %-7s %s\n", "NAME", "KIND", "JOINED", "SIZE");
  sb_printf(&b, "%-24s %-12s %-7s %llu\n", n->cfg.cert.group, "group",
            ri.joined ? "yes" : "no", (unsigned long long)(ri.joined ? ri.estimated_n : 0));
  for (unsigned i = 0; i < n->cfg.cert.n_subrings && i < CERT_MAX_SUBRINGS; i++)
    sb_printf(&b, "%-24s %-12s %-7s %s\n", n->cfg.cert.subrings[i], "certificate", "no",
              "- (subrings do not carry traffic in this version)");
  return sb_done(&b);
}

/* Broadcast and multicast (lan_bcast.c, lan_mcast.c): the overlay tree's
 * figures, our host's groups, and the certificate's subrings (which do
 * not carry traffic yet: every group frame uses the whole ring's tree). */
static void bcast_json(struct sb *b, const struct node *n, uint64_t now) {
  struct ov_stats st;
  struct tap_mcast_rec g[TAP_MCAST_GROUPS_MAX];
  size_t ng = lan_mcast_groups(n, g, TAP_MCAST_GROUPS_MAX, now);
  memset(&st, 0, sizeof(st));
  if (n->ov)
    overlay_stats(n->ov, &st);
  sb_printf(b,
            "\"broadcast\":{\"frames_out\":%" PRIu64 ",\"frames_in\":%" PRIu64
            ",\"bad\":%" PRIu64 ",\"unjoined\":%" PRIu64 ",\"frag_lost\":%" PRIu64
            ",\"too_big\":%" PRIu64 ",\"rate_dropped\":%" PRIu64 ",\"fallback\":%" PRIu64
            ",\"tree\":{\"sent\":%" PRIu64 ",\"tx\":%" PRIu64 ",\"delivered\":%" PRIu64
            ",\"dup\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"rate_dropped\":%" PRIu64
            ",\"stale\":%" PRIu64 ",\"link_dropped\":%" PRIu64 "}},",
            n->c.bcast_out, n->c.bcast_in, n->c.bcast_bad, n->c.bcast_unjoined,
            n->c.bcast_frag_lost, n->c.bcast_too_big, n->c.bcast_rate_dropped,
            n->c.bcast_fallback, st.bcast_sent, st.bcast_tx, st.bcast_delivered, st.bcast_dup,
            st.bcast_refused, st.bcast_rate_dropped, st.bcast_stale, st.bcast_link_dropped);
  sb_printf(b, "\"multicast\":{\"querier\":%s,\"groups\":[",
            n->cfg.mcast_querier ? "true" : "false");
  for (size_t i = 0; i < ng && i < TAP_MCAST_GROUPS_MAX; i++) {
    char a[64];
    if (g[i].family == 4)
      snprintf(a, sizeof(a), "%u.%u.%u.%u", g[i].addr[0], g[i].addr[1], g[i].addr[2],
               g[i].addr[3]);
    else if (!inet_ntop(AF_INET6, g[i].addr, a, sizeof(a)))
      snprintf(a, sizeof(a), "?");
    sb_printf(b, "%s{\"group\":\"%s\",\"vlan\":%u}", i ? "," : "", a,
              g[i].n_vlan ? g[i].vlan[g[i].n_vlan - 1].tci & 0x0fffu : 0u);
  }
  sb_printf(b,
            "],\"joins\":%" PRIu64 ",\"leaves\":%" PRIu64 ",\"timeouts\":%" PRIu64
            ",\"queries\":%" PRIu64 ",\"bad\":%" PRIu64 "},",
            n->mq ? n->mq->stats.joins : 0, n->mq ? n->mq->stats.leaves : 0,
            n->mq ? n->mq->stats.timeouts : 0, n->mq ? n->mq->stats.queries : 0,
            n->c.mcast_bad);
  sb_printf(b, "\"subrings\":");
  subrings_list(b, n);
  sb_printf(b, ",");
}

/* The DHT as this member sees it: what it holds and how it went. */
static void dht_json(struct sb *b, const struct node *n) {
  struct dht_stats st;
  if (!n->dht) {
    sb_printf(b, "\"dht\":null,");
    return;
  }
  dht_stats(n->dht, &st);
  sb_printf(b,
            "\"dht\":{\"records\":%" PRIu64 ",\"stored\":%" PRIu64 ",\"same_again\":%" PRIu64
            ",\"rejected_invalid\":%" PRIu64 ",\"rejected_expired\":%" PRIu64
            ",\"rejected_stale\":%" PRIu64 ",\"rejected_conflict\":%" PRIu64
            ",\"rejected_full\":%" PRIu64 ",\"expired_dropped\":%" PRIu64
            ",\"replicate_sent\":%" PRIu64 ",\"handed_on\":%" PRIu64 ",\"retried\":%" PRIu64 ",\"gets_ok\":%" PRIu64
            ",\"gets_not_found\":%" PRIu64 ",\"gets_timeout\":%" PRIu64
            ",\"own_acked\":%" PRIu64 ",\"msgs_bad\":%" PRIu64 ",\"queue_dropped\":%" PRIu64
            ",\"revocations_stored\":%" PRIu64 "},",
            st.records, st.stored, st.same_again, st.rejected_invalid, st.rejected_expired,
            st.rejected_stale, st.rejected_conflict, st.rejected_full, st.expired_dropped,
            st.replicate_sent, st.handed_on, st.retried, st.gets_ok, st.gets_not_found, st.gets_timeout, st.own_acked,
            st.msgs_bad, st.queue_dropped, st.revocations_stored);
}

static void nat_json(struct sb *b, const struct node *n) {
  char a[RL_ADDR_STRLEN];
  sb_printf(b, "\"nat\":{\"class\":\"%s\",\"reflexive\":", nat_class_name(n->nat_class));
  if (n->has_reflexive)
    sb_printf(b, "\"%s\"", rl_addr_format(&n->reflexive, a, sizeof(a)));
  else
    sb_printf(b, "null");
  sb_printf(b, ",\"mapped\":");
  if (n->has_mapped)
    sb_printf(b, "\"%s\",\"mapped_by\":\"%s\"", rl_addr_format(&n->mapped, a, sizeof(a)),
              n->mapped_method);
  else
    sb_printf(b, "null,\"mapped_by\":null");
  /* What peers are told to dial (the NODE record), in that order. */
  struct nat_cand c[NAT_CAND_MAX];
  unsigned k = node_nat_candidates(n, c, NAT_CAND_MAX);
  sb_printf(b, ",\"candidates\":[");
  for (unsigned i = 0; i < k; i++)
    sb_printf(b, "%s{\"kind\":\"%s\",\"addr\":\"%s\"}", i ? "," : "",
              c[i].kind == NAT_CAND_MAPPED ? "mapped"
              : c[i].kind == NAT_CAND_REFLEXIVE ? "reflexive"
              : c[i].kind == NAT_CAND_TCP ? "tcp" : "host",
              rl_addr_format(&c[i].addr, a, sizeof(a)));
  sb_printf(b, "],\"tcp_mode\":%s},", n->tcp_mode ? "true" : "false");
}

int node_status_json(const struct node *n, uint64_t now, char *buf, size_t cap) {
  struct sb b = {buf, cap, 0, false};
  char id[2 * RL_ID_LEN + 1], vip[16], ep[RL_ADDR_STRLEN];
  bool first = true;
  rl_hex_encode(id, n->hid.id, RL_ID_LEN);
  ip4(vip, n->cfg.cert.vip);
  sb_printf(&b,
            "{\"id\":\"%s\",\"vip\":\"%s\",\"prefix\":%u,\"group\":\"%s\",\"tap\":\"%s\","
            "\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"mtu\":%u,\"listen\":\"%s\","
            "\"uptime_s\":%.3f,\"links\":[",
            id, vip, n->cfg.cert.prefix, n->cfg.cert.group, n->cfg.tap_name, n->mac[0],
            n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5], n->tap_mtu,
            rl_addr_format(&n->cfg.listen, ep, sizeof(ep)), age_s(now, n->started_ns));
  for (unsigned i = 0; i < n->n_links; i++) {
    if (!n->links[i]->used)
      continue;
    if (!first)
      sb_printf(&b, ",");
    first = false;
    link_json(&b, n->links[i], now);
  }
  sb_printf(&b, "],");
  ring_json(&b, n);
  dht_json(&b, n);
  bcast_json(&b, n, now);
  nat_json(&b, n);
  sb_printf(&b,
            "\"counters\":{\"udp_in\":%" PRIu64 ",\"udp_bad\":%" PRIu64
            ",\"udp_no_link\":%" PRIu64 ",\"hs_refused\":%" PRIu64 ",\"hs_replay\":%" PRIu64
            ",\"hs_cookie\":%" PRIu64 ",\"tap_in\":%" PRIu64 ",\"tap_too_big\":%" PRIu64
            ",\"tap_no_route\":%" PRIu64 ",\"frame_spoofed\":%" PRIu64
            ",\"pending_overflow\":%" PRIu64 ",\"udp_queue_drops\":%" PRIu64
            ",\"tap_queue_drops\":%" PRIu64 ",\"arp_answered\":%" PRIu64
            ",\"arp_announced\":%" PRIu64
            ",\"resolve_failed\":%" PRIu64 ",\"connects_on_demand\":%" PRIu64
            ",\"e2e_in\":%" PRIu64 ",\"e2e_bad\":%" PRIu64 ",\"ov_send_no_link\":%" PRIu64
            ",\"ov_too_big\":%" PRIu64 ",\"links_idle_closed\":%" PRIu64
            ",\"punches_sent\":%" PRIu64 ",\"punches_received\":%" PRIu64
            ",\"relay_forwarded\":%" PRIu64 ",\"relay_refused\":%" PRIu64
            ",\"relay_no_route\":%" PRIu64 ",\"probes_sent\":%" PRIu64
            ",\"links_failed_fast\":%" PRIu64 ",\"relay_failovers\":%" PRIu64
            ",\"tcp_fallbacks\":%" PRIu64 ",\"relay_refused_src\":%" PRIu64
            ",\"relay_refused_total\":%" PRIu64 ",\"hs_cookie_routed\":%" PRIu64
            ",\"hs_shed\":%" PRIu64 ",\"hs_cookie_unsent\":%" PRIu64,
            n->c.udp_in, n->c.udp_bad, n->c.udp_no_link, n->c.hs_refused, n->c.hs_replay,
            n->c.hs_cookie, n->c.tap_in, n->c.tap_too_big, n->c.tap_no_route,
            n->c.frame_spoofed, n->c.pending_overflow, n->udpq.dropped, n->tapq.dropped,
            n->c.arp_answered, n->c.arp_announced, n->c.resolve_failed, n->c.connects_on_demand, n->c.e2e_in,
            n->c.e2e_bad, n->c.ov_send_no_link, n->c.ov_too_big, n->c.links_idle_closed,
            n->c.punches_sent, n->c.punches_received, n->c.relay_forwarded, n->c.relay_refused,
            n->c.relay_no_route, n->c.probes_sent, n->c.links_failed_fast,
            n->c.relay_failovers, n->c.tcp_fallbacks, n->c.relay_refused_src,
            n->c.relay_refused_total, n->c.hs_cookie_routed, n->c.hs_shed,
            n->c.hs_cookie_unsent);
  sb_printf(&b,
            ",\"bday_attempts\":%" PRIu64 ",\"bday_punches\":%" PRIu64
            ",\"bday_probes\":%" PRIu64 ",\"bday_hits\":%" PRIu64 ",\"bday_direct\":%" PRIu64
            ",\"path_switches\":%" PRIu64 ",\"path_holds\":%" PRIu64 ",\"path_held\":%" PRIu64
            ",\"revocations\":%" PRIu64 ",\"revoked\":%u,\"links_expired\":%" PRIu64
            ",\"revocations_from_dht\":%" PRIu64 ",\"revoke_checks_dropped\":%" PRIu64,
            n->c.bday_attempts, n->c.bday_punches, n->c.bday_probes, n->c.bday_hits,
            n->c.bday_direct, n->c.path_switches, n->c.path_holds, n->c.path_held,
            n->c.revocations, n->revoked.n, n->c.links_expired, n->c.revocations_from_dht,
            n->c.revoke_checks_dropped);
  sb_printf(&b,
            ",\"routed_unsigned\":%" PRIu64 ",\"routed_bad_origin\":%" PRIu64
            ",\"punches_capped\":%" PRIu64 ",\"gets_capped\":%" PRIu64
            ",\"punch_links_capped\":%" PRIu64 ",\"cands_refused\":%" PRIu64
            ",\"links_refused_full\":%" PRIu64 ",\"routed_replayed\":%" PRIu64
            ",\"ov_dials_capped\":%" PRIu64
            ",\"bday_over_budget\":%" PRIu64,
            n->c.routed_unsigned, n->c.routed_bad_origin, n->c.punches_capped, n->c.gets_capped,
            n->c.punch_links_capped, n->c.cands_refused, n->c.links_refused_full,
            n->c.routed_replayed, n->c.ov_dials_capped, n->c.bday_over_budget);
  sb_printf(&b,
            ",\"bcast_out\":%" PRIu64 ",\"bcast_in\":%" PRIu64 ",\"bcast_bad\":%" PRIu64
            ",\"bcast_unjoined\":%" PRIu64 ",\"bcast_frag_lost\":%" PRIu64
            ",\"bcast_too_big\":%" PRIu64 ",\"bcast_rate_dropped\":%" PRIu64
            ",\"bcast_fallback\":%" PRIu64 ",\"mcast_bad\":%" PRIu64 "}}",
            n->c.bcast_out, n->c.bcast_in, n->c.bcast_bad, n->c.bcast_unjoined,
            n->c.bcast_frag_lost, n->c.bcast_too_big, n->c.bcast_rate_dropped,
            n->c.bcast_fallback, n->c.mcast_bad);
  return sb_done(&b);
}

int node_status_text(const struct node *n, uint64_t now, char *buf, size_t cap) {
  struct sb b = {buf, cap, 0, false};
  char id[2 * RL_ID_LEN + 1], vip[16], ep[RL_ADDR_STRLEN];
  rl_hex_encode(id, n->hid.id, RL_ID_LEN);
  ip4(vip, n->cfg.cert.vip);
  sb_printf(&b, "node %s\n  group %s, vip %s/%u, tap %s (mtu %u), listen %s\n", id,
            n->cfg.cert.group, vip, n->cfg.cert.prefix, n->cfg.tap_name, n->tap_mtu,
            rl_addr_format(&n->cfg.listen, ep, sizeof(ep)));
  sb_printf(&b, "links:\n");
  for (unsigned i = 0; i < n->n_links; i++) {
    const struct link *l = n->links[i];
    char pid[2 * RL_ID_LEN + 1] = "?", pvip[16] = "?";
    if (!l->used)
      continue;
    if (l->s.have_peer) {
      rl_hex_encode(pid, l->s.peer_id, RL_ID_LEN);
      ip4(pvip, l->s.peer_vip);
    }
    char hs[32] = "hs none yet"; /* (a session still handshaking) */
    if (l->s.last_hs_ns)
      snprintf(hs, sizeof(hs), "hs %.0f s ago", age_s(now, l->s.last_hs_ns));
    sb_printf(&b,
              "  %-15s %.12s %-21s %-7s %-11s rtt %7.3f ms  rx %" PRIu64 " B/%" PRIu64
              " pkt  tx %" PRIu64 " B/%" PRIu64 " pkt  key %u %s  %s\n",
              pvip, pid, rl_addr_format(&l->s.endpoint, ep, sizeof(ep)), path_name(link_path(l)),
              state_name(l->s.state), (double)l->s.rtt_ns / (double)NS_PER_MS, l->s.rx_bytes,
              l->s.rx_pkts, l->s.tx_bytes, l->s.tx_pkts, l->s.cur_key_id,
              l->s.state == SESS_ESTABLISHED ? dc_cipher_name(l->s.cipher) : "-", hs);
  }
  return sb_done(&b);
}

int node_peers_json(const struct node *n, uint64_t now, char *buf, size_t cap) {
  struct sb b = {buf, cap, 0, false};
  bool first = true;
  sb_printf(&b, "{\"peers\":[");
  for (unsigned i = 0; i < n->n_links; i++) {
    if (!n->links[i]->used || !n->links[i]->s.have_peer)
      continue;
    if (!first)
      sb_printf(&b, ",");
    first = false;
    link_json(&b, n->links[i], now);
  }
  sb_printf(&b, "]}");
  return sb_done(&b);
}
