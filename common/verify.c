#include "verify.h"
#include "verify_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outbuf.h"
#include "ref.h"
#include "runner.h"
#include "text.h"

#define DEFAULT_STEP_TIMEOUT_MS (600 * 1000LL)

/* --- the projects document ------------------------------------------------------ */

static void add_step(vproject *p, const char *name, const char *dir, const char *const *argv, int64_t timeout_ms)
{
    vstep *s;
    int n = 0;
    p->steps = xrealloc(p->steps, sizeof(vstep) * (size_t)(p->nsteps + 1));
    s = &p->steps[p->nsteps++];
    memset(s, 0, sizeof(*s));
    s->name = xstrdup(name);
    s->dir = xstrdup(dir);
    while (argv[n])
        n++;
    s->argv = xcalloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        s->argv[i] = xstrdup(argv[i]);
    s->timeout_ms = timeout_ms;
}

/* The seed's verification: both builds, the backend tests (no tests is not
 * a failure), the smoke test. */
static void seed_steps(vproject *p)
{
    static const char *const build[] = {"npm", "run", "build", NULL};
    static const char *const test[] = {"npm", "run", "test", "--", "--passWithNoTests", NULL};
    static const char *const smoke[] = {"./smoke-test.sh", NULL};
    add_step(p, "backend-build", "backend", build, DEFAULT_STEP_TIMEOUT_MS);
    add_step(p, "frontend-build", "frontend", build, DEFAULT_STEP_TIMEOUT_MS);
    add_step(p, "backend-tests", "backend", test, 900 * 1000LL);
    add_step(p, "smoke-test", ".", smoke, 300 * 1000LL);
}

static int safe_dir(const char *d)
{
    const char *c = d;
    if (d[0] == '/' )
        return 0;
    for (;;) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 2 && !strncmp(c, "..", 2))
            return 0;
        if (!slash)
            return 1;
        c = slash + 1;
    }
}

static int parse_step(vproject *p, const cJSON *j, int k, char err[ERR_LEN])
{
    const cJSON *name = cJSON_GetObjectItem(j, "name"), *dir = cJSON_GetObjectItem(j, "dir"),
                *cmd = cJSON_GetObjectItem(j, "command"), *to = cJSON_GetObjectItem(j, "timeout_s"),
                *env = cJSON_GetObjectItem(j, "env"), *http = cJSON_GetObjectItem(j, "http");
    vstep *s;
    char where[160];

    snprintf(where, sizeof(where), "projects.%s.steps[%d]", p->name, k);
    if (!cJSON_IsString(name) || !*name->valuestring) {
        snprintf(err, ERR_LEN, "%s.name: expected a non-empty string", where);
        return 0;
    }
    if (dir && (!cJSON_IsString(dir) || !safe_dir(dir->valuestring))) {
        snprintf(err, ERR_LEN, "%s.dir: expected a relative path inside the checkout", where);
        return 0;
    }
    if (to && (!cJSON_IsNumber(to) || to->valuedouble < 1 || to->valuedouble > 86400)) {
        snprintf(err, ERR_LEN, "%s.timeout_s: expected 1..86400", where);
        return 0;
    }
    p->steps = xrealloc(p->steps, sizeof(vstep) * (size_t)(p->nsteps + 1));
    s = &p->steps[p->nsteps++];
    memset(s, 0, sizeof(*s));
    s->name = xstrdup(name->valuestring);
    s->dir = xstrdup(dir ? dir->valuestring : ".");
    s->timeout_ms = to ? (int64_t)(to->valuedouble * 1000) : DEFAULT_STEP_TIMEOUT_MS;
    if (http) {
        const cJSON *url = cJSON_GetObjectItem(http, "url"), *st = cJSON_GetObjectItem(http, "status"),
                    *hto = cJSON_GetObjectItem(http, "timeout_s");
        if (!cJSON_IsString(url) || (strncmp(url->valuestring, "http://", 7) && strncmp(url->valuestring, "https://", 8))) {
            snprintf(err, ERR_LEN, "%s.http.url: expected an http:// or https:// URL", where);
            return 0;
        }
        s->http_url = xstrdup(url->valuestring);
        s->http_status = cJSON_IsNumber(st) ? (long)st->valuedouble : 200;
        if (cJSON_IsNumber(hto))
            s->timeout_ms = (int64_t)(hto->valuedouble * 1000);
        return 1;
    }
    if (cJSON_IsString(cmd)) {
        /* "make test": split on spaces; no shell, no quoting */
        char *copy = xstrdup(cmd->valuestring), *save, *tok;
        int n = 0;
        s->argv = xcalloc(strlen(copy) / 2 + 2, sizeof(char *));
        for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
            s->argv[n++] = xstrdup(tok);
        free(copy);
        if (n == 0) {
            snprintf(err, ERR_LEN, "%s.command is empty", where);
            return 0;
        }
    } else if (cJSON_IsArray(cmd) && cJSON_GetArraySize(cmd) > 0) {
        const cJSON *it;
        int n = 0;
        s->argv = xcalloc((size_t)cJSON_GetArraySize(cmd) + 1, sizeof(char *));
        cJSON_ArrayForEach(it, cmd) {
            if (!cJSON_IsString(it)) {
                snprintf(err, ERR_LEN, "%s.command[%d]: expected a string", where, n);
                return 0;
            }
            s->argv[n++] = xstrdup(it->valuestring);
        }
    } else {
        snprintf(err, ERR_LEN, "%s: needs \"command\" (a list or a string) or \"http\"", where);
        return 0;
    }
    if (env) {
        const cJSON *it;
        if (!cJSON_IsObject(env)) {
            snprintf(err, ERR_LEN, "%s.env: expected an object of strings", where);
            return 0;
        }
        s->env = xcalloc((size_t)cJSON_GetArraySize(env) + 1, sizeof(char *));
        cJSON_ArrayForEach(it, env) {
            char *kv;
            if (!cJSON_IsString(it)) {
                snprintf(err, ERR_LEN, "%s.env.%s: expected a string", where, it->string);
                return 0;
            }
            kv = xmalloc(strlen(it->string) + strlen(it->valuestring) + 2);
            sprintf(kv, "%s=%s", it->string, it->valuestring);
            s->env[s->nenv++] = kv;
        }
    }
    return 1;
}

orch_status vconfig_parse(const char *json, size_t len, vconfig *c, char err[ERR_LEN])
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    const cJSON *projects, *pj;

    memset(c, 0, sizeof(*c));
    if (!cJSON_IsObject(root) || !cJSON_IsObject(projects = cJSON_GetObjectItem(root, "projects"))) {
        snprintf(err, ERR_LEN, "projects file: expected {\"projects\": {\"<name>\": {...}}}");
        cJSON_Delete(root);
        return ORCH_ERR_INVALID;
    }
    cJSON_ArrayForEach(pj, projects) {
        const cJSON *repo = cJSON_GetObjectItem(pj, "repo"), *base = cJSON_GetObjectItem(pj, "base"),
                    *steps = cJSON_GetObjectItem(pj, "steps"), *st;
        vproject *p;
        int k = 0;
        if (!cJSON_IsString(repo) || !*repo->valuestring) {
            snprintf(err, ERR_LEN, "projects.%s.repo: expected the path of a git repository", pj->string);
            goto fail;
        }
        c->p = xrealloc(c->p, sizeof(vproject) * (size_t)(c->n + 1));
        p = &c->p[c->n++];
        memset(p, 0, sizeof(*p));
        p->name = xstrdup(pj->string);
        p->repo = xstrdup(repo->valuestring);
        p->base = xstrdup(cJSON_IsString(base) ? base->valuestring : "main");
        if (!steps) {
            seed_steps(p);
            continue;
        }
        if (!cJSON_IsArray(steps)) {
            snprintf(err, ERR_LEN, "projects.%s.steps: expected a list", pj->string);
            goto fail;
        }
        cJSON_ArrayForEach(st, steps) if (!parse_step(p, st, k++, err)) goto fail;
    }
    cJSON_Delete(root);
    return ORCH_OK;
fail:
    cJSON_Delete(root);
    vconfig_free(c);
    return ORCH_ERR_INVALID;
}

void vconfig_free(vconfig *c)
{
    for (int i = 0; i < c->n; i++) {
        vproject *p = &c->p[i];
        for (int k = 0; k < p->nsteps; k++) {
            vstep *s = &p->steps[k];
            for (int a = 0; s->argv && s->argv[a]; a++)
                free(s->argv[a]);
            for (int a = 0; a < s->nenv; a++)
                free(s->env[a]);
            free(s->argv);
            free(s->env);
            free(s->name);
            free(s->dir);
            free(s->http_url);
        }
        free(p->steps);
        free(p->name);
        free(p->repo);
        free(p->base);
    }
    free(c->p);
    c->p = NULL;
    c->n = 0;
}

const vproject *vconfig_find(const vconfig *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->p[i].name, name))
            return &c->p[i];
    return NULL;
}

/* --- one verification ------------------------------------------------------------- */

/* The clean environment of git and of the steps: nothing of the verifier's. */
static char **clean_env(const vctx *x, char *const *extra, int nextra)
{
    char **env = xcalloc((size_t)nextra + 6, sizeof(char *));
    int n = 0;
    env[n++] = xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env[n] = xmalloc(strlen(x->home) + 6);
    sprintf(env[n++], "HOME=%s", x->home);
    env[n++] = xstrdup("LANG=C.UTF-8");
    env[n++] = xstrdup("GIT_TERMINAL_PROMPT=0");
    for (int i = 0; i < nextra; i++)
        env[n++] = xstrdup(extra[i]);
    return env;
}

static void free_env(char **env)
{
    for (int i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* Runs git with argv; returns 0 on success; its output in *out (malloc'd). */
int verify_git_env(const vctx *x, char *const *extra, int nextra, const char *const *argv, char **out)
{
    char **env = clean_env(x, extra, nextra);
    run_spec s = {argv, x->home, (const char *const *)env, x->c->git_timeout_ms, 2000, 64 * 1024,
                  x->tick, x->tick_arg, 5000};
    run_result r;
    int rc = runner_run(&s, &r);
    free_env(env);
    if (out)
        *out = r.output;
    else
        free(r.output);
    return rc;
}

int verify_git(const vctx *x, const char *const *argv, char **out)
{
    return verify_git_env(x, NULL, 0, argv, out);
}

void verify_trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* --- removing a work tree ----------------------------------------------------------
 *
 * A build can leave a tree that neither rm -r by path nor nftw removes: a
 * directory made mode 000 (its owner may chmod it, but cannot list it or
 * unlink what is inside until then), or a chain of directories deeper than
 * PATH_MAX (every path-based call fails with ENAMETOOLONG). So the walk
 * works relative to one directory descriptor at a time: it opens a child
 * with openat after making it u+rwx, goes back up through "..", checked
 * against the device and inode it left, and removes the emptied child with
 * unlinkat. Only one descriptor is open at a time (plus the one readdir
 * holds briefly), so the depth is bounded by nothing but memory: each level
 * keeps the names of its subdirectories still to visit, on the heap. Nothing
 * runs in the tree any more when this is called (the runner ends every
 * process a step started), so nothing moves under the walk; if ".." is not
 * the directory it came from, it stops rather than remove outside the tree. */

typedef struct {
    dev_t dev;
    ino_t ino;
    char **names;             /* subdirectories not yet visited */
    size_t n, next;
} rm_level;

static void level_free(rm_level *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof(*l));
}

/* Reads the directory fd (not consumed): unlinks what is not a directory,
 * removes empty directories, keeps the names of the others in l. */
static int level_read(int fd, rm_level *l)
{
    struct stat sb;
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    struct dirent *de;
    size_t cap = 0;

    memset(l, 0, sizeof(*l));
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    if (fstat(fd, &sb) == 0) {
        l->dev = sb.st_dev;
        l->ino = sb.st_ino;
    }
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (unlinkat(fd, de->d_name, 0) == 0 || errno != EISDIR)
            continue; /* gone, or not a directory we could do more for */
        if (unlinkat(fd, de->d_name, AT_REMOVEDIR) == 0)
            continue;
        if (l->n == cap) {
            cap = cap ? cap * 2 : 8;
            l->names = xrealloc(l->names, cap * sizeof(char *));
        }
        l->names[l->n++] = xstrdup(de->d_name);
    }
    closedir(d);
    return 0;
}

/* Opens the subdirectory name of fd for the walk: u+rwx first, so a
 * directory left mode 000 can be listed and emptied. */
static int open_child(int fd, const char *name)
{
    struct stat sb;
    if (fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode))
        return -1;
    if ((sb.st_mode & S_IRWXU) != S_IRWXU)
        fchmodat(fd, name, (sb.st_mode & 07777) | S_IRWXU, 0);
    return openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

void verify_remove_tree(const char *dir)
{
    rm_level *lv = NULL;
    size_t depth = 0, cap = 0;
    int fd;

    if (rmdir(dir) == 0 || unlink(dir) == 0)
        return;
    chmod(dir, S_IRWXU);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    cap = 16;
    lv = xcalloc(cap, sizeof(*lv));
    if (level_read(fd, &lv[0]) != 0)
        goto out;
    for (;;) {
        rm_level *l = &lv[depth];
        if (l->next < l->n) {
            int child = open_child(fd, l->names[l->next++]);
            if (child < 0)
                continue; /* left; rmdir of this level will fail and say so by leaving it */
            if (depth + 1 == cap) {
                lv = xrealloc(lv, cap * 2 * sizeof(*lv));
                memset(lv + cap, 0, cap * sizeof(*lv));
                cap *= 2;
            }
            if (level_read(child, &lv[depth + 1]) != 0) {
                close(child);
                continue;
            }
            close(fd);
            fd = child;
            depth++;
            continue;
        }
        level_free(l);
        if (depth == 0)
            break;
        {
            struct stat sb;
            int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (parent < 0 || fstat(parent, &sb) != 0 || sb.st_dev != lv[depth - 1].dev ||
                sb.st_ino != lv[depth - 1].ino) {
                if (parent >= 0)
                    close(parent);
                goto out; /* not where it came from: leave the rest */
            }
            close(fd);
            fd = parent;
            depth--;
            unlinkat(fd, lv[depth].names[lv[depth].next - 1], AT_REMOVEDIR);
        }
    }
out:
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i <= depth && lv; i++)
        level_free(&lv[i]);
    free(lv);
    rmdir(dir);
}

static void verdict_infra(pb_verdict *v, const char *fmt, const char *arg)
{
    char buf[1200];
    snprintf(buf, sizeof(buf), fmt, arg);
    v->kind = ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_INFRASTRUCTURE_ERROR;
    pb_set_str(&v->detail, buf);
}

static pb_step *add_step_result(pb_verdict *v, const vstep *s, const run_result *r)
{
    pb_step *ps = xmalloc(sizeof(*ps));
    orchestrator__v1__step_result__init(ps);
    ps->name = xstrdup(s->name);
    ps->exit_code = r->exit_code;
    ps->signal = r->signal;
    ps->duration_ms = r->duration_ms;
    ps->timed_out = r->timed_out;
    ps->passed = r->exit_code == 0 && !r->timed_out;
    ps->output = xstrdup(r->output ? r->output : "");
    v->steps = xrealloc(v->steps, sizeof(*v->steps) * (v->n_steps + 1));
    v->steps[v->n_steps++] = ps;
    return ps;
}

int verify_home(vctx *x, char *why, size_t n)
{
    snprintf(x->home, sizeof(x->home), "%s/verify-XXXXXX", x->c->work_root);
    if (mkdir(x->c->work_root, 0700) != 0 && errno != EEXIST) {
        snprintf(why, n, "cannot create the work root %.400s", x->c->work_root);
        return -1;
    }
    if (!mkdtemp(x->home)) {
        snprintf(why, n, "no room for a work tree: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Runs p's steps in order in the work tree src until one fails: each
 * step's result into v, and v's kind PASS, or FAIL with the failing step's
 * exact output and a one-line detail (the seed's REJECT IMMEDIATELY).
 * Returns 1 when every step passed. */
int verify_steps(const vctx *x, const vproject *p, const char *src, pb_verdict *v)
{
    const vconfig *c = x->c;
    v->kind = ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS;
    for (int k = 0; k < p->nsteps; k++) {
        const vstep *s = &p->steps[k];
        run_result rr;
        pb_step *ps;
        if (s->http_url) {
            runner_http(s->http_url, s->http_status, s->timeout_ms, &rr);
        } else {
            char dir[900];
            char **env = clean_env(x, s->env, s->nenv);
            run_spec rs = {(const char *const *)s->argv, dir, (const char *const *)env, s->timeout_ms, c->grace_ms,
                           c->output_limit, x->tick, x->tick_arg, 5000};
            snprintf(dir, sizeof(dir), "%s/%s", src, s->dir);
            runner_run(&rs, &rr);
            free_env(env);
        }
        ps = add_step_result(v, s, &rr);
        run_result_free(&rr);
        if (!ps->passed) {
            char head[200];
            v->kind = ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL;
            pb_set_str(&v->failing_output, ps->output);
            if (ps->timed_out)
                snprintf(head, sizeof(head), "step %s timed out after %lld s", s->name, (long long)(s->timeout_ms / 1000));
            else if (ps->signal)
                snprintf(head, sizeof(head), "step %s was killed by signal %d", s->name, ps->signal);
            else
                snprintf(head, sizeof(head), "step %s exited with %d", s->name, ps->exit_code);
            pb_set_str(&v->detail, head);
            break; /* the seed's REJECT IMMEDIATELY */
        }
    }
    return v->kind == ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS;
}

/* Built as it will be merged: the work tree src becomes the base with the
 * change (sha) merged as the merge train merges it, when it merges cleanly,
 * and v->merged_commit names the merge; else src stays at sha, built alone
 * (the train finds the conflict). */
static void merge_onto_base(const vctx *x, const vproject *p, const char *src, const char *base, const char *id,
                            const char *sha, pb_verdict *v)
{
    const char *onto[] = {"git", "-C", src, "checkout", "--quiet", "--detach", base, NULL};
    const char *head[] = {"git", "-C", src, "rev-parse", "HEAD", NULL};
    char *out = NULL;
    if (verify_git(x, onto, NULL) != 0 || verify_merge_one(x, src, p->base, id, sha, &out) != 0) {
        const char *abort_[] = {"git", "-C", src, "merge", "--abort", NULL};
        const char *back[] = {"git", "-C", src, "checkout", "--quiet", "--detach", sha, NULL};
        verify_git(x, abort_, NULL);
        verify_git(x, back, NULL);
        free(out);
        return;
    }
    free(out);
    out = NULL;
    if (verify_git(x, head, &out) == 0) {
        verify_trim(out);
        pb_set_str(&v->merged_commit, out);
    }
    free(out);
}

/* A failing verification is run again on the base alone before the agent
 * is blamed: when the base fails too, the failure is the base's (a broken
 * or flaky test), and the verdict is an infrastructure error that says so
 * (not charged to the agent; the scheduler alerts on it), with the base's
 * own output. */
static void blame_base_if_it_fails(const vctx *x, const vproject *p, const char *src, const char *base, pb_verdict *v)
{
    const char *clean[] = {"git", "-C", src, "clean", "-ffdxq", NULL};
    const char *onto[] = {"git", "-C", src, "checkout", "--quiet", "--force", "--detach", base, NULL};
    pb_verdict b = ORCHESTRATOR__V1__VERDICT__INIT;
    if (verify_git(x, clean, NULL) != 0 || verify_git(x, onto, NULL) != 0)
        return;
    if (!verify_steps(x, p, src, &b)) {
        char detail[600];
        snprintf(detail, sizeof(detail), "%s %.12s fails its checks without this change (a broken or flaky base; "
                 "the change is not blamed): %.300s", p->base, base, b.detail);
        v->kind = ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_INFRASTRUCTURE_ERROR;
        pb_set_str(&v->detail, detail);
        pb_set_str(&v->failing_output, b.failing_output);
    }
    {
        pb_verdict *heap = xmalloc(sizeof(*heap));
        *heap = b;
        orchestrator__v1__verdict__free_unpacked(heap, NULL);
    }
}

static void run(const vconfig *c, const pb_result *r, pb_verdict *v, void (*tick)(void *), void *tick_arg)
{
    const vproject *p = vconfig_find(c, r->project);
    vctx x = {c, "", tick, tick_arg};
    char why[200], src[700], spec[320], *out = NULL, *sha = NULL, *base = NULL;
    int made = 0;

    pb_set_str(&v->requirement_id, r->requirement_id);
    v->attempt = r->attempt;
    pb_set_str(&v->project, r->project);
    pb_set_str(&v->ref, r->ref);
    pb_set_str(&v->instance, r->instance);
    if (p)
        pb_set_str(&v->base_branch, p->base);
    if (!p) {
        verdict_infra(v, "unknown project '%.200s' (not in the verifier's projects file)", r->project);
        return;
    }
    if (!ref_valid(r->ref, why, sizeof(why))) {
        char buf[400];
        v->kind = ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL;
        snprintf(buf, sizeof(buf), "ref refused: %s", why);
        pb_set_str(&v->failing_output, buf);
        pb_set_str(&v->detail, buf);
        return;
    }
    if (verify_home(&x, why, sizeof(why)) != 0) {
        verdict_infra(v, "%s", why);
        return;
    }
    made = 1;
    snprintf(src, sizeof(src), "%s/src", x.home);

    /* Resolve the ref in the project's repository: --end-of-options keeps
     * git from ever reading it as an option, though ref_valid refused
     * those already. */
    snprintf(spec, sizeof(spec), "%s^{commit}", r->ref);
    {
        const char *a[] = {"git", "-C", p->repo, "rev-parse", "--git-dir", NULL};
        if (verify_git(&x, a, &out) != 0) {
            verdict_infra(v, "repository missing or unreadable: %.900s", out);
            goto out;
        }
        free(out);
        out = NULL;
    }
    {
        const char *a[] = {"git", "-C", p->repo, "rev-parse", "--verify", "--quiet", "--end-of-options", spec, NULL};
        if (verify_git(&x, a, &sha) != 0) {
            verdict_infra(v, "ref not found in the project's repository: %.200s", r->ref);
            goto out;
        }
        verify_trim(sha);
        pb_set_str(&v->commit, sha); /* what was verified, whatever the ref names later */
    }
    {
        const char *a[] = {"git", "clone", "--quiet", "--shared", "--no-checkout", "--", p->repo, src, NULL};
        const char *b[] = {"git", "-C", src, "checkout", "--quiet", "--detach", sha, NULL};
        if (verify_git(&x, a, &out) != 0 || (free(out), out = NULL, verify_git(&x, b, &out) != 0)) {
            verdict_infra(v, "cannot check out the work: %.900s", out ? out : "");
            goto out;
        }
        free(out);
        out = NULL;
    }
    /* The files the change touched, against the base branch. */
    {
        char basespec[300];
        const char *a[] = {"git", "-C", p->repo, "rev-parse", "--verify", "--quiet", "--end-of-options", basespec,
                           NULL};
        snprintf(basespec, sizeof(basespec), "%s^{commit}", p->base);
        if (verify_git(&x, a, &base) == 0) {
            char range[200];
            const char *d[] = {"git", "-C", src, "diff", "--name-only", range, NULL};
            verify_trim(base);
            pb_set_str(&v->base_commit, base); /* where a merge train of it starts */
            snprintf(range, sizeof(range), "%s...%s", base, sha);
            if (verify_git(&x, d, &out) == 0) {
                char *save, *line;
                for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                    pb_add_str(&v->files_touched, &v->n_files_touched, line);
            }
            free(out);
            out = NULL;
            {
                /* a ref that holds nothing the base does not is no change:
                 * the agent's, like a failing step */
                char only[200];
                const char *cnt[] = {"git", "-C", src, "rev-list", "--count", only, NULL};
                snprintf(only, sizeof(only), "%s..%s", base, sha);
                if (verify_git(&x, cnt, &out) == 0 && atoi(out) == 0) {
                    char text[600];
                    v->kind = ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL;
                    snprintf(text, sizeof(text), "the change is empty: %s (%.12s) holds no commit that %s does not",
                             r->ref, sha, p->base);
                    pb_set_str(&v->failing_output, text);
                    pb_set_str(&v->detail, "empty change");
                    goto out;
                }
                free(out);
                out = NULL;
            }
        }
    }

    if (c->build_merged && base && *r->requirement_id)
        merge_onto_base(&x, p, src, base, r->requirement_id, sha, v);
    /* Passed, its merge (v->merged_commit) is what the train moves the base
     * to when nothing is ahead of it: not kept anywhere, as the base move
     * makes the same commit again (verify_train.h). */
    if (!verify_steps(&x, p, src, v)) {
        pb_set_str(&v->merged_commit, "");
        if (base && c->build_merged)
            blame_base_if_it_fails(&x, p, src, base, v);
    }
out:
    free(out);
    free(sha);
    free(base);
    if (made)
        verify_remove_tree(x.home);
}

/* Replaces *s by its valid UTF-8 form (outbuf.h): a detail cut with %.900s
 * can end inside a character, a file name can be any bytes. */
static void clean(char **s)
{
    char *c;
    if (!*s || *s == protobuf_c_empty_string)
        return;
    c = outbuf_clean(*s, strlen(*s), NULL);
    free(*s);
    *s = c;
}

void verify_run(const vconfig *c, const pb_result *r, pb_verdict *v, void (*tick)(void *), void *tick_arg)
{
    run(c, r, v, tick, tick_arg);
    clean(&v->detail);
    clean(&v->failing_output);
    clean(&v->ref);
    clean(&v->project);
    clean(&v->instance);
    clean(&v->requirement_id);
    for (size_t i = 0; i < v->n_files_touched; i++)
        clean(&v->files_touched[i]);
    for (size_t i = 0; i < v->n_steps; i++) {
        clean(&v->steps[i]->name);
        clean(&v->steps[i]->output);
    }
}
