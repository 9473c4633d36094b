/* orch-monitor: watches work, queues, errors and budgets; alerts humans in
 * Matrix; answers the dashboard. Wiring only: the lifecycle is
 * common/daemon.c, the NATS side monitor_nats.c (Matrix delivery
 * matrix_nats.c, dead letters deadletter_nats.c); the cores: what it has
 * seen seen.c, the rules rules.c, the alert grouping alerts.c, Matrix
 * matrix.c, the dashboard dashboard.c. */
#include <curl/curl.h>

#include "daemon.h"
#include "monitor_nats.h"

static daemon_spec spec = {
    .name = "monitor",
    .description = "watches work, queues, errors and budgets; alerts humans; answers the dashboard",
    .entries = monitor_cfg_entries,
    .settings = &monitor_cfg,
    .start = monitor_start,
    .step = monitor_step,
    .stop = monitor_stop,
};

int main(int argc, char **argv)
{
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread */
    spec.n_entries = monitor_cfg_count;
    rc = daemon_main(&spec, argc, argv);
    curl_global_cleanup();
    return rc;
}
