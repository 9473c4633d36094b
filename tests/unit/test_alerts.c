/* The alert manager: group wait, repeat, resolution, severity upgrades,
 * silences and persistence (services/monitor/alerts.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alerts.h"
#include "text.h"

static rules_condition cond(const char *rule, const char *id, const char *group, int sev)
{
    rules_condition c;
    memset(&c, 0, sizeof(c));
    snprintf(c.rule, sizeof(c.rule), "%s", rule);
    snprintf(c.group, sizeof(c.group), "%s", group);
    snprintf(c.keys[0], sizeof(c.keys[0]), "id");
    snprintf(c.values[0], sizeof(c.values[0]), "%s", id);
    c.nlabels = 1;
    c.severity = sev;
    snprintf(c.text, sizeof(c.text), "%s is %s", id, rule);
    return c;
}

static void alerts_group_repeat_and_resolve_once(void **state)
{
    am_cfg cfg = {30000, 4 * 3600 * 1000LL};
    am *m = am_create(&cfg);
    am_notification n[8];
    rules_condition c[3] = {cond("stale", "A", "stale", 2), cond("stale", "B", "stale", 2),
                            cond("queue_depth", "Q", "queues", 2)};
    char id_first[64];
    (void)state;
    am_observe(m, c, 2, 0);
    assert_int_equal(am_due(m, 10000, n, 8), 0);      /* group wait */
    am_observe(m, c, 3, 20000);
    assert_int_equal(am_due(m, 30000, n, 8), 1);      /* A and B together */
    assert_int_equal(n[0].nmembers, 2);
    assert_false(n[0].resolved);
    assert_non_null(strstr(n[0].text, "A is stale"));
    assert_non_null(strstr(n[0].text, "B is stale"));
    snprintf(id_first, sizeof(id_first), "%s", n[0].id);
    assert_int_equal(am_due(m, 40000, n, 8), 0);
    assert_int_equal(am_due(m, 50000, n, 8), 1);      /* Q after its own wait */
    assert_int_equal(n[0].nmembers, 1);
    assert_string_equal(n[0].kind, "queue_depth");
    /* A goes away: one resolution, once */
    am_observe(m, c + 1, 2, 60000);
    assert_int_equal(am_due(m, 60000, n, 8), 1);
    assert_true(n[0].resolved);
    assert_string_equal(n[0].members[0], "stale{id=A}");
    assert_int_equal(am_due(m, 61000, n, 8), 0);
    /* B still firing: repeated after 4 h, not before */
    am_observe(m, c + 1, 2, 3 * 3600 * 1000LL);
    assert_int_equal(am_due(m, 3 * 3600 * 1000LL, n, 8), 0);
    assert_int_equal(am_due(m, 30000 + 4 * 3600 * 1000LL, n, 8), 1);
    assert_string_equal(n[0].members[0], "stale{id=B}");
    assert_int_equal(n[0].id[0], 'P');
    am_destroy(m);

    /* the same history gives the same notification ids (dedupe after a crash) */
    m = am_create(&cfg);
    am_observe(m, c, 2, 0);
    am_observe(m, c, 3, 20000);
    assert_int_equal(am_due(m, 30000, n, 8), 1);
    assert_string_equal(n[0].id, id_first);
    am_destroy(m);
}

static void alerts_resolved_before_announced_are_quiet(void **state)
{
    am_cfg cfg = {30000, 3600000};
    am *m = am_create(&cfg);
    am_notification n[4];
    rules_condition c = cond("stale", "A", "stale", 2);
    (void)state;
    am_observe(m, &c, 1, 0);
    am_observe(m, NULL, 0, 10000);
    assert_int_equal(am_due(m, 40000, n, 4), 0);
    am_destroy(m);
}

static void silences_suppress_and_expire(void **state)
{
    am_cfg cfg = {0, 3600000};
    am *m = am_create(&cfg);
    am_notification n[4];
    rules_condition c[2] = {cond("stale", "A", "stale", 2), cond("queue_depth", "Q", "queues", 2)};
    char id[32], *saved;
    am *back;
    (void)state;
    assert_int_equal(am_silence(m, "rule=stale,id=A", 60000, "known", id, sizeof(id)), 0);
    assert_int_equal(am_silence(m, "nonsense", 60000, "", id, sizeof(id)), -1);
    am_observe(m, c, 2, 1000);
    assert_int_equal(am_due(m, 1000, n, 4), 1);
    assert_string_equal(n[0].kind, "queue_depth");
    assert_int_equal(am_silences(m, 1000), 1);
    /* persisted and restored */
    saved = am_save(m);
    back = am_create(&cfg);
    assert_int_equal(am_load(back, saved), 0);
    free(saved);
    assert_int_equal(am_firing(back), 2);
    assert_int_equal(am_due(back, 2000, n, 4), 0);   /* Q already announced, A silenced */
    assert_int_equal(am_due(back, 61000, n, 4), 1);  /* the silence expired */
    assert_string_equal(n[0].members[0], "stale{id=A}");
    assert_int_equal(am_unsilence(back, "S1"), 0);
    assert_int_equal(am_unsilence(back, "S9"), -1);
    am_destroy(back);
    am_destroy(m);
}

/* A stored state is read like input: a severity that is none of the
 * proto's is not used as an index (it read past the table of names). */
static void a_stored_severity_out_of_range_is_not_trusted(void **state)
{
    am_cfg cfg = {0, 3600000};
    am *m = am_create(&cfg), *back = am_create(&cfg);
    am_notification n[4];
    rules_condition c = cond("stale", "A", "stale", 2);
    char *saved, *bent, *p;
    (void)state;
    am_observe(m, &c, 1, 1000);
    saved = am_save(m);
    assert_non_null(p = strstr(saved, "\"severity\":2"));
    bent = xmalloc(strlen(saved) + 16);
    snprintf(bent, strlen(saved) + 16, "%.*s\"severity\":70000%s", (int)(p - saved), saved,
             p + strlen("\"severity\":2"));
    assert_int_equal(am_load(back, bent), 0);
    assert_int_equal(am_due(back, 2000, n, 4), 1);
    assert_int_equal(n[0].severity, ORCHESTRATOR__V1__SEVERITY__SEVERITY_UNSPECIFIED);
    assert_non_null(strstr(n[0].summary, "stale"));
    free(bent);
    free(saved);
    am_destroy(back);
    am_destroy(m);
}

static void alerts_severity_upgrade_is_announced_and_partial_views_resolve_nothing(void **state)
{
    am_cfg cfg = {0, 4 * 3600 * 1000LL};
    am *m = am_create(&cfg);
    am_notification n[4];
    rules_condition c = cond("budget", "total", "budget", 2);
    (void)state;
    am_observe(m, &c, 1, 500);
    assert_int_equal(am_due(m, 500, n, 4), 1);
    assert_int_equal(n[0].severity, 2);
    am_observe(m, &c, 1, 1000);
    assert_int_equal(am_due(m, 1000, n, 4), 0);
    c.severity = 3; /* past 100% */
    am_observe(m, &c, 1, 2000);
    assert_int_equal(am_due(m, 2000, n, 4), 1);
    assert_int_equal(n[0].severity, 3);
    assert_false(n[0].resolved);
    assert_int_equal(am_due(m, 3000, n, 4), 0);
    /* just after a restart nothing is known: not resolved */
    am_observe_partial(m, NULL, 0, 4000);
    assert_int_equal(am_due(m, 4000, n, 4), 0);
    assert_int_equal(am_firing(m), 1);
    am_observe(m, NULL, 0, 5000);
    assert_int_equal(am_due(m, 5000, n, 4), 1);
    assert_true(n[0].resolved);
    am_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alerts_group_repeat_and_resolve_once),
        cmocka_unit_test(alerts_resolved_before_announced_are_quiet),
        cmocka_unit_test(silences_suppress_and_expire),
        cmocka_unit_test(a_stored_severity_out_of_range_is_not_trusted),
        cmocka_unit_test(alerts_severity_upgrade_is_announced_and_partial_views_resolve_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
