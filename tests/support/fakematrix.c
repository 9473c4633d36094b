#include "fakematrix.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQ 512
#define MAX_SCRIPT 64

typedef struct {
    int status;
    char body[512];
    char retry_after[32];
    char location[256];
} scripted;

struct fakematrix {
    int fd, port;
    char token[256];
    pthread_t th;
    volatile int stop, down;
    pthread_mutex_t mu;
    fm_request req[MAX_REQ];
    int nreq;
    scripted script[MAX_SCRIPT];
    int nscript;
    int events;
};

static int64_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void url_decode(const char *in, size_t n, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < len; i++) {
        if (in[i] == '%' && i + 2 < n) {
            char hex[3] = {in[i + 1], in[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

static void reply_loc(int c, int status, const char *body, const char *retry_after, const char *location)
{
    char head[1536];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
                     "%s%s%s%s%s%s\r\n",
                     status, strlen(body), retry_after ? "Retry-After: " : "", retry_after ? retry_after : "",
                     retry_after ? "\r\n" : "", location ? "Location: " : "", location ? location : "",
                     location ? "\r\n" : "");
    if (n >= (int)sizeof(head))
        n = (int)sizeof(head) - 1;
    if (write(c, head, (size_t)n) < 0 || write(c, body, strlen(body)) < 0)
        return;
}

static void reply(int c, int status, const char *body, const char *retry_after)
{
    reply_loc(c, status, body, retry_after, NULL);
}

static void serve(fakematrix *f, int c)
{
    char buf[16384];
    size_t len = 0;
    char *end = NULL, *p;
    long clen = 0;
    char auth[300] = "";
    const char *prefix = "/_matrix/client/v3/rooms/";
    fm_request r;

    buf[0] = '\0';
    /* headers, then the body by Content-Length */
    while (len < sizeof(buf) - 1 && !(end = strstr(buf, "\r\n\r\n"))) {
        struct pollfd pf = {c, POLLIN, 0};
        ssize_t k;
        if (poll(&pf, 1, 2000) <= 0 || (k = read(c, buf + len, sizeof(buf) - 1 - len)) <= 0)
            return;
        len += (size_t)k;
        buf[len] = '\0';
    }
    if (!end)
        return;
    for (p = strstr(buf, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
        if (!strncasecmp(p + 2, "Content-Length:", 15))
            clen = strtol(p + 17, NULL, 10);
        if (!strncasecmp(p + 2, "Authorization:", 14))
            sscanf(p + 16, " %299[^\r]", auth);
    }
    while ((long)(len - (size_t)(end + 4 - buf)) < clen && len < sizeof(buf) - 1) {
        ssize_t k = read(c, buf + len, sizeof(buf) - 1 - len);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = '\0';
    }
    memset(&r, 0, sizeof(r));
    r.at_ms = mono();
    snprintf(r.body, sizeof(r.body), "%s", end + 4);
    snprintf(r.auth, sizeof(r.auth), "%s", auth);
    if (!strncmp(buf, "PUT /moved/", 11)) {
        r.moved = 1;
        memmove(buf + 4, buf + 10, len - 10 + 1); /* served as the same endpoint */
        len -= 6;
        end -= 6;
    }
    if (strncmp(buf, "PUT ", 4) != 0 || strncmp(buf + 4, prefix, strlen(prefix)) != 0) {
        reply(c, 404, "{\"errcode\":\"M_UNRECOGNIZED\",\"error\":\"Unrecognized request\"}", NULL);
        return;
    }
    {
        const char *room = buf + 4 + strlen(prefix);
        const char *send = strstr(room, "/send/m.room.message/");
        const char *txn, *sp;
        if (!send) {
            reply(c, 404, "{\"errcode\":\"M_UNRECOGNIZED\",\"error\":\"Unrecognized request\"}", NULL);
            return;
        }
        url_decode(room, (size_t)(send - room), r.room, sizeof(r.room));
        txn = send + strlen("/send/m.room.message/");
        sp = strchr(txn, ' ');
        url_decode(txn, sp ? (size_t)(sp - txn) : strlen(txn), r.txn, sizeof(r.txn));
    }
    pthread_mutex_lock(&f->mu);
    if (strncmp(auth, "Bearer ", 7) != 0 || strcmp(auth + 7, f->token) != 0) {
        r.status = 401;
        reply(c, 401, "{\"errcode\":\"M_UNKNOWN_TOKEN\",\"error\":\"Invalid access token\"}", NULL);
    } else if (f->nscript > 0) {
        scripted s = f->script[0];
        memmove(f->script, f->script + 1, sizeof(scripted) * (size_t)--f->nscript);
        r.status = s.status;
        r.scripted = 1;
        if (s.location[0]) {
            char loc[1024];
            const char *path = buf + 4;
            snprintf(loc, sizeof(loc), "%s%.*s", s.location, (int)strcspn(path, " "), path);
            reply_loc(c, s.status, s.body, NULL, loc);
        } else {
            reply(c, s.status, s.body, s.retry_after[0] ? s.retry_after : NULL);
        }
    } else {
        char body[160];
        unsigned long h = 5381;
        for (int i = 0; i < f->nreq; i++)
            if (f->req[i].status == 200 && !f->req[i].scripted && !strcmp(f->req[i].txn, r.txn))
                r.repeat = 1;
        for (const char *t = r.txn; *t; t++)
            h = h * 33 + (unsigned char)*t;
        r.status = 200;
        /* the same txnId always names the same event */
        snprintf(body, sizeof(body), "{\"event_id\":\"$%lx:fake.local\"}", h);
        if (!r.repeat)
            f->events++;
        reply(c, 200, body, NULL);
    }
    if (f->nreq < MAX_REQ)
        f->req[f->nreq++] = r;
    pthread_mutex_unlock(&f->mu);
}

static void *loop(void *arg)
{
    fakematrix *f = arg;
    while (!f->stop) {
        struct pollfd pf = {f->fd, POLLIN, 0};
        int c;
        if (poll(&pf, 1, 100) <= 0)
            continue;
        c = accept(f->fd, NULL, NULL);
        if (c < 0)
            continue;
        if (!f->down)
            serve(f, c);
        close(c); /* down: closed at once, like a crashed server */
    }
    return NULL;
}

fakematrix *fm_start(const char *token)
{
    fakematrix *f = calloc(1, sizeof(*f));
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int one = 1;
    snprintf(f->token, sizeof(f->token), "%s", token);
    pthread_mutex_init(&f->mu, NULL);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(f->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(f->fd, 16) != 0 ||
        getsockname(f->fd, (struct sockaddr *)&a, &al) != 0) {
        close(f->fd);
        free(f);
        return NULL;
    }
    f->port = ntohs(a.sin_port);
    pthread_create(&f->th, NULL, loop, f);
    return f;
}

void fm_stop(fakematrix *f)
{
    if (!f)
        return;
    f->stop = 1;
    pthread_join(f->th, NULL);
    close(f->fd);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

int fm_port(const fakematrix *f) { return f->port; }

void fm_script(fakematrix *f, int status, const char *body, const char *retry_after, int n)
{
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < n && f->nscript < MAX_SCRIPT; i++) {
        scripted *s = &f->script[f->nscript++];
        memset(s, 0, sizeof(*s));
        s->status = status;
        snprintf(s->body, sizeof(s->body), "%s", body);
        snprintf(s->retry_after, sizeof(s->retry_after), "%s", retry_after ? retry_after : "");
    }
    pthread_mutex_unlock(&f->mu);
}

void fm_down(fakematrix *f, int down) { f->down = down; }

void fm_redirect(fakematrix *f, int status, const char *location_prefix, int n)
{
    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < n && f->nscript < MAX_SCRIPT; i++) {
        scripted *s = &f->script[f->nscript++];
        memset(s, 0, sizeof(*s));
        s->status = status;
        snprintf(s->body, sizeof(s->body), "{}");
        snprintf(s->location, sizeof(s->location), "%s", location_prefix);
    }
    pthread_mutex_unlock(&f->mu);
}

int fm_count(fakematrix *f)
{
    int n;
    pthread_mutex_lock(&f->mu);
    n = f->nreq;
    pthread_mutex_unlock(&f->mu);
    return n;
}

void fm_get(fakematrix *f, int i, fm_request *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->req[i];
    pthread_mutex_unlock(&f->mu);
}

int fm_delivered(fakematrix *f)
{
    int n;
    pthread_mutex_lock(&f->mu);
    n = f->events;
    pthread_mutex_unlock(&f->mu);
    return n;
}
