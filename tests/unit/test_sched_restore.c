/* sched_restore.c: a new leader rebuilt from the saved states publishes
 * again what was decided and not confirmed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_sched_harness.h"

static void restart_from_saved_state_republishes_undecided(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    sched *t;
    size_t counts[NAMES_STATUS_COUNT];
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    landed(s, "A", 1);                    /* B dispatched */
    rec.fail_dispatch = 1;                /* the publisher is down: C decided, not published */
    sched_add(s, req("C", FE, MED, 100, NULL, NULL), &clk);
    sched_destroy(s);                     /* the scheduler dies */
    rec.fail_dispatch = 0;
    rec.nd = 0;

    t = sched_create(&cfg, &out, &clk);
    for (int i = 0; i < rec.nsaved; i++) {
        char err[ERR_LEN];
        pb_state *st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, rec.saved[i],
                                             rec.saved_len[i], PB_MAX_MSG, err);
        sched_restore(t, st);
    }
    sched_resume(t, &clk);
    assert_int_equal(sched_count(t, counts), 3);
    assert_int_equal(status(t, "A"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_int_equal(status(t, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    /* B was published before the crash: not again. C now goes out. */
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].id, "C");
    verdict(t, "B", 1, PASS, NULL);
    assert_int_equal(status(t, "B"), ORCHESTRATOR__V1__STATUS__STATUS_REVIEWING);
    sched_destroy(t);
}

/* Verified work in review when the scheduler dies still holds its files and
 * its dependents after the restart: nothing is built beside it, or on a
 * base without it. */
static void a_restart_keeps_unmerged_work_holding(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    sched *t;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, "src/a.c"), &clk);
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    verdict(s, "A", 1, PASS, NULL);
    review(s, "A", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    sched_destroy(s);
    rec.nd = 0;
    t = from_saved(&out, NULL, 0);
    assert_int_equal(status(t, "A"), ORCHESTRATOR__V1__STATUS__STATUS_MERGING);
    assert_int_equal(status(t, "B"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED);
    sched_add(t, req("C", FE, MED, 100, NULL, "src/a.c"), &clk);
    assert_int_equal(status(t, "C"), ORCHESTRATOR__V1__STATUS__STATUS_READY);
    assert_non_null(strstr(why(t, "C"), "overlap: with A"));
    merged(t, "A");
    assert_int_equal(status(t, "A"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_int_equal(status(t, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_int_equal(status(t, "C"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    sched_destroy(t);
}

/* A review or a merge decided by a leader that died before publishing it
 * is asked for again by the next one (the same message id: a copy is
 * dropped), so work never waits in review or merge for a request that was
 * lost. */
static void a_new_leader_asks_again_for_unanswered_reviews_and_merges(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    sched *t;
    (void)state;
    sched_add(s, req("R", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("M", FE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("D", DB, MED, 100, NULL, NULL), &clk);
    verdict(s, "R", 1, PASS, NULL);
    verdict(s, "M", 1, PASS, NULL);
    review(s, "M", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    landed(s, "D", 1);
    sched_destroy(s);
    rec.nr = 0;
    rec.nm = 0;
    t = from_saved(&out, NULL, 0);
    assert_int_equal(rec.nr, 1);
    assert_string_equal(rec.reviews[0], "R");
    assert_int_equal(rec.nm, 1);
    assert_string_equal(rec.merges[0], "M");   /* not D: merged */
    merged(t, "M");
    assert_int_equal(status(t, "M"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    sched_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(restart_from_saved_state_republishes_undecided, setup),
        cmocka_unit_test_setup(a_restart_keeps_unmerged_work_holding, setup),
        cmocka_unit_test_setup(a_new_leader_asks_again_for_unanswered_reviews_and_merges, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_free();
    return rc;
}
