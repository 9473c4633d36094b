/* Delivery of alerts to Matrix: the NATS side of matrix.c. A thread reads
 * ALERTS through the durable monitor-matrix and sends each alert message
 * with matrix_send, acking it only after Matrix accepted it (2xx with an
 * event id), naking it with the retry delay otherwise, terminating it when
 * Matrix refused it for good. The event id of each announcement is kept in
 * KV orch_alerts so its resolution is a reply in its thread.
 *
 * The Matrix transaction id is derived from the alert message's
 * Nats-Msg-Id: a redelivery of one message is never a second Matrix
 * message, and two messages (two escalations of one requirement, each with
 * its attempt in its message id) are two, even when they share a
 * fingerprint. */
#ifndef MONITOR_MATRIX_NATS_H
#define MONITOR_MATRIX_NATS_H

#include <nats/nats.h>

#include "matrix.h"

typedef struct {
    matrix_cfg matrix;           /* configured: a monitor without Matrix starts no delivery and never reads
                                  * the consumer, which keeps the alerts for one that has it */
    long long backoff_ms, backoff_max_ms;
    kvStore *alerts;             /* borrowed: event ids of announcements */
    natsSubscription *sub;       /* borrowed: ALERTS / monitor-matrix, pull */
    /* Whether this instance may deliver (the lease is fresh); called before
     * each delivery. */
    int (*may_act)(void *arg);
    void *arg;
} mxd_cfg;

typedef struct mxd mxd;

/* Starts the delivery thread. Returns NULL when the thread could not start. */
mxd *mxd_start(const mxd_cfg *c);
/* Stops the thread (after the delivery in flight) and frees; NULL-safe. */
void mxd_stop(mxd *d);
/* Alerts Matrix accepted so far. */
long long mxd_delivered(mxd *d);

#endif
