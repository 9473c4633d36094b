/* The merge train of one base branch (train.h says the rules). The queue is
 * an array in arrival order; item i's candidate is the base with items
 * 0..i merged. Every decision is made in train_step, from the items' states
 * alone, so the order in which results arrive changes nothing. */
#include "train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

enum { Q_QUEUED = 0, Q_BUILDING, Q_PASSED, Q_FAILED };

typedef struct {
    char id[TRAIN_ID_LEN];
    char commit[TRAIN_COMMIT_LEN];
    char **deps;
    int ndeps;
    int state;
    int ask;                        /* a build to ask for again (restored) */
    int conflict;                   /* failed: did not merge onto what was ahead */
    uint64_t build;
    char merged[TRAIN_COMMIT_LEN];
    char *output;                   /* failed: the build's output */
} item;

struct train {
    train_cfg cfg;
    train_out out;
    char base[TRAIN_COMMIT_LEN];
    int base_good;
    int paused;
    long long next_check_ms;
    uint64_t base_check;            /* a check of the base under way, 0 when none */
    int base_check_ask;
    item *q;
    int n;
    uint64_t next_build;
    int advancing;                  /* items in the pending base move, 0 when none */
    char target[TRAIN_COMMIT_LEN];
};

static int fits(const char *s, size_t cap)
{
    return s && *s && strlen(s) < cap;
}

static void item_void(item *it)
{
    it->state = Q_QUEUED;
    it->ask = 0;
    it->conflict = 0;
    it->build = 0;
    it->merged[0] = '\0';
    free(it->output);
    it->output = NULL;
}

static void item_free(item *it)
{
    for (int k = 0; k < it->ndeps; k++)
        free(it->deps[k]);
    free(it->deps);
    free(it->output);
}

static int find(const train *t, const char *id)
{
    for (int i = 0; t && id && i < t->n; i++)
        if (!strcmp(t->q[i].id, id))
            return i;
    return -1;
}

train *train_create(const char *base, const train_cfg *cfg, const train_out *out)
{
    train *t;
    if (!fits(base, TRAIN_COMMIT_LEN) || !cfg || cfg->max_ahead < 1 || cfg->base_retry_ms < 0)
        return NULL;
    if (!(t = calloc(1, sizeof(*t))) || !(t->q = calloc(TRAIN_MAX, sizeof(item)))) {
        free(t);
        return NULL;
    }
    t->cfg = *cfg;
    if (out)
        t->out = *out;
    snprintf(t->base, sizeof(t->base), "%s", base);
    t->next_build = 1;
    return t;
}

void train_destroy(train *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n; i++)
        item_free(&t->q[i]);
    free(t->q);
    free(t);
}

orch_status train_enqueue(train *t, const train_change *c, char err[ERR_LEN])
{
    item *it;
    if (!t || !c || !fits(c->id, TRAIN_ID_LEN) || !fits(c->commit, TRAIN_COMMIT_LEN)) {
        snprintf(err, ERR_LEN, "a change needs an id (under %d bytes) and a commit (under %d bytes)", TRAIN_ID_LEN,
                 TRAIN_COMMIT_LEN);
        return ORCH_ERR_INVALID;
    }
    if (find(t, c->id) >= 0) {
        snprintf(err, ERR_LEN, "%s is already in the train", c->id);
        return ORCH_ERR_INVALID;
    }
    if (t->n >= TRAIN_MAX) {
        snprintf(err, ERR_LEN, "the train is full (%d changes)", TRAIN_MAX);
        return ORCH_ERR_INVALID;
    }
    if (c->ndeps < 0 || (c->ndeps > 0 && !c->deps)) {
        snprintf(err, ERR_LEN, "%s: bad dependency list", c->id);
        return ORCH_ERR_INVALID;
    }
    it = &t->q[t->n];
    memset(it, 0, sizeof(*it));
    snprintf(it->id, sizeof(it->id), "%s", c->id);
    snprintf(it->commit, sizeof(it->commit), "%s", c->commit);
    if (c->ndeps > 0) {
        it->deps = xcalloc((size_t)c->ndeps, sizeof(char *));
        for (int k = 0; k < c->ndeps; k++)
            it->deps[it->ndeps++] = xstrdup(c->deps[k] ? c->deps[k] : "");
    }
    /* its verification built exactly what the base would become */
    if (t->n == 0 && fits(c->verified_on, TRAIN_COMMIT_LEN) && !strcmp(c->verified_on, t->base) &&
        fits(c->verified_merge, TRAIN_COMMIT_LEN) && !t->paused) {
        it->state = Q_PASSED;
        snprintf(it->merged, sizeof(it->merged), "%s", c->verified_merge);
    }
    t->n++;
    return ORCH_OK;
}

static int depends_on(const item *it, const char *id)
{
    for (int k = 0; k < it->ndeps; k++)
        if (!strcmp(it->deps[k], id))
            return 1;
    return 0;
}

/* Takes item i out; everything behind it loses its candidate, and what is
 * stacked on a change that left leaves too (told through out.eject when
 * tell is set for i, always for the stacked ones). */
static void drop(train *t, int i, int tell, train_eject_kind kind, const char *output)
{
    char gone[64][TRAIN_ID_LEN];   /* what left in this drop (the first 64) */
    int ngone = 0;
    char why[TRAIN_ID_LEN + 64];

    if (tell && t->out.eject)
        t->out.eject(t->out.ctx, t->q[i].id, kind, output ? output : "");
    snprintf(gone[ngone++], TRAIN_ID_LEN, "%s", t->q[i].id);
    item_free(&t->q[i]);
    memmove(&t->q[i], &t->q[i + 1], sizeof(item) * (size_t)(t->n - i - 1));
    t->n--;
    for (int j = i; j < t->n;) {
        int stacked = 0;
        for (int g = 0; g < ngone && !stacked; g++)
            if (depends_on(&t->q[j], gone[g])) {
                stacked = 1;
                snprintf(why, sizeof(why), "dependency %s left the merge train", gone[g]);
            }
        if (stacked) {
            if (t->out.eject)
                t->out.eject(t->out.ctx, t->q[j].id, TRAIN_EJECT_DEPENDENCY, why);
            if (ngone < (int)(sizeof(gone) / sizeof(gone[0])))
                snprintf(gone[ngone++], TRAIN_ID_LEN, "%s", t->q[j].id);
            item_free(&t->q[j]);
            memmove(&t->q[j], &t->q[j + 1], sizeof(item) * (size_t)(t->n - j - 1));
            t->n--;
            continue;
        }
        item_void(&t->q[j]);
        j++;
    }
}

int train_remove(train *t, const char *id)
{
    int i = find(t, id);
    if (i < 0 || i < t->advancing)
        return 0;   /* not queued, or already in the base move */
    drop(t, i, 0, TRAIN_EJECT_DEPENDENCY, NULL);
    return 1;
}

int train_result(train *t, uint64_t build, int passed, int merge_conflict, const char *merged, const char *output,
                 long long now_ms)
{
    if (!t || build == 0)
        return 0;
    if (build == t->base_check) {
        t->base_check = 0;
        t->base_check_ask = 0;
        if (passed) {
            t->base_good = 1;
            if (t->paused) {
                t->paused = 0;
                if (t->out.resumed)
                    t->out.resumed(t->out.ctx, t->base);
            }
        } else if (!t->paused) {
            t->paused = 1;
            t->next_check_ms = now_ms + t->cfg.base_retry_ms;
            /* what failed beside a failing base proves nothing */
            for (int i = 0; i < t->n; i++)
                if (t->q[i].state == Q_FAILED)
                    item_void(&t->q[i]);
            if (t->out.paused)
                t->out.paused(t->out.ctx, t->base, output ? output : "");
        } else {
            t->next_check_ms = now_ms + t->cfg.base_retry_ms;
        }
        return 1;
    }
    for (int i = 0; i < t->n; i++) {
        item *it = &t->q[i];
        if (it->build != build || it->state != Q_BUILDING)
            continue;
        if (passed && fits(merged, TRAIN_COMMIT_LEN)) {
            it->state = Q_PASSED;
            snprintf(it->merged, sizeof(it->merged), "%s", merged);
        } else {
            it->state = Q_FAILED;
            it->conflict = !passed && merge_conflict;
            free(it->output);
            it->output = xstrdup(passed ? "the build passed but named no merged commit" : output ? output : "");
        }
        it->ask = 0;
        return 1;
    }
    return 0;
}

static void ask_build(train *t, int upto, uint64_t build)
{
    const char *ids[TRAIN_MAX], *commits[TRAIN_MAX];
    train_build b = {.build = build, .base = t->base, .n = upto, .ids = ids, .commits = commits};
    for (int k = 0; k < upto; k++) {
        ids[k] = t->q[k].id;
        commits[k] = t->q[k].commit;
    }
    if (t->out.build)
        t->out.build(t->out.ctx, &b);
}

/* Ejects the first failure that can be judged; 1 when the queue changed. */
static int judge(train *t, int *free, long long now_ms)
{
    for (int i = 0; i < t->n; i++) {
        item *it = &t->q[i];
        if (it->state == Q_PASSED)
            continue;
        if (it->state != Q_FAILED)
            return 0;   /* everything behind waits for this one */
        if (i == 0 && !t->base_good && !it->conflict) {
            /* the head failed on a base not known to pass: the base first */
            if (!t->base_check && *free > 0) {
                t->base_check = t->next_build++;
                (*free)--;
                ask_build(t, 0, t->base_check);
            }
            (void)now_ms;
            return 0;
        }
        drop(t, i, 1, it->conflict ? TRAIN_EJECT_CONFLICT : TRAIN_EJECT_FAILED, it->output);
        return 1;
    }
    return 0;
}

void train_step(train *t, int free, long long now_ms)
{
    int k = 0;
    if (!t)
        return;
    if (t->paused) {
        if ((!t->base_check || t->base_check_ask) && now_ms >= t->next_check_ms && free > 0) {
            if (!t->base_check)
                t->base_check = t->next_build++;
            t->base_check_ask = 0;
            free--;
            ask_build(t, 0, t->base_check);
        }
        return;
    }
    if (t->base_check && t->base_check_ask && free > 0) {
        t->base_check_ask = 0;
        free--;
        ask_build(t, 0, t->base_check);
    }
    while (judge(t, &free, now_ms))
        ;
    if (!t->advancing) {
        while (k < t->n && t->q[k].state == Q_PASSED)
            k++;
        if (k > 0) {
            const char *ids[TRAIN_MAX];
            for (int i = 0; i < k; i++)
                ids[i] = t->q[i].id;
            t->advancing = k;
            snprintf(t->target, sizeof(t->target), "%s", t->q[k - 1].merged);
            if (t->out.advance)
                t->out.advance(t->out.ctx, t->base, t->target, ids, k);
        }
    }
    for (int i = 0; i < t->n && i < t->cfg.max_ahead && free > 0; i++) {
        item *it = &t->q[i];
        if (it->state == Q_QUEUED) {
            it->state = Q_BUILDING;
            it->build = t->next_build++;
        } else if (!(it->state == Q_BUILDING && it->ask)) {
            continue;
        }
        it->ask = 0;
        free--;
        ask_build(t, i + 1, it->build);
    }
}

void train_advanced(train *t, int ok, const char *remote)
{
    if (!t || !t->advancing)
        return;
    if (!ok) {
        train_base_is(t, remote);
        return;
    }
    for (int i = 0; i < t->advancing; i++)
        item_free(&t->q[i]);
    memmove(&t->q[0], &t->q[t->advancing], sizeof(item) * (size_t)(t->n - t->advancing));
    t->n -= t->advancing;
    t->advancing = 0;
    snprintf(t->base, sizeof(t->base), "%s", t->target);
    t->target[0] = '\0';
    t->base_good = 1;
}

void train_base_is(train *t, const char *remote)
{
    if (!t)
        return;
    if (t->advancing && remote && !strcmp(remote, t->target)) {
        train_advanced(t, 1, NULL);
        return;
    }
    if (remote && !strcmp(remote, t->base)) {
        t->advancing = 0;   /* the move did not happen: decided again at the next step */
        return;
    }
    t->advancing = 0;
    if (fits(remote, TRAIN_COMMIT_LEN))
        snprintf(t->base, sizeof(t->base), "%s", remote);
    t->base_good = 0;
    t->base_check = 0;
    t->base_check_ask = 0;
    t->next_check_ms = 0;
    for (int i = 0; i < t->n; i++)
        item_void(&t->q[i]);
}

const char *train_target(const train *t)
{
    return t && t->advancing ? t->target : "";
}

const char *train_base(const train *t)
{
    return t ? t->base : NULL;
}

int train_len(const train *t)
{
    return t ? t->n : 0;
}

int train_paused(const train *t)
{
    return t ? t->paused : 0;
}

int train_position(const train *t, const char *id)
{
    return find(t, id);
}

const char *train_id_at(const train *t, int i)
{
    return t && i >= 0 && i < t->n ? t->q[i].id : NULL;
}

train_stage train_where(const train *t, const char *id)
{
    int i = find(t, id);
    if (i < 0)
        return TRAIN_NOT_QUEUED;
    if (i < t->advancing)
        return TRAIN_MERGING;
    switch (t->q[i].state) {
    case Q_BUILDING: return TRAIN_BUILDING;
    case Q_PASSED: return TRAIN_PASSED;
    case Q_FAILED: return TRAIN_FAILED;
    default: return TRAIN_QUEUED;
    }
}

int train_building(const train *t)
{
    int n = 0;
    for (int i = 0; t && i < t->n; i++)
        n += t->q[i].state == Q_BUILDING;
    return n + (t && t->base_check ? 1 : 0);
}

/* --- state ---------------------------------------------------------------- */

static const char *const STATES[] = {"queued", "building", "passed", "failed"};

cJSON *train_to_json(const train *t)
{
    cJSON *j, *items;
    if (!t)
        return NULL;
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "base", t->base);
    cJSON_AddBoolToObject(j, "baseGood", t->base_good);
    cJSON_AddBoolToObject(j, "paused", t->paused);
    cJSON_AddNumberToObject(j, "nextCheckMs", (double)t->next_check_ms);
    cJSON_AddNumberToObject(j, "nextBuild", (double)t->next_build);
    cJSON_AddNumberToObject(j, "baseCheck", (double)t->base_check);
    cJSON_AddNumberToObject(j, "advancing", t->advancing);
    cJSON_AddStringToObject(j, "target", t->target);
    items = cJSON_AddArrayToObject(j, "items");
    for (int i = 0; i < t->n; i++) {
        const item *it = &t->q[i];
        cJSON *o = cJSON_CreateObject(), *deps = cJSON_AddArrayToObject(o, "deps");
        cJSON_AddStringToObject(o, "id", it->id);
        cJSON_AddStringToObject(o, "commit", it->commit);
        for (int k = 0; k < it->ndeps; k++)
            cJSON_AddItemToArray(deps, cJSON_CreateString(it->deps[k]));
        /* a failure's output is not kept: the candidate is built again */
        cJSON_AddStringToObject(o, "state", STATES[it->state == Q_FAILED ? Q_QUEUED : it->state]);
        cJSON_AddNumberToObject(o, "build", (double)(it->state == Q_BUILDING ? it->build : 0));
        cJSON_AddStringToObject(o, "merged", it->merged);
        cJSON_AddItemToArray(items, o);
    }
    return j;
}

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jnum(const cJSON *j, const char *k, double lo, double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi || v->valuedouble != (double)(long long)v->valuedouble)
        return 0;
    *out = v->valuedouble;
    return 1;
}

train *train_from_json(const cJSON *j, const train_cfg *cfg, const train_out *out, char err[ERR_LEN])
{
    const cJSON *items, *o;
    const char *base = jstr(j, "base"), *target = jstr(j, "target");
    double next_build, base_check, advancing, next_check;
    train *t;
    int i = 0;

    if (!cJSON_IsObject(j) || !fits(base, TRAIN_COMMIT_LEN) || !target || strlen(target) >= TRAIN_COMMIT_LEN ||
        !jnum(j, "nextBuild", 1, 9007199254740991.0, &next_build) ||
        !jnum(j, "baseCheck", 0, next_build - 1, &base_check) || !jnum(j, "advancing", 0, TRAIN_MAX, &advancing) ||
        !jnum(j, "nextCheckMs", -9007199254740991.0, 9007199254740991.0, &next_check) ||
        !cJSON_IsArray(items = cJSON_GetObjectItemCaseSensitive(j, "items")) ||
        cJSON_GetArraySize(items) > TRAIN_MAX || advancing > cJSON_GetArraySize(items)) {
        snprintf(err, ERR_LEN, "not a merge train's state (base, target, nextBuild, baseCheck, advancing, items)");
        return NULL;
    }
    if (!(t = train_create(base, cfg, out))) {
        snprintf(err, ERR_LEN, "bad merge train settings");
        return NULL;
    }
    t->base_good = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "baseGood"));
    t->paused = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "paused"));
    t->next_check_ms = (long long)next_check;
    t->next_build = (uint64_t)next_build;
    t->base_check = (uint64_t)base_check;
    t->base_check_ask = t->base_check != 0;
    cJSON_ArrayForEach(o, items) {
        const char *id = jstr(o, "id"), *commit = jstr(o, "commit"), *state = jstr(o, "state"),
                   *merged = jstr(o, "merged");
        const cJSON *deps = cJSON_GetObjectItemCaseSensitive(o, "deps"), *d;
        const char *dv[64];
        int nd = 0, st = -1;
        double build;
        train_change c;
        for (int s = 0; state && s < Q_FAILED; s++)
            if (!strcmp(state, STATES[s]))
                st = s;
        if (st < 0 || !merged || strlen(merged) >= TRAIN_COMMIT_LEN || !cJSON_IsArray(deps) ||
            cJSON_GetArraySize(deps) > 64 || !jnum(o, "build", 0, next_build - 1, &build) ||
            (st == Q_BUILDING) != (build > 0) || (st == Q_PASSED && !*merged) || (i < advancing && st != Q_PASSED)) {
            snprintf(err, ERR_LEN, "merge train item %d: bad state, build, merged or deps", i);
            goto bad;
        }
        cJSON_ArrayForEach(d, deps) {
            if (!cJSON_IsString(d)) {
                snprintf(err, ERR_LEN, "merge train item %d: a dependency is not a string", i);
                goto bad;
            }
            dv[nd++] = d->valuestring;
        }
        c = (train_change){.id = id, .commit = commit, .deps = dv, .ndeps = nd};
        if (train_enqueue(t, &c, err) != ORCH_OK)
            goto bad;
        t->q[i].state = st;
        t->q[i].build = (uint64_t)build;
        t->q[i].ask = st == Q_BUILDING;
        snprintf(t->q[i].merged, sizeof(t->q[i].merged), "%s", merged);
        i++;
    }
    t->advancing = (int)advancing;
    snprintf(t->target, sizeof(t->target), "%s", target);
    if (t->advancing && strcmp(t->target, t->q[t->advancing - 1].merged)) {
        snprintf(err, ERR_LEN, "the merge train's pending move names another commit than its last change's");
        goto bad;
    }
    return t;
bad:
    train_destroy(t);
    return NULL;
}
