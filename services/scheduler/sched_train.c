/* The merge train, as the scheduler's core drives it (scheduler.merge_train
 * on; docs/merge.md): one train (train.h) per project, fed by merge_pass
 * with approved changes in dependency order, its builds and base moves
 * asked of the verifiers through sched_out, their outcomes coming back as
 * sched_train_built and sched_train_advanced. A change the base now holds
 * is merged (merge_done: COMPLETE, dependents go); one the train ejects
 * goes back to its author like a refused merge (merge_refused: not a failed
 * attempt, limited by max_merge_refusals), or, when only a change it is
 * stacked on went, waits to enter again. Each train's state is saved after
 * every event (train_save), and each queued change's reason says where it
 * is (position, building, passed, moving the base). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sched_int.h"
#include "train.h"

struct sched_train {
    sched *s;
    char project[128];
    char base_branch[200];
    train *t;
    char *saved;                /* the JSON last saved: unchanged trains are not written again */
    const sched_clock *now;     /* during a step: the clock of the event */
};

static struct sched_train *find(const sched *s, const char *project)
{
    for (int k = 0; project && k < s->mg.ntrains; k++)
        if (!strcmp(s->mg.trains[k]->project, project))
            return s->mg.trains[k];
    return NULL;
}

/* --- what the train asks ---------------------------------------------------------- */

static void on_build(void *ctx, const train_build *b)
{
    struct sched_train *x = ctx;
    if (x->s->out.train_build)
        x->s->out.train_build(x->s->out.ctx, x->project, b);
}

/* The move names each change's approved commit too: a verification's merge
 * that no candidate kept is made again from them (docs/merge.md). */
static void on_advance(void *ctx, const char *from, const char *to, const char *const *ids, int n)
{
    struct sched_train *x = ctx;
    const char **commits = xcalloc((size_t)n + 1, sizeof(char *));
    for (int k = 0; k < n; k++) {
        int i = sched_entry_of(x->s, ids[k]);
        commits[k] = i >= 0 && x->s->e[i]->delivery ? x->s->e[i]->delivery->commit : "";
    }
    if (x->s->out.train_advance)
        x->s->out.train_advance(x->s->out.ctx, x->project, from, to, ids, commits, n);
    free(commits);
}

static void on_eject(void *ctx, const char *id, train_eject_kind kind, const char *output)
{
    struct sched_train *x = ctx;
    sched *s = x->s;
    int i = sched_entry_of(s, id);
    pb_state *st = i >= 0 ? s->e[i] : NULL;
    if (!st || st->status != ST_MERGING)
        return;
    if (kind == TRAIN_EJECT_DEPENDENCY) {
        /* its change is fine; what it is stacked on went back to its
         * author: it enters again once that one has */
        st->merge_released = 0;
        sched_reason(st, WK(MERGE), "merge: out of the merge train with a change it depends on; enters again after it");
        sched_save(s, st, x->now);
        merge_note_approved(s, i);
        return;
    }
    {
        pb_error e = ORCHESTRATOR__V1__AGENT_ERROR__INIT;
        size_t n = strlen(output ? output : "") + 300;
        char *msg = xmalloc(n);
        if (kind == TRAIN_EJECT_CONFLICT)
            snprintf(msg, n, "%s", output ? output : "it does not merge onto the changes ahead of it");
        else
            snprintf(msg, n, "its merge into %s, with the changes ahead of it in the merge train, fails verification:\n%s",
                     x->base_branch, output ? output : "");
        e.message = msg;
        merge_refused(s, i, &e, x->now);
        free(msg);
    }
}

static void on_paused(void *ctx, const char *base, const char *output)
{
    struct sched_train *x = ctx;
    char text[900];
    snprintf(text, sizeof(text),
             "the merge train of %s is paused: %s at %.12s fails its checks without any change (a broken or flaky "
             "base); nothing merges until it passes again. %.500s",
             x->project, x->base_branch, base, output ? output : "");
    if (x->s->out.alert)
        x->s->out.alert(x->s->out.ctx, "critical", "merge_train_paused", x->project, text);
}

static void on_resumed(void *ctx, const char *base)
{
    struct sched_train *x = ctx;
    char text[400];
    snprintf(text, sizeof(text), "the merge train of %s goes on: %s at %.12s passes again", x->project,
             x->base_branch, base);
    if (x->s->out.alert)
        x->s->out.alert(x->s->out.ctx, "info", "merge_train_resumed", x->project, text);
}

static const char *stage_words(train_stage g)
{
    switch (g) {
    case TRAIN_QUEUED: return "waiting for a verifier";
    case TRAIN_BUILDING: return "its candidate is being built";
    case TRAIN_PASSED: return "its candidate passed; waits for the changes ahead";
    case TRAIN_FAILED: return "its candidate failed; judged once the changes ahead are";
    case TRAIN_MERGING: return "the base is being moved to it";
    default: return "";
    }
}

/* Saves the train when it changed, and tells each queued change its stage.
 * Not its position: that changes for every change behind each one merged,
 * and would rewrite every queued state at each base move (orchctl status
 * shows positions, from sched_trains_json). */
static void save(struct sched_train *x)
{
    sched *s = x->s;
    cJSON *j = cJSON_CreateObject(), *t = train_to_json(x->t);
    char *json;
    int n = train_len(x->t);
    for (int k = 0; k < n; k++) {
        const char *id = train_id_at(x->t, k);
        int i = sched_entry_of(s, id);
        if (i >= 0 && s->e[i]->status == ST_MERGING &&
            sched_reason(s->e[i], WK(MERGE), "merge train of %s: %s%s", x->project, stage_words(train_where(x->t, id)),
                         train_paused(x->t) ? " (paused: the base fails)" : ""))
            sched_save(s, s->e[i], x->now);
    }
    cJSON_AddStringToObject(j, "project", x->project);
    cJSON_AddStringToObject(j, "baseBranch", x->base_branch);
    cJSON_AddItemToObject(j, "train", t);
    json = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (x->saved && !strcmp(x->saved, json)) {
        free(json);
        return;
    }
    free(x->saved);
    x->saved = json;
    if (s->out.train_save)
        s->out.train_save(s->out.ctx, x->project, json);
}

static void step(struct sched_train *x, const sched_clock *now)
{
    int free_builders = (int)x->s->cfg.train_ahead - train_building(x->t);
    x->now = now;
    train_step(x->t, free_builders > 0 ? free_builders : 0, now->now_ms);
    save(x);
}

static struct sched_train *add(sched *s, const char *project, const char *base_branch, train *t)
{
    struct sched_train *x = xcalloc(1, sizeof(*x));
    x->s = s;
    snprintf(x->project, sizeof(x->project), "%s", project);
    snprintf(x->base_branch, sizeof(x->base_branch), "%s", base_branch && *base_branch ? base_branch : "main");
    x->t = t;
    s->mg.trains = xrealloc(s->mg.trains, sizeof(*s->mg.trains) * (size_t)(s->mg.ntrains + 1));
    s->mg.trains[s->mg.ntrains++] = x;
    return x;
}

static train_cfg cfg_of(const sched *s)
{
    train_cfg c = {(int)s->cfg.train_ahead, s->cfg.train_base_retry_ms};
    return c;
}

static train_out out_of(struct sched_train *x)
{
    train_out o = {x, on_build, on_advance, on_eject, on_paused, on_resumed};
    return o;
}

/* The project's train; a new one starts on the base commit the change was
 * verified on (a wrong guess costs one refused base move: the train learns
 * the real base then). */
static struct sched_train *train_of(sched *s, const Orchestrator__V1__Delivery *d)
{
    struct sched_train *x = find(s, d->project);
    if (!x) {
        train_cfg c = cfg_of(s);
        train_out o;
        const char *base = *d->verified_base ? d->verified_base : "0000000";
        x = add(s, d->project, d->base_branch, NULL);
        o = out_of(x);
        x->t = train_create(base, &c, &o);
    }
    return x;
}

/* --- the core's side ---------------------------------------------------------------- */

void strain_enqueue(sched *s, int i, const sched_clock *now)
{
    pb_state *st = s->e[i];
    Orchestrator__V1__Delivery *d = sched_delivery(st);
    struct sched_train *x;
    train_change c = {0};
    const char **deps;
    char err[ERR_LEN];
    int node = dag_find(s->g, st->id), nd = dag_ndeps(s->g, node);

    if (!*d->project || !*d->commit) {
        pb_error e = ORCHESTRATOR__V1__AGENT_ERROR__INIT;
        e.message = "the approved change names no project or verified commit; it cannot enter the merge train";
        merge_refused(s, i, &e, now);
        return;
    }
    x = train_of(s, d);
    deps = xcalloc((size_t)nd + 1, sizeof(char *));
    for (int k = 0; k < nd; k++)
        deps[k] = dag_id(s->g, dag_dep(s->g, node, k));
    c.id = st->id;
    c.commit = d->commit;
    /* its verification built its merge onto that base: one build may do */
    if (*d->verified_base && *d->verified_merge) {
        c.verified_on = d->verified_base;
        c.verified_merge = d->verified_merge;
    }
    c.deps = deps;
    c.ndeps = nd;
    if (train_enqueue(x->t, &c, err) != ORCH_OK) {
        pb_error e = ORCHESTRATOR__V1__AGENT_ERROR__INIT;
        e.message = err;
        merge_refused(s, i, &e, now);
    } else {
        sched_save(s, st, now);
    }
    free(deps);
}

void strain_step_all(sched *s, const sched_clock *now)
{
    for (int k = 0; k < s->mg.ntrains; k++)
        step(s->mg.trains[k], now);
}

void strain_free(struct sched_merge *m)
{
    for (int k = 0; k < m->ntrains; k++) {
        train_destroy(m->trains[k]->t);
        free(m->trains[k]->saved);
        free(m->trains[k]);
    }
    free(m->trains);
    m->trains = NULL;
    m->ntrains = 0;
}

/* --- the world's answers --------------------------------------------------------------- */

void sched_train_built(sched *s, const char *project, uint64_t build, int passed, int conflict, const char *merged,
                       const char *output, const sched_clock *now)
{
    struct sched_train *x = find(s, project);
    if (!x)
        return;
    x->now = now;
    train_result(x->t, build, passed, conflict, merged, output, now->now_ms);
    step(x, now);
}

void sched_train_advanced(sched *s, const char *project, const char *to, int ok, const char *remote,
                          const sched_clock *now)
{
    struct sched_train *x = find(s, project);
    char **ids = NULL;
    int n = 0;
    if (!x || !to || strcmp(to, train_target(x->t)) != 0)
        return; /* no such move under way: an answer already heard, or a stale one */
    for (int k = 0; k < train_len(x->t) && train_where(x->t, train_id_at(x->t, k)) == TRAIN_MERGING; k++) {
        ids = xrealloc(ids, sizeof(char *) * (size_t)(n + 1));
        ids[n++] = xstrdup(train_id_at(x->t, k));
    }
    x->now = now;
    train_advanced(x->t, ok, remote);
    for (int k = 0; k < n; k++) {
        int i = sched_entry_of(s, ids[k]);
        if (ok && i >= 0 && train_position(x->t, ids[k]) < 0) {
            pb_result r = ORCHESTRATOR__V1__RESULT__INIT;
            char ref[260], summary[400];
            snprintf(ref, sizeof(ref), "refs/heads/%s", x->base_branch);
            snprintf(summary, sizeof(summary), "by the merge train: %s is now %.12s (%d change%s at once)",
                     x->base_branch, to, n, n == 1 ? "" : "s");
            r.ref = ref;
            r.summary = summary;
            merge_done(s, i, &r, now);
        }
        free(ids[k]);
    }
    free(ids);
    step(x, now);
}

orch_status sched_restore_train(sched *s, const char *json, size_t len, char err[ERR_LEN])
{
    cJSON *j = cJSON_ParseWithLength(json, len);
    const char *project = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "project"));
    const char *base_branch = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "baseBranch"));
    struct sched_train *x;
    train_cfg c = cfg_of(s);
    train_out o;
    if (!j || !project || !*project || strlen(project) >= sizeof(x->project) || !base_branch || find(s, project)) {
        snprintf(err, ERR_LEN, "not a merge train (project, baseBranch, train), or its project's train twice");
        cJSON_Delete(j);
        return ORCH_ERR_INVALID;
    }
    x = add(s, project, base_branch, NULL);
    o = out_of(x);
    x->t = train_from_json(cJSON_GetObjectItemCaseSensitive(j, "train"), &c, &o, err);
    cJSON_Delete(j);
    if (!x->t) {
        free(x);
        s->mg.ntrains--;
        return ORCH_ERR_INVALID;
    }
    return ORCH_OK;
}

void sched_train_resume(sched *s, const sched_clock *now)
{
    for (int k = 0; k < s->mg.ntrains; k++) {
        struct sched_train *x = s->mg.trains[k];
        /* a base move decided and not answered: asked again (moving the
         * base twice to one commit is one move) */
        if (*train_target(x->t)) {
            const char **ids = NULL;
            int n = 0;
            for (; n < train_len(x->t) && train_where(x->t, train_id_at(x->t, n)) == TRAIN_MERGING; n++) {
                ids = xrealloc(ids, sizeof(char *) * (size_t)(n + 1));
                ids[n] = train_id_at(x->t, n);
            }
            on_advance(x, train_base(x->t), train_target(x->t), ids, n);
            free(ids);
        }
    }
    /* approved changes that went out to a train that was not kept (a lost
     * train state): they enter again */
    for (int i = 0; i < s->n; i++) {
        pb_state *st = s->e[i];
        struct sched_train *x;
        if (!st || st->alias || st->status != ST_MERGING || !st->merge_released)
            continue;
        x = st->delivery ? find(s, st->delivery->project) : NULL;
        if (!x || train_position(x->t, st->id) < 0) {
            st->merge_released = 0;
            merge_note_approved(s, i);
        }
    }
    merge_pass(s, now);
    strain_step_all(s, now);
}

void sched_train_tick(sched *s, const sched_clock *now)
{
    for (int k = 0; k < s->mg.ntrains; k++)
        if (train_paused(s->mg.trains[k]->t) || train_len(s->mg.trains[k]->t) > 0)
            step(s->mg.trains[k], now);
}

cJSON *sched_trains_json(const sched *s)
{
    cJSON *a = cJSON_CreateArray();
    for (int k = 0; k < s->mg.ntrains; k++) {
        struct sched_train *x = s->mg.trains[k];
        cJSON *o = cJSON_CreateObject(), *items = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "project", x->project);
        cJSON_AddStringToObject(o, "baseBranch", x->base_branch);
        cJSON_AddStringToObject(o, "base", train_base(x->t));
        cJSON_AddBoolToObject(o, "paused", train_paused(x->t));
        cJSON_AddNumberToObject(o, "building", train_building(x->t));
        for (int p = 0; p < train_len(x->t); p++) {
            cJSON *it = cJSON_CreateObject();
            const char *id = train_id_at(x->t, p);
            static const char *const stage[] = {"", "queued", "building", "passed", "failed", "merging"};
            cJSON_AddStringToObject(it, "id", id);
            cJSON_AddStringToObject(it, "stage", stage[train_where(x->t, id)]);
            cJSON_AddItemToArray(items, it);
        }
        cJSON_AddItemToObject(o, "queue", items);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}
