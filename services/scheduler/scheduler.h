/* The scheduler's NATS side. Only the holder of the leader lease (KV
 * orch_leader, key "scheduler") acts: it rebuilds the state from KV, then
 * consumes PLAN, RESULTS, VERDICTS and ERRORS through its durable pull
 * consumers (one thread each), heartbeats, and answers orch.status.<id> and
 * orch.scheduler.retry. Every decision of the core (schedule.c) is saved in KV
 * orch_requirements by compare-and-set and published before the message that
 * caused it is acked. A standby polls for the lease and takes over when it
 * lapses. */
#ifndef SCHEDULER_SCHEDULER_H
#define SCHEDULER_SCHEDULER_H

#include "cfg.h"
#include "daemon.h"

typedef struct {
    long long window, overlap_percent, max_attempts, max_infra_retries, budget_factor_percent;
    long long spawn_depth, spawn_max, spawn_cooldown_s;
    char *quiet_start, *quiet_end;   /* "HH:MM" */
    long long backoff_base_ms, backoff_max_ms;
    int mode;                        /* 0 continuous, 1 turns */
    long long turn_minutes;
    cfg_list turn_offsets;           /* minutes, backend first */
    char *timezone;
    long long budget_total, budget_type[7], conserve_percent;
    int format;                      /* 0 json, 1 protobuf */
    int release_order;               /* SCHED_ORDER_*: rank, age, downstream */
    long long batch;
    long long lease_refresh_ms;
    long long charge_message_percent, charge_attempt_percent, idle_day_percent;
    long long retention_s, list_limit;
} scheduler_settings;

extern scheduler_settings scheduler_cfg;
extern const cfg_entry scheduler_cfg_entries[];
extern const size_t scheduler_cfg_count;

orch_status scheduler_start(daemon_ctx *d, char err[ERR_LEN]);
void scheduler_step(daemon_ctx *d);
void scheduler_stop(daemon_ctx *d);

#endif
