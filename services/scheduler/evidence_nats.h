/* What the bus's stores say, read back and checked: a saved state against
 * the ids the router issued, the day's budgets and the learned figures a
 * new leader reads back within the core's bounds (docs/scheduler.md). */
#ifndef ORCH_EVIDENCE_NATS_H
#define ORCH_EVIDENCE_NATS_H

#include <nats/nats.h>

#include "pb.h"
#include "schedule.h"
#include "strmap.h"

/* Every id the router ever handed on (the keys of ids, orch_ids), the
 * caller's to destroy; NULL when they could not be read (logged: then no
 * state is refused for it, rather than every state quarantined because a
 * bucket did not answer). */
strmap *evidence_issued_ids(kvStore *ids);

/* Gives s today's budget usage per type from budgets (keys starting with
 * now's day), each within sched_restore_budget's bounds; a record out of
 * them is logged and left out. */
void evidence_restore_budgets(sched *s, kvStore *budgets, const sched_clock *now);

/* Gives s what the last leader learned (budgets' LEARN_KV_KEY), before
 * sched_resume; without it, or when it is unreadable (logged), the core
 * learns from the COMPLETE states it was given. */
void evidence_restore_learned(sched *s, kvStore *budgets);

#endif
