#include "web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"
#include "text.h"

#if MHD_VERSION < 0x00097002
typedef int MHD_Result;
#else
typedef enum MHD_Result MHD_Result;
#endif

struct web {
    struct MHD_Daemon *d;
    web_source src;
    char *token;
    int port;
};

#define API "/api/"
#define REQ_PREFIX "/api/requirement/"

static const char *JSON = "application/json";
static const char *TEXT = "text/plain; charset=utf-8";

/* Equal strings in time that depends on their lengths only, not on where
 * they differ. */
static int same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[lb ? i % lb : 0]);
    return diff == 0;
}

static MHD_Result respond(struct MHD_Connection *c, unsigned code, const char *type, char *body, size_t len,
                       int owned)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    MHD_Result ret;
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                            "connect-src 'self'; img-src 'self' data:");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    if (code == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static MHD_Result send_text(struct MHD_Connection *c, unsigned code, const char *msg)
{
    return respond(c, code, TEXT, (char *)msg, strlen(msg), 0);
}

/* One line for each refused request, as for any bad input, but at most
 * LOG_BURST in LOG_WINDOW_MS (a scanner must not flood the log): then one
 * line saying how many went unlogged. The path is printed with anything
 * but printable ASCII replaced. */
#define LOG_BURST 10
#define LOG_WINDOW_MS 10000

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
/* the request this thread answers, for the log line */
static _Thread_local const char *current_url, *current_method;
static int64_t log_window_start;
static int log_in_window, log_skipped;

static void log_refusal(struct MHD_Connection *c, unsigned code, const char *reason)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char path[128], from[64] = "?";
    int64_t now = text_mono_ms();
    int say, skipped = 0;
    pthread_mutex_lock(&log_mu);
    if (now - log_window_start >= LOG_WINDOW_MS) {
        skipped = log_skipped;
        log_window_start = now;
        log_in_window = log_skipped = 0;
    }
    say = log_in_window++ < LOG_BURST;
    log_skipped += !say;
    pthread_mutex_unlock(&log_mu);
    if (skipped)
        log_info("web: %d more refused requests were not logged", skipped);
    if (!say)
        return;
    snprintf(path, sizeof(path), "%s", current_url ? current_url : "");
    for (char *p = path; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, from, sizeof(from));
    log_info("web: %u %s for %s %s from %s", code, reason, current_method ? current_method : "?", path, from);
}

static MHD_Result send_error(struct MHD_Connection *c, unsigned code, const char *reason, const char *msg)
{
    if (code >= 400 && code < 500)
        log_refusal(c, code, reason);
    char *body = xmalloc(512);
    int n = snprintf(body, 512, "{\"reason\":\"%s\",\"message\":\"%s\"}\n", reason, msg);
    return respond(c, code, JSON, body, (size_t)(n < 512 ? n : 511), 1);
}

/* A query value: absent is "", longer than WEB_QUERY_MAX is refused. */
static int arg(struct MHD_Connection *c, const char *key, const char **out)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    *out = v ? v : "";
    return strlen(*out) <= WEB_QUERY_MAX;
}

static int num_arg(struct MHD_Connection *c, const char *key, long dflt, long min, long max, long *out)
{
    const char *v;
    char *end;
    long n;
    if (!arg(c, key, &v))
        return 0;
    if (!*v) {
        *out = dflt;
        return 1;
    }
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return 0;
    *out = n;
    return 1;
}

static MHD_Result serve_view(web *w, struct MHD_Connection *c, web_view v, const char *id)
{
    web_query q = {id, "", "", 0, 50};
    int code = 200;
    char *body;
    if (!arg(c, "q", &q.search) || !arg(c, "status", &q.status) ||
        !num_arg(c, "offset", 0, 0, 1000000000L, &q.offset) || !num_arg(c, "limit", 50, 1, 1000, &q.limit))
        return send_error(c, 400, "bad_query",
                          "q and status: at most 128 bytes; offset: 0 or more; limit: 1 to 1000");
    body = w->src.view ? w->src.view(w->src.ctx, v, &q, &code) : NULL;
    if (!body)
        return send_error(c, 500, "internal", "the monitor could not build this view");
    return respond(c, (unsigned)code, JSON, body, strlen(body), 1);
}

static MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                         const char *version, const char *upload, size_t *upload_len, void **state)
{
    web *w = cls;
    (void)version;
    (void)upload;
    (void)state;
    current_url = url;
    current_method = method;
    /* Answered on the first call, before any body is read: nothing here
     * takes a body, and libmicrohttpd then closes the connection rather
     * than read what was sent. */
    *upload_len = 0;
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "read-only: GET and HEAD only");

    if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
        return respond(c, 200, "text/html; charset=utf-8", (char *)web_page, (size_t)web_page_len, 0);
    if (!strcmp(url, "/healthz"))
        return send_text(c, 200, "ok\n");
    if (!strcmp(url, "/readyz")) {
        int ready = w->src.ready ? w->src.ready(w->src.ctx) : 1;
        return send_text(c, ready ? 200 : 503, ready ? "ready\n" : "not ready\n");
    }

    if (w->token) {
        const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!h || strncmp(h, "Bearer ", 7) || !same_secret(h + 7, w->token))
            return send_error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized", "a bearer token is required");
    }

    if (!strcmp(url, "/metrics")) {
        metrics_snapshot *s = xcalloc(1, sizeof(*s));
        char *text;
        if (w->src.metrics)
            w->src.metrics(w->src.ctx, s);
        text = metrics_format(s);
        free(s);
        return respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text), 1);
    }
    if (!strcmp(url, API "overview"))
        return serve_view(w, c, WEB_OVERVIEW, NULL);
    if (!strcmp(url, API "requirements"))
        return serve_view(w, c, WEB_LIST, NULL);
    if (!strcmp(url, API "graph"))
        return serve_view(w, c, WEB_GRAPH, NULL);
    if (!strncmp(url, REQ_PREFIX, strlen(REQ_PREFIX))) {
        const char *id = url + strlen(REQ_PREFIX);
        char err[128];
        if (!text_id_valid(id, 64, err, sizeof(err)))
            return send_error(c, 400, "invalid_id", "an id is 1-64 characters of A-Z a-z 0-9 - _");
        return serve_view(w, c, WEB_REQUIREMENT, id);
    }
    return send_error(c, 404, "not_found", "no such page");
}

orch_status web_start(web **out, const web_settings *cfg, const web_source *src, char err[ERR_LEN])
{
    struct sockaddr_in addr;
    const char *host = cfg->listen && *cfg->listen ? cfg->listen : "127.0.0.1";
    const union MHD_DaemonInfo *info;
    web *w;

    *out = NULL;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (cfg->port < 0 || cfg->port > 65535 || inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(err, ERR_LEN, "web: listen address '%.64s' port %d: expected an IPv4 address and a port 0-65535",
                 host, cfg->port);
        return ORCH_ERR_INVALID;
    }
    w = xcalloc(1, sizeof(*w));
    w->src = *src;
    w->token = cfg->token && *cfg->token ? xstrdup(cfg->token) : NULL;
    w->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            handle, w, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)WEB_THREADS,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)WEB_CONNECTIONS,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)WEB_PER_ADDRESS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)WEB_IDLE_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024, MHD_OPTION_END);
    if (!w->d) {
        snprintf(err, ERR_LEN, "web: cannot serve on %s:%d (in use, or not an address of this host)", host,
                 cfg->port);
        web_stop(w);
        return ORCH_ERR_IO;
    }
    info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    w->port = info ? info->port : cfg->port;
    *out = w;
    return ORCH_OK;
}

int web_port(const web *w) { return w ? w->port : 0; }

void web_stop(web *w)
{
    if (!w)
        return;
    if (w->d)
        MHD_stop_daemon(w->d);
    if (w->token) {
        memset(w->token, 0, strlen(w->token));
        free(w->token);
    }
    free(w);
}
