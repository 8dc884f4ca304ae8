/* Port-mapping protocol clients (the driver side of nat/portmap.h).
 *
 * pm_upnp_* (node/pm_upnp.c, the only file that includes miniupnpc.h) and
 * pm_natpmp_* (node/pm_natpmp.c, the only file that includes natpmp.h)
 * perform one nat_pm_req with *blocking* library calls. They run in a libuv
 * worker thread (node/drv_pm.c, uv_queue_work), never on the event loop,
 * and touch nothing but their arguments and their own context, so they need
 * no locks: the driver runs at most one request at a time.
 *
 * Each fills *res (op, method, ok, external address + port, granted lease)
 * and on failure a one-line reason in err. Bounded in time: UPnP discovery
 * waits PM_UPNP_DISCOVER_MS, SOAP calls use miniupnpc's socket timeouts;
 * NAT-PMP gives up after PM_NATPMP_WAIT_MS per request. */
#ifndef RL_NODE_PM_H
#define RL_NODE_PM_H

#include <stddef.h>

#include "nat/portmap.h"

#define PM_UPNP_DISCOVER_MS 2000
#define PM_NATPMP_WAIT_MS 3000
#define PM_DESC "ringlan"  /* UPnP mapping description */

/* UPnP IGD client. The context caches the IGD found by discovery between
 * requests (dropped after any failure, so the next request rediscovers).
 * local_ip: our listen IPv4 (host order) or 0 = the LAN address miniupnpc
 * used to reach the IGD (the internal client of the mapping). */
struct pm_upnp;
struct pm_upnp *pm_upnp_new(uint32_t local_ip);
void pm_upnp_free(struct pm_upnp *u);
void pm_upnp_run(struct pm_upnp *u, const struct nat_pm_req *req, struct nat_pm_result *res,
                 char *err, size_t errcap);

/* NAT-PMP client (RFC 6886) toward the default gateway. Stateless. */
void pm_natpmp_run(const struct nat_pm_req *req, struct nat_pm_result *res, char *err,
                   size_t errcap);

#endif
