/* The JetStream topology of the suite, as data: every stream, durable
 * consumer and KV bucket, with its retention, storage, age, duplicate
 * window and delivery limits. provision.c applies it; docs/architecture.md
 * describes it. Pure: no NATS types here. */
#ifndef ORCH_TOPOLOGY_H
#define ORCH_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TOPO_LIMITS = 0, TOPO_WORK_QUEUE } topo_retention;

#define TOPO_MAX_SUBJECTS 2

typedef struct {
    const char *name;
    const char *subjects[TOPO_MAX_SUBJECTS];  /* NULL-terminated if fewer */
    topo_retention retention;
    int64_t max_age_s;
    int64_t dup_window_s;                     /* Nats-Msg-Id dedupe window */
    int32_t max_msg_size;
    const char *description;
} topo_stream;

typedef struct {
    const char *stream;
    const char *durable;
    const char *filter;
    int64_t ack_wait_ms;
    int64_t max_deliver;      /* then the MAX_DELIVERIES advisory fires */
    int64_t max_ack_pending;
    const char *description;
} topo_consumer;

typedef struct {
    const char *bucket;
    int history;
    int64_t ttl_s;            /* per bucket (nats-server 2.9): 0 = none */
    const char *description;
} topo_bucket;

extern const topo_stream topo_streams[];
extern const size_t topo_stream_count;
extern const topo_consumer topo_consumers[];
extern const size_t topo_consumer_count;
extern const topo_bucket topo_buckets[];
extern const size_t topo_bucket_count;

/* The topology's consumer named durable on stream (NULL: the first of
 * that name on any stream); NULL when there is none. */
const topo_consumer *topo_consumer_find(const char *stream, const char *durable);

/* A bucket's TTL in milliseconds (0 = none or unknown bucket). */
int64_t topo_kv_ttl_ms(const char *bucket);

/* 1 when the bucket's keys are written once (orch_claims): its stream
 * keeps one message per key and discards a new one, so the server refuses
 * a second write, a delete or a purge marker on a key until its age passes
 * the TTL. A plain put cannot take over a claim (docs/agents.md, "Claims"). */
int topo_kv_create_once(const char *bucket);

/* The services' durable consumer names, each written once: here. */
#define TOPO_DUR_ROUTER "router"
#define TOPO_DUR_SCHEDULER_PLAN "scheduler-plan"
#define TOPO_DUR_VERIFIER "verifier"
#define TOPO_DUR_SCHEDULER_RESULTS "scheduler-results"
#define TOPO_DUR_MONITOR_RESULTS "monitor-results"
#define TOPO_DUR_SCHEDULER_VERDICTS "scheduler-verdicts"
#define TOPO_DUR_MONITOR_VERDICTS "monitor-verdicts"
#define TOPO_DUR_SCHEDULER_ERRORS "scheduler-errors"
#define TOPO_DUR_MONITOR_ERRORS "monitor-errors"
#define TOPO_DUR_MONITOR_INTEGRATION "monitor-integration"
#define TOPO_DUR_MONITOR_MATRIX "monitor-matrix"
#define TOPO_DUR_HOST_LISTENER "host-listener"
#define TOPO_DUR_VERIFIER_TRAIN "verifier-train"
#define TOPO_DUR_SCHEDULER_TRAIN "scheduler-train"

/* Bucket names used by the services. */
#define TOPO_KV_REQUIREMENTS "orch_requirements"
#define TOPO_KV_BUDGETS "orch_budgets"
#define TOPO_KV_ACTIVITY "orch_activity"
#define TOPO_KV_LEADER "orch_leader"
#define TOPO_KV_COUNTERS "orch_counters"
#define TOPO_KV_ALERTS "orch_alerts"
#define TOPO_KV_INTAKE_IDS "orch_intake_ids"
#define TOPO_KV_CLAIMS "orch_claims"
#define TOPO_KV_IDS "orch_ids"
#define TOPO_KV_TRAINS "orch_trains"
#define TOPO_KV_DECISIONS "orch_decisions"

#endif
