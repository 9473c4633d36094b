#include "sched_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "names.h"
#include "text.h"

#define STATUS_SLOTS NAMES_STATUS_COUNT /* sched_count's array */
#define PATH_MAX_IDS 64 /* critical path ids a page names at most */

static void iso(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Adds s (cut to max bytes at a UTF-8 boundary when max > 0) as key;
 * returns 1 when it was cut. */
static int add_text(cJSON *o, const char *key, const char *s, size_t max)
{
    size_t n = strlen(s);
    char *cut;
    if (!max || n <= max) {
        cJSON_AddStringToObject(o, key, s);
        return 0;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    cut = xstrndup(s, max);
    cJSON_AddStringToObject(o, key, cut);
    free(cut);
    return 1;
}

/* The type of a split original: its parts' types, "backend+frontend", each
 * once, in the order of its dependencies; its own type when s knows none
 * of them. */
static const char *parts_type(const sched *s, const pb_state *st, char *buf, size_t len)
{
    size_t used = 0;
    unsigned seen = 0;
    buf[0] = '\0';
    for (size_t k = 0; s && k < st->requirement->n_dependencies; k++) {
        const pb_state *p = sched_get(s, st->requirement->dependencies[k]);
        int t = p ? (int)p->requirement->type : 0;
        if (!t || t >= NAMES_AGENT_TYPES || (seen & (1u << t)) || used >= len)
            continue;
        seen |= 1u << t;
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "+" : "",
                                 names_agent_type((Orchestrator__V1__AgentType)t));
    }
    return *buf ? buf : names_agent_type(st->requirement->type);
}

cJSON *sched_view_status(const sched *s, const pb_state *st, int64_t eta, int brief)
{
    cJSON *o = cJSON_CreateObject(), *b;
    char when[32];
    size_t max = brief ? SCHED_VIEW_TEXT_MAX : 0, nb = st->n_blocked_by;
    int cut = 0;
    cJSON_AddStringToObject(o, "id", st->id);
    cut |= add_text(o, "title", st->requirement->title, max);
    cJSON_AddStringToObject(o, "status", names_status(st->status));
    if (st->alias) {
        char types[128];
        cJSON *parts = cJSON_AddArrayToObject(o, "parts");
        cJSON_AddStringToObject(o, "type", parts_type(s, st, types, sizeof(types)));
        for (size_t i = 0; i < st->requirement->n_dependencies; i++)
            cJSON_AddItemToArray(parts, cJSON_CreateString(st->requirement->dependencies[i]));
    } else {
        cJSON_AddStringToObject(o, "type", names_agent_type(st->requirement->type));
    }
    cJSON_AddStringToObject(o, "priority", names_priority(st->requirement->priority));
    cJSON_AddNumberToObject(o, "attempt", st->attempt);
    cut |= add_text(o, "reason", st->reason, max);
    if (st->wait_kind) {
        cJSON *w = cJSON_AddArrayToObject(o, "waitIds");
        cJSON_AddStringToObject(o, "waitKind", names_wait_kind(st->wait_kind));
        for (size_t i = 0; i < st->n_wait_ids && (!brief || i < SCHED_VIEW_BLOCKERS_MAX); i++)
            cJSON_AddItemToArray(w, cJSON_CreateString(st->wait_ids[i]));
    }
    b = cJSON_AddArrayToObject(o, "blockedBy");
    if (brief && nb > SCHED_VIEW_BLOCKERS_MAX) {
        nb = SCHED_VIEW_BLOCKERS_MAX;
        cJSON_AddNumberToObject(o, "blockedByMore", (double)(st->n_blocked_by - nb));
        cut = 1;
    }
    for (size_t i = 0; i < nb; i++)
        cJSON_AddItemToArray(b, cJSON_CreateString(st->blocked_by[i]));
    if (eta) {
        iso(eta, when, sizeof(when));
        cJSON_AddStringToObject(o, "eta", when);
        cJSON_AddNumberToObject(o, "etaMs", (double)eta);
    }
    if (*st->instance)
        cJSON_AddStringToObject(o, "instance", st->instance);
    cJSON_AddNumberToObject(o, "tokensUsed", (double)st->tokens_used);
    cJSON_AddNumberToObject(o, "costUsd", (double)st->cost_micro_usd / 1e6);
    cJSON_AddNumberToObject(o, "estimatedTokens", (double)st->requirement->estimated_tokens);
    if (st->requirement->metadata)
        for (size_t i = 0; i < st->requirement->metadata->n_extra; i++)
            if (!strcmp(st->requirement->metadata->extra[i]->key, "estimate"))
                cJSON_AddStringToObject(o, "estimate", st->requirement->metadata->extra[i]->value);
    if (*st->requirement->last_failure_output)
        cut |= add_text(o, "lastFailureOutput", st->requirement->last_failure_output, max);
    if (!brief && st->n_decisions) /* who decided what, and when (sched_people.c) */
        cJSON_AddItemToObject(o, "decisions", sched_decisions_view(st));
    if (cut)
        cJSON_AddBoolToObject(o, "truncated", 1);
    return o;
}

int sched_view_list_request(const char *body, size_t len, long long default_limit, long long *offset,
                            long long *limit, char *err, size_t errlen)
{
    cJSON *j, *x;
    int rc = -1;
    *offset = 0;
    *limit = default_limit;
    if (len == 0)
        return 0;
    j = cJSON_ParseWithLength(body, len);
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "expected {\"offset\": N, \"limit\": M} or nothing");
        goto out;
    }
    if ((x = cJSON_GetObjectItem(j, "offset")) != NULL) {
        if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 1e12) {
            snprintf(err, errlen, "field 'offset': expected a number from 0");
            goto out;
        }
        *offset = (long long)x->valuedouble;
    }
    if ((x = cJSON_GetObjectItem(j, "limit")) != NULL) {
        if (!cJSON_IsNumber(x) || x->valuedouble < 1 || x->valuedouble > SCHED_VIEW_PAGE_MAX) {
            snprintf(err, errlen, "field 'limit': expected a number from 1 to %d", SCHED_VIEW_PAGE_MAX);
            goto out;
        }
        *limit = (long long)x->valuedouble;
    }
    rc = 0;
out:
    cJSON_Delete(j);
    return rc;
}

size_t sched_view_by_status(const sched *s, cJSON **by)
{
    size_t counts[STATUS_SLOTS];
    size_t total = sched_count(s, counts);
    *by = cJSON_CreateObject();
    for (int k = 1; k < STATUS_SLOTS; k++)
        cJSON_AddNumberToObject(*by, names_status((Orchestrator__V1__Status)k), (double)counts[k]);
    return total;
}

/* Rows from slot offset, at most limit of them and SCHED_VIEW_LIST_BYTES_MAX
 * of text (the first always); returns the slot after the last row taken. */
static long long add_rows(cJSON *items, sched *s, long long offset, long long limit, const sched_clock *now)
{
    long long i, rows = 0;
    size_t bytes = 0;
    int slots = sched_slots(s);
    for (i = offset; i < slots && rows < limit; i++) {
        const pb_state *st = sched_slot(s, (int)i);
        cJSON *row;
        char *text;
        if (!st)
            continue;
        row = sched_view_status(s, st, sched_eta(s, st->id, now), 1);
        text = cJSON_PrintUnformatted(row);
        if (rows > 0 && bytes + strlen(text) + 1 > SCHED_VIEW_LIST_BYTES_MAX) {
            free(text);
            cJSON_Delete(row);
            break;
        }
        bytes += strlen(text) + 1;
        free(text);
        cJSON_AddItemToArray(items, row);
        rows++;
    }
    return i;
}

static void add_budget(cJSON *o, const budget *b)
{
    cJSON *bud = cJSON_AddObjectToObject(o, "budget");
    cJSON_AddStringToObject(bud, "day", b->day);
    cJSON_AddNumberToObject(bud, "used", (double)b->used_total);
    cJSON_AddNumberToObject(bud, "limit", (double)b->cfg.total_limit);
    cJSON_AddNumberToObject(bud, "costUsd", (double)b->cost_micro_usd_total / 1e6);
    cJSON_AddNumberToObject(bud, "limitUsd", (double)b->cfg.total_limit_usd); /* 0: none */
    for (int t = 1; t < BUDGET_TYPES; t++) {
        cJSON *x = cJSON_AddObjectToObject(bud, names_agent_type((Orchestrator__V1__AgentType)t));
        cJSON_AddNumberToObject(x, "used", (double)b->used[t]);
        cJSON_AddNumberToObject(x, "limit", (double)b->cfg.limit[t]);
        cJSON_AddNumberToObject(x, "costUsd", (double)b->cost_micro_usd[t] / 1e6);
        cJSON_AddNumberToObject(x, "limitUsd", (double)b->cfg.limit_usd[t]);
    }
}

cJSON *sched_view_list(sched *s, int turn_minutes, long long offset, long long limit, const sched_clock *now)
{
    cJSON *o = cJSON_CreateObject(), *by, *path;
    const char *ids[PATH_MAX_IDS];
    char when[32];
    int64_t late = 0, end, finish = 0;
    long long next;
    size_t total;
    int n, slots = sched_slots(s);

    cJSON_AddStringToObject(o, "mode", turn_minutes > 0 ? "turns" : "continuous");
    if (turn_minutes > 0) /* the cycle, for the dashboard's "Next Review" */
        cJSON_AddNumberToObject(o, "turnMinutes", turn_minutes);
    cJSON_AddBoolToObject(o, "conservation", sched_conservation(s));
    total = sched_view_by_status(s, &by);
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddItemToObject(o, "counts", by);
    cJSON_AddNumberToObject(o, "offset", (double)offset);
    next = add_rows(cJSON_AddArrayToObject(o, "requirements"), s, offset, limit, now);
    while (next < slots && !sched_slot(s, (int)next))
        next++;
    if (next < slots)
        cJSON_AddNumberToObject(o, "next", (double)next);
    if ((end = sched_roadmap_eta(s, now, &late)) != 0) {
        iso(end, when, sizeof(when));
        cJSON_AddStringToObject(o, "roadmapEta", when);
        cJSON_AddNumberToObject(o, "roadmapEtaMs", (double)end);
        iso(late, when, sizeof(when));
        cJSON_AddStringToObject(o, "roadmapEtaLate", when);
        cJSON_AddNumberToObject(o, "roadmapEtaLateMs", (double)late);
    }
    path = cJSON_AddArrayToObject(o, "criticalPath");
    n = sched_critical_path(s, now, ids, PATH_MAX_IDS, &finish);
    for (int k = 0; k < n; k++)
        cJSON_AddItemToArray(path, cJSON_CreateString(ids[k]));
    if (finish) {
        iso(finish, when, sizeof(when));
        cJSON_AddStringToObject(o, "criticalPathEnd", when);
    }
    add_budget(o, sched_budget(s));
    return o;
}

void sched_view_request_id(const char *body, size_t blen, char *id, size_t len)
{
    cJSON *j;
    if (!body) {
        body = "";
        blen = 0;
    }
    j = cJSON_ParseWithLength(body, blen);
    if (j && cJSON_IsString(cJSON_GetObjectItem(j, "id")))
        snprintf(id, len, "%s", cJSON_GetObjectItem(j, "id")->valuestring);
    else
        snprintf(id, len, "%.*s", (int)(blen < len - 1 ? blen : len - 1), body);
    cJSON_Delete(j);
}
