/* The web endpoint on a live suite: a real nats-server (natsfix), the
 * router, the scheduler and the monitor with web.port set, work submitted
 * through intake and carried by the test acting as agents and verifier on
 * the real subjects. Checked: /metrics passes `promtool check metrics` and
 * says what the test drove (states by type, queue depth, budgets, results,
 * attempts, the verification histogram, the held requirement's dispatch
 * latency, services up); the page in headless Chromium shows the counts and
 * follows one requirement from READY to COMPLETE without a reload; the
 * requirement's detail carries the verifier's steps and the review; a
 * screenshot is saved. And the ETAs the page polls are the scheduler's
 * (orch.scheduler.list), labelled the monitor's own estimate once the
 * scheduler stops answering. */
#include <math.h>
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
#include <curl/curl.h>

#include "edge.h"
#include "natsfix.h"
#include "pb.h"
#include "proc.h"
#include "svcfix.h"
#include "text.h"
#include "webtest.h"

typedef struct {
    natsfix fix;
    natsConnection *nc;
    jsCtx *js;
    pid_t router, scheduler, monitor;
    char url[64];
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    if (svc_env_start(&e->fix, &e->nc, &e->js) != 0)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    svc_env_stop(&e->fix, e->nc, e->js);
    free(e);
    return 0;
}

/* A sample's value in a scrape; -1 when it is not there. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; (p = strstr(p, series)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return atof(p + n + 1);
    return -1;
}

static char *scrape(env *e)
{
    char *body = NULL;
    assert_int_equal(webtest_get(e->url, "/metrics", NULL, &body), 200);
    return body;
}

/* Waits until the series has the value in a scrape (the monitor's figures
 * follow KV and its consumers within a round or two). */
static void wait_sample(env *e, const char *series, double want)
{
    double got = -2;
    for (int i = 0; i < 150; i++) {
        char *t = scrape(e);
        got = sample(t, series);
        free(t);
        if (got == want)
            return;
        usleep(100 * 1000);
    }
    fail_msg("%s is %g, expected %g", series, got, want);
}

static const char *status_of(env *e, const char *id, char *buf, size_t len)
{
    char subj[96];
    cJSON *o;
    snprintf(subj, sizeof(subj), "orch.status.%s", id);
    o = svc_request_json(e->nc, subj, "", 2000);
    snprintf(buf, len, "%s", o ? cJSON_GetStringValue(cJSON_GetObjectItem(o, "status")) ?: "" : "");
    cJSON_Delete(o);
    return buf;
}

static void wait_status(env *e, const char *id, const char *want)
{
    char got[32] = "";
    for (int i = 0; i < 100; i++) {
        if (!strcmp(status_of(e, id, got, sizeof(got)), want))
            return;
        usleep(100 * 1000);
    }
    fail_msg("%s is '%s', expected %s", id, got, want);
}

/* An agent takes one message from its consumer; returns the attempt. */
static unsigned take(env *e, const char *consumer, const char *filter, const char *want_id)
{
    svc_work w;
    assert_true(svc_take(e->js, consumer, filter, 5000, &w));
    assert_string_equal(w.id, want_id);
    return w.attempt;
}

static void publish(env *e, const char *subject, const void *data, size_t len)
{
    assert_int_equal(js_Publish(NULL, e->js, subject, data, (int)len, NULL, NULL), NATS_OK);
}

static void result(env *e, const char *type, const char *id, unsigned attempt, int tokens, const char *extra)
{
    char subj[128], body[512];
    snprintf(subj, sizeof(subj), "results.%s.%s", type, id);
    snprintf(body, sizeof(body),
             "{\"requirementId\":\"%s\",\"attempt\":%u,\"instance\":\"%s-1\",\"project\":\"demo\","
             "\"ref\":\"refs/heads/%s\",\"tokensUsed\":%d%s}",
             id, attempt, type, id, tokens, extra ? extra : "");
    publish(e, subj, body, strlen(body));
}

/* The verifier's verdict: PASS with two steps of the given durations; the
 * test step's output is test_out (NULL: a short line). */
static void verdict(env *e, const char *id, unsigned attempt, int64_t build_ms, int64_t test_ms, char *test_out)
{
    Orchestrator__V1__StepResult s1, s2, *steps[2] = {&s1, &s2};
    pb_verdict v;
    uint8_t *buf;
    size_t len;
    char subj[96];
    orchestrator__v1__step_result__init(&s1);
    orchestrator__v1__step_result__init(&s2);
    s1.name = "build";
    s1.duration_ms = build_ms;
    s1.passed = 1;
    s1.output = "make: nothing to be done";
    s2.name = "test";
    s2.duration_ms = test_ms;
    s2.passed = 1;
    s2.output = test_out ? test_out : "12 tests passed";
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = (char *)id;
    v.attempt = attempt;
    v.kind = ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS;
    v.steps = steps;
    v.n_steps = 2;
    v.verified_at_ms = text_now_ms();
    assert_int_equal(pb_pack(&v.base, &buf, &len), ORCH_OK);
    snprintf(subj, sizeof(subj), "verdicts.%s", id);
    publish(e, subj, buf, len);
    free(buf);
}

/* Starts the scheduler, the router and the monitor, whose page is on port
 * (mon_env says ORCH_WEB_PORT), and waits until the page is ready and the
 * monitor leads. */
static void start_suite(env *e, int port, const char *const sched_env[], const char *const mon_env[])
{
    snprintf(e->url, sizeof(e->url), "http://127.0.0.1:%d", port);
    e->scheduler = svc_start_ready(e->nc, &e->fix, "scheduler", "s1", sched_env);
    e->router = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    e->monitor = svc_start_ready(e->nc, &e->fix, "monitor", "m1", mon_env);
    assert_true(webtest_wait_http(e->url, "/readyz", 200, 20000));
    wait_sample(e, "orch_monitor_leader", 1);
}

static void promtool_clean(const char *text)
{
    char out[4096];
    int rc = webtest_promtool(text, out, sizeof(out));
    if (rc != 0)
        fail_msg("promtool check metrics: exit %d: %s", rc, out);
}

static void live_suite_metrics_and_page(void **state)
{
    env *e = *state;
    int port = natsfix_free_port();
    char portenv[64], dir[256], mark[300], shot[300], outp[300], *t;
    /* the test plays the release manager: merges go to it, not the train */
    const char *sched_env[] = {"ORCH_BUDGET_DOCUMENTATION=1000", "ORCH_SCHEDULER_QUIET_START=00:00",
                               "ORCH_SCHEDULER_QUIET_END=00:00", "ORCH_SCHEDULER_SPAWN_COOLDOWN_S=0",
                               "ORCH_SCHEDULER_MERGE_TRAIN=false", NULL};
    const char *mon_env[] = {portenv, "ORCH_MONITOR_SERVICES=orch-router,orch-scheduler", "ORCH_MONITOR_EVAL_MS=200",
                             NULL};
    const char *intake =
        "[{\"id\":\"WEB-1\",\"title\":\"Write the setup guide\",\"assignedAgent\":\"documentation\","
        "\"priority\":\"HIGH\",\"estimatedTokens\":800},"
        "{\"id\":\"WEB-2\",\"title\":\"Document the inventory API\",\"assignedAgent\":\"documentation\","
        "\"priority\":\"MEDIUM\",\"estimatedTokens\":500},"
        "{\"id\":\"WEB-3\",\"title\":\"Inventory transaction endpoint\",\"assignedAgent\":\"roy\","
        "\"estimatedTokens\":100,\"dependencies\":[\"WEB-4\"]},"
        "{\"id\":\"WEB-4\",\"title\":\"Storage locations schema\",\"assignedAgent\":\"roy\",\"estimatedTokens\":100}]";
    pid_t node;
    int status = -1;
    int64_t ready_seen, released;
    unsigned a1, a2;
    cJSON *out;

    snprintf(portenv, sizeof(portenv), "ORCH_WEB_PORT=%d", port);
    snprintf(dir, sizeof(dir), "%s", e->fix.dir);
    start_suite(e, port, sched_env, mon_env);

    /* through intake: the router gives them to the scheduler */
    publish(e, "intake.requirements", intake, strlen(intake));
    wait_status(e, "WEB-1", "DISPATCHED");
    wait_status(e, "WEB-4", "DISPATCHED");
    wait_status(e, "WEB-3", "BLOCKED");
    wait_status(e, "WEB-2", "READY"); /* 800 of the type's 1000 tokens held by WEB-1 */
    ready_seen = text_now_ms();

    wait_sample(e, "orch_requirements{type=\"documentation\",status=\"DISPATCHED\"}", 1);
    wait_sample(e, "orch_requirements{type=\"documentation\",status=\"READY\"}", 1);
    wait_sample(e, "orch_requirements{type=\"backend\",status=\"DISPATCHED\"}", 1);
    wait_sample(e, "orch_requirements{type=\"backend\",status=\"BLOCKED\"}", 1);
    wait_sample(e, "orch_queue_depth{type=\"documentation\"}", 1);
    wait_sample(e, "orch_consumer_lag{type=\"documentation\"}", 1);
    wait_sample(e, "orch_queue_depth{type=\"backend\"}", 1);
    wait_sample(e, "orch_budget_tokens_limit{type=\"documentation\"}", 1000);
    wait_sample(e, "orch_service_up{service=\"orch-router\"}", 1);
    wait_sample(e, "orch_service_up{service=\"orch-scheduler\"}", 1);
    t = scrape(e);
    promtool_clean(t);
    free(t);

    /* the page: the counts, then WEB-2 followed */
    snprintf(mark, sizeof(mark), "%s/ready.mark", dir);
    snprintf(shot, sizeof(shot), "%s/dashboard.png", dir);
    snprintf(outp, sizeof(outp), "%s/browser.json", dir);
    setenv("ORCH_WEB_WANT_STEPS", "1", 1); /* the detail must show the verifier's steps */
    setenv("ORCH_WEB_EXPECT_END", "{\"COMPLETE\":2}", 1); /* both merged by the end */
    setenv("ORCH_WEB_ETA_SOURCE", "scheduler", 1); /* its forecast reaches the header */
    node = webtest_browser(dir, e->url, NULL, "{\"total\":4,\"READY\":1,\"DISPATCHED\":2,\"BLOCKED\":1}", "WEB-2",
                           mark, shot, outp);
    if (!webtest_wait_file(mark, 60000))
        fail_msg("the page never showed WEB-2 READY: see %s/browser.log", dir);

    /* WEB-1 done with less than estimated: WEB-2 goes */
    a1 = take(e, "documentation-agent", "requirements.documentation.>", "WEB-1");
    result(e, "documentation", "WEB-1", a1, 300, NULL);
    /* the monitor counts a result it reads while the attempt is still in
     * flight; a verifier takes its time, so the test waits for that too */
    wait_sample(e, "orch_results_total{type=\"documentation\"}", 1);
    {
        /* a long output of 3-byte characters: kept cut at 16 KiB on a character's boundary */
        char *euros = malloc(3 * 8000 + 1);
        for (int i = 0; i < 8000; i++)
            memcpy(euros + 3 * i, "\xe2\x82\xac", 3);
        euros[3 * 8000] = '\0';
        verdict(e, "WEB-1", a1, 1500, 2500, euros);
        free(euros);
    }
    /* verified, then reviewed and merged, as the senior-review and
     * release-manager agents answer: only merged is COMPLETE */
    wait_status(e, "WEB-1", "REVIEWING");
    assert_int_equal(take(e, "senior-review", "requirements.review.>", "WEB-1"), a1);
    result(e, "review", "WEB-1", a1, 50, ",\"review\":\"approved\",\"summary\":\"clear\"");
    assert_int_equal(take(e, "release-manager", "requirements.release.>", "WEB-1"), a1);
    result(e, "release", "WEB-1", a1, 0, ",\"summary\":\"merged\"");
    wait_status(e, "WEB-1", "COMPLETE");
    wait_status(e, "WEB-2", "DISPATCHED");
    released = text_now_ms();
    a2 = take(e, "documentation-agent", "requirements.documentation.>", "WEB-2");
    result(e, "documentation", "WEB-2", a2, 400, NULL);
    wait_status(e, "WEB-2", "VERIFYING");
    wait_sample(e, "orch_results_total{type=\"documentation\"}", 2);
    verdict(e, "WEB-2", a2, 20000, 40000, NULL);
    wait_status(e, "WEB-2", "REVIEWING");
    assert_int_equal(take(e, "senior-review", "requirements.review.>", "WEB-2"), a2);
    result(e, "review", "WEB-2", a2, 50, ",\"review\":\"approved\",\"summary\":\"reads well\"");
    assert_int_equal(take(e, "release-manager", "requirements.release.>", "WEB-2"), a2);
    result(e, "release", "WEB-2", a2, 0, ",\"summary\":\"merged\"");
    wait_status(e, "WEB-2", "COMPLETE");

    assert_int_equal(proc_wait(node, 120000, &status), 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the browser test failed: see %s/browser.log", dir);
    out = webtest_read_json(outp);
    assert_non_null(out);
    {
        cJSON *seen = cJSON_GetObjectItem(out, "seen");
        int n = cJSON_GetArraySize(seen);
        assert_string_equal(cJSON_GetArrayItem(seen, 0)->valuestring, "READY");
        assert_string_equal(cJSON_GetArrayItem(seen, n - 1)->valuestring, "COMPLETE");
        assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(out, "detail")), "test"));
        assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "counts"), "COMPLETE")->valueint, 2);
    }
    {
        /* the header's roadmap ETA is the scheduler's forecast */
        cJSON *re = cJSON_GetObjectItem(out, "roadmapEta");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(re, "source")), "scheduler");
        assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(re, "text")), "roadmap done "));
    }
    cJSON_Delete(out);

    /* the figures after: what the test drove */
    wait_sample(e, "orch_requirements{type=\"documentation\",status=\"COMPLETE\"}", 2);
    wait_sample(e, "orch_results_total{type=\"documentation\"}", 2);
    wait_sample(e, "orch_attempts_total{type=\"documentation\"}", 2);
    wait_sample(e, "orch_verification_duration_seconds_count{type=\"documentation\"}", 2);
    wait_sample(e, "orch_verification_duration_seconds_sum{type=\"documentation\"}", 64);
    wait_sample(e, "orch_verification_duration_seconds_bucket{type=\"documentation\",le=\"5\"}", 1);
    wait_sample(e, "orch_verification_duration_seconds_bucket{type=\"documentation\",le=\"60\"}", 2);
    wait_sample(e, "orch_queue_depth{type=\"documentation\"}", 0);
    t = scrape(e);
    promtool_clean(t);
    {
        /* WEB-2 waited READY from before ready_seen until released */
        double n = sample(t, "orch_dispatch_latency_seconds_count{type=\"documentation\"}");
        double sum = sample(t, "orch_dispatch_latency_seconds_sum{type=\"documentation\"}");
        assert_true(n >= 1);
        if (sum < (double)(released - ready_seen) / 1000.0 - 1.0)
            fail_msg("dispatch latency sum %g s, but WEB-2 alone waited %g s", sum,
                     (double)(released - ready_seen) / 1000.0);
    }
    free(t);
    {
        /* the detail: the scheduler's answer, the verifier's steps, the review */
        char *body = NULL;
        cJSON *d;
        assert_int_equal(webtest_get(e->url, "/api/requirement/WEB-2", NULL, &body), 200);
        d = cJSON_Parse(body);
        free(body);
        assert_non_null(d);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "status")), "COMPLETE");
        assert_true(cJSON_IsObject(cJSON_GetObjectItem(d, "scheduler")));
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "verdict"), "steps")), 2);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "verdict"), "outcome")),
                            "PASS");
        cJSON_Delete(d);
        assert_int_equal(webtest_get(e->url, "/api/requirement/NOPE-1", NULL, NULL), 404);
        assert_int_equal(webtest_get(e->url, "/api/requirement/WEB-1", NULL, &body), 200);
        d = cJSON_Parse(body);
        free(body);
        {
            cJSON *steps = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "verdict"), "steps");
            const char *o = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(steps, 1), "output"));
            assert_non_null(o);
            assert_int_equal(strlen(o), 16383); /* 5,461 whole characters: 16,384 would split one */
        }
        cJSON_Delete(d);
    }
    if (getenv("ORCH_WEB_SCREENSHOT")) {
        /* scripts keep the demo's picture: copied, never run through a shell */
        FILE *in = fopen(shot, "rb"), *o = fopen(getenv("ORCH_WEB_SCREENSHOT"), "wb");
        char buf[8192];
        size_t n;
        assert_non_null(in);
        assert_non_null(o);
        while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
            fwrite(buf, 1, n, o);
        fclose(in);
        fclose(o);
    }
    svc_stop(e->monitor);
    svc_stop(e->router);
    svc_stop(e->scheduler);
}

static cJSON *get_json(env *e, const char *path)
{
    char *body = NULL;
    cJSON *o;
    assert_int_equal(webtest_get(e->url, path, NULL, &body), 200);
    o = cJSON_Parse(body);
    free(body);
    assert_non_null(o);
    return o;
}

static double num(const cJSON *o, const char *k) { return cJSON_GetNumberValue(cJSON_GetObjectItem(o, k)); }
static const char *str(const cJSON *o, const char *k) { return cJSON_GetStringValue(cJSON_GetObjectItem(o, k)) ?: ""; }

/* Polls the list the page polls until its open rows (n of them) and its
 * roadmap ETA all come from source; returns it. */
static cJSON *wait_eta_source(env *e, int n, const char *source)
{
    cJSON *l = NULL;
    for (int i = 0; i < 150; i++) {
        const cJSON *r;
        int from = 0;
        cJSON_Delete(l);
        l = get_json(e, "/api/requirements?status=open&limit=50");
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(l, "rows")) from += !strcmp(str(r, "etaSource"), source);
        if (from == n && (int)num(l, "total") == n && !strcmp(str(cJSON_GetObjectItem(l, "eta"), "source"), source))
            return l;
        usleep(100 * 1000);
    }
    {
        char *t = cJSON_PrintUnformatted(l);
        fail_msg("the page's ETAs never all came from the %s: %s", source, t);
    }
    return NULL;
}

/* The ETAs the page polls are the scheduler's forecast: each open row's
 * etaMs is what orch.status.<id> says (the cache is at most 5 s old, and
 * work in flight keeps its ETA), the roadmap's is the list's roadmapEtaMs
 * with its 90th percentile, in the list, the graph and the overview. The
 * monitor's own estimate is a different rule (15 minutes for an S, 45 for
 * an M, where the scheduler's priors are 30 minutes and 2 hours, and three
 * share one agent in its forecast), a quarter of an hour and more away, so
 * it cannot pass for the scheduler's. With the scheduler stopped, the page
 * gets the monitor's estimates, labelled so. */
static void scheduler_etas_reach_the_page(void **state)
{
    env *e = *state;
    int port = natsfix_free_port();
    char portenv[64];
    const char *sched_env[] = {"ORCH_SCHEDULER_QUIET_START=00:00", "ORCH_SCHEDULER_QUIET_END=00:00",
                               "ORCH_SCHEDULER_SPAWN_COOLDOWN_S=0", "ORCH_SCHEDULER_MERGE_TRAIN=false", NULL};
    const char *mon_env[] = {portenv, "ORCH_MONITOR_EVAL_MS=200", NULL};
    const char *ids[] = {"ETA-1", "ETA-2", "ETA-3"};
    const char *intake = "[{\"id\":\"ETA-1\",\"title\":\"Orders endpoint\",\"assignedAgent\":\"roy\",\"estimatedTokens\":100},"
                         "{\"id\":\"ETA-2\",\"title\":\"Stock endpoint\",\"assignedAgent\":\"roy\",\"estimatedTokens\":100},"
                         "{\"id\":\"ETA-3\",\"title\":\"Returns endpoint\",\"assignedAgent\":\"roy\",\"estimatedTokens\":100}]";
    double sched_eta[3];
    cJSON *l, *sl, *x;
    const cJSON *r;

    snprintf(portenv, sizeof(portenv), "ORCH_WEB_PORT=%d", port);
    start_suite(e, port, sched_env, mon_env);
    publish(e, "intake.requirements", intake, strlen(intake));
    wait_status(e, ids[0], "DISPATCHED"); /* the others DISPATCHED or READY, as the budget allows */

    l = wait_eta_source(e, 3, "scheduler");
    sl = svc_request_json(e->nc, "orch.scheduler.list", "", 2000);
    assert_non_null(sl);
    for (int i = 0; i < 3; i++) {
        char subj[64];
        cJSON *st;
        double web = -1;
        snprintf(subj, sizeof(subj), "orch.status.%s", ids[i]);
        st = svc_request_json(e->nc, subj, "", 2000);
        assert_non_null(st);
        sched_eta[i] = num(st, "etaMs");
        cJSON_Delete(st);
        cJSON_ArrayForEach(r, cJSON_GetObjectItem(l, "rows")) if (!strcmp(str(r, "id"), ids[i])) web = num(r, "etaMs");
        if (!(sched_eta[i] > 0) || fabs(web - sched_eta[i]) > 10000)
            fail_msg("%s: the page says %.0f, the scheduler %.0f", ids[i], web, sched_eta[i]);
    }
    x = cJSON_GetObjectItem(l, "eta");
    if (fabs(num(x, "endMs") - num(sl, "roadmapEtaMs")) > 10000 ||
        fabs(num(x, "lateMs") - num(sl, "roadmapEtaLateMs")) > 10000)
        fail_msg("the page's roadmap ETA %.0f (90%%: %.0f) is not the scheduler's %.0f (%.0f)", num(x, "endMs"),
                 num(x, "lateMs"), num(sl, "roadmapEtaMs"), num(sl, "roadmapEtaLateMs"));
    cJSON_Delete(l);
    l = get_json(e, "/api/graph?limit=50");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l, "nodes")), 3);
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(l, "nodes")) assert_string_equal(str(r, "etaSource"), "scheduler");
    assert_true(fabs(num(cJSON_GetObjectItem(l, "eta"), "endMs") - num(sl, "roadmapEtaMs")) <= 10000);
    cJSON_Delete(l);
    l = get_json(e, "/api/overview");
    assert_string_equal(str(cJSON_GetObjectItem(l, "eta"), "source"), "scheduler");
    cJSON_Delete(l);

    /* the scheduler gone: the monitor's own estimates, said to be its own */
    svc_stop(e->scheduler);
    e->scheduler = 0;
    l = wait_eta_source(e, 3, "monitor");
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(l, "rows"))
    {
        for (int i = 0; i < 3; i++)
            if (!strcmp(str(r, "id"), ids[i]) && fabs(num(r, "etaMs") - sched_eta[i]) < 10 * 60000.0)
                fail_msg("%s: the monitor's estimate %.0f is the scheduler's %.0f", ids[i], num(r, "etaMs"), sched_eta[i]);
    }
    assert_true(num(cJSON_GetObjectItem(l, "eta"), "endMs") > 0);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(l, "eta"), "lateMs"));
    cJSON_Delete(l);
    cJSON_Delete(sl);
    svc_stop(e->monitor);
    svc_stop(e->router);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_setup_teardown(scheduler_etas_reach_the_page, setup, teardown),
                                       cmocka_unit_test_setup_teardown(live_suite_metrics_and_page, setup, teardown)};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
