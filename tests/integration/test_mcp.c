/* orch-mcp through a real nats-server and the real router, scheduler and
 * monitor, driven over stdio by the official MCP TypeScript SDK's client
 * (mcp_client.mjs; @modelcontextprotocol/sdk, pinned by scripts/bootstrap.sh
 * --test into var/npm-mcp): the lifecycle, every tool and resource and what
 * they answer, the JSON-RPC errors of a malformed call, a bad argument
 * named, retry only with writes allowed, and a suite that does not answer
 * said within the bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <nats/nats.h>

#include "modelsrv.h"
#include "natsfix.h"
#include "proc.h"
#include "svcfix.h"

typedef svc_env env;

/* Runs mcp_client.mjs in mode against e's server, orch-mcp connecting as
 * identity (ORCH_NATS_USER=..., ORCH_NATS_PASSWORD=...; NULL: none); its
 * record (cJSON_Delete it). Fails the test when node fails or writes no
 * record. */
static cJSON *run_client(env *e, const char *mode, const char *const identity[])
{
    char script[512], mods[512], bin[512], out[600], ev_bin[600], ev_url[300], ev_mods[600], ev_out[700];
    const char *src = getenv("ORCH_SOURCE_DIR");
    const char *argv[] = {"node", script, mode, NULL};
    const char *envv[] = {ev_bin, ev_url, ev_mods, ev_out, identity ? identity[0] : NULL,
                          identity ? identity[1] : NULL, NULL};
    int status = 0;
    pid_t pid;
    char *text;
    cJSON *j;

    assert_non_null(src);
    snprintf(script, sizeof(script), "%s/tests/integration/mcp_client.mjs", src);
    snprintf(mods, sizeof(mods), "%s/var/npm-mcp/node_modules", src);
    if (access(mods, R_OK) != 0)
        fail_msg("%s missing: run scripts/bootstrap.sh --test (it installs @modelcontextprotocol/sdk)", mods);
    snprintf(out, sizeof(out), "%s/mcp-%s.json", e->fix.dir, mode);
    snprintf(ev_bin, sizeof(ev_bin), "ORCH_MCP_BIN=%s", proc_bin("orch-mcp", bin, sizeof(bin)));
    snprintf(ev_url, sizeof(ev_url), "ORCH_NATS_URL=%s", e->fix.url);
    snprintf(ev_mods, sizeof(ev_mods), "ORCH_MCP_NODE_MODULES=%s", mods);
    snprintf(ev_out, sizeof(ev_out), "ORCH_MCP_OUT=%s", out);
    unlink(out);
    pid = proc_spawn(argv, envv, e->fix.dir, "mcp-client.log");
    assert_true(pid > 0);
    if (proc_wait(pid, 45000, &status) != 0) {
        proc_stop(pid, 1000);
        fail_msg("mcp_client.mjs %s did not finish in 45 s (log: %s/mcp-client.log)", mode, e->fix.dir);
    }
    if (!(text = proc_slurp(out)))
        fail_msg("mcp_client.mjs %s wrote no record (exit status %d; log: %s/mcp-client.log)", mode, status,
                 e->fix.dir);
    j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    if (cJSON_GetObjectItem(j, "failed"))
        fail_msg("mcp_client.mjs %s: %s", mode, cJSON_GetStringValue(cJSON_GetObjectItem(j, "failed")));
    /* orch-mcp's standard error is the client's: a sanitizer's report (a
     * leak at exit among them) shows there */
    snprintf(out, sizeof(out), "%s/mcp-client.log", e->fix.dir);
    if ((text = proc_slurp(out)) && strstr(text, "Sanitizer"))
        fail_msg("orch-mcp under mcp_client.mjs %s:\n%s", mode, text);
    free(text);
    return j;
}

static const cJSON *get(const cJSON *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        o = cJSON_GetObjectItem(o, key);
        path += n + (path[n] == '.');
    }
    if (!o)
        fail_msg("no %s in the client's record", path);
    return o;
}

static const char *gets(const cJSON *o, const char *path)
{
    const char *s = cJSON_GetStringValue(get(o, path));
    if (!s)
        fail_msg("%s is not a string", path);
    return s;
}

static int is_true(const cJSON *o, const char *path)
{
    return cJSON_IsTrue(get(o, path));
}

/* A tool result that is not an error, with its text and structured content. */
static void assert_ok(const cJSON *r, const char *path)
{
    const cJSON *x = get(r, path);
    if (cJSON_GetObjectItem(x, "rpcError") || cJSON_IsTrue(cJSON_GetObjectItem(x, "isError")) ||
        !cJSON_IsString(cJSON_GetObjectItem(x, "text")) || !cJSON_IsObject(cJSON_GetObjectItem(x, "structured"))) {
        char *t = cJSON_Print(x);
        fail_msg("%s failed: %s", path, t);
    }
}

static int has_string(const cJSON *a, const char *s)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, a) if (cJSON_IsString(it) && !strcmp(it->valuestring, s)) return 1;
    return 0;
}

/* The daemons' identity where the server asks for one (NULL: none). */
static const char *const *daemon_identity;

static pid_t start(env *e, const char *name, const char *instance)
{
    const char *x[8];
    int n = 0;
    if (!strcmp(name, "scheduler")) {
        x[n++] = "ORCH_SCHEDULER_QUIET_START=00:00";
        x[n++] = "ORCH_SCHEDULER_QUIET_END=00:00";
    }
    for (int i = 0; daemon_identity && daemon_identity[i]; i++)
        x[n++] = daemon_identity[i];
    x[n] = NULL;
    return svc_start_ready(e->nc, &e->fix, name, instance, x);
}

static pid_t start_scheduler(env *e)
{
    return start(e, "scheduler", "s1");
}

/* Until the leaders answer: the scheduler's list and the monitor's dashboard. */
static void wait_for_leaders(env *e)
{
    cJSON *a = NULL, *b = NULL;
    for (int i = 0; i < 150 && !(a && b); i++) {
        if (!a)
            a = svc_request_json(e->nc, "orch.scheduler.list", "{\"limit\":1}", 500);
        if (!b)
            b = svc_request_json(e->nc, "orch.dashboard", "json", 500);
        if (!(a && b))
            usleep(100 * 1000);
    }
    assert_non_null(a);
    assert_non_null(b);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

/* The whole suite run of mcp_client.mjs, orch-mcp connecting as identity
 * (NULL: none), and what it must have got. */
static void every_tool_and_resource(env *e, const char *const identity[])
{
    pid_t router = start(e, "router", "r1");
    pid_t sched = start_scheduler(e);
    pid_t mon = start(e, "monitor", "m1");
    const cJSON *t, *r;
    cJSON *rec, *ids;
    char *auto_id = NULL;

    wait_for_leaders(e);
    rec = run_client(e, "suite", identity);

    /* the lifecycle: the SDK's newest version is ours too; the server named */
    assert_string_equal(gets(rec, "server.name"), "orch-mcp");
    assert_non_null(strstr(gets(rec, "instructions"), "Read-only"));
    /* read-only: five tools, each with an object schema; no retry */
    ids = cJSON_CreateArray();
    cJSON_ArrayForEach(t, get(rec, "tools")) {
        assert_string_equal(gets(t, "schema.type"), "object");
        cJSON_AddItemToArray(ids, cJSON_CreateString(gets(t, "name")));
    }
    assert_int_equal(cJSON_GetArraySize(ids), 5);
    assert_true(has_string(ids, "submit_requirements") && has_string(ids, "status") &&
                has_string(ids, "list_requirements") && has_string(ids, "dashboard") && has_string(ids, "agents"));
    assert_false(has_string(ids, "retry"));
    cJSON_Delete(ids);

    /* submitted: the id given, and one the router chose, with their types */
    assert_ok(rec, "submit");
    r = get(rec, "submit.structured.accepted");
    assert_int_equal(cJSON_GetArraySize(r), 2);
    cJSON_ArrayForEach(t, r) {
        if (!strcmp(gets(t, "id"), "MCP-1")) {
            assert_string_equal(gets(t, "type"), "backend");
            assert_string_equal(gets(t, "priority"), "HIGH");
        } else {
            assert_string_equal(gets(t, "type"), "documentation");
            auto_id = strdup(gets(t, "id"));
        }
    }
    assert_non_null(auto_id);
    assert_non_null(strstr(gets(rec, "submit.text"), "accepted MCP-1"));
    /* the same id again: the router's refusal, word for word */
    assert_true(is_true(rec, "duplicate.isError"));
    r = cJSON_GetArrayItem(get(rec, "duplicate.structured.refused"), 0);
    assert_string_equal(gets(r, "reason"), "duplicate_id");
    assert_non_null(strstr(gets(rec, "duplicate.text"), gets(r, "message")));

    /* status: the scheduler's own answer */
    assert_ok(rec, "status");
    assert_string_equal(gets(rec, "status.structured.id"), "MCP-1");
    assert_string_equal(gets(rec, "status.structured.title"), "Expose the queue as MCP tools");
    assert_true(cJSON_IsNumber(get(rec, "status.structured.attempt")));
    assert_true(*gets(rec, "status.structured.status") != '\0');
    assert_non_null(strstr(gets(rec, "status.text"), gets(rec, "status.structured.status")));
    {   /* the same as the scheduler says on its subject */
        cJSON *direct = svc_request_json(e->nc, "orch.status.MCP-1", "", 3000);
        assert_non_null(direct);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(direct, "status")),
                            gets(rec, "status.structured.status"));
        cJSON_Delete(direct);
    }

    /* lists: by type, by text, and paged */
    assert_ok(rec, "listBackend");
    assert_int_equal((int)cJSON_GetNumberValue(get(rec, "listBackend.structured.matching")), 1);
    assert_string_equal(gets(cJSON_GetArrayItem(get(rec, "listBackend.structured.requirements"), 0), "id"), "MCP-1");
    assert_ok(rec, "listText");
    assert_int_equal((int)cJSON_GetNumberValue(get(rec, "listText.structured.matching")), 1);
    assert_string_equal(gets(cJSON_GetArrayItem(get(rec, "listText.structured.requirements"), 0), "id"), auto_id);
    assert_ok(rec, "listPage");
    assert_int_equal(cJSON_GetArraySize(get(rec, "listPage.structured.requirements")), 1);
    assert_int_equal((int)cJSON_GetNumberValue(get(rec, "listPage.structured.nextOffset")), 1);

    /* the monitor's dashboard, and the agents with the day's budget */
    assert_ok(rec, "dashboard");
    assert_true(cJSON_IsObject(get(rec, "dashboard.structured.agents")));
    assert_ok(rec, "agents");
    assert_int_equal(cJSON_GetArraySize(get(rec, "agents.structured.types")), 6);
    assert_true(cJSON_IsNumber(get(rec, "agents.structured.budget.costUsd")));
    assert_non_null(strstr(gets(rec, "agents.text"), "backend"));

    /* resources: the roadmap and each requirement */
    assert_true(has_string(get(rec, "resources"), "orch://roadmap"));
    assert_true(has_string(get(rec, "resources"), "orch://requirements/MCP-1"));
    assert_true(has_string(get(rec, "templates"), "orch://requirements/{id}"));
    assert_string_equal(gets(rec, "roadmap.mimeType"), "text/markdown");
    assert_non_null(strstr(gets(rec, "roadmap.text"), "### MCP-1: Expose the queue as MCP tools\n- Status: "));
    assert_non_null(strstr(gets(rec, "roadmap.text"), "- Priority: HIGH\n- Agent: backend\n"));
    {
        cJSON *d = cJSON_Parse(gets(rec, "detail.text"));
        assert_non_null(d);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "id")), "MCP-1");
        cJSON_Delete(d);
    }

    /* a requirement the scheduler does not know: not found, its words */
    assert_int_equal((int)cJSON_GetNumberValue(get(rec, "missingDetail.code")), -32002);
    assert_non_null(strstr(gets(rec, "missingDetail.message"), "no requirement NOPE-1"));

    /* bad arguments: tool errors naming the field */
    assert_true(is_true(rec, "badArgument.isError"));
    assert_non_null(strstr(gets(rec, "badArgument.text"), "'id'"));
    assert_true(is_true(rec, "badSubmit.isError"));
    assert_non_null(strstr(gets(rec, "badSubmit.text"), "title"));
    /* retry while read-only: refused, saying how it is enabled */
    assert_true(is_true(rec, "retryReadOnly.isError"));
    assert_non_null(strstr(gets(rec, "retryReadOnly.text"), "--allow-writes"));
    /* protocol errors: an unknown tool and a call without a tool name */
    assert_int_equal((int)cJSON_GetNumberValue(get(rec, "unknownTool.rpcError.code")), -32602);
    assert_int_equal((int)cJSON_GetNumberValue(get(rec, "malformedCall.code")), -32602);
    assert_non_null(strstr(gets(rec, "malformedCall.message"), "params.name"));
    /* a line that is not JSON, and a version it does not speak, raw */
    r = get(rec, "raw.answers");
    assert_int_equal((int)cJSON_GetNumberValue(get(cJSON_GetArrayItem(r, 0), "error.code")), -32700);
    assert_true(cJSON_IsNull(get(cJSON_GetArrayItem(r, 0), "id")));
    assert_string_equal(gets(cJSON_GetArrayItem(r, 1), "result.protocolVersion"), "2025-11-25");
    assert_int_equal((int)cJSON_GetNumberValue(get(rec, "raw.code")), 0);

    /* with writes allowed: retry is listed and asks the scheduler, which
     * refuses work that is not escalated */
    assert_true(has_string(get(rec, "writeTools"), "retry"));
    assert_true(is_true(rec, "retry.isError"));
    assert_non_null(strstr(gets(rec, "retry.text"), "MCP-1"));

    free(auto_id);
    cJSON_Delete(rec);
    svc_stop(mon);
    svc_stop(sched);
    svc_stop(router);
}

static void an_mcp_client_uses_every_tool_and_resource_of_the_suite(void **state)
{
    daemon_identity = NULL;
    every_tool_and_resource(*state, NULL);
}

/* The NATS user docs/mcp.md ("Permissions") gives orch-mcp, word for word
 * (the test checks the page says it), beside an admin for the daemons and
 * the test. */
#define MCP_PERMISSIONS                                                                                        \
    "publish:   [\"intake.requirements\", \"orch.status.*\", \"orch.scheduler.list\",\n"                     \
    "                  \"orch.dashboard\", \"orch.scheduler.retry\"]\n"                                        \
    "      subscribe: [\"_INBOX_mcp.>\", \"plan.requirement.>\", \"errors.intake.>\"] } }"
#define MCP_USERS                                                                                              \
    "authorization { users: [\n"                                                                              \
    "  { user: admin, password: p-admin }\n"                                                                  \
    "  { user: mcp, password: p-mcp,\n"                                                                       \
    "    permissions: {\n"                                                                                    \
    "      " MCP_PERMISSIONS "\n"                                                                             \
    "] }\n"

static int users_setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    if (!e)
        return -1;
    e->fix.user = "admin";
    e->fix.password = "p-admin";
    *state = e;
    if (natsfix_start(&e->fix, MCP_USERS) != 0 || natsfix_connect(&e->fix, (void **)&e->nc) != 0 ||
        natsConnection_JetStream(&e->js, e->nc, NULL) != NATS_OK)
        return -1;
    return 0;
}

/* Everything orch-mcp does works as that user, and nothing more is needed. */
static void the_documented_nats_user_is_enough_for_every_tool(void **state)
{
    static const char *const admin[] = {"ORCH_NATS_USER=admin", "ORCH_NATS_PASSWORD=p-admin", NULL};
    static const char *const mcp[] = {"ORCH_NATS_USER=mcp", "ORCH_NATS_PASSWORD=p-mcp", NULL};
    char *doc, path[600];
    snprintf(path, sizeof(path), "%s/docs/mcp.md", getenv("ORCH_SOURCE_DIR"));
    assert_non_null(doc = proc_slurp(path));
    /* the block tested is the block documented */
    if (!strstr(doc, MCP_PERMISSIONS))
        fail_msg("docs/mcp.md no longer documents the user this test gives orch-mcp");
    free(doc);
    daemon_identity = admin;
    every_tool_and_resource(*state, mcp);
    daemon_identity = NULL;
}

/* With no service running, every tool says so as a tool error, each
 * within the bound orch-mcp was given (3 s) and a little more. */
static void a_suite_that_does_not_answer_is_said_within_the_bound(void **state)
{
    env *e = *state;
    pid_t router = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL); /* provisions the streams */
    static const char *const calls[] = {"status", "dashboard", "submit"};
    cJSON *rec;

    svc_stop(router);
    rec = run_client(e, "down", NULL);
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        char path[64];
        const cJSON *c = get(rec, calls[i]);
        snprintf(path, sizeof(path), "%s.isError", calls[i]);
        if (!is_true(rec, path) || cJSON_GetNumberValue(get(c, "ms")) > 4500) {
            char *t = cJSON_Print(c);
            fail_msg("%s: %s", calls[i], t);
        }
    }
    assert_non_null(strstr(gets(rec, "status.text"), "scheduler"));
    assert_non_null(strstr(gets(rec, "dashboard.text"), "monitor"));
    assert_non_null(strstr(gets(rec, "submit.text"), "router"));
    cJSON_Delete(rec);
}

/* The scripted model's turns: submit_requirements, then status, through
 * orch-mcp as Claude Code offers its tools (mcp__<server>__<tool>). */
static const char claude_script[] =
    "{\"scenarios\":[{\"name\":\"mcp\",\"when\":[\"MCP-SCRIPTED\"],\"turns\":["
    "{\"tool\":\"mcp__orch__submit_requirements\",\"input\":{\"requirements\":[{\"id\":\"MCP-7\","
    "\"title\":\"Scripted by a model\",\"priority\":\"LOW\",\"assignedAgent\":\"frontend\","
    "\"files\":[\"web/panel.js\"]}]},\"usage\":{\"input_tokens\":10,\"output_tokens\":5}},"
    "{\"tool\":\"mcp__orch__status\",\"input\":{\"id\":\"MCP-7\"},\"usage\":{\"input_tokens\":10,\"output_tokens\":5}},"
    "{\"text\":\"MCP-7 is in.\",\"usage\":{\"input_tokens\":10,\"output_tokens\":5}}]}],"
    "\"default\":{\"text\":\"ok\"}}";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The tool results the model was sent in the request that carried n of
 * them (modelfake's record), the last one; NULL when there was none. */
static char *tool_result(const char *records, int n)
{
    const char *line = records;
    char *found = NULL;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        char *one = strndup(line, end ? (size_t)(end - line) : strlen(line));
        cJSON *j = cJSON_Parse(one), *r = cJSON_GetObjectItem(j, "toolResults");
        if (cJSON_GetArraySize(r) == n && cJSON_IsString(cJSON_GetArrayItem(r, n - 1))) {
            free(found);
            found = strdup(cJSON_GetArrayItem(r, n - 1)->valuestring);
        }
        cJSON_Delete(j);
        free(one);
        line = end ? end + 1 : NULL;
    }
    return found;
}

/* The real Claude Code CLI, its model scripted (modelfake.js), given
 * orch-mcp with --mcp-config: the requirement it submits is in the suite
 * with the fields it sent, and the status it was told is orchctl's. */
static void claude_code_submits_and_reads_status_through_orch_mcp(void **state)
{
    env *e = *state;
    const char *src = getenv("ORCH_SOURCE_DIR");
    char claude[512], script[400], rec[400], cfg[400], home[400], bin[512], json[1400];
    char e_url[120], e_home[420], e_key[] = "ANTHROPIC_API_KEY=sk-scripted-anthropic", out[8192];
    char *records, *submitted, *told;
    cJSON *sub, *said;
    int status = 0;
    modelsrv fake;
    pid_t router = start(e, "router", "r1");
    pid_t sched = start_scheduler(e);
    pid_t mon = start(e, "monitor", "m1");
    pid_t pid;
    cJSON *st;

    snprintf(claude, sizeof(claude), "%s/var/npm/node_modules/.bin/claude", src);
    if (access(claude, X_OK) != 0)
        fail_msg("%s is missing: scripts/install-agent-clis.sh installs Claude Code", claude);
    wait_for_leaders(e);
    snprintf(script, sizeof(script), "%s/script.json", e->fix.dir);
    snprintf(rec, sizeof(rec), "%s/requests.jsonl", e->fix.dir);
    snprintf(cfg, sizeof(cfg), "%s/mcp.json", e->fix.dir);
    snprintf(home, sizeof(home), "%s/home", e->fix.dir);
    assert_int_equal(mkdir(home, 0700), 0);
    write_file(script, claude_script);
    snprintf(json, sizeof(json), "{\"mcpServers\":{\"orch\":{\"command\":\"%s\",\"args\":[\"--server\",\"%s\"]}}}",
             proc_bin("orch-mcp", bin, sizeof(bin)), e->fix.url);
    write_file(cfg, json);
    if (modelsrv_start(&fake, script, rec, e->fix.dir, 10000) != 0)
        fail_msg("the scripted model server did not start (log: %s/modelfake.log)", e->fix.dir);
    snprintf(e_url, sizeof(e_url), "ANTHROPIC_BASE_URL=http://127.0.0.1:%d", fake.port);
    snprintf(e_home, sizeof(e_home), "HOME=%s", home);
    {
        /* as orch-agent's preset runs it (no prompts for permission: the
         * tools it may use are listed), with only orch-mcp as MCP server */
        const char *argv[] = {claude, "-p", "MCP-SCRIPTED: add the panel requirement and tell me its status",
                              "--output-format", "json", "--mcp-config", cfg, "--strict-mcp-config",
                              "--allowedTools", "mcp__orch__submit_requirements,mcp__orch__status", NULL};
        const char *envv[] = {e_url, e_key, e_home, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
                              "DISABLE_TELEMETRY=1", "DISABLE_AUTOUPDATER=1", "DISABLE_ERROR_REPORTING=1",
                              "CLAUDE_CODE_MAX_RETRIES=1", NULL};
        pid = proc_spawn(argv, envv, e->fix.dir, "claude.log");
        assert_true(pid > 0);
        if (proc_wait(pid, 60000, &status) != 0) {
            proc_stop(pid, 1000);
            fail_msg("claude did not finish in 60 s (log: %s/claude.log)", e->fix.dir);
        }
    }
    modelsrv_stop(&fake, 1000);
    records = proc_slurp(rec);
    assert_non_null(records);
    submitted = tool_result(records, 1);
    told = tool_result(records, 2);
    /* Claude Code hands the model a result's structuredContent when there
     * is one: the JSON orch-mcp answered */
    sub = submitted ? cJSON_Parse(submitted) : NULL;
    if (!sub || strcmp(gets(cJSON_GetArrayItem(get(sub, "accepted"), 0), "id"), "MCP-7")) {
        char log[500];
        snprintf(log, sizeof(log), "%s/claude.log", e->fix.dir);
        fail_msg("the model was not told MCP-7 was accepted: %s\nrequests:\n%s\nclaude (exit status %d):\n%s",
                 submitted ? submitted : "nothing", records, status, proc_slurp(log));
    }
    cJSON_Delete(sub);
    assert_non_null(told);
    assert_non_null(said = cJSON_Parse(told));

    /* in the suite, with the fields the model sent */
    {
        const char *a[] = {"status", "MCP-7", "--json", NULL};
        assert_int_equal(svc_orchctl(&e->fix, a, out, sizeof(out)), 0);
        st = cJSON_Parse(out);
        assert_non_null(st);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(st, "title")), "Scripted by a model");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(st, "type")), "frontend");
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(st, "priority")), "LOW");
        /* what the model was told is what orchctl says */
        if (strcmp(gets(said, "id"), "MCP-7") || strcmp(gets(said, "status"), gets(st, "status")) ||
            cJSON_GetNumberValue(get(said, "attempt")) != cJSON_GetNumberValue(get(st, "attempt")) ||
            strcmp(gets(said, "reason"), gets(st, "reason")) || strcmp(gets(said, "title"), gets(st, "title")))
            fail_msg("the model was told:\n%s\norchctl says:\n%s", told, out);
        cJSON_Delete(st);
    }
    cJSON_Delete(said);
    free(submitted);
    free(told);
    free(records);
    svc_stop(mon);
    svc_stop(sched);
    svc_stop(router);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(an_mcp_client_uses_every_tool_and_resource_of_the_suite, svc_env_setup,
                                        svc_env_teardown),
        cmocka_unit_test_setup_teardown(a_suite_that_does_not_answer_is_said_within_the_bound, svc_env_setup,
                                        svc_env_teardown),
        cmocka_unit_test_setup_teardown(claude_code_submits_and_reads_status_through_orch_mcp, svc_env_setup,
                                        svc_env_teardown),
        cmocka_unit_test_setup_teardown(the_documented_nats_user_is_enough_for_every_tool, users_setup,
                                        svc_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
