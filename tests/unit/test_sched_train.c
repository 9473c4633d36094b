/* sched_train.c: the scheduler's core with the merge train on: approved
 * changes go to the project's train, not to a release agent; a base move
 * that is made merges them (COMPLETE, dependents go); a failing or
 * conflicting candidate sends the change back without spending an attempt;
 * a base failing on its own pauses the train with an alert; a new leader
 * asks again for an unanswered base move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_sched_harness.h"

#define BASE "1111111111111111111111111111111111111111"
#define C_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define C_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define M_A "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define M_AB "abababababababababababababababababababab"

static int train_setup(void **state)
{
    setup(state);
    cfg.merge_train = 1;
    cfg.train_ahead = 4;
    return 0;
}

/* id's change verified (commit on base BASE of project demo; merged: the
 * merge onto BASE the verification built, or NULL) and approved. */
static void approved_built(sched *s, const char *id, unsigned attempt, const char *commit, const char *merged)
{
    pb_verdict v;
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = (char *)id;
    v.attempt = attempt;
    v.kind = PASS;
    v.project = "demo";
    v.ref = "refs/heads/req/x";
    v.commit = (char *)commit;
    v.base_branch = "main";
    v.base_commit = BASE;
    if (merged)
        v.merged_commit = (char *)merged;
    if (sched_verdict_early(s, &v))
        result(s, id, attempt, 0);
    sched_verdict(s, &v, &clk);
    review(s, id, APPROVED, "fine");
}

static void approved(sched *s, const char *id, unsigned attempt, const char *commit)
{
    approved_built(s, id, attempt, commit, NULL);
}

static const char *last_output(sched *s, const char *id)
{
    return sched_get(s, id)->requirement->last_failure_output;
}

static void approved_changes_merge_through_the_train_not_a_release_agent(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", FE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("D", BE, MED, 100, "A", NULL), &clk);
    approved(s, "A", 1, C_A);
    approved(s, "B", 1, C_B);
    assert_int_equal(rec.nm, 0); /* nothing for a release agent */
    assert_int_equal(rec.nbuild, 2);
    /* speculative: A on the base, and A then B, at once */
    assert_string_equal(rec.builds[0], "demo 1 " BASE " A");
    assert_string_equal(rec.builds[1], "demo 2 " BASE " A,B");
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_MERGING);
    assert_non_null(strstr(why(s, "B"), "merge train of demo: its candidate is being built"));
    /* B's candidate passes first: it waits for A's */
    sched_train_built(s, "demo", rec.build_no[1], 1, 0, M_AB, "", &clk);
    assert_int_equal(rec.nadvance, 0);
    sched_train_built(s, "demo", rec.build_no[0], 1, 0, M_A, "", &clk);
    /* one base move over the whole passed prefix */
    assert_int_equal(rec.nadvance, 1);
    assert_string_equal(rec.advances[0], "demo " BASE " " M_AB " A,B");
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_MERGING);
    assert_int_equal(status(s, "D"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED);
    /* a stale or foreign answer changes nothing */
    sched_train_advanced(s, "demo", M_A, 1, M_A, &clk);
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_MERGING);
    sched_train_advanced(s, "demo", M_AB, 1, M_AB, &clk);
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_true(sched_get(s, "A")->delivery->merged);
    /* merged: what depends on it goes, built on a base that holds it */
    assert_int_equal(status(s, "D"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_non_null(strstr(rec.train_json, "\"project\":\"demo\""));
    sched_destroy(s);
}

/* The head's candidate fails while the base is known to pass (a candidate
 * of it passed): the change goes back with the build's exact output, as a
 * refused merge, not a failed attempt; the change behind it is built again
 * without it and merges. */
static void a_failing_candidate_goes_back_without_spending_an_attempt(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    uint64_t b;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", FE, MED, 100, NULL, NULL), &clk);
    approved(s, "A", 1, C_A);
    sched_train_built(s, "demo", rec.build_no[0], 1, 0, M_A, "", &clk);
    sched_train_advanced(s, "demo", M_A, 1, M_A, &clk); /* the base is known to pass now */
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    approved(s, "B", 1, C_B);
    b = rec.build_no[rec.nbuild - 1];
    assert_non_null(strstr(rec.builds[rec.nbuild - 1], M_A " B"));
    sched_train_built(s, "demo", b, 0, 0, "", "step test exited with 2:\nFAIL test_b", &clk);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_non_null(strstr(last_output(s, "B"), "the merge was refused:"));
    assert_non_null(strstr(last_output(s, "B"), "FAIL test_b"));
    assert_int_equal(sched_get(s, "B")->merge_refusals, 1);
    assert_int_equal(sched_get(s, "B")->attempt - sched_get(s, "B")->attempt_base, 1); /* not charged */
    sched_destroy(s);
}

/* A change that does not merge onto the ones ahead of it goes back with
 * git's words; orch-agent recognises the conflict by them. */
static void a_conflict_goes_back_as_a_refused_merge(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", FE, MED, 100, NULL, NULL), &clk);
    approved(s, "A", 1, C_A);
    approved(s, "B", 1, C_B);
    sched_train_built(s, "demo", rec.build_no[0], 1, 0, M_A, "", &clk);
    sched_train_built(s, "demo", rec.build_no[1], 0, 1, "",
                      C_B " (B) does not merge onto main with the 1 change ahead of it:\nCONFLICT (content)", &clk);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_non_null(strstr(last_output(s, "B"), "the merge was refused: "));
    assert_non_null(strstr(last_output(s, "B"), "does not merge onto"));
    /* A's move goes on without B */
    assert_int_equal(rec.nadvance, 1);
    assert_string_equal(rec.advances[0], "demo " BASE " " M_A " A");
    sched_destroy(s);
}

/* The head fails and the base, built alone, fails too: the base's fault.
 * Nothing is sent back; the train pauses with an alert. */
static void a_base_that_fails_alone_pauses_the_train(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    approved(s, "A", 1, C_A);
    sched_train_built(s, "demo", rec.build_no[0], 0, 0, "", "flaky_test FAILED", &clk);
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_MERGING);
    assert_int_equal(rec.nbuild, 2);
    assert_non_null(strstr(rec.builds[1], "demo 2 " BASE " ")); /* the base alone */
    sched_train_built(s, "demo", rec.build_no[1], 0, 0, "", "flaky_test FAILED", &clk);
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_MERGING);
    assert_int_equal(sched_get(s, "A")->merge_refusals, 0);
    assert_true(rec.nalert >= 1);
    assert_non_null(strstr(rec.alerts[rec.nalert - 1], "critical/merge_train_paused"));
    assert_non_null(strstr(why(s, "A"), "paused"));
    sched_destroy(s);
}

/* A leader that decided a base move and died before hearing of it: the
 * next one, from the saved states and train, asks for the move again and
 * completes it once; nothing goes to a release agent. */
static void a_new_leader_asks_again_for_an_unanswered_base_move(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk), *t;
    char train[4096], err[ERR_LEN];
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    approved(s, "A", 1, C_A);
    sched_train_built(s, "demo", rec.build_no[0], 1, 0, M_A, "", &clk);
    assert_int_equal(rec.nadvance, 1);
    snprintf(train, sizeof(train), "%s", rec.train_json);
    sched_destroy(s);

    t = sched_create(&cfg, &out, &clk);
    for (int i = 0; i < rec.nsaved; i++)
        sched_restore(t, (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, rec.saved[i],
                                               rec.saved_len[i], PB_MAX_MSG, err));
    assert_int_equal(sched_restore_train(t, train, strlen(train), err), ORCH_OK);
    sched_resume(t, &clk);
    sched_train_resume(t, &clk);
    assert_int_equal(rec.nm, 0);
    assert_int_equal(rec.nadvance, 2);
    assert_string_equal(rec.advances[1], rec.advances[0]);
    sched_train_advanced(t, "demo", M_A, 1, M_A, &clk);
    assert_int_equal(status(t, "A"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    sched_train_advanced(t, "demo", M_A, 1, M_A, &clk); /* the first ask's answer too: once */
    assert_int_equal(status(t, "A"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_int_equal(rec.nadvance, 2);
    assert_int_equal(sched_restore_train(t, "{\"project\":1}", 13, err), ORCH_ERR_INVALID);
    sched_destroy(t);
}

/* Approved changes whose train state was lost enter a train again. */
static void approved_changes_of_a_lost_train_enter_again(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk), *t;
    char err[ERR_LEN];
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    approved(s, "A", 1, C_A);
    assert_int_equal(rec.nbuild, 1);
    sched_destroy(s);
    t = sched_create(&cfg, &out, &clk);
    for (int i = 0; i < rec.nsaved; i++)
        sched_restore(t, (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, rec.saved[i],
                                               rec.saved_len[i], PB_MAX_MSG, err));
    sched_resume(t, &clk);
    sched_train_resume(t, &clk);
    assert_int_equal(rec.nm, 0);
    assert_int_equal(rec.nbuild, 2);
    assert_string_equal(rec.builds[1], "demo 1 " BASE " A");
    sched_destroy(t);
}

/* Nothing ahead of it and verified as merged onto the train's base: its
 * verification was its candidate; the base moves with no second build. The
 * next change, verified on the old base, is built again on the new one. */
static void a_verified_merge_onto_the_base_is_not_built_again(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", FE, MED, 100, NULL, NULL), &clk);
    approved_built(s, "A", 1, C_A, M_A);
    assert_int_equal(rec.nbuild, 0);
    assert_int_equal(rec.nadvance, 1);
    assert_string_equal(rec.advances[0], "demo " BASE " " M_A " A");
    sched_train_advanced(s, "demo", M_A, 1, M_A, &clk);
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    approved_built(s, "B", 1, C_B, M_AB);
    assert_int_equal(rec.nbuild, 1);
    assert_string_equal(rec.builds[0], "demo 1 " M_A " B");
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(approved_changes_merge_through_the_train_not_a_release_agent, train_setup),
        cmocka_unit_test_setup(a_failing_candidate_goes_back_without_spending_an_attempt, train_setup),
        cmocka_unit_test_setup(a_conflict_goes_back_as_a_refused_merge, train_setup),
        cmocka_unit_test_setup(a_base_that_fails_alone_pauses_the_train, train_setup),
        cmocka_unit_test_setup(a_new_leader_asks_again_for_an_unanswered_base_move, train_setup),
        cmocka_unit_test_setup(approved_changes_of_a_lost_train_enter_again, train_setup),
        cmocka_unit_test_setup(a_verified_merge_onto_the_base_is_not_built_again, train_setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_free();
    return rc;
}
