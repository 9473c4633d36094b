/* The benches' reviewer and release agent: a requirement that passed its
 * verification is approved and merged at once, through the core's own
 * entry points (sched_result from a review agent, then from a release
 * agent), so what depends on it is released as it would be in the suite,
 * with review and merge taking no time. */
#ifndef BENCH_LAND_H
#define BENCH_LAND_H

#include "schedule.h"

/* Approves and merges id's current attempt when it is REVIEWING (review
 * and release work is COMPLETE at its verdict: nothing to do). */
void bench_land(sched *s, const char *id, const sched_clock *clk);

/* id's attempt 1 done by its agent (a result of tokens) and verified
 * (a PASS verdict): REVIEWING, or COMPLETE for review and release work. */
void bench_verify(sched *s, const char *id, const char *instance, uint64_t tokens, const sched_clock *clk);

#endif
