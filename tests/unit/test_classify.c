/* The router's classifier against a table of realistic requirements: type,
 * priority, complexity, split; the word-boundary traps; rules from JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "classify.h"

static classifier *cl;

#define F(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOF ((const char *const[]){NULL})

typedef struct {
    const char *title;
    const char *const *files;     /* NULL-terminated */
    int n_criteria;               /* generated criteria of 4 words each */
    int type, priority, complexity, split;
} row;

enum { BE = CL_BACKEND, FE = CL_FRONTEND, DB = CL_DATABASE, DOC = CL_DOCUMENTATION };
enum { CRIT = CL_CRITICAL, HIGH = CL_HIGH, MED = CL_MEDIUM, LOW = CL_LOW };
enum { S = CL_S, M = CL_M, L = CL_L, XL = CL_XL };

static const row table[] = {
    /* backend */
    {"Add inventory transaction API", F("src/api/transactions.ts", "tests/api/transactions.test.ts"), 3, BE, MED, M, 0},
    {"Create GraphQL resolver for lot lookup", NOF, 0, BE, MED, S, 0},
    {"Optimize the PostgreSQL database query for stock levels", NOF, 0, BE, MED, S, 0},
    {"Move pricing business logic into the pricing service", NOF, 0, BE, MED, S, 0},
    {"Publish a NATS event when a lot is received", NOF, 0, BE, MED, S, 0},
    {"Consume Kafka events from the warehouse topic", NOF, 0, BE, MED, S, 0},
    {"Fix rapid retry loop in sync worker", F("src/services/sync.ts"), 0, BE, MED, S, 0},
    {"Add endpoints for shipment tracking", NOF, 0, BE, MED, S, 0},
    {"Refactor order service to remove duplicate code", NOF, 0, BE, MED, S, 0},
    {"Build script for API server fails on Node 20", NOF, 0, BE, MED, S, 0},
    {"rapid prototyping helpers", F("src/services/proto.ts"), 0, BE, MED, S, 0},
    {"Speed up stock lookup", F("src/db/repo.ts"), 0, BE, MED, S, 0},
    /* frontend */
    {"Inventory dashboard UI", F("src/pages/inventory.tsx", "src/components/StockTable.tsx"), 0, FE, MED, M, 0},
    {"Add login form with validation", NOF, 0, FE, MED, S, 0},
    {"Make the settings page responsive on mobile", NOF, 0, FE, MED, S, 0},
    {"Create React component for lot labels", NOF, 0, FE, MED, S, 0},
    {"Switch buttons to Material-UI", NOF, 0, FE, MED, S, 0},
    {"Improve user experience of the checkout view", NOF, 0, FE, MED, S, 0},
    {"Fix broken pagination on the orders page", NOF, 0, FE, HIGH, S, 0},
    {"Fix UI glitch in the setup guide", NOF, 0, FE, MED, S, 0},
    {"Button styles", F("apps/web/src/components/Button.tsx"), 0, FE, MED, S, 0},
    {"Add endpoint and React form for supplier onboarding", NOF, 0, FE, MED, S, 0},
    /* database */
    {"Add migration for storage locations schema", F("src/db/migrations/0042_storage_locations.sql"), 0, DB, MED, S, 0},
    {"Add index on orders.created_at column", NOF, 0, DB, MED, S, 0},
    {"ALTER TABLE lots ADD COLUMN expiry", NOF, 0, DB, MED, S, 0},
    {"CREATE TABLE audit_log", NOF, 0, DB, MED, S, 0},
    {"Schema change: split address into street and city", NOF, 0, DB, MED, S, 0},
    {"Rename tables for multi-tenant support", NOF, 0, DB, MED, S, 0},
    {"Migrations fail on fresh install", F("src/db/migrations/0001_init.sql"), 0, DB, MED, S, 0},
    {"Add lots table and its queries", F("src/db/migrations/0043_lots.sql", "src/db/lots.ts"), 0, DB, MED, M, 0},
    /* documentation */
    {"Update README with setup steps", NOF, 0, DOC, LOW, S, 0},
    {"Write API docs for the transactions endpoint", NOF, 0, DOC, LOW, S, 0},
    {"Update user guide screenshots", NOF, 0, DOC, LOW, S, 0},
    {"Add CHANGELOG entry for the 2.1 release", NOF, 0, DOC, LOW, S, 0},
    {"Write release notes for version 3", NOF, 0, DOC, LOW, S, 0},
    {"Describe the deployment process", F("docs/deploy.md"), 0, DOC, LOW, S, 0},
    {"Fix typos in the installation documentation", NOF, 0, DOC, LOW, S, 0},
    {"Explain environment variables", F("README.md"), 0, DOC, LOW, S, 0},
    {"Describe backend settings", F("backend/README.md"), 0, DOC, LOW, S, 0},
    /* no rule matches: the default type, low confidence */
    {"Code review feedback on warehouse list", NOF, 0, BE, MED, S, 0},
    {"Overview screen for shipments", NOF, 0, BE, MED, S, 0},
    {"Serve index.html from the CDN", NOF, 0, BE, MED, S, 0},
    {"Previewing labels is slow", NOF, 0, BE, MED, S, 0},
    /* priorities */
    {"Fix production crash in lot creation", NOF, 0, BE, CRIT, S, 0},
    {"Production down: checkout API returns 500", NOF, 0, BE, CRIT, S, 0},
    {"Data corruption in stock counts after sync", NOF, 0, BE, CRIT, S, 0},
    {"Security vulnerability in login form (XSS)", NOF, 0, FE, CRIT, S, 0},
    {"Patch CVE-2025-1234 in image upload service", NOF, 0, BE, CRIT, S, 0},
    {"SQL injection in search endpoint", NOF, 0, BE, CRIT, S, 0},
    {"Outage: payments API times out", NOF, 0, BE, CRIT, S, 0},
    {"Checkout bug: totals wrong for customers in the EU", NOF, 0, BE, HIGH, S, 0},
    {"Blocking: auth API needed before the frontend work", NOF, 0, BE, HIGH, S, 0},
    {"Breaking change in the orders API for the v2 release", NOF, 0, BE, HIGH, S, 0},
    {"User-facing error message on the payment page is wrong", NOF, 0, FE, HIGH, S, 0},
    {"Regression in report export service", NOF, 0, BE, HIGH, S, 0},
    {"Nice-to-have: dark mode toggle on the settings page", NOF, 0, FE, LOW, S, 0},
    {"Cleanup unused CSS in components", F("src/components/old.css"), 0, FE, LOW, S, 0},
    {"Add feature flags service", NOF, 0, BE, MED, S, 0},
    {"Enhancement: remember the last warehouse on the dashboard", NOF, 0, FE, MED, S, 0},
    {"Refactoring of event handlers", NOF, 0, BE, MED, S, 0},
    /* clearly both backend and frontend: split */
    {"Inventory transfer API and transfer page UI", F("src/api/transfer.ts", "src/pages/transfer.tsx"), 0, FE, MED, M, 1},
    {"Show live prices", F("src/services/pricing.ts", "src/components/PriceTag.tsx"), 0, FE, MED, M, 1},
    {"Supplier portal", F("src/api/a.ts", "src/api/b.ts", "src/components/c.tsx"), 0, BE, MED, M, 1},
    {"Supplier import", F("src/api/a.ts", "src/api/b.ts", "src/api/c.ts", "src/components/c.tsx"), 0, BE, MED, M, 0},
    /* sizes */
    {"Multi-warehouse stock transfers",
     F("src/api/t1.ts", "src/api/t2.ts", "src/api/t3.ts", "src/services/t4.ts", "src/services/t5.ts", "src/db/t6.ts"),
     5, BE, MED, XL, 0},
    {"Lot expiry tracking", F("src/api/e1.ts", "src/api/e2.ts", "src/services/e3.ts", "src/services/e4.ts"), 4, BE, MED, L, 0},
};

static const char *const criteria_pool[] = {
    "returns the right totals", "handles empty input well", "is covered by tests", "documents every field",
    "logs every failure clearly",
};

static int setup(void **state)
{
    char err[ERR_LEN];
    (void)state;
    return classify_create(&cl, classify_default_rules, strlen(classify_default_rules), CL_BACKEND, NULL, err) ==
                   ORCH_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    classify_destroy(cl);
    return 0;
}

static void run_row(const row *r, cl_result *out)
{
    cl_input in;
    size_t nf = 0;
    memset(&in, 0, sizeof(in));
    while (r->files[nf])
        nf++;
    in.title = r->title;
    in.files = r->files;
    in.n_files = nf;
    in.criteria = criteria_pool;
    in.n_criteria = (size_t)r->n_criteria;
    classify_run(cl, &in, out);
}

static void table_of_requirements(void **state)
{
    static const char *const tn[] = {"-", "backend", "frontend", "database", "documentation", "review", "release"};
    static const char *const pn[] = {"-", "CRITICAL", "HIGH", "MEDIUM", "LOW"};
    static const char *const sn[] = {"-", "S", "M", "L", "XL"};
    int failures = 0;
    size_t n = sizeof(table) / sizeof(table[0]);
    (void)state;

    assert_true(n >= 60);
    for (size_t i = 0; i < n; i++) {
        cl_result r;
        run_row(&table[i], &r);
        if (r.type != table[i].type || r.priority != table[i].priority || r.complexity != table[i].complexity ||
            r.split != table[i].split) {
            print_error("row %zu '%s': got %s/%s/%s split=%d, want %s/%s/%s split=%d\n", i, table[i].title,
                        tn[r.type], pn[r.priority], sn[r.complexity], r.split, tn[table[i].type],
                        pn[table[i].priority], sn[table[i].complexity], table[i].split);
            for (int k = 0; k < r.n_reasons; k++)
                print_error("    reason %s -> %d (%d)\n", r.reasons[k].rule, r.reasons[k].target, r.reasons[k].weight);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static cl_result classify_title(const char *title)
{
    cl_input in;
    cl_result r;
    memset(&in, 0, sizeof(in));
    in.title = title;
    classify_run(cl, &in, &r);
    return r;
}

static void word_boundary_traps(void **state)
{
    (void)state;
    assert_int_equal(classify_title("build").scores[CL_FRONTEND], 0);
    assert_int_equal(classify_title("guide").scores[CL_FRONTEND], 0);
    assert_int_equal(classify_title("rapid").scores[CL_BACKEND], 0);
    assert_int_equal(classify_title("review").scores[CL_FRONTEND], 0);
    assert_int_equal(classify_title("index.html").scores[CL_DATABASE], 0);
    assert_int_equal(classify_title("platform").scores[CL_FRONTEND], 0);
    assert_int_equal(classify_title("prevent").scores[CL_BACKEND], 0);
    assert_int_equal(classify_title("tablet").scores[CL_DATABASE], 0);
    /* and the words themselves, in any case, do match */
    assert_true(classify_title("the ui").scores[CL_FRONTEND] > 0);
    assert_true(classify_title("an Api").scores[CL_BACKEND] > 0);
    assert_true(classify_title("a VIEW.").scores[CL_FRONTEND] > 0);
    assert_true(classify_title("drop the index").scores[CL_DATABASE] > 0);
}

static void reasons_name_rules_and_weights(void **state)
{
    cl_input in;
    cl_result r;
    const char *const files[] = {"src/db/migrations/1.sql"};
    int path_reason = 0;
    (void)state;
    memset(&in, 0, sizeof(in));
    in.title = "Add column";
    in.files = files;
    in.n_files = 1;
    classify_run(cl, &in, &r);
    assert_int_equal(r.type, CL_DATABASE);
    for (int i = 0; i < r.n_reasons; i++) {
        if (strcmp(r.reasons[i].rule, "path:src/db/migrations/") == 0) {
            path_reason = 1;
            assert_int_equal(r.reasons[i].weight, 10);
        }
        /* the less specific src/db/ rule must not count for the same file */
        assert_string_not_equal(r.reasons[i].rule, "path:src/db/");
    }
    assert_true(path_reason);
    assert_true(r.confidence > 0.9f);
}

/* The default type is a decision too: it comes with its reason. */
static void no_match_is_default_with_low_confidence_and_a_reason(void **state)
{
    cl_result r = classify_title("Think about things");
    (void)state;
    assert_int_equal(r.type, CL_BACKEND);
    assert_true(r.confidence < 0.2f);
    assert_int_equal(r.n_reasons, 1);
    assert_string_equal(r.reasons[0].rule, "default:backend");
    assert_int_equal(r.reasons[0].target, CL_BACKEND);
    assert_int_equal(r.reasons[0].weight, 0);
}

/* The seed's CRITICAL and HIGH lines as people word them, and ordinary
 * text that shares their words without saying them. */
static void reworded_emergencies_match_and_ordinary_text_does_not(void **state)
{
    static const struct {
        const char *title;
        int priority;
    } rows[] = {
        /* production down */
        {"Checkout is down in production", CL_CRITICAL},
        {"Production is completely down since the deploy", CL_CRITICAL},
        {"Production outage in the EU region", CL_CRITICAL},
        {"Payments keep crashing in production", CL_CRITICAL},
        {"Production crashed after the 2.1 release", CL_CRITICAL},
        /* data corruption */
        {"Stock data is being corrupted by the nightly sync", CL_CRITICAL},
        {"Nightly sync corrupts the data of older lots", CL_CRITICAL},
        {"Corrupted records in the lots table", CL_CRITICAL},
        {"We are losing data when two users save at once", CL_CRITICAL},
        {"Customer data was lost after the import", CL_CRITICAL},
        /* security */
        {"Vulnerabilities in the upload handler", CL_CRITICAL},
        {"Data breach through the export endpoint", CL_CRITICAL},
        /* high: blocking, user-facing, breaking */
        {"Login crashes on Safari", CL_HIGH},
        {"Totals regressed after the tax change", CL_HIGH},
        {"The new filter breaks checkout", CL_HIGH},
        {"Search is failing for users with long names", CL_HIGH},
        /* ordinary text sharing their words */
        {"Scroll down to the production report", CL_MEDIUM},
        {"Add a drop-down to the production settings page", CL_MEDIUM},
        {"Break down production costs by month", CL_MEDIUM},
        {"Handle corrupt input files gracefully", CL_MEDIUM},
        {"Production data export to CSV", CL_MEDIUM},
        {"Write down the data model for lots", CL_MEDIUM},
        {"Lossless data compression for exports", CL_MEDIUM},
        {"Add a Kafka broker health check", CL_MEDIUM},
        {"Add a breakpoint helper for the debugger", CL_MEDIUM},
        {"Close the data dialog on escape", CL_MEDIUM},
    };
    static const char *const pn[] = {"-", "CRITICAL", "HIGH", "MEDIUM", "LOW"};
    int failures = 0;
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cl_result r = classify_title(rows[i].title);
        if (r.priority != rows[i].priority) {
            print_error("'%s': %s, want %s\n", rows[i].title, pn[r.priority], pn[rows[i].priority]);
            for (int k = 0; k < r.n_reasons; k++)
                print_error("    reason %s\n", r.reasons[k].rule);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* Stems and fillers work in a rules file too, for type and priority rules. */
static void stems_and_fillers_in_rules_files(void **state)
{
    const char *rules = "{\"types\": {\"backend\": {\"words\": [\"invoic*\"]}},"
                        " \"priorities\": {\"CRITICAL\": [\"server burn*\"]}}";
    classifier *c = NULL;
    cl_input in;
    cl_result r;
    char err[ERR_LEN];
    (void)state;

    assert_int_equal(classify_create(&c, rules, strlen(rules), CL_DOCUMENTATION, NULL, err), ORCH_OK);
    memset(&in, 0, sizeof(in));
    in.title = "Invoicing: the server is burning";
    classify_run(c, &in, &r);
    assert_int_equal(r.type, CL_BACKEND);
    assert_int_equal(r.priority, CL_CRITICAL);
    /* fillers are for priority phrases; a stem is the start of a word */
    in.title = "The server room is a reburn";
    classify_run(c, &in, &r);
    assert_int_not_equal(r.priority, CL_CRITICAL);
    classify_destroy(c);
    /* a stem of one letter, first in its phrase, matches every word it begins */
    rules = "{\"types\": {\"frontend\": {\"words\": [\"x* widget\"]}}}";
    assert_int_equal(classify_create(&c, rules, strlen(rules), CL_DOCUMENTATION, NULL, err), ORCH_OK);
    in.title = "The xylophone widget";
    classify_run(c, &in, &r);
    assert_int_equal(r.type, CL_FRONTEND);
    classify_destroy(c);
}

static void estimates_follow_the_size_table(void **state)
{
    cl_result r = classify_title("Update README");
    (void)state;
    assert_int_equal(r.complexity, CL_S);
    assert_int_equal(r.tokens, 5000); /* 10000 for S, documentation at 50% */
    r = classify_title("Add endpoint");
    assert_int_equal(r.tokens, 10000);
    /* what an explicit complexity costs: the same table */
    assert_int_equal(classify_estimate(cl, CL_XL, CL_BACKEND), 150000);
    assert_int_equal(classify_estimate(cl, CL_L, CL_FRONTEND), 80000);
    assert_int_equal(classify_estimate(cl, CL_M, CL_DOCUMENTATION), 20000);
    assert_int_equal(classify_estimate(cl, CL_SIZE_NONE, CL_BACKEND), 0);
}

static void rules_from_json_replace_the_defaults(void **state)
{
    const char *rules = "{\"types\": {\"frontend\": {\"words\": [\"widget\"]},"
                        " \"database\": {\"paths\": [\"sql/\"]}},"
                        " \"priorities\": {\"critical\": [\"on fire\"]}}";
    classifier *c = NULL;
    cl_input in;
    cl_result r;
    const char *const files[] = {"sql/001.sql"};
    char err[ERR_LEN];
    (void)state;

    assert_int_equal(classify_create(&c, rules, strlen(rules), CL_DOCUMENTATION, NULL, err), ORCH_OK);
    memset(&in, 0, sizeof(in));
    in.title = "The widgets are on fire";
    classify_run(c, &in, &r);
    assert_int_equal(r.type, CL_FRONTEND);
    assert_int_equal(r.priority, CL_CRITICAL);
    in.title = "An API";    /* not a rule any more */
    classify_run(c, &in, &r);
    assert_int_equal(r.type, CL_DOCUMENTATION);
    in.files = files;
    in.n_files = 1;
    classify_run(c, &in, &r);
    assert_int_equal(r.type, CL_DATABASE);
    classify_destroy(c);
}

static void bad_rules_are_refused_with_the_key(void **state)
{
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"[]", "not a JSON object"},
        {"{}", "'types' must be an object"},
        {"{\"types\": {\"plumbing\": {}}}", "unknown agent type 'types.plumbing'"},
        {"{\"types\": {\"backend\": {\"words\": \"API\"}}}", "types.backend.words must be a list"},
        {"{\"types\": {\"backend\": {\"words\": [\"\"]}}}", "non-empty strings"},
        {"{\"types\": {}, \"priorities\": {\"URGENT\": []}}", "unknown priority 'priorities.URGENT'"},
        {"{\"types\": {}, \"weights\": {\"path\": \"x\"}}", "weights.path must be a number"},
        {"{\"types\": {\"backend\": {\"words\": [\"--\"]}}}", "has no words"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        classifier *c = NULL;
        char err[ERR_LEN] = "";
        assert_int_equal(classify_create(&c, bad[i].json, strlen(bad[i].json), CL_BACKEND, NULL, err),
                         ORCH_ERR_INVALID);
        assert_null(c);
        if (!strstr(err, bad[i].needle))
            fail_msg("rules %zu: '%s' lacks '%s'", i, err, bad[i].needle);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_of_requirements),
        cmocka_unit_test(word_boundary_traps),
        cmocka_unit_test(reasons_name_rules_and_weights),
        cmocka_unit_test(no_match_is_default_with_low_confidence_and_a_reason),
        cmocka_unit_test(reworded_emergencies_match_and_ordinary_text_does_not),
        cmocka_unit_test(stems_and_fillers_in_rules_files),
        cmocka_unit_test(estimates_follow_the_size_table),
        cmocka_unit_test(rules_from_json_replace_the_defaults),
        cmocka_unit_test(bad_rules_are_refused_with_the_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
