/* The day's token ledger: what each report may charge, to whom, and when
 * the day's figures put the scheduler in conservation mode.
 *
 * Tokens. A result carries the total an attempt used; heartbeats carry what
 * was used since the last one. Each attempt records what was charged, and
 * only the increase is charged again, so redelivered results never count
 * twice; heartbeats count only until the attempt's result is in, and those
 * of work no longer in flight not at all (the result counted them). Every
 * charge is also recorded in the requirement's state for the day, so a
 * restarted leader rebuilds the day's ledger from the states it reads
 * (ledger_restore_state).
 *
 * Bounded charges. What one report can put on the day's ledger is bounded
 * relative to the work's token budget (work_budget: token_budget, else
 * estimate x budget_factor_percent, else the type's daily limit): one
 * heartbeat at most charge_message_percent of it, one attempt in all (and
 * one review) at most charge_attempt_percent of it; an idle instance's
 * unattributed use at most idle_day_percent of its type's daily limit per
 * day. A claim beyond a bound is not charged: it is refused
 * (charge_over_bound) and alerted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_int.h"

void ledger_init(struct sched_ledger *l, const budget_cfg *c, const char *day)
{
    l->idle_index = strmap_create();
    budget_init(&l->b, c, day);
}

void ledger_free(struct sched_ledger *l)
{
    strmap_destroy(l->idle_index);
    free(l->idle_used);
}

void ledger_check_conservation(sched *s, const sched_clock *now)
{
    char why[256];
    int c = budget_conservation(&s->led.b, why, sizeof(why));
    if (c && !s->led.conserving && s->out.alert) {
        char text[400];
        snprintf(text, sizeof(text), "Token conservation mode: %s. No spawns, LOW work held back, small work "
                 "released with a cheaper model.", why);
        s->out.alert(s->out.ctx, "warning", "conservation", now->day, text);
    }
    s->led.conserving = c;
}

/* The day's ledger of type and the total, out after a change. */
static void ledger_out(sched *s, int type)
{
    if (s->out.budget) {
        s->out.budget(s->out.ctx, &s->led.b, type);
        s->out.budget(s->out.ctx, &s->led.b, 0);
    }
}

static void charge(sched *s, int type, uint64_t tokens, const sched_clock *now)
{
    if (!tokens)
        return;
    budget_roll(&s->led.b, now->day);
    budget_charge(&s->led.b, type, tokens);
    ledger_out(s, type);
    ledger_check_conservation(s, now);
}

/* A report's cost, on the day's ledger of the type that reported it. */
void ledger_charge_cost(sched *s, int type, uint64_t micro_usd, const sched_clock *now)
{
    if (!micro_usd)
        return;
    budget_roll(&s->led.b, now->day);
    budget_charge_cost(&s->led.b, type, micro_usd);
    ledger_out(s, type);
    ledger_check_conservation(s, now); /* a dollar limit too */
}

/* Charges tokens spent on st's behalf to type, and records them in st for
 * the day, which is where a restarted leader counts them from. */
static void charge_for(sched *s, pb_state *st, int type, uint64_t tokens, const sched_clock *now)
{
    if (!tokens)
        return;
    if (strcmp(st->charged_day, now->day) != 0) {
        pb_set_str(&st->charged_day, now->day);
        st->charged_day_own = 0;
        st->charged_day_review = 0;
    }
    if (type == T_REVIEW && type_of(st) != type)
        st->charged_day_review += tokens;
    else
        st->charged_day_own += tokens;
    charge(s, type, tokens, now);
}

/* The slot of an attempt (1-based) in a per-attempt array, grown as needed. */
static uint64_t *attempt_slot(uint64_t **a, size_t *n, unsigned attempt)
{
    size_t i = attempt ? attempt - 1 : 0;
    if (i >= *n) {
        *a = xrealloc(*a, sizeof(uint64_t) * (i + 1));
        memset(*a + *n, 0, sizeof(uint64_t) * (i + 1 - *n));
        *n = i + 1;
    }
    return &(*a)[i];
}

uint64_t *ledger_charged_slot(pb_state *st, unsigned attempt)
{
    return attempt_slot(&st->charged_by_attempt, &st->n_charged_by_attempt, attempt);
}

uint64_t *ledger_cost_slot(pb_state *st, unsigned attempt)
{
    return attempt_slot(&st->cost_by_attempt, &st->n_cost_by_attempt, attempt);
}

/* A charge beyond its bound: refused and alerted, not charged. */
static void over_bound(sched *s, const sched_from *from, const char *key, const char *text)
{
    sched_refuse(s, from, key, "charge_over_bound", text);
    if (s->out.alert)
        s->out.alert(s->out.ctx, "warning", "charge_over_bound", key, text);
}

/* What the work of st may cost, the yardstick of the bounds (see the top):
 * its own budget, or what work of its type and size was seen to use once
 * learned, whichever is more (an honest run dearer than the estimate is
 * not refused once such runs were seen). */
static uint64_t work_budget(const sched *s, const pb_state *st)
{
    uint64_t b = st->requirement->token_budget, seen = 0;
    if (!b)
        b = st->requirement->estimated_tokens * (uint64_t)s->cfg.budget_factor_percent / 100;
    if (!b)
        b = s->cfg.budget.limit[type_of(st)];
    if (learn_tokens(&s->rk.lrn, type_of(st), (int)st->requirement->complexity, &seen) &&
        seen * (uint64_t)s->cfg.budget_factor_percent / 100 > b)
        b = seen * (uint64_t)s->cfg.budget_factor_percent / 100;
    return b;
}

/* An attempt's cost in dollars: the increase over what was charged. */
static int charge_attempt_cost(sched *s, pb_state *st, unsigned attempt, uint64_t total_micro,
                               const sched_clock *now)
{
    uint64_t *charged = ledger_cost_slot(st, attempt);
    if (total_micro <= *charged)
        return 0;
    st->cost_micro_usd += total_micro - *charged;
    ledger_charge_cost(s, type_of(st), total_micro - *charged, now);
    *charged = total_micro;
    return 1;
}

void ledger_since_retry(const pb_state *st, uint64_t *tokens, uint64_t *micro_usd)
{
    *tokens = *micro_usd = 0;
    for (size_t i = st->attempt_base; i < st->n_charged_by_attempt; i++)
        *tokens += st->charged_by_attempt[i];
    for (size_t i = st->attempt_base; i < st->n_cost_by_attempt; i++)
        *micro_usd += st->cost_by_attempt[i];
}

int ledger_charge_attempt(sched *s, pb_state *st, unsigned attempt, uint64_t total_for_attempt,
                          uint64_t cost_for_attempt, const sched_from *from, const sched_clock *now)
{
    uint64_t *charged = ledger_charged_slot(st, attempt);
    uint64_t cap = work_budget(s, st) * (uint64_t)s->cfg.charge_attempt_percent / 100;
    if (total_for_attempt <= *charged)
        return charge_attempt_cost(s, st, attempt, cost_for_attempt, now);
    if (total_for_attempt > cap) {
        char text[400];
        snprintf(text, sizeof(text), "%s attempt %u: %llu tokens claimed in all, more than one attempt may cost "
                 "(%llu: %lld%% of its token budget); not charged", st->id, attempt,
                 (unsigned long long)total_for_attempt, (unsigned long long)cap, s->cfg.charge_attempt_percent);
        over_bound(s, from, st->id, text);
        return -1;
    }
    uint64_t delta = total_for_attempt - *charged;
    *charged = total_for_attempt;
    st->tokens_used += delta;
    /* What is spent no longer needs reserving. */
    if (attempt == st->attempt && st->reserved_tokens) {
        uint64_t r = delta < st->reserved_tokens ? delta : st->reserved_tokens;
        budget_unreserve(&s->led.b, type_of(st), r);
        st->reserved_tokens -= r;
    }
    charge_for(s, st, type_of(st), delta, now);
    charge_attempt_cost(s, st, attempt, cost_for_attempt, now);
    return 1;
}

void ledger_charge_review(sched *s, pb_state *st, uint64_t tokens, uint64_t micro_usd, const sched_from *from,
                          const sched_clock *now)
{
    /* A review reports its whole attempt at once: the attempt's bound. */
    uint64_t cap = work_budget(s, st) * (uint64_t)s->cfg.charge_attempt_percent / 100;
    if (tokens > cap) {
        char text[400];
        snprintf(text, sizeof(text), "%s review: %llu tokens claimed, more than one review may cost (%llu: %lld%% "
                 "of the work's token budget); not charged", st->id, (unsigned long long)tokens,
                 (unsigned long long)cap, s->cfg.charge_attempt_percent);
        over_bound(s, from, st->id, text);
    } else {
        charge_for(s, st, T_REVIEW, tokens, now);
    }
    ledger_charge_cost(s, T_REVIEW, micro_usd, now);
}

void ledger_charge_heartbeat(sched *s, pb_state *st, const char *instance, uint64_t tokens, uint64_t micro_usd,
                             const sched_from *from, const sched_clock *now)
{
    uint64_t cap = work_budget(s, st) * (uint64_t)s->cfg.charge_message_percent / 100;
    if (tokens > cap) {
        char text[400];
        snprintf(text, sizeof(text), "%s: a heartbeat of %s claimed %llu tokens, more than one report may "
                 "charge (%llu: %lld%% of its token budget); not charged", st->id, instance,
                 (unsigned long long)tokens, (unsigned long long)cap, s->cfg.charge_message_percent);
        over_bound(s, from, st->id, text);
    } else {
        ledger_charge_attempt(s, st, st->attempt, *ledger_charged_slot(st, st->attempt) + tokens,
                              *ledger_cost_slot(st, st->attempt) + micro_usd, from, now);
    }
}

/* An idle instance's use: charged to its type as unattributed, up to its
 * bound for the day. */
admit_code ledger_idle_use(sched *s, int type, const char *instance, uint64_t tokens, const sched_from *from,
                           const sched_clock *now)
{
    struct sched_ledger *l = &s->led;
    char key[160], text[400];
    uint64_t cap, *used = NULL;
    int k;

    if (!tokens)
        return ADMIT_OK;
    if (type <= 0 || type >= NT) {
        sched_refuse(s, from, instance, admit_reason(ADMIT_WRONG_TYPE), "the heartbeat's subject names no agent type");
        return ADMIT_WRONG_TYPE;
    }
    if (strcmp(l->idle_day, now->day) != 0) {
        strmap_destroy(l->idle_index);
        l->idle_index = strmap_create();
        l->n_idle = 0;
        snprintf(l->idle_day, sizeof(l->idle_day), "%s", now->day);
    }
    snprintf(key, sizeof(key), "%s.%s", type_tok(type), instance);
    if (strmap_get(l->idle_index, key, &k)) {
        used = &l->idle_used[k];
    } else if (l->n_idle < IDLE_INSTANCES_MAX) {
        if (l->n_idle == l->cap_idle) {
            l->cap_idle = l->cap_idle ? l->cap_idle * 2 : 64;
            l->idle_used = xrealloc(l->idle_used, sizeof(uint64_t) * (size_t)l->cap_idle);
        }
        k = l->n_idle++;
        l->idle_used[k] = 0;
        strmap_put(l->idle_index, key, k);
        used = &l->idle_used[k];
    }
    cap = s->cfg.budget.limit[type] * (uint64_t)s->cfg.idle_day_percent / 100;
    if (!used || tokens > cap || *used + tokens > cap) {
        snprintf(text, sizeof(text), "%s instance %s, working on nothing, claimed %llu tokens (%llu today before); "
                 "an idle instance may use %llu a day (%lld%% of the %s limit): not charged", type_tok(type), instance,
                 (unsigned long long)tokens, (unsigned long long)(used ? *used : 0), (unsigned long long)cap,
                 s->cfg.idle_day_percent, type_tok(type));
        over_bound(s, from, instance, text);
        return ADMIT_OK;
    }
    *used += tokens;
    budget_roll(&l->b, now->day);
    l->b.unattributed[type] += tokens;
    charge(s, type, tokens, now);
    return ADMIT_OK;
}

void ledger_restore_state(sched *s, const pb_state *st)
{
    budget *b = &s->led.b;
    if (!strcmp(st->charged_day, b->day)) { /* today's charges travel with the state */
        int own = type_of(st);
        b->used[own] += st->charged_day_own;
        b->used[T_REVIEW] += st->charged_day_review;
        b->used_total += st->charged_day_own + st->charged_day_review;
    }
}

int ledger_restore_bounded(const sched *s, const pb_state *st, char why[ERR_LEN])
{
    uint64_t cap = work_budget(s, st) * (uint64_t)s->cfg.charge_attempt_percent / 100;
    uint64_t attempts = st->attempt ? st->attempt : 1;
    if (strcmp(st->charged_day, s->led.b.day) != 0)
        return 0; /* another day's: not counted */
    if (st->charged_day_own > cap * attempts || st->charged_day_review > cap * attempts) {
        snprintf(why, ERR_LEN, "it says %llu tokens (and %llu for reviews) were charged today, more than %llu "
                 "attempt(s) may cost (%llu each)", (unsigned long long)st->charged_day_own,
                 (unsigned long long)st->charged_day_review, (unsigned long long)attempts, (unsigned long long)cap);
        return -1;
    }
    return 0;
}

int sched_restore_budget(sched *s, const char *day, int type, uint64_t unattributed, uint64_t cost_micro_usd,
                         char why[ERR_LEN])
{
    budget *b = &s->led.b;
    *why = '\0';
    if (strcmp(day, b->day) != 0 || type <= 0 || type >= NT)
        return 0;
    /* Unattributed use comes only from idle instances' charges, each
     * bounded; a figure past the type's whole daily limit is no sum of
     * them that the ledger would have taken: refused, as a charge past its
     * bound is, and the rest of the day's figures restored. */
    if (unattributed > s->cfg.budget.limit[type]) {
        snprintf(why, ERR_LEN, "%s unattributed use of %llu tokens on %s is more than its whole daily limit (%llu): "
                 "not restored", type_tok(type), (unsigned long long)unattributed, day,
                 (unsigned long long)s->cfg.budget.limit[type]);
        if (s->out.alert)
            s->out.alert(s->out.ctx, "warning", "charge_over_bound", type_tok(type), why);
        unattributed = 0;
    }
    b->unattributed[type] = unattributed;
    b->used[type] += unattributed;
    b->used_total += unattributed;
    b->cost_micro_usd_total += cost_micro_usd - b->cost_micro_usd[type];
    b->cost_micro_usd[type] = cost_micro_usd;
    return *why ? -1 : 0;
}

const budget *sched_budget(const sched *s) { return &s->led.b; }
int sched_conservation(const sched *s) { return s->led.conserving; }
