/* Host candidates for a wildcard `listen` (docs/nat.md): the driver reads
 * the interface addresses now and every DRV_ADDR_SCAN_MS and hands them to
 * the core (node_set_local_addrs), which publishes them with the listen
 * port, as ICE gathers host candidates. A member on a switch with its peers,
 * or a public host bound to 0.0.0.0, is then dialled directly instead of
 * being reachable only through relays. Bound to a concrete address, the
 * core ignores the list (the socket receives only there). */
#include <string.h>
#include <uv.h>

#include "node/drv.h"

static void scan(struct drv *d) {
  uv_interface_address_t *ifs = NULL;
  struct rl_addr a[DRV_ADDR_MAX];
  unsigned k = 0;
  int n = 0;
  if (uv_interface_addresses(&ifs, &n) != 0) {
    rl_logf(&d->env, RL_LOG_WARN, "cannot list the interface addresses");
    return;
  }
  for (int i = 0; i < n && k < DRV_ADDR_MAX; i++) {
    const uv_interface_address_t *x = &ifs[i];
    /* Never our own TAP device: the overlay must not run over itself. */
    if (x->is_internal || x->address.address4.sin_family != AF_INET ||
        strcmp(x->name, d->tap_name) == 0)
      continue;
    memset(&a[k], 0, sizeof(a[k]));
    a[k].family = RL_AF_INET;
    memcpy(a[k].ip, &x->address.address4.sin_addr, 4);
    k++;
  }
  uv_free_interface_addresses(ifs, n);
  node_set_local_addrs(d->node, a, k, uv_hrtime());
}

static void on_scan(uv_timer_t *t) {
  struct drv *d = t->data;
  scan(d);
  drv_after_event(d, uv_hrtime());
}

void drv_addrs_start(struct drv *d) {
  if (d->cfg->listen.family != RL_AF_INET || rl_addr_ipv4(&d->cfg->listen) != 0)
    return;
  scan(d);
  uv_timer_init(&d->loop, &d->addr_timer);
  d->addr_timer.data = d;
  d->addr_timer_open = true;
  uv_timer_start(&d->addr_timer, on_scan, DRV_ADDR_SCAN_MS, DRV_ADDR_SCAN_MS);
}

void drv_addrs_close(struct drv *d) {
  if (!d->addr_timer_open)
    return;
  d->addr_timer_open = false;
  uv_close((uv_handle_t *)&d->addr_timer, NULL);
}
