#include "schedule.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "dag.h"
#include "iheap.h"
#include "learn.h"
#include "names.h"
#include "overlap.h"
#include "rank.h"
#include "reserve.h"
#include "sim.h"
#include "strmap.h"
#include "text.h"

#define NT NAMES_AGENT_TYPES
#define NP 5
#define OUTPUT_MAX (64 * 1024)

#define ST_BLOCKED ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED
#define ST_READY ORCHESTRATOR__V1__STATUS__STATUS_READY
#define ST_DISPATCHED ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED
#define ST_VERIFYING ORCHESTRATOR__V1__STATUS__STATUS_VERIFYING
#define ST_COMPLETE ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE
#define ST_ESCALATED ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED
#define ST_REJECTED ORCHESTRATOR__V1__STATUS__STATUS_REJECTED
#define T_REVIEW ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW
#define T_RELEASE ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE
#define WK(x) ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_##x
#define P_CRIT ORCHESTRATOR__V1__PRIORITY__PRIORITY_CRITICAL
#define IDLE_INSTANCES_MAX 4096
#define PRUNED (-2)               /* node_entry of a finished requirement no longer held in memory */   /* idle instances tracked per day; more are not charged */
#define AGENTS_MAX 256            /* instances counted for the forecast; the stalest makes room */

struct sched {
    sched_cfg cfg;
    sched_out out;
    dag *g;
    pb_state **e;          /* entries */
    int n, cap;
    int *node_entry;       /* dag node -> entry, -1 for a placeholder */
    int node_cap;
    iheap q[NT][NP];     /* ready work by type and priority, in release order (goes_first) */
    overlap *ov;
    budget b;
    int window_used[NT];
    int window_crit[NT];   /* of window_used: CRITICAL work (see release_type) */
    int64_t last_spawn[NT];
    uint64_t next_order;
    int conserving;
    learn lrn;              /* durations and tokens of completed work (learn.h) */
    int learn_restored;     /* figures came from KV: do not learn the saved states again */
    /* Release keys within a priority (larger first; see rank.c), by entry. */
    int64_t *key;
    /* When an agent first showed activity on the current attempt, by entry
     * (0: not yet, or before a restart): durations count from it, not from
     * the dispatch, which may have waited for a free agent. */
    int64_t *started_ms;
    /* Entries in flight (enter_flight .. leave_flight), and where each is
     * in that list (-1: not in it), for the reservations of release_type. */
    int *flight, nflight, *flight_pos;
    reserve rsv;
    int rank_stale;         /* durations learned since: recompute at the next pass */
    int adds_since_rank;    /* requirements added since the last computation */
    int ranked_nodes;
    /* The forecast (sim.h), by entry, valid while nothing changed. */
    uint64_t changes;
    uint64_t fc_changes;
    int64_t fc_now, fc_end, fc_late;
    int fc_agents[NT];
    int64_t *fc_eta;
    int fc_valid;
    /* Instances seen, for the forecast's count of agents. */
    struct {
        char name[80];
        int type;
        int64_t seen_ms;
    } agent[AGENTS_MAX];
    int n_agents;
    int last_turn_minute;
    int in_turn;
    int merge_batches;
    int resumed;
    size_t pruned_by_status[10];  /* finished requirements let go of (their slot in e is NULL) */
    /* Today's unattributed use per "<type>.<instance>", for its bound. */
    char idle_day[16];
    strmap *idle_index;
    uint64_t *idle_used;
    int n_idle, cap_idle;
};

/* An agent type's subject token, names.c's. */
static const char *type_tok_of(int t) { return names_agent_type((Orchestrator__V1__AgentType)t); }

/* --- small helpers --------------------------------------------------------- */

/* Why st is where it is: kind (a WaitKind: what it waits on, for
 * programs) and the prose (for people, one wording per kind, always
 * "<kind>: ..."); the ids the wait names are cleared (reason_id adds
 * them). Returns 1 when anything changed, so a pass that says the same
 * again need not save. */
static int reason(pb_state *st, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reason(pb_state *st, int kind, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* the prose names the ids, so the same prose and kind is the same wait */
    if ((int)st->wait_kind == kind && !strcmp(st->reason, buf))
        return 0;
    pb_set_str(&st->reason, buf);
    st->wait_kind = (Orchestrator__V1__WaitKind)kind;
    for (size_t k = 0; k < st->n_wait_ids; k++)
        free(st->wait_ids[k]);
    free(st->wait_ids);
    st->wait_ids = NULL;
    st->n_wait_ids = 0;
    return 1;
}

static void reason_id(pb_state *st, const char *id) { pb_add_str(&st->wait_ids, &st->n_wait_ids, id); }

/* HH:MM:SS of the configured day at ms from now (the clock's minute is in
 * the configured time zone, whole minutes off UTC). */
static void clock_at(const sched_clock *now, int64_t ms, char *buf, size_t len)
{
    int64_t sec = now->minute * 60LL + (now->now_ms / 1000) % 60 + (ms > 0 ? (ms + 999) / 1000 : 0);
    sec %= 86400;
    snprintf(buf, len, "%02d:%02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
}

static int type_of(const pb_state *st)
{
    int t = st->requirement ? (int)st->requirement->type : 0;
    return t > 0 && t < NT ? t : 0;
}

static int prio_of(const pb_state *st)
{
    int p = st->requirement ? (int)st->requirement->priority : 0;
    return p > 0 && p < NP ? p : ORCHESTRATOR__V1__PRIORITY__PRIORITY_MEDIUM;
}

static void save(sched *s, pb_state *st, const sched_clock *now)
{
    st->updated_at_ms = now->now_ms;
    s->changes++;
    if (s->out.save)
        s->out.save(s->out.ctx, st);
}

/* Release order within a priority: the larger key, then the older. */
static int goes_first(const sched *s, int a, int b)
{
    if (s->key[a] != s->key[b])
        return s->key[a] > s->key[b];
    return s->e[a]->order < s->e[b]->order;
}

static int ready_first(const void *ctx, int a, int b) { return goes_first(ctx, a, b); }

static int entry_of(const sched *s, const char *id)
{
    int node = dag_find(s->g, id);
    return node >= 0 && node < s->node_cap ? s->node_entry[node] : -1;
}

static void map_node(sched *s, int node, int entry)
{
    if (node >= s->node_cap) {
        int cap = node * 2 + 64;
        s->node_entry = xrealloc(s->node_entry, sizeof(int) * (size_t)cap);
        for (int i = s->node_cap; i < cap; i++)
            s->node_entry[i] = -1;
        s->node_cap = cap;
    }
    s->node_entry[node] = entry;
}

static int new_entry(sched *s, pb_state *st)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->e = xrealloc(s->e, sizeof(*s->e) * (size_t)s->cap);
        s->key = xrealloc(s->key, sizeof(*s->key) * (size_t)s->cap);
        s->started_ms = xrealloc(s->started_ms, sizeof(*s->started_ms) * (size_t)s->cap);
        s->flight = xrealloc(s->flight, sizeof(*s->flight) * (size_t)s->cap);
        s->flight_pos = xrealloc(s->flight_pos, sizeof(*s->flight_pos) * (size_t)s->cap);
    }
    s->e[s->n] = st;
    s->key[s->n] = 0;
    s->started_ms[s->n] = 0;
    s->flight_pos[s->n] = -1;
    return s->n++;
}

static pb_state *new_state(pb_requirement *r)
{
    pb_state *st = xmalloc(sizeof(*st));
    orchestrator__v1__requirement_state__init(st);
    st->id = xstrdup(r->id);
    st->requirement = r;
    return st;
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

static int64_t backoff(const sched *s, unsigned n)
{
    int64_t d = s->cfg.backoff_base_ms;
    for (unsigned i = 1; i < n && d < s->cfg.backoff_max_ms; i++)
        d *= 2;
    return d < s->cfg.backoff_max_ms ? d : s->cfg.backoff_max_ms;
}

/* --- create ---------------------------------------------------------------- */

void sched_cfg_default(sched_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->window = SCHED_DEF_WINDOW;
    c->overlap_percent = SCHED_DEF_OVERLAP_PERCENT;
    c->max_attempts = SCHED_DEF_MAX_ATTEMPTS;
    c->max_infra_retries = SCHED_DEF_MAX_INFRA_RETRIES;
    c->budget_factor_percent = SCHED_DEF_BUDGET_FACTOR_PERCENT;
    c->spawn_depth = SCHED_DEF_SPAWN_DEPTH;
    c->spawn_max = SCHED_DEF_SPAWN_MAX;
    c->spawn_cooldown_s = SCHED_DEF_SPAWN_COOLDOWN_S;
    sched_parse_hhmm(SCHED_DEF_QUIET_START, &c->quiet_start);
    sched_parse_hhmm(SCHED_DEF_QUIET_END, &c->quiet_end);
    c->backoff_base_ms = SCHED_DEF_BACKOFF_BASE_MS;
    c->backoff_max_ms = SCHED_DEF_BACKOFF_MAX_MS;
    c->turn_minutes = 0; /* continuous (scheduler.mode); SCHED_DEF_TURN_MINUTES is the cadence of turns */
    c->duration_ms[1] = 30 * 60 * 1000LL;
    c->duration_ms[2] = 2 * 3600 * 1000LL;
    c->duration_ms[3] = 4 * 3600 * 1000LL;
    c->duration_ms[4] = 8 * 3600 * 1000LL;
    c->duration_ms[0] = c->duration_ms[2];
    c->order = SCHED_ORDER_RANK;
    c->reserve = 1;
    c->agent_seen_ms = 15 * 60 * 1000LL;
    c->charge_message_percent = SCHED_DEF_CHARGE_MESSAGE_PERCENT;
    c->charge_attempt_percent = SCHED_DEF_CHARGE_ATTEMPT_PERCENT;
    c->idle_day_percent = SCHED_DEF_IDLE_DAY_PERCENT;
    c->retention_s = SCHED_DEF_RETENTION_S;
    budget_cfg_default(&c->budget);
}

int sched_parse_hhmm(const char *s, int *minute)
{
    int h, m;
    char tail;
    if (!s || sscanf(s, "%d:%d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
        return 0;
    *minute = h * 60 + m;
    return 1;
}

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

sched *sched_create(const sched_cfg *c, const sched_out *out, const sched_clock *now)
{
    sched *s = xcalloc(1, sizeof(*s));
    s->cfg = *c;
    s->out = *out;
    s->g = dag_create();
    s->ov = overlap_create();
    s->next_order = 1;
    s->last_turn_minute = -1;
    for (int t = 0; t < NT; t++)
        for (int p = 0; p < NP; p++)
            iheap_init(&s->q[t][p], ready_first, s);
    s->idle_index = strmap_create();
    budget_init(&s->b, &c->budget, now->day);
    learn_init(&s->lrn, c->duration_ms);
    return s;
}

void sched_destroy(sched *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        if (s->e[i])
            orchestrator__v1__requirement_state__free_unpacked(s->e[i], NULL);
    free(s->e);
    free(s->key);
    free(s->started_ms);
    free(s->flight);
    free(s->flight_pos);
    reserve_free(&s->rsv);
    free(s->fc_eta);
    free(s->node_entry);
    for (int t = 0; t < NT; t++)
        for (int p = 0; p < NP; p++)
            iheap_free(&s->q[t][p]);
    overlap_destroy(s->ov);
    dag_destroy(s->g);
    strmap_destroy(s->idle_index);
    free(s->idle_used);
    free(s);
}

/* --- budget ---------------------------------------------------------------- */

static void check_conservation(sched *s, const sched_clock *now)
{
    char why[256];
    int c = budget_conservation(&s->b, why, sizeof(why));
    if (c && !s->conserving && s->out.alert) {
        char text[400];
        snprintf(text, sizeof(text), "Token conservation mode: %s. No spawns, LOW work held back, small work "
                 "released with a cheaper model.", why);
        s->out.alert(s->out.ctx, "warning", "conservation", now->day, text);
    }
    s->conserving = c;
}

/* The day's ledger of type and the total, out after a change. */
static void ledger_out(sched *s, int type)
{
    if (s->out.budget) {
        s->out.budget(s->out.ctx, &s->b, type);
        s->out.budget(s->out.ctx, &s->b, 0);
    }
}

static void charge(sched *s, int type, uint64_t tokens, const sched_clock *now)
{
    if (!tokens)
        return;
    budget_roll(&s->b, now->day);
    budget_charge(&s->b, type, tokens);
    ledger_out(s, type);
    check_conservation(s, now);
}

/* A result's cost, on the day's ledger of the type that reported it. */
static void charge_cost(sched *s, int type, uint64_t micro_usd, const sched_clock *now)
{
    if (!micro_usd)
        return;
    budget_roll(&s->b, now->day);
    budget_charge_cost(&s->b, type, micro_usd);
    ledger_out(s, type);
}

/* The accepted attempt's change, made on first use. */
static Orchestrator__V1__Delivery *delivery_of(pb_state *st)
{
    if (!st->delivery) {
        st->delivery = xmalloc(sizeof(*st->delivery));
        orchestrator__v1__delivery__init(st->delivery);
    }
    return st->delivery;
}

static void forget_delivery(pb_state *st)
{
    if (st->delivery)
        orchestrator__v1__delivery__free_unpacked(st->delivery, NULL);
    st->delivery = NULL;
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
    if (type == ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW && type_of(st) != type)
        st->charged_day_review += tokens;
    else
        st->charged_day_own += tokens;
    charge(s, type, tokens, now);
}

/* The charge slot of an attempt (1-based), grown as needed. */
static uint64_t *charged_slot(pb_state *st, unsigned attempt)
{
    size_t i = attempt ? attempt - 1 : 0;
    if (i >= st->n_charged_by_attempt) {
        st->charged_by_attempt = xrealloc(st->charged_by_attempt, sizeof(uint64_t) * (i + 1));
        memset(st->charged_by_attempt + st->n_charged_by_attempt, 0,
               sizeof(uint64_t) * (i + 1 - st->n_charged_by_attempt));
        st->n_charged_by_attempt = i + 1;
    }
    return &st->charged_by_attempt[i];
}

/* --- agents seen ---------------------------------------------------------------- */

/* An instance of type showed life (an admitted heartbeat or result): it
 * counts as an agent for the forecast for cfg.agent_seen_ms. */
static void seen(sched *s, int type, const char *instance, const sched_clock *now)
{
    int k, stalest = 0;
    if (!instance || !*instance || type <= 0 || type >= NT)
        return;
    for (k = 0; k < s->n_agents; k++) {
        if (s->agent[k].type == type && !strcmp(s->agent[k].name, instance))
            break;
        if (s->agent[k].seen_ms < s->agent[stalest].seen_ms)
            stalest = k;
    }
    if (k == s->n_agents) {
        if (s->n_agents < AGENTS_MAX)
            s->n_agents++;
        else
            k = stalest;
        snprintf(s->agent[k].name, sizeof(s->agent[k].name), "%s", instance);
        s->agent[k].type = type;
    }
    s->agent[k].seen_ms = now->now_ms;
}

/* --- reports that do not count ------------------------------------------------ */

static void refuse(sched *s, const sched_from *from, const char *key, const char *why, const char *text)
{
    if (s->out.refuse)
        s->out.refuse(s->out.ctx, key, why, text, from);
}

/* A charge beyond its bound: refused and alerted, not charged. */
static void over_bound(sched *s, const sched_from *from, const char *key, const char *text)
{
    refuse(s, from, key, "charge_over_bound", text);
    if (s->out.alert)
        s->out.alert(s->out.ctx, "warning", "charge_over_bound", key, text);
}

/* What the work of st may cost, the yardstick of the bounds (see the top of
 * schedule.h). */
static uint64_t work_budget(const sched *s, const pb_state *st)
{
    uint64_t b = st->requirement->token_budget;
    if (!b)
        b = st->requirement->estimated_tokens * (uint64_t)s->cfg.budget_factor_percent / 100;
    if (!b)
        b = s->cfg.budget.limit[type_of(st)];
    return b;
}

/* Charges what an attempt reports beyond what was charged for it already;
 * returns 1 when it charged something (st changed: save it), 0 when nothing
 * was new, -1 when the total is more than one attempt may cost (refused and
 * alerted, not charged). */
static int charge_attempt(sched *s, pb_state *st, unsigned attempt, uint64_t total_for_attempt,
                          const sched_from *from, const sched_clock *now)
{
    uint64_t *charged = charged_slot(st, attempt);
    uint64_t cap = work_budget(s, st) * (uint64_t)s->cfg.charge_attempt_percent / 100;
    if (total_for_attempt <= *charged)
        return 0;
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
        budget_unreserve(&s->b, type_of(st), r);
        st->reserved_tokens -= r;
    }
    charge_for(s, st, type_of(st), delta, now);
    return 1;
}

/* --- flight ---------------------------------------------------------------- */

static void enter_flight(sched *s, int i)
{
    pb_state *st = s->e[i];
    const char *const *f;
    int nf;
    files_of(st, &f, &nf);
    overlap_set(s->ov, i, f, nf);
    if (s->flight_pos[i] < 0) {
        s->flight_pos[i] = s->nflight;
        s->flight[s->nflight++] = i;
    }
    if (!st->started) {
        s->window_used[type_of(st)]++;
        if (prio_of(st) == P_CRIT)
            s->window_crit[type_of(st)]++;
    }
}

/* st no longer holds a slot of its type's window. */
static void window_free(sched *s, const pb_state *st)
{
    if (s->window_used[type_of(st)] > 0)
        s->window_used[type_of(st)]--;
    if (prio_of(st) == P_CRIT && s->window_crit[type_of(st)] > 0)
        s->window_crit[type_of(st)]--;
}

static void leave_flight(sched *s, int i)
{
    pb_state *st = s->e[i];
    int at = s->flight_pos[i];
    overlap_clear(s->ov, i);
    if (at >= 0) {
        s->flight[at] = s->flight[--s->nflight];
        s->flight_pos[s->flight[at]] = at;
        s->flight_pos[i] = -1;
    }
    if ((st->status == ST_DISPATCHED || st->status == ST_VERIFYING) && !st->started)
        window_free(s, st);
    budget_unreserve(&s->b, type_of(st), st->reserved_tokens);
    st->reserved_tokens = 0;
}

/* When the current attempt started: the first activity seen, else its
 * dispatch. */
static int64_t started_at(const sched *s, const pb_state *st)
{
    int i = entry_of(s, st->id);
    return i >= 0 && s->started_ms[i] >= st->dispatched_at_ms ? s->started_ms[i] : st->dispatched_at_ms;
}

static void mark_started(sched *s, pb_state *st, const sched_clock *now)
{
    if (st->status == ST_DISPATCHED && !st->started) {
        int i = entry_of(s, st->id);
        if (i >= 0)
            s->started_ms[i] = now->now_ms;
        st->started = 1;
        window_free(s, st);
    }
}

/* --- release order (rank.c) ----------------------------------------------------- */

static int in_flight(const pb_state *st)
{
    return st->status == ST_DISPATCHED || st->status == ST_VERIFYING;
}

static int finished(const pb_state *st)
{
    return st->status == ST_COMPLETE || st->status == ST_ESCALATED || st->status == ST_REJECTED;
}

/* What a requirement is expected to take: learned, or the configured guess
 * (learn.h). */
static int64_t expected_of(const sched *s, const pb_state *st)
{
    return learn_duration(&s->lrn, type_of(st), (int)st->requirement->complexity, NULL);
}

/* A node's weight for upward rank: its expected duration while unfinished. */
static int64_t rank_weight(int node, void *arg)
{
    const sched *s = arg;
    int i = node < s->node_cap ? s->node_entry[node] : -1;
    if (!dag_known(s->g, node))
        return s->cfg.duration_ms[0]; /* not known yet: a medium guess */
    if (i < 0 || !s->e[i] || s->e[i]->alias || finished(s->e[i]))
        return 0;
    return expected_of(s, s->e[i]);
}

/* Every key computed again from the whole graph, and the ready queues put
 * in the new order. */
static void rerank(sched *s)
{
    size_t n = dag_count(s->g);
    int64_t *r;
    s->rank_stale = 0;
    s->adds_since_rank = 0;
    s->ranked_nodes = (int)n;
    if (s->cfg.order == SCHED_ORDER_AGE || n == 0)
        return;
    r = xmalloc(sizeof(int64_t) * n);
    if (s->cfg.order == SCHED_ORDER_DOWNSTREAM)
        rank_downstream(s->g, r);
    else
        rank_upward(s->g, rank_weight, s, r);
    for (size_t v = 0; v < n && (int)v < s->node_cap; v++)
        if (s->node_entry[v] >= 0)
            s->key[s->node_entry[v]] = r[v];
    free(r);
    for (int t = 0; t < NT; t++)
        for (int p = 0; p < NP; p++)
            iheap_rebuild(&s->q[t][p]);
}

/* A new requirement's own key is exact at once (what depends on it is
 * known); what it adds to the keys of its dependencies waits for the next
 * computation: after ranked_nodes / 16 more additions, a change in what was
 * learned, or the next tick (force). */
static void maybe_rerank(sched *s, int force)
{
    if (s->rank_stale || (s->adds_since_rank && (force || s->adds_since_rank > s->ranked_nodes / 16)))
        rerank(s);
}

static void key_new(sched *s, int i, int node)
{
    int64_t after = 0;
    s->adds_since_rank++;
    if (s->cfg.order == SCHED_ORDER_AGE)
        return;
    for (int k = 0; k < dag_ndependents(s->g, node); k++) {
        int d = dag_dependent(s->g, node, k);
        int j = d < s->node_cap ? s->node_entry[d] : -1;
        if (j < 0)
            continue;
        if (s->cfg.order == SCHED_ORDER_DOWNSTREAM)
            after += s->key[j];
        else if (s->key[j] > after)
            after = s->key[j];
    }
    s->key[i] = (s->cfg.order == SCHED_ORDER_DOWNSTREAM ? 1 : rank_weight(node, s)) + after;
}

/* --- learned figures (learn.c) ---------------------------------------------------- */

static void set_extra(pb_requirement *r, const char *key, const char *value)
{
    Orchestrator__V1__Metadata *m = r->metadata;
    Orchestrator__V1__Metadata__ExtraEntry *e;
    if (!m) {
        m = xmalloc(sizeof(*m));
        orchestrator__v1__metadata__init(m);
        r->metadata = m;
    }
    for (size_t i = 0; i < m->n_extra; i++)
        if (!strcmp(m->extra[i]->key, key)) {
            pb_set_str(&m->extra[i]->value, value);
            return;
        }
    e = xmalloc(sizeof(*e));
    orchestrator__v1__metadata__extra_entry__init(e);
    e->key = xstrdup(key);
    e->value = xstrdup(value);
    m->extra = xrealloc(m->extra, sizeof(*m->extra) * (m->n_extra + 1));
    m->extra[m->n_extra++] = e;
}

static int has_extra(const pb_requirement *r, const char *key)
{
    if (r->metadata)
        for (size_t i = 0; i < r->metadata->n_extra; i++)
            if (!strcmp(r->metadata->extra[i]->key, key))
                return 1;
    return 0;
}

/* Once LEARN_MIN completed requirements of its type and size reported
 * tokens, the estimate is what they used, and the requirement says so in
 * metadata "estimate" (the router's figure stays in "routerEstimate"). */
static void learned_estimate(sched *s, pb_state *st)
{
    pb_requirement *r = st->requirement;
    int t = type_of(st), c = (int)r->complexity;
    uint64_t tok;
    char buf[160];
    if (!learn_tokens(&s->lrn, t, c, &tok) || !tok || tok == r->estimated_tokens)
        return;
    if (!has_extra(r, "routerEstimate")) {
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->estimated_tokens);
        set_extra(r, "routerEstimate", buf);
    }
    snprintf(buf, sizeof(buf), "learned: mean of the last %d completed %s %s", learn_count(&s->lrn, t, c),
             type_tok_of(t), names_complexity((Orchestrator__V1__Complexity)c));
    set_extra(r, "estimate", buf);
    r->estimated_tokens = tok;
}

static void persist_learned(sched *s)
{
    char *js;
    size_t len;
    if (!s->out.learned)
        return;
    learn_to_json(&s->lrn, &js, &len);
    s->out.learned(s->out.ctx, js, len);
    free(js);
}

/* --- release ----------------------------------------------------------------- */

static void release_type(sched *s, int t, const sched_clock *now);
static void complete(sched *s, int i, const sched_clock *now);

/* The window's wording for ready work of type t and priority p (CRITICAL
 * work counts only the CRITICAL slots: see release_type). */
/* The type's window now: scheduler.window, or 1 when every agent of the
 * type seen already has work dispatched to it (started or about to be):
 * one released requirement waits for the next agent to be free, not more,
 * so what goes next is chosen when an agent is about to take it, not hours
 * before (docs/scheduler.md). CRITICAL work keeps the whole window; with no
 * agent of the type seen, so does everything. */
static long long window_now(const sched *s, int t, int p, const sched_clock *now)
{
    int agents, dispatched = 0;
    if (p == P_CRIT || (agents = sched_agents(s, t, now)) == 0)
        return s->cfg.window;
    for (int k = 0; k < s->nflight; k++) {
        const pb_state *st = s->e[s->flight[k]];
        if (st && st->status == ST_DISPATCHED && type_of(st) == t && ++dispatched >= agents)
            return 1;
    }
    return s->cfg.window;
}

static void window_text(const sched *s, int t, int p, long long limit, char *buf, size_t len)
{
    int crit = p == P_CRIT;
    snprintf(buf, len, "window: %d of %lld %s%s release slots taken%s", crit ? s->window_crit[t] : s->window_used[t],
             limit, crit ? "CRITICAL " : "", type_tok_of(t), limit < s->cfg.window ? " (every agent busy)" : "");
}

/* What queued ready work waits on before a release pass looks at it: its
 * backoff, else (turns mode, between turns) its type's next turn, else a
 * slot of the window. Returns 1 when the reason changed. */
static int queued_reason(sched *s, pb_state *st, const sched_clock *now)
{
    int t = type_of(st);
    char buf[160];
    int64_t turn_ms = -1;
    if (s->cfg.turn_minutes > 0 && !s->in_turn) {
        int m = sched_turn_next(&s->cfg, t, now->minute);
        turn_ms = (m - now->minute) * 60000LL - (now->now_ms % 60000);
    }
    if (st->retry_at_ms > now->now_ms && (turn_ms < 0 || st->retry_at_ms - now->now_ms > turn_ms)) {
        clock_at(now, st->retry_at_ms - now->now_ms, buf, sizeof(buf));
        return reason(st, WK(RETRY_BACKOFF), "backoff: attempt %u not before %s", st->attempt, buf);
    }
    if (turn_ms >= 0) {
        int m = sched_turn_next(&s->cfg, t, now->minute) % 1440;
        return reason(st, WK(TURN), "turn: the next %s turn is at %02d:%02d", type_tok_of(t), m / 60, m % 60);
    }
    window_text(s, t, prio_of(st), window_now(s, t, prio_of(st), now), buf, sizeof(buf));
    return reason(st, WK(WINDOW), "%s", buf);
}

static void make_ready(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    if (st->alias) {
        complete(s, i, now);
        return;
    }
    st->status = ST_READY;
    queued_reason(s, st, now);
    for (size_t k = 0; k < st->n_blocked_by; k++)
        free(st->blocked_by[k]);
    free(st->blocked_by);
    st->blocked_by = NULL;
    st->n_blocked_by = 0;
    iheap_push(&s->q[type_of(st)][prio_of(st)], i);
    save(s, st, now);
}

typedef struct {
    sched *s;
    const sched_clock *now;
    unsigned types;     /* bit per type touched */
} ready_ctx;

static void on_ready(int node, void *arg)
{
    ready_ctx *c = arg;
    int i = node < c->s->node_cap ? c->s->node_entry[node] : -1;
    if (i < 0 || c->s->e[i]->status != ST_BLOCKED)
        return;
    c->types |= 1u << type_of(c->s->e[i]);
    make_ready(c->s, i, c->now);
}

static void release_types(sched *s, unsigned types, const sched_clock *now)
{
    for (int t = 0; t < NT; t++)
        if (types & (1u << t))
            release_type(s, t, now);
}

static void block_or_ready(sched *s, int i, const sched_clock *now);

/* The blocked dependents of node, after it completed: what they still wait
 * on (those it freed are ready already). */
static void refresh_blocked(sched *s, int node, const sched_clock *now)
{
    for (int k = 0; k < dag_ndependents(s->g, node); k++) {
        int d = dag_dependent(s->g, node, k);
        int j = d < s->node_cap ? s->node_entry[d] : -1;
        if (j >= 0 && s->e[j]->status == ST_BLOCKED)
            block_or_ready(s, j, now);
    }
}

static void complete(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    ready_ctx c = {s, now, 0};
    st->status = ST_COMPLETE;
    st->completed_at_ms = now->now_ms;
    if (st->alias)
        reason(st, WK(UNSPECIFIED), "complete: all parts complete");
    else
        reason(st, WK(REVIEW), "review: complete, awaiting review");
    save(s, st, now);
    dag_complete(s->g, dag_find(s->g, st->id), on_ready, &c);
    refresh_blocked(s, dag_find(s->g, st->id), now);
    release_types(s, c.types, now);
}

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
static void reject_unpublishable(sched *s, int i, const char *why, const sched_clock *now)
{
    pb_state *st = s->e[i];
    pb_requirement *r = st->requirement;
    char text[700];
    st->status = ST_REJECTED;
    r->status = ST_REJECTED;
    st->published = 0;
    reason(st, WK(HUMAN), "rejected: cannot be dispatched: %.400s", why);
    pb_set_str(&r->description, "");
    pb_set_str(&r->last_failure_output, "");
    free_strs(&r->acceptance_criteria, &r->n_acceptance_criteria);
    free_strs(&r->files, &r->n_files);
    save(s, st, now);
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
    char msg_id[160], why[ERR_LEN] = "";
    int t = type_of(st), rc;

    if (st->attempt == 0)
        st->attempt = 1;
    r->attempt = st->attempt;
    r->status = ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED;
    r->token_budget = r->estimated_tokens * (uint64_t)s->cfg.budget_factor_percent / 100;
    pb_set_str(&r->model_hint, s->conserving && r->complexity == ORCHESTRATOR__V1__COMPLEXITY__COMPLEXITY_S
                                   ? "cheap" : "");
    st->status = ST_DISPATCHED;
    st->dispatched_at_ms = now->now_ms;
    st->started = 0;
    st->published = 0;
    *charged_slot(st, st->attempt) = 0; /* a new dispatch of it: new work to pay for */
    reason(st, WK(AGENT), "agent: dispatched to %s (attempt %u)", type_tok_of(t), st->attempt);
    save(s, st, now);
    admit_dispatch_id(st, t, 0, msg_id, sizeof(msg_id));
    if (s->out.dispatch && (rc = s->out.dispatch(s->out.ctx, st, msg_id, why)) != 0) {
        if (rc == SCHED_REFUSED) {
            reject_unpublishable(s, i, why, now);
            return SCHED_REFUSED;
        }
        st->status = ST_READY;
        queued_reason(s, st, now);
        save(s, st, now);
        return -1;
    }
    st->published = 1;
    st->reserved_tokens = r->estimated_tokens;
    budget_reserve(&s->b, t, st->reserved_tokens);
    save(s, st, now);
    enter_flight(s, i);
    return 0;
}

/* --- reservations (reserve.h) ---------------------------------------------------- */

/* What type t's agents are expected to do next, into s->rsv: the agents
 * free now (those seen, less work started or released and not started),
 * when each busy one is expected to be free, and the blocked requirements of
 * type t that wait only on work in flight, with when that work is expected
 * to end. Work that has run past the 90th percentile of its kind claims
 * nothing: when it ends is anyone's guess. Returns 0 when the type's agents
 * are not known (nothing seen): then nothing is held. */
static int reserve_build(sched *s, int t, const sched_clock *now)
{
    int agents = sched_agents(s, t, now), busy = 0;
    if (agents == 0)
        return 0;
    reserve_reset(&s->rsv, 0);
    for (int k = 0; k < s->nflight; k++) {
        pb_state *st = s->e[s->flight[k]];
        int node, size;
        int64_t end;
        if (!st || !in_flight(st))
            continue;
        size = (int)st->requirement->complexity;
        if (st->status == ST_VERIFYING)
            end = now->now_ms; /* its agent is done; the verdict is near */
        else if (!st->started)
            end = now->now_ms + expected_of(s, st);
        else {
            int64_t ran = now->now_ms - started_at(s, st);
            if (ran > learn_duration_pct(&s->lrn, type_of(st), size, 90))
                continue;
            end = started_at(s, st) + expected_of(s, st);
            if (end < now->now_ms)
                end = now->now_ms;
        }
        if (type_of(st) == t && st->status == ST_DISPATCHED) {
            busy++;
            reserve_add_busy(&s->rsv, end);
        }
        node = dag_find(s->g, st->id);
        for (int d = 0; node >= 0 && d < dag_ndependents(s->g, node); d++) {
            int v = dag_dependent(s->g, node, d);
            int j = v < s->node_cap ? s->node_entry[v] : -1;
            const pb_state *z = j >= 0 ? s->e[j] : NULL;
            if (z && z->status == ST_BLOCKED && type_of(z) == t && dag_unmet(s->g, v) == 1)
                reserve_add_claim(&s->rsv, end, prio_of(z), s->key[j], j);
        }
    }
    s->rsv.free_now = agents - busy;
    reserve_ready(&s->rsv);
    return 1;
}

/* One pass over a type's ready work: see the top of sched.h. */
static void release_type(sched *s, int t, const sched_clock *now)
{
    int *stash = NULL, nstash = 0, cap = 0, reserving = -1; /* -1: not built yet */
    char why[512];

    if (s->cfg.turn_minutes > 0 && !s->in_turn) {
        for (int p = 1; p < NP; p++)
            for (int k = 0; k < s->q[t][p].n; k++) {
                pb_state *st = s->e[s->q[t][p].v[k]];
                /* held by the budget, overlap or conservation at the last
                 * turn: still so, and they say why */
                if (st->status == ST_READY && (st->wait_kind == WK(WINDOW) || st->wait_kind == WK(TURN) ||
                                               st->wait_kind == WK(RETRY_BACKOFF)) &&
                    queued_reason(s, st, now))
                    save(s, st, now);
            }
        return;
    }
    budget_roll(&s->b, now->day);
    maybe_rerank(s, 0);
    for (int p = 1; p < NP; p++) {
        iheap *h = &s->q[t][p];
        long long limit = -1; /* window_now, once known; again after each release */
        nstash = 0;
        while (h->n > 0) {
            int i;
            pb_state *st;
            const char *const *f;
            int nf, other, rc;
            /* CRITICAL work waits only for CRITICAL work released and not
             * started: it overtakes everything (docs/scheduler.md) */
            if (limit < 0)
                limit = window_now(s, t, p, now);
            if ((p == P_CRIT ? s->window_crit[t] : s->window_used[t]) >= limit) {
                window_text(s, t, p, limit, why, sizeof(why));
                for (int k = 0; k < h->n; k++) {
                    st = s->e[h->v[k]];
                    if (st->status == ST_READY && (st->wait_kind != WK(WINDOW) || strcmp(st->reason, why)) &&
                        reason(st, WK(WINDOW), "%s", why))
                        save(s, st, now);
                }
                break;
            }
            i = iheap_pop(h);
            st = s->e[i];
            if (st->status != ST_READY)
                continue; /* left the queue some other way */
            if (nstash == cap) {
                cap = cap ? cap * 2 : 16;
                stash = xrealloc(stash, sizeof(int) * (size_t)cap);
            }
            if (st->retry_at_ms > now->now_ms) {
                if (queued_reason(s, st, now))
                    save(s, st, now);
                stash[nstash++] = i;
                continue;
            }
            if (s->conserving && p == ORCHESTRATOR__V1__PRIORITY__PRIORITY_LOW) {
                budget_conservation(&s->b, why, sizeof(why));
                if (reason(st, WK(CONSERVATION), "conservation: LOW work held back (%s)", why))
                    save(s, st, now);
                stash[nstash++] = i;
                continue;
            }
            learned_estimate(s, st);
            if (!budget_fits(&s->b, t, st->requirement->estimated_tokens, why, sizeof(why))) {
                if (reason(st, WK(BUDGET), "%s", why))
                    save(s, st, now);
                stash[nstash++] = i;
                continue;
            }
            files_of(st, &f, &nf);
            other = overlap_find(s->ov, f, nf, (double)s->cfg.overlap_percent / 100.0, i, why, sizeof(why), NULL);
            if (other >= 0) {
                if (reason(st, WK(OVERLAP), "overlap: with %s on %s", s->e[other]->id, why)) {
                    reason_id(st, s->e[other]->id);
                    save(s, st, now);
                }
                stash[nstash++] = i;
                continue;
            }
            if (p != P_CRIT && s->cfg.reserve && s->cfg.order == SCHED_ORDER_RANK) {
                int64_t dur = expected_of(s, st);
                int held;
                if (reserving < 0)
                    reserving = reserve_build(s, t, now);
                held = reserving ? reserve_holds(&s->rsv, now->now_ms, p, s->key[i], dur) : -1;
                if (held >= 0) {
                    const pb_state *z = s->e[held];
                    long long mins = 0;
                    for (int k = 0; k < s->rsv.nclaim; k++)
                        if (s->rsv.claim[k].entry == held)
                            mins = (long long)((s->rsv.claim[k].at - now->now_ms) / 60000);
                    if (reason(st, WK(RESERVED), "reserved: a %s agent is kept for %s (more urgent, ready in about "
                               "%lld min)", type_tok_of(t), z->id, mins)) {
                        reason_id(st, z->id);
                        save(s, st, now);
                    }
                    stash[nstash++] = i;
                    continue;
                }
                if (reserving)
                    reserve_take(&s->rsv, now->now_ms + dur);
            }
            rc = dispatch(s, i, now);
            limit = -1;
            if (rc == SCHED_REFUSED)
                continue; /* rejected: it holds nothing up */
            if (rc != 0) {
                stash[nstash++] = i;
                break; /* the publisher is failing: try again later */
            }
        }
        for (int k = 0; k < nstash; k++)
            iheap_push(h, stash[k]);
    }
    free(stash);
}

/* --- spawns ------------------------------------------------------------------- */

static void check_spawns(sched *s, const sched_clock *now)
{
    if (!s->out.spawn || s->conserving || budget_quiet(now->minute, s->cfg.quiet_start, s->cfg.quiet_end))
        return;
    for (int t = 1; t < NT; t++) {
        int depth = 0;
        char why[200];
        for (int p = 1; p < NP; p++)
            depth += s->q[t][p].n;
        if (depth <= s->cfg.spawn_depth || budget_left(&s->b, t) == 0)
            continue;
        if (s->last_spawn[t] && now->now_ms - s->last_spawn[t] < s->cfg.spawn_cooldown_s * 1000)
            continue;
        {
            int count = (depth + s->cfg.spawn_depth - 1) / s->cfg.spawn_depth;
            if (count > s->cfg.spawn_max)
                count = s->cfg.spawn_max;
            snprintf(why, sizeof(why), "%d ready %s requirements waiting (more than %lld), all independent", depth,
                     type_tok_of(t), s->cfg.spawn_depth);
            s->out.spawn(s->out.ctx, t, count, depth, budget_left(&s->b, t), why);
            s->last_spawn[t] = now->now_ms;
        }
    }
}

/* --- merges --------------------------------------------------------------------- */

static int merged(const sched *s, int node)
{
    int i = node < s->node_cap ? s->node_entry[node] : -1;
    if (i == PRUNED)
        return 1; /* only requirements whose merge went out are let go */
    if (i < 0)
        return 0;
    if (s->e[i]->alias) {
        for (int k = 0; k < dag_ndeps(s->g, node); k++)
            if (!merged(s, dag_dep(s->g, node, k)))
                return 0;
        return 1;
    }
    return s->e[i]->merge_released;
}

/* Every approved requirement whose dependencies' merges are out goes out,
 * repeatedly, so one approval can release a whole chain; all of them as one
 * batch, in dependency order. */
static void merge_pass(sched *s, const sched_clock *now)
{
    int *batch = NULL, n = 0, added;
    char name[32];

    do {
        added = 0;
        for (int i = 0; i < s->n; i++) {
            pb_state *st = s->e[i];
            int node, ok = 1;
            if (!st || st->alias || st->merge_released || st->review != ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED)
                continue;
            node = dag_find(s->g, st->id);
            for (int k = 0; k < dag_ndeps(s->g, node) && ok; k++)
                ok = merged(s, dag_dep(s->g, node, k));
            if (!ok)
                continue;
            st->merge_released = 1;
            batch = xrealloc(batch, sizeof(int) * (size_t)(n + 1));
            batch[n++] = i;
            added = 1;
        }
    } while (added);
    if (n == 0)
        return;
    snprintf(name, sizeof(name), "merge-%d", ++s->merge_batches);
    for (int k = 0; k < n; k++) {
        pb_state *st = s->e[batch[k]];
        char msg_id[160];
        admit_dispatch_id(st, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE, 0, msg_id, sizeof(msg_id));
        pb_set_str(&st->merge_batch, name);
        save(s, st, now);
        if (s->out.merge)
            s->out.merge(s->out.ctx, st, name, n, msg_id);
    }
    free(batch);
}

/* --- events ----------------------------------------------------------------------- */

static void block_or_ready(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    int node = dag_find(s->g, st->id);
    char buf[512];
    if (dag_unmet(s->g, node) == 0) {
        make_ready(s, i, now);
        return;
    }
    dag_blockers(s->g, node, buf, sizeof(buf));
    st->status = ST_BLOCKED;
    for (size_t k = 0; k < st->n_blocked_by; k++)
        free(st->blocked_by[k]);
    free(st->blocked_by);
    st->blocked_by = NULL;
    st->n_blocked_by = 0;
    reason(st, WK(DEPENDENCY), "dependency: waiting on %s", buf);
    for (int k = 0; k < dag_ndeps(s->g, node); k++) {
        int d = dag_dep(s->g, node, k);
        if (!dag_complete_p(s->g, d)) {
            pb_add_str(&st->blocked_by, &st->n_blocked_by, dag_id(s->g, d));
            reason_id(st, dag_id(s->g, d));
        }
    }
    save(s, st, now);
}

/* The requirement a split part stands for: a node with no work that depends
 * on every part, so that depending on the original id waits for them all. */
static void ensure_alias(sched *s, const char *origin, const pb_requirement *pr, const sched_clock *now)
{
    int i = entry_of(s, origin), node;
    const char *part = pr->id;
    char buf[512];
    if (i >= 0) {
        if (s->e[i]->alias && dag_add_dep(s->g, dag_find(s->g, origin), part, buf, sizeof(buf)) == DAG_OK) {
            pb_requirement *r = s->e[i]->requirement;
            pb_add_str(&r->dependencies, &r->n_dependencies, part);
            /* as urgent as its most urgent part */
            if (pr->priority && (!r->priority || pr->priority < r->priority))
                r->priority = pr->priority;
            if (s->e[i]->status == ST_COMPLETE)
                s->e[i]->status = ST_BLOCKED;
            block_or_ready(s, i, now); /* says what it waits on now, and saves */
        }
        return;
    }
    {
        pb_requirement *r = xmalloc(sizeof(*r));
        const char *deps[1] = {part};
        pb_state *st;
        orchestrator__v1__requirement__init(r);
        r->id = xstrdup(origin);
        r->title = xstrdup("(split into parts)");
        r->priority = pr->priority;
        pb_add_str(&r->dependencies, &r->n_dependencies, part);
        if (dag_add(s->g, origin, deps, 1, &node, buf, sizeof(buf)) != DAG_OK) {
            orchestrator__v1__requirement__free_unpacked(r, NULL);
            return;
        }
        st = new_state(r);
        st->alias = 1;
        st->order = s->next_order++;
        map_node(s, node, new_entry(s, st));
        block_or_ready(s, s->n - 1, now);
    }
}

/* An estimate above what its type (or the day in total) may spend would
 * wait forever: escalated at once, with an error and an alert. Returns 1
 * when it was. */
static int over_daily_limit(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    int t = type_of(st);
    uint64_t est = st->requirement->estimated_tokens, lim = s->cfg.budget.limit[t];
    uint64_t total = s->cfg.budget.total_limit;
    char text[500];
    if (st->alias || t == 0 || (est <= lim && est <= total))
        return 0;
    snprintf(text, sizeof(text), "%s is estimated at %llu tokens, more than %s may spend in a whole day (%llu)",
             st->id, (unsigned long long)est, est > lim ? type_tok_of(t) : "the daily total",
             (unsigned long long)(est > lim ? lim : total));
    st->status = ST_ESCALATED;
    reason(st, WK(HUMAN), "escalated: %s; raise the budget, then orchctl retry %s", text, st->id);
    save(s, st, now);
    if (s->out.reject)
        s->out.reject(s->out.ctx, st->id, "estimate_over_daily_limit", text);
    if (s->out.alert)
        s->out.alert(s->out.ctx, "warning", "estimate_over_daily_limit", st->id, text);
    return 1;
}

/* The ids of a cycle as dag.h writes it ("A -> B -> A"), one at a time:
 * the next id into out, the rest returned (NULL at the end). */
static const char *cycle_next(const char *p, char *out, size_t len)
{
    const char *arrow;
    size_t n;
    if (!p || !*p)
        return NULL;
    arrow = strstr(p, " -> ");
    n = arrow ? (size_t)(arrow - p) : strlen(p);
    snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), p);
    return arrow ? arrow + 4 : p + n;
}

/* The members of a rejected cycle other than the newcomer that closed it:
 * each waits on the next for ever, so each is REJECTED too, naming the
 * cycle (its ids in wait_ids), and reported like the newcomer. */
static void reject_cycle(sched *s, const char *newcomer, const char *cycle, const sched_clock *now)
{
    char id[256], other[256], text[1200];
    for (const char *p = cycle_next(cycle, id, sizeof(id)); p; p = cycle_next(p, id, sizeof(id))) {
        int i = entry_of(s, id);
        pb_state *st = i >= 0 ? s->e[i] : NULL;
        if (!st || !strcmp(id, newcomer) || st->status != ST_BLOCKED)
            continue;
        st->status = ST_REJECTED;
        st->requirement->status = ST_REJECTED;
        reason(st, WK(CYCLE), "rejected: dependency cycle %s", cycle);
        for (const char *q = cycle_next(cycle, other, sizeof(other)); q; q = cycle_next(q, other, sizeof(other))) {
            int dup = !strcmp(other, st->id);
            for (size_t k = 0; k < st->n_wait_ids && !dup; k++)
                dup = !strcmp(st->wait_ids[k], other);
            if (!dup)
                reason_id(st, other);
        }
        save(s, st, now);
        snprintf(text, sizeof(text), "dependency cycle: %s (closed by %s)", cycle, newcomer);
        if (s->out.reject)
            s->out.reject(s->out.ctx, st->id, "cycle", text);
    }
}

int sched_add(sched *s, pb_requirement *r, const sched_clock *now)
{
    int node, i, rc;
    char buf[1024];
    pb_state *st;

    rc = dag_add(s->g, r->id, (const char *const *)r->dependencies, (int)r->n_dependencies, &node, buf, sizeof(buf));
    if (rc == DAG_DUPLICATE) {
        int same = s->node_entry[node] >= 0 && s->e[s->node_entry[node]]->requirement->intake_seq == r->intake_seq &&
                   r->intake_seq != 0;
        if (!same && s->out.reject) {
            snprintf(buf, sizeof(buf), "requirement %s already exists; submit changes under a new id", r->id);
            s->out.reject(s->out.ctx, r->id, "duplicate_id", buf);
        }
        orchestrator__v1__requirement__free_unpacked(r, NULL);
        return same ? 0 : -1;
    }
    if (rc == DAG_CYCLE) {
        char text[1200];
        snprintf(text, sizeof(text), "dependency cycle: %s", buf);
        if (s->out.reject)
            s->out.reject(s->out.ctx, r->id, "cycle", text);
        reject_cycle(s, r->id, buf, now);
        orchestrator__v1__requirement__free_unpacked(r, NULL);
        return -1;
    }
    st = new_state(r);
    st->order = s->next_order++;
    r->status = ORCHESTRATOR__V1__STATUS__STATUS_CLASSIFIED;
    i = new_entry(s, st);
    map_node(s, node, i);
    key_new(s, i, node);
    if (*r->origin_id)
        ensure_alias(s, r->origin_id, r, now);
    if (!over_daily_limit(s, i, now))
        block_or_ready(s, i, now);
    /* Its dependents said "unknown": say what they wait on now. */
    for (int k = 0; k < dag_ndependents(s->g, node); k++) {
        int d = dag_dependent(s->g, node, k);
        int j = d < s->node_cap ? s->node_entry[d] : -1;
        if (j >= 0 && s->e[j]->status == ST_BLOCKED && !s->e[j]->alias)
            block_or_ready(s, j, now);
    }
    if (st->status == ST_READY)
        release_type(s, type_of(st), now);
    check_spawns(s, now);
    return 0;
}

/* An escalation's alert key names the attempt: after a human's retry the
 * same requirement can escalate again, and an alert keyed by the id alone
 * was dropped as a duplicate within the stream's window. */
static const char *escalation_key(const pb_state *st, char *key, size_t len)
{
    snprintf(key, len, "%s-a%u", st->id, st->attempt);
    return key;
}

/* Back to the agent with the next attempt, or to a human past the limit. */
static void send_back(sched *s, int i, const char *output, int count_attempt, int64_t delay_ms,
                      const sched_clock *now)
{
    pb_state *st = s->e[i];
    int t = type_of(st);
    char text[600], key[96];

    leave_flight(s, i);
    /* the next attempt delivers a new change, reviewed and merged anew */
    forget_delivery(st);
    st->review_requested = 0;
    st->review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_UNSPECIFIED;
    st->merge_released = 0;
    if (output) {
        size_t n = strlen(output);
        /* cut on a character: the retry's JSON must stay UTF-8 */
        char *cut = xstrndup(output, text_utf8_prefix(output, n, OUTPUT_MAX));
        pb_set_str(&st->requirement->last_failure_output, cut);
        free(cut);
    }
    if (count_attempt && st->attempt - st->attempt_base >= (uint32_t)s->cfg.max_attempts) {
        st->status = ST_ESCALATED;
        reason(st, WK(HUMAN), "escalated: %u attempts failed; a human must look (orchctl retry %s)",
               st->attempt - st->attempt_base, st->id);
        save(s, st, now);
        if (s->out.alert) {
            snprintf(text, sizeof(text), "%s (%s) escalated after %u attempts: %.300s", st->id,
                     st->requirement->title, st->attempt - st->attempt_base,
                     output ? output : "see its last failure");
            s->out.alert(s->out.ctx, "critical", "escalation", escalation_key(st, key, sizeof(key)), text);
        }
        release_types(s, ~0u, now);
        return;
    }
    if (count_attempt)
        st->attempt++;
    st->retry_at_ms = delay_ms ? now->now_ms + delay_ms : 0;
    st->status = ST_READY;
    queued_reason(s, st, now);
    iheap_push(&s->q[t][prio_of(st)], i);
    save(s, st, now);
    release_types(s, ~0u, now);
}

static void escalate(sched *s, int i, const char *why, const sched_clock *now)
{
    pb_state *st = s->e[i];
    char text[700], key[96];
    leave_flight(s, i);
    st->status = ST_ESCALATED;
    reason(st, WK(HUMAN), "escalated: %.400s", why);
    save(s, st, now);
    if (s->out.alert) {
        snprintf(text, sizeof(text), "%s (%s) escalated: %.400s", st->id, st->requirement->title, why);
        s->out.alert(s->out.ctx, "critical", "escalation", escalation_key(st, key, sizeof(key)), text);
    }
    release_types(s, ~0u, now);
}

/* The key a refusal is published under: the requirement the subject names,
 * else the body's, else the instance. */
static const char *refusal_key(const sched_from *from, const char *body_id, const char *instance)
{
    if (from->id && *from->id)
        return from->id;
    if (body_id && *body_id)
        return body_id;
    return instance && *instance ? instance : "unknown";
}

/* The sender's type: the subject's, which the body may repeat but not
 * contradict. 0 with err filled when they disagree. */
static int sender_type(const sched_from *from, int body_type, char err[ERR_LEN])
{
    if (from->type && body_type && from->type != body_type) {
        snprintf(err, ERR_LEN, "the subject says %s, the body's agentType %s", type_tok_of(from->type < NT ? from->type : 0),
                 type_tok_of(body_type < NT ? body_type : 0));
        return -1;
    }
    return from->type ? from->type : body_type;
}

static void review_answered(sched *s, int i, const pb_result *r, const sched_from *from, const sched_clock *now)
{
    pb_state *st = s->e[i];
    /* A review reports its whole attempt at once: the attempt's bound. */
    uint64_t cap = work_budget(s, st) * (uint64_t)s->cfg.charge_attempt_percent / 100;
    if (r->tokens_used > cap) {
        char text[400];
        snprintf(text, sizeof(text), "%s review: %llu tokens claimed, more than one review may cost (%llu: %lld%% "
                 "of the work's token budget); not charged", st->id, (unsigned long long)r->tokens_used,
                 (unsigned long long)cap, s->cfg.charge_attempt_percent);
        over_bound(s, from, st->id, text);
    } else {
        charge_for(s, st, T_REVIEW, r->tokens_used, now);
    }
    charge_cost(s, T_REVIEW, r->cost_micro_usd, now);
    if (r->review == ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_CHANGES_REQUESTED) {
        char out[OUTPUT_MAX / 4];
        snprintf(out, sizeof(out), "review requested changes: %s", r->summary);
        st->status = ST_VERIFYING; /* so send_back accounts it as work in hand */
        send_back(s, i, out, 1, 0, now);
        return;
    }
    st->review = ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED;
    reason(st, WK(MERGE), "merge: review approved, awaiting the merge");
    save(s, st, now);
    merge_pass(s, now);
}

/* The release agent merged it: recorded once, with what it cost. */
static void merge_done(sched *s, int i, const pb_result *r, const sched_clock *now)
{
    pb_state *st = s->e[i];
    Orchestrator__V1__Delivery *d = delivery_of(st);
    if (d->merged)
        return;
    d->merged = 1;
    pb_set_str(&d->merged_ref, r->ref);
    charge_cost(s, T_RELEASE, r->cost_micro_usd, now);
    reason(st, WK(UNSPECIFIED), "merged: %.200s", *r->summary ? r->summary : "by the release agent");
    save(s, st, now);
}

/* The release agent could not merge it (a conflict, a failing merged
 * state): back to its author as the next attempt, with the exact output. */
static void merge_refused(sched *s, int i, const pb_error *e, const sched_clock *now)
{
    pb_state *st = s->e[i];
    char *out;
    size_t n = strlen(e->message) + 64;
    if (st->status != ST_COMPLETE || (st->delivery && st->delivery->merged))
        return;
    out = xmalloc(n);
    snprintf(out, n, "the merge was refused: %s", e->message);
    st->status = ST_VERIFYING; /* so send_back accounts it as work in hand */
    send_back(s, i, out, 1, 0, now);
    free(out);
}

admit_code sched_result(sched *s, const pb_result *r, const sched_from *from, const sched_clock *now)
{
    int i = entry_of(s, r->requirement_id), type, own;
    pb_state *st = i >= 0 ? s->e[i] : NULL;
    char err[ERR_LEN];
    admit_code c;

    type = sender_type(from, (int)r->agent_type, err);
    if (type <= 0) {
        if (type == 0)
            snprintf(err, ERR_LEN, "the subject names no agent type");
        c = ADMIT_WRONG_TYPE;
    } else {
        c = admit_report(st, type, from->id, r->requirement_id, r->attempt, r->instance, from->claimant, err);
    }
    own = st ? type_of(st) : 0;
    if ((c == ADMIT_OK || c == ADMIT_PAST_ATTEMPT) && r->review && type != T_REVIEW) {
        snprintf(err, ERR_LEN, "%s: only a review agent answers a review (results.review.%s)", st->id, st->id);
        c = ADMIT_WRONG_TYPE;
    }
    if (c == ADMIT_OK && type == T_REVIEW && own != T_REVIEW && !r->review) {
        snprintf(err, ERR_LEN, "%s: a review answers approved or changes_requested", st->id);
        refuse(s, from, st->id, "no_review_outcome", err);
        return ADMIT_WRONG_TYPE;
    }
    if (c == ADMIT_PAST_ATTEMPT) {
        /* Results and verdicts come through different consumers, so after a
         * restart the verdict can be handled first: what a genuine result of
         * its own type cost counts whenever it arrives, and nothing else. */
        unsigned a = r->attempt ? r->attempt : st->attempt;
        if (type == own && charge_attempt(s, st, a, r->tokens_used, from, now) > 0) {
            charge_cost(s, type, r->cost_micro_usd, now); /* with its tokens: once */
            save(s, st, now);
            /* the verdict came first and learned the work without its tokens */
            if (st->status == ST_COMPLETE && a == st->attempt &&
                learn_add_tokens(&s->lrn, type_of(st), (int)st->requirement->complexity, *charged_slot(st, a)))
                persist_learned(s);
        }
        return c;
    }
    if (c != ADMIT_OK) {
        refuse(s, from, refusal_key(from, r->requirement_id, r->instance), admit_reason(c), err);
        return c;
    }
    if (type != own) {
        if (type == T_REVIEW)
            review_answered(s, i, r, from, now);
        else if (type == T_RELEASE)
            merge_done(s, i, r, now);
        return c;
    }
    charge_attempt(s, st, st->attempt, r->tokens_used, from, now);
    if (st->status == ST_DISPATCHED) /* the attempt's first result: its cost counts once */
        charge_cost(s, type, r->cost_micro_usd, now);
    /* what the attempt delivered, for its review and merge */
    pb_set_str(&delivery_of(st)->project, r->project);
    pb_set_str(&st->delivery->ref, r->ref);
    pb_set_str(&st->delivery->summary, r->summary);
    seen(s, type, r->instance, now);
    mark_started(s, st, now);
    if (*r->instance)
        pb_set_str(&st->instance, r->instance);
    if (st->status == ST_DISPATCHED) {
        st->status = ST_VERIFYING;
        reason(st, WK(VERIFYING), "verifying: attempt %u", st->attempt);
    }
    save(s, st, now);
    release_type(s, type_of(st), now);
    return c;
}

/* A completed requirement's duration (its last attempt's start to its verdict) and
 * the tokens of that attempt, learned; keys built on the old figures are
 * recomputed when the figure moved (learn_add). */
static int learn_from(sched *s, const pb_state *st)
{
    uint64_t tokens = 0;
    int64_t from = started_at(s, st);
    if (st->alias || !from || st->completed_at_ms < from)
        return 0;
    if (st->attempt && st->attempt <= st->n_charged_by_attempt)
        tokens = st->charged_by_attempt[st->attempt - 1];
    if (learn_add(&s->lrn, type_of(st), (int)st->requirement->complexity, st->completed_at_ms - from, tokens) &&
        s->cfg.order == SCHED_ORDER_RANK)
        s->rank_stale = 1;
    return 1;
}

void sched_verdict(sched *s, const pb_verdict *v, const sched_clock *now)
{
    int i = entry_of(s, v->requirement_id);
    pb_state *st;

    if (i < 0)
        return;
    st = s->e[i];
    if (!in_flight(st) || (v->attempt && v->attempt != st->attempt))
        return;
    mark_started(s, st, now);
    if (v->n_files_touched) {
        for (size_t k = 0; k < st->n_actual_files; k++)
            free(st->actual_files[k]);
        free(st->actual_files);
        st->actual_files = NULL;
        st->n_actual_files = 0;
        for (size_t k = 0; k < v->n_files_touched; k++)
            pb_add_str(&st->actual_files, &st->n_actual_files, v->files_touched[k]);
    }
    switch (v->kind) {
    case ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS: {
        char msg_id[160];
        leave_flight(s, i);
        st->completed_at_ms = now->now_ms;
        if (learn_from(s, st))
            persist_learned(s);
        st->review_requested = 1;
        if (*v->commit)
            pb_set_str(&delivery_of(st)->commit, v->commit);
        if (*v->base_branch)
            pb_set_str(&delivery_of(st)->base_branch, v->base_branch);
        complete(s, i, now);
        admit_dispatch_id(st, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, 0, msg_id, sizeof(msg_id));
        if (s->out.review)
            s->out.review(s->out.ctx, st, msg_id);
        /* Its files and budget are free: any type may now have work to go. */
        release_types(s, ~0u, now);
        break;
    }
    case ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL:
        send_back(s, i, *v->failing_output ? v->failing_output : v->detail, 1, 0, now);
        break;
    default: /* infrastructure error: not the agent's fault */
        if (++st->infra_retries > (uint32_t)s->cfg.max_infra_retries) {
            char why[600];
            snprintf(why, sizeof(why), "the verifier failed %u times: %.400s", st->infra_retries - 1, v->detail);
            escalate(s, i, why, now);
        } else {
            send_back(s, i, NULL, 0, backoff(s, st->infra_retries), now);
        }
        break;
    }
}

admit_code sched_error(sched *s, const pb_error *e, const sched_from *from, const sched_clock *now)
{
    int i, type;
    pb_state *st;
    char err[ERR_LEN];
    admit_code c;

    /* Services' reports are for people and the monitor; the subject says
     * whose a report is, not the body (the monitor's on behalf of an agent
     * come as the agent's: the adapter passes only those that release work). */
    if (from->subject && !names_error_is_agents(from->subject) && strncmp(from->subject, "errors.monitor.", 15))
        return ADMIT_OK;
    i = entry_of(s, e->requirement_id);
    st = i >= 0 ? s->e[i] : NULL;
    type = sender_type(from, (int)e->agent_type, err);
    c = type < 0 ? ADMIT_WRONG_TYPE
                 : admit_report(st, type, from->id, e->requirement_id, e->attempt, e->instance, from->claimant, err);
    if (c == ADMIT_PAST_ATTEMPT)
        return c; /* about work that is over: nothing to do */
    if (c != ADMIT_OK) {
        refuse(s, from, refusal_key(from, e->requirement_id, e->instance), admit_reason(c), err);
        return c;
    }
    if (type == T_RELEASE && type != type_of(st)) {
        merge_refused(s, i, e, now);
        return c;
    }
    if (type && type != type_of(st))
        return c; /* a reviewer's trouble: not the work's */
    mark_started(s, st, now);
    if (e->transient)
        send_back(s, i, e->message, 1, backoff(s, st->attempt - st->attempt_base), now);
    else
        escalate(s, i, e->message, now);
    return c;
}

/* An idle instance's use: charged to its type as unattributed, up to its
 * bound for the day. */
static admit_code idle_use(sched *s, int type, const char *instance, uint64_t tokens, const sched_from *from,
                           const sched_clock *now)
{
    char key[160], text[400];
    uint64_t cap, *used = NULL;
    int k;

    if (!tokens)
        return ADMIT_OK;
    if (type <= 0 || type >= NT) {
        refuse(s, from, instance, admit_reason(ADMIT_WRONG_TYPE), "the heartbeat's subject names no agent type");
        return ADMIT_WRONG_TYPE;
    }
    if (strcmp(s->idle_day, now->day) != 0) {
        strmap_destroy(s->idle_index);
        s->idle_index = strmap_create();
        s->n_idle = 0;
        snprintf(s->idle_day, sizeof(s->idle_day), "%s", now->day);
    }
    snprintf(key, sizeof(key), "%s.%s", type_tok_of(type), instance);
    if (strmap_get(s->idle_index, key, &k)) {
        used = &s->idle_used[k];
    } else if (s->n_idle < IDLE_INSTANCES_MAX) {
        if (s->n_idle == s->cap_idle) {
            s->cap_idle = s->cap_idle ? s->cap_idle * 2 : 64;
            s->idle_used = xrealloc(s->idle_used, sizeof(uint64_t) * (size_t)s->cap_idle);
        }
        k = s->n_idle++;
        s->idle_used[k] = 0;
        strmap_put(s->idle_index, key, k);
        used = &s->idle_used[k];
    }
    cap = s->cfg.budget.limit[type] * (uint64_t)s->cfg.idle_day_percent / 100;
    if (!used || tokens > cap || *used + tokens > cap) {
        snprintf(text, sizeof(text), "%s instance %s, working on nothing, claimed %llu tokens (%llu today before); "
                 "an idle instance may use %llu a day (%lld%% of the %s limit): not charged", type_tok_of(type), instance,
                 (unsigned long long)tokens, (unsigned long long)(used ? *used : 0), (unsigned long long)cap,
                 s->cfg.idle_day_percent, type_tok_of(type));
        over_bound(s, from, instance, text);
        return ADMIT_OK;
    }
    *used += tokens;
    budget_roll(&s->b, now->day);
    s->b.unattributed[type] += tokens;
    charge(s, type, tokens, now);
    return ADMIT_OK;
}

admit_code sched_heartbeat(sched *s, const pb_heartbeat *h, const sched_from *from, const sched_clock *now)
{
    const char *instance = from->instance && *from->instance ? from->instance : h->instance;
    int i, was, type;
    pb_state *st;
    char err[ERR_LEN];
    admit_code c;

    type = sender_type(from, (int)h->agent_type, err);
    if (type >= 0 && from->instance && *from->instance && *h->instance && strcmp(h->instance, from->instance)) {
        snprintf(err, ERR_LEN, "the subject names instance %.80s, the body %.80s", from->instance, h->instance);
        refuse(s, from, instance, admit_reason(ADMIT_ID_MISMATCH), err);
        return ADMIT_ID_MISMATCH;
    }
    if (type >= 0 && !*h->requirement_id)
    {
        seen(s, type, instance, now);
        return idle_use(s, type, instance, h->tokens_used, from, now);
    }
    i = entry_of(s, h->requirement_id);
    st = i >= 0 ? s->e[i] : NULL;
    c = type < 0 ? ADMIT_WRONG_TYPE
                 : admit_report(st, type, NULL, h->requirement_id, 0, instance, from->claimant, err);
    /* Work no longer in flight, or gone back to wait for its next attempt:
     * its result's total counted what it spent. */
    if (c == ADMIT_PAST_ATTEMPT || (c == ADMIT_NOT_DISPATCHED && st->dispatched_at_ms))
        return c;
    if (c != ADMIT_OK) {
        refuse(s, from, refusal_key(from, h->requirement_id, instance), admit_reason(c), err);
        return c;
    }
    if (type && type != type_of(st))
        return c; /* a reviewer's: the review's result says what it cost */
    seen(s, type_of(st), instance, now);
    was = st->started;
    mark_started(s, st, now);
    /* Once the result is in (VERIFYING), its total is the attempt's: a
     * heartbeat overtaken by it on the way must not add to it. */
    if (h->tokens_used && st->status == ST_DISPATCHED) {
        uint64_t cap = work_budget(s, st) * (uint64_t)s->cfg.charge_message_percent / 100;
        if (h->tokens_used > cap) {
            char text[400];
            snprintf(text, sizeof(text), "%s: a heartbeat of %s claimed %llu tokens, more than one report may "
                     "charge (%llu: %lld%% of its token budget); not charged", st->id, instance,
                     (unsigned long long)h->tokens_used, (unsigned long long)cap, s->cfg.charge_message_percent);
            over_bound(s, from, st->id, text);
        } else {
            charge_attempt(s, st, st->attempt, *charged_slot(st, st->attempt) + h->tokens_used, from, now);
        }
    }
    if (*instance)
        pb_set_str(&st->instance, instance);
    if (!was || h->tokens_used)
        save(s, st, now);
    if (!was)
        release_type(s, type_of(st), now);
    return c;
}

int sched_retry(sched *s, const char *id, const sched_clock *now, char *err, size_t len)
{
    int i = entry_of(s, id);
    pb_state *st;
    if (i < 0) {
        snprintf(err, len, "no requirement %s", id);
        return -1;
    }
    st = s->e[i];
    if (st->status != ST_ESCALATED) {
        snprintf(err, len, "%s is %s, not ESCALATED", id, names_status(st->status));
        return -1;
    }
    st->attempt_base = st->attempt;
    st->attempt++;
    st->infra_retries = 0;
    st->retry_at_ms = 0;
    st->status = ST_READY;
    queued_reason(s, st, now);
    iheap_push(&s->q[type_of(st)][prio_of(st)], i);
    save(s, st, now);
    release_type(s, type_of(st), now);
    return 0;
}

void sched_tick(sched *s, const sched_clock *now)
{
    maybe_rerank(s, 1);
    if (budget_roll(&s->b, now->day))
        check_conservation(s, now);
    if (s->cfg.turn_minutes > 0) {
        unsigned due = 0;
        for (int t = 1; t < NT; t++)
            if (sched_turn_due(&s->cfg, t, now->minute))
                due |= 1u << t;
        if (!due || now->minute == s->last_turn_minute)
            return;
        s->last_turn_minute = now->minute;
        s->in_turn = 1;
        release_types(s, due, now);
        s->in_turn = 0;
        release_types(s, due, now); /* what is left says when its next turn is */
    } else {
        release_types(s, ~0u, now);
    }
    check_spawns(s, now);
    sched_prune(s, now);
}

/* --- restart ------------------------------------------------------------------ */

void sched_restore(sched *s, pb_state *st)
{
    int node;
    char buf[512];
    pb_requirement *r = st->requirement;
    if (!r || dag_add(s->g, st->id, (const char *const *)r->dependencies, (int)r->n_dependencies, &node, buf,
                      sizeof(buf)) != DAG_OK) {
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
        return;
    }
    map_node(s, node, new_entry(s, st));
    if (st->order >= s->next_order)
        s->next_order = st->order + 1;
    if (!strcmp(st->charged_day, s->b.day)) { /* today's charges travel with the state */
        int own = type_of(st), rv = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
        s->b.used[own] += st->charged_day_own;
        s->b.used[rv] += st->charged_day_review;
        s->b.used_total += st->charged_day_own + st->charged_day_review;
    }
}

orch_status sched_restore_learned(sched *s, const char *json, size_t len, char err[ERR_LEN])
{
    orch_status rc = learn_from_json(&s->lrn, json, len, err);
    if (rc == ORCH_OK) {
        s->learn_restored = 1;
        s->rank_stale = 1;
    }
    return rc;
}

void sched_restore_budget(sched *s, const char *day, int type, uint64_t unattributed, uint64_t cost_micro_usd)
{
    if (strcmp(day, s->b.day) != 0 || type <= 0 || type >= NT)
        return;
    s->b.unattributed[type] = unattributed;
    s->b.used[type] += unattributed;
    s->b.used_total += unattributed;
    s->b.cost_micro_usd_total += cost_micro_usd - s->b.cost_micro_usd[type];
    s->b.cost_micro_usd[type] = cost_micro_usd;
}

void sched_resume(sched *s, const sched_clock *now)
{
    int learned = 0;
    for (int i = 0; i < s->n; i++)
        if (s->e[i] && s->e[i]->status == ST_COMPLETE)
            dag_complete(s->g, dag_find(s->g, s->e[i]->id), NULL, NULL);
    for (int i = 0; i < s->n; i++) {
        pb_state *st = s->e[i];
        if (!st)
            continue;
        switch ((int)st->status) {
        case ST_READY:
            iheap_push(&s->q[type_of(st)][prio_of(st)], i);
            break;
        case ST_DISPATCHED:
        case ST_VERIFYING:
            budget_reserve(&s->b, type_of(st), st->reserved_tokens);
            enter_flight(s, i);
            if (st->status == ST_DISPATCHED && !st->published && s->out.dispatch) {
                /* Decided but not confirmed: publish again; the message id
                 * makes a second copy a no-op. */
                char msg_id[160], why[ERR_LEN] = "";
                int rc;
                admit_dispatch_id(st, type_of(st), 0, msg_id, sizeof(msg_id));
                rc = s->out.dispatch(s->out.ctx, st, msg_id, why);
                if (rc == 0) {
                    st->published = 1;
                    save(s, st, now);
                } else if (rc == SCHED_REFUSED) {
                    leave_flight(s, i);
                    reject_unpublishable(s, i, why, now);
                }
            }
            break;
        case ST_COMPLETE:
            if (!s->learn_restored)
                learned += learn_from(s, st);
            break;
        default:
            break;
        }
    }
    /* Blocked work whose dependencies completed meanwhile. */
    for (int i = 0; i < s->n; i++)
        if (s->e[i] && s->e[i]->status == ST_BLOCKED && dag_unmet(s->g, dag_find(s->g, s->e[i]->id)) == 0)
            make_ready(s, i, now);
    if (learned)
        persist_learned(s); /* figures learned from the states, kept from now on */
    s->rank_stale = 1;
    s->resumed = 1;
    check_conservation(s, now);
    merge_pass(s, now);
    sched_tick(s, now);
}

/* --- queries ------------------------------------------------------------------------ */

const pb_state *sched_get(const sched *s, const char *id)
{
    int i = entry_of(s, id);
    return i >= 0 ? s->e[i] : NULL;
}

typedef struct {
    sched *s;
    const sched_clock *now;
} weight_ctx;

static int64_t expected(const sched *s, int t, int c)
{
    return learn_duration(&s->lrn, t, c, NULL);
}

static int64_t weight(int node, void *arg)
{
    weight_ctx *w = arg;
    sched *s = w->s;
    int i = node < s->node_cap ? s->node_entry[node] : -1;
    pb_state *st;
    int64_t d;
    if (i == PRUNED)
        return 0;
    if (i < 0)
        return s->cfg.duration_ms[0]; /* unknown yet: a medium guess */
    st = s->e[i];
    if (st->alias || st->status == ST_COMPLETE || st->status == ST_ESCALATED)
        return 0;
    d = expected(s, type_of(st), st->requirement->complexity);
    if (in_flight(st)) {
        d -= w->now->now_ms - st->dispatched_at_ms;
        if (d < 0)
            d = 0;
    }
    return d;
}

/* The forecast: the rest of the roadmap simulated (sim.c) FORECAST_RUNS
 * times, each with durations drawn from what was learned (learn_draw: work
 * in flight, what is left of it), released work not started yet ahead of
 * the ready queue, the agents seen. A requirement's ETA is the mean of its
 * simulated ends; the roadmap's is the mean of the runs' ends, and its late
 * ETA the 90th percentile. Several runs, not one with mean durations: the
 * end of parallel work is the latest of several uncertain ends, which is
 * later than the latest of their means, so a single run is optimistic.
 * Kept until a state changes, the time moves or the agents seen change. */
#define FORECAST_RUNS 16

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void forecast(sched *s, const sched_clock *now)
{
    int *idx, *ent, *deps = NULL, nd = 0, capd = 0, n = 0, agents[NT], *never;
    sim_task *task;
    int64_t *fin, *sum, *elapsed, ends[FORECAST_RUNS];
    uint64_t rng = ((uint64_t)now->now_ms * 2654435761u ^ s->changes ^ 0x9e3779b97f4a7c15ull) | 1;

    for (int t = 0; t < NT; t++)
        agents[t] = sched_agents(s, t, now);
    if (s->fc_valid && s->fc_changes == s->changes && s->fc_now == now->now_ms &&
        !memcmp(agents, s->fc_agents, sizeof(agents)))
        return;
    memcpy(s->fc_agents, agents, sizeof(agents));
    maybe_rerank(s, 1);
    idx = xmalloc(sizeof(int) * ((size_t)s->n + 1));
    ent = xmalloc(sizeof(int) * ((size_t)s->n + 1));
    task = xcalloc((size_t)s->n + 1, sizeof(*task));
    fin = xmalloc(sizeof(int64_t) * ((size_t)s->n + 1));
    sum = xcalloc((size_t)s->n + 1, sizeof(int64_t));
    elapsed = xcalloc((size_t)s->n + 1, sizeof(int64_t));
    never = xcalloc((size_t)s->n + 1, sizeof(int));
    for (int i = 0; i < s->n; i++) {
        idx[i] = s->e[i] && !finished(s->e[i]) ? n : -1;
        if (idx[i] >= 0)
            ent[n++] = i;
    }
    for (int i = 0; i < s->n; i++) {
        pb_state *st = s->e[i];
        sim_task *k;
        int node;
        if (idx[i] < 0)
            continue;
        k = &task[idx[i]];
        node = dag_find(s->g, st->id);
        k->type = st->alias ? 0 : type_of(st);
        k->prio = prio_of(st);
        k->key = s->key[i];
        k->order = st->order;
        k->expect = st->alias || st->status == ST_VERIFYING ? 0 : expected_of(s, st);
        if (st->status == ST_VERIFYING || (st->status == ST_DISPATCHED && st->started)) {
            k->running = 1;
            elapsed[idx[i]] = now->now_ms - started_at(s, st);
            k->expect = k->expect > elapsed[idx[i]] ? k->expect - elapsed[idx[i]] : 0;
        } else if (st->status == ST_DISPATCHED) {
            k->prio = 0; /* on the stream: free agents take it first, in the order it went out */
            k->key = 0;
            k->order = (uint64_t)st->dispatched_at_ms;
        }
        k->first_dep = nd;
        for (int j = 0; j < dag_ndeps(s->g, node); j++) {
            int d = dag_dep(s->g, node, j), e = d < s->node_cap ? s->node_entry[d] : -1;
            if (dag_complete_p(s->g, d))
                continue;
            if (nd == capd) {
                capd = capd ? capd * 2 : 256;
                deps = xrealloc(deps, sizeof(int) * (size_t)capd);
            }
            deps[nd++] = e >= 0 ? idx[e] : -1; /* -1: unknown or stopped, never done */
            k->ndeps++;
        }
    }
    for (int r = 0; r < FORECAST_RUNS; r++) {
        for (int k = 0; k < n; k++) {
            const pb_state *st = s->e[ent[k]];
            task[k].duration = st->alias || st->status == ST_VERIFYING
                                   ? 0
                                   : learn_draw(&s->lrn, type_of(st), (int)st->requirement->complexity, elapsed[k],
                                                &rng);
        }
        ends[r] = n ? sim_run(task, n, deps, agents, s->cfg.reserve && s->cfg.order == SCHED_ORDER_RANK, fin) : 0;
        for (int k = 0; k < n; k++) {
            if (fin[k] < 0)
                never[k] = 1;
            sum[k] += fin[k];
        }
    }
    free(s->fc_eta);
    s->fc_eta = xcalloc((size_t)s->n + 1, sizeof(int64_t));
    for (int k = 0; k < n; k++)
        s->fc_eta[ent[k]] = never[k] ? 0 : now->now_ms + sum[k] / FORECAST_RUNS;
    qsort(ends, FORECAST_RUNS, sizeof(int64_t), cmp_i64);
    s->fc_end = s->fc_late = 0;
    if (n) {
        int64_t total = 0;
        for (int r = 0; r < FORECAST_RUNS; r++)
            total += ends[r];
        s->fc_end = now->now_ms + total / FORECAST_RUNS;
        s->fc_late = now->now_ms + ends[(FORECAST_RUNS * 9 + 9) / 10 - 1];
        /* one run far out can pull the mean past the 90th percentile: the
         * late ETA is never before the ETA */
        if (s->fc_late < s->fc_end)
            s->fc_late = s->fc_end;
    }
    s->fc_valid = 1;
    s->fc_changes = s->changes;
    s->fc_now = now->now_ms;
    free(idx);
    free(ent);
    free(task);
    free(fin);
    free(sum);
    free(elapsed);
    free(never);
    free(deps);
}

int64_t sched_eta(sched *s, const char *id, const sched_clock *now)
{
    int i = entry_of(s, id);
    if (i < 0 || !s->e[i] || finished(s->e[i]))
        return 0;
    forecast(s, now);
    return s->fc_eta[i];
}

int64_t sched_roadmap_eta(sched *s, const sched_clock *now, int64_t *late_ms)
{
    forecast(s, now);
    if (late_ms)
        *late_ms = s->fc_late;
    return s->fc_end;
}

int sched_agents(const sched *s, int type, const sched_clock *now)
{
    int n = 0;
    for (int k = 0; k < s->n_agents; k++)
        if (s->agent[k].type == type && now->now_ms - s->agent[k].seen_ms <= s->cfg.agent_seen_ms)
            n++;
    return n;
}

const learn *sched_learned(const sched *s) { return &s->lrn; }

int sched_critical_path(sched *s, const sched_clock *now, const char **out, int max, int64_t *finish_ms)
{
    size_t n = dag_count(s->g);
    int64_t *ef = xmalloc(sizeof(int64_t) * (n + 1));
    int *path = xmalloc(sizeof(int) * (size_t)(max + 1));
    weight_ctx w = {s, now};
    int len = 0, k = 0;
    *finish_ms = 0;
    if (n) {
        dag_longest(s->g, weight, &w, ef);
        len = dag_critical_path(s->g, ef, path, max);
        for (int i = 0; i < len; i++) {
            int e = path[i] < s->node_cap ? s->node_entry[path[i]] : -1;
            /* only unfinished work is on the path */
            if (e == PRUNED || (e >= 0 && (s->e[e]->alias || s->e[e]->status == ST_COMPLETE)))
                continue;
            out[k++] = dag_id(s->g, path[i]);
        }
        if (len)
            *finish_ms = now->now_ms + ef[path[len - 1]];
    }
    free(ef);
    free(path);
    return k;
}

size_t sched_count(const sched *s, size_t by_status[10])
{
    size_t n = 0;
    for (int k = 0; k < 10; k++) {
        by_status[k] = s->pruned_by_status[k];
        n += s->pruned_by_status[k];
    }
    for (int i = 0; i < s->n; i++) {
        if (!s->e[i] || s->e[i]->alias)
            continue;
        n++;
        if ((unsigned)s->e[i]->status < 10)
            by_status[s->e[i]->status]++;
    }
    return n;
}

void sched_each(const sched *s, void (*fn)(const pb_state *st, void *arg), void *arg)
{
    for (int i = 0; i < s->n; i++)
        if (s->e[i] && !s->e[i]->alias)
            fn(s->e[i], arg);
}

int sched_slots(const sched *s) { return s->n; }

const pb_state *sched_slot(const sched *s, int i)
{
    return i >= 0 && i < s->n ? s->e[i] : NULL;
}

/* Whether st is finished for good and past the retention: COMPLETE with its
 * merge released, or REJECTED. ESCALATED is not: a human may retry it. */
static int prunable(const sched *s, const pb_state *st, const sched_clock *now)
{
    int64_t since = st->completed_at_ms ? st->completed_at_ms : st->updated_at_ms;
    if (st->alias || now->now_ms - since < s->cfg.retention_s * 1000)
        return 0;
    return (st->status == ST_COMPLETE && st->merge_released) || st->status == ST_REJECTED;
}

int sched_prune(sched *s, const sched_clock *now)
{
    int n = 0;
    if (s->cfg.retention_s <= 0)
        return 0;
    for (int i = 0; i < s->n; i++) {
        pb_state *st = s->e[i];
        if (!st || !prunable(s, st, now))
            continue;
        /* the DAG keeps the id, complete or not, so dependents still see it */
        map_node(s, dag_find(s->g, st->id), PRUNED);
        if ((unsigned)st->status < 10)
            s->pruned_by_status[st->status]++;
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
        s->e[i] = NULL;
        n++;
    }
    return n;
}

const budget *sched_budget(const sched *s) { return &s->b; }
int sched_conservation(const sched *s) { return s->conserving; }
