/* Engine-internal calls shared between sim_engine.c (event loop, node
 * lifecycle), sim_churn.c (session times, traces, mass failures) and
 * sim_measure.c (lookups, the ring oracle, CSV and summary output). */
#ifndef RL_SIM_INTERNAL_H
#define RL_SIM_INTERNAL_H

#include "simulations/sim.h"

#define SIM_S_TO_NS(s) ((uint64_t)((s) * 1e9))

#define SIM_GEN_ANY UINT32_MAX
int sim_push(struct sim *s, uint64_t t, uint32_t kind, uint32_t node, uint32_t arg,
             uint32_t arg2);

/* sim_churn.c */
int sim_churn_init(struct sim *s, char *err, size_t errcap);
/* A node came up at now: schedule its session end (session churn). */
int sim_churn_on_up(struct sim *s, uint32_t node);
/* A node went down at now: schedule its return (session churn). */
int sim_churn_on_down(struct sim *s, uint32_t node);
void sim_churn_mass_failure(struct sim *s);

/* sim_measure.c */
int sim_measure_init(struct sim *s);
void sim_measure_free(struct sim *s);
int sim_measure_lookup_event(struct sim *s);   /* issue one, schedule next */
int sim_measure_flow_event(struct sim *s);     /* start one flow, schedule next */
void sim_measure_snapshot(struct sim *s);      /* SIM_EV_MEASURE */
void sim_measure_sweep(struct sim *s, bool final); /* time out old lookups */
void sim_measure_node_gone(struct sim *s, uint32_t node);
void sim_oracle_refresh(struct sim *s); /* s->order: joined nodes by ID */

/* sim_flow.c */
void sim_flow_sweep(struct sim *s, bool final);
void sim_flow_summary(struct sim *s, FILE *f);
void sim_frame_summary(struct sim *s, FILE *f);

/* sim_bcast.c */
int sim_bcast_init(struct sim *s);            /* first SIM_EV_BCAST, histogram */
void sim_bcast_free(struct sim *s);
int sim_bcast_event(struct sim *s);           /* one broadcast, schedule next */
void sim_bcast_sweep(struct sim *s, bool final);
void sim_bcast_node_gone(struct sim *s, uint32_t node);
void sim_bcast_summary(struct sim *s, FILE *f);

/* sim_engine.c */
int sim_node_up(struct sim *s, uint32_t node);
void sim_node_down(struct sim *s, uint32_t node, bool graceful);
/* After a call into a node: route what it queued, re-arm its timer. */
void sim_settle(struct sim *s, uint32_t node);

#endif
