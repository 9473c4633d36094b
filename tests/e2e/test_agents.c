/* Real coding agents end to end: scripts/run.sh --headless --agent with
 * Claude Code (backend, database, documentation, review, release) and Codex
 * (frontend) under orch-agent, against the scripted model server
 * (tests/support/modelfake.js with tests/e2e/agents/script.json) on
 * loopback, on the roadmap tests/e2e/agents/roadmap.md. The CLIs are the
 * real ones (scripts/install-agent-clis.sh); nothing leaves the machine.
 *
 * Asserted: every requirement COMPLETE; the reviewer's comments on REQ-201
 * in the prompt of its second attempt; the build broken on purpose
 * (REQ-202) fixed on attempt 2 by a prompt holding the compiler's exact
 * error (the server answers the fix only then); a 429 (REQ-203) reported as
 * transient and retried; a hang (REQ-204) stopped at its time limit and
 * retried; the dependent small work after the documentation budget ran out
 * (REQ-206) sent to the CLI with the cheap model; the day's ledger equal to
 * the tokens the server reported; of two changes that conflict (REQ-207,
 * REQ-208) and two that only break together (REQ-209, REQ-210), one each
 * merged by the merge train and the other ejected from it (a candidate that
 * does not merge, one that fails to link), sent back to its author with the
 * exact output (the server answers the fix only then: the conflict's retry
 * prompt holds the markers, the other the linker's error) and merged on
 * attempt 2; main holding every change once, and building and passing its
 * tests at every commit it went through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "modelsrv.h"
#include "natsfix.h"
#include "proc.h"

static char dir[256];


/* Runs argv to its end (it names its own directory: the test's working
 * directory is the build tree); its output in dir/log. Returns the exit
 * code. */
static int run(const char *const argv[], const char *log)
{
    int status = 0;
    pid_t pid = proc_spawn(argv, NULL, dir, log);
    assert_true(pid > 0);
    if (proc_wait(pid, 120 * 1000, &status) != 0) {
        proc_stop(pid, 2000);
        fail_msg("%s %s did not end in 120 s", argv[0], argv[1]);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

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

/* What the server recorded of one scenario. */
typedef struct {
    int answered, refused, rate_limited, hung, other_model;
    double tokens;
} scenario_use;

static scenario_use use_of(cJSON *records, const char *name, const char *model)
{
    scenario_use u = {0, 0, 0, 0, 0, 0};
    const cJSON *e;
    cJSON_ArrayForEach(e, records)
    {
        const char *sc = cJSON_GetStringValue(cJSON_GetObjectItem(e, "scenario"));
        const cJSON *st = cJSON_GetObjectItem(e, "status");
        if (!sc || (name && strcmp(sc, name)))
            continue;
        if (cJSON_IsString(st)) {
            u.hung++;
            continue;
        }
        if (st->valueint == 429)
            u.rate_limited++;
        else if (st->valueint == 400)
            u.refused++;
        else if (st->valueint == 200) {
            const cJSON *us = cJSON_GetObjectItem(e, "usage");
            u.answered++;
            u.tokens += cJSON_GetNumberValue(cJSON_GetObjectItem(us, "input_tokens")) +
                        cJSON_GetNumberValue(cJSON_GetObjectItem(us, "output_tokens")) +
                        cJSON_GetNumberValue(cJSON_GetObjectItem(us, "cache_read_input_tokens")) +
                        cJSON_GetNumberValue(cJSON_GetObjectItem(us, "cache_creation_input_tokens"));
            if (model && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "model")), model))
                u.other_model++;
        }
    }
    return u;
}

static cJSON *records(void)
{
    char path[400], *text, *line, *save;
    cJSON *all = cJSON_CreateArray();
    snprintf(path, sizeof(path), "%s/requests.jsonl", dir);
    text = proc_slurp(path);
    assert_non_null(text);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *e = cJSON_Parse(line);
        assert_non_null(e);
        cJSON_AddItemToArray(all, e);
    }
    free(text);
    return all;
}

/* All agents' logs and their per-attempt logs, one text. */
/* The text of the run's files matching the patterns (under dir; a space
 * between two), concatenated. Only our own directory, no input. */
static char *files_text(const char *patterns)
{
    char cmd[900], *text = NULL, list[600], *save, *tok;
    size_t len = 0, at;
    FILE *p;
    snprintf(list, sizeof(list), "%s", patterns);
    at = (size_t)snprintf(cmd, sizeof(cmd), "cat");
    for (tok = strtok_r(list, " ", &save); tok && at < sizeof(cmd); tok = strtok_r(NULL, " ", &save))
        at += (size_t)snprintf(cmd + at, sizeof(cmd) - at, " %s/%s", dir, tok);
    p = popen(cmd, "r");
    assert_non_null(p);
    for (;;) {
        char buf[8192];
        size_t n = fread(buf, 1, sizeof(buf), p);
        if (!n)
            break;
        text = realloc(text, len + n + 1);
        memcpy(text + len, buf, n);
        len += n;
        text[len] = '\0';
    }
    pclose(p);
    return text ? text : strdup("");
}

/* Every agent's log: the instances' and their CLI runs'. */
static char *agent_logs(void) { return files_text("var/log/agents/*.log var/agents/*/logs/*.log"); }

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void real_agents_run_the_roadmap(void **state)
{
    const char *src = getenv("ORCH_SOURCE_DIR"), *bindir = getenv("ORCH_BIN_DIR");
    char clis[400], path[600], script[400], rec[400], runsh[400];
    char e_port[64], e_demo[320], e_bin[300], e_anthropic[100], e_codex[320], e_cli[420], e_roadmap[420];
    char *text, *logs;
    int status = 0;
    modelsrv fake;
    pid_t pid;
    cJSON *s, *recs;
    const cJSON *r;
    (void)state;

    snprintf(clis, sizeof(clis), "%s/var/npm/node_modules/.bin", src);
    snprintf(path, sizeof(path), "%s/claude", clis);
    if (access(path, X_OK) != 0)
        fail_msg("%s is missing: scripts/install-agent-clis.sh installs Claude Code and Codex", path);
    snprintf(path, sizeof(path), "%s/codex", clis);
    if (access(path, X_OK) != 0)
        fail_msg("%s is missing: scripts/install-agent-clis.sh installs Claude Code and Codex", path);

    snprintf(dir, sizeof(dir), "/tmp/orch-agents-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof(script), "%s/tests/e2e/agents/script.json", src);
    snprintf(rec, sizeof(rec), "%s/requests.jsonl", dir);
    if (modelsrv_start(&fake, script, rec, dir, 10000) != 0)
        fail_msg("the scripted model server did not start (log: %s/modelfake.log)", dir);
    /* Codex's provider: the scripted server, with the key it sends. */
    snprintf(path, sizeof(path), "%s/codex", dir);
    assert_int_equal(modelsrv_codex_home(&fake, path), 0);

    snprintf(e_port, sizeof(e_port), "ORCH_PORT=%d", natsfix_free_port());
    snprintf(e_demo, sizeof(e_demo), "ORCH_DEMO_DIR=%s/var", dir);
    snprintf(e_bin, sizeof(e_bin), "ORCH_BIN_DIR=%s", bindir);
    snprintf(e_anthropic, sizeof(e_anthropic), "ANTHROPIC_BASE_URL=http://127.0.0.1:%d", fake.port);
    snprintf(e_codex, sizeof(e_codex), "CODEX_HOME=%s/codex", dir);
    snprintf(e_cli, sizeof(e_cli), "ORCH_AGENT_CLI_DIR=%s", clis);
    snprintf(e_roadmap, sizeof(e_roadmap), "ORCH_DEMO_ROADMAP=%s/tests/e2e/agents/roadmap.md", src);
    snprintf(runsh, sizeof(runsh), "%s/scripts/run.sh", src);
    {
        const char *argv[] = {"bash", runsh, "--headless", "--agent",
                              "claude,frontend=codex", NULL};
        /* The documentation budget is smaller than REQ-205 spends: after
         * it, the scheduler conserves and small work goes out "cheap". */
        const char *env[] = {e_port, e_demo, e_bin, e_anthropic, e_codex, e_cli, e_roadmap,
                             "ANTHROPIC_API_KEY=sk-scripted-anthropic", "OPENAI_API_KEY=sk-scripted-openai",
                             "ORCH_AGENT_TIMEOUT_S=15", "ORCH_AGENT_CHEAP_MODEL=claude-haiku-4-5",
                             "ORCH_BUDGET_DOCUMENTATION=1000", "ORCH_DEMO_TIMEOUT=240",
                             /* two of each: each pair of clashing changes is worked at once */
                             "ORCH_DEMO_INITIAL=backend=2,frontend=2,database=1,documentation=1,review=1,release=1",
                             NULL};
        pid = proc_spawn(argv, env, dir, "run.log");
    }
    assert_true(pid > 0);
    assert_int_equal(proc_wait(pid, 300 * 1000, &status), 0);
    modelsrv_stop(&fake, 2000);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(path, sizeof(path), "%s/run.log", dir);
        text = proc_slurp(path);
        fail_msg("run.sh --agent failed:\n%s", text ? text : "(no log)");
    }

    snprintf(path, sizeof(path), "%s/var/summary.json", dir);
    text = proc_slurp(path);
    assert_non_null(text);
    s = cJSON_Parse(text);
    free(text);
    assert_non_null(s);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "total")), 10);
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "requirements"))
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")), "COMPLETE"))
            fail_msg("%s ended %s", cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")),
                     cJSON_GetStringValue(cJSON_GetObjectItem(r, "status")));
    assert_int_equal(attempt(s, "REQ-201"), 2); /* the review asked for changes */
    assert_int_equal(attempt(s, "REQ-202"), 2); /* broken build, fixed with the compiler's error */
    assert_int_equal(attempt(s, "REQ-203"), 2); /* 429, retried */
    assert_int_equal(attempt(s, "REQ-204"), 2); /* hang, stopped at its time limit, retried */
    assert_int_equal(attempt(s, "REQ-206"), 1); /* the cheap model on the first try */
    /* of each clashing pair, the one whose merge was refused went back and
     * was merged on its second attempt */
    assert_int_equal(attempt(s, "REQ-207") + attempt(s, "REQ-208"), 3);
    assert_int_equal(attempt(s, "REQ-209") + attempt(s, "REQ-210"), 3);

    recs = records();
    {
        scenario_use all = use_of(recs, NULL, NULL);
        scenario_use fix = use_of(recs, "REQ-202 a2", NULL);
        scenario_use rl = use_of(recs, "REQ-203", NULL);
        scenario_use hang = use_of(recs, "REQ-204 a1", NULL);
        scenario_use cheap = use_of(recs, "REQ-206", "claude-haiku-4-5");
        scenario_use changes = use_of(recs, "REQ-201 a2", NULL);
        /* the server refused nothing: every prompt held what its scenario
         * requires, every model was the one it expects */
        assert_int_equal(all.refused, 0);
        assert_true(fix.answered >= 2);
        assert_int_equal(rl.rate_limited, 2);
        assert_true(hang.hung >= 1);
        assert_true(cheap.answered >= 2);
        assert_int_equal(cheap.other_model, 0);
        assert_true(changes.answered >= 2); /* its prompt held the reviewer's comments */
        /* the day's ledger: exactly what the server reported */
        assert_true(all.tokens > 0);
        if (cJSON_GetNumberValue(cJSON_GetObjectItem(s, "tokensUsed")) != all.tokens)
            fail_msg("the ledger says %.0f tokens, the model server reported %.0f",
                     cJSON_GetNumberValue(cJSON_GetObjectItem(s, "tokensUsed")), all.tokens);
    }
    {
        /* the retry's prompt carried the verifier's exact compiler error */
        const cJSON *e;
        int seen = 0;
        cJSON_ArrayForEach(e, recs)
        {
            const char *sc = cJSON_GetStringValue(cJSON_GetObjectItem(e, "scenario"));
            const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(e, "prompt"));
            if (sc && !strcmp(sc, "REQ-202 a2") && prompt &&
                strstr(prompt, "features/counter.c:1:28: error:") && strstr(prompt, "undeclared_counter"))
                seen++;
        }
        assert_true(seen >= 1);
    }
    {
        /* the ejected changes' retries: the conflict prepared with its
         * markers, the other with the linker's exact error */
        const cJSON *e;
        int markers = 0, linker = 0;
        cJSON_ArrayForEach(e, recs)
        {
            const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(e, "prompt"));
            if (prompt && strstr(prompt, "Merge conflicts to resolve") && strstr(prompt, "<<<<<<<"))
                markers++;
            if (prompt && strstr(prompt, "the merge was refused:") && strstr(prompt, "multiple definition of"))
                linker++;
        }
        assert_true(markers >= 1);
        assert_true(linker >= 1);
    }
    cJSON_Delete(recs);

    logs = agent_logs();
    {   /* the day's cost: exactly what the agents' runs cost, as orch-agent
         * logs each result, review and failed run (Claude Code says its
         * cost; Codex's frontend runs are priced from their tokens) */
        double reported = 0, v;
        int n = 0;
        const cJSON *ledger = cJSON_GetObjectItem(s, "costUsd");
        for (const char *p = logs; (p = strstr(p, ", cost $")); p += 8)
            if (sscanf(p + 8, "%lf", &v) == 1) {
                reported += v;
                n++;
            }
        assert_true(n > 0);
        if (!strstr(logs, " computed from "))
            fail_msg("no Codex run was priced from its tokens");
        assert_non_null(ledger);
        if (fabs(ledger->valuedouble - reported) > 1e-6 * n + 1e-9)
            fail_msg("the ledger says $%.6f, the agents reported $%.6f in %d reports", ledger->valuedouble, reported, n);
    }
    cJSON_Delete(s);
    assert_true(count(logs, "REQ-203 attempt 1: transient error (rate_limited)") == 1);
    assert_true(count(logs, "REQ-204 attempt 1: transient error (timeout)") == 1);
    {
        /* the merge train ejected one of each pair: a candidate that does
         * not merge, one that fails (docs/merge.md) */
        char *vlog = files_text("var/log/verifier-*.log");
        assert_true(count(vlog, "does not merge\n") >= 1);
        assert_true(count(vlog, " FAILED\n") >= 1); /* "train demo: candidate N FAILED" */
        free(vlog);
    }
    /* under ASan/UBSan: the agents' own reports (they end with the run) */
    assert_int_equal(count(logs, "ERROR: AddressSanitizer") + count(logs, "ERROR: LeakSanitizer") +
                         count(logs, "runtime error:"),
                     0);
    free(logs);

    /* main: every change, building and passing its tests */
    {
        char repo[400], check[400], log[600];
        const char *clone[] = {"git", "clone", "-q", repo, check, NULL};
        const char *make[] = {"make", "-C", check, "test", NULL};
        const char *git_log[] = {"git", "-C", check, "log", "--format=%s", "main", NULL};
        snprintf(repo, sizeof(repo), "%s/var/demo-repo", dir);
        snprintf(check, sizeof(check), "%s/check", dir);
        assert_int_equal(run(clone, "clone.log"), 0);
        assert_int_equal(run(make, "make.log"), 0);
        assert_int_equal(run(git_log, "log.txt"), 0);
        snprintf(log, sizeof(log), "%s/log.txt", dir);
        text = proc_slurp(log);
        assert_non_null(text);
        for (int id = 201; id <= 210; id++) {
            char merge[64];
            snprintf(merge, sizeof(merge), "Merge REQ-%d into main\n", id);
            if (count(text, merge) != 1)
                fail_msg("main holds REQ-%d %d times:\n%s", id, count(text, merge), text);
        }
        free(text);
    }
    {
        /* every commit main went through builds and passes its tests */
        char repo[400], check[400], spec[32], log[600];
        const char *n_of[] = {"git", "-C", repo, "rev-list", "--first-parent", "--count", "main", NULL};
        int n;
        snprintf(repo, sizeof(repo), "%s/var/demo-repo", dir);
        assert_int_equal(run(n_of, "count.txt"), 0);
        snprintf(log, sizeof(log), "%s/count.txt", dir);
        text = proc_slurp(log);
        n = text ? atoi(text) : 0;
        free(text);
        assert_true(n >= 11); /* the base and a merge of each */
        for (int k = 0; k < n; k++) {
            const char *co[] = {"git", "-C", check, "checkout", "-q", "-f", "--detach", spec, NULL};
            const char *clean[] = {"git", "-C", check, "clean", "-fdxq", NULL};
            const char *make[] = {"make", "-C", check, "test", NULL};
            snprintf(check, sizeof(check), "%s/check", dir);
            snprintf(spec, sizeof(spec), "origin/main~%d", k);
            assert_int_equal(run(clean, "clean.log"), 0);
            assert_int_equal(run(co, "co.log"), 0);
            if (run(make, "make.log") != 0)
                fail_msg("main~%d does not build and pass its tests (see %s/make.log)", k, dir);
        }
    }
    {
        const char *argv[] = {"rm", "-rf", dir, NULL};
        proc_wait(proc_spawn(argv, NULL, NULL, NULL), 30000, NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_agents_run_the_roadmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
