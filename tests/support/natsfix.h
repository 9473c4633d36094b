/* A real nats-server for integration tests: JetStream on, a free loopback
 * port, a temporary store directory. natsfix_start waits until JetStream
 * answers; natsfix_stop always removes the server and its directory, and so
 * does process exit (atexit) or the test process dying (PDEATHSIG). A
 * missing nats-server is a failure, never a skip. */
#ifndef NATSFIX_H
#define NATSFIX_H

#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
    char dir[256];
    char url[256];         /* one server, or a comma-separated list */
    char conf[300];
    /* set before natsfix_start when the server needs them to be reached */
    const char *tls_ca, *tls_cert, *tls_key, *user, *password;
} natsfix;

/* extra_conf: lines appended to the generated server config (may be NULL).
 * The TLS and user fields of f are kept (set them first, or zero f).
 * Returns 0 on success; on failure prints why and returns -1. */
int natsfix_start(natsfix *f, const char *extra_conf);

/* n servers (at most 8) routed to each other as one cluster, each with its
 * own directory and client port; ready when every node's JetStream
 * answers. Restart a node with natsfix_restart; stop each. Call it from the
 * thread that stays alive: the servers die with the thread that started
 * them (PDEATHSIG). */
int natsfix_start_cluster(natsfix *nodes, int n);

/* Stops the server (SIGTERM, then SIGKILL) without removing its store, so
 * natsfix_restart can bring it back with the same data. */
void natsfix_kill(natsfix *f);
int natsfix_restart(natsfix *f);

/* A connection to f's server with f's TLS and user settings. */
int natsfix_connect(const natsfix *f, void **nc_out);

/* Stops and removes everything. Idempotent. */
void natsfix_stop(natsfix *f);

/* A TCP proxy on loopback between clients and f's server: it forwards
 * every byte but drops the first `drop` messages a client publishes to a
 * subject starting with prefix, as a server that died before reading them
 * would (a lost ack, a lost publish). Clients connect to
 * natsfix_proxy_url(). NULL when it cannot listen. */
typedef struct natsfix_proxy natsfix_proxy;
natsfix_proxy *natsfix_proxy_start(const natsfix *f, const char *prefix, int drop);
const char *natsfix_proxy_url(const natsfix_proxy *p);
/* How many messages it dropped so far. */
int natsfix_proxy_dropped(natsfix_proxy *p);
/* Closes every connection through it and frees it. NULL-safe. */
void natsfix_proxy_stop(natsfix_proxy *p);

/* A free TCP port on 127.0.0.1 (bound, read, released). */
int natsfix_free_port(void);

#endif
