/* deploy/nats.conf's users and permissions, on a real nats-server: an agent
 * identity takes only its own type's work and publishes only its results,
 * errors and heartbeats; every cross-identity attempt in the matrix is
 * denied (the server reports a permissions violation and nothing arrives). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <nats/nats.h>

#include "natsfix.h"
#include "provision.h"

static natsfix fix;
static volatile int violations;
static char last_violation[256];

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
    (void)nc;
    (void)sub;
    (void)closure;
    if (s == NATS_NOT_PERMITTED) {
        violations++;
        snprintf(last_violation, sizeof(last_violation), "%s", nats_GetLastError(NULL));
    }
}

/* The accounts part of deploy/nats.conf (listen, http, jetstream lines are
 * the fixture's own). */
static char *accounts_section(void)
{
    char path[512], line[1024];
    const char *src = getenv("ORCH_SOURCE_DIR");
    FILE *f;
    size_t cap = 65536, len = 0;
    char *out = calloc(1, cap);
    int in_js = 0, in_accounts = 0;
    snprintf(path, sizeof(path), "%s/deploy/nats.conf", src ? src : ".");
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "jetstream {", 11))
            in_js = 1;
        if (in_js) {
            if (line[0] == '}')
                in_js = 0;
            continue;
        }
        if (!strncmp(line, "accounts {", 10))
            in_accounts = 1;
        if (in_accounts)
            len += (size_t)snprintf(out + len, cap - len, "%s", line);
    }
    fclose(f);
    /* the fixture's readiness check connects without a user */
    snprintf(out + len, cap - len, "\nno_auth_user: operator\n");
    return out;
}

static int group_setup(void **state)
{
    char *acc;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    provision_report rep;
    char err[ERR_LEN];
    (void)state;
    setenv("ROUTER_PASS", "p-router", 1);
    setenv("SCHEDULER_PASS", "p-scheduler", 1);
    setenv("VERIFIER_PASS", "p-verifier", 1);
    setenv("MONITOR_PASS", "p-monitor", 1);
    setenv("HOSTLISTENER_PASS", "p-hl", 1);
    setenv("AGENT_BACKEND_PASS", "p-backend", 1);
    setenv("AGENT_FRONTEND_PASS", "p-frontend", 1);
    setenv("AGENT_DATABASE_PASS", "p-database", 1);
    setenv("AGENT_DOCUMENTATION_PASS", "p-documentation", 1);
    setenv("AGENT_REVIEW_PASS", "p-review", 1);
    setenv("AGENT_RELEASE_PASS", "p-release", 1);
    setenv("OPERATOR_PASS", "p-operator", 1);
    acc = accounts_section();
    if (natsfix_start(&fix, acc) != 0)
        return -1;
    free(acc);
    /* the operator may use the JetStream API: provision as the services would */
    if (natsConnection_ConnectTo(&nc, fix.url) != NATS_OK || natsConnection_JetStream(&js, nc, NULL) != NATS_OK ||
        provision_all(js, 1, &rep, err) != ORCH_OK) {
        fprintf(stderr, "provision: %s\n", err);
        return -1;
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    natsfix_stop(&fix);
    return 0;
}

static natsConnection *connect_as(const char *user, const char *password)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, fix.url);
    natsOptions_SetUserInfo(o, user, password);
    natsOptions_SetErrorHandler(o, on_error, NULL);
    assert_int_equal(natsConnection_Connect(&nc, o), NATS_OK);
    natsOptions_Destroy(o);
    return nc;
}

static uint64_t msgs(const char *stream)
{
    natsConnection *nc = connect_as("operator", "p-operator");
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    uint64_t n;
    natsConnection_JetStream(&js, nc, NULL);
    assert_int_equal(js_GetStreamInfo(&si, js, stream, NULL, NULL), NATS_OK);
    n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return n;
}

/* Publishes and reports whether it was refused (a violation came back). */
static int refused(natsConnection *nc, const char *subject)
{
    int before = violations;
    natsConnection_PublishString(nc, subject, "{}");
    natsConnection_Flush(nc);
    for (int i = 0; i < 50 && violations == before; i++)
        usleep(20 * 1000);
    return violations > before;
}

static void agent_identity_does_its_job_only(void **state)
{
    natsConnection *agent = connect_as("agent-backend", "p-backend");
    natsConnection *sched = connect_as("scheduler", "p-scheduler");
    jsCtx *ajs = NULL, *sjs = NULL;
    natsSubscription *sub = NULL, *spy = NULL;
    jsSubOptions so;
    natsMsgList list = {0};
    natsMsg *m = NULL;
    uint64_t req0, res0, ctl0;
    (void)state;

    natsConnection_JetStream(&ajs, agent, NULL);
    natsConnection_JetStream(&sjs, sched, NULL);
    /* the scheduler releases one backend and one frontend requirement */
    assert_int_equal(js_Publish(NULL, sjs, "requirements.backend.P-1", "{\"id\":\"P-1\"}", 11, NULL, NULL), NATS_OK);
    assert_int_equal(js_Publish(NULL, sjs, "requirements.frontend.P-2", "{\"id\":\"P-2\"}", 11, NULL, NULL), NATS_OK);

    /* allowed: its own type's work, through its own consumer */
    jsSubOptions_Init(&so);
    so.Stream = "REQUIREMENTS";
    so.Consumer = "roy-backend";
    assert_int_equal(js_PullSubscribe(&sub, ajs, "requirements.backend.>", "roy-backend", NULL, &so, NULL), NATS_OK);
    assert_int_equal(natsSubscription_Fetch(&list, sub, 1, 3000, NULL), NATS_OK);
    assert_int_equal(list.Count, 1);
    assert_string_equal(natsMsg_GetSubject(list.Msgs[0]), "requirements.backend.P-1");
    natsMsg_Ack(list.Msgs[0], NULL);
    natsMsgList_Destroy(&list);
    natsSubscription_Destroy(sub);
    sub = NULL;

    /* allowed: its results, errors, heartbeats */
    res0 = msgs("RESULTS");
    assert_int_equal(js_Publish(NULL, ajs, "results.backend.P-1", "{}", 2, NULL, NULL), NATS_OK);
    assert_int_equal(msgs("RESULTS"), res0 + 1);
    assert_int_equal(js_Publish(NULL, ajs, "errors.agent.P-1", "{}", 2, NULL, NULL), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&spy, sched, "agents.heartbeat.>"), NATS_OK);
    natsConnection_Flush(sched);
    assert_false(refused(agent, "agents.heartbeat.backend.roy-1"));
    assert_int_equal(natsSubscription_NextMsg(&m, spy, 2000), NATS_OK);
    natsMsg_Destroy(m);
    /* ... and its claim on a piece of its work: once */
    {
        natsMsg *c = NULL;
        jsErrCode code = 0;
        for (int i = 0; i < 2; i++) {
            natsMsg_Create(&c, "$KV.orch_claims.backend.P-1-a1", NULL, "roy-1", 5);
            natsMsgHeader_Set(c, "Nats-Expected-Last-Subject-Sequence", "0");
            if (i == 0)
                assert_int_equal(js_PublishMsg(NULL, ajs, c, NULL, &code), NATS_OK);
            else
                assert_int_not_equal(js_PublishMsg(NULL, ajs, c, NULL, &code), NATS_OK);
            natsMsg_Destroy(c);
        }
        assert_int_equal(code, JSStreamWrongLastSequenceErr);
    }

    /* denied: another type's work, by its consumer or by subscribing */
    so.Consumer = "jen-frontend";
    {
        int before = violations;
        natsStatus s = js_PullSubscribe(&sub, ajs, "requirements.frontend.>", "jen-frontend", NULL, &so, NULL);
        if (s == NATS_OK) {
            s = natsSubscription_Fetch(&list, sub, 1, 1000, NULL);
            assert_true(s != NATS_OK || list.Count == 0);
            natsMsgList_Destroy(&list);
            natsSubscription_Destroy(sub);
        }
        usleep(300 * 1000);
        assert_true(violations > before);
    }
    {
        int before = violations;
        natsSubscription *peek = NULL;
        natsConnection_SubscribeSync(&peek, agent, "requirements.>");
        natsConnection_Flush(agent);
        usleep(300 * 1000);
        assert_true(violations > before);
        js_Publish(NULL, sjs, "requirements.frontend.P-3", "{}", 2, NULL, NULL);
        assert_int_not_equal(natsSubscription_NextMsg(&m, peek, 500), NATS_OK);
        natsSubscription_Destroy(peek);
    }

    /* denied: releasing work, spawning or killing, another type's results */
    req0 = msgs("REQUIREMENTS");
    ctl0 = msgs("CONTROL");
    res0 = msgs("RESULTS");
    assert_true(refused(agent, "requirements.backend.FORGED"));
    assert_true(refused(agent, "requirements.review.FORGED"));
    assert_true(refused(agent, "control.spawn.backend"));
    assert_true(refused(agent, "control.kill.jen-1"));
    assert_true(refused(agent, "results.frontend.P-2"));
    assert_true(refused(agent, "agents.heartbeat.frontend.jen-1"));
    assert_true(refused(agent, "intake.requirements"));
    assert_true(refused(agent, "$KV.orch_requirements.P-1"));
    assert_true(refused(agent, "$KV.orch_claims.frontend.P-2-a1"));
    assert_int_equal(msgs("REQUIREMENTS"), req0);
    assert_int_equal(msgs("CONTROL"), ctl0);
    assert_int_equal(msgs("RESULTS"), res0);
    print_message("last violation: %s\n", last_violation);

    natsSubscription_Destroy(spy);
    jsCtx_Destroy(ajs);
    jsCtx_Destroy(sjs);
    natsConnection_Destroy(agent);
    natsConnection_Destroy(sched);
}

/* The id registry: the router takes an id once; nobody else can write it,
 * so no id can be squatted by a direct KV write. */
static void only_the_router_takes_ids(void **state)
{
    natsConnection *router = connect_as("router", "p-router");
    natsConnection *agent = connect_as("agent-backend", "p-backend");
    natsConnection *op = connect_as("operator", "p-operator");
    jsCtx *js = NULL;
    jsErrCode code = 0;
    uint64_t before;
    (void)state;

    natsConnection_JetStream(&js, router, NULL);
    for (int i = 0; i < 2; i++) {
        natsMsg *c = NULL;
        natsMsg_Create(&c, "$KV.orch_ids.P-9", NULL, "seq-1-0", 7);
        natsMsgHeader_Set(c, "Nats-Expected-Last-Subject-Sequence", "0");
        if (i == 0)
            assert_int_equal(js_PublishMsg(NULL, js, c, NULL, &code), NATS_OK);
        else
            assert_int_not_equal(js_PublishMsg(NULL, js, c, NULL, &code), NATS_OK);
        natsMsg_Destroy(c);
    }
    assert_int_equal(code, JSStreamWrongLastSequenceErr);
    before = msgs("KV_orch_ids");
    assert_true(refused(op, "$KV.orch_ids.P-10"));
    assert_true(refused(agent, "$KV.orch_ids.P-11"));
    assert_int_equal(msgs("KV_orch_ids"), before);
    jsCtx_Destroy(js);
    natsConnection_Destroy(router);
    natsConnection_Destroy(agent);
    natsConnection_Destroy(op);
}

/* Every service may raise the alerts it raises: a lost stream or consumer
 * (common/daemon.c, every daemon) and an agent that keeps exiting (the Host
 * Listener). A refusal shows only as a violation in the server's log. */
static void services_may_raise_their_alerts(void **state)
{
    static const struct {
        const char *user, *password, *subject;
    } may[] = {
        {"router", "p-router", "alerts.critical.topology_missing"},
        {"scheduler", "p-scheduler", "alerts.critical.topology_missing"},
        {"verifier", "p-verifier", "alerts.critical.topology_missing"},
        {"monitor", "p-monitor", "alerts.critical.topology_missing"},
        {"hostlistener", "p-hl", "alerts.critical.topology_missing"},
        {"hostlistener", "p-hl", "alerts.warning.agent_crashloop"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(may) / sizeof(may[0]); i++) {
        natsConnection *nc = connect_as(may[i].user, may[i].password);
        if (refused(nc, may[i].subject))
            fail_msg("%s may not publish %s: %s", may[i].user, may[i].subject, last_violation);
        natsConnection_Destroy(nc);
    }
}

static void wrong_password_is_refused(void **state)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    (void)state;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, fix.url);
    natsOptions_SetUserInfo(o, "agent-backend", "wrong");
    assert_int_not_equal(natsConnection_Connect(&nc, o), NATS_OK);
    natsOptions_Destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(agent_identity_does_its_job_only),
        cmocka_unit_test(only_the_router_takes_ids),
        cmocka_unit_test(services_may_raise_their_alerts),
        cmocka_unit_test(wrong_password_is_refused),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    nats_Close();
    return rc;
}
