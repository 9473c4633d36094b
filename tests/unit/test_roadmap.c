/* The Markdown roadmap parser (tools/orchctl/roadmap.c): values kept
 * whole, problems named with their line and field, never cut to fit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "roadmap.h"

static void parse(const char *text, size_t len, roadmap *r)
{
    char err[256] = "";
    if (roadmap_parse(text, len, r, err, sizeof(err)) != 0)
        fail_msg("roadmap_parse: %s", err);
}

static void values_are_kept_whole(void **state)
{
    char text[2048], title[401];
    roadmap r;
    (void)state;

    memset(title, 'T', 400);
    title[400] = '\0';
    snprintf(text, sizeof(text),
             "## Phase 2.1-with-a-long-phase-name-past-thirty-two - X\n"
             "### RH-\xc3\xbc: Update the handbook\n- Status: Pending\n\n"
             "### CR-2: %s\n- Status: Pending\n- Priority: CRITICAL-AND-THEN-SOME\n\n"
             "### REQ-042 - Dash separated\n- Status: New\n- Estimated tokens: 40000\n",
             title);
    parse(text, strlen(text), &r);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.items[0].id, "RH-\xc3\xbc"); /* was "RH-" */
    assert_string_equal(r.items[0].title, "Update the handbook");
    assert_string_equal(r.items[0].phase, "2.1-with-a-long-phase-name-past-thirty-two");
    assert_int_equal(strlen(r.items[1].title), 400); /* was cut to 300 */
    assert_string_equal(r.items[1].priority, "CRITICAL-AND-THEN-SOME");
    assert_string_equal(r.items[2].id, "REQ-042");
    assert_string_equal(r.items[2].title, "Dash separated");
    assert_int_equal(r.items[2].has_est, 1);
    assert_int_equal(r.items[2].est_tokens, 40000);
    assert_int_equal(r.items[2].line, 9);
    for (int i = 0; i < r.n; i++)
        assert_null(r.items[i].problem);
    roadmap_free(&r);
}

static void a_nul_byte_is_a_problem_named_with_its_line(void **state)
{
    static const char text[] = "# R\n### CR-1: Fix the login\0 page\n- Status: Pending\n"
                               "### CR-2: Fine\n- Status: Pending\n- Files: a.c, b\0.c\n"
                               "### CR-3: Fine\n- Status: Pending\n";
    roadmap r;
    char *json;
    (void)state;

    parse(text, sizeof(text) - 1, &r);
    assert_int_equal(r.n, 3);
    assert_non_null(r.items[0].problem);
    assert_string_equal(r.items[0].problem,
                        "line 2: field 'title' holds a NUL byte: refused rather than cut short");
    assert_string_equal(r.items[0].problem_reason, "control_character");
    assert_non_null(r.items[1].problem);
    assert_non_null(strstr(r.items[1].problem, "line 6: field 'Files' holds a NUL byte"));
    assert_null(r.items[2].problem);
    /* only the item without a problem is for intake */
    json = roadmap_pending_json(&r);
    assert_non_null(json);
    assert_null(strstr(json, "CR-1"));
    assert_null(strstr(json, "CR-2"));
    assert_non_null(strstr(json, "CR-3"));
    free(json);
    roadmap_free(&r);
}

static void an_estimate_must_be_a_whole_number(void **state)
{
    const char *bad[] = {"40k", "lots", "99999999999999999999999", "1.5"};
    const char *good[] = {"0", " 40000 ", "-5"}; /* -5 goes on: intake says it is below 0 */
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        roadmap r;
        snprintf(text, sizeof(text), "### E-1: Estimate\n- Status: Pending\n- Estimated tokens: %s\n", bad[i]);
        parse(text, strlen(text), &r);
        if (!r.items[0].problem || !strstr(r.items[0].problem, "line 3: field 'Estimated tokens'"))
            fail_msg("'%s': problem %s", bad[i], r.items[0].problem ? r.items[0].problem : "none");
        assert_string_equal(r.items[0].problem_reason, "bad_value");
        roadmap_free(&r);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char text[256];
        roadmap r;
        snprintf(text, sizeof(text), "### E-1: Estimate\n- Status: Pending\n- Estimated tokens: %s\n", good[i]);
        parse(text, strlen(text), &r);
        assert_null(r.items[0].problem);
        assert_int_equal(r.items[0].has_est, 1);
        assert_int_equal(r.items[0].est_tokens, atoll(good[i]));
        roadmap_free(&r);
    }
}

static void item_json_carries_what_was_written(void **state)
{
    static const char text[] = "## Phase 3 - A\n### A-1: Title\n- Status: pending\n- Agent: roy\n- Depends on: A-0\n"
                               "- Acceptance:\n  - works\n";
    roadmap r;
    char *json;
    cJSON *o;
    (void)state;
    parse(text, sizeof(text) - 1, &r);
    assert_true(roadmap_item_pending(&r.items[0]));
    json = roadmap_item_json(&r.items[0]);
    o = cJSON_Parse(json);
    assert_non_null(o);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "id")), "A-1");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "assignedAgent")), "roy");
    assert_null(cJSON_GetObjectItem(o, "estimatedTokens"));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "metadata"), "phase")), "3");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "acceptanceCriteria"), 0)->valuestring, "works");
    cJSON_Delete(o);
    free(json);
    roadmap_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_are_kept_whole),
        cmocka_unit_test(a_nul_byte_is_a_problem_named_with_its_line),
        cmocka_unit_test(an_estimate_must_be_a_whole_number),
        cmocka_unit_test(item_json_carries_what_was_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
