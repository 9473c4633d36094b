/* The dashboard's metrics and its Markdown and JSON from a scripted
 * history (services/monitor/dashboard.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "dashboard.h"
#include "text.h"

#define MIN (60 * 1000LL)

static pb_state *st(const char *id, int status, unsigned attempt, int complexity, int64_t created, int64_t completed,
                    uint64_t tokens)
{
    pb_state *s = xmalloc(sizeof(*s));
    pb_requirement *r = xmalloc(sizeof(*r));
    orchestrator__v1__requirement_state__init(s);
    orchestrator__v1__requirement__init(r);
    r->id = xstrdup(id);
    r->title = xstrdup(id);
    r->type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
    r->priority = ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH;
    r->complexity = (Orchestrator__V1__Complexity)complexity;
    r->created_at_ms = created;
    s->id = xstrdup(id);
    s->status = (Orchestrator__V1__Status)status;
    s->attempt = attempt;
    s->completed_at_ms = completed;
    s->tokens_used = tokens;
    s->requirement = r;
    s->reason = xstrdup(status == 3 ? "dependency: waiting on REQ-X (unknown)" : "");
    return s;
}

static void dashboard_numbers_match_a_scripted_history(void **state)
{
    const int64_t now = 10 * 24 * 3600 * 1000LL;
    pb_state *s[6] = {
        st("C1", 7, 1, 1, now - 100 * MIN, now - 40 * MIN, 1000),   /* S, 60 min, first time */
        st("C2", 7, 1, 1, now - 200 * MIN, now - 80 * MIN, 3000),   /* S, 120 min */
        st("C3", 7, 2, 2, now - 30 * 60 * MIN, now - 26 * 60 * MIN, 8000), /* M, 240 min, 2 attempts, >24h? no: 26 h ago */
        st("E1", 9, 3, 2, now - 10 * MIN, 0, 500),
        st("B1", 3, 0, 2, now - 5 * MIN, 0, 0),
        st("D1", 5, 1, 2, now - 5 * MIN, 0, 0),
    };
    dash_item items[6];
    dash_input in;
    dash_metrics m;
    char *md;
    cJSON *j;
    (void)state;
    s[5]->dispatched_at_ms = now - 15 * MIN;
    memset(items, 0, sizeof(items));
    items[5].taken = 1;
    for (int i = 0; i < 6; i++) {
        items[i].st = s[i];
        items[i].ever_blocked = i == 4 || i == 1;
        items[i].ever_overlap = i == 2;
    }
    memset(&in, 0, sizeof(in));
    in.mode = "Continuous";
    in.now_ms = now;
    in.items = items;
    in.nitems = 6;
    in.used[1] = 18542;
    in.limit[1] = 300000;
    in.used_total = 543211;
    in.limit_total = 1000000;
    for (int t = 0; t < DASH_TYPES; t++)
        in.depth[t] = -1;
    in.depth[1] = 2;
    in.results[1] = 8;
    in.errors[1] = 2;
    in.active_ms = 5 * MIN;
    dash_compute(&in, &m);
    assert_int_equal(m.total, 6);
    assert_int_equal(m.complete, 3);
    assert_int_equal(m.escalated, 1);
    assert_int_equal(m.in_flight, 1);
    assert_int_equal(m.waiting, 1);
    assert_true(m.completed_per_day == 2);                       /* C3 finished 26 h ago */
    assert_true(m.avg_minutes[1] == 90.0);                       /* (60 + 120) / 2 */
    assert_true(m.avg_minutes[2] == 240.0);
    assert_true(m.avg_minutes[3] < 0);
    assert_true(m.first_time_acceptance > 0.666 && m.first_time_acceptance < 0.667);
    assert_true(m.blocker_rate > 0.333 && m.blocker_rate < 0.334);
    assert_true(m.conflict_rate > 0.166 && m.conflict_rate < 0.167);
    assert_true(m.error_rate[1] == 0.2); /* 2 errors of 10 reports */
    assert_true(m.tokens_per_requirement == 4000.0);
    assert_true(m.escalation_rate == 0.25);
    md = dash_markdown(&in);
    assert_non_null(strstr(md, "**Token Budget:** 456,789 / 1,000,000 remaining (45.7%)"));
    assert_non_null(strstr(md, "- D1 (backend) - Assigned, In Progress (15 min elapsed)"));
    free(md);
    items[5].taken = 0; /* released, nobody took it: not In Progress */
    md = dash_markdown(&in);
    assert_non_null(strstr(md, "- D1 (backend) - Released, no agent took it yet (15 min ago)\n"));
    assert_null(strstr(md, "D1 (backend) - Assigned"));
    items[5].taken = 1;
    assert_non_null(strstr(md, "- B1 (backend) - Pending (dependency: waiting on REQ-X (unknown))"));
    assert_non_null(strstr(md, "**CRITICAL:** 0 items ✅"));
    assert_non_null(strstr(md, "1. ✅ C1 (backend) - C1"));
    assert_non_null(strstr(md, "- Token usage: 18,542 / 300,000 (6.2%)"));
    assert_non_null(strstr(md, "First-time acceptance rate: 66.7%"));
    assert_non_null(strstr(md, "- Error rate (backend): 20.0% (2 errors, 8 results)"));
    free(md);
    j = dash_json(&in);
    assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metrics"), "complete")->valuedouble, 3);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "queues"), "HIGH")), 2);
    {   /* what the error rate is made of */
        const cJSON *mj = cJSON_GetObjectItem(j, "metrics");
        assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(mj, "errors"), "backend")->valuedouble, 2);
        assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(mj, "results"), "backend")->valuedouble, 8);
        assert_int_equal((int)cJSON_GetObjectItem(cJSON_GetObjectItem(mj, "results"), "review")->valuedouble, 0);
    }
    cJSON_Delete(j);
    for (int i = 0; i < 6; i++)
        orchestrator__v1__requirement_state__free_unpacked(s[i], NULL);
}

/* An agent not heard past the stale threshold is not active, even within
 * active_ms: one killed a minute ago was listed for 5 minutes. */
static void agents_silent_past_the_stale_threshold_are_not_active(void **state)
{
    dash_agent a[2] = {{"roy-1", 1, 0, ""}, {"roy-2", 1, 0, ""}};
    dash_input in;
    char *md;
    (void)state;
    memset(&in, 0, sizeof(in));
    in.mode = "Continuous";
    in.now_ms = 100 * MIN;
    a[0].last_seen_ms = in.now_ms - 5000;   /* 5 s ago */
    a[1].last_seen_ms = in.now_ms - 60000;  /* a minute ago */
    in.agents = a;
    in.nagents = 2;
    in.active_ms = 5 * MIN;
    for (int t = 0; t < DASH_TYPES; t++)
        in.depth[t] = -1;
    assert_true(dash_agent_active(&in, &a[0]));
    assert_true(dash_agent_active(&in, &a[1])); /* no stale threshold: active_ms alone */
    in.stale_ms = 8000;
    assert_true(dash_agent_active(&in, &a[0]));
    assert_false(dash_agent_active(&in, &a[1]));
    in.stale_ms = 10 * MIN; /* longer than active_ms: active_ms holds */
    assert_true(dash_agent_active(&in, &a[1]));
    in.stale_ms = 8000;
    md = dash_markdown(&in);
    assert_non_null(strstr(md, "**Active Agents:** 1 (roy-1)\n"));
    assert_non_null(strstr(md, "- Agent utilisation: 0.0% (0 of 1 active agents working)\n"));
    free(md);
    a[0].requirement = "REQ-1"; /* working; roy-2, silent, counts for nothing */
    in.stale_ms = 0;
    md = dash_markdown(&in);
    assert_non_null(strstr(md, "- Agent utilisation: 50.0% (1 of 2 active agents working)\n"));
    free(md);
    in.nagents = 0;
    md = dash_markdown(&in);
    assert_non_null(strstr(md, "- Agent utilisation: n/a (no active agent)\n"));
    free(md);
}

/* "Est. completion" named a future time when everything was done. */
static void completion_says_done_when_nothing_is_left(void **state)
{
    const int64_t now = 10 * 24 * 3600 * 1000LL;
    pb_state *s[2] = {st("C1", 7, 1, 1, now - 100 * MIN, now - 40 * MIN, 1000),
                      st("E1", 9, 3, 2, now - 10 * MIN, 0, 500)};
    dash_item items[2];
    dash_input in;
    char *md;
    cJSON *j;
    (void)state;
    memset(&in, 0, sizeof(in));
    memset(items, 0, sizeof(items));
    for (int i = 0; i < 2; i++)
        items[i].st = s[i];
    in.mode = "Continuous";
    in.now_ms = now;
    in.items = items;
    in.est_completion = "2030-01-02T16:30:00Z";
    for (int t = 0; t < DASH_TYPES; t++)
        in.depth[t] = -1;
    in.nitems = 0; /* nothing known: the forecast as given */
    md = dash_markdown(&in);
    assert_non_null(strstr(md, "**Est. completion:** 2030-01-02T16:30:00Z\n"));
    free(md);
    in.nitems = 1; /* all complete */
    md = dash_markdown(&in);
    assert_non_null(strstr(md, "**Est. completion:** done\n"));
    free(md);
    j = dash_json(&in);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "estCompletion")), "done");
    cJSON_Delete(j);
    in.nitems = 2; /* the rest waits on a person */
    md = dash_markdown(&in);
    assert_non_null(strstr(md, "**Est. completion:** nothing in progress: 1 escalated, waiting on a person\n"));
    free(md);
    s[1]->status = ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED; /* work goes on: the forecast */
    md = dash_markdown(&in);
    assert_non_null(strstr(md, "**Est. completion:** 2030-01-02T16:30:00Z\n"));
    free(md);
    for (int i = 0; i < 2; i++)
        orchestrator__v1__requirement_state__free_unpacked(s[i], NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dashboard_numbers_match_a_scripted_history),
        cmocka_unit_test(agents_silent_past_the_stale_threshold_are_not_active),
        cmocka_unit_test(completion_says_done_when_nothing_is_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
