/* The monitor's table of agents heard from: ageing out, and room made by
 * the idle one heard longest ago (services/monitor/agents.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agents.h"

static int holds_busy(const char *requirement, void *arg)
{
    (void)arg;
    return !strncmp(requirement, "BUSY", 4);
}

static void agent_table_ages_out_and_makes_room(void **state)
{
    agents *a = agents_create(4, 1000);
    const agent_entry *all;
    char gone[64] = "";
    int n;
    (void)state;
    assert_null(agents_find(a, "x"));
    assert_int_equal(agents_note(a, "w1", 1, "BUSY-1", 0, holds_busy, NULL, gone, sizeof(gone)), AGENTS_ADDED);
    assert_int_equal(agents_note(a, "i1", 2, "", 10, holds_busy, NULL, gone, sizeof(gone)), AGENTS_ADDED);
    assert_int_equal(agents_note(a, "i2", 2, NULL, 20, holds_busy, NULL, gone, sizeof(gone)), AGENTS_ADDED);
    assert_int_equal(agents_note(a, "i3", 2, "DONE-1", 30, holds_busy, NULL, gone, sizeof(gone)), AGENTS_ADDED);
    assert_int_equal(agents_note(a, "i1", 0, "", 40, holds_busy, NULL, gone, sizeof(gone)), AGENTS_SEEN);
    assert_int_equal(agents_find(a, "i1")->type, 2); /* 0 keeps the type */
    /* full: the idle one heard longest ago (i2 at 20; w1 at 0 holds work) gives way */
    assert_int_equal(agents_note(a, "real", 1, "BUSY-2", 50, holds_busy, NULL, gone, sizeof(gone)), AGENTS_EVICTED);
    assert_string_equal(gone, "i2");
    assert_null(agents_find(a, "i2"));
    assert_non_null(agents_find(a, "real"));
    assert_non_null(agents_find(a, "w1"));
    /* every slot holding work: the newcomer is not tracked, nobody is dropped */
    agents_note(a, "i1", 0, "BUSY-3", 60, holds_busy, NULL, NULL, 0);
    agents_note(a, "i3", 0, "BUSY-4", 60, holds_busy, NULL, NULL, 0);
    assert_int_equal(agents_note(a, "late", 1, "", 70, holds_busy, NULL, gone, sizeof(gone)), AGENTS_FULL);
    assert_null(agents_find(a, "late"));
    all = agents_all(a, &n);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        assert_string_not_equal(all[i].instance, "late");
    /* the sweep drops only the silent that hold nothing */
    assert_int_equal(agents_sweep(a, 5000, holds_busy, NULL), 0);
    agents_note(a, "i1", 0, "", 100, holds_busy, NULL, NULL, 0);
    agents_touch(a, "w1", 4500);
    agents_touch(a, "nobody", 4500); /* no entry made */
    assert_int_equal(agents_sweep(a, 1099, holds_busy, NULL), 0);
    assert_int_equal(agents_sweep(a, 1100, holds_busy, NULL), 1); /* i1 */
    assert_null(agents_find(a, "i1"));
    assert_null(agents_find(a, "nobody"));
    assert_int_equal(agents_sweep(a, 1000000, NULL, NULL), 3); /* nothing held any more */
    agents_all(a, &n);
    assert_int_equal(n, 0);
    assert_int_equal(agents_cap(a), 4);
    agents_destroy(a);
    agents_destroy(NULL);
}

/* A flood of one-off names never hides a real agent. */
static void agent_table_survives_a_flood_of_names(void **state)
{
    agents *a = agents_create(512, 3600 * 1000);
    char name[32];
    (void)state;
    agents_note(a, "worker", 1, "BUSY-1", 0, holds_busy, NULL, NULL, 0);
    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof(name), "one-off-%d", i);
        assert_int_not_equal(agents_note(a, name, 2, "", 1 + i, holds_busy, NULL, NULL, 0), AGENTS_FULL);
    }
    assert_int_equal(agents_note(a, "roy-real", 1, "", 1000, holds_busy, NULL, NULL, 0), AGENTS_EVICTED);
    assert_non_null(agents_find(a, "roy-real"));
    assert_non_null(agents_find(a, "worker"));  /* holds work: kept though heard first */
    assert_non_null(agents_find(a, "one-off-599"));
    assert_null(agents_find(a, "one-off-0"));
    agents_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(agent_table_ages_out_and_makes_room),
        cmocka_unit_test(agent_table_survives_a_flood_of_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
