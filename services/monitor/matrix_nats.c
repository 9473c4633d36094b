#include "matrix_nats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "log.h"
#include "nc.h"
#include "pb.h"
#include "text.h"

#define MX_LOG_EVERY_MS 10000

struct mxd {
    mxd_cfg cfg;
    pthread_t th;
    atomic_int running;
    pthread_mutex_t mu;
    long long delivered;
    mx_throttle log;             /* the retry lines */
};

static const char *label(const pb_alert *a, const char *k)
{
    for (size_t i = 0; i < a->n_labels; i++)
        if (!strcmp(a->labels[i]->key, k))
            return a->labels[i]->value;
    return "";
}

/* Delivers a to the room: acked when sent, again after a delay when the
 * leader should send it or the homeserver asks to wait, terminated when the
 * homeserver refuses it. */
static nc_settlement deliver(mxd *d, natsMsg *m, const pb_alert *a)
{
    const matrix_cfg *mc = &d->cfg.matrix;
    mx_result r;
    char txn[64], thread[256] = "", *plain, *html, *esc, *sum;
    const char *members = label(a, "members");
    int resolved = a->state == ORCHESTRATOR__V1__ALERT_STATE__ALERT_STATE_RESOLVED;
    jsMsgMetaData *meta = NULL;
    const char *msg_id = NULL;
    uint64_t delivered = 1;

    if (!d->cfg.may_act(d->cfg.arg))
        return nc_retry(1000); /* back to the consumer: the leader sends it */
    if (resolved && *members) {
        char key[64], first[AM_FP_LEN];
        kvEntry *e = NULL;
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(members, "\n"), members);
        matrix_event_key(first, key, sizeof(key));
        if (kvStore_Get(&e, d->cfg.alerts, key) == NATS_OK) {
            snprintf(thread, sizeof(thread), "%s", kvEntry_ValueString(e));
            kvEntry_Destroy(e);
        }
    }
    natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id);
    matrix_txn(msg_id, a->fingerprint, txn, sizeof(txn));
    plain = xmalloc(strlen(a->summary) + strlen(a->text) + 4);
    sprintf(plain, "%s\n%s", a->summary, a->text);
    esc = matrix_html_escape(a->text);
    sum = matrix_html_escape(a->summary);
    html = xmalloc(strlen(esc) + strlen(sum) + 16);
    sprintf(html, "<b>%s</b><br>%s", sum, esc);
    free(sum);
    matrix_send(mc, txn, plain, html, thread, &r);
    free(plain);
    free(html);
    free(esc);
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        delivered = meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
    }
    switch (r.outcome) {
    case MX_SENT:
        if (!resolved && *members) {
            char copy[AM_MAX_MEMBERS * AM_FP_LEN], *save, *fp;
            snprintf(copy, sizeof(copy), "%s", members);
            for (fp = strtok_r(copy, "\n", &save); fp; fp = strtok_r(NULL, "\n", &save)) {
                char key[64];
                matrix_event_key(fp, key, sizeof(key));
                kvStore_PutString(NULL, d->cfg.alerts, key, r.event_id);
            }
        }
        pthread_mutex_lock(&d->mu);
        d->delivered++;
        pthread_mutex_unlock(&d->mu);
        log_info("alert delivered to Matrix as %s%s", r.event_id, *thread ? " (in thread)" : "");
        return nc_ack();
    case MX_RETRY_AFTER:
    case MX_BACKOFF: {
        /* never sooner than the floor, even when a 429 asks for 0 ms */
        double jitter = (double)rand() / ((double)RAND_MAX + 1.0);
        long long delay = matrix_retry_delay(&r, delivered, d->cfg.backoff_ms, d->cfg.backoff_max_ms, jitter);
        long suppressed = 0;
        if (matrix_throttle(&d->log, text_mono_ms(), MX_LOG_EVERY_MS, &suppressed))
            log_warn("Matrix: %s; again in %lld ms (attempt %llu; %ld such lines suppressed)", r.detail, delay,
                     (unsigned long long)delivered, suppressed);
        return nc_retry(delay);
    }
    default:
        log_error("Matrix refused an alert, not retrying: %s", r.detail);
        return nc_term();
    }
}

/* One alert from the ALERTS consumer. */
static nc_settlement on_alert(natsMsg *m, void *arg)
{
    char err[ERR_LEN];
    nc_settlement how;
    pb_alert *a = (pb_alert *)pb_unpack(&orchestrator__v1__alert__descriptor, (const uint8_t *)natsMsg_GetData(m),
                                        (size_t)natsMsg_GetDataLength(m), PB_MAX_MSG, err);
    if (!a) {
        log_error("alert on %s unreadable: %s", natsMsg_GetSubject(m), err);
        return nc_term();
    }
    how = deliver(arg, m, a);
    orchestrator__v1__alert__free_unpacked(a, NULL);
    return how;
}

static void *run(void *arg)
{
    mxd *d = arg;
    while (atomic_load(&d->running))
        nc_consume(d->cfg.sub, 1, 500, on_alert, d);
    return NULL;
}

mxd *mxd_start(const mxd_cfg *c)
{
    mxd *d = xcalloc(1, sizeof(*d));
    d->cfg = *c;
    atomic_init(&d->running, 1);
    pthread_mutex_init(&d->mu, NULL);
    if (pthread_create(&d->th, NULL, run, d) != 0) {
        pthread_mutex_destroy(&d->mu);
        free(d);
        return NULL;
    }
    return d;
}

void mxd_stop(mxd *d)
{
    if (!d)
        return;
    atomic_store(&d->running, 0);
    pthread_join(d->th, NULL);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

long long mxd_delivered(mxd *d)
{
    long long n;
    if (!d)
        return 0;
    pthread_mutex_lock(&d->mu);
    n = d->delivered;
    pthread_mutex_unlock(&d->mu);
    return n;
}
