#include "admit.h"

#include <stdio.h>
#include <string.h>

#include "names.h"
#include "text.h"

#define T_REVIEW ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW
#define T_RELEASE ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE

typedef enum { STAGE_NONE, STAGE_OWN, STAGE_REVIEW, STAGE_MERGE } stage;

static const char *const reasons[] = {"ok", "unknown_requirement", "id_mismatch", "wrong_type", "not_dispatched",
                                      "past_attempt", "future_attempt", "not_claimant", "instance_mismatch",
                                      "source_mismatch"};
_Static_assert(sizeof(reasons) / sizeof(reasons[0]) == ADMIT_SOURCE_MISMATCH + 1, "a reason for every code");

const char *admit_reason(admit_code c)
{
    return (unsigned)c < sizeof(reasons) / sizeof(reasons[0]) ? reasons[c] : "unknown";
}

static int own_type(const pb_state *st)
{
    return st->requirement ? (int)st->requirement->type : 0;
}

/* Which of st's stages a sender of type reports on. */
static stage stage_of(const pb_state *st, int type)
{
    if (type == 0 || type == own_type(st))
        return STAGE_OWN;
    if (type == T_REVIEW)
        return STAGE_REVIEW;
    if (type == T_RELEASE)
        return STAGE_MERGE;
    return STAGE_NONE;
}

static const char *type_name(int type)
{
    return names_agent_type((Orchestrator__V1__AgentType)type);
}

/* Steps 4 and 5 of the header: reached, and the current attempt. */
static admit_code judge_attempt(const pb_state *st, stage g, int type, uint32_t a, char err[ERR_LEN])
{
    int st_status = (int)st->status;
    int in_flight = st_status == ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED ||
                    st_status == ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING;
    int over = st_status == ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE ||
               st_status == ORCHESTRATOR__V1__STATUS__STATUS_REVIEWING ||
               st_status == ORCHESTRATOR__V1__STATUS__STATUS_MERGING ||
               st_status == ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED;

    if (st->attempt == 0) {
        snprintf(err, ERR_LEN, "%s is %s and was never dispatched", st->id, names_status(st->status));
        return ADMIT_NOT_DISPATCHED;
    }
    if (a > st->attempt) {
        snprintf(err, ERR_LEN, "%s: attempt %u was not dispatched (the current one is %u)", st->id, a, st->attempt);
        return ADMIT_FUTURE_ATTEMPT;
    }
    if (a < st->attempt) {
        snprintf(err, ERR_LEN, "%s: attempt %u is over (the current one is %u)", st->id, a, st->attempt);
        return ADMIT_PAST_ATTEMPT;
    }
    if (g == STAGE_REVIEW && !st->review_requested && !st->review) {
        snprintf(err, ERR_LEN, "%s: no review was requested", st->id);
        return ADMIT_NOT_DISPATCHED;
    }
    if (g == STAGE_MERGE && !st->merge_released) {
        snprintf(err, ERR_LEN, "%s: its merge was not released", st->id);
        return ADMIT_NOT_DISPATCHED;
    }
    switch (g) {
    case STAGE_OWN:
        if (in_flight)
            return ADMIT_OK;
        if (over && st->dispatched_at_ms) {
            snprintf(err, ERR_LEN, "%s: attempt %u is over (%s)", st->id, a, names_status(st->status));
            return ADMIT_PAST_ATTEMPT;
        }
        snprintf(err, ERR_LEN, "%s is %s: attempt %u was not dispatched to %s", st->id, names_status(st->status), a,
                 type_name(type ? type : own_type(st)));
        return ADMIT_NOT_DISPATCHED;
    case STAGE_REVIEW:
        if (st->review) {
            snprintf(err, ERR_LEN, "%s: its review was answered already", st->id);
            return ADMIT_PAST_ATTEMPT;
        }
        return ADMIT_OK;
    default:
        return ADMIT_OK;
    }
}

admit_code admit_report(const pb_state *st, int subject_type, const char *subject_id, const char *body_id,
                        uint32_t attempt, const char *instance, const char *claimant, char err[ERR_LEN])
{
    admit_code c;
    stage g;

    err[0] = '\0';
    if (!body_id)
        body_id = "";
    if (subject_id && strcmp(subject_id, body_id) != 0) {
        snprintf(err, ERR_LEN, "the subject names %.100s but the body's requirementId is %.100s", subject_id,
                 *body_id ? body_id : "(none)");
        return ADMIT_ID_MISMATCH;
    }
    if (!st) {
        snprintf(err, ERR_LEN, "no requirement %.100s", *body_id ? body_id : "(none)");
        return ADMIT_UNKNOWN;
    }
    g = stage_of(st, subject_type);
    if (g == STAGE_NONE) {
        snprintf(err, ERR_LEN, "%s is %s work: a %s agent has no part in it", st->id, type_name(own_type(st)),
                 type_name(subject_type));
        return ADMIT_WRONG_TYPE;
    }
    c = judge_attempt(st, g, subject_type, attempt ? attempt : st->attempt, err);
    if (c != ADMIT_OK && c != ADMIT_PAST_ATTEMPT)
        return c;
    if (claimant && *claimant && (!instance || strcmp(instance, claimant) != 0)) {
        snprintf(err, ERR_LEN, "%s was claimed by %.80s, not by %.80s", st->id, claimant,
                 instance && *instance ? instance : "(an instance that gave no name)");
        return ADMIT_NOT_CLAIMANT;
    }
    return c;
}

int admit_dispatch_id(const pb_state *st, int type, uint32_t attempt, char *out, size_t len)
{
    uint32_t a = attempt ? attempt : st->attempt;
    switch (stage_of(st, type)) {
    case STAGE_OWN:
        if (st->infra_retries && a == st->attempt)
            return snprintf(out, len, "%s-a%u-i%u", st->id, a, st->infra_retries);
        return snprintf(out, len, "%s-a%u", st->id, a);
    case STAGE_REVIEW:
        return snprintf(out, len, "%s-review-a%u", st->id, a);
    case STAGE_MERGE:
        return snprintf(out, len, "%s-merge-a%u", st->id, a);
    default:
        if (len)
            out[0] = '\0';
        return -1;
    }
}

int admit_claim_key(const pb_state *st, int type, uint32_t attempt, char *out, size_t len)
{
    char id[200];
    int t = type ? type : own_type(st);
    if (admit_dispatch_id(st, t, attempt, id, sizeof(id)) < 0) {
        if (len)
            out[0] = '\0';
        return -1;
    }
    return snprintf(out, len, "%s.%s", type_name(t), id);
}

admit_code admit_envelope(const char *subject, int subject_type, int body_type, const char *subject_instance,
                          const char *body_instance, const char *body_source, char err[ERR_LEN])
{
    char why[80];

    err[0] = '\0';
    if (!subject)
        subject = "";
    if (body_source && *body_source && strcmp(body_source, names_source_token(NAMES_SRC_AGENT)) != 0) {
        /* the body's text is shown only when it is a plain token */
        snprintf(err, ERR_LEN, "the body says source '%.40s' on %.120s",
                 text_id_valid(body_source, 40, why, sizeof(why)) ? body_source : "(not a name)", subject);
        return ADMIT_SOURCE_MISMATCH;
    }
    if (subject_type <= 0 || subject_type >= NAMES_AGENT_TYPES) {
        snprintf(err, ERR_LEN, "%.120s names no agent type", subject);
        return ADMIT_WRONG_TYPE;
    }
    if (body_type && body_type != subject_type) {
        snprintf(err, ERR_LEN, "the body says agent type %s, the subject %.120s says %s", type_name(body_type),
                 subject, type_name(subject_type));
        return ADMIT_WRONG_TYPE;
    }
    if (subject_instance && body_instance && *body_instance && strcmp(subject_instance, body_instance) != 0) {
        snprintf(err, ERR_LEN, "the body says instance '%.64s', the subject %.120s says '%.64s'", body_instance,
                 subject, subject_instance);
        return ADMIT_INSTANCE_MISMATCH;
    }
    return ADMIT_OK;
}
