/* learn.c: nothing learned, too few samples, the mean with outliers cut,
 * the ring, the scale of an unlearned size, tokens, percentiles, and the
 * JSON a new leader reads back (good, bad, too big). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "learn.h"

enum { BE = 1, DOC = 4 };
enum { S = 1, M = 2, L = 3 };
#define MIN 60000LL

static const int64_t prior[LEARN_SIZES] = {120 * MIN, 30 * MIN, 120 * MIN, 240 * MIN, 480 * MIN};

static void test_prior_until_enough(void **state)
{
    learn l;
    int how = -1;
    uint64_t tok = 7;
    int64_t scaled, own;
    (void)state;
    learn_init(&l, prior);
    assert_int_equal(learn_duration(&l, BE, M, &how), 120 * MIN);
    assert_int_equal(how, 0);
    assert_int_equal(learn_tokens(&l, BE, M, &tok), 0);
    assert_int_equal(tok, 7);
    for (int i = 0; i < LEARN_MIN - 1; i++)
        assert_int_equal(learn_add(&l, BE, M, 60 * MIN, 1000), 0);
    /* too few for the size: the guess, scaled by the type's samples, pulled to 1 */
    scaled = learn_duration(&l, BE, M, &how);
    assert_int_equal(how, 1);
    assert_true(scaled > 60 * MIN && scaled < 120 * MIN);
    assert_int_equal(learn_add(&l, BE, M, 60 * MIN, 1000), 1); /* usable now */
    own = learn_duration(&l, BE, M, &how);
    assert_int_equal(how, 2);
    assert_true(own > 60 * MIN && own < scaled);
    assert_int_equal(learn_tokens(&l, BE, M, &tok), 1);
    assert_int_equal(tok, 1000);
    for (int i = 0; i < LEARN_KEEP; i++)
        learn_add(&l, BE, M, 60 * MIN, 1000);
    assert_true(learn_duration(&l, BE, M, NULL) < 63 * MIN); /* many samples: their mean */
    /* out-of-range type and size land in 0, never outside */
    learn_add(&l, 99, -3, MIN, 0);
    assert_int_equal(learn_count(&l, 0, 0), 1);
}

/* One sample far out is cut to LEARN_CUT x the median; an ordinary slow
 * one counts in full. */
static void test_outlier_cut(void **state)
{
    learn l;
    (void)state;
    learn_init(&l, prior);
    for (int i = 0; i < 9; i++)
        learn_add(&l, BE, S, 10 * MIN, 0);
    learn_add(&l, BE, S, 100000 * MIN, 0); /* an agent hung for weeks */
    assert_int_equal(l.b[BE][S].mean_ms, (9 * 10 + 80) * MIN / 10);
    assert_true(learn_duration(&l, BE, S, NULL) < 30 * MIN);
    learn_init(&l, prior);
    for (int i = 0; i < 9; i++)
        learn_add(&l, BE, S, 10 * MIN, 0);
    learn_add(&l, BE, S, 40 * MIN, 0);
    assert_int_equal(l.b[BE][S].mean_ms, 13 * MIN);
}

/* Only the last LEARN_KEEP samples count: the figure follows a change. */
static void test_ring_follows(void **state)
{
    learn l;
    int moved = 0;
    (void)state;
    learn_init(&l, prior);
    for (int i = 0; i < LEARN_KEEP; i++)
        learn_add(&l, DOC, S, 10 * MIN, 0);
    for (int i = 0; i < LEARN_KEEP; i++)
        moved += learn_add(&l, DOC, S, 20 * MIN, 0);
    assert_int_equal(learn_count(&l, DOC, S), LEARN_KEEP);
    assert_int_equal(l.b[DOC][S].mean_ms, 20 * MIN);
    assert_true(learn_duration(&l, DOC, S, NULL) > 19 * MIN && learn_duration(&l, DOC, S, NULL) <= 21 * MIN);
    assert_true(moved >= 1 && moved < LEARN_KEEP); /* told when it moved, not on every sample */
}

/* A learned size scales the type's others; a type with nothing takes the
 * scale of all types, which is pulled further towards 1. */
static void test_scale(void **state)
{
    learn l;
    int how;
    int64_t doc, be;
    (void)state;
    learn_init(&l, prior);
    for (int i = 0; i < LEARN_MIN; i++)
        learn_add(&l, DOC, S, 15 * MIN, 0); /* half the guess */
    doc = learn_duration(&l, DOC, L, &how);
    assert_int_equal(how, 1);
    be = learn_duration(&l, BE, L, &how);
    assert_int_equal(how, 1);
    assert_true(doc < be && be < 240 * MIN && doc > 120 * MIN);
}

/* What is left of running work: the samples longer than what it ran. */
static void test_remaining_and_draw(void **state)
{
    learn l;
    uint64_t rng = 88172645463325252ull;
    int64_t d;
    (void)state;
    learn_init(&l, prior);
    assert_int_equal(learn_remaining(&l, BE, M, 0), 120 * MIN);
    assert_int_equal(learn_remaining(&l, BE, M, 200 * MIN), 30 * MIN); /* late, nothing known: a quarter */
    assert_int_equal(learn_draw(&l, BE, M, 0, &rng), 120 * MIN);      /* nothing learned: the guess */
    for (int i = 1; i <= 10; i++)
        learn_add(&l, BE, M, i * 10 * MIN, 0);
    assert_int_equal(learn_remaining(&l, BE, M, 75 * MIN), 15 * MIN); /* 80, 90, 100 less 75 */
    d = learn_duration(&l, BE, M, NULL);
    assert_int_equal(learn_remaining(&l, BE, M, 200 * MIN), d / 4);
    for (int k = 0; k < 200; k++) {
        int64_t v = learn_draw(&l, BE, M, 75 * MIN, &rng);
        assert_true(v == 5 * MIN || v == 15 * MIN || v == 25 * MIN);
    }
    /* another size of the type: its samples, scaled by the sizes' expected durations */
    for (int k = 0; k < 200; k++) {
        int64_t v = learn_draw(&l, BE, L, 0, &rng);
        int64_t lo = 10 * MIN * learn_duration(&l, BE, L, NULL) / d, hi = 100 * MIN * learn_duration(&l, BE, L, NULL) / d;
        assert_true(v >= lo - 1 && v <= hi + 1);
    }
}

/* A result handled after its verdict: its tokens fill the newest sample
 * without any, not a new one. */
static void test_tokens_after_the_verdict(void **state)
{
    learn l;
    uint64_t tok;
    (void)state;
    learn_init(&l, prior);
    assert_int_equal(learn_add_tokens(&l, BE, M, 500), 0); /* nothing to fill */
    for (int i = 0; i < LEARN_MIN; i++)
        learn_add(&l, BE, M, MIN, i < 3 ? 1000 : 0);
    assert_int_equal(learn_tokens(&l, BE, M, &tok), 0);
    assert_int_equal(learn_add_tokens(&l, BE, M, 1000), 1);
    assert_int_equal(learn_tokens(&l, BE, M, &tok), 0);
    assert_int_equal(learn_add_tokens(&l, BE, M, 1000), 1);
    assert_int_equal(learn_tokens(&l, BE, M, &tok), 1);
    assert_int_equal(tok, 1000);
    assert_int_equal(learn_count(&l, BE, M), LEARN_MIN);
    assert_int_equal(learn_add_tokens(&l, BE, M, 1000), 0); /* all have theirs */
}

static void test_percentile(void **state)
{
    learn l;
    (void)state;
    learn_init(&l, prior);
    assert_int_equal(learn_duration_pct(&l, BE, M, 90), 2 * 120 * MIN);
    for (int i = 1; i <= 10; i++)
        learn_add(&l, BE, M, i * MIN, 0);
    assert_int_equal(learn_duration_pct(&l, BE, M, 90), 9 * MIN);
    assert_int_equal(learn_duration_pct(&l, BE, M, 50), 5 * MIN);
    assert_int_equal(learn_duration_pct(&l, BE, M, 100), 10 * MIN);
}

static void test_json_round_trip(void **state)
{
    learn a, b;
    char *js, err[ERR_LEN];
    size_t len;
    uint64_t tok;
    (void)state;
    learn_init(&a, prior);
    for (int i = 0; i < LEARN_KEEP + 5; i++)
        learn_add(&a, BE, M, (i + 1) * MIN, 500 + (uint64_t)i);
    learn_add(&a, DOC, S, 3 * MIN, 0);
    learn_to_json(&a, &js, &len);
    learn_init(&b, prior);
    assert_int_equal(learn_from_json(&b, js, len, err), ORCH_OK);
    assert_int_equal(learn_count(&b, BE, M), LEARN_KEEP);
    assert_int_equal(learn_count(&b, DOC, S), 1);
    assert_int_equal(learn_duration(&b, BE, M, NULL), learn_duration(&a, BE, M, NULL));
    assert_int_equal(learn_duration(&b, DOC, L, NULL), learn_duration(&a, DOC, L, NULL));
    assert_int_equal(learn_tokens(&b, BE, M, &tok), 1);
    assert_int_equal(b.b[BE][M].seen, LEARN_KEEP + 5);
    /* the ring continues where it was: the oldest goes first */
    learn_add(&a, BE, M, 1000 * MIN, 0);
    learn_add(&b, BE, M, 1000 * MIN, 0);
    assert_int_equal(learn_duration(&b, BE, M, NULL), learn_duration(&a, BE, M, NULL));
    free(js);
}

static void test_json_bad(void **state)
{
    learn l;
    char err[ERR_LEN], *big;
    const char *bad[] = {"", "[]", "{\"buckets\":{}}", "{\"buckets\":[{\"type\":\"backend\"}]}",
                         "{\"buckets\":[{\"type\":\"backend\",\"size\":\"M\",\"ms\":[-1]}]}",
                         "{\"buckets\":[{\"type\":\"backend\",\"size\":\"M\",\"ms\":[\"x\"]}]}", "{\"buckets\":["};
    (void)state;
    learn_init(&l, prior);
    for (int i = 0; i < LEARN_MIN; i++)
        learn_add(&l, BE, M, MIN, 0);
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        err[0] = 0;
        assert_int_equal(learn_from_json(&l, bad[k], strlen(bad[k]), err), ORCH_ERR_INVALID);
        assert_true(strlen(err) > 0);
        assert_int_equal(learn_count(&l, BE, M), LEARN_MIN); /* unchanged */
    }
    big = calloc(1, LEARN_JSON_MAX + 2);
    memset(big, ' ', LEARN_JSON_MAX + 1);
    assert_int_equal(learn_from_json(&l, big, LEARN_JSON_MAX + 1, err), ORCH_ERR_TOO_BIG);
    free(big);
    /* an unknown type is skipped, the rest is read */
    {
        const char *js = "{\"v\":1,\"buckets\":[{\"type\":\"astronaut\",\"size\":\"M\",\"ms\":[1]},"
                         "{\"type\":\"documentation\",\"size\":\"S\",\"ms\":[60000,60000]}]}";
        assert_int_equal(learn_from_json(&l, js, strlen(js), err), ORCH_OK);
        assert_int_equal(learn_count(&l, BE, M), 0);
        assert_int_equal(learn_count(&l, DOC, S), 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prior_until_enough), cmocka_unit_test(test_outlier_cut),
        cmocka_unit_test(test_ring_follows),       cmocka_unit_test(test_scale),
        cmocka_unit_test(test_remaining_and_draw), cmocka_unit_test(test_tokens_after_the_verdict),
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
