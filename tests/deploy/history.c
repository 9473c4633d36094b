#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "names.h"
#include "pb.h"
#include "text.h"
#include "topology.h"

/* Every stored message of stream (filter), through an ordered consumer;
 * how many were read, or -1. */
static long each_stored(jsCtx *js, const char *stream, const char *filter, void (*fn)(natsMsg *m, void *arg),
                        void *arg)
{
    jsStreamInfo *si = NULL;
    natsSubscription *sub = NULL;
    jsSubOptions so;
    long want, got = 0;
    if (js_GetStreamInfo(&si, js, stream, NULL, NULL) != NATS_OK)
        return -1;
    want = (long)si->State.Msgs;
    jsStreamInfo_Destroy(si);
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverAll;
    if (js_SubscribeSync(&sub, js, filter, NULL, &so, NULL) != NATS_OK)
        return -1;
    while (got < want) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, 5000) != NATS_OK)
            break;
        fn(m, arg);
        natsMsg_Destroy(m);
        got++;
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return got == want ? got : -1;
}

/* <prefix><type>.<id>: the type into type, the id returned; NULL when the
 * subject is not one. */
static const char *type_and_id(const char *subj, const char *prefix, char *type, size_t len)
{
    const char *rest = subj + strlen(prefix), *dot;
    if (strncmp(subj, prefix, strlen(prefix)) || !(dot = strchr(rest, '.')))
        return NULL;
    snprintf(type, len, "%.*s", (int)(dot - rest), rest);
    return dot + 1;
}

/* Reviews per requirement: the attempts review was dispatched for, and the
 * review results stored, one per reviewed attempt. Results that name no
 * attempt are counted only here (the checker keys results by attempt, so
 * two of them would look like one result stored twice). */
typedef struct {
    char id[64];
    uint64_t dispatched;    /* bit n: attempt n (up to 63) */
    long answered;
} review_tally;

typedef struct {
    checker *ck;
    review_tally *r;
    size_t n, cap;
} collection;

static review_tally *tally(collection *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->r[i].id, id))
            return &c->r[i];
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->r = xrealloc(c->r, c->cap * sizeof(*c->r));
    }
    memset(&c->r[c->n], 0, sizeof(c->r[0]));
    snprintf(c->r[c->n].id, sizeof(c->r[0].id), "%s", id);
    return &c->r[c->n++];
}

static void on_dispatch(natsMsg *m, void *arg)
{
    collection *c = arg;
    const char *msg_id = NULL, *id;
    char type[32];
    cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    if (j && (id = type_and_id(natsMsg_GetSubject(m), "requirements.", type, sizeof(type)))) {
        unsigned attempt = (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "attempt"));
        natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id);
        ck_dispatched(c->ck, type, id, attempt, msg_id);
        if (!strcmp(type, "review") && attempt < 64)
            tally(c, id)->dispatched |= 1ull << attempt;
    }
    cJSON_Delete(j);
}

static void on_result(natsMsg *m, void *arg)
{
    collection *c = arg;
    const char *id;
    char type[32];
    cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    if (j && (id = type_and_id(natsMsg_GetSubject(m), "results.", type, sizeof(type)))) {
        if (!strcmp(type, "review"))
            tally(c, id)->answered++; /* one review result per reviewed attempt */
        if (strcmp(type, "review") || cJSON_GetObjectItem(j, "attempt"))
            ck_result(c->ck, type, id, (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "attempt")),
                      (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "tokensUsed")));
    }
    cJSON_Delete(j);
}

/* A verdict, and whether the chaos run's forger sent it (its message ids
 * start "forged-"): the checker counts only genuine ones as verification. */
static void on_verdict(natsMsg *m, void *arg)
{
    collection *c = arg;
    const char *msg_id = NULL;
    char err[ERR_LEN];
    pb_verdict *v = (pb_verdict *)pb_unpack(&orchestrator__v1__verdict__descriptor, (const uint8_t *)natsMsg_GetData(m),
                                            (size_t)natsMsg_GetDataLength(m), PB_MAX_MSG, err);
    if (!v)
        return;
    natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id);
    ck_verdict(c->ck, v->requirement_id, v->attempt, v->kind == ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS,
               v->commit, msg_id && !strncmp(msg_id, "forged-", 7));
    orchestrator__v1__verdict__free_unpacked(v, NULL);
}

/* Calls fn on the value of every key of bucket (keys ending in suffix, when
 * it is not NULL). */
static int each_key(jsCtx *js, const char *bucket, const char *suffix,
                    void (*fn)(const void *v, size_t len, void *arg), void *arg)
{
    kvStore *kv = NULL;
    kvKeysList keys = {0};
    if (js_KeyValue(&kv, js, bucket) != NATS_OK || kvStore_Keys(&keys, kv, NULL) != NATS_OK) {
        kvStore_Destroy(kv);
        return -1;
    }
    for (int i = 0; i < keys.Count; i++) {
        kvEntry *e = NULL;
        size_t n = strlen(keys.Keys[i]), s = suffix ? strlen(suffix) : 0;
        if ((n < s || strcmp(keys.Keys[i] + n - s, suffix ? suffix : "")) || kvStore_Get(&e, kv, keys.Keys[i]) != NATS_OK)
            continue;
        fn(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), arg);
        kvEntry_Destroy(e);
    }
    kvKeysList_Destroy(&keys);
    kvStore_Destroy(kv);
    return 0;
}

static void on_state(const void *v, size_t len, void *arg)
{
    char err[ERR_LEN];
    pb_state *st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor, v, len, PB_MAX_MSG, err);
    if (st) {
        ck_final(arg, st->id, names_status(st->status), st->charged_day_own + st->charged_day_review);
        ck_final_attempt(arg, st->id, st->attempt, st->delivery ? st->delivery->commit : "");
        orchestrator__v1__requirement_state__free_unpacked(st, NULL);
    }
}

static void on_budget(const void *v, size_t len, void *arg)
{
    char err[ERR_LEN];
    pb_budget *u = (pb_budget *)pb_unpack(&orchestrator__v1__budget_usage__descriptor, v, len, PB_MAX_MSG, err);
    if (u) {
        *(uint64_t *)arg += u->used;
        orchestrator__v1__budget_usage__free_unpacked(u, NULL);
    }
}

static int popcount(uint64_t v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

int hist_collect(jsCtx *js, checker *ck, uint64_t *ledger, long *reviews_off, FILE *detail)
{
    collection c = {ck, NULL, 0, 0};
    int rc = -1;
    *ledger = 0;
    *reviews_off = 0;
    if (each_stored(js, "REQUIREMENTS", "requirements.>", on_dispatch, &c) < 0 ||
        each_stored(js, "RESULTS", "results.>", on_result, &c) < 0 ||
        each_stored(js, "VERDICTS", "verdicts.>", on_verdict, &c) < 0 ||
        each_key(js, TOPO_KV_REQUIREMENTS, NULL, on_state, ck) != 0 ||
        each_key(js, TOPO_KV_BUDGETS, ".total", on_budget, ledger) != 0)
        goto out;
    for (size_t i = 0; i < c.n; i++) {
        int want = popcount(c.r[i].dispatched);
        if (c.r[i].answered != want) {
            (*reviews_off)++;
            if (detail)
                fprintf(detail, "history: %s: review dispatched for %d attempt(s), %ld review result(s) "
                        "stored\n", c.r[i].id, want, c.r[i].answered);
        }
    }
    rc = 0;
out:
    free(c.r);
    return rc;
}

int hist_leader(jsCtx *js, const char *role, char *holder, size_t len)
{
    kvStore *kv = NULL;
    kvEntry *e = NULL;
    int rc = -1;
    if (js_KeyValue(&kv, js, TOPO_KV_LEADER) == NATS_OK && kvStore_Get(&e, kv, role) == NATS_OK &&
        kvEntry_ValueLen(e) > 0) {
        snprintf(holder, len, "%s", kvEntry_ValueString(e));
        rc = 0;
    }
    kvEntry_Destroy(e);
    kvStore_Destroy(kv);
    return rc;
}
