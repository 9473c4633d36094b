/* Reports and control messages at the edge: agents' results, errors and
 * heartbeats from JSON and back, spawn and kill requests. The shared field
 * readers are edge_json.c's (edge_int.h). */
#include "edge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_int.h"
#include "names.h"
#include "text.h"

#define MAX_COST_USD 100000.0     /* no single report costs more */

/* "costUsd": US dollars, a number from 0 to MAX_COST_USD, kept in
 * millionths (rounded). */
static edge_reason get_cost(const cJSON *o, uint64_t *micro, char err[ERR_LEN])
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "costUsd");
    double d;
    if (!j || cJSON_IsNull(j))
        return EDGE_OK;
    if (!cJSON_IsNumber(j))
        return edge_fail(err, EDGE_WRONG_TYPE, "field 'costUsd': expected a number, got %s", edge_jtype(j));
    d = j->valuedouble;
    if (!(d >= 0 && d <= MAX_COST_USD)) /* also NaN */
        return edge_fail(err, EDGE_BAD_VALUE, "field 'costUsd': expected US dollars from 0 to %.0f", MAX_COST_USD);
    *micro = (uint64_t)(d * 1e6 + 0.5);
    return EDGE_OK;
}

/* Result: {"requirementId", "attempt", "agentType", "instance", "project",
 * "ref" (else "commit"), "commit", "base", "model", "tokensUsed", "costUsd",
 * "summary", "filesChanged", "review"}. */
edge_reason edge_result_from_json(const char *subject, const char *buf, size_t len, const edge_limits *l,
                                  pb_result **out, char err[ERR_LEN])
{
    cJSON *o = NULL;
    pb_result *r = NULL;
    edge_reason e;
    const char *s;
    uint64_t u = 0;
    int present = 0;

    *out = NULL;
    if ((e = edge_parse_root(buf, len, l, &o, err)))
        return e;
    r = xmalloc(sizeof(*r));
    orchestrator__v1__result__init(r);
    if (!cJSON_IsObject(o)) {
        e = edge_fail(err, EDGE_WRONG_TYPE, "message: expected a result object, got %s", edge_jtype(o));
        goto out;
    }
    if ((e = edge_get_id(o, "", "requirementId", "id", 1024, l, 1, EDGE_INVALID_ID, &s, err)))
        goto out;
    pb_set_str(&r->requirement_id, s);
    if ((e = edge_get_uint(o, "", "attempt", NULL, MAX_ATTEMPT, &u, &present, err)))
        goto out;
    r->attempt = present ? (uint32_t)u : 0;
    if ((e = edge_get_agent(o, "", "agentType", "type", &r->agent_type, NULL, err)))
        goto out;
    if (!r->agent_type && subject)
        r->agent_type = names_agent_from_subject(subject, 1);
    if ((e = edge_get_id(o, "", "instance", NULL, l->max_id, l, 0, EDGE_INVALID_ID, &s, err)))
        goto out;
    if (s && *s)
        pb_set_str(&r->instance, s);
    {
        /* the optional strings: key, alias, bound, where */
        const struct {
            const char *key, *alias;
            size_t max;
            char **field;
        } opt[] = {{"project", NULL, 128, &r->project},    {"ref", "commit", 256, &r->ref},
                   {"commit", NULL, 256, &r->commit},      {"base", NULL, 256, &r->base_branch},
                   {"model", NULL, 128, &r->model}};
        for (size_t k = 0; k < sizeof(opt) / sizeof(opt[0]); k++) {
            if ((e = edge_get_string(o, "", opt[k].key, opt[k].alias, opt[k].max, 0, &s, err)))
                goto out;
            if (s)
                pb_set_str(opt[k].field, s);
        }
    }
    if ((e = edge_get_uint(o, "", "tokensUsed", "tokens_used", MAX_TOKENS, &u, &present, err)))
        goto out;
    if (present)
        r->tokens_used = u;
    if ((e = edge_get_string(o, "", "summary", NULL, l->max_string, 0, &s, err)))
        goto out;
    if (s)
        pb_set_str(&r->summary, s);
    if ((e = get_cost(o, &r->cost_micro_usd, err)))
        goto out;
    if ((e = edge_get_list(o, "", "filesChanged", "files", l, 1024, 0, 0, &r->files_changed, &r->n_files_changed,
                      err)))
        goto out;
    if ((e = edge_get_string(o, "", "review", NULL, 32, 0, &s, err)))
        goto out;
    if (s && *s) {
        if (text_ieq(s, "approved") || text_ieq(s, "approve"))
            r->review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED;
        else if (text_ieq(s, "changes_requested") || text_ieq(s, "changes-requested") ||
                 text_ieq(s, "request_changes"))
            r->review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_CHANGES_REQUESTED;
        else {
            e = edge_fail(err, EDGE_BAD_VALUE, "field 'review': '%s' is not approved or changes_requested", s);
            goto out;
        }
    }
    *out = r;
    r = NULL;
out:
    if (r)
        orchestrator__v1__result__free_unpacked(r, NULL);
    cJSON_Delete(o);
    return e;
}

char *edge_result_to_json(const pb_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "requirementId", r->requirement_id);
    cJSON_AddNumberToObject(o, "attempt", r->attempt);
    if (r->agent_type) /* "unknown" would not parse back */
        cJSON_AddStringToObject(o, "agentType", names_agent_type(r->agent_type));
    edge_add_str_if(o, "instance", r->instance);
    edge_add_str_if(o, "project", r->project);
    edge_add_str_if(o, "ref", r->ref);
    edge_add_str_if(o, "commit", r->commit);
    edge_add_str_if(o, "base", r->base_branch);
    edge_add_str_if(o, "model", r->model);
    cJSON_AddNumberToObject(o, "tokensUsed", (double)r->tokens_used);
    if (r->cost_micro_usd)
        cJSON_AddNumberToObject(o, "costUsd", (double)r->cost_micro_usd / 1e6);
    edge_add_str_if(o, "summary", r->summary);
    edge_add_list(o, "filesChanged", r->files_changed, r->n_files_changed);
    if (r->review)
        cJSON_AddStringToObject(o, "review",
                                r->review == ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED
                                    ? "approved" : "changes_requested");
    return edge_print_and_free(o);
}

/* Error: {"message" (or "error"), "reason", "source", "requirementId",
 * "attempt", "agentType", "instance", "transient", "streamSeq", "subject",
 * "item" (a refused list item, 1 for the first), "tokensUsed" and
 * "costUsd" (what the failed run used in all), "retryAtMs" (when a rate
 * limit ends)}. */
edge_reason edge_error_from_json(const char *buf, size_t len, const edge_limits *l,
                                 pb_error **out, char err[ERR_LEN])
{
    cJSON *o = NULL;
    pb_error *r = NULL;
    edge_reason e;
    const char *s;
    uint64_t u = 0;
    int present = 0, b = 0;

    *out = NULL;
    if ((e = edge_parse_root(buf, len, l, &o, err)))
        return e;
    r = xmalloc(sizeof(*r));
    orchestrator__v1__agent_error__init(r);
    if (!cJSON_IsObject(o)) {
        e = edge_fail(err, EDGE_WRONG_TYPE, "message: expected an error object, got %s", edge_jtype(o));
        goto out;
    }
    if ((e = edge_get_string(o, "", "message", "error", l->max_output, 1, &s, err)))
        goto out;
    pb_set_str(&r->message, s);
    if ((e = edge_get_id(o, "", "reason", "code", l->max_id, l, 0, EDGE_BAD_VALUE, &s, err)))
        goto out;
    if (s && *s)
        pb_set_str(&r->reason, s);
    if ((e = edge_get_string(o, "", "source", NULL, l->max_id, 0, &s, err)))
        goto out;
    if (s)
        pb_set_str(&r->source, s);
    if ((e = edge_get_id(o, "", "requirementId", "id", 1024, l, 0, EDGE_INVALID_ID, &s, err)))
        goto out;
    if (s && *s)
        pb_set_str(&r->requirement_id, s);
    if ((e = edge_get_uint(o, "", "attempt", NULL, MAX_ATTEMPT, &u, &present, err)))
        goto out;
    if (present)
        r->attempt = (uint32_t)u;
    if ((e = edge_get_agent(o, "", "agentType", "type", &r->agent_type, NULL, err)))
        goto out;
    if ((e = edge_get_id(o, "", "instance", NULL, l->max_id, l, 0, EDGE_INVALID_ID, &s, err)))
        goto out;
    if (s && *s)
        pb_set_str(&r->instance, s);
    if ((e = edge_get_bool(o, "", "transient", &b, err)))
        goto out;
    r->transient = b;
    if ((e = edge_get_uint(o, "", "streamSeq", NULL, UINT64_MAX >> 11, &u, &present, err)))
        goto out;
    if (present)
        r->stream_seq = u;
    if ((e = edge_get_string(o, "", "subject", NULL, 1024, 0, &s, err)))
        goto out;
    if (s)
        pb_set_str(&r->subject, s);
    if ((e = edge_get_uint(o, "", "item", NULL, UINT32_MAX, &u, &present, err)))
        goto out;
    if (present)
        r->item = (uint32_t)u;
    if ((e = edge_get_uint(o, "", "tokensUsed", "tokens_used", MAX_TOKENS, &u, &present, err)))
        goto out;
    if (present)
        r->tokens_used = u;
    if ((e = get_cost(o, &r->cost_micro_usd, err)))
        goto out;
    if ((e = edge_get_uint(o, "", "retryAtMs", NULL, (uint64_t)INT64_MAX >> 11, &u, &present, err)))
        goto out;
    if (present)
        r->retry_at_ms = (int64_t)u;
    *out = r;
    r = NULL;
out:
    if (r)
        orchestrator__v1__agent_error__free_unpacked(r, NULL);
    cJSON_Delete(o);
    return e;
}

char *edge_error_to_json(const pb_error *e)
{
    cJSON *o = cJSON_CreateObject();
    edge_add_str_if(o, "source", e->source);
    edge_add_str_if(o, "reason", e->reason);
    cJSON_AddStringToObject(o, "message", e->message);
    edge_add_str_if(o, "requirementId", e->requirement_id);
    if (e->attempt)
        cJSON_AddNumberToObject(o, "attempt", e->attempt);
    if (e->agent_type)
        cJSON_AddStringToObject(o, "agentType", names_agent_type(e->agent_type));
    edge_add_str_if(o, "instance", e->instance);
    cJSON_AddBoolToObject(o, "transient", e->transient);
    if (e->stream_seq)
        cJSON_AddNumberToObject(o, "streamSeq", (double)e->stream_seq);
    edge_add_str_if(o, "subject", e->subject);
    if (e->item)
        cJSON_AddNumberToObject(o, "item", e->item);
    if (e->tokens_used)
        cJSON_AddNumberToObject(o, "tokensUsed", (double)e->tokens_used);
    if (e->cost_micro_usd)
        cJSON_AddNumberToObject(o, "costUsd", (double)e->cost_micro_usd / 1e6);
    if (e->retry_at_ms)
        cJSON_AddNumberToObject(o, "retryAtMs", (double)e->retry_at_ms);
    if (e->at_ms)
        cJSON_AddNumberToObject(o, "atMs", (double)e->at_ms);
    return edge_print_and_free(o);
}

/* Heartbeat: {"agentType", "instance", "requirementId", "tokensUsed",
 * "costUsd" (both since the previous one), "state"}. */
edge_reason edge_heartbeat_from_json(const char *subject, const char *buf, size_t len, const edge_limits *l,
                                     pb_heartbeat **out, char err[ERR_LEN])
{
    cJSON *o = NULL;
    pb_heartbeat *h = NULL;
    edge_reason e;
    const char *s, *from_subject;
    uint64_t u = 0;
    int present = 0;
    char why[160];

    *out = NULL;
    if ((e = edge_parse_root(buf, len, l, &o, err)))
        return e;
    h = xmalloc(sizeof(*h));
    orchestrator__v1__heartbeat__init(h);
    if (!cJSON_IsObject(o)) {
        e = edge_fail(err, EDGE_WRONG_TYPE, "message: expected a heartbeat object, got %s", edge_jtype(o));
        goto out;
    }
    if ((e = edge_get_agent(o, "", "agentType", "type", &h->agent_type, NULL, err)))
        goto out;
    if (!h->agent_type && subject)
        h->agent_type = names_agent_from_subject(subject, 2);
    /* agents.heartbeat.<type>.<instance> names the sender: the body may
     * leave the instance out. */
    from_subject = subject;
    for (int k = 0; from_subject && k < 3; k++)
        if ((from_subject = strchr(from_subject, '.')))
            from_subject++;
    if (from_subject && !*from_subject)
        from_subject = NULL;
    if ((e = edge_get_string(o, "", "instance", NULL, l->max_id, !from_subject, &s, err)))
        goto out;
    if ((!s || !*s) && from_subject)
        s = from_subject;
    if (!text_id_valid(s, l->max_id, why, sizeof(why))) {
        e = edge_fail(err, EDGE_INVALID_ID, "field 'instance': '%.80s' %s", s, why);
        goto out;
    }
    pb_set_str(&h->instance, s);
    if ((e = edge_get_id(o, "", "requirementId", NULL, 1024, l, 0, EDGE_INVALID_ID, &s, err)))
        goto out;
    if (s && *s)
        pb_set_str(&h->requirement_id, s);
    if ((e = edge_get_uint(o, "", "tokensUsed", "tokens_used", MAX_TOKENS, &u, &present, err)))
        goto out;
    if (present)
        h->tokens_used = u;
    if ((e = get_cost(o, &h->cost_micro_usd, err)))
        goto out;
    if ((e = edge_get_string(o, "", "state", NULL, 32, 0, &s, err)))
        goto out;
    if (s)
        pb_set_str(&h->state, s);
    *out = h;
    h = NULL;
out:
    if (h)
        orchestrator__v1__heartbeat__free_unpacked(h, NULL);
    cJSON_Delete(o);
    return e;
}

char *edge_heartbeat_to_json(const pb_heartbeat *h)
{
    cJSON *o = cJSON_CreateObject();
    if (h->agent_type)
        cJSON_AddStringToObject(o, "agentType", names_agent_type(h->agent_type));
    cJSON_AddStringToObject(o, "instance", h->instance);
    edge_add_str_if(o, "requirementId", h->requirement_id);
    cJSON_AddNumberToObject(o, "tokensUsed", (double)h->tokens_used);
    if (h->cost_micro_usd)
        cJSON_AddNumberToObject(o, "costUsd", (double)h->cost_micro_usd / 1e6);
    edge_add_str_if(o, "state", h->state);
    return edge_print_and_free(o);
}

char *edge_spawn_to_json(const pb_spawn *sp)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "agentType", names_agent_type(sp->agent_type));
    cJSON_AddNumberToObject(o, "count", sp->count);
    edge_add_str_if(o, "reason", sp->reason);
    cJSON_AddNumberToObject(o, "tokenBudget", (double)sp->token_budget);
    cJSON_AddNumberToObject(o, "queueDepth", sp->queue_depth);
    cJSON_AddNumberToObject(o, "requestedAtMs", (double)sp->requested_at_ms);
    return edge_print_and_free(o);
}

edge_reason edge_spawn_from_json(const char *subject, const char *buf, size_t len, pb_spawn **out, char err[ERR_LEN])
{
    cJSON *o = NULL, *x;
    pb_spawn *sp = NULL;
    edge_reason e = EDGE_OK;

    *out = NULL;
    if (len > 64 * 1024)
        return edge_fail(err, EDGE_TOO_LARGE, "spawn request of %zu bytes, at most 65536", len);
    if (!(o = cJSON_ParseWithLength(buf, len)) || !cJSON_IsObject(o)) {
        e = edge_fail(err, EDGE_INVALID_JSON, "a spawn request is a JSON object");
        goto out;
    }
    sp = xmalloc(sizeof(*sp));
    orchestrator__v1__spawn_request__init(sp);
    sp->agent_type = subject ? names_agent_from_subject(subject, 2) : ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_UNSPECIFIED;
    if (cJSON_IsString(x = cJSON_GetObjectItem(o, "agentType"))) {
        Orchestrator__V1__AgentType t = names_agent_parse(x->valuestring);
        if (!t || (sp->agent_type && t != sp->agent_type)) {
            e = edge_fail(err, EDGE_BAD_VALUE, "field 'agentType': '%.40s' is not %s", x->valuestring,
                     sp->agent_type ? "the subject's type" : "an agent type");
            goto out;
        }
        sp->agent_type = t;
    }
    if (!sp->agent_type) {
        e = edge_fail(err, EDGE_MISSING_FIELD, "field 'agentType': missing (and the subject names no type)");
        goto out;
    }
    sp->count = 1;
    if ((x = cJSON_GetObjectItem(o, "count"))) {
        if (!cJSON_IsNumber(x) || x->valuedouble < 1 || x->valuedouble > 100) {
            e = edge_fail(err, EDGE_BAD_VALUE, "field 'count': a number from 1 to 100");
            goto out;
        }
        sp->count = (uint32_t)x->valuedouble;
    }
    if (cJSON_IsString(x = cJSON_GetObjectItem(o, "reason")))
        pb_set_str(&sp->reason, x->valuestring);
    *out = sp;
    sp = NULL;
out:
    if (sp)
        orchestrator__v1__spawn_request__free_unpacked(sp, NULL);
    cJSON_Delete(o);
    return e;
}

char *edge_kill_to_json(const char *instance, const char *requirement_id, const char *reason)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "instance", instance);
    edge_add_str_if(o, "requirementId", requirement_id);
    edge_add_str_if(o, "reason", reason);
    return edge_print_and_free(o);
}
