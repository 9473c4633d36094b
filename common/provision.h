/* Applies the topology (topology.h) to a JetStream server: creates what is
 * missing, updates what differs in the settings we manage, leaves the rest
 * alone. Safe when several replicas run it at once: a "name already in use"
 * from a concurrent creator is read back and compared like any existing
 * object. */
#ifndef ORCH_PROVISION_H
#define ORCH_PROVISION_H

#include <nats/nats.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct {
    int created;
    int updated;
    int unchanged;
} provision_report;

/* replicas: stream and bucket replicas (1, or 3 on a cluster). Logs one line
 * per change. On error returns ORCH_ERR_NATS with err naming the object. */
orch_status provision_all(jsCtx *js, int replicas, provision_report *rep, char err[ERR_LEN]);

/* One object of the topology: a stream, a durable consumer or a bucket. */
typedef enum { PROVISION_STREAM, PROVISION_CONSUMER, PROVISION_BUCKET } provision_kind;

typedef struct {
    provision_kind kind;
    size_t index;      /* into topo_streams, topo_consumers or topo_buckets */
    int id;            /* the same, counted over all three: 0 .. PROVISION_MAX_OBJECTS-1 */
    char name[128];    /* "PLAN", "PLAN/scheduler-plan", "orch_leader" */
} provision_object;

#define PROVISION_MAX_OBJECTS 64

typedef struct {
    int n;
    provision_object obj[PROVISION_MAX_OBJECTS];
} provision_missing;

/* "stream", "consumer" or "bucket". */
const char *provision_kind_name(provision_kind k);

/* Finds the objects of the topology the server lacks, cheaply enough to run
 * every few seconds: one request for the stream names and one per stream
 * that has consumers. An object the lists lack counts only once its own
 * info request answers "not found", so a listing that raced with a
 * creation, or a server still recovering, raises no false alarm.
 * wait_ms bounds each request. ORCH_ERR_NATS, with err, when the server did
 * not answer: then nothing is known and out is empty. */
orch_status provision_find_missing(jsCtx *js, int64_t wait_ms, provision_missing *out, char err[ERR_LEN]);

/* A number that names this incarnation of the objects in m: the sum of the
 * creation times the server recorded for them, the same for every instance
 * that reads them, so that instances repairing the same loss agree on it.
 * 0 when one of them cannot be read (it is missing still). */
uint64_t provision_stamp(jsCtx *js, const provision_missing *m);

#endif
