/* An agent's claim on a dispatch, before it acts on it (README, "Writing an
 * agent"): a KV create of <type>.<the message's Nats-Msg-Id> in
 * orch_claims holding the instance id. A message delivered again after an
 * ack was lost (a server failure) finds the claim and is not acted on a
 * second time.
 *
 * A claim whose answer never came (a time-out) may have been stored: the
 * caller's "unsure" map remembers it, so that this same process, seeing the
 * message again, takes the "claimed before" answer as its own claim. */
#ifndef ORCH_CLAIM_H
#define ORCH_CLAIM_H

#include <nats/nats.h>

#include "strmap.h"

typedef enum {
    CLAIM_MINE = 1,    /* act on it */
    CLAIM_TAKEN = 0,   /* claimed before: acted on already; ack it and skip it */
    CLAIM_UNSURE = -1  /* no answer: let the message come back later */
} claim_outcome;

/* Claims m (a message of the REQUIREMENTS stream) for instance, an agent of
 * type (its subject token). key (may be NULL) receives the claim key.
 * unsure: the process's map of claims sent without an answer (owned by
 * the caller). Fills err on CLAIM_UNSURE. */
claim_outcome claim_take(jsCtx *js, natsMsg *m, const char *type, const char *instance, strmap *unsure,
                         char *key, size_t keylen, char *err, size_t errlen);

#endif
