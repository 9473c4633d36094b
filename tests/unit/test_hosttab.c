/* The monitor's table of agent hosts (services/monitor/hosttab.c): the
 * latest advert per host, hosts not heard lately left out, and a full table
 * making room by forgetting the host heard longest ago. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hosttab.h"

static hostad ad(const char *host, int slots, int backend)
{
    hostad a;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), "%s", host);
    a.slots = slots;
    a.running[1] = backend;
    return a;
}

static void the_latest_advert_counts_and_silence_is_forgotten(void **state)
{
    static hosttab t;
    dash_host out[HOSTTAB_MAX];
    hostad a = ad("b", 4, 1), b = ad("a", 2, 0), a2 = ad("b", 4, 3);
    (void)state;
    hosttab_note(&t, &a, 1000);
    hosttab_note(&t, &b, 2000);
    hosttab_note(&t, &a2, 3000);
    assert_int_equal(hosttab_list(&t, 3000, 60000, out, HOSTTAB_MAX), 2);
    assert_string_equal(out[0].host, "a"); /* by host id */
    assert_string_equal(out[1].host, "b");
    assert_int_equal(out[1].used, 3);       /* its latest advert */
    assert_int_equal(hosttab_list(&t, 2000 + 60001, 60000, out, HOSTTAB_MAX), 1); /* a went quiet */
    assert_string_equal(out[0].host, "b");
}

static void a_full_table_forgets_the_host_heard_longest_ago(void **state)
{
    static hosttab t;
    dash_host out[HOSTTAB_MAX];
    char name[16];
    hostad x;
    (void)state;
    for (int i = 0; i < HOSTTAB_MAX; i++) {
        snprintf(name, sizeof(name), "h%02d", i);
        x = ad(name, 1, 0);
        hosttab_note(&t, &x, 1000 + i);
    }
    x = ad("h00", 1, 0);
    hosttab_note(&t, &x, 5000); /* h00 heard again: h01 is now the oldest */
    x = ad("new", 1, 0);
    hosttab_note(&t, &x, 6000);
    assert_int_equal(hosttab_list(&t, 6000, 60000, out, HOSTTAB_MAX), HOSTTAB_MAX);
    for (int i = 0; i < HOSTTAB_MAX; i++)
        assert_string_not_equal(out[i].host, "h01");
    assert_string_equal(out[HOSTTAB_MAX - 1].host, "new");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_latest_advert_counts_and_silence_is_forgotten),
        cmocka_unit_test(a_full_table_forgets_the_host_heard_longest_ago),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
