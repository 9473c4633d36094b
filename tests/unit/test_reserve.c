/* reserve.c: when a candidate must leave an agent for more urgent work
 * about to be ready, and when it may go (nothing claimed, work short enough
 * to end first, an agent freed in time, a claim that does not outrank it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "reserve.h"

#define MIN 60000LL
#define HOUR (60 * MIN)
#define NOW 1764000000000LL
#define MED 3
#define HIGH 2

static void nothing_claimed_goes(void **state)
{
    reserve r = {0};
    (void)state;
    reserve_reset(&r, 1);
    reserve_ready(&r);
    assert_int_equal(reserve_holds(&r, NOW, MED, 2 * HOUR, 2 * HOUR), -1);
    reserve_free(&r);
}

/* The last free agent, a long path ready in an hour: a two-hour candidate
 * waits, a half-hour one goes first (it ends before the claim is ready). */
static void the_last_agent_is_kept_but_short_work_fills_the_gap(void **state)
{
    reserve r = {0};
    (void)state;
    reserve_reset(&r, 1);
    reserve_add_claim(&r, NOW + HOUR, MED, 20 * HOUR, 7);
    reserve_ready(&r);
    assert_int_equal(reserve_holds(&r, NOW, MED, 2 * HOUR, 2 * HOUR), 7);
    assert_int_equal(reserve_holds(&r, NOW, MED, 30 * MIN, 30 * MIN), -1);
    reserve_take(&r, NOW + 30 * MIN); /* it went: its agent is back in time */
    assert_int_equal(r.free_now, 0);
    assert_int_equal(reserve_holds(&r, NOW, MED, 2 * HOUR, 2 * HOUR), 7);
    reserve_free(&r);
}

/* Outranking: more urgent always; same priority only when more than twice
 * the candidate's path (plus the wait) waits behind the claim. */
static void only_a_claim_that_outranks_holds(void **state)
{
    reserve r = {0};
    (void)state;
    reserve_reset(&r, 1);
    reserve_add_claim(&r, NOW + HOUR, MED, 6 * HOUR, 1);
    reserve_ready(&r);
    assert_int_equal(reserve_holds(&r, NOW, MED, 3 * HOUR, 3 * HOUR), -1);   /* 6 h is not > 2 x 3 h + 1 h */
    assert_int_equal(reserve_holds(&r, NOW, MED, 2 * HOUR, 3 * HOUR), 1);    /* 6 h > 2 x 2 h + 1 h */
    assert_int_equal(reserve_holds(&r, NOW, HIGH, 1 * HOUR, 3 * HOUR), -1);  /* a HIGH candidate before MEDIUM */
    reserve_reset(&r, 1);
    reserve_add_claim(&r, NOW + HOUR, HIGH, 1 * HOUR, 2);
    reserve_ready(&r);
    assert_int_equal(reserve_holds(&r, NOW, MED, 50 * HOUR, 3 * HOUR), 2);   /* a HIGH claim before any MEDIUM */
    reserve_free(&r);
}

/* Agents whose work is expected to end before the claim is ready serve it:
 * one claim, one such agent, the candidate goes; two claims, one agent
 * freed in time and one free now: the candidate would leave the second
 * without an agent. */
static void agents_freed_in_time_count(void **state)
{
    reserve r = {0};
    (void)state;
    reserve_reset(&r, 1);
    reserve_add_busy(&r, NOW + 20 * MIN);
    reserve_add_busy(&r, NOW + 5 * HOUR);
    reserve_add_claim(&r, NOW + HOUR, MED, 30 * HOUR, 1);
    reserve_ready(&r);
    assert_int_equal(reserve_holds(&r, NOW, MED, 2 * HOUR, 2 * HOUR), -1);
    reserve_add_claim(&r, NOW + 2 * HOUR, MED, 30 * HOUR, 2);
    reserve_ready(&r);
    assert_int_equal(reserve_holds(&r, NOW, MED, 4 * HOUR, 4 * HOUR), 2);
    /* no agent now at all: whatever it is released to waits, and still
     * must not take the agent the claims need */
    reserve_reset(&r, 0);
    reserve_add_busy(&r, NOW + 20 * MIN);
    reserve_add_claim(&r, NOW + HOUR, MED, 30 * HOUR, 3);
    reserve_ready(&r);
    assert_int_equal(reserve_holds(&r, NOW, MED, 2 * HOUR, 2 * HOUR), 3);
    reserve_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nothing_claimed_goes),
        cmocka_unit_test(the_last_agent_is_kept_but_short_work_fills_the_gap),
        cmocka_unit_test(only_a_claim_that_outranks_holds),
        cmocka_unit_test(agents_freed_in_time_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
