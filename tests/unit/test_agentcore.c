/* orch-agent's core: output of the real CLIs (recorded from Claude Code
 * 2.1.332 and Codex 0.171.0 against tests/support/modelfake.js, in
 * tests/unit/fixtures/agent), the command line, the environment, failures,
 * prompts and review answers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentcore.h"
#include "edge.h"

static char *fixture(const char *name)
{
    char path[512];
    FILE *f;
    long n;
    char *buf;
    snprintf(path, sizeof(path), "%s/tests/unit/fixtures/agent/%s", ORCH_SOURCE_DIR, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void parse(agent_output k, const char *name, agent_usage *u)
{
    char *text = fixture(name);
    agent_usage_parse(k, text, u);
    free(text);
}

static void empty_and_null_output(void **state)
{
    agent_usage u;
    (void)state;
    agent_usage_parse(AGENT_OUT_CLAUDE, NULL, &u);
    assert_false(u.has_tokens);
    agent_usage_parse(AGENT_OUT_CODEX, "", &u);
    assert_false(u.has_tokens);
    agent_usage_parse(AGENT_OUT_GEMINI, "not json at all", &u);
    assert_false(u.has_tokens);
    agent_usage_parse(AGENT_OUT_COMMAND, "{\"tokensUsed\": 5\n", &u); /* cut off */
    assert_false(u.has_tokens);
    assert_int_equal(agent_usage_line(AGENT_OUT_CLAUDE, "", 0), 0);
    assert_int_equal(agent_usage_line(AGENT_OUT_CLAUDE, "{broken", 7), 0);
}

/* The scripted server answered 1000+50, 1100+20, 1200+10 tokens. */
static void claude_json_result(void **state)
{
    agent_usage u;
    (void)state;
    parse(AGENT_OUT_CLAUDE, "claude-success.json", &u);
    assert_true(u.has_tokens);
    assert_int_equal(u.tokens, 3300 + 80);
    assert_true(u.has_cost);
    assert_true(u.cost_usd > 0.0147 && u.cost_usd < 0.0149);
    assert_false(u.is_error);
    assert_string_equal(u.text, "Wrote features/a.c.");
}

static void claude_stream_json(void **state)
{
    agent_usage u;
    char *text = fixture("claude-stream.jsonl");
    uint64_t live = 0;
    (void)state;
    agent_usage_parse(AGENT_OUT_CLAUDE, text, &u);
    assert_int_equal(u.tokens, 3380);
    assert_true(u.has_cost);
    /* live: each assistant line's usage as streamed (the output count is
     * the stream's first figure, so live tokens are a lower bound) */
    for (char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        live += agent_usage_line(AGENT_OUT_CLAUDE, p, (size_t)(nl - p));
    }
    assert_true(live >= 3300 && live <= 3380);
    free(text);
}

static void claude_errors(void **state)
{
    agent_usage u;
    agent_failure f;
    agent_run run = {1, 0, 0, 0, 1};
    (void)state;
    parse(AGENT_OUT_CLAUDE, "claude-429.json", &u);
    assert_true(u.is_error);
    assert_int_equal(u.api_status, 429);
    agent_classify(&run, &u, "", &f);
    assert_true(f.failed);
    assert_true(f.transient);
    assert_string_equal(f.reason, "rate_limited");
    parse(AGENT_OUT_CLAUDE, "claude-401.json", &u);
    assert_int_equal(u.api_status, 401);
    agent_classify(&run, &u, "", &f);
    assert_false(f.transient);
    assert_string_equal(f.reason, "auth");
    assert_non_null(strstr(f.message, "Failed to authenticate"));
}

static void codex_events(void **state)
{
    agent_usage u;
    char *text = fixture("codex-success.jsonl");
    uint64_t live = 0;
    (void)state;
    agent_usage_parse(AGENT_OUT_CODEX, text, &u);
    assert_true(u.has_tokens);
    assert_int_equal(u.tokens, 3380);
    assert_false(u.has_cost);
    assert_false(u.is_error); /* the "Model metadata" item is not a failure */
    assert_string_equal(u.text, "Wrote features/a.c.");
    for (char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        live += agent_usage_line(AGENT_OUT_CODEX, p, (size_t)(nl - p));
    }
    assert_int_equal(live, 3380);
    free(text);
}

/* Codex says its tokens, not their cost: priced at the model's list price,
 * input read from the cache at its own price; a configured price wins; a
 * CLI's own cost is never replaced. */
static void codex_cost_is_computed_from_its_tokens(void **state)
{
    agent_usage u;
    agent_price own;
    char why[200];
    char *text = fixture("codex-success.jsonl");
    (void)state;
    agent_usage_parse(AGENT_OUT_CODEX, text, &u);
    assert_int_equal(u.input, 3300);
    assert_int_equal(u.output, 80);
    assert_true(agent_cost_compute(&u, agent_price_find("gpt-5-codex")));
    assert_true(u.has_cost && u.cost_computed);
    assert_true(fabs(u.cost_usd - (3300 * 1.25 + 80 * 10.0) / 1e6) < 1e-12);
    assert_false(agent_cost_compute(&u, agent_price_find(NULL))); /* has a cost now */
    free(text);

    memset(&u, 0, sizeof(u));
    agent_usage_parse(AGENT_OUT_CODEX, "{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":2000000,"
                      "\"cached_input_tokens\":1000000,\"output_tokens\":100000,\"reasoning_output_tokens\":60000}}",
                      &u);
    assert_int_equal(u.reasoning, 60000);
    assert_int_equal(agent_price_parse("2,0.5,8", &own, why, sizeof(why)), 0);
    assert_true(agent_cost_compute(&u, &own));
    assert_true(fabs(u.cost_usd - (1.0 * 2 + 1.0 * 0.5 + 0.1 * 8)) < 1e-9);
    assert_string_equal(agent_price_find("gpt-5-mini-2025")->model, "gpt-5-mini"); /* the longest name */
    assert_null(agent_price_find("claude-sonnet"));
    assert_int_equal(agent_price_parse("1.25,0.125", &own, why, sizeof(why)), -1);
    assert_int_equal(agent_price_parse("1,2,-3", &own, why, sizeof(why)), -1);
    assert_int_equal(agent_price_parse("1,2,3x", &own, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "INPUT,CACHED,OUTPUT"));
}

/* When a rate limit says it ends, in the CLIs' and APIs' words. */
static void a_rate_limit_says_when_it_ends(void **state)
{
    const int64_t now = 1765000000000LL;
    (void)state;
    assert_true(agent_retry_at("Claude AI usage limit reached|1765003600", now) == now + 3600 * 1000LL);
    assert_true(agent_retry_at("Rate limit reached for gpt-5 in organization org-x on tokens per min. Please try "
                               "again in 20s. Visit https://platform.openai.com", now) == now + 20000);
    assert_true(agent_retry_at("stream error: Please try again in 6m0s", now) == now + 360000);
    assert_true(agent_retry_at("Please try again in 1.5s.", now) == now + 1500);
    assert_true(agent_retry_at("You've hit your usage limit. Upgrade to Pro or try again in 4 days 20 hours 9 "
                               "minutes.", now) == now + (4 * 86400LL + 20 * 3600 + 9 * 60) * 1000);
    assert_true(agent_retry_at("API Error: 429 rate_limit_error. Retry-After: 30", now) == now + 30000);
    assert_true(agent_retry_at("rate limited, retry after 45 seconds", now) == now + 45000);
    /* no time said, or one not believed */
    assert_true(agent_retry_at("API Error: Request rejected (429) · scripted 429", now) == 0);
    assert_true(agent_retry_at("exceeded retry limit, last status: 429 Too Many Requests", now) == 0);
    assert_true(agent_retry_at("try again in 30 days", now) == 0);
    assert_true(agent_retry_at("try again in a while", now) == 0);
    assert_true(agent_retry_at(NULL, now) == 0);
}

static void codex_errors(void **state)
{
    agent_usage u;
    agent_failure f;
    agent_run run = {1, 0, 0, 0, 1};
    (void)state;
    parse(AGENT_OUT_CODEX, "codex-429.jsonl", &u);
    assert_true(u.is_error);
    assert_int_equal(u.api_status, 429);
    agent_classify(&run, &u, "", &f);
    assert_true(f.transient);
    assert_string_equal(f.reason, "rate_limited");
    parse(AGENT_OUT_CODEX, "codex-401.jsonl", &u);
    assert_int_equal(u.api_status, 401);
    agent_classify(&run, &u, "", &f);
    assert_false(f.transient);
    assert_string_equal(f.reason, "auth");
}

static void gemini_and_command(void **state)
{
    agent_usage u;
    (void)state;
    agent_usage_parse(AGENT_OUT_GEMINI,
                      "Loaded cached credentials.\n{\"response\":\"done\",\"stats\":{\"models\":{\"gemini-2.5-pro\":"
                      "{\"tokens\":{\"prompt\":10,\"candidates\":5,\"total\":15}},\"gemini-2.5-flash\":{\"tokens\":"
                      "{\"total\":7}}}}}",
                      &u);
    assert_int_equal(u.tokens, 22);
    assert_string_equal(u.text, "done");
    agent_usage_parse(AGENT_OUT_GEMINI, "{\"error\":{\"message\":\"quota\",\"code\":429}}", &u);
    assert_true(u.is_error);
    assert_int_equal(u.api_status, 429);
    agent_usage_parse(AGENT_OUT_COMMAND,
                      "working\n{\"tokensUsed\": 10}\nmore\n{\"tokensUsed\": 1234, \"costUsd\": 0.5, "
                      "\"summary\": \"s\"}\ntrailing text\n",
                      &u);
    assert_int_equal(u.tokens, 1234);
    assert_true(u.has_cost);
    assert_true(u.cost_usd == 0.5);
    assert_string_equal(u.text, "s");
    agent_usage_parse(AGENT_OUT_COMMAND, "{\"tokens\": -3}\n", &u);
    assert_false(u.has_tokens);
}

static void argv_from_presets(void **state)
{
    const agent_preset *p = agent_preset_find("codex");
    agent_fill f = {"do it; rm -rf /", "/w/p.txt", "/w/tree", "gpt-cheap"};
    char **v;
    char err[ERR_LEN];
    (void)state;
    assert_null(agent_preset_find("nope"));
    assert_null(agent_preset_find(NULL));
    assert_non_null(p);
    assert_int_equal(agent_argv_build(p->argv, p->model_args, &f, &v, err), ORCH_OK);
    assert_string_equal(v[0], "codex");
    {
        int i = 0, dir = 0, model = 0;
        for (; v[i]; i++) {
            if (!strcmp(v[i], "-C"))
                dir = !strcmp(v[i + 1], "/w/tree");
            if (!strcmp(v[i], "-m"))
                model = !strcmp(v[i + 1], "gpt-cheap");
        }
        assert_true(dir && model);
        assert_string_equal(v[i - 1], "do it; rm -rf /"); /* one element, never a shell */
    }
    agent_argv_free(v);
    /* no model: {model_args} vanishes */
    f.model = "";
    p = agent_preset_find("claude");
    assert_int_equal(agent_argv_build(p->argv, p->model_args, &f, &v, err), ORCH_OK);
    for (int i = 0; v[i]; i++)
        assert_string_not_equal(v[i], "--model");
    assert_string_equal(v[2], "do it; rm -rf /");
    agent_argv_free(v);
    {
        const char *cmd[] = {"my-agent", "--in={prompt_file}", "--dir", "{workdir}", "--model", "{model}", NULL};
        assert_int_equal(agent_argv_build(cmd, NULL, &f, &v, err), ORCH_ERR_INVALID); /* {model} without one */
        assert_non_null(strstr(err, "model"));
        f.model = "m1";
        assert_int_equal(agent_argv_build(cmd, NULL, &f, &v, err), ORCH_OK);
        assert_string_equal(v[1], "--in=/w/p.txt");
        assert_string_equal(v[3], "/w/tree");
        assert_string_equal(v[5], "m1");
        assert_null(v[6]);
        agent_argv_free(v);
    }
    {
        const char *empty[] = {NULL}, *blank[] = {"{prompt_file}", NULL};
        agent_fill none = {"", "", "", ""};
        assert_int_equal(agent_argv_build(empty, NULL, &f, &v, err), ORCH_ERR_INVALID);
        assert_int_equal(agent_argv_build(blank, NULL, &none, &v, err), ORCH_ERR_INVALID);
        assert_null(v);
    }
}

static void environment_allow_list(void **state)
{
    const char *from[] = {"ANTHROPIC_API_KEY=sk-1", "ORCH_NATS_PASSWORD=secret", "ANTHROPIC_API_KEY_X=no",
                          "HOME=/root", NULL};
    const char *fixed[] = {"DISABLE_TELEMETRY=1", "CLAUDE_CODE_MAX_RETRIES=1", NULL};
    const char *base[] = {"PATH=/usr/bin", "HOME=/w/home", NULL};
    char *names[] = {"ANTHROPIC_API_KEY", "CLAUDE_CODE_MAX_RETRIES", "NOT_SET"};
    cfg_list allow = {names, 3};
    char **env;
    int key = 0, nats = 0, home = 0;
    (void)state;
    env = agent_env_build(fixed, &allow, from, base);
    for (int i = 0; env[i]; i++) {
        key += !strcmp(env[i], "ANTHROPIC_API_KEY=sk-1");
        nats += !strncmp(env[i], "ORCH_", 5) || !strncmp(env[i], "ANTHROPIC_API_KEY_X", 19);
        home += !strncmp(env[i], "HOME=", 5);
        assert_string_not_equal(env[i], "HOME=/root");
    }
    assert_int_equal(key, 1);
    assert_int_equal(nats, 0);
    assert_int_equal(home, 1);
    agent_argv_free(env);
    env = agent_env_build(NULL, NULL, NULL, NULL);
    assert_null(env[0]);
    agent_argv_free(env);
}

static void model_hint(void **state)
{
    (void)state;
    assert_string_equal(agent_model_for("cheap", "opus", "haiku"), "haiku");
    assert_string_equal(agent_model_for("", "opus", "haiku"), "opus");
    assert_string_equal(agent_model_for(NULL, "opus", "haiku"), "opus");
    assert_string_equal(agent_model_for("cheap", "opus", ""), "opus");
    assert_string_equal(agent_model_for("cheap", NULL, NULL), "");
}

static void classify_runs(void **state)
{
    agent_usage u;
    agent_failure f;
    agent_run ok = {0, 0, 0, 2, 1}, nothing = {0, 0, 0, 0, 1}, review = {0, 0, 0, 0, 0};
    agent_run timeout = {-1, 1, 0, 0, 1}, missing = {127, 0, 1, 0, 1}, crashed = {2, 0, 0, 0, 1};
    (void)state;
    memset(&u, 0, sizeof(u));
    agent_classify(&ok, &u, "", &f);
    assert_false(f.failed);
    agent_classify(&review, &u, "", &f);
    assert_false(f.failed);
    agent_classify(&nothing, &u, "", &f);
    assert_true(f.failed);
    assert_false(f.transient);
    assert_string_equal(f.reason, "empty_diff");
    agent_classify(&timeout, &u, "", &f);
    assert_true(f.transient);
    assert_string_equal(f.reason, "timeout");
    agent_classify(&missing, &u, "exec claude: No such file or directory", &f);
    assert_false(f.transient);
    assert_string_equal(f.reason, "cli_missing");
    agent_classify(&crashed, &u, "x\nError: connect ECONNREFUSED 127.0.0.1:9\n", &f);
    assert_true(f.transient);
    assert_string_equal(f.reason, "network");
    agent_classify(&crashed, &u, "API Error: 529 Overloaded", &f);
    assert_string_equal(f.reason, "overloaded");
    agent_classify(&crashed, &u, "500 Internal Server Error", &f);
    assert_string_equal(f.reason, "server_error");
    assert_true(f.transient);
    agent_classify(&crashed, &u, "panic: something odd\n", &f);
    assert_false(f.transient);
    assert_string_equal(f.reason, "agent_failed");
    assert_non_null(strstr(f.message, "something odd"));
}

static pb_requirement *requirement(const char *json)
{
    pb_requirement **r = NULL;
    size_t n = 0;
    edge_limits lim;
    char err[ERR_LEN];
    edge_limits_default(&lim);
    assert_int_equal(edge_requirements_from_json(json, strlen(json), &lim, &r, &n, err), EDGE_OK);
    assert_int_equal(n, 1);
    {
        pb_requirement *one = r[0];
        free(r);
        return one;
    }
}

static void prompts(void **state)
{
    pb_requirement *r = requirement(
        "{\"id\":\"REQ-7\",\"title\":\"Add lots\",\"description\":\"A table.\",\"type\":\"backend\","
        "\"acceptanceCriteria\":[\"runs\",\"unique\"],\"files\":[\"a.c\"],\"attempt\":2,"
        "\"lastFailureOutput\":\"a.c:1: error: 'x' undeclared\"}");
    size_t n;
    agent_var *v = agent_work_vars(r, "demo", "req/REQ-7-a2", "REQ-6: made the table", &n);
    char *out, err[ERR_LEN];
    (void)state;
    assert_int_equal(agent_render(agent_work_prompt, v, n, &out, err), ORCH_OK);
    assert_non_null(strstr(out, "Requirement REQ-7: Add lots"));
    assert_non_null(strstr(out, "Attempt: 2"));
    assert_non_null(strstr(out, "- runs\n- unique"));
    assert_non_null(strstr(out, "- a.c"));
    assert_non_null(strstr(out, "a.c:1: error: 'x' undeclared")); /* the exact error */
    assert_non_null(strstr(out, "REQ-6: made the table"));
    assert_null(strstr(out, "{{"));
    free(out);
    assert_int_equal(agent_render("x {{nope}} y", v, n, &out, err), ORCH_ERR_INVALID);
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(agent_render("{{ unclosed", v, n, &out, err), ORCH_OK);
    assert_string_equal(out, "{{ unclosed");
    free(out);
    agent_vars_free(v, n);
    protobuf_c_message_free_unpacked(&r->base, NULL);

    r = requirement("{\"id\":\"REQ-8\",\"title\":\"T\",\"type\":\"backend\","
                    "\"lastFailureOutput\":\"review requested changes: add a test\"}");
    v = agent_work_vars(r, "demo", "b", "", &n);
    assert_int_equal(agent_render(agent_work_prompt, v, n, &out, err), ORCH_OK);
    assert_non_null(strstr(out, "The reviewer asked for changes"));
    assert_non_null(strstr(out, "add a test"));
    assert_null(strstr(out, "failed verification"));
    assert_null(strstr(out, "depends on"));
    assert_non_null(strstr(out, "(none given)"));
    free(out);
    agent_vars_free(v, n);
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void review_answers(void **state)
{
    int approved = -1;
    char c[200];
    (void)state;
    assert_int_equal(agent_review_verdict("Looks fine.\nVERDICT: APPROVED\n", &approved, c, sizeof(c)), 0);
    assert_int_equal(approved, 1);
    assert_string_equal(c, "Looks fine.");
    assert_int_equal(agent_review_verdict("Add a test.\n**Verdict: changes_requested**", &approved, c, sizeof(c)), 0);
    assert_int_equal(approved, 0);
    assert_string_equal(c, "Add a test.");
    /* the last verdict counts */
    assert_int_equal(agent_review_verdict("VERDICT: APPROVED\nno wait\nVERDICT: CHANGES_REQUESTED", &approved, c,
                                          sizeof(c)),
                     0);
    assert_int_equal(approved, 0);
    assert_int_equal(agent_review_verdict("I think it is fine", &approved, c, sizeof(c)), -1);
    assert_int_equal(agent_review_verdict("VERDICT: maybe", &approved, c, sizeof(c)), -1);
    assert_int_equal(agent_review_verdict("", &approved, c, sizeof(c)), -1);
    assert_int_equal(agent_review_verdict("long comment here\nVERDICT: APPROVED", &approved, c, 5), 0);
    assert_string_equal(c, "long");
}

/* A failure as agent_classify gives it: reason, transient or not. */
static agent_failure failure(const char *reason, int transient)
{
    agent_failure f;
    memset(&f, 0, sizeof(f));
    f.failed = 1;
    f.transient = transient;
    f.reason = reason;
    return f;
}

static void breaker_opens_after_n_fast_permanent_failures_in_a_row(void **state)
{
    agent_breaker b;
    agent_failure auth = failure("auth", 0);
    char why[512];
    (void)state;
    agent_breaker_init(&b, 3, 10000);
    assert_false(agent_breaker_is_open(&b));
    assert_false(agent_breaker_is_open(NULL));
    agent_breaker_explain(&b, why, sizeof(why));
    assert_string_equal(why, "");
    assert_int_equal(agent_breaker_record(&b, &auth, 120, 1000), 0);
    assert_int_equal(agent_breaker_record(&b, &auth, 95, 2000), 0);
    assert_false(agent_breaker_is_open(&b));
    assert_int_equal(agent_breaker_record(&b, &auth, 9999, 3000), 1); /* just under the threshold */
    assert_true(agent_breaker_is_open(&b));
    assert_int_equal(b.opened_at_ms, 3000);
    /* once: an open breaker records nothing more */
    assert_int_equal(agent_breaker_record(&b, &auth, 10, 4000), 0);
    assert_true(agent_breaker_is_open(&b));
    agent_breaker_explain(&b, why, sizeof(why));
    assert_string_equal(why, "the last 3 runs of the CLI failed non-transiently, each in under 10000 ms: auth after "
                             "120 ms, auth after 95 ms, auth after 9999 ms");
    /* a short buffer is cut, not overrun */
    agent_breaker_explain(&b, why, 16);
    assert_int_equal(strlen(why), 15);
}

static void breaker_counts_only_an_unbroken_streak(void **state)
{
    agent_breaker b;
    agent_failure auth = failure("auth", 0), limited = failure("rate_limited", 1), ok;
    (void)state;
    memset(&ok, 0, sizeof(ok));
    agent_breaker_init(&b, 3, 10000);
    /* a success, a transient failure and a slow failure each start the count again */
    agent_breaker_record(&b, &auth, 100, 0);
    agent_breaker_record(&b, &auth, 100, 0);
    agent_breaker_record(&b, &ok, 100, 0);
    agent_breaker_record(&b, &auth, 100, 0);
    agent_breaker_record(&b, &auth, 100, 0);
    agent_breaker_record(&b, &limited, 100, 0);
    agent_breaker_record(&b, &auth, 100, 0);
    agent_breaker_record(&b, &auth, 100, 0);
    agent_breaker_record(&b, &auth, 10000, 0); /* at the threshold: not fast */
    agent_breaker_record(&b, &auth, 100, 0);
    assert_false(agent_breaker_is_open(&b));
    assert_int_equal(b.streak, 1);
    assert_int_equal(agent_breaker_record(&b, &auth, 100, 0), 0);
    assert_int_equal(agent_breaker_record(&b, &auth, 100, 0), 1);
}

static void breaker_bounds(void **state)
{
    agent_breaker b;
    agent_failure auth = failure("auth", 0), unnamed = failure(NULL, 0);
    char why[256];
    (void)state;
    /* 0: never opens */
    agent_breaker_init(&b, 0, 10000);
    for (int i = 0; i < 50; i++)
        assert_int_equal(agent_breaker_record(&b, &auth, 1, i), 0);
    assert_false(agent_breaker_is_open(&b));
    /* 1: the first fast failure opens it */
    agent_breaker_init(&b, 1, 10000);
    assert_int_equal(agent_breaker_record(&b, &unnamed, 0, 5), 1);
    agent_breaker_explain(&b, why, sizeof(why));
    assert_non_null(strstr(why, "failed after 0 ms"));
    /* more than it can keep is capped */
    agent_breaker_init(&b, 1000, 10000);
    assert_int_equal(b.failures, AGENT_BREAKER_MAX);
    for (int i = 1; i < AGENT_BREAKER_MAX; i++)
        assert_int_equal(agent_breaker_record(&b, &auth, 1, i), 0);
    assert_int_equal(agent_breaker_record(&b, &auth, 1, 99), 1);
}

static void startup_check_program_and_judgement(void **state)
{
    const agent_preset *claude = agent_preset_find("claude"), *command = agent_preset_find("command");
    char *items[] = {"/opt/cli/run", "{prompt_file}"};
    cfg_list cmd = {items, 2}, none = {NULL, 0};
    agent_run ok = {0, 0, 0, 0, 0}, missing = {-1, 0, 1, 0, 0}, bad = {2, 0, 0, 0, 0}, slow = {-1, 1, 0, 0, 0};
    agent_run exec127 = {127, 0, 0, 0, 0};
    char msg[ERR_LEN];
    (void)state;
    assert_null(agent_cli_program(NULL, NULL, NULL));
    assert_string_equal(agent_cli_program(claude, NULL, NULL), "claude");
    assert_string_equal(agent_cli_program(claude, "", NULL), "claude");
    assert_string_equal(agent_cli_program(claude, "/opt/claude/bin/claude", NULL), "/opt/claude/bin/claude");
    assert_string_equal(agent_cli_program(command, NULL, &cmd), "/opt/cli/run");
    assert_null(agent_cli_program(command, NULL, &none));
    assert_int_equal(agent_check_judge("claude", &ok, "2.1.332 (Claude Code)\n", msg), 0);
    assert_string_equal(msg, "");
    assert_int_equal(agent_check_judge("/nope/claude", &missing, "exec /nope/claude: No such file or directory\n", msg),
                     -1);
    assert_string_equal(msg, "the agent CLI '/nope/claude --version' could not be started: exec /nope/claude: No such "
                             "file or directory");
    assert_int_equal(agent_check_judge("claude", &missing, NULL, msg), -1);
    assert_non_null(strstr(msg, "could not be started: no such program on agent.path"));
    assert_int_equal(agent_check_judge("env", &exec127, "env: 'claude': No such file or directory", msg), -1);
    assert_non_null(strstr(msg, "could not be started"));
    assert_int_equal(agent_check_judge("claude", &bad, "line one\nError: invalid config\n\n", msg), -1);
    assert_string_equal(msg, "the agent CLI 'claude --version' failed (exit 2): Error: invalid config");
    assert_int_equal(agent_check_judge("claude", &bad, "", msg), -1);
    assert_non_null(strstr(msg, "no output"));
    assert_int_equal(agent_check_judge("claude", &slow, "", msg), -1);
    assert_string_equal(msg, "the agent CLI 'claude --version' did not answer within its time limit");
    assert_int_equal(agent_check_judge(NULL, &bad, "x", msg), -1);
    assert_non_null(strstr(msg, "'(none) --version'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_and_null_output), cmocka_unit_test(claude_json_result),
        cmocka_unit_test(claude_stream_json),    cmocka_unit_test(claude_errors),
        cmocka_unit_test(codex_events),          cmocka_unit_test(codex_errors),
        cmocka_unit_test(gemini_and_command),    cmocka_unit_test(argv_from_presets),
        cmocka_unit_test(environment_allow_list), cmocka_unit_test(model_hint),
        cmocka_unit_test(classify_runs),         cmocka_unit_test(prompts),
        cmocka_unit_test(review_answers),
        cmocka_unit_test(breaker_opens_after_n_fast_permanent_failures_in_a_row),
        cmocka_unit_test(breaker_counts_only_an_unbroken_streak),
        cmocka_unit_test(breaker_bounds),
        cmocka_unit_test(startup_check_program_and_judgement),
        cmocka_unit_test(codex_cost_is_computed_from_its_tokens),
        cmocka_unit_test(a_rate_limit_says_when_it_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
