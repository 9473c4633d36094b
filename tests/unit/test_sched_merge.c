/* sched_merge.c: reviews and merges: dependency order, changes requested,
 * the delivered change carried to review and merge, a refused merge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_sched_harness.h"

/* A dependent is worked on only once its dependency is merged, so its
 * merge follows its dependency's; independent approvals go out together,
 * as one batch. */
static void approved_merges_go_in_dependency_order(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", BE, MED, 100, "A", NULL), &clk);
    sched_add(s, req("C", FE, MED, 100, NULL, NULL), &clk);
    verdict(s, "A", 1, PASS, NULL);
    verdict(s, "C", 1, PASS, NULL);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED); /* not on an unmerged A */
    review(s, "C", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    review(s, "A", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED, "fine");
    assert_int_equal(rec.nm, 2);
    assert_string_equal(rec.merges[0], "C");
    assert_string_equal(rec.merges[1], "A");
    assert_int_equal(rec.merge_size[1], 1);
    merged(s, "A");
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    landed(s, "B", 1);
    assert_int_equal(rec.nm, 3);
    assert_string_equal(rec.merges[2], "B");
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    sched_destroy(s);
}

static void changes_requested_go_back_to_the_agent(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    verdict(s, "A", 1, PASS, NULL);
    review(s, "A", ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_CHANGES_REQUESTED, "missing tests");
    assert_int_equal(rec.nd, 2);
    assert_int_equal(rec.d[1].attempt, 2);
    assert_string_equal(rec.d[1].output, "review requested changes: missing tests");
    sched_destroy(s);
}

/* A verdict counts only once its attempt's result was taken: before, it
 * changes nothing; after, it names the change the verifier verified where
 * the result left it out. */
static void a_verdict_counts_after_its_result_and_names_the_change(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    const pb_state *st;
    pb_verdict v;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = "A";
    v.attempt = 1;
    v.kind = PASS;
    v.project = "demo";
    v.ref = "refs/heads/req/A-a1";
    v.commit = "0123456789abcdef0123456789abcdef01234567";
    assert_true(sched_verdict_early(s, &v));
    sched_verdict(s, &v, &clk);
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED); /* no result yet */
    result(s, "A", 1, 10);
    assert_false(sched_verdict_early(s, &v));
    sched_verdict(s, &v, &clk);
    st = sched_get(s, "A");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_REVIEWING);
    assert_non_null(st->delivery);
    assert_string_equal(st->delivery->project, "demo");
    assert_string_equal(st->delivery->ref, "refs/heads/req/A-a1");
    sched_destroy(s);
}

static void the_change_travels_to_review_and_merge(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    const pb_state *st;
    pb_result r;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    delivered(s, "A", 1, 0);
    st = sched_get(s, "A");
    assert_non_null(st->delivery);
    assert_string_equal(st->delivery->project, "demo");
    assert_string_equal(st->delivery->ref, "refs/heads/req/A-a1");
    assert_string_equal(st->delivery->summary, "adds the endpoint");
    assert_string_equal(st->delivery->commit, "0123456789abcdef0123456789abcdef01234567");
    assert_string_equal(st->delivery->base_branch, "main");
    assert_string_equal(st->instance, "roy-1");
    review(s, "A", APPROVED, "fine");
    assert_int_equal(rec.nm, 1);
    /* the release agent's report: merged, once */
    orchestrator__v1__result__init(&r);
    r.requirement_id = "A";
    r.attempt = 1;
    r.agent_type = RELEASE;
    r.ref = "refs/heads/main";
    r.summary = "merged onto main";
    assert_int_equal(result_from(s, RELEASE, &r), ADMIT_OK);
    st = sched_get(s, "A");
    assert_true(st->delivery->merged);
    assert_string_equal(st->delivery->merged_ref, "refs/heads/main");
    assert_string_equal(st->reason, "merged: merged onto main");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    /* a refusal after the merge is recorded changes nothing */
    release_error(s, "A", 1, "late");
    assert_int_equal(rec.nd, 1);
    sched_destroy(s);
}

static void a_refused_merge_goes_back_to_the_author(void **state)
{
    sched *s;
    const pb_state *st;
    const char *conflict = "0123456 does not merge onto main:\nCONFLICT (content): Merge conflict in src/api.c\n";
    (void)state;
    cfg.max_attempts = 2;
    s = sched_create(&cfg, &out, &clk);
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    delivered(s, "A", 1, 0);
    review(s, "A", APPROVED, "fine");
    assert_int_equal(rec.nm, 1);
    assert_int_equal(release_error(s, "A", 1, conflict), ADMIT_OK);
    assert_int_equal(rec.nd, 2); /* the next attempt, with the exact output */
    assert_int_equal(rec.d[1].attempt, 2);
    assert_non_null(strstr(rec.d[1].output, conflict));
    st = sched_get(s, "A");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_false(st->merge_released);
    assert_int_equal(st->review, 0);
    assert_null(st->delivery); /* the new attempt delivers anew */
    assert_int_equal(release_error(s, "A", 1, conflict), ADMIT_PAST_ATTEMPT); /* redelivered: nothing */
    assert_int_equal(rec.nd, 2);
    /* a refused merge is no failed attempt of the author's: with
     * max_attempts 2, the second refusal still goes back to it */
    delivered(s, "A", 2, 0);
    review(s, "A", APPROVED, "fine");
    assert_int_equal(rec.nm, 2);
    release_error(s, "A", 2, "merged onto main fails verification:\nmake: *** [all] Error 2\n");
    st = sched_get(s, "A");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED);
    assert_int_equal(st->attempt, 3);
    assert_int_equal(st->merge_refusals, 2);
    assert_int_equal(rec.nalert, 0);
    /* refusals have their own limit (3 by default): the fourth is a human's */
    for (unsigned a = 3; a <= 4; a++) {
        delivered(s, "A", a, 0);
        review(s, "A", APPROVED, "fine");
        release_error(s, "A", a, conflict);
    }
    st = sched_get(s, "A");
    assert_int_equal(st->status, ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_non_null(strstr(st->reason, "the merge was refused 4 times"));
    assert_int_equal(rec.nd, 4);
    assert_int_equal(rec.nalert, 1);
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(approved_merges_go_in_dependency_order, setup),
        cmocka_unit_test_setup(changes_requested_go_back_to_the_agent, setup),
        cmocka_unit_test_setup(a_verdict_counts_after_its_result_and_names_the_change, setup),
        cmocka_unit_test_setup(the_change_travels_to_review_and_merge, setup),
        cmocka_unit_test_setup(a_refused_merge_goes_back_to_the_author, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_free();
    return rc;
}
