/* orch-mcp's pure core: the Model Context Protocol (revision 2025-11-25,
 * and the earlier ones it names below) over newline-delimited JSON-RPC 2.0,
 * with the suite's tools and resources. No NATS here: what the suite knows
 * comes through an mcp_backend, so a unit test answers in its place.
 *
 * One line in, at most one line out (mcp_handle_line). The rules, in the
 * order they are checked:
 *   - a line that is not JSON: error -32700, id null;
 *   - an array (a batch; the 2025-06-18 revision removed them), a message
 *     without "jsonrpc":"2.0", a method that is not a string, an id that is
 *     neither a string nor a number: -32600;
 *   - a message without an id is a notification: never answered
 *     (notifications/initialized marks the session ready; others are let
 *     be); a client's answer (result or error, no method) is let be too;
 *   - before initialize only initialize and ping are served (-32600
 *     otherwise, saying so);
 *   - initialize: the client's protocolVersion is answered as it is when
 *     this server speaks it, else with the newest it speaks (the client then
 *     decides whether to go on); a missing protocolVersion is -32602;
 *   - an unknown method: -32601; bad params of a method (no tool name, an
 *     unknown tool, arguments that are not an object, an unknown resource):
 *     -32602, or -32002 for a resource not found.
 * A tool's own failure (a bad argument, the suite refusing or not answering)
 * is a result with isError true and a text saying what: the model reads it
 * and can correct itself; a bad argument names its field. */
#ifndef ORCH_MCP_H
#define ORCH_MCP_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define MCP_ERR_LEN 512

/* JSON-RPC error codes (JSON-RPC 2.0; -32002 is MCP's resource not found). */
#define MCP_PARSE_ERROR -32700
#define MCP_INVALID_REQUEST -32600
#define MCP_METHOD_NOT_FOUND -32601
#define MCP_INVALID_PARAMS -32602
#define MCP_RESOURCE_NOT_FOUND -32002

/* The newest revision spoken, and how many are (newest first). */
#define MCP_PROTOCOL_LATEST "2025-11-25"
extern const char *const mcp_protocol_versions[];
extern const size_t mcp_protocol_count;

/* The version to answer an initialize asking for `asked` (may be NULL):
 * asked when spoken here, else MCP_PROTOCOL_LATEST. Borrowed. */
const char *mcp_negotiate(const char *asked);

/* What a tool asks of the suite (mcp_backend.ask). */
typedef enum {
    MCP_ASK_STATUS,         /* orch.status.<param>: one requirement */
    MCP_ASK_LIST,           /* orch.scheduler.list with body param ("" or {"offset":N}) */
    MCP_ASK_DASHBOARD,      /* orch.dashboard, its JSON document; param unused */
    MCP_ASK_DASHBOARD_TEXT, /* orch.dashboard as people read it: *out a JSON string */
    MCP_ASK_RETRY           /* orch.scheduler.retry of id param */
} mcp_ask_kind;

/* The suite as the core sees it. Every function returns 0 with *out the
 * answer (the caller deletes it), or -1 with err saying what went wrong in
 * words a model can relay: the service's own error, or that nothing
 * answered within the bound and which service should have; ask returns
 * MCP_NOT_FOUND instead when the service answered that there is no such
 * thing (its error code 404). */
#define MCP_NOT_FOUND -2
typedef struct {
    void *arg;
    int (*ask)(void *arg, mcp_ask_kind k, const char *param, cJSON **out, char err[MCP_ERR_LEN]);
    /* Submits body (the seed's JSON: one object or an array of them, as
     * intake takes it) and waits for what the router made of it. *out:
     * {"accepted":[{"id","type","priority","title"}...],
     *  "refused":[{"item":k (1-based, when the router named one),
     *              "id" (when known),"reason","message"}...]}; a refusal of
     * the whole message is one refused entry without an item. */
    int (*submit)(void *arg, const char *body, cJSON **out, char err[MCP_ERR_LEN]);
} mcp_backend;

typedef struct {
    int allow_writes;        /* retry (and later people's commands) enabled */
    size_t failure_max;      /* bytes of a last failure output shown (status) */
    int list_limit_max;      /* the most rows one list_requirements page has */
    const char *version;     /* serverInfo.version */
} mcp_config;

/* Defaults: read-only, 2,000 bytes of failure output, 100 rows a page. */
void mcp_config_default(mcp_config *c);

typedef struct mcp_session mcp_session;

/* cfg and be are copied; be->arg stays the caller's. */
mcp_session *mcp_session_create(const mcp_config *cfg, const mcp_backend *be);
void mcp_session_destroy(mcp_session *s);

/* Handles one line (without its newline; len bytes, need not be
 * NUL-terminated). *reply: the line to write back (malloc'd, no newline),
 * or NULL when nothing is to be written (a notification). */
void mcp_handle_line(mcp_session *s, const char *line, size_t len, char **reply);

/* A line longer than the reader's bound: the -32700 answer to write
 * (malloc'd), saying the bound. */
char *mcp_too_long(size_t max);

/* Whether the session saw initialize answered, and initialized. */
int mcp_initialized(const mcp_session *s);

/* The tools (mcp_tools.c), for the dispatcher. */

/* The tools/list result's "tools" array: those the config enables. */
cJSON *mcp_tools_list(const mcp_config *c);

/* Calls tool name with args (an object; borrowed). Returns the
 * CallToolResult, or NULL when there is no such tool (a protocol error
 * for the caller). */
cJSON *mcp_tools_call(const mcp_config *c, const mcp_backend *be, const char *name, const cJSON *args);

/* resources/list's "resources", resources/templates/list's
 * "resourceTemplates", and resources/read of uri: its "contents", or NULL
 * with *code and err set (-32002 not found, or -32603 the suite failed). */
cJSON *mcp_resources_list(const mcp_backend *be);
cJSON *mcp_resource_templates(void);
cJSON *mcp_resource_read(const mcp_backend *be, const char *uri, int *code, char err[MCP_ERR_LEN]);

#endif
