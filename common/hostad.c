/* Host adverts (hostad.h). */
#include "hostad.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

char *hostad_to_json(const hostad *a)
{
    cJSON *j = cJSON_CreateObject(), *cap, *run, *inst;
    char *out;
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "host", a->host);
    cJSON_AddStringToObject(j, "nonce", a->nonce);
    cJSON_AddNumberToObject(j, "slots", a->slots);
    if (a->memory_mb)
        cJSON_AddNumberToObject(j, "memoryMb", (double)a->memory_mb);
    cap = cJSON_AddObjectToObject(j, "cap");
    run = cJSON_AddObjectToObject(j, "running");
    for (int t = 1; t < NAMES_AGENT_TYPES; t++) {
        const char *name = names_agent_type((Orchestrator__V1__AgentType)t);
        if (a->cap[t])
            cJSON_AddNumberToObject(cap, name, a->cap[t]);
        if (a->running[t])
            cJSON_AddNumberToObject(run, name, a->running[t]);
    }
    inst = cJSON_AddArrayToObject(j, "instances");
    for (int i = 0; i < a->n_instances; i++)
        cJSON_AddItemToArray(inst, cJSON_CreateString(a->instances[i]));
    out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return out;
}

static int bad(char *err, size_t len, const char *fmt, const char *what)
{
    snprintf(err, len, fmt, what);
    return -1;
}

/* A count per agent type: {"backend":2}; unknown types and counts out of
 * 0..max are refused. */
static int per_type(const cJSON *o, const char *key, int max, int out[NAMES_AGENT_TYPES], char *err, size_t len)
{
    const cJSON *it;
    if (!o)
        return 0;
    if (!cJSON_IsObject(o))
        return bad(err, len, "'%s' is not an object", key);
    cJSON_ArrayForEach(it, o)
    {
        int t = (int)names_agent_parse(it->string);
        if (!t)
            return bad(err, len, "'%s' names an unknown agent type", key);
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > max)
            return bad(err, len, "'%s' holds a count out of range", key);
        out[t] = (int)it->valuedouble;
    }
    return 0;
}

int hostad_from_json(const char *buf, size_t len, const char *subject_host, hostad *out, char *err, size_t errlen)
{
    cJSON *j = NULL;
    const cJSON *host, *nonce, *slots, *mem, *inst, *it;
    int rc = -1;
    char why[128];

    memset(out, 0, sizeof(*out));
    if (!buf || len == 0 || len > HOSTAD_BYTES_MAX) {
        snprintf(err, errlen, "an advert of %zu bytes (1..%d)", len, HOSTAD_BYTES_MAX);
        return -1;
    }
    if (!(j = cJSON_ParseWithLength(buf, len)) || !cJSON_IsObject(j)) {
        snprintf(err, errlen, "an advert that is not a JSON object");
        goto out;
    }
    host = cJSON_GetObjectItemCaseSensitive(j, "host");
    nonce = cJSON_GetObjectItemCaseSensitive(j, "nonce");
    slots = cJSON_GetObjectItemCaseSensitive(j, "slots");
    mem = cJSON_GetObjectItemCaseSensitive(j, "memoryMb");
    inst = cJSON_GetObjectItemCaseSensitive(j, "instances");
    if (!cJSON_IsString(host) || !text_id_valid(host->valuestring, HOSTAD_ID_MAX, why, sizeof(why))) {
        snprintf(err, errlen, "'host' is not a host id: %s", cJSON_IsString(host) ? why : "missing");
        goto out;
    }
    if (subject_host && strcmp(subject_host, host->valuestring)) {
        /* the body's host is a checked token; the subject's is not said */
        snprintf(err, errlen, "the subject names another host than the body's %s", host->valuestring);
        goto out;
    }
    if (!cJSON_IsString(nonce) || !text_id_valid(nonce->valuestring, HOSTAD_NONCE_MAX, why, sizeof(why))) {
        snprintf(err, errlen, "'nonce' is not a token of at most %d characters", HOSTAD_NONCE_MAX);
        goto out;
    }
    if (!cJSON_IsNumber(slots) || slots->valuedouble < 1 || slots->valuedouble > HOSTAD_SLOTS_MAX) {
        snprintf(err, errlen, "'slots' is not a number in 1..%d", HOSTAD_SLOTS_MAX);
        goto out;
    }
    if (mem && (!cJSON_IsNumber(mem) || mem->valuedouble < 0 || mem->valuedouble > 1e12)) {
        snprintf(err, errlen, "'memoryMb' is not a number in 0..1e12");
        goto out;
    }
    snprintf(out->host, sizeof(out->host), "%s", host->valuestring);
    snprintf(out->nonce, sizeof(out->nonce), "%s", nonce->valuestring);
    out->slots = (int)slots->valuedouble;
    out->memory_mb = mem ? (long long)mem->valuedouble : 0;
    if (per_type(cJSON_GetObjectItemCaseSensitive(j, "cap"), "cap", HOSTAD_SLOTS_MAX, out->cap, err, errlen) ||
        per_type(cJSON_GetObjectItemCaseSensitive(j, "running"), "running", HOSTAD_INSTANCES_MAX, out->running, err,
                 errlen))
        goto out;
    if (inst && !cJSON_IsArray(inst)) {
        snprintf(err, errlen, "'instances' is not an array");
        goto out;
    }
    if (cJSON_GetArraySize(inst) > HOSTAD_INSTANCES_MAX) {
        snprintf(err, errlen, "more than %d instances", HOSTAD_INSTANCES_MAX);
        goto out;
    }
    cJSON_ArrayForEach(it, inst)
    {
        if (!cJSON_IsString(it) || !text_id_valid(it->valuestring, HOSTAD_INSTANCE_LEN - 1, why, sizeof(why))) {
            snprintf(err, errlen, "an instance name that is not a token: %s", cJSON_IsString(it) ? why : "not a string");
            goto out;
        }
        snprintf(out->instances[out->n_instances++], HOSTAD_INSTANCE_LEN, "%s", it->valuestring);
    }
    rc = 0;
out:
    cJSON_Delete(j);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

void hostad_sanitise_id(const char *in, char out[HOSTAD_ID_MAX + 1])
{
    size_t n = 0;
    for (; in && in[n] && n < HOSTAD_ID_MAX; n++) {
        char c = in[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        out[n] = ok ? c : '-';
    }
    out[n] = '\0';
    if (!n)
        snprintf(out, HOSTAD_ID_MAX + 1, "host");
}
