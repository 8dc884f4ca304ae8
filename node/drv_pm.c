/* Port mapping in the driver: runs nat/portmap.h's decisions, performs its
 * requests with node/pm_upnp.c or node/pm_natpmp.c in a libuv worker thread
 * (uv_queue_work: the library calls block for seconds), and hands mapping
 * changes to the core (node_set_mapped). At SIGINT/SIGTERM the mapping is
 * removed before exit, bounded by DRV_PM_STOP_MS. docs/nat.md. */
#include <arpa/inet.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nat/portmap.h"
#include "node/drv.h"
#include "node/pm.h"

struct drv_pm {
  struct drv *d;
  struct nat_pm pm;
  uv_timer_t timer;     /* nat_pm_next_timer */
  uv_timer_t deadline;  /* bounds the removal at exit */
  uv_work_t work;
  bool busy;            /* a request runs in the worker */
  bool handles_open;
  bool finished;        /* stop: done callback called */
  void (*done)(struct drv *d);
  struct pm_upnp *upnp; /* owned by the worker while busy */
  /* The request in the worker and its result; written by the worker only
   * while busy, read on the loop thread after it. */
  struct nat_pm_req req;
  struct nat_pm_result res;
  char err[256];
};

static void kick(struct drv_pm *p);

static void work_cb(uv_work_t *w) {
  struct drv_pm *p = w->data;
  if (p->req.method == NAT_PM_UPNP)
    pm_upnp_run(p->upnp, &p->req, &p->res, p->err, sizeof(p->err));
  else
    pm_natpmp_run(&p->req, &p->res, p->err, sizeof(p->err));
}

static void finish_stop(struct drv_pm *p) {
  if (p->finished)
    return;
  p->finished = true;
  if (p->handles_open) {
    p->handles_open = false;
    uv_close((uv_handle_t *)&p->timer, NULL);
    uv_close((uv_handle_t *)&p->deadline, NULL);
  }
  if (p->done)
    p->done(p->d);
}

static void log_result(struct drv_pm *p) {
  struct drv *d = p->d;
  const char *m = nat_pm_method_name(p->req.method);
  char a[RL_ADDR_STRLEN];
  if (p->req.op == NAT_PM_OP_REMOVE) {
    if (p->res.ok)
      rl_logf(&d->env, RL_LOG_INFO, "port mapping (%s): removed external port %u", m,
              p->req.external_port);
    else
      rl_logf(&d->env, RL_LOG_WARN, "port mapping (%s): removal failed: %s", m, p->err);
  } else if (p->res.ok) {
    rl_logf(&d->env, RL_LOG_INFO, "port mapping (%s): UDP %s -> port %u, lease %u s", m,
            rl_addr_format(&p->res.external, a, sizeof(a)), p->req.internal_port,
            p->res.lease_s);
  } else {
    rl_logf(&d->env, RL_LOG_INFO, "port mapping (%s): failed: %s", m, p->err);
  }
}

static void after_work_cb(uv_work_t *w, int status) {
  struct drv_pm *p = w->data;
  uint64_t now = uv_hrtime();
  p->busy = false;
  if (status != 0) { /* cancelled before it ran */
    memset(&p->res, 0, sizeof(p->res));
    p->res.op = p->req.op;
    p->res.method = p->req.method;
    snprintf(p->err, sizeof(p->err), "cancelled");
  }
  log_result(p);
  nat_pm_result(&p->pm, &p->res, now);
  kick(p);
}

static void on_pm_timer(uv_timer_t *t) { kick(t->data); }

static void on_deadline(uv_timer_t *t) {
  struct drv_pm *p = t->data;
  rl_logf(&p->d->env, RL_LOG_WARN, "port mapping: removal still running after %u ms; exiting "
          "without it (the router drops the mapping when its lease ends)", DRV_PM_STOP_MS);
  finish_stop(p);
  /* The worker cannot be interrupted; its request would keep uv_run alive. */
  uv_stop(&p->d->loop);
}

/* Drains nat_pm's outputs, starts the next request, re-arms the timer. */
static void kick(struct drv_pm *p) {
  struct drv *d = p->d;
  struct nat_pm_action a;
  uint64_t now = uv_hrtime(), next;
  if (p->finished)
    return; /* a late result after the exit deadline: nothing more to do */
  for (int i = 0; i < 8 && nat_pm_poll(&p->pm, now, &a); i++) {
    switch (a.kind) {
    case NAT_PM_ACT_REQUEST:
      p->req = a.req;
      p->err[0] = 0;
      p->work.data = p;
      if (uv_queue_work(&d->loop, &p->work, work_cb, after_work_cb) == 0) {
        p->busy = true;
      } else {
        /* Cannot happen with a live loop; report a failure so the state
         * machine backs off instead of waiting forever. */
        struct nat_pm_result r = {.op = a.req.op, .method = a.req.method};
        nat_pm_result(&p->pm, &r, now);
      }
      break;
    case NAT_PM_ACT_MAPPED:
      node_set_mapped(d->node, nat_pm_method_name(a.method), &a.mapped, now);
      drv_after_event(d, now); /* the republished NODE record goes out */
      break;
    case NAT_PM_ACT_UNMAPPED:
      node_set_mapped(d->node, nat_pm_method_name(a.method), NULL, now);
      drv_after_event(d, now);
      break;
    case NAT_PM_ACT_NONE:
      break;
    }
  }
  if (p->pm.stopping && nat_pm_done(&p->pm) && !p->busy) {
    finish_stop(p);
    return;
  }
  if (!p->handles_open)
    return;
  next = nat_pm_next_timer(&p->pm);
  if (next == RL_TIME_NEVER)
    uv_timer_stop(&p->timer);
  else
    uv_timer_start(&p->timer, on_pm_timer,
                   next <= now ? 0 : (next - now + NS_PER_MS - 1) / NS_PER_MS, 0);
}

int drv_pm_start(struct drv *d) {
  struct nat_pm_config c = {.upnp = d->cfg->upnp, .natpmp = d->cfg->natpmp,
                            .port = d->cfg->listen.port};
  struct drv_pm *p;
  if (!c.upnp && !c.natpmp)
    return 0;
  if (!(p = calloc(1, sizeof(*p))))
    return RL_ENOMEM;
  if (c.upnp && !(p->upnp = pm_upnp_new(rl_addr_ipv4(&d->cfg->listen)))) {
    free(p);
    return RL_ENOMEM;
  }
  p->d = d;
  nat_pm_init(&p->pm, &c, uv_hrtime());
  uv_timer_init(&d->loop, &p->timer);
  uv_timer_init(&d->loop, &p->deadline);
  p->timer.data = p->deadline.data = p;
  p->handles_open = true;
  d->pm = p;
  rl_logf(&d->env, RL_LOG_INFO, "port mapping: trying %s%s%s for UDP port %u",
          c.upnp ? "UPnP" : "", c.upnp && c.natpmp ? ", then " : "", c.natpmp ? "NAT-PMP" : "",
          c.port);
  kick(p);
  return 0;
}

void drv_pm_stop(struct drv *d, void (*done)(struct drv *d)) {
  struct drv_pm *p = d->pm;
  if (!p || p->finished) {
    done(d);
    return;
  }
  p->done = done;
  nat_pm_shutdown(&p->pm, uv_hrtime());
  if (p->handles_open)
    uv_timer_start(&p->deadline, on_deadline, DRV_PM_STOP_MS, 0);
  kick(p);
}

void drv_pm_close(struct drv *d) {
  struct drv_pm *p = d->pm;
  if (!p)
    return;
  p->done = NULL;
  finish_stop(p);
}

bool drv_pm_busy(const struct drv *d) { return d->pm && d->pm->busy; }

void drv_pm_free(struct drv *d) {
  struct drv_pm *p = d->pm;
  if (!p)
    return;
  d->pm = NULL;
  /* A request still in the worker owns p (and its UPnP context): leave it;
   * the process is about to exit. */
  if (p->busy)
    return;
  pm_upnp_free(p->upnp);
  free(p);
}
