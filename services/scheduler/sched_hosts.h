/* Agents declared gone with their host (pool.h, the loss rule): the part of
 * the scheduler's core that acts on it. Kept out of schedule.h: the pool is
 * its own concern (pool.c decides, pool_nats.c feeds it). */
#ifndef ORCH_SCHED_HOSTS_H
#define ORCH_SCHED_HOSTS_H

#include "schedule.h"

/* The n instances (borrowed) ran on a host now lost or restarted: each
 * counts as an agent no more (as after a heartbeat saying "stopped"), and
 * the work one of them held (DISPATCHED, its instance among them) goes back
 * to the queue as a new dispatch (a new dispatch id and claim key, as for
 * an agent whose circuit breaker opened), no attempt counted against the
 * work: the host's loss is not the work's fault. why is kept as the work's
 * last failure output. Returns how many requirements went back. */
int sched_agents_gone(sched *s, const char *const *instances, int n, const char *why, const sched_clock *now);

#endif
