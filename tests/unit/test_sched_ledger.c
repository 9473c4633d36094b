/* sched_ledger.c: tokens charged once per attempt, the ledger rebuilt
 * from the states, late results, costs, and the bounds on what one report
 * may charge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_sched_harness.h"

static void tokens_are_charged_once(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_heartbeat h;
    (void)state;
    sched_add(s, req("K", BE, MED, 10000, NULL, NULL), &clk);
    orchestrator__v1__heartbeat__init(&h);
    h.requirement_id = "K";
    h.tokens_used = 300;
    heartbeat(s, &h);
    heartbeat(s, &h);
    assert_int_equal(sched_budget(s)->used[BE], 600);
    result(s, "K", 1, 1000); /* the attempt's total */
    result(s, "K", 1, 1000); /* redelivered */
    assert_int_equal(sched_budget(s)->used[BE], 1000);
    assert_int_equal(sched_get(s, "K")->tokens_used, 1000);
    sched_destroy(s);
}

/* A heartbeat overtaken by its attempt's result adds nothing; one about
 * work no longer in flight neither; an idle agent's is charged to its type
 * as unattributed. A restarted leader gets the day's ledger back from the
 * states (and the unattributed use), not from a counter written apart. */
static void ledger_follows_the_states(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk), *t;
    pb_heartbeat h;
    (void)state;
    sched_add(s, req("L", BE, MED, 10000, NULL, NULL), &clk);
    orchestrator__v1__heartbeat__init(&h);
    h.requirement_id = "L";
    h.tokens_used = 300;
    heartbeat(s, &h);          /* 300 while working */
    result(s, "L", 1, 1000);               /* the total: 700 more */
    heartbeat(s, &h);          /* sent before the result, arrived after */
    assert_int_equal(sched_budget(s)->used[BE], 1000);
    verdict(s, "L", 1, PASS, NULL);
    heartbeat(s, &h);          /* complete: nothing */
    {
        pb_result r;                       /* the review, with what it cost */
        orchestrator__v1__result__init(&r);
        r.requirement_id = "L";
        r.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
        r.review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED;
        r.tokens_used = 1500;
        result_from(s, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, &r);
        result_from(s, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, &r); /* redelivered: once */
    }
    h.requirement_id = "";
    h.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE;
    h.tokens_used = 50;
    heartbeat(s, &h);          /* an idle agent */
    {
        const budget *b = sched_budget(s);
        const pb_state *st = sched_get(s, "L");
        assert_int_equal(b->used[BE], 1000);
        assert_int_equal(b->used[ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE], 50);
        assert_int_equal(b->unattributed[ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE], 50);
        assert_string_equal(st->charged_day, clk.day);
        assert_int_equal(st->charged_day_own, 1000);
        assert_int_equal(st->charged_day_review, 1500);
        assert_int_equal(b->used[ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW], 1500);
    }
    {
        uint64_t total = sched_budget(s)->used_total;
        char why[ERR_LEN];
        sched_destroy(s);
        t = sched_create(&cfg, &out, &clk);
        for (int i = 0; i < rec.nsaved; i++) {
            char err[ERR_LEN];
            sched_restore(t, (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, rec.saved[i],
                                                   rec.saved_len[i], PB_MAX_MSG, err));
        }
        sched_restore_budget(t, clk.day, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE, 50, 250000, why);
        sched_restore_budget(t, "1999-01-01", ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE, 70, 9, why); /* not today */
        sched_resume(t, &clk);
        assert_int_equal(sched_budget(t)->used_total, total);
        /* the day's cost, from the budgets bucket */
        assert_int_equal(sched_budget(t)->cost_micro_usd[ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE], 250000);
        assert_int_equal(sched_budget(t)->cost_micro_usd_total, 250000);
        assert_int_equal(sched_budget(t)->used[BE], 1000);
        result(t, "L", 1, 1000);           /* redelivered after the restart: nothing */
        assert_int_equal(sched_budget(t)->used_total, total);
        sched_destroy(t);
    }
}

/* Results and verdicts come through different consumers: after a restart
 * a verdict can be handled before the result it judged. What the result
 * says it cost is charged to its own attempt all the same. */
static void late_results_are_still_charged(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("M", BE, MED, 10000, NULL, NULL), &clk);
    verdict(s, "M", 1, FAIL, "error: x"); /* overtook attempt 1's result: back as attempt 2 */
    assert_int_equal(sched_get(s, "M")->attempt, 2);
    result(s, "M", 1, 800);               /* attempt 1's cost still counts */
    assert_int_equal(sched_budget(s)->used[BE], 800);
    assert_int_equal(status(s, "M"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED); /* and moves nothing */
    result(s, "M", 2, 500);
    verdict(s, "M", 2, PASS, NULL);
    result(s, "M", 2, 600);               /* redelivered with a larger total: the increase */
    result(s, "M", 1, 800);               /* redelivered: nothing */
    assert_int_equal(sched_budget(s)->used[BE], 1400);
    assert_int_equal(sched_get(s, "M")->tokens_used, 1400);
    assert_int_equal(sched_get(s, "M")->charged_day_own, 1400);
    {   /* and saved so: a restarted leader sees the same */
        pb_state *st = saved("M");
        assert_int_equal(st->charged_day_own, 1400);
        assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_REVIEWING);
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
    }
    sched_destroy(s);
}

static void results_cost_goes_on_the_ledger_once(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_result r;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    orchestrator__v1__result__init(&r);
    r.requirement_id = "A";
    r.attempt = 1;
    r.tokens_used = 10;
    r.cost_micro_usd = 1234567;
    result_from(s, BE, &r);
    result_from(s, BE, &r); /* redelivered */
    assert_int_equal(sched_budget(s)->cost_micro_usd[BE], 1234567);
    verdict(s, "A", 1, PASS, NULL);
    orchestrator__v1__result__init(&r); /* the review, with its own cost */
    r.requirement_id = "A";
    r.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
    r.review = APPROVED;
    r.cost_micro_usd = 5000;
    result_from(s, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, &r);
    assert_int_equal(sched_budget(s)->cost_micro_usd[ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW], 5000);
    assert_int_equal(sched_budget(s)->cost_micro_usd_total, 1239567);
    sched_destroy(s);
}

/* What one message, one attempt and one idle instance can put on the
 * ledger is bounded; beyond it, a refusal and an alert, not a charge. */
static void charges_are_bounded(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_heartbeat h;
    (void)state;
    sched_add(s, req("C", BE, MED, 1000, NULL, NULL), &clk); /* token budget 1500 */
    orchestrator__v1__heartbeat__init(&h);
    h.instance = "doc-evil";
    h.agent_type = (Orchestrator__V1__AgentType)DOC;
    h.tokens_used = 100000000;
    heartbeat(s, &h); /* idle: at most 5% of 50,000 */
    assert_int_equal(sched_budget(s)->used[DOC], 0);
    assert_int_equal(rec.nrefusal, 1);
    assert_non_null(strstr(rec.refusals[0], "doc-evil charge_over_bound"));
    assert_non_null(strstr(rec.alerts[0], "warning/charge_over_bound"));
    h.tokens_used = 2500;
    heartbeat(s, &h);
    assert_int_equal(sched_budget(s)->used[DOC], 2500);
    assert_int_equal(sched_budget(s)->unattributed[DOC], 2500);
    h.tokens_used = 1;
    heartbeat(s, &h); /* the day's share is spent */
    assert_int_equal(sched_budget(s)->used[DOC], 2500);
    assert_int_equal(rec.nrefusal, 2);
    snprintf(clk.day, sizeof(clk.day), "2026-11-25"); /* a new day, a new share */
    heartbeat(s, &h);
    assert_int_equal(sched_budget(s)->used[DOC], 1);
    /* a heartbeat about work: at most its token budget */
    h.agent_type = (Orchestrator__V1__AgentType)BE;
    h.instance = "roy-1";
    h.requirement_id = "C";
    h.tokens_used = 1501;
    heartbeat(s, &h);
    assert_int_equal(sched_budget(s)->used[BE], 0);
    h.tokens_used = 1500;
    heartbeat(s, &h);
    heartbeat(s, &h);
    heartbeat(s, &h);
    assert_int_equal(sched_budget(s)->used[BE], 4500); /* 300% of 1500 */
    heartbeat(s, &h);                                   /* a fourth: the attempt's bound */
    assert_int_equal(sched_budget(s)->used[BE], 4500);
    assert_non_null(strstr(rec.refusals[rec.nrefusal - 1], "C charge_over_bound: C attempt 1: 6000 tokens"));
    assert_int_equal(result(s, "C", 1, 9000), ADMIT_OK); /* counts, but not its cost */
    assert_int_equal(sched_budget(s)->used[BE], 4500);
    assert_int_equal(status(s, "C"), ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING);
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(tokens_are_charged_once, setup),
        cmocka_unit_test_setup(ledger_follows_the_states, setup),
        cmocka_unit_test_setup(late_results_are_still_charged, setup),
        cmocka_unit_test_setup(results_cost_goes_on_the_ledger_once, setup),
        cmocka_unit_test_setup(charges_are_bounded, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_free();
    return rc;
}
