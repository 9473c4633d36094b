/* Keeping an agent free for more urgent work about to become ready. Pure:
 * no NATS, no clock, no scheduler state.
 *
 * Releasing whatever is ready whenever an agent is free (list scheduling)
 * leaves one gap: a requirement on the roadmap's longest path becomes ready
 * a few minutes after the last free agent of its type took work that could
 * have waited, and then waits hours for that agent. The scheduler knows
 * when it expects work in flight to end and what becomes ready then, so it
 * can see this coming: a claim is a requirement of the type that will be
 * ready at `at` (its last unfinished dependency's expected end), and it
 * outranks a candidate when it is more urgent or its upward rank exceeds the
 * candidate's by more than the wait. A candidate is held when releasing it
 * now would leave some outranking claim without an agent when it becomes
 * ready, counting the agents free now and those whose work is expected to
 * end by then. Work short enough to end before the claim is ready still
 * goes (backfilling). docs/scheduler.md, "Release order". */
#ifndef SCHED_RESERVE_H
#define SCHED_RESERVE_H

#include <stdint.h>

typedef struct {
    int64_t at;     /* when it is expected to be ready */
    int prio;       /* Priority: smaller is more urgent */
    int64_t key;    /* upward rank, ms of expected work from it to the end */
    int entry;      /* the scheduler's, returned to name it */
} reserve_claim;

typedef struct {
    reserve_claim *claim;
    int nclaim, cap_claim;
    int64_t *frees;   /* expected ends of the type's work that holds an agent */
    int nfrees, cap_frees;
    int free_now;     /* the type's agents not holding work (may be <= 0) */
} reserve;

void reserve_reset(reserve *r, int free_now);
void reserve_add_claim(reserve *r, int64_t at, int prio, int64_t key, int entry);
void reserve_add_busy(reserve *r, int64_t until);
/* After the adds: sorts claims and ends by time. */
void reserve_ready(reserve *r);
/* The claim a candidate (prio, key, expected duration dur) must leave an
 * agent for, or -1 when it may go now. */
int reserve_holds(const reserve *r, int64_t now, int prio, int64_t key, int64_t dur);
/* A candidate went: it holds an agent until now + dur. */
void reserve_take(reserve *r, int64_t until);
void reserve_free(reserve *r);

#endif
