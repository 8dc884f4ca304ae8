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
  /* IPv4 first, then IPv6 (on a dual-stack socket): the core keeps the
   * first NODE_LOCAL_MAX usable ones. */
  for (int fam = 0; fam < 2; fam++)
    for (int i = 0; i < n && k < DRV_ADDR_MAX; i++) {
      const uv_interface_address_t *x = &ifs[i];
      int af = x->address.address4.sin_family;
      /* Never our own TAP device: the overlay must not run over itself. */
      if (x->is_internal || strcmp(x->name, d->tap_name) == 0)
        continue;
      memset(&a[k], 0, sizeof(a[k]));
      if (fam == 0 && af == AF_INET) {
        a[k].family = RL_AF_INET;
        memcpy(a[k].ip, &x->address.address4.sin_addr, 4);
        k++;
      } else if (fam == 1 && af == AF_INET6 && d->udp6) {
        a[k].family = RL_AF_INET6;
        memcpy(a[k].ip, &x->address.address6.sin6_addr, 16);
        k++;
      }
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
  if (!rl_addr_is_any(&d->cfg->listen))
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
