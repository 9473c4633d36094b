#include "natsfix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

#define MAX_FIX 8
static natsfix *live[MAX_FIX];
static int atexit_set = 0;
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;

static void stop_all(void)
{
    for (int i = 0; i < MAX_FIX; i++)
        if (live[i])
            natsfix_stop(live[i]);
}

int natsfix_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = -1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int spawn(natsfix *f)
{
    const char *argv[] = {"nats-server", "-c", f->conf, NULL};
    f->pid = proc_spawn(argv, NULL, f->dir, "nats-server.log");
    return f->pid > 0 ? 0 : -1;
}

int natsfix_connect(const natsfix *f, void **nc_out)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK)
        s = natsOptions_SetURL(o, f->url);
    if (s == NATS_OK && f->user)
        s = natsOptions_SetUserInfo(o, f->user, f->password);
    if (s == NATS_OK && f->tls_ca) {
        s = natsOptions_SetSecure(o, true);
        if (s == NATS_OK)
            s = natsOptions_LoadCATrustedCertificates(o, f->tls_ca);
        if (s == NATS_OK && f->tls_cert)
            s = natsOptions_LoadCertificatesChain(o, f->tls_cert, f->tls_key);
    }
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    *nc_out = nc;
    return s == NATS_OK ? 0 : -1;
}

/* Ready when a client connects and JetStream answers account info. */
static int wait_ready(natsfix *f)
{
    for (int i = 0; i < 200; i++) {
        natsConnection *nc = NULL;
        int status;
        if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
            fprintf(stderr, "natsfix: nats-server exited early (see %s/nats-server.log)\n", f->dir);
            f->pid = 0;
            return -1;
        }
        if (natsfix_connect(f, (void **)&nc) == 0) {
            jsCtx *js = NULL;
            jsAccountInfo *ai = NULL;
            int ok = natsConnection_JetStream(&js, nc, NULL) == NATS_OK &&
                     js_GetAccountInfo(&ai, js, NULL, NULL) == NATS_OK;
            jsAccountInfo_Destroy(ai);
            jsCtx_Destroy(js);
            natsConnection_Destroy(nc);
            if (ok)
                return 0;
        }
        usleep(50 * 1000);
    }
    fprintf(stderr, "natsfix: nats-server not ready after 10 s (see %s/nats-server.log)\n", f->dir);
    return -1;
}

/* A fresh directory for f, registered for clean-up; f's TLS and user
 * fields are kept. */
static int prepare(natsfix *f)
{
    char tmpl[] = "/tmp/orch-natsfix-XXXXXX";
    const char *ca = f->tls_ca, *cert = f->tls_cert, *key = f->tls_key, *user = f->user, *pw = f->password;

    memset(f, 0, sizeof(*f));
    f->tls_ca = ca;
    f->tls_cert = cert;
    f->tls_key = key;
    f->user = user;
    f->password = pw;
    if (!mkdtemp(tmpl)) {
        perror("natsfix: mkdtemp");
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "%s", tmpl);
    snprintf(f->conf, sizeof(f->conf), "%s/server.conf", f->dir);
    pthread_mutex_lock(&live_mu);
    if (!atexit_set) {
        atexit(stop_all);
        atexit_set = 1;
    }
    for (int i = 0; i < MAX_FIX; i++)
        if (!live[i]) {
            live[i] = f;
            break;
        }
    pthread_mutex_unlock(&live_mu);
    return 0;
}

/* "sync_interval: always" when the nats-server on PATH knows it (2.10 and
 * later; 2.9 refuses the field): tests that claim nothing is lost across a
 * server kill then hold on servers that flush every write, as operators
 * who need that guarantee run them. Asked once, from `nats-server
 * --version` written to f's directory. */
static const char *sync_option(const natsfix *f)
{
    static int known = -1;
    char line[128] = "";
    int major = 0, minor = 0, st = 0;
    FILE *v;
    pid_t p;
    const char *argv[] = {"nats-server", "--version", NULL};

    if (known >= 0)
        return known ? "sync_interval: always" : "";
    known = 0;
    if ((p = proc_spawn(argv, NULL, f->dir, "version.txt")) > 0 && proc_wait(p, 5000, &st) == 0) {
        char path[300];
        snprintf(path, sizeof(path), "%s/version.txt", f->dir);
        if ((v = fopen(path, "r"))) {
            if (fgets(line, sizeof(line), v) && sscanf(line, "nats-server: v%d.%d", &major, &minor) == 2)
                known = major > 2 || (major == 2 && minor >= 10);
            fclose(v);
        }
    }
    return known ? "sync_interval: always" : "";
}

/* Picks f's client port and writes its configuration. */
static int configure(natsfix *f, const char *extra_conf)
{
    FILE *c;
    const char *sync = sync_option(f);
    f->port = natsfix_free_port();
    snprintf(f->url, sizeof(f->url), "nats://127.0.0.1:%d", f->port);
    c = fopen(f->conf, "w");
    if (!c) {
        perror("natsfix: config");
        return -1;
    }
    fprintf(c, "listen: 127.0.0.1:%d\nserver_name: fix_%d\n"
               "jetstream { store_dir: \"%s/js\"%s%s }\n%s\n",
            f->port, f->port, f->dir, *sync ? ", " : "", sync, extra_conf ? extra_conf : "");
    fclose(c);
    return 0;
}

int natsfix_start(natsfix *f, const char *extra_conf)
{
    if (prepare(f) != 0)
        return -1;
    /* A port picked free can be taken before the server binds it: retry. */
    for (int attempt = 0; attempt < 5; attempt++) {
        if (configure(f, extra_conf) != 0)
            break;
        if (spawn(f) == 0 && wait_ready(f) == 0)
            return 0;
        if (f->pid > 0)
            natsfix_kill(f);
    }
    natsfix_stop(f);
    return -1;
}

static int start_cluster_once(natsfix *nodes, int n);

/* A port is free when natsfix_free_port looks and may be taken before the
 * server binds it (by another test, or by the next node's pick): a node
 * that exits at start costs a fresh set of ports, three times at most, as
 * a single server's start does. */
int natsfix_start_cluster(natsfix *nodes, int n)
{
    for (int tries = 0; tries < 3; tries++) {
        natsfix fresh[8];
        if (n < 1 || n > 8)
            return -1;
        memcpy(fresh, nodes, sizeof(*nodes) * (size_t)n);
        if (start_cluster_once(nodes, n) == 0)
            return 0;
        memcpy(nodes, fresh, sizeof(*nodes) * (size_t)n);
        fprintf(stderr, "natsfix: the cluster did not start (try %d of 3)\n", tries + 1);
    }
    return -1;
}

static int start_cluster_once(natsfix *nodes, int n)
{
    char routes[400] = "", extra[600];
    int route[8];
    if (n < 1 || n > 8)
        return -1;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(routes);
        route[i] = natsfix_free_port();
        snprintf(routes + len, sizeof(routes) - len, "%snats-route://127.0.0.1:%d", i ? ", " : "", route[i]);
    }
    /* Every node spawned before any is waited for: a cluster's JetStream
     * answers only once a majority is up. */
    for (int i = 0; i < n; i++) {
        snprintf(extra, sizeof(extra), "cluster { name: orch_fix, listen: 127.0.0.1:%d, routes: [%s] }", route[i],
                 routes);
        if (prepare(&nodes[i]) != 0 || configure(&nodes[i], extra) != 0 || spawn(&nodes[i]) != 0)
            goto fail;
    }
    for (int i = 0; i < n; i++)
        if (wait_ready(&nodes[i]) != 0)
            goto fail;
    return 0;
fail:
    for (int i = 0; i < n; i++)
        natsfix_stop(&nodes[i]);
    return -1;
}

void natsfix_kill(natsfix *f)
{
    if (f->pid > 0) {
        proc_stop(f->pid, 5000);
        f->pid = 0;
    }
}

int natsfix_restart(natsfix *f)
{
    if (spawn(f) != 0)
        return -1;
    return wait_ready(f);
}

void natsfix_stop(natsfix *f)
{
    natsfix_kill(f);
    if (f->dir[0] && getenv("ORCH_TEST_KEEP")) {
        fprintf(stderr, "natsfix: kept %s (ORCH_TEST_KEEP)\n", f->dir);
        f->dir[0] = '\0';
    }
    if (f->dir[0]) {
        const char *argv[] = {"rm", "-rf", f->dir, NULL};
        pid_t p = proc_spawn(argv, NULL, NULL, NULL);
        if (p > 0)
            proc_wait(p, 10000, NULL);
        f->dir[0] = '\0';
    }
    for (int i = 0; i < MAX_FIX; i++)
        if (live[i] == f)
            live[i] = NULL;
}

/* --- the dropping proxy ------------------------------------------------------------- */

#define PROXY_MAX_CONNS 16

struct natsfix_proxy {
    int listen_fd, server_port;
    char url[64], prefix[128];
    int drop, dropped;
    int fds[PROXY_MAX_CONNS * 2];   /* every socket open, so stop can shut them */
    int nfds;
    int active;                     /* copier threads running */
    pthread_t acceptor;
    pthread_mutex_t mu;
};

typedef struct {
    natsfix_proxy *p;
    int from, to;
    int filter;    /* client to server: parse and drop */
} proxy_pipe;

static int write_all(int fd, const char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The length of the whole operation at the start of buf (its line, and a
 * PUB's or HPUB's payload with its CRLF), 0 while incomplete; *drop set
 * when it is a publish the proxy is to drop. */
static size_t next_op(natsfix_proxy *p, const char *buf, size_t len, int *drop)
{
    const char *eol = memmem(buf, len, "\r\n", 2);
    size_t line, payload = 0;
    *drop = 0;
    if (!eol)
        return 0;
    line = (size_t)(eol - buf) + 2;
    if (!strncmp(buf, "PUB ", 4) || !strncmp(buf, "HPUB ", 5)) {
        char copy[1024], *tok[6], *save = NULL;
        int n = 0;
        snprintf(copy, sizeof(copy), "%.*s", (int)(eol - buf), buf);
        for (char *t = strtok_r(copy, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
            tok[n++] = t;
        if (n < 3)
            return line;
        payload = (size_t)strtoul(tok[n - 1], NULL, 10) + 2;
        if (len < line + payload)
            return 0;
        pthread_mutex_lock(&p->mu);
        if (p->dropped < p->drop && !strncmp(tok[1], p->prefix, strlen(p->prefix))) {
            p->dropped++;
            *drop = 1;
        }
        pthread_mutex_unlock(&p->mu);
    }
    return line + payload;
}

static void *proxy_copy(void *arg)
{
    proxy_pipe *pp = arg;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        ssize_t r;
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        r = read(pp->from, buf + len, cap - len);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
        len += (size_t)r;
        if (!pp->filter) {
            if (write_all(pp->to, buf, len) != 0)
                break;
            len = 0;
            continue;
        }
        for (;;) {
            int drop;
            size_t op = next_op(pp->p, buf, len, &drop);
            if (!op)
                break;
            if (!drop && write_all(pp->to, buf, op) != 0)
                goto out;
            memmove(buf, buf + op, len - op);
            len -= op;
        }
    }
out:
    shutdown(pp->from, SHUT_RDWR);
    shutdown(pp->to, SHUT_RDWR);
    free(buf);
    pthread_mutex_lock(&pp->p->mu);
    pp->p->active--;
    pthread_mutex_unlock(&pp->p->mu);
    free(pp);
    return NULL;
}

static void *proxy_accept(void *arg)
{
    natsfix_proxy *p = arg;
    for (;;) {
        struct sockaddr_in a;
        int c = accept(p->listen_fd, NULL, NULL), s;
        pthread_t t1, t2;
        proxy_pipe *up, *down;
        if (c < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        s = socket(AF_INET, SOCK_STREAM, 0);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)p->server_port);
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
            close(c);
            if (s >= 0)
                close(s);
            continue;
        }
        pthread_mutex_lock(&p->mu);
        if (p->nfds + 2 > PROXY_MAX_CONNS * 2) {
            pthread_mutex_unlock(&p->mu);
            close(c);
            close(s);
            continue;
        }
        p->fds[p->nfds++] = c;
        p->fds[p->nfds++] = s;
        p->active += 2;
        pthread_mutex_unlock(&p->mu);
        up = malloc(sizeof(*up));
        down = malloc(sizeof(*down));
        *up = (proxy_pipe){p, c, s, 1};
        *down = (proxy_pipe){p, s, c, 0};
        if (pthread_create(&t1, NULL, proxy_copy, up) == 0) {
            pthread_detach(t1);
        } else {
            free(up);
            pthread_mutex_lock(&p->mu);
            p->active--;
            pthread_mutex_unlock(&p->mu);
        }
        if (pthread_create(&t2, NULL, proxy_copy, down) == 0) {
            pthread_detach(t2);
        } else {
            free(down);
            pthread_mutex_lock(&p->mu);
            p->active--;
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

natsfix_proxy *natsfix_proxy_start(const natsfix *f, const char *prefix, int drop)
{
    natsfix_proxy *p = calloc(1, sizeof(*p));
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    p->server_port = f->port;
    p->drop = drop;
    snprintf(p->prefix, sizeof(p->prefix), "%s", prefix);
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(p->listen_fd, 16) != 0 || getsockname(p->listen_fd, (struct sockaddr *)&a, &len) != 0 ||
        pthread_create(&p->acceptor, NULL, proxy_accept, p) != 0) {
        perror("natsfix: proxy");
        if (p->listen_fd >= 0)
            close(p->listen_fd);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return NULL;
    }
    snprintf(p->url, sizeof(p->url), "nats://127.0.0.1:%d", ntohs(a.sin_port));
    return p;
}

const char *natsfix_proxy_url(const natsfix_proxy *p) { return p->url; }

int natsfix_proxy_dropped(natsfix_proxy *p)
{
    int n;
    pthread_mutex_lock(&p->mu);
    n = p->dropped;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void natsfix_proxy_stop(natsfix_proxy *p)
{
    if (!p)
        return;
    shutdown(p->listen_fd, SHUT_RDWR);
    close(p->listen_fd);
    pthread_join(p->acceptor, NULL);
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->nfds; i++)
        shutdown(p->fds[i], SHUT_RDWR);
    pthread_mutex_unlock(&p->mu);
    /* The copiers end on the shutdown; the sockets are closed after them. */
    for (int waited = 0; waited < 5000; waited += 10) {
        int n;
        pthread_mutex_lock(&p->mu);
        n = p->active;
        pthread_mutex_unlock(&p->mu);
        if (n == 0)
            break;
        usleep(10 * 1000);
    }
    for (int i = 0; i < p->nfds; i++)
        close(p->fds[i]);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
