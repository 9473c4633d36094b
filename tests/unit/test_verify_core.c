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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "outbuf.h"
#include "proc.h"
#include "ref.h"
#include "runner.h"
#include "text.h"
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

#define FFFD "\xef\xbf\xbd"

static void output_is_made_valid_utf8(void **state)
{
    size_t n = 0;
    char *t;
    (void)state;
    t = outbuf_clean("", 0, &n);
    assert_string_equal(t, "");
    assert_int_equal(n, 0);
    free(t);
    t = outbuf_clean("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82", 14, NULL);
    assert_string_equal(t, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82"); /* valid text is kept as it is */
    free(t);
    t = outbuf_clean("before\0after", 12, &n);
    assert_string_equal(t, "before" FFFD "after"); /* a NUL no longer ends the text */
    assert_int_equal(n, strlen(t));
    free(t);
    t = outbuf_clean("a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82", 12, NULL);
    assert_string_equal(t, "a" FFFD "b" FFFD FFFD "c" FFFD FFFD FFFD "d" FFFD FFFD);
    free(t);
}

static void output_is_cut_on_character_boundaries(void **state)
{
    outbuf b;
    char *t, buf[2000];
    size_t bad;
    unsigned x = 7;
    (void)state;
    /* limit 64: a 32-byte head and a 32-byte tail */
    outbuf_init(&b, 64);
    outbuf_add(&b, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe2\x82\xac", 34); /* the head ends in the euro's first byte */
    for (int i = 0; i < 10; i++)
        outbuf_add(&b, "bbbbbbbbbb", 10);
    outbuf_add(&b, "\xe2\x82\xac" "cccccccccccccccccccccccccccccc", 33); /* the tail starts in its second */
    t = outbuf_text(&b);
    assert_true(text_utf8_valid(t, strlen(t), &bad));
    assert_string_equal(t, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n[... 106 bytes elided ...]\ncccccccccccccccccccccccccccccc");
    free(t);
    outbuf_free(&b);
    /* whatever bytes arrive, in whatever pieces, the text is valid */
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(x % sizeof(buf));
        outbuf_init(&b, 64 + x % 200);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (char)("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x99\x82\xff\0"[(x >> 8) % 13]);
        }
        for (size_t off = 0; off < len;) {
            size_t k = 1 + (x >> 4) % 97;
            if (k > len - off)
                k = len - off;
            outbuf_add(&b, buf + off, k);
            off += k;
        }
        t = outbuf_text(&b);
        if (!text_utf8_valid(t, strlen(t), &bad))
            fail_msg("round %d: invalid UTF-8 at byte %zu", round, bad);
        free(t);
        outbuf_free(&b);
        x = x * 1103515245u + 12345u;
    }
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

/* Reads the pids a step wrote, one a line, into pids; returns how many. */
static int read_pids(const char *path, long *pids, int max)
{
    FILE *f = fopen(path, "r");
    int n = 0;
    if (!f)
        return 0;
    while (n < max && fscanf(f, "%ld", &pids[n]) == 1)
        n++;
    fclose(f);
    return n;
}

static void nothing_a_step_started_outlives_it(void **state)
{
    char pidfile[64], cmd[400];
    const char *argv[] = {"sh", "-c", cmd, NULL};
    run_spec s = {argv, "/tmp", clean, 60000, 300, 4096, NULL, NULL, 0};
    run_result r;
    long pids[4];
    (void)state;
    snprintf(pidfile, sizeof(pidfile), "/tmp/runner-test-%d.pids", (int)getpid());
    /* a new session, a double fork holding the output pipe, a plain
     * background job; the step itself exits 0 at once */
    snprintf(cmd, sizeof(cmd),
             "setsid sleep 300 & echo $! > %s; (sh -c 'sleep 300 & echo $! >> %s' &); "
             "sleep 300 & echo $! >> %s; sleep 0.2; echo done",
             pidfile, pidfile, pidfile);
    assert_int_equal(runner_run(&s, &r), 0);
    assert_false(r.timed_out);
    assert_non_null(strstr(r.output, "done"));
    assert_int_equal(read_pids(pidfile, pids, 4), 3);
    unlink(pidfile);
    for (int i = 0; i < 3; i++)
        if (proc_alive(pids[i]))
            fail_msg("process %ld the step started is still running", pids[i]);
    assert_true(r.duration_ms < 30000); /* not the sleeps' 300 s */
    run_result_free(&r);
}

static void deep_and_locked_trees_are_removed(void **state)
{
    char root[64], cmd[400];
    const char *argv[] = {"sh", "-c", cmd, NULL};
    run_spec s = {argv, root, clean, 60000, 300, 4096, NULL, NULL, 0};
    run_result r;
    struct stat sb;
    (void)state;
    snprintf(root, sizeof(root), "/tmp/remove-test-%d", (int)getpid());
    assert_int_equal(mkdir(root, 0700), 0);
    /* 250 levels of 20-byte names, about 5 KB of path, more than PATH_MAX
     * (built by moving the chain into a new top, so no command needs the
     * long path); and a directory of mode 000 with a 000 directory inside */
    snprintf(cmd, sizeof(cmd),
             "mkdir -p locked/inner d && touch locked/f locked/inner/g d/deepest && chmod 000 locked/inner locked && "
             "i=0; while [ $i -lt 250 ]; do mkdir t && mv d t/dddddddddddddddddddd && mv t d || exit 1; "
             "i=$((i+1)); done");
    assert_int_equal(runner_run(&s, &r), 0);
    run_result_free(&r);
    verify_remove_tree(root);
    assert_int_equal(lstat(root, &sb), -1);
    assert_int_equal(errno, ENOENT);
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
        cmocka_unit_test(output_is_made_valid_utf8),
        cmocka_unit_test(output_is_cut_on_character_boundaries),
        cmocka_unit_test(exit_codes_and_interleaved_output),
        cmocka_unit_test(environment_is_clean),
        cmocka_unit_test(timeout_kills_the_whole_group),
        cmocka_unit_test(noisy_output_is_bounded_and_ticks_come),
        cmocka_unit_test(nothing_a_step_started_outlives_it),
        cmocka_unit_test(deep_and_locked_trees_are_removed),
        cmocka_unit_test(missing_program_is_reported),
        cmocka_unit_test(projects_file_parses_and_defaults_to_the_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
