/* The JSON readers and writers every edge mapping shares (edge_int.h):
 * the checks before any field is looked at, one field of each kind, and
 * printing that always decodes strictly. */
#include "edge_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "text.h"

edge_reason edge_fail(char err[ERR_LEN], edge_reason r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, ERR_LEN, fmt, ap);
    va_end(ap);
    return r;
}

const char *edge_jtype(const cJSON *j)
{
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "true/false";
    if (cJSON_IsNull(j)) return "null";
    if (cJSON_IsArray(j)) return "a list";
    if (cJSON_IsObject(j)) return "an object";
    return "something else";
}

/* Size, UTF-8, depth and syntax, before any field is looked at. */
edge_reason edge_parse_root(const char *buf, size_t len, const edge_limits *l, cJSON **root,
                              char err[ERR_LEN])
{
    size_t bad = 0, i;
    int depth = 0, in_str = 0, esc = 0;
    const char *end = NULL;

    *root = NULL;
    if (len > l->max_payload)
        return edge_fail(err, EDGE_TOO_LARGE, "message is %zu bytes, at most %zu", len, l->max_payload);
    for (i = 0; i < len && isspace((unsigned char)buf[i]); i++)
        ;
    if (i == len)
        return edge_fail(err, EDGE_EMPTY, "message is empty");
    if (!text_utf8_valid(buf, len, &bad))
        return edge_fail(err, EDGE_INVALID_UTF8, "invalid UTF-8 at byte %zu", bad);
    for (i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > l->max_depth)
                return edge_fail(err, EDGE_TOO_DEEP, "nested deeper than %d levels at byte %zu", l->max_depth, i);
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!*root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= buf && at <= buf + len ? (size_t)(at - buf) : 0;
        return edge_fail(err, EDGE_INVALID_JSON, "invalid JSON near byte %zu", off);
    }
    for (i = end ? (size_t)(end - buf) : len; i < len; i++) {
        if (!isspace((unsigned char)buf[i])) {
            cJSON_Delete(*root);
            *root = NULL;
            return edge_fail(err, EDGE_INVALID_JSON, "unexpected text after the JSON value at byte %zu", i);
        }
    }
    return EDGE_OK;
}

/* The first of the given spellings present in o ("assignedAgent",
 * "assigned_agent"); NULL when none is. A JSON null counts as absent. */
const cJSON *edge_item2(const cJSON *o, const char *a, const char *b, const char **used)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, a);
    *used = a;
    if ((!j || cJSON_IsNull(j)) && b) {
        j = cJSON_GetObjectItemCaseSensitive(o, b);
        if (j)
            *used = b;
    }
    return j && !cJSON_IsNull(j) ? j : NULL;
}

edge_reason edge_get_string(const cJSON *o, const char *pfx, const char *key, const char *alt,
                              size_t max, int required, const char **out, char err[ERR_LEN])
{
    const char *name;
    const cJSON *j = edge_item2(o, key, alt, &name);
    size_t n;

    *out = NULL;
    if (!j) {
        if (required)
            return edge_fail(err, EDGE_MISSING_FIELD, "field '%s%s' is missing", pfx, key);
        return EDGE_OK;
    }
    if (!cJSON_IsString(j))
        return edge_fail(err, EDGE_WRONG_TYPE, "field '%s%s': expected a string, got %s", pfx, name, edge_jtype(j));
    n = strlen(j->valuestring);
    if (n > max)
        return edge_fail(err, EDGE_TOO_LONG, "field '%s%s': %zu bytes, at most %zu", pfx, name, n, max);
    *out = j->valuestring;
    return EDGE_OK;
}

edge_reason edge_get_id(const cJSON *o, const char *pfx, const char *key, const char *alt, size_t max,
                        const edge_limits *l, int required, edge_reason bad, const char **out, char err[ERR_LEN])
{
    char why[160];
    edge_reason e = edge_get_string(o, pfx, key, alt, max, required, out, err);
    if (e || !*out || (!**out && !required))
        return e;
    if (!text_id_valid(*out, l->max_id, why, sizeof(why)))
        return edge_fail(err, bad, "field '%s%s': '%.80s' %s", pfx, key, *out, why);
    return EDGE_OK;
}

edge_reason edge_get_uint(const cJSON *o, const char *pfx, const char *key, const char *alt,
                            uint64_t max, uint64_t *out, int *present, char err[ERR_LEN])
{
    const char *name;
    const cJSON *j = edge_item2(o, key, alt, &name);
    double d;

    if (present)
        *present = 0;
    if (!j)
        return EDGE_OK;
    if (!cJSON_IsNumber(j))
        return edge_fail(err, EDGE_WRONG_TYPE, "field '%s%s': expected a number, got %s", pfx, name, edge_jtype(j));
    d = j->valuedouble;
    /* range before the cast: casting an out-of-range double is undefined */
    if (d > (double)max)
        return edge_fail(err, EDGE_BAD_VALUE, "field '%s%s': %.0f is more than %llu", pfx, name, d,
                    (unsigned long long)max);
    if (d < 0 || d != (double)(uint64_t)d)
        return edge_fail(err, EDGE_BAD_VALUE, "field '%s%s': expected a whole number >= 0", pfx, name);
    *out = (uint64_t)d;
    if (present)
        *present = 1;
    return EDGE_OK;
}

edge_reason edge_get_bool(const cJSON *o, const char *pfx, const char *key, int *out, char err[ERR_LEN])
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j || cJSON_IsNull(j))
        return EDGE_OK;
    if (!cJSON_IsBool(j))
        return edge_fail(err, EDGE_WRONG_TYPE, "field '%s%s': expected true or false, got %s", pfx, key, edge_jtype(j));
    *out = cJSON_IsTrue(j);
    return EDGE_OK;
}

/* A list of strings. ids: each item must be a safe id; then every problem
 * is reported with the reason given in id_reason. */
edge_reason edge_get_list(const cJSON *o, const char *pfx, const char *key, const char *alt,
                            const edge_limits *l, size_t max_len, int ids, edge_reason id_reason,
                            char ***arr, size_t *n, char err[ERR_LEN])
{
    const char *name;
    const cJSON *j = edge_item2(o, key, alt, &name);
    const cJSON *it;
    size_t i = 0;

    if (!j)
        return EDGE_OK;
    if (!cJSON_IsArray(j))
        return edge_fail(err, ids ? id_reason : EDGE_WRONG_TYPE, "field '%s%s': expected a list of %s, got %s",
                    pfx, name, ids ? "ids" : "strings", edge_jtype(j));
    if ((size_t)cJSON_GetArraySize(j) > l->max_list)
        return edge_fail(err, EDGE_TOO_LONG, "field '%s%s': %d items, at most %zu", pfx, name,
                    cJSON_GetArraySize(j), l->max_list);
    cJSON_ArrayForEach(it, j) {
        char why[160];
        if (!cJSON_IsString(it))
            return edge_fail(err, ids ? id_reason : EDGE_WRONG_TYPE, "field '%s%s[%zu]': expected %s, got %s",
                        pfx, name, i, ids ? "an id string" : "a string", edge_jtype(it));
        if (ids && !text_id_valid(it->valuestring, l->max_id, why, sizeof(why)))
            return edge_fail(err, id_reason, "field '%s%s[%zu]': id '%.80s' %s", pfx, name, i, it->valuestring, why);
        if (strlen(it->valuestring) > max_len)
            return edge_fail(err, EDGE_TOO_LONG, "field '%s%s[%zu]': %zu bytes, at most %zu", pfx, name, i,
                        strlen(it->valuestring), max_len);
        if (ids) {
            int dup = 0;
            for (size_t k = 0; k < *n; k++)
                dup |= strcmp((*arr)[k], it->valuestring) == 0;
            if (dup) {
                i++;
                continue;
            }
        }
        pb_add_str(arr, n, it->valuestring);
        i++;
    }
    return EDGE_OK;
}

edge_reason edge_get_agent(const cJSON *o, const char *pfx, const char *key, const char *alt,
                             Orchestrator__V1__AgentType *out, const char **given, char err[ERR_LEN])
{
    const char *s;
    edge_reason r = edge_get_string(o, pfx, key, alt, 64, 0, &s, err);
    if (given)
        *given = s;
    if (r || !s || !*s)
        return r;
    *out = names_agent_parse(s);
    if (!*out)
        return edge_fail(err, EDGE_BAD_VALUE, "field '%s%s': unknown agent '%.64s' (known: %s)", pfx, key, s,
                    NAMES_AGENT_LIST);
    return EDGE_OK;
}

void edge_add_str_if(cJSON *o, const char *key, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(o, key, v);
}

void edge_add_list(cJSON *o, const char *key, char **v, size_t n)
{
    cJSON *a = cJSON_AddArrayToObject(o, key);
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
}

/* Every JSON the edge writes decodes strictly: a string cut short
 * somewhere upstream (a byte limit inside a character) or bytes from
 * outside that no check saw would otherwise reach agents as invalid UTF-8,
 * which strict decoders refuse whole. cJSON copies such bytes as they are;
 * each is replaced by '?' here, after printing, where only string contents
 * can hold them. */
char *edge_print_and_free(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) {
        fprintf(stderr, "fatal: out of memory printing JSON\n");
        abort();
    }
    text_utf8_repair(s);
    return s;
}
