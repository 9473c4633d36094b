/* The scheduler's entry table and the life of every requirement in it:
 * what each event (a new requirement, a result, a verdict, an agent error,
 * a heartbeat, a human retry, the clock) does to a requirement's status,
 * which requirements are let go of once finished, and the queries over
 * them. What is released when (sched_release.c), what is charged
 * (sched_ledger.c), what is expected (sched_forecast.c), merges
 * (sched_merge.c) and a restart (sched_restore.c) have their own files;
 * sched_int.h maps them. */
#include "schedule.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "sched_int.h"
#include "text.h"

/* --- the entry table ------------------------------------------------------- */

/* Why st is where it is: kind (a WaitKind: what it waits on, for
 * programs) and the prose (for people, one wording per kind, always
 * "<kind>: ..."); the ids the wait names are cleared (reason_id adds
 * them). Returns 1 when anything changed, so a pass that says the same
 * again need not save. */
int sched_reason(pb_state *st, int kind, const char *fmt, ...)
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

void sched_reason_id(pb_state *st, const char *id) { pb_add_str(&st->wait_ids, &st->n_wait_ids, id); }

void sched_save(sched *s, pb_state *st, const sched_clock *now)
{
    st->updated_at_ms = now->now_ms;
    s->changes++;
    if (s->out.save)
        s->out.save(s->out.ctx, st);
}

int sched_entry_of(const sched *s, const char *id)
{
    return entry_at(s, dag_find(s->g, id));
}

void sched_map_node(sched *s, int node, int entry)
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

int sched_new_entry(sched *s, pb_state *st)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->e = xrealloc(s->e, sizeof(*s->e) * (size_t)s->cap);
        forecast_grow(s, s->cap);
        release_grow(&s->rel, s->cap);
    }
    s->e[s->n] = st;
    s->rk.key[s->n] = 0;
    release_new_entry(&s->rel, s->n);
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

/* --- create ---------------------------------------------------------------- */

void sched_cfg_default(sched_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->window = SCHED_DEF_WINDOW;
    c->overlap_percent = SCHED_DEF_OVERLAP_PERCENT;
    c->max_attempts = SCHED_DEF_MAX_ATTEMPTS;
    c->max_infra_retries = SCHED_DEF_MAX_INFRA_RETRIES;
    c->max_merge_refusals = SCHED_DEF_MAX_MERGE_REFUSALS;
    c->train_ahead = SCHED_DEF_TRAIN_AHEAD;
    c->train_base_retry_ms = SCHED_DEF_TRAIN_BASE_RETRY_MS;
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

sched *sched_create(const sched_cfg *c, const sched_out *out, const sched_clock *now)
{
    sched *s = xcalloc(1, sizeof(*s));
    s->cfg = *c;
    s->out = *out;
    if (c->merge_train)
        s->out.merge = NULL; /* the train merges: nothing goes to a release agent */
    s->g = dag_create();
    s->next_order = 1;
    release_init(&s->rel, s);
    ledger_init(&s->led, &c->budget, now->day);
    forecast_init(s);
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
    free(s->node_entry);
    release_free(&s->rel);
    ledger_free(&s->led);
    forecast_free(s);
    merge_free(&s->mg);
    people_free(s);
    dag_destroy(s->g);
    free(s);
}

/* The accepted attempt's change, made on first use. */
Orchestrator__V1__Delivery *sched_delivery(pb_state *st)
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

/* --- reports that do not count ------------------------------------------------ */

void sched_refuse(sched *s, const sched_from *from, const char *key, const char *why, const char *text)
{
    if (s->out.refuse)
        s->out.refuse(s->out.ctx, key, why, text, from);
}

void sched_make_ready(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    if (st->alias) {
        sched_complete(s, i, now);
        return;
    }
    st->status = ST_READY;
    release_queued_reason(s, st, now);
    for (size_t k = 0; k < st->n_blocked_by; k++)
        free(st->blocked_by[k]);
    free(st->blocked_by);
    st->blocked_by = NULL;
    st->n_blocked_by = 0;
    release_push(s, i);
    sched_save(s, st, now);
}

typedef struct {
    sched *s;
    const sched_clock *now;
    unsigned types;     /* bit per type touched */
} ready_ctx;

static void on_ready(int node, void *arg)
{
    ready_ctx *c = arg;
    int i = entry_at(c->s, node);
    if (i < 0 || c->s->e[i]->status != ST_BLOCKED)
        return;
    c->types |= 1u << type_of(c->s->e[i]);
    sched_make_ready(c->s, i, c->now);
}

static int block_or_ready(sched *s, int i, const sched_clock *now);

/* Whether st will not finish unless a person acts: rejected, or
 * escalated. */
static int wont_finish(const pb_state *st) { return st->status == ST_REJECTED || st->status == ST_ESCALATED; }

static int dead_end(const pb_state *st) { return st->status == ST_BLOCKED && st->wait_kind == WK(DEAD_END); }

/* The blocked dependents of node, after it changed (completed, escalated,
 * rejected, retried): what they wait on now (those it freed are ready
 * already). A dead end runs down the whole chain: a dependent that becomes
 * one, stops being one, or names other roots has its own dependents looked
 * at again (a list, not recursion: chains may be long). Returns how many
 * requirements became dead ends. */
static int refresh_blocked(sched *s, int node, const sched_clock *now)
{
    int *todo = xmalloc(sizeof(int) * 16), n = 0, cap = 16, became = 0;
    todo[n++] = node;
    while (n) {
        int x = todo[--n];
        for (int k = 0; k < dag_ndependents(s->g, x); k++) {
            int d = dag_dependent(s->g, x, k), j = entry_at(s, d), was;
            if (j < 0 || s->e[j]->status != ST_BLOCKED)
                continue;
            was = dead_end(s->e[j]);
            if (!block_or_ready(s, j, now) || (!was && !dead_end(s->e[j])))
                continue;
            became += !was && dead_end(s->e[j]);
            if (n == cap) {
                cap *= 2;
                todo = xrealloc(todo, sizeof(int) * (size_t)cap);
            }
            todo[n++] = d;
        }
    }
    free(todo);
    return became;
}

void sched_refresh_dependents(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    int became = refresh_blocked(s, dag_find(s->g, st->id), now);
    char text[700];
    if (!became || !wont_finish(st) || !s->out.alert)
        return;
    /* once, when the root stops: its dependents are listed as dead ends */
    snprintf(text, sizeof(text), "%d requirement%s wait%s on %s, which will not finish (%s): %s", became,
             became == 1 ? "" : "s", became == 1 ? "s" : "", st->id, names_status(st->status),
             st->status == ST_ESCALATED ? "orchctl retry it once the cause is fixed"
                                        : "submit it again under a new id, with what waits on it");
    s->out.alert(s->out.ctx, "warning", "dead_end", st->id, text);
}

void sched_complete(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    ready_ctx c = {s, now, 0};
    st->status = ST_COMPLETE;
    if (!st->completed_at_ms)
        st->completed_at_ms = now->now_ms;
    if (st->alias)
        sched_reason(st, WK(UNSPECIFIED), "complete: all parts complete");
    sched_save(s, st, now);
    dag_complete(s->g, dag_find(s->g, st->id), on_ready, &c);
    refresh_blocked(s, dag_find(s->g, st->id), now);
    release_types(s, c.types, now);
}

/* --- events ----------------------------------------------------------------------- */

/* What node waits on, for people: each unfinished dependency and, where it
 * is not simply not done yet, where it is ("REQ-1 (in review)", "REQ-2
 * (escalated: waits for a person)"), so work behind a dead end says so. */
static void blockers_text(const sched *s, int node, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < dag_ndeps(s->g, node) && used < len; k++) {
        int d = dag_dep(s->g, node, k), j = entry_at(s, d);
        const char *where = "";
        if (dag_complete_p(s->g, d))
            continue;
        if (j == -1 && !dag_known(s->g, d))
            where = " (unknown)";
        else if (j >= 0 && s->e[j]->status == ST_REVIEWING)
            where = " (in review)";
        else if (j >= 0 && s->e[j]->status == ST_MERGING)
            where = " (merging)";
        else if (j >= 0 && s->e[j]->status == ST_ESCALATED)
            where = " (escalated: waits for a person)";
        else if (j >= 0 && people_cancelled(s->e[j]))
            where = " (cancelled)";
        else if (j >= 0 && s->e[j]->status == ST_REJECTED)
            where = " (rejected: will never finish)";
        used += (size_t)snprintf(buf + used, len - used, "%s%s%s", used ? ", " : "", dag_id(s->g, d), where);
    }
}

/* The roots of the dead end node is in, if it is one: each unmet
 * dependency that will not finish, and the roots of each unmet dependency
 * that is a dead end itself; at most max, each once. Returns how many. */
static int dead_end_roots(const sched *s, int node, const char **roots, int max)
{
    int n = 0;
    for (int k = 0; k < dag_ndeps(s->g, node); k++) {
        int d = dag_dep(s->g, node, k), j = entry_at(s, d);
        const pb_state *dep = j >= 0 ? s->e[j] : NULL;
        size_t nr;
        if (!dep || dag_complete_p(s->g, d))
            continue;
        nr = wont_finish(dep) ? 1 : dead_end(dep) ? dep->n_wait_ids : 0;
        for (size_t r = 0; r < nr; r++) {
            const char *id = wont_finish(dep) ? dep->id : dep->wait_ids[r];
            int dup = 0;
            for (int q = 0; q < n && !dup; q++)
                dup = !strcmp(roots[q], id);
            if (!dup && n < max)
                roots[n++] = id;
        }
    }
    return n;
}

#define DEAD_END_ROOTS_MAX 8

/* Whether id is one of node's own dependencies. */
static int depends_on(const sched *s, int node, const char *id)
{
    for (int k = 0; k < dag_ndeps(s->g, node); k++)
        if (!strcmp(dag_id(s->g, dag_dep(s->g, node, k)), id))
            return 1;
    return 0;
}

/* Blocks entry i on its unmet dependencies (a dead end when some will not
 * finish: then wait_ids are the roots, not the dependencies), or makes it
 * ready when none is left; saves it when its wait changed. Returns 1 when
 * it changed. */
static int block_or_ready(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    int node = dag_find(s->g, st->id), nroots, changed;
    const char *roots[DEAD_END_ROOTS_MAX];
    char buf[512], rb[400];
    size_t used = 0;
    int cancelled = 0; /* a root was withdrawn by a person: say so first */
    if (dag_unmet(s->g, node) == 0) {
        sched_make_ready(s, i, now);
        return 1;
    }
    blockers_text(s, node, buf, sizeof(buf));
    changed = st->status != ST_BLOCKED;
    st->status = ST_BLOCKED;
    nroots = dead_end_roots(s, node, roots, DEAD_END_ROOTS_MAX);
    rb[0] = '\0';
    for (int k = 0; k < nroots && used < sizeof(rb); k++) {
        const pb_state *r = s->e[sched_entry_of(s, roots[k])];
        if (r->status == ST_ESCALATED)
            used += (size_t)snprintf(rb + used, sizeof(rb) - used, "%s%s (escalated: orchctl retry %s)", k ? ", " : "",
                                     r->id, r->id);
        else
            used += (size_t)snprintf(rb + used, sizeof(rb) - used, "%s%s (%s)", k ? ", " : "", r->id,
                                     people_cancelled(r) ? "cancelled" : "rejected");
        cancelled |= people_cancelled(r);
    }
    if (nroots) {
        int direct = 1; /* every root is a dependency: buf says it all */
        for (int k = 0; k < nroots && direct; k++)
            direct = depends_on(s, node, roots[k]);
        if (sched_reason(st, WK(DEAD_END), "%s: waiting on %s%s%s", cancelled ? "dependency cancelled" : "dead end", buf,
                         direct ? "" : ", behind ",
                         direct ? "" : rb)) {
            changed = 1;
            for (int k = 0; k < nroots; k++)
                sched_reason_id(st, roots[k]);
        }
    } else if (sched_reason(st, WK(DEPENDENCY), "dependency: waiting on %s", buf)) {
        changed = 1;
        for (int k = 0; k < dag_ndeps(s->g, node); k++) {
            int d = dag_dep(s->g, node, k);
            if (!dag_complete_p(s->g, d))
                sched_reason_id(st, dag_id(s->g, d));
        }
    }
    for (size_t k = 0; k < st->n_blocked_by; k++)
        free(st->blocked_by[k]);
    free(st->blocked_by);
    st->blocked_by = NULL;
    st->n_blocked_by = 0;
    for (int k = 0; k < dag_ndeps(s->g, node); k++) {
        int d = dag_dep(s->g, node, k);
        if (!dag_complete_p(s->g, d))
            pb_add_str(&st->blocked_by, &st->n_blocked_by, dag_id(s->g, d));
    }
    sched_save(s, st, now);
    return changed;
}

/* The requirement a split part stands for: a node with no work that depends
 * on every part, so that depending on the original id waits for them all. */
static void ensure_alias(sched *s, const char *origin, const pb_requirement *pr, const sched_clock *now)
{
    int i = sched_entry_of(s, origin), node;
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
        sched_map_node(s, node, sched_new_entry(s, st));
        block_or_ready(s, s->n - 1, now);
    }
}

/* An estimate above what its type (or the day in total) may spend would
 * wait forever: escalated at once, with an error and an alert. Returns 1
 * when it was. */
/* Whether st's estimate is more than its type (or the day in total) may
 * spend in a whole day; text says so when it is. */
static int beyond_a_day(const sched *s, const pb_state *st, char *text, size_t len)
{
    int t = type_of(st);
    uint64_t est = st->requirement->estimated_tokens, lim = s->cfg.budget.limit[t];
    uint64_t total = s->cfg.budget.total_limit;
    if (st->alias || t == 0 || (est <= lim && est <= total))
        return 0;
    snprintf(text, len, "%s is estimated at %llu tokens, more than %s may spend in a whole day (%llu)", st->id,
             (unsigned long long)est, est > lim ? type_tok(t) : "the daily total",
             (unsigned long long)(est > lim ? lim : total));
    return 1;
}

static int over_daily_limit(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    char text[500];
    if (!beyond_a_day(s, st, text, sizeof(text)))
        return 0;
    st->status = ST_ESCALATED;
    sched_reason(st, WK(HUMAN), "escalated: %s; raise the budget, then orchctl retry %s", text, st->id);
    sched_save(s, st, now);
    sched_refresh_dependents(s, i, now);
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
        int i = sched_entry_of(s, id);
        pb_state *st = i >= 0 ? s->e[i] : NULL;
        if (!st || !strcmp(id, newcomer) || st->status != ST_BLOCKED)
            continue;
        st->status = ST_REJECTED;
        st->requirement->status = ST_REJECTED;
        sched_reason(st, WK(CYCLE), "rejected: dependency cycle %s", cycle);
        for (const char *q = cycle_next(cycle, other, sizeof(other)); q; q = cycle_next(q, other, sizeof(other))) {
            int dup = !strcmp(other, st->id);
            for (size_t k = 0; k < st->n_wait_ids && !dup; k++)
                dup = !strcmp(st->wait_ids[k], other);
            if (!dup)
                sched_reason_id(st, other);
        }
        sched_save(s, st, now);
        snprintf(text, sizeof(text), "dependency cycle: %s (closed by %s)", cycle, newcomer);
        if (s->out.reject)
            s->out.reject(s->out.ctx, st->id, "cycle", text);
        sched_refresh_dependents(s, i, now); /* what waits on it is a dead end now */
    }
}

/* A new entry for r (taken) at graph node, next in arrival order. Returns
 * its index. */
static int add_entry(sched *s, pb_requirement *r, int node)
{
    pb_state *st = new_state(r);
    int i;
    st->order = s->next_order++;
    i = sched_new_entry(s, st);
    sched_map_node(s, node, i);
    forecast_key_new(s, i, node);
    return i;
}

/* The newcomer that closed a cycle (or names itself), kept as REJECTED so
 * that its status says why rather than that it does not exist. It goes
 * into the graph without its dependencies (with them the graph would hold
 * the cycle); the reason names them, and its requirement keeps none, so a
 * restart restores it as it is. Takes r. */
static void keep_rejected(sched *s, pb_requirement *r, const char *cycle, const sched_clock *now)
{
    char deps[400], member[256];
    size_t used = 0;
    int node, i;
    pb_state *st;
    if (dag_add(s->g, r->id, NULL, 0, &node, member, sizeof(member)) != DAG_OK) {
        orchestrator__v1__requirement__free_unpacked(r, NULL);
        return;
    }
    deps[0] = '\0';
    for (size_t k = 0; k < r->n_dependencies && used < sizeof(deps); k++) {
        used += (size_t)snprintf(deps + used, sizeof(deps) - used, "%s%s", k ? ", " : "", r->dependencies[k]);
        free(r->dependencies[k]);
    }
    free(r->dependencies);
    r->dependencies = NULL;
    r->n_dependencies = 0;
    r->status = ST_REJECTED;
    i = add_entry(s, r, node);
    st = s->e[i];
    st->status = ST_REJECTED;
    sched_reason(st, WK(CYCLE), "rejected: dependency cycle %s (its dependencies, not kept: %s); submit it again "
                 "under a new id without the cycle", cycle, deps);
    for (const char *p = cycle_next(cycle, member, sizeof(member)); p; p = cycle_next(p, member, sizeof(member)))
        if (strcmp(member, st->id))
            sched_reason_id(st, member);
    sched_save(s, st, now);
    sched_refresh_dependents(s, i, now);
}

/* The seed's "blocking other work": a requirement that this many others
 * wait on is at least HIGH. The router raises what it sees in one intake
 * message (route_blocking); dependents that come later are counted here. */
#define BLOCKING_DEPENDENTS 3

/* Raises the requirement at node to HIGH when BLOCKING_DEPENDENTS others
 * wait on it now, unless its priority was given or is HIGH already. */
static void raise_blocking(sched *s, int node, const sched_clock *now)
{
    int j = entry_at(s, node), n = dag_ndependents(s->g, node);
    pb_state *st = j >= 0 ? s->e[j] : NULL;
    pb_requirement *r;
    char rule[64];
    if (!st || st->alias || n < BLOCKING_DEPENDENTS)
        return;
    r = st->requirement;
    if (r->priority_given || (r->priority && r->priority <= ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH))
        return;
    r->priority = ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH;
    snprintf(rule, sizeof(rule), "structure:blocks %d requirements", n);
    {
        Orchestrator__V1__ClassifyReason *why = xmalloc(sizeof(*why));
        orchestrator__v1__classify_reason__init(why);
        why->rule = xstrdup(rule);
        why->type = r->type;
        r->reasons = xrealloc(r->reasons, sizeof(*r->reasons) * (r->n_reasons + 1));
        r->reasons[r->n_reasons++] = why;
    }
    if (st->status == ST_READY)
        release_push(s, j); /* into HIGH's queue: the copy left in the old one is passed over */
    sched_save(s, st, now);
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
        keep_rejected(s, r, buf, now);
        return -1;
    }
    r->status = ORCHESTRATOR__V1__STATUS__STATUS_CLASSIFIED;
    i = add_entry(s, r, node);
    st = s->e[i];
    if (*r->origin_id)
        ensure_alias(s, r->origin_id, r, now);
    if (!over_daily_limit(s, i, now))
        block_or_ready(s, i, now);
    /* Its dependents said "unknown": say what they wait on now. */
    for (int k = 0; k < dag_ndependents(s->g, node); k++) {
        int d = dag_dependent(s->g, node, k);
        int j = entry_at(s, d);
        if (j >= 0 && s->e[j]->status == ST_BLOCKED && !s->e[j]->alias)
            block_or_ready(s, j, now);
    }
    raise_blocking(s, node, now); /* others waited on it before it came */
    for (int k = 0; k < dag_ndeps(s->g, node); k++)
        raise_blocking(s, dag_dep(s->g, node, k), now);
    if (st->status == ST_READY)
        release_type(s, type_of(st), now);
    release_check_spawns(s, now);
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
void sched_send_back(sched *s, int i, const char *output, int count_attempt, int64_t delay_ms,
                      const sched_clock *now)
{
    pb_state *st = s->e[i];
    char text[600], key[96];

    release_leave_flight(s, i);
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
    char cap[160] = "";
    uint64_t used, cost;
    ledger_since_retry(st, &used, &cost);
    if (s->cfg.requirement_max_tokens && used >= (uint64_t)s->cfg.requirement_max_tokens)
        snprintf(cap, sizeof(cap), "it used %llu tokens, its cap is %lld", (unsigned long long)used,
                 s->cfg.requirement_max_tokens);
    else if (s->cfg.requirement_max_usd && cost >= (uint64_t)s->cfg.requirement_max_usd * 1000000ull)
        snprintf(cap, sizeof(cap), "it cost $%.2f, its cap is $%lld", (double)cost / 1e6, s->cfg.requirement_max_usd);
    if (*cap || (count_attempt && st->attempt - st->attempt_base >= (uint32_t)s->cfg.max_attempts)) {
        st->status = ST_ESCALATED;
        if (*cap)
            sched_reason(st, WK(HUMAN), "escalated: %s; a human must look (orchctl retry %s)", cap, st->id);
        else
            sched_reason(st, WK(HUMAN), "escalated: %u attempts failed; a human must look (orchctl retry %s)",
                         st->attempt - st->attempt_base, st->id);
        sched_save(s, st, now);
        sched_refresh_dependents(s, i, now);
        if (s->out.alert) {
            char after[200];
            if (*cap)
                snprintf(after, sizeof(after), "past its cap (%s)", cap);
            else
                snprintf(after, sizeof(after), "after %u attempts", st->attempt - st->attempt_base);
            snprintf(text, sizeof(text), "%s (%s) escalated %s: %.300s", st->id, st->requirement->title, after,
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
    release_queued_reason(s, st, now);
    release_push(s, i);
    sched_save(s, st, now);
    release_types(s, ~0u, now);
}

void sched_escalate(sched *s, int i, const char *why, const sched_clock *now)
{
    pb_state *st = s->e[i];
    char text[700], key[96];
    release_leave_flight(s, i);
    st->status = ST_ESCALATED;
    sched_reason(st, WK(HUMAN), "escalated: %.400s", why);
    sched_save(s, st, now);
    sched_refresh_dependents(s, i, now);
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
        snprintf(err, ERR_LEN, "the subject says %s, the body's agentType %s", type_tok(from->type < NT ? from->type : 0),
                 type_tok(body_type < NT ? body_type : 0));
        return -1;
    }
    return from->type ? from->type : body_type;
}

admit_code sched_result(sched *s, const pb_result *r, const sched_from *from, const sched_clock *now)
{
    int i = sched_entry_of(s, r->requirement_id), type, own;
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
        sched_refuse(s, from, st->id, "no_review_outcome", err);
        return ADMIT_WRONG_TYPE;
    }
    if (c == ADMIT_PAST_ATTEMPT) {
        /* Results and verdicts come through different consumers, so after a
         * restart the verdict can be handled first: what a genuine result of
         * its own type cost counts whenever it arrives, and nothing else. */
        unsigned a = r->attempt ? r->attempt : st->attempt;
        if (type == own && ledger_charge_attempt(s, st, a, r->tokens_used, r->cost_micro_usd, from, now) > 0) {
            sched_save(s, st, now);
            /* the verdict came first and learned the work without its tokens */
            if ((st->status == ST_COMPLETE || unmerged(st)) && a == st->attempt &&
                learn_add_tokens(&s->rk.lrn, type_of(st), (int)st->requirement->complexity, *ledger_charged_slot(st, a)))
                forecast_persist_learned(s);
        }
        return c;
    }
    if (c != ADMIT_OK) {
        sched_refuse(s, from, refusal_key(from, r->requirement_id, r->instance), admit_reason(c), err);
        return c;
    }
    if (type != own) {
        if (type == T_REVIEW)
            merge_review_answered(s, i, r, from, now);
        else if (type == T_RELEASE)
            merge_done(s, i, r, now);
        return c;
    }
    ledger_charge_attempt(s, st, st->attempt, r->tokens_used, r->cost_micro_usd, from, now);
    /* what the attempt delivered, for its review and merge */
    pb_set_str(&sched_delivery(st)->project, r->project);
    pb_set_str(&st->delivery->ref, r->ref);
    pb_set_str(&st->delivery->summary, r->summary);
    forecast_seen(s, type, r->instance, now);
    release_mark_started(s, st, now);
    if (*r->instance)
        pb_set_str(&st->instance, r->instance);
    if (st->status == ST_DISPATCHED) {
        st->status = ST_VERIFYING;
        sched_reason(st, WK(VERIFYING), "verifying: attempt %u", st->attempt);
    }
    sched_save(s, st, now);
    release_type(s, type_of(st), now);
    return c;
}

int sched_verdict_early(const sched *s, const pb_verdict *v)
{
    int i = sched_entry_of(s, v->requirement_id);
    return i >= 0 && s->e[i]->status == ST_DISPATCHED;
}

void sched_verdict(sched *s, const pb_verdict *v, const sched_clock *now)
{
    int i = sched_entry_of(s, v->requirement_id);
    pb_state *st;

    if (i < 0)
        return;
    st = s->e[i];
    if (st->status != ST_VERIFYING || (v->attempt && v->attempt != st->attempt))
        return;
    release_mark_started(s, st, now);
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
        release_verified(s, i);
        st->completed_at_ms = now->now_ms;
        if (forecast_learn_from(s, st))
            forecast_persist_learned(s);
        if (*v->commit)
            pb_set_str(&sched_delivery(st)->commit, v->commit);
        if (*v->base_branch)
            pb_set_str(&sched_delivery(st)->base_branch, v->base_branch);
        if (*v->base_commit)
            pb_set_str(&sched_delivery(st)->verified_base, v->base_commit);
        pb_set_str(&sched_delivery(st)->verified_merge, v->merged_commit); /* "" when built alone */
        /* what the verifier verified names the change where the result
         * left it out */
        if (!*sched_delivery(st)->project && *v->project)
            pb_set_str(&st->delivery->project, v->project);
        if (!*st->delivery->ref && *v->ref)
            pb_set_str(&st->delivery->ref, v->ref);
        if (type_of(st) == T_REVIEW || type_of(st) == T_RELEASE) {
            /* review and release work changes nothing to merge: done */
            release_leave_flight(s, i);
            sched_reason(st, WK(UNSPECIFIED), "complete: verified (%s work has no change to merge)",
                         type_tok(type_of(st)));
            sched_complete(s, i, now);
            release_types(s, ~0u, now);
            break;
        }
        /* Verified is not done: its dependents wait until it is merged,
         * and its files stay held until then. */
        st->status = ST_REVIEWING;
        st->review_requested = 1;
        sched_reason(st, WK(REVIEW), "review: verified, awaiting review");
        sched_save(s, st, now);
        sched_refresh_dependents(s, i, now);
        admit_dispatch_id(st, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW, 0, msg_id, sizeof(msg_id));
        if (s->out.review)
            s->out.review(s->out.ctx, st, msg_id);
        /* Its files and budget are free: any type may now have work to go. */
        release_types(s, ~0u, now);
        break;
    }
    case ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL:
        sched_send_back(s, i, *v->failing_output ? v->failing_output : v->detail, 1, 0, now);
        break;
    default: /* infrastructure error: not the agent's fault */
        if (strstr(v->detail, "fails its checks without this change") && s->out.alert) {
            char text[700];
            snprintf(text, sizeof(text), "%s: %.600s", st->id, v->detail);
            s->out.alert(s->out.ctx, "critical", "base_fails", *v->project ? v->project : st->id, text);
        }
        if (++st->infra_retries > (uint32_t)s->cfg.max_infra_retries) {
            char why[600];
            snprintf(why, sizeof(why), "the verifier failed %u times: %.400s", st->infra_retries - 1, v->detail);
            sched_escalate(s, i, why, now);
        } else {
            sched_send_back(s, i, NULL, 0, release_backoff(s, st->id, st->infra_retries), now);
        }
        break;
    }
}

/* The reason of an agent error that blames the instance, not the work. */
#define AGENT_UNHEALTHY "agent_unhealthy"

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
    i = sched_entry_of(s, e->requirement_id);
    st = i >= 0 ? s->e[i] : NULL;
    type = sender_type(from, (int)e->agent_type, err);
    c = type < 0 ? ADMIT_WRONG_TYPE
                 : admit_report(st, type, from->id, e->requirement_id, e->attempt, e->instance, from->claimant, err);
    /* What the failed run used counts once, whatever its heartbeats
     * carried before or after (the increase over them only). */
    if ((c == ADMIT_OK || c == ADMIT_PAST_ATTEMPT) && type == type_of(st) && (e->tokens_used || e->cost_micro_usd) &&
        ledger_charge_attempt(s, st, e->attempt ? e->attempt : st->attempt, e->tokens_used, e->cost_micro_usd, from,
                              now) > 0)
        sched_save(s, st, now);
    if (c == ADMIT_PAST_ATTEMPT)
        return c; /* about work that is over: nothing more to do */
    if (c != ADMIT_OK) {
        sched_refuse(s, from, refusal_key(from, e->requirement_id, e->instance), admit_reason(c), err);
        return c;
    }
    if (type == T_RELEASE && type != type_of(st)) {
        merge_refused(s, i, e, now);
        return c;
    }
    if (type && type != type_of(st)) {
        if (type == T_REVIEW) /* a reviewer's trouble, not the work's; its run cost what it cost */
            ledger_charge_review(s, st, e->tokens_used, e->cost_micro_usd, from, now);
        return c;
    }
    release_mark_started(s, st, now);
    /* An instance whose circuit breaker opened (orch-agent) says the fault
     * is its own, not the work's: another instance takes it, no attempt
     * counted, as for an infrastructure error and within the same bound
     * (so a liar cannot hold work back for ever). */
    if (e->transient && people_rate_limited(s, i, e, now))
        return c;
    if (e->transient && !strcmp(e->reason, AGENT_UNHEALTHY) &&
        ++st->infra_retries <= (uint32_t)s->cfg.max_infra_retries)
        sched_send_back(s, i, e->message, 0, 0, now);
    else if (e->transient)
        sched_send_back(s, i, e->message, 1, release_backoff(s, st->id, st->attempt - st->attempt_base), now);
    else
        sched_escalate(s, i, e->message, now);
    return c;
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
        sched_refuse(s, from, instance, admit_reason(ADMIT_ID_MISMATCH), err);
        return ADMIT_ID_MISMATCH;
    }
    if (type >= 0 && !*h->requirement_id && !strcmp(h->state, "stopped")) {
        forecast_stopped(s, type, instance);
        return ADMIT_OK;
    }
    if (type >= 0 && !*h->requirement_id)
    {
        forecast_seen(s, type, instance, now);
        return ledger_idle_use(s, type, instance, h->tokens_used, from, now);
    }
    i = sched_entry_of(s, h->requirement_id);
    st = i >= 0 ? s->e[i] : NULL;
    c = type < 0 ? ADMIT_WRONG_TYPE
                 : admit_report(st, type, NULL, h->requirement_id, 0, instance, from->claimant, err);
    /* Work no longer in flight, or gone back to wait for its next attempt:
     * its result's total counted what it spent. */
    if (c == ADMIT_PAST_ATTEMPT || (c == ADMIT_NOT_DISPATCHED && st->dispatched_at_ms))
        return c;
    if (c != ADMIT_OK) {
        sched_refuse(s, from, refusal_key(from, h->requirement_id, instance), admit_reason(c), err);
        return c;
    }
    if (type && type != type_of(st))
        return c; /* a reviewer's: the review's result says what it cost */
    forecast_seen(s, type_of(st), instance, now);
    was = st->started;
    release_mark_started(s, st, now);
    /* Once the result is in (VERIFYING), its total is the attempt's: a
     * heartbeat overtaken by it on the way must not add to it. */
    if ((h->tokens_used || h->cost_micro_usd) && st->status == ST_DISPATCHED)
        ledger_charge_heartbeat(s, st, instance, h->tokens_used, h->cost_micro_usd, from, now);
    if (*instance)
        pb_set_str(&st->instance, instance);
    if (!was || h->tokens_used || h->cost_micro_usd)
        sched_save(s, st, now);
    if (!was)
        release_type(s, type_of(st), now);
    return c;
}

int sched_retry(sched *s, const char *id, const sched_clock *now, char *err, size_t len)
{
    int i = sched_entry_of(s, id);
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
    if (beyond_a_day(s, st, err, len)) { /* it would wait for ever: say so now */
        snprintf(err + strlen(err), len - strlen(err), ": raise the budget first");
        return -1;
    }
    st->attempt_base = st->attempt;
    st->merge_refusals = 0;
    st->attempt++;
    st->infra_retries = 0;
    st->retry_at_ms = 0;
    st->status = ST_READY;
    release_queued_reason(s, st, now);
    release_push(s, i);
    sched_save(s, st, now);
    sched_refresh_dependents(s, i, now); /* they wait on it again, not on a dead end */
    release_type(s, type_of(st), now);
    return 0;
}

void sched_tick(sched *s, const sched_clock *now)
{
    forecast_rerank(s, 1);
    sched_train_tick(s, now);
    if (budget_roll(&s->led.b, now->day))
        ledger_check_conservation(s, now);
    people_tick(s, now); /* pauses past their until end before the pass */
    if (!release_tick(s, now))
        return; /* turns mode, no turn due: spawns and pruning wait for one */
    release_check_spawns(s, now);
    sched_prune(s, now);
}

/* --- queries ------------------------------------------------------------------------ */

const pb_state *sched_get(const sched *s, const char *id)
{
    int i = sched_entry_of(s, id);
    return i >= 0 ? s->e[i] : NULL;
}

size_t sched_count(const sched *s, size_t by_status[NAMES_STATUS_COUNT])
{
    size_t n = 0;
    for (int k = 0; k < NAMES_STATUS_COUNT; k++) {
        by_status[k] = s->pruned_by_status[k];
        n += s->pruned_by_status[k];
    }
    for (int i = 0; i < s->n; i++) {
        if (!s->e[i] || s->e[i]->alias)
            continue;
        n++;
        if ((unsigned)s->e[i]->status < NAMES_STATUS_COUNT)
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
        sched_map_node(s, dag_find(s->g, st->id), PRUNED);
        if ((unsigned)st->status < NAMES_STATUS_COUNT)
            s->pruned_by_status[st->status]++;
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
        s->e[i] = NULL;
        n++;
    }
    return n;
}

