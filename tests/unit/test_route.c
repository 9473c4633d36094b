/* The router's decode and route steps: formats, plain text, protobuf with
 * the same checks as JSON, explicit fields kept, the backend/frontend
 * split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "names.h"
#include "route.h"
#include "text.h"

static classifier *cl;
static edge_limits lim;
static const route_opts opts = {1, 64, 300, 256};

static int setup(void **state)
{
    char err[ERR_LEN];
    (void)state;
    edge_limits_default(&lim);
    return classify_create(&cl, classify_default_rules, strlen(classify_default_rules), CL_BACKEND, NULL, err) ==
                   ORCH_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    classify_destroy(cl);
    return 0;
}

static void formats_by_header_then_body(void **state)
{
    (void)state;
    assert_int_equal(route_format_of("application/x-protobuf", "{", 1), ROUTE_PROTOBUF);
    assert_int_equal(route_format_of("application/protobuf", "x", 1), ROUTE_PROTOBUF);
    assert_int_equal(route_format_of("text/plain", "{\"a\":1}", 7), ROUTE_TEXT);
    assert_int_equal(route_format_of("application/json", "x", 1), ROUTE_JSON);
    assert_int_equal(route_format_of(NULL, "  [1]", 5), ROUTE_JSON);
    assert_int_equal(route_format_of(NULL, "\n{", 2), ROUTE_JSON);
    assert_int_equal(route_format_of(NULL, "Fix login crash", 15), ROUTE_TEXT);
    assert_int_equal(route_format_of("", "Fix", 3), ROUTE_TEXT);
}

static void plain_text_becomes_a_title(void **state)
{
    const char *t = "  Fix login crash in production  \n";
    const char *multi = "Add export button\nUsers need CSV export of the stock list.\nOn the stock page.";
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    (void)state;

    assert_int_equal(route_decode(ROUTE_TEXT, t, strlen(t), &lim, &r, &n, err), EDGE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(r[0]->title, "Fix login crash in production");
    assert_string_equal(r[0]->description, "");
    assert_string_equal(r[0]->id, "");
    edge_requirements_free(r, n);

    assert_int_equal(route_decode(ROUTE_TEXT, multi, strlen(multi), &lim, &r, &n, err), EDGE_OK);
    assert_string_equal(r[0]->title, "Add export button");
    assert_non_null(strstr(r[0]->description, "CSV export"));
    edge_requirements_free(r, n);

    assert_int_equal(route_decode(ROUTE_TEXT, " \n\t", 3, &lim, &r, &n, err), EDGE_EMPTY);
    assert_int_equal(route_decode(ROUTE_TEXT, "bad \xff byte", 10, &lim, &r, &n, err), EDGE_INVALID_UTF8);
    assert_non_null(strstr(err, "byte 4"));
}

static void review_and_release_are_not_intake_types(void **state)
{
    const char *ok = "[{\"title\":\"a\",\"type\":\"backend\"},{\"title\":\"b\"}]";
    const char *rv = "[{\"title\":\"a\"},{\"title\":\"b\",\"assignedAgent\":\"senior-review\"}]";
    const char *rl = "{\"title\":\"a\",\"type\":\"release\"}";
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    (void)state;

    assert_int_equal(route_intake_types(NULL, 0, NULL, err), EDGE_OK);
    assert_int_equal(route_decode(ROUTE_JSON, ok, strlen(ok), &lim, &r, &n, err), EDGE_OK);
    assert_int_equal(route_intake_types(r, n, "intake.requirements", err), EDGE_OK);
    edge_requirements_free(r, n);

    assert_int_equal(route_decode(ROUTE_JSON, rv, strlen(rv), &lim, &r, &n, err), EDGE_OK);
    assert_int_equal(route_intake_types(r, n, NULL, err), EDGE_BAD_VALUE);
    assert_non_null(strstr(err, "[1]: field 'assignedAgent': 'senior-review' is not an intake type"));
    edge_requirements_free(r, n);

    assert_int_equal(route_decode(ROUTE_JSON, rl, strlen(rl), &lim, &r, &n, err), EDGE_OK);
    assert_int_equal(route_intake_types(r, n, NULL, err), EDGE_BAD_VALUE);
    assert_non_null(strstr(err, "field 'type': 'release' is not an intake type"));
    assert_int_equal(route_intake_types(r, n, "work.requirements.release.X-1", err), EDGE_BAD_VALUE);
    assert_non_null(strstr(err, "subject work.requirements.release.X-1: 'release'"));
    edge_requirements_free(r, n);
}

static void long_text_title_is_cut_on_a_character(void **state)
{
    char text[700];
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    size_t bad;
    (void)state;
    /* 2-byte characters, so a cut at 300 bytes falls inside one if careless */
    text[0] = 'x';
    for (int i = 1; i < 601; i += 2) {
        text[i] = '\xc3';
        text[i + 1] = '\xa9';
    }
    text[601] = '\0';
    assert_int_equal(route_decode(ROUTE_TEXT, text, strlen(text), &lim, &r, &n, err), EDGE_OK);
    assert_true(strlen(r[0]->title) <= 300);
    assert_true(text_utf8_valid(r[0]->title, strlen(r[0]->title), &bad));
    assert_int_equal(strlen(r[0]->description), 601);
    edge_requirements_free(r, n);
}

static void protobuf_gets_the_same_checks(void **state)
{
    pb_requirement in;
    uint8_t *buf;
    size_t len;
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    char *deps[] = {"REQ-1", "REQ 2"};
    (void)state;

    orchestrator__v1__requirement__init(&in);
    in.title = "  Add stock API  ";
    in.id = "REQ-9";
    assert_int_equal(pb_pack(&in.base, &buf, &len), ORCH_OK);
    assert_int_equal(route_decode(ROUTE_PROTOBUF, (char *)buf, len, &lim, &r, &n, err), EDGE_OK);
    assert_string_equal(r[0]->title, "Add stock API");
    edge_requirements_free(r, n);
    free(buf);

    in.dependencies = deps;
    in.n_dependencies = 2;
    assert_int_equal(pb_pack(&in.base, &buf, &len), ORCH_OK);
    assert_int_equal(route_decode(ROUTE_PROTOBUF, (char *)buf, len, &lim, &r, &n, err), EDGE_BAD_DEPENDENCY);
    assert_non_null(strstr(err, "dependencies[1]"));
    free(buf);

    in.n_dependencies = 0;
    in.title = "";
    assert_int_equal(pb_pack(&in.base, &buf, &len), ORCH_OK);
    assert_int_equal(route_decode(ROUTE_PROTOBUF, (char *)buf, len, &lim, &r, &n, err), EDGE_MISSING_FIELD);
    free(buf);

    in.title = "ok";
    in.id = "a.b";
    assert_int_equal(pb_pack(&in.base, &buf, &len), ORCH_OK);
    assert_int_equal(route_decode(ROUTE_PROTOBUF, (char *)buf, len, &lim, &r, &n, err), EDGE_INVALID_ID);
    free(buf);

    assert_int_equal(route_decode(ROUTE_PROTOBUF, "\xff\xff\xff", 3, &lim, &r, &n, err), EDGE_INVALID_PROTOBUF);
    assert_null(r);
}

/* Whatever the format, nothing decoded may grow past max_rendered as the
 * JSON the scheduler publishes, and internal fields are cleared. */
static void rendering_is_bounded_on_every_path(void **state)
{
    enum { CRIT = 60, LEN = 4000 };
    static char quotes[CRIT][LEN + 1];
    char *crit[CRIT];
    pb_requirement in;
    uint8_t *buf;
    size_t len;
    pb_requirement **r = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    (void)state;

    orchestrator__v1__requirement__init(&in);
    in.title = "t";
    for (int i = 0; i < CRIT; i++) {
        memset(quotes[i], '"', LEN);
        crit[i] = quotes[i];
    }
    in.acceptance_criteria = crit;
    in.n_acceptance_criteria = CRIT;
    assert_int_equal(pb_pack(&in.base, &buf, &len), ORCH_OK);
    assert_true(len < lim.max_payload);
    assert_int_equal(route_decode(ROUTE_PROTOBUF, (char *)buf, len, &lim, &r, &n, err), EDGE_TOO_LARGE);
    assert_non_null(strstr(err, "as JSON (what the scheduler publishes)"));
    assert_null(r);
    free(buf);
    /* half of it fits */
    in.n_acceptance_criteria = CRIT / 2;
    in.origin_id = "REQ-1";
    in.intake_seq = 9;
    assert_int_equal(pb_pack(&in.base, &buf, &len), ORCH_OK);
    assert_int_equal(route_decode(ROUTE_PROTOBUF, (char *)buf, len, &lim, &r, &n, err), EDGE_OK);
    assert_string_equal(r[0]->origin_id, "");
    assert_int_equal(r[0]->intake_seq, 0);
    edge_requirements_free(r, n);
    free(buf);
    /* plain text gets the control-character rule too */
    assert_int_equal(route_decode(ROUTE_TEXT, "Fix \x01 now", 9, &lim, &r, &n, err), EDGE_CONTROL_CHAR);
}

static pb_requirement *one(const char *json)
{
    pb_requirement **r = NULL;
    pb_requirement *x;
    size_t n = 0;
    char err[ERR_LEN];
    assert_int_equal(route_decode(ROUTE_JSON, json, strlen(json), &lim, &r, &n, err), EDGE_OK);
    x = r[0];
    free(r);
    return x;
}

/* A split part's title gets " (frontend)": cut to fit, so that the
 * scheduler, which checks the title's length, takes the part. */
static void split_titles_stay_within_the_limit(void **state)
{
    char json[1024], title[301];
    pb_requirement *r, *fe = NULL;
    char err[ERR_LEN];
    (void)state;
    memset(title, 'x', 300);
    title[300] = '\0';
    memcpy(title, "Transfer API and transfer page UI ", 34);
    memcpy(title + 296, "\xc3\xa9\xc3\xa9", 4); /* ends in two-byte characters */
    snprintf(json, sizeof(json), "{\"id\":\"A-1\",\"title\":\"%s\",\"files\":[\"src/api/t.ts\",\"src/pages/t.tsx\"]}",
             title);
    r = one(json);
    route_apply(cl, &opts, r, &fe);
    assert_non_null(fe);
    assert_true(strlen(r->title) <= 300);
    assert_true(strlen(fe->title) <= 300);
    assert_non_null(strstr(fe->title, "x (frontend)"));
    assert_int_equal(edge_requirement_check(r, &lim, err), EDGE_OK);
    assert_int_equal(edge_requirement_check(fe, &lim, err), EDGE_OK);
    orchestrator__v1__requirement__free_unpacked(r, NULL);
    orchestrator__v1__requirement__free_unpacked(fe, NULL);
}

static void no_split_that_would_depend_on_itself(void **state)
{
    pb_requirement *r = one("{\"id\":\"REQ-50\",\"title\":\"Transfer API and transfer page UI\","
                            "\"dependencies\":[\"REQ-50-FE\"],"
                            "\"files\":[\"src/api/transfer.ts\",\"src/pages/transfer.tsx\"]}");
    pb_requirement *fe = NULL;
    char err[ERR_LEN];
    (void)state;
    assert_false(route_will_split(cl, &opts, r, r->id));
    route_apply(cl, &opts, r, &fe);
    assert_null(fe);
    assert_string_equal(r->id, "REQ-50");
    assert_int_equal(edge_requirement_check(r, &lim, err), EDGE_OK);
    orchestrator__v1__requirement__free_unpacked(r, NULL);
}

static void no_split_with_a_full_list_of_dependencies(void **state)
{
    char *json = malloc(256 * 12 + 512);
    size_t used = (size_t)sprintf(json, "{\"id\":\"R-1\",\"title\":\"Transfer API and transfer page UI\","
                                        "\"files\":[\"src/api/t.ts\",\"src/pages/t.tsx\"],\"dependencies\":[");
    pb_requirement *r, *fe = NULL;
    char err[ERR_LEN];
    (void)state;
    for (int i = 0; i < 256; i++)
        used += (size_t)sprintf(json + used, "%s\"D-%d\"", i ? "," : "", i);
    sprintf(json + used, "]}");
    r = one(json);
    assert_int_equal(r->n_dependencies, 256);
    route_apply(cl, &opts, r, &fe);
    assert_null(fe);
    assert_int_equal(edge_requirement_check(r, &lim, err), EDGE_OK);
    orchestrator__v1__requirement__free_unpacked(r, NULL);
    free(json);
}

static void duplicates_within_a_message(void **state)
{
    pb_requirement **r = NULL;
    size_t n = 0;
    long first[4];
    char err[ERR_LEN];
    const char *json = "[{\"id\":\"A\",\"title\":\"t\"},{\"title\":\"t\"},{\"title\":\"t\"},{\"id\":\"A\",\"title\":\"t\"}]";
    (void)state;
    assert_int_equal(route_decode(ROUTE_JSON, json, strlen(json), &lim, &r, &n, err), EDGE_OK);
    assert_int_equal(route_duplicates(r, n, NULL, first), 1);
    assert_int_equal(first[0], -1);
    assert_int_equal(first[1], -1); /* no id: not a duplicate of another without */
    assert_int_equal(first[2], -1);
    assert_int_equal(first[3], 0);
    edge_requirements_free(r, n);
}

static void ids_owners_and_records(void **state)
{
    char buf[64];
    char **ids = NULL;
    (void)state;
    route_auto_id("REQ-", 3, 7, buf, sizeof(buf));
    assert_string_equal(buf, "REQ-007");
    route_auto_id("REQ-", 3, 12345, buf, sizeof(buf));
    assert_string_equal(buf, "REQ-12345");
    route_owner(42, 3, buf, sizeof(buf));
    assert_string_equal(buf, "seq-42-3");
    /* as recorded now: the ids themselves */
    assert_true(route_recorded_ids("REQ-010,REQ-012", 2, "REQ-", 3, &ids));
    assert_string_equal(ids[0], "REQ-010");
    assert_string_equal(ids[1], "REQ-012");
    free(ids[0]);
    free(ids[1]);
    free(ids);
    /* as recorded before: the first of a run */
    assert_true(route_recorded_ids("10", 3, "REQ-", 3, &ids));
    assert_string_equal(ids[0], "REQ-010");
    assert_string_equal(ids[2], "REQ-012");
    for (int i = 0; i < 3; i++)
        free(ids[i]);
    free(ids);
    /* not as many as wanted */
    assert_false(route_recorded_ids("REQ-010,REQ-012", 3, "REQ-", 3, &ids));
    assert_null(ids);
    assert_false(route_recorded_ids("REQ-010,REQ-012,REQ-013", 2, "REQ-", 3, &ids));
    assert_false(route_recorded_ids("", 1, "REQ-", 3, &ids));
}


static void explicit_fields_win(void **state)
{
    pb_requirement *r = one("{\"id\":\"R-1\",\"title\":\"Add API endpoint\",\"assignedAgent\":\"jen\","
                            "\"priority\":\"low\",\"estimatedTokens\":1234,\"complexity\":\"XL\"}");
    pb_requirement *second;
    (void)state;
    route_apply(cl, &opts, r, &second);
    assert_null(second);
    assert_int_equal(r->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    assert_int_equal(r->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_LOW);
    assert_int_equal(r->estimated_tokens, 1234);
    assert_int_equal(r->complexity, ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_XL);
    assert_true(r->confidence == 1.0f);
    assert_string_equal(r->reasons[0]->rule, "explicit:assignedAgent");
    assert_int_equal(r->status, ORCHESTRATOR__V1__STATUS__STATUS_CLASSIFIED);
    orchestrator__v1__requirement__free_unpacked(r, NULL);
}

/* An explicit complexity costs what the seed's size table says for it
 * (S 10k, M 40k, L 80k, XL 150k; documentation at half), with the type as
 * decided, given or classified; not the estimate of the size the words
 * alone would have. */
static void explicit_complexity_takes_the_size_tables_estimate(void **state)
{
    static const struct {
        const char *json;
        uint64_t tokens;
    } rows[] = {
        {"{\"id\":\"C-1\",\"title\":\"Add API endpoint\",\"complexity\":\"XL\"}", 150000},
        {"{\"id\":\"C-2\",\"title\":\"Add API endpoint\",\"complexity\":\"L\"}", 80000},
        {"{\"id\":\"C-3\",\"title\":\"Add API endpoint\",\"complexity\":\"M\"}", 40000},
        {"{\"id\":\"C-4\",\"title\":\"Add API endpoint\",\"complexity\":\"S\"}", 10000},
        {"{\"id\":\"C-5\",\"title\":\"Update README\",\"complexity\":\"XL\"}", 75000},
        {"{\"id\":\"C-6\",\"title\":\"Add API endpoint\",\"type\":\"documentation\",\"complexity\":\"L\"}", 40000},
        {"{\"id\":\"C-7\",\"title\":\"Add API endpoint\",\"complexity\":\"XL\",\"estimatedTokens\":7}", 7},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        pb_requirement *r = one(rows[i].json), *second = NULL;
        int said = 0;
        route_apply(cl, &opts, r, &second);
        assert_null(second);
        if (r->estimated_tokens != rows[i].tokens)
            fail_msg("%s: %llu tokens, want %llu", r->id, (unsigned long long)r->estimated_tokens,
                     (unsigned long long)rows[i].tokens);
        for (size_t k = 0; k < r->n_reasons; k++)
            said |= strcmp(r->reasons[k]->rule, "explicit:complexity") == 0;
        assert_true(said);
        orchestrator__v1__requirement__free_unpacked(r, NULL);
    }
}

/* One bad item of a list is refused on its own, with its index and, when
 * it gave a readable one, its id; the others go on. What is wrong with
 * the message as a whole still refuses it whole. */
static void a_bad_item_of_a_list_is_refused_alone(void **state)
{
    route_items x;
    char err[ERR_LEN];
    const char *list = "[{\"id\":\"A-1\",\"title\":\"Add the stock API\"},"
                       " {\"id\":\"A-2\",\"title\":\"Loop\",\"dependencies\":[\"A-2\"]},"
                       " \"just a string, with a comma\","
                       " {\"id\":\"A-4\",\"title\":\"Look it over\",\"type\":\"review\"},"
                       " {\"title\":\"\"},"
                       " {\"id\":\"A-6\",\"title\":\"Add the stock page ], {[ \\\"v2\\\"\",\"dependencies\":[\"A-1\"]}]";
    (void)state;

    assert_int_equal(route_items_decode(ROUTE_JSON, "intake.requirements", list, strlen(list), &lim, &x, err),
                     EDGE_OK);
    assert_int_equal(x.n, 6);
    assert_int_equal(x.n_refused, 4);
    assert_int_equal(x.why[0], EDGE_OK);
    assert_string_equal(x.reqs[0]->title, "Add the stock API");
    assert_int_equal(x.why[1], EDGE_SELF_DEPENDENCY);
    assert_string_equal(x.reqs[1]->id, "A-2");
    assert_string_equal(x.err[1], "[1]: field 'dependencies[0]': 'A-2' depends on itself");
    assert_int_equal(x.why[2], EDGE_WRONG_TYPE);
    assert_string_equal(x.reqs[2]->id, "");
    assert_string_equal(x.err[2], "[2]: expected a requirement object");
    assert_int_equal(x.why[3], EDGE_BAD_VALUE);
    assert_non_null(strstr(x.err[3], "[3]: field 'type': 'review' is not an intake type"));
    assert_int_equal(x.why[4], EDGE_MISSING_FIELD);
    assert_non_null(strstr(x.err[4], "[4]: "));
    assert_int_equal(x.why[5], EDGE_OK);
    assert_string_equal(x.reqs[5]->dependencies[0], "A-1");
    assert_string_equal(x.reqs[5]->title, "Add the stock page ], {[ \"v2\"");
    route_items_free(&x);

    /* a single requirement: the message is refused, as before */
    {
        const char *one_bad = "{\"id\":\"B-1\",\"title\":\"Loop\",\"dependencies\":[\"B-1\"]}";
        assert_int_equal(route_items_decode(ROUTE_JSON, NULL, one_bad, strlen(one_bad), &lim, &x, err),
                         EDGE_SELF_DEPENDENCY);
        assert_null(x.reqs);
        assert_string_equal(err, "field 'dependencies[0]': 'B-1' depends on itself");
    }
    /* the message as a whole: syntax, an empty list, bytes, a bad subject */
    {
        static const struct {
            const char *subject, *body;
            edge_reason why;
        } whole[] = {
            {NULL, "[{\"title\":\"a\"}, {\"title\": }]", EDGE_INVALID_JSON},
            {NULL, "[]", EDGE_EMPTY},
            {NULL, "[{\"title\":\"a\"}, {\"title\":\"b \xff\"}]", EDGE_INVALID_UTF8},
            {"work.requirements.plumbing", "[{\"title\":\"a\"}, {\"title\":\"b\"}]", EDGE_BAD_VALUE},
        };
        for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
            edge_reason e = route_items_decode(ROUTE_JSON, whole[i].subject, whole[i].body, strlen(whole[i].body),
                                               &lim, &x, err);
            if (e != whole[i].why)
                fail_msg("whole %zu: %s (%s), want %s", i, edge_reason_token(e), err,
                         edge_reason_token(whole[i].why));
            assert_null(x.reqs);
        }
    }
    /* a list whose every item is refused: each says why */
    {
        const char *all_bad = "[1, 2]";
        assert_int_equal(route_items_decode(ROUTE_JSON, NULL, all_bad, strlen(all_bad), &lim, &x, err), EDGE_OK);
        assert_int_equal(x.n_refused, 2);
        route_items_free(&x);
    }
    /* the seed's subject gives each item its type; one naming another is refused alone */
    {
        const char *typed = "[{\"title\":\"a\"}, {\"title\":\"b\",\"assignedAgent\":\"jen\"}]";
        assert_int_equal(route_items_decode(ROUTE_JSON, "work.requirements.backend", typed, strlen(typed), &lim, &x,
                                            err), EDGE_OK);
        assert_int_equal(x.why[0], EDGE_OK);
        assert_int_equal(x.reqs[0]->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND);
        assert_int_equal(x.why[1], EDGE_BAD_VALUE);
        route_items_free(&x);
    }
}

static void refused_items_are_no_duplicates(void **state)
{
    pb_requirement **r = NULL;
    size_t n = 0;
    long first[3];
    unsigned char skip[3] = {1, 0, 0};
    char err[ERR_LEN];
    const char *json = "[{\"id\":\"A\",\"title\":\"t\"},{\"id\":\"A\",\"title\":\"t\"},{\"id\":\"A\",\"title\":\"t\"}]";
    (void)state;
    assert_int_equal(route_decode(ROUTE_JSON, json, strlen(json), &lim, &r, &n, err), EDGE_OK);
    assert_int_equal(route_duplicates(r, n, skip, first), 1);
    assert_int_equal(first[0], -1);
    assert_int_equal(first[1], -1); /* the refused [0] does not hold the id */
    assert_int_equal(first[2], 1);
    edge_requirements_free(r, n);
}

/* The seed's "HIGH: blocking other work": three dependents in the message
 * make a requirement HIGH, saying so; a given priority, or a higher one,
 * stays. */
static void three_dependents_make_a_requirement_high(void **state)
{
    route_items x;
    char err[ERR_LEN];
    size_t count[8];
    const char *list = "[{\"id\":\"CORE\",\"title\":\"Add the stock service\"},"
                       " {\"id\":\"TWO\",\"title\":\"Add the lot service\"},"
                       " {\"id\":\"GIVEN\",\"title\":\"Add the price service\",\"priority\":\"LOW\"},"
                       " {\"title\":\"a\",\"dependencies\":[\"CORE\",\"TWO\",\"GIVEN\"]},"
                       " {\"title\":\"b\",\"dependencies\":[\"CORE\",\"TWO\",\"GIVEN\"]},"
                       " {\"title\":\"c\",\"dependencies\":[\"CORE\",\"GIVEN\"]},"
                       " {\"title\":\"d\",\"dependencies\":[\"GIVEN\", \"TWO\"]}]";
    unsigned char skip[7] = {0, 0, 0, 0, 0, 0, 1}; /* d is refused: it counts for none */
    (void)state;

    assert_int_equal(route_items_decode(ROUTE_JSON, NULL, list, strlen(list), &lim, &x, err), EDGE_OK);
    route_count_dependents(x.reqs, x.n, skip, count);
    assert_int_equal(count[0], 3);
    assert_int_equal(count[1], 2);
    assert_int_equal(count[2], 3);
    assert_int_equal(count[3], 0);
    for (size_t j = 0; j < 3; j++) {
        pb_requirement *second = NULL;
        route_apply(cl, &opts, x.reqs[j], &second);
        assert_null(second);
        assert_int_equal(x.reqs[j]->priority, j == 2 ? ORCHESTRATOR__V1__PRIORITY__PRIORITY_LOW
                                                     : ORCHESTRATOR__V1__PRIORITY__PRIORITY_MEDIUM);
        route_blocking(x.reqs[j], count[j]);
    }
    assert_int_equal(x.reqs[0]->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH);
    assert_string_equal(x.reqs[0]->reasons[x.reqs[0]->n_reasons - 1]->rule, "structure:blocks 3 requirements");
    assert_int_equal(x.reqs[1]->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_MEDIUM);
    assert_int_equal(x.reqs[2]->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_LOW); /* given */
    route_items_free(&x);
    {
        pb_requirement *r = one("{\"id\":\"P-1\",\"title\":\"Production down: stock API\"}"), *second = NULL;
        route_apply(cl, &opts, r, &second);
        route_blocking(r, 5);
        assert_int_equal(r->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_CRITICAL);
        orchestrator__v1__requirement__free_unpacked(r, NULL);
    }
}

/* A graph for route_closes_cycle: "X:Y,Z" lines. */
typedef struct {
    const char *const *lines;
    int reads;
    const char *fail;   /* an id whose read fails */
    char *held[8];
    size_t n_held;
} fake_graph;

static int fake_deps(void *ctx, const char *id, const char *const **deps, size_t *n)
{
    fake_graph *g = ctx;
    size_t len = strlen(id);
    g->reads++;
    for (size_t i = 0; i < g->n_held; i++)
        free(g->held[i]);
    g->n_held = 0;
    *deps = (const char *const *)g->held;
    *n = 0;
    if (g->fail && strcmp(id, g->fail) == 0)
        return -1;
    for (size_t i = 0; g->lines[i]; i++) {
        const char *p = g->lines[i];
        if (strncmp(p, id, len) || p[len] != ':')
            continue;
        p += len + 1;
        while (*p && g->n_held < 8) {
            size_t k = strcspn(p, ",");
            g->held[g->n_held++] = strndup(p, k);
            p += k + (p[k] == ',');
        }
    }
    *n = g->n_held;
    return 0;
}

static void cycles_are_found_through_the_graph(void **state)
{
    static const char *const lines[] = {"B:C", "C:D,E", "E:NEW", "F:G", NULL};
    fake_graph g = {lines, 0, NULL, {0}, 0};
    const char *closes[] = {"A", "B"};
    const char *free_of[] = {"F"};
    char buf[256];
    (void)state;

    assert_int_equal(route_closes_cycle("NEW", closes, 2, fake_deps, &g, 100, buf, sizeof(buf)), 1);
    assert_string_equal(buf, "NEW -> B -> C -> E -> NEW");
    assert_int_equal(route_closes_cycle("NEW", free_of, 1, fake_deps, &g, 100, buf, sizeof(buf)), 0);
    assert_int_equal(route_closes_cycle("NEW", NULL, 0, fake_deps, &g, 100, buf, sizeof(buf)), 0);
    /* bounded: a walk that would visit more than allowed cannot tell */
    assert_int_equal(route_closes_cycle("NEW", closes, 2, fake_deps, &g, 3, buf, sizeof(buf)), -1);
    /* a read that fails cannot tell either */
    g.fail = "C";
    assert_int_equal(route_closes_cycle("NEW", closes, 2, fake_deps, &g, 100, buf, sizeof(buf)), -1);
    for (size_t i = 0; i < g.n_held; i++)
        free(g.held[i]);
}

static void rules_fill_what_is_missing(void **state)
{
    pb_requirement *r = one("{\"id\":\"R-2\",\"title\":\"Production down: stock API\"}");
    pb_requirement *second;
    char line[512];
    (void)state;
    route_apply(cl, &opts, r, &second);
    assert_null(second);
    assert_int_equal(r->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND);
    assert_int_equal(r->priority, ORCHESTRATOR__V1__PRIORITY__PRIORITY_CRITICAL);
    assert_int_equal(r->complexity, ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_S);
    assert_int_equal(r->estimated_tokens, 10000);
    route_describe(r, line, sizeof(line));
    assert_non_null(strstr(line, "R-2 -> backend, CRITICAL, S"));
    assert_non_null(strstr(line, "word:API +2"));
    orchestrator__v1__requirement__free_unpacked(r, NULL);
}

static void both_backend_and_frontend_is_split(void **state)
{
    pb_requirement *r = one("{\"id\":\"REQ-50\",\"title\":\"Transfer API and transfer page UI\","
                            "\"dependencies\":[\"REQ-49\"],\"estimatedTokens\":60000,"
                            "\"files\":[\"src/api/transfer.ts\",\"src/pages/transfer.tsx\",\"package.json\"]}");
    pb_requirement *fe;
    const route_opts off = {0, 64, 300, 256};
    char part[64];
    (void)state;
    /* told beforehand, by the same rule, so the parts' ids can be taken */
    assert_true(route_will_split(cl, &opts, r, r->id));
    assert_false(route_will_split(cl, &off, r, r->id));
    assert_false(route_will_split(cl, &opts, r, "X2345678901234567890123456789012345678901234567890123456789012"));
    route_part_id("REQ-50", 0, part, sizeof(part));
    assert_string_equal(part, "REQ-50-BE");
    route_part_id("REQ-50", 1, part, sizeof(part));
    assert_string_equal(part, "REQ-50-FE");
    route_apply(cl, &opts, r, &fe);
    assert_non_null(fe);
    assert_string_equal(r->id, "REQ-50-BE");
    assert_string_equal(fe->id, "REQ-50-FE");
    assert_string_equal(r->origin_id, "REQ-50");
    assert_string_equal(fe->origin_id, "REQ-50");
    assert_int_equal(r->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND);
    assert_int_equal(fe->type, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_FRONTEND);
    /* the frontend part waits for the backend part, and keeps the original's dependencies */
    assert_int_equal(fe->n_dependencies, 2);
    assert_string_equal(fe->dependencies[0], "REQ-49");
    assert_string_equal(fe->dependencies[1], "REQ-50-BE");
    assert_int_equal(r->n_dependencies, 1);
    /* files go where their path rule says; unclaimed ones to the backend */
    assert_int_equal(r->n_files, 2);
    assert_string_equal(r->files[1], "package.json");
    assert_int_equal(fe->n_files, 1);
    assert_string_equal(fe->files[0], "src/pages/transfer.tsx");
    assert_int_equal(r->estimated_tokens + fe->estimated_tokens, 60000);
    assert_non_null(strstr(fe->title, "(frontend)"));
    orchestrator__v1__requirement__free_unpacked(r, NULL);
    orchestrator__v1__requirement__free_unpacked(fe, NULL);
}

static void no_split_when_disabled_or_explicit(void **state)
{
    route_opts off = {0, 64, 300, 256};
    pb_requirement *r = one("{\"id\":\"R-3\",\"title\":\"Transfer API and page UI\","
                            "\"files\":[\"src/api/t.ts\",\"src/pages/t.tsx\"]}");
    pb_requirement *second;
    (void)state;
    route_apply(cl, &off, r, &second);
    assert_null(second);
    assert_string_equal(r->id, "R-3");
    orchestrator__v1__requirement__free_unpacked(r, NULL);
    r = one("{\"id\":\"R-4\",\"assignedAgent\":\"backend\",\"title\":\"Transfer API and page UI\","
            "\"files\":[\"src/api/t.ts\",\"src/pages/t.tsx\"]}");
    route_apply(cl, &opts, r, &second);
    assert_null(second);
    orchestrator__v1__requirement__free_unpacked(r, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_by_header_then_body),
        cmocka_unit_test(plain_text_becomes_a_title),
        cmocka_unit_test(review_and_release_are_not_intake_types),
        cmocka_unit_test(long_text_title_is_cut_on_a_character),
        cmocka_unit_test(protobuf_gets_the_same_checks),
        cmocka_unit_test(rendering_is_bounded_on_every_path),
        cmocka_unit_test(split_titles_stay_within_the_limit),
        cmocka_unit_test(no_split_that_would_depend_on_itself),
        cmocka_unit_test(no_split_with_a_full_list_of_dependencies),
        cmocka_unit_test(duplicates_within_a_message),
        cmocka_unit_test(ids_owners_and_records),
        cmocka_unit_test(explicit_fields_win),
        cmocka_unit_test(explicit_complexity_takes_the_size_tables_estimate),
        cmocka_unit_test(a_bad_item_of_a_list_is_refused_alone),
        cmocka_unit_test(refused_items_are_no_duplicates),
        cmocka_unit_test(three_dependents_make_a_requirement_high),
        cmocka_unit_test(cycles_are_found_through_the_graph),
        cmocka_unit_test(rules_fill_what_is_missing),
        cmocka_unit_test(both_backend_and_frontend_is_split),
        cmocka_unit_test(no_split_when_disabled_or_explicit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
