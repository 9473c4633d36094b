/* Scheduling quality: when does a roadmap end, and how well is that
 * predicted?
 *
 * Generated roadmaps of five families: "roadmap" (epics: a schema, backend
 * work on it, frontends on the backend, documentation last, some epics
 * waiting on others, priorities by epic, files shared inside an epic) and
 * the standard random task-graph shapes "layered", "fork-join", "chains"
 * and "wide" (independent work); 50 to 2,000 requirements, 3 to 6 agent
 * types, 1 to 8 agents per type. True durations are log-normal around the
 * size's (S 30 min, M 2 h, L 4 h, XL 8 h) times a factor per type the
 * scheduler does not know, and one in twenty takes 3 to 6 times longer.
 *
 * Each graph is run four times through the scheduler core itself
 * (schedule.c: window, budgets, overlap, priorities), once per release rule
 * within a priority (sched_cfg.order and .reserve: oldest first, Airflow's
 * downstream count, upward rank alone, and the suite's rule: upward rank
 * with agents kept for more urgent work about to be ready); nothing else
 * differs. The world is
 * simulated: released work goes to a queue per type (the stream), a free
 * agent takes the oldest, heartbeats it at once and every 10 minutes (idle
 * agents too), and after its true duration its result and a passing
 * verdict arrive; the clock is simulated, so a run takes milliseconds.
 *
 * Makespan is compared with the lower bound max(critical path of true
 * durations, the largest total work of a type / its agents). Budgets are
 * set too high to matter; the window (2) and the overlap rule are the
 * defaults. The ETA is the core's own (sched_roadmap_eta: its forecast over
 * what it learned during the run, nothing before, and the agents it saw),
 * read in a second run of the rank order (the same run: the core and the
 * world are deterministic) at the first completion past a quarter, half
 * and three quarters of the first run's makespan, and judged against what
 * was left: |predicted end - actual end| / (actual end - now).
 *
 *   bench_quality [GRAPHS_PER_SIZE] [SEED]      (8, 1)
 * BQ_VERBOSE=1 prints each graph's figures on stderr. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "land.h"
#include "schedule.h"
#include "text.h"

#define NT 7
#define MIN_MS 60000LL
#define HOUR_MS (60 * MIN_MS)
#define BEAT_MS (10 * MIN_MS)

enum { F_ROADMAP, F_LAYERED, F_FORKJOIN, F_CHAINS, F_WIDE, NFAM };
static const char *const fam_name[NFAM] = {"roadmap", "layered", "fork-join", "chains", "wide"};
/* The suite's rule is the last: rank with reservations (reserve.h); rank
 * alone shows what each of the two adds. */
enum { R_AGE, R_DOWN, R_LIST, R_RANK, NRULE };
static const int rule_order[NRULE] = {SCHED_ORDER_AGE, SCHED_ORDER_DOWNSTREAM, SCHED_ORDER_RANK, SCHED_ORDER_RANK};
static const int rule_reserve[NRULE] = {0, 0, 0, 1};
static const char *const rule_name[NRULE] = {"oldest-first", "downstream", "rank alone", "rank+reserve"};
static const int sizes[] = {50, 200, 500, 2000};
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

/* --- random numbers ------------------------------------------------------------ */

static uint64_t rng;
static int verbose; /* BQ_VERBOSE set: one line per graph on stderr */

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

static double unif(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }
static int upto(int n) { return n > 0 ? (int)(rnd() % (uint64_t)n) : 0; }
static int between(int lo, int hi) { return lo + upto(hi - lo + 1); }

static double normal(void)
{
    double u = unif(), v = unif();
    return sqrt(-2.0 * log(u > 1e-300 ? u : 1e-300)) * cos(2 * M_PI * v);
}

/* --- a generated roadmap ------------------------------------------------------------ */

typedef struct {
    int n, ntypes;
    int agents[NT];
    int *type, *size, *prio;
    int64_t *dur;            /* true duration, ms */
    uint64_t *tokens;        /* true tokens */
    int *ndeps, (*deps)[4];  /* at most 4 dependencies, always on earlier nodes */
    int *file1, *file2;      /* file numbers; -1: none */
} graph;

static const int64_t size_ms[5] = {2 * HOUR_MS, 30 * MIN_MS, 2 * HOUR_MS, 4 * HOUR_MS, 8 * HOUR_MS};
static const uint64_t size_tokens[5] = {40000, 10000, 40000, 80000, 150000};

static void g_alloc(graph *g, int cap)
{
    memset(g, 0, sizeof(*g));
    g->type = xcalloc((size_t)cap, sizeof(int));
    g->size = xcalloc((size_t)cap, sizeof(int));
    g->prio = xcalloc((size_t)cap, sizeof(int));
    g->dur = xcalloc((size_t)cap, sizeof(int64_t));
    g->tokens = xcalloc((size_t)cap, sizeof(uint64_t));
    g->ndeps = xcalloc((size_t)cap, sizeof(int));
    g->deps = xcalloc((size_t)cap, sizeof(*g->deps));
    g->file1 = xcalloc((size_t)cap, sizeof(int));
    g->file2 = xcalloc((size_t)cap, sizeof(int));
}

static void g_free(graph *g)
{
    free(g->type);
    free(g->size);
    free(g->prio);
    free(g->dur);
    free(g->tokens);
    free(g->ndeps);
    free(g->deps);
    free(g->file1);
    free(g->file2);
}

static void dep(graph *g, int i, int d)
{
    if (d < 0 || d >= i || g->ndeps[i] >= 4)
        return;
    for (int k = 0; k < g->ndeps[i]; k++)
        if (g->deps[i][k] == d)
            return;
    g->deps[i][g->ndeps[i]++] = d;
}

static int rnd_size(void)
{
    double u = unif();
    return u < 0.3 ? 1 : u < 0.7 ? 2 : u < 0.9 ? 3 : 4;
}

/* A new node of type t (0: any of the graph's types). */
static int node(graph *g, int t, int prio)
{
    int i = g->n++;
    g->type[i] = t ? t : 1 + upto(g->ntypes);
    g->size[i] = rnd_size();
    g->prio[i] = prio;
    g->file1[i] = g->file2[i] = -1;
    return i;
}

static void gen_roadmap(graph *g, int n)
{
    int epic_first[512], nepic = 0;
    int db = 3, doc = g->ntypes >= 4 ? 4 : 1;
    while (g->n < n && nepic < 512) {
        int size = between(5, 25), first = g->n, schema, nbe, be[12], prio;
        double u = unif();
        prio = u < 0.15 ? 2 : u < 0.85 ? 3 : 4;
        if (size > n - g->n)
            size = n - g->n;
        epic_first[nepic++] = first;
        schema = node(g, db, prio);
        if (nepic > 1 && unif() < 0.3)
            dep(g, schema, epic_first[upto(nepic - 1)] + 1); /* waits on another epic's backend */
        nbe = size / 3 > 12 ? 12 : size / 3 > 1 ? size / 3 : 1;
        for (int k = 0; k < nbe && g->n < n; k++) {
            be[k] = node(g, 1, prio);
            dep(g, be[k], schema);
            if (k && unif() < 0.4)
                dep(g, be[k], be[upto(k)]);
        }
        while (g->n < first + size - 1 && g->n < n) {
            int i = node(g, unif() < 0.8 ? 2 : 0, prio);
            dep(g, i, be[upto(nbe)]);
            if (unif() < 0.5)
                dep(g, i, be[upto(nbe)]);
        }
        if (g->n < n) {
            int d = node(g, doc, prio);
            for (int k = 0; k < 3; k++)
                dep(g, d, between(first, d - 1));
            if (g->ntypes >= 5) {
                int r = node(g, 5, prio); /* a review of the epic */
                dep(g, r, d);
            }
        }
        /* files: a pool per epic, so overlaps happen inside it */
        for (int i = first; i < g->n; i++) {
            g->file1[i] = first * 4 + upto(3 * (g->n - first));
            if (unif() < 0.4)
                g->file2[i] = first * 4 + upto(3 * (g->n - first));
        }
        if (g->ntypes >= 6 && g->n < n && g->n - first >= 2) {
            int r = node(g, 6, prio); /* the epic's release */
            dep(g, r, g->n - 2);
        }
    }
}

static void gen_layered(graph *g, int n)
{
    int layers = between(4, 4 + (int)sqrt((double)n) / 2), prev = 0, start = 0;
    for (int l = 0; l < layers && g->n < n; l++) {
        int width = l == layers - 1 ? n - g->n : between(n / layers / 2 + 1, 3 * n / layers / 2 + 1);
        start = g->n;
        for (int k = 0; k < width && g->n < n; k++) {
            int i = node(g, 0, 3);
            if (l > 0) {
                int nd = between(1, 3);
                for (int d = 0; d < nd; d++)
                    dep(g, i, prev + upto(start - prev));
                if (unif() < 0.2)
                    dep(g, i, upto(start));
            }
        }
        prev = start;
    }
}

static void gen_forkjoin(graph *g, int n)
{
    int join = -1;
    while (g->n < n) {
        int fork = node(g, 0, 3), width = between(2, 12), ends[12], ne = 0;
        dep(g, fork, join);
        for (int b = 0; b < width && g->n < n - 1; b++) {
            int len = between(1, 3), last = fork;
            for (int k = 0; k < len && g->n < n - 1; k++) {
                int i = node(g, 0, 3);
                dep(g, i, last);
                last = i;
            }
            ends[ne++] = last;
        }
        if (g->n >= n)
            break;
        if (ne > 4) { /* more branches than a node may wait on: merged in fours first */
            int merges[3], nm = 0;
            for (int k = 0; k < ne; k += 4) {
                merges[nm] = node(g, 0, 3);
                for (int j = k; j < ne && j < k + 4; j++)
                    dep(g, merges[nm], ends[j]);
                nm++;
            }
            memcpy(ends, merges, sizeof(int) * (size_t)nm);
            ne = nm;
        }
        join = node(g, 0, 3);
        for (int k = 0; k < ne; k++)
            dep(g, join, ends[k]);
    }
}

static void gen_chains(graph *g, int n)
{
    int nchains = between(3, n / 20 > 3 ? n / 20 : 3), *last = xmalloc(sizeof(int) * (size_t)nchains);
    double *w = xmalloc(sizeof(double) * (size_t)nchains), total = 0;
    for (int c = 0; c < nchains; c++) {
        last[c] = -1;
        w[c] = exp(normal());
        total += w[c];
    }
    /* chains of very different lengths, interleaved in arrival order */
    while (g->n < n) {
        double u = unif() * total;
        int c = 0;
        while (c < nchains - 1 && u > w[c])
            u -= w[c++];
        {
            int i = node(g, 0, 3);
            dep(g, i, last[c]);
            if (unif() < 0.05)
                dep(g, i, upto(i));
            last[c] = i;
        }
    }
    free(last);
    free(w);
}

static void gen_wide(graph *g, int n)
{
    while (g->n < n) {
        int i = node(g, 0, 3);
        if (unif() < 0.05)
            dep(g, i, upto(i));
    }
}

static void generate(graph *g, int fam, int n)
{
    double type_factor[NT];
    g_alloc(g, n + 16);
    g->ntypes = between(3, 6);
    for (int t = 0; t < NT; t++) {
        g->agents[t] = t >= 1 && t <= g->ntypes ? between(1, 8) : 0;
        type_factor[t] = exp(unif() * 1.4 - 0.7); /* 0.5x to 2x the guess, unknown to the scheduler */
    }
    switch (fam) {
    case F_ROADMAP: gen_roadmap(g, n); break;
    case F_LAYERED: gen_layered(g, n); break;
    case F_FORKJOIN: gen_forkjoin(g, n); break;
    case F_CHAINS: gen_chains(g, n); break;
    default: gen_wide(g, n); break;
    }
    for (int i = 0; i < g->n; i++) {
        double d = (double)size_ms[g->size[i]] * type_factor[g->type[i]] * exp(0.5 * normal());
        if (unif() < 0.05)
            d *= 3 + 3 * unif();
        g->dur[i] = (int64_t)d > MIN_MS ? (int64_t)d : MIN_MS;
        g->tokens[i] = (uint64_t)((double)size_tokens[g->size[i]] * (0.5 + type_factor[g->type[i]]) *
                                  exp(0.4 * normal()));
        if (fam != F_ROADMAP && unif() < 0.5) { /* some file overlaps: a shared pool */
            g->file1[i] = upto(4 * g->n);
            if (unif() < 0.3)
                g->file2[i] = upto(4 * g->n);
        }
    }
}

static int64_t critical_path(const graph *g)
{
    int64_t *ef = xcalloc((size_t)g->n, sizeof(int64_t)), cp = 0;
    for (int i = 0; i < g->n; i++) {
        int64_t start = 0;
        for (int k = 0; k < g->ndeps[i]; k++)
            if (ef[g->deps[i][k]] > start)
                start = ef[g->deps[i][k]];
        ef[i] = start + g->dur[i];
        if (ef[i] > cp)
            cp = ef[i];
    }
    free(ef);
    return cp;
}

/* max(critical path, largest total work of a type / its agents) */
static int64_t lower_bound(const graph *g)
{
    int64_t work[NT] = {0}, lb = critical_path(g);
    for (int i = 0; i < g->n; i++)
        work[g->type[i]] += g->dur[i];
    for (int t = 1; t < NT; t++)
        if (g->agents[t] && work[t] / g->agents[t] > lb)
            lb = work[t] / g->agents[t];
    return lb;
}

/* --- the world around the core ---------------------------------------------------------- */

typedef struct {
    int busy;          /* node it works on, -1 idle */
    int64_t until;     /* when that work ends */
    int64_t next_beat;
    char name[24];
} agent;

typedef struct {
    const graph *g;
    sched *s;
    sched_clock clk;
    int *queue[NT], qhead[NT], qtail[NT];   /* dispatched, not taken: the stream */
    agent *ag[NT];
    int done;
    int dispatches;
} world;

static int id_num(const char *id) { return atoi(id + 1); }

static int on_dispatch(void *ctx, const pb_state *st, const char *msg_id, char why[ERR_LEN])
{
    world *w = ctx;
    int t = (int)st->requirement->type;
    (void)msg_id;
    (void)why;
    w->queue[t][w->qtail[t]++] = id_num(st->id);
    w->dispatches++;
    return 0;
}

static void beat(world *w, int t, agent *a)
{
    pb_heartbeat h;
    char id[16];
    sched_from from = {t, NULL, a->name, NULL, "agents.heartbeat", NULL};
    orchestrator__v1__heartbeat__init(&h);
    if (a->busy >= 0)
        snprintf(id, sizeof(id), "R%d", a->busy);
    h.requirement_id = a->busy >= 0 ? id : "";
    h.instance = a->name;
    h.agent_type = (Orchestrator__V1__AgentType)t;
    sched_heartbeat(w->s, &h, &from, &w->clk);
    a->next_beat = w->clk.now_ms + BEAT_MS;
}

/* Free agents take what was released, oldest first, and say so at once
 * (which frees the window: more may be released). */
static void take(world *w)
{
    int moved = 1;
    while (moved) {
        moved = 0;
        for (int t = 1; t < NT; t++)
            for (int k = 0; k < w->g->agents[t] && w->qhead[t] < w->qtail[t]; k++) {
                agent *a = &w->ag[t][k];
                if (a->busy >= 0)
                    continue;
                a->busy = w->queue[t][w->qhead[t]++];
                a->until = w->clk.now_ms + w->g->dur[a->busy];
                beat(w, t, a);
                moved = 1;
            }
    }
}

static void finish(world *w, agent *a)
{
    char id[16];
    snprintf(id, sizeof(id), "R%d", a->busy);
    bench_verify(w->s, id, a->name, w->g->tokens[a->busy], &w->clk);
    bench_land(w->s, id, &w->clk);
    a->busy = -1;
    w->done++;
}

static pb_requirement *requirement(const graph *g, int i)
{
    pb_requirement *r = xmalloc(sizeof(*r));
    char buf[48];
    orchestrator__v1__requirement__init(r);
    snprintf(buf, sizeof(buf), "R%d", i);
    r->id = xstrdup(buf);
    r->title = xstrdup(buf);
    r->type = (Orchestrator__V1__AgentType)g->type[i];
    r->priority = (Orchestrator__V1__Priority)g->prio[i];
    r->complexity = (Orchestrator__V1__Complexity)g->size[i];
    r->estimated_tokens = size_tokens[g->size[i]];
    for (int k = 0; k < g->ndeps[i]; k++) {
        snprintf(buf, sizeof(buf), "R%d", g->deps[i][k]);
        pb_add_str(&r->dependencies, &r->n_dependencies, buf);
    }
    if (g->file1[i] >= 0) {
        snprintf(buf, sizeof(buf), "src/m%d/f%d.c", g->file1[i] / 8, g->file1[i]);
        pb_add_str(&r->files, &r->n_files, buf);
    }
    if (g->file2[i] >= 0) {
        snprintf(buf, sizeof(buf), "src/m%d/f%d.c", g->file2[i] / 8, g->file2[i]);
        pb_add_str(&r->files, &r->n_files, buf);
    }
    return r;
}

static int stalled(const world *w)
{
    for (int t = 1; t < NT; t++) {
        if (w->qhead[t] < w->qtail[t])
            return 0;
        for (int k = 0; k < w->g->agents[t]; k++)
            if (w->ag[t][k].busy >= 0)
                return 0;
    }
    return w->done < w->g->n;
}

typedef struct {
    int64_t makespan;
    int complete;
    int64_t pred_t[3], pred_end[3];   /* the roadmap ETA read at 25/50/75 % of the run */
    int npred;
} run_out;

/* One run of g through the core with the given release order. When
 * expect (the makespan of the same run before) is set, the core's roadmap
 * ETA is read at the first completion past 25, 50 and 75 % of it. */
static void run(const graph *g, int rule, int64_t expect, run_out *o)
{
    world w;
    sched_cfg cfg;
    sched_out out;
    int64_t t0;

    memset(&w, 0, sizeof(w));
    memset(o, 0, sizeof(*o));
    w.g = g;
    w.clk.now_ms = 1764000000000LL;
    snprintf(w.clk.day, sizeof(w.clk.day), "2026-11-24");
    w.clk.minute = 600;
    t0 = w.clk.now_ms;
    for (int t = 0; t < NT; t++) {
        w.queue[t] = xmalloc(sizeof(int) * (size_t)(g->n + 1));
        w.ag[t] = xcalloc((size_t)g->agents[t] + 1, sizeof(agent));
        for (int k = 0; k < g->agents[t]; k++) {
            w.ag[t][k].busy = -1;
            snprintf(w.ag[t][k].name, sizeof(w.ag[t][k].name), "t%d-%d", t, k);
        }
    }
    memset(&out, 0, sizeof(out));
    out.ctx = &w;
    out.dispatch = on_dispatch;
    sched_cfg_default(&cfg);
    cfg.order = rule_order[rule];
    cfg.reserve = rule_reserve[rule];
    cfg.budget.total_limit = 1000000000000000ULL; /* budgets never decide here */
    for (int t = 1; t < NT; t++)
        cfg.budget.limit[t] = 100000000000000ULL;
    cfg.spawn_depth = 1 << 30;
    w.s = sched_create(&cfg, &out, &w.clk);
    /* every agent says it is there, then the roadmap arrives at once */
    for (int t = 1; t < NT; t++)
        for (int k = 0; k < g->agents[t]; k++)
            beat(&w, t, &w.ag[t][k]);
    for (int i = 0; i < g->n; i++)
        sched_add(w.s, requirement(g, i), &w.clk);
    sched_tick(w.s, &w.clk);
    take(&w);
    while (w.done < g->n) {
        int64_t next = INT64_MAX;
        agent *who = NULL;
        int wt = 0, is_beat = 0;
        for (int t = 1; t < NT; t++)
            for (int k = 0; k < g->agents[t]; k++) {
                agent *a = &w.ag[t][k];
                if (a->busy >= 0 && a->until < next) {
                    next = a->until, who = a, wt = t, is_beat = 0;
                }
                if (a->next_beat < next) {
                    next = a->next_beat, who = a, wt = t, is_beat = 1;
                }
            }
        if (!who)
            break;
        w.clk.now_ms = next;
        if (is_beat) {
            beat(&w, wt, who);
            continue;
        }
        finish(&w, who);
        sched_tick(w.s, &w.clk);
        take(&w);
        /* the first completion past each quarter reads the ETA, while work is left */
        if (expect && w.done < g->n && o->npred < 3 &&
            w.clk.now_ms - t0 >= (int64_t)((double)expect * (o->npred + 1) / 4.0)) {
            int64_t end = sched_roadmap_eta(w.s, &w.clk, NULL) - t0;
            while (o->npred < 3 && w.clk.now_ms - t0 >= (int64_t)((double)expect * (o->npred + 1) / 4.0)) {
                o->pred_t[o->npred] = w.clk.now_ms - t0;
                o->pred_end[o->npred++] = end;
            }
        }
        if (stalled(&w)) {
            sched_tick(w.s, &w.clk);
            take(&w);
            if (stalled(&w)) {
                if (verbose)
                    for (int i = 0; i < g->n; i++) {
                        char id[16];
                        const pb_state *st;
                        snprintf(id, sizeof(id), "R%d", i);
                        st = sched_get(w.s, id);
                        if (st && st->status != ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE)
                            fprintf(stderr, "  %s type %d: %s\n", id, g->type[i], st->reason);
                    }
                break; /* nothing in flight, nothing released, work left: the core holds it */
            }
        }
    }
    o->makespan = w.clk.now_ms - t0;
    o->complete = w.done;
    for (int t = 0; t < NT; t++) {
        free(w.queue[t]);
        free(w.ag[t]);
    }
    sched_destroy(w.s);
}

/* --- figures -------------------------------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    return v[(int)(p * (n - 1) + 0.5)];
}

int main(int argc, char **argv)
{
    int per = argc > 1 ? atoi(argv[1]) : 8;
    verbose = getenv("BQ_VERBOSE") != NULL;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    int total = NFAM * NSIZES * per, fails = 0, differ = 0;
    double *ratio[NFAM][NRULE], *eta_err[3], *eta_all[NFAM];
    int nr[NFAM] = {0}, ne[3] = {0}, wins[NFAM] = {0}, nfam_eta[NFAM] = {0};

    for (int f = 0; f < NFAM; f++) {
        for (int r = 0; r < NRULE; r++)
            ratio[f][r] = xmalloc(sizeof(double) * (size_t)total);
        eta_all[f] = xmalloc(sizeof(double) * (size_t)total);
    }
    for (int k = 0; k < 3; k++)
        eta_err[k] = xmalloc(sizeof(double) * (size_t)total);
    printf("scheduling quality: %d graphs per family (%d per size in", NSIZES * per, per);
    for (int i = 0; i < NSIZES; i++)
        printf(" %d", sizes[i]);
    printf(" requirements), seed %llu\n", (unsigned long long)seed);
    for (int f = 0; f < NFAM; f++)
        for (int si = 0; si < NSIZES; si++)
            for (int k = 0; k < per; k++) {
                graph g;
                run_out o[NRULE];
                int64_t lb;
                rng = (seed * 1000003ULL + (uint64_t)f * 7919 + (uint64_t)si * 104729 + (uint64_t)k * 1299709) | 1;
                for (int warm = 0; warm < 8; warm++)
                    rnd();
                generate(&g, f, sizes[si]);
                lb = lower_bound(&g);
                run_out eta;
                for (int r = 0; r < NRULE; r++) {
                    run(&g, r, 0, &o[r]);
                    if (o[r].complete != g.n) {
                        fprintf(stderr, "%s n=%d %s: %d of %d completed\n", fam_name[f], g.n, rule_name[r],
                                o[r].complete, g.n);
                        fails++;
                    }
                    ratio[f][r][nr[f]] = (double)o[r].makespan / (double)lb;
                }
                /* the rank run again, reading its ETAs at a quarter, half and three quarters */
                run(&g, R_RANK, o[R_RANK].makespan, &eta);
                if (eta.makespan != o[R_RANK].makespan)
                    differ++;
                if (verbose)
                    fprintf(stderr, "%s n=%d lb %.1f h (cp %.1f): oldest %.3f downstream %.3f rank alone %.3f "
                            "rank+reserve %.3f\n", fam_name[f], g.n, (double)lb / HOUR_MS,
                            (double)critical_path(&g) / HOUR_MS, ratio[f][R_AGE][nr[f]], ratio[f][R_DOWN][nr[f]],
                            ratio[f][R_LIST][nr[f]], ratio[f][R_RANK][nr[f]]);
                if (o[R_RANK].makespan <= o[R_AGE].makespan && o[R_RANK].makespan <= o[R_DOWN].makespan)
                    wins[f]++;
                for (int q = 0; q < eta.npred; q++) {
                    double left = (double)(eta.makespan - eta.pred_t[q]);
                    double e = left > 0 ? fabs((double)(eta.pred_end[q] - eta.makespan)) / left : 0;
                    eta_err[q][ne[q]++] = e;
                    if (q == 1)
                        eta_all[f][nfam_eta[f]++] = e;
                    if (verbose && q == 1)
                        fprintf(stderr, "%s n=%d at 50%%: left %.1f h, predicted %.1f h\n", fam_name[f], g.n,
                                left / HOUR_MS, (double)(eta.pred_end[q] - eta.pred_t[q]) / HOUR_MS);
                }
                nr[f]++;
                g_free(&g);
            }

    printf("\nmakespan / lower bound (mean; max), lower bound = max(critical path, work of a type / its agents)\n");
    printf("%-10s %18s %18s %18s %18s %12s %12s %10s\n", "family", rule_name[0], rule_name[1], rule_name[2],
           rule_name[3], "ours/oldest", "ours/downst", "ours best");
    {
        double all_rank = 0;
        int all_n = 0, every_family_better = 1;
        for (int f = 0; f < NFAM; f++) {
            double mean[NRULE], mx[NRULE];
            for (int r = 0; r < NRULE; r++) {
                mean[r] = 0;
                mx[r] = 0;
                for (int i = 0; i < nr[f]; i++) {
                    mean[r] += ratio[f][r][i];
                    if (ratio[f][r][i] > mx[r])
                        mx[r] = ratio[f][r][i];
                }
                mean[r] /= nr[f] ? nr[f] : 1;
            }
            for (int i = 0; i < nr[f]; i++)
                all_rank += ratio[f][R_RANK][i];
            all_n += nr[f];
            printf("%-10s %10.3f; %5.2f %10.3f; %5.2f %10.3f; %5.2f %10.3f; %5.2f %12.3f %12.3f %6d/%d\n", fam_name[f],
                   mean[R_AGE], mx[R_AGE], mean[R_DOWN], mx[R_DOWN], mean[R_LIST], mx[R_LIST], mean[R_RANK], mx[R_RANK],
                   mean[R_RANK] / mean[R_AGE], mean[R_RANK] / mean[R_DOWN], wins[f], nr[f]);
            if (!(mean[R_RANK] < mean[R_AGE] && mean[R_RANK] < mean[R_DOWN]))
                every_family_better = 0;
        }
        printf("target: mean makespan within 1.05x the lower bound: %.4f overall (%s); better than both on every "
               "family: %s\n",
               all_rank / all_n, all_rank / all_n <= 1.05 ? "met" : "NOT met", every_family_better ? "met" : "NOT met");
    }
    printf("\nroadmap ETA error, |predicted end - actual end| / time left, rank order (%d of the runs ended "
           "otherwise than the run measured above)\n", differ);
    printf("%-14s %8s %8s %6s\n", "at", "median", "p90", "runs");
    {
        static const char *const at[3] = {"25% of the run", "50% of the run", "75% of the run"};
        double med50 = 0;
        for (int q = 0; q < 3; q++) {
            double m = pct(eta_err[q], ne[q], 0.5), p = pct(eta_err[q], ne[q], 0.9);
            printf("%-14s %7.1f%% %7.1f%% %6d\n", at[q], 100 * m, 100 * p, ne[q]);
            if (q == 1)
                med50 = m;
        }
        printf("at 50%% by family (median):");
        for (int f = 0; f < NFAM; f++)
            printf(" %s %.1f%%", fam_name[f], 100 * pct(eta_all[f], nfam_eta[f], 0.5));
        printf("\ntarget: ETA error at 50%% under 15%% at the median: %.1f%% (%s)\n", 100 * med50,
               med50 < 0.15 ? "met" : "NOT met");
    }
    for (int f = 0; f < NFAM; f++) {
        for (int r = 0; r < NRULE; r++)
            free(ratio[f][r]);
        free(eta_all[f]);
    }
    for (int k = 0; k < 3; k++)
        free(eta_err[k]);
    return fails ? 1 : 0;
}
