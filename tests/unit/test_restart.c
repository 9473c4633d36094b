/* The Host Listener's restart policy (tools/host-listener/restart.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "restart.h"

static const restart_cfg cfg = {.min_uptime_ms = 10000, .base_ms = 1000, .max_ms = 8000, .alert_after = 3};

static void a_run_that_lasted_is_replaced_at_once(void **state)
{
    restart_state r = {0};
    int alert = 1;
    (void)state;
    assert_int_equal(restart_on_exit(&r, &cfg, 10000, 5000, &alert), 0);
    assert_int_equal(alert, 0);
    assert_int_equal(restart_due(&r, 5000), 1);
    restart_started(&r);
    assert_int_equal(restart_due(&r, 5000), 0);
}

static void quick_exits_double_the_wait_up_to_the_cap(void **state)
{
    restart_state r = {0};
    int alert;
    const int64_t want[] = {1000, 2000, 4000, 8000, 8000, 8000};
    int64_t now = 0;
    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(restart_on_exit(&r, &cfg, 50, now, &alert), want[i]);
        assert_int_equal(restart_due(&r, now + want[i] - 1), 0);
        assert_int_equal(restart_due(&r, now + want[i]), 1);
        restart_started(&r);
        now += want[i];
    }
}

static void one_alert_per_streak(void **state)
{
    restart_state r = {0};
    int alert, alerts = 0;
    (void)state;
    for (int i = 0; i < 10; i++) {
        restart_on_exit(&r, &cfg, 0, 0, &alert);
        alerts += alert;
        if (i == 2)
            assert_int_equal(alert, 1); /* the third in a row */
    }
    assert_int_equal(alerts, 1);
    /* A run that lasts ends the streak: the wait is gone, the alert re-armed. */
    assert_int_equal(restart_on_exit(&r, &cfg, 20000, 0, &alert), 0);
    assert_int_equal(r.quick_exits, 0);
    for (int i = 0; i < 3; i++)
        restart_on_exit(&r, &cfg, 0, 0, &alert);
    assert_int_equal(alert, 1);
}

static void agents_ending_together_wait_for_the_latest(void **state)
{
    restart_state r = {0};
    int alert;
    (void)state;
    restart_on_exit(&r, &cfg, 0, 100, &alert);   /* waits 1000: due at 1100 */
    restart_on_exit(&r, &cfg, 0, 100, &alert);   /* waits 2000: due at 2100 */
    assert_int_equal(restart_due(&r, 1100), 0);
    assert_int_equal(restart_due(&r, 2100), 2);
}

/* A stream of kill requests: max carried out within the window, the rest
 * refused; as the window slides, kills are carried out again. */
static void kills_are_bounded_per_window(void **state)
{
    kill_gate g = {{0}, 0};
    (void)state;
    assert_int_equal(kill_gate_admit(&g, 3, 600000, 1000), 1);
    assert_int_equal(kill_gate_admit(&g, 3, 600000, 2000), 1);
    assert_int_equal(kill_gate_admit(&g, 3, 600000, 3000), 1);
    for (int i = 0; i < 100; i++)
        assert_int_equal(kill_gate_admit(&g, 3, 600000, 4000 + i), 0);
    assert_int_equal(kill_gate_admit(&g, 3, 600000, 600999), 0);  /* the first is still within */
    assert_int_equal(kill_gate_admit(&g, 3, 600000, 601000), 1);  /* it left the window */
    assert_int_equal(kill_gate_admit(&g, 3, 600000, 601001), 0);
    assert_int_equal(kill_gate_admit(&g, 0, 600000, 999999999), 0); /* max 0: none */
}

static void the_gate_holds_no_more_than_it_can(void **state)
{
    kill_gate g = {{0}, 0};
    int kept = 0;
    (void)state;
    for (int i = 0; i < 1000; i++)
        kept += kill_gate_admit(&g, 100000, 600000, i);
    assert_int_equal(kept, KILL_GATE_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_run_that_lasted_is_replaced_at_once),
        cmocka_unit_test(quick_exits_double_the_wait_up_to_the_cap),
        cmocka_unit_test(one_alert_per_streak),
        cmocka_unit_test(agents_ending_together_wait_for_the_latest),
        cmocka_unit_test(kills_are_bounded_per_window),
        cmocka_unit_test(the_gate_holds_no_more_than_it_can),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
