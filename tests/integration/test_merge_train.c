/* The merge train's jobs on a real orch-verifier through a real nats-server
 * (train.do.<project> in, train.done.<project> out), against a real git
 * repository: candidates built with the changes merged in order, kept in
 * the repository, the merge commits the same whoever builds them (so the
 * longer prefix holds the shorter one's commits and the base moves by a
 * fast forward); a conflict and a broken build told apart; the base moved
 * only from the commit the train built on, once, with the merged branches
 * deleted; a job that cannot be read refused on errors.verifier. */
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
#include <nats/nats.h>

#include "natsfix.h"
#include "pb.h"
#include "proc.h"
#include "svcfix.h"

typedef struct {
    natsfix fix;
    natsConnection *nc;
    jsCtx *js;
    char repo[300], projects[300];
    natsSubscription *done;
} env;

/* git in repo; its first line of output into out (may be NULL). */
static int git(const char *repo, const char *const *args, char *out, size_t len)
{
    const char *argv[24] = {"git", "-C", repo};
    char log[400], dir[300], *text;
    int n = 3, st = 0;
    pid_t p;
    for (int i = 0; args[i] && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    /* the output goes beside the repository, never into its work tree */
    snprintf(dir, sizeof(dir), "%s", repo);
    *strrchr(dir, '/') = '\0';
    p = proc_spawn(argv, NULL, dir, "git.out");
    assert_int_equal(proc_wait(p, 30000, &st), 0);
    snprintf(log, sizeof(log), "%s/git.out", dir);
    text = proc_slurp(log);
    if (out) {
        snprintf(out, len, "%s", text ? text : "");
        out[strcspn(out, "\n")] = '\0';
    }
    free(text);
    unlink(log);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define GIT(repo, ...)                                                                             \
    do {                                                                                           \
        const char *a_[] = {__VA_ARGS__, NULL};                                                    \
        assert_int_equal(git(repo, a_, NULL, 0), 0);                                               \
    } while (0)

static void put(const char *dir, const char *name, const char *text)
{
    char path[600];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_non_null(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
}

/* A commit on a new branch from main: file = text. */
static void change(env *e, const char *branch, const char *file, const char *text)
{
    GIT(e->repo, "checkout", "-q", "-b", branch, "main");
    put(e->repo, file, text);
    GIT(e->repo, "add", "-A");
    GIT(e->repo, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q", "-m", branch);
    GIT(e->repo, "checkout", "-q", "main");
}

static void rev(env *e, const char *what, char out[80])
{
    const char *a[] = {"rev-parse", "--verify", "-q", what, NULL};
    out[0] = '\0';
    git(e->repo, a, out, 80);
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    char doc[1200], root[400], projects[400];
    const char *x[] = {projects, root, NULL};
    if (svc_env_start(&e->fix, &e->nc, &e->js) != 0)
        return -1;
    snprintf(e->repo, sizeof(e->repo), "%s/repo", e->fix.dir);
    mkdir(e->repo, 0755);
    GIT(e->repo, "init", "-q", "-b", "main");
    /* the base is checked out, as in a team's shared working copy */
    GIT(e->repo, "config", "receive.denyCurrentBranch", "updateInstead");
    put(e->repo, "hello.c", "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n");
    put(e->repo, "Makefile", "all: hello\nhello: hello.c\n\tcc -o hello hello.c\ntest: hello\n\t./hello | grep -q hello\n");
    GIT(e->repo, "add", "-A");
    GIT(e->repo, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q", "-m", "base");
    change(e, "a", "a.txt", "a\n");
    change(e, "b", "b.txt", "b\n");
    change(e, "ca", "hello.c", "#include <stdio.h>\nint main(void) { puts(\"hello A\"); return 0; }\n");
    change(e, "cb", "hello.c", "#include <stdio.h>\nint main(void) { puts(\"hello B\"); return 0; }\n");
    change(e, "broken", "hello.c", "int main(void) { return undefined_name; }\n");
    GIT(e->repo, "branch", "req/A-a1", "ca"); /* an attempt of A that was never merged */
    GIT(e->repo, "branch", "candidate/main/v-B-a1", "cb"); /* a verification of B's on an older base */
    snprintf(doc, sizeof(doc),
             "{\"projects\": {\"demo\": {\"repo\": \"%s\", \"base\": \"main\", \"steps\": ["
             " {\"name\": \"build\", \"command\": [\"make\"], \"timeout_s\": 60},"
             " {\"name\": \"test\", \"command\": [\"make\", \"test\"], \"timeout_s\": 60}]}}}",
             e->repo);
    snprintf(e->projects, sizeof(e->projects), "%s/projects.json", e->fix.dir);
    put(e->fix.dir, "projects.json", doc);
    snprintf(projects, sizeof(projects), "ORCH_VERIFIER_PROJECTS_FILE=%s", e->projects);
    snprintf(root, sizeof(root), "ORCH_VERIFIER_WORK_ROOT=%s/work", e->fix.dir);
    assert_true(svc_start_ready(e->nc, &e->fix, "verifier", "v1", x) > 0);
    assert_int_equal(natsConnection_SubscribeSync(&e->done, e->nc, "train.done.>"), NATS_OK);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    natsSubscription_Destroy(e->done);
    svc_env_stop(&e->fix, e->nc, e->js);
    free(e);
    return 0;
}

static void job(env *e, const char *json)
{
    assert_int_equal(js_Publish(NULL, e->js, "train.do.demo", json, (int)strlen(json), NULL, NULL), NATS_OK);
}

/* The next answer (up to 90 s: a build runs make). */
static cJSON *answer(env *e)
{
    natsMsg *m = NULL;
    cJSON *j;
    assert_int_equal(natsSubscription_NextMsg(&m, e->done, 90000), NATS_OK);
    j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    natsMsg_Destroy(m);
    assert_non_null(j);
    return j;
}

static const char *s_of(const cJSON *j, const char *k)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(j, k));
    return v ? v : "";
}

static int b_of(const cJSON *j, const char *k) { return cJSON_IsTrue(cJSON_GetObjectItem(j, k)); }

static cJSON *build(env *e, int no, const char *base, const char *const *ids, const char *const *branches, int n)
{
    char json[2000];
    size_t at;
    at = (size_t)snprintf(json, sizeof(json), "{\"kind\":\"build\",\"project\":\"demo\",\"base\":\"%s\",\"build\":%d,"
                                             "\"changes\":[", base, no);
    for (int k = 0; k < n; k++) {
        char c[80];
        rev(e, branches[k], c);
        at += (size_t)snprintf(json + at, sizeof(json) - at, "%s{\"id\":\"%s\",\"commit\":\"%s\"}", k ? "," : "",
                               ids[k], c);
    }
    snprintf(json + at, sizeof(json) - at, "]}");
    job(e, json);
    return answer(e);
}

static void candidates_merge_in_order_and_the_base_moves_once_from_where_it_was(void **state)
{
    env *e = *state;
    char base[80], m1[80], m2[80], got[80], json[800];
    cJSON *j;

    rev(e, "main", base);
    {
        const char *ids[] = {"A"}, *br[] = {"a"};
        j = build(e, 1, base, ids, br, 1);
        assert_true(b_of(j, "passed"));
        snprintf(m1, sizeof(m1), "%s", s_of(j, "merged"));
        cJSON_Delete(j);
    }
    rev(e, "refs/heads/candidate/main/1", got);
    assert_string_equal(got, ""); /* nothing pushed: the base move makes it again */
    {
        const char *ids[] = {"A", "B"}, *br[] = {"a", "b"};
        j = build(e, 2, base, ids, br, 2);
        assert_true(b_of(j, "passed"));
        snprintf(m2, sizeof(m2), "%s", s_of(j, "merged"));
        cJSON_Delete(j);
    }
    {
        const char *ids[] = {"CA", "CB"}, *br[] = {"ca", "cb"};
        j = build(e, 3, base, ids, br, 2);
        assert_false(b_of(j, "passed"));
        assert_true(b_of(j, "conflict"));
        assert_non_null(strstr(s_of(j, "output"), "(CB) does not merge onto main with the 1 change ahead of it"));
        assert_non_null(strstr(s_of(j, "output"), "CONFLICT"));
        cJSON_Delete(j);
    }
    {
        const char *ids[] = {"X"}, *br[] = {"broken"};
        j = build(e, 4, base, ids, br, 1);
        assert_false(b_of(j, "passed"));
        assert_false(b_of(j, "conflict"));
        assert_non_null(strstr(s_of(j, "output"), "step build exited with"));
        assert_non_null(strstr(s_of(j, "output"), "undefined_name"));
        cJSON_Delete(j);
    }
    {
        /* the base moved to m2, which the repository does not hold: made
         * again from the base and A's and B's commits, the same commit */
        char ca[80], cb[80];
        rev(e, "a", ca);
        rev(e, "b", cb);
        snprintf(json, sizeof(json),
                 "{\"kind\":\"advance\",\"project\":\"demo\",\"from\":\"%s\",\"to\":\"%s\",\"ids\":[\"A\",\"B\"],"
                 "\"commits\":[\"%s\",\"%s\"]}",
                 base, m2, ca, cb);
    }
    job(e, json);
    j = answer(e);
    if (!b_of(j, "ok")) {
        char st[400];
        const char *a[] = {"status", "--porcelain", NULL};
        git(e->repo, a, st, sizeof(st));
        fail_msg("the base was not moved: %s (status: %s)", s_of(j, "output"), st);
    }
    assert_string_equal(s_of(j, "remote"), m2);
    cJSON_Delete(j);
    rev(e, "main", got);
    assert_string_equal(got, m2);
    /* built from scratch, the longer candidate held the shorter one's exact
     * merge commit: the base could move to either by a fast forward */
    rev(e, "main^1", got);
    assert_string_equal(got, m1);
    rev(e, "refs/heads/req/A-a1", got);
    assert_string_equal(got, ""); /* and every attempt's branch of what merged */
    rev(e, "refs/heads/candidate/main/v-B-a1", got);
    assert_string_equal(got, "");
    rev(e, "refs/heads/a", got);
    assert_string_not_equal(got, ""); /* others' branches are not touched */
    rev(e, "refs/heads/ca", got);
    assert_string_not_equal(got, "");
    {
        /* the work tree of the checked-out base follows (updateInstead) */
        char path[400];
        snprintf(path, sizeof(path), "%s/b.txt", e->repo);
        assert_int_equal(access(path, F_OK), 0);
    }

    /* asked again (a new leader): made already, said so, nothing moves */
    job(e, json);
    j = answer(e);
    assert_true(b_of(j, "ok"));
    cJSON_Delete(j);
    rev(e, "main", got);
    assert_string_equal(got, m2);

    /* from a base that is not the base any more: refused, told where it is */
    snprintf(json, sizeof(json), "{\"kind\":\"advance\",\"project\":\"demo\",\"from\":\"%s\",\"to\":\"%s\",\"ids\":[\"A\"]}",
             base, m1);
    job(e, json);
    j = answer(e);
    assert_false(b_of(j, "ok"));
    assert_string_equal(s_of(j, "remote"), m2);
    cJSON_Delete(j);
    rev(e, "main", got);
    assert_string_equal(got, m2);
}

static void a_job_that_cannot_be_read_is_refused(void **state)
{
    env *e = *state;
    natsSubscription *errs = NULL;
    natsMsg *m = NULL;
    const char *bad[] = {"not json", "{\"kind\":\"build\",\"project\":\"other\"}",
                         "{\"kind\":\"build\",\"project\":\"demo\",\"base\":\"$(touch x)\",\"build\":1,\"changes\":[]}"};
    assert_int_equal(natsConnection_SubscribeSync(&errs, e->nc, "errors.verifier.>"), NATS_OK);
    for (int i = 0; i < 2; i++) {
        job(e, bad[i]);
        assert_int_equal(natsSubscription_NextMsg(&m, errs, 20000), NATS_OK);
        assert_string_equal(natsMsg_GetSubject(m), "errors.verifier.bad_train_job");
        natsMsg_Destroy(m);
    }
    /* a base that is no commit id never reaches git: a failed build that says so */
    job(e, bad[2]);
    {
        cJSON *j = answer(e);
        assert_false(b_of(j, "passed"));
        assert_non_null(strstr(s_of(j, "output"), "base commit id"));
        cJSON_Delete(j);
    }
    natsSubscription_Destroy(errs);
}

/* --- the scheduler and the verifier together ----------------------------------------- */

static void plan(env *e, const char *id, const char *deps)
{
    svc_plan(e->js, id, ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND, ORCHESTRATOR__V1__PRIORITY__PRIORITY_MEDIUM,
             100, deps, NULL);
}

/* Takes the next dispatch on consumer (acked); its requirement id into id. */
static void take(env *e, const char *consumer, const char *filter, char id[64])
{
    natsSubscription *sub = NULL;
    jsSubOptions so;
    natsMsgList list = {0};
    cJSON *j = NULL;
    jsSubOptions_Init(&so);
    so.Stream = "REQUIREMENTS";
    so.Consumer = consumer;
    assert_int_equal(js_PullSubscribe(&sub, e->js, filter, consumer, NULL, &so, NULL), NATS_OK);
    assert_int_equal(natsSubscription_Fetch(&list, sub, 1, 20000, NULL), NATS_OK);
    assert_int_equal(list.Count, 1);
    j = cJSON_ParseWithLength(natsMsg_GetData(list.Msgs[0]), (size_t)natsMsg_GetDataLength(list.Msgs[0]));
    assert_non_null(j);
    snprintf(id, 64, "%s", s_of(cJSON_IsArray(j) ? cJSON_GetArrayItem(j, 0) : j, "id"));
    cJSON_Delete(j);
    natsMsg_Ack(list.Msgs[0], NULL);
    natsMsgList_Destroy(&list);
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
}

static void publish(env *e, const char *subject, const char *body)
{
    assert_int_equal(js_Publish(NULL, e->js, subject, body, (int)strlen(body), NULL, NULL), NATS_OK);
}

/* orch.status.<id>'s field, once it is want (up to 90 s); fails otherwise. */
static void wait_for(env *e, const char *id, const char *want)
{
    char subj[128], last[200] = "";
    snprintf(subj, sizeof(subj), "orch.status.%s", id);
    for (int i = 0; i < 900; i++) {
        natsMsg *m = NULL;
        if (natsConnection_RequestString(&m, e->nc, subj, "", 2000) == NATS_OK) {
            cJSON *j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
            int done = j && !strcmp(s_of(j, "status"), want);
            if (j)
                snprintf(last, sizeof(last), "%s (%s)", s_of(j, "status"), s_of(j, "reason"));
            cJSON_Delete(j);
            natsMsg_Destroy(m);
            if (done)
                return;
        }
        usleep(100 * 1000);
    }
    fail_msg("%s never %s; last: %s", id, want, last);
}

/* The agent's part: a commit of file on req/<id>-a1 from main, and its result. */
static void work_on(env *e, const char *id, const char *file, const char *text)
{
    char branch[100], body[400], subj[100];
    snprintf(branch, sizeof(branch), "req/%s-a1", id);
    change(e, branch, file, text);
    snprintf(subj, sizeof(subj), "results.backend.%s", id);
    snprintf(body, sizeof(body), "{\"requirementId\":\"%s\",\"attempt\":1,\"instance\":\"roy-1\",\"project\":\"demo\","
                                 "\"ref\":\"refs/heads/%s\",\"tokensUsed\":100}", id, branch);
    publish(e, subj, body);
}

static void approve(env *e, const char *id)
{
    char tid[64], subj[100], body[300];
    take(e, "senior-review", "requirements.review.>", tid);
    assert_string_equal(tid, id);
    snprintf(subj, sizeof(subj), "results.review.%s", id);
    snprintf(body, sizeof(body), "{\"requirementId\":\"%s\",\"attempt\":1,\"instance\":\"rev-1\","
                                 "\"review\":\"approved\"}", id);
    publish(e, subj, body);
}

/* Work verified by the real verifier and approved reaches main through the
 * train, with no release agent: the verification was built merged onto
 * main, so the base moves to that very commit with no second build; its
 * dependent is dispatched only then. A second change, verified on the old
 * base, is built again as a candidate on the new one and merged. main
 * builds at every commit it went through. */
static void approved_work_reaches_main_through_the_train(void **state)
{
    env *e = *state;
    const char *x[] = {"ORCH_SCHEDULER_MERGE_TRAIN=true", "ORCH_SCHEDULER_QUIET_START=00:00",
                       "ORCH_SCHEDULER_QUIET_END=00:00", NULL};
    char id[64], main0[80], main1[80], got[80], t1[80];
    natsSubscription *jobs = NULL;
    pid_t sched = svc_start_ready(e->nc, &e->fix, "scheduler", "s1", x);

    assert_int_equal(natsConnection_SubscribeSync(&jobs, e->nc, "train.do.>"), NATS_OK);
    rev(e, "main", main0);
    plan(e, "T-1", NULL);
    plan(e, "T-2", NULL);
    plan(e, "T-3", "T-1");
    take(e, "roy-backend", "requirements.backend.>", id);
    take(e, "roy-backend", "requirements.backend.>", id);
    work_on(e, "T-1", "t1.txt", "one\n");
    rev(e, "req/T-1-a1", t1);
    wait_for(e, "T-1", "REVIEWING");
    work_on(e, "T-2", "t2.txt", "two\n");
    wait_for(e, "T-2", "REVIEWING");
    approve(e, "T-1");
    wait_for(e, "T-1", "COMPLETE");
    rev(e, "main", main1);
    {
        /* the verified merge itself: the only job was the base move */
        natsMsg *m = NULL;
        char spec[100], parent[80];
        assert_int_equal(natsSubscription_NextMsg(&m, jobs, 1000), NATS_OK);
        assert_non_null(strstr(natsMsg_GetData(m), "\"kind\":\"advance\""));
        natsMsg_Destroy(m);
        assert_int_not_equal(natsSubscription_NextMsg(&m, jobs, 200), NATS_OK);
        snprintf(spec, sizeof(spec), "%s^2", main1);
        rev(e, spec, parent);
        assert_string_equal(parent, t1);
    }
    take(e, "roy-backend", "requirements.backend.>", id);
    assert_string_equal(id, "T-3"); /* only now */
    approve(e, "T-2");
    wait_for(e, "T-2", "COMPLETE");
    rev(e, "main", got);
    {
        char spec[100], parent[80];
        snprintf(spec, sizeof(spec), "%s^1", got);
        rev(e, spec, parent);
        assert_string_equal(parent, main1); /* a fast forward from T-1's merge */
    }
    {
        /* every commit main went through builds and passes */
        const char *list[] = {"rev-list", "--first-parent", "--count", "main", NULL};
        char n[20];
        git(e->repo, list, n, sizeof(n));
        assert_int_equal(atoi(n), 3); /* base, T-1's merge, T-2's merge */
        for (int k = 0; k < 3; k++) {
            char spec[40], dir[400];
            const char *make[] = {"make", "-C", dir, "test", NULL};
            int st = 0;
            snprintf(spec, sizeof(spec), "main~%d", k);
            snprintf(dir, sizeof(dir), "%s/check%d", e->fix.dir, k);
            GIT(e->repo, "worktree", "add", "-q", "--detach", dir, spec);
            assert_int_equal(proc_wait(proc_spawn(make, NULL, e->fix.dir, "make.out"), 60000, &st), 0);
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
    }
    {
        /* orchctl status shows the train, with the base it is at */
        const char *a[] = {"status", NULL};
        char out[8192], want[200];
        assert_int_equal(svc_orchctl(&e->fix, a, out, sizeof(out)), 0);
        snprintf(want, sizeof(want), "merge train demo (main at %.12s): empty", got);
        if (!strstr(out, want))
            fail_msg("orchctl status lacks '%s':\n%s", want, out);
    }
    (void)main0;
    natsSubscription_Destroy(jobs);
    svc_stop(sched);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(candidates_merge_in_order_and_the_base_moves_once_from_where_it_was, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_job_that_cannot_be_read_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(approved_work_reaches_main_through_the_train, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
