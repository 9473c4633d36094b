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
 * last failure output. Work DISPATCHED that no heartbeat named an instance
 * for yet (the agent died between its claim and its first heartbeat) is
 * asked of holder (may be NULL): holder(ctx, st, out, len) fills out with
 * the instance holding its claim ("" for none) and returns 0, or -1 when it
 * cannot tell (the work stays). Returns how many requirements went back. */
typedef int (*sched_holder_fn)(void *ctx, const pb_state *st, char *out, size_t len);
int sched_agents_gone(sched *s, const char *const *instances, int n, const char *why, sched_holder_fn holder,
                      void *ctx, const sched_clock *now);

#endif
