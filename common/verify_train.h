/* The verifier's part of the merge train (docs/merge.md), without NATS:
 *
 * A candidate is the base commit with approved changes merged in, in
 * order, each as its own merge commit, built and tested by the project's
 * steps in a private clone like a verification (verify.h). A change that
 * does not merge onto what is before it is a conflict, named by its
 * position. Nothing is pushed: the merges are made so that the same
 * changes merged onto the same commit give the same commits, whoever makes
 * them, and a base move makes them again (verifier replicas run the same
 * git: one image).
 *
 * A base move to a commit the repository does not hold (a candidate's, or
 * a verification's merge: verify.c builds a change merged onto the base
 * the same way) makes it again, from `from` and the changes' commits, and
 * moves the base only when it is the same commit.
 *
 * A base move pushes a candidate that passed to the base branch only while
 * the base is still the commit the candidate was built on (a push with a
 * lease), so a base moved by anyone else is never overwritten; asked again
 * for a move that was made, it says it was made. Once moved, the branches
 * of merged work are deleted unless kept: candidate/ and req/ branches the
 * base now holds, and every attempt's branch (req/<id>-a<n>) of the
 * requirements merged. */
#ifndef ORCH_VERIFY_TRAIN_H
#define ORCH_VERIFY_TRAIN_H

#include <stdint.h>

#include "verify.h"

#define VTRAIN_COMMIT_LEN 72   /* a commit id, NUL included */
#define VTRAIN_MAX_CHANGES 256

typedef struct {
    const char *project;
    const char *base;              /* the base commit */
    int n;
    const char *const *ids;        /* the changes' requirement ids (for the merge messages) */
    const char *const *commits;    /* their approved commits */
} vcandidate;

typedef struct {
    int passed;
    int conflict;                  /* commits[conflict_at] did not merge */
    int conflict_at;               /* -1: none */
    int infra;                     /* not the changes' doing (no project, no room, git failing): try again */
    char merged[VTRAIN_COMMIT_LEN];
    char *output;                  /* failed: the failing step's line and its exact output (malloc'd) */
    int64_t steps_ms;              /* the steps' own time */
} vcandidate_result;

/* Whether s is a lower-case hex commit id (7 to 71 digits). */
int verify_hex_id(const char *s);

void verify_candidate(const vconfig *c, const vcandidate *in, vcandidate_result *out, void (*tick)(void *),
                      void *tick_arg);
void vcandidate_result_free(vcandidate_result *r);

typedef struct {
    const char *project;
    const char *from, *to;         /* the base commit now, the candidate to move it to */
    int keep_branches;             /* keep the branches of merged work */
    const char *const *ids;        /* the requirements merged: their req/<id>-a<n> branches go too */
    const char *const *commits;    /* their approved commits, in order (NULL: not given) */
    int nids;
} vadvance;

/* Moves the base. 0: the base is `to` now; -1: it was not moved, remote is
 * the base's commit now ("" unknown) and *why says why; -2: it could not be
 * tried (unknown project, bad ids, no room, no repository): *why. *why is
 * malloc'd (NULL on 0). */
int verify_advance(const vconfig *c, const vadvance *in, char remote[VTRAIN_COMMIT_LEN], char **why,
                   void (*tick)(void *), void *tick_arg);

#endif
