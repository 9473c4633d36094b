/* Settings every daemon shares: NATS connection, auth, TLS, logging,
 * instance id, shutdown bound, JetStream provisioning. A daemon loads this
 * table together with its own (see daemon.h). */
#ifndef ORCH_SVCCFG_H
#define ORCH_SVCCFG_H

#include "cfg.h"

typedef struct {
    cfg_list nats_url;           /* server list */
    char *nats_user;
    char *nats_password;         /* secret */
    char *nats_token;            /* secret */
    char *nats_creds;            /* path of a .creds file */
    char *nats_nkey;             /* nkey public key (with nkey_seed) */
    char *nats_nkey_seed;        /* path of an nkey seed file */
    char *tls_ca;
    char *tls_cert;
    char *tls_key;
    long long reconnect_wait_ms;
    long long reconnect_max_wait_ms;
    long long connect_timeout_ms;
    int log_level;               /* log_level */
    char *instance;              /* default: <host>-<pid> */
    long long shutdown_timeout_ms;
    int provision;               /* create or update streams at start */
    long long replicas;          /* stream replicas (3 on a cluster) */
    char *js_domain;             /* the hub's JetStream domain, from a leaf node (NULL: none) */
} svc_cfg;

extern const cfg_entry svc_cfg_entries[];
extern const size_t svc_cfg_count;

#endif
