/* orch-scheduler: releases ready work to agents: dependencies, priorities, budgets, file overlap.
 * Wiring only; the lifecycle is in common/daemon.c. */
#include "daemon.h"

static const daemon_spec spec = {
    .name = "scheduler",
    .description = "releases ready work to agents: dependencies, priorities, budgets, file overlap",
};

int main(int argc, char **argv)
{
    return daemon_main(&spec, argc, argv);
}
