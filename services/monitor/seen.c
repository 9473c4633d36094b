#include "seen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strmap.h"
#include "text.h"

#define ST(x) ORCHESTRATOR__V1__STATUS__STATUS_##x
#define WK(x) ORCHESTRATOR__V1__WAIT_KIND__WAIT_KIND_##x

typedef struct {
    pb_state *st;
    int ever_blocked, ever_overlap;
    int64_t last_activity;
    int64_t verifying_since;    /* when this attempt became VERIFYING; 0: it is not */
    char heard[64];             /* the instance last heard on it, during attempt heard_attempt */
    uint32_t heard_attempt;
} item;

struct seen {
    seen_cfg cfg;
    item *items;
    int nitems, capitems;
    strmap *ids;
    strmap *ever_blocked, *ever_overlap; /* restored history of requirements not seen yet */
    strmap *aliases;            /* split requirements: they stand for their parts, which have states */
    agents *agents;
    long long evicted, untracked;
    int full_said;              /* 1: evicting said, 2: untracked said; 0 again when there is room */
    int notice_pending;
    rules_window errors[SEEN_TYPES], infra;
    long long results[SEEN_TYPES], errcount[SEEN_TYPES];
    char day[16];
    uint64_t used[SEEN_TYPES], limit[SEEN_TYPES], used_total, limit_total;
    dash_usd usd;
    int depth[SEEN_TYPES];
    int depths_read;
    rules_service services[SEEN_MAX_SERVICES];
    int nservices;
    int states_synced, budgets_synced, pinged;
    int dirty;                  /* the memory seen_save writes changed */
    int64_t activity_said_ms;   /* when activity last made the memory dirty */
    struct restored_activity {
        char id[64];
        int64_t at;
    } *activity;                /* restored last activity of work not seen yet */
    int nactivity;
    int64_t started_ms;
    int64_t stale_ms;           /* the rules' stale threshold, for the dashboard's active agents */
    strmap *stopped;            /* "<id>:<attempt>" */
    strmap *stopped_instances;
    seen_plan plan;
    /* answers, rebuilt per call */
    rules_snapshot snap;
    rules_work *work;
    dash_input dash;
    dash_item *ditems;
    hosttab hosts;                  /* the pool's adverts (hosttab.h) */
    dash_host dhosts[HOSTTAB_MAX];
    dash_agent *dagents;
    char mode[64], next_task[160], next_review[32];
};

seen *seen_create(const seen_cfg *c, const char *const *services, int nservices, int64_t now)
{
    seen *s = xcalloc(1, sizeof(*s));
    s->cfg = *c;
    s->ids = strmap_create();
    s->ever_blocked = strmap_create();
    s->ever_overlap = strmap_create();
    s->aliases = strmap_create();
    s->stopped = strmap_create();
    s->stopped_instances = strmap_create();
    s->agents = agents_create((int)c->max_agents, c->agent_idle_ms);
    for (int t = 0; t < SEEN_TYPES; t++)
        s->depth[t] = -1;
    for (int i = 0; i < nservices && i < SEEN_MAX_SERVICES; i++)
        s->services[s->nservices++].name = services[i];
    s->started_ms = now;
    return s;
}

void seen_stale_after(seen *s, int64_t ms) { s->stale_ms = ms; }

void seen_destroy(seen *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nitems; i++)
        orchestrator__v1__requirement_state__free_unpacked(s->items[i].st, NULL);
    free(s->items);
    strmap_destroy(s->ids);
    strmap_destroy(s->ever_blocked);
    strmap_destroy(s->ever_overlap);
    strmap_destroy(s->aliases);
    strmap_destroy(s->stopped);
    strmap_destroy(s->stopped_instances);
    free(s->activity);
    agents_destroy(s->agents);
    free(s->work);
    free(s->ditems);
    free(s->dagents);
    free(s);
}

static item *item_of(const seen *s, const char *id)
{
    int i;
    return id && *id && strmap_get(s->ids, id, &i) ? &s->items[i] : NULL;
}

const pb_state *seen_requirement(const seen *s, const char *id)
{
    item *it = item_of(s, id);
    return it ? it->st : NULL;
}

int seen_in_flight(const seen *s, const char *id)
{
    item *it = item_of(s, id);
    return it && (it->st->status == ST(DISPATCHED) || it->st->status == ST(VERIFYING));
}

static int holds(const char *id, void *arg) { return seen_in_flight((const seen *)arg, id); }

void seen_state(seen *s, pb_state *st, int64_t now)
{
    item *it;
    if (st->alias) { /* stands for its parts, which have their own states */
        strmap_put(s->aliases, st->id, 1);
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
        return;
    }
    if (!(it = item_of(s, st->id))) {
        if (s->nitems == s->capitems) {
            s->capitems = s->capitems ? s->capitems * 2 : 256;
            s->items = xrealloc(s->items, sizeof(item) * (size_t)s->capitems);
        }
        it = &s->items[s->nitems];
        memset(it, 0, sizeof(*it));
        strmap_put(s->ids, st->id, s->nitems++);
        it->ever_blocked = strmap_get(s->ever_blocked, st->id, NULL);
        it->ever_overlap = strmap_get(s->ever_overlap, st->id, NULL);
        for (int k = 0; k < s->nactivity; k++)
            if (!strcmp(s->activity[k].id, st->id))
                it->last_activity = s->activity[k].at;
    }
    if (st->status != ST(VERIFYING))
        it->verifying_since = 0;
    else if (!it->verifying_since || it->st->status != st->status || it->st->attempt != st->attempt)
        it->verifying_since = st->updated_at_ms ? st->updated_at_ms : now;
    if (it->st)
        orchestrator__v1__requirement_state__free_unpacked(it->st, NULL);
    it->st = st;
    /* the scheduler's structured reason; its prose is for people */
    if ((st->status == ST(BLOCKED) || st->wait_kind == WK(DEPENDENCY)) && !it->ever_blocked)
        it->ever_blocked = s->dirty = 1;
    if (st->wait_kind == WK(OVERLAP) && !it->ever_overlap)
        it->ever_overlap = s->dirty = 1;
}

void seen_states_synced(seen *s) { s->states_synced = 1; }
void seen_budgets_synced(seen *s) { s->budgets_synced = 1; }

/* day is today when it is the newest seen: a newer day starts afresh. */
static int today(seen *s, const char *day)
{
    int c;
    if (!day || !*day)
        return 0;
    c = strcmp(day, s->day);
    if (c < 0)
        return 0;
    if (c > 0) {
        snprintf(s->day, sizeof(s->day), "%s", day);
        memset(s->used, 0, sizeof(s->used));
        memset(s->limit, 0, sizeof(s->limit));
        s->used_total = s->limit_total = 0;
        memset(&s->usd, 0, sizeof(s->usd));
    }
    return 1;
}

void seen_budget(seen *s, const pb_budget *u)
{
    if (!today(s, u->day))
        return;
    if (u->agent_type == 0) {
        s->used_total = u->used;
        s->limit_total = u->limit;
    } else if ((unsigned)u->agent_type < SEEN_TYPES) {
        s->used[u->agent_type] = u->used;
        s->limit[u->agent_type] = u->limit;
    }
    if ((unsigned)u->agent_type < SEEN_TYPES) {
        s->usd.spent[u->agent_type] = u->cost_micro_usd;
        s->usd.limit[u->agent_type] = u->limit_micro_usd;
    }
}

void seen_host(seen *s, const hostad *a, int64_t now) { hosttab_note(&s->hosts, a, now); }

void seen_plan_set(seen *s, const seen_plan *p)
{
    s->plan = *p;
    if (!p->known || !p->have_budget || !today(s, p->day))
        return;
    /* The limits are the scheduler's settings now; use only grows, so the
     * larger of the two figures is the later one. */
    s->limit_total = p->limit_total;
    if (p->used_total > s->used_total)
        s->used_total = p->used_total;
    for (int t = 1; t < SEEN_TYPES; t++) {
        s->limit[t] = p->limit[t];
        if (p->used[t] > s->used[t])
            s->used[t] = p->used[t];
    }
    for (int t = 0; t < SEEN_TYPES; t++) {
        s->usd.limit[t] = p->usd.limit[t];
        if (p->usd.spent[t] > s->usd.spent[t])
            s->usd.spent[t] = p->usd.spent[t];
    }
}

/* o's k, US dollars, in millionths (0 when absent or not a number). */
static uint64_t micro_usd(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(x) && x->valuedouble > 0 && x->valuedouble < 1e12 ? (uint64_t)(x->valuedouble * 1e6 + 0.5)
                                                                              : 0;
}

static uint64_t num(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(x) && x->valuedouble > 0 ? (uint64_t)x->valuedouble : 0;
}

static void str(const cJSON *o, const char *k, char *out, size_t len)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
    snprintf(out, len, "%s", v ? v : "");
}

int seen_plan_from_json(const cJSON *o, seen_plan *p)
{
    const cJSON *b, *x;
    memset(p, 0, sizeof(*p));
    if (!cJSON_IsObject(o))
        return -1;
    p->known = 1;
    str(o, "mode", p->mode, sizeof(p->mode));
    p->turn_minutes = (int)num(o, "turnMinutes");
    p->conservation = cJSON_IsTrue(cJSON_GetObjectItem(o, "conservation"));
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(o, "criticalPath"))
    {
        if (p->npath < SEEN_PATH_MAX && cJSON_IsString(x))
            snprintf(p->path[p->npath++], sizeof(p->path[0]), "%s", x->valuestring);
    }
    str(o, "criticalPathEnd", p->path_end, sizeof(p->path_end));
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(o, "paused"))
    {
        char name[72], who[72], source[32], comment[120], until[40] = "";
        uint64_t at = num(x, "until");
        if (p->npaused == DASH_PAUSED_MAX)
            break;
        str(x, "name", name, sizeof(name));
        str(x, "who", who, sizeof(who));
        str(x, "source", source, sizeof(source));
        str(x, "comment", comment, sizeof(comment));
        if (at) {
            time_t t = (time_t)(at / 1000);
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(until, sizeof(until), " until %H:%MZ", &tm);
        }
        snprintf(p->paused[p->npaused++], DASH_PAUSED_LEN, "%s%s by %s (%s%s%s)", *name ? name : "everything", until,
                 who, source, *comment ? ": " : "", comment);
    }
    str(o, "roadmapEta", p->roadmap_eta, sizeof(p->roadmap_eta));
    if (cJSON_IsObject(b = cJSON_GetObjectItem(o, "budget"))) {
        str(b, "day", p->day, sizeof(p->day));
        p->have_budget = *p->day != '\0';
        p->used_total = num(b, "used");
        p->limit_total = num(b, "limit");
        p->usd.spent[0] = micro_usd(b, "costUsd");
        p->usd.limit[0] = micro_usd(b, "limitUsd");
        for (int t = 1; t < SEEN_TYPES; t++) {
            const cJSON *y = cJSON_GetObjectItem(b, names_agent_type((Orchestrator__V1__AgentType)t));
            p->used[t] = num(y, "used");
            p->limit[t] = num(y, "limit");
            p->usd.spent[t] = micro_usd(y, "costUsd");
            p->usd.limit[t] = micro_usd(y, "limitUsd");
        }
    }
    return 0;
}

/* instance spoke; id: the work it names ("" or NULL: none), which becomes
 * what it works on when on is set. */
static seen_say note(seen *s, int type, const char *id, const char *instance, int on, int64_t now, char *gone,
                     size_t len)
{
    item *it = item_of(s, id);
    if (it) {
        it->last_activity = now;
        if (on && instance && *instance) {
            snprintf(it->heard, sizeof(it->heard), "%s", instance);
            it->heard_attempt = it->st->attempt;
        }
        /* activity moves all the time: saved every 5 s at most (the stale
         * rule counts in hours) */
        if (now - s->activity_said_ms >= 5000) {
            s->activity_said_ms = now;
            s->dirty = 1;
        }
    }
    if (!instance || !*instance)
        return SEEN_QUIET;
    if (!on) {
        agents_touch(s->agents, instance, now);
        return SEEN_QUIET;
    }
    strmap_del(s->stopped_instances, instance); /* it speaks again: not the stopped one */
    switch (agents_note(s->agents, instance, type, id, now, holds, s, gone, len)) {
    case AGENTS_EVICTED:
        s->evicted++;
        if (!s->full_said) {
            s->full_said = s->notice_pending = 1;
            return SEEN_SAY_EVICTED;
        }
        break;
    case AGENTS_FULL:
        s->untracked++;
        if (s->full_said < 2) {
            s->full_said = 2;
            s->notice_pending = 1;
            return SEEN_SAY_UNTRACKED;
        }
        break;
    default:
        break;
    }
    return SEEN_QUIET;
}

seen_say seen_report(seen *s, int type, const char *id, const char *instance, int64_t now, char *gone, size_t len)
{
    return note(s, type, id, instance, 1, now, gone, len);
}

void seen_result(seen *s, int type)
{
    if (type > 0 && type < SEEN_TYPES) {
        s->results[type]++;
        s->dirty = 1;
    }
}

void seen_error(seen *s, int type, int agent, const char *id, const char *instance, int64_t now)
{
    if (type <= 0 || type >= SEEN_TYPES)
        return;
    s->errcount[type]++;
    rules_window_add(&s->errors[type], now);
    s->dirty = 1;
    if (agent) {
        /* alive, but an error names the failed work, not what it is on now */
        note(s, type, id, instance, 0, now, NULL, 0);
        if (instance && *instance && !agents_find(s->agents, instance))
            note(s, type, NULL, instance, 1, now, NULL, 0);
    }
}

void seen_infra(seen *s, int64_t now)
{
    rules_window_add(&s->infra, now);
    s->dirty = 1;
}

void seen_integration(seen *s, const char *instance, int64_t now) { agents_touch(s->agents, instance, now); }

void seen_depth(seen *s, int type, int depth)
{
    if (type > 0 && type < SEEN_TYPES)
        s->depth[type] = depth;
    if (type == SEEN_TYPES - 1)
        s->depths_read = 1;
}

void seen_ping(seen *s, const char *name, int64_t now)
{
    if (!name) {
        s->pinged = s->dirty = 1;
        return;
    }
    for (int i = 0; i < s->nservices; i++)
        if (!strcmp(s->services[i].name, name))
            s->services[i].last_seen_ms = now;
}

int seen_settled(const seen *s) { return s->states_synced && s->budgets_synced && s->depths_read && s->pinged; }

void seen_sweep(seen *s, int64_t now)
{
    int n;
    agents_sweep(s->agents, now, holds, s);
    agents_all(s->agents, &n);
    if (n < agents_cap(s->agents))
        s->full_said = 0; /* room again: the next time it fills is said again */
}

int seen_table_notice(seen *s, char *text, size_t len)
{
    if (!s->notice_pending)
        return 0;
    s->notice_pending = 0;
    snprintf(text, len,
             "%lld instances gave way to new ones, %lld were not tracked (every slot held work). Many one-off "
             "instance names, or monitor.max_agents too low.\n",
             s->evicted, s->untracked);
    return 1;
}
/* Whether an agent took the work: as the scheduler saw it start, or as
 * the monitor heard it (a heartbeat is not stored, and one that came while
 * no scheduler led never reached the state). */
static int taken(const item *it)
{
    return it->st->started || (it->st->dispatched_at_ms && it->last_activity > it->st->dispatched_at_ms);
}

/* The READY requirements of each type: they wait for an agent as much as
 * the work released to its consumer does. */
static void count_ready(const seen *s, int ready[SEEN_TYPES])
{
    memset(ready, 0, sizeof(int) * SEEN_TYPES);
    for (int i = 0; i < s->nitems; i++) {
        const pb_state *st = s->items[i].st;
        int t = st->requirement ? (int)st->requirement->type : 0;
        if (st->status == ST(READY) && t > 0 && t < SEEN_TYPES)
            ready[t]++;
    }
}

const rules_snapshot *seen_rules(seen *s, int64_t now)
{
    int nw = 0;
    (void)now;
    s->work = xrealloc(s->work, sizeof(*s->work) * ((size_t)s->nitems + 1));
    for (int i = 0; i < s->nitems; i++) {
        const item *it = &s->items[i];
        const pb_state *st = it->st;
        rules_work *w;
        if (st->status != ST(DISPATCHED) && st->status != ST(VERIFYING))
            continue;
        w = &s->work[nw++];
        memset(w, 0, sizeof(*w));
        w->id = st->id;
        /* Who took the work as the scheduler recorded it, else as the
         * monitor heard it: the scheduler records it from a heartbeat it
         * handled, and one that came while no scheduler led is lost, so a
         * stuck agent would be "unknown" and never stopped. Per item, so a
         * late report of other work by the same instance changes nothing. */
        w->instance = *st->instance ? st->instance : it->heard_attempt == st->attempt ? it->heard : "";
        w->type = st->requirement ? (int)st->requirement->type : 0;
        w->dispatched_ms = st->dispatched_at_ms;
        w->last_activity_ms = it->last_activity;
        w->attempt = st->attempt;
        w->started = taken(it);
        w->verifying = st->status == ST(VERIFYING);
        w->verifying_since_ms = it->verifying_since;
    }
    memset(&s->snap, 0, sizeof(s->snap));
    s->snap.work = s->work;
    s->snap.nwork = nw;
    memcpy(s->snap.depth, s->depth, sizeof(s->snap.depth));
    count_ready(s, s->snap.ready);
    s->snap.errors = s->errors;
    s->snap.infra = &s->infra;
    memcpy(s->snap.used, s->used, sizeof(s->snap.used));
    memcpy(s->snap.limit, s->limit, sizeof(s->snap.limit));
    s->snap.used_total = s->used_total;
    s->snap.limit_total = s->limit_total;
    s->snap.services = s->services;
    s->snap.nservices = s->nservices;
    s->snap.started_ms = s->started_ms;
    return &s->snap;
}

int seen_stop_once(seen *s, const char *id, unsigned attempt, const char *instance)
{
    char key[160];
    snprintf(key, sizeof(key), "%s:%u", id, attempt);
    if (strmap_get(s->stopped, key, NULL))
        return 0;
    strmap_put(s->stopped, key, 1);
    if (instance && *instance)
        strmap_put(s->stopped_instances, instance, 1);
    return 1;
}

/* The first READY requirement by priority, then arrival. */
static const pb_state *next_task(const seen *s)
{
    const pb_state *best = NULL;
    for (int i = 0; i < s->nitems; i++) {
        const pb_state *st = s->items[i].st;
        if (st->status != ST(READY) || !st->requirement)
            continue;
        if (!best || st->requirement->priority < best->requirement->priority ||
            (st->requirement->priority == best->requirement->priority && st->order < best->order))
            best = st;
    }
    return best;
}

/* Blocked behind work that will not finish (the scheduler's dead end: its
 * reason names the root). */
static int dead_end(const pb_state *st)
{
    return st->status == ST(BLOCKED) && st->wait_kind == WK(DEAD_END);
}

/* A dependency the monitor has no state of: nobody will ever finish it. A
 * split requirement is known: waiting on it is waiting on its parts (it was
 * listed under Blockers as unknown). */
static int unknown_dependency(const seen *s, const pb_state *st)
{
    if (st->status != ST(BLOCKED) || st->wait_kind != WK(DEPENDENCY))
        return 0;
    for (size_t k = 0; k < st->n_wait_ids; k++)
        if (!item_of(s, st->wait_ids[k]) && !strmap_get(s->aliases, st->wait_ids[k], NULL))
            return 1;
    return 0;
}

const dash_input *seen_dash(seen *s, int64_t now)
{
    dash_input *in = &s->dash;
    const agent_entry *all;
    int nall, na = 0;
    const pb_state *next;

    memset(in, 0, sizeof(*in));
    s->ditems = xrealloc(s->ditems, sizeof(*s->ditems) * ((size_t)s->nitems + 1));
    for (int i = 0; i < s->nitems; i++) {
        s->ditems[i].st = s->items[i].st;
        s->ditems[i].ever_blocked = s->items[i].ever_blocked;
        s->ditems[i].ever_overlap = s->items[i].ever_overlap;
        s->ditems[i].blocker = s->items[i].st->status == ST(ESCALATED) || unknown_dependency(s, s->items[i].st) ||
                               dead_end(s->items[i].st);
        s->ditems[i].taken = taken(&s->items[i]);
    }
    all = agents_all(s->agents, &nall);
    s->dagents = xrealloc(s->dagents, sizeof(*s->dagents) * ((size_t)nall + 1));
    for (int i = 0; i < nall; i++) {
        dash_agent *a = &s->dagents[na];
        if (strmap_get(s->stopped_instances, all[i].instance, NULL))
            continue; /* the monitor stopped it */
        a->instance = all[i].instance;
        a->type = all[i].type;
        a->last_seen_ms = all[i].last_seen_ms;
        /* what it named is its work only while that work is in flight */
        a->requirement = seen_in_flight(s, all[i].requirement) ? all[i].requirement : "";
        na++;
    }
    if (!s->plan.known)
        snprintf(s->mode, sizeof(s->mode), "unknown (no scheduler)");
    else if (!strcmp(s->plan.mode, "turns") && s->plan.turn_minutes > 0)
        snprintf(s->mode, sizeof(s->mode), "Turn-Based (%d-min cycles)", s->plan.turn_minutes);
    else if (!strcmp(s->plan.mode, "turns"))
        snprintf(s->mode, sizeof(s->mode), "Turn-Based");
    else
        snprintf(s->mode, sizeof(s->mode), "Continuous");
    s->next_task[0] = s->next_review[0] = '\0';
    if ((next = next_task(s)) != NULL)
        snprintf(s->next_task, sizeof(s->next_task), "%s (%s)", next->id, names_agent_type(next->requirement->type));
    if (s->plan.known && !strcmp(s->plan.mode, "turns") && s->plan.turn_minutes > 0) {
        /* turns fall on multiples of the turn length past the hour (UTC) */
        int64_t minute = now / 60000, step = s->plan.turn_minutes, hour = minute / 60 * 60;
        int64_t at = hour + ((minute - hour) / step + 1) * step;
        if (at - hour >= 60)
            at = hour + 60;
        snprintf(s->next_review, sizeof(s->next_review), "%02d:%02d UTC", (int)(at / 60 % 24), (int)(at % 60));
    }
    in->mode = s->mode;
    in->conservation = s->plan.conservation;
    in->paused = s->plan.paused;
    in->npaused = s->plan.npaused;
    in->nhosts = hosttab_list(&s->hosts, now, SEEN_HOST_FORGET_MS, s->dhosts, HOSTTAB_MAX);
    in->hosts = s->dhosts;
    in->critical_path = (const char(*)[64])s->plan.path;
    in->npath = s->plan.npath;
    /* the forecast (the release rule played on the agents there are); the
     * critical path's end only when a scheduler gave none */
    in->est_completion = *s->plan.roadmap_eta ? s->plan.roadmap_eta : s->plan.path_end;
    in->next_task = s->next_task;
    in->next_review = s->next_review;
    in->now_ms = now;
    in->items = s->ditems;
    in->nitems = s->nitems;
    in->agents = s->dagents;
    in->nagents = na;
    memcpy(in->used, s->used, sizeof(in->used));
    memcpy(in->limit, s->limit, sizeof(in->limit));
    in->used_total = s->used_total;
    in->limit_total = s->limit_total;
    in->usd = s->usd;
    {
        int ready[SEEN_TYPES];
        count_ready(s, ready);
        for (int t = 0; t < SEEN_TYPES; t++)
            in->depth[t] = rules_queue_depth(ready[t], s->depth[t]);
    }
    memcpy(in->results, s->results, sizeof(in->results));
    memcpy(in->errors, s->errcount, sizeof(in->errors));
    in->active_ms = s->cfg.active_ms;
    in->stale_ms = s->stale_ms;
    return in;
}

void seen_stats(const seen *s, int *requirements, int *agents, long long *evicted, long long *untracked)
{
    *requirements = s->nitems;
    agents_all(s->agents, agents);
    *evicted = s->evicted;
    *untracked = s->untracked;
}

/* --- the memory that survives a restart -------------------------------------------- */

static void window_json(cJSON *o, const char *k, const rules_window *w)
{
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (int i = w->n - 1; i >= 0; i--) /* oldest first */
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)w->t[(w->head + 256 - 1 - i) % 256]));
}

static void window_from(const cJSON *a, rules_window *w)
{
    const cJSON *x;
    memset(w, 0, sizeof(*w));
    cJSON_ArrayForEach(x, a)
    {
        if (cJSON_IsNumber(x))
            rules_window_add(w, (int64_t)x->valuedouble);
    }
}

/* The results and errors counted per type since the suite began: a new
 * leader goes on from them (they were counted per leadership, and a
 * restart showed 0 errors with a dozen in the stream). */
static void counts_json(cJSON *o, const char *k, const long long *n)
{
    cJSON *x = cJSON_AddObjectToObject(o, k);
    for (int t = 1; t < SEEN_TYPES; t++)
        if (n[t])
            cJSON_AddNumberToObject(x, names_agent_type((Orchestrator__V1__AgentType)t), (double)n[t]);
}

static void counts_from(const cJSON *o, long long *n)
{
    for (int t = 1; t < SEEN_TYPES; t++) {
        const cJSON *x = cJSON_GetObjectItem(o, names_agent_type((Orchestrator__V1__AgentType)t));
        if (cJSON_IsNumber(x) && x->valuedouble > (double)n[t])
            n[t] = (long long)x->valuedouble;
    }
}

static void ids_json(const seen *s, cJSON *o, const char *k, int overlap)
{
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (int i = 0; i < s->nitems; i++)
        if (overlap ? s->items[i].ever_overlap : s->items[i].ever_blocked)
            cJSON_AddItemToArray(a, cJSON_CreateString(s->items[i].st->id));
}

static void ids_from(seen *s, const cJSON *a, strmap *restored, int overlap)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, a)
    {
        item *it;
        if (!cJSON_IsString(x))
            continue;
        if ((it = item_of(s, x->valuestring)) != NULL)
            *(overlap ? &it->ever_overlap : &it->ever_blocked) = 1;
        else
            strmap_put(restored, x->valuestring, 1);
    }
}

int seen_take_dirty(seen *s)
{
    int d = s->dirty;
    s->dirty = 0;
    return d;
}

char *seen_save(const seen *s)
{
    cJSON *o = cJSON_CreateObject(), *v = cJSON_AddObjectToObject(o, "services"), *e;
    char *json;
    /* a service never heard counts from when watching began, as in the rule */
    for (int i = 0; i < s->nservices; i++)
        cJSON_AddNumberToObject(v, s->services[i].name,
                                (double)(s->services[i].last_seen_ms ? s->services[i].last_seen_ms : s->started_ms));
    e = cJSON_AddObjectToObject(o, "errors");
    for (int t = 1; t < SEEN_TYPES; t++)
        if (s->errors[t].n)
            window_json(e, names_agent_type((Orchestrator__V1__AgentType)t), &s->errors[t]);
    window_json(o, "infra", &s->infra);
    counts_json(o, "results", s->results);
    counts_json(o, "errorCounts", s->errcount);
    ids_json(s, o, "everBlocked", 0);
    ids_json(s, o, "everOverlap", 1);
    /* the last activity on work in flight, or a successor would take a
     * long-running agent for a silent one and stop it */
    v = cJSON_AddObjectToObject(o, "activity");
    for (int i = 0; i < s->nitems; i++)
        if (s->items[i].last_activity && seen_in_flight(s, s->items[i].st->id))
            cJSON_AddNumberToObject(v, s->items[i].st->id, (double)s->items[i].last_activity);
    json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}

int seen_load(seen *s, const char *json)
{
    cJSON *o = cJSON_Parse(json), *x;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -1;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(o, "services"))
    {
        for (int i = 0; i < s->nservices; i++)
            if (cJSON_IsNumber(x) && !strcmp(s->services[i].name, x->string) &&
                (int64_t)x->valuedouble > s->services[i].last_seen_ms)
                s->services[i].last_seen_ms = (int64_t)x->valuedouble;
    }
    for (int t = 1; t < SEEN_TYPES; t++) {
        const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "errors"),
                                             names_agent_type((Orchestrator__V1__AgentType)t));
        if (a)
            window_from(a, &s->errors[t]);
    }
    window_from(cJSON_GetObjectItem(o, "infra"), &s->infra);
    counts_from(cJSON_GetObjectItem(o, "results"), s->results);
    counts_from(cJSON_GetObjectItem(o, "errorCounts"), s->errcount);
    ids_from(s, cJSON_GetObjectItem(o, "everBlocked"), s->ever_blocked, 0);
    ids_from(s, cJSON_GetObjectItem(o, "everOverlap"), s->ever_overlap, 1);
    cJSON_ArrayForEach(x, cJSON_GetObjectItem(o, "activity"))
    {
        item *it;
        if (!cJSON_IsNumber(x))
            continue;
        if ((it = item_of(s, x->string)) != NULL) {
            if ((int64_t)x->valuedouble > it->last_activity)
                it->last_activity = (int64_t)x->valuedouble;
        } else {
            s->activity = xrealloc(s->activity, sizeof(*s->activity) * (size_t)(s->nactivity + 1));
            snprintf(s->activity[s->nactivity].id, sizeof(s->activity[0].id), "%s", x->string);
            s->activity[s->nactivity++].at = (int64_t)x->valuedouble;
        }
    }
    cJSON_Delete(o);
    return 0;
}
