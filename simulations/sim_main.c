/* ringlan-sim: runs one scenario file and writes its metrics.
 *
 *   ringlan-sim SCENARIO [--seed S] [--nodes N] [--duration S] [--out DIR]
 *
 * DIR (default ./sim-out) receives summary.json, lookups.csv, joins.csv,
 * snapshots.csv (and links.csv, flows.csv, frames.csv, bcasts.csv for the
 * metrics that need them; all deterministic for a given scenario and seed) and
 * perf.json (wall time, events per second, peak RSS: machine-dependent).
 * Exit status: 0 done, 1 bad usage or scenario, 2 run failed, 3 the
 * scenario's model is not available in this build (summary.json says why). */
#include <errno.h>
#include <ringlan/error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "simulations/sim.h"

struct prog {
  double t0, last;
  double every_s;
  uint64_t last_events;
};

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static long vm_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t fl = strlen(field);
  if (!f)
    return -1;
  while (fgets(line, sizeof(line), f))
    if (!strncmp(line, field, fl) && line[fl] == ':')
      v = strtol(line + fl + 1, NULL, 10);
  fclose(f);
  return v;
}

static void progress(void *ctx, const struct sim_progress *p) {
  struct prog *g = ctx;
  double now = wall_s();
  if (now - g->last < g->every_s)
    return;
  double rate = (double)(p->events - g->last_events) / (now - g->last);
  fprintf(stderr, "[sim] virtual %.1f s  events %llu (%.0f/s)  up %llu  joined %llu  "
                  "wall %.0f s  cpu %.0f s\n",
          (double)p->now / 1e9, (unsigned long long)p->events, rate,
          (unsigned long long)p->nodes_up, (unsigned long long)p->nodes_joined, now - g->t0,
          cpu_s());
  g->last = now;
  g->last_events = p->events;
}

static int mkdir_p(const char *dir) {
  char tmp[SIM_PATH_MAX];
  snprintf(tmp, sizeof(tmp), "%s", dir);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(tmp, 0755) && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

static FILE *open_out(const char *dir, const char *name) {
  char path[SIM_PATH_MAX + 64];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f)
    fprintf(stderr, "ringlan-sim: %s: %s\n", path, strerror(errno));
  return f;
}

static int usage(void) {
  fprintf(stderr, "usage: ringlan-sim SCENARIO [--seed S] [--nodes N] [--duration S] "
                  "[--out DIR]\n");
  return 1;
}

int main(int argc, char **argv) {
  const char *scen = NULL, *out = "sim-out";
  const char *seed_s = NULL, *nodes_s = NULL, *dur_s = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc)
      seed_s = argv[++i];
    else if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
      nodes_s = argv[++i];
    else if (!strcmp(argv[i], "--duration") && i + 1 < argc)
      dur_s = argv[++i];
    else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else if (argv[i][0] == '-' || scen)
      return usage();
    else
      scen = argv[i];
  }
  if (!scen)
    return usage();
  static struct sim_scenario sc;
  char err[600];
  if (sim_scenario_load(&sc, scen, err, sizeof(err))) {
    fprintf(stderr, "ringlan-sim: %s\n", err);
    return 1;
  }
  char *end;
  if (seed_s) {
    sc.seed = strtoull(seed_s, &end, 10);
    if (*end || !*seed_s)
      return usage();
  }
  if (nodes_s) {
    unsigned long n = strtoul(nodes_s, &end, 10);
    if (*end || !n || n > 10000000)
      return usage();
    sc.nodes = (uint32_t)n;
  }
  if (dur_s) {
    sc.duration_s = strtod(dur_s, &end);
    if (*end || !(sc.duration_s >= 0))
      return usage();
  }
  if (sim_scenario_check(&sc, err, sizeof(err))) {
    fprintf(stderr, "ringlan-sim: %s: %s\n", scen, err);
    return 1;
  }
  if (mkdir_p(out)) {
    fprintf(stderr, "ringlan-sim: cannot create %s: %s\n", out, strerror(errno));
    return 1;
  }
  const struct sim_model *model = sim_model_find(sc.model);
  if (!model) {
    FILE *f = open_out(out, "summary.json");
    const char *why = !strcmp(sc.model, "node")
                          ? "the node-core model is not wired up yet (node core in progress); "
                            "no metric of this scenario is produced"
                          : "this model is not available in this build";
    if (f) {
      fprintf(f, "{\"scenario\":\"%s\",\"model\":\"%s\",\"status\":\"not_run\",\"reason\":\"%s\"}\n",
              sc.name, sc.model, why);
      fclose(f);
    }
    fprintf(stderr, "ringlan-sim: model '%s': %s\n", sc.model, why);
    return 3;
  }
  long rss0 = vm_kb("VmRSS");
  double t0 = wall_s();
  static struct sim s;
  if (sim_init(&s, &sc, model, NULL, err, sizeof(err))) {
    fprintf(stderr, "ringlan-sim: %s\n", err);
    return 1;
  }
  s.out.lookups = open_out(out, "lookups.csv");
  s.out.joins = open_out(out, "joins.csv");
  s.out.snapshots = open_out(out, "snapshots.csv");
  if ((sc.metrics & SIM_M_LINK_TYPES) && model->stats)
    s.out.links = open_out(out, "links.csv");
  if ((sc.metrics & SIM_M_DIRECT_TIME) && model->flow)
    s.out.flows = open_out(out, "flows.csv");
  if ((sc.metrics & SIM_M_PATH_LATENCY) && (model->caps & SIM_M_PATH_LATENCY))
    s.out.frames = open_out(out, "frames.csv");
  if ((sc.metrics & SIM_M_BCAST) && model->bcast)
    s.out.bcasts = open_out(out, "bcasts.csv");
  int rc = 2;
  if (!s.out.lookups || !s.out.joins || !s.out.snapshots)
    goto done;
  struct prog g = {t0, t0, sc.progress_s, 0};
  s.progress = progress;
  s.progress_ctx = &g;
  s.progress_every = 1u << 14;
  sim_write_headers(&s);
  int run = sim_run(&s, UINT64_MAX);
  if (run) {
    fprintf(stderr, "ringlan-sim: run failed: %s\n", rl_strerror(run));
    goto done;
  }
  double wall = wall_s() - t0, cpu = cpu_s();
  FILE *f = open_out(out, "summary.json");
  if (!f || sim_summary_json(&s, f)) {
    if (f)
      fclose(f);
    goto done;
  }
  fclose(f);
  long hwm = vm_kb("VmHWM"), rss = vm_kb("VmRSS");
  f = open_out(out, "perf.json");
  if (f) {
    fprintf(f, "{\"scenario\":\"%s\",\"model\":\"%s\",\"crypto\":\"%s\",\"nodes\":%u,"
               "\"wall_s\":%.3f,"
               "\"cpu_s\":%.3f,\"events\":%llu,\"events_per_wall_s\":%.0f,"
               "\"events_per_cpu_s\":%.0f,\"virtual_s\":%.3f,"
               "\"vm_hwm_kb\":%ld,\"vm_rss_end_kb\":%ld,\"rss_before_kb\":%ld,"
               "\"peak_kb_per_node\":%.3f,\"peak_in_flight_datagrams\":%llu}\n",
            sc.name, model->name, sc.crypto_standin ? "standin" : "real", sc.nodes, wall, cpu, (unsigned long long)s.events,
            wall > 0 ? s.events / wall : 0.0, cpu > 0 ? s.events / cpu : 0.0,
            (double)s.now / 1e9, hwm, rss, rss0,
            sc.nodes ? (double)(hwm - rss0) / sc.nodes : 0.0,
            (unsigned long long)s.pool.peak_live);
    fclose(f);
  }
  fprintf(stderr, "[sim] done: %u nodes, %.1f virtual s, %llu events in %.1f wall s "
                  "(%.1f cpu s), peak RSS %ld kB\n",
          sc.nodes, (double)s.now / 1e9, (unsigned long long)s.events, wall, cpu, hwm);
  rc = 0;
done:
  if (s.out.lookups)
    fclose(s.out.lookups);
  if (s.out.joins)
    fclose(s.out.joins);
  if (s.out.snapshots)
    fclose(s.out.snapshots);
  if (s.out.links)
    fclose(s.out.links);
  if (s.out.flows)
    fclose(s.out.flows);
  if (s.out.frames)
    fclose(s.out.frames);
  if (s.out.bcasts)
    fclose(s.out.bcasts);
  sim_free(&s);
  return rc;
}
