#include "nc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "backoff.h"
#include "edge.h"
#include "log.h"
#include "names.h"
#include "pb.h"
#include "text.h"
#include "topology.h"

typedef struct {
    long long base, max;
} backoff;

/* The options object outlives the call (nats.c copies it), but the closure
 * of the reconnect callback must live as long as the connection: the values
 * are the same for every connection of a process, so one static suffices. */
static backoff reconnect_policy = {250, 5000};

static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
    const backoff *b = closure;
    long long d = backoff_ms(b->base, b->max, attempts > 0 ? (uint64_t)attempts : 1,
                             backoff_draw((double)rand() / ((double)RAND_MAX + 1.0)));
    (void)nc;
    if (attempts == 1 || attempts % 10 == 0)
        log_info("nats: reconnect attempt %d in %lld ms", attempts, d);
    return d;
}

static void on_connected(natsConnection *nc, void *closure)
{
    char url[256] = "";
    (void)closure;
    natsConnection_GetConnectedUrl(nc, url, sizeof(url));
    log_info("nats: connected to %s", url);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
    log_warn("nats: disconnected");
}

static atomic_int reconnects;

int nc_reconnect_count(void) { return atomic_load(&reconnects); }

static void on_reconnected(natsConnection *nc, void *closure)
{
    char url[256] = "";
    (void)closure;
    atomic_fetch_add(&reconnects, 1);
    natsConnection_GetConnectedUrl(nc, url, sizeof(url));
    log_info("nats: reconnected to %s", url);
}

static void on_closed(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
    log_info("nats: connection closed");
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus s, void *closure)
{
    (void)nc;
    (void)closure;
    log_error("nats: async error on %s: %s", sub ? natsSubscription_GetSubject(sub) : "connection",
              natsStatus_GetText(s));
}

/* The inbox prefix of this process's identity ("" for nats.c's _INBOX):
 * a process connects as one user. */
static char inbox_prefix[300];

/* The warning about a connection without credentials: once per process,
 * though a daemon makes two connections. */
static atomic_int warned_open;

static orch_status fail(char err[ERR_LEN], const char *what, natsStatus s)
{
    snprintf(err, ERR_LEN, "nats: %s: %s (%s)", what, natsStatus_GetText(s), nats_GetLastError(NULL));
    return ORCH_ERR_NATS;
}

orch_status nc_connect(natsConnection **out, const svc_cfg *cfg, const char *name,
                       unsigned flags, char err[ERR_LEN])
{
    natsOptions *opts = NULL;
    natsStatus s;
    orch_status st = ORCH_ERR_NATS;
    char inbox[300] = "";

    *out = NULL;
    srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)out);
    reconnect_policy.base = cfg->reconnect_wait_ms;
    reconnect_policy.max = cfg->reconnect_max_wait_ms;

    if ((s = natsOptions_Create(&opts)) != NATS_OK) {
        st = fail(err, "options", s);
        goto out;
    }
    s = natsOptions_SetServers(opts, (const char **)cfg->nats_url.v, cfg->nats_url.n);
    if (s == NATS_OK) s = natsOptions_SetName(opts, name);
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, cfg->connect_timeout_ms);
    if (!(flags & NC_FAIL_FAST)) {
        if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
        if (s == NATS_OK) s = natsOptions_SetCustomReconnectDelay(opts, reconnect_delay, &reconnect_policy);
        if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(opts, true, on_connected, NULL);
    /* With a connected callback the first connect retries in the background;
     * without one, nats.c retries inside Connect, forever, and a SIGTERM
     * would never be seen. */
        if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(opts, 64 * 1024 * 1024);
        if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, on_disconnected, NULL);
        if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, on_reconnected, NULL);
        if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, on_closed, NULL);
        if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, on_error, NULL);
    }
    if (s == NATS_OK && (flags & NC_SEND_ASAP)) s = natsOptions_SetSendAsap(opts, true);
    if (s != NATS_OK) {
        st = fail(err, "options", s);
        goto out;
    }
    if (cfg->nats_user && (s = natsOptions_SetUserInfo(opts, cfg->nats_user, cfg->nats_password)) != NATS_OK) {
        st = fail(err, "nats.user", s);
        goto out;
    }
    /* Replies and JetStream deliveries come to _INBOX_<user>.*, the only
     * inboxes deploy/nats.conf lets this identity subscribe to. */
    if (auth_inbox_prefix(cfg->nats_user, inbox, sizeof(inbox)) &&
        (s = natsOptions_SetCustomInboxPrefix(opts, inbox)) != NATS_OK) {
        st = fail(err, "inbox prefix", s);
        goto out;
    }
    memcpy(inbox_prefix, inbox, sizeof(inbox_prefix));
    if (cfg->nats_token && (s = natsOptions_SetToken(opts, cfg->nats_token)) != NATS_OK) {
        st = fail(err, "nats.token", s);
        goto out;
    }
    if (cfg->nats_creds &&
        (s = natsOptions_SetUserCredentialsFromFiles(opts, cfg->nats_creds, NULL)) != NATS_OK) {
        st = fail(err, "nats.creds", s);
        goto out;
    }
    if (cfg->nats_nkey_seed) {
        if (!cfg->nats_nkey) {
            snprintf(err, ERR_LEN, "nats.nkey_seed is set but nats.nkey (the public key) is not");
            st = ORCH_ERR_INVALID;
            goto out;
        }
        if ((s = natsOptions_SetNKeyFromSeed(opts, cfg->nats_nkey, cfg->nats_nkey_seed)) != NATS_OK) {
            st = fail(err, "nats.nkey_seed", s);
            goto out;
        }
    }
    if (cfg->tls_ca || cfg->tls_cert) {
        s = natsOptions_SetSecure(opts, true);
        if (s == NATS_OK && cfg->tls_ca)
            s = natsOptions_LoadCATrustedCertificates(opts, cfg->tls_ca);
        if (s != NATS_OK) {
            st = fail(err, "nats.tls.ca", s);
            goto out;
        }
        if (cfg->tls_cert &&
            (s = natsOptions_LoadCertificatesChain(opts, cfg->tls_cert, cfg->tls_key)) != NATS_OK) {
            st = fail(err, "nats.tls.cert/key", s);
            goto out;
        }
    }

    if (!auth_has_credentials(cfg) && !(flags & NC_FAIL_FAST) && !atomic_exchange(&warned_open, 1))
        for (int i = 0; i < cfg->nats_url.n; i++)
            if (!auth_url_is_loopback(cfg->nats_url.v[i])) {
                log_warn("nats: connecting to %s without credentials: anyone who reaches that server can "
                         "publish as any service (set nats.user/nats.password or nats.creds; README, "
                         "\"Authentication\")",
                         cfg->nats_url.v[i]);
                break;
            }
    s = natsConnection_Connect(out, opts);
    if (s == NATS_NOT_YET_CONNECTED) {
        log_warn("nats: no server answers yet at %s; retrying in the background", cfg->nats_url.v[0]);
        s = NATS_OK;
    }
    if (s != NATS_OK) {
        snprintf(err, ERR_LEN, "cannot reach NATS at %s: %s", cfg->nats_url.v[0], natsStatus_GetText(s));
        goto out;
    }
    st = ORCH_OK;
out:
    natsOptions_Destroy(opts);
    return st;
}

orch_status nc_inbox(char *out, size_t len)
{
    natsInbox *box = NULL;
    int n;
    if (natsInbox_Create(&box) != NATS_OK)
        return ORCH_ERR_NATS;
    /* nats.c's "_INBOX.<unique>", with this identity's prefix */
    n = *inbox_prefix ? snprintf(out, len, "%s%s", inbox_prefix, strchr(box, '.'))
                      : snprintf(out, len, "%s", box);
    natsInbox_Destroy(box);
    return n > 0 && (size_t)n < len ? ORCH_OK : ORCH_ERR_INVALID;
}

void nc_close(natsConnection *nc, long long timeout_ms)
{
    natsStatus s;
    if (!nc)
        return;
    if (natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED) {
        /* Nothing can be drained without a server. */
        natsConnection_Close(nc);
        natsConnection_Destroy(nc);
        return;
    }
    s = natsConnection_DrainTimeout(nc, timeout_ms);
    if (s == NATS_OK) {
        int64_t deadline = nats_Now() + timeout_ms;
        while (!natsConnection_IsClosed(nc) && nats_Now() < deadline)
            nats_Sleep(10);
    }
    if (!natsConnection_IsClosed(nc))
        natsConnection_Close(nc);
    natsConnection_Destroy(nc);
}

void nc_lib_close(const char *who)
{
    /* NATS_NOT_INITIALIZED: nothing was opened (a usage or config error
     * stopped the program first): nothing to say */
    if (nats_CloseAndWait(2000) == NATS_TIMEOUT)
        fprintf(stderr, "%s: the NATS library's threads did not stop within 2 s\n", who);
}

int nc_publish_stored(jsCtx *js, const char *subject, const char *msg_id, const void *data, int len,
                      const char *content_type, int64_t max_wait_ms)
{
    natsMsg *m = NULL;
    jsPubOptions po;
    natsStatus s;

    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    po.MaxWait = max_wait_ms;
    s = natsMsg_Create(&m, subject, NULL, data, len);
    if (s == NATS_OK && content_type)
        s = natsMsgHeader_Set(m, "Content-Type", content_type);
    if (s == NATS_OK)
        s = js_PublishMsg(NULL, js, m, &po, NULL);
    natsMsg_Destroy(m);
    if (s != NATS_OK)
        log_warn("publish %s: %s", subject, natsStatus_GetText(s));
    return s == NATS_OK ? 0 : -1;
}

orch_status nc_alert_pack(const nc_alert *a, uint8_t **buf, size_t *len)
{
    pb_alert pa;
    Orchestrator__V1__Alert__LabelsEntry e[3];
    Orchestrator__V1__Alert__LabelsEntry *labels[3];
    const char *keys[3] = {"source", "instance", "members"}, *values[3] = {a->source, a->instance, a->members};
    int64_t now = text_now_ms();
    size_t n = 0;

    *buf = NULL;
    *len = 0;
    if (a->severity < ORCHESTRATOR__V1__SEVERITY__SEVERITY_INFO ||
        a->severity > ORCHESTRATOR__V1__SEVERITY__SEVERITY_CRITICAL)
        return ORCH_ERR_INVALID;
    orchestrator__v1__alert__init(&pa);
    for (int i = 0; i < 3; i++) {
        if (!values[i])
            continue;
        orchestrator__v1__alert__labels_entry__init(&e[n]);
        e[n].key = (char *)keys[i];
        e[n].value = (char *)values[i];
        labels[n] = &e[n];
        n++;
    }
    pa.labels = n ? labels : NULL;
    pa.n_labels = n;
    pa.fingerprint = (char *)a->fingerprint;
    pa.rule = (char *)a->rule;
    pa.state = a->resolved ? ORCHESTRATOR__V1__ALERT_STATE__ALERT_STATE_RESOLVED
                           : ORCHESTRATOR__V1__ALERT_STATE__ALERT_STATE_FIRING;
    pa.severity = a->severity;
    pa.summary = (char *)a->summary;
    pa.text = (char *)a->text;
    pa.group_key = (char *)(a->group ? a->group : a->rule);
    pa.started_at_ms = a->resolved ? 0 : now;
    pa.updated_at_ms = now;
    return pb_pack(&pa.base, buf, len);
}

const char *nc_alert_subject(const nc_alert *a, char *out, size_t len)
{
    return names_subject(out, len, NAMES_SUBJ_ALERTS, names_severity(a->severity), a->rule);
}

int nc_publish_alert(jsCtx *js, const char *severity, const char *rule, const char *fingerprint,
                     const char *summary, const char *text, const char *source, const char *instance,
                     int64_t max_wait_ms)
{
    nc_alert a = {ORCHESTRATOR__V1__SEVERITY__SEVERITY_UNSPECIFIED, rule, NULL, fingerprint, summary, text, source,
                  instance, NULL, 0};
    char subject[128];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = -1;

    if (names_severity_parse(severity, &a.severity) != 0) {
        log_error("alert %s not raised: no severity '%s' (critical, warning or info): %s", rule,
                  severity ? severity : "(none)", summary);
        return -1;
    }
    nc_alert_subject(&a, subject, sizeof(subject));
    if (nc_alert_pack(&a, &buf, &len) == ORCH_OK)
        rc = nc_publish_stored(js, subject, fingerprint, buf, (int)len, "application/protobuf", max_wait_ms);
    free(buf);
    log_warn("alert %s/%s%s: %s", names_severity(a.severity), rule, rc == 0 ? "" : " (not stored)", summary);
    return rc;
}

char *nc_refusal_pack(names_source src, pb_error *e, const char *token, char *subject, size_t len)
{
    e->source = (char *)names_source_token(src);
    if (!e->at_ms)
        e->at_ms = text_now_ms();
    names_subject(subject, len, NAMES_SUBJ_ERRORS, e->source, token);
    return edge_error_to_json(e);
}

int nc_publish_refusal(jsCtx *js, natsConnection *nc, names_source src, pb_error *e, const char *token,
                       const char *msg_id, int64_t max_wait_ms)
{
    char subject[256];
    char *json = nc_refusal_pack(src, e, token, subject, sizeof(subject));
    int rc;

    if (js)
        rc = nc_publish_stored(js, subject, msg_id, json, (int)strlen(json), "application/json", max_wait_ms);
    else
        rc = natsConnection_PublishString(nc, subject, json) == NATS_OK ? 0 : -1;
    free(json);
    return rc;
}

orch_status nc_pull_subscribe(jsCtx *js, const char *stream, const char *durable, natsSubscription **sub,
                              char err[ERR_LEN])
{
    const topo_consumer *c = topo_consumer_find(stream, durable);
    jsSubOptions so;
    jsErrCode jerr = 0;

    *sub = NULL;
    if (!c) {
        snprintf(err, ERR_LEN, "no consumer %s/%s in the topology", stream ? stream : "*", durable);
        return ORCH_ERR_INVALID;
    }
    jsSubOptions_Init(&so);
    so.Stream = c->stream;
    so.Consumer = c->durable;
    if (js_PullSubscribe(sub, js, c->filter, c->durable, NULL, &so, &jerr) != NATS_OK) {
        snprintf(err, ERR_LEN, "pull subscribe %s/%s: %s (%d)", c->stream, c->durable, nats_GetLastError(NULL),
                 (int)jerr);
        return ORCH_ERR_NATS;
    }
    return ORCH_OK;
}

void nc_settle(natsMsg *m, nc_settle_kind k, int64_t delay_ms)
{
    switch (k) {
    case NC_ACK:
        natsMsg_Ack(m, NULL);
        break;
    case NC_TERM:
        natsMsg_Term(m, NULL);
        break;
    case NC_RETRY:
        natsMsg_NakWithDelay(m, delay_ms, NULL);
        break;
    case NC_IN_PROGRESS:
        natsMsg_InProgress(m, NULL);
        break;
    }
}

int nc_consume_batch(natsSubscription *sub, int batch, int64_t wait_ms, nc_batch_handler handler, void *arg)
{
    natsMsgList list = {0};
    nc_settlement one, *how;
    natsStatus s = natsSubscription_Fetch(&list, sub, batch, wait_ms, NULL);
    int n;

    if (s == NATS_TIMEOUT || (s == NATS_OK && list.Count == 0)) {
        natsMsgList_Destroy(&list);
        return 0;
    }
    if (s != NATS_OK) {
        natsMsgList_Destroy(&list);
        nats_Sleep(200);
        return -1;
    }
    n = list.Count;
    how = n == 1 ? &one : xcalloc((size_t)n, sizeof(*how));
    for (int i = 0; i < n; i++)
        how[i] = nc_retry(1000);   /* what a handler leaves undecided comes back */
    handler(list.Msgs, n, how, arg);
    for (int i = 0; i < n; i++)
        nc_settle(list.Msgs[i], how[i].kind, how[i].delay_ms);
    if (how != &one)
        free(how);
    natsMsgList_Destroy(&list);
    return n;
}

int nc_return_strays(natsSubscription *sub)
{
    int back = 0, queued = 0;
    /* a few rounds at most: a no-wait request can itself bring one */
    for (int round = 0; round < 4; round++) {
        natsMsgList list = {0};
        jsFetchRequest req;
        if (natsSubscription_GetPending(sub, &queued, NULL) != NATS_OK || queued <= 0)
            break;
        jsFetchRequest_Init(&req);
        req.Batch = queued;
        req.NoWait = true;
        req.Expires = 200 * 1000000LL; /* ns */
        if (natsSubscription_FetchRequest(&list, sub, &req) == NATS_OK) {
            for (int i = 0; i < list.Count; i++)
                natsMsg_Nak(list.Msgs[i], NULL);
            back += list.Count;
        }
        natsMsgList_Destroy(&list);
    }
    return back;
}

typedef struct {
    nc_handler handler;
    void *arg;
} each_msg;

static void each(natsMsg **msgs, int n, nc_settlement *how, void *arg)
{
    const each_msg *e = arg;
    for (int i = 0; i < n; i++)
        how[i] = e->handler(msgs[i], e->arg);
}

int nc_consume(natsSubscription *sub, int batch, int64_t wait_ms, nc_handler handler, void *arg)
{
    each_msg e = {handler, arg};
    return nc_consume_batch(sub, batch, wait_ms, each, &e);
}
