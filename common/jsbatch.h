/* Publishing the outputs of a batch of input messages, asynchronously, and
 * knowing per input whether all of its outputs were stored by JetStream.
 * The rule it serves: an input is acked only after what was published for
 * it is acknowledged (else it is nak'ed and comes back, and the same
 * Nats-Msg-Id makes the second publish a no-op).
 *
 *   jsbatch_begin(b, n);
 *   for each input i: jsbatch_publish(b, i, subject, msg_id, data, len, ctype)...
 *   jsbatch_wait(b);
 *   for each input i: jsbatch_ok(b, i) ? ack : nak
 *
 * Every message carries a MaxWait, so an ack lost in a server failure counts
 * as a failure instead of never resolving (PLATFORM.md). Not thread-safe:
 * one batch at a time per jsbatch. */
#ifndef ORCH_JSBATCH_H
#define ORCH_JSBATCH_H

#include <nats/nats.h>

#include "status.h"

typedef struct jsbatch jsbatch;

/* max_outputs bounds the messages in flight per batch; wait_ms bounds the
 * wait for their acks. */
orch_status jsbatch_create(jsbatch **out, natsConnection *nc, int max_outputs, int64_t wait_ms, char err[ERR_LEN]);
void jsbatch_destroy(jsbatch *b);

/* Starts a batch of n inputs (all ok until an output of theirs fails). */
void jsbatch_begin(jsbatch *b, int n_inputs);

/* What the subject's last stored sequence must be for the message to be
 * stored (Nats-Expected-Last-Subject-Sequence): JSBATCH_ANY for no
 * condition, JSBATCH_NEW for "none yet" (a KV create), else the revision a
 * KV update replaces. */
#define JSBATCH_ANY (-1)
#define JSBATCH_NEW 0

/* Publishes one output of input i. msg_id and content_type may be NULL.
 * A failure to even send marks input i failed. */
void jsbatch_publish(jsbatch *b, int input, const char *subject, const char *msg_id, const void *data, int len,
                     const char *content_type, int64_t expect);

/* Marks input i failed (the caller's own error, e.g. a KV write). */
void jsbatch_fail(jsbatch *b, int input);

/* Waits for every ack of the batch (bounded); unresolved ones are failures. */
void jsbatch_wait(jsbatch *b);

/* After jsbatch_wait: 1 when every output of input i was stored. */
int jsbatch_ok(const jsbatch *b, int input);

/* After jsbatch_wait: the stream sequence of input i's last stored output
 * (a KV revision), 0 when none. */
uint64_t jsbatch_seq(const jsbatch *b, int input);

/* After jsbatch_wait: 1 when an output of input i was refused because the
 * subject's last sequence was not the expected one (someone else wrote). */
int jsbatch_conflict(const jsbatch *b, int input);

/* Outputs stored and failed since creation. */
void jsbatch_counts(const jsbatch *b, long long *stored, long long *failed);

#endif
