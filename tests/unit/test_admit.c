/* Whether an agent's report counts (common/admit.c): every code, in the
 * order the header gives, and the names of dispatches and claims. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "admit.h"
#include "names.h"
#include "topology.h"

#define BACKEND ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND
#define FRONTEND ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND
#define REVIEW ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW
#define RELEASE ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE

typedef struct {
    pb_state st;
    pb_requirement r;
} fixture;

/* REQ-1, backend, in the given status at the given attempt. */
static void make(fixture *f, Orchestrator__V1__Status status, uint32_t attempt)
{
    orchestrator__v1__requirement_state__init(&f->st);
    orchestrator__v1__requirement__init(&f->r);
    f->r.id = "REQ-1";
    f->r.type = BACKEND;
    f->st.id = "REQ-1";
    f->st.requirement = &f->r;
    f->st.status = status;
    f->st.attempt = attempt;
    f->st.dispatched_at_ms = attempt ? 1000 : 0;
}

static admit_code judge(const fixture *f, int type, const char *subject_id, const char *body_id, uint32_t attempt,
                        const char *instance, const char *claimant, char err[ERR_LEN])
{
    return admit_report(&f->st, type, subject_id, body_id, attempt, instance, claimant, err);
}

static void the_current_attempt_of_its_own_type_counts(void **state)
{
    fixture f;
    char err[ERR_LEN];
    (void)state;
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED, 2);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 2, "roy-1", NULL, err), ADMIT_OK);
    assert_string_equal(err, "");
    /* no attempt: the current one */
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 0, "roy-1", "", err), ADMIT_OK);
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING, 1);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "", NULL, err), ADMIT_OK);
    /* a subject that names no type (errors.agent.<id>) is taken as its own */
    assert_int_equal(judge(&f, 0, "REQ-1", "REQ-1", 1, NULL, NULL, err), ADMIT_OK);
    /* a subject that names no requirement (heartbeats) */
    assert_int_equal(judge(&f, BACKEND, NULL, "REQ-1", 0, "roy-1", NULL, err), ADMIT_OK);
}

static void subject_and_body_must_name_the_same_requirement(void **state)
{
    fixture f;
    char err[ERR_LEN];
    (void)state;
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED, 1);
    assert_int_equal(judge(&f, BACKEND, "REQ-2", "REQ-1", 1, "roy-1", NULL, err), ADMIT_ID_MISMATCH);
    assert_non_null(strstr(err, "the subject names REQ-2 but the body's requirementId is REQ-1"));
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "", 1, "roy-1", NULL, err), ADMIT_ID_MISMATCH);
    assert_non_null(strstr(err, "(none)"));
    assert_int_equal(judge(&f, BACKEND, "REQ-1", NULL, 1, "roy-1", NULL, err), ADMIT_ID_MISMATCH);
    /* before the state is even looked at */
    assert_int_equal(admit_report(NULL, BACKEND, "A", "B", 1, "x", NULL, err), ADMIT_ID_MISMATCH);
}

static void unknown_requirements_do_not_count(void **state)
{
    char err[ERR_LEN];
    (void)state;
    assert_int_equal(admit_report(NULL, BACKEND, "REQ-9", "REQ-9", 1, "roy-1", NULL, err), ADMIT_UNKNOWN);
    assert_string_equal(err, "no requirement REQ-9");
    assert_int_equal(admit_report(NULL, BACKEND, NULL, NULL, 0, NULL, NULL, err), ADMIT_UNKNOWN);
}

static void other_types_have_no_part_in_it(void **state)
{
    fixture f;
    char err[ERR_LEN];
    (void)state;
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED, 1);
    assert_int_equal(judge(&f, FRONTEND, "REQ-1", "REQ-1", 1, "jen-1", NULL, err), ADMIT_WRONG_TYPE);
    assert_non_null(strstr(err, "REQ-1 is backend work: a frontend agent has no part in it"));
}

static void never_dispatched_work_does_not_count(void **state)
{
    fixture f;
    char err[ERR_LEN];
    (void)state;
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED, 0);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "roy-1", NULL, err), ADMIT_NOT_DISPATCHED);
    assert_non_null(strstr(err, "REQ-1 is BLOCKED and was never dispatched"));
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 0, "roy-1", NULL, err), ADMIT_NOT_DISPATCHED);
    /* sent back, waiting for its next attempt: that attempt is not out yet */
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_READY, 2);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 2, "roy-1", NULL, err), ADMIT_NOT_DISPATCHED);
    assert_non_null(strstr(err, "REQ-1 is READY: attempt 2 was not dispatched to backend"));
    /* escalated without ever going out */
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED, 1);
    f.st.dispatched_at_ms = 0;
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "roy-1", NULL, err), ADMIT_NOT_DISPATCHED);
}

static void attempts_not_yet_out_do_not_count(void **state)
{
    fixture f;
    char err[ERR_LEN];
    (void)state;
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED, 1);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 2, "roy-1", NULL, err), ADMIT_FUTURE_ATTEMPT);
    assert_non_null(strstr(err, "attempt 2 was not dispatched (the current one is 1)"));
}

/* docs/reliability.md items 4-5: a genuine late result stays chargeable. */
static void past_attempts_are_over_but_recognised(void **state)
{
    fixture f;
    char err[ERR_LEN];
    (void)state;
    /* the next attempt went out */
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED, 2);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "roy-1", NULL, err), ADMIT_PAST_ATTEMPT);
    assert_non_null(strstr(err, "attempt 1 is over (the current one is 2)"));
    /* sent back and waiting */
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_READY, 2);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "roy-1", NULL, err), ADMIT_PAST_ATTEMPT);
    /* its verdict came first */
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE, 1);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "roy-1", NULL, err), ADMIT_PAST_ATTEMPT);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 0, "roy-1", NULL, err), ADMIT_PAST_ATTEMPT);
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED, 3);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 3, "roy-1", NULL, err), ADMIT_PAST_ATTEMPT);
}

static void reviews_count_only_while_requested(void **state)
{
    fixture f;
    char err[ERR_LEN];
    (void)state;
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING, 1);
    assert_int_equal(judge(&f, REVIEW, "REQ-1", "REQ-1", 1, "rev-1", NULL, err), ADMIT_NOT_DISPATCHED);
    assert_non_null(strstr(err, "no review was requested"));
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE, 1);
    f.st.review_requested = 1;
    assert_int_equal(judge(&f, REVIEW, "REQ-1", "REQ-1", 1, "rev-1", NULL, err), ADMIT_OK);
    assert_int_equal(judge(&f, REVIEW, "REQ-1", "REQ-1", 0, "rev-1", NULL, err), ADMIT_OK);
    assert_int_equal(judge(&f, REVIEW, "REQ-1", "REQ-1", 2, "rev-1", NULL, err), ADMIT_FUTURE_ATTEMPT);
    f.st.review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED;
    assert_int_equal(judge(&f, REVIEW, "REQ-1", "REQ-1", 1, "rev-1", NULL, err), ADMIT_PAST_ATTEMPT);
    assert_non_null(strstr(err, "answered already"));
    /* a review of an earlier attempt */
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED, 2);
    assert_int_equal(judge(&f, REVIEW, "REQ-1", "REQ-1", 1, "rev-1", NULL, err), ADMIT_PAST_ATTEMPT);
}

static void merges_count_once_released(void **state)
{
    fixture f;
    char err[ERR_LEN];
    (void)state;
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE, 1);
    f.st.review_requested = 1;
    assert_int_equal(judge(&f, RELEASE, "REQ-1", "REQ-1", 1, "rel-1", NULL, err), ADMIT_NOT_DISPATCHED);
    assert_non_null(strstr(err, "its merge was not released"));
    f.st.merge_released = 1;
    assert_int_equal(judge(&f, RELEASE, "REQ-1", "REQ-1", 1, "rel-1", NULL, err), ADMIT_OK);
}

static void only_the_claimant_counts(void **state)
{
    fixture f;
    char err[ERR_LEN];
    (void)state;
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED, 1);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "roy-1", "roy-1", err), ADMIT_OK);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "roy-2", "roy-1", err), ADMIT_NOT_CLAIMANT);
    assert_non_null(strstr(err, "REQ-1 was claimed by roy-1, not by roy-2"));
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "", "roy-1", err), ADMIT_NOT_CLAIMANT);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, NULL, "roy-1", err), ADMIT_NOT_CLAIMANT);
    assert_non_null(strstr(err, "gave no name"));
    /* a past attempt's report from someone else is not chargeable either */
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE, 1);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "roy-2", "roy-1", err), ADMIT_NOT_CLAIMANT);
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 1, "roy-1", "roy-1", err), ADMIT_PAST_ATTEMPT);
    /* a refusal before the claim is the answer */
    assert_int_equal(judge(&f, BACKEND, "REQ-1", "REQ-1", 2, "roy-2", "roy-1", err), ADMIT_FUTURE_ATTEMPT);
}

static void reasons_are_tokens(void **state)
{
    (void)state;
    assert_string_equal(admit_reason(ADMIT_OK), "ok");
    assert_string_equal(admit_reason(ADMIT_UNKNOWN), "unknown_requirement");
    assert_string_equal(admit_reason(ADMIT_ID_MISMATCH), "id_mismatch");
    assert_string_equal(admit_reason(ADMIT_WRONG_TYPE), "wrong_type");
    assert_string_equal(admit_reason(ADMIT_NOT_DISPATCHED), "not_dispatched");
    assert_string_equal(admit_reason(ADMIT_PAST_ATTEMPT), "past_attempt");
    assert_string_equal(admit_reason(ADMIT_FUTURE_ATTEMPT), "future_attempt");
    assert_string_equal(admit_reason(ADMIT_NOT_CLAIMANT), "not_claimant");
    assert_string_equal(admit_reason((admit_code)99), "unknown");
}

static void dispatch_ids_and_claim_keys(void **state)
{
    fixture f;
    char out[200];
    (void)state;
    make(&f, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED, 2);
    assert_int_equal(admit_dispatch_id(&f.st, BACKEND, 0, out, sizeof(out)), 8);
    assert_string_equal(out, "REQ-1-a2");
    assert_int_equal(admit_dispatch_id(&f.st, BACKEND, 1, out, sizeof(out)), 8);
    assert_string_equal(out, "REQ-1-a1");
    f.st.infra_retries = 3;
    admit_dispatch_id(&f.st, BACKEND, 0, out, sizeof(out));
    assert_string_equal(out, "REQ-1-a2-i3");
    admit_dispatch_id(&f.st, BACKEND, 1, out, sizeof(out)); /* not the current attempt's retries */
    assert_string_equal(out, "REQ-1-a1");
    admit_dispatch_id(&f.st, REVIEW, 0, out, sizeof(out));
    assert_string_equal(out, "REQ-1-review-a2");
    admit_dispatch_id(&f.st, RELEASE, 0, out, sizeof(out));
    assert_string_equal(out, "REQ-1-merge-a2");
    assert_int_equal(admit_dispatch_id(&f.st, FRONTEND, 0, out, sizeof(out)), -1);
    assert_string_equal(out, "");
    admit_claim_key(&f.st, BACKEND, 0, out, sizeof(out));
    assert_string_equal(out, "backend.REQ-1-a2-i3");
    admit_claim_key(&f.st, 0, 0, out, sizeof(out)); /* 0: its own type */
    assert_string_equal(out, "backend.REQ-1-a2-i3");
    admit_claim_key(&f.st, REVIEW, 0, out, sizeof(out));
    assert_string_equal(out, "review.REQ-1-review-a2");
    admit_claim_key(&f.st, RELEASE, 0, out, sizeof(out));
    assert_string_equal(out, "release.REQ-1-merge-a2");
    assert_int_equal(admit_claim_key(&f.st, FRONTEND, 0, out, sizeof(out)), -1);
    assert_string_equal(out, "");
}

/* Whose report an errors.* subject is: the subject decides, the body's
 * "source" does not. */
static void only_errors_agent_are_agents_failures(void **state)
{
    (void)state;
    assert_true(names_error_is_agents("errors.agent.REQ-1"));
    assert_true(names_error_is_agents("errors.agent"));
    assert_false(names_error_is_agents("errors.agents.REQ-1"));
    assert_false(names_error_is_agents("errors.agentx"));
    assert_false(names_error_is_agents("errors.intake.bad_json"));
    assert_false(names_error_is_agents("errors.scheduler.REQ-1"));
    assert_false(names_error_is_agents("errors.verifier.ref_not_found"));
    assert_false(names_error_is_agents("errors.monitor.REQ-1"));
    assert_false(names_error_is_agents("errors.backend.REQ-1"));
    assert_false(names_error_is_agents("results.agent.REQ-1"));
    assert_false(names_error_is_agents("errors."));
    assert_false(names_error_is_agents(""));
    assert_false(names_error_is_agents(NULL));
}

/* What a report says of its sender against its subject: the one check the
 * verifier, the monitor and the scheduler share, with the same reasons. */
static void envelope_refuses_a_sender_the_subject_does_not_name(void **state)
{
    char err[ERR_LEN];
    (void)state;
    assert_int_equal(admit_envelope("results.backend.REQ-1", BACKEND, BACKEND, NULL, "roy-1", NULL, err), ADMIT_OK);
    assert_string_equal(err, "");
    assert_int_equal(admit_envelope("results.backend.REQ-1", BACKEND, 0, NULL, NULL, NULL, err), ADMIT_OK);
    /* no type in the subject */
    assert_int_equal(admit_envelope("results.nobody.REQ-1", 0, BACKEND, NULL, NULL, NULL, err), ADMIT_WRONG_TYPE);
    assert_non_null(strstr(err, "names no agent type"));
    assert_int_equal(admit_envelope(NULL, NAMES_AGENT_TYPES, 0, NULL, NULL, NULL, err), ADMIT_WRONG_TYPE);
    /* the body says another type */
    assert_int_equal(admit_envelope("results.backend.REQ-1", BACKEND, FRONTEND, NULL, NULL, NULL, err),
                     ADMIT_WRONG_TYPE);
    assert_non_null(strstr(err, "frontend"));
    /* the body says another instance than the subject */
    assert_int_equal(admit_envelope("agents.heartbeat.backend.roy-1", BACKEND, 0, "roy-1", "roy-9", NULL, err),
                     ADMIT_INSTANCE_MISMATCH);
    assert_non_null(strstr(err, "roy-9"));
    assert_int_equal(admit_envelope("agents.heartbeat.backend.roy-1", BACKEND, 0, "roy-1", "", NULL, err), ADMIT_OK);
    /* an agent's error whose body names another source, first */
    assert_int_equal(admit_envelope("errors.agent.REQ-1", 0, 0, NULL, NULL, "scheduler", err),
                     ADMIT_SOURCE_MISMATCH);
    assert_int_equal(admit_envelope("errors.agent.REQ-1", 0, 0, NULL, NULL, "a b;", err), ADMIT_SOURCE_MISMATCH);
    assert_non_null(strstr(err, "(not a name)"));
    assert_int_equal(admit_envelope("errors.agent.REQ-1", BACKEND, 0, NULL, NULL, "agent", err), ADMIT_OK);
}

/* One reason per code, each its own word. */
static void every_code_has_its_own_reason(void **state)
{
    (void)state;
    assert_string_equal(admit_reason(ADMIT_WRONG_TYPE), "wrong_type");
    assert_string_equal(admit_reason(ADMIT_INSTANCE_MISMATCH), "instance_mismatch");
    assert_string_equal(admit_reason(ADMIT_SOURCE_MISMATCH), "source_mismatch");
    assert_string_equal(admit_reason((admit_code)99), "unknown");
    for (int i = 0; i <= ADMIT_SOURCE_MISMATCH; i++)
        for (int j = i + 1; j <= ADMIT_SOURCE_MISMATCH; j++)
            assert_string_not_equal(admit_reason((admit_code)i), admit_reason((admit_code)j));
}

/* Subject families and error sources: one table, one prefix compare. */
static void subjects_are_read_by_family(void **state)
{
    (void)state;
    assert_string_equal(names_subject_rest("errors.verifier.bad_result", NAMES_FAM_ERRORS), "verifier.bad_result");
    assert_string_equal(names_subject_rest("control.spawn.backend", NAMES_FAM_SPAWN), "backend");
    assert_string_equal(names_subject_rest("agents.heartbeat.backend.roy-1", NAMES_FAM_HEARTBEAT), "backend.roy-1");
    assert_null(names_subject_rest("control.spawned.backend", NAMES_FAM_SPAWN));
    assert_null(names_subject_rest("control.spawn.", NAMES_FAM_SPAWN));
    assert_null(names_subject_rest("control.spawn", NAMES_FAM_SPAWN));
    assert_null(names_subject_rest(NULL, NAMES_FAM_SPAWN));
    assert_null(names_subject_rest("errors.x", NAMES_FAM_COUNT));
    assert_int_equal(names_source_of("errors.verifier.bad_result"), NAMES_SRC_VERIFIER);
    assert_int_equal(names_source_of("errors.intake.bad_json"), NAMES_SRC_INTAKE);
    assert_int_equal(names_source_of("errors.monitor"), NAMES_SRC_MONITOR);
    assert_int_equal(names_source_of("errors.verifiers.x"), NAMES_SRC_NONE);
    assert_int_equal(names_source_of("results.verifier.x"), NAMES_SRC_NONE);
    assert_string_equal(names_source_token(NAMES_SRC_SCHEDULER), "scheduler");
    assert_string_equal(names_source_token(NAMES_SRC_COUNT), "");
    assert_string_equal(names_request_subject(NAMES_REQ_SCHEDULER_LIST), "orch.scheduler.list");
    assert_string_equal(names_request_subject(NAMES_REQ_COUNT), "");
    for (int f = 0; f < NAMES_FAM_COUNT; f++)
        assert_true(*names_family_prefix((names_family)f));
    for (int r = 0; r < NAMES_REQ_COUNT; r++)
        assert_true(*names_request_subject((names_request)r));
}

/* A severity is one of three words; anything else is refused, not taken
 * for a warning. */
static void severities_parse_or_refuse(void **state)
{
    Orchestrator__V1__Severity s = ORCHESTRATOR__V1__SEVERITY__SEVERITY_UNSPECIFIED;
    (void)state;
    assert_int_equal(names_severity_parse("critical", &s), 0);
    assert_int_equal(s, ORCHESTRATOR__V1__SEVERITY__SEVERITY_CRITICAL);
    assert_int_equal(names_severity_parse("WARNING", &s), 0);
    assert_int_equal(s, ORCHESTRATOR__V1__SEVERITY__SEVERITY_WARNING);
    assert_int_equal(names_severity_parse("info", &s), 0);
    assert_int_equal(s, ORCHESTRATOR__V1__SEVERITY__SEVERITY_INFO);
    assert_int_equal(names_severity_parse("critcal", &s), -1);
    assert_int_equal(names_severity_parse("", &s), -1);
    assert_int_equal(names_severity_parse(NULL, &s), -1);
    assert_int_equal(s, ORCHESTRATOR__V1__SEVERITY__SEVERITY_INFO); /* untouched when refused */
    assert_string_equal(names_severity(ORCHESTRATOR__V1__SEVERITY__SEVERITY_CRITICAL), "critical");
    assert_string_equal(names_severity(ORCHESTRATOR__V1__SEVERITY__SEVERITY_UNSPECIFIED), "unspecified");
}

/* Alert kinds and the agents' consumers: each spelled once. */
static void alert_kinds_and_consumers_have_one_spelling(void **state)
{
    (void)state;
    assert_int_equal(names_alert_kind_parse("agent_crashloop"), NAMES_ALERT_AGENT_CRASHLOOP);
    assert_string_equal(names_alert_kind_token(NAMES_ALERT_TOPOLOGY_MISSING), "topology_missing");
    assert_int_equal(names_alert_kind_parse("stalled"), NAMES_ALERT_COUNT);
    assert_int_equal(names_alert_kind_parse(NULL), NAMES_ALERT_COUNT);
    for (int k = 0; k < NAMES_ALERT_COUNT; k++)
        assert_int_equal(names_alert_kind_parse(names_alert_kind_token((names_alert_kind)k)), k);
    assert_string_equal(names_agent_consumer(BACKEND), "roy-backend");
    assert_string_equal(names_agent_consumer(FRONTEND), "jen-frontend");
    assert_string_equal(names_agent_consumer(RELEASE), "release-manager");
    assert_string_equal(names_agent_consumer((Orchestrator__V1__AgentType)0), "");
    assert_int_equal(names_agent_parse("jen-frontend"), FRONTEND);
    for (int t = 1; t < NAMES_AGENT_TYPES; t++)
        assert_non_null(topo_consumer_find("REQUIREMENTS", names_agent_consumer((Orchestrator__V1__AgentType)t)));
}

/* Every WaitKind the proto has has its own name (a new one added to the
 * proto without a name would read "unspecified"). */
static void wait_kinds_have_names(void **state)
{
    const ProtobufCEnumDescriptor *d = &orchestrator__v1__wait_kind__descriptor;
    (void)state;
    assert_string_equal(names_wait_kind(ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_OVERLAP), "overlap");
    assert_string_equal(names_wait_kind(ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_RETRY_BACKOFF), "retry_backoff");
    assert_string_equal(names_wait_kind((Orchestrator__V1__WaitKind)999), "unspecified");
    for (unsigned i = 0; i < d->n_values; i++) {
        char want[64];
        size_t k;
        /* WAIT_KIND_QUIET_HOURS: quiet_hours */
        snprintf(want, sizeof(want), "%s", d->values[i].name + strlen("WAIT_KIND_"));
        for (k = 0; want[k]; k++)
            want[k] = (char)tolower((unsigned char)want[k]);
        assert_string_equal(names_wait_kind((Orchestrator__V1__WaitKind)d->values[i].value), want);
    }
}

/* errors.agent.<type>.<id>: the type is the subject's, so permissions can
 * give each type only its own; the older errors.agent.<id> is read with no
 * type; a persona or an unknown word where the type goes is no type. */
static void agent_error_subjects_name_the_type(void **state)
{
    char subj[128];
    int type;
    const char *id;
    (void)state;
    assert_string_equal(names_agent_error_subject(subj, sizeof(subj), FRONTEND, "REQ-7"), "errors.agent.frontend.REQ-7");
    assert_int_equal(names_agent_error_of(subj, &type, &id), 1);
    assert_int_equal(type, FRONTEND);
    assert_string_equal(id, "REQ-7");
    assert_int_equal(names_agent_error_of("errors.agent.REQ-7", &type, &id), 1);
    assert_int_equal(type, 0);
    assert_string_equal(id, "REQ-7");
    assert_int_equal(names_agent_error_of("errors.agent.roy.REQ-7", &type, &id), 1);
    assert_int_equal(type, -1);
    assert_int_equal(names_agent_error_of("errors.agent.nosuch.REQ-7", &type, &id), 1);
    assert_int_equal(type, -1);
    assert_int_equal(names_agent_error_of("errors.agent.backend.", &type, &id), 1);
    assert_string_equal(id, "");
    assert_int_equal(names_agent_error_of("errors.agent", &type, &id), 1);
    assert_string_equal(id, "");
    assert_int_equal(names_agent_error_of("errors.scheduler.backend.REQ-7", &type, &id), 0);
    assert_null(id);
    assert_int_equal(names_agent_error_of("results.backend.REQ-7", &type, &id), 0);
    assert_int_equal(names_agent_error_of(NULL, &type, &id), 0);
    assert_int_equal(type, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_current_attempt_of_its_own_type_counts),
        cmocka_unit_test(subject_and_body_must_name_the_same_requirement),
        cmocka_unit_test(unknown_requirements_do_not_count),
        cmocka_unit_test(other_types_have_no_part_in_it),
        cmocka_unit_test(never_dispatched_work_does_not_count),
        cmocka_unit_test(attempts_not_yet_out_do_not_count),
        cmocka_unit_test(past_attempts_are_over_but_recognised),
        cmocka_unit_test(reviews_count_only_while_requested),
        cmocka_unit_test(merges_count_once_released),
        cmocka_unit_test(only_the_claimant_counts),
        cmocka_unit_test(reasons_are_tokens),
        cmocka_unit_test(dispatch_ids_and_claim_keys),
        cmocka_unit_test(only_errors_agent_are_agents_failures),
        cmocka_unit_test(agent_error_subjects_name_the_type),
        cmocka_unit_test(envelope_refuses_a_sender_the_subject_does_not_name),
        cmocka_unit_test(every_code_has_its_own_reason),
        cmocka_unit_test(subjects_are_read_by_family),
        cmocka_unit_test(severities_parse_or_refuse),
        cmocka_unit_test(alert_kinds_and_consumers_have_one_spelling),
        cmocka_unit_test(wait_kinds_have_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
