/* orch-verifier through a real nats-server, with real git repositories made
 * in a temporary directory: passing work, a broken build with its compiler
 * output, a failing test after a passing build, a hanging step killed with
 * its children, bounded noise, unknown ref and project, hostile refs and
 * fields that must run nothing (a handful written by hand, then a few
 * thousand generated, with the process list watched), two replicas, and a
 * SIGKILL mid-build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <nats/nats.h>

#include "claim.h"
#include "natsfix.h"
#include "pb.h"
#include "proc.h"
#include "svcfix.h"
#include "text.h"

typedef struct {
    natsfix fix;
    natsConnection *nc;
    jsCtx *js;
    char repo[300], projects[300], marker[300], pidfile[300];
} env;

static void run_ok(const char *dir, const char *const argv[])
{
    int st = 0;
    pid_t p = proc_spawn(argv, NULL, dir, "git.log");
    assert_int_equal(proc_wait(p, 20000, &st), 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("%s %s failed (see %s/git.log)", argv[0], argv[1], dir);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void commit(const char *repo, const char *msg)
{
    const char *add[] = {"git", "-C", repo, "add", "-A", NULL};
    const char *ci[] = {"git", "-C", repo, "-c", "user.email=t@example.invalid", "-c", "user.name=t",
                        "commit", "-q", "-m", msg, NULL};
    run_ok(repo, add);
    run_ok(repo, ci);
}

static void branch(const char *repo, const char *name)
{
    const char *co[] = {"git", "-C", repo, "checkout", "-q", "-b", name, "main", NULL};
    run_ok(repo, co);
}

#define GOOD_C "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n"
#define MAKEFILE "all: hello\nhello: hello.c\n\tcc -o hello hello.c\ntest: hello\n\t./hello | grep -q hello\n"

/* A small C project with branches for every case. */
static void make_repo(env *e)
{
    const char *init[] = {"git", "init", "-q", "-b", "main", e->repo, NULL};
    mkdir(e->repo, 0755);
    run_ok(e->fix.dir, init);
    write_file(e->repo, "hello.c", GOOD_C);
    write_file(e->repo, "Makefile", MAKEFILE);
    commit(e->repo, "base");
    branch(e->repo, "good");
    write_file(e->repo, "extra.txt", "a new file\n");
    commit(e->repo, "good change");
    branch(e->repo, "broken");
    write_file(e->repo, "hello.c", "int main(void) { return undefined_name; }\n");
    commit(e->repo, "broken build");
    branch(e->repo, "badtest");
    write_file(e->repo, "hello.c", "#include <stdio.h>\nint main(void) { puts(\"bye\"); return 0; }\n");
    commit(e->repo, "test fails");
    {
        const char *co[] = {"git", "-C", e->repo, "checkout", "-q", "main", NULL};
        run_ok(e->repo, co);
    }
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    char doc[8000];
    if (svc_env_start(&e->fix, &e->nc, &e->js) != 0)
        return -1;
    snprintf(e->repo, sizeof(e->repo), "%s/repo", e->fix.dir);
    snprintf(e->projects, sizeof(e->projects), "%s/projects.json", e->fix.dir);
    snprintf(e->marker, sizeof(e->marker), "%s/pwned", e->fix.dir);
    snprintf(e->pidfile, sizeof(e->pidfile), "%s/server.pid", e->fix.dir);
    make_repo(e);
    snprintf(doc, sizeof(doc),
             "{\"projects\": {"
             " \"demo\": {\"repo\": \"%s\", \"steps\": ["
             "   {\"name\": \"build\", \"command\": [\"make\"], \"timeout_s\": 60},"
             "   {\"name\": \"test\", \"command\": [\"make\", \"test\"], \"timeout_s\": 60}]},"
             /* the failing steps below fail only with the change (extra.txt,
              * the "good" branch): the base passes, so the change is blamed */
             " \"hang\": {\"repo\": \"%s\", \"steps\": ["
             "   {\"name\": \"server\", \"timeout_s\": 2, \"env\": {\"PIDFILE\": \"%s\"},"
             "    \"command\": [\"sh\", \"-c\", \"[ -f extra.txt ] || exit 0; sh -c 'trap \\\"\\\" TERM; sleep 300' & echo $! > $PIDFILE; sleep 300\"]}]},"
             " \"noisy\": {\"repo\": \"%s\", \"steps\": ["
             "   {\"name\": \"noise\", \"command\": [\"sh\", \"-c\", \"[ -f extra.txt ] || exit 0; yes noise | head -c 2000000; echo FINAL ERROR; exit 2\"]}]},"
             /* a check the base fails too: the base's fault, not the change's */
             " \"basebroken\": {\"repo\": \"%s\", \"steps\": ["
             "   {\"name\": \"check\", \"command\": [\"sh\", \"-c\", \"test -f ok.txt || { echo no ok.txt; exit 3; }\"]}]},"
             " \"slow\": {\"repo\": \"%s\", \"steps\": ["
             "   {\"name\": \"slow\", \"command\": [\"sleep\", \"4\"]}]},"
             /* a directory of mode 000 with one inside, and a chain of
              * directories 5 KB deep (past PATH_MAX), made by moving the
              * chain under a new top so no command needs the long path */
             " \"litter\": {\"repo\": \"%s\", \"steps\": ["
             "   {\"name\": \"litter\", \"command\": [\"sh\", \"-c\", \"mkdir -p locked/inner d && "
             "touch locked/f locked/inner/g d/deepest && chmod 000 locked/inner locked && i=0; "
             "while [ $i -lt 250 ]; do mkdir t && mv d t/dddddddddddddddddddd && mv t d || exit 1; "
             "i=$((i+1)); done\"]}]},"
             /* a new session, a double fork, a background job: all holding
              * the output pipe, the step itself done at once */
             " \"linger\": {\"repo\": \"%s\", \"steps\": ["
             "   {\"name\": \"linger\", \"env\": {\"PIDS\": \"%s/linger.pids\"},"
             "    \"command\": [\"sh\", \"-c\", \"setsid sleep 300 & echo $! > $PIDS; "
             "(sh -c 'sleep 300 & echo $! >> $PIDS' &); sleep 300 & echo $! >> $PIDS; sleep 0.2; echo started\"]}]},"
             /* a head cut inside a euro sign, a tail cut inside another,
              * an invalid byte and a NUL with text after it (limit 4096:
              * 2048 bytes of head, 2048 of tail) */
             " \"utf8\": {\"repo\": \"%s\", \"steps\": ["
             "   {\"name\": \"utf8\", \"command\": [\"sh\", \"-c\", \"[ -f extra.txt ] || exit 0; head -c 2047 /dev/zero | tr '\\\\0' a; "
             "printf '\\\\342\\\\202\\\\254'; head -c 10000 /dev/zero | tr '\\\\0' b; "
             "printf '\\\\342\\\\202\\\\254x\\\\377y before NUL\\\\000after NUL'; "
             "head -c 2014 /dev/zero | tr '\\\\0' c; echo THE END; exit 1\"]}]}"
             "}}",
             e->repo, e->repo, e->pidfile, e->repo, e->repo, e->repo, e->repo, e->repo, e->fix.dir, e->repo);
    write_file(e->fix.dir, "projects.json", doc);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    svc_env_stop(&e->fix, e->nc, e->js);
    free(e);
    return 0;
}

static pid_t start_verifier(env *e, const char *instance)
{
    char projects[400], root[400];
    const char *x[] = {projects, root, "ORCH_VERIFIER_OUTPUT_LIMIT=4096", "ORCH_VERIFIER_GRACE_MS=300", NULL};
    snprintf(projects, sizeof(projects), "ORCH_VERIFIER_PROJECTS_FILE=%s", e->projects);
    snprintf(root, sizeof(root), "ORCH_VERIFIER_WORK_ROOT=%s/work", e->fix.dir);
    return svc_start_ready(e->nc, &e->fix, "verifier", instance, x);
}

/* The verifier as the Dockerfile runs it, a user without root's power over
 * files: root without CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER
 * meets the same permission checks as any owner (a directory of mode 000
 * cannot be listed or emptied until chmod'ed), while the fixture's files,
 * server and repository stay as they are. (Run as another user, the test
 * starts it as it is.) */
static pid_t start_verifier_unprivileged(env *e, const char *instance)
{
    static const char drop[] = "-dac_override,-dac_read_search,-fowner";
    char bin[512], bset[80], inh[80], url[300], inst[96], projects[400], root[400], log[96];
    const char *argv[] = {"setpriv", bset, inh, proc_bin("orch-verifier", bin, sizeof(bin)), NULL};
    const char *const *run = argv;
    const char *envv[] = {url, inst, projects, root, "ORCH_SHUTDOWN_TIMEOUT_MS=4000",
                          "ORCH_VERIFIER_OUTPUT_LIMIT=4096", NULL};
    pid_t pid;
    cJSON *j;
    snprintf(bset, sizeof(bset), "--bounding-set=%s", drop);
    snprintf(inh, sizeof(inh), "--inh-caps=%s", drop);
    snprintf(url, sizeof(url), "ORCH_NATS_URL=%s", e->fix.url);
    snprintf(inst, sizeof(inst), "ORCH_SERVICE_INSTANCE=%s", instance);
    snprintf(projects, sizeof(projects), "ORCH_VERIFIER_PROJECTS_FILE=%s", e->projects);
    snprintf(root, sizeof(root), "ORCH_VERIFIER_WORK_ROOT=%s/work", e->fix.dir);
    snprintf(log, sizeof(log), "%s.log", instance);
    if (getuid() != 0)
        run = argv + 3; /* not root: the permission checks are an owner's already */
    pid = proc_spawn(run, envv, e->fix.dir, log);
    assert_true(pid > 0);
    j = svc_wait_ping(e->nc, "verifier", instance, 30000); /* as svc_start_ready */
    if (!j) {
        proc_stop(pid, 1000);
        fail_msg("orch-verifier %s did not answer (log %s/%s)", instance, e->fix.dir, log);
    }
    cJSON_Delete(j);
    return pid;
}

/* Writes a requirement's state into KV orch_requirements, as the scheduler
 * does: backend work in status at attempt (DISPATCHED with a dispatch
 * time). The bucket exists once a verifier has started. */
static void put_state(env *e, const char *id, Orchestrator__V1__Status status, unsigned attempt,
                      unsigned infra_retries)
{
    pb_state st;
    pb_requirement req;
    kvStore *kv = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    orchestrator__v1__requirement_state__init(&st);
    orchestrator__v1__requirement__init(&req);
    req.id = (char *)id;
    req.type = ORCHESTRATOR__V1__AGENT_TYPE__AGENT_TYPE_BACKEND;
    st.id = (char *)id;
    st.status = status;
    st.attempt = attempt;
    st.infra_retries = infra_retries;
    st.requirement = &req;
    if (status == ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED)
        st.dispatched_at_ms = 1;
    assert_int_equal(pb_pack(&st.base, &buf, &len), ORCH_OK);
    assert_int_equal(js_KeyValue(&kv, e->js, "orch_requirements"), NATS_OK);
    assert_int_equal(kvStore_Put(NULL, kv, id, buf, (int)len), NATS_OK);
    kvStore_Destroy(kv);
    free(buf);
}

/* Claims key ("<type>.<dispatch id>") for instance as an agent does: on a
 * dispatch of that id stored before the claim (common/claim.h). */
static void put_claim(env *e, const char *key, const char *instance)
{
    const char *dot = strchr(key, '.');
    char subj[128];
    jsPubOptions po;
    jsPubAck *pa = NULL;
    jsPubOptions_Init(&po);
    po.MsgId = dot + 1;
    snprintf(subj, sizeof(subj), "requirements.%.*s.claimed", (int)(dot - key), key);
    assert_int_equal(js_Publish(&pa, e->js, subj, "{}", 2, &po, NULL), NATS_OK);
    assert_int_equal(claim_create(e->js, key, instance, pa->Sequence, NULL), NATS_OK);
    jsPubAck_Destroy(pa);
}

/* Publishes a result on results.<type>.<subject_id> naming body_id;
 * attempt 0 leaves the field out. */
static void publish_result(env *e, const char *type, const char *subject_id, const char *body_id, unsigned attempt,
                           const char *instance, const char *project, const char *ref, const char *summary)
{
    cJSON *o = cJSON_CreateObject();
    char subj[128], *body;
    cJSON_AddStringToObject(o, "requirementId", body_id);
    if (attempt)
        cJSON_AddNumberToObject(o, "attempt", attempt);
    cJSON_AddStringToObject(o, "instance", instance);
    cJSON_AddStringToObject(o, "project", project);
    cJSON_AddStringToObject(o, "ref", ref);
    cJSON_AddStringToObject(o, "summary", summary ? summary : "done");
    body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    snprintf(subj, sizeof(subj), "results.%s.%s", type, subject_id);
    assert_int_equal(js_Publish(NULL, e->js, subj, body, (int)strlen(body), NULL, NULL), NATS_OK);
    free(body);
}

#define DISPATCHED ORCHESTRATOR__V1__STATUS__STATUS_DISPATCHED

/* The usual result: backend work dispatched at attempt, reported by roy-1. */
static void submit(env *e, const char *id, unsigned attempt, const char *project, const char *ref, const char *summary)
{
    put_state(e, id, DISPATCHED, attempt, 0);
    publish_result(e, "backend", id, id, attempt, "roy-1", project, ref, summary);
}

/* All verdicts stored so far, in order. */
typedef struct {
    pb_verdict *v[64];
    int n;
} verdicts;

/* Reads the messages stored on filter, in order, handing each to take
 * (which returns how many it holds now), until timeout_ms, or until want
 * are held and nothing more comes for 200 ms. */
static void read_stored(env *e, const char *filter, int want, int timeout_ms, int (*take)(natsMsg *, void *),
                        void *arg)
{
    natsSubscription *sub = NULL;
    jsSubOptions so;
    int64_t deadline = nats_Now() + timeout_ms;
    int n = 0;
    jsSubOptions_Init(&so);
    so.Ordered = true;
    assert_int_equal(js_SubscribeSync(&sub, e->js, filter, NULL, &so, NULL), NATS_OK);
    while (n < 64 && nats_Now() < deadline) {
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, sub, 200) != NATS_OK) {
            if (n >= want)
                break;
            continue;
        }
        n = take(m, arg);
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(sub);
}

static int take_verdict(natsMsg *m, void *arg)
{
    verdicts *out = arg;
    char err[ERR_LEN];
    out->v[out->n] = (pb_verdict *)pb_unpack(&orchestrator__v1__verdict__descriptor,
                                             (const uint8_t *)natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m),
                                             PB_MAX_MSG, err);
    assert_non_null(out->v[out->n]);
    return ++out->n;
}

static void read_verdicts(env *e, verdicts *out, int want, int timeout_ms)
{
    memset(out, 0, sizeof(*out));
    read_stored(e, "verdicts.>", want, timeout_ms, take_verdict, out);
}

static void free_verdicts(verdicts *v)
{
    for (int i = 0; i < v->n; i++)
        protobuf_c_message_free_unpacked(&v->v[i]->base, NULL);
}

static const pb_verdict *of(const verdicts *v, const char *id)
{
    const pb_verdict *found = NULL;
    int count = 0;
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->v[i]->requirement_id, id)) {
            found = v->v[i];
            count++;
        }
    if (count != 1)
        fail_msg("%d verdicts for %s, want exactly 1", count, id);
    return found;
}

#define PASS ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_PASS
#define FAIL ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL
#define INFRA ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_INFRASTRUCTURE_ERROR

/* A passing change is built merged onto the base as the merge train merges
 * it, and that merge is kept for the train; a failure the base shows
 * without the change is the base's: not charged to the agent, said so. */
static void a_change_is_built_merged_and_a_failing_base_is_not_blamed_on_it(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier(e, "v1");
    verdicts v;
    const pb_verdict *x;

    submit(e, "MERGED-1", 1, "demo", "refs/heads/good", NULL);
    submit(e, "BASE-1", 1, "basebroken", "refs/heads/good", NULL);
    read_verdicts(e, &v, 2, 90000);
    x = of(&v, "MERGED-1");
    assert_int_equal(x->kind, PASS);
    assert_int_equal(strlen(x->merged_commit), 40); /* the merge onto the base, not the branch */
    assert_int_equal(strlen(x->base_commit), 40);
    assert_string_not_equal(x->merged_commit, x->commit);
    x = of(&v, "BASE-1");
    assert_int_equal(x->kind, INFRA);
    assert_non_null(strstr(x->detail, "fails its checks without this change"));
    assert_non_null(strstr(x->failing_output, "no ok.txt"));
    free_verdicts(&v);
    svc_stop(pid);
}

/* A result whose ref is the base itself (or anything the base holds) is no
 * change: it fails, with a clear output, instead of passing on to review. */
static void a_ref_that_is_the_base_is_an_empty_change(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier(e, "v1");
    verdicts v;
    const pb_verdict *x;

    submit(e, "EMPTY-1", 1, "demo", "refs/heads/main", NULL);
    read_verdicts(e, &v, 1, 60000);
    x = of(&v, "EMPTY-1");
    assert_int_equal(x->kind, ORCHESTRATOR__V1__VERDICT_KIND__VERDICT_KIND_FAIL);
    assert_non_null(strstr(x->failing_output, "the change is empty"));
    assert_int_equal(x->n_steps, 0); /* nothing was built */
    free_verdicts(&v);
    svc_stop(pid);
}

static void verdicts_for_every_kind_of_work(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier(e, "v1");
    verdicts v;
    const pb_verdict *x;
    char workdir[400];
    DIR *d;

    submit(e, "GOOD-1", 1, "demo", "refs/heads/good", NULL);
    submit(e, "BROKEN-1", 2, "demo", "broken", NULL);
    submit(e, "BADTEST-1", 1, "demo", "badtest", NULL);
    submit(e, "NOREF-1", 1, "demo", "refs/heads/no-such-branch", NULL);
    submit(e, "NOPROJ-1", 1, "elsewhere", "good", NULL);
    read_verdicts(e, &v, 5, 60000);

    x = of(&v, "GOOD-1");
    assert_int_equal(x->kind, PASS);
    assert_int_equal(x->n_steps, 2);
    assert_string_equal(x->steps[0]->name, "build");
    assert_true(x->steps[0]->passed && x->steps[1]->passed);
    assert_int_equal(x->n_files_touched, 1);
    assert_string_equal(x->files_touched[0], "extra.txt");
    { /* the commit the ref resolved to, verified, and the base it was compared with */
        char path[400], sha[64] = "";
        FILE *f;
        snprintf(path, sizeof(path), "%s/.git/refs/heads/good", e->repo);
        assert_non_null(f = fopen(path, "r"));
        assert_non_null(fgets(sha, sizeof(sha), f));
        fclose(f);
        sha[strcspn(sha, "\n")] = '\0';
        assert_int_equal(strlen(sha), 40);
        assert_string_equal(x->commit, sha);
        assert_string_equal(x->base_branch, "main");
    }

    x = of(&v, "BROKEN-1");
    assert_int_equal(x->kind, FAIL);
    assert_int_equal(x->attempt, 2);
    assert_int_equal(x->n_steps, 1); /* the first failure stops the run */
    assert_int_not_equal(x->steps[0]->exit_code, 0);
    assert_non_null(strstr(x->failing_output, "undefined_name"));
    assert_non_null(strstr(x->failing_output, "hello.c"));
    assert_string_equal(x->detail, "step build exited with 2");

    x = of(&v, "BADTEST-1");
    assert_int_equal(x->kind, FAIL);
    assert_int_equal(x->n_steps, 2);
    assert_true(x->steps[0]->passed);
    assert_false(x->steps[1]->passed);
    assert_string_equal(x->detail, "step test exited with 2");

    x = of(&v, "NOREF-1");
    assert_int_equal(x->kind, INFRA);
    assert_non_null(strstr(x->detail, "ref not found"));
    x = of(&v, "NOPROJ-1");
    assert_int_equal(x->kind, INFRA);
    assert_non_null(strstr(x->detail, "unknown project 'elsewhere'"));
    free_verdicts(&v);

    /* every work tree is gone */
    snprintf(workdir, sizeof(workdir), "%s/work", e->fix.dir);
    d = opendir(workdir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (strncmp(de->d_name, "verify-", 7) == 0)
                fail_msg("work tree %s left behind", de->d_name);
        closedir(d);
    }
    svc_stop(pid);
}

static void hanging_step_is_killed_with_its_children_and_noise_is_bounded(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier(e, "v1");
    verdicts v;
    const pb_verdict *x;
    FILE *f;
    long child = 0;

    submit(e, "HANG-1", 1, "hang", "good", NULL);
    submit(e, "NOISY-1", 1, "noisy", "good", NULL);
    read_verdicts(e, &v, 2, 60000);
    x = of(&v, "HANG-1");
    assert_int_equal(x->kind, FAIL);
    assert_true(x->steps[0]->timed_out);
    assert_string_equal(x->detail, "step server timed out after 2 s");
    f = fopen(e->pidfile, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld", &child), 1);
    fclose(f);
    assert_false(proc_alive(child));
    x = of(&v, "NOISY-1");
    assert_int_equal(x->kind, FAIL);
    assert_true(strlen(x->failing_output) < 4096 + 64);
    assert_non_null(strstr(x->failing_output, "bytes elided"));
    assert_non_null(strstr(x->failing_output, "FINAL ERROR"));
    free_verdicts(&v);
    svc_stop(pid);
}

/* Names of what is left under the work root (empty when nothing is). */
static void left_in_work_root(env *e, char *out, size_t len)
{
    char workdir[400];
    DIR *d;
    struct dirent *de;
    out[0] = '\0';
    snprintf(workdir, sizeof(workdir), "%s/work", e->fix.dir);
    if (!(d = opendir(workdir)))
        return;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            snprintf(out + strlen(out), len - strlen(out), "%s ", de->d_name);
    closedir(d);
}

static void work_trees_go_however_deep_or_locked(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier_unprivileged(e, "vu");
    verdicts v;
    const pb_verdict *x;
    char left[600];

    submit(e, "LITTER-1", 1, "litter", "good", NULL);
    read_verdicts(e, &v, 1, 60000);
    x = of(&v, "LITTER-1");
    if (x->kind != PASS)
        fail_msg("the litter step did not run: %s %s", x->detail, x->failing_output);
    free_verdicts(&v);
    left_in_work_root(e, left, sizeof(left));
    if (left[0])
        fail_msg("left under the work root: %s", left);
    svc_stop(pid);
}

static void nothing_a_step_started_outlives_its_verdict(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier(e, "v1");
    verdicts v;
    const pb_verdict *x;
    char pidfile[400];
    long pids[4];
    int n = 0;
    FILE *f;

    submit(e, "LINGER-1", 1, "linger", "good", NULL);
    /* far less than the 300 s the leftovers would hold the output pipe */
    read_verdicts(e, &v, 1, 60000);
    x = of(&v, "LINGER-1");
    assert_int_equal(x->kind, PASS);
    assert_non_null(strstr(x->steps[0]->output, "started"));
    snprintf(pidfile, sizeof(pidfile), "%s/linger.pids", e->fix.dir);
    f = fopen(pidfile, "r");
    assert_non_null(f);
    while (n < 4 && fscanf(f, "%ld", &pids[n]) == 1)
        n++;
    fclose(f);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++)
        if (proc_alive(pids[i]))
            fail_msg("process %ld started by the step runs after its verdict", pids[i]);
    free_verdicts(&v);
    svc_stop(pid);
}

static void output_is_valid_utf8_and_keeps_what_follows_a_nul(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier(e, "v1");
    verdicts v;
    const pb_verdict *x;
    size_t bad = 0;

    submit(e, "UTF8-1", 1, "utf8", "good", NULL);
    read_verdicts(e, &v, 1, 60000);
    x = of(&v, "UTF8-1");
    assert_int_equal(x->kind, FAIL);
    if (!text_utf8_valid(x->failing_output, strlen(x->failing_output), &bad))
        fail_msg("failing output: invalid UTF-8 at byte %zu of %zu", bad, strlen(x->failing_output));
    assert_true(text_utf8_valid(x->steps[0]->output, strlen(x->steps[0]->output), &bad));
    assert_non_null(strstr(x->failing_output, "bytes elided"));
    assert_non_null(strstr(x->failing_output, "y before NUL\xef\xbf\xbd" "after NUL"));
    assert_non_null(strstr(x->failing_output, "THE END"));
    free_verdicts(&v);
    svc_stop(pid);
}

/* --- only reports that count are built ------------------------------------------------- */

/* The errors.verifier.* stored so far, as JSON. */
typedef struct {
    cJSON *e[64];
    char subject[64][96];
    int n;
} errors;

static int take_error(natsMsg *m, void *arg)
{
    errors *out = arg;
    out->e[out->n] = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    assert_non_null(out->e[out->n]);
    snprintf(out->subject[out->n], sizeof(out->subject[0]), "%s", natsMsg_GetSubject(m));
    return ++out->n;
}

static void read_errors(env *e, errors *out, int want, int timeout_ms)
{
    memset(out, 0, sizeof(*out));
    read_stored(e, "errors.verifier.>", want, timeout_ms, take_error, out);
}

static void free_errors(errors *x)
{
    for (int i = 0; i < x->n; i++)
        cJSON_Delete(x->e[i]);
}

/* The one error about the result on subject: its reason, with the fields
 * an operator needs. */
static void expect_error(const errors *x, const char *subject, const char *reason, const char *requirement_id)
{
    char want[96];
    int found = -1, count = 0;
    for (int i = 0; i < x->n; i++) {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(x->e[i], "subject"));
        if (s && !strcmp(s, subject)) {
            found = i;
            count++;
        }
    }
    if (count != 1)
        fail_msg("%d errors about %s, want exactly 1", count, subject);
    snprintf(want, sizeof(want), "errors.verifier.%s", reason);
    assert_string_equal(x->subject[found], want);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(x->e[found], "reason")), reason);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(x->e[found], "requirementId")), requirement_id);
    assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(x->e[found], "streamSeq")) > 0);
    assert_true(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(x->e[found], "message"))) > 0);
}

/* Every result of the verifier's consumer handled: none waiting, none
 * delivered and unacknowledged (so none comes back). */
static void consumer_settles(env *e)
{
    for (int i = 0; i < 600; i++) {
        jsConsumerInfo *ci = NULL;
        int settled = 0;
        if (js_GetConsumerInfo(&ci, e->js, "RESULTS", "verifier", NULL, NULL) == NATS_OK) {
            settled = ci->NumPending == 0 && ci->NumAckPending == 0;
            jsConsumerInfo_Destroy(ci);
        }
        if (settled)
            return;
        usleep(100 * 1000);
    }
    fail_msg("the verifier's consumer still holds results");
}

static void only_results_that_count_are_built(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier(e, "v1");
    verdicts v;
    errors x;

    /* never dispatched: BLOCKED, attempt 0 */
    put_state(e, "BLOCKED-1", ORCHESTRATOR__V1__STATUS__STATUS_BLOCKED, 0, 0);
    publish_result(e, "backend", "BLOCKED-1", "BLOCKED-1", 1, "roy-1", "demo", "good", NULL);
    /* no such requirement, and one whose state was deleted */
    publish_result(e, "backend", "NOSUCH-1", "NOSUCH-1", 1, "roy-1", "demo", "good", NULL);
    put_state(e, "GONE-1", DISPATCHED, 1, 0);
    {
        kvStore *kv = NULL;
        assert_int_equal(js_KeyValue(&kv, e->js, "orch_requirements"), NATS_OK);
        assert_int_equal(kvStore_Delete(kv, "GONE-1"), NATS_OK);
        kvStore_Destroy(kv);
    }
    publish_result(e, "backend", "GONE-1", "GONE-1", 1, "roy-1", "demo", "good", NULL);
    /* backend work reported by a frontend agent */
    put_state(e, "TYPED-1", DISPATCHED, 1, 0);
    publish_result(e, "frontend", "TYPED-1", "TYPED-1", 1, "jen-1", "demo", "good", NULL);
    /* the subject names one requirement, the body another (both dispatched) */
    put_state(e, "SUBJ-1", DISPATCHED, 1, 0);
    put_state(e, "BODY-1", DISPATCHED, 1, 0);
    publish_result(e, "backend", "SUBJ-1", "BODY-1", 1, "roy-1", "demo", "good", NULL);
    /* an attempt that is over, and one not dispatched yet */
    put_state(e, "OLD-1", DISPATCHED, 2, 0);
    publish_result(e, "backend", "OLD-1", "OLD-1", 1, "roy-1", "demo", "good", NULL);
    put_state(e, "NEXT-1", DISPATCHED, 1, 0);
    publish_result(e, "backend", "NEXT-1", "NEXT-1", 2, "roy-1", "demo", "good", NULL);
    /* claimed by another instance; after an infrastructure retry the
     * dispatch id, and so the claim, carries -i<k> */
    put_state(e, "CLAIMED-1", DISPATCHED, 1, 0);
    put_claim(e, "backend.CLAIMED-1-a1", "roy-2");
    publish_result(e, "backend", "CLAIMED-1", "CLAIMED-1", 1, "roy-1", "demo", "good", NULL);
    put_state(e, "RETRIED-1", DISPATCHED, 1, 1);
    put_claim(e, "backend.RETRIED-1-a1", "roy-1");
    put_claim(e, "backend.RETRIED-1-a1-i1", "roy-3");
    publish_result(e, "backend", "RETRIED-1", "RETRIED-1", 1, "roy-1", "demo", "good", NULL);
    /* and the ones that count: claimed by their sender, and not claimed */
    put_state(e, "MINE-1", DISPATCHED, 1, 0);
    put_claim(e, "backend.MINE-1-a1", "roy-1");
    publish_result(e, "backend", "MINE-1", "MINE-1", 1, "roy-1", "demo", "good", NULL);
    put_state(e, "PLAIN-1", DISPATCHED, 1, 0);
    publish_result(e, "backend", "PLAIN-1", "PLAIN-1", 1, "roy-1", "demo", "good", NULL);

    consumer_settles(e);
    read_verdicts(e, &v, 2, 30000);
    read_errors(e, &x, 9, 30000);
    /* only the two that count were built */
    for (int i = 0; i < v.n; i++)
        if (strcmp(v.v[i]->requirement_id, "MINE-1") && strcmp(v.v[i]->requirement_id, "PLAIN-1"))
            fail_msg("the result for %s attempt %u was built", v.v[i]->requirement_id, v.v[i]->attempt);
    assert_int_equal(of(&v, "MINE-1")->kind, PASS);
    assert_int_equal(of(&v, "PLAIN-1")->kind, PASS);
    assert_int_equal(x.n, 9);
    expect_error(&x, "results.backend.BLOCKED-1", "not_dispatched", "BLOCKED-1");
    expect_error(&x, "results.backend.NOSUCH-1", "unknown_requirement", "NOSUCH-1");
    expect_error(&x, "results.backend.GONE-1", "unknown_requirement", "GONE-1");
    expect_error(&x, "results.frontend.TYPED-1", "wrong_type", "TYPED-1");
    expect_error(&x, "results.backend.SUBJ-1", "id_mismatch", "BODY-1");
    expect_error(&x, "results.backend.OLD-1", "past_attempt", "OLD-1");
    expect_error(&x, "results.backend.NEXT-1", "future_attempt", "NEXT-1");
    expect_error(&x, "results.backend.CLAIMED-1", "not_claimant", "CLAIMED-1");
    expect_error(&x, "results.backend.RETRIED-1", "not_claimant", "RETRIED-1");
    free_errors(&x);
    free_verdicts(&v);
    svc_stop(pid);
}

static void a_result_without_attempt_is_for_the_current_one(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier(e, "v1");
    verdicts v;
    const pb_verdict *first = NULL, *second = NULL;

    put_state(e, "BARE-1", DISPATCHED, 1, 0);
    publish_result(e, "backend", "BARE-1", "BARE-1", 0, "roy-1", "demo", "broken", NULL);
    read_verdicts(e, &v, 1, 60000);
    assert_int_equal(of(&v, "BARE-1")->attempt, 1);
    free_verdicts(&v);
    /* sent back; the fixed work comes again without an attempt */
    put_state(e, "BARE-1", DISPATCHED, 2, 0);
    publish_result(e, "backend", "BARE-1", "BARE-1", 0, "roy-1", "demo", "good", NULL);
    read_verdicts(e, &v, 2, 60000);
    for (int i = 0; i < v.n; i++) {
        if (strcmp(v.v[i]->requirement_id, "BARE-1"))
            continue;
        if (!first)
            first = v.v[i];
        else
            second = v.v[i];
    }
    if (!second)
        fail_msg("the second result's verdict was not stored (%d verdicts)", v.n);
    assert_int_equal(first->kind, FAIL);
    assert_int_equal(second->kind, PASS);
    assert_int_equal(second->attempt, 2);
    free_verdicts(&v);
    svc_stop(pid);
}

static void hostile_refs_and_fields_run_nothing(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier(e, "v1");
    verdicts v;
    char ref1[400], ref2[400], title[400];
    const char *refs[] = {ref1, ref2, "-c", "good;touch x", "good$(touch x)", "`touch x`", "good\ntouch x",
                          "--output=/tmp/x", "..", "@{-1}"};
    int n = (int)(sizeof(refs) / sizeof(refs[0]));
    struct stat sb;

    snprintf(ref1, sizeof(ref1), "--upload-pack=touch %s", e->marker);
    snprintf(ref2, sizeof(ref2), "$(touch %s)", e->marker);
    snprintf(title, sizeof(title), "$(touch %s); `touch %s`", e->marker, e->marker);
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "EVIL-%d", i);
        submit(e, id, 1, "demo", refs[i], title);
    }
    submit(e, "EVIL-P", 1, "../../etc", "good", title);
    read_verdicts(e, &v, n + 1, 60000);
    assert_int_equal(v.n, n + 1);
    for (int i = 0; i < v.n; i++) {
        if (!strcmp(v.v[i]->requirement_id, "EVIL-P")) {
            assert_int_equal(v.v[i]->kind, INFRA);
            continue;
        }
        if (v.v[i]->kind != FAIL && v.v[i]->kind != INFRA)
            fail_msg("%s with ref '%s' was built", v.v[i]->requirement_id, v.v[i]->ref);
    }
    assert_int_equal(stat(e->marker, &sb), -1); /* nothing ran */
    free_verdicts(&v);
    svc_stop(pid);
}

/* --- a few thousand generated hostile results ----------------------------------------- */

#define N_GENERATED 3000
#define LINGER "31337" /* a payload that runs would show as "sleep 31337" */

static volatile int watching;
static char seen[600];

/* Watches the process list for a payload running: touch aimed at the
 * marker, or the lingering sleep. */
static void *watch_processes(void *arg)
{
    const char *marker = arg;
    while (watching) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d))) {
            char path[300], comm[64] = "", cmd[512] = "";
            FILE *f;
            size_t n;
            if (!isdigit((unsigned char)de->d_name[0]))
                continue;
            snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
            if ((f = fopen(path, "r"))) {
                if (!fgets(comm, sizeof(comm), f))
                    comm[0] = '\0';
                fclose(f);
            }
            comm[strcspn(comm, "\n")] = '\0';
            if (strcmp(comm, "touch") && strcmp(comm, "sleep"))
                continue;
            snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
            if (!(f = fopen(path, "r")))
                continue;
            n = fread(cmd, 1, sizeof(cmd) - 1, f);
            fclose(f);
            for (size_t i = 0; i < n; i++)
                if (!cmd[i])
                    cmd[i] = ' ';
            cmd[n] = '\0';
            if (strstr(cmd, marker) || strstr(cmd, LINGER))
                snprintf(seen, sizeof(seen), "pid %s: %s", de->d_name, cmd);
        }
        if (d)
            closedir(d);
        usleep(2000);
    }
    return NULL;
}

static unsigned lcg(unsigned *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 8;
}

/* One hostile string: a prefix git might read as an option or a revision,
 * a payload for a shell, a suffix git's ref rules care about. M stands for
 * the marker's path. */
static void hostile(unsigned *x, const char *marker, char *out, size_t len)
{
    static const char *const pre[] = {"", "refs/heads/", "good", "-", "--", "--upload-pack=", "--exec=",
                                      "-c core.pager=", "--output=", "HEAD", "main", "refs/heads/../", "@{-1}",
                                      "x/", ".", "-ccore.fsmonitor=", "refs/heads/good/"};
    static const char *const payload[] = {"$(touch M)", "`touch M`", ";touch M", "|touch M", "&&touch M",
                                          "\ntouch M", "$(sleep${IFS}" LINGER ")", ";sleep " LINGER,
                                          "`sleep " LINGER "`", "${IFS}touch${IFS}M", "'$(touch M)'",
                                          "\"; touch M; \"", "%0atouch M", "\\`touch M\\`", "$(<M)",
                                          ">M", "<(touch M)", "!(touch M)", "$((1))touch${IFS}M"};
    static const char *const post[] = {"", ".lock", "/", "~1", "^{}", ":", "\x01", "\xe2\x80\xae", "\xff", " ",
                                       "..", "@{u}", "*", "?", "[", "\\"};
    const char *p = payload[lcg(x) % (sizeof(payload) / sizeof(*payload))];
    size_t n = (size_t)snprintf(out, len, "%s", pre[lcg(x) % (sizeof(pre) / sizeof(*pre))]);
    for (; *p && n + 1 < len; p++) {
        if (*p == 'M')
            n += (size_t)snprintf(out + n, len - n, "%s", marker);
        else
            out[n++] = *p;
    }
    if (n >= len)
        n = len - 1;
    if (lcg(x) % 20 == 0) /* now and then one at the edge of the length limits */
        while (n + 2 < len && n < 250 + lcg(x) % 20)
            out[n++] = 'A';
    out[n] = '\0';
    snprintf(out + n, len - n, "%s", post[lcg(x) % (sizeof(post) / sizeof(*post))]);
}

static uint64_t stored(env *e, const char *stream)
{
    jsStreamInfo *si = NULL;
    uint64_t n = 0;
    if (js_GetStreamInfo(&si, e->js, stream, NULL, NULL) == NATS_OK) {
        n = si->State.Msgs;
        jsStreamInfo_Destroy(si);
    }
    return n;
}

static void generated_hostile_results_run_nothing(void **state)
{
    env *e = *state;
    char projects[400], root[400];
    const char *x[] = {projects, root, "ORCH_VERIFIER_WORKERS=4", "ORCH_LOG_LEVEL=warn", NULL};
    pid_t pid;
    pthread_t watcher;
    jsCtx *ajs = NULL;
    jsOptions jo;
    unsigned seed = 20261124u;
    int hostile_ids = 0;
    struct stat sb;

    snprintf(projects, sizeof(projects), "ORCH_VERIFIER_PROJECTS_FILE=%s", e->projects);
    snprintf(root, sizeof(root), "ORCH_VERIFIER_WORK_ROOT=%s/work", e->fix.dir);
    pid = svc_start_ready(e->nc, &e->fix, "verifier", "v1", x);
    watching = 1;
    seen[0] = '\0';
    pthread_create(&watcher, NULL, watch_processes, e->marker);
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = 1024;
    jo.PublishAsync.StallWait = 60000; /* room comes late on a loaded server */
    assert_int_equal(natsConnection_JetStream(&ajs, e->nc, &jo), NATS_OK);
    for (int i = 0; i < N_GENERATED; i++) {
        char ref[1200], summary[1200], instance[1200], project[1200], id[1200], subj[64], *body;
        cJSON *o = cJSON_CreateObject();
        hostile(&seed, e->marker, ref, sizeof(ref));
        hostile(&seed, e->marker, summary, sizeof(summary));
        if (lcg(&seed) % 20 == 0) /* the edge refuses a bad instance: the rest must reach the verifier */
            hostile(&seed, e->marker, instance, sizeof(instance));
        else
            snprintf(instance, sizeof(instance), "roy-%d", i % 7);
        if (lcg(&seed) % 10 == 0)
            hostile(&seed, e->marker, project, sizeof(project));
        else
            snprintf(project, sizeof(project), "demo");
        if (lcg(&seed) % 20 == 0) {
            hostile(&seed, e->marker, id, sizeof(id));
            hostile_ids++;
        } else {
            snprintf(id, sizeof(id), "GEN-%d", i);
        }
        {
            char sid[32]; /* dispatched: so the refs reach the checks */
            snprintf(sid, sizeof(sid), "GEN-%d", i);
            put_state(e, sid, DISPATCHED, 1, 0);
        }
        cJSON_AddStringToObject(o, "requirementId", id);
        cJSON_AddNumberToObject(o, "attempt", 1);
        cJSON_AddStringToObject(o, "instance", instance);
        cJSON_AddStringToObject(o, "project", project);
        cJSON_AddStringToObject(o, "ref", ref);
        cJSON_AddStringToObject(o, "summary", summary);
        body = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        snprintf(subj, sizeof(subj), "results.backend.GEN-%d", i);
        while (js_PublishAsync(ajs, subj, body, (int)strlen(body), NULL) != NATS_OK)
            usleep(1000);
        free(body);
    }
    {
        /* every acknowledgement, however long a loaded server takes (the
         * context's 5 s ran out under the sanitizers with every write synced) */
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = 60000;
        assert_int_equal(js_PublishAsyncComplete(ajs, &po), NATS_OK);
    }
    jsCtx_Destroy(ajs);
    /* every one answered: a verdict, or an error for a result it could not read */
    for (int waited = 0; waited < 600 && stored(e, "VERDICTS") + stored(e, "ERRORS") < N_GENERATED; waited++)
        usleep(500 * 1000);
    watching = 0;
    pthread_join(watcher, NULL);
    print_message("%d generated results (%d with a hostile id): %llu verdicts, %llu errors\n", N_GENERATED,
                  hostile_ids, (unsigned long long)stored(e, "VERDICTS"), (unsigned long long)stored(e, "ERRORS"));
    assert_int_equal(stored(e, "VERDICTS") + stored(e, "ERRORS"), N_GENERATED);
    assert_true(stored(e, "VERDICTS") > N_GENERATED / 2); /* most reached the ref checks and git */
    if (seen[0])
        fail_msg("a payload ran: %s", seen);
    assert_int_equal(stat(e->marker, &sb), -1); /* nothing ran */
    /* and nothing was built: no hostile ref names a commit */
    {
        cJSON *st = svc_request_json(e->nc, "orch.verifier.stats", "", 2000);
        assert_non_null(st);
        char *text = cJSON_PrintUnformatted(st);
        print_message("verifier: %s\n", text);
        free(text);
        assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(st, "passed")), 0);
        assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(st, "failed")) +
                             cJSON_GetNumberValue(cJSON_GetObjectItem(st, "infrastructure_errors")) +
                             cJSON_GetNumberValue(cJSON_GetObjectItem(st, "bad_results")) +
                             cJSON_GetNumberValue(cJSON_GetObjectItem(st, "refused")),
                         N_GENERATED);
        cJSON_Delete(st);
    }
    svc_stop(pid);
}

static void two_replicas_verify_each_result_once(void **state)
{
    env *e = *state;
    pid_t a = start_verifier(e, "va"), b = start_verifier(e, "vb");
    verdicts v;
    char id[16];
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof(id), "TWO-%d", i);
        submit(e, id, 1, "demo", "good", NULL);
    }
    read_verdicts(e, &v, 8, 90000);
    assert_int_equal(v.n, 8);
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof(id), "TWO-%d", i);
        assert_int_equal(of(&v, id)->kind, PASS);
    }
    free_verdicts(&v);
    svc_stop(a);
    svc_stop(b);
}

static void sigkill_mid_build_means_verified_again_and_one_verdict(void **state)
{
    env *e = *state;
    pid_t pid = start_verifier(e, "vk");
    verdicts v;
    char work[400];
    int found = 0;

    submit(e, "SLOW-1", 1, "slow", "good", NULL);
    /* wait until the build is under way: its work tree exists */
    snprintf(work, sizeof(work), "%s/work", e->fix.dir);
    for (int i = 0; i < 100 && !found; i++) {
        DIR *d = opendir(work);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d)))
                found |= strncmp(de->d_name, "verify-", 7) == 0;
            closedir(d);
        }
        usleep(100 * 1000);
    }
    assert_true(found);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    pid = start_verifier(e, "vk2");
    /* redelivered after the consumer's ack wait (20 s), verified again */
    read_verdicts(e, &v, 1, 60000);
    assert_int_equal(of(&v, "SLOW-1")->kind, PASS);
    free_verdicts(&v);
    /* and no second verdict appears later */
    submit(e, "SLOW-1", 1, "slow", "good", NULL); /* the agent repeats itself */
    sleep(6);
    read_verdicts(e, &v, 1, 3000);
    of(&v, "SLOW-1");
    free_verdicts(&v);
    svc_stop(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(verdicts_for_every_kind_of_work, setup, teardown),
        cmocka_unit_test_setup_teardown(a_ref_that_is_the_base_is_an_empty_change, setup, teardown),
        cmocka_unit_test_setup_teardown(a_change_is_built_merged_and_a_failing_base_is_not_blamed_on_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(hanging_step_is_killed_with_its_children_and_noise_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(work_trees_go_however_deep_or_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(nothing_a_step_started_outlives_its_verdict, setup, teardown),
        cmocka_unit_test_setup_teardown(output_is_valid_utf8_and_keeps_what_follows_a_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(only_results_that_count_are_built, setup, teardown),
        cmocka_unit_test_setup_teardown(a_result_without_attempt_is_for_the_current_one, setup, teardown),
        cmocka_unit_test_setup_teardown(hostile_refs_and_fields_run_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(generated_hostile_results_run_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(two_replicas_verify_each_result_once, setup, teardown),
        cmocka_unit_test_setup_teardown(sigkill_mid_build_means_verified_again_and_one_verdict, setup, teardown),
    };
    int rc;
    /* ORCH_TEST_FILTER=name runs one case: tests/support/casefilter.c */
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
