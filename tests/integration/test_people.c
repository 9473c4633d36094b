/* Decisions of people through real subjects: orchctl pause, resume, cancel
 * and priority against a real nats-server and the real scheduler. The test
 * plays the router (plan.*), the agents (the seed's consumers, results) and
 * the verifier (verdicts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <nats/nats.h>

#include "edge.h"
#include "names.h"
#include "natsfix.h"
#include "pb.h"
#include "svcfix.h"

typedef svc_env env;

enum { BE = 1, FE = 2 };
enum { HIGH = 2, MED = 3 };
#define PASS ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS

static pid_t start_scheduler(env *e, const char *extra)
{
    const char *x[] = {"ORCH_SCHEDULER_QUIET_START=00:00", "ORCH_SCHEDULER_QUIET_END=00:00",
                       "ORCH_SCHEDULER_MERGE_TRAIN=false", extra, NULL};
    return svc_start_ready(e->nc, &e->fix, "scheduler", "s1", x);
}

static cJSON *status_of(env *e, const char *id)
{
    char subj[128];
    snprintf(subj, sizeof(subj), "orch.status.%s", id);
    return svc_request_json(e->nc, subj, "", 2000);
}

static const char *field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* Waits up to 5 s for id to reach status (the scheduler leads by then). */
static void wait_status(env *e, const char *id, const char *status)
{
    cJSON *st = NULL;
    for (int i = 0; i < 50; i++) {
        cJSON_Delete(st);
        st = status_of(e, id);
        if (st && !strcmp(field(st, "status"), status)) {
            cJSON_Delete(st);
            return;
        }
        usleep(100 * 1000);
    }
    fail_msg("%s is %s (%s), expected %s", id, st ? field(st, "status") : "?", st ? field(st, "reason") : "?", status);
}

/* An agent of type takes the next work; 0 when none came in timeout_ms. */
static int take(env *e, const char *type, int timeout_ms, char *id, size_t idlen, unsigned *attempt)
{
    static const char *const consumers[] = {"", "roy-backend", "jen-frontend"};
    char filter[64];
    svc_work w;
    int t = !strcmp(type, "backend") ? BE : FE;
    snprintf(filter, sizeof(filter), "requirements.%s.>", type);
    if (!svc_take(e->js, consumers[t], filter, timeout_ms, &w))
        return 0;
    snprintf(id, idlen, "%s", w.id);
    *attempt = w.attempt;
    return 1;
}

static void must_take(env *e, const char *type, const char *want)
{
    char id[64] = "";
    unsigned attempt = 0;
    if (!take(e, type, 5000, id, sizeof(id), &attempt)) {
        cJSON *st = status_of(e, want);
        print_message("%s is %s: %s\n", want, st ? field(st, "status") : "?", st ? field(st, "reason") : "?");
        cJSON_Delete(st);
        fail_msg("no %s work (wanted %s)", type, want);
    }
    if (strcmp(id, want))
        fail_msg("%s got %s, wanted %s", type, id, want);
}

static void nothing_for(env *e, const char *type)
{
    char id[64];
    unsigned attempt;
    if (take(e, type, 700, id, sizeof(id), &attempt))
        fail_msg("%s got %s, expected nothing", type, id);
}

static void report_result(env *e, const char *type, const char *id)
{
    char subj[128], body[300];
    snprintf(subj, sizeof(subj), "results.%s.%s", type, id);
    snprintf(body, sizeof(body), "{\"requirementId\":\"%s\",\"attempt\":1,\"instance\":\"agent-1\","
                                 "\"project\":\"demo\",\"ref\":\"refs/heads/%s\",\"tokensUsed\":100}", id, id);
    assert_int_equal(js_Publish(NULL, e->js, subj, body, (int)strlen(body), NULL, NULL), NATS_OK);
}

static void report_pass(env *e, const char *id)
{
    pb_verdict v;
    uint8_t *buf;
    size_t len;
    char subj[128];
    orchestrator__v1__verdict__init(&v);
    v.requirement_id = (char *)id;
    v.attempt = 1;
    v.kind = PASS;
    v.failing_output = (char *)"";
    assert_int_equal(pb_pack(&v.base, &buf, &len), ORCH_OK);
    snprintf(subj, sizeof(subj), "verdicts.%s", id);
    assert_int_equal(js_Publish(NULL, e->js, subj, buf, (int)len, NULL, NULL), NATS_OK);
    free(buf);
}

static int orchctl(env *e, char *out, size_t len, const char *a1, const char *a2, const char *a3, const char *a4,
                   const char *a5)
{
    const char *args[] = {a1, a2, a3, a4, a5, NULL};
    return svc_orchctl(&e->fix, args, out, len);
}

/* A decision sent by hand; the service's error text (or "" when it
 * answered without one) into err. */
static void decide(env *e, const char *subject, const char *body, char *err, size_t len)
{
    natsMsg *reply = NULL;
    const char *text = NULL;
    assert_int_equal(natsConnection_RequestString(&reply, e->nc, subject, body, 3000), NATS_OK);
    snprintf(err, len, "%s", natsMsgHeader_Get(reply, "Nats-Service-Error", &text) == NATS_OK ? text : "");
    natsMsg_Destroy(reply);
}

static int paused_count(env *e)
{
    cJSON *l = svc_request_json(e->nc, "orch.scheduler.list", "", 3000);
    int n = l ? cJSON_GetArraySize(cJSON_GetObjectItem(l, "paused")) : -1;
    cJSON_Delete(l);
    return n;
}

static void pausing_a_type_holds_its_work_says_why_and_resume_releases_it(void **state)
{
    env *e = *state;
    pid_t pid = start_scheduler(e, NULL);
    char out[4096];
    cJSON *st;
    setenv("ORCH_USER", "alice", 1);
    svc_plan(e->js, "WARM-1", FE, MED, 100, NULL, NULL); /* the scheduler leads once this is dispatched */
    wait_status(e, "WARM-1", "DISPATCHED");
    assert_int_equal(orchctl(e, out, sizeof(out), "pause", "--type", "backend", "--comment", "db down"), 0);
    assert_non_null(strstr(out, "paused: type backend by alice (person): db down"));
    svc_plan(e->js, "B-1", BE, MED, 100, NULL, NULL);
    svc_plan(e->js, "F-1", FE, MED, 100, NULL, NULL);
    must_take(e, "frontend", "WARM-1");
    must_take(e, "frontend", "F-1"); /* other types flow */
    nothing_for(e, "backend");
    st = status_of(e, "B-1");
    assert_string_equal(field(st, "status"), "READY");
    assert_string_equal(field(st, "waitKind"), "paused");
    assert_true(!strncmp(field(st, "reason"), "paused: backend by alice since ", 31));
    assert_non_null(strstr(field(st, "reason"), "(db down)"));
    cJSON_Delete(st);
    assert_int_equal(paused_count(e), 1);
    assert_int_equal(orchctl(e, out, sizeof(out), "status", NULL, NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "paused: type backend by alice (person): db down"));
    assert_int_equal(orchctl(e, out, sizeof(out), "resume", "--type", "backend", NULL, NULL), 0);
    assert_non_null(strstr(out, "nothing is paused"));
    must_take(e, "backend", "B-1");
    assert_int_equal(orchctl(e, out, sizeof(out), "resume", "--type", "backend", NULL, NULL), 0); /* idempotent */
    assert_non_null(strstr(out, "it was not paused"));
    svc_stop(pid);
}

static void a_pause_with_until_resumes_by_itself(void **state)
{
    env *e = *state;
    pid_t pid = start_scheduler(e, NULL);
    char out[4096];
    svc_plan(e->js, "WARM-1", FE, MED, 100, NULL, NULL);
    wait_status(e, "WARM-1", "DISPATCHED");
    assert_int_equal(orchctl(e, out, sizeof(out), "pause", "--all", "--until", "3s", NULL), 0);
    svc_plan(e->js, "B-1", BE, MED, 100, NULL, NULL);
    nothing_for(e, "backend");
    wait_status(e, "B-1", "READY");
    must_take(e, "backend", "B-1"); /* within 5 s: the pause ended on a tick */
    assert_int_equal(paused_count(e), 0);
    svc_stop(pid);
}

static void a_pause_survives_a_scheduler_restart(void **state)
{
    env *e = *state;
    pid_t pid = start_scheduler(e, NULL);
    char out[4096];
    cJSON *st;
    svc_plan(e->js, "WARM-1", FE, MED, 100, NULL, NULL);
    wait_status(e, "WARM-1", "DISPATCHED");
    assert_int_equal(orchctl(e, out, sizeof(out), "pause", "--type", "backend", NULL, NULL), 0);
    svc_stop(pid);
    pid = start_scheduler(e, NULL);
    wait_status(e, "WARM-1", "DISPATCHED");
    svc_plan(e->js, "B-1", BE, MED, 100, NULL, NULL);
    wait_status(e, "B-1", "READY");
    nothing_for(e, "backend");
    st = status_of(e, "B-1");
    assert_string_equal(field(st, "waitKind"), "paused");
    cJSON_Delete(st);
    assert_int_equal(orchctl(e, out, sizeof(out), "resume", NULL, NULL, NULL, NULL), 0);
    must_take(e, "backend", "B-1");
    svc_stop(pid);
}

static void cancel_blocks_the_dependents_and_a_late_result_changes_nothing(void **state)
{
    env *e = *state;
    pid_t pid = start_scheduler(e, NULL);
    char out[4096], err[512];
    cJSON *st;
    setenv("ORCH_USER", "bob", 1);
    svc_plan(e->js, "A-1", BE, MED, 100, NULL, NULL);
    svc_plan(e->js, "B-1", FE, MED, 100, "A-1", NULL);
    svc_plan(e->js, "C-1", FE, MED, 100, "B-1", NULL);
    must_take(e, "backend", "A-1");
    wait_status(e, "C-1", "BLOCKED");
    assert_int_equal(orchctl(e, out, sizeof(out), "cancel", "A-1", "--comment", "not wanted", NULL), 0);
    assert_non_null(strstr(out, "A-1 cancelled: cancelled: by bob (not wanted)"));
    assert_non_null(strstr(out, "now blocked (dependency cancelled): B-1 C-1"));
    st = status_of(e, "A-1");
    assert_string_equal(field(st, "status"), "REJECTED");
    assert_string_equal(field(st, "waitKind"), "cancelled");
    cJSON_Delete(st);
    st = status_of(e, "B-1");
    assert_string_equal(field(st, "status"), "BLOCKED");
    assert_string_equal(field(st, "reason"), "dependency cancelled: waiting on A-1 (cancelled)");
    cJSON_Delete(st);
    report_result(e, "backend", "A-1"); /* the withdrawn work's late result */
    report_pass(e, "A-1");
    usleep(800 * 1000);
    st = status_of(e, "A-1");
    assert_string_equal(field(st, "status"), "REJECTED");
    cJSON_Delete(st);
    st = status_of(e, "B-1");
    assert_string_equal(field(st, "status"), "BLOCKED");
    cJSON_Delete(st);
    assert_int_equal(orchctl(e, out, sizeof(out), "cancel", "A-1", NULL, NULL, NULL), 0); /* idempotent */
    assert_non_null(strstr(out, "was cancelled already"));
    /* refused, with a clear message */
    decide(e, "orch.decide.cancel.NOPE-1", "{}", err, sizeof(err));
    assert_string_equal(err, "no requirement NOPE-1");
    decide(e, "orch.decide.priority.A-1", "{\"level\":\"HIGH\"}", err, sizeof(err));
    assert_string_equal(err, "A-1 is REJECTED: it is finished, its priority no longer matters");
    decide(e, "orch.decide.cancel.B-1", "{\"id\":\"C-1\"}", err, sizeof(err));
    assert_string_equal(err, "the body names C-1, the subject B-1: refused");
    decide(e, "orch.decide.cancel.B-1", "[1,2", err, sizeof(err));
    assert_string_equal(err, "the decision is not a JSON object");
    decide(e, "orch.decide.pause", "{\"scope\":\"type\",\"name\":\"nope\"}", err, sizeof(err));
    assert_string_equal(err, "no agent type nope");
    st = status_of(e, "B-1");
    assert_string_equal(field(st, "status"), "BLOCKED"); /* none of those changed anything */
    cJSON_Delete(st);
    svc_stop(pid);
}

static void a_new_priority_is_dispatched_before_work_that_was_ahead(void **state)
{
    env *e = *state;
    pid_t pid = start_scheduler(e, "ORCH_SCHEDULER_WINDOW=1");
    char out[4096];
    cJSON *st;
    svc_plan(e->js, "M-1", BE, MED, 100, NULL, NULL);
    wait_status(e, "M-1", "DISPATCHED");
    svc_plan(e->js, "M-2", BE, MED, 100, NULL, NULL);
    svc_plan(e->js, "M-3", BE, MED, 100, NULL, NULL);
    wait_status(e, "M-3", "READY");
    assert_int_equal(orchctl(e, out, sizeof(out), "priority", "M-3", "HIGH", "--comment", "customer"), 0);
    assert_non_null(strstr(out, "M-3 is HIGH now"));
    must_take(e, "backend", "M-1");
    report_result(e, "backend", "M-1");
    report_pass(e, "M-1");
    must_take(e, "backend", "M-3"); /* before M-2, which was ahead */
    assert_int_equal(orchctl(e, out, sizeof(out), "status", "M-3", NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "decision  priority MEDIUM -> HIGH by "));
    assert_non_null(strstr(out, ": customer"));
    st = status_of(e, "M-3");
    {
        char *d = cJSON_PrintUnformatted(cJSON_GetObjectItem(st, "decisions"));
        assert_non_null(d);
        assert_non_null(strstr(d, "\"kind\":\"priority\""));
        free(d);
    }
    cJSON_Delete(st);
    svc_stop(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pausing_a_type_holds_its_work_says_why_and_resume_releases_it, svc_env_setup,
                                        svc_env_teardown),
        cmocka_unit_test_setup_teardown(a_pause_with_until_resumes_by_itself, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(a_pause_survives_a_scheduler_restart, svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(cancel_blocks_the_dependents_and_a_late_result_changes_nothing,
                                        svc_env_setup, svc_env_teardown),
        cmocka_unit_test_setup_teardown(a_new_priority_is_dispatched_before_work_that_was_ahead, svc_env_setup,
                                        svc_env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
