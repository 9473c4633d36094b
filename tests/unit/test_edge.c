/* Unit tests of the edge mapping: the seed's JSON <-> protobuf, with every
 * kind of bad input and the exact error it must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "edge.h"
#include "names.h"
#include "text.h"

static edge_limits lim;

static const char *seed_example =
    "{\n"
    "  \"id\": \"REQ-042\",\n"
    "  \"priority\": \"HIGH\",\n"
    "  \"title\": \"Add inventory transaction API\",\n"
    "  \"assignedAgent\": \"roy\",\n"
    "  \"status\": \"PENDING\",\n"
    "  \"estimatedTokens\": 40000,\n"
    "  \"dependencies\": [\"REQ-041\"],\n"
    "  \"acceptanceCriteria\": [\n"
    "    \"POST /api/transactions endpoint works\",\n"
    "    \"Tests pass with 80% coverage\",\n"
    "    \"API documented in OpenAPI spec\"\n"
    "  ],\n"
    "  \"files\": [\"src/api/transactions.ts\", \"tests/api/transactions.test.ts\"],\n"
    "  \"metadata\": {\n"
    "    \"phase\": \"2.1\",\n"
    "    \"requestedBy\": \"project-manager\",\n"
    "    \"deadline\": \"2025-12-10\"\n"
    "  }\n"
    "}";

static int setup(void **state)
{
    (void)state;
    edge_limits_default(&lim);
    return 0;
}

static void seed_example_parses_completely(void **state)
{
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN] = "";
    (void)state;

    assert_int_equal(edge_requirements_from_json(seed_example, strlen(seed_example), &lim, &r, &n, err), EDGE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(r[0]->id, "REQ-042");
    assert_int_equal(r[0]->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH);
    assert_true(r[0]->priority_given);
    assert_string_equal(r[0]->title, "Add inventory transaction API");
    assert_int_equal(r[0]->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND);
    assert_string_equal(r[0]->assigned_agent, "roy");
    assert_int_equal(r[0]->status, ORCHESTRATOR__V1__STATUS__STATUS_NEW);
    assert_int_equal(r[0]->estimated_tokens, 40000);
    assert_int_equal(r[0]->n_dependencies, 1);
    assert_string_equal(r[0]->dependencies[0], "REQ-041");
    assert_int_equal(r[0]->n_acceptance_criteria, 3);
    assert_int_equal(r[0]->n_files, 2);
    assert_non_null(r[0]->metadata);
    assert_string_equal(r[0]->metadata->phase, "2.1");
    assert_string_equal(r[0]->metadata->requested_by, "project-manager");
    assert_string_equal(r[0]->metadata->deadline, "2025-12-10");
    edge_requirements_free(r, n);
}

static void round_trip_through_json_and_protobuf(void **state)
{
    pb_requirement **r = NULL, **back = NULL;
    size_t n = 0, m = 0;
    char err[ERR_LEN];
    char *json;
    uint8_t *buf;
    size_t len;
    pb_requirement *u;
    (void)state;

    assert_int_equal(edge_requirements_from_json(seed_example, strlen(seed_example), &lim, &r, &n, err), EDGE_OK);
    r[0]->complexity = ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_M;
    r[0]->attempt = 2;
    pb_set_str(&r[0]->last_failure_output, "src/api/x.ts(3,1): error TS2304");
    /* protobuf round trip */
    assert_int_equal(pb_pack(&r[0]->base, &buf, &len), ORCH_OK);
    u = (pb_requirement *)pb_unpack(&orchestrator__v1__requirement__descriptor, buf, len, PB_MAX_MSG, err);
    assert_non_null(u);
    assert_string_equal(u->last_failure_output, "src/api/x.ts(3,1): error TS2304");
    assert_int_equal(u->attempt, 2);
    /* JSON round trip of the unpacked copy */
    json = edge_requirement_to_json(u);
    assert_int_equal(edge_requirements_from_json(json, strlen(json), &lim, &back, &m, err), EDGE_OK);
    assert_string_equal(back[0]->id, "REQ-042");
    assert_int_equal(back[0]->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND);
    assert_int_equal(back[0]->complexity, ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_M);
    assert_int_equal(back[0]->attempt, 2);
    assert_string_equal(back[0]->last_failure_output, u->last_failure_output);
    assert_int_equal(back[0]->n_files, 2);
    assert_string_equal(back[0]->metadata->deadline, "2025-12-10");
    assert_non_null(strstr(json, "\"assignedAgent\":\"roy\""));
    assert_non_null(strstr(json, "\"type\":\"backend\""));
    free(json);
    free(buf);
    protobuf_c_message_free_unpacked(&u->base, NULL);
    edge_requirements_free(r, n);
    edge_requirements_free(back, m);
}

static void loose_input_is_accepted(void **state)
{
    const char *in = "[{\"title\":\"  Fix login  \",\"priority\":\"p0\",\"assignedAgent\":\"Jen\","
                     "\"unknownField\":{\"x\":[1,2]},\"metadata\":{\"team\":\"web\",\"n\":3}},"
                     "{\"title\":\"Docs\",\"priority\":\"low\",\"id\":\"\"}]";
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    (void)state;

    assert_int_equal(edge_requirements_from_json(in, strlen(in), &lim, &r, &n, err), EDGE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(r[0]->title, "Fix login");
    assert_int_equal(r[0]->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_CRITICAL);
    assert_int_equal(r[0]->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    assert_int_equal(r[0]->metadata->n_extra, 1);
    assert_string_equal(r[0]->metadata->extra[0]->key, "team");
    assert_string_equal(r[1]->id, "");
    assert_int_equal(r[1]->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_LOW);
    assert_false(r[0]->type == 0);
    edge_requirements_free(r, n);
}

typedef struct {
    const char *input;
    edge_reason reason;
    const char *message; /* must appear in the error */
} bad_case;

static char deep[200];
static char *huge;

static void bad_requirements_give_precise_errors(void **state)
{
    const bad_case cases[] = {
        {"", EDGE_EMPTY, "message is empty"},
        {"   \n", EDGE_EMPTY, "message is empty"},
        {"{\"title\": \"x\"", EDGE_INVALID_JSON, "invalid JSON near byte"},
        {"{\"title\": \"x\"} trailing", EDGE_INVALID_JSON, "unexpected text after the JSON value at byte 15"},
        {"{\"title\": \"caf\xc3\"}", EDGE_INVALID_UTF8, "invalid UTF-8 at byte 14"},
        {deep, EDGE_TOO_DEEP, "nested deeper than 16 levels"},
        {"{}", EDGE_MISSING_FIELD, "field 'title' is missing"},
        {"{\"title\": null}", EDGE_MISSING_FIELD, "field 'title' is missing"},
        {"{\"title\": \"   \"}", EDGE_MISSING_FIELD, "field 'title' is empty"},
        {"{\"title\": 42}", EDGE_WRONG_TYPE, "field 'title': expected a string, got a number"},
        {"\"just a string\"", EDGE_WRONG_TYPE, "expected a requirement object, got a string"},
        {"{\"title\":\"t\",\"id\":\"REQ.1\"}", EDGE_INVALID_ID, "field 'id': 'REQ.1' contains '.'"},
        {"{\"title\":\"t\",\"id\":\"REQ*\"}", EDGE_INVALID_ID, "contains '*'"},
        {"{\"title\":\"t\",\"id\":\"a>b\"}", EDGE_INVALID_ID, "contains '>'"},
        {"{\"title\":\"t\",\"id\":\"REQ 1\"}", EDGE_INVALID_ID, "contains whitespace"},
        {"{\"title\":\"t\",\"id\":7}", EDGE_WRONG_TYPE, "field 'id': expected a string, got a number"},
        {"{\"title\":\"t\",\"priority\":\"soon\"}", EDGE_BAD_VALUE, "'soon' is not CRITICAL, HIGH, MEDIUM, LOW or P0..P3"},
        {"{\"title\":\"t\",\"assignedAgent\":\"plumber\"}", EDGE_BAD_VALUE, "unknown agent 'plumber'"},
        {"{\"title\":\"t\",\"estimatedTokens\":\"lots\"}", EDGE_WRONG_TYPE, "field 'estimatedTokens': expected a number, got a string"},
        {"{\"title\":\"t\",\"estimatedTokens\":-5}", EDGE_BAD_VALUE, "expected a whole number >= 0"},
        {"{\"title\":\"t\",\"estimatedTokens\":1.5}", EDGE_BAD_VALUE, "expected a whole number >= 0"},
        {"{\"title\":\"t\",\"estimatedTokens\":1e300}", EDGE_BAD_VALUE, "is more than"},
        {"{\"title\":\"t\",\"dependencies\":\"REQ-1\"}", EDGE_BAD_DEPENDENCY, "field 'dependencies': expected a list of ids, got a string"},
        {"{\"title\":\"t\",\"dependencies\":[\"REQ-1\", 2]}", EDGE_BAD_DEPENDENCY, "field 'dependencies[1]': expected an id string, got a number"},
        {"{\"title\":\"t\",\"dependencies\":[\"REQ 1\"]}", EDGE_BAD_DEPENDENCY, "field 'dependencies[0]': id 'REQ 1' contains whitespace"},
        {"{\"id\":\"REQ-9\",\"title\":\"t\",\"dependencies\":[\"REQ-1\",\"REQ-9\"]}", EDGE_SELF_DEPENDENCY, "'REQ-9' depends on itself"},
        {"{\"title\":\"t\",\"files\":[\"a\", {}]}", EDGE_WRONG_TYPE, "field 'files[1]': expected a string, got an object"},
        {"{\"title\":\"t\",\"metadata\":[]}", EDGE_WRONG_TYPE, "field 'metadata': expected an object, got a list"},
        {"{\"title\":\"t\",\"metadata\":{\"deadline\":5}}", EDGE_WRONG_TYPE, "field 'metadata.deadline': expected a string"},
        {"[]", EDGE_EMPTY, "the list of requirements is empty"},
        {"[{\"title\":\"ok\"},{\"title\":3}]", EDGE_WRONG_TYPE, "field '[1].title': expected a string"},
        {"{\"title\":\"t\",\"status\":\"LOST\"}", EDGE_BAD_VALUE, "unknown status 'LOST'"},
        /* a NUL would end the C string: refused, never cut short */
        {"{\"title\":\"a\\u0000b\"}", EDGE_CONTROL_CHAR, "field 'title' holds a NUL character"},
        {"{\"title\":\"t\",\"description\":\"x\\u0000\"}", EDGE_CONTROL_CHAR, "field 'description' holds a NUL"},
        {"{\"title\":\"t\",\"files\":[\"a\",\"b\\u0000.c\"]}", EDGE_CONTROL_CHAR, "field 'files' holds a NUL"},
        {"{\"title\":\"t\",\"metadata\":{\"k\\u0000\":\"v\"}}", EDGE_CONTROL_CHAR, "a key holds a NUL"},
        {"[{\"title\":\"ok\"},{\"title\":\"t\",\"metadata\":{\"note\":\"\\u0000\"}}]", EDGE_CONTROL_CHAR,
         "field 'note' holds a NUL"},
        /* other control characters: none in one-line fields, tab/newline/CR in text */
        {"{\"title\":\"a\\u0001b\"}", EDGE_CONTROL_CHAR, "field 'title': control character 0x01 at byte 1"},
        {"{\"title\":\"a\\nb\"}", EDGE_CONTROL_CHAR, "field 'title': control character 0x0a"},
        {"{\"title\":\"t\",\"description\":\"a\\u001b[31m\"}", EDGE_CONTROL_CHAR,
         "field 'description': control character 0x1b at byte 1 (only tab, newline"},
        {"{\"title\":\"t\",\"metadata\":{\"x\":\"\\u0001\"}}", EDGE_CONTROL_CHAR, "field 'metadata.x': control"},
        {"{\"title\":\"t\",\"acceptanceCriteria\":[\"ok\",\"\\u007f\"]}", EDGE_CONTROL_CHAR,
         "field 'acceptanceCriteria[1]': control character 0x7f"},
        {"[{\"title\":\"ok\"},{\"title\":\"t\",\"files\":[\"a\\tb\"]}]", EDGE_CONTROL_CHAR,
         "field '[1].files[0]': control character 0x09"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pb_requirement **r = NULL;
        size_t n = 0;
        char err[ERR_LEN] = "";
        edge_reason got = edge_requirements_from_json(cases[i].input, strlen(cases[i].input), &lim, &r, &n, err);
        if (got != cases[i].reason || !strstr(err, cases[i].message))
            fail_msg("case %zu (%.40s): got %s '%s', want %s '%s'", i, cases[i].input, edge_reason_token(got), err,
                     edge_reason_token(cases[i].reason), cases[i].message);
        assert_null(r);
        assert_int_equal(n, 0);
    }
}

/* A NUL byte as it is, not escaped: named with its field like \u0000,
 * not called an invalid byte, and never cut short. */
static void a_nul_byte_is_named_with_its_field(void **state)
{
    static const char title[] = "{\"title\":\"Fix the login\0 page\"}";
    static const char item[] = "[{\"title\":\"ok\"},{\"title\":\"t\",\"files\":[\"a\0.c\"]}]";
    static const char outside[] = "{\"title\":\"t\"}\0";
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    (void)state;

    assert_int_equal(edge_requirements_from_json(title, sizeof(title) - 1, &lim, &r, &n, err), EDGE_CONTROL_CHAR);
    assert_non_null(strstr(err, "field 'title' holds a NUL character"));
    assert_non_null(strstr(err, "at byte 23"));
    assert_null(r);
    assert_int_equal(edge_requirements_from_json(item, sizeof(item) - 1, &lim, &r, &n, err), EDGE_CONTROL_CHAR);
    assert_non_null(strstr(err, "field 'files' holds a NUL character"));
    /* outside any string it is no field's: an invalid byte, as before */
    assert_int_equal(edge_requirements_from_json(outside, sizeof(outside) - 1, &lim, &r, &n, err), EDGE_INVALID_UTF8);
    assert_int_equal(n, 0);
}

static void limits_are_enforced(void **state)
{
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    char title[400];
    char msg[600];
    (void)state;

    assert_int_equal(edge_requirements_from_json(huge, strlen(huge), &lim, &r, &n, err), EDGE_TOO_LARGE);
    assert_non_null(strstr(err, "at most 262144"));
    memset(title, 'x', sizeof(title) - 1);
    title[sizeof(title) - 1] = '\0';
    snprintf(msg, sizeof(msg), "{\"title\":\"%s\"}", title);
    assert_int_equal(edge_requirements_from_json(msg, strlen(msg), &lim, &r, &n, err), EDGE_TOO_LONG);
    assert_non_null(strstr(err, "field 'title': 399 bytes, at most 300"));
    snprintf(msg, sizeof(msg), "{\"title\":\"t\",\"id\":\"%.70s\"}", title);
    assert_int_equal(edge_requirements_from_json(msg, strlen(msg), &lim, &r, &n, err), EDGE_INVALID_ID);
    assert_non_null(strstr(err, "at most 64"));
}

static void text_fields_keep_tab_newline_and_return(void **state)
{
    const char *in = "{\"title\":\"t\",\"description\":\"a\\tb\\r\\nc\",\"acceptanceCriteria\":[\"x\\ny\"],"
                     "\"metadata\":{\"note\":\"1\\n2\"}}";
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    (void)state;
    assert_int_equal(edge_requirements_from_json(in, strlen(in), &lim, &r, &n, err), EDGE_OK);
    assert_string_equal(r[0]->description, "a\tb\r\nc");
    edge_requirements_free(r, n);
}

static pb_requirement *from_pb(const pb_requirement *in, edge_reason want, const char *text)
{
    uint8_t *buf;
    size_t len;
    pb_requirement *r = NULL;
    char err[ERR_LEN] = "";
    edge_reason got;
    assert_int_equal(pb_pack(&in->base, &buf, &len), ORCH_OK);
    got = edge_requirement_from_protobuf(buf, len, &lim, &r, err);
    free(buf);
    if (got != want || (text && !strstr(err, text)))
        fail_msg("got %s '%s', want %s '%s'", edge_reason_token(got), err, edge_reason_token(want), text);
    return r;
}

static void protobuf_is_checked_like_json(void **state)
{
    pb_requirement in, *r;
    pb_metadata md;
    Orchestrator__V1__Metadata__ExtraEntry e1, *extra[1] = {&e1};
    char *crit[] = {"fine", "bad\x01"};
    char *files[] = {"src/a\tb"};
    char value[8] = "v";
    (void)state;

    orchestrator__v1__requirement__init(&in);
    orchestrator__v1__metadata__init(&md);
    orchestrator__v1__metadata__extra_entry__init(&e1);
    in.title = "t";
    in.metadata = &md;
    md.extra = extra;
    md.n_extra = 1;
    e1.key = "note";
    e1.value = value;
    r = from_pb(&in, EDGE_OK, NULL);
    orchestrator__v1__requirement__free_unpacked(r, NULL);
    /* metadata.extra is checked as the JSON's metadata keys are */
    value[0] = 1;
    from_pb(&in, EDGE_CONTROL_CHAR, "field 'metadata.note': control character 0x01");
    value[0] = 'v';
    e1.key = "a b\n";
    from_pb(&in, EDGE_CONTROL_CHAR, "field 'metadata key': control character 0x0a");
    e1.key = "note";
    in.acceptance_criteria = crit;
    in.n_acceptance_criteria = 2;
    from_pb(&in, EDGE_CONTROL_CHAR, "field 'acceptanceCriteria[1]'");
    in.n_acceptance_criteria = 0;
    in.files = files;
    in.n_files = 1;
    from_pb(&in, EDGE_CONTROL_CHAR, "field 'files[0]'");
    in.n_files = 0;
    in.title = "a\x1b[2Jb";
    from_pb(&in, EDGE_CONTROL_CHAR, "field 'title'");
    in.title = "t";
    in.description = "\xff";
    from_pb(&in, EDGE_INVALID_UTF8, "field 'description'");
    in.description = "";
    /* the assigned agent counts as in the JSON, and wins over type */
    in.assigned_agent = "jen";
    in.type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE;
    r = from_pb(&in, EDGE_OK, NULL);
    assert_int_equal(r->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    orchestrator__v1__requirement__free_unpacked(r, NULL);
    in.assigned_agent = "plumber";
    from_pb(&in, EDGE_BAD_VALUE, "unknown agent 'plumber'");
}

static void protobuf_string_with_nul_is_refused(void **state)
{
    pb_requirement in, *r = NULL;
    pb_metadata md;
    Orchestrator__V1__Metadata__ExtraEntry e1, *extra[1] = {&e1};
    uint8_t *buf;
    size_t len;
    char err[ERR_LEN] = "";
    uint8_t *at;
    (void)state;

    orchestrator__v1__requirement__init(&in);
    orchestrator__v1__metadata__init(&md);
    orchestrator__v1__metadata__extra_entry__init(&e1);
    in.title = "tXtle";
    in.metadata = &md;
    md.extra = extra;
    md.n_extra = 1;
    e1.key = "k";
    e1.value = "aZb";
    assert_int_equal(pb_pack(&in.base, &buf, &len), ORCH_OK);
    /* the encoder would stop at a NUL: put it in the bytes */
    at = memchr(buf, 'X', len);
    *at = 0;
    assert_int_equal(edge_requirement_from_protobuf(buf, len, &lim, &r, err), EDGE_CONTROL_CHAR);
    assert_non_null(strstr(err, "field 'title' holds a NUL byte"));
    *at = 'X';
    at = memchr(buf, 'Z', len);
    *at = 0;
    assert_int_equal(edge_requirement_from_protobuf(buf, len, &lim, &r, err), EDGE_CONTROL_CHAR);
    assert_non_null(strstr(err, "field 'metadata.extra.value' holds a NUL byte"));
    assert_null(r);
    free(buf);
}

static void internal_fields_are_cleared(void **state)
{
    const char *in = "{\"title\":\"t\",\"priority\":\"HIGH\",\"originId\":\"REQ-900\",\"attempt\":3,"
                     "\"tokenBudget\":5,\"modelHint\":\"cheap\",\"lastFailureOutput\":\"boom\","
                     "\"type\":\"database\",\"complexity\":\"L\"}";
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    (void)state;
    assert_int_equal(edge_requirements_from_json(in, strlen(in), &lim, &r, &n, err), EDGE_OK);
    assert_string_equal(r[0]->origin_id, "REQ-900"); /* read back as given... */
    r[0]->intake_seq = 77;
    r[0]->created_at_ms = 1;
    r[0]->confidence = 0.5f;
    edge_requirement_strip_internal(r[0]);       /* ...cleared at intake */
    assert_string_equal(r[0]->origin_id, "");
    assert_int_equal(r[0]->attempt, 0);
    assert_int_equal(r[0]->token_budget, 0);
    assert_string_equal(r[0]->model_hint, "");
    assert_string_equal(r[0]->last_failure_output, "");
    assert_int_equal(r[0]->intake_seq, 0);
    assert_int_equal(r[0]->created_at_ms, 0);
    assert_true(r[0]->confidence == 0.0f);
    assert_true(r[0]->priority_given);
    /* explicit choices stay */
    assert_int_equal(r[0]->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE);
    assert_int_equal(r[0]->complexity, ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_L);
    edge_requirements_free(r, n);
}

static void duplicate_dependencies_collapse(void **state)
{
    const char *in = "{\"title\":\"t\",\"dependencies\":[\"A\",\"B\",\"A\"]}";
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    (void)state;
    assert_int_equal(edge_requirements_from_json(in, strlen(in), &lim, &r, &n, err), EDGE_OK);
    assert_int_equal(r[0]->n_dependencies, 2);
    edge_requirements_free(r, n);
}

static void results_parse_and_print(void **state)
{
    const char *in = "{\"requirementId\":\"REQ-7\",\"attempt\":2,\"agentType\":\"backend\",\"instance\":\"roy-1\","
                     "\"project\":\"wms\",\"ref\":\"refs/heads/req-7\",\"tokensUsed\":1234,"
                     "\"summary\":\"done\",\"filesChanged\":[\"src/api/a.ts\"]}";
    pb_result *r = NULL, *back = NULL;
    char err[ERR_LEN];
    char *json;
    (void)state;

    assert_int_equal(edge_result_from_json(NULL, in, strlen(in), &lim, &r, err), EDGE_OK);
    assert_string_equal(r->requirement_id, "REQ-7");
    assert_int_equal(r->attempt, 2);
    assert_int_equal(r->agent_type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND);
    assert_string_equal(r->ref, "refs/heads/req-7");
    assert_int_equal(r->tokens_used, 1234);
    assert_int_equal(r->n_files_changed, 1);
    json = edge_result_to_json(r);
    assert_int_equal(edge_result_from_json(NULL, json, strlen(json), &lim, &back, err), EDGE_OK);
    assert_string_equal(back->project, "wms");
    free(json);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    protobuf_c_message_free_unpacked(&back->base, NULL);

    /* what orch-agent adds (commit, base, model) travels both ways */
    {
        const char *full = "{\"requirementId\":\"REQ-8\",\"agentType\":\"backend\",\"ref\":\"refs/heads/req/REQ-8-a1\","
                           "\"commit\":\"0123abcd\",\"base\":\"main\",\"model\":\"sonnet\",\"costUsd\":0.123456}";
        assert_int_equal(edge_result_from_json(NULL, full, strlen(full), &lim, &r, err), EDGE_OK);
        json = edge_result_to_json(r);
        assert_int_equal(edge_result_from_json(NULL, json, strlen(json), &lim, &back, err), EDGE_OK);
        assert_string_equal(back->ref, "refs/heads/req/REQ-8-a1");
        assert_string_equal(back->commit, "0123abcd");
        assert_string_equal(back->base_branch, "main");
        assert_string_equal(back->model, "sonnet");
        assert_int_equal(back->cost_micro_usd, 123456);
        free(json);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        protobuf_c_message_free_unpacked(&back->base, NULL);
        /* a review names its commit only: that is its ref too */
        assert_int_equal(edge_result_from_json(NULL, "{\"requirementId\":\"R-2\",\"commit\":\"abc\"}", 38, &lim, &r, err),
                         EDGE_OK);
        assert_string_equal(r->ref, "abc");
        assert_string_equal(r->commit, "abc");
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }

    /* found by fuzz_reports: a result without an agent type must print back parseable */
    assert_int_equal(edge_result_from_json(NULL, "{\"requirementId\":\"R-1\"}", 23, &lim, &r, err), EDGE_OK);
    json = edge_result_to_json(r);
    assert_null(strstr(json, "unknown"));
    assert_int_equal(edge_result_from_json(NULL, json, strlen(json), &lim, &back, err), EDGE_OK);
    free(json);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    protobuf_c_message_free_unpacked(&back->base, NULL);

    assert_int_equal(edge_result_from_json(NULL, "{\"attempt\":1}", 13, &lim, &r, err), EDGE_MISSING_FIELD);
    assert_non_null(strstr(err, "field 'requirementId' is missing"));
    assert_int_equal(edge_result_from_json(NULL, "{\"requirementId\":\"R-1\",\"instance\":\"a.b\"}", 40, &lim, &r, err),
                     EDGE_INVALID_ID);
    assert_int_equal(edge_result_from_json(NULL, "{\"requirementId\":\"R-1\",\"review\":\"meh\"}", 38, &lim, &r, err),
                     EDGE_BAD_VALUE);
    assert_null(r);
}

static void results_carry_their_cost(void **state)
{
    const char *in = "{\"requirementId\":\"R-1\",\"tokensUsed\":10,\"costUsd\":0.0123456}";
    pb_result *r = NULL, *back = NULL;
    char err[ERR_LEN];
    char *json;
    (void)state;

    assert_int_equal(edge_result_from_json(NULL, in, strlen(in), &lim, &r, err), EDGE_OK);
    assert_int_equal(r->cost_micro_usd, 12346); /* millionths, rounded */
    json = edge_result_to_json(r);
    assert_non_null(strstr(json, "\"costUsd\":0.012346"));
    assert_int_equal(edge_result_from_json(NULL, json, strlen(json), &lim, &back, err), EDGE_OK);
    assert_int_equal(back->cost_micro_usd, 12346);
    free(json);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    protobuf_c_message_free_unpacked(&back->base, NULL);

    {
        const char *bad[] = {"{\"requirementId\":\"R-1\",\"costUsd\":-1}", "{\"requirementId\":\"R-1\",\"costUsd\":\"1\"}",
                             "{\"requirementId\":\"R-1\",\"costUsd\":1e300}"};
        edge_reason want[] = {EDGE_BAD_VALUE, EDGE_WRONG_TYPE, EDGE_BAD_VALUE};
        for (int i = 0; i < 3; i++) {
            assert_int_equal(edge_result_from_json(NULL, bad[i], strlen(bad[i]), &lim, &r, err), want[i]);
            assert_non_null(strstr(err, "costUsd"));
        }
    }
    assert_null(r);
}

static void review_and_merge_dispatches_name_the_change(void **state)
{
    pb_requirement r;
    pb_state st;
    Orchestrator__V1__Delivery d;
    char *files[] = {"src/api.c", "src/api.h"};
    char *json;
    cJSON *o;
    (void)state;

    orchestrator__v1__requirement__init(&r);
    r.id = "R-1";
    r.title = "an endpoint";
    r.type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
    orchestrator__v1__requirement_state__init(&st);
    st.id = "R-1";
    st.instance = "roy-1";
    st.actual_files = files;
    st.n_actual_files = 2;
    orchestrator__v1__delivery__init(&d);
    d.project = "demo";
    d.ref = "refs/heads/req/R-1-a1";
    d.commit = "0123456789abcdef0123456789abcdef01234567";
    d.base_branch = "main";
    d.summary = "adds the endpoint";
    st.delivery = &d;

    json = edge_change_dispatch_to_json(&r, &st, NULL, 0);
    o = cJSON_Parse(json);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "id")), "R-1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "project")), "demo");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "ref")), "refs/heads/req/R-1-a1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "commit")),
                        "0123456789abcdef0123456789abcdef01234567");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "base")), "main");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "author")), "roy-1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "summary")), "adds the endpoint");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "filesChanged")), 2);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "filesChanged"), 1)),
                        "src/api.h");
    assert_null(cJSON_GetObjectItem(o, "mergeBatch"));
    cJSON_Delete(o);
    free(json);

    r.type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE;
    json = edge_change_dispatch_to_json(&r, &st, "merge-3", 2);
    o = cJSON_Parse(json);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "type")), "release");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "commit")),
                        "0123456789abcdef0123456789abcdef01234567");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "mergeBatch")), "merge-3");
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "mergeBatchSize")), 2);
    cJSON_Delete(o);
    free(json);

    st.delivery = NULL; /* nothing known: only the requirement */
    json = edge_change_dispatch_to_json(&r, &st, NULL, 0);
    o = cJSON_Parse(json);
    assert_null(cJSON_GetObjectItem(o, "commit"));
    assert_null(cJSON_GetObjectItem(o, "project"));
    cJSON_Delete(o);
    free(json);
}

static void errors_and_heartbeats_parse(void **state)
{
    const char *e_in = "{\"requirementId\":\"REQ-3\",\"message\":\"npm ERR! network\",\"transient\":true,"
                       "\"reason\":\"network\",\"instance\":\"jen-2\"}";
    const char *h_in = "{\"agentType\":\"jen\",\"instance\":\"jen-2\",\"requirementId\":\"REQ-3\",\"tokensUsed\":50}";
    pb_error *e = NULL;
    pb_heartbeat *h = NULL;
    char err[ERR_LEN];
    char *json;
    (void)state;

    assert_int_equal(edge_error_from_json(e_in, strlen(e_in), &lim, &e, err), EDGE_OK);
    assert_true(e->transient);
    assert_string_equal(e->reason, "network");
    json = edge_error_to_json(e);
    assert_non_null(strstr(json, "\"message\":\"npm ERR! network\""));
    free(json);
    protobuf_c_message_free_unpacked(&e->base, NULL);
    assert_int_equal(edge_error_from_json("{\"transient\":\"yes\",\"message\":\"m\"}", 33, &lim, &e, err),
                     EDGE_WRONG_TYPE);
    assert_non_null(strstr(err, "field 'transient': expected true or false"));

    assert_int_equal(edge_heartbeat_from_json(NULL, h_in, strlen(h_in), &lim, &h, err), EDGE_OK);
    assert_int_equal(h->agent_type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    assert_int_equal(h->tokens_used, 50);
    protobuf_c_message_free_unpacked(&h->base, NULL);
    assert_int_equal(edge_heartbeat_from_json(NULL, "{\"agentType\":\"jen\"}", 19, &lim, &h, err), EDGE_MISSING_FIELD);

    /* the subject's type stands in for one the JSON leaves out, never over one it gives */
    assert_int_equal(edge_heartbeat_from_json("agents.heartbeat.database.db-1", "{\"instance\":\"db-1\"}", 19, &lim,
                                              &h, err), EDGE_OK);
    assert_int_equal(h->agent_type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE);
    protobuf_c_message_free_unpacked(&h->base, NULL);
    assert_int_equal(edge_heartbeat_from_json("agents.heartbeat.database.x", h_in, strlen(h_in), &lim, &h, err), EDGE_OK);
    assert_int_equal(h->agent_type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    protobuf_c_message_free_unpacked(&h->base, NULL);
    {
        pb_result *r = NULL;
        assert_int_equal(edge_result_from_json("results.review.R-1", "{\"requirementId\":\"R-1\"}", 23, &lim, &r, err),
                         EDGE_OK);
        assert_int_equal(r->agent_type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
}

static void protobuf_unpack_is_capped_and_checked(void **state)
{
    char err[ERR_LEN];
    uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x0f};
    uint8_t big[64] = {0};
    (void)state;
    assert_null(pb_unpack(&orchestrator__v1__requirement__descriptor, junk, sizeof(junk), PB_MAX_MSG, err));
    assert_non_null(strstr(err, "not a valid protobuf"));
    assert_null(pb_unpack(&orchestrator__v1__requirement__descriptor, big, sizeof(big), 16, err));
    assert_non_null(strstr(err, "more than the 16 allowed"));
}

static void spawn_and_kill_requests_round_trip(void **state)
{
    pb_spawn sp, *back = NULL;
    char err[ERR_LEN], *json;
    (void)state;
    orchestrator__v1__spawn_request__init(&sp);
    sp.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE;
    sp.count = 2;
    sp.reason = "queue \"deep\": 7";
    sp.queue_depth = 7;
    json = edge_spawn_to_json(&sp);
    assert_int_equal(edge_spawn_from_json("control.spawn.database", json, strlen(json), &back, err), EDGE_OK);
    assert_int_equal(back->agent_type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE);
    assert_int_equal(back->count, 2);
    assert_string_equal(back->reason, "queue \"deep\": 7");
    orchestrator__v1__spawn_request__free_unpacked(back, NULL);
    /* the subject decides the type; a body that says otherwise is refused */
    assert_int_equal(edge_spawn_from_json("control.spawn.backend", json, strlen(json), &back, err), EDGE_BAD_VALUE);
    assert_null(back);
    free(json);
    assert_int_equal(edge_spawn_from_json("control.spawn.backend", "{}", 2, &back, err), EDGE_OK);
    assert_int_equal(back->count, 1);
    orchestrator__v1__spawn_request__free_unpacked(back, NULL);
    assert_int_equal(edge_spawn_from_json("control.spawn.backend", "{\"count\":1000}", 14, &back, err), EDGE_BAD_VALUE);
    assert_int_equal(edge_spawn_from_json("control.spawn.backend", "[1]", 3, &back, err), EDGE_INVALID_JSON);
    assert_int_equal(edge_spawn_from_json(NULL, "{}", 2, &back, err), EDGE_MISSING_FIELD);
    /* a kill request is escaped like any JSON */
    json = edge_kill_to_json("roy-1", "REQ-1", "no \"activity\"");
    assert_string_equal(json, "{\"instance\":\"roy-1\",\"requirementId\":\"REQ-1\",\"reason\":\"no \\\"activity\\\"\"}");
    free(json);
}

int main(void)
{
    int rc;
    size_t i;
    for (i = 0; i < 40; i++)
        deep[i] = '[';
    deep[i] = '\0';
    huge = xmalloc(300 * 1024);
    memset(huge, ' ', 300 * 1024 - 1);
    huge[0] = '{';
    huge[300 * 1024 - 1] = '\0';
    {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(seed_example_parses_completely),
            cmocka_unit_test(round_trip_through_json_and_protobuf),
            cmocka_unit_test(loose_input_is_accepted),
            cmocka_unit_test(bad_requirements_give_precise_errors),
            cmocka_unit_test(a_nul_byte_is_named_with_its_field),
            cmocka_unit_test(limits_are_enforced),
            cmocka_unit_test(duplicate_dependencies_collapse),
            cmocka_unit_test(text_fields_keep_tab_newline_and_return),
            cmocka_unit_test(protobuf_is_checked_like_json),
            cmocka_unit_test(protobuf_string_with_nul_is_refused),
            cmocka_unit_test(internal_fields_are_cleared),
            cmocka_unit_test(results_parse_and_print),
            cmocka_unit_test(results_carry_their_cost),
            cmocka_unit_test(review_and_merge_dispatches_name_the_change),
            cmocka_unit_test(errors_and_heartbeats_parse),
            cmocka_unit_test(protobuf_unpack_is_capped_and_checked),
            cmocka_unit_test(spawn_and_kill_requests_round_trip),
        };
        rc = cmocka_run_group_tests(tests, setup, NULL);
    }
    free(huge);
    return rc;
}
