/* Dead letters: the server's MAX_DELIVERIES advisory names a message that
 * hit its consumer's delivery limit; it is copied, with Orch-Dead-Reason,
 * Orch-Dead-Stream, Orch-Dead-Seq and Orch-Dead-Subject headers, to
 * deadletter.<stream>.<consumer> (stream DEADLETTER, message id
 * dead-<stream>-<seq>, so a repeated advisory is one copy) and announced. */
#ifndef MONITOR_DEADLETTER_NATS_H
#define MONITOR_DEADLETTER_NATS_H

#include <nats/nats.h>

typedef struct {
    jsCtx *js;                   /* borrowed */
    /* Whether this instance may act (the lease is fresh). */
    int (*may_act)(void *arg);
    /* Announces an event (id, kind, summary, text) as an alert. */
    void (*announce)(void *arg, const char *id, const char *kind, const char *summary, const char *text);
    void *arg;
} dl_cfg;

typedef struct dl dl;

/* Subscribes to $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.> on nc.
 * Returns NULL when the subscription failed. */
dl *dl_start(natsConnection *nc, const dl_cfg *c);
/* Unsubscribes and frees; NULL-safe. */
void dl_stop(dl *d);
/* Dead letters copied so far. */
long long dl_count(dl *d);

#endif
