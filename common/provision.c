#include "provision.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "topology.h"

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL

static orch_status nats_fail(char err[ERR_LEN], const char *kind, const char *name,
                             natsStatus s, jsErrCode jerr)
{
    snprintf(err, ERR_LEN, "provision %s %s: %s (jetstream code %d: %s)", kind, name,
             natsStatus_GetText(s), (int)jerr, nats_GetLastError(NULL));
    return ORCH_ERR_NATS;
}

static int same_subjects(const jsStreamConfig *have, const topo_stream *want)
{
    int n = 0;
    while (n < TOPO_MAX_SUBJECTS && want->subjects[n])
        n++;
    if (have->SubjectsLen != n)
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(have->Subjects[i], want->subjects[i]) != 0)
            return 0;
    return 1;
}

static void stream_config(jsStreamConfig *c, const topo_stream *t, int replicas)
{
    int n = 0;
    while (n < TOPO_MAX_SUBJECTS && t->subjects[n])
        n++;
    jsStreamConfig_Init(c);
    c->Name = t->name;
    c->Description = t->description;
    c->Subjects = (const char **)t->subjects;
    c->SubjectsLen = n;
    c->Retention = t->retention == TOPO_WORK_QUEUE ? js_WorkQueuePolicy : js_LimitsPolicy;
    c->Storage = js_FileStorage;
    c->MaxAge = t->max_age_s * NS_PER_S;
    c->Duplicates = t->dup_window_s * NS_PER_S;
    c->MaxMsgSize = t->max_msg_size;
    c->Replicas = replicas;
}

static orch_status ensure_stream(jsCtx *js, const topo_stream *t, int replicas,
                                 provision_report *rep, char err[ERR_LEN])
{
    jsStreamInfo *si = NULL;
    jsStreamConfig want;
    jsErrCode jerr = 0;
    natsStatus s;
    orch_status st = ORCH_OK;

    stream_config(&want, t, replicas);
    for (int round = 0; round < 3; round++) {
        s = js_GetStreamInfo(&si, js, t->name, NULL, &jerr);
        if (s == NATS_NOT_FOUND) {
            s = js_AddStream(&si, js, &want, NULL, &jerr);
            if (s == NATS_OK) {
                log_info("provision: created stream %s", t->name);
                rep->created++;
                goto out;
            }
            /* Another replica won the race: nats-server says "name in use"
             * or, as often, "subjects overlap with an existing stream".
             * Read it back and compare. */
            if (jerr == JSStreamNameExistErr || jerr == JSStreamSubjectOverlapErr)
                continue;
            st = nats_fail(err, "stream", t->name, s, jerr);
            goto out;
        }
        if (s != NATS_OK) {
            st = nats_fail(err, "stream", t->name, s, jerr);
            goto out;
        }
        break;
    }
    if (!si) {
        st = nats_fail(err, "stream", t->name, NATS_ERR, jerr);
        goto out;
    }
    {
        const jsStreamConfig *h = si->Config;
        if (h->Retention != want.Retention || h->Storage != want.Storage) {
            snprintf(err, ERR_LEN, "provision stream %s: exists with another retention or storage; "
                     "it cannot be changed in place (back it up and delete it)", t->name);
            st = ORCH_ERR_INVALID;
            goto out;
        }
        if (same_subjects(h, t) && h->MaxAge == want.MaxAge && h->Duplicates == want.Duplicates &&
            h->MaxMsgSize == want.MaxMsgSize && h->Replicas == want.Replicas) {
            rep->unchanged++;
            goto out;
        }
    }
    jsStreamInfo_Destroy(si);
    si = NULL;
    s = js_UpdateStream(&si, js, &want, NULL, &jerr);
    if (s != NATS_OK) {
        st = nats_fail(err, "stream update", t->name, s, jerr);
        goto out;
    }
    log_info("provision: updated stream %s", t->name);
    rep->updated++;
out:
    jsStreamInfo_Destroy(si);
    return st;
}

static void consumer_config(jsConsumerConfig *c, const topo_consumer *t)
{
    jsConsumerConfig_Init(c);
    c->Durable = t->durable;
    c->Description = t->description;
    c->DeliverPolicy = js_DeliverAll;
    c->AckPolicy = js_AckExplicit;
    c->AckWait = t->ack_wait_ms * NS_PER_MS;
    c->MaxDeliver = t->max_deliver;
    c->MaxAckPending = t->max_ack_pending;
    c->FilterSubject = t->filter;
}

static orch_status ensure_consumer(jsCtx *js, const topo_consumer *t, provision_report *rep,
                                   char err[ERR_LEN])
{
    jsConsumerInfo *ci = NULL;
    jsConsumerConfig want;
    jsErrCode jerr = 0;
    natsStatus s;
    orch_status st = ORCH_OK;
    char name[128];

    snprintf(name, sizeof(name), "%s/%s", t->stream, t->durable);
    consumer_config(&want, t);
    s = js_GetConsumerInfo(&ci, js, t->stream, t->durable, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        /* Adding a durable with an identical config is idempotent on the
         * server, so a concurrent creator is harmless here. */
        s = js_AddConsumer(&ci, js, t->stream, &want, NULL, &jerr);
        if (s != NATS_OK) {
            st = nats_fail(err, "consumer", name, s, jerr);
            goto out;
        }
        log_info("provision: created consumer %s", name);
        rep->created++;
        goto out;
    }
    if (s != NATS_OK) {
        st = nats_fail(err, "consumer", name, s, jerr);
        goto out;
    }
    {
        const jsConsumerConfig *h = ci->Config;
        if (h->AckWait == want.AckWait && h->MaxDeliver == want.MaxDeliver &&
            h->MaxAckPending == want.MaxAckPending && h->FilterSubject &&
            strcmp(h->FilterSubject, want.FilterSubject) == 0) {
            rep->unchanged++;
            goto out;
        }
    }
    jsConsumerInfo_Destroy(ci);
    ci = NULL;
    s = js_UpdateConsumer(&ci, js, t->stream, &want, NULL, &jerr);
    if (s != NATS_OK) {
        st = nats_fail(err, "consumer update", name, s, jerr);
        goto out;
    }
    log_info("provision: updated consumer %s", name);
    rep->updated++;
out:
    jsConsumerInfo_Destroy(ci);
    return st;
}

static orch_status ensure_bucket(jsCtx *js, const topo_bucket *t, int replicas,
                                 provision_report *rep, char err[ERR_LEN])
{
    char stream[96];
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s;
    orch_status st = ORCH_OK;
    int created_now = 0;

    snprintf(stream, sizeof(stream), "KV_%s", t->bucket);
    s = js_GetStreamInfo(&si, js, stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        kvConfig kc;
        kvStore *kv = NULL;
        kvConfig_Init(&kc);
        kc.Bucket = t->bucket;
        kc.Description = t->description;
        kc.History = (uint8_t)t->history;
        kc.TTL = t->ttl_s * NS_PER_S;
        kc.StorageType = js_FileStorage;
        kc.Replicas = replicas;
        s = js_CreateKeyValue(&kv, js, &kc);
        kvStore_Destroy(kv);
        if (s != NATS_OK) {
            /* A concurrent creator may have won the race: then the bucket is
             * there now, and this run left it as it was. */
            jsStreamInfo *again = NULL;
            if (js_GetStreamInfo(&again, js, stream, NULL, NULL) == NATS_OK) {
                jsStreamInfo_Destroy(again);
                rep->unchanged++;
                goto out;
            }
            st = nats_fail(err, "bucket", t->bucket, s, 0);
            goto out;
        }
        log_info("provision: created bucket %s", t->bucket);
        rep->created++;
        if (!topo_kv_create_once(t->bucket))
            goto out;
        /* a KV bucket is made without discard-new-per-key: set it now */
        if ((s = js_GetStreamInfo(&si, js, stream, NULL, &jerr)) != NATS_OK) {
            st = nats_fail(err, "bucket", t->bucket, s, jerr);
            goto out;
        }
        created_now = 1; /* counted once: created */
    }
    if (s != NATS_OK) {
        st = nats_fail(err, "bucket", t->bucket, s, jerr);
        goto out;
    }
    if (si->Config->MaxMsgsPerSubject == t->history && si->Config->MaxAge == t->ttl_s * NS_PER_S &&
        si->Config->Replicas == replicas && si->Config->DiscardNewPerSubject == (topo_kv_create_once(t->bucket) != 0) &&
        (!topo_kv_create_once(t->bucket) || !si->Config->AllowRollup)) {
        rep->unchanged++;
        goto out;
    }
    {
        /* Keep the bucket's own stream settings; change only ours. */
        jsStreamConfig c = *si->Config;
        jsStreamInfo *upd = NULL;
        c.MaxMsgsPerSubject = t->history;
        c.MaxAge = t->ttl_s * NS_PER_S;
        c.Replicas = replicas;
        c.DiscardNewPerSubject = topo_kv_create_once(t->bucket) != 0;
        if (topo_kv_create_once(t->bucket)) {
            c.Discard = js_DiscardNew;
            /* a KV purge is a rollup message, which current servers store
             * over discard-new-per-key (2.15.1 did; 2.9.10 did not) */
            c.AllowRollup = false;
        }
        s = js_UpdateStream(&upd, js, &c, NULL, &jerr);
        jsStreamInfo_Destroy(upd);
        if (s != NATS_OK) {
            st = nats_fail(err, "bucket update", t->bucket, s, jerr);
            goto out;
        }
    }
    if (!created_now) {
        log_info("provision: updated bucket %s", t->bucket);
        rep->updated++;
    }
out:
    jsStreamInfo_Destroy(si);
    return st;
}

orch_status provision_all(jsCtx *js, int replicas, provision_report *rep, char err[ERR_LEN])
{
    orch_status st = ORCH_OK;

    memset(rep, 0, sizeof(*rep));
    for (size_t i = 0; i < topo_stream_count && st == ORCH_OK; i++)
        st = ensure_stream(js, &topo_streams[i], replicas, rep, err);
    for (size_t i = 0; i < topo_consumer_count && st == ORCH_OK; i++)
        st = ensure_consumer(js, &topo_consumers[i], rep, err);
    for (size_t i = 0; i < topo_bucket_count && st == ORCH_OK; i++)
        st = ensure_bucket(js, &topo_buckets[i], replicas, rep, err);
    return st;
}

const char *provision_kind_name(provision_kind k)
{
    return k == PROVISION_STREAM ? "stream" : k == PROVISION_CONSUMER ? "consumer" : "bucket";
}

static int listed(char *const *list, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static void add_missing(provision_missing *m, provision_kind k, size_t index, int id, const char *name)
{
    provision_object *o = &m->obj[m->n++];
    o->kind = k;
    o->index = index;
    o->id = id;
    snprintf(o->name, sizeof(o->name), "%s", name);
}

/* 1 when the server says the stream (or, with durable, the consumer) does
 * not exist, 0 when it does, -1 when it did not answer. */
static int gone(jsCtx *js, jsOptions *o, const char *stream, const char *durable)
{
    natsStatus s;
    if (durable) {
        jsConsumerInfo *ci = NULL;
        s = js_GetConsumerInfo(&ci, js, stream, durable, o, NULL);
        jsConsumerInfo_Destroy(ci);
    } else {
        jsStreamInfo *si = NULL;
        s = js_GetStreamInfo(&si, js, stream, o, NULL);
        jsStreamInfo_Destroy(si);
    }
    return s == NATS_NOT_FOUND ? 1 : s == NATS_OK ? 0 : -1;
}

orch_status provision_find_missing(jsCtx *js, int64_t wait_ms, provision_missing *out, char err[ERR_LEN])
{
    jsOptions o;
    jsStreamNamesList *streams = NULL;
    jsErrCode jerr = 0;
    natsStatus s;
    orch_status st = ORCH_OK;
    char *const *names = NULL;
    int nnames = 0, g;
    const int first_consumer = (int)topo_stream_count, first_bucket = first_consumer + (int)topo_consumer_count;
    char what[128];

    out->n = 0;
    if (first_bucket + (int)topo_bucket_count > PROVISION_MAX_OBJECTS) {
        snprintf(err, ERR_LEN, "the topology has more than %d objects: raise PROVISION_MAX_OBJECTS",
                 PROVISION_MAX_OBJECTS);
        return ORCH_ERR_INVALID;
    }
    jsOptions_Init(&o);
    o.Wait = wait_ms;
    /* nats.c answers "not found" for an empty list. */
    s = js_StreamNames(&streams, js, &o, &jerr);
    if (s == NATS_OK) {
        names = streams->List;
        nnames = streams->Count;
    } else if (s != NATS_NOT_FOUND) {
        st = nats_fail(err, "stream", "names", s, jerr);
        goto out;
    }
    for (size_t i = 0; i < topo_stream_count; i++) {
        const char *name = topo_streams[i].name;
        if (listed(names, nnames, name))
            continue;
        if ((g = gone(js, &o, name, NULL)) < 0) {
            st = nats_fail(err, "stream", name, NATS_TIMEOUT, 0);
            goto out;
        }
        if (g)
            add_missing(out, PROVISION_STREAM, i, (int)i, name);
    }
    /* Consumers, stream by stream: one names request for each stream that
     * is there; a missing stream took its consumers with it. */
    for (size_t i = 0; i < topo_stream_count; i++) {
        const char *stream = topo_streams[i].name;
        jsConsumerNamesList *cl = NULL;
        int stream_gone = 0, asked = 0;
        for (int k = 0; k < out->n; k++)
            if (out->obj[k].kind == PROVISION_STREAM && out->obj[k].index == i)
                stream_gone = 1;
        for (size_t j = 0; j < topo_consumer_count; j++) {
            const topo_consumer *c = &topo_consumers[j];
            if (strcmp(c->stream, stream) != 0)
                continue;
            snprintf(what, sizeof(what), "%s/%s", c->stream, c->durable);
            if (!stream_gone) {
                if (!asked) {
                    s = js_ConsumerNames(&cl, js, stream, &o, &jerr);
                    asked = 1;
                    if (s != NATS_OK && s != NATS_NOT_FOUND) {
                        st = nats_fail(err, "consumer names of", stream, s, jerr);
                        break;
                    }
                }
                if (cl && listed(cl->List, cl->Count, c->durable))
                    continue;
                if ((g = gone(js, &o, c->stream, c->durable)) < 0) {
                    st = nats_fail(err, "consumer", what, NATS_TIMEOUT, 0);
                    break;
                }
                if (!g)
                    continue;
            }
            add_missing(out, PROVISION_CONSUMER, j, first_consumer + (int)j, what);
        }
        if (cl)
            jsConsumerNamesList_Destroy(cl);
        if (st != ORCH_OK)
            goto out;
    }
    for (size_t i = 0; i < topo_bucket_count; i++) {
        char stream[96];
        snprintf(stream, sizeof(stream), "KV_%s", topo_buckets[i].bucket);
        if (listed(names, nnames, stream))
            continue;
        if ((g = gone(js, &o, stream, NULL)) < 0) {
            st = nats_fail(err, "bucket", topo_buckets[i].bucket, NATS_TIMEOUT, 0);
            goto out;
        }
        if (g)
            add_missing(out, PROVISION_BUCKET, i, first_bucket + (int)i, topo_buckets[i].bucket);
    }
out:
    if (st != ORCH_OK)
        out->n = 0;
    if (streams)
        jsStreamNamesList_Destroy(streams);
    return st;
}

uint64_t provision_stamp(jsCtx *js, const provision_missing *m)
{
    uint64_t sum = 0;
    for (int i = 0; i < m->n; i++) {
        const provision_object *o = &m->obj[i];
        int64_t created = 0;
        if (o->kind == PROVISION_CONSUMER) {
            const topo_consumer *c = &topo_consumers[o->index];
            jsConsumerInfo *ci = NULL;
            if (js_GetConsumerInfo(&ci, js, c->stream, c->durable, NULL, NULL) == NATS_OK)
                created = ci->Created;
            jsConsumerInfo_Destroy(ci);
        } else {
            char stream[96];
            jsStreamInfo *si = NULL;
            if (o->kind == PROVISION_BUCKET)
                snprintf(stream, sizeof(stream), "KV_%s", topo_buckets[o->index].bucket);
            else
                snprintf(stream, sizeof(stream), "%s", topo_streams[o->index].name);
            if (js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK)
                created = si->Created;
            jsStreamInfo_Destroy(si);
        }
        if (created <= 0)
            return 0;
        sum += (uint64_t)created;
    }
    return sum;
}
