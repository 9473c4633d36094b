#include "svccfg.h"

#include <stddef.h>

#include "log.h"

#define F(x) offsetof(svc_cfg, x)

const cfg_entry svc_cfg_entries[] = {
    {"nats.url", CFG_LIST, "nats://127.0.0.1:4222", 0, 512, F(nats_url), NULL, 0,
     "NATS server URLs, comma separated or a JSON list"},
    {"nats.user", CFG_STR, NULL, 0, 256, F(nats_user), NULL, 0, "user name"},
    {"nats.password", CFG_STR, NULL, 0, 256, F(nats_password), NULL, CFG_SECRET, "password"},
    {"nats.token", CFG_STR, NULL, 0, 1024, F(nats_token), NULL, CFG_SECRET, "auth token"},
    {"nats.creds", CFG_STR, NULL, 0, 1024, F(nats_creds), NULL, 0, "path of a user credentials (.creds) file"},
    {"nats.nkey", CFG_STR, NULL, 0, 128, F(nats_nkey), NULL, 0, "nkey public key of the user (U...)"},
    {"nats.nkey_seed", CFG_STR, NULL, 0, 1024, F(nats_nkey_seed), NULL, 0, "path of a file holding an nkey seed"},
    {"nats.tls.ca", CFG_STR, NULL, 0, 1024, F(tls_ca), NULL, 0, "CA certificate file (enables TLS)"},
    {"nats.tls.cert", CFG_STR, NULL, 0, 1024, F(tls_cert), NULL, 0, "client certificate file"},
    {"nats.tls.key", CFG_STR, NULL, 0, 1024, F(tls_key), NULL, 0, "client key file"},
    {"nats.reconnect_wait_ms", CFG_INT, "250", 10, 60000, F(reconnect_wait_ms), NULL, 0,
     "first reconnect delay; doubles per attempt, with jitter"},
    {"nats.reconnect_max_wait_ms", CFG_INT, "5000", 10, 600000, F(reconnect_max_wait_ms), NULL, 0,
     "longest reconnect delay"},
    {"nats.connect_timeout_ms", CFG_INT, "2000", 100, 60000, F(connect_timeout_ms), NULL, 0,
     "timeout of one connection attempt"},
    {"log.level", CFG_ENUM, "info", 0, 0, F(log_level), log_level_names, 0, "least level logged"},
    {"service.instance", CFG_STR, NULL, 0, 64, F(instance), NULL, 0,
     "instance id (default: host name and pid)"},
    {"shutdown.timeout_ms", CFG_INT, "10000", 100, 600000, F(shutdown_timeout_ms), NULL, 0,
     "bound on a graceful stop"},
    {"jetstream.provision", CFG_BOOL, "true", 0, 0, F(provision), NULL, 0,
     "create or update streams, consumers and buckets at start"},
    {"jetstream.replicas", CFG_INT, "1", 1, 5, F(replicas), NULL, 0,
     "replicas of every stream and bucket (3 on a cluster)"},
    {"jetstream.domain", CFG_STR, NULL, 0, 64, F(js_domain), NULL, 0,
     "the JetStream domain of the hub, for a program on an agent host's leaf node (docs/deployment.md)"},
};
const size_t svc_cfg_count = sizeof(svc_cfg_entries) / sizeof(svc_cfg_entries[0]);
