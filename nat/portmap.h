/* Port mapping decisions (UPnP IGD, NAT-PMP), sans-I/O.
 *
 * nat_pm decides *which* method to ask, *when* and *what*; the driver
 * (node/drv_pm.c with node/pm_upnp.c, node/pm_natpmp.c) performs one
 * request at a time off the event loop and hands the result back. Time is
 * an argument; nothing here blocks, allocates or talks to the network.
 *
 * Outputs are polled: nat_pm_poll() returns either a request to perform
 * (NAT_PM_ACT_REQUEST) or a change of the published mapping
 * (NAT_PM_ACT_MAPPED / NAT_PM_ACT_UNMAPPED, for node_set_mapped()).
 *
 * Timeline (docs/nat.md):
 *   start            -> ADD with the first enabled method (UPnP, then NAT-PMP)
 *   ADD failed       -> next enabled method at once; when every method of the
 *                       round failed: retry after 15 s, 30 s, 60 s, 120 s; after
 *                       NAT_PM_GIVEUP_ROUNDS failed rounds wait 30 min, start over
 *   ADD ok (lease L) -> MAPPED; renew (ADD again, same method, same external
 *                       port) at L/2; L = 0 (permanent) renews every 30 min
 *   renewal failed   -> keep the mapping until the lease ends, retry with
 *                       backoff; at the end of the lease -> UNMAPPED
 *   shutdown         -> REMOVE the mapping we hold (also one an ADD in flight
 *                       returns after the shutdown), then done.
 */
#ifndef RL_NAT_PORTMAP_H
#define RL_NAT_PORTMAP_H

#include <ringlan/addr.h>
#include <stdbool.h>
#include <stdint.h>

#define NAT_PM_LEASE_UPNP_S 3600u
#define NAT_PM_LEASE_NATPMP_S 7200u
#define NAT_PM_BACKOFF_FIRST_S 15u      /* after the first failed round */
#define NAT_PM_BACKOFF_MAX_S 120u
#define NAT_PM_GIVEUP_ROUNDS 5u         /* failed rounds before the long pause */
#define NAT_PM_GIVEUP_RETRY_S 1800u     /* the long pause */
#define NAT_PM_RENEW_PERMANENT_S 1800u  /* re-check a permanent (lease 0) mapping */
#define NAT_PM_RENEW_MIN_S 1u           /* floor for lease/2 with tiny leases */

enum nat_pm_method { NAT_PM_NONE = 0, NAT_PM_UPNP = 1, NAT_PM_NATPMP = 2 };
enum nat_pm_op { NAT_PM_OP_ADD = 1, NAT_PM_OP_REMOVE = 2 };

/* What the driver must do. Always UDP. */
struct nat_pm_req {
  enum nat_pm_op op;
  enum nat_pm_method method;
  uint16_t internal_port;  /* our listen port */
  uint16_t external_port;  /* wanted (ADD) or held (REMOVE) */
  uint32_t lease_s;        /* ADD: requested lease; REMOVE: 0 */
};

/* What came back. For ADD with ok: external = the router's external address
 * and the mapped port; lease_s = granted lease (0 = permanent). */
struct nat_pm_result {
  enum nat_pm_op op;
  enum nat_pm_method method;
  bool ok;
  struct rl_addr external;
  uint32_t lease_s;
};

enum nat_pm_act_kind {
  NAT_PM_ACT_NONE = 0,
  NAT_PM_ACT_REQUEST,   /* perform req, then call nat_pm_result() */
  NAT_PM_ACT_MAPPED,    /* publish mapped (new or changed) */
  NAT_PM_ACT_UNMAPPED,  /* the mapping is gone */
};

struct nat_pm_action {
  enum nat_pm_act_kind kind;
  struct nat_pm_req req;        /* REQUEST */
  enum nat_pm_method method;    /* MAPPED: who made it; UNMAPPED: who had it */
  struct rl_addr mapped;        /* MAPPED */
};

struct nat_pm_config {
  bool upnp, natpmp;   /* methods allowed ([nat] upnp, natpmp) */
  uint16_t port;       /* internal = requested external port */
};

/* Plain value; no heap. Read only through the functions below. */
struct nat_pm {
  struct nat_pm_config cfg;
  enum nat_pm_method try_method;  /* next ADD uses this */
  enum nat_pm_method map_method;  /* method of the mapping we hold */
  bool in_flight;                 /* a request is being performed */
  bool has_map;                   /* we hold a mapping (published unless stopping) */
  bool notify;                    /* a MAPPED/UNMAPPED action is due */
  bool stopping, done;
  unsigned failed_rounds;         /* consecutive rounds with every method failing */
  uint64_t next_ns;               /* next ADD (attempt or renewal) */
  uint64_t expire_ns;             /* end of the lease we hold; RL_TIME_NEVER */
  struct rl_addr mapped;
  enum nat_pm_method notify_method;
};

/* Starts the machine: the first ADD is due at now (if any method is on). */
void nat_pm_init(struct nat_pm *pm, const struct nat_pm_config *cfg, uint64_t now);

/* Next output, if any. Returns true and fills *out, or false. Call in a loop
 * until false after init, after nat_pm_result(), nat_pm_shutdown() and
 * whenever now >= nat_pm_next_timer(). At most one REQUEST is outstanding. */
bool nat_pm_poll(struct nat_pm *pm, uint64_t now, struct nat_pm_action *out);

/* The outcome of the outstanding request (res->op/method must match it;
 * a mismatch or a result without a request is ignored). */
void nat_pm_result(struct nat_pm *pm, const struct nat_pm_result *res, uint64_t now);

/* When nat_pm_poll() should be called next: the next attempt or renewal,
 * or the end of the held lease while a request is outstanding (its result
 * wakes us otherwise); RL_TIME_NEVER when nothing is planned. */
uint64_t nat_pm_next_timer(const struct nat_pm *pm);

/* Clean exit: no more ADDs; a held mapping is removed (REMOVE request via
 * nat_pm_poll). nat_pm_done() tells when nothing is left to do. */
void nat_pm_shutdown(struct nat_pm *pm, uint64_t now);
bool nat_pm_done(const struct nat_pm *pm);

/* The mapping held now (true) or false. */
bool nat_pm_mapped(const struct nat_pm *pm, struct rl_addr *out, enum nat_pm_method *method);
unsigned nat_pm_failed_rounds(const struct nat_pm *pm);

/* "upnp", "natpmp", "none". */
const char *nat_pm_method_name(enum nat_pm_method m);

#endif
