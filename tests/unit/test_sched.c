/* schedule.c: the life of a requirement through the events, with a
 * recording sched_out (test_sched_harness.c): release in dependency order,
 * what each stage says it waits on, retries and escalation, cycles, split
 * originals, which reports count, estimates beyond a day, unpublishable
 * work, and letting go of finished work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_sched_harness.h"

static void chain_migration_api_ui_released_in_order(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    assert_int_equal(sched_add(s, req("UI", FE, MED, 1000, "API", NULL), &clk), 0);
    assert_int_equal(sched_add(s, req("API", BE, MED, 1000, "MIG", NULL), &clk), 0);
    assert_int_equal(sched_add(s, req("MIG", DB, MED, 1000, NULL, NULL), &clk), 0);
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].id, "MIG");
    assert_string_equal(rec.d[0].msg_id, "MIG-a1");
    assert_int_equal(rec.d[0].token_budget, 1500);
    assert_int_equal(status(s, "UI"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED);
    assert_string_equal(why(s, "UI"), "dependency: waiting on API");
    result(s, "MIG", 1, 800);
    assert_int_equal(status(s, "MIG"), ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING);
    assert_int_equal(rec.nd, 1);
    verdict(s, "MIG", 1, PASS, NULL);
    assert_int_equal(status(s, "MIG"), ORCHESTRATOR__V1__STATUS__STATUS_REVIEWING);
    assert_int_equal(rec.nr, 1);
    assert_string_equal(rec.reviews[0], "MIG");
    /* verified is not merged: API would be built on a base without MIG */
    assert_int_equal(rec.nd, 1);
    assert_string_equal(why(s, "API"), "dependency: waiting on MIG (in review)");
    review(s, "MIG", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(status(s, "MIG"), ORCHESTRATOR__V1__STATUS__STATUS_MERGING);
    assert_string_equal(why(s, "API"), "dependency: waiting on MIG (merging)");
    assert_int_equal(rec.nd, 1);
    merged(s, "MIG");
    assert_int_equal(status(s, "MIG"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "API");
    landed(s, "API", 1);
    assert_int_equal(rec.nd, 3);
    assert_string_equal(rec.d[2].id, "UI");
    sched_destroy(s);
}

static void verifier_files_replace_declared_ones(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_verdict v;
    char *touched[] = {"src/api/real.ts"};
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, "src/api/declared.ts"), &clk);
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = "A";
    v.attempt = 1;
    v.kind = FAIL;
    v.failing_output = "error";
    v.files_touched = touched;
    v.n_files_touched = 1;
    result(s, "A", 1, 0);
    sched_verdict(s, &v, &clk); /* back to the agent with attempt 2, holding real.ts */
    assert_int_equal(rec.nd, 2);
    sched_add(s, req("B", BE, MED, 100, NULL, "src/api/real.ts"), &clk);
    assert_string_equal(why(s, "B"), "overlap: with A on src/api/real.ts");
    sched_add(s, req("C", BE, MED, 100, NULL, "src/api/declared.ts"), &clk);
    assert_int_equal(status(s, "C"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    sched_destroy(s);
}

static void reject_retry_with_output_then_escalate(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    char err[128];
    (void)state;
    sched_add(s, req("R", BE, HIGH, 100, NULL, NULL), &clk);
    verdict(s, "R", 1, FAIL, "src/api/x.ts(3,1): error TS2304: Cannot find name 'foo'.");
    assert_int_equal(rec.nd, 2);
    assert_int_equal(rec.d[1].attempt, 2);
    assert_string_equal(rec.d[1].msg_id, "R-a2");
    assert_string_equal(rec.d[1].output, "src/api/x.ts(3,1): error TS2304: Cannot find name 'foo'.");
    verdict(s, "R", 1, FAIL, "stale verdict of attempt 1"); /* ignored */
    assert_int_equal(rec.nd, 2);
    verdict(s, "R", 2, FAIL, "second");
    assert_int_equal(rec.d[2].attempt, 3);
    verdict(s, "R", 3, FAIL, "third");
    assert_int_equal(rec.nd, 3);
    assert_int_equal(status(s, "R"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_int_equal(rec.nalert, 1);
    assert_non_null(strstr(rec.alerts[0], "critical/escalation: R (R) escalated after 3 attempts: third"));
    assert_int_equal(sched_retry(s, "R", &clk, err, sizeof(err)), 0);
    assert_int_equal(rec.nd, 4);
    assert_int_equal(rec.d[3].attempt, 4);
    assert_int_equal(sched_retry(s, "R", &clk, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not ESCALATED"));
    sched_destroy(s);
}

static void infra_errors_retry_without_counting(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("I", BE, MED, 100, NULL, NULL), &clk);
    verdict(s, "I", 1, INFRA, "ref not found");
    assert_int_equal(rec.nd, 1); /* backoff first */
    {
        /* 30 s doubling, drawn from the upper half of the step: 15 s to 30 s */
        int ss = -1;
        assert_int_equal(sscanf(why(s, "I"), "backoff: attempt 1 not before 10:00:%d", &ss), 1);
        assert_in_range(ss, 15, 29);
    }
    assert_int_equal(sched_get(s, "I")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_RETRY_BACKOFF);
    clk.now_ms += 31000;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 2);
    assert_int_equal(rec.d[1].attempt, 1);          /* same attempt */
    assert_string_equal(rec.d[1].msg_id, "I-a1-i1"); /* a new message all the same */
    sched_destroy(s);
}

/* An instance whose circuit breaker opened gives its work back (a
 * transient error, reason agent_unhealthy): released again at once, the
 * same attempt, for another instance; beyond max_infra_retries such
 * returns count as attempts, so they cannot hold the work for ever. */
static void an_unhealthy_instance_gives_work_back_without_an_attempt(void **state)
{
    sched *s;
    pb_error e;
    (void)state;
    cfg.max_infra_retries = 2;
    s = sched_create(&cfg, &out, &clk);
    sched_add(s, req("U", BE, MED, 100, NULL, NULL), &clk);
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.requirement_id = "U";
    e.reason = "agent_unhealthy";
    e.message = "instance roy-1 stopped taking work";
    e.transient = 1;
    for (int k = 1; k <= 2; k++) {
        agent_error(s, &e);
        assert_int_equal(rec.nd, 1 + k); /* at once, no backoff */
        assert_int_equal(rec.d[k].attempt, 1);
    }
    agent_error(s, &e); /* the third: an attempt, with its backoff */
    assert_int_equal(status(s, "U"), ORCHESTRATOR__V1__STATUS__STATUS_READY);
    clk.now_ms += 31000;
    sched_tick(s, &clk);
    assert_int_equal(rec.d[rec.nd - 1].attempt, 2);
    sched_destroy(s);
}

/* The seed's "blocking other work": a requirement that three others wait
 * on is HIGH, also when they come after it, or before it; unless its
 * priority was given. */
static void three_dependents_make_a_requirement_high(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_requirement *given = req("G", BE, MED, 100, NULL, NULL);
    const pb_requirement *a;
    (void)state;
    sched_add(s, req("X", BE, MED, 100, NULL, NULL), &clk); /* holds the agent: A waits READY */
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("A1", FE, MED, 100, "A", NULL), &clk);
    sched_add(s, req("A2", FE, MED, 100, "A", NULL), &clk);
    assert_int_equal(sched_get(s, "A")->requirement->priority, MED);
    sched_add(s, req("A3", DOC, MED, 100, "A", NULL), &clk);
    a = sched_get(s, "A")->requirement;
    assert_int_equal(a->priority, HIGH);
    assert_string_equal(a->reasons[a->n_reasons - 1]->rule, "structure:blocks 3 requirements");
    /* before it */
    sched_add(s, req("P1", FE, MED, 100, "P", NULL), &clk);
    sched_add(s, req("P2", FE, MED, 100, "P", NULL), &clk);
    sched_add(s, req("P3", FE, MED, 100, "P", NULL), &clk);
    sched_add(s, req("P", BE, LOW, 100, NULL, NULL), &clk);
    assert_int_equal(sched_get(s, "P")->requirement->priority, HIGH);
    /* given: as given */
    given->priority_given = 1;
    sched_add(s, given, &clk);
    for (int k = 1; k <= 3; k++) {
        char id[8];
        snprintf(id, sizeof(id), "G%d", k);
        sched_add(s, req(id, FE, MED, 100, "G", NULL), &clk);
    }
    assert_int_equal(sched_get(s, "G")->requirement->priority, MED);
    sched_destroy(s);
}

static void transient_agent_error_backs_off_others_escalate(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_error e;
    (void)state;
    sched_add(s, req("T", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("P", BE, MED, 100, NULL, NULL), &clk);
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.requirement_id = "T";
    e.message = "npm registry timeout";
    e.transient = 1;
    agent_error(s, &e);
    assert_int_equal(status(s, "T"), ORCHESTRATOR__V1__STATUS__STATUS_READY);
    clk.now_ms += 31000;
    sched_tick(s, &clk);
    assert_int_equal(rec.d[2].attempt, 2);
    e.requirement_id = "P";
    e.message = "cannot write to the repository: permission denied";
    e.transient = 0;
    agent_error(s, &e);
    assert_int_equal(status(s, "P"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    e.requirement_id = "T";
    {   /* a service's report on its own subject is not an agent's failure */
        sched_from from = {0, "T", NULL, NULL, "errors.intake.T", NULL};
        sched_error(s, &e, &from, &clk);
    }
    assert_int_equal(status(s, "T"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    sched_destroy(s);
}

static void cycles_rejected_unknown_dependencies_wait(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    assert_int_equal(sched_add(s, req("REQ-A", BE, MED, 100, "REQ-B", NULL), &clk), 0);
    assert_string_equal(why(s, "REQ-A"), "dependency: waiting on REQ-B (unknown)");
    assert_int_equal(sched_get(s, "REQ-A")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_DEPENDENCY);
    assert_int_equal(sched_get(s, "REQ-A")->n_wait_ids, 1);
    assert_string_equal(sched_get(s, "REQ-A")->wait_ids[0], "REQ-B");
    assert_int_equal(sched_add(s, req("REQ-B", BE, MED, 100, "REQ-A", NULL), &clk), -1);
    assert_string_equal(rec.reject_reason[0], "cycle");
    assert_string_equal(rec.rejects[0], "dependency cycle: REQ-B -> REQ-A -> REQ-B");
    /* kept, so that its status says why, without the dependency that
     * closed the cycle */
    assert_int_equal(status(s, "REQ-B"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_int_equal(sched_get(s, "REQ-B")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_CYCLE);
    assert_non_null(strstr(why(s, "REQ-B"), "rejected: dependency cycle REQ-B -> REQ-A -> REQ-B (its dependencies, "
                                            "not kept: REQ-A)"));
    assert_int_equal(sched_get(s, "REQ-B")->requirement->n_dependencies, 0);
    /* the member already known waited on REQ-B for ever: rejected too */
    assert_int_equal(status(s, "REQ-A"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_string_equal(why(s, "REQ-A"), "rejected: dependency cycle REQ-B -> REQ-A -> REQ-B");
    assert_int_equal(sched_get(s, "REQ-A")->wait_kind, ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_CYCLE);
    assert_int_equal(sched_get(s, "REQ-A")->n_wait_ids, 1);
    assert_string_equal(sched_get(s, "REQ-A")->wait_ids[0], "REQ-B");
    assert_string_equal(rec.reject_reason[1], "cycle");
    assert_string_equal(rec.rejects[1], "dependency cycle: REQ-B -> REQ-A -> REQ-B (closed by REQ-B)");
    assert_int_equal(sched_add(s, req("OTHER", BE, MED, 100, NULL, NULL), &clk), 0);
    assert_int_equal(status(s, "OTHER"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_int_equal(sched_add(s, req("OTHER", BE, MED, 100, NULL, NULL), &clk), -1);
    assert_string_equal(rec.reject_reason[2], "duplicate_id");
    sched_destroy(s);
}

/* Every stage of a requirement's life says what it waits on, for programs
 * (wait_kind) as for people (the reason's first word). */
static void every_stage_says_what_it_waits_on(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    const pb_state *st;
    pb_error e;
    (void)state;
    sched_add(s, req("W", BE, MED, 100, NULL, NULL), &clk);
    st = sched_get(s, "W");
    assert_int_equal(st->wait_kind, KIND(AGENT));
    assert_string_equal(st->reason, "agent: dispatched to backend (attempt 1)");
    result(s, "W", 1, 10);
    assert_int_equal(st->wait_kind, KIND(VERIFYING));
    assert_string_equal(st->reason, "verifying: attempt 1");
    verdict(s, "W", 1, PASS, NULL);
    assert_int_equal(st->wait_kind, KIND(REVIEW));
    assert_string_equal(st->reason, "review: verified, awaiting review");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_REVIEWING);
    review(s, "W", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(st->wait_kind, KIND(MERGE));
    assert_string_equal(st->reason, "merge: review approved, awaiting the merge");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_MERGING);
    merged(s, "W");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_string_equal(st->reason, "merged: merged");
    sched_add(s, req("X", BE, MED, 100, NULL, NULL), &clk);
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.requirement_id = "X";
    e.message = "no such repository";
    agent_error(s, &e);
    st = sched_get(s, "X");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_int_equal(st->wait_kind, KIND(HUMAN));
    assert_string_equal(st->reason, "escalated: no such repository");
    assert_int_equal(st->n_wait_ids, 0);
    sched_destroy(s);
}

static void a_longer_cycle_rejects_every_member(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("CY-1", BE, MED, 100, "CY-2", NULL), &clk);
    sched_add(s, req("CY-2", FE, MED, 100, "CY-3", NULL), &clk);
    sched_add(s, req("DEP", FE, MED, 100, "CY-1", NULL), &clk);
    assert_int_equal(sched_add(s, req("CY-3", DB, MED, 100, "CY-1", NULL), &clk), -1);
    assert_int_equal(status(s, "CY-1"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_int_equal(status(s, "CY-2"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_int_equal(sched_get(s, "CY-2")->n_wait_ids, 2); /* the others of the cycle */
    assert_int_equal(rec.nrej, 3);                         /* the newcomer and both members */
    assert_int_equal(status(s, "DEP"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED); /* not in the cycle */
    sched_destroy(s);
}

static void a_split_original_says_what_it_waits_on(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_requirement *be = req("REQ-9-BE", BE, HIGH, 100, NULL, NULL);
    pb_requirement *fe = req("REQ-9-FE", FE, HIGH, 100, "REQ-9-BE", NULL);
    const pb_state *al;
    (void)state;
    pb_set_str(&be->origin_id, "REQ-9");
    pb_set_str(&fe->origin_id, "REQ-9");
    sched_add(s, be, &clk);
    sched_add(s, fe, &clk);
    al = sched_get(s, "REQ-9");
    assert_int_equal(al->requirement->priority, HIGH);
    assert_string_equal(al->reason, "dependency: waiting on REQ-9-BE, REQ-9-FE");
    assert_int_equal(al->n_wait_ids, 2);
    landed(s, "REQ-9-BE", 1);
    al = sched_get(s, "REQ-9");
    assert_string_equal(al->reason, "dependency: waiting on REQ-9-FE"); /* not on the part that completed */
    assert_int_equal(al->n_wait_ids, 1);
    landed(s, "REQ-9-FE", 1);
    al = sched_get(s, "REQ-9");
    assert_int_equal(al->status, ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_int_equal(al->n_wait_ids, 0);
    {   /* it has a slot of its own, as the list shows it */
        int found = 0;
        for (int i = 0; i < sched_slots(s); i++)
            found |= sched_slot(s, i) && !strcmp(sched_slot(s, i)->id, "REQ-9");
        assert_true(found);
    }
    sched_destroy(s);
}

static void split_parts_stand_for_the_original(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_requirement *be = req("REQ-7-BE", BE, MED, 100, NULL, NULL);
    pb_requirement *fe = req("REQ-7-FE", FE, MED, 100, "REQ-7-BE", NULL);
    (void)state;
    pb_set_str(&be->origin_id, "REQ-7");
    pb_set_str(&fe->origin_id, "REQ-7");
    sched_add(s, req("REQ-8", DOC, MED, 100, "REQ-7", NULL), &clk);
    sched_add(s, be, &clk);
    sched_add(s, fe, &clk);
    assert_int_equal(rec.nd, 1);
    landed(s, "REQ-7-BE", 1);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "REQ-7-FE");
    assert_int_equal(status(s, "REQ-8"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED);
    landed(s, "REQ-7-FE", 1);
    assert_int_equal(rec.nd, 3);
    assert_string_equal(rec.d[2].id, "REQ-8");
    sched_destroy(s);
}

/* Only the type a requirement went to reports on it, about the attempt it
 * was given; anything else changes nothing and is refused with a reason. */
static void reports_count_only_from_who_was_dispatched(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_result r;
    pb_error e;
    (void)state;
    sched_add(s, req("B", BE, MED, 1000, NULL, NULL), &clk);
    sched_add(s, req("W", BE, MED, 1000, "B", NULL), &clk); /* blocked: never dispatched */
    orchestrator__v1__result__init(&r);
    r.requirement_id = "B";
    r.attempt = 1;
    r.tokens_used = 100;
    assert_int_equal(result_from(s, FE, &r), ADMIT_WRONG_TYPE); /* results.frontend.B */
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_non_null(strstr(rec.refusals[0], "B wrong_type: B is backend work: a frontend agent has no part in it"));
    {   /* results.backend.X whose body names B */
        sched_from from = {BE, "X", NULL, NULL, "results.backend.X", NULL};
        assert_int_equal(sched_result(s, &r, &from, &clk), ADMIT_ID_MISMATCH);
        assert_non_null(strstr(rec.refusals[1], "X id_mismatch"));
    }
    r.review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED; /* only a reviewer answers reviews */
    assert_int_equal(result_from(s, BE, &r), ADMIT_WRONG_TYPE);
    assert_int_equal(result_from(s, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, &r), ADMIT_NOT_DISPATCHED);
    r.review = 0;
    r.requirement_id = "W";
    assert_int_equal(result_from(s, BE, &r), ADMIT_NOT_DISPATCHED);
    r.requirement_id = "NOPE";
    assert_int_equal(result_from(s, BE, &r), ADMIT_UNKNOWN);
    r.requirement_id = "B";
    r.attempt = 2;
    assert_int_equal(result_from(s, BE, &r), ADMIT_FUTURE_ATTEMPT);
    {   /* claimed by someone else */
        sched_from from = {BE, "B", NULL, "roy-1", "results.backend.B", NULL};
        r.attempt = 1;
        r.instance = "roy-2";
        assert_int_equal(sched_result(s, &r, &from, &clk), ADMIT_NOT_CLAIMANT);
        r.instance = "roy-1";
        assert_int_equal(rec.nrefusal, 8);
        assert_int_equal(sched_budget(s)->used[BE], 0); /* none of it charged */
        assert_int_equal(status(s, "W"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED);
        assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
        assert_int_equal(sched_result(s, &r, &from, &clk), ADMIT_OK); /* the claimant */
    }
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING);
    assert_int_equal(sched_budget(s)->used[BE], 100);
    /* errors: the subject must name what the body names, and only in-flight work */
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.requirement_id = "B";
    e.message = "cannot write";
    {
        sched_from from = {0, "OTHER", NULL, NULL, "errors.agent.OTHER", NULL};
        assert_int_equal(sched_error(s, &e, &from, &clk), ADMIT_ID_MISMATCH);
    }
    e.requirement_id = "W";
    assert_int_equal(agent_error(s, &e), ADMIT_NOT_DISPATCHED);
    e.requirement_id = "B";
    e.agent_type = (Orchestrator__V1__AgentType)FE;
    assert_int_equal(agent_error(s, &e), ADMIT_WRONG_TYPE);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING);
    {   /* a heartbeat's instance is its subject's: the body may not say another */
        pb_heartbeat h;
        sched_from from = {BE, NULL, "roy-1", NULL, "agents.heartbeat.backend.roy-1", NULL};
        orchestrator__v1__heartbeat__init(&h);
        h.instance = "roy-2";
        h.requirement_id = "B";
        h.tokens_used = 10;
        assert_int_equal(sched_heartbeat(s, &h, &from, &clk), ADMIT_ID_MISMATCH);
        assert_non_null(strstr(rec.refusals[rec.nrefusal - 1], "the subject names instance roy-1, the body roy-2"));
        assert_int_equal(sched_budget(s)->used[BE], 100);
    }
    e.agent_type = (Orchestrator__V1__AgentType)BE;
    assert_int_equal(agent_error(s, &e), ADMIT_OK);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    sched_destroy(s);
}

/* An estimate no day can pay for is reported at once, not left waiting. */
static void estimates_beyond_a_day_escalate_at_once(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("HUGE", DOC, CRIT, 60000, NULL, NULL), &clk); /* documentation: 50,000 a day */
    sched_add(s, req("SMALL", DOC, MED, 100, NULL, NULL), &clk);
    assert_int_equal(status(s, "HUGE"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_string_equal(rec.reject_reason[0], "estimate_over_daily_limit");
    assert_non_null(strstr(rec.rejects[0], "HUGE is estimated at 60000 tokens, more than documentation may spend "
                                           "in a whole day (50000)"));
    assert_non_null(strstr(rec.alerts[0], "warning/estimate_over_daily_limit"));
    assert_int_equal(status(s, "SMALL"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    {   /* a retry would leave it READY for ever: refused, saying why */
        char err[300];
        assert_int_equal(sched_retry(s, "HUGE", &clk, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "more than documentation may spend in a whole day (50000): raise the budget"));
        assert_int_equal(status(s, "HUGE"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    }
    sched_destroy(s);
}

/* A dispatch that can never be published rejects its requirement and holds
 * nothing else up, also when a restarted leader meets it. */
static void unpublishable_work_is_rejected_not_retried(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk), *t;
    pb_requirement *big = req("BIG", BE, MED, 100, NULL, NULL);
    (void)state;
    pb_set_str(&big->description, "a very long description");
    rec.refuse_dispatch = 1;
    sched_add(s, big, &clk);
    rec.refuse_dispatch = 0;
    sched_add(s, req("OK", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(status(s, "BIG"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_string_equal(rec.reject_reason[0], "unpublishable");
    assert_non_null(strstr(why(s, "BIG"), "rejected: cannot be dispatched: requirements.backend.BIG would carry"));
    assert_string_equal(sched_get(s, "BIG")->requirement->description, "");
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].id, "OK");
    sched_destroy(s);
    /* a leader that decided a dispatch it could not publish (saved unpublished) */
    {
        pb_state *st = saved("OK");
        st->published = 0;
        rec.refuse_dispatch = 1;
        rec.nrej = 0;
        t = sched_create(&cfg, &out, &clk);
        sched_restore(t, st);
        sched_resume(t, &clk);
        assert_int_equal(status(t, "OK"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
        assert_string_equal(rec.reject_reason[0], "unpublishable");
        rec.refuse_dispatch = 0;
        sched_add(t, req("LAST", BE, MED, 100, NULL, NULL), &clk);
        assert_int_equal(status(t, "LAST"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
        sched_destroy(t);
    }
}

/* Finished requirements leave memory after the retention; what depends on
 * them still finds them done, and the counts still hold them. */
static void finished_work_is_let_go_after_the_retention(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    size_t counts[NAMES_STATUS_COUNT];
    pb_error e;
    int64_t start = clk.now_ms;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("E", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    result(s, "A", 1, 50);
    verdict(s, "A", 1, PASS, NULL);
    review(s, "A", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(rec.nm, 1);
    merged(s, "A"); /* only merged work is let go */
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.message = "cannot write to the repository";
    e.requirement_id = "E";
    agent_error(s, &e);
    assert_int_equal(status(s, "E"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    clk.now_ms = start + cfg.retention_s * 1000 - 1;
    sched_tick(s, &clk);
    assert_non_null(sched_get(s, "A"));
    clk.now_ms = start + cfg.retention_s * 1000 + 1;
    sched_tick(s, &clk);
    assert_null(sched_get(s, "A"));                      /* let go */
    assert_non_null(sched_get(s, "E"));                  /* a human may still retry it */
    assert_int_equal(sched_count(s, counts), 3);
    assert_int_equal(counts[ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE], 1);
    assert_null(sched_slot(s, 0));
    sched_add(s, req("C", BE, MED, 100, "A", NULL), &clk); /* depends on it: met */
    assert_int_equal(status(s, "C"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_int_equal(sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk), -1); /* its id stays taken */
    assert_int_equal(result(s, "A", 1, 50), ADMIT_UNKNOWN);
    verdict(s, "B", 1, PASS, NULL);                      /* B's merge follows A's, which is in */
    review(s, "B", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(rec.nm, 2);
    assert_true(sched_eta(s, "C", &clk) > 0);
    sched_destroy(s);
}

/* Work behind an escalated dependency says it waits on a dead end, until a
 * person retries it. */
static void work_behind_an_escalated_dependency_says_so(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_error e;
    char err[200];
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", FE, MED, 100, "A", NULL), &clk);
    assert_string_equal(why(s, "B"), "dependency: waiting on A");
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.requirement_id = "A";
    e.message = "no such repository";
    agent_error(s, &e);
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED);
    assert_string_equal(why(s, "B"), "dead end: waiting on A (escalated: waits for a person)");
    assert_int_equal(sched_get(s, "B")->wait_kind, KIND(DEAD_END));
    assert_int_equal(sched_retry(s, "A", &clk, err, sizeof(err)), 0);
    assert_string_equal(why(s, "B"), "dependency: waiting on A");
    assert_int_equal(sched_get(s, "B")->wait_kind, KIND(DEPENDENCY));
    sched_destroy(s);
}

/* A dead end runs down the chain: C waits on B, which waits on A; A
 * escalates: B and C are dead ends naming A as the root (C's reason says
 * it is behind A), one alert says two requirements wait on A; a retry of A
 * makes them ordinary waits again. A requirement added later behind them
 * is a dead end at once. */
static void a_dead_end_names_its_root_down_the_chain(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_error e;
    char err[200];
    int dead_end_alerts = 0;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", FE, MED, 100, "A", NULL), &clk);
    sched_add(s, req("C", DOC, MED, 100, "B", NULL), &clk);
    orchestrator__v1__agent_error__init(&e);
    e.source = "agent";
    e.requirement_id = "A";
    e.message = "no such repository";
    agent_error(s, &e);
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_int_equal(sched_get(s, "C")->wait_kind, KIND(DEAD_END));
    assert_string_equal(why(s, "C"), "dead end: waiting on B, behind A (escalated: orchctl retry A)");
    assert_int_equal(sched_get(s, "C")->n_wait_ids, 1);
    assert_string_equal(sched_get(s, "C")->wait_ids[0], "A");
    assert_int_equal(sched_get(s, "C")->n_blocked_by, 1);
    assert_string_equal(sched_get(s, "C")->blocked_by[0], "B");
    for (int k = 0; k < rec.nalert; k++)
        if (strstr(rec.alerts[k], "/dead_end: ")) {
            dead_end_alerts++;
            assert_non_null(strstr(rec.alerts[k], "2 requirements wait on A, which will not finish (ESCALATED)"));
        }
    assert_int_equal(dead_end_alerts, 1);
    sched_add(s, req("D", DOC, MED, 100, "C", NULL), &clk);
    assert_int_equal(sched_get(s, "D")->wait_kind, KIND(DEAD_END));
    assert_int_equal(sched_retry(s, "A", &clk, err, sizeof(err)), 0);
    assert_string_equal(why(s, "B"), "dependency: waiting on A");
    assert_string_equal(why(s, "C"), "dependency: waiting on B");
    assert_string_equal(why(s, "D"), "dependency: waiting on C");
    assert_int_equal(sched_get(s, "D")->wait_kind, KIND(DEPENDENCY));
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(chain_migration_api_ui_released_in_order, setup),
        cmocka_unit_test_setup(work_behind_an_escalated_dependency_says_so, setup),
        cmocka_unit_test_setup(a_dead_end_names_its_root_down_the_chain, setup),
        cmocka_unit_test_setup(verifier_files_replace_declared_ones, setup),
        cmocka_unit_test_setup(reject_retry_with_output_then_escalate, setup),
        cmocka_unit_test_setup(infra_errors_retry_without_counting, setup),
        cmocka_unit_test_setup(transient_agent_error_backs_off_others_escalate, setup),
        cmocka_unit_test_setup(three_dependents_make_a_requirement_high, setup),
        cmocka_unit_test_setup(an_unhealthy_instance_gives_work_back_without_an_attempt, setup),
        cmocka_unit_test_setup(cycles_rejected_unknown_dependencies_wait, setup),
        cmocka_unit_test_setup(every_stage_says_what_it_waits_on, setup),
        cmocka_unit_test_setup(a_longer_cycle_rejects_every_member, setup),
        cmocka_unit_test_setup(a_split_original_says_what_it_waits_on, setup),
        cmocka_unit_test_setup(split_parts_stand_for_the_original, setup),
        cmocka_unit_test_setup(reports_count_only_from_who_was_dispatched, setup),
        cmocka_unit_test_setup(estimates_beyond_a_day_escalate_at_once, setup),
        cmocka_unit_test_setup(unpublishable_work_is_rejected_not_retried, setup),
        cmocka_unit_test_setup(finished_work_is_let_go_after_the_retention, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_free();
    return rc;
}
