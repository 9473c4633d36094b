/* Decisions of people on the bus (sched_people.c holds the rules): the
 * requests orch.decide.pause, orch.decide.resume, orch.decide.cancel.<id>
 * and orch.decide.priority.<id>, answered by the leader (every instance
 * receives them; the others stay silent), and the pauses kept in KV
 * orch_decisions under "pauses" so that a new leader keeps them.
 *
 * Who decided: deploy/nats.conf lets only people (operator, admin) publish
 * on orch.decide.>, so a decision that arrives came from a person's
 * credentials; the body's "by" names the person (orchctl sends $ORCH_USER,
 * else $USER) and is recorded as given, "operator" when absent. The
 * scheduler cannot see the connection's user (nats-server 2.9 does not
 * pass it on), and trusts no header. */
#ifndef SCHEDULER_PEOPLE_NATS_H
#define SCHEDULER_PEOPLE_NATS_H

#include "daemon.h"
#include "schedule.h"

/* The scheduler's lock: people_lock returns the core with the lock held
 * and now read when this instance leads, else NULL with the lock released;
 * people_unlock stores and publishes what the decision asked for and
 * releases it. */
typedef sched *(*people_lock_fn)(sched_clock *now);
typedef void (*people_unlock_fn)(void);

/* Opens orch_decisions and adds the endpoints to d->srv (before srv_start). */
orch_status people_nats_start(daemon_ctx *d, people_lock_fn lock, people_unlock_fn unlock, char err[ERR_LEN]);
void people_nats_stop(void);

/* sched_out.pauses: the pauses into KV (logged when it fails). */
void people_nats_save(void *ctx, const char *json);

/* A new leader, before sched_resume: the pauses the last one kept
 * (nothing kept: none; unreadable: logged, none restored). */
void people_nats_restore(sched *s);

#endif
