/* The NATS connection of a daemon: server list, reconnect forever with
 * exponential backoff and jitter, connection events logged, and every
 * authentication the config allows (user/password, token, creds file, nkey
 * seed, TLS with CA, cert and key). A connection as a user takes the inbox
 * prefix _INBOX_<user> (common/auth.h); one with no credentials to a server
 * off loopback is warned about once per process. */
#ifndef ORCH_NC_H
#define ORCH_NC_H

#include <nats/nats.h>

#include "names.h"
#include "pb.h"
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

/* A new inbox subject for collecting replies by hand (several answers to
 * one request): "<prefix>.<unique>", the prefix being the one nc_connect
 * gave this process's identity (_INBOX_<user>, the only inboxes
 * deploy/nats.conf lets it subscribe to), or nats.c's _INBOX. Returns
 * ORCH_ERR_INVALID when out is too short. */
orch_status nc_inbox(char *out, size_t len);

/* How a service settles a message it took from a durable consumer, once
 * everything the message caused is stored (docs/architecture.md, "Settling
 * a message"). Handlers return one of these, with a delay for NC_RETRY. */
typedef enum {
    NC_ACK = 0,    /* done: handled, or nothing to do */
    NC_TERM = 1,   /* bad input: reported on errors.<service>.*, never again */
    NC_RETRY = 2,  /* not now (a store failed, a dependency is not there yet): again after a delay */
    NC_IN_PROGRESS /* still being worked on: the ack wait starts again, and the message stays held */
} nc_settle_kind;

/* A settle kind and, for NC_RETRY, the delay before the redelivery. */
typedef struct {
    nc_settle_kind kind;
    int64_t delay_ms;
} nc_settlement;

static inline nc_settlement nc_ack(void) { return (nc_settlement){NC_ACK, 0}; }
static inline nc_settlement nc_term(void) { return (nc_settlement){NC_TERM, 0}; }
static inline nc_settlement nc_retry(int64_t delay_ms) { return (nc_settlement){NC_RETRY, delay_ms}; }

/* Acks, terminates, naks with delay_ms (for NC_RETRY), or says in progress. */
void nc_settle(natsMsg *m, nc_settle_kind k, int64_t delay_ms);

/* Decides the settlement of one message. The message is borrowed: the
 * handler neither settles nor destroys it. */
typedef nc_settlement (*nc_handler)(natsMsg *m, void *arg);

/* Decides the settlements of a whole batch at once: how[i] for msgs[i].
 * For a consumer whose messages are handled together (numbered, published
 * and waited for as one batch, or decided under one lock and stored by one
 * flush), so one failure can send the whole batch back. Messages are
 * borrowed, as for nc_handler. */
typedef void (*nc_batch_handler)(natsMsg **msgs, int n, nc_settlement *how, void *arg);

/* One round of the fetch-and-settle loop every consumer of the suite runs:
 * fetches up to batch messages from a pull subscription (waiting up to
 * wait_ms), has handler decide each one's settlement, then settles each as
 * decided, and destroys them. The settling comes after the whole batch, so
 * what the handler published asynchronously can be waited for before, and
 * no message is acked before the ones before it were handled. Returns the
 * number of messages handled (0 when none came within wait_ms); after a
 * fetch failure other than a timeout (no server), waits 200 ms, so a
 * caller's loop does not spin, and returns -1. */
int nc_consume_batch(natsSubscription *sub, int batch, int64_t wait_ms, nc_batch_handler handler, void *arg);

/* The same with a handler called on each message in order. */
int nc_consume(natsSubscription *sub, int batch, int64_t wait_ms, nc_handler handler, void *arg);

/* Gives back what a busy consumer was sent without asking for it now. A
 * pull request of nats.c's Fetch expires on the server a little after the
 * client stopped waiting, and a Fetch answered from what was already queued
 * leaves the request it sent outstanding: a message published meanwhile is
 * delivered into the subscription of a client that is busy with other work
 * (or hung), and would wait there unstarted, unacknowledged, for the
 * consumer's ack wait while other agents are idle. Called between fetches
 * by a worker busy with one message, it naks every queued message at once
 * (no delay: another subscriber takes it). Sends no pull request unless
 * only the server's status replies were queued (then one that does not
 * wait). Returns how many messages went back. */
int nc_return_strays(natsSubscription *sub);

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

/* An alert as the suite publishes it (orchestrator.v1.Alert). Strings are
 * borrowed; source, instance and members may be NULL (no such label). */
typedef struct {
    Orchestrator__V1__Severity severity;
    const char *rule;          /* its kind (names_alert_kind_token), and its group when group is NULL */
    const char *group;
    const char *fingerprint;   /* also the message id */
    const char *summary, *text;
    const char *source, *instance;   /* labels */
    const char *members;       /* label: the grouped alerts' fingerprints, one a line */
    int resolved;              /* 0: firing */
} nc_alert;

/* Packs a (protobuf) into *buf (the caller frees it), stamped now. The one
 * packer of alerts: nc_publish_alert and the monitor's notifications use
 * it. ORCH_ERR_INVALID for a severity other than info, warning, critical. */
orch_status nc_alert_pack(const nc_alert *a, uint8_t **buf, size_t *len);

/* The subject of a: alerts.<severity>.<rule>, into out (len bytes). */
const char *nc_alert_subject(const nc_alert *a, char *out, size_t len);

/* Raises an alert: an orchestrator.v1.Alert (protobuf), firing, on
 * alerts.<severity>.<rule>, labelled with source and instance, and waits
 * until stored (max_wait_ms). The fingerprint is also its message id, so
 * instances that raise the same alert within the ALERTS stream's duplicate
 * window store it once. severity: "critical", "warning" or "info"
 * (names_severity_parse); another word is refused (logged, -1), not taken
 * for a warning. Logs the alert (one line) whether or not it was stored.
 * Returns 0 when stored. */
int nc_publish_alert(jsCtx *js, const char *severity, const char *rule, const char *fingerprint,
                     const char *summary, const char *text, const char *source, const char *instance,
                     int64_t max_wait_ms);

/* A refusal of bad input, ready to send: sets e->source to src's token,
 * e->at_ms to now when it is 0, fills subject (len bytes) with
 * errors.<source>.<token> and returns e as JSON (edge.c; the caller frees
 * it). For a service that sends through its own path (the router's
 * batch); nc_publish_refusal uses it. */
char *nc_refusal_pack(names_source src, pb_error *e, const char *token, char *subject, size_t len);

/* Publishes a refusal on errors.<source>.<token> (nc_refusal_pack). With
 * js: stored, waiting up to max_wait_ms, deduplicated by msg_id (NULL:
 * none). With js NULL: a core publish on nc, for a caller that holds a lock
 * and must not wait for an acknowledgement (the ERRORS stream still stores
 * it). Returns 0 when stored (sent, for a core publish). */
int nc_publish_refusal(jsCtx *js, natsConnection *nc, names_source src, pb_error *e, const char *token,
                       const char *msg_id, int64_t max_wait_ms);

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

#endif
