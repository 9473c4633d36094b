#include "web_nats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "names.h"
#include "strmap.h"
#include "text.h"
#include "web.h"
#include "webview.h"

#define ST(x) ORCHESTRATOR__V1__STATUS__STATUS_##x
#define MAX_ALERTS 64
#define SCHED_LIST names_request_subject(NAMES_REQ_SCHEDULER_LIST)
#define FORECAST_PAGE_ROWS 10000    /* the scheduler's largest page */
#define FORECAST_PAGES_MAX 100      /* a million rows: past this the rest keep the monitor's estimate */

/* The latest verdict of a requirement, as the page shows it. */
typedef struct {
    char id[72];
    char *json;                 /* malloc'd; NULL when the slot is free */
} kept_verdict;

static struct {
    web_nats_cfg cfg;
    web_nats_monitor m;
    web *w;
    /* under *m.mu */
    metrics_hist dispatch[METRICS_TYPES], verify[METRICS_TYPES];
    long long lag[METRICS_TYPES];
    kept_verdict verdicts[WEB_NATS_VERDICTS];
    int next_verdict;
    strmap *verdict_of;         /* id -> slot */
    metrics_ready *ready;       /* for the dispatch latency */
} W;

/* The scheduler's forecast, shared by the requests of WEB_NATS_FORECAST_TTL_MS
 * (counted, so that a refresh can replace it while a request still reads
 * the old one). One request at a time asks the scheduler; the others use
 * what is held meanwhile. */
typedef struct {
    webview_sched *f;
    int refs;
} held_forecast;

static struct {
    pthread_mutex_t mu;
    held_forecast *cur;         /* NULL: none (the scheduler did not answer) */
    int64_t asked_ms;           /* when cur was asked for; 0: never */
    int asking;
} F = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

/* --- hooks (the monitor's lock held) ------------------------------------------------------ */

void web_nats_state(const pb_state *prev, const pb_state *st)
{
    int t = st->requirement ? (int)st->requirement->type : 0;
    double latency;
    if (!W.w || t < 0 || t >= METRICS_TYPES)
        return;
    if ((latency = metrics_ready_state(W.ready, prev, st)) >= 0)
        metrics_hist_observe(&W.dispatch[t], latency);
}

/* A copy of s cut to WEB_NATS_OUTPUT_MAX bytes at a UTF-8 boundary. */
static char *cut_text(const char *s)
{
    size_t n = strnlen(s, WEB_NATS_OUTPUT_MAX);
    if (s[n])
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    return xstrndup(s, n);
}

static cJSON *verdict_json(const pb_verdict *v)
{
    static const char *kinds[] = {"UNSPECIFIED", "PASS", "FAIL", "INFRASTRUCTURE_ERROR"};
    cJSON *o = cJSON_CreateObject(), *steps = NULL;
    char *cut;
    cJSON_AddStringToObject(o, "outcome", v->kind < 4 ? kinds[v->kind] : "UNKNOWN");
    cJSON_AddNumberToObject(o, "attempt", v->attempt);
    if (v->verified_at_ms)
        cJSON_AddNumberToObject(o, "verifiedAtMs", (double)v->verified_at_ms);
    if (*v->instance)
        cJSON_AddStringToObject(o, "instance", v->instance);
    if (*v->detail)
        cJSON_AddStringToObject(o, "detail", v->detail);
    cut = cut_text(v->failing_output);
    cJSON_AddStringToObject(o, "failingOutput", cut);
    free(cut);
    steps = cJSON_AddArrayToObject(o, "steps");
    for (size_t i = 0; i < v->n_steps; i++) {
        const Orchestrator__V1__StepResult *s = v->steps[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", s->name);
        cJSON_AddNumberToObject(x, "exitCode", s->exit_code);
        cJSON_AddNumberToObject(x, "signal", s->signal);
        cJSON_AddNumberToObject(x, "durationMs", (double)s->duration_ms);
        cJSON_AddBoolToObject(x, "timedOut", s->timed_out);
        cJSON_AddBoolToObject(x, "passed", s->passed);
        cut = cut_text(s->output);
        cJSON_AddStringToObject(x, "output", cut);
        free(cut);
        cJSON_AddItemToArray(steps, x);
    }
    return o;
}

void web_nats_verdict(const pb_verdict *v, int type)
{
    int slot;
    double seconds = 0;
    char why[128];
    cJSON *o;
    if (!W.w || !text_id_valid(v->requirement_id, 64, why, sizeof(why)))
        return;
    if (type < 0 || type >= METRICS_TYPES)
        type = 0;
    for (size_t i = 0; i < v->n_steps; i++)
        seconds += (double)(v->steps[i]->duration_ms > 0 ? v->steps[i]->duration_ms : 0) / 1000.0;
    if (v->n_steps)
        metrics_hist_observe(&W.verify[type], seconds);
    /* the slot it had, or the oldest */
    if (!strmap_get(W.verdict_of, v->requirement_id, &slot)) {
        slot = W.next_verdict;
        W.next_verdict = (W.next_verdict + 1) % WEB_NATS_VERDICTS;
        if (W.verdicts[slot].json)
            strmap_del(W.verdict_of, W.verdicts[slot].id);
        snprintf(W.verdicts[slot].id, sizeof(W.verdicts[slot].id), "%s", v->requirement_id);
        strmap_put(W.verdict_of, v->requirement_id, slot);
    }
    o = verdict_json(v);
    free(W.verdicts[slot].json);
    W.verdicts[slot].json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
}

void web_nats_lag(int type, long long undelivered)
{
    if (type > 0 && type < METRICS_TYPES)
        W.lag[type] = undelivered;
}

void web_nats_reset(void)
{
    if (!W.w)
        return;
    memset(W.dispatch, 0, sizeof(W.dispatch));
    memset(W.verify, 0, sizeof(W.verify));
    for (int t = 0; t < METRICS_TYPES; t++)
        W.lag[t] = -1;
    for (int i = 0; i < WEB_NATS_VERDICTS; i++) {
        free(W.verdicts[i].json);
        W.verdicts[i].json = NULL;
    }
    strmap_destroy(W.verdict_of);
    W.verdict_of = strmap_create();
    W.next_verdict = 0;
    metrics_ready_destroy(W.ready);
    W.ready = metrics_ready_create();
}

/* --- the source (on libmicrohttpd's threads) ---------------------------------------------- */

static int leading_locked(void) { return *W.m.leading && *W.m.seen; }

static int src_ready(void *ctx)
{
    int ok;
    (void)ctx;
    if (natsConnection_Status(W.m.rr) != NATS_CONN_STATUS_CONNECTED)
        return 0;
    pthread_mutex_lock(W.m.mu);
    ok = !leading_locked() || seen_settled(*W.m.seen);
    pthread_mutex_unlock(W.m.mu);
    return ok;
}

static void src_metrics(void *ctx, metrics_snapshot *s)
{
    static _Thread_local metrics_service services[SEEN_MAX_SERVICES]; /* borrowed by s until formatted */
    int64_t now = text_now_ms();
    (void)ctx;
    for (int t = 0; t < METRICS_TYPES; t++)
        s->queue_depth[t] = s->consumer_lag[t] = -1;
    pthread_mutex_lock(W.m.mu);
    s->leader = leading_locked();
    if (s->leader) {
        const dash_input *d = seen_dash(*W.m.seen, now);
        const rules_snapshot *r;
        for (int i = 0; i < d->nitems; i++) {
            const pb_state *st = d->items[i].st;
            int t = st->requirement ? (int)st->requirement->type : 0;
            if (t < 0 || t >= METRICS_TYPES || (int)st->status < 0 || (int)st->status >= METRICS_STATUSES)
                continue;
            s->requirements[t][st->status]++;
            s->attempts[t] += st->attempt;
            s->escalations[t] += st->status == ST(ESCALATED);
        }
        for (int i = 0; i < d->nagents; i++)
            if (d->agents[i].type > 0 && d->agents[i].type < METRICS_TYPES && dash_agent_active(d, &d->agents[i]))
                s->agents_active[d->agents[i].type]++;
        for (int t = 1; t < METRICS_TYPES; t++) {
            s->queue_depth[t] = d->depth[t];
            s->consumer_lag[t] = W.lag[t];
            s->tokens_used[t] = d->used[t];
            s->tokens_limit[t] = d->limit[t];
            /* what the ledger says agents' runs cost; else the tokens at the
             * configured price (0: none) */
            s->cost_dollars[t] = d->usd.spent[t] ? (double)d->usd.spent[t] / 1e6
                                                 : (double)d->used[t] * (double)W.cfg.cents_per_mtok / 1e8;
            s->results[t] = d->results[t];
            s->agent_errors[t] = d->errors[t];
        }
        memcpy(s->dispatch_latency, W.dispatch, sizeof(W.dispatch));
        memcpy(s->verification, W.verify, sizeof(W.verify));
        s->alerts_firing = *W.m.am ? am_firing(*W.m.am) : 0;
        /* up: answered within the grace the rules use */
        r = seen_rules(*W.m.seen, now);
        for (int i = 0; i < r->nservices && i < SEEN_MAX_SERVICES; i++) {
            services[i].name = r->services[i].name;
            services[i].up = r->services[i].last_seen_ms > 0 && now - r->services[i].last_seen_ms <= W.m.service_grace_ms;
        }
        s->services = services;
        s->nservices = r->nservices < SEEN_MAX_SERVICES ? r->nservices : SEEN_MAX_SERVICES;
    }
    pthread_mutex_unlock(W.m.mu);
}

/* The firing alerts, from the alert manager's saved state (its one
 * structured view of them). Strings point into *keep. */
static int firing(webview_alert *out, int max, cJSON **keep)
{
    static const char *sev[] = {"info", "info", "warning", "critical"};
    char *json = *W.m.am ? am_save(*W.m.am) : NULL;
    const cJSON *a;
    int n = 0;
    *keep = json ? cJSON_Parse(json) : NULL;
    free(json);
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(*keep, "alerts"))
    {
        const cJSON *c = cJSON_GetObjectItem(a, "cond");
        int s = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(c, "severity"));
        if (!cJSON_IsTrue(cJSON_GetObjectItem(a, "present")) || n >= max)
            continue;
        out[n].name = cJSON_GetStringValue(cJSON_GetObjectItem(c, "rule"));
        out[n].severity = sev[s >= 0 && s <= 3 ? s : 0];
        out[n].text = cJSON_GetStringValue(cJSON_GetObjectItem(c, "text"));
        out[n].since_ms = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(a, "started"));
        n++;
    }
    return n;
}

/* orch.status.<id> from the scheduler's leader, or NULL. */
static cJSON *scheduler_status(const char *id)
{
    natsMsg *reply = NULL;
    char subject[128];
    cJSON *o = NULL;
    names_subject(subject, sizeof(subject), NAMES_SUBJ_STATUS, id, NULL);
    if (natsConnection_RequestString(&reply, W.m.rr, subject, "", W.cfg.status_timeout_ms) == NATS_OK) {
        const char *code = NULL;
        if (natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code) != NATS_OK || !code)
            o = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
        natsMsg_Destroy(reply);
    }
    return o;
}

/* Every page of orch.scheduler.list read into a forecast, or NULL when the
 * scheduler did not answer (or answered something else: logged). */
static webview_sched *ask_forecast(int64_t now)
{
    webview_sched *f = webview_sched_create(now);
    long long offset = 0;
    for (int page = 0; page < FORECAST_PAGES_MAX; page++) {
        natsMsg *reply = NULL;
        const char *code = NULL;
        char body[80], err[160];
        long long next;
        natsStatus st;
        snprintf(body, sizeof(body), "{\"offset\":%lld,\"limit\":%d}", offset, FORECAST_PAGE_ROWS);
        if ((st = natsConnection_RequestString(&reply, W.m.rr, SCHED_LIST, body, W.cfg.status_timeout_ms)) != NATS_OK) {
            log_debug("web: no forecast from %s: %s", SCHED_LIST, natsStatus_GetText(st));
            goto fail;
        }
        if (natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code) == NATS_OK && code) {
            log_warn("web: %s refused page %lld: %s", SCHED_LIST, offset, code);
            natsMsg_Destroy(reply);
            goto fail;
        }
        next = webview_sched_page(f, natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), offset, err,
                                  sizeof(err));
        natsMsg_Destroy(reply);
        if (next < 0) {
            log_warn("web: %s page %lld: %s", SCHED_LIST, offset, err);
            goto fail;
        }
        if (next == 0)
            return f;
        offset = next;
    }
    log_warn("web: %s has more than %d pages; the rest keep the monitor's estimate", SCHED_LIST, FORECAST_PAGES_MAX);
    return f;
fail:
    webview_sched_destroy(f);
    return NULL;
}

static void forecast_release(held_forecast *h)
{
    int last;
    if (!h)
        return;
    pthread_mutex_lock(&F.mu);
    last = --h->refs == 0;
    pthread_mutex_unlock(&F.mu);
    if (last) {
        webview_sched_destroy(h->f);
        free(h);
    }
}

/* The forecast to show (a reference to release), NULL when the scheduler
 * did not answer; asks again once what is held is WEB_NATS_FORECAST_TTL_MS
 * old. Called without the monitor's lock: asking may take a while. */
static held_forecast *forecast_get(void)
{
    int64_t now = text_now_ms();
    held_forecast *h, *old = NULL;
    pthread_mutex_lock(&F.mu);
    if (!F.asking && (!F.asked_ms || now - F.asked_ms >= WEB_NATS_FORECAST_TTL_MS || now < F.asked_ms)) {
        webview_sched *f;
        F.asking = 1;
        pthread_mutex_unlock(&F.mu);
        f = ask_forecast(now);
        h = f ? xcalloc(1, sizeof(*h)) : NULL;
        if (h) {
            h->f = f;
            h->refs = 1; /* the cache's */
        }
        pthread_mutex_lock(&F.mu);
        old = F.cur;
        F.cur = h;
        F.asked_ms = now;
        F.asking = 0;
    }
    if ((h = F.cur) != NULL)
        h->refs++;
    pthread_mutex_unlock(&F.mu);
    forecast_release(old);
    return h;
}

static void forecast_forget(void)
{
    held_forecast *old;
    pthread_mutex_lock(&F.mu);
    old = F.cur;
    F.cur = NULL;
    F.asked_ms = 0;
    pthread_mutex_unlock(&F.mu);
    forecast_release(old);
}

static char *standby(int *code)
{
    *code = 503;
    return xstrdup("{\"reason\":\"standby\",\"message\":\"this monitor is on standby; the leader serves the figures\"}");
}

static char *src_view(void *ctx, web_view v, const web_query *q, int *code)
{
    dash_input d;
    webview_input in;
    webview_alert alerts[MAX_ALERTS];
    cJSON *keep = NULL, *detail = NULL, *sched = NULL;
    held_forecast *fc = NULL;
    char *out = NULL;
    (void)ctx;

    /* the scheduler is asked before the lock is taken: it may take a while
     * (a standby is not worth asking for) */
    pthread_mutex_lock(W.m.mu);
    if (!leading_locked()) {
        pthread_mutex_unlock(W.m.mu);
        return standby(code);
    }
    pthread_mutex_unlock(W.m.mu);
    if (v == WEB_REQUIREMENT)
        sched = scheduler_status(q->id);
    else
        fc = forecast_get();
    pthread_mutex_lock(W.m.mu);
    if (!leading_locked()) {
        pthread_mutex_unlock(W.m.mu);
        cJSON_Delete(sched);
        forecast_release(fc);
        return standby(code);
    }
    d = *seen_dash(*W.m.seen, text_now_ms());
    d.firing_alerts = *W.m.am ? am_firing(*W.m.am) : 0;
    memset(&in, 0, sizeof(in));
    in.dash = &d;
    in.sched = fc ? fc->f : NULL;
    in.conserve_percent = 0; /* the scheduler says whether it conserves (the plan) */
    *code = 200;
    switch (v) {
    case WEB_OVERVIEW:
        in.alerts = alerts;
        in.nalerts = firing(alerts, MAX_ALERTS, &keep);
        out = webview_overview(&in);
        break;
    case WEB_LIST: out = webview_list(&in, q->search, q->status, q->offset, q->limit); break;
    case WEB_GRAPH: out = webview_graph(&in, q->search, q->limit); break;
    case WEB_REQUIREMENT: {
        int slot;
        detail = webview_requirement(&in, q->id);
        if (!detail && sched)
            detail = cJSON_CreateObject();
        if (detail && strmap_get(W.verdict_of, q->id, &slot) && W.verdicts[slot].json)
            cJSON_AddItemToObject(detail, "verdict", cJSON_Parse(W.verdicts[slot].json));
        break;
    }
    }
    pthread_mutex_unlock(W.m.mu);
    cJSON_Delete(keep);
    forecast_release(fc);
    if (v == WEB_REQUIREMENT) {
        if (!detail) {
            *code = 404;
            cJSON_Delete(sched);
            return xstrdup("{\"reason\":\"not_found\",\"message\":\"no requirement by that id\"}");
        }
        if (sched) {
            /* the scheduler's word on what it holds: the failure output whole, its ETA
             * (none when it gives none, not the monitor's) */
            const char *keys[] = {"id", "title", "status", "type", "priority", "attempt", "reason",
                                  "lastFailureOutput", "etaMs", "instance", "tokensUsed", "costUsd"};
            cJSON_DeleteItemFromObject(detail, "etaMs");
            cJSON_DeleteItemFromObject(detail, "etaSource");
            if (cJSON_IsNumber(cJSON_GetObjectItem(sched, "etaMs")))
                cJSON_AddStringToObject(detail, "etaSource", "scheduler");
            for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
                cJSON *x = cJSON_GetObjectItem(sched, keys[k]);
                if (!x)
                    continue;
                if (cJSON_GetObjectItem(detail, keys[k]))
                    cJSON_ReplaceItemInObject(detail, keys[k], cJSON_Duplicate(x, 1));
                else
                    cJSON_AddItemToObject(detail, keys[k], cJSON_Duplicate(x, 1));
            }
            cJSON_AddItemToObject(detail, "scheduler", sched);
        } else {
            cJSON_AddNullToObject(detail, "scheduler");
        }
        out = cJSON_PrintUnformatted(detail);
        cJSON_Delete(detail);
    }
    return out;
}

/* --- lifecycle ------------------------------------------------------------------------------- */

orch_status web_nats_start(const web_nats_cfg *cfg, const web_nats_monitor *m, char err[ERR_LEN])
{
    web_source src = {NULL, src_ready, src_metrics, src_view};
    web_settings ws;
    orch_status st;
    if (!cfg->port)
        return ORCH_OK;
    W.cfg = *cfg;
    W.m = *m;
    W.verdict_of = strmap_create();
    W.ready = metrics_ready_create();
    for (int t = 0; t < METRICS_TYPES; t++)
        W.lag[t] = -1;
    ws.listen = cfg->listen;
    ws.port = (int)cfg->port;
    ws.token = cfg->token;
    if ((st = web_start(&W.w, &ws, &src, err)) != ORCH_OK) {
        strmap_destroy(W.verdict_of);
        W.verdict_of = NULL;
        metrics_ready_destroy(W.ready);
        W.ready = NULL;
        return st;
    }
    log_info("web: http://%s:%d/ (metrics at /metrics)%s", cfg->listen && *cfg->listen ? cfg->listen : "127.0.0.1",
             web_port(W.w), cfg->token && *cfg->token ? "; a bearer token is required for data" : "");
    return ORCH_OK;
}

void web_nats_stop(void)
{
    if (!W.w)
        return;
    web_stop(W.w);
    W.w = NULL;
    forecast_forget();
    for (int i = 0; i < WEB_NATS_VERDICTS; i++) {
        free(W.verdicts[i].json);
        W.verdicts[i].json = NULL;
    }
    strmap_destroy(W.verdict_of);
    W.verdict_of = NULL;
    metrics_ready_destroy(W.ready);
    W.ready = NULL;
}
