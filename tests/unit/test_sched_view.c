/* The scheduler's answers for people (sched_view.h): a state as JSON, whole
 * and as a brief list row, the list request's body, list pages over a real
 * core, the counts by status and the retry request's id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"
#include "sched_view.h"
#include "schedule.h"
#include "text.h"

enum { BE = 1, FE = 2, DOC = 4 };
enum { HIGH = 2, MED = 3 };

/* --- a core that records nothing ------------------------------------------ */

static int n_dispatched;

static int o_save(void *ctx, const pb_state *st)
{
    (void)ctx;
    (void)st;
    return 0;
}

static int o_dispatch(void *ctx, const pb_state *st, const char *msg_id, char why[ERR_LEN])
{
    (void)ctx;
    (void)st;
    (void)msg_id;
    (void)why;
    n_dispatched++;
    return 0;
}

static int o_review(void *ctx, const pb_state *st, const char *msg_id)
{
    (void)ctx;
    (void)st;
    (void)msg_id;
    return 0;
}

static int o_merge(void *ctx, const pb_state *st, const char *batch, int size, const char *msg_id)
{
    (void)ctx;
    (void)st;
    (void)batch;
    (void)size;
    (void)msg_id;
    return 0;
}

static void o_reject(void *ctx, const char *id, const char *reason, const char *text)
{
    (void)ctx;
    (void)id;
    (void)reason;
    (void)text;
}

static void o_spawn(void *ctx, int type, int count, int depth, uint64_t budget, const char *reason)
{
    (void)ctx;
    (void)type;
    (void)count;
    (void)depth;
    (void)budget;
    (void)reason;
}

static void o_alert(void *ctx, const char *severity, const char *kind, const char *key, const char *text)
{
    (void)ctx;
    (void)severity;
    (void)kind;
    (void)key;
    (void)text;
}

static void o_refuse(void *ctx, const char *key, const char *reason, const char *text, const sched_from *from)
{
    (void)ctx;
    (void)key;
    (void)reason;
    (void)text;
    (void)from;
}

static const sched_out out = {NULL, o_save, o_dispatch, o_review, o_merge, o_reject,
                              o_spawn, o_alert, NULL, o_refuse, NULL, NULL, NULL, NULL, NULL};

static sched_clock clk;
static sched_cfg cfg;

static int setup(void **state)
{
    (void)state;
    n_dispatched = 0;
    clk.now_ms = 1764000000000LL;
    snprintf(clk.day, sizeof(clk.day), "2026-11-24");
    clk.minute = 10 * 60;
    sched_cfg_default(&cfg);
    cfg.window = 100;
    return 0;
}

static pb_requirement *req(const char *id, int type, int prio, const char *dep)
{
    pb_requirement *r = xmalloc(sizeof(*r));
    orchestrator__v1__requirement__init(r);
    r->id = xstrdup(id);
    r->title = xstrdup(id);
    r->type = (Orchestrator__V1__AgentType)type;
    r->priority = (Orchestrator__V1__Priority)prio;
    r->estimated_tokens = 100;
    r->complexity = ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_M;
    if (dep)
        pb_add_str(&r->dependencies, &r->n_dependencies, dep);
    return r;
}

/* The answer as it goes on the wire. */
static char *text_of(cJSON *o)
{
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

/* --- a state by hand --------------------------------------------------------- */

typedef struct {
    pb_state st;
    pb_requirement r;
    char *blockers[40];
    char names[40][16];
} hand_state;

static void hand(hand_state *h, int n_blockers)
{
    orchestrator__v1__requirement_state__init(&h->st);
    orchestrator__v1__requirement__init(&h->r);
    h->st.requirement = &h->r;
    h->st.id = "REQ-1";
    h->r.id = "REQ-1";
    h->r.title = "Add login";
    h->r.type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
    h->r.priority = ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH;
    h->r.estimated_tokens = 5000;
    h->st.status = ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED;
    h->st.attempt = 2;
    h->st.reason = "dependency: waiting on REQ-0";
    h->st.tokens_used = 1234;
    h->st.cost_micro_usd = 250000;
    for (int i = 0; i < n_blockers; i++) {
        snprintf(h->names[i], sizeof(h->names[i]), "B-%d", i);
        h->blockers[i] = h->names[i];
    }
    h->st.blocked_by = h->blockers;
    h->st.n_blocked_by = (size_t)n_blockers;
}

static void a_state_reads_field_by_field_in_a_fixed_order(void **state)
{
    hand_state h;
    char *t;
    (void)state;
    hand(&h, 1);
    t = text_of(sched_view_status(NULL, &h.st, 0, 0));
    assert_string_equal(t, "{\"id\":\"REQ-1\",\"title\":\"Add login\",\"status\":\"BLOCKED\",\"type\":\"backend\","
                           "\"priority\":\"HIGH\",\"attempt\":2,\"reason\":\"dependency: waiting on REQ-0\","
                           "\"blockedBy\":[\"B-0\"],\"tokensUsed\":1234,\"costUsd\":0.25,\"estimatedTokens\":5000}");
    free(t);
}

static void eta_instance_and_failure_show_only_when_there(void **state)
{
    hand_state h;
    char *t;
    (void)state;
    hand(&h, 0);
    h.st.instance = "be-1";
    h.r.last_failure_output = "make: *** [all] Error 2";
    t = text_of(sched_view_status(NULL, &h.st, 1764000000000LL, 0));
    assert_non_null(strstr(t, "\"eta\":\"2025-11-24T16:00:00Z\",\"etaMs\":1764000000000,\"instance\":\"be-1\""));
    assert_non_null(strstr(t, "\"lastFailureOutput\":\"make: *** [all] Error 2\"}"));
    assert_null(strstr(t, "truncated"));
    free(t);
    hand(&h, 0);
    t = text_of(sched_view_status(NULL, &h.st, 0, 0));
    assert_null(strstr(t, "eta"));
    assert_null(strstr(t, "instance"));
    assert_null(strstr(t, "lastFailureOutput"));
    free(t);
}

static void a_brief_row_cuts_long_text_on_a_character_boundary(void **state)
{
    hand_state h;
    char title[SCHED_VIEW_TEXT_MAX + 40];
    cJSON *o;
    const char *got;
    (void)state;
    hand(&h, 0);
    /* "é" (2 bytes) straddles the limit: the cut falls before it */
    memset(title, 'a', SCHED_VIEW_TEXT_MAX - 1);
    memcpy(title + SCHED_VIEW_TEXT_MAX - 1, "\xc3\xa9", 2);
    snprintf(title + SCHED_VIEW_TEXT_MAX + 1, 20, "tail");
    h.r.title = title;
    o = sched_view_status(NULL, &h.st, 0, 1);
    got = cJSON_GetObjectItem(o, "title")->valuestring;
    assert_int_equal(strlen(got), SCHED_VIEW_TEXT_MAX - 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "truncated")));
    cJSON_Delete(o);
    o = sched_view_status(NULL, &h.st, 0, 0); /* whole in orch.status.<id> */
    assert_string_equal(cJSON_GetObjectItem(o, "title")->valuestring, title);
    assert_null(cJSON_GetObjectItem(o, "truncated"));
    cJSON_Delete(o);
    title[SCHED_VIEW_TEXT_MAX] = '\0'; /* exactly the limit: whole */
    memset(title, 'b', SCHED_VIEW_TEXT_MAX);
    o = sched_view_status(NULL, &h.st, 0, 1);
    assert_int_equal(strlen(cJSON_GetObjectItem(o, "title")->valuestring), SCHED_VIEW_TEXT_MAX);
    assert_null(cJSON_GetObjectItem(o, "truncated"));
    cJSON_Delete(o);
}

static void a_brief_row_names_sixteen_blockers_and_counts_the_rest(void **state)
{
    hand_state h;
    cJSON *o;
    (void)state;
    hand(&h, SCHED_VIEW_BLOCKERS_MAX + 5);
    o = sched_view_status(NULL, &h.st, 0, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "blockedBy")), SCHED_VIEW_BLOCKERS_MAX);
    assert_int_equal(cJSON_GetObjectItem(o, "blockedByMore")->valueint, 5);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "truncated")));
    cJSON_Delete(o);
    o = sched_view_status(NULL, &h.st, 0, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "blockedBy")), SCHED_VIEW_BLOCKERS_MAX + 5);
    assert_null(cJSON_GetObjectItem(o, "blockedByMore"));
    cJSON_Delete(o);
    hand(&h, SCHED_VIEW_BLOCKERS_MAX); /* exactly the limit: all, nothing cut */
    o = sched_view_status(NULL, &h.st, 0, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "blockedBy")), SCHED_VIEW_BLOCKERS_MAX);
    assert_null(cJSON_GetObjectItem(o, "truncated"));
    cJSON_Delete(o);
}

static void a_split_original_is_typed_by_its_parts(void **state)
{
    sched *s = sched_create(&cfg, &out, &clk);
    pb_requirement *be = req("REQ-9-BE", BE, HIGH, NULL);
    pb_requirement *fe = req("REQ-9-FE", FE, HIGH, "REQ-9-BE");
    const pb_state *al;
    cJSON *o;
    (void)state;
    pb_set_str(&be->origin_id, "REQ-9");
    pb_set_str(&fe->origin_id, "REQ-9");
    sched_add(s, be, &clk);
    sched_add(s, fe, &clk);
    al = sched_get(s, "REQ-9");
    assert_non_null(al);
    o = sched_view_status(s, al, 0, 0);
    assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "backend+frontend");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "parts")), 2);
    assert_string_equal(cJSON_GetObjectItem(o, "waitKind")->valuestring,
                        names_wait_kind(ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_DEPENDENCY));
    cJSON_Delete(o);
    o = sched_view_status(NULL, al, 0, 0); /* no core: its own type */
    assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, names_agent_type(al->requirement->type));
    cJSON_Delete(o);
    sched_destroy(s);
}

/* --- the list request's body ------------------------------------------------- */

static void a_list_request_takes_nothing_or_offset_and_limit(void **state)
{
    long long off = -1, lim = -1;
    char err[200] = "";
    (void)state;
    assert_int_equal(sched_view_list_request("", 0, 500, &off, &lim, err, sizeof(err)), 0);
    assert_int_equal(off, 0);
    assert_int_equal(lim, 500);
    assert_int_equal(sched_view_list_request("{}", 2, 500, &off, &lim, err, sizeof(err)), 0);
    assert_int_equal(lim, 500);
    /* not ended by NUL: only len bytes count */
    assert_int_equal(sched_view_list_request("{\"offset\": 7, \"limit\": 10000}xyz", 29, 500, &off, &lim, err,
                                             sizeof(err)), 0);
    assert_int_equal(off, 7);
    assert_int_equal(lim, SCHED_VIEW_PAGE_MAX);
}

static void a_bad_list_request_says_which_field(void **state)
{
    long long off, lim;
    char err[200];
    (void)state;
    assert_int_equal(sched_view_list_request("[1]", 3, 500, &off, &lim, err, sizeof(err)), -1);
    assert_string_equal(err, "expected {\"offset\": N, \"limit\": M} or nothing");
    assert_int_equal(sched_view_list_request("{\"offset", 8, 500, &off, &lim, err, sizeof(err)), -1);
    assert_int_equal(sched_view_list_request("{\"offset\": -1}", 14, 500, &off, &lim, err, sizeof(err)), -1);
    assert_string_equal(err, "field 'offset': expected a number from 0");
    assert_int_equal(sched_view_list_request("{\"offset\": \"3\"}", 15, 500, &off, &lim, err, sizeof(err)), -1);
    assert_string_equal(err, "field 'offset': expected a number from 0");
    assert_int_equal(sched_view_list_request("{\"limit\": 0}", 12, 500, &off, &lim, err, sizeof(err)), -1);
    assert_string_equal(err, "field 'limit': expected a number from 1 to 10000");
    assert_int_equal(sched_view_list_request("{\"limit\": 10001}", 16, 500, &off, &lim, err, sizeof(err)), -1);
    assert_string_equal(err, "field 'limit': expected a number from 1 to 10000");
}

/* --- list pages over a real core -------------------------------------------- */

static sched *five(void)
{
    sched *s = sched_create(&cfg, &out, &clk);
    char id[16];
    for (int i = 1; i <= 5; i++) {
        snprintf(id, sizeof(id), "REQ-%d", i);
        assert_int_equal(sched_add(s, req(id, i % 2 ? BE : DOC, MED, i > 1 ? "REQ-1" : NULL), &clk), 0);
    }
    return s;
}

static void pages_follow_next_until_there_is_none(void **state)
{
    sched *s = five();
    int seen = 0;
    long long offset = 0;
    (void)state;
    for (int page = 0; page < 10; page++) {
        cJSON *o = sched_view_list(s, 0, offset, 2, &clk), *next, *rows;
        rows = cJSON_GetObjectItem(o, "requirements");
        assert_int_equal(cJSON_GetObjectItem(o, "offset")->valueint, offset);
        assert_int_equal(cJSON_GetObjectItem(o, "total")->valueint, 5);
        for (int k = 0; k < cJSON_GetArraySize(rows); k++) {
            char want[16];
            snprintf(want, sizeof(want), "REQ-%d", ++seen);
            assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, k), "id")->valuestring, want);
        }
        next = cJSON_GetObjectItem(o, "next");
        if (!next) {
            assert_int_equal(cJSON_GetArraySize(rows), 1);
            cJSON_Delete(o);
            break;
        }
        assert_int_equal(cJSON_GetArraySize(rows), 2);
        offset = (long long)next->valuedouble;
        cJSON_Delete(o);
    }
    assert_int_equal(seen, 5);
    sched_destroy(s);
}

static void a_page_says_mode_counts_path_and_budget(void **state)
{
    sched *s = five();
    cJSON *o, *counts, *bud;
    (void)state;
    o = sched_view_list(s, 30, 0, 500, &clk);
    assert_string_equal(cJSON_GetObjectItem(o, "mode")->valuestring, "turns");
    assert_int_equal(cJSON_GetObjectItem(o, "turnMinutes")->valueint, 30); /* the dashboard's cycle */
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "conservation")));
    counts = cJSON_GetObjectItem(o, "counts");
    assert_int_equal(cJSON_GetArraySize(counts), NAMES_STATUS_COUNT - 1); /* every status but UNSPECIFIED */
    assert_int_equal(cJSON_GetObjectItem(counts, "BLOCKED")->valueint, 4);
    assert_null(cJSON_GetObjectItem(o, "next"));
    assert_non_null(cJSON_GetObjectItem(o, "roadmapEtaMs"));
    assert_true(cJSON_GetObjectItem(o, "roadmapEtaLateMs")->valuedouble >=
                cJSON_GetObjectItem(o, "roadmapEtaMs")->valuedouble);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "criticalPath"), 0)->valuestring, "REQ-1");
    assert_non_null(cJSON_GetObjectItem(o, "criticalPathEnd"));
    bud = cJSON_GetObjectItem(o, "budget");
    assert_string_equal(cJSON_GetObjectItem(bud, "day")->valuestring, "2026-11-24");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(bud, "backend"), "limit"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(bud, "release"), "costUsd"));
    cJSON_Delete(o);
    o = sched_view_list(s, 0, 0, 500, &clk);
    assert_string_equal(cJSON_GetObjectItem(o, "mode")->valuestring, "continuous");
    cJSON_Delete(o);
    sched_destroy(s);
}

static void a_page_past_the_end_is_empty_and_last(void **state)
{
    sched *s = five();
    cJSON *o;
    (void)state;
    o = sched_view_list(s, 0, 1000000000000LL, 500, &clk);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "requirements")), 0);
    assert_null(cJSON_GetObjectItem(o, "next"));
    assert_int_equal(cJSON_GetObjectItem(o, "total")->valueint, 5);
    cJSON_Delete(o);
    sched_destroy(s);
}

static void counts_by_status_name_every_status(void **state)
{
    sched *s = five();
    cJSON *by;
    size_t total;
    (void)state;
    total = sched_view_by_status(s, &by);
    assert_int_equal(total, 5);
    assert_int_equal(cJSON_GetArraySize(by), NAMES_STATUS_COUNT - 1);
    assert_int_equal(cJSON_GetObjectItem(by, "BLOCKED")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItem(by, "REVIEWING")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(by, "MERGING")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(by, "COMPLETE")->valueint, 0);
    cJSON_Delete(by);
    sched_destroy(s);
}

/* --- the retry request's id -------------------------------------------------- */

static void a_retry_names_its_id_in_json_or_bare(void **state)
{
    char id[80];
    char long_body[200];
    (void)state;
    sched_view_request_id("{\"id\": \"REQ-1\"}", 15, id, sizeof(id));
    assert_string_equal(id, "REQ-1");
    sched_view_request_id("REQ-2xyz", 5, id, sizeof(id)); /* only len bytes */
    assert_string_equal(id, "REQ-2");
    sched_view_request_id("{\"id\": 3}", 9, id, sizeof(id)); /* not a string id: the body itself */
    assert_string_equal(id, "{\"id\": 3}");
    memset(long_body, 'x', sizeof(long_body));
    sched_view_request_id(long_body, sizeof(long_body), id, sizeof(id));
    assert_int_equal(strlen(id), sizeof(id) - 1);
    sched_view_request_id(NULL, 0, id, sizeof(id));
    assert_string_equal(id, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_state_reads_field_by_field_in_a_fixed_order),
        cmocka_unit_test(eta_instance_and_failure_show_only_when_there),
        cmocka_unit_test(a_brief_row_cuts_long_text_on_a_character_boundary),
        cmocka_unit_test(a_brief_row_names_sixteen_blockers_and_counts_the_rest),
        cmocka_unit_test_setup(a_split_original_is_typed_by_its_parts, setup),
        cmocka_unit_test(a_list_request_takes_nothing_or_offset_and_limit),
        cmocka_unit_test(a_bad_list_request_says_which_field),
        cmocka_unit_test_setup(pages_follow_next_until_there_is_none, setup),
        cmocka_unit_test_setup(a_page_says_mode_counts_path_and_budget, setup),
        cmocka_unit_test_setup(a_page_past_the_end_is_empty_and_last, setup),
        cmocka_unit_test_setup(counts_by_status_name_every_status, setup),
        cmocka_unit_test(a_retry_names_its_id_in_json_or_bare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
