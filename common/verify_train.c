/* The verifier's part of the merge train (verify_train.h): a candidate
 * built the way a verification is (private shared clone, clean
 * environment, the project's steps), and the base moved by a push that
 * only succeeds from the commit the train knows. */
#include "verify_train.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbuf.h"
#include "pb.h"
#include "text.h"
#include "verify_int.h"

int verify_hex_id(const char *s)
{
    size_t n = s ? strspn(s, "0123456789abcdef") : 0;
    return n >= 7 && n < VTRAIN_COMMIT_LEN && s[n] == '\0';
}

/* A change id as it may appear in a merge message: what ids are made of. */
static int plain_id(const char *s)
{
    size_t n = s ? strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") : 0;
    return n > 0 && n < 64 && s[n] == '\0';
}


/* *dst = the formatted text (malloc'd; a former one freed). */
static void say(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(char **dst, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    free(*dst);
    *dst = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(*dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
}

/* The private clone of p's repository at src: 0, or -1 with *out git's words. */
static int clone(const vctx *x, const vproject *p, const char *src, char **out)
{
    const char *a[] = {"git", "clone", "--quiet", "--shared", "--no-checkout", "--", p->repo, src, NULL};
    return verify_git(x, a, out);
}

int verify_merge_one(const vctx *x, const char *src, const char *base_branch, const char *id, const char *commit,
                     char **out)
{
    /* The merge's author, committer and dates are fixed by what it merges
     * (the change's own commit date), so the same change merged onto the
     * same commit gives the same merge commit, whoever builds it: the
     * candidate of a longer prefix then holds the shorter one's exact
     * commits, and a verification's merge is the train's. */
    char date[64], msg[300], ad[80], cd[80];
    char *env[] = {"GIT_AUTHOR_NAME=orch-train", "GIT_AUTHOR_EMAIL=orch-train@orchestrator.local",
                   "GIT_COMMITTER_NAME=orch-train", "GIT_COMMITTER_EMAIL=orch-train@orchestrator.local", ad, cd};
    const char *when[] = {"git", "-C", src, "log", "-1", "--format=%ct", commit, NULL};
    const char *mg[] = {"git", "-C", src, "merge", "--no-ff", "--no-edit", "-m", msg, commit, NULL};
    *out = NULL;
    if (verify_git(x, when, out) != 0)
        return -2;
    snprintf(date, sizeof(date), "@%ld +0000", strtol(*out, NULL, 10));
    free(*out);
    *out = NULL;
    snprintf(ad, sizeof(ad), "GIT_AUTHOR_DATE=%s", date);
    snprintf(cd, sizeof(cd), "GIT_COMMITTER_DATE=%s", date);
    snprintf(msg, sizeof(msg), "Merge %s into %s", id, base_branch);
    return verify_git_env(x, env, 6, mg, out) == 0 ? 0 : -1;
}

void verify_candidate(const vconfig *c, const vcandidate *in, vcandidate_result *res, void (*tick)(void *),
                      void *tick_arg)
{
    const vproject *p = vconfig_find(c, in->project);
    vctx x = {c, "", tick, tick_arg};
    char src[700], why[300], *out = NULL;
    int made = 0;

    memset(res, 0, sizeof(*res));
    res->conflict_at = -1;
    if (!p) {
        res->infra = 1;
        say(&res->output, "unknown project '%.200s' (not in the verifier's projects file)", in->project);
        return;
    }
    if (!verify_hex_id(in->base) || in->n < 0 || in->n > VTRAIN_MAX_CHANGES) {
        say(&res->output, "a candidate needs a base commit id and at most %d changes", VTRAIN_MAX_CHANGES);
        return;
    }
    for (int k = 0; k < in->n; k++)
        if (!verify_hex_id(in->commits[k]) || !plain_id(in->ids[k])) {
            say(&res->output, "change %d of the candidate has no plain id or no commit id", k);
            return;
        }
    if (verify_home(&x, why, sizeof(why)) != 0) {
        res->infra = 1;
        say(&res->output, "%s", why);
        return;
    }
    made = 1;
    snprintf(src, sizeof(src), "%s/src", x.home);
    {
        const char *co[] = {"git", "-C", src, "checkout", "--quiet", "--detach", in->base, NULL};
        if (clone(&x, p, src, &out) != 0 || (free(out), out = NULL, verify_git(&x, co, &out) != 0)) {
            res->infra = 1;
            say(&res->output, "cannot check out the base %.80s: %.900s", in->base, out ? out : "");
            goto done;
        }
        free(out);
        out = NULL;
    }
    /* Each change merged in order, as its own merge commit
     * (verify_merge_one): moving the base over a longer prefix after a
     * shorter one is a fast forward. */
    for (int k = 0; k < in->n; k++) {
        int rc = verify_merge_one(&x, src, p->base, in->ids[k], in->commits[k], &out);
        if (rc != 0) {
            size_t n = strlen(out ? out : "") + 400;
            res->conflict = 1; /* or gone from the repository: it cannot be merged either */
            res->conflict_at = k;
            free(res->output);
            res->output = xmalloc(n);
            if (rc == -2)
                snprintf(res->output, n, "%s (%s) is not in the project's repository: %s", in->commits[k],
                         in->ids[k], out ? out : "");
            else
                snprintf(res->output, n, "%s (%s) does not merge onto %s with the %d change%s ahead of it:\n%s",
                         in->commits[k], in->ids[k], p->base, k, k == 1 ? "" : "s", out ? out : "");
            goto done;
        }
        free(out);
        out = NULL;
    }
    {
        const char *head[] = {"git", "-C", src, "rev-parse", "HEAD", NULL};
        if (verify_git(&x, head, &out) != 0) {
            res->infra = 1;
            say(&res->output, "git rev-parse HEAD failed: %.600s", out ? out : "");
            goto done;
        }
        verify_trim(out);
        snprintf(res->merged, sizeof(res->merged), "%s", out);
        free(out);
        out = NULL;
    }
    {
        pb_verdict v = ORCHESTRATOR__V1__VERDICT__INIT;
        res->passed = verify_steps(&x, p, src, &v);
        if (!res->passed) {
            size_t n = strlen(v.detail) + strlen(v.failing_output) + 8;
            free(res->output);
            res->output = xmalloc(n);
            snprintf(res->output, n, "%s:\n%s", v.detail, v.failing_output);
        }
        for (size_t i = 0; i < v.n_steps; i++)
            res->steps_ms += v.steps[i]->duration_ms;
        {
            pb_verdict *heap = xmalloc(sizeof(*heap));
            *heap = v;
            orchestrator__v1__verdict__free_unpacked(heap, NULL);
        }
    }
done:
    free(out);
    if (res->output) {
        char *clean = outbuf_clean(res->output, strlen(res->output), NULL);
        free(res->output);
        res->output = clean;
    }
    if (made)
        verify_remove_tree(x.home);
}

void vcandidate_result_free(vcandidate_result *r)
{
    free(r->output);
    r->output = NULL;
}

/* The base branch's commit in p's repository as src's origin, into
 * remote ("" when it cannot be read). */
static void remote_base(const vctx *x, const vproject *p, const char *src, char remote[VTRAIN_COMMIT_LEN])
{
    char ref[300], *out = NULL;
    const char *ls[] = {"git", "-C", src, "ls-remote", "origin", ref, NULL};
    snprintf(ref, sizeof(ref), "refs/heads/%s", p->base);
    remote[0] = '\0';
    if (verify_git(x, ls, &out) == 0 && out) {
        size_t n = strspn(out, "0123456789abcdef");
        if (n >= 7 && n < VTRAIN_COMMIT_LEN)
            snprintf(remote, VTRAIN_COMMIT_LEN, "%.*s", (int)n, out);
    }
    free(out);
}

/* The branches (refs/remotes/origin/...) matching patterns, that the new
 * base holds (to) or all of them (to NULL), added to *specs as deletions
 * (":refs/heads/<name>"). */
static void list_refs(const vctx *x, const char *src, const char *to, const char *const *patterns, int npatterns,
                      char ***specs, int *n)
{
    const char *argv[8 + 2 * VTRAIN_MAX_CHANGES + 2] = {"git", "-C", src, "for-each-ref", "--format=%(refname)"};
    char *out = NULL;
    int a = 5;
    if (to) {
        argv[a++] = "--merged";
        argv[a++] = to;
    }
    for (int k = 0; k < npatterns; k++)
        argv[a++] = patterns[k];
    argv[a] = NULL;
    if (verify_git(x, argv, &out) != 0 || !out) {
        free(out);
        return;
    }
    for (char *line = out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        if ((nl = strchr(line, '\n')))
            *nl = '\0';
        if (strncmp(line, "refs/remotes/origin/", 20) != 0)
            continue;
        *specs = xrealloc(*specs, sizeof(char *) * (size_t)(*n + 1));
        (*specs)[*n] = xmalloc(strlen(line) + 16);
        sprintf((*specs)[(*n)++], ":refs/heads/%s", line + 20);
    }
    free(out);
}

/* Deletes the branches of merged work (verify_train.h), a few pushes of
 * many deletions each. Best effort: a branch that stays is only clutter. */
static void drop_merged(const vctx *x, const vproject *p, const char *src, const vadvance *in)
{
    const char *merged[] = {"refs/remotes/origin/candidate/", "refs/remotes/origin/req/"};
    char **patterns = xcalloc((size_t)in->nids * 2 + 1, sizeof(char *)), **specs = NULL;
    int np = 0, n = 0;
    list_refs(x, src, in->to, merged, 2, &specs, &n);
    for (int k = 0; k < in->nids && k < VTRAIN_MAX_CHANGES; k++) {
        if (!plain_id(in->ids[k]))
            continue;
        /* every attempt's branch, and its verifications' merges on older bases */
        patterns[np] = xmalloc(300);
        snprintf(patterns[np++], 300, "refs/remotes/origin/req/%s-a*", in->ids[k]);
        patterns[np] = xmalloc(300);
        snprintf(patterns[np++], 300, "refs/remotes/origin/candidate/%s/v-%s-a*", p->base, in->ids[k]);
    }
    if (np)
        list_refs(x, src, NULL, (const char *const *)patterns, np, &specs, &n);
    for (int at = 0; at < n; at += 64) {
        const char *argv[6 + 64 + 1] = {"git", "-C", src, "push", "-q", "origin"};
        int a = 6;
        for (int k = at; k < n && k < at + 64; k++)
            argv[a++] = specs[k];
        argv[a] = NULL;
        verify_git(x, argv, NULL);
    }
    for (int k = 0; k < np; k++)
        free(patterns[k]);
    for (int k = 0; k < n; k++)
        free(specs[k]);
    free(patterns);
    free(specs);
}

/* The commit `to`, in the clone src: there already (a candidate kept), or
 * made again from `from` and the changes (a verification's merge, made the
 * same way). 0 when src holds it; -1 with *why otherwise. */
static int remake(const vctx *x, const vproject *p, const char *src, const vadvance *in, char **why)
{
    char spec[120], *out = NULL;
    const char *has[] = {"git", "-C", src, "cat-file", "-e", spec, NULL};
    const char *co[] = {"git", "-C", src, "checkout", "--quiet", "--detach", in->from, NULL};
    const char *head[] = {"git", "-C", src, "rev-parse", "HEAD", NULL};
    snprintf(spec, sizeof(spec), "%s^{commit}", in->to);
    if (verify_git(x, has, NULL) == 0)
        return 0;
    if (!in->commits || in->nids < 1 || verify_git(x, co, &out) != 0) {
        say(why, "%.12s is not in the repository and cannot be made again: %.300s", in->to, out ? out : "");
        free(out);
        return -1;
    }
    for (int k = 0; k < in->nids; k++) {
        free(out);
        out = NULL;
        if (!verify_hex_id(in->commits[k]) || !plain_id(in->ids[k]) ||
            verify_merge_one(x, src, p->base, in->ids[k], in->commits[k], &out) != 0) {
            say(why, "%.12s cannot be made again: %s does not merge: %.300s", in->to, in->ids[k], out ? out : "");
            free(out);
            return -1;
        }
    }
    free(out);
    out = NULL;
    if (verify_git(x, head, &out) != 0 || (verify_trim(out), strcmp(out, in->to) != 0)) {
        say(why, "made again, the merge is %.12s, not %.12s", out ? out : "?", in->to);
        free(out);
        return -1;
    }
    free(out);
    return 0;
}

int verify_advance(const vconfig *c, const vadvance *in, char remote[VTRAIN_COMMIT_LEN], char **why,
                   void (*tick)(void *), void *tick_arg)
{
    const vproject *p = vconfig_find(c, in->project);
    vctx x = {c, "", tick, tick_arg};
    char src[700], home_why[300], lease[300], spec[300], *out = NULL;
    int rc = -1;

    remote[0] = '\0';
    *why = NULL;
    if (!p) {
        say(why, "unknown project '%.200s' (not in the verifier's projects file)", in->project);
        return -2;
    }
    if (!verify_hex_id(in->from) || !verify_hex_id(in->to)) {
        say(why, "a base move needs two commit ids");
        return -2;
    }
    if (verify_home(&x, home_why, sizeof(home_why)) != 0) {
        say(why, "%s", home_why);
        return -2;
    }
    snprintf(src, sizeof(src), "%s/src", x.home);
    if (clone(&x, p, src, &out) != 0) {
        say(why, "cannot clone the project's repository: %.600s", out ? out : "");
        rc = -2;
        goto done;
    }
    free(out);
    out = NULL;
    if (remake(&x, p, src, in, why) != 0)
        goto done; /* remote "": the train builds what it had again, kept this time */
    {
        /* only from the commit the train built on: anyone else's move wins */
        const char *push[] = {"git", "-C", src, "push", "-q", lease, "origin", spec, NULL};
        snprintf(lease, sizeof(lease), "--force-with-lease=refs/heads/%s:%s", p->base, in->from);
        snprintf(spec, sizeof(spec), "%s:refs/heads/%s", in->to, p->base);
        if (verify_git(&x, push, &out) == 0) {
            rc = 0;
        } else {
            remote_base(&x, p, src, remote);
            if (!strcmp(remote, in->to))
                rc = 0; /* moved already (this move, asked again) */
            else
                say(why, "%s was not moved: %.600s", p->base, out ? out : "");
        }
    }
    if (rc == 0) {
        snprintf(remote, VTRAIN_COMMIT_LEN, "%s", in->to);
        if (!in->keep_branches)
            drop_merged(&x, p, src, in);
    }
done:
    free(out);
    verify_remove_tree(x.home);
    return rc;
}
