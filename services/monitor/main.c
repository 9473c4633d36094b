/* orch-monitor: watches work, queues, errors and budgets; alerts humans; answers the dashboard.
 * Wiring only; the lifecycle is in common/daemon.c. */
#include "daemon.h"

static const daemon_spec spec = {
    .name = "monitor",
    .description = "watches work, queues, errors and budgets; alerts humans; answers the dashboard",
};

int main(int argc, char **argv)
{
    return daemon_main(&spec, argc, argv);
}
