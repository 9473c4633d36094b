/* The router tests' shared steps (router_fix.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <nats/nats.h>

#include "edge.h"
#include "names.h"
#include "natsfix.h"
#include "pb.h"
#include "proc.h"
#include "router_fix.h"
#include "svcfix.h"

void intake(env *e, const char *subject, const void *data, int len, const char *ctype)
{
    natsMsg *m = NULL;
    assert_int_equal(natsMsg_Create(&m, subject, NULL, data, len), NATS_OK);
    if (ctype)
        natsMsgHeader_Set(m, "Content-Type", ctype);
    assert_int_equal(js_PublishMsg(NULL, e->js, m, NULL, NULL), NATS_OK);
    natsMsg_Destroy(m);
}

void intake_str(env *e, const char *text) { intake(e, "intake.requirements", text, (int)strlen(text), NULL); }

void plan_free(plan_list *p)
{
    for (int i = 0; i < p->n; i++)
        protobuf_c_message_free_unpacked(&p->r[i]->base, NULL);
    free(p->r);
    memset(p, 0, sizeof(*p));
}

void read_plan(env *e, plan_list *p, int want, int timeout_ms)
{
    natsSubscription *sub = NULL;
    jsSubOptions so;
    char err[ERR_LEN];
    jsSubOptions_Init(&so);
    so.Stream = "PLAN";
    so.Consumer = "scheduler-plan";
    assert_int_equal(js_PullSubscribe(&sub, e->js, "plan.>", "scheduler-plan", NULL, &so, NULL), NATS_OK);
    for (int waited = 0; p->n < want && waited < timeout_ms; waited += 200) {
        natsMsgList list = {0};
        if (natsSubscription_Fetch(&list, sub, 500, 200, NULL) != NATS_OK)
            continue;
        for (int i = 0; i < list.Count; i++) {
            const char *ct = NULL;
            pb_requirement *r;
            assert_int_equal(natsMsgHeader_Get(list.Msgs[i], "Content-Type", &ct), NATS_OK);
            assert_string_equal(ct, "application/protobuf");
            r = (pb_requirement *)pb_unpack(&orchestrator__v1__requirement__descriptor,
                                            (const uint8_t *)natsMsg_GetData(list.Msgs[i]),
                                            (size_t)natsMsg_GetDataLength(list.Msgs[i]), PB_MAX_MSG, err);
            assert_non_null(r);
            {
                char subj[128];
                snprintf(subj, sizeof(subj), "plan.requirement.%s", r->id);
                assert_string_equal(natsMsg_GetSubject(list.Msgs[i]), subj);
            }
            if (p->n == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 64;
                p->r = realloc(p->r, sizeof(*p->r) * (size_t)p->cap);
            }
            p->r[p->n++] = r;
            natsMsg_Ack(list.Msgs[i], NULL);
        }
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
}

const pb_requirement *find(const plan_list *p, const char *id)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->r[i]->id, id) == 0)
            return p->r[i];
    fail_msg("no requirement %s on PLAN", id);
    return NULL;
}

int distinct_ids(const plan_list *p)
{
    int distinct = 0;
    for (int i = 0; i < p->n; i++) {
        int seen = 0;
        for (int k = 0; k < i && !seen; k++)
            seen = strcmp(p->r[k]->id, p->r[i]->id) == 0;
        distinct += !seen;
    }
    return distinct;
}

uint64_t stream_msgs(env *e, const char *stream)
{
    jsStreamInfo *si = NULL;
    uint64_t n;
    assert_int_equal(js_GetStreamInfo(&si, e->js, stream, NULL, NULL), NATS_OK);
    n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

/* The first few messages of stream on stderr: what a failed check saw. */
void print_stream(env *e, const char *stream, int max)
{
    for (uint64_t seq = 1; seq <= (uint64_t)max; seq++) {
        natsMsg *m = NULL;
        if (js_GetMsg(&m, e->js, stream, seq, NULL, NULL) != NATS_OK)
            break;
        fprintf(stderr, "%s #%llu %s: %.*s\n", stream, (unsigned long long)seq, natsMsg_GetSubject(m),
                natsMsg_GetDataLength(m) > 600 ? 600 : natsMsg_GetDataLength(m), natsMsg_GetData(m));
        natsMsg_Destroy(m);
    }
}

/* Acks are asynchronous: give the server a moment to apply them; after a
 * crash, the unacked batch comes back only after the consumer's ack wait
 * (10 s), so the caller says how long. */
void wait_intake_empty(env *e, int timeout_ms)
{
    uint64_t left = 1;
    for (int waited = 0; waited < timeout_ms && (left = stream_msgs(e, "INTAKE")) > 0; waited += 100)
        usleep(100 * 1000);
    assert_int_equal(left, 0);
}

/* The next want reports on errors.> (through the monitor's durable, which
 * no monitor uses here), each as {"subject": ..., "report": {...}}. */
cJSON *read_errors(env *e, int want, int timeout_ms)
{
    natsSubscription *sub = NULL;
    jsSubOptions so;
    cJSON *all = cJSON_CreateArray();

    jsSubOptions_Init(&so);
    so.Stream = "ERRORS";
    so.Consumer = "monitor-errors";
    assert_int_equal(js_PullSubscribe(&sub, e->js, "errors.>", "monitor-errors", NULL, &so, NULL), NATS_OK);
    for (int waited = 0; cJSON_GetArraySize(all) < want && waited < timeout_ms; waited += 200) {
        natsMsgList list = {0};
        if (natsSubscription_Fetch(&list, sub, want, 200, NULL) != NATS_OK)
            continue;
        for (int i = 0; i < list.Count; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(list.Msgs[i]), (size_t)natsMsg_GetDataLength(list.Msgs[i]));
            assert_non_null(j);
            cJSON_AddStringToObject(x, "subject", natsMsg_GetSubject(list.Msgs[i]));
            cJSON_AddItemToObject(x, "report", j);
            cJSON_AddItemToArray(all, x);
            natsMsg_Ack(list.Msgs[i], NULL);
        }
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return all;
}

const char *report_str(const cJSON *x, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "report"), key));
    return v ? v : "";
}

/* The report for intake message seq, or a failed test. */
const cJSON *report_for(const cJSON *all, uint64_t seq)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, all) {
        const cJSON *sq = cJSON_GetObjectItem(cJSON_GetObjectItem(x, "report"), "streamSeq");
        if (sq && (uint64_t)sq->valuedouble == seq)
            return x;
    }
    fail_msg("no error report for intake message %llu", (unsigned long long)seq);
    return NULL;
}

void expect_report(const cJSON *all, uint64_t seq, const char *reason, const char *text)
{
    const cJSON *x = report_for(all, seq);
    char subject[96];
    snprintf(subject, sizeof(subject), "errors.intake.%s", reason);
    if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(x, "subject")), subject) != 0 ||
        !strstr(report_str(x, "message"), text))
        fail_msg("intake %llu: got %s '%s', want %s '%s'", (unsigned long long)seq,
                 cJSON_GetStringValue(cJSON_GetObjectItem(x, "subject")), report_str(x, "message"), subject, text);
}

void intake_pb(env *e, const pb_requirement *r)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(pb_pack(&r->base, &buf, &len), ORCH_OK);
    intake(e, "intake.programs", buf, (int)len, "application/protobuf");
    free(buf);
}

int count_id(const plan_list *p, const char *id)
{
    int k = 0;
    for (int i = 0; i < p->n; i++)
        k += strcmp(p->r[i]->id, id) == 0;
    return k;
}

/* A figure from a router instance's $SRV.STATS ("messages": fetched,
 * redeliveries included; "accepted"). */
long long router_figure(env *e, const char *instance, const char *key)
{
    char subj[96];
    cJSON *st, *data;
    long long v;
    snprintf(subj, sizeof(subj), "$SRV.STATS.orch-router.%s", instance);
    st = svc_request_json(e->nc, subj, "", 2000);
    assert_non_null(st);
    data = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "endpoints"), 0), "data");
    v = (long long)cJSON_GetObjectItem(data, key)->valuedouble;
    cJSON_Delete(st);
    return v;
}

/* n requirements; with given_every > 0, each given_every-th has an id of
 * its own ("K-<i>"), the rest get automatic ones. */
void publish_mixed(env *e, int from, int n, int given_every)
{
    jsCtx *js = NULL;
    jsOptions o;
    jsOptions_Init(&o);
    o.PublishAsync.MaxPending = 256;
    o.PublishAsync.StallWait = 60000; /* a loaded server under the sanitizers
                                         took longer than the 200 ms default
                                         to make room (NATS_TIMEOUT in CI) */
    assert_int_equal(natsConnection_JetStream(&js, e->nc, &o), NATS_OK);
    for (int i = from; i < from + n; i++) {
        char body[128];
        if (given_every > 0 && i % given_every == 0)
            snprintf(body, sizeof(body), "{\"id\":\"K-%d\",\"title\":\"Add endpoint number %d\"}", i, i);
        else
            snprintf(body, sizeof(body), "{\"title\":\"Add endpoint number %d\"}", i);
        assert_int_equal(js_PublishAsync(js, "intake.requirements", body, (int)strlen(body), NULL), NATS_OK);
    }
    {
        /* every acknowledgement, however long a loaded server takes (the
         * context's 5 s ran out under the sanitizers with every write synced) */
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = 60000;
        assert_int_equal(js_PublishAsyncComplete(js, &po), NATS_OK);
    }
    jsCtx_Destroy(js);
}

void put_state(env *e, const char *id, int status, const char *deps)
{
    pb_state st;
    pb_requirement r;
    kvStore *kv = NULL;
    char *list[8], *copy = deps ? strdup(deps) : NULL, *save = NULL;
    uint8_t *buf;
    size_t len, n = 0;

    orchestrator__v1__requirement_state__init(&st);
    orchestrator__v1__requirement__init(&r);
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && n < 8; t = strtok_r(NULL, ",", &save))
        list[n++] = t;
    r.id = (char *)id;
    r.title = "stored by the scheduler";
    r.dependencies = list;
    r.n_dependencies = n;
    st.id = (char *)id;
    st.status = (Orchestrator__V1__Status)status;
    st.requirement = &r;
    assert_int_equal(pb_pack(&st.base, &buf, &len), ORCH_OK);
    assert_int_equal(js_KeyValue(&kv, e->js, "orch_requirements"), NATS_OK);
    assert_int_equal(kvStore_Put(NULL, kv, id, buf, (int)len), NATS_OK);
    kvStore_Destroy(kv);
    free(buf);
    free(copy);
}
