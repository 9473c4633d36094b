/* The pool of agent hosts on the bus (pool.h holds the rules): reads the
 * hosts' adverts (hosts.<host id>, every scheduler instance, standbys too,
 * so a new leader knows the pool at once), places the leader's spawn
 * requests on hosts (control.spawn.<host>.<type>), and at each step
 * declares lost hosts' agents gone (sched_hosts.h) with an alert naming
 * the host. */
#ifndef SCHEDULER_POOL_NATS_H
#define SCHEDULER_POOL_NATS_H

#include <stdint.h>

#include "daemon.h"
#include "edge.h"
#include "schedule.h"

/* How the adapter stores a publish (scheduler_nats.c's publish: through
 * the outbox, with the state of key). */
typedef int (*pool_publish_fn)(const char *key, const char *subject, const char *msg_id, const void *data, int len,
                               const char *ctype);

/* Subscribes to the adverts. lost_ms: the loss rule's bound. */
orch_status pool_nats_start(daemon_ctx *d, int64_t lost_ms, char err[ERR_LEN]);
void pool_nats_stop(void);

/* Places sp->count agents of sp->agent_type on the pool's hosts and
 * publishes one request per host chosen. Returns 0 when no host has ever
 * advertised (the caller sends the one-machine request,
 * control.spawn.<type>), 1 otherwise, whether all, some or none found room
 * (logged; "no host has room for <type>" raised as an alert). */
int pool_nats_spawn(pb_spawn *sp, int64_t now_ms, pool_publish_fn publish);

/* The leader's step: hosts silent past the bound, and hosts that came back
 * with a new nonce, have their agents declared gone in s. Call with the
 * scheduler's lock held. */
void pool_nats_tick(sched *s, const sched_clock *now);

#endif
