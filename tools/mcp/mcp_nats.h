/* orch-mcp's NATS side: the mcp_backend that asks the suite over its
 * subjects, as orchctl does (orch.status.<id>, orch.scheduler.list,
 * orch.scheduler.retry, orch.dashboard; submitting publishes intake and
 * waits for the router's ids or refusal). Connects on first use, as the
 * configured identity, and again after the connection closed. */
#ifndef ORCH_MCP_NATS_H
#define ORCH_MCP_NATS_H

#include <nats/nats.h>

#include "mcp.h"
#include "svccfg.h"

typedef struct {
    const svc_cfg *cfg;     /* borrowed: the connection settings */
    int64_t timeout_ms;     /* the bound on every answer awaited */
    natsConnection *nc;     /* NULL until the first call */
} mcp_nats;

/* A backend asking through n (borrowed, for as long as the backend is
 * used). */
mcp_backend mcp_nats_backend(mcp_nats *n);

/* Closes the connection (when there is one). */
void mcp_nats_close(mcp_nats *n);

#endif
