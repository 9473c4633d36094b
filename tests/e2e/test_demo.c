/* The demo is also a test: scripts/run.sh --headless on a free port, with
 * two replicas of the router and of the verifier (the compose topology, as
 * processes, with the environment variables compose sets), and the final
 * state of every requirement asserted: all COMPLETE, the broken build fixed
 * on its second attempt, the transient error retried, the stuck agent's work
 * released again, the review's changes made; the roadmap written back with
 * nothing but its Status lines changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "natsfix.h"
#include "proc.h"

static char dir[256];


static const cJSON *req(const cJSON *s, const char *id)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "requirements"))
        if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")), id))
            return r;
    fail_msg("%s missing from the summary", id);
    return NULL;
}

static int attempt(const cJSON *s, const char *id)
{
    return (int)cJSON_GetNumberValue(cJSON_GetObjectItem(req(s, id), "attempt"));
}

static void demo_runs_to_completion(void **state)
{
    char port[32], demo[320], bin[300], script[400], path[400], log[400];
    const char *src = getenv("ORCH_SOURCE_DIR"), *bindir = getenv("ORCH_BIN_DIR");
    int status = 0;
    pid_t pid;
    char *summary, *before, *after;
    cJSON *s;
    const cJSON *r;
    (void)state;

    snprintf(dir, sizeof(dir), "/tmp/orch-e2e-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(port, sizeof(port), "ORCH_PORT=%d", natsfix_free_port());
    snprintf(demo, sizeof(demo), "ORCH_DEMO_DIR=%s/var", dir);
    snprintf(bin, sizeof(bin), "ORCH_BIN_DIR=%s", bindir);
    snprintf(script, sizeof(script), "%s/scripts/run.sh", src);
    {
        const char *argv[] = {"bash", script, "--headless", NULL};
        const char *env[] = {port, demo, bin, "ORCH_DEMO_ROUTERS=2", "ORCH_DEMO_VERIFIERS=2",
                             "ORCH_DEMO_TIMEOUT=240", NULL};
        pid = proc_spawn(argv, env, dir, "run.log");
    }
    assert_true(pid > 0);
    assert_int_equal(proc_wait(pid, 300 * 1000, &status), 0);
    snprintf(log, sizeof(log), "%s/run.log", dir);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char *text = proc_slurp(log);
        fail_msg("run.sh --headless failed:\n%s", text ? text : "(no log)");
    }
    snprintf(path, sizeof(path), "%s/var/summary.json", dir);
    summary = proc_slurp(path);
    assert_non_null(summary);
    s = cJSON_Parse(summary);
    assert_non_null(s);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "total")), 20);
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "requirements"))
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "COMPLETE"))
            fail_msg("%s ended %s", cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")));
    assert_int_equal(attempt(s, "REQ-101"), 1);
    assert_int_equal(attempt(s, "REQ-106"), 2);   /* broken build, fixed with the error text */
    assert_int_equal(attempt(s, "REQ-107"), 2);   /* transient error, retried */
    assert_true(attempt(s, "REQ-112") >= 2);      /* the stuck agent's work, released again */
    assert_int_equal(attempt(s, "REQ-105"), 2);   /* the review asked for changes */
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "alertsRaised")) >= 1); /* the stuck one */
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(s, "tokensUsed")) > 0);
    cJSON_Delete(s);
    free(summary);

    /* the roadmap: every Status line written back, nothing else touched */
    snprintf(path, sizeof(path), "%s/examples/roadmap.md", src);
    before = proc_slurp(path);
    snprintf(path, sizeof(path), "%s/var/roadmap.md", dir);
    after = proc_slurp(path);
    assert_non_null(before);
    assert_non_null(after);
    {
        char *sb, *sa, *lb = strtok_r(before, "\n", &sb), *la = strtok_r(after, "\n", &sa);
        int statuses = 0;
        for (; lb && la; lb = strtok_r(NULL, "\n", &sb), la = strtok_r(NULL, "\n", &sa)) {
            if (!strncmp(lb, "- Status:", 9)) {
                assert_string_equal(la, "- Status: Complete");
                statuses++;
                continue;
            }
            assert_string_equal(la, lb);
        }
        assert_null(lb);
        assert_null(la);
        assert_int_equal(statuses, 21);
    }
    free(before);
    free(after);
    {
        const char *argv[] = {"rm", "-rf", dir, NULL};
        proc_wait(proc_spawn(argv, NULL, NULL, NULL), 10000, NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(demo_runs_to_completion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
