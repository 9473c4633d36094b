/* Agents gone with their host (services/scheduler/sched_hosts.c): the work
 * they held goes back as a new dispatch, no attempt counted; other work and
 * other hosts' agents are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sched_hosts.h"
#include "test_sched_harness.h"

#define DISPATCHED ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED

/* The claim holder as KV orch_claims would say: "W3" was claimed by h1's
 * second agent; "W4"'s claim cannot be read now. */
static int holder(void *ctx, const pb_state *st, char *out, size_t len)
{
    (void)ctx;
    out[0] = '\0';
    if (!strcmp(st->id, "W4"))
        return -1;
    if (!strcmp(st->id, "W3"))
        snprintf(out, len, "backend-h1-n1-2");
    return 0;
}

static int dispatches_of(const char *id)
{
    int n = 0;
    for (int i = 0; i < rec.nd; i++)
        n += !strcmp(rec.d[i].id, id);
    return n;
}

static const char *last_msg_id(const char *id)
{
    for (int i = rec.nd - 1; i >= 0; i--)
        if (!strcmp(rec.d[i].id, id))
            return rec.d[i].msg_id;
    return "";
}

static void a_lost_host_s_work_goes_back_as_a_new_dispatch_without_an_attempt(void **state)
{
    sched *s;
    const char *gone[] = {"backend-h1-n1-1", "backend-h1-n1-2"};
    (void)state;
    s = sched_create(&cfg, &out, &clk);
    sched_add(s, req("W1", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("W2", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("W3", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("W4", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 4);
    started_by(s, "W1", "backend-h1-n1-1");  /* h1's: goes back */
    started_by(s, "W2", "backend-h2-n7-1");  /* h2's: stays */
    /* W3 and W4: no heartbeat yet; the claims say */

    assert_int_equal(sched_agents_gone(s, gone, 2, "agent host h1 was lost", holder, NULL, &clk), 2);
    assert_int_equal(dispatches_of("W1"), 2);
    assert_int_equal(dispatches_of("W3"), 2);
    assert_int_equal(dispatches_of("W2"), 1);
    assert_int_equal(dispatches_of("W4"), 1); /* its claim could not be read: it stays */
    /* the same attempt, a new dispatch id (so a new claim key) */
    assert_int_equal(rec.d[rec.nd - 1].attempt, 1);
    assert_string_equal(last_msg_id("W1"), "W1-a1-i1");
    assert_non_null(strstr(rec.d[4].output, "agent host h1 was lost"));
    assert_int_equal(status(s, "W1"), DISPATCHED);
    assert_int_equal(status(s, "W2"), DISPATCHED);

    /* without a holder, work that no heartbeat named stays */
    assert_int_equal(sched_agents_gone(s, gone, 2, "again", NULL, NULL, &clk), 0);
    /* nobody gone, nothing moves */
    assert_int_equal(sched_agents_gone(s, NULL, 0, "none", holder, NULL, &clk), 0);
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(a_lost_host_s_work_goes_back_as_a_new_dispatch_without_an_attempt, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_free();
    return rc;
}
