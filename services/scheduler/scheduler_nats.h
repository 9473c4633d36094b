/* The scheduler's NATS side. Only the holder of the leader lease (KV
 * orch_leader, key "scheduler") acts: it rebuilds the state from KV, then
 * consumes PLAN, RESULTS, VERDICTS and ERRORS through its durable pull
 * consumers (one thread each), heartbeats, and answers orch.status.<id> and
 * orch.scheduler.retry. Every decision of the core (schedule.c) is saved in KV
 * orch_requirements by compare-and-set and published before the message that
 * caused it is acked. A standby polls for the lease and takes over when it
 * lapses. */
#ifndef SCHEDULER_SCHEDULER_NATS_H
#define SCHEDULER_SCHEDULER_NATS_H

#include "cfg.h"
#include "daemon.h"
#include "schedule.h"

/* The settings table writes the core's settings straight into core (main.c
 * fills it with sched_cfg_default first, for what is no setting); the rest
 * are the adapter's, or need reading before the core takes them. */
typedef struct {
    sched_cfg core;
    char *quiet_start, *quiet_end;   /* "HH:MM": core.quiet_start, quiet_end */
    int mode;                        /* 0 continuous, 1 turns (core.turn_minutes 0 when continuous) */
    cfg_list turn_offsets;           /* minutes, backend first: core.turn_offset */
    char *timezone;
    int format;                      /* 0 json, 1 protobuf */
    int release_order;               /* SCHED_ORDER_*: rank, age, downstream */
    long long batch;
    long long lease_refresh_ms;
    long long list_limit;
    long long host_lost_ms;          /* pool.h: a host silent longer is lost */
} scheduler_settings;

extern scheduler_settings scheduler_cfg;
extern const cfg_entry scheduler_cfg_entries[];
extern const size_t scheduler_cfg_count;

orch_status scheduler_start(daemon_ctx *d, char err[ERR_LEN]);
void scheduler_step(daemon_ctx *d);
void scheduler_stop(daemon_ctx *d);

#endif
