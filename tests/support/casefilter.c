/*
 * One case of a test file at a time: ORCH_TEST_FILTER=name runs only the
 * cmocka cases whose name matches (shell wildcards allowed, fnmatch(3)).
 * ctest registers every case this way (tests/CMakeLists.txt, orch_cases),
 * and a person can run one case by hand:
 *
 *     ORCH_TEST_FILTER=overlapping_files_wait build/tests/test_scheduler
 *
 * Every test executable is linked with -Wl,--wrap=_cmocka_run_group_tests,
 * so cmocka_run_group_tests() in any test's main() comes here first: no test
 * file carries a copy of the filter, and a new file needs nothing to get it.
 *
 * Why not cmocka_set_test_filter() alone: a filter that matches nothing
 * makes cmocka run zero cases and exit 0, so a case renamed in the source
 * but not in the registration would pass forever. Here a group with no
 * matching case is not run at all (its group setup, which may start a
 * nats-server, is skipped), and a process whose filter matched no case in
 * any of its groups exits 1 saying so.
 */
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

int __real__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown);
int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown);

static const char *filter;
static size_t matched; /* cases run under the filter, over every group */

/* At exit: a filter that matched nothing is a failure, not an empty pass. */
static void check_matched(void)
{
    if (matched > 0)
        return;
    fprintf(stderr, "ORCH_TEST_FILTER=%s matches no case in this program\n", filter);
    fflush(NULL);
    _exit(1);
}

int __wrap__cmocka_run_group_tests(const char *group_name, const struct CMUnitTest *const tests,
                                   const size_t num_tests, CMFixtureFunction group_setup,
                                   CMFixtureFunction group_teardown)
{
    static int registered;
    struct CMUnitTest *chosen;
    size_t i, n = 0;
    int rc;

    if (!filter)
        filter = getenv("ORCH_TEST_FILTER");
    if (!filter || !*filter)
        return __real__cmocka_run_group_tests(group_name, tests, num_tests, group_setup,
                                              group_teardown);
    if (!registered) {
        atexit(check_matched);
        registered = 1;
    }
    chosen = calloc(num_tests ? num_tests : 1, sizeof(*chosen));
    if (!chosen) {
        fprintf(stderr, "casefilter: out of memory\n");
        return 1;
    }
    for (i = 0; i < num_tests; i++)
        if (tests[i].name && fnmatch(filter, tests[i].name, 0) == 0)
            chosen[n++] = tests[i];
    matched += n;
    rc = n ? __real__cmocka_run_group_tests(group_name, chosen, n, group_setup, group_teardown) : 0;
    free(chosen);
    return rc;
}
