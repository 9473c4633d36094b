#include "budget.h"

#include <stdio.h>
#include <string.h>

/* An agent type's name, names.c's. */
static const char *type_name(int t) { return names_agent_type((Orchestrator__V1__AgentType)t); }

void budget_cfg_default(budget_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->limit[1] = BUDGET_DEF_BACKEND;
    c->limit[2] = BUDGET_DEF_FRONTEND;
    c->limit[3] = BUDGET_DEF_DATABASE;
    c->limit[4] = BUDGET_DEF_DOCUMENTATION;
    c->limit[5] = BUDGET_DEF_REVIEW;
    c->limit[6] = BUDGET_DEF_RELEASE;
    c->total_limit = BUDGET_DEF_TOTAL;
    c->conserve_percent = BUDGET_DEF_CONSERVE_PERCENT;
}

void budget_init(budget *b, const budget_cfg *c, const char *day)
{
    memset(b, 0, sizeof(*b));
    b->cfg = *c;
    snprintf(b->day, sizeof(b->day), "%s", day);
}

int budget_roll(budget *b, const char *day)
{
    if (strcmp(b->day, day) == 0)
        return 0;
    snprintf(b->day, sizeof(b->day), "%s", day);
    memset(b->used, 0, sizeof(b->used));
    memset(b->unattributed, 0, sizeof(b->unattributed));
    memset(b->cost_micro_usd, 0, sizeof(b->cost_micro_usd));
    b->used_total = 0;
    b->cost_micro_usd_total = 0;
    return 1;
}

static int valid(int t) { return t > 0 && t < BUDGET_TYPES; }

void budget_charge(budget *b, int type, uint64_t tokens)
{
    if (!valid(type))
        return;
    b->used[type] += tokens;
    b->used_total += tokens;
}

void budget_charge_cost(budget *b, int type, uint64_t micro_usd)
{
    if (!valid(type))
        return;
    b->cost_micro_usd[type] += micro_usd;
    b->cost_micro_usd_total += micro_usd;
}

void budget_reserve(budget *b, int type, uint64_t tokens)
{
    if (!valid(type))
        return;
    b->reserved[type] += tokens;
    b->reserved_total += tokens;
}

void budget_unreserve(budget *b, int type, uint64_t tokens)
{
    if (!valid(type))
        return;
    b->reserved[type] -= tokens < b->reserved[type] ? tokens : b->reserved[type];
    b->reserved_total -= tokens < b->reserved_total ? tokens : b->reserved_total;
}

static uint64_t left_of(uint64_t limit, uint64_t used, uint64_t reserved)
{
    return used + reserved >= limit ? 0 : limit - used - reserved;
}

/* Which dollar limit type has spent: 1 its own, 2 the total's, 0 none. */
static int usd_spent(const budget *b, int type)
{
    if (b->cfg.limit_usd[type] && b->cost_micro_usd[type] >= b->cfg.limit_usd[type] * 1000000ull)
        return 1;
    if (b->cfg.total_limit_usd && b->cost_micro_usd_total >= b->cfg.total_limit_usd * 1000000ull)
        return 2;
    return 0;
}

uint64_t budget_left(const budget *b, int type)
{
    uint64_t t, all;
    if (!valid(type) || usd_spent(b, type))
        return 0;
    t = left_of(b->cfg.limit[type], b->used[type], b->reserved[type]);
    all = budget_total_left(b);
    return t < all ? t : all;
}

uint64_t budget_total_left(const budget *b)
{
    return left_of(b->cfg.total_limit, b->used_total, b->reserved_total);
}

int budget_fits(const budget *b, int type, uint64_t estimate, char *why, size_t len)
{
    uint64_t left;
    int usd = valid(type) ? usd_spent(b, type) : 0;
    if (usd) {
        if (why)
            snprintf(why, len, "budget: %s spent $%.2f of its $%llu today",
                     usd == 1 ? type_name(type) : "the daily total",
                     (double)(usd == 1 ? b->cost_micro_usd[type] : b->cost_micro_usd_total) / 1e6,
                     usd == 1 ? b->cfg.limit_usd[type] : b->cfg.total_limit_usd);
        return 0;
    }
    left = budget_left(b, type);
    if (estimate <= left)
        return 1;
    if (why)
        snprintf(why, len, "budget: needs %llu tokens, %s has %llu left today", (unsigned long long)estimate,
                 left_of(b->cfg.limit[type], b->used[type], b->reserved[type]) <= budget_total_left(b)
                     ? type_name(valid(type) ? type : 0) : "the daily total",
                 (unsigned long long)left);
    return 0;
}

int budget_conservation(const budget *b, char *why, size_t len)
{
    if (b->used_total * 100 >= b->cfg.total_limit * (uint64_t)b->cfg.conserve_percent) {
        if (why)
            snprintf(why, len, "%llu of %llu daily tokens used (%lld%% or more)", (unsigned long long)b->used_total,
                     (unsigned long long)b->cfg.total_limit, b->cfg.conserve_percent);
        return 1;
    }
    if (b->cfg.total_limit_usd &&
        b->cost_micro_usd_total * 100 >= b->cfg.total_limit_usd * 1000000ull * (uint64_t)b->cfg.conserve_percent) {
        if (why)
            snprintf(why, len, "$%.2f of $%llu daily spent (%lld%% or more)", (double)b->cost_micro_usd_total / 1e6,
                     b->cfg.total_limit_usd, b->cfg.conserve_percent);
        return 1;
    }
    for (int t = 1; t < BUDGET_TYPES; t++) {
        if (b->used[t] > b->cfg.limit[t]) {
            if (why)
                snprintf(why, len, "%s is over its budget (%llu of %llu)", type_name(t),
                         (unsigned long long)b->used[t], (unsigned long long)b->cfg.limit[t]);
            return 1;
        }
        if (b->cfg.limit_usd[t] && b->cost_micro_usd[t] >= b->cfg.limit_usd[t] * 1000000ull) {
            if (why)
                snprintf(why, len, "%s spent its budget ($%.2f of $%llu)", type_name(t),
                         (double)b->cost_micro_usd[t] / 1e6, b->cfg.limit_usd[t]);
            return 1;
        }
    }
    return 0;
}

int budget_quiet(int minute, int start, int end)
{
    if (start == end)
        return 0;
    if (start < end)
        return minute >= start && minute < end;
    return minute >= start || minute < end;
}
