/* The monitor's read-only web endpoint: the live dashboard page, Prometheus
 * metrics, health and readiness, and the JSON the page polls.
 *
 * HTTP is GNU libmicrohttpd's (Debian's libmicrohttpd-dev): a small,
 * long-maintained C library that parses requests, enforces its own limits
 * and runs its threads, so this module only routes. It is off unless the
 * monitor's settings give it a port; it binds to loopback unless told an
 * address.
 *
 *   GET /                      the page (static; it holds no data)
 *   GET /healthz               200 while the process serves HTTP
 *   GET /readyz                200 when the source says it is ready, else 503
 *   GET /metrics               text format 0.0.4 (metrics.h)
 *   GET /api/overview          the dashboard (source's WEB_OVERVIEW)
 *   GET /api/requirements      a page of requirements: ?q= ?status= ?offset= ?limit=
 *   GET /api/graph             open work's dependency graph: ?q= ?limit=
 *   GET /api/requirement/<id>  one requirement in full
 *
 * Only GET and HEAD are answered (405 otherwise, with Allow). With a token
 * set, every path but /, /healthz and /readyz wants `Authorization: Bearer
 * <token>` (compared in constant time) and answers 401 without it: the page
 * and the probes show no data, and container probes carry no secrets.
 * Bounds: at most WEB_CONNECTIONS connections in all and WEB_PER_ADDRESS
 * from one client address (libmicrohttpd's own limits), so clients that
 * hold connections open, trickling a byte now and then or sending nothing,
 * take at most their address's share and /healthz and /metrics still
 * answer everyone else; WEB_IDLE_S idle per connection, 32 KiB of request
 * headers, query values of at most 128 bytes.
 *
 * The data comes from a web_source: callbacks the monitor's adapter
 * supplies, called on libmicrohttpd's threads (up to WEB_THREADS at once),
 * so they must take the adapter's own lock. A test gives a fake one. */
#ifndef MONITOR_WEB_H
#define MONITOR_WEB_H

#include "metrics.h"
#include "status.h"

#define WEB_THREADS 4
#define WEB_CONNECTIONS 256
#define WEB_PER_ADDRESS 16
#define WEB_IDLE_S 10
#define WEB_QUERY_MAX 128

typedef enum { WEB_OVERVIEW, WEB_LIST, WEB_GRAPH, WEB_REQUIREMENT } web_view;

typedef struct {
    const char *id;       /* WEB_REQUIREMENT: a valid id */
    const char *search;   /* "" for none */
    const char *status;   /* "" for any; "open" for not finished */
    long offset, limit;   /* limit 1..1000, default 50 */
} web_query;

typedef struct {
    void *ctx;
    /* 1 when the monitor has live figures (connected, leading or following). */
    int (*ready)(void *ctx);
    /* Fills *out (zeroed by the caller). Pointers in it stay valid until the
     * web endpoint is stopped. */
    void (*metrics)(void *ctx, metrics_snapshot *out);
    /* A JSON document (malloc'd; the caller frees) and its HTTP status in
     * *code (200, 404, 503...). NULL means 500. */
    char *(*view)(void *ctx, web_view v, const web_query *q, int *code);
} web_source;

typedef struct {
    const char *listen;   /* address to bind; NULL or "" means 127.0.0.1 */
    int port;             /* 0 picks a free port (tests); see web_port() */
    const char *token;    /* NULL or "" means none */
} web_settings;

typedef struct web web;

/* Starts serving. The settings' strings and *src are copied or borrowed:
 * src->ctx must outlive the endpoint. ORCH_ERR_INVALID for a bad address,
 * ORCH_ERR_IO when the port cannot be bound (err says which). */
orch_status web_start(web **out, const web_settings *cfg, const web_source *src, char err[ERR_LEN]);

/* The port bound (the chosen one when the settings said 0). */
int web_port(const web *w);

/* Stops serving, waits for the requests in flight, frees. NULL-safe. */
void web_stop(web *w);

/* The page, embedded at build time (web_page.c is generated from
 * services/monitor/web/index.html). */
extern const unsigned char web_page[];
extern const unsigned long web_page_len;

#endif
