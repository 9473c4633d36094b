/* orch-router through a real nats-server: every intake format, every kind
 * of bad input, $SRV.STATS, the dry-run endpoint, two replicas sharing the
 * work, and a SIGKILL in the middle of a batch (ids: test_router_ids.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <nats/nats.h>

#include "edge.h"
#include "names.h"
#include "natsfix.h"
#include "pb.h"
#include "proc.h"
#include "router_fix.h"
#include "svcfix.h"

static void every_format_reaches_plan(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};
    pb_requirement pr;
    uint8_t *buf;
    size_t len;

    intake_str(e, "{\"id\":\"REQ-042\",\"priority\":\"HIGH\",\"title\":\"Add inventory transaction API\","
                  "\"assignedAgent\":\"roy\",\"estimatedTokens\":40000,\"dependencies\":[\"REQ-041\"],"
                  "\"files\":[\"src/api/transactions.ts\"],\"metadata\":{\"phase\":\"2.1\"}}");
    intake_str(e, "[{\"title\":\"Update README with setup steps\"},{\"title\":\"Add index on lots column\"}]");
    orchestrator__v1__requirement__init(&pr);
    pr.title = "Login page is broken for users";
    assert_int_equal(pb_pack(&pr.base, &buf, &len), ORCH_OK);
    intake(e, "intake.programs", buf, (int)len, "application/protobuf");
    free(buf);
    intake_str(e, "Fix login crash in production");

    read_plan(e, &p, 5, 10000);
    assert_int_equal(p.n, 5);
    {
        const pb_requirement *r = find(&p, "REQ-042");
        assert_int_equal(r->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND);
        assert_int_equal(r->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH);
        assert_int_equal(r->estimated_tokens, 40000);
        assert_int_equal(r->status, ORCHESTRATOR__V1__STATUS__STATUS_CLASSIFIED);
        assert_string_equal(r->metadata->phase, "2.1");
        assert_true(r->intake_seq > 0);
        assert_true(r->n_reasons > 0);
    }
    /* Ids were assigned in intake order from the KV counter. */
    assert_int_equal(find(&p, "REQ-001")->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DOCUMENTATION);
    assert_int_equal(find(&p, "REQ-001")->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_LOW);
    assert_int_equal(find(&p, "REQ-002")->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE);
    assert_int_equal(find(&p, "REQ-003")->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    assert_int_equal(find(&p, "REQ-003")->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH);
    assert_string_equal(find(&p, "REQ-004")->title, "Fix login crash in production");
    assert_int_equal(find(&p, "REQ-004")->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_CRITICAL);
    wait_intake_empty(e, 5000); /* all acked */
    plan_free(&p);

    svc_stop(pid);
}

/* Every plan message passes the scheduler's check, which drops the rest. */
static void scheduler_takes(const plan_list *p)
{
    edge_limits lim;
    char err[ERR_LEN];
    edge_limits_default(&lim);
    for (int i = 0; i < p->n; i++)
        if (edge_requirement_check(p->r[i], &lim, err) != EDGE_OK)
            fail_msg("%s would be dropped by the scheduler: %s", p->r[i]->id, err);
}

static void split_requirements_are_linked(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};

    intake_str(e, "{\"id\":\"REQ-7\",\"title\":\"Transfer API and transfer page UI\","
                  "\"files\":[\"src/api/transfer.ts\",\"src/pages/transfer.tsx\"]}");
    read_plan(e, &p, 2, 10000);
    assert_int_equal(p.n, 2);
    assert_int_equal(find(&p, "REQ-7-BE")->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND);
    assert_int_equal(find(&p, "REQ-7-FE")->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    assert_string_equal(find(&p, "REQ-7-FE")->dependencies[0], "REQ-7-BE");
    plan_free(&p);

    /* a title at its limit: the parts' titles, with " (frontend)", still
     * pass the scheduler's check of plan messages */
    {
        char body[1024], title[301];
        memset(title, 'x', 300);
        title[300] = '\0';
        memcpy(title, "Transfer API and transfer page UI ", 34);
        snprintf(body, sizeof(body), "{\"id\":\"LONG-1\",\"title\":\"%s\","
                 "\"files\":[\"src/api/transfer.ts\",\"src/pages/transfer.tsx\"]}", title);
        intake_str(e, body);
        read_plan(e, &p, 2, 10000);
        assert_int_equal(p.n, 2);
        scheduler_takes(&p);
        plan_free(&p);
        /* one that depends on its own part stays whole: split, the part
         * would depend on itself */
        intake_str(e, "{\"id\":\"SD-1\",\"title\":\"Transfer API and transfer page UI\","
                      "\"dependencies\":[\"SD-1-FE\"],"
                      "\"files\":[\"src/api/transfer.ts\",\"src/pages/transfer.tsx\"]}");
        read_plan(e, &p, 2, 3000);
        scheduler_takes(&p);
        assert_int_equal(p.n, 1);
        plan_free(&p);
        /* so does one with a full list of dependencies: the frontend part,
         * with the backend part, would have one too many */
        {
            char *full = malloc(256 * 12 + 512);
            size_t used = (size_t)sprintf(full, "{\"id\":\"FULL-1\",\"title\":\"Transfer API and transfer page UI\","
                                                "\"files\":[\"src/api/t.ts\",\"src/pages/t.tsx\"],\"dependencies\":[");
            for (int i = 0; i < 256; i++)
                used += (size_t)sprintf(full + used, "%s\"D-%d\"", i ? "," : "", i);
            sprintf(full + used, "]}");
            intake_str(e, full);
            free(full);
        }
        read_plan(e, &p, 2, 3000);
        scheduler_takes(&p);
        assert_int_equal(p.n, 1);
        plan_free(&p);
    }
    svc_stop(pid);
}

typedef struct {
    const char *body;
    int len;            /* -1: strlen */
    const char *ctype;
    const char *reason;
    const char *text;
} bad_input;

static void bad_input_is_reported_once_and_terminated(void **state)
{
    env *e = *state;
    static char deep[100], big[300 * 1024];
    const bad_input bad[] = {
        {"{\"title\": \"x\"", -1, NULL, "invalid_json", "invalid JSON"},
        {"{\"title\": 42}", -1, NULL, "wrong_type", "field 'title': expected a string"},
        {"{\"priority\": \"HIGH\"}", -1, NULL, "missing_field", "field 'title' is missing"},
        {"{\"title\": \"   \"}", -1, NULL, "missing_field", "field 'title' is empty"},
        {"{\"title\": \"t\", \"id\": \"REQ.1\"}", -1, NULL, "invalid_id", "contains '.'"},
        {"{\"title\": \"t\", \"id\": \"a b\"}", -1, NULL, "invalid_id", "whitespace"},
        {"{\"title\": \"t\", \"dependencies\": \"REQ-1\"}", -1, NULL, "bad_dependency", "expected a list of ids"},
        {"{\"title\": \"t\", \"dependencies\": [1]}", -1, NULL, "bad_dependency", "expected an id string"},
        {"{\"id\": \"R-1\", \"title\": \"t\", \"dependencies\": [\"R-1\"]}", -1, NULL, "self_dependency",
         "depends on itself"},
        {"{\"title\": \"caf\xc3\"}", -1, NULL, "invalid_utf8", "invalid UTF-8 at byte"},
        {"plain \xff text", -1, NULL, "invalid_utf8", "invalid UTF-8 at byte 6"},
        {deep, -1, NULL, "too_deep", "nested deeper than 16"},
        {big, sizeof(big) - 1, NULL, "too_large", "at most 262144"},
        {"\xff\xfe\xfd", 3, "application/protobuf", "invalid_protobuf", "not a valid protobuf"},
        {"  ", -1, NULL, "empty", "empty"},
    };
    const int n = (int)(sizeof(bad) / sizeof(bad[0]));
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    natsSubscription *sub = NULL;
    jsSubOptions so;
    int got = 0;
    plan_list p = {0};

    memset(deep, '[', 40);
    memset(big, 'x', sizeof(big) - 1);
    for (int i = 0; i < n; i++)
        intake(e, "intake.requirements", bad[i].body, bad[i].len < 0 ? (int)strlen(bad[i].body) : bad[i].len,
               bad[i].ctype);
    /* and the router keeps serving */
    intake_str(e, "{\"id\":\"GOOD-1\",\"title\":\"Still served\"}");

    jsSubOptions_Init(&so);
    so.Stream = "ERRORS";
    so.Consumer = "monitor-errors";
    assert_int_equal(js_PullSubscribe(&sub, e->js, "errors.>", "monitor-errors", NULL, &so, NULL), NATS_OK);
    for (int waited = 0; got < n && waited < 10000; waited += 200) {
        natsMsgList list = {0};
        if (natsSubscription_Fetch(&list, sub, 100, 200, NULL) != NATS_OK)
            continue;
        for (int i = 0; i < list.Count; i++, got++) {
            cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(list.Msgs[i]),
                                             (size_t)natsMsg_GetDataLength(list.Msgs[i]));
            char want_subject[64];
            const bad_input *b = &bad[got];
            assert_non_null(j);
            snprintf(want_subject, sizeof(want_subject), "errors.intake.%s", b->reason);
            if (strcmp(natsMsg_GetSubject(list.Msgs[i]), want_subject) != 0)
                fail_msg("input %d: on %s, want %s", got, natsMsg_GetSubject(list.Msgs[i]), want_subject);
            if (!strstr(cJSON_GetObjectItem(j, "message")->valuestring, b->text))
                fail_msg("input %d: message '%s' lacks '%s'", got, cJSON_GetObjectItem(j, "message")->valuestring,
                         b->text);
            assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, b->reason);
            assert_string_equal(cJSON_GetObjectItem(j, "source")->valuestring, "intake");
            assert_int_equal((int)cJSON_GetObjectItem(j, "streamSeq")->valuedouble, got + 1);
            natsMsg_Ack(list.Msgs[i], NULL);
            cJSON_Delete(j);
        }
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    assert_int_equal(got, n);
    read_plan(e, &p, 1, 5000);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.r[0]->id, "GOOD-1");
    plan_free(&p);

    /* Terminated, not redelivered: nothing pending or in flight. */
    usleep(300 * 1000);
    {
        jsConsumerInfo *ci = NULL;
        assert_int_equal(js_GetConsumerInfo(&ci, e->js, "INTAKE", "router", NULL, NULL), NATS_OK);
        assert_int_equal(ci->NumPending, 0);
        assert_int_equal(ci->NumAckPending, 0);
        assert_int_equal(ci->NumRedelivered, 0);
        jsConsumerInfo_Destroy(ci);
    }

    /* $SRV.STATS tells the same story. */
    {
        cJSON *st = svc_request_json(e->nc, "$SRV.STATS.orch-router.r1", "", 2000);
        cJSON *data = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "endpoints"), 0), "data");
        cJSON *errs = cJSON_GetObjectItem(data, "errors");
        assert_non_null(data);
        assert_int_equal((int)cJSON_GetObjectItem(data, "accepted")->valuedouble, 1);
        assert_int_equal((int)cJSON_GetObjectItem(errs, "missing_field")->valuedouble, 2);
        assert_int_equal((int)cJSON_GetObjectItem(errs, "invalid_utf8")->valuedouble, 2);
        assert_int_equal((int)cJSON_GetObjectItem(errs, "too_large")->valuedouble, 1);
        assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(data, "by_type"), "backend")->valuedouble, 1);
        assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(data, "by_priority"), "MEDIUM")->valuedouble, 1);
        cJSON_Delete(st);
    }
    svc_stop(pid);
}

/* Whatever path a requirement comes by, the same checks; nothing accepted
 * can grow past what the scheduler may publish (1 MiB) on its way out. */
static void poison_requirements_are_refused_on_every_path(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    enum { KEYS = 50, VAL = 4000, CRIT = 60 };
    static char values[KEYS][VAL + 1], keys[KEYS][16], quotes[CRIT][VAL + 1];
    static char big_json[250 * 1024];
    Orchestrator__V1__Metadata__ExtraEntry entries[KEYS], *extra[KEYS];
    char *crit[CRIT];
    pb_requirement r;
    pb_metadata md;
    plan_list p = {0};
    cJSON *errs;
    int used;

    /* 1: ~200 KB of metadata.extra values made of 0x01 bytes: \u0001 each
     * in JSON, 1.2 MB on requirements.* */
    orchestrator__v1__requirement__init(&r);
    orchestrator__v1__metadata__init(&md);
    r.title = "Poison";
    r.metadata = &md;
    for (int i = 0; i < KEYS; i++) {
        orchestrator__v1__metadata__extra_entry__init(&entries[i]);
        memset(values[i], 0x01, VAL);
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        entries[i].key = keys[i];
        entries[i].value = values[i];
        extra[i] = &entries[i];
    }
    md.extra = extra;
    md.n_extra = KEYS;
    intake_pb(e, &r);
    /* 2: the same size in quotes, which JSON doubles: no control character,
     * but its rendering is over the limit */
    r.metadata = NULL;
    for (int i = 0; i < CRIT; i++) {
        memset(quotes[i], '"', VAL);
        crit[i] = quotes[i];
    }
    r.acceptance_criteria = crit;
    r.n_acceptance_criteria = CRIT;
    intake_pb(e, &r);
    r.n_acceptance_criteria = 0;
    /* 3: the JSON path, near its payload limit: the same bound */
    used = snprintf(big_json, sizeof(big_json), "{\"title\":\"Big\",\"acceptanceCriteria\":[");
    for (int i = 0; used < (int)sizeof(big_json) - 4200; i++) {
        big_json[used++] = i ? ',' : ' ';
        big_json[used++] = '"';
        memset(big_json + used, 'x', 4000);
        used += 4000;
        big_json[used++] = '"';
    }
    used += snprintf(big_json + used, sizeof(big_json) - (size_t)used, "]}");
    intake(e, "intake.requirements", big_json, used, NULL);
    /* 4: a NUL in a JSON title would cut it to "a" */
    intake_str(e, "{\"title\":\"a\\u0000b\"}");
    /* 5: a NUL byte in a protobuf string */
    {
        uint8_t *buf, *at;
        size_t len;
        r.title = "Pois#n";
        assert_int_equal(pb_pack(&r.base, &buf, &len), ORCH_OK);
        at = memchr(buf, '#', len);
        *at = 0;
        intake(e, "intake.programs", buf, (int)len, "application/protobuf");
        free(buf);
        r.title = "Poison";
    }
    /* 6: an escape sequence in a protobuf title */
    r.title = "Clear \x1b[2J screen";
    intake_pb(e, &r);
    /* 7: protobuf assigned_agent counts as the JSON's assignedAgent */
    r.title = "Add index on the orders table";
    r.assigned_agent = "jen";
    r.id = "PB-AGENT";
    intake_pb(e, &r);

    errs = read_errors(e, 6, 10000);
    assert_int_equal(cJSON_GetArraySize(errs), 6);
    expect_report(errs, 1, "control_character", "field 'metadata.k0': control character 0x01");
    expect_report(errs, 2, "too_large", "as JSON (what the scheduler publishes)");
    expect_report(errs, 3, "too_large", "as JSON (what the scheduler publishes)");
    expect_report(errs, 4, "control_character", "field 'title' holds a NUL character");
    expect_report(errs, 5, "control_character", "field 'title' holds a NUL byte");
    expect_report(errs, 6, "control_character", "field 'title': control character 0x1b");
    cJSON_Delete(errs);
    read_plan(e, &p, 1, 5000);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.r[0]->id, "PB-AGENT");
    assert_int_equal(p.r[0]->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    assert_string_equal(p.r[0]->assigned_agent, "jen");
    plan_free(&p);
    svc_stop(pid);
}

/* Fields only the suite sets are cleared at intake, whatever the format. */
static void internal_fields_cannot_be_set_from_outside(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};
    pb_requirement r;

    intake_str(e, "{\"id\":\"EXT-1\",\"title\":\"Update README\",\"originId\":\"REQ-005\",\"attempt\":4,"
                  "\"tokenBudget\":999,\"modelHint\":\"cheap\",\"lastFailureOutput\":\"fake\",\"intakeSeq\":99}");
    orchestrator__v1__requirement__init(&r);
    r.id = "EXT-2";
    r.title = "Update README";
    r.origin_id = "REQ-006";
    r.intake_seq = 12345;
    r.created_at_ms = 1;
    r.attempt = 3;
    r.token_budget = 7;
    intake_pb(e, &r);
    read_plan(e, &p, 2, 10000);
    assert_int_equal(p.n, 2);
    for (int i = 0; i < 2; i++) {
        const pb_requirement *x = p.r[i];
        assert_string_equal(x->origin_id, "");
        assert_int_equal(x->attempt, 0);
        assert_int_equal(x->token_budget, 0);
        assert_string_equal(x->model_hint, "");
        assert_string_equal(x->last_failure_output, "");
        assert_int_equal(x->intake_seq, (uint64_t)(i + 1)); /* the router's own */
        assert_true(x->created_at_ms > 1);
    }
    plan_free(&p);
    svc_stop(pid);
}

/* A file has one spelling on its way to the scheduler, whatever the intake
 * said ("./src//a.c", "/src/x/../a.c" are src/a.c), so no spelling slips
 * past the overlap rule; a path leaving the project is refused, naming the
 * field. JSON and protobuf alike. */
static void file_paths_have_one_spelling(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};
    pb_requirement r;
    char *files[] = {"/src/x/../a.c", "lib//"};
    cJSON *errs;

    intake_str(e, "{\"id\":\"PATH-1\",\"title\":\"Fix the parser\",\"files\":[\"./src//a.c\",\"docs/./api.md\"]}");
    orchestrator__v1__requirement__init(&r);
    r.id = "PATH-2";
    r.title = "Fix the lexer";
    r.files = files;
    r.n_files = 2;
    intake_pb(e, &r);
    read_plan(e, &p, 2, 10000);
    assert_int_equal(p.n, 2);
    assert_string_equal(find(&p, "PATH-1")->files[0], "src/a.c");
    assert_string_equal(find(&p, "PATH-1")->files[1], "docs/api.md");
    assert_string_equal(find(&p, "PATH-2")->files[0], "src/a.c");
    assert_string_equal(find(&p, "PATH-2")->files[1], "lib/");
    plan_free(&p);
    intake_str(e, "{\"id\":\"PATH-3\",\"title\":\"Read the keys\",\"files\":[\"src/../../etc/passwd\"]}");
    errs = read_errors(e, 1, 10000);
    assert_non_null(errs);
    {
        char *text = cJSON_PrintUnformatted(errs);
        assert_non_null(strstr(text, "files[0]"));
        assert_non_null(strstr(text, "leaves the project"));
        free(text);
    }
    cJSON_Delete(errs);
    svc_stop(pid);
}

/* review and release are the scheduler's to ask for once work is verified:
 * submitted as intake (by type, persona, consumer name, the seed's subject
 * or protobuf), such work stuck in VERIFYING or had its merge dropped as a
 * duplicate. It is refused at intake, naming the field. */
static void review_and_release_are_not_intake_types(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};
    pb_requirement pr;
    cJSON *errs;
    const char *body = "{\"id\":\"RV-2\",\"title\":\"Look over the API\"}";

    intake_str(e, "{\"id\":\"RV-1\",\"title\":\"Review the API\",\"type\":\"review\"}");            /* 1 */
    intake_str(e, "[{\"title\":\"Fine\"},{\"title\":\"Ship it\",\"assignedAgent\":\"release-manager\"}]"); /* 2 */
    intake(e, "work.requirements.review.RV-2", body, (int)strlen(body), NULL);                   /* 3 */
    orchestrator__v1__requirement__init(&pr);
    pr.id = "RV-3";
    pr.title = "Release it";
    pr.type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE;
    intake_pb(e, &pr);                                                                            /* 4 */
    intake_str(e, "{\"id\":\"OK-1\",\"title\":\"Update the README\"}");                           /* 5 */

    errs = read_errors(e, 4, 10000);
    assert_int_equal(cJSON_GetArraySize(errs), 4);
    expect_report(errs, 1, "bad_value", "field 'type': 'review' is not an intake type");
    expect_report(errs, 2, "bad_value", "[1]: field 'assignedAgent': 'release-manager' is not an intake type");
    expect_report(errs, 3, "bad_value", "subject work.requirements.review.RV-2: 'review' is not an intake type");
    expect_report(errs, 4, "bad_value", "field 'type': 'release' is not an intake type");
    cJSON_Delete(errs);
    /* the list's other item goes on (it took the automatic id) */
    read_plan(e, &p, 2, 5000);
    assert_int_equal(p.n, 2);
    find(&p, "OK-1");
    assert_string_equal(find(&p, "REQ-001")->title, "Fine");
    plan_free(&p);
    wait_intake_empty(e, 5000); /* refused messages are terminated */
    svc_stop(pid);
}

/* One bad item of a list (a self-dependency, a missing title, an item
 * that is no object) is refused on its own, named with its index and id
 * on errors.intake.*; the others go on, and the message is acked. The
 * refused id is not taken: sent again, fixed, it goes in. */
static void one_bad_item_refuses_only_itself(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};
    cJSON *errs;
    const cJSON *x;
    int self = 0, untitled = 0;

    intake_str(e, "[{\"id\":\"GOOD-1\",\"title\":\"Add the stock API\"},"
                  " {\"id\":\"LOOP-1\",\"title\":\"Add the lot API\",\"dependencies\":[\"LOOP-1\"]},"
                  " {\"title\":\"Update the README\"},"
                  " {\"id\":\"NOTITLE-1\"}]"); /* 1 */
    errs = read_errors(e, 2, 10000);
    assert_int_equal(cJSON_GetArraySize(errs), 2);
    cJSON_ArrayForEach(x, errs) {
        const char *id = report_str(x, "requirementId");
        assert_int_equal((uint64_t)cJSON_GetObjectItem(cJSON_GetObjectItem(x, "report"), "streamSeq")->valuedouble, 1);
        if (!strcmp(id, "LOOP-1")) {
            self = 1;
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(x, "subject")), "errors.intake.self_dependency");
            assert_string_equal(report_str(x, "message"), "[1]: field 'dependencies[0]': 'LOOP-1' depends on itself");
        } else if (!strcmp(id, "NOTITLE-1")) {
            untitled = 1;
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(x, "subject")), "errors.intake.missing_field");
            assert_non_null(strstr(report_str(x, "message"), "[3]: "));
        }
    }
    assert_true(self && untitled);
    cJSON_Delete(errs);
    read_plan(e, &p, 2, 10000);
    assert_int_equal(p.n, 2);
    find(&p, "GOOD-1");
    assert_string_equal(find(&p, "REQ-001")->title, "Update the README");
    plan_free(&p);
    wait_intake_empty(e, 5000); /* acked: what could go on went on */

    intake_str(e, "{\"id\":\"LOOP-1\",\"title\":\"Add the lot API\"}");
    read_plan(e, &p, 1, 10000);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.r[0]->id, "LOOP-1");
    plan_free(&p);
    svc_stop(pid);
}

/* A requirement that would close a dependency cycle is refused at intake,
 * before its id is taken: within one message (the later one closes it),
 * against what the scheduler has stored (KV orch_requirements), and
 * against what the router itself published before the scheduler stored
 * it. The ids stay free: fixed, they go in. */
static void a_cycle_is_refused_at_intake_and_its_id_stays_free(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};
    cJSON *errs;

    put_state(e, "OLD-1", ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED, "OLD-2");
    put_state(e, "OLD-2", ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED, "NEW-9");
    put_state(e, "DONE-1", ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE, NULL);
    intake_str(e, "[{\"id\":\"CY-A\",\"title\":\"Add the stock API\",\"dependencies\":[\"CY-B\"]},"
                  " {\"id\":\"CY-B\",\"title\":\"Add the lot API\",\"dependencies\":[\"CY-A\"]},"
                  " {\"id\":\"CY-C\",\"title\":\"Add the price API\",\"dependencies\":[\"CY-A\"]}]"); /* 1 */
    intake_str(e, "{\"id\":\"NEW-9\",\"title\":\"Add the lot page\",\"dependencies\":[\"DONE-1\",\"OLD-1\"]}"); /* 2 */
    errs = read_errors(e, 2, 10000);
    assert_int_equal(cJSON_GetArraySize(errs), 2);
    expect_report(errs, 1, "bad_dependency",
                  "[1]: field 'dependencies': CY-B would close the dependency cycle CY-B -> CY-A -> CY-B; refused, "
                  "and its id is not taken");
    assert_string_equal(report_str(report_for(errs, 1), "requirementId"), "CY-B");
    expect_report(errs, 2, "bad_dependency",
                  "field 'dependencies': NEW-9 would close the dependency cycle NEW-9 -> OLD-1 -> OLD-2 -> NEW-9");
    assert_string_equal(report_str(report_for(errs, 2), "requirementId"), "NEW-9");
    cJSON_Delete(errs);
    read_plan(e, &p, 2, 10000);
    assert_int_equal(p.n, 2);
    find(&p, "CY-A");
    find(&p, "CY-C");
    plan_free(&p);
    wait_intake_empty(e, 5000);

    /* without the dependency that closed the cycle, both go in */
    intake_str(e, "[{\"id\":\"CY-B\",\"title\":\"Add the lot API\"},"
                  " {\"id\":\"NEW-9\",\"title\":\"Add the lot page\",\"dependencies\":[\"DONE-1\"]}]");
    read_plan(e, &p, 2, 10000);
    assert_int_equal(p.n, 2);
    find(&p, "CY-B");
    find(&p, "NEW-9");
    plan_free(&p);
    assert_int_equal(stream_msgs(e, "ERRORS"), 2);

    /* against what the router published a moment ago, which no scheduler
     * has stored (none runs here) */
    intake_str(e, "{\"id\":\"LAG-A\",\"title\":\"Add the tax API\",\"dependencies\":[\"LAG-B\"]}");
    read_plan(e, &p, 1, 10000);
    assert_int_equal(p.n, 1);
    plan_free(&p);
    intake_str(e, "{\"id\":\"LAG-B\",\"title\":\"Add the tax page\",\"dependencies\":[\"LAG-A\"]}");
    errs = read_errors(e, 1, 10000);
    assert_int_equal(cJSON_GetArraySize(errs), 1);
    assert_string_equal(report_str(cJSON_GetArrayItem(errs, 0), "message"),
                        "field 'dependencies': LAG-B would close the dependency cycle LAG-B -> LAG-A -> LAG-B; "
                        "refused, and its id is not taken: submit it again without the dependency that closes the "
                        "cycle");
    cJSON_Delete(errs);
    svc_stop(pid);
}

/* The seed's "HIGH: blocking other work", read from the structure: a
 * requirement three others of its message depend on goes on as HIGH,
 * saying why; one with two stays as its words make it. */
static void a_requirement_three_others_wait_on_is_high(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};
    const pb_requirement *core;
    int said = 0;

    intake_str(e, "[{\"id\":\"CORE-1\",\"title\":\"Add the stock service\"},"
                  " {\"id\":\"PAIR-1\",\"title\":\"Add the lot service\"},"
                  " {\"id\":\"D-1\",\"title\":\"Add the stock API\",\"dependencies\":[\"CORE-1\",\"PAIR-1\"]},"
                  " {\"id\":\"D-2\",\"title\":\"Add the lot API\",\"dependencies\":[\"CORE-1\",\"PAIR-1\"]},"
                  " {\"id\":\"D-3\",\"title\":\"Add the price API\",\"dependencies\":[\"CORE-1\"]}]");
    read_plan(e, &p, 5, 10000);
    assert_int_equal(p.n, 5);
    core = find(&p, "CORE-1");
    assert_int_equal(core->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH);
    for (size_t k = 0; k < core->n_reasons; k++)
        said |= !strcmp(core->reasons[k]->rule, "structure:blocks 3 requirements");
    assert_true(said);
    assert_int_equal(find(&p, "PAIR-1")->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_MEDIUM);
    assert_int_equal(find(&p, "D-3")->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_MEDIUM);
    plan_free(&p);
    svc_stop(pid);
}

/* A NUL byte as it is in JSON or plain text would end the title there: it
 * is refused as a control character naming the field (or the text), not
 * called an invalid byte. */
static void a_nul_byte_is_refused_naming_the_field(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    static const char json[] = "{\"id\":\"NUL-1\",\"title\":\"Fix the login\0 page\"}";
    static const char text[] = "Fix the login\0 page";
    cJSON *errs;

    intake(e, "intake.requirements", json, (int)sizeof(json) - 1, "application/json"); /* 1 */
    intake(e, "intake.requirements", text, (int)sizeof(text) - 1, "text/plain");       /* 2 */
    errs = read_errors(e, 2, 10000);
    assert_int_equal(cJSON_GetArraySize(errs), 2);
    expect_report(errs, 1, "control_character", "field 'title' holds a NUL character");
    expect_report(errs, 2, "control_character", "text holds a NUL byte at byte 13: refused rather than cut short");
    cJSON_Delete(errs);
    assert_int_equal(stream_msgs(e, "PLAN"), 0);
    wait_intake_empty(e, 5000);
    svc_stop(pid);
}

/* orchctl submit says what happened: exit 1 when any requirement was
 * refused, naming it; exit 1 and the missing stream named when nothing was
 * provisioned; exit 3 only when the server cannot be reached. */
static void orchctl_submit_reports_refusals_and_missing_stream(void **state)
{
    env *e = *state;
    char out[8192];
    pid_t pid;

    {
        const char *a[] = {"submit", "--title", "Fix login crash", NULL};
        assert_int_equal(svc_orchctl_at(&e->fix, e->fix.url, a, out, sizeof(out)), 1);
        if (!strstr(out, "stream INTAKE for intake.requirements does not exist: no service has provisioned it"))
            fail_msg("orchctl said: %s", out);
    }
    pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    {
        const char *a[] = {"submit", "--title", "Update README", "--id", "REQ-002", NULL};
        assert_int_equal(svc_orchctl_at(&e->fix, e->fix.url, a, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "REQ-002"));
    }
    {
        const char *a[] = {"submit", "--title", "Update README again", "--id", "REQ-002", NULL};
        assert_int_equal(svc_orchctl_at(&e->fix, e->fix.url, a, out, sizeof(out)), 1);
        if (!strstr(out, "rejected REQ-002 (duplicate_id)"))
            fail_msg("orchctl said: %s", out);
    }
    {
        char path[400];
        const char *a[] = {"submit", path, NULL};
        FILE *f;
        snprintf(path, sizeof(path), "%s/two.json", e->fix.dir);
        f = fopen(path, "w");
        fputs("[{\"title\":\"Update the FAQ\"},{\"id\":\"REQ-002\",\"title\":\"Taken\"}]", f);
        fclose(f);
        assert_int_equal(svc_orchctl_at(&e->fix, e->fix.url, a, out, sizeof(out)), 1);
        /* the accepted one is printed, the refused one named */
        if (!strstr(out, "REQ-001\t") || !strstr(out, "rejected REQ-002 (duplicate_id)") ||
            !strstr(out, "1 requirement refused"))
            fail_msg("orchctl said: %s", out);
    }
    /* a roadmap import in two messages: the first has an id taken before,
     * the second still goes in */
    {
        char path[400];
        const char *a[] = {"roadmap", "import", path, NULL};
        FILE *f;
        plan_list p = {0};
        snprintf(path, sizeof(path), "%s/roadmap.md", e->fix.dir);
        f = fopen(path, "w");
        fputs("# Roadmap\n\n## Phase 1 - Docs\n\n", f);
        for (int i = 0; i < 201; i++)
            fprintf(f, "### RM-%d: Update the guide, part %d\n- Status: Pending\n- Agent: documentation\n\n", i, i);
        fclose(f);
        intake_str(e, "{\"id\":\"RM-5\",\"title\":\"Taken before\"}");
        read_plan(e, &p, 1000, 2000); /* what is on PLAN so far */
        plan_free(&p);
        assert_int_equal(svc_orchctl_at(&e->fix, e->fix.url, a, out, sizeof(out)), 1);
        if (!strstr(out, "rejected RM-5 (duplicate_id)"))
            fail_msg("orchctl said: %.2000s", out);
        read_plan(e, &p, 200, 10000);
        assert_int_equal(p.n, 200);
        find(&p, "RM-200"); /* the second message's */
        assert_int_equal(count_id(&p, "RM-5"), 0);
        plan_free(&p);
    }
    svc_stop(pid);
    {
        const char *a[] = {"--server", "nats://127.0.0.1:1", "submit", "--title", "x", NULL};
        assert_int_equal(svc_orchctl_at(&e->fix, e->fix.url, a, out, sizeof(out)), 3);
    }
}

static void dry_run_classifies_without_publishing(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    cJSON *j = svc_request_json(e->nc, "orch.router.classify", "Add index on the orders table", 2000);
    natsMsg *reply = NULL;
    const char *code = NULL;

    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "type")->valuestring, "database");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "classification"));
    cJSON_Delete(j);
    assert_int_equal(natsConnection_RequestString(&reply, e->nc, "orch.router.classify", "{\"title\":1}", 2000),
                     NATS_OK);
    assert_int_equal(natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &code), NATS_OK);
    assert_string_equal(code, "400");
    natsMsg_Destroy(reply);
    assert_int_equal(stream_msgs(e, "PLAN"), 0);
    svc_stop(pid);
}

static void publish_many(env *e, int from, int n) { publish_mixed(e, from, n, 0); }

static long long accepted_by(env *e, const char *instance) { return router_figure(e, instance, "accepted"); }

static void two_replicas_share_the_work_exactly_once(void **state)
{
    env *e = *state;
    const char *env_small[] = {"ORCH_ROUTER_BATCH=10", NULL};
    pid_t a = svc_start_ready(e->nc, &e->fix, "router", "ra", env_small);
    pid_t b = svc_start_ready(e->nc, &e->fix, "router", "rb", env_small);
    plan_list p = {0};
    const int n = 400;
    long long by_a, by_b;

    publish_many(e, 0, n);
    read_plan(e, &p, n, 30000);
    assert_int_equal(p.n, n);
    assert_int_equal(distinct_ids(&p), n);
    by_a = accepted_by(e, "ra");
    by_b = accepted_by(e, "rb");
    print_message("replica ra classified %lld, rb %lld\n", by_a, by_b);
    assert_int_equal(by_a + by_b, n);
    assert_true(by_a > 0 && by_b > 0);
    plan_free(&p);
    svc_stop(a);
    svc_stop(b);
}

static void sigkill_mid_batch_loses_nothing_and_doubles_nothing(void **state)
{
    env *e = *state;
    const char *env_batch[] = {"ORCH_ROUTER_BATCH=100", NULL};
    const int n = 2000;
    pid_t pid;
    plan_list p = {0};
    uint64_t on_plan = 0;

    /* The router first: it provisions the INTAKE stream. */
    pid = svc_start_ready(e->nc, &e->fix, "router", "rk", env_batch);
    publish_mixed(e, 0, n, 3); /* a third with ids of their own */
    for (int i = 0; i < 400 && (on_plan = stream_msgs(e, "PLAN")) < 300; i++)
        usleep(5 * 1000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    print_message("killed with %llu of %d on PLAN\n", (unsigned long long)on_plan, n);
    assert_true(on_plan > 0 && on_plan < (uint64_t)n);

    pid = svc_start_ready(e->nc, &e->fix, "router", "rk2", env_batch);
    read_plan(e, &p, n, 60000);
    assert_int_equal(p.n, n);
    assert_int_equal(distinct_ids(&p), n);
    wait_intake_empty(e, 20000);
    /* A redelivered message is not a duplicate of itself. */
    if (stream_msgs(e, "ERRORS") != 0)
        print_stream(e, "ERRORS", 5);
    assert_int_equal(stream_msgs(e, "ERRORS"), 0);
    plan_free(&p);
    svc_stop(pid);
}

static void orchctl_publishes_encodes_and_classifies(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    char out[8192], json[300], bin[300];
    plan_list p = {0};
    FILE *f;

    {
        const char *a[] = {"publish", "intake.requirements", "Fix login crash in production", NULL};
        assert_int_equal(svc_orchctl(&e->fix, a, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "stored in INTAKE"));
    }
    snprintf(json, sizeof(json), "%s/req.json", e->fix.dir);
    snprintf(bin, sizeof(bin), "%s/req.bin", e->fix.dir);
    f = fopen(json, "w");
    fputs("{\"id\":\"PB-1\",\"title\":\"Inventory dashboard UI\",\"files\":[\"src/pages/inv.tsx\"]}", f);
    fclose(f);
    {
        const char *a[] = {"encode", json, NULL};
        assert_int_equal(svc_orchctl(&e->fix, a, out, sizeof(out)), 0);
        /* the output file holds the bytes: copy it for the publish below */
        rename(strcat(strcpy(out, e->fix.dir), "/orchctl.out"), bin);
    }
    {
        const char *a[] = {"publish", "intake.programs", "--content-type", "application/protobuf", "--file", bin, NULL};
        assert_int_equal(svc_orchctl(&e->fix, a, out, sizeof(out)), 0);
    }
    read_plan(e, &p, 2, 10000);
    assert_int_equal(p.n, 2);
    assert_int_equal(find(&p, "PB-1")->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    assert_int_equal(find(&p, "REQ-001")->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_CRITICAL);
    plan_free(&p);
    {
        const char *a[] = {"classify", "Add index on the orders table", NULL};
        assert_int_equal(svc_orchctl(&e->fix, a, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "\"type\":\t\"database\""));
    }
    {
        const char *a[] = {"classify", "{\"title\": 1}", NULL};
        assert_int_equal(svc_orchctl(&e->fix, a, out, sizeof(out)), 1);
    }
    {
        const char *a[] = {"frobnicate", NULL};
        assert_int_equal(svc_orchctl(&e->fix, a, out, sizeof(out)), 2);
    }
    svc_stop(pid);
    {
        const char *a[] = {"--server", "nats://127.0.0.1:1", "services", NULL};
        assert_int_equal(svc_orchctl(&e->fix, a, out, sizeof(out)), 3);
    }
}

/* The seed's own commands, as written: `nats pub
 * work.requirements.<type>.<id> '{...}'` is intake with the subject's type
 * (and its id, when the body has none), and `nats consumer next RESULTS
 * orchestrator` / `... ERRORS orchestrator` read completions and failures
 * without taking them from the services. */
static void seed_subjects_and_consumers_work(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};
    cJSON *errs;
    const char *api = "{\"title\":\"Add inventory transaction API endpoint\",\"files\":[\"src/api/tx.ts\"]}";
    const char *given = "{\"id\":\"SEED-2\",\"title\":\"Document the API\",\"assignedAgent\":\"documentation\"}";
    const char *other = "{\"title\":\"Add an index\",\"assignedAgent\":\"roy\"}";
    const char *wrong_id = "{\"id\":\"SEED-9\",\"title\":\"Add an index\"}";

    /* a plain publish, as `nats pub` does: the INTAKE stream takes it */
    assert_int_equal(natsConnection_PublishString(e->nc, "work.requirements.frontend.SEED-1", api), NATS_OK);
    assert_int_equal(natsConnection_PublishString(e->nc, "work.requirements.documentation.SEED-2", given), NATS_OK);
    assert_int_equal(natsConnection_Flush(e->nc), NATS_OK);
    read_plan(e, &p, 2, 10000);
    assert_int_equal(p.n, 2);
    /* the title alone would make it backend: the subject says frontend */
    assert_int_equal(find(&p, "SEED-1")->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    assert_int_equal(find(&p, "SEED-2")->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DOCUMENTATION);
    plan_free(&p);

    /* a body that contradicts its subject, and a type that is none */
    intake(e, "work.requirements.database.SEED-3", other, (int)strlen(other), NULL);        /* seq 3 */
    intake(e, "work.requirements.database.SEED-4", wrong_id, (int)strlen(wrong_id), NULL);  /* seq 4 */
    intake(e, "work.requirements.wizard.SEED-5", api, (int)strlen(api), NULL);              /* seq 5 */
    errs = read_errors(e, 3, 10000);
    expect_report(errs, 3, "bad_value", "is not the subject's type 'database'");
    expect_report(errs, 4, "invalid_id", "id 'SEED-9' is not the subject's id 'SEED-4'");
    expect_report(errs, 5, "bad_value", "'wizard' is not an agent type");
    cJSON_Delete(errs);
    wait_intake_empty(e, 5000);

    /* completions and failures, read by hand; the services' consumers
     * still have every one */
    {
        const char *streams[] = {"RESULTS", "ERRORS"}, *subjects[] = {"results.frontend.SEED-1", "errors.agent.SEED-1"},
                   *services[] = {"scheduler-results", "scheduler-errors"};
        for (int k = 0; k < 2; k++) {
            natsSubscription *sub = NULL;
            natsMsgList list = {0};
            jsConsumerInfo *ci = NULL;
            jsSubOptions so;
            uint64_t before;
            assert_int_equal(js_GetConsumerInfo(&ci, e->js, streams[k], services[k], NULL, NULL), NATS_OK);
            before = ci->NumPending;
            jsConsumerInfo_Destroy(ci);
            assert_int_equal(js_Publish(NULL, e->js, subjects[k], "{\"requirementId\":\"SEED-1\"}", 27, NULL, NULL),
                             NATS_OK);
            jsSubOptions_Init(&so);
            so.Stream = streams[k];
            so.Consumer = "orchestrator";
            assert_int_equal(js_PullSubscribe(&sub, e->js, NULL, "orchestrator", NULL, &so, NULL), NATS_OK);
            assert_int_equal(natsSubscription_Fetch(&list, sub, 100, 5000, NULL), NATS_OK);
            assert_true(list.Count >= 1);
            assert_string_equal(natsMsg_GetSubject(list.Msgs[list.Count - 1]), subjects[k]);
            for (int i = 0; i < list.Count; i++)
                natsMsg_Ack(list.Msgs[i], NULL);
            natsMsgList_Destroy(&list);
            natsSubscription_Unsubscribe(sub);
            natsSubscription_Destroy(sub);
            assert_int_equal(js_GetConsumerInfo(&ci, e->js, streams[k], services[k], NULL, NULL), NATS_OK);
            assert_int_equal(ci->NumPending, before + 1);
            jsConsumerInfo_Destroy(ci);
        }
    }
    svc_stop(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_format_reaches_plan, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(split_requirements_are_linked, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(bad_input_is_reported_once_and_terminated, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(dry_run_classifies_without_publishing, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(poison_requirements_are_refused_on_every_path, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(internal_fields_cannot_be_set_from_outside, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(file_paths_have_one_spelling, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(review_and_release_are_not_intake_types, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(a_nul_byte_is_refused_naming_the_field, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(one_bad_item_refuses_only_itself, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(a_cycle_is_refused_at_intake_and_its_id_stays_free, svc_env_setup,
                                        svc_env_teardown),
        cmocka_unit_test_setup_teardown(a_requirement_three_others_wait_on_is_high, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(orchctl_submit_reports_refusals_and_missing_stream, svc_env_setup,
                                        svc_env_teardown),
        cmocka_unit_test_setup_teardown(orchctl_publishes_encodes_and_classifies, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(two_replicas_share_the_work_exactly_once, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(seed_subjects_and_consumers_work, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(sigkill_mid_batch_loses_nothing_and_doubles_nothing, svc_env_setup,
                                        svc_env_teardown),
    };
    int rc;
    /* ORCH_TEST_FILTER=name runs one case: tests/support/casefilter.c */
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
