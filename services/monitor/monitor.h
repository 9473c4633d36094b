/* The monitor's NATS side. The holder of the lease "monitor" watches: the
 * scheduler's requirement states and budgets (KV watchers), heartbeats,
 * results, errors, verdicts and integration messages (its durable
 * consumers), queue depth (the seed's consumers' info: pending plus
 * ack-pending), the services ($SRV.PING), and the server's MAX_DELIVERIES
 * advisories (the message is copied to deadletter.<stream>.<consumer> with
 * its reason). Every second the rules (rules.c) are evaluated and the alert
 * manager (alerts.c) decides what to announce; notifications go to
 * alerts.<severity>.<kind> (stream ALERTS), and a delivery thread takes them
 * from the durable ALERTS/monitor-matrix to Matrix (matrix.c), acking each
 * only after Matrix accepted it. It answers orch.dashboard and the silence
 * commands. */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include "cfg.h"
#include "daemon.h"

typedef struct {
    long long stale_ms, kill_ms, verifying_ms, queue_depth, error_count, error_window_ms, infra_count, warn_percent;
    long long service_grace_ms, group_wait_ms, repeat_ms, eval_ms, active_ms, max_agents, agent_idle_ms;
    cfg_list services;
    char *matrix_homeserver, *matrix_room, *matrix_token;
    long long matrix_timeout_ms, matrix_backoff_ms, matrix_backoff_max_ms;
} monitor_settings;

extern monitor_settings monitor_cfg;
extern const cfg_entry monitor_cfg_entries[];
extern const size_t monitor_cfg_count;

orch_status monitor_start(daemon_ctx *d, char err[ERR_LEN]);
void monitor_step(daemon_ctx *d);
void monitor_stop(daemon_ctx *d);

#endif
