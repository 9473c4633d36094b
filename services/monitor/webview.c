#include "webview.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "strmap.h"
#include "text.h"

#define ST(x) ORCHESTRATOR__V1__STATUS__STATUS_##x
#define MIN_MS (60 * 1000LL)
#define QUEUE_TOP 5           /* rows per priority in the overview */
#define BLOCKERS_TOP 10
#define RECENT_TOP 10
#define RECENT_MS (3600 * 1000LL)
#define CRIT_SHOWN 200       /* critical path nodes a graph holds at most */
#define STATUS_SLOTS NAMES_STATUS_COUNT /* Orchestrator__V1__Status values, 0 included (REVIEWING and
                                         * MERGING were counted as none) */
#define SCHED_ID_MAX 64       /* a requirement id's length at most (names.h's rule for subjects) */

struct webview_sched {
    int64_t at_ms;
    strmap *ids;        /* id -> index into eta */
    int64_t *eta;       /* 0: the scheduler has none */
    int n, cap;
    int64_t end, late;  /* the roadmap's; 0: nothing left */
    int pages;
};

webview_sched *webview_sched_create(int64_t at_ms)
{
    webview_sched *s = xcalloc(1, sizeof(*s));
    s->at_ms = at_ms;
    s->ids = strmap_create();
    return s;
}

void webview_sched_destroy(webview_sched *s)
{
    if (!s)
        return;
    strmap_destroy(s->ids);
    free(s->eta);
    free(s);
}

int webview_sched_rows(const webview_sched *s) { return s ? s->n : 0; }

static int64_t ms_of(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItem(o, key);
    return cJSON_IsNumber(x) && x->valuedouble > 0 && x->valuedouble < 9e15 ? (int64_t)x->valuedouble : 0;
}

long long webview_sched_page(webview_sched *s, const char *json, size_t len, long long after, char *err, size_t errlen)
{
    cJSON *o = cJSON_ParseWithLength(json, len), *rows = cJSON_GetObjectItem(o, "requirements"), *r, *nx;
    long long next = 0;
    if (!cJSON_IsObject(o) || !cJSON_IsArray(rows)) {
        snprintf(err, errlen, "not a page of orch.scheduler.list (no requirements)");
        cJSON_Delete(o);
        return -1;
    }
    if ((nx = cJSON_GetObjectItem(o, "next")) != NULL) {
        if (!cJSON_IsNumber(nx) || nx->valuedouble <= (double)after || nx->valuedouble > 1e12) {
            snprintf(err, errlen, "next does not lie past offset %lld", after);
            cJSON_Delete(o);
            return -1;
        }
        next = (long long)nx->valuedouble;
    }
    if (!s->pages++) {
        s->end = ms_of(o, "roadmapEtaMs");
        s->late = ms_of(o, "roadmapEtaLateMs");
        if (s->late < s->end)
            s->late = s->end;
    }
    cJSON_ArrayForEach(r, rows)
    {
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(r, "id"));
        int k;
        if (!id || !*id || strnlen(id, SCHED_ID_MAX + 1) > SCHED_ID_MAX)
            continue;
        if (!strmap_get(s->ids, id, &k)) {
            if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 256;
                s->eta = xrealloc(s->eta, sizeof(int64_t) * (size_t)s->cap);
            }
            k = s->n++;
            strmap_put(s->ids, id, k);
        }
        s->eta[k] = ms_of(r, "etaMs");
    }
    cJSON_Delete(o);
    return next;
}

/* Per item: its estimated finish and the blocker that finishes last. */
typedef struct {
    const webview_input *in;
    int n;
    strmap *ids;
    int64_t *finish;    /* 0: not open */
    int *pred;          /* -1 none */
    char *mark;         /* 0 new, 1 on the walk, 2 done */
    char *critical;
    int crit_end, crit_len;
    int64_t expect_ms[5];
} est;

static int open_status(int s) { return s != ST(COMPLETE) && s != ST(REJECTED) && s != ST(ESCALATED); }

static const pb_state *item(const est *e, int i) { return e->in->dash->items[i].st; }

static int64_t expected(const est *e, const pb_state *s)
{
    int c = s->requirement ? (int)s->requirement->complexity : 0;
    return e->expect_ms[c >= 1 && c <= 4 ? c : 2];
}

/* Iterative over an explicit stack: a chain 5,000 long must not recurse. */
static void finish_of(est *e, int root)
{
    int *stack = xmalloc(sizeof(int) * (size_t)(e->n + 1)), top = 0;
    int64_t now = e->in->dash->now_ms;
    stack[top++] = root;
    while (top) {
        int i = stack[top - 1], pushed = 0;
        const pb_state *s = item(e, i);
        if (e->mark[i] == 2) {
            top--;
            continue;
        }
        e->mark[i] = 1;
        for (size_t b = 0; b < s->n_blocked_by; b++) {
            int j;
            if (strmap_get(e->ids, s->blocked_by[b], &j) && e->mark[j] == 0 && open_status(item(e, j)->status)) {
                stack[top++] = j;
                pushed = 1;
                break;
            }
        }
        if (pushed)
            continue;
        /* every open blocker is done (or on the walk: a cycle, cut here) */
        {
            int64_t start = now, f;
            int pred = -1;
            if (s->status == ST(DISPATCHED) || s->status == ST(VERIFYING)) {
                f = (s->dispatched_at_ms ? s->dispatched_at_ms : now) + expected(e, s);
                if (f < now + MIN_MS)
                    f = now + MIN_MS;
            } else {
                for (size_t b = 0; b < s->n_blocked_by; b++) {
                    int j;
                    if (strmap_get(e->ids, s->blocked_by[b], &j) && e->mark[j] == 2 && e->finish[j] > start) {
                        start = e->finish[j];
                        pred = j;
                    }
                }
                f = start + expected(e, s);
            }
            e->finish[i] = f;
            e->pred[i] = pred;
            e->mark[i] = 2;
            top--;
        }
    }
    free(stack);
}

static void est_build(est *e, const webview_input *in)
{
    static const int64_t guess[5] = {45 * MIN_MS, 15 * MIN_MS, 45 * MIN_MS, 120 * MIN_MS, 240 * MIN_MS};
    dash_metrics m;
    int64_t best = 0;

    memset(e, 0, sizeof(*e));
    e->in = in;
    e->n = in->dash->nitems;
    e->ids = strmap_create();
    e->finish = xcalloc((size_t)e->n + 1, sizeof(int64_t));
    e->pred = xcalloc((size_t)e->n + 1, sizeof(int));
    e->mark = xcalloc((size_t)e->n + 1, 1);
    e->critical = xcalloc((size_t)e->n + 1, 1);
    e->crit_end = -1;
    dash_compute(in->dash, &m);
    for (int c = 0; c < 5; c++)
        e->expect_ms[c] = c && m.avg_minutes[c] > 0 ? (int64_t)(m.avg_minutes[c] * MIN_MS) : guess[c];
    for (int i = 0; i < e->n; i++)
        strmap_put(e->ids, item(e, i)->id, i);
    for (int i = 0; i < e->n; i++) {
        if (!open_status(item(e, i)->status))
            continue;
        finish_of(e, i);
        if (e->finish[i] > best) {
            best = e->finish[i];
            e->crit_end = i;
        }
    }
    for (int i = e->crit_end; i >= 0 && !e->critical[i]; i = e->pred[i]) {
        e->critical[i] = 1;
        e->crit_len++;
    }
}

static void est_free(est *e)
{
    strmap_destroy(e->ids);
    free(e->finish);
    free(e->pred);
    free(e->mark);
    free(e->critical);
}

static int icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n)
        return 1;
    for (; *hay; hay++) {
        size_t k = 0;
        while (k < n && hay[k] && tolower((unsigned char)hay[k]) == tolower((unsigned char)needle[k]))
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

static int matches(const pb_state *s, const char *search)
{
    return !search || !*search || icontains(s->id, search) ||
           (s->requirement && icontains(s->requirement->title, search));
}

static int prio(const pb_state *s)
{
    int p = s->requirement ? (int)s->requirement->priority : 0;
    return p >= 1 && p <= 4 ? p : 5;
}

/* Sorting needs the estimates: qsort has no context argument. */
static _Thread_local const est *sort_est;

static int by_urgency(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    const pb_state *x = item(sort_est, i), *y = item(sort_est, j);
    uint64_t ox = x->order, oy = y->order;
    if (sort_est->critical[i] != sort_est->critical[j])
        return sort_est->critical[j] - sort_est->critical[i];
    if (open_status(x->status) != open_status(y->status))
        return open_status(y->status) - open_status(x->status);
    if (prio(x) != prio(y))
        return prio(x) - prio(y);
    if (ox != oy)
        return ox < oy ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int urgency_cmp(const est *e, int i, int j)
{
    int r;
    sort_est = e;
    r = by_urgency(&i, &j);
    sort_est = NULL;
    return r;
}

/* Item i's ETA and whose it is: the scheduler's for what it listed, else
 * the monitor's. */
static const char *eta_of(const est *e, int i, int64_t *ms)
{
    const webview_sched *f = e->in->sched;
    int k;
    if (f && strmap_get(f->ids, item(e, i)->id, &k)) {
        *ms = f->eta[k];
        return "scheduler";
    }
    *ms = e->finish[i];
    return "monitor";
}

/* The roadmap's ETA: the scheduler's forecast, else the end of the
 * monitor's critical path. */
static void add_roadmap_eta(cJSON *o, const est *e)
{
    const webview_sched *f = e->in->sched;
    cJSON *x = cJSON_AddObjectToObject(o, "eta");
    cJSON_AddStringToObject(x, "source", f ? "scheduler" : "monitor");
    if (f) {
        cJSON_AddNumberToObject(x, "atMs", (double)f->at_ms);
        if (f->end) {
            cJSON_AddNumberToObject(x, "endMs", (double)f->end);
            cJSON_AddNumberToObject(x, "lateMs", (double)f->late);
        }
    } else if (e->crit_end >= 0) {
        cJSON_AddNumberToObject(x, "endMs", (double)e->finish[e->crit_end]);
    }
}

static cJSON *row(const est *e, int i)
{
    int64_t eta;
    const char *source = eta_of(e, i, &eta);
    const pb_state *s = item(e, i);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddStringToObject(o, "title", s->requirement ? s->requirement->title : "");
    cJSON_AddStringToObject(o, "status", names_status(s->status));
    cJSON_AddStringToObject(o, "type", names_agent_type(s->requirement ? s->requirement->type : 0));
    cJSON_AddStringToObject(o, "priority", names_priority(s->requirement ? s->requirement->priority : 0));
    cJSON_AddNumberToObject(o, "attempt", s->attempt);
    cJSON_AddStringToObject(o, "reason", s->reason);
    if (*s->instance)
        cJSON_AddStringToObject(o, "instance", s->instance);
    if (eta) {
        cJSON_AddNumberToObject(o, "etaMs", (double)eta);
        cJSON_AddStringToObject(o, "etaSource", source);
    }
    if (e->critical[i])
        cJSON_AddBoolToObject(o, "critical", 1);
    return o;
}

static char *print(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort(); /* cJSON fails only for want of memory: the daemons' policy */
    return s;
}

static int status_filter(const pb_state *s, const char *status)
{
    if (!status || !*status)
        return 1;
    if (!strcmp(status, "open"))
        return open_status(s->status);
    return text_ieq(status, names_status(s->status));
}

/* Indices of the items that pass, most urgent first (malloc'd). */
static int *select_sorted(const est *e, const char *search, const char *status, int *n)
{
    int *idx = xmalloc(sizeof(int) * (size_t)(e->n + 1)), k = 0;
    for (int i = 0; i < e->n; i++)
        if (status_filter(item(e, i), status) && matches(item(e, i), search))
            idx[k++] = i;
    sort_est = e;
    qsort(idx, (size_t)k, sizeof(int), by_urgency);
    sort_est = NULL;
    *n = k;
    return idx;
}

char *webview_list(const webview_input *in, const char *search, const char *status, long offset, long limit)
{
    est e;
    int n, *idx;
    cJSON *o = cJSON_CreateObject(), *rows;
    est_build(&e, in);
    idx = select_sorted(&e, search, status, &n);
    cJSON_AddNumberToObject(o, "total", n);
    cJSON_AddNumberToObject(o, "offset", (double)offset);
    cJSON_AddNumberToObject(o, "limit", (double)limit);
    add_roadmap_eta(o, &e);
    rows = cJSON_AddArrayToObject(o, "rows");
    for (long i = offset; i < n && i < offset + limit; i++)
        cJSON_AddItemToArray(rows, row(&e, idx[i]));
    free(idx);
    est_free(&e);
    return print(o);
}

char *webview_graph(const webview_input *in, const char *search, long limit)
{
    est e;
    int n, *idx, shown = 0, open = 0, *chain, len = 0;
    char *in_graph;
    cJSON *o = cJSON_CreateObject(), *nodes, *edges, *path;
    est_build(&e, in);
    in_graph = xcalloc((size_t)e.n + 1, 1);
    for (int i = 0; i < e.n; i++)
        open += open_status(item(&e, i)->status);
    /* the critical path (its first CRIT_SHOWN - 1 steps, the ones to act
     * on now, and its end), then matches (when searching) or the most urgent */
    chain = xmalloc(sizeof(int) * (size_t)(e.crit_len + 1));
    for (int i = e.crit_end; i >= 0 && len < e.crit_len; i = e.pred[i])
        chain[len++] = i;
    path = cJSON_AddArrayToObject(o, "criticalPath");
    for (int k = len - 1; k >= 0; k--) {
        int step = len - 1 - k;
        if (step < CRIT_SHOWN - 1 || k == 0) {
            in_graph[chain[k]] = 1;
            cJSON_AddItemToArray(path, cJSON_CreateString(item(&e, chain[k])->id));
        }
    }
    free(chain);
    cJSON_AddNumberToObject(o, "criticalLength", len);
    if (e.crit_end >= 0) {
        int64_t end;
        cJSON_AddStringToObject(o, "criticalEndSource", eta_of(&e, e.crit_end, &end));
        if (end)
            cJSON_AddNumberToObject(o, "criticalEndMs", (double)end);
    }
    add_roadmap_eta(o, &e);
    idx = select_sorted(&e, search, "open", &n);
    for (int k = 0; k < n && shown < limit; k++)
        if (!in_graph[idx[k]] && !e.critical[idx[k]]) { /* the path's middle stays elided */
            in_graph[idx[k]] = 1;
            shown++;
        }
    free(idx);
    cJSON_AddNumberToObject(o, "open", open);
    cJSON_AddNumberToObject(o, "matched", n);
    nodes = cJSON_AddArrayToObject(o, "nodes");
    edges = cJSON_AddArrayToObject(o, "edges");
    for (int i = 0; i < e.n; i++) {
        const pb_state *s = item(&e, i);
        if (!in_graph[i])
            continue;
        cJSON_AddItemToArray(nodes, row(&e, i));
        for (size_t b = 0; b < s->n_blocked_by; b++) {
            int j;
            if (strmap_get(e.ids, s->blocked_by[b], &j) && in_graph[j]) {
                cJSON *pair = cJSON_CreateArray();
                cJSON_AddItemToArray(pair, cJSON_CreateString(item(&e, j)->id));
                cJSON_AddItemToArray(pair, cJSON_CreateString(s->id));
                cJSON_AddItemToArray(edges, pair);
            }
        }
    }
    free(in_graph);
    est_free(&e);
    return print(o);
}

cJSON *webview_requirement(const webview_input *in, const char *id)
{
    est e;
    int i;
    cJSON *o = NULL, *b;
    est_build(&e, in);
    if (strmap_get(e.ids, id, &i)) {
        const pb_state *s = item(&e, i);
        o = row(&e, i);
        b = cJSON_AddArrayToObject(o, "blockedBy");
        for (size_t k = 0; k < s->n_blocked_by; k++)
            cJSON_AddItemToArray(b, cJSON_CreateString(s->blocked_by[k]));
        cJSON_AddNumberToObject(o, "tokensUsed", (double)s->tokens_used);
        cJSON_AddNumberToObject(o, "costUsd", (double)s->cost_micro_usd / 1e6);
        b = cJSON_AddArrayToObject(o, "attempts");
        for (unsigned k = 1; k <= s->attempt; k++) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "attempt", k);
            if (k <= s->n_cost_by_attempt)
                cJSON_AddNumberToObject(a, "costUsd", (double)s->cost_by_attempt[k - 1] / 1e6);
            cJSON_AddStringToObject(a, "outcome", k < s->attempt ? "not accepted" : names_status(s->status));
            if (k <= s->n_charged_by_attempt)
                cJSON_AddNumberToObject(a, "tokens", (double)s->charged_by_attempt[k - 1]);
            if (k == s->attempt && *s->instance)
                cJSON_AddStringToObject(a, "instance", s->instance);
            cJSON_AddItemToArray(b, a);
        }
        if (s->dispatched_at_ms)
            cJSON_AddNumberToObject(o, "dispatchedAtMs", (double)s->dispatched_at_ms);
        if (s->completed_at_ms)
            cJSON_AddNumberToObject(o, "completedAtMs", (double)s->completed_at_ms);
        if (s->requirement) {
            cJSON_AddStringToObject(o, "description", s->requirement->description);
            cJSON_AddStringToObject(o, "complexity", names_complexity(s->requirement->complexity));
            if (*s->requirement->last_failure_output)
                cJSON_AddStringToObject(o, "lastFailureOutput", s->requirement->last_failure_output);
        }
        if (s->review)
            cJSON_AddStringToObject(o, "review", s->review == ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED
                                                     ? "APPROVED" : "CHANGES_REQUESTED");
    }
    est_free(&e);
    return o;
}

char *webview_overview(const webview_input *in)
{
    const dash_input *d = in->dash;
    est e;
    cJSON *o = cJSON_CreateObject(), *x, *arr;
    int counts[STATUS_SLOTS] = {0}, nblocked = 0, nrecent = 0, conserving = 0;
    int *idx, n;
    char why[200] = "";

    est_build(&e, in);
    cJSON_AddStringToObject(o, "mode", d->mode ? d->mode : "");
    dash_hosts_json(o, d);
    x = cJSON_AddArrayToObject(o, "paused"); /* the scheduler's pauses, as shown */
    for (int i = 0; i < d->npaused; i++)
        cJSON_AddItemToArray(x, cJSON_CreateString(d->paused[i]));
    cJSON_AddNumberToObject(o, "nowMs", (double)d->now_ms);

    /* budgets: what the scheduler says, else its rule on the same figures */
    if (d->conservation) {
        conserving = 1;
        snprintf(why, sizeof(why), "the scheduler holds LOW work back and spawns no agents");
    } else if (d->limit_total && in->conserve_percent &&
               d->used_total * 100 >= d->limit_total * (uint64_t)in->conserve_percent) {
        conserving = 1;
        snprintf(why, sizeof(why), "%d%% or more of the daily tokens used", in->conserve_percent);
    }
    x = cJSON_AddObjectToObject(o, "budget");
    cJSON_AddNumberToObject(x, "used", (double)d->used_total);
    cJSON_AddNumberToObject(x, "limit", (double)d->limit_total);
    dash_usd_json(x, &d->usd, 0);
    arr = cJSON_AddArrayToObject(x, "types");
    for (int t = 1; t < DASH_TYPES; t++) {
        cJSON *y = cJSON_CreateObject(), *act = NULL, *work = NULL;
        int next = -1, queued = 0;
        if (d->limit[t] && d->used[t] > d->limit[t] && !conserving) {
            conserving = 1;
            snprintf(why, sizeof(why), "%s is over its budget", names_agent_type((Orchestrator__V1__AgentType)t));
        }
        cJSON_AddStringToObject(y, "type", names_agent_type((Orchestrator__V1__AgentType)t));
        cJSON_AddStringToObject(y, "persona", names_agent_persona((Orchestrator__V1__AgentType)t));
        cJSON_AddNumberToObject(y, "used", (double)d->used[t]);
        cJSON_AddNumberToObject(y, "limit", (double)d->limit[t]);
        dash_usd_json(y, &d->usd, t);
        cJSON_AddNumberToObject(y, "queueDepth", d->depth[t]);
        act = cJSON_AddArrayToObject(y, "active");
        work = cJSON_AddArrayToObject(y, "working");
        for (int i = 0; i < d->nagents; i++) {
            const dash_agent *a = &d->agents[i];
            if (a->type != t || !dash_agent_active(d, a))
                continue;
            cJSON_AddItemToArray(act, cJSON_CreateString(a->instance));
            if (a->requirement && *a->requirement) {
                cJSON *w = cJSON_CreateObject();
                cJSON_AddStringToObject(w, "instance", a->instance);
                cJSON_AddStringToObject(w, "requirement", a->requirement);
                cJSON_AddItemToArray(work, w);
            }
        }
        for (int i = 0; i < e.n; i++) {
            const pb_state *s = item(&e, i);
            if (!s->requirement || (int)s->requirement->type != t || !open_status(s->status))
                continue;
            queued++;
            if (s->status == ST(READY) && (next < 0 || urgency_cmp(&e, i, next) < 0))
                next = i;
        }
        cJSON_AddNumberToObject(y, "open", queued);
        if (next >= 0)
            cJSON_AddStringToObject(y, "next", item(&e, next)->id);
        cJSON_AddItemToArray(arr, y);
    }
    cJSON_AddBoolToObject(x, "conserving", conserving);
    cJSON_AddStringToObject(x, "why", why);

    /* counts by status */
    for (int i = 0; i < e.n; i++) {
        int s = (int)item(&e, i)->status;
        counts[s >= 0 && s < STATUS_SLOTS ? s : 0]++;
    }
    x = cJSON_AddObjectToObject(o, "counts");
    for (int s = 1; s < STATUS_SLOTS; s++)
        cJSON_AddNumberToObject(x, names_status((Orchestrator__V1__Status)s), counts[s]);
    cJSON_AddNumberToObject(x, "total", e.n);

    /* queues by priority: open work only */
    idx = select_sorted(&e, "", "open", &n);
    x = cJSON_AddArrayToObject(o, "queues");
    for (int p = 1; p <= 5; p++) {
        cJSON *q = cJSON_CreateObject(), *by = cJSON_AddObjectToObject(q, "byStatus"), *top;
        int total = 0, shown = 0, sc[STATUS_SLOTS] = {0};
        cJSON_AddStringToObject(q, "priority", p <= 4 ? names_priority((Orchestrator__V1__Priority)p) : "UNSPECIFIED");
        top = cJSON_AddArrayToObject(q, "top");
        for (int k = 0; k < n; k++) {
            const pb_state *s = item(&e, idx[k]);
            if (prio(s) != p)
                continue;
            total++;
            sc[(int)s->status < STATUS_SLOTS ? (int)s->status : 0]++;
            if (shown++ < QUEUE_TOP)
                cJSON_AddItemToArray(top, row(&e, idx[k]));
        }
        if (p == 5 && !total) {
            cJSON_Delete(q);
            continue;
        }
        for (int s = 1; s < STATUS_SLOTS; s++)
            if (sc[s])
                cJSON_AddNumberToObject(by, names_status((Orchestrator__V1__Status)s), sc[s]);
        cJSON_AddNumberToObject(q, "total", total);
        cJSON_AddItemToArray(x, q);
    }

    /* blockers: blocked work, most urgent first */
    arr = cJSON_AddArrayToObject(o, "blockers");
    for (int k = 0; k < n; k++) {
        const pb_state *s = item(&e, idx[k]);
        if (s->status != ST(BLOCKED))
            continue;
        if (nblocked++ < BLOCKERS_TOP) {
            cJSON *r = row(&e, idx[k]), *b = cJSON_AddArrayToObject(r, "blockedBy");
            for (size_t j = 0; j < s->n_blocked_by && j < 8; j++)
                cJSON_AddItemToArray(b, cJSON_CreateString(s->blocked_by[j]));
            cJSON_AddItemToArray(arr, r);
        }
    }
    cJSON_AddNumberToObject(o, "blockedTotal", nblocked);
    free(idx);

    /* completions of the last hour, newest first */
    arr = cJSON_AddArrayToObject(o, "recent");
    {
        int *done = xmalloc(sizeof(int) * (size_t)(e.n + 1)), nd = 0;
        for (int i = 0; i < e.n; i++) {
            const pb_state *s = item(&e, i);
            if (s->status == ST(COMPLETE) && d->now_ms - s->completed_at_ms <= RECENT_MS)
                done[nd++] = i;
        }
        /* a partial selection: the newest RECENT_TOP */
        for (int k = 0; k < nd && k < RECENT_TOP; k++) {
            int best = k;
            for (int j = k + 1; j < nd; j++)
                if (item(&e, done[j])->completed_at_ms > item(&e, done[best])->completed_at_ms)
                    best = j;
            int tmp = done[k];
            done[k] = done[best];
            done[best] = tmp;
            {
                cJSON *r = row(&e, done[k]);
                cJSON_AddNumberToObject(r, "completedAtMs", (double)item(&e, done[k])->completed_at_ms);
                cJSON_AddItemToArray(arr, r);
            }
        }
        nrecent = nd;
        free(done);
    }
    cJSON_AddNumberToObject(o, "recentTotal", nrecent);

    /* success metrics: the terminal dashboard's, as it computes them */
    {
        cJSON *dj = dash_json(d);
        cJSON_AddItemToObject(o, "metrics", cJSON_DetachItemFromObject(dj, "metrics"));
        cJSON_Delete(dj);
    }

    /* alerts */
    arr = cJSON_AddArrayToObject(o, "alerts");
    for (int i = 0; i < in->nalerts; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "name", in->alerts[i].name ? in->alerts[i].name : "");
        cJSON_AddStringToObject(a, "severity", in->alerts[i].severity ? in->alerts[i].severity : "");
        cJSON_AddStringToObject(a, "text", in->alerts[i].text ? in->alerts[i].text : "");
        if (in->alerts[i].since_ms)
            cJSON_AddNumberToObject(a, "sinceMs", (double)in->alerts[i].since_ms);
        cJSON_AddItemToArray(arr, a);
    }
    cJSON_AddNumberToObject(o, "alertsFiring", in->nalerts > d->firing_alerts ? in->nalerts : d->firing_alerts);

    x = cJSON_AddObjectToObject(o, "critical");
    cJSON_AddNumberToObject(x, "length", e.crit_len);
    arr = cJSON_AddArrayToObject(x, "scheduler"); /* the scheduler's own, when it said */
    for (int i = 0; i < d->npath && d->critical_path; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(d->critical_path[i]));
    if (d->est_completion && *d->est_completion)
        cJSON_AddStringToObject(x, "schedulerEnd", d->est_completion);
    if (e.crit_end >= 0) {
        int64_t end;
        cJSON_AddStringToObject(x, "end", item(&e, e.crit_end)->id);
        cJSON_AddStringToObject(x, "endSource", eta_of(&e, e.crit_end, &end));
        if (end)
            cJSON_AddNumberToObject(x, "endMs", (double)end);
    }
    add_roadmap_eta(o, &e);
    est_free(&e);
    return print(o);
}
