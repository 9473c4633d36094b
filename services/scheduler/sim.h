/* What the rest of the roadmap will take: a simulation of the release rule
 * over expected durations and the agents there are. See sim.c. Pure: no
 * NATS, no clock (times are relative to "now" = 0). */
#ifndef SCHED_SIM_H
#define SCHED_SIM_H

#include <stdint.h>

#include "names.h"

/* One unfinished requirement. Dependencies already complete are left out;
 * the others are indices into the same array, deps[first_dep ..
 * first_dep + ndeps) of the array passed beside it. */
typedef struct {
    int type;           /* agent type, 0..NAMES_AGENT_TYPES-1 */
    int prio;           /* smaller goes first: 0 released and waiting, 1 CRITICAL .. 4 LOW */
    int64_t key;        /* within a priority, larger goes first (upward rank) */
    uint64_t order;     /* then smaller goes first (arrival) */
    int64_t duration;   /* ms this run takes; for running work, what is left */
    int64_t expect;     /* ms the scheduler expects it to take (what is left, for running work): its reservations go by it */
    int running;        /* on an agent now: holds it from 0 */
    int first_dep, ndeps;
} sim_task;

/* Runs n tasks on agents[t] agents of each type (0 counts as 1: work of a
 * type nobody runs yet would never end), list-scheduled: whenever an agent
 * of a type is free, the first ready task of that type in (prio, key
 * desc, order) goes to it; with reserve, as the scheduler does
 * (reserve.h), a task that would take an agent more urgent work about to be
 * ready needs waits, and the next one is tried. finish[i] (n entries): when
 * task i is expected to end, ms from now; -1 if it never can (a dependency
 * outside the array or a cycle). Returns the largest finish (the
 * roadmap's), 0 for n == 0. O((n + edges) log n) without reserve; with it,
 * each start also looks at the work running and what waits on it. */
int64_t sim_run(const sim_task *task, int n, const int *deps, const int agents[NAMES_AGENT_TYPES], int reserve,
                int64_t *finish);

#endif
