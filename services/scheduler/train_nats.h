/* The merge train's NATS side, for the scheduler's adapter
 * (scheduler_nats.c; docs/merge.md, services/verifier/verifier_train.h for
 * the messages): the jobs the core asks for, queued in the adapter's
 * outbox behind the train's state that asked for them (bucket: the
 * outbox's bucket of trains, key: the project), the verifiers' answers on
 * train.done.<project> handed to the core, and the trains a new leader
 * restores from KV orch_trains. Called with the adapter's lock held. */
#ifndef SCHED_TRAIN_NATS_H
#define SCHED_TRAIN_NATS_H

#include <stddef.h>

#include <nats/nats.h>

#include "nc.h"
#include "outbox.h"
#include "schedule.h"

/* Build this candidate (train.do.<project>, kind build). */
void train_nats_build(outbox *ob, int bucket, const char *project, const train_build *b);

/* Move project's base from `from` to `to`, merging ids (their commits, for
 * a verified merge the repository does not hold). */
void train_nats_advance(outbox *ob, int bucket, const char *project, const char *from, const char *to,
                        const char *const *ids, const char *const *commits, int n);

/* One answer on train.done.<project>; always acked (one that cannot be
 * read is logged and dropped: only verifiers may publish there). */
nc_settlement train_nats_answer(sched *s, const char *subj, const char *data, size_t len, const sched_clock *now);

/* How an unreadable train is alerted (the adapter's sched_out.alert). */
typedef void (*train_nats_alert)(void *ctx, const char *severity, const char *kind, const char *key,
                                 const char *text);

/* Every train in `trains` into s, before sched_resume; one that cannot be
 * read stays in KV and is alerted, its changes enter a new train. */
void train_nats_restore(sched *s, kvStore *trains, train_nats_alert alert);

#endif
