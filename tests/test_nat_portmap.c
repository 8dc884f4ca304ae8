/* Unit tests: nat/portmap (port-mapping decisions). Each case is a script
 * of steps at absolute times (seconds): expect an output of nat_pm_poll(),
 * feed a result, shut down, check the timer. Time only moves by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "nat/portmap.h"
#include "util/env.h"

/* The step tables leave trailing fields out on purpose (zero). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define PORT 51820
#define EXT_IP 0xCB007105u /* 203.0.113.5 */
#define U NAT_PM_UPNP
#define P NAT_PM_NATPMP
#define ADD NAT_PM_OP_ADD
#define DEL NAT_PM_OP_REMOVE
#define NEVER UINT64_MAX

enum step_kind {
  END = 0,
  REQ,      /* expect a REQUEST: op, method, port (external), lease */
  MAPPED,   /* expect MAPPED: method, port */
  UNMAPPED, /* expect UNMAPPED: method */
  QUIET,    /* expect no output */
  RESULT,   /* feed: op, method, ok, port, lease */
  SHUTDOWN,
  DONE,     /* expect nat_pm_done() */
  TIMER,    /* expect nat_pm_next_timer() == lease (seconds) or NEVER */
};

struct step {
  uint64_t at_s;
  enum step_kind kind;
  enum nat_pm_op op;
  enum nat_pm_method method;
  int ok;
  uint16_t port;
  uint64_t lease; /* seconds; TIMER: expected timer in s, or NEVER */
};

struct pm_case {
  const char *name;
  bool upnp, natpmp;
  struct step steps[40];
};

/* The backoff after k failed rounds: 15, 30, 60, 120, then 1800 s. */
static const struct pm_case CASES[] = {
  {"success, renew at half lease, shutdown removes", true, true, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {0, QUIET},
    {0, TIMER, .lease = NEVER},
    {1, RESULT, ADD, U, 1, PORT, 3600},
    {1, MAPPED, 0, U, 0, PORT},
    {1, QUIET},
    {1, TIMER, .lease = 1801},
    {1800, QUIET},
    {1801, REQ, ADD, U, 0, PORT, 3600},
    {1802, RESULT, ADD, U, 1, PORT, 3600},
    {1802, QUIET},  /* same mapping: nothing new to publish */
    {1802, TIMER, .lease = 3602},
    {2000, SHUTDOWN},
    {2000, REQ, DEL, U, 0, PORT, 0},
    {2000, QUIET},
    {2001, RESULT, DEL, U, 1, 0, 0},
    {2001, QUIET},  /* nothing published while leaving */
    {2001, DONE},
  }},
  {"failure and backoff, then give up and retry much later", true, false, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {0, RESULT, ADD, U, 0, 0, 0},
    {0, QUIET},
    {0, TIMER, .lease = 15},
    {14, QUIET},
    {15, REQ, ADD, U, 0, PORT, 3600},
    {15, RESULT, ADD, U, 0, 0, 0},
    {15, TIMER, .lease = 45},
    {45, REQ, ADD, U, 0, PORT, 3600},
    {45, RESULT, ADD, U, 0, 0, 0},
    {45, TIMER, .lease = 105},
    {105, REQ, ADD, U, 0, PORT, 3600},
    {105, RESULT, ADD, U, 0, 0, 0},
    {105, TIMER, .lease = 225},
    {225, REQ, ADD, U, 0, PORT, 3600},
    {225, RESULT, ADD, U, 0, 0, 0},   /* 5th failed round: the long pause */
    {225, TIMER, .lease = 2025},
    {2024, QUIET},
    {2025, REQ, ADD, U, 0, PORT, 3600},
    {2025, RESULT, ADD, U, 0, 0, 0},  /* a fresh series: 15 s again */
    {2025, TIMER, .lease = 2040},
    {2040, REQ, ADD, U, 0, PORT, 3600},
    {2041, RESULT, ADD, U, 1, 40000, 3600},
    {2041, MAPPED, 0, U, 0, 40000},
  }},
  {"method fallback: UPnP fails, NAT-PMP at once", true, true, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {2, RESULT, ADD, U, 0, 0, 0},
    {2, REQ, ADD, P, 0, PORT, 7200},
    {2, RESULT, ADD, P, 1, 50000, 7000},
    {2, MAPPED, 0, P, 0, 50000},
    {2, TIMER, .lease = 3502},
    {3502, REQ, ADD, P, 0, 50000, 7200},  /* renewal keeps method and port */
  }},
  {"both methods fail: the round backs off, then starts with UPnP again", true, true, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {0, RESULT, ADD, U, 0, 0, 0},
    {0, REQ, ADD, P, 0, PORT, 7200},
    {0, RESULT, ADD, P, 0, 0, 0},
    {0, QUIET},
    {0, TIMER, .lease = 15},
    {15, REQ, ADD, U, 0, PORT, 3600},
  }},
  {"NAT-PMP only (upnp = no)", false, true, {
    {0, REQ, ADD, P, 0, PORT, 7200},
    {0, RESULT, ADD, P, 0, 0, 0},
    {0, TIMER, .lease = 15},
    {15, REQ, ADD, P, 0, PORT, 7200},
  }},
  {"both disabled: nothing ever", false, false, {
    {0, QUIET},
    {0, TIMER, .lease = NEVER},
    {0, DONE},
    {99999, QUIET},
    {99999, SHUTDOWN},
    {99999, QUIET},
  }},
  {"lease lost: renewals fail until the lease ends", true, true, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {0, RESULT, ADD, U, 1, PORT, 100},
    {0, MAPPED, 0, U, 0, PORT},
    {50, REQ, ADD, U, 0, PORT, 3600},
    {50, RESULT, ADD, U, 0, 0, 0},   /* kept until 100, retried with UPnP */
    {50, QUIET},
    {50, TIMER, .lease = 65},
    {65, REQ, ADD, U, 0, PORT, 3600},
    {65, RESULT, ADD, U, 0, 0, 0},
    {65, TIMER, .lease = 95},
    {95, REQ, ADD, U, 0, PORT, 3600},
    {96, RESULT, ADD, U, 0, 0, 0},
    {96, TIMER, .lease = 100},       /* the end of the lease comes first */
    {99, QUIET},
    {100, UNMAPPED, 0, U},
    {100, QUIET},
    {156, REQ, ADD, U, 0, PORT, 3600},  /* 96 + 60 s, from UPnP again */
  }},
  {"lease ends while a renewal is outstanding, then it succeeds", true, false, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {0, RESULT, ADD, U, 1, PORT, 10},
    {0, MAPPED, 0, U, 0, PORT},
    {5, REQ, ADD, U, 0, PORT, 3600},
    {5, TIMER, .lease = 10},
    {10, UNMAPPED, 0, U},
    {11, RESULT, ADD, U, 1, PORT, 3600},
    {11, MAPPED, 0, U, 0, PORT},
  }},
  {"router changed the external address on renewal", true, true, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {0, RESULT, ADD, U, 1, PORT, 3600},
    {0, MAPPED, 0, U, 0, PORT},
    {1800, REQ, ADD, U, 0, PORT, 3600},
    {1800, RESULT, ADD, U, 1, 40001, 3600},
    {1800, MAPPED, 0, U, 0, 40001},
  }},
  {"permanent lease (0) is re-checked every 30 min", true, true, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {0, RESULT, ADD, U, 1, PORT, 0},
    {0, MAPPED, 0, U, 0, PORT},
    {0, TIMER, .lease = 1800},
    {1800, REQ, ADD, U, 0, PORT, 3600},
  }},
  {"shutdown while an ADD is outstanding removes what it made", true, true, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {1, SHUTDOWN},
    {1, QUIET},
    {2, RESULT, ADD, U, 1, PORT, 3600},
    {2, REQ, DEL, U, 0, PORT, 0},
    {3, RESULT, DEL, U, 0, 0, 0},   /* even a failed removal ends it */
    {3, QUIET},
    {3, DONE},
  }},
  {"shutdown while an ADD is outstanding that then fails", true, true, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {1, SHUTDOWN},
    {2, RESULT, ADD, U, 0, 0, 0},
    {2, QUIET},   /* no fallback to NAT-PMP while stopping */
    {2, DONE},
  }},
  {"shutdown with nothing mapped is done at once", true, true, {
    {0, REQ, ADD, U, 0, PORT, 3600},
    {0, RESULT, ADD, U, 0, 0, 0},
    {0, REQ, ADD, P, 0, PORT, 7200},
    {0, RESULT, ADD, P, 0, 0, 0},
    {5, SHUTDOWN},
    {5, DONE},
    {5, QUIET},
    {100, QUIET},
  }},
  {"a result nobody asked for is ignored", true, true, {
    {0, RESULT, ADD, U, 1, PORT, 3600},
    {0, REQ, ADD, U, 0, PORT, 3600},
    {0, RESULT, ADD, U, 1, PORT, 3600},
    {0, MAPPED, 0, U, 0, PORT},
    {1, RESULT, DEL, U, 1, 0, 0},
    {1, QUIET},
    {1, TIMER, .lease = 1800},
  }},
};

static void run_case(const struct pm_case *c) {
  struct nat_pm_config cfg = {.upnp = c->upnp, .natpmp = c->natpmp, .port = PORT};
  struct nat_pm pm;
  struct nat_pm_action a;
  struct nat_pm_result r;
  struct rl_addr got;
  nat_pm_init(&pm, &cfg, 0);
  for (unsigned i = 0; c->steps[i].kind != END; i++) {
    const struct step *s = &c->steps[i];
    uint64_t now = s->at_s * NS_PER_S;
    print_message("  %s: step %u\n", c->name, i);
    switch (s->kind) {
    case REQ:
      assert_true(nat_pm_poll(&pm, now, &a));
      assert_int_equal(a.kind, NAT_PM_ACT_REQUEST);
      assert_int_equal(a.req.op, s->op);
      assert_int_equal(a.req.method, s->method);
      assert_int_equal(a.req.internal_port, PORT);
      assert_int_equal(a.req.external_port, s->port);
      assert_int_equal(a.req.lease_s, s->lease);
      break;
    case MAPPED:
      assert_true(nat_pm_poll(&pm, now, &a));
      assert_int_equal(a.kind, NAT_PM_ACT_MAPPED);
      assert_int_equal(a.method, s->method);
      assert_int_equal(a.mapped.family, RL_AF_INET);
      assert_int_equal(rl_addr_ipv4(&a.mapped), EXT_IP);
      assert_int_equal(a.mapped.port, s->port);
      assert_true(nat_pm_mapped(&pm, &got, NULL));
      assert_true(rl_addr_equal(&got, &a.mapped));
      break;
    case UNMAPPED:
      assert_true(nat_pm_poll(&pm, now, &a));
      assert_int_equal(a.kind, NAT_PM_ACT_UNMAPPED);
      assert_int_equal(a.method, s->method);
      assert_false(nat_pm_mapped(&pm, NULL, NULL));
      break;
    case QUIET:
      assert_false(nat_pm_poll(&pm, now, &a));
      assert_int_equal(a.kind, NAT_PM_ACT_NONE);
      break;
    case RESULT:
      memset(&r, 0, sizeof(r));
      r.op = s->op;
      r.method = s->method;
      r.ok = s->ok;
      r.lease_s = (uint32_t)s->lease;
      if (s->ok && s->op == ADD)
        rl_addr_set_ipv4(&r.external, EXT_IP, s->port);
      nat_pm_result(&pm, &r, now);
      break;
    case SHUTDOWN:
      nat_pm_shutdown(&pm, now);
      break;
    case DONE:
      assert_true(nat_pm_done(&pm));
      break;
    case TIMER:
      if (s->lease == NEVER)
        assert_true(nat_pm_next_timer(&pm) == RL_TIME_NEVER);
      else
        assert_int_equal(nat_pm_next_timer(&pm), s->lease * NS_PER_S);
      break;
    case END:
      break;
    }
  }
}

static void test_cases(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++)
    run_case(&CASES[i]);
}

/* Port 0 (no listen port known) never asks for anything. */
static void test_port_zero(void **state) {
  (void)state;
  struct nat_pm_config cfg = {.upnp = true, .natpmp = true, .port = 0};
  struct nat_pm pm;
  struct nat_pm_action a;
  nat_pm_init(&pm, &cfg, 0);
  assert_false(nat_pm_poll(&pm, 0, &a));
  assert_true(nat_pm_done(&pm));
}

static void test_names(void **state) {
  (void)state;
  assert_string_equal(nat_pm_method_name(NAT_PM_UPNP), "upnp");
  assert_string_equal(nat_pm_method_name(NAT_PM_NATPMP), "natpmp");
  assert_string_equal(nat_pm_method_name(NAT_PM_NONE), "none");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_cases),
    cmocka_unit_test(test_port_zero),
    cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
