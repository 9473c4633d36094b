/* The chaos checker: each history by hand, each class reachable, so a run
 * that loses or doubles work cannot pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "checker.h"

static void a_clean_history_is_all_completed(void **state)
{
    checker *c = ck_create();
    ck_report r;
    (void)state;
    ck_submitted(c, "CH-1");
    ck_submitted(c, "CH-2");
    ck_dispatched(c, "backend", "CH-1", 1, "CH-1-a1");
    ck_dispatched(c, "backend", "CH-1", 2, "CH-1-a2"); /* a retry is not a duplicate */
    ck_dispatched(c, "review", "CH-1", 2, "review-CH-1-a2");
    ck_dispatched(c, "frontend", "CH-2", 1, "CH-2-a1");
    ck_result(c, "backend", "CH-1", 1, 100);
    ck_result(c, "backend", "CH-1", 2, 150);
    ck_result(c, "review", "CH-1", 0, 1500);
    ck_result(c, "frontend", "CH-2", 1, 70);
    ck_final(c, "CH-1", "COMPLETE", 100 + 150 + 1500);
    ck_final(c, "CH-2", "ESCALATED", 70);
    ck_verdict(c, "CH-1", 1, 0, "", 0);
    ck_verdict(c, "CH-1", 2, 1, "c0ffee", 0);
    ck_final_attempt(c, "CH-1", 2, "c0ffee");
    ck_check(c, &r, NULL);
    assert_int_equal(r.unverified, 0);
    assert_int_equal(r.foreign, 0);
    assert_int_equal(r.ledger_off, 0);
    assert_int_equal(r.submitted, 2);
    assert_int_equal(r.n[CK_COMPLETED], 1);
    assert_int_equal(r.n[CK_ESCALATED], 1);
    assert_int_equal(r.n[CK_LOST] + r.n[CK_DUPLICATED] + r.n[CK_UNKNOWN], 0);
    assert_int_equal(r.tokens_reported, 100 + 150 + 1500 + 70);
    ck_destroy(c);
}

static void each_failure_has_its_class(void **state)
{
    checker *c = ck_create();
    ck_report r;
    (void)state;
    ck_submitted(c, "LOST");
    ck_submitted(c, "TWICE");
    ck_submitted(c, "ACTED-TWICE");
    ck_submitted(c, "NO-ID-TWICE");
    ck_submitted(c, "STUCK");
    ck_dispatched(c, "backend", "TWICE", 1, "TWICE-a1");
    ck_dispatched(c, "backend", "TWICE", 1, "TWICE-a1");
    ck_dispatched(c, "backend", "ACTED-TWICE", 1, "ACTED-TWICE-a1");
    ck_result(c, "backend", "ACTED-TWICE", 1, 10);
    ck_result(c, "backend", "ACTED-TWICE", 1, 30); /* the larger report counts once */
    ck_dispatched(c, "database", "NO-ID-TWICE", 3, NULL);
    ck_dispatched(c, "database", "NO-ID-TWICE", 3, NULL);
    ck_final(c, "TWICE", "COMPLETE", 0);  /* complete, but dispatched twice */
    ck_final(c, "ACTED-TWICE", "COMPLETE", 40); /* charged 40 for a report of 30 */
    ck_final(c, "NO-ID-TWICE", "COMPLETE", 0);
    ck_final(c, "STUCK", "DISPATCHED", 0);
    ck_final(c, "NOT-SUBMITTED", "COMPLETE", 5);  /* ignored */
    ck_check(c, &r, NULL);
    assert_int_equal(r.submitted, 5);
    assert_int_equal(r.n[CK_LOST], 1);
    assert_int_equal(r.n[CK_DUPLICATED], 3);
    assert_int_equal(r.n[CK_UNKNOWN], 1);
    assert_int_equal(r.n[CK_COMPLETED], 0);
    assert_int_equal(r.tokens_reported, 30);
    assert_int_equal(r.ledger_off, 1);
    assert_string_equal(ck_class_name(CK_DUPLICATED), "duplicated");
    ck_destroy(c);
}

static void acts_are_judged_against_the_lease_in_force(void **state)
{
    checker *c = ck_create();
    ck_report r;
    (void)state;
    ck_act(c, "scheduler", "s1", "dispatched CH-0", 500);      /* before any lease event: not judged */
    ck_lease(c, "scheduler", "s1", 1000);
    ck_lease(c, "monitor", "m1", 1000);
    ck_act(c, "scheduler", "s1", "dispatched CH-1", 1500);
    ck_lease(c, "scheduler", "s1", 4000);                       /* a renewal */
    ck_act(c, "monitor", "m1", "alert critical", 4500);
    /* s1 paused; s2 took over at 15000 */
    ck_lease(c, "scheduler", "s2", 15000);
    ck_act(c, "scheduler", "s2", "dispatched CH-2", 15000);     /* at the very time it took it */
    ck_act(c, "scheduler", "s1", "dispatched CH-3", 16000);     /* the ex-leader woke up and acted */
    ck_act(c, "monitor", "m2", "kill", 16000);                   /* m1 still holds the monitor lease */
    ck_lease(c, "monitor", "", 20000);                           /* m1 released it */
    ck_act(c, "monitor", "m1", "alert warning", 20001);
    ck_check(c, &r, NULL);
    assert_int_equal(r.acts, 6);
    assert_int_equal(r.unfenced, 3);
    ck_destroy(c);

    c = ck_create();
    ck_check(c, &r, NULL);
    assert_int_equal(r.acts, 0);
    assert_int_equal(r.unfenced, 0);
    ck_destroy(c);
}

/* What the forger tries, judged: work completed on a forged verdict (no
 * genuine pass of its final attempt, or its state naming the forged
 * commit), and a dispatch of an id nobody submitted (a forged state
 * believed). */
static void completions_need_their_own_verified_result(void **state)
{
    checker *c = ck_create();
    ck_report r;
    (void)state;
    ck_submitted(c, "OK");
    ck_submitted(c, "FORGED-ONLY");
    ck_submitted(c, "FORGED-COMMIT");
    ck_submitted(c, "OLD-ATTEMPT");
    ck_final(c, "OK", "COMPLETE", 0);
    ck_final(c, "FORGED-ONLY", "COMPLETE", 0);
    ck_final(c, "FORGED-COMMIT", "COMPLETE", 0);
    ck_final(c, "OLD-ATTEMPT", "COMPLETE", 0);
    ck_verdict(c, "OK", 1, 1, "aaaa", 0);
    ck_verdict(c, "OK", 9, 1, "ffff", 1);              /* forged: counted, not believed */
    ck_verdict(c, "FORGED-ONLY", 1, 1, "ffff", 1);
    ck_verdict(c, "FORGED-COMMIT", 1, 1, "bbbb", 0);
    ck_verdict(c, "OLD-ATTEMPT", 1, 1, "cccc", 0);    /* passed attempt 1; completed as attempt 2 */
    ck_final_attempt(c, "OK", 1, "aaaa");
    ck_final_attempt(c, "FORGED-ONLY", 1, "ffff");
    ck_final_attempt(c, "FORGED-COMMIT", 1, "ffff");
    ck_final_attempt(c, "OLD-ATTEMPT", 2, "cccc");
    ck_dispatched(c, "backend", "FG-1", 1, "FG-1-a1");
    ck_check(c, &r, NULL);
    assert_int_equal(r.n[CK_COMPLETED], 4);
    assert_int_equal(r.unverified, 3);
    assert_int_equal(r.foreign, 1);
    assert_int_equal(r.forged_verdicts, 2);
    ck_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_clean_history_is_all_completed),
        cmocka_unit_test(each_failure_has_its_class),
        cmocka_unit_test(acts_are_judged_against_the_lease_in_force),
        cmocka_unit_test(completions_need_their_own_verified_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
