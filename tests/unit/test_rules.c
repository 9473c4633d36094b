/* The monitor's rules: which conditions a snapshot of the suite raises, and
 * which work it asks to stop (services/monitor/rules.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"
#include "rulesfix.h"

static void rules_find_stale_work_and_ask_to_kill(void **state)
{
    rules_cfg c;
    rules_work w[4] = {
        {"REQ-1", "roy-1", 1, 0, 0, 1, 1, 0, 0},               /* dispatched at 0, silent */
        {"REQ-2", "jen-1", 2, 0, 170 * MIN, 1, 1, 0, 0},       /* active recently */
        {"REQ-3", "db-1", 3, 0, 10 * MIN, 2, 1, 0, 0},
        {"REQ-4", "", 1, 0, 0, 1, 0, 0, 0},                    /* queued: no agent took it yet */
    };
    rules_snapshot s;
    rules_condition out[16];
    rules_kill k[4];
    int n, nk;
    (void)state;
    test_rules_cfg(&c);
    memset(&s, 0, sizeof(s));
    for (int t = 0; t < RULES_TYPES; t++)
        s.depth[t] = -1;
    s.work = w;
    s.nwork = 4;
    n = rules_eval(&c, &s, 119 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(n, 0);
    n = rules_eval(&c, &s, 180 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(n, 2); /* REQ-1 silent 3 h, REQ-3 silent 2 h 50; REQ-4 is only queued */
    assert_true(has_rule(out, n, "stale", "REQ-1 (backend) has shown no activity for 180 min on roy-1"));
    assert_int_equal(nk, 0);
    n = rules_eval(&c, &s, 241 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(nk, 1);
    assert_string_equal(k[0].id, "REQ-1");
    assert_string_equal(k[0].instance, "roy-1");
    w[0].instance = ""; /* nobody known to stop: the work is released all the same */
    n = rules_eval(&c, &s, 241 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(nk, 1);
    assert_string_equal(k[0].instance, "");
}

static void rules_find_verifications_that_last_too_long(void **state)
{
    rules_cfg c;
    rules_work w[2] = {
        {"REQ-V", "roy-1", 1, 0, 0, 1, 1, 1, 10 * MIN},  /* VERIFYING since 10 min */
        {"REQ-W", "", 2, 0, 0, 1, 1, 1, 0},              /* since unknown: not judged */
    };
    rules_snapshot s;
    rules_condition out[16];
    rules_kill k[4];
    int n, nk;
    (void)state;
    test_rules_cfg(&c);
    assert_int_equal(c.verifying_ms, 80 * MIN);
    memset(&s, 0, sizeof(s));
    for (int t = 0; t < RULES_TYPES; t++)
        s.depth[t] = -1;
    s.work = w;
    s.nwork = 2;
    n = rules_eval(&c, &s, 89 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(n, 0);
    /* long past the stale and kill times of DISPATCHED work: no kill, one alert */
    n = rules_eval(&c, &s, 300 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(n, 1);
    assert_int_equal(nk, 0);
    assert_true(has_rule(out, n, "stale_verifying",
                         "REQ-V (backend) has been VERIFYING for 290 min (over 80 min): the verification is stuck or lost"));
    assert_string_equal(out[0].values[0], "REQ-V");
}

static void rules_queue_errors_budget_services(void **state)
{
    rules_cfg c;
    rules_snapshot s;
    rules_condition out[16];
    rules_kill k[1];
    rules_window errors[RULES_TYPES], infra;
    rules_service sv[2] = {{"orch-router", 100 * 1000}, {"orch-verifier", 0}};
    int n, nk;
    (void)state;
    test_rules_cfg(&c);
    memset(&s, 0, sizeof(s));
    memset(errors, 0, sizeof(errors));
    memset(&infra, 0, sizeof(infra));
    for (int t = 0; t < RULES_TYPES; t++)
        s.depth[t] = -1;
    s.depth[1] = 11;
    s.depth[2] = 10;
    for (int i = 0; i < 5; i++)
        rules_window_add(&errors[2], 100 * 1000 + i * 1000);
    rules_window_add(&errors[1], 0); /* long ago */
    for (int i = 0; i < 3; i++)
        rules_window_add(&infra, 110 * 1000);
    s.errors = errors;
    s.infra = &infra;
    s.used_total = 800000;
    s.limit_total = 1000000;
    s.used[3] = 100001;
    s.limit[3] = 100000;
    s.services = sv;
    s.nservices = 2;
    s.started_ms = 0;
    n = rules_eval(&c, &s, 120 * 1000, out, 16, k, 1, &nk);
    assert_true(has_rule(out, n, "queue_depth", "backend queue is 11 deep"));
    assert_false(has_rule(out, n, "queue_depth", "frontend"));
    assert_true(has_rule(out, n, "error_rate", "5 frontend errors"));
    assert_false(has_rule(out, n, "error_rate", "backend"));
    assert_true(has_rule(out, n, "infra_errors", NULL));
    assert_true(has_rule(out, n, "budget", "800000 of 1000000 daily tokens used (80%)"));
    assert_true(has_rule(out, n, "budget", "database is over its daily budget"));
    assert_true(has_rule(out, n, "service_down", "orch-verifier"));
    assert_false(has_rule(out, n, "service_down", "orch-router"));
    /* the window slides: later the errors are old */
    n = rules_eval(&c, &s, 100 * 1000 + 16 * MIN, out, 16, k, 1, &nk);
    assert_false(has_rule(out, n, "error_rate", NULL));
}

/* What waits for a type is its READY work too: the consumer alone is
 * capped by the release window (15 READY backend requirements showed as 2). */
static void rules_queue_depth_counts_ready_work(void **state)
{
    rules_cfg c;
    rules_snapshot s;
    rules_condition out[16];
    rules_kill k[1];
    int n, nk;
    (void)state;
    assert_int_equal(rules_queue_depth(0, 0), 0);
    assert_int_equal(rules_queue_depth(15, 2), 17);
    assert_int_equal(rules_queue_depth(15, -1), -1); /* the consumer unknown */
    test_rules_cfg(&c);
    memset(&s, 0, sizeof(s));
    for (int t = 0; t < RULES_TYPES; t++)
        s.depth[t] = -1;
    s.depth[1] = 2;
    s.ready[1] = 15;
    s.depth[2] = 0;
    s.ready[2] = 10; /* at the threshold: not over it */
    n = rules_eval(&c, &s, 1000, out, 16, k, 1, &nk);
    assert_int_equal(n, 1);
    assert_true(has_rule(out, n, "queue_depth", "backend queue is 17 deep (15 READY, 2 released and not taken; over 10)"));
    s.depth[1] = -1; /* unknown: not judged */
    n = rules_eval(&c, &s, 1000, out, 16, k, 1, &nk);
    assert_int_equal(n, 0);
}

/* "no activity for 0 min" said nothing: seconds under a minute. */
static void rules_spans_under_a_minute_are_seconds(void **state)
{
    rules_cfg c;
    rules_work w[2] = {
        {"REQ-1", "roy-1", 1, 0, 0, 1, 1, 0, 0},
        {"REQ-V", "", 1, 0, 0, 1, 1, 1, 1000},
    };
    rules_snapshot s;
    rules_condition out[16];
    rules_kill k[4];
    char buf[32];
    int n, nk;
    (void)state;
    rules_duration(buf, sizeof(buf), 0);
    assert_string_equal(buf, "0 s");
    rules_duration(buf, sizeof(buf), 59999);
    assert_string_equal(buf, "59 s");
    rules_duration(buf, sizeof(buf), 60000);
    assert_string_equal(buf, "1 min");
    rules_duration(buf, sizeof(buf), 180 * MIN);
    assert_string_equal(buf, "180 min");
    rules_duration(buf, sizeof(buf), -5);
    assert_string_equal(buf, "0 s");
    test_rules_cfg(&c);
    c.stale_ms = 8000;
    c.kill_ms = 14000;
    c.verifying_ms = 20000;
    memset(&s, 0, sizeof(s));
    for (int t = 0; t < RULES_TYPES; t++)
        s.depth[t] = -1;
    s.work = w;
    s.nwork = 2;
    n = rules_eval(&c, &s, 21500, out, 16, k, 4, &nk);
    assert_true(has_rule(out, n, "stale", "REQ-1 (backend) has shown no activity for 21 s on roy-1"));
    assert_true(has_rule(out, n, "stale_verifying", "REQ-V (backend) has been VERIFYING for 20 s (over 20 s)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_find_stale_work_and_ask_to_kill),
        cmocka_unit_test(rules_find_verifications_that_last_too_long),
        cmocka_unit_test(rules_queue_errors_budget_services),
        cmocka_unit_test(rules_queue_depth_counts_ready_work),
        cmocka_unit_test(rules_spans_under_a_minute_are_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
