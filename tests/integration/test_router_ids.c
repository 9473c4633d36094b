/* orch-router's ids through a real nats-server: given ids taken once in
 * KV orch_ids, automatic ids skipping what was given, split parts' ids, a
 * redelivered message keeping its ids, two replicas racing for one id, and
 * a requirement whose automatic id cannot be found refused, not
 * dead-lettered. */
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

/* The parts of a split take their ids too: <id>-BE and <id>-FE can be
 * neither given again nor handed out by the counter. */
static void split_parts_take_their_ids(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};
    cJSON *errs;
    const char *both = "\"title\":\"Transfer API and transfer page UI\","
                       "\"files\":[\"src/api/transfer.ts\",\"src/pages/transfer.tsx\"]";
    char body[512];

    intake_str(e, "{\"id\":\"REQ-001-FE\",\"title\":\"Update README\"}");        /* 1: given */
    snprintf(body, sizeof(body), "{%s}", both);
    intake_str(e, body);                                                         /* 2: splits: not REQ-001 */
    snprintf(body, sizeof(body), "{\"id\":\"T-9\",%s}", both);
    intake_str(e, body);                                                         /* 3: T-9-BE, T-9-FE */
    intake_str(e, "{\"id\":\"T-9-BE\",\"title\":\"Update README\"}");             /* 4: a part's id */
    intake_str(e, "{\"id\":\"REQ-001-FE\",\"title\":\"Update README\"}");         /* 5: given twice */
    intake_str(e, "{\"id\":\"U-1-FE\",\"title\":\"Update README\"}");             /* 6: given */
    snprintf(body, sizeof(body), "{\"id\":\"U-1\",%s}", both);
    intake_str(e, body);                                                         /* 7: its part is taken */
    read_plan(e, &p, 6, 10000);
    assert_int_equal(p.n, 6);
    assert_int_equal(distinct_ids(&p), 6);
    find(&p, "U-1-FE");
    assert_string_equal(find(&p, "REQ-001-FE")->title, "Update README");
    assert_string_equal(find(&p, "REQ-002-BE")->origin_id, "REQ-002");
    find(&p, "REQ-002-FE");
    find(&p, "T-9-BE");
    find(&p, "T-9-FE");
    plan_free(&p);
    errs = read_errors(e, 3, 5000);
    assert_int_equal(cJSON_GetArraySize(errs), 3);
    expect_report(errs, 4, "duplicate_id", "id 'T-9-BE' is taken already (by intake item seq-3-0)");
    expect_report(errs, 5, "duplicate_id", "id 'REQ-001-FE' is taken already (by intake item seq-1-0)");
    expect_report(errs, 7, "duplicate_id", "id 'U-1' (its split part U-1-FE) is taken already (by intake item seq-6-0)");
    cJSON_Delete(errs);
    svc_stop(pid);
}

/* An id given explicitly is taken: the counter skips it, and a second
 * requirement with it, in the same message or a later one, is refused at
 * intake, naming it, while the rest of its message goes on. */
static void ids_are_never_handed_out_twice(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};
    cJSON *errs;
    const cJSON *x;
    int dup_reports = 0;

    intake_str(e, "{\"id\":\"REQ-002\",\"title\":\"Update README with setup steps\"}");       /* 1 */
    intake_str(e, "[{\"title\":\"Update the docs index\"},{\"title\":\"Update the changelog\"},"
                  "{\"title\":\"Update the FAQ\"}]");                                          /* 2 */
    intake_str(e, "{\"id\":\"REQ-002\",\"title\":\"Another with the same id\"}");            /* 3 */
    intake_str(e, "[{\"id\":\"DUP-1\",\"title\":\"Update the glossary\"},"
                  "{\"id\":\"DUP-1\",\"title\":\"Update the glossary again\"},"
                  "{\"title\":\"Update the style guide\"}]");                                  /* 4 */
    read_plan(e, &p, 6, 10000);
    assert_int_equal(p.n, 6);
    assert_int_equal(distinct_ids(&p), 6);
    assert_int_equal(count_id(&p, "REQ-002"), 1);
    assert_string_equal(find(&p, "REQ-002")->title, "Update README with setup steps");
    /* 001, 003, 004, 005: 002 was taken, so the counter went past it */
    find(&p, "REQ-001");
    find(&p, "REQ-003");
    find(&p, "REQ-004");
    find(&p, "REQ-005");
    assert_string_equal(find(&p, "DUP-1")->title, "Update the glossary");
    plan_free(&p);

    errs = read_errors(e, 2, 5000);
    assert_int_equal(cJSON_GetArraySize(errs), 2);
    cJSON_ArrayForEach(x, errs) {
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(x, "subject")), "errors.intake.duplicate_id");
        dup_reports++;
    }
    expect_report(errs, 3, "duplicate_id", "id 'REQ-002' is taken already (by intake item seq-1-0)");
    assert_string_equal(report_str(report_for(errs, 3), "requirementId"), "REQ-002");
    expect_report(errs, 4, "duplicate_id", "[1]: id 'DUP-1' is given twice in this message (first at [0])");
    assert_string_equal(report_str(report_for(errs, 4), "requirementId"), "DUP-1");
    assert_int_equal(dup_reports, 2);
    cJSON_Delete(errs);
    wait_intake_empty(e, 5000); /* a partly refused message is acked, a wholly refused one terminated */
    svc_stop(pid);
}

/* 600 ids given before fill the counter's next numbers: the router gives
 * up skipping them after 100 and refuses the requirement, saying why,
 * instead of trying again until the message is dead-lettered with no word
 * to anyone. Requirements with ids of their own still go in. */
static void requirements_whose_ids_cannot_be_allocated_get_an_intake_error(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    kvStore *kv = NULL;
    plan_list p = {0};
    cJSON *errs;

    assert_int_equal(js_KeyValue(&kv, e->js, "orch_ids"), NATS_OK);
    for (int i = 1; i <= 600; i++) {
        char key[32];
        snprintf(key, sizeof(key), "REQ-%03d", i);
        assert_int_equal(kvStore_CreateString(NULL, kv, key, "seq-0-0"), NATS_OK);
    }
    kvStore_Destroy(kv);
    intake_str(e, "Fix the login page");                                                              /* 1 */
    intake_str(e, "[{\"id\":\"OWN-1\",\"title\":\"Update the FAQ\"},{\"title\":\"Update the index\"}]"); /* 2 */

    errs = read_errors(e, 2, 20000);
    assert_int_equal(cJSON_GetArraySize(errs), 2);
    expect_report(errs, 1, "id_unavailable", "no automatic id is free");
    expect_report(errs, 2, "id_unavailable", "[1]: no automatic id is free");
    cJSON_Delete(errs);
    read_plan(e, &p, 1, 5000);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.r[0]->id, "OWN-1");
    plan_free(&p);
    wait_intake_empty(e, 5000); /* settled at once: nothing left to dead-letter */
    svc_stop(pid);
}

static void plan_max_msg_size(env *e, int32_t size)
{
    jsStreamInfo *si = NULL;
    jsStreamConfig cfg;
    assert_int_equal(js_GetStreamInfo(&si, e->js, "PLAN", NULL, NULL), NATS_OK);
    cfg = *si->Config;
    cfg.MaxMsgSize = size;
    assert_int_equal(js_UpdateStream(NULL, e->js, &cfg, NULL, NULL), NATS_OK);
    jsStreamInfo_Destroy(si);
}

/* A message that comes back (its outputs could not be stored) keeps its
 * ids and is not refused as a duplicate of itself. */
static void a_redelivered_message_keeps_its_ids(void **state)
{
    env *e = *state;
    pid_t pid = svc_start_ready(e->nc, &e->fix, "router", "r1", NULL);
    plan_list p = {0};

    /* PLAN refuses everything for a while: each try takes the ids, then
     * fails to publish and is nak'ed */
    plan_max_msg_size(e, 16);
    intake_str(e, "{\"id\":\"SELF-1\",\"title\":\"Update README\"}");
    intake_str(e, "[{\"title\":\"Update the FAQ\"},{\"id\":\"SELF-2\",\"title\":\"Update the index\"}]");
    /* both delivered twice (the consumer gives up after five) */
    for (int i = 0; i < 40 && router_figure(e, "r1", "messages") < 4; i++)
        usleep(100 * 1000);
    assert_true(router_figure(e, "r1", "messages") >= 4);
    assert_int_equal(stream_msgs(e, "PLAN"), 0);
    plan_max_msg_size(e, 1 << 20);
    read_plan(e, &p, 3, 10000);
    assert_int_equal(p.n, 3);
    find(&p, "SELF-1");
    find(&p, "SELF-2");
    find(&p, "REQ-001");
    plan_free(&p);
    wait_intake_empty(e, 10000);
    assert_int_equal(stream_msgs(e, "ERRORS"), 0);
    svc_stop(pid);
}

/* Two replicas race for the same ids: the registry lets exactly one win. */
static void two_replicas_never_take_one_id_twice(void **state)
{
    env *e = *state;
    const char *env_small[] = {"ORCH_ROUTER_BATCH=5", NULL};
    pid_t a = svc_start_ready(e->nc, &e->fix, "router", "ra", env_small);
    pid_t b = svc_start_ready(e->nc, &e->fix, "router", "rb", env_small);
    plan_list p = {0};
    const int n = 200;
    cJSON *errs;

    /* each id twice, and as many without ids */
    publish_mixed(e, 0, n, 2);
    publish_mixed(e, 0, n, 2);
    read_plan(e, &p, n + n / 2, 30000);
    assert_int_equal(p.n, n + n / 2);
    assert_int_equal(distinct_ids(&p), n + n / 2);
    errs = read_errors(e, n / 2, 10000);
    assert_int_equal(cJSON_GetArraySize(errs), n / 2);
    cJSON_Delete(errs);
    plan_free(&p);
    svc_stop(a);
    svc_stop(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ids_are_never_handed_out_twice, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(requirements_whose_ids_cannot_be_allocated_get_an_intake_error, svc_env_setup,
                                        svc_env_teardown),
        cmocka_unit_test_setup_teardown(a_redelivered_message_keeps_its_ids, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(split_parts_take_their_ids, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(two_replicas_never_take_one_id_twice, svc_env_setup, svc_env_teardown),
    };
    int rc;
    /* ORCH_TEST_FILTER=name runs one case: tests/support/casefilter.c */
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
