/* orch-router: takes requirements in, validates and classifies them, hands them to the scheduler.
 * Wiring only; the lifecycle is in common/daemon.c. */
#include "daemon.h"

static const daemon_spec spec = {
    .name = "router",
    .description = "takes requirements in, validates and classifies them, hands them to the scheduler",
};

int main(int argc, char **argv)
{
    return daemon_main(&spec, argc, argv);
}
