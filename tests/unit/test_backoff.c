/* Unit tests of exponential backoff with jitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

static void steps_double_from_the_base(void **state)
{
    (void)state;
    assert_int_equal(backoff_step_ms(250, 5000, 1), 250);
    assert_int_equal(backoff_step_ms(250, 5000, 2), 500);
    assert_int_equal(backoff_step_ms(250, 5000, 3), 1000);
    assert_int_equal(backoff_step_ms(250, 5000, 5), 4000);
    assert_int_equal(backoff_step_ms(250, 5000, 0), 250);
}

static void steps_stop_at_the_cap(void **state)
{
    (void)state;
    assert_int_equal(backoff_step_ms(250, 5000, 6), 5000);
    assert_int_equal(backoff_step_ms(250, 5000, 7), 5000);
    assert_int_equal(backoff_step_ms(1000, 1000, 9), 1000);
    /* a cap under the base counts as the base */
    assert_int_equal(backoff_step_ms(1000, 10, 3), 1000);
    /* a base of 0 or less counts as 1 ms */
    assert_int_equal(backoff_step_ms(0, 100, 1), 1);
    assert_int_equal(backoff_step_ms(-5, 100, 4), 8);
}

static void large_attempts_do_not_overflow(void **state)
{
    (void)state;
    assert_int_equal(backoff_step_ms(250, 5000, 64), 5000);
    assert_int_equal(backoff_step_ms(250, 5000, UINT64_MAX), 5000);
    assert_int_equal(backoff_step_ms(3, INT64_MAX, UINT64_MAX), INT64_MAX);
    assert_int_equal(backoff_step_ms(INT64_MAX, INT64_MAX, 2), INT64_MAX);
    assert_true(backoff_ms(3, INT64_MAX, UINT64_MAX, UINT32_MAX) < INT64_MAX);
    assert_true(backoff_ms(3, INT64_MAX, UINT64_MAX, UINT32_MAX) > INT64_MAX / 2 + INT64_MAX / 4);
    assert_int_equal(backoff_ms(3, INT64_MAX, UINT64_MAX, 0), INT64_MAX / 2);
}

static void jitter_stays_in_the_upper_half_of_the_step(void **state)
{
    (void)state;
    /* draw 0: exactly half the step */
    assert_int_equal(backoff_ms(250, 5000, 1, 0), 125);
    assert_int_equal(backoff_ms(250, 5000, 9, 0), 2500);
    /* the largest draw: just under the step */
    assert_int_equal(backoff_ms(250, 5000, 1, UINT32_MAX), 249);
    assert_int_equal(backoff_ms(250, 5000, 9, UINT32_MAX), 4999);
    /* half way */
    assert_int_equal(backoff_ms(1000, 60000, 2, 1u << 31), 1500);
    for (uint64_t a = 1; a < 80; a++)
        for (uint32_t draw = 0; draw < UINT32_MAX - 99999999u; draw += 99999999u) {
            int64_t step = backoff_step_ms(250, 5000, a), d = backoff_ms(250, 5000, a, draw);
            assert_true(d >= step / 2);
            assert_true(d < step);
        }
}

static void draws_grow_with_the_draw(void **state)
{
    int64_t last = -1;
    (void)state;
    for (uint32_t draw = 0; draw < 0xf0000000u; draw += 0x10000000u) {
        int64_t d = backoff_ms(1000, 60000, 6, draw);
        assert_true(d >= last);
        last = d;
    }
}

static void fractions_become_draws(void **state)
{
    (void)state;
    assert_int_equal(backoff_draw(0.0), 0);
    assert_int_equal(backoff_draw(-1.0), 0);
    assert_int_equal(backoff_draw(0.5), 1u << 31);
    assert_int_equal(backoff_draw(1.0), UINT32_MAX);
    assert_int_equal(backoff_draw(0.99999999999), UINT32_MAX);
    assert_int_equal(backoff_draw(7.0), UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(steps_double_from_the_base),
        cmocka_unit_test(steps_stop_at_the_cap),
        cmocka_unit_test(large_attempts_do_not_overflow),
        cmocka_unit_test(jitter_stays_in_the_upper_half_of_the_step),
        cmocka_unit_test(draws_grow_with_the_draw),
        cmocka_unit_test(fractions_become_draws),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
