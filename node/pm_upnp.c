/* UPnP IGD client for port mapping (see node/pm.h). Runs in a libuv worker
 * thread; blocking miniupnpc calls are fine here and nowhere else. */
#include <arpa/inet.h>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/pm.h"

/* miniupnpc changed UPNP_GetValidIGD at API 18 (2.2.8): two more arguments
 * (the WAN address) and renumbered results. Debian 12 ships API 17. */
#if MINIUPNPC_API_VERSION < 14
#error "miniupnpc API 14 or newer needed (upnpDiscover with ttl)"
#endif

struct pm_upnp {
  bool have_igd;
  struct UPNPUrls urls;
  struct IGDdatas data;
  char lanaddr[64];
  uint32_t local_ip; /* host order; 0 = use lanaddr */
};

struct pm_upnp *pm_upnp_new(uint32_t local_ip) {
  struct pm_upnp *u = calloc(1, sizeof(*u));
  if (u)
    u->local_ip = local_ip;
  return u;
}

static void drop_igd(struct pm_upnp *u) {
  if (u->have_igd)
    FreeUPNPUrls(&u->urls);
  u->have_igd = false;
  memset(&u->urls, 0, sizeof(u->urls));
  memset(&u->data, 0, sizeof(u->data));
}

void pm_upnp_free(struct pm_upnp *u) {
  if (!u)
    return;
  drop_igd(u);
  free(u);
}

/* Is this UPNP_GetValidIGD result an IGD we can ask for a mapping? Besides
 * a connected IGD with a public address, accept the "reserved/private
 * external address" verdict: behind carrier-grade NAT (and in the test bed,
 * whose "public" addresses are documentation ranges) the mapping is still
 * useful, and 2.2.4 reports that case as "valid IGD, not connected". */
static bool igd_usable(int r) {
#if MINIUPNPC_API_VERSION >= 18
  return r == 1 || r == 2 || r == 3;
#else
  return r == 1 || r == 2;
#endif
}

static bool find_igd(struct pm_upnp *u, char *err, size_t errcap) {
  struct UPNPDev *devs;
  int error = 0, r;
  if (u->have_igd)
    return true;
  /* SSDP multicast on the local link only (ttl 2 as miniupnpc suggests). */
  devs = upnpDiscover(PM_UPNP_DISCOVER_MS, NULL, NULL, UPNP_LOCAL_PORT_ANY, 0, 2, &error);
  if (!devs) {
    snprintf(err, errcap, "no UPnP device answered discovery (%d)", error);
    return false;
  }
#if MINIUPNPC_API_VERSION >= 18
  char wanaddr[64];
  r = UPNP_GetValidIGD(devs, &u->urls, &u->data, u->lanaddr, sizeof(u->lanaddr), wanaddr,
                       sizeof(wanaddr));
#else
  r = UPNP_GetValidIGD(devs, &u->urls, &u->data, u->lanaddr, sizeof(u->lanaddr));
#endif
  freeUPNPDevlist(devs);
  if (r != 0)
    u->have_igd = true; /* urls were filled: FreeUPNPUrls from now on */
  if (!igd_usable(r)) {
    snprintf(err, errcap, "no usable Internet Gateway Device (UPNP_GetValidIGD %d)", r);
    drop_igd(u);
    return false;
  }
  return true;
}

static bool external_ip(struct pm_upnp *u, struct rl_addr *ext, char *err, size_t errcap) {
  char ip[64] = "";
  struct in_addr in;
  int r = UPNP_GetExternalIPAddress(u->urls.controlURL, u->data.first.servicetype, ip);
  if (r != UPNPCOMMAND_SUCCESS || inet_pton(AF_INET, ip, &in) != 1 || in.s_addr == 0) {
    snprintf(err, errcap, "GetExternalIPAddress: %s (%d, '%.20s')",
             r ? strupnperror(r) ? strupnperror(r) : "error" : "bad address", r, ip);
    return false;
  }
  rl_addr_set_ipv4(ext, ntohl(in.s_addr), 0);
  return true;
}

static void do_add(struct pm_upnp *u, const struct nat_pm_req *req, struct nat_pm_result *res,
                   char *err, size_t errcap) {
  char ext_s[8], in_s[8], lease_s[16], client[64];
  char g_client[64] = "", g_port[8] = "", g_desc[96] = "", g_enabled[8] = "", g_lease[16] = "";
  int r;
  if (!external_ip(u, &res->external, err, errcap))
    return;
  snprintf(ext_s, sizeof(ext_s), "%u", req->external_port);
  snprintf(in_s, sizeof(in_s), "%u", req->internal_port);
  snprintf(lease_s, sizeof(lease_s), "%u", req->lease_s);
  if (u->local_ip) {
    struct in_addr a = {.s_addr = htonl(u->local_ip)};
    inet_ntop(AF_INET, &a, client, sizeof(client));
  } else {
    snprintf(client, sizeof(client), "%s", u->lanaddr);
  }
  r = UPNP_AddPortMapping(u->urls.controlURL, u->data.first.servicetype, ext_s, in_s, client,
                          PM_DESC, "UDP", NULL, lease_s);
  res->lease_s = req->lease_s;
  if (r == 725) {
    /* OnlyPermanentLeasesSupported (IGDv1 routers): ask for lease 0; the
     * state machine re-checks permanent mappings periodically. */
    r = UPNP_AddPortMapping(u->urls.controlURL, u->data.first.servicetype, ext_s, in_s, client,
                            PM_DESC, "UDP", NULL, "0");
    res->lease_s = 0;
  }
  if (r != UPNPCOMMAND_SUCCESS) {
    snprintf(err, errcap, "AddPortMapping UDP %s -> %s:%s: %s (%d)", ext_s, client, in_s,
             strupnperror(r) ? strupnperror(r) : "error", r);
    return;
  }
  /* What the router actually granted (it may shorten the lease). Optional:
   * not every IGD answers; then the requested lease stands. */
  if (UPNP_GetSpecificPortMappingEntry(u->urls.controlURL, u->data.first.servicetype, ext_s,
                                       "UDP", NULL, g_client, g_port, g_desc, g_enabled,
                                       g_lease) == UPNPCOMMAND_SUCCESS) {
    unsigned long l = strtoul(g_lease, NULL, 10);
    if (g_lease[0] && l <= req->lease_s)
      res->lease_s = (uint32_t)l;
  }
  res->external.port = req->external_port;
  res->ok = true;
}

void pm_upnp_run(struct pm_upnp *u, const struct nat_pm_req *req, struct nat_pm_result *res,
                 char *err, size_t errcap) {
  memset(res, 0, sizeof(*res));
  res->op = req->op;
  res->method = NAT_PM_UPNP;
  err[0] = 0;
  if (!find_igd(u, err, errcap))
    return;
  if (req->op == NAT_PM_OP_ADD) {
    do_add(u, req, res, err, errcap);
  } else {
    char ext_s[8];
    int r;
    snprintf(ext_s, sizeof(ext_s), "%u", req->external_port);
    r = UPNP_DeletePortMapping(u->urls.controlURL, u->data.first.servicetype, ext_s, "UDP",
                               NULL);
    res->ok = r == UPNPCOMMAND_SUCCESS;
    if (!res->ok)
      snprintf(err, errcap, "DeletePortMapping UDP %s: %s (%d)", ext_s,
               strupnperror(r) ? strupnperror(r) : "error", r);
  }
  /* A router that failed may have rebooted or changed address: find it
   * afresh next time. */
  if (!res->ok)
    drop_igd(u);
}
