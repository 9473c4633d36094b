/* The web endpoint over a made-up world, for the browser test's scale case
 * (and for looking at the page without a suite):
 *
 *   web_fake N [PORT]
 *
 * serves N requirements (a long dependency chain, fans off it, a few done)
 * through the real web.c and webview.c on 127.0.0.1, prints "port P" once
 * listening, and reads commands on stdin until it closes:
 *
 *   status ID STATUS     sets a requirement's status (READY, COMPLETE, ...)
 *
 * No NATS: this is the page against the views, not the suite. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "text.h"
#include "web.h"
#include "webview.h"

#define ST(x) ORCHESTRATOR__V1__STATUS__STATUS_##x

static struct {
    pthread_mutex_t mu;
    int n;
    pb_state *st;
    pb_requirement *rq;
    dash_item *items;
    int64_t now;
} W = {PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL, NULL, 0};

static void build(int n)
{
    static const char *words[] = {"storage", "schema", "inventory", "api", "login", "report", "search", "export"};
    W.n = n;
    W.st = xcalloc((size_t)n, sizeof(pb_state));
    W.rq = xcalloc((size_t)n, sizeof(pb_requirement));
    W.items = xcalloc((size_t)n, sizeof(dash_item));
    W.now = text_now_ms();
    for (int i = 0; i < n; i++) {
        pb_state *s = &W.st[i];
        pb_requirement *r = &W.rq[i];
        char id[32], title[96];
        orchestrator__v1__requirement_state__init(s);
        orchestrator__v1__requirement__init(r);
        snprintf(id, sizeof(id), "REQ-%04d", i + 1);
        snprintf(title, sizeof(title), "%s %s %d", words[i % 8], words[(i / 8) % 8], i + 1);
        s->id = xstrdup(id);
        s->requirement = r;
        s->order = (uint64_t)i;
        r->id = s->id;
        r->title = xstrdup(title);
        r->priority = 1 + i % 4;
        r->complexity = 1 + i % 4;
        r->type = 1 + i % 6;
        s->attempt = 1;
        if (i > 0 && i < n / 4) {               /* a chain */
            s->blocked_by = xcalloc(1, sizeof(char *));
            s->blocked_by[0] = W.st[i - 1].id;
            s->n_blocked_by = 1;
            s->status = ST(BLOCKED);
        } else if (i >= n / 4 && i % 7 == 0) {  /* fans off the chain */
            s->blocked_by = xcalloc(1, sizeof(char *));
            s->blocked_by[0] = W.st[(i * 13) % (n / 4 ? n / 4 : 1)].id;
            s->n_blocked_by = 1;
            s->status = ST(BLOCKED);
        } else {
            s->status = i % 50 == 3 ? ST(COMPLETE) : i % 11 == 5 ? ST(DISPATCHED) : ST(READY);
        }
        if (s->status == ST(DISPATCHED))
            s->dispatched_at_ms = W.now - 5 * 60000;
        if (s->status == ST(COMPLETE))
            s->completed_at_ms = W.now - 10 * 60000;
        W.items[i].st = s;
    }
}

static int f_ready(void *ctx)
{
    (void)ctx;
    return 1;
}

static void f_metrics(void *ctx, metrics_snapshot *m)
{
    (void)ctx;
    pthread_mutex_lock(&W.mu);
    for (int i = 0; i < W.n; i++)
        m->requirements[W.rq[i].type][W.st[i].status]++;
    pthread_mutex_unlock(&W.mu);
}

static char *f_view(void *ctx, web_view v, const web_query *q, int *code)
{
    dash_input d;
    webview_input in;
    char *out = NULL;
    (void)ctx;
    memset(&d, 0, sizeof(d));
    memset(&in, 0, sizeof(in));
    pthread_mutex_lock(&W.mu);
    d.mode = "Continuous";
    d.now_ms = text_now_ms();
    d.items = W.items;
    d.nitems = W.n;
    d.active_ms = 300000;
    for (int t = 1; t < DASH_TYPES; t++) {
        d.limit[t] = 300000;
        d.used[t] = (uint64_t)(t * 41000);
        d.used_total += d.used[t];
        d.limit_total += d.limit[t];
        d.depth[t] = t;
    }
    in.dash = &d;
    in.conserve_percent = 80;
    *code = 200;
    switch (v) {
    case WEB_OVERVIEW: out = webview_overview(&in); break;
    case WEB_LIST: out = webview_list(&in, q->search, q->status, q->offset, q->limit); break;
    case WEB_GRAPH: out = webview_graph(&in, q->search, q->limit); break;
    case WEB_REQUIREMENT: {
        cJSON *o = webview_requirement(&in, q->id);
        if (!o) {
            *code = 404;
            out = xstrdup("{\"reason\":\"not_found\",\"message\":\"no such requirement\"}");
        } else {
            out = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
        }
        break;
    }
    }
    pthread_mutex_unlock(&W.mu);
    return out;
}

int main(int argc, char **argv)
{
    web_source src = {NULL, f_ready, f_metrics, f_view};
    web_settings cfg = {NULL, argc > 2 ? atoi(argv[2]) : 0, NULL};
    char err[ERR_LEN], line[256];
    web *w;
    if (argc < 2 || atoi(argv[1]) < 1) {
        fprintf(stderr, "usage: web_fake N [PORT]\n");
        return 2;
    }
    build(atoi(argv[1]));
    if (web_start(&w, &cfg, &src, err) != ORCH_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("port %d\n", web_port(w));
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin)) {
        char id[80], st[40];
        if (sscanf(line, "status %79s %39s", id, st) == 2) {
            pthread_mutex_lock(&W.mu);
            for (int i = 0; i < W.n; i++)
                if (!strcmp(W.st[i].id, id)) {
                    W.st[i].status = names_status_parse(st);
                    if (W.st[i].status == ST(COMPLETE))
                        W.st[i].completed_at_ms = text_now_ms();
                }
            pthread_mutex_unlock(&W.mu);
            printf("ok\n");
            fflush(stdout);
        }
    }
    web_stop(w);
    return 0;
}
