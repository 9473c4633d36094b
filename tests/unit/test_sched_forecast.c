/* sched_forecast.c: the ETA and the critical path, learned estimates and
 * durations (and a new leader keeping them), and the forecast's count of
 * agents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_sched_harness.h"

static void eta_and_critical_path(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    const char *path[8];
    int64_t finish;
    int n;
    (void)state;
    sched_add(s, req("A", DB, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    sched_add(s, req("C", FE, MED, 100, "B", NULL), &clk);
    sched_add(s, req("X", DOC, MED, 100, NULL, NULL), &clk);
    /* M is 2 h by default: C finishes after three of them */
    assert_int_equal(sched_eta(s, "C", &clk), clk.now_ms + 3 * 2 * 3600 * 1000LL);
    n = sched_critical_path(s, &clk, path, 8, &finish);
    assert_int_equal(n, 3);
    assert_string_equal(path[0], "A");
    assert_string_equal(path[2], "C");
    started(s, "A");
    clk.now_ms += 3600 * 1000; /* an hour into A */
    assert_int_equal(sched_eta(s, "C", &clk), clk.now_ms + 5 * 3600 * 1000LL);
    verdict(s, "A", 1, PASS, NULL); /* A took 1 h: database M learned as 1 h */
    /* in review: its end is now, as far as the forecast knows (review and
     * merge times are not forecast) */
    assert_int_equal(sched_eta(s, "A", &clk), clk.now_ms);
    review(s, "A", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    merged(s, "A");
    assert_int_equal(sched_eta(s, "A", &clk), 0);
    sched_destroy(s);
}

/* Once LEARN_MIN requirements of a type and size reported their tokens,
 * the next one's estimate (and so its reservation and token budget) is
 * what they used, and it says so. */
static void estimates_are_learned_and_say_so(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    const pb_state *st;
    const char *est = NULL, *router = NULL;
    char id[16];
    (void)state;
    for (int i = 0; i < LEARN_MIN; i++) {
        snprintf(id, sizeof(id), "L%d", i);
        sched_add(s, req(id, BE, MED, 40000, NULL, NULL), &clk);
        started(s, id);
        result(s, id, 1, 5000);
        verdict(s, id, 1, PASS, NULL);
    }
    /* one more whose verdict is handled before its result: its tokens still count */
    sched_add(s, req("LATE", DB, MED, 40000, NULL, NULL), &clk);
    started(s, "LATE");
    verdict(s, "LATE", 1, PASS, NULL);
    assert_int_equal(result(s, "LATE", 1, 7000), ADMIT_PAST_ATTEMPT);
    assert_int_equal(sched_learned(s)->b[DB][SZ_M].tokens[0], 7000);
    sched_add(s, req("NEXT", BE, MED, 40000, NULL, NULL), &clk);
    st = sched_get(s, "NEXT");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_int_equal(st->requirement->estimated_tokens, 5000);
    assert_int_equal(rec.d[rec.nd - 1].token_budget, 7500);
    assert_non_null(st->requirement->metadata);
    for (size_t k = 0; k < st->requirement->metadata->n_extra; k++) {
        if (!strcmp(st->requirement->metadata->extra[k]->key, "estimate"))
            est = st->requirement->metadata->extra[k]->value;
        if (!strcmp(st->requirement->metadata->extra[k]->key, "routerEstimate"))
            router = st->requirement->metadata->extra[k]->value;
    }
    assert_non_null(est);
    assert_string_equal(est, "learned: mean of the last 5 completed backend M");
    assert_string_equal(router, "40000");
    /* a size without enough history keeps the router's figure */
    sched_add(s, req("OTHER", FE, MED, 40000, NULL, NULL), &clk);
    assert_int_equal(sched_get(s, "OTHER")->requirement->estimated_tokens, 40000);
    sched_destroy(s);
}

/* Durations are learned from start to verdict, handed out to be stored,
 * and a new leader given them does not learn the same work twice; one
 * given none learns from the states it read. */
static void learned_figures_outlive_the_leader(void **state)
{
    sched_out o = out;
    sched *s, *t;
    char id[16], err[ERR_LEN];
    int64_t d;
    (void)state;
    o.learned = r_learned;
    learned_calls = 0;
    s = sched_create(&cfg, &o, &clk);
    for (int i = 0; i < LEARN_MIN; i++) {
        snprintf(id, sizeof(id), "L%d", i);
        sched_add(s, req(id, BE, MED, 100, NULL, NULL), &clk);
        clk.now_ms += 3600 * 1000LL; /* waited an hour for an agent: not counted */
        started(s, id);
        clk.now_ms += 30 * 60 * 1000LL;
        result(s, id, 1, 100);
        verdict(s, id, 1, PASS, NULL);
    }
    assert_int_equal(learned_calls, LEARN_MIN);
    assert_int_equal(learn_count(sched_learned(s), BE, SZ_M), LEARN_MIN);
    assert_int_equal(sched_learned(s)->b[BE][SZ_M].mean_ms, 30 * 60 * 1000LL);
    d = learn_duration(sched_learned(s), BE, SZ_M, NULL);
    sched_destroy(s);

    t = from_saved(&o, learned_json, learned_len);
    assert_int_equal(learn_count(sched_learned(t), BE, SZ_M), LEARN_MIN);
    assert_int_equal(learn_duration(sched_learned(t), BE, SZ_M, NULL), d);
    sched_destroy(t);
    t = from_saved(&o, NULL, 0);
    assert_int_equal(learn_count(sched_learned(t), BE, SZ_M), LEARN_MIN);
    sched_destroy(t);
    t = sched_create(&cfg, &o, &clk);
    {
        const char *bad = "{\"buckets\":[{\"type\":1}]}";
        assert_int_equal(sched_restore_learned(t, bad, strlen(bad), err), ORCH_ERR_INVALID);
    }
    sched_destroy(t);
}

/* The forecast plays the release rule forward on the agents seen: four
 * 2-hour requirements take 8 h on one agent and 6 h on two when the last
 * waits on one released last. */
static void forecast_counts_agents(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_heartbeat h;
    int64_t late;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("C", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("D", BE, MED, 100, "C", NULL), &clk);
    assert_int_equal(sched_agents(s, BE, &clk), 0);
    assert_int_equal(sched_roadmap_eta(s, &clk, &late), clk.now_ms + 8 * 3600 * 1000LL); /* none seen: one */
    assert_int_equal(late, clk.now_ms + 8 * 3600 * 1000LL);
    orchestrator__v1__heartbeat__init(&h);
    h.agent_type = (Orchestrator__V1__AgentType)BE;
    h.requirement_id = "";
    h.instance = "be-1";
    heartbeat(s, &h);
    h.instance = "be-2";
    heartbeat(s, &h);
    assert_int_equal(sched_agents(s, BE, &clk), 2);
    /* A, B went out first and C after them (the stream's order), D waits on C */
    assert_int_equal(sched_roadmap_eta(s, &clk, NULL), clk.now_ms + 6 * 3600 * 1000LL);
    assert_int_equal(sched_eta(s, "D", &clk), clk.now_ms + 6 * 3600 * 1000LL);
    assert_int_equal(sched_eta(s, "A", &clk), clk.now_ms + 2 * 3600 * 1000LL);
    clk.now_ms += cfg.agent_seen_ms + 1; /* not heard of since: gone */
    assert_int_equal(sched_agents(s, BE, &clk), 0);
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(eta_and_critical_path, setup),
        cmocka_unit_test_setup(estimates_are_learned_and_say_so, setup),
        cmocka_unit_test_setup(learned_figures_outlive_the_leader, setup),
        cmocka_unit_test_setup(forecast_counts_agents, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_free();
    return rc;
}
