/* What the monitor has seen: the history the dashboard and the rules read,
 * saved and restored across a new leader (services/monitor/seen.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "dashboard.h"
#include "rulesfix.h"
#include "seen.h"
#include "text.h"

static const char *const test_services[] = {"orch-scheduler", "orch-router"};

static seen *test_seen(int64_t now)
{
    seen_cfg c = {16, 3600000, 300000};
    return seen_create(&c, test_services, 2, now);
}

static pb_state *test_state(const char *id, int status, int wait_kind, const char *reason, int priority,
                            uint64_t order)
{
    pb_state *st = xcalloc(1, sizeof(*st));
    pb_requirement *r = xcalloc(1, sizeof(*r));
    uint8_t *buf;
    size_t len;
    pb_state *out;
    char err[ERR_LEN];
    orchestrator__v1__requirement_state__init(st);
    orchestrator__v1__requirement__init(r);
    r->id = (char *)id;
    r->title = (char *)id;
    r->type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
    r->priority = (Orchestrator__V1__Priority)priority;
    st->id = (char *)id;
    st->status = (Orchestrator__V1__Status)status;
    st->wait_kind = (Orchestrator__V1__WaitKind)wait_kind;
    st->reason = (char *)reason;
    st->attempt = 1;
    st->order = order;
    st->requirement = r;
    /* packed and unpacked: the seen frees it as it frees KV's */
    assert_int_equal(pb_pack(&st->base, &buf, &len), ORCH_OK);
    out = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, buf, len, PB_MAX_MSG, err);
    assert_non_null(out);
    free(buf);
    free(r);
    free(st);
    return out;
}

#define WK(x) ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_##x

#define STS(x) ORCHESTRATOR__V1__STATUS__STATUS_##x

static void seen_history_comes_from_the_structured_reason_and_survives_a_restart(void **state)
{
    seen *s = test_seen(0), *back;
    const dash_input *in;
    dash_metrics m;
    char *saved;
    (void)state;
    seen_state(s, test_state("A", STS(BLOCKED), WK(DEPENDENCY), "waiting on B", 3, 1), 0);
    seen_state(s, test_state("B", STS(READY), WK(OVERLAP), "held: src/x.c is in flight", 3, 2), 0);
    /* prose alone says nothing: the kind is unset */
    seen_state(s, test_state("C", STS(READY), 0, "overlap with D on src/y.c", 3, 3), 0);
    seen_state(s, test_state("D", STS(DISPATCHED), 0, "", 3, 4), 0);
    seen_state(s, test_state("A", STS(COMPLETE), 0, "", 3, 1), 0);
    seen_state(s, test_state("B", STS(COMPLETE), 0, "", 3, 2), 0);
    in = seen_dash(s, 1000);
    dash_compute(in, &m);
    assert_true(m.blocker_rate == 0.25);
    assert_true(m.conflict_rate == 0.25);
    saved = seen_save(s);
    seen_destroy(s);

    /* a new leader: the history comes back with the states */
    back = test_seen(5000);
    assert_int_equal(seen_load(back, saved), 0);
    assert_int_equal(seen_load(back, "not json"), -1);
    seen_state(back, test_state("A", STS(COMPLETE), 0, "", 3, 1), 5000);
    seen_state(back, test_state("B", STS(COMPLETE), 0, "", 3, 2), 5000);
    seen_state(back, test_state("C", STS(READY), 0, "", 3, 3), 5000);
    seen_state(back, test_state("D", STS(COMPLETE), 0, "", 3, 4), 5000);
    dash_compute(seen_dash(back, 6000), &m);
    assert_true(m.blocker_rate == 0.25);
    assert_true(m.conflict_rate == 0.25);
    free(saved);
    seen_destroy(back);
}

static void seen_restores_what_the_rules_need_and_settles_only_when_all_is_in(void **state)
{
    seen *s = test_seen(100), *back;
    rules_cfg c;
    rules_condition out[16];
    rules_kill k[4];
    int n, nk;
    char *saved;
    (void)state;
    test_rules_cfg(&c);
    c.error_count = 3;
    seen_ping(s, "orch-router", 39000);
    seen_ping(s, NULL, 39000);
    for (int i = 0; i < 3; i++)
        seen_error(s, 1, 1, "X", "roy-1", 2000 + i);
    n = rules_eval(&c, seen_rules(s, 40000), 40000, out, 16, k, 4, &nk);
    assert_true(has_rule(out, n, "service_down", "orch-scheduler"));
    assert_true(has_rule(out, n, "error_rate", "3 backend errors"));
    saved = seen_save(s);
    seen_destroy(s);

    back = test_seen(41000);
    assert_false(seen_settled(back));
    /* without the memory, nothing would fire for 30 s: */
    n = rules_eval(&c, seen_rules(back, 41300), 41300, out, 16, k, 4, &nk);
    assert_false(has_rule(out, n, "service_down", NULL));
    assert_false(has_rule(out, n, "error_rate", NULL));
    assert_int_equal(seen_load(back, saved), 0);
    n = rules_eval(&c, seen_rules(back, 41300), 41300, out, 16, k, 4, &nk);
    assert_true(has_rule(out, n, "service_down", "orch-scheduler has not answered $SRV.PING for 41 s"));
    assert_false(has_rule(out, n, "service_down", "orch-router"));
    assert_true(has_rule(out, n, "error_rate", "3 backend errors"));
    /* settled once states, budgets, depths and a ping round are in */
    seen_states_synced(back);
    seen_budgets_synced(back);
    for (int t = 1; t < SEEN_TYPES; t++) {
        assert_false(seen_settled(back));
        seen_depth(back, t, 0);
    }
    assert_false(seen_settled(back));
    seen_ping(back, NULL, 42000);
    assert_true(seen_settled(back));
    free(saved);
    seen_destroy(back);
}

static void seen_budget_day_is_the_schedulers_and_limits_come_from_its_plan(void **state)
{
    seen *s = test_seen(0);
    pb_budget u;
    seen_plan p;
    const dash_input *in;
    cJSON *o;
    (void)state;
    orchestrator__v1__budget_usage__init(&u);
    u.day = "2026-11-27"; /* the scheduler's zone may be a day ahead of ours */
    u.used = 500;
    u.limit = 1000;
    seen_budget(s, &u);
    u.day = "2026-11-26"; /* older: ignored */
    u.used = 900;
    seen_budget(s, &u);
    in = seen_dash(s, 0);
    assert_int_equal(in->used_total, 500);
    assert_int_equal(in->limit_total, 1000);
    assert_int_equal(in->limit[2], 0);
    o = cJSON_Parse("{\"mode\":\"turns\",\"turnMinutes\":15,\"conservation\":true,\"criticalPath\":[\"A\",\"B\"],"
                    "\"criticalPathEnd\":\"2026-11-27T12:00:00Z\",\"budget\":{\"day\":\"2026-11-27\",\"used\":400,"
                    "\"limit\":2000,\"frontend\":{\"used\":0,\"limit\":300}}}");
    assert_int_equal(seen_plan_from_json(o, &p), 0);
    cJSON_Delete(o);
    assert_int_equal(seen_plan_from_json(NULL, &p), -1);
    o = cJSON_Parse("{\"mode\":\"turns\",\"turnMinutes\":15,\"conservation\":true,\"criticalPath\":[\"A\",\"B\"],"
                    "\"criticalPathEnd\":\"2026-11-27T12:00:00Z\",\"budget\":{\"day\":\"2026-11-27\",\"used\":400,"
                    "\"limit\":2000,\"frontend\":{\"used\":0,\"limit\":300}}}");
    seen_plan_from_json(o, &p);
    cJSON_Delete(o);
    seen_plan_set(s, &p);
    in = seen_dash(s, 7 * 60000); /* 00:07 UTC */
    assert_int_equal(in->limit_total, 2000); /* the restarted scheduler's new total */
    assert_int_equal(in->used_total, 500);   /* use only grows */
    assert_int_equal(in->limit[2], 300);     /* a type with no use yet */
    assert_string_equal(in->mode, "Turn-Based (15-min cycles)");
    assert_true(in->conservation);
    assert_int_equal(in->npath, 2);
    assert_string_equal(in->critical_path[1], "B");
    assert_string_equal(in->est_completion, "2026-11-27T12:00:00Z"); /* no forecast: the critical path's end */
    assert_string_equal(in->next_review, "00:15 UTC");
    o = cJSON_Parse("{\"mode\":\"continuous\",\"criticalPath\":[\"A\"],\"criticalPathEnd\":\"2026-11-27T12:00:00Z\","
                    "\"roadmapEta\":\"2026-11-28T09:30:00Z\"}");
    seen_plan_from_json(o, &p);
    cJSON_Delete(o);
    seen_plan_set(s, &p);
    in = seen_dash(s, 7 * 60000);
    assert_string_equal(in->est_completion, "2026-11-28T09:30:00Z"); /* the scheduler's forecast */
    memset(&p, 0, sizeof(p));
    seen_plan_set(s, &p);
    assert_string_equal(seen_dash(s, 0)->mode, "unknown (no scheduler)");
    seen_destroy(s);
}

static void seen_dashboard_shows_only_work_in_flight_as_an_agents(void **state)
{
    seen *s = test_seen(0);
    const dash_input *in;
    char gone[64];
    int found = 0;
    (void)state;
    seen_state(s, test_state("W", STS(DISPATCHED), WK(AGENT), "", 3, 1), 0);
    seen_state(s, test_state("E", STS(DISPATCHED), 0, "", 3, 2), 0);
    seen_state(s, test_state("L", STS(READY), 0, "", 4, 3), 0);
    seen_state(s, test_state("H", STS(READY), 0, "", 2, 9), 0);
    assert_int_equal(seen_report(s, 1, "W", "roy-1", 10, gone, sizeof(gone)), SEEN_QUIET);
    seen_report(s, 1, "E", "roy-2", 10, gone, sizeof(gone));
    seen_error(s, 1, 1, "OTHER", "roy-3", 10); /* an error's id is not the work it is on */
    in = seen_dash(s, 20);
    assert_string_equal(in->next_task, "H (backend)");
    for (int i = 0; i < in->nagents; i++) {
        if (!strcmp(in->agents[i].instance, "roy-1"))
            assert_string_equal(in->agents[i].requirement, "W"), found++;
        if (!strcmp(in->agents[i].instance, "roy-3"))
            assert_string_equal(in->agents[i].requirement, ""), found++;
    }
    assert_int_equal(found, 2);
    /* W completes: roy-1 is no longer working on it */
    seen_state(s, test_state("W", STS(COMPLETE), 0, "", 3, 1), 30);
    in = seen_dash(s, 40);
    for (int i = 0; i < in->nagents; i++)
        if (!strcmp(in->agents[i].instance, "roy-1"))
            assert_string_equal(in->agents[i].requirement, "");
    /* roy-2 stopped by the monitor: not listed, once */
    assert_int_equal(seen_stop_once(s, "E", 1, "roy-2"), 1);
    assert_int_equal(seen_stop_once(s, "E", 1, "roy-2"), 0);
    in = seen_dash(s, 50);
    for (int i = 0; i < in->nagents; i++)
        assert_string_not_equal(in->agents[i].instance, "roy-2");
    seen_destroy(s);
}

static void seen_restores_the_last_activity_on_work_in_flight(void **state)
{
    seen *s = test_seen(0), *back;
    rules_cfg c;
    rules_condition out[16];
    rules_kill k[4];
    pb_state *st = test_state("L", STS(DISPATCHED), 0, "", 3, 1);
    char *saved;
    int n, nk;
    (void)state;
    test_rules_cfg(&c);
    st->started = 1;
    st->instance = strdup("roy-1");
    seen_state(s, st, 0);
    seen_report(s, 1, "L", "roy-1", 300 * MIN, NULL, 0);
    assert_int_equal(seen_take_dirty(s), 1);
    assert_int_equal(seen_take_dirty(s), 0);
    saved = seen_save(s);
    seen_destroy(s);
    back = test_seen(301 * MIN);
    assert_int_equal(seen_load(back, saved), 0);
    st = test_state("L", STS(DISPATCHED), 0, "", 3, 1);
    st->started = 1;
    seen_state(back, st, 301 * MIN);
    n = rules_eval(&c, seen_rules(back, 302 * MIN), 302 * MIN, out, 16, k, 4, &nk);
    assert_false(has_rule(out, n, "stale", NULL)); /* active 2 min ago, dispatched 5 h ago */
    assert_int_equal(nk, 0);
    free(saved);
    seen_destroy(back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seen_history_comes_from_the_structured_reason_and_survives_a_restart),
        cmocka_unit_test(seen_restores_what_the_rules_need_and_settles_only_when_all_is_in),
        cmocka_unit_test(seen_budget_day_is_the_schedulers_and_limits_come_from_its_plan),
        cmocka_unit_test(seen_dashboard_shows_only_work_in_flight_as_an_agents),
        cmocka_unit_test(seen_restores_the_last_activity_on_work_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
