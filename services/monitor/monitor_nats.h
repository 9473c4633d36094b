/* The monitor's NATS side: wiring only. The holder of the lease "monitor"
 * feeds what it receives to the core (seen.c): the scheduler's requirement
 * states and budgets (KV watchers) and its plan (orch.scheduler.list),
 * heartbeats, results, errors, verdicts and integration messages (durable
 * consumers; each report judged by its subject first, admit.h), queue depth
 * (the seed's consumers' info: pending plus ack-pending) and the services
 * ($SRV.PING). Every monitor.eval_ms the rules (rules.c) are evaluated on
 * the core's snapshot and the alert manager (alerts.c) decides what to
 * announce; notifications go to alerts.<severity>.<kind> (stream ALERTS).
 * Delivery to Matrix is matrix_nats.c, dead letters deadletter_nats.c. It
 * answers orch.dashboard (dashboard.c) and the silence commands. */
#ifndef MONITOR_MONITOR_NATS_H
#define MONITOR_MONITOR_NATS_H

#include "alerts.h"
#include "cfg.h"
#include "daemon.h"
#include "rules.h"
#include "seen.h"
#include "web_nats.h"

/* The settings table writes straight into the cores' config structs: the
 * table is the one place defaults live. */
typedef struct {
    rules_cfg rules;
    am_cfg alerts;
    seen_cfg seen;
    long long eval_ms;
    cfg_list services;
    char *matrix_homeserver, *matrix_room, *matrix_token;
    long long matrix_timeout_ms, matrix_backoff_ms, matrix_backoff_max_ms;
    web_nats_cfg web;
} monitor_settings;

extern monitor_settings monitor_cfg;
extern const cfg_entry monitor_cfg_entries[];
extern const size_t monitor_cfg_count;

orch_status monitor_start(daemon_ctx *d, char err[ERR_LEN]);
void monitor_step(daemon_ctx *d);
void monitor_stop(daemon_ctx *d);

#endif
