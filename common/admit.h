/* Whether an agent's report counts: a result, an error or a heartbeat, held
 * against the state of the requirement it names. Pure: the caller reads the
 * state, and the claim when there is one, and passes them in.
 *
 * A report counts only when all of these hold, checked in this order (the
 * first that fails is the answer):
 *
 *   1. its subject and its body name the same requirement (ID_MISMATCH);
 *   2. the requirement exists (UNKNOWN);
 *   3. the sender's type, which its subject says, is one the requirement
 *      goes to: its own type, review, or release (WRONG_TYPE);
 *   4. that stage was reached: its own type was dispatched the attempt,
 *      review was requested, the merge was released (NOT_DISPATCHED);
 *   5. the attempt is the current one; a report without one (0) means the
 *      current one (FUTURE_ATTEMPT for one not dispatched yet; PAST_ATTEMPT
 *      for one that is over: an earlier attempt, one whose verdict came
 *      first, a review already answered);
 *   6. where the work was claimed (KV orch_claims, key from
 *      admit_claim_key, value the claimant instance), the sender is the
 *      claimant (NOT_CLAIMANT).
 *
 * Before any of these, admit_envelope checks what a report says of its
 * sender against its subject, in this order: an errors.agent.* body names
 * no other source (SOURCE_MISMATCH); the subject names an agent type and
 * the body no other (WRONG_TYPE); the body names no other instance than
 * the subject (INSTANCE_MISMATCH). Every service that judges reports calls both, so the
 * same report is refused by each for the same named reason.
 *
 * PAST_ATTEMPT is the one refusal that is not an error of the sender:
 * results and verdicts travel through different consumers, so a genuine
 * result can arrive after its verdict or after the next attempt went out.
 * Such a result may still be charged to its own attempt (its own type only;
 * the scheduler keeps each attempt's charge), and nothing else about it
 * changes the state. Every other code means "changes nothing". */
#ifndef ORCH_ADMIT_H
#define ORCH_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "pb.h"
#include "status.h"

typedef enum {
    ADMIT_OK = 0,
    ADMIT_UNKNOWN,          /* no such requirement */
    ADMIT_ID_MISMATCH,      /* the subject names another requirement than the body */
    ADMIT_WRONG_TYPE,       /* the sender's type is none the requirement goes to */
    ADMIT_NOT_DISPATCHED,   /* the requirement never went to the sender's type (yet) */
    ADMIT_PAST_ATTEMPT,     /* over: may be charged to its attempt, changes nothing else */
    ADMIT_FUTURE_ATTEMPT,   /* an attempt not dispatched yet */
    ADMIT_NOT_CLAIMANT,     /* another instance claimed the work */
    ADMIT_INSTANCE_MISMATCH, /* the body names another instance than the subject */
    ADMIT_SOURCE_MISMATCH   /* an agent's error whose body names another source */
} admit_code;

/* Judges a report. st: the requirement's state, NULL when unknown (borrowed).
 * subject_type: the sender's agent type as its subject says; 0 when the
 * subject does not say (errors.agent.<id>), taken as the requirement's own
 * type. subject_id: the requirement its subject names, NULL when the
 * subject names none (heartbeats). body_id: the body's requirementId.
 * attempt: 0 for "the current one". instance: the sender's, "" or NULL when
 * it gave none. claimant: the instance that claimed the work, NULL or ""
 * when it was not claimed. Fills err with one line for people on any code
 * but ADMIT_OK. */
admit_code admit_report(const pb_state *st, int subject_type, const char *subject_id, const char *body_id,
                        uint32_t attempt, const char *instance, const char *claimant, char err[ERR_LEN]);

/* Judges what a report says of its sender against its subject (the
 * header's first paragraph). subject: for the message only. subject_type:
 * the type its subject names, 0 when none. body_type: the body's, 0 when
 * it names none. subject_instance: the instance its subject names, NULL
 * when it names none (results, errors). body_instance: the body's, NULL or
 * "" when none. body_source: an agent error's "source", NULL for other
 * reports. Returns ADMIT_OK, ADMIT_WRONG_TYPE, ADMIT_INSTANCE_MISMATCH or
 * ADMIT_SOURCE_MISMATCH, with one line for people in err. */
admit_code admit_envelope(const char *subject, int subject_type, int body_type, const char *subject_instance,
                          const char *body_instance, const char *body_source, char err[ERR_LEN]);

/* A short token for the code ("ok", "unknown_requirement", "id_mismatch",
 * "wrong_type", "not_dispatched", "past_attempt", "future_attempt",
 * "not_claimant", "instance_mismatch", "source_mismatch"), for
 * errors.<service>.* reasons; never NULL. */
const char *admit_reason(admit_code c);

/* The Nats-Msg-Id of the dispatch of st's attempt to type: "<id>-a<n>"
 * (with "-i<k>" after k verifier infrastructure errors on the current
 * attempt), "<id>-review-a<n>", "<id>-merge-a<n>". attempt 0: the current
 * one. Returns the length written (snprintf's), or -1 when type is none of
 * the requirement's own, review or release. The scheduler names its
 * dispatches with it and agents claim by it, so it lives in one place. */
int admit_dispatch_id(const pb_state *st, int type, uint32_t attempt, char *out, size_t len);

/* The orch_claims key an agent of type creates for that dispatch:
 * "<type>.<dispatch id>". Same returns as admit_dispatch_id. */
int admit_claim_key(const pb_state *st, int type, uint32_t attempt, char *out, size_t len);

#endif
