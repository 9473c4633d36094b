/* Budgets: the daily token limits, conservation and the quiet window the
 * scheduler releases by (services/scheduler/budget.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "budget.h"

static void seed_defaults_and_fit(void **state)
{
    budget_cfg c;
    budget b;
    char why[200];
    (void)state;
    budget_cfg_default(&c);
    assert_int_equal(c.total_limit, 1000000);
    assert_int_equal(c.limit[1], 300000);
    assert_int_equal(c.limit[4], 50000);
    budget_init(&b, &c, "2026-11-24");
    assert_true(budget_fits(&b, 4, 50000, why, sizeof(why)));
    budget_charge(&b, 4, 45000);
    assert_false(budget_fits(&b, 4, 10000, why, sizeof(why)));
    assert_non_null(strstr(why, "needs 10000 tokens, documentation has 5000 left"));
    budget_reserve(&b, 1, 250000);
    assert_int_equal(budget_left(&b, 1), 50000);
    budget_unreserve(&b, 1, 250000);
    assert_int_equal(budget_left(&b, 1), 300000);
}

static void total_limits_types_too(void **state)
{
    budget_cfg c;
    budget b;
    char why[200];
    (void)state;
    budget_cfg_default(&c);
    c.total_limit = 100000;
    budget_init(&b, &c, "d1");
    budget_charge(&b, 2, 95000);
    assert_int_equal(budget_left(&b, 1), 5000);
    assert_false(budget_fits(&b, 1, 6000, why, sizeof(why)));
    assert_non_null(strstr(why, "the daily total"));
}

static void conservation_at_80_percent_or_type_over(void **state)
{
    budget_cfg c;
    budget b;
    char why[200];
    (void)state;
    budget_cfg_default(&c);
    budget_init(&b, &c, "d1");
    budget_charge(&b, 1, 299999);
    budget_charge(&b, 2, 300000);
    budget_charge(&b, 3, 100000);
    budget_charge(&b, 4, 50000);
    budget_charge(&b, 5, 50000);    /* 799,999: none over its own limit */
    assert_false(budget_conservation(&b, why, sizeof(why)));
    budget_charge(&b, 5, 1);        /* 800,000: 80% */
    assert_true(budget_conservation(&b, why, sizeof(why)));
    assert_non_null(strstr(why, "800000 of 1000000"));
    budget_init(&b, &c, "d1");
    budget_charge(&b, 3, 100001);
    assert_true(budget_conservation(&b, why, sizeof(why)));
    assert_non_null(strstr(why, "database is over its budget"));
    budget_init(&b, &c, "d1");
    budget_charge(&b, 1, 799999);
    assert_true(budget_conservation(&b, why, sizeof(why))); /* backend over its own 300k too */
    budget_init(&b, &c, "d1");
    budget_charge(&b, 1, 100000);
    assert_false(budget_conservation(&b, why, sizeof(why)));
}

/* Dollar limits: a type's own and the total's stop releases once spent,
 * the total's starts conservation at conserve_percent; without them the
 * dollars limit nothing. */
static void dollar_limits_conserve_and_stop(void **state)
{
    budget_cfg c;
    budget b;
    char why[200];
    (void)state;
    budget_cfg_default(&c);
    budget_init(&b, &c, "2026-12-08");
    budget_charge_cost(&b, 1, 500000000); /* $500: no dollar limit */
    assert_true(budget_fits(&b, 1, 1000, NULL, 0));
    assert_false(budget_conservation(&b, NULL, 0));

    c.total_limit_usd = 10;
    c.limit_usd[2] = 2;
    budget_init(&b, &c, "2026-12-08");
    budget_charge_cost(&b, 2, 1990000); /* frontend $1.99 of $2 */
    assert_true(budget_fits(&b, 2, 1000, NULL, 0));
    budget_charge_cost(&b, 2, 10000); /* $2.00: spent */
    assert_false(budget_fits(&b, 2, 1000, why, sizeof(why)));
    assert_string_equal(why, "budget: frontend spent $2.00 of its $2 today");
    assert_int_equal(budget_left(&b, 2), 0);
    assert_true(budget_fits(&b, 1, 1000, NULL, 0)); /* backend has no dollar limit of its own */
    assert_true(budget_conservation(&b, why, sizeof(why)));
    assert_string_equal(why, "frontend spent its budget ($2.00 of $2)");

    c.limit_usd[2] = 0;
    budget_init(&b, &c, "2026-12-08");
    budget_charge_cost(&b, 1, 7990000);
    assert_false(budget_conservation(&b, NULL, 0)); /* $7.99: under 80% of $10 */
    budget_charge_cost(&b, 1, 10000);
    assert_true(budget_conservation(&b, why, sizeof(why)));
    assert_string_equal(why, "$8.00 of $10 daily spent (80% or more)");
    budget_charge_cost(&b, 3, 2000000);
    assert_false(budget_fits(&b, 4, 1, why, sizeof(why)));
    assert_string_equal(why, "budget: the daily total spent $10.00 of its $10 today");
    budget_roll(&b, "2026-12-09"); /* a new day: spent nothing */
    assert_true(budget_fits(&b, 4, 1, NULL, 0));
}

static void rollover_resets_use_not_reservations(void **state)
{
    budget_cfg c;
    budget b;
    (void)state;
    budget_cfg_default(&c);
    budget_init(&b, &c, "2026-11-24");
    budget_charge(&b, 1, 200000);
    budget_reserve(&b, 1, 50000);
    assert_int_equal(budget_roll(&b, "2026-11-24"), 0);
    assert_int_equal(budget_roll(&b, "2026-11-25"), 1);
    assert_int_equal(b.used[1], 0);
    assert_int_equal(b.used_total, 0);
    assert_int_equal(budget_left(&b, 1), 250000);
}

static void quiet_window_wraps_midnight(void **state)
{
    (void)state;
    assert_true(budget_quiet(22 * 60, 22 * 60, 6 * 60));
    assert_true(budget_quiet(3 * 60, 22 * 60, 6 * 60));
    assert_false(budget_quiet(6 * 60, 22 * 60, 6 * 60));
    assert_false(budget_quiet(12 * 60, 22 * 60, 6 * 60));
    assert_true(budget_quiet(13 * 60, 12 * 60, 14 * 60));
    assert_false(budget_quiet(13 * 60, 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_defaults_and_fit),
        cmocka_unit_test(total_limits_types_too),
        cmocka_unit_test(conservation_at_80_percent_or_type_over),
        cmocka_unit_test(dollar_limits_conserve_and_stop),
        cmocka_unit_test(rollover_resets_use_not_reservations),
        cmocka_unit_test(quiet_window_wraps_midnight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
