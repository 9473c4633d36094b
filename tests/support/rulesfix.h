/* The monitor's rules as its settings table sets them by default, and a
 * lookup in what rules_eval() found: shared by the tests of the rules and of
 * the seen state that feeds them (tests/unit/test_rules.c, test_seen.c). */
#ifndef RULESFIX_H
#define RULESFIX_H

#include <stdio.h>
#include <string.h>

#include "rules.h"

#define MIN (60 * 1000LL)

/* The rules' settings as the monitor's settings table sets them by default. */
static inline void test_rules_cfg(rules_cfg *c)
{
    c->stale_ms = 120 * MIN;
    c->kill_ms = 240 * MIN;
    c->verifying_ms = 80 * MIN;
    c->queue_depth = 10;
    c->error_count = 5;
    c->error_window_ms = 15 * MIN;
    c->infra_count = 3;
    c->warn_percent = 80;
    c->service_grace_ms = 30000;
}

static inline int has_rule(const rules_condition *c, int n, const char *rule, const char *text)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(c[i].rule, rule) && (!text || strstr(c[i].text, text)))
            return 1;
    return 0;
}

#endif
