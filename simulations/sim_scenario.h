/* Scenario files: what to simulate, as INI-like text.
 *
 *   # comment (also ';')
 *   [section]
 *   key = value
 *
 * Sections and keys are listed with their defaults in docs/simulator.md and
 * in the table in sim_scenario.c. Unknown sections or keys, bad values and
 * repeated keys (except `partition`) are errors reported with their line
 * number. File names (delay matrix, churn trace) are relative to the
 * scenario file. */
#ifndef RL_SIM_SCENARIO_H
#define RL_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "simulations/sim_dist.h"

#define SIM_MAX_PARTITIONS 8
#define SIM_PATH_MAX 512
#define SIM_NAME_MAX 64

enum sim_latency_kind { SIM_LAT_COORDS = 0, SIM_LAT_MATRIX };
enum sim_churn_kind { SIM_CHURN_NONE = 0, SIM_CHURN_SESSION, SIM_CHURN_TRACE };
enum sim_join_kind { SIM_JOIN_ALL = 0, SIM_JOIN_SPREAD, SIM_JOIN_SEQUENTIAL };

/* NAT classes (RFC 4787 mapping x filtering) in the [nat] mix. */
enum sim_nat_class {
  SIM_NAT_PUBLIC = 0,     /* no NAT: a public address */
  SIM_NAT_FULL_CONE,      /* endpoint-independent mapping and filtering */
  SIM_NAT_RESTRICTED,     /* EIM, address-dependent filtering */
  SIM_NAT_PORT_RESTRICTED,/* EIM, address-and-port-dependent filtering */
  SIM_NAT_SYMMETRIC,      /* address-and-port-dependent mapping and filtering */
  SIM_NAT_BLOCKED,        /* UDP blocked */
  SIM_NAT_N_CLASSES
};
extern const char *const sim_nat_class_names[SIM_NAT_N_CLASSES];

/* Metrics a scenario may ask for; a model that cannot produce one says so
 * in summary.json ("not_produced") instead of writing a number. */
enum sim_metric {
  SIM_M_HOPS = 1u << 0,         /* lookup hop counts (lookups.csv) */
  SIM_M_LOOKUPS = 1u << 1,      /* lookup success/failure (lookups.csv) */
  SIM_M_JOIN_TIME = 1u << 2,    /* up -> joined the ring (joins.csv) */
  SIM_M_RING = 1u << 3,         /* ring consistency snapshots */
  SIM_M_BYTES = 1u << 4,        /* bytes sent per node per second */
  SIM_M_MEMORY = 1u << 5,       /* memory per node */
  SIM_M_LINK_TYPES = 1u << 6,   /* direct / relay / overlay pairs */
  SIM_M_DIRECT_TIME = 1u << 7,  /* first frame -> direct link time */
  SIM_M_PATH_LATENCY = 1u << 8, /* frame latency by path: direct/relay/overlay */
  SIM_M_BCAST = 1u << 9,        /* overlay broadcasts: coverage, depth, cost, latency */
};

struct sim_partition {
  double start_s, end_s, fraction;
};

struct sim_scenario {
  char name[SIM_NAME_MAX];
  /* [run] */
  char model[16];           /* "overlay" or "node" */
  bool crypto_standin;      /* crypto = standin: crypto/standin.h (node model) */
  uint32_t nodes;
  uint64_t seed;
  double duration_s;
  enum sim_join_kind join;
  double join_window_s;     /* SIM_JOIN_SPREAD / SEQUENTIAL */
  uint32_t seeds;           /* bootstrap nodes: public, up from t=0, never churned */
  double progress_s;        /* stderr progress period (wall seconds) */
  /* [network] */
  enum sim_latency_kind latency;
  unsigned dims;            /* 2 or 3 */
  double coord_span_ms;     /* one-way delay across the coordinate space */
  char matrix[SIM_PATH_MAX];
  struct sim_dist access_ms;/* per-host access delay, one-way, ms */
  double lan_delay_ms;      /* between hosts behind the same NAT box */
  double loss;              /* independent drop probability per datagram */
  unsigned n_partitions;
  struct sim_partition partitions[SIM_MAX_PARTITIONS];
  /* [nat] */
  double nat_mix[SIM_NAT_N_CLASSES]; /* fractions of sites; sum to 1 */
  uint32_t hosts_per_site;
  double binding_timeout_s;
  double upnp;              /* fraction of NAT boxes offering UPnP */
  bool hairpin;             /* must be false for now (documented) */
  bool birthday;            /* node model: extra sockets for birthday probing (default yes) */
  /* [churn] */
  enum sim_churn_kind churn;
  struct sim_dist session_s, downtime_s;
  double churn_start_s;
  double graceful;          /* fraction of departures that are graceful */
  char trace[SIM_PATH_MAX];
  double fail_at_s;         /* mass failure time, < 0 for none */
  double fail_fraction;
  /* [measure] */
  double interval_s;
  double lookups_per_s;
  double lookup_start_s;
  double lookup_timeout_s;
  double idle_from_s;       /* bytes after this time count as idle traffic */
  double flows_per_s;       /* direct_time: new traffic flows per second */
  double flow_start_s;
  double flow_timeout_s;
  double bcast_rate;        /* bcast: broadcasts per second, whole network (Poisson) */
  uint32_t bcast_size;      /* payload bytes per broadcast (4..1300) */
  double bcast_start_s;
  double bcast_timeout_s;   /* deliveries after this count as late, not covered */
  uint32_t metrics;         /* enum sim_metric bits */
};

void sim_scenario_default(struct sim_scenario *sc);
/* Parses text (len bytes, need not be NUL-terminated). On error returns
 * RL_EPARSE and writes "LINE: reason" into err. dir is prepended to
 * relative file names (may be NULL or ""). */
int sim_scenario_parse(struct sim_scenario *sc, const char *text, size_t len,
                       const char *dir, char *err, size_t errcap);
/* Reads and parses a file. */
int sim_scenario_load(struct sim_scenario *sc, const char *path, char *err, size_t errcap);
/* Reads a whole file (at most max bytes) into a malloc'ed NUL-terminated
 * buffer. Returns 0, RL_EIO, RL_ETOOBIG or RL_ENOMEM with "path: why" in err. */
int sim_read_file(const char *path, size_t max, char **text, size_t *len, char *err,
                  size_t errcap);
/* Cross-field checks (after command-line overrides). */
int sim_scenario_check(const struct sim_scenario *sc, char *err, size_t errcap);
/* Metric names, for summary.json and the `metrics =` key. */
const char *sim_metric_name(uint32_t bit);

#endif
