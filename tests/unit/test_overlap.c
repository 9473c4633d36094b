/* File overlap: the ratio between two requirements' paths and the index of
 * paths in flight (services/scheduler/overlap.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "overlap.h"

#define P(...) ((const char *const[]){__VA_ARGS__})

static void overlap_ratio_uses_the_smaller_set(void **state)
{
    (void)state;
    /* 1 shared of min(2, 5) = 50% */
    assert_true(overlap_ratio(P("a", "b"), 2, P("b", "c", "d", "e", "f"), 5) == 0.5);
    /* 1 shared of min(10, 10) = 10% */
    assert_true(overlap_ratio(P("1", "2", "3", "4", "5", "6", "7", "8", "9", "x"), 10,
                              P("x", "b", "c", "d", "e", "f", "g", "h", "i", "j"), 10) == 0.1);
    assert_true(overlap_ratio(P("a"), 1, P("b"), 1) == 0.0);
    assert_true(overlap_ratio(NULL, 0, P("b"), 1) == 0.0);
    /* a directory covers what is under it, both ways */
    assert_true(overlap_ratio(P("src/api/"), 1, P("src/api/a.ts", "src/api/b.ts"), 2) == 1.0);
    assert_true(overlap_ratio(P("src/api/a.ts"), 1, P("src/"), 1) == 1.0);
    assert_true(overlap_ratio(P("src/apix/a.ts"), 1, P("src/api/"), 1) == 0.0);
}

static void index_finds_only_real_conflicts(void **state)
{
    overlap *o = overlap_create();
    char buf[256];
    double r;
    (void)state;
    overlap_set(o, 1, P("src/api/a.ts", "src/api/b.ts"), 2);
    overlap_set(o, 2, P("docs/"), 1);
    assert_int_equal(overlap_find(o, P("src/api/a.ts", "src/x.ts"), 2, 0.2, -1, buf, sizeof(buf), &r), 1);
    assert_string_equal(buf, "src/api/a.ts");
    assert_true(r == 0.5);
    assert_int_equal(overlap_find(o, P("docs/guide.md"), 1, 0.2, -1, buf, sizeof(buf), NULL), 2);
    assert_int_equal(overlap_find(o, P("src/"), 1, 0.2, -1, buf, sizeof(buf), NULL), 1);
    assert_int_equal(overlap_find(o, P("src/web/c.ts"), 1, 0.2, -1, buf, sizeof(buf), NULL), -1);
    /* exactly at the threshold is not over it: 1 of min(5, 5) = 20% */
    overlap_set(o, 7, P("w/1", "w/2", "w/3", "w/4", "w/5"), 5);
    assert_int_equal(overlap_find(o, P("w/1", "q1", "q2", "q3", "q4"), 5, 0.2, -1, buf, sizeof(buf), NULL), -1);
    assert_int_equal(overlap_find(o, P("w/1", "w/2", "q2", "q3", "q4"), 5, 0.2, -1, buf, sizeof(buf), NULL), 7);
    overlap_clear(o, 7);
    /* itself never conflicts */
    assert_int_equal(overlap_find(o, P("src/api/a.ts"), 1, 0.2, 1, buf, sizeof(buf), NULL), -1);
    overlap_clear(o, 1);
    assert_int_equal(overlap_find(o, P("src/api/a.ts"), 1, 0.2, -1, buf, sizeof(buf), NULL), -1);
    overlap_set(o, 3, P("src/api/z.ts"), 1);
    overlap_set(o, 3, P("lib/q.c"), 1); /* replaced */
    assert_int_equal(overlap_find(o, P("src/api/z.ts"), 1, 0.2, -1, buf, sizeof(buf), NULL), -1);
    assert_int_equal(overlap_find(o, P("lib/q.c"), 1, 0.2, -1, buf, sizeof(buf), NULL), 3);
    overlap_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(overlap_ratio_uses_the_smaller_set),
        cmocka_unit_test(index_finds_only_real_conflicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
