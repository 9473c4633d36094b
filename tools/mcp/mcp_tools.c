/* orch-mcp's tools and resources: each tool's input schema, the checking
 * of its arguments (a bad one is named in a tool error), the question it
 * asks the suite through the backend, and the result a model reads: a
 * short text and the same facts as structuredContent. Pure. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edge.h"
#include "mcp.h"
#include "names.h"
#include "roadmap.h"
#include "text.h"

#define SUBMIT_MAX 100        /* requirements in one submit_requirements call */
#define LIST_PAGES_MAX 1000   /* pages of orch.scheduler.list followed */
#define RESOURCES_MAX 500     /* requirements listed by resources/list */
#define ROADMAP_URI "orch://roadmap"
#define REQ_URI "orch://requirements/"

/* ---- results ---- */

/* A CallToolResult: text as its one text content; structured (taken; may
 * be NULL) as structuredContent. */
static cJSON *result(const char *text, cJSON *structured, int is_error)
{
    cJSON *r = cJSON_CreateObject(), *c = cJSON_AddArrayToObject(r, "content"), *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "type", "text");
    cJSON_AddStringToObject(t, "text", text);
    cJSON_AddItemToArray(c, t);
    if (structured)
        cJSON_AddItemToObject(r, "structuredContent", structured);
    cJSON_AddBoolToObject(r, "isError", is_error);
    return r;
}

static cJSON *tool_error(const char *fmt, ...)
{
    char msg[MCP_ERR_LEN + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return result(msg, NULL, 1);
}

/* A growing text for a result (bounded by what the tools put in it: pages
 * of at most list_limit_max rows, failure output cut to failure_max). */
typedef struct {
    char *s;
    size_t n, cap;
} buf;

static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    int k;
    va_start(ap, fmt);
    k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if (b->n + (size_t)k + 1 > b->cap) {
        b->cap = (b->n + (size_t)k + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* ---- arguments ---- */

/* args' string field k into *out (borrowed): 0; a missing optional one
 * leaves *out NULL. -1 with err naming the field otherwise. */
static int arg_string(const cJSON *args, const char *k, int required, const char **out, char err[MCP_ERR_LEN])
{
    const cJSON *v = cJSON_GetObjectItem(args, k);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            snprintf(err, MCP_ERR_LEN, "argument '%s' is required", k);
        return required ? -1 : 0;
    }
    if (!cJSON_IsString(v)) {
        snprintf(err, MCP_ERR_LEN, "argument '%s' must be a string", k);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

/* args' integer field k, from min to max, def when missing. */
static int arg_int(const cJSON *args, const char *k, long min, long max, long def, long *out, char err[MCP_ERR_LEN])
{
    const cJSON *v = cJSON_GetObjectItem(args, k);
    *out = def;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble || v->valuedouble < (double)min ||
        v->valuedouble > (double)max) {
        snprintf(err, MCP_ERR_LEN, "argument '%s' must be a whole number from %ld to %ld", k, min, max);
        return -1;
    }
    *out = (long)v->valuedouble;
    return 0;
}

/* A requirement id as the suite's subjects take it (one subject token). */
static int arg_id(const cJSON *args, const char **id, char err[MCP_ERR_LEN])
{
    const char *s;
    if (arg_string(args, "id", 1, id, err))
        return -1;
    for (s = *id; *s; s++)
        if (*s == '.' || *s == '*' || *s == '>' || (unsigned char)*s <= ' ')
            break;
    if (!**id || **id == '-' || *s || strlen(*id) > 128) {
        snprintf(err, MCP_ERR_LEN, "argument 'id' must be a requirement id such as REQ-001 (no spaces, dots, * or >)");
        return -1;
    }
    return 0;
}

/* An argument not in the tool's schema: named, so a model's typo shows. */
static int no_other_args(const cJSON *args, const char *const *known, char err[MCP_ERR_LEN])
{
    const cJSON *a;
    cJSON_ArrayForEach(a, args) {
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = !strcmp(a->string, *k);
        if (!ok) {
            snprintf(err, MCP_ERR_LEN, "unknown argument '%.80s'", a->string);
            return -1;
        }
    }
    return 0;
}

/* ---- the suite's answers ---- */

/* Every row of orch.scheduler.list, page after page, in one answer (the
 * first page's totals with all rows). */
static int list_all(const mcp_backend *be, cJSON **out, char err[MCP_ERR_LEN])
{
    cJSON *all = NULL, *rows;
    const cJSON *nx;
    double offset = 0;
    int pages = 0;

    *out = NULL;
    if (be->ask(be->arg, MCP_ASK_LIST, "", &all, err))
        return -1;
    if (!cJSON_IsArray(rows = cJSON_GetObjectItem(all, "requirements")))
        rows = cJSON_AddArrayToObject(all, "requirements");
    while (cJSON_IsNumber(nx = cJSON_GetObjectItem(all, "next")) && nx->valuedouble > offset &&
           ++pages < LIST_PAGES_MAX) {
        cJSON *page = NULL, *r, *pr;
        char body[64];
        offset = nx->valuedouble;
        snprintf(body, sizeof(body), "{\"offset\":%.0f}", offset);
        if (be->ask(be->arg, MCP_ASK_LIST, body, &page, err)) {
            cJSON_Delete(all);
            return -1;
        }
        pr = cJSON_GetObjectItem(page, "requirements");
        while (cJSON_IsArray(pr) && (r = cJSON_DetachItemFromArray(pr, 0)) != NULL)
            cJSON_AddItemToArray(rows, r);
        cJSON_DeleteItemFromObject(all, "next");
        if (cJSON_IsNumber(nx = cJSON_GetObjectItem(page, "next")))
            cJSON_AddNumberToObject(all, "next", nx->valuedouble);
        cJSON_Delete(page);
    }
    cJSON_DeleteItemFromObject(all, "next");
    *out = all;
    return 0;
}

/* ---- the tools ---- */

typedef cJSON *(*tool_fn)(const mcp_config *c, const mcp_backend *be, const cJSON *args);

static cJSON *t_submit(const mcp_config *c, const mcp_backend *be, const cJSON *args)
{
    const cJSON *reqs = cJSON_GetObjectItem(args, "requirements"), *it;
    static const char *const known[] = {"requirements", NULL};
    char err[MCP_ERR_LEN], *body;
    cJSON *out = NULL, *r;
    edge_limits lim;
    pb_requirement **parsed = NULL;
    size_t n = 0;
    buf b = {0};
    int accepted, refused;
    (void)c;

    if (no_other_args(args, known, err))
        return tool_error("%s", err);
    if (!cJSON_IsArray(reqs) || cJSON_GetArraySize(reqs) < 1 || cJSON_GetArraySize(reqs) > SUBMIT_MAX)
        return tool_error("argument 'requirements' must be an array of 1 to %d requirement objects", SUBMIT_MAX);
    cJSON_ArrayForEach(it, reqs) if (!cJSON_IsObject(it)) return tool_error(
        "argument 'requirements': every item must be an object with at least a title");
    /* the router's own check (edge.c), so a bad field is named before
     * anything is sent; what only the suite knows (a duplicate id) is the
     * router's refusal, relayed below */
    body = cJSON_PrintUnformatted(reqs);
    edge_limits_default(&lim);
    if (edge_requirements_from_json(body, strlen(body), &lim, &parsed, &n, err) != EDGE_OK) {
        free(body);
        return tool_error("argument 'requirements' %s", err);
    }
    edge_requirements_free(parsed, n);
    if (be->submit(be->arg, body, &out, err)) {
        free(body);
        return tool_error("%s", err);
    }
    free(body);
    accepted = cJSON_GetArraySize(cJSON_GetObjectItem(out, "accepted"));
    refused = cJSON_GetArraySize(cJSON_GetObjectItem(out, "refused"));
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(out, "accepted"))
        put(&b, "accepted %s (%s, %s): %s\n", str(r, "id"), str(r, "type"), str(r, "priority"), str(r, "title"));
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(out, "refused")) {
        if (cJSON_IsNumber(cJSON_GetObjectItem(r, "item")))
            put(&b, "refused requirements[%.0f]%s%s (%s): %s\n", num(r, "item") - 1, *str(r, "id") ? " " : "",
                str(r, "id"), str(r, "reason"), str(r, "message"));
        else
            put(&b, "refused%s%s (%s): %s\n", *str(r, "id") ? " " : "", str(r, "id"), str(r, "reason"),
                str(r, "message"));
    }
    if (!accepted && !refused)
        put(&b, "nothing accepted or refused");
    r = result(b.s, out, accepted == 0);
    free(b.s);
    return r;
}

/* The roadmap's word, and the detail lines, for one requirement. */
static void status_text(buf *b, const cJSON *o)
{
    const cJSON *it;
    char word[256];
    put(b, "%s: %s\n", str(o, "id"), str(o, "title"));
    put(b, "state: %s (attempt %.0f; roadmap: %s)\n", str(o, "status"), num(o, "attempt"),
        roadmap_state_word(o, word, sizeof(word)));
    put(b, "type: %s, priority: %s\n", str(o, "type"), str(o, "priority"));
    if (*str(o, "reason"))
        put(b, "waits: %s\n", str(o, "reason"));
    if (cJSON_GetArraySize(cJSON_GetObjectItem(o, "blockedBy")) > 0) {
        put(b, "blocked by:");
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "blockedBy")) put(b, " %s", cJSON_IsString(it) ? it->valuestring : "?");
        put(b, "\n");
    }
    put(b, "eta: %s\n", *str(o, "eta") ? str(o, "eta") : "none");
    put(b, "tokens: %.0f used of %.0f estimated\n", num(o, "tokensUsed"), num(o, "estimatedTokens"));
    if (*str(o, "lastFailureOutput"))
        put(b, "last failure output%s:\n%s\n", cJSON_IsTrue(cJSON_GetObjectItem(o, "lastFailureOutputTruncated")) ? " (cut)" : "",
            str(o, "lastFailureOutput"));
}

static cJSON *t_status(const mcp_config *c, const mcp_backend *be, const cJSON *args)
{
    static const char *const known[] = {"id", NULL};
    const char *id;
    char err[MCP_ERR_LEN];
    cJSON *o = NULL, *r;
    const cJSON *f;
    buf b = {0};

    if (no_other_args(args, known, err) || arg_id(args, &id, err))
        return tool_error("%s", err);
    if (be->ask(be->arg, MCP_ASK_STATUS, id, &o, err))
        return tool_error("%s", err);
    f = cJSON_GetObjectItem(o, "lastFailureOutput");
    if (cJSON_IsString(f) && strlen(f->valuestring) > c->failure_max) {
        size_t keep = text_utf8_prefix(f->valuestring, strlen(f->valuestring), c->failure_max);
        char *cut = xmalloc(keep + 1);
        memcpy(cut, f->valuestring, keep);
        cut[keep] = '\0';
        cJSON_ReplaceItemInObject(o, "lastFailureOutput", cJSON_CreateString(cut));
        cJSON_AddBoolToObject(o, "lastFailureOutputTruncated", 1);
        free(cut);
    }
    status_text(&b, o);
    r = result(b.s, o, 0);
    free(b.s);
    return r;
}

/* Whether a row passes the filters (NULL: any). */
static int row_matches(const cJSON *row, const char *state, const char *type, const char *prio, const char *text)
{
    if (state && strcasecmp(str(row, "status"), state))
        return 0;
    if (type && strcasecmp(str(row, "type"), type))
        return 0;
    if (prio && strcasecmp(str(row, "priority"), prio))
        return 0;
    if (text && !strcasestr(str(row, "title"), text) && !strcasestr(str(row, "id"), text) &&
        !strcasestr(str(row, "reason"), text))
        return 0;
    return 1;
}

static cJSON *t_list(const mcp_config *c, const mcp_backend *be, const cJSON *args)
{
    static const char *const known[] = {"state", "type", "priority", "text", "offset", "limit", NULL};
    const char *state, *type, *prio, *text;
    char err[MCP_ERR_LEN];
    long offset, limit, matched = 0;
    cJSON *all = NULL, *out, *rows, *r;
    const cJSON *row;
    buf b = {0};

    if (no_other_args(args, known, err) || arg_string(args, "state", 0, &state, err) ||
        arg_string(args, "type", 0, &type, err) || arg_string(args, "priority", 0, &prio, err) ||
        arg_string(args, "text", 0, &text, err) || arg_int(args, "offset", 0, 1000000, 0, &offset, err) ||
        arg_int(args, "limit", 1, c->list_limit_max, 20 < c->list_limit_max ? 20 : c->list_limit_max, &limit, err))
        return tool_error("%s", err);
    /* the names people type, as the suite prints them */
    if (state && !(state = names_status_parse(state) ? names_status(names_status_parse(state)) : NULL))
        return tool_error("argument 'state' must be a state such as NEW, BLOCKED, READY, DISPATCHED, VERIFYING, "
                          "REVIEWING, MERGING, COMPLETE, ESCALATED, REJECTED");
    if (type && !(type = names_agent_parse(type) ? names_agent_type(names_agent_parse(type)) : NULL))
        return tool_error("argument 'type' must be an agent type: %s", NAMES_AGENT_LIST);
    if (prio && !(prio = names_priority_parse(prio) ? names_priority(names_priority_parse(prio)) : NULL))
        return tool_error("argument 'priority' must be CRITICAL, HIGH, MEDIUM or LOW (or P0..P3)");
    if (list_all(be, &all, err))
        return tool_error("%s", err);
    out = cJSON_CreateObject();
    rows = cJSON_AddArrayToObject(out, "requirements");
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(all, "requirements")) {
        if (!row_matches(row, state, type, prio, text))
            continue;
        if (matched >= offset && matched < offset + limit)
            cJSON_AddItemToArray(rows, cJSON_Duplicate(row, 1));
        matched++;
    }
    cJSON_AddNumberToObject(out, "matching", (double)matched);
    cJSON_AddNumberToObject(out, "total", num(all, "total"));
    cJSON_AddNumberToObject(out, "offset", (double)offset);
    if (offset + limit < matched)
        cJSON_AddNumberToObject(out, "nextOffset", (double)(offset + limit));
    put(&b, "%ld requirement%s match (of %.0f); showing %d from offset %ld%s\n", matched, matched == 1 ? "" : "s",
        num(all, "total"), cJSON_GetArraySize(rows), offset,
        offset + limit < matched ? " (more: call again with the offset nextOffset)" : "");
    cJSON_ArrayForEach(row, rows)
        put(&b, "%s %s attempt %.0f %s %s: %s%s%s\n", str(row, "id"), str(row, "status"), num(row, "attempt"),
            str(row, "type"), str(row, "priority"), str(row, "title"), *str(row, "reason") ? " - " : "",
            str(row, "reason"));
    cJSON_Delete(all);
    r = result(b.s, out, 0);
    free(b.s);
    return r;
}

static cJSON *t_dashboard(const mcp_config *c, const mcp_backend *be, const cJSON *args)
{
    static const char *const known[] = {NULL};
    char err[MCP_ERR_LEN];
    cJSON *doc = NULL, *text = NULL, *r;
    (void)c;
    if (no_other_args(args, known, err))
        return tool_error("%s", err);
    if (be->ask(be->arg, MCP_ASK_DASHBOARD, NULL, &doc, err))
        return tool_error("%s", err);
    if (be->ask(be->arg, MCP_ASK_DASHBOARD_TEXT, NULL, &text, err) || !cJSON_IsString(text)) {
        cJSON_Delete(text);
        text = NULL;
    }
    if (text) {
        r = result(text->valuestring, doc, 0);
    } else {
        char *t = cJSON_PrintUnformatted(doc);
        r = result(t, doc, 0);
        free(t);
    }
    cJSON_Delete(text);
    return r;
}

static cJSON *t_agents(const mcp_config *c, const mcp_backend *be, const cJSON *args)
{
    static const char *const known[] = {NULL};
    char err[MCP_ERR_LEN];
    cJSON *doc = NULL, *head = NULL, *out, *types, *r;
    const cJSON *t, *a, *bud;
    buf b = {0};
    (void)c;
    if (no_other_args(args, known, err))
        return tool_error("%s", err);
    if (be->ask(be->arg, MCP_ASK_DASHBOARD, NULL, &doc, err))
        return tool_error("%s", err);
    /* the day's budgets in tokens and USD are the scheduler's ledger; the
     * agents without it are still worth an answer */
    if (be->ask(be->arg, MCP_ASK_LIST, "{\"limit\":1}", &head, err))
        head = NULL;
    bud = cJSON_GetObjectItem(head, "budget");
    out = cJSON_CreateObject();
    types = cJSON_AddArrayToObject(out, "types");
    put(&b, "type: queued, instances, tokens used/limit, USD today\n");
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(doc, "agents")) {
        cJSON *x = cJSON_CreateObject(), *inst = cJSON_AddArrayToObject(x, "instances");
        const cJSON *per = cJSON_GetObjectItem(bud, t->string);
        cJSON_AddStringToObject(x, "type", t->string);
        cJSON_AddNumberToObject(x, "queueDepth", num(t, "queueDepth"));
        cJSON_AddNumberToObject(x, "tokensUsed", num(t, "tokensUsed"));
        cJSON_AddNumberToObject(x, "tokenLimit", num(t, "tokenLimit"));
        if (cJSON_IsNumber(cJSON_GetObjectItem(per, "costUsd")))
            cJSON_AddNumberToObject(x, "costUsd", num(per, "costUsd"));
        cJSON_ArrayForEach(a, cJSON_GetObjectItem(t, "active")) if (cJSON_IsString(a))
            cJSON_AddItemToArray(inst, cJSON_CreateString(a->valuestring));
        put(&b, "%s: %.0f queued, %d instance%s, %.0f/%.0f tokens", t->string, num(t, "queueDepth"),
            cJSON_GetArraySize(inst), cJSON_GetArraySize(inst) == 1 ? "" : "s", num(t, "tokensUsed"),
            num(t, "tokenLimit"));
        if (cJSON_IsNumber(cJSON_GetObjectItem(per, "costUsd")))
            put(&b, ", $%.2f", num(per, "costUsd"));
        put(&b, "\n");
        cJSON_AddItemToArray(types, x);
    }
    if (bud) {
        cJSON_AddItemToObject(out, "budget", cJSON_Duplicate(bud, 1));
        put(&b, "today (%s): %.0f of %.0f tokens, $%.2f\n", str(bud, "day"), num(bud, "used"), num(bud, "limit"),
            num(bud, "costUsd"));
    } else {
        put(&b, "budget: unknown (the scheduler did not answer)\n");
    }
    cJSON_Delete(doc);
    cJSON_Delete(head);
    r = result(b.s, out, 0);
    free(b.s);
    return r;
}

static cJSON *t_retry(const mcp_config *c, const mcp_backend *be, const cJSON *args)
{
    static const char *const known[] = {"id", NULL};
    const char *id;
    char err[MCP_ERR_LEN], text[300];
    cJSON *o = NULL;
    if (!c->allow_writes)
        return tool_error("retry is disabled: this orch-mcp is read-only (its operator can start it with "
                          "--allow-writes)");
    if (no_other_args(args, known, err) || arg_id(args, &id, err))
        return tool_error("%s", err);
    if (be->ask(be->arg, MCP_ASK_RETRY, id, &o, err))
        return tool_error("%s", err);
    snprintf(text, sizeof(text), "%s is %s again (attempt %.0f)", str(o, "id"), str(o, "status"), num(o, "attempt"));
    return result(text, o, 0);
}

typedef struct {
    const char *name, *title, *description;
    const char *schema; /* inputSchema, JSON */
    tool_fn fn;
    int writes;         /* listed and served only with allow_writes */
    int read_only;      /* annotations.readOnlyHint */
} tool;

#define ID_SCHEMA "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\",\"description\":" \
                  "\"a requirement id, e.g. REQ-001\"}},\"required\":[\"id\"],\"additionalProperties\":false}"
#define NO_ARGS "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}"

static const tool tools[] = {
    {"submit_requirements", "Submit requirements",
     "Add requirements to the roadmap (one or many). Each has a title and may give id, description, priority "
     "(CRITICAL, HIGH, MEDIUM, LOW), assignedAgent (backend, frontend, database, documentation, review, release), "
     "files, dependencies (ids), acceptanceCriteria, estimatedTokens. Answers the ids given, or why one was refused.",
     "{\"type\":\"object\",\"properties\":{\"requirements\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":100,"
     "\"items\":{\"type\":\"object\",\"properties\":{"
     "\"title\":{\"type\":\"string\"},\"id\":{\"type\":\"string\"},\"description\":{\"type\":\"string\"},"
     "\"priority\":{\"type\":\"string\"},\"assignedAgent\":{\"type\":\"string\"},"
     "\"files\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
     "\"dependencies\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
     "\"acceptanceCriteria\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
     "\"estimatedTokens\":{\"type\":\"integer\",\"minimum\":0}},\"required\":[\"title\"]}}},"
     "\"required\":[\"requirements\"],\"additionalProperties\":false}",
     t_submit, 0, 0},
    {"status", "Requirement status",
     "One requirement: its state, attempt, the exact reason it waits, what blocks it, its ETA, tokens, and the "
     "output of its last failure (cut to a bound).",
     ID_SCHEMA, t_status, 0, 1},
    {"list_requirements", "List requirements",
     "Requirements with their state, attempt, type, priority and reason, filtered by state, type, priority or a "
     "text in the id, title or reason; paged with offset and limit.",
     "{\"type\":\"object\",\"properties\":{\"state\":{\"type\":\"string\"},\"type\":{\"type\":\"string\"},"
     "\"priority\":{\"type\":\"string\"},\"text\":{\"type\":\"string\"},"
     "\"offset\":{\"type\":\"integer\",\"minimum\":0},\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100}},"
     "\"additionalProperties\":false}",
     t_list, 0, 1},
    {"dashboard", "Dashboard", "The monitor's dashboard: queues, agents, budgets, alerts and metrics.", NO_ARGS,
     t_dashboard, 0, 1},
    {"agents", "Agents",
     "Agent types with their queued work, running instances and today's budgets in tokens and USD.", NO_ARGS,
     t_agents, 0, 1},
    {"retry", "Retry an escalated requirement", "Give an ESCALATED requirement a fresh set of attempts.", ID_SCHEMA,
     t_retry, 1, 0},
};
#define N_TOOLS (sizeof(tools) / sizeof(tools[0]))

cJSON *mcp_tools_list(const mcp_config *c)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < N_TOOLS; i++) {
        cJSON *t, *ann;
        if (tools[i].writes && !c->allow_writes)
            continue;
        t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "name", tools[i].name);
        cJSON_AddStringToObject(t, "title", tools[i].title);
        cJSON_AddStringToObject(t, "description", tools[i].description);
        cJSON_AddItemToObject(t, "inputSchema", cJSON_Parse(tools[i].schema));
        ann = cJSON_AddObjectToObject(t, "annotations");
        cJSON_AddBoolToObject(ann, "readOnlyHint", tools[i].read_only);
        cJSON_AddBoolToObject(ann, "openWorldHint", 0);
        cJSON_AddItemToArray(a, t);
    }
    return a;
}

cJSON *mcp_tools_call(const mcp_config *c, const mcp_backend *be, const char *name, const cJSON *args)
{
    for (size_t i = 0; i < N_TOOLS; i++)
        if (!strcmp(name, tools[i].name))
            return tools[i].fn(c, be, args);
    return NULL;
}

/* ---- resources ---- */

static void add_resource(cJSON *a, const char *uri, const char *name, const char *title, const char *mime)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "uri", uri);
    cJSON_AddStringToObject(r, "name", name);
    cJSON_AddStringToObject(r, "title", title);
    cJSON_AddStringToObject(r, "mimeType", mime);
    cJSON_AddItemToArray(a, r);
}

cJSON *mcp_resources_list(const mcp_backend *be)
{
    cJSON *a = cJSON_CreateArray(), *all = NULL;
    const cJSON *row;
    char err[MCP_ERR_LEN];
    int n = 0;
    add_resource(a, ROADMAP_URI, "roadmap", "The roadmap (Markdown)", "text/markdown");
    /* the requirements the suite knows; none when it does not answer (the
     * template still names them) */
    if (list_all(be, &all, err) == 0)
        cJSON_ArrayForEach(row, cJSON_GetObjectItem(all, "requirements")) {
            char uri[200];
            if (n++ == RESOURCES_MAX)
                break;
            snprintf(uri, sizeof(uri), REQ_URI "%.150s", str(row, "id"));
            add_resource(a, uri, str(row, "id"), str(row, "title"), "application/json");
        }
    cJSON_Delete(all);
    return a;
}

cJSON *mcp_resource_templates(void)
{
    cJSON *a = cJSON_CreateArray(), *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "uriTemplate", REQ_URI "{id}");
    cJSON_AddStringToObject(t, "name", "requirement");
    cJSON_AddStringToObject(t, "title", "A requirement's detail (orch.status, JSON)");
    cJSON_AddStringToObject(t, "mimeType", "application/json");
    cJSON_AddItemToArray(a, t);
    return a;
}

/* The roadmap as Markdown in docs/roadmap.md's format, each requirement's
 * Status in the words `orchctl roadmap sync` writes. */
static char *roadmap_markdown(const cJSON *all)
{
    const cJSON *row, *it;
    buf b = {0};
    char word[256];
    put(&b, "# Roadmap\n\n");
    if (*str(all, "roadmapEta"))
        put(&b, "Done by %s (90%%: %s).\n\n", str(all, "roadmapEta"),
            *str(all, "roadmapEtaLate") ? str(all, "roadmapEtaLate") : str(all, "roadmapEta"));
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(all, "requirements")) {
        put(&b, "### %s: %s\n", str(row, "id"), str(row, "title"));
        put(&b, "- Status: %s\n", roadmap_state_word(row, word, sizeof(word)));
        put(&b, "- Priority: %s\n", str(row, "priority"));
        put(&b, "- Agent: %s\n", str(row, "type"));
        if (cJSON_GetArraySize(cJSON_GetObjectItem(row, "parts")) > 0) {
            put(&b, "- Parts:");
            cJSON_ArrayForEach(it, cJSON_GetObjectItem(row, "parts")) put(&b, " %s", cJSON_IsString(it) ? it->valuestring : "?");
            put(&b, "\n");
        }
        if (cJSON_IsNumber(cJSON_GetObjectItem(row, "estimatedTokens")))
            put(&b, "- Estimated tokens: %.0f\n", num(row, "estimatedTokens"));
        put(&b, "\n");
    }
    if (!cJSON_GetArraySize(cJSON_GetObjectItem(all, "requirements")))
        put(&b, "No requirements yet.\n");
    return b.s;
}

cJSON *mcp_resource_read(const mcp_backend *be, const char *uri, int *code, char err[MCP_ERR_LEN])
{
    cJSON *contents, *c, *o = NULL;
    char *text;
    *code = 0;
    if (!strcmp(uri, ROADMAP_URI)) {
        if (list_all(be, &o, err)) {
            *code = -32603;
            return NULL;
        }
        text = roadmap_markdown(o);
        cJSON_Delete(o);
    } else if (!strncmp(uri, REQ_URI, strlen(REQ_URI))) {
        cJSON *args = cJSON_CreateObject();
        const char *id;
        int rc;
        cJSON_AddStringToObject(args, "id", uri + strlen(REQ_URI));
        if (arg_id(args, &id, err)) {
            *code = MCP_RESOURCE_NOT_FOUND;
            snprintf(err, MCP_ERR_LEN, "Resource not found: %.200s (not a requirement id)", uri);
            cJSON_Delete(args);
            return NULL;
        }
        if ((rc = be->ask(be->arg, MCP_ASK_STATUS, id, &o, err)) != 0) {
            char why[MCP_ERR_LEN];
            if (rc == MCP_NOT_FOUND) {
                snprintf(why, sizeof(why), "%s", err);
                snprintf(err, MCP_ERR_LEN, "Resource not found: %.200s (%.200s)", uri, why);
            }
            *code = rc == MCP_NOT_FOUND ? MCP_RESOURCE_NOT_FOUND : -32603;
            cJSON_Delete(args);
            return NULL;
        }
        cJSON_Delete(args);
        text = cJSON_Print(o);
        cJSON_Delete(o);
    } else {
        *code = MCP_RESOURCE_NOT_FOUND;
        snprintf(err, MCP_ERR_LEN, "Resource not found: %.200s", uri);
        return NULL;
    }
    contents = cJSON_CreateArray();
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "uri", uri);
    cJSON_AddStringToObject(c, "mimeType", !strcmp(uri, ROADMAP_URI) ? "text/markdown" : "application/json");
    cJSON_AddStringToObject(c, "text", text);
    cJSON_AddItemToArray(contents, c);
    free(text);
    return contents;
}
