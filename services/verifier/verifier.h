/* The verifier's NATS side: worker threads (verifier.workers, the bound on
 * concurrent verifications) share the durable pull consumer RESULTS/verifier
 * with every other replica, one result at a time each. A result is kept
 * alive with in-progress acks while its steps run, its verdict is published
 * on verdicts.<id> (protobuf, Nats-Msg-Id verdict-<id>-a<attempt>), and only
 * then is it acked: a verifier killed mid-build leaves the result to be
 * verified again, and the second verdict is dropped as a duplicate.
 * Review agents' results (results.review.*) are not builds and are passed. */
#ifndef VERIFIER_VERIFIER_H
#define VERIFIER_VERIFIER_H

#include "cfg.h"
#include "daemon.h"

typedef struct {
    char *projects_file;
    char *work_root;
    long long workers;
    long long output_limit;
    long long grace_ms;
    long long git_timeout_s;
} verifier_settings;

extern verifier_settings verifier_cfg;
extern const cfg_entry verifier_cfg_entries[];
extern const size_t verifier_cfg_count;

orch_status verifier_start(daemon_ctx *d, char err[ERR_LEN]);
void verifier_stop(daemon_ctx *d);

#endif
