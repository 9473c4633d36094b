/* orch-router: takes requirements in, validates and classifies them, hands
 * them to the scheduler. Wiring only: the lifecycle is common/daemon.c, the
 * NATS side router.c, the decisions classify.c and route.c. */
#include <stdio.h>
#include <string.h>

#include "classify.h"
#include "daemon.h"
#include "router_nats.h"

static daemon_spec spec = {
    .name = "router",
    .description = "takes requirements in, validates and classifies them, hands them to the scheduler",
    .entries = router_cfg_entries,
    .settings = &router_cfg,
    .start = router_start,
    .step = router_step,
    .stop = router_stop,
};

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--print-rules") == 0) {
        puts(classify_default_rules);
        return 0;
    }
    spec.n_entries = router_cfg_count;
    return daemon_main(&spec, argc, argv);
}
