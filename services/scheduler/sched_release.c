/* Release: which ready requirement goes to an agent next, and why each of
 * the others waits; dispatch, the work in flight, and spawns.
 *
 * Ready work waits in one heap per agent type and priority, ordered by
 * upward rank (the longest chain of expected work from it to the end of the
 * roadmap: rank.c, keys kept by sched_forecast.c), then by arrival. A
 * release pass for a type takes CRITICAL before HIGH before MEDIUM before
 * LOW, in that order within each. A priority's queue is looked at only
 * while the type's window of released-but-not-started work has room
 * (window_now; CRITICAL work counts only the CRITICAL slots, so it
 * overtakes everything). Then each item goes through the gates, in this
 * order, and is released when all let it go:
 *   gate_paused        no pause holds its project (a pause of its type or
 *                      of everything holds the whole pass: sched_people.c);
 *   gate_backoff       no backoff is pending;
 *   gate_conservation  LOW work is not held back by conservation mode;
 *   gate_budget        its estimate fits the day's budget;
 *   gate_overlap       its files do not overlap in-flight work by more than
 *                      the threshold;
 *   gate_reserve       (rank order with reservations) no agent of its type
 *                      is kept for more urgent work about to be ready
 *                      (reserve.h).
 * An item a gate stops keeps the exact reason it waits (sched_reason: a
 * WaitKind and its prose) and stays queued. Passes run on every event that
 * can free something (continuous mode), or only at turn boundaries (turns
 * mode: between turns, queued work says when its type's next turn is).
 *
 * Dispatch is recorded before it is published (save, then dispatch, then
 * save "published"), with a message id of id + attempt, so a restarted
 * leader re-publishes what it had decided and JetStream drops the copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "hash.h"
#include "sched_int.h"

/* --- turns ------------------------------------------------------------------- */

int sched_turn_due(const sched_cfg *c, int type, int minute)
{
    int off = type > 0 && type < NT ? c->turn_offset[type] : 0;
    if (c->turn_minutes <= 0 || minute < off)
        return 0;
    return (minute - off) % c->turn_minutes == 0;
}

int sched_turn_next(const sched_cfg *c, int type, int minute)
{
    int off = type > 0 && type < NT ? c->turn_offset[type] : 0, m;
    if (c->turn_minutes <= 0)
        return -1;
    /* the cycle that holds minute, then the next one; a day's last cycle
     * may be cut short by midnight, where the cycles start again */
    m = (minute / c->turn_minutes) * c->turn_minutes + off;
    if (m <= minute)
        m += c->turn_minutes;
    if (m >= 1440)
        m = 1440 + off;
    return m;
}

/* --- the queues and the flight ---------------------------------------------------- */

/* Release order within a priority: the larger key, then the older. */
static int goes_first(const sched *s, int a, int b)
{
    if (s->rk.key[a] != s->rk.key[b])
        return s->rk.key[a] > s->rk.key[b];
    return s->e[a]->order < s->e[b]->order;
}

static int ready_first(const void *ctx, int a, int b) { return goes_first(ctx, a, b); }

void release_init(struct sched_release *r, sched *s)
{
    r->ov = overlap_create();
    r->last_turn_minute = -1;
    for (int t = 0; t < NT; t++)
        for (int p = 0; p < NP; p++)
            iheap_init(&r->q[t][p], ready_first, s);
}

void release_free(struct sched_release *r)
{
    free(r->started_ms);
    free(r->flight);
    free(r->flight_pos);
    reserve_free(&r->rsv);
    for (int t = 0; t < NT; t++)
        for (int p = 0; p < NP; p++)
            iheap_free(&r->q[t][p]);
    overlap_destroy(r->ov);
}

void release_grow(struct sched_release *r, int cap)
{
    r->started_ms = xrealloc(r->started_ms, sizeof(*r->started_ms) * (size_t)cap);
    r->flight = xrealloc(r->flight, sizeof(*r->flight) * (size_t)cap);
    r->flight_pos = xrealloc(r->flight_pos, sizeof(*r->flight_pos) * (size_t)cap);
}

void release_new_entry(struct sched_release *r, int i)
{
    r->started_ms[i] = 0;
    r->flight_pos[i] = -1;
}

void release_push(sched *s, int i)
{
    const pb_state *st = s->e[i];
    iheap_push(&s->rel.q[type_of(st)][prio_of(st)], i);
}

/* The files a requirement holds while in flight: what the verifier saw it
 * touch, once known; before that, what it declared. */
static void files_of(const pb_state *st, const char *const **v, int *n)
{
    if (st->n_actual_files) {
        *v = (const char *const *)st->actual_files;
        *n = (int)st->n_actual_files;
    } else {
        *v = (const char *const *)st->requirement->files;
        *n = (int)st->requirement->n_files;
    }
}

void release_enter_flight(sched *s, int i)
{
    struct sched_release *r = &s->rel;
    pb_state *st = s->e[i];
    const char *const *f;
    int nf;
    files_of(st, &f, &nf);
    overlap_set(r->ov, i, f, nf);
    if (r->flight_pos[i] < 0) {
        r->flight_pos[i] = r->nflight;
        r->flight[r->nflight++] = i;
    }
    if (!st->started) {
        r->window_used[type_of(st)]++;
        if (prio_of(st) == P_CRIT)
            r->window_crit[type_of(st)]++;
    }
}

/* st no longer holds a slot of its type's window. */
static void window_free(sched *s, const pb_state *st)
{
    struct sched_release *r = &s->rel;
    if (r->window_used[type_of(st)] > 0)
        r->window_used[type_of(st)]--;
    if (prio_of(st) == P_CRIT && r->window_crit[type_of(st)] > 0)
        r->window_crit[type_of(st)]--;
}

void release_verified(sched *s, int i)
{
    pb_state *st = s->e[i];
    if ((st->status == ST_DISPATCHED || st->status == ST_VERIFYING) && !st->started)
        window_free(s, st);
    budget_unreserve(&s->led.b, type_of(st), st->reserved_tokens);
    st->reserved_tokens = 0;
}

void release_leave_flight(sched *s, int i)
{
    struct sched_release *r = &s->rel;
    pb_state *st = s->e[i];
    int at = r->flight_pos[i];
    overlap_clear(r->ov, i);
    if (at >= 0) {
        r->flight[at] = r->flight[--r->nflight];
        r->flight_pos[r->flight[at]] = at;
        r->flight_pos[i] = -1;
    }
    if ((st->status == ST_DISPATCHED || st->status == ST_VERIFYING) && !st->started)
        window_free(s, st);
    budget_unreserve(&s->led.b, type_of(st), st->reserved_tokens);
    st->reserved_tokens = 0;
}

/* When the current attempt started: the first activity seen, else its
 * dispatch. */
int64_t release_started_at(const sched *s, const pb_state *st)
{
    int i = sched_entry_of(s, st->id);
    return i >= 0 && s->rel.started_ms[i] >= st->dispatched_at_ms ? s->rel.started_ms[i] : st->dispatched_at_ms;
}

void release_mark_started(sched *s, pb_state *st, const sched_clock *now)
{
    if (st->status == ST_DISPATCHED && !st->started) {
        int i = sched_entry_of(s, st->id);
        if (i >= 0)
            s->rel.started_ms[i] = now->now_ms;
        st->started = 1;
        window_free(s, st);
    }
}

/* Exponential with jitter (common/backoff.h): base doubled for each further
 * n, up to the maximum, and drawn from the upper half of that step by a hash
 * of the id and n, not by rand(): the core stays a function of its inputs
 * (a new leader, a replay and a test compute the same time), while work that
 * failed together, in an outage of the model's API say, comes back spread
 * over the step instead of all at once. */
int64_t release_backoff(const sched *s, const char *id, unsigned n)
{
    uint64_t h = hash_fnv1a64_more(hash_fnv1a64_str(HASH_FNV1A64_INIT, id), &n, sizeof(n));
    return backoff_ms(s->cfg.backoff_base_ms, s->cfg.backoff_max_ms, n, (uint32_t)(h ^ (h >> 32)));
}

/* --- the window ------------------------------------------------------------------ */

/* HH:MM:SS of the configured day at ms from now (the clock's minute is in
 * the configured time zone, whole minutes off UTC). */
static void clock_at(const sched_clock *now, int64_t ms, char *buf, size_t len)
{
    int64_t sec = now->minute * 60LL + (now->now_ms / 1000) % 60 + (ms > 0 ? (ms + 999) / 1000 : 0);
    sec %= 86400;
    snprintf(buf, len, "%02d:%02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
}

/* Type t's agents alive (forecast_agents_alive) and how many of them have
 * work released to them, started or not (DISPATCHED work of type t). */
static void agents_busy(const sched *s, int t, const sched_clock *now, int *agents, int *busy)
{
    *agents = forecast_agents_alive(s, t, now);
    *busy = 0;
    for (int k = 0; k < s->rel.nflight; k++) {
        const pb_state *st = s->e[s->rel.flight[k]];
        if (st && st->status == ST_DISPATCHED && type_of(st) == t)
            (*busy)++;
    }
}

/* The type's window now: scheduler.window, and no more than its agents
 * alive without work can take. Work released to a type sits in its
 * consumer in the order it was released, and an agent takes the oldest: a
 * MEDIUM requirement released ahead of time, for an agent not free yet,
 * would be taken before a CRITICAL one released after it. So HIGH, MEDIUM
 * and LOW work is released only for an agent free to take it now (the
 * agents alive less the work released to them, started or not), and what
 * goes next is chosen when an agent is free, not before (docs/scheduler.md).
 * CRITICAL work keeps the whole window; with no agent of the type seen, so
 * does everything (work waits for the agents a spawn brings). */
static long long window_now(const sched *s, int t, int p, const sched_clock *now)
{
    int agents, busy;
    long long limit;
    if (p == P_CRIT)
        return s->cfg.window;
    agents_busy(s, t, now, &agents, &busy);
    if (agents == 0)
        return s->cfg.window;
    limit = s->rel.window_used[t] + (agents > busy ? agents - busy : 0);
    return limit < s->cfg.window ? limit : s->cfg.window;
}

/* The window's wording for ready work of type t and priority p (CRITICAL
 * work counts only the CRITICAL slots). */
static void window_text(const sched *s, int t, int p, long long limit, const sched_clock *now, char *buf,
                        size_t len)
{
    int crit = p == P_CRIT, agents, busy;
    if (!crit && limit < s->cfg.window) {
        agents_busy(s, t, now, &agents, &busy);
        snprintf(buf, len, "window: every %s agent has work (%d released to %d alive); the next goes when one is free",
                 type_tok(t), busy, agents);
        return;
    }
    snprintf(buf, len, "window: %d of %lld %s%s release slots taken", crit ? s->rel.window_crit[t] : s->rel.window_used[t],
             limit, crit ? "CRITICAL " : "", type_tok(t));
}

/* What queued ready work waits on before a release pass looks at it: its
 * backoff, else (turns mode, between turns) its type's next turn, else a
 * slot of the window. Returns 1 when the reason changed. */
int release_queued_reason(sched *s, pb_state *st, const sched_clock *now)
{
    int t = type_of(st);
    char buf[160];
    int64_t turn_ms = -1;
    if (s->cfg.turn_minutes > 0 && !s->rel.in_turn) {
        int m = sched_turn_next(&s->cfg, t, now->minute);
        turn_ms = (m - now->minute) * 60000LL - (now->now_ms % 60000);
    }
    if (st->retry_at_ms > now->now_ms && (turn_ms < 0 || st->retry_at_ms - now->now_ms > turn_ms)) {
        clock_at(now, st->retry_at_ms - now->now_ms, buf, sizeof(buf));
        return sched_reason(st, WK(RETRY_BACKOFF), "backoff: attempt %u not before %s", st->attempt, buf);
    }
    if (turn_ms >= 0) {
        int m = sched_turn_next(&s->cfg, t, now->minute) % 1440;
        return sched_reason(st, WK(TURN), "turn: the next %s turn is at %02d:%02d", type_tok(t), m / 60, m % 60);
    }
    window_text(s, t, prio_of(st), window_now(s, t, prio_of(st), now), now, buf, sizeof(buf));
    return sched_reason(st, WK(WINDOW), "%s", buf);
}

/* Whether the window of type t is full for priority p; when it is, every
 * ready item queued there says so. */
static int window_full(sched *s, int t, int p, long long limit, const sched_clock *now)
{
    iheap *h = &s->rel.q[t][p];
    char why[512];
    if ((p == P_CRIT ? s->rel.window_crit[t] : s->rel.window_used[t]) < limit)
        return 0;
    window_text(s, t, p, limit, now, why, sizeof(why));
    for (int k = 0; k < h->n; k++) {
        pb_state *st = s->e[h->v[k]];
        if (st->status == ST_READY && (st->wait_kind != WK(WINDOW) || strcmp(st->reason, why)) &&
            sched_reason(st, WK(WINDOW), "%s", why))
            sched_save(s, st, now);
    }
    return 1;
}

/* --- reservations (reserve.h) ---------------------------------------------------- */

/* What type t's agents are expected to do next, into rel.rsv: the agents
 * free now (those seen, less work started or released and not started),
 * when each busy one is expected to be free, and the blocked requirements of
 * type t that wait only on work in flight, with when that work is expected
 * to end. Work that has run past the 90th percentile of its kind claims
 * nothing: when it ends is anyone's guess. Returns 0 when the type's agents
 * are not known (nothing seen): then nothing is held. */
static int reserve_build(sched *s, int t, const sched_clock *now)
{
    struct sched_release *r = &s->rel;
    int agents = forecast_agents_alive(s, t, now), busy = 0;
    if (agents == 0)
        return 0;
    reserve_reset(&r->rsv, 0);
    for (int k = 0; k < r->nflight; k++) {
        pb_state *st = s->e[r->flight[k]];
        int node, size;
        int64_t end;
        if (!st || !(in_flight(st) || unmerged(st)))
            continue;
        size = (int)st->requirement->complexity;
        if (st->status == ST_VERIFYING || unmerged(st))
            end = now->now_ms; /* its agent is done; the verdict, review and merge are near */
        else if (!st->started)
            end = now->now_ms + forecast_expected(s, st);
        else {
            int64_t ran = now->now_ms - release_started_at(s, st);
            if (ran > learn_duration_pct(&s->rk.lrn, type_of(st), size, 90))
                continue;
            end = release_started_at(s, st) + forecast_expected(s, st);
            if (end < now->now_ms)
                end = now->now_ms;
        }
        if (type_of(st) == t && st->status == ST_DISPATCHED) {
            busy++;
            reserve_add_busy(&r->rsv, end);
        }
        node = dag_find(s->g, st->id);
        for (int d = 0; node >= 0 && d < dag_ndependents(s->g, node); d++) {
            int v = dag_dependent(s->g, node, d);
            int j = entry_at(s, v);
            const pb_state *z = j >= 0 ? s->e[j] : NULL;
            if (z && z->status == ST_BLOCKED && type_of(z) == t && dag_unmet(s->g, v) == 1)
                reserve_add_claim(&r->rsv, end, prio_of(z), s->rk.key[j], j);
        }
    }
    r->rsv.free_now = agents - busy;
    reserve_ready(&r->rsv);
    return 1;
}

/* --- the gates --------------------------------------------------------------------- */

/* One item on its way through the gates of a pass over type t. */
typedef struct {
    sched *s;
    const sched_clock *now;
    int t, p;           /* the type of the pass, the priority being looked at */
    int i;              /* the item's entry */
    pb_state *st;
    int reserving;      /* -1: not built in this pass yet; else what reserve_build returned */
    char why[512];
} gate_ctx;

/* Each gate returns 1 when the item may go on, else 0 after saying why it
 * waits (saved when that changed). */
typedef int (*gate_fn)(gate_ctx *g);

/* A pause of the item's project (sched_people.c; a type's pause stops the
 * whole pass before the gates). */
static int gate_paused(gate_ctx *g) { return !people_hold(g->s, g->st, g->now); }

static int gate_backoff(gate_ctx *g)
{
    if (g->st->retry_at_ms <= g->now->now_ms)
        return 1;
    if (release_queued_reason(g->s, g->st, g->now))
        sched_save(g->s, g->st, g->now);
    return 0;
}

static int gate_conservation(gate_ctx *g)
{
    if (!g->s->led.conserving || g->p != ORCHESTRATOR__V1__PRIORITY__PRIORITY_LOW)
        return 1;
    budget_conservation(&g->s->led.b, g->why, sizeof(g->why));
    if (sched_reason(g->st, WK(CONSERVATION), "conservation: LOW work held back (%s)", g->why))
        sched_save(g->s, g->st, g->now);
    return 0;
}

/* With the estimate learned so far (forecast_learned_estimate). */
/* Whether st goes over what its budget has left: CRITICAL work does (the
 * seed's light mode: production down does not wait for tomorrow), with
 * the cheaper model and an alert (dispatch). */
static int over_budget(const sched *s, const pb_state *st, char *why, size_t len)
{
    return !budget_fits(&s->led.b, type_of(st), st->requirement->estimated_tokens, why, len);
}

static int gate_budget(gate_ctx *g)
{
    forecast_learned_estimate(g->s, g->st);
    if (!over_budget(g->s, g->st, g->why, sizeof(g->why)) || prio_of(g->st) == P_CRIT)
        return 1;
    if (sched_reason(g->st, WK(BUDGET), "%s", g->why))
        sched_save(g->s, g->st, g->now);
    return 0;
}

static int gate_overlap(gate_ctx *g)
{
    sched *s = g->s;
    const char *const *f;
    int nf, other;
    files_of(g->st, &f, &nf);
    other = overlap_find(s->rel.ov, f, nf, (double)s->cfg.overlap_percent / 100.0, g->i, g->why, sizeof(g->why),
                         NULL);
    if (other < 0)
        return 1;
    if (sched_reason(g->st, WK(OVERLAP), "overlap: with %s on %s", s->e[other]->id, g->why)) {
        sched_reason_id(g->st, s->e[other]->id);
        sched_save(s, g->st, g->now);
    }
    return 0;
}

/* The last gate: an item it lets go takes its agent from the reservation. */
static int gate_reserve(gate_ctx *g)
{
    sched *s = g->s;
    const sched_clock *now = g->now;
    int64_t dur;
    int held;
    if (g->p == P_CRIT || !s->cfg.reserve || s->cfg.order != SCHED_ORDER_RANK)
        return 1;
    dur = forecast_expected(s, g->st);
    if (g->reserving < 0)
        g->reserving = reserve_build(s, g->t, now);
    held = g->reserving ? reserve_holds(&s->rel.rsv, now->now_ms, g->p, s->rk.key[g->i], dur) : -1;
    if (held >= 0) {
        const pb_state *z = s->e[held];
        long long mins = 0;
        for (int k = 0; k < s->rel.rsv.nclaim; k++)
            if (s->rel.rsv.claim[k].entry == held)
                mins = (long long)((s->rel.rsv.claim[k].at - now->now_ms) / 60000);
        if (sched_reason(g->st, WK(RESERVED), "reserved: a %s agent is kept for %s (more urgent, ready in about "
                         "%lld min)", type_tok(g->t), z->id, mins)) {
            sched_reason_id(g->st, z->id);
            sched_save(s, g->st, now);
        }
        return 0;
    }
    if (g->reserving)
        reserve_take(&s->rel.rsv, now->now_ms + dur);
    return 1;
}

static const gate_fn gates[] = {gate_paused, gate_backoff, gate_conservation, gate_budget, gate_overlap, gate_reserve};

/* --- dispatch ------------------------------------------------------------------------- */

static void free_strs(char ***v, size_t *n)
{
    for (size_t k = 0; k < *n; k++)
        free((*v)[k]);
    free(*v);
    *v = NULL;
    *n = 0;
}

/* A requirement whose dispatch can never be published (too large for the
 * stream, say): REJECTED with the reason and reported, never retried, so it
 * holds nothing else up. Its bulky fields are dropped so its state can be
 * stored; the plan message keeps the original. */
void release_reject_unpublishable(sched *s, int i, const char *why, const sched_clock *now)
{
    pb_state *st = s->e[i];
    pb_requirement *r = st->requirement;
    char text[700];
    st->status = ST_REJECTED;
    r->status = ST_REJECTED;
    st->published = 0;
    sched_reason(st, WK(HUMAN), "rejected: cannot be dispatched: %.400s", why);
    pb_set_str(&r->description, "");
    pb_set_str(&r->last_failure_output, "");
    free_strs(&r->acceptance_criteria, &r->n_acceptance_criteria);
    free_strs(&r->files, &r->n_files);
    sched_save(s, st, now);
    sched_refresh_dependents(s, i, now);
    snprintf(text, sizeof(text), "%s cannot be dispatched and was rejected: %.400s", st->id, why);
    if (s->out.reject)
        s->out.reject(s->out.ctx, st->id, "unpublishable", text);
    if (s->out.alert)
        s->out.alert(s->out.ctx, "warning", "unpublishable", st->id, text);
}

static int dispatch(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    pb_requirement *r = st->requirement;
    char msg_id[160], why[ERR_LEN] = "", over_why[200];
    int t = type_of(st), rc, over;

    if (st->attempt == 0)
        st->attempt = 1;
    r->attempt = st->attempt;
    r->status = ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED;
    r->token_budget = r->estimated_tokens * (uint64_t)s->cfg.budget_factor_percent / 100;
    over = prio_of(st) == P_CRIT && over_budget(s, st, over_why, sizeof(over_why));
    pb_set_str(&r->model_hint,
               over || (s->led.conserving && r->complexity == ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_S) ? "cheap" : "");
    st->status = ST_DISPATCHED;
    st->dispatched_at_ms = now->now_ms;
    st->started = 0;
    st->published = 0;
    *ledger_charged_slot(st, st->attempt) = 0; /* a new dispatch of it: new work to pay for */
    *ledger_cost_slot(st, st->attempt) = 0;
    sched_reason(st, WK(AGENT), "agent: dispatched to %s (attempt %u)", type_tok(t), st->attempt);
    sched_save(s, st, now);
    admit_dispatch_id(st, t, 0, msg_id, sizeof(msg_id));
    if (s->out.dispatch && (rc = s->out.dispatch(s->out.ctx, st, msg_id, why)) != 0) {
        if (rc == SCHED_REFUSED) {
            release_reject_unpublishable(s, i, why, now);
            return SCHED_REFUSED;
        }
        st->status = ST_READY;
        release_queued_reason(s, st, now);
        sched_save(s, st, now);
        return -1;
    }
    st->published = 1;
    st->reserved_tokens = r->estimated_tokens;
    budget_reserve(&s->led.b, t, st->reserved_tokens);
    sched_save(s, st, now);
    release_enter_flight(s, i);
    if (over && s->out.alert) {
        char text[400], key[96];
        snprintf(text, sizeof(text), "%s is CRITICAL and went over the budget, with the cheaper model (%s)", st->id,
                 over_why);
        snprintf(key, sizeof(key), "%s-a%u", st->id, st->attempt);
        s->out.alert(s->out.ctx, "warning", "critical_over_budget", key, text);
    }
    return 0;
}

/* --- the pass ---------------------------------------------------------------------------- */

/* Turns mode, between turns: queued work held by the window, a turn or a
 * backoff at the last turn says when it may go now (what the budget,
 * overlap or conservation held is still held, and says so). */
static void between_turns(sched *s, int t, const sched_clock *now)
{
    for (int p = 1; p < NP; p++)
        for (int k = 0; k < s->rel.q[t][p].n; k++) {
            pb_state *st = s->e[s->rel.q[t][p].v[k]];
            if (st->status == ST_READY && (st->wait_kind == WK(WINDOW) || st->wait_kind == WK(TURN) ||
                                           st->wait_kind == WK(RETRY_BACKOFF)) &&
                release_queued_reason(s, st, now))
                sched_save(s, st, now);
        }
}

/* One pass over a type's ready work: see the top. */
void release_type(sched *s, int t, const sched_clock *now)
{
    gate_ctx g = {.s = s, .now = now, .t = t, .reserving = -1};
    int *stash = NULL, nstash = 0, cap = 0;

    if (s->cfg.turn_minutes > 0 && !s->rel.in_turn) {
        between_turns(s, t, now);
        return;
    }
    if (people_holds_type(s, t)) { /* paused: nothing of t goes (sched_people.c) */
        people_hold_queue(s, t, now);
        return;
    }
    budget_roll(&s->led.b, now->day);
    forecast_rerank(s, 0);
    for (int p = 1; p < NP; p++) {
        iheap *h = &s->rel.q[t][p];
        long long limit = -1; /* window_now, once known; again after each release */
        g.p = p;
        nstash = 0;
        while (h->n > 0) {
            size_t k;
            int rc;
            if (limit < 0)
                limit = window_now(s, t, p, now);
            if (window_full(s, t, p, limit, now))
                break;
            g.i = iheap_pop(h);
            g.st = s->e[g.i];
            if (g.st->status != ST_READY || prio_of(g.st) != p)
                continue; /* left the queue some other way, or was raised to another */
            if (nstash == cap) {
                cap = cap ? cap * 2 : 16;
                stash = xrealloc(stash, sizeof(int) * (size_t)cap);
            }
            for (k = 0; k < sizeof(gates) / sizeof(gates[0]) && gates[k](&g); k++)
                ;
            if (k < sizeof(gates) / sizeof(gates[0])) {
                stash[nstash++] = g.i;
                continue;
            }
            rc = dispatch(s, g.i, now);
            limit = -1;
            if (rc == SCHED_REFUSED)
                continue; /* rejected: it holds nothing up */
            if (rc != 0) {
                stash[nstash++] = g.i;
                break; /* the publisher is failing: try again later */
            }
        }
        for (int k = 0; k < nstash; k++)
            iheap_push(h, stash[k]);
    }
    free(stash);
}

void release_types(sched *s, unsigned types, const sched_clock *now)
{
    for (int t = 0; t < NT; t++)
        if (types & (1u << t))
            release_type(s, t, now);
}

int release_tick(sched *s, const sched_clock *now)
{
    if (s->cfg.turn_minutes > 0) {
        unsigned due = 0;
        for (int t = 1; t < NT; t++)
            if (sched_turn_due(&s->cfg, t, now->minute))
                due |= 1u << t;
        if (!due || now->minute == s->rel.last_turn_minute)
            return 0;
        s->rel.last_turn_minute = now->minute;
        s->rel.in_turn = 1;
        release_types(s, due, now);
        s->rel.in_turn = 0;
        release_types(s, due, now); /* what is left says when its next turn is */
    } else {
        release_types(s, ~0u, now);
    }
    return 1;
}

/* --- spawns ------------------------------------------------------------------------------ */

/* A type whose ready queue is deeper than spawn_depth asks for more
 * instances (at most spawn_max, once per cooldown), except in conservation
 * mode, in quiet hours, or with nothing left of its budget. */
void release_check_spawns(sched *s, const sched_clock *now)
{
    if (!s->out.spawn || s->led.conserving || budget_quiet(now->minute, s->cfg.quiet_start, s->cfg.quiet_end))
        return;
    for (int t = 1; t < NT; t++) {
        int depth = 0;
        char why[200];
        for (int p = 1; p < NP; p++)
            depth += s->rel.q[t][p].n;
        if (depth <= s->cfg.spawn_depth || budget_left(&s->led.b, t) == 0 || people_holds_type(s, t))
            continue;
        if (s->rel.last_spawn[t] && now->now_ms - s->rel.last_spawn[t] < s->cfg.spawn_cooldown_s * 1000)
            continue;
        {
            int count = (depth + s->cfg.spawn_depth - 1) / s->cfg.spawn_depth;
            if (count > s->cfg.spawn_max)
                count = s->cfg.spawn_max;
            snprintf(why, sizeof(why), "%d ready %s requirements waiting (more than %lld), all independent", depth,
                     type_tok(t), s->cfg.spawn_depth);
            s->out.spawn(s->out.ctx, t, count, depth, budget_left(&s->led.b, t), why);
            s->rel.last_spawn[t] = now->now_ms;
        }
    }
}
