/* Decisions of people: pauses, cancellations and priorities.
 *
 * A pause is a scope (everything, an agent type, a project) with who made
 * it, when, why, its source ("person", or the scheduler itself on an
 * agent's rate limit: "rate_limit") and an optional end. It holds releases
 * only: the release pass of a held type marks its queue and stops there
 * (people_hold_queue), a project's pause is the first release gate
 * (people_hold), and spawns skip held types; work in flight, its reviews
 * and merges go on. Pauses are few (SCHED_PAUSES_MAX), so a flat array
 * looked through on each check is all they need. Every change is handed
 * to out.pauses as one JSON document, which the adapter keeps in KV and a
 * new leader restores (sched_restore_pauses): a pause outlives a restart.
 *
 * A cancellation makes the requirement REJECTED with WAIT_KIND_CANCELLED
 * rather than a new status: every reader that knows REJECTED already
 * treats it as final and its dependents as a dead end, and the wait kind
 * says it was a person (schedule.c words the dependents' reason
 * "dependency cancelled"). A priority change moves ready work to the queue
 * of its new priority; its old heap slot is skipped by the pass (the pass
 * drops items whose priority is not the queue's).
 *
 * Each cancel or priority decision is recorded on the state (Decision:
 * kind, who, when, comment, detail), the last DECISIONS_MAX kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sched_int.h"

#define DECISIONS_MAX 16
#define WHO_MAX 64
#define SOURCE_MAX 24
#define COMMENT_MAX 300
#define PROJECT_MAX 64

typedef struct {
    sched_scope_kind kind;
    int type;
    char project[PROJECT_MAX + 1];
    int64_t until_ms, since_ms;
    char who[WHO_MAX + 1], source[SOURCE_MAX + 1], comment[COMMENT_MAX + 1];
} pause_t;

struct sched_people {
    pause_t p[SCHED_PAUSES_MAX];
    int n;
};

void people_free(sched *s)
{
    free(s->ppl);
    s->ppl = NULL;
}

/* --- checking words ----------------------------------------------------------- */

static int printable(const char *v, size_t max, int empty_ok)
{
    size_t n = v ? strlen(v) : 0, at;
    if (n == 0)
        return empty_ok;
    return n <= max && text_controls_free(v, n, 0, &at) && text_utf8_valid(v, n, &at);
}

static int project_ok(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    if (n == 0 || n > PROJECT_MAX)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (!(p[k] >= 'a' && p[k] <= 'z') && !(p[k] >= 'A' && p[k] <= 'Z') && !(p[k] >= '0' && p[k] <= '9') &&
            !strchr("_.-", p[k]))
            return 0;
    return 1;
}

static int source_ok(const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > SOURCE_MAX)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (!(v[k] >= 'a' && v[k] <= 'z') && v[k] != '_')
            return 0;
    return 1;
}

static int scope_check(const sched_pause_scope *sc, char *err, size_t len)
{
    if (!sc || (sc->kind != SCHED_SCOPE_ALL && sc->kind != SCHED_SCOPE_TYPE && sc->kind != SCHED_SCOPE_PROJECT)) {
        snprintf(err, len, "no scope: all, a type or a project");
        return -1;
    }
    if (sc->kind == SCHED_SCOPE_TYPE && (sc->type <= 0 || sc->type >= NT)) {
        snprintf(err, len, "no agent type %d", sc->type);
        return -1;
    }
    if (sc->kind == SCHED_SCOPE_PROJECT && !project_ok(sc->project)) {
        snprintf(err, len, "a project is 1..%d of [A-Za-z0-9_.-]", PROJECT_MAX);
        return -1;
    }
    return 0;
}

static const char *scope_word(const pause_t *p)
{
    return p->kind == SCHED_SCOPE_ALL ? "all" : p->kind == SCHED_SCOPE_TYPE ? "type" : "project";
}

static const char *scope_name(const pause_t *p)
{
    return p->kind == SCHED_SCOPE_ALL ? "all" : p->kind == SCHED_SCOPE_TYPE ? type_tok(p->type) : p->project;
}

static int same_scope(const pause_t *p, const sched_pause_scope *sc)
{
    return p->kind == sc->kind && (p->kind != SCHED_SCOPE_TYPE || p->type == sc->type) &&
           (p->kind != SCHED_SCOPE_PROJECT || !strcmp(p->project, sc->project));
}

/* --- what a pause holds --------------------------------------------------------- */

/* The project a requirement belongs to: its metadata's "project", else the
 * one its delivery names; "" when neither says. */
static const char *project_of(const pb_state *st)
{
    const pb_requirement *r = st->requirement;
    if (r && r->metadata)
        for (size_t k = 0; k < r->metadata->n_extra; k++)
            if (r->metadata->extra[k]->key && !strcmp(r->metadata->extra[k]->key, "project") &&
                r->metadata->extra[k]->value)
                return r->metadata->extra[k]->value;
    return st->delivery && st->delivery->project ? st->delivery->project : "";
}

static const pause_t *holding(const sched *s, const pb_state *st)
{
    const struct sched_people *pp = s->ppl;
    const char *proj = NULL;
    for (int k = 0; pp && k < pp->n; k++) {
        const pause_t *p = &pp->p[k];
        if (p->kind == SCHED_SCOPE_ALL || (p->kind == SCHED_SCOPE_TYPE && p->type == type_of(st)))
            return p;
        if (p->kind == SCHED_SCOPE_PROJECT) {
            if (!proj)
                proj = project_of(st);
            if (!strcmp(proj, p->project))
                return p;
        }
    }
    return NULL;
}

int people_holds_type(const sched *s, int t)
{
    for (int k = 0; s->ppl && k < s->ppl->n; k++)
        if (s->ppl->p[k].kind == SCHED_SCOPE_ALL || (s->ppl->p[k].kind == SCHED_SCOPE_TYPE && s->ppl->p[k].type == t))
            return 1;
    return 0;
}

/* "HH:MM" of a moment, in the clock's day (the adapter's time zone). */
static void hhmm(const sched_clock *now, int64_t ms, char *buf, size_t len)
{
    long long m = now->minute + (ms - now->now_ms) / 60000;
    m = ((m % 1440) + 1440) % 1440;
    snprintf(buf, len, "%02lld:%02lld", m / 60, m % 60);
}

static int say_held(pb_state *st, const pause_t *p, const sched_clock *now)
{
    char since[8], until[8] = "";
    hhmm(now, p->since_ms, since, sizeof(since));
    if (p->until_ms)
        hhmm(now, p->until_ms, until, sizeof(until));
    return sched_reason(st, WK(PAUSED), "paused: %s by %s since %s%s%s%s%s%s", scope_name(p), p->who, since,
                        p->until_ms ? " until " : "", until, p->comment[0] ? " (" : "", p->comment,
                        p->comment[0] ? ")" : "");
}

int people_hold(sched *s, pb_state *st, const sched_clock *now)
{
    const pause_t *p = holding(s, st);
    if (!p)
        return 0;
    if (say_held(st, p, now))
        sched_save(s, st, now);
    return 1;
}

void people_hold_queue(sched *s, int t, const sched_clock *now)
{
    for (int p = 1; p < NP; p++)
        for (int k = 0; k < s->rel.q[t][p].n; k++) {
            pb_state *st = s->e[s->rel.q[t][p].v[k]];
            if (st->status == ST_READY && prio_of(st) == p)
                people_hold(s, st, now);
        }
}

/* Ready work that said it was paused and no longer is says what it waits
 * on now (the pass that follows may release it). */
static void unhold(sched *s, const sched_clock *now)
{
    for (int i = 0; i < s->n; i++) {
        pb_state *st = s->e[i];
        if (st && st->status == ST_READY && st->wait_kind == WK(PAUSED) && !holding(s, st) &&
            release_queued_reason(s, st, now))
            sched_save(s, st, now);
    }
}

static int type_parse(const char *w)
{
    for (int t = 1; t < NT; t++)
        if (!strcmp(w, type_tok(t)))
            return t;
    return 0;
}

/* --- the pauses as JSON -------------------------------------------------------------- */

cJSON *sched_pauses_view(const sched *s)
{
    cJSON *a = cJSON_CreateArray();
    for (int k = 0; s->ppl && k < s->ppl->n; k++) {
        const pause_t *p = &s->ppl->p[k];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "scope", scope_word(p));
        cJSON_AddStringToObject(o, "name", scope_name(p));
        cJSON_AddNumberToObject(o, "until", (double)p->until_ms);
        cJSON_AddStringToObject(o, "who", p->who);
        cJSON_AddNumberToObject(o, "since", (double)p->since_ms);
        cJSON_AddStringToObject(o, "comment", p->comment);
        cJSON_AddStringToObject(o, "source", p->source);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

char *sched_pauses_json(const sched *s)
{
    cJSON *o = cJSON_CreateObject();
    char *out;
    cJSON_AddItemToObject(o, "paused", sched_pauses_view(s));
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

static void persist(sched *s)
{
    char *json;
    if (!s->out.pauses)
        return;
    json = sched_pauses_json(s);
    if (json)
        s->out.pauses(s->out.ctx, json);
    free(json);
}

/* --- pause and unpause ------------------------------------------------------------- */

static void fill(pause_t *p, int64_t until_ms, const char *who, const char *source, const char *comment)
{
    p->until_ms = until_ms;
    snprintf(p->who, sizeof(p->who), "%s", who);
    snprintf(p->source, sizeof(p->source), "%s", source);
    snprintf(p->comment, sizeof(p->comment), "%s", comment ? comment : "");
}

static int words_check(const char *who, const char *source, const char *comment, char *err, size_t len)
{
    if (!printable(who, WHO_MAX, 0)) {
        snprintf(err, len, "who: 1..%d printable characters", WHO_MAX);
        return -1;
    }
    if (source && !source_ok(source)) {
        snprintf(err, len, "source: a word of [a-z_], up to %d", SOURCE_MAX);
        return -1;
    }
    if (!printable(comment, COMMENT_MAX, 1)) {
        snprintf(err, len, "comment: up to %d printable characters", COMMENT_MAX);
        return -1;
    }
    return 0;
}

int sched_pause(sched *s, const sched_pause_scope *scope, int64_t until_ms, const char *who, const char *source,
                const char *comment, const sched_clock *now, char *err, size_t len)
{
    struct sched_people *pp;
    pause_t *p = NULL;
    if (scope_check(scope, err, len) || words_check(who, source ? source : "", comment, err, len))
        return -1;
    if (!source) {
        snprintf(err, len, "source: a word of [a-z_], up to %d", SOURCE_MAX);
        return -1;
    }
    if (until_ms < 0 || (until_ms > 0 && until_ms <= now->now_ms)) {
        snprintf(err, len, "until is in the past");
        return -1;
    }
    if (!s->ppl)
        s->ppl = xcalloc(1, sizeof(*s->ppl));
    pp = s->ppl;
    for (int k = 0; k < pp->n && !p; k++)
        if (same_scope(&pp->p[k], scope))
            p = &pp->p[k];
    if (p) {
        fill(p, until_ms, who, source, comment);
        persist(s);
        for (int t = 1; t < NT; t++)
            if (people_holds_type(s, t))
                people_hold_queue(s, t, now); /* the new words */
        return 1;
    }
    if (pp->n == SCHED_PAUSES_MAX) {
        snprintf(err, len, "%d pauses already: resume some first", SCHED_PAUSES_MAX);
        return -1;
    }
    p = &pp->p[pp->n++];
    memset(p, 0, sizeof(*p));
    p->kind = scope->kind;
    p->type = scope->kind == SCHED_SCOPE_TYPE ? scope->type : 0;
    if (scope->kind == SCHED_SCOPE_PROJECT)
        snprintf(p->project, sizeof(p->project), "%s", scope->project);
    p->since_ms = now->now_ms;
    fill(p, until_ms, who, source, comment);
    persist(s);
    if (s->out.alert) {
        char text[500], key[96];
        snprintf(text, sizeof(text), "releases of %s paused by %s (%s)%s%s", scope_name(p), p->who, p->source,
                 p->comment[0] ? ": " : "", p->comment);
        snprintf(key, sizeof(key), "%s-%s", scope_word(p), scope_name(p));
        s->out.alert(s->out.ctx, "info", "paused", key, text);
    }
    for (int t = 1; t < NT; t++)
        if (people_holds_type(s, t))
            people_hold_queue(s, t, now);
    release_types(s, ~0u, now); /* a project's pause: its items say so at the gate */
    return 0;
}

int sched_unpause(sched *s, const sched_pause_scope *scope, const char *who, const sched_clock *now, char *err,
                  size_t len)
{
    struct sched_people *pp = s->ppl;
    int ended = 0;
    if (scope_check(scope, err, len) || words_check(who, "person", "", err, len))
        return -1;
    for (int k = 0; pp && k < pp->n;) {
        if (scope->kind == SCHED_SCOPE_ALL || same_scope(&pp->p[k], scope)) {
            pp->p[k] = pp->p[--pp->n];
            ended++;
        } else {
            k++;
        }
    }
    if (!ended)
        return 1;
    persist(s);
    unhold(s, now);
    release_types(s, ~0u, now);
    return 0;
}

void people_tick(sched *s, const sched_clock *now)
{
    struct sched_people *pp = s->ppl;
    int ended = 0;
    for (int k = 0; pp && k < pp->n;) {
        if (pp->p[k].until_ms && pp->p[k].until_ms <= now->now_ms) {
            pp->p[k] = pp->p[--pp->n];
            ended++;
        } else {
            k++;
        }
    }
    if (!ended)
        return;
    persist(s);
    unhold(s, now);
}

orch_status sched_restore_pauses(sched *s, const char *json, size_t len, char err[ERR_LEN])
{
    cJSON *o = cJSON_ParseWithLength(json, len), *a = o ? cJSON_GetObjectItemCaseSensitive(o, "paused") : NULL, *x;
    struct sched_people got;
    orch_status st = ORCH_OK;
    memset(&got, 0, sizeof(got));
    if (!cJSON_IsArray(a)) {
        snprintf(err, ERR_LEN, "pauses: not {\"paused\": [...]}");
        st = ORCH_ERR_INVALID;
        goto out;
    }
    cJSON_ArrayForEach(x, a)
    {
        const char *scope = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "scope"));
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "name"));
        const char *who = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "who"));
        const char *source = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "source"));
        const char *comment = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "comment"));
        cJSON *until = cJSON_GetObjectItemCaseSensitive(x, "until");
        cJSON *since = cJSON_GetObjectItemCaseSensitive(x, "since");
        sched_pause_scope sc = {SCHED_SCOPE_ALL, 0, NULL};
        pause_t *p;
        if (!scope || !name || !strcmp(scope, "all"))
            sc.kind = SCHED_SCOPE_ALL;
        if (scope && !strcmp(scope, "type")) {
            sc.kind = SCHED_SCOPE_TYPE;
            sc.type = name ? type_parse(name) : 0;
        } else if (scope && !strcmp(scope, "project")) {
            sc.kind = SCHED_SCOPE_PROJECT;
            sc.project = name;
        } else if (!scope || strcmp(scope, "all")) {
            sc.kind = (sched_scope_kind)-1;
        }
        if (got.n == SCHED_PAUSES_MAX || scope_check(&sc, err, ERR_LEN) ||
            words_check(who, source ? source : "", comment, err, ERR_LEN) || !source || !cJSON_IsNumber(until) ||
            !cJSON_IsNumber(since) || until->valuedouble < 0) {
            if (!err[0] || got.n == SCHED_PAUSES_MAX)
                snprintf(err, ERR_LEN, "pauses: entry %d is not a pause", got.n);
            st = ORCH_ERR_INVALID;
            goto out;
        }
        p = &got.p[got.n++];
        p->kind = sc.kind;
        p->type = sc.type;
        if (sc.kind == SCHED_SCOPE_PROJECT)
            snprintf(p->project, sizeof(p->project), "%s", sc.project);
        p->since_ms = (int64_t)since->valuedouble;
        fill(p, (int64_t)until->valuedouble, who, source, comment);
    }
    if (!s->ppl)
        s->ppl = xcalloc(1, sizeof(*s->ppl));
    *s->ppl = got;
out:
    cJSON_Delete(o);
    return st;
}

/* --- decisions about one requirement ------------------------------------------------- */

static void record(pb_state *st, const char *kind, const char *who, const char *comment, const char *detail,
                   const sched_clock *now)
{
    Orchestrator__V1__Decision *d = xmalloc(sizeof(*d));
    orchestrator__v1__decision__init(d);
    d->kind = xstrdup(kind);
    d->who = xstrdup(who);
    d->at_ms = now->now_ms;
    d->comment = xstrdup(comment ? comment : "");
    d->detail = xstrdup(detail ? detail : "");
    if (st->n_decisions == DECISIONS_MAX) {
        orchestrator__v1__decision__free_unpacked(st->decisions[0], NULL);
        memmove(st->decisions, st->decisions + 1, sizeof(*st->decisions) * (DECISIONS_MAX - 1));
        st->n_decisions--;
    }
    st->decisions = xrealloc(st->decisions, sizeof(*st->decisions) * (st->n_decisions + 1));
    st->decisions[st->n_decisions++] = d;
}

static int find(const sched *s, const char *id, char *err, size_t len)
{
    int i = id && id[0] ? sched_entry_of(s, id) : -1;
    if (i < 0 || s->e[i]->alias) {
        snprintf(err, len, "no requirement %s", id && id[0] ? id : "(none named)");
        return -1;
    }
    return i;
}

int sched_cancel(sched *s, const char *id, const char *who, const char *comment, const sched_clock *now, char *err,
                 size_t len)
{
    int i;
    pb_state *st;
    if (words_check(who, "person", comment, err, len) || (i = find(s, id, err, len)) < 0)
        return -1;
    st = s->e[i];
    if (people_cancelled(st))
        return 1;
    if (st->status == ST_COMPLETE || st->status == ST_REJECTED || st->status == ST_MERGING) {
        snprintf(err, len, "%s is %s: %s", id, names_status(st->status),
                 st->status == ST_MERGING ? "its merge is under way, nothing to withdraw"
                                          : "it is finished, nothing to cancel");
        return -1;
    }
    if (in_flight(st) || unmerged(st))
        release_leave_flight(s, i);
    st->status = ST_REJECTED;
    st->retry_at_ms = 0;
    if (!st->completed_at_ms)
        st->completed_at_ms = now->now_ms;
    sched_reason(st, WK(CANCELLED), "cancelled: by %s%s%s%s", who, comment && comment[0] ? " (" : "",
                 comment ? comment : "", comment && comment[0] ? ")" : "");
    record(st, "cancel", who, comment, "", now);
    sched_save(s, st, now);
    sched_refresh_dependents(s, i, now);
    release_types(s, ~0u, now); /* what it held (a window slot, files) may go */
    return 0;
}

int sched_set_priority(sched *s, const char *id, int priority, const char *who, const char *comment,
                       const sched_clock *now, char *err, size_t len)
{
    int i, was;
    pb_state *st;
    char detail[64];
    if (words_check(who, "person", comment, err, len) || (i = find(s, id, err, len)) < 0)
        return -1;
    if (priority <= 0 || priority >= NP) {
        snprintf(err, len, "no priority %d: CRITICAL, HIGH, MEDIUM or LOW", priority);
        return -1;
    }
    st = s->e[i];
    if (finished(st)) {
        snprintf(err, len, "%s is %s: it is finished, its priority no longer matters", id, names_status(st->status));
        return -1;
    }
    was = prio_of(st);
    if (was == priority && st->requirement->priority == (Orchestrator__V1__Priority)priority)
        return 1;
    st->requirement->priority = (Orchestrator__V1__Priority)priority;
    st->requirement->priority_given = 1;
    snprintf(detail, sizeof(detail), "%s -> %s", names_priority((Orchestrator__V1__Priority)was),
             names_priority((Orchestrator__V1__Priority)priority));
    record(st, "priority", who, comment, detail, now);
    sched_save(s, st, now);
    if (st->status == ST_READY) {
        release_push(s, i); /* its old slot is dropped when the pass meets it */
        release_type(s, type_of(st), now);
    }
    return 0;
}

cJSON *sched_decisions_view(const pb_state *st)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t k = 0; k < st->n_decisions; k++) {
        const Orchestrator__V1__Decision *d = st->decisions[k];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", d->kind);
        cJSON_AddStringToObject(o, "who", d->who);
        cJSON_AddNumberToObject(o, "at", (double)d->at_ms);
        cJSON_AddStringToObject(o, "comment", d->comment);
        cJSON_AddStringToObject(o, "detail", d->detail);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

int sched_dependents(const sched *s, const char *id, const char **ids, int max)
{
    int node = dag_find(s->g, id), n = 0, head = 0;
    int *todo;
    if (node < 0 || max <= 0)
        return 0;
    todo = xmalloc(sizeof(int) * (size_t)max);
    for (;;) {
        for (int k = 0; k < dag_ndependents(s->g, node) && n < max; k++) {
            int d = dag_dependent(s->g, node, k), dup = 0;
            const char *did = dag_id(s->g, d);
            for (int q = 0; q < n && !dup; q++)
                dup = !strcmp(ids[q], did);
            if (!dup) {
                ids[n] = did;
                todo[n++] = d;
            }
        }
        if (head == n)
            break;
        node = todo[head++];
    }
    free(todo);
    return n;
}

/* --- an agent's rate limit: a pause of its type ------------------------------- */

/* A rate limit or used-up usage window; with retry_at_ms, when it ends. */
#define RATE_LIMITED "rate_limited"
#define RATE_PAUSE_MAX_MS (24 * 3600 * 1000LL) /* no report pauses a type for longer */

/* An agent's account is rate-limited until e->retry_at_ms: its type is
 * paused until then (one alert, resumed by itself; a longer window is
 * paused again by the next run that meets it) and the work goes back
 * without counting an attempt. */
int people_rate_limited(sched *s, int i, const pb_error *e, const sched_clock *now)
{
    pb_state *st = s->e[i];
    sched_pause_scope scope = {SCHED_SCOPE_TYPE, type_of(st), NULL};
    int64_t until = e->retry_at_ms - now->now_ms > RATE_PAUSE_MAX_MS ? now->now_ms + RATE_PAUSE_MAX_MS : e->retry_at_ms;
    char comment[200], err[ERR_LEN];
    size_t n;
    if (strcmp(e->reason, RATE_LIMITED) || e->retry_at_ms <= now->now_ms)
        return 0;
    snprintf(comment, sizeof(comment), "rate limit met by %s on %s: %s", *e->instance ? e->instance : "an agent", st->id,
             e->message);
    for (n = 0; comment[n]; n++) /* one line, as a comment must be */
        if ((unsigned char)comment[n] < 0x20 || comment[n] == 0x7f)
            comment[n] = ' ';
    n = text_utf8_prefix(comment, n, n);
    comment[n] = '\0';
    if (sched_pause(s, &scope, until, "scheduler", "rate_limit", comment, now, err, sizeof(err)) < 0 && s->out.alert)
        s->out.alert(s->out.ctx, "warning", "rate_limit", st->id, err);
    st->infra_retries++; /* a new dispatch of the same attempt: its own id (-i<n>) and claim */
    sched_send_back(s, i, e->message, 0, 0, now); /* the pause holds it */
    return 1;
}
