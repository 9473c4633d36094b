/* Matrix: the homeserver's answers, retry delays, redirects, messages and
 * threads, and the sender against the fake homeserver
 * (services/monitor/matrix.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "fakematrix.h"
#include "matrix.h"

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
        cmocka_unit_test(matrix_answers),
        cmocka_unit_test(matrix_answers_that_are_not_deliveries),
        cmocka_unit_test(matrix_retry_delays_have_a_floor_and_a_cap),
        cmocka_unit_test(matrix_redirects_stay_on_the_homeservers_origin),
        cmocka_unit_test(matrix_log_lines_are_throttled),
        cmocka_unit_test(matrix_messages_and_threads),
        cmocka_unit_test(sender_against_the_fake_homeserver),
        cmocka_unit_test(matrix_txn_follows_the_message_id),
    };
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
