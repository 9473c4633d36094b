/* orch-agent through real subjects, with a stand-in CLI (fake_cli.sh, the
 * command preset) so each case is quick and exact: a result with project,
 * ref, commit, files, tokens, cost and model, pushed to the project's
 * repository; the cheap model for modelHint "cheap"; the CLI's environment
 * limited to what the settings name; errors transient or not (an empty
 * change, a 429, an authentication error, a hang stopped at its time
 * limit); work claimed by another instance left alone; a dispatch of an
 * attempt that is no longer the current one left alone; a merge of the
 * commit its dispatch names; an agent whose CLI does not run takes no work;
 * an instance whose CLI fails at once, run after run, stops taking work
 * and leaves the rest of the queue to the type's other instances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "pb.h"
#include "proc.h"
#include "provision.h"
#include "svcfix.h"
#include "text.h"

typedef struct {
    natsfix fix;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *reports;
    char dir[256], repo[320];
    pid_t agent;
} env;

static int sh(const char *const argv[])
{
    int status = 0;
    pid_t pid = proc_spawn(argv, NULL, NULL, NULL);
    if (pid <= 0 || proc_wait(pid, 30000, &status) != 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    char err[ERR_LEN], path[400], cli[400], url[300], projects[400], workdir[400];
    provision_report rep;
    FILE *f;
    const char *src = getenv("ORCH_SOURCE_DIR");

    if (svc_env_start(&e->fix, &e->nc, &e->js) != 0 || provision_all(e->js, 1, &rep, err) != ORCH_OK)
        return -1;
    snprintf(e->dir, sizeof(e->dir), "/tmp/orch-agent-test-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    /* the project: a repository the agent pushes to, main checked out */
    snprintf(e->repo, sizeof(e->repo), "%s/repo", e->dir);
    {
        const char *init[] = {"git", "init", "-q", "-b", "main", e->repo, NULL};
        const char *commit[] = {"git", "-C", e->repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q",
                                "--allow-empty", "-m", "start", NULL};
        const char *cfg[] = {"git", "-C", e->repo, "config", "receive.denyCurrentBranch", "updateInstead", NULL};
        if (sh(init) || sh(commit) || sh(cfg))
            return -1;
    }
    snprintf(projects, sizeof(projects), "%s/projects.json", e->dir);
    if (!(f = fopen(projects, "w")))
        return -1;
    fprintf(f, "{\"projects\": {\"p1\": {\"repo\": \"%s\", \"base\": \"main\", \"steps\": "
               "[{\"name\": \"check\", \"command\": [\"true\"], \"timeout_s\": 30}]}}}\n",
            e->repo);
    fclose(f);
    snprintf(cli, sizeof(cli), "%s/tests/integration/fake_cli.sh", src);
    snprintf(path, sizeof(path), "%s/agent.json", e->dir);
    snprintf(workdir, sizeof(workdir), "%s/work", e->dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f, "{\"agent\": {\"preset\": \"command\", \"command\": [\"bash\", \"%s\", \"{prompt_file}\", \"{workdir}\", "
               "\"{model}\"], \"model\": \"m-big\", \"cheap_model\": \"m-cheap\", \"timeout_s\": 2, \"grace_ms\": 500, "
               "\"heartbeat_ms\": 200, \"env\": [\"ALLOWED_X\"], \"project\": \"p1\", \"projects_file\": \"%s\", "
               "\"workdir\": \"%s\"}}\n",
            cli, projects, workdir);
    fclose(f);
    snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", e->fix.url);
    {
        char bin[400];
        const char *argv[] = {bin, "--type", "backend", "--instance", "be-1", "--config", path, NULL};
        const char *vars[] = {url, "ALLOWED_X=ok", "SECRET_X=hunter2", NULL};
        proc_bin("orch-agent", bin, sizeof(bin));
        e->agent = proc_spawn(argv, vars, e->dir, "agent.log");
    }
    /* everything; report() picks results.> and errors.> */
    if (e->agent <= 0 || natsConnection_SubscribeSync(&e->reports, e->nc, ">") != NATS_OK)
        return -1;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    const char *rm[] = {"rm", "-rf", e->dir, NULL};
    proc_stop(e->agent, 5000);
    natsSubscription_Destroy(e->reports);
    svc_env_stop(&e->fix, e->nc, e->js);
    sh(rm);
    free(e);
    return 0;
}

static void dispatch(env *e, const char *id, int attempt, const char *mode, const char *hint)
{
    char subject[120], msg_id[120], body[600];
    jsPubOptions po;
    natsMsg *m = NULL;
    snprintf(subject, sizeof(subject), "requirements.backend.%s", id);
    snprintf(msg_id, sizeof(msg_id), "%s-a%d", id, attempt);
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"title\":\"Test %s\",\"description\":\"Mode: %s\",\"type\":\"backend\","
             "\"priority\":\"HIGH\",\"status\":\"DISPATCHED\",\"attempt\":%d,\"modelHint\":\"%s\"}",
             id, id, mode, attempt, hint);
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    assert_int_equal(natsMsg_Create(&m, subject, NULL, body, (int)strlen(body)), NATS_OK);
    assert_int_equal(js_PublishMsg(NULL, e->js, m, &po, NULL), NATS_OK);
    natsMsg_Destroy(m);
}

/* The next report about id on results.> or errors.> within ms (NULL when
 * none came): its subject in *subject. */
static cJSON *report(env *e, const char *id, int ms, char *subject, size_t len)
{
    int64_t until = nats_Now() + ms;
    while (nats_Now() < until) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, e->reports, 100) != NATS_OK)
            continue;
        {
            const char *s = natsMsg_GetSubject(m);
            size_t n = strlen(s), k = strlen(id);
            if ((!strncmp(s, "results.", 8) || !strncmp(s, "errors.", 7)) && n > k && !strcmp(s + n - k, id) &&
                s[n - k - 1] == '.') {
                cJSON *o = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
                snprintf(subject, len, "%s", s);
                natsMsg_Destroy(m);
                return o;
            }
        }
        natsMsg_Destroy(m);
    }
    return NULL;
}

static const char *str(const cJSON *o, const char *k)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
    return v ? v : "";
}

static void result_pushed_with_everything(void **state)
{
    env *e = *state;
    char subject[200], file[120];
    cJSON *r;
    dispatch(e, "REQ-1", 1, "write", "");
    r = report(e, "REQ-1", 20000, subject, sizeof(subject));
    assert_non_null(r);
    assert_string_equal(subject, "results.backend.REQ-1");
    assert_string_equal(str(r, "project"), "p1");
    assert_string_equal(str(r, "ref"), "refs/heads/req/REQ-1-a1");
    assert_int_equal(strlen(str(r, "commit")), 40);
    assert_string_equal(str(r, "instance"), "be-1");
    assert_string_equal(str(r, "model"), "m-big");
    assert_string_equal(str(r, "summary"), "wrote the file");
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "tokensUsed")), 123);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "costUsd")) == 0.01);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "filesChanged"), 0)),
                        "f/REQ-1.txt");
    /* the branch is in the project's repository, and the CLI saw only the
     * environment its settings name */
    {
        char out[4096] = "", spec[200];
        FILE *p;
        snprintf(spec, sizeof(spec), "git -C %s show %s:f/REQ-1.txt", e->repo, str(r, "commit"));
        p = popen(spec, "r"); /* the test's own paths and a hex id */
        assert_non_null(p);
        out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
        pclose(p);
        assert_non_null(strstr(out, "model=m-big"));
        assert_non_null(strstr(out, "\nALLOWED_X\n"));
        assert_non_null(strstr(out, "\nPATH\n"));
        assert_null(strstr(out, "SECRET_X"));
        assert_null(strstr(out, "ORCH_NATS_URL"));
    }
    snprintf(file, sizeof(file), "%s/agent.log", e->dir);
    {
        FILE *f = fopen(file, "r");
        char log[65536];
        size_t n;
        assert_non_null(f);
        n = fread(log, 1, sizeof(log) - 1, f);
        log[n] = '\0';
        fclose(f);
        assert_null(strstr(log, "hunter2"));
        assert_null(strstr(log, "Mode: write")); /* the prompt stays out of the log */
    }
    cJSON_Delete(r);
}

static void cheap_hint_gets_the_cheap_model(void **state)
{
    env *e = *state;
    char subject[200];
    cJSON *r;
    dispatch(e, "REQ-2", 1, "write", "cheap");
    r = report(e, "REQ-2", 20000, subject, sizeof(subject));
    assert_non_null(r);
    assert_string_equal(str(r, "model"), "m-cheap");
    cJSON_Delete(r);
}

/* An error of mode's run; tokens: what it must say the run used (-1: not
 * checked), with usd. */
static void expect_error(env *e, const char *id, const char *mode, const char *reason, int transient, int tokens,
                         double usd)
{
    char subject[200], want[120];
    cJSON *r;
    dispatch(e, id, 1, mode, "");
    r = report(e, id, 20000, subject, sizeof(subject));
    assert_non_null(r);
    snprintf(want, sizeof(want), "errors.agent.backend.%s", id); /* its type: the only one it may publish */
    assert_string_equal(subject, want);
    assert_string_equal(str(r, "reason"), reason);
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(r, "transient")), transient);
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "attempt")), 1);
    if (tokens >= 0) { /* the failed run's totals, for the ledger to charge once */
        assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "tokensUsed")) == tokens);
        assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(r, "costUsd")) == usd);
    }
    cJSON_Delete(r);
}

static void errors_transient_or_not(void **state)
{
    env *e = *state;
    expect_error(e, "REQ-3", "none", "empty_diff", 0, 7, 0.004);
    expect_error(e, "REQ-4", "ratelimit", "rate_limited", 1, -1, 0);
    {   /* a usage window that says when it resets: the error says when */
        char subject[200];
        cJSON *r;
        double at;
        dispatch(e, "REQ-4U", 1, "usagelimit", "");
        r = report(e, "REQ-4U", 20000, subject, sizeof(subject));
        assert_non_null(r);
        assert_string_equal(str(r, "reason"), "rate_limited");
        at = cJSON_GetNumberValue(cJSON_GetObjectItem(r, "retryAtMs"));
        if (!(at > (double)text_now_ms() + 500000 && at < (double)text_now_ms() + 700000))
            fail_msg("retryAtMs %.0f is not about 600 s from now", at);
        cJSON_Delete(r);
    }
    expect_error(e, "REQ-5", "auth", "auth", 0, -1, 0);
    expect_error(e, "REQ-6", "hang", "timeout", 1, -1, 0);
}

static void work_claimed_by_another_is_left_alone(void **state)
{
    env *e = *state;
    char subject[200];
    kvStore *kv = NULL;
    uint64_t rev = 0;
    cJSON *r;
    assert_int_equal(js_KeyValue(&kv, e->js, "orch_claims"), NATS_OK);
    assert_int_equal(kvStore_CreateString(&rev, kv, "backend.REQ-7-a1", "someone-else"), NATS_OK);
    kvStore_Destroy(kv);
    dispatch(e, "REQ-7", 1, "write", "");
    r = report(e, "REQ-7", 4000, subject, sizeof(subject));
    assert_null(r);
}

static void past_attempt_is_left_alone(void **state)
{
    env *e = *state;
    char subject[200];
    kvStore *kv = NULL;
    uint64_t rev = 0;
    pb_state st = ORCHESTRATOR__V1__REQUIREMENT_STATE__INIT;
    pb_requirement req = ORCHESTRATOR__V1__REQUIREMENT__INIT;
    uint8_t *buf = NULL;
    size_t len = 0;
    cJSON *r;
    req.id = "REQ-8";
    req.type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
    st.id = "REQ-8";
    st.attempt = 2;
    st.status = ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED;
    st.requirement = &req;
    assert_int_equal(pb_pack(&st.base, &buf, &len), ORCH_OK);
    assert_int_equal(js_KeyValue(&kv, e->js, "orch_requirements"), NATS_OK);
    assert_int_equal(kvStore_Put(&rev, kv, "REQ-8", buf, (int)len), NATS_OK);
    kvStore_Destroy(kv);
    free(buf);
    dispatch(e, "REQ-8", 1, "write", ""); /* attempt 1: over */
    r = report(e, "REQ-8", 4000, subject, sizeof(subject));
    assert_null(r);
    dispatch(e, "REQ-8", 2, "write", ""); /* the current one */
    r = report(e, "REQ-8", 20000, subject, sizeof(subject));
    assert_non_null(r);
    assert_string_equal(subject, "results.backend.REQ-8");
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "attempt")), 2);
    cJSON_Delete(r);
}

/* A merge's dispatch names the verified commit: the release role merges
 * that commit, also when the author's ref is a commit id rather than a
 * branch. */
static void a_merge_takes_the_verified_commit(void **state)
{
    env *e = *state;
    char subject[200], body[900], sha[64], bin[400], url[300], path[400];
    jsPubOptions po;
    natsMsg *m = NULL;
    pid_t rel;
    cJSON *r;

    dispatch(e, "REQ-M", 1, "write", "");
    r = report(e, "REQ-M", 20000, subject, sizeof(subject));
    assert_non_null(r);
    assert_string_equal(subject, "results.backend.REQ-M");
    snprintf(sha, sizeof(sha), "%s", str(r, "commit"));
    assert_int_equal(strlen(sha), 40);
    cJSON_Delete(r);

    snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", e->fix.url);
    snprintf(path, sizeof(path), "%s/agent.json", e->dir);
    proc_bin("orch-agent", bin, sizeof(bin));
    {
        const char *argv[] = {bin, "--type", "release", "--instance", "rel-1", "--config", path, NULL};
        const char *vars[] = {url, NULL};
        rel = proc_spawn(argv, vars, e->dir, "release.log");
        assert_true(rel > 0);
    }
    snprintf(body, sizeof(body),
             "{\"id\":\"REQ-M\",\"title\":\"Test REQ-M\",\"type\":\"release\",\"priority\":\"HIGH\","
             "\"status\":\"COMPLETE\",\"attempt\":1,\"project\":\"p1\",\"ref\":\"%s\",\"commit\":\"%s\","
             "\"base\":\"main\",\"filesChanged\":[\"f/REQ-M.txt\"],\"author\":\"be-1\",\"summary\":\"wrote the file\","
             "\"mergeBatch\":\"merge-1\",\"mergeBatchSize\":1}",
             sha, sha);
    jsPubOptions_Init(&po);
    po.MsgId = "REQ-M-merge-a1";
    assert_int_equal(natsMsg_Create(&m, "requirements.release.REQ-M", NULL, body, (int)strlen(body)), NATS_OK);
    assert_int_equal(js_PublishMsg(NULL, e->js, m, &po, NULL), NATS_OK);
    natsMsg_Destroy(m);
    r = report(e, "REQ-M", 30000, subject, sizeof(subject));
    proc_stop(rel, 5000);
    assert_non_null(r);
    if (strcmp(subject, "results.release.REQ-M") != 0)
        fail_msg("%s: %s", subject, str(r, "message"));
    assert_non_null(strstr(str(r, "summary"), sha));
    cJSON_Delete(r);
    /* main holds the change */
    {
        char out[512] = "", spec[400];
        FILE *p;
        snprintf(spec, sizeof(spec), "git -C %s merge-base --is-ancestor %s main && echo held", e->repo, sha);
        p = popen(spec, "r"); /* the test's own paths and a hex id */
        assert_non_null(p);
        out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
        pclose(p);
        assert_non_null(strstr(out, "held"));
    }
    /* and the work's branch is gone once merged (agent.keep_branches is off) */
    {
        char out[512] = "", spec[400];
        FILE *p;
        snprintf(spec, sizeof(spec), "git -C %s branch --list 'req/REQ-M-*'", e->repo);
        p = popen(spec, "r"); /* the test's own paths */
        assert_non_null(p);
        out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
        pclose(p);
        assert_string_equal(out, "");
    }
}

/* A command the test runs in dir (its own paths and fixed words). */
static void in(const char *dir, const char *const argv[])
{
    char *args[16];
    int n = 0;
    args[n++] = "git";
    args[n++] = "-C";
    args[n++] = (char *)dir;
    args[n++] = "-c";
    args[n++] = "user.email=t@t";
    args[n++] = "-c";
    args[n++] = "user.name=t";
    for (int i = 0; argv[i] && n < 15; i++)
        args[n++] = (char *)argv[i];
    args[n] = NULL;
    assert_int_equal(sh((const char *const *)args), 0);
}

/* path in dir with text, committed as msg. */
static void commit_file(const char *dir, const char *path, const char *text, const char *msg)
{
    char full[600];
    FILE *f;
    snprintf(full, sizeof(full), "%s/f", dir);
    mkdir(full, 0755);
    snprintf(full, sizeof(full), "%s/%s", dir, path);
    assert_non_null(f = fopen(full, "w"));
    fputs(text, f);
    fclose(f);
    {
        const char *add[] = {"add", path, NULL};
        const char *ci[] = {"commit", "-q", "-m", msg, NULL};
        in(dir, add);
        in(dir, ci);
    }
}

/* The previous attempt's branch req/<id>-a1 with path=mine, and main moved
 * on since with base_path=theirs. */
static void diverged(env *e, const char *id, const char *path, const char *base_path)
{
    char wt[400], branch[100];
    snprintf(wt, sizeof(wt), "%s/wt-%s", e->dir, id);
    snprintf(branch, sizeof(branch), "req/%s-a1", id);
    {
        const char *add[] = {"worktree", "add", "-q", "-b", branch, wt, "main", NULL};
        in(e->repo, add);
    }
    commit_file(wt, path, "mine\n", "the previous attempt");
    commit_file(e->repo, base_path, "theirs\n", "main moves on");
}

/* What `git -C repo <args>` prints (the test's own words). */
static void git_out(env *e, const char *args, char *out, size_t len)
{
    char cmd[800];
    FILE *p;
    snprintf(cmd, sizeof(cmd), "git -C %s %s 2>&1", e->repo, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    out[fread(out, 1, len - 1, p)] = '\0';
    pclose(p);
}

static void dispatch_after_refusal(env *e, const char *id, const char *mode)
{
    char subject[120], msg_id[120], body[900];
    jsPubOptions po;
    natsMsg *m = NULL;
    snprintf(subject, sizeof(subject), "requirements.backend.%s", id);
    snprintf(msg_id, sizeof(msg_id), "%s-a2", id);
    snprintf(body, sizeof(body),
             "{\"id\":\"%s\",\"title\":\"Test %s\",\"description\":\"Mode: %s\",\"type\":\"backend\","
             "\"priority\":\"HIGH\",\"status\":\"DISPATCHED\",\"attempt\":2,\"lastFailureOutput\":"
             "\"the merge was refused: 0123abc does not merge onto main:\\nCONFLICT (add/add): Merge conflict in "
             "f/shared.txt\\n\"}",
             id, id, mode);
    jsPubOptions_Init(&po);
    po.MsgId = msg_id;
    assert_int_equal(natsMsg_Create(&m, subject, NULL, body, (int)strlen(body)), NATS_OK);
    assert_int_equal(js_PublishMsg(NULL, e->js, m, &po, NULL), NATS_OK);
    natsMsg_Destroy(m);
}

/* A change refused at its merge comes back; main moved on without touching
 * its files: orch-agent merges main in, and that is all it takes: no CLI
 * run (the CLI, in write mode, would have added a file), the next attempt
 * holds both. */
static void a_refused_merge_that_git_resolves_needs_no_cli_run(void **state)
{
    env *e = *state;
    char subject[200], out[2048];
    cJSON *r;

    diverged(e, "REQ-G", "f/g.txt", "f/other.txt");
    dispatch_after_refusal(e, "REQ-G", "write");
    r = report(e, "REQ-G", 20000, subject, sizeof(subject));
    assert_non_null(r);
    if (strcmp(subject, "results.backend.REQ-G") != 0)
        fail_msg("%s: %s", subject, str(r, "message"));
    assert_string_equal(str(r, "ref"), "refs/heads/req/REQ-G-a2");
    assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "tokensUsed")), 0);
    cJSON_Delete(r);
    git_out(e, "ls-tree -r --name-only req/REQ-G-a2", out, sizeof(out));
    assert_non_null(strstr(out, "f/g.txt"));       /* the change */
    assert_non_null(strstr(out, "f/other.txt"));   /* main as it is now */
    assert_null(strstr(out, "f/REQ-G.txt"));       /* no CLI run */
}

/* A real conflict goes to the CLI prepared: main merged in with the
 * markers in place and git's list of files in the prompt; the CLI only
 * edits, orch-agent commits the merge with its own identity. */
static void a_real_conflict_goes_to_the_cli_with_the_markers(void **state)
{
    env *e = *state;
    char subject[200], out[2048], log[400];
    cJSON *r;

    diverged(e, "REQ-C", "f/shared.txt", "f/shared.txt");
    dispatch_after_refusal(e, "REQ-C", "resolve");
    r = report(e, "REQ-C", 20000, subject, sizeof(subject));
    assert_non_null(r);
    if (strcmp(subject, "results.backend.REQ-C") != 0)
        fail_msg("%s: %s", subject, str(r, "message"));
    cJSON_Delete(r);
    git_out(e, "show req/REQ-C-a2:f/shared.txt", out, sizeof(out));
    assert_string_equal(out, "mine and theirs\n");
    git_out(e, "rev-list --parents -n 1 req/REQ-C-a2", out, sizeof(out));
    assert_non_null(strchr(strchr(out, ' ') + 1, ' ')); /* a merge: two parents */
    snprintf(log, sizeof(log), "%s/work/be-1/REQ-C-cli.log", e->dir);
    {
        char *text = proc_slurp(log);
        assert_non_null(text);
        assert_non_null(strstr(text, "markers"));
        assert_non_null(strstr(text, "told"));
        assert_non_null(strstr(text, "identity"));
        free(text);
    }
}

/* orch-agent of type, instance, started in e->dir with the settings file
 * config (e->dir/<config>), its output in <instance>.log. */
static pid_t start_agent(env *e, const char *type, const char *instance, const char *config)
{
    char bin[400], url[300], path[400], log[120];
    snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", e->fix.url);
    snprintf(path, sizeof(path), "%s/%s", e->dir, config);
    snprintf(log, sizeof(log), "%s.log", instance);
    proc_bin("orch-agent", bin, sizeof(bin));
    {
        const char *argv[] = {bin, "--type", type, "--instance", instance, "--config", path, NULL};
        const char *vars[] = {url, NULL};
        return proc_spawn(argv, vars, e->dir, log);
    }
}

/* How many alerts on sub within ms carry the label instance=<instance>. */
static int alerts_naming(natsSubscription *sub, const char *instance, int ms, char *summary, size_t len)
{
    int64_t until = nats_Now() + ms;
    int n = 0;
    while (nats_Now() < until) {
        natsMsg *m = NULL;
        Orchestrator__V1__Alert *a;
        if (natsSubscription_NextMsg(&m, sub, 100) != NATS_OK)
            continue;
        a = orchestrator__v1__alert__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                            (const uint8_t *)natsMsg_GetData(m));
        for (size_t i = 0; a && i < a->n_labels; i++)
            if (!strcmp(a->labels[i]->key, "instance") && !strcmp(a->labels[i]->value, instance)) {
                n++;
                snprintf(summary, len, "%s", a->summary);
            }
        if (a)
            orchestrator__v1__alert__free_unpacked(a, NULL);
        natsMsg_Destroy(m);
    }
    return n;
}

/* The consumer's messages not yet delivered, and those delivered and not
 * acked. */
static void consumer_counts(env *e, const char *durable, int *pending, int *ack_pending)
{
    jsConsumerInfo *ci = NULL;
    assert_int_equal(js_GetConsumerInfo(&ci, e->js, "REQUIREMENTS", durable, NULL, NULL), NATS_OK);
    *pending = (int)ci->NumPending;
    *ack_pending = ci->NumAckPending;
    jsConsumerInfo_Destroy(ci);
}

/* 1 when a heartbeat of backend instance says "stopped" within ms. */
static int heartbeats_stopped(env *e, const char *instance, int ms)
{
    natsSubscription *beats = NULL;
    natsMsg *m = NULL;
    char subject[120];
    int stopped = 0;
    snprintf(subject, sizeof(subject), "agents.heartbeat.backend.%s", instance);
    assert_int_equal(natsConnection_SubscribeSync(&beats, e->nc, subject), NATS_OK);
    for (int64_t until = nats_Now() + ms; !stopped && nats_Now() < until;) {
        if (natsSubscription_NextMsg(&m, beats, 200) != NATS_OK)
            continue;
        {
            cJSON *h = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
            stopped = !strcmp(str(h, "state"), "stopped") && !strcmp(str(h, "requirementId"), "");
            cJSON_Delete(h);
        }
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(beats);
    return stopped;
}

/* A CLI that is missing: the start-up check (the CLI with --version) fails,
 * the agent says which command failed and how, raises one alert naming
 * itself, and exits without taking the work that waits for it. */
static void an_agent_whose_cli_does_not_run_takes_no_work_and_says_why(void **state)
{
    env *e = *state;
    char path[400], projects[400], workdir[400], file[400], subject[200], summary[300] = "";
    natsSubscription *alerts = NULL;
    natsMsg *m = NULL;
    int status = 0, pending = 0, ack_pending = 0;
    cJSON *r;
    char *log;
    FILE *f;
    jsPubOptions po;
    const char *body = "{\"id\":\"REQ-F1\",\"title\":\"Test REQ-F1\",\"description\":\"Mode: write\","
                       "\"type\":\"frontend\",\"priority\":\"HIGH\",\"status\":\"DISPATCHED\",\"attempt\":1}";
    pid_t p;

    snprintf(projects, sizeof(projects), "%s/projects.json", e->dir);
    snprintf(workdir, sizeof(workdir), "%s/work", e->dir);
    snprintf(path, sizeof(path), "%s/missing.json", e->dir);
    assert_non_null(f = fopen(path, "w"));
    fprintf(f, "{\"agent\": {\"preset\": \"claude\", \"cli\": \"%s/no-such-dir/claude\", \"project\": \"p1\", "
               "\"projects_file\": \"%s\", \"workdir\": \"%s\"}}\n",
            e->dir, projects, workdir);
    fclose(f);
    assert_int_equal(natsConnection_SubscribeSync(&alerts, e->nc, "alerts.>"), NATS_OK);
    jsPubOptions_Init(&po);
    po.MsgId = "REQ-F1-a1";
    assert_int_equal(natsMsg_Create(&m, "requirements.frontend.REQ-F1", NULL, body, (int)strlen(body)), NATS_OK);
    assert_int_equal(js_PublishMsg(NULL, e->js, m, &po, NULL), NATS_OK);
    natsMsg_Destroy(m);

    p = start_agent(e, "frontend", "fe-missing", "missing.json");
    assert_true(p > 0);
    if (proc_wait(p, 20000, &status) != 0) {
        proc_stop(p, 2000);
        fail_msg("orch-agent with a missing CLI is still running");
    }
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 0);
    /* it said why: the command and what running it gave */
    snprintf(file, sizeof(file), "%s/fe-missing.log", e->dir);
    assert_non_null(log = proc_slurp(file));
    snprintf(path, sizeof(path), "'%s/no-such-dir/claude --version' could not be started", e->dir);
    if (!strstr(log, path))
        fail_msg("the log does not say which command failed:\n%s", log);
    assert_non_null(strstr(log, "taking no work"));
    assert_null(strstr(log, " ready: "));
    free(log);
    /* no report, no claim, and the work still waits in its consumer */
    r = report(e, "REQ-F1", 1000, subject, sizeof(subject));
    assert_null(r);
    consumer_counts(e, "jen-frontend", &pending, &ack_pending);
    assert_int_equal(pending, 1);
    assert_int_equal(ack_pending, 0);
    {
        kvStore *kv = NULL;
        kvEntry *ke = NULL;
        assert_int_equal(js_KeyValue(&kv, e->js, "orch_claims"), NATS_OK);
        assert_int_equal(kvStore_Get(&ke, kv, "frontend.REQ-F1-a1"), NATS_NOT_FOUND);
        kvStore_Destroy(kv);
    }
    /* one alert, naming the instance */
    assert_int_equal(alerts_naming(alerts, "fe-missing", 1500, summary, sizeof(summary)), 1);
    assert_non_null(strstr(summary, "fe-missing"));
    natsSubscription_Destroy(alerts);
}

/* An instance whose CLI fails at once every time (here: refused
 * credentials on be-1 alone) stops after agent.breaker_failures (3) runs:
 * the first two are reported as they failed, the third goes back as
 * transient (the instance's fault, not the work's), and the rest of the
 * queue is neither claimed nor reported: it waits for another instance,
 * which does it as attempt 1. One alert names the instance; its
 * heartbeats say it is stopped. */
static void a_cli_failing_at_once_stops_its_instance_and_leaves_the_queue_to_others(void **state)
{
    env *e = *state;
    char subject[200], id[32], summary[300] = "";
    natsSubscription *alerts = NULL;
    int pending = 0, ack_pending = 0;
    pid_t other;
    cJSON *r;

    assert_int_equal(natsConnection_SubscribeSync(&alerts, e->nc, "alerts.>"), NATS_OK);
    for (int i = 1; i <= 6; i++) {
        snprintf(id, sizeof(id), "REQ-B%d", i);
        dispatch(e, id, 1, "broken", "");
    }
    for (int i = 1; i <= 3; i++) {
        snprintf(id, sizeof(id), "REQ-B%d", i);
        r = report(e, id, 20000, subject, sizeof(subject));
        assert_non_null(r);
        assert_string_equal(subject, i == 1 ? "errors.agent.backend.REQ-B1"
                                     : i == 2 ? "errors.agent.backend.REQ-B2"
                                              : "errors.agent.backend.REQ-B3");
        assert_string_equal(str(r, "reason"), i < 3 ? "auth" : "agent_unhealthy");
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(r, "transient")), i == 3);
        if (i == 3)
            assert_non_null(strstr(str(r, "message"), "be-1 stopped taking work"));
        cJSON_Delete(r);
    }
    /* one alert naming the instance */
    assert_int_equal(alerts_naming(alerts, "be-1", 3000, summary, sizeof(summary)), 1);
    assert_non_null(strstr(summary, "be-1"));
    /* the rest: not taken, not reported */
    for (int i = 4; i <= 6; i++) {
        snprintf(id, sizeof(id), "REQ-B%d", i);
        r = report(e, id, i == 4 ? 2000 : 200, subject, sizeof(subject));
        if (r)
            fail_msg("%s was reported while its agent was stopped: %s %s", id, subject, str(r, "reason"));
    }
    consumer_counts(e, "roy-backend", &pending, &ack_pending);
    assert_int_equal(pending + ack_pending, 3);
    /* still up, heartbeating "stopped" */
    assert_true(heartbeats_stopped(e, "be-1", 3000));
    /* another instance takes the rest, each as attempt 1 */
    other = start_agent(e, "backend", "be-2", "agent.json");
    assert_true(other > 0);
    for (int i = 4; i <= 6; i++) {
        snprintf(id, sizeof(id), "REQ-B%d", i);
        r = report(e, id, 20000, subject, sizeof(subject));
        assert_non_null(r);
        snprintf(id, sizeof(id), "results.backend.REQ-B%d", i);
        if (strcmp(subject, id) != 0)
            fail_msg("%s: %s", subject, str(r, "message"));
        assert_string_equal(str(r, "instance"), "be-2");
        assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(r, "attempt")), 1);
        cJSON_Delete(r);
    }
    proc_stop(other, 5000);
    /* and be-1 raised no second alert meanwhile */
    assert_int_equal(alerts_naming(alerts, "be-1", 200, summary, sizeof(summary)), 0);
    natsSubscription_Destroy(alerts);
}

/* The scheduler's states of REQ-S1..REQ-S<n>: how many are ESCALATED, and
 * how many of the others are past attempt 1. */
static void scheduler_states(env *e, int n, int *escalated, int *retried)
{
    kvStore *kv = NULL;
    *escalated = *retried = 0;
    assert_int_equal(js_KeyValue(&kv, e->js, "orch_requirements"), NATS_OK);
    for (int i = 1; i <= n; i++) {
        char id[32], err[ERR_LEN];
        kvEntry *ke = NULL;
        pb_state *st;
        snprintf(id, sizeof(id), "REQ-S%d", i);
        if (kvStore_Get(&ke, kv, id) != NATS_OK)
            continue;
        st = (pb_state *)pb_unpack(&orchestrator__v1__requirement_state__descriptor,
                                   (const uint8_t *)kvEntry_Value(ke), (size_t)kvEntry_ValueLen(ke), PB_MAX_MSG, err);
        if (st && st->status == ORCHESTRATOR__V1__STATUS__STATUS_ESCALATED)
            (*escalated)++;
        else if (st && st->attempt > 1)
            (*retried)++;
        if (st)
            protobuf_c_message_free_unpacked(&st->base, NULL);
        kvEntry_Destroy(ke);
    }
    kvStore_Destroy(kv);
}

/* The case through the real scheduler: eight requirements released
 * to a type whose only instance's CLI fails at once (the stand-in CLI
 * knows no mode for them). Before the breaker every one was escalated
 * within seconds; now the instance stops after 3 runs: the two failures
 * before the streak said anything are escalated, the third goes back with
 * no attempt counted (the scheduler takes agent_unhealthy as the
 * instance's fault), and it and the other five wait at attempt 1 for a
 * working instance. */
static void through_the_scheduler_a_broken_instance_escalates_two_not_the_queue(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_SCHEDULER_BACKOFF_BASE_MS=200", "ORCH_SCHEDULER_SPAWN_COOLDOWN_S=0",
                       "ORCH_SCHEDULER_QUIET_START=00:00", "ORCH_SCHEDULER_QUIET_END=00:00",
                       "ORCH_SCHEDULER_MERGE_TRAIN=false", "ORCH_SCHEDULER_WINDOW=20", NULL};
    int escalated = 0, retried = 0;
    int64_t t0;
    pid_t sched = svc_start_ready(e->nc, &e->fix, "scheduler", "sch-1", x);
    assert_true(sched > 0);
    t0 = nats_Now();
    for (int i = 1; i <= 8; i++) {
        char id[32];
        snprintf(id, sizeof(id), "REQ-S%d", i);
        svc_plan(e->js, id, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND, ORCHESTRATOR__V1__PRIORITY__PRIORITY_HIGH,
                 1000, NULL, NULL);
    }
    if (!heartbeats_stopped(e, "be-1", 30000)) {
        scheduler_states(e, 8, &escalated, &retried);
        svc_stop(sched);
        fail_msg("be-1 never stopped; %d of 8 escalated", escalated);
    }
    print_message("be-1 stopped %lld ms after the first requirement was planned\n", (long long)(nats_Now() - t0));
    sleep(3); /* the scheduler has the reports; anything more would show now */
    scheduler_states(e, 8, &escalated, &retried);
    svc_stop(sched);
    print_message("%d of 8 escalated, %d retried\n", escalated, retried);
    assert_int_equal(escalated, 2);
    assert_int_equal(retried, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(result_pushed_with_everything),
        cmocka_unit_test(cheap_hint_gets_the_cheap_model),
        cmocka_unit_test(errors_transient_or_not),
        cmocka_unit_test(work_claimed_by_another_is_left_alone),
        cmocka_unit_test(past_attempt_is_left_alone),
        cmocka_unit_test(a_merge_takes_the_verified_commit),
        cmocka_unit_test(a_refused_merge_that_git_resolves_needs_no_cli_run),
        cmocka_unit_test(a_real_conflict_goes_to_the_cli_with_the_markers),
        cmocka_unit_test(an_agent_whose_cli_does_not_run_takes_no_work_and_says_why),
        cmocka_unit_test(a_cli_failing_at_once_stops_its_instance_and_leaves_the_queue_to_others),
        cmocka_unit_test(through_the_scheduler_a_broken_instance_escalates_two_not_the_queue),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
