/* sim.c: nothing to run, a chain, agents as the bottleneck, work in flight,
 * release order (priority, key, age), no agents counted, a dependency that
 * can never finish, reservations as the scheduler makes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sim.h"

enum { BE = 1, FE = 2 };

static sim_task task(int type, int64_t dur, int first_dep, int ndeps)
{
    sim_task t;
    memset(&t, 0, sizeof(t));
    t.type = type;
    t.prio = 3;
    t.duration = dur;
    t.expect = dur;
    t.first_dep = first_dep;
    t.ndeps = ndeps;
    return t;
}

static void test_empty(void **state)
{
    int agents[NAMES_AGENT_TYPES] = {0};
    int64_t f[1] = {7};
    (void)state;
    assert_int_equal(sim_run(NULL, 0, NULL, agents, 0, f), 0);
}

/* 0 <- 1 <- 2, plenty of agents: the sum along the chain. */
static void test_chain(void **state)
{
    int deps[] = {0, 1};
    sim_task t[3] = {task(BE, 10, 0, 0), task(FE, 20, 0, 1), task(BE, 5, 1, 1)};
    int agents[NAMES_AGENT_TYPES] = {0, 4, 4};
    int64_t f[3];
    (void)state;
    assert_int_equal(sim_run(t, 3, deps, agents, 0, f), 35);
    assert_int_equal(f[0], 10);
    assert_int_equal(f[1], 30);
    assert_int_equal(f[2], 35);
}

/* Six independent hours of backend work: 6 h on one agent, 2 h on three;
 * the longest path alone would say 1 h. */
static void test_agents_bound(void **state)
{
    sim_task t[6];
    int agents[NAMES_AGENT_TYPES] = {0, 1};
    int64_t f[6];
    (void)state;
    for (int i = 0; i < 6; i++)
        t[i] = task(BE, 60, 0, 0);
    assert_int_equal(sim_run(t, 6, NULL, agents, 0, f), 360);
    agents[BE] = 3;
    assert_int_equal(sim_run(t, 6, NULL, agents, 0, f), 120);
}

/* Work in flight holds its agent for what is left; more in flight than
 * agents counted still ends. */
static void test_running(void **state)
{
    sim_task t[3] = {task(BE, 15, 0, 0), task(BE, 40, 0, 0), task(BE, 30, 0, 0)};
    int agents[NAMES_AGENT_TYPES] = {0, 1};
    int64_t f[3];
    (void)state;
    t[0].running = 1;
    t[1].running = 1;
    assert_int_equal(sim_run(t, 3, NULL, agents, 0, f), 70);
    assert_int_equal(f[0], 15);
    assert_int_equal(f[1], 40);
    assert_int_equal(f[2], 70); /* starts when both are done: 2 busy, 1 agent */
}

/* One agent: priority first, then the larger key, then the older. */
static void test_order(void **state)
{
    sim_task t[4] = {task(BE, 10, 0, 0), task(BE, 10, 0, 0), task(BE, 10, 0, 0), task(BE, 10, 0, 0)};
    int agents[NAMES_AGENT_TYPES] = {0, 1};
    int64_t f[4];
    (void)state;
    t[0].order = 1;
    t[1].order = 2;
    t[1].key = 100;
    t[2].order = 3;
    t[2].prio = 1;
    t[3].order = 0;
    sim_run(t, 4, NULL, agents, 0, f);
    assert_int_equal(f[2], 10); /* CRITICAL */
    assert_int_equal(f[1], 20); /* larger key */
    assert_int_equal(f[3], 30); /* older */
    assert_int_equal(f[0], 40);
}

/* No agent of a type seen: counted as one, so the work still ends. A
 * dependency outside the array never completes: -1. */
static void test_no_agents_and_bad_dep(void **state)
{
    int deps[] = {5};
    sim_task t[2] = {task(FE, 10, 0, 0), task(FE, 10, 0, 1)};
    int agents[NAMES_AGENT_TYPES] = {0};
    int64_t f[2];
    (void)state;
    assert_int_equal(sim_run(t, 2, deps, agents, 0, f), 10);
    assert_int_equal(f[0], 10);
    assert_int_equal(f[1], -1);
}

/* One backend agent. A (frontend) runs until 60; B (backend, 1000 of
 * roadmap behind it) waits only on A. Without reservations X (100) takes
 * the agent at 0 and B waits until 100; with them X waits for B, and S
 * (30: done before B is ready) goes first. As the scheduler would. */
static void test_reserve(void **state)
{
    int agents[NAMES_AGENT_TYPES] = {0, 1, 1};
    int deps[] = {0};
    int64_t f[4];
    sim_task t[4];
    (void)state;
    t[0] = task(FE, 60, 0, 0);
    t[0].running = 1;
    t[1] = task(BE, 50, 0, 1);
    t[1].key = 1000;
    t[2] = task(BE, 100, 0, 0);
    t[2].key = 100;
    t[3] = task(BE, 30, 0, 0);
    t[3].key = 30;
    assert_int_equal(sim_run(t, 4, deps, agents, 0, f), 180);
    assert_int_equal(f[2], 100); /* X first */
    assert_int_equal(f[1], 150);
    assert_int_equal(sim_run(t, 4, deps, agents, 1, f), 210);
    assert_int_equal(f[3], 30);  /* S fills the gap */
    assert_int_equal(f[1], 110); /* B on time */
    assert_int_equal(f[2], 210); /* X after it */
    t[1].prio = 1;               /* CRITICAL work is never held: nor does it hold */
    t[2].prio = 1;
    assert_int_equal(sim_run(t, 4, deps, agents, 1, f), 180);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),   cmocka_unit_test(test_chain), cmocka_unit_test(test_agents_bound),
        cmocka_unit_test(test_running), cmocka_unit_test(test_order), cmocka_unit_test(test_no_agents_and_bad_dep),
        cmocka_unit_test(test_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
