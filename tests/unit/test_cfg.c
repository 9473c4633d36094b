/* Unit tests of the table-driven config loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"
#include "svccfg.h"

typedef struct {
    char *name;
    long long count;
    int flag;
    int mode;
    cfg_list items;
    char *secret;
} demo;

static const char *const modes[] = {"fast", "slow", NULL};

static const cfg_entry demo_entries[] = {
    {"demo.name", CFG_STR, "alpha", 0, 16, offsetof(demo, name), NULL, 0, "a name"},
    {"demo.count", CFG_INT, "5", 1, 10, offsetof(demo, count), NULL, 0, "a count"},
    {"demo.flag", CFG_BOOL, "false", 0, 0, offsetof(demo, flag), NULL, 0, "a flag"},
    {"demo.mode", CFG_ENUM, "fast", 0, 0, offsetof(demo, mode), modes, 0, "a mode"},
    {"demo.items", CFG_LIST, "a, b", 0, 8, offsetof(demo, items), NULL, 0, "items"},
    {"demo.secret", CFG_STR, NULL, 0, 64, offsetof(demo, secret), NULL, CFG_SECRET, "a secret"},
};

static demo d;
static cfg_table table = {demo_entries, sizeof(demo_entries) / sizeof(demo_entries[0]), &d};
static char path[64];

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/test_cfg_%d.json", (int)getpid());
    unsetenv("ORCH_DEMO_NAME");
    unsetenv("ORCH_DEMO_COUNT");
    unsetenv("ORCH_DEMO_ITEMS");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cfg_free(&table, 1);
    unlink(path);
    return 0;
}

static void defaults_apply_without_file(void **state)
{
    char err[ERR_LEN];
    (void)state;
    assert_int_equal(cfg_load(&table, 1, NULL, err), ORCH_OK);
    assert_string_equal(d.name, "alpha");
    assert_int_equal(d.count, 5);
    assert_int_equal(d.flag, 0);
    assert_int_equal(d.mode, 0);
    assert_int_equal(d.items.n, 2);
    assert_string_equal(d.items.v[1], "b");
    assert_null(d.secret);
}

static void file_overrides_defaults_and_env_overrides_file(void **state)
{
    char err[ERR_LEN];
    (void)state;
    write_file("{\"demo\": {\"name\": \"beta\", \"count\": 7, \"flag\": true, \"mode\": \"SLOW\","
               " \"items\": [\"x\", \"y\", \"z\"]}}");
    setenv("ORCH_DEMO_COUNT", "9", 1);
    assert_int_equal(cfg_load(&table, 1, path, err), ORCH_OK);
    assert_string_equal(d.name, "beta");
    assert_int_equal(d.count, 9);
    assert_int_equal(d.flag, 1);
    assert_int_equal(d.mode, 1);
    assert_int_equal(d.items.n, 3);
    unsetenv("ORCH_DEMO_COUNT");
}

static void expect_error(const char *file_text, const char *needle)
{
    char err[ERR_LEN];
    if (file_text)
        write_file(file_text);
    assert_int_not_equal(cfg_load(&table, 1, file_text ? path : NULL, err), ORCH_OK);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void errors_name_the_key_and_file(void **state)
{
    (void)state;
    expect_error("{\"demo\": {\"cuont\": 3}}", "unknown key 'demo.cuont'");
    expect_error("{\"demo\": {\"count\": 30}}", "key 'demo.count': 30 is outside 1..10");
    expect_error("{\"demo\": {\"count\": \"3\"}}", "key 'demo.count': expected a whole number");
    expect_error("{\"demo\": {\"count\": 2.5}}", "expected a whole number");
    expect_error("{\"demo\": {\"count\": 1e300}}", "expected a whole number"); /* found by fuzz_config */
    expect_error("{\"demo\": {\"flag\": 1}}", "key 'demo.flag': expected true or false");
    expect_error("{\"demo\": {\"mode\": \"medium\"}}", "'medium' is not one of fast, slow");
    expect_error("{\"demo\": {\"name\": \"a name far too long for it\"}}", "longer than 16");
    expect_error("{\"demo\": {\"items\": [1]}}", "item 0 is not a string");
    expect_error("{\"demo\": ", "invalid JSON");
    expect_error("[1,2]", "top level must be an object");
}

static void underscore_keys_are_comments(void **state)
{
    char err[ERR_LEN];
    (void)state;
    write_file("{\"_comment\": \"settings for tests\", \"demo\": {\"_note\": [1], \"count\": 3}}");
    assert_int_equal(cfg_load(&table, 1, path, err), ORCH_OK);
    assert_int_equal(d.count, 3);
}

static void file_errors_name_the_file(void **state)
{
    char err[ERR_LEN];
    (void)state;
    write_file("{\"demo\": {\"cuont\": 3}}");
    assert_int_equal(cfg_load(&table, 1, path, err), ORCH_ERR_INVALID);
    assert_non_null(strstr(err, path));
    assert_int_equal(cfg_load(&table, 1, "/nonexistent/x.json", err), ORCH_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/x.json"));
    assert_non_null(strstr(err, "config /nonexistent/x.json: cannot open"));
}

/* 1 MiB is read; one byte more is refused by name, never cut to a prefix
 * that might still parse. */
static void an_oversized_file_is_refused_not_cut(void **state)
{
    char err[ERR_LEN];
    FILE *f;
    (void)state;
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"demo\": {\"count\": 4}}", f);
    for (long i = (long)strlen("{\"demo\": {\"count\": 4}}"); i < 1024 * 1024; i++)
        fputc(' ', f);
    fclose(f);
    assert_int_equal(cfg_load(&table, 1, path, err), ORCH_OK);
    assert_int_equal(d.count, 4);
    f = fopen(path, "a");
    assert_non_null(f);
    fputc(' ', f);
    fclose(f);
    assert_int_equal(cfg_load(&table, 1, path, err), ORCH_ERR_IO);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "larger than the limit of 1048576 bytes"));
    assert_int_equal(strncmp(err, "config ", 7), 0);
}

static void env_errors_name_the_variable(void **state)
{
    char err[ERR_LEN];
    (void)state;
    setenv("ORCH_DEMO_COUNT", "many", 1);
    assert_int_equal(cfg_load(&table, 1, NULL, err), ORCH_ERR_INVALID);
    assert_non_null(strstr(err, "ORCH_DEMO_COUNT"));
    assert_non_null(strstr(err, "'many' is not a whole number"));
    unsetenv("ORCH_DEMO_COUNT");
}

static void env_name_maps_dots(void **state)
{
    char buf[64];
    (void)state;
    cfg_env_name("nats.tls.ca", buf, sizeof(buf));
    assert_string_equal(buf, "ORCH_NATS_TLS_CA");
}

static void list_from_env_trims_and_skips_empty(void **state)
{
    char err[ERR_LEN];
    (void)state;
    setenv("ORCH_DEMO_ITEMS", " one ,, two ", 1);
    assert_int_equal(cfg_load(&table, 1, NULL, err), ORCH_OK);
    assert_int_equal(d.items.n, 2);
    assert_string_equal(d.items.v[0], "one");
    assert_string_equal(d.items.v[1], "two");
    unsetenv("ORCH_DEMO_ITEMS");
}

static void shared_table_defaults_are_valid(void **state)
{
    svc_cfg c;
    cfg_table t = {svc_cfg_entries, svc_cfg_count, &c};
    char err[ERR_LEN];
    (void)state;
    memset(&c, 0, sizeof(c));
    unsetenv("ORCH_NATS_URL");
    assert_int_equal(cfg_load(&t, 1, NULL, err), ORCH_OK);
    assert_int_equal(c.nats_url.n, 1);
    assert_string_equal(c.nats_url.v[0], "nats://127.0.0.1:4222");
    assert_int_equal(c.shutdown_timeout_ms, 10000);
    setenv("ORCH_NATS_URL", "nats://a:1,nats://b:2", 1);
    assert_int_equal(cfg_load(&t, 1, NULL, err), ORCH_OK);
    assert_int_equal(c.nats_url.n, 2);
    unsetenv("ORCH_NATS_URL");
    cfg_free(&t, 1);
}

static void shipped_sample_config_loads(void **state)
{
    svc_cfg c;
    cfg_table t = {svc_cfg_entries, svc_cfg_count, &c};
    char err[ERR_LEN];
    (void)state;
    memset(&c, 0, sizeof(c));
    if (cfg_load(&t, 1, ORCH_SOURCE_DIR "/config/orch.sample.json", err) != ORCH_OK)
        fail_msg("%s", err);
    assert_int_equal(c.replicas, 1);
    cfg_free(&t, 1);
}

static void help_never_prints_secret_defaults(void **state)
{
    static const cfg_entry e[] = {
        {"x.password", CFG_STR, "hunter2", 0, 64, 0, NULL, CFG_SECRET, "pw"}};
    cfg_table t = {e, 1, NULL};
    char buf[4096] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    (void)state;
    cfg_print_help(f, &t, 1);
    fclose(f);
    assert_non_null(strstr(buf, "ORCH_X_PASSWORD"));
    assert_null(strstr(buf, "hunter2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(defaults_apply_without_file, setup, teardown),
        cmocka_unit_test_setup_teardown(file_overrides_defaults_and_env_overrides_file, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_name_the_key_and_file, setup, teardown),
        cmocka_unit_test_setup_teardown(underscore_keys_are_comments, setup, teardown),
        cmocka_unit_test_setup_teardown(file_errors_name_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(an_oversized_file_is_refused_not_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(env_errors_name_the_variable, setup, teardown),
        cmocka_unit_test(env_name_maps_dots),
        cmocka_unit_test_setup_teardown(list_from_env_trims_and_skips_empty, setup, teardown),
        cmocka_unit_test(shared_table_defaults_are_valid),
        cmocka_unit_test(shipped_sample_config_loads),
        cmocka_unit_test(help_never_prints_secret_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
