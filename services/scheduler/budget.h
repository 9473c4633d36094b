/* Daily token budgets per agent type and in total.
 *
 * Used tokens are charged as agents report them; in-flight work also holds a
 * reservation of what it is expected to still spend, so that releasing work
 * never promises more than the day has left. A new day (the caller passes
 * the day key in the configured time zone) resets what was used, not the
 * reservations of work still in flight. Pure: the caller passes the day and
 * the minute of the day. */
#ifndef SCHED_BUDGET_H
#define SCHED_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "names.h"

#define BUDGET_TYPES NAMES_AGENT_TYPES   /* index = agent type; 0 unused */

/* The seed's table, the defaults of the budget.* settings (the daemon's
 * settings table writes straight into budget_cfg: CFG_INT is long long,
 * hence the types). */
#define BUDGET_DEF_TOTAL 1000000
#define BUDGET_DEF_BACKEND 300000
#define BUDGET_DEF_FRONTEND 300000
#define BUDGET_DEF_DATABASE 100000
#define BUDGET_DEF_DOCUMENTATION 50000
#define BUDGET_DEF_REVIEW 150000
#define BUDGET_DEF_RELEASE 50000
#define BUDGET_DEF_CONSERVE_PERCENT 80

typedef struct {
    unsigned long long limit[BUDGET_TYPES];
    unsigned long long total_limit;
    long long conserve_percent;   /* of the total: conservation mode from here */
    /* Daily limits in whole US dollars, per type and in total; 0: none. The
     * same rules as the tokens': conservation at conserve_percent of the
     * total, nothing released once a limit is spent. */
    unsigned long long limit_usd[BUDGET_TYPES];
    unsigned long long total_limit_usd;
} budget_cfg;

typedef struct {
    budget_cfg cfg;
    char day[16];
    uint64_t used[BUDGET_TYPES], used_total;
    uint64_t unattributed[BUDGET_TYPES];   /* of used: charged to no requirement */
    uint64_t reserved[BUDGET_TYPES], reserved_total;
    /* What agents said the day's work cost, in millionths of a US dollar:
     * kept beside the tokens, limits nothing. */
    uint64_t cost_micro_usd[BUDGET_TYPES], cost_micro_usd_total;
} budget;

/* The seed's table: backend 300k, frontend 300k, database 100k,
 * documentation 50k, review 150k, release 50k; 1,000,000 in total; 80%. */
void budget_cfg_default(budget_cfg *c);

void budget_init(budget *b, const budget_cfg *c, const char *day);

/* Starts a new day when day differs; returns 1 when it did. */
int budget_roll(budget *b, const char *day);

void budget_charge(budget *b, int type, uint64_t tokens);
/* Adds a reported cost (millionths of a US dollar) to type and the day. */
void budget_charge_cost(budget *b, int type, uint64_t micro_usd);
void budget_reserve(budget *b, int type, uint64_t tokens);
void budget_unreserve(budget *b, int type, uint64_t tokens);

/* What type may still promise: its limit and the total's, less used and
 * reserved (0 once a dollar limit of it or of the total is spent). */
uint64_t budget_left(const budget *b, int type);
uint64_t budget_total_left(const budget *b);

/* 1 when an estimate fits what type has left in tokens and a dollar limit
 * of it or of the total is not spent; else 0 and why in buf. */
int budget_fits(const budget *b, int type, uint64_t estimate, char *why, size_t len);

/* 1 in conservation mode (total used at conserve_percent, or a type over its
 * own limit, in tokens or in dollars), with the cause in buf. */
int budget_conservation(const budget *b, char *why, size_t len);

/* 1 when minute (0..1439) lies in [start, end), a window that may wrap
 * midnight (22:00-06:00 is start 1320, end 360). start == end: never. */
int budget_quiet(int minute, int start, int end);

#endif
