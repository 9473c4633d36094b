/* The monitor's rules: from a snapshot of what it has seen, the conditions
 * that are true now. Pure: the snapshot and the time are arguments.
 *
 *   stale        work DISPATCHED and started by an agent (it said so with a
 *                heartbeat) whose agent then showed no activity (heartbeat,
 *                result, error, integration message) for stale_ms (2 h);
 *                past kill_ms it also asks to stop the instance and release
 *                the work again. Work waiting on a human or a dependency is
 *                never stale, and neither is work no agent has taken yet:
 *                that is a deep queue (queue_depth), not a stuck agent.
 *   stale_verifying  work VERIFYING for verifying_ms (80 min: twice the
 *                time limits of the seed project's verification steps):
 *                the verifier is stuck or lost it. An alert naming the
 *                requirement; nothing is stopped (the verifier's own time
 *                limits and redelivery are what end a verification).
 *   queue_depth  what waits for a type over queue_depth: its READY
 *                requirements plus the work released to its consumer that
 *                no agent took yet (pending + ack-pending). The consumer
 *                alone is capped by the scheduler's release window (15
 *                READY backend requirements showed as 2), so the alert could
 *                not fire with the defaults.
 *   error_rate   agent errors of a type within error_window_ms, at least
 *                error_count of them.
 *   infra_errors verifier infrastructure errors within the window.
 *   budget       the day's total at warn_percent or more; a type over its
 *                own limit.
 *   service_down an expected service not answering $SRV.PING for
 *                service_grace_ms. */
#ifndef MONITOR_RULES_H
#define MONITOR_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"

#define RULES_TYPES NAMES_AGENT_TYPES
#define RULES_MAX_LABELS 4

/* Filled by the monitor's settings table (monitor_nats.c), which holds the
 * defaults: 2 h, 4 h, 80 min, 10, 5 in 15 min, 3, 80%, 30 s. */
typedef struct {
    long long stale_ms, kill_ms;
    long long verifying_ms;
    long long queue_depth;
    long long error_count;
    long long error_window_ms;
    long long infra_count;
    long long warn_percent;
    long long service_grace_ms;
} rules_cfg;

/* Timestamps in a sliding window (a ring of the last 256). */
typedef struct {
    int64_t t[256];
    int n, head;
} rules_window;

void rules_window_add(rules_window *w, int64_t t);
int rules_window_count(const rules_window *w, int64_t now, int64_t span);

typedef struct {
    const char *id;
    const char *instance;
    int type;
    int64_t dispatched_ms;
    int64_t last_activity_ms;   /* 0: none seen */
    unsigned attempt;
    int started;                /* an agent took it */
    int verifying;              /* VERIFYING, not DISPATCHED */
    int64_t verifying_since_ms; /* when it became VERIFYING */
} rules_work;

typedef struct {
    const char *name;           /* "orch-router" */
    int64_t last_seen_ms;       /* 0: never */
} rules_service;

typedef struct {
    const rules_work *work;     /* DISPATCHED and VERIFYING work only */
    int nwork;
    int depth[RULES_TYPES];     /* released to the type's consumer, not taken (pending + ack-pending); -1: unknown */
    int ready[RULES_TYPES];     /* READY requirements of the type: they wait, not released yet */
    const rules_window *errors; /* RULES_TYPES of them */
    const rules_window *infra;
    uint64_t used[RULES_TYPES], limit[RULES_TYPES], used_total, limit_total;
    const rules_service *services;
    int nservices;
    int64_t started_ms;         /* when the monitor started watching */
} rules_snapshot;

typedef struct {
    char rule[32];
    char keys[RULES_MAX_LABELS][32];
    char values[RULES_MAX_LABELS][96];
    int nlabels;
    Orchestrator__V1__Severity severity;   /* the proto's: info < warning < critical */
    char group[64];
    char text[512];
} rules_condition;

typedef struct {
    char id[64];
    char instance[64];
    unsigned attempt;
} rules_kill;

/* A span for people: whole seconds under a minute ("45 s"), else whole
 * minutes ("180 min"); "no activity for 0 min" said nothing. Negative
 * spans count as 0. */
void rules_duration(char *buf, size_t len, int64_t ms);

/* What waits for a type: ready requirements plus released ones no agent
 * took; -1 when the consumer's figure is unknown (released < 0). The
 * dashboard, /metrics (orch_queue_depth) and the queue_depth rule show it. */
int rules_queue_depth(int ready, int released);

/* The conditions true now (at most max) and the instances to stop (at most
 * maxk, into kills). Returns the number of conditions. */
int rules_eval(const rules_cfg *c, const rules_snapshot *s, int64_t now, rules_condition *out, int max,
               rules_kill *kills, int maxk, int *nkills);

/* "rule{k=v,k=v}": the identity of a condition (labels in order given). */
void rules_fingerprint(const rules_condition *c, char *buf, size_t len);

#endif
