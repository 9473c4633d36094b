/* The life of every daemon, written once: arguments (--config, --help,
 * --version), configuration (shared table + the service's own), logging,
 * signals, NATS connections, JetStream provisioning, the $SRV service, the
 * work loop, and a graceful stop bounded by shutdown.timeout_ms.
 * A service's main.c fills a daemon_spec and calls daemon_main. */
#ifndef ORCH_DAEMON_H
#define ORCH_DAEMON_H

#include <nats/nats.h>

#include "cfg.h"
#include "srv.h"
#include "status.h"
#include "svccfg.h"

typedef struct {
    svc_cfg cfg;              /* shared settings, loaded */
    void *svc;                /* the service's own state, set by start */
    natsConnection *nc;       /* bulk and JetStream traffic */
    natsConnection *rr;       /* request/reply (SendAsap) */
    jsCtx *js;
    srv *srv;
    const char *config_path;  /* NULL when none was given */
} daemon_ctx;

typedef struct {
    const char *name;          /* "router": binary orch-router, $SRV name orch-router */
    const char *description;
    const cfg_entry *entries;  /* the service's own settings, may be NULL */
    size_t n_entries;
    void *settings;            /* the struct those entries fill */
    /* Before the $SRV service starts: subscribe, add endpoints. */
    orch_status (*start)(daemon_ctx *d, char err[ERR_LEN]);
    /* One round of work, returning within about half a second (a fetch with
     * a timeout). NULL: the daemon only answers requests. */
    void (*step)(daemon_ctx *d);
    /* After the loop: finish and ack what is in hand, free the state. */
    void (*stop)(daemon_ctx *d);
} daemon_spec;

/* Runs the daemon; returns the process exit code: 0 after a clean stop, 2 on
 * a bad command line or config (one line on stderr), 1 on a fatal error. */
int daemon_main(const daemon_spec *spec, int argc, char **argv);

/* True once SIGTERM or SIGINT arrived. */
int daemon_stopping(void);

#endif
