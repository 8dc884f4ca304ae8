/* The node core's side of the DHT: publishing this member's records,
 * resolving virtual IPs (ARP answered locally) and overlay IDs (endpoint
 * candidates for on-demand direct links), the CLI's lookups, and the peer
 * cache that lets a restarted member rejoin without its bootstrap node. */
#include <ringlan/error.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dht/msg.h"
#include "nat/cand.h"
#include "node/core/node_internal.h"

int node_dht_init(struct node *n, uint64_t now) {
  struct dht_config dc;
  int err = 0;
  (void)now;
  dht_config_default(&dc);
  dc.env = n->env;
  memcpy(dc.self_id, n->hid.id, RL_ID_LEN);
  dc.key = n->cfg.key;
  dc.cert = n->cfg.cert;
  snprintf(dc.group, sizeof(dc.group), "%s", n->cfg.cert.group);
  memcpy(dc.group_pk, n->cfg.group_pk, RL_PK_LEN);
  if (n->cfg.dht_replicas)
    dc.replicas = n->cfg.dht_replicas;
  dc.store = n->cfg.store;
  dc.revoked = &n->revoked;
  n->dht = dht_new(&dc, &err);
  sodium_memzero(&dc.key, sizeof(dc.key));
  return n->dht ? 0 : err;
}

void node_dht_free(struct node *n) {
  dht_free(n->dht);
  n->dht = NULL;
  free(n->rs);
  free(n->vipc);
  n->rs = NULL;
  n->vipc = NULL;
}

/* ---- the vip -> member cache ---- */

static struct vip_entry *vipc_find_vip(struct node *n, uint32_t vip, uint64_t now) {
  for (unsigned i = 0; i < n->n_vipc; i++)
    if (n->vipc[i].vip == vip && n->vipc[i].expires_ns > now)
      return &n->vipc[i];
  return NULL;
}

static struct vip_entry *vipc_find_mac(struct node *n, const uint8_t mac[6], uint64_t now) {
  for (unsigned i = 0; i < n->n_vipc; i++)
    if (memcmp(n->vipc[i].mac, mac, 6) == 0 && n->vipc[i].expires_ns > now)
      return &n->vipc[i];
  return NULL;
}

void node_vipc_forget(struct node *n, const uint8_t id[RL_ID_LEN]) {
  for (unsigned i = 0; i < n->n_vipc; i++)
    if (memcmp(n->vipc[i].id, id, RL_ID_LEN) == 0)
      n->vipc[i].expires_ns = 0; /* a free slot for vipc_put */
}

static void vipc_put(struct node *n, uint32_t vip, const uint8_t id[RL_ID_LEN], uint64_t now) {
  struct vip_entry *e = NULL;
  if (!n->vipc) {
    n->vipc = calloc(NODE_VIPC_MAX, sizeof(*n->vipc));
    if (!n->vipc)
      return;
  }
  for (unsigned i = 0; i < n->n_vipc && !e; i++)
    if (n->vipc[i].vip == vip || n->vipc[i].expires_ns <= now)
      e = &n->vipc[i];
  if (!e && n->n_vipc < NODE_VIPC_MAX)
    e = &n->vipc[n->n_vipc++];
  if (!e) { /* full of live entries: replace the one closest to expiry */
    e = &n->vipc[0];
    for (unsigned i = 1; i < n->n_vipc; i++)
      if (n->vipc[i].expires_ns < e->expires_ns)
        e = &n->vipc[i];
  }
  e->vip = vip;
  memcpy(e->id, id, RL_ID_LEN);
  tap_mac_from_id(id, e->mac);
  e->expires_ns = now + NODE_VIPC_TTL_NS;
}

/* ---- pending lookups ---- */

static struct resolve *rs_new(struct node *n, uint8_t kind, uint64_t now) {
  if (!n->rs) {
    n->rs = calloc(NODE_RESOLVE_MAX, sizeof(*n->rs));
    if (!n->rs)
      return NULL;
  }
  for (unsigned i = 0; i < NODE_RESOLVE_MAX; i++)
    if (!n->rs[i].used) {
      struct resolve *r = &n->rs[i];
      memset(r, 0, sizeof(*r));
      r->used = true;
      r->kind = kind;
      r->cookie = (uint32_t)kind << 24 | (++n->cookie_seq & 0xFFFFFFu);
      r->started_ns = now;
      return r;
    }
  n->c.resolve_full++;
  return NULL;
}

static struct resolve *rs_find(struct node *n, uint8_t kind, uint32_t vip,
                               const uint8_t *id) {
  if (!n->rs)
    return NULL;
  for (unsigned i = 0; i < NODE_RESOLVE_MAX; i++) {
    struct resolve *r = &n->rs[i];
    if (r->used && r->kind == kind &&
        (id ? memcmp(r->id, id, RL_ID_LEN) == 0 : r->vip == vip))
      return r;
  }
  return NULL;
}

static int rs_start(struct node *n, struct resolve *r, uint64_t now) {
  uint8_t key[DHT_KEY_LEN];
  int err;
  if (r->kind == RS_ARP || r->kind == RS_CTL_VIP || r->kind == RS_MOVED)
    dht_key_vip(n->cfg.cert.group, r->vip, key);
  else
    dht_key_node(n->cfg.cert.group, r->id, key);
  err = dht_get(n->dht, key, r->cookie, now);
  if (err != 0)
    r->used = false;
  node_dht_pump(n, now);
  return err;
}

void node_dht_check_peer(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t now) {
  struct resolve *r;
  if (!n->dht || !n->published || revoke_set_has(&n->revoked, id) ||
      rs_find(n, RS_CHECK, 0, id) || !(r = rs_new(n, RS_CHECK, now)))
    return;
  memcpy(r->id, id, RL_ID_LEN);
  rs_start(n, r, now);
}

/* ---- links on demand ---- */

static struct link *open_e2e(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t now) {
  struct rl_addr none;
  struct link *l = link_tx(n, id, LINK_TX_RELAY | LINK_TX_OVERLAY, NULL);
  if (l)
    return l;
  for (unsigned i = 0; i < n->n_links; i++) {
    l = n->links[i];
    if (l->used && l->via_overlay && l->has_expect && !l->s.have_peer && !l->retire_at_ns &&
        memcmp(l->expect_id, id, RL_ID_LEN) == 0)
      return l;
  }
  memset(&none, 0, sizeof(none));
  l = link_new(n, &none, now);
  if (!l)
    return NULL;
  l->via_overlay = true;
  l->has_expect = true;
  memcpy(l->expect_id, id, RL_ID_LEN);
  tap_mac_from_id(id, l->mac);
  sess_start(&l->s, now);
  link_after_event(n, l, now);
  return l;
}

static bool have_direct(struct node *n, const uint8_t id[RL_ID_LEN]) {
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (!l->used || l->via_overlay)
      continue;
    if ((l->s.have_peer && memcmp(l->s.peer_id, id, RL_ID_LEN) == 0) ||
        (l->has_expect && memcmp(l->expect_id, id, RL_ID_LEN) == 0))
      return true;
  }
  return false;
}

/* ---- a virtual IP that changed hands ---- */

/* The member whose session certifies vip (an established one, or one that
 * was: its certificate was checked by the handshake). */
static struct link *link_with_vip(struct node *n, uint32_t vip) {
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (l->used && l->s.have_peer && l->s.peer_vip == vip)
      return l;
  }
  return NULL;
}

/* Tells our kernel "vip is at the holder's MAC" with a gratuitous ARP: a
 * neighbour entry still naming the former holder's MAC (stale) takes the
 * new one at once instead of after its reachable time, delay and probes
 * (up to ~50 s with Linux defaults). */
static void vip_announce(struct node *n, uint32_t vip, const uint8_t holder[RL_ID_LEN],
                         const uint8_t stale[6]) {
  uint8_t mac[6], out[64];
  int len;
  tap_mac_from_id(holder, mac);
  if (memcmp(mac, stale, 6) == 0)
    return; /* the kernel has the right MAC; the holder is only not linked */
  len = tap_arp_announce(mac, vip, out, sizeof(out));
  if (len > 0 && pktq_put(&n->tapq, NULL, out, (size_t)len) == 0) {
    char hex[2 * RL_ID_LEN + 1];
    n->c.arp_announced++;
    rl_hex_encode(hex, holder, RL_ID_LEN);
    rl_logf(n->env, RL_LOG_INFO,
            "%u.%u.%u.%u is now member %.16s's (kernel still sent to "
            "%02x:%02x:%02x:%02x:%02x:%02x): announced to the TAP",
            vip >> 24, (vip >> 16) & 255, (vip >> 8) & 255, vip & 255, hex, stale[0], stale[1],
            stale[2], stale[3], stale[4], stale[5]);
  }
}

/* At most once per NODE_RECHECK_NS per address. */
static bool recheck_due(struct node *n, uint32_t vip, uint64_t now) {
  unsigned slot = 0;
  for (unsigned i = 0; i < NODE_RECHECK_MAX; i++) {
    if (n->recheck[i].vip == vip) {
      if (now - n->recheck[i].at_ns < NODE_RECHECK_NS)
        return false;
      slot = i;
      break;
    }
    if (n->recheck[i].at_ns < n->recheck[slot].at_ns)
      slot = i;
  }
  n->recheck[slot].vip = vip;
  n->recheck[slot].at_ns = now;
  return true;
}

/* The kernel sent a unicast IPv4 frame (fi) to a MAC no member has. If its
 * destination is an address of the LAN, the kernel's neighbour entry for it
 * names a member that is gone: the address changed hands (a revoked
 * member's address reissued, a member back with a new key). The holder is
 * found (a session, the cache, else the DHT) and announced to the kernel;
 * this frame is lost, as on any LAN until the announcement. */
static void vip_recheck(struct node *n, const struct tap_frame_info *fi, uint64_t now) {
  uint32_t vip = fi->ipv4_dst, own = n->cfg.cert.vip;
  uint32_t mask = 0xFFFFFFFFu << (32 - n->cfg.cert.prefix);
  struct vip_entry *e;
  struct link *l;
  struct resolve *r;
  if (!fi->ipv4 || fi->n_vlan || vip == own || (vip ^ own) & mask ||
      !cert_vip_is_host(vip, n->cfg.cert.prefix) || !recheck_due(n, vip, now))
    return;

  if ((l = link_with_vip(n, vip)) != NULL) {
    vipc_put(n, vip, l->s.peer_id, now);
    vip_announce(n, vip, l->s.peer_id, fi->dst);
    return;
  }
  if ((e = vipc_find_vip(n, vip, now)) != NULL) {
    vip_announce(n, vip, e->id, fi->dst);
    return;
  }
  if (!n->dht)
    return;
  r = rs_find(n, RS_MOVED, vip, NULL);
  if (r && now - r->started_ns < NODE_ARP_LOOKUP_MAX_NS)
    return; /* under way */
  if (r)
    r->used = false; /* (as for ARP: a lookup that never answered) */
  if (!(r = rs_new(n, RS_MOVED, now)))
    return;
  r->vip = vip;
  memcpy(r->stale_mac, fi->dst, 6);
  rs_start(n, r, now);
}

/* First frame toward a member without a direct link: carry it end-to-end
 * over the overlay now, and look up the member's endpoints to open a direct
 * link; once that is up, traffic moves there (link dedup). */
int node_frame_no_link(struct node *n, const uint8_t *f, size_t len, uint64_t now) {
  struct vip_entry *e = vipc_find_mac(n, f, now);
  struct tap_frame_info fi;
  struct link *l;
  if (e && (l = link_with_vip(n, e->vip)) != NULL &&
      memcmp(l->s.peer_id, e->id, RL_ID_LEN) != 0) {
    /* The cached holder of e->vip is not the member whose session
     * certifies it now: the address changed hands. */
    uint32_t vip = e->vip;
    e->expires_ns = 0;
    vipc_put(n, vip, l->s.peer_id, now);
    vip_announce(n, vip, l->s.peer_id, f);
    n->c.tap_no_route++; /* this frame is lost, as on any LAN */
    return RL_ENOENT;
  }
  if (!e || !n->ov) {
    /* A unicast ARP request to a MAC nobody answers for: the kernel
     * re-checking a stale neighbour entry, e.g. of a member revoked or gone
     * whose VIP now belongs to another member. Answered like a broadcast
     * one, so the entry moves to the VIP's current holder at the first
     * unicast probe instead of after the kernel's broadcast fallback. */
    if (tap_frame_classify(f, len, &fi) == 0 && fi.arp && fi.arp_op == TAP_ARP_REQUEST &&
        fi.n_vlan == 0) {
      node_arp_request(n, &fi, now);
      return 0;
    }
    if (tap_frame_classify(f, len, &fi) == 0)
      vip_recheck(n, &fi, now);
    n->c.tap_no_route++;
    return RL_ENOENT;
  }
  l = open_e2e(n, e->id, now);
  if (!l)
    return RL_ENOMEM;
  l->last_data_ns = now;
  l->carried_data = true;
  if (l->s.state == SESS_ESTABLISHED)
    link_send_plain(n, l, f, len, now);
  else if (pktq_put(&l->pending, NULL, f, len) != 0)
    n->c.pending_overflow++;
  if (!have_direct(n, e->id) && !rs_find(n, RS_CONNECT, 0, e->id)) {
    struct resolve *r = rs_new(n, RS_CONNECT, now);
    if (r) {
      memcpy(r->id, e->id, RL_ID_LEN);
      rs_start(n, r, now);
    }
  }
  return 0;
}

static void connect_direct(struct node *n, const uint8_t id[RL_ID_LEN],
                           const struct dht_record *rec, uint64_t now) {
  struct nat_cand c[NAT_CAND_MAX];
  int nc = node_nat_record_decode(n, id, rec->value, rec->value_len, c, NAT_CAND_MAX, now);
  if (nc <= 0)
    return;
  node_nat_connect(n, id, c, (unsigned)nc, now);
}

void node_retry_direct(struct node *n, const uint8_t id[RL_ID_LEN], uint64_t now) {
  struct resolve *r;
  uint8_t key[DHT_KEY_LEN];
  if (!n->dht || rs_find(n, RS_CONNECT, 0, id))
    return;
  dht_key_node(n->cfg.cert.group, id, key);
  dht_forget(n->dht, key); /* the candidates may have changed */
  r = rs_new(n, RS_CONNECT, now);
  if (!r)
    return;
  memcpy(r->id, id, RL_ID_LEN);
  rs_start(n, r, now);
}

/* ---- ARP ---- */

static void arp_answer(struct node *n, const struct tap_frame_info *fi,
                       const uint8_t id[RL_ID_LEN]) {
  uint8_t mac[6], out[64];
  int len;
  tap_mac_from_id(id, mac);
  len = tap_arp_reply(fi, mac, out, sizeof(out));
  if (len > 0 && pktq_put(&n->tapq, NULL, out, (size_t)len) == 0)
    n->c.arp_answered++;
}

void node_arp_request(struct node *n, const struct tap_frame_info *fi, uint64_t now) {
  uint32_t vip = fi->arp_tpa;
  struct vip_entry *e;
  struct resolve *r;
  struct link *l;
  if (vip == n->cfg.cert.vip || vip == 0)
    return;
  if ((l = link_with_vip(n, vip)) != NULL) {
    vipc_put(n, vip, l->s.peer_id, now);
    arp_answer(n, fi, l->s.peer_id);
    return;
  }
  e = vipc_find_vip(n, vip, now);
  if (e) {
    arp_answer(n, fi, e->id);
    return;
  }
  if (!n->dht)
    return;
  r = rs_find(n, RS_ARP, vip, NULL);
  if (r && now - r->started_ns < NODE_ARP_LOOKUP_MAX_NS) {
    /* The kernel repeats its request every second; the lookup under way
     * answers the latest one. Restarting it instead (as before) threw away
     * a lookup that was waiting out one lost DHT message (RPC timeout 2 s),
     * so one lossy hop kept a member unresolvable for as long as it lasted. */
    r->arp = *fi;
    return;
  }
  if (r)
    r->used = false;
  r = rs_new(n, RS_ARP, now);
  if (!r)
    return;
  r->vip = vip;
  r->arp = *fi;
  rs_start(n, r, now);
}

/* ---- control lookups ---- */

int node_dht_lookup(struct node *n, bool by_ip, uint32_t vip, const uint8_t id[RL_ID_LEN],
                    uint32_t ctl_cookie, uint64_t now) {
  struct resolve *r;
  if (!n->dht)
    return RL_ENOENT;
  r = rs_new(n, by_ip ? RS_CTL_VIP : RS_CTL_NODE, now);
  if (!r)
    return RL_EFULL;
  r->vip = vip;
  if (id)
    memcpy(r->id, id, RL_ID_LEN);
  r->ctl_cookie = ctl_cookie;
  return rs_start(n, r, now);
}

static void ctl_result(struct node *n, struct resolve *r, const struct dht_action *a,
                       uint64_t now) {
  char out[1536], hex[2 * RL_ID_LEN + 1], vip[16], eps[1024];
  int len;
  uint8_t owner[RL_ID_LEN];
  size_t off = 0;
  if (a->status != 0) {
    len = snprintf(out, sizeof(out), "{\"found\":false,\"source\":\"dht\",\"error\":\"%s\"}",
                   rl_strerror(a->status));
    ctl_answer(n, r->ctl_cookie, out, (size_t)len);
    return;
  }
  if (a->rec.type == DHT_REC_REVOCATION) {
    rl_hex_encode(hex, r->id, RL_ID_LEN);
    len = snprintf(out, sizeof(out),
                   "{\"found\":true,\"source\":\"dht\",\"record\":\"revocation\","
                   "\"id\":\"%s\"}", hex);
    ctl_answer(n, r->ctl_cookie, out, (size_t)len);
    return;
  }
  if (dht_record_owner_id(&a->rec, owner) != 0)
    return;
  rl_hex_encode(hex, owner, RL_ID_LEN);
  if (r->kind == RS_CTL_VIP) {
    snprintf(vip, sizeof(vip), "%u.%u.%u.%u", r->vip >> 24, (r->vip >> 16) & 255,
             (r->vip >> 8) & 255, r->vip & 255);
    vipc_put(n, r->vip, owner, now);
    len = snprintf(out, sizeof(out),
                   "{\"found\":true,\"source\":\"dht\",\"record\":\"vip\",\"vip\":\"%s\","
                   "\"id\":\"%s\",\"seq\":%llu,\"expiry_s\":%llu}",
                   vip, hex, (unsigned long long)a->rec.seq,
                   (unsigned long long)a->rec.expiry_s);
  } else {
    struct nat_cand c[NAT_CAND_MAX];
    size_t used;
    int nc = nat_cand_decode_prefix(c, NAT_CAND_MAX, a->rec.value, a->rec.value_len, &used);
    eps[0] = '\0';
    for (int i = 0; i < nc && off < sizeof(eps) - RL_ADDR_STRLEN - 8; i++) {
      char ep[RL_ADDR_STRLEN];
      off += (size_t)snprintf(eps + off, sizeof(eps) - off, "%s\"%s\"", i ? "," : "",
                              rl_addr_format(&c[i].addr, ep, sizeof(ep)));
    }
    len = snprintf(out, sizeof(out),
                   "{\"found\":true,\"source\":\"dht\",\"record\":\"node\",\"id\":\"%s\","
                   "\"endpoints\":[%s],\"seq\":%llu,\"expiry_s\":%llu}",
                   hex, eps, (unsigned long long)a->rec.seq,
                   (unsigned long long)a->rec.expiry_s);
  }
  ctl_answer(n, r->ctl_cookie, out, (size_t)len);
}

static void on_result(struct node *n, const struct dht_action *a, uint64_t now) {
  struct resolve *r = NULL;
  uint8_t owner[RL_ID_LEN];
  if (n->rs)
    for (unsigned i = 0; i < NODE_RESOLVE_MAX && !r; i++)
      if (n->rs[i].used && n->rs[i].cookie == a->cookie)
        r = &n->rs[i];
  if (!r)
    return;
  r->used = false;
  if (a->status == 0 && a->rec.type == DHT_REC_REVOCATION) {
    /* The member looked up is revoked (its NODE key holds the revocation):
     * learnt here by a member that missed the flood. */
    int rc = node_revoke_from_dht(n, &a->rec, now);
    if (rc < 0)
      rl_logf(n->env, RL_LOG_DEBUG, "dht: revocation record not applied: %s", rl_strerror(rc));
  }
  if (r->kind == RS_CTL_VIP || r->kind == RS_CTL_NODE) {
    ctl_result(n, r, a, now);
    return;
  }
  if (r->kind == RS_CHECK)
    return; /* a NODE record or nothing: the peer is not known revoked */
  if (a->status != 0 || dht_record_owner_id(&a->rec, owner) != 0) {
    n->c.resolve_failed++;
    /* INFO: a member that stays unresolvable must say why (nat_pairs.sh) */
    if (r->kind == RS_ARP || r->kind == RS_MOVED) {
      rl_logf(n->env, RL_LOG_INFO, "dht: %s lookup of %u.%u.%u.%u failed after %llu ms: %s",
              r->kind == RS_ARP ? "ARP" : "holder", r->vip >> 24, (r->vip >> 16) & 255, (r->vip >> 8) & 255, r->vip & 255,
              (unsigned long long)((now - r->started_ns) / NS_PER_MS), rl_strerror(a->status));
    } else {
      char hex[2 * RL_ID_LEN + 1];
      rl_hex_encode(hex, r->id, RL_ID_LEN);
      rl_logf(n->env, RL_LOG_INFO, "dht: NODE lookup of %.16s failed after %llu ms: %s", hex,
              (unsigned long long)((now - r->started_ns) / NS_PER_MS), rl_strerror(a->status));
    }
    return;
  }
  if (r->kind == RS_ARP) {
    vipc_put(n, r->vip, owner, now);
    arp_answer(n, &r->arp, owner);
  } else if (r->kind == RS_MOVED) {
    vipc_put(n, r->vip, owner, now);
    vip_announce(n, r->vip, owner, r->stale_mac);
  } else if (r->kind == RS_CONNECT && memcmp(owner, r->id, RL_ID_LEN) == 0) {
    connect_direct(n, owner, &a->rec, now); /* also stores its relay hints */
  }
}

/* ---- publishing and the peer cache ---- */

/* Candidates in order of preference for a peer trying them: a mapped
 * port (reachable from outside by construction), then the local address.
 * A wildcard listen address is no candidate. */
void node_publish_endpoints(struct node *n, uint64_t now) {
  uint8_t val[NAT_CAND_MAX * 20 + 3 + NODE_HINTS_MAX * (RL_ID_LEN + 2)];
  int len;
  if (!n->dht || !n->published)
    return;
  len = node_nat_record_encode(n, val, sizeof(val));
  if (len > 0)
    dht_put_own(n->dht, DHT_REC_NODE, val, (size_t)len, now);
  node_dht_pump(n, now);
}

static void publish(struct node *n, uint64_t now) {
  if (dht_put_own(n->dht, DHT_REC_VIP, NULL, 0, now) != 0)
    return;
  n->published = true;
  node_publish_endpoints(n, now);
  /* Sessions that came up before we could look anything up: check their
   * peers now (a revocation we missed sits at their NODE keys). */
  for (unsigned i = 0; i < n->n_links; i++) {
    struct link *l = n->links[i];
    if (l->used && l->s.state == SESS_ESTABLISHED && l->s.have_peer && !l->retire_at_ns)
      node_dht_check_peer(n, l->s.peer_id, now);
  }
}

void node_set_mapped(struct node *n, const char *method, const struct rl_addr *mapped,
                     uint64_t now) {
  char ep[RL_ADDR_STRLEN];
  bool changed = mapped ? !n->has_mapped || !rl_addr_equal(&n->mapped, mapped) : n->has_mapped;
  if (!changed)
    return;
  n->has_mapped = mapped != NULL;
  if (mapped)
    n->mapped = *mapped;
  snprintf(n->mapped_method, sizeof(n->mapped_method), "%s", method ? method : "");
  rl_logf(n->env, RL_LOG_INFO, "port mapping %s: %s", mapped ? "up" : "gone",
          mapped ? rl_addr_format(mapped, ep, sizeof(ep)) : "-");
  node_nat_endpoints_changed(n, now);
}

void node_save_peer_cache(struct node *n, uint64_t now) {
  struct nat_cand c[NODE_PEER_CACHE_MAX];
  uint8_t buf[NODE_PEER_CACHE_MAX * 20 + 4];
  unsigned k = 0;
  int len;
  n->next_peer_cache_ns = now + NODE_PEER_CACHE_EVERY_NS;
  if (!n->cfg.store || !n->cfg.store->ops->meta_put)
    return;
  for (unsigned i = 0; i < n->n_links && k < NAT_CAND_MAX; i++) {
    struct link *l = n->links[i];
    if (l->used && !l->via_overlay && l->s.state == SESS_ESTABLISHED &&
        l->s.endpoint.family != RL_AF_NONE &&
        (l->s.endpoint.proto == RL_PROTO_UDP || node_tcp_outbound(l))) {
      c[k].kind = NAT_CAND_LOCAL;
      c[k++].addr = l->s.endpoint;
    }
  }
  if (k == 0)
    return;
  len = nat_cand_encode(c, k, buf, sizeof(buf));
  if (len > 0)
    n->cfg.store->ops->meta_put(n->cfg.store, "peers", buf, (size_t)len);
}

void node_dht_pump(struct node *n, uint64_t now) {
  struct dht_action *a = &n->sc->dact;
  if (n->dht_pumping)
    return; /* see node_internal.h: the outer loop drains what we add */
  n->dht_pumping = true;
  for (int i = 0; i < 4096 && n->dht && dht_poll(n->dht, a); i++) {
    if (a->kind == DHT_ACT_ROUTE) {
      /* A GET makes its receiver answer: it carries our origin proof. */
      if (n->ov && dht_msg_type(a->data, a->len) == DHT_MSG_GET)
        node_route_signed(n, a->key, a->mode, OV_APP_DHT, a->data, a->len, now);
      else if (n->ov)
        overlay_route(n->ov, a->key, a->mode, OV_APP_DHT, a->data, a->len, now);
    } else if (a->kind == DHT_ACT_RESULT) {
      on_result(n, a, now);
    }
  }
  n->dht_pumping = false;
  node_ov_pump(n, now);
}

void node_ring_changed(struct node *n, uint64_t now) {
  struct ov_ring_info ri;
  if (!n->ov || !n->dht)
    return;
  overlay_ring_info(n->ov, &ri);
  dht_ring_changed(n->dht, &ri, now);
  if (ri.joined && !n->published)
    publish(n, now);
  if (now >= n->next_peer_cache_ns)
    node_save_peer_cache(n, now);
  node_dht_pump(n, now);
}

uint64_t node_dht_next_timer(const struct node *n) {
  return n->dht ? dht_next_timer(n->dht) : RL_TIME_NEVER;
}

void node_dht_on_timer(struct node *n, uint64_t now) {
  if (n->dht && dht_next_timer(n->dht) <= now) {
    dht_on_timer(n->dht, now);
    node_dht_pump(n, now);
  }
}
