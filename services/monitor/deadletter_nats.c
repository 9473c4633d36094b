#include "deadletter_nats.h"
#include "names.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "text.h"

struct dl {
    dl_cfg cfg;
    natsSubscription *sub;
    pthread_mutex_t mu;
    long long count;
};

static void copy(dl *d, const char *stream, const char *consumer, double seq, double deliveries)
{
    natsMsg *orig = NULL, *dead = NULL;
    jsPubOptions po;
    char subject[200], msg_id[160], reason[300], seqbuf[32], id[64], summary[400], text[600];

    if (js_GetMsg(&orig, d->cfg.js, stream, (uint64_t)seq, NULL, NULL) != NATS_OK) {
        log_warn("dead letter %s/%.0f: the message is gone (%s)", stream, seq, nats_GetLastError(NULL));
        return;
    }
    names_subject(subject, sizeof(subject), NAMES_SUBJ_DEADLETTER, stream, consumer);
    snprintf(msg_id, sizeof(msg_id), "dead-%s-%.0f", stream, seq);
    snprintf(reason, sizeof(reason), "delivered %.0f times to %s/%s without an ack", deliveries, stream, consumer);
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    if (natsMsg_Create(&dead, subject, NULL, natsMsg_GetData(orig), natsMsg_GetDataLength(orig)) == NATS_OK) {
        snprintf(seqbuf, sizeof(seqbuf), "%.0f", seq);
        natsMsgHeader_Set(dead, "Orch-Dead-Reason", reason);
        natsMsgHeader_Set(dead, "Orch-Dead-Stream", stream);
        natsMsgHeader_Set(dead, "Orch-Dead-Seq", seqbuf);
        natsMsgHeader_Set(dead, "Orch-Dead-Subject", natsMsg_GetSubject(orig));
        if (js_PublishMsg(NULL, d->cfg.js, dead, &po, NULL) != NATS_OK)
            log_warn("dead letter %s/%.0f not stored: %s", stream, seq, nats_GetLastError(NULL));
        natsMsg_Destroy(dead);
    }
    natsMsg_Destroy(orig);
    /* announced at once: a dead letter is an event, not a condition */
    snprintf(id, sizeof(id), "D-%s-%.0f", stream, seq);
    snprintf(summary, sizeof(summary), "WARNING dead_letter: %s message %.0f %s", stream, seq, reason);
    snprintf(text, sizeof(text), "A message on %s was %s; copied to %s for a look.\n", stream, reason, subject);
    d->cfg.announce(d->cfg.arg, id, "dead_letter", summary, text);
    pthread_mutex_lock(&d->mu);
    d->count++;
    pthread_mutex_unlock(&d->mu);
}

static void on_advisory(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    dl *d = closure;
    cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    const char *stream = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "stream")) : NULL;
    const char *consumer = j ? cJSON_GetStringValue(cJSON_GetObjectItem(j, "consumer")) : NULL;
    double seq = j ? cJSON_GetNumberValue(cJSON_GetObjectItem(j, "stream_seq")) : 0;
    double deliveries = j ? cJSON_GetNumberValue(cJSON_GetObjectItem(j, "deliveries")) : 0;
    (void)nc;
    (void)sub;
    if (stream && consumer && seq > 0 && d->cfg.may_act(d->cfg.arg))
        copy(d, stream, consumer, seq, deliveries);
    cJSON_Delete(j);
    natsMsg_Destroy(m);
}

dl *dl_start(natsConnection *nc, const dl_cfg *c)
{
    dl *d = xcalloc(1, sizeof(*d));
    d->cfg = *c;
    pthread_mutex_init(&d->mu, NULL);
    if (natsConnection_Subscribe(&d->sub, nc, "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", on_advisory, d) !=
        NATS_OK) {
        pthread_mutex_destroy(&d->mu);
        free(d);
        return NULL;
    }
    return d;
}

void dl_stop(dl *d)
{
    if (!d)
        return;
    /* drained: no callback still runs on d once it is freed */
    if (natsSubscription_Drain(d->sub) == NATS_OK)
        natsSubscription_WaitForDrainCompletion(d->sub, 5000);
    natsSubscription_Destroy(d->sub);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

long long dl_count(dl *d)
{
    long long n;
    if (!d)
        return 0;
    pthread_mutex_lock(&d->mu);
    n = d->count;
    pthread_mutex_unlock(&d->mu);
    return n;
}
