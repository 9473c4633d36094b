/* The monitor's pure parts: rules, the alert manager (group wait, repeat,
 * resolution, silences, persistence), Matrix answers and messages, the
 * sender against the fake homeserver, and the dashboard's metrics from a
 * scripted history. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "alerts.h"
#include "dashboard.h"
#include "agents.h"
#include "fakematrix.h"
#include "matrix.h"
#include "seen.h"
#include "rules.h"
#include "text.h"

#define MIN (60 * 1000LL)

/* The rules' settings as the monitor's settings table sets them by default. */
static void test_rules_cfg(rules_cfg *c)
{
    c->stale_ms = 120 * MIN;
    c->kill_ms = 240 * MIN;
    c->verifying_ms = 80 * MIN;
    c->queue_depth = 10;
    c->error_count = 5;
    c->error_window_ms = 15 * MIN;
    c->infra_count = 3;
    c->warn_percent = 80;
    c->service_grace_ms = 30000;
}

static int has_rule(const rules_condition *c, int n, const char *rule, const char *text)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(c[i].rule, rule) && (!text || strstr(c[i].text, text)))
            return 1;
    return 0;
}

static void rules_find_stale_work_and_ask_to_kill(void **state)
{
    rules_cfg c;
    rules_work w[4] = {
        {"REQ-1", "roy-1", 1, 0, 0, 1, 1, 0, 0},               /* dispatched at 0, silent */
        {"REQ-2", "jen-1", 2, 0, 170 * MIN, 1, 1, 0, 0},       /* active recently */
        {"REQ-3", "db-1", 3, 0, 10 * MIN, 2, 1, 0, 0},
        {"REQ-4", "", 1, 0, 0, 1, 0, 0, 0},                    /* queued: no agent took it yet */
    };
    rules_snapshot s;
    rules_condition out[16];
    rules_kill k[4];
    int n, nk;
    (void)state;
    test_rules_cfg(&c);
    memset(&s, 0, sizeof(s));
    for (int t = 0; t < RULES_TYPES; t++)
        s.depth[t] = -1;
    s.work = w;
    s.nwork = 4;
    n = rules_eval(&c, &s, 119 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(n, 0);
    n = rules_eval(&c, &s, 180 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(n, 2); /* REQ-1 silent 3 h, REQ-3 silent 2 h 50; REQ-4 is only queued */
    assert_true(has_rule(out, n, "stale", "REQ-1 (backend) has shown no activity for 180 min on roy-1"));
    assert_int_equal(nk, 0);
    n = rules_eval(&c, &s, 241 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(nk, 1);
    assert_string_equal(k[0].id, "REQ-1");
    assert_string_equal(k[0].instance, "roy-1");
    w[0].instance = ""; /* nobody known to stop: the work is released all the same */
    n = rules_eval(&c, &s, 241 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(nk, 1);
    assert_string_equal(k[0].instance, "");
}

static int holds_busy(const char *requirement, void *arg)
{
    (void)arg;
    return !strncmp(requirement, "BUSY", 4);
}

static void agent_table_ages_out_and_makes_room(void **state)
{
    agents *a = agents_create(4, 1000);
    const agent_entry *all;
    char gone[64] = "";
    int n;
    (void)state;
    assert_null(agents_find(a, "x"));
    assert_int_equal(agents_note(a, "w1", 1, "BUSY-1", 0, holds_busy, NULL, gone, sizeof(gone)), AGENTS_ADDED);
    assert_int_equal(agents_note(a, "i1", 2, "", 10, holds_busy, NULL, gone, sizeof(gone)), AGENTS_ADDED);
    assert_int_equal(agents_note(a, "i2", 2, NULL, 20, holds_busy, NULL, gone, sizeof(gone)), AGENTS_ADDED);
    assert_int_equal(agents_note(a, "i3", 2, "DONE-1", 30, holds_busy, NULL, gone, sizeof(gone)), AGENTS_ADDED);
    assert_int_equal(agents_note(a, "i1", 0, "", 40, holds_busy, NULL, gone, sizeof(gone)), AGENTS_SEEN);
    assert_int_equal(agents_find(a, "i1")->type, 2); /* 0 keeps the type */
    /* full: the idle one heard longest ago (i2 at 20; w1 at 0 holds work) gives way */
    assert_int_equal(agents_note(a, "real", 1, "BUSY-2", 50, holds_busy, NULL, gone, sizeof(gone)), AGENTS_EVICTED);
    assert_string_equal(gone, "i2");
    assert_null(agents_find(a, "i2"));
    assert_non_null(agents_find(a, "real"));
    assert_non_null(agents_find(a, "w1"));
    /* every slot holding work: the newcomer is not tracked, nobody is dropped */
    agents_note(a, "i1", 0, "BUSY-3", 60, holds_busy, NULL, NULL, 0);
    agents_note(a, "i3", 0, "BUSY-4", 60, holds_busy, NULL, NULL, 0);
    assert_int_equal(agents_note(a, "late", 1, "", 70, holds_busy, NULL, gone, sizeof(gone)), AGENTS_FULL);
    assert_null(agents_find(a, "late"));
    all = agents_all(a, &n);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        assert_string_not_equal(all[i].instance, "late");
    /* the sweep drops only the silent that hold nothing */
    assert_int_equal(agents_sweep(a, 5000, holds_busy, NULL), 0);
    agents_note(a, "i1", 0, "", 100, holds_busy, NULL, NULL, 0);
    agents_touch(a, "w1", 4500);
    agents_touch(a, "nobody", 4500); /* no entry made */
    assert_int_equal(agents_sweep(a, 1099, holds_busy, NULL), 0);
    assert_int_equal(agents_sweep(a, 1100, holds_busy, NULL), 1); /* i1 */
    assert_null(agents_find(a, "i1"));
    assert_null(agents_find(a, "nobody"));
    assert_int_equal(agents_sweep(a, 1000000, NULL, NULL), 3); /* nothing held any more */
    agents_all(a, &n);
    assert_int_equal(n, 0);
    assert_int_equal(agents_cap(a), 4);
    agents_destroy(a);
    agents_destroy(NULL);
}

/* A flood of one-off names never hides a real agent. */
static void agent_table_survives_a_flood_of_names(void **state)
{
    agents *a = agents_create(512, 3600 * 1000);
    char name[32];
    (void)state;
    agents_note(a, "worker", 1, "BUSY-1", 0, holds_busy, NULL, NULL, 0);
    for (int i = 0; i < 600; i++) {
        snprintf(name, sizeof(name), "one-off-%d", i);
        assert_int_not_equal(agents_note(a, name, 2, "", 1 + i, holds_busy, NULL, NULL, 0), AGENTS_FULL);
    }
    assert_int_equal(agents_note(a, "roy-real", 1, "", 1000, holds_busy, NULL, NULL, 0), AGENTS_EVICTED);
    assert_non_null(agents_find(a, "roy-real"));
    assert_non_null(agents_find(a, "worker"));  /* holds work: kept though heard first */
    assert_non_null(agents_find(a, "one-off-599"));
    assert_null(agents_find(a, "one-off-0"));
    agents_destroy(a);
}

static void rules_find_verifications_that_last_too_long(void **state)
{
    rules_cfg c;
    rules_work w[2] = {
        {"REQ-V", "roy-1", 1, 0, 0, 1, 1, 1, 10 * MIN},  /* VERIFYING since 10 min */
        {"REQ-W", "", 2, 0, 0, 1, 1, 1, 0},              /* since unknown: not judged */
    };
    rules_snapshot s;
    rules_condition out[16];
    rules_kill k[4];
    int n, nk;
    (void)state;
    test_rules_cfg(&c);
    assert_int_equal(c.verifying_ms, 80 * MIN);
    memset(&s, 0, sizeof(s));
    for (int t = 0; t < RULES_TYPES; t++)
        s.depth[t] = -1;
    s.work = w;
    s.nwork = 2;
    n = rules_eval(&c, &s, 89 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(n, 0);
    /* long past the stale and kill times of DISPATCHED work: no kill, one alert */
    n = rules_eval(&c, &s, 300 * MIN, out, 16, k, 4, &nk);
    assert_int_equal(n, 1);
    assert_int_equal(nk, 0);
    assert_true(has_rule(out, n, "stale_verifying",
                         "REQ-V (backend) has been VERIFYING for 290 min (over 80 min): the verification is stuck or lost"));
    assert_string_equal(out[0].values[0], "REQ-V");
}

static void rules_queue_errors_budget_services(void **state)
{
    rules_cfg c;
    rules_snapshot s;
    rules_condition out[16];
    rules_kill k[1];
    rules_window errors[RULES_TYPES], infra;
    rules_service sv[2] = {{"orch-router", 100 * 1000}, {"orch-verifier", 0}};
    int n, nk;
    (void)state;
    test_rules_cfg(&c);
    memset(&s, 0, sizeof(s));
    memset(errors, 0, sizeof(errors));
    memset(&infra, 0, sizeof(infra));
    for (int t = 0; t < RULES_TYPES; t++)
        s.depth[t] = -1;
    s.depth[1] = 11;
    s.depth[2] = 10;
    for (int i = 0; i < 5; i++)
        rules_window_add(&errors[2], 100 * 1000 + i * 1000);
    rules_window_add(&errors[1], 0); /* long ago */
    for (int i = 0; i < 3; i++)
        rules_window_add(&infra, 110 * 1000);
    s.errors = errors;
    s.infra = &infra;
    s.used_total = 800000;
    s.limit_total = 1000000;
    s.used[3] = 100001;
    s.limit[3] = 100000;
    s.services = sv;
    s.nservices = 2;
    s.started_ms = 0;
    n = rules_eval(&c, &s, 120 * 1000, out, 16, k, 1, &nk);
    assert_true(has_rule(out, n, "queue_depth", "backend queue is 11 deep"));
    assert_false(has_rule(out, n, "queue_depth", "frontend"));
    assert_true(has_rule(out, n, "error_rate", "5 frontend errors"));
    assert_false(has_rule(out, n, "error_rate", "backend"));
    assert_true(has_rule(out, n, "infra_errors", NULL));
    assert_true(has_rule(out, n, "budget", "800000 of 1000000 daily tokens used (80%)"));
    assert_true(has_rule(out, n, "budget", "database is over its daily budget"));
    assert_true(has_rule(out, n, "service_down", "orch-verifier"));
    assert_false(has_rule(out, n, "service_down", "orch-router"));
    /* the window slides: later the errors are old */
    n = rules_eval(&c, &s, 100 * 1000 + 16 * MIN, out, 16, k, 1, &nk);
    assert_false(has_rule(out, n, "error_rate", NULL));
}

static rules_condition cond(const char *rule, const char *id, const char *group, int sev)
{
    rules_condition c;
    memset(&c, 0, sizeof(c));
    snprintf(c.rule, sizeof(c.rule), "%s", rule);
    snprintf(c.group, sizeof(c.group), "%s", group);
    snprintf(c.keys[0], sizeof(c.keys[0]), "id");
    snprintf(c.values[0], sizeof(c.values[0]), "%s", id);
    c.nlabels = 1;
    c.severity = sev;
    snprintf(c.text, sizeof(c.text), "%s is %s", id, rule);
    return c;
}

static void alerts_group_repeat_and_resolve_once(void **state)
{
    am_cfg cfg = {30000, 4 * 3600 * 1000LL};
    am *m = am_create(&cfg);
    am_notification n[8];
    rules_condition c[3] = {cond("stale", "A", "stale", 2), cond("stale", "B", "stale", 2),
                            cond("queue_depth", "Q", "queues", 2)};
    char id_first[64];
    (void)state;
    am_observe(m, c, 2, 0);
    assert_int_equal(am_due(m, 10000, n, 8), 0);      /* group wait */
    am_observe(m, c, 3, 20000);
    assert_int_equal(am_due(m, 30000, n, 8), 1);      /* A and B together */
    assert_int_equal(n[0].nmembers, 2);
    assert_false(n[0].resolved);
    assert_non_null(strstr(n[0].text, "A is stale"));
    assert_non_null(strstr(n[0].text, "B is stale"));
    snprintf(id_first, sizeof(id_first), "%s", n[0].id);
    assert_int_equal(am_due(m, 40000, n, 8), 0);
    assert_int_equal(am_due(m, 50000, n, 8), 1);      /* Q after its own wait */
    assert_int_equal(n[0].nmembers, 1);
    assert_string_equal(n[0].kind, "queue_depth");
    /* A goes away: one resolution, once */
    am_observe(m, c + 1, 2, 60000);
    assert_int_equal(am_due(m, 60000, n, 8), 1);
    assert_true(n[0].resolved);
    assert_string_equal(n[0].members[0], "stale{id=A}");
    assert_int_equal(am_due(m, 61000, n, 8), 0);
    /* B still firing: repeated after 4 h, not before */
    am_observe(m, c + 1, 2, 3 * 3600 * 1000LL);
    assert_int_equal(am_due(m, 3 * 3600 * 1000LL, n, 8), 0);
    assert_int_equal(am_due(m, 30000 + 4 * 3600 * 1000LL, n, 8), 1);
    assert_string_equal(n[0].members[0], "stale{id=B}");
    assert_int_equal(n[0].id[0], 'P');
    am_destroy(m);

    /* the same history gives the same notification ids (dedupe after a crash) */
    m = am_create(&cfg);
    am_observe(m, c, 2, 0);
    am_observe(m, c, 3, 20000);
    assert_int_equal(am_due(m, 30000, n, 8), 1);
    assert_string_equal(n[0].id, id_first);
    am_destroy(m);
}

static void alerts_resolved_before_announced_are_quiet(void **state)
{
    am_cfg cfg = {30000, 3600000};
    am *m = am_create(&cfg);
    am_notification n[4];
    rules_condition c = cond("stale", "A", "stale", 2);
    (void)state;
    am_observe(m, &c, 1, 0);
    am_observe(m, NULL, 0, 10000);
    assert_int_equal(am_due(m, 40000, n, 4), 0);
    am_destroy(m);
}

static void silences_suppress_and_expire(void **state)
{
    am_cfg cfg = {0, 3600000};
    am *m = am_create(&cfg);
    am_notification n[4];
    rules_condition c[2] = {cond("stale", "A", "stale", 2), cond("queue_depth", "Q", "queues", 2)};
    char id[32], *saved;
    am *back;
    (void)state;
    assert_int_equal(am_silence(m, "rule=stale,id=A", 60000, "known", id, sizeof(id)), 0);
    assert_int_equal(am_silence(m, "nonsense", 60000, "", id, sizeof(id)), -1);
    am_observe(m, c, 2, 1000);
    assert_int_equal(am_due(m, 1000, n, 4), 1);
    assert_string_equal(n[0].kind, "queue_depth");
    assert_int_equal(am_silences(m, 1000), 1);
    /* persisted and restored */
    saved = am_save(m);
    back = am_create(&cfg);
    assert_int_equal(am_load(back, saved), 0);
    free(saved);
    assert_int_equal(am_firing(back), 2);
    assert_int_equal(am_due(back, 2000, n, 4), 0);   /* Q already announced, A silenced */
    assert_int_equal(am_due(back, 61000, n, 4), 1);  /* the silence expired */
    assert_string_equal(n[0].members[0], "stale{id=A}");
    assert_int_equal(am_unsilence(back, "S1"), 0);
    assert_int_equal(am_unsilence(back, "S9"), -1);
    am_destroy(back);
    am_destroy(m);
}

static void matrix_answers(void **state)
{
    mx_result r;
    const char *ok = "{\"event_id\":\"$abc:example.org\"}";
    const char *limited = "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"Too many requests\",\"retry_after_ms\":2000}";
    const char *forbidden = "{\"errcode\":\"M_FORBIDDEN\",\"error\":\"You are not in this room\"}";
    (void)state;
    matrix_parse(200, NULL, ok, strlen(ok), &r);
    assert_int_equal(r.outcome, MX_SENT);
    assert_string_equal(r.event_id, "$abc:example.org");
    matrix_parse(429, NULL, limited, strlen(limited), &r);
    assert_int_equal(r.outcome, MX_RETRY_AFTER);
    assert_int_equal(r.retry_ms, 2000);
    matrix_parse(429, "7", "{}", 2, &r);
    assert_int_equal(r.retry_ms, 7000);
    matrix_parse(429, NULL, "", 0, &r);
    assert_int_equal(r.retry_ms, 5000);
    matrix_parse(502, NULL, "<html>bad gateway</html>", 24, &r);
    assert_int_equal(r.outcome, MX_BACKOFF);
    matrix_parse(403, NULL, forbidden, strlen(forbidden), &r);
    assert_int_equal(r.outcome, MX_REFUSED);
    assert_non_null(strstr(r.detail, "M_FORBIDDEN"));
    matrix_parse(0, NULL, "Connection refused", 18, &r);
    assert_int_equal(r.outcome, MX_BACKOFF);
}

/* A 2xx is delivered only with an event id; a redirect is never a refusal. */
static void matrix_answers_that_are_not_deliveries(void **state)
{
    mx_result r;
    const char *noid = "{\"ok\":true}", *numid = "{\"event_id\":12}";
    (void)state;
    matrix_parse(200, NULL, "<html>welcome</html>", 20, &r);
    assert_int_equal(r.outcome, MX_BACKOFF);
    assert_string_equal(r.event_id, "");
    matrix_parse(200, NULL, noid, strlen(noid), &r);
    assert_int_equal(r.outcome, MX_BACKOFF);
    matrix_parse(200, NULL, numid, strlen(numid), &r);
    assert_int_equal(r.outcome, MX_BACKOFF);
    matrix_parse(200, NULL, "", 0, &r);
    assert_int_equal(r.outcome, MX_BACKOFF);
    matrix_parse(200, NULL, NULL, 0, &r);
    assert_int_equal(r.outcome, MX_BACKOFF);
    matrix_parse(200, NULL, "{\"event_id\":\"\"}", 15, &r);
    assert_int_equal(r.outcome, MX_BACKOFF);
    for (long st = 300; st < 400; st++) {
        matrix_parse(st, NULL, "{}", 2, &r);
        assert_int_equal(r.outcome, MX_BACKOFF);
    }
}

static void matrix_retry_delays_have_a_floor_and_a_cap(void **state)
{
    mx_result r;
    const char *zero = "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"retry_after_ms\":0}";
    (void)state;
    matrix_parse(429, NULL, zero, strlen(zero), &r);
    assert_int_equal(r.outcome, MX_RETRY_AFTER);
    assert_int_equal(r.retry_ms, 0);
    /* 0 asked: still the floor, then doubling up to the cap */
    assert_int_equal(matrix_retry_delay(&r, 1, 1000, 60000, 0.0), 1000);
    assert_int_equal(matrix_retry_delay(&r, 1, 1000, 60000, 0.999), 1000);
    assert_int_equal(matrix_retry_delay(&r, 2, 1000, 60000, 0.0), 1000);
    assert_true(matrix_retry_delay(&r, 2, 1000, 60000, 0.999) > 1990);
    assert_int_equal(matrix_retry_delay(&r, 4, 1000, 60000, 0.0), 4000);
    assert_int_equal(matrix_retry_delay(&r, 40, 1000, 60000, 0.0), 30000);
    assert_true(matrix_retry_delay(&r, 1000000, 1000, 60000, 0.9999) <= 60000);
    /* a longer wait asked for is honoured */
    r.retry_ms = 90000;
    assert_int_equal(matrix_retry_delay(&r, 1, 1000, 60000, 0.5), 90000);
    matrix_parse(500, NULL, "{}", 2, &r);
    assert_int_equal(matrix_retry_delay(&r, 1, 200, 800, 0.0), 200);
    assert_int_equal(matrix_retry_delay(&r, 9, 200, 800, 0.0), 400);
    assert_true(matrix_retry_delay(&r, 9, 200, 800, 0.999) <= 800);
}

static void matrix_redirects_stay_on_the_homeservers_origin(void **state)
{
    const char *hs = "https://Matrix.Example.org";
    (void)state;
    assert_true(matrix_same_origin(hs, "https://matrix.example.org/_matrix/client/v3/x"));
    assert_true(matrix_same_origin(hs, "HTTPS://matrix.example.org:443/y"));
    assert_true(matrix_same_origin("http://127.0.0.1:8008", "http://127.0.0.1:8008/moved/x"));
    assert_false(matrix_same_origin(hs, "http://matrix.example.org/x"));        /* scheme */
    assert_false(matrix_same_origin(hs, "https://matrix.example.org:8448/x"));  /* port */
    assert_false(matrix_same_origin(hs, "https://evil.example.org/x"));
    assert_false(matrix_same_origin(hs, "https://matrix.example.org.evil.net/x"));
    assert_false(matrix_same_origin(hs, "https://matrix.example.org@evil.net/x"));
    assert_false(matrix_same_origin(hs, "https://evil.net/?https://matrix.example.org"));
    assert_false(matrix_same_origin("http://127.0.0.1:8008", "http://127.0.0.1:8009/x"));
    assert_false(matrix_same_origin("http://127.0.0.1:8008", "http://localhost:8008/x"));
    assert_false(matrix_same_origin(hs, "/relative"));
    assert_false(matrix_same_origin(hs, ""));
    assert_false(matrix_same_origin(NULL, hs));
    assert_false(matrix_same_origin("ftp://a", "ftp://a/x")); /* no known port */
}

static void matrix_log_lines_are_throttled(void **state)
{
    mx_throttle t = {0, 0};
    long sup = -1;
    (void)state;
    assert_true(matrix_throttle(&t, 1000, 10000, &sup));
    assert_int_equal(sup, 0);
    for (int i = 0; i < 75; i++)
        assert_false(matrix_throttle(&t, 1000 + i * 13, 10000, &sup));
    assert_true(matrix_throttle(&t, 11000, 10000, &sup));
    assert_int_equal(sup, 75);
}

static void matrix_messages_and_threads(void **state)
{
    char *b = matrix_body("a <b> & c", "x", "$root:example.org");
    cJSON *j = cJSON_Parse(b);
    cJSON *rel = cJSON_GetObjectItem(j, "m.relates_to");
    char *h = matrix_html_escape("<script>\"x\" & y\nz");
    (void)state;
    assert_string_equal(cJSON_GetObjectItem(j, "msgtype")->valuestring, "m.text");
    assert_string_equal(cJSON_GetObjectItem(j, "format")->valuestring, "org.matrix.custom.html");
    assert_string_equal(cJSON_GetObjectItem(rel, "rel_type")->valuestring, "m.thread");
    assert_string_equal(cJSON_GetObjectItem(rel, "event_id")->valuestring, "$root:example.org");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rel, "m.in_reply_to"), "event_id")->valuestring,
                        "$root:example.org");
    assert_string_equal(h, "&lt;script&gt;&quot;x&quot; &amp; y<br>z");
    cJSON_Delete(j);
    free(b);
    free(h);
    b = matrix_body("plain", "plain", NULL);
    assert_null(strstr(b, "m.relates_to"));
    free(b);
}

static void sender_against_the_fake_homeserver(void **state)
{
    fakematrix *f = fm_start("secret-token");
    char url[64];
    matrix_cfg c = {url, "!room:fake.local", "secret-token", 3000};
    matrix_cfg bad = {url, "!room:fake.local", "wrong", 3000};
    mx_result r, r2;
    fm_request q;
    (void)state;
    assert_non_null(f);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", fm_port(f));
    matrix_send(&c, "txn-1", "hello", "<b>hello</b>", NULL, &r);
    assert_int_equal(r.outcome, MX_SENT);
    fm_get(f, 0, &q);
    assert_string_equal(q.room, "!room:fake.local");   /* URL-encoded on the way, decoded here */
    assert_string_equal(q.txn, "txn-1");
    assert_non_null(strstr(q.body, "\"formatted_body\":\"<b>hello</b>\""));
    matrix_send(&c, "txn-1", "hello", "<b>hello</b>", NULL, &r2); /* a retry */
    assert_string_equal(r.event_id, r2.event_id);
    assert_int_equal(fm_delivered(f), 1);
    fm_script(f, 429, "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"retry_after_ms\":1500}", NULL, 1);
    matrix_send(&c, "txn-2", "x", "x", NULL, &r);
    assert_int_equal(r.outcome, MX_RETRY_AFTER);
    assert_int_equal(r.retry_ms, 1500);
    fm_script(f, 429, "{\"errcode\":\"M_LIMIT_EXCEEDED\"}", "3", 1);
    matrix_send(&c, "txn-2", "x", "x", NULL, &r);
    assert_int_equal(r.retry_ms, 3000);
    fm_script(f, 500, "{}", NULL, 1);
    matrix_send(&c, "txn-2", "x", "x", NULL, &r);
    assert_int_equal(r.outcome, MX_BACKOFF);
    matrix_send(&bad, "txn-3", "x", "x", NULL, &r);
    assert_int_equal(r.outcome, MX_REFUSED);
    assert_non_null(strstr(r.detail, "M_UNKNOWN_TOKEN"));
    fm_down(f, 1);
    matrix_send(&c, "txn-4", "x", "x", NULL, &r);
    assert_int_equal(r.outcome, MX_BACKOFF);
    fm_down(f, 0);
    matrix_send(&c, "txn-4", "x", "x", NULL, &r);
    assert_int_equal(r.outcome, MX_SENT);
    assert_int_equal(fm_delivered(f), 2);
    {
        /* same origin: followed, still a PUT with its body and token */
        char here[96], there[96];
        fakematrix *other = fm_start("secret-token");
        int before = fm_count(f);
        snprintf(here, sizeof(here), "http://127.0.0.1:%d/moved", fm_port(f));
        snprintf(there, sizeof(there), "http://127.0.0.1:%d/moved", fm_port(other));
        fm_redirect(f, 308, here, 1);
        matrix_send(&c, "txn-5", "five", "five", NULL, &r);
        assert_int_equal(r.outcome, MX_SENT);
        fm_get(f, before + 1, &q);
        assert_true(q.moved);
        assert_string_equal(q.txn, "txn-5");
        assert_non_null(strstr(q.body, "five"));
        /* another origin: not followed, the token stays home, tried again later */
        fm_redirect(f, 307, there, 1);
        matrix_send(&c, "txn-6", "six", "six", NULL, &r);
        assert_int_equal(r.outcome, MX_BACKOFF);
        assert_non_null(strstr(r.detail, "another origin"));
        assert_int_equal(fm_count(other), 0);
        /* a loop ends */
        fm_redirect(f, 301, here, MATRIX_MAX_REDIRECTS + 1);
        matrix_send(&c, "txn-7", "x", "x", NULL, &r);
        assert_int_equal(r.outcome, MX_BACKOFF);
        fm_stop(other);
    }
    fm_stop(f);
}

static pb_state *st(const char *id, int status, unsigned attempt, int complexity, int64_t created, int64_t completed,
                    uint64_t tokens)
{
    pb_state *s = xmalloc(sizeof(*s));
    pb_requirement *r = xmalloc(sizeof(*r));
    orchestrator__v1__requirement_state__init(s);
    orchestrator__v1__requirement__init(r);
    r->id = xstrdup(id);
    r->title = xstrdup(id);
    r->type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
    r->priority = ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH;
    r->complexity = (Orchestrator__V1__Complexity)complexity;
    r->created_at_ms = created;
    s->id = xstrdup(id);
    s->status = (Orchestrator__V1__Status)status;
    s->attempt = attempt;
    s->completed_at_ms = completed;
    s->tokens_used = tokens;
    s->requirement = r;
    s->reason = xstrdup(status == 3 ? "dependency: waiting on REQ-X (unknown)" : "");
    return s;
}

static void dashboard_numbers_match_a_scripted_history(void **state)
{
    const int64_t now = 10 * 24 * 3600 * 1000LL;
    pb_state *s[6] = {
        st("C1", 7, 1, 1, now - 100 * MIN, now - 40 * MIN, 1000),   /* S, 60 min, first time */
        st("C2", 7, 1, 1, now - 200 * MIN, now - 80 * MIN, 3000),   /* S, 120 min */
        st("C3", 7, 2, 2, now - 30 * 60 * MIN, now - 26 * 60 * MIN, 8000), /* M, 240 min, 2 attempts, >24h? no: 26 h ago */
        st("E1", 9, 3, 2, now - 10 * MIN, 0, 500),
        st("B1", 3, 0, 2, now - 5 * MIN, 0, 0),
        st("D1", 5, 1, 2, now - 5 * MIN, 0, 0),
    };
    dash_item items[6];
    dash_input in;
    dash_metrics m;
    char *md;
    cJSON *j;
    (void)state;
    s[5]->dispatched_at_ms = now - 15 * MIN;
    for (int i = 0; i < 6; i++) {
        items[i].st = s[i];
        items[i].ever_blocked = i == 4 || i == 1;
        items[i].ever_overlap = i == 2;
    }
    memset(&in, 0, sizeof(in));
    in.mode = "Continuous";
    in.now_ms = now;
    in.items = items;
    in.nitems = 6;
    in.used[1] = 18542;
    in.limit[1] = 300000;
    in.used_total = 543211;
    in.limit_total = 1000000;
    for (int t = 0; t < DASH_TYPES; t++)
        in.depth[t] = -1;
    in.depth[1] = 2;
    in.results[1] = 8;
    in.errors[1] = 2;
    in.active_ms = 5 * MIN;
    dash_compute(&in, &m);
    assert_int_equal(m.total, 6);
    assert_int_equal(m.complete, 3);
    assert_int_equal(m.escalated, 1);
    assert_int_equal(m.in_flight, 1);
    assert_int_equal(m.waiting, 1);
    assert_true(m.completed_per_day == 2);                       /* C3 finished 26 h ago */
    assert_true(m.avg_minutes[1] == 90.0);                       /* (60 + 120) / 2 */
    assert_true(m.avg_minutes[2] == 240.0);
    assert_true(m.avg_minutes[3] < 0);
    assert_true(m.first_time_acceptance > 0.666 && m.first_time_acceptance < 0.667);
    assert_true(m.blocker_rate > 0.333 && m.blocker_rate < 0.334);
    assert_true(m.conflict_rate > 0.166 && m.conflict_rate < 0.167);
    assert_true(m.error_rate[1] == 0.25);
    assert_true(m.tokens_per_requirement == 4000.0);
    assert_true(m.escalation_rate == 0.25);
    md = dash_markdown(&in);
    assert_non_null(strstr(md, "**Token Budget:** 456,789 / 1,000,000 remaining (45.7%)"));
    assert_non_null(strstr(md, "- D1 (backend) - Assigned, In Progress (15 min elapsed)"));
    assert_non_null(strstr(md, "- B1 (backend) - Pending (dependency: waiting on REQ-X (unknown))"));
    assert_non_null(strstr(md, "**CRITICAL:** 0 items ✅"));
    assert_non_null(strstr(md, "1. ✅ C1 (backend) - C1"));
    assert_non_null(strstr(md, "- Token usage: 18,542 / 300,000 (6.2%)"));
    assert_non_null(strstr(md, "First-time acceptance rate: 66.7%"));
    free(md);
    j = dash_json(&in);
    assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metrics"), "complete")->valuedouble, 3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "queues"), "HIGH")), 2);
    cJSON_Delete(j);
    for (int i = 0; i < 6; i++)
        orchestrator__v1__requirement_state__free_unpacked(s[i], NULL);
}


/* --- seen.c ----------------------------------------------------------------------- */

static const char *const test_services[] = {"orch-scheduler", "orch-router"};

static seen *test_seen(int64_t now)
{
    seen_cfg c = {16, 3600000, 300000};
    return seen_create(&c, test_services, 2, now);
}

static pb_state *test_state(const char *id, int status, int wait_kind, const char *reason, int priority,
                            uint64_t order)
{
    pb_state *st = xcalloc(1, sizeof(*st));
    pb_requirement *r = xcalloc(1, sizeof(*r));
    uint8_t *buf;
    size_t len;
    pb_state *out;
    char err[ERR_LEN];
    orchestrator__v1__requirement_state__init(st);
    orchestrator__v1__requirement__init(r);
    r->id = (char *)id;
    r->title = (char *)id;
    r->type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
    r->priority = (Orchestrator__V1__Priority)priority;
    st->id = (char *)id;
    st->status = (Orchestrator__V1__Status)status;
    st->wait_kind = (Orchestrator__V1__WaitKind)wait_kind;
    st->reason = (char *)reason;
    st->attempt = 1;
    st->order = order;
    st->requirement = r;
    /* packed and unpacked: the seen frees it as it frees KV's */
    assert_int_equal(pb_pack(&st->base, &buf, &len), ORCH_OK);
    out = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, buf, len, PB_MAX_MSG, err);
    assert_non_null(out);
    free(buf);
    free(r);
    free(st);
    return out;
}

#define WK(x) ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_##x
#define STS(x) ORCHESTRATOR__V1__STATUS__STATUS_##x

static void seen_history_comes_from_the_structured_reason_and_survives_a_restart(void **state)
{
    seen *s = test_seen(0), *back;
    const dash_input *in;
    dash_metrics m;
    char *saved;
    (void)state;
    seen_state(s, test_state("A", STS(BLOCKED), WK(DEPENDENCY), "waiting on B", 3, 1), 0);
    seen_state(s, test_state("B", STS(READY), WK(OVERLAP), "held: src/x.c is in flight", 3, 2), 0);
    /* prose alone says nothing: the kind is unset */
    seen_state(s, test_state("C", STS(READY), 0, "overlap with D on src/y.c", 3, 3), 0);
    seen_state(s, test_state("D", STS(DISPATCHED), 0, "", 3, 4), 0);
    seen_state(s, test_state("A", STS(COMPLETE), 0, "", 3, 1), 0);
    seen_state(s, test_state("B", STS(COMPLETE), 0, "", 3, 2), 0);
    in = seen_dash(s, 1000);
    dash_compute(in, &m);
    assert_true(m.blocker_rate == 0.25);
    assert_true(m.conflict_rate == 0.25);
    saved = seen_save(s);
    seen_destroy(s);

    /* a new leader: the history comes back with the states */
    back = test_seen(5000);
    assert_int_equal(seen_load(back, saved), 0);
    assert_int_equal(seen_load(back, "not json"), -1);
    seen_state(back, test_state("A", STS(COMPLETE), 0, "", 3, 1), 5000);
    seen_state(back, test_state("B", STS(COMPLETE), 0, "", 3, 2), 5000);
    seen_state(back, test_state("C", STS(READY), 0, "", 3, 3), 5000);
    seen_state(back, test_state("D", STS(COMPLETE), 0, "", 3, 4), 5000);
    dash_compute(seen_dash(back, 6000), &m);
    assert_true(m.blocker_rate == 0.25);
    assert_true(m.conflict_rate == 0.25);
    free(saved);
    seen_destroy(back);
}

static void seen_restores_what_the_rules_need_and_settles_only_when_all_is_in(void **state)
{
    seen *s = test_seen(100), *back;
    rules_cfg c;
    rules_condition out[16];
    rules_kill k[4];
    int n, nk;
    char *saved;
    (void)state;
    test_rules_cfg(&c);
    c.error_count = 3;
    seen_ping(s, "orch-router", 39000);
    seen_ping(s, NULL, 39000);
    for (int i = 0; i < 3; i++)
        seen_error(s, 1, 1, "X", "roy-1", 2000 + i);
    n = rules_eval(&c, seen_rules(s, 40000), 40000, out, 16, k, 4, &nk);
    assert_true(has_rule(out, n, "service_down", "orch-scheduler"));
    assert_true(has_rule(out, n, "error_rate", "3 backend errors"));
    saved = seen_save(s);
    seen_destroy(s);

    back = test_seen(41000);
    assert_false(seen_settled(back));
    /* without the memory, nothing would fire for 30 s: */
    n = rules_eval(&c, seen_rules(back, 41300), 41300, out, 16, k, 4, &nk);
    assert_false(has_rule(out, n, "service_down", NULL));
    assert_false(has_rule(out, n, "error_rate", NULL));
    assert_int_equal(seen_load(back, saved), 0);
    n = rules_eval(&c, seen_rules(back, 41300), 41300, out, 16, k, 4, &nk);
    assert_true(has_rule(out, n, "service_down", "orch-scheduler has not answered $SRV.PING for 41 s"));
    assert_false(has_rule(out, n, "service_down", "orch-router"));
    assert_true(has_rule(out, n, "error_rate", "3 backend errors"));
    /* settled once states, budgets, depths and a ping round are in */
    seen_states_synced(back);
    seen_budgets_synced(back);
    for (int t = 1; t < SEEN_TYPES; t++) {
        assert_false(seen_settled(back));
        seen_depth(back, t, 0);
    }
    assert_false(seen_settled(back));
    seen_ping(back, NULL, 42000);
    assert_true(seen_settled(back));
    free(saved);
    seen_destroy(back);
}

static void seen_budget_day_is_the_schedulers_and_limits_come_from_its_plan(void **state)
{
    seen *s = test_seen(0);
    pb_budget u;
    seen_plan p;
    const dash_input *in;
    cJSON *o;
    (void)state;
    orchestrator__v1__budget_usage__init(&u);
    u.day = "2026-11-27"; /* the scheduler's zone may be a day ahead of ours */
    u.used = 500;
    u.limit = 1000;
    seen_budget(s, &u);
    u.day = "2026-11-26"; /* older: ignored */
    u.used = 900;
    seen_budget(s, &u);
    in = seen_dash(s, 0);
    assert_int_equal(in->used_total, 500);
    assert_int_equal(in->limit_total, 1000);
    assert_int_equal(in->limit[2], 0);
    o = cJSON_Parse("{\"mode\":\"turns\",\"turnMinutes\":15,\"conservation\":true,\"criticalPath\":[\"A\",\"B\"],"
                    "\"criticalPathEnd\":\"2026-11-27T12:00:00Z\",\"budget\":{\"day\":\"2026-11-27\",\"used\":400,"
                    "\"limit\":2000,\"frontend\":{\"used\":0,\"limit\":300}}}");
    assert_int_equal(seen_plan_from_json(o, &p), 0);
    cJSON_Delete(o);
    assert_int_equal(seen_plan_from_json(NULL, &p), -1);
    o = cJSON_Parse("{\"mode\":\"turns\",\"turnMinutes\":15,\"conservation\":true,\"criticalPath\":[\"A\",\"B\"],"
                    "\"criticalPathEnd\":\"2026-11-27T12:00:00Z\",\"budget\":{\"day\":\"2026-11-27\",\"used\":400,"
                    "\"limit\":2000,\"frontend\":{\"used\":0,\"limit\":300}}}");
    seen_plan_from_json(o, &p);
    cJSON_Delete(o);
    seen_plan_set(s, &p);
    in = seen_dash(s, 7 * 60000); /* 00:07 UTC */
    assert_int_equal(in->limit_total, 2000); /* the restarted scheduler's new total */
    assert_int_equal(in->used_total, 500);   /* use only grows */
    assert_int_equal(in->limit[2], 300);     /* a type with no use yet */
    assert_string_equal(in->mode, "Turn-Based (15-min cycles)");
    assert_true(in->conservation);
    assert_int_equal(in->npath, 2);
    assert_string_equal(in->critical_path[1], "B");
    assert_string_equal(in->est_completion, "2026-11-27T12:00:00Z"); /* no forecast: the critical path's end */
    assert_string_equal(in->next_review, "00:15 UTC");
    o = cJSON_Parse("{\"mode\":\"continuous\",\"criticalPath\":[\"A\"],\"criticalPathEnd\":\"2026-11-27T12:00:00Z\","
                    "\"roadmapEta\":\"2026-11-28T09:30:00Z\"}");
    seen_plan_from_json(o, &p);
    cJSON_Delete(o);
    seen_plan_set(s, &p);
    in = seen_dash(s, 7 * 60000);
    assert_string_equal(in->est_completion, "2026-11-28T09:30:00Z"); /* the scheduler's forecast */
    memset(&p, 0, sizeof(p));
    seen_plan_set(s, &p);
    assert_string_equal(seen_dash(s, 0)->mode, "unknown (no scheduler)");
    seen_destroy(s);
}

static void seen_dashboard_shows_only_work_in_flight_as_an_agents(void **state)
{
    seen *s = test_seen(0);
    const dash_input *in;
    char gone[64];
    int found = 0;
    (void)state;
    seen_state(s, test_state("W", STS(DISPATCHED), WK(AGENT), "", 3, 1), 0);
    seen_state(s, test_state("E", STS(DISPATCHED), 0, "", 3, 2), 0);
    seen_state(s, test_state("L", STS(READY), 0, "", 4, 3), 0);
    seen_state(s, test_state("H", STS(READY), 0, "", 2, 9), 0);
    assert_int_equal(seen_report(s, 1, "W", "roy-1", 10, gone, sizeof(gone)), SEEN_QUIET);
    seen_report(s, 1, "E", "roy-2", 10, gone, sizeof(gone));
    seen_error(s, 1, 1, "OTHER", "roy-3", 10); /* an error's id is not the work it is on */
    in = seen_dash(s, 20);
    assert_string_equal(in->next_task, "H (backend)");
    for (int i = 0; i < in->nagents; i++) {
        if (!strcmp(in->agents[i].instance, "roy-1"))
            assert_string_equal(in->agents[i].requirement, "W"), found++;
        if (!strcmp(in->agents[i].instance, "roy-3"))
            assert_string_equal(in->agents[i].requirement, ""), found++;
    }
    assert_int_equal(found, 2);
    /* W completes: roy-1 is no longer working on it */
    seen_state(s, test_state("W", STS(COMPLETE), 0, "", 3, 1), 30);
    in = seen_dash(s, 40);
    for (int i = 0; i < in->nagents; i++)
        if (!strcmp(in->agents[i].instance, "roy-1"))
            assert_string_equal(in->agents[i].requirement, "");
    /* roy-2 stopped by the monitor: not listed, once */
    assert_int_equal(seen_stop_once(s, "E", 1, "roy-2"), 1);
    assert_int_equal(seen_stop_once(s, "E", 1, "roy-2"), 0);
    in = seen_dash(s, 50);
    for (int i = 0; i < in->nagents; i++)
        assert_string_not_equal(in->agents[i].instance, "roy-2");
    seen_destroy(s);
}


static void seen_restores_the_last_activity_on_work_in_flight(void **state)
{
    seen *s = test_seen(0), *back;
    rules_cfg c;
    rules_condition out[16];
    rules_kill k[4];
    pb_state *st = test_state("L", STS(DISPATCHED), 0, "", 3, 1);
    char *saved;
    int n, nk;
    (void)state;
    test_rules_cfg(&c);
    st->started = 1;
    st->instance = strdup("roy-1");
    seen_state(s, st, 0);
    seen_report(s, 1, "L", "roy-1", 300 * MIN, NULL, 0);
    assert_int_equal(seen_take_dirty(s), 1);
    assert_int_equal(seen_take_dirty(s), 0);
    saved = seen_save(s);
    seen_destroy(s);
    back = test_seen(301 * MIN);
    assert_int_equal(seen_load(back, saved), 0);
    st = test_state("L", STS(DISPATCHED), 0, "", 3, 1);
    st->started = 1;
    seen_state(back, st, 301 * MIN);
    n = rules_eval(&c, seen_rules(back, 302 * MIN), 302 * MIN, out, 16, k, 4, &nk);
    assert_false(has_rule(out, n, "stale", NULL)); /* active 2 min ago, dispatched 5 h ago */
    assert_int_equal(nk, 0);
    free(saved);
    seen_destroy(back);
}

static void alerts_severity_upgrade_is_announced_and_partial_views_resolve_nothing(void **state)
{
    am_cfg cfg = {0, 4 * 3600 * 1000LL};
    am *m = am_create(&cfg);
    am_notification n[4];
    rules_condition c = cond("budget", "total", "budget", 2);
    (void)state;
    am_observe(m, &c, 1, 500);
    assert_int_equal(am_due(m, 500, n, 4), 1);
    assert_int_equal(n[0].severity, 2);
    am_observe(m, &c, 1, 1000);
    assert_int_equal(am_due(m, 1000, n, 4), 0);
    c.severity = 3; /* past 100% */
    am_observe(m, &c, 1, 2000);
    assert_int_equal(am_due(m, 2000, n, 4), 1);
    assert_int_equal(n[0].severity, 3);
    assert_false(n[0].resolved);
    assert_int_equal(am_due(m, 3000, n, 4), 0);
    /* just after a restart nothing is known: not resolved */
    am_observe_partial(m, NULL, 0, 4000);
    assert_int_equal(am_due(m, 4000, n, 4), 0);
    assert_int_equal(am_firing(m), 1);
    am_observe(m, NULL, 0, 5000);
    assert_int_equal(am_due(m, 5000, n, 4), 1);
    assert_true(n[0].resolved);
    am_destroy(m);
}

static void matrix_txn_follows_the_message_id(void **state)
{
    char a[64], b[64], c[64], d[64];
    (void)state;
    matrix_txn("scheduler:escalation:R-1:a1", "scheduler:escalation:R-1", a, sizeof(a));
    matrix_txn("scheduler:escalation:R-1:a2", "scheduler:escalation:R-1", b, sizeof(b));
    matrix_txn(NULL, "scheduler:escalation:R-1", c, sizeof(c));
    matrix_txn("", "scheduler:escalation:R-1", d, sizeof(d));
    assert_string_not_equal(a, b);
    assert_string_equal(c, d);
    matrix_txn("scheduler:escalation:R-1:a1", "other", d, sizeof(d));
    assert_string_equal(a, d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rules_find_stale_work_and_ask_to_kill),
        cmocka_unit_test(rules_find_verifications_that_last_too_long),
        cmocka_unit_test(agent_table_ages_out_and_makes_room),
        cmocka_unit_test(agent_table_survives_a_flood_of_names),
        cmocka_unit_test(rules_queue_errors_budget_services),
        cmocka_unit_test(alerts_group_repeat_and_resolve_once),
        cmocka_unit_test(alerts_resolved_before_announced_are_quiet),
        cmocka_unit_test(silences_suppress_and_expire),
        cmocka_unit_test(matrix_answers),
        cmocka_unit_test(matrix_answers_that_are_not_deliveries),
        cmocka_unit_test(matrix_retry_delays_have_a_floor_and_a_cap),
        cmocka_unit_test(matrix_redirects_stay_on_the_homeservers_origin),
        cmocka_unit_test(matrix_log_lines_are_throttled),
        cmocka_unit_test(matrix_messages_and_threads),
        cmocka_unit_test(sender_against_the_fake_homeserver),
        cmocka_unit_test(dashboard_numbers_match_a_scripted_history),
        cmocka_unit_test(seen_history_comes_from_the_structured_reason_and_survives_a_restart),
        cmocka_unit_test(seen_restores_what_the_rules_need_and_settles_only_when_all_is_in),
        cmocka_unit_test(seen_budget_day_is_the_schedulers_and_limits_come_from_its_plan),
        cmocka_unit_test(seen_dashboard_shows_only_work_in_flight_as_an_agents),
        cmocka_unit_test(seen_restores_the_last_activity_on_work_in_flight),
        cmocka_unit_test(alerts_severity_upgrade_is_announced_and_partial_views_resolve_nothing),
        cmocka_unit_test(matrix_txn_follows_the_message_id),
    };
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
