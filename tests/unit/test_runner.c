/* common/runner.c's runner_run_watch: the output seen as it arrives is the
 * whole output, in order, also where the captured copy is cut; runner_run
 * is the same without a watcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runner.h"

typedef struct {
    char buf[200000];
    size_t len;
    int calls;
} seen;

static void watch(void *arg, const char *data, size_t n)
{
    seen *s = arg;
    assert_true(s->len + n < sizeof(s->buf));
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->calls++;
}

static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};

static void sees_everything_in_order(void **state)
{
    const char *argv[] = {"sh", "-c", "printf 'a\\nb'; sleep 0.2; printf 'c\\n'; exit 3", NULL};
    run_spec s = {argv, "/", env, 10000, 500, 4096, NULL, NULL, 0};
    run_result r;
    seen *w = calloc(1, sizeof(*w));
    (void)state;
    assert_int_equal(runner_run_watch(&s, &r, watch, w), -1);
    assert_int_equal(r.exit_code, 3);
    assert_string_equal(r.output, "a\nbc\n");
    w->buf[w->len] = '\0';
    assert_string_equal(w->buf, "a\nbc\n");
    assert_true(w->calls >= 2); /* as it came: before and after the pause */
    run_result_free(&r);
    free(w);
}

static void sees_what_the_capture_cuts(void **state)
{
    const char *argv[] = {"sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done", NULL};
    run_spec s = {argv, "/", env, 10000, 500, 1024, NULL, NULL, 0};
    run_result r;
    seen *w = calloc(1, sizeof(*w));
    (void)state;
    assert_int_equal(runner_run_watch(&s, &r, watch, w), 0);
    w->buf[w->len] = '\0';
    assert_non_null(strstr(w->buf, "line-0\nline-1\n"));
    assert_non_null(strstr(w->buf, "line-1000\n"));
    assert_non_null(strstr(w->buf, "line-1999\n"));
    assert_null(strstr(r.output, "line-1000\n")); /* the capture kept head and tail only */
    run_result_free(&r);
    free(w);
}

static void no_watcher(void **state)
{
    const char *argv[] = {"sh", "-c", "echo ok", NULL};
    run_spec s = {argv, "/", env, 10000, 500, 1024, NULL, NULL, 0};
    run_result r;
    (void)state;
    assert_int_equal(runner_run_watch(&s, &r, NULL, NULL), 0);
    assert_string_equal(r.output, "ok\n");
    run_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sees_everything_in_order),
        cmocka_unit_test(sees_what_the_capture_cuts),
        cmocka_unit_test(no_watcher),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
