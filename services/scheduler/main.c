/* orch-scheduler: releases ready work to agents: dependencies, priorities,
 * budgets, file overlap, retries, spawns. Wiring only: the lifecycle is
 * common/daemon.c, the NATS side scheduler_nats.c, the decisions schedule.c. */
#include "daemon.h"
#include "scheduler_nats.h"

static daemon_spec spec = {
    .name = "scheduler",
    .description = "releases ready work to agents: dependencies, priorities, budgets, file overlap",
    .entries = scheduler_cfg_entries,
    .settings = &scheduler_cfg,
    .start = scheduler_start,
    .step = scheduler_step,
    .stop = scheduler_stop,
};

int main(int argc, char **argv)
{
    /* the core's defaults first, for what is no setting (expected durations
     * until learned); the settings table then writes the settings over them */
    sched_cfg_default(&scheduler_cfg.core);
    spec.n_entries = scheduler_cfg_count;
    return daemon_main(&spec, argc, argv);
}
