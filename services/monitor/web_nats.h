/* The monitor's web endpoint wired to the monitor (web.h serves; this
 * adapter answers it from what the monitor holds).
 *
 * Off unless web.port is set. Every monitor instance serves it: the leader
 * with its figures, a standby with `orch_monitor_leader 0` on /metrics and
 * 503 ("standby") on the data the page polls, so a scrape of both tells
 * which one leads. /readyz is 200 once the instance's NATS connection is up
 * and, on the leader, once what the rules need has come in (seen_settled).
 *
 * What it adds to the monitor's own state, under the monitor's lock: the
 * dispatch latency and verification duration histograms, the consumers'
 * undelivered counts (lag), and the latest verdict of the last
 * WEB_NATS_VERDICTS requirements (their steps and outputs, cut to
 * WEB_NATS_OUTPUT_MAX bytes a step) for the requirement's detail, which
 * also carries the scheduler's own answer on orch.status.<id>.
 *
 * The ETAs on the page are the scheduler's: every page of
 * orch.scheduler.list (10,000 rows a page), asked at most once in
 * WEB_NATS_FORECAST_TTL_MS and shared by the requests meanwhile, so a page
 * polling every second costs the scheduler one read of its list in that
 * time. When it does not answer (within web.status_timeout_ms a page), the
 * views carry the monitor's own estimate, labelled so (webview.h), until
 * the next ask. */
#ifndef MONITOR_WEB_NATS_H
#define MONITOR_WEB_NATS_H

#include <pthread.h>

#include <nats/nats.h>

#include "alerts.h"
#include "pb.h"
#include "seen.h"
#include "status.h"

#define WEB_NATS_VERDICTS 256
#define WEB_NATS_OUTPUT_MAX (16 * 1024)
#define WEB_NATS_FORECAST_TTL_MS 5000

/* Settings (the monitor's table writes them: web.*). */
typedef struct {
    char *listen;                   /* NULL: 127.0.0.1 */
    long long port;                 /* 0: off */
    char *token;                    /* NULL: none */
    long long cents_per_mtok;       /* price of a million tokens, for the cost gauge; 0: no cost shown */
    long long status_timeout_ms;    /* bound on the orch.status.<id> request */
} web_nats_cfg;

/* What of the monitor the endpoint reads: every pointer is the monitor's,
 * read under *mu only. */
typedef struct {
    pthread_mutex_t *mu;
    seen **seen;                    /* NULL while not leading */
    am **am;
    int *leading;
    natsConnection *rr;             /* request/reply connection (orch.status) */
    long long service_grace_ms;     /* a service silent this long is down (the rules' setting) */
} web_nats_monitor;

/* Starts serving when cfg->port is set (else does nothing and returns
 * ORCH_OK). err says why it could not. */
orch_status web_nats_start(const web_nats_cfg *cfg, const web_nats_monitor *m, char err[ERR_LEN]);
/* Stops serving; waits for requests in flight. Safe when not started. */
void web_nats_stop(void);

/* Hooks, called with the monitor's lock held. */
/* A requirement's new state, before the core takes it (prev: what the core
 * had, or NULL). */
void web_nats_state(const pb_state *prev, const pb_state *st);
/* A verdict (type: its requirement's, 0 unknown). */
void web_nats_verdict(const pb_verdict *v, int type);
/* A type's consumer: messages not yet delivered (-1 unknown). */
void web_nats_lag(int type, long long undelivered);
/* Forgets the figures of a lost leadership. */
void web_nats_reset(void);

#endif
