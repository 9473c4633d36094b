/* What verify.c shares with verify_train.c: one work tree's context, git
 * run the verifier's way, and the project's steps. Private to the
 * orch_verify library. */
#ifndef ORCH_VERIFY_INT_H
#define ORCH_VERIFY_INT_H

#include <stddef.h>

#include "verify.h"

typedef struct {
    const vconfig *c;
    char home[600];           /* the private directory of this work (HOME of git and the steps) */
    void (*tick)(void *);
    void *tick_arg;
} vctx;

/* Makes x->home, a fresh directory under the work root: 0, or -1 with why. */
int verify_home(vctx *x, char *why, size_t n);

/* Runs git with argv in x->home's clean environment; 0 on success, its
 * output in *out (malloc'd; out may be NULL). */
int verify_git(const vctx *x, const char *const *argv, char **out);

/* The same with "K=V" strings added to the environment. */
int verify_git_env(const vctx *x, char *const *extra, int nextra, const char *const *argv, char **out);

/* Cuts trailing newlines and blanks. */
void verify_trim(char *s);

/* Merges commit into the work tree src's HEAD as the merge train does
 * (verify_train.c): "Merge <id> into <base_branch>", by orch-train, dated
 * by the commit, so the same merge is the same commit whoever makes it.
 * 0; -1: it does not merge (git's words in *out); -2: no such commit. */
int verify_merge_one(const vctx *x, const char *src, const char *base_branch, const char *id, const char *commit,
                     char **out);

/* Runs p's steps in the work tree src into v (verify.c). 1: all passed. */
int verify_steps(const vctx *x, const vproject *p, const char *src, pb_verdict *v);

#endif
