/* The web endpoint's pure parts: the Prometheus text (metrics.c), checked
 * line by line and, when Debian's promtool is installed, by `promtool check
 * metrics`; and the page's views (webview.c): estimates, the critical path,
 * paging, search, 5,000 open requirements, and the scheduler's ETAs taking
 * the place of the monitor's (labelled which is which). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "metrics.h"
#include "text.h"
#include "webview.h"

#define ST(x) ORCHESTRATOR__V1__STATUS__STATUS_##x
#define MIN (60 * 1000LL)

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

static void assert_int_equal_msg(int a, int b, const char *msg)
{
    if (a != b)
        fail_msg("%d != %d: %s", a, b, msg);
}

/* promtool's verdict on text: 0 clean, else its exit status; -1 when
 * promtool is missing (the bootstrap's --test installs it). */
static int promtool(const char *text, char *out, size_t outlen)
{
    char path[] = "/tmp/orch-metrics-XXXXXX", cmd[256];
    int fd = mkstemp(path), rc;
    FILE *p;
    size_t n;
    if (system("command -v promtool >/dev/null 2>&1") != 0)
        return -1;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
    p = popen(cmd, "r");
    n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    rc = pclose(p);
    unlink(path);
    return rc;
}

static void test_hist_buckets(void **state)
{
    metrics_hist h = {0};
    (void)state;
    metrics_hist_observe(&h, -3);     /* counts as 0 */
    metrics_hist_observe(&h, 1);      /* on the bound: le="1" */
    metrics_hist_observe(&h, 1.5);
    metrics_hist_observe(&h, 1e9);    /* above every bound */
    assert_int_equal(h.count, 4);
    assert_int_equal(h.bucket[0], 2);
    assert_int_equal(h.bucket[1], 1);
    assert_int_equal(h.bucket[METRICS_BOUNDS], 1);
    assert_true(h.sum > 1e9 && h.sum < 1e9 + 3);
}

static void test_empty_snapshot(void **state)
{
    metrics_snapshot s;
    char *t, out[4096];
    int rc;
    (void)state;
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < METRICS_TYPES; i++)
        s.queue_depth[i] = s.consumer_lag[i] = -1;
    t = metrics_format(&s);
    assert_true(has_line(t, "# TYPE orch_requirements gauge"));
    assert_true(has_line(t, "orch_requirements{type=\"backend\",status=\"READY\"} 0"));
    assert_null(strstr(t, "type=\"unknown\""));           /* type 0 empty: left out */
    assert_null(strstr(t, "orch_queue_depth{"));          /* unknown depth: no sample */
    assert_true(has_line(t, "orch_alerts_firing 0"));
    assert_true(has_line(t, "orch_dispatch_latency_seconds_bucket{type=\"review\",le=\"+Inf\"} 0"));
    rc = promtool(t, out, sizeof(out));
    if (rc >= 0)
        assert_int_equal_msg(rc, 0, out);
    free(t);
}

static void test_full_snapshot(void **state)
{
    metrics_snapshot s;
    metrics_service sv[2] = {{"orch-router", 1}, {"we\"ird\\name\n", 0}};
    char *t, out[8192];
    int rc;
    (void)state;
    memset(&s, 0, sizeof(s));
    s.requirements[1][ST(READY)] = 3;
    s.requirements[2][ST(COMPLETE)] = 7;
    s.queue_depth[1] = 5;
    s.consumer_lag[1] = 2;
    for (int i = 2; i < METRICS_TYPES; i++)
        s.queue_depth[i] = s.consumer_lag[i] = -1;
    s.queue_depth[0] = s.consumer_lag[0] = -1;
    s.tokens_used[1] = 18542;
    s.tokens_limit[1] = 300000;
    s.cost_dollars[1] = 0.25;
    s.agents_active[1] = 2;
    s.attempts[1] = 4;
    s.escalations[3] = 1;
    s.requirements[1][ORCHESTRATOR__V1__STATUS__STATUS_REVIEWING] = 2;
    s.requirements[1][ORCHESTRATOR__V1__STATUS__STATUS_MERGING] = 1;
    s.alerts_firing = 2;
    s.services = sv;
    s.nservices = 2;
    s.leader = 1;
    metrics_hist_observe(&s.dispatch_latency[1], 0.2);
    metrics_hist_observe(&s.dispatch_latency[1], 20);
    metrics_hist_observe(&s.verification[1], 400);
    t = metrics_format(&s);
    assert_true(has_line(t, "orch_requirements{type=\"backend\",status=\"READY\"} 3"));
    assert_true(has_line(t, "orch_requirements{type=\"frontend\",status=\"COMPLETE\"} 7"));
    /* every status, the review and merge stages included */
    assert_true(has_line(t, "orch_requirements{type=\"backend\",status=\"REVIEWING\"} 2"));
    assert_true(has_line(t, "orch_requirements{type=\"backend\",status=\"MERGING\"} 1"));
    assert_true(has_line(t, "orch_queue_depth{type=\"backend\"} 5"));
    assert_true(has_line(t, "orch_consumer_lag{type=\"backend\"} 2"));
    assert_true(has_line(t, "orch_budget_tokens_used{type=\"backend\"} 18542"));
    assert_true(has_line(t, "orch_budget_tokens_limit{type=\"backend\"} 300000"));
    assert_true(has_line(t, "orch_budget_cost_dollars{type=\"backend\"} 0.250000"));
    assert_true(has_line(t, "orch_agents_active{type=\"backend\"} 2"));
    assert_true(has_line(t, "orch_attempts_total{type=\"backend\"} 4"));
    assert_true(has_line(t, "orch_escalations_total{type=\"database\"} 1"));
    assert_true(has_line(t, "# TYPE orch_escalations_total counter"));
    assert_true(has_line(t, "orch_dispatch_latency_seconds_bucket{type=\"backend\",le=\"1\"} 1"));
    assert_true(has_line(t, "orch_dispatch_latency_seconds_bucket{type=\"backend\",le=\"30\"} 2"));  /* cumulative */
    assert_true(has_line(t, "orch_dispatch_latency_seconds_bucket{type=\"backend\",le=\"+Inf\"} 2"));
    assert_true(has_line(t, "orch_dispatch_latency_seconds_count{type=\"backend\"} 2"));
    assert_true(has_line(t, "orch_verification_duration_seconds_bucket{type=\"backend\",le=\"300\"} 0"));
    assert_true(has_line(t, "orch_verification_duration_seconds_bucket{type=\"backend\",le=\"600\"} 1"));
    assert_true(has_line(t, "orch_alerts_firing 2"));
    assert_true(has_line(t, "orch_monitor_leader 1"));
    assert_true(has_line(t, "orch_service_up{service=\"orch-router\"} 1"));
    assert_true(has_line(t, "orch_service_up{service=\"we\\\"ird\\\\name\\n\"} 0"));
    rc = promtool(t, out, sizeof(out));
    if (rc >= 0)
        assert_int_equal_msg(rc, 0, out);
    free(t);
}

static pb_state *state_at(pb_state *s, const char *id, int status, unsigned attempt, int64_t updated,
                         int64_t dispatched)
{
    orchestrator__v1__requirement_state__init(s);
    s->id = (char *)id;
    s->status = status;
    s->attempt = attempt;
    s->updated_at_ms = updated;
    s->dispatched_at_ms = dispatched;
    return s;
}

/* The dispatch latency counts from when the requirement first became READY,
 * not from the last time the scheduler saved it while it waited. */
static void test_ready_latency(void **state)
{
    metrics_ready *r = metrics_ready_create();
    pb_state a0, a1, a2, a3, b0, b1, c1, c2, d0, d1, a4, a5;
    (void)state;
    metrics_ready_destroy(NULL);
    /* A: CLASSIFIED, READY at 1 s, saved again at 5 s (a new reason), dispatched at 9 s */
    assert_true(metrics_ready_state(r, NULL, state_at(&a0, "A", ST(CLASSIFIED), 0, 500, 0)) < 0);
    assert_true(metrics_ready_state(r, &a0, state_at(&a1, "A", ST(READY), 0, 1000, 0)) < 0);
    assert_true(metrics_ready_state(r, &a1, state_at(&a2, "A", ST(READY), 0, 5000, 0)) < 0);
    assert_true(metrics_ready_state(r, &a2, state_at(&a3, "A", ST(DISPATCHED), 1, 9000, 9000)) == 8.0);
    /* B: released at once, from the state it left */
    assert_true(metrics_ready_state(r, NULL, state_at(&b0, "B", ST(CLASSIFIED), 0, 2000, 0)) < 0);
    assert_true(metrics_ready_state(r, &b0, state_at(&b1, "B", ST(DISPATCHED), 1, 2500, 2500)) == 0.5);
    /* C: READY when first seen (a monitor that just started) */
    assert_true(metrics_ready_state(r, NULL, state_at(&c1, "C", ST(READY), 0, 3000, 0)) < 0);
    assert_true(metrics_ready_state(r, &c1, state_at(&c2, "C", ST(DISPATCHED), 1, 4000, 4000)) == 1.0);
    /* D: back from VERIFYING is no dispatch seen as it happened */
    state_at(&d0, "D", ST(VERIFYING), 1, 1000, 500);
    assert_true(metrics_ready_state(r, &d0, state_at(&d1, "D", ST(DISPATCHED), 1, 6000, 500)) < 0);
    /* A's second attempt waits afresh: its first wait was forgotten */
    assert_true(metrics_ready_state(r, &a3, state_at(&a4, "A", ST(READY), 1, 20000, 9000)) < 0);
    assert_true(metrics_ready_state(r, &a4, state_at(&a5, "A", ST(DISPATCHED), 2, 21000, 21000)) == 1.0);
    metrics_ready_destroy(r);
}

/* --- views ------------------------------------------------------------- */

typedef struct {
    pb_state *st;
    pb_requirement *rq;
    int n;
    dash_item *items;
} world;

static void add(world *w, const char *id, int status, int prio, int complexity, const char *blockers)
{
    pb_state *s = &w->st[w->n];
    pb_requirement *r = &w->rq[w->n];
    orchestrator__v1__requirement_state__init(s);
    orchestrator__v1__requirement__init(r);
    s->id = xstrdup(id);
    s->status = status;
    s->requirement = r;
    s->order = (uint64_t)w->n;
    r->id = s->id;
    r->title = xstrdup(id);
    r->priority = prio;
    r->complexity = complexity;
    r->type = 1;
    if (blockers && *blockers) {
        char *copy = xstrdup(blockers), *save = NULL;
        s->blocked_by = xcalloc(16, sizeof(char *));
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            s->blocked_by[s->n_blocked_by++] = xstrdup(t);
        free(copy);
    }
    w->items[w->n].st = s;
    w->n++;
}

static world *world_new(int cap)
{
    world *w = xcalloc(1, sizeof(*w));
    w->st = xcalloc((size_t)cap, sizeof(pb_state));
    w->rq = xcalloc((size_t)cap, sizeof(pb_requirement));
    w->items = xcalloc((size_t)cap, sizeof(dash_item));
    return w;
}

static void world_free(world *w)
{
    for (int i = 0; i < w->n; i++) {
        for (size_t b = 0; b < w->st[i].n_blocked_by; b++)
            free(w->st[i].blocked_by[b]);
        free(w->st[i].blocked_by);
        free(w->st[i].id);
        free(w->rq[i].title);
    }
    free(w->st);
    free(w->rq);
    free(w->items);
    free(w);
}

static void input(world *w, dash_input *d, webview_input *in)
{
    memset(d, 0, sizeof(*d));
    memset(in, 0, sizeof(*in));
    d->mode = "continuous";
    d->now_ms = 1000 * MIN;
    d->items = w->items;
    d->nitems = w->n;
    d->active_ms = 5 * MIN;
    in->dash = d;
    in->conserve_percent = 80;
}

static cJSON *parse(char *text)
{
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static void test_critical_path(void **state)
{
    world *w = world_new(8);
    dash_input d;
    webview_input in;
    cJSON *g, *path, *nodes;
    (void)state;
    /* A(S) -> B(XL) -> D(S);  A -> C(S) -> D;  E(M) alone;  F complete */
    add(w, "A", ST(READY), 2, 1, "");
    add(w, "B", ST(BLOCKED), 3, 4, "A");
    add(w, "C", ST(BLOCKED), 3, 1, "A");
    add(w, "D", ST(BLOCKED), 1, 1, "B,C");
    add(w, "E", ST(READY), 1, 2, "");
    add(w, "F", ST(COMPLETE), 1, 1, "");
    input(w, &d, &in);
    g = parse(webview_graph(&in, "", 1));
    path = cJSON_GetObjectItem(g, "criticalPath");
    assert_int_equal(cJSON_GetArraySize(path), 3);
    assert_string_equal(cJSON_GetArrayItem(path, 0)->valuestring, "A");
    assert_string_equal(cJSON_GetArrayItem(path, 1)->valuestring, "B");
    assert_string_equal(cJSON_GetArrayItem(path, 2)->valuestring, "D");
    /* A 15 + B 240 + D 15 minutes from now */
    assert_true(cJSON_GetObjectItem(g, "criticalEndMs")->valuedouble == (double)(1000 + 270) * MIN);
    assert_int_equal(cJSON_GetObjectItem(g, "open")->valueint, 5);
    nodes = cJSON_GetObjectItem(g, "nodes");
    assert_int_equal(cJSON_GetArraySize(nodes), 4); /* the path and the one most urgent besides it */
    cJSON_Delete(g);

    /* a search shows what matched, with the path */
    g = parse(webview_graph(&in, "c", 10));
    assert_int_equal(cJSON_GetObjectItem(g, "matched")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(g, "nodes")), 4);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(g, "edges")), 4); /* A-B A-C B-D C-D */
    cJSON_Delete(g);
    world_free(w);
}

static void test_list_pages(void **state)
{
    world *w = world_new(8);
    dash_input d;
    webview_input in;
    cJSON *l, *rows;
    (void)state;
    add(w, "LOW-1", ST(READY), 4, 1, "");
    add(w, "CRIT-1", ST(READY), 1, 1, "");
    add(w, "HIGH-1", ST(READY), 2, 1, "");
    add(w, "DONE-1", ST(COMPLETE), 1, 1, "");
    input(w, &d, &in);
    l = parse(webview_list(&in, "", "open", 0, 2));
    assert_int_equal(cJSON_GetObjectItem(l, "total")->valueint, 3);
    rows = cJSON_GetObjectItem(l, "rows");
    assert_int_equal(cJSON_GetArraySize(rows), 2);
    /* every one is its own critical path of one; the longest wins, then priority */
    cJSON_Delete(l);
    l = parse(webview_list(&in, "", "COMPLETE", 0, 10));
    assert_int_equal(cJSON_GetObjectItem(l, "total")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(l, "rows"), 0), "id")->valuestring,
                        "DONE-1");
    cJSON_Delete(l);
    l = parse(webview_list(&in, "high", "", 5, 10)); /* past the end: no rows, the total still said */
    assert_int_equal(cJSON_GetObjectItem(l, "total")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l, "rows")), 0);
    cJSON_Delete(l);
    world_free(w);
}

static void test_overview(void **state)
{
    world *w = world_new(8);
    dash_input d;
    webview_input in;
    webview_alert al = {"queue_depth", "warning", "backend queue 12 deep", 5};
    cJSON *o, *x;
    (void)state;
    add(w, "A", ST(DISPATCHED), 2, 1, "");
    add(w, "B", ST(BLOCKED), 2, 1, "A");
    add(w, "C", ST(COMPLETE), 1, 1, "");
    add(w, "R", ST(REVIEWING), 3, 1, "");
    w->st[2].completed_at_ms = 1000 * MIN - 10 * MIN;
    w->st[2].attempt = 1;
    input(w, &d, &in);
    d.used[1] = 90;
    d.limit[1] = 100;
    d.used_total = 90;
    d.limit_total = 100;
    in.alerts = &al;
    in.nalerts = 1;
    o = parse(webview_overview(&in));
    x = cJSON_GetObjectItem(o, "budget");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(x, "conserving")));
    x = cJSON_GetObjectItem(o, "counts");
    assert_int_equal(cJSON_GetObjectItem(x, "DISPATCHED")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(x, "BLOCKED")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(x, "COMPLETE")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(x, "REVIEWING")->valueint, 1); /* every status has its count */
    assert_int_equal(cJSON_GetObjectItem(x, "MERGING")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(o, "blockedTotal")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(o, "recentTotal")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(o, "alertsFiring")->valueint, 1);
    x = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "queues"), 1); /* HIGH */
    assert_string_equal(cJSON_GetObjectItem(x, "priority")->valuestring, "HIGH");
    assert_int_equal(cJSON_GetObjectItem(x, "total")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "critical"), "length")->valueint, 2);
    cJSON_Delete(o);
    world_free(w);
}

/* 5,000 open requirements in one long chain and a wide fan: the views stay
 * bounded (a page, a graph of limit + path nodes) and the walk does not
 * recurse. */
static void test_five_thousand(void **state)
{
    enum { N = 5000 };
    world *w = world_new(N);
    dash_input d;
    webview_input in;
    char id[32], prev[32] = "";
    cJSON *g;
    char *text;
    (void)state;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "REQ-%d", i);
        add(w, id, i ? ST(BLOCKED) : ST(READY), 1 + i % 4, 1 + i % 4, i < 3000 ? prev : "REQ-0");
        snprintf(prev, sizeof(prev), "%s", id);
    }
    input(w, &d, &in);
    g = parse(webview_graph(&in, "", 100));
    /* the chain is the critical path: 3,000 long, 200 of it shown (the
     * first 199 and the end), with the 100 most urgent besides */
    assert_int_equal(cJSON_GetObjectItem(g, "criticalLength")->valueint, 3000);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(g, "criticalPath")), 200);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(g, "criticalPath"), 199)->valuestring, "REQ-2999");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(g, "nodes")), 300);
    cJSON_Delete(g);
    text = webview_list(&in, "REQ-49", "open", 0, 50);
    g = parse(text);
    assert_int_equal(cJSON_GetObjectItem(g, "total")->valueint, 111); /* REQ-49, REQ-490..499, REQ-4900..4999 */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(g, "rows")), 50);
    cJSON_Delete(g);
    text = webview_overview(&in);
    assert_true(strlen(text) < 64 * 1024);
    free(text);
    world_free(w);
}

/* A row of view by id, or NULL. */
static const cJSON *row_by_id(const cJSON *rows, const char *id)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")), id)) return r;
    return NULL;
}

static const char *src_of(const cJSON *r) { return cJSON_GetStringValue(cJSON_GetObjectItem(r, "etaSource")); }
static double ms_of(const cJSON *o, const char *k) { return cJSON_GetNumberValue(cJSON_GetObjectItem(o, k)); }

/* The scheduler's forecast, read from two list pages, wins over the
 * monitor's estimate for what it listed (also "no ETA"); what it did not
 * list, and everything when it did not answer, keeps the monitor's,
 * labelled so; the roadmap's ETA is the scheduler's mean and 90th
 * percentile. Bad pages are refused and change nothing. */
static void test_scheduler_eta(void **state)
{
    world *w = world_new(8);
    dash_input d;
    webview_input in;
    webview_sched *f;
    const double now = 1000 * MIN, a_eta = now + 333 * MIN, end = now + 900 * MIN, late = now + 1200 * MIN;
    char page1[512], err[160];
    const char *back = "{\"requirements\":[{\"id\":\"C\",\"etaMs\":5}],\"next\":3}";
    const char *page2 = "{\"offset\":3,\"requirements\":[{\"id\":\"D\",\"status\":\"COMPLETE\"}]}";
    cJSON *l, *x;
    (void)state;
    add(w, "A", ST(DISPATCHED), 2, 1, "");
    add(w, "B", ST(BLOCKED), 2, 1, "A");
    add(w, "C", ST(READY), 3, 1, "");
    add(w, "D", ST(COMPLETE), 1, 1, "");
    w->st[0].dispatched_at_ms = (int64_t)now;
    input(w, &d, &in);

    /* no answer: the monitor's own (A S: 15 min; B after it; C S: 15 min) */
    l = parse(webview_list(&in, "", "", 0, 10));
    x = cJSON_GetObjectItem(l, "rows");
    assert_true(ms_of(row_by_id(x, "A"), "etaMs") == now + 15 * MIN);
    assert_string_equal(src_of(row_by_id(x, "A")), "monitor");
    assert_true(ms_of(row_by_id(x, "B"), "etaMs") == now + 30 * MIN);
    assert_null(cJSON_GetObjectItem(row_by_id(x, "D"), "etaMs"));
    x = cJSON_GetObjectItem(l, "eta");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(x, "source")), "monitor");
    assert_true(ms_of(x, "endMs") == now + 30 * MIN);
    assert_null(cJSON_GetObjectItem(x, "lateMs"));
    cJSON_Delete(l);

    /* the scheduler's pages: A with an ETA, B without one, C not listed */
    snprintf(page1, sizeof(page1),
             "{\"offset\":0,\"next\":3,\"roadmapEta\":\"x\",\"roadmapEtaMs\":%.0f,\"roadmapEtaLateMs\":%.0f,"
             "\"requirements\":[{\"id\":\"A\",\"etaMs\":%.0f},{\"id\":\"B\",\"status\":\"BLOCKED\"},{\"nope\":1}]}",
             end, late, a_eta);
    f = webview_sched_create((int64_t)now - 1000);
    assert_int_equal(webview_sched_page(f, page1, strlen(page1), 0, err, sizeof(err)), 3);
    /* refused: not JSON, not a page, a next that does not move forwards */
    assert_int_equal(webview_sched_page(f, "{", 1, 3, err, sizeof(err)), -1);
    assert_int_equal(webview_sched_page(f, "{\"rows\":[]}", 12, 3, err, sizeof(err)), -1);
    assert_int_equal(webview_sched_page(f, back, strlen(back), 3, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "past offset 3"));
    assert_int_equal(webview_sched_rows(f), 2);
    assert_int_equal(webview_sched_page(f, page2, strlen(page2), 3, err, sizeof(err)), 0);
    assert_int_equal(webview_sched_rows(f), 3);
    in.sched = f;

    l = parse(webview_list(&in, "", "", 0, 10));
    x = cJSON_GetObjectItem(l, "rows");
    assert_true(ms_of(row_by_id(x, "A"), "etaMs") == a_eta);
    assert_string_equal(src_of(row_by_id(x, "A")), "scheduler");
    assert_null(cJSON_GetObjectItem(row_by_id(x, "B"), "etaMs")); /* the scheduler has none: not the monitor's */
    assert_true(ms_of(row_by_id(x, "C"), "etaMs") == now + 15 * MIN);
    assert_string_equal(src_of(row_by_id(x, "C")), "monitor");
    x = cJSON_GetObjectItem(l, "eta");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(x, "source")), "scheduler");
    assert_true(ms_of(x, "endMs") == end);
    assert_true(ms_of(x, "lateMs") == late);
    assert_true(ms_of(x, "atMs") == now - 1000);
    cJSON_Delete(l);

    l = parse(webview_graph(&in, "", 10));
    assert_true(ms_of(row_by_id(cJSON_GetObjectItem(l, "nodes"), "A"), "etaMs") == a_eta);
    assert_true(ms_of(cJSON_GetObjectItem(l, "eta"), "endMs") == end);
    cJSON_Delete(l);
    l = parse(webview_overview(&in));
    assert_true(ms_of(cJSON_GetObjectItem(l, "eta"), "lateMs") == late);
    cJSON_Delete(l);
    webview_sched_destroy(f);

    /* the scheduler answered with nothing left: no roadmap ETA, and no
     * monitor's one in its place */
    f = webview_sched_create((int64_t)now);
    assert_int_equal(webview_sched_page(f, page2, strlen(page2), 0, err, sizeof(err)), 0);
    in.sched = f;
    l = parse(webview_overview(&in));
    x = cJSON_GetObjectItem(l, "eta");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(x, "source")), "scheduler");
    assert_null(cJSON_GetObjectItem(x, "endMs"));
    cJSON_Delete(l);
    webview_sched_destroy(f);
    webview_sched_destroy(NULL);
    world_free(w);
}

/* A page of 5,000 rows (the scheduler's largest is 10,000) is read whole
 * and every open requirement shows the scheduler's ETA. */
static void test_scheduler_eta_five_thousand(void **state)
{
    enum { N = 5000 };
    world *w = world_new(N);
    dash_input d;
    webview_input in;
    webview_sched *f = webview_sched_create(1);
    cJSON *page = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(page, "requirements"), *l;
    char id[32], *text, err[160];
    int from_scheduler = 0;
    const cJSON *r;
    (void)state;
    for (int i = 0; i < N; i++) {
        cJSON *row = cJSON_CreateObject();
        snprintf(id, sizeof(id), "REQ-%d", i);
        add(w, id, ST(READY), 1 + i % 4, 1 + i % 4, "");
        cJSON_AddStringToObject(row, "id", id);
        cJSON_AddNumberToObject(row, "etaMs", 7e12 + i);
        cJSON_AddItemToArray(rows, row);
    }
    cJSON_AddNumberToObject(page, "roadmapEtaMs", 8e12);
    text = cJSON_PrintUnformatted(page);
    cJSON_Delete(page);
    assert_int_equal(webview_sched_page(f, text, strlen(text), 0, err, sizeof(err)), 0);
    free(text);
    assert_int_equal(webview_sched_rows(f), N);
    input(w, &d, &in);
    in.sched = f;
    l = parse(webview_list(&in, "", "open", 0, 1000));
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(l, "rows"))
    {
        int i = atoi(cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")) + 4);
        from_scheduler += ms_of(r, "etaMs") == 7e12 + i && !strcmp(src_of(r), "scheduler");
    }
    assert_int_equal(from_scheduler, 1000);
    cJSON_Delete(l);
    webview_sched_destroy(f);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_buckets),  cmocka_unit_test(test_empty_snapshot), cmocka_unit_test(test_ready_latency),
        cmocka_unit_test(test_full_snapshot), cmocka_unit_test(test_critical_path),
        cmocka_unit_test(test_list_pages),    cmocka_unit_test(test_overview),
        cmocka_unit_test(test_five_thousand), cmocka_unit_test(test_scheduler_eta),
        cmocka_unit_test(test_scheduler_eta_five_thousand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
