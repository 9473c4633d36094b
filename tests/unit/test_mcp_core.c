/* orch-mcp's pure core (tools/mcp/mcp.c, mcp_tools.c): JSON-RPC framing,
 * the lifecycle and protocol-version negotiation, malformed messages, and
 * tool arguments checked before the suite is asked, a bad one named. The
 * backend here records whether it was asked; it never answers for the
 * suite (the integration test, test_mcp, asks the real one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "mcp.h"

static int asked;

static int ask_unreachable(void *arg, mcp_ask_kind k, const char *param, cJSON **out, char err[MCP_ERR_LEN])
{
    (void)arg, (void)k, (void)param;
    asked++;
    *out = NULL;
    strcpy(err, "no answer on orch.status.X within 5000 ms");
    return -1;
}

static int submit_unreachable(void *arg, const char *body, cJSON **out, char err[MCP_ERR_LEN])
{
    (void)arg, (void)body;
    asked++;
    *out = NULL;
    strcpy(err, "no router answered");
    return -1;
}

static mcp_session *session(int writes)
{
    mcp_config c;
    mcp_backend b = {NULL, ask_unreachable, submit_unreachable};
    mcp_config_default(&c);
    c.allow_writes = writes;
    asked = 0;
    return mcp_session_create(&c, &b);
}

/* One line in, its reply parsed (NULL when none). */
static cJSON *call(mcp_session *s, const char *line)
{
    char *reply = NULL;
    cJSON *j;
    mcp_handle_line(s, line, strlen(line), &reply);
    if (!reply)
        return NULL;
    j = cJSON_Parse(reply);
    assert_non_null(j);
    free(reply);
    return j;
}

static int error_code(const cJSON *r)
{
    const cJSON *e = cJSON_GetObjectItem(r, "error");
    assert_non_null(e);
    return (int)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "code"));
}

static mcp_session *ready(int writes)
{
    mcp_session *s = session(writes);
    cJSON *r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                       "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
    cJSON_Delete(r);
    assert_null(call(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
    assert_true(mcp_initialized(s));
    return s;
}

/* A tools/call's result; the text of its first content in *text. */
static cJSON *tool(mcp_session *s, const char *name, const char *args, const char **text)
{
    char line[2048];
    cJSON *r, *res;
    snprintf(line, sizeof(line), "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
                                 "\"arguments\":%s}}", name, args);
    r = call(s, line);
    assert_non_null(r);
    res = cJSON_DetachItemFromObject(r, "result");
    cJSON_Delete(r);
    assert_non_null(res);
    *text = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "content"), 0), "text"));
    assert_non_null(*text);
    return res;
}

static void a_version_spoken_is_answered_as_asked_and_another_with_the_newest(void **state)
{
    (void)state;
    assert_string_equal(mcp_negotiate("2025-06-18"), "2025-06-18");
    assert_string_equal(mcp_negotiate("2024-11-05"), "2024-11-05");
    assert_string_equal(mcp_negotiate(MCP_PROTOCOL_LATEST), MCP_PROTOCOL_LATEST);
    assert_string_equal(mcp_negotiate("1999-01-01"), MCP_PROTOCOL_LATEST);
    assert_string_equal(mcp_negotiate(""), MCP_PROTOCOL_LATEST);
    assert_string_equal(mcp_negotiate(NULL), MCP_PROTOCOL_LATEST);
}

static void initialize_answers_the_version_capabilities_and_server(void **state)
{
    mcp_session *s = session(0);
    cJSON *r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                       "\"2030-01-01\",\"capabilities\":{}}}"), *res;
    (void)state;
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "id")), "a");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "jsonrpc")), "2.0");
    res = cJSON_GetObjectItem(r, "result");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(res, "protocolVersion")), MCP_PROTOCOL_LATEST);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "capabilities"), "tools"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "capabilities"), "resources"));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "serverInfo"), "name")),
                        "orch-mcp");
    assert_false(mcp_initialized(s)); /* not before notifications/initialized */
    cJSON_Delete(r);
    r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{}}");
    assert_int_equal(error_code(r), MCP_INVALID_PARAMS);
    cJSON_Delete(r);
    mcp_session_destroy(s);
}

static void only_initialize_and_ping_come_before_initialize(void **state)
{
    mcp_session *s = session(0);
    cJSON *r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    (void)state;
    assert_int_equal(error_code(r), MCP_INVALID_REQUEST);
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "error"), "message")),
                           "initialize"));
    cJSON_Delete(r);
    r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}");
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(r, "result")));
    cJSON_Delete(r);
    mcp_session_destroy(s);
}

static void malformed_lines_get_the_json_rpc_errors(void **state)
{
    static const struct {
        const char *line;
        int code, id; /* id 0: answered with id null */
    } bad[] = {
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":", MCP_PARSE_ERROR, 0}, /* cut short */
        {"[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]", MCP_INVALID_REQUEST, 0},
        {"{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"ping\"}", MCP_INVALID_REQUEST, 3},
        {"{\"jsonrpc\":\"2.0\",\"id\":{\"x\":1},\"method\":\"ping\"}", MCP_INVALID_REQUEST, 0},
        {"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":42}", MCP_INVALID_REQUEST, 4},
        {"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\",\"params\":[]}", MCP_INVALID_PARAMS, 5},
        {"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/destroy\"}", MCP_METHOD_NOT_FOUND, 6},
        {"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"no_such_tool\"}}",
         MCP_INVALID_PARAMS, 7},
        {"{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":\"status\",\"arguments\":[1]}}",
         MCP_INVALID_PARAMS, 8},
        {"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"arguments\":{}}}", MCP_INVALID_PARAMS,
         9},
        {"{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///etc/passwd\"}}",
         MCP_RESOURCE_NOT_FOUND, 10},
    };
    mcp_session *s = ready(0);
    cJSON *r;
    char *reply = NULL;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = call(s, bad[i].line);
        if (error_code(r) != bad[i].code)
            fail_msg("%s: code %d, not %d", bad[i].line, error_code(r), bad[i].code);
        /* the id is the request's when it could be read, else null */
        if (bad[i].id ? (int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "id")) != bad[i].id
                      : !cJSON_IsNull(cJSON_GetObjectItem(r, "id")))
            fail_msg("%s: not answered with id %d", bad[i].line, bad[i].id);
        cJSON_Delete(r);
    }
    r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/list\",\"params\":null}");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "tools")));
    cJSON_Delete(r);
    /* a blank line, a notification and a client's answer get nothing back */
    mcp_handle_line(s, "  \r", 3, &reply);
    assert_null(reply);
    assert_null(call(s, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{}}"));
    assert_null(call(s, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}"));
    /* a line too long for the reader */
    reply = mcp_too_long(16);
    r = cJSON_Parse(reply);
    assert_int_equal(error_code(r), MCP_PARSE_ERROR);
    cJSON_Delete(r);
    free(reply);
    assert_int_equal(asked, 0);
    mcp_session_destroy(s);
}

static void a_bad_argument_is_a_tool_error_naming_the_field_before_anything_is_asked(void **state)
{
    static const struct {
        const char *tool, *args, *field;
    } cases[] = {
        {"status", "{}", "'id'"},
        {"status", "{\"id\":42}", "'id'"},
        {"status", "{\"id\":\"REQ 1\"}", "'id'"},
        {"status", "{\"id\":\"REQ-1\",\"verbose\":true}", "'verbose'"},
        {"list_requirements", "{\"limit\":0}", "'limit'"},
        {"list_requirements", "{\"limit\":2.5}", "'limit'"},
        {"list_requirements", "{\"offset\":\"x\"}", "'offset'"},
        {"list_requirements", "{\"state\":\"SLEEPING\"}", "'state'"},
        {"list_requirements", "{\"type\":\"plumber\"}", "'type'"},
        {"list_requirements", "{\"priority\":7}", "'priority'"},
        {"submit_requirements", "{}", "'requirements'"},
        {"submit_requirements", "{\"requirements\":[]}", "'requirements'"},
        {"submit_requirements", "{\"requirements\":[\"x\"]}", "'requirements'"},
        {"submit_requirements", "{\"requirements\":[{\"title\":\"a\"},{\"description\":\"no title\"}]}", "title"},
        {"submit_requirements", "{\"requirements\":[{\"title\":\"a\",\"files\":\"one.c\"}]}", "files"},
        {"dashboard", "{\"watch\":true}", "'watch'"},
    };
    mcp_session *s = ready(0);
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *text;
        cJSON *res = tool(s, cases[i].tool, cases[i].args, &text);
        if (!cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")) || !strstr(text, cases[i].field))
            fail_msg("%s %s: %s (isError %d)", cases[i].tool, cases[i].args, text,
                     cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
        cJSON_Delete(res);
    }
    assert_int_equal(asked, 0);
    mcp_session_destroy(s);
}

static void a_suite_that_does_not_answer_is_a_tool_error_saying_so(void **state)
{
    mcp_session *s = ready(0);
    const char *text;
    cJSON *res = tool(s, "status", "{\"id\":\"REQ-1\"}", &text);
    (void)state;
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(res, "isError")));
    assert_non_null(strstr(text, "no answer"));
    assert_int_equal(asked, 1);
    cJSON_Delete(res);
    mcp_session_destroy(s);
}

static void retry_is_listed_and_served_only_when_writes_are_allowed(void **state)
{
    mcp_session *s = ready(0);
    cJSON *r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}"), *t;
    const char *text;
    int n = 0, retry = 0;
    (void)state;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "tools")) {
        n++;
        retry |= !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(t, "name")), "retry");
        assert_true(cJSON_IsObject(cJSON_GetObjectItem(t, "inputSchema")));
    }
    assert_int_equal(n, 5);
    assert_false(retry);
    cJSON_Delete(r);
    r = tool(s, "retry", "{\"id\":\"REQ-1\"}", &text);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "isError")));
    assert_non_null(strstr(text, "read-only"));
    assert_int_equal(asked, 0);
    cJSON_Delete(r);
    mcp_session_destroy(s);

    s = ready(1);
    r = call(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "tools")), 6);
    cJSON_Delete(r);
    r = tool(s, "retry", "{\"id\":\"REQ-1\"}", &text);
    assert_int_equal(asked, 1); /* asked the suite this time */
    cJSON_Delete(r);
    mcp_session_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_version_spoken_is_answered_as_asked_and_another_with_the_newest),
        cmocka_unit_test(initialize_answers_the_version_capabilities_and_server),
        cmocka_unit_test(only_initialize_and_ping_come_before_initialize),
        cmocka_unit_test(malformed_lines_get_the_json_rpc_errors),
        cmocka_unit_test(a_bad_argument_is_a_tool_error_naming_the_field_before_anything_is_asked),
        cmocka_unit_test(a_suite_that_does_not_answer_is_a_tool_error_saying_so),
        cmocka_unit_test(retry_is_listed_and_served_only_when_writes_are_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
