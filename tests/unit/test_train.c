/* The merge train's decisions: which candidates are built, when the base
 * moves, who is refused, and what a restart keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "train.h"

/* Every decision as one line: "build 3 base0: A B", "advance base0->mB: A B",
 * "eject B failed: out", "paused base0: out", "resumed base0". */
typedef struct {
    char ops[64][160];
    int n;
    uint64_t last_build;
} rec;

static void r_build(void *ctx, const train_build *b)
{
    rec *r = ctx;
    int o = snprintf(r->ops[r->n], sizeof(r->ops[0]), "build %llu %s:", (unsigned long long)b->build, b->base);
    for (int k = 0; k < b->n; k++)
        o += snprintf(r->ops[r->n] + o, sizeof(r->ops[0]) - (size_t)o, " %s", b->ids[k]);
    r->last_build = b->build;
    r->n++;
}

static void r_advance(void *ctx, const char *from, const char *to, const char *const *ids, int n)
{
    rec *r = ctx;
    int o = snprintf(r->ops[r->n], sizeof(r->ops[0]), "advance %s->%s:", from, to);
    for (int k = 0; k < n; k++)
        o += snprintf(r->ops[r->n] + o, sizeof(r->ops[0]) - (size_t)o, " %s", ids[k]);
    r->n++;
}

static void r_eject(void *ctx, const char *id, train_eject_kind kind, const char *output)
{
    rec *r = ctx;
    snprintf(r->ops[r->n++], sizeof(r->ops[0]), "eject %s %s: %s", id,
             kind == TRAIN_EJECT_FAILED ? "failed" : kind == TRAIN_EJECT_CONFLICT ? "conflict" : "dependency", output);
}

static void r_paused(void *ctx, const char *base, const char *output)
{
    rec *r = ctx;
    snprintf(r->ops[r->n++], sizeof(r->ops[0]), "paused %s: %s", base, output);
}

static void r_resumed(void *ctx, const char *base)
{
    rec *r = ctx;
    snprintf(r->ops[r->n++], sizeof(r->ops[0]), "resumed %s", base);
}

static const train_cfg CFG = {.max_ahead = 8, .base_retry_ms = 60000};

static train *mk(rec *r, const char *base)
{
    train_out out = {r, r_build, r_advance, r_eject, r_paused, r_resumed};
    memset(r, 0, sizeof(*r));
    return train_create(base, &CFG, &out);
}

static void add(train *t, const char *id, const char *dep)
{
    char err[ERR_LEN], commit[64];
    const char *deps[1] = {dep};
    train_change c = {.id = id, .commit = commit, .deps = deps, .ndeps = dep ? 1 : 0};
    snprintf(commit, sizeof(commit), "c%s", id);
    assert_int_equal(train_enqueue(t, &c, err), ORCH_OK);
}

/* A train on b0 with these changes (ids one letter each, "A B C") queued
 * and their candidates asked for, four builders free. */
static train *queued(rec *r, const char *ids)
{
    train *t = mk(r, "b0");
    for (const char *p = ids; *p; p++) {
        char id[2] = {*p, '\0'};
        if (*p != ' ')
            add(t, id, NULL);
    }
    train_step(t, 4, 0);
    return t;
}

/* The result of the build recorded as ops[op] ("build N ..."). */
static uint64_t build_of(const rec *r, int op)
{
    unsigned long long b = 0;
    assert_true(op < r->n);
    assert_int_equal(sscanf(r->ops[op], "build %llu", &b), 1);
    return b;
}

static void passed(train *t, const rec *r, int op, const char *merged)
{
    assert_int_equal(train_result(t, build_of(r, op), 1, 0, merged, NULL, 0), 1);
}

static void failed(train *t, const rec *r, int op, const char *out)
{
    assert_int_equal(train_result(t, build_of(r, op), 0, 0, NULL, out, 0), 1);
}

static void nothing_breaks_each_candidate_is_built_once_and_the_prefix_merges_in_one_move(void **state)
{
    rec r;
    train *t = queued(&r, "A B C");
    (void)state;
    assert_int_equal(r.n, 3);
    assert_string_equal(r.ops[0], "build 1 b0: A");
    assert_string_equal(r.ops[1], "build 2 b0: A B");
    assert_string_equal(r.ops[2], "build 3 b0: A B C");
    assert_int_equal(train_building(t), 3);
    passed(t, &r, 0, "mA");
    passed(t, &r, 1, "mAB");
    passed(t, &r, 2, "mABC");
    train_step(t, 4, 0);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.ops[3], "advance b0->mABC: A B C");
    assert_int_equal(train_where(t, "B"), TRAIN_MERGING);
    train_step(t, 4, 0);
    assert_int_equal(r.n, 4);   /* one move at a time, asked once */
    train_advanced(t, 1, NULL);
    assert_int_equal(train_len(t), 0);
    assert_string_equal(train_base(t), "mABC");
    train_destroy(t);
}

static void results_in_any_order_move_the_base_only_over_a_passed_prefix(void **state)
{
    rec r;
    train *t = queued(&r, "A B C");
    (void)state;
    passed(t, &r, 2, "mABC");
    passed(t, &r, 1, "mAB");
    train_step(t, 4, 0);
    assert_int_equal(r.n, 3);   /* A not yet built: nothing moves */
    assert_int_equal(train_where(t, "C"), TRAIN_PASSED);
    assert_int_equal(train_position(t, "C"), 2);
    passed(t, &r, 0, "mA");
    train_step(t, 4, 0);
    assert_string_equal(r.ops[3], "advance b0->mABC: A B C");
    train_destroy(t);
}

static void a_change_that_fails_is_refused_and_those_behind_are_built_without_it(void **state)
{
    rec r;
    train *t = queued(&r, "A B C");
    (void)state;
    failed(t, &r, 1, "error: B broke it");
    passed(t, &r, 2, "mABC");   /* a candidate holding B: void once B goes */
    train_step(t, 4, 0);
    assert_int_equal(r.n, 3);   /* B cannot be judged before A passed */
    passed(t, &r, 0, "mA");
    train_step(t, 4, 0);
    assert_string_equal(r.ops[3], "eject B failed: error: B broke it");
    assert_string_equal(r.ops[4], "advance b0->mA: A");
    assert_string_equal(r.ops[5], "build 4 b0: A C");
    assert_int_equal(train_position(t, "B"), -1);
    /* C's old result (with B) no longer counts */
    assert_int_equal(train_result(t, 3, 1, 0, "mABC", NULL, 0), 0);
    train_advanced(t, 1, NULL);
    passed(t, &r, 5, "mAC");
    train_step(t, 4, 0);
    assert_string_equal(r.ops[6], "advance mA->mAC: C");
    train_destroy(t);
}

static void two_changes_that_break_only_together_the_first_merges_the_second_is_refused(void **state)
{
    rec r;
    train *t = queued(&r, "A B");
    (void)state;
    passed(t, &r, 0, "mA");
    failed(t, &r, 1, "undefined reference to `old_name'");
    train_step(t, 4, 0);
    assert_string_equal(r.ops[2], "eject B failed: undefined reference to `old_name'");
    assert_string_equal(r.ops[3], "advance b0->mA: A");
    assert_int_equal(r.n, 4);
    train_destroy(t);
}

static void a_head_failing_on_an_unchecked_base_has_the_base_built_first(void **state)
{
    rec r;
    train *t = mk(&r, "b0");
    (void)state;
    add(t, "A", NULL);
    train_step(t, 2, 0);
    failed(t, &r, 0, "test_x failed");
    train_step(t, 2, 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.ops[1], "build 2 b0:");   /* the base alone */
    assert_int_equal(train_position(t, "A"), 0);
    passed(t, &r, 1, "b0");
    train_step(t, 2, 0);
    assert_string_equal(r.ops[2], "eject A failed: test_x failed");
    train_destroy(t);
}

static void a_failing_base_pauses_the_train_and_blames_no_change(void **state)
{
    rec r;
    train *t = mk(&r, "b0");
    (void)state;
    add(t, "A", NULL);
    add(t, "B", NULL);
    train_step(t, 1, 0);
    assert_int_equal(r.n, 1);   /* one builder free: one build */
    failed(t, &r, 0, "flaky: timeout");
    train_step(t, 1, 0);
    assert_string_equal(r.ops[1], "build 2 b0:");
    assert_int_equal(train_result(t, 2, 0, 0, NULL, "flaky: timeout", 1000), 1);
    assert_string_equal(r.ops[2], "paused b0: flaky: timeout");
    assert_true(train_paused(t));
    train_step(t, 4, 30000);
    assert_int_equal(r.n, 3);   /* nothing before the retry time */
    train_step(t, 4, 61000);
    assert_string_equal(r.ops[3], "build 3 b0:");
    assert_int_equal(r.n, 4);   /* only the check while paused */
    assert_int_equal(train_result(t, 3, 1, 0, "b0", NULL, 61500), 1);
    assert_string_equal(r.ops[4], "resumed b0");
    train_step(t, 4, 61500);
    /* A was not refused: built again, with B behind it */
    assert_string_equal(r.ops[5], "build 4 b0: A");
    assert_string_equal(r.ops[6], "build 5 b0: A B");
    for (int i = 0; i < r.n; i++)
        assert_null(strstr(r.ops[i], "eject"));
    train_destroy(t);
}

static void a_change_whose_verification_built_its_merge_into_the_base_needs_no_second_build(void **state)
{
    rec r;
    char err[ERR_LEN];
    train *t = mk(&r, "b0");
    train_change c = {.id = "A", .commit = "cA", .verified_on = "b0", .verified_merge = "vA"};
    train_change d = {.id = "B", .commit = "cB", .verified_on = "b0", .verified_merge = "vB"};
    (void)state;
    assert_int_equal(train_enqueue(t, &c, err), ORCH_OK);
    assert_int_equal(train_enqueue(t, &d, err), ORCH_OK);   /* something ahead: B's check does not count */
    train_step(t, 4, 0);
    assert_string_equal(r.ops[0], "advance b0->vA: A");
    assert_string_equal(r.ops[1], "build 1 b0: A B");
    assert_int_equal(r.n, 2);
    train_destroy(t);
}

static void a_change_stacked_on_a_refused_one_leaves_with_it(void **state)
{
    rec r;
    train *t = mk(&r, "b0");
    (void)state;
    add(t, "A", NULL);
    add(t, "B", "A");
    add(t, "C", NULL);
    train_step(t, 4, 0);
    failed(t, &r, 0, "A broke");
    passed(t, &r, 1, "mAB");
    train_step(t, 4, 0);
    assert_string_equal(r.ops[3], "build 4 b0:");
    passed(t, &r, 3, "b0");
    train_step(t, 4, 0);
    assert_string_equal(r.ops[4], "eject A failed: A broke");
    assert_string_equal(r.ops[5], "eject B dependency: dependency A left the merge train");
    assert_string_equal(r.ops[6], "build 5 b0: C");
    assert_int_equal(train_len(t), 1);
    train_destroy(t);
}

static void a_change_that_does_not_merge_is_refused_as_a_conflict_without_a_base_check(void **state)
{
    rec r;
    train *t = queued(&r, "A");
    (void)state;
    assert_int_equal(train_result(t, 1, 0, 1, NULL, "CONFLICT (content): Merge conflict in src/a.h", 0), 1);
    train_step(t, 4, 0);
    assert_string_equal(r.ops[1], "eject A conflict: CONFLICT (content): Merge conflict in src/a.h");
    train_destroy(t);
}

static void speculation_is_bounded_by_free_builders_and_max_ahead(void **state)
{
    rec r;
    train_out out = {&r, r_build, r_advance, r_eject, r_paused, r_resumed};
    train_cfg cfg = {.max_ahead = 2, .base_retry_ms = 0};
    train *t;
    (void)state;
    memset(&r, 0, sizeof(r));
    t = train_create("b0", &cfg, &out);
    add(t, "A", NULL);
    add(t, "B", NULL);
    add(t, "C", NULL);
    train_step(t, 1, 0);
    assert_int_equal(r.n, 1);
    train_step(t, 5, 0);
    assert_int_equal(r.n, 2);   /* B; C is beyond max_ahead */
    assert_int_equal(train_where(t, "C"), TRAIN_QUEUED);
    passed(t, &r, 0, "mA");
    train_step(t, 5, 0);
    train_advanced(t, 1, NULL);
    train_step(t, 5, 0);
    assert_string_equal(r.ops[3], "build 3 mA: B C");   /* on the base A moved it to */
    train_destroy(t);
}

static void a_base_moved_by_someone_else_voids_every_candidate(void **state)
{
    rec r;
    train *t = queued(&r, "A B");
    (void)state;
    passed(t, &r, 0, "mA");
    train_step(t, 4, 0);
    assert_string_equal(r.ops[2], "advance b0->mA: A");
    train_advanced(t, 0, "hotfix");
    assert_string_equal(train_base(t), "hotfix");
    assert_int_equal(train_result(t, 2, 1, 0, "mAB", NULL, 0), 0);
    train_step(t, 4, 0);
    assert_string_equal(r.ops[3], "build 3 hotfix: A");
    assert_string_equal(r.ops[4], "build 4 hotfix: A B");
    train_destroy(t);
}

static void a_train_restored_mid_build_asks_again_and_takes_the_old_results(void **state)
{
    rec r, r2;
    char err[ERR_LEN];
    train_out out2 = {&r2, r_build, r_advance, r_eject, r_paused, r_resumed};
    train *t = mk(&r, "b0"), *u;
    cJSON *j;
    (void)state;
    add(t, "A", NULL);
    add(t, "B", "A");
    train_step(t, 4, 0);
    passed(t, &r, 0, "mA");
    j = train_to_json(t);
    train_destroy(t);   /* the process is killed */
    memset(&r2, 0, sizeof(r2));
    assert_non_null(u = train_from_json(j, &CFG, &out2, err));
    cJSON_Delete(j);
    train_step(u, 4, 0);
    assert_string_equal(r2.ops[0], "advance b0->mA: A");
    assert_string_equal(r2.ops[1], "build 2 b0: A B");   /* the same build, asked again */
    assert_int_equal(train_result(u, 2, 1, 0, "mAB", NULL, 0), 1);
    assert_int_equal(train_result(u, 2, 1, 0, "mAB", NULL, 0), 0);   /* its twin answers too: once */
    train_destroy(u);
}

static void a_train_killed_mid_move_merges_nothing_twice(void **state)
{
    rec r, r2;
    char err[ERR_LEN];
    train_out out2 = {&r2, r_build, r_advance, r_eject, r_paused, r_resumed};
    train *t = mk(&r, "b0"), *u;
    cJSON *j;
    (void)state;
    add(t, "A", NULL);
    train_step(t, 4, 0);
    passed(t, &r, 0, "mA");
    train_step(t, 4, 0);
    assert_string_equal(r.ops[1], "advance b0->mA: A");
    j = train_to_json(t);
    train_destroy(t);

    /* the push happened before the kill: the remote base is the target */
    memset(&r2, 0, sizeof(r2));
    assert_non_null(u = train_from_json(j, &CFG, &out2, err));
    assert_int_equal(train_where(u, "A"), TRAIN_MERGING);
    train_base_is(u, "mA");
    train_step(u, 4, 0);
    assert_int_equal(r2.n, 0);
    assert_int_equal(train_len(u), 0);
    assert_string_equal(train_base(u), "mA");
    train_destroy(u);

    /* it did not: the move is decided again, once */
    memset(&r2, 0, sizeof(r2));
    assert_non_null(u = train_from_json(j, &CFG, &out2, err));
    train_base_is(u, "b0");
    train_step(u, 4, 0);
    train_step(u, 4, 0);
    assert_int_equal(r2.n, 1);
    assert_string_equal(r2.ops[0], "advance b0->mA: A");
    train_destroy(u);
    cJSON_Delete(j);
}

static void a_removed_change_is_taken_out_and_those_behind_rebuilt(void **state)
{
    rec r;
    train *t = queued(&r, "A B");
    (void)state;
    assert_int_equal(train_remove(t, "A"), 1);
    assert_int_equal(train_remove(t, "A"), 0);
    train_step(t, 4, 0);
    assert_string_equal(r.ops[2], "build 3 b0: B");
    train_destroy(t);
}

static void bad_input_is_refused_with_a_reason(void **state)
{
    rec r;
    char err[ERR_LEN];
    train *t = mk(&r, "b0"), *u;
    train_change none = {.id = "", .commit = "c"};
    train_change dup = {.id = "A", .commit = "c"};
    cJSON *j;
    (void)state;
    assert_null(train_create("", &CFG, NULL));
    assert_int_equal(train_enqueue(t, &none, err), ORCH_ERR_INVALID);
    assert_int_equal(train_enqueue(t, &dup, err), ORCH_OK);
    assert_int_equal(train_enqueue(t, &dup, err), ORCH_ERR_INVALID);
    assert_non_null(strstr(err, "already"));
    assert_int_equal(train_result(t, 0, 1, 0, "x", NULL, 0), 0);
    assert_int_equal(train_result(t, 99, 1, 0, "x", NULL, 0), 0);
    assert_null(train_from_json(NULL, &CFG, NULL, err));
    j = cJSON_Parse("{\"base\":\"b\",\"target\":\"\",\"nextBuild\":1,\"baseCheck\":0,\"advancing\":2,"
                    "\"nextCheckMs\":0,\"items\":[]}");
    assert_null(train_from_json(j, &CFG, NULL, err));   /* a move of more changes than there are */
    cJSON_Delete(j);
    j = cJSON_Parse("{\"base\":\"b\",\"target\":\"\",\"nextBuild\":5,\"baseCheck\":0,\"advancing\":0,"
                    "\"nextCheckMs\":0,\"items\":[{\"id\":\"A\",\"commit\":\"c\",\"deps\":[],\"state\":\"building\","
                    "\"build\":0,\"merged\":\"\"}]}");
    assert_null(u = train_from_json(j, &CFG, NULL, err));   /* building with no build */
    cJSON_Delete(j);
    train_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_breaks_each_candidate_is_built_once_and_the_prefix_merges_in_one_move),
        cmocka_unit_test(results_in_any_order_move_the_base_only_over_a_passed_prefix),
        cmocka_unit_test(a_change_that_fails_is_refused_and_those_behind_are_built_without_it),
        cmocka_unit_test(two_changes_that_break_only_together_the_first_merges_the_second_is_refused),
        cmocka_unit_test(a_head_failing_on_an_unchecked_base_has_the_base_built_first),
        cmocka_unit_test(a_failing_base_pauses_the_train_and_blames_no_change),
        cmocka_unit_test(a_change_whose_verification_built_its_merge_into_the_base_needs_no_second_build),
        cmocka_unit_test(a_change_stacked_on_a_refused_one_leaves_with_it),
        cmocka_unit_test(a_change_that_does_not_merge_is_refused_as_a_conflict_without_a_base_check),
        cmocka_unit_test(speculation_is_bounded_by_free_builders_and_max_ahead),
        cmocka_unit_test(a_base_moved_by_someone_else_voids_every_candidate),
        cmocka_unit_test(a_train_restored_mid_build_asks_again_and_takes_the_old_results),
        cmocka_unit_test(a_train_killed_mid_move_merges_nothing_twice),
        cmocka_unit_test(a_removed_change_is_taken_out_and_those_behind_rebuilt),
        cmocka_unit_test(bad_input_is_refused_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
