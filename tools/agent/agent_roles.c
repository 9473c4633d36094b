/* orch-agent's review and release roles: both act on a change already
 * made, named by the dispatch or found on the author's work branch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent_int.h"
#include "edge.h"
#include "fileio.h"
#include "log.h"
#include "names.h"
#include "nc.h"
#include "runner.h"
#include "text.h"
#include "topology.h"

/* What a review or release dispatch names: its own fields when the
 * scheduler sent them, else the work branch the author pushed for the
 * attempt (req/<id>-a<attempt>) and the project's base. */
typedef struct {
    char ref[300], commit[64], base[200], author[100], summary[600];
} change;

static int hex_id(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n >= 7 && n <= 64 && s[n] == '\0';
}

static int find_change(agent *a, const pb_requirement *r, const char *json, size_t len, change *c)
{
    cJSON *o = cJSON_ParseWithLength(json, len);
    const char *v;
    memset(c, 0, sizeof(*c));
#define FIELD(dst, key)                                                                    \
    if ((v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key))) && *v)       \
    snprintf(dst, sizeof(dst), "%s", v)
    FIELD(c->ref, "ref");
    FIELD(c->commit, "commit");
    FIELD(c->base, "base");
    FIELD(c->author, "author");
    FIELD(c->summary, "summary");
#undef FIELD
    cJSON_Delete(o);
    /* Work goes onto the project's own base only. */
    if (*c->base && strcmp(c->base, a->project->base) != 0) {
        log_error("%s: the dispatch names base %.100s; the project's base is %s", r->id, c->base, a->project->base);
        return -1;
    }
    snprintf(c->base, sizeof(c->base), "%s", a->project->base);
    /* The verified commit is what counts; the ref only leads to it when the
     * dispatch names none (an author may report a commit id as its ref). */
    if (*c->ref && strncmp(c->ref, "refs/heads/", 11) != 0) {
        if (!*c->commit) {
            log_error("%s: the dispatch names ref %.100s, not a branch", r->id, c->ref);
            return -1;
        }
        c->ref[0] = '\0';
    }
    if (!*c->ref)
        snprintf(c->ref, sizeof(c->ref), "refs/heads/req/%s-a%u", r->id, r->attempt ? r->attempt : 1);
    if (!*c->commit) {
        char remote[400];
        const char *argv[] = {"git", "rev-parse", "--verify", "-q", remote, NULL};
        snprintf(remote, sizeof(remote), "refs/remotes/origin/%s^{commit}", c->ref + 11);
        if (git_line(a, a->clone, argv, c->commit, sizeof(c->commit)) != 0 || !*c->commit)
            return -1;
    }
    if (!hex_id(c->commit)) /* nothing else reaches git as a revision */
        return -1;
    if (!*c->author || !*c->summary) {
        const char *argv[] = {"git", "log", "-1", "--format=%an", c->commit, NULL};
        const char *argv2[] = {"git", "log", "-1", "--format=%s", c->commit, NULL};
        if (!*c->author)
            git_line(a, a->clone, argv, c->author, sizeof(c->author));
        if (!*c->summary)
            git_line(a, a->clone, argv2, c->summary, sizeof(c->summary));
    }
    return 0;
}

void agent_review(agent *a, const pb_requirement *r, const char *json, size_t len)
{
    work_ref w = {r->id, r->attempt ? r->attempt : 1};
    char tree[900], range[400], base_ref[300], err[ERR_LEN];
    char *diff = NULL, *files = NULL, *prompt = NULL;
    agent_var *wv = NULL;
    size_t nwv = 0;
    change c;
    cli_outcome o;
    memset(&o, 0, sizeof(o));

    heartbeat(a, r->id, 0);
    snprintf(tree, sizeof(tree), "%s/trees/%s-review-a%u", a->root, r->id, w.attempt);
    if (fetch(a) != 0 || find_change(a, r, json, len, &c) != 0) {
        report_error(a, &w, "change_not_found", 1, "the change to review was not found in the project's repository", NULL);
        return;
    }
    snprintf(base_ref, sizeof(base_ref), "origin/%s", c.base);
    snprintf(range, sizeof(range), "%s...%s", base_ref, c.commit);
    {
        const char *d[] = {"git", "diff", range, NULL};
        const char *f[] = {"git", "diff", "--name-only", range, NULL};
        const char *add[] = {"git", "worktree", "add", "-q", "-f", "--detach", tree, c.commit, NULL};
        git(a, a->clone, d, &diff);
        git(a, a->clone, f, &files);
        tree_remove(a, tree);
        if (git(a, a->clone, add, NULL) != 0) {
            report_error(a, &w, "git_failed", 1, "git worktree add failed for the review", NULL);
            goto out;
        }
    }
    if (diff && strlen(diff) > (size_t)a->c->diff_limit) {
        diff = xrealloc(diff, (size_t)a->c->diff_limit + 64);
        snprintf(diff + a->c->diff_limit, 64, "\n[... diff cut at %lld bytes ...]", a->c->diff_limit);
    }
    {
        wv = agent_work_vars(r, a->project->name, "", "", &nwv);
        agent_var *v = xcalloc(nwv + 7, sizeof(*v));
        memcpy(v, wv, nwv * sizeof(*v));
        v[nwv] = (agent_var){"base", c.base};
        v[nwv + 1] = (agent_var){"commit", c.commit};
        v[nwv + 2] = (agent_var){"author", c.author};
        v[nwv + 3] = (agent_var){"summary", c.summary};
        v[nwv + 4] = (agent_var){"changed", files ? files : ""};
        v[nwv + 5] = (agent_var){"diff", diff ? diff : ""};
        if (agent_render(a->review_template, v, nwv + 6, &prompt, err) != ORCH_OK) {
            free(v);
            report_error(a, &w, "bad_template", 0, err, NULL);
            goto out;
        }
        free(v);
    }
    run_cli(a, &w, tree, agent_model_for(r->model_hint, a->c->model, a->c->cheap_model), prompt, "-review", 0, &o);
    {
        int approved = 0;
        char comments[AGENT_TEXT_MAX];
        pb_result res = ORCHESTRATOR__V1__RESULT__INIT;
        if (!o.failure.failed && agent_review_verdict(o.usage.text, &approved, comments, sizeof(comments)) != 0) {
            o.failure = (agent_failure){1, 0, "no_verdict", {0}};
            snprintf(o.failure.message, sizeof(o.failure.message), "the review gave no VERDICT line: %.400s",
                     o.usage.text);
        }
        breaker_note(a, &w, &o);
        if (o.failure.failed) {
            report_error(a, &w, o.failure.reason, o.failure.transient, o.failure.message, &o.usage);
            goto out;
        }
        res.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_REVIEW;
        res.ref = c.commit;
        res.commit = c.commit;
        res.review = approved ? ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_APPROVED
                              : ORCHESTRATOR__V1__REVIEW_OUTCOME__REVIEW_OUTCOME_CHANGES_REQUESTED;
        res.tokens_used = o.usage.tokens;
        res.cost_micro_usd = usd_micro(&o.usage);
        comments[1000] = '\0'; /* the scheduler keeps a quarter of its output bound for comments */
        res.summary = *comments ? comments : (char *)(approved ? "approved" : "changes requested");
        report_result(a, &w, "review", &res);
        if (o.usage.has_cost)
            log_info("%s attempt %u reviewed: %s, cost $%.6f", r->id, w.attempt,
                     approved ? "approved" : "changes requested", o.usage.cost_usd);
        else
            log_info("%s attempt %u reviewed: %s", r->id, w.attempt, approved ? "approved" : "changes requested");
    }
out:
    free(diff);
    free(files);
    free(prompt);
    free(o.output);
    agent_vars_free(wv, nwv);
    tree_remove(a, tree);
}

/* The candidate: the base as fetched with the change merged, pushed to
 * candidate/<id>-a<n>, verified by the project's steps; then the base
 * moves to it by a plain push, which the repository accepts only as a
 * fast forward: if the base moved meanwhile, it is built again on the new
 * base. Returns 0 when merged; else reason and msg say why. */
static int merge_once(agent *a, const pb_requirement *r, const change *c, const char *tree, char *sha, size_t shalen,
                      const char **reason, int *transient, char *msg, size_t msglen)
{
    char base_ref[300], cand[300], spec[400], title[200], author[200], email[200];
    char *out = NULL;
    int rc = -1;
    const char *add[] = {"git", "worktree", "add", "-q", "-f", "--detach", tree, base_ref, NULL};
    const char *merge[] = {"git", "-c", author, "-c", email, "merge", "--no-ff", "--no-edit", "-m", title, c->commit,
                           NULL};
    const char *head[] = {"git", "rev-parse", "HEAD", NULL};
    const char *push_cand[] = {"git", "push", "-q", "-f", "origin", spec, NULL};
    pb_result res = ORCHESTRATOR__V1__RESULT__INIT;
    pb_verdict v = ORCHESTRATOR__V1__VERDICT__INIT;

    snprintf(base_ref, sizeof(base_ref), "origin/%s", c->base);
    snprintf(cand, sizeof(cand), "refs/heads/candidate/%s-a%u", r->id, r->attempt ? r->attempt : 1);
    snprintf(title, sizeof(title), "Merge %s: %.150s", r->id, r->title);
    snprintf(author, sizeof(author), "user.name=%s", a->instance);
    snprintf(email, sizeof(email), "user.email=%s@orch-agent.local", a->instance);
    *transient = 0;
    tree_remove(a, tree);
    if (git(a, a->clone, add, &out) != 0) {
        *reason = "git_failed", *transient = 1;
        snprintf(msg, msglen, "git worktree add failed: %.300s", out ? out : "");
        goto done;
    }
    free(out);
    out = NULL;
    if (git(a, tree, merge, &out) != 0) {
        *reason = "merge_conflict";
        snprintf(msg, msglen, "%s does not merge onto %s:\n%s", c->commit, c->base, out ? out : "");
        goto done;
    }
    free(out);
    out = NULL;
    git_line(a, tree, head, sha, shalen);
    snprintf(spec, sizeof(spec), "HEAD:%s", cand);
    if (git(a, tree, push_cand, &out) != 0) {
        *reason = "git_failed", *transient = 1;
        snprintf(msg, msglen, "could not push the candidate: %.300s", out ? out : "");
        goto done;
    }
    res.requirement_id = (char *)r->id;
    res.attempt = r->attempt;
    res.project = a->project->name;
    res.ref = cand;
    verify_run(&a->projects, &res, &v, on_tick, a);
    if (v.kind != ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS) {
        *reason = v.kind == ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL ? "candidate_failed" : "verify_failed";
        *transient = v.kind != ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL;
        snprintf(msg, msglen, "%s merged onto %s fails verification:\n%s", c->commit, c->base,
                 *v.failing_output ? v.failing_output : v.detail);
        goto done;
    }
    {
        const char *push_base[] = {"git", "push", "-q", "origin", spec, NULL};
        snprintf(spec, sizeof(spec), "%s:refs/heads/%s", sha, c->base);
        free(out);
        out = NULL;
        if (git(a, tree, push_base, &out) != 0) {
            *reason = "base_moved", *transient = 1;
            snprintf(msg, msglen, "%s moved while the candidate was verified: %.300s", c->base, out ? out : "");
            rc = 1;
            goto done;
        }
    }
    rc = 0;
done:
    {
        const char *del[] = {"git", "push", "-q", "origin", spec, NULL};
        snprintf(spec, sizeof(spec), ":%s", cand);
        git(a, a->clone, del, NULL);
    }
    /* v's fields were filled by verify_run: free them, not res's borrowed ones. */
    {
        Orchestrator__V1__Verdict *copy = xmalloc(sizeof(*copy));
        *copy = v;
        protobuf_c_message_free_unpacked(&copy->base, NULL);
    }
    free(out);
    return rc;
}

/* Once merged, the attempts' branches of the work (req/<id>-a<n>) are
 * deleted from the project's repository, unless agent.keep_branches: the
 * base holds the work, and a team's repository does not fill up with
 * finished branches. Best effort: a branch that stays is only clutter. */
static void delete_work_branches(agent *a, const pb_requirement *r)
{
    char pattern[200], *out = NULL;
    const char *ls[] = {"git", "ls-remote", "--heads", "origin", pattern, NULL};
    if (a->c->keep_branches)
        return;
    snprintf(pattern, sizeof(pattern), "refs/heads/req/%s-a*", r->id);
    if (git(a, a->clone, ls, &out) != 0 || !out) {
        free(out);
        return;
    }
    for (char *line = out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        char *ref;
        if ((nl = strchr(line, '\n')))
            *nl = '\0';
        if ((ref = strchr(line, '\t'))) {
            char spec[300];
            const char *del[] = {"git", "push", "-q", "origin", spec, NULL};
            snprintf(spec, sizeof(spec), ":%s", ref + 1);
            git(a, a->clone, del, NULL);
        }
    }
    free(out);
}

void agent_release(agent *a, const pb_requirement *r, const char *json, size_t len)
{
    work_ref w = {r->id, r->attempt ? r->attempt : 1};
    char tree[900], sha[64] = "", msg[MERGE_MSG_MAX];
    const char *reason = "";
    int transient = 0, rc = -1;
    change c;

    heartbeat(a, r->id, 0);
    snprintf(tree, sizeof(tree), "%s/trees/%s-merge-a%u", a->root, r->id, w.attempt);
    for (int round = 0; round < 5 && !agent_stopping(); round++) {
        if (fetch(a) != 0 || find_change(a, r, json, len, &c) != 0) {
            report_error(a, &w, "change_not_found", 1, "the approved change was not found in the project's repository",
                         0);
            return;
        }
        rc = merge_once(a, r, &c, tree, sha, sizeof(sha), &reason, &transient, msg, sizeof(msg));
        tree_remove(a, tree);
        if (rc != 1)
            break; /* merged, or failed for good: only a moved base is tried again */
    }
    if (rc != 0) {
        char log_path[900];
        snprintf(log_path, sizeof(log_path), "%s/logs/%s-merge-a%u.log", a->root, r->id, w.attempt);
        write_file(log_path, msg); /* the whole output; the log line is cut */
        report_error(a, &w, reason, transient, msg, NULL);
        return;
    }
    {
        pb_result res = ORCHESTRATOR__V1__RESULT__INIT;
        char ref[300], summary[400];
        snprintf(ref, sizeof(ref), "refs/heads/%s", c.base);
        snprintf(summary, sizeof(summary), "merged %s onto %s as %s", c.commit, c.base, sha);
        res.agent_type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_RELEASE;
        res.ref = ref;
        res.commit = sha;
        res.summary = summary;
        report_result(a, &w, "merge", &res);
        delete_work_branches(a, r);
        log_info("%s: %s", r->id, summary);
    }
}
