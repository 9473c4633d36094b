/* Unit tests of the text helpers: UTF-8 validation and id safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"
#include "text.h"

static void utf8_accepts_valid_text(void **state)
{
    const char *ok[] = {"", "plain ascii", "caf\xc3\xa9", "\xe2\x82\xac 5", "\xf0\x9f\x9a\x80 launch",
                        "\xed\x9f\xbf", "\xf4\x8f\xbf\xbf"};
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_true(text_utf8_valid(ok[i], strlen(ok[i]), NULL));
}

static void utf8_rejects_bad_bytes_with_offset(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        size_t at;
    } bad[] = {
        {"ab\xff", 3, 2},               /* invalid lead byte */
        {"a\xc3", 2, 1},                /* truncated sequence */
        {"\xc0\xaf", 2, 0},             /* overlong '/' */
        {"\xe0\x80\xaf", 3, 0},         /* overlong, 3 bytes */
        {"x\xed\xa0\x80", 4, 1},        /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 4, 0},     /* above U+10FFFF */
        {"ok\0no", 5, 2},               /* embedded NUL */
        {"\xe2\x82", 2, 0},             /* cut at end */
        {"\x80", 1, 0},                 /* lone continuation */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t at = 99;
        assert_false(text_utf8_valid(bad[i].s, bad[i].len, &at));
        assert_int_equal(at, bad[i].at);
    }
}

static void control_characters_are_found(void **state)
{
    size_t at = 99;
    (void)state;
    assert_true(text_controls_free("plain caf\xc3\xa9", 11, 0, &at));
    assert_true(text_controls_free("a\tb\nc\rd", 7, 1, &at));
    assert_false(text_controls_free("a\tb", 3, 0, &at));
    assert_int_equal(at, 1);
    assert_false(text_controls_free("ab\x01", 3, 1, &at));
    assert_int_equal(at, 2);
    assert_false(text_controls_free("x\x7f", 2, 1, &at));
    assert_int_equal(at, 1);
    assert_false(text_controls_free("ok\0no", 5, 1, &at));
    assert_int_equal(at, 2);
    assert_true(text_controls_free("", 0, 0, NULL));
}

static void ids_must_be_subject_tokens(void **state)
{
    char err[128];
    (void)state;
    assert_true(text_id_valid("REQ-042", 64, err, sizeof(err)));
    assert_true(text_id_valid("a_b-9", 64, err, sizeof(err)));
    assert_false(text_id_valid("", 64, err, sizeof(err)));
    assert_non_null(strstr(err, "empty"));
    assert_false(text_id_valid("REQ.1", 64, err, sizeof(err)));
    assert_non_null(strstr(err, "'.'"));
    assert_false(text_id_valid("REQ*", 64, err, sizeof(err)));
    assert_false(text_id_valid("REQ>", 64, err, sizeof(err)));
    assert_false(text_id_valid("REQ 1", 64, err, sizeof(err)));
    assert_non_null(strstr(err, "whitespace"));
    assert_false(text_id_valid("REQ\t1", 64, err, sizeof(err)));
    assert_false(text_id_valid("abcdef", 5, err, sizeof(err)));
    assert_non_null(strstr(err, "at most 5"));
}

static void names_parse_loosely_print_strictly(void **state)
{
    (void)state;
    assert_int_equal(names_priority_parse("critical"), ORCHESTRATOR__V1__PRIORITY__PRIORITY_CRITICAL);
    assert_int_equal(names_priority_parse("P0"), ORCHESTRATOR__V1__PRIORITY__PRIORITY_CRITICAL);
    assert_int_equal(names_priority_parse("p3"), ORCHESTRATOR__V1__PRIORITY__PRIORITY_LOW);
    assert_int_equal(names_priority_parse("P4"), 0);
    assert_int_equal(names_priority_parse("urgent"), 0);
    assert_string_equal(names_priority(ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH), "HIGH");
    assert_int_equal(names_agent_parse("Roy"), ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND);
    assert_int_equal(names_agent_parse("jen-frontend"), ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    assert_int_equal(names_agent_parse("senior-review"), ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW);
    assert_int_equal(names_agent_parse("plumber"), 0);
    assert_int_equal(names_agent_from_subject("results.backend.REQ-1", 1), ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND);
    assert_int_equal(names_agent_from_subject("agents.heartbeat.jen.jen-2", 2), ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    assert_int_equal(names_agent_from_subject("results.plumber.REQ-1", 1), 0);
    assert_int_equal(names_agent_from_subject("results", 1), 0);
    assert_int_equal(names_agent_from_subject(NULL, 1), 0);
    assert_string_equal(names_agent_persona(ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND), "roy");
    assert_string_equal(names_agent_type(ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_DATABASE), "database");
    assert_int_equal(names_status_parse("Pending"), ORCHESTRATOR__V1__STATUS__STATUS_NEW);
    assert_int_equal(names_status_parse("escalated"), ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED);
    assert_int_equal(names_complexity_parse("xl"), ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_XL);
}

static void utf8_cuts_fall_between_characters(void **state)
{
    const char *t = "ab\xe2\x82\xac\xf0\x9f\x98\x80z"; /* a b euro emoji z */
    size_t len = strlen(t);
    (void)state;
    assert_int_equal(text_utf8_prefix(t, len, 0), 0);
    assert_int_equal(text_utf8_prefix(t, len, 2), 2);
    assert_int_equal(text_utf8_prefix(t, len, 3), 2);  /* inside the euro */
    assert_int_equal(text_utf8_prefix(t, len, 4), 2);
    assert_int_equal(text_utf8_prefix(t, len, 5), 5);
    assert_int_equal(text_utf8_prefix(t, len, 8), 5);  /* inside the emoji */
    assert_int_equal(text_utf8_prefix(t, len, 9), 9);
    assert_int_equal(text_utf8_prefix(t, len, 100), len);
    /* a bad byte counts as one: cutting after it splits nothing */
    assert_int_equal(text_utf8_prefix("a\xff" "b", 3, 2), 2);
    for (size_t max = 0; max <= len; max++) {
        size_t n = text_utf8_prefix(t, len, max);
        assert_true(n <= max);
        assert_true(text_utf8_valid(t, n, NULL));
    }
}

static void utf8_repair_replaces_each_bad_byte(void **state)
{
    char cut[] = "ok \xe2\x82";             /* a euro cut short */
    char mixed[] = "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d"; /* stray, overlong, surrogate */
    char fine[] = "na\xc3\xaf" "ve \xe2\x82\xac";
    (void)state;
    assert_int_equal(text_utf8_repair(cut), 2);
    assert_string_equal(cut, "ok ??");
    assert_int_equal(text_utf8_repair(mixed), 6);
    assert_string_equal(mixed, "a?b??c???d");
    assert_int_equal(text_utf8_repair(fine), 0);
    assert_string_equal(fine, "na\xc3\xaf" "ve \xe2\x82\xac");
}

static void silence_matchers_name_known_rules_and_types(void **state)
{
    char err[512];
    (void)state;
    assert_true(names_silence_matchers_ok("rule=stale,type=backend", err, sizeof(err)));
    assert_true(names_silence_matchers_ok("rule=topology_missing", err, sizeof(err)));
    assert_true(names_silence_matchers_ok("id=REQ-1", err, sizeof(err)));
    assert_false(names_silence_matchers_ok("rule=nonexistent", err, sizeof(err)));
    assert_non_null(strstr(err, "no alert rule 'nonexistent'"));
    assert_false(names_silence_matchers_ok("type=plumber", err, sizeof(err)));
    assert_false(names_silence_matchers_ok("nonsense", err, sizeof(err)));
    assert_false(names_silence_matchers_ok("rule=", err, sizeof(err)));
    assert_false(names_silence_matchers_ok("=stale", err, sizeof(err)));
    assert_false(names_silence_matchers_ok("rule=stale,", err, sizeof(err)));
    assert_false(names_silence_matchers_ok("", err, sizeof(err)));
}

static void subjects_are_built_in_one_place(void **state)
{
    char out[96];
    (void)state;
    assert_string_equal(names_subject_typed(out, sizeof(out), NAMES_SUBJ_RESULTS,
                                            ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND, "REQ-1"),
                        "results.backend.REQ-1");
    assert_string_equal(names_subject_typed(out, sizeof(out), NAMES_SUBJ_SPAWN,
                                            ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, NULL),
                        "control.spawn.review");
    assert_string_equal(names_subject(out, sizeof(out), NAMES_SUBJ_ERRORS, "intake", "too_large"),
                        "errors.intake.too_large");
    assert_string_equal(names_subject(out, sizeof(out), NAMES_SUBJ_STATUS, "REQ-7", NULL), "orch.status.REQ-7");
    assert_string_equal(names_subject(out, 12, NAMES_SUBJ_HEARTBEAT, "backend", "roy-1"), "agents.hear");
}

static void paths_have_one_spelling(void **state)
{
    const char *cases[][2] = {{"./src/a.c", "src/a.c"},      {"src//a.c", "src/a.c"},   {"src/x/../a.c", "src/a.c"},
                              {"/src/a.c", "src/a.c"},       {"src/", "src/"},          {".//src/./lib//", "src/lib/"},
                              {"a/b/../../c", "c"},          {"README.md", "README.md"}};
    const char *bad[] = {"../x", "a/../../x", "", ".", "/", "./", "src/.."};
    char buf[128], err[200];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(buf, sizeof(buf), "%s", cases[i][0]);
        assert_int_equal(text_path_normalise(buf, err, sizeof(err)), 0);
        assert_string_equal(buf, cases[i][1]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "%s", bad[i]);
        assert_int_equal(text_path_normalise(buf, err, sizeof(err)), -1);
    }
    snprintf(buf, sizeof(buf), "../etc/passwd");
    text_path_normalise(buf, err, sizeof(err));
    assert_non_null(strstr(err, "leaves the project"));
}

static void printable_shows_controls_as_text(void **state)
{
    char *p;
    (void)state;
    p = text_printable("ok\ttab\nline \x1b[31mred\x7f \xc2\x9b" "2J caf\xc3\xa9");
    assert_string_equal(p, "ok\ttab\nline \\x1b[31mred\\x7f \\u009b2J caf\xc3\xa9");
    free(p);
    p = text_printable(NULL);
    assert_string_equal(p, "");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(printable_shows_controls_as_text),
        cmocka_unit_test(paths_have_one_spelling),
        cmocka_unit_test(utf8_accepts_valid_text),
        cmocka_unit_test(utf8_rejects_bad_bytes_with_offset),
        cmocka_unit_test(utf8_cuts_fall_between_characters),
        cmocka_unit_test(utf8_repair_replaces_each_bad_byte),
        cmocka_unit_test(ids_must_be_subject_tokens),
        cmocka_unit_test(control_characters_are_found),
        cmocka_unit_test(names_parse_loosely_print_strictly),
        cmocka_unit_test(silence_matchers_name_known_rules_and_types),
        cmocka_unit_test(subjects_are_built_in_one_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
