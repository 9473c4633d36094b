#include "srv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"

#define MAX_ENDPOINTS 16
#define N_VERBS 3
#define N_DISCOVERY (N_VERBS * 3)

struct srv_endpoint {
    srv *owner;
    char *name;
    char *subject;
    char *queue_group;
    srv_handler handler;
    srv_stats_fn stats_fn;
    void *closure;
    natsSubscription *sub;
    /* STATS, under owner->mu */
    int64_t num_requests;
    int64_t num_errors;
    int64_t processing_ns;
    char last_error[256];
};

struct srv {
    natsConnection *nc;
    char *name, *version, *description, *id;
    char started[40];
    pthread_mutex_t mu;
    srv_endpoint eps[MAX_ENDPOINTS];
    int n_eps;
    natsSubscription *disc[N_DISCOVERY];
    int running;
};

static const char *const verbs[N_VERBS] = {"PING", "INFO", "STATS"};

void srv_subject(char *buf, size_t len, const char *verb, const char *name, const char *id)
{
    if (name && id)
        snprintf(buf, len, "$SRV.%s.%s.%s", verb, name, id);
    else if (name)
        snprintf(buf, len, "$SRV.%s.%s", verb, name);
    else
        snprintf(buf, len, "$SRV.%s", verb);
}

static int valid_name(const char *s)
{
    return text_id_valid(s, 64, NULL, 0);
}

orch_status srv_create(srv **out, natsConnection *nc, const char *name, const char *version,
                       const char *description, const char *id, char err[ERR_LEN])
{
    srv *s;
    struct timespec ts;
    struct tm tm;
    char stamp[32];

    *out = NULL;
    if (!valid_name(name) || !valid_name(id)) {
        snprintf(err, ERR_LEN, "service name '%s' and id '%s' must be [A-Za-z0-9_-]", name, id);
        return ORCH_ERR_INVALID;
    }
    s = xcalloc(1, sizeof(*s));
    s->nc = nc;
    s->name = xstrdup(name);
    s->version = xstrdup(version);
    s->description = xstrdup(description ? description : "");
    s->id = xstrdup(id);
    pthread_mutex_init(&s->mu, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(s->started, sizeof(s->started), "%s.%09ldZ", stamp, ts.tv_nsec);
    *out = s;
    return ORCH_OK;
}

orch_status srv_add_endpoint(srv *s, const char *name, const char *subject,
                             const char *queue_group, srv_handler handler,
                             srv_stats_fn stats_fn, void *closure, char err[ERR_LEN])
{
    srv_endpoint *e;

    if (s->running || s->n_eps == MAX_ENDPOINTS) {
        snprintf(err, ERR_LEN, "endpoint %s: service running or full", name);
        return ORCH_ERR_INVALID;
    }
    e = &s->eps[s->n_eps++];
    e->owner = s;
    e->name = xstrdup(name);
    e->subject = xstrdup(subject ? subject : name);
    e->queue_group = xstrdup(queue_group ? queue_group : "q");
    e->handler = handler;
    e->stats_fn = stats_fn;
    e->closure = closure;
    return ORCH_OK;
}

static cJSON *base_response(srv *s, const char *type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddStringToObject(o, "version", s->version);
    cJSON_AddItemToObject(o, "metadata", cJSON_CreateObject());
    return o;
}

static cJSON *build_response(srv *s, const char *verb)
{
    cJSON *o;
    cJSON *eps;

    if (strcmp(verb, "PING") == 0)
        return base_response(s, "io.nats.micro.v1.ping_response");
    if (strcmp(verb, "INFO") == 0) {
        o = base_response(s, "io.nats.micro.v1.info_response");
        cJSON_AddStringToObject(o, "description", s->description);
        eps = cJSON_AddArrayToObject(o, "endpoints");
        for (int i = 0; i < s->n_eps; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", s->eps[i].name);
            cJSON_AddStringToObject(e, "subject", s->eps[i].subject);
            cJSON_AddStringToObject(e, "queue_group", s->eps[i].queue_group);
            cJSON_AddItemToObject(e, "metadata", cJSON_CreateObject());
            cJSON_AddItemToArray(eps, e);
        }
        return o;
    }
    o = base_response(s, "io.nats.micro.v1.stats_response");
    cJSON_AddStringToObject(o, "started", s->started);
    eps = cJSON_AddArrayToObject(o, "endpoints");
    for (int i = 0; i < s->n_eps; i++) {
        srv_endpoint *ep = &s->eps[i];
        cJSON *e = cJSON_CreateObject();
        cJSON *data;
        cJSON_AddStringToObject(e, "name", ep->name);
        cJSON_AddStringToObject(e, "subject", ep->subject);
        cJSON_AddStringToObject(e, "queue_group", ep->queue_group);
        pthread_mutex_lock(&s->mu);
        cJSON_AddNumberToObject(e, "num_requests", (double)ep->num_requests);
        cJSON_AddNumberToObject(e, "num_errors", (double)ep->num_errors);
        cJSON_AddStringToObject(e, "last_error", ep->last_error);
        cJSON_AddNumberToObject(e, "processing_time", (double)ep->processing_ns);
        cJSON_AddNumberToObject(e, "average_processing_time",
                                ep->num_requests ? (double)(ep->processing_ns / ep->num_requests) : 0.0);
        pthread_mutex_unlock(&s->mu);
        data = cJSON_AddObjectToObject(e, "data");
        if (ep->stats_fn)
            ep->stats_fn(data, ep->closure);
        cJSON_AddItemToArray(eps, e);
    }
    return o;
}

static void on_discovery(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    srv *s = closure;
    const char *subj = natsMsg_GetSubject(msg);
    const char *reply = natsMsg_GetReply(msg);
    (void)sub;

    if (reply && strlen(subj) > 5) {
        char verb[8] = "";
        const char *dot;
        cJSON *o;
        char *txt;
        /* "$SRV.<VERB>[.name[.id]]" */
        dot = strchr(subj + 5, '.');
        snprintf(verb, sizeof(verb), "%.*s", (int)(dot ? (size_t)(dot - subj - 5) : strlen(subj + 5)),
                 subj + 5);
        o = build_response(s, verb);
        txt = cJSON_PrintUnformatted(o);
        if (txt)
            natsConnection_PublishString(nc, reply, txt);
        free(txt);
        cJSON_Delete(o);
    }
    natsMsg_Destroy(msg);
}

static void on_endpoint(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    srv_endpoint *ep = closure;
    srv_req req = {nc, msg, ep, 0, 0};
    int64_t t0 = nats_NowInNanoSeconds();
    int64_t dt;
    (void)sub;

    ep->handler(&req, ep->closure);
    dt = nats_NowInNanoSeconds() - t0;
    pthread_mutex_lock(&ep->owner->mu);
    ep->num_requests++;
    ep->processing_ns += dt;
    pthread_mutex_unlock(&ep->owner->mu);
    natsMsg_Destroy(msg);
}

orch_status srv_start(srv *s, char err[ERR_LEN])
{
    natsStatus st;
    int k = 0;

    for (int v = 0; v < N_VERBS; v++) {
        for (int level = 0; level < 3; level++) {
            char subj[256];
            srv_subject(subj, sizeof(subj), verbs[v], level > 0 ? s->name : NULL,
                        level > 1 ? s->id : NULL);
            st = natsConnection_Subscribe(&s->disc[k++], s->nc, subj, on_discovery, s);
            if (st != NATS_OK) {
                snprintf(err, ERR_LEN, "subscribe %s: %s", subj, natsStatus_GetText(st));
                goto fail;
            }
        }
    }
    for (int i = 0; i < s->n_eps; i++) {
        srv_endpoint *e = &s->eps[i];
        st = *e->queue_group ? natsConnection_QueueSubscribe(&e->sub, s->nc, e->subject, e->queue_group, on_endpoint, e)
                             : natsConnection_Subscribe(&e->sub, s->nc, e->subject, on_endpoint, e);
        if (st != NATS_OK) {
            snprintf(err, ERR_LEN, "subscribe %s: %s", e->subject, natsStatus_GetText(st));
            goto fail;
        }
    }
    natsConnection_Flush(s->nc);
    s->running = 1;
    return ORCH_OK;
fail:
    s->running = 1;
    srv_stop(s);
    return ORCH_ERR_NATS;
}

static void unsub(natsConnection *nc, natsSubscription **sub)
{
    if (!*sub)
        return;
    if (natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED) {
        /* A drain needs the server; without one, just stop delivery. */
        natsSubscription_Unsubscribe(*sub);
        natsSubscription_Destroy(*sub);
        *sub = NULL;
        return;
    }
    /* Drain: no new requests, and wait until the handler in progress (on the
     * delivery thread) has returned, so nothing it uses is freed under it. */
    if (natsSubscription_Drain(*sub) == NATS_OK)
        natsSubscription_WaitForDrainCompletion(*sub, 2000);
    natsSubscription_Destroy(*sub);
    *sub = NULL;
}

void srv_stop(srv *s)
{
    if (!s || !s->running)
        return;
    for (int i = 0; i < N_DISCOVERY; i++)
        unsub(s->nc, &s->disc[i]);
    for (int i = 0; i < s->n_eps; i++)
        unsub(s->nc, &s->eps[i].sub);
    s->running = 0;
}

void srv_destroy(srv *s)
{
    if (!s)
        return;
    srv_stop(s);
    for (int i = 0; i < s->n_eps; i++) {
        free(s->eps[i].name);
        free(s->eps[i].subject);
        free(s->eps[i].queue_group);
    }
    pthread_mutex_destroy(&s->mu);
    free(s->name);
    free(s->version);
    free(s->description);
    free(s->id);
    free(s);
}

orch_status srv_respond(srv_req *r, const char *data, int len)
{
    const char *reply = natsMsg_GetReply(r->msg);
    r->responded = 1;
    if (!reply)
        return ORCH_OK;
    return natsConnection_Publish(r->nc, reply, data, len) == NATS_OK ? ORCH_OK : ORCH_ERR_NATS;
}

orch_status srv_respond_json(srv_req *r, cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    orch_status st = text ? srv_respond(r, text, (int)strlen(text)) : ORCH_ERR_NOMEM;
    free(text);
    cJSON_Delete(o);
    return st;
}

orch_status srv_respond_error(srv_req *r, int code, const char *description)
{
    const char *reply = natsMsg_GetReply(r->msg);
    natsMsg *m = NULL;
    char codebuf[16];
    orch_status st = ORCH_ERR_NATS;
    srv_endpoint *ep = r->ep;

    r->responded = 1;
    r->failed = 1;
    pthread_mutex_lock(&ep->owner->mu);
    ep->num_errors++;
    snprintf(ep->last_error, sizeof(ep->last_error), "%d:%s", code, description);
    pthread_mutex_unlock(&ep->owner->mu);
    if (!reply)
        return ORCH_OK;
    snprintf(codebuf, sizeof(codebuf), "%d", code);
    if (natsMsg_Create(&m, reply, NULL, description, (int)strlen(description)) != NATS_OK)
        goto out;
    if (natsMsgHeader_Set(m, "Nats-Service-Error", description) != NATS_OK ||
        natsMsgHeader_Set(m, "Nats-Service-Error-Code", codebuf) != NATS_OK)
        goto out;
    if (natsConnection_PublishMsg(r->nc, m) == NATS_OK)
        st = ORCH_OK;
out:
    natsMsg_Destroy(m);
    return st;
}
