#include "nc.h"
#include "names.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
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

long long nc_backoff_ms(long long base, long long max, int attempt, double rnd)
{
    long long d = base;
    for (int i = 1; i < attempt && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    return d / 2 + (long long)((double)(d - d / 2) * rnd);
}

static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
    const backoff *b = closure;
    long long d = nc_backoff_ms(b->base, b->max, attempts, (double)rand() / ((double)RAND_MAX + 1.0));
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
    if (nats_CloseAndWait(2000) != NATS_OK)
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

orch_status nc_alert_pack(const char *severity, const char *rule, const char *fingerprint, const char *summary,
                          const char *text, const char *source, const char *instance, uint8_t **buf, size_t *len)
{
    pb_alert a;
    Orchestrator__V1__Alert__LabelsEntry e[2];
    Orchestrator__V1__Alert__LabelsEntry *labels[2];
    int64_t now = text_now_ms();
    size_t n = 0;

    orchestrator__v1__alert__init(&a);
    if (source) {
        orchestrator__v1__alert__labels_entry__init(&e[n]);
        e[n].key = "source";
        e[n].value = (char *)source;
        labels[n] = &e[n];
        n++;
    }
    if (instance) {
        orchestrator__v1__alert__labels_entry__init(&e[n]);
        e[n].key = "instance";
        e[n].value = (char *)instance;
        labels[n] = &e[n];
        n++;
    }
    a.labels = n ? labels : NULL;
    a.n_labels = n;
    a.fingerprint = (char *)fingerprint;
    a.rule = (char *)rule;
    a.state = ORCHESTRATOR__V1__ALERT_STATE__ALERT_STATE_FIRING;
    a.severity = !strcmp(severity, "critical") ? ORCHESTRATOR__V1__SEVERITY__SEVERITY_CRITICAL
                                               : ORCHESTRATOR__V1__SEVERITY__SEVERITY_WARNING;
    a.summary = (char *)summary;
    a.text = (char *)text;
    a.group_key = (char *)rule;
    a.started_at_ms = now;
    a.updated_at_ms = now;
    return pb_pack(&a.base, buf, len);
}

int nc_publish_alert(jsCtx *js, const char *severity, const char *rule, const char *fingerprint,
                     const char *summary, const char *text, const char *source, const char *instance,
                     int64_t max_wait_ms)
{
    char subject[128];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = -1;

    names_subject(subject, sizeof(subject), NAMES_SUBJ_ALERTS, severity, rule);
    if (nc_alert_pack(severity, rule, fingerprint, summary, text, source, instance, &buf, &len) == ORCH_OK)
        rc = nc_publish_stored(js, subject, fingerprint, buf, (int)len, "application/protobuf", max_wait_ms);
    free(buf);
    log_warn("alert %s/%s%s: %s", severity, rule, rc == 0 ? "" : " (not stored)", summary);
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
    }
}
