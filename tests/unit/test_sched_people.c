/* sched_people.c: pauses (a type, a project, everything; until; kept as
 * JSON), cancellations and priorities decided by people. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_sched_harness.h"
#include "text.h"

static char err[ERR_LEN];
static char pauses_json[4096];
static int pauses_calls;

static void r_pauses(void *ctx, const char *json)
{
    (void)ctx;
    snprintf(pauses_json, sizeof(pauses_json), "%s", json);
    pauses_calls++;
}

static sched *make(void)
{
    sched_out o = out;
    o.pauses = r_pauses;
    pauses_json[0] = '\0';
    pauses_calls = 0;
    cfg.agent_seen_ms = -1;
    return sched_create(&cfg, &o, &clk);
}

static const sched_pause_scope backend = {SCHED_SCOPE_TYPE, BE, NULL};
static const sched_pause_scope all = {SCHED_SCOPE_ALL, 0, NULL};

static void pausing_a_type_holds_its_ready_work_and_says_why(void **state)
{
    sched *s = make();
    (void)state;
    assert_int_equal(sched_pause(s, &backend, 0, "alice", "person", "db migration", &clk, err, sizeof(err)), 0);
    assert_int_equal(rec.nalert, 1); /* one alert when it begins */
    assert_non_null(strstr(rec.alerts[0], "paused by alice"));
    sched_add(s, req("B1", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("F1", FE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].id, "F1"); /* other types flow */
    assert_int_equal(status(s, "B1"), ORCHESTRATOR__V1__STATUS__STATUS_READY);
    assert_int_equal(sched_get(s, "B1")->wait_kind, KIND(PAUSED));
    assert_string_equal(why(s, "B1"), "paused: backend by alice since 10:00 (db migration)");
    /* pausing again is the same decision: no second alert, words replaced */
    assert_int_equal(sched_pause(s, &backend, 0, "bob", "person", "", &clk, err, sizeof(err)), 1);
    assert_int_equal(rec.nalert, 1);
    assert_string_equal(why(s, "B1"), "paused: backend by bob since 10:00");
    assert_int_equal(sched_unpause(s, &backend, "bob", &clk, err, sizeof(err)), 0);
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "B1");
    assert_int_equal(sched_unpause(s, &backend, "bob", &clk, err, sizeof(err)), 1); /* nothing to resume */
    sched_destroy(s);
}

static void a_pause_with_until_ends_by_itself_on_the_tick(void **state)
{
    sched *s = make();
    (void)state;
    assert_int_equal(sched_pause(s, &all, clk.now_ms + 5000, "rl", "rate_limit", "reset at 10:00", &clk, err,
                                 sizeof(err)), 0);
    sched_add(s, req("B1", BE, MED, 100, NULL, NULL), &clk);
    assert_non_null(strstr(why(s, "B1"), "paused: all by rl since 10:00 until 10:00"));
    clk.now_ms += 4000;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 0);
    clk.now_ms += 1000;
    sched_tick(s, &clk);
    assert_int_equal(rec.nd, 1);
    assert_string_equal(pauses_json, "{\"paused\":[]}");
    sched_destroy(s);
}

static void bad_pauses_are_refused_and_change_nothing(void **state)
{
    sched *s = make();
    sched_pause_scope bad_type = {SCHED_SCOPE_TYPE, 99, NULL}, bad_proj = {SCHED_SCOPE_PROJECT, 0, "a b"};
    sched_pause_scope no_proj = {SCHED_SCOPE_PROJECT, 0, NULL};
    (void)state;
    assert_int_equal(sched_pause(s, NULL, 0, "a", "person", "", &clk, err, sizeof(err)), -1);
    assert_int_equal(sched_pause(s, &bad_type, 0, "a", "person", "", &clk, err, sizeof(err)), -1);
    assert_string_equal(err, "no agent type 99");
    assert_int_equal(sched_pause(s, &bad_proj, 0, "a", "person", "", &clk, err, sizeof(err)), -1);
    assert_int_equal(sched_pause(s, &no_proj, 0, "a", "person", "", &clk, err, sizeof(err)), -1);
    assert_int_equal(sched_pause(s, &all, 0, "", "person", "", &clk, err, sizeof(err)), -1);
    assert_int_equal(sched_pause(s, &all, 0, "a\nb", "person", "", &clk, err, sizeof(err)), -1);
    assert_int_equal(sched_pause(s, &all, 0, "a", "Person!", "", &clk, err, sizeof(err)), -1);
    assert_int_equal(sched_pause(s, &all, 0, "a", NULL, "", &clk, err, sizeof(err)), -1);
    assert_int_equal(sched_pause(s, &all, clk.now_ms - 1, "a", "person", "", &clk, err, sizeof(err)), -1);
    assert_string_equal(err, "until is in the past");
    assert_int_equal(pauses_calls, 0);
    sched_add(s, req("B1", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 1);
    sched_destroy(s);
}

static pb_requirement *in_project(pb_requirement *r, const char *project)
{
    Orchestrator__V1__Metadata__ExtraEntry *e = xmalloc(sizeof(*e));
    orchestrator__v1__metadata__extra_entry__init(e);
    e->key = xstrdup("project");
    e->value = xstrdup(project);
    if (!r->metadata) {
        r->metadata = xmalloc(sizeof(*r->metadata));
        orchestrator__v1__metadata__init(r->metadata);
    }
    r->metadata->extra = xrealloc(r->metadata->extra, sizeof(e) * (r->metadata->n_extra + 1));
    r->metadata->extra[r->metadata->n_extra++] = e;
    return r;
}

static void pausing_a_project_holds_its_work_only(void **state)
{
    sched *s = make();
    sched_pause_scope web = {SCHED_SCOPE_PROJECT, 0, "web"};
    (void)state;
    assert_int_equal(sched_pause(s, &web, 0, "alice", "person", "", &clk, err, sizeof(err)), 0);
    sched_add(s, in_project(req("W1", BE, MED, 100, NULL, NULL), "web"), &clk);
    sched_add(s, in_project(req("A1", BE, MED, 100, NULL, NULL), "api"), &clk);
    assert_int_equal(rec.nd, 1);
    assert_string_equal(rec.d[0].id, "A1");
    assert_string_equal(why(s, "W1"), "paused: web by alice since 10:00");
    assert_int_equal(sched_unpause(s, &all, "alice", &clk, err, sizeof(err)), 0); /* all: every pause */
    assert_int_equal(rec.nd, 2);
    sched_destroy(s);
}

static void pauses_are_kept_as_json_and_restored(void **state)
{
    sched *s = make(), *t;
    char kept[4096];
    (void)state;
    assert_int_equal(sched_pause(s, &backend, clk.now_ms + 60000, "alice", "person", "x \"y\"", &clk, err,
                                 sizeof(err)), 0);
    snprintf(kept, sizeof(kept), "%s", pauses_json);
    assert_non_null(strstr(kept, "\"scope\":\"type\",\"name\":\"backend\""));
    sched_destroy(s);
    t = make();
    assert_int_equal(sched_restore_pauses(t, kept, strlen(kept), err), ORCH_OK);
    sched_add(t, req("B1", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 0);
    assert_string_equal(why(t, "B1"), "paused: backend by alice since 10:00 until 10:01 (x \"y\")");
    assert_int_equal(sched_restore_pauses(t, "{", 1, err), ORCH_ERR_INVALID);
    assert_int_equal(sched_restore_pauses(t, "{\"paused\":[{\"scope\":\"type\",\"name\":\"nope\"}]}", 43, err),
                     ORCH_ERR_INVALID);
    assert_int_equal(rec.nd, 0); /* a bad document left what was there */
    sched_destroy(t);
}

static void cancel_withdraws_work_and_blocks_its_dependents(void **state)
{
    sched *s = make();
    const char *deps[8];
    (void)state;
    cfg.window = 1;
    sched_destroy(s);
    s = make();
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", FE, MED, 100, "A", NULL), &clk);
    sched_add(s, req("C", FE, MED, 100, "B", NULL), &clk);
    sched_add(s, req("D", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(rec.nd, 1); /* A holds backend's one slot */
    assert_int_equal(sched_cancel(s, "A", "alice", "not wanted", &clk, err, sizeof(err)), 0);
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_int_equal(sched_get(s, "A")->wait_kind, KIND(CANCELLED));
    assert_string_equal(why(s, "A"), "cancelled: by alice (not wanted)");
    assert_int_equal(sched_get(s, "A")->n_decisions, 1);
    assert_string_equal(sched_get(s, "A")->decisions[0]->who, "alice");
    assert_int_equal(sched_get(s, "A")->decisions[0]->at_ms, clk.now_ms);
    assert_int_equal(status(s, "B"), ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED);
    assert_string_equal(why(s, "B"), "dependency cancelled: waiting on A (cancelled)");
    assert_non_null(strstr(why(s, "C"), "dependency cancelled"));
    assert_int_equal(sched_dependents(s, "A", deps, 8), 2);
    assert_int_equal(rec.nd, 2); /* its slot went to D */
    assert_string_equal(rec.d[1].id, "D");
    assert_int_not_equal(result(s, "A", 1, 10), ADMIT_OK); /* a late result changes nothing */
    assert_int_equal(status(s, "A"), ORCHESTRATOR__V1__STATUS__STATUS_REJECTED);
    assert_int_equal(sched_cancel(s, "A", "alice", "", &clk, err, sizeof(err)), 1); /* idempotent */
    assert_int_equal(sched_get(s, "A")->n_decisions, 1);
    assert_int_equal(sched_cancel(s, "NOPE", "alice", "", &clk, err, sizeof(err)), -1);
    assert_string_equal(err, "no requirement NOPE");
    landed(s, "D", 1);
    assert_int_equal(status(s, "D"), ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE);
    assert_int_equal(sched_cancel(s, "D", "alice", "", &clk, err, sizeof(err)), -1);
    assert_string_equal(err, "D is COMPLETE: it is finished, nothing to cancel");
    sched_destroy(s);
}

/* A new leader reads a cancelled state back as it was: REJECTED,
 * cancelled, with its decision; what waits on it still says why. */
static void a_cancellation_outlives_the_leader(void **state)
{
    sched *s = make(), *t;
    char why_not[ERR_LEN];
    pb_state *st;
    (void)state;
    sched_add(s, req("A", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("B", FE, MED, 100, "A", NULL), &clk);
    assert_int_equal(sched_cancel(s, "A", "alice", "gone", &clk, err, sizeof(err)), 0);
    st = saved("A");
    assert_int_equal(sched_state_check(st, "A", why_not), 0);
    orchestrator__v1__requirement_state__free_unpacked(st, NULL);
    sched_destroy(s);
    t = from_saved(&out, NULL, 0);
    assert_int_equal(sched_get(t, "A")->wait_kind, KIND(CANCELLED));
    assert_int_equal(sched_get(t, "A")->n_decisions, 1);
    assert_string_equal(sched_get(t, "A")->decisions[0]->comment, "gone");
    assert_string_equal(why(t, "B"), "dependency cancelled: waiting on A (cancelled)");
    assert_int_equal(sched_cancel(t, "A", "alice", "", &clk, err, sizeof(err)), 1);
    sched_destroy(t);
}

static void a_new_priority_puts_ready_work_ahead(void **state)
{
    sched *s;
    (void)state;
    cfg.window = 1;
    s = make();
    sched_add(s, req("M1", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("M2", BE, MED, 100, NULL, NULL), &clk);
    sched_add(s, req("M3", BE, MED, 100, NULL, NULL), &clk);
    assert_int_equal(sched_set_priority(s, "M3", HIGH, "alice", "customer", &clk, err, sizeof(err)), 0);
    assert_string_equal(sched_get(s, "M3")->decisions[0]->detail, "MEDIUM -> HIGH");
    assert_int_equal(sched_set_priority(s, "M3", HIGH, "alice", "", &clk, err, sizeof(err)), 1);
    assert_int_equal(sched_set_priority(s, "M3", 9, "alice", "", &clk, err, sizeof(err)), -1);
    assert_int_equal(sched_set_priority(s, "X", HIGH, "alice", "", &clk, err, sizeof(err)), -1);
    started(s, "M1");
    assert_int_equal(rec.nd, 2);
    assert_string_equal(rec.d[1].id, "M3");
    started(s, "M3");
    assert_string_equal(rec.d[2].id, "M2");
    started(s, "M2");
    assert_int_equal(rec.nd, 3); /* its old place in the MEDIUM queue sent nothing twice */
    sched_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(pausing_a_type_holds_its_ready_work_and_says_why, setup),
        cmocka_unit_test_setup(a_pause_with_until_ends_by_itself_on_the_tick, setup),
        cmocka_unit_test_setup(bad_pauses_are_refused_and_change_nothing, setup),
        cmocka_unit_test_setup(pausing_a_project_holds_its_work_only, setup),
        cmocka_unit_test_setup(pauses_are_kept_as_json_and_restored, setup),
        cmocka_unit_test_setup(cancel_withdraws_work_and_blocks_its_dependents, setup),
        cmocka_unit_test_setup(a_cancellation_outlives_the_leader, setup),
        cmocka_unit_test_setup(a_new_priority_puts_ready_work_ahead, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rec_free();
    return rc;
}
