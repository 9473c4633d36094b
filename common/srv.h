/* The NATS services protocol (ADR-32), by hand: nats.c 3.4.1 has no micro
 * API. A service answers $SRV.PING, $SRV.INFO and $SRV.STATS, each bare,
 * with its name, and with its name and id, with the JSON bodies the protocol
 * defines (io.nats.micro.v1.*_response), so `nats micro ls` and any other
 * standard tool list it. Endpoints are queue subscriptions (group "q" by
 * default) whose requests are counted and timed for STATS. */
#ifndef ORCH_SRV_H
#define ORCH_SRV_H

#include <cjson/cJSON.h>
#include <nats/nats.h>

#include "status.h"

typedef struct srv srv;
typedef struct srv_endpoint srv_endpoint;

/* One request to an endpoint. The message is borrowed for the duration of
 * the handler; srv destroys it afterwards. */
typedef struct {
    natsConnection *nc;
    natsMsg *msg;
    srv_endpoint *ep;
    int responded;
    int failed;
} srv_req;

typedef void (*srv_handler)(srv_req *req, void *closure);
/* Fills the endpoint's "data" object in STATS; called under no lock of
 * srv's, on a NATS delivery thread: the closure must be thread-safe. */
typedef void (*srv_stats_fn)(cJSON *data, void *closure);

/* name: [A-Za-z0-9_-]; version: semver; id: unique per instance, a subject
 * token. Strings are copied. The connection is borrowed and must outlive
 * the service. */
orch_status srv_create(srv **out, natsConnection *nc, const char *name, const char *version,
                       const char *description, const char *id, char err[ERR_LEN]);

/* Adds an endpoint before srv_start. queue_group NULL means "q"; "" means
 * no queue group (every instance receives each request: for services where
 * only one instance, e.g. a leader, answers). stats_fn may be NULL. */
orch_status srv_add_endpoint(srv *s, const char *name, const char *subject,
                             const char *queue_group, srv_handler handler,
                             srv_stats_fn stats_fn, void *closure, char err[ERR_LEN]);

/* Subscribes the discovery subjects and the endpoints. */
orch_status srv_start(srv *s, char err[ERR_LEN]);

/* Unsubscribes everything, waiting for handlers in progress. NULL-safe. */
void srv_stop(srv *s);

/* Stops if needed and frees. NULL-safe. Call it after the connection is
 * closed, so that no delivery thread can still be in a handler. */
void srv_destroy(srv *s);

/* Replies to a request (no-op without a reply subject). */
orch_status srv_respond(srv_req *r, const char *data, int len);

/* Replies with o printed as JSON; takes o (deleted here). */
orch_status srv_respond_json(srv_req *r, cJSON *o);

/* Replies with the Nats-Service-Error and Nats-Service-Error-Code headers
 * and counts an error for STATS. */
orch_status srv_respond_error(srv_req *r, int code, const char *description);

/* The discovery subject for verb ("PING", "INFO", "STATS"), optional name
 * and id, into buf. Pure. */
void srv_subject(char *buf, size_t len, const char *verb, const char *name, const char *id);

#endif
