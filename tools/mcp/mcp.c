/* JSON-RPC framing, the MCP lifecycle and the dispatch of methods (mcp.h
 * has the rules). Pure: the suite is reached through the session's
 * backend, by the tools (mcp_tools.c). */
#include "mcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

const char *const mcp_protocol_versions[] = {MCP_PROTOCOL_LATEST, "2025-06-18", "2025-03-26", "2024-11-05"};
const size_t mcp_protocol_count = sizeof(mcp_protocol_versions) / sizeof(mcp_protocol_versions[0]);

struct mcp_session {
    mcp_config cfg;
    mcp_backend be;
    int answered;     /* initialize was answered */
    int initialized;  /* notifications/initialized came */
};

const char *mcp_negotiate(const char *asked)
{
    for (size_t i = 0; asked && i < mcp_protocol_count; i++)
        if (!strcmp(asked, mcp_protocol_versions[i]))
            return mcp_protocol_versions[i];
    return MCP_PROTOCOL_LATEST;
}

void mcp_config_default(mcp_config *c)
{
    memset(c, 0, sizeof(*c));
    c->failure_max = 2000;
    c->list_limit_max = 100;
    c->version = "0";
}

mcp_session *mcp_session_create(const mcp_config *cfg, const mcp_backend *be)
{
    mcp_session *s = xmalloc(sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    s->be = *be;
    return s;
}

void mcp_session_destroy(mcp_session *s)
{
    free(s);
}

int mcp_initialized(const mcp_session *s)
{
    return s->answered && s->initialized;
}

/* {"jsonrpc":"2.0","id":id} with id copied (null when NULL). */
static cJSON *envelope(const cJSON *id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "jsonrpc", "2.0");
    cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
    return o;
}

static char *print_and_free(cJSON *o)
{
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

static char *error_reply(const cJSON *id, int code, const char *message)
{
    cJSON *o = envelope(id), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    return print_and_free(o);
}

static char *result_reply(const cJSON *id, cJSON *result)
{
    cJSON *o = envelope(id);
    cJSON_AddItemToObject(o, "result", result);
    return print_and_free(o);
}

char *mcp_too_long(size_t max)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "Parse error: a message longer than %zu bytes is not read", max);
    return error_reply(NULL, MCP_PARSE_ERROR, msg);
}

static cJSON *initialize(mcp_session *s, const cJSON *params, char err[MCP_ERR_LEN])
{
    const cJSON *v = cJSON_GetObjectItem(params, "protocolVersion");
    cJSON *r, *caps, *info;
    if (!cJSON_IsString(v)) {
        snprintf(err, MCP_ERR_LEN, "initialize: params.protocolVersion must be a string");
        return NULL;
    }
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "protocolVersion", mcp_negotiate(v->valuestring));
    caps = cJSON_AddObjectToObject(r, "capabilities");
    cJSON_AddBoolToObject(cJSON_AddObjectToObject(caps, "tools"), "listChanged", 0);
    info = cJSON_AddObjectToObject(caps, "resources");
    cJSON_AddBoolToObject(info, "subscribe", 0);
    cJSON_AddBoolToObject(info, "listChanged", 0);
    info = cJSON_AddObjectToObject(r, "serverInfo");
    cJSON_AddStringToObject(info, "name", "orch-mcp");
    cJSON_AddStringToObject(info, "title", "Orchestrator suite");
    cJSON_AddStringToObject(info, "version", s->cfg.version);
    cJSON_AddStringToObject(r, "instructions",
                            s->cfg.allow_writes
                                ? "Tools of an orchestrator of coding agents: submit requirements, read their status, "
                                  "the list, the dashboard and the agents, and retry escalated work."
                                : "Tools of an orchestrator of coding agents: submit requirements, read their status, "
                                  "the list, the dashboard and the agents. Read-only otherwise: retry is not enabled.");
    s->answered = 1;
    return r;
}

/* A request's answer: a result, or an error code with message in err. */
static cJSON *dispatch(mcp_session *s, const char *method, const cJSON *params, int *code, char err[MCP_ERR_LEN])
{
    cJSON *r;
    *code = 0;
    if (!strcmp(method, "initialize")) {
        if (!(r = initialize(s, params, err)))
            *code = MCP_INVALID_PARAMS;
        return r;
    }
    if (!strcmp(method, "ping"))
        return cJSON_CreateObject();
    if (!s->answered) {
        *code = MCP_INVALID_REQUEST;
        snprintf(err, MCP_ERR_LEN, "%.100s before initialize: send initialize first", method);
        return NULL;
    }
    if (cJSON_IsNull(params))
        params = NULL; /* as if left out */
    if (params && !cJSON_IsObject(params)) {
        *code = MCP_INVALID_PARAMS;
        snprintf(err, MCP_ERR_LEN, "%.100s: params must be an object", method);
        return NULL;
    }
    if (!strcmp(method, "tools/list")) {
        r = cJSON_CreateObject();
        cJSON_AddItemToObject(r, "tools", mcp_tools_list(&s->cfg));
        return r;
    }
    if (!strcmp(method, "tools/call")) {
        const cJSON *name = cJSON_GetObjectItem(params, "name"), *args = cJSON_GetObjectItem(params, "arguments");
        cJSON *empty = NULL;
        *code = MCP_INVALID_PARAMS;
        if (!cJSON_IsString(name)) {
            snprintf(err, MCP_ERR_LEN, "tools/call: params.name must be a string, the tool's name");
            return NULL;
        }
        if (args && !cJSON_IsObject(args) && !cJSON_IsNull(args)) {
            snprintf(err, MCP_ERR_LEN, "tools/call: params.arguments must be an object");
            return NULL;
        }
        if (!cJSON_IsObject(args))
            args = empty = cJSON_CreateObject();
        r = mcp_tools_call(&s->cfg, &s->be, name->valuestring, args);
        cJSON_Delete(empty);
        if (!r) {
            snprintf(err, MCP_ERR_LEN, "Unknown tool: %.100s", name->valuestring);
            return NULL;
        }
        *code = 0;
        return r;
    }
    if (!strcmp(method, "resources/list")) {
        r = cJSON_CreateObject();
        cJSON_AddItemToObject(r, "resources", mcp_resources_list(&s->be));
        return r;
    }
    if (!strcmp(method, "resources/templates/list")) {
        r = cJSON_CreateObject();
        cJSON_AddItemToObject(r, "resourceTemplates", mcp_resource_templates());
        return r;
    }
    if (!strcmp(method, "resources/read")) {
        const cJSON *uri = cJSON_GetObjectItem(params, "uri");
        cJSON *contents;
        if (!cJSON_IsString(uri)) {
            *code = MCP_INVALID_PARAMS;
            snprintf(err, MCP_ERR_LEN, "resources/read: params.uri must be a string");
            return NULL;
        }
        if (!(contents = mcp_resource_read(&s->be, uri->valuestring, code, err)))
            return NULL;
        r = cJSON_CreateObject();
        cJSON_AddItemToObject(r, "contents", contents);
        return r;
    }
    *code = MCP_METHOD_NOT_FOUND;
    snprintf(err, MCP_ERR_LEN, "Method not found: %.100s", method);
    return NULL;
}

void mcp_handle_line(mcp_session *s, const char *line, size_t len, char **reply)
{
    cJSON *msg, *result;
    const cJSON *id, *method, *ver;
    char err[MCP_ERR_LEN];
    int code;

    *reply = NULL;
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len == 0)
        return; /* a blank line carries no message */
    if (!(msg = cJSON_ParseWithLength(line, len))) {
        *reply = error_reply(NULL, MCP_PARSE_ERROR, "Parse error: the line is not JSON");
        return;
    }
    if (!cJSON_IsObject(msg)) {
        *reply = error_reply(NULL, MCP_INVALID_REQUEST,
                             cJSON_IsArray(msg) ? "Invalid Request: batches are not supported; send one message a line"
                                                : "Invalid Request: a message is a JSON object");
        goto out;
    }
    id = cJSON_GetObjectItem(msg, "id");
    method = cJSON_GetObjectItem(msg, "method");
    ver = cJSON_GetObjectItem(msg, "jsonrpc");
    if (id && !cJSON_IsString(id) && !cJSON_IsNumber(id)) {
        *reply = error_reply(NULL, MCP_INVALID_REQUEST, "Invalid Request: id must be a string or a number");
        goto out;
    }
    if (!cJSON_IsString(ver) || strcmp(ver->valuestring, "2.0")) {
        *reply = error_reply(id, MCP_INVALID_REQUEST, "Invalid Request: jsonrpc must be \"2.0\"");
        goto out;
    }
    if (!method && (cJSON_GetObjectItem(msg, "result") || cJSON_GetObjectItem(msg, "error")))
        goto out; /* an answer to a request this server never sends */
    if (!cJSON_IsString(method)) {
        *reply = error_reply(id, MCP_INVALID_REQUEST, "Invalid Request: method must be a string");
        goto out;
    }
    if (!id) {
        if (!strcmp(method->valuestring, "notifications/initialized"))
            s->initialized = 1;
        goto out; /* notifications are never answered */
    }
    result = dispatch(s, method->valuestring, cJSON_GetObjectItem(msg, "params"), &code, err);
    *reply = result ? result_reply(id, result) : error_reply(id, code, err);
out:
    cJSON_Delete(msg);
}
