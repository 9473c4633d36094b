/* The $SRV protocol against a real nats-server: PING, INFO and STATS on
 * all three subject levels, endpoint counting, error headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "natsfix.h"
#include "srv.h"

static natsfix fix;
static natsConnection *nc;
static srv *svc;

static void echo(srv_req *r, void *closure)
{
    const char *data = natsMsg_GetData(r->msg);
    (void)closure;
    if (natsMsg_GetDataLength(r->msg) > 0 && data[0] == '!')
        srv_respond_error(r, 400, "bang is not allowed");
    else
        srv_respond(r, data, natsMsg_GetDataLength(r->msg));
}

static void stats_data(cJSON *data, void *closure)
{
    (void)closure;
    cJSON_AddNumberToObject(data, "answer", 42);
}

static int group_setup(void **state)
{
    char err[ERR_LEN];
    (void)state;
    if (natsfix_start(&fix, NULL) != 0)
        return -1;
    if (natsConnection_ConnectTo(&nc, fix.url) != NATS_OK)
        return -1;
    if (srv_create(&svc, nc, "orch-test", "1.2.3", "a test service", "inst1", err) != ORCH_OK ||
        srv_add_endpoint(svc, "echo", "orch.test.echo", NULL, echo, stats_data, NULL, err) != ORCH_OK ||
        srv_start(svc, err) != ORCH_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    srv_destroy(svc);
    natsConnection_Destroy(nc);
    natsfix_stop(&fix);
    return 0;
}

static cJSON *request(const char *subject, const char *body)
{
    natsMsg *reply = NULL;
    cJSON *j;
    assert_int_equal(natsConnection_RequestString(&reply, nc, subject, body ? body : "", 2000), NATS_OK);
    j = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
    assert_non_null(j);
    return j;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void ping_answers_on_every_level(void **state)
{
    const char *subjects[] = {"$SRV.PING", "$SRV.PING.orch-test", "$SRV.PING.orch-test.inst1"};
    (void)state;
    for (int i = 0; i < 3; i++) {
        cJSON *j = request(subjects[i], NULL);
        assert_string_equal(str(j, "type"), "io.nats.micro.v1.ping_response");
        assert_string_equal(str(j, "name"), "orch-test");
        assert_string_equal(str(j, "id"), "inst1");
        assert_string_equal(str(j, "version"), "1.2.3");
        assert_true(cJSON_IsObject(cJSON_GetObjectItem(j, "metadata")));
        cJSON_Delete(j);
    }
}

static void other_names_are_not_answered(void **state)
{
    natsMsg *reply = NULL;
    (void)state;
    assert_int_equal(natsConnection_RequestString(&reply, nc, "$SRV.PING.someone-else", "", 300),
                     NATS_NO_RESPONDERS);
    assert_int_equal(natsConnection_RequestString(&reply, nc, "$SRV.PING.orch-test.other", "", 300),
                     NATS_NO_RESPONDERS);
}

static void info_lists_endpoints(void **state)
{
    cJSON *j = request("$SRV.INFO.orch-test", NULL);
    cJSON *eps, *e;
    (void)state;
    assert_string_equal(str(j, "type"), "io.nats.micro.v1.info_response");
    assert_string_equal(str(j, "description"), "a test service");
    eps = cJSON_GetObjectItem(j, "endpoints");
    assert_int_equal(cJSON_GetArraySize(eps), 1);
    e = cJSON_GetArrayItem(eps, 0);
    assert_string_equal(str(e, "name"), "echo");
    assert_string_equal(str(e, "subject"), "orch.test.echo");
    assert_string_equal(str(e, "queue_group"), "q");
    cJSON_Delete(j);
}

static void stats_count_requests_and_errors(void **state)
{
    natsMsg *reply = NULL;
    cJSON *j, *e;
    (void)state;

    assert_int_equal(natsConnection_RequestString(&reply, nc, "orch.test.echo", "hello", 2000), NATS_OK);
    assert_string_equal(natsMsg_GetData(reply), "hello");
    natsMsg_Destroy(reply);
    assert_int_equal(natsConnection_RequestString(&reply, nc, "orch.test.echo", "!boom", 2000), NATS_OK);
    {
        const char *v = NULL;
        assert_int_equal(natsMsgHeader_Get(reply, "Nats-Service-Error-Code", &v), NATS_OK);
        assert_string_equal(v, "400");
        assert_int_equal(natsMsgHeader_Get(reply, "Nats-Service-Error", &v), NATS_OK);
        assert_string_equal(v, "bang is not allowed");
    }
    natsMsg_Destroy(reply);

    j = request("$SRV.STATS.orch-test.inst1", NULL);
    assert_string_equal(str(j, "type"), "io.nats.micro.v1.stats_response");
    assert_non_null(strstr(str(j, "started"), "T"));
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "endpoints"), 0);
    assert_int_equal((int)cJSON_GetObjectItem(e, "num_requests")->valuedouble, 2);
    assert_int_equal((int)cJSON_GetObjectItem(e, "num_errors")->valuedouble, 1);
    assert_string_equal(str(e, "last_error"), "400:bang is not allowed");
    assert_true(cJSON_GetObjectItem(e, "processing_time")->valuedouble > 0);
    assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(e, "data"), "answer")->valuedouble, 42);
    cJSON_Delete(j);
}

static void bad_names_are_refused(void **state)
{
    srv *s = NULL;
    char err[ERR_LEN];
    (void)state;
    assert_int_equal(srv_create(&s, nc, "bad.name", "1.0.0", "", "i", err), ORCH_ERR_INVALID);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ping_answers_on_every_level),
        cmocka_unit_test(other_names_are_not_answered),
        cmocka_unit_test(info_lists_endpoints),
        cmocka_unit_test(stats_count_requests_and_errors),
        cmocka_unit_test(bad_names_are_refused),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    nats_Close();
    return rc;
}
