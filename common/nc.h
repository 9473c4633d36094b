/* The NATS connection of a daemon: server list, reconnect forever with
 * exponential backoff and jitter, connection events logged, and every
 * authentication the config allows (user/password, token, creds file, nkey
 * seed, TLS with CA, cert and key). */
#ifndef ORCH_NC_H
#define ORCH_NC_H

#include <nats/nats.h>

#include "status.h"
#include "svccfg.h"

/* Flush every write at once, for request/reply connections (PLATFORM.md:
 * 1 ms RTT otherwise); leave it off on bulk publishers. */
#define NC_SEND_ASAP 0x1u
/* For command line tools: one connect attempt, an error when no server
 * answers, no reconnect logging. */
#define NC_FAIL_FAST 0x2u

/* Connects as name (shown in the server's connz). Without NC_FAIL_FAST,
 * when the servers are not up yet, keeps trying in the background and
 * returns ORCH_OK with the connection in the reconnecting state. The
 * connection is the caller's: nc_close() it. */
orch_status nc_connect(natsConnection **out, const svc_cfg *cfg, const char *name,
                       unsigned flags, char err[ERR_LEN]);

/* How a service settles a message it took from a durable consumer, once
 * everything the message caused is stored (docs/architecture.md, "Settling
 * a message"). Handlers return one of these. */
typedef enum {
    NC_ACK = 0,    /* done: handled, or nothing to do */
    NC_TERM = 1,   /* bad input: reported on errors.<service>.*, never again */
    NC_RETRY = 2   /* not now (a store failed, a dependency is not there yet): again after a delay */
} nc_settle_kind;

/* Acks, terminates, or naks with delay_ms (for NC_RETRY). */
void nc_settle(natsMsg *m, nc_settle_kind k, int64_t delay_ms);

/* A pull subscription on the topology's durable consumer (stream,
 * durable), with the filter topology.c gives it: each consumer's stream,
 * name and filter are written once, there. Fills err and returns
 * ORCH_ERR_NATS when the server refuses, ORCH_ERR_INVALID when topology.c
 * has no such consumer. */
orch_status nc_pull_subscribe(jsCtx *js, const char *stream, const char *durable, natsSubscription **sub,
                              char err[ERR_LEN]);

/* Publishes to a stream and waits until JetStream stored it (or max_wait_ms
 * passed). msg_id (dedupe) and content_type may be NULL. Logs a failure.
 * Returns 0 when stored. */
int nc_publish_stored(jsCtx *js, const char *subject, const char *msg_id, const void *data, int len,
                      const char *content_type, int64_t max_wait_ms);

/* Packs a firing alert (orchestrator.v1.Alert, protobuf) into *buf (the
 * caller frees it): severity "critical" or "warning"; rule is also its
 * group; source and instance become labels (either may be NULL). For a
 * service that publishes through its own path; nc_publish_alert uses it. */
orch_status nc_alert_pack(const char *severity, const char *rule, const char *fingerprint, const char *summary,
                          const char *text, const char *source, const char *instance, uint8_t **buf, size_t *len);

/* Raises an alert: an orchestrator.v1.Alert (protobuf), firing, on
 * alerts.<severity>.<rule>, labelled with source and instance, and waits
 * until stored (max_wait_ms). The fingerprint is also its message id, so
 * instances that raise the same alert within the ALERTS stream's duplicate
 * window store it once. severity: "critical" or "warning". Logs the alert
 * (one line) whether or not it was stored. Returns 0 when stored. */
int nc_publish_alert(jsCtx *js, const char *severity, const char *rule, const char *fingerprint,
                     const char *summary, const char *text, const char *source, const char *instance,
                     int64_t max_wait_ms);

/* How many times any connection of this process reconnected so far: a
 * change tells a watcher that the server may have come back as another
 * (a restart, a wiped store). */
int nc_reconnect_count(void);

/* Drains (bounded by timeout_ms), waits until closed, destroys. NULL-safe. */
void nc_close(natsConnection *nc, long long timeout_ms);

/* The NATS library torn down at the end of a program, after every object
 * was destroyed: waits (up to 2 s) for its own threads, a closed
 * connection's last callbacks among them, to unroll. nats_Close() alone
 * let a callback thread run on as the process exited (a verifier crashed
 * with SEGV after "stopped (exit 0)", about 1 stop in 12 under
 * AddressSanitizer). who names the program in the line on stderr when
 * they did not stop in time. */
void nc_lib_close(const char *who);

/* The reconnect delay for attempt n (1-based): base * 2^(n-1), capped at
 * max, then a random 50-100% of that. rnd in [0,1). Pure, for tests. */
long long nc_backoff_ms(long long base, long long max, int attempt, double rnd);

#endif
