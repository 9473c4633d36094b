/* What the scheduler expects: how long work takes and what it costs (learned
 * from completed work, learn.c), the release keys built on those durations
 * (upward rank, rank.c), the agents seen, and from them the forecast of
 * when each requirement and the roadmap end (sim.c) and the critical path.
 *
 * Two weights of a DAG node, on purpose different:
 *  - weight_whole, for release keys: the whole expected duration of
 *    unfinished work, however long it has run, so that keys move only when
 *    something is learned or added, never with the clock;
 *  - weight_left, for the critical path: what is left of it now (work in
 *    flight less the time since its dispatch), so the path's end is a time
 *    of day; COMPLETE and ESCALATED work weigh nothing, REJECTED work its
 *    whole duration (weight_whole: nothing), so a rejected requirement
 *    still shows on the path it blocks.
 * Both take the expected duration from forecast_expected, one rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rank.h"
#include "sched_int.h"
#include "sim.h"

void forecast_init(sched *s) { learn_init(&s->rk.lrn, s->cfg.duration_ms); }

void forecast_free(sched *s)
{
    free(s->rk.key);
    free(s->fc.eta);
}

void forecast_grow(sched *s, int cap) { s->rk.key = xrealloc(s->rk.key, sizeof(*s->rk.key) * (size_t)cap); }

int64_t forecast_expected(const sched *s, const pb_state *st)
{
    return learn_duration(&s->rk.lrn, type_of(st), (int)st->requirement->complexity, NULL);
}

/* --- release keys (rank.c) ------------------------------------------------------- */

/* A node's weight for upward rank: its whole expected duration while
 * unfinished (see the top). */
static int64_t weight_whole(int node, void *arg)
{
    const sched *s = arg;
    int i = entry_at(s, node);
    if (!dag_known(s->g, node))
        return s->cfg.duration_ms[0]; /* not known yet: a medium guess */
    if (i < 0 || !s->e[i] || s->e[i]->alias || finished(s->e[i]))
        return 0;
    return forecast_expected(s, s->e[i]);
}

/* Every key computed again from the whole graph, and the ready queues put
 * in the new order. */
static void rerank(sched *s)
{
    size_t n = dag_count(s->g);
    int64_t *r;
    s->rk.stale = 0;
    s->rk.adds_since = 0;
    s->rk.ranked_nodes = (int)n;
    if (s->cfg.order == SCHED_ORDER_AGE || n == 0)
        return;
    r = xmalloc(sizeof(int64_t) * n);
    if (s->cfg.order == SCHED_ORDER_DOWNSTREAM)
        rank_downstream(s->g, r);
    else
        rank_upward(s->g, weight_whole, s, r);
    for (size_t v = 0; v < n && (int)v < s->node_cap; v++)
        if (s->node_entry[v] >= 0)
            s->rk.key[s->node_entry[v]] = r[v];
    free(r);
    for (int t = 0; t < NT; t++)
        for (int p = 0; p < NP; p++)
            iheap_rebuild(&s->rel.q[t][p]);
}

/* A new requirement's own key is exact at once (what depends on it is
 * known); what it adds to the keys of its dependencies waits for the next
 * computation: after ranked_nodes / 16 more additions, a change in what was
 * learned, or the next tick (force). */
void forecast_rerank(sched *s, int force)
{
    if (s->rk.stale || (s->rk.adds_since && (force || s->rk.adds_since > s->rk.ranked_nodes / 16)))
        rerank(s);
}

void forecast_key_new(sched *s, int i, int node)
{
    int64_t after = 0;
    s->rk.adds_since++;
    if (s->cfg.order == SCHED_ORDER_AGE)
        return;
    for (int k = 0; k < dag_ndependents(s->g, node); k++) {
        int j = entry_at(s, dag_dependent(s->g, node, k));
        if (j < 0)
            continue;
        if (s->cfg.order == SCHED_ORDER_DOWNSTREAM)
            after += s->rk.key[j];
        else if (s->rk.key[j] > after)
            after = s->rk.key[j];
    }
    s->rk.key[i] = (s->cfg.order == SCHED_ORDER_DOWNSTREAM ? 1 : weight_whole(node, s)) + after;
}

/* --- learned figures (learn.c) ----------------------------------------------------- */

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
void forecast_learned_estimate(sched *s, pb_state *st)
{
    pb_requirement *r = st->requirement;
    int t = type_of(st), c = (int)r->complexity;
    uint64_t tok;
    char buf[160];
    if (!learn_tokens(&s->rk.lrn, t, c, &tok) || !tok || tok == r->estimated_tokens)
        return;
    if (!has_extra(r, "routerEstimate")) {
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->estimated_tokens);
        set_extra(r, "routerEstimate", buf);
    }
    snprintf(buf, sizeof(buf), "learned: mean of the last %d completed %s %s", learn_count(&s->rk.lrn, t, c),
             type_tok(t), names_complexity((Orchestrator__V1__Complexity)c));
    set_extra(r, "estimate", buf);
    r->estimated_tokens = tok;
}

void forecast_persist_learned(sched *s)
{
    char *js;
    size_t len;
    if (!s->out.learned)
        return;
    learn_to_json(&s->rk.lrn, &js, &len);
    s->out.learned(s->out.ctx, js, len);
    free(js);
}

/* A completed requirement's duration (its last attempt's start to its
 * verdict) and the tokens of that attempt, learned; keys built on the old
 * figures are recomputed when the figure moved (learn_add). */
int forecast_learn_from(sched *s, const pb_state *st)
{
    uint64_t tokens = 0;
    int64_t from = release_started_at(s, st);
    if (st->alias || !from || st->completed_at_ms < from)
        return 0;
    if (st->attempt && st->attempt <= st->n_charged_by_attempt)
        tokens = st->charged_by_attempt[st->attempt - 1];
    if (learn_add(&s->rk.lrn, type_of(st), (int)st->requirement->complexity, st->completed_at_ms - from, tokens) &&
        s->cfg.order == SCHED_ORDER_RANK)
        s->rk.stale = 1;
    return 1;
}

orch_status sched_restore_learned(sched *s, const char *json, size_t len, char err[ERR_LEN])
{
    orch_status rc = learn_from_json(&s->rk.lrn, json, len, err);
    if (rc == ORCH_OK) {
        s->rk.learn_restored = 1;
        s->rk.stale = 1;
    }
    return rc;
}

const learn *sched_learned(const sched *s) { return &s->rk.lrn; }

/* --- agents seen ---------------------------------------------------------------------- */

/* An instance of type showed life (an admitted heartbeat or result): it
 * counts as an agent for the forecast for cfg.agent_seen_ms. */
void forecast_seen(sched *s, int type, const char *instance, const sched_clock *now)
{
    struct sched_forecast *f = &s->fc;
    int k, stalest = 0;
    if (!instance || !*instance || type <= 0 || type >= NT)
        return;
    for (k = 0; k < f->n_agents; k++) {
        if (f->agent[k].type == type && !strcmp(f->agent[k].name, instance))
            break;
        if (f->agent[k].seen_ms < f->agent[stalest].seen_ms)
            stalest = k;
    }
    if (k == f->n_agents) {
        if (f->n_agents < AGENTS_MAX)
            f->n_agents++;
        else
            k = stalest;
        snprintf(f->agent[k].name, sizeof(f->agent[k].name), "%s", instance);
        f->agent[k].type = type;
        f->agent[k].sightings = 0;
    } else if (now->now_ms - f->agent[k].seen_ms > s->cfg.agent_seen_ms) {
        f->agent[k].sightings = 0; /* it was gone: it starts again */
    }
    if (f->agent[k].sightings < 2)
        f->agent[k].sightings++;
    f->agent[k].seen_ms = now->now_ms;
}

int sched_agents(const sched *s, int type, const sched_clock *now)
{
    int n = 0;
    for (int k = 0; k < s->fc.n_agents; k++)
        if (s->fc.agent[k].type == type && now->now_ms - s->fc.agent[k].seen_ms <= s->cfg.agent_seen_ms)
            n++;
    return n;
}

/* An instance that said it takes no more work (a heartbeat in state
 * "stopped": its circuit breaker opened) counts as an agent no more, until
 * it shows life again. */
void forecast_stopped(sched *s, int type, const char *instance)
{
    for (int k = 0; k < s->fc.n_agents; k++)
        if (s->fc.agent[k].type == type && !strcmp(s->fc.agent[k].name, instance))
            s->fc.agent[k].sightings = 0;
}

/* One message is not a life: anyone may publish a heartbeat in any
 * instance's name, and an instance that does not exist, counted, narrows
 * its type's window (the agents free to take work) for agent_seen_ms. For the
 * window an instance counts only while its own heartbeats (or reports) say
 * it lives: seen at least twice, each within agent_seen_ms of the last. */
int forecast_agents_alive(const sched *s, int type, const sched_clock *now)
{
    int n = 0;
    for (int k = 0; k < s->fc.n_agents; k++)
        if (s->fc.agent[k].type == type && s->fc.agent[k].sightings >= 2 &&
            now->now_ms - s->fc.agent[k].seen_ms <= s->cfg.agent_seen_ms)
            n++;
    return n;
}

/* --- the forecast (sim.c) ---------------------------------------------------------------- */

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
    struct sched_forecast *f = &s->fc;
    int *idx, *ent, *deps = NULL, nd = 0, capd = 0, n = 0, agents[NT], *never;
    sim_task *task;
    int64_t *fin, *sum, *elapsed, ends[FORECAST_RUNS];
    uint64_t rng = ((uint64_t)now->now_ms * 2654435761u ^ s->changes ^ 0x9e3779b97f4a7c15ull) | 1;

    for (int t = 0; t < NT; t++)
        agents[t] = sched_agents(s, t, now);
    if (f->valid && f->changes == s->changes && f->now == now->now_ms && !memcmp(agents, f->agents, sizeof(agents)))
        return;
    memcpy(f->agents, agents, sizeof(agents));
    forecast_rerank(s, 1);
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
        k->key = s->rk.key[i];
        k->order = st->order;
        k->expect = st->alias || st->status == ST_VERIFYING || unmerged(st) ? 0 : forecast_expected(s, st);
        /* verified work in review or merge holds no agent: it ends now, in
         * the forecast (review and merge times are not learned yet) */
        if (st->status == ST_VERIFYING || unmerged(st) || (st->status == ST_DISPATCHED && st->started)) {
            k->running = 1;
            elapsed[idx[i]] = now->now_ms - release_started_at(s, st);
            k->expect = k->expect > elapsed[idx[i]] ? k->expect - elapsed[idx[i]] : 0;
        } else if (st->status == ST_DISPATCHED) {
            k->prio = 0; /* on the stream: free agents take it first, in the order it went out */
            k->key = 0;
            k->order = (uint64_t)st->dispatched_at_ms;
        }
        k->first_dep = nd;
        for (int j = 0; j < dag_ndeps(s->g, node); j++) {
            int d = dag_dep(s->g, node, j), e = entry_at(s, d);
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
            task[k].duration = st->alias || st->status == ST_VERIFYING || unmerged(st)
                                   ? 0
                                   : learn_draw(&s->rk.lrn, type_of(st), (int)st->requirement->complexity,
                                                elapsed[k], &rng);
        }
        ends[r] = n ? sim_run(task, n, deps, agents, s->cfg.reserve && s->cfg.order == SCHED_ORDER_RANK, fin) : 0;
        for (int k = 0; k < n; k++) {
            if (fin[k] < 0)
                never[k] = 1;
            sum[k] += fin[k];
        }
    }
    free(f->eta);
    f->eta = xcalloc((size_t)s->n + 1, sizeof(int64_t));
    for (int k = 0; k < n; k++)
        f->eta[ent[k]] = never[k] ? 0 : now->now_ms + sum[k] / FORECAST_RUNS;
    qsort(ends, FORECAST_RUNS, sizeof(int64_t), cmp_i64);
    f->end = f->late = 0;
    if (n) {
        int64_t total = 0;
        for (int r = 0; r < FORECAST_RUNS; r++)
            total += ends[r];
        f->end = now->now_ms + total / FORECAST_RUNS;
        f->late = now->now_ms + ends[(FORECAST_RUNS * 9 + 9) / 10 - 1];
        /* one run far out can pull the mean past the 90th percentile: the
         * late ETA is never before the ETA */
        if (f->late < f->end)
            f->late = f->end;
    }
    f->valid = 1;
    f->changes = s->changes;
    f->now = now->now_ms;
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
    int i = sched_entry_of(s, id);
    if (i < 0 || !s->e[i] || finished(s->e[i]))
        return 0;
    forecast(s, now);
    return s->fc.eta[i];
}

int64_t sched_roadmap_eta(sched *s, const sched_clock *now, int64_t *late_ms)
{
    forecast(s, now);
    if (late_ms)
        *late_ms = s->fc.late;
    return s->fc.end;
}

/* --- the critical path (dag.c) ------------------------------------------------------------ */

typedef struct {
    sched *s;
    const sched_clock *now;
} left_ctx;

/* A node's weight for the critical path: what is left of its work now (see
 * the top). */
static int64_t weight_left(int node, void *arg)
{
    left_ctx *w = arg;
    sched *s = w->s;
    int i = entry_at(s, node);
    pb_state *st;
    int64_t d;
    if (i == PRUNED)
        return 0;
    if (i < 0)
        return s->cfg.duration_ms[0]; /* unknown yet: a medium guess */
    st = s->e[i];
    if (st->alias || st->status == ST_COMPLETE || st->status == ST_ESCALATED)
        return 0;
    d = forecast_expected(s, st);
    if (in_flight(st)) {
        d -= w->now->now_ms - st->dispatched_at_ms;
        if (d < 0)
            d = 0;
    }
    return d;
}

int sched_critical_path(sched *s, const sched_clock *now, const char **out, int max, int64_t *finish_ms)
{
    size_t n = dag_count(s->g);
    int64_t *ef = xmalloc(sizeof(int64_t) * (n + 1));
    int *path = xmalloc(sizeof(int) * (size_t)(max + 1));
    left_ctx w = {s, now};
    int len = 0, k = 0;
    *finish_ms = 0;
    if (n) {
        dag_longest(s->g, weight_left, &w, ef);
        len = dag_critical_path(s->g, ef, path, max);
        for (int i = 0; i < len; i++) {
            int e = entry_at(s, path[i]);
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
