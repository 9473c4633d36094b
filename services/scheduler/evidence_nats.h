/* What the bus says, checked against what the streams and buckets hold:
 * a verdict against the results its attempt sent, a saved state against
 * the ids the router issued (docs/scheduler.md). */
#ifndef ORCH_EVIDENCE_NATS_H
#define ORCH_EVIDENCE_NATS_H

#include <nats/nats.h>

#include "pb.h"
#include "strmap.h"

/* Whether verdict v may count for st (borrowed, may be NULL): 1 when st
 * is not DISPATCHED (the core judges the rest), or when the RESULTS stream's
 * last result on st's subject names v's attempt (a genuine verdict always
 * comes after one: the verifier builds what a result names); 0 when there
 * is none or it could not be read. */
int evidence_result_stored(jsCtx *js, const pb_state *st, const pb_verdict *v);

/* Every id the router ever handed on (the keys of ids, orch_ids), the
 * caller's to destroy; NULL when they could not be read (logged: then no
 * state is refused for it, rather than every state quarantined because a
 * bucket did not answer). */
strmap *evidence_issued_ids(kvStore *ids);

#endif
