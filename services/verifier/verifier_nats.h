/* The verifier's NATS side: worker threads (verifier.workers, the bound on
 * concurrent verifications) share the durable pull consumer RESULTS/verifier
 * with every other replica, one result at a time each. A result is kept
 * alive with in-progress acks while its steps run, its verdict is published
 * on verdicts.<id> (protobuf, Nats-Msg-Id verdict-<id>-a<attempt>), and only
 * then is it acked: a verifier killed mid-build leaves the result to be
 * verified again, and the second verdict is dropped as a duplicate.
 * Review agents' results (results.review.*) are not builds and are passed.
 *
 * Only a result that counts is built: the rule of common/admit.h, the one
 * the scheduler applies, held against the requirement's state (KV
 * orch_requirements) and its claim (KV orch_claims), both read for each
 * result, so replicas keep nothing of their own. Any other result gets one
 * JSON error on errors.verifier.<reason> (the reason token of admit.h,
 * "bad_result" for one that cannot be read, "unreadable_state") and one
 * log line, and is termed; a KV read that fails is retried (nak). A result
 * without an attempt is taken for the current one, and its verdict carries
 * that attempt.
 *
 * The same workers take the merge train's jobs in turn (verifier_train.h). */
#ifndef VERIFIER_VERIFIER_NATS_H
#define VERIFIER_VERIFIER_NATS_H

#include "cfg.h"
#include "daemon.h"

typedef struct {
    char *projects_file;
    char *work_root;
    long long workers;
    long long output_limit;
    long long grace_ms;
    long long git_timeout_s;
    long long keep_branches;
} verifier_settings;

extern verifier_settings verifier_cfg;
extern const cfg_entry verifier_cfg_entries[];
extern const size_t verifier_cfg_count;

orch_status verifier_start(daemon_ctx *d, char err[ERR_LEN]);
void verifier_stop(daemon_ctx *d);

#endif
