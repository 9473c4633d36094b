/* Requirements at the edge: the seed's requirement JSON both ways, the
 * protobuf intake, and the rules every requirement's strings obey (results,
 * errors, heartbeats and control messages are edge_report.c's). */
#include "edge.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_int.h"
#include "names.h"
#include "text.h"


static const char *const reason_tokens[] = {
    "ok", "too_large", "invalid_utf8", "too_deep", "invalid_json", "wrong_type",
    "missing_field", "invalid_id", "too_long", "bad_dependency", "self_dependency",
    "bad_value", "empty", "invalid_protobuf", "control_character", "duplicate_id", "id_unavailable"};

const char *edge_reason_token(edge_reason r)
{
    return (unsigned)r < sizeof(reason_tokens) / sizeof(reason_tokens[0]) ? reason_tokens[r] : "unknown";
}

void edge_limits_default(edge_limits *l)
{
    l->max_payload = 256 * 1024;
    l->max_id = 64;
    l->max_title = 300;
    l->max_string = 4096;
    l->max_output = 64 * 1024;
    l->max_list = 256;
    l->max_depth = 16;
    l->max_rendered = 256 * 1024;
}

static edge_reason metadata_from(const cJSON *o, const char *pfx, const edge_limits *l,
                                 pb_metadata **out, char err[ERR_LEN])
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    const cJSON *it;
    pb_metadata *m;
    char p[64];
    const char *s;
    edge_reason r;

    if (!j || cJSON_IsNull(j))
        return EDGE_OK;
    if (!cJSON_IsObject(j))
        return edge_fail(err, EDGE_WRONG_TYPE, "field '%smetadata': expected an object, got %s", pfx, edge_jtype(j));
    m = xmalloc(sizeof(*m));
    orchestrator__v1__metadata__init(m);
    *out = m;
    snprintf(p, sizeof(p), "%smetadata.", pfx);
    if ((r = edge_get_string(j, p, "phase", NULL, l->max_id, 0, &s, err)))
        return r;
    if (s)
        pb_set_str(&m->phase, s);
    if ((r = edge_get_string(j, p, "requestedBy", "requested_by", l->max_string, 0, &s, err)))
        return r;
    if (s)
        pb_set_str(&m->requested_by, s);
    if ((r = edge_get_string(j, p, "deadline", NULL, l->max_id, 0, &s, err)))
        return r;
    if (s)
        pb_set_str(&m->deadline, s);
    cJSON_ArrayForEach(it, j) {
        Orchestrator__V1__Metadata__ExtraEntry *e;
        if (!strcmp(it->string, "phase") || !strcmp(it->string, "requestedBy") ||
            !strcmp(it->string, "requested_by") || !strcmp(it->string, "deadline"))
            continue;
        if (!cJSON_IsString(it))
            continue; /* only string metadata is kept */
        if (m->n_extra >= l->max_list)
            return edge_fail(err, EDGE_TOO_LONG, "field '%smetadata': more than %zu keys", pfx, l->max_list);
        if (strlen(it->string) > l->max_id || strlen(it->valuestring) > l->max_string)
            return edge_fail(err, EDGE_TOO_LONG, "field '%smetadata.%.64s': key or value too long", pfx, it->string);
        e = xmalloc(sizeof(*e));
        orchestrator__v1__metadata__extra_entry__init(e);
        e->key = xstrdup(it->string);
        e->value = xstrdup(it->valuestring);
        m->extra = xrealloc(m->extra, sizeof(*m->extra) * (m->n_extra + 1));
        m->extra[m->n_extra++] = e;
    }
    return EDGE_OK;
}

static edge_reason check_texts(pb_requirement *r, const char *pfx, const edge_limits *l, char err[ERR_LEN]);

static edge_reason requirement_from(const cJSON *o, const char *pfx, const edge_limits *l,
                                    pb_requirement **out, char err[ERR_LEN])
{
    pb_requirement *r = xmalloc(sizeof(*r));
    edge_reason e;
    const char *s;
    uint64_t u = 0;
    int present = 0;

    orchestrator__v1__requirement__init(r);
    *out = r;
    if (!cJSON_IsObject(o))
        return edge_fail(err, EDGE_WRONG_TYPE, "%s: expected a requirement object, got %s",
                    *pfx ? pfx : "message", edge_jtype(o));

    if ((e = edge_get_id(o, pfx, "id", NULL, 1024, l, 0, EDGE_INVALID_ID, &s, err)))
        return e;
    if (s && *s)
        pb_set_str(&r->id, s);
    if ((e = edge_get_string(o, pfx, "title", NULL, l->max_title, 1, &s, err)))
        return e;
    {
        const char *t = s;
        size_t n = strlen(t);
        while (n && isspace((unsigned char)*t)) { t++; n--; }
        while (n && isspace((unsigned char)t[n - 1])) n--;
        if (n == 0)
            return edge_fail(err, EDGE_MISSING_FIELD, "field '%stitle' is empty", pfx);
        r->title = xstrndup(t, n);
    }
    if ((e = edge_get_string(o, pfx, "description", NULL, l->max_string, 0, &s, err)))
        return e;
    if (s)
        pb_set_str(&r->description, s);
    if ((e = edge_get_string(o, pfx, "priority", NULL, 32, 0, &s, err)))
        return e;
    if (s && *s) {
        r->priority = names_priority_parse(s);
        if (!r->priority)
            return edge_fail(err, EDGE_BAD_VALUE, "field '%spriority': '%s' is not CRITICAL, HIGH, MEDIUM, LOW or P0..P3",
                        pfx, s);
        r->priority_given = 1;
    }
    {
        const char *given = NULL;
        if ((e = edge_get_agent(o, pfx, "assignedAgent", "assigned_agent", &r->type, &given, err)))
            return e;
        if (given && *given)
            pb_set_str(&r->assigned_agent, given);
        if (!r->type && (e = edge_get_agent(o, pfx, "type", "agent", &r->type, NULL, err)))
            return e;
    }
    if ((e = edge_get_string(o, pfx, "status", NULL, 32, 0, &s, err)))
        return e;
    if (s && *s) {
        r->status = names_status_parse(s);
        if (!r->status)
            return edge_fail(err, EDGE_BAD_VALUE, "field '%sstatus': unknown status '%s'", pfx, s);
    }
    if ((e = edge_get_uint(o, pfx, "estimatedTokens", "estimated_tokens", MAX_TOKENS, &u, &present, err)))
        return e;
    if (present)
        r->estimated_tokens = u;
    if ((e = edge_get_list(o, pfx, "dependencies", "dependsOn", l, l->max_id, 1, EDGE_BAD_DEPENDENCY,
                      &r->dependencies, &r->n_dependencies, err)))
        return e;
    for (size_t i = 0; r->id != protobuf_c_empty_string && i < r->n_dependencies; i++)
        if (strcmp(r->dependencies[i], r->id) == 0)
            return edge_fail(err, EDGE_SELF_DEPENDENCY, "field '%sdependencies[%zu]': '%s' depends on itself", pfx,
                        i, r->id);
    if ((e = edge_get_list(o, pfx, "acceptanceCriteria", "acceptance_criteria", l, l->max_string, 0, 0,
                      &r->acceptance_criteria, &r->n_acceptance_criteria, err)))
        return e;
    if ((e = edge_get_list(o, pfx, "files", NULL, l, 1024, 0, 0, &r->files, &r->n_files, err)))
        return e;
    if ((e = metadata_from(o, pfx, l, &r->metadata, err)))
        return e;

    /* Fields the suite adds; read back when an agent or tool echoes them. */
    if ((e = edge_get_string(o, pfx, "complexity", NULL, 16, 0, &s, err)))
        return e;
    if (s && *s && !(r->complexity = names_complexity_parse(s)))
        return edge_fail(err, EDGE_BAD_VALUE, "field '%scomplexity': '%s' is not S, M, L or XL", pfx, s);
    if ((e = edge_get_uint(o, pfx, "attempt", NULL, MAX_ATTEMPT, &u, &present, err)))
        return e;
    if (present)
        r->attempt = (uint32_t)u;
    if ((e = edge_get_uint(o, pfx, "tokenBudget", "token_budget", MAX_TOKENS * 10, &u, &present, err)))
        return e;
    if (present)
        r->token_budget = u;
    if ((e = edge_get_string(o, pfx, "modelHint", "model_hint", 64, 0, &s, err)))
        return e;
    if (s)
        pb_set_str(&r->model_hint, s);
    if ((e = edge_get_string(o, pfx, "lastFailureOutput", "last_failure_output", l->max_output, 0, &s, err)))
        return e;
    if (s)
        pb_set_str(&r->last_failure_output, s);
    if ((e = edge_get_id(o, pfx, "originId", "origin_id", l->max_id, l, 0, EDGE_INVALID_ID, &s, err)))
        return e;
    if (s && *s)
        pb_set_str(&r->origin_id, s);
    return check_texts(r, pfx, l, err);
}

void edge_requirements_free(pb_requirement **reqs, size_t n)
{
    if (!reqs)
        return;
    for (size_t i = 0; i < n; i++)
        if (reqs[i])
            orchestrator__v1__requirement__free_unpacked(reqs[i], NULL);
    free(reqs);
}

/* cJSON turns \u0000 into a NUL byte inside its C string, which then ends
 * there: the rest of the field would vanish without a word. So the raw
 * text is searched first, for the escape and for a NUL byte as it is
 * (which the UTF-8 check would call only an invalid byte); the field named
 * is the last key before the string (for a list item, the list's key). */
static edge_reason json_nul_free(const char *buf, size_t len, char err[ERR_LEN])
{
    size_t key = 0, key_len = 0, nul = 0, start = 0;
    int in_str = 0, found = 0;

    for (size_t i = 0; i < len; i++) {
        if (!in_str) {
            if (buf[i] == '"') {
                in_str = 1;
                start = i + 1;
            }
            continue;
        }
        if (buf[i] == '\0' && !found) {
            found = 1;
            nul = i;
        }
        if (buf[i] == '\\') {
            if (i + 5 < len && buf[i + 1] == 'u' && !memcmp(buf + i + 2, "0000", 4) && !found) {
                found = 1;
                nul = i;
            }
            i++;
            continue;
        }
        if (buf[i] != '"')
            continue;
        in_str = 0;
        {
            size_t j = i + 1;
            int is_key;
            while (j < len && isspace((unsigned char)buf[j]))
                j++;
            is_key = j < len && buf[j] == ':';
            if (found) {
                if (is_key)
                    return edge_fail(err, EDGE_CONTROL_CHAR, "a key holds a NUL character (\\u0000) at byte %zu", nul);
                if (key_len)
                    return edge_fail(err, EDGE_CONTROL_CHAR,
                                "field '%.*s' holds a NUL character (\\u0000) at byte %zu: refused rather than cut "
                                "short", (int)(key_len > 64 ? 64 : key_len), buf + key, nul);
                return edge_fail(err, EDGE_CONTROL_CHAR, "a string holds a NUL character (\\u0000) at byte %zu", nul);
            }
            if (is_key) {
                key = start;
                key_len = i - start;
            }
        }
    }
    return EDGE_OK;
}

edge_reason edge_requirements_from_json(const char *buf, size_t len, const edge_limits *l,
                                        pb_requirement ***out, size_t *n, char err[ERR_LEN])
{
    cJSON *root = NULL;
    edge_reason r;
    pb_requirement **reqs = NULL;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    /* a NUL byte in a string is named with its field, before the UTF-8
     * check would call it only an invalid byte */
    if (len <= l->max_payload && memchr(buf, '\0', len) && (r = json_nul_free(buf, len, err)))
        return r;
    if ((r = edge_parse_root(buf, len, l, &root, err)))
        return r;
    if ((r = json_nul_free(buf, len, err)))
        goto out;
    if (cJSON_IsArray(root)) {
        const cJSON *it;
        size_t total = (size_t)cJSON_GetArraySize(root);
        if (total == 0) {
            r = edge_fail(err, EDGE_EMPTY, "the list of requirements is empty");
            goto out;
        }
        if (total > l->max_list) {
            r = edge_fail(err, EDGE_TOO_LONG, "%zu requirements in one message, at most %zu", total, l->max_list);
            goto out;
        }
        reqs = xcalloc(total, sizeof(*reqs));
        cJSON_ArrayForEach(it, root) {
            char pfx[32];
            snprintf(pfx, sizeof(pfx), "[%zu].", count);
            r = requirement_from(it, pfx, l, &reqs[count++], err);
            if (r)
                goto out;
        }
    } else {
        reqs = xcalloc(1, sizeof(*reqs));
        r = requirement_from(root, "", l, &reqs[count++], err);
        if (r)
            goto out;
    }
    *out = reqs;
    *n = count;
    reqs = NULL;
out:
    edge_requirements_free(reqs, count);
    cJSON_Delete(root);
    return r;
}
static cJSON *requirement_object(const pb_requirement *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *m;

    cJSON_AddStringToObject(o, "id", r->id);
    cJSON_AddStringToObject(o, "priority", names_priority(r->priority));
    cJSON_AddStringToObject(o, "title", r->title);
    cJSON_AddStringToObject(o, "assignedAgent", r->type ? names_agent_persona(r->type) : r->assigned_agent);
    cJSON_AddStringToObject(o, "type", names_agent_type(r->type));
    cJSON_AddStringToObject(o, "status", names_status(r->status));
    cJSON_AddNumberToObject(o, "estimatedTokens", (double)r->estimated_tokens);
    edge_add_list(o, "dependencies", r->dependencies, r->n_dependencies);
    edge_add_list(o, "acceptanceCriteria", r->acceptance_criteria, r->n_acceptance_criteria);
    edge_add_list(o, "files", r->files, r->n_files);
    m = cJSON_AddObjectToObject(o, "metadata");
    if (r->metadata) {
        edge_add_str_if(m, "phase", r->metadata->phase);
        edge_add_str_if(m, "requestedBy", r->metadata->requested_by);
        edge_add_str_if(m, "deadline", r->metadata->deadline);
        for (size_t i = 0; i < r->metadata->n_extra; i++)
            if (!cJSON_HasObjectItem(m, r->metadata->extra[i]->key))
                cJSON_AddStringToObject(m, r->metadata->extra[i]->key, r->metadata->extra[i]->value);
    }
    edge_add_str_if(o, "description", r->description);
    if (r->complexity)
        cJSON_AddStringToObject(o, "complexity", names_complexity(r->complexity));
    if (r->attempt)
        cJSON_AddNumberToObject(o, "attempt", r->attempt);
    if (r->token_budget)
        cJSON_AddNumberToObject(o, "tokenBudget", (double)r->token_budget);
    edge_add_str_if(o, "modelHint", r->model_hint);
    edge_add_str_if(o, "lastFailureOutput", r->last_failure_output);
    edge_add_str_if(o, "originId", r->origin_id);
    if (r->n_reasons) {
        cJSON *a = cJSON_AddArrayToObject(o, "classification");
        cJSON_AddNumberToObject(o, "confidence", (double)r->confidence);
        for (size_t i = 0; i < r->n_reasons; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "rule", r->reasons[i]->rule);
            cJSON_AddStringToObject(x, "type", names_agent_type(r->reasons[i]->type));
            cJSON_AddNumberToObject(x, "weight", r->reasons[i]->weight);
            cJSON_AddItemToArray(a, x);
        }
    }
    return o;
}

char *edge_requirement_to_json(const pb_requirement *r)
{
    return edge_print_and_free(requirement_object(r));
}

char *edge_change_dispatch_to_json(const pb_requirement *r, const pb_state *st, const char *batch, int batch_size)
{
    cJSON *o = requirement_object(r);
    const Orchestrator__V1__Delivery *d = st->delivery;
    if (d) {
        edge_add_str_if(o, "project", d->project);
        edge_add_str_if(o, "ref", d->ref);
        edge_add_str_if(o, "commit", d->commit);
        edge_add_str_if(o, "base", d->base_branch);
    }
    edge_add_list(o, "filesChanged", st->actual_files, st->n_actual_files);
    edge_add_str_if(o, "author", st->instance);
    if (d)
        edge_add_str_if(o, "summary", d->summary);
    if (batch) {
        cJSON_AddStringToObject(o, "mergeBatch", batch);
        cJSON_AddNumberToObject(o, "mergeBatchSize", batch_size);
    }
    return edge_print_and_free(o);
}

/* One-line fields take no control character at all; text fields take tab,
 * newline and carriage return. */
enum { LINE = 0, TEXT = 1 };

static edge_reason check_str(const char *pfx, const char *field, const char *s, size_t max, int text,
                             char err[ERR_LEN])
{
    size_t n = strlen(s), bad = 0;
    if (n > max)
        return edge_fail(err, EDGE_TOO_LONG, "field '%s%s': %zu bytes, at most %zu", pfx, field, n, max);
    if (!text_utf8_valid(s, n, &bad))
        return edge_fail(err, EDGE_INVALID_UTF8, "field '%s%s': invalid UTF-8 at byte %zu", pfx, field, bad);
    if (!text_controls_free(s, n, text, &bad))
        return edge_fail(err, EDGE_CONTROL_CHAR, "field '%s%s': control character 0x%02x at byte %zu%s", pfx, field,
                    (unsigned char)s[bad], bad, text ? " (only tab, newline and carriage return are allowed)" : "");
    return EDGE_OK;
}

static edge_reason check_list(const char *pfx, const char *field, char **v, size_t n, size_t max_len, int text,
                              const edge_limits *l, char err[ERR_LEN])
{
    char name[64];
    edge_reason e;
    if (n > l->max_list)
        return edge_fail(err, EDGE_TOO_LONG, "field '%s%s': %zu items, at most %zu", pfx, field, n, l->max_list);
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s[%zu]", field, i);
        if ((e = check_str(pfx, name, v[i], max_len, text, err)))
            return e;
    }
    return EDGE_OK;
}

/* The rules every string of a requirement obeys, whichever way it came:
 * the JSON parser reads into a requirement and then calls this, and so does
 * the protobuf path, so the two cannot drift apart. Its files are put in
 * one spelling each (text_path_normalise), so no spelling gets past the
 * overlap rule. */
static edge_reason check_texts(pb_requirement *r, const char *pfx, const edge_limits *l, char err[ERR_LEN])
{
    const pb_metadata *m = r->metadata;
    edge_reason e;

    if ((e = check_str(pfx, "id", r->id, l->max_id, LINE, err)) ||
        (e = check_str(pfx, "title", r->title, l->max_title, LINE, err)) ||
        (e = check_str(pfx, "description", r->description, l->max_string, TEXT, err)) ||
        (e = check_str(pfx, "assignedAgent", r->assigned_agent, 64, LINE, err)) ||
        (e = check_str(pfx, "lastFailureOutput", r->last_failure_output, l->max_output, TEXT, err)) ||
        (e = check_str(pfx, "modelHint", r->model_hint, 64, LINE, err)) ||
        (e = check_str(pfx, "originId", r->origin_id, l->max_id, LINE, err)) ||
        (e = check_list(pfx, "acceptanceCriteria", r->acceptance_criteria, r->n_acceptance_criteria, l->max_string,
                        TEXT, l, err)) ||
        (e = check_list(pfx, "files", r->files, r->n_files, 1024, LINE, l, err)) ||
        (e = check_list(pfx, "dependencies", r->dependencies, r->n_dependencies, l->max_id, LINE, l, err)))
        return e;
    for (size_t i = 0; i < r->n_files; i++) {
        char why[300];
        if (text_path_normalise(r->files[i], why, sizeof(why)) != 0)
            return edge_fail(err, EDGE_BAD_VALUE, "field '%sfiles[%zu]': %s", pfx, i, why);
    }
    if (!m)
        return EDGE_OK;
    if ((e = check_str(pfx, "metadata.phase", m->phase, l->max_id, LINE, err)) ||
        (e = check_str(pfx, "metadata.requestedBy", m->requested_by, l->max_string, LINE, err)) ||
        (e = check_str(pfx, "metadata.deadline", m->deadline, l->max_id, LINE, err)))
        return e;
    if (m->n_extra > l->max_list)
        return edge_fail(err, EDGE_TOO_LONG, "field '%smetadata': %zu keys, at most %zu", pfx, m->n_extra, l->max_list);
    for (size_t i = 0; i < m->n_extra; i++) {
        char name[96];
        if ((e = check_str(pfx, "metadata key", m->extra[i]->key, l->max_id, LINE, err)))
            return e;
        snprintf(name, sizeof(name), "metadata.%s", m->extra[i]->key);
        if ((e = check_str(pfx, name, m->extra[i]->value, l->max_string, TEXT, err)))
            return e;
    }
    return EDGE_OK;
}

edge_reason edge_requirement_check(pb_requirement *r, const edge_limits *l, char err[ERR_LEN])
{
    edge_reason e;
    char why[160];
    size_t n;
    const char *t;

    if (r->n_dependencies > l->max_list)
        return edge_fail(err, EDGE_TOO_LONG, "field 'dependencies': %zu items, at most %zu", r->n_dependencies,
                    l->max_list);
    for (size_t i = 0; i < r->n_dependencies; i++)
        if (!text_id_valid(r->dependencies[i], l->max_id, why, sizeof(why)))
            return edge_fail(err, EDGE_BAD_DEPENDENCY, "field 'dependencies[%zu]': id '%.80s' %s", i,
                        r->dependencies[i], why);
    if (*r->id && !text_id_valid(r->id, l->max_id, why, sizeof(why)))
        return edge_fail(err, EDGE_INVALID_ID, "field 'id': '%.80s' %s", r->id, why);
    if ((e = check_texts(r, "", l, err)))
        return e;
    if (*r->origin_id && !text_id_valid(r->origin_id, l->max_id, why, sizeof(why)))
        return edge_fail(err, EDGE_INVALID_ID, "field 'originId': '%.80s' %s", r->origin_id, why);
    t = r->title;
    n = strlen(t);
    while (n && isspace((unsigned char)*t)) { t++; n--; }
    while (n && isspace((unsigned char)t[n - 1])) n--;
    if (n == 0)
        return edge_fail(err, EDGE_MISSING_FIELD, "field 'title' is %s", *r->title ? "empty" : "missing");
    if (t != r->title || n != strlen(r->title)) {
        char *trimmed = xstrndup(t, n);
        pb_set_str(&r->title, trimmed);
        free(trimmed);
    }
    for (size_t i = 0; i < r->n_dependencies; i++)
        if (*r->id && strcmp(r->dependencies[i], r->id) == 0)
            return edge_fail(err, EDGE_SELF_DEPENDENCY, "field 'dependencies[%zu]': '%s' depends on itself", i, r->id);
    /* As the JSON parser does: a dependency named twice counts once. */
    for (size_t i = 0, kept = 0; i < r->n_dependencies; i++) {
        int seen = 0;
        for (size_t k = 0; k < kept && !seen; k++)
            seen = strcmp(r->dependencies[k], r->dependencies[i]) == 0;
        if (seen)
            free(r->dependencies[i]);
        else
            r->dependencies[kept++] = r->dependencies[i];
        if (i + 1 == r->n_dependencies)
            r->n_dependencies = kept;
    }
    if ((unsigned)r->priority > 4 || (unsigned)r->type > 6 || (unsigned)r->complexity > 4 ||
        (unsigned)r->status > 9)
        return edge_fail(err, EDGE_BAD_VALUE, "an enum field holds a value this version does not know");
    if (r->estimated_tokens > MAX_TOKENS)
        return edge_fail(err, EDGE_BAD_VALUE, "field 'estimatedTokens': more than %llu", (unsigned long long)MAX_TOKENS);
    return EDGE_OK;
}

edge_reason edge_requirement_from_protobuf(const void *data, size_t len, const edge_limits *l,
                                           pb_requirement **out, char err[ERR_LEN])
{
    pb_requirement *r;
    edge_reason e;
    char field[128];
    int nul;

    *out = NULL;
    if (len > l->max_payload)
        return edge_fail(err, EDGE_TOO_LARGE, "message is %zu bytes, at most %zu", len, l->max_payload);
    r = (pb_requirement *)pb_unpack(&orchestrator__v1__requirement__descriptor, data, len, l->max_payload, err);
    if (!r)
        return EDGE_INVALID_PROTOBUF;
    nul = pb_string_has_nul(&orchestrator__v1__requirement__descriptor, data, len, field, sizeof(field));
    if (nul < 0)
        e = edge_fail(err, EDGE_INVALID_PROTOBUF, "Requirement: a field this reader cannot walk (%zu bytes)", len);
    else if (nul)
        e = edge_fail(err, EDGE_CONTROL_CHAR, "field '%s' holds a NUL byte: refused rather than cut short", field);
    else
        e = edge_requirement_check(r, l, err);
    if (!e && *r->assigned_agent) {
        Orchestrator__V1__AgentType t = names_agent_parse(r->assigned_agent);
        if (!t)
            e = edge_fail(err, EDGE_BAD_VALUE, "field 'assignedAgent': unknown agent '%.64s' (known: %s)",
                     r->assigned_agent, NAMES_AGENT_LIST);
        r->type = t; /* as in the JSON, the assigned agent wins over type */
    }
    if (e) {
        orchestrator__v1__requirement__free_unpacked(r, NULL);
        return e;
    }
    r->priority_given = r->priority != 0;
    *out = r;
    return EDGE_OK;
}

static void drop_unknown(ProtobufCMessage *m)
{
    for (size_t i = 0; i < m->n_unknown_fields; i++)
        free(m->unknown_fields[i].data);
    free(m->unknown_fields);
    m->unknown_fields = NULL;
    m->n_unknown_fields = 0;
}

void edge_requirement_strip_internal(pb_requirement *r)
{
    r->confidence = 0;
    r->attempt = 0;
    r->token_budget = 0;
    r->created_at_ms = 0;
    r->intake_seq = 0;
    r->priority_given = r->priority != 0;
    pb_set_str(&r->last_failure_output, "");
    pb_set_str(&r->model_hint, "");
    pb_set_str(&r->origin_id, "");
    for (size_t i = 0; i < r->n_reasons; i++)
        orchestrator__v1__classify_reason__free_unpacked(r->reasons[i], NULL);
    free(r->reasons);
    r->reasons = NULL;
    r->n_reasons = 0;
    drop_unknown(&r->base);
    if (r->metadata)
        drop_unknown(&r->metadata->base);
}

size_t edge_requirement_json_size(const pb_requirement *r)
{
    char *json = edge_requirement_to_json(r);
    size_t n = strlen(json);
    free(json);
    return n;
}
