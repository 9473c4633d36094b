/* An agent's claim on a dispatch, before it acts on it (README, "Writing an
 * agent"): a KV create of <type>.<the message's Nats-Msg-Id> in
 * orch_claims holding the instance id. A message delivered again after an
 * ack was lost (a server failure) finds the claim and is not acted on a
 * second time.
 *
 * A claim whose answer never came (a time-out) may have been stored: the
 * caller's "unsure" map remembers it, so that this same process, seeing the
 * message again, takes the "claimed before" answer as its own claim.
 *
 * Who claimed is told from who only wrote (docs/agents.md, "Claims"):
 *   - a key is written once: orch_claims refuses a second message on a key
 *     (topo_kv_create_once), so no plain put, delete or purge replaces a
 *     claim;
 *   - a claim carries what only the dispatched message had: its stream
 *     sequence in REQUIREMENTS (header Orch-Dispatch-Seq). claim_holder
 *     counts a claim only when the message at that sequence is the
 *     dispatch the key names (its Nats-Msg-Id) and was stored before the
 *     claim. Dispatch ids are predictable; the moment of a dispatch is not,
 *     and an agent can read no other identity's deliveries
 *     (deploy/nats.conf): a claim made before the dispatch, or naming
 *     another message, is void, and no report on that work counts (it
 *     goes back when it is found stale). */
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

/* Creates the claim key ("<type>.<dispatch id>") for instance on the
 * dispatch stored at seq in REQUIREMENTS: what claim_take does once it has
 * the message. Returns NATS_OK, or the failure with *code (may be NULL) the
 * JetStream error: JSStreamWrongLastSequenceErr when it was claimed
 * before. */
natsStatus claim_create(jsCtx *js, const char *key, const char *instance, uint64_t seq, jsErrCode *code);

/* For a program on an agent host's leaf node (jetstream.domain): claims
 * are published as $JS.<domain>.API.$KV.orch_claims.<key>, the form the
 * hub takes from a leaf ($KV.> itself does not cross a leaf connection).
 * NULL or "": the plain form. Call once, before any claim. */
void claim_use_domain(const char *domain);

/* The instance holding the claim key (a claim_take key: "<type>.<dispatch
 * id>") into out: "" when there is no claim, the instance when the claim is
 * good, CLAIM_VOID when there is a claim that is not (made before its
 * dispatch, naming another message or none). CLAIM_VOID matches no
 * instance, so admit_report refuses every report on that work as
 * NOT_CLAIMANT. Returns 0, or -1 when JetStream did not answer (out "":
 * the caller tries later). */
#define CLAIM_VOID "(a claim made without its dispatch)"
int claim_holder(jsCtx *js, const char *key, char *out, size_t len);

#endif
