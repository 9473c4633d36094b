/* The verifier's merge-train jobs (docs/merge.md): the scheduler's leader
 * asks on train.do.<project> (stream TRAIN, durable verifier-train shared
 * by every replica, like results) for
 *
 *   {"kind":"build","project":P,"base":C,"build":N,"changes":[{"id":I,"commit":C},...]}
 *       a candidate: base C with the changes merged in order, built and
 *       tested by P's steps (nothing pushed: the base move makes the same
 *       commits again);
 *   {"kind":"advance","project":P,"from":C,"to":C,"ids":[...],"commits":[...]}
 *       the base branch moved from `from` to `to`, only if it is still at
 *       `from`; a `to` the repository does not hold (a verification's
 *       merge) is made again from `from` and the changes' commits;
 *
 * and the answer goes on train.done.<project> (Nats-Msg-Id
 * train-built-<project>-<N> / train-moved-<project>-<to>, so a job done
 * twice is answered once):
 *
 *   {"kind":"build","project":P,"build":N,"passed":B,"conflict":B,"merged":C,"output":S}
 *   {"kind":"advance","project":P,"from":C,"to":C,"ok":B,"remote":C,"output":S}
 *
 * The job is acked once its answer is stored; a verifier killed mid-build
 * leaves it to another. What is not the changes' doing (no room, git
 * failing) is tried again (nak) until the last delivery, then answered as
 * a failure that says so. A job that cannot be read is termed with an
 * error on errors.verifier.bad_train_job. */
#ifndef VERIFIER_VERIFIER_TRAIN_H
#define VERIFIER_VERIFIER_TRAIN_H

#include <nats/nats.h>

#include "nc.h"
#include "verify.h"

typedef struct {
    const vconfig *projects;
    jsCtx *js;
    int keep_branches;
} verifier_train_ctx;

/* An nc_handler for the TRAIN/verifier-train consumer; arg: a verifier_train_ctx. */
nc_settlement verifier_train_handle(natsMsg *m, void *arg);

#endif
