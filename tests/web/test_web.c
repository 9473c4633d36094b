/* The web endpoint alone (web.c on libmicrohttpd) with a fake source, over
 * real HTTP on a free loopback port with libcurl: routing, GET/HEAD only,
 * the bearer token, bad queries, readiness, the page, and bounded answers
 * to hostile requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "text.h"
#include "web.h"

typedef struct {
    int ready;
    int calls;
    web_view last;
    char last_id[80], last_search[200], last_status[40];
    long last_offset, last_limit;
} fake;

static int f_ready(void *ctx) { return ((fake *)ctx)->ready; }

static void f_metrics(void *ctx, metrics_snapshot *s)
{
    static const metrics_service sv[1] = {{"orch-router", 1}};
    (void)ctx;
    s->requirements[1][4] = 42;
    s->queue_depth[1] = 7;
    s->services = sv;
    s->nservices = 1;
    s->alerts_firing = 3;
}

static char *f_view(void *ctx, web_view v, const web_query *q, int *code)
{
    fake *f = ctx;
    char buf[256];
    f->calls++;
    f->last = v;
    snprintf(f->last_id, sizeof(f->last_id), "%s", q->id ? q->id : "");
    snprintf(f->last_search, sizeof(f->last_search), "%s", q->search);
    snprintf(f->last_status, sizeof(f->last_status), "%s", q->status);
    f->last_offset = q->offset;
    f->last_limit = q->limit;
    if (v == WEB_REQUIREMENT && !strcmp(q->id, "NOPE")) {
        *code = 404;
        return xstrdup("{\"reason\":\"not_found\"}");
    }
    snprintf(buf, sizeof(buf), "{\"view\":%d}", (int)v);
    *code = 200;
    return xstrdup(buf);
}

typedef struct {
    fake f;
    web *w;
    char base[64];
} ctx;

typedef struct {
    long code;
    char body[65536];
    size_t len;
    char allow[64];
    char ctype[128];
} reply;

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    reply *r = arg;
    size_t k = sz * n;
    if (r->len + k >= sizeof(r->body))
        k = sizeof(r->body) - 1 - r->len;
    memcpy(r->body + r->len, p, k);
    r->len += k;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    reply *r = arg;
    size_t k = sz * n;
    if (k > 7 && !strncasecmp(p, "Allow: ", 7))
        snprintf(r->allow, sizeof(r->allow), "%.*s", (int)(k - 9), p + 7);
    if (k > 14 && !strncasecmp(p, "Content-Type: ", 14))
        snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)(k - 16), p + 14);
    return k;
}

static reply *call(ctx *c, const char *method, const char *path, const char *auth)
{
    static reply r;
    char url[4096];
    struct curl_slist *h = NULL;
    CURL *e = curl_easy_init();
    memset(&r, 0, sizeof(r));
    snprintf(url, sizeof(url), "%s%s", c->base, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &r);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (!strcmp(method, "POST"))
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "x=1");
    else if (strcmp(method, "GET"))
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (auth) {
        char *line = xmalloc(strlen(auth) + 32);
        sprintf(line, "Authorization: %s", auth);
        h = curl_slist_append(h, line);
        free(line);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    }
    r.code = curl_easy_perform(e) == CURLE_OK ? 0 : -1;
    if (r.code == 0)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.code);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return &r;
}

static int start(void **state, const char *token)
{
    ctx *c = xcalloc(1, sizeof(*c));
    web_source src = {&c->f, f_ready, f_metrics, f_view};
    web_settings cfg = {NULL, 0, token};
    char err[ERR_LEN];
    c->f.ready = 1;
    if (web_start(&c->w, &cfg, &src, err) != ORCH_OK) {
        fprintf(stderr, "%s\n", err);
        free(c);
        return -1;
    }
    snprintf(c->base, sizeof(c->base), "http://127.0.0.1:%d", web_port(c->w));
    *state = c;
    return 0;
}

static int setup_open(void **state) { return start(state, NULL); }
static int setup_token(void **state) { return start(state, "s3cret-token"); }

static int teardown(void **state)
{
    ctx *c = *state;
    web_stop(c->w);
    free(c);
    return 0;
}

static void test_routes(void **state)
{
    ctx *c = *state;
    reply *r;
    assert_true(web_port(c->w) > 0);
    r = call(c, "GET", "/", NULL);
    assert_int_equal(r->code, 200);
    assert_int_equal(r->len, web_page_len);
    assert_non_null(strstr(r->ctype, "text/html"));
    r = call(c, "GET", "/healthz", NULL);
    assert_int_equal(r->code, 200);
    r = call(c, "GET", "/readyz", NULL);
    assert_int_equal(r->code, 200);
    c->f.ready = 0;
    r = call(c, "GET", "/readyz", NULL);
    assert_int_equal(r->code, 503);
    c->f.ready = 1;
    r = call(c, "GET", "/metrics", NULL);
    assert_int_equal(r->code, 200);
    assert_non_null(strstr(r->ctype, "version=0.0.4"));
    assert_non_null(strstr(r->body, "\norch_requirements{type=\"backend\",status=\"READY\"} 42\n"));
    assert_non_null(strstr(r->body, "\norch_service_up{service=\"orch-router\"} 1\n"));
    r = call(c, "GET", "/api/overview", NULL);
    assert_int_equal(r->code, 200);
    assert_int_equal(c->f.last, WEB_OVERVIEW);
    r = call(c, "GET", "/api/requirements?q=sto&status=open&offset=50&limit=25", NULL);
    assert_int_equal(r->code, 200);
    assert_int_equal(c->f.last, WEB_LIST);
    assert_string_equal(c->f.last_search, "sto");
    assert_string_equal(c->f.last_status, "open");
    assert_int_equal(c->f.last_offset, 50);
    assert_int_equal(c->f.last_limit, 25);
    r = call(c, "GET", "/api/graph", NULL);
    assert_int_equal(c->f.last, WEB_GRAPH);
    assert_int_equal(c->f.last_limit, 50); /* the default */
    r = call(c, "GET", "/api/requirement/REQ-042", NULL);
    assert_int_equal(r->code, 200);
    assert_int_equal(c->f.last, WEB_REQUIREMENT);
    assert_string_equal(c->f.last_id, "REQ-042");
    r = call(c, "GET", "/api/requirement/NOPE", NULL);
    assert_int_equal(r->code, 404);
    r = call(c, "GET", "/nothing", NULL);
    assert_int_equal(r->code, 404);
    r = call(c, "HEAD", "/metrics", NULL);
    assert_int_equal(r->code, 200);
    assert_int_equal(r->len, 0);
}

static void test_read_only(void **state)
{
    ctx *c = *state;
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    int calls = c->f.calls;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        reply *r = call(c, methods[i], "/api/overview", NULL);
        assert_int_equal(r->code, 405);
        assert_string_equal(r->allow, "GET, HEAD");
        assert_non_null(strstr(r->body, "\"reason\":\"method_not_allowed\""));
    }
    assert_int_equal(c->f.calls, calls); /* the source never asked */
}

static void test_bad_queries(void **state)
{
    ctx *c = *state;
    char path[1024];
    int calls = c->f.calls;
    const char *bad[] = {"/api/requirements?limit=0", "/api/requirements?limit=1001", "/api/requirements?offset=-1",
                         "/api/requirements?limit=12abc", "/api/requirement/a%20b", "/api/requirement/..%2Fetc",
                         "/api/requirement/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reply *r = call(c, "GET", bad[i], NULL);
        assert_int_equal(r->code, 400);
        assert_non_null(strstr(r->body, "\"reason\":"));
    }
    memset(path, 0, sizeof(path));
    strcpy(path, "/api/requirements?q=");
    memset(path + strlen(path), 'x', 129);
    assert_int_equal(call(c, "GET", path, NULL)->code, 400);
    assert_int_equal(c->f.calls, calls);
}

/* Headers beyond the memory limit are refused by the library, not served;
 * the endpoint goes on answering. */
static void test_huge_headers(void **state)
{
    ctx *c = *state;
    char *big = xmalloc(1024 * 1024);
    reply *r;
    memset(big, 'a', 1024 * 1024 - 1);
    big[1024 * 1024 - 1] = '\0';
    memcpy(big, "Bearer ", 7);
    r = call(c, "GET", "/api/overview", big);
    assert_true(r->code == 431 || r->code == 413 || r->code == 400 || r->code == -1);
    free(big);
    assert_int_equal(call(c, "GET", "/healthz", NULL)->code, 200);
}

/* Refused requests are logged, one line each, but a flood is not: at most
 * ten lines in ten seconds (this runs first, in a fresh window). */
static void test_refusals_logged_bounded(void **state)
{
    ctx *c = *state;
    char path[] = "/tmp/orch-web-log-XXXXXX", line[512];
    int fd = mkstemp(path), saved = dup(2), lines = 0;
    FILE *f;
    assert_true(fd >= 0);
    fflush(stderr);
    dup2(fd, 2);
    for (int i = 0; i < 50; i++)
        assert_int_equal(call(c, "DELETE", "/api/overview%01", NULL)->code, 405);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    f = fdopen(fd, "r");
    rewind(f);
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "web: 405 method_not_allowed for DELETE /api/overview? from 127.0.0.1"))
            lines++;
    fclose(f);
    unlink(path);
    assert_int_equal(lines, 10);
}

static void test_token(void **state)
{
    ctx *c = *state;
    const char *paths[] = {"/metrics", "/api/overview", "/api/requirements", "/api/graph", "/api/requirement/X"};
    int calls = c->f.calls;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        assert_int_equal(call(c, "GET", paths[i], NULL)->code, 401);
        assert_int_equal(call(c, "GET", paths[i], "Bearer wrong")->code, 401);
        assert_int_equal(call(c, "GET", paths[i], "Bearer s3cret-toke")->code, 401);    /* a prefix */
        assert_int_equal(call(c, "GET", paths[i], "Bearer s3cret-token2")->code, 401);  /* longer */
        assert_int_equal(call(c, "GET", paths[i], "Basic s3cret-token")->code, 401);
    }
    assert_int_equal(c->f.calls, calls);
    /* the page and the probes hold no data and need no token */
    assert_int_equal(call(c, "GET", "/", NULL)->code, 200);
    assert_int_equal(call(c, "GET", "/healthz", NULL)->code, 200);
    assert_int_equal(call(c, "GET", "/readyz", NULL)->code, 200);
    assert_int_equal(call(c, "GET", "/metrics", "Bearer s3cret-token")->code, 200);
    assert_int_equal(call(c, "GET", "/api/overview", "Bearer s3cret-token")->code, 200);
}

static void test_bad_settings(void **state)
{
    web *w = NULL;
    web_source src = {NULL, NULL, NULL, NULL};
    web_settings bad_addr = {"localhost.example", 0, NULL}, bad_port = {NULL, 70000, NULL};
    web_settings taken = {NULL, 0, NULL};
    ctx *c = *state;
    char err[ERR_LEN];
    assert_int_equal(web_start(&w, &bad_addr, &src, err), ORCH_ERR_INVALID);
    assert_null(w);
    assert_non_null(strstr(err, "localhost.example"));
    assert_int_equal(web_start(&w, &bad_port, &src, err), ORCH_ERR_INVALID);
    taken.port = web_port(c->w);
    assert_int_equal(web_start(&w, &taken, &src, err), ORCH_ERR_IO);
    assert_null(w);
    web_stop(NULL);
}

/* Clients that hold connections open (a request begun and never finished)
 * cannot shut others out: one address holds at most WEB_PER_ADDRESS, and
 * /healthz answers another address at once. 80 from 127.0.0.2 took all 64
 * connections there were. */
static void test_slow_clients_do_not_shut_others_out(void **state)
{
    ctx *c = *state;
    int fds[80], n = 0;
    struct sockaddr_in src, dst;
    int64_t t0;
    reply *r;
    memset(&src, 0, sizeof(src));
    memset(&dst, 0, sizeof(dst));
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = inet_addr("127.0.0.2");
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)web_port(c->w));
    dst.sin_addr.s_addr = inet_addr("127.0.0.1");
    for (int i = 0; i < 80; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
            connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
            close(fd);
            continue;
        }
        if (write(fd, "G", 1) != 1) { /* a request begun, never finished */
            close(fd);
            continue;
        }
        fds[n++] = fd;
    }
    assert_true(n > WEB_PER_ADDRESS);
    usleep(300 * 1000); /* the server has accepted (or turned away) them all */
    t0 = text_mono_ms();
    r = call(c, "GET", "/healthz", NULL);
    assert_int_equal(r->code, 200);
    assert_true(text_mono_ms() - t0 < 2000);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

int main(void)
{
    const struct CMUnitTest open_tests[] = {
        cmocka_unit_test(test_refusals_logged_bounded), cmocka_unit_test(test_routes),      cmocka_unit_test(test_read_only), cmocka_unit_test(test_bad_queries),
        cmocka_unit_test(test_huge_headers), cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_slow_clients_do_not_shut_others_out),
    };
    const struct CMUnitTest token_tests[] = {cmocka_unit_test(test_token)};
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests_name("open", open_tests, setup_open, teardown);
    rc |= cmocka_run_group_tests_name("token", token_tests, setup_token, teardown);
    curl_global_cleanup();
    return rc;
}
