/* The merge train of one base branch: approved changes reach the base only
 * through builds of the exact trees the base will hold.
 *
 * Approved changes queue in the order they arrive (a change stacked on
 * another, its dependency, arrives after it). The candidate of the change at
 * position k is the base with the changes at positions 0..k merged in, in
 * that order; it is built speculatively, before the candidates ahead of it
 * are known to pass, on as many builders as are free, at most max_ahead
 * positions from the head. The base moves only to the candidate of the
 * longest prefix of the queue whose every candidate passed: one move of the
 * base merges that whole prefix, so the base only ever holds a tree that was
 * built and tested exactly (the property of Zuul's dependent pipeline and of
 * bors's "main never breaks").
 *
 * A failure is judged only once every change ahead of it passed: then the
 * tree that failed differs from one that passed by that change alone, so the
 * change is refused (ejected) with the build's exact output, whether it
 * broke the build by itself or only together with a change ahead of it (two
 * changes that break only together: the second to arrive is refused, the
 * first merges). The candidates behind an ejected change included it, so
 * they are built again without it; changes stacked on it are ejected too
 * (they must be rebuilt on what is left). One bad change therefore holds
 * back the good ones behind it by one build, and never lands.
 *
 * A failure of the head (nothing ahead of it) while the base itself is not
 * known to pass is not blamed on the change yet: the base alone is built
 * first. If the base fails too, the failure is the base's (a flaky or broken
 * test): the train pauses, nothing is ejected, nothing is charged to the
 * change, and the base is checked again every base_retry_ms until it passes.
 * The base is known to pass once the train moved it to a candidate that
 * passed, or a check of it passed; a base moved by anyone else is unknown
 * again, and every candidate built on the old one is void.
 *
 * One build where one is enough: a change whose verification built exactly
 * its merge into the current base (verified_on is the base, and nothing is
 * ahead of it when it arrives) enters as passed, with that merge as its
 * candidate.
 *
 * Moving the base is two steps, so a kill in between neither loses nor
 * repeats a merge: the core decides (out.advance, recorded in the state as
 * the pending move), the adapter pushes the candidate as a fast-forward of
 * the base and reports train_advanced(); a restored train with a pending
 * move is told what the remote base is (train_base_is) and completes the
 * move, retries it, or drops its candidates as void.
 *
 * Builds are numbered; a result names its build, so a result for a
 * candidate that was voided meanwhile (or a duplicate) changes nothing.
 * Decisions go out through train_out callbacks; the clock is an argument.
 * Pure: no NATS, no git, no clock, no log. */
#ifndef SCHED_TRAIN_H
#define SCHED_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "status.h"

#define TRAIN_ID_LEN 64        /* a requirement id, NUL included */
#define TRAIN_COMMIT_LEN 72    /* a commit id (SHA-1 or SHA-256 hex), NUL included */
#define TRAIN_MAX 1024         /* changes queued on one base */

typedef struct train train;

/* A change entering the train. Strings are copied. */
typedef struct {
    const char *id;             /* the requirement */
    const char *commit;         /* the approved commit */
    const char *const *deps;    /* requirements it is stacked on (may be ahead of it in the train) */
    int ndeps;
    const char *verified_on;    /* the base commit its verification merged it into and passed, or NULL */
    const char *verified_merge; /* that merge's commit, or NULL */
} train_change;

/* One build the train asks for: base with changes 0..n-1 merged in, in
 * order (n is 0 for a check of the base alone). Borrowed for the call. */
typedef struct {
    uint64_t build;                 /* names the result */
    const char *base;
    int n;
    const char *const *ids;
    const char *const *commits;
} train_build;

/* Why a change leaves the train without merging. */
typedef enum {
    TRAIN_EJECT_FAILED = 1,     /* its candidate failed with everything ahead of it passing */
    TRAIN_EJECT_DEPENDENCY,     /* a change it is stacked on was ejected */
    TRAIN_EJECT_CONFLICT        /* it does not merge onto what is ahead of it */
} train_eject_kind;

typedef struct {
    void *ctx;
    /* Build this candidate (or this check of the base, n == 0). */
    void (*build)(void *ctx, const train_build *b);
    /* Move the base from `from` to `to` (a fast-forward), merging ids[0..n). */
    void (*advance)(void *ctx, const char *from, const char *to, const char *const *ids, int n);
    /* The change leaves the train unmerged; output is the failing build's
     * (or says which dependency went). */
    void (*eject)(void *ctx, const char *id, train_eject_kind kind, const char *output);
    /* The base fails on its own: the train waits (output: the base's). */
    void (*paused)(void *ctx, const char *base, const char *output);
    /* The base passes again. */
    void (*resumed)(void *ctx, const char *base);
} train_out;

typedef struct {
    int max_ahead;              /* candidates built ahead of the head, at most (>= 1) */
    long long base_retry_ms;    /* a paused train checks its base again after this */
} train_cfg;

/* Where a change is, for people (train_where). */
typedef enum {
    TRAIN_NOT_QUEUED = 0,
    TRAIN_QUEUED,               /* its candidate not built yet */
    TRAIN_BUILDING,             /* its candidate is being built */
    TRAIN_PASSED,               /* its candidate passed; waits for those ahead */
    TRAIN_FAILED,               /* its candidate failed; waits for those ahead to be judged */
    TRAIN_MERGING               /* in the base move under way */
} train_stage;

/* A train on base commit `base` (copied). NULL on a bad argument. */
train *train_create(const char *base, const train_cfg *cfg, const train_out *out);
void train_destroy(train *t);

/* Queues a change at the tail. ORCH_ERR_INVALID (err says why) for an
 * empty or over-long id or commit, an id already queued, or a full train. */
orch_status train_enqueue(train *t, const train_change *c, char err[ERR_LEN]);

/* Takes a change out (cancelled, or a new attempt replaced it); the
 * candidates behind it are built again without it. 1 when it was queued. */
int train_remove(train *t, const char *id);

/* The result of build `build`: passed or not, the merged commit it built
 * (passed), the output (failed; borrowed). A result for no current build
 * is ignored: returns 0; 1 when it counted. merge_conflict: the change did
 * not merge onto what was ahead of it (no build ran). */
int train_result(train *t, uint64_t build, int passed, int merge_conflict, const char *merged, const char *output,
                 long long now_ms);

/* Decides what can be decided now: ejects the failures that can be judged,
 * moves the base over the longest passed prefix, asks for at most `free`
 * builds. Call after every event. */
void train_step(train *t, int free, long long now_ms);

/* The adapter's report of a base move: ok (the base is now its target), or
 * not (the base was moved by someone else to `remote`, or NULL if unknown:
 * every candidate is void). */
void train_advanced(train *t, int ok, const char *remote);

/* The base was moved by someone else: every candidate is void, the base is
 * no longer known to pass. A restored train with a pending move is told
 * the remote base this way too: the move's target completes it. */
void train_base_is(train *t, const char *remote);

/* Reading. */
const char *train_base(const train *t);
/* The commit a base move under way goes to; "" when none. */
const char *train_target(const train *t);
int train_len(const train *t);
int train_paused(const train *t);
/* Position of id (0: the head), or -1. */
int train_position(const train *t, const char *id);
train_stage train_where(const train *t, const char *id);
/* The id at position i, or NULL. */
const char *train_id_at(const train *t, int i);
/* Builds asked for and not answered. */
int train_building(const train *t);

/* The train as JSON (caller frees with cJSON_Delete), and back: a restored
 * train asks again for the builds that were under way (their old results
 * still count), and a pending base move waits for train_base_is. NULL on
 * NULL, or from_json on a malformed document (err says why). */
cJSON *train_to_json(const train *t);
train *train_from_json(const cJSON *j, const train_cfg *cfg, const train_out *out, char err[ERR_LEN]);

#endif
