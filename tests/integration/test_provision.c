/* Provisioning against a real nats-server: creates everything, a second run
 * changes nothing, concurrent runs all succeed, drift is repaired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <string.h>

#include <cmocka.h>

#include "natsfix.h"
#include "provision.h"
#include "topology.h"

static natsfix fix;

static int group_setup(void **state)
{
    (void)state;
    return natsfix_start(&fix, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    natsfix_stop(&fix);
    return 0;
}

typedef struct {
    natsConnection *nc;
    jsCtx *js;
} conn;

static void connect_js(conn *c)
{
    assert_int_equal(natsConnection_ConnectTo(&c->nc, fix.url), NATS_OK);
    assert_int_equal(natsConnection_JetStream(&c->js, c->nc, NULL), NATS_OK);
}

static void disconnect_js(conn *c)
{
    jsCtx_Destroy(c->js);
    natsConnection_Destroy(c->nc);
}

static int total_objects(void)
{
    return (int)(topo_stream_count + topo_consumer_count + topo_bucket_count);
}

static void first_run_creates_second_changes_nothing(void **state)
{
    conn c;
    provision_report rep;
    char err[ERR_LEN];
    jsStreamInfo *before = NULL, *after = NULL;
    (void)state;

    connect_js(&c);
    assert_int_equal(provision_all(c.js, 1, &rep, err), ORCH_OK);
    assert_int_equal(rep.created, total_objects());
    assert_int_equal(js_GetStreamInfo(&before, c.js, "REQUIREMENTS", NULL, NULL), NATS_OK);

    assert_int_equal(provision_all(c.js, 1, &rep, err), ORCH_OK);
    assert_int_equal(rep.created, 0);
    assert_int_equal(rep.updated, 0);
    assert_int_equal(rep.unchanged, total_objects());
    assert_int_equal(js_GetStreamInfo(&after, c.js, "REQUIREMENTS", NULL, NULL), NATS_OK);
    assert_true(before->Created == after->Created);
    assert_int_equal(after->Config->MaxAge, 30LL * 24 * 3600 * 1000000000LL);
    jsStreamInfo_Destroy(before);
    jsStreamInfo_Destroy(after);
    disconnect_js(&c);
}

static void seed_consumers_filter_by_type(void **state)
{
    conn c;
    jsConsumerInfo *ci = NULL;
    provision_report rep;
    char err[ERR_LEN];
    (void)state;
    connect_js(&c);
    assert_int_equal(provision_all(c.js, 1, &rep, err), ORCH_OK); /* on its own server when run alone */
    assert_int_equal(js_GetConsumerInfo(&ci, c.js, "REQUIREMENTS", "roy-backend", NULL, NULL), NATS_OK);
    assert_string_equal(ci->Config->FilterSubject, "requirements.backend.>");
    assert_int_equal(ci->Config->AckPolicy, js_AckExplicit);
    jsConsumerInfo_Destroy(ci);
    disconnect_js(&c);
}

static void drift_is_repaired(void **state)
{
    conn c;
    provision_report rep;
    char err[ERR_LEN];
    jsStreamInfo *si = NULL, *upd = NULL;
    jsStreamConfig sc;
    (void)state;

    connect_js(&c);
    assert_int_equal(provision_all(c.js, 1, &rep, err), ORCH_OK); /* on its own server when run alone */
    assert_int_equal(js_GetStreamInfo(&si, c.js, "RESULTS", NULL, NULL), NATS_OK);
    sc = *si->Config; /* borrows si's strings: destroy si only after the update */
    sc.MaxAge = 3600LL * 1000000000LL;
    assert_int_equal(js_UpdateStream(&upd, c.js, &sc, NULL, NULL), NATS_OK);
    jsStreamInfo_Destroy(upd);
    jsStreamInfo_Destroy(si);
    si = NULL;

    assert_int_equal(provision_all(c.js, 1, &rep, err), ORCH_OK);
    assert_int_equal(rep.updated, 1);
    assert_int_equal(js_GetStreamInfo(&si, c.js, "RESULTS", NULL, NULL), NATS_OK);
    assert_int_equal(si->Config->MaxAge, 90LL * 24 * 3600 * 1000000000LL);
    jsStreamInfo_Destroy(si);
    disconnect_js(&c);
}

static void missing_objects_are_found_by_name(void **state)
{
    conn c;
    provision_missing m;
    provision_report rep;
    char err[ERR_LEN];
    (void)state;

    connect_js(&c);
    assert_int_equal(provision_all(c.js, 1, &rep, err), ORCH_OK);
    assert_int_equal(provision_find_missing(c.js, 1000, &m, err), ORCH_OK);
    assert_int_equal(m.n, 0);
    assert_int_equal(js_DeleteConsumer(c.js, "PLAN", "scheduler-plan", NULL, NULL), NATS_OK);
    assert_int_equal(js_DeleteStream(c.js, "KV_orch_claims", NULL, NULL), NATS_OK);
    assert_int_equal(js_DeleteStream(c.js, "CONTROL", NULL, NULL), NATS_OK);
    assert_int_equal(provision_find_missing(c.js, 1000, &m, err), ORCH_OK);
    /* CONTROL took its consumer with it */
    assert_int_equal(m.n, 4);
    assert_int_equal(m.obj[0].kind, PROVISION_STREAM);
    assert_string_equal(m.obj[0].name, "CONTROL");
    assert_int_equal(m.obj[1].kind, PROVISION_CONSUMER);
    assert_string_equal(m.obj[1].name, "PLAN/scheduler-plan");
    assert_string_equal(m.obj[2].name, "CONTROL/host-listener");
    assert_int_equal(m.obj[3].kind, PROVISION_BUCKET);
    assert_string_equal(m.obj[3].name, TOPO_KV_CLAIMS);
    for (int i = 0; i < m.n; i++)
        for (int j = 0; j < i; j++)
            assert_int_not_equal(m.obj[i].id, m.obj[j].id);

    assert_int_equal(provision_all(c.js, 1, &rep, err), ORCH_OK);
    assert_int_equal(rep.created, 4);
    assert_true(provision_stamp(c.js, &m) > 0);
    assert_int_equal(provision_find_missing(c.js, 1000, &m, err), ORCH_OK);
    assert_int_equal(m.n, 0);
    disconnect_js(&c);
}

typedef struct {
    orch_status st;
    char err[ERR_LEN];
} run_result;

static void *provision_thread(void *p)
{
    run_result *r = p;
    conn c;
    provision_report rep;
    natsConnection_ConnectTo(&c.nc, fix.url);
    natsConnection_JetStream(&c.js, c.nc, NULL);
    r->st = provision_all(c.js, 1, &rep, r->err);
    disconnect_js(&c);
    return NULL;
}

static void concurrent_replicas_on_an_empty_server(void **state)
{
    natsfix fresh = {0};
    pthread_t th[4];
    run_result res[4];
    natsfix saved = fix;
    (void)state;

    assert_int_equal(natsfix_start(&fresh, NULL), 0);
    fix = fresh;
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, provision_thread, &res[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    fix = saved;
    natsfix_stop(&fresh);
    for (int i = 0; i < 4; i++)
        if (res[i].st != ORCH_OK)
            fail_msg("replica %d failed: %s", i, res[i].err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_run_creates_second_changes_nothing),
        cmocka_unit_test(seed_consumers_filter_by_type),
        cmocka_unit_test(drift_is_repaired),
        cmocka_unit_test(missing_objects_are_found_by_name),
        cmocka_unit_test(concurrent_replicas_on_an_empty_server),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    nats_Close();
    return rc;
}
