/* Applies the topology (topology.h) to a JetStream server: creates what is
 * missing, updates what differs in the settings we manage, leaves the rest
 * alone. Safe when several replicas run it at once: a "name already in use"
 * from a concurrent creator is read back and compared like any existing
 * object. */
#ifndef ORCH_PROVISION_H
#define ORCH_PROVISION_H

#include <nats/nats.h>

#include "status.h"

typedef struct {
    int created;
    int updated;
    int unchanged;
} provision_report;

/* replicas: stream and bucket replicas (1, or 3 on a cluster). Logs one line
 * per change. On error returns ORCH_ERR_NATS with err naming the object. */
orch_status provision_all(jsCtx *js, int replicas, provision_report *rep, char err[ERR_LEN]);

#endif
