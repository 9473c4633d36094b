#include "router_nats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "edge.h"
#include "fileio.h"
#include "hash.h"
#include "jsbatch.h"
#include "log.h"
#include "nc.h"
#include "names.h"
#include "route.h"
#include "strmap.h"
#include "text.h"
#include "topology.h"

#define MAX_OUTPUTS_PER_MSG 512  /* an array of max_list requirements, each maybe split */
#define MAX_CAS_TRIES 100

static const char *const type_choices[] = {"backend", "frontend", "database", "documentation", "review",
                                           "release", NULL};

router_settings router_cfg;

#define F(x) offsetof(router_settings, x)
const cfg_entry router_cfg_entries[] = {
    {"router.batch", CFG_INT, "256", 1, 1000, F(batch), NULL, 0, "intake messages fetched at once"},
    {"router.fetch_wait_ms", CFG_INT, "500", 10, 30000, F(fetch_wait_ms), NULL, 0,
     "longest wait for a batch (also the latency of noticing a stop)"},
    {"router.publish_wait_ms", CFG_INT, "5000", 100, 60000, F(publish_wait_ms), NULL, 0,
     "longest wait for JetStream to acknowledge what a batch published"},
    {"router.rules_file", CFG_STR, NULL, 0, 1024, F(rules_file), NULL, 0,
     "JSON classification rules replacing the seed's (orch-router --print-rules shows the format)"},
    {"router.default_type", CFG_ENUM, "backend", 0, 0, F(default_type), type_choices, 0,
     "agent type for requirements no rule matches (marked low confidence)"},
    {"router.split", CFG_BOOL, "true", 0, 0, F(split), NULL, 0,
     "split requirements that are clearly both backend and frontend"},
    {"router.id_prefix", CFG_STR, "REQ-", 0, 16, F(id_prefix), NULL, 0, "prefix of assigned ids"},
    {"router.id_digits", CFG_INT, "3", 1, 12, F(id_digits), NULL, 0, "zero-padded digits of assigned ids"},
    {"router.max_payload", CFG_INT, "262144", 1024, 1048576, F(max_payload), NULL, 0,
     "largest intake message accepted, in bytes"},
};
const size_t router_cfg_count = sizeof(router_cfg_entries) / sizeof(router_cfg_entries[0]);

#define N_REASONS EDGE_REASON_COUNT

typedef struct recent recent;

typedef struct {
    classifier *cl;
    edge_limits lim;
    route_opts ropts;
    natsSubscription *sub;
    jsbatch *batch;
    kvStore *counters;
    kvStore *intake_ids;
    kvStore *ids;
    kvStore *states;     /* orch_requirements, read only: the graph for the cycle check */
    recent *rec;         /* what this replica published lately, for the same */
    jsCtx *js_rr;
    /* figures for $SRV.STATS, under mu */
    pthread_mutex_t mu;
    long long accepted, split, messages, published;
    long long by_type[NAMES_AGENT_TYPES], by_priority[5], errors[N_REASONS];
} router;

static router R;

/* --- figures ----------------------------------------------------------------- */

static void count_requirement(const pb_requirement *r)
{
    pthread_mutex_lock(&R.mu);
    R.accepted++;
    if ((unsigned)r->type < NAMES_AGENT_TYPES)
        R.by_type[r->type]++;
    if ((unsigned)r->priority < 5)
        R.by_priority[r->priority]++;
    pthread_mutex_unlock(&R.mu);
}

static void stats_data(cJSON *data, void *closure)
{
    cJSON *t, *p, *e;
    (void)closure;
    pthread_mutex_lock(&R.mu);
    cJSON_AddNumberToObject(data, "messages", (double)R.messages);
    cJSON_AddNumberToObject(data, "accepted", (double)R.accepted);
    cJSON_AddNumberToObject(data, "split", (double)R.split);
    cJSON_AddNumberToObject(data, "published", (double)R.published);
    t = cJSON_AddObjectToObject(data, "by_type");
    for (int i = 1; i < NAMES_AGENT_TYPES; i++)
        cJSON_AddNumberToObject(t, names_agent_type((Orchestrator__V1__AgentType)i), (double)R.by_type[i]);
    p = cJSON_AddObjectToObject(data, "by_priority");
    for (int i = 1; i < 5; i++)
        cJSON_AddNumberToObject(p, names_priority((Orchestrator__V1__Priority)i), (double)R.by_priority[i]);
    e = cJSON_AddObjectToObject(data, "errors");
    for (int i = 1; i < N_REASONS; i++)
        if (R.errors[i])
            cJSON_AddNumberToObject(e, edge_reason_token((edge_reason)i), (double)R.errors[i]);
    pthread_mutex_unlock(&R.mu);
}

/* --- ids ----------------------------------------------------------------------- */

/* Reserves count numbers of the counter by compare-and-set on its
 * revision, so that replicas never hand out the same one; *first is the
 * first of them. One round trip per batch, not per requirement. */
static orch_status reserve_numbers(uint64_t count, uint64_t *first, char err[ERR_LEN])
{
    for (int tries = 0; tries < MAX_CAS_TRIES; tries++) {
        kvEntry *e = NULL;
        uint64_t n = 0, rev = 0;
        char buf[32];
        natsStatus s = kvStore_Get(&e, R.counters, "requirement");

        if (s == NATS_OK) {
            n = strtoull(kvEntry_ValueString(e), NULL, 10);
            rev = kvEntry_Revision(e);
            kvEntry_Destroy(e);
        } else if (s != NATS_NOT_FOUND) {
            snprintf(err, ERR_LEN, "id counter: %s", natsStatus_GetText(s));
            return ORCH_ERR_NATS;
        }
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(n + count));
        s = rev ? kvStore_UpdateString(NULL, R.counters, "requirement", buf, rev)
                : kvStore_CreateString(NULL, R.counters, "requirement", buf);
        if (s == NATS_OK) {
            *first = n + 1;
            return ORCH_OK;
        }
        /* Another replica won (PLATFORM.md: "wrong last sequence"): retry. */
        nats_Sleep(tries < 10 ? 1 : 5);
    }
    snprintf(err, ERR_LEN, "id counter: still conflicting after %d tries", MAX_CAS_TRIES);
    return ORCH_ERR_CONFLICT;
}

/* The value of key in kv (malloc'd), or NULL when there is none. */
static char *kv_get(kvStore *kv, const char *key)
{
    kvEntry *e = NULL;
    char *v;
    if (kvStore_Get(&e, kv, key) != NATS_OK)
        return NULL;
    v = xstrdup(kvEntry_ValueString(e));
    kvEntry_Destroy(e);
    return v;
}

/* --- one intake message ------------------------------------------------------ */

/* Reports bad input on errors.intake.<reason>: a whole message (index -1),
 * or one requirement of it (index, and its id) when only some are refused. */
static void report_bad_input(int input, natsMsg *m, uint64_t seq, edge_reason why, const char *err,
                             const char *id, long index)
{
    pb_error e;
    char *json;
    char subject[96], msg_id[64];

    orchestrator__v1__agent_error__init(&e);
    e.reason = (char *)edge_reason_token(why);
    e.message = (char *)err;
    e.stream_seq = seq;
    e.subject = (char *)natsMsg_GetSubject(m);
    if (id)
        e.requirement_id = (char *)id;
    e.item = index >= 0 ? (uint32_t)index + 1 : 0; /* which one, for a submitter to tell */
    /* in the batch: the message is terminated once this is stored */
    json = nc_refusal_pack(NAMES_SRC_INTAKE, &e, e.reason, subject, sizeof(subject));
    if (index < 0)
        snprintf(msg_id, sizeof(msg_id), "intake-error-%llu", (unsigned long long)seq);
    else
        snprintf(msg_id, sizeof(msg_id), "intake-error-%llu-%ld", (unsigned long long)seq, index);
    jsbatch_publish(R.batch, input, subject, msg_id, json, (int)strlen(json), "application/json", JSBATCH_ANY);
    free(json);
    log_warn("intake seq %llu on %s rejected (%s): %s", (unsigned long long)seq, natsMsg_GetSubject(m), e.reason,
             err);
    pthread_mutex_lock(&R.mu);
    if ((unsigned)why < N_REASONS)
        R.errors[why]++;
    pthread_mutex_unlock(&R.mu);
}

static void publish_requirement(int input, pb_requirement *r, uint64_t seq, uint64_t content_hash)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char subject[128], msg_id[128], line[1024];

    r->intake_seq = seq;
    if (!r->created_at_ms)
        r->created_at_ms = text_now_ms();
    if (pb_pack(&r->base, &buf, &len) != ORCH_OK) {
        jsbatch_fail(R.batch, input);
        return;
    }
    names_subject(subject, sizeof(subject), NAMES_SUBJ_PLAN, r->id, NULL);
    /* Derived from the content and the id: a redelivery publishes the same
     * id, JetStream drops the second copy within the duplicate window. */
    snprintf(msg_id, sizeof(msg_id), "plan-%s-%016llx", r->id, (unsigned long long)content_hash);
    jsbatch_publish(R.batch, input, subject, msg_id, buf, (int)len, "application/protobuf", JSBATCH_ANY);
    free(buf);
    route_describe(r, line, sizeof(line));
    log_info("%s", line);
    count_requirement(r);
}

/* One fetched intake message on its way through a batch. */
typedef struct {
    natsMsg *m;
    uint64_t seq, delivered, hash;
    pb_requirement **reqs;
    size_t n;
    edge_reason why;
    char err[ERR_LEN];
    size_t need_ids;     /* requirements without an id */
    unsigned char *kind; /* per requirement: ID_GIVEN, ID_AUTO or ID_RECORDED */
    char **refused;      /* per requirement: why its id is refused (NULL: not refused) */
    edge_reason *refused_as; /* and the reason token of that refusal */
    size_t n_refused;
    int failed;          /* retry later (nak) */
} item;

enum {
    ID_GIVEN,            /* in the message */
    ID_AUTO,             /* picked from the counter in this delivery */
    ID_RECORDED          /* picked by an earlier delivery, read back */
};

static void refuse(item *it, size_t j, edge_reason as, const char *why)
{
    if (it->refused[j])
        return;
    it->refused[j] = xstrdup(why);
    it->refused_as[j] = as;
    it->n_refused++;
}

static void decode(item *it)
{
    jsMsgMetaData *meta = NULL;
    const char *ct = NULL;
    const char *data = natsMsg_GetData(it->m);
    size_t len = (size_t)natsMsg_GetDataLength(it->m);
    long *first;
    unsigned char *skip;
    route_items x;

    if (natsMsg_GetMetaData(&meta, it->m) == NATS_OK) {
        it->seq = meta->Sequence.Stream;
        it->delivered = meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
    }
    natsMsgHeader_Get(it->m, "Content-Type", &ct);
    it->hash = hash_fnv1a64(data, len);
    it->why = route_items_decode(route_format_of(ct, data, len), natsMsg_GetSubject(it->m), data, len, &R.lim, &x,
                                 it->err);
    if (it->why != EDGE_OK)
        return;
    /* the requirements are the item's now; the verdicts become refusals */
    it->reqs = x.reqs;
    it->n = x.n;
    x.reqs = NULL;
    x.n = 0;
    it->refused = xcalloc(it->n, sizeof(*it->refused));
    it->refused_as = xcalloc(it->n, sizeof(*it->refused_as));
    it->kind = xcalloc(it->n, 1);
    skip = xcalloc(it->n, 1);
    for (size_t j = 0; j < it->n; j++) {
        if (x.why[j] == EDGE_OK)
            continue;
        refuse(it, j, x.why[j], x.err[j]);
        skip[j] = 1;
        free(x.err[j]);
    }
    free(x.err);
    free(x.why);
    first = xcalloc(it->n, sizeof(*first));
    route_duplicates(it->reqs, it->n, skip, first);
    for (size_t j = 0; j < it->n; j++) {
        char why[ERR_LEN];
        /* a refused item takes no id: none to record for it either */
        it->kind[j] = *it->reqs[j]->id || skip[j] ? ID_GIVEN : ID_AUTO;
        it->need_ids += it->kind[j] == ID_AUTO;
        if (first[j] < 0)
            continue;
        snprintf(why, sizeof(why), "[%zu]: id '%s' is given twice in this message (first at [%ld]); refused",
                 j, it->reqs[j]->id, first[j]);
        refuse(it, j, EDGE_DUPLICATE_ID, why);
    }
    free(first);
    free(skip);
}

/* A registry entry under way: requirement j of item it, its id taken with
 * a create-only write, and its split parts' ids when it will be split. */
typedef struct {
    item *it;
    size_t j;
    int given;
    int keys;            /* 1, or 3 with the parts */
} taking;

/* The k-th registry key of t: its id, then its parts' ids. */
static void taking_key(const taking *t, int k, char *buf, size_t len)
{
    const char *id = t->it->reqs[t->j]->id;
    if (k == 0)
        snprintf(buf, len, "%s", id);
    else
        route_part_id(id, k - 1, buf, len);
}

/* Settles a given id whose registry create conflicted on key: 0 when its
 * holder is this very item (an earlier delivery), 1 when it refused the
 * requirement, -1 when the holder could not be read. */
static int settle_given(taking *t, const char *key)
{
    item *it = t->it;
    char owner[64], *holder, why[ERR_LEN], what[ERR_LEN - 16];
    const char *id = it->reqs[t->j]->id;
    int part = strcmp(key, id) != 0;

    route_owner(it->seq, t->j, owner, sizeof(owner));
    if (!(holder = kv_get(R.ids, key)))
        return -1;
    if (strcmp(holder, owner) == 0) {
        free(holder);
        return 0;
    }
    if (part)
        snprintf(what, sizeof(what), "id '%s' (its split part %s) is taken already (by intake item %s); refused",
                 id, key, holder);
    else
        snprintf(what, sizeof(what), "id '%s' is taken already (by intake item %s); refused", id, holder);
    if (it->n > 1)
        snprintf(why, sizeof(why), "[%zu]: %s", t->j, what);
    else
        snprintf(why, sizeof(why), "%s", what);
    refuse(it, t->j, EDGE_DUPLICATE_ID, why);
    free(holder);
    return 1;
}

/* Takes every id of the batch in the registry (route.h): the given ones,
 * and automatic ones from the counter, skipping those someone else holds.
 * One round trip per round, and rounds repeat only for skipped ids. */
static void take_ids(item *items, int n)
{
    taking *t = NULL;
    size_t nt = 0, cap = 0;
    int rounds = 0;

    for (int i = 0; i < n; i++) {
        if (items[i].why != EDGE_OK || items[i].failed)
            continue;
        for (size_t j = 0; j < items[i].n; j++) {
            /* Recorded ids were taken by the earlier delivery that recorded them. */
            if (items[i].refused[j] || items[i].kind[j] == ID_RECORDED)
                continue;
            if (nt == cap) {
                cap = cap ? cap * 2 : 64;
                t = xrealloc(t, sizeof(*t) * cap);
            }
            t[nt].it = &items[i];
            t[nt].j = j;
            t[nt].given = items[i].kind[j] == ID_GIVEN;
            nt++;
        }
    }
    while (nt > 0) {
        uint64_t want = 0, next = 0;
        size_t kept = 0;
        int nkeys = 0, k = 0;
        char err[ERR_LEN];

        for (size_t x = 0; x < nt; x++)
            want += !*t[x].it->reqs[t[x].j]->id;
        if (want && reserve_numbers(want, &next, err) != ORCH_OK) {
            log_error("%s; the batch will be retried", err);
            for (size_t x = 0; x < nt; x++)
                t[x].it->failed = 1;
            break;
        }
        for (size_t x = 0; x < nt; x++) {
            pb_requirement *r = t[x].it->reqs[t[x].j];
            if (!*r->id) {
                char id[96];
                route_auto_id(router_cfg.id_prefix, (int)router_cfg.id_digits, next++, id, sizeof(id));
                pb_set_str(&r->id, id);
            }
            t[x].keys = route_will_split(R.cl, &R.ropts, r, r->id) ? 3 : 1;
            nkeys += t[x].keys;
        }
        jsbatch_begin(R.batch, nkeys);
        for (size_t x = 0; x < nt; x++) {
            char owner[64];
            route_owner(t[x].it->seq, t[x].j, owner, sizeof(owner));
            for (int q = 0; q < t[x].keys; q++, k++) {
                char key[160], subject[200];
                taking_key(&t[x], q, key, sizeof(key));
                snprintf(subject, sizeof(subject), "$KV.%s.%s", TOPO_KV_IDS, key);
                jsbatch_publish(R.batch, k, subject, NULL, owner, (int)strlen(owner), NULL, JSBATCH_NEW);
            }
        }
        jsbatch_wait(R.batch);
        k = 0;
        for (size_t x = 0; x < nt; x++) {
            item *it = t[x].it;
            pb_requirement *r = it->reqs[t[x].j];
            int skip = 0;

            for (int q = 0; q < t[x].keys; q++, k++) {
                char key[160];
                if (jsbatch_ok(R.batch, k) || it->refused[t[x].j])
                    continue;
                if (!jsbatch_conflict(R.batch, k)) {
                    it->failed = 1;
                    continue;
                }
                taking_key(&t[x], q, key, sizeof(key));
                if (!t[x].given) {
                    /* Someone gave this id (or a part of it): skip the number. */
                    log_info("automatic id %s is taken; skipped", key);
                    skip = 1;
                    continue;
                }
                if (settle_given(&t[x], key) < 0)
                    it->failed = 1;
            }
            if (skip && !it->failed) {
                pb_set_str(&r->id, "");
                t[kept++] = t[x];
            }
        }
        nt = kept;
        if (nt && ++rounds == MAX_CAS_TRIES) {
            /* Not a passing conflict: the numbers were given as ids
             * before. A redelivery would only go on skipping until the
             * consumer gives up, and the message would die unexplained:
             * refuse these requirements instead, saying why. */
            for (size_t x = 0; x < nt; x++) {
                item *it = t[x].it;
                char why[ERR_LEN], which[32] = "";
                if (it->n > 1)
                    snprintf(which, sizeof(which), "[%zu]: ", t[x].j);
                snprintf(why, sizeof(why),
                         "%sno automatic id is free: the last %d numbers of the counter (prefix '%s') were all "
                         "given as ids before; refused: give the requirement an id of its own",
                         which, rounds, router_cfg.id_prefix);
                refuse(it, t[x].j, EDGE_ID_UNAVAILABLE, why);
                it->kind[t[x].j] = ID_GIVEN; /* none to record */
                it->need_ids--;
            }
            break;
        }
    }
    free(t);
}

/* Ids for every item, the same on every redelivery: a redelivered message
 * first looks up the automatic ids its earlier delivery recorded; the rest
 * are taken (take_ids), and the automatic ones each message got are
 * recorded with a create-only write before anything is published with
 * them. When two deliveries race, the first record wins and the other
 * uses it (its own picks stay unused in the registry: gaps, no harm). */
static void assign_ids(item *items, int n)
{
    int recording = 0;

    for (int i = 0; i < n; i++) {
        item *it = &items[i];
        char key[48], *v, **ids;
        if (!it->need_ids || it->delivered < 2)
            continue;
        snprintf(key, sizeof(key), "seq-%llu", (unsigned long long)it->seq);
        if (!(v = kv_get(R.intake_ids, key)))
            continue;
        if (route_recorded_ids(v, it->need_ids, router_cfg.id_prefix, (int)router_cfg.id_digits, &ids)) {
            for (size_t j = 0, k = 0; j < it->n; j++)
                if (it->kind[j] == ID_AUTO) {
                    pb_set_str(&it->reqs[j]->id, ids[k++]);
                    it->kind[j] = ID_RECORDED;
                }
            for (size_t k = 0; k < it->need_ids; k++)
                free(ids[k]);
            free(ids);
            it->need_ids = 0; /* recorded: nothing to record again */
        } else {
            log_warn("intake seq %llu: recorded ids '%.200s' are not %zu ids; taking new ones",
                     (unsigned long long)it->seq, v, it->need_ids);
        }
        free(v);
    }
    take_ids(items, n);

    jsbatch_begin(R.batch, n);
    for (int i = 0; i < n; i++) {
        item *it = &items[i];
        char subject[96], *value;
        size_t used = 0;
        if (!it->need_ids || it->failed || it->why != EDGE_OK)
            continue;
        value = xmalloc(it->n * (R.lim.max_id + 1) + 1);
        value[0] = '\0';
        for (size_t j = 0; j < it->n; j++)
            if (it->kind[j] == ID_AUTO)
                used += (size_t)sprintf(value + used, "%s%s", used ? "," : "", it->reqs[j]->id);
        snprintf(subject, sizeof(subject), "$KV.%s.seq-%llu", TOPO_KV_INTAKE_IDS, (unsigned long long)it->seq);
        jsbatch_publish(R.batch, i, subject, NULL, value, (int)used, NULL, JSBATCH_NEW);
        free(value);
        recording = 1;
    }
    if (!recording)
        return;
    jsbatch_wait(R.batch);
    for (int i = 0; i < n; i++) {
        item *it = &items[i];
        if (!it->need_ids || it->failed || it->why != EDGE_OK || jsbatch_ok(R.batch, i))
            continue;
        /* An earlier delivery recorded its ids first: those are the ones
         * (this one's picks were not published). Retry to use them. */
        it->failed = 1;
    }
}

/* --- dependency cycles ------------------------------------------------------------ */

/* The scheduler refuses a requirement that closes a dependency cycle, but
 * only once the router has taken its id and answered for it: the id was
 * spent on nothing, and orchctl submit had seen it accepted. So the router
 * looks first, before ids are taken: along the dependencies of what went
 * on earlier in the same batch, of the last RECENT_MAX requirements this
 * replica published (the scheduler may not have stored them yet, or may
 * be down), and of what the scheduler has stored (KV orch_requirements,
 * read only). What it cannot see (another replica's work published a
 * moment ago and not yet stored, a newcomer with an automatic id, a walk
 * longer than CYCLE_MAX_VISITS) the scheduler still catches. A COMPLETE
 * requirement is not walked through: its dependencies all completed
 * before it could, so none of them waits on a newcomer. */
#define CYCLE_MAX_VISITS 512
#define RECENT_MAX 4096

/* A ring of the requirements published last, by id: the oldest goes when
 * a new one comes. Used by the batch thread only. */
struct recent {
    strmap *index;               /* id -> slot */
    char *id[RECENT_MAX];
    char **deps[RECENT_MAX];
    size_t n[RECENT_MAX];
    size_t next;
};

static void recent_clear_slot(recent *rc, size_t at)
{
    for (size_t k = 0; k < rc->n[at]; k++)
        free(rc->deps[at][k]);
    free(rc->deps[at]);
    rc->deps[at] = NULL;
    rc->n[at] = 0;
}

static void recent_put(recent *rc, const char *id, char *const *deps, size_t n)
{
    int at;
    if (!strmap_get(rc->index, id, &at)) {
        at = (int)(rc->next++ % RECENT_MAX);
        if (rc->id[at]) {
            strmap_del(rc->index, rc->id[at]);
            free(rc->id[at]);
        }
        rc->id[at] = xstrdup(id);
        strmap_put(rc->index, id, at);
    }
    recent_clear_slot(rc, (size_t)at);
    rc->deps[at] = n ? xcalloc(n, sizeof(char *)) : NULL;
    rc->n[at] = n;
    for (size_t k = 0; k < n; k++)
        rc->deps[at][k] = xstrdup(deps[k]);
}

static void recent_destroy(recent *rc)
{
    if (!rc)
        return;
    for (size_t i = 0; i < RECENT_MAX; i++) {
        free(rc->id[i]);
        recent_clear_slot(rc, i);
    }
    strmap_destroy(rc->index);
    free(rc);
}

typedef struct {
    strmap *index;       /* id -> entry */
    char ***deps;        /* per entry, owned */
    size_t *n;
    size_t count, cap;
} graph;

static void graph_put(graph *g, const char *id, char *const *deps, size_t n)
{
    int at;
    if (!strmap_get(g->index, id, &at)) {
        if (g->count == g->cap) {
            g->cap = g->cap ? g->cap * 2 : 64;
            g->deps = xrealloc(g->deps, sizeof(*g->deps) * g->cap);
            g->n = xrealloc(g->n, sizeof(*g->n) * g->cap);
        }
        at = (int)g->count++;
        strmap_put(g->index, id, at);
    } else {
        for (size_t k = 0; k < g->n[at]; k++)
            free(g->deps[at][k]);
        free(g->deps[at]);
    }
    g->deps[at] = n ? xcalloc(n, sizeof(char *)) : NULL;
    g->n[at] = n;
    for (size_t k = 0; k < n; k++)
        g->deps[at][k] = xstrdup(deps[k]);
}

static void graph_free(graph *g)
{
    for (size_t i = 0; i < g->count; i++) {
        for (size_t k = 0; k < g->n[i]; k++)
            free(g->deps[i][k]);
        free(g->deps[i]);
    }
    free(g->deps);
    free(g->n);
    strmap_destroy(g->index);
}

/* route_deps_fn: the batch's requirements first, then the stored states. */
static int graph_deps(void *ctx, const char *id, const char *const **deps, size_t *n)
{
    graph *g = ctx;
    kvEntry *e = NULL;
    natsStatus s;
    int at;

    if (!strmap_get(g->index, id, &at) && strmap_get(R.rec->index, id, &at)) {
        graph_put(g, id, R.rec->deps[at], R.rec->n[at]);
        strmap_get(g->index, id, &at);
    } else if (!strmap_get(g->index, id, &at)) {
        s = kvStore_Get(&e, R.states, id);
        if (s == NATS_NOT_FOUND) {
            graph_put(g, id, NULL, 0);
        } else if (s != NATS_OK) {
            log_warn("cycle check: reading %s/%s: %s; the scheduler will check", TOPO_KV_REQUIREMENTS, id,
                     natsStatus_GetText(s));
            return -1;
        } else {
            char err[ERR_LEN];
            pb_state *st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor,
                                                 (const uint8_t *)kvEntry_Value(e), (size_t)kvEntry_ValueLen(e),
                                                 PB_MAX_MSG, err);
            kvEntry_Destroy(e);
            if (!st) {
                log_warn("cycle check: %s/%s unreadable (%s); the scheduler will check", TOPO_KV_REQUIREMENTS, id, err);
                return -1;
            }
            if (st->requirement && st->status != ORCHESTRATOR__V1__STATUS__STATUS_COMPLETE)
                graph_put(g, id, st->requirement->dependencies, st->requirement->n_dependencies);
            else
                graph_put(g, id, NULL, 0);
            orchestrator__v1__requirement_state__free_unpacked(st, NULL);
        }
        strmap_get(g->index, id, &at);
    }
    *deps = (const char *const *)g->deps[at];
    *n = g->n[at];
    return 0;
}

/* Refuses each requirement with a given id that would close a cycle, in
 * batch order (the order the scheduler adds them in): the one that closes
 * it is refused, the ones before it go on. */
static void check_cycles(item *items, int n)
{
    graph g;
    memset(&g, 0, sizeof(g));
    g.index = strmap_create();
    for (int i = 0; i < n; i++) {
        item *it = &items[i];
        if (it->why != EDGE_OK || it->failed)
            continue;
        for (size_t j = 0; j < it->n; j++) {
            pb_requirement *r = it->reqs[j];
            char cycle[600], why[ERR_LEN + 700], which[32] = "";
            int rc;
            if (it->refused[j] || !*r->id)
                continue;
            rc = r->n_dependencies ? route_closes_cycle(r->id, (const char *const *)r->dependencies,
                                                        r->n_dependencies, graph_deps, &g, CYCLE_MAX_VISITS, cycle,
                                                        sizeof(cycle))
                                   : 0;
            if (rc < 0)
                log_info("cycle check for %s not finished; the scheduler will check", r->id);
            if (rc == 1) {
                if (it->n > 1)
                    snprintf(which, sizeof(which), "[%zu]: ", j);
                snprintf(why, sizeof(why),
                         "%sfield 'dependencies': %s would close the dependency cycle %s; refused, and its id is "
                         "not taken: submit it again without the dependency that closes the cycle",
                         which, r->id, cycle);
                refuse(it, j, EDGE_BAD_DEPENDENCY, why);
                continue;
            }
            graph_put(&g, r->id, r->dependencies, r->n_dependencies);
        }
    }
    graph_free(&g);
}

/* Classifies and publishes one item; returns 1 when it was bad input as
 * a whole (terminated once its report is stored). */
static int publish_item(int input, item *it)
{
    unsigned char *skip;
    size_t *dependents;

    if (it->why != EDGE_OK) {
        report_bad_input(input, it->m, it->seq, it->why, it->err, NULL, -1);
        return 1;
    }
    skip = xcalloc(it->n, 1);
    dependents = xcalloc(it->n, sizeof(*dependents));
    for (size_t j = 0; j < it->n; j++)
        skip[j] = it->refused[j] != NULL;
    route_count_dependents(it->reqs, it->n, skip, dependents);
    for (size_t j = 0; j < it->n; j++) {
        pb_requirement *second = NULL;
        if (it->refused[j]) {
            report_bad_input(input, it->m, it->seq, it->refused_as[j], it->refused[j],
                             *it->reqs[j]->id ? it->reqs[j]->id : NULL, (long)j);
            continue;
        }
        /* as submitted: dependents name it, not its split parts */
        recent_put(R.rec, it->reqs[j]->id, it->reqs[j]->dependencies, it->reqs[j]->n_dependencies);
        route_apply(R.cl, &R.ropts, it->reqs[j], &second);
        route_blocking(it->reqs[j], dependents[j]);
        if (second)
            route_blocking(second, dependents[j]);
        publish_requirement(input, it->reqs[j], it->seq, it->hash);
        if (second) {
            publish_requirement(input, second, it->seq, it->hash);
            orchestrator__v1__requirement__free_unpacked(second, NULL);
            pthread_mutex_lock(&R.mu);
            R.split++;
            pthread_mutex_unlock(&R.mu);
        }
    }
    free(skip);
    free(dependents);
    return it->n_refused == it->n;
}

/* A batch is numbered, published and waited for as one (jsbatch); each
 * message is then acked when what it caused is stored, terminated when it
 * was bad input whose error report is stored, and otherwise comes back
 * later (its outputs are deduplicated by their Nats-Msg-Id). */
static void handle_batch(natsMsg **msgs, int n, nc_settlement *how, void *arg)
{
    item *items = xcalloc((size_t)n, sizeof(*items));
    int *bad = xcalloc((size_t)n, sizeof(int));
    (void)arg;
    for (int i = 0; i < n; i++) {
        items[i].m = msgs[i];
        decode(&items[i]);
    }
    check_cycles(items, n); /* before ids are taken: a refused one keeps its id free */
    assign_ids(items, n);

    jsbatch_begin(R.batch, n);
    for (int i = 0; i < n; i++) {
        if (items[i].failed)
            jsbatch_fail(R.batch, i);
        else
            bad[i] = publish_item(i, &items[i]);
    }
    jsbatch_wait(R.batch);
    for (int i = 0; i < n; i++) {
        how[i] = !jsbatch_ok(R.batch, i) ? nc_retry(1000) : bad[i] ? nc_term() : nc_ack();
        for (size_t j = 0; items[i].refused && j < items[i].n; j++)
            free(items[i].refused[j]);
        free(items[i].refused);
        free(items[i].refused_as);
        free(items[i].kind);
        edge_requirements_free(items[i].reqs, items[i].n);
    }
    pthread_mutex_lock(&R.mu);
    R.messages += n;
    {
        long long stored, failed;
        jsbatch_counts(R.batch, &stored, &failed);
        R.published = stored;
    }
    pthread_mutex_unlock(&R.mu);
    free(bad);
    free(items);
}

void router_step(daemon_ctx *d)
{
    (void)d;
    if (nc_consume_batch(R.sub, (int)router_cfg.batch, router_cfg.fetch_wait_ms, handle_batch, NULL) < 0)
        log_warn("fetch from the router's consumer failed; trying again");
}

/* --- dry run: orch.router.classify ------------------------------------------- */

static void on_classify(srv_req *req, void *closure)
{
    const char *data = natsMsg_GetData(req->msg);
    size_t len = (size_t)natsMsg_GetDataLength(req->msg);
    const char *ct = NULL;
    pb_requirement **reqs = NULL;
    size_t n = 0;
    char err[ERR_LEN];
    edge_reason why;
    cJSON *out;
    size_t *dependents;
    (void)closure;

    natsMsgHeader_Get(req->msg, "Content-Type", &ct);
    why = route_decode(route_format_of(ct, data, len), data, len, &R.lim, &reqs, &n, err);
    if (why == EDGE_OK && (why = route_intake_types(reqs, n, NULL, err)) != EDGE_OK) {
        edge_requirements_free(reqs, n);
        reqs = NULL;
        n = 0;
    }
    if (why != EDGE_OK) {
        char msg[ERR_LEN + 32];
        snprintf(msg, sizeof(msg), "%s: %s", edge_reason_token(why), err);
        srv_respond_error(req, 400, msg);
        return;
    }
    out = cJSON_CreateArray();
    dependents = xcalloc(n ? n : 1, sizeof(*dependents));
    route_count_dependents(reqs, n, NULL, dependents);
    for (size_t j = 0; j < n; j++) {
        pb_requirement *second = NULL;
        if (!*reqs[j]->id)
            pb_set_str(&reqs[j]->id, "NEW");
        route_apply(R.cl, &R.ropts, reqs[j], &second);
        route_blocking(reqs[j], dependents[j]);
        if (second)
            route_blocking(second, dependents[j]);
        for (int k = 0; k < 2; k++) {
            pb_requirement *r = k ? second : reqs[j];
            char *json;
            if (!r)
                continue;
            json = edge_requirement_to_json(r);
            cJSON_AddItemToArray(out, cJSON_Parse(json));
            free(json);
        }
        if (second)
            orchestrator__v1__requirement__free_unpacked(second, NULL);
    }
    srv_respond_json(req, out);
    free(dependents);
    edge_requirements_free(reqs, n);
}

/* --- start and stop ------------------------------------------------------------ */

#define RULES_MAX (1u << 20) /* router.rules_file: a larger one is refused, not cut */

orch_status router_start(daemon_ctx *d, char err[ERR_LEN])
{
    char *rules = NULL;
    size_t rules_len = strlen(classify_default_rules);
    orch_status st;
    cl_size_table size;

    memset(&R, 0, sizeof(R));
    pthread_mutex_init(&R.mu, NULL);
    edge_limits_default(&R.lim);
    R.lim.max_payload = (size_t)router_cfg.max_payload;
    R.ropts.allow_split = router_cfg.split;
    R.ropts.max_id = R.lim.max_id;
    R.ropts.max_title = R.lim.max_title;
    R.ropts.max_list = R.lim.max_list;
    R.rec = xcalloc(1, sizeof(*R.rec));
    R.rec->index = strmap_create();
    classify_size_default(&size);

    if (router_cfg.rules_file) {
        char ferr[ERR_LEN];
        if (fileio_read(router_cfg.rules_file, RULES_MAX, &rules, &rules_len, ferr) != ORCH_OK) {
            snprintf(err, ERR_LEN, "router.rules_file %s", ferr);
            return ORCH_ERR_INVALID;
        }
    }
    st = classify_create(&R.cl, rules ? rules : classify_default_rules, rules_len, router_cfg.default_type + 1,
                         &size, err);
    free(rules);
    if (st != ORCH_OK)
        return st;
    log_info("classifier: %zu rules from %s", classify_rule_count(R.cl),
             router_cfg.rules_file ? router_cfg.rules_file : "the seed's defaults");

    /* Id lookups are round trips: on the SendAsap connection. */
    if (natsConnection_JetStream(&R.js_rr, d->rr, NULL) != NATS_OK ||
        js_KeyValue(&R.counters, R.js_rr, TOPO_KV_COUNTERS) != NATS_OK ||
        js_KeyValue(&R.intake_ids, R.js_rr, TOPO_KV_INTAKE_IDS) != NATS_OK ||
        js_KeyValue(&R.ids, R.js_rr, TOPO_KV_IDS) != NATS_OK ||
        js_KeyValue(&R.states, R.js_rr, TOPO_KV_REQUIREMENTS) != NATS_OK) {
        snprintf(err, ERR_LEN, "KV buckets %s/%s/%s/%s: %s", TOPO_KV_COUNTERS, TOPO_KV_INTAKE_IDS, TOPO_KV_IDS,
                 TOPO_KV_REQUIREMENTS, nats_GetLastError(NULL));
        return ORCH_ERR_NATS;
    }
    if (jsbatch_create(&R.batch, d->nc, (int)router_cfg.batch * 4 + MAX_OUTPUTS_PER_MSG,
                       router_cfg.publish_wait_ms, err) != ORCH_OK)
        return ORCH_ERR_NATS;
    if ((st = nc_pull_subscribe(d->js, "INTAKE", TOPO_DUR_ROUTER, &R.sub, err)) != ORCH_OK)
        return st;
    return srv_add_endpoint(d->srv, "classify", names_request_subject(NAMES_REQ_ROUTER_CLASSIFY), NULL, on_classify, stats_data, NULL, err);
}

void router_stop(daemon_ctx *d)
{
    (void)d;
    /* The loop has returned: the last batch is acked or nak'ed. Unsubscribe
     * without draining, so no new batch is pulled. */
    if (R.sub) {
        natsSubscription_Unsubscribe(R.sub);
        natsSubscription_Destroy(R.sub);
    }
    jsbatch_destroy(R.batch);
    kvStore_Destroy(R.counters);
    kvStore_Destroy(R.intake_ids);
    kvStore_Destroy(R.ids);
    kvStore_Destroy(R.states);
    if (R.js_rr)
        jsCtx_Destroy(R.js_rr);
    classify_destroy(R.cl);
    recent_destroy(R.rec);
    pthread_mutex_destroy(&R.mu);
    memset(&R, 0, sizeof(R));
}
