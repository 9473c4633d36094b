/* The suite's figures in the Prometheus text exposition format (version
 * 0.0.4), for GET /metrics on the monitor's web endpoint.
 *
 * Pure: metrics_format() turns a metrics_snapshot (plain numbers the
 * monitor's adapter copied out under its lock) into text; it reads no clock
 * and no NATS. Names follow Prometheus' conventions: the `orch_` prefix,
 * base units (seconds), `_total` on counters only, one quantity per name, and
 * labels with a small fixed set of values (type, status, service) so that the
 * number of series does not grow with the work: never a requirement id.
 *
 * Histograms keep per-bucket counts (not cumulative) so observing is one
 * increment; the formatter makes them cumulative as the format wants. */
#ifndef MONITOR_METRICS_H
#define MONITOR_METRICS_H

#include <stdint.h>

#include "names.h"
#include "pb.h"

#define METRICS_TYPES NAMES_AGENT_TYPES
#define METRICS_STATUSES NAMES_STATUS_COUNT /* Orchestrator__V1__Status values, 0 included (REVIEWING and
                                              * MERGING were left out of orch_requirements) */
#define METRICS_BOUNDS 12        /* finite bucket bounds; one more bucket is +Inf */
#define METRICS_SERVICES 16

/* The upper bounds (seconds) of the finite buckets, ascending: 1 s to 4 h,
 * spanning a dispatch that waits on nothing and a build that runs long. */
extern const double metrics_bounds[METRICS_BOUNDS];

typedef struct {
    uint64_t bucket[METRICS_BOUNDS + 1]; /* per bucket, not cumulative; last: above every bound */
    uint64_t count;
    double sum;                          /* seconds */
} metrics_hist;

/* Adds one observation (seconds; negative counts as 0). */
void metrics_hist_observe(metrics_hist *h, double seconds);

typedef struct {
    const char *name;   /* borrowed */
    int up;             /* answered $SRV.PING within the grace */
} metrics_service;

typedef struct {
    /* gauges: what is known now; index [type][status] */
    long long requirements[METRICS_TYPES][METRICS_STATUSES];
    long long queue_depth[METRICS_TYPES];      /* READY + released and not taken (rules_queue_depth); -1 unknown */
    long long consumer_lag[METRICS_TYPES];     /* not yet delivered to an agent; -1 unknown */
    uint64_t tokens_used[METRICS_TYPES];       /* today's budget use */
    uint64_t tokens_limit[METRICS_TYPES];      /* today's budget; 0 none */
    double cost_dollars[METRICS_TYPES];        /* today's tokens at the configured price */
    long long agents_active[METRICS_TYPES];
    long long alerts_firing;
    const metrics_service *services;           /* borrowed */
    int nservices;
    int leader;                                /* this monitor holds the lease */
    /* counters */
    long long attempts[METRICS_TYPES];         /* attempts started, summed over requirements */
    long long escalations[METRICS_TYPES];
    long long results[METRICS_TYPES];          /* every result that counts, reviews' included; kept across leaders */
    long long agent_errors[METRICS_TYPES];     /* every error that counts against the type; kept across leaders */
    metrics_hist dispatch_latency[METRICS_TYPES];   /* READY seen -> dispatched */
    metrics_hist verification[METRICS_TYPES];       /* the verifier's steps, summed */
} metrics_snapshot;

/* When each requirement first became READY, for the dispatch latency: the
 * scheduler saves a waiting requirement again whenever the reason it waits
 * changes (its budget left, a window's slots), each time with a new
 * updated_at_ms, so the state a dispatch replaces does not say when the
 * wait began. Holds one entry per READY requirement seen (freed when it
 * leaves READY). */
typedef struct metrics_ready metrics_ready;

metrics_ready *metrics_ready_create(void);
void metrics_ready_destroy(metrics_ready *r); /* NULL-safe */

/* A requirement's new state st replacing prev (NULL when none was seen).
 * Returns the dispatch latency in seconds when st is a dispatch seen as it
 * happened (from when it first became READY, or, released at once, from the
 * state it left), else -1. */
double metrics_ready_state(metrics_ready *r, const pb_state *prev, const pb_state *st);

/* The exposition text (malloc'd, the caller frees; never NULL: the daemons'
 * out-of-memory policy aborts). Series of the unknown type (index 0) are left
 * out unless they hold something. */
char *metrics_format(const metrics_snapshot *s);

#endif
