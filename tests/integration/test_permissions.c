/* deploy/nats.conf's users and permissions, as shipped, on a real
 * nats-server: an agent identity takes only its own type's work and
 * publishes only its results, its type's errors and heartbeats; every
 * identity reads only its own inbox; a claim is written once; each lease is
 * its service's; the operator reads but purges and deletes nothing, admin
 * may. Every cross-identity attempt in the matrix is denied (the server
 * reports a permissions violation, or JetStream an error, and nothing
 * changes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <nats/nats.h>

#include "auth.h"
#include "claim.h"
#include "natsfix.h"
#include "nc.h"
#include "proc.h"
#include "provision.h"
#include "topology.h"

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
    snprintf(out + len, cap - len, "\nno_auth_user: admin\n");
    return out;
}

static natsConnection *connect_as(const char *user, const char *password);

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
    setenv("ADMIN_PASS", "p-admin", 1);
    acc = accounts_section();
    if (natsfix_start(&fix, acc) != 0)
        return -1;
    free(acc);
    /* provision as the services would (admin may do it all) */
    if (!(nc = connect_as("admin", "p-admin")) || natsConnection_JetStream(&js, nc, NULL) != NATS_OK ||
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

/* A connection as user with the inbox prefix common/nc.c gives it
 * (auth_inbox_prefix: the same function), counting violations. */
static natsConnection *connect_as(const char *user, const char *password)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    char inbox[128];
    natsOptions_Create(&o);
    natsOptions_SetURL(o, fix.url);
    natsOptions_SetUserInfo(o, user, password);
    if (auth_inbox_prefix(user, inbox, sizeof(inbox)))
        natsOptions_SetCustomInboxPrefix(o, inbox);
    natsOptions_SetErrorHandler(o, on_error, NULL);
    if (natsConnection_Connect(&nc, o) != NATS_OK)
        nc = NULL;
    natsOptions_Destroy(o);
    assert_non_null(nc);
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
    assert_int_equal(js_Publish(NULL, ajs, "errors.agent.backend.P-1", "{}", 2, NULL, NULL), NATS_OK);
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
    assert_true(refused(agent, "verdicts.P-1")); /* only the verifier's runs give verdicts */
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
 * (common/daemon.c, every daemon), an agent that keeps exiting or was
 * killed (the Host Listener), a contested lease (common/lease.c) and a
 * quarantined state (the scheduler). A refusal shows only as a violation in the server's log. */
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
        {"hostlistener", "p-hl", "alerts.warning.agent_killed"},
        {"scheduler", "p-scheduler", "alerts.critical.leader_contested"},
        {"monitor", "p-monitor", "alerts.critical.leader_contested"},
        {"scheduler", "p-scheduler", "alerts.critical.state_quarantined"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(may) / sizeof(may[0]); i++) {
        natsConnection *nc = connect_as(may[i].user, may[i].password);
        if (refused(nc, may[i].subject))
            fail_msg("%s may not publish %s: %s", may[i].user, may[i].subject, last_violation);
        natsConnection_Destroy(nc);
    }
}

/* Subscribes and reports whether the server refused it. */
static int sub_refused(natsConnection *nc, const char *subject, natsSubscription **out)
{
    int before = violations;
    natsSubscription *sub = NULL;
    natsConnection_SubscribeSync(&sub, nc, subject);
    natsConnection_Flush(nc);
    for (int i = 0; i < 50 && violations == before; i++)
        usleep(20 * 1000);
    if (out)
        *out = sub;
    else
        natsSubscription_Destroy(sub);
    return violations > before;
}

/* JetStream requests that give up after 1 s: a refused request has no
 * answer (the server drops it and says so on the connection). */
static jsCtx *js_of(natsConnection *nc)
{
    jsCtx *js = NULL;
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = 1000;
    assert_int_equal(natsConnection_JetStream(&js, nc, &o), NATS_OK);
    return js;
}

/* Every identity's replies and deliveries come to _INBOX_<user>.*: an
 * agent may subscribe to its own, and neither to _INBOX.> nor to another
 * identity's; what JetStream answers the scheduler never reaches it. */
static void an_agent_reads_no_inbox_but_its_own(void **state)
{
    natsConnection *agent = connect_as("agent-backend", "p-backend");
    natsConnection *sched = connect_as("scheduler", "p-scheduler");
    natsSubscription *all = NULL, *own = NULL;
    natsMsg *m = NULL;
    jsCtx *sjs = js_of(sched);
    jsStreamInfo *si = NULL;
    (void)state;

    assert_true(sub_refused(agent, "_INBOX.>", &all));
    assert_true(sub_refused(agent, "_INBOX_agent-frontend.>", NULL));
    assert_true(sub_refused(agent, "_INBOX_scheduler.>", NULL));
    assert_true(sub_refused(agent, ">", NULL));
    assert_false(sub_refused(agent, "_INBOX_agent-backend.>", &own));
    /* the scheduler asks JetStream; the answer is its own */
    assert_int_equal(js_GetStreamInfo(&si, sjs, "REQUIREMENTS", NULL, NULL), NATS_OK);
    jsStreamInfo_Destroy(si);
    assert_int_not_equal(natsSubscription_NextMsg(&m, all, 300), NATS_OK);
    assert_int_not_equal(natsSubscription_NextMsg(&m, own, 100), NATS_OK);
    natsSubscription_Destroy(all);
    natsSubscription_Destroy(own);
    jsCtx_Destroy(sjs);
    natsConnection_Destroy(agent);
    natsConnection_Destroy(sched);
}

/* A connection made as the suite makes them (nc_connect) takes its
 * identity's inbox prefix: its JetStream requests, fetches and claims are
 * answered under deploy/nats.conf. */
static void nc_connect_uses_the_identitys_own_inbox(void **state)
{
    svc_cfg cfg;
    char *urls[1] = {fix.url}, err[ERR_LEN], key[200], why[200];
    natsConnection *nc = NULL, *sched = connect_as("scheduler", "p-scheduler");
    jsCtx *js = NULL, *sjs = js_of(sched);
    natsSubscription *sub = NULL;
    natsMsgList list = {0};
    jsSubOptions so;
    jsPubOptions po;
    strmap *unsure = strmap_create();
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.nats_url.v = urls;
    cfg.nats_url.n = 1;
    cfg.nats_user = "agent-backend";
    cfg.nats_password = "p-backend";
    cfg.reconnect_wait_ms = 250;
    cfg.reconnect_max_wait_ms = 1000;
    cfg.connect_timeout_ms = 2000;
    assert_int_equal(nc_connect(&nc, &cfg, "agent-test", NC_FAIL_FAST, err), ORCH_OK);
    js = js_of(nc);
    jsPubOptions_Init(&po);
    po.MsgId = "P-20-a1";
    assert_int_equal(js_Publish(NULL, sjs, "requirements.backend.P-20", "{}", 2, &po, NULL), NATS_OK);
    jsSubOptions_Init(&so);
    so.Stream = "REQUIREMENTS";
    so.Consumer = "roy-backend";
    assert_int_equal(js_PullSubscribe(&sub, js, "requirements.backend.>", "roy-backend", NULL, &so, NULL), NATS_OK);
    assert_int_equal(natsSubscription_Fetch(&list, sub, 10, 3000, NULL), NATS_OK);
    assert_true(list.Count >= 1);
    for (int i = 0; i < list.Count; i++) {
        if (!strcmp(natsMsg_GetSubject(list.Msgs[i]), "requirements.backend.P-20"))
            assert_int_equal(claim_take(js, list.Msgs[i], "backend", "roy-20", unsure, key, sizeof(key), why,
                                        sizeof(why)),
                             CLAIM_MINE);
        natsMsg_Ack(list.Msgs[i], NULL);
    }
    assert_string_equal(key, "backend.P-20-a1");
    natsMsgList_Destroy(&list);
    natsSubscription_Destroy(sub);
    strmap_destroy(unsure);
    jsCtx_Destroy(js);
    jsCtx_Destroy(sjs);
    nc_close(nc, 1000);
    natsConnection_Destroy(sched);
}

/* errors.agent.<type>.<id>: an agent reports failures of its own type's
 * work only; the old errors.agent.<id> is no one's to publish. */
static void an_agent_fails_only_its_own_types_work(void **state)
{
    natsConnection *agent = connect_as("agent-backend", "p-backend");
    jsCtx *ajs = js_of(agent);
    uint64_t e0 = msgs("ERRORS");
    (void)state;
    assert_true(refused(agent, "errors.agent.frontend.P-2"));
    assert_true(refused(agent, "errors.agent.database.P-2"));
    assert_true(refused(agent, "errors.agent.P-2"));
    assert_true(refused(agent, "errors.scheduler.P-2"));
    assert_int_equal(msgs("ERRORS"), e0);
    assert_int_equal(js_Publish(NULL, ajs, "errors.agent.backend.P-1", "{}", 2, NULL, NULL), NATS_OK);
    assert_int_equal(msgs("ERRORS"), e0 + 1);
    jsCtx_Destroy(ajs);
    natsConnection_Destroy(agent);
}

/* The claim's value, "" when there is none. */
static void claim_value(const char *key, char *out, size_t len)
{
    natsConnection *nc = connect_as("scheduler", "p-scheduler");
    jsCtx *js = js_of(nc);
    kvStore *kv = NULL;
    kvEntry *e = NULL;
    out[0] = '\0';
    assert_int_equal(js_KeyValue(&kv, js, TOPO_KV_CLAIMS), NATS_OK);
    if (kvStore_Get(&e, kv, key) == NATS_OK)
        snprintf(out, len, "%.*s", kvEntry_ValueLen(e), kvEntry_ValueString(e));
    kvEntry_Destroy(e);
    kvStore_Destroy(kv);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

/* A claim is created once: another instance of the type cannot overwrite
 * it with a plain put, nor delete or purge it to create it again. */
static void a_claim_cannot_be_overwritten(void **state)
{
    natsConnection *real = connect_as("agent-backend", "p-backend");
    natsConnection *squatter = connect_as("agent-backend", "p-backend");
    jsCtx *rjs = js_of(real), *qjs = js_of(squatter);
    natsMsg *c = NULL;
    char value[64];
    (void)state;

    natsMsg_Create(&c, "$KV.orch_claims.backend.P-30-a1", NULL, "roy-1", 5);
    natsMsgHeader_Set(c, "Nats-Expected-Last-Subject-Sequence", "0");
    assert_int_equal(js_PublishMsg(NULL, rjs, c, NULL, NULL), NATS_OK);
    natsMsg_Destroy(c);
    /* a plain put, a delete and a purge of the key: all refused */
    assert_int_not_equal(js_Publish(NULL, qjs, "$KV.orch_claims.backend.P-30-a1", "roy-2", 5, NULL, NULL), NATS_OK);
    /* kvStore_Delete and kvStore_Purge, as they write (an agent may not
     * read the bucket's stream info that js_KeyValue wants) */
    for (int i = 0; i < 2; i++) {
        natsMsg_Create(&c, "$KV.orch_claims.backend.P-30-a1", NULL, NULL, 0);
        natsMsgHeader_Set(c, "KV-Operation", i ? "PURGE" : "DEL");
        if (i)
            natsMsgHeader_Set(c, "Nats-Rollup", "sub");
        if (js_PublishMsg(NULL, qjs, c, NULL, NULL) == NATS_OK)
            fail_msg("a %s of the claim was stored", i ? "PURGE" : "DEL");
        natsMsg_Destroy(c);
    }
    claim_value("backend.P-30-a1", value, sizeof(value));
    assert_string_equal(value, "roy-1");
    jsCtx_Destroy(rjs);
    jsCtx_Destroy(qjs);
    natsConnection_Destroy(real);
    natsConnection_Destroy(squatter);
}

/* Takes every pending backend dispatch as instance of a real agent would,
 * claiming the one whose subject is want (the others are acked); returns
 * that claim's outcome. */
static claim_outcome take_dispatch(jsCtx *js, const char *want, const char *instance)
{
    natsSubscription *sub = NULL;
    natsMsgList list = {0};
    jsSubOptions so;
    strmap *unsure = strmap_create();
    claim_outcome got = CLAIM_UNSURE;
    char why[200];
    jsSubOptions_Init(&so);
    so.Stream = "REQUIREMENTS";
    so.Consumer = "roy-backend";
    assert_int_equal(js_PullSubscribe(&sub, js, "requirements.backend.>", "roy-backend", NULL, &so, NULL), NATS_OK);
    assert_int_equal(natsSubscription_Fetch(&list, sub, 20, 3000, NULL), NATS_OK);
    for (int i = 0; i < list.Count; i++) {
        if (!strcmp(natsMsg_GetSubject(list.Msgs[i]), want))
            got = claim_take(js, list.Msgs[i], "backend", instance, unsure, NULL, 0, why, sizeof(why));
        natsMsg_Ack(list.Msgs[i], NULL);
    }
    natsMsgList_Destroy(&list);
    natsSubscription_Destroy(sub);
    strmap_destroy(unsure);
    return got;
}

/* Dispatch ids are predictable: an agent that creates the claim of work
 * before it is dispatched (naming the sequence the dispatch will likely
 * get) holds it for no one; so does a claim naming another dispatch. A
 * claim made on the delivered dispatch holds for its instance. */
static void a_claim_made_without_its_dispatch_holds_for_no_one(void **state)
{
    natsConnection *agent = connect_as("agent-backend", "p-backend");
    natsConnection *squatter = connect_as("agent-backend", "p-backend");
    natsConnection *sched = connect_as("scheduler", "p-scheduler");
    jsCtx *ajs = js_of(agent), *qjs = js_of(squatter), *sjs = js_of(sched);
    jsStreamInfo *si = NULL;
    jsPubOptions po;
    jsPubAck *pa = NULL;
    natsMsg *c = NULL;
    char seq[32], holder[128];
    (void)state;

    /* the squatter claims P-40's first dispatch ahead of it */
    assert_int_equal(js_GetStreamInfo(&si, sjs, "REQUIREMENTS", NULL, NULL), NATS_OK);
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)si->State.LastSeq + 1);
    jsStreamInfo_Destroy(si);
    natsMsg_Create(&c, "$KV.orch_claims.backend.P-40-a1", NULL, "squat-1", 7);
    natsMsgHeader_Set(c, "Nats-Expected-Last-Subject-Sequence", "0");
    natsMsgHeader_Set(c, "Orch-Dispatch-Seq", seq);
    assert_int_equal(js_PublishMsg(NULL, qjs, c, NULL, NULL), NATS_OK);
    natsMsg_Destroy(c);
    jsPubOptions_Init(&po);
    po.MsgId = "P-40-a1";
    assert_int_equal(js_Publish(&pa, sjs, "requirements.backend.P-40", "{}", 2, &po, NULL), NATS_OK);
    assert_int_equal(pa->Sequence, strtoull(seq, NULL, 10)); /* the guess was right */
    jsPubAck_Destroy(pa);
    /* the real agent finds it claimed; the claim holds for no one */
    assert_int_equal(take_dispatch(ajs, "requirements.backend.P-40", "roy-40"), CLAIM_TAKEN);
    assert_int_equal(claim_holder(sjs, "backend.P-40-a1", holder, sizeof(holder)), 0);
    assert_string_equal(holder, CLAIM_VOID);

    /* a claim made on the delivered dispatch holds for its instance */
    po.MsgId = "P-41-a1";
    assert_int_equal(js_Publish(&pa, sjs, "requirements.backend.P-41", "{}", 2, &po, NULL), NATS_OK);
    assert_int_equal(take_dispatch(ajs, "requirements.backend.P-41", "roy-41"), CLAIM_MINE);
    assert_int_equal(claim_holder(sjs, "backend.P-41-a1", holder, sizeof(holder)), 0);
    assert_string_equal(holder, "roy-41");

    /* a claim naming another dispatch's sequence, or none, holds for no one */
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)pa->Sequence);
    jsPubAck_Destroy(pa);
    for (int i = 0; i < 2; i++) {
        natsMsg_Create(&c, i ? "$KV.orch_claims.backend.P-43-a1" : "$KV.orch_claims.backend.P-42-a1", NULL,
                       "squat-1", 7);
        if (!i)
            natsMsgHeader_Set(c, "Orch-Dispatch-Seq", seq);
        assert_int_equal(js_PublishMsg(NULL, qjs, c, NULL, NULL), NATS_OK);
        natsMsg_Destroy(c);
    }
    assert_int_equal(claim_holder(sjs, "backend.P-42-a1", holder, sizeof(holder)), 0);
    assert_string_equal(holder, CLAIM_VOID);
    assert_int_equal(claim_holder(sjs, "backend.P-43-a1", holder, sizeof(holder)), 0);
    assert_string_equal(holder, CLAIM_VOID);
    /* no claim: nobody's */
    assert_int_equal(claim_holder(sjs, "backend.P-44-a1", holder, sizeof(holder)), 0);
    assert_string_equal(holder, "");

    jsCtx_Destroy(ajs);
    jsCtx_Destroy(qjs);
    jsCtx_Destroy(sjs);
    natsConnection_Destroy(agent);
    natsConnection_Destroy(squatter);
    natsConnection_Destroy(sched);
}

/* $KV.orch_leader.<service>: the scheduler's lease is the scheduler's, the
 * monitor's the monitor's; no one else writes, deletes or purges one. */
static void only_its_service_touches_a_lease(void **state)
{
    natsConnection *sched = connect_as("scheduler", "p-scheduler");
    natsConnection *mon = connect_as("monitor", "p-monitor");
    natsConnection *router = connect_as("router", "p-router");
    jsCtx *sjs = js_of(sched), *mjs = js_of(mon);
    uint64_t n;
    (void)state;

    assert_int_equal(js_Publish(NULL, sjs, "$KV.orch_leader.scheduler", "sched-1", 7, NULL, NULL), NATS_OK);
    assert_int_equal(js_Publish(NULL, mjs, "$KV.orch_leader.monitor", "mon-1", 5, NULL, NULL), NATS_OK);
    n = msgs("KV_orch_leader");
    assert_true(refused(mon, "$KV.orch_leader.scheduler"));
    assert_true(refused(sched, "$KV.orch_leader.monitor"));
    assert_true(refused(router, "$KV.orch_leader.scheduler"));
    assert_true(refused(mon, "$JS.API.STREAM.PURGE.KV_orch_leader"));
    assert_true(refused(mon, "$JS.API.STREAM.MSG.DELETE.KV_orch_leader"));
    assert_true(refused(mon, "$JS.API.STREAM.DELETE.KV_orch_leader"));
    assert_int_equal(msgs("KV_orch_leader"), n);
    jsCtx_Destroy(sjs);
    jsCtx_Destroy(mjs);
    natsConnection_Destroy(sched);
    natsConnection_Destroy(mon);
    natsConnection_Destroy(router);
}

/* Decisions of people (orch.decide.>): the operator sends them and the
 * scheduler hears them; an agent or another service cannot send one, and
 * no one but the scheduler writes the pauses it keeps (orch_decisions). */
static void only_people_send_decisions(void **state)
{
    natsConnection *agent = connect_as("agent-backend", "p-backend");
    natsConnection *mon = connect_as("monitor", "p-monitor");
    natsConnection *op = connect_as("operator", "p-operator");
    natsConnection *sched = connect_as("scheduler", "p-scheduler");
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    (void)state;
    assert_int_equal(natsConnection_SubscribeSync(&sub, sched, "orch.decide.>"), NATS_OK);
    natsConnection_Flush(sched);
    assert_true(refused(agent, "orch.decide.pause"));
    assert_true(refused(agent, "orch.decide.resume"));
    assert_true(refused(agent, "orch.decide.cancel.REQ-1"));
    assert_true(refused(agent, "orch.decide.priority.REQ-1"));
    assert_true(refused(mon, "orch.decide.pause"));
    assert_true(refused(op, "$KV.orch_decisions.pauses"));
    assert_true(refused(agent, "$KV.orch_decisions.pauses"));
    assert_int_equal(natsConnection_PublishString(op, "orch.decide.cancel.REQ-1", "{\"by\":\"alice\"}"), NATS_OK);
    natsConnection_Flush(op);
    assert_int_equal(natsSubscription_NextMsg(&m, sub, 2000), NATS_OK);
    assert_string_equal(natsMsg_GetSubject(m), "orch.decide.cancel.REQ-1"); /* the only one that came through */
    natsMsg_Destroy(m);
    assert_int_not_equal(natsSubscription_NextMsg(&m, sub, 300), NATS_OK);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(agent);
    natsConnection_Destroy(mon);
    natsConnection_Destroy(op);
    natsConnection_Destroy(sched);
}

/* The operator submits and reads; it purges and deletes nothing: no
 * stream, no message, no KV key, no bucket. admin may do each. */
static void the_operator_cannot_purge_or_delete_admin_can(void **state)
{
    natsConnection *op = connect_as("operator", "p-operator");
    natsConnection *admin = connect_as("admin", "p-admin");
    jsCtx *ojs = js_of(op), *ajs = js_of(admin);
    kvStore *okv = NULL, *akv = NULL;
    kvConfig kc;
    kvEntry *e = NULL;
    jsStreamInfo *si = NULL;
    uint64_t n;
    (void)state;

    kvConfig_Init(&kc);
    kc.Bucket = "scratch";
    kc.History = 1;
    assert_int_equal(js_CreateKeyValue(&akv, ajs, &kc), NATS_OK);
    assert_int_equal(kvStore_PutString(NULL, akv, "REQ-1", "state"), NATS_OK);
    assert_int_equal(kvStore_PutString(NULL, akv, "REQ-2", "state"), NATS_OK);

    /* it reads */
    assert_int_equal(js_KeyValue(&okv, ojs, "scratch"), NATS_OK);
    assert_int_equal(kvStore_Get(&e, okv, "REQ-1"), NATS_OK);
    kvEntry_Destroy(e);
    assert_int_equal(js_GetStreamInfo(&si, ojs, "KV_scratch", NULL, NULL), NATS_OK);
    jsStreamInfo_Destroy(si);
    {
        /* as orchctl and the deployment test read: through ordered
         * consumers, which the client deletes when done */
        kvKeysList keys = {0};
        int before = violations;
        assert_int_equal(kvStore_Keys(&keys, okv, NULL), NATS_OK);
        assert_int_equal(keys.Count, 2);
        kvKeysList_Destroy(&keys);
        natsConnection_Flush(op);
        usleep(300 * 1000);
        assert_int_equal(violations, before);
    }
    /* it purges and deletes nothing */
    n = msgs("KV_scratch");
    assert_int_not_equal(kvStore_Purge(okv, "REQ-1", NULL), NATS_OK);
    assert_int_not_equal(kvStore_Delete(okv, "REQ-1"), NATS_OK);
    assert_int_not_equal(js_PurgeStream(ojs, "KV_scratch", NULL, NULL), NATS_OK);
    assert_int_not_equal(js_DeleteMsg(ojs, "KV_scratch", 1, NULL, NULL), NATS_OK);
    assert_int_not_equal(js_DeleteKeyValue(ojs, "scratch"), NATS_OK);
    assert_int_not_equal(js_DeleteStream(ojs, "KV_scratch", NULL, NULL), NATS_OK);
    assert_true(refused(op, "$JS.API.STREAM.PURGE.KV_orch_claims"));
    assert_true(refused(op, "$JS.API.STREAM.PURGE.KV_orch_requirements"));
    assert_true(refused(op, "$JS.API.STREAM.DELETE.REQUIREMENTS"));
    assert_int_equal(msgs("KV_scratch"), n);
    assert_int_equal(kvStore_Get(&e, okv, "REQ-1"), NATS_OK);
    kvEntry_Destroy(e);

    /* admin does each */
    assert_int_equal(kvStore_Purge(akv, "REQ-1", NULL), NATS_OK);
    assert_int_equal(kvStore_Delete(akv, "REQ-2"), NATS_OK);
    assert_int_equal(js_PurgeStream(ajs, "KV_scratch", NULL, NULL), NATS_OK);
    assert_int_equal(msgs("KV_scratch"), 0);
    assert_int_equal(js_DeleteKeyValue(ajs, "scratch"), NATS_OK);
    kvStore_Destroy(okv);
    kvStore_Destroy(akv);
    jsCtx_Destroy(ojs);
    jsCtx_Destroy(ajs);
    natsConnection_Destroy(op);
    natsConnection_Destroy(admin);
}

/* A service answers a request through allow_responses; it cannot publish
 * into an inbox that asked it nothing. */
static void services_answer_requests_and_nothing_else(void **state)
{
    natsConnection *op = connect_as("operator", "p-operator");
    natsConnection *sched = connect_as("scheduler", "p-scheduler");
    natsSubscription *sub = NULL;
    natsMsg *req = NULL, *reply = NULL;
    (void)state;
    assert_int_equal(natsConnection_SubscribeSync(&sub, sched, "orch.scheduler.list"), NATS_OK);
    natsConnection_Flush(sched);
    {
        natsSubscription *box = NULL;
        assert_int_equal(natsConnection_SubscribeSync(&box, op, "_INBOX_operator.x1"), NATS_OK);
        natsConnection_Flush(op);
        assert_int_equal(natsConnection_PublishRequestString(op, "orch.scheduler.list", "_INBOX_operator.x1", "{}"),
                         NATS_OK);
        natsConnection_Flush(op);
        assert_int_equal(natsSubscription_NextMsg(&req, sub, 2000), NATS_OK);
        assert_int_equal(natsConnection_PublishString(sched, natsMsg_GetReply(req), "{\"ok\":true}"), NATS_OK);
        natsConnection_Flush(sched);
        assert_int_equal(natsSubscription_NextMsg(&reply, box, 2000), NATS_OK);
        natsMsg_Destroy(reply);
        natsMsg_Destroy(req);
        assert_true(refused(sched, "_INBOX_operator.x2"));
        assert_true(refused(sched, "_INBOX.anything"));
        natsSubscription_Destroy(box);
    }
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(op);
    natsConnection_Destroy(sched);
}

/* Starts orch-router against url, as user (NULL: no credentials), until
 * it says it is ready; returns its log (free it). */
static char *router_log(const char *url, const char *user, const char *password, const char *name)
{
    char bin[512], env_url[300], env_user[64], env_pass[64], path[600], *text = NULL;
    const char *argv[2], *env[5] = {env_url, "ORCH_SERVICE_INSTANCE=warn-test", NULL, NULL, NULL};
    pid_t pid;
    snprintf(env_url, sizeof(env_url), "ORCH_NATS_URL=%s", url);
    if (user) {
        snprintf(env_user, sizeof(env_user), "ORCH_NATS_USER=%s", user);
        snprintf(env_pass, sizeof(env_pass), "ORCH_NATS_PASSWORD=%s", password);
        env[2] = env_user;
        env[3] = env_pass;
    }
    argv[0] = proc_bin("orch-router", bin, sizeof(bin));
    argv[1] = NULL;
    pid = proc_spawn(argv, env, fix.dir, name);
    assert_true(pid > 0);
    snprintf(path, sizeof(path), "%s/%s", fix.dir, name);
    for (int i = 0; i < 100; i++) { /* bounded: 10 s */
        free(text);
        text = proc_slurp(path);
        if (text && strstr(text, "] ready"))
            break;
        usleep(100 * 1000);
    }
    proc_stop(pid, 5000);
    free(text);
    text = proc_slurp(path);
    assert_non_null(text);
    if (!strstr(text, "] ready"))
        fail_msg("%s", text);
    return text;
}

/* A daemon that connects without credentials to a server off loopback
 * warns at start; on loopback, or with credentials, it does not. (0.0.0.0
 * is not a loopback address, though a connection to it reaches this
 * machine.) */
static void no_credentials_off_loopback_is_warned_about(void **state)
{
    char url[128], *log;
    (void)state;
    snprintf(url, sizeof(url), "nats://0.0.0.0:%d", fix.port);
    log = router_log(url, NULL, NULL, "open-off-loopback.log");
    assert_non_null(strstr(log, "without credentials"));
    free(log);
    log = router_log(fix.url, NULL, NULL, "open-on-loopback.log");
    assert_null(strstr(log, "without credentials"));
    free(log);
    log = router_log(url, "router", "p-router", "router-off-loopback.log");
    assert_null(strstr(log, "without credentials"));
    free(log);
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
        cmocka_unit_test(an_agent_reads_no_inbox_but_its_own),
        cmocka_unit_test(nc_connect_uses_the_identitys_own_inbox),
        cmocka_unit_test(an_agent_fails_only_its_own_types_work),
        cmocka_unit_test(a_claim_cannot_be_overwritten),
        cmocka_unit_test(a_claim_made_without_its_dispatch_holds_for_no_one),
        cmocka_unit_test(only_its_service_touches_a_lease),
        cmocka_unit_test(the_operator_cannot_purge_or_delete_admin_can),
        cmocka_unit_test(only_people_send_decisions),
        cmocka_unit_test(services_answer_requests_and_nothing_else),
        cmocka_unit_test(no_credentials_off_loopback_is_warned_about),
        cmocka_unit_test(wrong_password_is_refused),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    nats_Close();
    return rc;
}
