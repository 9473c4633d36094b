/* The verifier's pure parts and its process runner: ref safety, bounded
 * output, timeouts that kill the whole process group, a clean environment,
 * the projects file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "outbuf.h"
#include "proc.h"
#include "ref.h"
#include "runner.h"
#include "verify.h"

static void refs_follow_git_rules_and_refuse_options(void **state)
{
    const char *ok[] = {"main", "refs/heads/req-7", "feature/a_b-c", "v1.2.3",
                        "0123456789abcdef0123456789abcdef01234567", "user@host"};
    const char *bad[] = {"", "--upload-pack=touch /tmp/x", "-x", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*",
                         "a[", "a\\b", "a/", "a.", "/a", "a//b", ".hidden", "a/.b", "x.lock", "a/b.lock/c", "@",
                         "a@{1}", "$(touch /tmp/x)", "a\tb", "a\nb"};
    char why[128];
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!ref_valid(ok[i], why, sizeof(why)))
            fail_msg("'%s' refused: %s", ok[i], why);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ref_valid(bad[i], why, sizeof(why)))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(ref_valid("--upload-pack=x", why, sizeof(why)));
    assert_string_equal(why, "ref starts with '-'");
}

static void output_keeps_head_and_tail(void **state)
{
    outbuf b;
    char *t;
    char chunk[100];
    (void)state;
    outbuf_init(&b, 100);
    outbuf_add(&b, "short", 5);
    t = outbuf_text(&b);
    assert_string_equal(t, "short");
    free(t);
    for (int i = 0; i < 100; i++) {
        memset(chunk, 'a' + (i % 26), sizeof(chunk));
        outbuf_add(&b, chunk, sizeof(chunk));
    }
    outbuf_add(&b, "THE END", 7);
    t = outbuf_text(&b);
    assert_memory_equal(t, "shortaaaa", 9);
    assert_non_null(strstr(t, "[... 9912 bytes elided ...]"));
    assert_non_null(strstr(t, "THE END"));
    assert_true(strlen(t) < 100 + 40);
    free(t);
    outbuf_free(&b);
}

static const char *const clean[] = {"PATH=/usr/bin:/bin", "HOME=/tmp", NULL};

static void exit_codes_and_interleaved_output(void **state)
{
    const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    run_spec s = {argv, "/tmp", clean, 5000, 500, 4096, NULL, NULL, 0};
    run_result r;
    (void)state;
    assert_int_equal(runner_run(&s, &r), -1);
    assert_int_equal(r.exit_code, 3);
    assert_false(r.timed_out);
    assert_non_null(strstr(r.output, "out"));
    assert_non_null(strstr(r.output, "err"));
    run_result_free(&r);
}

static void environment_is_clean(void **state)
{
    const char *argv[] = {"sh", "-c", "env", NULL};
    run_spec s = {argv, "/tmp", clean, 5000, 500, 4096, NULL, NULL, 0};
    run_result r;
    (void)state;
    setenv("ORCH_NATS_PASSWORD", "sekrit", 1);
    setenv("ORCH_MATRIX_TOKEN", "syt_token", 1);
    assert_int_equal(runner_run(&s, &r), 0);
    assert_null(strstr(r.output, "sekrit"));
    assert_null(strstr(r.output, "syt_token"));
    assert_non_null(strstr(r.output, "HOME=/tmp"));
    run_result_free(&r);
}

static void timeout_kills_the_whole_group(void **state)
{
    char pidfile[64], cmd[200];
    const char *argv[] = {"sh", "-c", cmd, NULL};
    run_spec s = {argv, "/tmp", clean, 500, 300, 4096, NULL, NULL, 0};
    run_result r;
    FILE *f;
    long child = 0;
    (void)state;
    snprintf(pidfile, sizeof(pidfile), "/tmp/runner-test-%d.pid", (int)getpid());
    /* a forked "server" that ignores SIGTERM, and a foreground sleep */
    snprintf(cmd, sizeof(cmd), "sh -c 'trap \"\" TERM; sleep 300' & echo $! > %s; sleep 300", pidfile);
    assert_int_equal(runner_run(&s, &r), -1);
    assert_true(r.timed_out);
    assert_true(r.duration_ms < 5000);
    f = fopen(pidfile, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld", &child), 1);
    fclose(f);
    unlink(pidfile);
    usleep(100 * 1000);
    assert_true(child > 0);
    assert_false(proc_alive(child));
    run_result_free(&r);
}

static int ticks;
static void tick(void *arg)
{
    (void)arg;
    ticks++;
}

static void noisy_output_is_bounded_and_ticks_come(void **state)
{
    const char *argv[] = {"sh", "-c", "yes noise | head -c 3000000; sleep 1; echo LAST LINE", NULL};
    run_spec s = {argv, "/tmp", clean, 20000, 500, 2048, tick, NULL, 200};
    run_result r;
    (void)state;
    ticks = 0;
    assert_int_equal(runner_run(&s, &r), 0);
    assert_true(strlen(r.output) < 2048 + 64);
    assert_non_null(strstr(r.output, "bytes elided"));
    assert_non_null(strstr(r.output, "LAST LINE"));
    assert_true(ticks >= 3);
    run_result_free(&r);
}

static void missing_program_is_reported(void **state)
{
    const char *argv[] = {"no-such-program-here", NULL};
    run_spec s = {argv, "/tmp", clean, 5000, 500, 4096, NULL, NULL, 0};
    run_result r;
    (void)state;
    assert_int_equal(runner_run(&s, &r), -1);
    assert_int_equal(r.exit_code, 127);
    assert_non_null(strstr(r.output, "cannot run no-such-program-here"));
    run_result_free(&r);
}

static void projects_file_parses_and_defaults_to_the_seed(void **state)
{
    const char *doc = "{\"projects\": {"
                      " \"web\": {\"repo\": \"/srv/git/web\"},"
                      " \"lib\": {\"repo\": \"/srv/git/lib\", \"base\": \"trunk\", \"steps\": ["
                      "   {\"name\": \"build\", \"command\": \"make all\", \"timeout_s\": 60, \"env\": {\"CC\": \"gcc\"}},"
                      "   {\"name\": \"smoke\", \"http\": {\"url\": \"http://127.0.0.1:8080/health\", \"status\": 204}}]}}}";
    vconfig c;
    char err[ERR_LEN];
    const vproject *p;
    (void)state;
    assert_int_equal(vconfig_parse(doc, strlen(doc), &c, err), ORCH_OK);
    p = vconfig_find(&c, "web");
    assert_int_equal(p->nsteps, 4);
    assert_string_equal(p->steps[0].name, "backend-build");
    assert_string_equal(p->steps[2].argv[4], "--passWithNoTests");
    assert_string_equal(p->base, "main");
    p = vconfig_find(&c, "lib");
    assert_string_equal(p->steps[0].argv[1], "all");
    assert_string_equal(p->steps[0].env[0], "CC=gcc");
    assert_int_equal(p->steps[1].http_status, 204);
    assert_null(vconfig_find(&c, "nope"));
    vconfig_free(&c);

    assert_int_equal(vconfig_parse("{\"projects\": {\"x\": {}}}", 24, &c, err), ORCH_ERR_INVALID);
    assert_non_null(strstr(err, "projects.x.repo"));
    {
        const char *bad = "{\"projects\": {\"x\": {\"repo\": \"/r\", \"steps\": [{\"name\": \"a\", \"dir\": \"../up\", "
                          "\"command\": [\"make\"]}]}}}";
        assert_int_equal(vconfig_parse(bad, strlen(bad), &c, err), ORCH_ERR_INVALID);
        assert_non_null(strstr(err, "projects.x.steps[0].dir"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refs_follow_git_rules_and_refuse_options),
        cmocka_unit_test(output_keeps_head_and_tail),
        cmocka_unit_test(exit_codes_and_interleaved_output),
        cmocka_unit_test(environment_is_clean),
        cmocka_unit_test(timeout_kills_the_whole_group),
        cmocka_unit_test(noisy_output_is_bounded_and_ticks_come),
        cmocka_unit_test(missing_program_is_reported),
        cmocka_unit_test(projects_file_parses_and_defaults_to_the_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
