#include "jsbatch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

typedef struct {
    natsMsg *msg;    /* borrowed: the library owns it until the ack */
    int input;
} inflight;

struct jsbatch {
    jsCtx *js;
    int64_t wait_ms;
    pthread_mutex_t mu;
    inflight *fl;
    int n_fl, cap_fl;
    unsigned char *failed, *conflict;
    uint64_t *seq;
    int n_inputs, cap_inputs;
    long long stored, nfailed;
};

/* Runs on a library thread for every published message. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    jsbatch *b = closure;
    (void)js;
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < b->n_fl; i++) {
        if (b->fl[i].msg == msg) {
            int in = b->fl[i].input;
            if (!pa || pae) {
                b->failed[in] = 1;
                if (pae && pae->ErrCode == JSStreamWrongLastSequenceErr)
                    b->conflict[in] = 1;
                b->nfailed++;
                log_warn("publish to %s failed: %s", natsMsg_GetSubject(msg),
                         pae && pae->ErrText ? pae->ErrText : pae ? natsStatus_GetText(pae->Err) : "no ack");
            } else {
                b->seq[in] = pa->Sequence;
                b->stored++;
            }
            b->fl[i] = b->fl[--b->n_fl];
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);
    natsMsg_Destroy(msg);
}

orch_status jsbatch_create(jsbatch **out, natsConnection *nc, int max_outputs, int64_t wait_ms, char err[ERR_LEN])
{
    jsbatch *b = xcalloc(1, sizeof(*b));
    jsOptions o;

    jsOptions_Init(&o);
    o.Wait = wait_ms;
    o.PublishAsync.MaxPending = max_outputs;
    o.PublishAsync.AckHandler = on_ack;
    o.PublishAsync.AckHandlerClosure = b;
    o.PublishAsync.StallWait = wait_ms;
    if (natsConnection_JetStream(&b->js, nc, &o) != NATS_OK) {
        snprintf(err, ERR_LEN, "jetstream context: %s", nats_GetLastError(NULL));
        free(b);
        *out = NULL;
        return ORCH_ERR_NATS;
    }
    pthread_mutex_init(&b->mu, NULL);
    b->wait_ms = wait_ms;
    b->cap_fl = max_outputs;
    b->fl = xcalloc((size_t)max_outputs, sizeof(*b->fl));
    *out = b;
    return ORCH_OK;
}

void jsbatch_destroy(jsbatch *b)
{
    if (!b)
        return;
    jsCtx_Destroy(b->js);
    pthread_mutex_destroy(&b->mu);
    free(b->fl);
    free(b->failed);
    free(b->conflict);
    free(b->seq);
    free(b);
}

void jsbatch_begin(jsbatch *b, int n)
{
    if (n > b->cap_inputs) {
        b->failed = xrealloc(b->failed, (size_t)n);
        b->conflict = xrealloc(b->conflict, (size_t)n);
        b->seq = xrealloc(b->seq, sizeof(uint64_t) * (size_t)n);
        b->cap_inputs = n;
    }
    memset(b->failed, 0, (size_t)n);
    memset(b->conflict, 0, (size_t)n);
    memset(b->seq, 0, sizeof(uint64_t) * (size_t)n);
    b->n_inputs = n;
}

void jsbatch_fail(jsbatch *b, int input)
{
    pthread_mutex_lock(&b->mu);
    b->failed[input] = 1;
    pthread_mutex_unlock(&b->mu);
}

void jsbatch_publish(jsbatch *b, int input, const char *subject, const char *msg_id, const void *data, int len,
                     const char *content_type, int64_t expect)
{
    natsMsg *m = NULL;
    jsPubOptions po;
    natsStatus s;

    if (b->n_fl == b->cap_fl)
        jsbatch_wait(b); /* keep the in-flight table bounded */
    jsPubOptions_Init(&po);
    po.MaxWait = b->wait_ms;
    s = natsMsg_Create(&m, subject, NULL, data, len);
    if (s == NATS_OK && msg_id)
        s = natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id);
    if (s == NATS_OK && content_type)
        s = natsMsgHeader_Set(m, "Content-Type", content_type);
    if (s == NATS_OK && expect >= 0) {
        char last[24];
        snprintf(last, sizeof(last), "%lld", (long long)expect);
        s = natsMsgHeader_Set(m, "Nats-Expected-Last-Subject-Sequence", last);
    }
    if (s == NATS_OK) {
        pthread_mutex_lock(&b->mu);
        b->fl[b->n_fl].msg = m;
        b->fl[b->n_fl].input = input;
        b->n_fl++;
        pthread_mutex_unlock(&b->mu);
        s = js_PublishMsgAsync(b->js, &m, &po);
        if (s != NATS_OK) {
            /* Not sent: the library gave the message back (m not NULL). */
            pthread_mutex_lock(&b->mu);
            for (int i = 0; i < b->n_fl; i++)
                if (b->fl[i].msg == m) {
                    b->fl[i] = b->fl[--b->n_fl];
                    break;
                }
            pthread_mutex_unlock(&b->mu);
        }
    }
    if (s != NATS_OK) {
        log_warn("publish to %s not sent: %s", subject, natsStatus_GetText(s));
        pthread_mutex_lock(&b->mu);
        b->failed[input] = 1;
        b->nfailed++;
        pthread_mutex_unlock(&b->mu);
    }
    natsMsg_Destroy(m);
}

void jsbatch_wait(jsbatch *b)
{
    jsPubOptions po;
    natsMsgList pending = {0};

    jsPubOptions_Init(&po);
    po.MaxWait = b->wait_ms;
    if (js_PublishAsyncComplete(b->js, &po) == NATS_OK)
        return;
    /* Timed out: whatever is still pending has failed; take it back. */
    if (js_PublishAsyncGetPendingList(&pending, b->js) == NATS_OK) {
        pthread_mutex_lock(&b->mu);
        for (int k = 0; k < pending.Count; k++) {
            for (int i = 0; i < b->n_fl; i++) {
                if (b->fl[i].msg == pending.Msgs[k]) {
                    b->failed[b->fl[i].input] = 1;
                    b->nfailed++;
                    b->fl[i] = b->fl[--b->n_fl];
                    break;
                }
            }
        }
        pthread_mutex_unlock(&b->mu);
        natsMsgList_Destroy(&pending);
    }
}

int jsbatch_ok(const jsbatch *b, int input)
{
    return input < b->n_inputs && !b->failed[input];
}

uint64_t jsbatch_seq(const jsbatch *b, int input)
{
    return input < b->n_inputs ? b->seq[input] : 0;
}

int jsbatch_conflict(const jsbatch *b, int input)
{
    return input < b->n_inputs && b->conflict[input];
}

void jsbatch_counts(const jsbatch *b, long long *stored, long long *failed)
{
    *stored = b->stored;
    *failed = b->nfailed;
}
