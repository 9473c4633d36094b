/* Classifications per second on one core over a realistic text corpus, and
 * as a ratio against a baseline measured in the same run: one pass that
 * lower-cases and sums every byte of the same texts (the least any
 * classifier must do: read the text once). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"

static const char *const titles[] = {
    "Add inventory transaction API", "Create GraphQL resolver for lot lookup",
    "Optimize the PostgreSQL database query for stock levels", "Move pricing business logic into the pricing service",
    "Publish a NATS event when a lot is received", "Inventory dashboard UI", "Add login form with validation",
    "Make the settings page responsive on mobile", "Create React component for lot labels",
    "Add migration for storage locations schema", "Add index on orders.created_at column",
    "ALTER TABLE lots ADD COLUMN expiry", "Update README with setup steps",
    "Write API docs for the transactions endpoint", "Fix production crash in lot creation",
    "Security vulnerability in login form (XSS)", "Checkout bug: totals wrong for customers in the EU",
    "Nice-to-have: dark mode toggle on the settings page", "Refactoring of event handlers",
    "Inventory transfer API and transfer page UI", "Code review feedback on warehouse list",
    "Serve index.html from the CDN", "Breaking change in the orders API for the v2 release",
    "User-facing error message on the payment page is wrong"};
static const char *const files[] = {"src/api/transactions.ts", "src/pages/inventory.tsx", "src/db/migrations/1.sql",
                                    "docs/guide.md", "src/components/Label.tsx"};
static const char *const criteria[] = {"POST /api/transactions endpoint works", "Tests pass with 80% coverage"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    classifier *c;
    char err[ERR_LEN];
    size_t nt = sizeof(titles) / sizeof(titles[0]);
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    volatile uint64_t sink = 0;
    double t0, t_base, t_cls;

    if (classify_create(&c, classify_default_rules, strlen(classify_default_rules), CL_BACKEND, NULL, err) != ORCH_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* baseline: read every byte of the same inputs once */
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        const char *s = titles[i % (long)nt];
        uint64_t h = 0;
        for (; *s; s++)
            h += (uint64_t)(*s | 0x20);
        for (int k = 0; k < 2; k++)
            for (const char *p = criteria[k]; *p; p++)
                h += (uint64_t)(*p | 0x20);
        sink += h;
    }
    t_base = now_s() - t0;
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        cl_input in;
        cl_result r;
        memset(&in, 0, sizeof(in));
        in.title = titles[i % (long)nt];
        in.criteria = criteria;
        in.n_criteria = 2;
        in.files = files + (i % 4);
        in.n_files = 1 + (size_t)(i % 2);
        classify_run(c, &in, &r);
        sink += (uint64_t)r.type;
    }
    t_cls = now_s() - t0;
    printf("classifier: %ld classifications in %.3f s = %.0f per second on one core\n", n, t_cls, n / t_cls);
    printf("baseline (one pass over the same bytes): %.0f per second\n", n / t_base);
    printf("ratio classifier / baseline speed: %.3f\n", t_base / t_cls);
    classify_destroy(c);
    return sink == 42 ? 2 : 0;
}
