/* One verification, from a result to a verdict, without NATS. Used by the
 * verifier and by orch-agent's release role (library orch_verify).
 *
 * Projects come from the verifier's projects file only (a message names a
 * project; it never gives a path). For a result: the project is looked up,
 * the ref checked (ref.h) and resolved in the project's repository, a
 * private shared clone made in a fresh directory and the commit checked out
 * in it, the project's steps run in order until one fails (runner.h), the
 * files the change touched listed against the base branch, and the
 * directory removed whatever happened. The verdict names the commit the
 * ref resolved to (once it did) and the project's base branch. git runs with an argument vector and
 * a clean environment, like the steps.
 *
 * Verdict kinds: PASS; FAIL (a step failed, or the ref is not a valid ref:
 * the agent's doing; failing_output is that step's exact output);
 * INFRASTRUCTURE_ERROR (unknown project, repository missing, ref not found,
 * no room for a work tree: not the agent's fault, retried by the
 * scheduler). */
#ifndef ORCH_VERIFY_H
#define ORCH_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "pb.h"
#include "status.h"

typedef struct {
    char *name;
    char *dir;                /* inside the checkout, relative */
    char **argv;              /* NULL for an HTTP check */
    char **env;               /* "K=V" added to the clean environment */
    int nenv;
    int64_t timeout_ms;
    char *http_url;           /* HTTP check: GET, expect http_status */
    long http_status;
} vstep;

typedef struct {
    char *name;
    char *repo;               /* path of a git repository */
    char *base;               /* base branch for "files touched" */
    vstep *steps;
    int nsteps;
} vproject;

typedef struct {
    vproject *p;
    int n;
    char *work_root;          /* where work trees are made */
    size_t output_limit;
    int64_t grace_ms;
    int64_t git_timeout_ms;
    int build_merged;         /* 1: a result is built merged onto the base and the merge kept (the verifier; docs/merge.md) */
} vconfig;

/* Parses a projects document (docs/verifier.md). The work root and limits
 * are set by the caller afterwards. err names the key. */
orch_status vconfig_parse(const char *json, size_t len, vconfig *out, char err[ERR_LEN]);
void vconfig_free(vconfig *c);
const vproject *vconfig_find(const vconfig *c, const char *name);

/* Verifies r into v (initialised by the caller; fields malloc'd, free with
 * free_unpacked). tick is called every few seconds while steps run. */
void verify_run(const vconfig *c, const pb_result *r, pb_verdict *v, void (*tick)(void *), void *tick_arg);

/* Removes the directory dir and everything in it, however deep and whatever
 * modes the build left (see verify.c). Best effort: what cannot be removed
 * stays. */
void verify_remove_tree(const char *dir);

#endif
