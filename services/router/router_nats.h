/* The router's NATS side: consumes intake.> through the shared durable pull
 * consumer "router", decodes (route.c), assigns ids from KV, classifies,
 * publishes each requirement on plan.requirement.<id> (protobuf), and acks
 * an intake message only after JetStream stored everything published for
 * it. Bad input is reported on errors.intake.<reason> and terminated. */
#ifndef ROUTER_ROUTER_NATS_H
#define ROUTER_ROUTER_NATS_H

#include "cfg.h"
#include "daemon.h"

typedef struct {
    long long batch;            /* messages per fetch */
    long long fetch_wait_ms;
    long long publish_wait_ms;  /* bound on waiting for JetStream acks */
    char *rules_file;           /* NULL: the seed's rules */
    int default_type;           /* index in router_type_names */
    int split;
    char *id_prefix;
    long long id_digits;
    long long max_payload;
} router_settings;

extern router_settings router_cfg;
extern const cfg_entry router_cfg_entries[];
extern const size_t router_cfg_count;

orch_status router_start(daemon_ctx *d, char err[ERR_LEN]);
void router_step(daemon_ctx *d);
void router_stop(daemon_ctx *d);

#endif
