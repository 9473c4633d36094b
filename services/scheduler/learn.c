/* Learned durations and token use.
 *
 * The scheduler needs an expected duration for every unfinished
 * requirement: it orders ready work by the expected work behind it
 * (rank.c) and simulates the rest of the roadmap for ETAs (sim.c). The
 * router's sizes (S, M, L, XL) and the configured guesses for them (30 min,
 * 2 h, 4 h, 8 h) are a start; what agents of a type actually took is
 * better, and differs by type (documentation is quicker than database work
 * of the same size).
 *
 * Each type and size keeps its last LEARN_KEEP samples in a ring, so the
 * figure follows a change of agents or models within a few dozen
 * requirements and the memory is fixed (7 x 5 x 64 samples, 36 KB). The expected
 * duration is the mean of the samples, each first cut to LEARN_CUT times
 * their median. Why not the median or a trimmed mean: a roadmap's ETA is a
 * sum of many durations, and the mean is what a sum grows by; agent work is
 * skewed (log-normal, with the odd attempt that takes five times longer),
 * so a median or trimmed mean would be optimistic by a third. Why the cut:
 * one absurd sample (an agent that hung over a weekend) would otherwise
 * move the mean of 64 samples by days. The 90th percentile of the same
 * samples gives a late ETA.
 *
 * The mean of 64 samples of work this skewed is still off by a tenth or
 * so, and a size with few samples more; what one size of a type took says
 * much about its others (a slow type is slow at every size). So a size's
 * own mean is pooled with the type's scaled guess (below), weighted as
 * LEARN_POOL samples: with 5 samples of its own the guess still counts for
 * two thirds, with 64 for a seventh.
 *
 * A size with fewer than LEARN_MIN samples is not left at its guess when
 * the type's other sizes are known: its guess is scaled by what the type's
 * sizes took against their guesses (their cut means, weighted by their
 * samples), so one learned size corrects the others of its type. A scale from few samples is pulled towards the scale
 * of all types (and that one towards 1) as if LEARN_MIN samples had said
 * so: the first samples of a type are its quickest work, or one outlier.
 *
 * The forecast (sim.c, run from schedule.c) needs more than a mean: it
 * draws durations from the samples themselves (learn_draw), and for work
 * already running, only from the samples longer than what it has run:
 * work that is late tends to be the long kind, so what is left of it is
 * more than the mean less the time spent (learn_remaining).
 *
 * Tokens are kept the same way, over the samples that reported any. */
#include "learn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "text.h"

#define LEARN_CUT 8

/* Insertion sort: v holds at most LEARN_KEEP values, and this runs on
 * every completion, where qsort's calls cost more than the sorting. */
static void sort_small(int64_t *v, int n)
{
    for (int i = 1; i < n; i++) {
        int64_t x = v[i];
        int j = i - 1;
        for (; j >= 0 && v[j] > x; j--)
            v[j + 1] = v[j];
        v[j + 1] = x;
    }
}

/* Mean of v[0..n) after cutting each value to LEARN_CUT x the median;
 * sorts v. */
static int64_t cut_mean(int64_t *v, int n)
{
    int64_t cap, sum = 0;
    if (n <= 0)
        return 0;
    sort_small(v, n);
    cap = v[n / 2] * LEARN_CUT;
    for (int i = 0; i < n; i++)
        sum += v[i] < cap ? v[i] : cap;
    return sum / n;
}

static int64_t pct_of_sorted(const int64_t *v, int n, int pct)
{
    int k = (n * pct + 99) / 100 - 1;
    if (k < 0)
        k = 0;
    if (k >= n)
        k = n - 1;
    return v[k];
}

static int clamp(int x, int hi) { return x >= 0 && x < hi ? x : 0; }

static void summarise(learn_bucket *b)
{
    int64_t v[LEARN_KEEP];
    int m = 0;
    memcpy(v, b->ms, sizeof(int64_t) * (size_t)b->n);
    b->mean_ms = cut_mean(v, b->n);
    b->p90_ms = b->n ? pct_of_sorted(v, b->n, 90) : 0;
    b->cap_ms = b->n ? v[b->n / 2] * LEARN_CUT : 0;
    for (int i = 0; i < b->n; i++)
        if (b->tokens[i])
            v[m++] = (int64_t)b->tokens[i];
    b->n_tokens = m;
    b->mean_tokens = (uint64_t)cut_mean(v, m);
}

/* A scale from n samples, pulled towards base (x1000) as if LEARN_MIN
 * samples had said base: a few early samples, which are the quick ones or
 * one slow one, do not set a type's pace on their own. */
static int64_t shrink(int64_t scale, int n, int64_t base)
{
    return (scale * n + base * LEARN_MIN) / (n + LEARN_MIN);
}

/* The scale of type t's unlearned sizes: its sizes' cut means against
 * their priors, weighted by their samples (O(sizes): this runs on every
 * sample); then every type's pulled towards the scale of all types, which
 * is the types' scales weighted the same way. */
static void rescale(learn *l, int t)
{
    int64_t sum = 0;
    int nm = 0, na = 0;
    for (int c = 0; c < LEARN_SIZES; c++) {
        const learn_bucket *b = &l->b[t][c];
        if (l->prior_ms[c] <= 0 || !b->n)
            continue;
        sum += b->mean_ms * 1000 / l->prior_ms[c] * b->n;
        nm += b->n;
    }
    l->type_raw[t] = nm ? sum / nm : 0;
    l->type_n[t] = nm;
    sum = 0;
    for (int u = 0; u < NAMES_AGENT_TYPES; u++) {
        sum += l->type_raw[u] * l->type_n[u];
        na += l->type_n[u];
    }
    l->all_scale = na ? shrink(sum / na, na, 1000) : 0;
    for (int u = 0; u < NAMES_AGENT_TYPES; u++)
        l->type_scale[u] = l->type_n[u] ? shrink(l->type_raw[u], l->type_n[u], l->all_scale) : 0;
}

void learn_init(learn *l, const int64_t prior_ms[LEARN_SIZES])
{
    memset(l, 0, sizeof(*l));
    memcpy(l->prior_ms, prior_ms, sizeof(l->prior_ms));
}

static void push(learn_bucket *b, int64_t ms, uint64_t tokens)
{
    int i;
    if (b->n < LEARN_KEEP) {
        i = b->n++;
    } else {
        i = b->next;
        b->next = (b->next + 1) % LEARN_KEEP;
    }
    b->ms[i] = ms;
    b->tokens[i] = tokens;
    b->seen++;
}

int learn_add(learn *l, int type, int size, int64_t ms, uint64_t tokens)
{
    learn_bucket *b = &l->b[clamp(type, NAMES_AGENT_TYPES)][clamp(size, LEARN_SIZES)];
    int usable = b->n >= LEARN_MIN;
    int64_t d;
    if (ms < 0)
        ms = 0;
    push(b, ms, tokens);
    summarise(b);
    rescale(l, clamp(type, NAMES_AGENT_TYPES));
    if (b->n < LEARN_MIN)
        return 0;
    d = b->mean_ms - b->told_ms;
    if (usable && (d < 0 ? -d : d) * 10 <= b->told_ms)
        return 0;
    b->told_ms = b->mean_ms;
    return 1;
}

int learn_add_tokens(learn *l, int type, int size, uint64_t tokens)
{
    learn_bucket *b = &l->b[clamp(type, NAMES_AGENT_TYPES)][clamp(size, LEARN_SIZES)];
    for (int k = 0; k < b->n && tokens; k++) {
        int i = ((b->n < LEARN_KEEP ? b->n : b->next) - 1 - k + LEARN_KEEP) % LEARN_KEEP; /* newest first */
        if (b->tokens[i] == 0) {
            b->tokens[i] = tokens;
            summarise(b);
            return 1;
        }
    }
    return 0;
}

int learn_count(const learn *l, int type, int size)
{
    return l->b[clamp(type, NAMES_AGENT_TYPES)][clamp(size, LEARN_SIZES)].n;
}

int64_t learn_duration(const learn *l, int type, int size, int *how)
{
    int t = clamp(type, NAMES_AGENT_TYPES), c = clamp(size, LEARN_SIZES);
    const learn_bucket *b = &l->b[t][c];
    int64_t scale = l->type_scale[t] ? l->type_scale[t] : l->all_scale;
    int h = 0;
    int64_t d = l->prior_ms[c];
    if (scale)
        d = l->prior_ms[c] * scale / 1000;
    if (b->n >= LEARN_MIN) {
        d = (b->mean_ms * b->n + d * LEARN_POOL) / (b->n + LEARN_POOL);
        h = 2;
    } else if (scale) {
        h = 1;
    }
    if (how)
        *how = h;
    return d;
}

int64_t learn_duration_pct(const learn *l, int type, int size, int pct)
{
    int t = clamp(type, NAMES_AGENT_TYPES), c = clamp(size, LEARN_SIZES);
    const learn_bucket *b = &l->b[t][c];
    int64_t v[LEARN_KEEP];
    if (b->n < LEARN_MIN)
        return 2 * learn_duration(l, type, size, NULL);
    if (pct == 90)
        return b->p90_ms;
    memcpy(v, b->ms, sizeof(int64_t) * (size_t)b->n);
    sort_small(v, b->n);
    return pct_of_sorted(v, b->n, pct < 1 ? 1 : pct > 100 ? 100 : pct);
}

int64_t learn_remaining(const learn *l, int type, int size, int64_t elapsed)
{
    const learn_bucket *b = &l->b[clamp(type, NAMES_AGENT_TYPES)][clamp(size, LEARN_SIZES)];
    int64_t d = learn_duration(l, type, size, NULL), sum = 0;
    int n = 0;
    if (elapsed < 0)
        elapsed = 0;
    if (b->n >= LEARN_MIN)
        for (int i = 0; i < b->n; i++)
            if (b->ms[i] > elapsed) {
                sum += b->ms[i] - elapsed;
                n++;
            }
    if (n)
        return sum / n;
    return d - elapsed > d / 4 ? d - elapsed : d / 4;
}

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

int64_t learn_draw(const learn *l, int type, int size, int64_t elapsed, uint64_t *rng)
{
    int t = clamp(type, NAMES_AGENT_TYPES), c = clamp(size, LEARN_SIZES), own = 0, all = 0, pick, lo, hi;
    const learn_bucket *b = &l->b[t][c];
    int64_t d = learn_duration(l, t, c, NULL), v;
    if (elapsed < 0)
        elapsed = 0;
    if (b->n >= LEARN_MIN) {
        for (int tries = 0; tries < 8; tries++) {
            v = b->ms[next(rng) % (uint64_t)b->n];
            v = v < b->cap_ms ? v : b->cap_ms;
            if (v > elapsed)
                return v - elapsed;
        }
        return learn_remaining(l, t, c, elapsed);
    }
    for (int u = 0; u < NAMES_AGENT_TYPES; u++)
        for (int k = 0; k < LEARN_SIZES; k++) {
            all += l->b[u][k].n;
            if (u == t)
                own += l->b[u][k].n;
        }
    if (all == 0)
        return learn_remaining(l, t, c, elapsed);
    /* the pick-th sample of the type, or of all types when it has none */
    lo = own ? t : 0;
    hi = own ? t + 1 : NAMES_AGENT_TYPES;
    pick = (int)(next(rng) % (uint64_t)(own ? own : all));
    for (int u = lo; u < hi; u++)
        for (int k = 0; k < LEARN_SIZES; k++) {
            const learn_bucket *o = &l->b[u][k];
            int64_t base, x;
            if (pick >= o->n) {
                pick -= o->n;
                continue;
            }
            base = learn_duration(l, u, k, NULL);
            x = o->ms[pick] < o->cap_ms ? o->ms[pick] : o->cap_ms;
            v = base > 0 ? (int64_t)((double)x / (double)base * (double)d) : d;
            return v > elapsed ? v - elapsed : learn_remaining(l, t, c, elapsed);
        }
    return learn_remaining(l, t, c, elapsed);
}

int learn_tokens(const learn *l, int type, int size, uint64_t *tokens)
{
    const learn_bucket *b = &l->b[clamp(type, NAMES_AGENT_TYPES)][clamp(size, LEARN_SIZES)];
    if (b->n_tokens < LEARN_MIN)
        return 0;
    *tokens = b->mean_tokens;
    return 1;
}

void learn_to_json(const learn *l, char **out, size_t *len)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "buckets");
    cJSON_AddNumberToObject(root, "v", 1);
    for (int t = 0; t < NAMES_AGENT_TYPES; t++)
        for (int c = 0; c < LEARN_SIZES; c++) {
            const learn_bucket *b = &l->b[t][c];
            cJSON *o, *ms, *tk;
            if (!b->n)
                continue;
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "type", names_agent_type((Orchestrator__V1__AgentType)t));
            cJSON_AddStringToObject(o, "size", names_complexity((Orchestrator__V1__Complexity)c));
            cJSON_AddNumberToObject(o, "seen", (double)b->seen);
            ms = cJSON_AddArrayToObject(o, "ms");
            tk = cJSON_AddArrayToObject(o, "tokens");
            for (int k = 0; k < b->n; k++) {
                int i = b->n < LEARN_KEEP ? k : (b->next + k) % LEARN_KEEP;
                cJSON_AddItemToArray(ms, cJSON_CreateNumber((double)b->ms[i]));
                cJSON_AddItemToArray(tk, cJSON_CreateNumber((double)b->tokens[i]));
            }
            cJSON_AddItemToArray(arr, o);
        }
    *out = cJSON_PrintUnformatted(root);
    if (!*out)
        abort(); /* out of memory: the daemons' policy (text.h) */
    *len = strlen(*out);
    cJSON_Delete(root);
}

/* A non-negative whole number below 2^53, or -1. */
static int64_t whole(const cJSON *x)
{
    if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 9007199254740992.0)
        return -1;
    return (int64_t)x->valuedouble;
}

orch_status learn_from_json(learn *l, const char *text, size_t len, char err[ERR_LEN])
{
    cJSON *root = NULL, *arr, *o;
    learn *tmp = NULL;
    orch_status rc = ORCH_ERR_INVALID;

    if (len > LEARN_JSON_MAX) {
        snprintf(err, ERR_LEN, "learned figures: %zu bytes, more than %d", len, LEARN_JSON_MAX);
        return ORCH_ERR_TOO_BIG;
    }
    root = cJSON_ParseWithLength(text, len);
    arr = cJSON_GetObjectItemCaseSensitive(root, "buckets");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(arr)) {
        snprintf(err, ERR_LEN, "learned figures: not an object with a \"buckets\" array");
        goto out;
    }
    tmp = xmalloc(sizeof(*tmp));
    learn_init(tmp, l->prior_ms);
    cJSON_ArrayForEach(o, arr) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
        const cJSON *sz = cJSON_GetObjectItemCaseSensitive(o, "size");
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(o, "ms");
        const cJSON *tk = cJSON_GetObjectItemCaseSensitive(o, "tokens");
        int t, c, n, skip;
        learn_bucket *b;
        if (!cJSON_IsString(ty) || !cJSON_IsString(sz) || !cJSON_IsArray(ms)) {
            snprintf(err, ERR_LEN, "learned figures: a bucket without type, size or ms");
            goto out;
        }
        t = (int)names_agent_parse(ty->valuestring);
        c = (int)names_complexity_parse(sz->valuestring);
        if (!t && strcmp(ty->valuestring, names_agent_type(0)) != 0)
            continue; /* a type this build does not know */
        if (!c && strcmp(sz->valuestring, names_complexity(0)) != 0)
            continue;
        b = &tmp->b[t][c];
        n = cJSON_GetArraySize(ms);
        skip = n > LEARN_KEEP ? n - LEARN_KEEP : 0;
        for (int k = skip; k < n; k++) {
            int64_t v = whole(cJSON_GetArrayItem(ms, k));
            int64_t w = cJSON_IsArray(tk) ? whole(cJSON_GetArrayItem(tk, k)) : 0;
            if (v < 0) {
                snprintf(err, ERR_LEN, "learned figures: %s %s: ms[%d] is not a whole number of ms",
                         ty->valuestring, sz->valuestring, k);
                goto out;
            }
            push(b, v, w > 0 ? (uint64_t)w : 0);
        }
        {
            int64_t seen = whole(cJSON_GetObjectItemCaseSensitive(o, "seen"));
            if (seen > (int64_t)b->seen)
                b->seen = (uint64_t)seen;
        }
        summarise(b);
        b->told_ms = b->mean_ms;
    }
    for (int t = 0; t < NAMES_AGENT_TYPES; t++)
        rescale(tmp, t);
    *l = *tmp;
    rc = ORCH_OK;
out:
    free(tmp);
    cJSON_Delete(root);
    return rc;
}
